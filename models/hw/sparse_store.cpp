// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/sparse_store.h"

#include <algorithm>
#include <cstring>

namespace p2psim::hw {

void SparseStore::read(std::uint64_t off, std::uint8_t* dst, std::size_t len) const {
  while (len > 0) {
    const std::uint64_t chunk = off / kChunk;
    const std::uint64_t in = off % kChunk;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len, kChunk - in));
    auto it = chunks_.find(chunk);
    if (it == chunks_.end()) {
      std::memset(dst, 0, n);
    } else {
      std::memcpy(dst, it->second.data() + in, n);
    }
    off += n;
    dst += n;
    len -= n;
  }
}

void SparseStore::write(std::uint64_t off, const std::uint8_t* src, std::size_t len) {
  while (len > 0) {
    const std::uint64_t chunk = off / kChunk;
    const std::uint64_t in = off % kChunk;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(len, kChunk - in));
    auto it = chunks_.find(chunk);
    if (it == chunks_.end()) {
      // Zeros into a chunk never written change nothing a read can see:
      // keep it absent, so moving a GiB of zeros costs no GiB of memory.
      static const std::uint8_t kZeros[kChunk] = {};
      if (std::memcmp(src, kZeros, n) == 0) {
        off += n;
        src += n;
        len -= n;
        continue;
      }
      it = chunks_.emplace(chunk, std::vector<std::uint8_t>(kChunk, 0)).first;
    }
    std::memcpy(it->second.data() + in, src, n);
    off += n;
    src += n;
    len -= n;
  }
}

std::uint8_t* SparseStore::chunk(std::uint64_t off) {
  auto& c = chunks_[off / kChunk];
  if (c.empty()) c.resize(kChunk, 0);
  return c.data();
}

}  // namespace p2psim::hw
