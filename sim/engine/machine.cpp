// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "engine/machine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <tuple>
#include <unordered_map>

#include "kernel/tlbflush.h"
#include "common/hash.h"
#include "common/kernel_bug.h"

namespace p2psim {

constexpr ps_t kNever = std::numeric_limits<ps_t>::max();

/// Thrown inside a task's coroutine to unwind it when the execution ends.
struct TaskKilled {};

namespace {

/// "softirq/3", "irq/cpu3": formatted once per process, not per execution.
/// @names holds one prefix's names by CPU; references stay valid (a deque).
const std::string& context_name(std::deque<std::string>& names, const char* prefix, int cpu) {
  while (names.size() <= static_cast<size_t>(cpu)) names.push_back(fmt::format("{}{}", prefix, names.size()));
  return names[static_cast<size_t>(cpu)];
}
const std::string& softirq_name(int cpu) {
  static std::deque<std::string> names;
  return context_name(names, "softirq/", cpu);
}
const std::string& irq_name(int cpu) {
  static std::deque<std::string> names;
  return context_name(names, "irq/cpu", cpu);
}

/**
 * class PointIds - small ids for preemption points, so that counting a
 * task's arrivals at a point is an index, not a string-keyed lookup.
 * pp() names are string literals (static storage), so a name's address
 * finds its id; two literals with the same text share one id. Ids are
 * per process and never printed: only the names are.
 */
class PointIds {
 public:
  struct Info {
    std::string name;
    bool user_boundary = false;  ///< "op:...": return to user space
    bool cond_resched = false;   ///< "...:cond_resched"
  };
  static PointIds& get() {
    static PointIds ids;
    return ids;
  }
  int of(const char* point) {
    // A direct-mapped cache in front of the hash map: a few dozen points
    // are hot, and this runs at every one of them.
    Slot& slot = cache_[(reinterpret_cast<uintptr_t>(point) >> 3) % cache_.size()];
    if (slot.addr == point) return slot.id;
    auto it = by_addr_.find(point);
    int id;
    if (it != by_addr_.end()) {
      id = it->second;
    } else {
      id = of_name(point);
      by_addr_.emplace(point, id);
    }
    slot = {point, id};
    return id;
  }
  int of_name(const std::string& name) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
    Info info;
    info.name = name;
    info.user_boundary = name.compare(0, 3, "op:") == 0;
    static const std::string kCondResched = ":cond_resched";
    info.cond_resched = name.size() >= kCondResched.size() &&
                        name.compare(name.size() - kCondResched.size(), kCondResched.size(), kCondResched) == 0;
    const int id = static_cast<int>(info_.size());
    info_.push_back(std::move(info));
    by_name_.emplace(name, id);
    return id;
  }
  const Info& info(int id) const { return info_[static_cast<size_t>(id)]; }
  size_t size() const { return info_.size(); }

 private:
  struct Slot {
    const void* addr = nullptr;
    int id = -1;
  };
  std::array<Slot, 256> cache_{};
  std::unordered_map<const void*, int> by_addr_;  // looked up, never iterated
  std::unordered_map<std::string, int> by_name_;
  std::vector<Info> info_;
};

}  // namespace

