// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/kernel.h"

#include <cstring>

#include "common/kernel_bug.h"
#include "kernel/dma_buf.h"
#include "kernel/fault_sites.h"
#include "kernel/p2pdma.h"
#include "kernel/vfio_pci.h"

namespace p2psim::kern {

Kernel::Kernel(const Knobs& kn, const Costs& co, int nr_cpus)
    : knobs(kn), costs(co), cpus(nr_cpus) {}
Kernel::~Kernel() {
  processes.clear();  // nothing points into the tables any more
  recycle_pte_tables(pte_arena);
}

Process& Kernel::process(int pid, const std::string& name) {
  auto it = processes.find(pid);
  if (it != processes.end()) return it->second;
  Process& p = processes[pid];
  p.pid = pid;
  p.name = name;
  p.mm = std::make_unique<MmStruct>(&pte_arena);
  p.mm->id = next_mm_id++;
  p.mm->pid = pid;
  return p;
}

void Kernel::task_work_run(Exec& ex) {
  // Work may queue more work (a release that drops the last reference of
  // something else): run until none of this task's is left.
  for (size_t i = 0; i < task_work_.size();) {
    if (task_work_[i].first != ex.task_name()) {
      ++i;
      continue;
    }
    auto fn = std::move(task_work_[i].second);
    task_work_.erase(task_work_.begin() + static_cast<long>(i));
    fn(ex);
    i = 0;
  }
}

void Kernel::inject_failure(const std::string& site, int nth) {
  if (!find_fault_site(site)) throw ModelBug("inject_failure(\"" + site + "\"): not in fault_sites()");
  fail_sites_[site] = {nth, 0};
}

bool Kernel::should_fail(std::string_view site) {
  if (!find_fault_site(site)) throw ModelBug("should_fail(\"" + std::string(site) + "\"): not in fault_sites()");
  if (fail_sites_.empty()) return false;  // the usual case: no `faults:` in the scenario
  auto it = fail_sites_.find(site);
  if (it == fail_sites_.end()) return false;
  return ++it->second.second == it->second.first;
}

Page* Kernel::pfn_to_page(uint64_t pfn) {
  for (auto& pg : pgmaps)
    if (pg->contains(pfn) && !pg->removed) return &pg->page(pfn);
  return ram.page(pfn);
}

uint8_t* Kernel::phys_page(uint64_t pfn) {
  if (device_memory)
    if (uint8_t* p = device_memory(pfn)) return p;
  auto& slot = phys_pages_[pfn];
  if (!slot) slot = std::make_unique<std::array<uint8_t, 4096>>();  // value-initialised: zeros
  return slot->data();
}

void Kernel::phys_write(uint64_t pfn, uint64_t offset, uint64_t value) {
  if (!gone_bars_.empty() && bar_is_gone(pfn << PAGE_SHIFT)) return;  // nobody takes it
  std::memcpy(phys_page(pfn) + (offset & ~7ULL) % 4096, &value, 8);
}

uint64_t Kernel::phys_read(uint64_t pfn, uint64_t offset) const {
  if (!gone_bars_.empty() && bar_is_gone(pfn << PAGE_SHIFT)) return ~0ULL;  // the root port's all-ones answer
  if (device_memory)
    if (uint8_t* p = device_memory(pfn)) {
      uint64_t v = 0;
      std::memcpy(&v, p + (offset & ~7ULL) % 4096, 8);
      return v;
    }
  auto it = phys_pages_.find(pfn);
  uint64_t v = 0;
  if (it != phys_pages_.end()) std::memcpy(&v, it->second->data() + (offset & ~7ULL) % 4096, 8);
  return v;
}

}  // namespace p2psim::kern
