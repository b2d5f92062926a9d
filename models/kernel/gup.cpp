// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/gup.h"

#include <fmt/format.h>

#include "kernel/memory.h"
#include "kernel/memremap.h"
#include "common/kernel_bug.h"

namespace p2psim::kern {

namespace {

bool is_pci_p2pdma_page(const Page& p) {
  return p.pgmap && p.pgmap->type == PgmapType::pci_p2pdma;
}

// models mm/gup.c:try_grab_folio() as of v6.2 (try_grab_compound_head() in
// v5.15): refuse P2PDMA pages without FOLL_PCI_P2PDMA, add-unless-zero, and
// for FOLL_PIN on a small folio add the pin bias on top. The FOLL_LONGTERM
// test (folio_is_longterm_pinnable) lets P2PDMA pages through: they are
// neither CMA nor ZONE_MOVABLE.
bool try_grab_folio(Exec& ex, Kernel& k, Page& page, int refs, unsigned flags) {
  if (!(flags & FOLL_PCI_P2PDMA) && is_pci_p2pdma_page(page)) return false;
  if (!page_ref_add_unless_zero(ex, k, page, refs)) return false;
  if (flags & FOLL_PIN) page.refcount += refs * (GUP_PIN_COUNTING_BIAS - 1);
  return true;
}

// models mm/gup.c:gup_put_folio() as of v6.2 / put_compound_head() v5.15.
void gup_put_folio(Exec& ex, Kernel& k, Page& page, int refs, unsigned flags, const char* why) {
  if (flags & FOLL_PIN) refs *= GUP_PIN_COUNTING_BIAS;
  put_page_refs(ex, k, page, refs, why);
}

// models mm/gup.c:gup_pte_range() as of v6.2 (gup_fast_pte_range() since
// v6.10): per PTE, lockless read, checks, grab, then re-read PMD and PTE
// and undo on any change.
bool gup_fast_pte_range(Exec& ex, Kernel& k, MmStruct& mm, Pmd pmd, uint64_t addr, uint64_t end,
                        unsigned flags, std::vector<GupPage>& pages) {
  KFUNC(ex, "gup_fast_pte_range");
  PteTable* table = mm.pgtables.table(pmd);
  DevPagemap* pgmap = nullptr;
  const size_t nr_start = pages.size();
  bool ok = false;
  for (; addr < end; addr += PAGE_SIZE) {
    const int idx = PageTables::pte_index(addr);
    ex.cost(k.costs.pte_access);
    if (table->freed)
      ex.report(FindingKind::use_after_free,
                fmt::format("GUP-fast read the PTE for {:#x} from a freed page table", addr));
    const Pte pte = table->ptes[idx];  // ptep_get_lockless()
    const uint64_t shadow = table->shadow_alloc[idx];
    ex.pp("gup_fast_pte_range:after_ptep_get");
    if (!pte.present() || ((flags & FOLL_WRITE) && !pte.write())) goto out;
    if (pte.devmap()) {
      if (flags & FOLL_LONGTERM) goto out;
      pgmap = get_dev_pagemap(ex, k, pte.pfn(), pgmap);
      if (!pgmap) {
        // undo_dev_pagemap(): give back what this walk collected so far.
        while (pages.size() > nr_start) {
          gup_put_folio(ex, k, *pages.back().page, 1, flags, "undo_dev_pagemap");
          pages.pop_back();
        }
        goto out;
      }
    } else if (pte.special()) {
      goto out;
    }
    {
      Page* page = k.pfn_to_page(pte.pfn());
      if (!page) throw KernelBug(fmt::format("VM_BUG_ON(!pfn_valid({:#x})) in GUP-fast", pte.pfn()));
      if (!try_grab_folio(ex, k, *page, 1, flags)) goto out;
      ex.pp("gup_fast_pte_range:after_grab");
      ex.cost(k.costs.pte_access * 2);
      if (mm.pgtables.pmd(addr) != pmd || table->ptes[idx] != pte) {
        gup_put_folio(ex, k, *page, 1, flags, "gup_fast_pte_range undo");
        ex.pp("gup_fast_pte_range:after_undo");
        goto out;
      }
      if (flags & FOLL_PIN) ex.cost(k.costs.pin_page);
      pages.push_back({page, shadow});
    }
  }
  ok = true;
out:
  if (pgmap) put_dev_pagemap(ex, k, pgmap);
  return ok;
}

// models mm/gup.c:lockless_pages_from_mm() as of v6.2.
long lockless_pages_from_mm(Exec& ex, Kernel& k, MmStruct& mm, uint64_t start, uint64_t end,
                            unsigned flags, std::vector<GupPage>& pages) {
  KFUNC(ex, "lockless_pages_from_mm");
  const size_t before = pages.size();
  ex.local_irq_disable();  // local_irq_save(): blocks shootdown IPIs, is an RCU reader
  ex.pp("gup_fast:irqs_off");
  for (uint64_t addr = start; addr < end;) {
    const uint64_t next = std::min(end, ((addr >> PMD_SHIFT) + 1) << PMD_SHIFT);
    ex.cost(k.costs.pte_access * 3);
    const Pmd pmd = mm.pgtables.pmd(addr);  // pmdp_get_lockless()
    if (!pmd.present()) break;
    if (!gup_fast_pte_range(ex, k, mm, pmd, addr, next, flags, pages)) break;
    addr = next;
  }
  ex.local_irq_enable();
  ex.pp("gup_fast:irqs_on");
  return static_cast<long>(pages.size() - before);
}

// models mm/gup.c:follow_page_pte() + __get_user_pages() as of v6.2 for one
// page, under mmap_lock held for read by the caller.
int gup_slow_one(Exec& ex, Kernel& k, Process& proc, uint64_t addr, unsigned flags,
                 std::vector<GupPage>& pages) {
  KFUNC(ex, "__get_user_pages");
  MmStruct& mm = *proc.mm;
  for (int tries = 0; tries < 3; ++tries) {
    VmAreaStruct* vma = mm.find_vma(addr);
    if (!vma) return -14;                                    // -EFAULT
    if (vma->vm_flags & (VM_IO | VM_PFNMAP)) return -14;     // check_vma_flags
    if (k.knobs.gup_longterm_p2pdma == GupLongtermP2pdma::slow_path && (flags & FOLL_LONGTERM) &&
        (flags & FOLL_PCI_P2PDMA))
      return -95;  // check_vma_flags: -EOPNOTSUPP
    if ((flags & FOLL_WRITE) && !(vma->vm_flags & VM_WRITE)) return -14;
    PteTable* t = mm.pgtables.table(mm.pgtables.pmd(addr));
    spin_lock(ex, mm.page_table_lock, "pte_offset_map_lock");
    const int idx = PageTables::pte_index(addr);
    ex.cost(k.costs.pte_access);
    const Pte pte = t ? t->ptes[idx] : Pte{};
    const uint64_t shadow = t ? t->shadow_alloc[idx] : 0;
    if (!pte.present()) {
      spin_unlock(ex, mm.page_table_lock);
      // faultin_page() -> handle_mm_fault(); mmap_lock is already held.
      ex.cost(k.costs.page_fault_entry);
      int f = handle_pte_none_fault(ex, k, *vma, addr);
      if (f & VM_FAULT_OOM) return -12;  // vm_fault_to_errno(): -ENOMEM
      if (f & ~VM_FAULT_NOPAGE) return -14;
      continue;
    }
    Page* page = vm_normal_page(k, *vma, addr, pte);
    DevPagemap* pgmap = nullptr;
    if (!page && pte.devmap() && (flags & (FOLL_GET | FOLL_PIN))) {
      pgmap = get_dev_pagemap(ex, k, pte.pfn(), nullptr);
      if (pgmap) page = k.pfn_to_page(pte.pfn());
    }
    int ret = 0;
    if (!page) {
      ret = -14;
    } else if (!(flags & FOLL_PCI_P2PDMA) && is_pci_p2pdma_page(*page)) {
      ret = -121;  // -EREMOTEIO
    } else if (page->refcount <= 0) {
      ex.report(FindingKind::kernel_bug,
                fmt::format("WARN_ON_ONCE(folio_ref_count <= 0) in try_grab_page, pfn {:#x}", page->pfn));
      ret = -12;
    } else {
      page->refcount += (flags & FOLL_PIN) ? GUP_PIN_COUNTING_BIAS : 1;  // try_grab_page
      if (flags & FOLL_PIN) ex.cost(k.costs.pin_page);
      pages.push_back({page, shadow});
    }
    spin_unlock(ex, mm.page_table_lock);
    if (pgmap) put_dev_pagemap(ex, k, pgmap);
    return ret;
  }
  return -14;
}

}  // namespace

// models mm/gup.c:internal_get_user_pages_fast() as of v6.2.
long get_user_pages_fast(Exec& ex, Kernel& k, Process& proc, uint64_t start, int nr_pages,
                         unsigned gup_flags, std::vector<GupPage>& pages) {
  KFUNC(ex, "internal_get_user_pages_fast");
  if (k.knobs.gup_longterm_p2pdma == GupLongtermP2pdma::up_front && (gup_flags & FOLL_LONGTERM) &&
      (gup_flags & FOLL_PCI_P2PDMA))
    return -22;  // is_valid_gup_args(): -EINVAL
  const uint64_t end = start + static_cast<uint64_t>(nr_pages) * PAGE_SIZE;
  const size_t before = pages.size();
  long nr = lockless_pages_from_mm(ex, k, *proc.mm, start, end, gup_flags, pages);
  for (const GupPage& gp : std::vector<GupPage>(pages.begin() + before, pages.end())) {
    ++gp.page->shadow.pins;
    k.oracle.check_use(ex, k, *gp.page, gp.shadow_alloc, proc.pid, "GUP-fast result");
  }
  if (nr == nr_pages || (gup_flags & FOLL_FAST_ONLY)) return nr;
  ex.pp("gup:slow_path");
  MmStruct& mm = *proc.mm;
  down_read(ex, mm.mmap_lock, "mmap_read_lock");
  int err = 0;
  for (uint64_t addr = start + static_cast<uint64_t>(nr) * PAGE_SIZE; addr < end; addr += PAGE_SIZE) {
    const size_t n = pages.size();
    err = gup_slow_one(ex, k, proc, addr, gup_flags, pages);
    if (err) break;
    ++pages[n].page->shadow.pins;
    k.oracle.check_use(ex, k, *pages[n].page, pages[n].shadow_alloc, proc.pid, "GUP result");
    ++nr;
  }
  up_read(ex, mm.mmap_lock);
  return nr > 0 ? nr : err;
}

void gup_release_page(Exec& ex, Kernel& k, const GupPage& gp, unsigned gup_flags) {
  KFUNC(ex, (gup_flags & FOLL_PIN) ? "unpin_user_page" : "put_page");
  --gp.page->shadow.pins;
  if (gup_flags & FOLL_PIN) ex.cost(k.costs.unpin_page);
  gup_put_folio(ex, k, *gp.page, 1, gup_flags, "unpin_user_page");
}

}  // namespace p2psim::kern
