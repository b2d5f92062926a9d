// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/bounded_search.h"

#include <fmt/format.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <tuple>

#include "common/kernel_bug.h"
#include "explore/known_bug.h"

namespace p2psim {

namespace {

/**
 * class DeviationStrategy - what a schedule does when nothing is forced,
 * and the forced decisions it is given.
 *
 * Unforced, the timing decides (default_choice()). A forced decision runs
 * a task other than the one that runs unforced, and that task then keeps
 * running unforced at the following points, as long as it can (a CPU
 * stalled by an interrupt or a preempted vCPU stays stalled while the
 * other runs on): one forced decision is one preemption in the sense of
 * iterative context bounding (Musuvathi and Qadeer, PLDI 2007), not one
 * scheduling step. Forcing the timing's own choice while a task is
 * favoured returns to the timing. Records, for every scheduling point with
 * a choice, the number of candidates and the unforced one, so the search
 * knows the alternatives.
 */
class DeviationStrategy : public Strategy {
 public:
  struct Point {
    uint32_t candidates;
    uint32_t unforced;
  };
  const char* name() const override { return "explore"; }
  void begin(uint64_t, int) override {
    points_.clear();
    decisions_ = Decisions{};
    forced_.clear();
    next_ = 0;
    favoured_ = -1;
  }
  void set(const std::vector<Deviation>* devs) { devs_ = devs; }
  size_t choose(const std::vector<Candidate>& cands) override {
    const auto here = static_cast<uint32_t>(points_.size());
    const size_t timed = default_choice(cands);
    size_t unforced = timed;
    if (favoured_ >= 0) {
      size_t i = 0;
      while (i < cands.size() && cands[i].task != favoured_) ++i;
      if (i < cands.size())
        unforced = i;
      else
        favoured_ = -1;  // it blocked or finished: the timing decides again
    }
    points_.push_back({static_cast<uint32_t>(cands.size()), static_cast<uint32_t>(unforced)});
    size_t pick = unforced;
    if (next_ < devs_->size() && (*devs_)[next_].point == here) {
      // The search forces only candidates this point had when the same
      // prefix ran before: executions are deterministic, so they exist.
      const size_t c = (*devs_)[next_].candidate;
      if (c < cands.size() && c != unforced) {
        pick = c;
        favoured_ = c == timed ? -1 : cands[c].task;
        forced_.push_back({here, cands[c].task, cands[unforced].task, c == timed});
      }
      ++next_;
    }
    decisions_.choices.push_back(pick == timed ? -1 : cands[pick].task);
    return pick;
  }
  const std::vector<Point>& points() const { return points_; }
  const Decisions& decisions() const { return decisions_; }
  const std::vector<ForcedDecision>& forced() const { return forced_; }

 private:
  const std::vector<Deviation>* devs_ = nullptr;
  std::vector<Point> points_;
  Decisions decisions_;
  std::vector<ForcedDecision> forced_;
  size_t next_ = 0;
  int favoured_ = -1;  ///< task a forced decision ran, running on unforced
};

/**
 * class ExecWatchdog - explore's guard against a simulator hang: a thread
 * that wakes every second and, when no execution finished for @timeout_s
 * of wall time, says so and ends the process with exit 3. A hung execution
 * cannot be interrupted from inside (its coroutine never yields), and the
 * search's results so far are in this process only, so they go with it;
 * the message says where the search was.
 */
class ExecWatchdog {
 public:
  explicit ExecWatchdog(double timeout_s) : timeout_s_(timeout_s) {
    if (timeout_s_ > 0) thread_ = std::thread([this] { watch(); });
  }
  ~ExecWatchdog() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void finished(uint64_t executions, size_t level) {
    executions_.store(executions, std::memory_order_relaxed);
    level_.store(level, std::memory_order_relaxed);
  }

 private:
  void watch() {
    uint64_t seen = executions_.load();
    auto since = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> l(m_);
    while (!cv_.wait_for(l, std::chrono::seconds(1), [this] { return stop_; })) {
      const uint64_t now_done = executions_.load(std::memory_order_relaxed);
      const auto now = std::chrono::steady_clock::now();
      if (now_done != seen) {
        seen = now_done;
        since = now;
        continue;
      }
      if (std::chrono::duration<double>(now - since).count() < timeout_s_) continue;
      std::fprintf(stderr,
                   "p2pdma-sim: model bug (a simulator defect, not a kernel finding): explore: an execution "
                   "gave no result after %.0f s of wall time (a simulator hang), after %llu executions, "
                   "searching %zu forced decision(s)\n",
                   timeout_s_, static_cast<unsigned long long>(seen), level_.load());
      std::fflush(stderr);
      _exit(3);
    }
  }

