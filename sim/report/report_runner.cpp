// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "report/report_runner.h"

#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/kernel_bug.h"
#include "hw/pcie_fabric.h"
#include "hw/pcie_link.h"
#include "platform/platform.h"
#include "output/atomic_file.h"
#include "output/trace_writer.h"
#include "report/report_row.h"
#include "scenario/strict_yaml.h"

namespace p2psim {

namespace {

using Clock = std::chrono::steady_clock;

/// A child that ran but could not write its row (the output directory).
constexpr int kChildCannotWrite = 4;

/// Set by SIGINT/SIGTERM: start nothing more, write what finished.
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }

std::string point_text(const SweepPoint& p) {
  std::string s;
  for (const auto& [k, v] : p.axes) s += fmt::format("{}{}={}", s.empty() ? "" : " ", k, v);
  return s.empty() ? "the defaults" : s;
}

std::string run_file(const std::string& dir, size_t i, const char* ext) {
  return fmt::format("{}/runs/{:04}.{}", dir, i, ext);
}

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The child's side: one configuration, its row written as runs/NNNN.json
/// and runs/NNNN.tsv. Exit 0 when written, 3 on a simulator failure.
[[noreturn]] void run_one(const ReportOptions& o, const SweepPoint& p, size_t index) {
  int code = 0;
  try {
    const Scenario sc = load_scenario(o.scenario, p.params);
    const RunConfig rc = resolve_run(sc, p.variant.empty() ? o.variant : p.variant, o.sets);
    RunOptions opt;
    opt.seed = o.seed;
    opt.strategy = "timed";  // choices by simulated time: the machine as it would run
    opt.record_ops = false;
    opt.hardware_metrics = true;
    RunResult r;
    double wall = 0;
    run_scenario(sc, [&](CoroutineHost& host, const HardwareModules& hw) {
      opt.hardware = &hw;
      const auto t0 = Clock::now();
      r = run_execution(host, sc, rc, opt);
      wall = std::chrono::duration<double>(Clock::now() - t0).count();
    }, o.host);
    if (!r.hardware) throw ModelBug("an execution with NVMe devices returned no hardware metrics");
    SweepPoint full = p;
    if (full.variant.empty()) full.variant = o.variant;
    const ReportRow row = make_report_row(index, full, sc.parameters, *r.hardware, verdict_of(r.findings), wall);
    std::string err = write_file_atomically(run_file(o.out_dir, index, "json"), report_row_json(row) + "\n");
    if (err.empty()) err = write_file_atomically(run_file(o.out_dir, index, "tsv"), report_row_tsv(row));
    if (!err.empty()) {
      std::fprintf(stderr, "report: configuration %zu (%s): %s\n", index, point_text(p).c_str(), err.c_str());
      code = kChildCannotWrite;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "report: configuration %zu (%s): %s\n", index, point_text(p).c_str(), e.what());
    code = 3;
  }
  std::fflush(nullptr);
  _exit(code);
}

/// "name\tvalue" lines back into pairs.
std::vector<std::pair<std::string, std::string>> read_tsv(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) out.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return out;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

/// The simulated link against the pcie-model it implements, for each link
/// configuration the sweep used: back-to-back DMA of each size.
std::string validation_json(const std::set<std::tuple<int, int, int, int>>& configs) {
  std::string s = "[";
  bool first = true;
  for (const auto& [gen, lanes, mps, mrrs] : configs) {
    hw::LinkConfig cfg = hw::kDefaultFabricLink;
    cfg.gen = gen;
    cfg.lanes = lanes;
    cfg.mps = mps;
    cfg.mrrs = mrrs;
    // Sizes just above 256 and 512 show the MPS sawtooth: one more TLP for 4 bytes.
    for (uint64_t size : {64, 128, 256, 260, 512, 516, 1024, 1500, 2048, 4096}) {
      for (hw::DmaOp op : {hw::DmaOp::kWrite, hw::DmaOp::kRead}) {
        hw::DmaStream st;
        st.op = op;
        st.transfer_bytes = size;
        st.count = 2000;
        const double model = op == hw::DmaOp::kWrite ? hw::write_bw_gbps(cfg, size) : hw::read_bw_gbps(cfg, size);
        const double sim = hw::run_dma_stream(cfg, st).achieved_gbps;
        s += fmt::format(
            "{}{{\"gen\":{},\"lanes\":{},\"mps\":{},\"mrrs\":{},\"op\":\"{}\",\"bytes\":{},\"pcie_model_gbps\":{:.4f},"
            "\"simulated_gbps\":{:.4f}}}",
            first ? "" : ",", gen, lanes, mps, mrrs, op == hw::DmaOp::kWrite ? "write" : "read", size, model, sim);
        first = false;
      }
    }
  }
  return s + "]";
}

}  // namespace

