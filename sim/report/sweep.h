// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// `report --sweep KEY=V1,V2,...`: the axes of a parameter sweep and their
// cartesian product. Pure logic.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

#include "scenario/parameters.h"

namespace p2psim {

/// KEY is a scenario parameter or `variant` (the scenario's variants).
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

/// A bad --sweep; what() names the option and what is wrong with it.
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The sweep key that selects the scenario variant instead of a parameter.
constexpr const char* kVariantKey = "variant";
/// More configurations than this is surely a typo (and days of simulation).
constexpr size_t kMaxSweepPoints = 10000;

/// Parses "KEY=V1,V2,...": values non-empty, distinct, one line each.
SweepAxis parse_sweep(const std::string& spec);

/// One configuration: a value per axis, in axis order.
struct SweepPoint {
  ParamValues params;   ///< every axis except `variant`
  std::string variant;  ///< "" unless `variant` is an axis
  std::vector<std::pair<std::string, std::string>> axes;  ///< (key, value) in axis order
};

/// Every combination, the first axis varying slowest; one point (the
/// defaults) for no axes. Throws SweepError for a key given twice or more
/// than kMaxSweepPoints points.
std::vector<SweepPoint> sweep_points(const std::vector<SweepAxis>& axes);

}  // namespace p2psim
