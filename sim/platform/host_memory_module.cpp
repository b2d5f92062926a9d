// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/host_memory_module.h"

namespace p2psim {

HostMemoryModule::HostMemoryModule(const sc_core::sc_module_name& name) : sc_core::sc_module(name), in("in") {
  in.register_b_transport(this, &HostMemoryModule::transport);
}

void HostMemoryModule::transport(int, tlm::tlm_generic_payload& gp, sc_core::sc_time&) {
  FabricRoute* route = nullptr;
  gp.get_extension(route);
  if (!backend_ || !route) {
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  const bool backed = backend_->move_bytes(route->requester, gp.get_address(), gp.get_data_ptr(), gp.get_data_length(),
                                           gp.is_write());
  gp.set_response_status(backed ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

}  // namespace p2psim
