// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/strategies.h"

#include <algorithm>

namespace p2psim {

size_t default_choice(const std::vector<Candidate>& cands) {
  size_t best = 0;
  for (size_t i = 1; i < cands.size(); ++i)
    if (cands[i].ready_at < cands[best].ready_at) best = i;
  return best;
}

size_t Decisions::explicit_count() const {
  size_t n = delays.size();
  for (int c : choices) n += c >= 0;
  return n;
}

namespace {

class TimedStrategy : public Strategy {
 public:
  const char* name() const override { return "timed"; }
  void begin(uint64_t seed, int) override { rng_.reseed(seed); }
  size_t choose(const std::vector<Candidate>& cands) override {
    ps_t best = cands[0].ready_at;
    for (const auto& c : cands) best = std::min(best, c.ready_at);
    std::vector<size_t> ties;
    for (size_t i = 0; i < cands.size(); ++i)
      if (cands[i].ready_at == best) ties.push_back(i);
    return ties.size() == 1 ? ties[0] : ties[rng_.below(ties.size())];
  }

 private:
  Rng rng_;
};

class RandomStrategy : public Strategy {
 public:
  const char* name() const override { return "random"; }
  void begin(uint64_t seed, int) override { rng_.reseed(seed); }
  size_t choose(const std::vector<Candidate>& cands) override { return rng_.below(cands.size()); }

 private:
  Rng rng_;
};

class PctStrategy : public Strategy {
 public:
  PctStrategy(int depth, uint64_t steps) : depth_(std::max(1, depth)), steps_(std::max<uint64_t>(1, steps)) {}
  const char* name() const override { return "pct"; }
  void begin(uint64_t seed, int nr_tasks) override {
    rng_.reseed(seed);
    // Distinct initial priorities depth..depth+n-1 in random order (higher runs first).
    prio_.resize(nr_tasks);
    for (int i = 0; i < nr_tasks; ++i) prio_[i] = depth_ + i;
    for (int i = nr_tasks - 1; i > 0; --i) std::swap(prio_[i], prio_[rng_.below(i + 1)]);
    change_.clear();
    for (int i = 1; i < depth_; ++i) change_.push_back(1 + rng_.below(steps_));
    step_ = 0;
  }
  size_t choose(const std::vector<Candidate>& cands) override {
    ++step_;
    size_t best = 0;
    for (size_t i = 1; i < cands.size(); ++i)
      if (prio_[cands[i].task] > prio_[cands[best].task]) best = i;
    // At the i-th change point the task about to run drops to priority i:
    // below every initial priority, so another task preempts it here.
    for (size_t i = 0; i < change_.size(); ++i)
      if (change_[i] == step_) {
        prio_[cands[best].task] = static_cast<int>(i) + 1;
        best = 0;
        for (size_t j = 1; j < cands.size(); ++j)
          if (prio_[cands[j].task] > prio_[cands[best].task]) best = j;
      }
    return best;
  }

 private:
  int depth_;
  uint64_t steps_;
  Rng rng_;
  std::vector<int> prio_;
  std::vector<uint64_t> change_;
  uint64_t step_ = 0;
};

class DelayStrategy : public Strategy {
 public:
  DelayStrategy(uint64_t one_in, ps_t max_delay) : one_in_(std::max<uint64_t>(1, one_in)), max_(max_delay) {}
  const char* name() const override { return "delay"; }
  void begin(uint64_t seed, int) override { rng_.reseed(seed); }
  size_t choose(const std::vector<Candidate>& cands) override { return default_choice(cands); }
  ps_t delay_at(int, uint64_t) override {
    if (rng_.below(one_in_) != 0) return 0;
    // Log-uniform over [100ns, max]: short delays as likely as long ones per decade.
    ps_t lo = 100_ns, d = lo;
    const uint64_t decades = 1 + rng_.below(8);
    for (uint64_t i = 1; i < decades && d * 10 <= max_; ++i) d *= 10;
    return std::min(max_, d + rng_.below(d * 9 + 1));
  }

