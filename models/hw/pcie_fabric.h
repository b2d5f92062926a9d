// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// A transaction-level PCIe fabric over a PciTopology: one timed PcieLink per
// physical link, switches that route memory requests by address window and
// completions by ID with a cut-through latency per hop, ACS P2P request and
// completion redirect at switch downstream ports, and root complexes that
// terminate DMA to host memory (DRAM) and forward peer traffic between root
// ports with their own bandwidth and latency (or refuse it).
// Pure logic, no SystemC; deterministic (ordered containers, integer time).
//
// Flow control: a receiver may advertise credits (FabricConfig::credits) for
// posted, non-posted and completion TLPs, headers and 16-byte data units, as
// PCIe's credit-based flow control does; a TLP waits on its link until the
// receiver has room, and frees it when it leaves the receiver (starts on the
// egress link, enters the root complex's forwarding stage, or arrives at a
// completer). Receivers with no credits given have unbounded buffers.
//
// Not modelled: ordering rules between the credit types (a blocked posted
// write does not hold back a completion behind it), DRAM bandwidth, the
// IOMMU (redirected traffic reaches the RC untranslated), the inter-socket
// link (DMA to another host bridge's DRAM fails), virtual channels (every
// direction of a link is one FIFO shared by requests and completions).
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hw/pci_topology.h"
#include "hw/pcie_link.h"
#include "hw/pcie_tlp.h"
#include "common/time.h"

