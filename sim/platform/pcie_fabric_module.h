// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "platform/tlm_backend.h"

namespace p2psim {

/**
 * class PcieFabricModule - the PCIe tree (switches, root ports, the root
 * complex) as one TLM-2.0 interconnect. Endpoint models bind their DMA
 * initiator sockets to @from_endpoints and their BAR target sockets to
 * @to_bars, both in fabric-port order (the scenario's order of endpoints
 * with a model). A request is routed as the hardware would:
 *  - if it reaches the root complex with the IOMMU on, through @to_iommu,
 *    which translates it and hands it back on @from_iommu;
 *  - then to its completer: @to_memory (host DRAM, and BARs of endpoints
 *    with no model of their own) or the owning endpoint's BAR socket.
 * Its timing is the pure PcieFabric's (links, switches, credits, tags, the
 * root complex), computed when the completer is known; the delay returned
 * is the transfer's end. CPU MMIO enters at @from_host and goes to the BAR
 * owning the address (its cost is the CPU's: kern::Costs::mmio_*).
 */
class PcieFabricModule : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<PcieFabricModule> from_endpoints;
  tlm_utils::multi_passthrough_initiator_socket<PcieFabricModule> to_bars;
  tlm_utils::simple_initiator_socket<PcieFabricModule> to_iommu;
  tlm_utils::simple_target_socket<PcieFabricModule> from_iommu;
  tlm_utils::simple_initiator_socket<PcieFabricModule> to_memory;
  tlm_utils::simple_target_socket<PcieFabricModule> from_host;

  explicit PcieFabricModule(const sc_core::sc_module_name& name);
  void attach(TlmBackend* backend) { backend_ = backend; }
  void detach() { backend_ = nullptr; }

 private:
  void endpoint_transport(int port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  void after_iommu(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  void host_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  /// Time the transfer on the links and move its bytes at the completer.
  void complete(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  TlmBackend* backend_ = nullptr;
};

}  // namespace p2psim
