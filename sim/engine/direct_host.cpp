// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "engine/direct_host.h"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/fcontext.hpp>
#include <exception>
#include <memory>
#include <new>
#include <vector>

#include "common/kernel_bug.h"

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

namespace {

namespace ctx = boost::context::detail;

/// Kernel paths and fmt need more than 64 KiB, like the SystemC threads.
constexpr size_t kStackSize = 1 << 20;

/// A coroutine stack: mmap'd (touched pages only become memory), with a
/// guard page below it so an overflow faults instead of corrupting.
class Stack {
 public:
  Stack() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    base_ = mmap(nullptr, kStackSize + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
    if (base_ == MAP_FAILED) throw std::bad_alloc();
    mprotect(base_, page_, PROT_NONE);
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

class DirectHost : public CoroutineHost {
 public:
  ~DirectHost() override {
    // A coroutine still inside a body cannot be unwound from here; the
    // Machine unwinds every body before an execution ends, so all slots
    // wait in their loop and their stacks can go.
  }

  void start(int slot, std::function<void()> body) override {
    while (static_cast<int>(slots_.size()) <= slot) {
      auto s = std::make_unique<Slot>();
      s->host = this;
      const int n = static_cast<int>(slots_.size());
      s->ctx = ctx::make_fcontext(s->stack.coloured_top(n), kStackSize - Stack::colour(n), &DirectHost::entry);
      slots_.push_back(std::move(s));
    }
    Slot& s = *slots_[slot];
    if (s.in_body) {
      // Its last body never returned: an execution was abandoned by an
      // exception. Start a fresh coroutine on the stack; the old frames
      // are dropped unrun (their objects belonged to that execution).
      s.ctx = ctx::make_fcontext(s.stack.coloured_top(slot), kStackSize - Stack::colour(slot), &DirectHost::entry);
      s.in_body = false;
      s.fake_stack = nullptr;
    }
    s.body = std::move(body);
  }

  void resume(int slot) override {
    Slot& s = *slots_[slot];
    switch_out(&scheduler_fake_, s.stack.bottom(), kStackSize);
    const ctx::transfer_t t = ctx::jump_fcontext(s.ctx, &s);
    switch_in(scheduler_fake_);
    s.ctx = t.fctx;  // where the slot stopped: its next resume goes on there
    // A simulator bug thrown in a task body surfaces now, in the scheduler,
    // not after the execution went on without that task (the SystemC host
    // can only report it when its run ends).
    if (error) {
      std::exception_ptr e = error;
      error = nullptr;
      std::rethrow_exception(e);
    }
  }

  void yield(int slot) override { back_to_scheduler(*slots_[slot]); }

  bool advance(ps_t dt) override {
    now_ += dt;  // nothing else can happen meanwhile: no hardware models
    return false;
  }
  ps_t now() const override { return now_; }

  std::exception_ptr error;

 private:
  struct Slot {
    DirectHost* host = nullptr;
    Stack stack;
    ctx::fcontext_t ctx = nullptr;
    std::function<void()> body;
    bool in_body = false;        ///< a body started and has not returned
    void* fake_stack = nullptr;  ///< ASan's, while switched out
  };

  /// A slot's coroutine: run each body it is given, then hand back.
  [[noreturn]] static void entry(ctx::transfer_t t) {
    Slot& s = *static_cast<Slot*>(t.data);
    DirectHost& h = *s.host;
    h.switch_in(nullptr);
    h.scheduler_ = t.fctx;
    for (;;) {
      auto body = std::move(s.body);
      s.in_body = true;
      try {
        body();
      } catch (...) {
        if (!h.error) h.error = std::current_exception();
      }
      s.in_body = false;
      h.back_to_scheduler(s);
    }
  }

  void back_to_scheduler(Slot& s) {
    switch_out(&s.fake_stack, scheduler_bottom_, scheduler_size_);
    const ctx::transfer_t t = ctx::jump_fcontext(scheduler_, nullptr);
    switch_in(s.fake_stack);
    scheduler_ = t.fctx;
  }

  // AddressSanitizer must be told about every stack switch, or it reports
  // the other stack's frames as overflows (docs/robustness.md).
#ifdef P2PSIM_ASAN
  void switch_out(void** save, const void* bottom, size_t size) { __sanitizer_start_switch_fiber(save, bottom, size); }
  void switch_in(void* saved) {
    const void* bottom = nullptr;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(saved, &bottom, &size);
    // Learn the scheduler's own stack the first time a coroutine starts.
    if (!scheduler_bottom_) {
      scheduler_bottom_ = bottom;
      scheduler_size_ = size;
    }
  }
#else
  void switch_out(void**, const void*, size_t) {}
  void switch_in(void*) {}
#endif

  std::vector<std::unique_ptr<Slot>> slots_;
  ctx::fcontext_t scheduler_ = nullptr;  ///< where a yield returns to
  const void* scheduler_bottom_ = nullptr;
  size_t scheduler_size_ = 0;
  void* scheduler_fake_ = nullptr;  ///< ASan's, while a coroutine runs
  ps_t now_ = 0;
};

}  // namespace

void run_on_direct_host(const std::function<void(CoroutineHost&)>& main) {
  DirectHost host;
  main(host);  // an error in a task body is rethrown from resume()
}

}  // namespace p2psim
