// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// A program that embeds the simulator through include/p2psim/simulator.h:
// runs seeds 1..N of a scenario variant under the random strategy, without
// the scenario's pins, and counts the verdicts.
//   run_seeds SCENARIO VARIANT N
#include <cstdio>
#include <cstdlib>
#include <map>

#include "p2psim/simulator.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s SCENARIO VARIANT N\n", argv[0]);
    return 2;
  }
  try {
    const auto scenario = p2psim::api::Scenario::load(argv[1]);
    std::map<std::string, unsigned> verdicts;
    p2psim::api::simulate(scenario, [&](p2psim::api::Session& session) {
      p2psim::api::ExecutionRequest req;
      req.variant = argv[2];
      req.strategy = "random";
      req.use_pins = false;
      for (uint64_t seed = 1; seed <= std::strtoull(argv[3], nullptr, 10); ++seed) {
        req.seed = seed;
        ++verdicts[session.run(req).verdict];
      }
    });
    for (const auto& [verdict, n] : verdicts) std::printf("%s %u\n", verdict.c_str(), n);
  } catch (const p2psim::api::InputProblem& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  return 0;
}