// ---------------------------------------------------------------------------
// TaskExec: the Exec a task's kernel code runs with.
// ---------------------------------------------------------------------------
class TaskExec : public kern::Exec {
 public:
  TaskExec(Machine& m, Machine::Task& t) : m_(&m), t_(t) {}
  /// A task reused by the next execution runs on that execution's Machine.
  void rebind(Machine& m) { m_ = &m; }
  int cpu() const override { return t_.spec.cpu; }
  int pid() const override { return t_.spec.pid; }
  const std::string& task_name() const override { return t_.spec.name; }
  ps_t now() const override { return m_->now() + t_.pending; }
  void cost(ps_t d) override { t_.pending += d; }
  void pp(const char* point) override {
    m_->record_pp(t_, point);
    m_->yield_from(t_, Machine::State::runnable);
  }
  void enter(const char* fn) override {
    t_.fn_stack.push_back(fn);
    if (m_->trace_) m_->trace_->begin(m_->track_of(t_), now(), fn, "kernel");
  }
  void leave(const char*) override {
    if (!t_.fn_stack.empty()) t_.fn_stack.pop_back();
    if (m_->trace_) m_->trace_->end(m_->track_of(t_), now());
  }
  void local_irq_disable() override { ++t_.irq_off; }
  void local_irq_enable() override {
    if (--t_.irq_off == 0) {
      // A pending IPI is taken the moment IRQs come back on.
      t_.pending += m_->run_irqs_inline(cpu(), now());
      m_->note_quiescent(cpu());
    }
  }
  bool irqs_disabled() const override { return t_.irq_off > 0; }
  void preempt_disable() override { ++t_.preempt_off; }
  void preempt_enable() override {
    if (--t_.preempt_off == 0) m_->note_quiescent(cpu());
  }
  void rcu_read_lock() override { ++t_.rcu; }
  void rcu_read_unlock() override {
    if (--t_.rcu) return;
    if (t_.blocked_reader) m_->unblock_reader(t_);
    m_->note_quiescent(cpu());
  }
  bool in_irq_context() const override { return t_.softirq; }
  bool in_atomic() const override { return t_.in_reader(); }
  void synchronize_rcu() override {
    kern::FuncScope f(*this, "synchronize_rcu");
    might_sleep("synchronize_rcu");
    const uint64_t gp = m_->start_grace_period();
    wait_event([this, gp] { return m_->gp_done(gp); }, "synchronize_rcu: wait for grace period");
  }
  void call_rcu(std::function<void(Exec&)> cb, const char* what) override {
    m_->queue_rcu_callback(cpu(), std::move(cb), what);
    notef("call_rcu({})", what);
  }
  // The kernel's wait_event(): the condition is checked again after every
  // wake-up, since all waiters wake together and an earlier one may have
  // made it false again (took the lock, the tag, the last free page).
  void wait_event(std::function<bool()> cond, const char* what) override {
    while (!cond()) {
      t_.wait_cond = std::ref(cond);  // no copy: this frame outlives the wait
      t_.wait_what = what;
      t_.wait_since = now();
      m_->yield_from(t_, Machine::State::sleeping);
    }
  }
  void schedule_timeout(ps_t d) override {
    might_sleep("schedule_timeout");
    const ps_t deadline = now() + d;
    m_->add_timer(deadline, [] {});
    Machine* m = m_;
    wait_event([m, deadline] { return m->now() >= deadline; }, "schedule_timeout");
  }
  void spin_until(std::function<bool()> cond, const char* what) override {
    if (cond()) return;
    t_.wait_cond = std::move(cond);
    t_.wait_what = what;
    t_.wait_since = now();
    m_->yield_from(t_, Machine::State::spinning);
  }
  void smp_call_function_many(const kern::CpuMask& mask, std::function<void(int)> fn, bool wait,
                              const char* what) override {
    kern::FuncScope f(*this, "smp_call_function_many_cond");
    auto remaining = std::make_shared<int>(static_cast<int>(mask.count()));
    m_->send_ipis(mask, fn, remaining, what, now(), m_->track_of(t_));
    if (!wait) return;
    kern::FuncScope w(*this, "csd_lock_wait");
    spin_until([remaining] { return *remaining == 0; }, "smp_call_function_many: wait for IPI handlers");
  }
  void report_finding(FindingKind kind, const std::string& message, uint64_t pfn, uint64_t alloc) override {
    m_->report(cpu(), t_.spec.name, &t_.fn_stack, kind, message, now(), m_->track_of(t_), pfn, alloc);
  }
  void root_cause(const char* id, uint64_t pfn, uint64_t alloc, const std::string& message) override {
    m_->root_cause(cpu(), t_.spec.name, id, pfn, alloc, message, now(), m_->track_of(t_));
  }
  void note(const std::string& what) override {
    m_->note(m_->track_of(t_), now(), what);
    if (m_->obs_.events) m_->obs_.events->push_back({now(), t_.spec.cpu, t_.idx, "", PpEvent::Kind::note, what});
  }
  bool noting() const override { return m_->noting(); }

 private:
  Machine* m_;
  Machine::Task& t_;
};

// ---------------------------------------------------------------------------
// IrqExec: IPI handlers and RCU callbacks, run on a CPU in interrupt context.
// ---------------------------------------------------------------------------
class IrqExec : public kern::Exec {
 public:
  IrqExec(Machine& m, int cpu, ps_t base, const std::string& name) : m_(m), cpu_(cpu), base_(base), name_(name) {}
  int cpu() const override { return cpu_; }
  int pid() const override { return 0; }
  const std::string& task_name() const override { return name_; }
  ps_t now() const override { return base_ + elapsed; }
  void cost(ps_t d) override { elapsed += d; }
  void pp(const char* point) override {
    if (m_.trace_) m_.trace_->instant(cpu_, now(), point, "pp");
    if (m_.obs_.events) m_.obs_.events->push_back({now(), cpu_, -1, point, PpEvent::Kind::point, {}});
    m_.remember(cpu_, -1, point);
  }
  void enter(const char* fn) override {
    stack_.push_back(fn);
    if (m_.trace_) m_.trace_->begin(cpu_, now(), fn, "kernel");
  }
  void leave(const char*) override {
    if (!stack_.empty()) stack_.pop_back();
    if (m_.trace_) m_.trace_->end(cpu_, now());
  }
  void local_irq_disable() override {}
  void local_irq_enable() override {}
  bool irqs_disabled() const override { return true; }
  void preempt_disable() override {}
  void preempt_enable() override {}
  void rcu_read_lock() override {}
  void rcu_read_unlock() override {}
  bool in_irq_context() const override { return true; }
  bool in_atomic() const override { return true; }
  void synchronize_rcu() override { might_sleep("synchronize_rcu"); }
  void call_rcu(std::function<void(Exec&)> cb, const char* what) override {
    m_.queue_rcu_callback(cpu_, std::move(cb), what);
  }
  void wait_event(std::function<bool()> cond, const char* what) override {
    if (!cond()) report(FindingKind::sleep_in_atomic, std::string("sleeps in interrupt context: ") + what);
  }
  void schedule_timeout(ps_t) override { might_sleep("schedule_timeout"); }
  void spin_until(std::function<bool()> cond, const char* what) override {
    if (!cond()) report(FindingKind::hang, std::string("spins forever in interrupt context: ") + what);
  }
  void smp_call_function_many(const kern::CpuMask& mask, std::function<void(int)> fn, bool wait,
                              const char* what) override {
    if (wait)
      report(FindingKind::kernel_bug,
             "WARN_ON_ONCE(irqs_disabled()) in smp_call_function_many_cond with wait");
    auto remaining = std::make_shared<int>(static_cast<int>(mask.count()));
    m_.send_ipis(mask, fn, remaining, what, now(), cpu_);
  }
  void report_finding(FindingKind kind, const std::string& message, uint64_t pfn, uint64_t alloc) override {
    m_.report(cpu_, name_, &stack_, kind, message, now(), cpu_, pfn, alloc);
  }
  void root_cause(const char* id, uint64_t pfn, uint64_t alloc, const std::string& message) override {
    m_.root_cause(cpu_, name_, id, pfn, alloc, message, now(), cpu_);
  }
  void note(const std::string& what) override {
    m_.note(cpu_, now(), what);
    if (m_.obs_.events) m_.obs_.events->push_back({now(), cpu_, PpEvent::kIrq, "", PpEvent::Kind::note, what});
  }
  bool noting() const override { return m_.noting(); }

