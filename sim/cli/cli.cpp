// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "cli/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernel/costs.h"
#include "kernel/fault_sites.h"
#include "kernel/knobs.h"
#include "common/kernel_bug.h"
#include "explore/bounded_search.h"
#include "explore/campaign.h"
#include "output/atomic_file.h"
#include "explore/known_bug.h"
#include "explore/replay_token.h"
#include "explore/runner.h"
#include "report/report_runner.h"
#include "explore/schedule_export.h"
#include "explore/strategies.h"
#include "scenario/scenario.h"
#include "explore/shrink.h"
#include "scenario/strict_yaml.h"
#include "engine/systemc_host.h"
#include "output/trace_writer.h"

namespace p2psim {

namespace {

/// --trace and --emit-schedule FILE: written atomically, so a kill never leaves half a file.
void write_output_file(const std::string& path, const std::string& content) {
  const std::string err = write_file_atomically(path, content);
  if (!err.empty()) throw InputError(path, 1, 1, err);
}

constexpr int kExitExpected = 0, kExitUnexpected = 1, kExitBadInput = 2, kExitModelBug = 3;
/// fuzz --jobs: each worker is a process with a pipe; more than this is a typo.
constexpr int kMaxJobs = 256;

const char* const kTopHelp = R"(p2pdma-sim - deterministic simulator of the Linux mm/P2PDMA stack

Usage:
  p2pdma-sim run SCENARIO [options]   one deterministic execution (or --runs N of them)
  p2pdma-sim fuzz SCENARIO --out DIR [options]
                                      race-hunting campaign: findings deduplicated,
                                      shrunk, each with a replay token
  p2pdma-sim explore SCENARIO [options]
                                      every interleaving with at most K forced
                                      decisions: the first finding, or "no finding"
  p2pdma-sim report SCENARIO --out DIR [--sweep KEY=V1,V2,...]...
                                      topology report: every configuration of a
                                      parameter sweep, results.csv and results.json
  p2pdma-sim replay TOKEN-or-FILE     re-run one execution exactly from a replay token
  p2pdma-sim merge DIR... --out DIR   merge campaign outputs (shards), dedup findings
  p2pdma-sim topo FILE                PCI tree and every provider/client map type and distance
  p2pdma-sim check SCENARIO           validate a scenario file and all its variants
  p2pdma-sim list                     presets, knobs, costs, strategies, finding kinds, scenarios
  p2pdma-sim --version | --help
  p2pdma-sim COMMAND --help           help for one command

Exit codes: 0 the verdict is what the scenario expects (fuzz: no finding), 1 it is
            not (fuzz: findings),
            2 bad input (message names file:line:column), 3 simulator bug.
)";

const char* const kRunHelp = R"(Usage: p2pdma-sim run SCENARIO [options]

Runs the scenario once and prints its findings and a line
"verdict: clean" or "verdict: <kind> ..." (kinds in order of first occurrence),
then "failures: TASK OP ERROR, ..." when ops failed (an errno such as EINVAL or
EREMOTEIO, or SIGBUS for an access that faults). A variant's `failures:` makes
them part of the expectation (docs/scenario-format.md).
Race mechanisms the oracles recognise as they happen print as "root cause:".

Options:
  --variant NAME      kernel variant from the scenario's `variants:` (its expectation
                      decides the exit code); without it: the base kernel, expected clean
  --seed N            seed of the scheduling strategy (default 1)
  --runs N            run seeds N, N+1, ... (--seed is the first); print a summary;
                      exit 1 if any execution's verdict is not the expected one
  --strategy NAME     timed | random | pct | delay (default: directed = the pinned schedule with
                      timed choices elsewhere; random when there are no pins)
  --no-pins           ignore the scenario's pinned schedule
  --no-known          do not excuse findings by the variant's `known:` bugs (see
                      docs/scenario-format.md); by default an execution a known bug
                      explains counts as expected and prints "known bug: NAME"
  --platform NAME     run on that platform (x86, x86-pv-guest, arm64, x86-invlpgb; see
                      `list`): how TLBs are flushed and page tables freed; the same as
                      --set platform=NAME
  --set KEY=VALUE     override a knob (see `list`) or a cost as cost.NAME=30ns; repeatable
  --param NAME=VALUE  set a parameter the scenario declares (`parameters:`; its ${NAME}
                      references take VALUE instead of the default); repeatable
  --trace FILE        write a Perfetto/Chrome JSON trace (single execution only)
  --json              print the result as JSON instead of text (with every op's result)
  --links             scenarios with devices: what every PCIe link carried (TLPs and bytes
                      each way), root-complex forwarding and the IOTLB (JSON: "hardware")
  --verbose, -v       print what every op returned, in order
  --quiet             print only the verdict line (and findings' first lines)
  --host NAME         auto (default) | systemc | direct: what runs the tasks' coroutines;
                      auto picks direct (no SystemC kernel in between, faster) unless
                      the scenario has device models (NVMe or tlm endpoints); both give
                      the same executions
)";

const char* const kCheckHelp = R"(Usage: p2pdma-sim check SCENARIO [--param NAME=VALUE]...

Parses SCENARIO strictly and resolves every variant (preset, knobs, costs,
knob combinations). Prints a summary and exits 0, or one error with
file:line:column and exits 2. --param sets a parameter the scenario declares
(its default otherwise), as run --param does.
)";

const char* const kListHelp = R"(Usage: p2pdma-sim list [--points]

Prints the presets (and the knob values each sets), the platforms, the knobs
with the commits or series they model, the cost table with sources, the
scheduling strategies, the finding kinds and the scenarios shipped in
scenarios/.

  --points   print every preemption point a pin can name, one per line
             (docs/scenario-format.md says where each one is)
)";

struct BadArgs {
  std::string msg;
};

/// The value after option @opt at args[i] (advancing i), or a bad-args error.
std::string take_value(const std::vector<std::string>& args, size_t& i, const char* opt) {
  if (i + 1 >= args.size()) throw BadArgs{fmt::format("{} needs a value", opt)};
  return args[++i];
}

std::string command_line_error(const std::string& msg) {
  return fmt::format("<command line>:1:1: error: {}", msg);
}


std::string finding_json(const Finding& f) {
  std::string path;
  for (const auto& p : f.path) path += (path.empty() ? "" : ",") + json_quote(p);
  return fmt::format(R"({{"kind":{},"time_ps":{},"time":{},"cpu":{},"task":{},"message":{},"path":[{}]}})",
                     json_quote(to_string(f.kind)), f.time, json_quote(format_time(f.time)), f.cpu,
                     json_quote(f.task), json_quote(f.message), path);
}

std::string root_cause_json(const RootCause& c) {
  return fmt::format(R"({{"id":{},"time_ps":{},"time":{},"cpu":{},"task":{},"pfn":{},"message":{}}})",
                     json_quote(c.id), c.time, json_quote(format_time(c.time)), c.cpu, json_quote(c.task),
                     c.pfn == kNoPfn ? std::string("null") : fmt::format("\"{:#x}\"", c.pfn), json_quote(c.message));
}

std::string knobs_line(const kern::Knobs& k) {
  std::string s;
  for (const auto& spec : kern::knob_specs())
    s += fmt::format("{}{}={}", s.empty() ? "" : " ", spec.name, kern::knob_value(k, spec.name));
  return s;
}

std::optional<uint64_t> parse_u64(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) return std::nullopt;
  return std::stoull(s);
}

