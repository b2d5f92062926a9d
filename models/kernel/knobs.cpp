// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/knobs.h"

#include <fmt/format.h>

namespace p2psim::kern {

// Accessors for a field as the index of its value in KnobSpec::values.
#define KNOB_FIELD(field, type)                                                  \
  [](const Knobs& k) { return static_cast<int>(k.field); },                      \
      [](Knobs& k, int v) { k.field = static_cast<type>(v); }

const std::vector<KnobSpec>& knob_specs() {
  static const std::vector<KnobSpec> specs = {
      {"mmap_design",
       {"rfc_fault_alloc", "upstream_alloc_mmap"},
       "Userspace mapping of p2pmem: the RFC's VM_MIXEDMAP fault-time allocation with "
       "devmap PTEs, or upstream's mmap-time allocation with refcounted PTEs.",
       "RFC 'Userspace P2PDMA with O_DIRECT NVMe devices' v3-v5 (2021-22); "
       "upstream 7e9c7ef83d78 'PCI/P2PDMA: Allow userspace VMA allocations through sysfs' (v6.2)",
       KNOB_FIELD(mmap_design, MmapDesign)},
      {"rfc_free_deferral",
       {"immediate", "rcu"},
       "RFC design only: pages go back to genalloc right after the unmap (v3) or after an RCU "
       "grace period (call_rcu from VMA close, synchronize_rcu at unbind; v4/v5).",
       "RFC v3 (Sept 2021) vs v4 (Nov 2021) / v5 (Jan 2022)",
       KNOB_FIELD(rfc_free_deferral, RfcFreeDeferral)},
      {"refcount_era",
       {"one_based", "free_at_zero_reset_to_one", "zero_based"},
       "Idle ZONE_DEVICE page refcount: 1 with page_free on 2->1 (<=5.17), freed at 0 and reset "
       "to 1 (5.18-6.14), idle at 0 and freed at 0 (>=6.15; also RFC v5's base).",
       "v5.18 'mm: remove the extra ZONE_DEVICE struct page refcount' (Christoph Hellwig's "
       "series); v6.15 Alistair Popple's 0-based ZONE_DEVICE refcount series",
       KNOB_FIELD(refcount_era, RefcountEra)},
      {"tlb_mode",
       {"ipi_serialised", "rcu_table_free"},
       "Two platform axes in one knob (docs/fidelity.md): ipi_serialised = TLB shootdown by "
       "synchronous IPI (GUP-fast's IRQ-off walk holds it off) with page tables freed in the page "
       "batch (x86 bare metal before v6.15); rcu_table_free = an invalidation that waits for no "
       "other CPU (arm64 TLBI, KVM/Xen paravirt flush, AMD INVLPGB) with MMU_GATHER_RCU_TABLE_FREE. "
       "x86 bare metal from v6.15 (RCU table free, IPI flush) is not yet a value of its own.",
       "arch/x86/mm/tlb.c native_flush_tlb_multi, arch/x86/kernel/kvm.c kvm_flush_tlb_multi, "
       "arch/arm64 __flush_tlb_range (v6.2); a37259732a7d (x86 RCU table free unconditional, v6.15)",
       KNOB_FIELD(tlb_mode, TlbMode)},
      {"alloc_mmap_error_puts_pgmap_ref",
       {"false", "true"},
       "p2pmem_alloc_mmap() error path drops its temporary pgmap ref when vm_insert_page() "
       "fails (false: leaked, so unbind waits forever).",
       "6220694c52a5 'PCI/P2PDMA: Release the per-cpu ref of pgmap when vm_insert_page() fails' "
       "(Hou Tao; in 7.0 and 6.19.9; fixes 7e9c7ef83d78), with 83014d82a110 (page count reset "
       "to 0 on the same path)",
       KNOB_FIELD(alloc_mmap_error_puts_pgmap_ref, bool)},
      {"config_debug_vm",
       {"false", "true"},
       "CONFIG_DEBUG_VM: VM_BUG_ON_PAGE/VM_WARN_ON_ONCE_PAGE checks are built in. Off in distro "
       "kernels (and in every preset); the oracles still see what happens next.",
       "include/linux/mmdebug.h",
       KNOB_FIELD(config_debug_vm, bool)},
      {"dio_pins_pages",
       {"false", "true"},
       "Direct I/O takes its user pages with FOLL_PIN (and unpins at completion) instead of "
       "FOLL_GET page references.",
       "David Howells, 'block: convert bio_map_user_iov/__bio_iov_iter_get_pages to "
       "iov_iter_extract_pages' (v6.5)",
       KNOB_FIELD(dio_pins_pages, bool)},
  };
  return specs;
}
#undef KNOB_FIELD

namespace {
const KnobSpec* find_spec(const std::string& name) {
  for (const auto& s : knob_specs())
    if (name == s.name) return &s;
  return nullptr;
}
std::string join(const std::vector<const char*>& v) {
  std::string out;
  for (const char* x : v) out += std::string(out.empty() ? "" : ", ") + x;
  return out;
}
}  // namespace

std::string knob_value(const Knobs& k, const std::string& name) {
  const KnobSpec* s = find_spec(name);
  return s ? s->values[s->get(k)] : "";
}

std::optional<std::string> set_knob(Knobs& k, const std::string& name, const std::string& value) {
  const KnobSpec* s = find_spec(name);
  if (!s) {
    std::vector<const char*> names;
    for (const auto& sp : knob_specs()) names.push_back(sp.name);
    return fmt::format("unknown knob '{}'; known knobs: {}", name, join(names));
  }
  for (size_t i = 0; i < s->values.size(); ++i)
    if (value == s->values[i]) {
      s->set(k, static_cast<int>(i));
      return std::nullopt;
    }
  return fmt::format("bad value '{}' for knob '{}'; expected one of: {}", value, name, join(s->values));
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = [] {
    std::vector<Preset> v;
    Knobs rfc_v3;
    rfc_v3.mmap_design = MmapDesign::rfc_fault_alloc;
    rfc_v3.rfc_free_deferral = RfcFreeDeferral::immediate;
    rfc_v3.refcount_era = RefcountEra::one_based;
    rfc_v3.tlb_mode = TlbMode::ipi_serialised;
    v.push_back({"rfc-v3", "RFC v3 (Sept 2021) on v5.15, x86 native TLB flush", rfc_v3});
    Knobs rfc_v5 = rfc_v3;
    rfc_v5.rfc_free_deferral = RfcFreeDeferral::rcu;
    // Posted on v5.17-rc1 with Ralph Campbell's "mm: remove extra ZONE_DEVICE
    // struct page refcount" (v5 02/24): idle pages at 0, page_free at 0.
    rfc_v5.refcount_era = RefcountEra::zero_based;
    v.push_back({"rfc-v5",
                 "RFC v5 (Jan 2022) on v5.17-rc1 + 'mm: remove extra ZONE_DEVICE struct page refcount': "
                 "RCU-deferred return to genalloc, idle pages at refcount 0, x86 native TLB flush",
                 rfc_v5});
    Knobs v62;
    v62.mmap_design = MmapDesign::upstream_alloc_mmap;
    v62.refcount_era = RefcountEra::free_at_zero_reset_to_one;
    v62.tlb_mode = TlbMode::ipi_serialised;
    v62.alloc_mmap_error_puts_pgmap_ref = false;
    v.push_back({"v6.2", "Linux v6.2: first upstream p2pmem mmap, x86 native TLB flush", v62});
    Knobs v615 = v62;
    v615.dio_pins_pages = true;
    v615.refcount_era = RefcountEra::zero_based;
    v615.tlb_mode = TlbMode::rcu_table_free;
    v.push_back({"v6.15", "Linux v6.15: 0-based ZONE_DEVICE refcount, x86 RCU table free", v615});
    Knobs latest = v615;
    latest.alloc_mmap_error_puts_pgmap_ref = true;
    v.push_back({"latest",
                 "Linux 7.0: 0-based refcounts, the p2pmem_alloc_mmap() error-path fixes "
                 "(6220694c52a5, 83014d82a110)",
                 latest});
    return v;
  }();
  return all;
}

const Preset* find_preset(const std::string& name) {
  for (const auto& p : presets())
    if (name == p.name) return &p;
  return nullptr;
}

}  // namespace p2psim::kern
