// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Surprise removal (docs/scenario-format.md `surprise_remove`): the link goes
// down, then pciehp marks the function gone and unbinds its driver. Each
// TEST_CASE runs in its own process: SystemC elaborates once per process.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/systemc_host.h"
#include "explore/runner.h"
#include "scenario/scenario.h"
#include "scenario/strict_yaml.h"
#include "support/scenario_run.h"

using namespace p2psim;

namespace {
using p2psim_test::run_scenario_once;

const OpOutcome* find(const RunResult& r, const std::string& task, const std::string& op, int nth = 1) {
  for (const auto& o : r.outcomes)
    if (o.task == task && o.op == op && --nth == 0) return &o;
  return nullptr;
}
}  // namespace

TEST_CASE("between link down and pciehp's zap a store is dropped and a load reads all ones", "[hotplug]") {
  for (const char* variant : {"v6.2", "latest"}) {
    RunResult r = run_scenario_once("tests/data/scenarios/surprise_removal_cpu_access.yaml", variant);
    INFO(variant);
    CHECK(verdict_of(r.findings) == "clean");
    const OpOutcome* load = find(r, "user", "load");
    REQUIRE(load);
    CHECK(load->result == "0xffffffffffffffff");  // not the 5 stored before, nor the 7 after
    const OpOutcome* first = find(r, "pciehp", "surprise_remove", 1);
    const OpOutcome* second = find(r, "pciehp", "surprise_remove", 2);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->error == 0);
    CHECK(first->time > load->time);  // the pin held pciehp until the user was done
    CHECK(second->error == -19);      // the slot is off: a second Link Down does nothing
  }
}

namespace {
/// A clean run in which @task's @op ended with EIO (its requests cancelled
/// by nvme_remove()) and pciehp's removal completed.
void check_cancelled_and_removed(const RunResult& r, const char* task, const char* op) {
  CHECK(verdict_of(r.findings) == "clean");
  const OpOutcome* io = find(r, task, op);
  const OpOutcome* removed = find(r, "pciehp", "surprise_remove");
  REQUIRE(io);
  REQUIRE(removed);
  CHECK(io->error == -5);
  CHECK(removed->error == 0);
}
}  // namespace

TEST_CASE("a drive pulled under p2pmem-test: its requests end with EIO and the removal completes", "[hotplug]") {
  // The dead controller's write, cancelled by nvme_remove().
  check_cancelled_and_removed(run_scenario_once("scenarios/surprise_removal_drive.yaml", "v6.2"), "p2pmem_test",
                              "p2pmem_test");
}

TEST_CASE("a peer read of a pulled card's BAR gets an Unsupported Request: Data Transfer Error, EIO", "[hotplug]") {
  // At 1.988 ms nvme1 is reading a 64 KiB chunk out of the p2pmem card.
  RunResult r = run_scenario_once("scenarios/surprise_removal.yaml", "v6.2", {{"skip_read", "true"}, {"at", "1988us"}});
  CHECK(verdict_of(r.findings) == "clean");
  const OpOutcome* test = find(r, "p2pmem_test", "p2pmem_test");
  REQUIRE(test);
  CHECK(test->error == -5);
}

TEST_CASE("a card pulled between two writes out of its memory: the next write finds the buffer zapped", "[hotplug]") {
  RunResult r = run_scenario_once("scenarios/surprise_removal.yaml", "v6.2", {{"skip_read", "true"}, {"at", "1995us"}});
  CHECK(verdict_of(r.findings) == "clean");
  const OpOutcome* test = find(r, "p2pmem_test", "p2pmem_test");
  REQUIRE(test);
  CHECK(test->error == -14);  // pci_p2pdma_unmap_mappings() ran first: GUP finds no page
}

TEST_CASE("a scenario that both unbinds and pulls one NVMe drive is refused at the unbind", "[hotplug]") {
  const std::string path = (std::filesystem::temp_directory_path() / "p2psim_surprise_and_unbind.yaml").string();
  int unbind_line = 0;
  {
    std::ifstream in(std::string(P2PSIM_SOURCE_DIR) + "/scenarios/surprise_removal_drive.yaml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string pull = "      - surprise_remove: nvme1\n";
    REQUIRE(text.find(pull) != std::string::npos);
    const size_t at = text.find(pull) + pull.size();
    unbind_line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
    text.insert(at, "      - unbind: nvme1\n");
    text.replace(text.find("topologies/"), 11, std::string(P2PSIM_SOURCE_DIR) + "/scenarios/topologies/");
    std::ofstream(path) << text;
  }
  try {
    load_scenario(path);
    FAIL("loaded");
  } catch (const InputError& e) {
    const std::string what = e.what();
    CHECK(what.find(path + ":" + std::to_string(unbind_line) + ":9:") == 0);  // the unbind op's own position
    CHECK(what.find("both unbound and surprise-removed") != std::string::npos);
  }
}

TEST_CASE("a drive pulled while 64 threads wait for its 63 tags: quiesce, reap, cancel, and every thread fails",
          "[hotplug]") {
  RunResult r = run_scenario_once("tests/data/scenarios/surprise_removal_tag_waiters.yaml", "v6.2");
  // Before nvme_remove() quiesced and suspended the queue, a thread that got
  // a tag freed by the cancel queued a request to the dead controller, and
  // the freeze in del_gendisk() waited for it forever.
  check_cancelled_and_removed(r, "fio", "fio");
}
