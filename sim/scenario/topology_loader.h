// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "hw/iommu.h"
#include "hw/pci_topology.h"
#include "hw/pcie_fabric.h"

namespace p2psim {

class StrictNode;

/// A PCIe link's parameters as written in a topology (used by the fabric).
struct LinkSpec {
  int gen = 3, lanes = 8, mps = 256, mrrs = 512, rcb = 64;
  /// `credits:` this end advertises for what it receives (absent: unbounded).
  std::optional<hw::FlowControlCredits> credits;
};

/// What an endpoint is, and the BAR it offers for p2pmem if any.
struct EndpointSpec {
  std::string name;
  std::string kind;           ///< nvme | p2pmem | gpu | plain
  hw::DeviceId device;        ///< the function this entry names
  uint64_t p2p_bar_size = 0;  ///< CMB / p2pmem / GPU BAR given to p2pdma; 0: none
  uint64_t bar_phys = 0;      ///< assigned at load
  int function = 0;
  std::string drive = "gen4x4";  ///< nvme: flash preset (gen4x4, optane, p3700, p4500, mqsim)
  int read_tags = 0;              ///< `dma: {read_tags}`: outstanding MRds; 0 = the fabric default (256)
  ps_t request_interval = 0;      ///< `dma: {requests_per_us}` as the gap between requests; 0 = none
  /// kind tlm: a SystemC/TLM-2.0 model (include/p2psim/pcie_tlm.h), built in
  /// (@model) or from a shared library (@library, an absolute path), with
  /// its `params:`. Its BAR 0 (@mmio_bar_size at @bar_phys) is registers,
  /// not p2pmem.
  std::string model, library;
  std::map<std::string, std::string> params;
  uint64_t mmio_bar_size = 0;
  std::string file;          ///< where the endpoint was written, for errors a model gives later
  int line = 1, column = 1;
  /// The BAR the fabric routes to this function (p2pmem or registers).
  uint64_t bar_size() const { return p2p_bar_size ? p2p_bar_size : mmio_bar_size; }
  bool has_model() const { return kind == "nvme" || kind == "tlm"; }
};

/**
 * struct TopologySpec - a machine's PCI hierarchy from a scenario or a
 * topology file: the PciTopology the kernel's distance code walks, plus
 * names, links, and the p2pmem providers it implies.
 */
struct TopologySpec {
  hw::PciTopology pci;
  std::map<hw::DeviceId, std::string> names;  ///< port and endpoint names
  std::map<hw::DeviceId, LinkSpec> links;     ///< the link above a port/device
  std::vector<EndpointSpec> endpoints;        ///< every endpoint function, in device order
  std::map<hw::HostBridgeId, std::string> host_names;
  /// A host bridge's `p2p:` forwarding limits (payload bytes/s, 0 = the
  /// links only; latency) and its `dram:` read latency and completion rate;
  /// absent = the fabric's defaults.
  struct RcForwarding {
    uint64_t bytes_per_sec = 0;
    ps_t latency = 0;
    bool latency_given = false;
    std::optional<ps_t> dram_read_latency;     ///< `dram: {read_latency}`; absent = the fabric default
    uint64_t dram_completion_bytes_per_sec = 0;  ///< `dram: {completion_mb_per_s}`; 0 = no limit
  };
  std::map<hw::HostBridgeId, RcForwarding> rc_forwarding;
  bool iommu = false;
  std::string iommu_mode = "lazy";
  /// `iommu: {page_walkers}`: walks at once (0: unlimited); 7 reproduces
  /// pcie-bench's third for 64 B random reads beyond the IOTLB (hw/iommu.h).
  uint32_t iommu_page_walkers = 7;
  /// One IOTLB invalidation round trip (hw::IommuConfig::invalidation_ps).
  ps_t iommu_invalidation_wait = hw::IommuConfig{}.invalidation_ps;
  std::string file;  ///< where it was read (the included file, if any)
};

/**
 * parse_topology_tree() - read `cpu`, `iommu` and `host_bridges` from @m (a
 * topology map; `include:` resolved by the caller), assigning buses and BDFs
 * in enumeration order and BAR windows from 0xe0000000. Throws InputError.
 */
TopologySpec parse_topology_tree(const StrictNode& m);

/// ACS Control bits by their names in scenario files: sv tb rr cr uf ec dt.
const std::vector<std::string>& acs_bit_names();
uint16_t acs_bits(const std::vector<std::string>& names);

/// Is @m a topology tree (has host_bridges)?
bool is_topology_tree(const StrictNode& m);

/// `p2pdma-sim topo`: the tree and every provider/client map type and distance.
std::string render_topology(const TopologySpec& t, bool json);

}  // namespace p2psim
