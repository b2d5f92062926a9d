// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/nvme_host.h"

#include <algorithm>

namespace p2psim::hw {

using namespace nvme;

std::uint64_t nvme_cmb_size_unit(std::uint32_t cmbsz) {
  return cmbsz::unit_bytes(cmbsz::kSzu.get(cmbsz));
}

std::uint32_t nvme_cmb_size(std::uint32_t cmbsz) {
  return static_cast<std::uint32_t>(cmbsz::kSz.get(cmbsz));
}

// models drivers/nvme/host/pci.c:nvme_map_cmb() as of v6.2
// (with NvmeMapCmbOptions::fixes_2025: commits 56cf7ef0d490 and 6a3572e10f74)
NvmeCmbMap nvme_map_cmb(NvmeRegs& regs, std::uint64_t cap, const std::array<PciBar, 6>& bars,
                        const NvmeMapCmbOptions& opts, const AddP2pResource& add_resource) {
  NvmeCmbMap m;
  const bool cmbs = cap::kCmbs.get(cap) != 0;

  // NVMe 1.4 controllers hide CMBLOC/CMBSZ until CMBMSC.CRE is set.
  if (cmbs) {
    m.cmbmsc_written = cmbmsc::kCre.mask();
    regs.writel(kRegCmbmsc, static_cast<std::uint32_t>(m.cmbmsc_written));
  }
  m.cmbsz = regs.readl(kRegCmbsz);
  if (m.cmbsz == 0) {
    m.skipped = "CMBSZ is 0: no CMB";
    return m;
  }
  m.cmbloc = regs.readl(kRegCmbloc);

  const std::uint64_t unit = nvme_cmb_size_unit(m.cmbsz);
  std::uint64_t size = unit * nvme_cmb_size(m.cmbsz);
  const std::uint64_t offset = unit * cmbloc::kOfst.get(m.cmbloc);
  const int bar = static_cast<int>(cmbloc::kBir.get(m.cmbloc));
  // BIR values 6 and 7 are reserved; pci_resource_len() of them reads past
  // the six standard resources in the kernel. Here they have no length.
  const PciBar none{};
  const PciBar& res = bar < 6 ? bars[static_cast<std::size_t>(bar)] : none;
  const std::uint64_t bar_size = res.len;

  if (offset > bar_size) {
    m.skipped = "CMB offset beyond the BAR";
    return m;
  }

  auto program_cmbmsc = [&]() {
    // Tell the controller the bus address of the CMB and enable its decoding.
    if (!cmbs) return;
    m.cmbmsc_written = cmbmsc::kCre.mask() | cmbmsc::kCmse.mask() | (res.bus_addr + offset);
    regs.hi_lo_writeq(kRegCmbmsc, m.cmbmsc_written);
  };

  if (!opts.fixes_2025) {
    program_cmbmsc();
    // A CMB larger than its BAR (e.g. behind a bridge) is cut to the BAR.
    if (size > bar_size - offset) size = bar_size - offset;
  } else {
    size = std::min(size, bar_size - offset);
    const std::uint64_t a = opts.compat_align;
    if (a != 0 && (size % a != 0 || res.start % a != 0)) {
      m.skipped = "CMB size or BAR start not aligned to memremap_compat_align()";
      return m;
    }
    program_cmbmsc();
  }

  m.bar = bar;
  m.size = size;
  m.offset = offset;
  m.add_resource_ret = add_resource ? add_resource(bar, size, offset) : 0;
  if (m.add_resource_ret != 0) {
    m.skipped = "pci_p2pdma_add_resource() failed";
    if (opts.fixes_2025) {
      m.cmbmsc_written = 0;
      regs.hi_lo_writeq(kRegCmbmsc, 0);
    }
    return m;
  }
  m.registered = true;
  m.use_sqes = opts.use_cmb_sqes && cmbsz::kSqs.get(m.cmbsz) != 0;
  m.publish = cmbsz::kWds.get(m.cmbsz) != 0 && cmbsz::kRds.get(m.cmbsz) != 0;
  return m;
}

}  // namespace p2psim::hw
