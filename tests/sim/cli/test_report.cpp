// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// `p2pdma-sim report` as a user runs it: the relationships the anchors
// predict between topologies (docs/reports.md), the files it writes, and
// the exit-2 messages for bad sweeps.
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_runner.h"

using namespace p2psim_test;  // the CLI test helpers

namespace {

using Row = std::map<std::string, std::string>;

/// results.csv as rows of column -> value (our fields hold no quotes).
std::vector<Row> read_csv(const std::string& path) {
  std::istringstream in(slurp(path));
  std::string line;
  std::vector<std::string> head;
  std::vector<Row> rows;
  auto split = [](const std::string& l) {
    std::vector<std::string> f;
    std::string cur;
    std::istringstream ls(l);
    while (std::getline(ls, cur, ',')) f.push_back(cur);
    if (!l.empty() && l.back() == ',') f.emplace_back();
    return f;
  };
  if (std::getline(in, line)) head = split(line);
  while (std::getline(in, line)) {
    const auto f = split(line);
    Row r;
    for (size_t i = 0; i < head.size() && i < f.size(); ++i) r[head[i]] = f[i];
    rows.push_back(r);
  }
  return rows;
}

double num(const Row& r, const std::string& col) {
  auto it = r.find(col);
  if (it == r.end() || it->second.empty()) FAIL("no value in column " << col);
  return std::stod(it->second);
}

/// Runs `report` on a scenario of scenarios/reports/ into a fresh directory.
std::vector<Row> report(const std::string& scenario, const std::string& sweeps, const std::string& name) {
  const std::string out = scratch() + "/" + name;
  const Cli c = run_raw("report " + src("scenarios/reports/" + scenario) + " --out " + out + " " + sweeps);
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 0);
  auto rows = read_csv(out + "/results.csv");
  for (const auto& r : rows) {
    INFO("row " << r.at("index"));
    CHECK(r.at("status") == "ok");
  }
  return rows;
}

}  // namespace

TEST_CASE("report: P2P through a switch beats a root complex that forwards below link rate", "[report][cli]") {
  const auto rows = report("switch_vs_rc.yaml", "--sweep path=switch,rc --sweep rc_mb_per_s=2000,7100 "
                                                "--sweep chunk_size=128KiB --jobs 2", "rc");
  REQUIRE(rows.size() == 4);
  const Row &sw = rows[0], &rc_slow = rows[2], &rc_fast = rows[3];
  REQUIRE(rc_slow.at("path") == "rc");
  REQUIRE(rc_slow.at("rc_mb_per_s") == "2000");
  // The drives move ~4.3 GB/s over their Gen4 x4 links; a 2 GB/s root
  // complex caps the same copy, a 7.1 GB/s one does not.
  CHECK(num(sw, "throughput_GBps") > 1.5 * num(rc_slow, "throughput_GBps"));
  CHECK(num(rc_slow, "throughput_GBps") < 2.0);
  CHECK(num(rc_fast, "throughput_GBps") > 0.9 * num(sw, "throughput_GBps"));
  CHECK(num(sw, "rc_p2p_bytes") == 0);
  CHECK(num(rc_slow, "rc_p2p_bytes") == num(rc_slow, "bytes"));
  CHECK(num(rc_slow, "latency_p99_us") > num(sw, "latency_p99_us"));
}

TEST_CASE("report: ACS redirect moves peer traffic onto the root-port link", "[report][cli]") {
  const auto rows = report("switch_vs_rc.yaml", "--sweep path=switch,switch_acs --sweep chunk_size=128KiB", "acs");
  REQUIRE(rows.size() == 2);
  // Behind the switch the copy stays below rp0; redirected, every byte goes
  // up rp0's link to the root complex and back down it.
  CHECK(num(rows[0], "link_rp0_up_util") < 0.01);
  CHECK(num(rows[0], "link_rp0_down_util") < 0.01);
  CHECK(num(rows[1], "link_rp0_up_util") > 0.1);
  CHECK(num(rows[1], "link_rp0_down_util") > 0.1);
  CHECK(num(rows[1], "rc_p2p_bytes") == num(rows[1], "bytes"));
  CHECK(num(rows[0], "link_sw0p0_up_util") > 0.3);  // the drive's own link carries it either way
}

