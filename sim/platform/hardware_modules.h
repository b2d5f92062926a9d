// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "scenario/scenario.h"

namespace p2psim {

class NvmeModule;
class PcieBridgeModule;
class PcieSwitchModule;
class RootComplexModule;
class IommuModule;
class HostMemoryModule;
class CpuMmioModule;
class InterruptController;
class TlmBackend;
namespace pcie {
class ExternalEndpoint;
}

/**
 * struct HardwareModules - the SystemC modules a process elaborated for its
 * scenario, bound into the scenario's PCIe tree: a root complex per host
 * bridge (with its IOMMU and host memory behind it), a switch per switch,
 * and every endpoint with a model (NVMe controllers and tlm endpoints, in
 * the topology's order) below the root port or
 * switch downstream port it sits under; the CPUs' MMIO port enters at the
 * root complexes. Empty when the scenario has no device model (the direct
 * host runs it).
 */
struct HardwareModules {
  std::vector<NvmeModule*> nvme;
  struct External {
    std::string name;
    std::shared_ptr<pcie::ExternalEndpoint> model;
  };
  std::vector<External> external;
  std::vector<RootComplexModule*> root_complexes;  ///< by host bridge
  std::vector<PcieSwitchModule*> switches;         ///< in the topology's device order
  std::vector<IommuModule*> iommus;                ///< one per root complex
  HostMemoryModule* memory = nullptr;
  CpuMmioModule* cpu = nullptr;
  InterruptController* interrupts = nullptr;

  /// Give every module of the tree its execution (or take it away).
  void attach(TlmBackend* backend) const;
  void detach() const;
};

/// How many endpoints of @sc have a SystemC model (nvme and tlm kinds).
int model_endpoint_count(const Scenario& sc);
/// How many NVMe endpoints @sc has.
int nvme_endpoint_count(const Scenario& sc);

/// Create and bind @sc's modules (elaboration: once per process).
/// Throws InputError when a tlm endpoint's model cannot be made.
HardwareModules elaborate_hardware(const Scenario& sc);

}  // namespace p2psim
