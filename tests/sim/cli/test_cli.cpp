// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The command-line contract (README.md, docs/campaigns.md): verdict lines, exit codes, one
// file:line:column message for every kind of bad input, byte-identical
// traces, and S1's variants.
#include <catch2/catch.hpp>

#include "support/cli_runner.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace p2psim_test;  // the CLI test helpers

namespace {

/// The finding folder of a campaign in @out whose bug is or shows @kind
/// (its first finding, or a symptom), or "" if none.
std::string folder_with(const std::string& out, const std::string& kind);

const std::string kS1 = src("scenarios/s1_premature_genalloc_return.yaml");

/// `run` unless the arguments start with a command or option.
Cli run(const std::string& args) {
  for (const char* c : {"run ", "check ", "list", "fuzz ", "explore ", "replay ", "merge ", "topo ", "--"})
    if (args.rfind(c, 0) == 0) return run_raw(args);
  return run_raw("run " + args);
}

std::string folder_with(const std::string& out, const std::string& kind) {
  std::vector<std::string> dirs;
  for (const auto& e : std::filesystem::directory_iterator(out + "/findings")) dirs.push_back(e.path().string());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs)
    if (slurp(d + "/finding.json").find("\"" + kind) != std::string::npos) return d;
  return "";
}

}  // namespace

TEST_CASE("S1 rfc-v3: the pinned interleaving leaks a page across processes as expected", "[cli][s1]") {
  // arm64 and a paravirt-flushing guest: the TLB flush waits for no CPU.
  for (const char* v : {"rfc-v3", "rfc-v3-pv-guest"}) {
    INFO(v);
    Cli r = run(kS1 + " --variant " + v);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: premature_free use_after_free cross_context_leak data_mismatch\n") !=
          std::string::npos);
    CHECK(r.out.find("the page now belongs to allocation") != std::string::npos);
    CHECK(r.err.empty());
  }
}

TEST_CASE("S1 fixed designs and IPI-serialised flushes are clean under the same pins", "[cli][s1]") {
  for (const char* v : {"rfc-v3-ipi", "rfc-v5", "v6.2", "v6.2-arm64", "v6.15", "latest"}) {
    INFO("variant " << v);
    Cli r = run(kS1 + " --variant " + v);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: clean\n") != std::string::npos);
  }
}

TEST_CASE("S1 without pins: 1000 random seeds never find anything on v6.2 and rfc-v5", "[cli][s1]") {
  for (const char* v : {"v6.2", "rfc-v5"}) {
    INFO("variant " << v);
    Cli r = run(kS1 + " --variant " + v + " --no-pins --runs 1000 --seed 1");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("1000  verdict: clean") != std::string::npos);
    CHECK(r.out.find(": 0 not as expected") != std::string::npos);
  }
}

TEST_CASE("a verdict other than the variant's expectation exits 1", "[cli]") {
  // rfc-v3 without its pins: seed 1 does not hit the race.
  Cli r = run(kS1 + " --variant rfc-v3 --no-pins --seed 1");
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("NOT as expected") != std::string::npos);
}

TEST_CASE("the same command twice writes byte-identical traces", "[cli][trace]") {
  for (const char* v : {"rfc-v3", "rfc-v3-ipi"}) {
    const std::string a = (scratch() + "/trace-a.json"), b = (scratch() + "/trace-b.json");
    REQUIRE(run(kS1 + " --variant " + v + " --trace " + a).exit_code == 0);
    REQUIRE(run(kS1 + " --variant " + v + " --trace " + b).exit_code == 0);
    const std::string ta = slurp(a), tb = slurp(b);
    CHECK(ta.size() > 1000);
    CHECK(ta == tb);
    CHECK(ta.rfind("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", 0) == 0);
  }
}

TEST_CASE("run with systemc and direct hosts writes the same trace", "[cli][trace][host]") {
  const std::string a = (scratch() + "/trace-systemc.json"), b = (scratch() + "/trace-direct.json");
  REQUIRE(run(kS1 + " --variant rfc-v3 --no-pins --seed 3 --host systemc --trace " + a).exit_code == 1);
  REQUIRE(run(kS1 + " --variant rfc-v3 --no-pins --seed 3 --host direct --trace " + b).exit_code == 1);
  const std::string ta = slurp(a), tb = slurp(b);
  CHECK(ta.size() > 1000);
  CHECK(ta == tb);
}

TEST_CASE("run with the direct host on a scenario with devices, or an unknown host, is bad input", "[cli][host]") {
  Cli r = run(src("scenarios/p2pmem_test_switch.yaml") + " --variant v6.2 --host direct");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("device model(s) (NVMe or tlm endpoints), which are SystemC modules"));
  r = run(kS1 + " --host qemu");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--host needs auto, systemc or direct, got 'qemu'"));
}

TEST_CASE("fuzz --stop-on stops at a kind that shows only as a symptom", "[cli][fuzz]") {
  // In S1 the leak is never an execution's first finding: the premature
  // free comes first, the leak follows as its symptom.
  const std::string out = scratch() + "/stop-on-symptom";
  Cli r = run("fuzz " + kS1 + " --variant rfc-v3 --strategy delay --runs 500000 --stop-on cross_context_leak "
              "--no-shrink --json --out " + out);
  CHECK(r.exit_code == 1);
  // The leak is in the summary: as a symptom of a bug's first execution, or
  // as a later symptom with the token of the execution that showed it.
  CHECK_THAT(r.out, Catch::Contains("cross_context_leak @"));
  const auto at = r.out.find("\"executions\":");
  REQUIRE(at != std::string::npos);
  CHECK(std::stoull(r.out.substr(at + 13)) < 500000);
}

