// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// drivers/pci/p2pdma.c in the designs the knobs select: the RFC series
// "Userspace P2PDMA with O_DIRECT NVMe devices" v3 (Sept 2021) and v4/v5
// (Nov 2021 / Jan 2022) with pci_mmap_p2pmem(), and upstream since v6.2
// with p2pmem_alloc_mmap(). Written from the kernel's behaviour; no kernel
// text is copied.
#include "kernel/p2pdma.h"

#include <fmt/format.h>

#include "kernel/memory.h"
#include "kernel/memremap.h"
#include "common/kernel_bug.h"

namespace p2psim::kern {

uint64_t virt_to_pfn(uint64_t kaddr) { return (kaddr - PAGE_OFFSET) >> PAGE_SHIFT; }
static uint64_t page_to_virt(const Page& p) { return PAGE_OFFSET + (p.pfn << PAGE_SHIFT); }

namespace {

/// Give @page back to the pool, telling the oracle first.
void pool_free_page(Exec& ex, Kernel& k, P2pdmaState& p2p, Page& page, void** owner,
                    const char* via) {
  k.oracle.on_pool_free(ex, k, page, via);
  ex.cost(k.costs.genalloc_op);
  p2p.pool.free_owner(page_to_virt(page), PAGE_SIZE, owner);
  ex.pp("p2pdma_page_free:after_gen_pool_free");
}

// models drivers/pci/p2pdma.c:p2pdma_page_free() as of RFC v3 18/20 (free
// one page to genalloc, no pgmap ref) and as of v6.2 (gen_pool_free_owner,
// then percpu_ref_put of the owner ref: pool first, ref second).
void p2pdma_page_free(Exec& ex, Kernel& k, P2pdmaProvider& prov, Page& page) {
  KFUNC(ex, "p2pdma_page_free");
  // rcu_dereference_protected(pgmap->provider->p2pdma, 1): the pgmap ref
  // the page holds should keep it alive; once pci_p2pdma_release() has run
  // it is NULL and the pool dereference oopses.
  P2pdmaState* p2p = prov.p2pdma;
  if (!p2p)
    throw KernelBug(fmt::format("BUG: kernel NULL pointer dereference in p2pdma_page_free: pdev->p2pdma "
                                "is NULL (pci_p2pdma_release ran) freeing pfn {:#x}",
                                page.pfn),
                    page.pfn, page.shadow.alloc_id);
  if (k.knobs.mmap_design == MmapDesign::rfc_fault_alloc) {
    pool_free_page(ex, k, *p2p, page, nullptr, "p2pdma_page_free");
    return;
  }
  void* owner = nullptr;
  pool_free_page(ex, k, *p2p, page, &owner, "p2pdma_page_free");
  // Under the DAX-gup rework free_zone_device_page() drops the page's pgmap
  // ref after page_free; a p2pdma converted to it must not drop it again.
  if (k.knobs.refcount_era == RefcountEra::per_folio_pgmap_ref) return;
  ex.cost(k.costs.percpu_ref_op);
  pgmap_ref_put(ex, *static_cast<DevPagemap*>(owner), 1, "p2pdma_page_free");
}

// ---- RFC v3-v5: pci_mmap_p2pmem() ----------------------------------------

// models RFC v3 pci_p2pdma_map_free_pages(): put every page of the
// allocation; in the one-based era each 2 -> 1 runs page_free.
void rfc_map_free_pages(Exec& ex, Kernel& k, P2pdmaMap& pmap) {
  KFUNC(ex, "pci_p2pdma_map_free_pages");
  const uint64_t kaddr = pmap.kaddr;
  if (!kaddr) return;
  pmap.kaddr = 0;
  for (uint64_t off = 0; off < pmap.len; off += PAGE_SIZE) {
    Page* page = k.pfn_to_page(virt_to_pfn(kaddr + off));
    if (!page) continue;
    page->shadow.held = false;  // the map gives its reference up
    put_page(ex, k, *page, "pci_p2pdma_map_free_pages");
    ex.pp("pci_p2pdma_map_free_pages:after_put_page");
  }
}

// models RFC v3 19/20 (= v4 22/23, v5 23/24) pci_p2pdma_vma_fault(). No
// lock of its own, only the fault path's mmap_lock for read: an unlocked
// check of pmap->kaddr; on first fault, under rcu_read_lock only, the
// gen_pool_alloc() result goes straight into pmap->kaddr and get_page()
// re-reads pmap->kaddr for every page. The RCU section ends before the pfn
// is computed from pmap->kaddr and before vmf_insert_mixed(), and the fast
// path has none: unbind's unmap and free of the mapping can run in between.
int rfc_vma_fault(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr) {
  KFUNC(ex, "pci_p2pdma_vma_fault");
  auto pmap = std::static_pointer_cast<P2pdmaMap>(vma.vm_private_data);
  P2pdmaProvider& prov = *pmap->prov;
  ex.pp("pci_p2pdma_vma_fault:entry");
  if (!pmap->kaddr) {
    ex.pp("pci_p2pdma_vma_fault:after_kaddr_check");  // unlocked: S11 window
    ex.rcu_read_lock();
    P2pdmaState* p2p = prov.p2pdma;  // rcu_dereference
    if (!p2p || !p2p->active) {
      ex.rcu_read_unlock();
      return VM_FAULT_SIGBUS;
    }
    ex.cost(k.costs.genalloc_op);
    pmap->kaddr = k.should_fail("gen_pool_alloc") ? 0 : p2p->pool.alloc_owner(pmap->len, nullptr);
    if (!pmap->kaddr) {
      ex.rcu_read_unlock();
      return VM_FAULT_SIGBUS;
    }
    const uint64_t nr = pmap->len >> PAGE_SHIFT;
    const uint64_t first = virt_to_pfn(pmap->kaddr);
    pmap->shadow_alloc =
        k.oracle.on_alloc(ex, k, ex.pid(), "pci_p2pdma_vma_fault", first, nr);
    for (uint64_t i = 0; i < nr; ++i) k.pfn_to_page(first + i)->shadow.held = true;
    ex.pp("pci_p2pdma_vma_fault:after_gen_pool_alloc");
    for (uint64_t off = 0; off < pmap->len; off += PAGE_SIZE) {
      if (!pmap->kaddr) {
        // Unbind freed the mapping inside our RCU section: impossible, it
        // waits for the section with synchronize_rcu() after clearing
        // `active`. A model bug if it ever happens.
        throw ModelBug("pci_p2pdma_vma_fault: pmap->kaddr cleared inside the RCU section");
      }
      get_page(ex, k, *k.pfn_to_page(virt_to_pfn(pmap->kaddr + off)));
      ex.pp("pci_p2pdma_vma_fault:after_get_page");
    }
    ex.rcu_read_unlock();
  } else {
    ex.pp("pci_p2pdma_vma_fault:fast_path");  // saw kaddr set; nothing held
  }
  if (!pmap->kaddr) {
    // Unbind freed the mapping since this fault checked kaddr: the kernel
    // computes the pfn from NULL + offset and maps whatever physical
    // address virt_to_phys() makes of it. The model has no page there.
    ex.report(FindingKind::use_after_free,
              fmt::format("pci_p2pdma_vma_fault at {:#x} computes its pfn from pmap->kaddr after unbind "
                          "cleared it: the PTE would map virt_to_phys(NULL + offset), memory no "
                          "allocation of pid {} owns",
                          addr, ex.pid()));
    return VM_FAULT_SIGBUS;
  }
  const uint64_t pgoff = vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT);
  const uint64_t pfn = virt_to_pfn(pmap->kaddr + (pgoff << PAGE_SHIFT));
  const uint64_t shadow = pmap->shadow_alloc;
  // Nothing holds off unbind here: it may zap this VMA (nothing mapped yet)
  // and give the pages back to genalloc before the insert below.
  ex.pp("pci_p2pdma_vma_fault:before_vmf_insert_mixed");
  return vmf_insert_mixed(ex, k, vma, addr, pfn, shadow);
}

// models RFC v3 pci_p2pdma_vma_close() -> kref_put -> release: v3 puts the
// pages at once; v4/v5 defer the puts with call_rcu().
void rfc_vma_close(Exec& ex, Kernel& k, VmAreaStruct& vma) {
  KFUNC(ex, "pci_p2pdma_vma_close");
  auto pmap = std::static_pointer_cast<P2pdmaMap>(vma.vm_private_data);
  if (--pmap->kref > 0) return;
  KFUNC(ex, "pci_p2pdma_map_release");
  if (k.knobs.rfc_free_deferral == RfcFreeDeferral::immediate || !pmap->kaddr) {
    rfc_map_free_pages(ex, k, *pmap);
    return;
  }
  ex.call_rcu([&k, pmap](Exec& cb) { rfc_map_free_pages(cb, k, *pmap); }, "pci_p2pdma_map_free");
}

const VmOps kRfcVmOps = {"pci_p2pdma_vmops", rfc_vma_fault, nullptr, rfc_vma_close};

// models RFC v3 pci_mmap_p2pmem().
int rfc_mmap(Exec& ex, Kernel& k, P2pdmaProvider& prov, VmAreaStruct& vma) {
  KFUNC(ex, "pci_mmap_p2pmem");
  if (!(vma.vm_flags & VM_MAYSHARE)) return -22;  // -EINVAL
  auto pmap = std::make_shared<P2pdmaMap>();
  pmap->prov = &prov;
  pmap->len = vma.vm_end - vma.vm_start;
  ex.rcu_read_lock();
  P2pdmaState* p2p = prov.p2pdma;
  ex.rcu_read_unlock();
  if (!p2p) return -19;  // -ENODEV
  vma.vm_flags |= VM_MIXEDMAP;
  vma.vm_private_data = pmap;
  vma.vm_ops = &kRfcVmOps;
  return 0;
}

// models RFC v3 / v4 pci_p2pdma_unmap_mappings(): refuse new faults, wait
// for faults in flight, zap every VMA, (v4+: wait for GUP-fast), then put
// the pages of every mapping.
void rfc_unmap_mappings(Exec& ex, Kernel& k, P2pdmaProvider& prov) {
  KFUNC(ex, "pci_p2pdma_unmap_mappings");
  P2pdmaState& p2p = *prov.storage;
  p2p.active = false;
  ex.synchronize_rcu();
  unmap_mapping_range(ex, k, p2p.rfc_inode_mapping, 0, 0);
  if (k.knobs.rfc_free_deferral == RfcFreeDeferral::rcu) ex.synchronize_rcu();
  KFUNC(ex, "pci_p2pdma_free_mappings");
  down_write(ex, p2p.rfc_inode_mapping.i_mmap_rwsem, "i_mmap_lock_write");
  for (VmAreaStruct& vma : p2p.rfc_inode_mapping.i_mmap)
    rfc_map_free_pages(ex, k, *std::static_pointer_cast<P2pdmaMap>(vma.vm_private_data));
  up_write(ex, p2p.rfc_inode_mapping.i_mmap_rwsem);
}

// ---- upstream since v6.2: p2pmem_alloc_mmap() ------------------------------

// The error path's return of the pages not yet mapped: straight to the pool.
static void alloc_mmap_release_range(Exec& ex, Kernel& k, P2pdmaState& p2p, uint64_t kaddr, uint64_t len) {
  if (!len) return;
  for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
    Page& rest = *k.pfn_to_page(virt_to_pfn(kaddr + off));
    rest.shadow.held = false;
    k.oracle.on_pool_free(ex, k, rest, "p2pmem_alloc_mmap error path");
  }
  p2p.pool.free_owner(kaddr, len, nullptr);
}

