// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <string>
#include <vector>

#include "common/finding.h"
#include "scenario/scenario.h"

namespace p2psim {

/**
 * explain_findings() - the known bug that explains an execution, or null.
 *
 * Only the first finding decides, because the later ones are usually its
 * consequences (a premature free, then a use after free, then a leak):
 * - a `cause:` bug explains it when the oracles recognised that root cause
 *   before any finding, on the page and allocation the first finding is
 *   about (the same pfn reallocated later is another allocation);
 * - a `signature:` bug explains it when the first finding has exactly that
 *   signature (finding_signature()).
 * An execution without findings is never "explained".
 */
const KnownBug* explain_findings(const std::vector<KnownBug>& known, const std::vector<Finding>& findings,
                                 const std::vector<RootCause>& causes);

/// "zone_device_reset_window at 12.3us on cpu2 (b_main): pfn 0xe0000 handed out ..."
std::string describe_root_cause(const RootCause& c);

}  // namespace p2psim
