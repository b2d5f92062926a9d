// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Race-hunting campaigns. The parent process never runs SystemC while the
// campaign explores: it forks --jobs workers (each elaborates once and runs
// many executions), hands them batches of execution indices over pipes,
// deduplicates findings by signature, tracks coverage, and checkpoints the
// campaign atomically so a SIGKILL loses nothing that was checkpointed.
// Then it shrinks each unique finding in-process and writes its folder.
#include "explore/campaign.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_set>

#include "explore/campaign_state.h"
#include "explore/finding_folder.h"
#include "explore/finding_signature.h"
#include "explore/known_bug.h"
#include "common/kernel_bug.h"
#include "explore/replay_token.h"
#include "explore/runner.h"
#include "explore/strategies.h"
#include "scenario/scenario.h"
#include "explore/shrink.h"
#include "scenario/strict_yaml.h"
#include "engine/systemc_host.h"
#include "output/atomic_file.h"
#include "output/trace_writer.h"

namespace p2psim {

namespace fs = std::filesystem;

namespace {



constexpr uint64_t kBatch = 128;
volatile sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }



std::string clean_field(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

/// A token for the execution of @seed in this campaign (decisions to be filled in).
ReplayToken campaign_token(const CampaignOptions& o, const Scenario& sc, const std::string& strategy, uint64_t seed) {
  ReplayToken tok;
  tok.scenario_path = o.scenario_path;
  tok.scenario_hash = sc.content_hash;
  tok.variant = o.variant;
  tok.sets = o.sets;
  tok.strategy = strategy;
  tok.seed = seed;
  return tok;
}

/// --hint-pins: does the execution of @seed keep the variant's pins (every other one).
bool hinted(const CampaignOptions& o, uint64_t seed) { return o.hint_pins && Rng(seed ^ 0x9195).below(2) == 0; }

uint64_t seed_of(const CampaignOptions& o, uint64_t index) {
  return o.seed + index * static_cast<uint64_t>(o.shard_n) + static_cast<uint64_t>(o.shard_k - 1);
}

/**
 * MutateStrategy - --favour-new-pairs: replay a prefix of a schedule that
 * reached new coverage, then continue at random.
 */
class MutateStrategy : public Strategy {
 public:
  MutateStrategy(Decisions prefix, size_t keep) : prefix_(std::move(prefix)), keep_(keep) {}
  const char* name() const override { return "cov"; }
  void begin(uint64_t seed, int) override {
    rng_.reseed(seed);
    step_ = 0;
  }
  size_t choose(const std::vector<Candidate>& cands) override {
    const size_t k = step_++;
    if (k < keep_ && k < prefix_.choices.size()) {
      const int want = prefix_.choices[k];
      if (want < 0) return default_choice(cands);
      for (size_t i = 0; i < cands.size(); ++i)
        if (cands[i].task == want) return i;
    }
    return rng_.below(cands.size());
  }

 private:
  Decisions prefix_;
  size_t keep_;
  size_t step_ = 0;
  Rng rng_;
};

/// PCT's k: the most scheduling choices in 64 calibration executions
/// (random strategy, fixed seeds), so every worker derives the same k.
uint64_t calibrate_pct_steps(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                             const HardwareModules& hw) {
  uint64_t k = 1;
  for (uint64_t s = 1; s <= 64; ++s) {
    auto inner = make_random_strategy();
    RecordingStrategy rec(*inner);
    RunOptions opt;
    opt.seed = 0xca11b4a7e0000000ULL + s;
    opt.use_pins = false;
    opt.strategy_object = &rec;
    opt.hardware = &hw;
    run_execution(host, sc, rc, opt);
    k = std::max<uint64_t>(k, rec.decisions().choices.size());
  }
  return k;
}

/// A worker process: run batches of executions, report findings and coverage.
/**
 * struct WorkerSlot - what a worker tells its parent through shared memory,
 * so the parent knows which execution a dead or stuck worker was running.
 * One store per execution; the pipe carries the results.
 */
struct WorkerSlot {
  std::atomic<uint64_t> current;   ///< 1 + index of the execution running; 0 none
  std::atomic<uint64_t> pct_steps; ///< the worker's calibrated PCT steps
  std::atomic<int> member;         ///< adaptive: set before each execution to the member
                                   ///< that runs it, -1 for a mutated (--favour-new-pairs) one
  char message[492];               ///< why it is about to die, when it knows
};
/// WorkerSlot::current while the worker calibrates, before any execution.
constexpr uint64_t kCalibrating = ~0ULL;

[[noreturn]] void worker_main(const CampaignOptions& o, const Scenario& sc, const RunConfig& rc, int in_fd,
                              int out_fd, WorkerSlot* slot) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGINT, SIG_IGN);  // the parent decides when to stop
  int code = 0;
  try {
    run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
      slot->current.store(kCalibrating);
      const uint64_t steps = calibrate_pct_steps(host, sc, rc, hw);
      slot->pct_steps.store(steps);
      slot->current.store(0);
      auto strat = make_campaign_strategy(o.strategy, o.pct_depth, steps);
      auto* adaptive = dynamic_cast<AdaptivePortfolioStrategy*>(strat.get());
      std::unordered_set<uint64_t> cov;
      std::vector<Decisions> corpus;
      FILE* in = fdopen(in_fd, "r");
      char line[256];
      while (fgets(line, sizeof line, in)) {
        uint64_t first = 0, count = 0;
        if (line[0] == 'Q' || std::sscanf(line, "W %lu %lu", &first, &count) != 2) break;
        std::string out;
        std::vector<uint64_t> new_pairs;
        for (uint64_t i = first; i < first + count; ++i) {
          const uint64_t seed = seed_of(o, i);
          std::unique_ptr<Strategy> mutate;
          Strategy* base = strat.get();
          if (o.favour_new_pairs && !corpus.empty() && (Rng(seed ^ 0xc0ffee).below(2) == 0)) {
            Rng r(seed ^ 0xfeed);
            const Decisions& parent = corpus[r.below(corpus.size())];
            mutate = std::make_unique<MutateStrategy>(parent, r.below(parent.choices.size() + 1));
            base = mutate.get();
          }
          RecordingStrategy rec(*base);
          RunOptions opt;
          opt.seed = seed;
          // --hint-pins: every other execution (by seed) keeps the scenario's pins.
          const bool pinned = hinted(o, seed);
          opt.use_pins = pinned;
          opt.record_ops = false;  // campaigns judge findings, not op results
          opt.strategy_object = &rec;
          opt.hardware = &hw;
          const size_t before = cov.size();
          std::unordered_set<uint64_t> run_cov;
          opt.observers.coverage = &run_cov;
          // An adaptive campaign's member depends on the worker's history: say
          // which one runs, so an internal_error token can name it.
          if (adaptive) slot->member.store(base == strat.get() ? static_cast<int>(adaptive->pick(seed)) : -1);
          slot->current.store(i + 1);
          RunResult r = run_execution(host, sc, rc, opt);
          const size_t cov_before_run = cov.size();
          for (uint64_t h : run_cov)
            if (cov.insert(h).second) new_pairs.push_back(h);
          if (adaptive && base == strat.get()) adaptive->reward(cov.size() - cov_before_run);
          if (o.favour_new_pairs && cov.size() > before && corpus.size() < 4096) corpus.push_back(rec.decisions());
          if (r.findings.empty()) continue;
          ReplayToken tok = campaign_token(o, sc, rec.name(), seed);
          tok.decisions = rec.decisions();
          tok.pins = pinned;
          std::set<std::string> kinds;
          for (const auto& f : r.findings) kinds.insert(to_string(f.kind));
          tok.findings.assign(kinds.begin(), kinds.end());
          const std::string token = encode_token(tok);
          // An execution's findings count once per distinct signature, known or not.
          std::set<std::string> seen;
          std::vector<std::pair<const Finding*, std::string>> distinct;
          for (const auto& f : r.findings) {
            std::string sig = clean_field(finding_signature(f));
            if (seen.insert(sig).second) distinct.emplace_back(&f, std::move(sig));
          }
          if (const KnownBug* kb = o.no_known ? nullptr : explain_findings(rc.known, r.findings, r.causes)) {
            out += fmt::format("K\t{}\t{}\t{}\t{}\t{}\t{}\n", i, seed, rec.name(), kb->name, distinct.size(), token);
            continue;
          }
          // One bug per execution, named by its first finding; the others are its symptoms.
          std::string symptoms;
          for (size_t d = 1; d < distinct.size(); ++d) symptoms += (d > 1 ? "\x1f" : "") + distinct[d].second;
          out += fmt::format("F\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", i, seed, rec.name(),
                             to_string(distinct[0].first->kind), distinct[0].second,
                             clean_field(distinct[0].first->message), token, distinct.size(), symptoms);
        }
        if (!new_pairs.empty()) {
          out += "C\t";
          for (size_t j = 0; j < new_pairs.size(); ++j) out += fmt::format("{}{:x}", j ? "," : "", new_pairs[j]);
          out += "\n";
        }
        out += fmt::format("D\t{}\t{}\t{}\t{}\n", first, count, steps, sc.tasks.size());
        slot->current.store(0);  // before D: once the parent has D, no execution of the batch runs
        if (!write_all(out_fd, out)) break;
      }
    }, o.host);
  } catch (const std::exception& e) {
    std::snprintf(slot->message, sizeof slot->message, "model bug: %s", e.what());
    code = 3;
  }
  std::fflush(nullptr);
  _exit(code);
}

