// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "platform/tlm_backend.h"

namespace p2psim {

/**
 * class IommuModule - the IOMMU at the root complex as a TLM-2.0 stage:
 * requests that reach the root complex enter at @in with an IOVA (or an
 * untranslated bus address), leave at @out with the physical address and
 * the IOTLB lookup's or page walk's time added (hw::Iommu underneath: the
 * requester's domain, IOTLB, page walkers, flush queues). A fault is logged
 * as an iommu_fault finding and answered with an address error; nothing
 * moves.
 */
class IommuModule : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<IommuModule> in;
  tlm_utils::simple_initiator_socket<IommuModule> out;

  explicit IommuModule(const sc_core::sc_module_name& name);
  void attach(TlmBackend* backend) { backend_ = backend; }
  void detach() { backend_ = nullptr; }

 private:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  TlmBackend* backend_ = nullptr;
};

}  // namespace p2psim
