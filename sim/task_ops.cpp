// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "task_ops.h"

#include <fmt/format.h>

#include <cstring>

#include "kernel/memory.h"
#include "kernel/blk.h"
#include "kernel/memory.h"
#include "kernel/mmap.h"
#include "platform.h"
#include "rng.h"

namespace p2psim {

namespace {

const char* errno_name(long e) {
  switch (-e) {
    case 2: return "ENOENT";
    case 7: return "SIGBUS";
    case 11: return "SIGSEGV";
    case 12: return "ENOMEM";
    case 14: return "EFAULT";
    case 16: return "EBUSY";
    case 19: return "ENODEV";
    case 22: return "EINVAL";
    case 121: return "EREMOTEIO";
    default: return "error";
  }
}

/// The deterministic content p2pmem-test --init writes: a seeded stream.
void fill_pattern(uint8_t* buf, size_t len, uint64_t seed, uint64_t offset) {
  Rng r(seed ^ (offset * 0x9e3779b97f4a7c15ULL));
  for (size_t i = 0; i < len; i += 8) {
    const uint64_t v = r.next();
    std::memcpy(buf + i, &v, std::min<size_t>(8, len - i));
  }
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return fmt::format("{:.2f}{}", b, units[u]);
}

/**
 * run_p2pmem_test() - the p2pmem-test workload (github sbates130272/
 * p2pmem-test): mmap a p2pmem buffer of one chunk, then for each chunk an
 * O_DIRECT read from the source namespace into it and an O_DIRECT write
 * from it to the destination; --check compares the two namespaces. Prints
 * what the tool prints: the transfer and its rate, MATCH or MISMATCH.
 */
void run_p2pmem_test(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const OpSpec& op, kern::Process& proc) {
  auto* src = k.block_devices.count(op.dev) ? k.block_devices.at(op.dev) : nullptr;
  auto* dst = k.block_devices.count(op.dst) ? k.block_devices.at(op.dst) : nullptr;
  if (!src || !dst || !w.platform) {
    w.output.push_back("p2pmem-test: no such NVMe device");
    return;
  }
  hw::NvmeController* sctl = w.platform->controller(op.dev);
  hw::NvmeController* dctl = w.platform->controller(op.dst);
  const uint64_t total = op.chunks * op.chunk_size;
  if (op.init) {
    // Written through the controller's back door: the tool's --init pass is
    // not what this workload measures.
    std::vector<uint8_t> buf(op.chunk_size);
    for (uint64_t c = 0; c < op.chunks; ++c) {
      fill_pattern(buf.data(), buf.size(), op.seed, op.offset + c * op.chunk_size);
      sctl->ns_write(op.offset + c * op.chunk_size, buf.data(), buf.size());
    }
  }
  w.output.push_back(fmt::format("Running p2pmem-test: reading {} : writing {} : p2pmem buffer {}.", op.dev, op.dst,
                                 op.provider));
  w.output.push_back(fmt::format("\tchunk size = {} : number of chunks =  {}: total = {} : thread(s) = 1 : overlap = OFF.",
                                 op.chunk_size, op.chunks, human_bytes(static_cast<double>(total))));
  int err = 0;
  auto file = kern::p2pmem_open(ex, k, *w.providers.at(op.provider), err);
  const int64_t buf = file ? kern::do_mmap(ex, k, proc, file, op.chunk_size, true, true, 0) : err;
  if (buf < 0) {
    w.output.push_back(fmt::format("p2pmem-test: mmap of the p2pmem buffer failed: {} ({})", buf, errno_name(buf)));
    return;
  }
  const ps_t start = ex.now();
  int64_t failed = 0;
  uint64_t done = 0;  // chunks moved; with --duration the chunk range repeats
  const int64_t want = static_cast<int64_t>(op.chunk_size);
  for (uint64_t c = 0; !failed; ++c) {
    if (op.duration ? ex.now() - start >= op.duration : c >= op.chunks) break;
    const uint64_t pos = op.offset + (c % op.chunks) * op.chunk_size;
    int64_t n = want;
    if (!op.skip_read) n = kern::blkdev_direct_io(ex, k, proc, *src, static_cast<uint64_t>(buf), op.chunk_size, pos, false);
    if (n == want && op.host_access)  // --host_access: the CPU reads the buffer too
      for (uint64_t off = 0; off < op.chunk_size && n == want; off += kern::PAGE_SIZE)
        if (kern::user_access(ex, k, proc, static_cast<uint64_t>(buf) + off, false, 0).error) n = -14;
    if (n == want && !op.skip_write)
      n = kern::blkdev_direct_io(ex, k, proc, *dst, static_cast<uint64_t>(buf), op.chunk_size, pos, true);
    if (n != want) failed = n < 0 ? n : -5;
    ++done;
  }
  const ps_t elapsed = ex.now() - start;
  const uint64_t moved = done * op.chunk_size;
  kern::do_munmap(ex, k, proc, static_cast<uint64_t>(buf), op.chunk_size);
  // Not printed by the real tool: where the data went.
  w.output.push_back(fmt::format("fabric: {} bytes forwarded peer-to-peer by root complexes",
                                 w.platform->rc_p2p_bytes()));
  if (failed) {
    w.output.push_back(fmt::format("p2pmem-test: I/O failed: {} ({})", failed, errno_name(failed)));
    return;
  }
  const double secs = static_cast<double>(elapsed) / 1e12;
  w.output.push_back(fmt::format("Transfer:\n {} in {:.6f} s    {}/s", human_bytes(static_cast<double>(moved)), secs,
                                 human_bytes(static_cast<double>(moved) / secs)));
  if (op.check) {
    std::vector<uint8_t> a(op.chunk_size), b(op.chunk_size);
    uint64_t bad = 0;
    for (uint64_t c = 0; c < op.chunks; ++c) {
      sctl->ns_read(op.offset + c * op.chunk_size, a.data(), a.size());
      dctl->ns_read(op.offset + c * op.chunk_size, b.data(), b.size());
      bad += a != b;
    }
    if (bad) {
      w.output.push_back("MISMATCH on data check.");
      ex.report(FindingKind::data_mismatch, fmt::format("p2pmem-test: {} of {} chunks differ between {} and {}", bad,
                                                        op.chunks, op.dev, op.dst));
    } else {
      w.output.push_back("MATCH on data check.");
    }
  }
}

}  // namespace

void run_task_ops(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const TaskSpec& task, int pid) {
  using K = OpSpec::Kind;
  kern::Process* proc = pid ? &k.processes.at(pid) : nullptr;
  std::vector<kern::GupPage> pinned;
  unsigned pinned_flags = 0;
  for (const OpSpec& op : task.ops) {
    const std::string point = fmt::format("op:{}", to_string(op.kind));
    ex.pp(point.c_str());
    switch (op.kind) {
      case K::mmap: {
        int err = 0;
        auto file = kern::p2pmem_open(ex, k, *w.providers.at(op.provider), err);
        int64_t addr = file ? kern::do_mmap(ex, k, *proc, file, op.pages * kern::PAGE_SIZE, true, true, 0) : err;
        if (addr < 0) {
          ex.note(fmt::format("mmap of {} failed: {} ({})", op.provider, addr, errno_name(addr)));
          break;
        }
        w.bufs[{pid, op.buf}] = {static_cast<uint64_t>(addr), op.pages * kern::PAGE_SIZE};
        break;
      }
      case K::munmap: {
        auto it = w.bufs.find({pid, op.buf});
        if (it == w.bufs.end()) {
          ex.note(fmt::format("munmap {}: not mapped", op.buf));
          break;
        }
        kern::do_munmap(ex, k, *proc, it->second.addr, it->second.len);
        w.bufs.erase(it);
        break;
      }
      case K::store:
      case K::load: {
        auto it = w.bufs.find({pid, op.buf});
        if (it == w.bufs.end() || op.page * kern::PAGE_SIZE >= it->second.len) {
          ex.note(fmt::format("{} {}: no such mapping", to_string(op.kind), op.buf));
          break;
        }
        const uint64_t addr = it->second.addr + op.page * kern::PAGE_SIZE;
        auto r = kern::user_access(ex, k, *proc, addr, op.kind == K::store, op.value);
        if (r.error) {
          ex.note(fmt::format("{} at {:#x}: {}; the thread is killed", to_string(op.kind), addr, errno_name(r.error)));
          return;
        }
        if (op.kind == K::load && op.expect && r.value != *op.expect)
          ex.report(FindingKind::data_mismatch,
                    fmt::format("{} read {:#x} from {}[page {}] at {:#x}, expected {:#x}", task.name,
                                r.value, op.buf, op.page, addr, *op.expect));
        break;
      }
      case K::pin: {
        auto it = w.bufs.find({pid, op.buf});
        if (it == w.bufs.end()) {
          ex.note(fmt::format("pin {}: not mapped", op.buf));
          break;
        }
        long n = kern::get_user_pages_fast(ex, k, *proc, it->second.addr, static_cast<int>(op.pages),
                                           op.gup_flags, pinned);
        pinned_flags = op.gup_flags;
        ex.note(n < 0 ? fmt::format("pin {}: {} ({})", op.buf, n, errno_name(n))
                      : fmt::format("pin {}: {} of {} page(s)", op.buf, n, op.pages));
        break;
      }
      case K::unpin:
        for (const auto& gp : pinned) kern::gup_release_page(ex, k, gp, pinned_flags);
        pinned.clear();
        break;
      case K::unbind:
        kern::device_release_driver(ex, k, *w.providers.at(op.provider));
        break;
      case K::signal:
        w.events[op.event] = true;
        break;
      case K::wait: {
        bool* flag = &w.events[op.event];
        ex.wait_event([flag] { return *flag; }, fmt::format("wait for event '{}'", op.event).c_str());
        break;
      }
      case K::sleep:
        ex.schedule_timeout(op.duration);
        break;
      case K::compute:
        ex.cost(op.duration);
        break;
      case K::alloc: {
        auto* prov = w.providers.at(op.provider);
        uint64_t addr = kern::pci_alloc_p2pmem(ex, k, *prov, op.size);
        if (!addr)
          ex.note(fmt::format("pci_alloc_p2pmem({}) failed", op.size));
        else
          w.allocs[op.buf] = {prov, addr, op.size};
        break;
      }
      case K::o_direct: {
        auto it = w.bufs.find({pid, op.buf});
        kern::BlockDevice* dev = k.block_devices.count(op.dev) ? k.block_devices.at(op.dev) : nullptr;
        if (it == w.bufs.end() || !dev) {
          ex.note(fmt::format("o_direct {}: {}", op.buf, dev ? "not mapped" : "no such block device"));
          break;
        }
        const int64_t n = kern::blkdev_direct_io(ex, k, *proc, *dev, it->second.addr + op.page * kern::PAGE_SIZE,
                                                 op.pages * kern::PAGE_SIZE, op.offset, op.write);
        ex.note(n < 0 ? fmt::format("o_direct {} {}: {} ({})", op.write ? "write" : "read", op.dev, n, errno_name(n))
                      : fmt::format("o_direct {} {}: {} bytes", op.write ? "write" : "read", op.dev, n));
        break;
      }
      case K::p2pmem_test:
        run_p2pmem_test(ex, k, w, op, *proc);
        break;
      case K::set_acs: {
        uint16_t ctrl = 0;
        for (const auto& b : op.acs) {
          if (b == "sv") ctrl |= hw::acs::kSourceValidation;
          if (b == "tb") ctrl |= hw::acs::kTranslationBlocking;
          if (b == "rr") ctrl |= hw::acs::kRequestRedirect;
          if (b == "cr") ctrl |= hw::acs::kCompletionRedirect;
          if (b == "uf") ctrl |= hw::acs::kUpstreamForwarding;
          if (b == "ec") ctrl |= hw::acs::kEgressControl;
          if (b == "dt") ctrl |= hw::acs::kDirectTranslated;
        }
        if (w.platform) w.platform->set_acs(op.dev, ctrl);
        ex.note(fmt::format("set_acs {} = {:#x}", op.dev, ctrl));
        break;
      }
      case K::free: {
        auto it = w.allocs.find(op.buf);
        if (it == w.allocs.end()) break;
        kern::pci_free_p2pmem(ex, k, *it->second.prov, it->second.addr, it->second.size);
        w.allocs.erase(it);
        break;
      }
    }
  }
  // A thread that exits drops what it still pins (as the fd release would).
  for (const auto& gp : pinned) kern::gup_release_page(ex, k, gp, pinned_flags);
}

}  // namespace p2psim
