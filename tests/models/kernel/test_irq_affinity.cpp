// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// How an NVMe controller's queues sit on the CPUs (models/kernel/irq_affinity.*,
// after v6.2's irq_build_affinity_masks(), blk_mq_pci_map_queues() and the
// x86 managed-vector choice): worked out by hand from those rules.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <vector>

#include "kernel/irq_affinity.h"

using namespace p2psim::kern;

TEST_CASE("as many queues as CPUs: CPU k submits on queue k and takes its interrupt", "[irq]") {
  std::vector<int> load;
  const QueueMap m = spread_queues(8, 8, load);
  CHECK(m.cpu_queue == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(m.irq_cpu == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(load == std::vector<int>{1, 1, 1, 1, 1, 1, 1, 1});
}

TEST_CASE("fewer queues than CPUs: ascending blocks, the first ones larger, interrupts on the least loaded CPU",
          "[irq]") {
  std::vector<int> load;
  // 8 CPUs over 3 vectors: {0,1,2}, {3,4,5}, {6,7}.
  const QueueMap first = spread_queues(8, 3, load);
  CHECK(first.cpu_queue == std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2});
  // Nothing routed yet: every tie goes to the highest-numbered CPU of the mask.
  CHECK(first.irq_cpu == std::vector<int>{2, 5, 7});
  // A second device with the same masks avoids the CPUs the first one took:
  // {0,1} tie at 0 vectors (1 wins), {3,4} likewise (4), {6} alone.
  const QueueMap second = spread_queues(8, 3, load);
  CHECK(second.cpu_queue == first.cpu_queue);
  CHECK(second.irq_cpu == std::vector<int>{1, 4, 6});
  CHECK(load == std::vector<int>{0, 1, 1, 0, 1, 1, 1, 1});
}

TEST_CASE("one queue takes every CPU, and more queues than CPUs is refused", "[irq]") {
  std::vector<int> load;
  const QueueMap m = spread_queues(4, 1, load);
  CHECK(m.cpu_queue == std::vector<int>{0, 0, 0, 0});
  CHECK(m.irq_cpu == std::vector<int>{3});
  CHECK_THROWS_AS(spread_queues(2, 3, load), std::invalid_argument);
  CHECK_THROWS_AS(spread_queues(2, 0, load), std::invalid_argument);
}
