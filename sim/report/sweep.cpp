// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "report/sweep.h"

#include <fmt/format.h>

#include <set>

namespace p2psim {

SweepAxis parse_sweep(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw SweepError(fmt::format("--sweep needs KEY=V1,V2,..., got '{}'", spec));
  SweepAxis a;
  a.key = spec.substr(0, eq);
  if (a.key != kVariantKey && !is_param_name(a.key))
    throw SweepError(fmt::format("--sweep {}: '{}' is not a parameter name (letters, digits and _)", spec, a.key));
  const std::string list = spec.substr(eq + 1);
  std::set<std::string> seen;
  size_t from = 0;
  while (true) {
    const size_t comma = list.find(',', from);
    const std::string v = list.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    if (v.empty()) throw SweepError(fmt::format("--sweep {}: empty value in '{}'", a.key, list));
    if (std::string why = bad_param_value(v); !why.empty())
      throw SweepError(fmt::format("--sweep {}: value '{}': {}", a.key, v, why));
    if (!seen.insert(v).second) throw SweepError(fmt::format("--sweep {}: value '{}' given twice", a.key, v));
    a.values.push_back(v);
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return a;
}

std::vector<SweepPoint> sweep_points(const std::vector<SweepAxis>& axes) {
  std::set<std::string> keys;
  size_t total = 1;
  for (const auto& a : axes) {
    if (!keys.insert(a.key).second) throw SweepError(fmt::format("--sweep {} given twice: list all its values in one", a.key));
    total *= a.values.size();
    if (total > kMaxSweepPoints)
      throw SweepError(fmt::format("the sweep has more than {} configurations; split it", kMaxSweepPoints));
  }
  std::vector<SweepPoint> out;
  out.reserve(total);
  std::vector<size_t> idx(axes.size(), 0);
  for (size_t n = 0; n < total; ++n) {
    SweepPoint p;
    for (size_t i = 0; i < axes.size(); ++i) {
      const std::string& v = axes[i].values[idx[i]];
      p.axes.emplace_back(axes[i].key, v);
      if (axes[i].key == kVariantKey)
        p.variant = v;
      else
        p.params[axes[i].key] = v;
    }
    out.push_back(std::move(p));
    for (size_t i = axes.size(); i-- > 0;) {  // odometer: the last axis turns fastest
      if (++idx[i] < axes[i].values.size()) break;
      idx[i] = 0;
    }
  }
  return out;
}

}  // namespace p2psim
