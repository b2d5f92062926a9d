// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "kernel/page.h"

namespace p2psim::kern {

/**
 * struct Pte - an x86-64 page-table entry, bit-exact
 * (arch/x86/include/asm/pgtable_types.h as of v6.2).
 */
struct Pte {
  uint64_t val = 0;

  static constexpr uint64_t PRESENT = 1ULL << 0;   // _PAGE_BIT_PRESENT
  static constexpr uint64_t RW = 1ULL << 1;        // _PAGE_BIT_RW
  static constexpr uint64_t USER = 1ULL << 2;      // _PAGE_BIT_USER
  static constexpr uint64_t ACCESSED = 1ULL << 5;  // _PAGE_BIT_ACCESSED
  static constexpr uint64_t DIRTY = 1ULL << 6;     // _PAGE_BIT_DIRTY
  static constexpr uint64_t SPECIAL = 1ULL << 9;   // _PAGE_BIT_SPECIAL = _PAGE_BIT_SOFTW1
  static constexpr uint64_t DEVMAP = 1ULL << 58;   // _PAGE_BIT_DEVMAP = _PAGE_BIT_SOFTW4
  static constexpr uint64_t PFN_MASK = ((1ULL << 52) - 1) & ~((1ULL << 12) - 1);  // bits 12..51

  bool present() const { return val & PRESENT; }
  bool write() const { return val & RW; }
  bool dirty() const { return val & DIRTY; }
  bool special() const { return val & SPECIAL; }
  bool devmap() const { return val & DEVMAP; }
  uint64_t pfn() const { return (val & PFN_MASK) >> 12; }
  static Pte make(uint64_t pfn, bool writable) {
    return Pte{((pfn << 12) & PFN_MASK) | PRESENT | USER | (writable ? RW : 0)};
  }
  /// x86 pte_mkdevmap() sets both _PAGE_SPECIAL and _PAGE_DEVMAP.
  Pte mkdevmap() const { return Pte{val | SPECIAL | DEVMAP}; }
  bool operator==(const Pte& o) const { return val == o.val; }
  bool operator!=(const Pte& o) const { return val != o.val; }
};
static_assert(sizeof(Pte) == 8, "x86-64 PTE is 64 bits");
static_assert(Pte::PFN_MASK == 0x000ffffffffff000ULL, "PTE_PFN_MASK for 52-bit physical");

constexpr int PTRS_PER_PTE = 512;
constexpr int PMD_SHIFT = 21;

/**
 * struct PteTable - one page of PTEs. Tables are never deleted while an
 * execution runs, so a walker that reads a freed one is seen, not a crash.
 * @shadow_alloc: per entry, the allocation its installer mapped (oracle).
 */
struct PteTable {
  uint64_t id = 0;
  bool freed = false;
  std::array<Pte, PTRS_PER_PTE> ptes{};
  std::array<uint64_t, PTRS_PER_PTE> shadow_alloc{};
  /// Entries ever installed (set_pte()); only they can be non-zero, so
  /// reuse clears those instead of 16 KiB, which evicted the L1 cache.
  std::array<uint64_t, PTRS_PER_PTE / 64> installed{};

  void mark_installed(int idx) { installed[idx / 64] |= 1ULL << (idx % 64); }

  /// Back to a new table's state: no entry, no id, not freed.
  void reset();
};

/// The PMD entry that points at a PTE table: table id in the PFN field.
struct Pmd {
  uint64_t val = 0;
  bool present() const { return val & 1; }
  uint64_t table_id() const { return val >> 12; }
  bool operator==(const Pmd& o) const { return val == o.val; }
  bool operator!=(const Pmd& o) const { return val != o.val; }
};
static_assert(sizeof(Pmd) == 8, "PMD entry is 64 bits");

/// A zeroed PTE table, reused from an earlier execution when one is free:
/// tables are 16 KiB, and allocating a few per execution made the C
/// library consolidate its small-chunk bins every time. Not thread-safe
/// (a process runs one execution at a time).
std::unique_ptr<PteTable> new_pte_table();
/// Give an execution's tables back for reuse (Kernel's destructor).
void recycle_pte_tables(std::vector<std::unique_ptr<PteTable>>& arena);

/**
 * class PageTables - the part of an mm's page tables below the PMD level.
 * Upper levels are always present in the model; nothing the scenarios
 * exercise frees them.
 */
class PageTables {
 public:
  explicit PageTables(std::vector<std::unique_ptr<PteTable>>* arena) : arena_(arena) {}

  Pmd pmd(uint64_t addr) const {
    auto it = pmds_.find(addr >> PMD_SHIFT);
    return it == pmds_.end() ? Pmd{} : it->second;
  }
  /// The PTE table a PMD value points at (may be a freed one), or null.
  PteTable* table(Pmd pmd) const;
  /// pte_alloc(): the table for @addr, allocated on first use.
  PteTable& alloc_table(uint64_t addr);
  /// Clear the PMD (free_pte_range); returns the table to be freed.
  PteTable* clear_pmd(uint64_t addr);
  static int pte_index(uint64_t addr) { return (addr >> 12) & (PTRS_PER_PTE - 1); }

 private:
  std::vector<std::unique_ptr<PteTable>>* arena_;
  std::map<uint64_t, Pmd> pmds_;  // keyed by addr >> PMD_SHIFT
};

}  // namespace p2psim::kern
