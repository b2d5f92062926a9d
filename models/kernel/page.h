// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace p2psim::kern {

constexpr int PAGE_SHIFT = 12;
constexpr uint64_t PAGE_SIZE = 1ULL << PAGE_SHIFT;
/// include/linux/mm.h: a FOLL_PIN on a small folio adds this many refs.
constexpr int GUP_PIN_COUNTING_BIAS = 1 << 10;

struct DevPagemap;

/**
 * struct PageShadow - the oracles' view of a page (not kernel state).
 * @alloc_id: the allocation the page currently belongs to; 0 while it sits
 *            free in its pool.
 * @alloc_gen: bumped at every allocation of the page.
 */
struct PageShadow {
  uint64_t alloc_id = 0;
  uint64_t alloc_gen = 0;
  int pins = 0;          ///< GUP results not yet released by their users
  int ptes = 0;          ///< present PTEs mapping it, refcounted or not
  bool held = false;     ///< its allocator's user holds it outside any PTE
  /// Who returned it to its pool last, formatted only if a report needs it.
  struct LastFree {
    std::string task;
    int cpu = -1;
    const char* via = nullptr;  ///< a string literal naming the path
  } last_free;
  /// Who is inside free_zone_device_page() between page_free and the
  /// refcount reset ("a_io on cpu1"), innermost last; frees can nest.
  std::vector<std::string> resetting;
  /// The allocation handed out while someone was resetting, and by whom.
  uint64_t window_alloc = 0;
  std::string window_by;
};

/**
 * struct Page - struct page / small folio of a ZONE_DEVICE (or DRAM) page.
 * @refcount: page->_refcount.
 * @mapcount: number of PTEs mapping it through refcounted (vm_insert_page)
 *            mappings; devmap/special PTEs do not count.
 */
struct Page {
  uint64_t pfn = 0;
  int refcount = 0;
  int mapcount = 0;
  DevPagemap* pgmap = nullptr;
  PageShadow shadow;
};

/**
 * struct PercpuRef - include/linux/percpu-refcount.h.
 * @count is the sum the per-CPU counters and the atomic count would give;
 * @percpu is the mode (a ref in percpu mode cannot reach zero before the
 * RCU-confirmed switch to atomic mode, see percpu_ref_kill()); @dead makes
 * tryget_live fail.
 */
struct PercpuRef {
  long count = 0;
  bool percpu = true;
  bool dead = false;
  bool released = false;
  std::function<void()> release;

  /// percpu_ref_init() with flags 0 (percpu mode) or PERCPU_REF_INIT_ATOMIC.
  void init(long initial, std::function<void()> rel, bool atomic_mode = false) {
    count = initial;
    percpu = !atomic_mode;
    dead = false;
    released = false;
    release = std::move(rel);
  }
  void get(long n = 1) { count += n; }
  bool tryget_live() {
    if (dead) return false;
    ++count;
    return true;
  }
  /// percpu_ref_tryget(): percpu mode always succeeds; atomic mode (after a
  /// kill) is inc-not-zero, so it succeeds on a dead ref until the count,
  /// with the kill's RCU-held extra ref, reaches zero.
  bool tryget() {
    if (!percpu && count == 0) return false;  // add-unless-zero: a negative count passes
    ++count;
    return true;
  }
  /// Returns false on underflow (a model-visible kernel bug).
  bool put(long n = 1);
};

enum class PgmapType { pci_p2pdma, dram };

/**
 * struct DevPagemap - struct dev_pagemap for one BAR range.
 * @base_pfn/@nr_pages: the range; @pages: its struct pages.
 * @done: set by the percpu_ref release (complete(&pgmap->done)).
 */
struct DevPagemap {
  PgmapType type = PgmapType::pci_p2pdma;
  uint64_t base_pfn = 0;
  uint64_t nr_pages = 0;
  uint64_t bus_offset = 0;
  PercpuRef ref;
  bool done = false;
  bool removed = false;  ///< pageunmap_range() ran: the struct pages are gone
  /// devm_kfree()d by pci_p2pdma_add_resource()'s error path (the struct
  /// pci_p2pdma_pagemap around it); the model keeps the object for reports.
  bool freed = false;
  std::vector<Page> pages;
  /// pgmap->ops->page_free; set by the provider (p2pdma_page_free).
  std::function<void(class Exec&, Page&)> page_free;

  bool contains(uint64_t pfn) const { return pfn >= base_pfn && pfn < base_pfn + nr_pages; }
  Page& page(uint64_t pfn) { return pages[pfn - base_pfn]; }
};

}  // namespace p2psim::kern
