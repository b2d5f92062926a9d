// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Unit tests for the transaction-level PCIe fabric (models/hw/pcie_fabric.h).
// Bandwidth anchors are docs/anchors.md "PCIe links" (pcie-bench, SIGCOMM 2018),
// checked against write_bw_gbps()/read_bw_gbps() of pcie_link.h; latencies and
// the root-complex figure come from docs/anchors.md "Switches and root complexes".
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "hw/pci_topology.h"
#include "hw/pcie_fabric.h"
#include "hw/pcie_link.h"

namespace hw = p2psim::hw;
using hw::DeviceId;
using hw::Direction;
using hw::DmaOp;
using hw::DmaRequest;
using hw::FabricConfig;
using hw::HopKind;
using hw::LinkConfig;
using hw::PcieFabric;
using hw::PciTopology;
using hw::Transfer;
using p2psim::ps_t;

namespace {

constexpr LinkConfig kAnchorLink{3, 8, 256, 512, 64, true, false};
constexpr LinkConfig kGen3x16{3, 16, 256, 512, 64, true, false};
constexpr LinkConfig kGen3x4{3, 4, 256, 512, 64, true, false};
// DRAM below the 32-bit MMIO hole, where the BARs are (as the loader assigns them).
constexpr std::uint64_t kDramSize = 2ull << 30;
constexpr std::uint64_t kBar0 = 0xe0000000ull;
constexpr std::uint64_t kBar1 = 0xe4000000ull;
constexpr std::uint64_t kBarSize = 64ull << 20;

bool within_percent(double actual, double expected, double percent) {
  return std::abs(actual - expected) <= std::abs(expected) * percent / 100.0;
}

/// hb0 - rp0 - ep0: one link between an endpoint and the root complex.
struct SingleLink {
  PciTopology topo;
  DeviceId rp = 0, ep = 0;
  SingleLink() {
    const auto h = topo.add_host_bridge(0, 0);
    rp = topo.add_root_port(h, 1, 0, 1);
    ep = topo.add_endpoint(rp, 0);
  }
  FabricConfig config() const {
    FabricConfig c;
    c.hosts[0].dram = {0, kDramSize};
    c.names = {{rp, "rp0"}, {ep, "ep0"}};
    return c;
  }
};

/// hb0 - rp0 - sw0 { dsp0 - ep0, dsp1 - ep1 }, BARs on both endpoints.
struct SwitchBox {
  PciTopology topo;
  DeviceId rp = 0, usp = 0, dsp0 = 0, dsp1 = 0, ep0 = 0, ep1 = 0;
  SwitchBox() {
    const auto h = topo.add_host_bridge(0, 0);
    rp = topo.add_root_port(h, 1, 0, 1);
    usp = topo.add_switch_upstream_port(rp, 2);
    dsp0 = topo.add_switch_downstream_port(usp, 0, 3);
    dsp1 = topo.add_switch_downstream_port(usp, 1, 4);
    ep0 = topo.add_endpoint(dsp0, 0);
    ep1 = topo.add_endpoint(dsp1, 0);
  }
  FabricConfig config() const {
    FabricConfig c;
    c.hosts[0].dram = {0, kDramSize};
    c.bars[ep0] = {{kBar0, kBarSize}};
    c.bars[ep1] = {{kBar1, kBarSize}};
    c.names = {{rp, "rp0"}, {usp, "sw0"}, {dsp0, "sw0p0"}, {dsp1, "sw0p1"},
               {ep0, "ep0"}, {ep1, "ep1"}};
    c.host_names[0] = "hb0";
    return c;
  }
};

/// hb0 { rp0 - ep0, rp1 - ep1 }: peers on two root ports, Gen3 x16 links.
struct TwoRootPorts {
  PciTopology topo;
  DeviceId rp0 = 0, rp1 = 0, ep0 = 0, ep1 = 0;
  TwoRootPorts() {
    const auto h = topo.add_host_bridge(0, 0);
    rp0 = topo.add_root_port(h, 1, 0, 1);
    rp1 = topo.add_root_port(h, 2, 0, 2);
    ep0 = topo.add_endpoint(rp0, 0);
    ep1 = topo.add_endpoint(rp1, 0);
  }
  FabricConfig config() const {
    FabricConfig c;
    c.default_link = kGen3x16;
    c.hosts[0].dram = {0, kDramSize};
    c.bars[ep0] = {{kBar0, kBarSize}};
    c.bars[ep1] = {{kBar1, kBarSize}};
    c.names = {{rp0, "rp0"}, {rp1, "rp1"}, {ep0, "ep0"}, {ep1, "ep1"}};
    return c;
  }
};

/// `count` back-to-back DMAs of `bytes` from @requester, page-aligned buffers
/// from @base, all issued at t = 0 in one batch; returns payload Gb/s.
double stream_gbps(PcieFabric& f, DmaOp op, DeviceId requester, std::uint64_t base,
                   std::uint64_t bytes, std::uint64_t count) {
  std::vector<DmaRequest> batch;
  const std::uint64_t stride = (bytes + 4095) / 4096 * 4096;
  for (std::uint64_t i = 0; i < count; ++i)
    batch.push_back({op, requester, base + i * stride, bytes, 0});
  ps_t end = 0;
  for (const Transfer& t : f.run(batch)) {
    REQUIRE(t.ok);
    end = std::max(end, t.end);
  }
  return static_cast<double>(bytes * count) * 8.0 * 1000.0 / static_cast<double>(end);
}

std::vector<HopKind> kinds(const std::vector<hw::Hop>& path) {
  std::vector<HopKind> k;
  for (const hw::Hop& h : path) k.push_back(h.kind);
  return k;
}

}  // namespace

// ---------------------------------------------------------------------------
// Bandwidth anchors
// ---------------------------------------------------------------------------

TEST_CASE("fabric endpoint to DRAM reproduces the pcie-bench Gen3 x8 figures within 1 percent",
          "[fabric]") {
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
    SingleLink s;
    PcieFabric f(s.topo, s.config());
    REQUIRE(f.link_config(s.rp).lanes == 8);
    const double got = stream_gbps(f, a.op, s.ep, 0x100000, a.bytes, 20000);
    const double ref = a.op == DmaOp::kWrite ? hw::write_bw_gbps(kAnchorLink, a.bytes)
                                             : hw::read_bw_gbps(kAnchorLink, a.bytes);
    INFO((a.op == DmaOp::kWrite ? "write " : "read ") << a.bytes << " B: fabric " << got
                                                      << " Gb/s, pcie-model " << ref);
    CHECK(within_percent(got, a.gbps, 1.0));
    CHECK(within_percent(got, ref, 1.0));
  }
}

