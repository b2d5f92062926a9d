// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <tlm>

#include <cstdint>
#include <string>

#include "hw/iommu.h"
#include "hw/pcie_fabric.h"
#include "common/finding.h"
#include "common/time.h"

namespace p2psim {

/**
 * class TlmBackend - what the TLM-2.0 modules of the PCIe tree ask of the
 * execution they serve (Platform implements it). The modules are elaborated
 * once per process; each execution attaches its own backend, with its own
 * fabric state, IOMMU and memory.
 */
class TlmBackend {
 public:
  virtual ~TlmBackend() = default;
  virtual hw::PcieFabric& fabric() = 0;
  virtual hw::Iommu& iommu() = 0;
  virtual const std::string& device_name(hw::DeviceId dev) const = 0;
  /// PCIe requester ID (bus << 8 | devfn) of @dev.
  virtual uint16_t requester_id(hw::DeviceId dev) const = 0;
  /// Is the IOMMU on? Then every request that reaches a root complex,
  /// other than an MSI, passes it.
  virtual bool iommu_enabled() const = 0;
  /// Is the BAR holding @addr behind a link that went down (its function
  /// surprise-removed)? Requests to it end as Unsupported Requests.
  virtual bool link_down(uint64_t addr) const = 0;
  /// Bus address of BAR 0 of endpoint @dev: BAR targets
  /// see addresses relative to it, as behind any TLM router.
  virtual uint64_t bar_base(hw::DeviceId dev) const = 0;
  /// Is @addr in the MSI window (x86: 0xFEE00000-0xFEEFFFFF)?
  virtual bool is_msi(uint64_t addr) const = 0;
  /// An MSI write of @data to @addr by @requester reached the interrupt
  /// controller at @at.
  virtual void raise_msi(hw::DeviceId requester, uint64_t addr, uint32_t data, ps_t at) = 0;
  /// Memory the platform backs (DRAM and model-less BAR pages). False,
  /// with nothing moved, when some of it is neither (a BAR whose pages are
  /// gone with its driver): the completer then answers with an error.
  virtual bool move_bytes(hw::DeviceId requester, uint64_t addr, uint8_t* buf, size_t len, bool to_memory) = 0;
  /// After the bytes of a DMA moved: the oracles check it at @at.
  virtual void dma_done(hw::DeviceId requester, uint64_t addr, size_t len, ps_t at, bool write) = 0;
  /// A device-side finding (an IOMMU fault), at absolute time @at.
  virtual void report(hw::DeviceId device, FindingKind kind, const std::string& message, ps_t at) = 0;
};

/**
 * struct FabricRoute - the tree's own note on a payload in flight: who
 * asked, when, what it asked for, and the route the switch and
 * root-complex modules built so far. Internal: endpoints never see it
 * (TlpExtension is the public face).
 */
struct FabricRoute : tlm::tlm_extension<FabricRoute> {
  hw::DeviceId requester = hw::kNoDevice;
  ps_t issue = 0;
  uint64_t requested_address = 0;  ///< before the IOMMU
  hw::PcieFabric::RouteInProgress path;
  hw::DeviceId root_port = hw::kNoDevice;  ///< where it entered the root complex
  bool mmio = false;                       ///< a CPU load or store, not DMA
  hw::NextHop handed_over;                 ///< what a root complex passed to another one
  tlm::tlm_extension_base* clone() const override { return new FabricRoute(*this); }
  void copy_from(const tlm::tlm_extension_base& o) override { *this = static_cast<const FabricRoute&>(o); }
};

}  // namespace p2psim
