// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"

namespace p2psim {

/// What the oracles can report (docs/model.md "Oracles").
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
  use_after_revoke,
};

const char* to_string(FindingKind k);
std::optional<FindingKind> finding_kind_from_string(const std::string& s);
const std::vector<FindingKind>& all_finding_kinds();

/// Finding::pfn / RootCause::pfn when no single page is involved.
constexpr uint64_t kNoPfn = ~0ULL;

/**
 * struct Finding - one oracle report.
 * @path: the code paths and preemption points involved, oldest first
 *        ("cpu1 a_io gup_fast_pte_range:after_ptep_get", ...).
 * @pfn: the page the report is about, kNoPfn when it is not about one.
 * @alloc: the oracle's allocation of that page the report is about (0: none).
 */
struct Finding {
  FindingKind kind;
  ps_t time = 0;
  int cpu = -1;
  std::string task;
  std::string message;
  std::vector<std::string> path;
  uint64_t pfn = kNoPfn;
  uint64_t alloc = 0;
};

/**
 * struct RootCause - a race mechanism an oracle recognised at the moment it
 * happened, before any symptom. It is not a finding: the same window can
 * pass harmlessly. Known-bug triage (sim/explore/known_bug.h) uses it to say which
 * findings it explains.
 * @id: one of all_root_causes() ("zone_device_reset_window").
 * @pfn, @alloc: the page and the oracle's allocation of it the cause harms.
 * @findings_before: how many findings the execution had reported by then.
 */
struct RootCause {
  std::string id;
  ps_t time = 0;
  int cpu = -1;
  std::string task;
  std::string message;
  uint64_t pfn = kNoPfn;
  uint64_t alloc = 0;
  size_t findings_before = 0;
};

/// A root cause the oracles can recognise, and what it means.
struct RootCauseInfo {
  const char* id;
  const char* description;
};
const std::vector<RootCauseInfo>& all_root_causes();

}  // namespace p2psim
