// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/runner.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "explore/strategies.h"
#include "kernel/fault_sites.h"
#include "kernel/p2pdma.h"
#include "platform/platform.h"
#include "engine/direct_host.h"
#include "engine/systemc_host.h"
#include "kernel/serial_exec.h"
#include "common/kernel_bug.h"
#include "workload/task_ops.h"

namespace p2psim {

namespace {
/**
 * P2PSIM_INJECT_INTERNAL_ERROR=throw|segv|hang:SEED - make the execution of
 * seed SEED fail the way a simulator bug does (an exception, a crash, a
 * loop that never returns), so tests can show that campaigns survive one
 * (docs/robustness.md). Read once per process.
 */
void inject_internal_error(uint64_t seed) {
  static const std::pair<std::string, uint64_t> want = [] {
    const char* v = std::getenv("P2PSIM_INJECT_INTERNAL_ERROR");
    const std::string s = v ? v : "";
    const auto colon = s.find(':');
    if (colon == std::string::npos) return std::pair<std::string, uint64_t>{"", 0};
    return std::pair<std::string, uint64_t>{s.substr(0, colon), std::strtoull(s.c_str() + colon + 1, nullptr, 10)};
  }();
  if (want.first.empty() || want.second != seed) return;
  if (want.first == "throw") throw ModelBug(fmt::format("injected internal error at seed {}", seed));
  if (want.first == "segv") ::raise(SIGSEGV);
  if (want.first == "hang")
    for (;;) ::pause();
}
}  // namespace

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

std::optional<HostKind> parse_host_kind(const std::string& s) {
  if (s == "auto") return HostKind::automatic;
  if (s == "systemc") return HostKind::systemc;
  if (s == "direct") return HostKind::direct;
  return std::nullopt;
}

const char* to_string(HostKind h) {
  switch (h) {
    case HostKind::automatic: return "auto";
    case HostKind::systemc: return "systemc";
    case HostKind::direct: return "direct";
  }
  return "?";
}

std::string host_unsuitable(HostKind h, const Scenario& sc) {
  if (h == HostKind::direct && model_endpoint_count(sc) > 0)
    return fmt::format("scenario '{}' has {} device model(s) (NVMe or tlm endpoints), which are SystemC modules: "
                       "the direct host cannot run it (use --host systemc or auto)",
                       sc.name, model_endpoint_count(sc));
  return "";
}

void run_scenario(const Scenario& sc, const std::function<void(CoroutineHost&, const HardwareModules&)>& main,
                  HostKind h) {
  const std::string why = host_unsuitable(h, sc);
  if (!why.empty()) throw ModelBug(why);
  HardwareModules hw;
  if (h == HostKind::direct || (h == HostKind::automatic && model_endpoint_count(sc) == 0)) {
    run_on_direct_host([&](CoroutineHost& host) { main(host, hw); });
    return;
  }
  run_on_systemc([&](CoroutineHost& host) { main(host, hw); },
                 [&] { hw = elaborate_hardware(sc); });
}

RunResult run_execution(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                        const RunOptions& opt) {
  inject_internal_error(opt.seed);
  RunResult res;
  res.strategy = effective_strategy(rc, opt);
  kern::Kernel k(rc.knobs, rc.costs, sc.cpus);
  ScenarioWorld world;
  world.record_outcomes = opt.record_ops;
  world.events.assign(sc.nr_events, 0);
  if (opt.record_ops) {
    size_t ops = 0;
    for (const auto& t : sc.tasks) ops += t.ops.size();
    world.outcomes.reserve(ops);  // one growth instead of one per power of two
  }

  // Boot: providers register their BARs at time 0, before any task runs.
  // Probe-time fault sites count from here, the others from the first task.
  for (const auto& f : sc.faults)
    if (kern::find_fault_site(f.site)->at_probe) k.inject_failure(f.site, f.nth);
  kern::SerialExec boot(0, 0, "boot");
  // NVMe devices: the driver's probe maps their CMBs (nvme_map_cmb ->
  // pci_p2pdma_add_resource); other providers register directly.
  std::unique_ptr<Platform> platform;
  std::set<std::string> nvme_names;
  if (model_endpoint_count(sc) > 0) {
    if (!opt.hardware) throw ModelBug("a scenario with device models needs the SystemC host (run_scenario())");
    platform = std::make_unique<Platform>(sc, k, host, *opt.hardware);
    for (const auto& ep : sc.topo->endpoints)
      if (ep.kind == "nvme") nvme_names.insert(ep.name);
  }
  for (const auto& ps : sc.providers) {
    if (nvme_names.count(ps.name)) continue;
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
  // vfio-pci functions: probed at boot; the map types stand for what
  // calc_map_type_and_dist() would find in the PCI tree.
  for (const auto& vs : sc.vfio) {
    auto v = std::make_unique<kern::VfioPciCoreDevice>();
    v->name = vs.name;
    v->bar_phys = vs.bar_phys;
    v->bar_size = vs.bar_size;
    v->bus_offset = vs.bus_offset;
    kern::vfio_pci_probe(boot, k, *v);
    for (const auto& [client, type] : vs.map_types)
      v->p2p.map_types[client] =
          type == "bus_addr" ? kern::P2pdmaMapType::bus_addr : kern::P2pdmaMapType::thru_host_bridge;
    world.vfio[vs.name] = v.get();
    k.vfio_devices.push_back(std::move(v));
  }
  if (platform) {
    platform->boot(boot, world.providers);
    world.platform = platform.get();
  }
  for (const auto& f : sc.faults)
    if (!kern::find_fault_site(f.site)->at_probe) k.inject_failure(f.site, f.nth);
  std::map<std::string, int> pids;  // process name -> pid, by first appearance
  for (const auto& t : sc.tasks)
    if (!t.process.empty() && !pids.count(t.process)) {
      const int pid = static_cast<int>(pids.size()) + 1;
      pids[t.process] = pid;
      k.process(pid, t.process);
    }
  world.nr_bufs = sc.nr_bufs;
  world.bufs.assign((pids.size() + 1) * sc.nr_bufs, UserBuf{});  // pid 0 and every process

  std::unique_ptr<Strategy> owned;
  Strategy* strategy = opt.strategy_object;
  if (!strategy) {
    owned = make_strategy(res.strategy == "directed" ? "timed" : res.strategy);
    strategy = owned.get();
  }
  TraceWriter trace;
  Machine m(host, k, *strategy, opt.seed, opt.trace ? &trace : nullptr, sc.limits);
  m.observe(opt.observers);
  if (platform) platform->start(m);
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
  res.causes = boot.causes;
  for (RootCause c : m.root_causes()) {
    c.findings_before += boot.findings.size();
    res.causes.push_back(std::move(c));
  }
  res.stats = m.stats();
  if (opt.trace) res.trace_json = trace.json(res.stats.end_time);
  // What boot logged (a probe's failed registration): dmesg before the
  // workloads' output.
  for (const auto& n : boot.notes) res.output.push_back("[boot] " + n);
  res.output.insert(res.output.end(), world.output.begin(), world.output.end());
  res.outcomes = std::move(world.outcomes);
  if (platform && opt.hardware_metrics) res.hardware = collect_hardware_metrics(*platform, world, res.stats.end_time);
  return res;
}

}  // namespace p2psim
