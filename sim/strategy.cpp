// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "strategy.h"

namespace p2psim {

namespace {

class TimedStrategy : public Strategy {
 public:
  const char* name() const override { return "timed"; }
  void begin(uint64_t seed) override { rng_.reseed(seed); }
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
  void begin(uint64_t seed) override { rng_.reseed(seed); }
  size_t choose(const std::vector<Candidate>& cands) override { return rng_.below(cands.size()); }

 private:
  Rng rng_;
};

}  // namespace

std::unique_ptr<Strategy> make_timed_strategy() { return std::make_unique<TimedStrategy>(); }
std::unique_ptr<Strategy> make_random_strategy() { return std::make_unique<RandomStrategy>(); }

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = {"timed", "random"};
  return names;
}

std::unique_ptr<Strategy> make_strategy(const std::string& name) {
  if (name == "timed") return make_timed_strategy();
  if (name == "random") return make_random_strategy();
  return nullptr;
}

}  // namespace p2psim
