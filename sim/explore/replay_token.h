// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "explore/strategies.h"

namespace p2psim {

/**
 * struct ReplayToken - everything needed to reproduce one execution
 * bit-exactly: the scenario (path and content hash), the variant and
 * --set overrides, the decisions, and for the record the strategy and seed
 * that made them and the finding kinds they gave.
 */
struct ReplayToken {
  std::string scenario_path;
  uint64_t scenario_hash = 0;
  std::string variant;
  std::vector<std::string> sets;
  std::string strategy;
  uint64_t seed = 0;
  Decisions decisions;
  std::vector<std::string> findings;  ///< kinds the execution reported
  /// The decisions were never recorded (the execution crashed or hung):
  /// replay re-derives them by running campaign strategy @strategy
  /// (make_campaign_strategy() with @pct_depth, @pct_steps) from @seed.
  bool regenerate = false;
  /// The execution ran with the scenario's pins (fuzz --hint-pins): replay
  /// applies them too.
  bool pins = false;
  int pct_depth = 0;
  uint64_t pct_steps = 0;
};

/// "p2psim1_" + base64url of a small key=value text: one shell word.
std::string encode_token(const ReplayToken& t);
/// Returns nullopt and sets @err for anything malformed.
std::optional<ReplayToken> decode_token(const std::string& s, std::string* err);

}  // namespace p2psim
