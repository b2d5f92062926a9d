// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// vfio-pci dma-buf export and an mlx5 importer (docs/fidelity.md, vfio and
// dma-buf rows), driven serially: the exporter's checks, the revoke on a
// PCI_COMMAND write and at the last close, the pin that v6.19-rc8 refuses,
// and the devm release of the p2pdma_provider.
#include <catch2/catch.hpp>

#include "kernel/iommufd_dmabuf.h"
#include "kernel/kernel.h"
#include "kernel/memory.h"
#include "kernel/mmap.h"
#include "kernel/rdma_dmabuf_mr.h"
#include "kernel/serial_exec.h"
#include "kernel/tlbflush.h"
#include "kernel/vfio_pci.h"

using namespace p2psim;
using namespace p2psim::kern;

namespace {
/// 7.0.0 built with CONFIG_DMABUF_MOVE_NOTIFY, which dynamic importers of
/// vfio dma-bufs need.
Knobs move_notify_kernel() {
  Knobs kn = find_preset("latest")->knobs;
  kn.config_dmabuf_move_notify = true;
  return kn;
}

struct VfioFixture {
  explicit VfioFixture(Knobs kn = move_notify_kernel(), P2pdmaMapType type = P2pdmaMapType::bus_addr)
      : k(kn, default_costs(), 2) {
    auto d = std::make_unique<VfioPciCoreDevice>();
    d->name = "0000:05:00.0";
    d->bar_phys = 0xd0000000;
    d->bar_size = 16 * PAGE_SIZE;
    d->bus_offset = 0x100000000ULL;
    v = d.get();
    k.vfio_devices.push_back(std::move(d));
    vfio_pci_probe(boot, k, *v);
    v->p2p.map_types["mlx5_0"] = type;
    mr.dev = "mlx5_0";
  }
  /// The VMM's process, running on CPU 0 (its mm loaded there, as the engine does).
  Process& vmm() {
    Process& p = k.process(1, "vmm");
    switch_mm(k, 0, p.mm.get());
    return p;
  }
  SerialExec boot;
  Kernel k;
  VfioPciCoreDevice* v = nullptr;
  RdmaDmabufMr mr;
};
}  // namespace

TEST_CASE("vfio dma-buf export: revoked while memory is off, attach needs peer2peer", "[vfio][dmabuf]") {
  VfioFixture f;
  SerialExec ex(0, 1, "vmm");
  long err = 0;
  REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
  REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, false) == 0);
  DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
  REQUIRE(b);
  CHECK(err == 0);
  CHECK(f.v->registrations == 3);  // the driver, the fd, the dma-buf
  CHECK(static_cast<VfioPciDmaBuf*>(b->priv)->revoked);  // exported while memory is off
  CHECK(mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, false) == -19);  // attach refuses a revoked one
  CHECK(b->attachments.empty());
  REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, true) == 0);
  CHECK_FALSE(static_cast<VfioPciDmaBuf*>(b->priv)->revoked);
  CHECK(vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, 17 * PAGE_SIZE, err) == nullptr);
  CHECK(err == -22);  // beyond the BAR
  CHECK(vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 100, PAGE_SIZE, err) == nullptr);
  CHECK(err == -22);  // unaligned
  DmaBufAttachment* a = nullptr;
  CHECK(dma_buf_dynamic_attach(ex, f.k, *b, "static0", nullptr, nullptr, a) == -95);  // no peer2peer
  REQUIRE(mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, false) == 0);
  REQUIRE(f.mr.sgt);
  CHECK(f.mr.xlt == f.mr.sgt);
  CHECK(f.mr.sgt->dma_addr == 0x1d0000000ULL);  // a bus address: physical + bus_offset
  CHECK_FALSE(f.mr.sgt->via_iommu);
  CHECK(ex.findings.empty());
}

TEST_CASE("vfio dma-buf export before v6.19 does not exist", "[vfio][dmabuf]") {
  Knobs kn = find_preset("v6.15")->knobs;
  VfioFixture f(kn);
  SerialExec ex(0, 1, "vmm");
  REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
  long err = 0;
  CHECK(vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err) == nullptr);
  CHECK(err == -25);  // -ENOTTY
}