  double timeout_s_;
  std::atomic<uint64_t> executions_{0};
  std::atomic<size_t> level_{0};
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

struct Search {
  CoroutineHost& host;
  const HardwareModules& hw;
  const Scenario& sc;
  const RunConfig& rc;
  const BoundedSearchLimits& lim;
  const Classifier& classify;
  const std::function<void(const BoundedSearchResult&, int)>& progress;
  BoundedSearchResult res;
  DeviationStrategy strategy;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool stop = false;  // found, or a limit hit
  ExecWatchdog* watchdog = nullptr;
  size_t current_level = 0;

  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  /// Run the interleaving @devs forces; returns its scheduling points.
  std::vector<DeviationStrategy::Point> run(const std::vector<Deviation>& devs, RunResult* out) {
    strategy.set(&devs);
    RunOptions opt;
    opt.seed = 0;
    opt.use_pins = false;
    opt.record_ops = false;
    opt.strategy_object = &strategy;
    opt.hardware = &hw;
    RunResult r = run_execution(host, sc, rc, opt);
    ++res.executions;
    if (watchdog) watchdog->finished(res.executions, current_level);
    if (out) *out = std::move(r);
    return strategy.points();
  }

  bool over_limits() const {
    if (lim.max_executions && res.executions >= lim.max_executions) return true;
    return lim.max_seconds > 0 && elapsed() >= lim.max_seconds;
  }

  /// All interleavings extending @devs with exactly @more forced decisions
  /// after its last one.
  void level(std::vector<Deviation>& devs, int more, int depth) {
    if (stop) return;
    if (over_limits()) {
      stop = true;
      return;
    }
    RunResult r;
    const bool leaf = more == 0;
    const auto points = run(devs, leaf ? &r : nullptr);
    if (leaf) {
      ++res.interleavings[static_cast<size_t>(depth)];
      const Classification c = r.findings.empty() ? Classification{} : classify(r);
      if (!c.known.empty()) ++res.known[c.known];
      if (c.other) ++res.other_findings;
      if (c.stop) {
        res.found = true;
        res.deviations = devs;
        res.decisions = strategy.decisions();
        res.forced = strategy.forced();
        res.run = std::move(r);
        stop = true;
      }
      if (progress) progress(res, depth);
      return;
    }
    const uint32_t from = devs.empty() ? 0 : devs.back().point + 1;
    for (uint32_t p = from; p < points.size() && !stop; ++p) {
      // Split the search between jobs by the first forced decision.
      if (devs.empty() && lim.jobs > 1 && static_cast<int>(p % static_cast<uint32_t>(lim.jobs)) != lim.job) continue;
      for (uint32_t c = 0; c < points[p].candidates && !stop; ++c) {
        if (c == points[p].unforced) continue;
        devs.push_back({p, c});
        level(devs, more - 1, depth);
        devs.pop_back();
      }
    }
  }
};

}  // namespace

RunResult run_interleaving(CoroutineHost& host, const HardwareModules& hw, const Scenario& sc, const RunConfig& rc,
                           const std::vector<Deviation>& devs, Decisions* decisions,
                           std::vector<ForcedDecision>* forced) {
  BoundedSearchLimits lim;
  const Classifier none;
  const std::function<void(const BoundedSearchResult&, int)> quiet;
  Search s{host, hw, sc, rc, lim, none, quiet, {}, {}};
  RunResult r;
  s.run(devs, &r);
  if (decisions) *decisions = s.strategy.decisions();
  if (forced) *forced = s.strategy.forced();
  return r;
}

std::string format_deviations(const std::vector<Deviation>& devs) {
  std::string s;
  for (const Deviation& d : devs) s += fmt::format("{}{}:{}", s.empty() ? "" : ",", d.point, d.candidate);
  return s.empty() ? "-" : s;
}

std::optional<std::vector<Deviation>> parse_deviations(const std::string& s) {
  std::vector<Deviation> out;
  if (s == "-") return out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned p = 0, c = 0;
    int used = 0;
    if (std::sscanf(s.c_str() + i, "%u:%u%n", &p, &c, &used) != 2) return std::nullopt;
    out.push_back({p, c});
    i += static_cast<size_t>(used);
    if (i < s.size() && s[i++] != ',') return std::nullopt;
  }
  return out;
}

uint64_t BoundedSearchResult::total() const {
  uint64_t n = 0;
  for (uint64_t k : interleavings) n += k;
  return n;
}

BoundedSearchResult bounded_search(CoroutineHost& host, const HardwareModules& hw, const Scenario& sc,
                                   const RunConfig& rc, const BoundedSearchLimits& lim, const Classifier& classify,
                                   const std::function<void(const BoundedSearchResult&, int)>& progress) {
  Search s{host, hw, sc, rc, lim, classify, progress, {}, {}};
  ExecWatchdog watchdog(lim.exec_timeout_s);
  s.watchdog = &watchdog;
  s.res.interleavings.assign(static_cast<size_t>(lim.bound) + 1, 0);
  for (int k = lim.first; k <= lim.bound && !s.stop; ++k) {
    // The interleaving without forced decisions belongs to job 0 alone.
    if (k == 0 && lim.jobs > 1 && lim.job != 0) continue;
    s.current_level = static_cast<size_t>(k);
    std::vector<Deviation> devs;
    s.level(devs, k, k);
  }
  s.res.complete = !s.stop;  // stopped early: found, or out of budget
  s.res.seconds = s.elapsed();
  return std::move(s.res);
}

}  // namespace p2psim

