// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"

namespace p2psim {

/**
 * class TraceWriter - Chrome/Perfetto JSON trace ("traceEvents"), opened in
 * ui.perfetto.dev. One track per (CPU, task) and per CPU for interrupts;
 * slices for kernel functions, instants for preemption points and findings.
 * Times are written from integer picoseconds, so output is byte-stable.
 */
class TraceWriter {
 public:
  /// Declare a track; @sort orders tracks in the UI.
  void track(int tid, const std::string& name, int sort);
  void begin(int tid, ps_t t, const std::string& name, const std::string& cat);
  void end(int tid, ps_t t);
  void instant(int tid, ps_t t, const std::string& name, const std::string& cat,
               const std::vector<std::pair<std::string, std::string>>& args = {},
               bool global = false);
  /// Close open slices at @t and write the file. Returns false on I/O error.
  bool write(const std::string& path, ps_t t);
  std::string json(ps_t t);

 private:
  std::vector<std::string> events_;
  std::map<int, int> open_;  // tid -> open slice depth
};

std::string json_escape(const std::string& s);
/// @s as a JSON string literal: quoted and escaped.
inline std::string json_quote(const std::string& s) { return "\"" + json_escape(s) + "\""; }

}  // namespace p2psim
