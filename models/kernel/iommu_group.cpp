// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/iommu_group.h"

#include "kernel/kernel.h"

namespace p2psim::kern {

const char* to_string(IommuDomainType t) {
  switch (t) {
    case IommuDomainType::identity: return "identity";
    case IommuDomainType::dma: return "DMA";
    case IommuDomainType::dma_fq: return "DMA-FQ";
  }
  return "?";
}

namespace {
// The DMA -> DMA-FQ switch both versions allow with a driver bound: the
// live domain gets its flush queues, and only then says it is DMA-FQ.
long bring_up_fq(Exec& ex, IommuGroup& g) {
  const int ret = g.init_fq();
  if (ret) return ret;
  g.type = IommuDomainType::dma_fq;
  ex.notef("{}: default domain DMA -> DMA-FQ (flush queue on the live domain)", g.device);
  return 0;
}

long replace_default_domain(Exec& ex, IommuGroup& g, IommuDomainType type) {
  if (g.type == type) return 0;  // the same type: nothing to change
  const int ret = g.new_default_domain(type);
  if (ret) return ret;
  ex.notef("{}: new default domain {} (was {})", g.device, to_string(type), to_string(g.type));
  g.type = type;
  return 0;
}
}  // namespace

long iommu_group_store_type(Exec& ex, Kernel& k, IommuGroup& g, const std::string& buf) {
  KFUNC(ex, "iommu_group_store_type");
  // sysfs_streq(): a trailing newline is allowed.
  std::string s = buf;
  if (!s.empty() && s.back() == '\n') s.pop_back();
  int req;  // 0: auto
  IommuDomainType type = g.boot_type;
  if (s == "identity") {
    req = 1, type = IommuDomainType::identity;
  } else if (s == "DMA") {
    req = 1, type = IommuDomainType::dma;
  } else if (s == "DMA-FQ") {
    req = 1, type = IommuDomainType::dma_fq;
  } else if (s == "auto") {
    req = 0;
  } else {
    return -22;  // -EINVAL
  }
  const bool to_fq = req && type == IommuDomainType::dma_fq && g.type == IommuDomainType::dma;
  if (k.knobs.iommu_store_type_check == IommuStoreTypeCheck::owner_cnt) {
    // 6.14, 7.0-rc6: under the group mutex, the flush queue first; any
    // other change needs the group without a DMA owner.
    if (to_fq) return bring_up_fq(ex, g);
    if (g.dma_owned()) return -1;  // -EPERM
    // iommu_setup_default_domain(): iommu_get_default_domain_type() turns
    // 0 into the boot type; an equal type keeps the domain.
    return replace_default_domain(ex, g, type);
  }
  // v6.2: the group has one device (checked under the group mutex, which is
  // then dropped), then under the device lock a bound driver allows only
  // DMA -> DMA-FQ.
  ex.might_sleep("device_lock");
  const bool* locked = g.device_locked;
  ex.wait_event([locked] { return !*locked; }, "device_lock");
  if (g.bound() && !to_fq) return -16;  // -EBUSY
  // iommu_change_dev_def_domain(): 0 is the boot type (no device-specific
  // requirement in the model); the same type is a no-op; DMA -> DMA-FQ
  // keeps the domain; anything else gets a new one.
  if (g.type == type) return 0;
  if (type == IommuDomainType::dma_fq && g.type == IommuDomainType::dma) return bring_up_fq(ex, g);
  return replace_default_domain(ex, g, type);
}

}  // namespace p2psim::kern
