// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/pcie_tlp.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace p2psim::hw {

std::optional<std::string> validate(const LinkConfig& cfg) {
  if (!is_valid_gen(cfg.gen)) return "PCIe generation must be 1..6, got " + std::to_string(cfg.gen);
  if (!is_valid_lanes(cfg.lanes))
    return "lane count must be 1, 2, 4, 8 or 16, got " + std::to_string(cfg.lanes);
  if (!is_valid_mps(cfg.mps))
    return "MPS must be a power of two in 128..4096, got " + std::to_string(cfg.mps);
  if (!is_valid_mrrs(cfg.mrrs))
    return "MRRS must be a power of two in 128..4096, got " + std::to_string(cfg.mrrs);
  if (!is_valid_rcb(cfg.rcb))
    return "RCB must be 64, 128, 256 or 512, got " + std::to_string(cfg.rcb);
  if (cfg.rcb > cfg.mps)
    return "RCB (" + std::to_string(cfg.rcb) + ") must not exceed MPS (" +
           std::to_string(cfg.mps) + ")";
  return std::nullopt;
}

void require_valid(const LinkConfig& cfg) {
  if (auto err = validate(cfg)) throw std::invalid_argument("LinkConfig: " + *err);
}

Rational make_rational(std::uint64_t num, std::uint64_t den) {
  if (den == 0) throw std::invalid_argument("make_rational: zero denominator");
  const std::uint64_t g = std::gcd(num, den);
  return g == 0 ? Rational{0, 1} : Rational{num / g, den / g};
}

std::uint64_t transfers_per_second(int gen) {
  // PCIe 6.0 table 4-1 (data rates): 2.5, 5.0, 8.0, 16.0, 32.0, 64.0 GT/s.
  static constexpr std::uint64_t kTransfersPerSecond[] = {
      2'500'000'000ull, 5'000'000'000ull, 8'000'000'000ull,
      16'000'000'000ull, 32'000'000'000ull, 64'000'000'000ull};
  if (!is_valid_gen(gen)) throw std::invalid_argument("unknown PCIe generation");
  return kTransfersPerSecond[gen - 1];
}

Rational encoding_efficiency(int gen) {
  if (!is_valid_gen(gen)) throw std::invalid_argument("unknown PCIe generation");
  if (gen <= 2) return make_rational(8, 10);      // 8b/10b, PCIe 5.0 §4.2.1
  if (gen <= 5) return make_rational(128, 130);   // 128b/130b, PCIe 5.0 §4.2.2
  return make_rational(236, 256);                 // flit: 236 TLP B per 256 B, PCIe 6.0 §4.2.3.1
}

Rational raw_rate_bps(int gen, int lanes) {
  if (!is_valid_lanes(lanes)) throw std::invalid_argument("unsupported lane count");
  const Rational enc = encoding_efficiency(gen);
  // Largest product: 64e9 * 16 * 59 ~ 6e13, far inside 64 bits.
  return make_rational(transfers_per_second(gen) * static_cast<std::uint64_t>(lanes) * enc.num,
                       enc.den);
}

namespace {

// Splits [address, address + bytes) into pieces of at most `max_bytes` that do
// not cross a 4 KiB boundary, each as large as allowed.
void split_by_size_and_page(std::uint64_t address, std::uint64_t bytes, std::uint64_t max_bytes,
                            std::vector<TlpChunk>& chunks) {
  chunks.clear();
  while (bytes > 0) {
    const std::uint64_t to_boundary = kRequestBoundaryBytes - address % kRequestBoundaryBytes;
    const std::uint64_t n = std::min({bytes, max_bytes, to_boundary});
    chunks.push_back({address, static_cast<std::uint32_t>(n)});
    address += n;
    bytes -= n;
  }
}

}  // namespace

void split_write(const LinkConfig& cfg, std::uint64_t address, std::uint64_t bytes,
                 std::vector<TlpChunk>& out) {
  require_valid(cfg);
  split_by_size_and_page(address, bytes, static_cast<std::uint64_t>(cfg.mps), out);
}

void split_read_requests(const LinkConfig& cfg, std::uint64_t address, std::uint64_t bytes,
                         std::vector<TlpChunk>& out) {
  require_valid(cfg);
  split_by_size_and_page(address, bytes, static_cast<std::uint64_t>(cfg.mrrs), out);
}

void split_completions(const LinkConfig& cfg, const TlpChunk& request, std::vector<TlpChunk>& chunks) {
  require_valid(cfg);
  if (request.bytes > static_cast<std::uint32_t>(cfg.mrrs))
    throw std::invalid_argument("split_completions: request larger than MRRS");
  const std::uint64_t rcb = static_cast<std::uint64_t>(cfg.rcb);
  const std::uint64_t max_bytes =
      cfg.completions_in_rcb_chunks ? rcb : static_cast<std::uint64_t>(cfg.mps);
  chunks.clear();
  std::uint64_t address = request.address;
  std::uint64_t left = request.bytes;
  while (left > 0) {
    std::uint64_t n = std::min(left, max_bytes);
    if (n < left) {
      // Not the last completion: it must end on an RCB boundary. MPS and the
      // RCB are powers of two with RCB <= MPS, so this leaves n >= 1.
      const std::uint64_t end = (address + n) / rcb * rcb;
      n = end - address;
    }
    chunks.push_back({address, static_cast<std::uint32_t>(n)});
    address += n;
    left -= n;
  }
}

std::vector<TlpChunk> split_write(const LinkConfig& cfg, std::uint64_t address,
                                  std::uint64_t bytes) {
  std::vector<TlpChunk> out;
  split_write(cfg, address, bytes, out);
  return out;
}

std::vector<TlpChunk> split_read_requests(const LinkConfig& cfg, std::uint64_t address,
                                          std::uint64_t bytes) {
  std::vector<TlpChunk> out;
  split_read_requests(cfg, address, bytes, out);
  return out;
}

std::vector<TlpChunk> split_completions(const LinkConfig& cfg, const TlpChunk& request) {
  std::vector<TlpChunk> out;
  split_completions(cfg, request, out);
  return out;
}

MemRequestFields mem_request_for(const LinkConfig& cfg, bool write, std::uint64_t address,
                                 std::uint32_t bytes, std::uint8_t tag) {
  require_valid(cfg);
  if (bytes == 0 || payload_dwords(address, bytes) > kMaxTlpLengthDw)
    throw std::invalid_argument("mem_request_for: length must be 1..4096 bytes in 1024 DW");
  MemRequestFields f;
  f.write = write;
  f.addr64 = cfg.addr64;
  f.td = cfg.ecrc;
  f.tag = tag;
  f.address = address & ~std::uint64_t{3};
  const std::uint64_t dws = payload_dwords(address, bytes);
  f.length_dw = static_cast<std::uint16_t>(dws);
  const unsigned first_skip = static_cast<unsigned>(address & 3);  // leading bytes not enabled
  const unsigned end_in_dw = static_cast<unsigned>((address + bytes - 1) & 3);  // last byte
  if (dws == 1) {
    // PCIe 5.0 §2.2.5: a 1-DW request puts all enables in First DW BE, Last DW BE = 0.
    f.first_be = static_cast<std::uint8_t>((0xFu << first_skip) & (0xFu >> (3 - end_in_dw)) & 0xF);
    f.last_be = 0;
  } else {
    f.first_be = static_cast<std::uint8_t>((0xFu << first_skip) & 0xF);
    f.last_be = static_cast<std::uint8_t>(0xFu >> (3 - end_in_dw));
  }
  return f;
}

}  // namespace p2psim::hw
