// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <string>

namespace p2psim {

/// Simulated time and durations, in picoseconds (PCIe byte times are sub-ns).
using ps_t = std::uint64_t;

constexpr ps_t operator""_ps(unsigned long long v) { return v; }
constexpr ps_t operator""_ns(unsigned long long v) { return v * 1000ULL; }
constexpr ps_t operator""_us(unsigned long long v) { return v * 1000ULL * 1000ULL; }
constexpr ps_t operator""_ms(unsigned long long v) { return v * 1000ULL * 1000ULL * 1000ULL; }

/// "12.345us"-style rendering with a unit, exact (no floating point).
std::string format_time(ps_t t);

}  // namespace p2psim
