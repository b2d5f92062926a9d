// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/blk.h"

#include <fmt/format.h>

#include "kernel/gup.h"

namespace p2psim::kern {

namespace {

// models include/linux/mmzone.h:zone_device_pages_have_same_pgmap() as
// used by block/bio.c:page_is_mergeable() as of v6.2: pages of different
// pgmaps never share a bvec (a bio must not mix P2P providers with RAM).
bool zone_device_pages_have_same_pgmap(const Page* a, const Page* b) {
  if ((a->pgmap != nullptr) != (b->pgmap != nullptr)) return false;
  return a->pgmap == b->pgmap;
}

}  // namespace

// models block/bio.c:bio_add_page() -> page_is_mergeable() for whole pages
// as of v6.2: physically contiguous pages of one pgmap merge into one bvec.
void bio_add_page(Bio& bio, const GupPage& gp, uint32_t len, uint32_t off) {
  if (!bio.vecs.empty()) {
    BioVec& bv = bio.vecs.back();
    const bool contiguous = bv.page->pfn + (bv.offset + bv.len) / PAGE_SIZE == gp.page->pfn &&
                            (bv.offset + bv.len) % PAGE_SIZE == 0 && off == 0;
    if (contiguous && zone_device_pages_have_same_pgmap(bv.page, gp.page) && bv.shadow_alloc == gp.shadow_alloc) {
      bv.len += len;
      bio.size += len;
      return;
    }
  }
  bio.vecs.push_back({gp.page, off, len, gp.shadow_alloc});
  bio.size += len;
}

// models block/fops.c:__blkdev_direct_IO_simple() with
// block/bio.c:__bio_iov_iter_get_pages() as of v6.2: get the user pages
// (P2PDMA pages only if the queue supports them), build the bio, submit and
// wait, then drop the page references (FOLL_GET until v6.5 moved bios to
// FOLL_PIN; the knob dio_pins_pages selects).
int64_t blkdev_direct_io(Exec& ex, Kernel& k, Process& proc, BlockDevice& dev, uint64_t addr, uint64_t len,
                         uint64_t pos, bool write) {
  KFUNC(ex, "__blkdev_direct_IO_simple");
  ex.might_sleep("__blkdev_direct_IO_simple");
  // blkdev_dio_unaligned(): the position and the length in logical blocks,
  // the address to the queue's DMA alignment.
  if ((pos | len) & (dev.logical_block_size() - 1) || (addr & dev.dma_alignment())) return -22;
  if (!len) return 0;
  const unsigned base = k.knobs.dio_pins_pages ? FOLL_PIN : FOLL_GET;
  // A read from the device writes into user memory.
  unsigned flags = base | (write ? 0 : FOLL_WRITE);
  if (dev.queue_pci_p2pdma()) flags |= FOLL_PCI_P2PDMA;  // ITER_ALLOW_P2PDMA
  const uint64_t first = addr & ~(PAGE_SIZE - 1);
  const int nr_pages = static_cast<int>((addr + len - first + PAGE_SIZE - 1) / PAGE_SIZE);
  std::vector<GupPage> pages;
  long got;
  {
    KFUNC(ex, "bio_iov_iter_get_pages");
    got = get_user_pages_fast(ex, k, proc, first, nr_pages, flags, pages);
  }
  if (got <= 0) return got < 0 ? got : -14;
  Bio bio;
  bio.write = write;
  bio.sector = pos >> 9;
  uint64_t left = len, off = addr - first;
  for (const GupPage& gp : pages) {
    if (!left) break;
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(left, PAGE_SIZE - off));
    bio_add_page(bio, gp, n, static_cast<uint32_t>(off));
    left -= n;
    off = 0;
  }
  ex.pp("blkdev_direct_io:after_get_pages");
  int64_t ret = static_cast<int64_t>(bio.size);
  int err = dev.submit(ex, k, bio);
  if (err) {
    ret = err;
  } else {
    KFUNC(ex, "submit_bio_wait");
    Bio* b = &bio;
    ex.wait_event([b] { return b->done; }, "submit_bio_wait: wait_for_completion_io");
    if (bio.status) ret = bio.status;
  }
  ex.pp("blkdev_direct_io:before_release_pages");
  KFUNC(ex, "bio_release_pages");
  for (const GupPage& gp : pages) gup_release_page(ex, k, gp, base);
  return ret;
}

}  // namespace p2psim::kern
