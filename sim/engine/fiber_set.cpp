// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "engine/fiber_set.h"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define P2PSIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define P2PSIM_ASAN 1
#endif
#endif
#ifdef P2PSIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace p2psim {

namespace ctx = boost::context::detail;

namespace {

constexpr size_t kStackSize = 1 << 20;  // kernel paths + fmt need more than 64 KiB

class Stack {
 public:
  Stack() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    base_ = mmap(nullptr, kStackSize + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    if (base_ == MAP_FAILED) throw std::bad_alloc();
    mprotect(base_, page_, PROT_NONE);  // a guard page below: an overflow faults
  }
  ~Stack() {
#ifdef P2PSIM_ASAN
    // Frames left on it (a coroutine that never finished) keep their
    // poisoning: clear it, or memory mapped here later reports false errors.
    __asan_unpoison_memory_region(bottom(), kStackSize);
#endif
    munmap(base_, kStackSize + page_);
  }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  void* bottom() const { return static_cast<char*>(base_) + page_; }
  void* top() const { return static_cast<char*>(base_) + page_ + kStackSize; }
  /// Where a coroutine's frames start: the top, less a per-slot offset.
  /// Every stack top is page aligned, so without it the hot frames of all
  /// coroutines fall into the same L1 sets and evict each other at every
  /// switch (glibc colours thread stacks for the same reason).
  void* coloured_top(int slot) const { return static_cast<char*>(top()) - colour(slot); }
  static size_t colour(int slot) { return (static_cast<size_t>(slot) * 9 % 64) * 64; }  // 64 B steps in a page

 private:
  void* base_ = nullptr;
  size_t page_ = 4096;
};

}  // namespace

struct FiberSet::Slot {
  FiberSet* set = nullptr;
  Stack stack;
  ctx::fcontext_t ctx = nullptr;
  std::function<void()> body;
  bool in_body = false;        ///< a body started and has not returned
  void* fake_stack = nullptr;  ///< ASan's, while switched out
};

/// A slot's fiber: run each body it is given, then hand back.
struct FiberEntry {
  [[noreturn]] static void run(ctx::transfer_t t) {
    FiberSet::Slot& s = *static_cast<FiberSet::Slot*>(t.data);
    FiberSet& set = *s.set;
    set.switch_in(nullptr);
    set.scheduler_ = t.fctx;
    for (;;) {
      auto body = std::move(s.body);
      s.in_body = true;
      try {
        body();
      } catch (...) {
        if (!set.error_) set.error_ = std::current_exception();
      }
      s.in_body = false;
      set.back_to_scheduler(s);
    }
  }
};

FiberSet::FiberSet() = default;

// A fiber still inside a body cannot be unwound from here; the Machine
// unwinds every body before an execution ends, so all slots wait in their
// loop and their stacks can go.
FiberSet::~FiberSet() = default;

void FiberSet::start(int slot, std::function<void()> body) {
  while (static_cast<int>(slots_.size()) <= slot) {
    auto s = std::make_unique<Slot>();
    s->set = this;
    const int n = static_cast<int>(slots_.size());
    s->ctx = ctx::make_fcontext(s->stack.coloured_top(n), kStackSize - Stack::colour(n), &FiberEntry::run);
    slots_.push_back(std::move(s));
  }
  Slot& s = *slots_[static_cast<size_t>(slot)];
  if (s.in_body) {
    // Its last body never returned: an execution was abandoned by an
    // exception. Start a fresh fiber on the stack; the old frames are
    // dropped unrun (their objects belonged to that execution).
    s.ctx = ctx::make_fcontext(s.stack.coloured_top(slot), kStackSize - Stack::colour(slot), &FiberEntry::run);
    s.in_body = false;
    s.fake_stack = nullptr;
  }
  s.body = std::move(body);
}

void FiberSet::resume(int slot) {
  Slot& s = *slots_[static_cast<size_t>(slot)];
  switch_out(&scheduler_fake_, s.stack.bottom(), kStackSize);
  const ctx::transfer_t t = ctx::jump_fcontext(s.ctx, &s);
  switch_in(scheduler_fake_);
  s.ctx = t.fctx;  // where the slot stopped: its next resume goes on there
  // A simulator bug thrown in a task body surfaces now, in the scheduler,
  // not after the execution went on without that task.
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void FiberSet::yield(int slot) { back_to_scheduler(*slots_[static_cast<size_t>(slot)]); }

void FiberSet::back_to_scheduler(Slot& s) {
  switch_out(&s.fake_stack, scheduler_bottom_, scheduler_size_);
  const ctx::transfer_t t = ctx::jump_fcontext(scheduler_, nullptr);
  switch_in(s.fake_stack);
  scheduler_ = t.fctx;
}

// AddressSanitizer must be told about every stack switch, or it reports
// the other stack's frames as overflows (docs/robustness.md).
#ifdef P2PSIM_ASAN
void FiberSet::switch_out(void** save, const void* bottom, size_t size) {
  __sanitizer_start_switch_fiber(save, bottom, size);
}
void FiberSet::switch_in(void* saved) {
  const void* bottom = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(saved, &bottom, &size);
  // Learn the scheduler's own stack the first time a fiber starts.
  if (!scheduler_bottom_) {
    scheduler_bottom_ = bottom;
    scheduler_size_ = size;
  }
}
#else
void FiberSet::switch_out(void**, const void*, size_t) {}
void FiberSet::switch_in(void*) {}
#endif

}  // namespace p2psim
