// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/pcie_fabric_module.h"

#include <p2psim/pcie_tlm.h>

#include <fmt/format.h>

#include <cstring>
#include <optional>

#include "common/kernel_bug.h"

namespace p2psim {

using pcie::TlpExtension;

namespace {
/// Why a payload cannot be a PCIe memory request, or nullptr.
const char* malformed(const tlm::tlm_generic_payload& gp, tlm::tlm_response_status* status) {
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
}  // namespace

PcieFabricModule::PcieFabricModule(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name),
      from_endpoints("from_endpoints"),
      to_bars("to_bars"),
      to_iommu("to_iommu"),
      from_iommu("from_iommu"),
      to_memory("to_memory"),
      from_host("from_host") {
  from_endpoints.register_b_transport(this, &PcieFabricModule::endpoint_transport);
  from_iommu.register_b_transport(this, &PcieFabricModule::after_iommu);
  from_host.register_b_transport(this, &PcieFabricModule::host_transport);
}

void PcieFabricModule::endpoint_transport(int port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
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
    ext->error = "no execution is attached to the fabric";
    gp.set_response_status(status);
    return;
  }
  if (const char* why = malformed(gp, &status)) {
    ext->error = why;
    gp.set_response_status(status);
    return;
  }
  const hw::DeviceId requester = backend_->port_device(port);
  ext->requester_id = backend_->requester_id(requester);
  FabricRoute route;
  route.requester = requester;
  route.issue = ext->issue_ps ? ext->issue_ps : (sc_core::sc_time_stamp() + delay).value();
  pcie::ScopedExtension<FabricRoute> with_route(gp, &route);
  const uint64_t addr = gp.get_address();
  const bool msi = backend_->is_msi(addr);
  if (msi && (!gp.is_write() || gp.get_data_length() != 4)) {
    ext->error = "the MSI window takes 4-byte writes only";
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
  } else if (!msi && backend_->passes_iommu(requester, addr)) {
    to_iommu->b_transport(gp, delay);  // interrupts bypass DMA remapping
  } else {
    complete(gp, delay);
  }
  gp.set_address(addr);  // what the endpoint sent, whatever the IOMMU made of it
}

void PcieFabricModule::after_iommu(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) { complete(gp, delay); }

void PcieFabricModule::complete(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = nullptr;
  TlpExtension* ext = nullptr;
  gp.get_extension(route);
  gp.get_extension(ext);
  if (!route || !ext) {  // only the IOMMU module calls back in, with both
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  const bool write = gp.is_write();
  const uint64_t addr = gp.get_address();
  const size_t len = gp.get_data_length();
  ext->completer_address = addr;
  hw::PcieFabric& f = backend_->fabric();
  const hw::Transfer t = write ? f.dma_write(route->requester, addr, len, route->issue)
                               : f.dma_read(route->requester, addr, len, route->issue);
  if (!t.ok) {
    ext->error = t.error;
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  ext->complete_ps = t.end;
  ext->crossed_root_complex = t.crossed_root_complex;
  ext->acs_redirected = t.acs_redirected;
  // The completer moves the bytes now; the links said when they arrive.
  const ps_t stamp = sc_core::sc_time_stamp().value();
  sc_core::sc_time at = sc_core::sc_time::from_value(t.end > stamp ? t.end - stamp : 0);
  gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  if (backend_->link_down(addr)) {
    // The TLPs die at the port above the dead link (timed as if they went
    // all the way): nothing moves, no oracle sees a landing.
    ext->unsupported_request = true;
    if (write) {
      gp.set_response_status(tlm::TLM_OK_RESPONSE);
      delay = sc_core::sc_time::from_value(t.end > stamp ? t.end - stamp : 0);
    } else {
      ext->error = fmt::format("Unsupported Request: the link to {:#x} is down", addr);
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    }
    return;
  }
  const int port = backend_->bar_port(addr);
  if (backend_->is_msi(addr)) {  // the interrupt controller takes it
    uint32_t data = 0;
    std::memcpy(&data, gp.get_data_ptr(), 4);
    backend_->raise_msi(route->requester, addr, data, t.end);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  } else if (port >= 0) {
    gp.set_address(addr - backend_->bar_base(port));  // BAR-relative, as a router gives it
    to_bars[static_cast<unsigned>(port)]->b_transport(gp, at);  // its annotation is not used: the links time it
    gp.set_address(addr);
    if (gp.get_response_status() == tlm::TLM_INCOMPLETE_RESPONSE)
      throw ModelBug(fmt::format("{}: its BAR target left a DMA {} without a response status",
                                 backend_->device_name(backend_->port_device(port)), write ? "write" : "read"));
  } else {
    to_memory->b_transport(gp, at);
  }
  if (gp.is_response_error()) {
    if (ext->error.empty())
      ext->error = port >= 0 ? "the completer answered " + gp.get_response_string()
                             : fmt::format("{:#x} is neither DRAM nor a P2P BAR page", addr);
    return;
  }
  backend_->dma_done(route->requester, addr, len, t.end, write);
  delay = sc_core::sc_time::from_value(t.end > stamp ? t.end - stamp : 0);
}

void PcieFabricModule::host_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  tlm::tlm_response_status status = tlm::TLM_GENERIC_ERROR_RESPONSE;
  if (!backend_ || malformed(gp, &status)) {
    gp.set_response_status(status);
    return;
  }
  const uint64_t addr = gp.get_address();
  const int port = backend_->bar_port(addr);
  if (port < 0) {  // no model decodes it: an Unsupported Request, all ones on a read
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  gp.set_address(addr - backend_->bar_base(port));
  to_bars[static_cast<unsigned>(port)]->b_transport(gp, delay);
  gp.set_address(addr);
}

}  // namespace p2psim
