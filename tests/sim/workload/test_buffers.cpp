// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// A process's buffers are slots indexed by (process, buffer name), the
// names numbered once by load_scenario(): the same name in two processes
// is two buffers, and a munmap frees the slot for that process only.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engine/direct_host.h"
#include "explore/runner.h"
#include "scenario/scenario.h"

using namespace p2psim;

TEST_CASE("buffers with one name in two processes stay apart, and an empty name works", "[buffers]") {
  const Scenario sc = load_scenario(std::string(P2PSIM_SOURCE_DIR) + "/tests/data/scenarios/buffers_per_process.yaml");
  const RunConfig rc = resolve_run(sc, "v6.2", {});
  RunResult r;
  run_on_direct_host([&](CoroutineHost& host) {
    RunOptions opt;
    opt.record_ops = true;
    r = run_execution(host, sc, rc, opt);
  });
  // Each load reads its own process's store: a shared slot would give A 0xbbbb.
  CHECK(verdict_of(r.findings) == "clean");
  int loads = 0;
  std::vector<std::string> a_munmaps;
  for (const auto& o : r.outcomes) {
    if (o.op == "load") {
      ++loads;
      CHECK(o.error == 0);
    }
    if (o.op == "munmap" && o.task == "a_main") a_munmaps.push_back(o.result);
  }
  CHECK(loads == 3);
  // munmap "" and munmap buf unmap; the second munmap of buf finds nothing.
  CHECK(a_munmaps == std::vector<std::string>{"0", "0", "not mapped: nothing to do"});
}
