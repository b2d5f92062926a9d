// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/pcie_link.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace p2psim::hw {

namespace {

int lane_index(int lanes) {
  switch (lanes) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 2;
    case 8: return 3;
    case 16: return 4;
  }
  throw std::invalid_argument("unsupported lane count " + std::to_string(lanes));
}

int mps_index(int mps) {
  for (int i = 0, v = 128; i < 6; ++i, v *= 2)
    if (v == mps) return i;
  throw std::invalid_argument("unsupported MPS " + std::to_string(mps));
}

// pcie-model Ack_Limits and FC_Guide (model/pcie.py), in symbol times, which the
// pcie-model spends as link byte times. Source: PCIe Base Spec rev 5.0 tables
// 3-7, 3-8, 3-9 (Ack) and 2-46, 2-47, 2-48 (UpdateFC). For x1..x16 the two
// pcie-model tables hold identical values, so one table serves both.
// Index: [2.5 GT/s, 5 GT/s, 8 GT/s and above][x1, x2, x4, x8, x16][MPS 128..4096].
// Gen4 and Gen5 reuse the 8 GT/s row, as the pcie-model does.
constexpr int kDllpIntervalSymbols[3][5][6] = {
    {// 2.5 GT/s (table 3-7 / 2-46)
     {237, 416, 559, 1071, 2095, 4143},
     {128, 217, 289, 545, 1057, 2081},
     {73, 118, 154, 282, 538, 1050},
     {67, 107, 86, 150, 278, 534},
     {48, 72, 86, 150, 278, 534}},
    {// 5.0 GT/s (table 3-8 / 2-47)
     {288, 467, 610, 1122, 2146, 4194},
     {179, 268, 340, 596, 1108, 2132},
     {124, 169, 205, 333, 589, 1101},
     {118, 158, 137, 201, 329, 585},
     {99, 123, 137, 201, 329, 585}},
    {// 8.0 GT/s (table 3-9 / 2-48), also used for 16 and 32 GT/s
     {333, 512, 655, 1167, 2191, 4239},
     {224, 313, 385, 641, 1153, 2177},
     {169, 214, 250, 378, 634, 1146},
     {163, 203, 182, 246, 374, 630},
     {144, 168, 182, 246, 374, 630}},
};

int dllp_interval(const LinkConfig& cfg) {
  require_valid(cfg);
  if (is_flit_mode(cfg.gen)) return 0;
  const int rate_row = std::min(cfg.gen, 3) - 1;
  return kDllpIntervalSymbols[rate_row][lane_index(cfg.lanes)][mps_index(cfg.mps)];
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) { return (a + b - 1) / b; }

}  // namespace

int ack_dllp_interval_bytes(const LinkConfig& cfg) { return dllp_interval(cfg); }
int updatefc_dllp_interval_bytes(const LinkConfig& cfg) { return dllp_interval(cfg); }

double link_overhead_fraction(const LinkConfig& cfg) {
  double f = static_cast<double>(kSkpOrderedSetBytes) / kSkpIntervalBytes;
  if (const int ack = ack_dllp_interval_bytes(cfg)) f += static_cast<double>(kDllpBytes) / ack;
  if (const int fc = updatefc_dllp_interval_bytes(cfg)) f += static_cast<double>(kDllpBytes) / fc;
  return f;
}

double tlp_ceiling_gbps(const LinkConfig& cfg) {
  return raw_rate_bps(cfg).value() * (1.0 - link_overhead_fraction(cfg)) / 1e9;
}

double write_bw_gbps(const LinkConfig& cfg, std::uint64_t transfer_bytes) {
  if (transfer_bytes == 0) throw std::invalid_argument("write_bw_gbps: zero-byte transfer");
  const std::uint64_t tlps = ceil_div(transfer_bytes, static_cast<std::uint64_t>(cfg.mps));
  const std::uint64_t wire =
      tlps * static_cast<std::uint64_t>(tlp_overhead_bytes(cfg, TlpKind::kMemWrite)) +
      transfer_bytes;
  return tlp_ceiling_gbps(cfg) * static_cast<double>(transfer_bytes) / static_cast<double>(wire);
}

