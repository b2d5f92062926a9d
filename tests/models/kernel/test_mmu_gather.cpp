// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// mmu_gather (docs/fidelity.md, mmu_gather rows): PTEs cleared and pages queued, then TLBs
// flushed, then page tables freed, then page refs dropped.
#include <catch2/catch.hpp>

#include "kernel/gup.h"
#include "kernel/memory.h"
#include "kernel/mmap.h"
#include "kernel/tlbflush.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

TEST_CASE("munmap flushes TLBs before it frees pages and frees tables before pages", "[mmu_gather]") {
  for (const char* mode : {"page_batch", "rcu"}) {
    INFO("pgtable_free " << mode);
    KernelFixture f("v6.2");
    REQUIRE_FALSE(set_knob(f.k.knobs, "pgtable_free", mode));
    SerialExec ex(0, 1, "p1");
    const uint64_t addr = f.map(ex, 1, 1);
    MmStruct& mm = *f.proc(1).mm;
    switch_mm(f.k, 0, &mm);
    switch_mm(f.k, 1, &mm);  // another CPU runs a thread of the same process
    REQUIRE(user_access(ex, f.k, f.proc(1), addr, false, 0).error == 0);  // a load: the PTE stays clean
    f.k.cpus[1].tlb.entries[{mm.id, addr >> PAGE_SHIFT}] = f.k.cpus[0].tlb.entries.begin()->second;
    PteTable* table = mm.pgtables.table(mm.pgtables.pmd(addr));
    std::vector<std::string> order;
    ex.on_pp = [&](const std::string& p) {
      if (p == "zap_pte_range:after_clear_pte") {
        order.push_back("pte cleared");
        CHECK(f.k.cpus[1].tlb.maps_pfn(f.page(0).pfn));  // not flushed yet
        CHECK(f.page(0).refcount == 1);                   // the gather holds the PTE's ref
      } else if (p == "tlb_flush_mmu:after_tlb_flush") {
        order.push_back("tlb flushed");
        CHECK_FALSE(f.k.cpus[0].tlb.maps_pfn(f.page(0).pfn));
        CHECK_FALSE(f.k.cpus[1].tlb.maps_pfn(f.page(0).pfn));
        CHECK(f.prov->storage->pool.bit_is_set(f.pool_virt(0)));  // page not freed yet
        CHECK_FALSE(table->freed);
      } else if (p == "tlb_batch_pages_flush:before_put") {
        order.push_back("page put");
      } else if (p == "p2pdma_page_free:after_gen_pool_free") {
        order.push_back("page freed");
      }
    };
    REQUIRE(do_munmap(ex, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
    CHECK(order == std::vector<std::string>{"pte cleared", "tlb flushed", "page put", "page freed"});
    // The page batch frees the table with the pages; RCU table free after a grace period.
    CHECK(table->freed == (std::string(mode) == "page_batch"));
    ex.drain_rcu();
    CHECK(table->freed);
    CHECK(ex.findings.empty());
  }
}

TEST_CASE("a dirty PTE forces the flush under the PTE lock and the free inside zap_pte_range",
          "[mmu_gather]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 1);
  MmStruct& mm = *f.proc(1).mm;
  switch_mm(f.k, 0, &mm);
  REQUIRE(user_access(ex, f.k, f.proc(1), addr, true, 7).error == 0);  // the CPU sets D
  PteTable* table = mm.pgtables.table(mm.pgtables.pmd(addr));
  CHECK(table->ptes[PageTables::pte_index(addr)].dirty());
  std::vector<std::string> order;
  ex.on_pp = [&](const std::string& p) {
    if (p == "zap_pte_range:after_clear_pte") order.push_back("pte cleared");
    if (p == "tlb_flush_mmu:after_tlb_flush") order.push_back("tlb flushed");
    if (p == "p2pdma_page_free:after_gen_pool_free") {
      order.push_back("page freed");
      CHECK_FALSE(f.k.cpus[0].tlb.maps_pfn(f.page(0).pfn));  // flushed first
      CHECK_FALSE(table->freed);  // before free_pgtables
    }
    if (p == "zap_pmd_range:cond_resched") order.push_back("zap done");
  };
  REQUIRE(do_munmap(ex, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
  // zap_pte_range: flush (tlbonly, no pp), then tlb_flush_mmu after the
  // unlock frees the page; tlb_finish_mmu flushes again for the table.
  CHECK(order == std::vector<std::string>{"pte cleared", "tlb flushed", "page freed", "zap done", "tlb flushed"});
  CHECK(f.page(0).mapcount == 0);
  CHECK(ex.findings.empty());
}

TEST_CASE("tlb_finish_mmu flushes the whole mm when another gather is in flight", "[mmu_gather]") {
  KernelFixture f("rfc-v3");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 1);
  MmStruct& mm = *f.proc(1).mm;
  switch_mm(f.k, 0, &mm);
  switch_mm(f.k, 1, &mm);
  REQUIRE(user_access(ex, f.k, f.proc(1), addr, true, 7).error == 0);
  f.k.cpus[1].tlb.entries[{mm.id, addr >> PAGE_SHIFT}] = f.k.cpus[0].tlb.entries.begin()->second;
  // A gather that clears nothing flushes nothing ...
  MmuGather lone;
  tlb_gather_mmu(ex, f.k, lone, mm);
  tlb_finish_mmu(ex, f.k, lone);
  CHECK(f.k.cpus[1].tlb.maps_pfn(f.page(0).pfn));
  CHECK(mm.tlb_flush_pending == 0);
  // ... unless another one is in flight on the mm (mm_tlb_flush_nested()).
  MmuGather outer, inner;
  tlb_gather_mmu(ex, f.k, outer, mm);
  tlb_gather_mmu(ex, f.k, inner, mm);
  CHECK(mm.tlb_flush_pending == 2);
  tlb_finish_mmu(ex, f.k, inner);
  CHECK_FALSE(f.k.cpus[1].tlb.maps_pfn(f.page(0).pfn));
  CHECK_FALSE(f.k.cpus[0].tlb.maps_pfn(f.page(0).pfn));
  tlb_finish_mmu(ex, f.k, outer);
  CHECK(mm.tlb_flush_pending == 0);
}

TEST_CASE("a full gather batch forces an early flush inside zap_pte_range", "[mmu_gather]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 12);  // 12 pages > the 8-page local bundle
  int flushes = 0, frees_before_end = 0;
  bool zap_done = false;
  ex.on_pp = [&](const std::string& p) {
    if (p == "tlb_flush_mmu:after_tlb_flush") ++flushes;
    if (p == "p2pdma_page_free:after_gen_pool_free" && !zap_done) ++frees_before_end;
    if (p == "unmap_region:after_unmap_vmas") zap_done = true;
  };
  REQUIRE(do_munmap(ex, f.k, f.proc(1), addr, 12 * PAGE_SIZE) == 0);
  CHECK(flushes == 1);  // one batch chain: 8 local + a second batch, no forced flush
  CHECK(frees_before_end == 0);
  CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
}

TEST_CASE("a gather destroyed while it still holds batches unlinks them first", "[mmu_gather]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 12);  // more than the 8-page local bundle
  MmStruct& mm = *f.proc(1).mm;
  {
    MmuGather tlb;
    tlb_gather_mmu(ex, f.k, tlb, mm);
    VmAreaStruct* vma = mm.find_vma(addr);
    unmap_single_vma(ex, f.k, tlb, *vma, addr, addr + 12 * PAGE_SIZE);
    CHECK(tlb.storage.size() == 2);  // the local bundle and one more batch, both linked
    // The task unwinds here (TaskKilled) without tlb_finish_mmu().
  }
  SUCCEED("no use of a freed batch");
}

// S3 (b67fbebd4cf9, v6.16's tlb_free_vmas()): whether a VM_MIXEDMAP VMA's
// translations are still cached when munmap() has zapped it, and when it
// has taken it out of the file's rmap, for each place the flush has had.
TEST_CASE("where munmap flushes a PFNMAP/MIXEDMAP VMA relative to its rmap unlink", "[mmu_gather][s3]") {
  struct Case {
    const char* flush;
    bool merge_vmas;
    bool cached_after_zap, cached_after_unlink;
  };
  for (const Case c : {Case{"none", true, true, true}, Case{"tlb_end_vma", true, false, false},
                       Case{"free_pgtables", true, true, false}, Case{"none", false, false, false}}) {
    INFO("pfnmap_unlink_flush " << c.flush << ", mmu_gather_merge_vmas " << c.merge_vmas);
    KernelFixture f("v6.2");
    REQUIRE_FALSE(set_knob(f.k.knobs, "pfnmap_unlink_flush", c.flush));
    f.k.knobs.mmu_gather_merge_vmas = c.merge_vmas;
    SerialExec ex(0, 1, "p1");
    const uint64_t addr = f.map(ex, 1, 1);
    MmStruct& mm = *f.proc(1).mm;
    switch_mm(f.k, 0, &mm);
    REQUIRE(user_access(ex, f.k, f.proc(1), addr, false, 0).error == 0);  // a load: no dirty-PTE flush
    REQUIRE(f.k.cpus[0].tlb.maps_pfn(f.page(0).pfn));
    AddressSpace& mapping = *mm.find_vma(addr)->vm_file->f_mapping;
    int seen = 0;
    ex.on_pp = [&](const std::string& p) {
      if (p == "unmap_region:after_unmap_vmas") {
        ++seen;
        CHECK(f.k.cpus[0].tlb.maps_pfn(f.page(0).pfn) == c.cached_after_zap);
        CHECK_FALSE(mapping.i_mmap.empty());  // unmap_mapping_range() still sees the VMA
      } else if (p == "free_pgtables:after_unlink_file_vma") {
        ++seen;
        CHECK(mapping.i_mmap.empty());
        CHECK(f.k.cpus[0].tlb.maps_pfn(f.page(0).pfn) == c.cached_after_unlink);
        // The gather still holds the PTE's reference: the page is not back in the pool.
        CHECK(f.prov->storage->pool.bit_is_set(f.pool_virt(0)));
      }
    };
    REQUIRE(do_munmap(ex, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
    CHECK(seen == 2);
    CHECK_FALSE(f.k.cpus[0].tlb.maps_pfn(f.page(0).pfn));  // tlb_finish_mmu() flushed in every case
    CHECK_FALSE(f.prov->storage->pool.bit_is_set(f.pool_virt(0)));  // and then freed the page
    CHECK(ex.findings.empty());
  }
}

// Anonymous user memory (the bounce buffer): pages at the first touch,
// back to the allocator when the last reference goes.
TEST_CASE("anonymous memory: a zeroed page at the first touch, freed at munmap unless pinned", "[mm][anon]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  Process& p = f.proc(1);
  switch_mm(f.k, 0, p.mm.get());
  const int64_t addr = do_mmap_anonymous(ex, f.k, p, 2 * PAGE_SIZE);
  REQUIRE(addr > 0);
  CHECK(f.k.ram.allocated() == 0);  // nothing until touched
  f.k.phys_write(kUserRamBasePfn, 0, 0xdead);  // garbage where the first page will come from
  CHECK(user_access(ex, f.k, p, addr, false, 0).value == 0);  // zero-filled
  REQUIRE(user_access(ex, f.k, p, addr, true, 0x1234).error == 0);
  CHECK(f.k.ram.allocated() == 1);
  MmStruct& mm = *p.mm;
  const Pte pte = mm.pgtables.table(mm.pgtables.pmd(addr))->ptes[PageTables::pte_index(addr)];
  CHECK_FALSE(pte.special());
  Page* page = f.k.pfn_to_page(pte.pfn());
  REQUIRE(page);
  CHECK(page->pgmap == nullptr);
  CHECK(page->refcount == 1);
  CHECK(page->mapcount == 1);
  // GUP faults the second page in and pins both.
  std::vector<GupPage> pinned;
  REQUIRE(get_user_pages_fast(ex, f.k, p, addr, 2, FOLL_WRITE | FOLL_PIN, pinned) == 2);
  CHECK(f.k.ram.allocated() == 2);
  REQUIRE(do_munmap(ex, f.k, p, addr, 2 * PAGE_SIZE) == 0);
  CHECK(f.k.ram.allocated() == 2);  // the pins hold them
  for (const GupPage& gp : pinned) gup_release_page(ex, f.k, gp, FOLL_PIN);
  CHECK(f.k.ram.allocated() == 0);
  // A freed page comes back zeroed to the next user.
  const int64_t again = do_mmap_anonymous(ex, f.k, p, PAGE_SIZE);
  CHECK(user_access(ex, f.k, p, again, false, 0).value == 0);
  CHECK(ex.findings.empty());
  // The oracle sees anonymous pages: a use through a GUP result kept past
  // the page's free is a use-after-free.
  std::vector<GupPage> kept;
  REQUIRE(get_user_pages_fast(ex, f.k, p, again, 1, FOLL_WRITE | FOLL_GET, kept) == 1);
  const GupPage stale = kept[0];
  gup_release_page(ex, f.k, stale, FOLL_GET);
  REQUIRE(do_munmap(ex, f.k, p, again, PAGE_SIZE) == 0);  // the page is free now
  f.k.oracle.check_use(ex, f.k, *stale.page, stale.shadow_alloc, 1, "a stale GUP result");
  CHECK(ex.has_finding(FindingKind::use_after_free));
}

TEST_CASE("anonymous memory: munmap frees dirty anonymous pages after the flush, rmap at once", "[mm][anon]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  Process& p = f.proc(1);
  switch_mm(f.k, 0, p.mm.get());
  const int64_t addr = do_mmap_anonymous(ex, f.k, p, PAGE_SIZE);
  REQUIRE(user_access(ex, f.k, p, addr, true, 1).error == 0);  // dirty
  MmStruct& mm = *p.mm;
  Page* page = f.k.pfn_to_page(mm.pgtables.table(mm.pgtables.pmd(addr))->ptes[PageTables::pte_index(addr)].pfn());
  REQUIRE(page);
  int flushes_in_zap = 0;
  bool zap_done = false;
  ex.on_pp = [&](const std::string& pp) {
    if (pp == "tlb_flush_mmu:after_tlb_flush" && !zap_done) ++flushes_in_zap;
    if (pp == "unmap_region:after_unmap_vmas") zap_done = true;
  };
  REQUIRE(do_munmap(ex, f.k, p, addr, PAGE_SIZE) == 0);
  // PageAnon: no delayed rmap and no forced flush inside the zap, unlike a
  // dirty p2pmem page (the test above on v6.2 p2pmem).
  CHECK(flushes_in_zap == 0);
  CHECK(page->mapcount == 0);
  CHECK(f.k.ram.allocated() == 0);
  CHECK(ex.findings.empty());
}