/// run --links: what the links carried. Up is toward the root complex.
std::string links_text(const HardwareMetrics& h) {
  std::string s = "links (TLPs and TLP bytes; up = toward the root complex):\n";
  for (const auto& l : h.links)
    s += fmt::format("  {:<10} Gen{} x{:<2}  up {:>7} TLPs {:>12} B   down {:>7} TLPs {:>12} B\n", l.name,
                     l.config.gen, l.config.lanes, l.up.tlps, l.up.tlp_bytes, l.down.tlps, l.down.tlp_bytes);
  s += fmt::format("root complexes forwarded {} bytes peer to peer", h.rc_p2p_bytes);
  if (h.iommu)
    s += fmt::format("; IOTLB {} hits, {} misses, {} invalidations; {} invalidation round trips, CPUs waited {}",
                     h.iotlb.hits, h.iotlb.misses, h.iotlb.invalidations, h.iotlb.round_trips,
                     format_time(h.iotlb.cpu_wait_ps));
  return s + "\n";
}

std::string links_json(const HardwareMetrics& h) {
  std::string ls;
  for (const auto& l : h.links)
    ls += fmt::format(R"({}{{"name":{},"gen":{},"lanes":{},"up":{{"tlps":{},"tlp_bytes":{}}},"down":{{"tlps":{},"tlp_bytes":{}}}}})",
                      ls.empty() ? "" : ",", json_quote(l.name), l.config.gen, l.config.lanes, l.up.tlps,
                      l.up.tlp_bytes, l.down.tlps, l.down.tlp_bytes);
  return fmt::format(
      R"({{"links":[{}],"rc_p2p_bytes":{},"iommu":{},"iotlb":{{"hits":{},"misses":{},"invalidations":{},)"
      R"("round_trips":{},"cpu_wait_ps":{}}}}})",
      ls, h.rc_p2p_bytes, h.iommu ? "true" : "false", h.iotlb.hits, h.iotlb.misses, h.iotlb.invalidations,
      h.iotlb.round_trips, h.iotlb.cpu_wait_ps);
}

/// Print one execution's result as text or JSON (run and replay).
void print_result(const Scenario& sc, const RunConfig& rc, const std::string& variant, uint64_t seed,
                  const RunResult& r, bool json, bool quiet, const std::string& trace_path,
                  const std::string& expect_line, bool match, const KnownBug* known, bool verbose) {
  const std::string verdict = verdict_of(r.findings);
  const std::vector<std::string> failures = failures_of(r.outcomes);
  std::string failures_line;
  for (const auto& f : failures) failures_line += (failures_line.empty() ? "" : ", ") + f;
  if (json) {
    std::string fs, tasks, out, causes;
    for (const auto& f : r.findings) fs += (fs.empty() ? "" : ",") + finding_json(f);
    for (const auto& c : r.causes) causes += (causes.empty() ? "" : ",") + root_cause_json(c);
    for (const auto& [name, t] : r.stats.task_end) tasks += fmt::format("{}{}:{}", tasks.empty() ? "" : ",", json_quote(name), t);
    for (const auto& line : r.output) out += (out.empty() ? "" : ",") + json_quote(line);
    std::string ops, fails;
    for (const auto& o : r.outcomes)
      ops += fmt::format(R"({}{{"task":{},"op":{},"time_ps":{},"error":{},"error_name":{},"result":{}}})",
                         ops.empty() ? "" : ",", json_quote(o.task), json_quote(o.op), o.time, o.error,
                         o.error ? json_quote(errno_name(o.error)) : "null", json_quote(o.result));
    for (const auto& f : failures) fails += (fails.empty() ? "" : ",") + json_quote(f);
    fmt::print(
        R"({{"scenario":{},"file":{},"variant":{},"preset":{},"platform":{},"strategy":{},"seed":{},"knobs":{},"findings":[{}],"root_causes":[{}],"verdict":{},"failures":[{}],"known_bug":{},"expected":{},"match":{},"simulated_ps":{},"preemption_points":{},"task_end_ps":{{{}}},"ops":[{}],"output":[{}]{}}})"
        "\n",
        json_quote(sc.name), json_quote(sc.file), json_quote(variant), json_quote(rc.preset), json_quote(rc.platform), json_quote(r.strategy), seed,
        json_quote(knobs_line(rc.knobs)), fs, causes, json_quote(verdict), fails, known ? json_quote(known->name) : "null",
        json_quote(rc.expect.str()), match ? "true" : "false", r.stats.end_time, r.stats.preemption_points, tasks, ops,
        out, r.hardware ? ",\"hardware\":" + links_json(*r.hardware) : "");
    return;
  }
  if (!quiet) {
    fmt::print("scenario: {} ({})\n", sc.name, sc.file);
    fmt::print("variant:  {} (preset {}, platform {}), strategy {}, seed {}\n", variant.empty() ? "(base)" : variant,
               rc.preset, rc.platform, r.strategy, seed);
    fmt::print("knobs:    {}\n", knobs_line(rc.knobs));
  }
  if (!quiet)
    for (const auto& c : r.causes) fmt::print("root cause: {}\n", describe_root_cause(c));
  for (size_t i = 0; i < r.findings.size(); ++i) {
    const Finding& f = r.findings[i];
    fmt::print("finding {}: {} at {} on {}\n  {}\n", i + 1, to_string(f.kind), format_time(f.time),
               f.cpu >= 0 ? fmt::format("cpu{} ({})", f.cpu, f.task) : f.task, f.message);
    if (!quiet) {
      fmt::print("  path (recent preemption points, oldest first):\n");
      for (const auto& p : f.path) fmt::print("    {}\n", p);
    }
  }
  if (verbose && !quiet) {
    fmt::print("ops (in the order they returned):\n");
    for (const auto& o : r.outcomes)
      fmt::print("  {:>10} {:<10} {:<18} {}\n", format_time(o.time), o.task, o.op, o.result);
  }
  if (!quiet)
    fmt::print("simulated {} in {} preemption points{}\n", format_time(r.stats.end_time), r.stats.preemption_points,
               trace_path.empty() ? "" : fmt::format("; trace: {}", trace_path));
  if (r.hardware && !quiet) fmt::print("{}", links_text(*r.hardware));
  fmt::print("verdict: {}\n", verdict);
  if (!failures.empty()) fmt::print("failures: {}\n", failures_line);
  if (known)
    fmt::print("known bug: {}{}\n", known->name, known->about.empty() ? "" : " (" + known->about + ")");
  if (!quiet) fmt::print("{}\n", expect_line);
}

/// The options run and replay share: what to print, and where to trace.
struct OutputOptions {
  std::string trace_path;
  bool json = false, quiet = false, verbose = false, no_known = false;
};

/// --host NAME: which engine runs the task coroutines.
HostKind take_host(const std::vector<std::string>& args, size_t& i) {
  const std::string v = take_value(args, i, "--host");
  auto h = parse_host_kind(v);
  if (!h) throw BadArgs{fmt::format("--host needs auto, systemc or direct, got '{}'", v)};
  return *h;
}

/// Refuse a host that cannot run @sc (the direct host has no devices).
void check_host(HostKind h, const Scenario& sc) {
  const std::string why = host_unsuitable(h, sc);
  if (!why.empty()) throw BadArgs{why};
}

/// If args[i] is one of the OutputOptions, take it (and its value).
bool take_output_option(const std::vector<std::string>& args, size_t& i, OutputOptions& o) {
  const std::string& a = args[i];
  if (a == "--trace") {
    o.trace_path = take_value(args, i, "--trace");
  } else if (a == "--json") {
    o.json = true;
  } else if (a == "--quiet") {
    o.quiet = true;
  } else if (a == "--verbose" || a == "-v") {
    o.verbose = true;
  } else if (a == "--no-known") {
    o.no_known = true;
  } else {
    return false;
  }
  return true;
}

/// --variant, --set and --platform, which every command that runs a
/// scenario takes; true when args[i] was one of them.
bool take_kernel_option(const std::vector<std::string>& args, size_t& i, std::string& variant,
                        std::vector<std::string>& sets) {
  const std::string& a = args[i];
  if (a == "--variant")
    variant = take_value(args, i, "--variant");
  else if (a == "--set")
    sets.push_back(take_value(args, i, "--set"));
  else if (a == "--platform")
    sets.push_back("platform=" + take_value(args, i, "--platform"));
  else
    return false;
  return true;
}

