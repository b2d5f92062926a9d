// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/page_alloc.h"

#include <algorithm>
#include <functional>

#include "common/kernel_bug.h"

namespace p2psim::kern {

Page* RamPages::alloc() {
  uint64_t pfn;
  if (!free_.empty()) {
    pfn = free_.back();
    free_.pop_back();
  } else if (next_ < nr_) {
    pfn = base_ + next_++;
    auto p = std::make_unique<Page>();
    p->pfn = pfn;
    pages_.emplace(pfn, std::move(p));
  } else {
    return nullptr;
  }
  Page& page = *pages_.at(pfn);
  if (page.refcount != 0) throw ModelBug("RamPages::alloc: a free page with a nonzero count");
  page.refcount = 1;  // post_alloc_hook(): set_page_refcounted()
  page.mapcount = 0;
  ++allocated_;  // the oracle tags the page when its user maps it (Oracle::on_alloc)
  return &page;
}

void RamPages::free(Page& page) {
  if (page.refcount != 0) throw ModelBug("RamPages::free: freeing a page still referenced");
  free_.insert(std::upper_bound(free_.begin(), free_.end(), page.pfn, std::greater<uint64_t>()), page.pfn);
  --allocated_;
}

}  // namespace p2psim::kern
