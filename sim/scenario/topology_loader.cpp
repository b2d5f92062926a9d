// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "scenario/topology_loader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <filesystem>

#include "hw/p2pdma_distance.h"
#include "scenario/endpoint_models.h"
#include "common/kernel_bug.h"
#include "scenario/strict_yaml.h"
#include "output/trace_writer.h"

namespace p2psim {

namespace {

constexpr hw::AddressRange kX86Hole{0xfec00000ULL, 0x100000000ULL - 0xfec00000ULL};
/// Where the platform puts host DRAM (Platform::kDramBase): BARs stay below.
constexpr uint64_t kHostMemoryBase = 0x1000000000ULL;


LinkSpec parse_link(const StrictNode& n) {
  LinkSpec l;
  auto m = n.as_map("link");
  if (m.has("gen")) l.gen = static_cast<int>(m.required("gen").as_int("gen", 1, 6));
  if (m.has("lanes")) {
    auto v = m.required("lanes");
    l.lanes = static_cast<int>(v.as_int("lanes", 1, 32));
    if (l.lanes & (l.lanes - 1) || l.lanes == 32) v.fail("lanes must be 1, 2, 4, 8 or 16");
  }
  auto pow2 = [&](const char* key, int lo, int hi, int* out) {
    if (!m.has(key)) return;
    auto v = m.required(key);
    *out = static_cast<int>(v.as_int(key, lo, hi));
    if (*out & (*out - 1)) v.fail(fmt::format("{} must be a power of two between {} and {}", key, lo, hi));
  };
  pow2("mps", 128, 4096, &l.mps);
  pow2("mrrs", 128, 4096, &l.mrrs);
  pow2("rcb", 64, 128, &l.rcb);
  if (m.has("credits")) {
    // PCIe flow-control credits: [headers, data in 16-byte units] per type; 0 = infinite.
    auto c = m.required("credits").as_map("credits");
    hw::FlowControlCredits fc;
    auto pair = [&](const char* key, std::uint32_t* hdr, std::uint32_t* data, bool carries_data) {
      if (!c.has(key)) return;
      auto v = c.required(key);
      const auto items = v.items(key);
      if (items.size() != 2) v.fail(fmt::format("credits.{} needs [HEADERS, DATA] (DATA in 16-byte units; 0 = infinite)", key));
      *hdr = static_cast<std::uint32_t>(items[0].as_uint(fmt::format("credits.{} headers", key), 0, 4095));
      *data = static_cast<std::uint32_t>(items[1].as_uint(fmt::format("credits.{} data", key), 0, 65535));
      const std::uint64_t one_tlp = hw::data_credits(static_cast<std::uint64_t>(l.mps));
      if (carries_data && *data && *data < one_tlp)
        items[1].fail(fmt::format("credits.{} data: {} is less than one TLP of MPS {} needs ({} credits of 16 bytes)",
                                  key, *data, l.mps, one_tlp));
    };
    pair("posted", &fc.posted_headers, &fc.posted_data, true);
    pair("non_posted", &fc.non_posted_headers, &fc.non_posted_data, false);
    pair("completion", &fc.completion_headers, &fc.completion_data, true);
    c.finish();
    l.credits = fc;
  }
  m.finish();
  return l;
}

uint16_t parse_acs(const StrictNode& n) {
  std::vector<std::string> names;
  for (const auto& item : n.items("acs")) names.push_back(item.as_enum("ACS control bit", acs_bit_names()));
  return acs_bits(names);
}

hw::PciIds parse_ids(const StrictNode& n) {
  auto m = n.as_map("ids");
  hw::PciIds ids;
  ids.vendor = static_cast<uint16_t>(m.required("vendor").as_uint("vendor", 0, 0xffff));
  ids.device = static_cast<uint16_t>(m.required("device").as_uint("device", 0, 0xffff));
  m.finish();
  return ids;
}

class TreeParser {
 public:
  explicit TreeParser(TopologySpec& t) : t_(t) {}

  void name(hw::DeviceId id, const StrictNode& at, const std::string& n) {
    for (const auto& [other, existing] : t_.names)
      if (existing == n) at.fail(fmt::format("duplicate device name '{}'", n));
    t_.names[id] = n;
  }