 private:
  uint64_t one_in_;
  ps_t max_;
  Rng rng_;
};

}  // namespace

void RecordingStrategy::begin(uint64_t seed, int nr_tasks) {
  rec_ = Decisions{};
  inner_.begin(seed, nr_tasks);
}

size_t RecordingStrategy::choose(const std::vector<Candidate>& cands) {
  const size_t i = inner_.choose(cands);
  rec_.choices.push_back(i == default_choice(cands) ? -1 : cands[i].task);
  return i;
}

ps_t RecordingStrategy::delay_at(int task, uint64_t seq) {
  const ps_t d = inner_.delay_at(task, seq);
  if (d) rec_.delays[seq] = d;
  return d;
}

size_t ReplayStrategy::choose(const std::vector<Candidate>& cands) {
  const size_t k = next_++;
  if (taken_.size() <= k) taken_.resize(k + 1, false);
  if (k < d_.choices.size() && d_.choices[k] >= 0)
    for (size_t i = 0; i < cands.size(); ++i)
      if (cands[i].task == d_.choices[k]) {
        taken_[k] = i != default_choice(cands);
        return i;
      }
  return default_choice(cands);
}

ps_t ReplayStrategy::delay_at(int, uint64_t seq) {
  auto it = d_.delays.find(seq);
  return it == d_.delays.end() ? 0 : it->second;
}

PortfolioStrategy::PortfolioStrategy(int pct_depth, uint64_t pct_steps) {
  members_.push_back(make_random_strategy());
  members_.push_back(make_pct_strategy(pct_depth, pct_steps));
  members_.push_back(make_delay_strategy(8, 50_us));
  current_ = members_[0].get();
}

void PortfolioStrategy::begin(uint64_t seed, int nr_tasks) {
  current_ = members_[Rng(seed ^ 0x706f7274666f6c69ULL).below(members_.size())].get();
  current_->begin(seed, nr_tasks);
}

AdaptivePortfolioStrategy::AdaptivePortfolioStrategy(int pct_depth, uint64_t pct_steps) {
  members_.push_back(make_random_strategy());
  members_.push_back(make_pct_strategy(pct_depth, pct_steps));
  members_.push_back(make_delay_strategy(8, 50_us));
  score_.assign(members_.size(), 0);
}

std::vector<uint64_t> AdaptivePortfolioStrategy::weights() const {
  constexpr uint64_t kFloor = 100, kShared = 1000 - kFloor * kMembers;
  uint64_t sum = 0;
  for (uint64_t s : score_) sum += s;
  std::vector<uint64_t> w(members_.size(), kFloor);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] += sum ? kShared * score_[i] / sum : kShared / kMembers;
  return w;
}

size_t AdaptivePortfolioStrategy::pick(uint64_t seed) const {
  const std::vector<uint64_t> w = weights();
  uint64_t total = 0;
  for (uint64_t x : w) total += x;
  uint64_t r = Rng(seed ^ 0x6164617074697665ULL).below(total);
  size_t i = 0;
  while (r >= w[i]) r -= w[i++];
  return i;
}

void AdaptivePortfolioStrategy::begin(uint64_t seed, int nr_tasks) {
  current_ = pick(seed);
  members_[current_]->begin(seed, nr_tasks);
}

void AdaptivePortfolioStrategy::reward(uint64_t new_pairs) {
  uint64_t& s = score_[current_];
  s = s - s / 8 + std::min<uint64_t>(new_pairs, 1u << 20) * 32;  // (1/8) * reward, 8 fractional bits
}

std::unique_ptr<Strategy> make_timed_strategy() { return std::make_unique<TimedStrategy>(); }
std::unique_ptr<Strategy> make_random_strategy() { return std::make_unique<RandomStrategy>(); }
std::unique_ptr<Strategy> make_pct_strategy(int depth, uint64_t steps) {
  return std::make_unique<PctStrategy>(depth, steps);
}
std::unique_ptr<Strategy> make_delay_strategy(uint64_t one_in, ps_t max_delay) {
  return std::make_unique<DelayStrategy>(one_in, max_delay);
}

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = {"timed", "random", "pct", "delay"};
  return names;
}

std::unique_ptr<Strategy> make_strategy(const std::string& name) {
  if (name == "timed") return make_timed_strategy();
  if (name == "random") return make_random_strategy();
  if (name == "pct") return make_pct_strategy(3, 60);
  if (name == "delay") return make_delay_strategy(8, 50_us);
  return nullptr;
}

std::unique_ptr<Strategy> make_campaign_strategy(const std::string& name, int depth, uint64_t steps) {
  if (name == "portfolio") return std::make_unique<PortfolioStrategy>(depth, steps);
  if (name == "adaptive") return std::make_unique<AdaptivePortfolioStrategy>(depth, steps);
  if (name == "pct") return make_pct_strategy(depth, steps);
  return make_strategy(name);
}

}  // namespace p2psim
