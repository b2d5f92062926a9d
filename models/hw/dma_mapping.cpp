// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/dma_mapping.h"

#include <algorithm>
#include <string>

#include "common/kernel_bug.h"

namespace p2psim::hw {

namespace {

constexpr uint64_t kGranuleMask = kIommuPageSize - 1;

/// iova_align(): round up to the granule.
uint64_t iova_align(uint64_t size) { return (size + kGranuleMask) & ~kGranuleMask; }

std::string hex(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), digits[v & 15]);
    v >>= 4;
  } while (v);
  return "0x" + s;
}

}  // namespace

void DmaMapper::add_device(DeviceId dev, const DmaDeviceConfig& cfg) { devices_[dev] = cfg; }

const DmaDeviceConfig& DmaMapper::device(DeviceId dev) const {
  auto it = devices_.find(dev);
  if (it == devices_.end()) throw ModelBug("dma: device " + std::to_string(dev) + " was not added");
  return it->second;
}

uint32_t DmaMapper::add_p2p_pgmap(const P2pPgmap& pgmap) {
  if (pgmap.size == 0) throw ModelBug("dma: empty p2p pagemap");
  for (const P2pPgmap& other : pgmaps_)
    if (pgmap.phys_start < other.phys_start + other.size && other.phys_start < pgmap.phys_start + pgmap.size)
      throw ModelBug("dma: overlapping p2p pagemaps");
  const auto idx = static_cast<uint32_t>(pgmaps_.size());
  pgmaps_.push_back(pgmap);
  pgmap_by_start_[pgmap.phys_start] = idx;
  return idx;
}

std::optional<uint32_t> DmaMapper::p2p_pgmap_of(uint64_t phys) const {
  auto it = pgmap_by_start_.upper_bound(phys);
  if (it == pgmap_by_start_.begin()) return std::nullopt;
  --it;
  const P2pPgmap& pg = pgmaps_[it->second];
  if (phys - pg.phys_start >= pg.size) return std::nullopt;
  return it->second;
}

// models drivers/iommu/dma-iommu.c:dma_info_to_prot() as of v6.2
int DmaMapper::dma_info_to_prot(DmaDirection dir, bool coherent) {
  const int p = coherent ? prot::kCache : 0;
  switch (dir) {
    case DmaDirection::bidirectional: return p | prot::kRead | prot::kWrite;
    case DmaDirection::to_device: return p | prot::kRead;
    case DmaDirection::from_device: return p | prot::kWrite;
    case DmaDirection::none: return 0;
  }
  return 0;
}

bool DmaMapper::uses_iommu(DeviceId dev) const {
  const DomainId d = iommu_.domain_of(dev);
  return d != kNoDomain && iommu_.translates(d);
}

// models kernel/dma/direct.h:dma_direct_map_page() as of v6.2 (no
// dma_range_map offset, no swiotlb: an address beyond the mask fails)
uint64_t DmaMapper::direct_map(DeviceId dev, uint64_t phys, uint64_t size) const {
  const DmaDeviceConfig& cfg = device(dev);
  uint64_t limit = cfg.dma_mask;
  if (cfg.bus_dma_limit != 0) limit = std::min(limit, cfg.bus_dma_limit);  // dma_capable(): min_not_zero()
  const uint64_t end = phys + (size ? size : 1) - 1;
  if (end > limit) return kDmaMappingError;
  return phys;
}

// models drivers/iommu/dma-iommu.c:__iommu_dma_map() as of v6.2
uint64_t DmaMapper::iommu_dma_map(DeviceId dev, uint64_t phys, uint64_t size, int prot_bits, ps_t now) {
  const DmaDeviceConfig& cfg = device(dev);
  const DomainId domain = iommu_.domain_of(dev);
  const uint64_t iova_off = phys & kGranuleMask;
  const uint64_t len = iova_align(size + iova_off);
  const uint64_t iova = iommu_.dma_alloc_iova(domain, len, cfg.dma_mask, cfg.bus_dma_limit, cfg.is_pci, now);
  if (!iova) return kDmaMappingError;
  if (iommu_.map(domain, iova, phys - iova_off, len, prot_bits) != 0) {
    iommu_.dma_free_iova(domain, iova, len, false, 0, now);
    return kDmaMappingError;
  }
  return iova + iova_off;
}