TEST_CASE("report: throughput rises with MPS, and the link model shows the sawtooth just above it", "[report][cli]") {
  const auto rows = report("link_config.yaml", "--sweep gen=3 --sweep lanes=2 --sweep mps=128,256,512", "mps");
  REQUIRE(rows.size() == 3);
  CHECK(num(rows[0], "throughput_GBps") < num(rows[1], "throughput_GBps"));
  CHECK(num(rows[1], "throughput_GBps") < num(rows[2], "throughput_GBps"));
  // results.json's validation: a write of MPS + 4 bytes needs a second TLP.
  const std::string js = slurp(scratch() + "/mps/results.json");
  auto sim_gbps = [&](int mps, int bytes) {
    const std::string key = "\"gen\":3,\"lanes\":2,\"mps\":" + std::to_string(mps) +
                            ",\"mrrs\":512,\"op\":\"write\",\"bytes\":" + std::to_string(bytes) + ",";
    const size_t at = js.find(key);
    REQUIRE(at != std::string::npos);
    const size_t v = js.find("\"simulated_gbps\":", at);
    return std::stod(js.substr(v + 17));
  };
  CHECK(sim_gbps(256, 260) < 0.95 * sim_gbps(256, 256));
  CHECK(sim_gbps(256, 512) > sim_gbps(256, 260));
}

TEST_CASE("report: two drives sharing a switch uplink split it", "[report][cli]") {
  const auto rows = report("shared_uplink.yaml", "--sweep uplink_lanes=4,16 --sweep chunk_size=128KiB", "uplink");
  REQUIRE(rows.size() == 2);
  const double a = num(rows[0], "run_reader0_GBps"), b = num(rows[0], "run_reader1_GBps");
  const double wide = num(rows[1], "run_reader0_GBps");
  CHECK(std::abs(a - b) < 0.05 * (a + b) / 2);  // an even split
  CHECK(a < 0.75 * wide);                       // each gets less than on a wide uplink
  CHECK(num(rows[0], "link_rp0_up_util") > 0.6);  // the shared x4 uplink is the busy one
  CHECK(num(rows[0], "link_rp0_up_util") > num(rows[1], "link_rp0_up_util"));
}

TEST_CASE("report: a row is what `run --param` gives for the same configuration", "[report][cli]") {
  const auto rows = report("switch_vs_rc.yaml", "--sweep path=rc --sweep chunk_size=32KiB", "one");
  REQUIRE(rows.size() == 1);
  const Cli c = run_raw("run " + src("scenarios/reports/switch_vs_rc.yaml") +
                        " --param path=rc --param chunk_size=32KiB --strategy timed --json");
  REQUIRE(c.exit_code == 0);
  // p2pmem-test's own "Transfer:" line: bytes in seconds.
  const double secs = num(rows[0], "timed_seconds");
  std::ostringstream want;
  want.precision(6);
  want << std::fixed << secs;
  CHECK(c.out.find(" in " + want.str() + " s") != std::string::npos);
  CHECK(slurp(scratch() + "/one/results.json").find("\"rows\":[") != std::string::npos);
}

TEST_CASE("report: bad sweeps exit 2 naming the key or the value and where", "[report][cli][input]") {
  const std::string sc = src("scenarios/reports/switch_vs_rc.yaml");
  const std::string out = " --out " + scratch() + "/bad";
  Cli c = run_raw("report " + sc + out + " --sweep gen2=3,4");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("--sweep gen2: ") != std::string::npos);
  CHECK(c.err.find("declares no parameter 'gen2'; it declares: path, gen, lanes") != std::string::npos);
  c = run_raw("report " + sc + out + " --sweep gen=3,9");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("switch.yaml:") != std::string::npos);  // the included topology, where ${gen} sits
  CHECK(c.err.find("(sweep point gen=9)") != std::string::npos);
  c = run_raw("report " + sc + out + " --sweep path=switch,nowhere");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("nowhere.yaml") != std::string::npos);
  c = run_raw("report " + sc + out + " --sweep gen=3,3");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("value '3' given twice") != std::string::npos);
  c = run_raw("report " + sc + " --sweep gen=3");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("--out") != std::string::npos);
  c = run_raw("report " + src("scenarios/s1_premature_genalloc_return.yaml") + out);
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("needs NVMe devices") != std::string::npos);
  c = run_raw("run " + sc + " --param nope=1");
  CHECK(c.exit_code == 2);
  CHECK(c.err.find("no parameter 'nope'") != std::string::npos);
}

