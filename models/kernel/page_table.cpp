// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/page_table.h"

namespace p2psim::kern {

PteTable* PageTables::table(Pmd pmd) const {
  if (!pmd.present()) return nullptr;
  uint64_t id = pmd.table_id();
  return id == 0 || id > arena_->size() ? nullptr : (*arena_)[id - 1].get();
}

PteTable& PageTables::alloc_table(uint64_t addr) {
  Pmd& e = pmds_[addr >> PMD_SHIFT];
  if (PteTable* t = table(e)) return *t;
  arena_->push_back(std::make_unique<PteTable>());
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