double read_bw_gbps(const LinkConfig& cfg, std::uint64_t transfer_bytes) {
  if (transfer_bytes == 0) throw std::invalid_argument("read_bw_gbps: zero-byte transfer");
  const std::uint64_t requests = ceil_div(transfer_bytes, static_cast<std::uint64_t>(cfg.mrrs));
  const std::uint64_t request_wire =
      requests * static_cast<std::uint64_t>(tlp_overhead_bytes(cfg, TlpKind::kMemRead));
  const std::uint64_t completion_unit =
      static_cast<std::uint64_t>(cfg.completions_in_rcb_chunks ? cfg.rcb : cfg.mps);
  const std::uint64_t completions = ceil_div(transfer_bytes, completion_unit);
  const std::uint64_t completion_wire =
      completions * static_cast<std::uint64_t>(tlp_overhead_bytes(cfg, TlpKind::kCompletionData)) +
      transfer_bytes;
  // Both directions run at the TLP ceiling; the one needing more bytes per read limits.
  const std::uint64_t limiting_wire = std::max(request_wire, completion_wire);
  return tlp_ceiling_gbps(cfg) * static_cast<double>(transfer_bytes) /
         static_cast<double>(limiting_wire);
}

// ---------------------------------------------------------------------------
// LinkWire
// ---------------------------------------------------------------------------

LinkWire::LinkWire(const LinkConfig& cfg) {
  const auto ack = static_cast<std::uint64_t>(ack_dllp_interval_bytes(cfg));
  const auto fc = static_cast<std::uint64_t>(updatefc_dllp_interval_bytes(cfg));
  // First of each falls due one interval into the run.
  overheads_[kAck] = {ack, kDllpBytes, ack};
  overheads_[kUpdateFc] = {fc, kDllpBytes, fc};
  overheads_[kSkp] = {kSkpIntervalBytes, kSkpOrderedSetBytes, kSkpIntervalBytes};
}

void LinkWire::account(Overhead kind, std::uint64_t count) {
  switch (kind) {
    case kAck: stats_.ack_dllps += count; break;
    case kUpdateFc: stats_.updatefc_dllps += count; break;
    case kSkp: stats_.skp_ordered_sets += count; break;
    case kOverheadKinds: break;
  }
  stats_.overhead_bytes += count * overheads_[kind].bytes;
}

// After a long idle gap, send every overhead item that fell due well inside the
// gap in one step instead of one loop turn each. They all end before
// `ready_slot`, so the next TLP's timing is the same as with the slow loop.
void LinkWire::skip_idle_overheads(std::uint64_t ready_slot) {
  constexpr std::uint64_t kSlackSlots = 64;  // > all three items back to back (20 B)
  if (ready_slot <= free_slot_ + kSlackSlots) return;
  const std::uint64_t limit = ready_slot - kSlackSlots;
  std::uint64_t busy_until = free_slot_;
  for (int k = 0; k < kOverheadKinds; ++k) {
    Periodic& o = overheads_[k];
    if (o.interval_slots == 0 || o.next_due_slot >= limit) continue;
    const std::uint64_t n = ceil_div(limit - o.next_due_slot, o.interval_slots);
    const std::uint64_t last_due = o.next_due_slot + (n - 1) * o.interval_slots;
    busy_until = std::max(busy_until, last_due + o.bytes);
    o.next_due_slot += n * o.interval_slots;
    account(static_cast<Overhead>(k), n);
  }
  free_slot_ = busy_until;
}

LinkWire::Span LinkWire::transmit(std::uint64_t ready_slot, std::uint64_t wire_bytes) {
  skip_idle_overheads(ready_slot);
  std::uint64_t start = std::max(ready_slot, free_slot_);
  for (;;) {
    int due = -1;
    for (int k = 0; k < kOverheadKinds; ++k) {
      const Periodic& o = overheads_[k];
      if (o.interval_slots == 0 || o.next_due_slot > start) continue;
      if (due < 0 || o.next_due_slot < overheads_[due].next_due_slot) due = k;
    }
    if (due < 0) break;
    Periodic& o = overheads_[due];
    free_slot_ = std::max(o.next_due_slot, free_slot_) + o.bytes;
    o.next_due_slot += o.interval_slots;
    account(static_cast<Overhead>(due), 1);
    start = std::max(ready_slot, free_slot_);
  }
  free_slot_ = start + wire_bytes;
  stats_.tlps += 1;
  stats_.tlp_bytes += wire_bytes;
  return {start, free_slot_};
}

// ---------------------------------------------------------------------------
// PcieLink
// ---------------------------------------------------------------------------

namespace {
Rational byte_time_of(const LinkConfig& cfg) {
  require_valid(cfg);
  const Rational bps = raw_rate_bps(cfg);
  // 8 bits x 1e12 ps/s / (num/den bits/s); num/den reduced, den <= 65.
  const std::uint64_t ps_bits_per_second = 8ull * 1'000'000'000'000ull;
  const Rational partial = make_rational(ps_bits_per_second, bps.num);
  return make_rational(partial.num * bps.den, partial.den);
}
}  // namespace

