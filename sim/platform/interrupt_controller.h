// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <systemc>

#include <functional>
#include <map>
#include <tuple>

#include "common/time.h"

namespace p2psim {

/**
 * class InterruptController - the root complex's interrupt controller: an
 * MSI is delivered when its write arrives (the time the links computed),
 * not when the device issued it. Its thread sleeps until the earliest
 * pending MSI is due and then hands it on (to the Machine), in the order
 * (time, device, sequence) whatever order they were posted in.
 */
class InterruptController : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(InterruptController);
  explicit InterruptController(const sc_core::sc_module_name& name);
  /// Run @deliver at absolute time @at (now if that passed).
  void post(ps_t at, int device, uint64_t seq, std::function<void()> deliver);
  /// Drop everything pending (the execution ended).
  void clear();

 private:
  void run();
  std::map<std::tuple<ps_t, int, uint64_t>, std::function<void()>> pending_;
  sc_core::sc_event changed_;
};

}  // namespace p2psim
