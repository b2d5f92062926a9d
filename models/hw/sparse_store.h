// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace p2psim::hw {

/// Bytes, sparse in 4 KiB chunks; never-written bytes read as zero, and
/// writing zeros to a chunk never written leaves it absent.
class SparseStore {
 public:
  static constexpr std::uint64_t kChunk = 4096;
  void read(std::uint64_t off, std::uint8_t* dst, std::size_t len) const;
  void write(std::uint64_t off, const std::uint8_t* src, std::size_t len);
  /// The kChunk bytes holding @off (allocated, zeroed, on first use); stable.
  std::uint8_t* chunk(std::uint64_t off);
  std::size_t chunks() const { return chunks_.size(); }
  void clear() { chunks_.clear(); }

 private:
  std::map<std::uint64_t, std::vector<std::uint8_t>> chunks_;
};

}  // namespace p2psim::hw
