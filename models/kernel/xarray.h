// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <utility>

#include "kernel/exec.h"
#include "kernel/kernel.h"
#include "kernel/mm.h"

namespace p2psim::kern {

/// The gfp flags a caller hands xa_store(): only whether they allow blocking matters here.
enum class Gfp { kernel, atomic };

/**
 * struct XArray - struct xarray as far as xa_store() of value entries into
 * a sparse array needs it: which interior nodes exist (by shift and index
 * prefix), the stored values, and whether its memory is still allocated.
 * @freed: the structure embedding it was freed (the oracle's view: an
 *         access after that is a use-after-free).
 */
struct XArray {
  SpinLock xa_lock;
  std::set<std::pair<unsigned, uint64_t>> nodes;  ///< (shift, index >> (shift + 6))
  std::map<uint64_t, int> values;
  bool freed = false;
  const char* name = "xarray";
};

/**
 * xa_store() - lib/xarray.c xa_store() -> __xa_store() as of v6.2, for a
 * value entry: under xa_lock, xas_store() creates the missing nodes of
 * @index's path; each node comes from xas_alloc() with GFP_NOWAIT (fault
 * site `xa_node_alloc`: memory pressure makes it fail), and on failure
 * __xas_nomem() allocates one node with @gfp, dropping xa_lock around a
 * blocking (GFP_KERNEL) allocation, which then sleeps in reclaim. A
 * GFP_ATOMIC node comes from the reserves (not modelled as failing), so the
 * store always succeeds; callers ignore the result anyway.
 */
void xa_store(Exec& ex, Kernel& k, XArray& xa, uint64_t index, int value, Gfp gfp);

/// xa_destroy(): drop every entry and node (the nodes by RCU, not modelled).
void xa_destroy(Exec& ex, XArray& xa);

}  // namespace p2psim::kern
