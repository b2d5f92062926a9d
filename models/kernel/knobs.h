// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace p2psim::kern {

/// Which userspace mapping of p2pmem the kernel has (docs/model.md "Kernel model").
enum class MmapDesign {
  rfc_fault_alloc,      ///< RFC v3-v5 pci_mmap_p2pmem(): allocate on first fault, vmf_insert_mixed
  upstream_alloc_mmap,  ///< v6.2+ p2pmem_alloc_mmap(): allocate at mmap, vm_insert_page
};
/// When RFC-design pages go back to genalloc after the mapping is gone.
enum class RfcFreeDeferral { immediate, rcu };
/// Idle ZONE_DEVICE page refcount era (docs/model.md "Kernel model").
enum class RefcountEra {
  one_based,                  ///< <= v5.17: idle count 1, devmap-managed page_free on 2 -> 1
  free_at_zero_reset_to_one,  ///< v5.18 - v6.14: freed at 0, then reset to 1
  zero_based,                 ///< >= v6.15: idle count 0
  /// Dan Williams' DAX-gup rework (mm-unstable, Oct-Dec 2022, never merged):
  /// idle at 0, one pgmap ref per active folio, taken by
  /// pgmap_request_folio() on 0 -> 1 and dropped when the folio is freed.
  per_folio_pgmap_ref,
};
/// How a TLB flush reaches other CPUs: a platform property.
enum class TlbFlush {
  ipi_wait,  ///< synchronous IPI to every CPU in mm_cpumask; a CPU with IRQs off holds it up
  no_wait,   ///< an invalidation that waits for no CPU's IRQs (arm64 TLBI, paravirt, INVLPGB)
};
/// How page tables are freed after an unmap.
enum class PgtableFree {
  page_batch,  ///< with the gather's pages, after the flush (x86 bare metal before v6.15)
  rcu,         ///< MMU_GATHER_RCU_TABLE_FREE: after an RCU grace period
};

/// Where mmap_region() preallocates the VMA tree's nodes (a GFP_KERNEL
/// allocation that can fail): nowhere (5.15, 5.17 link the VMA without
/// one), after ->mmap (6.2: the error path closes the VMA and unmaps what
/// ->mmap inserted), before ->mmap (6.14 and 7.0's vma_iter_prealloc()).
enum class MmapPrealloc { none, after_mmap, before_mmap };
/// The argument pci_p2pdma_add_resource() registers its unmap action with.
enum class UnmapMappingsArg { pdev, pgmap };
/// What the x86 fault handler does with a user fault's VM_FAULT_OOM.
enum class PagefaultOom { retry, oom_killer };

/// What refuses an IOMMU group type change while a driver is bound.
enum class IommuStoreTypeCheck { device_bound, owner_cnt };

/// Where munmap() flushes a VM_PFNMAP/VM_MIXEDMAP VMA's TLB entries before it
/// unlinks the VMA from the file's i_mmap (unlink_file_vma()), on an
/// architecture that merges VMAs in one gather (x86). After the unlink,
/// unmap_mapping_range() no longer sees the VMA, so a driver revoking the
/// range gets no nested-gather flush either.
enum class PfnmapUnlinkFlush {
  none,          ///< before b67fbebd4cf9 (v5.19): x86's tlb_end_vma() is empty; the flush is at tlb_finish_mmu()
  tlb_end_vma,   ///< v5.19 to v6.15: tlb_end_vma() flushes for such a VMA
  free_pgtables, ///< from v6.16: free_pgtables() flushes before the unlink (tlb_free_vmas())
};

/// RFC v3: never refused (GUP-fast only bails on a devmap PTE with
/// FOLL_LONGTERM); RFC v4/v5 and v6.2: only the slow path's
/// check_vma_flags() refuses (-EOPNOTSUPP), so GUP-fast can long-term pin a
/// P2PDMA page through a normal PTE; by v6.11 is_valid_gup_args() refuses
/// the combination before any walk (-EINVAL).
enum class GupLongtermP2pdma { slow_path, up_front, never };

/// b7e282378773 warned when the refcount is 0 (every free page);
/// cb500023a752 inverted the condition to warn on a page still in use.
enum class AllocMmapRefcountWarn { on_zero, on_nonzero };

