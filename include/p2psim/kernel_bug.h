// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
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