struct Worker {
  pid_t pid = -1;
  int to = -1, from = -1;
  WorkerSlot* slot = nullptr;
  std::string buf;
  std::vector<std::string> batch;  ///< lines of the batch in flight, applied at its D line
  bool busy = false, alive = true;
  bool hung = false;  ///< the parent killed it: an execution ran past --exec-timeout
  uint64_t first = 0, count = 0;
  uint64_t seen = 0;  ///< slot->current when last looked at, and since when
  std::chrono::steady_clock::time_point seen_since;
};

uint64_t known_executions(const CampaignState& s) {
  uint64_t n = 0;
  for (const auto& [name, h] : s.known) n += h.executions;
  return n;
}

void print_known(const fs::path& out, const CampaignState& s) {
  for (const auto& [name, h] : s.known)
    fmt::print("  known bug {} explained {} execution(s) ({} findings), first at {:.2f}s (seed {}, {})  {}\n", name,
               h.executions, h.findings, h.first_found_s, h.seed, h.strategy,
               (out / "known" / (name + ".token")).string());
}

std::string summary_json(const CampaignState& s, const CampaignOptions& o, const std::string& scenario_name) {
  std::vector<const UniqueFinding*> list;
  for (const auto& [sig, u] : s.unique) list.push_back(&u);
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->first_execution < b->first_execution; });
  std::string uniq;
  for (const auto* u : list)
    uniq += fmt::format(
        "{}\n  {{\"kind\":{},\"signature\":{},\"count\":{},\"first_found_s\":{:.3f},\"first_execution\":{},"
        "\"seed\":{},\"strategy\":{},\"dir\":{},\"symptoms\":[{}],\"later_symptoms\":[{}]}}",
        uniq.empty() ? "" : ",", json_quote(u->kind), json_quote(u->signature), u->count, u->first_found_s, u->first_execution,
        u->seed, json_quote(u->strategy), json_quote(u->dir), symptoms_json(*u), later_symptoms_json(*u));
  const double n = static_cast<double>(s.nr_tasks), k = static_cast<double>(std::max<uint64_t>(1, s.pct_steps));
  return fmt::format(
      "{{\"scenario\":{},\"file\":{},\"variant\":{},\"strategy\":{},\"shard\":{},\"first_seed\":{},"
      "\"executions\":{},\"wall_seconds\":{:.3f},\"executions_per_second\":{:.0f},\"findings_total\":{},"
      "\"unique_findings\":{},\"known_bug_executions\":{},\"coverage_pairs\":{},"
      "\"pct\":{{\"depth\":{},\"n\":{},\"k\":{},\"guarantee\":{:.3g}}},"
      "\"findings\":[{}],\n\"known_bugs\":[{}]}}\n",
      json_quote(scenario_name), json_quote(s.scenario), json_quote(s.variant), json_quote(s.strategy), json_quote(s.shard), s.seed, s.done.size(),
      s.wall_seconds, s.done.size() / std::max(s.wall_seconds, 1e-9), s.findings_total, s.unique.size(),
      known_executions(s), s.coverage.size(), o.pct_depth, s.nr_tasks, s.pct_steps,
      1.0 / (n * std::pow(k, o.pct_depth - 1)), uniq, known_json(s, false));
}

}  // namespace

