// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/endpoints/rdma_nic.h"

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <cstring>
#include <map>
#include <stdexcept>
#include <vector>

namespace p2psim::examples {

namespace {

class RdmaNic : public sc_core::sc_module, public pcie::ExternalEndpoint {
 public:
  SC_HAS_PROCESS(RdmaNic);
  RdmaNic(sc_core::sc_module_name name, const pcie::EndpointParams& params)
      : sc_core::sc_module(name), dma_("dma"), bar_("bar") {
    for (const auto& [k, v] : params)
      if (k != "queues" && k != "gbps" && k != "seed")
        throw std::invalid_argument("rdma_nic: unknown parameter '" + k + "' (it takes queues, gbps, seed)");
    queues_.resize(pcie::integer_param(params, "rdma_nic", "queues", 8, 1, 64));
    gbps_ = pcie::integer_param(params, "rdma_nic", "gbps", 100, 1, 1600);
    seed_ = pcie::integer_param(params, "rdma_nic", "seed", 1, 0, 0xffffffff);
    bar_.register_b_transport(this, &RdmaNic::bar_transport);
    SC_THREAD(receiver);
  }

  sc_core::sc_module& module() override { return *this; }
  tlm::tlm_initiator_socket<>& dma_socket() override { return dma_; }
  tlm::tlm_target_socket<>& bar_socket() override { return bar_; }
  void reset() override {
    for (Queue& q : queues_) q = Queue{};
    pending_.clear();
    work_.cancel();
    wire_free_ = sc_core::SC_ZERO_TIME;
    ++generation_;
  }

 private:
  enum Reg { kDst, kLen, kRsvd, kCtrl, kStatus, kRsvd2, kMsiAddr, kMsiData, kRegs };
  enum Status : uint64_t { kIdle, kBusy, kFinished, kError };
  static constexpr uint64_t kMaxReceive = 16ULL << 20;
  struct Queue {
    uint64_t regs[kRegs] = {};
    uint64_t received = 0;  // receives done, for the pattern
  };
  struct Job {
    size_t queue;
    sc_core::sc_time at;  // when the CTRL write arrived
  };

  void bar_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
    const uint64_t off = gp.get_address();
    const size_t q = off / 0x40, reg = (off % 0x40) / 8;
    if (off % 8 || gp.get_data_length() != 8 || q >= queues_.size() || gp.get_byte_enable_ptr()) {
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    uint64_t* regs = queues_[q].regs;
    if (gp.is_read()) {
      std::memcpy(gp.get_data_ptr(), &regs[reg], 8);
    } else {
      uint64_t v;
      std::memcpy(&v, gp.get_data_ptr(), 8);
      if (reg == kCtrl) {
        if ((v & 1) && regs[kStatus] != kBusy) {
          regs[kStatus] = kBusy;
          const sc_core::sc_time at = sc_core::sc_time_stamp() + delay;
          pending_.emplace(std::make_pair(at, q), Job{q, at});
          work_.notify(delay);
        }
      } else if (reg != kStatus) {
        regs[reg] = v;
      }
    }
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
  }

  bool dma_write(uint64_t addr, uint8_t* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    pcie::prepare_request(gp, tlm::TLM_WRITE_COMMAND, addr, data, len);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    dma_->b_transport(gp, delay);
    wait(delay);
    return gp.is_response_ok();
  }

  void receiver() {
    std::vector<uint8_t> buf;
    for (;;) {
      while (pending_.empty()) wait(work_);
      const Job job = pending_.begin()->second;
      pending_.erase(pending_.begin());
      const uint64_t gen = generation_;
      Queue& q = queues_[job.queue];
      const uint64_t len = q.regs[kLen], dst = q.regs[kDst];
      if (len > kMaxReceive) {  // more than one receive may be: refuse it
        q.regs[kStatus] = kError;
        continue;
      }
      // The wire: this receive's bytes arrive after the earlier ones.
      const sc_core::sc_time start = std::max(job.at, wire_free_);
      wire_free_ = start + sc_core::sc_time(static_cast<double>(len) * 8.0 / static_cast<double>(gbps_), sc_core::SC_NS);
      if (wire_free_ > sc_core::sc_time_stamp()) wait(wire_free_ - sc_core::sc_time_stamp());
      if (gen != generation_) continue;
      buf.resize(len);
      for (uint64_t w = 0; w * 8 < len; ++w) {
        const uint64_t v = seed_ << 32 | uint64_t{job.queue} << 24 | (q.received & 0xff) << 16 | (w & 0xffff);
        std::memcpy(buf.data() + w * 8, &v, std::min<uint64_t>(8, len - w * 8));
      }
      const bool ok = len == 0 || dma_write(dst, buf.data(), static_cast<unsigned>(len));
      if (gen != generation_) continue;
      ++q.received;
      q.regs[kStatus] = ok ? kFinished : kError;
      if (q.regs[kMsiAddr]) {
        uint32_t data = static_cast<uint32_t>(q.regs[kMsiData]);
        dma_write(q.regs[kMsiAddr], reinterpret_cast<uint8_t*>(&data), 4);
      }
    }
  }

  tlm_utils::simple_initiator_socket<RdmaNic> dma_;
  tlm_utils::simple_target_socket<RdmaNic> bar_;
  std::vector<Queue> queues_;
  std::multimap<std::pair<sc_core::sc_time, size_t>, Job> pending_;  // by start time, then queue
  sc_core::sc_event work_;
  sc_core::sc_time wire_free_;
  uint64_t gbps_ = 100, seed_ = 1, generation_ = 0;
};

}  // namespace

std::unique_ptr<pcie::ExternalEndpoint> make_rdma_nic(const std::string& instance, const pcie::EndpointParams& params) {
  return std::make_unique<RdmaNic>(sc_core::sc_module_name(instance.c_str()), params);
}

}  // namespace p2psim::examples
