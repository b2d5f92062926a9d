// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <string>

#include "engine/systemc_host.h"
#include "hw/nvme_controller.h"
#include "platform/tlm_backend.h"

namespace p2psim {

/**
 * class NvmeModule - the SystemC module around an NVMe controller core.
 * Elaborated once per process (one per NVMe endpoint of the scenario); each
 * execution attaches its own controller. Its method process runs the core's events
 * at their simulated times (fetching SQEs, DMA, flash, completions) and
 * sleeps until the next one or until a doorbell write kicks it.
 *
 * On the PCIe tree it is an endpoint like any other: the controller's DMA
 * leaves through @dma (into the switch or root complex above it), and peers' DMA into its CMB
 * arrives at @bar. The driver's register writes reach the controller
 * directly (NvmeController::reg_write), not through the fabric.
 */
class NvmeModule : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(NvmeModule);
  explicit NvmeModule(const sc_core::sc_module_name& name);

  tlm_utils::simple_initiator_socket<NvmeModule> dma;
  tlm_utils::simple_target_socket<NvmeModule> bar;

  /// @bar_base: where the CMB's BAR sits (peers' DMA arrives BAR-relative).
  void attach(hw::NvmeController* ctrl, TlmBackend* backend, uint64_t bar_base);
  void detach();
  /// An MMIO write changed what the controller has to do.
  void kick() {
    systemc_catch_up();  // the driver rings from the scheduler thread, maybe ahead of SystemC
    kick_.notify(sc_core::SC_ZERO_TIME);
  }
  /**
   * transfer() - one DMA of the controller through @dma, issued at @issue
   * (absolute ps; the controller runs its events lazily, so its time may lag
   * SystemC's). Returns when it ended; an IOMMU fault (already logged) ends
   * it at @issue with no data. A transfer the fabric cannot route is a
   * model bug: the driver only programs addresses it mapped.
   */
  ps_t transfer(ps_t issue, uint64_t addr, uint8_t* data, size_t len, bool write, const std::string& who);

 private:
  void run();
  void bar_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  hw::NvmeController* ctrl_ = nullptr;
  TlmBackend* backend_ = nullptr;
  uint64_t bar_base_ = 0;
  sc_core::sc_event kick_;
  tlm::tlm_generic_payload gp_;  ///< transfer()'s, reused
};

}  // namespace p2psim
