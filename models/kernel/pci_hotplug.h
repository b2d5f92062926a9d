// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// PCIe native hotplug (pciehp): what the kernel does when a slot's link
// goes down under a bound function (docs/fidelity.md).
#include <functional>
#include <string>

#include "kernel/exec.h"

namespace p2psim::kern {

class Kernel;

/**
 * struct HotplugFunction - the function below a hotplug slot, as pciehp's
 * removal path touches it.
 * @slot_on: the slot's controller state is ON_STATE (a second Link Down
 *           event finds it off and does nothing).
 * @device_locked, @disconnected: the function's device lock and
 *           pci_dev_is_disconnected().
 * @stop_and_remove: pci_stop_and_remove_bus_device(): device_release_driver()
 *           (the driver's remove() and its devm actions), then the function
 *           is deleted (@deleted: its IOMMU group and sysfs files go).
 */
struct HotplugFunction {
  std::string slot;
  bool* slot_on = nullptr;
  bool* device_locked = nullptr;
  bool* disconnected = nullptr;
  bool* deleted = nullptr;
  std::function<void(Exec&)> stop_and_remove;
};

/**
 * pciehp_surprise_removal() - pciehp's IRQ thread handling a Link Down event
 * of a slot whose card is gone: pciehp_handle_presence_or_link_change() ->
 * pciehp_disable_slot(SURPRISE_REMOVAL) -> remove_board() ->
 * pciehp_unconfigure_device(presence = false), as of v6.2 (and 7.0-rc6).
 * The hardware is already gone when it runs. Returns -ENODEV when the slot
 * was already off, else 0.
 */
int pciehp_surprise_removal(Exec& ex, Kernel& k, HotplugFunction& fn);

}  // namespace p2psim::kern
