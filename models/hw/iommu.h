// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hw/pci_topology.h"
#include "common/time.h"

namespace p2psim::hw {

/// IOMMU page size and IOVA granule: 4 KiB (VT-d / AMD-Vi second level, smallest page).
constexpr uint64_t kIommuPageShift = 12;
constexpr uint64_t kIommuPageSize = 1ULL << kIommuPageShift;

/// iommu_map() prot bits (include/linux/iommu.h).
namespace prot {
constexpr int kRead = 1 << 0;   ///< IOMMU_READ: the device may read memory
constexpr int kWrite = 1 << 1;  ///< IOMMU_WRITE: the device may write memory
constexpr int kCache = 1 << 2;  ///< IOMMU_CACHE
constexpr int kMmio = 1 << 4;   ///< IOMMU_MMIO
}  // namespace prot

/**
 * class IovaDomain - struct iova_domain of drivers/iommu/iova.c (v6.2): the
 * allocated IOVA ranges, in pfns of the granule, kept in an ordered map that
 * stands for the rbtree (key pfn_lo), with the anchor node at IOVA_ANCHOR and
 * the two cached nodes the top-down search starts from.
 *
 * Not modelled: the per-CPU rcache (iova_rcache_get/insert, magazines of 127
 * pfns for sizes below 32 pages). In the kernel free_iova_fast() of such a size
 * parks the pfn in the CPU's magazine, where it stays allocated in the rbtree,
 * and the next alloc_iova_fast() of the same order pops it LIFO. Here every
 * free goes straight back to the tree (as when the rcache is empty/flushed), so
 * a freed range is reused only through the tree's top-down search. The size
 * rounding that exists because of the rcache is modelled.
 */
class IovaDomain {
 public:
  /// IOVA_ANCHOR: the anchor node sits above the top of the usable space.
  static constexpr uint64_t kAnchor = ~0ULL;
  /// IOVA_RANGE_CACHE_MAX_SIZE: log2 of the largest cached range (pages).
  static constexpr unsigned kRangeCacheMaxSize = 6;

  /// init_iova_domain(): @granule bytes (a power of 2), lowest usable pfn @start_pfn.
  explicit IovaDomain(uint64_t granule = kIommuPageSize, uint64_t start_pfn = 1);

  /// alloc_iova(): pfn_lo of a new range of @size pfns ending at or below
  /// @limit_pfn (inclusive); nullopt if none fits.
  std::optional<uint64_t> alloc_iova(uint64_t size, uint64_t limit_pfn, bool size_aligned);
  /// alloc_iova_fast(): sizes below 32 pfns rounded up to a power of 2, size
  /// aligned; 0 on failure (pfn 0 is never handed out, start_pfn >= 1).
  uint64_t alloc_iova_fast(uint64_t size, uint64_t limit_pfn, bool flush_rcache);
  /// free_iova(): frees the range containing @pfn (no-op if none).
  void free_iova(uint64_t pfn);
  /// free_iova_fast(): without an rcache, free_iova().
  void free_iova_fast(uint64_t pfn, uint64_t size);
  /// reserve_iova(): marks [pfn_lo, pfn_hi] as never to be allocated. This
  /// model only takes ranges that overlap nothing or only other reserved
  /// ranges (merged); overlapping an allocation is a ModelBug.
  void reserve_iova(uint64_t pfn_lo, uint64_t pfn_hi);

  /// find_iova(): the [pfn_lo, pfn_hi] containing @pfn.
  std::optional<std::pair<uint64_t, uint64_t>> find_iova(uint64_t pfn) const;
  /// Allocated (and reserved) ranges, pfn_lo -> pfn_hi, anchor excluded.
  std::map<uint64_t, uint64_t> ranges() const;

  uint64_t granule() const { return granule_; }
  /// The lowest pfn alloc_iova() ever handed out (kAnchor: none yet).
  uint64_t lowest_allocated_pfn() const { return lowest_allocated_; }
  unsigned shift() const { return shift_; }
  uint64_t start_pfn() const { return start_pfn_; }
  uint64_t dma_32bit_pfn() const { return dma_32bit_pfn_; }
  uint64_t max32_alloc_size() const { return max32_alloc_size_; }
  /// pfn_lo of cached32_node / cached_node (kAnchor when at the anchor).
  uint64_t cached32_node() const { return cached32_; }
  uint64_t cached_node() const { return cached_; }

 private:
  bool alloc_and_insert_range(uint64_t size, uint64_t limit_pfn, bool size_aligned, uint64_t* pfn_lo);
  void cached_rbnode_insert_update(uint64_t lo, uint64_t hi);
  void cached_rbnode_delete_update(uint64_t lo, uint64_t hi);

