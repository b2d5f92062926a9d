// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Unit tests for the IOMMU model (models/hw/iommu.*) and the DMA mapping API
// over it (models/hw/dma_mapping.*), after drivers/iommu/iova.c,
// drivers/iommu/dma-iommu.c, kernel/dma/ and drivers/pci/p2pdma.c of v6.2.
//
// IOVA addresses are worked out by hand from __alloc_and_insert_iova_range():
//
//   start at the cached node (cached32_node for limits <= 4 GiB); walk down:
//     high = min(high, node.lo); new = (high - size) & align_mask
//   and go to the next lower node while new overlaps it. align_mask aligns
//   to roundup_pow_of_two(size); alloc_iova_fast() first rounds sizes below
//   32 pages up to a power of two. A PCI device with a 64-bit mask searches
//   below 4 GiB first (limit pfn 0xfffff, so its first page is 0xfffff000).
//   Freeing a node at or above the cached node moves the cache to the
//   freed node's successor.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <vector>

#include "hw/dma_mapping.h"
#include "hw/iommu.h"
#include "hw/p2pdma_distance.h"
#include "hw/pci_topology.h"
#include "common/time.h"

using namespace p2psim;
using namespace p2psim::hw;

namespace {

constexpr DeviceId kDev = 1;
constexpr ps_t kMiss = 250_ns;

/// An IOMMU with one translated domain and device kDev (PCI, 64-bit mask) in it.
struct OneDevice {
  Iommu iommu;
  DomainId dom;
  DmaMapper dma;
  explicit OneDevice(DomainType type = DomainType::dma, IommuConfig cfg = {})
      : iommu(cfg), dom(iommu.alloc_domain(type)), dma(iommu) {
    iommu.attach_device(kDev, dom);
    dma.add_device(kDev);
  }
};

/// splitmix64: a fixed, seeded sequence for the random working-set test.
struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

std::map<uint64_t, uint64_t> R(std::initializer_list<std::pair<const uint64_t, uint64_t>> l) { return l; }

}  // namespace

TEST_CASE("iova allocation is top-down from the 4 GiB SAC limit", "[iommu]") {
  OneDevice t;
  // 100 bytes at offset 0x10: one granule; pfn (0x100000 - 1) = 0xfffff.
  CHECK(t.dma.dma_map_page(kDev, 0x12345010, 100, DmaDirection::to_device, 0) == 0xfffff010);
  // 12 KiB: 3 pages rounded to 4, aligned to 4: high 0xfffff, (0xfffff - 4) & ~3 = 0xffff8.
  CHECK(t.dma.dma_map_page(kDev, 0x20000000, 12288, DmaDirection::bidirectional, 0) == 0xffff8000);
  // 1 page from the cached node 0xffff8: 0xffff7. The 3-page alignment hole 0xffffc-0xffffe stays.
  CHECK(t.dma.dma_map_page(kDev, 0x30000000, 4096, DmaDirection::bidirectional, 0) == 0xffff7000);
  // 40 pages (>= 32: not rounded) aligned to 64: (0xffff7 - 40) & ~63 = 0xfffc0, up to 0xfffe7.
  CHECK(t.dma.dma_map_page(kDev, 0x40000000, 40 * 4096, DmaDirection::bidirectional, 0) == 0xfffc0000);
  CHECK(t.iommu.iovad(t.dom).ranges() ==
        R({{0xfffc0, 0xfffe7}, {0xffff7, 0xffff7}, {0xffff8, 0xffffb}, {0xfffff, 0xfffff}}));
  // Only the 3 requested pages of the 4-page range are mapped.
  CHECK(t.iommu.mapped_pages(t.dom) == 1 + 3 + 1 + 40);
  CHECK(t.iommu.iova_to_phys(t.dom, 0xffffa123) == 0x20002123);
  CHECK_FALSE(t.iommu.iova_to_phys(t.dom, 0xffffb000));

  // A non-PCI device gets no SAC attempt: top of the 48-bit aperture.
  const DomainId d2 = t.iommu.alloc_domain(DomainType::dma);
  t.iommu.attach_device(2, d2);
  t.dma.add_device(2, DmaDeviceConfig{~0ULL, 0, false});
  CHECK(t.dma.dma_map_page(2, 0x5000, 4096, DmaDirection::bidirectional, 0) == 0xfffffffff000ULL);
  CHECK(t.dma.dma_map_page(2, 0x6000, 4096, DmaDirection::bidirectional, 0) == 0xffffffffe000ULL);
  // Freeing the top range (above cached_node) moves cached_node to the anchor: it comes back.
  t.dma.dma_unmap_page(2, 0xfffffffff000ULL, 4096, DmaDirection::bidirectional, 0);
  CHECK(t.iommu.iovad(d2).cached_node() == IovaDomain::kAnchor);
  CHECK(t.dma.dma_map_page(2, 0x7000, 4096, DmaDirection::bidirectional, 0) == 0xfffffffff000ULL);
  // A non-PCI device with a 36-bit mask: below 64 GiB.
  const DomainId d3 = t.iommu.alloc_domain(DomainType::dma);
  t.iommu.attach_device(3, d3);
  t.dma.add_device(3, DmaDeviceConfig{(1ULL << 36) - 1, 0, false});
  CHECK(t.dma.dma_map_page(3, 0x5000, 4096, DmaDirection::bidirectional, 0) == 0xffffff000ULL);

  // Identity domain and no domain: dma-direct returns the physical address,
  // and fails (no swiotlb here) beyond the device's mask.
  const DomainId id = t.iommu.alloc_domain(DomainType::identity);
  t.iommu.attach_device(4, id);
  t.dma.add_device(4, DmaDeviceConfig{0xffffffffULL, 0, true});
  CHECK(t.dma.dma_map_page(4, 0x7000123, 64, DmaDirection::to_device, 0) == 0x7000123);
  CHECK(t.dma.dma_map_page(4, 0x100000000ULL, 64, DmaDirection::to_device, 0) == kDmaMappingError);
  t.dma.add_device(5);
  CHECK(t.dma.dma_map_page(5, 0x100000000ULL, 64, DmaDirection::to_device, 0) == 0x100000000ULL);
}

