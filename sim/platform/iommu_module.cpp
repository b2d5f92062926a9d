// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/iommu_module.h"

#include <fmt/format.h>
#include <p2psim/pcie_tlm.h>

namespace p2psim {

namespace {
const char* fault_text(hw::FaultReason r) {
  switch (r) {
    case hw::FaultReason::blocked: return "domain blocks DMA";
    case hw::FaultReason::not_present: return "no I/O page table entry";
    case hw::FaultReason::no_read: return "not readable";
    case hw::FaultReason::no_write: return "not writable";
    default: return "fault";
  }
}
}  // namespace

IommuModule::IommuModule(const sc_core::sc_module_name& name) : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &IommuModule::transport);
}

void IommuModule::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  FabricRoute* route = nullptr;
  pcie::TlpExtension* ext = nullptr;
  gp.get_extension(route);
  gp.get_extension(ext);
  if (!backend_ || !route || !ext) {  // only the fabric sends requests here
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  const bool write = gp.is_write();
  const uint64_t iova = gp.get_address();
  const hw::Translation tr = backend_->iommu().translate(route->requester, iova, gp.get_data_length(), write, route->issue);
  if (!tr.ok) {
    const std::string& who = backend_->device_name(route->requester);
    backend_->report(route->requester, FindingKind::iommu_fault,
                     fmt::format("{} DMA {} at {:#x} ({} bytes) faulted in the IOMMU at {:#x}: {}", who,
                                 write ? "write" : "read", iova, gp.get_data_length(), tr.fault_iova,
                                 fault_text(tr.fault_reason)),
                     route->issue);
    ext->iommu_fault = true;
    ext->error = fmt::format("IOMMU fault at {:#x}: {}", tr.fault_iova, fault_text(tr.fault_reason));
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  gp.set_address(tr.phys);
  route->issue += tr.cost_ps;
  ext->translated = true;
  out->b_transport(gp, delay);
  gp.set_address(iova);  // an interconnect gives the initiator its address back
}

}  // namespace p2psim
