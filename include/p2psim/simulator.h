// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The embedding API: everything a program that drives the simulator needs,
// and nothing of its insides. Load a scenario file, run executions of it on
// a variant with a seed and a strategy, read the verdict, the findings and
// the trace. The command line is one such program; docs/examples/run_seeds.cpp
// is another. Only this directory is public; sim/ and models/ may change.
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace p2psim::api {

/// The input is wrong: what() is "FILE:LINE:COL: error: MESSAGE".
struct InputProblem : std::runtime_error {
  InputProblem(const std::string& what, std::string file, int line, int column, std::string message)
      : std::runtime_error(what), file(std::move(file)), line(line), column(column),
        message(std::move(message)) {}
  std::string file;
  int line, column;     ///< 1-based
  std::string message;  ///< without the location prefix
};

/// One execution to run. The fields mean what `p2pdma-sim run` options mean.
struct ExecutionRequest {
  std::string variant;            ///< empty: the scenario's base kernel (--variant)
  std::vector<std::string> sets;  ///< "knob=value", "cost.NAME=value", "platform=NAME" (--set)
  uint64_t seed = 1;              ///< --seed
  std::string strategy;           ///< empty: directed by the pins if any, else random (--strategy)
  bool use_pins = true;           ///< false: ignore the scenario's schedule (--no-pins)
  bool trace = false;             ///< fill ExecutionReport::trace_json (--trace)
};

/// One oracle report.
struct FindingReport {
  std::string kind;       ///< premature_free, use_after_free, hang, ... (docs/scenario-format.md)
  uint64_t time_ps = 0;   ///< simulated time
  int cpu = -1;           ///< -1: not on a CPU (the scheduler, a device)
  std::string task;
  std::string message;
  std::string signature;  ///< stable across seeds: what campaigns deduplicate on
  std::vector<std::string> path;  ///< code paths and preemption points, oldest first
};

struct ExecutionReport {
  std::string verdict;      ///< "clean", or the finding kinds in order of first occurrence
  bool as_expected = false; ///< the variant's `expect:` and `failures:` hold, or a known bug explains it
  std::string known_bug;    ///< the known bug that explains it, or empty
  std::vector<FindingReport> findings;
  std::vector<std::string> failures;     ///< ops that failed: "b_main mmap EINVAL", in order
  std::vector<std::string> root_causes;  ///< race mechanisms recognised, described
  std::vector<std::string> output;       ///< what workloads printed (p2pmem_test)
  std::string strategy;     ///< the strategy that decided
  uint64_t end_time_ps = 0; ///< simulated time at the end
  uint64_t steps = 0;       ///< scheduling steps taken
  std::string trace_json;   ///< Perfetto JSON, when ExecutionRequest::trace
};

class Session;

/// A loaded, validated scenario file. Cheap to copy.
class Scenario {
 public:
  /// Throws InputProblem for a file that is missing, malformed or inconsistent.
  static Scenario load(const std::string& path);
  const std::string& name() const;
  std::vector<std::string> variants() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  friend class Session;
  friend void simulate(const Scenario&, const std::function<void(Session&)>&);
};

/// Runs executions of one scenario; exists only inside simulate().
class Session {
 public:
  /// Throws InputProblem for an unknown variant, knob or value in @req.
  ExecutionReport run(const ExecutionRequest& req);

 private:
  struct Impl;
  explicit Session(Impl& impl) : impl_(impl) {}
  Impl& impl_;
  friend void simulate(const Scenario&, const std::function<void(Session&)>&);
};

/**
 * simulate() - set up the simulated hardware of @scenario, then call @body
 * with a Session that runs any number of executions of it. SystemC, which
 * models the hardware, elaborates once per process: call simulate() at most
 * once per process, and run every execution inside it.
 */
void simulate(const Scenario& scenario, const std::function<void(Session&)>& body);

}  // namespace p2psim::api