PcieLink::PcieLink(const LinkConfig& cfg, ps_t propagation)
    : cfg_(cfg),
      propagation_(propagation),
      byte_time_ps_(byte_time_of(cfg)),
      wires_{LinkWire(cfg), LinkWire(cfg)} {}

ps_t PcieLink::slot_start_ps(std::uint64_t slot) const {
  const std::uint64_t p = byte_time_ps_.num, q = byte_time_ps_.den;
  return (slot / q) * p + (slot % q) * p / q;
}

std::uint64_t PcieLink::first_slot_at_or_after(ps_t t) const {
  const std::uint64_t p = byte_time_ps_.num, q = byte_time_ps_.den;
  return (t / p) * q + ceil_div((t % p) * q, p);
}

PcieLink::Transmission PcieLink::send_wire_bytes(Direction dir, ps_t ready,
                                                 std::uint64_t wire_bytes) {
  const LinkWire::Span span = wire(dir).transmit(first_slot_at_or_after(ready), wire_bytes);
  const ps_t end = slot_start_ps(span.end_slot);
  return {slot_start_ps(span.start_slot), end, end + propagation_};
}

PcieLink::Transmission PcieLink::send_tlp(Direction dir, ps_t ready, TlpKind kind,
                                          std::uint64_t payload_bytes) {
  return send_wire_bytes(dir, ready, tlp_wire_bytes(cfg_, kind, payload_bytes));
}

// ---------------------------------------------------------------------------
// run_dma_stream
// ---------------------------------------------------------------------------

DmaStreamResult run_dma_stream(const LinkConfig& cfg, const DmaStream& stream) {
  require_valid(cfg);
  if (stream.transfer_bytes == 0 || stream.count == 0)
    throw std::invalid_argument("run_dma_stream: empty stream");
  if (stream.max_outstanding_reads < 1 || stream.max_outstanding_reads > kTenBitTagLimit)
    throw std::invalid_argument("run_dma_stream: max_outstanding_reads must be 1..768");
  const std::uint64_t stride =
      stream.stride != 0 ? stream.stride
                         : ceil_div(stream.transfer_bytes, kRequestBoundaryBytes) *
                               kRequestBoundaryBytes;

  PcieLink link(cfg, stream.propagation);
  DmaStreamResult result;
  ps_t last_arrival = 0;

  if (stream.op == DmaOp::kWrite) {
    for (std::uint64_t i = 0; i < stream.count; ++i) {
      const std::uint64_t address = stream.base_address + i * stride;
      for (const TlpChunk& c : split_write(cfg, address, stream.transfer_bytes)) {
        const auto t = link.send_tlp(Direction::kUpstream, 0, TlpKind::kMemWrite,
                                     4 * payload_dwords(c.address, c.bytes));
        last_arrival = std::max(last_arrival, t.arrival);
        ++result.requests;
      }
    }
  } else {
    // Completions come back in request order, so request k's tag is the one
    // request k + tags waits for.
    const auto tags = static_cast<std::uint64_t>(stream.max_outstanding_reads);
    std::vector<ps_t> tag_free_at(tags, 0);
    std::uint64_t k = 0;
    for (std::uint64_t i = 0; i < stream.count; ++i) {
      const std::uint64_t address = stream.base_address + i * stride;
      for (const TlpChunk& req : split_read_requests(cfg, address, stream.transfer_bytes)) {
        ps_t& tag = tag_free_at[k++ % tags];
        const auto mrd = link.send_tlp(Direction::kUpstream, tag, TlpKind::kMemRead, 0);
        ++result.requests;
        const ps_t completion_ready = mrd.arrival + stream.completer_latency;
        ps_t done = completion_ready;
        for (const TlpChunk& c : split_completions(cfg, req)) {
          const auto cpl = link.send_tlp(Direction::kDownstream, completion_ready,
                                         TlpKind::kCompletionData,
                                         4 * payload_dwords(c.address, c.bytes));
          done = cpl.arrival;
          ++result.completions;
        }
        tag = done;
        last_arrival = std::max(last_arrival, done);
      }
    }
  }

  result.elapsed = last_arrival;
  result.payload_bytes = stream.count * stream.transfer_bytes;
  // bits per ps x 1000 = Gb/s
  result.achieved_gbps = static_cast<double>(result.payload_bytes) * 8.0 * 1000.0 /
                         static_cast<double>(result.elapsed);
  result.upstream = link.stats(Direction::kUpstream);
  result.downstream = link.stats(Direction::kDownstream);
  return result;
}

}  // namespace p2psim::hw
