// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/p2pdma_distance.h"

#include <climits>
#include <cstdio>

#include "common/kernel_bug.h"

namespace p2psim::hw {

namespace {

/**
 * class AcsList - the 128-byte seq_buf that collects "BDF;" for each port with
 * ACS redirect, for the pci=disable_acs_redir= hint. On overflow seq_buf keeps
 * what vsnprintf fitted (127 characters) and stops growing.
 */
class AcsList {
 public:
  void add(const PciDevice& dev) {
    if (overflowed_) return;
    const std::string entry = dev.bdf() + ";";
    if (text_.size() + entry.size() < kSize) {
      text_ += entry;
    } else {
      text_ = (text_ + entry).substr(0, kSize - 1);
      overflowed_ = true;
    }
  }
  /// The buffer after "drop final semicolon" (buffer[len - 1] = 0).
  std::string printed() const {
    // On overflow seq_buf sets len = size + 1 (include/linux/seq_buf.h,
    // v6.2), so the kernel's NUL lands one byte past its 128-byte stack
    // buffer; the text it prints is vsnprintf's truncated, NUL-ended one.
    if (overflowed_) return text_;
    return text_.empty() ? text_ : text_.substr(0, text_.size() - 1);
  }

 private:
  static constexpr size_t kSize = 128;
  std::string text_;
  bool overflowed_ = false;
};

char hex_digit(unsigned v) { return "0123456789abcdef"[v & 0xf]; }

std::string hex4(uint16_t v) {
  return {hex_digit(v >> 12), hex_digit(v >> 8), hex_digit(v >> 4), hex_digit(v)};
}

}  // namespace

const char* to_string(MapType type) {
  switch (type) {
    case MapType::unknown: return "unknown";
    case MapType::not_supported: return "not_supported";
    case MapType::bus_addr: return "bus_addr";
    case MapType::thru_host_bridge: return "thru_host_bridge";
  }
  return "?";
}

// models drivers/pci/p2pdma.c:pci_p2pdma_whitelist[] as of v6.2
const std::vector<WhitelistEntry>& p2pdma_whitelist() {
  static const std::vector<WhitelistEntry> table = {
      // Intel Xeon E5 / Core i7
      {kVendorIntel, 0x3c00, kReqSameHostBridge},
      {kVendorIntel, 0x3c01, kReqSameHostBridge},
      // Intel Xeon E7 v3 / Xeon E5 v3 / Core i7
      {kVendorIntel, 0x2f00, kReqSameHostBridge},
      {kVendorIntel, 0x2f01, kReqSameHostBridge},
      // Intel Skylake-E (root ports, no 00.0 host bridge function) and 0x09a2
      {kVendorIntel, 0x2030, 0},
      {kVendorIntel, 0x2031, 0},
      {kVendorIntel, 0x2032, 0},
      {kVendorIntel, 0x2033, 0},
      {kVendorIntel, 0x2020, 0},
      {kVendorIntel, 0x09a2, 0},
  };
  return table;
}

// models drivers/pci/p2pdma.c:pci_bridge_has_acs_redir() as of v6.2
bool pci_bridge_has_acs_redir(const PciDevice& dev) {
  if (!dev.acs_cap) return false;  // no ACS extended capability: nothing to read
  return (dev.acs_ctrl & (acs::kRequestRedirect | acs::kCompletionRedirect | acs::kEgressControl)) != 0;
}

// models drivers/pci/p2pdma.c:cpu_supports_p2pdma() as of v6.2
bool cpu_supports_p2pdma(const CpuInfo& cpu) {
  if (!cpu.x86) return false;  // the check is #ifdef CONFIG_X86
  // Zen and later; Hygon's Zen-derived parts have their own vendor and do not count.
  return cpu.vendor == CpuVendor::amd && cpu.family >= 0x17;
}

// models drivers/pci/p2pdma.c:pci_host_bridge_dev() as of v6.2
DeviceId pci_host_bridge_dev(const PciTopology& topo, HostBridgeId host) {
  const HostBridge& hb = topo.host_bridge(host);
  const std::vector<DeviceId>& root_bus = topo.bus_devices(hb.domain, hb.root_bus);
  if (root_bus.empty()) return kNoDevice;
  // Only the first device of the list is considered.
  const PciDevice& first = topo.device(root_bus.front());
  if (first.devfn == 0) return first.id;
  if (first.type == PciFunctionType::root_port) return first.id;
  return kNoDevice;
}

// models drivers/pci/p2pdma.c:map_types_idx() as of v6.2
uint64_t map_types_idx(const PciDevice& client) {
  return uint64_t{client.domain} << 16 | uint64_t{client.bus} << 8 | client.devfn;
}

void P2pdmaDistance::setup(DeviceId provider) {
  topo_.device(provider);  // ModelBug on a bad id
  providers_.emplace(provider, ProviderState{});  // already set up: kept as is
}

void P2pdmaDistance::release(DeviceId provider) { providers_.erase(provider); }

// models drivers/pci/p2pdma.c:pci_p2pmem_publish() as of v6.2
void P2pdmaDistance::publish(DeviceId provider, bool published) {
  auto it = providers_.find(provider);
  if (it != providers_.end()) it->second.p2pmem_published = published;
}

// models drivers/pci/p2pdma.c:pci_has_p2pmem() as of v6.2
bool P2pdmaDistance::has_p2pmem(DeviceId provider) const {
  auto it = providers_.find(provider);
  return it != providers_.end() && it->second.p2pmem_published;
}

// models drivers/pci/p2pdma.c:__host_bridge_whitelist() as of v6.2
bool P2pdmaDistance::host_bridge_whitelist_one(HostBridgeId host, bool same_host_bridge, bool warn_missing) {
  const DeviceId root_id = pci_host_bridge_dev(topo_, host);
  if (root_id == kNoDevice) return false;  // no warning either
  const PciDevice& root = topo_.device(root_id);

  // The first row matching vendor and device decides.
  for (const WhitelistEntry& entry : p2pdma_whitelist()) {
    if (root.ids.vendor != entry.vendor || root.ids.device != entry.device) continue;
    if ((entry.flags & kReqSameHostBridge) && !same_host_bridge) return false;
    return true;
  }
  if (warn_missing)
    warn(root, "Host bridge not in P2PDMA whitelist: " + hex4(root.ids.vendor) + ":" + hex4(root.ids.device));
  return false;
}

// models drivers/pci/p2pdma.c:host_bridge_whitelist() as of v6.2
bool P2pdmaDistance::host_bridge_whitelist(DeviceId a, DeviceId b, bool warn_missing) {
  const HostBridgeId host_a = topo_.find_host_bridge(a);
  const HostBridgeId host_b = topo_.find_host_bridge(b);
  if (host_a == host_b) return host_bridge_whitelist_one(host_a, true, warn_missing);
  // Different host bridges: both must be listed without REQ_SAME_HOST_BRIDGE;
  // the second is not looked at (nor warned about) if the first fails.
  return host_bridge_whitelist_one(host_a, false, warn_missing) &&
         host_bridge_whitelist_one(host_b, false, warn_missing);
}

// models drivers/pci/p2pdma.c:calc_map_type_and_dist() as of v6.2
MapType P2pdmaDistance::calc_map_type_and_dist(DeviceId provider, DeviceId client, int* dist,
                                               bool verbose) {
  const PciDevice& prov = topo_.device(provider);
  const PciDevice& cli = topo_.device(client);
  MapType map_type = MapType::thru_host_bridge;
  bool acs_redirects = false;
  AcsList acs_list;
  int acs_cnt = 0;
  int dist_a = 0;
  int dist_b = 0;
  DeviceId common = kNoDevice;

  // Walk up from the provider. Each ancestor's ACS is counted before it is
  // looked for on the client's path, so the common ancestor's own ACS counts.
  for (DeviceId a = provider; a != kNoDevice;) {
    dist_b = 0;
    const PciDevice& a_dev = topo_.device(a);
    if (pci_bridge_has_acs_redir(a_dev)) {
      acs_list.add(a_dev);
      acs_cnt++;
    }
    for (DeviceId bb = client; bb != kNoDevice; bb = topo_.upstream_bridge(bb)) {
      if (bb == a) {
        common = a;
        break;
      }
      dist_b++;
    }
    if (common != kNoDevice) break;
    a = topo_.upstream_bridge(a);
    dist_a++;
  }

  // dist_b is the whole client chain here when nothing was common.
  *dist = dist_a + dist_b;

  if (common != kNoDevice) {
    // The client's path below the common ancestor (the ancestor itself was
    // counted above).
    for (DeviceId bb = client; bb != common; bb = topo_.upstream_bridge(bb)) {
      const PciDevice& bb_dev = topo_.device(bb);
      if (pci_bridge_has_acs_redir(bb_dev)) {
        acs_list.add(bb_dev);
        acs_cnt++;
      }
    }
    if (acs_cnt == 0) {
      map_type = MapType::bus_addr;  // straight through the common switch or port
    } else {
      if (verbose) {
        warn(cli, "ACS redirect is set between the client and provider (" + prov.bdf() + ")");
        warn(cli, "to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=" +
                      acs_list.printed());
      }
      acs_redirects = true;
    }
  }
  // Without a common ancestor the ACS count is dropped: acs_redirects stays false.

  // Through the host bridge: the whitelist's warn argument is acs_redirects, not verbose.
  if (map_type == MapType::thru_host_bridge && !cpu_supports_p2pdma(topo_.cpu()) &&
      !host_bridge_whitelist(provider, client, acs_redirects)) {
    if (verbose)
      warn(cli, "cannot be used for peer-to-peer DMA as the client and provider (" + prov.bdf() +
                    ") do not share an upstream bridge or whitelisted host bridge");
    map_type = MapType::not_supported;
  }

  // Stored whatever the result, overwriting an older entry.
  auto it = providers_.find(provider);
  if (it != providers_.end()) it->second.map_types[map_types_idx(cli)] = map_type;
  return map_type;
}

// models drivers/pci/p2pdma.c:pci_p2pdma_distance_many() as of v6.2
int P2pdmaDistance::distance_many(DeviceId provider, const std::vector<DeviceId>& clients, bool verbose) {
  if (clients.empty()) return -1;
  bool not_supported = false;
  int total_dist = 0;
  for (DeviceId client : clients) {
    if (client == kNotPciDevice) {
      if (verbose) log_.push_back("(non-PCI client): cannot be used for peer-to-peer DMA as it is not a PCI device");
      return -1;
    }
    int distance = 0;
    const MapType map = calc_map_type_and_dist(provider, client, &distance, verbose);
    if (map == MapType::not_supported) not_supported = true;
    // Quiet callers stop at the first failure; verbose ones go on to warn
    // about every client (and sum distances that no longer matter).
    if (not_supported && !verbose) break;
    total_dist += distance;
  }
  return not_supported ? -1 : total_dist;
}

// models drivers/pci/p2pdma.c:pci_p2pmem_find_many() as of v6.2
DeviceId P2pdmaDistance::find_many(const std::vector<DeviceId>& clients, const UniformBelow& uniform_below) {
  int closest_distance = INT_MAX;
  std::vector<DeviceId> closest;
  for (DeviceId pdev : topo_.bus_add_order()) {  // for_each_pci_dev()
    if (!has_p2pmem(pdev)) continue;
    const int distance = distance_many(pdev, clients, false);
    if (distance < 0 || distance > closest_distance) continue;
    // The candidate array is one page: ties beyond it are dropped.
    if (distance == closest_distance && static_cast<int>(closest.size()) >= kMaxClosestDevs) continue;
    if (distance < closest_distance) {
      closest.clear();
      closest_distance = distance;
    }
    closest.push_back(pdev);
  }
  if (closest.empty()) return kNoDevice;
  const uint64_t pick = uniform_below(closest.size());  // get_random_u32_below(dev_cnt)
  if (pick >= closest.size())
    throw ModelBug("find_many: uniform_below(" + std::to_string(closest.size()) + ") returned " +
                   std::to_string(pick));
  return closest[pick];
}

// models drivers/pci/p2pdma.c:pci_p2pdma_map_type() as of v6.2
MapType P2pdmaDistance::map_type(DeviceId provider, DeviceId client) {
  if (!has_p2pdma(provider)) return MapType::not_supported;
  if (client == kNotPciDevice) return MapType::not_supported;  // !dev_is_pci(dev)
  const MapType type = cached_map_type(provider, client);
  if (type == MapType::unknown) {
    int dist = 0;
    return calc_map_type_and_dist(provider, client, &dist, true);
  }
  return type;
}

MapType P2pdmaDistance::cached_map_type(DeviceId provider, DeviceId client) const {
  auto it = providers_.find(provider);
  if (it == providers_.end()) return MapType::unknown;
  auto entry = it->second.map_types.find(map_types_idx(topo_.device(client)));
  return entry == it->second.map_types.end() ? MapType::unknown : entry->second;
}

size_t P2pdmaDistance::cache_size(DeviceId provider) const {
  auto it = providers_.find(provider);
  return it == providers_.end() ? 0 : it->second.map_types.size();
}

}  // namespace p2psim::hw
