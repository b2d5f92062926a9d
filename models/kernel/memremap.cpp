// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/memremap.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/kernel_bug.h"

namespace p2psim::kern {

int idle_refcount(const Kernel& k) {
  const RefcountEra era = k.knobs.refcount_era;
  return era == RefcountEra::zero_based || era == RefcountEra::per_folio_pgmap_ref ? 0 : 1;
}

void pgmap_ref_put(Exec& ex, DevPagemap& pgmap, long n, const char* why) {
  if (!pgmap.ref.put(n))
    ex.report(FindingKind::refcount_underflow,
              fmt::format("percpu_ref underflow on the pgmap of pfn {:#x} ({}): count {}",
                          pgmap.base_pfn, why, pgmap.ref.count));
}

// models include/linux/mm.h:get_page() -> folio_get() as of v6.2 (the
// same from v5.17 on): a get on a page whose count is <= 0 is
// VM_BUG_ON_FOLIO. Without CONFIG_DEBUG_VM the increment simply happens.
void get_page(Exec& ex, Kernel& k, Page& page) {
  ex.cost(k.costs.page_ref_atomic);
  if (page.refcount <= 0 && k.knobs.config_debug_vm)
    throw KernelBug(fmt::format("VM_BUG_ON_PAGE(page_ref_count(page) <= 0) in get_page, pfn {:#x}",
                                page.pfn),
                    page.pfn, page.shadow.alloc_id);
  ++page.refcount;
}

void set_page_count(Exec& ex, Kernel& k, Page& page, int v) {
  ex.cost(k.costs.page_ref_atomic);
  page.refcount = v;
}

bool page_ref_add_unless_zero(Exec& ex, Kernel& k, Page& page, int nr) {
  ex.cost(k.costs.page_ref_atomic);
  if (page.refcount == 0) return false;
  page.refcount += nr;
  return true;
}

// models mm/memremap.c:free_zone_device_page() as of v6.2 and
// free_zone_device_folio() as of v6.15: page_free, then (v6.2 only) reset
// the count to 1 for handing the page out again; under DAX-gup v3 23/25
// page_free, then put_dev_pagemap().
static void free_zone_device_page(Exec& ex, Kernel& k, Page& page) {
  KFUNC(ex, "free_zone_device_page");
  if (k.knobs.refcount_era == RefcountEra::per_folio_pgmap_ref) {
    // DAX-gup v3 23/25: page_free only if the pgmap has one (its WARN is
    // gone), then put_dev_pagemap() for every type: the ref the 0 -> 1
    // request took. No reset: the page stays idle at 0.
    DevPagemap* pgmap = page.pgmap;
    if (pgmap && pgmap->page_free) pgmap->page_free(ex, page);
    put_dev_pagemap(ex, k, pgmap);
    return;
  }
  if (!page.pgmap || !page.pgmap->page_free) {
    ex.report(FindingKind::kernel_bug,
              fmt::format("WARN_ON_ONCE(!pgmap->ops->page_free) for pfn {:#x}", page.pfn));
    return;
  }
  if (k.knobs.refcount_era != RefcountEra::free_at_zero_reset_to_one) {
    page.pgmap->page_free(ex, page);
    return;
  }
  // The page is back in the pool once page_free returns it, but its count
  // stays 0 until the reset below: the oracle watches who allocates it then.
  // Shadow bookkeeping only. Frees of one page can overlap (the X1 race
  // itself) and end in any order, and page_free may BUG out of the window.
  struct ResetWindow {
    std::vector<std::string>& who;
    std::string me;
    ~ResetWindow() { who.erase(std::find(who.begin(), who.end(), me)); }
  };
  ResetWindow window{page.shadow.resetting, fmt::format("{} on cpu{}", ex.task_name(), ex.cpu())};
  page.shadow.resetting.push_back(window.me);
  page.pgmap->page_free(ex, page);
  page.refcount = 1;
}

// models include/linux/mm.h:put_page() with mm/swap.c:put_devmap_managed_page()
// as of v5.15 (one_based era; P2PDMA made devmap-managed by RFC v3 18/20),
// and folio_put() -> __folio_put() as of v6.2 / v6.15.
void put_page(Exec& ex, Kernel& k, Page& page, const char* why) {
  ex.cost(k.costs.page_ref_atomic);
  const bool zone_device = page.pgmap != nullptr;
  if (zone_device && page.pgmap->removed)
    ex.report_page(FindingKind::use_after_free, page.pfn, page.shadow.alloc_id,
                   fmt::format("put_page ({}) on pfn {:#x}, whose struct page memunmap_pages() already "
                               "removed: the pgmap wait did not cover this reference", why, page.pfn));
  if (k.knobs.refcount_era == RefcountEra::one_based && zone_device) {
    // put_devmap_managed_page(): one atomic dec, then look at the result.
    int count = --page.refcount;
    if (count == 1) {
      KFUNC(ex, "free_devmap_managed_page");
      page.pgmap->page_free(ex, page);  // the refcount stays 1: that is "free"
    } else if (count == 0) {
      // __put_page() on a ZONE_DEVICE page drops its pgmap ref; only the
      // memunmap_pages() teardown may take a page to 0.
      if (!page.pgmap->ref.dead)
        ex.report_page(FindingKind::refcount_underflow, page.pfn, page.shadow.alloc_id,
                  fmt::format("put_page ({}) took live pfn {:#x} to 0 in the one-based era", why,
                              page.pfn));
      pgmap_ref_put(ex, *page.pgmap, 1, "__put_page");
    } else if (count < 0) {
      ex.report_page(FindingKind::refcount_underflow, page.pfn, page.shadow.alloc_id,
                fmt::format("put_page ({}) on pfn {:#x}: refcount {}", why, page.pfn, count));
    }
    return;
  }
  // folio_put_testzero(): VM_BUG_ON_PAGE(folio_ref_count(folio) == 0).
  if (page.refcount <= 0) {
    ex.report_page(FindingKind::refcount_underflow, page.pfn, page.shadow.alloc_id,
              fmt::format("put_page ({}) on pfn {:#x} with refcount {}", why, page.pfn,
                          page.refcount));
    return;
  }
  if (--page.refcount == 0) {
    if (zone_device)
      free_zone_device_page(ex, k, page);
    else {
      k.oracle.on_pool_free(ex, k, page, why);  // __folio_put() -> free_unref_page(): its last user
      k.ram.free(page);
    }
  }
}

void put_page_refs(Exec& ex, Kernel& k, Page& page, int refs, const char* why) {
  if (page.refcount < refs)
    ex.report_page(FindingKind::refcount_underflow, page.pfn, page.shadow.alloc_id,
              fmt::format("put_page_refs({}) ({}) on pfn {:#x} with refcount {}", refs, why,
                          page.pfn, page.refcount));
  if (refs > 1) page.refcount -= refs - 1;
  put_page(ex, k, page, why);
}

// models mm/memremap.c:get_dev_pagemap() as of v6.2: reuse the cached pgmap
// if it covers @pfn, else look it up under RCU and tryget_live its ref.
DevPagemap* get_dev_pagemap(Exec& ex, Kernel& k, uint64_t pfn, DevPagemap* cached) {
  if (cached && cached->contains(pfn)) return cached;
  if (cached) put_dev_pagemap(ex, k, cached);
  ex.rcu_read_lock();
  DevPagemap* found = nullptr;
  for (auto& pg : k.pgmaps)
    if (pg->contains(pfn) && !pg->removed) found = pg.get();
  ex.cost(k.costs.percpu_ref_op);
  if (found && !found->ref.tryget_live()) found = nullptr;
  ex.rcu_read_unlock();
  return found;
}

void put_dev_pagemap(Exec& ex, Kernel& k, DevPagemap* pgmap) {
  if (pgmap) pgmap_ref_put(ex, *pgmap, 1, "put_dev_pagemap");
}

// models lib/percpu-refcount.c:percpu_ref_kill_and_confirm() ->
// __percpu_ref_switch_mode() -> __percpu_ref_switch_to_atomic() and the
// callback percpu_ref_switch_to_atomic_rcu() -> percpu_ref_call_confirm_rcu()
// as of v6.2: set DEAD; if the ref is in percpu mode, set ATOMIC, take an
// extra ref ("put after confirmation") and queue the RCU callback; then drop
// the initial ref. The callback folds the per-CPU counts in and puts the
// extra ref, so release runs at the earliest at the end of the grace period.
// An already-atomic ref switches at once: the initial put may release.
void percpu_ref_kill(Exec& ex, Kernel& k, PercpuRef& ref) {
  KFUNC(ex, "percpu_ref_kill");
  ex.cost(k.costs.percpu_ref_op);
  if (ref.dead)
    ex.report(FindingKind::kernel_bug, "WARN_ONCE(percpu_ref_is_dying(ref)): percpu_ref_kill called more than once");
  ref.dead = true;
  if (ref.percpu) {
    ref.percpu = false;
    ref.get();
    PercpuRef* r = &ref;
    ex.call_rcu(
        [r](Exec& cb) {
          if (!r->put(1))
            cb.report(FindingKind::refcount_underflow, "WARN: percpu ref <= 0 after switching to atomic (percpu_ref_switch_to_atomic_rcu)");
        },
        "percpu_ref_switch_to_atomic_rcu");
  }
  if (!ref.put(1)) ex.report(FindingKind::refcount_underflow, "percpu_ref_kill on an already-zero ref");
}

// models mm/memremap.c:memremap_pages() as of v6.2 (pagemap_range +
// memmap_init_zone_device): pages start at the era's idle count, and the
// pgmap ref gets one base ref per page on top of its initial ref (none
// under DAX-gup v3 24/25).
void memremap_pages(Exec& ex, Kernel& k, DevPagemap& pgmap) {
  KFUNC(ex, "memremap_pages");
  pgmap.pages.resize(pgmap.nr_pages);
  for (uint64_t i = 0; i < pgmap.nr_pages; ++i) {
    pgmap.pages[i].pfn = pgmap.base_pfn + i;
    pgmap.pages[i].refcount = idle_refcount(k);
    pgmap.pages[i].pgmap = &pgmap;
  }
  DevPagemap* pg = &pgmap;
  pgmap.ref.init(1, [pg] { pg->done = true; });  // flags 0: percpu mode; dev_pagemap_percpu_release
  // DAX-gup v3 24/25 deleted the bulk get: refs come from requests.
  if (k.knobs.refcount_era != RefcountEra::per_folio_pgmap_ref)
    pgmap.ref.get(static_cast<long>(pgmap.nr_pages));
}

// models mm/memremap.c:memunmap_pages() as of v6.2 (DAX-gup v3 24/25: no
// base refs to drop); in the one_based era
// (v5.15) the base refs are dropped by a put_page() of every page instead,
// which for a devmap-managed page still in use runs page_free on 2 -> 1.
void memunmap_pages(Exec& ex, Kernel& k, DevPagemap& pgmap) {
  KFUNC(ex, "memunmap_pages");
  percpu_ref_kill(ex, k, pgmap.ref);
  ex.pp("memunmap_pages:after_kill");
  if (k.knobs.refcount_era == RefcountEra::one_based) {
    for (auto& page : pgmap.pages) put_page(ex, k, page, "memunmap_pages");
  } else if (k.knobs.refcount_era != RefcountEra::per_folio_pgmap_ref) {
    pgmap_ref_put(ex, pgmap, static_cast<long>(pgmap.nr_pages), "memunmap_pages base refs");
  }
  ex.pp("memunmap_pages:before_wait");
  ex.might_sleep("memunmap_pages");
  DevPagemap* pg = &pgmap;
  ex.wait_event([pg] { return pg->done; }, "memunmap_pages: wait_for_completion(&pgmap->done)");
  pgmap.removed = true;  // pageunmap_range(): the struct pages are freed
  ex.pp("memunmap_pages:after_remove");
}

// models pgmap_request_folio() of Dan Williams' "mm/memremap: Introduce
// pgmap_request_folio() using pgmap offsets" (20 Oct 2022, on DAX-gup v3 in
// mm-unstable). The model's pgmaps have one range and order-0 folios, so
// pgmap_offset_to_pfn() is an index, the page->pgmap != pgmap WARN cannot
// fire (the page is taken from @pgmap itself) and the order WARN passes.
Page* pgmap_request_folio(Exec& ex, Kernel& k, DevPagemap& pgmap, uint64_t pgmap_offset) {
  KFUNC(ex, "pgmap_request_folio");
  if (pgmap_offset >= pgmap.nr_pages) {
    // pgmap_offset_to_pfn() returns -1 and nothing checks it before
    // pfn_to_page(); the kernel goes on with a wild page, the model stops.
    ex.report(FindingKind::kernel_bug,
              fmt::format("pgmap_request_folio: offset {} is outside the pgmap of pfn {:#x} ({} pages): "
                          "pfn_to_page(-1)", pgmap_offset, pgmap.base_pfn, pgmap.nr_pages));
    return nullptr;
  }
  Page& page = pgmap.pages[pgmap_offset];
  ex.cost(k.costs.percpu_ref_op);
  if (pgmap.ref.dead) {
    ex.report(FindingKind::kernel_bug,
              fmt::format("WARN_ON_ONCE(percpu_ref_is_dying(&pgmap->ref)) in pgmap_request_folio, pfn {:#x}",
                          page.pfn));
    return nullptr;
  }
  ex.pp("pgmap_request_folio:after_dying_check");
  ex.cost(k.costs.page_ref_atomic);
  const int v = ++page.refcount;  // folio_ref_inc_return()
  ex.pp("pgmap_request_folio:after_ref_inc");
  if (v > 1) return &page;  // only the 0 -> 1 request takes a pgmap ref
  ex.cost(k.costs.percpu_ref_op);
  if (!pgmap.ref.tryget()) {
    ex.report(FindingKind::kernel_bug,
              fmt::format("WARN_ON_ONCE(!percpu_ref_tryget(&pgmap->ref)) in pgmap_request_folio, pfn {:#x}",
                          page.pfn));
    put_page(ex, k, page, "pgmap_request_folio tryget failed");
    return nullptr;
  }
  return &page;
}

}  // namespace p2psim::kern
