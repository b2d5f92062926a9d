// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <boost/intrusive/list.hpp>
#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "kernel/exec.h"
#include "kernel/kernel.h"
#include "common/finding.h"
#include "engine/strategy.h"
#include "output/trace_writer.h"

namespace p2psim {

/**
 * class CoroutineHost - what the machine needs from the engine underneath:
 * task bodies as coroutines, and simulated time. SystemcHost implements it
 * with fibers in its scheduler thread and SystemC time (systemc_host.cpp),
 * DirectHost with the same fibers and a counter (direct_host.cpp).
 */
class CoroutineHost {
 public:
  virtual ~CoroutineHost() = default;
  /// Bind @body to coroutine @slot; it starts at the first resume().
  virtual void start(int slot, std::function<void()> body) = 0;
  /// From the scheduler: run @slot until it yields or its body returns.
  virtual void resume(int slot) = 0;
  /// From inside a body: hand control back to the scheduler.
  virtual void yield(int slot) = 0;
  /// From the scheduler: let up to @dt of simulated time pass. Returns early
  /// (true) when hardware posted an event meanwhile.
  virtual bool advance(ps_t dt) = 0;
  virtual ps_t now() const = 0;
  /// From the scheduler, when nothing else can move: is any hardware model
  /// still due to act (a timed wait pending)?
  virtual bool hardware_pending() const { return false; }
  /// From the scheduler: sleep until hardware posts an event.
  virtual void wait_hardware() {}
  /// From a hardware model's thread: wake the scheduler.
  virtual void kick() {}
};

/// An event a hardware model posts for the machine (a completion interrupt).
struct HardwareEvent {
  ps_t time;       ///< absolute simulated time it happened
  int device;      ///< the posting device's index: same-time order is explicit
  uint64_t seq;    ///< per-device sequence number
  std::function<void()> fn;
};

/// A pinned constraint of a directed schedule: @task waits at its @hit-th
/// arrival at @at until @until_task passed @until_point (@until_hit times),
/// or finished when @until_done.
struct Pin {
  std::string task, at;
  int hit = 1;
  std::string until_task, until_point;
  int until_hit = 1;
  bool until_done = false;
  std::string where;  ///< scenario file:line:col, for notes
};

/// One task of an execution: a simulated thread bound to a CPU.
struct TaskSpecRt {
  std::string name;
  int cpu = 0;
  int pid = 0;
  ps_t start = 0;
  std::function<void(kern::Exec&)> body;
};

struct RunLimits {
  uint64_t max_steps = 2'000'000;  ///< scheduling decisions per execution
  ps_t max_time = 60ULL * 1000 * 1000 * 1000 * 1000;  ///< 60 s simulated
};

/// One step of an execution worth showing in an interleaving listing.
struct PpEvent {
  static constexpr int kIrq = -1, kFinding = -2;
  enum class Kind {
    point,    ///< a preemption point passed (@point)
    finding,  ///< an oracle's report: @point its kind, @detail its message
    note,     ///< what an op did ("pin b: 1 of 1 page(s)"), in @detail
    forced,   ///< the strategy overrode the timing: @detail says how
    death,    ///< the task died (a kernel BUG): @detail says of what
  };
  ps_t time;
  int cpu;
  int task;           ///< task index, kIrq, or kFinding
  std::string point;
  Kind kind = Kind::point;
  std::string detail;
};

/**
 * struct MachineObservers - optional outputs of an execution.
 * @coverage: hashes of unordered pairs of preemption points reached
 *            concurrently on different CPUs (a task arrives at one while
 *            another task is suspended at the other).
 * @events: every preemption point in order.
 */
struct MachineObservers {
  std::unordered_set<uint64_t>* coverage = nullptr;
  std::vector<PpEvent>* events = nullptr;
};

struct ExecutionStats {
  std::map<std::string, ps_t> task_end;  ///< when each task finished
  uint64_t steps = 0;
  uint64_t preemption_points = 0;
  ps_t end_time = 0;
};

class TaskExec;
class IrqExec;

/// A FIFO on a vector: unlike std::deque it allocates nothing until the
/// first push (a Machine is built per execution, most queues stay empty).
template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  T& front() { return items_[head_]; }
  void push_back(T v) { items_.push_back(std::move(v)); }
  void pop_front() {
    if (++head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

/**
 * class Machine - one execution: N CPUs running kernel tasks under a
 * controlled scheduler. It owns CPU state (IRQs, preemption, RCU readers),
 * IPIs, RCU grace periods and callbacks, timers, pins and the oracles'
 * findings. The kernel model state lives in @kernel.
 */
class Machine {
 public:
  Machine(CoroutineHost& host, kern::Kernel& kernel, Strategy& strategy, uint64_t seed,
          TraceWriter* trace, RunLimits limits = {});
  ~Machine();

  void add_task(TaskSpecRt spec);
  /// From a hardware model: run @e.fn in the scheduler, ordered by
  /// (time, device, seq) among events posted for the same moment.
  void post_hardware_event(HardwareEvent e);
  /// A timed event in the scheduler's own queue (hardware modelled without
  /// threads, and timers): @fn runs at relative time @at.
  void at(ps_t at, std::function<void()> fn) { add_timer(at, std::move(fn)); }
  /// An interrupt for @cpu: @handler runs in IRQ context when the CPU takes it.
  void raise_irq(int cpu, std::string what, std::function<void(kern::Exec&)> handler);
  /// A finding a device model saw (a DMA to a freed page, an IOMMU fault).
  void report_from_device(const std::string& device, FindingKind kind, const std::string& msg, ps_t abs_time);
  /// Absolute simulated time of this execution's time 0.
  ps_t t0() const { return t0_; }
  void add_pin(Pin pin);
  void observe(MachineObservers o) { obs_ = o; }
  /// Run to completion (all tasks done and nothing pending) or to a hang.
  void run();

  const std::vector<Finding>& findings() const { return findings_; }
  const std::vector<RootCause>& root_causes() const { return causes_; }
  const ExecutionStats& stats() const { return stats_; }
  /// Relative simulated time of this execution.
  ps_t now() const { return host_.now() - t0_; }
  int nr_cpus() const { return static_cast<int>(cpus_.size()); }

 private:
  friend class TaskExec;
  friend class IrqExec;

  enum class State { not_started, runnable, running, sleeping, spinning, done, dead };

  struct Task {
    int idx = 0;
    TaskSpecRt spec;
    State state = State::not_started;
    ps_t ready_at = 0;
    ps_t pending = 0;  ///< cost charged since the last scheduling point
    std::function<bool()> wait_cond;
    const char* wait_what = "";  ///< a literal or text the scenario owns (Exec::wait_event)
    ps_t wait_since = 0;
    int irq_off = 0, preempt_off = 0, rcu = 0;
    bool blocked_reader = false;  ///< PREEMPT_RCU: slept inside an RCU read section (rcu_preempt_ctxt_queue)
    std::vector<const char*> fn_stack;
    std::vector<int> hits;  ///< arrivals per preemption point id (PointIds)
    int held_by_pin = -1;
    bool killed = false;  ///< execution over: unwind the body at its next resume
    /// The CPU's softirq context (RCU callbacks): runs on top of whatever
    /// task it interrupts, is an RCU reader, never counts as a hung task.
    bool softirq = false;
    bool started = false;  ///< its body has begun
    bool idle_softirq = false;  ///< a softirq context waiting for work
    const char* point = "";  ///< the preemption point it last reached
    int point_id = -1;       ///< its id, -1 before the first
    uint64_t at_point = 0;  ///< hash of the last preemption point, 0 if none
    std::unique_ptr<TaskExec> exec;
    bool in_reader() const { return irq_off > 0 || preempt_off > 0 || rcu > 0; }
  };

  struct PendingIrq {
    std::string what;
    std::function<void(IrqExec&)> fn;
    bool noted = false;  ///< "pending: IRQs off" already traced
  };

  struct SoftirqWork {
    std::string what;
    std::function<void(kern::Exec&)> fn;
  };

  struct Cpu {
    int holder = -1;  ///< task index holding the CPU, -1 idle
    int interrupted = -1;  ///< the task softirq runs on top of, -1 none
    int softirq_task = -1;
    Fifo<PendingIrq> irqs;
    Fifo<SoftirqWork> softirq_work;  ///< RCU callbacks ready to run
    bool in_irq = false;
  };

  /// struct rcu_head with its intrusive link on the per-CPU callback list.
  struct RcuHead : boost::intrusive::list_base_hook<> {
    uint64_t gp = 0;
    int cpu = 0;
    std::string what;
    std::function<void(kern::Exec&)> fn;
  };

  struct GracePeriod {
    uint64_t id = 0;
    ps_t start = 0;
    kern::CpuMask waiting;
    std::vector<int> blocked;  ///< PREEMPT_RCU readers (task idx) that slept in a read section it must wait for
    bool min_elapsed = false;
    bool done = false;
  };

  struct PinRt {
    Pin pin;
    bool armed = false, finished = false;
    uint64_t armed_seq = 0;
    int task = -1;        ///< the held task's index
    int until_task = -1;  ///< the awaited task's index
    int at_id = -1, until_point_id = -1;  ///< PointIds of pin.at, pin.until_point
  };

  /// A preemption point passed, kept for findings' paths and formatted
  /// only when a finding is reported.
  struct RecentPoint {
    int cpu = 0;
    int task = 0;  ///< task index, or -1 for interrupt context
    const char* point = "";
  };

  /// Tasks of finished executions on this thread, reused by add_task().
  static std::vector<std::unique_ptr<Task>>& spare_tasks();
  static constexpr size_t kMaxSpareTasks = 1024;

  // Scheduling.
  void schedule_loop();
  bool wake_waiters();
  bool any_waiting() const {
    for (uint64_t w : waiting_bits_)
      if (w) return true;
    return false;
  }
  void check_pins();
  bool release_one_pin(const char* why);
  bool deliver_irqs_when_possible();
  void resume(Task& t);
  void task_main(Task& t);
  /// Every change of a task's state goes here: it keeps the ready and
  /// waiting sets, so a scheduling step costs O(ready + waiting tasks).
  void set_state(Task& t, State s);
  /// Called by a task at a scheduling point: commit its time and yield.
  void yield_from(Task& t, State next);
  void finish_hang();
  /// Unwind every task still suspended, so its coroutine is free for the
  /// next execution (a hung task's stack points into this execution).
  void unwind_unfinished();

  // Timers, ordered by (time, sequence) for determinism.
  void add_timer(ps_t at, std::function<void()> fn);
  bool fire_due_timers();
  ps_t next_timer() const;

  // CPU / RCU state.
  bool cpu_in_reader(int cpu) const;
  bool cpu_interruptible(int cpu) const;
  bool gp_done(uint64_t id) const;
  void send_ipis(const kern::CpuMask& mask, std::function<void(int)> fn,
                 std::shared_ptr<int> remaining, const char* what, ps_t at, int track);
  ps_t run_irqs(int cpu, ps_t base);
  ps_t run_irqs_inline(int cpu, ps_t at);
  void note_quiescent(int cpu);
  /// CONFIG_PREEMPT_RCU: @t sleeps inside an RCU read section: grace periods that
  /// wait for its CPU, and those that start now, wait for @t instead.
  void block_reader(Task& t);
  /// @t left the read section it slept in.
  void unblock_reader(Task& t);
  uint64_t start_grace_period();
  /// call_rcu(): @fn runs in softirq on @cpu after a new grace period.
  void queue_rcu_callback(int cpu, std::function<void(kern::Exec&)> fn, const char* what);
  void check_gp_done(GracePeriod& gp);
  void take_cpu(Task& t);
  void release_cpu(Task& t);
  /// May @t run now on its CPU, which @holder holds (preemption, softirq)?
  bool can_take_cpu(const Task& t, const Task& holder) const;
  /// The body of CPU @cpu's softirq task: run RCU callbacks as they come.
  void softirq_main(kern::Exec& ex, int cpu);

  // Reporting and trace.
  void report(int cpu, const std::string& task, const std::vector<const char*>* stack,
              FindingKind kind, const std::string& msg, ps_t at, int track, uint64_t pfn = kNoPfn,
              uint64_t alloc = 0);
  void root_cause(int cpu, const std::string& task, const char* id, uint64_t pfn, uint64_t alloc,
                  const std::string& msg, ps_t at, int track);
  void note(int track, ps_t at, const std::string& what);
  /// Is a note read by anyone (trace or event listing)? Else skip formatting.
  bool noting() const { return trace_ || obs_.events; }
  void remember(int cpu, int task, const char* point);
  int hits_of(const Task& t, int point_id) const;
  void record_pp(Task& t, const char* point);
  int track_of(const Task& t) const { return 100 + t.idx; }
  static int irq_track(int cpu) { return cpu; }
  ps_t abs_now() const { return host_.now(); }

  CoroutineHost& host_;
  kern::Kernel& k_;
  Strategy& strategy_;
  TraceWriter* trace_;
  RunLimits limits_;
  uint64_t seed_ = 0;
  MachineObservers obs_;
  std::vector<HardwareEvent> hw_events_;
  bool drain_hardware_events();
  ps_t t0_ = 0;
  std::vector<Cpu> cpus_;
  uint64_t irq_cpus_ = 0;  ///< CPUs with IRQs pending (at most 64 CPUs, as kern::CpuMask)
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<uint64_t> ready_bits_;    ///< tasks runnable or not started
  std::vector<uint64_t> waiting_bits_;  ///< tasks sleeping or spinning, but idle softirq contexts
  std::vector<PinRt> pins_;
  uint64_t pin_seq_ = 0;
  std::map<std::pair<ps_t, uint64_t>, std::function<void()>> timers_;
  uint64_t timer_seq_ = 0;
  std::vector<GracePeriod> gps_;
  uint64_t next_gp_ = 1;
  std::vector<std::unique_ptr<RcuHead>> rcu_storage_;
  std::vector<boost::intrusive::list<RcuHead>> rcu_cblist_;  // per CPU
  std::array<RecentPoint, 12> recent_;  // the last points passed, a ring
  size_t recent_count_ = 0;             // points passed so far
  std::vector<Finding> findings_;
  std::vector<RootCause> causes_;
  ExecutionStats stats_;
  bool hung_ = false;
};

}  // namespace p2psim