  ps_t elapsed = 0;

 private:
  Machine& m_;
  int cpu_;
  ps_t base_;
  const std::string& name_;  ///< "irq/cpuN", from the per-process name table
  std::vector<const char*> stack_;
};

// ---------------------------------------------------------------------------
// Machine
// ---------------------------------------------------------------------------
Machine::Machine(CoroutineHost& host, kern::Kernel& kernel, Strategy& strategy, uint64_t seed,
                 TraceWriter* trace, RunLimits limits)
    : host_(host), k_(kernel), strategy_(strategy), trace_(trace), limits_(limits),
      cpus_(kernel.cpus.size()), rcu_cblist_(kernel.cpus.size()) {
  seed_ = seed;
  t0_ = host_.now();
  tasks_.reserve(2 * cpus_.size() + 8);  // the scenario's tasks, then a softirq context per CPU
  if (trace_)
    for (int c = 0; c < nr_cpus(); ++c) trace_->track(c, fmt::format("cpu{} irq/softirq", c), c * 1000 + 999);
}

Machine::~Machine() {
  for (auto& l : rcu_cblist_) l.clear();
  // Hand the tasks to the next execution: a campaign runs millions of
  // executions, and each would otherwise allocate every task afresh.
  auto& spare = spare_tasks();
  for (auto& t : tasks_)
    if (spare.size() < kMaxSpareTasks) spare.push_back(std::move(t));
}

std::vector<std::unique_ptr<Machine::Task>>& Machine::spare_tasks() {
  thread_local std::vector<std::unique_ptr<Task>> spare;
  return spare;
}

void Machine::add_task(TaskSpecRt spec) {
  std::unique_ptr<Task> t;
  auto& spare = spare_tasks();
  if (spare.empty()) {
    t = std::make_unique<Task>();
    t->exec = std::make_unique<TaskExec>(*this, *t);
    t->fn_stack.reserve(16);  // deeper than any kernel path modelled: no regrowth
  } else {
    // Back to a new task's state, keeping only the buffers.
    t = std::move(spare.back());
    spare.pop_back();
    auto exec = std::move(t->exec);
    auto fn_stack = std::move(t->fn_stack);
    auto hits = std::move(t->hits);
    *t = Task{};
    exec->rebind(*this);
    t->exec = std::move(exec);
    fn_stack.clear();
    t->fn_stack = std::move(fn_stack);
    std::fill(hits.begin(), hits.end(), 0);
    t->hits = std::move(hits);
  }
  t->idx = static_cast<int>(tasks_.size());
  t->spec = std::move(spec);
  t->ready_at = t->spec.start;
  if (trace_)
    trace_->track(track_of(*t), fmt::format("cpu{} {}", t->spec.cpu, t->spec.name),
                  t->spec.cpu * 1000 + t->idx);
  tasks_.push_back(std::move(t));
}

void Machine::add_pin(Pin pin) {
  PinRt p;
  p.pin = std::move(pin);
  p.at_id = PointIds::get().of_name(p.pin.at);
  if (!p.pin.until_point.empty()) p.until_point_id = PointIds::get().of_name(p.pin.until_point);
  pins_.push_back(std::move(p));
}

void Machine::run() {
  t0_ = host_.now();
  // One softirq context per CPU: RCU callbacks run there, at their own
  // preemption points, while the other CPUs go on.
  for (int c = 0; c < nr_cpus(); ++c) {
    const int idx = static_cast<int>(tasks_.size());
    add_task({softirq_name(c), c, 0, 0, [this, c](kern::Exec& ex) { softirq_main(ex, c); }});
    Task& t = *tasks_[idx];
    t.softirq = true;
    t.preempt_off = 1;  // local_bh_disable(): atomic, an RCU reader
    Cpu* cpu = &cpus_[c];
    t.wait_cond = [cpu] { return !cpu->softirq_work.empty(); };
    t.wait_what = "softirq: no work";
    t.state = State::sleeping;
    t.idle_softirq = true;
    cpus_[c].softirq_task = idx;
  }
  const size_t words = (tasks_.size() + 63) / 64;
  ready_bits_.assign(words, 0);
  waiting_bits_.assign(words, 0);
  for (auto& tp : tasks_) set_state(*tp, tp->state);
  // Pins name tasks, softirq contexts included: resolve them now.
  for (auto& p : pins_)
    for (auto& t : tasks_) {
      if (t->spec.name == p.pin.task) p.task = t->idx;
      if (t->spec.name == p.pin.until_task) p.until_task = t->idx;
    }
  strategy_.begin(seed_, static_cast<int>(tasks_.size()));
  for (auto& tp : tasks_) {
    Task* t = tp.get();
    host_.start(t->idx, [this, t] { task_main(*t); });
  }
  schedule_loop();
  // The task that finished last may still carry cost it never yielded on.
  stats_.end_time = now();
  for (const auto& [name, end] : stats_.task_end) stats_.end_time = std::max(stats_.end_time, end);
  strategy_.end();
  unwind_unfinished();
}

