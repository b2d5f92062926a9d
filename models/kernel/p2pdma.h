// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernel/device_driver.h"
#include "kernel/exec.h"
#include "kernel/genalloc.h"
#include "kernel/kernel.h"
#include "kernel/xarray.h"

namespace p2psim::kern {

/// Kernel virtual address of physical address 0 (x86-64 direct map).
constexpr uint64_t PAGE_OFFSET = 0xffff888000000000ULL;

/**
 * struct P2pdmaState - struct pci_p2pdma: the pool and the userspace
 * mapping state of one provider device.
 */
struct P2pdmaState {
  GenPool pool{PAGE_SHIFT};
  bool active = false;             ///< RFC: faults refused once false
  AddressSpace rfc_inode_mapping;  ///< RFC: one anon inode for all opens
  bool allocate_published = false; ///< upstream: sysfs p2pmem/allocate exists
  bool p2pmem_published = false;   ///< pci_p2pmem_publish(): pci_p2pmem_find*() may pick it
  /// map_types: client index -> map type, written by calc_map_type_and_dist();
  /// the kernel side keeps its nodes and lifetime (the values are the hw model's).
  XArray map_types;
  int kernfs_active = 0;           ///< upstream: ->mmap calls holding a kernfs active ref
  std::vector<std::shared_ptr<File>> open_files;  ///< kernfs open files (upstream)
};

/// RFC v3-v5 struct pci_p2pdma_map: one per mmap() call.
struct P2pdmaMap {
  int kref = 1;
  struct P2pdmaProvider* prov = nullptr;
  uint64_t kaddr = 0;  ///< 0 until the first fault allocates
  uint64_t len = 0;
  uint64_t shadow_alloc = 0;  ///< oracle: allocation kaddr belongs to
};

/**
 * struct P2pdmaProvider - the pci_dev side of a p2pmem provider: the RCU
 * pointer pdev->p2pdma, its pgmaps and its devm actions (run in reverse
 * at unbind).
 */
struct P2pdmaProvider {
  std::string name;
  uint64_t bar_phys = 0;    ///< CPU physical address of the BAR
  uint64_t bar_size = 0;
  uint64_t bus_offset = 0;  ///< bus address = physical + bus_offset
  P2pdmaState* p2pdma = nullptr;  ///< rcu pointer; null after release
  std::unique_ptr<P2pdmaState> storage;
  std::vector<DevPagemap*> pgmaps;
  DevmActions devm_actions;
  /// The driver's ->remove() (e.g. nvme_remove), run before the devm actions.
  std::function<void(Exec&)> driver_remove;
  bool bound = true;
  bool device_locked = false;  ///< device_lock(): held across a driver unbind
  bool disconnected = false;   ///< pci_dev_is_disconnected(): a surprise removal marked it
  /// The bound driver's DMA ownership of its IOMMU group (owner_cnt): taken
  /// at probe (dma_configure()), dropped by dma_cleanup() right after the
  /// driver's remove(), before the devm actions.
  bool dma_owner = true;
  bool deleted = false;  ///< pci_stop_and_remove_bus_device() deleted the function
};

/// models drivers/pci/p2pdma.c:pci_p2pdma_add_resource(). 0 or -errno.
int pci_p2pdma_add_resource(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t size,
                            uint64_t offset);
/// models drivers/pci/p2pdma.c:pci_alloc_p2pmem(); returns a kernel virtual address or 0.
uint64_t pci_alloc_p2pmem(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t size);
void pci_free_p2pmem(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t addr, uint64_t size);
/// open() of the provider's p2pmem file: the RFC device node or sysfs `allocate`.
std::shared_ptr<File> p2pmem_open(Exec& ex, Kernel& k, P2pdmaProvider& prov, int& err);
/// device_release_driver(): the driver's remove, then the devm actions in
/// reverse order (release_driver()).
void device_release_driver(Exec& ex, Kernel& k, P2pdmaProvider& prov);

/// pci_p2pmem_publish(): let pci_p2pmem_find*() pick the provider (a no-op without pdev->p2pdma).
void pci_p2pmem_publish(P2pdmaProvider& prov, bool publish);
/// pci_has_p2pmem(): pdev->p2pdma && published, read under RCU.
bool pci_has_p2pmem(Exec& ex, P2pdmaProvider& prov);
/**
 * calc_map_type_and_dist_store() - the end of calc_map_type_and_dist(): the
 * computed @map_type of client @client_idx (map_types_idx()) is cached in the
 * provider's map_types under rcu_read_lock(), with the gfp the knob
 * map_types_gfp says. The type itself is the hw model's to compute.
 */
void calc_map_type_and_dist_store(Exec& ex, Kernel& k, P2pdmaProvider& prov, uint64_t client_idx, int map_type);

uint64_t virt_to_pfn(uint64_t kaddr);

}  // namespace p2psim::kern