  uint64_t granule_;
  unsigned shift_;
  uint64_t start_pfn_;
  uint64_t dma_32bit_pfn_;
  uint64_t max32_alloc_size_;
  std::map<uint64_t, uint64_t> tree_;  ///< the rbtree: pfn_lo -> pfn_hi, anchor included
  std::map<uint64_t, bool> reserved_;  ///< pfn_lo of reserve_iova() nodes
  uint64_t lowest_allocated_ = kAnchor;
  uint64_t cached32_ = kAnchor;        ///< cached32_node (a key of tree_)
  uint64_t cached_ = kAnchor;          ///< cached_node (a key of tree_)
};

/// iommu_domain types (IOMMU_DOMAIN_*). dma_fq: translated with the flush queue (lazy).
enum class DomainType { blocked, identity, dma, dma_fq };
const char* to_string(DomainType type);

using DomainId = uint32_t;
constexpr DomainId kNoDomain = UINT32_MAX;

/// Why a translation faulted.
enum class FaultReason {
  none,
  blocked,      ///< the device's domain is a blocked domain
  not_present,  ///< no I/O PTE for the IOVA
  no_read,      ///< PTE without IOMMU_READ, device read
  no_write,     ///< PTE without IOMMU_WRITE, device write
};
const char* to_string(FaultReason reason);

/**
 * struct Translation - the outcome of one DMA through the IOMMU.
 * @ok: every page translated; @phys: physical address of the first byte.
 * @cost_ps: translation time added to the access (IOTLB misses; pages up to
 *           and including a fault).
 * @fault_reason, @fault_iova: the first faulting page.
 * @stale: some page was translated through an IOTLB entry whose PTE has since
 *         been unmapped or changed (lazy invalidation window).
 * @contiguous: the pages map to consecutive physical pages.
 */
struct Translation {
  bool ok = false;
  uint64_t phys = 0;
  ps_t cost_ps = 0;
  FaultReason fault_reason = FaultReason::none;
  uint64_t fault_iova = 0;
  bool stale = false;
  bool contiguous = true;
  uint32_t iotlb_hits = 0;
  uint32_t iotlb_misses = 0;
  ps_t walk_wait_ps = 0;  ///< of @cost_ps: waiting for a free page walker
};

/// One entry of the fault log (what a DMAR/AMD-Vi fault record carries).
struct IommuFault {
  ps_t time = 0;
  DeviceId device = kNoDevice;
  DomainId domain = kNoDomain;
  uint64_t iova = 0;
  bool write = false;
  FaultReason reason = FaultReason::none;
};

/**
 * struct IommuConfig - parameters (docs/anchors.md "IOMMU", "Reference numbers").
 * @iotlb_entries: IOTLB capacity in 4 KiB translations, fully associative, LRU.
 * @iotlb_miss_ps: page walk cost per missing translation (measured 230-290 ns).
 * @iotlb_hit_ps: cost of a hit.
 * @page_walkers: page walks the IOMMU does at once; a miss waits for a free
 *                walker, so misses cost throughput, not only latency. 0:
 *                unlimited. 7 is calibrated to pcie-bench: 64 B random DMA
 *                reads beyond the IOTLB's reach at about a third of the Gen3
 *                x8 link's 64 B read rate (7 x 64 B per 250 ns = 1.79 GB/s
 *                against 5.51; docs/anchors.md "IOMMU").
 * @invalidation_ps: one queued-invalidation round trip (VT-d qi_submit_sync():
 *                   an invalidation descriptor and a wait descriptor, the CPU
 *                   spinning with IRQs off until the hardware writes the
 *                   wait's status). Round trips complete in submission order,
 *                   one at a time. An estimate (docs/reports.md "IOMMU
 *                   invalidation"): no measurement of it is anchored.
 * @fq_size: IOVA_FQ_SIZE, ring slots per CPU (the ring holds fq_size - 1).
 * @fq_timeout_ps: IOVA_FQ_TIMEOUT (10 ms; the kernel rounds up to jiffies).
 * @ncpus: CPUs, each with its own flush queue.
 * @aperture_end: domain->geometry.aperture_end with force_aperture (VT-d,
 *                48-bit guest address width).
 */
struct IommuConfig {
  uint32_t iotlb_entries = 64;
  ps_t iotlb_miss_ps = 250ULL * 1000ULL;
  ps_t iotlb_hit_ps = 0;
  uint32_t page_walkers = 0;
  ps_t invalidation_ps = 1000ULL * 1000ULL;
  uint32_t fq_size = 256;
  ps_t fq_timeout_ps = 10ULL * 1000ULL * 1000ULL * 1000ULL;
  uint32_t ncpus = 1;
  uint64_t aperture_end = (1ULL << 48) - 1;
};

/// IOTLB counters.
struct IotlbStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t stale_hits = 0;
  uint64_t invalidations = 0;  ///< entries dropped by invalidation
  ps_t walk_wait_ps = 0;       ///< misses' total wait for a free page walker
  uint64_t flushes_all = 0;    ///< flush_iotlb_all() calls
  uint64_t round_trips = 0;    ///< queued-invalidation round trips (qi_submit_sync)
  ps_t cpu_wait_ps = 0;        ///< CPU time spent spinning on them (the flush timer's softirq included)
};

