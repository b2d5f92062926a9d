// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The direct coroutine host and the SystemC host run the same executions:
// for the same scenario, variant and seed, the traces are byte-identical.
// One process runs the SystemC host once (it elaborates once per process)
// and the direct host after it.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <tuple>

#include "explore/runner.h"
#include "scenario/scenario.h"

using namespace p2psim;

namespace {

struct Case {
  std::string file, variant;
};

/// Traces of @seeds executions per case, on host @h, with the strategy
/// choosing (no pins) so that the executions differ from seed to seed.
std::map<std::tuple<std::string, std::string, uint64_t>, std::string> traces_on(HostKind h,
                                                                                 const std::vector<Case>& cases,
                                                                                 uint64_t seeds) {
  std::map<std::tuple<std::string, std::string, uint64_t>, std::string> out;
  for (const Case& c : cases) {
    const Scenario sc = load_scenario(std::string(P2PSIM_SOURCE_DIR) + "/scenarios/" + c.file);
    const RunConfig rc = resolve_run(sc, c.variant, {});
    run_scenario(
        sc,
        [&](CoroutineHost& host, const HardwareModules& hw) {
          for (uint64_t seed = 1; seed <= seeds; ++seed) {
            RunOptions opt;
            opt.seed = seed;
            opt.use_pins = false;
            opt.trace = true;
            opt.hardware = &hw;
            out[{c.file, c.variant, seed}] = run_execution(host, sc, rc, opt).trace_json;
          }
        },
        h);
    // The SystemC host runs once per process: one scenario is enough there.
    if (h == HostKind::systemc) break;
  }
  return out;
}

}  // namespace

TEST_CASE("the direct host gives the SystemC host's traces, byte for byte", "[host]") {
  const std::vector<Case> cases = {{"s1_premature_genalloc_return.yaml", "rfc-v3"}};
  const auto systemc = traces_on(HostKind::systemc, cases, 40);
  const auto direct = traces_on(HostKind::direct, cases, 40);
  REQUIRE(systemc.size() == 40);
  REQUIRE(direct.size() == systemc.size());
  size_t differing = 0;
  std::set<std::string> distinct;
  for (const auto& [key, trace] : systemc) {
    REQUIRE(direct.count(key));
    differing += direct.at(key) != trace;
    distinct.insert(trace);
  }
  CHECK(differing == 0);
  // The seeds really gave different executions: the comparison means something.
  CHECK(distinct.size() > 10);
}

TEST_CASE("the direct host runs many scenarios in one process", "[host]") {
  const std::vector<Case> cases = {{"s1_premature_genalloc_return.yaml", "v6.2"},
                                   {"s17_nested_tlb_flush.yaml", "rfc-v3"},
                                   {"x1_zone_device_reset_window.yaml", "v6.2"}};
  const auto a = traces_on(HostKind::direct, cases, 5);
  const auto b = traces_on(HostKind::direct, cases, 5);
  CHECK(a.size() == 15);
  CHECK(a == b);
}

TEST_CASE("the direct host refuses a scenario with NVMe devices", "[host]") {
  const Scenario sc = load_scenario(std::string(P2PSIM_SOURCE_DIR) + "/scenarios/p2pmem_test_switch.yaml");
  CHECK_THAT(host_unsuitable(HostKind::direct, sc), Catch::Contains("SystemC modules"));
  CHECK(host_unsuitable(HostKind::automatic, sc).empty());
  CHECK(host_unsuitable(HostKind::systemc, sc).empty());
  CHECK_THROWS(run_scenario(sc, [](CoroutineHost&, const HardwareModules&) {}, HostKind::direct));
}
