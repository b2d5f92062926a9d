// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "kernel/page.h"

namespace p2psim::kern {

/// Where user memory lives: 1 GiB at 80 GiB, inside the platform's DRAM
/// (64-96 GiB, whose start holds the drivers' queues) and above any BAR.
constexpr uint64_t kUserRamBasePfn = 0x1400000000ULL >> 12;
constexpr uint64_t kUserRamPages = (1ULL << 30) >> 12;

/**
 * class RamPages - the struct pages of the DRAM that user memory (anonymous
 * mappings) comes from, and their allocator: alloc_page() / __free_page()
 * reduced to order-0 pages from one zone. Lowest free pfn first, so an
 * execution's pages do not depend on anything but its own order of calls.
 * A page's struct lives as long as the kernel, as a struct page does.
 */
class RamPages {
 public:
  /// @base_pfn: the first pfn of the region; @nr_pages: its size.
  RamPages(uint64_t base_pfn, uint64_t nr_pages) : base_(base_pfn), nr_(nr_pages) {}
  /// A free page at refcount 1, or null when the region is exhausted.
  Page* alloc();
  /// The page's count reached 0: back to the free pool.
  void free(Page& page);
  /// The struct page of @pfn if it is in the region and was ever handed out.
  Page* page(uint64_t pfn) {
    if (pfn < base_ || pfn >= base_ + nr_) return nullptr;
    auto it = pages_.find(pfn);
    return it == pages_.end() ? nullptr : it->second.get();
  }
  uint64_t allocated() const { return allocated_; }

 private:
  uint64_t base_, nr_;
  uint64_t next_ = 0;                 ///< pfns below base_ + next_ were handed out at least once
  std::vector<uint64_t> free_;        ///< freed pfns, kept sorted descending (lowest at the back)
  std::map<uint64_t, std::unique_ptr<Page>> pages_;
  uint64_t allocated_ = 0;
};

}  // namespace p2psim::kern
