// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/machine.h"
#include "scenario/scenario.h"

namespace p2psim {

class NvmeModule;

/// The SystemC device modules a process elaborated for its scenario.
struct HardwareModules {
  std::vector<NvmeModule*> nvme;
};

/**
 * run_scenario_on_systemc() - run_on_systemc() with the device modules
 * @sc needs (one NvmeModule per nvme endpoint) elaborated first.
 */
void run_scenario_on_systemc(const Scenario& sc,
                             const std::function<void(CoroutineHost&, const HardwareModules&)>& main);

struct RunOptions {
  uint64_t seed = 1;
  std::string strategy;  ///< empty: "directed" with pins, else "random"
  bool use_pins = true;
  bool trace = false;
  bool record_ops = true;  ///< keep each op's outcome (RunResult::outcomes)
  Strategy* strategy_object = nullptr;  ///< when set, used instead of @strategy
  MachineObservers observers;
  const HardwareModules* hardware = nullptr;  ///< needed when the scenario has NVMe devices
};

struct RunResult {
  std::vector<Finding> findings;
  std::vector<RootCause> causes;  ///< race mechanisms the oracles recognised, in order
  ExecutionStats stats;
  std::vector<std::string> notes;
  std::string strategy;
  std::string trace_json;  ///< when RunOptions::trace
  std::vector<std::string> output;  ///< what workloads printed (p2pmem_test)
  std::vector<OpOutcome> outcomes;  ///< what each op did, in the order they returned
};

/// The strategy name a run with @opt on @rc uses.
std::string effective_strategy(const RunConfig& rc, const RunOptions& opt);

/**
 * run_execution() - boot a fresh kernel for @rc (providers, processes,
 * injected faults), run the scenario's tasks under the strategy, return
 * findings. Call from inside run_on_systemc(); any number of times.
 */
RunResult run_execution(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                        const RunOptions& opt);

/// "premature_free cross_context_leak" in order of first occurrence, or "clean".
std::string verdict_of(const std::vector<Finding>& findings);

}  // namespace p2psim
