// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Known-bug attribution: which known bug, if any, explains an execution.
#include <catch2/catch.hpp>

#include "explore/known_bug.h"

using namespace p2psim;

TEST_CASE("known bugs explain an execution by a prior root cause on the first finding's page",
          "[known]") {
  KnownBug by_cause{"x1", "zone_device_reset_window", "", "", {}};
  const std::vector<KnownBug> known{by_cause};
  Finding first{FindingKind::premature_free, 10, 1, "b_main", "pfn 0xe0000 returned ...", {}, 0xe0000, 2};
  RootCause cause{"zone_device_reset_window", 5, 1, "b_main", "...", 0xe0000, 2, 0};

  CHECK(explain_findings(known, {first}, {cause}) == &known[0]);
  CHECK(explain_findings(known, {}, {cause}) == nullptr);  // a window that did no harm
  CHECK(explain_findings(known, {first}, {}) == nullptr);
  RootCause other_page = cause;
  other_page.pfn = 0xe0001;
  CHECK(explain_findings(known, {first}, {other_page}) == nullptr);
  RootCause other_alloc = cause;  // the same page, allocated again later
  other_alloc.alloc = 5;
  CHECK(explain_findings(known, {first}, {other_alloc}) == nullptr);
  RootCause after_first = cause;
  after_first.findings_before = 1;  // the window came after the first symptom
  CHECK(explain_findings(known, {first}, {after_first}) == nullptr);
  Finding no_page = first;
  no_page.pfn = kNoPfn;
  CHECK(explain_findings(known, {no_page}, {cause}) == nullptr);
}

TEST_CASE("known bugs can name a finding signature instead of a root cause", "[known]") {
  Finding hang{FindingKind::hang, 10, -1, "scheduler", "a_io waits forever in 12 ms", {}, kNoPfn, 0};
  KnownBug by_sig{"stuck", "", "hang @ user : a_io waits forever in # ms", "", {}};
  const std::vector<KnownBug> known{by_sig};
  CHECK(explain_findings(known, {hang}, {}) == &known[0]);
  Finding other = hang;
  other.message = "b_io waits forever in 12 ms";
  CHECK(explain_findings(known, {other}, {}) == nullptr);
  // Only the first finding decides.
  CHECK(explain_findings(known, {other, hang}, {}) == nullptr);
}
