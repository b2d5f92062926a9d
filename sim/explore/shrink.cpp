// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/shrink.h"

#include <fmt/format.h>

#include <algorithm>

#include "explore/finding_signature.h"

namespace p2psim {

RunResult replay_decisions(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                           const Decisions& d, bool trace, std::vector<PpEvent>* events,
                           std::vector<bool>* taken, const HardwareModules* hw) {
  ReplayStrategy replay(d);
  RunOptions opt;
  opt.use_pins = true;  // @rc's: the caller clears them for an execution that ran without
  opt.trace = trace;
  opt.strategy_object = &replay;
  opt.observers.events = events;
  opt.hardware = hw;
  RunResult r = run_execution(host, sc, rc, opt);
  r.strategy = "replay";
  if (taken) *taken = replay.taken();
  return r;
}

namespace {

bool has_signature(const RunResult& r, const std::string& sig) {
  for (const auto& f : r.findings)
    if (finding_signature(f) == sig) return true;
  return false;
}

/// An explicit decision: a forced choice at index @pos, or a delay at @pos.
struct Item {
  bool delay;
  uint64_t pos;
  int task;
  ps_t ps;
  bool operator==(const Item& o) const { return delay == o.delay && pos == o.pos; }
};

std::vector<Item> items_of(const Decisions& d) {
  std::vector<Item> v;
  for (size_t i = 0; i < d.choices.size(); ++i)
    if (d.choices[i] >= 0) v.push_back({false, i, d.choices[i], 0});
  for (const auto& [seq, ps] : d.delays) v.push_back({true, seq, -1, ps});
  return v;
}

Decisions decisions_of(const std::vector<Item>& items) {
  Decisions d;
  for (const Item& it : items) {
    if (it.delay) {
      d.delays[it.pos] = it.ps;
    } else {
      if (d.choices.size() <= it.pos) d.choices.resize(it.pos + 1, -1);
      d.choices[it.pos] = it.task;
    }
  }
  return d;
}

}  // namespace

ShrinkResult shrink_decisions(CoroutineHost& host, const Scenario& sc, const RunConfig& rc,
                              const Decisions& start, const std::string& signature,
                              size_t max_replays, const HardwareModules* hw) {
  ShrinkResult res;
  res.explicit_before = start.explicit_count();
  std::vector<Item> items = items_of(start);

  // Replay, and on success keep only the decisions that were actually taken.
  auto test = [&](const std::vector<Item>& cand, std::vector<Item>* normalised) {
    ++res.replays;
    std::vector<bool> taken;
    const Decisions d = decisions_of(cand);
    RunResult r = replay_decisions(host, sc, rc, d, false, nullptr, &taken, hw);
    if (!has_signature(r, signature)) return false;
    normalised->clear();
    for (const Item& it : cand)
      if (it.delay || (it.pos < taken.size() && taken[it.pos])) normalised->push_back(it);
    return true;
  };

  std::vector<Item> norm;
  if (test(items, &norm)) items = norm;
  size_t n = 2;
  while (!items.empty() && res.replays < max_replays) {
    const size_t chunk = (items.size() + n - 1) / n;
    bool reduced = false;
    for (size_t begin = 0; begin < items.size() && res.replays < max_replays; begin += chunk) {
      std::vector<Item> complement;
      for (size_t i = 0; i < items.size(); ++i)
        if (i < begin || i >= begin + chunk) complement.push_back(items[i]);
      if (test(complement, &norm)) {
        items = norm;
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= items.size()) break;
      n = std::min(items.size(), n * 2);
    }
  }
  res.decisions = decisions_of(items);
  res.explicit_after = res.decisions.explicit_count();
  res.final_run = replay_decisions(host, sc, rc, res.decisions, true, &res.events, nullptr, hw);
  return res;
}

std::string render_interleaving(const Scenario& sc, const std::vector<PpEvent>& events) {
  const int cpus = sc.cpus;
  const size_t width = 46, time_width = 11;
  std::vector<std::string> head(cpus);
  for (const auto& t : sc.tasks) head[t.cpu] += (head[t.cpu].empty() ? "" : "+") + t.name;
  auto cell = [&](const std::string& s, size_t w) {
    return s.size() > w ? s.substr(0, w - 1) + "~" : s + std::string(w - s.size(), ' ');
  };
  auto row = [&](const std::string& time, int cpu, const std::string& text) {
    std::string line = cell(time, time_width) + " | ";
    for (int c = 0; c < cpus; ++c) line += cell(c == cpu ? text : "", width) + (c + 1 < cpus ? " | " : "");
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  std::string out = cell("time", time_width) + " | ";
  for (int c = 0; c < cpus; ++c) out += cell(fmt::format("cpu{} {}", c, head[c]), width) + (c + 1 < cpus ? " | " : "");
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += "\n" + std::string(time_width, '-') + "-+-";
  for (int c = 0; c < cpus; ++c) out += std::string(width, '-') + (c + 1 < cpus ? "-+-" : "\n");
  // A row per event, in execution order. A task switch on a CPU column is
  // visible as a change of label; decisions, op results and deaths are
  // marked; a finding takes the whole width, with its message.
  std::vector<int> shown(cpus, -3);  // the task last shown in each column
  for (const auto& e : events) {
    const int cpu = e.cpu < 0 ? 0 : std::min(e.cpu, cpus - 1);
    const std::string t = format_time(e.time);
    if (e.kind == PpEvent::Kind::finding) {
      out += fmt::format("!! {} at {} on cpu{}, {}\n", e.point, t, e.cpu, e.detail);
      continue;
    }
    std::string who;
    if (e.task >= 0 && e.task < static_cast<int>(sc.tasks.size()) && shown[cpu] != e.task)
      who = sc.tasks[e.task].name + ": ";
    if (e.task == PpEvent::kIrq) who = "[irq] ";
    if (e.task >= 0) shown[cpu] = e.task;
    switch (e.kind) {
      case PpEvent::Kind::point: out += row(t, cpu, who + e.point); break;
      case PpEvent::Kind::note: out += row(t, cpu, who + "= " + e.detail); break;
      case PpEvent::Kind::forced: out += row(t, cpu, who + ">> " + e.detail); break;
      case PpEvent::Kind::death: out += row(t, cpu, who + "xx " + e.detail); break;
      case PpEvent::Kind::finding: break;
    }
  }
  out += "\nKey: NAME: a task starts a run of rows; >> a decision the timing alone would not take;\n"
         "= what an op did; xx the task died; !! an oracle's finding.\n";
  return out;
}

}  // namespace p2psim
