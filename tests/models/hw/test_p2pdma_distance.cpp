// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Unit tests for the PCI topology and the drivers/pci/p2pdma.c map-type and
// distance model (v6.2). Every expected distance and map type is worked out
// by hand from the kernel's algorithm; the comments show the working:
//
//   walk a = provider, upstream, ...; for each a, first count a's ACS
//   redirect, then walk bb = client, upstream, ... counting dist_b until
//   bb == a. Found: dist = dist_a + dist_b, ACS also counted on the client's
//   path below a; no ACS -> bus_addr, else thru_host_bridge. Not found:
//   dist = provider chain + client chain, thru_host_bridge. A
//   thru_host_bridge result becomes not_supported unless the CPU is AMD
//   family >= 0x17 or the host bridge whitelist allows it.
//
// "Chain" below means the device and every upstream bridge up to the root
// port, e.g. A, DSP0, USP1, RP1 has length 4.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "hw/p2pdma_distance.h"
#include "hw/pci_topology.h"
#include "common/kernel_bug.h"
#include "common/rng.h"

using p2psim::ModelBug;
using p2psim::Rng;
using namespace p2psim::hw;

namespace {

constexpr PciIds kIntelOffList{kVendorIntel, 0x3e30};  // an Intel host bridge not in the table
constexpr PciIds kIntelE5v3{kVendorIntel, 0x2f00};     // listed, REQ_SAME_HOST_BRIDGE
constexpr PciIds kIntelSkx{kVendorIntel, 0x2020};      // listed, no flag
constexpr CpuInfo kIntelCpu{true, CpuVendor::intel, 6};
constexpr CpuInfo kZen{true, CpuVendor::amd, 0x17};
constexpr CpuInfo kZen3{true, CpuVendor::amd, 0x19};

/**
 * struct SwitchBox - one host bridge, domain 0:
 *
 *   00:00.0 host bridge function (ids given, default off the whitelist)
 *   00:01.0 RP1 -> bus 1
 *     01:00.0 USP1 -> bus 2
 *       02:00.0 DSP0 -> bus 3:  03:00.0 A (fn 0), 03:00.1 A1 (fn 1)
 *       02:01.0 DSP1 -> bus 4:  04:00.0 B
 *       02:02.0 DSP2 -> bus 5:  05:00.0 USP2 -> bus 6: 06:00.0 DSP20 -> bus 7: 07:00.0 C
 *       02:03.0 DSP3 -> bus 9:  09:00.0 F
 *   00:02.0 RP2 -> bus 8:  08:00.0 D
 *
 * Chains: A, A1, B, F: 4; C: 6 (C, DSP20, USP2, DSP2, USP1, RP1); D: 2.
 */
struct SwitchBox {
  PciTopology topo;
  HostBridgeId hb;
  DeviceId hb_fn, rp1, usp1, dsp0, dsp1, dsp2, usp2, dsp20, dsp3, rp2;
  DeviceId a, a1, b, c, d, f;

  explicit SwitchBox(CpuInfo cpu = kIntelCpu, PciIds host_ids = kIntelOffList) : topo(cpu) {
    hb = topo.add_host_bridge(0, 0);
    hb_fn = topo.add_host_bridge_function(hb, 0, 0, host_ids);
    rp1 = topo.add_root_port(hb, 1, 0, 1);
    usp1 = topo.add_switch_upstream_port(rp1, 2);
    dsp0 = topo.add_switch_downstream_port(usp1, 0, 3);
    dsp1 = topo.add_switch_downstream_port(usp1, 1, 4);
    dsp2 = topo.add_switch_downstream_port(usp1, 2, 5);
    dsp3 = topo.add_switch_downstream_port(usp1, 3, 9);
    usp2 = topo.add_switch_upstream_port(dsp2, 6);
    dsp20 = topo.add_switch_downstream_port(usp2, 0, 7);
    rp2 = topo.add_root_port(hb, 2, 0, 8);
    a = topo.add_endpoint(dsp0, 0);
    a1 = topo.add_endpoint(dsp0, 1);
    b = topo.add_endpoint(dsp1, 0);
    c = topo.add_endpoint(dsp20, 0);
    d = topo.add_endpoint(rp2, 0);
    f = topo.add_endpoint(dsp3, 0);
  }
};

/**
 * struct TwoHosts - two host bridges of domain 0, each with one
 * host bridge function at 00.0 of its root bus:
 *
 *   HB0 bus 00: 00:00.0 (ids0); 00:01.0 RP -> bus 01: 01:00.0 X
 *                               00:02.0 RP -> bus 02: 02:00.0 X2
 *   HB1 bus 80: 80:00.0 (ids1); 80:01.0 RP -> bus 81: 81:00.0 Y
 *
 * Chains are all 2 (endpoint, root port): any pair is 2 + 2 = 4 apart.
 */
struct TwoHosts {
  PciTopology topo;
  HostBridgeId hb0, hb1;
  DeviceId x, x2, y;

