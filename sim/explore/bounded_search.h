// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// `p2pdma-sim explore`: every interleaving with at most K forced decisions,
// fewest first (docs/campaigns.md, "Bounded exhaustive exploration").
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "explore/runner.h"
#include "explore/strategies.h"
#include "scenario/scenario.h"

namespace p2psim {

/**
 * struct Deviation - one forced decision: at the @point-th scheduling point
 * that had a choice, the @candidate-th runnable task (in task order) runs
 * instead of the one the timing would run.
 */
struct Deviation {
  uint32_t point = 0;
  uint32_t candidate = 0;
};

/// A forced decision as it happened: the task that ran, the one that would
/// have run unforced, and whether it returned to the timing.
struct ForcedDecision {
  uint32_t point = 0;
  int task = 0, instead_of = 0;
  bool back_to_timing = false;
};

struct BoundedSearchLimits {
  int bound = 2;               ///< at most this many forced decisions
  int first = 0;               ///< start at this many (the levels below were searched)
  uint64_t max_executions = 0; ///< stop after this many executions (0: none)
  double max_seconds = 0;      ///< stop after this much wall time (0: none)
  int jobs = 1, job = 0;       ///< search only the subtrees of job @job of @jobs
  /// An execution running longer than this (wall seconds) is a simulator
  /// hang: the process prints why and exits 3 (0: no limit).
  double exec_timeout_s = 60;
};

/// What an execution's findings mean to the search.
struct Classification {
  bool stop = false;   ///< the finding searched for
  std::string known;   ///< a known bug of the variant explains it: count, go on
  bool other = false;  ///< findings, but not of the kind searched for: count, go on
};
using Classifier = std::function<Classification(const RunResult&)>;

/// Stop at findings of kind @stop_on ("any": any finding) that none of
/// @rc's known bugs explains.
Classifier explore_classifier(const RunConfig& rc, const std::string& stop_on);

struct BoundedSearchResult {
  /// interleavings[k]: distinct interleavings with exactly k forced decisions run.
  std::vector<uint64_t> interleavings;
  uint64_t executions = 0;  ///< runs, including re-runs of shorter prefixes
  bool complete = false;    ///< every interleaving within the bound was run
  bool found = false;
  /// The finding is the first a single process would meet; false when a
  /// budget stopped another worker of its level first (explore_in_workers).
  bool first_in_order = true;
  std::vector<Deviation> deviations;  ///< of the finding's interleaving
  Decisions decisions;                ///< the same, as a replay token wants it
  std::vector<ForcedDecision> forced; ///< the same, with the tasks involved
  RunResult run;                      ///< the finding's execution
  std::map<std::string, uint64_t> known;  ///< interleavings each known bug explained
  uint64_t other_findings = 0;        ///< interleavings with findings passed over
  double seconds = 0;
  uint64_t total() const;
};

/**
 * bounded_search() - run every interleaving of @sc / @rc whose schedule
 * departs from the timing (default_choice()) at most @lim.bound times:
 * first the one with no forced decision, then all with one, then two...
 * Stateless: each interleaving is a fresh execution replaying its forced
 * decisions, so memory stays flat. Stops at the first execution whose
 * findings @is_finding accepts (the fewest forced decisions any finding
 * needs), or when a limit is hit. @progress is called after each execution.
 */
BoundedSearchResult bounded_search(CoroutineHost& host, const HardwareModules& hw, const Scenario& sc,
                                   const RunConfig& rc, const BoundedSearchLimits& lim, const Classifier& classify,
                                   const std::function<void(const BoundedSearchResult&, int level)>& progress = {});

/**
 * explore_in_workers() - bounded_search() over @jobs worker processes, one
 * level (number of forced decisions) at a time: each worker takes the
 * subtrees whose first forced decision falls to it, and the level's result
 * is the interleaving single-process search would find first, so without
 * a budget the result does not depend on @jobs (with one, each worker gets
 * an equal share, and fewer workers start when less is left than @jobs).
 * With @jobs 1 it runs in this process.
 * Fills @run and @decisions of a finding by running it here again, so the
 * calling process must not have run the SystemC host yet (it elaborates
 * once per process).
 */
BoundedSearchResult explore_in_workers(const Scenario& sc, const RunConfig& rc, const BoundedSearchLimits& lim,
                                       int jobs, const Classifier& classify, HostKind host,
                                       const std::function<void(const BoundedSearchResult&, int level)>& progress);

/// One interleaving: the execution @devs forces, its decisions in @decisions.
RunResult run_interleaving(CoroutineHost& host, const HardwareModules& hw, const Scenario& sc, const RunConfig& rc,
                           const std::vector<Deviation>& devs, Decisions* decisions,
                           std::vector<ForcedDecision>* forced = nullptr);

/// "3:1,17:0": a Deviation list as one word (for a worker's report), and back.
std::string format_deviations(const std::vector<Deviation>& devs);
std::optional<std::vector<Deviation>> parse_deviations(const std::string& s);

}  // namespace p2psim