int run_campaign(const CampaignOptions& o) {
  if (o.runs == 0 && o.time_s <= 0)
    throw InputError("<command line>", 1, 1, "fuzz needs a budget: --runs N or --time SECONDS");
  if (o.out_dir.empty()) throw InputError("<command line>", 1, 1, "fuzz needs --out DIR for its results");
  const Scenario sc = load_scenario(o.scenario_path);
  if (const std::string why = host_unsuitable(o.host, sc); !why.empty())
    throw InputError("<command line>", 1, 1, why);
  const RunConfig rc = resolve_run(sc, o.variant, o.sets);
  if (o.hint_pins && rc.pins.empty())
    throw InputError(sc.file, 1, 1,
                     fmt::format("--hint-pins: {} has no pinned schedule to hint with",
                                 o.variant.empty() ? "the base kernel" : "variant '" + o.variant + "'"));
  const fs::path out(o.out_dir);
  const fs::path state_path = out / "state.json";

  CampaignState st;
  st.scenario = o.scenario_path;
  st.hash = sc.content_hash;
  st.variant = o.variant;
  st.sets = o.sets;
  st.strategy = o.strategy;
  st.seed = o.seed;
  st.shard = fmt::format("{}/{}", o.shard_k, o.shard_n);
  st.budget_runs = o.runs;
  st.budget_time = o.time_s;
  st.nr_tasks = static_cast<int>(sc.tasks.size());
  st.no_known = o.no_known;
  st.hint_pins = o.hint_pins;
  if (fs::exists(state_path)) {
    if (!o.resume)
      throw InputError(state_path.string(), 1, 1,
                       "a campaign already lives in this directory: add --resume to continue it, or pick another --out");
    CampaignState old = load_state(state_path.string());
    auto mismatch = [&](const char* what, const std::string& a, const std::string& b) {
      if (a != b)
        throw InputError(state_path.string(), 1, 1,
                         fmt::format("--resume with a different {}: the campaign has '{}', the command says '{}'", what, a, b));
    };
    mismatch("scenario content (hash)", fmt::format("{:016x}", old.hash), fmt::format("{:016x}", st.hash));
    mismatch("variant", old.variant, st.variant);
    mismatch("strategy", old.strategy, st.strategy);
    mismatch("shard", old.shard, st.shard);
    mismatch("first seed", std::to_string(old.seed), std::to_string(st.seed));
    mismatch("--no-known", old.no_known ? "on" : "off", st.no_known ? "on" : "off");
    mismatch("--hint-pins", old.hint_pins ? "on" : "off", st.hint_pins ? "on" : "off");
    std::string a, b;
    for (const auto& x : old.sets) a += x + " ";
    for (const auto& x : st.sets) b += x + " ";
    mismatch("--set list", a, b);
    old.budget_runs = o.runs;
    old.budget_time = o.time_s;
    st = std::move(old);
  } else if (o.resume) {
    throw InputError(state_path.string(), 1, 1, "--resume: no campaign checkpoint here");
  }
  make_output_dir(out / "findings");
  forget_unfinished_output(out, st, o.resume);

  // Fork the workers before this process touches SystemC; a worker that
  // dies is forked again (the parent never runs SystemC while exploring).
  std::vector<Worker> workers(static_cast<size_t>(std::max(1, o.jobs)));
  void* shared = mmap(nullptr, sizeof(WorkerSlot) * workers.size(), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) throw ModelBug("mmap() of the worker slots failed");
  auto* slots = static_cast<WorkerSlot*>(shared);
  auto spawn = [&](Worker& w) {
    w.slot->current.store(0);
    w.slot->pct_steps.store(0);
    w.slot->message[0] = 0;
    int to[2], from[2];
    if (pipe(to) || pipe(from)) throw ModelBug("pipe() failed");
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) throw ModelBug("fork() failed");
    if (pid == 0) {
      ::close(to[1]);
      ::close(from[0]);
      for (auto& other : workers)
        if (&other != &w && other.pid > 0 && other.alive) {
          ::close(other.to);
          ::close(other.from);
        }
      worker_main(o, sc, rc, to[0], from[1], w.slot);
    }
    ::close(to[0]);
    ::close(from[1]);
    w.pid = pid;
    w.to = to[1];
    w.from = from[0];
    w.alive = true;
    w.busy = w.hung = false;
    w.buf.clear();
    w.batch.clear();
    w.seen = 0;
    w.seen_since = std::chrono::steady_clock::now();
  };
  for (size_t k = 0; k < workers.size(); ++k) {
    new (&slots[k]) WorkerSlot{};
    workers[k].slot = &slots[k];
    spawn(workers[k]);
  }
  signal(SIGPIPE, SIG_IGN);
  g_stop = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const bool tty = isatty(STDERR_FILENO);
  const auto t_start = std::chrono::steady_clock::now();
  const double wall_before = st.wall_seconds;
  auto elapsed = [&] {
    return wall_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  };
  std::ofstream cov_csv(out / "coverage.csv", std::ios::app);
  if (fs::file_size(out / "coverage.csv") == 0) cov_csv << "wall_seconds,executions,coverage_pairs,unique_findings\n";

  uint64_t next_new = 0;  // first index never handed out
  bool stop_found = false;  // --stop-on matched
  // The rest of a batch whose worker died: handed out before new indices.
  std::vector<std::pair<uint64_t, uint64_t>> requeued;
  auto next_batch = [&](uint64_t* first, uint64_t* count) -> bool {
    if (g_stop || stop_found || (o.time_s > 0 && elapsed() >= o.time_s)) return false;
    if (!requeued.empty()) {
      std::tie(*first, *count) = requeued.back();
      requeued.pop_back();
      if (*count > kBatch) {
        requeued.emplace_back(*first + kBatch, *count - kBatch);
        *count = kBatch;
      }
      return true;
    }
    for (;;) {
      if (o.runs && next_new >= o.runs) return false;
      if (!st.done.contains(next_new)) break;
      ++next_new;
    }
    *first = next_new;
    uint64_t n = 0;
    while (n < kBatch && (!o.runs || next_new < o.runs) && !st.done.contains(next_new)) {
      ++n;
      ++next_new;
    }
    *count = n;
    return n > 0;
  };

  auto handle_line = [&](const std::string& line) {
    auto f = split(line, '\t');
    if (f[0] == "F" && f.size() == 10) {
      st.findings_total += std::stoull(f[8]);
      if (!o.stop_on.empty() && (o.stop_on == "any" || o.stop_on == f[4])) stop_found = true;
      // A kind that shows as a symptom (a later finding of the execution) counts too.
      if (!o.stop_on.empty() && !f[9].empty())
        for (const auto& sym : split(f[9], '\x1f'))
          if (sym.substr(0, sym.find(" @ ")) == o.stop_on) stop_found = true;  // also kept: later_symptoms
      UniqueFinding& u = st.unique[f[5]];
      const std::vector<std::string> shown = f[9].empty() ? std::vector<std::string>{} : split(f[9], '\x1f');
      const uint64_t execution = std::stoull(f[1]);
      if (u.count == 0 || execution < u.first_execution) {
        const bool fresh = u.count == 0;
        // What the old first execution showed stays known, as later symptoms.
        if (!fresh) u.note_symptoms(u.symptoms, u.first_execution, u.token, u.first_found_s);
        u.signature = f[5];
        u.kind = f[4];
        u.message = f[6];
        u.token = f[7];
        u.strategy = f[3];
        u.seed = std::stoull(f[2]);
        u.first_execution = execution;
        u.symptoms = shown;
        u.later_symptoms.erase(std::remove_if(u.later_symptoms.begin(), u.later_symptoms.end(),
                                              [&](const LaterSymptom& l) {
                                                return std::find(shown.begin(), shown.end(), l.signature) != shown.end();
                                              }),
                               u.later_symptoms.end());
        if (fresh) u.first_found_s = elapsed();
      } else {
        u.note_symptoms(shown, execution, f[7], elapsed());
      }
      ++u.count;
    } else if (f[0] == "K" && f.size() == 7) {
      KnownHits& h = st.known[f[4]];
      const uint64_t idx = std::stoull(f[1]);
      if (h.executions == 0 || idx < h.first_execution) {
        if (h.executions == 0) h.first_found_s = elapsed();
        h.name = f[4];
        h.first_execution = idx;
        h.seed = std::stoull(f[2]);
        h.strategy = f[3];
        h.token = f[6];
      }
      ++h.executions;
      h.findings += std::stoull(f[5]);
    } else if (f[0] == "C" && f.size() == 2) {
      for (const auto& h : split(f[1], ',')) st.coverage.insert(std::stoull(h, nullptr, 16));
    } else if (f[0] == "D" && f.size() == 5) {
      st.done.add(std::stoull(f[1]), std::stoull(f[2]));
      st.pct_steps = std::stoull(f[3]);
    }
  };
  auto checkpoint = [&] {
    st.wall_seconds = elapsed();
    atomic_write(state_path, state_json(st));
    cov_csv << fmt::format("{:.3f},{},{},{}\n", st.wall_seconds, st.done.size(), st.coverage.size(), st.unique.size());
    cov_csv.flush();
  };

  // A worker died (crash, uncaught exception) or was killed as hung: the
  // execution it was running becomes an internal_error finding and counts as
  // done, so --resume never runs it again; the rest of its batch is handed
  // out again and a new worker takes its place.
  int deaths_outside_executions = 0;
  auto on_worker_death = [&](Worker& w) {
    ::close(w.to);
    ::close(w.from);
    int status = 0;
    waitpid(w.pid, &status, 0);
    w.alive = false;
    const uint64_t cur = w.slot->current.load();
    std::string why(w.slot->message, strnlen(w.slot->message, sizeof w.slot->message));
    if (w.hung)
      why = fmt::format("no result after {:.0f} s of wall time: a loop in the simulator (a hang of the simulated "
                        "kernel is a `hang` finding, not this)", o.exec_timeout_s);
    else if (why.empty() && WIFSIGNALED(status))
      why = fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (why.empty())
      why = fmt::format("exited with status {}", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    const bool in_batch = w.busy && cur != 0 && cur != kCalibrating && cur - 1 >= w.first && cur - 1 < w.first + w.count;
    if (cur == kCalibrating)
      throw ModelBug("a fuzz worker failed while calibrating PCT, before any campaign execution: " + why +
                     "; the campaign is checkpointed in " + out.string());
    if (!in_batch) {
      // Not inside an execution (killed from outside, or between batches).
      if (++deaths_outside_executions > 3)
        throw ModelBug("fuzz workers keep dying outside any execution: " + why +
                       "; the campaign is checkpointed in " + out.string());
      if (w.busy) requeued.emplace_back(w.first, w.count);
    } else {
      const uint64_t idx = cur - 1;
      for (const auto& l : w.batch) {  // results of the executions before it stand
        const auto f = split(l, '\t');
        if ((f[0] == "F" || f[0] == "K") && f.size() > 1 && std::stoull(f[1]) >= idx) continue;
        handle_line(l);
      }
      st.done.add(w.first, idx - w.first + 1);
      if (idx + 1 < w.first + w.count) requeued.emplace_back(idx + 1, w.first + w.count - idx - 1);
      std::string strategy = o.strategy;
      if (o.strategy == "adaptive") {  // name the member that ran: the weights are gone
        const int m = w.slot->member.load();
        if (m >= 0) strategy = AdaptivePortfolioStrategy(o.pct_depth, 1).member_name(static_cast<size_t>(m));
      }
      ReplayToken tok = campaign_token(o, sc, strategy, seed_of(o, idx));
      tok.findings = {"internal_error"};
      tok.regenerate = true;
      tok.pins = hinted(o, tok.seed);
      tok.pct_depth = o.pct_depth;
      tok.pct_steps = w.slot->pct_steps.load();
      const std::string sig = internal_error_signature(why);
      ++st.findings_total;
      UniqueFinding& u = st.unique[sig];
      if (u.count == 0 || idx < u.first_execution) {
        if (u.count == 0) u.first_found_s = elapsed();
        u.signature = sig;
        u.kind = "internal_error";
        u.message = clean_field(why);
        u.token = encode_token(tok);
        u.strategy = o.strategy;
        u.seed = tok.seed;
        u.first_execution = idx;
      }
      ++u.count;
      fmt::print(stderr, "{}internal_error: execution {} (seed {}) {}; worker restarted\n",
                 isatty(STDERR_FILENO) ? "\n" : "", idx, tok.seed, why);
    }
    w.busy = false;
    spawn(w);
  };

  // A directory is resumable from the start: a kill in the first second
  // must not leave a campaign that --resume refuses.
  checkpoint();
  auto last_checkpoint = std::chrono::steady_clock::now();
  for (;;) {
    for (auto& w : workers) {
      if (!w.alive || w.busy) continue;
      uint64_t first, count;
      if (!next_batch(&first, &count)) continue;
      if (!write_all(w.to, fmt::format("W {} {}\n", first, count))) {
        w.alive = false;
        continue;
      }
      w.busy = true;
      w.first = first;
      w.count = count;
    }
    std::vector<pollfd> pfds;
    std::vector<Worker*> who;
    for (auto& w : workers)
      if (w.alive && w.busy) {
        pfds.push_back({w.from, POLLIN, 0});
        who.push_back(&w);
      }
    if (pfds.empty()) break;
    const int rc_poll = poll(pfds.data(), pfds.size(), 200);
    if (rc_poll < 0 && errno != EINTR) throw ModelBug("poll() failed");
    for (size_t i = 0; i < pfds.size() && rc_poll > 0; ++i) {
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& w = *who[i];
      char buf[65536];
      const ssize_t n = ::read(w.from, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        on_worker_death(w);
        continue;
      }
      w.buf.append(buf, static_cast<size_t>(n));
      size_t pos;
      while ((pos = w.buf.find('\n')) != std::string::npos) {
        std::string line = w.buf.substr(0, pos);
        w.buf.erase(0, pos + 1);
        if (line.empty() || line[0] != 'D') {
          w.batch.push_back(std::move(line));
          continue;
        }
        // A batch counts whole or not at all: a checkpoint between its
        // findings and its D line would count them twice after --resume.
        for (const auto& l : w.batch) handle_line(l);
        w.batch.clear();
        handle_line(line);
        w.busy = false;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto& w : workers) {  // an execution past --exec-timeout: kill; its EOF reports it
      if (!w.alive || !w.busy || w.hung) continue;
      const uint64_t cur = w.slot->current.load();
      if (cur != w.seen) {
        w.seen = cur;
        w.seen_since = now;
      } else if (cur != 0 && std::chrono::duration<double>(now - w.seen_since).count() > o.exec_timeout_s) {
        ::kill(w.pid, SIGKILL);
        w.hung = true;
      }
    }
    if (now - last_checkpoint >= std::chrono::seconds(1)) {
      checkpoint();
      last_checkpoint = now;
      if (tty) {
        const double rate = (st.done.size()) / std::max(elapsed(), 1e-9);
        fmt::print(stderr, "\r{:7.1f}s {:>10} executions {:>7.0f}/s  findings {} ({} unique)  known {}  coverage {} pairs ",
                   elapsed(), st.done.size(), rate, st.findings_total, st.unique.size(), known_executions(st),
                   st.coverage.size());
      }
    }
  }
  for (auto& w : workers) {
    if (!w.alive) continue;
    write_all(w.to, "Q\n");
    ::close(w.to);
    ::close(w.from);
    int status = 0;
    waitpid(w.pid, &status, 0);
  }
  munmap(shared, sizeof(WorkerSlot) * workers.size());
  if (tty) fmt::print(stderr, "\n");
  checkpoint();

  // Shrink and write a folder for every unique finding that has none yet.
  std::vector<UniqueFinding*> todo;
  for (auto& [sig, u] : st.unique)
    if (u.dir.empty()) todo.push_back(&u);
  std::sort(todo.begin(), todo.end(), [](auto* a, auto* b) { return a->first_execution < b->first_execution; });
  if (!todo.empty()) {
    run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
      for (UniqueFinding* u : todo) {
        if (tty) fmt::print(stderr, "shrinking {} ...\n", u->kind);
        write_finding_dir(host, hw, sc, rc, o, out, *u, folders_written(st) + 1);
        atomic_write(state_path, state_json(st));
      }
    }, o.host);
  }
  write_known_tokens(out, st);
  const std::string summary = summary_json(st, o, sc.name);
  atomic_write(out / "summary.json", summary);

  if (o.json) {
    fmt::print("{}", summary);
  } else {
    fmt::print("campaign: {} ({}), variant {}, strategy {}, shard {}\n", sc.name, sc.file,
               o.variant.empty() ? "(base)" : o.variant, o.strategy, st.shard);
    fmt::print("{} executions in {:.1f} s ({:.0f}/s), {} coverage pairs, {} findings, {} unique{}\n", st.done.size(),
               st.wall_seconds, st.done.size() / std::max(st.wall_seconds, 1e-9), st.coverage.size(),
               st.findings_total, st.unique.size(),
               st.known.empty() ? "" : fmt::format(", {} execution(s) explained by known bugs", known_executions(st)));
    if (o.strategy == "pct" || o.strategy == "portfolio" || o.strategy == "adaptive")
      fmt::print("pct: depth {}, n = {} tasks, k = {} steps: each depth-{} bug found with p >= 1/(n*k^{}) = {:.3g}\n",
                 o.pct_depth, st.nr_tasks, st.pct_steps, o.pct_depth, o.pct_depth - 1,
                 1.0 / (st.nr_tasks * std::pow(static_cast<double>(std::max<uint64_t>(1, st.pct_steps)), o.pct_depth - 1)));
    std::vector<const UniqueFinding*> list;
    for (const auto& [sig, u] : st.unique) list.push_back(&u);
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->first_execution < b->first_execution; });
    for (const auto* u : list) {
      fmt::print("  {:<20} x{:<7} first at {:.2f}s (seed {}, {})  {}\n      {}\n", u->kind, u->count,
                 u->first_found_s, u->seed, u->strategy, (out / u->dir).string(), u->message);
      if (!u->symptoms.empty()) {
        std::string kinds;
        for (const auto& x : u->symptoms) kinds += (kinds.empty() ? "" : ", ") + x.substr(0, x.find(" @ "));
        fmt::print("      then: {}\n", kinds);
      }
      if (!u->later_symptoms.empty()) {
        std::string kinds;
        for (const auto& l : u->later_symptoms)
          kinds += fmt::format("{}{} (first at {:.2f}s)", kinds.empty() ? "" : ", ",
                               l.signature.substr(0, l.signature.find(" @ ")), l.first_found_s);
        fmt::print("      in other executions also: {}; their tokens: summary.json\n", kinds);
      }
    }
    print_known(out, st);
    fmt::print("results: {}\n", out.string());
  }
  size_t internal_errors = 0;
  for (const auto& [sig, u] : st.unique) internal_errors += u.kind == "internal_error";
  if (internal_errors) {
    fmt::print(stderr,
               "p2pdma-sim: {} distinct internal error(s): executions that crashed or hung the simulator itself; "
               "each folder's replay.token reproduces one (p2pdma-sim replay FILE)\n",
               internal_errors);
    return 3;
  }
  return st.unique.empty() ? 0 : 1;
}

