// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hw/iommu.h"
#include "hw/p2pdma_distance.h"
#include "hw/pci_topology.h"
#include "common/time.h"

namespace p2psim::hw {

/// enum dma_data_direction.
enum class DmaDirection { bidirectional, to_device, from_device, none };

/// DMA_MAPPING_ERROR.
constexpr uint64_t kDmaMappingError = ~0ULL;

/// Kernel error numbers returned (negated) by the mapping calls.
namespace dma_err {
constexpr int kEio = -5;
constexpr int kEnomem = -12;
constexpr int kEinval = -22;
constexpr int kEremoteio = -121;
}  // namespace dma_err

/**
 * struct DmaDeviceConfig - what the DMA API reads from a struct device.
 * @dma_mask: *dev->dma_mask (dma_set_mask()).
 * @bus_dma_limit: dev->bus_dma_limit, 0 for none.
 * @is_pci: dev_is_pci(): PCI devices get the SAC trick (IOVAs below 4 GiB
 *          first) and can be P2PDMA clients.
 */
struct DmaDeviceConfig {
  uint64_t dma_mask = ~0ULL;
  uint64_t bus_dma_limit = 0;
  bool is_pci = true;
};

/**
 * struct P2pPgmap - struct pci_p2pdma_pagemap: a provider BAR range published
 * as ZONE_DEVICE pages (pci_p2pdma_add_resource()).
 * @provider: the PCI function whose BAR it is.
 * @phys_start, @size: CPU physical range (pci_resource_start() + offset).
 * @bus_offset: pci_bus_address() - pci_resource_start(): what a peer must
 *              add to the CPU physical address to reach the BAR on the bus.
 */
struct P2pPgmap {
  DeviceId provider = kNoDevice;
  uint64_t phys_start = 0;
  uint64_t size = 0;
  uint64_t bus_offset = 0;
};

/**
 * struct SgEntry - one struct scatterlist entry: @phys/@length in, the rest
 * out. @bus_address: sg_dma_mark_bus_address(), a P2P segment the IOMMU was
 * bypassed for. @map_type: what pci_p2pdma_map_segment() said (unknown for a
 * normal page).
 */
struct SgEntry {
  uint64_t phys = 0;
  uint64_t length = 0;
  uint64_t dma_address = kDmaMappingError;
  uint64_t dma_length = 0;
  bool bus_address = false;
  MapType map_type = MapType::unknown;
};

/// The result of dma_map_p2p().
struct P2pMapping {
  int err = 0;  ///< 0 or a negative errno (-EREMOTEIO for not_supported)
  uint64_t dma_addr = kDmaMappingError;
  MapType type = MapType::unknown;
};

/**
 * class DmaMapper - the streaming DMA API of v6.2 (kernel/dma/mapping.c) over
 * an Iommu: dma-direct for devices with no domain or an identity domain,
 * dma-iommu (drivers/iommu/dma-iommu.c) for translated domains, and the
 * P2PDMA handling of dma_map_sg() (pci_p2pdma_map_segment()).
 *
 * Modelled as coherent x86: no cache maintenance, no swiotlb (a direct
 * mapping the device cannot address fails instead of bouncing; untrusted
 * devices are not bounced). The segment boundary and maximum segment size
 * are not modelled (segments are not merged, nothing is padded).
 *
 * @now / @cpu: simulated time (the flush-queue timer) and the CPU whose
 * flush queue an unmap goes to.
 */
class DmaMapper {
 public:
  /// @p2p: the map-type source for P2P pages; without it every P2P page is
  /// not_supported (the provider has no pdev->p2pdma).
  explicit DmaMapper(Iommu& iommu, P2pdmaDistance* p2p = nullptr) : iommu_(iommu), p2p_(p2p) {}

  void add_device(DeviceId dev, const DmaDeviceConfig& cfg = {});
  const DmaDeviceConfig& device(DeviceId dev) const;

  /// Registers a P2P pagemap; returns its index. Ranges must not overlap.
  uint32_t add_p2p_pgmap(const P2pPgmap& pgmap);
  /// is_pci_p2pdma_page(): the pagemap @phys lies in.
  std::optional<uint32_t> p2p_pgmap_of(uint64_t phys) const;
  const P2pPgmap& p2p_pgmap(uint32_t idx) const { return pgmaps_.at(idx); }

