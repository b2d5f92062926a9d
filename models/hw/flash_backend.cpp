// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/flash_backend.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

namespace p2psim::hw {

FlashBackend::FlashBackend(const FlashConfig& cfg) : cfg_(cfg) {
  if (cfg.channels == 0 || cfg.chips_per_channel == 0 || cfg.dies_per_chip == 0 ||
      cfg.planes_per_die == 0 || cfg.page_bytes == 0 || cfg.channel_bytes_per_us == 0) {
    throw std::invalid_argument("FlashConfig: every dimension and rate must be non-zero");
  }
  die_busy_.assign(cfg.total_dies(), 0);
  channel_busy_.resize(cfg.channels);
}

FlashLocation FlashBackend::locate(std::uint64_t p) const {
  FlashLocation loc{};
  loc.channel = static_cast<std::uint32_t>(p % cfg_.channels);
  p /= cfg_.channels;
  loc.chip = static_cast<std::uint32_t>(p % cfg_.chips_per_channel);
  p /= cfg_.chips_per_channel;
  loc.die = static_cast<std::uint32_t>(p % cfg_.dies_per_chip);
  p /= cfg_.dies_per_chip;
  loc.plane = static_cast<std::uint32_t>(p % cfg_.planes_per_die);
  loc.die_index = (loc.channel * cfg_.chips_per_channel + loc.chip) * cfg_.dies_per_chip + loc.die;
  return loc;
}

ps_t FlashBackend::transfer_time(std::uint64_t bytes) const {
  // bytes / (B per µs) µs = bytes * 1e6 / rate ps, rounded up.
  const std::uint64_t num = bytes * 1000000ULL;
  return (num + cfg_.channel_bytes_per_us - 1) / cfg_.channel_bytes_per_us;
}

std::map<std::uint32_t, std::vector<FlashBackend::PagePart>> FlashBackend::split(
    std::uint64_t offset, std::uint64_t len) const {
  std::map<std::uint32_t, std::vector<PagePart>> by_die;
  std::uint64_t pos = offset;
  const std::uint64_t end = offset + len;
  while (pos < end) {
    const std::uint64_t page = pos / cfg_.page_bytes;
    const std::uint64_t page_end = (page + 1) * cfg_.page_bytes;
    const std::uint64_t n = std::min(end, page_end) - pos;
    by_die[locate(page).die_index].push_back({page, n});
    pos += n;
  }
  return by_die;
}

void FlashBackend::prune(ps_t now) {
  if (now < last_now_) throw std::logic_error("FlashBackend: calls must not go back in time");
  last_now_ = now;
  for (auto& tl : channel_busy_) {
    while (!tl.empty() && tl.begin()->second <= now) tl.erase(tl.begin());
  }
}

ps_t FlashBackend::book_channel(std::uint32_t ch, ps_t ready, ps_t dur) {
  auto& tl = channel_busy_[ch];
  ps_t start = ready;
  // Walk the busy intervals in start order; take the first gap that fits.
  for (auto it = tl.begin(); it != tl.end(); ++it) {
    if (it->second <= start) continue;          // interval ends before we start
    if (it->first >= start + dur) break;        // gap [start, it->first) fits
    start = std::max(start, it->second);        // overlap: try after it
  }
  tl.emplace(start, start + dur);
  return start + dur;
}

ps_t FlashBackend::read(ps_t now, std::uint64_t offset, std::uint64_t len) {
  prune(now);
  ps_t done = now;
  if (len == 0) return done;
  // Per die: rounds of at most one page per plane (a multi-plane read), queued
  // behind the die's earlier operations. Transfers are booked afterwards in
  // order of sense completion so that an early die is not stuck behind a late
  // one on a shared channel.
  struct Xfer {
    ps_t ready;
    std::uint32_t die;
    std::uint64_t seq;
    std::uint32_t channel;
    std::uint64_t bytes;
  };
  std::vector<Xfer> xfers;
  std::uint64_t seq = 0;
  for (auto& [die, parts] : split(offset, len)) {
    std::vector<bool> plane_used(cfg_.planes_per_die, false);
    ps_t sensed = 0;
    bool open = false;
    for (const PagePart& part : parts) {
      const FlashLocation loc = locate(part.page);
      if (!open || plane_used[loc.plane]) {
        const ps_t start = std::max(now, die_busy_[die]);
        sensed = start + cfg_.read_latency;
        die_busy_[die] = sensed;
        std::fill(plane_used.begin(), plane_used.end(), false);
        open = true;
        ++stats_.array_ops;
      }
      plane_used[loc.plane] = true;
      ++stats_.page_reads;
      xfers.push_back({sensed, die, seq++, loc.channel, part.bytes});
    }
  }
  std::sort(xfers.begin(), xfers.end(), [](const Xfer& a, const Xfer& b) {
    return std::tie(a.ready, a.die, a.seq) < std::tie(b.ready, b.die, b.seq);
  });
  for (const Xfer& x : xfers) {
    done = std::max(done, book_channel(x.channel, x.ready, transfer_time(x.bytes)));
    stats_.bytes_transferred += x.bytes;
  }
  return done;
}

ps_t FlashBackend::program(ps_t now, std::uint64_t offset, std::uint64_t len) {
  prune(now);
  ps_t done = now;
  if (len == 0) return done;
  for (auto& [die_index, parts] : split(offset, len)) {
    const auto die = die_index;  // a lambda cannot capture a structured binding in C++17
    // Data moves into the die's page registers, then one program per round of
    // distinct planes.
    std::vector<bool> plane_used(cfg_.planes_per_die, false);
    ps_t round_ready = now;
    bool open = false;
    auto flush_round = [&]() {
      const ps_t start = std::max(round_ready, die_busy_[die]);
      die_busy_[die] = start + cfg_.program_latency;
      done = std::max(done, die_busy_[die]);
      ++stats_.array_ops;
    };
    for (const PagePart& part : parts) {
      const FlashLocation loc = locate(part.page);
      if (open && plane_used[loc.plane]) {
        flush_round();
        std::fill(plane_used.begin(), plane_used.end(), false);
        round_ready = now;
      }
      open = true;
      plane_used[loc.plane] = true;
      round_ready = std::max(round_ready,
                             book_channel(loc.channel, now, transfer_time(part.bytes)));
      stats_.bytes_transferred += part.bytes;
      ++stats_.page_programs;
    }
    if (open) flush_round();
  }
  return done;
}

ps_t FlashBackend::idle_time() const {
  ps_t t = last_now_;
  for (ps_t d : die_busy_) t = std::max(t, d);
  for (const auto& tl : channel_busy_) {
    if (!tl.empty()) t = std::max(t, tl.rbegin()->second);
  }
  return t;
}

DriveTiming drive_preset(DrivePreset p) {
  constexpr ps_t us = 1000000ULL;
  constexpr ps_t ns = 1000ULL;
  DriveTiming d;
  switch (p) {
    case DrivePreset::kMqsimDefault:
      d.name = "mqsim-default";
      // FlashConfig's defaults are MQSim's (docs/anchors.md).
      d.submit_overhead = 1 * us;
      d.complete_overhead = 500 * ns;
      break;
    case DrivePreset::kOptaneP4800X:
      // 3D XPoint: 7 channels, no multi-microsecond page reads. 100 ns + 800 ns
      // + 5 µs + 4096 B at 1.6 GB/s (2.56 µs) + 400 ns = 8.86 µs.
      d.name = "optane-p4800x";
      d.flash.channels = 7;
      d.flash.chips_per_channel = 4;
      d.flash.dies_per_chip = 2;
      d.flash.planes_per_die = 1;
      d.flash.page_bytes = 4096;
      d.flash.read_latency = 5 * us;
      d.flash.program_latency = 6 * us;
      d.flash.channel_bytes_per_us = 1600;
      d.submit_overhead = 800 * ns;
      d.complete_overhead = 400 * ns;
      d.anchor_qd1_read_4k = 8900 * ns;
      break;
    case DrivePreset::kP3700Mlc:
      // 18 channels of MLC at 200 MT/s: 100 ns + 3 µs + 54 µs + 20.48 µs +
      // 420 ns = 78.0 µs.
      d.name = "p3700-mlc";
      d.flash.channels = 18;
      d.flash.page_bytes = 8192;
      d.flash.read_latency = 54 * us;
      d.flash.program_latency = 1300 * us;
      d.flash.channel_bytes_per_us = 200;
      d.submit_overhead = 3 * us;
      d.complete_overhead = 420 * ns;
      d.write_buffered = true;
      d.anchor_qd1_read_4k = 78 * us;
      break;
    case DrivePreset::kP4500Tlc:
      // 12 channels of TLC at 400 MT/s: 100 ns + 3 µs + 71 µs + 10.24 µs +
      // 660 ns = 85.0 µs.
      d.name = "p4500-tlc";
      d.flash.channels = 12;
      d.flash.page_bytes = 16384;
      d.flash.read_latency = 71 * us;
      d.flash.program_latency = 1600 * us;
      d.flash.channel_bytes_per_us = 400;
      d.submit_overhead = 3 * us;
      d.complete_overhead = 660 * ns;
      d.write_buffered = true;
      d.anchor_qd1_read_4k = 85 * us;
      break;
    case DrivePreset::kGen4x4:
      // 8 channels at 900 MB/s: 7.2 GB/s of media bandwidth, just above what a
      // Gen4 x4 link carries, with 128 planes of 16 KiB pages behind it.
      d.name = "gen4x4-tlc";
      d.flash.page_bytes = 16384;
      d.flash.read_latency = 50 * us;
      d.flash.program_latency = 700 * us;
      d.flash.channel_bytes_per_us = 900;
      d.submit_overhead = 2 * us;
      d.complete_overhead = 500 * ns;
      d.write_buffered = true;
      d.anchor_seq_read_gbps = 7.0;
      break;
  }
  return d;
}

}  // namespace p2psim::hw
