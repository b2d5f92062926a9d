// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/tlbflush.h"

namespace p2psim::kern {

// models arch/x86/mm/tlb.c:flush_tlb_mm_range() and native_flush_tlb_multi()
// as of v6.2. A CPU in lazy-TLB mode (a kernel thread or idle on this mm) is
// skipped unless page tables are freed (tlb_is_not_lazy); its stale entries
// go when it next runs a task of the mm (the tlb_gen check in
// switch_mm_irqs_off), modelled by flushing them now.
void flush_tlb_mm_range(Exec& ex, Kernel& k, MmStruct& mm, uint64_t start, uint64_t end,
                        bool freed_tables) {
  KFUNC(ex, "flush_tlb_mm_range");
  ex.preempt_disable();  // get_cpu()
  const int self = ex.cpu();
  CpuMask targets;
  for (int c = 0; c < static_cast<int>(k.cpus.size()); ++c) {
    if (c == self || !mm.cpumask.test(c)) continue;
    const bool lazy = k.cpus[c].lazy;
    if (lazy && !freed_tables) {
      k.cpus[c].tlb.flush_range(mm.id, start, end);
      continue;
    }
    targets.set(c);
  }
  if (targets.any()) {
    if (k.knobs.tlb_flush == TlbFlush::ipi_wait) {
      const uint64_t id = mm.id;
      ex.smp_call_function_many(
          targets, [&k, id, start, end](int c) { k.cpus[c].tlb.flush_range(id, start, end); },
          /*wait=*/true, "flush_tlb_func");
    } else {
      // Broadcast invalidation: complete when the instruction retires.
      for (int c = 0; c < static_cast<int>(k.cpus.size()); ++c)
        if (targets.test(c)) k.cpus[c].tlb.flush_range(mm.id, start, end);
      ex.cost(k.costs.tlb_flush_local);
    }
  }
  if (k.cpus[self].loaded_mm == &mm) {
    ex.local_irq_disable();
    k.cpus[self].tlb.flush_range(mm.id, start, end);
    ex.cost(k.costs.tlb_flush_local);
    ex.local_irq_enable();
  }
  ex.preempt_enable();  // put_cpu()
}

// models arch/x86/mm/tlb.c:switch_mm_irqs_off() as of v6.2 for a switch
// between two user mms: the previous mm's bit in mm_cpumask is cleared, so
// its later flushes skip this CPU. Entries it left (kept under PCID) are
// flushed on the way back when its tlb_gen moved on; the model drops them
// now, which no access can tell apart. Kernel threads keep the mm (lazy).
void switch_mm(Kernel& k, int cpu, MmStruct* next) {
  CpuState& c = k.cpus[cpu];
  c.lazy = false;
  if (c.loaded_mm == next || !next) return;
  if (MmStruct* prev = c.loaded_mm) {
    prev->cpumask.reset(cpu);
    c.tlb.flush_mm(prev->id);
  }
  c.loaded_mm = next;
  next->cpumask.set(cpu);
}

void enter_lazy_tlb(Kernel& k, int cpu) { k.cpus[cpu].lazy = k.cpus[cpu].loaded_mm != nullptr; }

}  // namespace p2psim::kern