// models drivers/iommu/dma-iommu.c:__iommu_dma_unmap() as of v6.2: strict
// domains sync the IOTLB and free the IOVA now; dma_fq domains leave the
// IOTLB alone and queue the IOVA. One unmap, one invalidation round trip
// (strict), however many pages it covers.
ps_t DmaMapper::iommu_dma_unmap(DeviceId dev, uint64_t dma_addr, uint64_t size, ps_t now, uint32_t cpu) {
  const DomainId domain = iommu_.domain_of(dev);
  iommu_.run_timers(now);
  const uint64_t iova_off = dma_addr & kGranuleMask;
  const uint64_t start = dma_addr - iova_off;
  const uint64_t len = iova_align(size + iova_off);
  const bool queued = iommu_.domain_type(domain) == DomainType::dma_fq;  // gather.queued = cookie->fq_domain
  const uint64_t unmapped = iommu_.unmap_fast(domain, start, len);
  if (unmapped != len)
    log_.push_back("WARN __iommu_dma_unmap: unmapped " + std::to_string(unmapped) + " of " + std::to_string(len) +
                   " bytes at " + hex(start));
  ps_t waited = 0;
  if (!queued) {  // iommu_iotlb_sync() -> intel_iommu_tlb_sync()
    iommu_.flush_iotlb_range(domain, start, len);
    waited = iommu_.sync_invalidation(now);
  }
  return waited + iommu_.dma_free_iova(domain, start, len, queued, cpu, now + waited);
}

// models kernel/dma/mapping.c:dma_map_page_attrs() as of v6.2
// (-> dma_direct_map_page() or iommu_dma_map_page())
uint64_t DmaMapper::dma_map_page(DeviceId dev, uint64_t phys, uint64_t size, DmaDirection dir, ps_t now,
                                 uint32_t cpu) {
  (void)cpu;
  if (dir == DmaDirection::none) throw KernelBug("dma_map_page: BUG_ON(!valid_dma_direction(dir))");
  if (!uses_iommu(dev)) return direct_map(dev, phys, size);
  return iommu_dma_map(dev, phys, size, dma_info_to_prot(dir, true), now);
}

// models kernel/dma/mapping.c:dma_unmap_page_attrs() as of v6.2
ps_t DmaMapper::dma_unmap_page(DeviceId dev, uint64_t dma_addr, uint64_t size, DmaDirection dir, ps_t now,
                               uint32_t cpu) {
  (void)dir;
  if (!uses_iommu(dev)) return 0;  // dma-direct without swiotlb: nothing to undo
  return iommu_dma_unmap(dev, dma_addr, size, now, cpu);
}

// models drivers/iommu/dma-iommu.c:iommu_dma_map_resource() as of v6.2
uint64_t DmaMapper::dma_map_resource(DeviceId dev, uint64_t phys, uint64_t size, DmaDirection dir, ps_t now,
                                     uint32_t cpu) {
  (void)cpu;
  if (!uses_iommu(dev)) return direct_map(dev, phys, size);
  return iommu_dma_map(dev, phys, size, dma_info_to_prot(dir, false) | prot::kMmio, now);
}

ps_t DmaMapper::dma_unmap_resource(DeviceId dev, uint64_t dma_addr, uint64_t size, DmaDirection dir, ps_t now,
                                   uint32_t cpu) {
  return dma_unmap_page(dev, dma_addr, size, dir, now, cpu);
}

