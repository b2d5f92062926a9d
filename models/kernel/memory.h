// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <optional>

#include "kernel/exec.h"
#include "kernel/kernel.h"
#include "kernel/mmu_gather.h"

namespace p2psim::kern {

constexpr int VM_FAULT_SIGBUS = 0x0002;
constexpr int VM_FAULT_SIGSEGV = 0x0040;
constexpr int VM_FAULT_NOPAGE = 0x0100;
constexpr int VM_FAULT_OOM = 0x0001;

/// vm_normal_page(): the page a PTE refcounts, or null (special, devmap).
Page* vm_normal_page(Kernel& k, VmAreaStruct& vma, uint64_t addr, Pte pte);
/// zap the PTEs of [start, end) in @vma into @tlb (unmap_single_vma).
void unmap_single_vma(Exec& ex, Kernel& k, MmuGather& tlb, VmAreaStruct& vma, uint64_t start,
                      uint64_t end);
void zap_page_range_single(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t start, uint64_t size);
/// unmap_mapping_range(mapping, 0, 0, 1) and ranges: zap every VMA of the file.
void unmap_mapping_range(Exec& ex, Kernel& k, AddressSpace& mapping, uint64_t start,
                         uint64_t len);
/// vm_insert_page(): refcounted, non-special PTE. 0 or -errno.
/// @shadow_alloc: the allocation the caller maps (oracle only).
int vm_insert_page(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr, Page& page,
                   uint64_t shadow_alloc);
/// vmf_insert_mixed() with a PFN_DEV|PFN_MAP pfn: devmap (+special) PTE, no page ref.
int vmf_insert_mixed(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr, uint64_t pfn,
                     uint64_t shadow_alloc);

/// vmf_insert_pfn(): a special PTE for a VM_PFNMAP VMA (no struct page).
int vmf_insert_pfn(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr, uint64_t pfn);

/// Result of a user load/store from a simulated task.
struct UserAccess {
  int error = 0;  ///< 0, or SIGSEGV/SIGBUS (as negative numbers: -11, -7)
  uint64_t value = 0;
};
/**
 * user_access() - one 8-byte user load or store through this CPU's TLB:
 * TLB hit, else a hardware walk, else a page fault (do_user_addr_fault ->
 * handle_mm_fault -> vm_ops->fault). The oracle checks the page against the
 * allocation the mapping was made for.
 */
/// The fault of a PTE that is none: do_anonymous_page() or the VMA's ->fault.
int handle_pte_none_fault(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr);
UserAccess user_access(Exec& ex, Kernel& k, Process& proc, uint64_t addr, bool write,
                       uint64_t value);

}  // namespace p2psim::kern