void Machine::softirq_main(kern::Exec& ex, int c) {
  Cpu& cpu = cpus_[c];
  for (;;) {
    Task& self = *tasks_[cpu.softirq_task];
    self.idle_softirq = true;
    ex.wait_event([&cpu] { return !cpu.softirq_work.empty(); }, "softirq: no work");
    if (self.killed) return;  // the execution is over (see yield_from)
    self.idle_softirq = false;
    SoftirqWork work = std::move(cpu.softirq_work.front());
    cpu.softirq_work.pop_front();
    kern::FuncScope f(ex, work.what.c_str());
    work.fn(ex);
    ex.cost(1_ns);
  }
}

void Machine::unwind_unfinished() {
  for (auto& tp : tasks_) {
    Task& t = *tp;
    if (t.state == State::not_started || t.state == State::done || t.state == State::dead) continue;
    if (!t.started) continue;  // a softirq context that never had work
    t.killed = true;
    host_.resume(t.idx);  // yield_from throws TaskKilled; task_main returns
  }
}

void Machine::task_main(Task& t) {
  t.started = true;
  set_state(t, State::running);
  try {
    t.spec.body(*t.exec);
    if (t.killed) {  // an idle softirq context, ended without unwinding
      set_state(t, State::dead);
      return;
    }
    set_state(t, State::done);
  } catch (const KernelBug& e) {
    report(t.spec.cpu, t.spec.name, &t.fn_stack, FindingKind::kernel_bug,
           fmt::format("kernel BUG: {}", e.what()), t.exec->now(), track_of(t), e.pfn, e.alloc);
    set_state(t, State::dead);
    if (obs_.events)
      obs_.events->push_back({t.exec->now(), t.spec.cpu, t.idx, "", PpEvent::Kind::death,
                              "dies of the kernel BUG (oops)"});
  } catch (const TaskKilled&) {
    set_state(t, State::dead);
    return;  // the execution is over: touch nothing more
  }
  // The task is gone (exited, or killed by a BUG): its CPU is idle again.
  if (trace_)
    for (size_t i = 0; i < t.fn_stack.size(); ++i) trace_->end(track_of(t), t.exec->now());
  t.fn_stack.clear();
  t.irq_off = t.preempt_off = t.rcu = 0;
  if (t.blocked_reader) unblock_reader(t);
  t.ready_at = t.exec->now();
  stats_.task_end[t.spec.name] = t.ready_at;
  release_cpu(t);
}

void Machine::yield_from(Task& t, State next) {
  const uint64_t seq = stats_.preemption_points++;
  if (next == State::runnable) {
    const ps_t d = strategy_.delay_at(t.idx, seq);
    t.pending += d;
    if (d && obs_.events)
      obs_.events->push_back({now(), t.spec.cpu, t.idx, "", PpEvent::Kind::forced,
                              fmt::format("forced: held here for {}", format_time(d))});
  }
  t.ready_at = now() + t.pending;
  t.pending = 0;
  set_state(t, next);
  if (next == State::sleeping && t.rcu > 0 && !t.softirq && k_.knobs.config_preempt_rcu) block_reader(t);
  if (next == State::sleeping) release_cpu(t);
  host_.yield(t.idx);
  if (t.killed) {
    // An idle softirq context has nothing on its stack to unwind: it returns
    // from its loop. Throwing costs more than a whole execution's scheduling
    // (perf: a sixth of S1 rfc-v5's time went to the unwinder).
    if (t.idle_softirq) return;
    throw TaskKilled{};
  }
  set_state(t, State::running);
}

void Machine::resume(Task& t) {
  take_cpu(t);
  set_state(t, State::running);
  host_.resume(t.idx);
}

void Machine::set_state(Task& t, State s) {
  t.state = s;
  const size_t w = static_cast<size_t>(t.idx) >> 6;
  if (w >= ready_bits_.size()) return;  // before run(): it sets every task's bits
  const uint64_t bit = 1ULL << (t.idx & 63);
  uint64_t ready = ready_bits_[w] & ~bit, waiting = waiting_bits_[w] & ~bit;
  switch (s) {
    case State::runnable:
    case State::not_started:
      ready |= bit;
      break;
    case State::sleeping:
    case State::spinning:
      // An idle softirq context joins the waiters when work is queued for it.
      if (!(t.idle_softirq && cpus_[t.spec.cpu].softirq_work.empty())) waiting |= bit;
      break;
    default:
      break;
  }
  ready_bits_[w] = ready;
  waiting_bits_[w] = waiting;
}

namespace {
/// Call @f with the index of every set bit of @bits, lowest first (task
/// order): the same order a scan of all tasks gives.
template <typename F>
void for_each_bit(const std::vector<uint64_t>& bits, F&& f) {
  for (size_t w = 0; w < bits.size(); ++w)
    for (uint64_t x = bits[w]; x; x &= x - 1) f(static_cast<int>(w * 64 + static_cast<size_t>(__builtin_ctzll(x))));
}
}  // namespace