namespace p2psim::hw {

// ---------------------------------------------------------------------------
// Defaults, each with its source (docs/anchors.md "PCIe links", "Switches and root
// complexes")
// ---------------------------------------------------------------------------

/// Gen3 x8, MPS 256, MRRS 512, RCB 64, 64-bit addresses, no ECRC: the
/// configuration pcie-bench validated (Neugebauer et al., SIGCOMM 2018).
constexpr LinkConfig kDefaultFabricLink{3, 8, 256, 512, 64, true, false};

/// Switch port-to-port cut-through latency. VENDOR CLAIMS, not measurements:
/// Broadcom/PLX PEX87xx (Gen3) 100-150 ns, PEX88000 (Gen4) ~105 ns; 110 ns sits
/// at the low end of the Gen3 range, near the Gen4 figure.
constexpr ps_t kDefaultSwitchLatency = 110'000;        // 110 ns, vendor claim (see above)
constexpr ps_t kPex87xxSwitchLatencyMin = 100'000;     // 100 ns, PLX PEX87xx vendor claim
constexpr ps_t kPex87xxSwitchLatencyMax = 150'000;     // 150 ns, PLX PEX87xx vendor claim
constexpr ps_t kPex88000SwitchLatency = 105'000;       // ~105 ns, Broadcom PEX88000 vendor claim

/// DRAM read latency at the root complex: last byte of an MRd in at the root
/// port to the first CplD ready to leave it. It lumps RC, memory controller and
/// DRAM. Calibrated so that a 64 B DMA read by an endpoint directly below a
/// Gen3 x8 root port takes the pcie-bench median of ~546 ns on Haswell Xeons
/// (docs/anchors.md): 546 ns - MRd 24 B - CplD 84 B on the wire (108 x 126.95 ps =
/// 13.7 ns) = 532 ns. pcie-bench measured that figure from a device (NetFPGA /
/// NFP), so the device's own PCIe core latency is in it too.
constexpr ps_t kDefaultDramReadLatency = 532'000;      // 532 ns, calibrated (see above)

/// Root-complex peer-to-peer forwarding latency (last byte in at one root port
/// to first byte out at the other, after the RC's bandwidth stage). PLACEHOLDER:
/// docs/anchors.md gives no RC latency figure, only that RC P2P is often slower than
/// a switch; set it per platform. Defaults to one switch hop.
constexpr ps_t kDefaultRcP2pLatency = kDefaultSwitchLatency;

/// Example RC P2P bandwidth: Xeon E5 v4 (Broadwell-EP) SSD->GPU P2P through the
/// root complex measured 7.1 GB/s, against 9.5 GB/s SSD->DRAM on the same
/// machine (community measurement, docs/anchors.md). 0 in HostBridgeParams means
/// "not limited beyond the links".
constexpr std::uint64_t kXeonE5v4RcP2pBytesPerSec = 7'100'000'000;   // 7.1 GB/s, measured
constexpr std::uint64_t kXeonE5v4SsdToDramBytesPerSec = 9'500'000'000;  // 9.5 GB/s, same source

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// [base, base + size).
struct AddressRange {
  std::uint64_t base = 0;
  std::uint64_t size = 0;
  std::uint64_t end() const { return base + size; }
  bool contains(std::uint64_t a) const { return a >= base && a - base < size; }
  bool contains(std::uint64_t a, std::uint64_t bytes) const {
    return contains(a) && bytes <= size - (a - base);
  }
  bool overlaps(const AddressRange& o) const {
    return size != 0 && o.size != 0 && base < o.end() && o.base < end();
  }
};

/**
 * struct FlowControlCredits - what a receiver advertises (PCIe 5.0 §2.6.1):
 * header credits (one per TLP) and data credits (one per 16 bytes of
 * payload) for posted requests (MWr), non-posted requests (MRd) and
 * completions (CplD). 0 means infinite, as the specification lets a
 * receiver advertise. All 0: no flow control at that receiver.
 */
struct FlowControlCredits {
  std::uint32_t posted_headers = 0, posted_data = 0;
  std::uint32_t non_posted_headers = 0, non_posted_data = 0;
  std::uint32_t completion_headers = 0, completion_data = 0;
  bool limited() const {
    return posted_headers || posted_data || non_posted_headers || non_posted_data || completion_headers ||
           completion_data;
  }
};
/// Data credits a payload of @bytes takes (PCIe's unit is 4 DW = 16 bytes).
constexpr std::uint64_t data_credits(std::uint64_t bytes) { return (bytes + 15) / 16; }

/// Per link direction: how flow control held TLPs back.
struct CreditStats {
  std::uint64_t stalled_tlps = 0;  ///< TLPs that waited for credits
  ps_t stall_ps = 0;               ///< their total wait
};

/**
 * struct HostBridgeParams - the root complex of one host bridge.
 * @dram: host memory behind it (size 0: none).
 * @msi:  the MSI address window it terminates (size 0: none).
 * @dram_read_latency: MRd in at the root port to first CplD ready.
 * @p2p_allowed: false = the RC drops peer-to-peer TLPs between (or back down)
 *               its root ports; a transfer that needs it fails.
 * @p2p_bytes_per_sec: payload bytes per second the RC forwards peer to peer,
 *               one FIFO stage for all its root ports; 0 = no limit beyond the
 *               links (e.g. kXeonE5v4RcP2pBytesPerSec).
 * @p2p_latency: added after the bandwidth stage for every forwarded TLP.
 */
struct HostBridgeParams {
  AddressRange dram;
  /// The interrupt window (x86: 0xFEE00000, 1 MiB): a posted write into it
  /// is an MSI, which ends at the root complex's interrupt controller
  /// (size 0: none). Only writes are routed there (the platform refuses reads).
  AddressRange msi;
  ps_t dram_read_latency = kDefaultDramReadLatency;
  /// Payload bytes per second the host turns DMA reads into completions
  /// (one FIFO stage for all requesters); 0 = no limit beyond the links.
  std::uint64_t dram_completion_bytes_per_sec = 0;
  bool p2p_allowed = true;
  std::uint64_t p2p_bytes_per_sec = 0;
  ps_t p2p_latency = kDefaultRcP2pLatency;
};

/**
 * struct FabricConfig - what the PciTopology does not say.
 * @links: the link above a device or below a port, keyed like TopologySpec::
 *         links: a root port or switch downstream port names the link below it,
 *         a switch upstream port or an endpoint the link above it. When both
 *         ends of a link have an entry the link trains to the lower of each
 *         field (gen, lanes, MPS, MRRS, RCB; ECRC only if both; 64-bit if
 *         either). Links with no entry get @default_link.
 * @bars: BAR windows each endpoint function decodes (completer for P2P).
 * @bar_read_latency: per endpoint, MRd in to first CplD ready; default 0 (no
 *         device figure in docs/anchors.md; set it per device).
 * @hosts: per host bridge; missing ones get HostBridgeParams{} (no DRAM).
 * @switch_latency: per switch, keyed by its upstream port.
 * @read_tags: outstanding MRd tags per requester; default kEightBitTagLimit.
 * @request_interval: per requester, the least time between two request TLPs
 *         it issues (its DMA engine's issue rate); absent or 0: back to back.
 * @propagation: per link traversal, each direction (0: on-board traces).
 * @names, @host_names: for hop names; BDF / "hostN" otherwise.
 */
struct FabricConfig {
  std::map<DeviceId, LinkConfig> links;
  LinkConfig default_link = kDefaultFabricLink;
  std::map<DeviceId, std::vector<AddressRange>> bars;
  std::map<DeviceId, ps_t> bar_read_latency;
  std::map<HostBridgeId, HostBridgeParams> hosts;
  std::map<DeviceId, ps_t> switch_latency;
  ps_t default_switch_latency = kDefaultSwitchLatency;
  std::map<DeviceId, int> read_tags;
  int default_read_tags = kEightBitTagLimit;  // PCIe 5.0 §2.2.6.2: 8-bit tags
  std::map<DeviceId, ps_t> request_interval;
  ps_t propagation = 0;
  /// Credits a device advertises for what it receives over its link: a
  /// root or switch downstream port for upstream traffic on the link below
  /// it, an endpoint (function 0) or switch upstream port for downstream
  /// traffic on the link above it. Absent: unbounded.
  std::map<DeviceId, FlowControlCredits> credits;
  std::map<DeviceId, std::string> names;
  std::map<HostBridgeId, std::string> host_names;
};

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

enum class HopKind {
  kLink,         ///< one direction of a link (device = the port above the link)
  kSwitch,       ///< across a switch, port to port (device = its upstream port)
  kRootComplex,  ///< RC forwarding peer traffic between root ports (host)
  kMemory,       ///< terminal: host DRAM (host)
  kEndpoint,     ///< terminal: an endpoint's BAR / the requester (device)
};
const char* to_string(HopKind kind);

/// One element of a path. Its name is PcieFabric::hop_name(): routing
/// builds paths for every DMA, and strings there cost more than the TLPs.
struct Hop {
  HopKind kind = HopKind::kLink;
  DeviceId device = kNoDevice;
  HostBridgeId host = 0;
  Direction direction = Direction::kUpstream;  ///< links only
  ps_t latency = 0;                            ///< switch / RC / completer latency
  DeviceId from = kNoDevice, to = kNoDevice;   ///< switch / RC: ingress and egress port
  bool msi = false;                            ///< memory: the host bridge's MSI window, not DRAM
  bool bar = false;                            ///< endpoint: claimed by address (a BAR)
};

/**
 * struct Transfer - one DMA as the fabric carried it.
 * @ok, @error: false with the reason when routing failed (unclaimed address,
 *   P2P blocked at a root complex, ...); nothing was sent then.
 * @start: first byte of the first TLP on the requester's link.
 * @end: writes: last MWr fully arrived at the target; reads: last CplD fully
 *   arrived at the requester.
 * @path: the request path, requester to target, with terminal hop (empty
 *   when the fabric was told not to record paths: set_record_paths()).
 * @completion_path: reads: completer to requester (likewise).
 * @crossed_root_complex: some TLP of it went through a root complex (to DRAM
 *   or forwarded peer to peer).
 * @rc_peer_forwarded: the root complex forwarded it between root ports (or
 *   back down the one it came from).
 * @acs_redirected: an ACS redirect sent a request or completion upstream.
 */
struct Transfer {
  DmaOp op = DmaOp::kWrite;
  DeviceId requester = kNoDevice;
  std::uint64_t address = 0;
  bool ok = true;
  std::string error;
  ps_t issue = 0;
  ps_t start = 0;
  ps_t end = 0;
  std::vector<Hop> path;
  std::vector<Hop> completion_path;
  bool crossed_root_complex = false;
  bool rc_peer_forwarded = false;
  bool acs_redirected = false;
  std::uint64_t bytes = 0;  ///< payload bytes moved (0 if it failed)
  std::uint64_t request_tlps = 0;
  std::uint64_t completion_tlps = 0;

