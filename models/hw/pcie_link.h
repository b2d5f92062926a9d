// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// PCIe link bandwidth, two ways:
//  (a) the analytical model of pcie-bench (Neugebauer et al., SIGCOMM 2018;
//      github pcie-bench/pcie-model, model/pcie.py and model/mem_bw.py):
//      tlp_ceiling_gbps(), write_bw_gbps(), read_bw_gbps();
//  (b) a transaction-level link that serialises TLPs per direction in
//      picoseconds, inserting ACK/UpdateFC DLLPs and SKP ordered sets at the
//      rates the pcie-model charges, and run_dma_stream(), which pushes a stream
//      of DMA writes or reads through it and measures what comes out.
// Pure logic, no SystemC.
#pragma once
#include <array>
#include <cstdint>

#include "hw/pcie_tlp.h"
#include "common/time.h"

namespace p2psim::hw {

// ---------------------------------------------------------------------------
// Link-layer overhead (pcie-model model/pcie.py)
// ---------------------------------------------------------------------------

// pcie-model Ack_Size = FC_Size = 8: 2 B physical framing + 4 B DLLP + 2 B CRC.
constexpr int kDllpBytes = 8;
// pcie-model SKIP_Length = 4, SKIP_Interval = 1538: a 4-symbol SKP ordered set at
// the longest interval 8b/10b allows (PCIe 5.0 §4.2.7.3: every 1180..1538 symbol
// times); the pcie-model charges it the same for every generation, and so do we.
constexpr int kSkpOrderedSetBytes = 4;
constexpr int kSkpIntervalBytes = 1538;

/// Byte times between two ACK DLLPs: pcie-model Ack_Limits, from PCIe 5.0
/// tables 3-7..3-9 (Ack transmission latency limit, MPS x width). 0 in flit
/// mode, where ACKs ride in every flit's DLLP bytes.
int ack_dllp_interval_bytes(const LinkConfig& cfg);
/// Byte times between two UpdateFC DLLPs: pcie-model FC_Guide, from PCIe 5.0
/// tables 2-46..2-48. 0 in flit mode.
int updatefc_dllp_interval_bytes(const LinkConfig& cfg);
/// Share of every direction's raw rate lost to ACKs, UpdateFCs and SKPs:
/// 8/Ack_Limit + 8/FC_Guide + 4/1538 (pcie-model TLP_bw).
double link_overhead_fraction(const LinkConfig& cfg);

// ---------------------------------------------------------------------------
// (a) Analytical bandwidth, Gb/s (1e9 bit/s)
// ---------------------------------------------------------------------------

/// TLP-layer ceiling: raw rate minus DLLP and SKP overhead (pcie-model TLP_bw).
double tlp_ceiling_gbps(const LinkConfig& cfg);
/// Effective bandwidth of back-to-back DMA writes of `transfer_bytes` each
/// (pcie-model mem_bw.write: ceil(size / MPS) MWr TLPs, aligned buffers).
double write_bw_gbps(const LinkConfig& cfg, std::uint64_t transfer_bytes);
/// Effective bandwidth of back-to-back DMA reads of `transfer_bytes` each
/// (pcie-model mem_bw.read: MRd one way, CplD the other, the busier way limits).
double read_bw_gbps(const LinkConfig& cfg, std::uint64_t transfer_bytes);

// ---------------------------------------------------------------------------
// (b) Transaction-level link
// ---------------------------------------------------------------------------

/// Directions named from the device (the DMA requester): upstream = device to
/// root complex/peer (MWr, MRd), downstream = back to the device (CplD).
enum class Direction { kUpstream = 0, kDownstream = 1 };

struct WireStats {
  std::uint64_t tlps = 0;
  std::uint64_t tlp_bytes = 0;
  std::uint64_t ack_dllps = 0;
  std::uint64_t updatefc_dllps = 0;
  std::uint64_t skp_ordered_sets = 0;
  std::uint64_t overhead_bytes = 0;  // DLLP + SKP bytes
};

/**
 * class LinkWire - one direction of a link, in integer "byte slots" (the time
 * one byte takes at the raw rate across all lanes). TLPs go out FIFO and are
 * never pre-empted. ACK and UpdateFC DLLPs and SKP ordered sets fall due at
 * fixed intervals of wire time (the pcie-model's rates); a due item is sent
 * before the next TLP, and its next due time counts from its own due time, so
 * over a busy period exactly 8/Ack + 8/FC + 4/1538 of the wire goes to them.
 */
class LinkWire {
 public:
  struct Span {
    std::uint64_t start_slot;
    std::uint64_t end_slot;  // first free slot after the TLP
  };
  explicit LinkWire(const LinkConfig& cfg);
  /// Sends `wire_bytes` no earlier than `ready_slot`; returns when it occupied the wire.
  Span transmit(std::uint64_t ready_slot, std::uint64_t wire_bytes);
  std::uint64_t free_slot() const { return free_slot_; }
  const WireStats& stats() const { return stats_; }

