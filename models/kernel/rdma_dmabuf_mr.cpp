// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/rdma_dmabuf_mr.h"

#include <fmt/format.h>

#include "common/kernel_bug.h"
#include "kernel/kernel.h"
#include "kernel/p2pdma_provider.h"
#include "kernel/vfio_pci.h"

namespace p2psim::kern {

namespace {

// models ib_umem_dmabuf_map_pages(): resv held; a revoked umem is -EINVAL;
// a cached mapping is kept; else the exporter maps (its error returned).
long ib_umem_dmabuf_map_pages(Exec& ex, Kernel& k, RdmaDmabufMr& mr) {
  KFUNC(ex, "ib_umem_dmabuf_map_pages");
  if (!mr.dmabuf->resv.writer) throw ModelBug("ib_umem_dmabuf_map_pages() without the resv lock");
  if (mr.revoked) return -22;
  if (mr.sgt) return 0;
  SgTable* sgt = nullptr;
  const long ret = dma_buf_map_attachment(ex, k, *mr.attach, sgt);
  if (ret) return ret;
  mr.sgt = sgt;
  return 0;
}

// models ib_umem_dmabuf_unmap_pages(): resv held; nothing mapped, nothing to do.
void ib_umem_dmabuf_unmap_pages(Exec& ex, Kernel& k, RdmaDmabufMr& mr) {
  KFUNC(ex, "ib_umem_dmabuf_unmap_pages");
  if (!mr.sgt) return;
  dma_buf_unmap_attachment(ex, k, *mr.attach, *mr.sgt);
  mr.sgt = nullptr;
}

// A UMR that rewrites the mkey's translation, posted and waited for
// (mlx5r_umr_post_send_wait: wait_for_completion). A zap or a revoke
// removes the translation when posted; its completion comes once the DMAs
// that already translated through the mkey have landed (umr.c says so of
// mlx5r_umr_revoke_mr; the model takes the XLT_ZAP path to give the same).
void mlx5r_umr_set_xlt(Exec& ex, Kernel& k, RdmaDmabufMr& mr, SgTable* xlt, bool drain) {
  KFUNC(ex, "mlx5r_umr_post_send_wait");
  mr.xlt = xlt;
  if (drain) {
    RdmaDmabufMr* m = &mr;
    ex.might_sleep("wait_for_completion");
    ex.wait_event([m] { return m->inflight == 0; }, "mlx5r_umr_post_send_wait: UMR completion");
  }
  ex.schedule_timeout(k.costs.umr_round_trip);
}

// models pagefault_dmabuf_mr() (odp.c): under the resv lock, map the pages
// and load the translation with a UMR. The exporter's error comes back:
// -ENODEV from vfio while the BAR is revoked.
long pagefault_dmabuf_mr(Exec& ex, Kernel& k, RdmaDmabufMr& mr) {
  KFUNC(ex, "pagefault_dmabuf_mr");
  dma_resv_lock(ex, *mr.dmabuf);
  const long ret = ib_umem_dmabuf_map_pages(ex, k, mr);
  if (ret) {
    dma_resv_unlock(ex, *mr.dmabuf);
    return ret;
  }
  mlx5r_umr_set_xlt(ex, k, mr, mr.sgt, false);
  dma_resv_unlock(ex, *mr.dmabuf);
  return 0;
}

// models mlx5_ib_dmabuf_invalidate_cb(): resv held by the exporter; nothing
// mapped or the MR going away: nothing to do; else zap the translation
// with a UMR (waited for; its result ignored), then unmap.
void mlx5_ib_dmabuf_invalidate_cb(Exec& ex, Kernel& k, DmaBufAttachment& attach) {
  KFUNC(ex, "mlx5_ib_dmabuf_invalidate_cb");
  auto& mr = *static_cast<RdmaDmabufMr*>(attach.importer_priv);
  if (!attach.dmabuf->resv.writer) throw ModelBug("move_notify without the resv lock");
  if (!mr.sgt || !mr.mr_live) return;
  mlx5r_umr_set_xlt(ex, k, mr, nullptr, k.knobs.importer_move_notify_waits);
  ex.pp("mlx5_ib_dmabuf_invalidate_cb:after_zap");
  ib_umem_dmabuf_unmap_pages(ex, k, mr);
}

// models ib_umem_dmabuf_unsupported_move_notify(): a pinned umem is not
// supposed to be invalidated; it only warns.
void ib_umem_dmabuf_unsupported_move_notify(Exec& ex, Kernel&, DmaBufAttachment& attach) {
  ex.notef("ib_umem_dmabuf: Invalidate callback should not be called when memory is pinned ({})", attach.dev);
}

const DmaBufImporterOps kMlx5DmabufAttachOps{"mlx5_ib_dmabuf_attach_ops", true, mlx5_ib_dmabuf_invalidate_cb};
const DmaBufImporterOps kPinnedAttachOps{"ib_umem_dmabuf_attach_pinned_ops", true,
                                         ib_umem_dmabuf_unsupported_move_notify};

// models ib_umem_dmabuf_get(): importer ops must have move_notify; a
// reference on the dma-buf; a dynamic attachment; nothing mapped yet.
long ib_umem_dmabuf_get(Exec& ex, Kernel& k, RdmaDmabufMr& mr, DmaBuf& dmabuf, const DmaBufImporterOps& ops) {
  KFUNC(ex, "ib_umem_dmabuf_get");
  if (!ops.move_notify) return -22;
  get_dma_buf(dmabuf);  // dma_buf_get(fd)
  mr.dmabuf = &dmabuf;
  DmaBufAttachment* a = nullptr;
  const long ret = dma_buf_dynamic_attach(ex, k, dmabuf, mr.dev, &ops, &mr, a);
  if (ret) {
    dma_buf_put(ex, k, dmabuf);
    mr.dmabuf = nullptr;
    return ret;
  }
  mr.attach = a;
  return 0;
}

// models ib_umem_dmabuf_revoke(): under the resv lock, once: unmap, unpin.
void ib_umem_dmabuf_revoke(Exec& ex, Kernel& k, RdmaDmabufMr& mr) {
  KFUNC(ex, "ib_umem_dmabuf_revoke");
  dma_resv_lock(ex, *mr.dmabuf);
  if (!mr.revoked) {
    ib_umem_dmabuf_unmap_pages(ex, k, mr);
    mr.pinned = false;  // dma_buf_unpin(): no exporter the model has keeps pin state
    mr.revoked = true;
  }
  dma_resv_unlock(ex, *mr.dmabuf);
}

// models ib_umem_release() of a dma-buf umem: revoke, detach, put.
void ib_umem_dmabuf_release(Exec& ex, Kernel& k, RdmaDmabufMr& mr) {
  KFUNC(ex, "ib_umem_dmabuf_release");
  ib_umem_dmabuf_revoke(ex, k, mr);
  dma_buf_detach(ex, k, *mr.attach);
  dma_buf_put(ex, k, *mr.dmabuf);
}

// Where a DMA the HCA translated through @t lands; the oracles judge it.
void hca_dma_lands(Exec& ex, Kernel& k, RdmaDmabufMr& mr, const SgTable& t, uint64_t value) {
  if (t.via_iommu && t.freed) {
    ex.report(FindingKind::iommu_fault,
              fmt::format("{}: DMA write to IOVA {:#x}, which dma_buf_free_sgt() unmapped: the IOMMU blocks it "
                          "(the importer's mapping was torn down under a DMA in flight)",
                          mr.dev, t.dma_addr));
    return;
  }
  device_write_lands(ex, k, mr.dev, std::nullopt, t.phys, value);
}

}  // namespace

long mlx5_ib_reg_user_mr_dmabuf(Exec& ex, Kernel& k, RdmaDmabufMr& mr, DmaBuf& dmabuf, bool pinned) {
  KFUNC(ex, "mlx5_ib_reg_user_mr_dmabuf");
  ex.cost(k.costs.syscall_entry);
  if (mr.registered) return -16;
  // A registration is a new mlx5_ib_mr: nothing of a deregistered or failed
  // one (its revoked umem, its mkey) carries over. Its DMAs drained at
  // dereg, so no write in flight still refers to it.
  mr = RdmaDmabufMr{mr.dev};
  if (pinned) {
    // ib_umem_dmabuf_get_pinned_with_dma_device(): pinned ops, then under
    // the resv lock pin and map; any error releases the umem.
    long ret = ib_umem_dmabuf_get(ex, k, mr, dmabuf, kPinnedAttachOps);
    if (ret) return ret;
    dma_resv_lock(ex, dmabuf);
    ret = dma_buf_pin(ex, k, *mr.attach);
    if (!ret) {
      mr.pinned = true;
      ret = ib_umem_dmabuf_map_pages(ex, k, mr);
    }
    dma_resv_unlock(ex, dmabuf);
    if (ret) {
      ib_umem_dmabuf_release(ex, k, mr);
      return ret;
    }
    mlx5r_umr_set_xlt(ex, k, mr, mr.sgt, false);  // the data-direct KSM mkey
    mr.mr_live = true;
    mr.registered = true;
    return 0;
  }
  long ret = ib_umem_dmabuf_get(ex, k, mr, dmabuf, kMlx5DmabufAttachOps);
  if (ret) return ret;
  mr.mr_live = true;  // umem_dmabuf->private = mr
  mr.registered = true;
  ret = pagefault_dmabuf_mr(ex, k, mr);  // mlx5_ib_init_dmabuf_mr()
  if (ret) {
    mlx5_ib_dereg_mr(ex, k, mr);
    return ret;
  }
  return 0;
}

long mlx5_hca_dma_write(Exec& ex, Kernel& k, RdmaDmabufMr& mr, uint64_t value, ps_t duration) {
  KFUNC(ex, "mlx5_hca_rdma_write");
  ex.pp("mlx5_hca:before_translate");
  if (!mr.registered) return -22;
  if (!mr.xlt) {
    // An HCA page fault on the mkey: only dynamic MRs have an ODP mkey.
    if (mr.pinned || pagefault_dmabuf_mr(ex, k, mr)) return -14;
  }
  const SgTable* t = mr.xlt;
  ++mr.inflight;
  ex.schedule_timeout(duration);
  ex.pp("mlx5_hca:before_dma_lands");
  hca_dma_lands(ex, k, mr, *t, value);
  --mr.inflight;
  return 0;
}

// models the dma-buf half of __mlx5_ib_dereg_mr(): under the resv lock the
// mkey is revoked (a UMR that waits for DMA in flight: "stop DMA") and
// private cleared; then ib_umem_release().
void mlx5_ib_dereg_mr(Exec& ex, Kernel& k, RdmaDmabufMr& mr) {
  KFUNC(ex, "mlx5_ib_dereg_mr");
  if (!mr.registered) return;
  const bool lock = !mr.pinned;  // the resv lock only for dynamic dma-buf MRs
  if (lock) dma_resv_lock(ex, *mr.dmabuf);
  mlx5r_umr_set_xlt(ex, k, mr, nullptr, true);
  mr.mr_live = false;
  if (lock) dma_resv_unlock(ex, *mr.dmabuf);
  ib_umem_dmabuf_release(ex, k, mr);
  mr.registered = false;
}

}  // namespace p2psim::kern
