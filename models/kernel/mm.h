// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "kernel/exec.h"
#include "kernel/page_table.h"

namespace p2psim::kern {

// include/linux/mm.h vm_flags values (v6.2).
constexpr uint64_t VM_READ = 0x00000001;
constexpr uint64_t VM_WRITE = 0x00000002;
constexpr uint64_t VM_SHARED = 0x00000008;
constexpr uint64_t VM_MAYSHARE = 0x00000080;
constexpr uint64_t VM_PFNMAP = 0x00000400;
constexpr uint64_t VM_IO = 0x00004000;
constexpr uint64_t VM_DONTEXPAND = 0x00040000;
constexpr uint64_t VM_MIXEDMAP = 0x10000000;

/// A spinlock: holding it disables preemption; others spin.
struct SpinLock {
  int owner_cpu = -1;
};
void spin_lock(Exec& ex, SpinLock& l, const char* what);
void spin_unlock(Exec& ex, SpinLock& l);

/// A reader-writer semaphore (mmap_lock); waiters sleep.
struct RwSem {
  int readers = 0;
  bool writer = false;
};
void down_read(Exec& ex, RwSem& s, const char* what);
void up_read(Exec& ex, RwSem& s);
void down_write(Exec& ex, RwSem& s, const char* what);
void up_write(Exec& ex, RwSem& s);
/// downgrade_write(): keep the semaphore, as a reader; waiting readers may enter.
void downgrade_write(Exec& ex, RwSem& s);

class Kernel;
struct MmStruct;
struct File;
struct VmAreaStruct;

/// vm_operations_struct: the hooks the p2pdma designs install.
struct VmOps {
  const char* name;
  /// ->fault: returns 0 or a VM_FAULT_* style error (nonzero).
  std::function<int(Exec&, Kernel&, VmAreaStruct&, uint64_t addr)> fault;
  std::function<void(Exec&, Kernel&, VmAreaStruct&)> open;
  std::function<void(Exec&, Kernel&, VmAreaStruct&)> close;
};

using IMmapHook = boost::intrusive::list_member_hook<
    boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

/// struct vm_area_struct, with its link on the file's i_mmap.
struct VmAreaStruct {
  uint64_t vm_start = 0, vm_end = 0;
  uint64_t vm_flags = 0;
  uint64_t vm_pgoff = 0;
  MmStruct* vm_mm = nullptr;
  std::shared_ptr<File> vm_file;  ///< the VMA holds a reference (get_file at mmap)
  const VmOps* vm_ops = nullptr;
  std::shared_ptr<void> vm_private_data;
  IMmapHook i_mmap_hook;
};

/// address_space.i_mmap: an interval tree in Linux; a list suffices here.
using IMmapList = boost::intrusive::list<
    VmAreaStruct,
    boost::intrusive::member_hook<VmAreaStruct, IMmapHook, &VmAreaStruct::i_mmap_hook>,
    boost::intrusive::constant_time_size<false>>;

struct AddressSpace {
  IMmapList i_mmap;
  RwSem i_mmap_rwsem;  // walkers read-lock it; linking and unlinking VMAs write-lock it
};

/// struct file: an open p2pmem file (RFC device node or sysfs `allocate`).
struct File {
  uint64_t id = 0;
  std::string path;
  AddressSpace own_mapping;
  AddressSpace* f_mapping = &own_mapping;  ///< may be an inode shared by all opens
  std::function<int(Exec&, File&, VmAreaStruct&)> mmap;  ///< f_op->mmap
  /// remove_vma()'s fput(vma->vm_file), for files whose last reference
  /// matters (vfio: the device closes only when its VMAs are gone).
  std::function<void(Exec&)> vma_fput;
};

/// One TLB entry, with the oracle's note of the allocation it was filled for.
struct TlbEntry {
  Pte pte;
  uint64_t shadow_alloc = 0;
};

/// A CPU's TLB: (mm id, virtual page) -> entry. Ordered for determinism.
struct Tlb {
  std::map<std::pair<uint64_t, uint64_t>, TlbEntry> entries;
  void flush_range(uint64_t mm_id, uint64_t start, uint64_t end);
  void flush_mm(uint64_t mm_id);
  bool maps_pfn(uint64_t pfn) const;
};

/// struct mm_struct.
struct MmStruct {
  uint64_t id = 0;
  int pid = 0;
  std::map<uint64_t, std::unique_ptr<VmAreaStruct>> vmas;  // by vm_start
  PageTables pgtables;
  SpinLock page_table_lock;  // split PTE locks in Linux; one lock per mm here
  RwSem mmap_lock;
  CpuMask cpumask;  // mm_cpumask(): CPUs that may hold TLB entries for it
  int tlb_flush_pending = 0;  // mm->tlb_flush_pending: gathers in flight on this mm
  uint64_t next_unmapped = 0x7f0000000000ULL;

  explicit MmStruct(std::vector<std::unique_ptr<PteTable>>* arena) : pgtables(arena) {}
  VmAreaStruct* find_vma(uint64_t addr);
};

}  // namespace p2psim::kern
