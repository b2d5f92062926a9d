// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/knobs.h"

#include <fmt/format.h>

namespace p2psim::kern {

// Accessors for a field as the index of its value in KnobSpec::values.
#define KNOB_FIELD(field, type)                                                  \
  [](const Knobs& k) { return static_cast<int>(k.field); },                      \
      [](Knobs& k, int v) { k.field = static_cast<type>(v); }

const std::vector<KnobSpec>& knob_specs() {
  static const std::vector<KnobSpec> specs = {
      {"mmap_design",
       {"rfc_fault_alloc", "upstream_alloc_mmap"},
       "Userspace mapping of p2pmem: the RFC's VM_MIXEDMAP fault-time allocation with "
       "devmap PTEs, or upstream's mmap-time allocation with refcounted PTEs.",
       "RFC 'Userspace P2PDMA with O_DIRECT NVMe devices' v3-v5 (2021-22); "
       "upstream 7e9c7ef83d78 'PCI/P2PDMA: Allow userspace VMA allocations through sysfs' (v6.2)",
       KNOB_FIELD(mmap_design, MmapDesign)},
      {"rfc_free_deferral",
       {"immediate", "rcu"},
       "RFC design only: pages go back to genalloc right after the unmap (v3) or after an RCU "
       "grace period (call_rcu from VMA close, synchronize_rcu at unbind; v4/v5).",
       "RFC v3 (Sept 2021) vs v4 (Nov 2021) / v5 (Jan 2022)",
       KNOB_FIELD(rfc_free_deferral, RfcFreeDeferral)},
      {"refcount_era",
       {"one_based", "free_at_zero_reset_to_one", "zero_based", "per_folio_pgmap_ref"},
       "Idle ZONE_DEVICE page refcount: 1 with page_free on 2->1 (<=5.17), freed at 0 and reset "
       "to 1 (5.18-6.14), idle at 0 and freed at 0 (>=6.15; also RFC v5's base), or the "
       "never-merged DAX-gup rework: idle at 0, pages activated by pgmap_request_folio() (which "
       "takes a pgmap ref on 0->1), the pgmap ref dropped when the page is freed, no per-page base refs.",
       "v5.18 'mm: remove the extra ZONE_DEVICE struct page refcount' (Christoph Hellwig's "
       "series); v6.15 Alistair Popple's 0-based ZONE_DEVICE refcount series; Dan Williams, "
       "'Fix the DAX-gup mistake' v3 23/25 and 24/25 (14 Oct 2022) and 'mm/memremap: Introduce "
       "pgmap_request_folio() using pgmap offsets' (20 Oct 2022), in mm-unstable until 1 Dec 2022",
       KNOB_FIELD(refcount_era, RefcountEra)},
      {"tlb_flush",
       {"ipi_wait", "no_wait"},
       "Platform axis: a TLB flush by synchronous IPI that a CPU with IRQs off (GUP-fast) holds "
       "up (x86 bare metal), or an invalidation that waits for no CPU's IRQs (arm64 TLBI, a KVM/Xen "
       "guest's paravirt flush, AMD INVLPGB). Set by the platform (`list` prints them).",
       "arch/x86/mm/tlb.c native_flush_tlb_multi, arch/x86/kernel/kvm.c kvm_flush_tlb_multi, "
       "arch/arm64/include/asm/tlbflush.h __flush_tlb_range (v6.2)",
       KNOB_FIELD(tlb_flush, TlbFlush)},
      {"pgtable_free",
       {"page_batch", "rcu"},
       "Platform axis: page tables freed with the gather's pages after the flush, or after an RCU "
       "grace period (MMU_GATHER_RCU_TABLE_FREE). x86 bare metal used the page batch until v6.15.",
       "mm/mmu_gather.c tlb_remove_table (v6.2); arch/x86/kernel/paravirt.c native tlb_remove_page "
       "(v6.2); a37259732a7d 'x86/mm: Make MMU_GATHER_RCU_TABLE_FREE unconditional' (v6.15)",
       KNOB_FIELD(pgtable_free, PgtableFree)},
      {"mmu_gather_merge_vmas",
       {"false", "true"},
       "Platform axis: CONFIG_MMU_GATHER_MERGE_VMAS (x86; before v5.19 x86's empty tlb_end_vma()): "
       "a gather over several VMAs flushes once at the end, not at each VMA's end as arm64 does. "
       "Set by the platform.",
       "arch/x86/include/asm/tlb.h and include/asm-generic/tlb.h tlb_end_vma() (v5.15); "
       "arch/x86/Kconfig select MMU_GATHER_MERGE_VMAS (v6.2, 7.0-rc6)",
       KNOB_FIELD(mmu_gather_merge_vmas, bool)},
      {"pfnmap_unlink_flush",
       {"none", "tlb_end_vma", "free_pgtables"},
       "Where munmap() flushes the TLB for a VM_PFNMAP/VM_MIXEDMAP VMA before unlink_file_vma() "
       "takes it out of the file's rmap, on a platform that merges VMAs (x86): nowhere, the flush "
       "waits for tlb_finish_mmu() (before v5.19: an unmap_mapping_range() in between finds no VMA "
       "and returns with the entries still cached); in tlb_end_vma() (v5.19-v6.15); in "
       "free_pgtables()'s tlb_free_vmas() (v6.16 on).",
       "b67fbebd4cf9 'mmu_gather: Force tlb-flush VM_PFNMAP vmas' (Peter Zijlstra, reported by "
       "Jann Horn; v5.19, in 5.10.y/5.15.y as a rewrite in unmap_region()); Roman Gushchin, "
       "'mmu_gather: move tlb flush for VM_PFNMAP/VM_MIXEDMAP vmas into free_pgtables()' (v6.16)",
       KNOB_FIELD(pfnmap_unlink_flush, PfnmapUnlinkFlush)},
      {"pci_disconnect_device_lock",
       {"false", "true"},
       "A surprise removal's pci_dev_set_disconnected() marks the function gone under its device "
       "lock, so pciehp first waits for an unbind that holds the lock (5.15, 6.2); later kernels "
       "mark it without the lock, so a driver's remove() in progress sees the function gone.",
       "drivers/pci/pci.h pci_dev_set_disconnected(): device_lock() in 5.15.0 and 6.2.1, absent in "
       "6.14.0 and 7.0-rc6",
       KNOB_FIELD(pci_disconnect_device_lock, bool)},
      {"iommu_store_type_check",
       {"device_bound", "owner_cnt"},
       "Writing an IOMMU group's sysfs `type`: only DMA -> DMA-FQ is allowed while a driver is bound. "
       "v6.2 takes the device lock and checks device_is_bound() (-EBUSY); 6.14 and 7.0 first do the "
       "DMA -> DMA-FQ switch under the group mutex, then refuse any other change while the group has "
       "a DMA owner (a DMA-API driver holds one from probe until just after its remove() returns: -EPERM, also during an unbind).",
       "drivers/iommu/iommu.c iommu_group_store_type(), iommu_change_dev_def_domain() (6.2.1); "
       "iommu_group_store_type(), iommu_setup_default_domain() (6.14.0, 7.0-rc6)",
       KNOB_FIELD(iommu_store_type_check, IommuStoreTypeCheck)},
      {"mmap_prealloc",
       {"none", "after_mmap", "before_mmap"},
       "Where mmap_region() preallocates VMA tree nodes, the allocation fault site mmap_prealloc fails: "
       "nowhere (5.15, 5.17: the VMA is linked without one), after ->mmap (6.2's mas_preallocate(): the "
       "error path runs ->close, then unmap_region() zaps what ->mmap inserted), or before ->mmap (6.14 and "
       "7.0's vma_iter_prealloc() in __mmap_new_vma(): nothing to undo).",
       "mm/mmap.c mmap_region() (5.15.0, 6.2.1); mm/vma.c __mmap_new_vma() (6.14.0, 7.0-rc6)",
       KNOB_FIELD(mmap_prealloc, MmapPrealloc)},
      {"p2pdma_unmap_mappings_arg",
       {"pdev", "pgmap"},
       "What pci_p2pdma_add_resource() hands its pci_p2pdma_unmap_mappings devm action: the pci_dev (6.2 to "
       "6.15), or the struct pci_p2pdma_pagemap (6.19, 7.0), which the error path after a failed "
       "gen_pool_add_owner() frees with devm_kfree() while the action stays registered: the unbind then "
       "reads freed memory (docs/findings/p2pdma_add_resource_error_uaf.md).",
       "drivers/pci/p2pdma.c pci_p2pdma_add_resource() and pci_p2pdma_unmap_mappings() (6.2.1, 6.14.0: "
       "pdev; 6.19.0, 7.0-rc6, 7.0.0: p2p_pgmap)",
       KNOB_FIELD(p2pdma_unmap_mappings_arg, UnmapMappingsArg)},
      {"pagefault_oom",
       {"retry", "oom_killer"},
       "A user fault that ends in VM_FAULT_OOM (the fault site pte_alloc): pagefault_out_of_memory() "
       "warns and returns, so the access faults again (from v5.16), or it calls out_of_memory(), the OOM "
       "killer (5.15; the model has no OOM killer, so a scenario cannot fail pte_alloc there).",
       "mm/oom_kill.c pagefault_out_of_memory() (5.15.0, 6.2.1, 7.0-rc6); 60e2793d440a 'mm, oom: do not "
       "trigger out_of_memory from the #PF' (v5.16)",
       KNOB_FIELD(pagefault_oom, PagefaultOom)},
      {"alloc_mmap_error_puts_pgmap_ref",
       {"false", "true"},
       "p2pmem_alloc_mmap() error path drops its temporary pgmap ref when vm_insert_page() "
       "fails (false: leaked, so unbind waits forever).",
       "6220694c52a5 'PCI/P2PDMA: Release the per-cpu ref of pgmap when vm_insert_page() fails' "
       "(Hou Tao; in 7.0 and 6.19.9; fixes 7e9c7ef83d78), with 83014d82a110 (page count reset "
       "to 0 on the same path)",
       KNOB_FIELD(alloc_mmap_error_puts_pgmap_ref, bool)},
      {"config_debug_vm",
       {"false", "true"},
       "CONFIG_DEBUG_VM: VM_BUG_ON_PAGE/VM_WARN_ON_ONCE_PAGE checks are built in. Off in distro "
       "kernels (and in every preset); the oracles still see what happens next.",
       "include/linux/mmdebug.h",
       KNOB_FIELD(config_debug_vm, bool)},
      {"preempt_model",
       {"none", "voluntary", "full"},
       "Where a task loses its CPU to another task of the same CPU: none = only on return to "
       "user space (between ops) or when it sleeps; voluntary = also at cond_resched() points; "
       "full = at any preemption point outside IRQ-off, preempt-off, spinlock and RCU read "
       "sections. Presets use voluntary (distribution kernels' default).",
       "kernel/Kconfig.preempt: PREEMPT_NONE, PREEMPT_VOLUNTARY, PREEMPT",
       KNOB_FIELD(preempt_model, PreemptModel)},
      {"alloc_mmap_refcount_warn",
       {"on_zero", "on_nonzero"},
       "0-based era, with config_debug_vm: p2pmem_alloc_mmap()'s VM_WARN_ON_ONCE_PAGE before "
       "set_page_count(page, 1) fires on a free page (refcount 0, as released: every mmap warns) "
       "or on a page still in use (the fix).",
       "b7e282378773 (as released; in 6.18.2 and 6.19.0), cb500023a752 (the fix; in 6.19.9 and 7.0)",
       KNOB_FIELD(alloc_mmap_refcount_warn, AllocMmapRefcountWarn)},
      {"gup_longterm_p2pdma",
       {"slow_path", "up_front", "never"},
       "Where GUP refuses FOLL_LONGTERM together with FOLL_PCI_P2PDMA: only in the slow path's "
       "check_vma_flags() with -EOPNOTSUPP, so GUP-fast long-term pins a P2PDMA page with a "
       "writable PTE (RFC v4/v5, v6.2); in is_valid_gup_args() with -EINVAL before any walk "
       "(6.11 on); or nowhere (RFC v3: GUP-fast bails on a devmap PTE, the slow path pins).",
       "mm/gup.c check_vma_flags (v6.2), is_valid_gup_args (6.11.11, 6.18.2); RFC v3 14/20 and "
       "v4 'mm: introduce FOLL_PCI_P2PDMA to gate getting PCI P2PDMA pages'",
       KNOB_FIELD(gup_longterm_p2pdma, GupLongtermP2pdma)},
      {"dio_pins_pages",
       {"false", "true"},
       "Direct I/O takes its user pages with FOLL_PIN (and unpins at completion) instead of "
       "FOLL_GET page references.",
       "David Howells, 'block: convert bio_map_user_iov/__bio_iov_iter_get_pages to "
       "iov_iter_extract_pages' (v6.5)",
       KNOB_FIELD(dio_pins_pages, bool)},
      {"config_preempt_rcu",
       {"false", "true"},
       "CONFIG_PREEMPT_RCU: on in a preemptible build, which PREEMPT_DYNAMIC (default y on x86) makes "
       "of every build whatever preempt_model it boots with; off only in a build with PREEMPT_NONE or "
       "PREEMPT_VOLUNTARY and no PREEMPT_DYNAMIC. A reader that sleeps (a bug) then WARNs and keeps "
       "grace periods waiting; without it the sleep is a quiescent state. preempt_model full needs it. "
       "The presets say on; the RFC presets' bases (5.15, 5.17) were not read.",
       "kernel/Kconfig.preempt PREEMPT_DYNAMIC 'default y if HAVE_PREEMPT_DYNAMIC_CALL' and "
       "kernel/rcu/Kconfig PREEMPT_RCU (v6.2, 7.0); kernel/rcu/tree_plugin.h rcu_note_context_switch() (v6.2)",
       KNOB_FIELD(config_preempt_rcu, bool)},
      {"map_types_gfp",
       {"kernel", "atomic"},
       "calc_map_type_and_dist() caches the map type with xa_store() inside rcu_read_lock(): with "
       "GFP_KERNEL a node allocation that finds no memory sleeps in reclaim inside the RCU read "
       "section (v5.14-v6.8); GFP_ATOMIC never sleeps (v6.9 on).",
       "ae21f835a5bd 'PCI/P2PDMA: Finish RCU conversion of pdev->p2pdma' (v5.14); 1e5c66afd4a4 "
       "'PCI/P2PDMA: Fix a sleeping issue in a RCU read section' (v6.9, in 6.8.y stable)",
       KNOB_FIELD(map_types_gfp, MapTypesGfp)},
      {"vfio_dmabuf",
       {"none", "no_pin_op", "pin_refused"},
       "vfio-pci's dma-buf export of BAR ranges: absent (before v6.19: -ENOTTY); without a ->pin, "
       "so a pinning importer's dma_buf_pin() succeeds and its move_notify only warns (v6.19-rc1 "
       "to rc7); with a ->pin that refuses (-EOPNOTSUPP): a pinning importer attaches, but its dma_buf_pin() fails.",
       "5d74781ebc86 'vfio/pci: Add dma-buf export support for MMIO regions' (v6.19-rc1); "
       "61ceaf236115 'vfio: Prevent from pinned DMABUF importers to attach to VFIO DMABUF' (v6.19-rc8)",
       KNOB_FIELD(vfio_dmabuf, VfioDmabuf)},
      {"vfio_dmabuf_fd_error_path",
       {"unwind_chain", "put_only"},
       "vfio_pci_core_feature_dma_buf() when dma_buf_fd() fails (no free fd; fault site dma_buf_fd): "
       "v6.19.0-6.19.10 put the dma-buf and then fall through the whole unwind chain, putting the "
       "device registration that the dma-buf's release puts again and freeing priv while it is still "
       "on the device's list and its release is pending; the fix only puts the dma-buf.",
       "e98137f0a874 'vfio/pci: Fix double free in dma-buf feature' (Alex Williamson, Mar 2026, 7.0; "
       "6.19.11 as 83ad334afc9a; CVE-2026-31468)",
       KNOB_FIELD(vfio_dmabuf_fd_error_path, VfioDmabufFdErrorPath)},
      {"vfio_dmabuf_revoke_drain",
       {"none", "wait_unmap", "wait_unmap_once"},
       "Whether revoking a vfio dma-buf waits for its importers: not at all (v6.19, 7.0); until every "
       "mapping is unmapped, with a kref per mapping and a completion, drained both by the revoke of a "
       "PCI_COMMAND write and again by the last close's cleanup, so a close after memory was turned "
       "off puts the kref below zero and waits forever (7.1-rc1); or with the cleanup draining "
       "through the revoke path, which re-arms the kref (the fix).",
       "1a8a5227f229 'vfio: Wait for dma-buf invalidation to complete' (7.1-rc1); c64a647c84f3 "
       "'vfio/pci: fix dma-buf kref underflow after revoke' (Alex Williamson, May 2026, 7.1-rc3)",
       KNOB_FIELD(vfio_dmabuf_revoke_drain, VfioDmabufRevokeDrain)},
      {"vfio_close_order",
       {"disable_then_cleanup", "cleanup_then_disable"},
       "vfio_pci_core_close_device(): vfio_pci_core_disable() (memory decoding off, reset) before "
       "vfio_pci_dma_buf_cleanup() revokes the dma-bufs (v6.19), or the revoke first.",
       "drivers/vfio/pci/vfio_pci_core.c (v6.19); Matt Evans, '[RFC PATCH 2/7] vfio/pci: Clean up "
       "DMABUFs before disabling function' (Feb 2026)",
       KNOB_FIELD(vfio_close_order, VfioCloseOrder)},
      {"vfio_memory_disable_order",
       {"zap_then_revoke", "revoke_then_zap"},
       "A PCI_COMMAND write clearing MEMORY: under memory_lock, zap the BAR mmaps then revoke the "
       "dma-bufs (v6.19's vfio_basic_config_write), or revoke first (the order its hot reset uses).",
       "drivers/vfio/pci/vfio_pci_config.c vfio_basic_config_write, vfio_pci_core.c "
       "vfio_pci_dev_set_hot_reset (v6.19)",
       KNOB_FIELD(vfio_memory_disable_order, VfioMemoryDisableOrder)},
      {"vfio_dmabuf_map_checks_revoked",
       {"false", "true"},
       "Protocol step (true in every kernel): vfio_pci_dma_buf_map() returns -ENODEV for a revoked "
       "dma-buf. false removes the check, so an importer re-maps a revoked BAR.",
       "drivers/vfio/pci/vfio_pci_dmabuf.c vfio_pci_dma_buf_map (v6.19)",
       KNOB_FIELD(vfio_dmabuf_map_checks_revoked, bool)},
      {"vfio_remove_waits",
       {"false", "true"},
       "Protocol step (true in every kernel): vfio_unregister_group_dev() waits until every "
       "registration (each open device fd, each exported dma-buf) is back, so the p2pdma_provider "
       "is freed only after the last close revoked the dma-bufs. false asks userspace once and "
       "returns: devm frees the provider before anything is revoked.",
       "drivers/vfio/vfio_main.c vfio_unregister_group_dev; vfio_pci_dmabuf.c "
       "vfio_device_try_get_registration (7.0.0)",
       KNOB_FIELD(vfio_remove_waits, bool)},
      {"importer_move_notify_waits",
       {"false", "true"},
       "The RDMA importer's move_notify (mlx5 XLT_ZAP UMR, waited for): true = its completion comes "
       "only after every DMA that translated through the old mkey landed (the model's assumption: "
       "umr.c promises it for mlx5r_umr_revoke_mr, not in so many words for the zap); false = "
       "move_notify returns with DMA still on the wire, as it does when the UMR post fails (device in "
       "internal error: -EIO without waiting, and invalidate_cb ignores the result and unmaps).",
       "drivers/infiniband/hw/mlx5/mr.c mlx5_ib_dmabuf_invalidate_cb, umr.c mlx5r_umr_post_send_wait, "
       "mlx5r_umr_post_send, mlx5r_umr_revoke_mr",
       KNOB_FIELD(importer_move_notify_waits, bool)},
      {"config_dmabuf_move_notify",
       {"false", "true"},
       "CONFIG_DMABUF_MOVE_NOTIFY (EXPERIMENTAL, Kconfig default n; off in every preset): with it, "
       "dynamic importers are not pinned at map. Without it dma_buf_map_attachment() calls the "
       "exporter's ->pin for every importer, so from 61ceaf236115 on no importer can map a vfio-pci "
       "dma-buf (-EOPNOTSUPP) except iommufd, which does not map through dma-buf.",
       "drivers/dma-buf/Kconfig, dma-buf.c dma_buf_pin_on_map (7.0.0)",
       KNOB_FIELD(config_dmabuf_move_notify, bool)},
  };
  return specs;
}
#undef KNOB_FIELD

namespace {
const KnobSpec* find_spec(const std::string& name) {
  for (const auto& s : knob_specs())
    if (name == s.name) return &s;
  return nullptr;
}
std::string join(const std::vector<const char*>& v) {
  std::string out;
  for (const char* x : v) out += std::string(out.empty() ? "" : ", ") + x;
  return out;
}
}  // namespace

std::string knob_value(const Knobs& k, const std::string& name) {
  const KnobSpec* s = find_spec(name);
  return s ? s->values[s->get(k)] : "";
}

std::optional<std::string> set_knob(Knobs& k, const std::string& name, const std::string& value) {
  const KnobSpec* s = find_spec(name);
  if (!s) {
    std::vector<const char*> names;
    for (const auto& sp : knob_specs()) names.push_back(sp.name);
    return fmt::format("unknown knob '{}'; known knobs: {}", name, join(names));
  }
  for (size_t i = 0; i < s->values.size(); ++i)
    if (value == s->values[i]) {
      s->set(k, static_cast<int>(i));
      return std::nullopt;
    }
  return fmt::format("bad value '{}' for knob '{}'; expected one of: {}", value, name, join(s->values));
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = [] {
    std::vector<Preset> v;
    Knobs rfc_v3;
    rfc_v3.mmap_design = MmapDesign::rfc_fault_alloc;
    rfc_v3.rfc_free_deferral = RfcFreeDeferral::immediate;
    rfc_v3.refcount_era = RefcountEra::one_based;
    rfc_v3.gup_longterm_p2pdma = GupLongtermP2pdma::never;
    rfc_v3.pfnmap_unlink_flush = PfnmapUnlinkFlush::none;  // mainline before b67fbebd4cf9
    rfc_v3.mmap_prealloc = MmapPrealloc::none;              // no maple tree before 6.1
    rfc_v3.pagefault_oom = PagefaultOom::oom_killer;        // before 60e2793d440a (v5.16)
    v.push_back({"rfc-v3", "RFC v3 (Sept 2021) on v5.15-rc1", rfc_v3, PgtableFree::page_batch});
    Knobs rfc_v5 = rfc_v3;
    rfc_v5.rfc_free_deferral = RfcFreeDeferral::rcu;
    rfc_v5.gup_longterm_p2pdma = GupLongtermP2pdma::slow_path;  // v4 added check_vma_flags()
    // Posted on v5.17-rc1 with Ralph Campbell's "mm: remove extra ZONE_DEVICE
    // struct page refcount" (v5 02/24): idle pages at 0, page_free at 0.
    rfc_v5.refcount_era = RefcountEra::zero_based;
    rfc_v5.pagefault_oom = PagefaultOom::retry;  // 5.17-rc1 has 60e2793d440a
    v.push_back({"rfc-v5",
                 "RFC v5 (Jan 2022) on v5.17-rc1 + 'mm: remove extra ZONE_DEVICE struct page refcount': "
                 "RCU-deferred return to genalloc, idle pages at refcount 0",
                 rfc_v5, PgtableFree::page_batch});
    Knobs v62;
    v62.mmap_design = MmapDesign::upstream_alloc_mmap;
    v62.refcount_era = RefcountEra::free_at_zero_reset_to_one;
    v62.alloc_mmap_error_puts_pgmap_ref = false;
    v62.pfnmap_unlink_flush = PfnmapUnlinkFlush::tlb_end_vma;
    v.push_back({"v6.2", "Linux v6.2: first upstream p2pmem mmap", v62, PgtableFree::page_batch});
    // Linux as mm-unstable had it in Nov 2022 (v6.1-rc1 + Dan Williams'
    // DAX-gup v3 and pgmap_request_folio()), with v6.2's p2pmem_alloc_mmap()
    // converted to request its pages: that conversion is an analogy, no
    // patch did it (docs/scenarios/pgmap_request_folio.md).
    Knobs dax_gup = v62;
    dax_gup.refcount_era = RefcountEra::per_folio_pgmap_ref;
    v.push_back({"pgmap-request-folio",
                 "mm-unstable Nov 2022: DAX-gup v3 + pgmap_request_folio() (never merged), with "
                 "p2pmem_alloc_mmap() converted to request its pages (an analogy: no patch did)",
                 dax_gup, PgtableFree::page_batch});
    Knobs v615 = v62;
    v615.dio_pins_pages = true;
    v615.gup_longterm_p2pdma = GupLongtermP2pdma::up_front;
    v615.alloc_mmap_refcount_warn = AllocMmapRefcountWarn::on_zero;
    v615.refcount_era = RefcountEra::zero_based;
    v615.map_types_gfp = MapTypesGfp::atomic;  // 1e5c66afd4a4, v6.9
    v615.pci_disconnect_device_lock = false;   // read absent in 6.14.0
    v615.iommu_store_type_check = IommuStoreTypeCheck::owner_cnt;  // read in 6.14.0
    v615.mmap_prealloc = MmapPrealloc::before_mmap;                 // read in 6.14.0
    v.push_back({"v6.15", "Linux v6.15: 0-based ZONE_DEVICE refcount; x86 frees page tables by RCU", v615,
                 PgtableFree::rcu});
    Knobs latest = v615;
    latest.alloc_mmap_error_puts_pgmap_ref = true;
    latest.alloc_mmap_refcount_warn = AllocMmapRefcountWarn::on_nonzero;
    latest.vfio_dmabuf = VfioDmabuf::pin_refused;
    latest.pfnmap_unlink_flush = PfnmapUnlinkFlush::free_pgtables;  // v6.16
    latest.p2pdma_unmap_mappings_arg = UnmapMappingsArg::pgmap;        // read in 6.19.0 and 7.0
    v.push_back({"latest",
                 "Linux 7.0: 0-based refcounts, the p2pmem_alloc_mmap() error-path fixes "
                 "(6220694c52a5, 83014d82a110), vfio-pci dma-buf export with pinning importers refused",
                 latest, PgtableFree::rcu});
    return v;
  }();
  return all;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& p : presets())
    if (name == p.name) return &p;
  return nullptr;
}

