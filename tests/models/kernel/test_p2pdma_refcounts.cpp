// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// docs/model.md "Kernel model": pgmap ref and page refcount bookkeeping of the
// provider, the allocator and the upstream mmap design, in each refcount era.
#include <catch2/catch.hpp>

#include "common/kernel_bug.h"
#include "kernel/gup.h"
#include "kernel/memory.h"
#include "kernel/memremap.h"
#include "kernel/tlbflush.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

TEST_CASE("add_resource: one base pgmap ref per page on top of the initial ref", "[p2pdma]") {
  KernelFixture f("v6.2");
  CHECK(f.pgmap().ref.count == 1 + 16);
  CHECK(f.page(0).refcount == 1);  // 5.18-6.14: idle pages sit at 1
  CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
  KernelFixture z("v6.15");
  CHECK(z.page(0).refcount == 0);  // >= 6.15: idle pages sit at 0
}

TEST_CASE("pci_alloc_p2pmem takes one pgmap ref per allocation and pci_free_p2pmem drops it",
          "[p2pdma]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 0, "kthread");
  const uint64_t a = pci_alloc_p2pmem(ex, f.k, *f.prov, 2 * PAGE_SIZE);
  const uint64_t b = pci_alloc_p2pmem(ex, f.k, *f.prov, PAGE_SIZE);
  CHECK(a == f.pool_virt(0));
  CHECK(b == f.pool_virt(2));  // first fit after a's two pages
  CHECK(f.pgmap().ref.count == 17 + 2);
  CHECK(f.page(0).refcount == 1);  // page refcounts are untouched
  CHECK(f.prov->storage->pool.avail() == 13 * PAGE_SIZE);
  pci_free_p2pmem(ex, f.k, *f.prov, a, 2 * PAGE_SIZE);
  CHECK(f.pgmap().ref.count == 17 + 1);
  CHECK(f.prov->storage->pool.avail() == 15 * PAGE_SIZE);
  CHECK(ex.findings.empty());
}

TEST_CASE("upstream mmap: each page is owned by its PTE and holds one pgmap ref", "[p2pdma]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 2);
  MmStruct& mm = *f.proc(1).mm;
  for (int i = 0; i < 2; ++i) {
    CHECK(f.page(i).refcount == 1);  // vm_insert_page 1 -> 2, put_page 2 -> 1
    CHECK(f.page(i).mapcount == 1);
    const Pte pte = mm.pgtables.table(mm.pgtables.pmd(addr))->ptes[PageTables::pte_index(addr + i * PAGE_SIZE)];
    CHECK(pte.present());
    CHECK_FALSE(pte.special());
    CHECK_FALSE(pte.devmap());
    CHECK(pte.pfn() == f.page(i).pfn);
  }
  // 1 + 16 base + 2 mapped pages; the temporary ref of the mmap is gone.
  CHECK(f.pgmap().ref.count == 19);
  CHECK(do_munmap(ex, f.k, f.proc(1), addr, 2 * PAGE_SIZE) == 0);
  CHECK(f.pgmap().ref.count == 17);
  CHECK(f.page(0).refcount == 1);  // freed at 0, reset to 1 (v6.2)
  CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
  CHECK(ex.findings.empty());
}

TEST_CASE("v6.15: freed pages go back to refcount 0 and mmap sets 1", "[p2pdma]") {
  KernelFixture f("v6.15");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 1);
  CHECK(f.page(0).refcount == 1);
  CHECK(do_munmap(ex, f.k, f.proc(1), addr, PAGE_SIZE) == 0);
  CHECK(f.page(0).refcount == 0);
  CHECK(f.pgmap().ref.count == 17);
  CHECK(ex.findings.empty());
}

TEST_CASE("v6.2 alloc_mmap error path leaks the temporary pgmap ref, and the 2025 fix drops it",
          "[p2pdma]") {
  for (const bool fixed : {false, true}) {
    KernelFixture f("v6.2");
    f.k.knobs.alloc_mmap_error_puts_pgmap_ref = fixed;
    f.k.inject_failure("vm_insert_page", 2);
    SerialExec ex(0, 1, "p1");
    int err = 0;
    auto file = p2pmem_open(ex, f.k, *f.prov, err);
    const int64_t r = do_mmap(ex, f.k, f.proc(1), file, 2 * PAGE_SIZE, true, true, 0);
    CHECK(r == -12);
    // The first page was inserted, then zapped by mmap's error path.
    CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
    CHECK(f.pgmap().ref.count == (fixed ? 17 : 18));
  }
}

