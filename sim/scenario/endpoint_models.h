// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <string>
#include <vector>

namespace p2psim {

/// The SystemC endpoint models built into the simulator, by the name a
/// scenario's `model:` gives (sim/platform/endpoint_models.cpp makes them;
/// a test checks the two lists agree).
const std::vector<std::string>& builtin_endpoint_models();

/**
 * open_endpoint_library() - dlopen() the shared library at @path (once per
 * process; it stays loaded) and check its entry points: the
 * P2PSIM_ENDPOINT_LIBRARY symbols of include/p2psim/pcie_tlm.h, with this
 * simulator's ABI version. Returns the handle, or nullptr with @why set.
 */
void* open_endpoint_library(const std::string& path, std::string* why);
/// "" when open_endpoint_library() can serve @path, else why not.
std::string check_endpoint_library(const std::string& path);

}  // namespace p2psim