TEST_CASE("explore: the leak at three forced decisions, clean fixed designs, and a token that replays", "[cli][explore]") {
  Cli r = run("explore " + kS1 + " --variant rfc-v3 --preemption-bound 3 --stop-on cross_context_leak");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("finding with 3 forced decision(s)"));
  // The three forced decisions are S1's three pins: A's munmap runs on while
  // GUP-fast is held, B's fault runs on, then GUP-fast resumes.
  CHECK_THAT(r.out, Catch::Contains("a_main runs instead of a_io, and keeps running"));
  CHECK_THAT(r.out, Catch::Contains("b_main runs instead of a_io, and keeps running"));
  CHECK_THAT(r.out, Catch::Contains("back to the timing, a_io runs instead of b_main"));
  CHECK_THAT(r.out, Catch::Contains("verdict: premature_free use_after_free cross_context_leak data_mismatch"));
  const auto at = r.out.find("replay: p2pdma-sim replay ");
  REQUIRE(at != std::string::npos);
  const std::string token = r.out.substr(at + 26, r.out.find('\n', at) - at - 26);
  Cli again = run_raw("replay " + token);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("cross_context_leak"));

  r = run("explore " + kS1 + " --variant v6.2 --preemption-bound 2 --jobs 2");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("no finding in all"));
  CHECK_THAT(r.out, Catch::Contains("with <= 2 forced decisions"));

  r = run("explore " + kS1 + " --variant v6.2 --max-executions 5 --json");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("\"complete\": false"));
  CHECK_THAT(r.out, Catch::Contains("\"executions\": 5,"));

  r = run("explore " + kS1 + " --preemption-bound many");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--preemption-bound needs a whole number"));
  // Checked before narrowing: 2^32 is not bound 0, nor 2^32+2 jobs 2.
  r = run("explore " + kS1 + " --preemption-bound 4294967296");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--preemption-bound 4294967296 is more than 16"));
  r = run("explore " + kS1 + " --jobs 4294967298");
  CHECK(r.exit_code == 2);
  // A budget smaller than the jobs starts fewer workers and is not overrun.
  r = run("explore " + kS1 + " --variant v6.2 --preemption-bound 1 --max-executions 2 --jobs 4 --json");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("\"executions\": 2,"));
  CHECK_THAT(r.out, Catch::Contains("\"complete\": false"));
}

TEST_CASE("explore: a worker that crashes is a simulator bug, exit 3, with the signal", "[cli][explore]") {
  // Every execution of explore uses seed 0: the injected fault hits the first.
  Cli r = run_injected("segv:0", "explore " + kS1 + " --variant v6.2 --jobs 2");
  CHECK(r.exit_code == 3);
  // Signal 11; 6 under ASan, which turns a SEGV into an abort.
  CHECK_THAT(r.err, Catch::Contains("an explore worker was killed by signal"));
}

TEST_CASE("explore: an execution that never returns is a simulator hang, exit 3, not a hung command", "[cli][explore]") {
  Cli r = run_injected("hang:0", "explore " + kS1 + " --variant v6.2 --exec-timeout 1");
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("gave no result after 1 s of wall time (a simulator hang)"));
}

TEST_CASE("the IPI variant's trace shows the flush waiting for the GUP-fast walker", "[cli][trace]") {
  const std::string t = (scratch() + "/trace-ipi.json");
  REQUIRE(run(kS1 + " --variant rfc-v3-ipi --trace " + t).exit_code == 0);
  const std::string tr = slurp(t);
  CHECK(tr.find("\"name\":\"csd_lock_wait\"") != std::string::npos);
  CHECK(tr.find("flush_tlb_func pending: cpu1 has IRQs disabled") != std::string::npos);
}

TEST_CASE("run with json prints one machine-readable result", "[cli]") {
  Cli r = run(kS1 + " --variant v6.2 --json");
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("{\"scenario\":\"s1_premature_genalloc_return\"", 0) == 0);
  // The pin fails: the munmap it races with emptied the PTE first.
  CHECK(r.out.find("\"verdict\":\"clean\",\"failures\":[\"a_io pin EFAULT\"],\"known_bug\":null,\"expected\":\"clean\","
                   "\"match\":true") != std::string::npos);
  CHECK(r.out.find("\"root_causes\":[]") != std::string::npos);
}

TEST_CASE("bad scenarios exit 2 with one file:line:column message", "[cli][input]") {
  const struct {
    const char* file;
    const char* where;
    const char* what;
  } cases[] = {
      {"bad_unknown_key.yaml", ":9:5: error: ", "unknown key 'proces' in task"},
      {"bad_wrong_type.yaml", ":5:31: error: ", "cpus must be an integer, got 'four'"},
      {"bad_unknown_knob.yaml", ":8:12: error: ", "unknown knob 'tlb_flus'"},
      {"bad_knob_value.yaml", ":9:35: error: ", "bad value 'lazy' for knob 'tlb_flush'"},
      {"bad_syntax.yaml", ":5:7: error: ", "YAML syntax error"},
      {"bad_unknown_op.yaml", ":12:9: error: ", "got 'munmapp'; did you mean 'munmap'?"},
      {"bad_reference.yaml", ":12:9: error: ", "no task signals event 'never_signalled'"},
      {"bad_combination.yaml", ":8:3: error: ", "needs refcount_era"},
      {"bad_known_cause.yaml", ":11:28: error: ", "got 'zone_device_reset_windw'; did you mean 'zone_device_reset_window'?"},
      {"bad_known_both.yaml", ":11:9: error: ", "needs exactly one of 'cause: ROOT-CAUSE' or 'signature"},
      {"bad_known_empty_signature.yaml", ":11:32: error: ", "a finding signature cannot be empty"},
      {"bad_expect_clean_in_list.yaml", ":13:20: error: ", "'clean' cannot be part of a list of finding kinds"},
      {"bad_expect_kind_twice.yaml", ":13:26: error: ", "'hang' is listed twice"},
      {"bad_expect_empty_expect.yaml", ":13:19: error: ", "an empty list expects nothing"},
      {"bad_failures_task.yaml", ":13:37: error: ", "no task 'tt'; did you mean 't'?"},
      {"bad_failures_error.yaml", ":13:37: error: ", "unknown error 'EINVA'; did you mean 'EINVAL'?"},
      {"bad_failures_words.yaml", ":13:37: error: ", "a failure is \"TASK OP ERROR\", three words"},
      {"bad_failures_empty.yaml", ":13:36: error: ", "an empty list expects nothing: write 'failures: none'"},
      {"bad_p2pmem_find_client.yaml", ":13:9: error: ", "no device named 'nvme9' in the topology"},
      {"bad_fault_site.yaml", ":7:13: error: ", "got 'dma_buf_fdd'; did you mean 'dma_buf_fd'?"},
      {"bad_provider_named_host.yaml", ":4:7: error: ", "the name 'host' is reserved"},
      {"bad_pin_point.yaml", ":13:20: error: ",
       "unknown preemption point 'gup_fast_pte_range:after_ptep_gte'; did you mean "
       "'gup_fast_pte_range:after_ptep_get'? (`p2pdma-sim list --points` prints them)"},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    const std::string path = src(std::string("tests/data/scenarios/") + c.file);
    Cli r = run(path + " --variant v6.2");
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind(path + c.where, 0) == 0);
    CHECK(r.err.find(c.what) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    Cli chk = run("check " + path);
    CHECK(chk.exit_code == 2);
  }
}

