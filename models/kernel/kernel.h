// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernel/costs.h"
#include "kernel/knobs.h"
#include "kernel/mm.h"
#include "kernel/oracle.h"
#include "kernel/page.h"
#include "kernel/page_alloc.h"

namespace p2psim::kern {

struct P2pdmaProvider;
struct DmaBuf;
struct DmaBufAttachment;
struct SgTable;
struct VfioPciCoreDevice;

/// Per-CPU kernel state the models own (IRQ/RCU state is the engine's).
struct CpuState {
  Tlb tlb;
  MmStruct* loaded_mm = nullptr;
  /// Lazy TLB: a kernel thread or idle runs on @loaded_mm (enter_lazy_tlb).
  bool lazy = false;
};

struct Process {
  int pid = 0;
  std::string name;
  std::unique_ptr<MmStruct> mm;
  std::map<int, std::shared_ptr<File>> fds;
  int next_fd = 3;
};

/**
 * class Kernel - all state of one simulated kernel instance, rebuilt for
 * every execution (so many executions can share one SystemC elaboration).
 */
class Kernel {
 public:
  Kernel(const Knobs& knobs, const Costs& costs, int nr_cpus);
  ~Kernel();

  Knobs knobs;
  Costs costs;
  Oracle oracle;
  std::vector<CpuState> cpus;
  std::vector<std::unique_ptr<PteTable>> pte_arena;
  std::map<int, Process> processes;  // by pid
  std::vector<std::unique_ptr<DevPagemap>> pgmaps;
  std::vector<std::unique_ptr<P2pdmaProvider>> providers;
  uint64_t next_mm_id = 1;
  uint64_t next_file_id = 1;

  Process& process(int pid, const std::string& name);
  /// Fault injection: make the @nth call (1-based) of @site fail.
  void inject_failure(const std::string& site, int nth);
  bool should_fail(std::string_view site);
  /// Does the scenario inject any failure? (Lets a hot path skip the work
  /// of deciding whether a call could fail.)
  bool injects_failures() const { return !fail_sites_.empty(); }
  /// pfn_to_page() for device pages and user RAM; null where no struct page exists.
  Page* pfn_to_page(uint64_t pfn);
  /// The DRAM anonymous user memory is allocated from.
  RamPages ram{kUserRamBasePfn, kUserRamPages};
  /// Bytes of physical memory (sparse; zero until written).
  void phys_write(uint64_t pfn, uint64_t offset, uint64_t value);
  uint64_t phys_read(uint64_t pfn, uint64_t offset) const;
  /// The 4 KiB of page @pfn, allocated (zeroed) on first use: what DMA moves.
  uint8_t* phys_page(uint64_t pfn);

  /// Memory a device owns (a CMB): returns its page for @pfn, or null.
  std::function<uint8_t*(uint64_t pfn)> device_memory;

  /// A function's link went down (surprise removal): its BAR at
  /// [@phys, @phys + @size) no longer answers. CPU loads there return all
  /// ones and stores are dropped, as an Unsupported Request does.
  void bar_gone(uint64_t phys, uint64_t size) { gone_bars_.emplace_back(phys, size); }
  bool bar_is_gone(uint64_t phys) const {
    for (const auto& [base, size] : gone_bars_)
      if (phys - base < size) return true;
    return false;
  }
  /// pci_lock_rescan_remove(): the PCI core's rescan/remove mutex.
  bool pci_rescan_remove_locked = false;

  /// Block devices by name (the hardware layer registers them).
  std::map<std::string, class BlockDevice*> block_devices;

  // dma-buf objects and vfio-pci functions: never freed during an
  // execution, so a use after the kernel would free them is seen.
  std::vector<std::unique_ptr<DmaBuf>> dmabufs;
  std::vector<std::unique_ptr<DmaBufAttachment>> dmabuf_attachments;
  std::vector<std::unique_ptr<SgTable>> sg_tables;
  std::vector<std::unique_ptr<VfioPciCoreDevice>> vfio_devices;
  uint64_t next_iova = 0x80000000ULL;  ///< dma_iova_try_alloc()'s next IOVA

  /// task_work_add(): @fn runs when the task @ex runs returns to user space
  /// (task_work_run() after its current op), as __fput() does.
  void add_task_work(Exec& ex, std::function<void(Exec&)> fn) { task_work_.emplace_back(ex.task_name(), std::move(fn)); }
  void task_work_run(Exec& ex);

 private:
  // Looked up by pfn only, never iterated: no ordering can leak into results.
  std::unordered_map<uint64_t, std::unique_ptr<std::array<uint8_t, 4096>>> phys_pages_;
  std::vector<std::pair<uint64_t, uint64_t>> gone_bars_;  ///< (phys, size)
  std::vector<std::pair<std::string, std::function<void(Exec&)>>> task_work_;
  std::map<std::string, std::pair<int, int>, std::less<>> fail_sites_;  // site -> (nth, calls so far)  // (pfn, offset/8) -> word
};

}  // namespace p2psim::kern
