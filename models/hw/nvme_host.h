// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// The host driver's side of the CMB: nvme_map_cmb() of drivers/nvme/host/pci.c
// (v6.2), which decodes CMBSZ/CMBLOC, clamps the CMB to its BAR, programs
// CMBMSC on NVMe 1.4 controllers and hands (bar, size, offset) to
// pci_p2pdma_add_resource(); the memory is published as p2pmem only when the
// controller supports both read and write data in it. Pure logic: register
// access goes through NvmeRegs, the p2pdma registration through a callback
// (the caller runs models/kernel's pci_p2pdma_add_resource()).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "hw/nvme_controller.h"
#include "hw/nvme_regs.h"
#include "common/time.h"

namespace p2psim::hw {

/// A driver's view of BAR0: readl/writel (and lo_hi/hi_lo 64-bit helpers).
class NvmeRegs {
 public:
  virtual ~NvmeRegs() = default;
  virtual std::uint32_t readl(std::uint32_t off) = 0;
  virtual void writel(std::uint32_t off, std::uint32_t v) = 0;
  /// include/linux/io-64-nonatomic-hi-lo.h: high dword first, then low.
  void hi_lo_writeq(std::uint32_t off, std::uint64_t v) {
    writel(off + 4, static_cast<std::uint32_t>(v >> 32));
    writel(off, static_cast<std::uint32_t>(v));
  }
  std::uint64_t lo_hi_readq(std::uint32_t off) {
    const std::uint64_t lo = readl(off);
    return lo | (std::uint64_t{readl(off + 4)} << 32);
  }
};

/// NvmeRegs over a simulated controller, at a fixed simulated time.
class ControllerRegs : public NvmeRegs {
 public:
  explicit ControllerRegs(NvmeController& c, ps_t now = 0) : c_(c), now_(now) {}
  void set_now(ps_t now) { now_ = now; }
  std::uint32_t readl(std::uint32_t off) override {
    return static_cast<std::uint32_t>(c_.reg_read(now_, off, 4));
  }
  void writel(std::uint32_t off, std::uint32_t v) override { c_.reg_write(now_, off, v, 4); }

 private:
  NvmeController& c_;
  ps_t now_;
};

/// One PCI BAR as the PCI core sees it.
struct PciBar {
  std::uint64_t start = 0;     ///< pci_resource_start(): CPU physical address
  std::uint64_t len = 0;       ///< pci_resource_len(); 0 = not present
  std::uint64_t bus_addr = 0;  ///< pci_bus_address(): start + the host bridge's bus offset
};

/**
 * struct NvmeMapCmbOptions
 * @use_cmb_sqes:   the nvme module parameter use_cmb_sqes (default true).
 * @fixes_2025:     apply the two 2025 fixes: the memremap_compat_align()
 *                  alignment check on the clamped size and on the BAR start
 *                  (commit 56cf7ef0d490, with CMBMSC programmed only after it),
 *                  and clearing CMBMSC when pci_p2pdma_add_resource() fails
 *                  (commit 6a3572e10f74). Both went to the stable kernels down
 *                  to 6.1; v6.2 as released has neither.
 * @compat_align:   memremap_compat_align(): SUBSECTION_SIZE (2 MiB) on x86.
 */
struct NvmeMapCmbOptions {
  bool use_cmb_sqes = true;
  bool fixes_2025 = true;
  std::uint64_t compat_align = 2ULL << 20;
};

/// What nvme_map_cmb() decided.
struct NvmeCmbMap {
  bool registered = false;  ///< pci_p2pdma_add_resource() was called and succeeded
  int bar = -1;             ///< pci_p2pdma_add_resource(pdev, bar, size, offset)
  std::uint64_t size = 0;
  std::uint64_t offset = 0;
  bool publish = false;     ///< pci_p2pmem_publish(pdev, true)
  bool use_sqes = false;    ///< dev->cmb_use_sqes
  std::uint32_t cmbsz = 0;  ///< as read (dev->cmbsz, dev->cmbloc)
  std::uint32_t cmbloc = 0;
  std::uint64_t cmbmsc_written = 0;  ///< last 64-bit value written to CMBMSC
  int add_resource_ret = 0;
  std::string skipped;      ///< why it stopped early ("" when registered)
};

/// nvme_cmb_size_unit(): 4 KiB << (4 * CMBSZ.SZU).
std::uint64_t nvme_cmb_size_unit(std::uint32_t cmbsz);
/// nvme_cmb_size(): CMBSZ.SZ.
std::uint32_t nvme_cmb_size(std::uint32_t cmbsz);

/// pci_p2pdma_add_resource(pdev, bar, size, offset): 0 or -errno.
using AddP2pResource = std::function<int(int bar, std::uint64_t size, std::uint64_t offset)>;

// models drivers/nvme/host/pci.c:nvme_map_cmb() as of v6.2
/**
 * nvme_map_cmb() - map the controller's CMB for P2P DMA.
 * @regs: BAR0 register access.
 * @cap:  CAP as the driver cached it (dev->ctrl.cap).
 * @bars: the six BARs.
 * @add_resource: pci_p2pdma_add_resource(); empty = always succeeds.
 */
NvmeCmbMap nvme_map_cmb(NvmeRegs& regs, std::uint64_t cap, const std::array<PciBar, 6>& bars,
                        const NvmeMapCmbOptions& opts = {},
                        const AddP2pResource& add_resource = {});

}  // namespace p2psim::hw
