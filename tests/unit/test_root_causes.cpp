// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The zone_device_reset_window root cause (scenarios/x1_zone_device_reset_window.yaml)
// and known-bug attribution (sim/known_bug.h).
#include <catch2/catch.hpp>

#include <algorithm>

#include "kernel/memremap.h"
#include "kernel/mmap.h"
#include "p2psim/kernel_bug.h"
#include "known_bug.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

namespace {

/// A's munmap frees its page; at @point inside that free, B mmaps a page.
struct ResetWindowRace {
  KernelFixture f;
  SerialExec a{0, 1, "a_main"}, b{1, 2, "b_main"};
  uint64_t b_addr = 0;

  ResetWindowRace(const char* preset, const char* point) : f(preset) {
    const uint64_t addr = f.map(a, 1, 1);
    a.on_pp = [this, point](const std::string& p) {
      if (p == point && !b_addr) b_addr = f.map(b, 2, 1);
    };
    REQUIRE(do_munmap(a, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
    REQUIRE(b_addr != 0);
  }
};

}  // namespace

TEST_CASE("v6.2: get_page at 0 on a page allocated inside the refcount-reset window is the root cause",
          "[oracle][x1]") {
  ResetWindowRace r("v6.2", "p2pdma_page_free:after_gen_pool_free");
  // B got A's page at count 0: vm_insert_page 0 -> 1, put_page 1 -> 0
  // freed it under B's PTE; then A's reset set it to 1.
  REQUIRE(r.b.causes.size() == 1);
  const RootCause& c = r.b.causes[0];
  CHECK(c.id == "zone_device_reset_window");
  CHECK(c.pfn == r.f.page(0).pfn);
  CHECK(c.alloc == 2);  // A's mapping was allocation #1
  CHECK(c.findings_before == 0);
  CHECK(c.message.find("get_page takes pfn 0xe0000 from refcount 0: allocation #2") != std::string::npos);
  CHECK(c.message.find("while a_main on cpu0 was inside free_zone_device_page") != std::string::npos);
  REQUIRE_FALSE(r.b.findings.empty());
  CHECK(r.b.findings[0].kind == FindingKind::premature_free);
  CHECK(r.b.findings[0].pfn == r.f.page(0).pfn);
  CHECK(r.b.findings[0].alloc == 2);
  CHECK(r.f.page(0).refcount == 1);
  CHECK(r.f.prov->storage->pool.avail() == 16 * PAGE_SIZE);  // free, yet B maps it
  CHECK(r.a.causes.empty());
  CHECK(r.f.page(0).shadow.resetting.empty());  // both frees of the page have ended
}

TEST_CASE("v6.2 with CONFIG_DEBUG_VM: the VM_BUG_ON names the page and allocation of the root cause",
          "[oracle][x1]") {
  KernelFixture f("v6.2");
  f.k.knobs.config_debug_vm = true;
  SerialExec a(0, 1, "a_main"), b(1, 2, "b_main");
  const uint64_t addr = f.map(a, 1, 1);
  bool bugged = false;
  a.on_pp = [&](const std::string& p) {
    if (p != "p2pdma_page_free:after_gen_pool_free" || bugged) return;
    try {
      f.map(b, 2, 1);
    } catch (const KernelBug& e) {
      bugged = true;
      CHECK(std::string(e.what()).find("VM_BUG_ON_PAGE(page_ref_count(page) <= 0) in get_page") == 0);
      CHECK(e.pfn == f.page(0).pfn);
      CHECK(e.alloc == 2);
    }
  };
  REQUIRE(do_munmap(a, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
  CHECK(bugged);
  REQUIRE(b.causes.size() == 1);
  CHECK(b.causes[0].alloc == 2);
  CHECK(b.findings.empty());  // the engine turns the KernelBug into the finding
}

TEST_CASE("the reset window is harmless when the reset comes before the new owner's get_page",
          "[oracle][x1]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  Page& page = f.page(3);
  page.shadow.resetting.push_back("a_main on cpu0");
  page.refcount = 0;
  const uint64_t id = f.k.oracle.on_alloc(ex, f.k, 1, "test", page.pfn, 1);
  page.shadow.resetting.clear();
  page.refcount = 1;  // the freeing task's set_page_count(page, 1)
  get_page(ex, f.k, page);
  CHECK(ex.causes.empty());
  CHECK(page.shadow.window_alloc == id);
  CHECK(std::count(ex.notes.begin(), ex.notes.end(),
                   "pfn 0xe0003 handed out for allocation #1 while a_main on cpu0 is inside free_zone_device_page") == 1);
  // A later allocation of the same page is outside the window.
  page.refcount = 0;
  f.k.oracle.on_alloc(ex, f.k, 1, "later", page.pfn, 1);
  get_page(ex, f.k, page);
  CHECK(ex.causes.empty());
  CHECK(page.shadow.window_alloc == 0);
}

TEST_CASE("v6.2: the same allocation before page_free is no root cause", "[oracle][x1]") {
  // At zap_pte_range the page is still A's: B gets another page.
  ResetWindowRace r("v6.2", "zap_pte_range:after_clear_pte");
  CHECK(r.b.causes.empty());
  CHECK(r.b.findings.empty());
  CHECK(r.a.findings.empty());
}

TEST_CASE("v6.15: the 0-based free has no reset window", "[oracle][x1]") {
  ResetWindowRace r("v6.15", "p2pdma_page_free:after_gen_pool_free");
  CHECK(r.b.causes.empty());
  CHECK(r.b.findings.empty());
  CHECK(r.f.page(0).refcount == 1);  // B's mapping owns it
}

TEST_CASE("known bugs explain an execution by a prior root cause on the first finding's page",
          "[known]") {
  KnownBug by_cause{"x1", "zone_device_reset_window", "", "", {}};
  const std::vector<KnownBug> known{by_cause};
  Finding first{FindingKind::premature_free, 10, 1, "b_main", "pfn 0xe0000 returned ...", {}, 0xe0000, 2};
  RootCause cause{"zone_device_reset_window", 5, 1, "b_main", "...", 0xe0000, 2, 0};

  CHECK(explain_findings(known, {first}, {cause}) == &known[0]);
  CHECK(explain_findings(known, {}, {cause}) == nullptr);  // a window that did no harm
  CHECK(explain_findings(known, {first}, {}) == nullptr);
  RootCause other_page = cause;
  other_page.pfn = 0xe0001;
  CHECK(explain_findings(known, {first}, {other_page}) == nullptr);
  RootCause other_alloc = cause;  // the same page, allocated again later
  other_alloc.alloc = 5;
  CHECK(explain_findings(known, {first}, {other_alloc}) == nullptr);
  RootCause after_first = cause;
  after_first.findings_before = 1;  // the window came after the first symptom
  CHECK(explain_findings(known, {first}, {after_first}) == nullptr);
  Finding no_page = first;
  no_page.pfn = kNoPfn;
  CHECK(explain_findings(known, {no_page}, {cause}) == nullptr);
}

TEST_CASE("known bugs can name a finding signature instead of a root cause", "[known]") {
  Finding hang{FindingKind::hang, 10, -1, "scheduler", "a_io waits forever in 12 ms", {}, kNoPfn, 0};
  KnownBug by_sig{"stuck", "", "hang @ user : a_io waits forever in # ms", "", {}};
  const std::vector<KnownBug> known{by_sig};
  CHECK(explain_findings(known, {hang}, {}) == &known[0]);
  Finding other = hang;
  other.message = "b_io waits forever in 12 ms";
  CHECK(explain_findings(known, {other}, {}) == nullptr);
  // Only the first finding decides.
  CHECK(explain_findings(known, {other, hang}, {}) == nullptr);
}