TEST_CASE("fault site pte_alloc on a preset whose user faults call the OOM killer exits 2", "[cli][input]") {
  const std::string path = src("tests/data/scenarios/bad_fault_site_oom_killer.yaml");
  Cli r = run(path + " --variant rfc-v3");
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind(path + ":7:5: error: fault site pte_alloc cannot be failed on preset rfc-v3", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(run("check " + path).exit_code == 2);
}

TEST_CASE("missing file or unknown variant or bad set or bad option exits 2", "[cli][input]") {
  Cli missing = run("run /nonexistent/s.yaml");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == "/nonexistent/s.yaml:1:1: error: cannot open scenario file: No such file or directory\n");

  Cli variant = run(kS1 + " --variant nope");
  CHECK(variant.exit_code == 2);
  CHECK(variant.err.find(":71:3: error: unknown variant 'nope'; this scenario has: rfc-v3, rfc-v3-pv-guest, rfc-v3-ipi, rfc-v5, v6.2, v6.2-arm64, v6.15, latest") !=
        std::string::npos);

  Cli set = run(kS1 + " --set tlb_flush=no_wait --set nope=1");
  CHECK(set.exit_code == 2);
  CHECK(set.err.rfind("<command line>:1:31: error: unknown knob 'nope'", 0) == 0);
  // A combination is judged once every --set is in, so two of them can
  // move together; alone, the first makes a platform no kernel runs on.
  Cli half = run(kS1 + " --set tlb_flush=no_wait");
  CHECK(half.exit_code == 2);
  CHECK(half.err.rfind("<command line>:1:1: error: tlb_flush=no_wait needs pgtable_free=rcu", 0) == 0);
  Cli both = run(kS1 + " --variant rfc-v3-ipi --set tlb_flush=no_wait --set pgtable_free=rcu --quiet");
  CHECK(both.exit_code == 1);  // x86's clean variant, moved to a flush that does not wait: the leak
  CHECK(both.out.find("verdict: premature_free") != std::string::npos);
  Cli plat = run(kS1 + " --variant v6.2 --platform x86-invlpgb");
  CHECK(plat.exit_code == 2);
  CHECK(plat.err.find("platform x86-invlpgb needs a kernel from v6.15 on; preset v6.2 is older") != std::string::npos);
  Cli badplat = run(kS1 + " --platform nope");
  CHECK(badplat.exit_code == 2);
  CHECK(badplat.err.find("unknown platform 'nope'; known platforms: x86, x86-pv-guest, arm64, x86-invlpgb") !=
        std::string::npos);

  Cli unit = run(kS1 + " --set cost.ipi_delivery=3");
  CHECK(unit.exit_code == 2);
  CHECK(unit.err.find("needs a unit") != std::string::npos);

  Cli opt = run("run " + kS1 + " --bogus");
  CHECK(opt.exit_code == 2);
  CHECK(opt.err.find("unknown option '--bogus'") != std::string::npos);
}

TEST_CASE("list --points prints every point a pin can name", "[cli]") {
  Cli r = run("list --points");
  CHECK(r.exit_code == 0);
  for (const char* p : {"gup_fast_pte_range:after_ptep_get\n", "op:munmap\n", "pci_p2pdma_vma_fault:before_vmf_insert_mixed\n",
                        "mmap_region:after_call_mmap\n"})
    CHECK(r.out.find(p) != std::string::npos);
}

TEST_CASE("help on every command and version exit 0", "[cli]") {
  for (const char* a : {"--help", "run --help", "check --help", "list --help", "--version"}) {
    INFO(a);
    Cli r = run(a);
    CHECK(r.exit_code == 0);
    CHECK_FALSE(r.out.empty());
  }
  const std::string list = run("list").out;
  CHECK(list.find("rfc-v3") != std::string::npos);
  // Every fault site a scenario may name, with what it fails with.
  CHECK(list.find("Fault sites (faults:") != std::string::npos);
  for (const char* site : {"vm_insert_page", "xa_node_alloc", "gen_pool_alloc", "dma_buf_fd"})
    CHECK(list.find(std::string("  ") + site + ": ") != std::string::npos);
  CHECK(run("check " + kS1).exit_code == 0);
}

TEST_CASE("executions that end in a hang do not disturb the next ones in the same process", "[cli][engine]") {
  // Each execution leaves two tasks suspended forever; the engine must
  // unwind their coroutines before it reuses them.
  Cli r = run(src("tests/data/scenarios/unbind_pin_never_released.yaml") + " --variant v6.2 --runs 50");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("50  verdict: hang") != std::string::npos);
}

TEST_CASE("X1 refcount-reset window: a spurious -EINVAL, then on v6.2 an unbind hang", "[cli][x1]") {
  const std::string x1 = src("scenarios/x1_zone_device_reset_window.yaml");
  Cli v62 = run(x1 + " --variant v6.2");
  CHECK(v62.exit_code == 0);
  CHECK(v62.out.find("verdict: hang\n") != std::string::npos);
  // The oracle names the mechanism before the hang it leads to.
  const auto cause = v62.out.find("root cause: zone_device_reset_window at ");
  CHECK(cause != std::string::npos);
  CHECK(cause < v62.out.find("finding 1: hang"));
  CHECK(v62.out.find("vm_insert_page refuses pfn 0xe0000 at refcount 0 with -EINVAL: allocation #2 "
                     "(p2pmem_alloc_mmap by b_main (pid 2, cpu1)) got it while a_main on cpu0 was inside "
                     "free_zone_device_page") != std::string::npos);
  CHECK(v62.out.find("unbinder sleeps forever in memunmap_pages: wait_for_completion(&pgmap->done)") !=
        std::string::npos);
  Cli fixed = run(x1 + " --variant v6.2-error-path-fixed");
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find("verdict: clean\n") != std::string::npos);
  CHECK(fixed.out.find("root cause: zone_device_reset_window at ") != std::string::npos);
  for (const char* v : {"v6.15", "latest"}) {
    INFO(v);
    Cli r = run(x1 + " --variant " + v);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: clean\n") != std::string::npos);
    CHECK(r.out.find("root cause:") == std::string::npos);
  }
}

