// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "engine/systemc_host.h"

#include <systemc>

#include <cstdlib>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "common/kernel_bug.h"

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
  }

  void start(int slot, std::function<void()> body) override {
    bool spawned = false;
    while (static_cast<int>(workers_.size()) <= slot) {
      auto w = std::make_unique<Worker>();
      Worker* wp = w.get();
      workers_.push_back(std::move(w));
      sc_core::sc_spawn_options opts;
      opts.set_stack_size(1 << 20);  // kernel paths + fmt need more than 64 KiB
      sc_core::sc_spawn([this, wp] { worker_loop(wp); },
                        sc_core::sc_gen_unique_name("cpu_task"), &opts);
      spawned = true;
    }
    if (spawned) sc_core::wait(sc_core::SC_ZERO_TIME);  // let new workers reach their wait
    workers_[slot]->body = std::move(body);
  }
  void resume(int slot) override {
    workers_[slot]->go.notify();
    sc_core::wait(back_);
  }
  void yield(int slot) override {
    back_.notify();
    sc_core::wait(workers_[slot]->go);
  }
  bool advance(ps_t dt) override {
    if (!dt) return false;
    const ps_t start = now();
    sc_core::wait(sc_core::sc_time::from_value(dt), kick_);
    return now() - start < dt;
  }
  bool hardware_pending() const override { return sc_core::sc_pending_activity(); }
  // Wake on a kick, or when the next hardware activity is due: the caller
  // then looks again, so hardware that went idle without posting anything
  // becomes a hang it can report, not a stalled simulation.
  void wait_hardware() override {
    const sc_core::sc_time next = sc_core::sc_time_to_pending_activity();
    if (next == sc_core::SC_ZERO_TIME)
      sc_core::wait(sc_core::SC_ZERO_TIME);
    else
      sc_core::wait(next, kick_);
  }
  void kick() override { kick_.notify(sc_core::SC_ZERO_TIME); }
  ps_t now() const override { return sc_core::sc_time_stamp().value(); }

  std::exception_ptr error;

 private:
  struct Worker {
    sc_core::sc_event go;
    std::function<void()> body;
  };

  void worker_loop(Worker* w) {
    for (;;) {
      sc_core::wait(w->go);
      auto body = std::move(w->body);
      try {
        body();
      } catch (...) {
        if (!error) error = std::current_exception();
      }
      back_.notify();
    }
  }
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

  std::function<void(CoroutineHost&)> main_;
  std::vector<std::unique_ptr<Worker>> workers_;
  sc_core::sc_event back_;
  sc_core::sc_event kick_;  ///< hardware posted an event
};

}  // namespace

void run_on_systemc(const std::function<void(CoroutineHost&)>& main, const std::function<void()>& elaborate) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  using sc_core::sc_report_handler;
  sc_report_handler::set_actions(sc_core::SC_WARNING, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  sc_core::sc_set_time_resolution(1, sc_core::SC_PS);
  static SystemcHost* host = nullptr;
  if (host) throw ModelBug("run_on_systemc called twice in one process");
  host = new SystemcHost("p2pdma_sim", main);
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