TEST_CASE("fabric peer stream through a cut-through switch keeps the link rate", "[fabric]") {
  SwitchBox b;
  PcieFabric f(b.topo, b.config());
  const double got = stream_gbps(f, DmaOp::kWrite, b.ep0, kBar1, 4096, 2000);
  CHECK(within_percent(got, hw::write_bw_gbps(kAnchorLink, 4096), 1.0));
  CHECK(f.link_stats(b.rp, Direction::kUpstream).tlps == 0);
  CHECK(f.link_stats(b.rp, Direction::kDownstream).tlps == 0);
}

// ---------------------------------------------------------------------------
// Switches and ACS
// ---------------------------------------------------------------------------

TEST_CASE("fabric peer write through a switch skips the root port and costs one switch hop",
          "[fabric]") {
  SingleLink s;
  PcieFabric direct(s.topo, s.config());
  const Transfer one = direct.dma_write(s.ep, 0x1000, 64, 0);
  REQUIRE(one.ok);
  // 64 B MWr = 88 wire bytes at 126.95 ps.
  CHECK(one.duration() == 11171);

  SwitchBox b;
  PcieFabric f(b.topo, b.config());
  const Transfer t = f.dma_write(b.ep0, kBar1 + 0x40, 64, 0);
  REQUIRE(t.ok);
  CHECK(kinds(t.path) == std::vector<HopKind>{HopKind::kLink, HopKind::kSwitch, HopKind::kLink,
                                              HopKind::kEndpoint});
  CHECK(f.hop_name(t.path[0]) == "sw0p0--ep0 up");
  CHECK(f.hop_name(t.path[1]) == "switch sw0 sw0p0->sw0p1");
  CHECK(f.hop_name(t.path[2]) == "sw0p1--ep1 down");
  CHECK(f.hop_name(t.path[3]) == "ep1 BAR");
  CHECK_FALSE(t.uses_link(b.rp));
  CHECK_FALSE(t.crossed_root_complex);
  CHECK_FALSE(t.acs_redirected);
  CHECK(t.bytes == 64);
  CHECK(t.request_tlps == 1);
  CHECK(f.link_stats(b.rp, Direction::kUpstream).tlps == 0);
  CHECK(f.link_stats(b.dsp1, Direction::kDownstream).tlps == 1);
  // One switch hop on top of the same wire time (within one byte slot).
  CHECK(t.duration() >= one.duration() + hw::kDefaultSwitchLatency);
  CHECK(t.duration() <= one.duration() + hw::kDefaultSwitchLatency + 127);
}

TEST_CASE("fabric switch latency is configurable per switch", "[fabric]") {
  SwitchBox b;
  PcieFabric base(b.topo, b.config());
  FabricConfig c = b.config();
  c.switch_latency[b.usp] = hw::kPex87xxSwitchLatencyMax;
  PcieFabric slow(b.topo, c);
  CHECK(slow.switch_latency(b.usp) == 150000);
  const Transfer t0 = base.dma_write(b.ep0, kBar1, 64, 0);
  const Transfer t1 = slow.dma_write(b.ep0, kBar1, 64, 0);
  const auto diff = static_cast<std::int64_t>(t1.duration()) - static_cast<std::int64_t>(t0.duration());
  CHECK(std::abs(diff - 40000) <= 127);
}

TEST_CASE("fabric cut-through adds the switch latency to the slower link either way",
          "[fabric]") {
  // ep0 on Gen3 x4, ep1 on Gen3 x16. A 256 B MWr (280 wire bytes) takes 71.1 ns
  // on x4 and 17.8 ns on x16. Slow in, fast out: the egress waits until it
  // cannot run dry, so the last byte leaves 110 ns after it came in. Fast in,
  // slow out: the egress starts 110 ns after the first byte.
  SwitchBox b;
  FabricConfig c = b.config();
  c.links[b.dsp0] = kGen3x4;
  c.links[b.dsp1] = kGen3x16;
  c.links[b.rp] = kGen3x16;
  const ps_t x4_wire = 280 * 253906 / 1000;  // 253.906 ps per byte on x4
  // Tolerance: 16 x4 byte slots, an ACK + UpdateFC DLLP that falls due on the
  // idle x4 link just before the TLP is ready goes out first.
  constexpr std::int64_t kSlack = 16 * 254;
  {
    PcieFabric f(b.topo, c);
    const Transfer up = f.dma_write(b.ep0, kBar1, 256, 0);
    REQUIRE(up.ok);
    CHECK(std::abs(static_cast<std::int64_t>(up.duration()) -
                   static_cast<std::int64_t>(x4_wire + hw::kDefaultSwitchLatency)) <= kSlack);
  }
  {
    PcieFabric f(b.topo, c);
    const Transfer down = f.dma_write(b.ep1, kBar0, 256, 0);
    REQUIRE(down.ok);
    CHECK(std::abs(static_cast<std::int64_t>(down.duration()) -
                   static_cast<std::int64_t>(x4_wire + hw::kDefaultSwitchLatency)) <= kSlack);
  }
}