  TwoHosts(PciIds ids0, PciIds ids1, CpuInfo cpu = kIntelCpu) : topo(cpu) {
    hb0 = topo.add_host_bridge(0, 0x00);
    topo.add_host_bridge_function(hb0, 0, 0, ids0);
    x = topo.add_endpoint(topo.add_root_port(hb0, 1, 0, 0x01), 0);
    x2 = topo.add_endpoint(topo.add_root_port(hb0, 2, 0, 0x02), 0);
    hb1 = topo.add_host_bridge(0, 0x80);
    topo.add_host_bridge_function(hb1, 0, 0, ids1);
    y = topo.add_endpoint(topo.add_root_port(hb1, 1, 0, 0x81), 0);
  }
};

struct Calc {
  MapType type;
  int dist;
};

Calc calc(P2pdmaDistance& p2p, DeviceId provider, DeviceId client, bool verbose = false) {
  int dist = -100;  // the model must overwrite it on every path
  const MapType type = p2p.calc_map_type_and_dist(provider, client, &dist, verbose);
  return {type, dist};
}

bool log_has(const P2pdmaDistance& p2p, const std::string& part) {
  for (const std::string& line : p2p.log())
    if (line.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Topology

TEST_CASE("pci topology: addresses and upstream links", "[p2pdma_distance]") {
  SwitchBox box;
  const PciTopology& t = box.topo;
  CHECK(t.device(box.a).bdf() == "0000:03:00.0");
  CHECK(t.device(box.a1).bdf() == "0000:03:00.1");
  CHECK(t.device(box.dsp3).bdf() == "0000:02:03.0");
  CHECK(t.device(box.rp2).bdf() == "0000:00:02.0");
  CHECK(t.device(box.a1).slot() == 0);
  CHECK(t.device(box.a1).function() == 1);
  CHECK(t.device(box.dsp3).devfn == 0x18);
  CHECK(t.find_by_bdf("0000:07:00.0") == box.c);
  CHECK_FALSE(t.find_by_bdf("0000:07:00.1").has_value());

  // pci_upstream_bridge(): bus->self; NULL on the root bus.
  CHECK(t.upstream_bridge(box.a) == box.dsp0);
  CHECK(t.upstream_bridge(box.a1) == box.dsp0);
  CHECK(t.upstream_bridge(box.dsp0) == box.usp1);
  CHECK(t.upstream_bridge(box.usp1) == box.rp1);
  CHECK(t.upstream_bridge(box.rp1) == kNoDevice);
  CHECK(t.upstream_bridge(box.hb_fn) == kNoDevice);
  CHECK(t.upstream_bridge(box.c) == box.dsp20);
  CHECK(t.upstream_bridge(box.usp2) == box.dsp2);
  CHECK(t.find_host_bridge(box.c) == box.hb);
  CHECK(t.device(box.dsp2).secondary_bus == 5);
}

TEST_CASE("pci topology: bus lists are in devfn order and bus_add_order is breadth per bus", "[p2pdma_distance]") {
  PciTopology t;
  const HostBridgeId hb = t.add_host_bridge(0, 0);
  const DeviceId rp3 = t.add_root_port(hb, 3, 0, 2);  // created before 00:01.0
  const DeviceId rp1 = t.add_root_port(hb, 1, 0, 1);
  const DeviceId ep_fn1 = t.add_endpoint(rp1, 1);
  const DeviceId ep_fn0 = t.add_endpoint(rp1, 0);
  const DeviceId ep3 = t.add_endpoint(rp3, 0);
  const HostBridgeId hb1 = t.add_host_bridge(1, 0);
  const DeviceId rcie = t.add_rc_integrated_endpoint(hb1, 4, 0, {});

  CHECK(t.bus_devices(0, 0) == std::vector<DeviceId>{rp1, rp3});
  CHECK(t.bus_devices(0, 1) == std::vector<DeviceId>{ep_fn0, ep_fn1});
  // pci_bus_add_devices(): bus 0's devices, then bus 1 (below 00:01.0), then
  // bus 2 (below 00:03.0); then the second host bridge.
  CHECK(t.bus_add_order() == std::vector<DeviceId>{rp1, rp3, ep_fn0, ep_fn1, ep3, rcie});
  CHECK(t.device(rcie).bdf() == "0001:00:04.0");
}

TEST_CASE("pci topology: impossible topologies are model bugs", "[p2pdma_distance]") {
  SwitchBox box;
  PciTopology& t = box.topo;
  CHECK_THROWS_AS(t.add_endpoint(box.dsp0, 0), ModelBug);            // 03:00.0 exists
  CHECK_THROWS_AS(t.add_endpoint(box.dsp0, 8), ModelBug);            // function 8
  CHECK_THROWS_AS(t.add_root_port(box.hb, 32, 0, 0x40), ModelBug);   // slot 32
  CHECK_THROWS_AS(t.add_root_port(box.hb, 3, 0, 4), ModelBug);       // bus 4 is taken
  CHECK_THROWS_AS(t.add_host_bridge(0, 6), ModelBug);                // bus 6 is taken
  CHECK_THROWS_AS(t.add_endpoint(box.usp1, 0), ModelBug);            // endpoint on a switch's internal bus
  CHECK_THROWS_AS(t.add_endpoint(box.a, 0), ModelBug);               // below an endpoint
  CHECK_THROWS_AS(t.add_switch_downstream_port(box.rp1, 1, 0x40), ModelBug);
  CHECK_THROWS_AS(t.add_switch_upstream_port(box.usp1, 0x40), ModelBug);
  CHECK_THROWS_AS(t.device(999), ModelBug);
  // None of the failed calls left a device or bus behind.
  CHECK(t.devices().size() == 16);
  CHECK_NOTHROW(t.add_root_port(box.hb, 3, 0, 0x40));
}

// ---------------------------------------------------------------------------
// Small pieces

TEST_CASE("p2pdma: the v6.2 host bridge whitelist table", "[p2pdma_distance]") {
  const auto& wl = p2pdma_whitelist();
  REQUIRE(wl.size() == 10);
  const std::vector<uint16_t> same_host_only = {0x3c00, 0x3c01, 0x2f00, 0x2f01};
  const std::vector<uint16_t> any_host = {0x2030, 0x2031, 0x2032, 0x2033, 0x2020, 0x09a2};
  for (size_t i = 0; i < wl.size(); i++) {
    INFO("row " << i);
    CHECK(wl[i].vendor == kVendorIntel);  // no AMD row: AMD goes by cpu_supports_p2pdma()
    if (i < 4) {
      CHECK(wl[i].device == same_host_only[i]);
      CHECK(wl[i].flags == kReqSameHostBridge);
    } else {
      CHECK(wl[i].device == any_host[i - 4]);
      CHECK(wl[i].flags == 0);
    }
  }
}

TEST_CASE("p2pdma: cpu_supports_p2pdma is AMD family 0x17 and later on x86 only", "[p2pdma_distance]") {
  CHECK(cpu_supports_p2pdma({true, CpuVendor::amd, 0x17}));
  CHECK(cpu_supports_p2pdma({true, CpuVendor::amd, 0x19}));
  CHECK(cpu_supports_p2pdma({true, CpuVendor::amd, 0x1a}));
  CHECK_FALSE(cpu_supports_p2pdma({true, CpuVendor::amd, 0x16}));   // pre-Zen
  CHECK_FALSE(cpu_supports_p2pdma({true, CpuVendor::hygon, 0x18})); // Zen-based, other vendor
  CHECK_FALSE(cpu_supports_p2pdma({true, CpuVendor::intel, 0x17}));
  CHECK_FALSE(cpu_supports_p2pdma({false, CpuVendor::amd, 0x19}));  // !CONFIG_X86
}

TEST_CASE("p2pdma: pci_bridge_has_acs_redir counts RR CR and EC only", "[p2pdma_distance]") {
  PciDevice dev;
  CHECK_FALSE(pci_bridge_has_acs_redir(dev));
  dev.acs_ctrl = acs::kRequestRedirect;  // register value without the capability: never read
  CHECK_FALSE(pci_bridge_has_acs_redir(dev));
  dev.acs_cap = true;
  CHECK(pci_bridge_has_acs_redir(dev));
  dev.acs_ctrl = acs::kCompletionRedirect;
  CHECK(pci_bridge_has_acs_redir(dev));
  dev.acs_ctrl = acs::kEgressControl;
  CHECK(pci_bridge_has_acs_redir(dev));
  // What Linux's pci_std_enable_acs() sets without RR/CR, and the rest.
  dev.acs_ctrl = acs::kSourceValidation | acs::kTranslationBlocking | acs::kUpstreamForwarding |
                 acs::kDirectTranslated;
  CHECK_FALSE(pci_bridge_has_acs_redir(dev));
}

TEST_CASE("p2pdma: map_types_idx is domain bus devfn", "[p2pdma_distance]") {
  PciDevice dev;
  dev.domain = 0;
  dev.bus = 0x03;
  dev.devfn = 0x01;  // 03:00.1
  CHECK(map_types_idx(dev) == 0x0301);
  dev.domain = 1;
  dev.bus = 0x80;
  dev.devfn = 0x08;  // 0001:80:01.0
  CHECK(map_types_idx(dev) == 0x18008);
}

// ---------------------------------------------------------------------------
// calc_map_type_and_dist: distances

TEST_CASE("p2pdma: same function is distance 0 bus_addr", "[p2pdma_distance]") {
  SwitchBox box;
  P2pdmaDistance p2p(box.topo);
  // a = A: no ACS; bb = A == a at once: dist_a 0 + dist_b 0.
  const Calc r = calc(p2p, box.a, box.a);
  CHECK(r.type == MapType::bus_addr);
  CHECK(r.dist == 0);
}

TEST_CASE("p2pdma: two functions of one device are distance 2", "[p2pdma_distance]") {
  SwitchBox box;
  P2pdmaDistance p2p(box.topo);
  // a = A: client chain A1, DSP0, USP1, RP1 never meets A. a = DSP0 (dist_a 1):
  // bb = A1 (dist_b 0), DSP0 == a at dist_b 1. 1 + 1 = 2.
  const Calc r = calc(p2p, box.a, box.a1);
  CHECK(r.type == MapType::bus_addr);
  CHECK(r.dist == 2);
  const Calc back = calc(p2p, box.a1, box.a);
  CHECK(back.type == MapType::bus_addr);
  CHECK(back.dist == 2);
}

TEST_CASE("p2pdma: two devices behind one switch are distance 4", "[p2pdma_distance]") {
  SwitchBox box;
  P2pdmaDistance p2p(box.topo);
  // a = A, DSP0 (dist_a 1): not on B, DSP1, USP1, RP1. a = USP1 (dist_a 2):
  // bb = B 0, DSP1 1, USP1 at dist_b 2. 2 + 2 = 4.
  const Calc r = calc(p2p, box.a, box.b);
  CHECK(r.type == MapType::bus_addr);
  CHECK(r.dist == 4);
  // F sits below another port of the same switch: same working.
  CHECK(calc(p2p, box.b, box.f).dist == 4);
}

TEST_CASE("p2pdma: devices behind different switches under one root port", "[p2pdma_distance]") {
  SwitchBox box;
  P2pdmaDistance p2p(box.topo);
  // Common ancestor USP1. Provider A: A 0, DSP0 1, USP1 -> dist_a 2.
  // Client C: C 0, DSP20 1, USP2 2, DSP2 3, USP1 -> dist_b 4. 2 + 4 = 6.
  const Calc r = calc(p2p, box.a, box.c);
  CHECK(r.type == MapType::bus_addr);
  CHECK(r.dist == 6);
  // Reversed: dist_a 4, dist_b 2.
  const Calc back = calc(p2p, box.c, box.a);
  CHECK(back.type == MapType::bus_addr);
  CHECK(back.dist == 6);
}

// ---------------------------------------------------------------------------
// calc_map_type_and_dist: through the host bridge

TEST_CASE("p2pdma: across root ports on AMD Zen is thru_host_bridge", "[p2pdma_distance]") {
  SwitchBox box(kZen3);
  P2pdmaDistance p2p(box.topo);
  // No common ancestor: dist_a = chain of A (4), dist_b = chain of D (2).
  const Calc r = calc(p2p, box.a, box.d);
  CHECK(r.type == MapType::thru_host_bridge);
  CHECK(r.dist == 6);
  // Two endpoints straight under two root ports: 2 + 2, the same 4 as two
  // devices on one switch.
  TwoHosts hosts(kIntelOffList, kIntelOffList, kZen);
  P2pdmaDistance p2p2(hosts.topo);
  const Calc rp = calc(p2p2, hosts.x, hosts.x2);
  CHECK(rp.type == MapType::thru_host_bridge);
  CHECK(rp.dist == 4);
  // AMD does not even need the same host bridge.
  const Calc hb = calc(p2p2, hosts.x, hosts.y);
  CHECK(hb.type == MapType::thru_host_bridge);
  CHECK(hb.dist == 4);
}

TEST_CASE("p2pdma: across root ports off the whitelist is not_supported", "[p2pdma_distance]") {
  SECTION("Intel host bridge not in the table") {
    SwitchBox box(kIntelCpu);
    P2pdmaDistance p2p(box.topo);
    const Calc r = calc(p2p, box.a, box.d, true);
    CHECK(r.type == MapType::not_supported);
    CHECK(r.dist == 6);  // set even when not supported: 4 + 2
    CHECK(log_has(p2p, "0000:08:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:03:00.0)"));
    // The whitelist's warn argument is acs_redirects (false here), not verbose.
    CHECK_FALSE(log_has(p2p, "not in P2PDMA whitelist"));
    CHECK(p2p.log().size() == 1);
  }
  SECTION("AMD before Zen") {
    SwitchBox box({true, CpuVendor::amd, 0x16});
    P2pdmaDistance p2p(box.topo);
    CHECK(calc(p2p, box.a, box.d).type == MapType::not_supported);
  }
  SECTION("Hygon") {
    SwitchBox box({true, CpuVendor::hygon, 0x18});
    P2pdmaDistance p2p(box.topo);
    CHECK(calc(p2p, box.a, box.d).type == MapType::not_supported);
  }
}

TEST_CASE("p2pdma: a whitelisted Intel host bridge allows thru_host_bridge", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu, kIntelE5v3);
  P2pdmaDistance p2p(box.topo);
  // Same host bridge: __host_bridge_whitelist(host, same_host_bridge = true)
  // matches 8086:2f00 and its REQ_SAME_HOST_BRIDGE is satisfied.
  const Calc r = calc(p2p, box.a, box.d);
  CHECK(r.type == MapType::thru_host_bridge);
  CHECK(r.dist == 6);
  // A direct path is not affected by the whitelist.
  CHECK(calc(p2p, box.a, box.b).type == MapType::bus_addr);
}

TEST_CASE("p2pdma: REQ_SAME_HOST_BRIDGE across two host bridges", "[p2pdma_distance]") {
  SECTION("both 8086:2f00: same host bridge yes, across no") {
    TwoHosts h(kIntelE5v3, kIntelE5v3);
    P2pdmaDistance p2p(h.topo);
    const Calc same = calc(p2p, h.x, h.x2);
    CHECK(same.type == MapType::thru_host_bridge);
    CHECK(same.dist == 4);
    const Calc across = calc(p2p, h.x, h.y);
    CHECK(across.type == MapType::not_supported);
    CHECK(across.dist == 4);
  }
  SECTION("both 8086:2020 (no flag): across is allowed") {
    TwoHosts h(kIntelSkx, kIntelSkx);
    P2pdmaDistance p2p(h.topo);
    const Calc across = calc(p2p, h.y, h.x);
    CHECK(across.type == MapType::thru_host_bridge);
    CHECK(across.dist == 4);
  }
  SECTION("one listed and one not: both must be listed") {
    TwoHosts h(kIntelSkx, kIntelOffList);
    P2pdmaDistance p2p(h.topo);
    CHECK(calc(p2p, h.x, h.y).type == MapType::not_supported);
    CHECK(calc(p2p, h.y, h.x).type == MapType::not_supported);
    CHECK(calc(p2p, h.x, h.x2).type == MapType::thru_host_bridge);
  }
}

TEST_CASE("p2pdma: the whitelist looks only at the first device of the root bus", "[p2pdma_distance]") {
  // Skylake-E style: no 00.0 function; root ports carry the listed IDs.
  PciTopology t(kIntelCpu);
  const HostBridgeId hb = t.add_host_bridge(0, 0);
  const DeviceId rp3 = t.add_root_port(hb, 3, 0, 2, {kVendorIntel, 0x2031});
  const DeviceId rp2 = t.add_root_port(hb, 2, 0, 1, {kVendorIntel, 0x2030});
  const DeviceId p = t.add_endpoint(rp2, 0);
  const DeviceId q = t.add_endpoint(rp3, 0);
  P2pdmaDistance p2p(t);

  SECTION("a root port first: its IDs decide") {
    CHECK(pci_host_bridge_dev(t, hb) == rp2);  // 00:02.0 sorts before 00:03.0
    const Calc r = calc(p2p, p, q);
    CHECK(r.type == MapType::thru_host_bridge);
    CHECK(r.dist == 4);
  }
  SECTION("an RCiEP at 00:01.0 first: no root device, even with a listed ID") {
    t.add_rc_integrated_endpoint(hb, 1, 0, kIntelSkx);
    CHECK(pci_host_bridge_dev(t, hb) == kNoDevice);
    CHECK(calc(p2p, p, q).type == MapType::not_supported);
  }
  SECTION("a function at 00.0 first: its IDs decide, whatever it is") {
    const DeviceId fn0 = t.add_rc_integrated_endpoint(hb, 0, 0, kIntelOffList);
    CHECK(pci_host_bridge_dev(t, hb) == fn0);
    CHECK(calc(p2p, p, q).type == MapType::not_supported);
  }
}

// ---------------------------------------------------------------------------
// calc_map_type_and_dist: ACS

TEST_CASE("p2pdma: ACS redirect on a switch downstream port goes thru the host bridge", "[p2pdma_distance]") {
  SECTION("AMD Zen: allowed") {
    SwitchBox box(kZen);
    box.topo.set_acs_ctrl(box.dsp0, acs::kRequestRedirect);
    P2pdmaDistance p2p(box.topo);
    // a = A, then DSP0: RR -> acs_cnt 1; common USP1 as before: 2 + 2.
    const Calc r = calc(p2p, box.a, box.b);
    CHECK(r.type == MapType::thru_host_bridge);
    CHECK(r.dist == 4);
    // The same port on the client's side (provider B, client A) counts too.
    const Calc back = calc(p2p, box.b, box.a);
    CHECK(back.type == MapType::thru_host_bridge);
    CHECK(back.dist == 4);
    // Paths that avoid DSP0 stay direct.
    CHECK(calc(p2p, box.b, box.f).type == MapType::bus_addr);
  }
  SECTION("whitelisted Intel: allowed") {
    SwitchBox box(kIntelCpu, kIntelE5v3);
    box.topo.set_acs_ctrl(box.dsp1, acs::kCompletionRedirect);
    P2pdmaDistance p2p(box.topo);
    const Calc r = calc(p2p, box.a, box.b);
    CHECK(r.type == MapType::thru_host_bridge);
    CHECK(r.dist == 4);
  }
  SECTION("Intel off the whitelist: refused, and warned about even when quiet") {
    SwitchBox box(kIntelCpu);
    box.topo.set_acs_ctrl(box.dsp0, acs::kRequestRedirect);
    P2pdmaDistance p2p(box.topo);
    const Calc r = calc(p2p, box.a, box.b, false);
    CHECK(r.type == MapType::not_supported);
    CHECK(r.dist == 4);
    // host_bridge_whitelist(..., warn = acs_redirects = true)
    REQUIRE(p2p.log().size() == 1);
    CHECK(p2p.log()[0] == "0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:3e30");
  }
}

TEST_CASE("p2pdma: only RR CR and EC on the path redirect", "[p2pdma_distance]") {
  struct Row {
    uint16_t ctrl;
    MapType expected;
  };
  const Row rows[] = {
      {acs::kRequestRedirect, MapType::thru_host_bridge},
      {acs::kCompletionRedirect, MapType::thru_host_bridge},
      {acs::kEgressControl, MapType::thru_host_bridge},
      {acs::kSourceValidation, MapType::bus_addr},
      {acs::kTranslationBlocking, MapType::bus_addr},
      {acs::kUpstreamForwarding, MapType::bus_addr},
      {acs::kDirectTranslated, MapType::bus_addr},
      {0, MapType::bus_addr},
  };
  for (const Row& row : rows) {
    INFO("acs ctrl 0x" << std::hex << row.ctrl);
    SwitchBox box(kZen);
    box.topo.set_acs_ctrl(box.dsp1, row.ctrl);  // on the client's side of A -> B
    P2pdmaDistance p2p(box.topo);
    const Calc r = calc(p2p, box.a, box.b);
    CHECK(r.type == row.expected);
    CHECK(r.dist == 4);
  }
}

TEST_CASE("p2pdma: ACS counts up to and including the common ancestor", "[p2pdma_distance]") {
  SECTION("on the root port above the common switch: not on the path") {
    SwitchBox box(kZen);
    box.topo.set_acs_ctrl(box.rp1, acs::kRequestRedirect);
    P2pdmaDistance p2p(box.topo);
    // The provider walk stops at USP1 before reaching RP1.
    const Calc r = calc(p2p, box.a, box.b);
    CHECK(r.type == MapType::bus_addr);
    CHECK(r.dist == 4);
  }
  SECTION("on the common switch upstream port: counted") {
    SwitchBox box(kZen);
    box.topo.set_acs_ctrl(box.usp1, acs::kRequestRedirect);
    P2pdmaDistance p2p(box.topo);
    // a = USP1 has its ACS counted before bb finds it.
    CHECK(calc(p2p, box.a, box.b).type == MapType::thru_host_bridge);
    // For A -> A1 the common ancestor is DSP0 and USP1 is never reached.
    const Calc fn = calc(p2p, box.a, box.a1);
    CHECK(fn.type == MapType::bus_addr);
    CHECK(fn.dist == 2);
  }
  SECTION("on the port above a multi-function device: both functions redirect") {
    SwitchBox box(kZen);
    box.topo.set_acs_ctrl(box.dsp0, acs::kRequestRedirect);
    P2pdmaDistance p2p(box.topo);
    const Calc fn = calc(p2p, box.a, box.a1);
    CHECK(fn.type == MapType::thru_host_bridge);
    CHECK(fn.dist == 2);
  }
  SECTION("on the provider itself: even the same function goes thru the host bridge") {
    SwitchBox amd(kZen);
    amd.topo.set_acs_ctrl(amd.a, acs::kRequestRedirect);
    P2pdmaDistance p2p_amd(amd.topo);
    const Calc self = calc(p2p_amd, amd.a, amd.a);
    CHECK(self.type == MapType::thru_host_bridge);
    CHECK(self.dist == 0);

    SwitchBox intel(kIntelCpu);
    intel.topo.set_acs_ctrl(intel.a, acs::kRequestRedirect);
    P2pdmaDistance p2p_intel(intel.topo);
    const Calc refused = calc(p2p_intel, intel.a, intel.a);
    CHECK(refused.type == MapType::not_supported);
    CHECK(refused.dist == 0);
  }
}

TEST_CASE("p2pdma: ACS without a common ancestor is ignored", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  box.topo.set_acs_ctrl(box.dsp0, acs::kRequestRedirect);
  box.topo.set_acs_ctrl(box.rp1, acs::kRequestRedirect);
  P2pdmaDistance p2p(box.topo);
  const Calc r = calc(p2p, box.a, box.d, true);
  CHECK(r.type == MapType::not_supported);
  CHECK(r.dist == 6);
  // No ACS lines and no whitelist warning (acs_redirects stayed false).
  REQUIRE(p2p.log().size() == 1);
  CHECK(log_has(p2p, "do not share an upstream bridge or whitelisted host bridge"));
}

TEST_CASE("p2pdma: verbose lists the redirecting ports provider side first", "[p2pdma_distance]") {
  SwitchBox box(kZen);
  box.topo.set_acs_ctrl(box.dsp0, acs::kRequestRedirect);
  box.topo.set_acs_ctrl(box.dsp1, acs::kEgressControl);
  P2pdmaDistance p2p(box.topo);
  // Provider B: B, DSP1 (listed), USP1 common; client path A, DSP0 (listed).
  const Calc r = calc(p2p, box.b, box.a, true);
  CHECK(r.type == MapType::thru_host_bridge);
  REQUIRE(p2p.log().size() == 2);
  CHECK(p2p.log()[0] == "0000:03:00.0: ACS redirect is set between the client and provider (0000:04:00.0)");
  CHECK(p2p.log()[1] ==
        "0000:03:00.0: to disable ACS redirect for this path, add the kernel parameter: "
        "pci=disable_acs_redir=0000:02:01.0;0000:02:00.0");
  // Quiet: nothing (AMD never consults the whitelist).
  p2p.clear_log();
  calc(p2p, box.b, box.a, false);
  CHECK(p2p.log().empty());
}

TEST_CASE("p2pdma: the ACS list is a 128 byte seq_buf", "[p2pdma_distance]") {
  // Five switches stacked below DSP 02:00.0 of a top switch; provider P at the
  // bottom, client Q below the top switch's DSP 02:01.0. Every switch port on
  // P's side has RR: 02:00.0, then (USP, DSP) per stacked switch = 11 ports.
  PciTopology t(kZen);
  const HostBridgeId hb = t.add_host_bridge(0, 0);
  const DeviceId rp = t.add_root_port(hb, 1, 0, 1);
  const DeviceId top = t.add_switch_upstream_port(rp, 2);
  DeviceId port = t.add_switch_downstream_port(top, 0, 3);
  const DeviceId q = t.add_endpoint(t.add_switch_downstream_port(top, 1, 0x20), 0);
  std::vector<DeviceId> redirecting = {port};
  uint8_t bus = 4;
  for (int i = 0; i < 5; i++) {
    const DeviceId usp = t.add_switch_upstream_port(port, bus++);
    port = t.add_switch_downstream_port(usp, 0, bus++);
    redirecting.push_back(usp);
    redirecting.push_back(port);
  }
  const DeviceId p = t.add_endpoint(port, 0);
  for (DeviceId id : redirecting) t.set_acs_ctrl(id, acs::kRequestRedirect);
  P2pdmaDistance p2p(t);

  // Distance: P up to top = 1 + 11 = 12 (P, 11 ports, top found); Q: 2.
  const Calc r = calc(p2p, p, q, true);
  CHECK(r.type == MapType::thru_host_bridge);
  CHECK(r.dist == 14);
  // Provider side lists from P upwards: 0000:0c:00.0 (DSP of the bottom
  // switch) first. 13 characters each: 9 entries fit in 127 characters
  // (117), the 10th (03:00.0) is cut after 10 characters and the seq_buf overflows;
  // "drop final semicolon" then hits the NUL that is already there.
  std::string expected;
  for (auto it = redirecting.rbegin(); it != redirecting.rend(); ++it) expected += t.device(*it).bdf() + ";";
  expected = expected.substr(0, 127);
  REQUIRE(p2p.log().size() == 2);
  const std::string& line = p2p.log()[1];
  CHECK(line.substr(line.rfind('=') + 1) == expected);
  CHECK(expected.substr(0, 13) == "0000:0c:00.0;");
  CHECK(expected.substr(117) == "0000:03:00");
}

// ---------------------------------------------------------------------------
// The map-type cache

TEST_CASE("p2pdma: calc stores into the provider map_types only with pdev p2pdma", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  P2pdmaDistance p2p(box.topo);
  calc(p2p, box.a, box.b);
  CHECK(p2p.cache_size(box.a) == 0);  // no pdev->p2pdma yet: nothing stored
  p2p.setup(box.a);
  calc(p2p, box.a, box.b);
  calc(p2p, box.a, box.d);  // not_supported is stored too
  CHECK(p2p.cache_size(box.a) == 2);
  CHECK(p2p.cached_map_type(box.a, box.b) == MapType::bus_addr);
  CHECK(p2p.cached_map_type(box.a, box.d) == MapType::not_supported);
  CHECK(p2p.cached_map_type(box.a, box.c) == MapType::unknown);
  CHECK(p2p.cache_size(box.b) == 0);  // per provider, not per pair
}

TEST_CASE("p2pdma: S15 the map type cache does not see a later ACS change", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);  // off the whitelist: a redirect means not_supported
  P2pdmaDistance p2p(box.topo);
  p2p.setup(box.a);
  p2p.publish(box.a, true);

  // At setup time (e.g. nvmet picking a provider) the path is direct.
  REQUIRE(p2p.distance_many(box.a, {box.b}, false) == 4);
  REQUIRE(p2p.cached_map_type(box.a, box.b) == MapType::bus_addr);

  // Later ACS redirect is turned on at DSP0 (IOMMU group change, setpci...).
  box.topo.set_acs_ctrl(box.dsp0, acs::kRequestRedirect);

  // The DMA mapping path still maps with bus addresses, bypassing the IOMMU.
  CHECK(p2p.map_type(box.a, box.b) == MapType::bus_addr);
  CHECK(p2p.map_type(box.a, box.b) == MapType::bus_addr);
  CHECK(p2p.log().empty());  // a hit computes nothing and warns about nothing

  // Only a fresh calculation of the same pair refreshes the entry.
  CHECK(calc(p2p, box.a, box.b).type == MapType::not_supported);
  CHECK(p2p.map_type(box.a, box.b) == MapType::not_supported);

  // Undoing the ACS change is not seen either.
  box.topo.set_acs_ctrl(box.dsp0, 0);
  CHECK(p2p.map_type(box.a, box.b) == MapType::not_supported);
}

TEST_CASE("p2pdma: map_type computes verbosely on a miss and never without pdev p2pdma", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  P2pdmaDistance p2p(box.topo);
  // No pdev->p2pdma: not_supported without looking at the path.
  CHECK(p2p.map_type(box.a, box.b) == MapType::not_supported);
  CHECK(p2p.log().empty());

  p2p.setup(box.a);
  CHECK(p2p.map_type(box.a, kNotPciDevice) == MapType::not_supported);
  CHECK(p2p.cache_size(box.a) == 0);

  // Miss: calc_map_type_and_dist(verbose = true), stored.
  CHECK(p2p.map_type(box.a, box.d) == MapType::not_supported);
  CHECK(p2p.cached_map_type(box.a, box.d) == MapType::not_supported);
  CHECK(log_has(p2p, "0000:08:00.0: cannot be used for peer-to-peer DMA"));

  // pci_p2pdma_release() destroys the xarray: the only invalidation there is.
  p2p.release(box.a);
  CHECK(p2p.cache_size(box.a) == 0);
  CHECK(p2p.map_type(box.a, box.b) == MapType::not_supported);
  p2p.setup(box.a);
  CHECK(p2p.map_type(box.a, box.b) == MapType::bus_addr);
}

// ---------------------------------------------------------------------------
// pci_p2pdma_distance_many

TEST_CASE("p2pdma: distance_many sums the clients and fails on any", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  P2pdmaDistance p2p(box.topo);
  CHECK(p2p.distance_many(box.a, {}, false) == -1);
  CHECK(p2p.distance_many(box.a, {box.a}, false) == 0);
  CHECK(p2p.distance_many(box.a, {box.a1, box.b}, false) == 6);        // 2 + 4
  CHECK(p2p.distance_many(box.a, {box.a1, box.b, box.c}, false) == 12);  // 2 + 4 + 6
  CHECK(p2p.distance_many(box.a, {box.b, box.d}, false) == -1);        // D is not supported
  CHECK(p2p.distance_many(box.a, {box.b, kNotPciDevice}, false) == -1);
  CHECK(p2p.distance_many(box.a, {box.b, kNotPciDevice}, true) == -1);
  CHECK(log_has(p2p, "not a PCI device"));

  SwitchBox zen(kZen);
  P2pdmaDistance p2p_zen(zen.topo);
  CHECK(p2p_zen.distance_many(zen.a, {zen.b, zen.d}, false) == 10);  // 4 + 6
}

TEST_CASE("p2pdma: quiet distance_many stops at the first unsupported client", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  P2pdmaDistance p2p(box.topo);
  p2p.setup(box.a);
  CHECK(p2p.distance_many(box.a, {box.d, box.b}, false) == -1);
  // B was never looked at, so nothing was cached for it.
  CHECK(p2p.cached_map_type(box.a, box.d) == MapType::not_supported);
  CHECK(p2p.cached_map_type(box.a, box.b) == MapType::unknown);
  // Verbose goes on to every client.
  CHECK(p2p.distance_many(box.a, {box.d, box.b}, true) == -1);
  CHECK(p2p.cached_map_type(box.a, box.b) == MapType::bus_addr);
}

// ---------------------------------------------------------------------------
// pci_p2pmem_find_many

TEST_CASE("p2pdma: find_many picks the closest published provider", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  P2pdmaDistance p2p(box.topo);
  std::vector<uint64_t> asked;
  auto first = [&asked](uint64_t n) {
    asked.push_back(n);
    return uint64_t{0};
  };
  CHECK(p2p.find_many({box.a}, first) == kNoDevice);  // nobody has p2pmem
  CHECK(asked.empty());                               // no random draw without candidates

  for (DeviceId prov : {box.a1, box.b, box.c, box.d}) {
    p2p.setup(prov);
    p2p.publish(prov, true);
  }
  // From client A: A1 2, B 4, C 6, D not supported.
  CHECK(p2p.find_many({box.a}, first) == box.a1);
  CHECK(asked == std::vector<uint64_t>{1});
  // From clients A and B: A1 2 + 4 = 6, B 4 + 0 = 4, C 6 + 6 = 12.
  CHECK(p2p.find_many({box.a, box.b}, first) == box.b);
  // Unpublished providers are not candidates even if closest.
  p2p.publish(box.b, false);
  CHECK(p2p.find_many({box.a, box.b}, first) == box.a1);
  // From client D (another root port, Intel off the list): nothing fits but D itself.
  CHECK(p2p.find_many({box.d}, first) == box.d);
  p2p.release(box.d);
  CHECK(p2p.find_many({box.d}, first) == kNoDevice);
}

TEST_CASE("p2pdma: find_many ties follow for_each_pci_dev order and the draw", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  P2pdmaDistance p2p(box.topo);
  for (DeviceId prov : {box.f, box.c, box.b}) {  // setup order does not matter
    p2p.setup(prov);
    p2p.publish(prov, true);
  }
  // From A: B 4, F 4, C 6. Candidates in bus_add_order: bus 4 (B) before bus 9 (F).
  uint64_t n_seen = 0;
  auto pick = [&n_seen](uint64_t index) {
    return [&n_seen, index](uint64_t n) {
      n_seen = n;
      return index;
    };
  };
  CHECK(p2p.find_many({box.a}, pick(0)) == box.b);
  CHECK(n_seen == 2);
  CHECK(p2p.find_many({box.a}, pick(1)) == box.f);
  CHECK_THROWS_AS(p2p.find_many({box.a}, pick(2)), ModelBug);  // a broken callback
}

TEST_CASE("p2pdma: find_many under a fixed seed is deterministic and spreads over seeds", "[p2pdma_distance]") {
  SwitchBox box(kIntelCpu);
  P2pdmaDistance p2p(box.topo);
  for (DeviceId prov : {box.b, box.f}) {
    p2p.setup(prov);
    p2p.publish(prov, true);
  }
  auto run = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<DeviceId> picks;
    for (int i = 0; i < 32; i++)
      picks.push_back(p2p.find_many({box.a}, [&rng](uint64_t n) { return rng.below(n); }));
    return picks;
  };
  const auto first = run(42);
  CHECK(run(42) == first);  // same seed, same choices
  int b_count = 0;
  for (DeviceId id : first) {
    CHECK((id == box.b || id == box.f));
    b_count += id == box.b;
  }
  CHECK(b_count > 0);
  CHECK(b_count < 32);  // a fair coin is not stuck on one side

