// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/hardware_modules.h"

#include <fmt/format.h>

#include <map>

#include "platform/cpu_mmio_module.h"
#include "platform/endpoint_models.h"
#include "platform/host_memory_module.h"
#include "platform/interrupt_controller.h"
#include "platform/iommu_module.h"
#include "platform/nvme_module.h"
#include "platform/pcie_switch_module.h"
#include "platform/root_complex_module.h"

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

void HardwareModules::attach(TlmBackend* backend) const {
  for (auto* m : root_complexes) m->attach(backend);
  for (auto* m : switches) m->attach(backend);
  for (auto* m : iommus) m->attach(backend);
  memory->attach(backend);
}

void HardwareModules::detach() const {
  for (auto* m : root_complexes) m->detach();
  for (auto* m : switches) m->detach();
  for (auto* m : iommus) m->detach();
  memory->detach();
}

HardwareModules elaborate_hardware(const Scenario& sc) {
  HardwareModules hw;
  if (!model_endpoint_count(sc)) return hw;
  const hw::PciTopology& pci = sc.topo->pci;
  // Process-lifetime modules: SystemC keeps pointers to them until exit.
  hw.memory = new HostMemoryModule("p2psim_dram");
  hw.cpu = new CpuMmioModule("p2psim_cpu_mmio");
  hw.interrupts = new InterruptController("p2psim_interrupts");
  for (hw::HostBridgeId h = 0; h < pci.host_bridge_count(); ++h) {
    auto* rc = new RootComplexModule(fmt::format("p2psim_rc{}", h).c_str(), h);
    auto* iommu = new IommuModule(fmt::format("p2psim_iommu{}", h).c_str());
    rc->to_iommu.bind(iommu->in);
    iommu->out.bind(rc->from_iommu);
    rc->to_memory.bind(hw.memory->in);
    hw.cpu->out.bind(rc->from_host);  // CPU MMIO to host bridge h goes out on index h
    hw.root_complexes.push_back(rc);
    hw.iommus.push_back(iommu);
  }
  for (RootComplexModule* a : hw.root_complexes)  // peer traffic between host bridges
    for (RootComplexModule* b : hw.root_complexes)
      if (a != b) a->add_peer(*b);
  std::map<hw::DeviceId, PcieSwitchModule*> switch_of;  // by upstream port
  for (const hw::PciDevice& d : pci.devices())
    if (d.type == hw::PciFunctionType::switch_upstream_port) {
      auto* s = new PcieSwitchModule(fmt::format("p2psim_switch{}", hw.switches.size()).c_str(), d.id);
      s->to_memory.bind(hw.memory->in);
      hw.switches.push_back(s);
      switch_of[d.id] = s;
    }
  // The module a downstream-facing port belongs to: its switch, or its root complex.
  auto owner = [&](hw::DeviceId port) -> PcieBridgeModule* {
    const hw::PciDevice& p = pci.device(port);
    if (p.type == hw::PciFunctionType::root_port) return hw.root_complexes.at(p.host);
    return switch_of.at(p.upstream);
  };
  for (PcieSwitchModule* s : hw.switches) {
    const hw::DeviceId port = pci.device(s->upstream_port()).upstream;
    PcieBridgeModule* above = owner(port);
    above->add_downlink(port, s->upstream_port(), true);
    s->up.bind(above->from_below);
    above->to_below.bind(s->from_above);
  }
  // Endpoint models in endpoint order, each below its port.
  for (const auto& ep : sc.topo->endpoints) {
    if (!ep.has_model()) continue;
    const hw::DeviceId port = pci.device(ep.device).upstream;
    PcieBridgeModule* above = owner(port);
    above->add_downlink(port, ep.device, false);
    if (ep.kind == "nvme") {
      auto* m = new NvmeModule(fmt::format("p2psim_nvme{}", hw.nvme.size()).c_str());
      m->dma.bind(above->from_below);
      above->to_below.bind(m->bar);
      hw.nvme.push_back(m);
    } else {
      std::shared_ptr<pcie::ExternalEndpoint> model = create_endpoint_model(ep);
      model->dma_socket().bind(above->from_below);
      above->to_below.bind(model->bar_socket());
      hw.external.push_back({ep.name, std::move(model)});
    }
  }
  return hw;
}

}  // namespace p2psim