int merge_campaigns(const std::vector<std::string>& dirs, const std::string& out_dir, bool json) {
  if (dirs.empty()) throw InputError("<command line>", 1, 1, "merge needs campaign directories");
  if (out_dir.empty()) throw InputError("<command line>", 1, 1, "merge needs --out DIR");
  // The same campaign twice would count its executions twice; an input as
  // the output would be emptied before it is read.
  std::error_code ec;
  const fs::path out_canon = fs::weakly_canonical(fs::path(out_dir), ec);
  std::set<fs::path> seen;
  for (const auto& d : dirs) {
    const fs::path canon = fs::weakly_canonical(fs::path(d), ec);
    if (!seen.insert(canon).second)
      throw InputError("<command line>", 1, 1, fmt::format("merge: '{}' is given more than once", d));
    if (canon == out_canon)
      throw InputError("<command line>", 1, 1,
                       fmt::format("merge: --out '{}' is one of the inputs; write the merge to a new directory", out_dir));
  }
  CampaignState merged;
  std::string shards;
  std::map<std::string, fs::path> source_of;  // signature -> finding folder to copy
  uint64_t executions = 0;
  double wall = 0;
  for (const auto& d : dirs) {
    const fs::path sp = fs::path(d) / "state.json";
    if (!fs::exists(sp)) throw InputError(sp.string(), 1, 1, "not a campaign directory (no state.json)");
    CampaignState s = load_state(sp.string());
    if (merged.scenario.empty()) {
      merged = CampaignState{};
      merged.scenario = s.scenario;
      merged.hash = s.hash;
      merged.variant = s.variant;
      merged.sets = s.sets;
      merged.strategy = s.strategy;
      merged.seed = s.seed;
      merged.nr_tasks = s.nr_tasks;
      merged.pct_steps = s.pct_steps;
      merged.no_known = s.no_known;
    } else if (s.no_known != merged.no_known) {
      throw InputError(sp.string(), 1, 1,
                       "cannot merge: one campaign ran with --no-known and another without, so their findings "
                       "were counted differently");
    } else if (s.hash != merged.hash || s.variant != merged.variant) {
      throw InputError(sp.string(), 1, 1,
                       fmt::format("cannot merge: this campaign ran variant '{}' of scenario content {:016x}, the "
                                   "first ran '{}' of {:016x}",
                                   s.variant, s.hash, merged.variant, merged.hash));
    }
    shards += (shards.empty() ? "" : ",") + s.shard;
    executions += s.done.size();
    wall = std::max(wall, s.wall_seconds);
    merged.findings_total += s.findings_total;
    merged.coverage.insert(s.coverage.begin(), s.coverage.end());
    for (const auto& [name, h] : s.known) {
      KnownHits& m = merged.known[name];
      const uint64_t execs = m.executions + h.executions, fnd = m.findings + h.findings;
      if (m.executions == 0 || h.first_found_s < m.first_found_s) m = h;
      m.executions = execs;
      m.findings = fnd;
    }
    for (const auto& [sig, u] : s.unique) {
      UniqueFinding& m = merged.unique[sig];
      const bool first = m.count == 0 || u.first_found_s < m.first_found_s;
      const uint64_t count = m.count + u.count;
      if (first) {
        UniqueFinding old = m;
        m = u;
        if (!u.dir.empty()) source_of[sig] = fs::path(d) / u.dir;
        if (old.count) {  // what the other shards saw stays known
          m.note_symptoms(old.symptoms, old.first_execution, old.token, old.first_found_s);
          for (const auto& l : old.later_symptoms) m.note_symptoms({l.signature}, l.first_execution, l.token, l.first_found_s);
        }
      } else {
        m.note_symptoms(u.symptoms, u.first_execution, u.token, u.first_found_s);
        for (const auto& l : u.later_symptoms) m.note_symptoms({l.signature}, l.first_execution, l.token, l.first_found_s);
      }
      m.count = count;
    }
  }
  const fs::path out(out_dir);
  make_output_dir(out / "findings");
  size_t n = 1;
  std::vector<UniqueFinding*> list;
  for (auto& [sig, u] : merged.unique) list.push_back(&u);
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->first_found_s < b->first_found_s; });
  for (UniqueFinding* u : list) {
    const std::string dir = finding_dir_name(n++, u->kind);
    auto src = source_of.find(u->signature);
    if (src != source_of.end() && fs::exists(src->second)) {
      fs::remove_all(out / dir);
      fs::copy(src->second, out / dir, fs::copy_options::recursive);
      u->dir = dir;
    } else {
      u->dir.clear();
    }
  }
  merged.shard = shards;
  merged.wall_seconds = wall;
  merged.done.add(0, executions);  // the shards' index spaces are disjoint by construction
  CampaignOptions o;
  write_known_tokens(out, merged);
  atomic_write(out / "summary.json", summary_json(merged, o, merged.scenario));
  atomic_write(out / "state.json", state_json(merged));
  if (json) {
    fmt::print("{}", summary_json(merged, o, merged.scenario));
  } else {
    fmt::print("merged {} campaign(s) (shards {}): {} executions, {} findings, {} unique, {} coverage pairs\n",
               dirs.size(), shards, executions, merged.findings_total, merged.unique.size(), merged.coverage.size());
    for (const UniqueFinding* u : list)
      fmt::print("  {:<20} x{:<7} {}\n", u->kind, u->count, u->dir.empty() ? "(no folder)" : (out / u->dir).string());
    print_known(out, merged);
  }
  return merged.unique.empty() ? 0 : 1;
}

}  // namespace p2psim
