// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// PCIe Transaction Layer Packet framing: link configuration, raw link rates,
// per-TLP wire sizes, and how DMA writes and reads are split into TLPs.
// Pure logic, no SystemC. The sizes follow the analytical model of pcie-bench
// (Neugebauer et al., SIGCOMM 2018; github pcie-bench/pcie-model, model/pcie.py)
// and the PCIe Base Specification; each constant names its source.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace p2psim::hw {

// ---------------------------------------------------------------------------
// Link configuration
// ---------------------------------------------------------------------------

/**
 * struct LinkConfig - one PCIe link as both ends negotiated it.
 * @gen:   1..6. Gen1-2 use 8b/10b, Gen3-5 128b/130b, Gen6 flit mode.
 * @lanes: 1, 2, 4, 8 or 16.
 * @mps:   Max_Payload_Size, 128..4096 bytes, a power of two.
 * @mrrs:  Max_Read_Request_Size, 128..4096 bytes, a power of two.
 * @rcb:   Read Completion Boundary, 64 or 128 bytes (PCIe 5.0 §7.5.3.7); the
 *         pcie-model also accepts 256 and 512, and so do we.
 * @addr64: memory requests use the 4DW header (64-bit address).
 * @ecrc:  every TLP carries the 4-byte ECRC digest.
 * @completions_in_rcb_chunks: completers split read data into RCB-sized
 *         completions instead of MPS-sized ones (pcie-model `rcb_chunks`,
 *         "observed on several older chipsets").
 */
struct LinkConfig {
  int gen;
  int lanes;
  int mps;
  int mrrs;
  int rcb;
  bool addr64;
  bool ecrc;
  bool completions_in_rcb_chunks = false;
};

constexpr bool is_power_of_two(int v) { return v > 0 && (v & (v - 1)) == 0; }
constexpr bool is_valid_gen(int gen) { return gen >= 1 && gen <= 6; }
constexpr bool is_valid_lanes(int lanes) {
  return lanes == 1 || lanes == 2 || lanes == 4 || lanes == 8 || lanes == 16;
}
// PCIe 5.0 §7.5.3.4 Device Control: MPS and MRRS encodings 000b..101b = 128..4096 B.
constexpr bool is_valid_mps(int mps) { return is_power_of_two(mps) && mps >= 128 && mps <= 4096; }
constexpr bool is_valid_mrrs(int mrrs) {
  return is_power_of_two(mrrs) && mrrs >= 128 && mrrs <= 4096;
}
// pcie-model: RCBs = [64, 128, 256, 512] (the spec itself defines only 64 and 128).
constexpr bool is_valid_rcb(int rcb) { return is_power_of_two(rcb) && rcb >= 64 && rcb <= 512; }
/// Gen6 (64 GT/s) always runs in flit mode (PCIe 6.0 §4.2.3.1).
constexpr bool is_flit_mode(int gen) { return gen >= 6; }

/// Error text for the first invalid field, or nullopt if the config is valid.
std::optional<std::string> validate(const LinkConfig& cfg);
/// Throws std::invalid_argument with validate()'s text if cfg is invalid.
void require_valid(const LinkConfig& cfg);

// ---------------------------------------------------------------------------
// Raw link rate
// ---------------------------------------------------------------------------

/// A non-negative exact fraction num/den, always kept reduced.
struct Rational {
  std::uint64_t num = 0;
  std::uint64_t den = 1;
  double value() const { return static_cast<double>(num) / static_cast<double>(den); }
  friend bool operator==(const Rational& a, const Rational& b) {
    return a.num == b.num && a.den == b.den;
  }
  friend bool operator!=(const Rational& a, const Rational& b) { return !(a == b); }
};
Rational make_rational(std::uint64_t num, std::uint64_t den);

/// Transfers per second on one lane: 2.5, 5, 8, 16, 32, 64 GT/s (PCIe 6.0 table 4-1).
std::uint64_t transfers_per_second(int gen);
/// Share of the line rate that carries TLP/DLLP bytes: 8/10 (Gen1-2), 128/130
/// (Gen3-5), and for Gen6 flit mode 236/256 (a 256 B flit carries 236 B of TLP
/// bytes next to 6 B DLLP payload, 8 B CRC and 6 B FEC; PCIe 6.0 §4.2.3.1).
Rational encoding_efficiency(int gen);
/// Raw rate in bits/s = GT/s x encoding x lanes (docs/anchors.md "PCIe links"); exact.
Rational raw_rate_bps(int gen, int lanes);
inline Rational raw_rate_bps(const LinkConfig& cfg) { return raw_rate_bps(cfg.gen, cfg.lanes); }

