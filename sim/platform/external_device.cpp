// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/external_device.h"

#include <fmt/format.h>

#include <algorithm>

#include "engine/systemc_host.h"
#include "kernel/kernel.h"
#include "platform/cpu_mmio_module.h"
#include "platform/device_exec.h"
#include "platform/dma_oracle.h"
#include "platform/interrupt_controller.h"
#include "platform/platform.h"

namespace p2psim {

ExternalDevice::ExternalDevice(Platform& p, const EndpointSpec& ep, pcie::ExternalEndpoint& model, int event_id)
    : p_(p), ep_(ep), model_(model), event_id_(event_id) {
  systemc_catch_up();  // a model's reset() may notify or read SystemC's clock
  model_.reset();      // power-on state for this execution
}

long ExternalDevice::mmio(kern::Exec& ex, uint64_t offset, uint64_t* value, bool write) {
  const kern::Costs& c = p_.kernel().costs;
  const auto added = p_.cpu_mmio().access(ep_.bar_phys + offset, value, write, p_.abs(ex.now()), ep_.name,
                                           p_.pci().device(ep_.device).host);
  // A posted write retires at the CPU; a read waits for the completion.
  ex.cost(write ? c.mmio_write : c.mmio_read + added.value_or(0));
  if (!added) {
    if (!write) *value = ~0ULL;  // a failed non-posted read completes as all ones
    return -5;                   // -EIO
  }
  return 0;
}

long ExternalDevice::map_page(kern::Exec& ex, const kern::GupPage& gp, uint64_t* dma) {
  const uint64_t phys = gp.page->pfn << kern::PAGE_SHIFT;
  const ps_t now = p_.abs(ex.now());
  const uint32_t cpu = static_cast<uint32_t>(std::max(0, ex.cpu()));
  Mapping mp{ex.task_name(), gp.page, phys, gp.shadow_alloc, false, {}, 0};
  if (gp.page->pgmap && gp.page->pgmap->type == kern::PgmapType::pci_p2pdma) {
    mp.p2p = true;
    mp.m = p_.mapper().dma_map_p2p(ep_.device, phys, kern::PAGE_SIZE, hw::DmaDirection::bidirectional, now, cpu);
    if (mp.m.err) return mp.m.err;
    mp.dma = mp.m.dma_addr;
  } else {
    mp.dma = p_.mapper().dma_map_page(ep_.device, phys, kern::PAGE_SIZE, hw::DmaDirection::bidirectional, now, cpu);
    if (mp.dma == hw::kDmaMappingError) return -12;  // -ENOMEM
  }
  maps_.push_back(mp);
  *dma = mp.dma;
  return 0;
}

void ExternalDevice::unmap_pages(kern::Exec& ex, const std::vector<kern::GupPage>& pages) {
  const uint32_t cpu = static_cast<uint32_t>(std::max(0, ex.cpu()));
  auto held = [&](const Mapping& mp) {
    return mp.owner == ex.task_name() &&
           std::any_of(pages.begin(), pages.end(), [&](const kern::GupPage& g) { return g.page == mp.page; });
  };
  for (const Mapping& mp : maps_) {
    if (!held(mp)) continue;
    const ps_t now = p_.abs(ex.now());
    // The CPU spins while the IOMMU invalidates (strict, or a full flush queue).
    if (mp.p2p)
      ex.cost(p_.mapper().dma_unmap_p2p(ep_.device, mp.m, kern::PAGE_SIZE, hw::DmaDirection::bidirectional, now, cpu));
    else
      ex.cost(p_.mapper().dma_unmap_page(ep_.device, mp.dma, kern::PAGE_SIZE, hw::DmaDirection::bidirectional, now, cpu));
  }
  maps_.erase(std::remove_if(maps_.begin(), maps_.end(), held), maps_.end());
}

void ExternalDevice::check(uint64_t addr, size_t len, ps_t at, const char* what) {
  check_device_dma(
      p_, ep_.name, addr, len, at, what,
      [this](uint64_t page) -> std::optional<uint64_t> {
        std::optional<uint64_t> shadow;
        for (const Mapping& mp : maps_)
          if (mp.phys == page) shadow = mp.shadow_alloc;
        return shadow;
      },
      "the device has no DMA mapping of it");
}

void ExternalDevice::on_msi(ps_t at, int cpu, uint32_t data) {
  Machine* m = p_.machine();
  if (!m) return;  // before the machine started: nobody listens yet
  // The interrupt controller takes it when the write arrives (@at).
  const uint64_t seq = msi_seq_++;
  p_.interrupts().post(at, event_id_, seq, [this, m, at, seq, cpu, data] {
    m->post_hardware_event({at, event_id_, seq, [this, m, cpu, data] {
                            // No such APIC: the interrupt goes nowhere, as on hardware
                            // (a task waiting for it is then a hang finding).
                            if (cpu >= m->nr_cpus()) return;
                            const int vector = static_cast<int>(data & 0xff);
                            m->raise_irq(cpu, fmt::format("msi {} vector {:#x}", ep_.name, vector),
                                         [this, vector](kern::Exec& ex) {
                                           KFUNC(ex, "endpoint_irq");
                                           ++completions_[vector];  // complete(&done)
                                         });
                          }});
  });
}

void ExternalDevice::wait_irq(kern::Exec& ex, int vector) {
  auto ready = [this, vector]() -> uint64_t* {  // the completion to take, lowest vector first
    for (auto& [v, n] : completions_)
      if (n && (vector < 0 || v == vector)) return &n;
    return nullptr;
  };
  // complete() wakes one waiter; a woken task that finds the completion
  // taken by another waiter sleeps again.
  while (!ready()) ex.wait_event([ready] { return ready() != nullptr; }, "wait_for_completion");
  --*ready();
}

}  // namespace p2psim
