// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The zone_device_reset_window root cause the oracles recognise
// (scenarios/x1_zone_device_reset_window.yaml).
#include <catch2/catch.hpp>

#include <algorithm>

#include "kernel/memory.h"
#include "kernel/memremap.h"
#include "kernel/mmap.h"
#include "common/kernel_bug.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

namespace {

/// A's munmap frees its page; at @point inside that free, B mmaps a page.
struct ResetWindowRace {
  KernelFixture f;
  SerialExec a{0, 1, "a_main"}, b{1, 2, "b_main"};
  int64_t b_addr = 0;  ///< B's mmap result: an address or -errno

  ResetWindowRace(const char* preset, const char* point, void (*knobs)(Knobs&) = nullptr) : f(preset) {
    if (knobs) knobs(f.k.knobs);
    const uint64_t addr = f.map(a, 1, 1);
    a.on_pp = [this, point](const std::string& p) {
      if (p == point && !b_addr) b_addr = f.try_map(b, 2, 1);
    };
    REQUIRE(do_munmap(a, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
    REQUIRE(b_addr != 0);
  }
};

/// vm_insert_page() of @page into a fresh one-page VMA of process 1.
bool vm_insert_page_ok(KernelFixture& f, SerialExec& ex, Page& page) {
  VmAreaStruct vma;
  vma.vm_start = 0x7000'0000'0000;
  vma.vm_end = vma.vm_start + PAGE_SIZE;
  vma.vm_flags = VM_READ | VM_WRITE | VM_SHARED | VM_MAYSHARE;
  vma.vm_mm = f.proc(1).mm.get();
  return vm_insert_page(ex, f.k, vma, vma.vm_start, page, page.shadow.alloc_id) == 0;
}

}  // namespace

TEST_CASE("v6.2: vm_insert_page refuses a page allocated inside the refcount-reset window",
          "[oracle][x1]") {
  ResetWindowRace r("v6.2", "p2pdma_page_free:after_gen_pool_free");
  // B got A's page at count 0: vm_insert_page() says -EINVAL, B's mmap
  // fails and gives the page back; A's reset then sets it to 1. Nothing is
  // shared and nothing is freed twice.
  CHECK(r.b_addr < 0);
  CHECK(r.b_addr == -22);
  REQUIRE(r.b.causes.size() == 1);
  const RootCause& c = r.b.causes[0];
  CHECK(c.id == "zone_device_reset_window");
  CHECK(c.pfn == r.f.page(0).pfn);
  CHECK(c.alloc == 2);  // A's mapping was allocation #1
  CHECK(c.findings_before == 0);
  CHECK(c.message.find("vm_insert_page refuses pfn 0xe0000 at refcount 0 with -EINVAL: allocation #2") !=
        std::string::npos);
  CHECK(c.message.find("while a_main on cpu0 was inside free_zone_device_page") != std::string::npos);
  CHECK(r.b.findings.empty());
  CHECK(r.a.findings.empty());
  CHECK(r.f.page(0).refcount == 1);
  CHECK(r.f.prov->storage->pool.avail() == 16 * PAGE_SIZE);  // free, mapped by no one
  CHECK(r.f.page(0).shadow.ptes == 0);
  CHECK(r.a.causes.empty());
  CHECK(r.f.page(0).shadow.resetting.empty());
  // The unfixed v6.2 error path keeps the temporary pgmap reference:
  // 1 initial + 16 base + 1 leaked.
  CHECK(r.f.k.pgmaps.front()->ref.count == 18);
}

TEST_CASE("v6.2 with 6220694c52a5: the same -EINVAL, and the error path drops its pgmap ref",
          "[oracle][x1]") {
  ResetWindowRace r("v6.2", "p2pdma_page_free:after_gen_pool_free",
                    [](Knobs& k) { k.alloc_mmap_error_puts_pgmap_ref = true; });
  CHECK(r.b_addr == -22);
  CHECK(r.b.causes.size() == 1);
  CHECK(r.f.k.pgmaps.front()->ref.count == 17);
}

TEST_CASE("v6.2 with CONFIG_DEBUG_VM: no VM_BUG_ON, since the page never reaches get_page",
          "[oracle][x1]") {
  ResetWindowRace r("v6.2", "p2pdma_page_free:after_gen_pool_free",
                    [](Knobs& k) { k.config_debug_vm = true; });
  CHECK(r.b_addr == -22);
  CHECK(r.b.findings.empty());
}

TEST_CASE("the reset window is harmless when the reset comes before the new owner's vm_insert_page",
          "[oracle][x1]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  Page& page = f.page(3);
  page.shadow.resetting.push_back("a_main on cpu0");
  page.refcount = 0;
  const uint64_t id = f.k.oracle.on_alloc(ex, f.k, 1, "test", page.pfn, 1);
  page.shadow.resetting.clear();
  page.refcount = 1;  // the freeing task's set_page_count(page, 1)
  CHECK(vm_insert_page_ok(f, ex, page));
  CHECK(ex.causes.empty());
  CHECK(page.shadow.window_alloc == id);
  CHECK(std::count(ex.notes.begin(), ex.notes.end(),
                   "pfn 0xe0003 handed out for allocation #1 while a_main on cpu0 is inside free_zone_device_page") == 1);
  // A later allocation of the same page is outside the window.
  page.refcount = 0;
  f.k.oracle.on_alloc(ex, f.k, 1, "later", page.pfn, 1);
  CHECK(!vm_insert_page_ok(f, ex, page));  // refused at 0, but no window: no root cause
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
  CHECK(r.b_addr > 0);
  CHECK(r.f.page(0).refcount == 1);  // B's mapping owns it
}
