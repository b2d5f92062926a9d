// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// An RDMA NIC importing a dma-buf: an mlx5 memory region over a dma-buf
// umem (drivers/infiniband/core/umem_dmabuf.c, drivers/infiniband/hw/mlx5/
// mr.c, odp.c, umr.c; docs/fidelity.md), and the HCA's DMA through the
// region's translation. Dynamic MRs take move_notify
// (mlx5_ib_dmabuf_invalidate_cb) and re-map on an HCA page fault; pinned
// MRs (the data-direct path) pin the dma-buf and have a move_notify that
// only warns.
#include <cstdint>
#include <string>

#include "kernel/dma_buf.h"
#include "kernel/exec.h"

namespace p2psim::kern {

class Kernel;

/**
 * struct RdmaDmabufMr - struct mlx5_ib_mr with its struct ib_umem_dmabuf.
 * @sgt: umem_dmabuf->sgt, the mapping the umem holds (null: none).
 * @mr_live: umem_dmabuf->private; dereg clears it under the resv lock.
 * @xlt: the translation the HCA's mkey holds now (null: zapped or never set).
 * @inflight: DMAs the HCA started through the mkey that have not landed.
 */
struct RdmaDmabufMr {
  std::string dev;
  DmaBuf* dmabuf = nullptr;
  DmaBufAttachment* attach = nullptr;
  SgTable* sgt = nullptr;
  SgTable* xlt = nullptr;
  bool pinned = false;
  bool revoked = false;  ///< umem_dmabuf->revoked
  bool mr_live = false;
  bool registered = false;
  int inflight = 0;
};

/// mlx5_ib_reg_user_mr_dmabuf(): attach (dynamic, or pinned for
/// data-direct) and the first mapping. 0 or -errno.
long mlx5_ib_reg_user_mr_dmabuf(Exec& ex, Kernel& k, RdmaDmabufMr& mr, DmaBuf& dmabuf, bool pinned);
/// One RDMA WRITE of @value landing in the region after @duration on the
/// wire: the HCA translates through the mkey (a missing translation is an
/// HCA page fault: pagefault_dmabuf_mr), the data is in flight, then lands.
/// 0, or -EFAULT when the HCA could not translate (an error completion).
long mlx5_hca_dma_write(Exec& ex, Kernel& k, RdmaDmabufMr& mr, uint64_t value, ps_t duration);
/// mlx5_ib_dereg_mr() of a dma-buf MR: revoke the mkey, then ib_umem_release().
void mlx5_ib_dereg_mr(Exec& ex, Kernel& k, RdmaDmabufMr& mr);

}  // namespace p2psim::kern
