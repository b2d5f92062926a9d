// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include "kernel/exec.h"
#include "kernel/kernel.h"
#include "kernel/page.h"

namespace p2psim::kern {

/**
 * Page refcount operations in the refcount era the knobs select
 * (include/linux/mm.h, mm/swap.c, mm/memremap.c). Each reports
 * refcount_underflow or kernel_bug where the kernel would WARN or BUG.
 */
void get_page(Exec& ex, Kernel& k, Page& page);
/// put_page() in every era: one_based runs page_free on 2 -> 1 for
/// devmap-managed pages; later eras free at 0.
void put_page(Exec& ex, Kernel& k, Page& page, const char* why);
/// put_page_refs(): drop @refs, the last through put_page() (v5.15 gup.c).
void put_page_refs(Exec& ex, Kernel& k, Page& page, int refs, const char* why);
/// page_ref_add_unless(page, nr, 0): the speculative grab of GUP-fast.
bool page_ref_add_unless_zero(Exec& ex, Kernel& k, Page& page, int nr);
void set_page_count(Exec& ex, Kernel& k, Page& page, int v);
/// The idle (free, in pool) refcount of a P2PDMA page in this era.
int idle_refcount(const Kernel& k);

/// get_dev_pagemap(): pgmap of @pfn with a live ref taken, or null.
DevPagemap* get_dev_pagemap(Exec& ex, Kernel& k, uint64_t pfn, DevPagemap* cached);
void put_dev_pagemap(Exec& ex, Kernel& k, DevPagemap* pgmap);

/// memremap_pages(): create the struct pages of @pgmap and its percpu_ref.
void memremap_pages(Exec& ex, Kernel& k, DevPagemap& pgmap);
/// memunmap_pages(): kill, drop base refs (if the era has them), wait for zero, remove.
void memunmap_pages(Exec& ex, Kernel& k, DevPagemap& pgmap);

/**
 * pgmap_request_folio() - activate page @pgmap_offset of @pgmap (the
 * per_folio_pgmap_ref era): one page reference for the caller, plus a pgmap
 * reference when the count went 0 -> 1. Null (and a WARN) if the pgmap is
 * dying or its tryget fails.
 */
Page* pgmap_request_folio(Exec& ex, Kernel& k, DevPagemap& pgmap, uint64_t pgmap_offset);

/**
 * percpu_ref_kill() - lib/percpu-refcount.c percpu_ref_kill_and_confirm()
 * (v6.2): mark @ref dead; a ref in percpu mode switches to atomic mode
 * holding an extra reference that an RCU callback drops after a grace
 * period, so release never comes before pre-existing RCU readers finish.
 */
void percpu_ref_kill(Exec& ex, Kernel& k, PercpuRef& ref);

/// A pgmap percpu_ref put that reports underflow.
void pgmap_ref_put(Exec& ex, DevPagemap& pgmap, long n, const char* why);

}  // namespace p2psim::kern