// ---------------------------------------------------------------------------
// TLP wire sizes
// ---------------------------------------------------------------------------

enum class TlpKind { kMemWrite, kMemRead, kCompletionData };

// pcie-model DLLP_Hdr = 8: the per-TLP data-link/physical framing. Gen1-2: STP 1 +
// sequence number 2 + LCRC 4 + END 1; Gen3-5: STP token 4 (carries the sequence
// number) + LCRC 4 (PCIe 5.0 §4.2.2.3.2).
constexpr int kNonFlitTlpFramingBytes = 8;
// Flit mode has no per-TLP STP/sequence/LCRC: the flit's CRC, FEC and sequence
// number cover it, and that cost is already inside the 236/256 share (PCIe 6.0 §4.2.3).
constexpr int kFlitTlpFramingBytes = 0;
// pcie-model TLP_Hdr 4 + TLP_MWr_64_Hdr 12 / TLP_MWr_32_Hdr 8 (4DW / 3DW headers).
constexpr int kMemRequestHeader64Bytes = 16;
constexpr int kMemRequestHeader32Bytes = 12;
// pcie-model TLP_Hdr 4 + TLP_CplD_Hdr 8 (completions always use a 3DW header).
constexpr int kCompletionHeaderBytes = 12;
// pcie-model TLP_Dig = 4: optional TLP digest (ECRC) trailer.
constexpr int kEcrcBytes = 4;
// PCIe 5.0 §2.2.7: a memory request must not cross a 4 KiB address boundary.
constexpr std::uint64_t kRequestBoundaryBytes = 4096;

constexpr int tlp_framing_bytes(int gen) {
  return is_flit_mode(gen) ? kFlitTlpFramingBytes : kNonFlitTlpFramingBytes;
}
constexpr int tlp_header_bytes(TlpKind kind, bool addr64) {
  if (kind == TlpKind::kCompletionData) return kCompletionHeaderBytes;
  return addr64 ? kMemRequestHeader64Bytes : kMemRequestHeader32Bytes;
}
/// Wire bytes of a TLP minus its payload: framing + header + optional ECRC.
constexpr int tlp_overhead_bytes(const LinkConfig& cfg, TlpKind kind) {
  return tlp_framing_bytes(cfg.gen) + tlp_header_bytes(kind, cfg.addr64) +
         (cfg.ecrc ? kEcrcBytes : 0);
}
/// Bytes one TLP occupies on the link (before DLLP/SKP overhead).
constexpr std::uint64_t tlp_wire_bytes(const LinkConfig& cfg, TlpKind kind,
                                       std::uint64_t payload_bytes) {
  return static_cast<std::uint64_t>(tlp_overhead_bytes(cfg, kind)) + payload_bytes;
}

// The figures in docs/anchors.md: MWr64 and MRd64 cost 24 B, CplD 20 B, +4 B with ECRC.
static_assert(tlp_overhead_bytes(LinkConfig{3, 8, 256, 512, 64, true, false},
                                 TlpKind::kMemWrite) == 24, "MWr64 = 24 B");
static_assert(tlp_overhead_bytes(LinkConfig{3, 8, 256, 512, 64, true, false},
                                 TlpKind::kMemRead) == 24, "MRd64 = 24 B");
static_assert(tlp_overhead_bytes(LinkConfig{3, 8, 256, 512, 64, true, false},
                                 TlpKind::kCompletionData) == 20, "CplD = 20 B");
static_assert(tlp_overhead_bytes(LinkConfig{3, 8, 256, 512, 64, false, true},
                                 TlpKind::kMemWrite) == 24, "MWr32 + ECRC = 24 B");

/// DWs a payload of `bytes` starting at `address` occupies (TLP payloads are whole DWs).
constexpr std::uint64_t payload_dwords(std::uint64_t address, std::uint64_t bytes) {
  return bytes == 0 ? 0 : (address + bytes + 3) / 4 - address / 4;
}

// ---------------------------------------------------------------------------
// Splitting transfers into TLPs
// ---------------------------------------------------------------------------

