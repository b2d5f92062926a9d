// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// docs/scenario-format.md "Fault sites": the allocation failures of mmap(),
// of a fault's or GUP's PTE table, of iommufd's IOMMU map and of the probe's
// pool chunk, each with its caller's error path.
#include <algorithm>

#include <catch2/catch.hpp>

#include "kernel/gup.h"
#include "kernel/iommufd_dmabuf.h"
#include "kernel/memory.h"
#include "kernel/tlbflush.h"
#include "kernel/vfio_pci.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

namespace {
bool has_note(const SerialExec& ex, const std::string& part) {
  return std::any_of(ex.notes.begin(), ex.notes.end(),
                     [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

/// Process 1 on CPU 0 of a v6.2 kernel, with an anonymous mapping of @pages
/// (at a 2 MiB boundary, as every model mapping).
struct AnonMapping {
  explicit AnonMapping(int pages) : f("v6.2"), ex(0, 1, "p1"), p(f.proc(1)) {
    switch_mm(f.k, 0, p.mm.get());
    addr = static_cast<uint64_t>(do_mmap_anonymous(ex, f.k, p, static_cast<uint64_t>(pages) * PAGE_SIZE));
  }
  KernelFixture f;
  SerialExec ex;
  Process& p;
  uint64_t addr = 0;
};
}  // namespace

TEST_CASE("fault site vm_area_alloc: mmap() fails before ->mmap, nothing to undo", "[faults][mmap]") {
  KernelFixture f("v6.2");
  f.k.inject_failure("vm_area_alloc", 1);
  SerialExec ex(0, 1, "p1");
  CHECK(f.try_map(ex, 1, 2) == -12);
  CHECK(f.proc(1).mm->vmas.empty());
  CHECK(f.prov->storage->pool.avail() == 16 * PAGE_SIZE);  // ->mmap never allocated
  CHECK(f.pgmap().ref.count == 17);
  CHECK(f.try_map(ex, 1, 2) > 0);  // only the nth call fails
  f.k.inject_failure("vm_area_alloc", 1);
  CHECK(do_mmap_anonymous(ex, f.k, f.proc(1), PAGE_SIZE) == -12);
  CHECK(f.proc(1).mm->vmas.size() == 1);
  CHECK(ex.findings.empty());
}

TEST_CASE("fault site pte_alloc: a user fault is retried, only a missing table can fail", "[faults][memory]") {
  AnonMapping m(2);
  auto& [f, ex, p, a] = m;
  f.k.inject_failure("pte_alloc", 1);
  // do_anonymous_page() fails before the page: VM_FAULT_OOM, and the access
  // faults again (pagefault_out_of_memory() warns and returns).
  CHECK(user_access(ex, f.k, p, a, true, 0x1234).error == 0);
  CHECK(has_note(ex, "Retrying PF"));
  CHECK(user_access(ex, f.k, p, a, false, 0).value == 0x1234);
  // The table exists now: the second page's fault allocates none, so the
  // site's next call (nth = 1 again) is not reached.
  ex.notes.clear();
  f.k.inject_failure("pte_alloc", 1);
  CHECK(user_access(ex, f.k, p, a + PAGE_SIZE, true, 5).error == 0);
  CHECK_FALSE(has_note(ex, "Retrying PF"));
  CHECK(ex.findings.empty());
}

TEST_CASE("fault site pte_alloc: GUP's fault gives -ENOMEM, or the pages it got before", "[faults][gup]") {
  // 513 pages: the mapping starts at a 2 MiB boundary, so the last page
  // needs a second PTE table.
  const int n = 513;
  AnonMapping m(n);
  auto& [f, ex, p, a] = m;
  f.k.inject_failure("pte_alloc", 1);
  std::vector<GupPage> pages;
  CHECK(get_user_pages_fast(ex, f.k, p, a, 1, FOLL_WRITE | FOLL_PIN, pages) == -12);  // nothing got
  CHECK(pages.empty());
  f.k.inject_failure("pte_alloc", 2);  // the second table: page 512
  CHECK(get_user_pages_fast(ex, f.k, p, a, n, FOLL_WRITE | FOLL_PIN, pages) == 512);
  CHECK(pages.size() == 512);
  for (const GupPage& gp : pages) gup_release_page(ex, f.k, gp, FOLL_PIN);
  CHECK(ex.findings.empty());
}

TEST_CASE("fault site pte_alloc on an RFC mapping: the first fault allocates once, retried or not",
          "[faults][rfc]") {
  for (int nth : {1, 2}) {
    INFO("nth " << nth);
    KernelFixture f("rfc-v5");  // 5.17-rc1: VM_FAULT_OOM faults again
    SerialExec ex(0, 1, "p1");
    Process& p = f.proc(1);
    switch_mm(f.k, 0, p.mm.get());
    const uint64_t a = f.map(ex, 1, 1);
    f.k.inject_failure("pte_alloc", nth);
    CHECK(user_access(ex, f.k, p, a, true, 0x55).error == 0);
    CHECK(has_note(ex, "Retrying PF"));
    // nth 1 fails before the handler, nth 2 in its vmf_insert_mixed() after
    // it allocated: the retry takes the fast path. One page either way.
    CHECK(f.prov->storage->pool.avail() == 15 * PAGE_SIZE);
    CHECK(user_access(ex, f.k, p, a, false, 0).value == 0x55);
    CHECK(ex.findings.empty());
  }
}

TEST_CASE("fault site pte_alloc cannot fail vm_insert_page: that call has a site of its own", "[faults][p2pdma]") {
  KernelFixture f("v6.2");
  f.k.inject_failure("pte_alloc", 1);
  SerialExec ex(0, 1, "p1");
  CHECK(f.try_map(ex, 1, 2) > 0);  // p2pmem_alloc_mmap()'s inserts: site vm_insert_page
  CHECK(ex.findings.empty());
}

namespace {
/// A vfio-pci function on the latest preset, opened by the VMM, with a
/// one-page dma-buf of its BAR exported.
struct VfioExport {
  VfioExport() : k(find_preset("latest")->knobs, default_costs(), 2), ex(0, 1, "vmm") {
    auto d = std::make_unique<VfioPciCoreDevice>();
    d->name = "0000:05:00.0";
    d->bar_phys = 0xd0000000;
    d->bar_size = 16 * PAGE_SIZE;
    v = d.get();
    k.vfio_devices.push_back(std::move(d));
    vfio_pci_probe(boot, k, *v);
    Process& p = k.process(1, "vmm");
    switch_mm(k, 0, p.mm.get());
    if (vfio_device_open(ex, k, *v, p) < 3) throw std::runtime_error("vfio_device_open");
    long err = 0;
    b = vfio_pci_core_feature_dma_buf(ex, k, *v, 0, PAGE_SIZE, err);
    if (!b) throw std::runtime_error("dma-buf export");
  }
  Kernel k;
  SerialExec boot, ex;
  VfioPciCoreDevice* v = nullptr;
  DmaBuf* b = nullptr;
};
}  // namespace

TEST_CASE("fault site pte_alloc on a ->fault VMA: __do_fault()'s preallocation, then the handler's own",
          "[faults][memory][vfio]") {
  for (int nth : {1, 2}) {
    INFO("nth " << nth);
    VfioExport f;
    Process& p = f.k.process(1, "vmm");
    const int64_t addr = do_mmap(f.ex, f.k, p, f.v->file, PAGE_SIZE, true, true, 0);
    REQUIRE(addr > 0);
    f.k.inject_failure("pte_alloc", nth);
    f.ex.calls.clear();
    CHECK(user_access(f.ex, f.k, p, static_cast<uint64_t>(addr), true, 0x77).error == 0);  // faulted again
    CHECK(has_note(f.ex, "Retrying PF"));
    // nth 1: __do_fault() fails before ->fault, which runs only on the
    // retry; nth 2: vfio's handler runs twice, its vmf_insert_pfn() failing
    // the first time.
    const auto handlers = std::count(f.ex.calls.begin(), f.ex.calls.end(), "vfio_pci_mmap_huge_fault");
    CHECK(handlers == nth);
    CHECK(f.k.phys_read(0xd0000, 0) == 0x77);
    CHECK(f.ex.findings.empty());
  }
}

TEST_CASE("fault site iommu_map: iommufd's map of a dma-buf is undone in full", "[faults][iommufd]") {
  VfioExport f;
  const int refs = f.b->f_count;
  f.k.inject_failure("iommu_map", 1);
  IommufdDmabufPages pages;
  pages.dev = "gpu0";
  CHECK(iommufd_ioas_map_dmabuf(f.ex, f.k, pages, *f.b) == -12);
  CHECK(f.b->attachments.empty());  // detached
  CHECK(f.b->f_count == refs);      // the reference dma_buf_get() took is dropped
  CHECK(iommufd_device_dma_write(f.ex, f.k, pages, 1, 1000) == -22);  // no mapping
  REQUIRE(iommufd_ioas_map_dmabuf(f.ex, f.k, pages, *f.b) == 0);     // the slot is free again
  CHECK(pages.mapped);
  CHECK(f.ex.findings.empty());
}

TEST_CASE("iommufd: a revoke between the range query and the fill leaves the map empty but successful",
          "[iommufd]") {
  VfioExport f;
  IommufdDmabufPages pages;
  pages.dev = "gpu0";
  SerialExec other(1, 1, "vmm2");
  f.ex.on_pp = [&](const std::string& point) {
    if (point == "iopt_map_pages:before_fill")
      REQUIRE(vfio_pci_write_command_memory(other, f.k, *f.v, false) == 0);  // revokes every dma-buf
  };
  CHECK(iommufd_ioas_map_dmabuf(f.ex, f.k, pages, *f.b) == 0);
  f.ex.on_pp = nullptr;
  CHECK_FALSE(pages.mapped);  // iopt_area_fill_domains() saw it revoked
  CHECK(pages.len == 0);
  CHECK(iommufd_device_dma_write(f.ex, f.k, pages, 1, 1000) == -14);  // blocked at the IOMMU
  CHECK(iommufd_ioas_map_dmabuf(f.ex, f.k, pages, *f.b) == -16);  // the model's one map per device
  iommufd_ioas_unmap(f.ex, f.k, pages);
  CHECK(f.b->attachments.empty());
  CHECK(f.ex.findings.empty());
  CHECK(other.findings.empty());
}

TEST_CASE("fault site gen_pool_add_owner: the probe's error path, then the unbind", "[faults][p2pdma]") {
  for (const char* preset : {"v6.2", "v6.15", "latest"}) {
    INFO(preset);
    const bool freed_arg = std::string(preset) == "latest";  // 6.19 on: the action gets the pgmap
    Kernel k(find_preset(preset)->knobs, default_costs(), 2);
    SerialExec boot;
    auto pr = std::make_unique<P2pdmaProvider>();
    pr->name = "0000:03:00.0";
    pr->bar_phys = 0xe0000000;
    pr->bar_size = 16 * PAGE_SIZE;
    P2pdmaProvider& prov = *pr;
    k.providers.push_back(std::move(pr));
    k.inject_failure("gen_pool_add_owner", 1);
    CHECK(pci_p2pdma_add_resource(boot, k, prov, 0, 0) == -12);
    CHECK(boot.findings.empty());
    REQUIRE(prov.p2pdma);  // pdev->p2pdma stays, with an empty pool
    CHECK(prov.storage->pool.avail() == 0);
    CHECK(prov.pgmaps.empty());
    REQUIRE(k.pgmaps.size() == 1);
    CHECK(k.pgmaps[0]->removed);  // devm_memunmap_pages() ran at once
    CHECK(k.pgmaps[0]->freed);
    CHECK(k.pfn_to_page(0xe0000) == nullptr);
    std::vector<std::string> actions;
    for (const auto& [name, fn] : prov.devm_actions) actions.push_back(name);
    CHECK(std::count(actions.begin(), actions.end(), "memunmap_pages") == 0);
    CHECK(std::count(actions.begin(), actions.end(), "pci_p2pdma_unmap_mappings") == 1);
    SerialExec ex(0, 1, "p1");
    int ferr = 0;
    auto file = p2pmem_open(ex, k, prov, ferr);
    REQUIRE(file);  // p2pmem/allocate is still there
    CHECK(do_mmap(ex, k, k.process(1, "p1"), file, PAGE_SIZE, true, true, 0) == -12);  // the pool is empty
    file.reset();
    SerialExec admin(1, 0, "admin");
    device_release_driver(admin, k, prov);
    CHECK(admin.has_finding(FindingKind::use_after_free) == freed_arg);
  }
}
