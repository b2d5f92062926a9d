// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace p2psim {

/**
 * KernelBug - thrown by ported kernel code where Linux would BUG() or
 * VM_BUG_ON(). The simulated task that hit it dies (as the kernel thread
 * would); the engine records a `kernel_bug` finding naming the message.
 */
class KernelBug : public std::runtime_error {
 public:
  explicit KernelBug(const std::string& what) : std::runtime_error(what) {}
  /// A BUG about one page (VM_BUG_ON_PAGE): the finding carries it.
  KernelBug(const std::string& what, uint64_t page_pfn, uint64_t page_alloc)
      : std::runtime_error(what), pfn(page_pfn), alloc(page_alloc) {}
  uint64_t pfn = ~0ULL;  ///< kNoPfn when the BUG is not about one page
  uint64_t alloc = 0;
};

/**
 * ModelBug - an internal invariant of the simulator itself was violated
 * (gem5's panic). Reported apart from findings: it is our bug, not the
 * kernel's.
 */
class ModelBug : public std::logic_error {
 public:
  explicit ModelBug(const std::string& what) : std::logic_error(what) {}
};

}  // namespace p2psim
