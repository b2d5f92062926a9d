// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>

#include "common/time.h"

namespace p2psim {

std::string format_time(ps_t t) {
  // Pick the largest unit that keeps the value exact to 3 decimals or less.
  static const struct { ps_t scale; const char* unit; } units[] = {
      {1000ULL * 1000 * 1000 * 1000, "s"}, {1000ULL * 1000 * 1000, "ms"},
      {1000ULL * 1000, "us"}, {1000ULL, "ns"}};
  for (const auto& u : units) {
    if (t >= u.scale) {
      ps_t whole = t / u.scale, frac = t % u.scale;
      ps_t milli = frac * 1000 / u.scale;
      if (milli == 0) return fmt::format("{}{}", whole, u.unit);
      return fmt::format("{}.{:03}{}", whole, milli, u.unit);
    }
  }
  return fmt::format("{}ps", t);
}

}  // namespace p2psim