TEST_CASE("fabric ACS request redirect sends peer traffic up through the root complex",
          "[fabric]") {
  SwitchBox b;
  b.topo.set_acs_ctrl(b.dsp0, hw::acs::kSourceValidation | hw::acs::kRequestRedirect |
                                  hw::acs::kCompletionRedirect | hw::acs::kUpstreamForwarding);
  b.topo.set_acs_ctrl(b.dsp1, hw::acs::kSourceValidation | hw::acs::kRequestRedirect |
                                  hw::acs::kCompletionRedirect | hw::acs::kUpstreamForwarding);
  PcieFabric f(b.topo, b.config());
  const Transfer t = f.dma_write(b.ep0, kBar1, 64, 0);
  REQUIRE(t.ok);
  CHECK(t.acs_redirected);
  CHECK(t.crossed_root_complex);
  CHECK(t.rc_peer_forwarded);
  CHECK(kinds(t.path) == std::vector<HopKind>{HopKind::kLink, HopKind::kSwitch, HopKind::kLink,
                                              HopKind::kRootComplex, HopKind::kLink,
                                              HopKind::kSwitch, HopKind::kLink,
                                              HopKind::kEndpoint});
  CHECK(f.hop_name(t.path[3]) == "root complex hb0 rp0->rp0 p2p");
  CHECK(t.uses_link(b.rp));
  CHECK(f.link_stats(b.rp, Direction::kUpstream).tlps == 1);
  CHECK(f.link_stats(b.rp, Direction::kDownstream).tlps == 1);
  CHECK(f.rc_p2p_bytes(0) == 64);
  // Two switch hops and the RC: 88 B on four links, the first two and the last
  // two cut through, the RC takes the TLP whole: 2 x 11.17 + 110 + 110 + 110 ns.
  CHECK(std::abs(static_cast<std::int64_t>(t.duration()) - 352343) <= 500);

  // Without redirect the same write crosses the switch only.
  SwitchBox plain;
  PcieFabric g(plain.topo, plain.config());
  const Transfer u = g.dma_write(plain.ep0, kBar1, 64, 0);
  CHECK_FALSE(u.acs_redirected);
  CHECK(u.duration() + 2 * hw::kDefaultSwitchLatency < t.duration());
}

TEST_CASE("fabric ACS completion redirect alone sends only the completions up", "[fabric]") {
  SwitchBox b;
  b.topo.set_acs_ctrl(b.dsp1, hw::acs::kCompletionRedirect);
  PcieFabric f(b.topo, b.config());
  const Transfer t = f.dma_read(b.ep0, kBar1, 512, 0);
  REQUIRE(t.ok);
  CHECK(t.bytes == 512);
  CHECK(t.request_tlps == 1);
  CHECK(t.completion_tlps == 2);
  CHECK(kinds(t.path) == std::vector<HopKind>{HopKind::kLink, HopKind::kSwitch, HopKind::kLink,
                                              HopKind::kEndpoint});
  CHECK(t.completion_path.size() == 8);
  CHECK(t.hops(HopKind::kRootComplex) == 1);
  CHECK(t.acs_redirected);
  CHECK(f.link_stats(b.rp, Direction::kUpstream).tlps == 2);
  CHECK(f.link_stats(b.rp, Direction::kUpstream).tlp_bytes == 2 * (20 + 256));
  CHECK(f.link_stats(b.rp, Direction::kDownstream).tlps == 2);
}

TEST_CASE("fabric blocked root complex fails redirected peer traffic", "[fabric]") {
  SwitchBox b;
  b.topo.set_acs_ctrl(b.dsp0, hw::acs::kRequestRedirect);
  FabricConfig c = b.config();
  c.hosts[0].p2p_allowed = false;
  PcieFabric f(b.topo, c);
  const Transfer t = f.dma_write(b.ep0, kBar1, 4096, 0);
  CHECK_FALSE(t.ok);
  CHECK(t.error.find("blocks peer-to-peer") != std::string::npos);
  CHECK(t.bytes == 0);
  CHECK(t.end == t.issue);
  CHECK(f.link_stats(b.dsp0, Direction::kUpstream).tlps == 0);
  // The other way round dsp1 has no redirect: the switch routes it directly.
  const Transfer back = f.dma_write(b.ep1, kBar0, 4096, 0);
  CHECK(back.ok);
  CHECK_FALSE(back.crossed_root_complex);
  // DMA to DRAM does not need peer forwarding.
  CHECK(f.dma_write(b.ep0, 0x2000, 4096, 0).ok);
}

// ---------------------------------------------------------------------------
// Root complex peer-to-peer
// ---------------------------------------------------------------------------

TEST_CASE("fabric RC P2P bandwidth caps a peer transfer across root ports", "[fabric]") {
  TwoRootPorts r;
  FabricConfig c = r.config();
  c.hosts[0].p2p_bytes_per_sec = hw::kXeonE5v4RcP2pBytesPerSec;
  constexpr std::uint64_t kBytes = 16ull << 20;
  {
    PcieFabric f(r.topo, c);
    const Transfer t = f.dma_write(r.ep0, kBar1, kBytes, 0);
    REQUIRE(t.ok);
    CHECK(t.rc_peer_forwarded);
    CHECK(f.hop_name(t.path[1]) == "root complex host0 rp0->rp1 p2p");
    CHECK(f.rc_p2p_bytes(0) == kBytes);
    CHECK(within_percent(t.gbps() / 8.0, 7.1, 1.0));  // GB/s
    // Reads: the completions carry the data through the RC.
    const Transfer rd = f.dma_read(r.ep0, kBar1, kBytes, t.end);
    REQUIRE(rd.ok);
    CHECK(rd.hops(HopKind::kRootComplex) == 2);  // the MRds and the CplDs
    CHECK(within_percent(rd.gbps() / 8.0, 7.1, 1.0));
  }
  {
    // The same endpoint into DRAM is limited by its x16 link only.
    PcieFabric f(r.topo, c);
    const Transfer t = f.dma_write(r.ep0, 0x100000, kBytes, 0);
    REQUIRE(t.ok);
    CHECK_FALSE(t.rc_peer_forwarded);
    CHECK(t.crossed_root_complex);
    CHECK(within_percent(t.gbps(), hw::write_bw_gbps(kGen3x16, kBytes), 1.0));
  }
  {
    // With no RC limit the peer write runs at the link rate too.
    PcieFabric f(r.topo, r.config());
    const Transfer t = f.dma_write(r.ep0, kBar1, kBytes, 0);
    CHECK(within_percent(t.gbps(), hw::write_bw_gbps(kGen3x16, kBytes), 1.0));
  }
  {
    c.hosts[0].p2p_allowed = false;
    PcieFabric f(r.topo, c);
    const Transfer t = f.dma_write(r.ep0, kBar1, 4096, 0);
    CHECK_FALSE(t.ok);
    CHECK(t.error == "root complex host0 blocks peer-to-peer rp0 -> rp1");
  }
}