// models drivers/pci/p2pdma.c:p2pmem_alloc_mmap() as of v6.2, with the
// v6.15 0-based refcount steps and the 2025 error-path fix as knobs.
int p2pmem_alloc_mmap(Exec& ex, Kernel& k, P2pdmaProvider& prov, VmAreaStruct& vma) {
  KFUNC(ex, "p2pmem_alloc_mmap");
  if (!(vma.vm_flags & VM_MAYSHARE) || vma.vm_pgoff) return -22;  // -EINVAL
  uint64_t len = vma.vm_end - vma.vm_start;
  ex.rcu_read_lock();
  P2pdmaState* p2p = prov.p2pdma;
  if (!p2p) {
    ex.rcu_read_unlock();
    return -19;
  }
  void* owner = nullptr;
  ex.cost(k.costs.genalloc_op);
  uint64_t kaddr = k.should_fail("gen_pool_alloc") ? 0 : p2p->pool.alloc_owner(len, &owner);
  if (!kaddr) {
    ex.rcu_read_unlock();
    return -12;  // -ENOMEM
  }
  DevPagemap& pgmap = *static_cast<DevPagemap*>(owner);
  ex.cost(k.costs.percpu_ref_op);
  if (!pgmap.ref.tryget_live()) {
    p2p->pool.free_owner(kaddr, len, nullptr);
    ex.rcu_read_unlock();
    return -19;
  }
  const uint64_t alloc = k.oracle.on_alloc(
      ex, k, ex.pid(), "p2pmem_alloc_mmap", virt_to_pfn(kaddr), len >> PAGE_SHIFT);
  for (uint64_t off = 0; off < len; off += PAGE_SIZE)
    k.pfn_to_page(virt_to_pfn(kaddr + off))->shadow.held = true;
  ex.rcu_read_unlock();
  ex.pp("p2pmem_alloc_mmap:after_gen_pool_alloc");
  const bool request = k.knobs.refcount_era == RefcountEra::per_folio_pgmap_ref;
  for (uint64_t vaddr = vma.vm_start; vaddr < vma.vm_end; vaddr += PAGE_SIZE) {
    Page& page = *k.pfn_to_page(virt_to_pfn(kaddr));
    if (request) {
      // The conversion this project assumes (no patch was posted): the page
      // is activated through the pgmap by its offset, which takes the
      // per-page pgmap ref on 0 -> 1 instead of set_page_count() + get.
      // Null only from its dying check (the temporary ref above keeps its
      // tryget from failing), which leaves the page untouched.
      if (!pgmap_request_folio(ex, k, pgmap, page.pfn - pgmap.base_pfn)) {
        // A failed tryget would have freed the page already (folio_put);
        // it cannot fail while the temporary ref holds the count up.
        if (pgmap.ref.count <= 0)
          throw ModelBug(fmt::format("p2pmem_alloc_mmap: request of pfn {:#x} failed without the temporary "
                                     "pgmap ref (count {})", page.pfn, pgmap.ref.count));
        alloc_mmap_release_range(ex, k, *p2p, kaddr, len);
        if (k.knobs.alloc_mmap_error_puts_pgmap_ref)
          pgmap_ref_put(ex, pgmap, 1, "p2pmem_alloc_mmap error path");
        return -12;  // -ENOMEM
      }
    } else if (k.knobs.refcount_era == RefcountEra::zero_based) {
      const bool released = k.knobs.alloc_mmap_refcount_warn == AllocMmapRefcountWarn::on_zero;
      if (k.knobs.config_debug_vm && (released ? page.refcount == 0 : page.refcount != 0))
        ex.report(FindingKind::kernel_bug,
                  fmt::format("VM_WARN_ON_ONCE_PAGE({}page_ref_count(page)) in p2pmem_alloc_mmap: "
                              "pfn {:#x} has refcount {}", released ? "!" : "", page.pfn, page.refcount));
      set_page_count(ex, k, page, 1);
    }
    int ret = k.should_fail("vm_insert_page") ? -12 : vm_insert_page(ex, k, vma, vaddr, page, alloc);
    ex.pp("p2pmem_alloc_mmap:after_vm_insert_page");
    if (ret && request) {
      // The requested page goes back through its own final put (page_free
      // returns it to the pool and drops its pgmap ref); the rest directly.
      page.shadow.held = false;
      put_page(ex, k, page, "p2pmem_alloc_mmap error path");
      alloc_mmap_release_range(ex, k, *p2p, kaddr + PAGE_SIZE, len - PAGE_SIZE);
      // The temporary ref as in the base (v11/v6.2 leaks it, 6220694c52a5 puts it).
      if (k.knobs.alloc_mmap_error_puts_pgmap_ref)
        pgmap_ref_put(ex, pgmap, 1, "p2pmem_alloc_mmap error path");
      return ret;
    }
    if (ret) {
      alloc_mmap_release_range(ex, k, *p2p, kaddr, len);
      if (k.knobs.alloc_mmap_error_puts_pgmap_ref) {
        if (k.knobs.refcount_era == RefcountEra::zero_based) set_page_count(ex, k, page, 0);
        pgmap_ref_put(ex, pgmap, 1, "p2pmem_alloc_mmap error path");
      }
      return ret;
    }
    if (!request) {
      ex.cost(k.costs.percpu_ref_op);
      pgmap.ref.get();
    }
    page.shadow.held = false;  // the PTE owns the page from here on
    put_page(ex, k, page, "p2pmem_alloc_mmap");
    kaddr += PAGE_SIZE;
    len -= PAGE_SIZE;
  }
  pgmap_ref_put(ex, pgmap, 1, "p2pmem_alloc_mmap temporary ref");
  return 0;
}

