// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <functional>

#include "engine/machine.h"

namespace p2psim {

/**
 * run_on_systemc() - elaborate the SystemC host once, then run @main in its
 * scheduler thread with a CoroutineHost whose coroutines are fibers inside
 * that thread (FiberSet) and whose time is SystemC's. Many executions may run inside one call (SystemC cannot
 * re-elaborate in one process, E529). SystemC warnings are errors.
 * @elaborate runs before sc_start(): it creates the device modules.
 * Call at most once per process.
 */
void run_on_systemc(const std::function<void(CoroutineHost&)>& main,
                    const std::function<void()>& elaborate = {});

}  // namespace p2psim
