// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// One execution of a scenario file through the full engine (SystemC host
// when it has device models). SystemC elaborates once per process, so a
// test case that runs hardware scenarios calls this once.
#include <string>

#include "engine/systemc_host.h"
#include "explore/runner.h"
#include "scenario/scenario.h"

namespace p2psim_test {

/// @path relative to the source tree.
/// @trace: fill RunResult::trace_json (what notes and points it records).
inline p2psim::RunResult run_scenario_once(const std::string& path, const std::string& variant,
                                           const p2psim::ParamValues& params = {}, bool hardware_metrics = false,
                                           bool trace = false) {
  using namespace p2psim;
  Scenario sc = load_scenario(std::string(P2PSIM_SOURCE_DIR) + "/" + path, params);
  RunConfig rc = resolve_run(sc, variant, {});
  RunResult r;
  run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
    RunOptions opt;
    opt.hardware = &hw;
    opt.hardware_metrics = hardware_metrics;
    opt.trace = trace;
    r = run_execution(host, sc, rc, opt);
  });
  return r;
}

}  // namespace p2psim_test
