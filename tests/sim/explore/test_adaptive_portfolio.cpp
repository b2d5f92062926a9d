// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// fuzz --strategy adaptive: a bandit over the portfolio's members, weighted
// by the new coverage each brought, with a floor so none starves.
#include <catch2/catch.hpp>

#include <numeric>

#include "explore/strategies.h"

using namespace p2psim;

namespace {
uint64_t sum(const std::vector<uint64_t>& w) { return std::accumulate(w.begin(), w.end(), uint64_t{0}); }
}  // namespace

TEST_CASE("adaptive portfolio: uniform before any reward, then toward the member that pays", "[strategy]") {
  AdaptivePortfolioStrategy s(3, 40);
  std::vector<uint64_t> w = s.weights();
  REQUIRE(w.size() == 3);
  CHECK(sum(w) >= 997);  // 1000 less rounding
  CHECK(w[0] == w[1]);
  CHECK(w[1] == w[2]);

  // Only the delay member (index 2) ever finds new pairs.
  std::vector<int> picks(3, 0);
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    s.begin(seed, 4);
    const size_t m = s.pick(seed);
    ++picks[m];
    s.reward(std::string(s.member_name(m)) == "delay" ? 5 : 0);
  }
  w = s.weights();
  CHECK(std::string(s.member_name(2)) == "delay");
  CHECK(w[2] > 700);
  CHECK(w[0] >= 100);  // the floor: random and pct keep being tried
  CHECK(w[1] >= 100);
  CHECK(picks[2] > 2 * picks[0]);
  CHECK(picks[0] > 0);
  CHECK(picks[1] > 0);
}

TEST_CASE("adaptive portfolio: the same history gives the same picks", "[strategy]") {
  AdaptivePortfolioStrategy a(3, 40), b(3, 40);
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    a.begin(seed, 4);
    b.begin(seed, 4);
    CHECK(std::string(a.name()) == b.name());
    const uint64_t r = seed % 7 == 0 ? seed % 5 : 0;
    a.reward(r);
    b.reward(r);
  }
  CHECK(a.weights() == b.weights());
}

TEST_CASE("adaptive portfolio: a member's score forgets old rewards", "[strategy]") {
  AdaptivePortfolioStrategy s(3, 40);
  // Reward whichever member runs for a while, then never again.
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    s.begin(seed, 4);
    s.reward(10);
  }
  for (uint64_t seed = 201; seed <= 2000; ++seed) {
    s.begin(seed, 4);
    s.reward(std::string(s.name()) == "random" ? 3 : 0);
  }
  const auto w = s.weights();
  CHECK(std::string(s.member_name(0)) == "random");
  CHECK(w[0] > w[1]);
  CHECK(w[0] > w[2]);
}
