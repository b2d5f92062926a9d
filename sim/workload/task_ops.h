// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/gup.h"
#include "kernel/kernel.h"
#include "kernel/p2pdma.h"
#include "kernel/iommufd_dmabuf.h"
#include "kernel/rdma_dmabuf_mr.h"
#include "kernel/vfio_pci.h"
#include "workload/p2pmem_test.h"
#include "scenario/scenario.h"

namespace p2psim {

/// A user buffer one process mapped.
struct UserBuf {
  uint64_t addr = 0;
  uint64_t len = 0;
  bool mapped = false;
};

/**
 * struct ScenarioWorld - the user-space side of one execution that the
 * scenario's tasks share: providers by name, events, buffers per process,
 * kernel allocations by name.
 */
class Platform;

struct ScenarioWorld {
  Platform* platform = nullptr;  ///< the hardware, when the scenario has NVMe devices
  std::vector<std::string> output;  ///< what workloads print
  std::map<std::string, kern::P2pdmaProvider*> providers;
  std::vector<char> events;  ///< by OpSpec::event_id; sized once (waits point into it)
  /// A process's mapped buffers: slot pid * nr_bufs + OpSpec::buf_id.
  std::vector<UserBuf> bufs;
  size_t nr_bufs = 0;
  UserBuf& buf(int pid, int buf_id) { return bufs.at(static_cast<size_t>(pid) * nr_bufs + static_cast<size_t>(buf_id)); }
  struct KAlloc {
    kern::P2pdmaProvider* prov;
    uint64_t addr, size;
  };
  std::map<std::string, KAlloc> allocs;
  std::map<std::string, P2pmemTestRun> p2pmem_runs;  ///< by run name
  std::map<std::string, kern::VfioPciCoreDevice*> vfio;  ///< vfio-pci functions by name
  std::map<std::string, kern::DmaBuf*> dmabufs;          ///< exported dma-bufs by name (their fds)
  std::map<std::string, kern::RdmaDmabufMr> mrs;         ///< dma-buf MRs by importing device
  std::map<std::string, kern::IommufdDmabufPages> ioas;  ///< dma-bufs mapped into an IOAS, by the device using it
  std::map<std::string, bool> slot_on;  ///< hotplug slots by function: false once pulled
  std::vector<OpOutcome> outcomes;  ///< what each op did, in the order they returned
  bool record_outcomes = true;      ///< false: leave @outcomes empty (campaigns)
};


/// Run @task's operations in order on @ex (the task's body).
void run_task_ops(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const TaskSpec& task, int pid);

}  // namespace p2psim