// models drivers/pci/p2pdma.c:pci_p2pdma_map_type() as of v6.2 (through
// P2pdmaDistance::map_type(): cached per client, computed on a miss)
bool DmaMapper::maps_through_iova(DeviceId dev, uint64_t phys) {
  if (!uses_iommu(dev)) return false;
  if (const auto pg = p2p_pgmap_of(phys)) return p2p_map_type(*pg, dev) == MapType::thru_host_bridge;
  return true;
}

MapType DmaMapper::p2p_map_type(uint32_t pgmap, DeviceId client) {
  if (!p2p_) return MapType::not_supported;
  const DmaDeviceConfig& cfg = device(client);
  return p2p_->map_type(pgmaps_[pgmap].provider, cfg.is_pci ? client : kNotPciDevice);
}

// models kernel/dma/direct.c:dma_direct_map_sg() and
// drivers/iommu/dma-iommu.c:iommu_dma_map_sg() as of v6.2, with
// drivers/pci/p2pdma.c:pci_p2pdma_map_segment() for P2P pages
int DmaMapper::dma_map_sg(DeviceId dev, std::vector<SgEntry>& sg, DmaDirection dir, ps_t now, uint32_t cpu) {
  (void)cpu;
  if (dir == DmaDirection::none) throw KernelBug("dma_map_sg: BUG_ON(!valid_dma_direction(dir))");
  if (sg.empty()) return 0;
  for (SgEntry& s : sg) {
    s.dma_address = kDmaMappingError;
    s.dma_length = 0;
    s.bus_address = false;
    s.map_type = MapType::unknown;
  }

  // struct pci_p2pdma_map_state: the pagemap last looked up and its answer.
  std::optional<uint32_t> state_pgmap;
  MapType state_map = MapType::unknown;
  uint64_t state_bus_off = 0;
  auto map_segment = [&](SgEntry& s, uint32_t pgmap) {
    if (!state_pgmap || *state_pgmap != pgmap) {
      state_pgmap = pgmap;
      state_map = p2p_map_type(pgmap, dev);
      state_bus_off = pgmaps_[pgmap].bus_offset;
    }
    if (state_map == MapType::bus_addr) {
      s.dma_address = s.phys + state_bus_off;
      s.dma_length = s.length;
      s.bus_address = true;  // sg_dma_mark_bus_address()
    }
    s.map_type = state_map;
    return state_map;
  };

  if (!uses_iommu(dev)) {
    // dma_direct_map_sg()
    for (size_t i = 0; i < sg.size(); ++i) {
      SgEntry& s = sg[i];
      if (auto pg = p2p_pgmap_of(s.phys)) {
        const MapType map = map_segment(s, *pg);
        if (map == MapType::bus_addr) continue;
        if (map != MapType::thru_host_bridge) {
          // out_unmap: dma_direct_unmap_sg() of the i entries before; nothing to undo without swiotlb
          for (size_t j = 0; j < i; ++j) sg[j].dma_address = kDmaMappingError, sg[j].bus_address = false;
          return dma_err::kEremoteio;
        }
      }
      s.dma_address = direct_map(dev, s.phys, s.length);
      if (s.dma_address == kDmaMappingError) {
        for (size_t j = 0; j < i; ++j) sg[j].dma_address = kDmaMappingError, sg[j].bus_address = false;
        return dma_err::kEio;
      }
      s.dma_length = s.length;
    }
    return static_cast<int>(sg.size());
  }

  // iommu_dma_map_sg(): one IOVA allocation for every non-bus-address segment,
  // each segment padded out to whole granules.
  const DmaDeviceConfig& cfg = device(dev);
  const DomainId domain = iommu_.domain_of(dev);
  uint64_t iova_len = 0;
  std::vector<uint64_t> seg_off(sg.size(), 0);
  for (size_t i = 0; i < sg.size(); ++i) {
    SgEntry& s = sg[i];
    if (auto pg = p2p_pgmap_of(s.phys)) {
      const MapType map = map_segment(s, *pg);
      if (map == MapType::bus_addr) continue;  // iommu_map_sg() skips it; __finalise_sg() keeps its address
      if (map != MapType::thru_host_bridge) {
        for (SgEntry& t : sg) t.dma_address = kDmaMappingError, t.dma_length = 0, t.bus_address = false;
        return dma_err::kEremoteio;  // out_restore_sg
      }
    }
    seg_off[i] = iova_len;
    iova_len += iova_align(s.length + (s.phys & kGranuleMask));
  }
  if (iova_len == 0) return static_cast<int>(sg.size());  // only bus addresses: __finalise_sg(dev, sg, nents, 0)

  const uint64_t iova = iommu_.dma_alloc_iova(domain, iova_len, cfg.dma_mask, cfg.bus_dma_limit, cfg.is_pci, now);
  if (!iova) {
    for (SgEntry& t : sg) t.dma_address = kDmaMappingError, t.dma_length = 0, t.bus_address = false;
    return dma_err::kEnomem;
  }
  // iommu_map_sg_atomic(): segments back to back from iova
  const int prot_bits = dma_info_to_prot(dir, true);
  for (size_t i = 0; i < sg.size(); ++i) {
    SgEntry& s = sg[i];
    if (s.bus_address) continue;
    const uint64_t off = s.phys & kGranuleMask;
    const uint64_t len = iova_align(s.length + off);
    if (iommu_.map(domain, iova + seg_off[i], s.phys - off, len, prot_bits) != 0) {
      iommu_.unmap(domain, iova, iova_len);
      iommu_.dma_free_iova(domain, iova, iova_len, false, 0, now);
      for (SgEntry& t : sg) t.dma_address = kDmaMappingError, t.dma_length = 0, t.bus_address = false;
      return dma_err::kEio;
    }
    s.dma_address = iova + seg_off[i] + off;  // __finalise_sg(), without merging
    s.dma_length = s.length;
  }
  return static_cast<int>(sg.size());
}

