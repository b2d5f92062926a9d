// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/mmap.h"

#include "kernel/memory.h"
#include "kernel/mmu_gather.h"

namespace p2psim::kern {

// models mm/memory.c:free_pgtables() (v5.15, v6.2, 7.0-rc6) for one VMA:
// from v6.16 tlb_free_vmas() first; then the VMA leaves the rmap
// (unlink_file_vma() under i_mmap_rwsem for write), and only then are the
// page tables freed (free_pgd_range(), at the PTE-table level here: a table
// no other VMA of the mm uses goes to the gather). Once unlinked, no
// unmap_mapping_range() visits this VMA, so it cannot flush what is still
// cached: on x86 before v5.19 the flush waits for tlb_finish_mmu().
static void free_pgtables(Exec& ex, Kernel& k, MmuGather& tlb, VmAreaStruct& vma) {
  KFUNC(ex, "free_pgtables");
  MmStruct& mm = *vma.vm_mm;
  tlb_free_vmas(ex, k, tlb, vma);
  if (vma.i_mmap_hook.is_linked()) {  // unlink_file_vma
    RwSem& sem = vma.vm_file->f_mapping->i_mmap_rwsem;
    down_write(ex, sem, "i_mmap_lock_write");
    vma.i_mmap_hook.unlink();
    up_write(ex, sem);
    ex.pp("free_pgtables:after_unlink_file_vma");
  }
  for (uint64_t a = vma.vm_start & ~((1ULL << PMD_SHIFT) - 1); a < vma.vm_end;
       a += 1ULL << PMD_SHIFT) {
    bool shared = false;
    for (auto& [start, other] : mm.vmas)
      if (other.get() != &vma && (other->vm_start >> PMD_SHIFT) <= (a >> PMD_SHIFT) &&
          ((other->vm_end - 1) >> PMD_SHIFT) >= (a >> PMD_SHIFT))
        shared = true;
    if (shared) continue;
    if (PteTable* t = mm.pgtables.clear_pmd(a)) pte_free_tlb(ex, k, tlb, t, a);
  }
}

// get_unmapped_area() + vm_area_alloc() for @len (page-aligned) bytes: the
// next free range of @mm, with a 2 MiB gap so every mapping has PTE tables
// of its own. mmap_lock is held for write.
static std::unique_ptr<VmAreaStruct> vma_alloc_unmapped(MmStruct& mm, uint64_t len, uint64_t flags) {
  auto vma = std::make_unique<VmAreaStruct>();
  vma->vm_start = mm.next_unmapped;
  vma->vm_end = vma->vm_start + len;
  mm.next_unmapped = ((vma->vm_end >> PMD_SHIFT) + 2) << PMD_SHIFT;
  vma->vm_flags = flags;
  vma->vm_mm = &mm;
  return vma;
}

// models mm/mmap.c:do_mmap() -> mmap_region() as of v6.2 for a shared file
// mapping: the VMA is set up, ->mmap runs, then it is linked into the mm
// and the file's i_mmap.
int64_t do_mmap(Exec& ex, Kernel& k, Process& proc, const std::shared_ptr<File>& file,
                uint64_t len, bool writable, bool shared, uint64_t pgoff) {
  KFUNC(ex, "do_mmap");
  ex.cost(k.costs.syscall_entry);
  if (len == 0) return -22;  // -EINVAL
  len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  MmStruct& mm = *proc.mm;
  down_write(ex, mm.mmap_lock, "mmap_write_lock");
  // vm_area_alloc() fails before anything is set up: mmap_region() only
  // undoes its accounting (5.15, 6.2: unacct_error; 7.0: the same label,
  // after the munmap of an overlapped range, which the model never has).
  if (k.should_fail("vm_area_alloc")) {
    up_write(ex, mm.mmap_lock);
    return -12;  // -ENOMEM
  }
  auto vma = vma_alloc_unmapped(mm, len, VM_READ | (writable ? VM_WRITE : 0) | (shared ? VM_SHARED | VM_MAYSHARE : 0));
  vma->vm_pgoff = pgoff;
  vma->vm_file = file;
  // 6.14/7.0 __mmap_new_vma(): vma_iter_prealloc() before ->mmap.
  if (k.knobs.mmap_prealloc == MmapPrealloc::before_mmap && k.should_fail("mmap_prealloc")) {
    up_write(ex, mm.mmap_lock);
    return -12;
  }
  int err = file->mmap ? file->mmap(ex, *file, *vma) : -19;  // -ENODEV
  // 6.2 mmap_region(): mas_preallocate() after ->mmap; its error path is
  // close_and_free_vma: ->close, then the unmap below.
  if (!err && k.knobs.mmap_prealloc == MmapPrealloc::after_mmap && k.should_fail("mmap_prealloc")) {
    if (vma->vm_ops && vma->vm_ops->close) vma->vm_ops->close(ex, k, *vma);
    err = -12;
  }
  if (err) {
    // mmap_region's unmap_and_free_vma: unmap_region() zaps whatever ->mmap
    // inserted and frees the page tables.
    MmuGather tlb;
    tlb_gather_mmu(ex, k, tlb, mm);
    unmap_single_vma(ex, k, tlb, *vma, vma->vm_start, vma->vm_end);
    free_pgtables(ex, k, tlb, *vma);
    tlb_finish_mmu(ex, k, tlb);
    up_write(ex, mm.mmap_lock);
    return err;
  }
  // ->mmap has returned (kernfs has dropped its active reference) and the
  // VMA is not in the file's i_mmap yet: an unmap_mapping_range() now
  // cannot see its PTEs.
  ex.pp("mmap_region:after_call_mmap");
  uint64_t addr = vma->vm_start;
  down_write(ex, file->f_mapping->i_mmap_rwsem, "i_mmap_lock_write");  // vma_link -> __vma_link_file
  file->f_mapping->i_mmap.push_back(*vma);
  up_write(ex, file->f_mapping->i_mmap_rwsem);
  mm.vmas.emplace(addr, std::move(vma));
  up_write(ex, mm.mmap_lock);
  return static_cast<int64_t>(addr);
}

// models mm/mmap.c:do_mmap() -> mmap_region() as of v6.2 for
// mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS): a VMA
// with no file and no vm_ops, whose pages come at the first touch
// (do_anonymous_page()). Nothing links it into an rmap the model walks.
int64_t do_mmap_anonymous(Exec& ex, Kernel& k, Process& proc, uint64_t len) {
  KFUNC(ex, "do_mmap");
  ex.cost(k.costs.syscall_entry);
  if (len == 0) return -22;  // -EINVAL
  len = (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  MmStruct& mm = *proc.mm;
  down_write(ex, mm.mmap_lock, "mmap_write_lock");
  if (k.should_fail("vm_area_alloc")) {  // as in do_mmap() above
    up_write(ex, mm.mmap_lock);
    return -12;
  }
  auto vma = vma_alloc_unmapped(mm, len, VM_READ | VM_WRITE);
  vma->vm_pgoff = vma->vm_start >> PAGE_SHIFT;  // an anonymous VMA's pgoff is its address
  const uint64_t addr = vma->vm_start;
  mm.vmas.emplace(addr, std::move(vma));
  up_write(ex, mm.mmap_lock);
  return static_cast<int64_t>(addr);
}

// models mm/mmap.c:__vm_munmap() -> do_mas_munmap() -> do_mas_align_munmap()
// -> unmap_region() -> remove_vma() as of v6.2 (the same order as v5.15's
// __do_munmap()): detach the VMA, and since the munmap syscall passes
// downgrade = true, drop mmap_lock to read; then zap, free page tables,
// flush, free pages; only then ->close.
int do_munmap(Exec& ex, Kernel& k, Process& proc, uint64_t addr, uint64_t len) {
  KFUNC(ex, "do_munmap");
  ex.cost(k.costs.syscall_entry);
  MmStruct& mm = *proc.mm;
  down_write(ex, mm.mmap_lock, "mmap_write_lock");
  VmAreaStruct* v = mm.find_vma(addr);
  if (!v || v->vm_start != addr) {
    up_write(ex, mm.mmap_lock);
    return -22;
  }
  auto node = mm.vmas.extract(v->vm_start);  // detach from the mm
  VmAreaStruct& vma = *node.mapped();
  downgrade_write(ex, mm.mmap_lock);  // mmap_write_downgrade()
  ex.pp("do_munmap:after_downgrade");
  {
    KFUNC(ex, "unmap_region");
    MmuGather tlb;
    tlb_gather_mmu(ex, k, tlb, mm);
    unmap_single_vma(ex, k, tlb, vma, vma.vm_start, vma.vm_end);
    ex.pp("unmap_region:after_unmap_vmas");
    free_pgtables(ex, k, tlb, vma);
    tlb_finish_mmu(ex, k, tlb);
  }
  ex.pp("do_munmap:before_remove_vma");
  {
    KFUNC(ex, "remove_vma");
    if (vma.vm_ops && vma.vm_ops->close) vma.vm_ops->close(ex, k, vma);
    if (vma.vm_file && vma.vm_file->vma_fput) vma.vm_file->vma_fput(ex);
  }
  up_read(ex, mm.mmap_lock);
  return 0;
}

}  // namespace p2psim::kern