// ---------------------------------------------------------------------------
// Sharing
// ---------------------------------------------------------------------------

TEST_CASE("fabric two concurrent streams split a shared upstream link", "[fabric]") {
  constexpr std::uint64_t kBytes = 4ull << 20;
  SwitchBox b;
  const double link = hw::write_bw_gbps(kAnchorLink, kBytes);
  {
    PcieFabric f(b.topo, b.config());
    const auto t = f.run({{DmaOp::kWrite, b.ep0, 0x100000, kBytes, 0},
                          {DmaOp::kWrite, b.ep1, 0x10000000, kBytes, 0}});
    REQUIRE(t[0].ok);
    REQUIRE(t[1].ok);
    INFO("stream 0 " << t[0].gbps() << " Gb/s, stream 1 " << t[1].gbps() << " Gb/s");
    CHECK(within_percent(t[0].gbps(), link / 2, 1.0));
    CHECK(within_percent(t[1].gbps(), link / 2, 1.0));
    const double together = static_cast<double>(2 * kBytes) * 8000.0 /
                            static_cast<double>(std::max(t[0].end, t[1].end));
    CHECK(within_percent(together, link, 1.0));
  }
  {
    // Alone, one stream gets the whole link.
    PcieFabric f(b.topo, b.config());
    CHECK(within_percent(f.dma_write(b.ep0, 0x100000, kBytes, 0).gbps(), link, 1.0));
  }
  {
    // With an x16 upstream link both run at (nearly) their own x8 rate. Not
    // quite: the pcie-model's DLLP tables charge Gen3 x16 MPS 256 an ACK and an
    // UpdateFC every 168 byte times against 203 on x8, so x16 carries 1.96x an
    // x8 link, and two full x8 streams overrun it by ~2 %.
    FabricConfig c = b.config();
    c.links[b.usp] = kGen3x16;
    c.links[b.rp] = kGen3x16;
    PcieFabric f(b.topo, c);
    const auto t = f.run({{DmaOp::kWrite, b.ep0, 0x100000, kBytes, 0},
                          {DmaOp::kWrite, b.ep1, 0x10000000, kBytes, 0}});
    INFO("x16 uplink: stream 0 " << t[0].gbps() << " Gb/s, stream 1 " << t[1].gbps() << " Gb/s");
    const double fair = std::min(link, hw::write_bw_gbps(kGen3x16, kBytes) / 2);
    CHECK(fair < link * 0.99);
    CHECK(within_percent(t[0].gbps(), fair, 1.0));
    CHECK(within_percent(t[1].gbps(), fair, 1.0));
  }
}

// ---------------------------------------------------------------------------
// Latency and tags
// ---------------------------------------------------------------------------

TEST_CASE("fabric 64 B read latency to DRAM matches the pcie-bench Haswell median", "[fabric]") {
  SingleLink s;
  PcieFabric f(s.topo, s.config());
  const Transfer t = f.dma_read(s.ep, 0x4000, 64, 0);
  REQUIRE(t.ok);
  CHECK(kinds(t.path) == std::vector<HopKind>{HopKind::kLink, HopKind::kMemory});
  CHECK(kinds(t.completion_path) == std::vector<HopKind>{HopKind::kLink, HopKind::kEndpoint});
  CHECK(t.crossed_root_complex);
  CHECK_FALSE(t.rc_peer_forwarded);
  INFO("64 B read latency " << t.duration() << " ps");
  CHECK(within_percent(static_cast<double>(t.duration()), 546000.0, 1.0));

  // Behind a switch: two more links' wire time and two switch hops.
  SwitchBox b;
  PcieFabric g(b.topo, b.config());
  const Transfer u = g.dma_read(b.ep0, 0x4000, 64, 0);
  REQUIRE(u.ok);
  CHECK(u.hops(HopKind::kSwitch) == 2);
  CHECK(u.duration() >= t.duration() + 2 * hw::kDefaultSwitchLatency);
  // (cut-through hides the extra wire time; a DLLP due on a link may add a few ns)
  CHECK(u.duration() <= t.duration() + 2 * hw::kDefaultSwitchLatency + 4000);
}

TEST_CASE("fabric read tags limit outstanding reads per requester", "[fabric]") {
  SingleLink s;
  FabricConfig c = s.config();
  c.read_tags[s.ep] = 1;
  PcieFabric one(s.topo, c);
  PcieFabric many(s.topo, s.config());
  std::vector<DmaRequest> batch;
  for (std::uint64_t i = 0; i < 32; ++i) batch.push_back({DmaOp::kRead, s.ep, i * 4096, 64, 0});
  ps_t end_one = 0, end_many = 0;
  for (const Transfer& t : one.run(batch)) end_one = std::max(end_one, t.end);
  for (const Transfer& t : many.run(batch)) end_many = std::max(end_many, t.end);
  // One tag: every read waits for the one before, ~546 ns each.
  CHECK(end_one >= 32 * 545000);
  CHECK(end_one <= 32 * 547000);
  // 256 tags: one latency, then the 32 CplDs (84 B, 10.7 ns each) back to back.
  CHECK(end_many < 1000000);
}

// ---------------------------------------------------------------------------
// Address map and routing errors
// ---------------------------------------------------------------------------

TEST_CASE("fabric bridge windows cover the BARs below them", "[fabric]") {
  SwitchBox b;
  PcieFabric f(b.topo, b.config());
  REQUIRE(f.memory_window(b.dsp0));
  CHECK(f.memory_window(b.dsp0)->base == kBar0);
  CHECK(f.memory_window(b.dsp0)->size == kBarSize);
  CHECK(f.memory_window(b.dsp1)->base == kBar1);
  CHECK(f.memory_window(b.usp)->base == kBar0);
  CHECK(f.memory_window(b.usp)->end() == kBar1 + kBarSize);
  CHECK(f.memory_window(b.rp)->end() == kBar1 + kBarSize);
  CHECK_FALSE(f.memory_window(b.ep0));
  CHECK(f.link_ports() == std::vector<DeviceId>{b.rp, b.dsp0, b.dsp1});
  CHECK(f.port_above(b.usp) == b.rp);
}

