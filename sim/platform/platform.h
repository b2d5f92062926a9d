// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hw/dma_mapping.h"
#include "hw/iommu.h"
#include "hw/nvme_controller.h"
#include "hw/p2pdma_distance.h"
#include "hw/pcie_fabric.h"
#include "kernel/blk.h"
#include "kernel/gup.h"
#include "kernel/iommu_group.h"
#include "kernel/kernel.h"
#include "kernel/p2pdma.h"
#include "engine/machine.h"
#include "platform/hardware_modules.h"
#include "platform/tlm_backend.h"
#include "scenario/scenario.h"

namespace p2psim {

class NvmeModule;
class NvmeDevice;
class ExternalDevice;

/**
 * class Platform - the hardware of one execution: the PCIe fabric built
 * from the scenario's PCI tree, one NVMe controller per nvme endpoint
 * (driven by its SystemC module), the tlm endpoints' models, and the
 * kernel's view of them (the NVMe driver's queues and block devices; the
 * DMA mappings a driver made for a tlm endpoint). It is the TlmBackend of
 * the process's fabric, IOMMU and memory modules while it lives.
 *
 * Host memory the driver uses for queues and PRP lists sits in DRAM behind
 * the host bridge at kDramBase; BARs sit below 4 GiB where the topology
 * placed them.
 */
class Platform : public TlmBackend {
 public:
  static constexpr uint64_t kDramBase = 0x1000000000ULL;  // 64 GiB: above any BAR a topology places
  static constexpr uint64_t kDramSize = 0x800000000ULL;  // 32 GiB
  /// x86's MSI window: a device's posted write here is an interrupt to the
  /// CPU whose APIC ID is address bits 19:12 (CPU n has APIC ID n here).
  static constexpr uint64_t kMsiBase = 0xfee00000ULL, kMsiSize = 0x100000ULL;

  Platform(const Scenario& sc, kern::Kernel& k, CoroutineHost& host, const HardwareModules& modules);
  ~Platform() override;

  /// nvme_probe() for every controller: map its CMB (pci_p2pdma_add_resource
  /// through nvme_map_cmb), enable it, create an I/O queue pair per CPU. Runs before
  /// the machine starts; the controllers' enable delay passes in simulated
  /// time. Registers CMB providers in @providers by endpoint name.
  void boot(kern::Exec& boot, std::map<std::string, kern::P2pdmaProvider*>& providers);
  /// Completions raise interrupts on @m from now on.
  void start(Machine& m);
  bool has_nvme() const { return !devices_.empty(); }
  NvmeDevice* nvme(const std::string& name);
  /// Managed MSI-X vectors routed to each CPU so far (the x86 vector
  /// matrix's count, which picks a vector's CPU within its mask).
  std::vector<int>& managed_irq_vectors() { return managed_irq_vectors_; }
  /// The tlm endpoint named @name, or nullptr.
  ExternalDevice* external(const std::string& name);
  /// A task releases pinned pages: the DMA mappings tlm endpoints hold of
  /// them go first (dma_unmap before unpin_user_pages, as a driver does).
  void unmap_device_dma(kern::Exec& ex, const std::vector<kern::GupPage>& pages);
  /// Namespace back doors for workloads (initialise, check).
  hw::NvmeController* controller(const std::string& name);
  /// Write a port's ACS Control register at run time (setpci): routing
  /// changes at once, the kernel's cached map types do not.
  void set_acs(const std::string& port, uint16_t ctrl);
  /// The link above endpoint @name goes down (the card is pulled): its BAR
  /// answers no request, and an NVMe controller stops where it is.
  void surprise_remove(const std::string& name);
  /// The IOMMU group of endpoint @name (one device per group), with the
  /// hooks its sysfs `type` store needs; nullopt without an IOMMU. The
  /// caller fills in the binding state, and knows whether the function
  /// was deleted (its group goes with it).
  std::optional<kern::IommuGroup> iommu_group(const std::string& name);
  /// Payload bytes all root complexes forwarded between root ports so far.
  uint64_t rc_p2p_bytes() const;

