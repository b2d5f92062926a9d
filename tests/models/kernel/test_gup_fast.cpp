// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// GUP-fast (docs/fidelity.md, GUP rows): the lockless read, the grab, the PMD/PTE recheck
// and the undo when a concurrent unmap changed the PTE in between.
#include <catch2/catch.hpp>

#include "kernel/gup.h"
#include "kernel/memory.h"
#include "kernel/mmap.h"
#include "kernel/tlbflush.h"
#include "common/kernel_bug.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

namespace {
const unsigned kODirect = FOLL_PIN | FOLL_WRITE | FOLL_PCI_P2PDMA;
}

TEST_CASE("GUP-fast pins a p2pmem page with FOLL_PCI_P2PDMA and unpin restores it", "[gup]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 1);
  std::vector<GupPage> pages;
  CHECK(get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, kODirect, pages) == 1);
  REQUIRE(pages.size() == 1);
  CHECK(pages[0].page == &f.page(0));
  CHECK(f.page(0).refcount == 1 + GUP_PIN_COUNTING_BIAS);
  gup_release_page(ex, f.k, pages[0], kODirect);
  CHECK(f.page(0).refcount == 1);
  CHECK(ex.findings.empty());
}

TEST_CASE("GUP on a P2PDMA page without FOLL_PCI_P2PDMA fails with -EREMOTEIO", "[gup]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 1);
  std::vector<GupPage> pages;
  // GUP-fast refuses the page, the slow path reports -EREMOTEIO.
  CHECK(get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, FOLL_PIN | FOLL_WRITE, pages) == -121);
  CHECK(pages.empty());
  CHECK(f.page(0).refcount == 1);
}

TEST_CASE("FOLL_LONGTERM with FOLL_PCI_P2PDMA: pinned by GUP-fast on v6.2, refused up front from 6.11",
          "[gup]") {
  {
    KernelFixture f("v6.2");  // only check_vma_flags() refuses, in the slow path
    SerialExec ex(0, 1, "p1");
    const uint64_t addr = f.map(ex, 1, 1);
    std::vector<GupPage> pages;
    CHECK(get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, kODirect | FOLL_LONGTERM, pages) == 1);
    CHECK(f.page(0).refcount == 1 + GUP_PIN_COUNTING_BIAS);
    gup_release_page(ex, f.k, pages[0], kODirect | FOLL_LONGTERM);
    CHECK(f.page(0).refcount == 1);
  }
  {
    KernelFixture f("v6.15");
    SerialExec ex(0, 1, "p1");
    const uint64_t addr = f.map(ex, 1, 1);
    std::vector<GupPage> pages;
    CHECK(get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, kODirect | FOLL_LONGTERM, pages) == -22);
    CHECK(pages.empty());
  }
  // The RFC's devmap PTEs: GUP-fast bails on FOLL_LONGTERM; the slow path
  // pins on v3 and refuses from v4 (check_vma_flags, -EOPNOTSUPP).
  for (const char* preset : {"rfc-v3", "rfc-v5"}) {
    INFO(preset);
    KernelFixture f(preset);
    SerialExec ex(0, 1, "p1");
    const uint64_t addr = f.map(ex, 1, 1);
    REQUIRE(user_access(ex, f.k, f.proc(1), addr, true, 1).error == 0);  // first fault
    std::vector<GupPage> pages;
    const long got = get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, kODirect | FOLL_LONGTERM, pages);
    CHECK(got == (std::string(preset) == "rfc-v3" ? 1 : -95));
    for (const GupPage& gp : pages) gup_release_page(ex, f.k, gp, kODirect | FOLL_LONGTERM);
  }
}

TEST_CASE("GUP-fast undoes its grab when the PTE changed after it was read (v6.2)", "[gup]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  SerialExec other(1, 1, "unmapper");
  const uint64_t addr = f.map(ex, 1, 1);
  VmAreaStruct* vma = f.proc(1).mm->find_vma(addr);
  bool zapped = false;
  ex.on_pp = [&](const std::string& p) {
    if (p == "gup_fast_pte_range:after_ptep_get" && !zapped) {
      zapped = true;  // another CPU zaps the PTE: the page goes back to the pool
      zap_page_range_single(other, f.k, *vma, addr, PAGE_SIZE);
      CHECK(f.page(0).refcount == 1);  // freed at 0, reset to 1
      CHECK_FALSE(f.prov->storage->pool.bit_is_set(f.pool_virt(0)));
    }
  };
  std::vector<GupPage> pages;
  const long n = get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, kODirect, pages);
  CHECK(zapped);
  CHECK(n == -14);  // fast path bailed, the slow path finds no PTE and no fault handler
  CHECK(pages.empty());
  // The grab (add-unless-zero on the idle count 1) succeeded, the recheck
  // failed, and the undo took it back: nothing leaked, nothing freed twice.
  CHECK(std::count(ex.points.begin(), ex.points.end(), "gup_fast_pte_range:after_grab") == 1);
  CHECK(std::count(ex.points.begin(), ex.points.end(), "gup_fast_pte_range:after_undo") == 1);
  CHECK(f.page(0).refcount == 1);
  CHECK(ex.findings.empty());
  CHECK(other.findings.empty());
}

TEST_CASE("v6.15: the grab of a freed page fails (idle count 0) so no undo is needed", "[gup]") {
  KernelFixture f("v6.15");
  SerialExec ex(0, 1, "p1");
  SerialExec other(1, 1, "unmapper");
  const uint64_t addr = f.map(ex, 1, 1);
  VmAreaStruct* vma = f.proc(1).mm->find_vma(addr);
  ex.on_pp = [&](const std::string& p) {
    if (p == "gup_fast_pte_range:after_ptep_get") zap_page_range_single(other, f.k, *vma, addr, PAGE_SIZE);
  };
  std::vector<GupPage> pages;
  get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, kODirect | FOLL_FAST_ONLY, pages);
  CHECK(pages.empty());
  CHECK(std::count(ex.points.begin(), ex.points.end(), "gup_fast_pte_range:after_grab") == 0);
  CHECK(f.page(0).refcount == 0);
}

TEST_CASE("RFC v3: the undo put of a recycled page runs page_free again (double gen_pool_free)",
          "[gup][rfc]") {
  KernelFixture f("rfc-v3");
  SerialExec ex(0, 1, "a_io");
  SerialExec other(1, 1, "a_main");
  const uint64_t addr = f.map(ex, 1, 1);
  switch_mm(f.k, 0, f.proc(1).mm.get());
  REQUIRE(user_access(ex, f.k, f.proc(1), addr, true, 1).error == 0);  // fault: allocate
  REQUIRE(f.page(0).refcount == 2);
  ex.on_pp = [&](const std::string& p) {
    if (p != "gup_fast_pte_range:after_ptep_get") return;
    // A's munmap: zap (no page put: devmap PTE), flush, ->close puts 2 -> 1
    // and page_free returns the page to genalloc.
    do_munmap(other, f.k, f.proc(1), addr, PAGE_SIZE);
    CHECK(f.page(0).refcount == 1);
    CHECK_FALSE(f.prov->storage->pool.bit_is_set(f.pool_virt(0)));
  };
  std::vector<GupPage> pages;
  REQUIRE_THROWS_AS(get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, kODirect, pages), KernelBug);
  // The grab saw count 1 (the one-based free state) and succeeded; the undo
  // dropped 2 -> 1 and page_free ran on a page already in the pool.
  CHECK(ex.has_finding(FindingKind::premature_free));
  CHECK(std::count(ex.points.begin(), ex.points.end(), "gup_fast_pte_range:after_grab") == 1);
}
