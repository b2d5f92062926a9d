// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <functional>
#include <string>

#include "engine/machine.h"
#include "kernel/exec.h"
#include "common/kernel_bug.h"

namespace p2psim {

/// The Exec a device model reports through: findings only, no CPU (the
/// oracles take an Exec; a device has no task, IRQ state or sleep).
class DeviceExec : public kern::Exec {
 public:
  DeviceExec(Machine* m, std::string name, ps_t abs) : m_(m), name_(std::move(name)), abs_(abs) {}
  int cpu() const override { return -1; }
  int pid() const override { return 0; }
  const std::string& task_name() const override { return name_; }
  ps_t now() const override { return abs_; }
  void cost(ps_t) override {}
  void pp(const char*) override {}
  void enter(const char*) override {}
  void leave(const char*) override {}
  void local_irq_disable() override {}
  void local_irq_enable() override {}
  bool irqs_disabled() const override { return true; }
  void preempt_disable() override {}
  void preempt_enable() override {}
  void rcu_read_lock() override {}
  void rcu_read_unlock() override {}
  bool in_irq_context() const override { return true; }
  bool in_atomic() const override { return true; }
  void synchronize_rcu() override { throw ModelBug("a device model cannot synchronize_rcu"); }
  void call_rcu(std::function<void(Exec&)>, const char*) override { throw ModelBug("a device model cannot call_rcu"); }
  void wait_event(std::function<bool()>, const char*) override { throw ModelBug("a device model cannot sleep"); }
  void spin_until(std::function<bool()>, const char*) override { throw ModelBug("a device model cannot spin"); }
  void schedule_timeout(ps_t) override { throw ModelBug("a device model cannot sleep"); }
  void smp_call_function_many(const kern::CpuMask&, std::function<void(int)>, bool, const char*) override {
    throw ModelBug("a device model cannot send IPIs");
  }
  void report_finding(FindingKind kind, const std::string& message, uint64_t, uint64_t) override {
    if (m_) m_->report_from_device(name_, kind, message, abs_);
  }
  void root_cause(const char* id, uint64_t, uint64_t, const std::string&) override {
    throw ModelBug(std::string("a device model recognised root cause ") + id + ": devices allocate no pages");
  }
  void note(const std::string&) override {}

 private:
  Machine* m_;
  std::string name_;
  ps_t abs_;
};

}  // namespace p2psim
