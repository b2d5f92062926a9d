// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/device_driver.h"

namespace p2psim::kern {

void release_driver(Exec& ex, bool& device_locked, bool& bound, const std::function<void(Exec&)>& remove,
                    DevmActions& devm) {
  KFUNC(ex, "device_release_driver");
  ex.might_sleep("device_lock");
  const bool* locked = &device_locked;
  ex.wait_event([locked] { return !*locked; }, "device_lock");
  if (!bound) return;
  device_locked = true;
  bound = false;
  if (remove) remove(ex);
  for (auto it = devm.rbegin(); it != devm.rend(); ++it) {
    ex.notef("devm action {}", it->first);
    it->second(ex);
  }
  devm.clear();
  device_locked = false;
}

}  // namespace p2psim::kern