  /// dma_info_to_prot() (v6.2), coherent: IOMMU_CACHE plus READ/WRITE by direction.
  static int dma_info_to_prot(DmaDirection dir, bool coherent);

  /**
   * dma_map_page() - dma_map_page_attrs(): dma-direct (phys, checked against
   * the mask) or iommu_dma_map_page(). kDmaMappingError on failure. Like
   * v6.2, it does not look for P2P pages: a P2P page is mapped as if it
   * were memory (its CPU physical address, or an IOVA for it).
   */
  uint64_t dma_map_page(DeviceId dev, uint64_t phys, uint64_t size, DmaDirection dir, ps_t now, uint32_t cpu = 0);
  /// dma_unmap_page_attrs(). Unmapping what was not mapped is a WARN (log()).
  /// Every unmap returns the time the calling CPU spun waiting for the
  /// IOMMU's invalidation (strict: always; lazy: when it flushed a full ring).
  ps_t dma_unmap_page(DeviceId dev, uint64_t dma_addr, uint64_t size, DmaDirection dir, ps_t now, uint32_t cpu = 0);

  /// dma_map_resource() - iommu_dma_map_resource(): MMIO with IOMMU_MMIO;
  /// dma-direct returns the physical address.
  uint64_t dma_map_resource(DeviceId dev, uint64_t phys, uint64_t size, DmaDirection dir, ps_t now, uint32_t cpu = 0);
  ps_t dma_unmap_resource(DeviceId dev, uint64_t dma_addr, uint64_t size, DmaDirection dir, ps_t now,
                          uint32_t cpu = 0);

  /**
   * dma_map_sg() - dma_map_sgtable() semantics: the number of mapped entries
   * or a negative errno. P2P pages go through pci_p2pdma_map_segment():
   * bus_addr → phys + bus_offset, marked as bus address, no IOMMU;
   * thru_host_bridge → mapped like memory (CPU physical address; through the
   * IOMMU when the domain translates); anything else → -EREMOTEIO with
   * nothing left mapped. In a translated domain all other segments share one
   * IOVA allocation, laid out back to back.
   */
  int dma_map_sg(DeviceId dev, std::vector<SgEntry>& sg, DmaDirection dir, ps_t now, uint32_t cpu = 0);
  /// dma_unmap_sg(): skips bus-address segments, unmaps the IOVA span of the rest.
  ps_t dma_unmap_sg(DeviceId dev, std::vector<SgEntry>& sg, DmaDirection dir, ps_t now, uint32_t cpu = 0);

  /// One P2P page range through a one-entry dma_map_sg() (how NVMe maps P2P
  /// data: nvme_map_data() skips its single-bvec dma_map_bvec() path for them).
  P2pMapping dma_map_p2p(DeviceId client, uint64_t phys, uint64_t size, DmaDirection dir, ps_t now,
                         uint32_t cpu = 0);
  ps_t dma_unmap_p2p(DeviceId client, const P2pMapping& m, uint64_t size, DmaDirection dir, ps_t now,
                     uint32_t cpu = 0);

  /// Would mapping @phys for @dev take an IOVA: a translated domain, and not
  /// a P2P page mapped by bus address (or refused)? Only such a mapping can
  /// fail for want of one.
  bool maps_through_iova(DeviceId dev, uint64_t phys);

  /// WARN lines (unmaps that did not match a mapping).
  const std::vector<std::string>& log() const { return log_; }

 private:
  bool uses_iommu(DeviceId dev) const;
  uint64_t iommu_dma_map(DeviceId dev, uint64_t phys, uint64_t size, int prot_bits, ps_t now);
  ps_t iommu_dma_unmap(DeviceId dev, uint64_t dma_addr, uint64_t size, ps_t now, uint32_t cpu);
  uint64_t direct_map(DeviceId dev, uint64_t phys, uint64_t size) const;
  MapType p2p_map_type(uint32_t pgmap, DeviceId client);

  Iommu& iommu_;
  P2pdmaDistance* p2p_;
  std::map<DeviceId, DmaDeviceConfig> devices_;
  std::map<uint64_t, uint32_t> pgmap_by_start_;  ///< phys_start -> index
  std::vector<P2pPgmap> pgmaps_;
  std::vector<std::string> log_;
};

}  // namespace p2psim::hw
