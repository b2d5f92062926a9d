// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// What the hardware of one execution did, read from the platform and the
// workloads when the execution ends: the raw material of `report`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/time.h"
#include "hw/iommu.h"
#include "hw/pcie_fabric.h"
#include "hw/pcie_link.h"

namespace p2psim {

class Platform;
struct ScenarioWorld;

/// One link, both directions (upstream = away from the device below it).
struct LinkMetrics {
  std::string name;   ///< the port above the link ("rp0", "sw0p1")
  hw::LinkConfig config{};
  double byte_time_ps = 0;  ///< one byte slot at the raw rate across all lanes
  hw::WireStats up, down;
  hw::CreditStats up_credits, down_credits;  ///< waits for the receiver's flow-control credits
};

/// One p2pmem-test run.
struct WorkloadMetrics {
  std::string run;        ///< "TASK@LINE" of its op
  std::uint64_t bytes = 0;  ///< payload moved (every thread's chunks)
  ps_t start = 0, end = 0;  ///< timed part: after setup, until the report
  std::int64_t error = 0;   ///< first failure (-errno), 0 when it completed
  std::vector<ps_t> read_latency, write_latency;  ///< per I/O
  std::vector<ps_t> receive_latency;  ///< fio with nic: per NIC receive before a write (not an I/O of its own)
};

struct HardwareMetrics {
  std::vector<LinkMetrics> links;  ///< in fabric port order
  std::uint64_t rc_p2p_bytes = 0;  ///< payload root complexes forwarded between root ports
  bool iommu = false;
  hw::IotlbStats iotlb;
  hw::FlushQueueStats flush_queue;
  uint64_t iova_lowest = ~0ULL;  ///< the lowest IOVA any domain allocated (~0: none)
  std::vector<WorkloadMetrics> workloads;  ///< by run name
  ps_t end_time = 0;
};

/// Reads @p and @w after an execution (@end: its simulated end).
HardwareMetrics collect_hardware_metrics(Platform& p, const ScenarioWorld& w, ps_t end);

}  // namespace p2psim
