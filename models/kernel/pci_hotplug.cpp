// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/pci_hotplug.h"

#include "kernel/kernel.h"

namespace p2psim::kern {

namespace {
// pci_dev_set_disconnected(), the pci_walk_bus() callback: error_state
// becomes pci_channel_io_perm_failure, which pci_device_is_present() and
// the config accessors read from then on. Up to 6.2 under the device lock.
void pci_dev_set_disconnected(Exec& ex, Kernel& k, HotplugFunction& fn) {
  KFUNC(ex, "pci_dev_set_disconnected");
  if (k.knobs.pci_disconnect_device_lock) {
    ex.might_sleep("device_lock");
    const bool* locked = fn.device_locked;
    ex.wait_event([locked] { return !*locked; }, "device_lock");
  }
  *fn.disconnected = true;
  ex.notef("{}: marked disconnected (pci_channel_io_perm_failure)", fn.slot);
}
}  // namespace

int pciehp_surprise_removal(Exec& ex, Kernel& k, HotplugFunction& fn) {
  KFUNC(ex, "pciehp_handle_presence_or_link_change");
  // ctrl->state under state_lock: only a slot in ON_STATE is turned off.
  if (!*fn.slot_on) {
    ex.notef("Slot({}): already off", fn.slot);
    return -19;  // -ENODEV
  }
  *fn.slot_on = false;  // POWEROFF_STATE
  ex.notef("Slot({}): Link Down", fn.slot);
  {
    KFUNC(ex, "pciehp_unconfigure_device");
    // presence == false: every function below the port is marked first, so
    // its driver's remove() knows not to touch the hardware.
    pci_dev_set_disconnected(ex, k, fn);
    ex.pp("pciehp_unconfigure_device:after_set_disconnected");
    ex.might_sleep("pci_lock_rescan_remove");
    const bool* rescan = &k.pci_rescan_remove_locked;
    ex.wait_event([rescan] { return !*rescan; }, "pci_lock_rescan_remove");
    k.pci_rescan_remove_locked = true;
    {
      KFUNC(ex, "pci_stop_and_remove_bus_device");
      fn.stop_and_remove(ex);  // pci_stop_bus_device(): the driver goes
      *fn.deleted = true;      // pci_remove_bus_device() -> pci_destroy_dev() -> device_del()
    }
    // No PCI_COMMAND write: that is for a card still present.
    k.pci_rescan_remove_locked = false;
  }
  // remove_board(): a slot without a power controller skips the power-off
  // and its 1 s wait; the state goes to OFF_STATE, and with neither card
  // nor link present the handler does not turn the slot on again.
  return 0;
}

}  // namespace p2psim::kern
