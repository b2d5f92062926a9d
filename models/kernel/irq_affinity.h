// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <vector>

namespace p2psim::kern {

/// Where a multi-queue device's queues sit: the hardware queue each CPU
/// submits on, and the CPU each queue's (managed) MSI-X vector interrupts.
struct QueueMap {
  std::vector<int> cpu_queue;  ///< CPU -> queue index
  std::vector<int> irq_cpu;    ///< queue index -> CPU its vector is routed to
};

/**
 * spread_queues() - @nqueues managed vectors over @ncpus CPUs, as v6.2 does
 * on one NUMA node without SMT siblings: irq_build_affinity_masks() gives
 * vector k the next ncpus / nqueues CPUs in ascending order (the first
 * ncpus % nqueues vectors one more), blk_mq_pci_map_queues() sends every CPU
 * of vector k's mask to queue k, and the x86 vector matrix
 * (matrix_find_best_cpu_managed()) routes the vector to the CPU of its mask
 * with the fewest managed vectors so far, the highest-numbered on a tie.
 * @managed_load counts managed vectors per CPU across devices; it grows to
 * @ncpus and is updated. nqueues must be 1..ncpus.
 */
QueueMap spread_queues(uint32_t ncpus, uint32_t nqueues, std::vector<int>& managed_load);

}  // namespace p2psim::kern
