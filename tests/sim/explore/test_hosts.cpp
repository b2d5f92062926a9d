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

#include "common/kernel_bug.h"
#include "engine/direct_host.h"
#include "explore/runner.h"
#include "explore/strategies.h"
#include "kernel/costs.h"
#include "kernel/knobs.h"
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

TEST_CASE("the direct host surfaces a simulator bug in a task at once and runs the next execution", "[host]") {
  int steps_after_bug = 0, completed = 0;
  run_on_direct_host([&](CoroutineHost& host) {
    // Execution 1: task "bad" throws a ModelBug at its second point while
    // task "good" is suspended halfway through its own.
    {
      kern::Kernel k(kern::find_preset("v6.2")->knobs, kern::default_costs(), 2);
      auto timed = make_timed_strategy();
      Machine m(host, k, *timed, 1, nullptr);
      m.add_task({"good", 0, 0, 0, [&](kern::Exec& ex) {
                    for (int i = 0; i < 10; ++i) {
                      ex.cost(100);
                      ex.pp("op:compute");
                    }
                    ++steps_after_bug;  // never reached: the execution is abandoned
                  }});
      m.add_task({"bad", 1, 0, 0, [](kern::Exec& ex) {
                    ex.cost(50);
                    ex.pp("op:compute");
                    throw ModelBug("test: a simulator bug inside a task body");
                  }});
      CHECK_THROWS_WITH(m.run(), Catch::Contains("a simulator bug inside a task body"));
    }
    // Execution 2 on the same coroutine slots: both tasks run to their end.
    kern::Kernel k(kern::find_preset("v6.2")->knobs, kern::default_costs(), 2);
    auto timed = make_timed_strategy();
    Machine m(host, k, *timed, 2, nullptr);
    for (const char* name : {"first", "second"})
      m.add_task({name, name[0] == 'f' ? 0 : 1, 0, 0, [&](kern::Exec& ex) {
                    for (int i = 0; i < 3; ++i) ex.pp("op:compute");
                    ++completed;
                  }});
    m.run();
  });
  CHECK(steps_after_bug == 0);
  CHECK(completed == 2);
}