TEST_CASE("X1 without pins: random seeds that hang are the variant's known bug", "[cli][x1][known]") {
  // Seeds 1..20000 reach the reset window and hang the unbind 468 times.
  const std::string args = src("tests/data/scenarios/x1_unpinned_known.yaml") + " --variant v6.2 --runs 20000 --seed 1";
  Cli r = run(args);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("19532  verdict: clean\n") != std::string::npos);
  CHECK(r.out.find("468  verdict: hang\n") != std::string::npos);
  CHECK(r.out.find("468  of them explained by known bug unfixed_alloc_mmap_error_path\n") != std::string::npos);
  CHECK(r.out.find(": 0 not as expected") != std::string::npos);
  Cli strict = run(args + " --no-known");
  CHECK(strict.exit_code == 1);
  CHECK(strict.out.find(": 468 not as expected") != std::string::npos);
  // One of them alone: the known bug is named, the verdict stays truthful,
  // and the root cause comes first.
  const std::string one_args = src("tests/data/scenarios/x1_unpinned_known.yaml") + " --variant v6.2 --seed 52";
  Cli one = run(one_args);
  CHECK(one.exit_code == 0);
  CHECK(one.out.find("verdict: hang\n") != std::string::npos);
  CHECK(one.out.find("root cause: zone_device_reset_window") != std::string::npos);
  CHECK(one.out.find("known bug: unfixed_alloc_mmap_error_path (") != std::string::npos);
  CHECK(one.out.find("expected: clean (as expected: a known bug)") != std::string::npos);
  Cli js = run(one_args + " --json");
  CHECK(js.out.find("\"known_bug\":\"unfixed_alloc_mmap_error_path\"") != std::string::npos);
  CHECK(js.out.find("\"root_causes\":[{\"id\":\"zone_device_reset_window\"") != std::string::npos);
  // With the error path fixed the same seeds are clean.
  Cli latest = run(src("tests/data/scenarios/x1_unpinned_known.yaml") + " --variant latest --runs 20000 --seed 1");
  CHECK(latest.exit_code == 0);
  CHECK(latest.out.find("20000  verdict: clean\n") != std::string::npos);
}

TEST_CASE("S1 on v6.2 with RCU table free stays clean for 20000 random seeds", "[cli][s1][x1]") {
  // Random search reaches the reset window here too, but vm_insert_page()
  // refuses the page: B's mmap fails, nothing is shared.
  Cli r = run(kS1 + " --variant v6.2-arm64 --no-pins --runs 20000 --seed 1");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("20000  verdict: clean") != std::string::npos);
}

TEST_CASE("S1 v6.2 on x86 IPI flushes stays clean for 20000 random seeds", "[cli][s1]") {
  Cli r = run(kS1 + " --variant v6.2 --no-pins --runs 20000 --seed 1");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("20000  verdict: clean") != std::string::npos);
}

TEST_CASE("fuzz finds the S1 leak on rfc-v3 without pins and its replay token reproduces it", "[cli][fuzz]") {
  const std::string out = (scratch() + "/fuzz-rfcv3");
  std::system(("rm -rf " + out).c_str());
  Cli r = run("fuzz " + kS1 + " --variant rfc-v3 --runs 50000 --jobs 2 --out " + out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("cross_context_leak") != std::string::npos);
  const std::string summary = slurp(out + "/summary.json");
  CHECK(summary.find("\"executions\":50000") != std::string::npos);
  // The leak's folder: its shrunk token replays to the same kinds.
  // The leak is a symptom of a premature free: the bug's folder shows it.
  const std::string dir = folder_with(out, "cross_context_leak");
  REQUIRE(!dir.empty());
  CHECK(slurp(dir + "/finding.json").find("\"kind\":\"premature_free\"") != std::string::npos);
  const std::string listing = slurp(dir + "/interleaving.txt");
  for (const char* point : {"gup_fast_pte_range:after_ptep_get", "zap_pte_range:after_clear_pte",
                            "p2pdma_page_free:after_gen_pool_free", "pci_p2pdma_vma_fault:after_gen_pool_alloc",
                            "gup_fast_pte_range:after_grab", "!! cross_context_leak at "}) {
    INFO(point);
    CHECK(listing.find(point) != std::string::npos);
  }
  // Each row has its time; the shrunk schedule's decisions are marked.
  CHECK(listing.find("\ntime        | cpu0 a_main") != std::string::npos);
  CHECK(listing.find(">> forced: ") != std::string::npos);
  // A task that dies of a kernel BUG is shown dying.
  const std::string double_free = folder_with(out, "kernel_bug");
  REQUIRE(!double_free.empty());
  const std::string bug = slurp(double_free + "/interleaving.txt");
  CHECK(bug.find("xx dies of the kernel BUG") != std::string::npos);
  CHECK(bug.find("!! kernel_bug at ") != std::string::npos);
  CHECK(bug.find("kernel BUG: gen_pool_free_owner") != std::string::npos);
  CHECK(slurp(dir + "/finding.json").find("\"shrunk_reproduces\":true") != std::string::npos);
  Cli rep = run("replay " + dir + "/replay.token --quiet");
  CHECK(rep.exit_code == 0);
  CHECK(rep.out.find("cross_context_leak") != std::string::npos);
  const std::string t1 = (scratch() + "/replay-1.json"), t2 = (scratch() + "/replay-2.json");
  CHECK(run("replay " + dir + "/replay.token --quiet --trace " + t1).exit_code == 0);
  CHECK(run("replay " + dir + "/replay.token --quiet --trace " + t2).exit_code == 0);
  CHECK(slurp(t1) == slurp(t2));
  CHECK(slurp(t1) == slurp(dir + "/trace.json"));
}

TEST_CASE("fuzz runs 100000 executions of the fixed designs with no finding", "[cli][fuzz]") {
  for (const char* v : {"v6.2", "v6.2-arm64", "v6.15", "rfc-v5"}) {
    INFO(v);
    const std::string out = (scratch() + "/fuzz-clean-") + v;
    std::system(("rm -rf " + out).c_str());
    Cli r = run("fuzz " + kS1 + " --variant " + v + " --runs 100000 --jobs 2 --out " + out);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("100000 executions") != std::string::npos);
    CHECK(r.out.find(" 0 findings, 0 unique") != std::string::npos);
  }
}

TEST_CASE("replay refuses a token whose scenario changed and fuzz refuses bad input", "[cli][fuzz][input]") {
  const std::string copy = (scratch() + "/s1-copy.yaml"), out = (scratch() + "/fuzz-changed");
  std::system(("rm -rf " + out + " && cp " + kS1 + " " + copy).c_str());
  REQUIRE(run("fuzz " + copy + " --variant rfc-v3 --runs 2000 --no-shrink --out " + out).exit_code == 1);
  std::system(("echo '# edited' >> " + copy).c_str());
  Cli rep = run("replay " + folder_with(out, "kernel_bug") + "/replay.token");
  CHECK(rep.exit_code == 2);
  CHECK(rep.err.find("the scenario changed since the token was made") != std::string::npos);
  CHECK(run("replay p2psim1_!!!").exit_code == 2);
  Cli nobudget = run("fuzz " + kS1 + " --out /tmp/p2psim-x");
  CHECK(nobudget.exit_code == 2);
  CHECK(nobudget.err.find("fuzz needs a budget") != std::string::npos);
  Cli shard = run("fuzz " + kS1 + " --runs 5 --shard 3/2 --out /tmp/p2psim-x");
  CHECK(shard.exit_code == 2);
  Cli again = run("fuzz " + copy + " --variant rfc-v3 --runs 2000 --out " + out);
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("add --resume") != std::string::npos);
}

