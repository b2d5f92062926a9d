// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/schedule_export.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

namespace p2psim {

namespace {
/// The passed-over task of a forced decision: "forced: runs before NAME".
std::string passed_over(const PpEvent& e) {
  const std::string mark = "forced: runs before ";
  return e.detail.rfind(mark, 0) == 0 ? e.detail.substr(mark.size()) : std::string();
}
}  // namespace

std::vector<Pin> schedule_from_events(const Scenario& sc, const std::vector<PpEvent>& events) {
  auto index_of = [&](const std::string& name) {
    for (size_t i = 0; i < sc.tasks.size(); ++i)
      if (sc.tasks[i].name == name) return static_cast<int>(i);
    return -1;
  };
  // Each point event's arrival number for its task and point, as the
  // machine counts a pin's hits.
  std::vector<int> hit(events.size(), 0);
  {
    std::vector<std::map<std::string, int>> hits(sc.tasks.size());
    for (size_t i = 0; i < events.size(); ++i)
      if (events[i].kind == PpEvent::Kind::point && events[i].task >= 0)
        hit[i] = ++hits[events[i].task][events[i].point];
  }
  std::vector<std::pair<std::string, int>> at(sc.tasks.size());  // where each task stands
  std::vector<Pin> pins;
  std::set<std::tuple<int, std::string, int>> held;  // (task, point, hit) already pinned
  for (size_t i = 0; i < events.size(); ++i) {
    const PpEvent& e = events[i];
    if (e.kind == PpEvent::Kind::point && e.task >= 0) {
      at[e.task] = {e.point, hit[i]};
      continue;
    }
    if (e.kind != PpEvent::Kind::forced || e.task < 0) continue;
    // Who waits: the task passed over, or the task held at its point.
    const int waiter = e.detail.rfind("forced: held", 0) == 0 ? e.task : index_of(passed_over(e));
    if (waiter < 0 || at[waiter].first.empty()) continue;  // not at a point yet: timing decides
    const auto key = std::make_tuple(waiter, at[waiter].first, at[waiter].second);
    if (held.count(key)) continue;
    // Until the last point another task passed before the waiter moved again.
    int until = -1;
    std::string until_point;
    int until_hit = 0;
    for (size_t j = i + 1; j < events.size(); ++j) {
      const PpEvent& f = events[j];
      if (f.task == waiter && f.kind == PpEvent::Kind::point) break;
      if (f.kind != PpEvent::Kind::point || f.task < 0) continue;
      until = f.task;
      until_point = f.point;
      until_hit = hit[j];
    }
    if (until < 0) continue;
    held.insert(key);
    Pin p;
    p.task = sc.tasks[waiter].name;
    p.at = at[waiter].first;
    p.hit = at[waiter].second;
    p.until_task = sc.tasks[until].name;
    p.until_point = until_point;
    p.until_hit = until_hit;
    pins.push_back(p);
  }
  return pins;
}

std::string schedule_yaml(const std::vector<Pin>& pins) {
  std::string out = "schedule:\n";
  for (const Pin& p : pins) {
    out += fmt::format("  - task: {}\n    at: \"{}\"\n    hit: {}\n", p.task, p.at, p.hit);
    if (p.until_done)
      out += fmt::format("    until: {{ task: {}, done: true }}\n", p.until_task);
    else
      out += fmt::format("    until: {{ task: {}, passed: \"{}\", hit: {} }}\n", p.until_task, p.until_point,
                         p.until_hit);
  }
  if (pins.empty()) out = "schedule: []\n";
  return out;
}

}  // namespace p2psim
