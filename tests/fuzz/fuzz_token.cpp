// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Fuzz target: replay tokens. Decoding never crashes, and whatever decodes
// encodes back to a token that decodes to the same execution.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "explore/replay_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string err;
  const auto tok = p2psim::decode_token(std::string(reinterpret_cast<const char*>(data), size), &err);
  if (!tok) {
    if (err.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const std::string again = p2psim::encode_token(*tok);
  const auto back = p2psim::decode_token(again, &err);
  if (!back || back->scenario_path != tok->scenario_path || back->scenario_hash != tok->scenario_hash ||
      back->variant != tok->variant || back->sets != tok->sets || back->seed != tok->seed ||
      back->decisions.choices != tok->decisions.choices || back->decisions.delays != tok->decisions.delays ||
      back->findings != tok->findings || back->regenerate != tok->regenerate || back->pins != tok->pins ||
      back->pct_depth != tok->pct_depth || back->pct_steps != tok->pct_steps || p2psim::encode_token(*back) != again)
    std::abort();
  return 0;
}