TEST_CASE("report: with posted credits at the root port a slow root complex back-pressures the drive's link",
          "[report][cli][credits]") {
  const auto rows = report("switch_vs_rc.yaml",
                           "--sweep path=rc --sweep rc_mb_per_s=2000 --sweep chunk_size=128KiB "
                           "--sweep posted_headers=0,8 --sweep posted_data=128",
                           "credits");
  REQUIRE(rows.size() == 2);
  const Row &unbounded = rows[0], &bounded = rows[1];
  REQUIRE(bounded.at("posted_headers") == "8");
  // posted_headers=0 with posted_data=128 still bounds the data: 8 TLPs of 256 B.
  CHECK(num(unbounded, "link_rp0_up_credit_stalls") > 1000);
  CHECK(num(bounded, "link_rp0_up_credit_stalls") > 1000);
  // The root complex forwards a 256 B TLP every 128 ns at 2 GB/s, the link
  // could send one every 36 ns: each waits most of the difference for room.
  CHECK(num(bounded, "link_rp0_up_credit_wait_us") > 0.05);
  CHECK(num(bounded, "link_rp0_up_credit_wait_us") < 0.128);
  CHECK(num(bounded, "link_rp1_down_credit_stalls") == 0);  // nvme1 advertises no limit
  // The root complex still sets the pace.
  CHECK(num(bounded, "throughput_GBps") < 2.0);
  const auto free_rows = report("switch_vs_rc.yaml",
                                "--sweep path=rc --sweep rc_mb_per_s=2000 --sweep chunk_size=128KiB", "nocredits");
  CHECK(num(free_rows[0], "link_rp0_up_credit_stalls") == 0);
}

TEST_CASE("report: a drive's request issue rate from the topology slows its peer writes", "[report][cli]") {
  const std::string out = scratch() + "/limits";
  const Cli c = run_raw("report " + src("tests/data/scenarios/topo_device_limits.yaml") + " --out " + out +
                        " --sweep requests_per_us=1000000,20");
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 0);
  const auto rows = read_csv(out + "/results.csv");
  REQUIRE(rows.size() == 2);
  // 20 requests per µs caps 256-byte writes at 5.1 GB/s, and stretches each
  // 128 KiB command's 512 writes to 25.6 µs.
  CHECK(num(rows[1], "throughput_GBps") < 0.95 * num(rows[0], "throughput_GBps"));
  const Cli bad = run_raw("run " + src("tests/data/scenarios/topo_device_limits.yaml") + " --param read_tags=1000");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("dma.read_tags must be between 1 and 768") != std::string::npos);
}

TEST_CASE("report: fio-like random reads scale with queue depth until the link is full", "[report][cli][fio]") {
  const auto rows = report("fio_p2pmem.yaml", "--sweep rw=randread --sweep bs=4KiB,128KiB --sweep iodepth=1,4,16", "fio");
  REQUIRE(rows.size() == 6);
  // 4 KiB: each queue-depth step adds throughput.
  CHECK(num(rows[1], "throughput_GBps") > 2 * num(rows[0], "throughput_GBps"));
  CHECK(num(rows[2], "throughput_GBps") > 2 * num(rows[1], "throughput_GBps"));
  // QD1 4 KiB random read: the Optane figure (8.9 µs) plus the fabric.
  CHECK(num(rows[0], "latency_p50_us") > 8.9);
  CHECK(num(rows[0], "latency_p50_us") < 12);
  // 128 KiB at QD16 fills the Gen4 x4 link: within 5 % of 4 KiB-free ceiling, above 6 GB/s.
  CHECK(num(rows[5], "throughput_GBps") > 6.0);
  CHECK(num(rows[5], "link_sw0p0_up_util") > 0.85);
  CHECK(num(rows[0], "ios") == 256);
  const Cli bad = run_raw("run " + src("scenarios/reports/fio_p2pmem.yaml") + " --param ios=250");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("ios must be a multiple of iodepth") != std::string::npos);
}

