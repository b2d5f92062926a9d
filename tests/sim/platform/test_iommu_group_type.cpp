// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// scenarios/iommu_group_type.yaml: the sysfs DMA -> DMA-FQ switch under live
// I/O. Each TEST_CASE runs in its own process: SystemC elaborates once.
#include <catch2/catch.hpp>

#include "support/scenario_run.h"

using namespace p2psim;
using p2psim_test::run_scenario_once;

namespace {
std::vector<const OpOutcome*> admin_writes(const RunResult& r) {
  std::vector<const OpOutcome*> v;
  for (const auto& o : r.outcomes)
    if (o.task == "admin" && o.op == "iommu_group_type") v.push_back(&o);
  return v;
}
}  // namespace

TEST_CASE("DMA-FQ written under live I/O: later unmaps are queued and identity is refused (v6.2)", "[iommu_group]") {
  RunResult r = run_scenario_once("scenarios/iommu_group_type.yaml", "v6.2", {}, /*hardware_metrics=*/true);
  CHECK(verdict_of(r.findings) == "clean");
  auto w = admin_writes(r);
  REQUIRE(w.size() == 2);
  CHECK(w[0]->error == 0);
  CHECK(w[1]->error == -16);  // EBUSY: the driver is bound
  REQUIRE(r.hardware);
  CHECK(r.hardware->flush_queue.queued > 0);
}

TEST_CASE("DMA written to a bound strict group is refused too: no unmap is queued (v6.2)", "[iommu_group]") {
  RunResult r = run_scenario_once("scenarios/iommu_group_type.yaml", "v6.2", {{"to", "DMA"}}, true);
  CHECK(verdict_of(r.findings) == "clean");
  auto w = admin_writes(r);
  REQUIRE(w.size() == 2);
  CHECK(w[0]->error == -16);  // the bound check comes before the same-type one
  REQUIRE(r.hardware);
  CHECK(r.hardware->flush_queue.queued == 0);
  CHECK(r.hardware->iotlb.round_trips > 0);  // strict: every unmap waited for an invalidation
}

TEST_CASE("7.0 refuses identity for a group with a DMA owner: EPERM", "[iommu_group]") {
  RunResult r = run_scenario_once("scenarios/iommu_group_type.yaml", "latest", {}, true);
  CHECK(verdict_of(r.findings) == "clean");
  auto w = admin_writes(r);
  REQUIRE(w.size() == 2);
  CHECK(w[0]->error == 0);
  CHECK(w[1]->error == -1);
  CHECK(r.hardware->flush_queue.queued > 0);
}

namespace {
// One clean run of tests/data/scenarios/iommu_group_type_during_unbind.yaml
// on @variant: the admin's write and the unbind, both required.
std::pair<OpOutcome, OpOutcome> write_and_unbind(const std::string& variant) {
  RunResult r = run_scenario_once("tests/data/scenarios/iommu_group_type_during_unbind.yaml", variant);
  CHECK(verdict_of(r.findings) == "clean");
  const OpOutcome *w = nullptr, *u = nullptr;
  for (const auto& o : r.outcomes) {
    if (o.op == "iommu_group_type") w = &o;
    if (o.op == "unbind") u = &o;
  }
  REQUIRE(w);
  REQUIRE(u);
  return {*w, *u};
}
}  // namespace

TEST_CASE("7.0: a type write while nvme_remove() waits for I/O finds the DMA owner: EPERM", "[iommu_group]") {
  const auto [w, u] = write_and_unbind("latest");
  CHECK(w.error == -1);
  CHECK(w.time < u.time);  // refused during the unbind, not after it
}

TEST_CASE("v6.2: a type write during an unbind waits for the device lock, then finds no driver", "[iommu_group]") {
  const auto [w, u] = write_and_unbind("v6.2");
  CHECK(w.error == 0);
  CHECK(w.time >= u.time);
}
