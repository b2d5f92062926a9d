// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <exception>
#include <functional>
#include <memory>
#include <vector>

namespace p2psim {

/**
 * class FiberSet - the task coroutines of both hosts: Boost.Context fibers
 * on their own stacks, switched to from the scheduler and back, one stack
 * switch per handoff. The direct host keeps time as a counter around them;
 * the SystemC host runs them inside its scheduler thread, so SystemC only
 * sees the scheduler wait for time and hardware, never a task handoff.
 *
 * Slots are reused across executions: start() binds a new body to a slot,
 * resume() runs it until it yields or returns. An exception a body throws
 * (a ModelBug) is rethrown from resume(), in the scheduler, at once.
 * AddressSanitizer is told about every switch (docs/robustness.md).
 */
class FiberSet {
 public:
  FiberSet();
  ~FiberSet();
  FiberSet(const FiberSet&) = delete;
  FiberSet& operator=(const FiberSet&) = delete;

  void start(int slot, std::function<void()> body);
  void resume(int slot);
  void yield(int slot);

 private:
  struct Slot;
  friend struct FiberEntry;  ///< the fibers' entry function (fiber_set.cpp)
  void back_to_scheduler(Slot& s);
  void switch_out(void** save, const void* bottom, size_t size);
  void switch_in(void* saved);

  std::vector<std::unique_ptr<Slot>> slots_;
  void* scheduler_ = nullptr;  ///< fcontext where a yield returns to
  const void* scheduler_bottom_ = nullptr;
  size_t scheduler_size_ = 0;
  void* scheduler_fake_ = nullptr;  ///< ASan's, while a fiber runs
  std::exception_ptr error_;
};

}  // namespace p2psim
