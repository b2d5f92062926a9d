// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <vector>

#include "kernel/exec.h"
#include "kernel/kernel.h"

namespace p2psim::kern {

// gup_flags (include/linux/mm_types.h); values are the model's own.
constexpr unsigned FOLL_WRITE = 1u << 0;
constexpr unsigned FOLL_GET = 1u << 1;
constexpr unsigned FOLL_PIN = 1u << 2;
constexpr unsigned FOLL_LONGTERM = 1u << 3;
constexpr unsigned FOLL_PCI_P2PDMA = 1u << 4;
constexpr unsigned FOLL_FAST_ONLY = 1u << 5;

/// One page a GUP call handed to its caller, with the allocation the PTE
/// it came through was made for (oracle).
struct GupPage {
  Page* page;
  uint64_t shadow_alloc;
};

/**
 * get_user_pages_fast() / pin_user_pages_fast() - the lockless walk with
 * IRQs off, then the slow path under mmap_lock for what it could not get.
 * Returns the number of pages, or a negative errno if none.
 */
long get_user_pages_fast(Exec& ex, Kernel& k, Process& proc, uint64_t start, int nr_pages,
                         unsigned gup_flags, std::vector<GupPage>& pages);
/// unpin_user_page() / put_page() for a GUP result, per @gup_flags.
void gup_release_page(Exec& ex, Kernel& k, const GupPage& gp, unsigned gup_flags);

}  // namespace p2psim::kern
