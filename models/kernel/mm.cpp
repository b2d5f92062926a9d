// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/mm.h"

namespace p2psim::kern {

void spin_lock(Exec& ex, SpinLock& l, const char* what) {
  ex.preempt_disable();
  ex.spin_until([&l] { return l.owner_cpu < 0; }, what);
  l.owner_cpu = ex.cpu();
}

void spin_unlock(Exec& ex, SpinLock& l) {
  l.owner_cpu = -1;
  ex.preempt_enable();
}

void down_read(Exec& ex, RwSem& s, const char* what) {
  ex.might_sleep(what);
  ex.wait_event([&s] { return !s.writer; }, what);
  ++s.readers;
}
void up_read(Exec&, RwSem& s) { --s.readers; }
void down_write(Exec& ex, RwSem& s, const char* what) {
  ex.might_sleep(what);
  ex.wait_event([&s] { return !s.writer && s.readers == 0; }, what);
  s.writer = true;
}
void up_write(Exec&, RwSem& s) { s.writer = false; }
void downgrade_write(Exec&, RwSem& s) {
  s.writer = false;
  ++s.readers;
}

void Tlb::flush_range(uint64_t mm_id, uint64_t start, uint64_t end) {
  auto it = entries.lower_bound({mm_id, start >> PAGE_SHIFT});
  while (it != entries.end() && it->first.first == mm_id && it->first.second < (end >> PAGE_SHIFT))
    it = entries.erase(it);
}

void Tlb::flush_mm(uint64_t mm_id) {
  auto it = entries.lower_bound({mm_id, 0});
  while (it != entries.end() && it->first.first == mm_id) it = entries.erase(it);
}

bool Tlb::maps_pfn(uint64_t pfn) const {
  for (const auto& [key, e] : entries)
    if (e.pte.present() && e.pte.pfn() == pfn) return true;
  return false;
}

VmAreaStruct* MmStruct::find_vma(uint64_t addr) {
  auto it = vmas.upper_bound(addr);
  if (it == vmas.begin()) return nullptr;
  --it;
  return addr < it->second->vm_end ? it->second.get() : nullptr;
}

}  // namespace p2psim::kern
