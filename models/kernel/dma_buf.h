// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The dma-buf core as the 2025 VFIO export series uses it (drivers/dma-buf/
// dma-buf.c, dma-buf-mapping.c, v6.19 cycle; docs/fidelity.md): attachments,
// the reservation lock, map/unmap, pin, move_notify, and the file
// references that keep a dma-buf alive. Exporters and importers plug in
// through the two ops tables, as in the kernel.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernel/exec.h"
#include "kernel/mm.h"

namespace p2psim::kern {

class Kernel;
struct DmaBuf;
struct DmaBufAttachment;
struct P2pdmaMemProvider;

/**
 * struct SgTable - what dma_buf_map_attachment() hands an importer: one DMA
 * range (the model's dma-bufs have one physical range, as iommufd requires).
 * @via_iommu: an IOVA linked through the IOMMU (PCI_P2PDMA_MAP_THRU_HOST_BRIDGE),
 *             else a PCI bus address (PCI_P2PDMA_MAP_BUS_ADDR: no translation).
 * @freed: dma_buf_free_sgt() ran; an IOVA is unmapped from then on.
 */
struct SgTable {
  uint64_t id = 0;
  uint64_t dma_addr = 0, len = 0;
  uint64_t phys = 0;  ///< the CPU physical address the range maps
  bool via_iommu = false;
  const P2pdmaMemProvider* provider = nullptr;
  bool freed = false;
};

/// struct dma_buf_attach_ops: what an importer gives dma_buf_dynamic_attach().
struct DmaBufImporterOps {
  const char* name = "";
  bool allow_peer2peer = false;
  /// ->move_notify, called with the reservation lock held.
  std::function<void(Exec&, Kernel&, DmaBufAttachment&)> move_notify;
};

/// struct dma_buf_ops: the exporter's side. A null @pin: the exporter has none.
struct DmaBufOps {
  const char* exporter = "";
  std::function<int(Exec&, Kernel&, DmaBufAttachment&)> attach;
  /// ->map_dma_buf: 0 and @out, or -errno.
  std::function<long(Exec&, Kernel&, DmaBufAttachment&, SgTable*& out)> map;
  std::function<void(Exec&, Kernel&, DmaBufAttachment&, SgTable&)> unmap;
  std::function<void(Exec&, Kernel&, DmaBuf&)> release;
  std::function<int(Exec&, Kernel&, DmaBufAttachment&)> pin;
};

/**
 * struct DmaBuf - struct dma_buf with its struct file's reference count.
 * @resv: dma_resv's ww_mutex, a sleeping lock (held for write only).
 * @f_count: references to the file: the fd, get_file_active() holders.
 */
struct DmaBuf {
  uint64_t id = 0;
  uint64_t size = 0;
  const DmaBufOps* ops = nullptr;
  void* priv = nullptr;
  RwSem resv;
  std::vector<DmaBufAttachment*> attachments;
  int f_count = 1;
  bool released = false;
};

/// struct dma_buf_attachment.
struct DmaBufAttachment {
  DmaBuf* dmabuf = nullptr;
  std::string dev;  ///< the importing device
  bool peer2peer = false;
  const DmaBufImporterOps* importer_ops = nullptr;
  void* importer_priv = nullptr;
  bool detached = false;
};

/// dma_buf_export(): a new dma-buf with one file reference (its future fd).
DmaBuf& dma_buf_export(Kernel& k, const DmaBufOps& ops, uint64_t size, void* priv);
/// dma_buf_dynamic_attach(): 0 and @out, or -errno.
long dma_buf_dynamic_attach(Exec& ex, Kernel& k, DmaBuf& dmabuf, const std::string& dev,
                            const DmaBufImporterOps* importer_ops, void* importer_priv,
                            DmaBufAttachment*& out);
void dma_buf_detach(Exec& ex, Kernel& k, DmaBufAttachment& attach);
/// dma_buf_pin(): the exporter's ->pin, or 0 when it has none. Resv held.
int dma_buf_pin(Exec& ex, Kernel& k, DmaBufAttachment& attach);
/// dma_buf_map_attachment(): resv held; 0 and @out, or -errno.
long dma_buf_map_attachment(Exec& ex, Kernel& k, DmaBufAttachment& attach, SgTable*& out);
void dma_buf_unmap_attachment(Exec& ex, Kernel& k, DmaBufAttachment& attach, SgTable& sgt);
/// dma_buf_move_notify(): every dynamic importer's ->move_notify. Resv held.
void dma_buf_move_notify(Exec& ex, Kernel& k, DmaBuf& dmabuf);
void dma_resv_lock(Exec& ex, DmaBuf& dmabuf);
void dma_resv_unlock(Exec& ex, DmaBuf& dmabuf);
/// get_dma_buf(): one more file reference.
void get_dma_buf(DmaBuf& dmabuf);
/// get_file_active(): a reference unless the file is already dying.
bool get_file_active(DmaBuf& dmabuf);
/// fput() / dma_buf_put(): the last reference queues ->release as task work
/// (__fput runs when the task returns to user space, after its locks).
void dma_buf_put(Exec& ex, Kernel& k, DmaBuf& dmabuf);

}  // namespace p2psim::kern

namespace p2psim::kern {

/// dma_buf_phys_vec_to_sgt() for one range: a bus address or an IOVA by
/// pci_p2pdma_map_type(); -EINVAL when P2P is not supported. Resv held.
long dma_buf_phys_vec_to_sgt(Exec& ex, Kernel& k, DmaBufAttachment& attach, const P2pdmaMemProvider& provider,
                             uint64_t phys, uint64_t len, SgTable*& out);
/// dma_buf_free_sgt(): unlink the IOVA (dma_iova_destroy) or nothing for
/// bus addresses. Resv held.
void dma_buf_free_sgt(Exec& ex, Kernel& k, DmaBufAttachment& attach, SgTable& sgt);

}  // namespace p2psim::kern