TEST_CASE("iova fragmentation and reuse follow the cached node", "[iommu]") {
  IovaDomain iovad;  // 4 KiB granule, start_pfn 1
  const uint64_t lim = 0xfffff;
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0xfffff);
  CHECK(iovad.alloc_iova_fast(3, lim, true) == 0xffff8);  // [0xffff8, 0xffffb]
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0xffff7);
  // The hole 0xffffc-0xffffe is above the cached node: not used.
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0xffff6);
  CHECK(iovad.cached32_node() == 0xffff6);

  // Free the 4-page range: it is above the cached node, so the cache moves to
  // its successor 0xfffff and the next search starts at the top again.
  iovad.free_iova(0xffff9);  // any pfn inside the range
  CHECK(iovad.cached32_node() == 0xfffff);
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0xffffe);  // top of the merged hole 0xffff8-0xffffe
  CHECK(iovad.alloc_iova_fast(2, lim, true) == 0xffffc);  // (0xffffe - 2) & ~1
  CHECK(iovad.alloc_iova_fast(4, lim, true) == 0xffff8);  // (0xffffc - 4) & ~3: the old range again
  // Now 0xffff6..0xfffff is full: walk down past 0xffff7 and 0xffff6.
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0xffff5);
  // Freeing the cached node itself and allocating the same size reuses it.
  iovad.free_iova(0xffff5);
  CHECK(iovad.cached32_node() == 0xffff6);
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0xffff5);
  CHECK(iovad.ranges() == R({{0xffff5, 0xffff5},
                             {0xffff6, 0xffff6},
                             {0xffff7, 0xffff7},
                             {0xffff8, 0xffffb},
                             {0xffffc, 0xffffd},
                             {0xffffe, 0xffffe},
                             {0xfffff, 0xfffff}}));
  // Sizes of 32 pages and more are not rounded: 33 pages aligned to 64.
  CHECK(iovad.alloc_iova_fast(33, lim, true) == ((0xffff5 - 33) & ~63ULL));
  // Not found in the tree: free_iova() is a no-op.
  iovad.free_iova(0x12345);
  CHECK(iovad.ranges().size() == 8);
}

TEST_CASE("iova search retries above the cached node then fails fast", "[iommu]") {
  IovaDomain iovad;
  const uint64_t lim = 15;  // pfns 1..15 usable
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 15);
  CHECK(iovad.alloc_iova_fast(4, lim, true) == 8);  // (15 - 4) & ~3; hole 12..14 left
  CHECK(iovad.alloc_iova_fast(4, lim, true) == 4);
  CHECK(iovad.alloc_iova_fast(2, lim, true) == 2);
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 1);
  // Nothing below the cached node 1: retry from the limit with low = 1 + 1,
  // finding the aligned pair 12..13 in the hole.
  CHECK(iovad.alloc_iova_fast(2, lim, true) == 12);
  // Below 12 is full; retry above 13 finds 14.
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 14);
  // Full: the failure records max32_alloc_size = 1 ...
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0);
  CHECK(iovad.max32_alloc_size() == 1);
  // ... and a 64-bit limit still allocates (the SAC fallback), at the top.
  CHECK(iovad.alloc_iova_fast(1, 0xfffffffffULL, true) == 0xfffffffffULL);
  CHECK(iovad.max32_alloc_size() == 1);
  CHECK(iovad.alloc_iova_fast(1, lim, true) == 0);  // fails fast, no search
  // A free below 4 GiB resets the estimate; the freed range comes back.
  iovad.free_iova(5);
  CHECK(iovad.max32_alloc_size() == iovad.dma_32bit_pfn());
  CHECK(iovad.alloc_iova_fast(4, lim, true) == 4);

  // v6.2 has "iommu/iova: Fix alloc iova overflows issue": with the cached
  // node at the anchor, retry_pfn is ~0 and there is no retry. (Before it,
  // retry_pfn = pfn_hi + 1 wrapped to 0 and the retry could insert pfn 0.)
  IovaDomain full;
  full.reserve_iova(1, 15);
  CHECK(full.cached32_node() == IovaDomain::kAnchor);
  CHECK(full.alloc_iova_fast(1, lim, true) == 0);
  CHECK(full.ranges() == R({{1, 15}}));

  // reserve_iova(): a reserved range is never handed out.
  IovaDomain r;
  r.reserve_iova(0xfee00, 0xfeeff);  // the x86 MSI window
  r.reserve_iova(0xfff00, 0xfffff);
  CHECK(r.alloc_iova_fast(1, 0xfffff, true) == 0xffeff);
  CHECK(r.alloc_iova_fast(256, 0xfffff, true) == 0xffd00);  // 256-aligned: 0xffe00-0xffeff holds 0xffeff
}