  ps_t duration() const { return end - issue; }
  /// Payload Gb/s over issue..end.
  double gbps() const;
  bool uses_link(DeviceId port) const;
  std::size_t hops(HopKind kind) const;
};

/// One DMA for PcieFabric::run().
struct DmaRequest {
  DmaOp op = DmaOp::kWrite;
  DeviceId requester = kNoDevice;
  std::uint64_t address = 0;
  std::uint64_t bytes = 0;
  ps_t issue = 0;
};

/**
 * struct NextHop - where one element of the tree (a switch, a root complex)
 * sends a request after routing it, for the SystemC modules that carry it
 * from element to element.
 * @kUp: up the link into downstream-facing @port (a root port or a switch
 *   downstream port) from below.
 * @kDown: down the link below @port into the switch whose upstream port is
 *   @device.
 * @kEndpoint: down the link below @port to endpoint @device, whose BAR
 *   takes it (terminal).
 * @kMemory, @kMsi: host bridge @host's DRAM or interrupt window (terminal).
 * @kFail: routing failed (the reason is in the route).
 * @host is the host bridge of @port (of the memory for kMemory, kMsi): a root
 * complex may forward peer traffic to a root port of another host bridge.
 */
struct NextHop {
  enum class Kind { kFail, kUp, kDown, kEndpoint, kMemory, kMsi };
  Kind kind = Kind::kFail;
  DeviceId port = kNoDevice;
  DeviceId device = kNoDevice;
  HostBridgeId host = 0;
};

// ---------------------------------------------------------------------------
// The fabric
// ---------------------------------------------------------------------------

/**
 * class PcieFabric - links, switches and root complexes of one machine, with
 * the time every link direction is busy until. Transfers reserve link time in
 * the order the calls are made: a later call cannot pre-empt TLPs an earlier
 * call already put on a link, so run() the transfers that overlap in one batch
 * to have them share links TLP by TLP.
 *
 * Timing of a TLP along its path (cut-through, as pcie-bench and switch
 * vendors quote latency: first bit in to first bit out):
 *  - on a link it starts at the first byte slot at or after it is ready and the
 *    direction is free (PcieLink: FIFO, DLLP and SKP overhead included);
 *  - across a switch it is ready on the egress link `latency` after its first
 *    byte arrived on the ingress link, but not so early that the egress would
 *    run dry: its last byte may not leave before its last byte arrived plus
 *    `latency` (an egress faster than the ingress buffers the difference);
 *  - the root complex is store-and-forward for peer traffic: a TLP is taken in
 *    whole, passes the RC's bandwidth stage (FIFO, payload / p2p_bytes_per_sec)
 *    and is ready on the egress root port p2p_latency later;
 *  - DRAM and BAR completers answer an MRd `read latency` after its last byte
 *    arrived; all its CplDs are ready at once and queue on the first link.
 */
class PcieFabric {
 public:
  PcieFabric(const PciTopology& topology, FabricConfig config);
  ~PcieFabric();
  PcieFabric(const PcieFabric&) = delete;
  PcieFabric& operator=(const PcieFabric&) = delete;

