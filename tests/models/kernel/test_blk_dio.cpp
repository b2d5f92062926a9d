// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// O_DIRECT on p2pmem (docs/fidelity.md, block and NVMe rows): P2PDMA pages only for queues that
// support them, bvecs never merged across pgmaps, page references held for
// the I/O and dropped at completion.
#include <catch2/catch.hpp>

#include "kernel/blk.h"
#include "kernel/gup.h"
#include "kernel/memory.h"
#include "support/kernel_fixture.h"

using namespace p2psim;
using namespace p2psim::kern;
using p2psim::test::KernelFixture;

namespace {
/// Completes every bio at submit time, after recording what it saw.
class FakeBlockDevice : public BlockDevice {
 public:
  explicit FakeBlockDevice(bool p2p, uint32_t lbs = 512, uint32_t dma_align = 511)
      : p2p_(p2p), lbs_(lbs), dma_align_(dma_align) {}
  const std::string& name() const override { return name_; }
  bool queue_pci_p2pdma() const override { return p2p_; }
  uint32_t logical_block_size() const override { return lbs_; }
  uint32_t dma_alignment() const override { return dma_align_; }
  int submit(Exec&, Kernel&, Bio& bio) override {
    vecs = bio.vecs;
    for (const auto& v : bio.vecs) refs_during.push_back(v.page->refcount);
    bio.done = true;
    return 0;
  }
  std::vector<BioVec> vecs;
  std::vector<int> refs_during;

 private:
  bool p2p_;
  uint32_t lbs_, dma_align_;
  std::string name_ = "fake0";
};
}  // namespace

TEST_CASE("O_DIRECT into p2pmem needs a queue that supports P2PDMA", "[blk]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "io");
  const uint64_t addr = f.map(ex, 1, 2);
  FakeBlockDevice plain(false), p2p(true);
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), plain, addr, 2 * PAGE_SIZE, 0, false) == -121);  // -EREMOTEIO
  CHECK(plain.vecs.empty());
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), p2p, addr, 2 * PAGE_SIZE, 0, false) == 2 * int64_t(PAGE_SIZE));
  // Two contiguous pages of one pgmap: one bvec.
  REQUIRE(p2p.vecs.size() == 1);
  CHECK(p2p.vecs[0].len == 2 * PAGE_SIZE);
  // FOLL_GET (v6.2): each page held one extra reference during the I/O...
  CHECK(p2p.refs_during == std::vector<int>{2});
  // ...and none after.
  CHECK(f.page(0).refcount == 1);
  CHECK(f.page(1).refcount == 1);
  CHECK(ex.findings.empty());
}

TEST_CASE("bvecs are not merged across pgmaps", "[blk]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "io");
  // A second provider right after the first in physical memory.
  auto p = std::make_unique<P2pdmaProvider>();
  p->name = "0000:04:00.0";
  p->bar_phys = 0xe0000000 + 16 * PAGE_SIZE;
  p->bar_size = 16 * PAGE_SIZE;
  REQUIRE(pci_p2pdma_add_resource(f.boot, f.k, *p, 0, 0) == 0);
  P2pdmaProvider* second = p.get();
  f.k.providers.push_back(std::move(p));
  // Map the last page of provider 1 and the first page of provider 2 back to back.
  int err = 0;
  const uint64_t a = f.map(ex, 1, 16);
  auto file2 = p2pmem_open(ex, f.k, *second, err);
  const int64_t b = do_mmap(ex, f.k, f.proc(1), file2, PAGE_SIZE, true, true, 0);
  REQUIRE(b > 0);
  FakeBlockDevice dev(true);
  // The two mappings are not adjacent in virtual memory: do two I/Os and
  // check each page's pgmap instead, then one I/O over 16 pages of one pgmap.
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), dev, a, 16 * PAGE_SIZE, 0, true) == 16 * int64_t(PAGE_SIZE));
  REQUIRE(dev.vecs.size() == 1);
  CHECK(dev.vecs[0].page->pgmap == f.prov->pgmaps[0]);
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), dev, static_cast<uint64_t>(b), PAGE_SIZE, 0, true) == int64_t(PAGE_SIZE));
  REQUIRE(dev.vecs.size() == 1);
  CHECK(dev.vecs[0].page->pgmap == second->pgmaps[0]);
  // Physically contiguous across the boundary, but different pgmaps:
  // the merge rule itself must refuse them.
  Page& last = f.page(15);
  Page& next = second->pgmaps[0]->pages[0];
  REQUIRE(last.pfn + 1 == next.pfn);
  Bio bio;
  bio_add_page(bio, {&f.page(14), 0}, PAGE_SIZE, 0);
  bio_add_page(bio, {&last, 0}, PAGE_SIZE, 0);
  CHECK(bio.vecs.size() == 1);  // same pgmap, contiguous: merged
  bio_add_page(bio, {&next, 0}, PAGE_SIZE, 0);
  CHECK(bio.vecs.size() == 2);  // contiguous, other pgmap: a new bvec
  CHECK(bio.size == 3 * PAGE_SIZE);
}

TEST_CASE("v6.15 direct I/O pins pages and unpins them", "[blk]") {
  KernelFixture f("v6.15");
  SerialExec ex(0, 1, "io");
  const uint64_t addr = f.map(ex, 1, 1);
  FakeBlockDevice dev(true);
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), dev, addr, PAGE_SIZE, 0, false) == int64_t(PAGE_SIZE));
  CHECK(dev.refs_during == std::vector<int>{1 + GUP_PIN_COUNTING_BIAS});
  CHECK(f.page(0).refcount == 1);
}

TEST_CASE("O_DIRECT alignment is the device's logical block size and DMA alignment", "[blk]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "io");
  const uint64_t addr = f.map(ex, 1, 2);
  FakeBlockDevice nvme(true, 4096, 3);  // 4 KiB LBAs; NVMe's dma_alignment is 3
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), nvme, addr, 512, 0, false) == -22);   // length
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), nvme, addr, 4096, 512, false) == -22);  // position
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), nvme, addr + 2, 4096, 0, false) == -22);  // address
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), nvme, addr + 4, 4096, 0, false) == 4096);  // 4-byte aligned is enough
  REQUIRE(nvme.vecs.size() == 1);  // crosses into the next page: contiguous, one pgmap, one bvec
  CHECK(nvme.vecs[0].offset == 4);
  CHECK(nvme.vecs[0].len == 4096);
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), nvme, addr, 0, 0, false) == 0);
  FakeBlockDevice plain(true);  // the block layer's default alignment
  CHECK(blkdev_direct_io(ex, f.k, f.proc(1), plain, addr + 4, 512, 0, false) == -22);
}