void Machine::take_cpu(Task& t) {
  Cpu& c = cpus_[t.spec.cpu];
  if (c.holder == t.idx) return;
  if (t.softirq) {
    // Softirq on IRQ exit: it runs on top of the holder, in its context.
    c.interrupted = c.holder;
    c.holder = t.idx;
    return;
  }
  if (c.holder >= 0 && trace_)
    note(track_of(t), std::max(now(), t.ready_at),
         fmt::format("preempts {} at {}", tasks_[c.holder]->spec.name, tasks_[c.holder]->point));
  c.holder = t.idx;
  auto it = k_.processes.find(t.spec.pid);
  if (it != k_.processes.end())
    kern::switch_mm(k_, t.spec.cpu, it->second.mm.get());
  else
    kern::enter_lazy_tlb(k_, t.spec.cpu);
}

void Machine::release_cpu(Task& t) {
  Cpu& c = cpus_[t.spec.cpu];
  if (c.holder != t.idx) return;
  if (t.softirq) {
    c.holder = c.interrupted;  // back to the task it interrupted
    c.interrupted = -1;
    note_quiescent(t.spec.cpu);
    return;
  }
  c.holder = -1;
  kern::enter_lazy_tlb(k_, t.spec.cpu);  // idle keeps the mm loaded
  note_quiescent(t.spec.cpu);  // a context switch is a quiescent state
}

bool Machine::can_take_cpu(const Task& t, const Task& holder) const {
  // The holder must be stopped at a preemption point (or spinning).
  if (holder.state != State::runnable && holder.state != State::spinning) return false;
  if (holder.softirq) return false;  // softirq runs to its end on this CPU
  if (t.softirq) return holder.irq_off == 0 && !cpus_[t.spec.cpu].in_irq;
  if (holder.state != State::runnable || holder.in_reader()) return false;
  bool user_boundary = false, cond_resched = false;  // where the holder stopped
  if (holder.point_id >= 0) {
    const PointIds::Info& at = PointIds::get().info(holder.point_id);
    user_boundary = at.user_boundary;  // return to user space
    cond_resched = at.cond_resched;
  }
  switch (k_.knobs.preempt_model) {
    case kern::PreemptModel::none: return user_boundary;
    case kern::PreemptModel::voluntary: return user_boundary || cond_resched;
    case kern::PreemptModel::full: return true;
  }
  return false;
}

// ---- scheduling -------------------------------------------------------------

void Machine::schedule_loop() {
  std::vector<Candidate> cands;
  cands.reserve(tasks_.size());
  for (;;) {
    if (++stats_.steps > limits_.max_steps) {
      report(-1, "scheduler", nullptr, FindingKind::hang,
             fmt::format("no end after {} scheduling steps (livelock?)", limits_.max_steps), now(), 0);
      hung_ = true;
      return;
    }
    // Each step only pays for the work that is there (the checks inline).
    if (!hw_events_.empty()) drain_hardware_events();
    if (!timers_.empty() && timers_.begin()->first.first <= now()) fire_due_timers();
    if (irq_cpus_) deliver_irqs_when_possible();
    if (any_waiting()) wake_waiters();
    if (!pins_.empty()) check_pins();

    cands.clear();
    for_each_bit(ready_bits_, [&](int i) {  // runnable or not started, in task order
      Task& t = *tasks_[static_cast<size_t>(i)];
      if (t.held_by_pin >= 0) return;
      const int holder = cpus_[t.spec.cpu].holder;
      if (holder >= 0 && holder != t.idx && !can_take_cpu(t, *tasks_[holder])) return;
      // Field by field: a braced temporary is stored as two scalars and
      // reloaded as one vector, a store-forwarding stall on every step.
      Candidate& c = cands.emplace_back();
      c.task = t.idx;
      c.ready_at = t.ready_at;
    });
    const ps_t nt = next_timer();
    if (cands.empty()) {
      if (nt != kNever) {
        host_.advance(nt - now());
        continue;
      }
      if (host_.hardware_pending()) {
        host_.wait_hardware();
        continue;
      }
      bool live = false;
      for (auto& tp : tasks_)
        live |= tp->state != State::done && tp->state != State::dead && !(tp->softirq && tp->state == State::sleeping);
      bool irqs = false;
      for (auto& c : cpus_) irqs |= !c.irqs.empty();
      if (!live && !irqs) return;
      if (release_one_pin("no other task can run")) continue;
      finish_hang();
      return;
    }
    const size_t chosen = cands.size() == 1 ? 0 : strategy_.choose(cands);
    Task& pick = *tasks_[cands[chosen].task];
    if (obs_.events && cands.size() > 1) {
      // The timing alone runs the earliest-ready task (lowest index on a
      // tie); anything else is a decision a reader must follow.
      size_t timed = 0;
      for (size_t i = 1; i < cands.size(); ++i)
        if (cands[i].ready_at < cands[timed].ready_at) timed = i;
      if (timed != chosen)
        obs_.events->push_back({now(), pick.spec.cpu, pick.idx, "", PpEvent::Kind::forced,
                                fmt::format("forced: runs before {}", tasks_[cands[timed].task]->spec.name)});
    }
    const ps_t target = std::max(now(), pick.ready_at);
    if (nt < target) {
      host_.advance(nt - now());
      continue;
    }
    if (target > now() && host_.advance(target - now())) continue;  // hardware spoke first
    if (target > limits_.max_time) {
      report(-1, "scheduler", nullptr, FindingKind::hang,
             fmt::format("simulated time passed {}", format_time(limits_.max_time)), now(), 0);
      hung_ = true;
      return;
    }
    resume(pick);
  }
}

