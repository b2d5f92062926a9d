// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// A bug's later symptoms: what other executions of it showed that its first
// did not, each kept for the earliest execution that showed it.
#include <catch2/catch.hpp>

#include "explore/campaign_state.h"

using namespace p2psim;

TEST_CASE("later symptoms: new kinds are kept once, for their earliest execution", "[campaign]") {
  UniqueFinding u;
  u.symptoms = {"use_after_free @ x"};
  u.note_symptoms({"use_after_free @ x", "cross_context_leak @ y"}, 10, "tok10", 1.5);
  REQUIRE(u.later_symptoms.size() == 1);
  CHECK(u.later_symptoms[0].signature == "cross_context_leak @ y");
  CHECK(u.later_symptoms[0].first_execution == 10);
  CHECK(u.later_symptoms[0].token == "tok10");
  // An earlier execution (from another worker) showing it takes its place.
  u.note_symptoms({"cross_context_leak @ y"}, 4, "tok4", 2.0);
  REQUIRE(u.later_symptoms.size() == 1);
  CHECK(u.later_symptoms[0].first_execution == 4);
  CHECK(u.later_symptoms[0].token == "tok4");
  // A later one does not.
  u.note_symptoms({"cross_context_leak @ y", "data_mismatch @ z"}, 30, "tok30", 3.0);
  REQUIRE(u.later_symptoms.size() == 2);
  CHECK(u.later_symptoms[0].first_execution == 4);
  CHECK(u.later_symptoms[1].signature == "data_mismatch @ z");
  CHECK(later_symptoms_json(u).find("\"token\":\"tok4\"") != std::string::npos);
}
