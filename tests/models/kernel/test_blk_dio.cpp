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
  uint32_t max_sectors() const override { return max_sectors_; }
  int submit(Exec&, Kernel&, Bio& bio) override {
    vecs = bio.vecs;
    for (const auto& v : bio.vecs) refs_during.push_back(v.page->refcount);
    submitted.push_back({bio.sector, bio.size, bio.vecs.empty() ? 0 : bio.vecs[0].page->pfn,
                         bio.vecs.empty() ? 0U : bio.vecs[0].offset});
    const size_t n = submitted.size() - 1;
    if (n < fail_submit.size() && fail_submit[n]) return fail_submit[n];
    bio.status = n < fail_status.size() ? fail_status[n] : 0;
    bio.done = true;
    return 0;
  }
  struct Seen {
    uint64_t sector, size, first_pfn;
    uint32_t first_offset;
  };
  std::vector<BioVec> vecs;
  std::vector<int> refs_during;
  std::vector<Seen> submitted;
  uint32_t max_sectors_ = 2560;
  std::vector<int> fail_submit, fail_status;  ///< per submission: errno at submit, or as completion status

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

TEST_CASE("a direct I/O above max_sectors goes out as pieces, front first, and fails as a whole", "[blk][split]") {
  KernelFixture f("v6.2");
  SerialExec ex(0, 1, "io");
  const uint64_t addr = f.map(ex, 1, 16);  // 64 KiB of contiguous p2pmem: one bvec
  SECTION("a 64 KiB read with max_sectors 32 (16 KiB): four pieces in LBA and page order") {
    FakeBlockDevice dev(true);
    dev.max_sectors_ = 32;
    CHECK(blkdev_direct_io(ex, f.k, f.proc(1), dev, addr, 16 * PAGE_SIZE, 8192, false) == 16 * int64_t(PAGE_SIZE));
    REQUIRE(dev.submitted.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      INFO("piece " << i);
      CHECK(dev.submitted[i].sector == 16 + 32 * i);
      CHECK(dev.submitted[i].size == 4 * PAGE_SIZE);
      CHECK(dev.submitted[i].first_pfn == f.page(4 * static_cast<int>(i)).pfn);
      CHECK(dev.submitted[i].first_offset == 0);
    }
    CHECK(f.page(0).refcount == 1);  // references dropped once, after every piece
  }
  SECTION("a cut inside a page: the next piece starts at that offset of the same page") {
    FakeBlockDevice dev(true);
    dev.max_sectors_ = 3;  // 1536 bytes
    CHECK(blkdev_direct_io(ex, f.k, f.proc(1), dev, addr + 512, 4096, 0, true) == 4096);
    REQUIRE(dev.submitted.size() == 3);
    CHECK(dev.submitted[0].size == 1536);
    CHECK(dev.submitted[0].first_offset == 512);
    CHECK(dev.submitted[1].first_pfn == f.page(0).pfn);
    CHECK(dev.submitted[1].first_offset == 2048);
    CHECK(dev.submitted[2].first_pfn == f.page(0).pfn);  // 512 + 2 x 1536: still in page 0
    CHECK(dev.submitted[2].first_offset == 3584);
    CHECK(dev.submitted[2].size == 1024);
  }
  SECTION("a failed piece fails the whole I/O; the last piece's error wins over an earlier one's") {
    FakeBlockDevice dev(true);
    dev.max_sectors_ = 32;
    dev.fail_status = {0, -5, 0, 0};
    CHECK(blkdev_direct_io(ex, f.k, f.proc(1), dev, addr, 16 * PAGE_SIZE, 0, false) == -5);
    CHECK(dev.submitted.size() == 4);  // the other pieces still went out
    FakeBlockDevice tail(true);
    tail.max_sectors_ = 32;
    tail.fail_status = {0, -5, 0, -121};
    CHECK(blkdev_direct_io(ex, f.k, f.proc(1), tail, addr, 16 * PAGE_SIZE, 0, false) == -121);
    FakeBlockDevice refused(true);
    refused.max_sectors_ = 32;
    refused.fail_submit = {0, 0, -12};
    CHECK(blkdev_direct_io(ex, f.k, f.proc(1), refused, addr, 16 * PAGE_SIZE, 0, false) == -12);
    CHECK(f.page(0).refcount == 1);
  }
}