  /// Posted write of @bytes at @dest_addr by endpoint @requester, issued at @now.
  Transfer dma_write(DeviceId requester, std::uint64_t dest_addr, std::uint64_t bytes, ps_t now);
  /// Read of @bytes at @src_addr by endpoint @requester, issued at @now.
  Transfer dma_read(DeviceId requester, std::uint64_t src_addr, std::uint64_t bytes, ps_t now);
  /// Runs a batch of DMAs together: their TLPs share links in time order.
  /// Results in the order of @batch. Throws std::invalid_argument on a
  /// request that is not well formed (zero bytes, requester not an endpoint).
  std::vector<Transfer> run(const std::vector<DmaRequest>& batch);

  // Routing one element at a time: the SystemC switch and root-complex
  // modules route a request as it passes them, and the path they build is
  // timed as a whole (the credits and tags couple its hops TLP by TLP).
  // Whole-path routing (dma_write, run) is these same steps in a loop.
  class RouteInProgress;
  /// A request of @requester for @address (@bytes): its route starts with
  /// the link above it; the next step is the port above (NextHop::kUp).
  NextHop begin_route(RouteInProgress& r, DeviceId requester, std::uint64_t address, std::uint64_t bytes);
  /// The request came up the link into switch downstream port @port: the
  /// switch forwards it to a peer port (ACS permitting) or up.
  NextHop route_switch_up(RouteInProgress& r, DeviceId port);
  /// The request came down the link above switch upstream port @usp.
  NextHop route_switch_down(RouteInProgress& r, DeviceId usp);
  /// The request came up into root port @port; the root complex routes
  /// @address (the IOMMU's translation, when it passed the IOMMU): DRAM, the
  /// interrupt window, or peer to peer down a root port.
  NextHop route_root_complex(RouteInProgress& r, DeviceId port, std::uint64_t address);
  /// Times the request on the route built (its last step a terminal one)
  /// with its completions, as dma_write/dma_read would; a failed route
  /// gives a failed Transfer.
  Transfer run_routed(const DmaRequest& q, RouteInProgress& r);
  /// A CPU load or store to @address entering host bridge @host's root
  /// complex: down the root port whose window claims it (routed as a
  /// request, untimed: the CPU's MMIO cost is its own).
  NextHop begin_mmio(RouteInProgress& r, HostBridgeId host, std::uint64_t address);