namespace p2psim {

Classifier explore_classifier(const RunConfig& rc, const std::string& stop_on) {
  return [&rc, stop_on](const RunResult& r) {
    Classification c;
    if (const KnownBug* k = explain_findings(rc.known, r.findings, r.causes)) {
      c.known = k->name;
      return c;
    }
    if (stop_on == "any") {
      c.stop = true;
      return c;
    }
    for (const auto& f : r.findings)
      if (to_string(f.kind) == stop_on) c.stop = true;
    c.other = !c.stop;
    return c;
  };
}

namespace {

/// A worker's report of one level, one line: counts, then the first
/// stopping interleaving ("-" if none), then the known-bug counts.
std::string level_report(const BoundedSearchResult& r, int level) {
  std::string known;
  for (const auto& [name, n] : r.known) known += fmt::format("{}{}={}", known.empty() ? "" : ",", name, n);
  return fmt::format("{} {} {} {} {} {} {}\n", r.interleavings[static_cast<size_t>(level)], r.executions,
                     r.complete ? 1 : 0, r.found ? 1 : 0, format_deviations(r.deviations), r.other_findings,
                     known.empty() ? "-" : known);
}

/// The workers of one level; whatever stops the search early (an error,
/// an exception) kills and reaps those still running.
struct Workers {
  struct One {
    pid_t pid;
    int fd;
  };
  std::vector<One> list;
  ~Workers() {
    for (auto& w : list) {
      if (w.fd >= 0) close(w.fd);
      if (w.pid > 0) {
        kill(w.pid, SIGKILL);
        waitpid(w.pid, nullptr, 0);
      }
    }
  }
};

/// Lexicographic order of forced decisions: the order one process meets them.
bool earlier(const std::vector<Deviation>& a, const std::vector<Deviation>& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](const Deviation& x, const Deviation& y) {
    return std::tie(x.point, x.candidate) < std::tie(y.point, y.candidate);
  });
}

}  // namespace