bool Machine::wake_waiters() {
  bool changed = false;
  // Sleeping and spinning tasks, in task order; idle softirq contexts are
  // not among them until work is queued for their CPU.
  for_each_bit(waiting_bits_, [&](int i) {
    Task& t = *tasks_[static_cast<size_t>(i)];
    if (!t.wait_cond()) return;
    t.ready_at = std::max(now(), t.state == State::sleeping ? t.wait_since : t.ready_at);
    set_state(t, State::runnable);
    t.wait_cond = nullptr;
    changed = true;
  });
  return changed;
}

void Machine::check_pins() {
  for (auto& p : pins_) {
    if (!p.armed || p.finished) continue;
    const Task* until = p.until_task >= 0 ? tasks_[p.until_task].get() : nullptr;
    bool ok = false, gone = false;
    if (until) {
      const bool over = until->state == State::done || until->state == State::dead;
      if (p.pin.until_done) {
        ok = over;
      } else {
        ok = hits_of(*until, p.until_point_id) >= p.pin.until_hit;
        gone = !ok && over;
      }
    }
    if (!ok && !gone) continue;
    p.finished = true;
    Task& t = *tasks_[p.task];
    t.held_by_pin = -1;
    if (trace_) note(track_of(t), t.exec->now(),
         ok ? fmt::format("pin released: {} passed {}", p.pin.until_task,
                          p.pin.until_done ? "its end" : p.pin.until_point)
            : fmt::format("pin dropped: {} finished without passing {}", p.pin.until_task,
                          p.pin.until_point));
  }
}

bool Machine::release_one_pin(const char* why) {
  PinRt* oldest = nullptr;
  for (auto& p : pins_)
    if (p.armed && !p.finished && (!oldest || p.armed_seq < oldest->armed_seq)) oldest = &p;
  if (!oldest) return false;
  oldest->finished = true;
  Task& t = *tasks_[oldest->task];
  t.held_by_pin = -1;
  if (trace_) note(track_of(t), t.exec->now(),
       fmt::format("pin dropped ({}): {} at {} no longer waits for {}", why, t.spec.name,
                   oldest->pin.at, oldest->pin.until_task));
  return true;
}

void Machine::finish_hang() {
  hung_ = true;
  ps_t stuck = now();  // when the last task stopped moving
  for (auto& tp : tasks_) stuck = std::max(stuck, tp->ready_at);
  for (auto& tp : tasks_) {
    Task& t = *tp;
    if (t.softirq && t.state == State::sleeping) continue;  // no work is not a hang
    std::string what;
    switch (t.state) {
      case State::sleeping:
      case State::spinning:
        what = fmt::format("{} forever in {} (since {})",
                           t.state == State::sleeping ? "sleeps" : "spins", t.wait_what,
                           format_time(t.wait_since));
        break;
      case State::runnable:
      case State::not_started:
        what = fmt::format("never gets cpu{} back (held by {})", t.spec.cpu,
                           tasks_[cpus_[t.spec.cpu].holder]->spec.name);
        break;
      default:
        continue;
    }
    report(t.spec.cpu, t.spec.name, &t.fn_stack, FindingKind::hang,
           fmt::format("{} {}: nothing left can wake it", t.spec.name, what), stuck, track_of(t));
  }
}

// ---- hardware events ------------------------------------------------------------

void Machine::raise_irq(int cpu, std::string what, std::function<void(kern::Exec&)> handler) {
  cpus_[cpu].irqs.push_back({std::move(what), [h = std::move(handler)](IrqExec& ex) { h(ex); }});
  irq_cpus_ |= 1ULL << cpu;
}

void Machine::report_from_device(const std::string& device, FindingKind kind, const std::string& msg,
                                 ps_t abs_time) {
  report(-1, device, nullptr, kind, msg, abs_time >= t0_ ? abs_time - t0_ : 0, 0);
}

void Machine::post_hardware_event(HardwareEvent e) {
  hw_events_.push_back(std::move(e));
  host_.kick();
}

bool Machine::drain_hardware_events() {
  if (hw_events_.empty()) return false;
  std::vector<HardwareEvent> batch;
  batch.swap(hw_events_);
  std::stable_sort(batch.begin(), batch.end(), [](const HardwareEvent& a, const HardwareEvent& b) {
    return std::tie(a.time, a.device, a.seq) < std::tie(b.time, b.device, b.seq);
  });
  for (auto& e : batch) e.fn();
  return true;
}

// ---- timers -------------------------------------------------------------------

void Machine::add_timer(ps_t at, std::function<void()> fn) {
  timers_.emplace(std::make_pair(at, timer_seq_++), std::move(fn));
}

ps_t Machine::next_timer() const { return timers_.empty() ? kNever : timers_.begin()->first.first; }

bool Machine::fire_due_timers() {
  bool any = false;
  while (!timers_.empty() && timers_.begin()->first.first <= now()) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
    any = true;
  }
  return any;
}

// ---- interrupts ---------------------------------------------------------------

void Machine::send_ipis(const kern::CpuMask& mask, std::function<void(int)> fn,
                        std::shared_ptr<int> remaining, const char* what, ps_t at, int track) {
  for (int c = 0; c < nr_cpus(); ++c) {
    if (!mask.test(c)) continue;
    if (trace_) trace_->instant(track, at, fmt::format("IPI -> cpu{} ({})", c, what), "ipi");
    add_timer(at + k_.costs.ipi_delivery, [this, c, fn, remaining, w = std::string(what)] {
      cpus_[c].irqs.push_back({w, [fn, c, remaining](IrqExec&) {
                                 fn(c);
                                 --*remaining;
                               }});
      irq_cpus_ |= 1ULL << c;
    });
  }
}

