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

// models mm/mmu_gather.c:tlb_gather_mmu() as of v6.2.
void tlb_gather_mmu(Exec& ex, Kernel& k, MmuGather& tlb, MmStruct& mm) {
  tlb.mm = &mm;
  tlb.fullmm = false;
  tlb.freed_tables = false;
  tlb.start = ~0ULL;
  tlb.end = 0;
  tlb.batches.clear();
  tlb.storage.clear();
  tlb.storage.push_back(std::make_unique<MmuGatherBatch>(MMU_GATHER_BUNDLE));
  tlb.active = tlb.storage.back().get();
  tlb.batches.push_back(*tlb.active);
  tlb.tables.clear();
}

// models mm/mmu_gather.c:__tlb_remove_page_size() + tlb_next_batch() as of
// v6.2: the PTE's page reference moves into the batch, unchanged.
bool tlb_remove_page(Exec& ex, Kernel& k, MmuGather& tlb, Page& page) {
  tlb.active->pages.push_back(&page);
  if (tlb.active->pages.size() < tlb.active->max) return false;
  if (tlb.storage.size() >= MAX_GATHER_BATCH_COUNT) return true;  // tlb_next_batch fails
  tlb.storage.push_back(std::make_unique<MmuGatherBatch>(MAX_GATHER_BATCH));
  tlb.active = tlb.storage.back().get();
  tlb.batches.push_back(*tlb.active);
  return false;
}

void tlb_remove_table(Exec& ex, Kernel& k, MmuGather& tlb, PteTable* table) {
  tlb.freed_tables = true;
  tlb.tables.push_back(table);
}

// models mm/mmu_gather.c:tlb_flush_mmu_tlbonly() as of v6.2.
void tlb_flush_mmu_tlbonly(Exec& ex, Kernel& k, MmuGather& tlb) {
  if (!tlb.end) return;
  flush_tlb_mm_range(ex, k, *tlb.mm, tlb.fullmm ? 0 : tlb.start, tlb.fullmm ? ~0ULL : tlb.end,
                     tlb.freed_tables);
  tlb.start = ~0ULL;
  tlb.end = 0;
}

// models mm/mmu_gather.c:tlb_table_flush(): with MMU_GATHER_RCU_TABLE_FREE
// tables are freed after a grace period (tlb_remove_table_rcu); without it
// they are freed with the pages, after the IPI flush already synchronised
// with every IRQ-off GUP-fast walker.
static void tlb_table_flush(Exec& ex, Kernel& k, MmuGather& tlb) {
  if (tlb.tables.empty()) return;
  std::vector<PteTable*> tables;
  tables.swap(tlb.tables);
  if (k.knobs.tlb_mode == TlbMode::rcu_table_free) {
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

// models mm/mmu_gather.c:tlb_finish_mmu() as of v6.2.
void tlb_finish_mmu(Exec& ex, Kernel& k, MmuGather& tlb) {
  KFUNC(ex, "tlb_finish_mmu");
  tlb_flush_mmu(ex, k, tlb);
  tlb.batches.clear();
  tlb.storage.clear();
  tlb.active = nullptr;
}

}  // namespace p2psim::kern