// models drivers/pci/p2pdma.c:pci_p2pdma_unmap_mappings() as of v6.2:
// sysfs_remove_file_from_group() of `allocate` -> __kernfs_remove():
// deactivate the node (new ->mmap calls fail), kernfs_drain() waits for the
// active references of ->mmap calls in progress, then
// kernfs_drain_open_files() zaps every mmapped open file with
// unmap_mapping_range() (fs/kernfs/dir.c, file.c).
void upstream_unmap_mappings(Exec& ex, Kernel& k, P2pdmaProvider& prov) {
  KFUNC(ex, "pci_p2pdma_unmap_mappings");
  P2pdmaState& p2p = *prov.storage;
  p2p.allocate_published = false;
  ex.pp("kernfs_drain:after_deactivate");
  {
    KFUNC(ex, "kernfs_drain");
    ex.might_sleep("kernfs_drain");
    P2pdmaState* st = &p2p;
    ex.wait_event([st] { return st->kernfs_active == 0; }, "kernfs_drain: active ->mmap calls");
  }
  KFUNC(ex, "kernfs_drain_open_files");
  for (auto& f : p2p.open_files)
    if (!f->f_mapping->i_mmap.empty()) unmap_mapping_range(ex, k, *f->f_mapping, 0, 0);
}