  /// A port's ACS Control register written at run time (setpci): routing
  /// of every later TLP follows it (the IOMMU and the kernel see the same
  /// PciTopology write through their own views).
  void set_acs_ctrl(DeviceId port, std::uint16_t ctrl) { topo_.set_acs_ctrl(port, ctrl); }
  /// Whether transfers carry their paths (Transfer::path, completion_path);
  /// on by default. A caller that reads only timing and outcome turns it off.
  void set_record_paths(bool on) { record_paths_ = on; }
  /// "sw0p0--ep0 up", "switch sw0 sw0p0->sw0p1", "ep1 BAR", "hb0 DRAM", ...
  std::string hop_name(const Hop& hop) const;
  /// Ports (root or switch downstream) with a link below them.
  std::vector<DeviceId> link_ports() const;
  bool has_link(DeviceId port) const { return links_.count(port) != 0; }
  /// The port whose link is directly above @dev (an endpoint or switch upstream port).
  DeviceId port_above(DeviceId dev) const;
  const LinkConfig& link_config(DeviceId port) const;
  const WireStats& link_stats(DeviceId port, Direction dir) const;
  /// Flow-control waits of TLPs sent on the link below @port in @dir.
  const CreditStats& credit_stats(DeviceId port, Direction dir) const;
  /// The memory window of a bridge's secondary side: the smallest range that
  /// covers every BAR below it, as resource assignment sizes bridge windows.
  std::optional<AddressRange> memory_window(DeviceId bridge) const;
  /// Payload bytes a host bridge's RC forwarded peer to peer so far.
  std::uint64_t rc_p2p_bytes(HostBridgeId host) const;
  ps_t switch_latency(DeviceId upstream_port) const;
  const HostBridgeParams& host_params(HostBridgeId host) const;
  std::string name_of(DeviceId dev) const;
  std::string host_name(HostBridgeId host) const;

