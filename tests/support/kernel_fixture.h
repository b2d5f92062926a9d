// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <memory>
#include <string>

#include "kernel/kernel.h"
#include "kernel/knobs.h"
#include "kernel/mmap.h"
#include "kernel/p2pdma.h"
#include "kernel/serial_exec.h"

namespace p2psim::test {

/// A kernel with one 16-page p2pmem provider, booted serially.
struct KernelFixture {
  explicit KernelFixture(const std::string& preset, int cpus = 2)
      : k(kern::find_preset(preset)->knobs, kern::default_costs(), cpus) {
    auto p = std::make_unique<kern::P2pdmaProvider>();
    p->name = "0000:03:00.0";
    p->bar_phys = 0xe0000000;
    p->bar_size = 16 * kern::PAGE_SIZE;
    prov = p.get();
    k.providers.push_back(std::move(p));
    if (kern::pci_p2pdma_add_resource(boot, k, *prov, 0, 0) != 0) throw std::runtime_error("add_resource");
  }
  kern::DevPagemap& pgmap() { return *prov->pgmaps.at(0); }
  kern::Page& page(int i) { return pgmap().pages.at(i); }
  kern::Process& proc(int pid) { return k.process(pid, "P" + std::to_string(pid)); }
  /// open + mmap @pages of p2pmem into @pid on @ex: the address or -errno.
  int64_t try_map(kern::Exec& ex, int pid, int pages) {
    int err = 0;
    auto f = kern::p2pmem_open(ex, k, *prov, err);
    if (!f) return err;
    return kern::do_mmap(ex, k, proc(pid), f, pages * kern::PAGE_SIZE, true, true, 0);
  }
  /// The same, for a mapping that must succeed; returns the address.
  uint64_t map(kern::Exec& ex, int pid, int pages) {
    const int64_t a = try_map(ex, pid, pages);
    if (a < 0) throw std::runtime_error("mmap " + std::to_string(a));
    return static_cast<uint64_t>(a);
  }
  uint64_t pool_virt(int page) const { return kern::PAGE_OFFSET + 0xe0000000ULL + page * kern::PAGE_SIZE; }

  kern::SerialExec boot;
  kern::Kernel k;
  kern::P2pdmaProvider* prov = nullptr;
};

}  // namespace p2psim::test
