// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// `p2pdma-sim report`: every configuration of a sweep, each in its own
// process (a SystemC kernel elaborates once per process, and the topology
// may differ between configurations), `jobs` at a time; then results.csv
// and results.json in the output directory.
#pragma once
#include <string>
#include <vector>

#include "explore/runner.h"
#include "report/sweep.h"

namespace p2psim {

struct ReportOptions {
  std::string scenario;
  std::vector<SweepAxis> axes;
  std::string out_dir;
  int jobs = 1;
  std::string variant;            ///< unless `variant` is an axis
  std::vector<std::string> sets;  ///< --set overrides for every configuration
  HostKind host = HostKind::automatic;
  uint64_t seed = 1;
  bool progress = false;  ///< a progress line on stderr (a terminal)
};

struct ReportSummary {
  size_t configurations = 0;
  size_t ok = 0;        ///< ran, and the workload completed without a finding
  size_t not_ok = 0;    ///< ran; the workload failed or a finding came up (their rows say)
  size_t crashed = 0;   ///< the simulator failed (exit 3)
  size_t unwritten = 0; ///< ran, but could not write its row (the output directory)
  size_t not_run = 0;   ///< interrupted before it ran or finished
  bool interrupted = false;  ///< SIGINT/SIGTERM: what finished was written
  double wall_seconds = 0;
};

/**
 * check_report() - with no axes in @o, takes the scenario's `sweep:`;
 * then loads the scenario at every point of the sweep and
 * resolves its variant before anything runs. Throws SweepError for a key
 * the scenario does not declare, InputError (the file's position, the
 * sweep point named) for a value it rejects.
 */
std::vector<SweepPoint> check_report(ReportOptions& o);

/// Runs every configuration and writes the results; throws on an output
/// directory it cannot write.
ReportSummary run_report(ReportOptions o);

}  // namespace p2psim
