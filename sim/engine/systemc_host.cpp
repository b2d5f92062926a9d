// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "engine/systemc_host.h"

#include <systemc>

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "common/kernel_bug.h"
#include "engine/fiber_set.h"

// libsystemc's main() wants sc_main; our executables have their own main().
int sc_main(int, char**) { return 0; }

namespace p2psim {

namespace {

class SystemcHost : public sc_core::sc_module, public CoroutineHost {
 public:
  SC_HAS_PROCESS(SystemcHost);
  SystemcHost(const sc_core::sc_module_name& name, const std::function<void(CoroutineHost&)>& main)
      : sc_core::sc_module(name), main_(main) {
    SC_THREAD(scheduler_thread);
    // Every advance a SystemC wait, as before the clocks could differ: for
    // checking that they give the same executions (tests/sim/cli).
    const char* lockstep = std::getenv("P2PSIM_SYSTEMC_LOCKSTEP");
    lockstep_ = lockstep && std::string(lockstep) != "0";
  }

  // Task handoffs are fiber switches inside the scheduler thread: SystemC
  // sees the scheduler wait for time and hardware (advance(),
  // wait_hardware()), never a handoff. Hardware processes wake only on
  // timed or delta notifications, so they ran only at those waits when the
  // tasks were SystemC threads too: executions are unchanged, without two
  // SystemC context switches and an evaluation pass per handoff.
  void start(int slot, std::function<void()> body) override { fibers_.start(slot, std::move(body)); }
  void resume(int slot) override { fibers_.resume(slot); }
  void yield(int slot) override { fibers_.yield(slot); }
  // Time runs ahead of SystemC's by lag_ while no SystemC activity is due
  // within it: no model can run or notify before then, so waiting would only
  // move SystemC's clock. The clock catches up when activity falls due, and
  // before the scheduler thread touches a model (catch_up()), so every model
  // sees what it saw when each advance was a wait.
  bool advance(ps_t dt) override {
    if (!dt) return false;
    // Lockstep asks SystemC nothing here, as before: looking at the next
    // activity drops cancelled timeouts from SystemC's event heap.
    if (!lockstep_ && due_in() > lag_ + dt) {
      lag_ += dt;
      return false;
    }
    const ps_t start = now();
    const ps_t span = lag_ + dt;
    lag_ = 0;  // before the wait: models that run in it see agreeing clocks
    sc_core::wait(sc_core::sc_time::from_value(span), kick_);
    return now() - start < dt;
  }
  bool hardware_pending() const override { return sc_core::sc_pending_activity(); }
  // Wake on a kick, or when the next hardware activity is due: the caller
  // then looks again, so hardware that went idle without posting anything
  // becomes a hang it can report, not a stalled simulation.
  void wait_hardware() override {
    const ps_t due = due_in();
    lag_ = 0;
    if (due == 0)
      sc_core::wait(sc_core::SC_ZERO_TIME);
    else
      sc_core::wait(sc_core::sc_time::from_value(due), kick_);
  }
  void kick() override {
    catch_up();
    kick_.notify(sc_core::SC_ZERO_TIME);
  }
  ps_t now() const override { return sc_core::sc_time_stamp().value() + lag_; }
  void catch_up() {
    if (!lag_) return;
    due_in();  // a model notified from behind would run in this wait, unseen
    const ps_t lag = lag_;
    lag_ = 0;
    sc_core::wait(sc_core::sc_time::from_value(lag));
  }

  std::exception_ptr error;

 private:
  void scheduler_thread() {
    try {
      main_(*this);
      finished = true;
    } catch (...) {
      if (!error) error = std::current_exception();
    }
    sc_core::sc_stop();
  }

 public:
  bool finished = false;

 private:

  /// Time from SystemC's clock to its next activity; activity due before
  /// the scheduler's clock was notified from behind it, past a catch_up().
  ps_t due_in() const {
    const ps_t due = sc_core::sc_time_to_pending_activity().value();
    if (due < lag_)
      throw ModelBug(fmt::format("SystemC activity due at {} was scheduled while the scheduler's clock was at {}: "
                                 "a model was touched without systemc_catch_up()",
                                 format_time(sc_core::sc_time_stamp().value() + due), format_time(now())));
    return due;
  }

  std::function<void(CoroutineHost&)> main_;
  FiberSet fibers_;
  sc_core::sc_event kick_;  ///< hardware posted an event
  ps_t lag_ = 0;            ///< the scheduler's clock minus SystemC's
  bool lockstep_ = false;   ///< P2PSIM_SYSTEMC_LOCKSTEP: never ahead
};

SystemcHost* the_host = nullptr;  // the process's one host (SystemC elaborates once)

}  // namespace

void systemc_catch_up() {
  if (the_host) the_host->catch_up();
}

void run_on_systemc(const std::function<void(CoroutineHost&)>& main, const std::function<void()>& elaborate) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  using sc_core::sc_report_handler;
  sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  sc_core::sc_set_time_resolution(1, sc_core::SC_PS);
  if (the_host) throw ModelBug("run_on_systemc called twice in one process");
  SystemcHost* host = the_host = new SystemcHost("p2pdma_sim", main);
  if (elaborate) elaborate();
  try {
    sc_core::sc_start();
  } catch (const std::exception& e) {
    throw ModelBug(std::string("SystemC: ") + e.what());
  }
  if (host->error) std::rethrow_exception(host->error);
  if (!host->finished)
    throw ModelBug(fmt::format("the simulation stalled at {}: the scheduler waited for an event nothing "
                               "would deliver", format_time(sc_core::sc_time_stamp().value())));
}

}  // namespace p2psim
