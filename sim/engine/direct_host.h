// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <functional>

#include "engine/machine.h"

namespace p2psim {

/**
 * run_on_direct_host() - run @main with a CoroutineHost whose task
 * coroutines are the FiberSet both hosts share and whose simulated time is
 * a plain counter: for scenarios without hardware models, no SystemC at
 * all. The Machine's decisions depend only on the host's now() and on
 * advance() returning early, which this host never does (nothing can post
 * a hardware event), so an execution is the same on both hosts
 * (tests/sim/explore/test_hosts.cpp checks the traces). Unlike SystemC it
 * may be called any number of times in one process.
 */
void run_on_direct_host(const std::function<void(CoroutineHost&)>& main);

}  // namespace p2psim