  // For the devices.
  kern::Kernel& kernel() { return k_; }
  hw::P2pdmaDistance& distance() { return *distance_; }
  const hw::PciTopology& pci() const { return pci_; }
  hw::DmaMapper& mapper() { return *mapper_; }
  bool iommu_on() const { return iommu_enabled_; }
  /// calc_map_type_and_dist(@provider, @client) over the PCI tree (the
  /// kernel's cache store is the caller's: kern::calc_map_type_and_dist_store()).
  struct P2pDistance {
    hw::MapType map_type = hw::MapType::unknown;
    int distance = 0;
    uint64_t client_idx = 0;  ///< map_types_idx(client)
  };
  std::optional<P2pDistance> p2pdma_distance(const std::string& provider, const std::string& client);
  /// Named PCI devices in device order (for_each_pci_dev()).
  std::vector<std::string> pci_device_names() const;
  /// The endpoint whose p2p BAR holds bus address @addr, or kNoDevice.
  hw::DeviceId bar_owner(uint64_t addr) const;
  Machine* machine() { return machine_; }
  ps_t abs(ps_t rel) const;
  hw::DeviceId provider_device(const kern::DevPagemap* pgmap) const;
  /// DMA into or out of memory at @addr (a physical/bus address: DRAM or a BAR page).
  void move_bytes(const std::string& device, uint64_t addr, uint8_t* buf, size_t len, bool to_memory, ps_t at);
  CpuMmioModule& cpu_mmio() { return *modules_.cpu; }
  InterruptController& interrupts() { return *modules_.interrupts; }

  // TlmBackend
  hw::PcieFabric& fabric() override { return *fabric_; }
  hw::Iommu& iommu() override { return *iommu_; }
  const std::string& device_name(hw::DeviceId dev) const override { return sc_.topo->names.at(dev); }
  uint16_t requester_id(hw::DeviceId dev) const override;
  bool iommu_enabled() const override { return iommu_enabled_; }
  bool link_down(uint64_t addr) const override;
  uint64_t bar_base(hw::DeviceId dev) const override;
  bool move_bytes(hw::DeviceId requester, uint64_t addr, uint8_t* buf, size_t len, bool to_memory) override;
  void dma_done(hw::DeviceId requester, uint64_t addr, size_t len, ps_t at, bool write) override;
  void report(hw::DeviceId device, FindingKind kind, const std::string& message, ps_t at) override;
  bool is_msi(uint64_t addr) const override { return addr >= kMsiBase && addr - kMsiBase < kMsiSize; }
  void raise_msi(hw::DeviceId requester, uint64_t addr, uint32_t data, ps_t at) override;

 private:
  const Scenario& sc_;
  kern::Kernel& k_;
  CoroutineHost& host_;
  Machine* machine_ = nullptr;
  std::unique_ptr<hw::PcieFabric> fabric_;
  hw::PciTopology pci_;  ///< this execution's copy: ACS bits may change at run time
  std::unique_ptr<hw::P2pdmaDistance> distance_;     ///< the kernel's (with its cache)
  std::unique_ptr<hw::Iommu> iommu_;
  std::unique_ptr<hw::DmaMapper> mapper_;
  bool iommu_enabled_ = false;
  std::vector<std::unique_ptr<NvmeDevice>> devices_;
  std::vector<int> managed_irq_vectors_;
  std::vector<std::unique_ptr<ExternalDevice>> externals_;
  HardwareModules modules_;
  /// What iommu_dma_init_domain() reserves in @d's IOVA space for @dev.
  void reserve_iommu_regions(hw::DomainId d, hw::DeviceId dev);
  std::map<const kern::DevPagemap*, hw::DeviceId> pgmap_dev_;
  std::vector<hw::DeviceId> links_down_;  ///< surprise-removed endpoints
  ps_t boot_t0_ = 0;
};


}  // namespace p2psim