TEST_CASE("RFC v3: first fault allocates the VMA and takes a page ref, and close returns it",
          "[p2pdma][rfc]") {
  KernelFixture f("rfc-v3");
  SerialExec ex(0, 1, "p1");
  const uint64_t addr = f.map(ex, 1, 2);
  CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);  // nothing until the fault
  switch_mm(f.k, 0, f.proc(1).mm.get());
  auto r = user_access(ex, f.k, f.proc(1), addr, true, 0x1234);
  CHECK(r.error == 0);
  CHECK(f.prov->storage->pool.avail() == 14 * PAGE_SIZE);  // the whole VMA
  CHECK(f.page(0).refcount == 2);  // one-based: idle 1 + get_page
  CHECK(f.page(1).refcount == 2);
  MmStruct& mm = *f.proc(1).mm;
  const Pte pte = mm.pgtables.table(mm.pgtables.pmd(addr))->ptes[PageTables::pte_index(addr)];
  CHECK(pte.devmap());
  CHECK(pte.special());  // x86 pte_mkdevmap sets both
  CHECK(f.pgmap().ref.count == 17);  // gen_pool_alloc directly: no pgmap ref
  CHECK(do_munmap(ex, f.k, f.proc(1), addr, 2 * PAGE_SIZE) == 0);
  CHECK(f.page(0).refcount == 1);  // 2 -> 1 ran page_free
  CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
  CHECK(ex.findings.empty());
}

TEST_CASE("one-based era: a put that takes a live page to 0 is a refcount underflow",
          "[p2pdma][rfc]") {
  KernelFixture f("rfc-v3");
  SerialExec ex(0, 0, "k");
  put_page(ex, f.k, f.page(3), "test");  // idle 1 -> 0 while the pgmap is live
  CHECK(ex.has_finding(FindingKind::refcount_underflow));
}

TEST_CASE("CONFIG_DEBUG_VM: v6.15's mmap check warns on every free page as released, latest's does not",
          "[p2pdma][refcount]") {
  for (const char* preset : {"v6.15", "latest"}) {
    INFO(preset);
    KernelFixture f(preset);
    f.k.knobs.config_debug_vm = true;
    SerialExec ex(0, 1, "p1");
    f.map(ex, 1, 1);
    const bool released = std::string(preset) == "v6.15";
    REQUIRE(ex.findings.size() == (released ? 1u : 0u));
    if (released)
      CHECK(ex.findings[0].message.find("VM_WARN_ON_ONCE_PAGE(!page_ref_count(page)) in p2pmem_alloc_mmap: pfn "
                                        "0xe0000 has refcount 0") == 0);
  }
}

