// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/pcie_switch_module.h"

namespace p2psim {

PcieSwitchModule::PcieSwitchModule(const sc_core::sc_module_name& name, hw::DeviceId upstream_port)
    : PcieBridgeModule(name), up("up"), from_above("from_above"), usp_(upstream_port) {
  from_above.register_b_transport(this, &PcieSwitchModule::above_transport);
}

void PcieSwitchModule::arrived_from_below(hw::DeviceId port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  forward(backend_->fabric().route_switch_up(route_of(gp)->path, port), gp, delay);
}

void PcieSwitchModule::above_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = route_of(gp);
  if (!backend_ || !route) {  // only the port above sends here, with a route
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  forward(backend_->fabric().route_switch_down(route->path, usp_), gp, delay);
}

}  // namespace p2psim
