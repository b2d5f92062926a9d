// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/root_complex_module.h"

#include <p2psim/pcie_tlm.h>

#include <fmt/format.h>

#include "common/kernel_bug.h"

namespace p2psim {

RootComplexModule::RootComplexModule(const sc_core::sc_module_name& name, hw::HostBridgeId host)
    : PcieBridgeModule(name),
      to_iommu("to_iommu"),
      from_iommu("from_iommu"),
      from_host("from_host"),
      to_peers("to_peers"),
      from_peers("from_peers"),
      host_(host) {
  from_iommu.register_b_transport(this, &RootComplexModule::after_iommu);
  from_host.register_b_transport(this, &RootComplexModule::host_transport);
  from_peers.register_b_transport(this, &RootComplexModule::peer_transport);
}

void RootComplexModule::add_peer(RootComplexModule& other) {
  peer_index_[other.host()] = static_cast<unsigned>(peer_index_.size());
  to_peers.bind(other.from_peers);
}

void RootComplexModule::route_here(hw::DeviceId port, uint64_t addr, tlm::tlm_generic_payload& gp,
                                   sc_core::sc_time& delay) {
  FabricRoute* route = route_of(gp);
  const hw::NextHop next = backend_->fabric().route_root_complex(route->path, port, addr);
  const bool down = next.kind == hw::NextHop::Kind::kDown || next.kind == hw::NextHop::Kind::kEndpoint;
  if (down && next.host != host_) {  // peer to peer into another host bridge's hierarchy
    route->handed_over = next;
    to_peers[peer_index_.at(next.host)]->b_transport(gp, delay);
    return;
  }
  forward(next, gp, delay);
}

void RootComplexModule::peer_transport(int, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = route_of(gp);
  if (!backend_ || !route || route->handed_over.host != host_) {  // only a peer root complex sends here
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  forward(route->handed_over, gp, delay);
}

void RootComplexModule::arrived_from_below(hw::DeviceId port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = route_of(gp);
  route->root_port = port;
  const uint64_t addr = gp.get_address();
  if (backend_->is_msi(addr)) {  // interrupts bypass DMA remapping
    if (!gp.is_write() || gp.get_data_length() != 4) {
      pcie::TlpExtension* ext = nullptr;
      gp.get_extension(ext);
      ext->error = "the MSI window takes 4-byte writes only";
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
  } else if (backend_->iommu_enabled()) {
    to_iommu->b_transport(gp, delay);  // it comes back translated at from_iommu
    return;
  }
  route_here(port, addr, gp, delay);
}

void RootComplexModule::after_iommu(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = route_of(gp);
  if (!backend_ || !route) {  // only the IOMMU calls back in, with a route
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  route_here(route->root_port, gp.get_address(), gp, delay);
}

void RootComplexModule::send_up(tlm::tlm_generic_payload&, sc_core::sc_time&) {
  throw ModelBug(fmt::format("{}: a request routed above the root complex", name()));
}

void RootComplexModule::host_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  tlm::tlm_response_status status = tlm::TLM_GENERIC_ERROR_RESPONSE;
  if (!backend_ || malformed(gp, &status)) {
    gp.set_response_status(status);
    return;
  }
  FabricRoute& route = mmio_route_;
  route.requester = hw::kNoDevice;
  route.mmio = true;
  route.issue = sc_core::sc_time_stamp().value();
  route.requested_address = gp.get_address();
  pcie::ScopedExtension<FabricRoute> with_route(gp, &route);
  forward(backend_->fabric().begin_mmio(route.path, host_, gp.get_address()), gp, delay);
}

}  // namespace p2psim
