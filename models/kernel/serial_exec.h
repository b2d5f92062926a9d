// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kernel/exec.h"

namespace p2psim::kern {

/**
 * class SerialExec - one CPU, no concurrency: for unit tests of ported
 * paths and for boot-time setup. Preemption points are recorded, IPIs run
 * at once, a grace period ends as soon as it is asked for (there are no
 * other readers), call_rcu callbacks run at drain_rcu() or when a sleep
 * (not in an RCU read section, with preemption and IRQs on) would
 * otherwise never end. A wait whose
 * condition is still false can never be woken here: it records a hang.
 */
class SerialExec : public Exec {
 public:
  explicit SerialExec(int cpu = 0, int pid = 0, std::string name = "boot")
      : cpu_(cpu), pid_(pid), name_(std::move(name)) {}

  int cpu() const override { return cpu_; }
  int pid() const override { return pid_; }
  const std::string& task_name() const override { return name_; }
  ps_t now() const override { return now_; }
  void cost(ps_t d) override { now_ += d; }
  void pp(const char* point) override {
    points.emplace_back(point);
    if (on_pp) on_pp(point);
  }
  void enter(const char* fn) override { calls.emplace_back(fn); }
  void leave(const char*) override {}
  void local_irq_disable() override { ++irq_off_; }
  void local_irq_enable() override { --irq_off_; }
  bool irqs_disabled() const override { return irq_off_ > 0; }
  void preempt_disable() override { ++preempt_off_; }
  void preempt_enable() override { --preempt_off_; }
  void rcu_read_lock() override { ++rcu_; }
  void rcu_read_unlock() override { --rcu_; }
  bool in_irq_context() const override { return false; }
  bool in_atomic() const override { return irq_off_ || preempt_off_ || rcu_; }
  void synchronize_rcu() override {
    might_sleep("synchronize_rcu");
    ++grace_periods;
  }
  void call_rcu(std::function<void(Exec&)> cb, const char*) override { rcu_cbs_.push_back(std::move(cb)); }
  void wait_event(std::function<bool()> cond, const char* what) override;
  void spin_until(std::function<bool()> cond, const char* what) override { wait_event(cond, what); }
  void schedule_timeout(ps_t d) override {
    might_sleep("schedule_timeout");
    now_ += d;
  }
  void smp_call_function_many(const CpuMask& mask, std::function<void(int)> fn, bool,
                              const char*) override {
    for (int c = 0; c < kMaxCpus; ++c)
      if (mask.test(c)) fn(c);
  }
  void report_finding(FindingKind kind, const std::string& message, uint64_t pfn,
                      uint64_t alloc) override {
    findings.push_back({kind, now_, cpu_, name_, message, {}, pfn, alloc});
  }
  void root_cause(const char* id, uint64_t pfn, uint64_t alloc, const std::string& message) override {
    causes.push_back({id, now_, cpu_, name_, message, pfn, alloc, findings.size()});
  }
  void note(const std::string& what) override { notes.push_back(what); }

  /// Run the queued call_rcu callbacks (as if a grace period ended).
  void drain_rcu();
  bool has_finding(FindingKind k) const;

  /// Test hook: "another CPU" acts at a named preemption point.
  std::function<void(const std::string&)> on_pp;
  std::vector<std::string> points, calls, notes;
  std::vector<Finding> findings;
  std::vector<RootCause> causes;
  int grace_periods = 0;

 private:
  int cpu_, pid_;
  std::string name_;
  ps_t now_ = 0;
  int irq_off_ = 0, preempt_off_ = 0, rcu_ = 0;
  std::vector<std::function<void(Exec&)>> rcu_cbs_;
};

}  // namespace p2psim::kern
