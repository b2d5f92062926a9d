// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "workload/task_ops.h"

#include <fmt/format.h>

#include <cstring>

#include "kernel/memory.h"
#include "kernel/blk.h"
#include "kernel/memory.h"
#include "kernel/mmap.h"
#include "platform/platform.h"
#include "common/rng.h"

namespace p2psim {

const char* errno_name(long e) {
  switch (-e) {
    case 2: return "ENOENT";
    case 5: return "EIO";
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


void run_task_ops(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const TaskSpec& task, int pid) {
  using K = OpSpec::Kind;
  kern::Process* proc = pid ? &k.processes.at(pid) : nullptr;
  std::vector<kern::GupPage> pinned;
  unsigned pinned_flags = 0;
  for (const OpSpec& op : task.ops) {
    ex.pp(op_point(op.kind));
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
        break;  // expanded by the loader into the steps below
      case K::p2pmem_setup:
        p2pmem_test_setup(ex, k, w, op, *proc, op.run);
        break;
      case K::p2pmem_thread: {
        P2pmemTestRun* r = &w.p2pmem_runs[op.run];
        ex.wait_event([r] { return r->ready; }, "p2pmem-test: wait for setup");
        p2pmem_test_thread(ex, k, w, op, *proc, op.run, op.thread);
        break;
      }
      case K::p2pmem_report:
        p2pmem_test_report(ex, k, w, op, *proc, op.run);
        break;
      case K::set_acs: {
        const uint16_t ctrl = acs_bits(op.acs);
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
