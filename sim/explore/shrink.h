// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <string>
#include <vector>

#include "engine/machine.h"
#include "explore/runner.h"
#include "scenario/scenario.h"
#include "explore/strategies.h"

namespace p2psim {

/// Replay @d without pins; optionally record events and a trace.
/// Re-runs @d on @rc, with @rc's pins (clear them for an execution that ran without).
RunResult replay_decisions(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                           const Decisions& d, bool trace, std::vector<PpEvent>* events,
                           std::vector<bool>* taken = nullptr, const HardwareModules* hw = nullptr);

struct ShrinkResult {
  Decisions decisions;      ///< minimal: only explicit decisions kept
  size_t replays = 0;       ///< executions spent
  size_t explicit_before = 0, explicit_after = 0;
  RunResult final_run;      ///< the minimal run, with a trace
  std::vector<PpEvent> events;
};

/**
 * shrink_decisions() - delta debugging (Zeller's ddmin) over the explicit
 * decisions of @start: forced task choices and injected delays. A candidate
 * is kept when its replay still reports a finding with @signature; after
 * each success the decisions the replay actually needed are kept (the rest
 * became default). Stops after @max_replays executions.
 */
ShrinkResult shrink_decisions(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                              const Decisions& start, const std::string& signature,
                              size_t max_replays, const HardwareModules* hw = nullptr);

/**
 * render_interleaving() - the run side by side: a time column and a column
 * per CPU, a row per preemption point, op result, forced decision and task
 * death, and each finding across the width with its message, in execution
 * order.
 */
std::string render_interleaving(const Scenario& sc, const std::vector<PpEvent>& events);

}  // namespace p2psim
