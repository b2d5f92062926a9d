// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The PCIe fabric's TLM-2.0 boundary: what a third-party SystemC endpoint
// model (an accelerator, a NIC) needs to sit on the simulated PCIe tree.
//
// An endpoint is a SystemC module with two TLM-2.0 sockets of the standard
// base protocol (tlm_generic_payload, blocking transport, loosely timed):
//  - an initiator socket for the DMA it masters: addresses are bus
//    addresses (or IOVAs when the IOMMU translates), the fabric routes them
//    through switches, the root complex and the IOMMU to host memory or a
//    peer's BAR, moves the bytes, and returns with the transfer's time
//    annotated in the delay;
//  - a target socket for its BAR 0: the CPU's MMIO and peers' DMA arrive there.
// A TlpExtension on the payload carries what PCIe adds to a memory request.
// docs/tlm-endpoints.md shows a whole model and how a scenario attaches it.
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <systemc>
#include <tlm>

namespace p2psim::pcie {

/**
 * struct TlpExtension - the PCIe fields of a memory request TLP (PCIe 5.0
 * §2.2). Optional on a payload an endpoint initiates: attach one (with
 * ScopedExtension) to see the results below; without one the fabric uses
 * its own for the call and removes it before returning.
 * @requester_id: bus/device/function of the requester (set by the fabric).
 * @tag:         the request's tag (informative: the fabric tracks tags itself).
 * @attributes:  relaxed ordering, no snoop, ID-based ordering (carried, not
 *               interpreted: the fabric keeps one FIFO per link direction).
 * @traffic_class: TC 0-7 (carried; one virtual channel is modelled).
 * @issue_ps:    when the request left the requester, absolute simulated ps;
 *               0: sc_time_stamp() + the delay argument (the TLM convention).
 *               Set it when your model runs ahead of or behind SystemC time;
 *               the delay returned is then measured from sc_time_stamp().
 * On return:
 * @complete_ps: writes: the last byte arrived at the completer; reads: the
 *               last completion arrived back (the same instant the delay
 *               annotates, unclamped).
 * @crossed_root_complex, @acs_redirected: how the fabric routed it.
 * @translated: the IOMMU translated the address on the way.
 * @completer_address: the physical address it reached (after translation;
 *               the payload's own address is restored to what you sent).
 * @iommu_fault: the IOMMU refused it (TLM_ADDRESS_ERROR_RESPONSE; the fault
 *               is logged as an iommu_fault finding; no data moved).
 * @unsupported_request: the target's link is down (surprise removal): a
 *               read gets an Unsupported Request completion
 *               (TLM_ADDRESS_ERROR_RESPONSE, no data); a write, being posted,
 *               is dropped where the link ends and the requester sees
 *               TLM_OK_RESPONSE, as on the wire.
 * @error:       why it failed, when the response status is an error.
 */
struct TlpExtension : tlm::tlm_extension<TlpExtension> {
  enum Attr : uint8_t { kRelaxedOrdering = 1, kNoSnoop = 2, kIdBasedOrdering = 4 };
  uint16_t requester_id = 0;
  uint16_t tag = 0;
  uint8_t attributes = 0;
  uint8_t traffic_class = 0;
  uint64_t issue_ps = 0;

  uint64_t complete_ps = 0;
  bool crossed_root_complex = false;
  bool acs_redirected = false;
  bool translated = false;
  uint64_t completer_address = 0;
  bool iommu_fault = false;
  bool unsupported_request = false;
  std::string error;

  tlm::tlm_extension_base* clone() const override { return new TlpExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const TlpExtension&>(other);
  }
};

/**
 * class ScopedExtension - sets @ext on @gp for the lifetime of this object
 * and clears it after, also when b_transport throws: an extension that
 * lives on the stack must not stay on a payload that outlives it (the
 * payload's destructor would free() it).
 */
template <class T>
class ScopedExtension {
 public:
  ScopedExtension(tlm::tlm_generic_payload& gp, T* ext) : gp_(gp), ext_(ext) { gp_.set_extension(ext_); }
  ~ScopedExtension() { gp_.clear_extension(ext_); }
  ScopedExtension(const ScopedExtension&) = delete;
  ScopedExtension& operator=(const ScopedExtension&) = delete;

