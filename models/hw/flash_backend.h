// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Timing of an SSD's storage media: channels x chips x dies x planes, after
// MQSim's flash model (Tavakkol et al., FAST 2018; docs/anchors.md "NVMe SSD
// backend"). Pure logic, no SystemC, no data: the controller keeps the bytes.
//
// - Mapping: logical flash page p = byte offset / page_bytes is striped
//   channel first, then chip, die and plane (p % channels is the channel), so
//   a sequential transfer spreads over every channel before reusing one.
//   There is no FTL (no GC, no erase): the mapping is static.
// - A die does one array operation at a time (read: tR, program: tPROG) and
//   queues the rest in arrival order (busy-until). Pages of one request on the
//   same die but different planes go as one multi-plane operation.
// - A channel carries one page transfer at a time; transfers are booked in
//   the earliest gap of the channel's timeline (reads leave the die through
//   its cache register, so the die does not wait for the channel).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/time.h"

namespace p2psim::hw {

/**
 * struct FlashConfig - the media geometry and timings.
 * @channel_bytes_per_us: channel bandwidth in bytes per µs (= MB/s).
 */
struct FlashConfig {
  std::uint32_t channels = 8;
  std::uint32_t chips_per_channel = 4;
  std::uint32_t dies_per_chip = 2;
  std::uint32_t planes_per_die = 2;
  std::uint32_t page_bytes = 8192;
  ps_t read_latency = 75 * 1000000ULL;      // tR
  ps_t program_latency = 75 * 1000000ULL;   // tPROG
  ps_t erase_latency = 3800 * 1000000ULL;   // tBERS; unused (no GC)
  std::uint64_t channel_bytes_per_us = 333;  // MQSim default: 333 MT/s, 8-bit bus

  std::uint32_t total_dies() const { return channels * chips_per_channel * dies_per_chip; }
};

/// Where a flash page lives.
struct FlashLocation {
  std::uint32_t channel;
  std::uint32_t chip;
  std::uint32_t die;    // within the chip
  std::uint32_t plane;
  std::uint32_t die_index;  // global: (channel * chips + chip) * dies + die
};

struct FlashStats {
  std::uint64_t page_reads = 0;
  std::uint64_t page_programs = 0;
  std::uint64_t array_ops = 0;  // multi-plane operations count once
  std::uint64_t bytes_transferred = 0;
};

class FlashBackend {
 public:
  explicit FlashBackend(const FlashConfig& cfg);

  const FlashConfig& config() const { return cfg_; }
  FlashLocation locate(std::uint64_t page_index) const;
  /// Byte offset of the first byte of page `page_index`.
  std::uint64_t page_offset(std::uint64_t page_index) const {
    return page_index * cfg_.page_bytes;
  }
  /// Time to move `bytes` over one channel (rounded up to whole ps).
  ps_t transfer_time(std::uint64_t bytes) const;

  /**
   * read() - reads bytes [offset, offset + len) into the controller.
   * @now: when the controller issues the read; calls must come in
   *       non-decreasing `now` order (the controller's event order).
   * Returns when the last byte is in the controller's buffer.
   */
  ps_t read(ps_t now, std::uint64_t offset, std::uint64_t len);
  /// Programs bytes [offset, offset + len): channel transfer in, then tPROG.
  /// Returns when the last page is programmed.
  ps_t program(ps_t now, std::uint64_t offset, std::uint64_t len);

  /// When die `die_index` finishes the array operations booked so far.
  ps_t die_busy_until(std::uint32_t die_index) const { return die_busy_[die_index]; }
  /// When every booked operation is over.
  ps_t idle_time() const;
  const FlashStats& stats() const { return stats_; }

 private:
  struct PagePart {
    std::uint64_t page;
    std::uint64_t bytes;
  };
  /// Pages touched by [offset, offset+len), grouped by die (ordered).
  std::map<std::uint32_t, std::vector<PagePart>> split(std::uint64_t offset,
                                                       std::uint64_t len) const;
  /// Books `dur` on channel `ch` in the earliest gap at or after `ready`.
  ps_t book_channel(std::uint32_t ch, ps_t ready, ps_t dur);
  void prune(ps_t now);

  FlashConfig cfg_;
  std::vector<ps_t> die_busy_;
  // Per channel: busy intervals [start, end), keyed by start.
  std::vector<std::map<ps_t, ps_t>> channel_busy_;
  ps_t last_now_ = 0;
  FlashStats stats_;
};

/// Drives with docs/anchors.md figures.
enum class DrivePreset {
  kMqsimDefault,  // MQSim defaults: 8x4x2x2, 8 KiB pages, 75 µs read and program
  kOptaneP4800X,  // 3D XPoint: ~8.9 µs 4 KiB QD1 random read
  kP3700Mlc,      // Intel DC P3700 (MLC): ~78 µs
  kP4500Tlc,      // Intel DC P4500 (TLC): ~85 µs
  kGen4x4,        // a Gen4 x4 TLC drive: ~7 GB/s sequential read
};

/**
 * struct DriveTiming - a preset: media plus the firmware costs around it.
 * @doorbell_to_fetch: SQ tail doorbell write -> SQE fetch issued.
 * @submit_overhead:   SQE fetched -> media operation issued (firmware, FTL lookup).
 * @complete_overhead: data in the host buffer -> CQE write issued.
 * @write_buffered:    writes complete once their data is in the controller's
 *                     power-loss-protected buffer; the program runs behind
 *                     (the die stays busy). Otherwise they complete after tPROG.
 * @anchor_qd1_read_4k: the docs/anchors.md 4 KiB QD1 random read latency (0: none).
 *
 * With an ideal DMA port (zero transfer time) a 4 KiB QD1 read takes
 * doorbell_to_fetch + submit_overhead + tR + transfer_time(4096) +
 * complete_overhead from the doorbell write to the CQE; the presets are set
 * so that this equals the anchor, which is an end-to-end (fio) figure.
 */
struct DriveTiming {
  std::string name;
  FlashConfig flash;
  ps_t doorbell_to_fetch = 100 * 1000ULL;
  ps_t submit_overhead = 0;
  ps_t complete_overhead = 0;
  bool write_buffered = false;
  ps_t anchor_qd1_read_4k = 0;
  double anchor_seq_read_gbps = 0;
};

DriveTiming drive_preset(DrivePreset p);

}  // namespace p2psim::hw
