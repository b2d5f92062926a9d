// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "platform/tlm_backend.h"

namespace p2psim {

/**
 * class HostMemoryModule - the completer for memory the platform backs:
 * host DRAM, and the BARs of endpoints with no model of their own (p2pmem
 * cards, GPUs), whose pages the kernel model holds.
 */
class HostMemoryModule : public sc_core::sc_module {
 public:
  /// From every root complex and switch (BARs with no model sit anywhere).
  tlm_utils::multi_passthrough_target_socket<HostMemoryModule> in;

  explicit HostMemoryModule(const sc_core::sc_module_name& name);
  void attach(TlmBackend* backend) { backend_ = backend; }
  void detach() { backend_ = nullptr; }

 private:
  void transport(int from, tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  TlmBackend* backend_ = nullptr;
};

}  // namespace p2psim
