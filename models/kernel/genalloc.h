// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// A bit-exact model of the kernel's general purpose special-memory allocator,
// lib/genalloc.c as of v6.2, the allocator behind pci_alloc_p2pmem().
//
// The model keeps the kernel's data layout where it decides outcomes:
//  - each chunk holds a bitmap of `size >> min_alloc_order` bits packed in
//    unsigned long words (bit i lives in word i / BITS_PER_LONG), and a signed
//    `avail` byte counter (the kernel's atomic_long_t);
//  - chunks sit on a list and new chunks go at the head (list_add_rcu), so the
//    most recently added chunk is searched first;
//  - the set/clear of a bit range goes word by word and stops at the first
//    word that is not entirely in the expected state, leaving earlier words
//    changed (bitmap_set_ll/bitmap_clear_ll), so the state after a BUG is the
//    state the kernel would be left in.
// There is no concurrency here: the cmpxchg retry loops collapse to one
// attempt, which is what they do when uncontended.
#pragma once

#include <boost/intrusive/list.hpp>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace p2psim::kern {

// The simulated kernel is 64-bit (x86_64/arm64): unsigned long and the
// addresses the pool hands out are 64 bits wide.
static_assert(sizeof(unsigned long) * CHAR_BIT == 64, "the model assumes an LP64 host");

/// Bits in one bitmap word, as the kernel's BITS_PER_LONG.
inline constexpr unsigned long kGenPoolBitsPerLong = sizeof(unsigned long) * CHAR_BIT;

/// errno value returned (negated) by GenPool::add_owner when the chunk cannot be allocated.
inline constexpr int kGenPoolENOMEM = 12;

namespace genalloc_detail {

// Bitmap helpers used by genalloc, with the kernel's semantics (lib/find_bit.c,
// lib/bitmap.c). Kept in a detail namespace so a separate port of lib/bitmap.c
// can live beside them. `size` and all indices are in bits.

/// First zero bit at index >= offset and < size; size when there is none.
unsigned long find_next_zero_bit(const unsigned long* map, unsigned long size, unsigned long offset);
/// First set bit at index >= offset and < size; size when there is none.
unsigned long find_next_bit(const unsigned long* map, unsigned long size, unsigned long offset);
/// lib/bitmap.c:bitmap_find_next_zero_area_off(): the start of the first run of
/// nr zero bits at or after start (aligned per align_mask/align_offset), or a
/// value greater than size (the would-be end of the run) when none fits.
unsigned long bitmap_find_next_zero_area_off(const unsigned long* map, unsigned long size,
                                             unsigned long start, unsigned int nr,
                                             unsigned long align_mask, unsigned long align_offset);

}  // namespace genalloc_detail

/**
 * GenPool - struct gen_pool: a list of chunks of special memory, each managed
 * by a bitmap whose bits stand for 2^min_alloc_order bytes. Allocation is
 * gen_pool_first_fit (the default pool->algo).
 *
 * Not thread-safe; the simulator runs kernel code one task at a time.
 * BUG()/BUG_ON() become p2psim::KernelBug. Using the pool after a successful
 * destroy() is a p2psim::ModelBug (in the kernel it is a use after free).
 */
class GenPool {
 public:
  /// Snapshot of one chunk, for tests and oracles (struct gen_pool_chunk).
  struct ChunkInfo {
    uint64_t start_addr = 0;  ///< first byte (virtual address)
    uint64_t end_addr = 0;    ///< last byte, inclusive: start_addr + size - 1
    uint64_t phys_addr = 0;   ///< physical address of start_addr
    int64_t avail = 0;        ///< bytes the chunk believes are free (signed, as atomic_long_t)
    unsigned long nbits = 0;  ///< bits in the bitmap: size >> min_alloc_order
    unsigned long set_bits = 0;  ///< bits currently set in the bitmap
    void* owner = nullptr;    ///< owner cookie given to add_owner()
  };

  /// gen_pool_create(min_alloc_order, nid): an empty pool.
  explicit GenPool(int min_alloc_order);
  /// Frees every chunk without the outstanding-allocation check (use destroy() for that).
  ~GenPool();
  GenPool(const GenPool&) = delete;
  GenPool& operator=(const GenPool&) = delete;

