// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/blk.h"

#include <algorithm>

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

// models block/blk-merge.c:__bio_split_to_limits() -> bio_split_rw() ->
// bio_split() + bio_chain() as of v6.2, for the limit that matters to a
// contiguous buffer, max_sectors (get_max_io_size(): rounded down to the
// block size, which the model's drives report as both logical and
// physical). Each front piece is a clone over the same pages, submitted
// before the remainder is split again.
std::vector<Bio> bio_split_to_limits(Kernel& k, const Bio& bio, uint64_t max_bytes) {
  if (bio.size <= max_bytes) return {bio};
  std::vector<Bio> pieces;
  size_t v = 0;
  uint64_t in_vec = 0;  // bytes of bio.vecs[v] already in earlier pieces
  for (uint64_t done = 0; done < bio.size;) {
    Bio piece;
    piece.write = bio.write;
    piece.sector = bio.sector + done / 512;
    piece.id = bio.id;
    const uint64_t want = std::min<uint64_t>(max_bytes, bio.size - done);
    while (piece.size < want) {
      const BioVec& bv = bio.vecs[v];
      const uint64_t take = std::min<uint64_t>(bv.len - in_vec, want - piece.size);
      const uint64_t start = bv.offset + in_vec;  // from the bvec's first page
      Page* page = start / PAGE_SIZE ? k.pfn_to_page(bv.page->pfn + start / PAGE_SIZE) : bv.page;
      piece.vecs.push_back({page, static_cast<uint32_t>(start % PAGE_SIZE), static_cast<uint32_t>(take),
                            bv.shadow_alloc});
      piece.size += take;
      in_vec += take;
      if (in_vec == bv.len) ++v, in_vec = 0;
    }
    done += piece.size;
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

// models block/fops.c:__blkdev_direct_IO_simple() with
// block/bio.c:__bio_iov_iter_get_pages() as of v6.2: get the user pages
// (P2PDMA pages only if the queue supports them), build the bio, submit and
// wait, then drop the page references (FOLL_GET until v6.5 moved bios to
// FOLL_PIN; the knob dio_pins_pages selects).
int64_t blkdev_direct_io(Exec& ex, Kernel& k, Process& proc, BlockDevice& dev, uint64_t addr, uint64_t len,
                         uint64_t pos, bool write) {
  // blkdev_write_iter() / blkdev_read_iter() as of v6.2: against the size
  // the device has now, a write at or past the end is -ENOSPC, a read there
  // returns 0, and either is cut at the end.
  const uint64_t size = dev.nr_bytes();
  if (len && pos >= size) return write ? -28 : 0;  // -ENOSPC
  len = std::min(len, size - pos);
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
  // submit_bio(): a bio above the queue's max_sectors goes out as chained
  // pieces, front first; one that fails to start ends with its error.
  std::vector<Bio> pieces =
      bio_split_to_limits(k, bio, static_cast<uint64_t>(dev.max_sectors()) * 512 / dev.logical_block_size() *
                                      dev.logical_block_size());
  for (Bio& piece : pieces)
    if (const int err = dev.submit(ex, k, piece)) {
      piece.status = err;
      piece.done = true;
    }
  if (std::any_of(pieces.begin(), pieces.end(), [](const Bio& b) { return !b.done; })) {
    KFUNC(ex, "submit_bio_wait");
    std::vector<Bio>* ps = &pieces;
    ex.wait_event([ps] { return std::all_of(ps->begin(), ps->end(), [](const Bio& b) { return b.done; }); },
                  "submit_bio_wait: wait_for_completion_io");
  }
  // __bio_chain_endio(): a child's error reaches the parent unless it has
  // one; the parent's own (the last piece's) error overwrites it.
  int status = pieces.back().status;
  for (const Bio& piece : pieces)
    if (!status && piece.status) status = piece.status;
  if (status) ret = status;
  ex.pp("blkdev_direct_io:before_release_pages");
  KFUNC(ex, "bio_release_pages");
  for (const GupPage& gp : pages) gup_release_page(ex, k, gp, base);
  return ret;
}

}  // namespace p2psim::kern