TEST_CASE("iotlb hit and miss costs", "[iommu]") {
  OneDevice t;
  const uint64_t iova = t.dma.dma_map_page(kDev, 0x100000, 8192, DmaDirection::bidirectional, 0);
  REQUIRE(iova == 0xffffe000);
  Translation r = t.iommu.translate(kDev, iova + 0x40, 64, false, 1_us);
  CHECK(r.ok);
  CHECK(r.phys == 0x100040);
  CHECK(r.cost_ps == kMiss);
  CHECK(r.iotlb_misses == 1);
  r = t.iommu.translate(kDev, iova + 0x80, 64, true, 2_us);
  CHECK(r.ok);
  CHECK(r.cost_ps == 0);
  CHECK(r.iotlb_hits == 1);
  // 128 bytes across the page boundary: hit, then a miss on the second page.
  r = t.iommu.translate(kDev, iova + 0xfc0, 128, false, 3_us);
  CHECK(r.ok);
  CHECK(r.phys == 0x100fc0);
  CHECK(r.contiguous);
  CHECK(r.cost_ps == kMiss);
  CHECK(r.iotlb_hits == 1);
  CHECK(r.iotlb_misses == 1);
  CHECK(t.iommu.translate(kDev, iova + 0xfc0, 128, false, 4_us).cost_ps == 0);
  CHECK(t.iommu.iotlb_stats().hits == 4);  // 1 + 1 + 2
  CHECK(t.iommu.iotlb_stats().misses == 2);

  IommuConfig cfg;
  cfg.iotlb_miss_ps = 230_ns;
  cfg.iotlb_hit_ps = 5_ns;
  OneDevice c(DomainType::dma, cfg);
  const uint64_t a = c.dma.dma_map_page(kDev, 0x200000, 4096, DmaDirection::to_device, 0);
  CHECK(c.iommu.translate(kDev, a, 8, false, 0).cost_ps == 230_ns);
  CHECK(c.iommu.translate(kDev, a, 8, false, 0).cost_ps == 5_ns);

  // Identity domains cost nothing.
  const DomainId id = t.iommu.alloc_domain(DomainType::identity);
  t.iommu.attach_device(9, id);
  r = t.iommu.translate(9, 0x123456, 4096, true, 0);
  CHECK(r.ok);
  CHECK(r.phys == 0x123456);
  CHECK(r.cost_ps == 0);
}

TEST_CASE("iotlb LRU eviction past 64 entries", "[iommu]") {
  OneDevice t;
  // 256 pages (1 MiB): not rounded, aligned to 256: (0x100000 - 256) & ~255 = 0xfff00.
  const uint64_t base = t.dma.dma_map_page(kDev, 0x40000000, 256 * 4096, DmaDirection::bidirectional, 0);
  REQUIRE(base == 0xfff00000);
  auto page = [&](uint64_t i) { return base + i * 4096; };

  for (uint64_t i = 0; i < 64; ++i) CHECK(t.iommu.translate(kDev, page(i), 64, false, 0).cost_ps == kMiss);
  CHECK(t.iommu.iotlb_size() == 64);
  CHECK(t.iommu.translate(kDev, page(0), 64, false, 0).cost_ps == 0);  // page 0 is now most recent
  CHECK(t.iommu.translate(kDev, page(64), 64, false, 0).cost_ps == kMiss);
  CHECK(t.iommu.iotlb_stats().evictions == 1);
  CHECK_FALSE(t.iommu.iotlb_contains(t.dom, page(1)));  // the least recently used went
  CHECK(t.iommu.iotlb_contains(t.dom, page(0)));
  CHECK(t.iommu.iotlb_contains(t.dom, page(2)));
  CHECK(t.iommu.iotlb_size() == 64);

  // Cyclic sweeps: 64 pages fit, 65 thrash LRU completely.
  auto sweep_misses = [&](uint64_t n) {
    Iommu& m = t.iommu;
    m.flush_iotlb_all(t.dom);
    for (uint64_t i = 0; i < n; ++i) m.translate(kDev, page(i), 64, false, 0);  // warm up
    m.reset_iotlb_stats();
    for (uint64_t i = 0; i < n; ++i) m.translate(kDev, page(i), 64, false, 0);
    return m.iotlb_stats().misses;
  };
  CHECK(sweep_misses(64) == 0);
  CHECK(sweep_misses(65) == 65);

  // 64 B random reads: the miss rate is 0 up to 256 KiB (64 pages) and then
  // 1 - 64/N under LRU (ANCHORS: the collapse past ~256 KB).
  auto random_miss_rate = [&](uint64_t pages) {
    Iommu& m = t.iommu;
    m.flush_iotlb_all(t.dom);
    SplitMix rng{42};
    for (uint64_t i = 0; i < 4096; ++i) m.translate(kDev, page(rng.next() % pages), 64, false, 0);
    m.reset_iotlb_stats();
    ps_t cost = 0;
    const uint64_t reads = 40000;
    for (uint64_t i = 0; i < reads; ++i) {
      const uint64_t addr = base + (rng.next() % (pages * 64)) * 64;  // 64 B aligned
      cost += m.translate(kDev, addr, 64, false, 0).cost_ps;
    }
    CHECK(cost == m.iotlb_stats().misses * kMiss);
    return static_cast<double>(m.iotlb_stats().misses) / static_cast<double>(reads);
  };
  CHECK(random_miss_rate(32) == 0.0);
  CHECK(random_miss_rate(64) == 0.0);
  const double r128 = random_miss_rate(128);
  CHECK(r128 > 0.45);
  CHECK(r128 < 0.55);
  const double r256 = random_miss_rate(256);
  CHECK(r256 > 0.70);
  CHECK(r256 < 0.80);
}

