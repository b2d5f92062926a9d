// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/fault_sites.h"

namespace p2psim::kern {

const std::vector<FaultSite>& fault_sites() {
  static const std::vector<FaultSite> all = {
      {"vm_insert_page", "vm_insert_page() in p2pmem_alloc_mmap()",
       "-ENOMEM (the PTE table allocation failed): the error path returns the pages not yet mapped. The "
       "model starts every mapping at a 2 MiB boundary; the kernel may place one so that any page starts "
       "a new PTE table, so any call may be the one that fails"},
      {"pte_alloc", "a PTE table a fault allocates where the PMD is none: do_anonymous_page()'s, __do_fault()'s "
       "preallocation before a ->fault handler, and get_locked_pte()'s in vmf_insert_pfn()/vmf_insert_mixed() "
       "inside vfio-pci's and the RFC's handlers; also through GUP's slow path",
       "VM_FAULT_OOM: a user access faults again (pagefault_out_of_memory(), from v5.16; refused on 5.15, "
       "knob pagefault_oom); GUP returns -ENOMEM, or the pages it got before"},
      {"vm_area_alloc", "vm_area_alloc() in mmap_region() (file and anonymous mmap())",
       "-ENOMEM before anything is set up: only the accounting is undone"},
      {"xa_node_alloc", "xas_alloc()'s GFP_NOWAIT node allocation under the xa_lock (xa_store())",
       "no node: __xas_nomem() retries with the caller's gfp, and GFP_KERNEL sleeps in reclaim "
       "(cost.direct_reclaim)"},
      {"mmap_prealloc", "the VMA tree's node preallocation in mmap_region() (knob mmap_prealloc)",
       "-ENOMEM from mmap(): on 6.2 after ->mmap, whose pages the error path unmaps (after ->close); "
       "on 6.14 and 7.0 before ->mmap; never on the RFC bases"},
      {"gen_pool_alloc", "gen_pool_alloc_owner() in p2pmem_alloc_mmap(), the RFC's first fault, pci_alloc_p2pmem()",
       "no address (the pool is exhausted by allocations the scenario does not show): -ENOMEM, "
       "VM_FAULT_SIGBUS, or NULL"},
      {"dma_buf_attach", "the attachment's kzalloc() in dma_buf_dynamic_attach() (rdma_reg_mr, iommufd_map)",
       "-ENOMEM before anything is attached: the MR registration or the IOAS map fails and drops its dma-buf "
       "reference"},
      {"dma_buf_phys_vec_to_sgt",
       "kzalloc(), sg_alloc_table() or dma_iova_link() in dma_buf_phys_vec_to_sgt() (vfio_pci_dma_buf_map(), "
       "an importer's dma_buf_map_attachment())",
       "-ENOMEM, every step undone (no IOVA, no table): a dynamic importer's page fault fails (EFAULT on its "
       "RDMA WRITE), a pinned registration fails"},
      {"dma_buf_export", "dma_buf_export() in vfio_pci_core_feature_dma_buf()",
       "-ENOMEM (no dma-buf or file): the device registration it took is put back, priv freed"},
      {"iommu_map", "iommu_map() in iopt_area_fill_domains() -> batch_to_domain() (iommufd_map of a dma-buf)",
       "-ENOMEM (an IOMMU page table): the area and its IOVA are freed, the attachment is detached and "
       "the dma-buf reference dropped (iopt_release_pages())"},
      {"nvme_map_data", "the IOVA allocation of dma_map_sgtable() in nvme_map_data() (an NVMe read or write "
       "with a segment the IOMMU translates: host memory, or P2P through the host bridge)",
       "no IOVA: BLK_STS_RESOURCE, nothing stays mapped, and blk-mq dispatches the request again at once"},
      {"gen_pool_add_owner", "gen_pool_add_owner() in pci_p2pdma_add_resource(), at probe",
       "-ENOMEM (the chunk's vzalloc): the pages are unmapped, the pgmap freed, the pool stays empty and "
       "unpublished; the pci_p2pdma_unmap_mappings devm action stays registered (knob "
       "p2pdma_unmap_mappings_arg: from 6.19 its argument is the freed pgmap)",
       /*at_probe=*/true},
      {"dma_buf_fd", "dma_buf_fd() in vfio_pci_core_feature_dma_buf()",
       "-EMFILE (the file table is full), after the dma-buf was exported and listed: v6.19 to "
       "6.19.10 fall through the whole unwind chain (knob vfio_dmabuf_fd_error_path)"},
  };
  return all;
}

const FaultSite* find_fault_site(std::string_view name) {
  for (const auto& s : fault_sites())
    if (name == s.name) return &s;
  return nullptr;
}

}  // namespace p2psim::kern
