// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/p2pdma_provider.h"

#include <fmt/format.h>

#include "kernel/dma_buf.h"
#include "kernel/kernel.h"

namespace p2psim::kern {

// models pci_p2pdma_release() and the devres free after it: pdev->p2pdma
// cleared, a grace period, the cache destroyed, then the memory holding the
// providers freed. An IOVA still linked to the BAR outlives its provider
// (a bus-address mapping holds nothing: dma_buf_free_sgt() never reads the
// provider, so only its DMA can harm, and the DMA oracle judges that).
static void pci_p2pdma_release(Exec& ex, Kernel& k, PciP2pdmaMem& p2p) {
  KFUNC(ex, "pci_p2pdma_release");
  p2p.initialised = false;
  // synchronize_rcu() only for a pool's users: the provider-only p2pdma of
  // pcim_p2pdma_init() (vfio) has no pool and waits for no grace period.
  p2p.map_types.clear();
  for (auto& m : p2p.mem) {
    for (const auto& sgt : k.sg_tables)
      if (sgt->provider == m.get() && !sgt->freed && sgt->via_iommu)
        ex.report(FindingKind::use_after_revoke,
                  fmt::format("{} BAR {}'s p2pdma_provider freed at unbind while IOVA {:#x}+{:#x} linked through it "
                              "still maps the BAR",
                              m->owner, m->bar, sgt->dma_addr, sgt->len));
    m->released = true;
  }
}

// models pcim_p2pdma_init(): providers for each memory BAR, bus offset from
// the host bridge window, a devm release action, then pdev->p2pdma.
int pcim_p2pdma_init(Exec& ex, Kernel& k, PciP2pdmaMem& p2p, const std::string& owner, int nr_bars,
                     uint64_t bus_offset, DevmActions& devm) {
  KFUNC(ex, "pcim_p2pdma_init");
  if (p2p.initialised) return 0;
  for (int bar = 0; bar < nr_bars; ++bar) {
    auto m = std::make_unique<P2pdmaMemProvider>();
    m->owner = owner;
    m->bar = bar;
    m->bus_offset = bus_offset;
    m->p2pdma = &p2p;
    p2p.mem.push_back(std::move(m));
  }
  PciP2pdmaMem* p = &p2p;
  devm.emplace_back("pci_p2pdma_release", [&k, p](Exec& e) { pci_p2pdma_release(e, k, *p); });
  p2p.initialised = true;
  return 0;
}

P2pdmaMemProvider* pcim_p2pdma_provider(PciP2pdmaMem& p2p, int bar) {
  if (!p2p.initialised || bar < 0 || static_cast<size_t>(bar) >= p2p.mem.size()) return nullptr;
  return p2p.mem[static_cast<size_t>(bar)].get();
}

P2pdmaMapType pci_p2pdma_map_type(const P2pdmaMemProvider& provider, const std::string& client) {
  const PciP2pdmaMem& p2p = *provider.p2pdma;
  if (!p2p.initialised) return P2pdmaMapType::not_supported;
  auto it = p2p.map_types.find(client);
  return it == p2p.map_types.end() ? P2pdmaMapType::not_supported : it->second;
}

}  // namespace p2psim::kern
