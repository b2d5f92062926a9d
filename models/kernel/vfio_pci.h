// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// vfio-pci with dma-buf export of a BAR (drivers/vfio/pci/vfio_pci_core.c,
// vfio_pci_config.c, vfio_pci_dmabuf.c, drivers/vfio/vfio_main.c; the 2025
// series "vfio/pci: Allow MMIO regions to be exported through dma-buf",
// v6.19; docs/fidelity.md). One BAR (BAR 0) per device.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel/dma_buf.h"
#include "kernel/exec.h"
#include "kernel/mm.h"
#include "kernel/p2pdma_provider.h"

namespace p2psim::kern {

class Kernel;
struct Process;
struct VfioPciCoreDevice;

/// struct vfio_pci_dma_buf: one exported range of BAR 0.
struct VfioPciDmaBuf {
  DmaBuf* dmabuf = nullptr;
  VfioPciCoreDevice* vdev = nullptr;  ///< null once cleanup took it off the device
  uint64_t size = 0;
  uint64_t phys = 0;  ///< phys_vec[0]
  P2pdmaMemProvider* provider = nullptr;
  bool revoked = false;
  bool freed = false;  ///< kfree(priv): the model keeps the object to see later reads
  /// 1a8a5227f229: one ref for the dma-buf plus one per mapping; the last
  /// put completes @comp_done, which the revoke's wait consumes.
  int kref = 1;
  int comp_done = 0;
};

/**
 * struct VfioPciCoreDevice - a function bound to vfio-pci.
 * @virt_mem: the virtual PCI_COMMAND.MEMORY bit (vconfig) that
 *            __vfio_pci_memory_enabled() reads, under @memory_lock.
 * @hw_mem: the function's real MEMORY bit: does the BAR decode.
 * @enabled: opened and not yet disabled at the last close (reset, released).
 * @registrations: vfio_device's refcount (1 for the driver, one per open
 *            and per exported dma-buf); remove() waits for it to reach 0.
 * @file_refs: the device file's references: the fd and every BAR VMA.
 * @requests: times remove() asked userspace to release the device.
 * @removed: vfio_pci_remove() returned (the oracles' view).
 */
struct VfioPciCoreDevice {
  std::string name;
  uint64_t bar_phys = 0, bar_size = 0, bus_offset = 0;
  bool virt_mem = false, hw_mem = false;
  bool enabled = false;      ///< between vfio_pci_core_enable() and its disable: the user's function
  RwSem memory_lock;
  std::vector<VfioPciDmaBuf*> dmabufs;
  std::vector<std::unique_ptr<VfioPciDmaBuf>> dmabuf_store;  // never freed during an execution
  int registrations = 1;
  int open_count = 0;
  int file_refs = 0;
  std::shared_ptr<File> file;  ///< the open device file, while one exists
  AddressSpace inode_mapping;  ///< the device inode's i_mapping: every BAR mmap
  PciP2pdmaMem p2p;
  DevmActions devm;
  int requests = 0;
  bool bound = true, device_locked = false, removed = false;
  bool disconnected = false;  ///< pci_dev_is_disconnected(): a surprise removal marked it
  bool deleted = false;       ///< pci_stop_and_remove_bus_device() deleted the function
  DmaBufOps dmabuf_ops;  ///< vfio_pci_dmabuf_ops, as this kernel's knobs have it

  bool bar_contains(uint64_t phys) const { return phys >= bar_phys && phys < bar_phys + bar_size; }
};

/// vfio_pci_probe() -> vfio_pci_core_init_dev(): pcim_p2pdma_init, the
/// dma-buf list, the memory lock; the driver holds one registration.
void vfio_pci_probe(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev);
/// Open the device (VFIO_GROUP_GET_DEVICE_FD / cdev open): 0 and a new
/// fd in @proc, or -errno. The first open enables the function.
long vfio_device_open(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev, Process& proc);
/// close() of the device fd; the last reference (fd and VMAs) releases it.
void vfio_device_close(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev);
/// A config-space write of PCI_COMMAND's MEMORY bit through the device fd.
int vfio_pci_write_command_memory(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev, bool enable);
/// VFIO_DEVICE_FEATURE_DMA_BUF for [offset, offset + len) of BAR 0: the
/// dma-buf (its fd's reference) or -errno in @err.
DmaBuf* vfio_pci_core_feature_dma_buf(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev, uint64_t offset,
                                      uint64_t len, long& err);
/// vfio_pci_dma_buf_iommufd_map(): the physical range of a vfio dma-buf for
/// iommufd (resv held): -EOPNOTSUPP for another exporter, -ENODEV while
/// revoked; else 0 and @phys, @len.
long vfio_pci_dma_buf_iommufd_map(Exec& ex, Kernel& k, DmaBufAttachment& attach, uint64_t& phys, uint64_t& len);
/// Unbind: device lock, vfio_pci_remove(), then the devm actions.
void vfio_device_release_driver(Exec& ex, Kernel& k, VfioPciCoreDevice& vdev);
/// Why an access to @v's BAR now harms (the oracles' rule), or null: after
/// remove() returned, while decoding is off, or once the last close reset
/// and released the function.
const char* vfio_bar_unusable(const VfioPciCoreDevice& v);
/// A device's DMA write of @value reaching physical address @phys (through
/// @iova, if an IOMMU translated it): on a vfio BAR the oracles judge it
/// (vfio_bar_unusable()); the data is stored unless the BAR does not decode.
void device_write_lands(Exec& ex, Kernel& k, const std::string& dev, std::optional<uint64_t> iova, uint64_t phys,
                        uint64_t value);
/// The device whose BAR holds physical address @phys, or null.
VfioPciCoreDevice* vfio_device_of_phys(Kernel& k, uint64_t phys);

}  // namespace p2psim::kern
