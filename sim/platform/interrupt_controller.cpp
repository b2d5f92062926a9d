// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/interrupt_controller.h"

#include "engine/systemc_host.h"

namespace p2psim {

InterruptController::InterruptController(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
  SC_THREAD(run);
}

void InterruptController::post(ps_t at, int device, uint64_t seq, std::function<void()> deliver) {
  systemc_catch_up();
  pending_.emplace(std::make_tuple(at, device, seq), std::move(deliver));
  changed_.notify(sc_core::SC_ZERO_TIME);
}

void InterruptController::clear() {
  systemc_catch_up();
  pending_.clear();
  changed_.notify(sc_core::SC_ZERO_TIME);
}

void InterruptController::run() {
  for (;;) {
    if (pending_.empty()) {
      wait(changed_);
      continue;
    }
    const ps_t now = sc_core::sc_time_stamp().value();
    const ps_t due = std::get<0>(pending_.begin()->first);
    if (due > now) {
      wait(sc_core::sc_time::from_value(due - now), changed_);
      continue;  // look again: an earlier one may have come
    }
    auto deliver = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    deliver();
  }
}

}  // namespace p2psim
