// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The driver-core step every unbind goes through (drivers/base/dd.c), shared
// by the model's bound devices: p2pmem providers and vfio-pci functions.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "kernel/exec.h"

namespace p2psim::kern {

/// devres actions of a bound device, in registration order.
using DevmActions = std::vector<std::pair<std::string, std::function<void(Exec&)>>>;

/**
 * release_driver() - device_release_driver() -> __device_release_driver()
 * as of v6.2 (the same in 7.0.0): under the device lock (a second unbind
 * waits for the first, then finds no driver), the driver's ->remove
 * (@remove), then devres_release_all(): @devm in reverse order.
 */
void release_driver(Exec& ex, bool& device_locked, bool& bound, const std::function<void(Exec&)>& remove,
                    DevmActions& devm);

}  // namespace p2psim::kern
