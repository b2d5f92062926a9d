// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace p2psim::hw {

/// Index of a PCI function in its PciTopology (creation order).
using DeviceId = uint32_t;
/// Index of a host bridge in its PciTopology (creation order).
using HostBridgeId = uint32_t;
/// "No device": what pci_upstream_bridge() returns for a device on a root bus.
constexpr DeviceId kNoDevice = UINT32_MAX;

/// x86 vendor of the boot CPU, as cpuinfo_x86.x86_vendor distinguishes them.
enum class CpuVendor { intel, amd, hygon, zhaoxin, other };

/**
 * struct CpuInfo - what cpu_supports_p2pdma() reads: cpu_data(0), the boot
 * CPU. It is one value for the whole machine, not per host bridge.
 * @x86: CONFIG_X86; on other architectures the CPU check is always false.
 * @vendor: x86_vendor.
 * @family: x86 (the family number, e.g. 0x17 for Zen, 0x19 for Zen 3/4).
 */
struct CpuInfo {
  bool x86 = true;
  CpuVendor vendor = CpuVendor::intel;
  unsigned family = 6;
};

/// PCI vendor and device ID of one function.
struct PciIds {
  uint16_t vendor = 0;
  uint16_t device = 0;
};

constexpr uint16_t kVendorIntel = 0x8086;  ///< PCI_VENDOR_ID_INTEL
constexpr uint16_t kVendorAmd = 0x1022;    ///< PCI_VENDOR_ID_AMD

/// Bits of the ACS Control register (PCIe Base Spec, ACS Extended Capability).
namespace acs {
constexpr uint16_t kSourceValidation = 0x0001;    ///< SV
constexpr uint16_t kTranslationBlocking = 0x0002; ///< TB
constexpr uint16_t kRequestRedirect = 0x0004;     ///< RR
constexpr uint16_t kCompletionRedirect = 0x0008;  ///< CR
constexpr uint16_t kUpstreamForwarding = 0x0010;  ///< UF
constexpr uint16_t kEgressControl = 0x0020;       ///< EC
constexpr uint16_t kDirectTranslated = 0x0040;    ///< DT
}  // namespace acs

/// What a function is, in PCIe terms (pci_pcie_type() plus the host bridge function).
enum class PciFunctionType {
  host_bridge_function,   ///< non-bridge function on a root bus, usually 00.0 (class 0600)
  rc_integrated_endpoint, ///< RCiEP: an endpoint on a root bus
  root_port,
  switch_upstream_port,
  switch_downstream_port,
  endpoint,
};

const char* to_string(PciFunctionType type);

/**
 * struct PciDevice - one PCI function (struct pci_dev).
 * @id: index in the topology.
 * @type: what it is.
 * @host: the host bridge whose hierarchy it is in (pci_find_host_bridge()).
 * @domain, @bus, @devfn: its address; devfn = slot << 3 | function.
 * @ids: vendor and device ID (the whitelist matches the root device's).
 * @upstream: bus->self, the bridge whose secondary bus it sits on; kNoDevice
 *            on a root bus (pci_upstream_bridge() then returns NULL).
 * @secondary_bus: bridges only: the bus below it.
 * @acs_cap: it has an ACS extended capability (pdev->acs_cap != 0).
 * @acs_ctrl: the ACS Control register, read only if @acs_cap.
 */
struct PciDevice {
  DeviceId id = kNoDevice;
  PciFunctionType type = PciFunctionType::endpoint;
  HostBridgeId host = 0;
  uint16_t domain = 0;
  uint8_t bus = 0;
  uint8_t devfn = 0;
  PciIds ids;
  DeviceId upstream = kNoDevice;
  uint8_t secondary_bus = 0;
  bool acs_cap = false;
  uint16_t acs_ctrl = 0;

  uint8_t slot() const { return devfn >> 3; }
  uint8_t function() const { return devfn & 7; }
  bool is_bridge() const;
  /// pci_name(): "DDDD:BB:SS.F", lower-case hex.
  std::string bdf() const;
};

/**
 * struct HostBridge - struct pci_host_bridge: a PCI domain's root bus.
 * Its devices are bus_devices(domain, root_bus).
 */
struct HostBridge {
  HostBridgeId id = 0;
  uint16_t domain = 0;
  uint8_t root_bus = 0;
};

/**
 * class PciTopology - the PCI hierarchy of one machine: host bridges, root
 * ports, switches and endpoints, with the boot CPU the p2pdma code asks
 * about. Pure data, no timing. The builder methods reject topologies the PCI
 * core could not produce (ModelBug); checking user input is the loader's job.
 *
 * Deterministic: devices are indexed by creation order and every lookup goes
 * through ordered containers keyed by numbers.
 */
