// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// SparseStore: bytes in 4 KiB chunks; what was never written reads as zero,
// so zeros written to an absent chunk need no memory.
#include <catch2/catch.hpp>

#include <vector>

#include "hw/sparse_store.h"

using p2psim::hw::SparseStore;

TEST_CASE("sparse store: zeros into absent chunks take no memory and still read back", "[sparse_store]") {
  SparseStore s;
  const std::vector<std::uint8_t> zeros(3 * SparseStore::kChunk, 0);
  s.write(100, zeros.data(), zeros.size());  // spans four chunks, all absent
  CHECK(s.chunks() == 0);
  std::vector<std::uint8_t> back(zeros.size(), 0xff);
  s.read(100, back.data(), back.size());
  CHECK(back == zeros);
}

TEST_CASE("sparse store: data, and zeros over data, read back exactly", "[sparse_store]") {
  SparseStore s;
  std::vector<std::uint8_t> data(2 * SparseStore::kChunk);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 1);
  s.write(SparseStore::kChunk / 2, data.data(), data.size());  // three chunks touched
  CHECK(s.chunks() == 3);
  // Zeros over the middle of written data must overwrite it, not be skipped.
  const std::vector<std::uint8_t> zeros(64, 0);
  s.write(SparseStore::kChunk, zeros.data(), zeros.size());
  std::vector<std::uint8_t> back(data.size());
  s.read(SparseStore::kChunk / 2, back.data(), back.size());
  std::vector<std::uint8_t> want = data;
  std::fill(want.begin() + SparseStore::kChunk / 2, want.begin() + SparseStore::kChunk / 2 + 64, 0);
  CHECK(back == want);
  // A chunk with one non-zero byte is stored.
  const std::uint8_t one[2] = {0, 9};
  s.write(10 * SparseStore::kChunk, one, 2);
  CHECK(s.chunks() == 4);
  std::uint8_t b[2] = {};
  s.read(10 * SparseStore::kChunk, b, 2);
  CHECK(b[1] == 9);
}