/// CONFIG_PREEMPT_NONE / _VOLUNTARY / PREEMPT (full): where a task can lose
/// its CPU to another task of the same CPU.
enum class PreemptModel { none, voluntary, full };

/// The gfp flags of calc_map_type_and_dist()'s xa_store() into map_types,
/// inside its rcu_read_lock() section.
enum class MapTypesGfp {
  kernel,  ///< v5.14 (ae21f835a5bd) to v6.8: GFP_KERNEL, which may sleep
  atomic,  ///< v6.9 on (1e5c66afd4a4): GFP_ATOMIC
};

/// vfio-pci's dma-buf export of BAR ranges (VFIO_DEVICE_FEATURE_DMA_BUF).
enum class VfioDmabuf {
  none,         ///< before v6.19: no such feature (-ENOTTY)
  no_pin_op,    ///< v6.19-rc1..rc7: no ->pin, so dma_buf_pin() succeeds for a pinning importer
  pin_refused,  ///< 61ceaf236115 (v6.19-rc8): ->pin returns -EOPNOTSUPP
};
/// vfio_pci_core_feature_dma_buf() when dma_buf_fd() finds no free fd.
enum class VfioDmabufFdErrorPath {
  unwind_chain,  ///< v6.19.0-6.19.10: dma_buf_put(), then the whole unwind (registration put, kfree(priv))
  put_only,      ///< e98137f0a874 (7.0, 6.19.11): dma_buf_put() and return; its release undoes the rest
};
/// Whether a vfio dma-buf revoke waits until every importer unmapped.
enum class VfioDmabufRevokeDrain {
  none,             ///< v6.19, 7.0: the revoke tells the importers and waits for nothing
  wait_unmap,       ///< 1a8a5227f229 (7.1-rc1): a kref per mapping and a completion; move() and cleanup() each drain
  wait_unmap_once,  ///< c64a647c84f3 (7.1-rc3): cleanup() drains through move(), which re-arms the kref
};
/// vfio_pci_core_close_device(): disable the function, then revoke the
/// dma-bufs (v6.19), or revoke first (Matt Evans' RFC, Feb 2026).
enum class VfioCloseOrder { disable_then_cleanup, cleanup_then_disable };
/// PCI_COMMAND.MEMORY cleared through vfio: zap the BAR mmaps then revoke
/// the dma-bufs (v6.19's config write), or revoke first (as its hot reset does).
enum class VfioMemoryDisableOrder { zap_then_revoke, revoke_then_zap };

/**
 * struct Knobs - every kernel behaviour a scenario can observe, one knob each.
 * Presets set all of them; `--set knob=value` overrides one.
 */
