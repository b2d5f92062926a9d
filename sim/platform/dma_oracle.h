// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/time.h"

namespace p2psim {

class Platform;

/**
 * check_device_dma() - the oracles' check of a DMA a device mastered, page
 * by page: a P2P page its driver had not mapped for it is use_after_free
 * ("DEVICE WHAT of pfn N: @unmapped"); a mapped one is checked against the
 * allocation the mapping saw (Oracle::check_use). Host DRAM is not tracked.
 * @mapping: the shadow allocation a mapping of the page at physical
 * address @page holds, or nullopt.
 */
void check_device_dma(Platform& p, const std::string& device, uint64_t addr, size_t len, ps_t at, const char* what,
                      const std::function<std::optional<uint64_t>(uint64_t page)>& mapping, const char* unmapped);

}  // namespace p2psim
