// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace p2psim::kern {

/**
 * struct FaultSite - a kernel call a scenario may make fail (`faults:`).
 * Each is a call whose failure the kernel handles, with the error path
 * modelled from the source (docs/fidelity.md); the nth call to reach the
 * site fails, counting every caller.
 */
struct FaultSite {
  std::string_view name;  ///< compared at every should_fail(): no strlen
  const char* call;     ///< the kernel call and its callers that reach the site
  const char* failure;  ///< what it returns, and why that can happen
  /// Called while the devices probe (boot): armed before boot, so `nth`
  /// counts probe-time calls. Every other site counts from the first task.
  bool at_probe = false;
};
const std::vector<FaultSite>& fault_sites();
const FaultSite* find_fault_site(std::string_view name);

}  // namespace p2psim::kern