// models drivers/pci/p2pdma.c:pci_p2pdma_release() as of v6.2.
void pci_p2pdma_release(Exec& ex, Kernel& k, P2pdmaProvider& prov) {
  KFUNC(ex, "pci_p2pdma_release");
  if (!prov.p2pdma) return;
  prov.p2pdma = nullptr;  // rcu_assign_pointer(pdev->p2pdma, NULL)
  ex.synchronize_rcu();
  ex.pp("pci_p2pdma_release:after_synchronize_rcu");
  prov.storage->pool.destroy();  // BUG if any allocation is still out
  xa_destroy(ex, prov.storage->map_types);
  // devres frees struct pci_p2pdma (devm_kzalloc'ed before this action was
  // added) right after this action returns, the xarray and its lock with it.
  prov.storage->map_types.freed = true;
}

}  // namespace

// ---- the map-type cache and pci_p2pmem_find_many()'s reads ----------------

// models drivers/pci/p2pdma.c:pci_p2pmem_publish() as of v6.2
void pci_p2pmem_publish(P2pdmaProvider& prov, bool publish) {
  if (prov.p2pdma) prov.p2pdma->p2pmem_published = publish;
}

// models drivers/pci/p2pdma.c:pci_has_p2pmem() as of v6.2 (731-742)
bool pci_has_p2pmem(Exec& ex, P2pdmaProvider& prov) {
  ex.rcu_read_lock();
  P2pdmaState* p2p = prov.p2pdma;  // rcu_dereference(pdev->p2pdma)
  const bool res = p2p && p2p->p2pmem_published;
  ex.rcu_read_unlock();
  return res;
}

