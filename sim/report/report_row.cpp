// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "report/report_row.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "output/trace_writer.h"

namespace p2psim {

namespace {

std::string num(double v) {
  if (!std::isfinite(v)) return "";
  return fmt::format("{:.6g}", v);
}

/// Tabs and line breaks would split a TSV line.
std::string one_field(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

double quantile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank ceil(p * n) in integers: p in millionths, so 0.07 x 100 is
  // rank 7, not 8 by way of 7.000000000000001.
  const uint64_t ppm = static_cast<uint64_t>(std::llround(std::clamp(p, 0.0, 1.0) * 1e6));
  const uint64_t rank = (ppm * sorted.size() + 999'999) / 1'000'000;
  return sorted[rank == 0 ? 0 : std::min<uint64_t>(sorted.size(), rank) - 1];
}

ReportRow make_report_row(size_t index, const SweepPoint& point,
                          const std::vector<std::pair<std::string, std::string>>& params, const HardwareMetrics& m,
                          const std::string& verdict, double wall_seconds) {
  ReportRow r;
  r.index = index;
  r.point = point;
  r.params = params;
  r.verdict = verdict;
  r.iommu = m.iommu;
  auto col = [&](const std::string& name, const std::string& v) { r.columns.emplace_back(name, v); };

  // The timed interval: from the first workload's start to the last's end.
  uint64_t bytes = 0, ios = 0;
  ps_t start = 0, end = 0;
  bool any = false;
  std::vector<double> lat, rd, wr;
  for (const auto& w : m.workloads) {
    if (w.error && r.status == "ok") r.status = fmt::format("{}: I/O failed with {}", w.run, w.error);
    if (w.end <= w.start) continue;  // failed in setup: no timed part to count
    bytes += w.bytes;
    ios += w.read_latency.size() + w.write_latency.size();
    start = any ? std::min(start, w.start) : w.start;
    end = any ? std::max(end, w.end) : w.end;
    any = true;
    for (ps_t l : w.read_latency) rd.push_back(static_cast<double>(l) / 1e6);
    for (ps_t l : w.write_latency) wr.push_back(static_cast<double>(l) / 1e6);
  }
  if (verdict != "clean" && r.status == "ok") r.status = "finding: " + verdict;
  lat = rd;
  lat.insert(lat.end(), wr.begin(), wr.end());
  std::sort(lat.begin(), lat.end());
  std::sort(rd.begin(), rd.end());
  std::sort(wr.begin(), wr.end());
  const ps_t interval = any && end > start ? end - start : m.end_time;
  const double secs = static_cast<double>(interval) / 1e12;

  const double sim_secs = static_cast<double>(m.end_time) / 1e12;
  col("throughput_GBps", any && secs > 0 ? num(static_cast<double>(bytes) / secs / 1e9) : "");
  col("iops", any && secs > 0 ? num(static_cast<double>(ios) / secs) : "");
  col("bytes", fmt::format("{}", bytes));
  col("ios", fmt::format("{}", ios));
  col("timed_seconds", num(secs));
  col("latency_p50_us", lat.empty() ? "" : num(quantile(lat, 0.5)));
  col("latency_p99_us", lat.empty() ? "" : num(quantile(lat, 0.99)));
  col("latency_p999_us", lat.empty() ? "" : num(quantile(lat, 0.999)));
  col("read_p50_us", rd.empty() ? "" : num(quantile(rd, 0.5)));
  col("write_p50_us", wr.empty() ? "" : num(quantile(wr, 0.5)));
  if (m.workloads.size() > 1) {  // each run's own share, over its own timed part
    // Named by task ("run_reader0_GBps"); TASK@LINE only when a task has two.
    std::map<std::string, int> per_task;
    for (const auto& w : m.workloads) ++per_task[w.run.substr(0, w.run.rfind('@'))];
    for (const auto& w : m.workloads) {
      const std::string task = w.run.substr(0, w.run.rfind('@'));
      const double ws = static_cast<double>(w.end - w.start) / 1e12;
      col("run_" + (per_task[task] > 1 ? w.run : task) + "_GBps",
          w.end > w.start ? num(static_cast<double>(w.bytes) / ws / 1e9) : "");
    }
  }
  col("rc_p2p_bytes", fmt::format("{}", m.rc_p2p_bytes));
  col("rc_p2p_GBps", secs > 0 ? num(static_cast<double>(m.rc_p2p_bytes) / secs / 1e9) : "");
  const uint64_t lookups = m.iotlb.hits + m.iotlb.misses;
  col("iommu", m.iommu ? "on" : "off");
  col("iotlb_hits", fmt::format("{}", m.iotlb.hits));
  col("iotlb_misses", fmt::format("{}", m.iotlb.misses));
  col("iotlb_hit_rate", lookups ? num(static_cast<double>(m.iotlb.hits) / static_cast<double>(lookups)) : "");
  col("iotlb_invalidations", fmt::format("{}", m.iotlb.invalidations));
  col("iotlb_flushes_all", fmt::format("{}", m.iotlb.flushes_all));
  col("iotlb_walk_wait_us", num(static_cast<double>(m.iotlb.walk_wait_ps) / 1e6));
  col("iommu_inval_round_trips", fmt::format("{}", m.iotlb.round_trips));
  col("iommu_inval_wait_us", num(static_cast<double>(m.iotlb.cpu_wait_ps) / 1e6));
  col("sim_seconds", num(sim_secs));
  col("wall_seconds", num(wall_seconds));
  col("real_time_factor", wall_seconds > 0 ? num(sim_secs / wall_seconds) : "");
  for (const auto& l : m.links) {
    LinkUse u;
    u.name = l.name;
    u.gen = l.config.gen;
    u.lanes = l.config.lanes;
    u.mps = l.config.mps;
    u.mrrs = l.config.mrrs;
    u.up_bytes = l.up.tlp_bytes;
    u.down_bytes = l.down.tlp_bytes;
    if (interval) {
      u.up = static_cast<double>(l.up.tlp_bytes) * l.byte_time_ps / static_cast<double>(interval);
      u.down = static_cast<double>(l.down.tlp_bytes) * l.byte_time_ps / static_cast<double>(interval);
    }
    auto mean_us = [](const hw::CreditStats& c) {
      return c.stalled_tlps ? static_cast<double>(c.stall_ps) / static_cast<double>(c.stalled_tlps) / 1e6 : 0.0;
    };
    u.up_credit_stalls = l.up_credits.stalled_tlps;
    u.down_credit_stalls = l.down_credits.stalled_tlps;
    u.up_credit_wait_us = mean_us(l.up_credits);
    u.down_credit_wait_us = mean_us(l.down_credits);
    col("link_" + l.name + "_up_util", num(u.up));
    col("link_" + l.name + "_down_util", num(u.down));
    col("link_" + l.name + "_up_credit_stalls", fmt::format("{}", u.up_credit_stalls));
    col("link_" + l.name + "_down_credit_stalls", fmt::format("{}", u.down_credit_stalls));
    col("link_" + l.name + "_up_credit_wait_us", num(u.up_credit_wait_us));
    col("link_" + l.name + "_down_credit_wait_us", num(u.down_credit_wait_us));
    r.links.push_back(u);
  }
  for (int i = 0; i <= 100 && !lat.empty(); ++i) r.latency_cdf_us.push_back(quantile(lat, i / 100.0));
  return r;
}

std::string report_row_json(const ReportRow& r) {
  std::string s = fmt::format("{{\"index\":{},\"config\":{{", r.index);
  bool first = true;
  for (const auto& [k, v] : r.point.axes) {
    s += fmt::format("{}{}:{}", first ? "" : ",", json_quote(k), json_quote(v));
    first = false;
  }
  s += "},\"parameters\":{";
  first = true;
  for (const auto& [k, v] : r.params) {
    s += fmt::format("{}{}:{}", first ? "" : ",", json_quote(k), json_quote(v));
    first = false;
  }
  s += fmt::format("}},\"variant\":{},\"status\":{},\"verdict\":{},\"iommu\":{},\"metrics\":{{",
                   json_quote(r.point.variant), json_quote(r.status), json_quote(r.verdict), r.iommu ? "true" : "false");
  first = true;
  for (const auto& [k, v] : r.columns) {
    if (k.rfind("link_", 0) == 0 || k == "iommu") continue;  // in "links" / below
    s += fmt::format("{}{}:{}", first ? "" : ",", json_quote(k), v.empty() ? "null" : v);
    first = false;
  }
  s += "},\"links\":[";
  first = true;
  for (const auto& l : r.links) {
    s += fmt::format(
        "{}{{\"name\":{},\"gen\":{},\"lanes\":{},\"mps\":{},\"mrrs\":{},\"up_util\":{},\"down_util\":{},"
        "\"up_bytes\":{},\"down_bytes\":{},\"up_credit_stalls\":{},\"down_credit_stalls\":{},"
        "\"up_credit_wait_us\":{},\"down_credit_wait_us\":{}}}",
        first ? "" : ",", json_quote(l.name), l.gen, l.lanes, l.mps, l.mrrs, num(l.up), num(l.down), l.up_bytes,
        l.down_bytes, l.up_credit_stalls, l.down_credit_stalls, num(l.up_credit_wait_us), num(l.down_credit_wait_us));
    first = false;
  }
  s += "],\"latency_cdf_us\":[";
  first = true;
  for (double v : r.latency_cdf_us) {
    s += fmt::format("{}{}", first ? "" : ",", num(v));
    first = false;
  }
  s += "]}";
  return s;
}

std::string report_row_tsv(const ReportRow& r) {
  std::string s;
  for (const auto& [k, v] : r.point.axes) s += fmt::format("{}\t{}\n", one_field(k), one_field(v));
  s += fmt::format("status\t{}\nverdict\t{}\n", one_field(r.status), one_field(r.verdict));
  for (const auto& [k, v] : r.columns) s += fmt::format("{}\t{}\n", one_field(k), one_field(v));
  return s;
}

}  // namespace p2psim