/// --seed N (any whole number).
uint64_t take_seed(const std::vector<std::string>& args, size_t& i) {
  auto v = parse_u64(take_value(args, i, "--seed"));
  if (!v) throw BadArgs{fmt::format("--seed needs a whole number, got '{}'", args[i])};
  return *v;
}

/// A command's one positional SCENARIO argument into @scenario; anything
/// else that is not an option it knows is bad input.
void take_scenario_arg(const std::string& a, std::string& scenario, const char* cmd) {
  if (!a.empty() && a[0] == '-')
    throw BadArgs{fmt::format("unknown option '{}' for {} (see p2pdma-sim {} --help)", a, cmd, cmd)};
  if (!scenario.empty()) throw BadArgs{fmt::format("unexpected argument '{}': {} takes one scenario", a, cmd)};
  scenario = a;
}

/// --param NAME=VALUE into @params (the scenario checks NAME when it loads).
void take_param(const std::string& spec, ParamValues& params) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw BadArgs{fmt::format("--param needs NAME=VALUE, got '{}'", spec)};
  const std::string name = spec.substr(0, eq), value = spec.substr(eq + 1);
  if (!is_param_name(name)) throw BadArgs{fmt::format("--param {}: '{}' is not a parameter name", spec, name)};
  if (std::string why = bad_param_value(value); !why.empty()) throw BadArgs{fmt::format("--param {}: {}", spec, why)};
  if (!params.emplace(name, value).second) throw BadArgs{fmt::format("--param {} given twice", name)};
}

int cmd_run(const std::vector<std::string>& args) {
  std::string scenario, variant, strategy;
  std::vector<std::string> sets;
  ParamValues params;
  uint64_t seed = 1, runs = 1;
  bool no_pins = false, runs_given = false, links = false;
  HostKind host_kind = HostKind::automatic;
  OutputOptions out;
  const std::string& trace_path = out.trace_path;
  const bool &json = out.json, &quiet = out.quiet, &verbose = out.verbose, &no_known = out.no_known;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kRunHelp);
      return kExitExpected;
    } else if (take_kernel_option(args, i, variant, sets)) {
    } else if (a == "--seed") {
      seed = take_seed(args, i);
    } else if (a == "--runs") {
      auto v = parse_u64(take_value(args, i, "--runs"));
      if (!v || *v == 0) throw BadArgs{fmt::format("--runs needs a whole number >= 1, got '{}'", args[i])};
      runs = *v;
      runs_given = true;
    } else if (a == "--strategy") {
      strategy = take_value(args, i, "--strategy");
      if (!make_strategy(strategy))
        throw BadArgs{fmt::format("unknown strategy '{}'; known: timed, random, pct, delay", strategy)};
    } else if (a == "--no-pins") {
      no_pins = true;
    } else if (a == "--host") {
      host_kind = take_host(args, i);
    } else if (a == "--links") {
      links = true;
    } else if (take_output_option(args, i, out)) {
    } else if (a == "--param") {
      take_param(take_value(args, i, "--param"), params);
    } else {
      take_scenario_arg(a, scenario, "run");
    }
  }
  if (scenario.empty()) throw BadArgs{"run needs a SCENARIO file (see p2pdma-sim run --help)"};
  if (!trace_path.empty() && runs > 1) throw BadArgs{"--trace writes one execution: drop --runs"};
  if (links && runs_given) throw BadArgs{"--links reports one execution: drop --runs"};

  const Scenario sc = load_scenario(scenario, params);
  check_host(host_kind, sc);
  RunConfig rc = resolve_run(sc, variant, sets);
  if (no_known) rc.known.clear();
  RunOptions opt;
  opt.seed = seed;
  opt.strategy = strategy;
  opt.use_pins = !no_pins;
  opt.trace = !trace_path.empty();
  opt.hardware_metrics = links;

  int exit_code = kExitExpected;
  opt.hardware = nullptr;
  run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
    opt.hardware = &hw;
    if (runs == 1 && !runs_given) {
      RunResult r = run_execution(host, sc, rc, opt);
      if (opt.trace) {
        write_output_file(trace_path, r.trace_json);
      }
      const KnownBug* known = explain_findings(rc.known, r.findings, r.causes);
      const bool expected = rc.expect.matches(r.findings) && rc.expect.failures_match(r.outcomes);
      const bool match = expected || known;
      exit_code = match ? kExitExpected : kExitUnexpected;
      if (!json)
        for (const auto& line : r.output) fmt::print("{}\n", line);
      const char* how = expected ? "as expected" : known ? "as expected: a known bug" : "NOT as expected";
      print_result(sc, rc, variant, seed, r, json, quiet, trace_path,
                   fmt::format("expected: {} ({})", rc.expect.str(), how), match, known, verbose);
      return;
    }
    // Many seeds in one process: a summary, the unexpected ones listed.
    const bool tty = isatty(STDERR_FILENO);
    std::map<std::string, uint64_t> verdicts, known_counts;
    uint64_t unexpected = 0;
    std::vector<uint64_t> bad_seeds;
    auto t_start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < runs; ++i) {
      RunOptions o = opt;
      o.seed = seed + i;
      // Each op's result is needed only to check a `failures:` expectation.
      o.record_ops = rc.expect.failures.has_value();
      RunResult r = run_execution(host, sc, rc, o);
      ++verdicts[verdict_of(r.findings)];
      const KnownBug* known = explain_findings(rc.known, r.findings, r.causes);
      if (known) ++known_counts[known->name];
      if (!(rc.expect.matches(r.findings) && rc.expect.failures_match(r.outcomes)) && !known) {
        ++unexpected;
        if (bad_seeds.size() < 20) bad_seeds.push_back(o.seed);
      }
      if (tty && (i % 256 == 255 || i + 1 == runs)) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
        fmt::print(stderr, "\r[{}/{}] {:.0f} executions/s, {} not as expected ", i + 1, runs,
                   (i + 1) / std::max(secs, 1e-9), unexpected);
      }
    }
    if (tty) fmt::print(stderr, "\n");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    if (json) {
      std::string vs;
      for (const auto& [v, n] : verdicts) vs += fmt::format("{}{}:{}", vs.empty() ? "" : ",", json_quote(v), n);
      std::string bs, ks;
      for (auto s : bad_seeds) bs += fmt::format("{}{}", bs.empty() ? "" : ",", s);
      for (const auto& [k, n] : known_counts) ks += fmt::format("{}{}:{}", ks.empty() ? "" : ",", json_quote(k), n);
      fmt::print(R"({{"scenario":{},"variant":{},"strategy":{},"first_seed":{},"runs":{},"verdicts":{{{}}},"known_bugs":{{{}}},"expected":{},"unexpected":{},"unexpected_seeds":[{}],"wall_seconds":{:.3f}}})"
                 "\n",
                 json_quote(sc.name), json_quote(variant), json_quote(effective_strategy(rc, opt)), seed, runs, vs, ks,
                 json_quote(rc.expect.str()), unexpected, bs, secs);
    } else {
      fmt::print("scenario: {}, variant {}, strategy {}, seeds {}..{}\n", sc.name,
                 variant.empty() ? "(base)" : variant, effective_strategy(rc, opt), seed, seed + runs - 1);
      for (const auto& [v, n] : verdicts) fmt::print("  {:>8}  verdict: {}\n", n, v);
      for (const auto& [k, n] : known_counts) fmt::print("  {:>8}  of them explained by known bug {}\n", n, k);
      if (!bad_seeds.empty()) {
        std::string bs;
        for (auto s : bad_seeds) bs += fmt::format(" {}", s);
        fmt::print("  seeds not as expected (first {}):{}\n", bad_seeds.size(), bs);
      }
      fmt::print("{} executions in {:.2f} s ({:.0f}/s); expected {}: {} not as expected\n", runs, secs,
                 runs / std::max(secs, 1e-9), rc.expect.str(), unexpected);
    }
    exit_code = unexpected ? kExitUnexpected : kExitExpected;
  }, host_kind);
  return exit_code;
}

