// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: the scenario loader and variant resolution. Any input must
// load or be refused with an InputError; anything else (a crash, another
// exception, a hang, unbounded memory) is a bug.
#include <cstdint>

#include "fuzz_input_file.h"
#include "scenario/scenario.h"
#include "scenario/strict_yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = p2psim::fuzz::write_input("scenario.yaml", data, size);
  try {
    const p2psim::Scenario sc = p2psim::load_scenario(path);
    // Every variant resolves (knob combinations are checked there).
    p2psim::resolve_run(sc, "", {});
    for (const auto& v : sc.variants) {
      try {
        p2psim::resolve_run(sc, v.name, {});
      } catch (const p2psim::InputError&) {
      }
    }
  } catch (const p2psim::InputError&) {
  }
  return 0;
}
