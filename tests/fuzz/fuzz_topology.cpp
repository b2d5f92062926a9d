// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: the topology loader (`p2pdma-sim topo FILE`).
#include <cstdint>

#include "fuzz_input_file.h"
#include "scenario/scenario.h"
#include "scenario/strict_yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = p2psim::fuzz::write_input("topology.yaml", data, size);
  try {
    p2psim::load_topology(path);
  } catch (const p2psim::InputError&) {
  }
  return 0;
}
