// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/vfio_pci.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/kernel_bug.h"
#include "kernel/kernel.h"
#include "kernel/memory.h"
#include "kernel/page_table.h"

namespace p2psim::kern {

namespace {

// vfio_device_try_get_registration() / vfio_device_put_registration():
// refcount_inc_not_zero, and complete(&device->comp) at zero.
bool try_get_registration(VfioPciCoreDevice& vdev) {
  if (vdev.registrations == 0) return false;
  ++vdev.registrations;
  return true;
}
// A put at zero is refcount_t's underflow: it WARNs and saturates, and
// the completion remove() waits for has already fired.
void put_registration(Exec& ex, VfioPciCoreDevice& vdev) {
  if (vdev.registrations <= 0) {
    ex.report(FindingKind::refcount_underflow,
              fmt::format("refcount_t: underflow; use-after-free: vfio_device_put_registration() of {} at 0 "
                          "(a put without its get)",
                          vdev.name));
    return;
  }
  --vdev.registrations;
}

// The error path of 6.19.0-6.19.10 freed priv while it was still on the
// device's list and while its dma-buf's release was pending.
static void check_priv_live(Exec& ex, const VfioPciDmaBuf& priv, const char* who) {
  if (priv.freed)
    ex.report(FindingKind::use_after_free,
              fmt::format("{} reads a vfio_pci_dma_buf that vfio_pci_core_feature_dma_buf()'s error path "
                          "already freed (kfree(priv) after dma_buf_put())",
                          who));
}

bool memory_enabled(const VfioPciCoreDevice& vdev) { return vdev.virt_mem; }

// models vfio_pci_zap_bars(): unmap_mapping_range() over the BAR regions of
// the device inode's mapping.
void vfio_pci_zap_bars(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_pci_zap_bars");
  unmap_mapping_range(ex, k, vdev.inode_mapping, 0, 0);
}

// kref_put(&priv->kref, vfio_pci_dma_buf_done): refcount_t's underflow
// WARNs and returns without the release, so nothing completes.
static void dma_buf_kref_put(Exec& ex, VfioPciDmaBuf& priv) {
  if (priv.kref <= 0) {
    ex.report(FindingKind::refcount_underflow,
              "refcount_t: underflow; use-after-free: kref_put() of a vfio_pci_dma_buf kref already at 0 "
              "(its completion was already consumed)");
    return;
  }
  if (--priv.kref == 0) ++priv.comp_done;  // vfio_pci_dma_buf_done(): complete()
}

// wait_for_completion(&priv->comp): sleeps until completed, consuming it.
static void dma_buf_wait_done(Exec& ex, VfioPciDmaBuf& priv) {
  VfioPciDmaBuf* p = &priv;
  ex.might_sleep("wait_for_completion");
  ex.wait_event([p] { return p->comp_done > 0; }, "vfio_pci_dma_buf: wait_for_completion(&priv->comp)");
  --priv.comp_done;
}

// The drain of 1a8a5227f229 once the importers were told: the dma-buf's own
// ref goes, and the revoke waits until every mapping's ref went too.
static void dma_buf_drain(Exec& ex, Kernel& k, VfioPciDmaBuf& priv) {
  dma_buf_kref_put(ex, priv);
  dma_buf_wait_done(ex, priv);
  if (k.knobs.vfio_dmabuf_revoke_drain == VfioDmabufRevokeDrain::wait_unmap_once) {
    priv.kref = 1;  // c64a647c84f3: re-armed as at creation (kref_init, reinit_completion)
    priv.comp_done = 0;
  }
}

// models vfio_pci_dma_buf_move(vdev, revoked): memory_lock held for write;
// every dma-buf whose file is still live and whose state changes is
// flipped and its importers told, each under its reservation lock. It
// waits for neither fences nor unmaps.
void vfio_pci_dma_buf_move(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev, bool revoked) {
  KFUNC(ex, "vfio_pci_dma_buf_move");
  if (!vdev.memory_lock.writer) throw ModelBug("vfio_pci_dma_buf_move() without memory_lock held for write");
  for (VfioPciDmaBuf* priv : std::vector<VfioPciDmaBuf*>(vdev.dmabufs)) {
    check_priv_live(ex, *priv, "vfio_pci_dma_buf_move()");
    if (!get_file_active(*priv->dmabuf)) continue;
    if (priv->revoked != revoked && k.knobs.vfio_dmabuf_revoke_drain == VfioDmabufRevokeDrain::none) {
      dma_resv_lock(ex, *priv->dmabuf);
      priv->revoked = revoked;
      dma_buf_move_notify(ex, k, *priv->dmabuf);
      dma_resv_unlock(ex, *priv->dmabuf);
    } else if (priv->revoked != revoked) {
      // 1a8a5227f229: the revoke is set first, the importers are told and
      // their fences waited for (none here: no modelled importer adds one),
      // then the drain; an un-revoke clears the flag last.
      dma_resv_lock(ex, *priv->dmabuf);
      if (revoked) priv->revoked = true;
      dma_buf_move_notify(ex, k, *priv->dmabuf);
      dma_resv_unlock(ex, *priv->dmabuf);
      if (revoked) {
        dma_buf_drain(ex, k, *priv);
      } else {
        if (k.knobs.vfio_dmabuf_revoke_drain == VfioDmabufRevokeDrain::wait_unmap) {
          priv->kref = 1;  // re-armed here, on the un-revoke, before c64a647c84f3
          priv->comp_done = 0;
        }
        dma_resv_lock(ex, *priv->dmabuf);
        priv->revoked = false;
        dma_resv_unlock(ex, *priv->dmabuf);
      }
    }
    dma_buf_put(ex, k, *priv->dmabuf);
  }
}

// models vfio_pci_dma_buf_cleanup(): under memory_lock, each live dma-buf
// leaves the device, is revoked and its importers told, and gives back the
// registration it held.
void vfio_pci_dma_buf_cleanup(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_pci_dma_buf_cleanup");
  down_write(ex, vdev.memory_lock, "memory_lock");
  const VfioDmabufRevokeDrain drain = k.knobs.vfio_dmabuf_revoke_drain;
  // c64a647c84f3: the drain goes through the revoke path, a no-op for a
  // dma-buf a PCI_COMMAND write already revoked.
  if (drain == VfioDmabufRevokeDrain::wait_unmap_once) vfio_pci_dma_buf_move(ex, k, vdev, true);
  for (VfioPciDmaBuf* priv : std::vector<VfioPciDmaBuf*>(vdev.dmabufs)) {
    check_priv_live(ex, *priv, "vfio_pci_dma_buf_cleanup()");
    if (!get_file_active(*priv->dmabuf)) continue;
    if (drain == VfioDmabufRevokeDrain::wait_unmap_once) {
      vdev.dmabufs.erase(std::find(vdev.dmabufs.begin(), vdev.dmabufs.end(), priv));
      priv->vdev = nullptr;
    } else {
      dma_resv_lock(ex, *priv->dmabuf);
      vdev.dmabufs.erase(std::find(vdev.dmabufs.begin(), vdev.dmabufs.end(), priv));
      priv->vdev = nullptr;
      priv->revoked = true;
      dma_buf_move_notify(ex, k, *priv->dmabuf);
      dma_resv_unlock(ex, *priv->dmabuf);
      // 1a8a5227f229 drains again here, whether or not a revoke already did.
      if (drain == VfioDmabufRevokeDrain::wait_unmap) dma_buf_drain(ex, k, *priv);
    }
    put_registration(ex, vdev);
    dma_buf_put(ex, k, *priv->dmabuf);
    ex.pp("vfio_pci_dma_buf_cleanup:after_revoke");
  }
  up_write(ex, vdev.memory_lock);
}

// models vfio_pci_core_disable() for what the dma-buf protocol sees (the
// device is in D0; runtime PM is not modelled): bus mastering off, the BAR
// regions released, vconfig freed, then PCI_COMMAND written directly
// (INTX_DISABLE: MEMORY cleared, the BAR stops decoding), a function level
// reset (pcie_flr: 100 ms during which the device may drop requests),
// pci_restore_state() (the COMMAND saved at enable: decoding on again) and
// pci_disable_device(). From then on the function is nobody's: reset, its
// regions free for another driver.
void vfio_pci_core_disable(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_pci_core_disable");
  // pci_iounmap() and pci_release_selected_regions() of the BAR come first.
  vdev.virt_mem = false;     // vfio_config_free()
  ex.cost(k.costs.mmio_write);
  vdev.hw_mem = false;
  ex.notef("{}: PCI_COMMAND = INTX_DISABLE: memory decoding off", vdev.name);
  ex.pp("vfio_pci_core_disable:after_command_write");
  {
    KFUNC(ex, "pcie_flr");
    ex.schedule_timeout(k.costs.flr_wait);
  }
  ex.cost(k.costs.mmio_write);
  vdev.hw_mem = true;  // pci_restore_state(): the saved COMMAND has MEMORY set
  vdev.enabled = false;
  ex.notef("{}: reset and restored (decoding on), disabled: no longer the user's", vdev.name);
  ex.pp("vfio_pci_core_disable:after_restore");
}

// models vfio_pci_core_close_device() at the last close: the function is
// disabled, then the dma-bufs are cleaned up (v6.19 order), or the other
// way round (Matt Evans, "vfio/pci: Clean up DMABUFs before disabling
// function", RFC Feb 2026).
void vfio_pci_core_close_device(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_pci_core_close_device");
  if (k.knobs.vfio_close_order == VfioCloseOrder::disable_then_cleanup) {
    vfio_pci_core_disable(ex, k, vdev);
    vfio_pci_dma_buf_cleanup(ex, k, vdev);
  } else {
    vfio_pci_dma_buf_cleanup(ex, k, vdev);
    vfio_pci_core_disable(ex, k, vdev);
  }
}

// The device file's f_op->release (vfio_device_fops_release): the last
// close of the device, then its registration.
void vfio_device_file_release(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_device_fops_release");
  if (--vdev.open_count == 0) vfio_pci_core_close_device(ex, k, vdev);
  vdev.file.reset();
  put_registration(ex, vdev);
}

void device_file_put(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  if (vdev.file_refs <= 0) throw ModelBug("fput() of a closed vfio device file");
  if (--vdev.file_refs) return;
  VfioPciCoreDevice* v = &vdev;
  k.add_task_work(ex, [v, &k](Exec& e) { vfio_device_file_release(e, k, *v); });
}

// models vfio_pci_mmap_huge_fault() at order 0 -> vfio_pci_vmf_insert_pfn():
// under memory_lock for read, SIGBUS unless memory is enabled, else a
// special PFN PTE (vmf_insert_pfn).
int vfio_pci_mmap_fault(Exec& ex, Kernel& k, VmAreaStruct& vma, uint64_t addr) {
  KFUNC(ex, "vfio_pci_mmap_huge_fault");
  auto& vdev = *static_cast<VfioPciCoreDevice*>(vma.vm_private_data.get());
  down_read(ex, vdev.memory_lock, "memory_lock");
  int ret;
  if (!memory_enabled(vdev)) {
    ret = VM_FAULT_SIGBUS;
  } else {
    const uint64_t pfn = (vdev.bar_phys >> PAGE_SHIFT) + vma.vm_pgoff + ((addr - vma.vm_start) >> PAGE_SHIFT);
    if (const char* why = vfio_bar_unusable(vdev))
      ex.report(FindingKind::use_after_revoke,
                fmt::format("{}: fault at {:#x} inserts a PTE to pfn {:#x} {}", vdev.name, addr, pfn, why));
    ret = vmf_insert_pfn(ex, k, vma, addr, pfn);
  }
  up_read(ex, vdev.memory_lock);
  return ret;
}

const VmOps kVfioPciMmapOps{"vfio_pci_mmap_ops", vfio_pci_mmap_fault, nullptr, nullptr};

// models vfio_pci_core_mmap() for BAR 0: shared only, within the BAR; a
// PFNMAP|IO VMA whose faults insert PFNs. The VMA holds the device file.
int vfio_pci_core_mmap(Exec& ex, Kernel&, VfioPciCoreDevice& vdev, VmAreaStruct& vma) {
  KFUNC(ex, "vfio_pci_core_mmap");
  if (!(vma.vm_flags & VM_SHARED)) return -22;
  if ((vma.vm_pgoff << PAGE_SHIFT) + (vma.vm_end - vma.vm_start) > vdev.bar_size) return -22;
  vma.vm_private_data = std::shared_ptr<void>(&vdev, [](void*) {});
  vma.vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND;
  vma.vm_ops = &kVfioPciMmapOps;
  ++vdev.file_refs;  // get_file() for vma->vm_file
  return 0;
}

// models vfio_unregister_group_dev(): drop the driver's registration, then
// until every holder (open fds, exported dma-bufs) dropped theirs, ask
// userspace to release the device (vfio_pci_core_request: the request
// eventfd) and wait. The kernel re-asks every 10 s and never gives up;
// the model asks once and waits.
void vfio_unregister_group_dev(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_unregister_group_dev");
  put_registration(ex, vdev);
  if (vdev.registrations == 0) return;
  ++vdev.requests;
  ex.notef("{}: vfio_pci_core_request: asking userspace to release the device", vdev.name);
  if (!k.knobs.vfio_remove_waits) return;  // the protocol step removed: no wait
  VfioPciCoreDevice* v = &vdev;
  ex.might_sleep("wait_for_completion");
  ex.wait_event([v] { return v->registrations == 0; }, "vfio_unregister_group_dev: wait for release");
}

// dma_buf_ops of the exporter.
int vfio_pci_dma_buf_attach(Exec&, Kernel&, DmaBufAttachment& a) {
  auto* priv = static_cast<VfioPciDmaBuf*>(a.dmabuf->priv);
  if (!a.peer2peer) return -95;   // -EOPNOTSUPP
  if (priv->revoked) return -19;  // -ENODEV
  return 0;
}

long vfio_pci_dma_buf_map(Exec& ex, Kernel& k, DmaBufAttachment& a, SgTable*& out) {
  KFUNC(ex, "vfio_pci_dma_buf_map");
  auto* priv = static_cast<VfioPciDmaBuf*>(a.dmabuf->priv);
  if (priv->revoked && k.knobs.vfio_dmabuf_map_checks_revoked) return -19;
  const long ret = dma_buf_phys_vec_to_sgt(ex, k, a, *priv->provider, priv->phys, priv->size, out);
  if (ret == 0 && k.knobs.vfio_dmabuf_revoke_drain != VfioDmabufRevokeDrain::none) {
    if (priv->kref <= 0)  // kref_get(): refcount_t's "addition on 0" WARN
      ex.report(FindingKind::refcount_underflow,
                "refcount_t: addition on 0; use-after-free: kref_get() of a drained vfio_pci_dma_buf");
    ++priv->kref;
  }
  return ret;
}

void vfio_pci_dma_buf_unmap(Exec& ex, Kernel& k, DmaBufAttachment& a, SgTable& sgt) {
  KFUNC(ex, "vfio_pci_dma_buf_unmap");
  dma_buf_free_sgt(ex, k, a, sgt);
  if (k.knobs.vfio_dmabuf_revoke_drain != VfioDmabufRevokeDrain::none)
    dma_buf_kref_put(ex, *static_cast<VfioPciDmaBuf*>(a.dmabuf->priv));
}

void vfio_pci_dma_buf_release(Exec& ex, Kernel&, DmaBuf& b) {
  auto* priv = static_cast<VfioPciDmaBuf*>(b.priv);
  check_priv_live(ex, *priv, "vfio_pci_dma_buf_release()");
  if (VfioPciCoreDevice* vdev = priv->vdev) {
    down_write(ex, vdev->memory_lock, "memory_lock");
    // list_del_init(): a no-op once cleanup took it off.
    vdev->dmabufs.erase(std::remove(vdev->dmabufs.begin(), vdev->dmabufs.end(), priv), vdev->dmabufs.end());
    up_write(ex, vdev->memory_lock);
    put_registration(ex, *vdev);
  }
  if (priv->freed)
    ex.report(FindingKind::use_after_free, "vfio_pci_dma_buf_release(): kfree(priv->phys_vec) and kfree(priv) "
                                           "a second time (double free)");
  priv->freed = true;  // kfree(priv->phys_vec); kfree(priv)
}

}  // namespace

// models vfio_pci_core_feature_dma_buf() for one range of BAR 0: the
// provider (-EINVAL without one), a registration (-ENODEV once remove()
// dropped the last), the export, then under memory_lock and the
// reservation lock the initial revoked state and the device's list.
DmaBuf* vfio_pci_core_feature_dma_buf(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev, uint64_t offset, uint64_t len,
                                      long& err) {
  KFUNC(ex, "vfio_pci_core_feature_dma_buf");
  ex.cost(k.costs.syscall_entry);
  if (k.knobs.vfio_dmabuf == VfioDmabuf::none) {
    err = -25;  // -ENOTTY: VFIO_DEVICE_FEATURE_DMA_BUF does not exist before v6.19
    return nullptr;
  }
  if (!len || offset % PAGE_SIZE || len % PAGE_SIZE) {
    err = -22;
    return nullptr;
  }
  P2pdmaMemProvider* provider = pcim_p2pdma_provider(vdev.p2p, 0);
  if (!provider) {
    err = -22;
    return nullptr;
  }
  if (offset + len > vdev.bar_size) {  // vfio_pci_core_fill_phys_vec(): end beyond the BAR
    err = -22;
    return nullptr;
  }
  if (!try_get_registration(vdev)) {
    err = -19;
    return nullptr;
  }
  vdev.dmabuf_store.push_back(std::make_unique<VfioPciDmaBuf>());
  VfioPciDmaBuf* priv = vdev.dmabuf_store.back().get();
  priv->vdev = &vdev;
  priv->size = len;
  priv->phys = vdev.bar_phys + offset;
  priv->provider = provider;
  if (k.should_fail("dma_buf_export")) {  // ERR_PTR(-ENOMEM)
    put_registration(ex, vdev);  // err_dev_put
    priv->freed = true;          // err_free_phys, err_free_priv: never exported nor listed
    err = -12;
    return nullptr;
  }
  priv->dmabuf = &dma_buf_export(k, vdev.dmabuf_ops, len, priv);
  down_write(ex, vdev.memory_lock, "memory_lock");
  dma_resv_lock(ex, *priv->dmabuf);
  priv->revoked = !memory_enabled(vdev);
  vdev.dmabufs.push_back(priv);
  dma_resv_unlock(ex, *priv->dmabuf);
  up_write(ex, vdev.memory_lock);
  ex.pp("vfio_pci_core_feature_dma_buf:before_dma_buf_fd");
  // dma_buf_fd(): its reference becomes the fd's. Without a free fd only
  // dma_buf_put() may undo the export: its release (at the return to user
  // space, task_work) takes priv off the list and puts the registration.
  if (k.should_fail("dma_buf_fd")) {
    err = -24;  // -EMFILE
    dma_buf_put(ex, k, *priv->dmabuf);  // err_dma_buf (v6.19), or the whole fix (e98137f0a874)
    if (k.knobs.vfio_dmabuf_fd_error_path == VfioDmabufFdErrorPath::unwind_chain) {
      put_registration(ex, vdev);  // err_dev_put: the release will put it again
      priv->freed = true;          // err_free_phys, err_free_priv: priv is still listed
      ex.pp("vfio_pci_core_feature_dma_buf:after_unwind");
    }
    return nullptr;
  }
  err = 0;
  return priv->dmabuf;
}

void vfio_pci_probe(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_pci_probe");
  pcim_p2pdma_init(ex, k, vdev.p2p, vdev.name, 1, vdev.bus_offset, vdev.devm);
  vdev.registrations = 1;
  vdev.dmabuf_ops.exporter = "vfio_pci";
  vdev.dmabuf_ops.attach = vfio_pci_dma_buf_attach;
  vdev.dmabuf_ops.map = vfio_pci_dma_buf_map;
  vdev.dmabuf_ops.unmap = vfio_pci_dma_buf_unmap;
  vdev.dmabuf_ops.release = vfio_pci_dma_buf_release;
  // 61ceaf236115 (v6.19-rc8): a ->pin that refuses, so pinning importers fail.
  if (k.knobs.vfio_dmabuf == VfioDmabuf::pin_refused)
    vdev.dmabuf_ops.pin = [](Exec&, Kernel&, DmaBufAttachment&) { return -95; };
}

// Open of the device: a registration for the fd; the first open enables
// the function (pci_enable_device sets MEMORY; vconfig starts from it).
long vfio_device_open(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev, Process& proc) {
  KFUNC(ex, "vfio_device_open");
  ex.cost(k.costs.syscall_entry);
  if (vdev.file) return -16;  // the model has one open file per device: -EBUSY
  if (!vdev.bound || !try_get_registration(vdev)) return -19;
  if (vdev.open_count++ == 0) {
    // vfio_pci_core_enable(): pci_enable_device() (MEMORY on), a reset
    // (pci_try_reset_function: an FLR), the state saved; vfio_config_init()
    // copies COMMAND into vconfig.
    ex.schedule_timeout(k.costs.flr_wait);
    vdev.hw_mem = true;
    vdev.enabled = true;
    vdev.virt_mem = true;
  }
  auto f = std::make_shared<File>();
  f->id = k.next_file_id++;
  f->path = "/dev/vfio/devices/" + vdev.name;
  f->f_mapping = &vdev.inode_mapping;
  VfioPciCoreDevice* v = &vdev;
  f->mmap = [v, &k](Exec& e, File&, VmAreaStruct& vma) { return vfio_pci_core_mmap(e, k, *v, vma); };
  f->vma_fput = [v, &k](Exec& e) { device_file_put(e, k, *v); };
  vdev.file = f;
  vdev.file_refs = 1;
  const int fd = proc.next_fd++;
  proc.fds[fd] = f;
  return fd;
}

void vfio_device_close(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  KFUNC(ex, "vfio_device_close");
  ex.cost(k.costs.syscall_entry);
  device_file_put(ex, k, vdev);
}

// models vfio_basic_config_write() for PCI_COMMAND's MEMORY bit: turning it
// off zaps the BAR mappings and revokes the dma-bufs under memory_lock
// before the write reaches the function; turning it on revokes nothing and
// un-revokes after the write.
int vfio_pci_write_command_memory(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev, bool enable) {
  KFUNC(ex, "vfio_basic_config_write");
  ex.cost(k.costs.syscall_entry);
  if (!enable) {
    // vfio_pci_zap_and_down_write_memory_lock(), then the revoke.
    down_write(ex, vdev.memory_lock, "memory_lock");
    if (k.knobs.vfio_memory_disable_order == VfioMemoryDisableOrder::zap_then_revoke) {
      vfio_pci_zap_bars(ex, k, vdev);
      vfio_pci_dma_buf_move(ex, k, vdev, true);
    } else {
      vfio_pci_dma_buf_move(ex, k, vdev, true);
      vfio_pci_zap_bars(ex, k, vdev);
    }
  } else {
    down_write(ex, vdev.memory_lock, "memory_lock");
  }
  ex.cost(k.costs.mmio_write);
  vdev.hw_mem = enable;  // vfio_default_config_write(): MEMORY is not virtualized
  vdev.virt_mem = enable;
  ex.notef("{}: PCI_COMMAND.MEMORY = {}", vdev.name, enable ? 1 : 0);
  if (memory_enabled(vdev)) vfio_pci_dma_buf_move(ex, k, vdev, false);
  up_write(ex, vdev.memory_lock);
  return 0;
}

// Unbind of a vfio-pci function: release_driver() with vfio_pci_remove() ->
// vfio_pci_core_unregister_device() -> vfio_unregister_group_dev() as its
// remove; devres then frees the p2pdma providers.
void vfio_device_release_driver(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev) {
  VfioPciCoreDevice* v = &vdev;
  release_driver(ex, vdev.device_locked, vdev.bound,
                 [v, &k](Exec& e) {
                   {
                     KFUNC(e, "vfio_pci_remove");
                     vfio_unregister_group_dev(e, k, *v);
                   }
                   v->removed = true;
                   e.notef("{}: vfio_pci_remove() returned", v->name);
                   e.pp("device_release_driver:after_remove");
                 },
                 vdev.devm);
}

const char* vfio_bar_unusable(const VfioPciCoreDevice& v) {
  if (v.removed) return "after vfio_pci_remove() returned (the BAR is no longer the driver's)";
  if (!v.hw_mem) return "while its memory decoding is off (PCI_COMMAND.MEMORY clear)";
  if (!v.enabled) return "after vfio_pci_core_disable() reset the function and released its BAR (it is nobody's now)";
  return nullptr;
}

// models vfio_pci_dma_buf_iommufd_map(): the "private interconnect" with
// iommufd; one range per dma-buf in the model, so never the nr_ranges check.
long vfio_pci_dma_buf_iommufd_map(Exec& ex, Kernel&, DmaBufAttachment& attach, uint64_t& phys, uint64_t& len) {
  KFUNC(ex, "vfio_pci_dma_buf_iommufd_map");
  if (!attach.dmabuf->resv.writer) throw ModelBug("vfio_pci_dma_buf_iommufd_map() without the resv lock");
  if (attach.dmabuf->ops->exporter != std::string("vfio_pci")) return -95;
  const auto* priv = static_cast<const VfioPciDmaBuf*>(attach.dmabuf->priv);
  if (priv->revoked) return -19;
  phys = priv->phys;
  len = priv->size;
  return 0;
}

void device_write_lands(Exec& ex, Kernel& k, const std::string& dev, std::optional<uint64_t> iova, uint64_t phys,
                        uint64_t value) {
  VfioPciCoreDevice* v = vfio_device_of_phys(k, phys);
  if (const char* why = v ? vfio_bar_unusable(*v) : nullptr) {
    ex.report(FindingKind::use_after_revoke,
              fmt::format("{}: DMA write{} to {} BAR at {:#x} {}", dev,
                          iova ? fmt::format(" through IOVA {:#x}", *iova) : std::string(), v->name, phys, why));
    if (!v->hw_mem) return;  // an Unsupported Request: the write is dropped
  }
  k.phys_write(phys >> PAGE_SHIFT, phys & (PAGE_SIZE - 1), value);
}

VfioPciCoreDevice* vfio_device_of_phys(Kernel& k, uint64_t phys) {
  for (auto& v : k.vfio_devices)
    if (v->bar_contains(phys)) return v.get();
  return nullptr;
}

}  // namespace p2psim::kern
