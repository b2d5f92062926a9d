// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/cpu_mmio_module.h"

#include <fmt/format.h>
#include <p2psim/pcie_tlm.h>

#include <cstring>

#include "common/kernel_bug.h"
#include "engine/systemc_host.h"

namespace p2psim {

CpuMmioModule::CpuMmioModule(const sc_core::sc_module_name& name) : sc_core::sc_module(name), out("out") {}

std::optional<ps_t> CpuMmioModule::access(uint64_t addr, uint64_t* value, bool write, ps_t at,
                                          const std::string& device, unsigned host) {
  systemc_catch_up();  // the endpoint's b_transport reads SystemC's clock
  uint8_t data[8];
  std::memcpy(data, value, 8);
  tlm::tlm_generic_payload gp;
  pcie::prepare_request(gp, write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND, addr, data, 8);
  pcie::TlpExtension ext;  // requester 00:00.0: the root complex
  ext.issue_ps = at;
  const sc_core::sc_time stamp = sc_core::sc_time_stamp();
  const ps_t ahead = at > stamp.value() ? at - stamp.value() : 0;
  sc_core::sc_time delay = sc_core::sc_time::from_value(ahead);
  {
    pcie::ScopedExtension<pcie::TlpExtension> with(gp, &ext);
    out[host]->b_transport(gp, delay);
  }
  if (sc_core::sc_time_stamp() != stamp)
    throw ModelBug(fmt::format("{}: its BAR target called wait() on an MMIO {}; a BAR target must answer at once "
                               "with an annotated delay (include/p2psim/pcie_tlm.h)", device, write ? "write" : "read"));
  if (gp.get_response_status() == tlm::TLM_INCOMPLETE_RESPONSE)
    throw ModelBug(fmt::format("{}: its BAR target left an MMIO {} without a response status", device,
                               write ? "write" : "read"));
  if (gp.is_response_error()) return std::nullopt;
  if (!write) std::memcpy(value, data, 8);
  return delay.value() > ahead ? delay.value() - ahead : 0;
}

}  // namespace p2psim
