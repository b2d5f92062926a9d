// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "p2psim/time.h"

namespace p2psim {

/// What the oracles can report (DESIGN.md "Oracles").
enum class FindingKind {
  cross_context_leak,
  premature_free,
  use_after_free,
  refcount_underflow,
  kernel_bug,
  hang,
  sleep_in_atomic,
  iommu_fault,
  data_mismatch,
};

const char* to_string(FindingKind k);
std::optional<FindingKind> finding_kind_from_string(const std::string& s);
const std::vector<FindingKind>& all_finding_kinds();

/**
 * struct Finding - one oracle report.
 * @path: the code paths and preemption points involved, oldest first
 *        ("cpu1 a_io gup_fast_pte_range:after_ptep_get", ...).
 */
struct Finding {
  FindingKind kind;
  ps_t time = 0;
  int cpu = -1;
  std::string task;
  std::string message;
  std::vector<std::string> path;
};

}  // namespace p2psim
