// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/xarray.h"

#include <fmt/format.h>


namespace p2psim::kern {

namespace {

constexpr unsigned kChunkShift = 6;  // XA_CHUNK_SHIFT

/// Levels of nodes a tree needs to hold @index (xas_max()/xas_expand()):
/// none for index 0, which lives in xa_head.
unsigned levels_for(uint64_t index) {
  unsigned levels = 0;
  for (uint64_t i = index; i; i >>= kChunkShift) ++levels;
  return levels;
}

/// The first node a store at @index lacks. A non-empty tree too short for
/// @index first grows on top (xas_expand()): each new level is a node on
/// index 0's path, holding the old head in slot 0. Then the descent
/// (xas_create()) adds the missing nodes of @index's own path. False when
/// nothing is missing.
bool missing_node(const XArray& xa, uint64_t index, std::pair<unsigned, uint64_t>* node) {
  unsigned height = 0;  // of the tree as it is: index 0 alone lives in the head
  for (const auto& [i, v] : xa.values) height = std::max(height, levels_for(i));
  const unsigned target = std::max(height, levels_for(index));
  if (!xa.values.empty())
    for (unsigned level = height; level < target; ++level) {
      const std::pair<unsigned, uint64_t> key{level * kChunkShift, 0};
      if (!xa.nodes.count(key)) {
        *node = key;
        return true;
      }
    }
  for (unsigned level = target; level-- > 0;) {
    const unsigned shift = level * kChunkShift;
    const std::pair<unsigned, uint64_t> key{shift, index >> (shift + kChunkShift)};
    if (!xa.nodes.count(key)) {
      *node = key;
      return true;
    }
  }
  return false;
}

void check_alive(Exec& ex, const XArray& xa, const char* step) {
  if (xa.freed)
    ex.report(FindingKind::use_after_free,
              fmt::format("{} on {}, whose memory was freed (a reader that slept out of its RCU read section)",
                          step, xa.name));
}

}  // namespace

// models lib/xarray.c:xa_store() -> __xa_store() -> xas_store() ->
// xas_create()/xas_expand() -> xas_alloc(), and __xas_nomem(), as of v6.2
// (lines 1577-1586, 1540-1557, 777-848, 641-695, 561-626, 361-399, 327-351):
// every node xas_alloc() needs is tried with GFP_NOWAIT under the lock; a
// failure ends the pass with -ENOMEM and __xas_nomem() allocates one node
// with the caller's gfp (unlocked if it may block), then the store restarts.
void xa_store(Exec& ex, Kernel& k, XArray& xa, uint64_t index, int value, Gfp gfp) {
  KFUNC(ex, "xa_store");
  check_alive(ex, xa, "xa_store: spin_lock(&xa->xa_lock)");
  spin_lock(ex, xa.xa_lock, "xa_lock");
  bool have_spare = false;  // xas->xa_alloc: a node __xas_nomem() preallocated
  for (;;) {
    std::pair<unsigned, uint64_t> node;
    bool nomem = false;
    while (missing_node(xa, index, &node)) {
      if (have_spare) {
        have_spare = false;
      } else if (k.should_fail("xa_node_alloc")) {  // kmem_cache_alloc_lru(GFP_NOWAIT | __GFP_NOWARN)
        nomem = true;
        break;
      }
      xa.nodes.insert(node);  // linked at once (rcu_assign_pointer), also if the store restarts
    }
    if (!nomem) {
      xa.values[index] = value;
      break;
    }
    // __xas_nomem(): one node with the caller's gfp.
    if (gfp == Gfp::kernel) {
      spin_unlock(ex, xa.xa_lock);
      ex.might_sleep("kmem_cache_alloc_lru (xarray node, GFP_KERNEL)");  // might_alloc()
      ex.pp("xa_store:before_reclaim");
      ex.schedule_timeout(k.costs.direct_reclaim);  // direct reclaim: the NOWAIT attempt found no memory
      ex.pp("xa_store:after_reclaim");
      check_alive(ex, xa, "__xas_nomem: spin_lock(&xa->xa_lock) after the GFP_KERNEL allocation");
      spin_lock(ex, xa.xa_lock, "xa_lock");
    }
    have_spare = true;  // GFP_ATOMIC dips into the reserves under the lock: not modelled as failing
  }
  check_alive(ex, xa, "xas_store: rcu_assign_pointer into a node");
  spin_unlock(ex, xa.xa_lock);
}

// models lib/xarray.c:xa_destroy() as of v6.2 (2207-2224): the nodes go by
// call_rcu (xa_node_free), which the model does not track; the struct
// xarray itself is its container's to free.
void xa_destroy(Exec& ex, XArray& xa) {
  check_alive(ex, xa, "xa_destroy");
  spin_lock(ex, xa.xa_lock, "xa_lock");  // xas_lock_irqsave()
  xa.values.clear();
  xa.nodes.clear();
  spin_unlock(ex, xa.xa_lock);
}

}  // namespace p2psim::kern