TEST_CASE("clearing PCI_COMMAND.MEMORY zaps the BAR mmap and revokes, setting it un-revokes", "[vfio][dmabuf]") {
  VfioFixture f(move_notify_kernel(), P2pdmaMapType::thru_host_bridge);
  SerialExec ex(0, 1, "vmm");
  REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
  const int64_t addr = do_mmap(ex, f.k, f.vmm(), f.v->file, PAGE_SIZE, true, true, 0);
  REQUIRE(addr > 0);
  REQUIRE(user_access(ex, f.k, f.vmm(), addr, true, 0x1111).error == 0);
  CHECK(f.k.phys_read(0xd0000, 0) == 0x1111);
  long err = 0;
  DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
  REQUIRE(mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, false) == 0);
  SgTable* first = f.mr.sgt;
  REQUIRE(first->via_iommu);

  REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, false) == 0);
  auto* priv = static_cast<VfioPciDmaBuf*>(b->priv);
  CHECK(priv->revoked);
  CHECK(f.mr.xlt == nullptr);   // move_notify zapped the translation
  CHECK(f.mr.sgt == nullptr);   // ... and unmapped
  CHECK(first->freed);          // the IOVA is gone
  CHECK(f.v->inode_mapping.i_mmap.size() == 1);
  CHECK(user_access(ex, f.k, f.vmm(), addr, false, 0).error == -7);  // the fault refuses: SIGBUS
  CHECK(mlx5_hca_dma_write(ex, f.k, f.mr, 0xaaaa, 1000) == -14);     // the re-map gets -ENODEV
  CHECK(f.k.phys_read(0xd0000, 0) == 0x1111);

  REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, true) == 0);
  CHECK_FALSE(priv->revoked);
  CHECK(mlx5_hca_dma_write(ex, f.k, f.mr, 0xbbbb, 1000) == 0);  // re-mapped on its page fault
  CHECK(f.mr.sgt != first);
  CHECK(user_access(ex, f.k, f.vmm(), addr, false, 0).value == 0xbbbb);
  CHECK(ex.findings.empty());
}

TEST_CASE("the last close needs the BAR VMAs gone, then disables the function before it revokes", "[vfio][dmabuf]") {
  VfioFixture f;
  SerialExec ex(0, 1, "vmm");
  REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
  const int64_t addr = do_mmap(ex, f.k, f.vmm(), f.v->file, PAGE_SIZE, true, true, 0);
  long err = 0;
  DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
  REQUIRE(mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, false) == 0);
  vfio_device_close(ex, f.k, *f.v);
  f.k.task_work_run(ex);
  CHECK(f.v->hw_mem);  // the VMA still holds the device file
  CHECK(f.v->registrations == 3);
  REQUIRE(do_munmap(ex, f.k, f.vmm(), static_cast<uint64_t>(addr), PAGE_SIZE) == 0);
  f.k.task_work_run(ex);
  CHECK(f.v->hw_mem);  // pci_restore_state() turned decoding back on after the reset
  CHECK_FALSE(f.v->enabled);
  CHECK(f.k.costs.flr_wait <= ex.now());
  CHECK(static_cast<VfioPciDmaBuf*>(b->priv)->revoked);
  CHECK(f.mr.sgt == nullptr);
  CHECK(f.v->registrations == 1);  // the fd's and the dma-buf's are back: remove() may go on
  std::vector<std::string> order;
  for (const auto& c : ex.calls)
    if (c == std::string("vfio_pci_core_disable") || c == std::string("vfio_pci_dma_buf_cleanup")) order.push_back(c);
  CHECK(order == std::vector<std::string>{"vfio_pci_core_disable", "vfio_pci_dma_buf_cleanup"});
  vfio_device_release_driver(ex, f.k, *f.v);
  CHECK(f.v->removed);
  CHECK(f.v->p2p.mem[0]->released);
  CHECK(ex.findings.empty());  // nothing was mapped when the provider went
}

