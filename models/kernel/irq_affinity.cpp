// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/irq_affinity.h"

#include <stdexcept>

namespace p2psim::kern {

// models kernel/irq/affinity.c:irq_build_affinity_masks(),
// block/blk-mq-pci.c:blk_mq_pci_map_queues() and the managed-vector choice
// of arch/x86/kernel/apic/vector.c / kernel/irq/matrix.c as of v6.2
// (docs/fidelity.md, I/O queues).
QueueMap spread_queues(uint32_t ncpus, uint32_t nqueues, std::vector<int>& managed_load) {
  if (nqueues == 0 || nqueues > ncpus) throw std::invalid_argument("spread_queues: need 1..ncpus queues");
  QueueMap m;
  m.cpu_queue.assign(ncpus, 0);
  m.irq_cpu.assign(nqueues, 0);
  if (managed_load.size() < ncpus) managed_load.resize(ncpus, 0);
  uint32_t cpu = 0;
  for (uint32_t q = 0; q < nqueues; ++q) {
    const uint32_t take = ncpus / nqueues + (q < ncpus % nqueues ? 1 : 0);
    int best = -1;
    for (uint32_t k = 0; k < take; ++k, ++cpu) {
      m.cpu_queue[cpu] = static_cast<int>(q);
      if (best < 0 || managed_load[cpu] <= managed_load[static_cast<size_t>(best)]) best = static_cast<int>(cpu);
    }
    m.irq_cpu[q] = best;
    ++managed_load[static_cast<size_t>(best)];
  }
  return m;
}

}  // namespace p2psim::kern
