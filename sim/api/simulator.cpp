// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The embedding API (include/p2psim/simulator.h) over the explore room.
#include "p2psim/simulator.h"

#include "explore/finding_signature.h"
#include "explore/known_bug.h"
#include "explore/runner.h"
#include "scenario/scenario.h"
#include "scenario/strict_yaml.h"

namespace p2psim::api {

namespace {
[[noreturn]] void rethrow(const InputError& e) {
  throw InputProblem(e.what(), e.file, e.line, e.column, e.message);
}
}  // namespace

struct Scenario::Impl {
  p2psim::Scenario sc;
};

Scenario Scenario::load(const std::string& path) {
  Scenario s;
  try {
    s.impl_ = std::make_shared<const Impl>(Impl{load_scenario(path)});
  } catch (const InputError& e) {
    rethrow(e);
  }
  return s;
}

const std::string& Scenario::name() const { return impl_->sc.name; }

std::vector<std::string> Scenario::variants() const {
  std::vector<std::string> names;
  for (const auto& v : impl_->sc.variants) names.push_back(v.name);
  return names;
}

struct Session::Impl {
  const p2psim::Scenario& sc;
  CoroutineHost& host;
  const HardwareModules& hw;
};

ExecutionReport Session::run(const ExecutionRequest& req) {
  RunConfig rc;
  try {
    rc = resolve_run(impl_.sc, req.variant, req.sets);
  } catch (const InputError& e) {
    rethrow(e);
  }
  RunOptions opt;
  opt.seed = req.seed;
  opt.strategy = req.strategy;
  opt.use_pins = req.use_pins;
  opt.trace = req.trace;
  opt.hardware = &impl_.hw;
  RunResult r = run_execution(impl_.host, impl_.sc, rc, opt);

  ExecutionReport rep;
  rep.verdict = verdict_of(r.findings);
  const KnownBug* known = explain_findings(rc.known, r.findings, r.causes);
  rep.as_expected = (rc.expect.matches(r.findings) && rc.expect.failures_match(r.outcomes)) || known;
  rep.failures = failures_of(r.outcomes);
  if (known) rep.known_bug = known->name;
  for (const Finding& f : r.findings)
    rep.findings.push_back({to_string(f.kind), f.time, f.cpu, f.task, f.message, finding_signature(f), f.path});
  for (const RootCause& c : r.causes) rep.root_causes.push_back(describe_root_cause(c));
  rep.output = std::move(r.output);
  rep.strategy = r.strategy;
  rep.end_time_ps = r.stats.end_time;
  rep.steps = r.stats.steps;
  rep.trace_json = std::move(r.trace_json);
  return rep;
}

void simulate(const Scenario& scenario, const std::function<void(Session&)>& body) {
  const p2psim::Scenario& sc = scenario.impl_->sc;
  run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
    Session::Impl impl{sc, host, hw};
    Session session(impl);
    body(session);
  });
}

}  // namespace p2psim::api