class PciTopology {
 public:
  PciTopology() = default;
  explicit PciTopology(const CpuInfo& cpu) : cpu_(cpu) {}

  void set_cpu(const CpuInfo& cpu) { cpu_ = cpu; }
  const CpuInfo& cpu() const { return cpu_; }

  /// A host bridge with an (empty) root bus numbered @root_bus in @domain.
  HostBridgeId add_host_bridge(uint16_t domain, uint8_t root_bus);
  /// The host bridge's own PCI function (e.g. 00.0, class 0600) on its root bus.
  DeviceId add_host_bridge_function(HostBridgeId host, uint8_t slot, uint8_t function, PciIds ids);
  /// A root complex integrated endpoint on the root bus.
  DeviceId add_rc_integrated_endpoint(HostBridgeId host, uint8_t slot, uint8_t function, PciIds ids);
  /// A root port on the root bus; its link is bus @secondary_bus.
  DeviceId add_root_port(HostBridgeId host, uint8_t slot, uint8_t function, uint8_t secondary_bus,
                         PciIds ids = {});
  /// A switch upstream port on the link below @downstream_port (00.0 there);
  /// the switch's internal bus is @secondary_bus.
  DeviceId add_switch_upstream_port(DeviceId downstream_port, uint8_t secondary_bus, PciIds ids = {});
  /// A switch downstream port at @slot on the internal bus of @upstream_port.
  DeviceId add_switch_downstream_port(DeviceId upstream_port, uint8_t slot, uint8_t secondary_bus,
                                      PciIds ids = {});
  /// Function @function of the endpoint on the link below @downstream_port
  /// (slot 0: the core scans only device 0 below a PCIe downstream port).
  DeviceId add_endpoint(DeviceId downstream_port, uint8_t function, PciIds ids = {});

  /// Gives @dev an ACS capability whose control register is @ctrl (acs:: bits).
  /// Later calls model setpci or pci=disable_acs_redir changing the register.
  void set_acs_ctrl(DeviceId dev, uint16_t ctrl);

  const PciDevice& device(DeviceId dev) const;
  const std::vector<PciDevice>& devices() const { return devices_; }
  const HostBridge& host_bridge(HostBridgeId host) const;
  size_t host_bridge_count() const { return hosts_.size(); }
  /// The device named @bdf ("0000:03:00.0"), if any.
  std::optional<DeviceId> find_by_bdf(const std::string& bdf) const;

  /// models include/linux/pci.h:pci_upstream_bridge() as of v6.2 (no VFs here)
  DeviceId upstream_bridge(DeviceId dev) const { return device(dev).upstream; }
  /// models drivers/pci/host-bridge.c:pci_find_host_bridge() as of v6.2
  HostBridgeId find_host_bridge(DeviceId dev) const { return device(dev).host; }
  /**
   * bus_devices() - bus->devices of bus (@domain, @bus) in list order. The
   * PCI core scans a bus slot by slot, function by function, so this is
   * ascending devfn whatever order the builder was called in.
   */
  const std::vector<DeviceId>& bus_devices(uint16_t domain, uint8_t bus) const;

  /**
   * bus_add_order() - every device in the order for_each_pci_dev() visits
   * them: the order pci_bus_add_devices() registered them, per host bridge in
   * creation order: all devices of a bus first, then each bridge's subordinate
   * bus, recursively.
   */
  // models drivers/pci/bus.c:pci_bus_add_devices() as of v6.2
  std::vector<DeviceId> bus_add_order() const;

 private:
  struct Bus {
    HostBridgeId host = 0;
    DeviceId self = kNoDevice;  ///< bridge above it; kNoDevice for a root bus
    std::vector<DeviceId> devices;  ///< ascending devfn
  };
  using BusKey = std::pair<uint16_t, uint8_t>;  // (domain, bus)

  Bus& bus_for_child(DeviceId bridge);
  DeviceId add_device(Bus& bus, uint16_t domain, uint8_t bus_nr, uint8_t slot, uint8_t function,
                      PciFunctionType type, PciIds ids);
  void check_bus_free(uint16_t domain, uint8_t bus_nr) const;
  void claim_secondary_bus(DeviceId bridge, uint8_t secondary_bus);
  void add_bus_devices_in_order(const Bus& bus, std::vector<DeviceId>& out) const;

  CpuInfo cpu_;
  std::vector<PciDevice> devices_;
  std::vector<HostBridge> hosts_;
  std::map<BusKey, Bus> buses_;
};

}  // namespace p2psim::hw