/// One TLP's share of a transfer: `bytes` of data starting at `address`.
struct TlpChunk {
  std::uint64_t address;
  std::uint32_t bytes;
  friend bool operator==(const TlpChunk& a, const TlpChunk& b) {
    return a.address == b.address && a.bytes == b.bytes;
  }
};

/// MWr TLPs for a write of `bytes` at `address`: each at most MPS and none
/// crossing a 4 KiB boundary, as large as those rules allow (the fewest TLPs).
std::vector<TlpChunk> split_write(const LinkConfig& cfg, std::uint64_t address,
                                  std::uint64_t bytes);
/// MRd requests for a read of `bytes` at `address`: each at most MRRS, none
/// crossing a 4 KiB boundary.
std::vector<TlpChunk> split_read_requests(const LinkConfig& cfg, std::uint64_t address,
                                          std::uint64_t bytes);
/// CplD TLPs a completer returns for one read request. Every completion but the
/// last ends on an RCB boundary (PCIe 5.0 §2.3.1.1); each is at most MPS, or at
/// most RCB with completions_in_rcb_chunks. For an RCB-aligned request this gives
/// ceil(len / MPS) (or ceil(len / RCB)) completions, as the pcie-model counts.
std::vector<TlpChunk> split_completions(const LinkConfig& cfg, const TlpChunk& request);
/// The same three into @out (cleared first), for callers that split every
/// DMA and reuse one vector.
void split_write(const LinkConfig& cfg, std::uint64_t address, std::uint64_t bytes,
                 std::vector<TlpChunk>& out);
void split_read_requests(const LinkConfig& cfg, std::uint64_t address, std::uint64_t bytes,
                         std::vector<TlpChunk>& out);
void split_completions(const LinkConfig& cfg, const TlpChunk& request, std::vector<TlpChunk>& out);

// ---------------------------------------------------------------------------
// TLP header layout (PCIe 5.0 §2.2.1, §2.2.7, §2.2.9), bytes in wire order
// ---------------------------------------------------------------------------

/// Fmt[2:0] (PCIe 5.0 table 2-2).
enum class TlpFmt : std::uint8_t {
  k3DwNoData = 0b000,
  k4DwNoData = 0b001,
  k3DwWithData = 0b010,
  k4DwWithData = 0b011,
};
// Type[4:0] (PCIe 5.0 table 2-3): MRd/MWr = 0 0000, Cpl/CplD = 0 1010.
constexpr std::uint8_t kTlpTypeMemory = 0b00000;
constexpr std::uint8_t kTlpTypeCompletion = 0b01010;
// Length[9:0] counts DWs; 0 encodes 1024 DW (PCIe 5.0 table 2-4).
constexpr std::uint32_t kMaxTlpLengthDw = 1024;

/// A 3DW or 4DW TLP header as transmitted: byte 0 first, each DW big-endian.
struct TlpHeader {
  std::array<std::uint8_t, 16> bytes{};
  constexpr TlpFmt fmt() const { return static_cast<TlpFmt>(bytes[0] >> 5); }
  constexpr std::uint8_t type() const { return bytes[0] & 0x1F; }
  constexpr bool has_data() const { return (bytes[0] >> 6) & 1; }
  constexpr int size_bytes() const { return ((bytes[0] >> 5) & 1) ? 16 : 12; }
};
static_assert(sizeof(TlpHeader) == 16, "a 4DW header is 16 bytes");

/// The fields of a MWr/MRd header; `length_dw` 1..1024.
struct MemRequestFields {
  bool write = false;
  bool addr64 = false;        // 4DW header
  std::uint8_t tc = 0;        // Traffic Class, 3 bits
  std::uint8_t attr = 0;      // Attr[2] (ID-based ordering) : Attr[1:0] (RO, NS)
  bool td = false;            // TLP digest (ECRC) present
  bool ep = false;            // poisoned
  std::uint16_t length_dw = 1;
  std::uint16_t requester_id = 0;
  std::uint8_t tag = 0;
  std::uint8_t first_be = 0xF;
  std::uint8_t last_be = 0;
  std::uint64_t address = 0;  // DW aligned
  friend bool operator==(const MemRequestFields& a, const MemRequestFields& b) {
    return a.write == b.write && a.addr64 == b.addr64 && a.tc == b.tc && a.attr == b.attr &&
           a.td == b.td && a.ep == b.ep && a.length_dw == b.length_dw &&
           a.requester_id == b.requester_id && a.tag == b.tag && a.first_be == b.first_be &&
           a.last_be == b.last_be && a.address == b.address;
  }
};