TEST_CASE("fuzz counts executions a known bug explains apart from findings", "[cli][fuzz][x1][known]") {
  const std::string scen = src("tests/data/scenarios/x1_unpinned_known.yaml");
  const std::string out = (scratch() + "/fuzz-x1known"), strict = (scratch() + "/fuzz-x1known-strict");
  std::system(("rm -rf " + out + " " + strict).c_str());
  Cli r = run("fuzz " + scen + " --variant v6.2 --runs 100000 --jobs 2 --out " + out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("100000 executions") != std::string::npos);
  // How many executions hit the bug depends on the schedule space; what
  // must hold is that they are all counted as known, the same in the
  // summary, and as findings once the known list is off.
  const std::string tag = " 0 findings, 0 unique, ";
  const size_t at = r.out.find(tag);
  REQUIRE(at != std::string::npos);
  const std::string known = r.out.substr(at + tag.size(), r.out.find(' ', at + tag.size()) - at - tag.size());
  REQUIRE(std::stoul(known) > 0);
  // The count itself is deterministic for this seed range; it moves when the
  // schedule space does (a preemption point added or removed): update it then.
  CHECK(known == "1623");
  CHECK(r.out.find(known + " execution(s) explained by known bugs") != std::string::npos);
  CHECK(r.out.find("known bug unfixed_alloc_mmap_error_path explained " + known + " execution(s) (" + known +
                   " findings)") != std::string::npos);
  const std::string summary = slurp(out + "/summary.json");
  CHECK(summary.find("\"unique_findings\":0,\"known_bug_executions\":" + known + ",") != std::string::npos);
  // The example execution replays to the hang and is named as known.
  Cli rep = run("replay " + out + "/known/unfixed_alloc_mmap_error_path.token --quiet");
  CHECK(rep.exit_code == 0);
  CHECK(rep.out.find("verdict: hang") != std::string::npos);
  CHECK(rep.out.find("known bug: unfixed_alloc_mmap_error_path") != std::string::npos);
  // Without the known list the same executions are findings.
  Cli s = run("fuzz " + scen + " --variant v6.2 --runs 100000 --jobs 2 --no-known --no-shrink --out " + strict);
  CHECK(s.exit_code == 1);
  CHECK(s.out.find(" " + known + " findings, 1 unique\n") != std::string::npos);
  Cli mixed = run("fuzz " + scen + " --variant v6.2 --runs 100000 --out " + strict + " --resume");
  CHECK(mixed.exit_code == 2);
  CHECK(mixed.err.find("--resume with a different --no-known") != std::string::npos);
}

TEST_CASE("S16 RFC fault vs unbind: a PTE to freed pages, pinned and found by fuzz", "[cli][s16]") {
  const std::string s16 = src("scenarios/s16_rfc_fault_vs_unbind.yaml");
  for (const char* v : {"rfc-v3", "rfc-v5"}) {
    INFO(v);
    Cli r = run(s16 + " --variant " + v);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: use_after_free\n") != std::string::npos);
    // Without pins, a fault between unbind's unmap and its free leaves a PTE
    // to a page the pool owns.
    const std::string out = (scratch() + "/fuzz-s16-") + v;
    std::system(("rm -rf " + out).c_str());
    Cli f = run("fuzz " + s16 + " --variant " + v + " --runs 2000 --jobs 2 --no-shrink --out " + out);
    CHECK(f.exit_code == 1);
    CHECK(f.out.find("premature_free") != std::string::npos);
    CHECK(f.out.find("returned to its pool by p2pdma_page_free while 1 PTE(s) still map it") != std::string::npos);
  }
}

TEST_CASE("S17 a nested gather flushes the PTE another gather cleared", "[cli][s17]") {
  for (const char* v : {"rfc-v3", "rfc-v3-arm64"}) {
    INFO(v);
    Cli r = run(src("scenarios/s17_nested_tlb_flush.yaml") + " --variant " + v);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: clean\n") != std::string::npos);
  }
}

TEST_CASE("S18 unbind cannot remove the pages under an IRQ-off GUP-fast walk", "[cli][s18]") {
  for (const char* v : {"v6.15", "v6.2", "latest"}) {
    INFO(v);
    Cli r = run(src("scenarios/s18_gup_fast_vs_unbind.yaml") + " --variant " + v);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: clean\n") != std::string::npos);
  }
}

TEST_CASE("an RCU callback runs at its own preemption points while other CPUs go on", "[cli][engine]") {
  const std::string t = (scratch() + "/softirq.json");
  Cli r = run(src("tests/data/scenarios/softirq_interleaving.yaml") + " --variant rfc-v5 --trace " + t);
  CHECK(r.exit_code == 0);
  const std::string trace = slurp(t);
  // B's fault runs between the two page frees of A's deferred free.
  const auto first_put = trace.find("\"pin released: softirq/0 passed pci_p2pdma_map_free_pages:after_put_page\"");
  const auto b_fault = trace.find("\"pin released: b_main passed pci_p2pdma_vma_fault:after_get_page\"");
  CHECK(first_put != std::string::npos);
  CHECK(b_fault != std::string::npos);
  CHECK(trace.find("pin dropped") == std::string::npos);
}

TEST_CASE("preempt_model decides where a task loses its CPU to another task of that CPU", "[cli][engine]") {
  const std::string scen = src("tests/data/scenarios/same_cpu_preemption.yaml");
  for (const char* v : {"full", "voluntary", "none"}) {
    INFO(v);
    const std::string t = (scratch() + "/preempt-") + v + ".json";
    Cli r = run(scen + " --variant " + v + " --trace " + t);
    CHECK(r.exit_code == 0);
    const std::string trace = slurp(t);
    // tlb_batch_pages_flush:before_put holds no lock: only PREEMPT (full)
    // lets B take the CPU there, so only there the pin holds.
    const bool dropped = trace.find("pin dropped (no other task can run): a_main at tlb_batch_pages_flush:before_put") !=
                         std::string::npos;
    CHECK(dropped == (std::string(v) != "full"));
  }
}

TEST_CASE("S19 unbind drains ->mmap calls, but waits for a VMA linked after its zap", "[cli][s19]") {
  const std::string s19 = src("scenarios/s19_unbind_vs_mmap.yaml");
  {
    Cli r = run(s19 + " --variant v6.2 --json");
    CHECK(r.exit_code == 0);
    // B munmaps at 50 ms; the unbind ends only after that (plus the
    // percpu_ref switch's grace period), not when it zapped the open files.
    CHECK(r.out.find("\"task_end_ps\":{\"b_main\":5000") != std::string::npos);
    CHECK(r.out.find("\"unbinder\":5400") != std::string::npos);
  }
  const std::string t = (scratch() + "/s19.json");
  Cli held = run(s19 + " --variant mmap_in_progress --trace " + t);
  CHECK(held.exit_code == 0);
  CHECK(slurp(t).find("pin dropped (no other task can run): b_main at p2pmem_alloc_mmap:after_vm_insert_page") !=
        std::string::npos);
}