// models the done: block of drivers/pci/p2pdma.c:calc_map_type_and_dist() as
// of v6.2 (658-665; the same at 7.0's 765-772 but for the gfp flags): the
// one RCU read section of the function; xa_store()'s result is ignored.
void calc_map_type_and_dist_store(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t client_idx, int map_type) {
  KFUNC(ex, "calc_map_type_and_dist");
  ex.rcu_read_lock();
  P2pdmaState* p2p = prov.p2pdma;  // rcu_dereference(provider->p2pdma)
  ex.pp("calc_map_type_and_dist:after_rcu_dereference");
  if (p2p) {
    const Gfp gfp = k.knobs.map_types_gfp == MapTypesGfp::kernel ? Gfp::kernel : Gfp::atomic;
    xa_store(ex, k, p2p->map_types, client_idx, map_type, gfp);
  }
  ex.rcu_read_unlock();
}

// models drivers/pci/p2pdma.c:pci_p2pdma_add_resource() (and
// pci_p2pdma_setup()) as of v6.2; the RFC's order is the same.
int pci_p2pdma_add_resource(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t size,
                            uint64_t offset) {
  KFUNC(ex, "pci_p2pdma_add_resource");
  if (offset >= prov.bar_size) return -22;
  if (!size) size = prov.bar_size - offset;
  if (size + offset > prov.bar_size) return -22;
  if (!prov.p2pdma) {
    KFUNC(ex, "pci_p2pdma_setup");
    prov.storage = std::make_unique<P2pdmaState>();
    prov.storage->map_types.name = "struct pci_p2pdma's map_types";
    prov.devm_actions.emplace_back("pci_p2pdma_release",
                                   [&k, &prov](Exec& e) { pci_p2pdma_release(e, k, prov); });
    prov.storage->allocate_published = k.knobs.mmap_design == MmapDesign::upstream_alloc_mmap;
    prov.p2pdma = prov.storage.get();
  }
  auto pgmap = std::make_unique<DevPagemap>();
  pgmap->type = PgmapType::pci_p2pdma;
  pgmap->base_pfn = (prov.bar_phys + offset) >> PAGE_SHIFT;
  pgmap->nr_pages = size >> PAGE_SHIFT;
  pgmap->bus_offset = prov.bus_offset;
  P2pdmaProvider* pv = &prov;
  pgmap->page_free = [&k, pv](Exec& e, Page& p) { p2pdma_page_free(e, k, *pv, p); };
  DevPagemap* pg = pgmap.get();
  k.pgmaps.push_back(std::move(pgmap));
  prov.pgmaps.push_back(pg);
  memremap_pages(ex, k, *pg);
  prov.devm_actions.emplace_back("memunmap_pages", [&k, pg](Exec& e) { memunmap_pages(e, k, *pg); });
  // Up to 6.15 the action gets the pci_dev; from 6.19 the pgmap, which the
  // error path below frees while the action stays registered.
  prov.devm_actions.emplace_back("pci_p2pdma_unmap_mappings", [&k, pv, pg](Exec& e) {
    if (k.knobs.p2pdma_unmap_mappings_arg == UnmapMappingsArg::pgmap && pg->freed)
      e.report(FindingKind::use_after_free,
               fmt::format("pci_p2pdma_unmap_mappings() at {}'s unbind reads p2p_pgmap->mem->owner from the "
                           "pci_p2pdma_pagemap that pci_p2pdma_add_resource()'s error path freed (devm_kfree) "
                           "at probe",
                           pv->name));
    if (k.knobs.mmap_design == MmapDesign::rfc_fault_alloc)
      rfc_unmap_mappings(e, k, *pv);
    else
      upstream_unmap_mappings(e, k, *pv);
  });
  // The chunk's owner is &pgmap->ref in Linux; the model keeps the pgmap.
  int err = k.should_fail("gen_pool_add_owner")
                ? -12
                : prov.storage->pool.add_owner(PAGE_OFFSET + prov.bar_phys + offset,
                                               prov.bar_phys + offset + prov.bus_offset, size,
                                               static_cast<void*>(pg));
  if (err) {
    // pages_free: devm_memunmap_pages() runs the release now and drops it
    // from devres; pgmap_free: devm_kfree(). The unmap action stays, and so
    // do pdev->p2pdma, its empty pool and the p2pmem sysfs group.
    ex.notef("pci_p2pdma_add_resource({}): gen_pool_add_owner() failed: {}", prov.name, err);
    prov.devm_actions.erase(prov.devm_actions.end() - 2);  // the memunmap_pages action
    memunmap_pages(ex, k, *pg);
    prov.pgmaps.pop_back();
    pg->freed = true;
    return err;
  }
  prov.storage->active = true;
  return 0;
}