TEST_CASE("strict unmap faults at once and the iova is reused", "[iommu]") {
  OneDevice t(DomainType::dma);
  const uint64_t a = t.dma.dma_map_page(kDev, 0x1000000, 4096, DmaDirection::bidirectional, 0);
  REQUIRE(a == 0xfffff000);
  REQUIRE(t.iommu.translate(kDev, a, 64, true, 1_us).ok);
  CHECK(t.iommu.iotlb_contains(t.dom, a));
  t.dma.dma_unmap_page(kDev, a, 4096, DmaDirection::bidirectional, 2_us);
  CHECK_FALSE(t.iommu.iotlb_contains(t.dom, a));
  CHECK(t.iommu.iovad(t.dom).ranges().empty());
  const Translation r = t.iommu.translate(kDev, a, 64, true, 3_us);
  CHECK_FALSE(r.ok);
  CHECK(r.fault_reason == FaultReason::not_present);
  REQUIRE(t.iommu.faults().size() == 1);
  CHECK(t.iommu.faults()[0].iova == a);
  // The IOVA is free again: the next mapping gets it, with the new page.
  const uint64_t b = t.dma.dma_map_page(kDev, 0x2000000, 4096, DmaDirection::bidirectional, 4_us);
  CHECK(b == a);
  const Translation r2 = t.iommu.translate(kDev, b + 8, 8, false, 5_us);
  CHECK(r2.ok);
  CHECK(r2.phys == 0x2000008);
  CHECK_FALSE(r2.stale);
  CHECK(t.dma.log().empty());
  CHECK(t.iommu.fq_stats().queued == 0);
}

TEST_CASE("lazy unmap keeps a stale translation until the 10 ms timeout", "[iommu]") {
  OneDevice t(DomainType::dma_fq);
  const uint64_t x = t.dma.dma_map_page(kDev, 0x1000000, 4096, DmaDirection::bidirectional, 1_ms);
  REQUIRE(x == 0xfffff000);
  REQUIRE(t.iommu.translate(kDev, x, 64, false, 1_ms).ok);
  t.dma.dma_unmap_page(kDev, x, 4096, DmaDirection::bidirectional, 2_ms);
  CHECK_FALSE(t.iommu.iova_to_phys(t.dom, x));  // the PTE is gone ...
  CHECK(t.iommu.fq_pending(t.dom) == 1);
  CHECK(t.iommu.next_timer() == 12_ms);  // armed at the first queue_iova()
  // ... but the IOTLB still translates it.
  Translation r = t.iommu.translate(kDev, x + 0x10, 64, true, 3_ms);
  CHECK(r.ok);
  CHECK(r.stale);
  CHECK(r.phys == 0x1000010);
  // The queued IOVA is not reused: the next mapping goes below it.
  const uint64_t y = t.dma.dma_map_page(kDev, 0x2000000, 4096, DmaDirection::bidirectional, 4_ms);
  CHECK(y == 0xffffe000);
  // An IOVA unmapped before anything cached it faults at once even in lazy mode.
  const uint64_t z = t.dma.dma_map_page(kDev, 0x3000000, 4096, DmaDirection::bidirectional, 5_ms);
  CHECK(z == 0xffffd000);
  t.dma.dma_unmap_page(kDev, z, 4096, DmaDirection::bidirectional, 5_ms);
  CHECK(t.iommu.translate(kDev, z, 64, false, 5_ms).fault_reason == FaultReason::not_present);
  CHECK(t.iommu.next_timer() == 12_ms);  // a second queue_iova() does not re-arm it

  CHECK(t.iommu.translate(kDev, x, 64, false, 12_ms - 1).ok);
  CHECK(t.iommu.fq_stats().flushes_timeout == 0);
  // At 12 ms the timer flushes the IOTLB and frees both queued IOVAs.
  r = t.iommu.translate(kDev, x, 64, false, 12_ms);
  CHECK_FALSE(r.ok);
  CHECK(r.fault_reason == FaultReason::not_present);
  CHECK(t.iommu.fq_stats().flushes_timeout == 1);
  CHECK(t.iommu.fq_pending(t.dom) == 0);
  CHECK_FALSE(t.iommu.next_timer());
  CHECK(t.iommu.iovad(t.dom).ranges() == R({{0xffffe, 0xffffe}}));
  // Freeing 0xfffff (above the cached node 0xffffd) moved the cache to the
  // anchor: the top IOVA is handed out again.
  CHECK(t.dma.dma_map_page(kDev, 0x4000000, 4096, DmaDirection::bidirectional, 13_ms) == x);
  CHECK(t.iommu.translate(kDev, x, 8, false, 13_ms).phys == 0x4000000);
}

