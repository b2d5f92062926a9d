// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// An IOMMU group's sysfs `type` file: changing the default domain of a
// single-device group at run time (docs/fidelity.md).
#include <functional>
#include <string>

#include "kernel/exec.h"

namespace p2psim::kern {

class Kernel;

/// iommu_domain types a default domain can have.
enum class IommuDomainType { identity, dma, dma_fq };
const char* to_string(IommuDomainType t);

/**
 * struct IommuGroup - a single-device IOMMU group as the sysfs store sees it.
 * @type: group->default_domain->type (also group->domain: nothing else is
 *        attached in the model).
 * @boot_type: what `auto` asks for: iommu_def_domain_type, the boot mode.
 * @device_locked: the device's lock (v6.2 takes it).
 * @bound: a driver is bound (device_is_bound(), what v6.2 checks under the
 *        device lock, so an unbind in progress is waited for).
 * @dma_owned: the group's DMA owner count is not 0 (what 6.14 and 7.0
 *        check): a DMA-API driver holds it from probe until just after its
 *        remove() returns (dma_cleanup()).
 * @init_fq: iommu_dma_init_fq() on the live default domain.
 * @new_default_domain: allocate a default domain of that type and attach
 *        the device to it (the old one is freed).
 */
struct IommuGroup {
  std::string device;
  IommuDomainType type = IommuDomainType::dma;
  IommuDomainType boot_type = IommuDomainType::dma;
  const bool* device_locked = nullptr;
  std::function<bool()> bound;
  std::function<bool()> dma_owned;
  std::function<int()> init_fq;
  std::function<int(IommuDomainType)> new_default_domain;
};

/**
 * iommu_group_store_type() - a write of @buf ("identity", "DMA", "DMA-FQ" or
 * "auto") to the group's `type`, as of v6.2 or 6.14/7.0-rc6 (knob
 * iommu_store_type_check). Returns 0 or -errno.
 */
long iommu_group_store_type(Exec& ex, Kernel& k, IommuGroup& g, const std::string& buf);

}  // namespace p2psim::kern
