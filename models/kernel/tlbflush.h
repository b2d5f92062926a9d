// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include "kernel/exec.h"
#include "kernel/kernel.h"

namespace p2psim::kern {

/**
 * flush_tlb_mm_range() - invalidate @mm's TLB entries in [start, end) on
 * every CPU that may hold them. How depends on knobs.tlb_flush (the
 * platform): a synchronous IPI that waits for every target (x86 bare
 * metal), or an invalidation that waits for nobody (arm64 TLBI, a guest's
 * paravirt flush, INVLPGB).
 */
void flush_tlb_mm_range(Exec& ex, Kernel& k, MmStruct& mm, uint64_t start, uint64_t end,
                        bool freed_tables);

/// A user task of @next takes @cpu (context switch): switch_mm_irqs_off().
void switch_mm(Kernel& k, int cpu, MmStruct* next);
/// A kernel thread or idle takes @cpu: enter_lazy_tlb(), the mm stays loaded.
void enter_lazy_tlb(Kernel& k, int cpu);

}  // namespace p2psim::kern