namespace detail {
constexpr void put_dw0(TlpHeader& h, TlpFmt fmt, std::uint8_t type, std::uint8_t tc,
                       std::uint8_t attr, bool td, bool ep, std::uint32_t length_dw) {
  const std::uint32_t len = length_dw == kMaxTlpLengthDw ? 0 : length_dw;
  h.bytes[0] = static_cast<std::uint8_t>((static_cast<std::uint8_t>(fmt) << 5) | (type & 0x1F));
  // Byte 1: T9 | TC[2:0] | T8 | Attr[2] | LN | TH
  h.bytes[1] = static_cast<std::uint8_t>(((tc & 0x7) << 4) | (((attr >> 2) & 1) << 2));
  // Byte 2: TD | EP | Attr[1:0] | AT[1:0] | Length[9:8]
  h.bytes[2] = static_cast<std::uint8_t>((td ? 0x80 : 0) | (ep ? 0x40 : 0) | ((attr & 0x3) << 4) |
                                         ((len >> 8) & 0x3));
  h.bytes[3] = static_cast<std::uint8_t>(len & 0xFF);
}
constexpr void put_be32(TlpHeader& h, int offset, std::uint32_t v) {
  h.bytes[offset] = static_cast<std::uint8_t>(v >> 24);
  h.bytes[offset + 1] = static_cast<std::uint8_t>(v >> 16);
  h.bytes[offset + 2] = static_cast<std::uint8_t>(v >> 8);
  h.bytes[offset + 3] = static_cast<std::uint8_t>(v);
}
constexpr std::uint32_t get_be32(const TlpHeader& h, int offset) {
  return (std::uint32_t{h.bytes[offset]} << 24) | (std::uint32_t{h.bytes[offset + 1]} << 16) |
         (std::uint32_t{h.bytes[offset + 2]} << 8) | std::uint32_t{h.bytes[offset + 3]};
}
}  // namespace detail

/// Packs a MWr/MRd header. Throws std::invalid_argument on out-of-range fields
/// (a 3DW header with an address at or above 4 GiB, a non-DW-aligned address...).
constexpr TlpHeader encode_mem_request(const MemRequestFields& f) {
  if (f.length_dw < 1 || f.length_dw > kMaxTlpLengthDw || f.tc > 7 || f.attr > 7 ||
      f.first_be > 0xF || f.last_be > 0xF || (f.address & 3) != 0 ||
      (!f.addr64 && f.address > 0xFFFFFFFFull))
    throw std::invalid_argument("encode_mem_request: field out of range");
  TlpHeader h;
  const TlpFmt fmt = f.write ? (f.addr64 ? TlpFmt::k4DwWithData : TlpFmt::k3DwWithData)
                             : (f.addr64 ? TlpFmt::k4DwNoData : TlpFmt::k3DwNoData);
  detail::put_dw0(h, fmt, kTlpTypeMemory, f.tc, f.attr, f.td, f.ep, f.length_dw);
  // DW1: Requester ID[15:0] | Tag[7:0] | Last DW BE[3:0] | First DW BE[3:0]
  detail::put_be32(h, 4, (std::uint32_t{f.requester_id} << 16) | (std::uint32_t{f.tag} << 8) |
                             (std::uint32_t{f.last_be} << 4) | f.first_be);
  if (f.addr64) {
    detail::put_be32(h, 8, static_cast<std::uint32_t>(f.address >> 32));
    detail::put_be32(h, 12, static_cast<std::uint32_t>(f.address) & ~3u);  // PH[1:0] = 0
  } else {
    detail::put_be32(h, 8, static_cast<std::uint32_t>(f.address) & ~3u);
  }
  return h;
}

