// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/known_bug.h"

#include <fmt/format.h>

#include "explore/finding_signature.h"

namespace p2psim {

const KnownBug* explain_findings(const std::vector<KnownBug>& known, const std::vector<Finding>& findings,
                                 const std::vector<RootCause>& causes) {
  if (findings.empty()) return nullptr;
  const Finding& first = findings.front();
  for (const KnownBug& k : known) {
    if (!k.signature.empty()) {
      if (finding_signature(first) == k.signature) return &k;
      continue;
    }
    if (first.pfn == kNoPfn || first.alloc == 0) continue;
    for (const RootCause& c : causes)
      if (c.id == k.cause && c.findings_before == 0 && c.pfn == first.pfn && c.alloc == first.alloc) return &k;
  }
  return nullptr;
}

std::string describe_root_cause(const RootCause& c) {
  return fmt::format("{} at {} on cpu{} ({}): {}", c.id, format_time(c.time), c.cpu, c.task, c.message);
}

}  // namespace p2psim
