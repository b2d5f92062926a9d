// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/costs.h"

#include <fmt/format.h>

namespace p2psim::kern {

const std::vector<CostSpec>& cost_specs() {
  static const std::vector<CostSpec> specs = {
      {"syscall_entry", &Costs::syscall_entry, 100_ns, "estimate: x86-64 syscall round trip with mitigations"},
      {"page_fault_entry", &Costs::page_fault_entry, 1000_ns, "estimate: exception entry + handle_mm_fault walk"},
      {"anon_page_alloc", &Costs::anon_page_alloc, 500_ns,
       "estimate: alloc_pages() plus clear_page() of 4 KiB for an anonymous fault"},
      {"pte_access", &Costs::pte_access, 5_ns, "estimate: cached page-table read or write"},
      {"page_ref_atomic", &Costs::page_ref_atomic, 20_ns, "estimate: atomic RMW on a shared cache line"},
      {"genalloc_op", &Costs::genalloc_op, 200_ns, "estimate: genalloc bitmap search and set"},
      {"tlb_flush_local", &Costs::tlb_flush_local, 100_ns, "docs/anchors.md CPU side: single-page flush ~100 ns"},
      {"ipi_delivery", &Costs::ipi_delivery, 1500_ns, "estimate: x86 IPI send-to-handler latency"},
      {"rcu_grace_period", &Costs::rcu_grace_period, 4_ms, "docs/anchors.md CPU side: normal grace periods mostly 4-8 ms"},
      {"pin_page", &Costs::pin_page, 62_ns, "docs/anchors.md CPU side: long-term pin ~62 ns per 4 KiB page (LKML 2025)"},
      {"unpin_page", &Costs::unpin_page, 15_ns, "docs/anchors.md CPU side: unpin ~15 ns per page (LKML 2025)"},
      {"user_access", &Costs::user_access, 100_ns, "estimate: one CPU load/store to BAR memory through the TLB"},
      {"percpu_ref_op", &Costs::percpu_ref_op, 5_ns, "estimate: per-CPU counter update"},
      {"mmio_write", &Costs::mmio_write, 50_ns, "estimate: a posted uncached store (writeq) retiring at the CPU"},
      {"mmio_read", &Costs::mmio_read, 800_ns,
       "estimate: an uncached load (readq) waits for a PCIe MRd and its CplD; pcie-bench's 64 B DMA read, the "
       "other way round, takes ~546 ns"},
      {"umr_round_trip", &Costs::umr_round_trip, 2_us,
       "estimate: a UMR work request posted to the HCA and its completion waited for (doorbell, WQE fetch, CQE, interrupt)"},
      {"flr_wait", &Costs::flr_wait, 100_ms,
       "pcie_flr(): msleep(100) after initiating the reset (PCIe r4.0 sec 6.6.2: an FLR completes within 100 ms)"},
      {"direct_reclaim", &Costs::direct_reclaim, 1_ms,
       "estimate: a GFP_KERNEL allocation under memory pressure sleeps in direct reclaim (one "
       "reclaim_throttle() wait is up to 100 ms; 1 ms is a short reclaim)"},
  };
  return specs;
}

Costs default_costs() {
  Costs c{};
  for (const auto& s : cost_specs()) c.*(s.field) = s.default_value;
  return c;
}

std::optional<std::string> set_cost(Costs& c, const std::string& name, ps_t value) {
  for (const auto& s : cost_specs())
    if (name == s.name) {
      c.*(s.field) = value;
      return std::nullopt;
    }
  std::string names;
  for (const auto& s : cost_specs()) names += std::string(names.empty() ? "" : ", ") + s.name;
  return fmt::format("unknown cost '{}'; known costs: {}", name, names);
}

}  // namespace p2psim::kern
