// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/mmu_gather.h"

#include "kernel/memremap.h"
#include "kernel/tlbflush.h"

namespace p2psim::kern {

namespace {
constexpr size_t MMU_GATHER_BUNDLE = 8;
constexpr size_t MAX_GATHER_BATCH = 510;  // (PAGE_SIZE - header) / sizeof(void*) on x86-64
constexpr size_t MAX_GATHER_BATCH_COUNT = 10000 / MAX_GATHER_BATCH;
}  // namespace

namespace {
// models include/asm-generic/tlb.h:__tlb_reset_range() as of v6.2.
void tlb_reset_range(MmuGather& tlb) {
  if (tlb.fullmm) {
    tlb.start = tlb.end = ~0ULL;
  } else {
    tlb.start = ~0ULL;
    tlb.end = 0;
  }
  tlb.freed_tables = false;
  tlb.cleared_ptes = tlb.cleared_pmds = false;
}
}  // namespace

// models mm/mmu_gather.c:__tlb_gather_mmu() as of v6.2: the gather starts
// empty and, last, inc_tlb_flush_pending() announces it on the mm.
void tlb_gather_mmu(Exec& ex, Kernel& k, MmuGather& tlb, MmStruct& mm) {
  tlb.mm = &mm;
  tlb.fullmm = false;
  tlb.batch_count = 0;
  tlb_reset_range(tlb);
  tlb.batches.clear();
  tlb.storage.clear();
  tlb.storage.push_back(std::make_unique<MmuGatherBatch>(MMU_GATHER_BUNDLE));
  tlb.active = tlb.storage.back().get();
  tlb.batches.push_back(*tlb.active);
  tlb.tables.clear();
  ++mm.tlb_flush_pending;  // inc_tlb_flush_pending()
}

// models mm/mmu_gather.c:__tlb_remove_page_size() + tlb_next_batch() as of
// v6.2: the PTE's page reference moves into the batch, unchanged.
bool tlb_remove_page(Exec& ex, Kernel& k, MmuGather& tlb, Page& page) {
  tlb.active->pages.push_back(&page);
  if (tlb.active->pages.size() < tlb.active->max) return false;
  if (tlb.batch_count == MAX_GATHER_BATCH_COUNT) return true;  // tlb_next_batch fails
  ++tlb.batch_count;
  tlb.storage.push_back(std::make_unique<MmuGatherBatch>(MAX_GATHER_BATCH));
  tlb.active = tlb.storage.back().get();
  tlb.batches.push_back(*tlb.active);
  return false;
}

void tlb_flush_pte_range(MmuGather& tlb, uint64_t addr) {
  tlb.start = std::min(tlb.start, addr);
  tlb.end = std::max(tlb.end, addr + PAGE_SIZE);
  tlb.cleared_ptes = true;
}

// models include/asm-generic/tlb.h:pte_free_tlb() as of v6.2: widen the
// range by one page at @addr (tlb_flush_pmd_range, cleared_pmds), set
// freed_tables, then hand the table to the gather (tlb_remove_table; the
// x86 native path queues it with the pages, which tlb_table_flush() covers).
void pte_free_tlb(Exec& ex, Kernel& k, MmuGather& tlb, PteTable* table, uint64_t addr) {
  tlb.start = std::min(tlb.start, addr);
  tlb.end = std::max(tlb.end, addr + PAGE_SIZE);
  tlb.cleared_pmds = true;
  tlb.freed_tables = true;
  tlb.tables.push_back(table);
}

// models include/asm-generic/tlb.h:tlb_flush_mmu_tlbonly() as of v6.2:
// nothing to do unless tables were freed or entries cleared; x86 tlb_flush()
// flushes the whole mm for fullmm, else the gathered range.
void tlb_flush_mmu_tlbonly(Exec& ex, Kernel& k, MmuGather& tlb) {
  if (!(tlb.freed_tables || tlb.cleared_ptes || tlb.cleared_pmds)) return;
  flush_tlb_mm_range(ex, k, *tlb.mm, tlb.fullmm ? 0 : tlb.start, tlb.fullmm ? ~0ULL : tlb.end,
                     tlb.freed_tables);
  tlb_reset_range(tlb);
}

// models tlb_end_vma() (include/asm-generic/tlb.h; arch/x86/include/asm/tlb.h
// before v5.19). An architecture that does not merge VMAs (arm64) flushes at
// every VMA end. x86 merges them: before b67fbebd4cf9 (v5.19) its
// tlb_end_vma() was empty; v5.19-v6.15 flush a PFNMAP/MIXEDMAP VMA here
// (vma_pfn); from v6.16 that flush moved to tlb_free_vmas().
void tlb_end_vma(Exec& ex, Kernel& k, MmuGather& tlb, const VmAreaStruct& vma) {
  if (tlb.fullmm) return;
  const bool vma_pfn = vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP);
  if (!k.knobs.mmu_gather_merge_vmas ||
      (vma_pfn && k.knobs.pfnmap_unlink_flush == PfnmapUnlinkFlush::tlb_end_vma))
    tlb_flush_mmu_tlbonly(ex, k, tlb);
}

