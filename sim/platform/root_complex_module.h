// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <map>

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
 * limits, or its refusal); a root port of another host bridge is reached
 * through that host bridge's root complex (@to_peers, @from_peers: the link
 * between the sockets). CPU MMIO enters at @from_host and goes down to the
 * BAR that claims it.
 */
class RootComplexModule : public PcieBridgeModule {
 public:
  tlm_utils::simple_initiator_socket<RootComplexModule> to_iommu;
  tlm_utils::simple_target_socket<RootComplexModule> from_iommu;
  tlm_utils::simple_target_socket<RootComplexModule> from_host;
  using PeerInitiator = tlm_utils::multi_passthrough_initiator_socket<RootComplexModule, 32, tlm::tlm_base_protocol_types,
                                                                      0, sc_core::SC_ZERO_OR_MORE_BOUND>;
  using PeerTarget = tlm_utils::multi_passthrough_target_socket<RootComplexModule, 32, tlm::tlm_base_protocol_types, 0,
                                                                sc_core::SC_ZERO_OR_MORE_BOUND>;
  PeerInitiator to_peers;
  PeerTarget from_peers;

  RootComplexModule(const sc_core::sc_module_name& name, hw::HostBridgeId host);
  hw::HostBridgeId host() const { return host_; }
  /// Bind @to_peers to @other's @from_peers: peer traffic for its root ports goes there.
  void add_peer(RootComplexModule& other);

 private:
  void arrived_from_below(hw::DeviceId port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  void send_up(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  void after_iommu(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  void host_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  void peer_transport(int from, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  /// Route @addr (as the IOMMU left it) from root port @port, and pass it on.
  void route_here(hw::DeviceId port, uint64_t addr, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  hw::HostBridgeId host_;
  std::map<hw::HostBridgeId, unsigned> peer_index_;  ///< @to_peers binding of each other host bridge
  FabricRoute mmio_route_;  ///< CPU MMIO's, reused (an MMIO never nests)
};

}  // namespace p2psim