/// Flush-queue counters.
struct FlushQueueStats {
  uint64_t queued = 0;
  uint64_t flushes_full = 0;     ///< fq_flush_iotlb() because a ring was full
  uint64_t flushes_timeout = 0;  ///< fq_flush_timeout() runs
  uint64_t freed = 0;            ///< IOVAs given back by fq_ring_free()
};

/**
 * class Iommu - one IOMMU unit: per-device domains, I/O page tables, a shared
 * domain-tagged IOTLB and, per translated domain, the dma-iommu cookie (the
 * IovaDomain and, for dma_fq, the per-CPU flush queues and their timer).
 *
 * Time: every entry point that can observe or change the flush-queue state
 * takes @now and first runs the timer if it is due (run_timers()); nothing
 * reads a clock. Deterministic: all state is in ordered maps keyed by numbers.
 */
class Iommu {
 public:
  explicit Iommu(const IommuConfig& cfg = {});

  /// iommu_domain_alloc() + iommu_get_dma_cookie()/iommu_dma_init_domain():
  /// translated domains get an IovaDomain with start_pfn 1 and 4 KiB granule.
  DomainId alloc_domain(DomainType type);
  /// iommu_attach_device(): @dev issues DMA through @domain (several devices
  /// may share one, like an IOMMU group). kNoDomain detaches.
  void attach_device(DeviceId dev, DomainId domain);
  /// The device's domain, kNoDomain if none.
  DomainId domain_of(DeviceId dev) const;
  DomainType domain_type(DomainId domain) const;
  bool translates(DomainId domain) const;
  /// iommu_dma_init_fq() on a live dma domain (the sysfs DMA -> DMA-FQ
  /// switch): its per-CPU flush queues appear and unmaps from now on are
  /// queued; mappings and IOTLB entries stay. 0, or -EINVAL for a domain
  /// that is not a dma or dma_fq one (a dma_fq one is left alone).
  int init_fq(DomainId domain);

  /// iommu_map(): maps [iova, iova+size) to [phys, ...) page by page; all
  /// three must be page aligned. -EINVAL if misaligned or not a translated
  /// domain, -EEXIST if a page is already mapped (nothing changed then).
  int map(DomainId domain, uint64_t iova, uint64_t phys, uint64_t size, int prot);
  /// iommu_unmap_fast(): clears the PTEs, no IOTLB invalidation. Returns the
  /// bytes that were mapped.
  uint64_t unmap_fast(DomainId domain, uint64_t iova, uint64_t size);
  /// iommu_unmap(): unmap_fast() + iotlb sync of the range (strict).
  uint64_t unmap(DomainId domain, uint64_t iova, uint64_t size);
  /// iommu_iova_to_phys() on the page table (not the IOTLB).
  std::optional<uint64_t> iova_to_phys(DomainId domain, uint64_t iova) const;
  /// The PTE's prot bits, nullopt if not present.
  std::optional<int> pte_prot(DomainId domain, uint64_t iova) const;
  size_t mapped_pages(DomainId domain) const;

  /// iommu_iotlb_sync() on a range: drops the domain's IOTLB entries in it.
  void flush_iotlb_range(DomainId domain, uint64_t iova, uint64_t size);
  /// ops->flush_iotlb_all(): drops every IOTLB entry of the domain.
  void flush_iotlb_all(DomainId domain);
  /**
   * sync_invalidation() - the hardware side of a flush: one queued-
   * invalidation round trip submitted at @now (intel qi_submit_sync()). It
   * starts when the round trips submitted before it have completed and takes
   * invalidation_ps. Returns the time the submitting CPU waited (its spin
   * ends at @now plus that). No ATS is modelled, so no device-TLB round trip.
   */
  ps_t sync_invalidation(ps_t now);

  /**
   * translate() - a DMA of @size bytes at @iova by @dev. Identity domains
   * pass addresses through at no cost; translated domains look up every
   * 4 KiB page in the IOTLB (hit: iotlb_hit_ps; miss: walk the page table,
   * iotlb_miss_ps, fill with LRU replacement). A page without a PTE (and no
   * IOTLB entry) or without the needed permission is a fault: logged, and
   * the DMA stops there. A cached entry is used even if its PTE is gone.
   */
  Translation translate(DeviceId dev, uint64_t iova, uint64_t size, bool write, ps_t now);