// models include/asm-generic/tlb.h:tlb_free_vmas() (v6.16 on, 7.0-rc6), the
// first step of free_pgtables(): a gather that zapped a PFNMAP/MIXEDMAP VMA
// flushes before any VMA leaves the rmap.
void tlb_free_vmas(Exec& ex, Kernel& k, MmuGather& tlb, const VmAreaStruct& vma) {
  if (tlb.fullmm || k.knobs.pfnmap_unlink_flush != PfnmapUnlinkFlush::free_pgtables) return;
  if (vma.vm_flags & (VM_PFNMAP | VM_MIXEDMAP)) tlb_flush_mmu_tlbonly(ex, k, tlb);
}

// models mm/mmu_gather.c:tlb_table_flush(): with MMU_GATHER_RCU_TABLE_FREE
// tables are freed after a grace period (tlb_remove_table_rcu); x86 bare
// metal before v6.15 frees them with the pages (the native pv op is
// tlb_remove_page), after the IPI flush synchronised with every IRQ-off
// GUP-fast walker.
static void tlb_table_flush(Exec& ex, Kernel& k, MmuGather& tlb) {
  if (tlb.tables.empty()) return;
  std::vector<PteTable*> tables;
  tables.swap(tlb.tables);
  if (k.knobs.pgtable_free == PgtableFree::rcu) {
    ex.call_rcu(
        [tables](Exec&) {
          for (PteTable* t : tables) t->freed = true;
        },
        "tlb_remove_table_rcu");
  } else {
    for (PteTable* t : tables) t->freed = true;
  }
}

// models mm/mmu_gather.c:tlb_batch_pages_flush() as of v6.2: release_pages()
// per batch, cond_resched() between batches.
static void tlb_batch_pages_flush(Exec& ex, Kernel& k, MmuGather& tlb) {
  KFUNC(ex, "tlb_batch_pages_flush");
  for (auto& batch : tlb.batches) {
    for (Page* p : batch.pages) {
      ex.pp("tlb_batch_pages_flush:before_put");
      put_page(ex, k, *p, "tlb_batch_pages_flush");
    }
    batch.pages.clear();
    ex.pp("tlb_batch_pages_flush:cond_resched");
  }
  tlb.active = &tlb.batches.front();
}

// models mm/mmu_gather.c:tlb_flush_mmu() as of v6.2: invalidate TLBs first,
// then free page tables, then drop the queued page refs.
void tlb_flush_mmu(Exec& ex, Kernel& k, MmuGather& tlb) {
  KFUNC(ex, "tlb_flush_mmu");
  tlb_flush_mmu_tlbonly(ex, k, tlb);
  ex.pp("tlb_flush_mmu:after_tlb_flush");
  tlb_table_flush(ex, k, tlb);
  tlb_batch_pages_flush(ex, k, tlb);
}

// models mm/mmu_gather.c:tlb_finish_mmu() as of v6.2: when another gather
// on the mm is in flight (mm_tlb_flush_nested()), a PTE this one found
// already cleared may still sit in some TLB, so flush the whole mm whatever
// this gather saw; dec_tlb_flush_pending() comes last.
void tlb_finish_mmu(Exec& ex, Kernel& k, MmuGather& tlb) {
  KFUNC(ex, "tlb_finish_mmu");
  if (tlb.mm->tlb_flush_pending > 1) {  // mm_tlb_flush_nested()
    tlb.fullmm = true;
    tlb_reset_range(tlb);
    tlb.freed_tables = true;
  }
  tlb_flush_mmu(ex, k, tlb);
  tlb.batches.clear();
  tlb.storage.clear();
  tlb.active = nullptr;
  --tlb.mm->tlb_flush_pending;  // dec_tlb_flush_pending()
}

}  // namespace p2psim::kern
