// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/nvme_module.h"

#include <fmt/format.h>
#include <p2psim/pcie_tlm.h>

#include "common/kernel_bug.h"

namespace p2psim {

NvmeModule::NvmeModule(const sc_core::sc_module_name& name)
    : sc_core::sc_module(name), dma("dma"), bar("bar") {
  SC_METHOD(run);
  bar.register_b_transport(this, &NvmeModule::bar_transport);
}

void NvmeModule::attach(hw::NvmeController* ctrl, TlmBackend* backend, uint64_t bar_base) {
  ctrl_ = ctrl;
  backend_ = backend;
  bar_base_ = bar_base;
  kick();
}

void NvmeModule::detach() {
  ctrl_ = nullptr;
  backend_ = nullptr;
  kick();  // leave any timed wait so nothing of this execution stays pending
}

ps_t NvmeModule::transfer(ps_t issue, uint64_t addr, uint8_t* data, size_t len, bool write, const std::string& who) {
  // One payload for every DMA (a fresh one allocates its extension array):
  // transfers of one controller never nest, and the extensions are scoped.
  tlm::tlm_generic_payload& gp = gp_;
  if (gp.get_extension<pcie::TlpExtension>())
    throw ModelBug(fmt::format("{}: a DMA started inside another of the same controller", who));
  pcie::prepare_request(gp, write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, addr, data,
                        static_cast<unsigned>(len));
  pcie::TlpExtension ext;
  ext.issue_ps = issue;
  {
    pcie::ScopedExtension<pcie::TlpExtension> with(gp, &ext);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    dma->b_transport(gp, delay);
  }
  if (ext.iommu_fault) return issue;
  if (ext.unsupported_request) {  // the target's link is down
    if (!write) ctrl_->completer_error();
    return ext.complete_ps ? ext.complete_ps : issue;
  }
  if (gp.is_response_error())
    throw ModelBug(fmt::format("{}: DMA {} of {:#x} failed in the fabric: {}", who, write ? "write" : "read",
                               ext.translated ? ext.completer_address : addr, ext.error));
  return ext.complete_ps;
}

void NvmeModule::bar_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time&) {
  // A peer's DMA into the CMB: its pages are the kernel's P2P pages.
  FabricRoute* route = nullptr;
  gp.get_extension(route);
  if (!backend_ || !route || route->mmio) {  // CPU MMIO to the registers goes through the driver, not here
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  const bool backed = backend_->move_bytes(route->requester, bar_base_ + gp.get_address(), gp.get_data_ptr(), gp.get_data_length(),
                                           gp.is_write());
  gp.set_response_status(backed ? tlm::TLM_OK_RESPONSE : tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

// A method process, not a thread: it never blocks (the fabric, the IOMMU
// and every BAR target answer at once), so it needs no stack of its own and
// no context switch per wake-up. It runs every event that is due, then asks
// to run again at the next one or at a kick, whichever comes first.
void NvmeModule::run() {
  for (;;) {
    if (!ctrl_) {
      next_trigger(kick_);
      return;
    }
    const ps_t now = sc_core::sc_time_stamp().value();
    const ps_t t = ctrl_->next_event_time();
    if (t == hw::kNoEvent) {
      next_trigger(kick_);
      return;
    }
    if (t > now) {
      next_trigger(sc_core::sc_time::from_value(t - now), kick_);
      return;  // look again then: a kick may have brought an earlier event
    }
    ctrl_->advance(now);
  }
}

}  // namespace p2psim