// models drivers/pci/p2pdma.c:pci_alloc_p2pmem() as of v6.2: one pgmap ref
// per allocation, taken after the pool allocation.
uint64_t pci_alloc_p2pmem(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t size) {
  KFUNC(ex, "pci_alloc_p2pmem");
  ex.rcu_read_lock();
  P2pdmaState* p2p = prov.p2pdma;
  uint64_t ret = 0;
  if (p2p) {
    void* owner = nullptr;
    ex.cost(k.costs.genalloc_op);
    ret = k.should_fail("gen_pool_alloc") ? 0 : p2p->pool.alloc_owner(size, &owner);
    if (ret) {
      ex.pp("pci_alloc_p2pmem:after_gen_pool_alloc");
      if (!static_cast<DevPagemap*>(owner)->ref.tryget_live()) {
        p2p->pool.free_owner(ret, size, nullptr);
        ret = 0;
      } else {
        k.oracle.on_alloc(ex, k, ex.pid(), "pci_alloc_p2pmem",
                          virt_to_pfn(ret), (size + PAGE_SIZE - 1) >> PAGE_SHIFT);
      }
    }
  }
  ex.rcu_read_unlock();
  return ret;
}

// models drivers/pci/p2pdma.c:pci_free_p2pmem() as of v6.2: pool first,
// ref second.
void pci_free_p2pmem(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t addr, uint64_t size) {
  KFUNC(ex, "pci_free_p2pmem");
  if (!prov.p2pdma)  // rcu_dereference_protected(pdev->p2pdma, 1)
    throw KernelBug("BUG: kernel NULL pointer dereference in pci_free_p2pmem: pdev->p2pdma is NULL "
                    "(pci_p2pdma_release ran)");
  void* owner = nullptr;
  for (uint64_t off = 0; off < size; off += PAGE_SIZE)
    if (Page* p = k.pfn_to_page(virt_to_pfn(addr + off)))
      k.oracle.on_pool_free(ex, k, *p, "pci_free_p2pmem");
  prov.p2pdma->pool.free_owner(addr, size, &owner);
  pgmap_ref_put(ex, *static_cast<DevPagemap*>(owner), 1, "pci_free_p2pmem");
}