bool Machine::cpu_interruptible(int c) const {
  const Cpu& cpu = cpus_[c];
  if (cpu.in_irq) return false;
  if (cpu.holder < 0) return true;
  const Task& t = *tasks_[cpu.holder];
  return t.irq_off == 0 && t.state != State::running;
}

bool Machine::deliver_irqs_when_possible() {
  bool any = false;
  // Only CPUs with IRQs pending, lowest first.
  for (uint64_t pending = irq_cpus_; pending; pending &= pending - 1) {
    const int c = __builtin_ctzll(pending);
    Cpu& cpu = cpus_[c];
    if (cpu.irqs.empty()) continue;
    if (!cpu_interruptible(c)) {
      if (!cpu.irqs.front().noted && cpu.holder >= 0) {
        cpu.irqs.front().noted = true;
        Task& t = *tasks_[cpu.holder];
        if (trace_) note(track_of(t), std::max(now(), t.ready_at),
             fmt::format("{} pending: cpu{} has IRQs disabled", cpu.irqs.front().what, c));
      }
      continue;
    }
    const ps_t elapsed = run_irqs(c, now());
    if (cpu.holder >= 0) {
      Task& t = *tasks_[cpu.holder];
      t.ready_at = std::max(t.ready_at, now()) + elapsed;
    }
    any = true;
  }
  return any;
}

ps_t Machine::run_irqs_inline(int c, ps_t at) {
  if (cpus_[c].irqs.empty()) return 0;
  return run_irqs(c, at);
}

ps_t Machine::run_irqs(int c, ps_t base) {
  Cpu& cpu = cpus_[c];
  ps_t elapsed = 0;
  while (!cpu.irqs.empty()) {
    PendingIrq irq = std::move(cpu.irqs.front());
    cpu.irqs.pop_front();
    cpu.in_irq = true;
    IrqExec ex(*this, c, base + elapsed, irq_name(c));
    {
      kern::FuncScope f(ex, irq.what.c_str());
      try {
        irq.fn(ex);
      } catch (const KernelBug& e) {
        ex.report_page(FindingKind::kernel_bug, e.pfn, e.alloc,
                       fmt::format("kernel BUG in interrupt context: {}", e.what()));
      }
      ex.cost(1_ns);
    }
    elapsed += ex.elapsed;
    cpu.in_irq = false;
  }
  irq_cpus_ &= ~(1ULL << c);
  note_quiescent(c);
  return elapsed;
}

// ---- RCU ------------------------------------------------------------------------

bool Machine::cpu_in_reader(int c) const {
  const Cpu& cpu = cpus_[c];
  if (cpu.in_irq) return true;
  if (cpu.interrupted >= 0 && tasks_[cpu.interrupted]->in_reader()) return true;
  return cpu.holder >= 0 && tasks_[cpu.holder]->in_reader();
}

uint64_t Machine::start_grace_period() {
  GracePeriod gp;
  gp.id = next_gp_++;
  gp.start = now();
  for (int c = 0; c < nr_cpus(); ++c)
    if (cpu_in_reader(c)) gp.waiting.set(c);
  for (const auto& t : tasks_)
    if (t->blocked_reader) gp.blocked.push_back(t->idx);
  gps_.push_back(gp);
  const uint64_t id = gp.id;
  add_timer(now() + k_.costs.rcu_grace_period, [this, id] {
    for (auto& g : gps_)
      if (g.id == id) {
        g.min_elapsed = true;
        check_gp_done(g);
      }
  });
  return id;
}

void Machine::queue_rcu_callback(int cpu, std::function<void(kern::Exec&)> fn, const char* what) {
  auto head = std::make_unique<RcuHead>();
  head->gp = start_grace_period();
  head->cpu = cpu;
  head->what = what;
  head->fn = std::move(fn);
  rcu_cblist_[cpu].push_back(*head);
  rcu_storage_.push_back(std::move(head));
}

bool Machine::gp_done(uint64_t id) const {
  for (const auto& g : gps_)
    if (g.id == id) return g.done;
  return true;
}

void Machine::note_quiescent(int c) {
  if (cpu_in_reader(c)) return;
  for (auto& g : gps_)
    if (!g.done && g.waiting.test(c)) {
      g.waiting.reset(c);
      check_gp_done(g);
    }
}

// models kernel/rcu/tree_plugin.h:rcu_note_context_switch() (PREEMPT_RCU,
// v6.2, 310-359): a voluntary switch inside a read section WARNs, and the task is
// queued as blocked: a grace period still waiting for its CPU waits for it.
// Without PREEMPT_RCU the switch is a quiescent state (release_cpu()).
void Machine::block_reader(Task& t) {
  if (t.blocked_reader) return;  // already queued (rcu_read_unlock_special.b.blocked); WARN_ONCE said it
  t.blocked_reader = true;
  t.exec->report(FindingKind::kernel_bug,
                 "WARN: Voluntary context switch within RCU read-side critical section!");
  for (auto& g : gps_)
    if (!g.done && g.waiting.test(t.spec.cpu)) g.blocked.push_back(t.idx);
}

void Machine::unblock_reader(Task& t) {
  t.blocked_reader = false;
  for (auto& g : gps_) {
    auto it = std::find(g.blocked.begin(), g.blocked.end(), t.idx);
    if (it == g.blocked.end()) continue;
    g.blocked.erase(it);
    check_gp_done(g);
  }
}