std::vector<SweepPoint> check_report(ReportOptions& o) {
  const Scenario base = load_scenario(o.scenario);
  if (o.axes.empty())
    for (const auto& [key, values] : base.sweep) o.axes.push_back({key, values});
  std::string declared;
  std::set<std::string> names;
  for (const auto& [n, v] : base.parameters) {
    names.insert(n);
    declared += (declared.empty() ? "" : ", ") + n;
  }
  for (const auto& a : o.axes) {
    if (a.key == kVariantKey) {
      if (!o.variant.empty()) throw SweepError("--variant and --sweep variant=... cannot be combined");
      continue;
    }
    if (!names.count(a.key))
      throw SweepError(fmt::format("--sweep {}: {} declares no parameter '{}'; {}", a.key, o.scenario, a.key,
                                   declared.empty() ? "it declares none (see `parameters:` in docs/scenario-format.md)"
                                                    : "it declares: " + declared));
  }
  if (nvme_endpoint_count(base) == 0)
    throw InputError(o.scenario, 1, 1,
                     "report measures the hardware: the scenario needs NVMe devices (a topology with kind: nvme "
                     "endpoints and a p2pmem_test op)");
  std::vector<SweepPoint> points = sweep_points(o.axes);
  for (const auto& p : points) {
    try {
      const Scenario sc = load_scenario(o.scenario, p.params);
      resolve_run(sc, p.variant.empty() ? o.variant : p.variant, o.sets);
      if (std::string why = host_unsuitable(o.host, sc); !why.empty()) throw SweepError(why);
    } catch (const InputError& e) {
      throw InputError(e.file, e.line, e.column, fmt::format("{} (sweep point {})", e.message, point_text(p)));
    }
  }
  return points;
}

