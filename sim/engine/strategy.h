// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <vector>

#include "common/time.h"

namespace p2psim {

/// What a strategy sees of a task it may pick.
struct Candidate {
  int task;       ///< index in the scenario's task list
  ps_t ready_at;  ///< when the task could continue on its own timing
};

/**
 * class Strategy - decides, at every scheduling point with more than one
 * runnable task, which goes next, and may delay a task at a preemption
 * point. Picking a task that is ready later than another delays the other:
 * every interleaving is a timing a real machine can show (interrupts, SMIs,
 * vCPU preemption).
 */
class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual const char* name() const = 0;
  /// Called once per execution before the first choice.
  virtual void begin(uint64_t seed, int nr_tasks) = 0;
  /// @cands has >= 2 entries, ordered by task index. Returns an index into it.
  virtual size_t choose(const std::vector<Candidate>& cands) = 0;
  /// Extra delay for @task arriving at its @seq-th preemption point (global count).
  virtual ps_t delay_at(int task, uint64_t seq) { return 0; }
  /// Called once per execution after the last choice.
  virtual void end() {}
};

}  // namespace p2psim