void Machine::check_gp_done(GracePeriod& gp) {
  if (gp.done || !gp.min_elapsed || gp.waiting.any() || !gp.blocked.empty()) return;
  gp.done = true;
  // Callbacks waiting for this grace period run in softirq on their CPU.
  for (int c = 0; c < nr_cpus(); ++c) {
    auto& list = rcu_cblist_[c];
    for (auto it = list.begin(); it != list.end();) {
      if (it->gp != gp.id) {
        ++it;
        continue;
      }
      RcuHead& h = *it;
      it = list.erase(it);
      cpus_[c].softirq_work.push_back({fmt::format("rcu_do_batch: {}", h.what),
                                       [&h](kern::Exec& ex) { h.fn(ex); }});
      Task& softirq = *tasks_[static_cast<size_t>(cpus_[c].softirq_task)];
      if (softirq.state == State::sleeping) set_state(softirq, softirq.state);  // it has work now
    }
  }
}

// ---- reporting ------------------------------------------------------------------

namespace {
uint64_t point_hash(const char* s) { return fnv1a(s) | 1; }  // never 0: 0 means "at no point"
}  // namespace

void Machine::record_pp(Task& t, const char* point) {
  t.point = point;
  const int id = PointIds::get().of(point);
  t.point_id = id;
  int n = 0;  // arrivals here: only pins read them (hits_of), and pins come before run()
  if (!pins_.empty()) {
    if (t.hits.size() <= static_cast<size_t>(id)) t.hits.resize(PointIds::get().size(), 0);
    n = ++t.hits[static_cast<size_t>(id)];
  }
  const ps_t at = (obs_.events || trace_ || !pins_.empty()) ? t.exec->now() : 0;  // only they read it
  if (obs_.coverage || obs_.events) {
    const uint64_t h = point_hash(point);
    t.at_point = h;
    if (obs_.coverage)
      for (auto& op : tasks_) {
        const Task& o = *op;
        if (o.spec.cpu == t.spec.cpu || !o.at_point) continue;
        if (o.state == State::done || o.state == State::dead || o.state == State::not_started) continue;
        const uint64_t a = std::min(h, o.at_point), b = std::max(h, o.at_point);
        obs_.coverage->insert(a * 0x9e3779b97f4a7c15ULL ^ (b + (b << 6) + (b >> 2)));
      }
    if (obs_.events) obs_.events->push_back({at, t.spec.cpu, t.idx, point, PpEvent::Kind::point, {}});
  }
  if (trace_) trace_->instant(track_of(t), at, point, "pp");
  remember(t.spec.cpu, t.idx, point);
  for (size_t i = 0; i < pins_.size(); ++i) {
    PinRt& p = pins_[i];
    if (p.armed || p.finished || p.task != t.idx || p.at_id != id || p.pin.hit != n) continue;
    p.armed = true;
    p.armed_seq = ++pin_seq_;
    t.held_by_pin = static_cast<int>(i);
    if (trace_) note(track_of(t), at,
         fmt::format("pinned at {}: waits until {} {}", point, p.pin.until_task,
                     p.pin.until_done ? "finishes" : "passes " + p.pin.until_point));
  }
}

void Machine::remember(int cpu, int task, const char* point) {
  recent_[recent_count_++ % recent_.size()] = {cpu, task, point};
}

int Machine::hits_of(const Task& t, int point_id) const {
  return point_id >= 0 && static_cast<size_t>(point_id) < t.hits.size() ? t.hits[static_cast<size_t>(point_id)] : 0;
}

void Machine::note(int track, ps_t at, const std::string& what) {
  if (trace_) trace_->instant(track, at, what, "note");
}

void Machine::root_cause(int cpu, const std::string& task, const char* id, uint64_t pfn, uint64_t alloc,
                         const std::string& msg, ps_t at, int track) {
  causes_.push_back({id, at, cpu, task, msg, pfn, alloc, findings_.size()});
  if (trace_) trace_->instant(track, at, fmt::format("ROOT CAUSE {}", id), "root_cause", {{"message", msg}});
}

void Machine::report(int cpu, const std::string& task, const std::vector<const char*>* stack,
                     FindingKind kind, const std::string& msg, ps_t at, int track, uint64_t pfn,
                     uint64_t alloc) {
  for (const auto& f : findings_)
    if (f.kind == kind && f.message == msg) return;
  Finding f{kind, at, cpu, task, msg, {}, pfn, alloc};
  const size_t n = std::min(recent_count_, recent_.size());
  for (size_t i = recent_count_ - n; i < recent_count_; ++i) {
    const RecentPoint& r = recent_[i % recent_.size()];
    const std::string& who = r.task >= 0 ? tasks_[static_cast<size_t>(r.task)]->spec.name : irq_name(r.cpu);
    f.path.push_back(fmt::format("cpu{} {} {}", r.cpu, who, r.point));
  }
  if (stack && !stack->empty()) {
    std::string s;
    for (const char* fn : *stack) s += (s.empty() ? "" : " > ") + std::string(fn);
    f.path.push_back(fmt::format("cpu{} {} in {}", cpu, task, s));
  }
  if (trace_)
    trace_->instant(track, at, fmt::format("FINDING {}", to_string(kind)), "finding",
                    {{"message", msg}}, /*global=*/true);
  if (obs_.events)
    obs_.events->push_back({at, cpu, PpEvent::kFinding, to_string(kind), PpEvent::Kind::finding,
                            fmt::format("{}: {}", task, msg)});
  findings_.push_back(std::move(f));
}

}  // namespace p2psim