  /// gen_pool_add_owner(): add [virt, virt+size) at phys with an owner cookie.
  /// Returns 0, or -kGenPoolENOMEM when the chunk/bitmap cannot be allocated.
  int add_owner(uint64_t virt, uint64_t phys, size_t size, void* owner);
  /// gen_pool_add_virt(): add_owner with no owner.
  int add_virt(uint64_t virt, uint64_t phys, size_t size) { return add_owner(virt, phys, size, nullptr); }
  /// gen_pool_add(): add_virt with phys = -1 (no physical address known).
  int add(uint64_t virt, size_t size) { return add_virt(virt, ~0ULL, size); }

  /// gen_pool_alloc_algo_owner() with gen_pool_first_fit. Returns the address or
  /// 0 on failure (and for size 0). *owner (if given) gets the chunk's owner, or
  /// nullptr on failure.
  uint64_t alloc_owner(size_t size, void** owner);
  /// gen_pool_alloc(): alloc_owner without the owner.
  uint64_t alloc(size_t size) { return alloc_owner(size, nullptr); }
  /// gen_pool_dma_alloc(): alloc(), then *dma = virt_to_phys(addr) on success.
  /// Returns the virtual address or 0.
  uint64_t dma_alloc(size_t size, uint64_t* dma);

  /// gen_pool_free_owner(): give back [addr, addr+size). *owner (if given) gets
  /// the chunk's owner, or stays nullptr if a BUG fires. Throws KernelBug when
  /// the range leaves its chunk, no chunk holds addr, or a bit is already clear.
  void free_owner(uint64_t addr, size_t size, void** owner);
  /// gen_pool_free(): free_owner without the owner.
  void free(uint64_t addr, size_t size) { free_owner(addr, size, nullptr); }

  /// gen_pool_virt_to_phys(): physical address of addr, or ~0ULL (-1) if no chunk holds it.
  uint64_t virt_to_phys(uint64_t addr) const;
  /// gen_pool_has_addr(): whether [start, start+size) lies inside one chunk.
  bool has_addr(uint64_t start, size_t size) const;
  /// gen_pool_avail(): sum of the chunks' avail (wraps as size_t, as the kernel's does).
  size_t avail() const;
  /// gen_pool_size(): sum of the chunks' sizes.
  size_t size() const;

  /// gen_pool_destroy(): unlink and free each chunk in list order; throws
  /// KernelBug at the first chunk with a bit still set. That chunk is then off
  /// the list (the kernel leaks it; the model frees it and records it in
  /// leaked_chunks()); the chunks after it stay on the list.
  void destroy();

  int min_alloc_order() const { return min_alloc_order_; }

  // --- introspection for tests and oracles -------------------------------

  /// Chunks in search order (newest first), as gen_pool_for_each_chunk() visits them.
  std::vector<ChunkInfo> chunks() const;
  /// Whether the bit covering addr is set, in the first chunk (search order)
  /// holding addr. False when no chunk holds addr or addr lies in the chunk's
  /// tail bytes that have no bit (size not a multiple of the granule).
  bool bit_is_set(uint64_t addr) const;
  /// Chunks a BUGging destroy() took off the list without freeing (in the kernel: leaked).
  const std::vector<ChunkInfo>& leaked_chunks() const { return leaked_; }
  /// True once destroy() has completed.
  bool destroyed() const { return destroyed_; }

  // --- fault injection -----------------------------------------------------

  /// Make the next n add_owner() calls fail as if vzalloc_node() returned NULL.
  void fail_next_chunk_allocs(unsigned n) { fail_chunk_allocs_ = n; }

 private:
  struct Chunk : boost::intrusive::list_base_hook<> {
    uint64_t phys_addr = 0;
    uint64_t start_addr = 0;
    uint64_t end_addr = 0;
    int64_t avail = 0;
    void* owner = nullptr;
    unsigned long nbits = 0;
    std::vector<unsigned long> bits;
  };
  using ChunkList = boost::intrusive::list<Chunk>;

  static uint64_t chunk_size(const Chunk& chunk) { return chunk.end_addr - chunk.start_addr + 1; }
  static ChunkInfo info_of(const Chunk& chunk);
  static unsigned long bitmap_set_ll(Chunk& chunk, unsigned long start, unsigned long nr);
  static unsigned long bitmap_clear_ll(Chunk& chunk, unsigned long start, unsigned long nr);
  void check_alive(const char* fn) const;
  void dispose_all();

  ChunkList chunks_;
  int min_alloc_order_;
  bool destroyed_ = false;
  unsigned fail_chunk_allocs_ = 0;
  std::vector<ChunkInfo> leaked_;
};

}  // namespace p2psim::kern
