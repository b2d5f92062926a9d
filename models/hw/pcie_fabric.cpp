// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/pcie_fabric.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>

namespace p2psim::hw {

namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

/// Both ends of a link train to what both support (see FabricConfig::links).
LinkConfig negotiate(const LinkConfig& a, const LinkConfig& b) {
  LinkConfig c = a;
  c.gen = std::min(a.gen, b.gen);
  c.lanes = std::min(a.lanes, b.lanes);
  c.mps = std::min(a.mps, b.mps);
  c.mrrs = std::min(a.mrrs, b.mrrs);
  c.rcb = std::min(a.rcb, b.rcb);
  c.addr64 = a.addr64 || b.addr64;
  c.ecrc = a.ecrc && b.ecrc;
  c.completions_in_rcb_chunks = a.completions_in_rcb_chunks || b.completions_in_rcb_chunks;
  return c;
}

bool is_downstream_facing(PciFunctionType t) {
  return t == PciFunctionType::root_port || t == PciFunctionType::switch_downstream_port;
}

/// Exact time `wire_bytes` take on @link, rounded up to a ps.
ps_t wire_time_ps(const PcieLink& link, std::uint64_t wire_bytes) {
  const Rational bt = link.byte_time_ps();
  return (wire_bytes * bt.num + bt.den - 1) / bt.den;
}

}  // namespace

const char* to_string(HopKind kind) {
  switch (kind) {
    case HopKind::kLink: return "link";
    case HopKind::kSwitch: return "switch";
    case HopKind::kRootComplex: return "root_complex";
    case HopKind::kMemory: return "memory";
    case HopKind::kEndpoint: return "endpoint";
  }
  return "?";
}

double Transfer::gbps() const {
  if (end <= issue) return 0;
  return static_cast<double>(bytes) * 8.0 * 1000.0 / static_cast<double>(end - issue);
}

bool Transfer::uses_link(DeviceId port) const {
  for (const auto* hops : {&path, &completion_path})
    for (const Hop& h : *hops)
      if (h.kind == HopKind::kLink && h.device == port) return true;
  return false;
}

