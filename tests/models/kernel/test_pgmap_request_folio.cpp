// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// docs/scenarios/pgmap_request_folio.md: the DAX-gup rework's refcount era
// (preset pgmap-request-folio) and pgmap_request_folio() itself, including
// the interleavings of two requests for one folio against a pgmap kill.
#include <catch2/catch.hpp>

#include "kernel/memremap.h"
#include "kernel/mmap.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

namespace {

/// The kill that memunmap_pages() starts with, run to its RCU-confirmed end.
void kill_and_confirm(KernelFixture& f) {
  SerialExec unbind(1, 0, "unbind");
  percpu_ref_kill(unbind, f.k, f.pgmap().ref);
  unbind.drain_rcu();
}

/// A driver-owned pgmap as in lib/test_hmm.c: page_free puts the page on
/// the driver's free list (counted here), so the test is not about genalloc.
int& use_counting_page_free(KernelFixture& f) {
  static int frees;
  frees = 0;
  f.pgmap().page_free = [](Exec&, Page&) { ++frees; };
  return frees;
}

bool has(const SerialExec& ex, FindingKind kind) { return ex.has_finding(kind); }

}  // namespace

TEST_CASE("DAX-gup era: idle pages at 0, no base refs, one pgmap ref per mapped page", "[p2pdma][dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  CHECK(f.page(0).refcount == 0);
  CHECK(f.pgmap().ref.count == 1);  // 24/25 deleted the bulk get of memremap_pages()
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 2);
  CHECK(f.page(0).refcount == 1);  // request 0 -> 1, vm_insert_page 1 -> 2, put 2 -> 1
  CHECK(f.page(1).refcount == 1);
  CHECK(f.pgmap().ref.count == 1 + 2);  // the two requests' refs; the mmap's temporary ref is gone
  CHECK(do_munmap(ex, f.k, f.proc(1), addr, 2 * PAGE_SIZE) == 0);
  CHECK(f.page(0).refcount == 0);  // freed at 0, no reset
  CHECK(f.pgmap().ref.count == 1);  // free_zone_device_page() dropped each page's ref, page_free did not
  CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
  CHECK(ex.findings.empty());
}

TEST_CASE("DAX-gup era: a failed vm_insert_page returns the requested page through its final put",
          "[p2pdma][dax-gup]") {
  for (const bool fixed : {false, true}) {
    KernelFixture f("pgmap-request-folio");
    f.k.knobs.alloc_mmap_error_puts_pgmap_ref = fixed;
    f.k.inject_failure("vm_insert_page", 2);  // page 1 of 3: page 2 goes back without a request
    SerialExec ex(0, 1, "p1");
    CHECK(f.try_map(ex, 1, 3) == -12);
    CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
    for (int i = 0; i < 3; ++i) CHECK(f.page(i).refcount == 0);
    // Both requested pages' refs are back; the temporary ref leaks as in v6.2 unless fixed.
    CHECK(f.pgmap().ref.count == (fixed ? 1 : 2));
    CHECK(ex.findings.empty());
  }
}

TEST_CASE("DAX-gup era: a request refused by a dying pgmap sends the whole range back to the pool",
          "[p2pdma][dax-gup]") {
  for (const bool fixed : {false, true}) {
    KernelFixture f("pgmap-request-folio");
    f.k.knobs.alloc_mmap_error_puts_pgmap_ref = fixed;
    SerialExec ex(0, 1, "p1"), unbind(1, 0, "unbind");
    ex.on_pp = [&](const std::string& point) {
      if (point == "p2pmem_alloc_mmap:after_gen_pool_alloc") percpu_ref_kill(unbind, f.k, f.pgmap().ref);
    };
    CHECK(f.try_map(ex, 1, 2) == -12);
    CHECK(has(ex, FindingKind::kernel_bug));  // the request's dying WARN
    CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
    CHECK(f.page(0).refcount == 0);
    unbind.drain_rcu();
    CHECK(f.pgmap().done == fixed);  // unfixed, the temporary ref leaks as in v6.2
  }
}

