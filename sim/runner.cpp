// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "runner.h"

#include <fmt/format.h>

#include "kernel/p2pdma.h"
#include "kernel/serial_exec.h"
#include "task_ops.h"

namespace p2psim {

std::string effective_strategy(const RunConfig& rc, const RunOptions& opt) {
  if (!opt.strategy.empty()) return opt.strategy;
  return opt.use_pins && !rc.pins.empty() ? "directed" : "random";
}

std::string verdict_of(const std::vector<Finding>& findings) {
  if (findings.empty()) return "clean";
  std::vector<FindingKind> seen;
  std::string s;
  for (const auto& f : findings) {
    if (std::find(seen.begin(), seen.end(), f.kind) != seen.end()) continue;
    seen.push_back(f.kind);
    s += (s.empty() ? "" : " ") + std::string(to_string(f.kind));
  }
  return s;
}

RunResult run_execution(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                        const RunOptions& opt) {
  RunResult res;
  res.strategy = effective_strategy(rc, opt);
  kern::Kernel k(rc.knobs, rc.costs, sc.cpus);
  ScenarioWorld world;

  // Boot: providers register their BARs at time 0, before any task runs.
  kern::SerialExec boot(0, 0, "boot");
  for (const auto& ps : sc.providers) {
    auto prov = std::make_unique<kern::P2pdmaProvider>();
    prov->name = ps.name;
    prov->bar_phys = ps.bar_phys;
    prov->bar_size = ps.bar_size;
    prov->bus_offset = ps.bus_offset;
    int err = kern::pci_p2pdma_add_resource(boot, k, *prov, ps.p2pmem_size, ps.p2pmem_offset);
    if (err) boot.note(fmt::format("pci_p2pdma_add_resource({}) failed: {}", ps.name, err));
    world.providers[ps.name] = prov.get();
    k.providers.push_back(std::move(prov));
  }
  for (const auto& f : sc.faults) k.inject_failure(f.site, f.nth);
  std::map<std::string, int> pids;  // process name -> pid, by first appearance
  for (const auto& t : sc.tasks)
    if (!t.process.empty() && !pids.count(t.process)) {
      const int pid = static_cast<int>(pids.size()) + 1;
      pids[t.process] = pid;
      k.process(pid, t.process);
    }

  std::unique_ptr<Strategy> owned;
  Strategy* strategy = opt.strategy_object;
  if (!strategy) {
    owned = make_strategy(res.strategy == "directed" ? "timed" : res.strategy);
    strategy = owned.get();
  }
  TraceWriter trace;
  Machine m(host, k, *strategy, opt.seed, opt.trace ? &trace : nullptr);
  m.observe(opt.observers);
  for (const auto& t : sc.tasks) {
    const int pid = t.process.empty() ? 0 : pids.at(t.process);
    const TaskSpec* tp = &t;
    m.add_task({t.name, t.cpu, pid, t.start,
                [&k, &world, tp, pid](kern::Exec& ex) { run_task_ops(ex, k, world, *tp, pid); }});
  }
  if (opt.use_pins)
    for (const auto& p : rc.pins) m.add_pin(p);
  m.run();

  res.findings = boot.findings;
  res.findings.insert(res.findings.end(), m.findings().begin(), m.findings().end());
  res.stats = m.stats();
  res.notes = boot.notes;
  res.notes.insert(res.notes.end(), m.notes().begin(), m.notes().end());
  if (opt.trace) res.trace_json = trace.json(res.stats.end_time);
  return res;
}

}  // namespace p2psim