struct Knobs {
  MmapDesign mmap_design = MmapDesign::upstream_alloc_mmap;
  RfcFreeDeferral rfc_free_deferral = RfcFreeDeferral::immediate;
  RefcountEra refcount_era = RefcountEra::free_at_zero_reset_to_one;
  TlbFlush tlb_flush = TlbFlush::ipi_wait;
  PgtableFree pgtable_free = PgtableFree::page_batch;
  /// Platform axis: CONFIG_MMU_GATHER_MERGE_VMAS (x86): tlb_end_vma() does
  /// not flush between VMAs of one gather (arm64 flushes at every VMA end).
  bool mmu_gather_merge_vmas = true;
  PfnmapUnlinkFlush pfnmap_unlink_flush = PfnmapUnlinkFlush::tlb_end_vma;
  /// pci_dev_set_disconnected() takes the device lock (5.15, 6.2), so a
  /// surprise removal waits for an unbind in progress before marking the
  /// function gone; 6.14 and 7.0 mark it without the lock.
  bool pci_disconnect_device_lock = true;
  /// sysfs iommu_groups/N/type: refused for a bound driver by
  /// device_is_bound() under the device lock (-EBUSY, v6.2), or by the
  /// group's DMA owner count under the group mutex (-EPERM, 6.14, 7.0).
  IommuStoreTypeCheck iommu_store_type_check = IommuStoreTypeCheck::device_bound;
  MmapPrealloc mmap_prealloc = MmapPrealloc::after_mmap;
  PagefaultOom pagefault_oom = PagefaultOom::retry;
  UnmapMappingsArg p2pdma_unmap_mappings_arg = UnmapMappingsArg::pdev;
  bool alloc_mmap_error_puts_pgmap_ref = false;
  /// CONFIG_DEBUG_VM: VM_BUG_ON/VM_WARN_ON checks are compiled in.
  bool config_debug_vm = false;
  /// Direct I/O pins user pages (FOLL_PIN, >= v6.5) instead of taking refs (FOLL_GET).
  bool dio_pins_pages = false;
  PreemptModel preempt_model = PreemptModel::voluntary;
  /// CONFIG_PREEMPT_RCU: a preemptible build (PREEMPT, or PREEMPT_DYNAMIC
  /// whatever the boot-time model); a reader that sleeps blocks grace periods.
  bool config_preempt_rcu = true;
  /// p2pmem_alloc_mmap()'s CONFIG_DEBUG_VM check before set_page_count(page, 1)
  /// (0-based era): as released, it warns on a free page (refcount 0).
  AllocMmapRefcountWarn alloc_mmap_refcount_warn = AllocMmapRefcountWarn::on_nonzero;
  /// Where FOLL_LONGTERM together with FOLL_PCI_P2PDMA is refused.
  GupLongtermP2pdma gup_longterm_p2pdma = GupLongtermP2pdma::slow_path;
  MapTypesGfp map_types_gfp = MapTypesGfp::kernel;
  VfioDmabuf vfio_dmabuf = VfioDmabuf::none;
  VfioDmabufFdErrorPath vfio_dmabuf_fd_error_path = VfioDmabufFdErrorPath::put_only;
  VfioDmabufRevokeDrain vfio_dmabuf_revoke_drain = VfioDmabufRevokeDrain::none;
  VfioCloseOrder vfio_close_order = VfioCloseOrder::disable_then_cleanup;
  VfioMemoryDisableOrder vfio_memory_disable_order = VfioMemoryDisableOrder::zap_then_revoke;
  // Protocol steps a scenario can remove, each true in every kernel.
  bool vfio_dmabuf_map_checks_revoked = true;   ///< vfio_pci_dma_buf_map() refuses a revoked dma-buf
  bool vfio_remove_waits = true;                ///< remove() waits until every registration is back
  bool importer_move_notify_waits = true;       ///< the importer's move_notify waits for DMA in flight
  /// CONFIG_DMABUF_MOVE_NOTIFY (Kconfig default n): without it an exporter
  /// with ->pin is pinned at every map, dynamic importers too.
  bool config_dmabuf_move_notify = false;
};

/**
 * struct KnobSpec - one knob: its values, documentation, and how to read and
 * write it in a Knobs. Value i of @values is enum value i (bools: false, true).
 */
struct KnobSpec {
  const char* name;
  std::vector<const char*> values;  ///< allowed values, in order
  const char* doc;
  const char* source;  ///< commit or series it models
  int (*get)(const Knobs&);
  void (*set)(Knobs&, int);
};

const std::vector<KnobSpec>& knob_specs();
/// Current value of @name as its string, e.g. "no_wait".
std::string knob_value(const Knobs& k, const std::string& name);
/// Set @name to @value. Returns an error text, or nullopt on success.
std::optional<std::string> set_knob(Knobs& k, const std::string& name, const std::string& value);

/**
 * struct Preset - a kernel release or patch series: every knob but the
 * platform's two. @x86_pgtable_free: how x86 bare metal frees page tables in
 * this version (through the page batch before v6.15; by RCU from a37259732a7d).
 */
struct Preset {
  const char* name;
  const char* doc;
  Knobs knobs;
  PgtableFree x86_pgtable_free;
};
const std::vector<Preset>& presets();
const Preset* find_preset(const std::string& name);

/**
 * struct Platform - the machine a kernel runs on, the second preset axis:
 * it sets tlb_flush and pgtable_free for a kernel version.
 */
struct Platform {
  const char* name;
  const char* doc;
  const char* source;
  /// Apply to @k for kernel @preset; an error text if the pair never existed.
  std::optional<std::string> (*apply)(Knobs& k, const Preset& preset);
};
const std::vector<Platform>& platforms();
const Platform* find_platform(const std::string& name);
constexpr const char* kDefaultPlatform = "x86";

}  // namespace p2psim::kern
