// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "platform/pcie_bridge_module.h"

namespace p2psim {

/**
 * class RootComplexModule - one host bridge's root complex: its root ports
 * (the devices below them bind to PcieBridgeModule's sockets), its IOMMU
 * (@to_iommu, and back at @from_iommu) and host memory
 * (PcieBridgeModule::to_memory). A request that comes up into a root port
 * is an MSI (the interrupt window: no translation), or passes the IOMMU
 * when it is on, then goes to DRAM or peer to peer down the root port whose
 * window claims it (hw::PcieFabric::route_root_complex: the RC's forwarding
 * limits, or its refusal). CPU MMIO enters at @from_host and goes down to
 * the BAR that claims it.
 */
class RootComplexModule : public PcieBridgeModule {
 public:
  tlm_utils::simple_initiator_socket<RootComplexModule> to_iommu;
  tlm_utils::simple_target_socket<RootComplexModule> from_iommu;
  tlm_utils::simple_target_socket<RootComplexModule> from_host;

  RootComplexModule(const sc_core::sc_module_name& name, hw::HostBridgeId host);
  hw::HostBridgeId host() const { return host_; }

 private:
  void arrived_from_below(hw::DeviceId port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  void send_up(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  void after_iommu(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  void host_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  hw::HostBridgeId host_;
};

}  // namespace p2psim