TEST_CASE("lazy flush queue flushes when the 256 slot ring is full", "[iommu]") {
  OneDevice t(DomainType::dma_fq);
  std::vector<uint64_t> iova;
  for (uint64_t i = 0; i < 256; ++i)
    iova.push_back(t.dma.dma_map_page(kDev, 0x10000000 + i * 4096, 4096, DmaDirection::bidirectional, 0));
  REQUIRE(iova[0] == 0xfffff000);
  REQUIRE(iova[255] == 0xfff00000);
  REQUIRE(t.iommu.translate(kDev, iova[254], 64, false, 0).ok);

  for (uint64_t i = 0; i < 255; ++i) t.dma.dma_unmap_page(kDev, iova[i], 4096, DmaDirection::bidirectional, 1_us);
  // 255 entries fill the ring (fq_full() is (tail + 1) % 256 == head).
  CHECK(t.iommu.fq_pending(t.dom) == 255);
  CHECK(t.iommu.fq_stats().flushes_full == 0);
  CHECK(t.iommu.translate(kDev, iova[254], 64, false, 2_us).stale);
  // None of the 255 is reused: a new page goes below the lowest live range.
  const uint64_t n1 = t.dma.dma_map_page(kDev, 0x20000000, 4096, DmaDirection::bidirectional, 3_us);
  CHECK(n1 == 0xffeff000);

  // The 256th unmap finds the ring full: one IOTLB flush, 255 IOVAs freed, itself queued.
  t.dma.dma_unmap_page(kDev, iova[255], 4096, DmaDirection::bidirectional, 4_us);
  CHECK(t.iommu.fq_stats().flushes_full == 1);
  CHECK(t.iommu.fq_stats().freed == 255);
  CHECK(t.iommu.fq_pending(t.dom) == 1);
  CHECK(t.iommu.iotlb_stats().flushes_all == 1);
  const Translation r = t.iommu.translate(kDev, iova[254], 64, false, 5_us);
  CHECK_FALSE(r.ok);
  CHECK(r.fault_reason == FaultReason::not_present);
  CHECK(t.iommu.iovad(t.dom).ranges() == R({{0xffeff, 0xffeff}, {0xfff00, 0xfff00}}));
  // The top of the space is free again (the first free moved the cache to the anchor).
  CHECK(t.dma.dma_map_page(kDev, 0x30000000, 4096, DmaDirection::bidirectional, 6_us) == 0xfffff000);
  // The timer armed at 1 us still fires and frees the last entry.
  t.iommu.run_timers(10_ms + 1_us);
  CHECK(t.iommu.fq_pending(t.dom) == 0);
  CHECK_FALSE(t.iommu.iovad(t.dom).find_iova(0xfff00));
}

TEST_CASE("strict unmaps wait one invalidation round trip each, lazy ones only when a ring is full", "[iommu][invalidation]") {
  IommuConfig cfg;
  cfg.invalidation_ps = 700_ns;
  SECTION("strict: one round trip per unmap, however many pages, in submission order") {
    OneDevice t(DomainType::dma, cfg);
    const uint64_t a = t.dma.dma_map_page(kDev, 0x1000000, 64 * 4096, DmaDirection::bidirectional, 0);
    const uint64_t b = t.dma.dma_map_page(kDev, 0x2000000, 4096, DmaDirection::bidirectional, 0);
    const uint64_t c = t.dma.dma_map_page(kDev, 0x3000000, 4096, DmaDirection::bidirectional, 0);
    CHECK(t.dma.dma_unmap_page(kDev, a, 64 * 4096, DmaDirection::bidirectional, 10_us) == 700_ns);
    // Submitted 200 ns into the first one's round trip: it waits for the
    // rest of that one, then its own.
    CHECK(t.dma.dma_unmap_page(kDev, b, 4096, DmaDirection::bidirectional, 10_us + 200_ns) == 500_ns + 700_ns);
    // Long after: the queue is idle again.
    CHECK(t.dma.dma_unmap_page(kDev, c, 4096, DmaDirection::bidirectional, 20_us) == 700_ns);
    CHECK(t.iommu.iotlb_stats().round_trips == 3);
    CHECK(t.iommu.iotlb_stats().cpu_wait_ps == 700_ns + 1200_ns + 700_ns);
  }
  SECTION("lazy: the unmap that finds its ring full pays for the flush; the timer's is no caller's") {
    OneDevice t(DomainType::dma_fq, cfg);
    std::vector<uint64_t> iova;
    for (uint64_t i = 0; i < 257; ++i)
      iova.push_back(t.dma.dma_map_page(kDev, 0x10000000 + i * 4096, 4096, DmaDirection::bidirectional, 0));
    for (uint64_t i = 0; i < 255; ++i)
      CHECK(t.dma.dma_unmap_page(kDev, iova[i], 4096, DmaDirection::bidirectional, 1_us) == 0);
    CHECK(t.iommu.iotlb_stats().round_trips == 0);
    CHECK(t.dma.dma_unmap_page(kDev, iova[255], 4096, DmaDirection::bidirectional, 2_us) == 700_ns);
    CHECK(t.iommu.iotlb_stats().round_trips == 1);
    // The timer armed at 1 us flushes at 10.001 ms: a round trip that holds
    // the queue until 10.0017 ms, so a strict-style wait right behind it
    // would queue; an unmap after it pays nothing.
    t.iommu.run_timers(10_ms + 1_us);
    CHECK(t.iommu.iotlb_stats().round_trips == 2);
    CHECK(t.iommu.sync_invalidation(10_ms + 1_us + 100_ns) == 600_ns + 700_ns);
    CHECK(t.dma.dma_unmap_page(kDev, iova[256], 4096, DmaDirection::bidirectional, 11_ms) == 0);
  }
  SECTION("identity domains and dma-direct never wait") {
    OneDevice t(DomainType::identity, cfg);
    const uint64_t a = t.dma.dma_map_page(kDev, 0x1000000, 4096, DmaDirection::bidirectional, 0);
    CHECK(t.dma.dma_unmap_page(kDev, a, 4096, DmaDirection::bidirectional, 1_us) == 0);
    CHECK(t.iommu.iotlb_stats().round_trips == 0);
  }
}

