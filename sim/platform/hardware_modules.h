// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "scenario/scenario.h"

namespace p2psim {

class NvmeModule;
class PcieFabricModule;
class IommuModule;
class HostMemoryModule;
class CpuMmioModule;
class InterruptController;
namespace pcie {
class ExternalEndpoint;
}

/**
 * struct HardwareModules - the SystemC modules a process elaborated for its
 * scenario, bound into one PCIe tree: every endpoint with a model (NVMe
 * controllers and tlm endpoints, in the topology's order: their fabric port
 * numbers) on the fabric, the IOMMU and host memory behind the root
 * complex, and the CPUs' MMIO port. Empty when the scenario has no device
 * model (the direct host runs it).
 */
struct HardwareModules {
  std::vector<NvmeModule*> nvme;
  struct External {
    std::string name;
    std::shared_ptr<pcie::ExternalEndpoint> model;
  };
  std::vector<External> external;
  PcieFabricModule* fabric = nullptr;
  IommuModule* iommu = nullptr;
  HostMemoryModule* memory = nullptr;
  CpuMmioModule* cpu = nullptr;
  InterruptController* interrupts = nullptr;
};

/// How many endpoints of @sc have a SystemC model (nvme and tlm kinds).
int model_endpoint_count(const Scenario& sc);
/// How many NVMe endpoints @sc has.
int nvme_endpoint_count(const Scenario& sc);

/// Create and bind @sc's modules (elaboration: once per process).
/// Throws InputError when a tlm endpoint's model cannot be made.
HardwareModules elaborate_hardware(const Scenario& sc);

}  // namespace p2psim
