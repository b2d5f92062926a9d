// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/strategy.h"

namespace p2psim {

/// The choice every strategy falls back to: earliest ready, lowest task index.
size_t default_choice(const std::vector<Candidate>& cands);

/// timed: the task ready earliest runs; ties broken by the seed.
std::unique_ptr<Strategy> make_timed_strategy();
/// random: uniform among all runnable tasks at every point.
std::unique_ptr<Strategy> make_random_strategy();
/**
 * pct: Burckhardt et al., ASPLOS 2010. Random distinct task priorities and
 * @depth-1 priority change points drawn uniformly over the first @steps
 * scheduling steps; the highest-priority runnable task runs. Finds every
 * bug of depth @depth with probability >= 1/(n * k^(depth-1)).
 */
std::unique_ptr<Strategy> make_pct_strategy(int depth, uint64_t steps);
/// delay: timed choices; at each preemption point, with probability
/// 1/@one_in, a delay drawn log-uniformly from [100ns, @max_delay].
std::unique_ptr<Strategy> make_delay_strategy(uint64_t one_in, ps_t max_delay);

/// A campaign's strategy: "portfolio", "adaptive" or "pct" with @depth and @steps, else make_strategy().
std::unique_ptr<Strategy> make_campaign_strategy(const std::string& name, int depth, uint64_t steps);
/// "timed" | "random" | "pct" | "delay"; null for anything else.
std::unique_ptr<Strategy> make_strategy(const std::string& name);
const std::vector<std::string>& strategy_names();

/**
 * struct Decisions - everything a run's strategy decided, enough to replay
 * it exactly whatever strategy made it. @choices holds one entry per
 * multi-candidate scheduling point: the task that ran, or -1 for "the
 * default choice". @delays maps a preemption-point sequence number to the
 * delay injected there.
 */
struct Decisions {
  std::vector<int> choices;
  std::map<uint64_t, ps_t> delays;
  /// Decisions that are not the default (the preemptions a reader must follow).
  size_t explicit_count() const;
};

/// Wraps a strategy and records what it decided.
class RecordingStrategy : public Strategy {
 public:
  explicit RecordingStrategy(Strategy& inner) : inner_(inner) {}
  const char* name() const override { return inner_.name(); }
  void begin(uint64_t seed, int nr_tasks) override;
  size_t choose(const std::vector<Candidate>& cands) override;
  ps_t delay_at(int task, uint64_t seq) override;
  void end() override { inner_.end(); }
  /// Recorded decisions; a choice equal to the default is stored as -1.
  const Decisions& decisions() const { return rec_; }

 private:
  Strategy& inner_;
  Decisions rec_;
};

/**
 * ReplayStrategy - replays Decisions. A recorded task that is not runnable
 * at its point (the schedule diverged) and any point past the record fall
 * back to the default choice. @deviations counts explicit decisions taken.
 */
class ReplayStrategy : public Strategy {
 public:
  explicit ReplayStrategy(Decisions d) : d_(std::move(d)) {}
  const char* name() const override { return "replay"; }
  void begin(uint64_t, int) override { next_ = 0; }
  size_t choose(const std::vector<Candidate>& cands) override;
  ps_t delay_at(int task, uint64_t seq) override;
  /// For each choice point of the last run: was an explicit decision taken.
  const std::vector<bool>& taken() const { return taken_; }

 private:
  Decisions d_;
  size_t next_ = 0;
  std::vector<bool> taken_;
};

/**
 * PortfolioStrategy - rotates among random, pct and delay, one strategy per
 * execution chosen by the seed (so a seed names one execution whatever
 * worker runs it).
 */
class PortfolioStrategy : public Strategy {
 public:
  PortfolioStrategy(int pct_depth, uint64_t pct_steps);
  const char* name() const override { return current_->name(); }
  void begin(uint64_t seed, int nr_tasks) override;
  size_t choose(const std::vector<Candidate>& cands) override { return current_->choose(cands); }
  ps_t delay_at(int task, uint64_t seq) override { return current_->delay_at(task, seq); }
  void end() override { current_->end(); }

 private:
  std::vector<std::unique_ptr<Strategy>> members_;
  Strategy* current_ = nullptr;
};

/**
 * AdaptivePortfolioStrategy - the portfolio's members, picked per execution
 * by weight instead of uniformly: a multi-armed bandit rewarded by the new
 * coverage (preemption-point pairs) each execution adds. A member's score
 * is an exponential moving average (1/8 per pull) of its rewards; its
 * weight is a floor of 10 % plus its share of 70 % by score, so no member
 * ever starves. Integer arithmetic only: the same history gives the same
 * picks everywhere. The pick still comes from the execution's seed, but
 * the weights depend on what the worker ran before, so a seed alone no
 * longer names an execution (its replay token, which records the
 * decisions, does).
 */
class AdaptivePortfolioStrategy : public Strategy {
 public:
  static constexpr size_t kMembers = 3;
  AdaptivePortfolioStrategy(int pct_depth, uint64_t pct_steps);
  const char* name() const override { return members_[current_]->name(); }
  void begin(uint64_t seed, int nr_tasks) override;
  size_t choose(const std::vector<Candidate>& cands) override { return members_[current_]->choose(cands); }
  ps_t delay_at(int task, uint64_t seq) override { return members_[current_]->delay_at(task, seq); }
  void end() override { members_[current_]->end(); }
  /// After an execution: it added @new_pairs coverage pairs never seen before.
  void reward(uint64_t new_pairs);
  /// Each member's weight, out of 1000.
  std::vector<uint64_t> weights() const;
  /// The member the execution of @seed runs, with the weights as they are.
  size_t pick(uint64_t seed) const;
  const char* member_name(size_t i) const { return members_[i]->name(); }

 private:
  std::vector<std::unique_ptr<Strategy>> members_;
  std::vector<uint64_t> score_;  ///< fixed point, 8 fractional bits
  size_t current_ = 0;
};

}  // namespace p2psim
