// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <boost/intrusive/slist.hpp>
#include <memory>
#include <vector>

#include "kernel/exec.h"
#include "kernel/kernel.h"

namespace p2psim::kern {

/// struct mmu_gather_batch: a bundle of pages whose refs the gather holds.
struct MmuGatherBatch : boost::intrusive::slist_base_hook<> {
  explicit MmuGatherBatch(size_t max) : max(max) {}
  size_t max;
  std::vector<Page*> pages;
};

/**
 * struct MmuGather - struct mmu_gather (mm/mmu_gather.c as of v6.2).
 * The local bundle holds MMU_GATHER_BUNDLE (8) pages; further batches hold
 * a page's worth (510 on x86-64), up to MAX_GATHER_BATCH_COUNT.
 */
struct MmuGather {
  MmuGather() = default;
  MmuGather(const MmuGather&) = delete;
  MmuGather& operator=(const MmuGather&) = delete;
  /// A gather can die mid-flush (its task unwound at the end of an
  /// execution): unlink the batches before @storage frees them.
  ~MmuGather() { batches.clear(); }

  MmStruct* mm = nullptr;
  bool fullmm = false;
  bool freed_tables = false;
  bool cleared_ptes = false, cleared_pmds = false;
  size_t batch_count = 0;  ///< batches allocated beyond the local bundle
  uint64_t start = ~0ULL, end = 0;
  boost::intrusive::slist<MmuGatherBatch, boost::intrusive::cache_last<true>> batches;
  std::vector<std::unique_ptr<MmuGatherBatch>> storage;
  MmuGatherBatch* active = nullptr;
  std::vector<PteTable*> tables;  // struct mmu_table_batch
};

void tlb_gather_mmu(Exec& ex, Kernel& k, MmuGather& tlb, MmStruct& mm);
/// __tlb_remove_page(): queue @page; true when the batch is full (flush now).
bool tlb_remove_page(Exec& ex, Kernel& k, MmuGather& tlb, Page& page);
/// pte_free_tlb(): queue the PTE table that mapped @addr for freeing.
void pte_free_tlb(Exec& ex, Kernel& k, MmuGather& tlb, PteTable* table, uint64_t addr);
void tlb_flush_mmu_tlbonly(Exec& ex, Kernel& k, MmuGather& tlb);
/// tlb_remove_tlb_entry()/tlb_flush_pte_range(): widen the range by @addr's page.
void tlb_flush_pte_range(MmuGather& tlb, uint64_t addr);
/// tlb_end_vma(): flush at the VMA's end unless the platform merges VMAs
/// (x86), where only v5.19-v6.15 flush a VM_PFNMAP/VM_MIXEDMAP VMA here.
void tlb_end_vma(Exec& ex, Kernel& k, MmuGather& tlb, const VmAreaStruct& vma);
/// tlb_free_vmas(): from v6.16, free_pgtables() flushes a PFNMAP/MIXEDMAP
/// VMA before unlinking it from the rmap.
void tlb_free_vmas(Exec& ex, Kernel& k, MmuGather& tlb, const VmAreaStruct& vma);
void tlb_flush_mmu(Exec& ex, Kernel& k, MmuGather& tlb);
void tlb_finish_mmu(Exec& ex, Kernel& k, MmuGather& tlb);

}  // namespace p2psim::kern
