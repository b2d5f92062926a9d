// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/pcie_bridge_module.h"

#include <p2psim/pcie_tlm.h>

#include <fmt/format.h>

#include <cstring>
#include <memory>
#include <optional>

#include "common/kernel_bug.h"

namespace p2psim {

using pcie::TlpExtension;

const char* PcieBridgeModule::malformed(const tlm::tlm_generic_payload& gp, tlm::tlm_response_status* status) {
  if (gp.get_command() != tlm::TLM_READ_COMMAND && gp.get_command() != tlm::TLM_WRITE_COMMAND) {
    *status = tlm::TLM_COMMAND_ERROR_RESPONSE;
    return "neither a read nor a write";
  }
  if (gp.get_byte_enable_ptr()) {
    *status = tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE;
    return "byte enables are not modelled (PCIe's first/last DW byte enables apply to one DW)";
  }
  if (gp.get_data_length() == 0 || gp.get_streaming_width() < gp.get_data_length()) {
    *status = tlm::TLM_BURST_ERROR_RESPONSE;
    return "a zero-length or streaming transfer";
  }
  return nullptr;
}

namespace {
sc_core::sc_time after_now(ps_t at) {
  const ps_t stamp = sc_core::sc_time_stamp().value();
  return sc_core::sc_time::from_value(at > stamp ? at - stamp : 0);
}
}  // namespace

PcieBridgeModule::PcieBridgeModule(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name), from_below("from_below"), to_below("to_below"), to_memory("to_memory") {
  from_below.register_b_transport(this, &PcieBridgeModule::below_transport);
}

void PcieBridgeModule::add_downlink(hw::DeviceId port, hw::DeviceId device, bool is_switch) {
  downlinks_.push_back({port, device, is_switch});
}

int PcieBridgeModule::index_of(hw::DeviceId port, hw::DeviceId device) const {
  for (size_t i = 0; i < downlinks_.size(); ++i)
    if (downlinks_[i].port == port && downlinks_[i].device == device) return static_cast<int>(i);
  return -1;
}

FabricRoute* PcieBridgeModule::route_of(tlm::tlm_generic_payload& gp) {
  FabricRoute* route = nullptr;
  gp.get_extension(route);
  return route;
}

void PcieBridgeModule::below_transport(int index, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  const Downlink& d = downlinks_.at(static_cast<size_t>(index));
  if (!d.is_switch) {
    from_endpoint(d, gp, delay);
    return;
  }
  if (!backend_ || !route_of(gp)) {  // a switch passes on only what the tree gave it
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  arrived_from_below(d.port, gp, delay);
}

void PcieBridgeModule::from_endpoint(const Downlink& d, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  TlpExtension local;
  TlpExtension* ext = nullptr;
  gp.get_extension(ext);
  std::optional<pcie::ScopedExtension<TlpExtension>> own;  // the endpoint attached none
  if (!ext) own.emplace(gp, ext = &local);
  ext->complete_ps = ext->completer_address = 0;
  ext->crossed_root_complex = ext->acs_redirected = ext->translated = ext->iommu_fault = false;
  ext->unsupported_request = false;
  ext->error.clear();
  tlm::tlm_response_status status = tlm::TLM_GENERIC_ERROR_RESPONSE;
  if (!backend_) {
    ext->error = "no execution is attached to the PCIe tree";
    gp.set_response_status(status);
    return;
  }
  if (const char* why = malformed(gp, &status)) {
    ext->error = why;
    gp.set_response_status(status);
    return;
  }
  ext->requester_id = backend_->requester_id(d.device);
  const uint64_t addr = gp.get_address();
  // One route per nesting level (a BAR target may start a DMA of its own),
  // reused: the route's vectors keep their capacity from one DMA to the next.
  if (depth_ == routes_.size()) routes_.push_back(std::make_unique<FabricRoute>());
  FabricRoute& route = *routes_[depth_];
  struct Nesting {
    size_t& depth;
    ~Nesting() { --depth; }
  } nested{++depth_};
  route.requester = d.device;
  route.issue = ext->issue_ps ? ext->issue_ps : (sc_core::sc_time_stamp() + delay).value();
  route.requested_address = addr;
  route.root_port = hw::kNoDevice;
  route.mmio = false;
  pcie::ScopedExtension<FabricRoute> with_route(gp, &route);
  const hw::NextHop first = backend_->fabric().begin_route(route.path, d.device, addr, gp.get_data_length());
  if (first.kind == hw::NextHop::Kind::kFail)
    throw ModelBug(fmt::format("{}: {}", backend_->device_name(d.device), route.path.error()));
  if (first.port != d.port)
    throw ModelBug(fmt::format("{} is bound below the wrong port of {}", backend_->device_name(d.device), name()));
  arrived_from_below(d.port, gp, delay);
  gp.set_address(addr);  // what the endpoint sent, whatever the tree made of it
}

void PcieBridgeModule::forward(const hw::NextHop& next, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = route_of(gp);
  using K = hw::NextHop::Kind;
  switch (next.kind) {
    case K::kFail: {
      TlpExtension* ext = nullptr;
      gp.get_extension(ext);
      if (ext) {
        ext->error = route->path.error();
        ext->completer_address = gp.get_address();  // where it got to (after the IOMMU)
      }
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    case K::kUp: send_up(gp, delay); return;
    case K::kDown: {
      const int i = index_of(next.port, next.device);
      if (i < 0) throw ModelBug(fmt::format("{}: no switch bound below port {}", name(), next.port));
      to_below[static_cast<unsigned>(i)]->b_transport(gp, delay);
      return;
    }
    case K::kEndpoint:
    case K::kMemory:
    case K::kMsi:
      if (route->mmio)
        deliver_mmio(next, gp, delay);
      else
        deliver(next, gp, delay);
      return;
  }
}

void PcieBridgeModule::deliver(const hw::NextHop& next, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = route_of(gp);
  TlpExtension* ext = nullptr;
  gp.get_extension(ext);
  const bool write = gp.is_write();
  const uint64_t addr = gp.get_address();
  const size_t len = gp.get_data_length();
  ext->completer_address = addr;
  hw::DmaRequest q;
  q.op = write ? hw::DmaOp::kWrite : hw::DmaOp::kRead;
  q.requester = route->requester;
  q.address = route->requested_address;  // the requester splits its TLPs by what it sends
  q.bytes = len;
  q.issue = route->issue;
  const hw::Transfer t = backend_->fabric().run_routed(q, route->path);
  if (!t.ok) {
    ext->error = t.error;
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  ext->complete_ps = t.end;
  ext->crossed_root_complex = t.crossed_root_complex;
  ext->acs_redirected = t.acs_redirected;
  // The completer moves the bytes now; the links said when they arrive.
  sc_core::sc_time at = after_now(t.end);
  gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  if (backend_->link_down(addr)) {
    // The TLPs die at the port above the dead link (timed as if they went
    // all the way): nothing moves, no oracle sees a landing.
    ext->unsupported_request = true;
    if (write) {
      gp.set_response_status(tlm::TLM_OK_RESPONSE);
      delay = at;
    } else {
      ext->error = fmt::format("Unsupported Request: the link to {:#x} is down", addr);
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    }
    return;
  }
  const int bar = next.kind == hw::NextHop::Kind::kEndpoint ? index_of(next.port, next.device) : -1;
  if (next.kind == hw::NextHop::Kind::kMsi) {  // the interrupt controller takes it (a 4-byte write)
    uint32_t data = 0;
    std::memcpy(&data, gp.get_data_ptr(), 4);
    backend_->raise_msi(route->requester, addr, data, t.end);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  } else if (bar >= 0) {
    gp.set_address(addr - backend_->bar_base(next.device));  // BAR-relative, as a router gives it
    to_below[static_cast<unsigned>(bar)]->b_transport(gp, at);  // its annotation is not used: the links time it
    gp.set_address(addr);
    if (gp.get_response_status() == tlm::TLM_INCOMPLETE_RESPONSE)
      throw ModelBug(fmt::format("{}: its BAR target left a DMA {} without a response status",
                                 backend_->device_name(next.device), write ? "write" : "read"));
  } else {  // host DRAM, or the BAR of an endpoint with no model
    to_memory->b_transport(gp, at);
  }
  if (gp.is_response_error()) {
    if (ext->error.empty())
      ext->error = bar >= 0 ? "the completer answered " + gp.get_response_string()
                            : fmt::format("{:#x} is neither DRAM nor a P2P BAR page", addr);
    return;
  }
  backend_->dma_done(route->requester, addr, len, t.end, write);
  delay = after_now(t.end);
}

void PcieBridgeModule::deliver_mmio(const hw::NextHop& next, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  const int bar = next.kind == hw::NextHop::Kind::kEndpoint ? index_of(next.port, next.device) : -1;
  if (bar < 0) {  // no model decodes it: an Unsupported Request, all ones on a read
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  const uint64_t addr = gp.get_address();
  gp.set_address(addr - backend_->bar_base(next.device));
  to_below[static_cast<unsigned>(bar)]->b_transport(gp, delay);
  gp.set_address(addr);
}

}  // namespace p2psim
