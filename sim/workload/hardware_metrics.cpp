// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "workload/hardware_metrics.h"

#include "platform/platform.h"
#include "workload/task_ops.h"

namespace p2psim {

HardwareMetrics collect_hardware_metrics(Platform& p, const ScenarioWorld& w, ps_t end) {
  HardwareMetrics m;
  m.end_time = end;
  hw::PcieFabric& f = p.fabric();
  for (hw::DeviceId port : f.link_ports()) {
    LinkMetrics l;
    l.name = f.name_of(port);
    l.config = f.link_config(port);
    l.byte_time_ps = hw::PcieLink(l.config).byte_time_ps().value();
    l.up = f.link_stats(port, hw::Direction::kUpstream);
    l.down = f.link_stats(port, hw::Direction::kDownstream);
    l.up_credits = f.credit_stats(port, hw::Direction::kUpstream);
    l.down_credits = f.credit_stats(port, hw::Direction::kDownstream);
    m.links.push_back(l);
  }
  m.rc_p2p_bytes = p.rc_p2p_bytes();
  m.iommu = p.iommu_on();
  m.iotlb = p.iommu().iotlb_stats();
  m.flush_queue = p.iommu().fq_stats();
  m.iova_lowest = p.iommu().lowest_iova();
  for (const auto& [name, r] : w.p2pmem_runs) {
    WorkloadMetrics wm;
    wm.run = name;
    for (uint64_t b : r.totals) wm.bytes += b;
    wm.start = r.start;
    wm.end = r.end;
    wm.error = r.error;
    wm.read_latency = r.read_latency;
    wm.receive_latency = r.receive_latency;
    wm.write_latency = r.write_latency;
    m.workloads.push_back(std::move(wm));
  }
  return m;
}

}  // namespace p2psim
