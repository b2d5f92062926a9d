// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"

namespace p2psim::kern {

/**
 * struct Costs - simulated time of kernel steps. Every field has a source in
 * cost_specs(); "estimate" marks a figure with no anchor yet (see
 * docs/anchors.md for the anchored ones). Overridable per scenario as
 * `costs: { name: "30ns" }` or `--set cost.name=30ns`.
 */
struct Costs {
  ps_t syscall_entry;
  ps_t page_fault_entry;
  ps_t anon_page_alloc;
  ps_t pte_access;
  ps_t page_ref_atomic;
  ps_t genalloc_op;
  ps_t tlb_flush_local;
  ps_t ipi_delivery;
  ps_t rcu_grace_period;
  ps_t pin_page;
  ps_t unpin_page;
  ps_t user_access;
  ps_t percpu_ref_op;
  ps_t mmio_write;  ///< a CPU's writeq() to a device register
  ps_t mmio_read;   ///< a CPU's readq(), before what the device adds
  ps_t umr_round_trip;  ///< an mlx5 UMR posted and its completion waited for
  ps_t flr_wait;        ///< pcie_flr(): the wait after initiating a function level reset
  ps_t direct_reclaim;  ///< a blocking allocation that found no free memory: its time in reclaim
};

struct CostSpec {
  const char* name;
  ps_t Costs::*field;
  ps_t default_value;
  const char* source;
};

const std::vector<CostSpec>& cost_specs();
Costs default_costs();
/// Returns an error text, or nullopt on success.
std::optional<std::string> set_cost(Costs& c, const std::string& name, ps_t value);

}  // namespace p2psim::kern
