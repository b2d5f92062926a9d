// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <memory>
#include <vector>

#include "platform/tlm_backend.h"

namespace p2psim {

/**
 * class PcieBridgeModule - what a switch and a root complex share as
 * TLM-2.0 modules of the PCIe tree: downstream-facing ports (switch
 * downstream ports, root ports) with devices below them.
 *
 * Every device below a port binds here pairwise, so that one binding index
 * names one (port, device) pair (add_downlink() first, then both binds):
 *  - an endpoint model: its DMA initiator to @from_below, @to_below to its
 *    BAR target;
 *  - a switch: its `up` socket to @from_below, @to_below to its
 *    `from_above`.
 * A request from an endpoint starts its route here (the link above the
 * endpoint); each module then routes it one element further with the pure
 * fabric's steps (hw::PcieFabric::route_*) and passes it on by socket. The
 * module that hands it to its completer times the whole path it took
 * (hw::PcieFabric::run_routed: credits and read tags couple its hops TLP by
 * TLP, so one element cannot time its own hop alone) and moves the bytes.
 */
class PcieBridgeModule : public sc_core::sc_module {
 public:
  using BelowTarget = tlm_utils::multi_passthrough_target_socket<PcieBridgeModule, 32, tlm::tlm_base_protocol_types, 0,
                                                                 sc_core::SC_ZERO_OR_MORE_BOUND>;
  using BelowInitiator = tlm_utils::multi_passthrough_initiator_socket<PcieBridgeModule, 32,
                                                                       tlm::tlm_base_protocol_types, 0,
                                                                       sc_core::SC_ZERO_OR_MORE_BOUND>;
  BelowTarget from_below;
  BelowInitiator to_below;
  /// Completer for host DRAM and for BARs of endpoints with no model.
  tlm_utils::simple_initiator_socket<PcieBridgeModule> to_memory;

  /// The next pair of bindings is @device below @port (@is_switch: a
  /// switch's upstream port rather than an endpoint model).
  void add_downlink(hw::DeviceId port, hw::DeviceId device, bool is_switch);
  void attach(TlmBackend* backend) { backend_ = backend; }
  void detach() { backend_ = nullptr; }

 protected:
  explicit PcieBridgeModule(const sc_core::sc_module_name& name);
  /// A request came up the link into downstream-facing @port.
  virtual void arrived_from_below(hw::DeviceId port, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) = 0;
  /// A request this module routed upward (a switch's upstream port).
  virtual void send_up(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) = 0;
  /// Pass a routed request on where @next says, or end it there.
  void forward(const hw::NextHop& next, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  /// The route a request carries through the modules (nullptr: none, a
  /// payload that did not come from the tree: answered with an error).
  static FabricRoute* route_of(tlm::tlm_generic_payload& gp);
  /// Why @gp cannot be a PCIe memory request (and the status to answer), or nullptr.
  static const char* malformed(const tlm::tlm_generic_payload& gp, tlm::tlm_response_status* status);
  TlmBackend* backend_ = nullptr;

 private:
  struct Downlink {
    hw::DeviceId port, device;
    bool is_switch;
  };
  void below_transport(int index, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  /// An endpoint's request enters the tree: its extensions and route.
  void from_endpoint(const Downlink& d, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  /// Time the path and move the bytes at the completer.
  void deliver(const hw::NextHop& next, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  /// A CPU MMIO reached the endpoint below @next.port: no link timing.
  void deliver_mmio(const hw::NextHop& next, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  /// The binding index of @device below @port, or -1.
  int index_of(hw::DeviceId port, hw::DeviceId device) const;
  std::vector<Downlink> downlinks_;
  std::vector<std::unique_ptr<FabricRoute>> routes_;  ///< [depth_]: the request entering now
  size_t depth_ = 0;
};

}  // namespace p2psim
