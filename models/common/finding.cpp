// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "common/finding.h"

namespace p2psim {

namespace {
const char* const kKindNames[] = {
    "cross_context_leak", "premature_free", "use_after_free",
    "refcount_underflow", "kernel_bug",     "hang",
    "sleep_in_atomic",    "iommu_fault",    "data_mismatch",
    "use_after_revoke",
};
}

const char* to_string(FindingKind k) { return kKindNames[static_cast<int>(k)]; }

const std::vector<FindingKind>& all_finding_kinds() {
  static const std::vector<FindingKind> all = [] {
    std::vector<FindingKind> v;
    for (int i = 0; i <= static_cast<int>(FindingKind::use_after_revoke); ++i)
      v.push_back(static_cast<FindingKind>(i));
    return v;
  }();
  return all;
}

const std::vector<RootCauseInfo>& all_root_causes() {
  static const std::vector<RootCauseInfo> all = {
      {"zone_device_reset_window",
       "vm_insert_page() refuses with -EINVAL a ZONE_DEVICE page at refcount 0 that its "
       "allocator handed out while free_zone_device_page() had returned it through page_free but "
       "not yet reset its refcount to 1 (v5.18 to v6.14)"},
  };
  return all;
}

std::optional<FindingKind> finding_kind_from_string(const std::string& s) {
  for (FindingKind k : all_finding_kinds())
    if (s == to_string(k)) return k;
  return std::nullopt;
}

}  // namespace p2psim
