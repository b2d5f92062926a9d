// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/iommufd_dmabuf.h"

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "kernel/vfio_pci.h"

namespace p2psim::kern {

namespace {

// Unmapping a domain range: iommu_unmap() with its IOTLB sync, waited for.
void iopt_area_unmap_domain_range(Exec& ex, Kernel& k, IommufdDmabufPages& pages) {
  KFUNC(ex, "iopt_area_unmap_domain_range");
  ex.cost(k.costs.pte_access * (pages.len / PAGE_SIZE + 1));
  pages.mapped = false;
}

// models iopt_revoke_notify(): under pages->mutex (inside the exporter's
// reservation lock), once: every tracked domain range unmapped, then
// phys.len = 0. An un-revoke later finds it revoked and does nothing.
void iopt_revoke_notify(Exec& ex, Kernel& k, DmaBufAttachment& attach) {
  KFUNC(ex, "iopt_revoke_notify");
  auto& pages = *static_cast<IommufdDmabufPages*>(attach.importer_priv);
  down_write(ex, pages.mutex, "pages->mutex");
  if (pages.len) {
    if (pages.mapped) iopt_area_unmap_domain_range(ex, k, pages);
    pages.len = 0;
  }
  up_write(ex, pages.mutex);
}

const DmaBufImporterOps kIoptDmabufAttachRevokeOps{"iopt_dmabuf_attach_revoke_ops", true, iopt_revoke_notify};

}  // namespace

// models iommufd_ioas_map_file() -> iopt_map_file_pages() as of 7.0-rc6
// for a dma-buf fd: iopt_map_dmabuf() attaches the global iommufd device
// dynamically, then under the reservation lock takes the exporter's
// physical range (vfio_pci_dma_buf_iommufd_map: -ENODEV while revoked); an
// error detaches. Then iopt_map_pages(): the area's IOVA, and
// iopt_area_fill_domains() under pages->mutex maps it into the attached
// domain unless the pages were revoked meanwhile (the ioctl then succeeds
// with nothing mapped). A failed iommu_map() is undone in full: the area
// and its IOVA go (iopt_abort_area), and iopt_release_pages() detaches and
// drops the dma-buf reference.
long iommufd_ioas_map_dmabuf(Exec& ex, Kernel& k, IommufdDmabufPages& pages, DmaBuf& dmabuf) {
  KFUNC(ex, "iommufd_ioas_map_file");
  ex.cost(k.costs.syscall_entry);
  if (pages.claimed) return -16;  // the model's one mapping per device
  pages.claimed = true;
  get_dma_buf(dmabuf);  // dma_buf_get(fd)
  DmaBufAttachment* a = nullptr;
  long rc = dma_buf_dynamic_attach(ex, k, dmabuf, "iommufd", &kIoptDmabufAttachRevokeOps, &pages, a);
  if (rc) {
    dma_buf_put(ex, k, dmabuf);
    pages.claimed = false;
    return rc;
  }
  dma_resv_lock(ex, dmabuf);
  rc = vfio_pci_dma_buf_iommufd_map(ex, k, *a, pages.phys, pages.len);
  dma_resv_unlock(ex, dmabuf);
  if (rc) {
    dma_buf_detach(ex, k, *a);
    dma_buf_put(ex, k, dmabuf);
    pages.claimed = false;
    return rc;
  }
  // The reservation lock is dropped: a revoke now finds nothing tracked
  // and only marks the pages revoked (len = 0).
  ex.pp("iopt_map_pages:before_fill");
  // iopt_alloc_area_pages(): the area's IOVA, before the fill.
  const uint64_t area_len = (dmabuf.size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
  pages.iova = k.next_iova;
  {
    KFUNC(ex, "iopt_area_fill_domains");
    down_write(ex, pages.mutex, "pages->mutex");
    if (pages.len && k.should_fail("iommu_map")) {  // batch_to_domain(): iommu_map() -ENOMEM
      up_write(ex, pages.mutex);
      // iopt_abort_area() frees the area and its IOVA; iopt_put_pages() ->
      // iopt_release_pages() detaches and drops the reference.
      dma_buf_detach(ex, k, *a);
      dma_buf_put(ex, k, dmabuf);
      pages.claimed = false;
      return -12;
    }
    if (pages.len) {
      ex.cost(k.costs.pte_access * (pages.len / PAGE_SIZE + 1));
      pages.mapped = true;
    }
    up_write(ex, pages.mutex);
  }
  k.next_iova += area_len;
  pages.dmabuf = &dmabuf;
  pages.attach = a;
  pages.live = true;
  return 0;
}

long iommufd_device_dma_write(Exec& ex, Kernel& k, IommufdDmabufPages& pages, uint64_t value, ps_t duration) {
  KFUNC(ex, "iommufd_device_dma_write");
  ex.pp("iommu_dma:issue");
  if (!pages.live) return -22;
  const uint64_t phys = pages.phys;
  ex.schedule_timeout(duration);
  ex.pp("iommu_dma:before_translate");
  // The IOMMU translates the write as it arrives: a range revoked meanwhile
  // is gone from the domain, and the write is blocked (a fault the VM sees).
  if (!pages.mapped) {
    ex.notef("{}: IOMMU fault on IOVA {:#x}: the range was revoked", pages.dev, pages.iova);
    return -14;
  }
  device_write_lands(ex, k, pages.dev, pages.iova, phys, value);
  return 0;
}

// models IOMMU_IOAS_UNMAP of the area: iopt_area_unfill_domain() (nothing to
// unmap once revoked), then iopt_release_pages(): detach and put.
void iommufd_ioas_unmap(Exec& ex, Kernel& k, IommufdDmabufPages& pages) {
  KFUNC(ex, "iommufd_ioas_unmap");
  ex.cost(k.costs.syscall_entry);
  if (!pages.live) return;
  down_write(ex, pages.mutex, "pages->mutex");
  if (pages.mapped) iopt_area_unmap_domain_range(ex, k, pages);
  up_write(ex, pages.mutex);
  dma_buf_detach(ex, k, *pages.attach);
  dma_buf_put(ex, k, *pages.dmabuf);
  pages.live = false;
  pages.claimed = false;
}

}  // namespace p2psim::kern
