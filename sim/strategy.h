// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "p2psim/time.h"
#include "rng.h"

namespace p2psim {

/// What a strategy sees of a task it may pick.
struct Candidate {
  int task;       ///< index in the scenario's task list
  ps_t ready_at;  ///< when the task could continue on its own timing
};

/**
 * class Strategy - decides, at every scheduling point, which of the
 * runnable tasks goes next. Picking a task that is ready later than another
 * delays the other: every interleaving is a timing a real machine can show
 * (interrupts, SMIs, vCPU preemption).
 */
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual const char* name() const = 0;
  /// Called once per execution before the first choice.
  virtual void begin(uint64_t seed) = 0;
  /// @cands is non-empty and ordered by task index. Returns an index into it.
  virtual size_t choose(const std::vector<Candidate>& cands) = 0;
};

/// timed: the task ready earliest runs; ties broken by the seed.
std::unique_ptr<Strategy> make_timed_strategy();
/// random: uniform among all runnable tasks at every point.
std::unique_ptr<Strategy> make_random_strategy();
std::unique_ptr<Strategy> make_strategy(const std::string& name);
const std::vector<std::string>& strategy_names();

}  // namespace p2psim