std::shared_ptr<File> p2pmem_open(Exec& ex, Kernel& k, P2pdmaProvider& prov, int& err) {
  KFUNC(ex, "p2pmem_open");
  err = 0;
  auto f = std::make_shared<File>();
  f->id = k.next_file_id++;
  P2pdmaProvider* pv = &prov;
  if (k.knobs.mmap_design == MmapDesign::rfc_fault_alloc) {
    // RFC pci_p2pdma_file_open(): every open shares the provider's inode.
    ex.rcu_read_lock();
    P2pdmaState* p2p = prov.p2pdma;
    ex.rcu_read_unlock();
    if (!p2p) {
      err = -19;
      return nullptr;
    }
    f->path = "/dev/" + prov.name + "-p2pmem";
    f->f_mapping = &p2p->rfc_inode_mapping;
    f->mmap = [&k, pv](Exec& e, File&, VmAreaStruct& vma) { return rfc_mmap(e, k, *pv, vma); };
  } else {
    if (!prov.p2pdma || !prov.storage->allocate_published) {
      err = -2;  // -ENOENT: the sysfs file is gone
      return nullptr;
    }
    f->path = "/sys/bus/pci/devices/" + prov.name + "/p2pmem/allocate";
    f->mmap = [&k, pv](Exec& e, File&, VmAreaStruct& vma) {
      // kernfs_fop_mmap: kernfs_get_active() fails once the node is
      // deactivated (-ENODEV); the active reference it holds across
      // ->mmap is what kernfs_drain() waits for.
      P2pdmaState& st = *pv->storage;
      if (!st.allocate_published) return -19;
      ++st.kernfs_active;
      const int ret = p2pmem_alloc_mmap(e, k, *pv, vma);
      --st.kernfs_active;
      return ret;
    };
    prov.storage->open_files.push_back(f);
  }
  return f;
}

void device_release_driver(Exec& ex, Kernel&, P2pdmaProvider& prov) {
  P2pdmaProvider* pv = &prov;
  release_driver(ex, prov.device_locked, prov.bound,
                 [pv](Exec& e) {
                   if (pv->driver_remove) {
                     KFUNC(e, "drv->remove");
                     pv->driver_remove(e);
                   }
                   pv->dma_owner = false;  // bus dma_cleanup(): iommu_device_unuse_default_domain()
                 },
                 prov.devm_actions);
}

}  // namespace p2psim::kern
