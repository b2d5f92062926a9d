// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "scenario/scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "kernel/fault_sites.h"
#include "kernel/gup.h"
#include "common/hash.h"
#include "scenario/parameters.h"
#include "scenario/strict_yaml.h"

namespace p2psim {

std::string SourcePos::str() const { return fmt::format("{}:{}:{}", file, line, column); }

const char* to_string(OpSpec::Kind k) {
  static const char* const names[] = {"mmap",  "munmap",  "store", "load", "pin",      "unpin",
                                      "unbind", "signal",  "wait",  "sleep", "compute", "alloc",
                                      "free",   "o_direct", "p2pmem_test", "set_acs", "fio",
                                      "mmio_write", "mmio_poll", "wait_irq",
                                      "vfio_open", "vfio_mmap", "vfio_close", "vfio_wait_request", "pci_command",
                                      "dmabuf_export", "dmabuf_close", "rdma_reg_mr", "rdma_write", "rdma_dereg_mr",
                                      "iommufd_map", "iommufd_dma_write", "iommufd_unmap", "p2pmem_find", "surprise_remove", "iommu_group_type",
                                      "p2pmem_test", "p2pmem_test_thread", "p2pmem_test_report"};
  return names[static_cast<int>(k)];
}

const char* op_point(OpSpec::Kind kind) {
  static const std::vector<std::string> points = [] {
    std::vector<std::string> v;
    for (int k = 0; k <= static_cast<int>(OpSpec::Kind::p2pmem_report); ++k)
      v.push_back(std::string("op:") + to_string(static_cast<OpSpec::Kind>(k)));
    return v;
  }();
  return points[static_cast<size_t>(kind)].c_str();
}

const char* errno_name(long e) {
  switch (-e) {
    case 1: return "EPERM";
    case 2: return "ENOENT";
    case 5: return "EIO";
    case 7: return "SIGBUS";
    case 9: return "EBADF";
    case 11: return "SIGSEGV";
    case 12: return "ENOMEM";
    case 14: return "EFAULT";
    case 16: return "EBUSY";
    case 19: return "ENODEV";
    case 22: return "EINVAL";
    case 121: return "EREMOTEIO";
    case 4: return "EINTR";
    case 13: return "EACCES";
    case 17: return "EEXIST";
    case 95: return "EOPNOTSUPP";
    case 24: return "EMFILE";
    case 25: return "ENOTTY";
    case 28: return "ENOSPC";
    case 110: return "ETIMEDOUT";
    default: return "error";
  }
}

std::string OpOutcome::failure() const { return fmt::format("{} {} {}", task, op, errno_name(error)); }

std::vector<std::string> failures_of(const std::vector<OpOutcome>& ops) {
  std::vector<std::string> v;
  for (const auto& o : ops)
    if (o.error) v.push_back(o.failure());
  return v;
}

bool Expectation::failures_match(const std::vector<OpOutcome>& ops) const {
  if (!failures) return true;
  // A set: the same op of a task failing the same way twice (a loop of
  // writes) is one entry, as a list may name it only once.
  std::vector<std::string> got = failures_of(ops);
  std::sort(got.begin(), got.end());
  got.erase(std::unique(got.begin(), got.end()), got.end());
  return got == *failures;
}

bool Expectation::matches(const std::vector<Finding>& found) const {
  std::set<FindingKind> want(kinds.begin(), kinds.end()), got;
  for (const auto& f : found) got.insert(f.kind);
  return want == got;
}

std::string Expectation::str() const {
  std::string s;
  for (auto k : kinds) s += (s.empty() ? "" : " ") + std::string(to_string(k));
  if (s.empty()) s = "clean";
  if (failures) {
    std::string f;
    for (const auto& x : *failures) f += (f.empty() ? "" : ", ") + x;
    s += fmt::format("; failures: {}", f.empty() ? "none" : f);
  }
  return s;
}

const VariantSpec* Scenario::variant(const std::string& n) const {
  for (const auto& v : variants)
    if (v.name == n) return &v;
  return nullptr;
}

namespace {

using fs_path = std::filesystem::path;

SourcePos pos_of(const StrictNode& n) { return {n.file(), n.line(), n.column()}; }

InputError error_at(const SourcePos& p, const std::string& msg) {
  return InputError(p.file, p.line, p.column, msg);
}

const std::vector<std::pair<std::string, OpSpec::Kind>>& op_kinds() {
  static const std::vector<std::pair<std::string, OpSpec::Kind>> kinds = [] {
    std::vector<std::pair<std::string, OpSpec::Kind>> v;
    for (int i = 0; i <= static_cast<int>(OpSpec::Kind::iommu_group_type); ++i)  // internal kinds follow
      v.emplace_back(to_string(static_cast<OpSpec::Kind>(i)), static_cast<OpSpec::Kind>(i));
    return v;
  }();
  return kinds;
}

unsigned parse_gup_flags(const StrictNode& n) {
  unsigned flags = kern::FOLL_PIN;
  for (const auto& f : n.items("pin flags")) {
    const std::string v = f.as_enum("pin flag", {"write", "pci_p2pdma", "longterm", "fast_only", "get"});
    if (v == "write") flags |= kern::FOLL_WRITE;
    if (v == "pci_p2pdma") flags |= kern::FOLL_PCI_P2PDMA;
    if (v == "longterm") flags |= kern::FOLL_LONGTERM;
    if (v == "fast_only") flags |= kern::FOLL_FAST_ONLY;
    if (v == "get") flags = (flags & ~kern::FOLL_PIN) | kern::FOLL_GET;
  }
  return flags;
}

OpSpec parse_op(const StrictNode& item) {
  auto entries = item.entries("operation");
  if (entries.size() != 1)
    item.fail(fmt::format("an operation is a map with exactly one key (the operation), got {} keys",
                          entries.size()));
  const auto& e = entries[0];
  OpSpec op;
  op.pos = pos_of(e.key_node);
  op.kind = e.key_node.as_choice<OpSpec::Kind>("operation", op_kinds());
  const StrictNode& v = e.value;
  using K = OpSpec::Kind;
  switch (op.kind) {
    case K::mmap: {
      auto m = v.as_map("mmap");
      op.provider = m.required("provider").as_string();
      if (m.has("pages")) op.pages = m.required("pages").as_uint("pages", 1, 1 << 20);
      op.buf = m.required("as").as_string();
      m.finish();
      break;
    }
    case K::store:
    case K::load: {
      auto m = v.as_map(to_string(op.kind));
      op.buf = m.required("buf").as_string();
      if (m.has("page")) op.page = m.required("page").as_uint("page", 0, 1 << 20);
      if (op.kind == K::store) op.value = m.required("value").as_uint("value");
      if (op.kind == K::load && m.has("expect")) op.expect = m.required("expect").as_uint("expect");
      m.finish();
      break;
    }
    case K::pin: {
      auto m = v.as_map("pin");
      op.buf = m.required("buf").as_string();
      if (m.has("pages")) op.pages = m.required("pages").as_uint("pages", 1, 1 << 20);
      op.gup_flags = m.has("flags") ? parse_gup_flags(m.required("flags")) : kern::FOLL_PIN;
      m.finish();
      break;
    }
    case K::alloc: {
      auto m = v.as_map("alloc");
      op.provider = m.required("provider").as_string();
      op.size = m.required("size").as_bytes("size", 1);
      op.buf = m.required("as").as_string();
      m.finish();
      break;
    }
    case K::o_direct: {
      auto m = v.as_map("o_direct");
      op.dev = m.required("dev").as_string();
      op.buf = m.required("buf").as_string();
      if (m.has("page")) op.page = m.required("page").as_uint("page", 0, 1 << 20);
      if (m.has("pages")) op.pages = m.required("pages").as_uint("pages", 1, 512);
      if (m.has("offset")) {
        auto o = m.required("offset");
        op.offset = o.as_bytes("offset");
        if (op.offset % 512) o.fail("offset must be a multiple of 512 (O_DIRECT)");
      }
      op.write = m.required("op").as_enum("o_direct op", {"read", "write"}) == "write";
      m.finish();
      break;
    }
    case K::p2pmem_test: {
      auto m = v.as_map("p2pmem_test");
      op.dev = m.required("src").as_string();
      op.dst = m.required("dst").as_string();
      op.provider = m.required("p2pmem").as_string();
      if (m.has("chunks")) op.chunks = m.required("chunks").as_uint("chunks", 1, 1ULL << 32);
      if (m.has("chunk_size")) {
        auto c = m.required("chunk_size");
        op.chunk_size = c.as_bytes("chunk_size", 4096, 2ULL << 20);
        if (op.chunk_size % 4096) c.fail("--size must be a multiple of PAGE_SIZE in p2pmem mode (4 KiB)");
      }
      if (m.has("threads")) op.threads = m.required("threads").as_uint("threads", 1, 64);
      if (op.chunks % op.threads) m.required("threads").fail("--chunks not evenly divisable by --threads!");
      if (m.has("offset")) op.offset = m.required("offset").as_bytes("offset");
      if (m.has("check")) op.check = m.required("check").as_bool("check");
      if (m.has("seed")) op.seed = m.required("seed").as_uint("seed");
      if (m.has("skip_read")) op.skip_read = m.required("skip_read").as_bool("skip_read");
      if (m.has("skip_write")) op.skip_write = m.required("skip_write").as_bool("skip_write");
      if (m.has("overlap")) op.overlap = m.required("overlap").as_bool("overlap");
      if (m.has("duration")) op.duration = m.required("duration").as_duration_ps("duration");
      if (m.has("host_access")) {
        auto h = m.required("host_access").as_map("host_access");
        op.host_access_size = static_cast<int>(h.required("size").as_int("host_access size", -4096, 4096));
        op.host_accesses = h.has("count") ? static_cast<int>(h.required("count").as_int("host_access count", 1, 1 << 20)) : 64;
        h.finish();
      }
      if (m.has("init")) {
        auto i = m.required("init").as_map("init");
        op.init_size = static_cast<uint32_t>(i.required("size").as_uint("init size", 1, 4096));
        op.init_total = i.has("total") ? i.required("total").as_bytes("init total") : 4096;
        if (op.init_total > op.chunks * op.chunk_size) i.fail("--init total size exceeds mmap()'ed size!");
        i.finish();
      }
      if ((op.skip_read || op.skip_write) && op.check)
        m.required("check").fail("can not set --skip-read or --skip-write and --check at the same time (skip-* kills check)");
      if (op.overlap && op.check)
        m.required("check").fail("can not set --overlap and --check at the same time (overlap kills check)");
      m.finish();
      break;
    }
    case K::fio: {
      // fio-like direct I/O between a drive and a p2pmem buffer: `iodepth`
      // threads of synchronous O_DIRECT I/O (fio's psync engine with numjobs),
      // one buffer slot of `bs` each.
      auto m = v.as_map("fio");
      op.fio = true;
      op.provider = m.required("p2pmem").as_string();
      const std::string rw = m.required("rw").as_enum("fio rw", {"read", "write", "randread", "randwrite"});
      const std::string dev = m.required("dev").as_string();
      op.dev = op.dst = dev;
      op.skip_write = rw == "read" || rw == "randread";   // device -> p2pmem only
      op.skip_read = !op.skip_write;                      // p2pmem -> device only
      op.random = rw.rfind("rand", 0) == 0;
      if (m.has("bs")) {
        auto c = m.required("bs");
        op.chunk_size = c.as_bytes("bs", 4096, 2ULL << 20);
        if (op.chunk_size % 4096) c.fail("bs must be a multiple of 4 KiB (the p2pmem buffer is mapped in pages)");
      }
      if (m.has("iodepth")) op.threads = m.required("iodepth").as_uint("iodepth", 1, 64);
      op.chunks = m.required("ios").as_uint("ios", 1, 1ULL << 32);
      if (op.chunks % op.threads) m.required("ios").fail("ios must be a multiple of iodepth (each thread does ios / iodepth)");
      op.span = m.has("size") ? m.required("size").as_bytes("size", op.chunk_size) : op.chunks * op.chunk_size;
      if (op.span % op.chunk_size) m.required("size").fail("size must be a multiple of bs");
      if (op.span < op.threads * op.chunk_size) m.required("size").fail("size must hold iodepth x bs (a region per thread)");
      if (m.has("seed")) op.seed = m.required("seed").as_uint("seed");
      if (m.has("nic")) {
        if (op.skip_write) m.required("nic").fail("nic: the data a write takes comes off the network; it needs rw write or randwrite");
        op.nic = m.required("nic").as_string("nic");
      }
      m.finish();
      break;
    }
    case K::p2pmem_setup:
    case K::p2pmem_thread:
    case K::p2pmem_report:
      break;  // never written in a file: the loader makes them
    case K::p2pmem_find: {
      auto m = v.as_map("p2pmem_find");
      for (const auto& c : m.required("clients").items("clients")) op.clients.push_back(c.as_string("client"));
      if (op.clients.empty()) m.required("clients").fail("p2pmem_find needs at least one client device");
      m.finish();
      break;
    }
    case K::set_acs: {
      auto m = v.as_map("set_acs");
      op.dev = m.required("port").as_string();
      for (const auto& b : m.required("acs").items("acs"))
        op.acs.push_back(b.as_enum("ACS control bit", acs_bit_names()));
      m.finish();
      break;
    }
    case K::mmio_write:
    case K::mmio_poll: {
      auto m = v.as_map(to_string(op.kind));
      op.dev = m.required("dev").as_string("dev");
      auto off = m.required("offset");
      op.offset = off.as_uint("offset", 0, 1ULL << 40);
      if (op.offset % 8) off.fail("offset must be a multiple of 8 (registers are 64-bit: writeq/readq)");
      auto val = m.required("value");
      if (op.kind == K::mmio_write && val.is_map()) {
        auto d = val.as_map("value");
        if (d.has("msi_address")) {
          // The MSI address the irq domain composes for that CPU (x86).
          op.msi_cpu = static_cast<int>(d.required("msi_address").as_uint("msi_address", 0, 255));
        } else {
          // The bus address of a page the task pinned, mapped for the device
          // as its driver would (dma_map_sgtable: a P2P page by map type).
          op.buf = d.required("dma").as_string("dma");
          if (d.has("page")) op.page = d.required("page").as_uint("page", 0, 1 << 20);
        }
        d.finish();
      } else {
        op.value = val.as_uint("value");
      }
      if (op.kind == K::mmio_poll) {
        op.duration = m.has("timeout") ? m.required("timeout").as_duration_ps("timeout") : 10'000'000'000ULL;
        op.interval = m.has("interval") ? m.required("interval").as_duration_ps("interval") : 1'000'000ULL;
        if (!op.interval) m.required("interval").fail("interval must be above 0");
      }
      m.finish();
      break;
    }
    case K::wait_irq: {
      auto m = v.as_map("wait_irq");
      op.dev = m.required("dev").as_string("dev");
      m.finish();
      break;
    }
    case K::vfio_open:
    case K::vfio_close:
    case K::vfio_wait_request:
    case K::rdma_dereg_mr:
    case K::iommufd_unmap:
      op.dev = v.as_string(to_string(op.kind));
      break;
    case K::dmabuf_close:
      op.dmabuf = v.as_string("dmabuf_close");
      break;
    case K::vfio_mmap:
    case K::dmabuf_export: {
      auto m = v.as_map(to_string(op.kind));
      op.dev = m.required("dev").as_string("dev");
      if (m.has("offset")) {
        auto o = m.required("offset");
        op.offset = o.as_bytes("offset");
        if (op.offset % kern::PAGE_SIZE) o.fail("offset must be a multiple of 4 KiB");
      }
      if (m.has("pages")) op.pages = m.required("pages").as_uint("pages", 1, 1 << 20);
      (op.kind == K::vfio_mmap ? op.buf : op.dmabuf) = m.required("as").as_string("as");
      m.finish();
      break;
    }
    case K::pci_command: {
      auto m = v.as_map("pci_command");
      op.dev = m.required("dev").as_string("dev");
      op.memory = m.required("memory").as_bool("memory");
      m.finish();
      break;
    }
    case K::rdma_reg_mr:
    case K::iommufd_map: {
      auto m = v.as_map(to_string(op.kind));
      op.dev = m.required("dev").as_string("dev");
      op.dmabuf = m.required("dmabuf").as_string("dmabuf");
      if (op.kind == K::rdma_reg_mr && m.has("pinned")) op.pinned = m.required("pinned").as_bool("pinned");
      m.finish();
      break;
    }
    case K::rdma_write:
    case K::iommufd_dma_write: {
      auto m = v.as_map(to_string(op.kind));
      op.dev = m.required("dev").as_string("dev");
      op.value = m.required("value").as_uint("value");
      op.duration = m.has("duration") ? m.required("duration").as_duration_ps("duration") : 1'000'000ULL;
      m.finish();
      break;
    }
    case K::munmap:
    case K::free:
      op.buf = v.as_string(to_string(op.kind));
      break;
    case K::iommu_group_type: {
      auto m = v.as_map("iommu_group_type");
      op.dev = m.required("dev").as_string();
      op.text = m.required("type").as_enum("IOMMU group type", {"identity", "DMA", "DMA-FQ", "auto"});
      m.finish();
      break;
    }
    case K::unbind:
    case K::surprise_remove:
      op.provider = v.as_string(to_string(op.kind));
      break;
    case K::signal:
    case K::wait:
      op.event = v.as_string(to_string(op.kind));
      break;
    case K::sleep:
    case K::compute:
      op.duration = v.as_duration_ps(to_string(op.kind));
      break;
    case K::unpin:
      if (!v.is_null()) v.as_enum("unpin", {"all"});
      break;
  }
  return op;
}

/// An optional `key:` naming one of @table's entries (presets, platforms).
template <class Table>
void parse_named(const StrictNode& m, const char* key, const Table& table, std::optional<std::string>& out,
                 SourcePos& pos) {
  if (!m.has(key)) return;
  auto v = m.required(key);
  std::vector<std::string> names;
  for (const auto& e : table) names.push_back(e.name);
  out = v.as_enum(key, names);
  pos = pos_of(v);
}

KernelSpec parse_kernel(const StrictNode& n, bool allow_cpus, int* cpus) {
  KernelSpec k;
  auto m = n.as_map("kernel");
  parse_named(m, "preset", kern::presets(), k.preset, k.preset_pos);
  parse_named(m, "platform", kern::platforms(), k.platform, k.platform_pos);
  if (allow_cpus && m.has("cpus")) *cpus = static_cast<int>(m.required("cpus").as_int("cpus", 1, kern::kMaxCpus));
  if (m.has("knobs")) {
    for (const auto& e : m.required("knobs").entries("knobs")) {
      std::string value = e.value.as_string(fmt::format("knob '{}'", e.key));
      kern::Knobs probe;
      if (auto err = kern::set_knob(probe, e.key, value)) {
        const bool known_name = !kern::knob_value(probe, e.key).empty();
        throw (known_name ? e.value : e.key_node).error(*err);
      }
      k.knobs.emplace_back(e.key, value);
      k.knob_pos.push_back(pos_of(e.value));
    }
  }
  if (m.has("costs")) {
    for (const auto& e : m.required("costs").entries("costs")) {
      ps_t v = e.value.as_duration_ps(fmt::format("cost '{}'", e.key));
      kern::Costs probe = kern::default_costs();
      if (auto err = kern::set_cost(probe, e.key, v)) throw e.key_node.error(*err);
      k.costs.emplace_back(e.key, v);
      k.cost_pos.push_back(pos_of(e.value));
    }
  }
  m.finish();
  return k;
}

}  // namespace

const std::vector<std::string>& preemption_points() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v = {
#include "preemption_points.inc"
    };
    for (int k = 0; k <= static_cast<int>(OpSpec::Kind::p2pmem_report); ++k)
      v.emplace_back(op_point(static_cast<OpSpec::Kind>(k)));
    std::sort(v.begin(), v.end());
    return v;
  }();
  return all;
}