TEST_CASE("unbinding an NVMe drive with I/O in flight lets that I/O finish and fails the next", "[cli][p2pmem]") {
  Cli r = run(src("tests/data/scenarios/unbind_nvme_during_io.yaml") + " --variant v6.2");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("p2pmem-test: I/O failed: -5 (EIO)") != std::string::npos);
  CHECK(r.out.find("verdict: clean\n") != std::string::npos);
}

TEST_CASE("campaign outputs: bad --out and --jobs are input errors, merge refuses to overwrite or double-count",
          "[cli][fuzz][input]") {
  Cli notdir = run("fuzz " + kS1 + " --runs 10 --out /etc/passwd/x");
  CHECK(notdir.exit_code == 2);
  CHECK(notdir.err == "/etc/passwd/x/findings:1:1: error: cannot create output directory: Not a directory\n");
  Cli jobs = run("fuzz " + kS1 + " --runs 10 --jobs 100000 --out /tmp/p2psim-jobs");
  CHECK(jobs.exit_code == 2);
  CHECK(jobs.err.find("--jobs 100000 is more than 256 worker processes") != std::string::npos);
  const std::string a = (scratch() + "/merge-a"), b = (scratch() + "/merge-b");
  std::system(("rm -rf " + a + " " + b).c_str());
  REQUIRE(run("fuzz " + kS1 + " --variant rfc-v3 --runs 2000 --no-shrink --out " + a).exit_code == 1);
  REQUIRE(run("fuzz " + kS1 + " --variant rfc-v3 --runs 2000 --seed 9 --no-shrink --out " + b).exit_code == 1);
  const std::string before = slurp(a + "/summary.json");
  Cli into_input = run("merge " + a + " " + b + " --out " + a);
  CHECK(into_input.exit_code == 2);
  CHECK(into_input.err.find("--out '" + a + "' is one of the inputs") != std::string::npos);
  CHECK(slurp(a + "/summary.json") == before);  // untouched
  Cli twice = run("merge " + a + " " + a + "/ --out /tmp/p2psim-merge-c");
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("is given more than once") != std::string::npos);
}

TEST_CASE("a damaged checkpoint or token is refused, not trusted", "[cli][fuzz][input]") {
  const std::string base = (scratch() + "/state");
  std::system(("rm -rf " + base + "*").c_str());
  REQUIRE(run("fuzz " + kS1 + " --variant v6.2 --runs 300 --out " + base).exit_code == 0);
  const struct {
    const char* sed;
    const char* what;
  } cases[] = {
      {"s/\"version\":1/\"version\":2/", "it is version 2, this p2pdma-sim reads version 1"},
      {"s/\"wall_seconds\":[0-9.]*/\"wall_seconds\":-4/", "it has a negative or non-finite time"},
      {"s/\"done\":\\[\\[0,299\\]\\]/\"done\":[[299,0]]/", "'done' range [299, 0] is out of order"},
      {"s/\"executions\":300/\"executions\":999/", "its 'done' ranges hold 300 executions, its 'executions' says 999"},
      {"s/,\"done\":\\[\\[0,299\\]\\]//", "it has no 'done'"},
  };
  int i = 0;
  for (const auto& c : cases) {
    INFO(c.sed);
    const std::string dir = base + "-" + std::to_string(++i);
    std::system(("cp -r " + base + " " + dir + " && sed -i '" + c.sed + "' " + dir + "/state.json").c_str());
    Cli r = run("fuzz " + kS1 + " --variant v6.2 --runs 600 --out " + dir + " --resume");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(dir + "/state.json:1:1: error: campaign checkpoint is unreadable: ") == 0);
    CHECK(r.err.find(c.what) != std::string::npos);
  }
  // A delay that would wrap around (std::stoull takes "-5") is damage.
  const std::string tok = base + "-neg.token";
  std::system(("printf 'scenario=" + kS1 + "\\nhash=0\\nvariant=rfc-v3\\nstrategy=delay\\nseed=1\\nchoices=\\n"
               "delays=19:-5\\n' | base64 -w0 | tr '+/' '-_' | tr -d '=' | sed 's/^/p2psim1_/' > " + tok).c_str());
  Cli neg = run("replay " + tok);
  CHECK(neg.exit_code == 2);
  CHECK(neg.err == tok + ":1:1: error: replay token is damaged (field 'delays')\n");
}

TEST_CASE("topo prints the map types and distances calc_map_type_and_dist() computes", "[cli][topo]") {
  auto pair = [](const std::string& out, const std::string& p, const std::string& c, const std::string& rest) {
    const std::string needle = "  " + p + std::string(15 - p.size(), ' ') + "-> " + c + std::string(15 - c.size(), ' ') + rest;
    INFO(needle);
    CHECK(out.find(needle + "\n") != std::string::npos);
  };
  Cli sw = run("topo " + src("scenarios/topologies/switch_2nvme.yaml"));
  REQUIRE(sw.exit_code == 0);
  pair(sw.out, "nvme0", "nvme0", "bus_addr         0");          // same function
  pair(sw.out, "p2pcard.f0", "p2pcard.f1", "bus_addr         2");  // two functions of one device
  pair(sw.out, "nvme0", "nvme1", "bus_addr         4");           // two devices on one switch
  pair(sw.out, "nvme0", "p2pcard.f0", "thru_host_bridge 6");      // whitelisted host bridge
  CHECK(sw.out.find("0000:03:00.0 nvme0 [endpoint] nvme (CMB 65536 KiB at 0xe0000000)") != std::string::npos);
  Cli acs = run("topo " + src("scenarios/topologies/switch_acs_redirect.yaml"));
  pair(acs.out, "nvme0", "nvme1", "thru_host_bridge 4");          // ACS redirect -> host bridge
  Cli amd = run("topo " + src("scenarios/topologies/amd_two_root_ports.yaml"));
  pair(amd.out, "nvme0", "nvme1", "thru_host_bridge 4");          // AMD Zen across root ports
  Cli intel = run("topo " + src("scenarios/topologies/intel_offwhitelist_two_root_ports.yaml"));
  pair(intel.out, "nvme0", "nvme1", "not_supported    -");        // off the whitelist
  Cli js = run("topo " + src("scenarios/topologies/amd_two_root_ports.yaml") + " --json");
  CHECK(js.out.find("{\"provider\":\"nvme0\",\"client\":\"nvme1\",\"map_type\":\"thru_host_bridge\",\"distance\":4}") !=
        std::string::npos);
}

