// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernel/exec.h"
#include "kernel/kernel.h"
#include "scenario/scenario.h"

namespace p2psim {

struct ScenarioWorld;

/**
 * The p2pmem-test workload (github sbates130272/p2pmem-test), as its main
 * thread and worker threads behave: the main task maps chunk_size * chunks
 * of p2pmem, runs the host-access test and the --check fill of the read
 * device, starts the threads, waits for them and reports; each thread reads
 * chunks/threads chunks from its slice of the read device into its own chunk
 * of the buffer with O_DIRECT and writes them to its slice of the write
 * device. The scenario loader expands one `p2pmem_test` op into these steps
 * (threads > 1 become tasks of their own).
 */
struct P2pmemTestRun {
  uint64_t buffer = 0;  ///< user address of the p2pmem mapping
  ps_t start = 0, end = 0;
  std::vector<uint64_t> totals;  ///< bytes per thread
  /// Each completed pread/pwrite's time, issue to return, in completion
  /// order (for latency percentiles in reports).
  std::vector<ps_t> read_latency, write_latency;
  std::vector<ps_t> receive_latency;  ///< fio with nic: each NIC receive into the slot
  int64_t error = 0;             ///< first failure (-errno)
  uint32_t write_parity = 0;
  bool ready = false;            ///< setup done: threads may start
};

void p2pmem_test_setup(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc,
                       const std::string& run);
void p2pmem_test_thread(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc,
                        const std::string& run, int thread);
void p2pmem_test_report(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc,
                        const std::string& run);

}  // namespace p2psim
