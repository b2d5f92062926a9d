// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "workload/task_ops.h"

#include <fmt/format.h>

#include <cstring>

#include "kernel/memory.h"
#include "kernel/blk.h"
#include "kernel/memory.h"
#include "kernel/mmap.h"
#include "kernel/iommu_group.h"
#include "kernel/pci_hotplug.h"
#include "platform/external_device.h"
#include "platform/platform.h"
#include "common/kernel_bug.h"
#include "common/rng.h"

namespace p2psim {



void run_task_ops(kern::Exec& ex, kern::Kernel& k, ScenarioWorld& w, const TaskSpec& task, int pid) {
  using K = OpSpec::Kind;
  kern::Process* proc = pid ? &k.processes.at(pid) : nullptr;
  std::vector<kern::GupPage> pinned;
  unsigned pinned_flags = 0;
  std::map<std::string, std::pair<size_t, size_t>> pinned_of;  // buffer -> its pages in @pinned
  // unpin_user_pages(), after the DMA mappings tlm endpoints hold of them.
  auto release_pinned = [&] {
    if (w.platform && !pinned.empty()) w.platform->unmap_device_dma(ex, pinned);
    for (const auto& gp : pinned) kern::gup_release_page(ex, k, gp, pinned_flags);
    pinned.clear();
    pinned_of.clear();
  };
  // What the op did, for the per-op log and `failures:`. @text formats the
  // result only when outcomes are recorded (campaigns do not: hot path).
  auto outcome = [&](const OpSpec& op, long error, auto&& text) {
    if (w.record_outcomes) w.outcomes.push_back({task.name, to_string(op.kind), ex.now(), error, std::string(text())});
  };
  auto error_text = [](long e) { return fmt::format("{} ({})", e, errno_name(e)); };
  // The file of this process's open fd of vfio device @dev, or null.
  auto vfio_fd_of = [&](const std::string& dev) -> std::shared_ptr<kern::File> {
    const kern::VfioPciCoreDevice* v = w.vfio.at(dev);
    if (proc && v->file)
      for (const auto& [fd, f] : proc->fds)
        if (f == v->file) return f;
    return nullptr;
  };
  for (const OpSpec& op : task.ops) {
    ex.pp(op_point(op.kind));
    switch (op.kind) {
      case K::mmap: {
        int err = 0;
        auto file = kern::p2pmem_open(ex, k, *w.providers.at(op.provider), err);
        int64_t addr = file ? kern::do_mmap(ex, k, *proc, file, op.pages * kern::PAGE_SIZE, true, true, 0) : err;
        if (addr < 0) {
          ex.notef("mmap of {} failed: {} ({})", op.provider, addr, errno_name(addr));
          outcome(op, addr, [&] { return error_text(addr); });
          break;
        }
        outcome(op, 0, [&] { return fmt::format("{:#x}", addr); });
        w.buf(pid, op.buf_id) = {static_cast<uint64_t>(addr), op.pages * kern::PAGE_SIZE, true};
        break;
      }
      case K::munmap: {
        UserBuf& b = w.buf(pid, op.buf_id);
        if (!b.mapped) {
          ex.notef("munmap {}: not mapped", op.buf);
          outcome(op, 0, [&] { return "not mapped: nothing to do"; });
          break;
        }
        const int rc = kern::do_munmap(ex, k, *proc, b.addr, b.len);
        outcome(op, rc, [&] { return rc ? error_text(rc) : "0"; });
        b = UserBuf{};
        break;
      }
      case K::store:
      case K::load: {
        const UserBuf& b = w.buf(pid, op.buf_id);
        if (!b.mapped || op.page * kern::PAGE_SIZE >= b.len) {
          ex.notef("{} {}: no such mapping", to_string(op.kind), op.buf);
          outcome(op, -14, [&] { return "EFAULT: no such mapping (a real thread would get SIGSEGV; the model goes on)"; });
          break;
        }
        const uint64_t addr = b.addr + op.page * kern::PAGE_SIZE;
        auto r = kern::user_access(ex, k, *proc, addr, op.kind == K::store, op.value);
        if (r.error) {
          ex.notef("{} at {:#x}: {}; the thread is killed", to_string(op.kind), addr, errno_name(r.error));
          outcome(op, r.error, [&] { return fmt::format("{} at {:#x}: the thread is killed", errno_name(r.error), addr); });
          return;
        }
        outcome(op, 0, [&] { return op.kind == K::load ? fmt::format("{:#x}", r.value) : "ok"; });
        if (op.kind == K::load && op.expect && r.value != *op.expect)
          ex.report(FindingKind::data_mismatch,
                    fmt::format("{} read {:#x} from {}[page {}] at {:#x}, expected {:#x}", task.name,
                                r.value, op.buf, op.page, addr, *op.expect));
        break;
      }
      case K::pin: {
        const UserBuf& b = w.buf(pid, op.buf_id);
        if (!b.mapped) {
          ex.notef("pin {}: not mapped", op.buf);
          outcome(op, -14, [&] { return "EFAULT: not mapped"; });
          break;
        }
        const size_t first = pinned.size();
        long n = kern::get_user_pages_fast(ex, k, *proc, b.addr, static_cast<int>(op.pages),
                                           op.gup_flags, pinned);
        pinned_flags = op.gup_flags;
        if (n > 0) pinned_of[op.buf] = {first, static_cast<size_t>(n)};
        if (ex.noting()) ex.note(n < 0 ? fmt::format("pin {}: {} ({})", op.buf, n, errno_name(n))
                      : fmt::format("pin {}: {} of {} page(s)", op.buf, n, op.pages));
        outcome(op, n < 0 ? n : 0, [&] { return n < 0 ? error_text(n) : fmt::format("{} of {} page(s)", n, op.pages); });
        break;
      }
      case K::unpin: {
        const size_t n = pinned.size();
        release_pinned();
        outcome(op, 0, [&] { return fmt::format("{} page(s) released", n); });
        break;
      }
      case K::wait_irq: {
        ExternalDevice* dev = w.platform ? w.platform->external(op.dev) : nullptr;
        if (!dev) throw ModelBug(fmt::format("wait_irq: no model for tlm endpoint {}", op.dev));
        dev->wait_irq(ex);
        outcome(op, 0, [&] { return "interrupted"; });
        break;
      }
      case K::mmio_write:
      case K::mmio_poll: {
        ExternalDevice* dev = w.platform ? w.platform->external(op.dev) : nullptr;
        if (!dev) throw ModelBug(fmt::format("{}: no model for tlm endpoint {}", to_string(op.kind), op.dev));
        uint64_t value = op.value;
        if (op.msi_cpu >= 0) value = Platform::kMsiBase | static_cast<uint64_t>(op.msi_cpu) << 12;
        if (!op.buf.empty()) {  // the DMA address of a pinned page
          auto it = pinned_of.find(op.buf);
          if (it == pinned_of.end() || op.page >= it->second.second) {
            ex.notef("mmio_write {}: page {} of {} is not pinned by this task", op.dev, op.page, op.buf);
            outcome(op, -14, [&] { return fmt::format("EFAULT: page {} of {} is not pinned by this task", op.page, op.buf); });
            break;
          }
          const long err = dev->map_page(ex, pinned[it->second.first + op.page], &value);
          if (err) {
            ex.notef("mmio_write {}: DMA mapping of {} failed: {} ({})", op.dev, op.buf, err, errno_name(err));
            outcome(op, err, [&] { return error_text(err); });
            break;
          }
        }
        if (op.kind == K::mmio_write) {
          const long err = dev->mmio(ex, op.offset, &value, true);
          outcome(op, err, [&] { return err ? error_text(err) : fmt::format("{:#x}", value); });
          break;
        }
        // readq_poll_timeout(): read, compare, sleep, until the deadline.
        const ps_t deadline = ex.now() + op.duration;
        for (;;) {
          uint64_t got = 0;
          const long err = dev->mmio(ex, op.offset, &got, false);
          if (err) {
            outcome(op, err, [&] { return error_text(err); });
            break;
          }
          if (got == op.value) {
            outcome(op, 0, [&] { return fmt::format("{:#x}", got); });
            break;
          }
          if (ex.now() >= deadline) {
            ex.notef("mmio_poll {}+{:#x}: still {:#x} after {}", op.dev, op.offset, got, format_time(op.duration));
            outcome(op, -110, [&] { return fmt::format("ETIMEDOUT: still {:#x}", got); });
            break;
          }
          ex.schedule_timeout(op.interval);
        }
        break;
      }
      case K::unbind:
        if (w.vfio.count(op.provider))
          kern::vfio_device_release_driver(ex, k, *w.vfio.at(op.provider));
        else
          kern::device_release_driver(ex, k, *w.providers.at(op.provider));
        outcome(op, 0, [&] { return "driver unbound"; });
        break;
      case K::surprise_remove: {
        // The card leaves its slot: the link goes down at once (the
        // hardware), then this task plays pciehp's IRQ thread.
        kern::HotplugFunction fn;
        fn.slot = op.provider;
        bool& slot_on = w.slot_on.emplace(op.provider, true).first->second;
        fn.slot_on = &slot_on;
        uint64_t bar_phys = 0, bar_size = 0;
        auto function = [&](auto* d) {  // a vfio-pci function or a p2pmem provider
          bar_phys = d->bar_phys;
          bar_size = d->bar_size;
          fn.device_locked = &d->device_locked;
          fn.disconnected = &d->disconnected;
          fn.deleted = &d->deleted;
        };
        if (kern::VfioPciCoreDevice* v = w.vfio.count(op.provider) ? w.vfio.at(op.provider) : nullptr) {
          function(v);
          fn.stop_and_remove = [&k, v](kern::Exec& e) { kern::vfio_device_release_driver(e, k, *v); };
        } else {
          kern::P2pdmaProvider* p = w.providers.at(op.provider);
          function(p);
          fn.stop_and_remove = [&k, p](kern::Exec& e) { kern::device_release_driver(e, k, *p); };
        }
        if (slot_on) {
          k.bar_gone(bar_phys, bar_size);
          if (w.platform) w.platform->surprise_remove(op.provider);
          ex.notef("{}: link down (surprise removal)", op.provider);
          ex.pp("pciehp_ist:entry");
        }
        const int rc = kern::pciehp_surprise_removal(ex, k, fn);
        outcome(op, rc, [&] { return rc ? error_text(rc) : std::string("function removed"); });
        break;
      }
      case K::iommu_group_type: {
        // echo TYPE > /sys/kernel/iommu_groups/N/type as root: ENOENT when
        // the file does not exist (no IOMMU, or the function is gone).
        long rc = -2;
        kern::P2pdmaProvider* p = w.providers.count(op.dev) ? w.providers.at(op.dev) : nullptr;
        std::optional<kern::IommuGroup> g = w.platform ? w.platform->iommu_group(op.dev) : std::nullopt;
        if (g && p && p->deleted) g.reset();  // device_del() took the group
        if (g) {
          static const bool never_locked = false;  // a function without a driver model: nobody holds its lock
          g->device_locked = p ? &p->device_locked : &never_locked;
          g->bound = [p] { return !p || p->bound; };  // drives and tlm endpoints are never unbound
          g->dma_owned = [p] { return !p || p->dma_owner; };
          rc = kern::iommu_group_store_type(ex, k, *g, op.text);
        }
        outcome(op, rc, [&] { return rc ? error_text(rc) : fmt::format("{}: {}", op.dev, op.text); });
        break;
      }
      case K::vfio_open: {
        const long fd = kern::vfio_device_open(ex, k, *w.vfio.at(op.dev), *proc);
        outcome(op, fd < 0 ? fd : 0, [&] { return fd < 0 ? error_text(fd) : fmt::format("fd {}", fd); });
        break;
      }
      case K::vfio_close: {
        kern::VfioPciCoreDevice& v = *w.vfio.at(op.dev);
        long err = -9;  // -EBADF: this process has no open fd of the device
        for (auto it = proc->fds.begin(); it != proc->fds.end(); ++it)
          if (v.file && it->second == v.file) {
            proc->fds.erase(it);
            kern::vfio_device_close(ex, k, v);
            err = 0;
            break;
          }
        outcome(op, err, [&] { return err ? error_text(err) : "closed"; });
        break;
      }
      case K::vfio_mmap: {
        std::shared_ptr<kern::File> file = vfio_fd_of(op.dev);
        const int64_t addr = file ? kern::do_mmap(ex, k, *proc, file, op.pages * kern::PAGE_SIZE, true, true,
                                                  op.offset >> kern::PAGE_SHIFT)
                                  : -9;
        if (addr < 0) {
          outcome(op, addr, [&] { return error_text(addr); });
          break;
        }
        outcome(op, 0, [&] { return fmt::format("{:#x}", addr); });
        w.buf(pid, op.buf_id) = {static_cast<uint64_t>(addr), op.pages * kern::PAGE_SIZE, true};
        break;
      }
      case K::vfio_wait_request: {
        const kern::VfioPciCoreDevice* v = w.vfio.at(op.dev);
        ex.wait_event([v] { return v->requests > 0; }, "vfio request eventfd");
        outcome(op, 0, [&] { return "device release requested"; });
        break;
      }
      case K::pci_command: {
        if (!vfio_fd_of(op.dev)) {
          outcome(op, -9, [&] { return "EBADF: the process has no open fd of the device"; });
          break;
        }
        const int err = kern::vfio_pci_write_command_memory(ex, k, *w.vfio.at(op.dev), op.memory);
        outcome(op, err, [&] { return err ? error_text(err) : fmt::format("MEMORY={}", op.memory ? 1 : 0); });
        break;
      }
      case K::dmabuf_export: {
        if (!vfio_fd_of(op.dev)) {  // the feature is an ioctl on the device fd
          outcome(op, -9, [&] { return "EBADF: the process has no open fd of the device"; });
          break;
        }
        long err = 0;
        kern::DmaBuf* b = kern::vfio_pci_core_feature_dma_buf(ex, k, *w.vfio.at(op.dev), op.offset,
                                                              op.pages * kern::PAGE_SIZE, err);
        if (b) w.dmabufs[op.dmabuf] = b;
        outcome(op, err, [&] { return err ? error_text(err) : fmt::format("dma-buf {}", b->id); });
        break;
      }
      case K::dmabuf_close: {
        auto it = w.dmabufs.find(op.dmabuf);
        if (it == w.dmabufs.end()) {
          outcome(op, -9, [&] { return "EBADF: not exported (or already closed)"; });
          break;
        }
        kern::dma_buf_put(ex, k, *it->second);
        w.dmabufs.erase(it);
        outcome(op, 0, [&] { return "closed"; });
        break;
      }
      case K::rdma_reg_mr: {
        auto it = w.dmabufs.find(op.dmabuf);
        kern::RdmaDmabufMr& mr = w.mrs[op.dev];
        mr.dev = op.dev;
        const long err = it == w.dmabufs.end() ? -9 : kern::mlx5_ib_reg_user_mr_dmabuf(ex, k, mr, *it->second, op.pinned);
        outcome(op, err, [&] { return err ? error_text(err) : "registered"; });
        break;
      }
      case K::rdma_write: {
        auto it = w.mrs.find(op.dev);
        const long err = it == w.mrs.end() ? -22 : kern::mlx5_hca_dma_write(ex, k, it->second, op.value, op.duration);
        outcome(op, err, [&] { return err ? error_text(err) : "landed"; });
        break;
      }
      case K::iommufd_map: {
        auto it = w.dmabufs.find(op.dmabuf);
        kern::IommufdDmabufPages& pages = w.ioas[op.dev];
        pages.dev = op.dev;
        const long err = it == w.dmabufs.end() ? -9 : kern::iommufd_ioas_map_dmabuf(ex, k, pages, *it->second);
        outcome(op, err, [&] { return err ? error_text(err) : fmt::format("IOVA {:#x}", pages.iova); });
        break;
      }
      case K::iommufd_dma_write: {
        const long err = kern::iommufd_device_dma_write(ex, k, w.ioas.at(op.dev), op.value, op.duration);
        outcome(op, err, [&] { return err ? error_text(err) : "landed"; });
        break;
      }
      case K::iommufd_unmap:
        kern::iommufd_ioas_unmap(ex, k, w.ioas.at(op.dev));
        outcome(op, 0, [&] { return "unmapped"; });
        break;
      case K::rdma_dereg_mr: {
        auto it = w.mrs.find(op.dev);
        if (it != w.mrs.end()) kern::mlx5_ib_dereg_mr(ex, k, it->second);
        outcome(op, 0, [&] { return "deregistered"; });
        break;
      }
      case K::signal:
        w.events.at(static_cast<size_t>(op.event_id)) = 1;
        break;
      case K::wait: {
        char* flag = &w.events.at(static_cast<size_t>(op.event_id));
        ex.wait_event([flag] { return *flag; }, op.wait_text.c_str());
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
        if (!addr) {
          ex.notef("pci_alloc_p2pmem({}) failed", op.size);
          outcome(op, -12, [&] { return "ENOMEM: pci_alloc_p2pmem() returned NULL"; });
        } else {
          w.allocs[op.buf] = {prov, addr, op.size};
          outcome(op, 0, [&] { return fmt::format("{:#x}", addr); });
        }
        break;
      }
      case K::o_direct: {
        const UserBuf& b = w.buf(pid, op.buf_id);
        kern::BlockDevice* dev = k.block_devices.count(op.dev) ? k.block_devices.at(op.dev) : nullptr;
        if (!b.mapped || !dev) {
          ex.notef("o_direct {}: {}", op.buf, dev ? "not mapped" : "no such block device");
          outcome(op, dev ? -14 : -19, [&] { return dev ? "EFAULT: not mapped" : "ENODEV: no such block device"; });
          break;
        }
        const int64_t n = kern::blkdev_direct_io(ex, k, *proc, *dev, b.addr + op.page * kern::PAGE_SIZE,
                                                 op.pages * kern::PAGE_SIZE, op.offset, op.write);
        if (ex.noting()) ex.note(n < 0 ? fmt::format("o_direct {} {}: {} ({})", op.write ? "write" : "read", op.dev, n, errno_name(n))
                      : fmt::format("o_direct {} {}: {} bytes", op.write ? "write" : "read", op.dev, n));
        outcome(op, n < 0 ? n : 0, [&] { return n < 0 ? error_text(n) : fmt::format("{} bytes", n); });
        break;
      }
      case K::p2pmem_test:
      case K::fio:
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
      case K::p2pmem_report: {
        p2pmem_test_report(ex, k, w, op, *proc, op.run);
        const long err = w.p2pmem_runs[op.run].error;
        // Named as the scenario wrote it: the p2pmem_test or fio op.
        if (w.record_outcomes)
          w.outcomes.push_back({task.name, op.fio ? "fio" : "p2pmem_test", ex.now(), err, err ? error_text(err) : "ok"});
        break;
      }
      case K::p2pmem_find: {
        // pci_p2pmem_find_many() as of v6.2 (762-807), as nvmet calls it
        // when a namespace or a controller looks for p2pmem: each PCI device
        // in for_each_pci_dev() order (the topology's device order), held
        // only by a device reference; published providers get
        // pci_p2pdma_distance_many() over the clients. The kernel picks at
        // random among the closest; the model takes the first of them.
        ex.might_sleep("kmalloc(PAGE_SIZE, GFP_KERNEL) in pci_p2pmem_find_many");
        std::string best;
        int best_dist = 0;
        for (const std::string& name : w.platform ? w.platform->pci_device_names() : std::vector<std::string>{}) {
          auto it = w.providers.find(name);
          if (it == w.providers.end() || !kern::pci_has_p2pmem(ex, *it->second)) continue;
          ex.pp("pci_p2pmem_find_many:after_has_p2pmem");
          int total = 0;
          bool unsupported = false;
          for (const std::string& client : op.clients) {
            const auto d = w.platform->p2pdma_distance(name, client);
            if (!d) throw ModelBug("p2pmem_find: client '" + client + "' not in the topology");
            kern::calc_map_type_and_dist_store(ex, k, *it->second, d->client_idx, static_cast<int>(d->map_type));
            if (d->map_type == hw::MapType::not_supported) {
              unsupported = true;
              break;
            }
            total += d->distance;
          }
          if (unsupported || (!best.empty() && total >= best_dist)) continue;
          best = name;
          best_dist = total;
        }
        outcome(op, 0, [&] { return best.empty() ? std::string("none") : fmt::format("{} (distance {})", best, best_dist); });
        break;
      }
      case K::set_acs: {
        const uint16_t ctrl = acs_bits(op.acs);
        if (w.platform) w.platform->set_acs(op.dev, ctrl);
        ex.notef("set_acs {} = {:#x}", op.dev, ctrl);
        outcome(op, 0, [&] { return fmt::format("{:#x}", ctrl); });
        break;
      }
      case K::free: {
        auto it = w.allocs.find(op.buf);
        if (it == w.allocs.end()) {
          outcome(op, 0, [&] { return "not allocated: nothing to do"; });
          break;
        }
        kern::pci_free_p2pmem(ex, k, *it->second.prov, it->second.addr, it->second.size);
        outcome(op, 0, [&] { return "freed"; });
        w.allocs.erase(it);
        break;
      }
    }
    k.task_work_run(ex);  // return to user space: deferred fput()s
  }
  // A thread that exits drops what it still pins (as the fd release would).
  release_pinned();
  k.task_work_run(ex);
}

}  // namespace p2psim