TEST_CASE("a scenario on an included topology runs and errors in the topology name its file", "[cli][topo]") {
  Cli ok = run(src("tests/data/scenarios/topo_switch_mmap.yaml") + " --variant v6.2");
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("verdict: clean\n") != std::string::npos);
  Cli bad = run(src("tests/data/scenarios/bad_topology_include.yaml") + " --variant v6.2");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("bad_unknown_key.yaml:7:60: error: unknown key 'lanes' in endpoint") != std::string::npos);
  Cli none = run("topo " + kS1);
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("has no PCI tree") != std::string::npos);
}

namespace {
/// "Transfer:\n 1.05MB in 0.016150 s    64.93MB/s" -> 64.93
double p2pmem_rate_mb(const std::string& out) {
  const auto at = out.find("MB/s");
  if (at == std::string::npos) return -1;
  auto start = out.rfind(' ', at);
  return std::stod(out.substr(start + 1, at - start - 1));
}
}  // namespace

TEST_CASE("p2pmem-test through a switch matches and never crosses the root complex", "[cli][p2pmem]") {
  Cli r = run(src("scenarios/p2pmem_test_switch.yaml") + " --variant v6.2");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("MATCH on data check, 0x") != std::string::npos);
  CHECK(r.out.find("fabric: 0 bytes forwarded peer-to-peer by root complexes") != std::string::npos);
  // QD1 4 KiB chunks, one read and one write each, on Gen4 x4 drives:
  // tens of MB/s, bounded by the flash read (~60 us), not by PCIe.
  const double rate = p2pmem_rate_mb(r.out);
  CHECK(rate > 30);
  CHECK(rate < 200);
  CHECK(r.out.find("verdict: clean\n") != std::string::npos);
}

TEST_CASE("p2pmem-test across AMD root ports and under ACS redirect goes through the root complex", "[cli][p2pmem]") {
  for (const char* s : {"amd", "acs_redirect"}) {
    INFO(s);
    Cli r = run(src(std::string("scenarios/p2pmem_test_") + s + ".yaml") + " --variant v6.2");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("MATCH on data check, 0x") != std::string::npos);
    CHECK(r.out.find("fabric: 1048576 bytes forwarded peer-to-peer by root complexes") != std::string::npos);
  }
}

TEST_CASE("p2pmem-test on an off-whitelist Intel host fails with EREMOTEIO as the kernel would", "[cli][p2pmem]") {
  Cli r = run(src("scenarios/p2pmem_test_intel_offwhitelist.yaml") + " --variant v6.2");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("p2pmem-test: I/O failed: -121 (EREMOTEIO)") != std::string::npos);
  CHECK(r.out.find("MATCH") == std::string::npos);
  CHECK(r.out.find("verdict: clean\n") != std::string::npos);
}

TEST_CASE("an unbind during p2pmem-test waits for the O_DIRECT in flight and finds nothing", "[cli][p2pmem]") {
  for (const char* v : {"v6.2", "latest"}) {
    INFO(v);
    Cli r = run(src("scenarios/p2pmem_test_unbind.yaml") + " --variant " + v + " --json");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("\"verdict\":\"clean\"") != std::string::npos);
    CHECK(r.out.find("p2pmem-test: I/O failed: -14 (EFAULT)") != std::string::npos);
    // The unbind starts at 2 ms; it ends after a grace period, later than
    // the workload whose next O_DIRECT found the buffer gone.
    const auto u = r.out.find("\"unbinder\":");
    const auto t = r.out.find("\"p2pmem_test\":");
    REQUIRE(u != std::string::npos);
    REQUIRE(t != std::string::npos);
    const uint64_t unbind_end = std::stoull(r.out.substr(u + 11));
    const uint64_t test_end = std::stoull(r.out.substr(t + 14));
    CHECK(unbind_end > 2000000000ULL);
    CHECK(unbind_end > test_end);
  }
}

TEST_CASE("S15 a map type cached before an ACS change sends peer DMA into the IOMMU", "[cli][s15]") {
  for (const char* v : {"v6.2", "latest"}) {
    INFO(v);
    Cli r = run(src("scenarios/s15_stale_map_type_acs.yaml") + " --variant " + v);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: iommu_fault\n") != std::string::npos);
    CHECK(r.out.find("on nvme0\n  nvme0 DMA write at 0xe4020000 (4096 bytes) faulted in the IOMMU") != std::string::npos);
  }
}

TEST_CASE("each CPU submits on its own NVMe queue and takes that queue's interrupt", "[cli][p2pmem][nvme]") {
  // p2pmem_test_threads.yaml: 5 CPUs, so each drive gets 5 I/O queues, qid
  // k on MSI-X vector k routed to CPU k-1; the 4 threads run on CPUs 1-4.
  const std::string trace = scratch() + "/queues.json";
  Cli r = run(src("scenarios/p2pmem_test_threads.yaml") + " --variant v6.2 --trace " + trace);
  REQUIRE(r.exit_code == 0);
  const std::string t = slurp(trace);
  std::map<std::string, std::string> track;  // tid -> thread name
  const std::regex meta(R"re(\{"ph":"M","pid":1,"tid":(\d+),"name":"thread_name","args":\{"name":"([^"]+)"\}\})re");
  for (std::sregex_iterator i(t.begin(), t.end(), meta), e; i != e; ++i) track[(*i)[1]] = (*i)[2];
  const std::regex irq(R"re("tid":(\d+),"ts":[0-9.]+,"name":"nvme_irq (nvme[01])q(\d+)")re");
  std::map<std::string, int> per_queue;
  for (std::sregex_iterator i(t.begin(), t.end(), irq), e; i != e; ++i) {
    const int qid = std::stoi((*i)[3]);
    INFO((*i)[2] << " q" << qid);
    CHECK(track[(*i)[1]] == "cpu" + std::to_string(qid - 1) + " irq/softirq");
    ++per_queue[std::string((*i)[2]) + "q" + std::to_string(qid)];
  }
  // 256 chunks over 4 threads: each thread's 64 reads (nvme0) and 64 writes
  // (nvme1) complete one interrupt each on its CPU's queue of that drive;
  // queue 1 (CPU 0, where no thread runs) stays idle.
  const std::map<std::string, int> want = {{"nvme0q2", 64}, {"nvme0q3", 64}, {"nvme0q4", 64}, {"nvme0q5", 64},
                                           {"nvme1q2", 64}, {"nvme1q3", 64}, {"nvme1q4", 64}, {"nvme1q5", 64}};
  CHECK(per_queue == want);
}

