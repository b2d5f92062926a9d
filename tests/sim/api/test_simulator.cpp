// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The embedding API (include/p2psim/simulator.h), used as an outside program
// would: only the public header. Each case runs simulate() once, in its own
// process (SystemC elaborates once per process).
#include <catch2/catch.hpp>

#include <string>

#include "p2psim/simulator.h"

using namespace p2psim::api;

namespace {
const std::string kS1 = P2PSIM_SOURCE_DIR "/scenarios/s1_premature_genalloc_return.yaml";
}

TEST_CASE("api: S1's pinned race is found on rfc-v3 and not on latest", "[api]") {
  const Scenario s1 = Scenario::load(kS1);
  CHECK(s1.name() == "s1_premature_genalloc_return");
  const auto variants = s1.variants();
  REQUIRE(variants.size() >= 2);
  CHECK(variants.front() == "rfc-v3");
  ExecutionReport buggy, fixed;
  simulate(s1, [&](Session& session) {
    ExecutionRequest req;
    req.variant = "rfc-v3";
    buggy = session.run(req);
    req.variant = "latest";
    fixed = session.run(req);
  });
  CHECK(buggy.verdict.rfind("premature_free", 0) == 0);
  CHECK(buggy.as_expected);
  REQUIRE(!buggy.findings.empty());
  CHECK(buggy.findings[0].kind == "premature_free");
  CHECK(!buggy.findings[0].signature.empty());
  CHECK(!buggy.findings[0].path.empty());
  CHECK(buggy.strategy == "directed");
  CHECK(fixed.verdict == "clean");
  CHECK(fixed.as_expected);
  CHECK(fixed.findings.empty());
  // The pin loses the race to the munmap: GUP finds no PTE.
  CHECK(fixed.failures == std::vector<std::string>{"a_io pin EFAULT"});
  CHECK(fixed.end_time_ps > 0);
}

TEST_CASE("api: the same request gives the same trace, byte for byte", "[api]") {
  const Scenario s1 = Scenario::load(kS1);
  std::string first, second, other_seed;
  simulate(s1, [&](Session& session) {
    ExecutionRequest req;
    req.variant = "rfc-v3";
    req.strategy = "random";
    req.seed = 7;
    req.trace = true;
    first = session.run(req).trace_json;
    second = session.run(req).trace_json;
    req.seed = 8;
    other_seed = session.run(req).trace_json;
  });
  REQUIRE(first.size() > 1000);
  CHECK(first == second);
  CHECK(first != other_seed);
}

TEST_CASE("api: bad input is an InputProblem with its location", "[api]") {
  try {
    Scenario::load(P2PSIM_SOURCE_DIR "/scenarios/no_such_file.yaml");
    FAIL("a missing file loaded");
  } catch (const InputProblem& e) {
    CHECK(e.file.find("no_such_file.yaml") != std::string::npos);
    CHECK(std::string(e.what()).find("error:") != std::string::npos);
  }
  const Scenario s1 = Scenario::load(kS1);
  bool refused = false;
  simulate(s1, [&](Session& session) {
    ExecutionRequest req;
    req.variant = "no-such-variant";
    try {
      session.run(req);
    } catch (const InputProblem& e) {
      refused = true;
      CHECK(e.message.find("no-such-variant") != std::string::npos);
      CHECK(e.line > 0);
    }
  });
  CHECK(refused);
}
