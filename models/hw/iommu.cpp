// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/iommu.h"

#include <algorithm>
#include <string>

#include "common/kernel_bug.h"

namespace p2psim::hw {

namespace {

/// fls_long(): 1-based index of the highest set bit, 0 for 0.
unsigned fls64(uint64_t x) {
  unsigned n = 0;
  while (x) {
    ++n;
    x >>= 1;
  }
  return n;
}

uint64_t roundup_pow_of_two(uint64_t x) {
  uint64_t p = 1;
  while (p < x) p <<= 1;
  return p;
}

}  // namespace

const char* to_string(DomainType type) {
  switch (type) {
    case DomainType::blocked: return "blocked";
    case DomainType::identity: return "identity";
    case DomainType::dma: return "dma";
    case DomainType::dma_fq: return "dma_fq";
  }
  return "?";
}

const char* to_string(FaultReason reason) {
  switch (reason) {
    case FaultReason::none: return "none";
    case FaultReason::blocked: return "blocked";
    case FaultReason::not_present: return "not_present";
    case FaultReason::no_read: return "no_read";
    case FaultReason::no_write: return "no_write";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// IovaDomain
// ---------------------------------------------------------------------------

// models drivers/iommu/iova.c:init_iova_domain() as of v6.2
IovaDomain::IovaDomain(uint64_t granule, uint64_t start_pfn)
    : granule_(granule), shift_(0), start_pfn_(start_pfn) {
  if (granule == 0 || (granule & (granule - 1)) != 0 || granule > kIommuPageSize)
    throw KernelBug("init_iova_domain: granule " + std::to_string(granule) + " is not a power of 2 <= PAGE_SIZE");
  while ((1ULL << shift_) < granule) ++shift_;
  dma_32bit_pfn_ = 1ULL << (32 - shift_);
  max32_alloc_size_ = dma_32bit_pfn_;
  tree_[kAnchor] = kAnchor;
}

// models drivers/iommu/iova.c:__cached_rbnode_insert_update() as of v6.2
void IovaDomain::cached_rbnode_insert_update(uint64_t lo, uint64_t hi) {
  if (hi < dma_32bit_pfn_)
    cached32_ = lo;
  else
    cached_ = lo;
}

// models drivers/iommu/iova.c:__cached_rbnode_delete_update() as of v6.2
// (called before the node leaves the tree, so rb_next() is its successor).
void IovaDomain::cached_rbnode_delete_update(uint64_t lo, uint64_t hi) {
  const uint64_t next = std::next(tree_.find(lo))->first;  // the anchor is always above
  if (lo == cached32_ || (hi < dma_32bit_pfn_ && lo >= cached32_)) cached32_ = next;
  if (lo < dma_32bit_pfn_) max32_alloc_size_ = dma_32bit_pfn_;
  if (lo >= cached_) cached_ = next;
}

// models drivers/iommu/iova.c:__alloc_and_insert_iova_range() as of v6.2
// (with "iommu/iova: Fix alloc iova overflows issue", merged for v6.2-rc5).
// @limit_pfn is exclusive here, as alloc_iova() passes limit_pfn + 1.
// Walks the ranges downwards from the cached node; the walk stops at the
// first gap under the current high mark that holds the (aligned) range.
bool IovaDomain::alloc_and_insert_range(uint64_t size, uint64_t limit_pfn, bool size_aligned, uint64_t* pfn_lo) {
  uint64_t align_mask = ~0ULL;
  if (size_aligned) {
    const unsigned s = fls64(size - 1);
    align_mask = s >= 64 ? 0 : (align_mask << s);
  }
  uint64_t high_pfn = limit_pfn;
  uint64_t low_pfn = start_pfn_;

  if (limit_pfn <= dma_32bit_pfn_ && size >= max32_alloc_size_) return false;  // iova32_full

  // __get_cached_rbnode()
  auto curr = tree_.find(limit_pfn <= dma_32bit_pfn_ ? cached32_ : cached_);
  if (curr == tree_.end()) throw ModelBug("iova: cached node missing from the tree");
  const uint64_t retry_pfn = curr->second;
  bool have_curr = true;
  uint64_t new_pfn = 0;

  for (;;) {
    // do { ... } while (curr && new_pfn <= curr->pfn_hi && new_pfn >= low_pfn);
    do {
      high_pfn = std::min(high_pfn, curr->first);
      new_pfn = (high_pfn - size) & align_mask;  // wraps when high_pfn < size, as in C
      if (curr == tree_.begin()) {
        have_curr = false;
      } else {
        --curr;
        have_curr = true;
      }
    } while (have_curr && new_pfn <= curr->second && new_pfn >= low_pfn);

    if (high_pfn < size || new_pfn < low_pfn) {
      if (low_pfn == start_pfn_ && retry_pfn < limit_pfn) {
        high_pfn = limit_pfn;
        low_pfn = retry_pfn + 1;
        // iova_find_limit(): the anchor above 4 GiB; else the lowest node
        // whose pfn_hi reaches limit_pfn (ranges do not overlap).
        if (limit_pfn > dma_32bit_pfn_) {
          curr = tree_.find(kAnchor);
        } else {
          curr = tree_.lower_bound(limit_pfn);
          if (curr != tree_.begin()) {
            auto below = std::prev(curr);
            if (below->second >= limit_pfn) curr = below;
          }
        }
        continue;  // goto retry
      }
      max32_alloc_size_ = size;  // unconditional in v6.2, even for a 64-bit limit
      return false;
    }
    break;
  }

  const uint64_t lo = new_pfn;
  const uint64_t hi = new_pfn + size - 1;
  tree_[lo] = hi;
  cached_rbnode_insert_update(lo, hi);
  *pfn_lo = lo;
  return true;
}

// models drivers/iommu/iova.c:alloc_iova() as of v6.2
std::optional<uint64_t> IovaDomain::alloc_iova(uint64_t size, uint64_t limit_pfn, bool size_aligned) {
  if (size == 0) throw ModelBug("alloc_iova: size 0");
  uint64_t lo = 0;
  if (!alloc_and_insert_range(size, limit_pfn + 1, size_aligned, &lo)) return std::nullopt;
  lowest_allocated_ = std::min(lowest_allocated_, lo);
  return lo;
}

// models drivers/iommu/iova.c:alloc_iova_fast() as of v6.2 (no rcache: the
// rcache lookup always misses and flushing it frees nothing)
uint64_t IovaDomain::alloc_iova_fast(uint64_t size, uint64_t limit_pfn, bool flush_rcache) {
  (void)flush_rcache;
  if (size < (1ULL << (kRangeCacheMaxSize - 1))) size = roundup_pow_of_two(size);
  const auto lo = alloc_iova(size, limit_pfn, true);
  return lo ? *lo : 0;
}

// models drivers/iommu/iova.c:free_iova() as of v6.2
void IovaDomain::free_iova(uint64_t pfn) {
  const auto r = find_iova(pfn);
  if (!r) return;
  // private_free_iova()
  cached_rbnode_delete_update(r->first, r->second);
  tree_.erase(r->first);
  reserved_.erase(r->first);
}

// models drivers/iommu/iova.c:free_iova_fast() as of v6.2 (iova_rcache_insert() not modelled)
void IovaDomain::free_iova_fast(uint64_t pfn, uint64_t size) {
  (void)size;
  free_iova(pfn);
}

// models drivers/iommu/iova.c:reserve_iova() as of v6.2, restricted to ranges
// that overlap nothing or only other reserved ranges.
void IovaDomain::reserve_iova(uint64_t pfn_lo, uint64_t pfn_hi) {
  if (pfn_lo > pfn_hi || pfn_hi >= kAnchor) throw ModelBug("reserve_iova: bad range");
  uint64_t lo = pfn_lo, hi = pfn_hi;
  for (auto it = tree_.begin(); it != tree_.end();) {
    if (it->first == kAnchor || it->second < lo || it->first > hi) {
      ++it;
      continue;
    }
    if (!reserved_.count(it->first)) throw ModelBug("reserve_iova: overlaps an allocated IOVA (not modelled)");
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second);
    reserved_.erase(it->first);
    it = tree_.erase(it);
  }
  // The merged node replaces nodes that no cached pointer may name; keep them valid.
  if (!tree_.count(cached32_)) cached32_ = kAnchor;
  if (!tree_.count(cached_)) cached_ = kAnchor;
  tree_[lo] = hi;
  reserved_[lo] = true;
}

// models drivers/iommu/iova.c:find_iova() as of v6.2
std::optional<std::pair<uint64_t, uint64_t>> IovaDomain::find_iova(uint64_t pfn) const {
  auto it = tree_.upper_bound(pfn);
  if (it == tree_.begin()) return std::nullopt;
  --it;
  if (it->first == kAnchor || pfn > it->second) return std::nullopt;
  return std::make_pair(it->first, it->second);
}

std::map<uint64_t, uint64_t> IovaDomain::ranges() const {
  std::map<uint64_t, uint64_t> out = tree_;
  out.erase(kAnchor);
  return out;
}

// ---------------------------------------------------------------------------
// Iommu: domains, page tables, IOTLB
// ---------------------------------------------------------------------------

Iommu::Iommu(const IommuConfig& cfg) : cfg_(cfg) {
  if (cfg_.iotlb_entries == 0) throw ModelBug("iommu: the IOTLB needs at least one entry");
  if (cfg_.fq_size < 2) throw ModelBug("iommu: the flush queue needs at least two slots");
  if (cfg_.ncpus == 0) throw ModelBug("iommu: no CPUs");
  walker_free_.assign(cfg_.page_walkers, 0);
}

Iommu::Domain& Iommu::dom(DomainId id) {
  auto it = domains_.find(id);
  if (it == domains_.end()) throw ModelBug("iommu: no domain " + std::to_string(id));
  return it->second;
}

const Iommu::Domain& Iommu::dom(DomainId id) const {
  auto it = domains_.find(id);
  if (it == domains_.end()) throw ModelBug("iommu: no domain " + std::to_string(id));
  return it->second;
}

// models drivers/iommu/dma-iommu.c:iommu_dma_init_domain() as of v6.2
// (start_pfn = max(1, base >> order) with base 0; iommu_dma_init_fq() for dma_fq)
DomainId Iommu::alloc_domain(DomainType type) {
  const DomainId id = static_cast<DomainId>(domains_.size());
  Domain d;
  d.type = type;
  if (type == DomainType::dma || type == DomainType::dma_fq) d.iovad.emplace(kIommuPageSize, 1);
  if (type == DomainType::dma_fq) {
    for (uint32_t cpu = 0; cpu < cfg_.ncpus; ++cpu) d.fq[cpu].entries.resize(cfg_.fq_size);
  }
  domains_.emplace(id, std::move(d));
  return id;
}

// models drivers/iommu/dma-iommu.c:iommu_dma_init_fq() as of v6.2: nothing
// to do once the cookie has an fq_domain; else empty per-CPU rings, then
// fq_domain published last (the model has no concurrent reader mid-way).
int Iommu::init_fq(DomainId domain) {
  Domain& d = dom(domain);
  if (d.type == DomainType::dma_fq) return 0;
  if (d.type != DomainType::dma) return -22;
  for (uint32_t cpu = 0; cpu < cfg_.ncpus; ++cpu) d.fq[cpu].entries.resize(cfg_.fq_size);
  d.type = DomainType::dma_fq;
  return 0;
}

void Iommu::attach_device(DeviceId dev, DomainId domain) {
  if (domain == kNoDomain) {
    attach_.erase(dev);
    return;
  }
  dom(domain);  // must exist
  attach_[dev] = domain;
}

DomainId Iommu::domain_of(DeviceId dev) const {
  auto it = attach_.find(dev);
  return it == attach_.end() ? kNoDomain : it->second;
}

DomainType Iommu::domain_type(DomainId domain) const { return dom(domain).type; }

bool Iommu::translates(DomainId domain) const {
  const DomainType t = dom(domain).type;
  return t == DomainType::dma || t == DomainType::dma_fq;
}

// models drivers/iommu/iommu.c:iommu_map() as of v6.2 (4 KiB pages only)
int Iommu::map(DomainId domain, uint64_t iova, uint64_t phys, uint64_t size, int prot_bits) {
  Domain& d = dom(domain);
  if (!translates(domain)) return -22;
  if (((iova | phys | size) & (kIommuPageSize - 1)) != 0 || size == 0) return -22;
  const uint64_t first = iova >> kIommuPageShift, n = size >> kIommuPageShift;
  for (uint64_t i = 0; i < n; ++i)
    if (d.ptes.count(first + i)) return -17;  // -EEXIST
  for (uint64_t i = 0; i < n; ++i) d.ptes[first + i] = Pte{(phys >> kIommuPageShift) + i, prot_bits};
  return 0;
}

// models drivers/iommu/iommu.c:iommu_unmap_fast() as of v6.2
uint64_t Iommu::unmap_fast(DomainId domain, uint64_t iova, uint64_t size) {
  Domain& d = dom(domain);
  const uint64_t first = iova >> kIommuPageShift;
  const uint64_t last = (iova + size - 1) >> kIommuPageShift;
  uint64_t unmapped = 0;
  if (size == 0) return 0;
  for (uint64_t pfn = first; pfn <= last; ++pfn) unmapped += d.ptes.erase(pfn) * kIommuPageSize;
  return unmapped;
}

// models drivers/iommu/iommu.c:iommu_unmap() as of v6.2 (unmap + iommu_iotlb_sync)
uint64_t Iommu::unmap(DomainId domain, uint64_t iova, uint64_t size) {
  const uint64_t n = unmap_fast(domain, iova, size);
  flush_iotlb_range(domain, iova, size);
  return n;
}

std::optional<uint64_t> Iommu::iova_to_phys(DomainId domain, uint64_t iova) const {
  const Domain& d = dom(domain);
  if (d.type == DomainType::identity) return iova;
  auto it = d.ptes.find(iova >> kIommuPageShift);
  if (it == d.ptes.end()) return std::nullopt;
  return (it->second.phys_pfn << kIommuPageShift) | (iova & (kIommuPageSize - 1));
}

std::optional<int> Iommu::pte_prot(DomainId domain, uint64_t iova) const {
  const Domain& d = dom(domain);
  auto it = d.ptes.find(iova >> kIommuPageShift);
  if (it == d.ptes.end()) return std::nullopt;
  return it->second.prot;
}

size_t Iommu::mapped_pages(DomainId domain) const { return dom(domain).ptes.size(); }

void Iommu::iotlb_drop(const TlbKey& key) {
  auto it = iotlb_.find(key);
  if (it == iotlb_.end()) return;
  lru_.erase(it->second.stamp);
  iotlb_.erase(it);
  ++iotlb_stats_.invalidations;
}

void Iommu::iotlb_fill(const TlbKey& key, const Pte& pte) {
  if (iotlb_.size() >= cfg_.iotlb_entries) {
    auto oldest = lru_.begin();
    iotlb_.erase(oldest->second);
    lru_.erase(oldest);
    ++iotlb_stats_.evictions;
  }
  const uint64_t stamp = next_stamp_++;
  iotlb_[key] = TlbEntry{pte.phys_pfn, pte.prot, stamp};
  lru_[stamp] = key;
}

void Iommu::flush_iotlb_range(DomainId domain, uint64_t iova, uint64_t size) {
  if (size == 0) return;
  const uint64_t first = iova >> kIommuPageShift;
  const uint64_t last = (iova + size - 1) >> kIommuPageShift;
  auto it = iotlb_.lower_bound(TlbKey{domain, first});
  while (it != iotlb_.end() && it->first.domain == domain && it->first.pfn <= last) {
    lru_.erase(it->second.stamp);
    it = iotlb_.erase(it);
    ++iotlb_stats_.invalidations;
  }
}

void Iommu::flush_iotlb_all(DomainId domain) {
  ++iotlb_stats_.flushes_all;
  auto it = iotlb_.lower_bound(TlbKey{domain, 0});
  while (it != iotlb_.end() && it->first.domain == domain) {
    lru_.erase(it->second.stamp);
    it = iotlb_.erase(it);
    ++iotlb_stats_.invalidations;
  }
}

bool Iommu::iotlb_contains(DomainId domain, uint64_t iova) const {
  return iotlb_.count(TlbKey{domain, iova >> kIommuPageShift}) != 0;
}

void Iommu::fault(ps_t now, DeviceId dev, DomainId domain, uint64_t iova, bool write, FaultReason reason) {
  faults_.push_back(IommuFault{now, dev, domain, iova, write, reason});
}

Translation Iommu::translate(DeviceId dev, uint64_t iova, uint64_t size, bool write, ps_t now) {
  run_timers(now);
  Translation t;
  const DomainId id = domain_of(dev);
  if (id == kNoDomain) {  // no IOMMU in this device's path
    t.ok = true;
    t.phys = iova;
    return t;
  }
  const Domain& d = dom(id);
  if (d.type == DomainType::identity) {
    t.ok = true;
    t.phys = iova;
    return t;
  }
  if (d.type == DomainType::blocked) {
    t.fault_reason = FaultReason::blocked;
    t.fault_iova = iova;
    fault(now, dev, id, iova, write, t.fault_reason);
    return t;
  }
  const uint64_t first = iova >> kIommuPageShift;
  const uint64_t last = (iova + (size ? size : 1) - 1) >> kIommuPageShift;
  uint64_t prev_phys_pfn = 0;
  for (uint64_t pfn = first; pfn <= last; ++pfn) {
    const TlbKey key{id, pfn};
    const uint64_t page_iova = pfn == first ? iova : pfn << kIommuPageShift;
    uint64_t phys_pfn = 0;
    int pte_prot_bits = 0;
    auto hit = iotlb_.find(key);
    if (hit != iotlb_.end()) {
      ++t.iotlb_hits;
      ++iotlb_stats_.hits;
      t.cost_ps += cfg_.iotlb_hit_ps;
      lru_.erase(hit->second.stamp);
      hit->second.stamp = next_stamp_++;
      lru_[hit->second.stamp] = key;
      phys_pfn = hit->second.phys_pfn;
      pte_prot_bits = hit->second.prot;
      auto pte = d.ptes.find(pfn);
      if (pte == d.ptes.end() || pte->second.phys_pfn != phys_pfn || pte->second.prot != pte_prot_bits) {
        t.stale = true;
        ++iotlb_stats_.stale_hits;
      }
    } else {
      ++t.iotlb_misses;
      ++iotlb_stats_.misses;
      if (!walker_free_.empty()) {
        // The walk starts when this page's turn comes in the DMA and a
        // walker is free (callers come in time order, as for the timers).
        auto w = std::min_element(walker_free_.begin(), walker_free_.end());
        const ps_t ready = now + t.cost_ps;
        const ps_t start = std::max(ready, *w);
        *w = start + cfg_.iotlb_miss_ps;
        t.walk_wait_ps += start - ready;
        iotlb_stats_.walk_wait_ps += start - ready;
        t.cost_ps += start - ready;
      }
      t.cost_ps += cfg_.iotlb_miss_ps;
      auto pte = d.ptes.find(pfn);
      if (pte == d.ptes.end()) {
        t.ok = false;
        t.fault_reason = FaultReason::not_present;
        t.fault_iova = page_iova;
        fault(now, dev, id, page_iova, write, t.fault_reason);
        return t;
      }
      iotlb_fill(key, pte->second);
      phys_pfn = pte->second.phys_pfn;
      pte_prot_bits = pte->second.prot;
    }
    const bool allowed = write ? (pte_prot_bits & prot::kWrite) != 0 : (pte_prot_bits & prot::kRead) != 0;
    if (!allowed) {
      t.ok = false;
      t.fault_reason = write ? FaultReason::no_write : FaultReason::no_read;
      t.fault_iova = page_iova;
      fault(now, dev, id, page_iova, write, t.fault_reason);
      return t;
    }
    if (pfn == first)
      t.phys = (phys_pfn << kIommuPageShift) | (iova & (kIommuPageSize - 1));
    else if (phys_pfn != prev_phys_pfn + 1)
      t.contiguous = false;
    prev_phys_pfn = phys_pfn;
  }
  t.ok = true;
  return t;
}

// ---------------------------------------------------------------------------
// dma-iommu.c cookie: IOVA allocation and the flush queue
// ---------------------------------------------------------------------------

IovaDomain& Iommu::iovad(DomainId domain) {
  Domain& d = dom(domain);
  if (!d.iovad) throw ModelBug("iommu: domain " + std::to_string(domain) + " has no IOVA cookie");
  return *d.iovad;
}

const IovaDomain& Iommu::iovad(DomainId domain) const {
  const Domain& d = dom(domain);
  if (!d.iovad) throw ModelBug("iommu: domain " + std::to_string(domain) + " has no IOVA cookie");
  return *d.iovad;
}

uint64_t Iommu::lowest_iova() const {
  uint64_t lowest = ~0ULL;
  for (const auto& [id, d] : domains_)
    if (d.iovad && d.iovad->lowest_allocated_pfn() != IovaDomain::kAnchor)
      lowest = std::min(lowest, d.iovad->lowest_allocated_pfn() * d.iovad->granule());
  return lowest;
}

// models drivers/iommu/dma-iommu.c:iommu_dma_alloc_iova() as of v6.2
// (IOMMU_DMA_IOVA_COOKIE; iommu_dma_forcedac off)
uint64_t Iommu::dma_alloc_iova(DomainId domain, uint64_t size, uint64_t dma_limit, uint64_t bus_dma_limit,
                               bool dev_is_pci, ps_t now) {
  run_timers(now);
  IovaDomain& iovad_ = iovad(domain);
  const unsigned shift = iovad_.shift();
  const uint64_t iova_len = size >> shift;
  if (iova_len == 0) throw ModelBug("dma_alloc_iova: size below one granule");
  if (bus_dma_limit != 0) dma_limit = std::min(dma_limit, bus_dma_limit);  // min_not_zero()
  dma_limit = std::min(dma_limit, cfg_.aperture_end);                      // force_aperture

  uint64_t iova = 0;
  constexpr uint64_t kDmaBitMask32 = 0xffffffffULL;
  // "Try to get PCI devices a SAC address"
  if (dma_limit > kDmaBitMask32 && dev_is_pci) iova = iovad_.alloc_iova_fast(iova_len, kDmaBitMask32 >> shift, false);
  if (!iova) iova = iovad_.alloc_iova_fast(iova_len, dma_limit >> shift, true);
  return iova << shift;
}

// The submitting CPU spins until its wait descriptor completes; the
// hardware takes descriptors in queue order (drivers/iommu/intel/dmar.c
// qi_submit_sync() as of v6.2).
ps_t Iommu::sync_invalidation(ps_t now) {
  const ps_t done = std::max(now, qi_busy_until_) + cfg_.invalidation_ps;
  qi_busy_until_ = done;
  ++iotlb_stats_.round_trips;
  iotlb_stats_.cpu_wait_ps += done - now;
  return done - now;
}

// models drivers/iommu/dma-iommu.c:fq_flush_iotlb() as of v6.2: one
// flush_iotlb_all() (intel_flush_iotlb_all(): one round trip without ATS).
ps_t Iommu::fq_flush_iotlb(DomainId id, Domain& d, ps_t now) {
  ++d.fq_flush_start_cnt;
  flush_iotlb_all(id);
  const ps_t waited = sync_invalidation(now);
  ++d.fq_flush_finish_cnt;
  return waited;
}

// models drivers/iommu/dma-iommu.c:fq_ring_free() as of v6.2: frees, oldest
// first, the entries whose IOTLB flush has completed.
void Iommu::fq_ring_free(Domain& d, FlushQueue& fq) {
  const uint32_t n = cfg_.fq_size;
  while (fq.head != fq.tail) {
    const FqEntry& e = fq.entries[fq.head];
    if (e.counter >= d.fq_flush_finish_cnt) break;
    d.iovad->free_iova_fast(e.iova_pfn, e.pages);
    ++fq_stats_.freed;
    fq.head = (fq.head + 1) % n;
  }
}

// models drivers/iommu/dma-iommu.c:queue_iova() as of v6.2. The ring has
// IOVA_FQ_SIZE slots but fq_full() is (tail + 1) % size == head, so it holds
// IOVA_FQ_SIZE - 1 entries: the 256th queue_iova() on a CPU whose ring has
// 255 unflushed entries flushes and frees them, then queues itself.
ps_t Iommu::queue_iova(DomainId id, Domain& d, uint64_t pfn, uint64_t pages, uint32_t cpu, ps_t now) {
  auto q = d.fq.find(cpu % cfg_.ncpus);
  FlushQueue& fq = q->second;
  const uint32_t n = cfg_.fq_size;
  ps_t waited = 0;
  fq_ring_free(d, fq);  // entries already flushed by another CPU or the timer
  if ((fq.tail + 1) % n == fq.head) {
    ++fq_stats_.flushes_full;
    waited = fq_flush_iotlb(id, d, now);  // the unmapping CPU waits, its ring locked
    fq_ring_free(d, fq);
  }
  const uint32_t idx = fq.tail;
  fq.tail = (idx + 1) % n;
  fq.entries[idx] = FqEntry{pfn, pages, d.fq_flush_start_cnt};
  ++fq_stats_.queued;
  if (!d.fq_timer_on) {  // mod_timer(jiffies + msecs_to_jiffies(IOVA_FQ_TIMEOUT))
    d.fq_timer_on = true;
    d.fq_timer_deadline = now + cfg_.fq_timeout_ps;
  }
  return waited;
}

// models drivers/iommu/dma-iommu.c:iommu_dma_free_iova() as of v6.2
ps_t Iommu::dma_free_iova(DomainId domain, uint64_t iova, uint64_t size, bool queued, uint32_t cpu, ps_t now) {
  run_timers(now);
  Domain& d = dom(domain);
  IovaDomain& iovad_ = iovad(domain);
  const uint64_t pfn = iova >> iovad_.shift();
  const uint64_t pages = size >> iovad_.shift();
  if (queued && d.type == DomainType::dma_fq) return queue_iova(domain, d, pfn, pages, cpu, now);
  iovad_.free_iova_fast(pfn, pages);
  return 0;
}

// models drivers/iommu/dma-iommu.c:fq_flush_timeout() as of v6.2: one IOTLB
// flush of the domain, then every CPU's ring is drained. It runs in the timer
// softirq at its deadline: its round trip occupies the invalidation queue
// then, and no caller's CPU time is charged for it.
void Iommu::run_timers(ps_t now) {
  for (auto& [id, d] : domains_) {
    if (!d.fq_timer_on || d.fq_timer_deadline > now) continue;
    d.fq_timer_on = false;
    ++fq_stats_.flushes_timeout;
    fq_flush_iotlb(id, d, d.fq_timer_deadline);
    for (auto& [cpu, fq] : d.fq) fq_ring_free(d, fq);
  }
}

std::optional<ps_t> Iommu::next_timer() const {
  std::optional<ps_t> best;
  for (const auto& [id, d] : domains_) {
    (void)id;
    if (d.fq_timer_on && (!best || d.fq_timer_deadline < *best)) best = d.fq_timer_deadline;
  }
  return best;
}

size_t Iommu::fq_pending(DomainId domain) const {
  const Domain& d = dom(domain);
  size_t n = 0;
  for (const auto& [cpu, fq] : d.fq) {
    (void)cpu;
    n += (fq.tail + cfg_.fq_size - fq.head) % cfg_.fq_size;
  }
  return n;
}

}  // namespace p2psim::hw