namespace {

Pin parse_pin(const StrictNode& n) {
  auto m = n.as_map("schedule entry");
  Pin p;
  p.where = pos_of(n).str();
  p.task = m.required("task").as_string();
  const std::vector<std::string>& points = preemption_points();
  const char* hint = "`p2pdma-sim list --points` prints them";
  p.at = m.required("at").as_known_name("preemption point", points, hint);
  if (m.has("hit")) p.hit = static_cast<int>(m.required("hit").as_int("hit", 1, 1000000));
  auto u = m.required("until").as_map("until");
  p.until_task = u.required("task").as_string();
  if (u.has("done")) {
    p.until_done = u.required("done").as_bool("done");
    if (!p.until_done) u.required("done").fail("'done' can only be true; use 'passed' to wait for a point");
  }
  if (u.has("passed")) p.until_point = u.required("passed").as_known_name("preemption point", points, hint);
  if (p.until_done == !p.until_point.empty())
    u.fail("'until' needs exactly one of 'passed: POINT' or 'done: true'");
  if (u.has("hit")) p.until_hit = static_cast<int>(u.required("hit").as_int("hit", 1, 1000000));
  u.finish();
  m.finish();
  return p;
}

Expectation parse_expect(const StrictNode& n) {
  Expectation e;
  std::vector<std::pair<std::string, int>> choices = {{"clean", -1}};
  for (auto k : all_finding_kinds()) choices.emplace_back(to_string(k), static_cast<int>(k));
  auto one = [&](const StrictNode& item) { return item.as_choice<int>("expected verdict", choices); };
  if (!n.is_seq()) {
    if (const int v = one(n); v >= 0) e.kinds.push_back(static_cast<FindingKind>(v));
    return e;
  }
  // A list names finding kinds: "clean" in it, or a kind twice, would be
  // silently dropped, so both are errors.
  for (const auto& item : n.items("expect")) {
    const int v = one(item);
    if (v < 0) item.fail("'clean' cannot be part of a list of finding kinds: write 'expect: clean' alone");
    const auto k = static_cast<FindingKind>(v);
    if (std::find(e.kinds.begin(), e.kinds.end(), k) != e.kinds.end())
      item.fail(fmt::format("'{}' is listed twice", to_string(k)));
    e.kinds.push_back(k);
  }
  if (e.kinds.empty()) n.fail("an empty list expects nothing: write 'expect: clean'");
  return e;
}

/**
 * parse_failures() - `failures: none`, or a list of "TASK OP ERROR": the
 * ops of the execution that fail, and how. Tasks must be the scenario's,
 * ops the kinds of ops that task runs, errors names errno_name() gives.
 */
std::vector<std::string> parse_failures(const StrictNode& n, const Scenario& sc) {
  std::vector<std::string> out;
  if (!n.is_seq()) {
    if (n.as_string("failures") != "none")
      n.fail("failures: write 'none' or a list of \"TASK OP ERROR\" (e.g. \"b_main mmap EINVAL\")");
    return out;
  }
  std::vector<std::string> tasks, errors;
  for (const auto& t : sc.tasks) tasks.push_back(t.name);
  for (long e = 1; e < 200; ++e)
    if (std::string(errno_name(-e)) != "error") errors.emplace_back(errno_name(-e));
  for (const auto& item : n.items("failures")) {
    std::istringstream words(item.as_string("failure"));
    std::string task, op, err, extra;
    if (!(words >> task >> op >> err) || (words >> extra))
      item.fail("a failure is \"TASK OP ERROR\", three words (e.g. \"b_main mmap EINVAL\")");
    const auto t = std::find_if(sc.tasks.begin(), sc.tasks.end(), [&](const TaskSpec& ts) { return ts.name == task; });
    if (t == sc.tasks.end()) {
      item.fail(fmt::format("no task '{}'{}", task, did_you_mean(task, tasks)));
    }
    std::vector<std::string> ops;
    for (const auto& o : t->ops) ops.emplace_back(to_string(o.kind));
    if (std::find(ops.begin(), ops.end(), op) == ops.end())
      item.fail(fmt::format("task '{}' runs no '{}' op{}", task, op, did_you_mean(op, ops)));
    if (std::find(errors.begin(), errors.end(), err) == errors.end())
      item.fail(fmt::format("unknown error '{}'{}", err, did_you_mean(err, errors)));
    const std::string f = task + " " + op + " " + err;
    if (std::find(out.begin(), out.end(), f) != out.end()) item.fail(fmt::format("'{}' is listed twice", f));
    out.push_back(f);
  }
  if (out.empty()) n.fail("an empty list expects nothing: write 'failures: none'");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<KnownBug> parse_known(const StrictNode& n) {
  std::vector<KnownBug> out;
  std::set<std::string> names;
  std::vector<std::pair<std::string, std::string>> causes;
  for (const auto& c : all_root_causes()) causes.emplace_back(c.id, c.id);
  for (const auto& item : n.items("known")) {
    auto m = item.as_map("known bug");
    KnownBug b;
    b.pos = pos_of(item);
    const StrictNode name = m.required("name");
    b.name = name.as_string("known bug name");
    if (b.name.empty() || b.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string::npos)
      name.fail(fmt::format("known bug name '{}' must be lower-case letters, digits, '_', '.' or '-'", b.name));
    if (!names.insert(b.name).second) name.fail(fmt::format("known bug '{}' is listed twice", b.name));
    if (m.has("cause") == m.has("signature"))
      m.fail("a known bug needs exactly one of 'cause: ROOT-CAUSE' or 'signature: FINDING-SIGNATURE'");
    if (m.has("cause")) b.cause = m.required("cause").as_choice<std::string>("root cause", causes);
    if (m.has("signature")) {
      const StrictNode sig = m.required("signature");
      b.signature = sig.as_string("finding signature");
      if (b.signature.empty()) sig.fail("a finding signature cannot be empty (copy it from finding.json)");
    }
    if (m.has("about")) b.about = m.required("about").as_string("about");
    m.finish();
    out.push_back(std::move(b));
  }
  return out;
}

void check_references(const Scenario& sc, const StrictNode& root) {
  std::set<std::string> nic_users;  // fio ops driving an rdma_nic: one each
  std::set<std::string> providers, task_names, signaled, vfio, dmabufs, nics, ioas_devs;
  for (const auto& p : sc.providers) {
    if (p.name == kHostBuffer)
      throw error_at(p.pos, fmt::format("the name '{}' is reserved (p2pmem_test and fio use it for a buffer in "
                                        "host memory): rename this p2pmem provider or device", kHostBuffer));
    providers.insert(p.name);
  }
  for (const auto& v : sc.vfio) vfio.insert(v.name);
  std::map<std::string, std::set<std::string>> bufs;  // process -> buffers it maps
  std::set<std::string> allocs;
  for (const auto& t : sc.tasks) {
    if (t.name.rfind("softirq/", 0) == 0)
      throw error_at(t.pos, fmt::format("task name '{}' is reserved: softirq/N is CPU N's softirq context", t.name));
    if (!task_names.insert(t.name).second) throw error_at(t.pos, fmt::format("duplicate task name '{}'", t.name));
    if (t.cpu >= sc.cpus)
      throw error_at(t.pos, fmt::format("task '{}' is on cpu{}, but the kernel has {} CPU(s) (kernel.cpus)",
                                        t.name, t.cpu, sc.cpus));
    for (const auto& op : t.ops) {
      if (op.kind == OpSpec::Kind::mmap) bufs[t.process].insert(op.buf);
      if (op.kind == OpSpec::Kind::alloc) allocs.insert(op.buf);
      if (op.kind == OpSpec::Kind::signal) signaled.insert(op.event);
      if (op.kind == OpSpec::Kind::dmabuf_export) dmabufs.insert(op.dmabuf);
      if (op.kind == OpSpec::Kind::rdma_reg_mr) nics.insert(op.dev);
      if (op.kind == OpSpec::Kind::iommufd_map) ioas_devs.insert(op.dev);
      if (op.kind == OpSpec::Kind::vfio_mmap) bufs[t.process].insert(op.buf);
    }
  }
  // A drive whose link is down ends its requests only through nvme_remove()
  // when pciehp runs it; an unbind that runs nvme_remove() first would need
  // the NVMe I/O timeout (30 s, nvme_timeout()), which is not modelled.
  std::map<std::string, const OpSpec*> unbound;
  for (const auto& t : sc.tasks)
    for (const auto& op : t.ops)
      if (op.kind == OpSpec::Kind::unbind) unbound.emplace(op.provider, &op);
  for (const auto& t : sc.tasks)
    for (const auto& op : t.ops)
      if (op.kind == OpSpec::Kind::surprise_remove && unbound.count(op.provider) && sc.topo)
        for (const auto& ep : sc.topo->endpoints)
          if (ep.kind == "nvme" && ep.name == op.provider)
            throw error_at(unbound.at(op.provider)->pos,
                           fmt::format("'{}' is both unbound and surprise-removed: an NVMe drive's requests to a "
                                       "dead link end through the 30 s I/O timeout when an unbind's nvme_remove() "
                                       "runs before pciehp's, and that timeout is not modelled",
                                       op.provider));
  for (const auto& t : sc.tasks)
    for (const auto& op : t.ops) {
      using K = OpSpec::Kind;
      if ((op.kind == K::mmap || op.kind == K::alloc) && !providers.count(op.provider))
        throw error_at(op.pos, fmt::format("unknown provider '{}' (topology.providers)", op.provider));
      if ((op.kind == K::unbind || op.kind == K::surprise_remove) && !providers.count(op.provider) &&
          !vfio.count(op.provider))
        throw error_at(op.pos, fmt::format("unknown device '{}' (topology.providers or topology.vfio)", op.provider));
      const bool vfio_op = op.kind == K::vfio_open || op.kind == K::vfio_mmap || op.kind == K::vfio_close ||
                           op.kind == K::vfio_wait_request || op.kind == K::pci_command || op.kind == K::dmabuf_export;
      if (vfio_op && !vfio.count(op.dev))
        throw error_at(op.pos, fmt::format("'{}' is not a vfio device of this scenario (topology.vfio)", op.dev));
      if ((vfio_op && op.kind != K::vfio_wait_request) && t.process.empty())
        throw error_at(op.pos, fmt::format("'{}' needs a user process: task '{}' has no 'process'", to_string(op.kind), t.name));
      if ((op.kind == K::rdma_write || op.kind == K::rdma_dereg_mr) && !nics.count(op.dev))
        throw error_at(op.pos, fmt::format("no task registers a memory region on NIC '{}' (rdma_reg_mr)", op.dev));
      if ((op.kind == K::iommufd_dma_write || op.kind == K::iommufd_unmap) && !ioas_devs.count(op.dev))
        throw error_at(op.pos, fmt::format("no task maps a dma-buf into an IOAS for device '{}' (iommufd_map)", op.dev));
      if ((op.kind == K::dmabuf_close || op.kind == K::rdma_reg_mr || op.kind == K::iommufd_map) &&
          !dmabufs.count(op.dmabuf))
        throw error_at(op.pos, fmt::format("no task exports a dma-buf named '{}' (dmabuf_export)", op.dmabuf));
      if (op.kind == K::p2pmem_find) {
        std::set<std::string> devs;
        if (sc.topo)
          for (const auto& [dev, name] : sc.topo->names) devs.insert(name);
        if (!sc.topo) throw error_at(op.pos, "p2pmem_find needs a PCI tree (topology with root ports)");
        for (const auto& c : op.clients)
          if (!devs.count(c)) throw error_at(op.pos, fmt::format("no device named '{}' in the topology", c));
      }
      if (op.kind == K::set_acs) {
        bool found = false;
        if (sc.topo)
          for (const auto& [dev, name] : sc.topo->names) found |= name == op.dev;
        if (!found) throw error_at(op.pos, fmt::format("no port or device named '{}' in the topology", op.dev));
      }
      const bool p2pmem_step = op.kind == K::p2pmem_setup || op.kind == K::p2pmem_thread || op.kind == K::p2pmem_report;
      if (op.kind == K::o_direct || p2pmem_step) {
        std::set<std::string> nvmes;
        if (sc.topo)
          for (const auto& ep : sc.topo->endpoints)
            if (ep.kind == "nvme") nvmes.insert(ep.name);
        for (const std::string* d : {&op.dev, p2pmem_step ? &op.dst : &op.dev})
          if (!nvmes.count(*d))
            throw error_at(op.pos, fmt::format("'{}' is not an NVMe device of this topology", *d));
        if (p2pmem_step && op.provider != kHostBuffer && !providers.count(op.provider))
          throw error_at(op.pos, fmt::format("unknown p2pmem provider '{}' (a provider, or '{}' for a buffer "
                                             "in host memory)", op.provider, kHostBuffer));
        if (t.process.empty())
          throw error_at(op.pos, fmt::format("'{}' needs a user process: task '{}' has no 'process'", to_string(op.kind), t.name));
      }
      if (!op.nic.empty() && op.kind == K::p2pmem_setup) {
        const EndpointSpec* ep = nullptr;
        if (sc.topo)
          for (const auto& e : sc.topo->endpoints)
            if (e.name == op.nic) ep = &e;
        if (!ep || ep->kind != "tlm" || (ep->library.empty() && ep->model != "rdma_nic"))
          throw error_at(op.pos, fmt::format("nic: '{}' is not an rdma_nic endpoint of this topology", op.nic));
        if (!nic_users.insert(op.nic).second)
          throw error_at(op.pos, fmt::format("nic: {} already serves another fio op; its receive queues and "
                                             "vectors are one op's (give this one its own NIC)", op.nic));
        auto q = ep->params.find("queues");
        char* end = nullptr;
        const uint64_t queues = q == ep->params.end() ? 8 : std::strtoull(q->second.c_str(), &end, 0);
        const bool parsed = q == ep->params.end() || (end && *end == '\0');  // else the model reports it
        if (parsed && op.threads > queues)
          throw error_at(op.pos, fmt::format("iodepth {} needs as many receive queues; {} has {}", op.threads, op.nic, queues));
      }
      if (op.kind == K::iommu_group_type) {
        bool found = false;
        if (sc.topo)
          for (const auto& e : sc.topo->endpoints) found |= e.name == op.dev && e.has_model();
        if (!found)
          throw error_at(op.pos, fmt::format("'{}' is not an NVMe or tlm endpoint of this topology (only they "
                                             "have IOMMU groups in the model)", op.dev));
      }
      if (op.kind == K::mmio_write && op.msi_cpu >= sc.cpus)
        throw error_at(op.pos, fmt::format("msi_address: cpu{} does not exist (kernel.cpus is {})", op.msi_cpu, sc.cpus));
      if (op.kind == K::mmio_write || op.kind == K::mmio_poll || op.kind == K::wait_irq) {
        const EndpointSpec* ep = nullptr;
        if (sc.topo)
          for (const auto& e : sc.topo->endpoints)
            if (e.name == op.dev) ep = &e;
        if (!ep || ep->kind != "tlm")
          throw error_at(op.pos, fmt::format("'{}' is not a tlm endpoint of this topology: MMIO ops drive "
                                             "endpoint models (kind: tlm)", op.dev));
        if (op.offset + 8 > ep->mmio_bar_size)
          throw error_at(op.pos, fmt::format("offset {:#x} is beyond {}'s BAR ({} bytes)", op.offset, op.dev,
                                             ep->mmio_bar_size));
      }
      if ((op.kind == K::munmap || op.kind == K::store || op.kind == K::load || op.kind == K::pin ||
           op.kind == K::o_direct || (op.kind == K::mmio_write && !op.buf.empty()))) {
        if (t.process.empty())
          throw error_at(op.pos, fmt::format("'{}' needs a user process: task '{}' has no 'process'",
                                             to_string(op.kind), t.name));
        if (!bufs[t.process].count(op.buf))
          throw error_at(op.pos, fmt::format("no task of process '{}' maps a buffer named '{}'", t.process, op.buf));
      }
      if (op.kind == K::mmap && t.process.empty())
        throw error_at(op.pos, fmt::format("'mmap' needs a user process: task '{}' has no 'process'", t.name));
      if (op.kind == K::free && !allocs.count(op.buf))
        throw error_at(op.pos, fmt::format("no task allocates '{}'", op.buf));
      if (op.kind == K::wait && !signaled.count(op.event))
        throw error_at(op.pos, fmt::format("no task signals event '{}': this wait could never end", op.event));
    }
  // Pins may also hold or await a CPU's softirq context (RCU callbacks).
  for (int c = 0; c < sc.cpus; ++c) task_names.insert(fmt::format("softirq/{}", c));
  auto check_pins = [&](const std::vector<Pin>& pins) {
    for (const auto& p : pins) {
      if (!task_names.count(p.task)) throw InputError(root.file(), 1, 1, fmt::format("{}: schedule names unknown task '{}'", p.where, p.task));
      if (!task_names.count(p.until_task))
        throw InputError(root.file(), 1, 1, fmt::format("{}: schedule waits for unknown task '{}'", p.where, p.until_task));
    }
  };
  check_pins(sc.schedule);
  for (const auto& v : sc.variants)
    if (v.schedule) check_pins(*v.schedule);
}

/// The PCI tree of a `topology:` map: inline, or from `include: FILE`
/// (relative to the including file). Null when it has neither.
/// An included file's ${NAME} references take the scenario's @values (and
/// count as uses of them).
std::optional<TopologySpec> topology_of(const StrictNode& topo, const ParamValues& values = {},
                                        std::set<std::string>* used = nullptr) {
  if (topo.has("include")) {
    auto inc = topo.required("include");
    if (is_topology_tree(topo)) inc.fail("'include' and an inline host_bridges tree cannot be combined");
    fs_path base = fs_path(topo.file()).parent_path();
    const std::string path = (base / inc.as_string("include")).string();
    std::string source;
    try {
      source = read_input_file(path, "topology file");
    } catch (const InputError& e) {
      inc.fail(e.message + " (" + path + ")");  // at the include, where the name was written
    }
    std::vector<Substitution> subs;
    const std::string text = substitute_parameters(source, path, values, used, &subs);
    try {
      YamlDoc doc = YamlDoc::load_string(text, path);
      auto m = doc.root("topology file").as_map("topology file");
      TopologySpec t = parse_topology_tree(m);
      m.finish();
      return t;
    } catch (const InputError& e) {
      throw in_file_terms(e, path, subs);
    }
  }
  if (!is_topology_tree(topo)) {
    topo.allow({"cpu", "iommu", "host_bridges", "include"});
    return std::nullopt;
  }
  return parse_topology_tree(topo);
}

/**
 * expand_p2pmem_tests() - a p2pmem_test op becomes the tool's steps: setup
 * in its task, one thread inline (threads = 1) or `threads` tasks of the same
 * process on the following CPUs, then the report once they signalled.
 */
void expand_p2pmem_tests(Scenario& sc) {
  using K = OpSpec::Kind;
  std::vector<TaskSpec> extra;
  // Names stay as they always were ("TASK@LINE", "TASK.tN") unless a second
  // run of the same task would take them: then the op's column, or its line,
  // tells them apart.
  std::set<std::string> runs, task_names;
  for (const auto& t : sc.tasks) task_names.insert(t.name);
  for (auto& t : sc.tasks) {
    std::vector<OpSpec> ops;
    for (const auto& op : t.ops) {
      if (op.kind != K::p2pmem_test && op.kind != K::fio) {
        ops.push_back(op);
        continue;
      }
      std::string run = fmt::format("{}@{}", t.name, op.pos.line);
      if (!runs.insert(run).second) runs.insert(run = fmt::format("{}@{}:{}", t.name, op.pos.line, op.pos.column));
      bool plain_threads = true;
      for (uint64_t i = 0; op.threads > 1 && i < op.threads; ++i)
        plain_threads &= !task_names.count(fmt::format("{}.t{}", t.name, i));
      const std::string thread_prefix = plain_threads ? t.name : run;
      OpSpec step = op;
      step.run = run;
      step.kind = K::p2pmem_setup;
      ops.push_back(step);
      if (op.threads == 1) {
        step.kind = K::p2pmem_thread;
        step.thread = 0;
        ops.push_back(step);
      } else {
        for (uint64_t i = 0; i < op.threads; ++i) {
          TaskSpec th;
          th.name = fmt::format("{}.t{}", thread_prefix, i);
          task_names.insert(th.name);
          th.cpu = (t.cpu + 1 + static_cast<int>(i)) % sc.cpus;
          th.process = t.process;
          th.pos = op.pos;
          OpSpec w = step;
          w.kind = K::wait;
          w.event = run + ":start";
          th.ops.push_back(w);
          OpSpec body = step;
          body.kind = K::p2pmem_thread;
          body.thread = static_cast<int>(i);
          th.ops.push_back(body);
          OpSpec sig = step;
          sig.kind = K::signal;
          sig.event = fmt::format("{}:done{}", run, i);
          th.ops.push_back(sig);
          extra.push_back(th);
        }
        OpSpec sig = step;
        sig.kind = K::signal;
        sig.event = run + ":start";
        ops.push_back(sig);
        for (uint64_t i = 0; i < op.threads; ++i) {
          OpSpec w = step;
          w.kind = K::wait;
          w.event = fmt::format("{}:done{}", run, i);
          ops.push_back(w);
        }
      }
      step.kind = K::p2pmem_report;
      ops.push_back(step);
    }
    t.ops = std::move(ops);
  }
  for (auto& th : extra) sc.tasks.push_back(std::move(th));
}

}  // namespace

TopologySpec load_topology(const std::string& path, const ParamValues& params) {
  const std::string source = read_input_file(path, "scenario file");
  // References read as bare words are enough to tell a scenario from a topology.
  YamlDoc doc = YamlDoc::load_string(with_bare_references(source, path), path);
  auto root = doc.root("file").as_map("file");
  if (root.has("tasks") || root.has("topology")) {
    Scenario sc = load_scenario(path, params);
    if (!sc.topo)
      throw InputError(path, 1, 1, "this scenario has no PCI tree (topology.host_bridges or topology.include)");
    return *sc.topo;
  }
  try {
    substitute_parameters(source, path, {}, nullptr);
  } catch (const InputError& e) {
    throw InputError(e.file, e.line, e.column,
                     "this topology takes values from the parameters of a scenario that includes it; run topo on "
                     "that scenario (with --param NAME=VALUE to choose them)");
  }
  if (!params.empty()) throw InputError(path, 1, 1, "--param: a topology file has no parameters (a scenario does)");
  doc = YamlDoc::load_string(source, path);
  root = doc.root("file").as_map("file");
  std::optional<TopologySpec> t = topology_of(root);
  if (!t) throw InputError(path, 1, 1, "not a topology: expected host_bridges (or include)");
  root.finish();
  return *t;
}

namespace {

/// load_scenario() on the substituted @text; positions are in @text's terms.
Scenario parse_scenario(const std::string& path, const std::string& text, const std::vector<ParamDecl>& decls,
                        const ParamValues& values, std::set<std::string> used, bool check_unused);

}  // namespace

Scenario load_scenario(const std::string& path, const ParamValues& given) {
  const std::string source = read_input_file(path, "scenario file");
  const std::vector<ParamDecl> decls = declared_parameters(source, path);
  ParamValues values;
  std::string declared;
  for (const auto& d : decls) {
    values[d.name] = d.default_value;
    declared += (declared.empty() ? "" : ", ") + d.name;
  }
  for (const auto& [name, value] : given) {
    if (!values.count(name))
      throw InputError(path, decls.empty() ? 1 : decls[0].line, decls.empty() ? 1 : decls[0].column,
                       fmt::format("the scenario has no parameter '{}' (given on the command line); {}", name,
                                   declared.empty() ? "it declares none" : "it declares: " + declared));
    if (std::string why = bad_param_value(value); !why.empty())
      throw InputError(path, 1, 1, fmt::format("parameter {} (given on the command line): {}", name, why));
    values[name] = value;
  }
  std::vector<Substitution> subs;
  const std::string text = substitute_parameters(source, path, values, nullptr, &subs);
  try {
    // A parameter that only some configurations use (one of several
    // included topologies) is fine: "declared but unused" is checked on
    // the defaults only.
    std::set<std::string> used;
    for (const Substitution& sub : subs) used.insert(sub.name);
    return parse_scenario(path, text, decls, values, std::move(used), given.empty());
  } catch (const InputError& e) {
    throw in_file_terms(e, path, subs);
  }
}

namespace {

Scenario parse_scenario(const std::string& path, const std::string& text, const std::vector<ParamDecl>& decls,
                        const ParamValues& values, std::set<std::string> used, bool check_unused) {
  std::string declared;
  for (const auto& d : decls) declared += (declared.empty() ? "" : ", ") + d.name;
  YamlDoc doc = YamlDoc::load_string(text, path);
  Scenario sc;
  sc.file = path;
  sc.content_hash = fnv1a(text);
  for (const auto& d : decls) sc.parameters.emplace_back(d.name, values.at(d.name));
  auto root = doc.root("scenario").as_map("scenario");
  root.optional("parameters");  // read by declared_parameters()
  sc.name = root.required("name").as_string("name");
  if (root.has("sweep")) {
    // What `report` sweeps when the command line names no --sweep.
    for (const auto& e : root.required("sweep").entries("sweep")) {
      if (e.key != "variant" && !values.count(e.key))
        e.key_node.fail(fmt::format("sweep key '{}' is not a parameter of this scenario (nor 'variant'); {}", e.key,
                                    declared.empty() ? "it declares none" : "it declares: " + declared));
      std::vector<std::string> vs;
      for (const auto& v : e.value.items(fmt::format("sweep values of '{}'", e.key))) {
        std::string x = v.as_string(fmt::format("a sweep value of '{}'", e.key));
        if (std::string why = bad_param_value(x); !why.empty()) v.fail(why);
        if (x.find(',') != std::string::npos) v.fail("a sweep value cannot contain ',' (--sweep could not name it)");
        if (std::find(vs.begin(), vs.end(), x) != vs.end()) v.fail(fmt::format("sweep value '{}' given twice", x));
        vs.push_back(std::move(x));
      }
      if (vs.empty()) e.value.fail(fmt::format("sweep '{}' needs at least one value", e.key));
      sc.sweep.emplace_back(e.key, std::move(vs));
    }
  }
  if (root.has("description")) sc.description = root.required("description").as_string("description");

  auto topo = root.required("topology").as_map("topology");
  sc.topo = topology_of(topo, values, &used);
  if (sc.topo)
    for (const auto& ep : sc.topo->endpoints)
      if (ep.p2p_bar_size) {
        ProviderSpec p;
        p.name = ep.name;
        p.bar_phys = ep.bar_phys;
        p.bar_size = ep.p2p_bar_size;
        p.pos = pos_of(topo);
        sc.providers.push_back(p);
      }
  if (topo.has("providers") || (!sc.topo && !topo.has("vfio")))
  for (const auto& pn : topo.required("providers").items("providers")) {
    auto m = pn.as_map("provider");
    ProviderSpec p;
    p.pos = pos_of(pn);
    p.name = m.required("name").as_string();
    p.bar_phys = m.required("bar_phys").as_uint("bar_phys");
    p.bar_size = m.required("bar_size").as_bytes("bar_size", kern::PAGE_SIZE);
    if (m.has("bus_offset")) p.bus_offset = m.required("bus_offset").as_uint("bus_offset");
    if (m.has("p2pmem_offset")) p.p2pmem_offset = m.required("p2pmem_offset").as_bytes("p2pmem_offset");
    if (m.has("p2pmem_size")) p.p2pmem_size = m.required("p2pmem_size").as_bytes("p2pmem_size");
    if (p.bar_phys % kern::PAGE_SIZE || p.bar_size % kern::PAGE_SIZE)
      throw error_at(p.pos, "bar_phys and bar_size must be multiples of 4 KiB");
    m.finish();
    sc.providers.push_back(p);
  }
  if (topo.has("vfio"))
    for (const auto& vn : topo.required("vfio").items("vfio")) {
      auto m = vn.as_map("vfio device");
      VfioSpec vs;
      vs.pos = pos_of(vn);
      vs.name = m.required("name").as_string("name");
      vs.bar_phys = m.required("bar_phys").as_uint("bar_phys");
      vs.bar_size = m.required("bar_size").as_bytes("bar_size", kern::PAGE_SIZE);
      if (m.has("bus_offset")) vs.bus_offset = m.required("bus_offset").as_uint("bus_offset");
      if (vs.bar_phys % kern::PAGE_SIZE || vs.bar_size % kern::PAGE_SIZE)
        throw error_at(vs.pos, "bar_phys and bar_size must be multiples of 4 KiB");
      if (m.has("map_types"))
        for (const auto& e : m.required("map_types").entries("map_types"))
          vs.map_types.emplace_back(e.key, e.value.as_enum("map type", {"bus_addr", "host_bridge"}));
      m.finish();
      for (const auto& p : sc.providers)
        if (p.name == vs.name) throw error_at(vs.pos, fmt::format("'{}' is already a p2pmem provider", vs.name));
      for (const auto& o : sc.vfio)
        if (o.name == vs.name) throw error_at(vs.pos, fmt::format("duplicate vfio device '{}'", vs.name));
      sc.vfio.push_back(vs);
    }
  topo.finish();

  sc.kernel = parse_kernel(root.required("kernel"), true, &sc.cpus);

  for (const auto& tn : root.required("tasks").items("tasks")) {
    auto m = tn.as_map("task");
    TaskSpec t;
    t.pos = pos_of(tn);
    t.name = m.required("name").as_string();
    t.cpu = static_cast<int>(m.required("cpu").as_int("cpu", 0, kern::kMaxCpus - 1));
    if (m.has("process")) t.process = m.required("process").as_string();
    if (m.has("start")) t.start = m.required("start").as_duration_ps("start");
    for (const auto& on : m.required("ops").items("ops")) t.ops.push_back(parse_op(on));
    m.finish();
    sc.tasks.push_back(std::move(t));
  }

  expand_p2pmem_tests(sc);
  if (root.has("faults"))
    for (const auto& fn : root.required("faults").items("faults")) {
      auto m = fn.as_map("fault");
      FaultSpec f;
      f.pos = pos_of(fn);
      std::vector<std::string> sites;
      for (const auto& site : kern::fault_sites()) sites.emplace_back(site.name);
      f.site = m.required("site").as_enum("fault site", sites);
      if (m.has("nth")) f.nth = static_cast<int>(m.required("nth").as_int("nth", 1, 1000000));
      m.finish();
      sc.faults.push_back(f);
    }

  if (root.has("limits")) {
    auto l = root.required("limits").as_map("limits");
    if (l.has("steps")) sc.limits.max_steps = l.required("steps").as_uint("steps", 1000, 1ULL << 40);
    if (l.has("time")) sc.limits.max_time = l.required("time").as_duration_ps("time");
    l.finish();
  }
  if (root.has("schedule"))
    for (const auto& pn : root.required("schedule").items("schedule")) sc.schedule.push_back(parse_pin(pn));

  sc.variants_pos = pos_of(root.required("variants"));
  for (const auto& e : root.required("variants").entries("variants")) {
    auto m = e.value.as_map(fmt::format("variant '{}'", e.key));
    VariantSpec v;
    v.name = e.key;
    v.pos = pos_of(e.key_node);
    if (m.has("description")) v.description = m.required("description").as_string();
    if (m.has("kernel")) v.kernel = parse_kernel(m.required("kernel"), false, nullptr);
    v.expect = parse_expect(m.required("expect"));
    if (m.has("failures")) v.expect.failures = parse_failures(m.required("failures"), sc);
    if (m.has("known")) v.known = parse_known(m.required("known"));
    if (m.has("schedule")) {
      std::vector<Pin> pins;
      for (const auto& pn : m.required("schedule").items("schedule")) pins.push_back(parse_pin(pn));
      v.schedule = pins;
    }
    m.finish();
    sc.variants.push_back(std::move(v));
  }
  root.finish();
  if (root.has("sweep"))  // variants are known only now
    for (const auto& e : root.required("sweep").entries("sweep"))
      if (e.key == "variant")
        for (const auto& v : e.value.items("sweep values of 'variant'"))
          if (!sc.variant(v.as_string())) {
            std::string names;
            for (const auto& var : sc.variants) names += (names.empty() ? "" : ", ") + var.name;
            v.fail(fmt::format("sweep: unknown variant '{}'; the scenario has: {}", v.as_string(), names));
          }
  for (const auto& d : decls)
    if (check_unused && !used.count(d.name))
      throw InputError(path, d.line, d.column,
                       fmt::format("parameter '{}' is declared but nothing uses ${{{}}}", d.name, d.name));
  check_references(sc, root);
  // What a hung wait says ("wait for event 'a_mapped'"), made once here: the
  // engine keeps a pointer to it, not a copy, in every execution.
  // Events by index, so an execution's signals and waits are a vector, not
  // a string-keyed map.
  std::map<std::string, int> event_ids;
  for (auto& t : sc.tasks)
    for (auto& op : t.ops) {
      if (op.kind != OpSpec::Kind::wait && op.kind != OpSpec::Kind::signal) continue;
      op.event_id = event_ids.emplace(op.event, static_cast<int>(event_ids.size())).first->second;
      if (op.kind == OpSpec::Kind::wait) op.wait_text = fmt::format("wait for event '{}'", op.event);
    }
  sc.nr_events = event_ids.size();
  // Buffer names by index too: a process's buffers are a vector slot each.
  // Every op gets one, "" included (`as: ""` is a name like any other).
  std::map<std::string, int> buf_ids;
  for (auto& t : sc.tasks)
    for (auto& op : t.ops) op.buf_id = buf_ids.emplace(op.buf, static_cast<int>(buf_ids.size())).first->second;
  sc.nr_bufs = buf_ids.size();
  // Every variant must resolve (knob combinations, presets) before any run.
  for (const auto& v : sc.variants) resolve_run(sc, v.name, {});
  return sc;
}

void apply_kernel(const KernelSpec& ks, kern::Knobs& knobs, kern::Costs& costs) {
  for (size_t i = 0; i < ks.knobs.size(); ++i)
    if (auto err = kern::set_knob(knobs, ks.knobs[i].first, ks.knobs[i].second))
      throw error_at(ks.knob_pos[i], *err);
  for (size_t i = 0; i < ks.costs.size(); ++i)
    if (auto err = kern::set_cost(costs, ks.costs[i].first, ks.costs[i].second))
      throw error_at(ks.cost_pos[i], *err);
}

/// Knob combinations that no kernel ever had are refused.
std::optional<std::string> check_combination(const kern::Knobs& k) {
  using namespace kern;
  if (k.tlb_flush == TlbFlush::no_wait && k.pgtable_free == PgtableFree::page_batch)
    return "tlb_flush=no_wait needs pgtable_free=rcu: a platform whose flush waits for no CPU "
           "must free page tables by RCU, or GUP-fast would walk freed tables (no kernel does that)";
  if (k.preempt_model == PreemptModel::full && !k.config_preempt_rcu)
    return "preempt_model=full needs config_preempt_rcu=true: a preemptible kernel always has PREEMPT_RCU "
           "(kernel/rcu/Kconfig: PREEMPT_RCU is not a choice there)";
  if (k.mmap_design == MmapDesign::upstream_alloc_mmap && k.refcount_era == RefcountEra::one_based)
    return "mmap_design=upstream_alloc_mmap needs refcount_era free_at_zero_reset_to_one, zero_based or "
           "per_folio_pgmap_ref (it arrived in v6.2, after the one-based era ended in v5.18)";
  if (k.mmap_design == MmapDesign::rfc_fault_alloc && k.refcount_era == RefcountEra::per_folio_pgmap_ref)
    return "refcount_era=per_folio_pgmap_ref is modelled with mmap_design=upstream_alloc_mmap only: the "
           "DAX-gup rework (Oct 2022) came after the RFC, and the conversion modelled is of p2pmem_alloc_mmap()";
  if (k.mmap_design == MmapDesign::rfc_fault_alloc && k.refcount_era == RefcountEra::free_at_zero_reset_to_one)
    return "mmap_design=rfc_fault_alloc is modelled on the bases the RFC was posted on: it needs "
           "refcount_era one_based (v3, v4 on v5.15/v5.16) or zero_based (v5 on v5.17-rc1 with "
           "'mm: remove extra ZONE_DEVICE struct page refcount')";
  return std::nullopt;
}

}  // namespace

RunConfig resolve_run(const Scenario& sc, const std::string& variant,
                      const std::vector<std::string>& sets) {
  RunConfig rc;
  rc.variant = variant;
  const VariantSpec* v = nullptr;
  if (!variant.empty()) {
    v = sc.variant(variant);
    if (!v) {
      std::string names;
      for (const auto& x : sc.variants) names += (names.empty() ? "" : ", ") + x.name;
      throw error_at(sc.variants_pos, fmt::format("unknown variant '{}'; this scenario has: {}", variant, names));
    }
  }
  std::string preset = "latest";
  if (sc.kernel.preset) preset = *sc.kernel.preset;
  if (v && v->kernel.preset) preset = *v->kernel.preset;
  rc.preset = preset;
  const kern::Preset& pre = *kern::find_preset(preset);
  rc.knobs = pre.knobs;
  rc.platform = kern::kDefaultPlatform;
  SourcePos platform_pos{sc.file, 1, 1};
  if (sc.kernel.platform) rc.platform = *sc.kernel.platform, platform_pos = sc.kernel.platform_pos;
  if (v && v->kernel.platform) rc.platform = *v->kernel.platform, platform_pos = v->kernel.platform_pos;
  if (auto err = kern::find_platform(rc.platform)->apply(rc.knobs, pre)) throw error_at(platform_pos, *err);
  rc.costs = kern::default_costs();
  apply_kernel(sc.kernel, rc.knobs, rc.costs);
  if (v) apply_kernel(v->kernel, rc.knobs, rc.costs);
  rc.pins = v && v->schedule ? *v->schedule : sc.schedule;
  if (v) rc.expect = v->expect;
  if (v) rc.known = v->known;
  if (auto err = check_combination(rc.knobs))
    throw error_at(v ? v->pos : SourcePos{sc.file, 1, 1}, *err);
  // --set key=value: columns count in the joined "--set a=b --set c=d" line.
  int col = 1;
  for (const auto& s : sets) {
    col += 6;  // "--set "
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("<command line>", 1, col, fmt::format("--set needs key=value, got '{}'", s));
    std::string key = s.substr(0, eq), value = s.substr(eq + 1);
    std::optional<std::string> err;
    if (key == "platform") {
      const kern::Platform* pl = kern::find_platform(value);
      if (!pl) {
        std::string names;
        for (const auto& x : kern::platforms()) names += std::string(names.empty() ? "" : ", ") + x.name;
        err = fmt::format("unknown platform '{}'; known platforms: {}", value, names);
      } else if (!(err = pl->apply(rc.knobs, pre))) {
        rc.platform = value;
      }
    } else if (key.rfind("cost.", 0) == 0) {
      try {
        auto n = YamlDoc::load_string(value, "<command line>").root("value");
        err = kern::set_cost(rc.costs, key.substr(5), n.as_duration_ps(key));
      } catch (const InputError& e) {
        err = e.message;
      }
    } else {
      err = kern::set_knob(rc.knobs, key, value);
    }
    if (err) throw InputError("<command line>", 1, col, *err);
    col += static_cast<int>(s.size()) + 1;
  }
  // The combination is checked once all overrides are in: switching design
  // or platform may take more than one --set.
  if (!sets.empty())
    if (auto cerr = check_combination(rc.knobs)) throw InputError("<command line>", 1, 1, *cerr);
  // A user fault's VM_FAULT_OOM goes to the OOM killer on 5.15, which the
  // model does not have.
  for (const auto& f : sc.faults)
    if (f.site == "pte_alloc" && rc.knobs.pagefault_oom == kern::PagefaultOom::oom_killer)
      throw error_at(f.pos, fmt::format("fault site pte_alloc cannot be failed on preset {}: a user fault's "
                                        "VM_FAULT_OOM calls the OOM killer there (knob pagefault_oom=oom_killer), "
                                        "which the model does not have",
                                        rc.preset));
  return rc;
}

}  // namespace p2psim