/// Unpacks a MWr/MRd header; throws std::invalid_argument if it is not one.
constexpr MemRequestFields decode_mem_request(const TlpHeader& h) {
  if (h.type() != kTlpTypeMemory) throw std::invalid_argument("not a memory request TLP");
  MemRequestFields f;
  f.write = h.has_data();
  f.addr64 = h.size_bytes() == 16;
  f.tc = (h.bytes[1] >> 4) & 0x7;
  f.attr = static_cast<std::uint8_t>((((h.bytes[1] >> 2) & 1) << 2) | ((h.bytes[2] >> 4) & 0x3));
  f.td = (h.bytes[2] >> 7) & 1;
  f.ep = (h.bytes[2] >> 6) & 1;
  const std::uint32_t len = (std::uint32_t{h.bytes[2] & 0x3u} << 8) | h.bytes[3];
  f.length_dw = static_cast<std::uint16_t>(len == 0 ? kMaxTlpLengthDw : len);
  const std::uint32_t dw1 = detail::get_be32(h, 4);
  f.requester_id = static_cast<std::uint16_t>(dw1 >> 16);
  f.tag = static_cast<std::uint8_t>(dw1 >> 8);
  f.last_be = (dw1 >> 4) & 0xF;
  f.first_be = dw1 & 0xF;
  f.address = f.addr64 ? (std::uint64_t{detail::get_be32(h, 8)} << 32) |
                             (detail::get_be32(h, 12) & ~3u)
                       : (detail::get_be32(h, 8) & ~3u);
  return f;
}

/// The fields of a CplD header (PCIe 5.0 §2.2.9).
struct CompletionFields {
  std::uint8_t tc = 0;
  std::uint8_t attr = 0;
  bool td = false;
  std::uint16_t length_dw = 1;
  std::uint16_t completer_id = 0;
  std::uint8_t status = 0;       // 000b Successful Completion
  std::uint16_t byte_count = 4;  // bytes left to complete the request, 12 bits (0 = 4096)
  std::uint16_t requester_id = 0;
  std::uint8_t tag = 0;
  std::uint8_t lower_address = 0;  // 7 bits
};

constexpr TlpHeader encode_completion(const CompletionFields& f) {
  if (f.length_dw < 1 || f.length_dw > kMaxTlpLengthDw || f.tc > 7 || f.attr > 7 ||
      f.status > 7 || f.byte_count < 1 || f.byte_count > 4096 || f.lower_address > 0x7F)
    throw std::invalid_argument("encode_completion: field out of range");
  TlpHeader h;
  detail::put_dw0(h, TlpFmt::k3DwWithData, kTlpTypeCompletion, f.tc, f.attr, f.td, false,
                  f.length_dw);
  // DW1: Completer ID | Cpl Status[2:0] | BCM | Byte Count[11:0]
  detail::put_be32(h, 4, (std::uint32_t{f.completer_id} << 16) | (std::uint32_t{f.status} << 13) |
                             (f.byte_count & 0xFFFu));
  // DW2: Requester ID | Tag | R | Lower Address[6:0]
  detail::put_be32(h, 8, (std::uint32_t{f.requester_id} << 16) | (std::uint32_t{f.tag} << 8) |
                             f.lower_address);
  return h;
}

// Bit-exact checks against the spec's DW0 layout.
static_assert(encode_mem_request({true, true, 0, 0, false, false, 64, 0, 0, 0xF, 0xF,
                                  0x1'0000'0000ull})
                      .bytes[0] == 0x60,
              "MWr 4DW: Fmt 011b Type 00000b");
static_assert(encode_mem_request({false, false, 0, 0, false, false, 1, 0, 0, 0xF, 0, 0x1000})
                      .bytes[0] == 0x00,
              "MRd 3DW: Fmt 000b Type 00000b");
static_assert(encode_mem_request({true, true, 0, 0, false, false, 1024, 0, 0, 0xF, 0xF, 0})
                      .bytes[3] == 0x00,
              "Length 1024 DW encodes as 0");
static_assert(encode_mem_request({true, false, 5, 0b110, true, false, 0x3FF, 0, 0, 0xF, 0xF, 0})
                      .bytes[2] == (0x80 | 0x20 | 0x03),
              "TD, Attr[1:0] and Length[9:8] in byte 2");
static_assert(encode_mem_request({true, false, 5, 0b110, true, false, 0x3FF, 0, 0, 0xF, 0xF, 0})
                      .bytes[1] == ((5 << 4) | (1 << 2)),
              "TC and Attr[2] in byte 1");
static_assert(encode_completion({}).bytes[0] == 0x4A, "CplD: Fmt 010b Type 01010b");

/// A MWr/MRd header for `bytes` at byte `address`, with the byte enables and
/// DW length the spec requires (first/last DW BE, PCIe 5.0 §2.2.5).
MemRequestFields mem_request_for(const LinkConfig& cfg, bool write, std::uint64_t address,
                                 std::uint32_t bytes, std::uint8_t tag);

}  // namespace p2psim::hw
