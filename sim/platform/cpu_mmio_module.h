// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>

#include <optional>

#include "common/time.h"

namespace p2psim {

/**
 * class CpuMmioModule - the CPUs' uncached loads and stores to BARs
 * (readq/writeq), entering the PCIe tree at the root complex
 * (RootComplexModule::from_host).
 */
class CpuMmioModule : public sc_core::sc_module {
 public:
  /// To each root complex, in host-bridge order.
  tlm_utils::multi_passthrough_initiator_socket<CpuMmioModule> out;

  explicit CpuMmioModule(const sc_core::sc_module_name& name);
  /**
   * access() - an 8-byte MMIO read or write of bus address @addr, below
   * host bridge @host, at absolute time @at. Returns the time the device added, or nullopt when it
   * answered with an error (nobody decodes the address, or the device
   * refused it). Throws ModelBug when the device's BAR target called wait():
   * MMIO arrives inside the scheduler's step.
   */
  std::optional<ps_t> access(uint64_t addr, uint64_t* value, bool write, ps_t at, const std::string& device,
                             unsigned host);
};

}  // namespace p2psim