// models kernel/dma/direct.c:dma_direct_unmap_sg() and
// drivers/iommu/dma-iommu.c:iommu_dma_unmap_sg() as of v6.2
ps_t DmaMapper::dma_unmap_sg(DeviceId dev, std::vector<SgEntry>& sg, DmaDirection dir, ps_t now, uint32_t cpu) {
  (void)dir;
  if (!uses_iommu(dev)) {
    for (SgEntry& s : sg) s.bus_address = false;  // sg_dma_unmark_bus_address()
    return 0;
  }
  // The mapped segments are one contiguous IOVA allocation: find its ends.
  std::optional<uint64_t> start;
  uint64_t end = 0;
  for (SgEntry& s : sg) {
    if (s.bus_address) {
      s.bus_address = false;
      continue;
    }
    if (s.dma_length == 0) break;
    if (!start) start = s.dma_address;
    end = s.dma_address + s.dma_length;
  }
  if (start && end) return iommu_dma_unmap(dev, *start, end - *start, now, cpu);
  return 0;
}

P2pMapping DmaMapper::dma_map_p2p(DeviceId client, uint64_t phys, uint64_t size, DmaDirection dir, ps_t now,
                                  uint32_t cpu) {
  std::vector<SgEntry> sg{SgEntry{phys, size}};
  P2pMapping m;
  const int n = dma_map_sg(client, sg, dir, now, cpu);
  m.type = sg[0].map_type;
  if (n < 0) {
    m.err = n;
    return m;
  }
  m.dma_addr = sg[0].dma_address;
  return m;
}

ps_t DmaMapper::dma_unmap_p2p(DeviceId client, const P2pMapping& m, uint64_t size, DmaDirection dir, ps_t now,
                              uint32_t cpu) {
  if (m.err != 0) return 0;
  std::vector<SgEntry> sg{SgEntry{0, size, m.dma_addr, size, m.type == MapType::bus_addr, m.type}};
  return dma_unmap_sg(client, sg, dir, now, cpu);
}

}  // namespace p2psim::hw
