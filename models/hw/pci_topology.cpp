// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/pci_topology.h"

#include <algorithm>
#include <cstdio>

#include "common/kernel_bug.h"

namespace p2psim::hw {

const char* to_string(PciFunctionType type) {
  switch (type) {
    case PciFunctionType::host_bridge_function: return "host_bridge_function";
    case PciFunctionType::rc_integrated_endpoint: return "rc_integrated_endpoint";
    case PciFunctionType::root_port: return "root_port";
    case PciFunctionType::switch_upstream_port: return "switch_upstream_port";
    case PciFunctionType::switch_downstream_port: return "switch_downstream_port";
    case PciFunctionType::endpoint: return "endpoint";
  }
  return "?";
}

bool PciDevice::is_bridge() const {
  return type == PciFunctionType::root_port || type == PciFunctionType::switch_upstream_port ||
         type == PciFunctionType::switch_downstream_port;
}

std::string PciDevice::bdf() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", domain, bus, slot(), function());
  return buf;
}

HostBridgeId PciTopology::add_host_bridge(uint16_t domain, uint8_t root_bus) {
  check_bus_free(domain, root_bus);
  const BusKey key{domain, root_bus};
  const auto id = static_cast<HostBridgeId>(hosts_.size());
  hosts_.push_back(HostBridge{id, domain, root_bus});
  Bus bus;
  bus.host = id;
  buses_.emplace(key, std::move(bus));
  return id;
}

DeviceId PciTopology::add_device(Bus& bus, uint16_t domain, uint8_t bus_nr, uint8_t slot,
                                 uint8_t function, PciFunctionType type, PciIds ids) {
  if (slot >= 32 || function >= 8)
    throw ModelBug("pci topology: slot " + std::to_string(slot) + " function " +
                   std::to_string(function) + " out of range");
  const uint8_t devfn = static_cast<uint8_t>(slot << 3 | function);
  for (DeviceId other : bus.devices)
    if (devices_[other].devfn == devfn)
      throw ModelBug("pci topology: " + devices_[other].bdf() + " already exists");

  PciDevice dev;
  dev.id = static_cast<DeviceId>(devices_.size());
  dev.type = type;
  dev.host = bus.host;
  dev.domain = domain;
  dev.bus = bus_nr;
  dev.devfn = devfn;
  dev.ids = ids;
  dev.upstream = bus.self;
  devices_.push_back(dev);

  // Keep bus->devices in scan order (ascending devfn).
  auto pos = std::lower_bound(bus.devices.begin(), bus.devices.end(), devfn,
                              [this](DeviceId d, uint8_t v) { return devices_[d].devfn < v; });
  bus.devices.insert(pos, dev.id);
  return dev.id;
}

void PciTopology::check_bus_free(uint16_t domain, uint8_t bus_nr) const {
  if (buses_.count(BusKey{domain, bus_nr}))
    throw ModelBug("pci topology: bus " + std::to_string(bus_nr) + " of domain " + std::to_string(domain) +
                   " already exists");
}

void PciTopology::claim_secondary_bus(DeviceId bridge, uint8_t secondary_bus) {
  PciDevice& dev = devices_[bridge];
  const BusKey key{dev.domain, secondary_bus};
  dev.secondary_bus = secondary_bus;
  Bus bus;
  bus.host = dev.host;
  bus.self = bridge;
  buses_.emplace(key, std::move(bus));
}

PciTopology::Bus& PciTopology::bus_for_child(DeviceId bridge) {
  const PciDevice& dev = device(bridge);
  if (!dev.is_bridge()) throw ModelBug("pci topology: " + dev.bdf() + " is not a bridge");
  return buses_.at(BusKey{dev.domain, dev.secondary_bus});
}

DeviceId PciTopology::add_host_bridge_function(HostBridgeId host, uint8_t slot, uint8_t function,
                                               PciIds ids) {
  const HostBridge& hb = host_bridge(host);
  return add_device(buses_.at(BusKey{hb.domain, hb.root_bus}), hb.domain, hb.root_bus, slot,
                    function, PciFunctionType::host_bridge_function, ids);
}

DeviceId PciTopology::add_rc_integrated_endpoint(HostBridgeId host, uint8_t slot, uint8_t function,
                                                 PciIds ids) {
  const HostBridge& hb = host_bridge(host);
  return add_device(buses_.at(BusKey{hb.domain, hb.root_bus}), hb.domain, hb.root_bus, slot,
                    function, PciFunctionType::rc_integrated_endpoint, ids);
}