  uint8_t take_bus(const StrictNode& at) {
    if (next_bus_ == 0) at.fail("more than 255 buses in one domain");
    return next_bus_++;
  }

  /// One device below a port: `{switch: ...}` or `{endpoint: ...}`.
  void below(const StrictNode& n, hw::DeviceId port) {
    auto entries = n.entries("device below a port");
    if (entries.size() != 1)
      n.fail("below a port goes one device: a map with one key, 'switch' or 'endpoint'");
    const auto& e = entries[0];
    const std::string kind = e.key_node.as_enum("device", {"switch", "endpoint"});
    if (kind == "switch")
      parse_switch(e.value, port);
    else
      parse_endpoint(e.value, port);
  }

  void parse_switch(const StrictNode& n, hw::DeviceId port) {
    auto m = n.as_map("switch");
    const uint8_t bus = take_bus(n);
    hw::DeviceId usp = wrap([&] { return t_.pci.add_switch_upstream_port(port, bus); }, n);
    name(usp, n, m.required("name").as_string("switch name"));
    if (m.has("link")) t_.links[usp] = parse_link(m.required("link"));
    if (m.has("acs")) t_.pci.set_acs_ctrl(usp, parse_acs(m.required("acs")));
    auto ports = m.required("ports").items("switch ports");
    if (ports.empty() || ports.size() > 32) m.required("ports").fail("a switch has 1 to 32 downstream ports");
    for (size_t i = 0; i < ports.size(); ++i) {
      auto p = ports[i].as_map("downstream port");
      const uint8_t sec = take_bus(ports[i]);
      hw::DeviceId dsp = wrap([&] { return t_.pci.add_switch_downstream_port(usp, static_cast<uint8_t>(i), sec); }, ports[i]);
      name(dsp, ports[i], p.required("name").as_string("port name"));
      if (p.has("acs")) t_.pci.set_acs_ctrl(dsp, parse_acs(p.required("acs")));
      if (p.has("link")) t_.links[dsp] = parse_link(p.required("link"));
      if (p.has("below")) below(p.required("below"), dsp);
      p.finish();
    }
    m.finish();
  }

