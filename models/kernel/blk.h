// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernel/exec.h"
#include "kernel/kernel.h"

namespace p2psim::kern {

/// struct bio_vec, plus the allocation its page was pinned for (oracle).
struct BioVec {
  Page* page;
  uint32_t offset, len;
  uint64_t shadow_alloc;
};

/// struct bio, reduced to what a direct I/O needs.
struct Bio {
  bool write = false;       ///< REQ_OP_WRITE: memory -> device
  uint64_t sector = 0;      ///< 512-byte sectors
  std::vector<BioVec> vecs;
  uint64_t size = 0;        ///< bi_iter.bi_size
  bool done = false;        ///< bio_endio() ran
  int status = 0;           ///< 0 or -errno (blk_status_to_errno)
  uint64_t id = 0;
};

/**
 * class BlockDevice - a request queue and the driver behind it. The
 * hardware layer implements it (an NVMe controller on the PCIe fabric);
 * submit() maps the bio for DMA as the driver does (by P2PDMA map type for
 * P2P pages) and completes it later through bio->done from interrupt
 * context.
 */
class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  virtual const std::string& name() const = 0;
  /// blk_queue_pci_p2pdma(): the queue can DMA to and from P2PDMA pages.
  virtual bool queue_pci_p2pdma() const = 0;
  /// bdev_logical_block_size(): the unit of offsets and lengths.
  virtual uint32_t logical_block_size() const { return 512; }
  /// bdev_dma_alignment(): the mask a buffer address must clear (the block
  /// layer's default is 511; NVMe sets 3).
  virtual uint32_t dma_alignment() const { return 511; }
  /// queue_max_sectors(): the largest request in 512-byte sectors; the block
  /// layer splits a bio above it (BLK_DEF_MAX_SECTORS, 2560, by default).
  virtual uint32_t max_sectors() const { return 2560; }
  /// bdev_nr_bytes(): the capacity now (0 once the driver's removal called
  /// set_capacity(disk, 0)); no limit by default.
  virtual uint64_t nr_bytes() const { return UINT64_MAX; }
  /// Start @bio; returns 0, or -errno when mapping failed (bio not started).
  virtual int submit(Exec& ex, Kernel& k, Bio& bio) = 0;
};

struct GupPage;
/// bio_add_page() for a page GUP returned: merges into the last bvec only
/// when physically contiguous and of the same pgmap (page_is_mergeable()).
void bio_add_page(Bio& bio, const GupPage& gp, uint32_t len, uint32_t off);

/**
 * bio_split_to_limits() - what blk_mq_submit_bio() -> __bio_split_to_limits()
 * makes of @bio: pieces of at most @max_bytes (a multiple of the logical
 * block size), front first, each sharing @bio's pages; the last piece is
 * @bio's own remainder. A bio within the limit is one piece.
 */
std::vector<Bio> bio_split_to_limits(Kernel& k, const Bio& bio, uint64_t max_bytes);

/**
 * blkdev_direct_io() - an O_DIRECT read or write of @len bytes at byte
 * offset @pos of @dev from/to the user buffer at @addr in @proc.
 * Returns bytes transferred or -errno.
 */
int64_t blkdev_direct_io(Exec& ex, Kernel& k, Process& proc, BlockDevice& dev, uint64_t addr,
                         uint64_t len, uint64_t pos, bool write);

}  // namespace p2psim::kern