TEST_CASE("report: strict IOMMU invalidation costs small transfers more than lazy, and large ones nothing",
          "[report][cli][iommu]") {
  const auto rows = report("iommu_modes.yaml",
                           "--sweep path=switch,rc --sweep iommu_mode=lazy,strict --sweep bs=4KiB,128KiB "
                           "--sweep iodepth=1,16 --jobs 2",
                           "iommu_modes");
  REQUIRE(rows.size() == 16);
  auto row = [&](const std::string& path, const std::string& mode, const std::string& bs,
                 const std::string& qd) -> const Row& {
    for (const Row& r : rows)
      if (r.at("path") == path && r.at("iommu_mode") == mode && r.at("bs") == bs && r.at("iodepth") == qd) return r;
    FAIL("no row " << path << " " << mode << " " << bs << " QD" << qd);
    return rows[0];
  };
  // Through the root complex every completion unmaps IOMMU-mapped P2P
  // pages. Strict mode waits one invalidation round trip (1 us by default)
  // per I/O, and every CPU's round trips go through the IOMMU's one
  // invalidation queue: 1,024 reads of 4 KiB need at least 1,024 us of it,
  // so strict can move at most 4 KiB per us (4.096 GB/s). Lazy mode is not
  // held to that. The papers' bound: up to an order of magnitude.
  const Row& strict4 = row("rc", "strict", "4KiB", "16");
  const Row& lazy4 = row("rc", "lazy", "4KiB", "16");
  CHECK(num(strict4, "iommu_inval_round_trips") == num(strict4, "ios"));
  CHECK(num(lazy4, "iommu_inval_round_trips") < num(lazy4, "ios") / 100);
  CHECK(num(strict4, "throughput_GBps") <= 4.096);
  CHECK(num(lazy4, "throughput_GBps") > 1.1 * 4.096);
  CHECK(num(strict4, "throughput_GBps") > 0.1 * num(lazy4, "throughput_GBps"));
  CHECK(num(strict4, "latency_p50_us") > num(lazy4, "latency_p50_us"));
  // At queue depth 1 the round trip sits on each read's path once.
  const double added = num(row("rc", "strict", "4KiB", "1"), "latency_p50_us") -
                       num(row("rc", "lazy", "4KiB", "1"), "latency_p50_us");
  CHECK(added >= 0.99);
  CHECK(added < 1.5);
  // 128 KiB fills the link either way: the same wait per I/O is lost in it.
  CHECK(num(row("rc", "strict", "128KiB", "16"), "throughput_GBps") >
        0.98 * num(row("rc", "lazy", "128KiB", "16"), "throughput_GBps"));
  // Behind a switch the pages are bus addresses: no IOMMU mapping, no wait.
  for (const char* mode : {"lazy", "strict"})
    CHECK(num(row("switch", mode, "4KiB", "16"), "iommu_inval_round_trips") == 0);
  CHECK(num(row("switch", "strict", "4KiB", "16"), "throughput_GBps") ==
        num(row("switch", "lazy", "4KiB", "16"), "throughput_GBps"));
}

TEST_CASE("fio: two ops with several threads in one task each run, under names of their own", "[cli][fio]") {
  const Cli c = run_raw("run " + src("tests/data/scenarios/fio_twice.yaml") + " --json");
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 0);
  CHECK(c.out.find("fio: rw=write bs=4096 iodepth=2 ios=8") != std::string::npos);
  CHECK(c.out.find("fio: rw=read bs=4096 iodepth=2 ios=8") != std::string::npos);
  // Both report 32.77 kB moved: neither run's state leaked into the other.
  size_t n = 0;
  for (size_t at = 0; (at = c.out.find("fio: 32.77kB in", at)) != std::string::npos; ++at) ++n;
  CHECK(n == 2);
}

TEST_CASE("report: a bounce through host memory against P2P, behind a switch and on the root complex",
          "[report][cli][bounce]") {
  const auto rows = report("switch_vs_rc.yaml", "--sweep path=switch,rc --sweep buffer=nvme1,host "
                                                "--sweep chunk_size=128KiB --jobs 2", "bounce");
  REQUIRE(rows.size() == 4);
  const Row &sw_p2p = rows[0], &sw_host = rows[1], &rc_p2p = rows[2], &rc_host = rows[3];
  REQUIRE(sw_host.at("buffer") == "host");
  REQUIRE(rc_host.at("path") == "rc");
  // The bounce moves every byte into DRAM and out again: no peer traffic,
  // and each request waits longer.
  CHECK(num(rc_p2p, "rc_p2p_bytes") == num(rc_p2p, "bytes"));  // on the root complex P2P is forwarded ...
  CHECK(num(rc_host, "rc_p2p_bytes") == 0);                       // ... the bounce is not peer traffic
  // Behind the switch the bounce puts the copy on the root port's link both
  // ways, which P2P never touches.
  CHECK(num(sw_host, "link_rp0_up_util") > 20 * num(sw_p2p, "link_rp0_up_util"));
  CHECK(num(sw_host, "link_rp0_down_util") > 20 * num(sw_p2p, "link_rp0_down_util"));
  CHECK(num(sw_host, "latency_p99_us") > num(sw_p2p, "latency_p99_us"));
  CHECK(num(rc_host, "latency_p99_us") > num(rc_p2p, "latency_p99_us"));
  // Behind the switch P2P never leaves it and beats the bounce; on the root
  // complex (forwarding faster than a drive's link) both cross it alike.
  CHECK(num(sw_p2p, "throughput_GBps") > 1.1 * num(sw_host, "throughput_GBps"));
  CHECK(num(rc_host, "throughput_GBps") > 0.95 * num(rc_p2p, "throughput_GBps"));
}