const char* const kReplayHelp = R"(Usage: p2pdma-sim replay TOKEN-or-FILE [options]

Re-runs one execution exactly from a replay token (printed by `fuzz`, kept in
each finding's replay.token). Refuses a token whose scenario file changed.
Exits 0 when the execution gives the finding kinds the token recorded, 1 when not.
Prints "known bug: NAME" when one of the variant's known bugs explains it.

Options:
  --scenario PATH   where the scenario is, if not at the path the token names
  --no-known        do not name the variant's known bugs
  --trace FILE      write a Perfetto/Chrome JSON trace
  --emit-schedule FILE  write the execution's decisions as a `schedule:` block of pins
                    for a regression scenario, after checking what the timed strategy
                    gives with them (it says whether they reproduce the token's kinds)
  --json            print the result as JSON (with every op's result)
  --verbose, -v     print what every op returned, in order
  --quiet           print only the findings and the verdict line
  --host NAME       auto (default) | systemc | direct: what runs the tasks' coroutines
                    (see run --help)
)";

/**
 * emit_schedule() - replay --emit-schedule: turn the execution's decisions
 * into pins, run the timed strategy with them, and write the `schedule:`
 * block with what that run gave, so a regression scenario starts from a
 * schedule known to reproduce (or known not to).
 */
void emit_schedule(CoroutineHost& host, const HardwareModules& hw, const Scenario& sc, const RunConfig& rc,
                   const ReplayToken& tok, const std::vector<PpEvent>& events, const std::set<std::string>& want,
                   const std::string& path, bool json) {
  const std::vector<Pin> pins = schedule_from_events(sc, events);
  RunConfig pinned = rc;  // the scenario's pins stay if the execution ran with them
  if (!tok.pins) pinned.pins.clear();
  pinned.pins.insert(pinned.pins.end(), pins.begin(), pins.end());
  RunOptions opt;
  opt.seed = tok.seed;
  opt.use_pins = true;
  opt.hardware = &hw;
  const RunResult r = run_execution(host, sc, pinned, opt);
  std::set<std::string> got;
  for (const auto& f : r.findings) got.insert(to_string(f.kind));
  auto join = [](const std::set<std::string>& v) {
    std::string s;
    for (const auto& k : v) s += (s.empty() ? "" : " ") + k;
    return s.empty() ? std::string("clean") : s;
  };
  const bool same = got == want;
  const std::string verdict = fmt::format("{} ({})", verdict_of(r.findings),
                                          same ? "the token's kinds: it reproduces"
                                               : "NOT the token's kinds (" + join(want) + ")");
  write_output_file(path, fmt::format("# Exported by p2pdma-sim replay --emit-schedule from a {} execution (seed {})\n"
                                     "# of {} (variant {}). With these pins the timed strategy gives: {}\n{}",
                                     tok.strategy, tok.seed, sc.file, tok.variant.empty() ? "(base)" : tok.variant,
                                     verdict, schedule_yaml(pins)));
  if (!json)
    fmt::print("schedule: {} pin(s) written to {}; with them the timed strategy gives {}\n", pins.size(), path,
               verdict);
}

int cmd_replay(const std::vector<std::string>& args) {
  std::string what, scenario_override, schedule_path;
  HostKind host_kind = HostKind::automatic;
  OutputOptions out;
  const std::string& trace_path = out.trace_path;
  const bool &json = out.json, &quiet = out.quiet, &verbose = out.verbose, &no_known = out.no_known;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kReplayHelp);
      return kExitExpected;
    } else if (a == "--scenario") {
      scenario_override = take_value(args, i, "--scenario");
    } else if (take_output_option(args, i, out)) {
    } else if (a == "--emit-schedule") {
      schedule_path = take_value(args, i, "--emit-schedule");
    } else if (a == "--host") {
      host_kind = take_host(args, i);
    } else if (!a.empty() && a[0] == '-') {
      throw BadArgs{fmt::format("unknown option '{}' for replay (see p2pdma-sim replay --help)", a)};
    } else if (what.empty()) {
      what = a;
    } else {
      throw BadArgs{fmt::format("unexpected argument '{}': replay takes one token or file", a)};
    }
  }
  if (what.empty()) throw BadArgs{"replay needs a TOKEN or a FILE holding one"};
  std::string text = what, source = "<command line>";
  if (what.rfind("p2psim1_", 0) != 0) {
    text = read_input_file(what, "token file");
    source = what;
  }
  std::string err;
  auto tok = decode_token(text, &err);
  if (!tok) throw InputError(source, 1, 1, err);
  const std::string path = scenario_override.empty() ? tok->scenario_path : scenario_override;
  const Scenario sc = load_scenario(path);
  if (sc.content_hash != tok->scenario_hash)
    throw InputError(path, 1, 1,
                     fmt::format("the scenario changed since the token was made (content {:016x}, token {:016x}): "
                                 "refusing to replay",
                                 sc.content_hash, tok->scenario_hash));
  check_host(host_kind, sc);
  const RunConfig rc = resolve_run(sc, tok->variant, tok->sets);
  std::set<std::string> want(tok->findings.begin(), tok->findings.end());
  int exit_code = kExitExpected;
  run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
    RunResult r;
    std::vector<PpEvent> events;
    if (tok->regenerate) {
      // An internal_error token: no decisions were recorded; the campaign's
      // strategy decides again from the seed, as it did in the campaign.
      auto strategy = make_campaign_strategy(tok->strategy, std::max(1, tok->pct_depth), tok->pct_steps);
      if (!strategy) throw InputError(source, 1, 1, fmt::format("token names an unknown strategy '{}'", tok->strategy));
      RunOptions opt;
      opt.seed = tok->seed;
      opt.use_pins = tok->pins;
      opt.strategy_object = strategy.get();
      opt.trace = !trace_path.empty();
      opt.hardware = &hw;
      opt.observers.events = &events;
      r = run_execution(host, sc, rc, opt);
    } else {
      RunConfig replay_rc = rc;  // the pins only if the execution ran with them (fuzz --hint-pins)
      if (!tok->pins) replay_rc.pins.clear();
      r = replay_decisions(host, sc, replay_rc, tok->decisions, !trace_path.empty(), &events, nullptr, &hw);
    }
    if (!trace_path.empty()) {
      write_output_file(trace_path, r.trace_json);
    }
    std::set<std::string> got;
    for (const auto& f : r.findings) got.insert(to_string(f.kind));
    const bool match = got == want;
    exit_code = match ? kExitExpected : kExitUnexpected;
    std::string want_s;
    for (const auto& k : want) want_s += (want_s.empty() ? "" : " ") + k;
    r.strategy = fmt::format("replay of {} seed {}", tok->strategy, tok->seed);
    print_result(sc, rc, tok->variant, tok->seed, r, json, quiet, trace_path,
                 fmt::format("token recorded: {} ({})", want_s.empty() ? "clean" : want_s,
                             match ? "reproduced" : "NOT reproduced"),
                 match, no_known ? nullptr : explain_findings(rc.known, r.findings, r.causes), verbose);
    if (!schedule_path.empty()) emit_schedule(host, hw, sc, rc, *tok, events, want, schedule_path, json);
  }, host_kind);
  return exit_code;
}

const char* const kTopoHelp = R"(Usage: p2pdma-sim topo FILE [--json] [--param NAME=VALUE]...