TEST_CASE("fabric rejects an address map that routing by window cannot serve", "[fabric]") {
  SwitchBox b;
  FabricConfig overlap = b.config();
  overlap.bars[b.ep1] = {{kBar0 + 0x1000, 0x1000}};
  CHECK_THROWS_AS(PcieFabric(b.topo, overlap), std::invalid_argument);
  FabricConfig in_dram = b.config();
  in_dram.bars[b.ep1] = {{0x1000, 0x1000}};
  CHECK_THROWS_AS(PcieFabric(b.topo, in_dram), std::invalid_argument);

  // ep0's window [kBar0, kBar1 + size) would swallow ep1's BAR on the other
  // root port: a bridge window must only cover what is below it.
  TwoRootPorts r;
  FabricConfig interleaved = r.config();
  interleaved.bars[r.ep0] = {{kBar0, 0x1000}, {kBar1 + 0x100000, 0x1000}};
  CHECK_THROWS_AS(PcieFabric(r.topo, interleaved), std::invalid_argument);
}

TEST_CASE("fabric reports unroutable transfers", "[fabric]") {
  SwitchBox b;
  PcieFabric f(b.topo, b.config());
  const Transfer nowhere = f.dma_write(b.ep0, 0x9'0000'0000ull, 64, 0);
  CHECK_FALSE(nowhere.ok);
  CHECK(nowhere.error.find("nothing claims address 0x900000000") != std::string::npos);
  const Transfer self = f.dma_read(b.ep0, kBar0, 64, 0);
  CHECK_FALSE(self.ok);
  CHECK(self.error.find("ingress port sw0p0") != std::string::npos);
  const Transfer past_end = f.dma_write(b.ep0, kBar1 + kBarSize - 64, 128, 0);
  CHECK_FALSE(past_end.ok);
  CHECK_THROWS_AS(f.dma_write(b.usp, 0, 64, 0), std::invalid_argument);
  CHECK_THROWS_AS(f.dma_write(b.ep0, 0, 0, 0), std::invalid_argument);
  for (DeviceId port : f.link_ports()) {
    CHECK(f.link_stats(port, Direction::kUpstream).tlps == 0);
    CHECK(f.link_stats(port, Direction::kDownstream).tlps == 0);
  }
}

TEST_CASE("fabric link configs of both ends train to the lower one", "[fabric]") {
  SwitchBox b;
  FabricConfig c = b.config();
  c.links[b.rp] = LinkConfig{4, 16, 512, 512, 64, true, false};
  c.links[b.usp] = LinkConfig{3, 16, 256, 1024, 64, true, false};
  PcieFabric f(b.topo, c);
  CHECK(f.link_config(b.rp).gen == 3);
  CHECK(f.link_config(b.rp).lanes == 16);
  CHECK(f.link_config(b.rp).mps == 256);
  CHECK(f.link_config(b.dsp0).lanes == 8);
}

TEST_CASE("fabric runs are deterministic", "[fabric]") {
  SwitchBox b;
  b.topo.set_acs_ctrl(b.dsp1, hw::acs::kRequestRedirect);
  std::vector<DmaRequest> batch;
  for (std::uint64_t i = 0; i < 50; ++i) {
    batch.push_back({DmaOp::kRead, b.ep0, kBar1 + i * 8192, 3000, i * 100});
    batch.push_back({DmaOp::kWrite, b.ep1, kBar0 + i * 4096, 1500, i * 70});
    batch.push_back({DmaOp::kRead, b.ep1, 0x100000 + i * 4096, 700, i * 30});
  }
  PcieFabric f1(b.topo, b.config());
  PcieFabric f2(b.topo, b.config());
  const auto r1 = f1.run(batch);
  const auto r2 = f2.run(batch);
  REQUIRE(r1.size() == r2.size());
  for (std::size_t i = 0; i < r1.size(); ++i) {
    CHECK(r1[i].ok);
    CHECK(r1[i].start == r2[i].start);
    CHECK(r1[i].end == r2[i].end);
    CHECK(r1[i].completion_tlps == r2[i].completion_tlps);
  }
  for (DeviceId port : f1.link_ports())
    for (Direction d : {Direction::kUpstream, Direction::kDownstream}) {
      CHECK(f1.link_stats(port, d).tlp_bytes == f2.link_stats(port, d).tlp_bytes);
      CHECK(f1.link_stats(port, d).overhead_bytes == f2.link_stats(port, d).overhead_bytes);
    }
}

// ---------------------------------------------------------------------------
// Flow-control credits
// ---------------------------------------------------------------------------

TEST_CASE("fabric credits: a slow egress back-pressures the ingress link instead of queueing", "[fabric][credits]") {
  // ep0 on a Gen3 x16 link writes 1 MiB into ep1's BAR behind a Gen3 x1 link;
  // in the same batch, after it, ep0 writes 4 KiB to DRAM.
  constexpr std::uint64_t kBytes = 1ull << 20;
  SwitchBox b;
  FabricConfig c = b.config();
  c.links[b.dsp0] = kGen3x16;
  c.links[b.dsp1] = LinkConfig{3, 1, 256, 512, 64, true, false};
  c.links[b.rp] = kGen3x16;
  auto run = [&](const FabricConfig& cfg, hw::CreditStats* stats) {
    PcieFabric f(b.topo, cfg);
    auto t = f.run({{DmaOp::kWrite, b.ep0, kBar1, kBytes, 0}, {DmaOp::kWrite, b.ep0, 0x100000, 4096, 0}});
    REQUIRE(t[0].ok);
    REQUIRE(t[1].ok);
    if (stats) *stats = f.credit_stats(b.dsp0, Direction::kUpstream);
    return t;
  };
  hw::CreditStats none{}, limited{};
  const auto unbounded = run(c, &none);
  // The switch port above ep0 buffers 8 posted TLPs of 256 B (16 data credits each).
  c.credits[b.dsp0] = hw::FlowControlCredits{8, 8 * 16, 0, 0, 0, 0};
  const auto bounded = run(c, &limited);
  // The big write ends when the x1 link has carried it, either way.
  CHECK(within_percent(static_cast<double>(bounded[0].end), static_cast<double>(unbounded[0].end), 0.5));
  // Unbounded, the switch soaks up the whole megabyte at x16 speed and the
  // DRAM write goes at once; bounded, it waits behind the stalled writes.
  INFO("DRAM write ends at " << unbounded[1].end << " ps unbounded, " << bounded[1].end << " ps bounded");
  CHECK(unbounded[1].end < unbounded[0].end / 10);
  CHECK(bounded[1].end > bounded[0].end * 9 / 10);
  CHECK(none.stalled_tlps == 0);
  CHECK(limited.stalled_tlps > 4000 - 8 - 1);  // 4096 TLPs, all but the first 8 wait
  CHECK(limited.stall_ps > 0);
}