 private:
  /// One receiver's buffer of one credit type. Holders whose release time
  /// is known are in @releases; those still inside the current run() are
  /// counted in @pending_*; TLPs waiting for room in @waiters (run-local ids).
  struct CreditPool {
    std::uint64_t header_limit = 0, data_limit = 0;  // 0: infinite
    std::multimap<ps_t, std::uint64_t> releases;     // time -> data credits freed
    std::uint64_t pending_headers = 0, pending_data = 0;
    std::vector<std::size_t> waiters;
    bool limited() const { return header_limit || data_limit; }
  };
  struct LinkState {
    LinkConfig cfg;
    PcieLink link;
    std::string name;
    /// [direction][0 posted, 1 non-posted, 2 completion]: the receiver's credits.
    std::array<std::array<CreditPool, 3>, 2> credits{};
    std::array<CreditStats, 2> credit_stats{};
  };
  struct RcState {
    HostBridgeParams params;
    ps_t free = 0;  // the P2P bandwidth stage is busy until
    std::uint64_t p2p_bytes = 0;
    ps_t completion_free = 0;  // the DRAM completion stage is busy until
  };
  struct TagPool {
    std::multiset<ps_t> free;   // when each idle tag became free
    std::deque<std::size_t> waiting;  // MRds (run-local ids) waiting for a tag
  };
  /// One element of a route; pointers into links_ / rcs_ (std::map nodes are stable).
  struct Step {
    Hop hop;
    LinkState* link = nullptr;
    RcState* rc = nullptr;
  };
  struct Route {
    bool ok = true;
    std::string error;
    std::vector<Step> steps;
    bool rc = false, rc_p2p = false, acs_redirected = false;
    ps_t completer_latency = 0;  // terminal: read latency of the completer
    int mps = 0;                 // smallest MPS of the links on it
    /// Empty again, keeping the capacity of steps and error.
    void reset() {
      ok = true;
      error.clear();
      steps.clear();
      rc = rc_p2p = acs_redirected = false;
      completer_latency = 0;
      mps = 0;
    }
  };
  /// What a route is looking for: an address (requests) or a device (completions).
  struct Target {
    bool by_address = true;
    std::uint64_t address = 0;
    std::uint64_t bytes = 0;
    DeviceId device = kNoDevice;
  };
  /// The whole-path walk over the single steps.
  void route(NextHop n, const Target& target, Route& r);
  NextHop up_through_switch(Route& r, DeviceId port, const Target& target);
  NextHop down_through_switch(Route& r, DeviceId usp, const Target& target);
  NextHop down_link(Route& r, DeviceId port, const Target& target);
  NextHop root_complex(Route& r, DeviceId rp, const Target& target);
  /// The first root port (of @host only, when given) whose window claims @target.
  std::optional<DeviceId> root_port_claiming(const Target& target, std::optional<HostBridgeId> host) const;
  static NextHop failed(Route& r, std::string why);

  class Run;
  Run& runner();
  Transfer run_one(const DmaRequest& q);

  // Routing walks the tree hop by hop as the ports would; the steps point
  // into links_ and rcs_, hence non-const.
  // Both fill @r from empty (reset() first).
  void route_from_endpoint(DeviceId source, const Target& target, Route& r);
  void route_from_memory(HostBridgeId host, const Target& target, Route& r);
  void add_link(Route& r, DeviceId port, Direction dir);
  void add_switch(Route& r, DeviceId usp, DeviceId from, DeviceId to) const;
  bool claims(DeviceId bridge, const Target& target) const;
  bool is_below(DeviceId dev, DeviceId bridge) const;
  const std::vector<DeviceId>& children(DeviceId bridge) const;
  void validate_address_map() const;

  PciTopology topo_;
  FabricConfig cfg_;
  std::map<DeviceId, LinkState> links_;  // keyed by the port above the link
  std::map<HostBridgeId, RcState> rcs_;
  std::map<DeviceId, AddressRange> windows_;
  std::vector<AddressRange> msi_windows_;  // every host bridge's, for claims()
  std::map<DeviceId, TagPool> tags_;
  std::map<DeviceId, ps_t> next_request_;  // per requester with a request_interval
  bool credit_limits_ = false;             // some receiver advertises finite credits
  bool record_paths_ = true;
  // One Run, reused: its vectors keep their capacity from one DMA to the next.
  std::unique_ptr<Run> run_;
};

/// A request's route while the modules build it (opaque to them).
class PcieFabric::RouteInProgress {
 public:
  bool ok() const { return route_.ok; }
  const std::string& error() const { return route_.error; }
  DeviceId requester() const { return requester_; }

 private:
  friend class PcieFabric;
  Route route_;
  Target target_;
  DeviceId requester_ = kNoDevice;
};

}  // namespace p2psim::hw
