// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/endpoints/copy_engine.h"

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace p2psim::examples {

namespace {

class CopyEngine : public sc_core::sc_module, public pcie::ExternalEndpoint {
 public:
  SC_HAS_PROCESS(CopyEngine);
  CopyEngine(sc_core::sc_module_name name, const pcie::EndpointParams& params)
      : sc_core::sc_module(name), dma_("dma"), bar_("bar") {
    for (const auto& [k, v] : params)
      if (k != "chunk" && k != "mmio_latency")
        throw std::invalid_argument("copy_engine: unknown parameter '" + k + "' (it takes chunk, mmio_latency)");
    chunk_ = pcie::integer_param(params, "copy_engine", "chunk", 4096, 1, 1 << 20);
    const uint64_t latency_ns = pcie::integer_param(params, "copy_engine", "mmio_latency", 0, 0, 1000000);
    mmio_latency_ = sc_core::sc_time(static_cast<double>(latency_ns), sc_core::SC_NS);
    bar_.register_b_transport(this, &CopyEngine::bar_transport);
    SC_THREAD(engine);
  }

  sc_core::sc_module& module() override { return *this; }
  tlm::tlm_initiator_socket<>& dma_socket() override { return dma_; }
  tlm::tlm_target_socket<>& bar_socket() override { return bar_; }
  void reset() override {
    std::memset(regs_, 0, sizeof regs_);
    ++generation_;  // a copy of the previous execution stops at its next step
    start_.cancel();
    start_pending_ = false;
    tag_ = 0;
  }

 private:
  enum Reg { kSrc, kDst, kLen, kCtrl, kStatus, kDone, kMsiAddr, kMsiData, kRegs };
  enum Status : uint64_t { kIdle, kBusy, kFinished, kError };

  void bar_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const uint64_t off = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (off % 8 || len != 8 || off / 8 >= kRegs || gp.get_byte_enable_ptr()) {
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    uint64_t& r = regs_[off / 8];
    if (gp.is_read()) {
      std::memcpy(gp.get_data_ptr(), &r, 8);
    } else {
      uint64_t v;
      std::memcpy(&v, gp.get_data_ptr(), 8);
      if (off / 8 == kCtrl) {
        if ((v & 1) && regs_[kStatus] != kBusy) {
          regs_[kStatus] = kBusy;
          regs_[kDone] = 0;
          // The write lands when the fabric says; the engine may still be
          // leaving a copy an earlier execution began, so the start is a
          // flag as well as an event.
          start_pending_ = true;
          start_at_ = sc_core::sc_time_stamp() + delay + mmio_latency_;
          start_.notify(delay + mmio_latency_);
        }
      } else if (off / 8 != kStatus && off / 8 != kDone) {
        r = v;
      }  // STATUS and DONE are read-only
    }
    delay += mmio_latency_;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  /// One DMA of the engine; false on an error response.
  bool dma(tlm::tlm_command cmd, uint64_t addr, uint8_t* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    pcie::prepare_request(gp, cmd, addr, data, len);
    pcie::TlpExtension ext;
    ext.tag = static_cast<uint16_t>(tag_++ & 0xff);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    {
      pcie::ScopedExtension<pcie::TlpExtension> with(gp, &ext);
      dma_->b_transport(gp, delay);
    }
    wait(delay);  // loosely timed: synchronise before the next step
    return gp.is_response_ok();
  }

  void engine() {
    std::vector<uint8_t> buf;
    for (;;) {
      while (!start_pending_) wait(start_);
      start_pending_ = false;
      const uint64_t gen = generation_;
      if (sc_core::sc_time_stamp() < start_at_) wait(start_at_ - sc_core::sc_time_stamp());
      if (gen != generation_) continue;  // reset meanwhile
      const uint64_t src = regs_[kSrc], dst = regs_[kDst], len = regs_[kLen];
      bool ok = true;
      for (uint64_t off = 0; ok && off < len && gen == generation_; off += chunk_) {
        const unsigned n = static_cast<unsigned>(std::min<uint64_t>(chunk_, len - off));
        buf.resize(n);
        ok = dma(tlm::TLM_READ_COMMAND, src + off, buf.data(), n) && gen == generation_ &&
             dma(tlm::TLM_WRITE_COMMAND, dst + off, buf.data(), n);
        if (ok && gen == generation_) regs_[kDone] = off + n;
      }
      if (gen != generation_) continue;
      regs_[kStatus] = ok ? kFinished : kError;
      if (regs_[kMsiAddr]) {  // MSI: a 4-byte posted write of the data to the address
        uint32_t data = static_cast<uint32_t>(regs_[kMsiData]);
        dma(tlm::TLM_WRITE_COMMAND, regs_[kMsiAddr], reinterpret_cast<uint8_t*>(&data), 4);
      }
    }
  }

  tlm_utils::simple_initiator_socket<CopyEngine> dma_;
  tlm_utils::simple_target_socket<CopyEngine> bar_;
  sc_core::sc_event start_;
  bool start_pending_ = false;
  sc_core::sc_time start_at_;
  uint64_t regs_[kRegs] = {};
  uint64_t chunk_ = 4096;
  sc_core::sc_time mmio_latency_;
  uint64_t generation_ = 0;
  uint64_t tag_ = 0;
};

}  // namespace

std::unique_ptr<pcie::ExternalEndpoint> make_copy_engine(const std::string& instance, const pcie::EndpointParams& params) {
  return std::make_unique<CopyEngine>(sc_core::sc_module_name(instance.c_str()), params);
}

}  // namespace p2psim::examples
