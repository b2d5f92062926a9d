// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/hardware_modules.h"

#include <fmt/format.h>

#include "platform/cpu_mmio_module.h"
#include "platform/endpoint_models.h"
#include "platform/host_memory_module.h"
#include "platform/interrupt_controller.h"
#include "platform/iommu_module.h"
#include "platform/nvme_module.h"
#include "platform/pcie_fabric_module.h"

namespace p2psim {

int model_endpoint_count(const Scenario& sc) {
  int n = 0;
  if (sc.topo)
    for (const auto& ep : sc.topo->endpoints) n += ep.has_model();
  return n;
}

int nvme_endpoint_count(const Scenario& sc) {
  int n = 0;
  if (sc.topo)
    for (const auto& ep : sc.topo->endpoints) n += ep.kind == "nvme";
  return n;
}

HardwareModules elaborate_hardware(const Scenario& sc) {
  HardwareModules hw;
  if (!model_endpoint_count(sc)) return hw;
  // Process-lifetime modules: SystemC keeps pointers to them until exit.
  hw.fabric = new PcieFabricModule("p2psim_pcie");
  hw.iommu = new IommuModule("p2psim_iommu");
  hw.memory = new HostMemoryModule("p2psim_dram");
  hw.cpu = new CpuMmioModule("p2psim_cpu_mmio");
  hw.interrupts = new InterruptController("p2psim_interrupts");
  hw.fabric->to_iommu.bind(hw.iommu->in);
  hw.iommu->out.bind(hw.fabric->from_iommu);
  hw.fabric->to_memory.bind(hw.memory->in);
  hw.cpu->out.bind(hw.fabric->from_host);
  // Fabric ports in endpoint order: DMA in and BAR out bound pairwise.
  for (const auto& ep : sc.topo->endpoints) {
    if (ep.kind == "nvme") {
      auto* m = new NvmeModule(fmt::format("p2psim_nvme{}", hw.nvme.size()).c_str());
      m->dma.bind(hw.fabric->from_endpoints);
      hw.fabric->to_bars.bind(m->bar);
      hw.nvme.push_back(m);
    } else if (ep.kind == "tlm") {
      std::shared_ptr<pcie::ExternalEndpoint> model = create_endpoint_model(ep);
      model->dma_socket().bind(hw.fabric->from_endpoints);
      hw.fabric->to_bars.bind(model->bar_socket());
      hw.external.push_back({ep.name, std::move(model)});
    }
  }
  return hw;
}

}  // namespace p2psim