TEST_CASE("fabric credits: enough credits change nothing, and fewer than one TLP are refused", "[fabric][credits]") {
  SwitchBox b;
  FabricConfig c = b.config();
  PcieFabric plain(b.topo, c);
  const Transfer a = plain.dma_write(b.ep0, kBar1, 256 << 10, 0);
  c.credits[b.dsp0] = hw::FlowControlCredits{4096, 1 << 20, 4096, 0, 4096, 1 << 20};
  c.credits[b.ep1] = hw::FlowControlCredits{4096, 1 << 20, 4096, 0, 4096, 1 << 20};
  PcieFabric roomy(b.topo, c);
  const Transfer r = roomy.dma_write(b.ep0, kBar1, 256 << 10, 0);
  CHECK(r.end == a.end);
  CHECK(roomy.credit_stats(b.dsp0, Direction::kUpstream).stalled_tlps == 0);
  c.credits[b.dsp0] = hw::FlowControlCredits{8, 8, 0, 0, 0, 0};  // 8 data credits: 128 B < MPS 256
  CHECK_THROWS_WITH(PcieFabric(b.topo, c), Catch::Contains("less than one TLP of MPS 256 needs (16)"));
}

TEST_CASE("fabric credits: completions wait for the requester's completion credits", "[fabric][credits]") {
  // ep0 reads 256 KiB of DRAM over a link with 50 ns of propagation each way.
  SingleLink s;
  FabricConfig c = s.config();
  c.propagation = 50'000;
  PcieFabric plain(s.topo, c);
  const Transfer a = plain.dma_read(s.ep, 0x100000, 256 << 10, 0);
  // Room for two CplDs: a credit comes back 50 ns after its TLP left the
  // wire, later than the wire could take the one after next.
  c.credits[s.ep] = hw::FlowControlCredits{0, 0, 0, 0, 2, 2 * 16};
  PcieFabric two(s.topo, c);
  const Transfer b = two.dma_read(s.ep, 0x100000, 256 << 10, 0);
  // Room for one: every CplD waits until the one before it has arrived.
  c.credits[s.ep] = hw::FlowControlCredits{0, 0, 0, 0, 1, 16};
  PcieFabric one(s.topo, c);
  const Transfer d = one.dma_read(s.ep, 0x100000, 256 << 10, 0);
  REQUIRE(a.ok);
  REQUIRE(b.ok);
  REQUIRE(d.ok);
  CHECK(b.completion_tlps == a.completion_tlps);
  INFO("unbounded " << a.end << " ps, two credits " << b.end << " ps, one credit " << d.end << " ps");
  CHECK(a.end < b.end);
  CHECK(b.end < d.end);
  CHECK(two.credit_stats(s.rp, Direction::kDownstream).stalled_tlps > 0);
  // One credit: 1024 CplDs one after another, each on the wire (256 B + 20 B
  // of header and framing at 126.95 ps a byte on Gen3 x8) and 50 ns in flight.
  const double per_tlp = 276 * 126.953125 + 50'000;
  CHECK(static_cast<double>(d.end) >= 1024 * per_tlp);
  CHECK(static_cast<double>(d.end) <= 1024 * per_tlp + 2'000'000);  // + DRAM latency and the MRds
  CHECK(one.credit_stats(s.rp, Direction::kDownstream).stalled_tlps == 1023);
}

// ---------------------------------------------------------------------------
// Device-side limits
// ---------------------------------------------------------------------------

TEST_CASE("fabric a requester's issue rate holds small DMAs below the link model", "[fabric][device_limits]") {
  SingleLink s;
  FabricConfig c = s.config();
  c.links[s.rp] = kAnchorLink;
  {
    PcieFabric f(s.topo, c);
    CHECK(within_percent(stream_gbps(f, DmaOp::kWrite, s.ep, 0x100000, 64, 4000), hw::write_bw_gbps(kAnchorLink, 64),
                         1.0));
  }
  // One request every 20 ns: 64 B per 20 ns is 25.6 Gb/s, under the link's 42.1.
  c.request_interval[s.ep] = 20'000;
  PcieFabric f(s.topo, c);
  CHECK(within_percent(stream_gbps(f, DmaOp::kWrite, s.ep, 0x100000, 64, 4000), 25.6, 1.0));
  // Large transfers are split into MPS TLPs, each a request: 256 B per 80 ns
  // is 25.6 Gb/s, under the link's 52.9 for 4 KiB writes.
  c.request_interval[s.ep] = 80'000;
  PcieFabric g(s.topo, c);
  CHECK(within_percent(stream_gbps(g, DmaOp::kWrite, s.ep, 0x100000, 4096, 500), 25.6, 1.0));
}

TEST_CASE("fabric the host's completion rate caps DMA reads from DRAM", "[fabric][device_limits]") {
  SingleLink s;
  FabricConfig c = s.config();
  c.links[s.rp] = kAnchorLink;
  const double link = hw::read_bw_gbps(kAnchorLink, 4096);
  {
    PcieFabric f(s.topo, c);
    CHECK(within_percent(stream_gbps(f, DmaOp::kRead, s.ep, 0x100000, 4096, 1000), link, 1.0));
  }
  c.hosts[0].dram_completion_bytes_per_sec = 2'000'000'000;  // 16 Gb/s, well under the link
  PcieFabric f(s.topo, c);
  CHECK(within_percent(stream_gbps(f, DmaOp::kRead, s.ep, 0x100000, 4096, 1000), 16.0, 1.0));
}

