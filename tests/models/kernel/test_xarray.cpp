// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// models/kernel/xarray: xa_store()'s node allocation and where it may sleep
// (docs/scenarios/s10_map_types_sleep_in_rcu.md).
#include <catch2/catch.hpp>

#include "kernel/knobs.h"
#include "kernel/serial_exec.h"
#include "kernel/xarray.h"

using namespace p2psim;
using namespace p2psim::kern;

namespace {
Kernel make_kernel() { return Kernel(find_preset("v6.2")->knobs, default_costs(), 1); }
}  // namespace

TEST_CASE("xa_store: index 0 lives in the head, others need one node per 6 bits of index", "[xarray]") {
  Kernel k = make_kernel();
  SerialExec ex;
  XArray xa;
  xa_store(ex, k, xa, 0x200, 2, Gfp::kernel);  // bus 2, devfn 0 into an empty array: two levels
  CHECK(xa.nodes.size() == 2);
  xa_store(ex, k, xa, 0x201, 3, Gfp::kernel);  // same leaf node
  CHECK(xa.nodes.size() == 2);
  CHECK(xa.values.at(0x201) == 3);
  CHECK(ex.findings.empty());
}

TEST_CASE("xa_store: a tree that grows puts its new top levels on index 0's path", "[xarray]") {
  Kernel k = make_kernel();
  SerialExec ex;
  XArray xa;
  xa_store(ex, k, xa, 0, 2, Gfp::kernel);
  CHECK(xa.nodes.empty());
  // xas_expand() pushes the head down two levels (nodes (0,0), (6,0)), then
  // the descent adds 0x200's leaf (0, 8).
  xa_store(ex, k, xa, 0x200, 2, Gfp::kernel);
  CHECK(xa.nodes.size() == 3);
  // One more level on top (12, 0), then 0x1000's path: (6, 1) and (0, 0x40).
  xa_store(ex, k, xa, 0x1000, 2, Gfp::kernel);
  CHECK(xa.nodes.size() == 6);
  CHECK(xa.nodes.count({12, 0}) == 1);
  CHECK(ex.findings.empty());
}

TEST_CASE("xa_store: a GFP_KERNEL retry after a failed GFP_NOWAIT node sleeps, even inside an RCU read section",
          "[xarray]") {
  for (const Gfp gfp : {Gfp::kernel, Gfp::atomic}) {
    Kernel k = make_kernel();
    k.inject_failure("xa_node_alloc", 1);
    SerialExec ex;
    XArray xa;
    ex.rcu_read_lock();
    xa_store(ex, k, xa, 0x200, 2, gfp);
    ex.rcu_read_unlock();
    CHECK(xa.values.at(0x200) == 2);
    CHECK(xa.nodes.size() == 2);
    const bool slept = std::count(ex.points.begin(), ex.points.end(), "xa_store:before_reclaim") == 1;
    CHECK(slept == (gfp == Gfp::kernel));
    CHECK(ex.has_finding(FindingKind::sleep_in_atomic) == (gfp == Gfp::kernel));
    CHECK(ex.now() >= (gfp == Gfp::kernel ? k.costs.direct_reclaim : 0));
  }
}

TEST_CASE("xa_store: no memory pressure, no sleep", "[xarray]") {
  Kernel k = make_kernel();
  SerialExec ex;
  XArray xa;
  ex.rcu_read_lock();
  xa_store(ex, k, xa, 0x10000, 2, Gfp::kernel);  // domain 1: three levels, all GFP_NOWAIT
  ex.rcu_read_unlock();
  CHECK(xa.nodes.size() == 3);
  CHECK(ex.findings.empty());
}

TEST_CASE("xa_store into an xarray whose memory was freed while it slept is a use-after-free", "[xarray]") {
  Kernel k = make_kernel();
  k.inject_failure("xa_node_alloc", 1);
  SerialExec ex;
  XArray xa;
  ex.on_pp = [&](const std::string& point) {
    if (point == "xa_store:before_reclaim") {
      xa_destroy(ex, xa);
      xa.freed = true;  // devres kfree of the structure around it
    }
  };
  xa_store(ex, k, xa, 0x200, 2, Gfp::kernel);
  CHECK(ex.has_finding(FindingKind::use_after_free));
}
