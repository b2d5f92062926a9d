// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// pciehp's surprise removal (models/kernel/pci_hotplug.cpp) without SystemC:
// SerialExec reports a wait that cannot end as a hang finding, which shows
// which lock each version takes.
#include <catch2/catch.hpp>

#include "kernel/kernel.h"
#include "kernel/knobs.h"
#include "kernel/pci_hotplug.h"
#include "kernel/serial_exec.h"

using namespace p2psim;

namespace {
struct Slot {
  explicit Slot(const char* preset) : k(kern::find_preset(preset)->knobs, kern::default_costs(), 2) {
    fn.slot = "0000:03:00.0";
    fn.slot_on = &on;
    fn.device_locked = &locked;
    fn.disconnected = &disconnected;
    fn.deleted = &deleted;
    fn.stop_and_remove = [this](kern::Exec&) {
      removed_while_disconnected = disconnected;
      ++removes;
    };
  }
  int pull() { return kern::pciehp_surprise_removal(ex, k, fn); }
  bool hung_on(const std::string& what) const {
    for (const auto& f : ex.findings)
      if (f.kind == FindingKind::hang && f.message.find(what) != std::string::npos) return true;
    return false;
  }

  kern::Kernel k;
  kern::SerialExec ex;
  kern::HotplugFunction fn;
  bool on = true, locked = false, disconnected = false, deleted = false;
  bool removed_while_disconnected = false;
  int removes = 0;
};
}  // namespace

TEST_CASE("pciehp marks the function disconnected, then unbinds and deletes it, once", "[hotplug]") {
  for (const char* preset : {"v6.2", "latest"}) {
    INFO(preset);
    Slot s(preset);
    CHECK(s.pull() == 0);
    CHECK(s.removes == 1);
    CHECK(s.removed_while_disconnected);  // the driver's remove() sees the function gone
    CHECK(s.deleted);
    CHECK_FALSE(s.k.pci_rescan_remove_locked);
    CHECK(s.pull() == -19);  // the slot is off: a second event does nothing
    CHECK(s.removes == 1);
    CHECK(s.ex.findings.empty());
  }
}

TEST_CASE("v6.2 marks the function under its device lock, 6.14 and 7.0 without it", "[hotplug]") {
  Slot old("v6.2");
  old.locked = true;  // an unbind in progress holds it
  old.pull();
  CHECK(old.hung_on("device_lock"));
  Slot now("latest");
  now.locked = true;
  CHECK(now.pull() == 0);
  CHECK(now.ex.findings.empty());
  CHECK(now.disconnected);
}

TEST_CASE("pciehp waits for the PCI rescan/remove lock before it unbinds", "[hotplug]") {
  Slot s("latest");
  s.k.pci_rescan_remove_locked = true;  // another rescan or removal holds it
  s.pull();
  CHECK(s.hung_on("pci_lock_rescan_remove"));
}
