// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "output/trace_writer.h"

#include <fmt/format.h>

#include <fstream>

namespace p2psim {

namespace {
/// Chrome trace "ts" is in microseconds; print ps exactly as us.uuuuuu.
std::string ts(ps_t t) { return fmt::format("{}.{:06}", t / 1000000, t % 1000000); }
}  // namespace

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else
          out += c;
    }
  }
  return out;
}

void TraceWriter::track(int tid, const std::string& name, int sort) {
  events_.push_back(fmt::format(
      R"({{"ph":"M","pid":1,"tid":{},"name":"thread_name","args":{{"name":"{}"}}}})", tid,
      json_escape(name)));
  events_.push_back(fmt::format(
      R"({{"ph":"M","pid":1,"tid":{},"name":"thread_sort_index","args":{{"sort_index":{}}}}})",
      tid, sort));
}

void TraceWriter::begin(int tid, ps_t t, const std::string& name, const std::string& cat) {
  ++open_[tid];
  events_.push_back(fmt::format(R"({{"ph":"B","pid":1,"tid":{},"ts":{},"name":"{}","cat":"{}"}})",
                                tid, ts(t), json_escape(name), cat));
}

void TraceWriter::end(int tid, ps_t t) {
  auto it = open_.find(tid);
  if (it == open_.end() || it->second == 0) return;
  --it->second;
  events_.push_back(fmt::format(R"({{"ph":"E","pid":1,"tid":{},"ts":{}}})", tid, ts(t)));
}

void TraceWriter::instant(int tid, ps_t t, const std::string& name, const std::string& cat,
                          const std::vector<std::pair<std::string, std::string>>& args,
                          bool global) {
  std::string a;
  for (const auto& [k, v] : args)
    a += fmt::format(R"({}"{}":"{}")", a.empty() ? "" : ",", json_escape(k), json_escape(v));
  events_.push_back(
      fmt::format(R"({{"ph":"i","pid":1,"tid":{},"ts":{},"name":"{}","cat":"{}","s":"{}","args":{{{}}}}})",
                  tid, ts(t), json_escape(name), cat, global ? "g" : "t", a));
}

std::string TraceWriter::json(ps_t t) {
  for (auto& [tid, depth] : open_)
    while (depth > 0) end(tid, t);
  std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  for (size_t i = 0; i < events_.size(); ++i) {
    out += events_[i];
    out += i + 1 < events_.size() ? ",\n" : "\n";
  }
  out += "]}\n";
  return out;
}

bool TraceWriter::write(const std::string& path, ps_t t) {
  std::ofstream f(path, std::ios::binary);
  if (!f) return false;
  f << json(t);
  return static_cast<bool>(f);
}

}  // namespace p2psim