TEST_CASE("DAX-gup era: memunmap_pages waits for a mapped page, then removes the pgmap", "[p2pdma][dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  SerialExec user(0, 1, "p1"), unbind(1, 0, "unbind");
  const uint64_t addr = f.map(user, 1, 1);
  bool unmapped = false;
  unbind.on_pp = [&](const std::string& point) {
    if (point != "memunmap_pages:before_wait") return;
    unbind.drain_rcu();
    CHECK_FALSE(f.pgmap().done);  // the kill dropped the initial ref; the page's ref remains
    CHECK(f.pgmap().ref.count == 1);
    CHECK(do_munmap(user, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
    unmapped = true;
  };
  memunmap_pages(unbind, f.k, f.pgmap());
  CHECK(unmapped);
  CHECK(f.pgmap().removed);
  CHECK(f.pgmap().ref.count == 0);
  CHECK(user.findings.empty());
  CHECK(unbind.findings.empty());
}

TEST_CASE("pgmap_request_folio on a dying pgmap WARNs and leaves the page alone", "[dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  SerialExec drv(0, 0, "driver");
  kill_and_confirm(f);
  CHECK(pgmap_request_folio(drv, f.k, f.pgmap(), 3) == nullptr);
  CHECK(f.page(3).refcount == 0);
  REQUIRE(drv.findings.size() == 1);
  CHECK(drv.findings[0].kind == FindingKind::kernel_bug);
  CHECK(drv.findings[0].message.find("percpu_ref_is_dying") != std::string::npos);
}

TEST_CASE("pgmap_request_folio: only the 0 -> 1 request takes a pgmap ref", "[dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  SerialExec a(0, 0, "a"), b(1, 0, "b");
  Page* pa = pgmap_request_folio(a, f.k, f.pgmap(), 0);
  Page* pb = pgmap_request_folio(b, f.k, f.pgmap(), 0);
  REQUIRE(pa == &f.page(0));
  CHECK(pb == pa);
  CHECK(f.page(0).refcount == 2);
  CHECK(f.pgmap().ref.count == 1 + 1);  // B's request returned the folio without one
  CHECK(a.findings.empty());
  CHECK(b.findings.empty());
}

// The interleaving the issue asks about (follow-up of 20 Oct 2022, with v3
// 23/25 and 24/25): A raises the count 0 -> 1, B raises it 1 -> 2 and
// returns the folio without a pgmap ref, the unbind's kill brings the pgmap
// ref from 1 (only the initial ref) to 0, and A's tryget fails.
TEST_CASE("two requests for one folio against a kill: the page is not freed, but nothing holds the pgmap for B",
          "[dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  int& frees = use_counting_page_free(f);
  SerialExec a(0, 0, "a"), b(1, 0, "b");
  Page* from_b = nullptr;
  a.on_pp = [&](const std::string& point) {
    if (point != "pgmap_request_folio:after_ref_inc" || from_b) return;
    from_b = pgmap_request_folio(b, f.k, f.pgmap(), 0);
    kill_and_confirm(f);
  };
  CHECK(pgmap_request_folio(a, f.k, f.pgmap(), 0) == nullptr);
  REQUIRE(from_b == &f.page(0));
  // A's WARN and its folio_put 2 -> 1: no page_free while B holds the page.
  CHECK(has(a, FindingKind::kernel_bug));
  CHECK(f.page(0).refcount == 1);
  CHECK(frees == 0);
  // But the pgmap ref is at zero and released: memunmap_pages() would pass
  // its wait_for_completion() now and remove the struct page under B.
  CHECK(f.pgmap().ref.count == 0);
  CHECK(f.pgmap().done);
  // B's put runs page_free and the put_dev_pagemap() of a ref it never had.
  put_page(b, f.k, *from_b, "driver done");
  CHECK(frees == 1);
  CHECK(has(b, FindingKind::refcount_underflow));
}

TEST_CASE("two requests for one folio against memunmap_pages: the struct page goes while B holds it", "[dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  use_counting_page_free(f);
  SerialExec a(0, 0, "a"), b(1, 0, "b"), unbind(2, 0, "unbind");
  unbind.on_pp = [&](const std::string& point) {
    if (point == "memunmap_pages:after_kill") unbind.drain_rcu();
  };
  Page* from_b = nullptr;
  a.on_pp = [&](const std::string& point) {
    if (point != "pgmap_request_folio:after_ref_inc" || from_b) return;
    from_b = pgmap_request_folio(b, f.k, f.pgmap(), 0);
    memunmap_pages(unbind, f.k, f.pgmap());  // its wait passes at once: no ref is left
  };
  CHECK(pgmap_request_folio(a, f.k, f.pgmap(), 0) == nullptr);
  REQUIRE(from_b == &f.page(0));
  CHECK(f.pgmap().removed);
  CHECK(unbind.findings.empty());
  CHECK(has(a, FindingKind::use_after_free));  // A's folio_put 2 -> 1 touches the removed struct page
  put_page(b, f.k, *from_b, "driver done");
  CHECK(has(b, FindingKind::use_after_free));
}

TEST_CASE("a lone request whose tryget fails frees the page and drops a pgmap ref it never took", "[dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  int& frees = use_counting_page_free(f);
  SerialExec a(0, 0, "a");
  bool killed = false;
  a.on_pp = [&](const std::string& point) {
    if (point != "pgmap_request_folio:after_dying_check" || killed) return;
    killed = true;
    kill_and_confirm(f);
  };
  CHECK(pgmap_request_folio(a, f.k, f.pgmap(), 0) == nullptr);
  CHECK(f.page(0).refcount == 0);
  CHECK(frees == 1);  // folio_put 1 -> 0 runs free_zone_device_page()
  CHECK(has(a, FindingKind::kernel_bug));
  CHECK(has(a, FindingKind::refcount_underflow));
}

TEST_CASE("a request between the kill and its RCU confirmation still gets its pgmap ref", "[dax-gup]") {
  KernelFixture f("pgmap-request-folio");
  int& frees = use_counting_page_free(f);
  SerialExec a(0, 0, "a"), unbind(1, 0, "unbind");
  a.on_pp = [&](const std::string& point) {
    if (point == "pgmap_request_folio:after_dying_check") percpu_ref_kill(unbind, f.k, f.pgmap().ref);
  };
  // Plain percpu_ref_tryget(): the kill's extra ref is still held, so the
  // inc-not-zero succeeds on a dead ref and the release waits for A's folio.
  REQUIRE(pgmap_request_folio(a, f.k, f.pgmap(), 0) == &f.page(0));
  unbind.drain_rcu();
  CHECK_FALSE(f.pgmap().done);
  put_page(a, f.k, f.page(0), "done");
  CHECK(frees == 1);
  CHECK(f.pgmap().done);
  CHECK(a.findings.empty());
}
