// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/dma_buf.h"

#include <algorithm>

#include "common/kernel_bug.h"
#include "kernel/kernel.h"
#include "kernel/p2pdma_provider.h"

#include <fmt/format.h>

namespace p2psim::kern {

DmaBuf& dma_buf_export(Kernel& k, const DmaBufOps& ops, uint64_t size, void* priv) {
  auto b = std::make_unique<DmaBuf>();
  b->id = k.dmabufs.size() + 1;
  b->ops = &ops;
  b->size = size;
  b->priv = priv;
  k.dmabufs.push_back(std::move(b));
  return *k.dmabufs.back();
}

void dma_resv_lock(Exec& ex, DmaBuf& dmabuf) { down_write(ex, dmabuf.resv, "dma_resv_lock"); }
void dma_resv_unlock(Exec& ex, DmaBuf& dmabuf) { up_write(ex, dmabuf.resv); }

static void assert_resv_held(const DmaBuf& b, const char* fn) {
  if (!b.resv.writer) throw ModelBug(std::string(fn) + " without the dma-buf's reservation lock");
}

// models dma_buf_dynamic_attach() (v6.19 cycle): an importer with ops must
// have move_notify (WARN, -EINVAL); peer2peer only from importer ops; the
// exporter's ->attach decides; then the attachment joins the list under
// the reservation lock. Nothing is mapped or pinned at attach time.
long dma_buf_dynamic_attach(Exec& ex, Kernel& k, DmaBuf& dmabuf, const std::string& dev,
                            const DmaBufImporterOps* importer_ops, void* importer_priv,
                            DmaBufAttachment*& out) {
  KFUNC(ex, "dma_buf_dynamic_attach");
  if (importer_ops && !importer_ops->move_notify) return -22;
  if (k.should_fail("dma_buf_attach")) return -12;  // kzalloc_obj(*attach)
  auto a = std::make_unique<DmaBufAttachment>();
  a->dmabuf = &dmabuf;
  a->dev = dev;
  a->importer_ops = importer_ops;
  a->importer_priv = importer_priv;
  a->peer2peer = importer_ops && importer_ops->allow_peer2peer;
  if (dmabuf.ops->attach) {
    const int ret = dmabuf.ops->attach(ex, k, *a);
    if (ret) return ret;
  }
  dma_resv_lock(ex, dmabuf);
  dmabuf.attachments.insert(dmabuf.attachments.begin(), a.get());  // list_add: at the head
  dma_resv_unlock(ex, dmabuf);
  k.dmabuf_attachments.push_back(std::move(a));
  out = k.dmabuf_attachments.back().get();
  return 0;
}

// models dma_buf_detach(): off the list under the lock; a live mapping is
// not unmapped here.
void dma_buf_detach(Exec& ex, Kernel&, DmaBufAttachment& attach) {
  KFUNC(ex, "dma_buf_detach");
  DmaBuf& b = *attach.dmabuf;
  dma_resv_lock(ex, b);
  b.attachments.erase(std::remove(b.attachments.begin(), b.attachments.end(), &attach), b.attachments.end());
  dma_resv_unlock(ex, b);
  attach.detached = true;
}

int dma_buf_pin(Exec& ex, Kernel& k, DmaBufAttachment& attach) {
  KFUNC(ex, "dma_buf_pin");
  assert_resv_held(*attach.dmabuf, "dma_buf_pin");
  if (!attach.dmabuf->ops->pin) return 0;  // an exporter without ->pin: nothing to do
  return attach.dmabuf->ops->pin(ex, k, attach);
}

// dma_buf_pin_on_map(): an exporter that can pin is pinned around a static
// importer's mapping, and a dynamic one's too without CONFIG_DMABUF_MOVE_NOTIFY.
static bool pin_on_map(const Kernel& k, const DmaBufAttachment& a) {
  return a.dmabuf->ops->pin && (!a.importer_ops || !k.knobs.config_dmabuf_move_notify);
}

long dma_buf_map_attachment(Exec& ex, Kernel& k, DmaBufAttachment& attach, SgTable*& out) {
  KFUNC(ex, "dma_buf_map_attachment");
  ex.might_sleep("dma_buf_map_attachment");
  assert_resv_held(*attach.dmabuf, "dma_buf_map_attachment");
  if (pin_on_map(k, attach)) {
    const int ret = attach.dmabuf->ops->pin(ex, k, attach);
    if (ret) return ret;
  }
  // On a map error the kernel unpins (->unpin); the model's exporters keep
  // no pin state, so there is nothing to undo.
  return attach.dmabuf->ops->map(ex, k, attach, out);
}

void dma_buf_unmap_attachment(Exec& ex, Kernel& k, DmaBufAttachment& attach, SgTable& sgt) {
  KFUNC(ex, "dma_buf_unmap_attachment");
  assert_resv_held(*attach.dmabuf, "dma_buf_unmap_attachment");
  attach.dmabuf->ops->unmap(ex, k, attach, sgt);
}

void dma_buf_move_notify(Exec& ex, Kernel& k, DmaBuf& dmabuf) {
  KFUNC(ex, "dma_buf_move_notify");
  assert_resv_held(dmabuf, "dma_buf_move_notify");
  // The list may not change: attach and detach take the lock we hold.
  for (DmaBufAttachment* a : std::vector<DmaBufAttachment*>(dmabuf.attachments))
    if (a->importer_ops && a->importer_ops->move_notify) a->importer_ops->move_notify(ex, k, *a);
}

void get_dma_buf(DmaBuf& dmabuf) { ++dmabuf.f_count; }

bool get_file_active(DmaBuf& dmabuf) {
  if (dmabuf.f_count == 0) return false;
  ++dmabuf.f_count;
  return true;
}

void dma_buf_put(Exec& ex, Kernel& k, DmaBuf& dmabuf) {
  if (dmabuf.f_count <= 0) throw ModelBug("dma_buf_put() of a released dma-buf");
  if (--dmabuf.f_count) return;
  DmaBuf* b = &dmabuf;
  k.add_task_work(ex, [b, &k](Exec& e) {
    KFUNC(e, "dma_buf_release");
    if (b->ops->release) b->ops->release(e, k, *b);
    b->released = true;
  });
}

}  // namespace p2psim::kern

