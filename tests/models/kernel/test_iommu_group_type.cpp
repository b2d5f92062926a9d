// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// sysfs iommu_groups/N/type (models/kernel/iommu_group.cpp) on v6.2 and on
// the 6.14/7.0 form, without SystemC: the hooks record what the store asked
// of the IOMMU.
#include <catch2/catch.hpp>

#include <vector>

#include "kernel/iommu_group.h"
#include "kernel/kernel.h"
#include "kernel/knobs.h"
#include "kernel/serial_exec.h"

using namespace p2psim;
using kern::IommuDomainType;

namespace {
struct Group {
  explicit Group(const char* preset, IommuDomainType type, bool bound)
      : k(kern::find_preset(preset)->knobs, kern::default_costs(), 2), is_bound(bound) {
    g.device = "nvme0";
    g.type = type;
    g.boot_type = IommuDomainType::dma;
    g.device_locked = &locked;
    g.bound = [this] { return is_bound; };
    g.dma_owned = [this] { return is_bound; };  // the same outside an unbind in progress
    g.init_fq = [this] {
      calls.push_back("init_fq");
      return 0;
    };
    g.new_default_domain = [this](IommuDomainType t) {
      calls.push_back(std::string("new ") + kern::to_string(t));
      return 0;
    };
  }
  long store(const std::string& buf) { return kern::iommu_group_store_type(ex, k, g, buf); }

  kern::Kernel k;
  kern::SerialExec ex;
  kern::IommuGroup g;
  bool locked = false, is_bound;
  std::vector<std::string> calls;
};
}  // namespace

TEST_CASE("a bound driver's group goes from DMA to DMA-FQ on its live domain and no further", "[iommu_group]") {
  for (const char* preset : {"v6.2", "latest"}) {
    INFO(preset);
    Group t(preset, IommuDomainType::dma, /*bound=*/true);
    CHECK(t.store("DMA-FQ\n") == 0);  // sysfs_streq() takes the newline echo adds
    CHECK(t.g.type == IommuDomainType::dma_fq);
    CHECK(t.calls == std::vector<std::string>{"init_fq"});
    const long refused = std::string(preset) == "v6.2" ? -16 : -1;  // EBUSY under the device lock, EPERM by owner_cnt
    CHECK(t.store("DMA") == refused);
    CHECK(t.store("identity") == refused);
    CHECK(t.store("auto") == refused);
    CHECK(t.store("DMA-FQ") == refused);  // already DMA-FQ: not the one allowed switch
    CHECK(t.store("lazy") == -22);
    CHECK(t.g.type == IommuDomainType::dma_fq);
    CHECK(t.calls.size() == 1);
  }
}

TEST_CASE("an unbound device's group gets a new default domain, and auto is the boot type", "[iommu_group]") {
  for (const char* preset : {"v6.2", "latest"}) {
    INFO(preset);
    Group t(preset, IommuDomainType::dma_fq, /*bound=*/false);
    CHECK(t.store("identity") == 0);
    CHECK(t.store("identity") == 0);  // the same type: nothing new
    CHECK(t.store("auto") == 0);      // back to the boot type, DMA
    CHECK(t.store("DMA-FQ") == 0);    // from DMA: the flush queue on the same domain
    CHECK(t.calls == std::vector<std::string>{"new identity", "new DMA", "init_fq"});
    CHECK(t.g.type == IommuDomainType::dma_fq);
  }
}

TEST_CASE("v6.2 checks the binding under the device lock, 7.0 never takes it", "[iommu_group]") {
  Group old("v6.2", IommuDomainType::dma, /*bound=*/false);
  old.locked = true;  // an unbind in progress holds it
  old.store("identity");
  CHECK(old.ex.findings.size() == 1);  // SerialExec: a wait that cannot end is a hang
  Group now("latest", IommuDomainType::dma, /*bound=*/false);
  now.locked = true;
  CHECK(now.store("identity") == 0);
  CHECK(now.ex.findings.empty());
}
