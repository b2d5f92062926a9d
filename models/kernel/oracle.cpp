// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/oracle.h"

#include <fmt/format.h>

#include "kernel/kernel.h"

namespace p2psim::kern {

std::string Allocation::what() const { return fmt::format("{} by {} (pid {}, cpu{})", fn, by, by_pid, by_cpu); }

uint64_t Oracle::on_alloc(Exec& ex, Kernel& k, int owner_pid, const char* fn, uint64_t pfn, uint64_t nr) {
  const uint64_t id = next_id_++;
  allocs_[id] = Allocation{id, owner_pid, fn, ex.task_name(), ex.pid(), ex.cpu(), pfn, nr};
  for (uint64_t i = 0; i < nr; ++i)
    if (Page* p = k.pfn_to_page(pfn + i)) {
      p->shadow.alloc_id = id;
      ++p->shadow.alloc_gen;
      p->shadow.window_alloc = 0;
      if (!p->shadow.resetting.empty()) {
        // Harmless if the reset comes before this allocation's get_page.
        p->shadow.window_alloc = id;
        p->shadow.window_by = p->shadow.resetting.back();
        ex.notef("pfn {:#x} handed out for allocation #{} while {} is inside "
                            "free_zone_device_page",
                            p->pfn, id, p->shadow.window_by);
      }
    }
  return id;
}

void Oracle::on_insert_refused_at_zero(Exec& ex, Page& page) {
  if (page.shadow.window_alloc == 0 || page.shadow.window_alloc != page.shadow.alloc_id) return;
  const Allocation* a = allocation(page.shadow.alloc_id);
  ex.root_cause("zone_device_reset_window", page.pfn, page.shadow.alloc_id,
                fmt::format("vm_insert_page refuses pfn {:#x} at refcount 0 with -EINVAL: allocation "
                            "#{} ({}) got it while {} was inside free_zone_device_page, which "
                            "returned it to the pool before set_page_count(page, 1)",
                            page.pfn, page.shadow.alloc_id, a ? a->what() : "?", page.shadow.window_by));
}

namespace {
std::string last_free_of(const Page& page) {
  const auto& f = page.shadow.last_free;
  if (!f.via) return "nobody";
  return fmt::format("{} on cpu{} via {}", f.task, f.cpu, f.via);
}
}  // namespace

const Allocation* Oracle::allocation(uint64_t id) const {
  auto it = allocs_.find(id);
  return it == allocs_.end() ? nullptr : &it->second;
}

void Oracle::on_pool_free(Exec& ex, Kernel& k, Page& page, const char* via) {
  std::vector<std::string> holders;
  const Allocation* a = allocation(page.shadow.alloc_id);
  if (page.shadow.held)
    holders.push_back(fmt::format("its allocation #{} ({}) still holds it", page.shadow.alloc_id,
                                  a ? a->what() : "?"));
  if (page.shadow.ptes > 0) holders.push_back(fmt::format("{} PTE(s) still map it", page.shadow.ptes));
  for (size_t c = 0; c < k.cpus.size(); ++c)
    if (k.cpus[c].tlb.maps_pfn(page.pfn)) holders.push_back(fmt::format("cpu{}'s TLB caches it", c));
  if (page.shadow.pins > 0)
    holders.push_back(fmt::format("{} GUP reference(s) not yet released", page.shadow.pins));
  if (page.shadow.alloc_id == 0)
    holders.push_back("it is already free in the pool (double free)");
  if (!holders.empty()) {
    std::string why;
    for (const auto& h : holders) why += (why.empty() ? "" : "; ") + h;
    ex.report_page(FindingKind::premature_free, page.pfn, page.shadow.alloc_id,
                   fmt::format("pfn {:#x} returned to its pool by {} while {}", page.pfn, via, why));
  }
  page.shadow.alloc_id = 0;
  page.shadow.last_free.task.assign(ex.task_name());  // reuses the string's buffer
  page.shadow.last_free.cpu = ex.cpu();
  page.shadow.last_free.via = via;
}

void Oracle::check_use(Exec& ex, Kernel& k, Page& page, uint64_t expected, int user_pid,
                       const std::string& via) {
  if (page.shadow.alloc_id == expected) return;
  const Allocation* mine = allocation(expected);
  const std::string mine_s =
      mine ? fmt::format("allocation #{} ({})", expected, mine->what()) : "no allocation";
  if (page.shadow.alloc_id == 0) {
    ex.report_page(FindingKind::use_after_free, page.pfn, expected,
                   fmt::format("{} by pid {} of pfn {:#x} made for {}: the page is free in its pool "
                          "(freed by {})",
                          via, user_pid, page.pfn, mine_s, last_free_of(page)));
    return;
  }
  const Allocation* now = allocation(page.shadow.alloc_id);
  const bool other = now && now->owner_pid != user_pid;
  ex.report_page(other ? FindingKind::cross_context_leak : FindingKind::use_after_free, page.pfn, expected,
                 fmt::format("{} by pid {} of pfn {:#x} made for {}: the page now belongs to "
                        "allocation #{} ({}) of pid {}",
                        via, user_pid, page.pfn, mine_s, page.shadow.alloc_id,
                        now ? now->what() : "?", now ? now->owner_pid : -1));
}

}  // namespace p2psim::kern
