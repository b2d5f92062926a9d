// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// struct p2pdma_provider and its driver-bound lifetime (drivers/pci/p2pdma.c,
// include/linux/pci-p2pdma.h as the 2025 VFIO dma-buf series left them;
// docs/fidelity.md): one provider per memory BAR, allocated with devm at
// pcim_p2pdma_init() and freed when the driver unbinds.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernel/device_driver.h"
#include "kernel/exec.h"

namespace p2psim::kern {

class Kernel;
struct PciP2pdmaMem;

/// enum pci_p2pdma_map_type, as pci_p2pdma_map_type() returns it.
enum class P2pdmaMapType { not_supported, bus_addr, thru_host_bridge };

/**
 * struct P2pdmaMemProvider - struct p2pdma_provider: who owns the BAR and
 * its bus offset. @released: the devm memory holding it was freed at
 * unbind (the oracles' view: the kernel would not know).
 */
struct P2pdmaMemProvider {
  std::string owner;
  int bar = 0;
  uint64_t bus_offset = 0;
  PciP2pdmaMem* p2pdma = nullptr;  ///< to_pci_dev(owner)->p2pdma's storage
  bool released = false;
};

/**
 * struct PciP2pdmaMem - the parts of struct pci_p2pdma the provider API
 * uses: mem[] per BAR, and the map_types cache (client -> map type). The
 * model fills the cache from the scenario's topology, where the kernel
 * would compute it from the PCI tree (calc_map_type_and_dist).
 */
struct PciP2pdmaMem {
  bool initialised = false;  ///< pdev->p2pdma is set
  std::vector<std::unique_ptr<P2pdmaMemProvider>> mem;
  std::map<std::string, P2pdmaMapType> map_types;
};

/// pcim_p2pdma_init(): providers for the device's BARs, freed by a devm
/// action at unbind. 0 (also when already initialised).
int pcim_p2pdma_init(Exec& ex, Kernel& k, PciP2pdmaMem& p2p, const std::string& owner, int nr_bars,
                     uint64_t bus_offset, DevmActions& devm);
/// pcim_p2pdma_provider(): the provider of @bar, or null.
P2pdmaMemProvider* pcim_p2pdma_provider(PciP2pdmaMem& p2p, int bar);
/// pci_p2pdma_map_type(provider, client): from the cache; not_supported
/// once the owner's pdev->p2pdma is gone.
P2pdmaMapType pci_p2pdma_map_type(const P2pdmaMemProvider& provider, const std::string& client);

}  // namespace p2psim::kern