TEST_CASE("per cpu flush queues free other cpus entries only later", "[iommu]") {
  IommuConfig cfg;
  cfg.ncpus = 2;
  OneDevice t(DomainType::dma_fq, cfg);
  const uint64_t other = t.dma.dma_map_page(kDev, 0x5000000, 4096, DmaDirection::bidirectional, 0);
  REQUIRE(other == 0xfffff000);
  std::vector<uint64_t> iova;
  for (uint64_t i = 0; i < 256; ++i)
    iova.push_back(t.dma.dma_map_page(kDev, 0x10000000 + i * 4096, 4096, DmaDirection::bidirectional, 0));
  t.dma.dma_unmap_page(kDev, other, 4096, DmaDirection::bidirectional, 1_us, 1);
  for (uint64_t i = 0; i < 256; ++i) t.dma.dma_unmap_page(kDev, iova[i], 4096, DmaDirection::bidirectional, 2_us, 0);
  // CPU 0's full ring flushed the IOTLB for everyone but freed only its own ring.
  CHECK(t.iommu.fq_stats().flushes_full == 1);
  CHECK(t.iommu.fq_pending(t.dom) == 2);
  CHECK(t.iommu.iovad(t.dom).find_iova(other >> 12));
  // CPU 1's next queue_iova() first frees what was already flushed.
  const uint64_t again = t.dma.dma_map_page(kDev, 0x6000000, 4096, DmaDirection::bidirectional, 3_us);
  t.dma.dma_unmap_page(kDev, again, 4096, DmaDirection::bidirectional, 4_us, 1);
  CHECK_FALSE(t.iommu.iovad(t.dom).find_iova(other >> 12));
  CHECK(t.iommu.fq_pending(t.dom) == 2);
}

TEST_CASE("dma faults are logged with device iova and reason", "[iommu]") {
  OneDevice t;
  // 3 pages the device may only read, in a 4-page IOVA range at 0xffffc000.
  const uint64_t a = t.dma.dma_map_page(kDev, 0x200000, 3 * 4096, DmaDirection::to_device, 0);
  REQUIRE(a == 0xffffc000);
  CHECK(t.iommu.pte_prot(t.dom, a) == (prot::kCache | prot::kRead));
  Translation r = t.iommu.translate(kDev, a, 64, true, 1_us);
  CHECK_FALSE(r.ok);
  CHECK(r.fault_reason == FaultReason::no_write);
  CHECK(t.iommu.translate(kDev, a, 64, false, 2_us).ok);
  // A read across into the rounded-up, unmapped 4th page: two misses, fault at 0xfffff000.
  r = t.iommu.translate(kDev, 0xffffeff0, 32, false, 3_us);
  CHECK_FALSE(r.ok);
  CHECK(r.fault_reason == FaultReason::not_present);
  CHECK(r.fault_iova == 0xfffff000);
  CHECK(r.cost_ps == 2 * kMiss);
  // A from-device mapping cannot be read by the device.
  const uint64_t b = t.dma.dma_map_page(kDev, 0x300000, 4096, DmaDirection::from_device, 0);
  CHECK(t.iommu.translate(kDev, b, 4, false, 4_us).fault_reason == FaultReason::no_read);
  // A blocked domain faults everything.
  const DomainId blocked = t.iommu.alloc_domain(DomainType::blocked);
  t.iommu.attach_device(7, blocked);
  CHECK(t.iommu.translate(7, 0x1000, 4, true, 5_us).fault_reason == FaultReason::blocked);
  // Unmapping an address that was never mapped warns like the kernel.
  t.dma.dma_unmap_page(kDev, 0x80000000, 4096, DmaDirection::bidirectional, 6_us);
  CHECK(t.dma.log().size() == 1);

  const std::vector<IommuFault>& f = t.iommu.faults();
  REQUIRE(f.size() == 4);
  CHECK(f[0].time == 1_us);
  CHECK(f[0].device == kDev);
  CHECK(f[0].domain == t.dom);
  CHECK(f[0].iova == a);
  CHECK(f[0].write);
  CHECK(f[0].reason == FaultReason::no_write);
  CHECK(f[1].iova == 0xfffff000);
  CHECK(f[1].reason == FaultReason::not_present);
  CHECK_FALSE(f[1].write);
  CHECK(f[2].reason == FaultReason::no_read);
  CHECK(f[3].device == 7);
  CHECK(f[3].reason == FaultReason::blocked);
  CHECK(std::string(to_string(f[1].reason)) == "not_present");
}

namespace {

/**
 * struct P2pBox - one host bridge (Intel, off the whitelist, unless @cpu is Zen):
 *   00:01.0 RP1 -> 01:00.0 USP -> 02:00.0 DSP0 -> 03:00.0 A (provider)
 *                              -> 02:01.0 DSP1 -> 04:00.0 B
 *   00:02.0 RP2 -> 05:00.0 D
 * A-B: bus_addr (same switch, no ACS). A-D: thru_host_bridge on Zen, else not_supported.
 */
struct P2pBox {
  PciTopology topo;
  DeviceId a, b, d;
  P2pdmaDistance p2p;
  Iommu iommu;
  DmaMapper dma;
  uint32_t pgmap;
  static constexpr uint64_t kBar = 0x6000000000ULL;
  static constexpr uint64_t kBusOff = 0x100000000ULL;

  explicit P2pBox(CpuInfo cpu, DomainType type = DomainType::dma) : topo(cpu), p2p(topo), dma(iommu, &p2p) {
    const HostBridgeId hb = topo.add_host_bridge(0, 0);
    topo.add_host_bridge_function(hb, 0, 0, PciIds{kVendorIntel, 0x3e30});
    const DeviceId rp1 = topo.add_root_port(hb, 1, 0, 1);
    const DeviceId usp = topo.add_switch_upstream_port(rp1, 2);
    a = topo.add_endpoint(topo.add_switch_downstream_port(usp, 0, 3), 0);
    b = topo.add_endpoint(topo.add_switch_downstream_port(usp, 1, 4), 0);
    d = topo.add_endpoint(topo.add_root_port(hb, 2, 0, 5), 0);
    p2p.setup(a);
    pgmap = dma.add_p2p_pgmap(P2pPgmap{a, kBar, 1ULL << 21, kBusOff});
    for (DeviceId dev : {a, b, d}) {
      iommu.attach_device(dev, iommu.alloc_domain(type));
      dma.add_device(dev);
    }
  }
};

constexpr CpuInfo kIntel{true, CpuVendor::intel, 6};
constexpr CpuInfo kZen{true, CpuVendor::amd, 0x17};

}  // namespace

