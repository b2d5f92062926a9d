// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/dma_oracle.h"

#include <fmt/format.h>

#include "kernel/kernel.h"
#include "platform/device_exec.h"
#include "platform/platform.h"

namespace p2psim {

void check_device_dma(Platform& p, const std::string& device, uint64_t addr, size_t len, ps_t at, const char* what,
                      const std::function<std::optional<uint64_t>(uint64_t page)>& mapping, const char* unmapped) {
  kern::Kernel& k = p.kernel();
  for (uint64_t a = addr & ~(kern::PAGE_SIZE - 1); a < addr + len; a += kern::PAGE_SIZE) {
    kern::Page* page = k.pfn_to_page(a >> kern::PAGE_SHIFT);
    if (!page) continue;  // DRAM: driver memory, not tracked
    const std::optional<uint64_t> shadow = mapping(a);
    DeviceExec dx(p.machine(), device, at);
    if (!shadow) {
      dx.report(FindingKind::use_after_free, fmt::format("{} {} of pfn {:#x}: {}", device, what, page->pfn, unmapped));
      continue;
    }
    k.oracle.check_use(dx, k, *page, *shadow, 0, fmt::format("{} by {}", what, device));
  }
}

}  // namespace p2psim
