// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// One configuration of a report: the figures derived from an execution's
// HardwareMetrics, as flat named columns (results.csv) and as a JSON object
// with the per-link and latency detail (results.json). Pure logic.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "report/sweep.h"
#include "workload/hardware_metrics.h"

namespace p2psim {

/// Link utilisation of one direction: the share of the wire TLPs occupied
/// (DLLPs and SKPs not counted) over the timed interval.
struct LinkUse {
  std::string name;
  int gen = 0, lanes = 0, mps = 0, mrrs = 0;
  double up = 0, down = 0;                 ///< 0..1
  std::uint64_t up_bytes = 0, down_bytes = 0;  ///< TLP bytes on the wire
  /// TLPs that waited for the receiver's flow-control credits, and their mean wait.
  std::uint64_t up_credit_stalls = 0, down_credit_stalls = 0;
  double up_credit_wait_us = 0, down_credit_wait_us = 0;
};

struct ReportRow {
  size_t index = 0;  ///< position in the sweep
  SweepPoint point;
  std::vector<std::pair<std::string, std::string>> params;  ///< every parameter's value
  std::string status = "ok";  ///< "ok", or what went wrong (the workload's error, a finding)
  std::string verdict = "clean";
  bool iommu = false;  ///< the IOMMU was on
  /// Flat figures in column order: name -> value (numbers formatted).
  std::vector<std::pair<std::string, std::string>> columns;
  std::vector<LinkUse> links;
  /// Latency of every I/O at quantiles 0, 0.01, ..., 1 (101 points), µs.
  std::vector<double> latency_cdf_us;
};

/// The p-th quantile (0..1) of @sorted by nearest rank; 0 when empty.
double quantile(const std::vector<double>& sorted, double p);

/**
 * make_report_row() - the figures of one execution: throughput (GB/s, 1e9
 * bytes), IOPS, latency percentiles, link use, root-complex forwarding,
 * IOTLB, and the real-time factor (@wall_seconds for the execution).
 */
ReportRow make_report_row(size_t index, const SweepPoint& point,
                          const std::vector<std::pair<std::string, std::string>>& params, const HardwareMetrics& m,
                          const std::string& verdict, double wall_seconds);

/// The row as one JSON object (one line).
std::string report_row_json(const ReportRow& r);
/// "name\tvalue" lines: the columns, for the parent to assemble the CSV.
std::string report_row_tsv(const ReportRow& r);

}  // namespace p2psim