// S2 (Jason Gunthorpe on RFC v3 19/20): vmf_insert_mixed() makes a special
// PTE, so vm_normal_page() finds no page at zap and the gather queues
// nothing; what keeps the page from genalloc is the mapping's own reference,
// dropped by ->close right after the flush, and any GUP reference. v6.2's
// vm_insert_page() PTE holds a reference the gather keeps until the flush.
TEST_CASE("S2: an RFC v3 zap holds no page, and a GUP pin keeps the page past VMA close", "[p2pdma][rfc][s2]") {
  for (const char* preset : {"rfc-v3", "v6.2"}) {
    INFO(preset);
    const bool rfc = std::string(preset) == "rfc-v3";
    KernelFixture f(preset);
    SerialExec ex(0, 1, "p1");
    const uint64_t addr = f.map(ex, 1, 1);
    switch_mm(f.k, 0, f.proc(1).mm.get());
    REQUIRE(user_access(ex, f.k, f.proc(1), addr, false, 0).error == 0);  // fault in; a clean PTE
    std::vector<GupPage> pinned;
    const unsigned flags = FOLL_WRITE | FOLL_PCI_P2PDMA | FOLL_PIN;
    REQUIRE(get_user_pages_fast(ex, f.k, f.proc(1), addr, 1, flags, pinned) == 1);
    const int with_pin = f.page(0).refcount;
    int at_zap = -1, gather_puts = 0;
    bool freed_before_unpin = false;
    ex.on_pp = [&](const std::string& p) {
      if (p == "unmap_region:after_unmap_vmas") at_zap = f.page(0).refcount;
      if (p == "tlb_batch_pages_flush:before_put") ++gather_puts;
      if (p == "p2pdma_page_free:after_gen_pool_free") freed_before_unpin = true;
    };
    REQUIRE(do_munmap(ex, f.k, f.proc(1), addr, PAGE_SIZE) == 0);  // zap, flush, then ->close
    // The zap moves the PTE's reference into the gather (v6.2) or finds none to move (RFC v3).
    CHECK(at_zap == with_pin);
    CHECK(gather_puts == (rfc ? 0 : 1));
    // After close only the pin is left: the map's ref (RFC) or the PTE's (v6.2) is gone.
    CHECK(f.page(0).refcount == with_pin - 1);
    CHECK_FALSE(freed_before_unpin);
    CHECK(f.prov->storage->pool.bit_is_set(f.pool_virt(0)));  // still allocated
    ex.on_pp = nullptr;
    gup_release_page(ex, f.k, pinned[0], flags);
    CHECK(f.page(0).refcount == 1);  // idle: one-based 1; v6.2 freed at 0 and reset to 1
    CHECK_FALSE(f.prov->storage->pool.bit_is_set(f.pool_virt(0)));
    CHECK(ex.findings.empty());
  }
}

TEST_CASE("fault site gen_pool_alloc: an exhausted pool fails the mmap or the RFC fault, nothing held",
          "[p2pdma][faults]") {
  {
    KernelFixture f("v6.2");
    f.k.inject_failure("gen_pool_alloc", 1);
    SerialExec ex(0, 1, "p1");
    CHECK(f.try_map(ex, 1, 1) == -12);  // p2pmem_alloc_mmap(): -ENOMEM
    CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
    CHECK(f.pgmap().ref.count == 17);  // no pgmap ref left behind
    CHECK(f.try_map(ex, 1, 1) > 0);   // the second call is not the nth
    CHECK(ex.findings.empty());
  }
  {
    KernelFixture f("rfc-v3");
    f.k.inject_failure("gen_pool_alloc", 1);
    SerialExec ex(0, 1, "p1");
    const uint64_t addr = f.map(ex, 1, 1);  // the RFC allocates at the first fault
    switch_mm(f.k, 0, f.proc(1).mm.get());
    CHECK(user_access(ex, f.k, f.proc(1), addr, true, 1).error == -7);  // VM_FAULT_SIGBUS
    CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
    CHECK(ex.findings.empty());
  }
}

TEST_CASE("a fault site the registry does not know is a model bug, injected or reached", "[faults]") {
  KernelFixture f("v6.2");
  CHECK_THROWS_AS(f.k.inject_failure("vm_insert_pages", 1), ModelBug);
  CHECK_THROWS_AS(f.k.should_fail("gen_pool_allocate"), ModelBug);
  CHECK_FALSE(f.k.should_fail("gen_pool_alloc"));  // known, not injected
}

TEST_CASE("fault site mmap_prealloc: 6.2 unmaps what p2pmem_alloc_mmap() inserted, 6.14 on fails first",
          "[p2pdma][faults]") {
  for (const char* preset : {"v6.2", "latest"}) {
    INFO(preset);
    KernelFixture f(preset);
    f.k.inject_failure("mmap_prealloc", 1);
    SerialExec ex(0, 1, "p1");
    CHECK(f.try_map(ex, 1, 2) == -12);
    // 6.2: ->mmap allocated and inserted two pages; the zap freed them back
    // to the pool and their pgmap refs went with them. 7.0: ->mmap never ran.
    CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);
    CHECK(f.pgmap().ref.count == 17);
    CHECK(f.proc(1).mm->vmas.empty());
    CHECK(f.try_map(ex, 1, 2) > 0);  // the second call is not the nth
    CHECK(ex.findings.empty());
  }
  KernelFixture rfc("rfc-v3");  // 5.15 links the VMA without an allocation that can fail
  rfc.k.inject_failure("mmap_prealloc", 1);
  SerialExec ex(0, 1, "p1");
  CHECK(rfc.try_map(ex, 1, 1) > 0);
}
