// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Unit tests for the PCIe TLP framing and link model (models/hw/pcie_tlp.h,
// models/hw/pcie_link.h). The anchor figures are those of docs/anchors.md "PCIe
// links" (pcie-bench, SIGCOMM 2018, model in github pcie-bench/pcie-model);
// the other expected values are worked out by hand in the comments.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "hw/pcie_link.h"
#include "hw/pcie_tlp.h"

using p2psim::hw::DmaOp;
using p2psim::hw::DmaStream;
using p2psim::hw::DmaStreamResult;
using p2psim::hw::LinkConfig;
using p2psim::hw::Rational;
using p2psim::hw::TlpChunk;
using p2psim::hw::TlpKind;
namespace hw = p2psim::hw;

namespace {

// docs/anchors.md validation link: Gen3 x8, MPS 256, MRRS 512, RCB 64, 64-bit, no ECRC.
constexpr LinkConfig kAnchorLink{3, 8, 256, 512, 64, true, false};

bool within_percent(double actual, double expected, double percent) {
  return std::abs(actual - expected) <= std::abs(expected) * percent / 100.0;
}

// Rounds to two decimals, as the paper and docs/anchors.md quote the figures.
double round2(double v) { return std::round(v * 100.0) / 100.0; }

DmaStreamResult run(const LinkConfig& cfg, DmaOp op, std::uint64_t bytes,
                    std::uint64_t count = 20000) {
  DmaStream s;
  s.op = op;
  s.transfer_bytes = bytes;
  s.count = count;
  return hw::run_dma_stream(cfg, s);
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<Rational> {
  static std::string convert(const Rational& r) {
    return std::to_string(r.num) + "/" + std::to_string(r.den);
  }
};
}  // namespace Catch

// ---------------------------------------------------------------------------
// Anchors
// ---------------------------------------------------------------------------

TEST_CASE("analytical model reproduces the pcie-bench Gen3 x8 figures", "[pcie]") {
  // Raw 8 GT/s x 128/130 x 8 = 63.0154 Gb/s; overhead 8/203 + 8/203 + 4/1538.
  CHECK(round2(hw::tlp_ceiling_gbps(kAnchorLink)) == Approx(57.88));
  CHECK(round2(hw::write_bw_gbps(kAnchorLink, 64)) == Approx(42.10));
  CHECK(round2(hw::write_bw_gbps(kAnchorLink, 256)) == Approx(52.92));
  CHECK(round2(hw::write_bw_gbps(kAnchorLink, 1500)) == Approx(52.81));
  CHECK(round2(hw::read_bw_gbps(kAnchorLink, 64)) == Approx(44.10));
  CHECK(round2(hw::read_bw_gbps(kAnchorLink, 256)) == Approx(53.69));
}

TEST_CASE("simulated link reproduces the pcie-bench Gen3 x8 figures within 1 percent",
          "[pcie]") {
  struct Anchor {
    DmaOp op;
    std::uint64_t bytes;
    double gbps;
  };
  const Anchor anchors[] = {{DmaOp::kWrite, 64, 42.10},
                            {DmaOp::kWrite, 256, 52.92},
                            {DmaOp::kWrite, 1500, 52.81},
                            {DmaOp::kRead, 64, 44.10},
                            {DmaOp::kRead, 256, 53.69}};
  for (const Anchor& a : anchors) {
    const DmaStreamResult r = run(kAnchorLink, a.op, a.bytes);
    INFO((a.op == DmaOp::kWrite ? "write " : "read ") << a.bytes << " B: simulated "
                                                      << r.achieved_gbps << " Gb/s");
    CHECK(within_percent(r.achieved_gbps, a.gbps, 1.0));
    // And it agrees with the analytical formula far closer than that.
    const double analytical = a.op == DmaOp::kWrite ? hw::write_bw_gbps(kAnchorLink, a.bytes)
                                                    : hw::read_bw_gbps(kAnchorLink, a.bytes);
    CHECK(within_percent(r.achieved_gbps, analytical, 0.1));
  }
}

TEST_CASE("simulated write stream spends the pcie-model share of the wire on DLLPs and SKPs",
          "[pcie]") {
  const DmaStreamResult r = run(kAnchorLink, DmaOp::kWrite, 256);
  const auto& up = r.upstream;
  const double wire = static_cast<double>(up.tlp_bytes + up.overhead_bytes);
  CHECK(within_percent(static_cast<double>(up.overhead_bytes) / wire,
                       hw::link_overhead_fraction(kAnchorLink), 0.1));
  // One ACK and one UpdateFC per 203 byte times, one SKP per 1538.
  CHECK(within_percent(static_cast<double>(up.ack_dllps), wire / 203.0, 0.1));
  CHECK(within_percent(static_cast<double>(up.updatefc_dllps), wire / 203.0, 0.1));
  CHECK(within_percent(static_cast<double>(up.skp_ordered_sets), wire / 1538.0, 0.1));
  // 20000 writes of 256 B = 20000 MWr of 280 wire bytes.
  CHECK(r.requests == 20000);
  CHECK(up.tlp_bytes == 20000u * 280u);
}

// ---------------------------------------------------------------------------
// Raw rates and other generations
// ---------------------------------------------------------------------------

TEST_CASE("raw rate of Gen1 x1 is exactly 2 Gb/s", "[pcie]") {
  // 2.5 GT/s x 8/10 x 1 lane.
  CHECK(hw::raw_rate_bps(1, 1) == Rational{2'000'000'000, 1});
  CHECK(hw::raw_rate_bps(2, 1) == Rational{4'000'000'000, 1});
  // 8 GT/s x 128/130 = 1024e9/130, kept exact and reduced: 102.4e9/13.
  CHECK(hw::raw_rate_bps(3, 1) == Rational{102'400'000'000, 13});
  // TLP ceiling of Gen1 x1 MPS 256: 2 x (1 - 8/416 - 8/416 - 4/1538) = 1.9179 Gb/s.
  const LinkConfig gen1x1{1, 1, 256, 512, 64, true, false};
  CHECK(hw::tlp_ceiling_gbps(gen1x1) == Approx(2.0 * (1 - 16.0 / 416 - 4.0 / 1538)));
  // One byte takes 8 bits / 2 Gb/s = 4 ns.
  CHECK(hw::PcieLink(gen1x1).byte_time_ps() == Rational{4000, 1});
}

TEST_CASE("Gen4 x4 has the raw rate of Gen3 x8 and its own DLLP rates", "[pcie]") {
  const LinkConfig gen4x4{4, 4, 256, 512, 64, true, false};
  CHECK(hw::raw_rate_bps(gen4x4) == hw::raw_rate_bps(kAnchorLink));
  // x4 MPS 256 row of table 3-9: 214 symbol times, so the ceiling is higher
  // than Gen3 x8 (203): 63.0154 x (1 - 16/214 - 4/1538) = 58.14 Gb/s.
  CHECK(hw::ack_dllp_interval_bytes(gen4x4) == 214);
  CHECK(round2(hw::tlp_ceiling_gbps(gen4x4)) == Approx(58.14));
  // Write 256: 256/280 of that = 53.16; the simulated link agrees within 1 %.
  const double expected = 58.14006 * 256.0 / 280.0;
  CHECK(within_percent(hw::write_bw_gbps(gen4x4, 256), expected, 0.01));
  CHECK(within_percent(run(gen4x4, DmaOp::kWrite, 256).achieved_gbps, expected, 1.0));
}

TEST_CASE("Gen5 x16 ceiling and write bandwidth", "[pcie]") {
  const LinkConfig gen5x16{5, 16, 256, 512, 64, true, false};
  // 32 GT/s x 128/130 x 16 = 504.123 Gb/s = 65536e9/130 = 6553.6e9/13.
  CHECK(hw::raw_rate_bps(gen5x16) == Rational{6'553'600'000'000, 13});
  // x16 MPS 256: 168; 504.123 x (1 - 16/168 - 4/1538) = 454.80 Gb/s.
  CHECK(round2(hw::tlp_ceiling_gbps(gen5x16)) == Approx(454.80));
  const double write4k = 454.80024 * 4096.0 / (4096.0 + 16 * 24);  // 16 MWr of 256 B
  CHECK(within_percent(hw::write_bw_gbps(gen5x16, 4096), write4k, 0.01));
  CHECK(within_percent(run(gen5x16, DmaOp::kWrite, 4096, 5000).achieved_gbps, write4k, 1.0));
  // Read 4096 with MRRS 512: 8 MRd of 24 B up, 16 CplD of 20 B + 4096 B down.
  const double read4k = 454.80024 * 4096.0 / (4096.0 + 16 * 20);
  CHECK(within_percent(hw::read_bw_gbps(gen5x16, 4096), read4k, 0.01));
  CHECK(within_percent(run(gen5x16, DmaOp::kRead, 4096, 5000).achieved_gbps, read4k, 1.0));
}

TEST_CASE("Gen6 flit mode carries 236 of 256 bytes with no per TLP framing or DLLPs",
          "[pcie]") {
  const LinkConfig gen6x16{6, 16, 256, 512, 64, true, false};
  // 64 GT/s x 236/256 x 16 = 944 Gb/s exactly.
  CHECK(hw::raw_rate_bps(gen6x16) == Rational{944'000'000'000, 1});
  CHECK(hw::tlp_overhead_bytes(gen6x16, TlpKind::kMemWrite) == 16);  // header only
  CHECK(hw::tlp_overhead_bytes(gen6x16, TlpKind::kCompletionData) == 12);
  CHECK(hw::ack_dllp_interval_bytes(gen6x16) == 0);
  // Only SKP remains: 944 x (1 - 4/1538) = 941.54 Gb/s.
  CHECK(round2(hw::tlp_ceiling_gbps(gen6x16)) == Approx(941.54));
  const DmaStreamResult r = run(gen6x16, DmaOp::kWrite, 256);
  CHECK(r.upstream.ack_dllps == 0);
  CHECK(r.upstream.updatefc_dllps == 0);
  CHECK(r.upstream.skp_ordered_sets > 0);
  CHECK(within_percent(r.achieved_gbps, 941.5449 * 256.0 / 272.0, 1.0));
  // Sanity: more than twice Gen5 x16 at 256 B, less than 2.2 times.
  const double gen5 = hw::write_bw_gbps(LinkConfig{5, 16, 256, 512, 64, true, false}, 256);
  CHECK(r.achieved_gbps > 2.0 * gen5);
  CHECK(r.achieved_gbps < 2.2 * gen5);
}

// ---------------------------------------------------------------------------
// Splitting
// ---------------------------------------------------------------------------

TEST_CASE("writes split by MPS and at 4 KiB boundaries", "[pcie]") {
  // 512 B at 4000, MPS 256: 96 B up to 4096, then 256, then 160.
  CHECK(hw::split_write(kAnchorLink, 4000, 512) ==
        std::vector<TlpChunk>{{4000, 96}, {4096, 256}, {4352, 160}});
  // Aligned 1500 B: ceil(1500/256) = 6 TLPs, the last 220 B.
  const auto aligned = hw::split_write(kAnchorLink, 0x10000, 1500);
  REQUIRE(aligned.size() == 6);
  CHECK(aligned.back() == TlpChunk{0x10000 + 1280, 220});
  // The same 1500 B at 3000 crosses 4096: 4 x 256, 72 to the boundary, 256, 148.
  CHECK(hw::split_write(kAnchorLink, 3000, 1500).size() == 7);
  // MPS 4096 still splits at the page boundary.
  LinkConfig big = kAnchorLink;
  big.mps = 4096;
  CHECK(hw::split_write(big, 2048, 4096) == std::vector<TlpChunk>{{2048, 2048}, {4096, 2048}});
  CHECK(hw::split_write(kAnchorLink, 0, 0).empty());
}

TEST_CASE("reads split by MRRS and at 4 KiB boundaries", "[pcie]") {
  // 1024 B at 3800, MRRS 512: 296 up to 4096, 512, 216.
  CHECK(hw::split_read_requests(kAnchorLink, 3800, 1024) ==
        std::vector<TlpChunk>{{3800, 296}, {4096, 512}, {4608, 216}});
  LinkConfig mrrs128 = kAnchorLink;
  mrrs128.mrrs = 128;
  CHECK(hw::split_read_requests(mrrs128, 0, 1500).size() == 12);  // ceil(1500/128)
}

TEST_CASE("completions split by MPS or RCB and end on RCB boundaries", "[pcie]") {
  // Aligned 512 B request, MPS 256: two CplDs of 256.
  CHECK(hw::split_completions(kAnchorLink, {0, 512}) ==
        std::vector<TlpChunk>{{0, 256}, {256, 256}});
  // Unaligned: the first completion stops at the RCB boundary 0x1100.
  CHECK(hw::split_completions(kAnchorLink, {0x1010, 512}) ==
        std::vector<TlpChunk>{{0x1010, 240}, {0x1100, 256}, {0x1200, 16}});
  // RCB chunks (older chipsets): 512 / 64 = 8 completions.
  LinkConfig rcb_chunks = kAnchorLink;
  rcb_chunks.completions_in_rcb_chunks = true;
  CHECK(hw::split_completions(rcb_chunks, {0, 512}).size() == 8);
  // ... which costs read bandwidth: 256 B now needs 4 CplDs, 4 x 20 + 256 = 336
  // wire bytes: 57.885 x 256/336 = 44.10 Gb/s instead of 53.69.
  CHECK(round2(hw::read_bw_gbps(rcb_chunks, 256)) == Approx(44.10));
  CHECK(within_percent(run(rcb_chunks, DmaOp::kRead, 256).achieved_gbps, 44.10, 1.0));
  CHECK_THROWS_AS(hw::split_completions(kAnchorLink, {0, 1024}), std::invalid_argument);
}

TEST_CASE("MRRS below MPS costs one completion per request in the simulated link",
          "[pcie]") {
  // A completion never carries data of two requests. With MRRS 128 a 256 B read
  // is 2 MRd and 2 CplD (2 x 20 + 256 = 296 B down: 57.885 x 256/296 = 50.06),
  // while the pcie-model formula counts ceil(256/MPS) = 1 CplD (53.69).
  LinkConfig mrrs128 = kAnchorLink;
  mrrs128.mrrs = 128;
  const DmaStreamResult r = run(mrrs128, DmaOp::kRead, 256);
  CHECK(r.completions == 2 * 20000u);
  CHECK(within_percent(r.achieved_gbps, 57.8848 * 256.0 / 296.0, 1.0));
  CHECK(round2(hw::read_bw_gbps(mrrs128, 256)) == Approx(53.69));
}

// ---------------------------------------------------------------------------
// ECRC, headers, validation, tags
// ---------------------------------------------------------------------------

TEST_CASE("ECRC adds 4 bytes to every TLP", "[pcie]") {
  LinkConfig ecrc = kAnchorLink;
  ecrc.ecrc = true;
  CHECK(hw::tlp_overhead_bytes(ecrc, TlpKind::kMemWrite) == 28);
  CHECK(hw::tlp_overhead_bytes(ecrc, TlpKind::kCompletionData) == 24);
  // Write 64: 57.885 x 64/92 = 40.27; read 64: 57.885 x 64/88 = 42.10.
  CHECK(round2(hw::write_bw_gbps(ecrc, 64)) == Approx(40.27));
  CHECK(round2(hw::read_bw_gbps(ecrc, 64)) == Approx(42.10));
  CHECK(within_percent(run(ecrc, DmaOp::kWrite, 64).achieved_gbps, 40.27, 1.0));
  // And the header says so: TD set.
  CHECK(hw::mem_request_for(ecrc, true, 0x1000, 64, 0).td);
  CHECK_FALSE(hw::mem_request_for(kAnchorLink, true, 0x1000, 64, 0).td);
}

TEST_CASE("TLP headers encode DW0 and round trip", "[pcie]") {
  hw::MemRequestFields f;
  f.write = true;
  f.addr64 = true;
  f.tc = 3;
  f.attr = 0b101;  // IDO, no snoop
  f.length_dw = 64;
  f.requester_id = 0x0100;  // bus 1, device 0, function 0
  f.tag = 0x2A;
  f.first_be = 0xF;
  f.last_be = 0xF;
  f.address = 0x0000'0012'3456'7800ull;
  const hw::TlpHeader h = hw::encode_mem_request(f);
  CHECK(h.size_bytes() == 16);
  CHECK(h.bytes[0] == 0x60);                // Fmt 011b, Type 00000b
  CHECK(h.bytes[1] == ((3 << 4) | 0x04));   // TC 3, Attr[2]
  CHECK(h.bytes[2] == 0x10);                // Attr[1:0] = 01b, Length[9:8] = 0
  CHECK(h.bytes[3] == 64);
  CHECK(h.bytes[4] == 0x01);
  CHECK(h.bytes[6] == 0x2A);
  CHECK(h.bytes[7] == 0xFF);
  CHECK(h.bytes[11] == 0x12);               // address[39:32]
  CHECK(h.bytes[15] == 0x00);
  CHECK(hw::decode_mem_request(h) == f);

  // A 3DW MRd below 4 GiB, and one above refused.
  hw::MemRequestFields rd;
  rd.address = 0x8000'0000;
  CHECK(hw::encode_mem_request(rd).size_bytes() == 12);
  rd.address = 0x1'0000'0000ull;
  CHECK_THROWS_AS(hw::encode_mem_request(rd), std::invalid_argument);

  // Byte enables: 4 bytes at 0x1003 (0x1003..0x1006) touch DWs 0x1000 and 0x1004.
  const auto be = hw::mem_request_for(kAnchorLink, false, 0x1003, 4, 7);
  CHECK(be.length_dw == 2);
  CHECK(be.first_be == 0x8);
  CHECK(be.last_be == 0x7);
  // 6 bytes at 0x1003 reach 0x1008: three DWs, Last DW BE only byte 0.
  const auto three = hw::mem_request_for(kAnchorLink, false, 0x1003, 6, 7);
  CHECK(three.length_dw == 3);
  CHECK(three.last_be == 0x1);
  CHECK(be.address == 0x1000);
  // 2 bytes inside one DW: all enables in First DW BE.
  const auto one = hw::mem_request_for(kAnchorLink, true, 0x1001, 2, 0);
  CHECK(one.length_dw == 1);
  CHECK(one.first_be == 0x6);
  CHECK(one.last_be == 0x0);
}

TEST_CASE("invalid link configurations are refused", "[pcie]") {
  CHECK_FALSE(hw::validate(kAnchorLink).has_value());
  LinkConfig c = kAnchorLink;
  c.gen = 7;
  CHECK(hw::validate(c).has_value());
  c = kAnchorLink;
  c.lanes = 3;
  CHECK_THROWS_AS(hw::require_valid(c), std::invalid_argument);
  c = kAnchorLink;
  c.mps = 100;
  CHECK(hw::validate(c).has_value());
  c = kAnchorLink;
  c.mps = 128;
  c.rcb = 256;  // RCB above MPS
  CHECK(hw::validate(c).has_value());
  c = kAnchorLink;
  c.mrrs = 8192;
  CHECK_THROWS_AS(hw::split_read_requests(c, 0, 64), std::invalid_argument);
}

TEST_CASE("outstanding read tags bound read bandwidth by latency", "[pcie]") {
  // One tag and 1 us completer latency: each 64 B read takes 1 us + MRd (24 B)
  // + CplD (84 B) at 126.953125 ps per byte = 1,013,711 ps.
  DmaStream s;
  s.op = DmaOp::kRead;
  s.transfer_bytes = 64;
  s.count = 2000;
  s.max_outstanding_reads = 1;
  s.completer_latency = 1'000'000;  // ps
  const double per_read_ps = 1'000'000 + 108 * 126.953125;
  const double expected_gbps = 64 * 8 * 1000.0 / per_read_ps;  // 0.505 Gb/s
  CHECK(within_percent(hw::run_dma_stream(kAnchorLink, s).achieved_gbps, expected_gbps, 1.0));
  // Enough tags to cover the latency (1 us / 84 B CplD time ~ 94) restore the
  // ceiling; a long stream hides the 1 us before the first completion.
  s.max_outstanding_reads = 256;
  s.count = 50000;
  CHECK(within_percent(hw::run_dma_stream(kAnchorLink, s).achieved_gbps, 44.10, 1.0));
  s.max_outstanding_reads = 0;
  CHECK_THROWS_AS(hw::run_dma_stream(kAnchorLink, s), std::invalid_argument);
}

TEST_CASE("link serialises TLPs back to back in picoseconds", "[pcie]") {
  hw::PcieLink link(kAnchorLink, 5000);
  // Byte time 8 / 63.0154 Gb/s = 126.953125 ps = 8125/64.
  CHECK(link.byte_time_ps() == Rational{8125, 64});
  // MWr of 256 B = 280 B = 35546.875 ps, ends at slot 280 = 35546 ps (floor).
  const auto a = link.send_tlp(hw::Direction::kUpstream, 0, TlpKind::kMemWrite, 256);
  CHECK(a.start == 0);
  CHECK(a.end == 35546);
  CHECK(a.arrival == 35546 + 5000);
  // The next one queues behind it, after the ACK and UpdateFC DLLPs that fell
  // due at byte time 203 during the first (8 B each): it starts at slot 296.
  const auto b = link.send_tlp(hw::Direction::kUpstream, 0, TlpKind::kMemWrite, 256);
  CHECK(b.start == link.slot_start_ps(280 + 16));
  CHECK(link.stats(hw::Direction::kUpstream).ack_dllps == 1);
  CHECK(link.stats(hw::Direction::kUpstream).updatefc_dllps == 1);
  CHECK(link.stats(hw::Direction::kUpstream).skp_ordered_sets == 0);
  // The other direction is independent.
  const auto c = link.send_tlp(hw::Direction::kDownstream, 0, TlpKind::kCompletionData, 64);
  CHECK(c.start == 0);
  CHECK(c.end == link.slot_start_ps(84));
}
