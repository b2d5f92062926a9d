// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hw/pci_topology.h"

namespace p2psim::hw {

/// enum pci_p2pdma_map_type (v6.2). unknown is 0: what an empty xarray slot reads as.
enum class MapType { unknown, not_supported, bus_addr, thru_host_bridge };

const char* to_string(MapType type);

/// Stands for a client struct device with no PCI device above it
/// (find_parent_pci_dev() returns NULL).
constexpr DeviceId kNotPciDevice = kNoDevice - 1;

/// pci_p2pdma_whitelist_entry flag: the peers must share this host bridge.
constexpr uint32_t kReqSameHostBridge = 1u << 0;

/// One row of pci_p2pdma_whitelist[]: the root device's vendor and device ID.
struct WhitelistEntry {
  uint16_t vendor;
  uint16_t device;
  uint32_t flags;
};

/// The pci_p2pdma_whitelist[] table of v6.2, in kernel order.
const std::vector<WhitelistEntry>& p2pdma_whitelist();

/**
 * pci_bridge_has_acs_redir() - true if @dev has an ACS capability whose
 * control register has Request Redirect, Completion Redirect or Egress
 * Control set. Called on every device of the path, endpoints included.
 */
bool pci_bridge_has_acs_redir(const PciDevice& dev);

/// cpu_supports_p2pdma(): x86, vendor AMD (not Hygon), family >= 0x17 (Zen).
bool cpu_supports_p2pdma(const CpuInfo& cpu);

/**
 * pci_host_bridge_dev() - the device the whitelist looks at for @host: the
 * first device on its root bus if that is devfn 00.0 or a root port, else
 * kNoDevice.
 */
DeviceId pci_host_bridge_dev(const PciTopology& topo, HostBridgeId host);

/// map_types_idx(): the xarray index of @client, domain << 16 | bus << 8 | devfn.
uint64_t map_types_idx(const PciDevice& client);

/// "Uniform in [0, n)", the kernel's get_random_u32_below(); n > 0.
using UniformBelow = std::function<uint64_t(uint64_t n)>;

/**
 * class P2pdmaDistance - the P2PDMA map-type and distance logic of
 * drivers/pci/p2pdma.c over a PciTopology, with the per-provider state it
 * reads and writes: pdev->p2pdma (present or NULL), p2pmem_published and the
 * map_types xarray.
 *
 * The map_types cache is written by every calc_map_type_and_dist() on a
 * provider that has pdev->p2pdma, and read only by pci_p2pdma_map_type() (the
 * DMA mapping path). Nothing invalidates an entry: a later ACS change is seen
 * by the DMA mapping path only once something recomputes the same pair, and
 * entries go away only with the whole xarray at pci_p2pdma_release().
 *
 * The kernel log (pci_warn lines) is collected in log().
 * The topology is referenced, not copied: changes to it (ACS) are seen.
 */
class P2pdmaDistance {
 public:
  explicit P2pdmaDistance(const PciTopology& topo) : topo_(topo) {}

  /// pci_p2pdma_setup(): pdev->p2pdma exists, with an empty map_types xarray.
  void setup(DeviceId provider);
  /// pci_p2pdma_release(): pdev->p2pdma = NULL; xa_destroy(&map_types).
  void release(DeviceId provider);
  /// pci_p2pmem_publish(): a no-op while pdev->p2pdma is NULL.
  void publish(DeviceId provider, bool published);
  bool has_p2pdma(DeviceId provider) const { return providers_.count(provider) != 0; }
  /// pci_has_p2pmem(): pdev->p2pdma && p2pmem_published.
  bool has_p2pmem(DeviceId provider) const;

  /**
   * calc_map_type_and_dist() - how @provider and @client can do P2P DMA and
   * how far apart they are. Stores the result in @provider's map_types cache
   * (if it has pdev->p2pdma). @dist is set on every path, not_supported too.
   * @verbose adds the kernel's explanations to log().
   */
  MapType calc_map_type_and_dist(DeviceId provider, DeviceId client, int* dist, bool verbose);

  /// host_bridge_whitelist(): true if the peers' host bridges allow P2P.
  bool host_bridge_whitelist(DeviceId a, DeviceId b, bool warn);

  /**
   * distance_many() - pci_p2pdma_distance_many(): the summed distance from
   * @provider to every client, or -1 if there are none or any is not
   * supported (or is kNotPciDevice).
   */
  int distance_many(DeviceId provider, const std::vector<DeviceId>& clients, bool verbose);

  /**
   * find_many() - pci_p2pmem_find_many(): among devices with published
   * p2pmem, one of those with the smallest distance_many() to @clients,
   * chosen by @uniform_below over the candidates in for_each_pci_dev()
   * order. kNoDevice if none fits.
   */
  DeviceId find_many(const std::vector<DeviceId>& clients, const UniformBelow& uniform_below);

  /**
   * map_type() - pci_p2pdma_map_type(): the cached map type of the pair, or
   * a verbose calc_map_type_and_dist() on a miss. not_supported if @provider
   * has no pdev->p2pdma or @client is kNotPciDevice.
   */
  MapType map_type(DeviceId provider, DeviceId client);

  /// xa_load() on @provider's map_types for @client: unknown if absent.
  MapType cached_map_type(DeviceId provider, DeviceId client) const;
  /// Number of entries in @provider's map_types (0 without pdev->p2pdma).
  size_t cache_size(DeviceId provider) const;

  const std::vector<std::string>& log() const { return log_; }
  void clear_log() { log_.clear(); }

  /// PAGE_SIZE / sizeof(struct pci_dev *) on x86-64: find_many's candidate cap.
  static constexpr int kMaxClosestDevs = 4096 / 8;

 private:
  /// struct pci_p2pdma, the parts this logic touches.
  struct ProviderState {
    bool p2pmem_published = false;
    std::map<uint64_t, MapType> map_types;  ///< xarray keyed by map_types_idx()
  };

  bool host_bridge_whitelist_one(HostBridgeId host, bool same_host_bridge, bool warn);
  void warn(const PciDevice& dev, const std::string& msg) { log_.push_back(dev.bdf() + ": " + msg); }

  const PciTopology& topo_;
  std::map<DeviceId, ProviderState> providers_;  ///< absent: pdev->p2pdma == NULL
  std::vector<std::string> log_;
};

}  // namespace p2psim::hw