DeviceId PciTopology::add_root_port(HostBridgeId host, uint8_t slot, uint8_t function,
                                    uint8_t secondary_bus, PciIds ids) {
  const HostBridge& hb = host_bridge(host);
  const uint16_t domain = hb.domain;
  const uint8_t root_bus = hb.root_bus;
  check_bus_free(domain, secondary_bus);  // before anything changes
  const DeviceId id = add_device(buses_.at(BusKey{domain, root_bus}), domain, root_bus, slot,
                                 function, PciFunctionType::root_port, ids);
  claim_secondary_bus(id, secondary_bus);
  return id;
}

DeviceId PciTopology::add_switch_upstream_port(DeviceId downstream_port, uint8_t secondary_bus,
                                               PciIds ids) {
  const PciDevice& port = device(downstream_port);
  if (port.type != PciFunctionType::root_port && port.type != PciFunctionType::switch_downstream_port)
    throw ModelBug("pci topology: a switch upstream port needs a root or downstream port above it, not " +
                   port.bdf());
  const uint16_t domain = port.domain;
  const uint8_t bus_nr = port.secondary_bus;
  check_bus_free(domain, secondary_bus);
  const DeviceId id = add_device(bus_for_child(downstream_port), domain, bus_nr, 0, 0,
                                 PciFunctionType::switch_upstream_port, ids);
  claim_secondary_bus(id, secondary_bus);
  return id;
}

DeviceId PciTopology::add_switch_downstream_port(DeviceId upstream_port, uint8_t slot,
                                                 uint8_t secondary_bus, PciIds ids) {
  const PciDevice& usp = device(upstream_port);
  if (usp.type != PciFunctionType::switch_upstream_port)
    throw ModelBug("pci topology: a switch downstream port needs a switch upstream port above it, not " +
                   usp.bdf());
  const uint16_t domain = usp.domain;
  const uint8_t bus_nr = usp.secondary_bus;
  check_bus_free(domain, secondary_bus);
  const DeviceId id = add_device(bus_for_child(upstream_port), domain, bus_nr, slot, 0,
                                 PciFunctionType::switch_downstream_port, ids);
  claim_secondary_bus(id, secondary_bus);
  return id;
}

DeviceId PciTopology::add_endpoint(DeviceId downstream_port, uint8_t function, PciIds ids) {
  const PciDevice& port = device(downstream_port);
  if (port.type != PciFunctionType::root_port && port.type != PciFunctionType::switch_downstream_port)
    throw ModelBug("pci topology: an endpoint needs a root or downstream port above it, not " +
                   port.bdf());
  const uint16_t domain = port.domain;
  const uint8_t bus_nr = port.secondary_bus;
  return add_device(bus_for_child(downstream_port), domain, bus_nr, 0, function,
                    PciFunctionType::endpoint, ids);
}

void PciTopology::set_acs_ctrl(DeviceId dev, uint16_t ctrl) {
  if (dev >= devices_.size()) throw ModelBug("pci topology: no device " + std::to_string(dev));
  devices_[dev].acs_cap = true;
  devices_[dev].acs_ctrl = ctrl;
}

const PciDevice& PciTopology::device(DeviceId dev) const {
  if (dev >= devices_.size()) throw ModelBug("pci topology: no device " + std::to_string(dev));
  return devices_[dev];
}

const HostBridge& PciTopology::host_bridge(HostBridgeId host) const {
  if (host >= hosts_.size()) throw ModelBug("pci topology: no host bridge " + std::to_string(host));
  return hosts_[host];
}

std::optional<DeviceId> PciTopology::find_by_bdf(const std::string& bdf) const {
  for (const PciDevice& dev : devices_)
    if (dev.bdf() == bdf) return dev.id;
  return std::nullopt;
}

const std::vector<DeviceId>& PciTopology::bus_devices(uint16_t domain, uint8_t bus) const {
  auto it = buses_.find(BusKey{domain, bus});
  if (it == buses_.end())
    throw ModelBug("pci topology: no bus " + std::to_string(bus) + " in domain " +
                   std::to_string(domain));
  return it->second.devices;
}

void PciTopology::add_bus_devices_in_order(const Bus& bus, std::vector<DeviceId>& out) const {
  for (DeviceId dev : bus.devices) out.push_back(dev);
  for (DeviceId dev : bus.devices) {
    const PciDevice& d = devices_[dev];
    if (d.is_bridge()) add_bus_devices_in_order(buses_.at(BusKey{d.domain, d.secondary_bus}), out);
  }
}

std::vector<DeviceId> PciTopology::bus_add_order() const {
  std::vector<DeviceId> out;
  out.reserve(devices_.size());
  for (const HostBridge& hb : hosts_)
    add_bus_devices_in_order(buses_.at(BusKey{hb.domain, hb.root_bus}), out);
  return out;
}

}  // namespace p2psim::hw
