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

/**
 * systemc_catch_up() - bring SystemC's clock up to the scheduler's before the
 * scheduler thread touches a SystemC model (a notify, a b_transport). The
 * scheduler lets task time run ahead of SystemC's while no SystemC activity
 * is due (what TLM-2.0's quantum keeper does for an initiator), so that a
 * task's time advance is not a SystemC context switch; a notification made
 * from behind would land in the past. A no-op anywhere else: while a model
 * runs, the clocks agree.
 */
void systemc_catch_up();

}  // namespace p2psim