std::size_t Transfer::hops(HopKind kind) const {
  std::size_t n = 0;
  for (const auto* hops : {&path, &completion_path})
    for (const Hop& h : *hops) n += h.kind == kind ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------

PcieFabric::PcieFabric(const PciTopology& topology, FabricConfig config)
    : topo_(topology), cfg_(std::move(config)) {
  const auto& devs = topo_.devices();
  auto check_dev = [&](DeviceId d, const char* what) {
    if (d >= devs.size())
      throw std::invalid_argument(std::string("pcie fabric: ") + what + " names device " +
                                  std::to_string(d) + ", not in the topology");
  };
  for (const auto& [d, lc] : cfg_.links) {
    check_dev(d, "links");
    require_valid(lc);
  }
  require_valid(cfg_.default_link);
  for (const auto& [d, lat] : cfg_.switch_latency) {
    check_dev(d, "switch_latency");
    if (devs[d].type != PciFunctionType::switch_upstream_port)
      throw std::invalid_argument("pcie fabric: switch_latency key " + name_of(d) +
                                  " is not a switch upstream port");
  }
  for (const auto& [d, n] : cfg_.read_tags) {
    check_dev(d, "read_tags");
    if (n < 1 || n > kTenBitTagLimit)
      throw std::invalid_argument("pcie fabric: read_tags must be 1..768");
  }
  for (const auto& [d, gap] : cfg_.request_interval) check_dev(d, "request_interval");
  if (cfg_.default_read_tags < 1 || cfg_.default_read_tags > kTenBitTagLimit)
    throw std::invalid_argument("pcie fabric: default_read_tags must be 1..768");
  for (const auto& [h, p] : cfg_.hosts)
    if (h >= topo_.host_bridge_count())
      throw std::invalid_argument("pcie fabric: hosts names host bridge " + std::to_string(h) +
                                  ", not in the topology");
  for (HostBridgeId h = 0; h < topo_.host_bridge_count(); ++h) {
    auto it = cfg_.hosts.find(h);
    rcs_[h].params = it == cfg_.hosts.end() ? HostBridgeParams{} : it->second;
    if (rcs_[h].params.msi.size) msi_windows_.push_back(rcs_[h].params.msi);
  }

  // One link below every root port / switch downstream port with a device on it.
  for (const PciDevice& d : devs) {
    if (!is_downstream_facing(d.type)) continue;
    const auto& kids = children(d.id);
    if (kids.empty()) continue;
    std::optional<LinkConfig> lc;
    auto merge = [&](DeviceId key) {
      auto it = cfg_.links.find(key);
      if (it == cfg_.links.end()) return;
      lc = lc ? negotiate(*lc, it->second) : it->second;
    };
    merge(d.id);
    for (DeviceId k : kids) merge(k);
    const LinkConfig use = lc ? *lc : cfg_.default_link;
    require_valid(use);
    LinkState ls{use, PcieLink(use, cfg_.propagation), name_of(d.id) + "--" + name_of(kids.front())};
    // Upstream traffic lands in the port's buffers, downstream traffic in
    // the device's below (function 0 speaks for a multi-function device).
    const std::pair<DeviceId, Direction> receivers[] = {{d.id, Direction::kUpstream},
                                                        {kids.front(), Direction::kDownstream}};
    for (const auto& [rx, dir] : receivers) {
      auto it = cfg_.credits.find(rx);
      if (it == cfg_.credits.end()) continue;
      const FlowControlCredits& c = it->second;
      const std::uint32_t h[3] = {c.posted_headers, c.non_posted_headers, c.completion_headers};
      const std::uint32_t dd[3] = {c.posted_data, c.non_posted_data, c.completion_data};
      for (int k = 0; k < 3; ++k) {
        // A receiver must take the largest TLP it can get (PCIe 5.0 §2.6.1: data
        // credits at least Max_Payload_Size; MRds carry no data).
        if (k != 1 && dd[k] && dd[k] < data_credits(static_cast<std::uint64_t>(use.mps)))
          throw std::invalid_argument("pcie fabric: " + name_of(rx) + " advertises " + std::to_string(dd[k]) +
                                      " data credits, less than one TLP of MPS " + std::to_string(use.mps) +
                                      " needs (" + std::to_string(data_credits(use.mps)) + ")");
        CreditPool& pool = ls.credits[static_cast<int>(dir)][k];
        pool.header_limit = h[k];
        pool.data_limit = dd[k];
        credit_limits_ = credit_limits_ || pool.limited();
      }
    }
    links_.emplace(d.id, std::move(ls));
  }
  for (const auto& [dev, c] : cfg_.credits) check_dev(dev, "credits");

  for (const auto& [ep, bars] : cfg_.bars) {
    check_dev(ep, "bars");
    if (devs[ep].type != PciFunctionType::endpoint)
      throw std::invalid_argument("pcie fabric: BARs given for " + name_of(ep) +
                                  ", which is not an endpoint behind a port");
    for (const AddressRange& b : bars) {
      if (b.size == 0 || b.end() < b.base)
        throw std::invalid_argument("pcie fabric: empty or wrapping BAR on " + name_of(ep));
      for (DeviceId a = devs[ep].upstream; a != kNoDevice; a = devs[a].upstream) {
        auto it = windows_.find(a);
        if (it == windows_.end()) {
          windows_[a] = b;
        } else {
          const std::uint64_t lo = std::min(it->second.base, b.base);
          const std::uint64_t hi = std::max(it->second.end(), b.end());
          it->second = {lo, hi - lo};
        }
      }
    }
  }
  for (const auto& [ep, lat] : cfg_.bar_read_latency) check_dev(ep, "bar_read_latency");
  validate_address_map();
}

void PcieFabric::validate_address_map() const {
  struct Owned {
    AddressRange range;
    std::string owner;
    DeviceId dev;
  };
  std::vector<Owned> all;
  for (const auto& [ep, bars] : cfg_.bars)
    for (const AddressRange& b : bars) all.push_back({b, name_of(ep) + " BAR", ep});
  for (const auto& [h, rc] : rcs_)
    if (rc.params.dram.size != 0) {
      if (rc.params.dram.end() < rc.params.dram.base)
        throw std::invalid_argument("pcie fabric: DRAM of " + host_name(h) + " wraps");
      all.push_back({rc.params.dram, host_name(h) + " DRAM", kNoDevice});
    }
  for (const auto& [h, rc] : rcs_)  // BARs and DRAM stay out of it; bridge windows may span it (below)
    for (const Owned& o : all)
      if (rc.params.msi.overlaps(o.range))
        throw std::invalid_argument("pcie fabric: " + o.owner + " overlaps " + host_name(h) + "'s MSI window");
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size(); ++j)
      if (all[i].range.overlaps(all[j].range))
        throw std::invalid_argument("pcie fabric: " + all[i].owner + " overlaps " + all[j].owner);
  // A bridge forwards everything in its base/limit window downstream: nothing
  // that is not below it may sit inside it, or address routing would misdeliver.
  for (const auto& [bridge, win] : windows_)
    for (const Owned& o : all)
      if (win.overlaps(o.range) && (o.dev == kNoDevice || !is_below(o.dev, bridge)))
        throw std::invalid_argument("pcie fabric: memory window of " + name_of(bridge) + " [" +
                                    hex(win.base) + ", " + hex(win.end()) + ") covers " +
                                    o.owner + ", which is not below it");
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

std::string PcieFabric::name_of(DeviceId dev) const {
  auto it = cfg_.names.find(dev);
  if (it != cfg_.names.end()) return it->second;
  return dev < topo_.devices().size() ? topo_.device(dev).bdf() : "device" + std::to_string(dev);
}

std::string PcieFabric::host_name(HostBridgeId host) const {
  auto it = cfg_.host_names.find(host);
  return it != cfg_.host_names.end() ? it->second : "host" + std::to_string(host);
}

std::string PcieFabric::hop_name(const Hop& h) const {
  switch (h.kind) {
    case HopKind::kLink:
      return links_.at(h.device).name + (h.direction == Direction::kUpstream ? " up" : " down");
    case HopKind::kSwitch:
      return "switch " + name_of(h.device) + " " + name_of(h.from) + "->" + name_of(h.to);
    case HopKind::kRootComplex:
      return "root complex " + host_name(h.host) + " " + name_of(h.from) + "->" + name_of(h.to) + " p2p";
    case HopKind::kMemory:
      return host_name(h.host) + (h.msi ? " interrupts" : " DRAM");
    case HopKind::kEndpoint:
      return name_of(h.device) + (h.bar ? " BAR" : "");
  }
  return "?";
}

std::vector<DeviceId> PcieFabric::link_ports() const {
  std::vector<DeviceId> out;
  for (const auto& [port, ls] : links_) out.push_back(port);
  return out;
}

DeviceId PcieFabric::port_above(DeviceId dev) const { return topo_.device(dev).upstream; }

const LinkConfig& PcieFabric::link_config(DeviceId port) const {
  auto it = links_.find(port);
  if (it == links_.end())
    throw std::invalid_argument("pcie fabric: no link below " + name_of(port));
  return it->second.cfg;
}

const WireStats& PcieFabric::link_stats(DeviceId port, Direction dir) const {
  auto it = links_.find(port);
  if (it == links_.end())
    throw std::invalid_argument("pcie fabric: no link below " + name_of(port));
  return it->second.link.stats(dir);
}

const CreditStats& PcieFabric::credit_stats(DeviceId port, Direction dir) const {
  auto it = links_.find(port);
  if (it == links_.end())
    throw std::invalid_argument("pcie fabric: no link below " + name_of(port));
  return it->second.credit_stats[static_cast<int>(dir)];
}

std::optional<AddressRange> PcieFabric::memory_window(DeviceId bridge) const {
  auto it = windows_.find(bridge);
  if (it == windows_.end()) return std::nullopt;
  return it->second;
}

std::uint64_t PcieFabric::rc_p2p_bytes(HostBridgeId host) const { return rcs_.at(host).p2p_bytes; }

ps_t PcieFabric::switch_latency(DeviceId upstream_port) const {
  auto it = cfg_.switch_latency.find(upstream_port);
  return it != cfg_.switch_latency.end() ? it->second : cfg_.default_switch_latency;
}

const HostBridgeParams& PcieFabric::host_params(HostBridgeId host) const {
  return rcs_.at(host).params;
}

const std::vector<DeviceId>& PcieFabric::children(DeviceId bridge) const {
  const PciDevice& d = topo_.device(bridge);
  return topo_.bus_devices(d.domain, d.secondary_bus);
}

bool PcieFabric::is_below(DeviceId dev, DeviceId bridge) const {
  for (DeviceId a = topo_.device(dev).upstream; a != kNoDevice; a = topo_.device(a).upstream)
    if (a == bridge) return true;
  return false;
}

/// Does the secondary side of @bridge take @target? Requests: its memory
/// window (base/limit). Completions: its bus range (ID routing), i.e. the
/// requester is below it.
// One window per bridge stands for a real bridge's 32-bit and 64-bit
// windows, so it may span the interrupt window below 4 GiB, which no real
// bridge window covers: an MSI always goes up to the root complex.
bool PcieFabric::claims(DeviceId bridge, const Target& target) const {
  if (!target.by_address) return is_below(target.device, bridge);
  for (const AddressRange& m : msi_windows_)
    if (m.contains(target.address)) return false;
  auto it = windows_.find(bridge);
  return it != windows_.end() && it->second.contains(target.address);
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

NextHop PcieFabric::failed(Route& r, std::string why) {
  r.ok = false;
  r.error = std::move(why);
  return NextHop{};
}

void PcieFabric::add_link(Route& r, DeviceId port, Direction dir) {
  LinkState& ls = links_.at(port);
  Step s;
  s.hop.kind = HopKind::kLink;
  s.hop.device = port;
  s.hop.host = topo_.device(port).host;
  s.hop.direction = dir;
  s.link = &ls;
  r.steps.push_back(std::move(s));
  r.mps = r.mps == 0 ? ls.cfg.mps : std::min(r.mps, ls.cfg.mps);
}

void PcieFabric::add_switch(Route& r, DeviceId usp, DeviceId from, DeviceId to) const {
  Step s;
  s.hop.kind = HopKind::kSwitch;
  s.hop.device = usp;
  s.hop.from = from;
  s.hop.to = to;
  s.hop.host = topo_.device(usp).host;
  s.hop.latency = switch_latency(usp);
  r.steps.push_back(std::move(s));
}

// A TLP that came up the link into switch downstream port @port.
NextHop PcieFabric::up_through_switch(Route& r, DeviceId port, const Target& target) {
  // ACS P2P Request Redirect / Completion Redirect (PCIe 5.0 §6.12.1.1): the
  // ingress downstream port sends peer-bound requests / completions upstream.
  const std::uint16_t redirect_bit =
      target.by_address ? acs::kRequestRedirect : acs::kCompletionRedirect;
  const PciDevice& d = topo_.device(port);
  // A switch never sends a TLP back out of the port it came in through.
  if (claims(port, target))
    return failed(r, "TLP for " + (target.by_address ? hex(target.address) : name_of(target.device)) +
                         " would go back down its ingress port " + name_of(port));
  const DeviceId usp = d.upstream;
  for (DeviceId q : children(usp)) {
    if (q == port || !claims(q, target)) continue;
    if (d.acs_cap && (d.acs_ctrl & redirect_bit)) {
      r.acs_redirected = true;  // redirected upstream, below
      break;
    }
    add_switch(r, usp, port, q);
    return down_link(r, q, target);
  }
  const DeviceId above = topo_.device(usp).upstream;
  add_switch(r, usp, port, usp);
  add_link(r, above, Direction::kUpstream);
  return NextHop{NextHop::Kind::kUp, above, kNoDevice, topo_.device(above).host};
}

// A TLP that came down the link above switch upstream port @usp.
NextHop PcieFabric::down_through_switch(Route& r, DeviceId usp, const Target& target) {
  for (DeviceId q : children(usp))
    if (claims(q, target)) {
      add_switch(r, usp, usp, q);
      return down_link(r, q, target);
    }
  return failed(r, "switch " + name_of(usp) + " has no port for the TLP");
}

// A TLP that leaves downstream-facing @port down its link.
NextHop PcieFabric::down_link(Route& r, DeviceId port, const Target& target) {
  if (!has_link(port)) return failed(r, "nothing below " + name_of(port));
  add_link(r, port, Direction::kDownstream);
  const auto& kids = children(port);
  const PciDevice& first = topo_.device(kids.front());
  const HostBridgeId host = topo_.device(port).host;
  if (first.type == PciFunctionType::switch_upstream_port)
    return NextHop{NextHop::Kind::kDown, port, first.id, host};
  for (DeviceId k : kids) {
    bool hit = false;
    if (!target.by_address) {
      hit = k == target.device;
    } else if (auto it = cfg_.bars.find(k); it != cfg_.bars.end()) {
      for (const AddressRange& b : it->second) {
        if (!b.contains(target.address)) continue;
        if (!b.contains(target.address, target.bytes))
          return failed(r, "transfer at " + hex(target.address) + " runs past the end of " + name_of(k) +
                               "'s BAR");
        hit = true;
      }
    }
    if (!hit) continue;
    Step s;
    s.hop.kind = HopKind::kEndpoint;
    s.hop.bar = target.by_address;
    s.hop.device = k;
    s.hop.host = topo_.device(k).host;
    if (target.by_address) {
      auto lat = cfg_.bar_read_latency.find(k);
      s.hop.latency = lat == cfg_.bar_read_latency.end() ? 0 : lat->second;
      r.completer_latency = s.hop.latency;
    }
    r.steps.push_back(std::move(s));
    return NextHop{NextHop::Kind::kEndpoint, port, k, host};
  }
  return failed(r, "unsupported request: no function below " + name_of(port) + " claims " +
                       (target.by_address ? hex(target.address) : name_of(target.device)));
}

// A TLP that entered the root complex through root port @rp.
NextHop PcieFabric::root_complex(Route& r, DeviceId rp, const Target& target) {
  const HostBridgeId h = topo_.device(rp).host;
  RcState& rc = rcs_.at(h);
  r.rc = true;
  if (target.by_address) {
    if (rc.params.dram.contains(target.address)) {
      if (!rc.params.dram.contains(target.address, target.bytes))
        return failed(r, "transfer at " + hex(target.address) + " runs past the end of " + host_name(h) +
                             " DRAM");
      Step s;
      s.hop.kind = HopKind::kMemory;
      s.hop.host = h;
      s.hop.latency = rc.params.dram_read_latency;
      r.steps.push_back(std::move(s));
      r.completer_latency = rc.params.dram_read_latency;
      return NextHop{NextHop::Kind::kMemory, kNoDevice, kNoDevice, h};
    }
    if (rc.params.msi.contains(target.address, target.bytes)) {
      // An MSI: the interrupt controller takes the posted write at once.
      Step s;
      s.hop.kind = HopKind::kMemory;
      s.hop.msi = true;
      s.hop.host = h;
      r.steps.push_back(std::move(s));
      return NextHop{NextHop::Kind::kMsi, kNoDevice, kNoDevice, h};
    }
    for (const auto& [oh, orc] : rcs_)
      if (orc.params.dram.contains(target.address))
        return failed(r, "DMA from " + host_name(h) + " to " + host_name(oh) +
                             " DRAM: the inter-socket link is not modelled");
  }
  const std::optional<DeviceId> dest = root_port_claiming(target, std::nullopt);
  if (!dest)
    return failed(r, target.by_address ? "unsupported request: nothing claims address " + hex(target.address)
                                       : "no route to " + name_of(target.device));
  const HostBridgeId dh = topo_.device(*dest).host;
  for (HostBridgeId hh : {h, dh})
    if (!rcs_.at(hh).params.p2p_allowed)
      return failed(r, "root complex " + host_name(hh) + " blocks peer-to-peer " + name_of(rp) + " -> " +
                           name_of(*dest));
  Step s;
  s.hop.kind = HopKind::kRootComplex;
  s.hop.from = rp;
  s.hop.to = *dest;
  s.hop.host = h;
  s.hop.latency = rc.params.p2p_latency;
  s.rc = &rc;
  r.steps.push_back(std::move(s));
  r.rc_p2p = true;
  return down_link(r, *dest, target);
}

std::optional<DeviceId> PcieFabric::root_port_claiming(const Target& target,
                                                       std::optional<HostBridgeId> host) const {
  for (const PciDevice& q : topo_.devices())
    if (q.type == PciFunctionType::root_port && (!host || q.host == *host) && claims(q.id, target)) return q.id;
  return std::nullopt;
}

void PcieFabric::route(NextHop n, const Target& target, Route& r) {
  for (;;) {
    switch (n.kind) {
      case NextHop::Kind::kUp:
        n = topo_.device(n.port).type == PciFunctionType::root_port ? root_complex(r, n.port, target)
                                                                    : up_through_switch(r, n.port, target);
        break;
      case NextHop::Kind::kDown: n = down_through_switch(r, n.device, target); break;
      default: return;
    }
  }
}

void PcieFabric::route_from_endpoint(DeviceId source, const Target& target, Route& r) {
  r.reset();
  const DeviceId port = port_above(source);
  add_link(r, port, Direction::kUpstream);
  route(NextHop{NextHop::Kind::kUp, port}, target, r);
}

void PcieFabric::route_from_memory(HostBridgeId host, const Target& target, Route& r) {
  r.reset();
  r.rc = true;
  DeviceId rp = port_above(target.device);
  while (topo_.device(rp).type != PciFunctionType::root_port)
    rp = topo_.device(topo_.device(rp).upstream).upstream;  // DSP -> USP -> port above
  if (topo_.device(rp).host != host) {
    failed(r, "completion from " + host_name(host) + " DRAM to another host bridge");
    return;
  }
  route(down_link(r, rp, target), target, r);
}

// ---------------------------------------------------------------------------
// Routing one element at a time (the SystemC modules)
// ---------------------------------------------------------------------------

NextHop PcieFabric::begin_route(RouteInProgress& p, DeviceId requester, std::uint64_t address,
                                std::uint64_t bytes) {
  p.route_.reset();
  p.requester_ = requester;
  p.target_ = Target{};
  p.target_.address = address;
  p.target_.bytes = bytes;
  if (requester >= topo_.devices().size() || topo_.device(requester).type != PciFunctionType::endpoint ||
      !has_link(port_above(requester)))
    return failed(p.route_, "requester " + name_of(requester) + " is not an endpoint behind a link");
  const DeviceId port = port_above(requester);
  add_link(p.route_, port, Direction::kUpstream);
  return NextHop{NextHop::Kind::kUp, port, kNoDevice, topo_.device(port).host};
}

NextHop PcieFabric::route_switch_up(RouteInProgress& p, DeviceId port) {
  if (!p.route_.ok) return NextHop{};
  if (topo_.device(port).type != PciFunctionType::switch_downstream_port)
    return failed(p.route_, name_of(port) + " is not a switch downstream port");
  return up_through_switch(p.route_, port, p.target_);
}

NextHop PcieFabric::route_switch_down(RouteInProgress& p, DeviceId usp) {
  if (!p.route_.ok) return NextHop{};
  if (topo_.device(usp).type != PciFunctionType::switch_upstream_port)
    return failed(p.route_, name_of(usp) + " is not a switch upstream port");
  return down_through_switch(p.route_, usp, p.target_);
}

NextHop PcieFabric::route_root_complex(RouteInProgress& p, DeviceId port, std::uint64_t address) {
  if (!p.route_.ok) return NextHop{};
  if (topo_.device(port).type != PciFunctionType::root_port)
    return failed(p.route_, name_of(port) + " is not a root port");
  p.target_.address = address;  // from here on, what the IOMMU made of it
  return root_complex(p.route_, port, p.target_);
}

NextHop PcieFabric::begin_mmio(RouteInProgress& p, HostBridgeId host, std::uint64_t address) {
  p.route_.reset();
  p.requester_ = kNoDevice;
  p.target_ = Target{};
  p.target_.address = address;
  p.target_.bytes = 1;
  if (const auto rp = root_port_claiming(p.target_, host)) return down_link(p.route_, *rp, p.target_);
  return failed(p.route_, "unsupported request: no root port of " + host_name(host) + " claims " + hex(address));
}

// ---------------------------------------------------------------------------
// Running transfers: a discrete-event loop over TLPs
// ---------------------------------------------------------------------------

// One object per fabric, reused by every run(): the vectors keep their
// capacity, so a DMA in steady state allocates nothing.
class PcieFabric::Run {
 public:
  explicit Run(PcieFabric& f) : f_(f) {}

  /// Carries @batch[0..n); the results are then transfer(0..n).
  /// With @routed, the single request's route is that one (built by the
  /// modules) rather than routed here; it is consumed.
  void go(const DmaRequest* batch, std::size_t n, Route* routed = nullptr) {
    batch_ = batch;
    routed_ = routed;
    if (xfers_.size() < n) xfers_.resize(n);
    for (std::size_t i = 0; i < n; ++i) reset(xfers_[i]);
    tlps_.clear();
    mrds_.clear();
    queue_.clear();
    seq_ = 0;
    in_tlp_order_ = false;
    for (std::size_t i = 0; i < n; ++i) start(i);
    if (n == 1 && batch[0].op == DmaOp::kWrite && !f_.credit_limits_) {
      // One posted write, no credit limits: each TLP is ready at every hop
      // no earlier than the one before it (FIFO wires, FIFO RC stage), so
      // every wire, RC stage and issue gate sees the TLPs in index order
      // whatever the event order, ties included (the earlier TLP's event was
      // pushed first). Running each TLP to its completer in turn gives the
      // event loop's result without the heap. With credits a TLP may wait
      // for room and be woken by another's release; the argument does not
      // cover that, so those runs keep the event loop.
      in_tlp_order_ = true;
      // The MWrs' first events, all at the issue time, went in with rising
      // seq: pushed in order, the min-heap is that order.
      for (const Event& first : queue_) {
        Event e = first;
        for (;;) {
          has_next_ = false;
          dispatch(e);
          if (!has_next_) break;
          e = next_;
        }
      }
      queue_.clear();
    }
    while (!queue_.empty()) {
      std::pop_heap(queue_.begin(), queue_.end(), std::greater<Event>());
      const Event e = queue_.back();
      queue_.pop_back();
      dispatch(e);
    }
    std::string stuck;
    if (f_.credit_limits_)  // only limited pools ever hold or queue TLPs
      for (auto& [port, ls] : f_.links_)
        for (auto& dir : ls.credits)
          for (CreditPool& pool : dir)
            if (pool.pending_headers || !pool.waiters.empty()) {
              stuck = ls.name;
              // Run-local ids and holders must not leak into the next run().
              pool.pending_headers = pool.pending_data = 0;
              pool.waiters.clear();
            }
    for (auto& [dev, tags] : f_.tags_) tags.waiting.clear();
    if (!stuck.empty())
      throw std::logic_error("pcie fabric: TLPs still hold or wait for credits at " + stuck +
                             " after the run (a credit deadlock)");
  }
  Transfer& transfer(std::size_t i) { return xfers_[i].t; }

 private:
  struct Xfer {
    Transfer t;
    Route req, cpl;
    LinkConfig cpl_cfg{};
  };
  struct Tlp {
    std::size_t xfer;
    bool completion;
    std::size_t mrd;  // reads: which MRd it is or answers
    TlpKind kind;
    std::uint64_t payload;  // wire payload bytes (whole DWs)
    std::size_t step = 0;
    bool issued = false;         // a request past its requester's issue-rate gate
    CreditPool* held = nullptr;  // the receiver buffer it sits in (limited pools only)
    std::uint64_t held_data = 0;
    ps_t waiting_since = kNotWaiting;
  };
  static constexpr ps_t kNotWaiting = ~ps_t{0};
  struct Mrd {
    std::size_t xfer;
    TlpChunk chunk;
    std::size_t pending = 0;  // CplDs not yet arrived
  };
  enum class EventKind { kHop, kIssue, kDeliver };
  struct Event {
    ps_t time;
    std::uint64_t seq;
    EventKind kind;
    std::size_t id;  // a Tlp (kHop, kDeliver) or an Mrd (kIssue)
    bool operator>(const Event& o) const {
      return time != o.time ? time > o.time : seq > o.seq;
    }
  };

  void dispatch(const Event& e) {
    switch (e.kind) {
      case EventKind::kHop: hop(e.id, e.time); break;
      case EventKind::kIssue: issue(e.id, e.time); break;
      case EventKind::kDeliver: deliver(e.id, e.time); break;
    }
  }
  void push(EventKind kind, ps_t time, std::size_t id) {
    if (in_tlp_order_) {  // the TLP being run is the only one with an event
      if (has_next_) throw std::logic_error("pcie fabric: two events at once in TLP order");
      next_ = Event{time, seq_++, kind, id};
      has_next_ = true;
      return;
    }
    queue_.push_back(Event{time, seq_++, kind, id});
    std::push_heap(queue_.begin(), queue_.end(), std::greater<Event>());
  }
  // Empty again, keeping what its vectors and strings had allocated.
  static void reset(Xfer& x) {
    Transfer& t = x.t;
    std::vector<Hop> path = std::move(t.path), cpath = std::move(t.completion_path);
    std::string error = std::move(t.error);
    t = Transfer{};
    path.clear();
    cpath.clear();
    error.clear();
    t.path = std::move(path);
    t.completion_path = std::move(cpath);
    t.error = std::move(error);
    x.req.reset();
    x.cpl.reset();
    x.cpl_cfg = LinkConfig{};
  }
  std::size_t new_tlp(std::size_t xfer, bool completion, std::size_t mrd, TlpKind kind,
                      const TlpChunk& c) {
    tlps_.push_back(Tlp{xfer, completion, mrd, kind,
                        kind == TlpKind::kMemRead ? 0 : 4 * payload_dwords(c.address, c.bytes)});
    return tlps_.size() - 1;
  }
  void record(const Route& r, std::vector<Hop>& out) const {
    if (!f_.record_paths_) return;
    for (const Step& s : r.steps) out.push_back(s.hop);
  }

  void start(std::size_t i) {
    const DmaRequest& q = batch_[i];
    Xfer& x = xfers_[i];
    Transfer& t = x.t;
    t.op = q.op;
    t.requester = q.requester;
    t.address = q.address;
    t.issue = t.start = t.end = q.issue;
    if (q.bytes == 0) throw std::invalid_argument("pcie fabric: zero-byte DMA");
    if (q.requester >= f_.topo_.devices().size() ||
        f_.topo_.device(q.requester).type != PciFunctionType::endpoint ||
        !f_.has_link(f_.port_above(q.requester)))
      throw std::invalid_argument("pcie fabric: requester " + f_.name_of(q.requester) +
                                  " is not an endpoint behind a link");
    if (q.address + q.bytes < q.address)
      throw std::invalid_argument("pcie fabric: DMA wraps the address space");

    if (routed_) {
      std::swap(x.req, *routed_);  // keeps both capacities
    } else {
      Target target;
      target.address = q.address;
      target.bytes = q.bytes;
      f_.route_from_endpoint(q.requester, target, x.req);
    }
    record(x.req, t.path);
    if (x.req.ok && q.op == DmaOp::kRead) {
      Target back;
      back.by_address = false;
      back.device = q.requester;
      const Step& term = x.req.steps.back();
      if (term.hop.kind == HopKind::kMemory)
        f_.route_from_memory(term.hop.host, back, x.cpl);
      else
        f_.route_from_endpoint(term.hop.device, back, x.cpl);
      record(x.cpl, t.completion_path);
    }
    const Route* failed = !x.req.ok ? &x.req : (q.op == DmaOp::kRead && !x.cpl.ok) ? &x.cpl : nullptr;
    if (failed) {
      t.ok = false;
      t.error = failed->error;
      return;
    }
    t.crossed_root_complex = x.req.rc || x.cpl.rc;
    t.rc_peer_forwarded = x.req.rc_p2p || x.cpl.rc_p2p;
    t.acs_redirected = x.req.acs_redirected || x.cpl.acs_redirected;
    t.bytes = q.bytes;
    t.start = std::numeric_limits<ps_t>::max();

    // The requester splits by its own Device Control settings; MPS is the
    // smallest along the path (Linux configures one MPS per hierarchy anyway).
    LinkConfig rq = x.req.steps.front().link->cfg;
    rq.mps = x.req.mps;
    rq.rcb = std::min(rq.rcb, rq.mps);
    if (q.op == DmaOp::kWrite) {
      split_write(rq, q.address, q.bytes, chunks_);
      for (const TlpChunk& c : chunks_) {
        push(EventKind::kHop, q.issue, new_tlp(i, false, 0, TlpKind::kMemWrite, c));
        ++t.request_tlps;
      }
      return;
    }
    // The completer splits by the RCB of its own link and the path's MPS.
    x.cpl_cfg = x.cpl.steps.front().link->cfg;
    x.cpl_cfg.mps = x.cpl.mps;
    x.cpl_cfg.mrrs = rq.mrrs;
    x.cpl_cfg.rcb = std::min(x.cpl_cfg.rcb, x.cpl_cfg.mps);
    split_read_requests(rq, q.address, q.bytes, chunks_);
    for (const TlpChunk& c : chunks_) {
      mrds_.push_back(Mrd{i, c});
      push(EventKind::kIssue, q.issue, mrds_.size() - 1);
      ++t.request_tlps;
    }
  }

  PcieFabric::TagPool& pool(DeviceId requester) {
    auto it = f_.tags_.find(requester);
    if (it != f_.tags_.end()) return it->second;
    auto n = f_.cfg_.read_tags.find(requester);
    const int tags = n == f_.cfg_.read_tags.end() ? f_.cfg_.default_read_tags : n->second;
    TagPool& p = f_.tags_[requester];
    for (int k = 0; k < tags; ++k) p.free.insert(0);
    return p;
  }

  // An MRd wants to go out at @t: it needs a free tag.
  void issue(std::size_t m, ps_t t) {
    TagPool& p = pool(xfers_[mrds_[m].xfer].t.requester);
    if (p.free.empty()) {
      p.waiting.push_back(m);
      return;
    }
    const ps_t free_at = *p.free.begin();
    p.free.erase(p.free.begin());
    send_mrd(m, std::max(t, free_at));
  }
  void send_mrd(std::size_t m, ps_t t) {
    push(EventKind::kHop, t, new_tlp(mrds_[m].xfer, false, m, TlpKind::kMemRead, mrds_[m].chunk));
  }
  // The last CplD of an MRd arrived at @t: its tag is free again.
  void release_tag(DeviceId requester, ps_t t) {
    TagPool& p = pool(requester);
    if (!p.waiting.empty()) {
      const std::size_t m = p.waiting.front();
      p.waiting.pop_front();
      send_mrd(m, t);
    } else {
      p.free.insert(t);
    }
  }

  static int credit_type(TlpKind k) {
    return k == TlpKind::kMemWrite ? 0 : k == TlpKind::kMemRead ? 1 : 2;
  }
  /// Room for TLP @id in @pool at @t? If not, it waits: a retry at the
  /// earliest known release that makes room, else on the pool's waiters.
  bool acquire(CreditPool& pool, std::size_t id, ps_t t) {
    Tlp& p = tlps_[id];
    // A TLP larger than the whole buffer (an unaligned MPS chunk is one DW
    // over) takes all of it rather than waiting forever.
    std::uint64_t need = data_credits(p.payload);
    if (pool.data_limit) need = std::min(need, pool.data_limit);
    while (!pool.releases.empty() && pool.releases.begin()->first <= t) pool.releases.erase(pool.releases.begin());
    std::uint64_t headers = pool.releases.size() + pool.pending_headers, data = pool.pending_data;
    for (const auto& [when, d] : pool.releases) data += d;
    auto fits = [&] {
      return (!pool.header_limit || headers + 1 <= pool.header_limit) && (!pool.data_limit || data + need <= pool.data_limit);
    };
    if (fits()) {
      ++pool.pending_headers;
      pool.pending_data += need;
      p.held = &pool;
      p.held_data = need;
      return true;
    }
    if (p.waiting_since == kNotWaiting) p.waiting_since = t;
    for (const auto& [when, d] : pool.releases) {
      --headers;
      data -= d;
      if (fits()) {
        push(EventKind::kHop, when, id);
        return false;
      }
    }
    pool.waiters.push_back(id);
    return false;
  }
  /// @p leaves the receiver buffer it held at @t: waiters retry then.
  void release(Tlp& p, ps_t t) {
    CreditPool* pool = p.held;
    if (!pool) return;
    p.held = nullptr;
    --pool->pending_headers;
    pool->pending_data -= p.held_data;
    pool->releases.emplace(t, p.held_data);
    for (std::size_t w : pool->waiters) push(EventKind::kHop, t, w);
    pool->waiters.clear();
  }

  void hop(std::size_t id, ps_t t) {
    Tlp& p = tlps_[id];
    Xfer& x = xfers_[p.xfer];
    const Route& r = p.completion ? x.cpl : x.req;
    const Step& s = r.steps[p.step];
    if (!p.completion && p.step == 0 && !p.issued) {
      // The requester's DMA engine issues one request per interval at most.
      p.issued = true;
      auto gap = f_.cfg_.request_interval.find(x.t.requester);
      if (gap != f_.cfg_.request_interval.end() && gap->second) {
        ps_t& next = f_.next_request_[x.t.requester];
        const ps_t at = std::max(t, next);
        next = at + gap->second;
        if (at > t) {
          push(EventKind::kHop, at, id);
          return;
        }
      }
    }
    if (s.hop.kind == HopKind::kRootComplex) {
      // Store-and-forward through the RC's peer-to-peer stage.
      RcState& rc = *s.rc;
      const ps_t begin = std::max(t, rc.free);
      release(p, begin);  // out of the root port's buffer into the stage
      const std::uint64_t bw = rc.params.p2p_bytes_per_sec;
      const ps_t busy = bw == 0 ? 0 : (p.payload * 1'000'000'000'000ull + bw - 1) / bw;
      rc.free = begin + busy;
      rc.p2p_bytes += p.payload;
      ++p.step;
      push(EventKind::kHop, begin + busy + s.hop.latency, id);
      return;
    }
    // A link: first room at its receiver (the TLP keeps the buffer it is in
    // while it waits: back-pressure), then the wire.
    const int dir = static_cast<int>(s.hop.direction);
    CreditPool& next_pool = s.link->credits[dir][credit_type(p.kind)];
    CreditPool* const was_in = p.held;
    const std::uint64_t was_data = p.held_data;
    if (next_pool.limited()) {
      if (!acquire(next_pool, id, t)) return;
    } else {
      p.held = nullptr;
    }
    if (p.waiting_since != kNotWaiting) {
      // Credits held it back only as far as the wire would have taken it
      // sooner: TLPs ready together queue for the wire either way.
      const ps_t could = std::max(p.waiting_since, s.link->link.free_at(s.hop.direction));
      if (t > could) {
        CreditStats& cs = s.link->credit_stats[dir];
        ++cs.stalled_tlps;
        cs.stall_ps += t - could;
      }
      p.waiting_since = kNotWaiting;
    }
    const PcieLink::Transmission tx = s.link->link.send_tlp(s.hop.direction, t, p.kind, p.payload);
    if (was_in) {  // it left the previous receiver (a switch) as it started here
      CreditPool* const now_in = p.held;
      const std::uint64_t now_data = p.held_data;
      p.held = was_in;
      p.held_data = was_data;
      release(p, tx.start);
      p.held = now_in;
      p.held_data = now_data;
    }
    if (!p.completion && p.step == 0) x.t.start = std::min(x.t.start, tx.start);
    const ps_t first_in = tx.start + f_.cfg_.propagation;  // first byte at the far end
    const ps_t last_in = tx.arrival;                        // last byte at the far end
    const Step& next = r.steps[p.step + 1];
    switch (next.hop.kind) {
      case HopKind::kSwitch: {
        // Cut-through: the egress may start `latency` after the first byte came
        // in, but must not finish before the last byte came in plus `latency`
        // (it would run out of data on a faster egress link).
        const ps_t lat = next.hop.latency;
        const PcieLink& out = r.steps[p.step + 2].link->link;
        const ps_t dur = wire_time_ps(out, tlp_wire_bytes(out.config(), p.kind, p.payload));
        ps_t ready = first_in + lat;
        if (last_in + lat > dur) ready = std::max(ready, last_in + lat - dur);
        p.step += 2;
        push(EventKind::kHop, ready, id);
        return;
      }
      case HopKind::kRootComplex:
        p.step += 1;
        push(EventKind::kHop, last_in, id);
        return;
      case HopKind::kMemory:
      case HopKind::kEndpoint:
        p.step += 1;
        push(EventKind::kDeliver, last_in, id);
        return;
      case HopKind::kLink: break;
    }
    throw std::logic_error("pcie fabric: two links in a row on a route");
  }

  void deliver(std::size_t id, ps_t t) {
    release(tlps_[id], t);  // the completer (or DRAM) took it
    const Tlp p = tlps_[id];  // copy: new_tlp() may reallocate
    Xfer& x = xfers_[p.xfer];
    if (p.kind == TlpKind::kMemWrite) {
      x.t.end = std::max(x.t.end, t);
      return;
    }
    if (p.kind == TlpKind::kMemRead) {
      // The completer answers after its read latency; CplDs go out in order,
      // from host memory no faster than the host makes completions.
      const ps_t ready = t + x.req.completer_latency;
      split_completions(x.cpl_cfg, mrds_[p.mrd].chunk, chunks_);
      mrds_[p.mrd].pending = chunks_.size();
      const Step& term = x.req.steps.back();
      RcState* host = term.hop.kind == HopKind::kMemory ? &f_.rcs_.at(term.hop.host) : nullptr;
      const std::uint64_t rate = host ? host->params.dram_completion_bytes_per_sec : 0;
      for (const TlpChunk& c : chunks_) {
        const std::size_t cpl = new_tlp(p.xfer, true, p.mrd, TlpKind::kCompletionData, c);
        ps_t at = ready;
        if (rate) {
          at = std::max(ready, host->completion_free);
          host->completion_free = at + (tlps_[cpl].payload * 1'000'000'000'000ull + rate - 1) / rate;
        }
        push(EventKind::kHop, at, cpl);
        ++x.t.completion_tlps;
      }
      return;
    }
    x.t.end = std::max(x.t.end, t);
    if (--mrds_[p.mrd].pending == 0) release_tag(x.t.requester, t);
  }

  PcieFabric& f_;
  const DmaRequest* batch_ = nullptr;
  Route* routed_ = nullptr;
  std::vector<Xfer> xfers_;  // may hold more than the batch: results of [0, n) only
  std::vector<Tlp> tlps_;
  std::vector<Mrd> mrds_;
  std::vector<Event> queue_;  // a min-heap on (time, seq)
  std::vector<TlpChunk> chunks_;  // the current split, consumed before the next
  std::uint64_t seq_ = 0;
  bool in_tlp_order_ = false;  // go(): one TLP at a time, its next event in next_
  bool has_next_ = false;
  Event next_{};
};

PcieFabric::~PcieFabric() = default;

PcieFabric::Run& PcieFabric::runner() {
  if (!run_) run_ = std::make_unique<Run>(*this);  // Run is complete only here, below the constructor
  return *run_;
}

std::vector<Transfer> PcieFabric::run(const std::vector<DmaRequest>& batch) {
  Run& r = runner();
  r.go(batch.data(), batch.size());
  std::vector<Transfer> out;
  out.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) out.push_back(std::move(r.transfer(i)));
  return out;
}

Transfer PcieFabric::run_one(const DmaRequest& q) {
  Run& r = runner();
  r.go(&q, 1);
  return std::move(r.transfer(0));
}

Transfer PcieFabric::run_routed(const DmaRequest& q, RouteInProgress& p) {
  if (p.requester_ != q.requester)
    throw std::invalid_argument("pcie fabric: a route built for " + name_of(p.requester_) + " run for " +
                                name_of(q.requester));
  const Route& r = p.route_;
  const HopKind last = r.steps.empty() ? HopKind::kLink : r.steps.back().hop.kind;
  if (r.ok && last != HopKind::kMemory && last != HopKind::kEndpoint)
    throw std::invalid_argument("pcie fabric: a route run before it reached its completer");
  Run& run = runner();
  run.go(&q, 1, &p.route_);
  return std::move(run.transfer(0));
}

Transfer PcieFabric::dma_write(DeviceId requester, std::uint64_t dest_addr, std::uint64_t bytes,
                               ps_t now) {
  return run_one({DmaOp::kWrite, requester, dest_addr, bytes, now});
}

Transfer PcieFabric::dma_read(DeviceId requester, std::uint64_t src_addr, std::uint64_t bytes,
                              ps_t now) {
  return run_one({DmaOp::kRead, requester, src_addr, bytes, now});
}

}  // namespace p2psim::hw