  const std::vector<IommuFault>& faults() const { return faults_; }
  void clear_faults() { faults_.clear(); }
  const IotlbStats& iotlb_stats() const { return iotlb_stats_; }
  void reset_iotlb_stats() { iotlb_stats_ = {}; }
  size_t iotlb_size() const { return iotlb_.size(); }
  bool iotlb_contains(DomainId domain, uint64_t iova) const;

  // ---- dma-iommu.c cookie: IOVA allocation and the flush queue ----

  /// The domain's IovaDomain (translated domains only).
  IovaDomain& iovad(DomainId domain);
  const IovaDomain& iovad(DomainId domain) const;

  /**
   * dma_alloc_iova() - iommu_dma_alloc_iova() (v6.2): @size bytes (granule
   * aligned) below min_not_zero(@dma_limit, @bus_dma_limit); PCI devices with
   * a limit above 4 GiB try below 4 GiB first (the SAC trick). 0 on failure.
   */
  uint64_t dma_alloc_iova(DomainId domain, uint64_t size, uint64_t dma_limit, uint64_t bus_dma_limit,
                          bool dev_is_pci, ps_t now);
  /**
   * dma_free_iova() - iommu_dma_free_iova(): on a dma_fq domain with
   * @queued, queue_iova() on @cpu's ring; else free_iova_fast() at once.
   * Returns the time the caller waited: a full ring is flushed inline.
   */
  ps_t dma_free_iova(DomainId domain, uint64_t iova, uint64_t size, bool queued, uint32_t cpu, ps_t now);

  /// Runs fq_flush_timeout() if its timer is due at @now.
  void run_timers(ps_t now);
  /// The earliest pending flush-queue timer, nullopt if none is armed.
  std::optional<ps_t> next_timer() const;
  /// Entries waiting in the domain's rings (all CPUs).
  size_t fq_pending(DomainId domain) const;
  const FlushQueueStats& fq_stats() const { return fq_stats_; }
  /// The lowest IOVA any domain allocated (bytes; ~0: none).
  uint64_t lowest_iova() const;

  const IommuConfig& config() const { return cfg_; }

 private:
  struct Pte {
    uint64_t phys_pfn = 0;
    int prot = 0;
  };
  /// struct iova_fq_entry: pfn, pages, flush counter at queue time.
  struct FqEntry {
    uint64_t iova_pfn = 0;
    uint64_t pages = 0;
    uint64_t counter = 0;
  };
  /// struct iova_fq: a ring of fq_size slots, head..tail.
  struct FlushQueue {
    std::vector<FqEntry> entries;
    uint32_t head = 0;
    uint32_t tail = 0;
  };
  struct Domain {
    DomainType type = DomainType::dma;
    std::map<uint64_t, Pte> ptes;            ///< iova pfn -> PTE
    std::optional<IovaDomain> iovad;         ///< cookie->iovad
    std::map<uint32_t, FlushQueue> fq;       ///< per-CPU flush queues (dma_fq)
    uint64_t fq_flush_start_cnt = 0;
    uint64_t fq_flush_finish_cnt = 0;
    bool fq_timer_on = false;
    ps_t fq_timer_deadline = 0;
  };
  struct TlbKey {
    DomainId domain;
    uint64_t pfn;
    bool operator<(const TlbKey& o) const { return domain != o.domain ? domain < o.domain : pfn < o.pfn; }
  };
  struct TlbEntry {
    uint64_t phys_pfn = 0;
    int prot = 0;
    uint64_t stamp = 0;
  };

  Domain& dom(DomainId id);
  const Domain& dom(DomainId id) const;
  void iotlb_drop(const TlbKey& key);
  void iotlb_fill(const TlbKey& key, const Pte& pte);
  ps_t fq_flush_iotlb(DomainId id, Domain& d, ps_t now);
  void fq_ring_free(Domain& d, FlushQueue& fq);
  ps_t queue_iova(DomainId id, Domain& d, uint64_t pfn, uint64_t pages, uint32_t cpu, ps_t now);
  void fault(ps_t now, DeviceId dev, DomainId domain, uint64_t iova, bool write, FaultReason reason);

  IommuConfig cfg_;
  std::map<DomainId, Domain> domains_;
  std::map<DeviceId, DomainId> attach_;
  std::map<TlbKey, TlbEntry> iotlb_;
  std::map<uint64_t, TlbKey> lru_;  ///< stamp -> key, oldest first
  std::vector<ps_t> walker_free_;   ///< per page walker (page_walkers of them): busy until
  ps_t qi_busy_until_ = 0;          ///< the invalidation queue's last round trip completes
  uint64_t next_stamp_ = 0;
  IotlbStats iotlb_stats_;
  FlushQueueStats fq_stats_;
  std::vector<IommuFault> faults_;
};

}  // namespace p2psim::hw