ReportSummary run_report(ReportOptions o) {
  const std::vector<SweepPoint> points = check_report(o);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(o.out_dir) / "runs", ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create {}/runs: {}", o.out_dir, ec.message()));
  remove_stale_temporaries(o.out_dir);

  // A directory used before holds another report's rows: they must not be
  // mistaken for this one's (only files a report writes are removed).
  for (const auto& e : fs::directory_iterator(fs::path(o.out_dir) / "runs", ec)) {
    const std::string n = e.path().filename().string();
    const bool numbered = n.size() > 4 && std::all_of(n.begin(), n.begin() + 4, [](char c) { return c >= '0' && c <= '9'; });
    if (numbered && (n.substr(4) == ".json" || n.substr(4) == ".tsv")) fs::remove(e.path(), ec);
  }
  // Results a reader may find while this runs say so; writing them first
  // also proves the directory writable before hours of simulation.
  const std::string pending = fmt::format(
      "{{\"scenario\":{},\"configurations\":{},\"complete\":false,\"rows\":[]}}\n", json_quote(o.scenario),
      points.size());
  for (const auto& [name, text] : {std::pair<const char*, std::string>{"results.json", pending}, {"results.csv", ""}}) {
    const std::string err = write_file_atomically(o.out_dir + "/" + name, text);
    if (!err.empty()) throw std::runtime_error(err);
  }

  ReportSummary sum;
  sum.configurations = points.size();
  const auto t0 = Clock::now();
  g_interrupted = 0;
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  std::map<pid_t, size_t> running;
  std::vector<int> exit_of(points.size(), -1);
  size_t next = 0, done = 0;
  auto progress = [&]() {
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (o.progress) {
      const int width = 30;
      const int fill = static_cast<int>(width * done / std::max<size_t>(points.size(), 1));
      const double eta = done ? secs / static_cast<double>(done) * static_cast<double>(points.size() - done) : 0;
      fmt::print(stderr, "\r[{}{}] {}/{} configurations, {:.1f} s elapsed{}", std::string(fill, '#'),
                 std::string(width - fill, '.'), done, points.size(), secs,
                 done && done < points.size() ? fmt::format(", about {:.0f} s left", eta) : std::string());
    }
  };
  progress();
  bool stopped = false;  // running configurations were told to stop
  while (done < points.size()) {
    if (g_interrupted && running.empty()) break;
    if (g_interrupted && !stopped) {
      // A signal to the report alone (kill PID) stops its configurations too.
      for (const auto& [pid, idx] : running) kill(pid, SIGTERM);
      stopped = true;
    }
    while (!g_interrupted && next < points.size() && running.size() < static_cast<size_t>(std::max(o.jobs, 1))) {
      std::fflush(nullptr);
      const pid_t pid = fork();
      if (pid < 0) throw ModelBug(fmt::format("fork() failed: {}", std::strerror(errno)));
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the report
        sigaction(SIGINT, &old_int, nullptr);
        sigaction(SIGTERM, &old_term, nullptr);
        run_one(o, points[next], next);
      }
      running[pid] = next++;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw ModelBug(fmt::format("waitpid() failed: {}", std::strerror(errno)));
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const size_t i = it->second;
    running.erase(it);
    exit_of[i] = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const bool stopped_by_us = g_interrupted && WIFSIGNALED(status) &&
                               (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM);
    if (stopped_by_us) exit_of[i] = -1;  // not run to the end: no row
    if (exit_of[i] > 0 && WIFSIGNALED(status))
      fmt::print(stderr, "{}report: configuration {} ({}) was killed by signal {} ({})\n", o.progress ? "\n" : "", i,
                 point_text(points[i]), WTERMSIG(status), strsignal(WTERMSIG(status)));
    ++done;
    progress();
  }
  if (o.progress) fmt::print(stderr, "\n");
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sum.interrupted = g_interrupted != 0;
  if (sum.interrupted)
    fmt::print(stderr, "report: interrupted: {} of {} configuration(s) finished; writing their results\n",
               std::count_if(exit_of.begin(), exit_of.end(), [](int e) { return e >= 0; }), points.size());
  sum.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  // Assemble: the CSV's columns are the union, in first-seen order (link
  // columns differ when the topology does).
  std::vector<std::string> columns = {"index"};
  std::set<std::string> have = {"index"};
  std::vector<std::vector<std::pair<std::string, std::string>>> rows(points.size());
  std::string json_rows;
  std::set<std::tuple<int, int, int, int>> link_configs;
  for (size_t i = 0; i < points.size(); ++i) {
    if (exit_of[i] == 0) {
      rows[i] = read_tsv(read_whole(run_file(o.out_dir, i, "tsv")));
      std::string js = read_whole(run_file(o.out_dir, i, "json"));
      while (!js.empty() && js.back() == '\n') js.pop_back();
      json_rows += (json_rows.empty() ? "\n  " : ",\n  ") + js;
      try {
        const YAML::Node row = YAML::Load(js);
        for (const auto& l : row["links"])
          link_configs.emplace(l["gen"].as<int>(), l["lanes"].as<int>(), l["mps"].as<int>(), l["mrrs"].as<int>());
      } catch (const YAML::Exception& e) {
        throw ModelBug(fmt::format("report row {} is not JSON: {}", i, e.what()));
      }
      std::string status;
      for (const auto& [k, v] : rows[i])
        if (k == "status") status = v;
      status == "ok" ? ++sum.ok : ++sum.not_ok;
    } else {
      std::string status;
      if (exit_of[i] < 0) {
        status = "not run (interrupted)";
        ++sum.not_run;
      } else if (exit_of[i] == kChildCannotWrite) {
        status = "ran, but its row could not be written (see the message above)";
        ++sum.unwritten;
      } else {
        status = exit_of[i] > 128 ? fmt::format("simulator failure: killed by signal {}", exit_of[i] - 128)
                                  : fmt::format("simulator failure (exit {}); see the message above", exit_of[i]);
        ++sum.crashed;
      }
      for (const auto& [k, v] : points[i].axes) rows[i].emplace_back(k, v);
      rows[i].emplace_back("status", status);
      std::string cfg;
      for (const auto& [k, v] : points[i].axes) cfg += fmt::format("{}{}:{}", cfg.empty() ? "" : ",", json_quote(k), json_quote(v));
      json_rows += fmt::format("{}{{\"index\":{},\"config\":{{{}}},\"status\":{}}}", json_rows.empty() ? "\n  " : ",\n  ",
                               i, cfg, json_quote(status));
    }
    for (const auto& [k, v] : rows[i])
      if (have.insert(k).second) columns.push_back(k);
  }
  std::string csv;
  for (size_t c = 0; c < columns.size(); ++c) csv += (c ? "," : "") + csv_field(columns[c]);
  csv += "\n";
  for (size_t i = 0; i < points.size(); ++i) {
    std::map<std::string, std::string> by(rows[i].begin(), rows[i].end());
    by["index"] = std::to_string(i);
    for (size_t c = 0; c < columns.size(); ++c) csv += (c ? "," : "") + csv_field(by[columns[c]]);
    csv += "\n";
  }
  std::string axes;
  for (const auto& a : o.axes) {
    std::string vs;
    for (const auto& v : a.values) vs += (vs.empty() ? "" : ",") + json_quote(v);
    axes += fmt::format("{}{{\"key\":{},\"values\":[{}]}}", axes.empty() ? "" : ",", json_quote(a.key), vs);
  }
  const std::string json = fmt::format(
      "{{\"scenario\":{},\"variant\":{},\"seed\":{},\"strategy\":\"timed\",\"sweep\":[{}],\"configurations\":{},"
      "\"complete\":{},\"wall_seconds\":{:.3f},\"rows\":[{}\n],\"validation\":{}}}\n",
      json_quote(o.scenario), json_quote(o.variant), o.seed, axes, points.size(),
      sum.not_run || sum.crashed || sum.unwritten ? "false" : "true", sum.wall_seconds, json_rows,
      validation_json(link_configs));
  for (const auto& [name, text] : {std::pair<std::string, const std::string&>{"results.csv", csv},
                                   std::pair<std::string, const std::string&>{"results.json", json}}) {
    const std::string err = write_file_atomically(o.out_dir + "/" + name, text);
    if (!err.empty()) throw std::runtime_error(err);
  }
  return sum;
}

}  // namespace p2psim