  void parse_endpoint(const StrictNode& n, hw::DeviceId port) {
    auto m = n.as_map("endpoint");
    const std::string nm = m.required("name").as_string("endpoint name");
    const std::string kind = m.required("kind").as_enum("endpoint kind", {"nvme", "p2pmem", "gpu", "plain", "tlm"});
    int functions = 1;
    if (m.has("functions")) functions = static_cast<int>(m.required("functions").as_int("functions", 1, 8));
    uint64_t bar = 0;
    const char* bar_key = kind == "nvme" ? "cmb" : kind == "plain" ? nullptr : "bar";
    if (bar_key && m.has(bar_key)) bar = m.required(bar_key).as_bytes(bar_key, 4096, 1ULL << 40);
    if (bar && (bar & (bar - 1))) m.required(bar_key).fail(fmt::format("{} must be a power of two (a BAR size)", bar_key));
    EndpointSpec model;  // kind tlm: where its model comes from
    if (kind == "tlm") {
      // Its name is the SystemC module's: an identifier, clear of ours.
      bool ident = !nm.empty() && !std::isdigit(static_cast<unsigned char>(nm[0]));
      for (char c : nm) ident &= std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      if (!ident || nm.rfind("p2psim_", 0) == 0 || nm == "p2pdma_sim")
        m.required("name").fail("a tlm endpoint's name is its SystemC module's: letters, digits and '_', not "
                                "starting with a digit or 'p2psim_', and not 'p2pdma_sim' (the simulator's own)");
      if (functions != 1) m.required("functions").fail("a tlm endpoint is one function (its model is one module)");
      if (!bar) bar = 4096;
      model.mmio_bar_size = bar;
      bar = 0;
      parse_model_source(m, model);
    }
    hw::PciIds ids;
    if (m.has("ids")) ids = parse_ids(m.required("ids"));
    std::string drive = "gen4x4";
    if (kind == "nvme" && m.has("drive"))
      drive = m.required("drive").as_enum("drive", {"gen4x4", "optane", "p3700", "p4500", "mqsim"});
    int read_tags = 0;
    ps_t request_interval = 0;
    if (m.has("dma")) {
      // The device's DMA engine: outstanding reads (8-bit tags: 256; 10-bit: 768)
      // and how many requests it can issue per microsecond.
      auto d = m.required("dma").as_map("dma");
      if (d.has("read_tags")) read_tags = static_cast<int>(d.required("read_tags").as_int("dma.read_tags", 1, 768));
      if (d.has("requests_per_us")) {
        const uint64_t r = d.required("requests_per_us").as_uint("dma.requests_per_us", 1, 1000000);
        request_interval = (1000000ULL + r - 1) / r;  // ps between two requests
      }
      d.finish();
    }
    for (int f = 0; f < functions; ++f) {
      hw::DeviceId dev = wrap([&] { return t_.pci.add_endpoint(port, static_cast<uint8_t>(f), ids); }, n);
      const std::string fname = functions == 1 ? nm : fmt::format("{}.f{}", nm, f);
      name(dev, n, fname);
      EndpointSpec ep;
      ep.name = fname;
      ep.kind = kind;
      ep.device = dev;
      ep.function = f;
      ep.p2p_bar_size = bar;
      ep.drive = drive;
      ep.read_tags = read_tags;
      ep.request_interval = request_interval;
      ep.model = model.model;
      ep.library = model.library;
      ep.params = model.params;
      ep.mmio_bar_size = model.mmio_bar_size;
      ep.file = n.file();
      ep.line = n.line();
      ep.column = n.column();
      if (const uint64_t size = ep.bar_size()) {
        next_bar_ = (next_bar_ + size - 1) & ~(size - 1);
        // Firmware keeps BARs out of x86's interrupt and firmware hole below
        // 4 GiB (IOAPIC, the MSI window at 0xfee00000, the BIOS).
        if (next_bar_ < kX86Hole.end() && next_bar_ + size > kX86Hole.base)
          next_bar_ = (kX86Hole.end() + size - 1) & ~(size - 1);
        if (next_bar_ + size > kHostMemoryBase)
          n.fail(fmt::format("the BARs placed so far and this one's {} bytes reach past {:#x}, where host memory "
                             "begins: make them smaller", size, kHostMemoryBase));
        ep.bar_phys = next_bar_;
        next_bar_ += size;
      }
      t_.endpoints.push_back(ep);
    }
    if (m.has("acs")) {
      const uint16_t ctrl = parse_acs(m.required("acs"));
      for (auto& ep : t_.endpoints)
        if (ep.name == nm || ep.name.rfind(nm + ".f", 0) == 0) t_.pci.set_acs_ctrl(ep.device, ctrl);
    }
    m.finish();
  }

  /// `model:` (built in, or inside `library:`, a path relative to the
  /// file) and `params:` of a tlm endpoint.
  static void parse_model_source(const StrictNode& m, EndpointSpec& ep) {
    auto mn = m.required("model");
    ep.model = mn.as_string("model");
    if (m.has("library")) {
      auto ln = m.required("library");
      std::filesystem::path path = ln.as_string("library");
      if (path.is_relative()) path = std::filesystem::absolute(std::filesystem::path(ln.file()).parent_path() / path);
      ep.library = path.lexically_normal().string();
      const std::string why = check_endpoint_library(ep.library);
      if (!why.empty()) ln.fail(why);
    } else {
      mn.as_known_name("built-in endpoint model", builtin_endpoint_models(),
                       "built in: " + fmt::format("{}", fmt::join(builtin_endpoint_models(), ", ")) +
                           "; or name a shared library with 'library:'");
    }
    if (m.has("params"))
      for (const auto& e : m.required("params").entries("params")) {
        if (!e.value.is_scalar()) e.value.fail("an endpoint parameter is a scalar (a number or a word)");
        ep.params[e.key] = e.value.as_string(e.key);
      }
  }