FILE is a scenario with a PCI tree (topology.host_bridges or topology.include)
or a topology file. Prints the tree (BDFs as enumerated, ACS bits, links,
p2pmem BARs) and, for every p2pmem provider and every endpoint function, the
map type and distance the kernel's calc_map_type_and_dist() computes.
--param sets a parameter of a scenario FILE; a topology file that uses
${NAME} takes its values from the scenario that includes it.
)";

int cmd_topo(const std::vector<std::string>& args) {
  std::string file;
  bool json = false;
  ParamValues params;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kTopoHelp);
      return kExitExpected;
    }
    if (a == "--json") {
      json = true;
    } else if (a == "--param") {
      take_param(take_value(args, i, "--param"), params);
    } else if (!a.empty() && a[0] == '-') {
      throw BadArgs{fmt::format("unknown option '{}' for topo", a)};
    } else if (file.empty()) {
      file = a;
    } else {
      throw BadArgs{fmt::format("unexpected argument '{}': topo takes one file", a)};
    }
  }
  if (file.empty()) throw BadArgs{"topo needs a scenario or topology FILE"};
  fmt::print("{}", render_topology(load_topology(file, params), json));
  return kExitExpected;
}

int cmd_check(const std::vector<std::string>& args) {
  std::string scenario;
  ParamValues params;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kCheckHelp);
      return kExitExpected;
    }
    if (a == "--param") {
      take_param(take_value(args, i, "--param"), params);
      continue;
    }
    if (!a.empty() && a[0] == '-') throw BadArgs{fmt::format("unknown option '{}' for check", a)};
    if (!scenario.empty()) throw BadArgs{fmt::format("unexpected argument '{}': check takes one scenario", a)};
    scenario = a;
  }
  if (scenario.empty()) throw BadArgs{"check needs a SCENARIO file"};
  const Scenario sc = load_scenario(scenario, params);
  fmt::print("ok: {} ({}): {} CPU(s), {} provider(s), {} task(s), {} pin(s)\n", sc.name, sc.file, sc.cpus,
             sc.providers.size(), sc.tasks.size(), sc.schedule.size());
  for (const auto& v : sc.variants) {
    RunConfig rc = resolve_run(sc, v.name, {});
    fmt::print("  variant {:<14} preset {:<7} platform {:<12} expect {:<40} {}\n", v.name, rc.preset, rc.platform,
               rc.expect.str(), knobs_line(rc.knobs));
    for (const auto& k : rc.known)
      fmt::print("    known bug {} ({}){}\n", k.name, k.cause.empty() ? "signature: " + k.signature : "cause: " + k.cause,
                 k.about.empty() ? "" : ": " + k.about);
  }
  return kExitExpected;
}

int cmd_list(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kListHelp);
      return kExitExpected;
    }
    if (a == "--points") {
      // One per line, for pins (docs/scenario-format.md says where each is).
      for (const auto& p : preemption_points()) fmt::print("{}\n", p);
      return kExitExpected;
    }
    throw BadArgs{fmt::format("unexpected argument '{}' for list", a)};
  }
  fmt::print("Presets:\n");
  size_t name_width = 0;
  for (const auto& p : kern::presets()) name_width = std::max(name_width, std::string(p.name).size());
  for (const auto& p : kern::presets())
    fmt::print("  {:<{}} {}\n  {:<{}} {}\n", p.name, name_width, p.doc, "", name_width, knobs_line(p.knobs));
  fmt::print("\nPlatforms (--platform NAME, or kernel.platform in a scenario; default {}):\n",
             kern::kDefaultPlatform);
  for (const auto& p : kern::platforms()) {
    std::string per;
    for (const auto& pre : kern::presets()) {
      kern::Knobs k = pre.knobs;
      const bool ok = !p.apply(k, pre);
      per += fmt::format("{}{}: {}", per.empty() ? "" : "; ", pre.name,
                         ok ? kern::knob_value(k, "tlb_flush") + "+" + kern::knob_value(k, "pgtable_free") : "n/a");
    }
    fmt::print("  {:<13} {}\n      {}\n      models: {}\n", p.name, p.doc, per, p.source);
  }
  fmt::print("\nKnobs (--set NAME=VALUE, or kernel.knobs in a scenario):\n");
  for (const auto& k : kern::knob_specs()) {
    std::string vals;
    for (const char* v : k.values) vals += (vals.empty() ? "" : " | ") + std::string(v);
    fmt::print("  {}: {}\n      {}\n      models: {}\n", k.name, vals, k.doc, k.source);
  }
  fmt::print("\nFault sites (faults: [{{site: NAME, nth: N}}] in a scenario):\n");
  for (const auto& f : kern::fault_sites()) fmt::print("  {}: {}\n      fails with {}\n", f.name, f.call, f.failure);
  fmt::print("\nCosts (--set cost.NAME=30ns, or kernel.costs):\n");
  for (const auto& c : kern::cost_specs())
    fmt::print("  {:<18} {:>8}  {}\n", c.name, format_time(c.default_value), c.source);
  fmt::print("\nStrategies: directed (pinned schedule + timed), timed, random, pct, delay; "
             "fuzz also: portfolio (its default), adaptive\n");
  fmt::print("\nFinding kinds:");
  for (auto k : all_finding_kinds()) fmt::print(" {}", to_string(k));
  fmt::print("\n\nRoot causes (for a variant's `known:` bugs):\n");
  for (const auto& c : all_root_causes()) fmt::print("  {:<26} {}\n", c.id, c.description);
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(P2PSIM_SOURCE_DIR) / "scenarios";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (!files.empty()) {
    fmt::print("\nScenarios ({}):\n", dir.string());
    for (const auto& f : files) {
      try {
        // The catalogue: each variant with what it must give.
        Scenario sc = load_scenario(f);
        std::string about = sc.description;
        while (!about.empty() && std::isspace(static_cast<unsigned char>(about.back()))) about.pop_back();
        fmt::print("  {}\n", f);
        if (!about.empty()) fmt::print("      {}\n", about);
        for (const auto& v : sc.variants) {
          fmt::print("      {:<24} expect {}\n", v.name, v.expect.str());
          if (!v.description.empty()) fmt::print("      {:<24} {}\n", "", v.description);
        }
      } catch (const InputError& e) {
        fmt::print("  {}\n      (does not load: {})\n", f, e.what());
      }
    }
  }
  return kExitExpected;
}

const char* const kFuzzHelp = R"(Usage: p2pdma-sim fuzz SCENARIO --out DIR (--runs N | --time SECONDS) [options]

A race-hunting campaign: many executions of SCENARIO with no pinned schedule,
each under a scheduling strategy and its own seed. Every distinct finding
(kind + code paths) is reported once, with its count and when it was first
found, shrunk to a minimal interleaving and saved with a replay token:
  DIR/summary.json                      campaign totals and unique findings
  DIR/coverage.csv                      preemption-point pairs reached, over time
  DIR/state.json                        checkpoint (atomic); --resume continues from it
  DIR/findings/NNN-KIND/finding.json    the finding, its signature, tokens
  DIR/findings/NNN-KIND/replay.token    p2pdma-sim replay DIR/findings/NNN-KIND/replay.token
  DIR/findings/NNN-KIND/interleaving.txt  side-by-side per-CPU listing of the minimal run
  DIR/findings/NNN-KIND/trace.json      Perfetto trace of the minimal run
  DIR/known/NAME.token                  first execution a known bug explained
An execution whose findings a known bug of the variant explains (its `known:`
list, see docs/scenario-format.md) is counted under that bug, not as findings.
An execution that crashes or hangs the simulator itself is recorded as an
internal_error finding (its seed, a replay token, the reason), the worker is
restarted and the campaign goes on; it never runs again on --resume.
Exit 0 with no (new) finding, 1 with findings, 2 for bad input, 3 when an
execution hit a simulator bug (internal_error; all results are still written).