  // First pick of each of 200 seeds: both providers are chosen often.
  int b_first = 0;
  for (uint64_t seed = 0; seed < 200; seed++) b_first += run(seed)[0] == box.b;
  CHECK(b_first >= 70);
  CHECK(b_first <= 130);
}

TEST_CASE("p2pdma: find_many keeps at most one page of tied candidates", "[p2pdma_distance]") {
  // AMD: every pair across root ports is thru_host_bridge at 2 + 2 = 4.
  // 66 root ports on bus 0 (00:01.0 ... 00:09.1, 8 functions a slot), each with an
  // 8-function endpoint: client on the first, 65 * 8 = 520 providers at 4.
  PciTopology t(kZen);
  const HostBridgeId hb = t.add_host_bridge(0, 0);
  std::vector<DeviceId> providers;
  DeviceId client = kNoDevice;
  for (int i = 0; i < 66; i++) {
    const uint8_t slot = static_cast<uint8_t>(1 + i / 8);
    const uint8_t fn = static_cast<uint8_t>(i % 8);
    const DeviceId rp = t.add_root_port(hb, slot, fn, static_cast<uint8_t>(1 + i));
    for (uint8_t f = 0; f < 8; f++) {
      const DeviceId ep = t.add_endpoint(rp, f);
      if (i == 0 && f == 0) client = ep;
      if (i > 0) providers.push_back(ep);
    }
  }
  REQUIRE(providers.size() == 520);
  P2pdmaDistance p2p(t);
  for (DeviceId prov : providers) {
    p2p.setup(prov);
    p2p.publish(prov, true);
  }
  REQUIRE(p2p.distance_many(providers.back(), {client}, false) == 4);
  uint64_t n_seen = 0;
  auto last = [&n_seen](uint64_t n) {
    n_seen = n;
    return n - 1;
  };
  // for_each_pci_dev: all root ports first, then each port's bus in turn, so
  // the providers come in creation order. Only the first 512 are kept.
  CHECK(p2p.find_many({client}, last) == providers[511]);
  CHECK(n_seen == 512);
}
