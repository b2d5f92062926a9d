// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "platform/pcie_bridge_module.h"

namespace p2psim {

/**
 * class PcieSwitchModule - one PCIe switch: its upstream port (@up to the
 * port above, @from_above from it) and its downstream ports (the devices
 * below them bind to PcieBridgeModule's sockets). A request that comes up
 * into a downstream port goes to the peer port whose window claims it, or
 * up when none does or the ingress port's ACS redirects it; one that comes
 * down goes to the port whose window claims it (hw::PcieFabric::
 * route_switch_up / route_switch_down: address windows, ACS, cut-through
 * latency).
 */
class PcieSwitchModule : public PcieBridgeModule {
 public:
  tlm_utils::simple_initiator_socket<PcieSwitchModule> up;
  tlm_utils::simple_target_socket<PcieSwitchModule> from_above;

  /// @upstream_port: the switch's upstream port in the topology.
  PcieSwitchModule(const sc_core::sc_module_name& name, hw::DeviceId upstream_port);
  hw::DeviceId upstream_port() const { return usp_; }

 private:
  void arrived_from_below(hw::DeviceId port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  void send_up(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override { up->b_transport(gp, delay); }
  void above_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  hw::DeviceId usp_;
};

}  // namespace p2psim
