// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <p2psim/pcie_tlm.h>

#include <map>
#include <string>
#include <vector>

#include "hw/dma_mapping.h"
#include "kernel/exec.h"
#include "kernel/gup.h"
#include "scenario/topology_loader.h"

namespace p2psim {

class Platform;

/**
 * class ExternalDevice - one tlm endpoint in an execution: its model
 * (elaborated once per process, reset here), and what a minimal driver of
 * it does from a task: 64-bit register access through the PCIe tree, and
 * streaming DMA mappings of pages the task pinned (dma_map_sgtable() of a
 * one-page table: a P2P page by its map type, pci_p2pdma_map_segment()).
 * The oracles check every DMA the model masters against those mappings, as
 * they check the NVMe controller's against its in-flight I/O.
 */
class ExternalDevice {
 public:
  /// @event_id: its place among the devices posting hardware events (the
  /// order of same-time interrupts).
  ExternalDevice(Platform& p, const EndpointSpec& ep, pcie::ExternalEndpoint& model, int event_id);
  const std::string& name() const { return ep_.name; }
  hw::DeviceId device() const { return ep_.device; }

  /// writeq()/readq() of BAR 0 at @offset from @ex: 0, or -EIO when the
  /// device answered with an error (a read then returns all ones).
  long mmio(kern::Exec& ex, uint64_t offset, uint64_t* value, bool write);
  /// Map pinned page @gp for the device's DMA (both directions): the DMA
  /// address in @dma, or a negative errno (-EREMOTEIO: no P2P path).
  long map_page(kern::Exec& ex, const kern::GupPage& gp, uint64_t* dma);
  /// dma_unmap of every mapping @ex's task made of @pages (before it
  /// unpins them).
  void unmap_pages(kern::Exec& ex, const std::vector<kern::GupPage>& pages);
  /// The oracle's check of a DMA the model mastered (physical address).
  void check(uint64_t addr, size_t len, ps_t at, const char* what);
  /// An MSI the model sent reached CPU @cpu's APIC at @at: the driver's
  /// handler runs there as a hardware interrupt.
  void on_msi(ps_t at, int cpu, uint32_t data);
  /// wait_for_completion() on what the handler of vector @vector (any
  /// vector: -1) completes: sleeps until such an interrupt came that no
  /// earlier wait took.
  void wait_irq(kern::Exec& ex, int vector = -1);

 private:
  struct Mapping {
    std::string owner;      ///< the task that made it (and unmaps it)
    kern::Page* page;
    uint64_t phys;          ///< the page's physical address
    uint64_t shadow_alloc;  ///< the allocation the pin saw
    bool p2p;
    hw::P2pMapping m;       ///< p2p
    uint64_t dma;           ///< what the device was given
  };
  Platform& p_;
  EndpointSpec ep_;
  pcie::ExternalEndpoint& model_;
  std::vector<Mapping> maps_;
  int event_id_;
  uint64_t msi_seq_ = 0;
  /// Per vector, struct completion's done: handlers' complete() minus waits.
  std::map<int, uint64_t> completions_;
};

}  // namespace p2psim
