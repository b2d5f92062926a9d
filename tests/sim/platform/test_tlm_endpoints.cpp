// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// SystemC/TLM-2.0 endpoint models in the PCIe tree's modules (kind: tlm):
// the copy engine moves data through the switch, or through the root
// complex and the IOMMU under ACS redirect; the oracles and the IOMMU judge
// its DMA as they judge the NVMe controller's. Each TEST_CASE runs in its
// own process (catch_discover_tests): SystemC elaborates once per process.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "engine/systemc_host.h"
#include "platform/pcie_switch_module.h"
#include "platform/root_complex_module.h"
#include "explore/runner.h"
#include "scenario/endpoint_models.h"
#include "scenario/scenario.h"
#include "support/cli_runner.h"
#include "support/scenario_run.h"

using namespace p2psim;
using p2psim_test::Cli;
using p2psim_test::run_raw;
using p2psim_test::scratch;
using p2psim_test::src;

namespace {
RunResult run_once(const std::string& file, const std::string& variant, const ParamValues& params = {}) {
  return p2psim_test::run_scenario_once(file, variant, params, /*hardware_metrics=*/true);
}

const LinkMetrics& link(const RunResult& r, const std::string& name) {
  for (const auto& l : r.hardware->links)
    if (l.name == name) return l;
  FAIL("no link " << name);
  throw std::logic_error("unreachable");
}

std::string outcome(const RunResult& r, const std::string& op) {
  std::string last;
  for (const auto& o : r.outcomes)
    if (o.op == op) last = o.result;
  return last;
}

/// A scenario file in this test's scratch directory.
std::string write_scenario(const std::string& name, const std::string& text) {
  const std::string path = scratch() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

/// A one-switch topology with a tlm endpoint written as @endpoint, and
/// one task doing @ops.
std::string scenario_with(const std::string& endpoint, const std::string& ops) {
  return "name: t\n"
         "topology:\n"
         "  cpu: { vendor: intel, family: 6 }\n"
         "  host_bridges:\n"
         "    - name: hb0\n"
         "      root_device: { vendor: 0x8086, device: 0x2020 }\n"
         "      root_ports:\n"
         "        - name: rp0\n"
         "          below:\n"
         "            switch:\n"
         "              name: sw0\n"
         "              ports:\n"
         "                - name: sw0p0\n"
         "                  below: { endpoint: { name: nvme0, kind: nvme, cmb: 64MiB } }\n"
         "                - name: sw0p1\n"
         "                  below:\n"
         "                    endpoint: " + endpoint + "\n"
         "kernel: { preset: v6.2, cpus: 1 }\n"
         "variants: { v6.2: { expect: clean } }\n"
         "tasks:\n"
         "  - name: app\n"
         "    cpu: 0\n"
         "    process: app\n"
         "    ops:\n" + ops;
}
}  // namespace

TEST_CASE("a TLM-2.0 endpoint model attached from a scenario copies CMB to CMB through the switch", "[tlm]") {
  RunResult r = run_once("scenarios/tlm_copy_engine.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  for (const auto& o : r.outcomes) CHECK(o.error == 0);
  CHECK(outcome(r, "mmio_poll") == "0x2");  // STATUS: done
  REQUIRE(r.hardware);
  // nvme0's CMB -> the engine (read completions), the engine -> nvme1's CMB.
  CHECK(link(r, "sw0p0").up.tlp_bytes >= 4096);
  CHECK(link(r, "sw0p2").down.tlp_bytes >= 4096);
  CHECK(link(r, "sw0p2").up.tlp_bytes >= 4096);
  CHECK(link(r, "sw0p1").down.tlp_bytes >= 4096);
  CHECK(r.hardware->rc_p2p_bytes == 0);  // it never went up to the root complex
}

TEST_CASE("under ACS redirect the endpoint's DMA goes through the root complex and the IOMMU", "[tlm]") {
  RunResult r = run_once("tests/data/scenarios/tlm_copy_acs_redirect.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  CHECK(outcome(r, "mmio_poll") == "0x2");
  CHECK(outcome(r, "load") == "0xacce55");
  REQUIRE(r.hardware);
  // The read completions and the writes, each forwarded back down rp0.
  CHECK(r.hardware->rc_p2p_bytes >= 2 * 4096);
  CHECK(link(r, "rp0").up.tlp_bytes >= 2 * 4096);
  CHECK(link(r, "rp0").down.tlp_bytes >= 2 * 4096);
}

TEST_CASE("an IOVA is routed by the tree, not by its translation: it leaves the switch for the IOMMU", "[tlm][iommu]") {
  // ACS redirect on the drives' ports only: the kernel gives accel0 IOVAs,
  // but accel0's own port would let a bus address through to its peer.
  RunResult r = run_once("tests/data/scenarios/tlm_copy_iova_leaves_switch.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  CHECK(outcome(r, "load") == "0xacce55");
  REQUIRE(r.hardware);
  // The engine's writes go up rp0 with their IOVA and come back down
  // translated, as do the read completions nvme0's port redirects.
  CHECK(r.hardware->rc_p2p_bytes == 2 * 4096);
  CHECK(r.hardware->iotlb.hits + r.hardware->iotlb.misses > 0);
  CHECK(link(r, "rp0").up.tlp_bytes >= 2 * 4096);
  CHECK(link(r, "rp0").down.tlp_bytes >= 2 * 4096);
  // The tree is a module per element, bound as the topology is.
  auto* rc = dynamic_cast<RootComplexModule*>(sc_core::sc_find_object("p2psim_rc0"));
  auto* sw = dynamic_cast<PcieSwitchModule*>(sc_core::sc_find_object("p2psim_switch0"));
  REQUIRE(rc);
  REQUIRE(sw);
  CHECK(sc_core::sc_find_object("p2psim_switch1") == nullptr);
  CHECK(rc->to_below.size() == 1);  // the switch below rp0
  CHECK(sw->to_below.size() == 3);  // nvme0, nvme1, accel0
  CHECK(sc_core::sc_find_object("p2psim_iommu0") != nullptr);
}

TEST_CASE("an endpoint model reaches peers below a switch below its own switch", "[tlm]") {
  // rp0 - sw0 { accel0, sw1 { nvme0, nvme1 } }: every request of the
  // engine goes down from sw0 into sw1, and the completions come back up.
  RunResult r = run_once("tests/data/scenarios/tlm_copy_two_switches.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  CHECK(outcome(r, "load") == "0x5eed");
  REQUIRE(r.hardware);
  CHECK(link(r, "sw0p0").up.tlp_bytes >= 4096);    // the engine's writes
  CHECK(link(r, "sw0p0").down.tlp_bytes >= 4096);  // its read completions
  CHECK(link(r, "sw0p1").down.tlp_bytes >= 4096);  // the writes, into sw1
  CHECK(link(r, "sw0p1").up.tlp_bytes >= 4096);    // nvme0's completions, out of sw1
  CHECK(link(r, "sw1p0").up.tlp_bytes >= 4096);
  CHECK(link(r, "sw1p1").down.tlp_bytes >= 4096);
  CHECK(link(r, "rp0").down.tlp_bytes < 4096);  // nothing of it went above sw0
  CHECK(r.hardware->rc_p2p_bytes == 0);
  auto* sw0 = dynamic_cast<PcieSwitchModule*>(sc_core::sc_find_object("p2psim_switch0"));
  auto* sw1 = dynamic_cast<PcieSwitchModule*>(sc_core::sc_find_object("p2psim_switch1"));
  REQUIRE(sw0);
  REQUIRE(sw1);
  CHECK(sw0->to_below.size() == 2);  // accel0 and sw1
  CHECK(sw1->to_below.size() == 2);  // nvme0 and nvme1
}

TEST_CASE("peer traffic between host bridges passes from one root complex module to the other", "[tlm]") {
  // AMD: hb0's drives copy through a p2pmem card below a switch on hb1,
  // then a copy engine on hb1 copies between the drives' CMBs on hb0.
  RunResult r = run_once("tests/data/scenarios/cross_host_peer_to_peer.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  for (const auto& o : r.outcomes) CHECK(o.error == 0);
  CHECK(outcome(r, "mmio_poll") == "0x2");  // the MMIO reached accel0 through hb1
  CHECK(outcome(r, "load") == "0x5eed");
  REQUIRE(r.hardware);
  // p2pmem-test: 2 x 4 KiB into the card and out of it; the engine: 4 KiB read, 4 KiB written.
  CHECK(r.hardware->rc_p2p_bytes == 4 * 4096 + 2 * 4096);
  CHECK(link(r, "sw1p0").down.tlp_bytes >= 2 * 4096);
  CHECK(link(r, "rp3").up.tlp_bytes >= 4096);    // the engine's writes
  CHECK(link(r, "rp3").down.tlp_bytes >= 4096);  // its read completions
  auto* rc0 = dynamic_cast<RootComplexModule*>(sc_core::sc_find_object("p2psim_rc0"));
  auto* rc1 = dynamic_cast<RootComplexModule*>(sc_core::sc_find_object("p2psim_rc1"));
  REQUIRE(rc0);
  REQUIRE(rc1);
  CHECK(rc0->to_peers.size() == 1);
  CHECK(rc1->to_peers.size() == 1);
  CHECK(rc1->to_below.size() == 2);  // sw1 below rp2, accel0 below rp3
}

TEST_CASE("a strict IOMMU faults the endpoint's DMA to an IOVA its driver unmapped", "[tlm]") {
  RunResult r = run_once("tests/data/scenarios/tlm_copy_iommu_fault.yaml", "v6.2");
  REQUIRE(verdict_of(r.findings) == "iommu_fault");
  CHECK(r.findings[0].task == "accel0");
  CHECK(r.findings[0].message.find("accel0 DMA read at") != std::string::npos);
  CHECK(outcome(r, "mmio_poll") == "0x3");  // the engine saw the error response
}

TEST_CASE("the oracles catch an endpoint model's DMA to pages its device has no mapping of", "[tlm]") {
  RunResult r = run_once("tests/data/scenarios/tlm_copy_unmapped.yaml", "v6.2");
  REQUIRE(verdict_of(r.findings) == "use_after_free");
  CHECK(r.findings[0].task == "accel0");
  CHECK(r.findings[0].message.find("has no DMA mapping") != std::string::npos);
}

TEST_CASE("an endpoint model loads from a shared library named in the scenario", "[tlm]") {
  const Cli c = run_raw("run " + src("tests/data/scenarios/tlm_plugin.yaml") + " --variant v6.2 --param library=" +
                        P2PSIM_EXAMPLE_ENDPOINTS);
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("verdict: clean") != std::string::npos);
}

TEST_CASE("an endpoint model's MSI runs the handler that completes the task's wait_irq", "[tlm][msi]") {
  RunResult r = run_once("tests/data/scenarios/tlm_copy_msi.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  CHECK(outcome(r, "wait_irq") == "interrupted");
  CHECK(outcome(r, "load") == "0x1235");
  // The copy took time: the wait ended well after the start (the CTRL write).
  ps_t started = 0, woke = 0;
  for (const auto& o : r.outcomes) {
    if (o.op == "mmio_write") started = o.time;
    if (o.op == "wait_irq") woke = o.time;
  }
  CHECK(woke > started + 1_us);
}

TEST_CASE("a wait_irq that no interrupt answers is a hang finding", "[tlm][msi]") {
  // MSI_ADDR left 0: the engine copies and never interrupts.
  const std::string f = write_scenario(
      "t.yaml", scenario_with("{ name: accel0, kind: tlm, model: copy_engine }",
                              "      - mmio_write: { dev: accel0, offset: 0x18, value: 1 }\n"
                              "      - wait_irq: { dev: accel0 }\n"));
  const Cli c = run_raw("run " + f + " --variant v6.2");
  INFO(c.out << c.err);
  CHECK(c.exit_code == 1);
  CHECK(c.out.find("verdict: hang") != std::string::npos);
  CHECK(c.out.find("wait_for_completion") != std::string::npos);
}

TEST_CASE("an MSI goes up to the root complex even when a bridge window spans the x86 hole", "[tlm][msi]") {
  // nvme0's 2 GiB CMB lands above 4 GiB, so rp0's one window covers
  // 0xe0000000 to 6 GiB, across the MSI window: no bridge may claim an MSI.
  const std::string f = write_scenario("wide.yaml", R"(name: wide
topology:
  cpu: { vendor: intel, family: 6 }
  host_bridges:
    - name: hb0
      root_device: { vendor: 0x8086, device: 0x2020 }
      root_ports:
        - name: rp0
          below:
            switch:
              name: sw0
              ports:
                - { name: sw0p0, below: { endpoint: { name: accel0, kind: tlm, model: copy_engine } } }
                - { name: sw0p1, below: { endpoint: { name: nvme0, kind: nvme, cmb: 2GiB } } }
kernel: { preset: v6.2, cpus: 1 }
variants: { v6.2: { expect: clean } }
tasks:
  - name: driver
    cpu: 0
    ops:
      - mmio_write: { dev: accel0, offset: 0x10, value: 0 }
      - mmio_write: { dev: accel0, offset: 0x30, value: { msi_address: 0 } }
      - mmio_write: { dev: accel0, offset: 0x38, value: 0x40 }
      - mmio_write: { dev: accel0, offset: 0x18, value: 1 }
      - wait_irq: { dev: accel0 }
)");
  const Cli c = run_raw("run " + f + " --variant v6.2 --links");
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("verdict: clean") != std::string::npos);
}

TEST_CASE("NVMe-oF target: a NIC model receives into p2pmem and the drive writes it, all below the switch", "[tlm][nvmeof]") {
  RunResult r = run_once("scenarios/reports/nvmeof_target.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  REQUIRE(r.hardware);
  REQUIRE(r.hardware->workloads.size() == 1);
  const WorkloadMetrics& wl = r.hardware->workloads[0];
  CHECK(wl.error == 0);
  CHECK(wl.bytes == 256 * 16384);
  CHECK(wl.receive_latency.size() == 256);  // one NIC receive before each write
  CHECK(wl.read_latency.empty());           // receives are not I/Os: IOPS count the writes
  CHECK(wl.write_latency.size() == 256);
  // The NIC's writes go up its port into nvme1's CMB; nothing through the root complex.
  CHECK(link(r, "sw0p2").up.tlp_bytes >= 256 * 16384);
  CHECK(link(r, "sw0p1").down.tlp_bytes >= 256 * 16384);
  CHECK(r.hardware->rc_p2p_bytes == 0);
}

TEST_CASE("IOVAs never fall in the MSI window: every DMA domain reserves it", "[tlm][msi][iommu]") {
  RunResult r = run_once("tests/data/scenarios/iova_past_msi_window.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  REQUIRE(r.hardware);
  REQUIRE(r.hardware->workloads.size() == 1);
  CHECK(r.hardware->workloads[0].error == 0);
  CHECK(r.hardware->workloads[0].write_latency.size() == 1024);
}

TEST_CASE("IOVAs never fall in a PCI memory window: every DMA domain reserves its host bridge's", "[tlm][iommu]") {
  RunResult r = run_once("tests/data/scenarios/iova_below_bar_windows.yaml", "v6.2");
  CHECK(verdict_of(r.findings) == "clean");
  REQUIRE(r.hardware);
  REQUIRE(r.hardware->workloads.size() == 1);
  CHECK(r.hardware->workloads[0].error == 0);
  CHECK(r.hardware->workloads[0].write_latency.size() == 4096);
  // The allocator went down past the cards' BARs (0xe0000000-0xfe800000)...
  CHECK(r.hardware->iova_lowest < 0xe0000000ull);
  // ...and none of nvme0's DMA went to a card.
  for (const char* port : {"sw0p1", "sw0p2", "sw0p3", "sw0p4", "sw0p5", "sw0p6"}) {
    CHECK(link(r, port).down.tlp_bytes == 0);
    CHECK(link(r, port).up.tlp_bytes == 0);
  }
}

TEST_CASE("one MSI completes one of two waiters, and the other is a hang, not a crash", "[tlm][msi]") {
  const std::string f = write_scenario(
      "t.yaml", scenario_with("{ name: accel0, kind: tlm, model: copy_engine }",
                              "      - mmio_write: { dev: accel0, offset: 0x30, value: { msi_address: 0 } }\n"
                              "      - mmio_write: { dev: accel0, offset: 0x18, value: 1 }\n"
                              "      - wait_irq: { dev: accel0 }\n"
                              "  - name: second\n"
                              "    cpu: 0\n"
                              "    ops:\n"
                              "      - wait_irq: { dev: accel0 }\n"));
  const Cli c = run_raw("run " + f + " --variant v6.2");
  INFO(c.out << c.err);
  CHECK(c.exit_code == 1);
  CHECK(c.out.find("verdict: hang") != std::string::npos);
  CHECK(c.out.find("sleeps forever in wait_for_completion") != std::string::npos);
}

TEST_CASE("run --links shows where the endpoint's data went, as text and JSON", "[tlm][cli]") {
  const std::string f = src("scenarios/tlm_copy_engine.yaml");
  Cli c = run_raw("run " + f + " --variant v6.2 --links");
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 0);
  CHECK(c.out.find("\n  sw0p2      Gen4 x8   up ") != std::string::npos);
  CHECK(c.out.find("root complexes forwarded 0 bytes peer to peer; IOTLB ") != std::string::npos);
  c = run_raw("run " + f + " --variant v6.2 --links --json");
  CHECK(c.out.find(R"("hardware":{"links":[{"name":"rp0","gen":4,"lanes":16,)") != std::string::npos);
  CHECK(c.out.find(R"("rc_p2p_bytes":0,"iommu":true)") != std::string::npos);
  c = run_raw("run " + f + " --variant v6.2 --links --runs 2");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("--links reports one execution: drop --runs") != std::string::npos);
}

TEST_CASE("one process runs many executions of an endpoint model, each from its reset", "[tlm]") {
  const Cli c = run_raw("run " + src("scenarios/tlm_copy_engine.yaml") + " --variant v6.2 --runs 20");
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("20  verdict: clean") != std::string::npos);
}

TEST_CASE("an endpoint's DMA nobody decodes, or into a BAR whose driver is gone, is an error response", "[tlm]") {
  // The engine reports status 3 (error) and the run goes on, clean.
  auto copy = [](const char* src_addr) {
    return fmt::format("      - mmio_write: {{ dev: accel0, offset: 0x00, value: {} }}\n"
                       "      - mmio_write: {{ dev: accel0, offset: 0x08, value: 0xe0001000 }}\n"
                       "      - mmio_write: {{ dev: accel0, offset: 0x10, value: 64 }}\n"
                       "      - mmio_write: {{ dev: accel0, offset: 0x18, value: 1 }}\n"
                       "      - mmio_poll: {{ dev: accel0, offset: 0x20, value: 3, timeout: 1ms }}\n",
                       src_addr);
  };
  const std::string accel = "{ name: accel0, kind: tlm, model: copy_engine }";
  Cli c = run_raw("run " + write_scenario("ur.yaml", scenario_with(accel, copy("0x80000000"))) + " --variant v6.2 -v");
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("mmio_poll          0x3") != std::string::npos);
  // nvme0's CMB at 0xe0000000 loses its pages when the driver unbinds.
  c = run_raw("run " + write_scenario("gone.yaml", scenario_with(accel, "      - unbind: nvme0\n" + copy("0xe0000000"))) +
              " --variant v6.2 -v");
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("mmio_poll          0x3") != std::string::npos);
}

TEST_CASE("the built-in endpoint models are the ones the loader accepts", "[tlm]") {
  // sim/platform/endpoint_models.cpp makes each; a name it does not know
  // would pass `check` and fail at elaboration.
  for (const std::string& m : builtin_endpoint_models()) {
    const std::string f = write_scenario(m + ".yaml", scenario_with("{ name: a, kind: tlm, model: " + m + " }",
                                                                    "      - compute: 1us\n"));
    const Cli c = run_raw("run " + f);
    INFO(m << ": " << c.out << c.err);
    CHECK(c.exit_code == 0);
  }
}

TEST_CASE("bad tlm endpoints and MMIO ops exit 2 naming what and where", "[tlm]") {
  // The endpoint is written on line 17 from column 31; ops from line 25,
  // each at column 9. @at: the text the error points at.
  struct Case {
    std::string endpoint, ops;
    int line;
    std::string at, what;
  };
  const std::string poll = "      - mmio_poll: { dev: accel0, offset: 0x20, value: 2 }\n";
  const std::string ok = "{ name: accel0, kind: tlm, model: copy_engine }";
  const std::vector<Case> cases = {
      {"{ name: accel0, kind: tlm, model: copy_engin }", poll, 17, "copy_engin",
       "unknown built-in endpoint model 'copy_engin'; did you mean 'copy_engine'?"},
      {"{ name: accel0, kind: tlm, model: copy_engine, library: nowhere.so }", poll, 17, "nowhere.so",
       "no endpoint library at "},
      {"{ name: accel0, kind: tlm, model: copy_engine, library: t.yaml }", poll, 17, "t.yaml",
       "cannot load endpoint library: "},
      {"{ name: accel0, kind: tlm, model: copy_engine, params: { chunk: big } }", poll, 17, "{ name",
       "endpoint 'accel0': copy_engine: chunk must be an integer from 1 to 1048576, got 'big'"},
      {"{ name: accel0, kind: tlm, model: copy_engine, params: { colour: red } }", poll, 17, "{ name",
       "unknown parameter 'colour'"},
      {"{ name: accel.0, kind: tlm, model: copy_engine }", poll, 17, "accel.0",
       "a tlm endpoint's name is its SystemC module's"},
      {"{ name: p2pdma_sim, kind: tlm, model: copy_engine }", poll, 17, "p2pdma_sim",
       "not 'p2pdma_sim' (the simulator's own)"},
      {"{ name: accel0, kind: tlm, model: copy_engine, library: " P2PSIM_TEST_PLUGIN_NO_ENTRY " }", poll, 17,
       P2PSIM_TEST_PLUGIN_NO_ENTRY, "is not an endpoint library: it has no P2PSIM_ENDPOINT_LIBRARY entry points"},
      {"{ name: accel0, kind: tlm, model: copy_engine, library: " P2PSIM_TEST_PLUGIN_WRONG_ABI " }", poll, 17,
       P2PSIM_TEST_PLUGIN_WRONG_ABI, "was built for endpoint ABI version 999; this simulator has version 1"},
      {"{ name: accel0, kind: tlm, model: no_such_model, library: " P2PSIM_EXAMPLE_ENDPOINTS " }", poll, 17, "{ name",
       "has no endpoint model 'no_such_model'"},
      {"{ name: accel0, kind: tlm, model: copy_engine, bar: 64GiB }", poll, 17, "{ name",
       "reach past 0x1000000000, where host memory begins"},
      {ok, "      - mmio_write: { dev: nvme0, offset: 0x18, value: 1 }\n", 25, "",
       "'nvme0' is not a tlm endpoint of this topology"},
      {ok, "      - mmio_write: { dev: accel0, offset: 0x1000, value: 1 }\n", 25, "",
       "offset 0x1000 is beyond accel0's BAR (4096 bytes)"},
      {ok, "      - mmio_write: { dev: accel0, offset: 0x1c, value: 1 }\n", 25, "0x1c",
       "offset must be a multiple of 8"},
      {ok, "      - mmio_write: { dev: accel0, offset: 0, value: { dma: nobuf } }\n", 25, "",
       "no task of process 'app' maps a buffer named 'nobuf'"},
      {ok, "      - mmio_write: { dev: accel0, offset: 0x30, value: { msi_address: 1 } }\n", 25, "",
       "msi_address: cpu1 does not exist (kernel.cpus is 1)"},
      {ok, "      - wait_irq: { dev: nvme0 }\n", 25, "", "'nvme0' is not a tlm endpoint of this topology"},
      {"{ name: accel0, kind: tlm, model: rdma_nic, params: { queues: 2 } }",
       "      - fio: { dev: nvme0, p2pmem: nvme0, rw: write, iodepth: 4, ios: 4, nic: accel0 }\n", 25, "",
       "iodepth 4 needs as many receive queues; accel0 has 2"},
      {ok, "      - fio: { dev: nvme0, p2pmem: nvme0, rw: write, ios: 4, nic: accel0 }\n", 25, "",
       "nic: 'accel0' is not an rdma_nic endpoint of this topology"},
      {"{ name: accel0, kind: tlm, model: rdma_nic }",
       "      - fio: { dev: nvme0, p2pmem: nvme0, rw: write, ios: 4, nic: accel0 }\n"
       "      - fio: { dev: nvme0, p2pmem: nvme0, rw: write, ios: 4, nic: accel0 }\n", 26, "",
       "nic: accel0 already serves another fio op"},
      {ok, "      - fio: { dev: nvme0, p2pmem: nvme0, rw: read, ios: 4, nic: accel0 }\n", 25, "accel0 }",
       "nic: the data a write takes comes off the network; it needs rw write or randwrite"},
  };
  for (const auto& k : cases) {
    const std::string f = write_scenario("t.yaml", scenario_with(k.endpoint, k.ops));
    const Cli c = run_raw("run " + f);
    const size_t col = k.line == 17 ? 31 + k.endpoint.find(k.at) : 9 + (k.at.empty() ? 0 : k.ops.find(k.at) - 8);
    const std::string where = fmt::format("{}:{}:{}: error: ", f, k.line, col);
    INFO(k.endpoint << " / " << k.ops << "\n" << c.err << "want " << where);
    CHECK(c.exit_code == 2);
    CHECK(c.err.rfind(where, 0) == 0);
    CHECK(c.err.find(k.what) != std::string::npos);
    CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);  // one message
  }
}