namespace p2psim::kern {

// models dma_buf_phys_vec_to_sgt() (drivers/dma-buf/dma-buf-mapping.c): the
// map type of (provider, importer); a bus address needs no mapping, a path
// through the host bridge links an IOVA (dma_iova_try_alloc, dma_iova_link,
// dma_iova_sync); anything else is -EINVAL.
long dma_buf_phys_vec_to_sgt(Exec& ex, Kernel& k, DmaBufAttachment& attach, const P2pdmaMemProvider& provider,
                             uint64_t phys, uint64_t len, SgTable*& out) {
  KFUNC(ex, "dma_buf_phys_vec_to_sgt");
  assert_resv_held(*attach.dmabuf, "dma_buf_phys_vec_to_sgt");
  // Its allocations and IOVA links fail with -ENOMEM and undo every step
  // before they return, so one site stands for all of them; the first
  // kzalloc comes before pci_p2pdma_map_type() reads the provider.
  if (k.should_fail("dma_buf_phys_vec_to_sgt")) return -12;
  if (provider.released)
    ex.report(FindingKind::use_after_revoke,
              fmt::format("dma_buf_phys_vec_to_sgt() for {} reads {} BAR {}'s p2pdma_provider, freed at unbind",
                          attach.dev, provider.owner, provider.bar));
  auto sgt = std::make_unique<SgTable>();
  sgt->id = k.sg_tables.size() + 1;
  sgt->phys = phys;
  sgt->len = len;
  sgt->provider = &provider;
  switch (pci_p2pdma_map_type(provider, attach.dev)) {
    case P2pdmaMapType::bus_addr:
      sgt->dma_addr = phys + provider.bus_offset;  // pci_p2pdma_bus_addr_map()
      break;
    case P2pdmaMapType::thru_host_bridge:
      sgt->via_iommu = true;
      sgt->dma_addr = k.next_iova;
      k.next_iova += (len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
      ex.cost(k.costs.pte_access * (len / PAGE_SIZE + 1));  // IOMMU page-table writes
      break;
    case P2pdmaMapType::not_supported:
      return -22;
  }
  k.sg_tables.push_back(std::move(sgt));
  out = k.sg_tables.back().get();
  return 0;
}

void dma_buf_free_sgt(Exec& ex, Kernel&, DmaBufAttachment& attach, SgTable& sgt) {
  KFUNC(ex, "dma_buf_free_sgt");
  assert_resv_held(*attach.dmabuf, "dma_buf_free_sgt");
  sgt.freed = true;  // dma_iova_destroy() for an IOVA; nothing to undo for a bus address
}

}  // namespace p2psim::kern
