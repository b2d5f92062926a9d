// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "kernel/exec.h"
#include "kernel/page.h"

namespace p2psim::kern {

class Kernel;

/**
 * struct Allocation - one range a user obtained from a p2pdma pool.
 * @owner_pid: the process it was obtained for (0 = kernel).
 */
struct Allocation {
  uint64_t id = 0;
  int owner_pid = 0;
  const char* fn = "";  ///< the allocating function, a string literal
  std::string by;       ///< the task that allocated
  int by_pid = 0, by_cpu = 0;
  uint64_t first_pfn = 0;
  uint64_t nr_pages = 0;
  /// "pci_p2pdma_vma_fault by b_main (pid 2, cpu2)", formatted only when a
  /// report needs it (allocations happen in every execution, reports rarely).
  std::string what() const;
};

/**
 * class Oracle - the simulator's KASAN for P2P pages (docs/model.md "Oracles").
 *
 * Every page carries the allocation it belongs to. Mappings, TLB entries and
 * GUP results remember the allocation they were made for; a use through one
 * whose allocation is no longer the page's is a finding. A page returned to
 * its pool while someone still holds it is a premature free.
 */
class Oracle {
 public:
  /// Tag @nr pages from @pfn as a new allocation for @owner_pid, made by
  /// function @fn (a literal) in @ex's task; returns its id. Remembers pages
  /// handed out inside free_zone_device_page()'s window.
  uint64_t on_alloc(Exec& ex, Kernel& k, int owner_pid, const char* fn, uint64_t pfn, uint64_t nr);
  /// vm_insert_page() refuses @page because its refcount is 0: if the page
  /// was handed out inside the reset window, that is the root cause
  /// "zone_device_reset_window" (the window did harm: a spurious -EINVAL).
  void on_insert_refused_at_zero(Exec& ex, Page& page);
  /// The page goes back to its pool: check nobody still holds it.
  void on_pool_free(Exec& ex, Kernel& k, Page& page, const char* via);
  /// A use of @page through something made for allocation @expected.
  /// @via: "user read", "GUP result", "DMA".
  void check_use(Exec& ex, Kernel& k, Page& page, uint64_t expected, int user_pid,
                 const std::string& via);
  /// Would check_use() of @page for @expected report nothing? Lets a hot
  /// caller skip formatting its @via.
  static bool use_ok(const Page& page, uint64_t expected) { return page.shadow.alloc_id == expected; }
  const Allocation* allocation(uint64_t id) const;

 private:
  uint64_t next_id_ = 1;
  std::map<uint64_t, Allocation> allocs_;
};

}  // namespace p2psim::kern
