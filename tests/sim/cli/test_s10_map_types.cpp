// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The S10 catalogue entry (docs/scenarios/s10_map_types_sleep_in_rcu.md):
// what the sleeping map-type store does to the unbind with and without
// PREEMPT_RCU, and that GFP_ATOMIC sleeps nowhere.
#include <catch2/catch.hpp>

#include <string>

#include "support/cli_runner.h"

using namespace p2psim_test;

namespace {
const std::string kS10 = src("scenarios/s10_map_types_sleep_in_rcu.yaml");

/// Simulated time of the op line "TASK OP RESULT" in a -v run's op list, or "".
std::string op_time(const std::string& out, const std::string& task, const std::string& op) {
  const std::string key = " " + task;
  for (size_t pos = out.find("ops (in the order they returned):"); pos != std::string::npos;) {
    pos = out.find('\n', pos);
    if (pos == std::string::npos) break;
    const size_t end = out.find('\n', pos + 1);
    const std::string line = out.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
    if (line.find(key + " ") != std::string::npos && line.find(" " + op + " ") != std::string::npos) {
      const size_t first = line.find_first_not_of(' ');
      return line.substr(first, line.find(' ', first) - first);
    }
    pos = end;
  }
  return "";
}
}  // namespace

TEST_CASE("S10 without PREEMPT_RCU the unbind frees struct pci_p2pdma under the sleeping store", "[cli][s10]") {
  Cli r = run_raw("run " + kS10 + " --variant v6.2-no-preempt-rcu -v");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("verdict: sleep_in_atomic use_after_free\n") != std::string::npos);
  CHECK(r.out.find("__xas_nomem: spin_lock(&xa->xa_lock) after the GFP_KERNEL allocation on struct pci_p2pdma's "
                   "map_types, whose memory was freed") != std::string::npos);
  // The unbind is done (8 ms) while nvmet still sleeps in reclaim (20 ms).
  CHECK(op_time(r.out, "unbinder", "unbind") == "8ms");
  CHECK(op_time(r.out, "nvmet", "p2pmem_find") == "20ms");
}

TEST_CASE("S10 with PREEMPT_RCU the kernel WARNs and the unbind waits for the sleeping reader", "[cli][s10]") {
  Cli r = run_raw("run " + kS10 + " --variant v6.2 -v");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("verdict: sleep_in_atomic kernel_bug\n") != std::string::npos);
  CHECK(r.out.find("WARN: Voluntary context switch within RCU read-side critical section!") != std::string::npos);
  CHECK(r.out.find("use_after_free") == std::string::npos);
  CHECK(op_time(r.out, "nvmet", "p2pmem_find") == "20ms");
  CHECK(op_time(r.out, "unbinder", "unbind") == "24ms");  // its synchronize_rcu() waited for nvmet
}

TEST_CASE("S10 GFP_ATOMIC sleeps nowhere and finds the provider at once", "[cli][s10]") {
  for (const char* v : {"v6.2-gfp-atomic", "latest"}) {
    INFO(v);
    Cli r = run_raw("run " + kS10 + " --variant " + v + " -v");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: clean\n") != std::string::npos);
    CHECK(r.out.find("nvmet      p2pmem_find        nvme0 (distance 4)") != std::string::npos);
    CHECK(op_time(r.out, "nvmet", "p2pmem_find") == "0ps");
  }
}

TEST_CASE("S10 preempt_model full without PREEMPT_RCU is refused", "[cli][s10][input]") {
  Cli r = run_raw("run " + kS10 + " --variant v6.2 --set preempt_model=full --set config_preempt_rcu=false");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("preempt_model=full needs config_preempt_rcu=true") != std::string::npos);
}