BoundedSearchResult explore_in_workers(const Scenario& sc, const RunConfig& rc, const BoundedSearchLimits& lim,
                                       int jobs, const Classifier& classify, HostKind host,
                                       const std::function<void(const BoundedSearchResult&, int)>& progress) {
  BoundedSearchResult res;
  if (jobs <= 1) {
    run_scenario(sc, [&](CoroutineHost& h, const HardwareModules& hw) {
      res = bounded_search(h, hw, sc, rc, lim, classify, progress);
    }, host);
    return res;
  }
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  res.interleavings.assign(static_cast<size_t>(lim.bound) + 1, 0);
  res.complete = true;
  std::fflush(nullptr);  // nothing buffered is written twice by the workers
  for (int k = lim.first; k <= lim.bound && !res.found && res.complete; ++k) {
    BoundedSearchLimits part = lim;
    part.first = part.bound = k;
    if (lim.max_executions && res.executions >= lim.max_executions) {
      res.complete = false;
      break;
    }
    if (lim.max_seconds > 0) {
      if (elapsed() >= lim.max_seconds) {
        res.complete = false;
        break;
      }
      part.max_seconds = lim.max_seconds - elapsed();
    }
    // With a budget left smaller than the workers, start fewer: each gets
    // at least one execution, and the level is split among those started.
    int level_jobs = jobs;
    if (lim.max_executions)
      level_jobs = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(jobs), lim.max_executions - res.executions));
    part.jobs = level_jobs;
    if (lim.max_executions) part.max_executions = (lim.max_executions - res.executions) / static_cast<uint64_t>(level_jobs);
    Workers workers;
    for (int j = 0; j < level_jobs; ++j) {
      int fd[2];
      if (pipe(fd)) throw ModelBug("pipe() failed");
      const pid_t pid = fork();
      if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        throw ModelBug("fork() failed");
      }
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the search
        close(fd[0]);
        part.job = j;
        int code = 0;
        try {
          BoundedSearchResult r;
          run_scenario(sc, [&](CoroutineHost& h, const HardwareModules& hw) {
            r = bounded_search(h, hw, sc, rc, part, classify);
          }, host);
          const std::string line = level_report(r, k);
          code = write(fd[1], line.data(), line.size()) == static_cast<ssize_t>(line.size()) ? 0 : 3;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "explore worker %d: %s\n", j, e.what());
          code = 3;
        } catch (...) {
          std::fprintf(stderr, "explore worker %d: unknown exception\n", j);
          code = 3;
        }
        std::fflush(nullptr);
        _exit(code);
      }
      close(fd[1]);
      workers.list.push_back({pid, fd[0]});
    }
    std::optional<std::vector<Deviation>> first;
    bool level_cut = false;  // a worker of this level stopped on its budget
    for (auto& w : workers.list) {
      std::string line;
      char buf[4096];
      for (ssize_t n; (n = read(w.fd, buf, sizeof buf)) > 0;) line.append(buf, static_cast<size_t>(n));
      close(w.fd);
      w.fd = -1;
      int status = 0;
      waitpid(w.pid, &status, 0);
      w.pid = -1;
      if (WIFSIGNALED(status))
        throw ModelBug(fmt::format("an explore worker was killed by signal {} ({}) searching {} forced decision(s)",
                                   WTERMSIG(status), strsignal(WTERMSIG(status)), k));
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw ModelBug(fmt::format("an explore worker failed searching {} forced decision(s) (see its message above)", k));
      std::istringstream in(line);
      uint64_t inter = 0, execs = 0, other = 0;
      int complete = 0, found = 0;
      std::string devs, known;
      if (!(in >> inter >> execs >> complete >> found >> devs >> other >> known))
        throw ModelBug(fmt::format("an explore worker's report is garbled: '{}'", line));
      res.interleavings[static_cast<size_t>(k)] += inter;
      res.executions += execs;
      res.other_findings += other;
      if (known != "-") {
        std::istringstream ks(known);
        for (std::string item; std::getline(ks, item, ',');) {
          const auto eq = item.rfind('=');
          if (eq != std::string::npos) res.known[item.substr(0, eq)] += std::stoull(item.substr(eq + 1));
        }
      }
      if (found) {
        auto d = parse_deviations(devs);
        if (!d) throw ModelBug(fmt::format("an explore worker's report is garbled: '{}'", line));
        if (!first || earlier(*d, *first)) first = std::move(*d);
      } else if (!complete) {
        res.complete = false;
        level_cut = true;
      }
    }
    // A finding while another worker ran out of budget: one it did not
    // reach could come earlier in the order a single process searches.
    if (first && level_cut) res.first_in_order = false;
    if (first) {
      res.found = true;
      res.complete = false;
      res.deviations = std::move(*first);
    }
    if (progress) progress(res, k);
  }
  if (res.found)
    run_scenario(sc, [&](CoroutineHost& h, const HardwareModules& hw) {
      res.run = run_interleaving(h, hw, sc, rc, res.deviations, &res.decisions, &res.forced);
    }, host);
  res.seconds = elapsed();
  return res;
}

}  // namespace p2psim