 private:
  enum Overhead { kAck = 0, kUpdateFc = 1, kSkp = 2, kOverheadKinds = 3 };
  struct Periodic {
    std::uint64_t interval_slots;  // 0: never sent
    std::uint64_t bytes;
    std::uint64_t next_due_slot;
  };
  void account(Overhead kind, std::uint64_t count);
  void skip_idle_overheads(std::uint64_t ready_slot);

  std::array<Periodic, kOverheadKinds> overheads_{};
  std::uint64_t free_slot_ = 0;
  WireStats stats_;
};

/**
 * class PcieLink - both directions of one link. Times are ps (p2psim::ps_t);
 * a TLP starts on the first byte slot at or after it is ready, occupies its
 * wire bytes at the link's byte time, and arrives `propagation` after its
 * last byte leaves.
 */
class PcieLink {
 public:
  struct Transmission {
    ps_t start;    // first byte on the wire
    ps_t end;      // last byte on the wire
    ps_t arrival;  // end + propagation
  };
  explicit PcieLink(const LinkConfig& cfg, ps_t propagation = 0);

  Transmission send_tlp(Direction dir, ps_t ready, TlpKind kind, std::uint64_t payload_bytes);
  Transmission send_wire_bytes(Direction dir, ps_t ready, std::uint64_t wire_bytes);

  /// Exact duration of one byte slot in ps (Gen3 x8: 65000/512 = 126.953125 ps).
  Rational byte_time_ps() const { return byte_time_ps_; }
  /// Start of byte slot `slot` in ps, rounded down.
  ps_t slot_start_ps(std::uint64_t slot) const;
  /// First slot starting at or after `t`.
  std::uint64_t first_slot_at_or_after(ps_t t) const;

  const LinkConfig& config() const { return cfg_; }
  const WireStats& stats(Direction dir) const { return wire(dir).stats(); }
  /// When @dir's wire is free for the next TLP (start of its first free slot).
  ps_t free_at(Direction dir) const { return slot_start_ps(wire(dir).free_slot()); }

 private:
  LinkWire& wire(Direction dir) { return wires_[static_cast<int>(dir)]; }
  const LinkWire& wire(Direction dir) const { return wires_[static_cast<int>(dir)]; }

  LinkConfig cfg_;
  ps_t propagation_;
  Rational byte_time_ps_;
  std::array<LinkWire, 2> wires_;
};

enum class DmaOp { kWrite, kRead };

// PCIe 5.0 §2.2.6.2: 8-bit Tags give 256 outstanding non-posted requests.
constexpr int kEightBitTagLimit = 256;
// PCIe 5.0 §2.2.6.2: with 10-bit Tags, up to 768 (Tag values 0..255 with T9:T8 = 00b unused).
constexpr int kTenBitTagLimit = 768;

/**
 * struct DmaStream - `count` back-to-back DMA transfers of `transfer_bytes`
 * issued by the device. Transfer i starts at base_address + i * stride; stride
 * 0 means transfer_bytes rounded up to 4 KiB (separate page-aligned buffers,
 * the pcie-model's "requests are aligned to boundaries").
 */
struct DmaStream {
  DmaOp op = DmaOp::kWrite;
  std::uint64_t transfer_bytes = 64;
  std::uint64_t count = 10000;
  std::uint64_t base_address = 0;
  std::uint64_t stride = 0;
  int max_outstanding_reads = kEightBitTagLimit;  // MRd tags in flight
  ps_t completer_latency = 0;  // MRd arrival to first CplD ready at the completer
  ps_t propagation = 0;        // per TLP, each direction
};

struct DmaStreamResult {
  double achieved_gbps = 0;       // payload bits / elapsed
  ps_t elapsed = 0;               // first TLP ready (t = 0) to last data arrival
  std::uint64_t payload_bytes = 0;
  std::uint64_t requests = 0;     // MWr or MRd TLPs
  std::uint64_t completions = 0;  // CplD TLPs
  WireStats upstream;
  WireStats downstream;
};

/// Runs the stream through a fresh PcieLink and measures it. Writes are posted
/// MWr upstream. Reads send MRd upstream (each needs one of
/// max_outstanding_reads tags, freed when its last CplD arrives) and the
/// completer answers in order with CplD downstream. Payloads occupy whole DWs.
DmaStreamResult run_dma_stream(const LinkConfig& cfg, const DmaStream& stream);

}  // namespace p2psim::hw