Options:
  --variant NAME        kernel variant of the scenario
  --platform NAME       the platform (see `list`); the same as --set platform=NAME
  --set KEY=VALUE       knob or cost.NAME override; repeatable
  --strategy NAME       portfolio (default: random, pct and delay, one per execution
                        by seed) | adaptive (the same members, weighted by the new
                        coverage each brought, at least 10 % each; executions then
                        depend on the worker's history, tokens stay exact)
                        | random | pct | delay | timed
  --pct-depth D         PCT bug depth d (default 3): d-1 priority change points
  --runs N              execution budget
  --time SECONDS        wall-clock budget
  --seed N              first seed (default 1); execution i of shard K/N uses
                        seed N + i*N + K-1
  --jobs N              worker processes (default 1, at most 256)
  --shard K/N           run only shard K of N of the seed space (no overlap)
  --out DIR             output directory (required)
  --resume              continue the campaign checkpointed in DIR
  --favour-new-pairs    mutate schedules that reached new preemption-point pairs
                        (executions then depend on each worker's history; replay
                        tokens stay exact)
  --hint-pins           run every other execution (by seed) with the variant's pinned
                        schedule in force, the strategy deciding everything else: the
                        pins steer the search toward the race they describe
  --no-shrink           keep findings' schedules as found
  --no-known            report every finding, even those the variant's known bugs explain
  --shrink-replays N    executions to spend shrinking each finding (default 400)
  --stop-on KIND        stop at the first finding of KIND (or 'any'); batches in
                        flight still finish
  --exec-timeout SECONDS  wall time one execution may take before it counts as
                        a simulator hang, an internal_error (default 60)
  --json                print summary.json instead of text
  --host NAME           auto (default) | systemc | direct: what runs the tasks' coroutines
                        in the workers (see run --help)
)";

const char* const kMergeHelp = R"(Usage: p2pdma-sim merge DIR... --out DIR [--json]

Merges the outputs of campaigns over the same scenario and variant (e.g. the
shards of one campaign run on several hosts): executions and counts add up,
coverage pairs are united, findings are deduplicated by signature keeping the
earliest one's folder, known-bug counts add up. Exit 0 with no (new) finding,
1 with findings, 2 for bad input.
)";

uint64_t parse_count(const std::string& opt, const std::string& v, uint64_t min) {
  auto n = parse_u64(v);
  if (!n || *n < min) throw BadArgs{fmt::format("{} needs a whole number >= {}, got '{}'", opt, min, v)};
  return *n;
}

/// parse_count() for a value that must also be at most @max (checked before
/// it is narrowed to int); @why says what a larger one would mean.
int parse_small_count(const std::string& opt, const std::string& v, uint64_t min, uint64_t max, const char* why) {
  const uint64_t n = parse_count(opt, v, min);
  if (n > max) throw BadArgs{fmt::format("{} {} is more than {} {}", opt, v, max, why)};
  return static_cast<int>(n);
}

int cmd_fuzz(const std::vector<std::string>& args) {
  CampaignOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kFuzzHelp);
      return kExitExpected;
    } else if (take_kernel_option(args, i, o.variant, o.sets)) {
    } else if (a == "--no-known") {
      o.no_known = true;
    } else if (a == "--strategy") {
      o.strategy = take_value(args, i, "--strategy");
      if (o.strategy != "portfolio" && o.strategy != "adaptive" && !make_strategy(o.strategy))
        throw BadArgs{fmt::format("unknown strategy '{}'; known: portfolio, adaptive, random, pct, delay, timed",
                                  o.strategy)};
    } else if (a == "--pct-depth") {
      o.pct_depth = parse_small_count("--pct-depth", take_value(args, i, "--pct-depth"), 1, 64,
                                      "(PCT is for bugs of small depth)");
    } else if (a == "--runs") {
      o.runs = parse_count("--runs", take_value(args, i, "--runs"), 1);
    } else if (a == "--time") {
      const std::string v = take_value(args, i, "--time");
      char* end = nullptr;
      o.time_s = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(o.time_s > 0)) throw BadArgs{fmt::format("--time needs seconds > 0, got '{}'", v)};
    } else if (a == "--seed") {
      o.seed = parse_count("--seed", take_value(args, i, "--seed"), 0);
    } else if (a == "--jobs") {
      o.jobs = parse_small_count("--jobs", take_value(args, i, "--jobs"), 1, kMaxJobs,
                                 "worker processes; use --shard to spread a campaign over machines");
    } else if (a == "--shard") {
      const std::string v = take_value(args, i, "--shard");
      unsigned k = 0, n = 0;
      char tail = 0;
      if (std::sscanf(v.c_str(), "%u/%u%c", &k, &n, &tail) != 2 || k < 1 || n < 1 || k > n)
        throw BadArgs{fmt::format("--shard needs K/N with 1 <= K <= N, got '{}'", v)};
      o.shard_k = static_cast<int>(k);
      o.shard_n = static_cast<int>(n);
    } else if (a == "--out") {
      o.out_dir = take_value(args, i, "--out");
    } else if (a == "--resume") {
      o.resume = true;
    } else if (a == "--favour-new-pairs") {
      o.favour_new_pairs = true;
    } else if (a == "--hint-pins") {
      o.hint_pins = true;
    } else if (a == "--no-shrink") {
      o.shrink = false;
    } else if (a == "--shrink-replays") {
      o.shrink_replays = parse_count("--shrink-replays", take_value(args, i, "--shrink-replays"), 1);
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--host") {
      o.host = take_host(args, i);
    } else if (a == "--exec-timeout") {
      o.exec_timeout_s = static_cast<double>(parse_count("--exec-timeout", take_value(args, i, "--exec-timeout"), 1));
    } else if (a == "--stop-on") {
      o.stop_on = take_value(args, i, "--stop-on");
      if (o.stop_on != "any" && !finding_kind_from_string(o.stop_on))
        throw BadArgs{fmt::format("--stop-on needs a finding kind or 'any', got '{}'", o.stop_on)};
    } else {
      take_scenario_arg(a, o.scenario_path, "fuzz");
    }
  }
  if (o.scenario_path.empty()) throw BadArgs{"fuzz needs a SCENARIO file (see p2pdma-sim fuzz --help)"};
  return run_campaign(o);
}

const char* const kExploreHelp = R"(Usage: p2pdma-sim explore SCENARIO [options]

Bounded exhaustive search: runs every interleaving of the scenario whose
schedule departs from the timing at most K times, fewest departures first,
and stops at the first finding. A departure (a "forced decision") is a
scheduling point where another runnable task runs before the one that is
ready first: a preemption, an interrupt or a stalled vCPU on a real machine;
replay listings mark them ">> forced". The scenario's pins are not used.
Prints the interleavings run per number of forced decisions, then either the
finding (its kinds, first lines and a replay token) or
  no finding in all N interleavings with <= K forced decisions
Exit 0 with no finding, 1 with a finding, 2 for bad input. A search cut short
by --max-executions or --time prints "incomplete" and exits 0 without
claiming the bound (JSON: "complete": false).
What the count means: docs/campaigns.md, "Bounded exhaustive exploration".

Options:
  --variant NAME          kernel variant of the scenario
  --platform NAME         the platform (see `list`); the same as --set platform=NAME
  --set KEY=VALUE         knob or cost.NAME override; repeatable
  --preemption-bound K    at most K forced decisions per interleaving (default 2)
  --max-executions N      stop after N executions
  --time SECONDS          stop after SECONDS of wall time
  --jobs N                worker processes (default 1): each level (number of forced
                          decisions) is split among them by its first forced decision;
                          without a budget the result is the same as with one
  --stop-on KIND          stop only at an interleaving with a finding of KIND (or 'any',
                          the default); interleavings with other findings are counted
  --no-known              report findings the variant's known bugs explain too
                          (by default they are counted and the search goes on)
  --exec-timeout SECONDS  wall time one execution may take before it counts as a
                          simulator hang: explore then says so and exits 3 (default 60)
  --json                  print the result as JSON
  --host NAME             auto (default) | systemc | direct (see run --help)
)";

