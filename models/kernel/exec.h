// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <fmt/format.h>

#include <bitset>
#include <functional>
#include <string>

#include "common/finding.h"
#include "common/time.h"

namespace p2psim::kern {

constexpr int kMaxCpus = 64;
using CpuMask = std::bitset<kMaxCpus>;

/**
 * class Exec - what ported kernel code sees of "the CPU it runs on".
 *
 * Ported functions take an Exec& the way kernel code uses `current` and
 * smp_processor_id(). The engine implements it on coroutines with a
 * controlled scheduler; tests implement it serially (SerialExec). Kernel
 * code never blocks or switches any other way, so every point where another
 * CPU can interleave is a named call to pp().
 */
class Exec {
 public:
  virtual ~Exec() = default;

  virtual int cpu() const = 0;            ///< smp_processor_id()
  virtual int pid() const = 0;            ///< current->tgid; 0 for kernel threads
  virtual const std::string& task_name() const = 0;
  virtual ps_t now() const = 0;

  /// Charge simulated time to the current step (from the cost table).
  virtual void cost(ps_t d) = 0;
  /// A named preemption point "function:where": other CPUs may run here.
  virtual void pp(const char* point) = 0;
  /// Trace slices for kernel functions; nest properly.
  virtual void enter(const char* fn) = 0;
  virtual void leave(const char* fn) = 0;

  // CPU state: IRQ-off regions and preempt-off regions are RCU readers.
  virtual void local_irq_disable() = 0;
  virtual void local_irq_enable() = 0;
  virtual bool irqs_disabled() const = 0;
  virtual void preempt_disable() = 0;
  virtual void preempt_enable() = 0;
  virtual void rcu_read_lock() = 0;
  virtual void rcu_read_unlock() = 0;
  virtual bool in_irq_context() const = 0;  ///< IPI handler / RCU callback
  virtual bool in_atomic() const = 0;

  /// Block (sleep, giving up the CPU) until the grace period started now ends.
  virtual void synchronize_rcu() = 0;
  /// Queue @cb to run on this CPU in softirq context after a grace period.
  virtual void call_rcu(std::function<void(Exec&)> cb, const char* what) = 0;
  /// Sleep until @cond holds; re-evaluated whenever shared state may change.
  /// @what (for hang reports) must outlive the wait: a literal, or text the
  /// scenario owns.
  virtual void wait_event(std::function<bool()> cond, const char* what) = 0;
  /// schedule_timeout()/msleep(): sleep for @d of simulated time.
  virtual void schedule_timeout(ps_t d) = 0;
  /// Busy-wait on this CPU (keeping it, IRQ state unchanged) until @cond.
  /// @what as for wait_event().
  virtual void spin_until(std::function<bool()> cond, const char* what) = 0;
  /**
   * Run @fn on every CPU in @mask by IPI (smp_call_function_many_cond).
   * A target with IRQs disabled takes it when it re-enables them. With
   * @wait the caller spins (IRQs as they are) until all targets ran it.
   */
  virtual void smp_call_function_many(const CpuMask& mask, std::function<void(int cpu)> fn,
                                      bool wait, const char* what) = 0;

  /// The kernel's might_sleep(): a sleep in atomic context is a finding.
  void might_sleep(const char* where) {
    if (in_atomic())
      report(FindingKind::sleep_in_atomic,
             std::string("BUG: sleeping function called from invalid context at ") + where);
  }
  /// Record an oracle finding attributed to this CPU and task.
  void report(FindingKind kind, const std::string& message) { report_finding(kind, message, kNoPfn, 0); }
  /// The same, about page @pfn as the oracle's allocation @alloc of it
  /// (known-bug triage ties it to a root cause).
  void report_page(FindingKind kind, uint64_t pfn, uint64_t alloc, const std::string& message) {
    report_finding(kind, message, pfn, alloc);
  }
  virtual void report_finding(FindingKind kind, const std::string& message, uint64_t pfn,
                              uint64_t alloc) = 0;
  /// An oracle recognised a race mechanism (all_root_causes()) as it happened.
  virtual void root_cause(const char* id, uint64_t pfn, uint64_t alloc, const std::string& message) = 0;
  /// A trace instant that is not a preemption point (e.g. "pin released").
  virtual void note(const std::string& what) = 0;
  /// Does anyone read notes (a trace, an interleaving listing)? When not,
  /// notef() formats nothing: campaigns run millions of executions.
  virtual bool noting() const { return true; }
  /// note(fmt::format(...)), formatted only when noting().
  template <typename... Args>
  void notef(fmt::format_string<Args...> f, Args&&... args) {
    if (noting()) note(fmt::format(f, std::forward<Args>(args)...));
  }
};

/// RAII trace slice for a ported function: `KFUNC(ex, "gup_fast_pte_range");`
class FuncScope {
 public:
  FuncScope(Exec& ex, const char* fn) : ex_(ex), fn_(fn) { ex_.enter(fn_); }
  ~FuncScope() { ex_.leave(fn_); }
  FuncScope(const FuncScope&) = delete;
  FuncScope& operator=(const FuncScope&) = delete;

 private:
  Exec& ex_;
  const char* fn_;
};
#define KFUNC_CAT2(a, b) a##b
#define KFUNC_CAT(a, b) KFUNC_CAT2(a, b)
#define KFUNC(ex, name) ::p2psim::kern::FuncScope KFUNC_CAT(kfunc_scope_, __LINE__)(ex, name)

}  // namespace p2psim::kern
