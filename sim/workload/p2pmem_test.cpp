// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// The p2pmem-test tool's behaviour, written from how it behaves (it is
// GPL-2.0; nothing of it is copied): what it maps, in which order it reads
// and writes, what --check, --overlap, --host_access and --init do, and what
// it prints.
#include "workload/p2pmem_test.h"

#include <fmt/format.h>

#include <cstring>
#include <exception>

#include "kernel/blk.h"
#include "kernel/memory.h"
#include "kernel/mmap.h"
#include "kernel/p2pdma.h"
#include "common/kernel_bug.h"
#include "kernel/gup.h"
#include "platform/external_device.h"
#include "platform/platform.h"
#include "common/rng.h"
#include "workload/task_ops.h"

namespace p2psim {

namespace {

/// suffix_si_get() + "%.4g": 1048576 -> "1.049MB".
std::string si(double v) {
  const char* units[] = {"", "k", "M", "G", "T", "P"};
  int u = 0;
  while (v >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.4g}{}", v, units[u]);
}

/// XOR of the little-endian 32-bit words: the tool's parity.
uint32_t parity(const uint8_t* p, size_t len) {
  uint32_t x = 0;
  for (size_t i = 0; i + 4 <= len; i += 4) {
    uint32_t v;
    std::memcpy(&v, p + i, 4);
    x ^= v;
  }
  return x;
}

uint64_t ns_size(ScenarioWorld& w, const std::string& dev) {
  hw::NvmeController* c = w.platform ? w.platform->controller(dev) : nullptr;
  return c ? c->config().ns_bytes : 0;
}

}  // namespace

void p2pmem_test_setup(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc,
                       const std::string& run) {
  P2pmemTestRun& r = w.p2pmem_runs[run];
  r = P2pmemTestRun{};  // each run starts from nothing (a loop of ops would reuse the name)
  r.totals.assign(op.threads, 0);
  const uint64_t size = op.chunks * op.chunk_size;
  const uint64_t rsize = ns_size(w, op.dev), wsize = ns_size(w, op.dst);
  auto fail = [&](const std::string& msg, int64_t err) {
    w.output.push_back(msg);
    r.error = err;
    r.ready = true;
  };
  // The buffer: p2pmem of a provider (sysfs `allocate`), or anonymous host
  // memory when the op names `host` (the bounce through DRAM).
  const bool host = op.provider == kHostBuffer;
  auto map_buffer = [&](uint64_t len, uint64_t pgoff) -> int64_t {
    if (host) return kern::do_mmap_anonymous(ex, k, proc, len);
    int err = 0;
    auto file = kern::p2pmem_open(ex, k, *w.providers.at(op.provider), err);
    return file ? kern::do_mmap(ex, k, proc, file, len, true, true, pgoff) : err;
  };
  const std::string where = host ? std::string("host memory") : fmt::format("{}'s p2pmem", op.provider);
  if (op.fio) {
    // fio-like: one buffer slot of bs per thread; offsets on the device
    // within `span` (sequential per thread, or random).
    if (op.span > rsize) return fail(fmt::format("fio: size {} is beyond {} ({} bytes)", op.span, op.dev, rsize), -22);
    const int64_t buf = map_buffer(op.threads * op.chunk_size, 0);
    if (buf < 0) return fail(fmt::format("fio: mmap: error {}", buf), buf);
    r.buffer = static_cast<uint64_t>(buf);
    w.output.push_back(fmt::format("fio: rw={}{} bs={} iodepth={} ios={} on {} ({}B span), buffer in {}",
                                   op.random ? "rand" : "", op.skip_write ? "read" : "write", op.chunk_size,
                                   op.threads, op.chunks, op.dev, si(static_cast<double>(op.span)), where));
    r.start = ex.now();
    r.ready = true;
    return;
  }
  if (op.overlap && std::min(rsize, wsize) > size)
    return fail(fmt::format("do not set --overlap when its not needed ({}, {}, {}).", rsize, wsize, size), -22);
  if (!op.overlap && std::min(rsize, wsize) < size)
    return fail("read and write files must be at least as big as --chunks*--chunks_size (or use --overlap).", -22);
  const int64_t buf = map_buffer(size, op.offset / kern::PAGE_SIZE);
  if (buf < 0) return fail(fmt::format("mmap: error {}", buf), buf);
  r.buffer = static_cast<uint64_t>(buf);
  w.output.push_back(fmt::format("Running p2pmem-test: reading {} ({}B): writing {} ({}B): {}.", op.dev,
                                 si(static_cast<double>(rsize)), op.dst, si(static_cast<double>(wsize)),
                                 host ? std::string("host memory buffer (a bounce through DRAM)")
                                      : fmt::format("p2pmem buffer {}", op.provider)));
  w.output.push_back(fmt::format("\tchunk size = {} : number of chunks =  {}: total = {}B : thread(s) = {} : overlap = {}.",
                                 op.chunk_size, op.chunks, si(static_cast<double>(size)), op.threads,
                                 op.overlap ? "ON" : "OFF"));
  w.output.push_back(fmt::format("\tskip-read = {} : skip-write =  {} : duration = {} sec.", op.skip_read ? "ON" : "OFF",
                                 op.skip_write ? "ON" : "OFF",
                                 op.duration ? fmt::format("{}", op.duration / 1000000000000ULL) : std::string("INF")));
  w.output.push_back(fmt::format("\tbuffer = {:#x} ({})", r.buffer, host ? "host memory" : "p2pmem"));
  w.output.push_back("\tPAGE_SIZE = 4096B");
  if (op.init_total) {
    w.output.push_back(fmt::format("\tinitializing {}B of buffer with zeros: alignmentand size = {}B", op.init_total, op.init_size));
    for (uint64_t off = 0; off < op.init_total; off += 8)
      if (kern::user_access(ex, k, proc, r.buffer + off, true, 0).error) return fail("hostinit: Bad address", -14);
  }
  Rng rng(op.seed);
  if (op.host_accesses) {
    // hosttest(): random aligned offsets in the first chunk, written (unless
    // read-only) then read back through the CPU's mapping.
    const uint64_t sz = static_cast<uint64_t>(std::abs(op.host_access_size));
    w.output.push_back(fmt::format("\tchecking {} host accesses {}: alignment and size = {}B", op.host_accesses,
                                   op.host_access_size < 0 ? "(read only) " : "", sz));
    std::vector<std::pair<uint64_t, uint64_t>> wrote;  // offset -> value
    for (int i = 0; i < op.host_accesses; ++i) {
      const uint64_t off = rng.below(op.chunk_size / std::max<uint64_t>(sz, 8)) * std::max<uint64_t>(sz, 8);
      const uint64_t v = rng.next();
      if (op.host_access_size > 0) {
        if (kern::user_access(ex, k, proc, r.buffer + off, true, v).error) return fail("hosttest: Bad address", -14);
        wrote.emplace_back(off, v);
      }
    }
    for (size_t i = 0; i < wrote.size(); ++i) {
      bool later = false;  // written_later(): only the last write to an offset counts
      for (size_t j = i + 1; j < wrote.size(); ++j) later |= wrote[j].first == wrote[i].first;
      if (later) continue;
      const auto rd = kern::user_access(ex, k, proc, r.buffer + wrote[i].first, false, 0);
      if (rd.error || rd.value != wrote[i].second) {
        ex.report(FindingKind::data_mismatch, fmt::format("p2pmem-test host access {} read {:#x}, wrote {:#x}", i,
                                                           rd.value, wrote[i].second));
        return fail(fmt::format("MISMATCH on host_access {:04}", i), -22);
      }
    }
    if (op.host_access_size > 0) w.output.push_back(fmt::format("MATCH on {} host accesses.", op.host_accesses));
    rng.reseed(op.seed);
  }
  if (op.check) {
    // writedata(): seeded random data onto the read device before timing
    // starts (through the controller: not what the test measures).
    w.output.push_back(fmt::format("\tchecking data with seed = {}", op.seed));
    std::vector<uint8_t> data(size);
    for (size_t i = 0; i < size; i += 4) {
      const uint32_t v = static_cast<uint32_t>(rng.next());
      std::memcpy(data.data() + i, &v, 4);
    }
    r.write_parity = parity(data.data(), size);
    w.platform->controller(op.dev)->ns_write(0, data.data(), size);
  }
  r.start = ex.now();
  r.ready = true;
}

namespace {
/**
 * class NicReceiver - one fio thread's side of the NVMe-oF target pattern:
 * its buffer slot pinned (FOLL_WRITE | FOLL_PCI_P2PDMA) and DMA-mapped for
 * the NIC, receive queue @t of the rdma_nic programmed to interrupt the
 * thread's CPU with vector 0x40 + t, and per I/O: a receive into the slot
 * (one per run of DMA-contiguous pages), each waited for with its MSI. The
 * mappings and pins go when it does. Idle when the op names no NIC.
 */
class NicReceiver {
 public:
  NicReceiver(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc,
              uint64_t slot, int t)
      : ex_(ex), k_(k), w_(w), queue_base_(0x40ULL * static_cast<uint64_t>(t)), vector_(0x40 + t) {
    if (op.nic.empty()) return;
    nic_ = w.platform ? w.platform->external(op.nic) : nullptr;
    if (!nic_) throw ModelBug(fmt::format("fio: no model for NIC {}", op.nic));
    const int pages = static_cast<int>(op.chunk_size / kern::PAGE_SIZE);
    const long got = kern::get_user_pages_fast(ex, k, proc, slot, pages, kFlags, pins_);
    if (got != pages) {
      error_ = got < 0 ? got : -14;  // -EFAULT
      return;
    }
    for (const kern::GupPage& gp : pins_) {
      uint64_t dma = 0;
      if (const long err = nic_->map_page(ex, gp, &dma)) {
        error_ = err;
        return;
      }
      if (!runs_.empty() && runs_.back().first + runs_.back().second == dma)
        runs_.back().second += kern::PAGE_SIZE;
      else
        runs_.push_back({dma, kern::PAGE_SIZE});
    }
    // The queue's MSI: this thread's CPU, its own vector.
    uint64_t msi = Platform::kMsiBase | static_cast<uint64_t>(std::max(0, ex.cpu())) << 12, data = vector_;
    error_ = nic_->mmio(ex, queue_base_ + 0x30, &msi, true);
    if (!error_) error_ = nic_->mmio(ex, queue_base_ + 0x38, &data, true);
    ready_ = !error_;
  }
  // Not noexcept: unpinning may report a kernel BUG, which must reach the
  // runner as a finding rather than terminate the process.
  ~NicReceiver() noexcept(false) {
    // An execution that ends unwinds its tasks (TaskKilled): no kernel
    // calls then, they would reach a preemption point mid-unwind.
    if (pins_.empty() || std::uncaught_exceptions() > unwinding_) return;
    w_.platform->unmap_device_dma(ex_, pins_);
    for (const kern::GupPage& gp : pins_) kern::gup_release_page(ex_, k_, gp, kFlags);
  }
  NicReceiver(const NicReceiver&) = delete;
  NicReceiver& operator=(const NicReceiver&) = delete;
  bool ready() const { return ready_; }
  long error() const { return error_; }
  /// Receive one slot's worth: 0, or a negative errno (-EIO: the NIC's DMA failed).
  long receive() {
    for (const auto& [dma, len] : runs_) {
      uint64_t dst = dma, bytes = len, go = 1, status = 0;
      for (auto [reg, value] : {std::pair<uint64_t, uint64_t*>{0x00, &dst}, {0x08, &bytes}, {0x18, &go}})
        if (const long err = nic_->mmio(ex_, queue_base_ + reg, value, true)) return err;
      nic_->wait_irq(ex_, vector_);
      if (const long err = nic_->mmio(ex_, queue_base_ + 0x20, &status, false)) return err;
      if (status != 2) return -5;
    }
    return 0;
  }