/// A task of an execution by index: the scenario's tasks, then one softirq
/// context per CPU (Machine::run()).
std::string task_label(const Scenario& sc, int idx) {
  if (idx >= 0 && static_cast<size_t>(idx) < sc.tasks.size()) return sc.tasks[static_cast<size_t>(idx)].name;
  return fmt::format("softirq/{}", idx - static_cast<int>(sc.tasks.size()));
}

int cmd_explore(const std::vector<std::string>& args) {
  std::string scenario, variant, stop_on = "any";
  std::vector<std::string> sets;
  BoundedSearchLimits lim;
  bool json = false, no_known = false;
  int jobs = 1;
  HostKind host_kind = HostKind::automatic;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kExploreHelp);
      return kExitExpected;
    } else if (take_kernel_option(args, i, variant, sets)) {
    } else if (a == "--preemption-bound") {
      lim.bound = parse_small_count("--preemption-bound", take_value(args, i, "--preemption-bound"), 0, 16,
                                    "forced decisions: the search would be beyond reach");
    } else if (a == "--max-executions") {
      lim.max_executions = parse_count("--max-executions", take_value(args, i, "--max-executions"), 1);
    } else if (a == "--time") {
      const std::string v = take_value(args, i, "--time");
      char* end = nullptr;
      lim.max_seconds = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(lim.max_seconds > 0))
        throw BadArgs{fmt::format("--time needs seconds > 0, got '{}'", v)};
    } else if (a == "--stop-on") {
      stop_on = take_value(args, i, "--stop-on");
      if (stop_on != "any" && !finding_kind_from_string(stop_on))
        throw BadArgs{fmt::format("--stop-on needs a finding kind or 'any', got '{}'", stop_on)};
    } else if (a == "--jobs") {
      jobs = parse_small_count("--jobs", take_value(args, i, "--jobs"), 1, kMaxJobs, "worker processes");
    } else if (a == "--no-known") {
      no_known = true;
    } else if (a == "--exec-timeout") {
      lim.exec_timeout_s = static_cast<double>(parse_count("--exec-timeout", take_value(args, i, "--exec-timeout"), 1));
    } else if (a == "--json") {
      json = true;
    } else if (a == "--host") {
      host_kind = take_host(args, i);
    } else {
      take_scenario_arg(a, scenario, "explore");
    }
  }
  if (scenario.empty()) throw BadArgs{"explore needs a SCENARIO file (see p2pdma-sim explore --help)"};
  const Scenario sc = load_scenario(scenario);
  check_host(host_kind, sc);
  RunConfig rc = resolve_run(sc, variant, sets);
  if (no_known) rc.known.clear();

  const bool tty = isatty(STDERR_FILENO) && !json;
  auto last = std::chrono::steady_clock::now();
  auto progress = [&](const BoundedSearchResult& r, int level) {
    if (!tty) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(200)) return;
    last = now;
    fmt::print(stderr, "\r{} forced decision(s): {} interleavings, {} executions   ", level,
               r.interleavings[static_cast<size_t>(level)], r.executions);
  };
  const BoundedSearchResult res =
      explore_in_workers(sc, rc, lim, jobs, explore_classifier(rc, stop_on), host_kind, progress);
  if (tty) fmt::print(stderr, "\r{:60}\r", "");

  std::string token;
  if (res.found) {
    ReplayToken tok;
    tok.scenario_path = sc.file;
    tok.scenario_hash = sc.content_hash;
    tok.variant = variant;
    tok.sets = sets;
    tok.strategy = "explore";
    tok.decisions = res.decisions;
    std::set<std::string> kinds;
    for (const auto& f : res.run.findings) kinds.insert(to_string(f.kind));
    tok.findings.assign(kinds.begin(), kinds.end());
    token = encode_token(tok);
  }
  const std::string verdict = res.found ? verdict_of(res.run.findings) : "clean";
  if (json) {
    std::string levels, known;
    for (size_t k = 0; k < res.interleavings.size(); ++k)
      levels += fmt::format("{}{}", k ? ", " : "", res.interleavings[k]);
    for (const auto& [name, n] : res.known) known += fmt::format("{}{}: {}", known.empty() ? "" : ", ", json_quote(name), n);
    std::string forced;
    for (const auto& d : res.forced)
      forced += fmt::format("{}{{\"choice\": {}, \"runs\": {}, \"instead_of\": {}, \"back_to_timing\": {}}}",
                            forced.empty() ? "" : ", ", d.point, json_quote(task_label(sc, d.task)),
                            json_quote(task_label(sc, d.instead_of)), d.back_to_timing ? "true" : "false");
    std::string findings;
    for (const auto& f : res.run.findings)
      findings += fmt::format("{}{{\"kind\": {}, \"time_ps\": {}, \"cpu\": {}, \"task\": {}, \"message\": {}}}",
                              findings.empty() ? "" : ", ", json_quote(to_string(f.kind)), f.time, f.cpu,
                              json_quote(f.task), json_quote(f.message));
    fmt::print("{{\"scenario\": {}, \"variant\": {}, \"preemption_bound\": {}, \"interleavings\": {}, "
               "\"interleavings_per_forced_decisions\": [{}], \"executions\": {}, \"complete\": {}, "
               "\"wall_seconds\": {:.3f}, \"known\": {{{}}}, \"other_findings\": {}, \"first_in_order\": {}, \"verdict\": {}, "
               "\"forced_decisions\": {}, \"forced\": [{}], \"findings\": [{}], \"token\": {}}}\n",
               json_quote(sc.name), json_quote(variant), lim.bound, res.total(), levels, res.executions,
               res.complete ? "true" : "false", res.seconds, known, res.other_findings,
               res.first_in_order ? "true" : "false", json_quote(verdict),
               res.found ? std::to_string(res.deviations.size()) : "null", forced, findings,
               res.found ? json_quote(token) : "null");
    return res.found ? kExitUnexpected : kExitExpected;
  }
  fmt::print("explore {} variant {}: interleavings with at most {} forced decision(s)\n", sc.name,
             variant.empty() ? "(base)" : variant, lim.bound);
  fmt::print("  forced  interleavings\n");
  for (size_t k = 0; k < res.interleavings.size(); ++k) fmt::print("  {:>6}  {:>13}\n", k, res.interleavings[k]);
  for (const auto& [name, n] : res.known) fmt::print("known bug {}: {} interleaving(s), search went on\n", name, n);
  if (res.other_findings)
    fmt::print("{} interleaving(s) with findings other than {}, search went on\n", res.other_findings, stop_on);
  if (res.found) {
    fmt::print("finding with {} forced decision(s), after {} interleavings ({} executions, {:.2f} s){}:\n",
               res.deviations.size(), res.total(), res.executions, res.seconds,
               res.first_in_order ? "" : " (the budget cut another worker short: an earlier one may exist)");
    for (const auto& f : res.run.findings)
      fmt::print("  {} at {} on cpu{}, {}: {}\n", to_string(f.kind), format_time(f.time), f.cpu, f.task, f.message);
    if (!res.forced.empty()) fmt::print("forced decisions (choice N: the N-th scheduling point with a choice):\n");
    for (const auto& d : res.forced)
      fmt::print(d.back_to_timing ? "  choice {}: back to the timing, {} runs instead of {}\n"
                                  : "  choice {}: {} runs instead of {}, and keeps running\n",
                 d.point, task_label(sc, d.task), task_label(sc, d.instead_of));
    fmt::print("verdict: {}\n", verdict);
    fmt::print("replay: p2pdma-sim replay {}\n", token);
    return kExitUnexpected;
  }
  if (!res.complete) {
    fmt::print("incomplete: stopped by the budget after {} interleavings ({} executions, {:.2f} s); "
               "nothing found so far, the bound is not covered\n",
               res.total(), res.executions, res.seconds);
    fmt::print("verdict: clean\n");
    return kExitExpected;
  }
  fmt::print("no {} in all {} interleavings with <= {} forced decisions ({} executions, {:.2f} s)\n",
             stop_on == "any" ? "finding" : stop_on, res.total(), lim.bound, res.executions, res.seconds);
  fmt::print("verdict: clean\n");
  return kExitExpected;
}