TEST_CASE("a pinning importer: accepted without ->pin (v6.19-rc1), refused with it (61ceaf236115)", "[vfio][dmabuf]") {
  Knobs rc1 = move_notify_kernel();
  rc1.vfio_dmabuf = VfioDmabuf::no_pin_op;
  for (bool fixed : {false, true}) {
    INFO(fixed);
    VfioFixture f(fixed ? move_notify_kernel() : rc1, P2pdmaMapType::thru_host_bridge);
    SerialExec ex(0, 1, "vmm");
    REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
    long err = 0;
    DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
    const long reg = mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, true);
    if (fixed) {
      CHECK(reg == -95);
      CHECK(b->attachments.empty());  // ib_umem_release() detached it
      continue;
    }
    REQUIRE(reg == 0);
    vfio_device_close(ex, f.k, *f.v);
    f.k.task_work_run(ex);
    CHECK(f.mr.xlt != nullptr);  // move_notify only warned
    vfio_device_release_driver(ex, f.k, *f.v);
    CHECK(ex.has_finding(FindingKind::use_after_revoke));  // the provider went under the live IOVA
    CHECK(mlx5_hca_dma_write(ex, f.k, f.mr, 0xaaaa, 1000) == 0);
    CHECK(ex.findings.back().message.find("after vfio_pci_remove() returned") != std::string::npos);
  }
}

TEST_CASE("remove() waits for userspace to give back every registration", "[vfio][dmabuf]") {
  VfioFixture f;
  SerialExec ex(0, 1, "vmm");
  REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
  vfio_device_release_driver(ex, f.k, *f.v);  // serially nobody can close: it would wait forever
  CHECK(f.v->requests == 1);
  CHECK(ex.has_finding(FindingKind::hang));
}

TEST_CASE("without CONFIG_DMABUF_MOVE_NOTIFY every map pins, so a dynamic importer fails on ->pin", "[vfio][dmabuf]") {
  for (bool move_notify : {false, true}) {
    INFO(move_notify);
    Knobs kn = find_preset("latest")->knobs;
    kn.config_dmabuf_move_notify = move_notify;
    VfioFixture f(kn);
    SerialExec ex(0, 1, "vmm");
    REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
    long err = 0;
    DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
    CHECK(mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, false) == (move_notify ? 0 : -95));
    CHECK(b->attachments.size() == (move_notify ? 1U : 0U));
  }
  // v6.19-rc1..rc7's exporter has no ->pin: nothing to pin at map.
  Knobs rc1 = find_preset("latest")->knobs;
  rc1.vfio_dmabuf = VfioDmabuf::no_pin_op;
  VfioFixture f(rc1);
  SerialExec ex(0, 1, "vmm");
  REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
  long err = 0;
  DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
  CHECK(mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, false) == 0);
}

TEST_CASE("iommufd maps a vfio dma-buf without pinning, and its revoke unmaps the IOVA for good", "[vfio][dmabuf][iommufd]") {
  VfioFixture f(find_preset("latest")->knobs);  // CONFIG_DMABUF_MOVE_NOTIFY off: iommufd does not map through dma-buf
  SerialExec ex(0, 1, "vmm");
  REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
  long err = 0;
  DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
  IommufdDmabufPages pages;
  pages.dev = "gpu0";
  REQUIRE(iommufd_ioas_map_dmabuf(ex, f.k, pages, *b) == 0);
  CHECK(pages.mapped);
  CHECK(pages.phys == 0xd0000000);
  CHECK(iommufd_device_dma_write(ex, f.k, pages, 0xaaaa, 1000) == 0);
  CHECK(f.k.phys_read(0xd0000, 0) == 0xaaaa);
  REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, false) == 0);
  CHECK_FALSE(pages.mapped);
  CHECK(pages.len == 0);
  CHECK(iommufd_device_dma_write(ex, f.k, pages, 0xbbbb, 1000) == -14);  // blocked at the IOMMU
  REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, true) == 0);
  CHECK_FALSE(pages.mapped);  // the un-revoke does not reach iommufd: the range stays gone
  CHECK(f.k.phys_read(0xd0000, 0) == 0xaaaa);
  iommufd_ioas_unmap(ex, f.k, pages);
  CHECK(b->attachments.empty());
  // A revoked dma-buf cannot be mapped again.
  REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, false) == 0);
  IommufdDmabufPages again;
  CHECK(iommufd_ioas_map_dmabuf(ex, f.k, again, *b) == -19);
  CHECK(ex.findings.empty());
}

