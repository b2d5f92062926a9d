// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: campaign checkpoints (state.json). Any input is accepted or
// refused with an InputError; an accepted one writes back to a checkpoint
// that reads back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "explore/campaign_state.h"
#include "scenario/strict_yaml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const p2psim::CampaignState s = p2psim::parse_state(text, "state.json");
    const std::string written = p2psim::state_json(s);
    if (p2psim::state_json(p2psim::parse_state(written, "state.json")) != written) std::abort();
  } catch (const p2psim::InputError&) {
  }
  return 0;
}
