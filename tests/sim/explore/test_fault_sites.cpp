// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Injected failures in the dma-buf core (`faults:`) and the error paths of
// their callers: tests/data/scenarios/dmabuf_fault_sites.yaml.
#include <catch2/catch.hpp>

#include <vector>

#include "support/scenario_run.h"

using namespace p2psim;

namespace {
/// The errors of the VMM's two registrations and the NIC's write.
std::vector<long> errors(const std::string& site, const std::string& nth) {
  RunResult r = p2psim_test::run_scenario_once("tests/data/scenarios/dmabuf_fault_sites.yaml", "latest",
                                               {{"site", site}, {"nth", nth}});
  INFO(site << " nth " << nth);
  CHECK(verdict_of(r.findings) == "clean");
  std::vector<long> v;
  for (const auto& o : r.outcomes)
    if (o.op == "rdma_reg_mr" || o.op == "rdma_write" || o.op == "unbind") v.push_back(o.error);
  return v;
}
}  // namespace

TEST_CASE("dma-buf fault sites fail the call they name, and its caller unwinds", "[faults]") {
  // No call reaches gen_pool_alloc here: both registrations are tried, the
  // second finds the MR registered, the write's page fault re-maps.
  // Each list ends with the unbind: it completes after every failure.
  CHECK(errors("gen_pool_alloc", "1") == std::vector<long>{0, -16, 0, 0});
  // The attachment cannot be allocated: the first registration fails and
  // puts its dma-buf reference; the second registers.
  CHECK(errors("dma_buf_attach", "1") == std::vector<long>{-12, 0, 0, 0});
  // The first map (at registration) fails: the MR is deregistered.
  CHECK(errors("dma_buf_phys_vec_to_sgt", "1") == std::vector<long>{-12, 0, 0, 0});
  // The second map is the page fault after the revoke: the write faults.
  CHECK(errors("dma_buf_phys_vec_to_sgt", "2") == std::vector<long>{0, -16, -14, 0});
}

TEST_CASE("a failed vfio dma-buf export gives its device registration back: unbind completes", "[faults]") {
  for (const char* site : {"dma_buf_export", "dma_buf_fd", "gen_pool_alloc"}) {
    INFO(site);
    RunResult r = p2psim_test::run_scenario_once("tests/data/scenarios/vfio_export_fault.yaml", "latest",
                                                 {{"site", site}});
    CHECK(verdict_of(r.findings) == "clean");  // a registration left behind would hang the unbind
    std::vector<long> exports;
    for (const auto& o : r.outcomes)
      if (o.op == "dmabuf_export" || o.op == "unbind") exports.push_back(o.error);
    const long first = std::string(site) == "dma_buf_export" ? -12 : std::string(site) == "dma_buf_fd" ? -24 : 0;
    CHECK(exports == std::vector<long>{first, 0, 0});
  }
}

namespace {
/// One traced run of tests/data/scenarios/nvme_fault_sites.yaml (device
/// models: one per test case).
RunResult nvme_run(const std::string& site, const std::string& nth, const std::string& p2pmem) {
  return p2psim_test::run_scenario_once("tests/data/scenarios/nvme_fault_sites.yaml", "v6.2",
                                        {{"site", site}, {"nth", nth}, {"p2pmem", p2pmem}}, false, /*trace=*/true);
}
bool printed(const RunResult& r, const std::string& part) {
  for (const auto& line : r.output)
    if (line.find(part) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("nvme_map_data: a request without an IOVA is dispatched again and the copy completes", "[faults][nvme]") {
  RunResult r = nvme_run("nvme_map_data", "3", "host");
  CHECK(verdict_of(r.findings) == "clean");
  CHECK(r.trace_json.find("BLK_STS_RESOURCE (no IOVA), requeued and dispatched again") != std::string::npos);
  REQUIRE(r.outcomes.size() == 1);
  CHECK(r.outcomes[0].error == 0);
  CHECK(printed(r, "MATCH on data check"));
}

TEST_CASE("nvme_map_data cannot fail a request mapped by bus address: no IOVA is allocated", "[faults][nvme]") {
  RunResult r = nvme_run("nvme_map_data", "1", "nvme1");  // P2P below one switch
  CHECK(verdict_of(r.findings) == "clean");
  CHECK(r.trace_json.find("BLK_STS_RESOURCE") == std::string::npos);
  CHECK(r.trace_json.find("p2pmem_test") != std::string::npos);  // the trace is there
  CHECK(printed(r, "MATCH on data check"));
}

TEST_CASE("gen_pool_add_owner at probe: the NVMe CMB stays unpublished and p2pmem-test gets ENOMEM", "[faults][nvme]") {
  RunResult r = nvme_run("gen_pool_add_owner", "4", "nvme1");  // p2pcard's two functions, nvme0, then nvme1
  CHECK(verdict_of(r.findings) == "clean");
  REQUIRE(r.outcomes.size() == 1);
  CHECK(r.outcomes[0].error == -12);
  CHECK(printed(r, "[boot] pci_p2pdma_add_resource(nvme1): gen_pool_add_owner() failed: -12"));
}