// S14e (e98137f0a874): dma_buf_fd() failing after the export. Only
// dma_buf_put() may undo it; its release runs at the return to user space.
TEST_CASE("dma_buf_fd failure: the fix undoes the export once, v6.19's unwind chain twice", "[vfio][dmabuf][s14e]") {
  for (const char* path : {"put_only", "unwind_chain"}) {
    INFO(path);
    const bool fixed = std::string(path) == "put_only";
    Knobs kn = move_notify_kernel();
    REQUIRE_FALSE(set_knob(kn, "vfio_dmabuf_fd_error_path", path));
    VfioFixture f(kn);
    f.k.inject_failure("dma_buf_fd", 1);
    SerialExec ex(0, 1, "vmm");
    REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
    REQUIRE(f.v->registrations == 2);  // the driver, the fd
    long err = 0;
    CHECK(vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err) == nullptr);
    CHECK(err == -24);  // -EMFILE
    REQUIRE(f.v->dmabuf_store.size() == 1);
    const VfioPciDmaBuf& priv = *f.v->dmabuf_store.back();
    // Before the return to user space the release has not run: the fix
    // leaves priv listed and its registration held for it.
    CHECK(f.v->dmabufs.size() == 1);
    CHECK(priv.freed == !fixed);
    CHECK(f.v->registrations == (fixed ? 3 : 2));
    CHECK(ex.findings.empty());
    f.k.task_work_run(ex);  // __fput() -> dma_buf_release() -> vfio_pci_dma_buf_release()
    CHECK(f.v->dmabufs.empty());
    CHECK(priv.freed);
    CHECK(f.v->registrations == (fixed ? 2 : 1));  // v6.19: one short
    if (fixed) {
      CHECK(ex.findings.empty());
    } else {
      REQUIRE(ex.findings.size() == 2);
      CHECK(ex.findings[0].kind == FindingKind::use_after_free);  // release reads the freed priv
      CHECK(ex.findings[1].message.find("double free") != std::string::npos);
    }
  }
}

// S14f: 1a8a5227f229's kref (one for the dma-buf, one per mapping) and its
// re-arming, before and after c64a647c84f3.
TEST_CASE("a revoke that waits for unmaps: kref per mapping, re-armed by the revoke or the un-revoke",
          "[vfio][dmabuf][s14f]") {
  for (const char* drain : {"wait_unmap", "wait_unmap_once"}) {
    INFO(drain);
    const bool once = std::string(drain) == "wait_unmap_once";
    Knobs kn = move_notify_kernel();
    REQUIRE_FALSE(set_knob(kn, "vfio_dmabuf_revoke_drain", drain));
    VfioFixture f(kn);
    SerialExec ex(0, 1, "vmm");
    REQUIRE(vfio_device_open(ex, f.k, *f.v, f.vmm()) >= 3);
    long err = 0;
    DmaBuf* b = vfio_pci_core_feature_dma_buf(ex, f.k, *f.v, 0, PAGE_SIZE, err);
    REQUIRE(b);
    auto* priv = static_cast<VfioPciDmaBuf*>(b->priv);
    CHECK(priv->kref == 1);
    REQUIRE(mlx5_ib_reg_user_mr_dmabuf(ex, f.k, f.mr, *b, false) == 0);
    CHECK(priv->kref == 2);  // the NIC's mapping
    REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, false) == 0);  // revoke: the NIC unmaps, the drain ends
    CHECK(f.mr.sgt == nullptr);
    CHECK(priv->kref == (once ? 1 : 0));  // re-armed at once by the fix, else only at the un-revoke
    CHECK(priv->comp_done == 0);          // the drain's wait consumed the completion
    REQUIRE(vfio_pci_write_command_memory(ex, f.k, *f.v, true) == 0);  // un-revoke
    CHECK(priv->kref == 1);
    CHECK(mlx5_hca_dma_write(ex, f.k, f.mr, 0xbbbb, 1000) == 0);  // re-mapped on its page fault
    CHECK(priv->kref == 2);
    CHECK(ex.findings.empty());
  }
}
