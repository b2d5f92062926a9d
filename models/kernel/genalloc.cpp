// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/genalloc.h"

#include <cstdio>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/kernel_bug.h"

namespace p2psim::kern {

namespace {

constexpr unsigned long kBpl = kGenPoolBitsPerLong;

// include/linux/bitops.h:BIT_WORD(): index of the word holding bit nr.
constexpr unsigned long bit_word(unsigned long nr) { return nr / kBpl; }
// include/linux/bitmap.h:BITMAP_FIRST_WORD_MASK(): bits >= start within its word.
constexpr unsigned long first_word_mask(unsigned long start) { return ~0UL << (start & (kBpl - 1)); }
// include/linux/bitmap.h:BITMAP_LAST_WORD_MASK(): bits < nbits within the last word
// (all bits when nbits is a multiple of the word size).
constexpr unsigned long last_word_mask(unsigned long nbits) { return ~0UL >> (-nbits & (kBpl - 1)); }

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

// Concatenates its arguments with operator<< (messages for KernelBug/ModelBug).
template <typename... Args>
std::string msg(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// Word `idx` of a chunk's bitmap, or nullptr past its end. The kernel's
// bitmap_clear_ll() can be asked (by a free whose rounded-up size runs into
// the chunk's tail bytes) to look at the word just past the bitmap; there it
// reads the zeroed slack of the vzalloc'd allocation. The model treats such a
// word as zero and never writes it.
unsigned long* word_at(std::vector<unsigned long>& bits, unsigned long idx) {
  return idx < bits.size() ? &bits[idx] : nullptr;
}

// models lib/genalloc.c:set_bits_ll() as of v6.2
/**
 * set_bits_ll - set the bits of @mask in one word, all or nothing
 * @word: the word (nullptr: past the bitmap, reads as zero)
 * @mask: bits to set
 *
 * Fails (returns false, word unchanged) if any bit of @mask is already set.
 * The kernel retries its cmpxchg on contention; with one task there is none.
 */
bool set_bits_ll(unsigned long* word, unsigned long mask) {
  const unsigned long val = word ? *word : 0UL;
  if (val & mask) return false;
  if (!word) throw ModelBug("genalloc: bitmap_set_ll would write past the chunk bitmap");
  *word = val | mask;
  return true;
}

// models lib/genalloc.c:clear_bits_ll() as of v6.2
/**
 * clear_bits_ll - clear the bits of @mask in one word, all or nothing
 * @word: the word (nullptr: past the bitmap, reads as zero)
 * @mask: bits to clear
 *
 * Fails (returns false, word unchanged) unless every bit of @mask is set.
 */
bool clear_bits_ll(unsigned long* word, unsigned long mask) {
  const unsigned long val = word ? *word : 0UL;
  if ((val & mask) != mask) return false;
  *word = val & ~mask;  // mask != 0 here, so word is non-null
  return true;
}

}  // namespace

namespace genalloc_detail {

// models lib/find_bit.c:find_next_zero_bit() as of v6.2
/**
 * find_next_zero_bit - index of the first clear bit in [@offset, @size)
 * @map: the bitmap
 * @size: bitmap size in bits; only words below it are read
 * @offset: bit to start at
 *
 * Returns @size when every bit in range is set or @offset >= @size.
 */
unsigned long find_next_zero_bit(const unsigned long* map, unsigned long size, unsigned long offset) {
  if (offset >= size) return size;
  unsigned long idx = bit_word(offset);
  unsigned long zeros = ~map[idx] & first_word_mask(offset);
  while (zeros == 0) {
    ++idx;
    if (idx * kBpl >= size) return size;
    zeros = ~map[idx];
  }
  const unsigned long found = idx * kBpl + static_cast<unsigned long>(__builtin_ctzl(zeros));
  return found < size ? found : size;
}

// models lib/find_bit.c:find_next_bit() as of v6.2
/**
 * find_next_bit - index of the first set bit in [@offset, @size)
 * @map: the bitmap
 * @size: bitmap size in bits; only words below it are read
 * @offset: bit to start at
 *
 * Returns @size when no bit in range is set or @offset >= @size.
 */
unsigned long find_next_bit(const unsigned long* map, unsigned long size, unsigned long offset) {
  if (offset >= size) return size;
  unsigned long idx = bit_word(offset);
  unsigned long ones = map[idx] & first_word_mask(offset);
  while (ones == 0) {
    ++idx;
    if (idx * kBpl >= size) return size;
    ones = map[idx];
  }
  const unsigned long found = idx * kBpl + static_cast<unsigned long>(__builtin_ctzl(ones));
  return found < size ? found : size;
}

// models lib/bitmap.c:bitmap_find_next_zero_area_off() as of v6.2
/**
 * bitmap_find_next_zero_area_off - first run of @nr clear bits
 * @map: the bitmap
 * @size: bitmap size in bits
 * @start: bit to start searching at
 * @nr: run length wanted
 * @align_mask: run start + @align_offset must be a multiple of @align_mask + 1
 * @align_offset: see @align_mask
 *
 * Take the next clear bit from @start, align it, and see whether the @nr bits
 * from there are all clear; if one is set, search again just past it. Returns
 * the run's first bit, or, when the candidate run would cross @size, its end
 * (index + nr, which is > @size) - callers treat anything >= @size as failure.
 */
unsigned long bitmap_find_next_zero_area_off(const unsigned long* map, unsigned long size,
                                             unsigned long start, unsigned int nr,
                                             unsigned long align_mask, unsigned long align_offset) {
  for (;;) {
    unsigned long index = find_next_zero_bit(map, size, start);
    // __ALIGN_MASK(index + align_offset, align_mask) - align_offset; unsigned wrap as in C.
    index = ((index + align_offset + align_mask) & ~align_mask) - align_offset;
    const unsigned long end = index + nr;
    if (end > size) return end;
    const unsigned long busy = find_next_bit(map, end, index);
    if (busy >= end) return index;
    start = busy + 1;
  }
}

}  // namespace genalloc_detail

// models lib/genalloc.c:bitmap_set_ll() as of v6.2
/**
 * bitmap_set_ll - set @nr bits from @start, word by word
 * @chunk: chunk whose bitmap to change
 * @start: first bit
 * @nr: number of bits
 *
 * Walks the words the range covers: a partial first word, whole middle words,
 * a partial last word. Stops at the first word in which some wanted bit is
 * already set, leaving the earlier words set, and returns how many bits of the
 * range were still to do when it stopped (counted from the start of that
 * word's share); 0 on success.
 */
unsigned long GenPool::bitmap_set_ll(Chunk& chunk, unsigned long start, unsigned long nr) {
  unsigned long idx = bit_word(start);
  const unsigned long size = start + nr;
  unsigned long bits_in_word = kBpl - (start % kBpl);
  unsigned long mask = first_word_mask(start);

  while (nr >= bits_in_word) {
    if (!set_bits_ll(word_at(chunk.bits, idx), mask)) return nr;
    nr -= bits_in_word;
    bits_in_word = kBpl;
    mask = ~0UL;
    ++idx;
  }
  if (nr != 0) {
    mask &= last_word_mask(size);
    if (!set_bits_ll(word_at(chunk.bits, idx), mask)) return nr;
  }
  return 0;
}

// models lib/genalloc.c:bitmap_clear_ll() as of v6.2
/**
 * bitmap_clear_ll - clear @nr bits from @start, word by word
 * @chunk: chunk whose bitmap to change
 * @start: first bit
 * @nr: number of bits
 *
 * Mirror image of bitmap_set_ll(): stops at the first word in which some bit
 * of the range is already clear (that word is left as it was, earlier words
 * stay cleared) and returns the bits still to do; 0 on success.
 */
unsigned long GenPool::bitmap_clear_ll(Chunk& chunk, unsigned long start, unsigned long nr) {
  unsigned long idx = bit_word(start);
  const unsigned long size = start + nr;
  unsigned long bits_in_word = kBpl - (start % kBpl);
  unsigned long mask = first_word_mask(start);

  while (nr >= bits_in_word) {
    if (!clear_bits_ll(word_at(chunk.bits, idx), mask)) return nr;
    nr -= bits_in_word;
    bits_in_word = kBpl;
    mask = ~0UL;
    ++idx;
  }
  if (nr != 0) {
    mask &= last_word_mask(size);
    if (!clear_bits_ll(word_at(chunk.bits, idx), mask)) return nr;
  }
  return 0;
}

// models lib/genalloc.c:gen_pool_create() as of v6.2
/**
 * GenPool - gen_pool_create(): a pool with no chunks
 * @min_alloc_order: log2 of the bytes each bitmap bit stands for
 *
 * The kernel can fail the kmalloc of the pool and return NULL; constructing
 * the model object cannot fail that way. The algorithm is gen_pool_first_fit.
 */
GenPool::GenPool(int min_alloc_order) : min_alloc_order_(min_alloc_order) {
  if (min_alloc_order < 0 || min_alloc_order >= static_cast<int>(kBpl))
    throw ModelBug(msg("GenPool: min_alloc_order ", min_alloc_order, " out of range"));
}

GenPool::~GenPool() { dispose_all(); }

void GenPool::dispose_all() {
  chunks_.clear_and_dispose([](Chunk* c) { delete c; });
}

void GenPool::check_alive(const char* fn) const {
  if (destroyed_) throw ModelBug(msg(fn, ": gen_pool used after gen_pool_destroy"));
}

GenPool::ChunkInfo GenPool::info_of(const Chunk& chunk) {
  ChunkInfo info;
  info.start_addr = chunk.start_addr;
  info.end_addr = chunk.end_addr;
  info.phys_addr = chunk.phys_addr;
  info.avail = chunk.avail;
  info.nbits = chunk.nbits;
  info.owner = chunk.owner;
  for (unsigned long w : chunk.bits) info.set_bits += static_cast<unsigned long>(__builtin_popcountl(w));
  return info;
}

// models lib/genalloc.c:gen_pool_add_owner() as of v6.2
/**
 * add_owner - gen_pool_add_owner(): add a chunk of memory to the pool
 * @virt: virtual start address of the chunk
 * @phys: physical start address of the chunk
 * @size: bytes in the chunk
 * @owner: cookie handed back by alloc_owner()/free_owner() for this chunk
 *
 * The bitmap gets size >> min_alloc_order bits, all clear (bytes past the
 * last whole granule get no bit, yet count in avail). end_addr is
 * virt + size - 1 with unsigned wrap. The chunk goes at the head of the list.
 * Returns 0 or -ENOMEM when the chunk cannot be allocated.
 */
int GenPool::add_owner(uint64_t virt, uint64_t phys, size_t size, void* owner) {
  check_alive("gen_pool_add_owner");
  const unsigned long nbits = size >> min_alloc_order_;
  const unsigned long nwords = nbits / kBpl + (nbits % kBpl != 0);  // BITS_TO_LONGS

  if (fail_chunk_allocs_ != 0) {  // injected vzalloc_node() failure
    --fail_chunk_allocs_;
    return -kGenPoolENOMEM;
  }
  Chunk* chunk = nullptr;
  try {
    chunk = new Chunk;
    chunk->bits.assign(nwords, 0UL);
  } catch (const std::bad_alloc&) {
    delete chunk;
    return -kGenPoolENOMEM;
  } catch (const std::length_error&) {
    delete chunk;
    return -kGenPoolENOMEM;
  }

  chunk->phys_addr = phys;
  chunk->start_addr = virt;
  chunk->end_addr = virt + size - 1;
  chunk->owner = owner;
  chunk->nbits = nbits;
  chunk->avail = static_cast<int64_t>(size);

  chunks_.push_front(*chunk);  // list_add_rcu(): at the head
  return 0;
}

// models lib/genalloc.c:gen_pool_virt_to_phys() as of v6.2
/**
 * virt_to_phys - gen_pool_virt_to_phys(): physical address of @addr
 * @addr: virtual address
 *
 * The first chunk in list order whose [start_addr, end_addr] holds @addr
 * decides. Returns ~0ULL (phys_addr_t -1) when no chunk does. A chunk added
 * with add() has phys -1, so its addresses translate to (offset - 1).
 */
uint64_t GenPool::virt_to_phys(uint64_t addr) const {
  check_alive("gen_pool_virt_to_phys");
  for (const Chunk& chunk : chunks_) {
    if (addr >= chunk.start_addr && addr <= chunk.end_addr) return chunk.phys_addr + (addr - chunk.start_addr);
  }
  return ~0ULL;
}

// models lib/genalloc.c:gen_pool_destroy() as of v6.2
/**
 * destroy - gen_pool_destroy(): free every chunk, checking none is in use
 *
 * In list order: unlink the chunk, look for a set bit in its bitmap, BUG if
 * there is one, else free it. On BUG the offending chunk is already unlinked
 * (the kernel leaks it; the model frees it and records it in leaked_chunks())
 * and the chunks after it are still on the list, with the pool not freed.
 */
void GenPool::destroy() {
  check_alive("gen_pool_destroy");
  const int order = min_alloc_order_;
  while (!chunks_.empty()) {
    Chunk& chunk = chunks_.front();
    chunks_.pop_front();  // list_del()

    const unsigned long end_bit = chunk_size(chunk) >> order;
    const unsigned long bit = genalloc_detail::find_next_bit(chunk.bits.data(), end_bit, 0);  // find_first_bit
    if (bit < end_bit) {
      const ChunkInfo info = info_of(chunk);
      leaked_.push_back(info);
      delete &chunk;
      throw KernelBug(msg("gen_pool_destroy: destroy with bits set (outstanding allocation): chunk [",
                          hex(info.start_addr), ", ", hex(info.end_addr), "] has bit ", bit, " set (address ",
                          hex(info.start_addr + (static_cast<uint64_t>(bit) << order)), "), ", info.set_bits,
                          " bits set"));
    }
    delete &chunk;  // vfree()
  }
  destroyed_ = true;  // kfree(pool)
}

// models lib/genalloc.c:gen_pool_alloc_algo_owner() as of v6.2
/**
 * alloc_owner - gen_pool_alloc_algo_owner() with gen_pool_first_fit
 * @size: bytes wanted
 * @owner: if non-null, set to nullptr, then to the owner of the chunk used
 *
 * Size 0 returns 0. Otherwise nbits = size rounded up to granules; each chunk
 * in list order (newest first) is skipped when the unrounded @size exceeds its
 * avail (compared as unsigned, so a negative avail never skips), else searched
 * first-fit from bit 0. The first hit sets the bits, subtracts the rounded
 * size (nbits << order) from avail and returns start_addr + (bit << order).
 * Returns 0 when no chunk fits - indistinguishable from a hit at address 0.
 */
uint64_t GenPool::alloc_owner(size_t size, void** owner) {
  check_alive("gen_pool_alloc_algo_owner");
  const int order = min_alloc_order_;

  if (owner) *owner = nullptr;
  if (size == 0) return 0;

  const unsigned long nbits = (size + (1UL << order) - 1) >> order;
  for (Chunk& chunk : chunks_) {
    if (size > static_cast<uint64_t>(chunk.avail)) continue;  // size_t vs atomic_long_read()

    unsigned long start_bit = 0;
    const unsigned long end_bit = chunk_size(chunk) >> order;
    for (;;) {  // the kernel's retry: label
      // gen_pool_first_fit(): the algo takes nr as unsigned int.
      start_bit = genalloc_detail::bitmap_find_next_zero_area_off(chunk.bits.data(), end_bit, start_bit,
                                                                  static_cast<unsigned int>(nbits), 0, 0);
      if (start_bit >= end_bit) break;  // continue with the next chunk
      unsigned long remain = bitmap_set_ll(chunk, start_bit, nbits);
      if (remain != 0) {
        // Lost a race in the kernel; unreachable with one task but kept in order.
        remain = bitmap_clear_ll(chunk, start_bit, nbits - remain);
        if (remain != 0)
          throw KernelBug(msg("gen_pool_alloc_algo_owner: cannot undo partial bitmap_set_ll at bit ", start_bit,
                              " (address ", hex(chunk.start_addr + (static_cast<uint64_t>(start_bit) << order)),
                              ") of chunk [", hex(chunk.start_addr), ", ", hex(chunk.end_addr), "]"));
        continue;  // goto retry
      }

      const uint64_t addr = chunk.start_addr + (static_cast<uint64_t>(start_bit) << order);
      chunk.avail -= static_cast<int64_t>(nbits << order);  // atomic_long_sub(), may go negative
      if (owner) *owner = chunk.owner;
      return addr;
    }
  }
  return 0;
}

// models lib/genalloc.c:gen_pool_dma_alloc() as of v6.2
/**
 * dma_alloc - gen_pool_dma_alloc(): allocate and report the physical address
 * @size: bytes wanted
 * @dma: if non-null and the allocation succeeds, set to virt_to_phys(addr)
 *
 * Returns the virtual address, or 0 (the kernel's NULL) on failure, in which
 * case @dma is left untouched.
 */
uint64_t GenPool::dma_alloc(size_t size, uint64_t* dma) {
  const uint64_t vaddr = alloc(size);
  if (!vaddr) return 0;
  if (dma) *dma = virt_to_phys(vaddr);
  return vaddr;
}

// models lib/genalloc.c:gen_pool_free_owner() as of v6.2
/**
 * free_owner - gen_pool_free_owner(): give memory back to the pool
 * @addr: start of the memory, as alloc_owner() returned it
 * @size: bytes, as passed to alloc_owner()
 * @owner: if non-null, set to nullptr, then to the owner of the chunk
 *
 * The first chunk in list order holding @addr is used. BUG (KernelBug) when
 * addr + size - 1 is past that chunk's end (nothing changed), when
 * bitmap_clear_ll() finds a bit already clear (words before the failing one
 * stay cleared, avail is not credited, owner stays nullptr), or when no chunk
 * holds @addr. On success avail grows by the rounded size.
 */
void GenPool::free_owner(uint64_t addr, size_t size, void** owner) {
  check_alive("gen_pool_free_owner");
  const int order = min_alloc_order_;

  if (owner) *owner = nullptr;

  const unsigned long nbits = (size + (1UL << order) - 1) >> order;
  for (Chunk& chunk : chunks_) {
    if (addr >= chunk.start_addr && addr <= chunk.end_addr) {
      if (addr + size - 1 > chunk.end_addr)
        throw KernelBug(msg("gen_pool_free_owner: range leaves chunk: addr ", hex(addr), " size ", hex(size),
                            " ends at ", hex(addr + size - 1), " past chunk [", hex(chunk.start_addr), ", ",
                            hex(chunk.end_addr), "]"));
      const unsigned long start_bit = (addr - chunk.start_addr) >> order;
      const unsigned long remain = bitmap_clear_ll(chunk, start_bit, nbits);
      if (remain != 0)
        throw KernelBug(msg("gen_pool_free_owner: bits already clear (double free?) at addr ", hex(addr), " size ",
                            hex(size), ": ", remain, " of ", nbits, " bits from bit ", start_bit,
                            " not cleared in chunk [", hex(chunk.start_addr), ", ", hex(chunk.end_addr), "]"));
      chunk.avail += static_cast<int64_t>(nbits << order);  // atomic_long_add()
      if (owner) *owner = chunk.owner;
      return;
    }
  }
  throw KernelBug(msg("gen_pool_free_owner: no chunk contains addr ", hex(addr), " (size ", hex(size), ")"));
}

// models lib/genalloc.c:gen_pool_has_addr() as of v6.2
/**
 * has_addr - gen_pool_has_addr(): is [start, start+size) inside one chunk
 * @start: first byte
 * @size: bytes
 *
 * end = start + size - 1 with unsigned wrap, so size 0 asks only whether
 * start - 1 <= end_addr of a chunk holding start.
 */
bool GenPool::has_addr(uint64_t start, size_t size) const {
  check_alive("gen_pool_has_addr");
  const uint64_t end = start + size - 1;
  for (const Chunk& chunk : chunks_) {
    if (start >= chunk.start_addr && start <= chunk.end_addr) {
      if (end <= chunk.end_addr) return true;
    }
  }
  return false;
}

// models lib/genalloc.c:gen_pool_avail() as of v6.2
/**
 * avail - gen_pool_avail(): sum of every chunk's avail, as size_t
 */
size_t GenPool::avail() const {
  check_alive("gen_pool_avail");
  size_t total = 0;
  for (const Chunk& chunk : chunks_) total += static_cast<size_t>(chunk.avail);
  return total;
}

// models lib/genalloc.c:gen_pool_size() as of v6.2
/**
 * size - gen_pool_size(): sum of every chunk's end_addr - start_addr + 1
 */
size_t GenPool::size() const {
  check_alive("gen_pool_size");
  size_t total = 0;
  for (const Chunk& chunk : chunks_) total += chunk_size(chunk);
  return total;
}

// models lib/genalloc.c:gen_pool_for_each_chunk() as of v6.2
/**
 * chunks - snapshot of every chunk in list (search) order
 */
std::vector<GenPool::ChunkInfo> GenPool::chunks() const {
  std::vector<ChunkInfo> out;
  for (const Chunk& chunk : chunks_) out.push_back(info_of(chunk));
  return out;
}

bool GenPool::bit_is_set(uint64_t addr) const {
  for (const Chunk& chunk : chunks_) {
    if (addr >= chunk.start_addr && addr <= chunk.end_addr) {
      const unsigned long bit = (addr - chunk.start_addr) >> min_alloc_order_;
      if (bit >= chunk.nbits) return false;
      return (chunk.bits[bit_word(bit)] >> (bit % kBpl)) & 1UL;
    }
  }
  return false;
}

}  // namespace p2psim::kern