 private:
  tlm::tlm_generic_payload& gp_;
  T* ext_;
};

/// @gp made ready for one memory request: @cmd of @len bytes at bus address
/// @addr, from or into @data; no byte enables, not streaming, no DMI, status
/// incomplete (extensions are left as they are).
inline void prepare_request(tlm::tlm_generic_payload& gp, tlm::tlm_command cmd, uint64_t addr, uint8_t* data,
                            unsigned len) {
  gp.set_command(cmd);
  gp.set_address(addr);
  gp.set_data_ptr(data);
  gp.set_data_length(len);
  gp.set_streaming_width(len);
  gp.set_byte_enable_ptr(nullptr);
  gp.set_dmi_allowed(false);
  gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
}

/// What a scenario's `params:` map gives an endpoint: keys to strings as
/// written (numbers unparsed; the model reads what it knows).
using EndpointParams = std::map<std::string, std::string>;

/**
 * class ExternalEndpoint - the face an endpoint model shows the simulator.
 * Created during elaboration (once per process), before sc_start(); the
 * simulator binds dma_socket() to the fabric and the fabric to bar_socket().
 *
 * Rules the simulator relies on:
 *  - reset() returns the model to its power-on state; it is called before
 *    every execution, as one process may run many (a fuzz campaign).
 *  - bar_socket()'s b_transport must not wait(): MMIO from a simulated CPU
 *    arrives inside the scheduler's step; answer with an annotated delay.
 *    Its DMA thread may wait() as any SC_THREAD does.
 *  - Determinism: no wall clock, no unseeded randomness.
 */
class ExternalEndpoint {
 public:
  virtual ~ExternalEndpoint() = default;
  virtual sc_core::sc_module& module() = 0;
  virtual tlm::tlm_initiator_socket<>& dma_socket() = 0;
  virtual tlm::tlm_target_socket<>& bar_socket() = 0;
  virtual void reset() = 0;
};

/// Integer parameter @key of @params (decimal or 0x hex), @dflt when absent.
/// Throws std::invalid_argument "MODEL: KEY must be an integer from LO to
/// HI, got 'V'" for anything else: the run reports it at the endpoint.
inline uint64_t integer_param(const EndpointParams& params, const char* model, const char* key, uint64_t dflt,
                              uint64_t lo, uint64_t hi) {
  auto it = params.find(key);
  if (it == params.end()) return dflt;
  size_t used = 0;
  uint64_t v = 0;
  try {
    v = std::stoull(it->second, &used, 0);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || v < lo || v > hi)
    throw std::invalid_argument(std::string(model) + ": " + key + " must be an integer from " + std::to_string(lo) +
                                " to " + std::to_string(hi) + ", got '" + it->second + "'");
  return v;
}

/// A model factory: @instance is the endpoint's name in the scenario (use it
/// as the module name); @params its `params:`. Throw std::invalid_argument
/// with a sentence for a parameter it cannot take: the scenario loader
/// reports it at the endpoint, and the run exits 2.
using EndpointFactory = std::unique_ptr<ExternalEndpoint> (*)(const std::string& instance,
                                                              const EndpointParams& params);

/// Bumped when this header changes incompatibly.
constexpr int kEndpointAbiVersion = 1;

}  // namespace p2psim::pcie

/**
 * A shared library named by a scenario's `library:` defines, with this
 * macro, the C entry points the simulator looks up with dlsym():
 *   P2PSIM_ENDPOINT_LIBRARY(my_factory)
 * where my_factory(model, instance, params) returns the model named @model,
 * or nullptr when the library has no model of that name.
 */
#define P2PSIM_ENDPOINT_LIBRARY(lookup)                                                            \
  extern "C" int p2psim_endpoint_abi_version() { return ::p2psim::pcie::kEndpointAbiVersion; }    \
  extern "C" ::p2psim::pcie::ExternalEndpoint* p2psim_create_endpoint(                             \
      const std::string& model, const std::string& instance, const ::p2psim::pcie::EndpointParams& params) { \
    return lookup(model, instance, params).release();                                              \
  }