namespace {
std::optional<std::string> set_platform_knobs(Knobs& k, TlbFlush flush, PgtableFree tables,
                                              bool merge_vmas = true) {
  k.tlb_flush = flush;
  k.pgtable_free = tables;
  k.mmu_gather_merge_vmas = merge_vmas;
  return std::nullopt;
}
}  // namespace

const std::vector<Platform>& platforms() {
  static const std::vector<Platform> all = {
      {"x86",
       "x86-64 bare metal: native_flush_tlb_multi() sends IPIs and waits for them; page tables go "
       "with the page batch before v6.15 and by RCU from v6.15",
       "arch/x86/mm/tlb.c, arch/x86/kernel/paravirt.c (v6.2); a37259732a7d (v6.15)",
       [](Knobs& k, const Preset& p) { return set_platform_knobs(k, TlbFlush::ipi_wait, p.x86_pgtable_free); }},
      {"x86-pv-guest",
       "x86-64 KVM or Xen guest with paravirt TLB flush: KVM defers the flush of a preempted vCPU "
       "(kvm_flush_tlb_multi), Xen flushes by hypercall, so nothing waits for a vCPU stopped with "
       "IRQs off; page tables freed by RCU (paravirt tlb_remove_table)",
       "arch/x86/kernel/kvm.c kvm_flush_tlb_multi, arch/x86/xen/mmu_pv.c (v6.2)",
       [](Knobs& k, const Preset&) { return set_platform_knobs(k, TlbFlush::no_wait, PgtableFree::rcu); }},
      {"arm64",
       "arm64: broadcast TLBI + DSB ISH, no IPI; MMU_GATHER_RCU_TABLE_FREE; a gather flushes at "
       "every VMA's end (no MMU_GATHER_MERGE_VMAS)",
       "arch/arm64/include/asm/tlbflush.h __flush_tlb_range, arch/arm64/Kconfig (v6.2); "
       "arch/arm64/include/asm/tlb.h (v5.15: no tlb_end_vma of its own)",
       [](Knobs& k, const Preset&) {
         return set_platform_knobs(k, TlbFlush::no_wait, PgtableFree::rcu, /*merge_vmas=*/false);
       }},
      {"x86-invlpgb",
       "x86-64 AMD with INVLPGB broadcast flush for the mm (from v6.15, for some processes): no IPI "
       "to wait for; page tables by RCU",
       "arch/x86/mm/tlb.c broadcast flush (read in a 6.17 tree)",
       [](Knobs& k, const Preset& p) -> std::optional<std::string> {
         if (p.x86_pgtable_free != PgtableFree::rcu)
           return fmt::format("platform x86-invlpgb needs a kernel from v6.15 on; preset {} is older", p.name);
         return set_platform_knobs(k, TlbFlush::no_wait, PgtableFree::rcu);
       }},
  };
  return all;
}

const Platform* find_platform(const std::string& name) {
  for (const auto& p : platforms())
    if (name == p.name) return &p;
  return nullptr;
}

}  // namespace p2psim::kern
