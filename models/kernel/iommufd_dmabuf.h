// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// iommufd as a dma-buf importer (drivers/iommu/iommufd/pages.c, 7.0.0;
// docs/fidelity.md): IOMMU_IOAS_MAP_FILE of a vfio dma-buf takes the BAR's
// physical range from vfio_pci_dma_buf_iommufd_map() - no dma-buf mapping,
// so no pin at map - and maps it into the IOAS's IOMMU domain, where the
// devices attached to the IOAS (a VM's assigned devices) reach it.
// move_notify is a revoke: the domain range is unmapped and the pages stay
// revoked. The IOMMU translates a DMA when it arrives, so a write still on
// the wire after the unmap is blocked there.
#include <cstdint>
#include <string>

#include "kernel/dma_buf.h"
#include "kernel/exec.h"
#include "kernel/mm.h"

namespace p2psim::kern {

class Kernel;

/**
 * struct IommufdDmabufPages - struct iopt_pages of type DMABUF, with the one
 * area and domain the model maps it into.
 * @len: pages->dmabuf.phys.len; 0 once revoked (iopt_dmabuf_revoked()).
 * @mapped: the area is filled into the domain (its tracker entry).
 */
struct IommufdDmabufPages {
  std::string dev;  ///< the device attached to the IOAS whose DMA uses it
  DmaBuf* dmabuf = nullptr;
  DmaBufAttachment* attach = nullptr;
  uint64_t phys = 0, len = 0;
  uint64_t iova = 0;
  bool mapped = false;
  bool live = false;  ///< the IOAS mapping exists (until IOMMU_IOAS_UNMAP)
  /// A map is in progress or done: the model keeps one mapping per device,
  /// so a second map of it is refused (EBUSY) from the first one's start.
  bool claimed = false;
  RwSem mutex;        ///< pages->mutex (held for write only)
};

/// IOMMU_IOAS_MAP_FILE with a dma-buf fd: iopt_map_dmabuf(), then the area
/// filled into the domain unless revoked. 0 or -errno.
long iommufd_ioas_map_dmabuf(Exec& ex, Kernel& k, IommufdDmabufPages& pages, DmaBuf& dmabuf);
/// A write of @value by the attached device to the mapping's IOVA: on the
/// wire for @duration, translated by the IOMMU when it arrives. 0, or
/// -EFAULT when the IOMMU finds no mapping (the write is blocked).
long iommufd_device_dma_write(Exec& ex, Kernel& k, IommufdDmabufPages& pages, uint64_t value, ps_t duration);
/// IOMMU_IOAS_UNMAP: the area unfilled, then iopt_release_pages() (detach, put).
void iommufd_ioas_unmap(Exec& ex, Kernel& k, IommufdDmabufPages& pages);

}  // namespace p2psim::kern
