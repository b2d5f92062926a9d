// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// explore's bounded search (docs/campaigns.md, "Bounded exhaustive
// exploration"): fewest forced decisions first, counts that add up, and
// findings whose decisions replay exactly.
#include <catch2/catch.hpp>

#include "explore/bounded_search.h"
#include "explore/runner.h"
#include "scenario/scenario.h"

using namespace p2psim;

namespace {

const std::string kS1 = std::string(P2PSIM_SOURCE_DIR) + "/scenarios/s1_premature_genalloc_return.yaml";

bool any_finding(const RunResult& r) { return !r.findings.empty(); }

bool has_kind(const RunResult& r, FindingKind k) {
  for (const auto& f : r.findings)
    if (f.kind == k) return true;
  return false;
}

BoundedSearchResult search(const std::string& variant, BoundedSearchLimits lim,
                           const std::function<bool(const RunResult&)>& stop = any_finding) {
  const Scenario sc = load_scenario(kS1);
  const RunConfig rc = resolve_run(sc, variant, {});
  BoundedSearchResult res;
  run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
    res = bounded_search(host, hw, sc, rc, lim, [&](const RunResult& r) {
      Classification c;
      c.stop = stop(r);
      c.other = !c.stop;
      return c;
    });
  });
  return res;
}

}  // namespace

TEST_CASE("explore: the fixed v6.2 design has no finding within 2 forced decisions", "[explore]") {
  BoundedSearchLimits lim;
  lim.bound = 2;
  const BoundedSearchResult r = search("v6.2", lim);
  CHECK_FALSE(r.found);
  CHECK(r.complete);
  REQUIRE(r.interleavings.size() == 3);
  CHECK(r.interleavings[0] == 1);  // the timing's own interleaving
  CHECK(r.interleavings[1] > 10);
  CHECK(r.interleavings[2] > r.interleavings[1]);
  // Every interleaving runs once as a leaf; shorter prefixes run again to
  // expand the next level.
  CHECK(r.executions >= r.total());
  CHECK(r.executions < 2 * r.total());
}

TEST_CASE("explore: RFC v3's premature free needs one forced decision, and its decisions replay", "[explore]") {
  BoundedSearchLimits lim;
  lim.bound = 2;
  const BoundedSearchResult r = search("rfc-v3", lim);
  REQUIRE(r.found);
  CHECK(r.deviations.size() == 1);
  CHECK(r.interleavings[0] == 1);
  CHECK(r.interleavings[2] == 0);  // stopped within the first level that found
  CHECK(has_kind(r.run, FindingKind::premature_free));

  const Scenario sc = load_scenario(kS1);
  const RunConfig rc = resolve_run(sc, "rfc-v3", {});
  run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
    ReplayStrategy replay(r.decisions);
    RunOptions opt;
    opt.use_pins = false;
    opt.strategy_object = &replay;
    opt.hardware = &hw;
    const RunResult again = run_execution(host, sc, rc, opt);
    CHECK(verdict_of(again.findings) == verdict_of(r.run.findings));
  });
}

TEST_CASE("explore: the cross-context leak of RFC v3 needs three forced decisions", "[explore]") {
  BoundedSearchLimits lim;
  lim.bound = 3;
  auto leak = [](const RunResult& r) { return has_kind(r, FindingKind::cross_context_leak); };
  const BoundedSearchResult r = search("rfc-v3", lim, leak);
  REQUIRE(r.found);
  CHECK(r.deviations.size() == 3);
  lim.bound = 2;
  const BoundedSearchResult none = search("rfc-v3", lim, leak);
  CHECK_FALSE(none.found);
  CHECK(none.complete);
  // The same search twice: the same counts, the same interleaving.
  const BoundedSearchResult again = search("rfc-v3", BoundedSearchLimits{3}, leak);
  CHECK(again.interleavings == r.interleavings);
  CHECK(again.decisions.choices == r.decisions.choices);
}

TEST_CASE("explore: worker processes give the single process's result", "[explore]") {
  const Scenario sc = load_scenario(kS1);
  const RunConfig rc = resolve_run(sc, "rfc-v3", {});
  BoundedSearchLimits lim;
  lim.bound = 3;
  const Classifier leak = explore_classifier(rc, "cross_context_leak");
  const BoundedSearchResult one = explore_in_workers(sc, rc, lim, 1, leak, HostKind::automatic, {});
  const BoundedSearchResult two = explore_in_workers(sc, rc, lim, 2, leak, HostKind::automatic, {});
  REQUIRE(one.found);
  REQUIRE(two.found);
  CHECK(format_deviations(one.deviations) == format_deviations(two.deviations));
  CHECK(one.decisions.choices == two.decisions.choices);
  CHECK(verdict_of(two.run.findings) == verdict_of(one.run.findings));
  CHECK(one.interleavings[0] == two.interleavings[0]);
  CHECK(one.interleavings[1] == two.interleavings[1]);
  CHECK(one.interleavings[2] == two.interleavings[2]);
  CHECK(one.other_findings > 0);  // the premature frees without a leak, passed over
  // Level 3 stopped at the finding: each job at its own first, so counts differ.
}

TEST_CASE("explore: workers report a finding that needs no forced decision (SystemC host)", "[explore]") {
  // S15 has NVMe devices: the workers and then this process elaborate SystemC.
  const Scenario sc = load_scenario(std::string(P2PSIM_SOURCE_DIR) + "/scenarios/s15_stale_map_type_acs.yaml");
  const RunConfig rc = resolve_run(sc, "v6.2", {});
  BoundedSearchLimits lim;
  lim.bound = 1;
  const BoundedSearchResult r = explore_in_workers(sc, rc, lim, 2, explore_classifier(rc, "any"), HostKind::automatic, {});
  REQUIRE(r.found);
  CHECK(r.deviations.empty());
  CHECK(r.interleavings[0] == 1);
  CHECK(verdict_of(r.run.findings) == "iommu_fault");
}

TEST_CASE("explore: a deviation list survives its one-word form", "[explore]") {
  const std::vector<Deviation> d = {{3, 1}, {17, 0}};
  CHECK(format_deviations(d) == "3:1,17:0");
  auto back = parse_deviations("3:1,17:0");
  REQUIRE(back);
  CHECK(format_deviations(*back) == "3:1,17:0");
  CHECK(parse_deviations("-")->empty());
  CHECK_FALSE(parse_deviations("3:"));
  CHECK_FALSE(parse_deviations("3:1;4:2"));
}

TEST_CASE("explore: jobs split the interleavings without overlap, and budgets say they cut", "[explore]") {
  BoundedSearchLimits lim;
  lim.bound = 2;
  const BoundedSearchResult all = search("rfc-v5", lim);
  REQUIRE(all.complete);
  lim.jobs = 3;
  std::vector<uint64_t> sum(3, 0);
  for (lim.job = 0; lim.job < 3; ++lim.job) {
    const BoundedSearchResult part = search("rfc-v5", lim);
    CHECK(part.complete);
    for (size_t k = 0; k < 3; ++k) sum[k] += part.interleavings[k];
  }
  CHECK(sum == all.interleavings);

  BoundedSearchLimits cut;
  cut.bound = 2;
  cut.max_executions = 20;
  const BoundedSearchResult r = search("rfc-v5", cut);
  CHECK_FALSE(r.complete);
  CHECK(r.executions == 20);
}