int cmd_merge(const std::vector<std::string>& args) {
  std::vector<std::string> dirs;
  std::string out;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kMergeHelp);
      return kExitExpected;
    } else if (a == "--out") {
      if (i + 1 >= args.size()) throw BadArgs{"--out needs a value"};
      out = args[++i];
    } else if (a == "--json") {
      json = true;
    } else if (!a.empty() && a[0] == '-') {
      throw BadArgs{fmt::format("unknown option '{}' for merge", a)};
    } else {
      dirs.push_back(a);
    }
  }
  return merge_campaigns(dirs, out, json);
}

const char* const kReportHelp = R"(Usage: p2pdma-sim report SCENARIO --out DIR [--sweep KEY=V1,V2,...]... [options]

Runs SCENARIO once for every combination of the swept values (the first
--sweep varies slowest) and writes DIR/results.csv (one row per
configuration) and DIR/results.json (the same with per-link use, a latency
CDF, and the validation of the link model), then `tools/plot/report.py DIR`
draws the figures and DIR/report.html. Each configuration runs in its own
process with the timed strategy and the same seed: deterministic, so a row
can be reproduced with `run SCENARIO --param KEY=VALUE ...`.

KEY is a parameter the scenario declares (`parameters:`, see
docs/scenario-format.md) or `variant` (its variants). Every configuration is
loaded and checked before any runs: a bad key or value exits 2 naming it.

Figures per configuration: throughput (GB/s, 1e9 bytes/s) and IOPS of the
p2pmem-test runs, I/O latency p50/p99/p99.9, each link's utilisation per
direction (share of the wire TLPs occupy), bytes the root complexes forwarded
peer to peer, IOTLB hits/misses/invalidations, and the real-time factor
(simulated seconds per wall-clock second).

Options:
  --out DIR           where the results go (created; runs/ holds each row as it finishes)
  --sweep KEY=V1,...  an axis of the sweep; repeatable (none: the scenario's `sweep:`,
                      or the defaults once if it has none)
  --jobs N            configurations at once, 1-256 (default 1)
  --variant NAME      the scenario variant (unless `variant` is swept)
  --set KEY=VALUE     knob or cost override for every configuration; repeatable
  --platform NAME     the same as --set platform=NAME
  --seed N            the seed of every run (default 1)
  --host NAME         auto (default) | systemc | direct (see run --help)
  --json              print the summary as JSON

Exit codes: 0 every configuration ran (a row whose workload failed says so in
its status column), 2 bad input (or an output directory the rows could not be
written to), 3 a configuration hit a simulator bug (the other rows are still
written), 130 interrupted (SIGINT/SIGTERM: the configurations that finished
are written, the rest marked "not run", and results.json says "complete": false).
A directory used before loses its old runs/ rows and results first.
)";

int cmd_report(const std::vector<std::string>& args) {
  ReportOptions o;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kReportHelp);
      return kExitExpected;
    } else if (a == "--out") {
      o.out_dir = take_value(args, i, "--out");
    } else if (a == "--sweep") {
      try {
        o.axes.push_back(parse_sweep(take_value(args, i, "--sweep")));
      } catch (const SweepError& e) {
        throw BadArgs{e.what()};
      }
    } else if (a == "--jobs") {
      o.jobs = parse_small_count("--jobs", take_value(args, i, "--jobs"), 1, 256, "configurations at once");
    } else if (take_kernel_option(args, i, o.variant, o.sets)) {
    } else if (a == "--seed") {
      o.seed = take_seed(args, i);
    } else if (a == "--host") {
      o.host = take_host(args, i);
    } else if (a == "--json") {
      json = true;
    } else {
      take_scenario_arg(a, o.scenario, "report");
    }
  }
  if (o.scenario.empty()) throw BadArgs{"report needs a SCENARIO file (see p2pdma-sim report --help)"};
  if (o.out_dir.empty()) throw BadArgs{"report needs --out DIR"};
  o.progress = isatty(STDERR_FILENO);
  ReportSummary s;
  try {
    s = run_report(o);
  } catch (const SweepError& e) {
    throw BadArgs{e.what()};
  } catch (const InputError&) {
    throw;
  } catch (const ModelBug&) {
    throw;
  } catch (const std::runtime_error& e) {  // the output directory
    throw BadArgs{e.what()};
  }
  if (json)
    fmt::print("{{\"configurations\":{},\"ok\":{},\"not_ok\":{},\"simulator_failures\":{},\"unwritten\":{},"
               "\"not_run\":{},\"wall_seconds\":{:.3f},\"results\":{}}}\n",
               s.configurations, s.ok, s.not_ok, s.crashed, s.unwritten, s.not_run, s.wall_seconds,
               json_quote(o.out_dir + "/results.csv"));
  else
    fmt::print("{} configuration(s) in {:.1f} s: {} ok, {} with a failed workload or a finding, {} simulator "
               "failure(s){}{}\nresults: {}/results.csv, {}/results.json (plot: tools/plot/report.py {})\n",
               s.configurations, s.wall_seconds, s.ok, s.not_ok, s.crashed,
               s.unwritten ? fmt::format(", {} whose row could not be written", s.unwritten) : std::string(),
               s.not_run ? fmt::format(", {} not run (interrupted)", s.not_run) : std::string(), o.out_dir, o.out_dir,
               o.out_dir);
  if (s.interrupted) return 128 + SIGINT;
  if (s.crashed) return kExitModelBug;
  return s.unwritten ? kExitBadInput : kExitExpected;
}

}  // namespace

int cli_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) {
      fmt::print(stderr, "{}", kTopHelp);
      return kExitBadInput;
    }
    const std::string cmd = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      fmt::print("{}", kTopHelp);
      return kExitExpected;
    }
    if (cmd == "--version") {
      fmt::print("p2pdma-sim {}\n", P2PSIM_VERSION);
      return kExitExpected;
    }
    if (cmd == "run") return cmd_run(rest);
    if (cmd == "check") return cmd_check(rest);
    if (cmd == "list") return cmd_list(rest);
    if (cmd == "replay") return cmd_replay(rest);
    if (cmd == "fuzz") return cmd_fuzz(rest);
    if (cmd == "explore") return cmd_explore(rest);
    if (cmd == "merge") return cmd_merge(rest);
    if (cmd == "topo") return cmd_topo(rest);
    if (cmd == "report") return cmd_report(rest);
    throw BadArgs{fmt::format(
        "unknown command '{}'; commands: run, fuzz, explore, report, replay, merge, topo, check, list (see --help)",
        cmd)};
  } catch (const BadArgs& e) {
    fmt::print(stderr, "{}\n", command_line_error(e.msg));
    return kExitBadInput;
  } catch (const InputError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitBadInput;
  } catch (const ModelBug& e) {
    fmt::print(stderr, "p2pdma-sim: model bug (a simulator defect, not a kernel finding): {}\n", e.what());
    return kExitModelBug;
  } catch (const std::exception& e) {
    fmt::print(stderr, "p2pdma-sim: model bug (unexpected exception): {}\n", e.what());
    return kExitModelBug;
  }
}

}  // namespace p2psim