TEST_CASE("p2p bus_addr mapping is phys plus bus offset without the iommu", "[iommu]") {
  P2pBox box(kIntel);
  const P2pMapping m = box.dma.dma_map_p2p(box.b, P2pBox::kBar + 0x1080, 0x400, DmaDirection::from_device, 0);
  CHECK(m.err == 0);
  CHECK(m.type == MapType::bus_addr);
  CHECK(m.dma_addr == P2pBox::kBar + 0x1080 + P2pBox::kBusOff);
  const DomainId dom = box.iommu.domain_of(box.b);
  CHECK(box.iommu.mapped_pages(dom) == 0);
  CHECK(box.iommu.iovad(dom).ranges().empty());
  CHECK(box.p2p.cached_map_type(box.a, box.b) == MapType::bus_addr);
  // Were the TLP sent up to the IOMMU (an ACS redirect set after the map type
  // was cached), the bus address is no IOVA: it faults.
  CHECK(box.iommu.translate(box.b, m.dma_addr, 0x400, true, 1_us).fault_reason == FaultReason::not_present);
  box.dma.dma_unmap_p2p(box.b, m, 0x400, DmaDirection::from_device, 2_us);
  CHECK(box.dma.log().empty());
  // v6.2's dma_map_page() has no P2P check: it maps the BAR like memory.
  CHECK(box.dma.dma_map_page(box.b, P2pBox::kBar, 4096, DmaDirection::to_device, 3_us) == 0xfffff000);
}

TEST_CASE("p2p thru_host_bridge maps the BAR through the iommu", "[iommu]") {
  P2pBox box(kZen);
  const P2pMapping m = box.dma.dma_map_p2p(box.d, P2pBox::kBar + 0x80, 0x100, DmaDirection::bidirectional, 0);
  CHECK(m.err == 0);
  CHECK(m.type == MapType::thru_host_bridge);
  CHECK(m.dma_addr == 0xfffff080);
  const DomainId dom = box.iommu.domain_of(box.d);
  CHECK(box.iommu.iova_to_phys(dom, 0xfffff000) == P2pBox::kBar);
  const Translation r = box.iommu.translate(box.d, m.dma_addr, 64, true, 1_us);
  CHECK(r.ok);
  CHECK(r.phys == P2pBox::kBar + 0x80);  // the CPU physical address: no bus offset
  box.dma.dma_unmap_p2p(box.d, m, 0x100, DmaDirection::bidirectional, 2_us);
  CHECK(box.iommu.mapped_pages(dom) == 0);
  CHECK(box.iommu.iovad(dom).ranges().empty());
  CHECK(box.iommu.translate(box.d, m.dma_addr, 64, true, 3_us).fault_reason == FaultReason::not_present);

  // Same pair with the client in an identity domain: dma-direct, the physical address.
  P2pBox ident(kZen, DomainType::identity);
  const P2pMapping mi = ident.dma.dma_map_p2p(ident.d, P2pBox::kBar + 0x80, 0x100, DmaDirection::bidirectional, 0);
  CHECK(mi.type == MapType::thru_host_bridge);
  CHECK(mi.dma_addr == P2pBox::kBar + 0x80);
}

TEST_CASE("p2p not_supported fails with EREMOTEIO and maps nothing", "[iommu]") {
  P2pBox box(kIntel);
  const DomainId dom = box.iommu.domain_of(box.d);
  const P2pMapping m = box.dma.dma_map_p2p(box.d, P2pBox::kBar, 4096, DmaDirection::to_device, 0);
  CHECK(m.err == -121);
  CHECK(m.err == dma_err::kEremoteio);
  CHECK(m.type == MapType::not_supported);
  CHECK(m.dma_addr == kDmaMappingError);
  // A host page before the P2P page in one list: the whole list fails, no IOVA left behind.
  std::vector<SgEntry> sg{SgEntry{0x100000, 4096}, SgEntry{P2pBox::kBar + 4096, 4096}};
  CHECK(box.dma.dma_map_sg(box.d, sg, DmaDirection::to_device, 1_us) == dma_err::kEremoteio);
  CHECK(sg[0].dma_address == kDmaMappingError);
  CHECK(box.iommu.mapped_pages(dom) == 0);
  CHECK(box.iommu.iovad(dom).ranges().empty());
  // A non-PCI client and a mapper without P2PDMA knowledge: not_supported too.
  box.dma.add_device(20, DmaDeviceConfig{~0ULL, 0, false});
  CHECK(box.dma.dma_map_p2p(20, P2pBox::kBar, 64, DmaDirection::to_device, 0).err == dma_err::kEremoteio);
  Iommu plain;
  DmaMapper none(plain);
  none.add_p2p_pgmap(P2pPgmap{box.a, P2pBox::kBar, 4096, 0});
  none.add_device(box.b);
  CHECK(none.dma_map_p2p(box.b, P2pBox::kBar, 64, DmaDirection::to_device, 0).type == MapType::not_supported);
}

