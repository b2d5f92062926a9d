// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/machine.h"
#include "platform/hardware_modules.h"
#include "scenario/scenario.h"
#include "workload/hardware_metrics.h"

namespace p2psim {


/// Which engine runs the task coroutines (docs/architecture.md).
enum class HostKind {
  automatic,  ///< direct when the scenario has no SystemC device, else systemc
  systemc,    ///< SystemC time and device models; elaborates once per process
  direct,     ///< plain coroutines and a time counter; no devices
};
/// "auto", "systemc" or "direct"; nullopt for anything else.
std::optional<HostKind> parse_host_kind(const std::string& s);
const char* to_string(HostKind h);
/// Why @h cannot run @sc, or "" when it can.
std::string host_unsuitable(HostKind h, const Scenario& sc);

/**
 * run_scenario() - run @main on the host @h picks for @sc: the SystemC
 * host, with the device modules @sc needs elaborated first
 * (elaborate_hardware(): NVMe controllers and tlm endpoint models in the
 * PCIe tree's switch and root-complex modules), or the direct host. Throws ModelBug when
 * host_unsuitable(@h, @sc).
 */
void run_scenario(const Scenario& sc, const std::function<void(CoroutineHost&, const HardwareModules&)>& main,
                  HostKind h = HostKind::automatic);

struct RunOptions {
  uint64_t seed = 1;
  std::string strategy;  ///< empty: "directed" with pins, else "random"
  bool use_pins = true;
  bool trace = false;
  bool record_ops = true;  ///< keep each op's outcome (RunResult::outcomes)
  Strategy* strategy_object = nullptr;  ///< when set, used instead of @strategy
  MachineObservers observers;
  const HardwareModules* hardware = nullptr;  ///< needed when the scenario has NVMe devices
  bool hardware_metrics = false;  ///< fill RunResult::hardware
};

struct RunResult {
  std::vector<Finding> findings;
  std::vector<RootCause> causes;  ///< race mechanisms the oracles recognised, in order
  ExecutionStats stats;
  std::string strategy;
  std::string trace_json;  ///< when RunOptions::trace
  std::vector<std::string> output;  ///< what workloads printed (p2pmem_test)
  std::vector<OpOutcome> outcomes;  ///< what each op did, in the order they returned
  /// Links, IOMMU and workload figures, when the scenario has a platform
  /// (an NVMe device) and RunOptions::hardware_metrics asked for them.
  std::optional<HardwareMetrics> hardware;
};

/// The strategy name a run with @opt on @rc uses.
std::string effective_strategy(const RunConfig& rc, const RunOptions& opt);

/**
 * run_execution() - boot a fresh kernel for @rc (providers, processes,
 * injected faults), run the scenario's tasks under the strategy, return
 * findings. Call from inside run_scenario(); any number of times.
 */
RunResult run_execution(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                        const RunOptions& opt);

/// "premature_free cross_context_leak" in order of first occurrence, or "clean".
std::string verdict_of(const std::vector<Finding>& findings);

}  // namespace p2psim
