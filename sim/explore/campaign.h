// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "explore/runner.h"

namespace p2psim {

/// `p2pdma-sim fuzz` options (see kFuzzHelp in cli_campaign.cpp).
struct CampaignOptions {
  std::string scenario_path;
  std::string variant;
  std::vector<std::string> sets;
  std::string strategy = "portfolio";  ///< portfolio | random | pct | delay | timed
  int pct_depth = 3;
  uint64_t runs = 0;     ///< 0: no execution budget
  double time_s = 0;     ///< 0: no time budget
  uint64_t seed = 1;     ///< first seed of the shard's sequence
  int jobs = 1;
  int shard_k = 1, shard_n = 1;
  std::string out_dir;
  bool resume = false;
  bool favour_new_pairs = false;
  bool hint_pins = false;  ///< half the executions keep the variant's pins
  bool shrink = true;
  bool no_known = false;  ///< do not excuse findings by the variant's known bugs
  size_t shrink_replays = 400;
  bool json = false;
  std::string stop_on;  ///< stop at the first finding of this kind ("any": of any kind)
  double exec_timeout_s = 60;  ///< wall time after which an execution is a simulator hang
  HostKind host = HostKind::automatic;  ///< what runs the task coroutines
};

/// Run a campaign; returns the exit code (0 no finding, 1 findings, 3 an
/// execution crashed or hung the simulator: internal_error findings).
/// Throws InputError for bad input (exit 2).
int run_campaign(const CampaignOptions& o);

/// `p2pdma-sim merge DIR... --out DIR`: returns the exit code.
int merge_campaigns(const std::vector<std::string>& dirs, const std::string& out, bool json);

}  // namespace p2psim