 private:
  static constexpr unsigned kFlags = kern::FOLL_PIN | kern::FOLL_WRITE | kern::FOLL_PCI_P2PDMA;
  kern::Exec& ex_;
  kern::Kernel& k_;
  ScenarioWorld& w_;
  ExternalDevice* nic_ = nullptr;
  uint64_t queue_base_;
  int vector_;
  std::vector<kern::GupPage> pins_;
  std::vector<std::pair<uint64_t, uint64_t>> runs_;  // (DMA address, bytes)
  bool ready_ = false;
  long error_ = 0;
  int unwinding_ = std::uncaught_exceptions();
};
}  // namespace

void p2pmem_test_thread(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc,
                        const std::string& run, int t) {
  P2pmemTestRun& r = w.p2pmem_runs[run];
  if (r.error || !r.buffer) return;
  kern::BlockDevice* src = k.block_devices.count(op.dev) ? k.block_devices.at(op.dev) : nullptr;
  kern::BlockDevice* dst = k.block_devices.count(op.dst) ? k.block_devices.at(op.dst) : nullptr;
  const uint64_t size = op.chunks * op.chunk_size, n = op.threads;
  const uint64_t rsize = ns_size(w, op.dev), wsize = ns_size(w, op.dst);
  const uint64_t boffset = static_cast<uint64_t>(t) * op.chunk_size;
  uint64_t roffset = t * std::min(size, rsize) / n, woffset = t * std::min(size, wsize) / n;
  const int64_t want = static_cast<int64_t>(op.chunk_size);
  Rng rng(op.seed * 1000003 + static_cast<uint64_t>(t));  // fio: each thread its own offsets
  if (op.fio && !op.random) {
    roffset = woffset = t * (op.span / op.chunk_size / n) * op.chunk_size;  // a region per thread
  }
  NicReceiver nic(ex, k, w, op, proc, r.buffer + boffset, t);
  if (!op.nic.empty() && !nic.ready()) {
    if (!r.error) r.error = nic.error();
    return;
  }
  for (uint64_t i = 0; i < op.chunks / n; ++i) {
    if (op.fio) {
      if (op.random) roffset = woffset = rng.below(op.span / op.chunk_size) * op.chunk_size;
      const uint64_t off = op.skip_write ? roffset : woffset;
      kern::BlockDevice* d = op.skip_write ? src : dst;
      if (!op.nic.empty()) {  // NVMe-oF target: the data comes off the network into the slot first
        const ps_t t0 = ex.now();
        if (const long err = nic.receive()) {
          w.output.push_back(fmt::format("fio: nic receive error {}", err));
          if (!r.error) r.error = err;
          return;
        }
        r.receive_latency.push_back(ex.now() - t0);
      }
      const ps_t t0 = ex.now();
      const int64_t c = d ? kern::blkdev_direct_io(ex, k, proc, *d, r.buffer + boffset, op.chunk_size, off, !op.skip_write) : -19;
      if (c != want) {
        w.output.push_back(fmt::format("fio: {} error {}", op.skip_write ? "pread" : "pwrite", c));
        if (!r.error) r.error = c < 0 ? c : -5;
        return;
      }
      (op.skip_write ? r.read_latency : r.write_latency).push_back(ex.now() - t0);
      r.totals[t] += op.chunk_size;
      if (!op.random) {
        roffset = woffset = off + op.chunk_size;
        if (roffset >= (t + 1) * (op.span / op.chunk_size / n) * op.chunk_size)
          roffset = woffset = t * (op.span / op.chunk_size / n) * op.chunk_size;  // wrap within the region
      }
      continue;
    }
    if (!op.skip_read) {
      const ps_t t0 = ex.now();
      const int64_t c = src ? kern::blkdev_direct_io(ex, k, proc, *src, r.buffer + boffset, op.chunk_size, roffset, false) : -19;
      if (c != want) {
        w.output.push_back(fmt::format("pread: error {}", c));
        if (!r.error) r.error = c < 0 ? c : -5;
        return;
      }
      r.read_latency.push_back(ex.now() - t0);
      roffset += op.chunk_size;
      if (roffset >= (t + 1) * rsize / n) roffset = t * rsize / n;  // --overlap wraps (else rsize >= size held)
    }
    if (!op.skip_write) {
      const ps_t t0 = ex.now();
      const int64_t c = dst ? kern::blkdev_direct_io(ex, k, proc, *dst, r.buffer + boffset, op.chunk_size, woffset, true) : -19;
      if (c != want) {
        w.output.push_back(fmt::format("pwrite: error {}", c));
        if (!r.error) r.error = c < 0 ? c : -5;
        return;
      }
      r.write_latency.push_back(ex.now() - t0);
      woffset += op.chunk_size;
      if (woffset >= (t + 1) * wsize / n) woffset = t * wsize / n;
    }
    r.totals[t] += op.chunk_size;
    if (op.duration && ex.now() - r.start > op.duration) return;
  }
}

void p2pmem_test_report(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc,
                        const std::string& run) {
  P2pmemTestRun& r = w.p2pmem_runs[run];
  if (!r.buffer) return;
  r.end = ex.now();
  if (op.fio) {
    uint64_t total = 0;
    for (uint64_t b : r.totals) total += b;
    const double secs = static_cast<double>(r.end - r.start) / 1e12;
    if (r.error)
      w.output.push_back(fmt::format("fio: I/O failed: {} ({})", r.error, errno_name(r.error)));
    else
      w.output.push_back(fmt::format("fio: {}B in {:.6f} s: {}B/s, {:.0f} IOPS", si(static_cast<double>(total)), secs,
                                     si(static_cast<double>(total) / secs),
                                     static_cast<double>(total / op.chunk_size) / secs));
    kern::do_munmap(ex, k, proc, r.buffer, op.threads * op.chunk_size);
    return;
  }
  if (op.check && !r.error) {
    const uint64_t size = op.chunks * op.chunk_size;
    std::vector<uint8_t> data(size);
    w.platform->controller(op.dst)->ns_read(0, data.data(), size);
    const uint32_t read_parity = parity(data.data(), size);
    const bool match = read_parity == r.write_parity;
    w.output.push_back(fmt::format("{} on data check, {:#x} {} {:#x}.", match ? "MATCH" : "MISMATCH", r.write_parity,
                                   match ? "=" : "!=", read_parity));
    if (!match)
      ex.report(FindingKind::data_mismatch, fmt::format("p2pmem-test: parity of {} ({:#x}) differs from {} ({:#x})",
                                                        op.dst, read_parity, op.dev, r.write_parity));
  }
  uint64_t total = 0;
  for (uint64_t b : r.totals) total += b;
  const double secs = static_cast<double>(r.end - r.start) / 1e12;
  if (r.error) {
    w.output.push_back(fmt::format("p2pmem-test: I/O failed: {} ({})", r.error, errno_name(r.error)));
  } else {
    w.output.push_back("Transfer:");
    w.output.push_back(fmt::format(" {}B in {:.6f} s    {}B/s", si(static_cast<double>(total)), secs,
                                   si(static_cast<double>(total) / secs)));
  }
  // Not printed by the real tool: where the data went.
  if (w.platform)
    w.output.push_back(fmt::format("fabric: {} bytes forwarded peer-to-peer by root complexes", w.platform->rc_p2p_bytes()));
  kern::do_munmap(ex, k, proc, r.buffer, op.chunks * op.chunk_size);
}

}  // namespace p2psim
