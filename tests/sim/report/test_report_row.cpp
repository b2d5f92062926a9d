// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The figures of a report row, from hand-made hardware metrics.
#include <catch2/catch.hpp>

#include <string>

#include "report/report_row.h"

namespace {

std::string column(const p2psim::ReportRow& r, const std::string& name) {
  for (const auto& [k, v] : r.columns)
    if (k == name) return v;
  return "<none>";
}

}  // namespace

TEST_CASE("quantiles are nearest-rank", "[report]") {
  const std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(p2psim::quantile(v, 0.5) == 5);
  CHECK(p2psim::quantile(v, 0.99) == 10);
  CHECK(p2psim::quantile(v, 0) == 1);
  CHECK(p2psim::quantile({}, 0.5) == 0);
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  for (int i = 1; i <= 100; ++i) CHECK(p2psim::quantile(hundred, i / 100.0) == i);  // 0.07 x 100 is rank 7
}

TEST_CASE("a row's throughput, IOPS, latency and link use follow from the metrics", "[report]") {
  p2psim::HardwareMetrics m;
  m.end_time = 3'000'000'000;  // 3 ms
  p2psim::WorkloadMetrics w;
  w.run = "t@9";
  w.bytes = 4'000'000;
  w.start = 1'000'000'000;  // 1 ms .. 3 ms: 2 ms timed
  w.end = 3'000'000'000;
  for (int i = 1; i <= 100; ++i) w.read_latency.push_back(i * 1'000'000ULL);  // 1..100 µs
  m.workloads.push_back(w);
  p2psim::LinkMetrics l;
  l.name = "rp0";
  l.config = {4, 4, 256, 512, 64, true, false};
  l.byte_time_ps = 125;
  l.up.tlp_bytes = 8'000'000;  // 8e6 x 125 ps = 1 ms of the 2 ms
  m.links.push_back(l);
  m.rc_p2p_bytes = 2'000'000;
  m.iotlb.hits = 3;
  m.iotlb.misses = 1;
  p2psim::SweepPoint p;
  p.axes = {{"path", "rc"}};
  p.params = {{"path", "rc"}};
  const auto r = p2psim::make_report_row(7, p, {{"path", "rc"}}, m, "clean", 0.5);
  CHECK(r.status == "ok");
  CHECK(column(r, "throughput_GBps") == "2");  // 4e6 B / 2 ms
  CHECK(column(r, "iops") == "50000");         // 100 I/Os / 2 ms
  CHECK(column(r, "latency_p50_us") == "50");
  CHECK(column(r, "latency_p99_us") == "99");
  CHECK(column(r, "rc_p2p_GBps") == "1");
  CHECK(column(r, "iotlb_hit_rate") == "0.75");
  CHECK(column(r, "real_time_factor") == "0.006");  // 3 ms simulated in 0.5 s
  CHECK(column(r, "link_rp0_up_util") == "0.5");
  CHECK(column(r, "link_rp0_down_util") == "0");
  REQUIRE(r.latency_cdf_us.size() == 101);
  CHECK(r.latency_cdf_us.front() == 1);
  CHECK(r.latency_cdf_us.back() == 100);
  const std::string js = p2psim::report_row_json(r);
  CHECK(js.find("\"index\":7") != std::string::npos);
  CHECK(js.find("\"config\":{\"path\":\"rc\"}") != std::string::npos);
  CHECK(js.find("\"up_util\":0.5") != std::string::npos);
}

TEST_CASE("a failed workload or a finding shows in the status", "[report]") {
  p2psim::HardwareMetrics m;
  m.end_time = 1000;
  p2psim::WorkloadMetrics w;
  w.run = "t@9";
  w.error = -121;
  m.workloads.push_back(w);
  CHECK(p2psim::make_report_row(0, {}, {}, m, "clean", 1).status == "t@9: I/O failed with -121");
  m.workloads.clear();
  CHECK(p2psim::make_report_row(0, {}, {}, m, "data_mismatch", 1).status == "finding: data_mismatch");
}
