// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/nvme_module.h"

namespace p2psim {

NvmeModule::NvmeModule(const sc_core::sc_module_name& name) : sc_core::sc_module(name) { SC_THREAD(run); }

void NvmeModule::attach(hw::NvmeController* ctrl) {
  ctrl_ = ctrl;
  kick();
}

void NvmeModule::detach() {
  ctrl_ = nullptr;
  kick();  // leave any timed wait so nothing of this execution stays pending
}

void NvmeModule::run() {
  for (;;) {
    if (!ctrl_) {
      wait(kick_);
      continue;
    }
    const ps_t now = sc_core::sc_time_stamp().value();
    const ps_t t = ctrl_->next_event_time();
    if (t == hw::kNoEvent) {
      wait(kick_);
      continue;
    }
    if (t > now) {
      wait(sc_core::sc_time::from_value(t - now), kick_);
      continue;  // re-read: a kick may have brought an earlier event
    }
    ctrl_->advance(now);
  }
}

}  // namespace p2psim