TEST_CASE("I/Os above the drive's 128 KiB MDTS are split into commands and still complete whole", "[cli][nvme][split]") {
  // 64 reads of 512 KiB: the block layer sends each as four 128 KiB
  // requests (max_sectors from MDTS), so the driver queues 256 commands.
  const std::string trace = scratch() + "/split.json";
  Cli r = run(src("scenarios/reports/fio_p2pmem.yaml") +
              " --param bs=512KiB --param iodepth=4 --param ios=64 --param rw=read --trace " + trace);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("fio: 33.55MB in"));
  CHECK_THAT(r.out, Catch::Contains("12586 IOPS"));  // 64 I/Os of 512 KiB, not 256
  const std::string t = slurp(trace);
  const std::regex queued(R"re("ph":"B","pid":1,"tid":\d+,"ts":[0-9.]+,"name":"nvme_queue_rq")re");
  CHECK(std::distance(std::sregex_iterator(t.begin(), t.end(), queued), std::sregex_iterator()) == 256);
  // p2pmem-test with 1 MiB chunks: eight commands each way, data intact.
  Cli p = run(src("scenarios/reports/switch_vs_rc.yaml") + " --param chunk_size=1MiB --param chunks=16");
  INFO(p.out << p.err);
  CHECK(p.exit_code == 0);
  CHECK_THAT(p.out, Catch::StartsWith("MATCH on data check") || Catch::Contains("\nMATCH on data check"));
  CHECK_THAT(p.out, !Catch::Contains("MISMATCH"));
}

TEST_CASE("p2pmem-test threads keep several I/Os in flight and still match", "[cli][p2pmem]") {
  Cli one = run(src("scenarios/p2pmem_test_switch.yaml") + " --variant v6.2");
  Cli four = run(src("scenarios/p2pmem_test_threads.yaml") + " --variant v6.2");
  CHECK(four.exit_code == 0);
  CHECK(four.out.find("thread(s) = 4") != std::string::npos);
  CHECK(four.out.find("MATCH on data check, 0x") != std::string::npos);
  // Four threads on a drive with many dies: well over twice one thread's rate.
  CHECK(p2pmem_rate_mb(four.out) > 2 * p2pmem_rate_mb(one.out));
}

TEST_CASE("op failures show in the verdict, in --json and --verbose, and variants can expect them", "[cli][failures]") {
  const std::string x1 = src("scenarios/x1_zone_device_reset_window.yaml");
  // v6.2: B's mmap gets the spurious -EINVAL of the reset window.
  Cli r = run(x1 + " --variant v6.2 --quiet");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("verdict: hang\nfailures: b_main mmap EINVAL, b_main store EFAULT\n") != std::string::npos);
  Cli v = run(x1 + " --variant v6.2 --verbose");
  CHECK(v.out.find("ops (in the order they returned):") != std::string::npos);
  CHECK(v.out.find("b_main     mmap               -22 (EINVAL)") != std::string::npos);
  CHECK(v.out.find("a_main     mmap               0x7f0000000000") != std::string::npos);
  CHECK(v.out.find("expected: hang; failures: b_main mmap EINVAL, b_main store EFAULT (as expected)") !=
        std::string::npos);
  Cli j = run(x1 + " --variant v6.2 --json");
  CHECK(j.out.find(R"("failures":["b_main mmap EINVAL","b_main store EFAULT"])") != std::string::npos);
  CHECK(j.out.find(R"J({"task":"b_main","op":"mmap","time_ps":1045000,"error":-22,"error_name":"EINVAL","result":"-22 (EINVAL)"})J") !=
        std::string::npos);
  // latest expects no failure: the same window brought back by --set is NOT as expected.
  Cli ok = run(x1 + " --variant latest --quiet");
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("failures:") == std::string::npos);
  Cli back = run(x1 + " --variant latest --set refcount_era=free_at_zero_reset_to_one "
                      "--set alloc_mmap_refcount_warn=on_nonzero");
  CHECK(back.exit_code == 1);
  CHECK(back.out.find("verdict: clean\nfailures: b_main mmap EINVAL") != std::string::npos);
  CHECK(back.out.find("expected: clean; failures: none (NOT as expected)") != std::string::npos);
}

TEST_CASE("fuzz --hint-pins keeps the variant's pins in every other execution, and tokens replay with them", "[cli][fuzz]") {
  const std::string out = scratch() + "/hint";
  // Random alone does not find S1's leak in 2000 executions; with the pins
  // as hints every pinned execution does, and the shrunk token says so.
  Cli r = run("fuzz " + kS1 + " --variant rfc-v3 --strategy random --runs 2000 --hint-pins --out " + out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("cross_context_leak") != std::string::npos);
  const std::string summary = slurp(out + "/summary.json");
  CHECK(summary.find("\"executions\":2000") != std::string::npos);
  CHECK(slurp(out + "/state.json").find("\"hint_pins\":true") != std::string::npos);
  const std::string leak = folder_with(out, "cross_context_leak");
  REQUIRE(!leak.empty());
  Cli rep = run("replay " + leak + "/replay.token --quiet");
  CHECK(rep.exit_code == 0);
  CHECK(rep.out.find("cross_context_leak") != std::string::npos);
  // --resume must keep the same setting; a variant without pins cannot hint.
  Cli mixed = run("fuzz " + kS1 + " --variant rfc-v3 --strategy random --runs 2000 --resume --out " + out);
  CHECK(mixed.exit_code == 2);
  CHECK(mixed.err.find("--resume with a different --hint-pins") != std::string::npos);
  Cli none = run("fuzz " + src("tests/data/scenarios/x1_unpinned_known.yaml") +
                 " --variant v6.2 --runs 10 --hint-pins --out " + scratch() + "/nohint");
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("--hint-pins: variant 'v6.2' has no pinned schedule to hint with") != std::string::npos);
}

TEST_CASE("NVMe I/O SQs in the CMB are 1024 deep, or shallower to share a small CMB, or in host memory below 64",
          "[cli][nvme]") {
  // The first kernel allocation from nvme0's CMB pool (at 0xe0000000)
  // comes after whatever the I/O SQs took of it.
  auto alloc = [](const std::string& params) {
    Cli r = run(src("tests/data/scenarios/nvme_cmb_sq_depth.yaml") + " -v " + params);
    const size_t at = r.out.find("driver     alloc");
    REQUIRE(at != std::string::npos);
    std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    return line.substr(line.find_last_of(' ') + 1);
  };
  CHECK(alloc("--param cpus=2 --param cmb=64MiB") == "0xffff8880e0020000");   // 2 x 64 KiB SQs
  CHECK(alloc("--param cpus=8 --param cmb=256KiB") == "NULL");  // 512 KiB do not fit: 8 x 32 KiB take it all
  CHECK(alloc("--param cpus=2 --param cmb=128KiB") == "NULL");  // fits exactly, nothing left
  CHECK(alloc("--param cpus=32 --param cmb=64KiB") == "0xffff8880e0000000");  // 32 entries each: host memory
}