TEST_CASE("dma_map_sg puts host and p2p segments in one iova range", "[iommu]") {
  P2pBox zen(kZen);
  const DomainId dom = zen.iommu.domain_of(zen.d);
  // 4 KiB + 8 KiB BAR + 1 KiB at offset 0x800 (one granule) = 4 pages at 0xffffc000.
  std::vector<SgEntry> sg{SgEntry{0x100000, 4096}, SgEntry{P2pBox::kBar, 8192}, SgEntry{0x300800, 0x400}};
  REQUIRE(zen.dma.dma_map_sg(zen.d, sg, DmaDirection::bidirectional, 0) == 3);
  CHECK(sg[0].dma_address == 0xffffc000);
  CHECK(sg[1].dma_address == 0xffffd000);
  CHECK(sg[1].map_type == MapType::thru_host_bridge);
  CHECK(sg[2].dma_address == 0xfffff800);
  CHECK(zen.iommu.translate(zen.d, 0xffffe010, 4, false, 1_us).phys == P2pBox::kBar + 0x1010);
  CHECK(zen.iommu.translate(zen.d, 0xfffff800, 4, false, 1_us).phys == 0x300800);
  zen.dma.dma_unmap_sg(zen.d, sg, DmaDirection::bidirectional, 2_us);
  CHECK(zen.iommu.mapped_pages(dom) == 0);
  CHECK(zen.iommu.iovad(dom).ranges().empty());
  CHECK(zen.dma.log().empty());

  // With a bus_addr peer: the P2P segment bypasses the IOMMU, the host page alone takes an IOVA.
  P2pBox sw(kIntel);
  const DomainId bdom = sw.iommu.domain_of(sw.b);
  std::vector<SgEntry> mix{SgEntry{P2pBox::kBar + 0x2000, 4096}, SgEntry{0x100000, 4096}};
  REQUIRE(sw.dma.dma_map_sg(sw.b, mix, DmaDirection::to_device, 0) == 2);
  CHECK(mix[0].bus_address);
  CHECK(mix[0].dma_address == P2pBox::kBar + 0x2000 + P2pBox::kBusOff);
  CHECK(mix[1].dma_address == 0xfffff000);
  CHECK(sw.iommu.mapped_pages(bdom) == 1);
  sw.dma.dma_unmap_sg(sw.b, mix, DmaDirection::to_device, 1_us);
  CHECK(sw.iommu.mapped_pages(bdom) == 0);
  CHECK(sw.iommu.iovad(bdom).ranges().empty());
}

TEST_CASE("iotlb misses wait for a free page walker", "[iommu][walkers]") {
  IommuConfig cfg;
  cfg.page_walkers = 1;
  OneDevice t(DomainType::dma, cfg);
  const uint64_t base = t.dma.dma_map_page(kDev, 0x40000000, 16 * 4096, DmaDirection::bidirectional, 0);
  // Ten misses at the same moment: one walker does them one after another.
  for (uint64_t i = 0; i < 10; ++i) {
    const Translation r = t.iommu.translate(kDev, base + i * 4096, 64, false, 1_us);
    CHECK(r.cost_ps == (i + 1) * kMiss);
    CHECK(r.walk_wait_ps == i * kMiss);
  }
  CHECK(t.iommu.iotlb_stats().walk_wait_ps == 45 * kMiss);
  // A hit needs no walker; a miss after the walker went idle does not wait.
  CHECK(t.iommu.translate(kDev, base, 64, false, 20_us).cost_ps == 0);
  CHECK(t.iommu.translate(kDev, base + 10 * 4096, 64, false, 20_us).cost_ps == kMiss);
}

TEST_CASE("with 7 page walkers, 64 B random reads beyond the IOTLB's reach run at about a third of the link",
          "[iommu][walkers]") {
  // pcie-bench (docs/anchors.md "IOMMU"): 64 B random DMA reads lose most of
  // their bandwidth once the working set passes the IOTLB's reach. The reads
  // are issued at the Gen3 x8 link's 64 B read rate (44.10 Gb/s: one per
  // 11.6 ns); each finishes when its translation does.
  const double link_gbps = 44.10;
  const ps_t gap = static_cast<ps_t>(64 * 8 * 1000 / link_gbps);  // ps between two reads
  auto rate = [&](uint64_t pages, uint32_t walkers) {
    IommuConfig cfg;
    cfg.page_walkers = walkers;
    OneDevice t(DomainType::dma, cfg);
    const uint64_t base = t.dma.dma_map_page(kDev, 0x40000000, pages * 4096, DmaDirection::bidirectional, 0);
    SplitMix rng{7};
    for (uint64_t i = 0; i < pages; ++i) t.iommu.translate(kDev, base + i * 4096, 64, false, 0);  // warm
    const ps_t t0 = 1_ms;
    ps_t end = t0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const ps_t at = t0 + static_cast<ps_t>(i) * gap;
      const Translation r = t.iommu.translate(kDev, base + (rng.next() % pages) * 4096, 64, false, at);
      end = std::max(end, at + r.cost_ps + gap);
    }
    return n * 64 * 8.0 * 1000 / static_cast<double>(end - t0);  // Gb/s
  };
  const double in_reach = rate(32, 7), beyond = rate(4096, 7), unlimited = rate(4096, 0);
  INFO("32 pages: " << in_reach << " Gb/s, 4096 pages: " << beyond << " Gb/s, unlimited walkers: " << unlimited);
  CHECK(in_reach > 0.99 * link_gbps);
  CHECK(beyond > link_gbps / 3 * 0.85);
  CHECK(beyond < link_gbps / 3 * 1.15);
  CHECK(unlimited > 0.95 * link_gbps);  // latency only: misses overlap without limit
}
