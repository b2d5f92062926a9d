// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/memory.h"

#include "kernel/vfio_pci.h"

#include <cstring>

#include <fmt/format.h>

#include "kernel/memremap.h"
#include "common/kernel_bug.h"

namespace p2psim::kern {

// models mm/memory.c:vm_normal_page() as of v6.2 (ARCH_HAS_PTE_SPECIAL):
// a special PTE in a VM_MIXEDMAP/VM_PFNMAP VMA or a devmap PTE has no page.
Page* vm_normal_page(Kernel& k, VmAreaStruct& vma, uint64_t addr, Pte pte) {
  if (pte.special()) return nullptr;
  return k.pfn_to_page(pte.pfn());
}

static void set_pte(Kernel& k, PteTable& t, int idx, Pte pte, uint64_t shadow) {
  t.ptes[idx] = pte;
  t.shadow_alloc[idx] = shadow;
  t.mark_installed(idx);
  if (Page* p = k.pfn_to_page(pte.pfn())) ++p->shadow.ptes;
}

static Pte ptep_get_and_clear(Kernel& k, PteTable& t, int idx) {
  Pte old = t.ptes[idx];
  t.ptes[idx] = Pte{};
  t.shadow_alloc[idx] = 0;
  if (old.present())
    if (Page* p = k.pfn_to_page(old.pfn())) --p->shadow.ptes;
  return old;
}

// pte_alloc_one() where the PMD of @addr is none (pte_alloc(), v6.2 and
// 7.0-rc6, allocates nothing otherwise): does it fail (fault site
// pte_alloc)? The upper levels are not modelled.
static bool pte_alloc_one_fails(Kernel& k, MmStruct& mm, uint64_t addr) {
  return !mm.pgtables.table(mm.pgtables.pmd(addr)) && k.should_fail("pte_alloc");
}

// models pte_alloc() -> __pte_alloc(): the table for @addr, nullptr when
// its allocation fails.
static PteTable* pte_alloc(Kernel& k, MmStruct& mm, uint64_t addr) {
  if (pte_alloc_one_fails(k, mm, addr)) return nullptr;
  return &mm.pgtables.alloc_table(addr);
}

// models mm/memory.c:zap_pte_range() as of v6.2: clear each PTE under the
// PTE lock and queue refcounted pages in the gather. A full batch, or a
// dirty PTE of a page that is not anonymous (every P2PDMA page: its rmap
// removal is delayed until after the flush, tlb_delay_rmap() on SMP),
// forces the TLB flush under the lock and the page frees after unlocking.
static uint64_t zap_pte_range(Exec& ex, Kernel& k, MmuGather& tlb, VmAreaStruct& vma,
                              uint64_t addr, uint64_t end) {
  KFUNC(ex, "zap_pte_range");
  MmStruct& mm = *vma.vm_mm;
  PteTable* table = mm.pgtables.table(mm.pgtables.pmd(addr));
  if (!table) return end;
  bool force_flush = false;
  std::vector<Page*> delayed_rmap;
  spin_lock(ex, mm.page_table_lock, "pte_offset_map_lock");
  for (; addr < end; addr += PAGE_SIZE) {
    int idx = PageTables::pte_index(addr);
    ex.cost(k.costs.pte_access);
    Pte pte = table->ptes[idx];
    if (!pte.present()) continue;
    Page* page = vm_normal_page(k, vma, addr, pte);
    ptep_get_and_clear(k, *table, idx);
    tlb_flush_pte_range(tlb, addr);  // tlb_remove_tlb_entry
    ex.pp("zap_pte_range:after_clear_pte");
    if (!page) continue;
    // !PageAnon(page): the model's RAM pages are all anonymous, its
    // ZONE_DEVICE pages never are.
    if (pte.dirty() && page->pgmap) {  // set_page_dirty(); tlb_delay_rmap()
      delayed_rmap.push_back(page);
      force_flush = true;
    } else {
      --page->mapcount;  // page_remove_rmap
    }
    if (tlb_remove_page(ex, k, tlb, *page)) {
      force_flush = true;
      addr += PAGE_SIZE;
      break;
    }
  }
  if (force_flush) {
    tlb_flush_mmu_tlbonly(ex, k, tlb);
    for (Page* p : delayed_rmap) --p->mapcount;  // tlb_flush_rmaps
  }
  spin_unlock(ex, mm.page_table_lock);
  if (force_flush) tlb_flush_mmu(ex, k, tlb);
  return addr;
}

void unmap_single_vma(Exec& ex, Kernel& k, MmuGather& tlb, VmAreaStruct& vma, uint64_t start,
                      uint64_t end) {
  start = std::max(start, vma.vm_start);
  end = std::min(end, vma.vm_end);
  if (start >= end) return;
  while (start < end) {
    uint64_t pmd_end = ((start >> PMD_SHIFT) + 1) << PMD_SHIFT;
    start = zap_pte_range(ex, k, tlb, vma, start, std::min(end, pmd_end));
    ex.pp("zap_pmd_range:cond_resched");  // PTE lock dropped, IRQs on, no flush yet
  }
  tlb_end_vma(ex, k, tlb, vma);
}

// models mm/memory.c:zap_page_range_single() as of v6.2.
void zap_page_range_single(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t start,
                           uint64_t size) {
  KFUNC(ex, "zap_page_range_single");
  MmuGather tlb;
  tlb_gather_mmu(ex, k, tlb, *vma.vm_mm);
  unmap_single_vma(ex, k, tlb, vma, start, start + size);
  tlb_finish_mmu(ex, k, tlb);
}

// models mm/memory.c:unmap_mapping_range() -> unmap_mapping_pages() ->
// unmap_mapping_range_tree() as of v6.2. Takes i_mmap_rwsem only: not the
// mmap_lock of any mm, so faults and GUP keep running.
void unmap_mapping_range(Exec& ex, Kernel& k, AddressSpace& mapping, uint64_t start,
                         uint64_t len) {
  KFUNC(ex, "unmap_mapping_range");
  down_read(ex, mapping.i_mmap_rwsem, "i_mmap_lock_read");
  const uint64_t last = len == 0 ? ~0ULL : start + len;
  for (VmAreaStruct& vma : mapping.i_mmap) {
    uint64_t vstart = vma.vm_pgoff << PAGE_SHIFT;
    uint64_t vend = vstart + (vma.vm_end - vma.vm_start);
    uint64_t s = std::max(start, vstart), e = std::min(last, vend);
    if (s >= e) continue;
    zap_page_range_single(ex, k, vma, vma.vm_start + (s - vstart), e - s);
  }
  up_read(ex, mapping.i_mmap_rwsem);
  ex.pp("unmap_mapping_range:done");
}

// models mm/memory.c:vm_insert_page() -> insert_page() ->
// insert_page_into_pte_locked() as of v6.2: -EFAULT outside the VMA, then
// -EINVAL for a page whose refcount is 0 (from v6.11 the same check opens
// validate_page_before_insert(), after VM_MIXEDMAP is set: nothing the
// model observes changes), then the PTE under its lock.
int vm_insert_page(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr, Page& page,
                   uint64_t shadow_alloc) {
  KFUNC(ex, "vm_insert_page");
  if (addr < vma.vm_start || addr >= vma.vm_end) return -14;  // -EFAULT
  ex.cost(k.costs.page_ref_atomic);
  if (page.refcount == 0) {
    k.oracle.on_insert_refused_at_zero(ex, page);
    return -22;  // -EINVAL
  }
  if (vma.vm_flags & VM_PFNMAP)
    throw KernelBug("BUG_ON(vma->vm_flags & VM_PFNMAP) in vm_insert_page");
  vma.vm_flags |= VM_MIXEDMAP;
  MmStruct& mm = *vma.vm_mm;
  PteTable& table = mm.pgtables.alloc_table(addr);  // get_locked_pte: may sleep
  spin_lock(ex, mm.page_table_lock, "get_locked_pte");
  int idx = PageTables::pte_index(addr);
  ex.cost(k.costs.pte_access);
  if (table.ptes[idx].present()) {
    spin_unlock(ex, mm.page_table_lock);
    return -16;  // -EBUSY
  }
  get_page(ex, k, page);
  ++page.mapcount;  // page_add_file_rmap
  set_pte(k, table, idx, Pte::make(page.pfn, vma.vm_flags & VM_WRITE), shadow_alloc);
  spin_unlock(ex, mm.page_table_lock);
  return 0;
}

// models mm/memory.c:vmf_insert_mixed() -> __vm_insert_mixed() -> insert_pfn()
// as of v5.15 with a PFN_DEV|PFN_MAP pfn: pte_mkdevmap, no page reference.
int vmf_insert_mixed(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr, uint64_t pfn,
                     uint64_t shadow_alloc) {
  KFUNC(ex, "vmf_insert_mixed");
  MmStruct& mm = *vma.vm_mm;
  PteTable* tp = pte_alloc(k, mm, addr);  // get_locked_pte()
  if (!tp) return VM_FAULT_OOM;           // insert_pfn()
  PteTable& table = *tp;
  spin_lock(ex, mm.page_table_lock, "get_locked_pte");
  int idx = PageTables::pte_index(addr);
  ex.cost(k.costs.pte_access);
  if (!table.ptes[idx].present())
    set_pte(k, table, idx, Pte::make(pfn, vma.vm_flags & VM_WRITE).mkdevmap(), shadow_alloc);
  spin_unlock(ex, mm.page_table_lock);
  return VM_FAULT_NOPAGE;
}

// models mm/memory.c:vmf_insert_pfn() -> vmf_insert_pfn_prot() -> insert_pfn()
// for a VM_PFNMAP VMA: a special PTE, nothing refcounted; an existing PTE is
// left alone (a concurrent fault inserted it).
int vmf_insert_pfn(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr, uint64_t pfn) {
  KFUNC(ex, "vmf_insert_pfn");
  MmStruct& mm = *vma.vm_mm;
  PteTable* tp = pte_alloc(k, mm, addr);  // get_locked_pte()
  if (!tp) return VM_FAULT_OOM;           // insert_pfn()
  PteTable& table = *tp;
  spin_lock(ex, mm.page_table_lock, "get_locked_pte");
  const int idx = PageTables::pte_index(addr);
  ex.cost(k.costs.pte_access);
  if (!table.ptes[idx].present()) {
    Pte pte = Pte::make(pfn, vma.vm_flags & VM_WRITE);
    pte.val |= Pte::SPECIAL;  // pte_mkspecial()
    set_pte(k, table, idx, pte, 0);
  }
  spin_unlock(ex, mm.page_table_lock);
  return VM_FAULT_NOPAGE;
}

// models arch/x86/mm/fault.c:do_user_addr_fault() -> handle_mm_fault() ->
// handle_pte_fault() as of v6.2: a PTE still none goes to
// do_anonymous_page() or the file VMA's ->fault (handle_pte_none_fault()).
static int do_user_addr_fault(Exec& ex, Kernel& k, Process& proc, uint64_t addr, bool write) {
  KFUNC(ex, "do_user_addr_fault");
  ex.cost(k.costs.page_fault_entry);
  MmStruct& mm = *proc.mm;
  down_read(ex, mm.mmap_lock, "mmap_read_lock");
  VmAreaStruct* vma = mm.find_vma(addr);
  int ret;
  if (!vma || (write && !(vma->vm_flags & VM_WRITE))) {
    ret = VM_FAULT_SIGSEGV;
  } else if (const PteTable* t = mm.pgtables.table(mm.pgtables.pmd(addr));
             t && t->ptes[PageTables::pte_index(addr)].present() &&
             (!write || t->ptes[PageTables::pte_index(addr)].write())) {
    ret = 0;  // handle_pte_fault(): the PTE is there by now, no ->fault (a spurious fault)
  } else {
    ret = handle_pte_none_fault(ex, k, *vma, addr & ~(PAGE_SIZE - 1));
  }
  up_read(ex, mm.mmap_lock);
  return ret & ~VM_FAULT_NOPAGE;
}

// models mm/memory.c:do_anonymous_page() as of v6.2: a zeroed page, mapped
// (dirty and writable in a writable VMA) under the PTE lock, unless a racing
// fault mapped one first. **Difference:** a read fault allocates too, where
// the kernel maps the shared zero page until a write fault copies it: a
// buffer only ever read (by a device, say) is separate zeroed pages here.
int do_anonymous_page(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr) {
  KFUNC(ex, "do_anonymous_page");
  if (vma.vm_flags & VM_SHARED) return VM_FAULT_SIGBUS;  // a shared VMA without vm_ops
  MmStruct& mm = *vma.vm_mm;
  PteTable* tp = pte_alloc(k, mm, addr);  // before the page: nothing to undo
  if (!tp) return VM_FAULT_OOM;
  PteTable& table = *tp;
  ex.cost(k.costs.anon_page_alloc);                 // vma_alloc_zeroed_movable_folio(): allocate and clear
  Page* page = k.ram.alloc();
  // **Difference:** the model's user RAM is a fixed region; when it is used
  // up the fault fails as SIGBUS, where the kernel's allocator would reclaim
  // or OOM-kill rather than return VM_FAULT_OOM (which would fault again).
  if (!page) return VM_FAULT_SIGBUS;
  std::memset(k.phys_page(page->pfn), 0, PAGE_SIZE);
  // The oracle's view: a one-page allocation of the faulting process, so a
  // use through a stale PTE, TLB entry or GUP result after its free shows.
  const uint64_t id = k.oracle.on_alloc(ex, k, ex.pid(), "do_anonymous_page", page->pfn, 1);
  const int idx = PageTables::pte_index(addr);
  spin_lock(ex, mm.page_table_lock, "pte_offset_map_lock");
  if (table.ptes[idx].present()) {  // another thread's fault won: release ours
    put_page(ex, k, *page, "do_anonymous_page");
    spin_unlock(ex, mm.page_table_lock);
    return 0;
  }
  ++page->mapcount;  // page_add_new_anon_rmap()
  Pte pte = Pte::make(page->pfn, vma.vm_flags & VM_WRITE);
  if (vma.vm_flags & VM_WRITE) pte.val |= Pte::DIRTY;  // pte_mkwrite(pte_mkdirty())
  set_pte(k, table, idx, pte, id);
  spin_unlock(ex, mm.page_table_lock);
  return 0;
}

// handle_mm_fault() for a PTE that is none: an anonymous VMA (no vm_ops)
// gets do_anonymous_page(), a file VMA its ->fault, anything else SIGBUS.
// A file VMA's fault goes through __do_fault() (v6.2 mm/memory.c 4160-4163,
// 7.0-rc6 5358-5360): where the PMD is none it preallocates a PTE table
// before ->fault, VM_FAULT_OOM if that fails. A handler that inserts PFNs
// itself allocates again in get_locked_pte() (the PMD is still none); the
// preallocated table is freed unused at the end of do_fault().
int handle_pte_none_fault(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr) {
  if (!vma.vm_file && !vma.vm_ops) return do_anonymous_page(ex, k, vma, addr);
  if (!vma.vm_ops || !vma.vm_ops->fault) return VM_FAULT_SIGBUS;
  if (pte_alloc_one_fails(k, *vma.vm_mm, addr)) return VM_FAULT_OOM;
  return vma.vm_ops->fault(ex, k, vma, addr);
}

UserAccess user_access(Exec& ex, Kernel& k, Process& proc, uint64_t addr, bool write,
                       uint64_t value) {
  MmStruct& mm = *proc.mm;
  Tlb& tlb = k.cpus[ex.cpu()].tlb;
  const auto key = std::make_pair(mm.id, addr >> PAGE_SHIFT);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto hit = tlb.entries.find(key);
    if (hit == tlb.entries.end() || (write && !hit->second.pte.write())) {
      // Hardware page walk: no locks, sees whatever is in the tables now.
      ex.cost(k.costs.pte_access * 4);
      PteTable* t = mm.pgtables.table(mm.pgtables.pmd(addr));
      int idx = PageTables::pte_index(addr);
      if (t && t->ptes[idx].present() && (!write || t->ptes[idx].write())) {
        hit = tlb.entries.insert_or_assign(key, TlbEntry{t->ptes[idx], t->shadow_alloc[idx]}).first;
      } else {
        int f = do_user_addr_fault(ex, k, proc, addr, write);
        if (f & VM_FAULT_SIGSEGV) return {-11, 0};
        if (f == VM_FAULT_OOM) {
          // pagefault_out_of_memory() (v5.16+): no memcg OOM, no fatal
          // signal: warn and return, and the access faults again. The 5.15
          // OOM killer is refused at load (knob pagefault_oom).
          if (k.knobs.pagefault_oom != PagefaultOom::retry)
            throw ModelBug("VM_FAULT_OOM from a user fault with pagefault_oom=oom_killer");
          ex.note("pagefault_out_of_memory: Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF");
          --attempt;  // a retry of the same access, not a new attempt
          continue;
        }
        if (f) return {-7, 0};
        continue;
      }
    }
    if (write && !hit->second.pte.dirty()) {
      // A store through an entry without D: the CPU sets D in the PTE with a
      // locked walk, or faults if the PTE is no longer what it cached.
      ex.cost(k.costs.pte_access * 4);
      PteTable* t = mm.pgtables.table(mm.pgtables.pmd(addr));
      const int idx = PageTables::pte_index(addr);
      if (!t || t->ptes[idx] != hit->second.pte) {
        tlb.entries.erase(hit);
        continue;
      }
      t->ptes[idx].val |= Pte::DIRTY;
      hit->second.pte = t->ptes[idx];
    }
    const TlbEntry& e = hit->second;
    ex.cost(k.costs.user_access);
    Page* page = k.pfn_to_page(e.pte.pfn());
    const VfioPciCoreDevice* vfio = page ? nullptr : vfio_device_of_phys(k, e.pte.pfn() << PAGE_SHIFT);
    if (vfio) {
      // MMIO to a vfio-pci BAR through a PFNMAP PTE.
      const VfioPciCoreDevice& v = *vfio;
      if (const char* why = vfio_bar_unusable(v)) {
        ex.report(FindingKind::use_after_revoke,
                  fmt::format("user {} at {:#x} by pid {} reaches {}'s BAR (pfn {:#x}) {}", write ? "store" : "load",
                              addr, proc.pid, v.name, e.pte.pfn(), why));
        if (!v.hw_mem) return {0, write ? value : ~0ULL};  // an Unsupported Request: reads return all ones
      }
    } else if (!page) {
      bool stale_bar = false;
      for (const auto& pg : k.pgmaps) stale_bar |= pg->removed && pg->contains(e.pte.pfn());
      if (!stale_bar) return {-7, 0};  // nothing decodes this address: SIGBUS
      // Unbind removed the struct pages, but the BAR still decodes: the
      // access completes on memory the device no longer lends anyone.
      ex.report(FindingKind::use_after_free,
                fmt::format("user {} at {:#x} by pid {} through a PTE to pfn {:#x}, whose pages unbind "
                            "removed (memunmap_pages): the BAR still takes the access",
                            write ? "store" : "load", addr, proc.pid, e.pte.pfn()));
    } else {
      if (!Oracle::use_ok(*page, e.shadow_alloc))  // format the access only for a report
        k.oracle.check_use(ex, k, *page, e.shadow_alloc, proc.pid,
                           fmt::format("user {} at {:#x}", write ? "store" : "load", addr));
    }
    const uint64_t off = addr & (PAGE_SIZE - 1);
    if (write) {
      k.phys_write(e.pte.pfn(), off, value);
      return {0, value};
    }
    return {0, k.phys_read(e.pte.pfn(), off)};
  }
  return {-7, 0};
}

}  // namespace p2psim::kern
