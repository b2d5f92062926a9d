// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <string>

#include "common/finding.h"

namespace p2psim {

/**
 * finding_signature() - what makes two findings "the same bug": the kind,
 * the kernel function stack of the reporter and the message with numbers
 * (addresses, pfns, pids, allocation ids, times) masked. Task names and
 * kernel function names stay: they are the code paths involved.
 */
std::string finding_signature(const Finding& f);
/// "internal_error @ simulator : REASON" with its numbers masked: an
/// execution that crashed or hung the simulator itself.
std::string internal_error_signature(const std::string& reason);

}  // namespace p2psim
