// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/serial_exec.h"

namespace p2psim::kern {

void SerialExec::wait_event(std::function<bool()> cond, const char* what) {
  // Sleeping outside an RCU read section lets a grace period end (no other
  // CPU reads): the callbacks queued so far run, and may be what it waits for.
  if (!cond() && !in_atomic() && !rcu_cbs_.empty()) drain_rcu();
  if (!cond()) report(FindingKind::hang, std::string("waits forever: ") + what);
}

void SerialExec::drain_rcu() {
  auto cbs = std::move(rcu_cbs_);
  rcu_cbs_.clear();
  for (auto& cb : cbs) cb(*this);
}

bool SerialExec::has_finding(FindingKind k) const {
  for (const auto& f : findings)
    if (f.kind == k) return true;
  return false;
}

}  // namespace p2psim::kern
