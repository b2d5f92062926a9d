// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Unbind against pinned pages (docs/model.md "Kernel model"), through the full engine.
// Each TEST_CASE runs in its own process (catch_discover_tests): SystemC
// elaborates once per process.
#include <catch2/catch.hpp>

#include "explore/runner.h"
#include "scenario/scenario.h"
#include "engine/systemc_host.h"
#include "support/scenario_run.h"

using namespace p2psim;

namespace {
RunResult run_once(const std::string& file, const std::string& variant) {
  return p2psim_test::run_scenario_once("tests/data/scenarios/" + file, variant);
}
}  // namespace

TEST_CASE("unbind waits in memunmap_pages until the O_DIRECT pin is released (v6.2)", "[unbind]") {
  RunResult r = run_once("unbind_pinned.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  // The pinner sleeps 100us before unpinning; the unbind cannot end earlier.
  REQUIRE(r.stats.task_end.count("unbinder"));
  CHECK(r.stats.task_end.at("unbinder") > 100_us);
  CHECK(r.stats.task_end.at("unbinder") >= r.stats.task_end.at("io") - 10_us);
}

TEST_CASE("unbind waits for the pin on the RFC v5 design too", "[unbind]") {
  RunResult r = run_once("unbind_pinned.yaml", "rfc-v5");
  CHECK(verdict_of(r.findings) == "clean");
  CHECK(r.stats.task_end.at("unbinder") > 100_us);
}

TEST_CASE("a pin that outlives the unbind is a reported hang and not a hung simulator", "[unbind]") {
  RunResult r = run_once("unbind_pin_never_released.yaml", "v6.2");
  REQUIRE(verdict_of(r.findings) == "hang");
  bool memunmap = false;
  for (const auto& f : r.findings)
    memunmap |= f.task == "unbinder" && f.message.find("memunmap_pages") != std::string::npos;
  CHECK(memunmap);
}