TEST_CASE("fabric credits: TLPs queued for the wire are not counted as credit stalls", "[fabric][credits]") {
  // Equal links either side of the switch: 8 posted TLPs of room free up
  // faster than the ingress wire can send, so credits never hold it back.
  SwitchBox b;
  FabricConfig c = b.config();
  PcieFabric plain(b.topo, c);
  const Transfer a = plain.dma_write(b.ep0, kBar1, 1 << 20, 0);
  c.credits[b.dsp0] = hw::FlowControlCredits{8, 8 * 16, 0, 0, 0, 0};
  PcieFabric eight(b.topo, c);
  const Transfer d = eight.dma_write(b.ep0, kBar1, 1 << 20, 0);
  CHECK(d.end == a.end);
  CHECK(eight.credit_stats(b.dsp0, Direction::kUpstream).stalled_tlps == 0);
  CHECK(eight.credit_stats(b.dsp0, Direction::kUpstream).stall_ps == 0);
}

TEST_CASE("fabric credits: an unaligned MPS chunk one DW over the buffer still goes, and the next run is sound",
          "[fabric][credits]") {
  SwitchBox b;
  FabricConfig c = b.config();
  c.credits[b.dsp0] = hw::FlowControlCredits{4, 16, 0, 0, 0, 0};  // exactly one 256 B TLP of data
  PcieFabric f(b.topo, c);
  const Transfer odd = f.dma_write(b.ep0, kBar1 + 2, 4096, 0);  // 2 bytes off: TLPs of 65 DW
  REQUIRE(odd.ok);
  CHECK(odd.end > 0);
  const Transfer next = f.dma_write(b.ep0, kBar1, 4096, odd.end);
  REQUIRE(next.ok);
  CHECK(next.end > odd.end);
}

// A single posted write without credit limits runs TLP by TLP (no event
// heap); roomy credits at every receiver force the event loop and can hold
// nothing back, so both must give the same times, TLP counts and wire use.
TEST_CASE("fabric a lone write runs TLP by TLP exactly as the event loop would", "[fabric][credits]") {
  auto roomy = [](FabricConfig c, const PciTopology& topo) {
    for (DeviceId d = 0; d < topo.devices().size(); ++d)
      c.credits[d] = hw::FlowControlCredits{4096, 1 << 20, 4096, 0, 4096, 1 << 20};
    return c;
  };
  struct Write {
    DeviceId from;
    std::uint64_t addr, bytes;
    ps_t gap;  // issue this long after the previous one's issue (0: together)
  };
  auto same = [](PcieFabric& direct, PcieFabric& looped, const std::vector<Write>& writes,
                 const std::vector<DeviceId>& ports) {
    ps_t issue = 0;
    for (const Write& w : writes) {
      issue += w.gap;
      const Transfer a = direct.dma_write(w.from, w.addr, w.bytes, issue);
      const Transfer b = looped.dma_write(w.from, w.addr, w.bytes, issue);
      REQUIRE(a.ok);
      REQUIRE(b.ok);
      CHECK(a.start == b.start);
      CHECK(a.end == b.end);
      CHECK(a.request_tlps == b.request_tlps);
    }
    for (DeviceId p : ports)
      for (Direction d : {Direction::kUpstream, Direction::kDownstream}) {
        CHECK(direct.link_stats(p, d).tlps == looped.link_stats(p, d).tlps);
        CHECK(direct.link_stats(p, d).overhead_bytes == looped.link_stats(p, d).overhead_bytes);
        CHECK(looped.credit_stats(p, d).stalled_tlps == 0);
      }
  };
  // Odd sizes and offsets (short first and last TLPs), overlapping issue
  // times (queueing on busy wires), DLLP/SKP phases carried from one
  // write to the next.
  SECTION("a switch between an x4 ingress, an x16 uplink and an x8 egress, with an issue rate") {
    SwitchBox b;
    FabricConfig c = b.config();
    c.links[b.dsp0] = kGen3x4;
    c.links[b.rp] = kGen3x16;
    c.links[b.dsp1] = kAnchorLink;
    c.request_interval[b.ep0] = 3'000;
    PcieFabric direct(b.topo, c);
    PcieFabric looped(b.topo, roomy(c, b.topo));
    same(direct, looped,
         {{b.ep0, kBar1, 4096, 0}, {b.ep0, kBar1 + 100, 4000, 500}, {b.ep0, 0x1000, 1 << 20, 0},
          {b.ep1, kBar0 + 6, 8, 10}, {b.ep0, kBar1 + 4094, 70'000, 2'000'000}, {b.ep1, 0x2000'0000, 64, 0}},
         {b.rp, b.dsp0, b.dsp1});
  }
  SECTION("peers on two root ports, through the root complex's bandwidth stage") {
    TwoRootPorts r;
    FabricConfig c = r.config();
    c.hosts[0].p2p_bytes_per_sec = hw::kXeonE5v4RcP2pBytesPerSec;
    c.links[r.rp1] = kGen3x4;
    PcieFabric direct(r.topo, c);
    PcieFabric looped(r.topo, roomy(c, r.topo));
    same(direct, looped,
         {{r.ep0, kBar1, 256 << 10, 0}, {r.ep1, kBar0 + 12, 5000, 1000}, {r.ep0, kBar1 + 3, 4096, 0}},
         {r.rp0, r.rp1});
  }
}

// ---------------------------------------------------------------------------
// Routing one element at a time (what the SystemC switch and root-complex
// modules do as a request passes them)
// ---------------------------------------------------------------------------

TEST_CASE("fabric element-by-element routing gives the whole-path route and timing", "[fabric][modules]") {
  using K = hw::NextHop::Kind;
  SwitchBox b;
  b.topo.set_acs_ctrl(b.dsp0, hw::acs::kRequestRedirect | hw::acs::kCompletionRedirect);
  PcieFabric whole(b.topo, b.config());
  PcieFabric steps(b.topo, b.config());
  const Transfer expect = whole.dma_read(b.ep0, kBar1, 8192, 1000);
  REQUIRE(expect.ok);

  PcieFabric::RouteInProgress r;
  hw::NextHop n = steps.begin_route(r, b.ep0, kBar1, 8192);
  CHECK((n.kind == K::kUp && n.port == b.dsp0));
  n = steps.route_switch_up(r, b.dsp0);  // redirected: up past the peer that claims it
  CHECK((n.kind == K::kUp && n.port == b.rp));
  n = steps.route_root_complex(r, b.rp, kBar1);  // forwarded back down rp0 into the switch
  CHECK((n.kind == K::kDown && n.port == b.rp && n.device == b.usp));
  n = steps.route_switch_down(r, b.usp);
  CHECK((n.kind == K::kEndpoint && n.port == b.dsp1 && n.device == b.ep1));
  REQUIRE(r.ok());
  const Transfer got = steps.run_routed({DmaOp::kRead, b.ep0, kBar1, 8192, 1000}, r);
  REQUIRE(got.ok);
  CHECK(kinds(got.path) == kinds(expect.path));
  CHECK(kinds(got.completion_path) == kinds(expect.completion_path));
  CHECK(got.end == expect.end);
  CHECK(got.start == expect.start);
  CHECK(got.acs_redirected);
  CHECK(got.rc_peer_forwarded);
  for (DeviceId port : whole.link_ports())
    for (Direction d : {Direction::kUpstream, Direction::kDownstream})
      CHECK(steps.link_stats(port, d).tlp_bytes == whole.link_stats(port, d).tlp_bytes);
}

