// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>

#include "hw/nvme_controller.h"

namespace p2psim {

/**
 * class NvmeModule - the SystemC module around an NVMe controller core.
 * Elaborated once per process (one per NVMe endpoint of the scenario); each
 * execution attaches its own controller. Its thread runs the core's events
 * at their simulated times (fetching SQEs, DMA, flash, completions) and
 * sleeps until the next one or until a doorbell write kicks it.
 */
class NvmeModule : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(NvmeModule);
  explicit NvmeModule(const sc_core::sc_module_name& name);

  void attach(hw::NvmeController* ctrl);
  void detach();
  /// An MMIO write changed what the controller has to do.
  void kick() { kick_.notify(sc_core::SC_ZERO_TIME); }

 private:
  void run();
  hw::NvmeController* ctrl_ = nullptr;
  sc_core::sc_event kick_;
};

}  // namespace p2psim
