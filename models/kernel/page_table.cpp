// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/page_table.h"

namespace p2psim::kern {

PteTable* PageTables::table(Pmd pmd) const {
  if (!pmd.present()) return nullptr;
  uint64_t id = pmd.table_id();
  return id == 0 || id > arena_->size() ? nullptr : (*arena_)[id - 1].get();
}

namespace {
std::vector<std::unique_ptr<PteTable>>& pte_table_pool() {
  static std::vector<std::unique_ptr<PteTable>> pool;
  return pool;
}
constexpr size_t kPoolMax = 256;  // 4 MiB of tables at most
}  // namespace

std::unique_ptr<PteTable> new_pte_table() {
  auto& pool = pte_table_pool();
  if (pool.empty()) return std::make_unique<PteTable>();
  std::unique_ptr<PteTable> t = std::move(pool.back());
  pool.pop_back();
  t->reset();
  return t;
}

void PteTable::reset() {
  for (size_t w = 0; w < installed.size(); ++w) {
    for (uint64_t bits = installed[w]; bits; bits &= bits - 1) {
      const size_t i = w * 64 + __builtin_ctzll(bits);
      ptes[i] = Pte{};
      shadow_alloc[i] = 0;
    }
    installed[w] = 0;
  }
  id = 0;
  freed = false;
}

void recycle_pte_tables(std::vector<std::unique_ptr<PteTable>>& arena) {
  auto& pool = pte_table_pool();
  for (auto& t : arena)
    if (pool.size() < kPoolMax) pool.push_back(std::move(t));
  arena.clear();
}

PteTable& PageTables::alloc_table(uint64_t addr) {
  Pmd& e = pmds_[addr >> PMD_SHIFT];
  if (PteTable* t = table(e)) return *t;
  arena_->push_back(new_pte_table());
  PteTable& t = *arena_->back();
  t.id = arena_->size();
  e.val = (t.id << 12) | 1;
  return t;
}

PteTable* PageTables::clear_pmd(uint64_t addr) {
  auto it = pmds_.find(addr >> PMD_SHIFT);
  if (it == pmds_.end()) return nullptr;
  PteTable* t = table(it->second);
  pmds_.erase(it);
  return t;
}

}  // namespace p2psim::kern