TEST_CASE("fabric the root complex routes the address the IOMMU made of the request", "[fabric][modules]") {
  using K = hw::NextHop::Kind;
  SwitchBox b;
  PcieFabric f(b.topo, b.config());
  // An IOVA no window claims leaves the switch; translated to ep1's BAR at
  // the root complex, it comes back down rp0 peer to peer.
  const std::uint64_t iova = 0xfff00000ull;
  PcieFabric::RouteInProgress r;
  hw::NextHop n = f.begin_route(r, b.ep0, iova, 4096);
  n = f.route_switch_up(r, n.port);
  CHECK((n.kind == K::kUp && n.port == b.rp));
  n = f.route_root_complex(r, b.rp, kBar1);
  CHECK(n.kind == K::kDown);
  n = f.route_switch_down(r, n.device);
  CHECK((n.kind == K::kEndpoint && n.device == b.ep1));
  const Transfer t = f.run_routed({DmaOp::kWrite, b.ep0, iova, 4096, 0}, r);
  REQUIRE(t.ok);
  CHECK(t.rc_peer_forwarded);
  CHECK(f.rc_p2p_bytes(0) == 4096);
  CHECK(f.link_stats(b.rp, Direction::kUpstream).tlp_bytes > 4096);
  // Translated to DRAM instead: the route ends at host memory.
  PcieFabric::RouteInProgress d;
  n = f.begin_route(d, b.ep0, iova, 4096);
  n = f.route_switch_up(d, n.port);
  n = f.route_root_complex(d, b.rp, 0x10000);
  CHECK((n.kind == K::kMemory && n.host == 0));
}

TEST_CASE("fabric element-by-element routing fails as the whole path would, and refuses misuse", "[fabric][modules]") {
  using K = hw::NextHop::Kind;
  SwitchBox b;
  b.topo.set_acs_ctrl(b.dsp0, hw::acs::kRequestRedirect);
  FabricConfig c = b.config();
  c.hosts[0].p2p_allowed = false;
  PcieFabric f(b.topo, c);
  // A redirected peer request the root complex refuses to forward.
  const Transfer whole = f.dma_write(b.ep0, kBar1, 64, 0);
  REQUIRE_FALSE(whole.ok);
  PcieFabric::RouteInProgress blocked;
  hw::NextHop n = f.begin_route(blocked, b.ep0, kBar1, 64);
  n = f.route_switch_up(blocked, n.port);
  CHECK((n.kind == K::kUp && n.port == b.rp));
  CHECK(f.route_root_complex(blocked, b.rp, kBar1).kind == K::kFail);
  CHECK(blocked.error() == whole.error);
  CHECK(blocked.error().find("blocks peer-to-peer") != std::string::npos);
  PcieFabric::RouteInProgress r;
  n = f.begin_route(r, b.ep0, 0x80000000ull, 64);  // nothing decodes it
  n = f.route_switch_up(r, n.port);
  n = f.route_root_complex(r, b.rp, 0x80000000ull);
  CHECK(n.kind == K::kFail);
  CHECK_FALSE(r.ok());
  CHECK(r.error().find("nothing claims address 0x80000000") != std::string::npos);
  // Once failed, later steps stay failed; running it gives a failed transfer.
  CHECK(f.route_switch_down(r, b.usp).kind == K::kFail);
  const Transfer t = f.run_routed({DmaOp::kWrite, b.ep0, 0x80000000ull, 64, 0}, r);
  CHECK_FALSE(t.ok);
  CHECK(f.link_stats(b.dsp0, Direction::kUpstream).tlps == 0);
  // A step at the wrong kind of port, a route run before its completer, a
  // route run for another requester.
  PcieFabric::RouteInProgress w;
  f.begin_route(w, b.ep0, kBar1, 64);
  CHECK(f.route_root_complex(w, b.dsp0, kBar1).kind == K::kFail);
  CHECK(w.error().find("is not a root port") != std::string::npos);
  PcieFabric::RouteInProgress half;
  f.begin_route(half, b.ep0, 0x1000, 64);
  CHECK_THROWS_AS(f.run_routed({DmaOp::kWrite, b.ep0, 0x1000, 64, 0}, half), std::invalid_argument);
  PcieFabric::RouteInProgress whole_route;  // to DRAM, complete
  n = f.begin_route(whole_route, b.ep0, 0x1000, 64);
  n = f.route_switch_up(whole_route, n.port);
  REQUIRE(f.route_root_complex(whole_route, b.rp, 0x1000).kind == K::kMemory);
  CHECK_THROWS_AS(f.run_routed({DmaOp::kWrite, b.ep1, 0x1000, 64, 0}, whole_route), std::invalid_argument);
  CHECK(f.run_routed({DmaOp::kWrite, b.ep0, 0x1000, 64, 0}, whole_route).ok);
  // CPU MMIO: down the root port that claims the address, to the BAR.
  PcieFabric::RouteInProgress m;
  n = f.begin_mmio(m, 0, kBar1 + 8);
  CHECK((n.kind == K::kDown && n.device == b.usp));
  n = f.route_switch_down(m, n.device);
  CHECK((n.kind == K::kEndpoint && n.device == b.ep1));
  CHECK(f.begin_mmio(m, 0, 0x80000000ull).kind == K::kFail);
}