  template <typename F>
  hw::DeviceId wrap(F f, const StrictNode& at) {
    try {
      return f();
    } catch (const ModelBug& e) {
      at.fail(e.what());
    }
  }

  TopologySpec& t_;
  uint8_t next_bus_ = 1;
  uint64_t next_bar_ = 0xe0000000ULL;
};

}  // namespace

const std::vector<std::string>& acs_bit_names() {
  static const std::vector<std::string> names = {"sv", "tb", "rr", "cr", "uf", "ec", "dt"};
  return names;
}

uint16_t acs_bits(const std::vector<std::string>& names) {
  // Same order as acs_bit_names(): PCIe ACS Control register bits 0..6.
  static const uint16_t bits[] = {hw::acs::kSourceValidation, hw::acs::kTranslationBlocking,
                                  hw::acs::kRequestRedirect,  hw::acs::kCompletionRedirect,
                                  hw::acs::kUpstreamForwarding, hw::acs::kEgressControl,
                                  hw::acs::kDirectTranslated};
  uint16_t ctrl = 0;
  for (const auto& n : names)
    for (size_t i = 0; i < acs_bit_names().size(); ++i)
      if (n == acs_bit_names()[i]) ctrl |= bits[i];
  return ctrl;
}

bool is_topology_tree(const StrictNode& m) { return m.has("host_bridges"); }

TopologySpec parse_topology_tree(const StrictNode& m) {
  TopologySpec t;
  t.file = m.file();
  if (m.has("cpu")) {
    auto c = m.required("cpu").as_map("cpu");
    hw::CpuInfo cpu;
    const std::string v = c.required("vendor").as_enum("cpu vendor", {"intel", "amd", "hygon", "zhaoxin", "arm"});
    cpu.x86 = v != "arm";
    cpu.vendor = v == "intel" ? hw::CpuVendor::intel : v == "amd" ? hw::CpuVendor::amd
               : v == "hygon" ? hw::CpuVendor::hygon : v == "zhaoxin" ? hw::CpuVendor::zhaoxin
                              : hw::CpuVendor::other;
    if (c.has("family")) cpu.family = static_cast<unsigned>(c.required("family").as_uint("family", 0, 0xff));
    c.finish();
    t.pci.set_cpu(cpu);
  }
  if (m.has("iommu")) {
    auto io = m.required("iommu").as_map("iommu");
    t.iommu = io.required("enabled").as_bool("enabled");
    if (io.has("mode")) t.iommu_mode = io.required("mode").as_enum("iommu mode", {"strict", "lazy"});
    if (io.has("page_walkers"))
      t.iommu_page_walkers = static_cast<uint32_t>(io.required("page_walkers").as_uint("iommu page_walkers", 0, 64));
    if (io.has("invalidation_wait"))
      t.iommu_invalidation_wait = io.required("invalidation_wait").as_duration_ps("iommu invalidation_wait");
    io.finish();
  }
  TreeParser p(t);
  const auto hbs = m.required("host_bridges").items("host_bridges");
  if (hbs.empty()) m.required("host_bridges").fail("a topology needs at least one host bridge");
  for (size_t h = 0; h < hbs.size(); ++h) {
    auto hb = hbs[h].as_map("host bridge");
    const uint16_t domain = hb.has("domain") ? static_cast<uint16_t>(hb.required("domain").as_uint("domain", 0, 0xffff))
                                             : static_cast<uint16_t>(h);
    p.next_bus_ = 1;
    hw::HostBridgeId id = 0;
    try {
      id = t.pci.add_host_bridge(domain, 0);
    } catch (const ModelBug& e) {
      hbs[h].fail(e.what());
    }
    t.host_names[id] = hb.required("name").as_string("host bridge name");
    if (hb.has("root_device")) {
      const hw::PciIds ids = parse_ids(hb.required("root_device"));
      hw::DeviceId d = p.wrap([&] { return t.pci.add_host_bridge_function(id, 0, 0, ids); }, hbs[h]);
      t.names[d] = t.host_names[id] + " root device";
    }
    TopologySpec::RcForwarding rf;
    bool rc_given = false;
    if (hb.has("dram")) {
      // Host memory as a completer: its read latency (default calibrated to
      // pcie-bench's 546 ns 64 B read) and how fast it makes completions.
      auto d = hb.required("dram").as_map("dram");
      if (d.has("read_latency")) rf.dram_read_latency = d.required("read_latency").as_duration_ps("dram.read_latency");
      if (d.has("completion_mb_per_s"))
        rf.dram_completion_bytes_per_sec =
            d.required("completion_mb_per_s").as_uint("dram.completion_mb_per_s", 1, 1000000) * 1000000ULL;
      d.finish();
      rc_given = true;
    }
    if (hb.has("p2p")) {
      // The root complex's peer-to-peer forwarding: docs/anchors.md has one
      // measurement (7.1 GB/s on a Xeon E5 v4), so it is a parameter.
      auto f = hb.required("p2p").as_map("p2p");
      if (f.has("mb_per_s")) rf.bytes_per_sec = f.required("mb_per_s").as_uint("p2p.mb_per_s", 1, 1000000) * 1000000ULL;
      if (f.has("latency")) {
        rf.latency = f.required("latency").as_duration_ps("p2p.latency");
        rf.latency_given = true;
      }
      f.finish();
      rc_given = true;
    }
    if (rc_given) t.rc_forwarding[id] = rf;
    const auto rps = hb.required("root_ports").items("root_ports");
    for (size_t r = 0; r < rps.size(); ++r) {
      auto rp = rps[r].as_map("root port");
      const uint8_t sec = p.take_bus(rps[r]);
      hw::PciIds ids;
      if (rp.has("ids")) ids = parse_ids(rp.required("ids"));
      hw::DeviceId port = p.wrap([&] { return t.pci.add_root_port(id, static_cast<uint8_t>(r + 1), 0, sec, ids); }, rps[r]);
      p.name(port, rps[r], rp.required("name").as_string("root port name"));
      if (rp.has("acs")) t.pci.set_acs_ctrl(port, parse_acs(rp.required("acs")));
      if (rp.has("link")) t.links[port] = parse_link(rp.required("link"));
      if (rp.has("below")) p.below(rp.required("below"), port);
      rp.finish();
    }
    hb.finish();
  }
  return t;
}

std::string render_topology(const TopologySpec& t, bool json) {
  const auto& pci = t.pci;
  auto name_of = [&](hw::DeviceId d) {
    auto it = t.names.find(d);
    return it == t.names.end() ? std::string("?") : it->second;
  };
  auto acs_str = [](const hw::PciDevice& d) {
    std::string s;
    const std::pair<uint16_t, const char*> bits[] = {{hw::acs::kSourceValidation, "SV"}, {hw::acs::kTranslationBlocking, "TB"},
                                                     {hw::acs::kRequestRedirect, "RR"}, {hw::acs::kCompletionRedirect, "CR"},
                                                     {hw::acs::kUpstreamForwarding, "UF"}, {hw::acs::kEgressControl, "EC"},
                                                     {hw::acs::kDirectTranslated, "DT"}};
    for (const auto& [bit, nm] : bits)
      if (d.acs_cap && (d.acs_ctrl & bit)) s += std::string(s.empty() ? "" : " ") + nm;
    return s;
  };
  // Pairs: every provider with every endpoint function (itself included).
  hw::P2pdmaDistance dist(pci);
  struct PairRow {
    std::string provider, client, type;
    int distance;
  };
  std::vector<PairRow> pairs;
  for (const auto& p : t.endpoints) {
    if (!p.p2p_bar_size) continue;
    for (const auto& c : t.endpoints) {
      int d = -1;
      const hw::MapType mt = dist.calc_map_type_and_dist(p.device, c.device, &d, false);
      pairs.push_back({p.name, c.name, hw::to_string(mt), d});
    }
  }
  const auto& cpu = pci.cpu();
  const char* vendor = cpu.vendor == hw::CpuVendor::intel ? "Intel" : cpu.vendor == hw::CpuVendor::amd ? "AMD"
                     : cpu.vendor == hw::CpuVendor::hygon ? "Hygon" : cpu.vendor == hw::CpuVendor::zhaoxin ? "Zhaoxin" : "other";
  if (json) {
    std::string devs, prs;
    for (const auto& d : pci.devices())
      devs += fmt::format("{}{{\"bdf\":\"{}\",\"name\":{},\"type\":\"{}\",\"acs\":\"{}\"}}", devs.empty() ? "" : ",",
                          d.bdf(), "\"" + json_escape(name_of(d.id)) + "\"", hw::to_string(d.type), acs_str(d));
    for (const auto& r : pairs)
      prs += fmt::format("{}{{\"provider\":\"{}\",\"client\":\"{}\",\"map_type\":\"{}\",\"distance\":{}}}",
                         prs.empty() ? "" : ",", json_escape(r.provider), json_escape(r.client), r.type, r.distance);
    return fmt::format("{{\"cpu\":{{\"vendor\":\"{}\",\"family\":{},\"p2p_through_host_bridge\":{}}},\"devices\":[{}],\"pairs\":[{}]}}\n",
                       vendor, cpu.family, hw::cpu_supports_p2pdma(cpu) ? "true" : "false", devs, prs);
  }
  std::string out = fmt::format("CPU: {} family {:#x}{}\n", vendor, cpu.family,
                                hw::cpu_supports_p2pdma(cpu) ? " (P2P through host bridges allowed: AMD Zen)" : "");
  if (t.iommu) out += fmt::format("IOMMU: on ({})\n", t.iommu_mode);
  // Depth-first tree from each root bus, children in bus order.
  std::function<void(hw::DeviceId, const std::string&, bool)> walk = [&](hw::DeviceId d, const std::string& prefix, bool last) {
    const auto& dev = pci.device(d);
    std::string extra;
    const std::string acs = acs_str(dev);
    if (!acs.empty()) extra += " ACS " + acs;
    auto link = t.links.find(d);
    if (link != t.links.end()) extra += fmt::format(" Gen{} x{}", link->second.gen, link->second.lanes);
    for (const auto& ep : t.endpoints)
      if (ep.device == d) {
        extra += " " + ep.kind;
        if (ep.p2p_bar_size)
          extra += fmt::format(" ({} {} KiB at {:#x})", ep.kind == "nvme" ? "CMB" : "BAR", ep.p2p_bar_size / 1024, ep.bar_phys);
        if (ep.kind == "tlm")
          extra += fmt::format(" model {}{} (registers {} KiB at {:#x})", ep.model,
                               ep.library.empty() ? "" : " from " + ep.library, ep.mmio_bar_size / 1024, ep.bar_phys);
      }
    out += fmt::format("{}{}{} {} [{}]{}\n", prefix, last ? "`-- " : "|-- ", dev.bdf(), name_of(d), hw::to_string(dev.type), extra);
    if (!dev.is_bridge()) return;
    const auto& kids = pci.bus_devices(dev.domain, dev.secondary_bus);
    for (size_t i = 0; i < kids.size(); ++i) walk(kids[i], prefix + (last ? "    " : "|   "), i + 1 == kids.size());
  };
  for (const auto& [id, hname] : t.host_names) {
    const auto& hb = pci.host_bridge(id);
    const hw::DeviceId root = hw::pci_host_bridge_dev(pci, id);
    out += fmt::format("host bridge {} (domain {:04x}){}\n", hname, hb.domain,
                       root != hw::kNoDevice ? fmt::format(", root device {:04x}:{:04x}", pci.device(root).ids.vendor,
                                                           pci.device(root).ids.device)
                                             : "");
    const auto& kids = pci.bus_devices(hb.domain, hb.root_bus);
    for (size_t i = 0; i < kids.size(); ++i) walk(kids[i], "", i + 1 == kids.size());
  }
  out += "\nprovider -> client: map type, distance\n";
  for (const auto& r : pairs)
    out += fmt::format("  {:<14} -> {:<14} {:<16} {}\n", r.provider, r.client, r.type,
                       r.type == "not_supported" || r.distance < 0 ? std::string("-") : std::to_string(r.distance));
  return out;
}

}  // namespace p2psim
