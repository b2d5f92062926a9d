// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/platform.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "hw/nvme_host.h"
#include "hw/nvme_regs.h"
#include "kernel/irq_affinity.h"
#include "kernel/memremap.h"
#include "platform/device_exec.h"
#include "platform/dma_oracle.h"
#include "platform/host_memory_module.h"
#include "platform/interrupt_controller.h"
#include "platform/iommu_module.h"
#include "platform/pcie_bridge_module.h"
#include "platform/external_device.h"
#include "platform/nvme_module.h"
#include "common/kernel_bug.h"

namespace p2psim {

namespace nv = hw::nvme;
using kern::PAGE_SIZE;

namespace {

hw::DrivePreset drive_of(const std::string& name) {
  if (name == "optane") return hw::DrivePreset::kOptaneP4800X;
  if (name == "p3700") return hw::DrivePreset::kP3700Mlc;
  if (name == "p4500") return hw::DrivePreset::kP4500Tlc;
  if (name == "mqsim") return hw::DrivePreset::kMqsimDefault;
  return hw::DrivePreset::kGen4x4;
}

// nvme's io_queue_depth module parameter (default 1024): the I/O queue
// depth is min(CAP.MQES + 1, it), or less for SQs in the CMB.
constexpr uint32_t kIoQueueDepthParam = 1024;
// Host memory of each controller's driver: admin queue, I/O CQs (16 B
// entries) and the SQs not in the CMB (64 B entries) in slots sized for the
// deepest queue, below kPrpListBase; PRP list pages (one per request that
// needs one, from a free list as the dma_pool would hand them out) above it.
constexpr uint32_t kMaxIoQueues = 64;
constexpr uint64_t kDeviceMemory = 0x1000000;
constexpr uint64_t kIoCqSlot = kIoQueueDepthParam * 16, kIoSqSlot = kIoQueueDepthParam * 64;
constexpr uint64_t kIoCqBase = 0x20000, kIoSqBase = kIoCqBase + kMaxIoQueues * kIoCqSlot;
constexpr uint64_t kPrpListBase = kIoSqBase + kMaxIoQueues * kIoSqSlot;
static_assert(kPrpListBase + 2048 * 4096 <= kDeviceMemory, "room for at least 2048 PRP list pages");

}  // namespace

/**
 * class NvmeDevice - one NVMe endpoint: the controller (hardware) and what
 * the Linux NVMe PCI driver keeps for it (queues, tags, in-flight bios).
 * The driver side models drivers/nvme/host/pci.c as of v6.2 in outline:
 * nvme_probe (nvme_map_cmb, admin queue, one I/O queue pair per CPU with
 * its own MSI-X vector, CPUs spread over them), nvme_queue_rq on the
 * submitting CPU's queue (DMA-map the bio, PRPs, SQE, doorbell) and nvme_irq
 * per queue (reap the CQ, end the bios, ring the CQ head doorbell).
 */
class NvmeDevice : public hw::DmaPort, public kern::BlockDevice {
  struct Queue;

 public:
  NvmeDevice(Platform& p, const EndpointSpec& ep, int index, NvmeModule* module)
      : ctrl(config_for(ep), *this), p_(p), ep_(ep), index_(index), module_(module) {
    base_ = Platform::kDramBase + static_cast<uint64_t>(index) * 0x1000000ULL;
    ctrl.set_irq_handler([this](ps_t t, uint16_t vector) { on_irq(t, vector); });
  }

  // ---- hardware side ----------------------------------------------------
  // The controller's DMA leaves through its module's socket into the PCIe
  // tree's modules (switches, root complex, IOMMU, links, completer); the
  // oracles check it at the completer
  // (Platform::dma_done -> check()).
  ps_t dma_read(ps_t now, uint64_t addr, uint8_t* dst, size_t len) override {
    return module_->transfer(now, addr, dst, len, /*write=*/false, ep_.name);
  }
  ps_t dma_write(ps_t now, uint64_t addr, const uint8_t* src, size_t len) override {
    return module_->transfer(now, addr, const_cast<uint8_t*>(src), len, /*write=*/true, ep_.name);
  }
  hw::DeviceId device() const { return ep_.device; }

  // ---- block device -------------------------------------------------------
  const std::string& name() const override { return ep_.name; }
  // nvme_pci_supports_pci_p2pdma(): dma-direct and dma-iommu both can.
  bool queue_pci_p2pdma() const override { return true; }
  // nvme_update_disk_info() / nvme_set_queue_limits() as of v6.2.
  uint32_t logical_block_size() const override { return ctrl.config().lba_bytes; }
  uint32_t dma_alignment() const override { return 3; }
  // nvme_init_identify(): max_hw_sectors from MDTS (at most NVME_MAX_KB_SZ,
  // 4 MiB); blk_queue_max_hw_sectors(): max_sectors at most
  // BLK_DEF_MAX_SECTORS, in whole logical blocks. MDTS 5 with 4 KiB pages:
  // 256 sectors, 128 KiB.
  // nvme_ns_remove() -> set_capacity(disk, 0) when the removal begins.
  uint64_t nr_bytes() const override { return removed_ ? 0 : ctrl.config().ns_bytes; }
  uint32_t max_sectors() const override {
    const hw::NvmeControllerConfig& c = ctrl.config();
    const uint64_t mdts = c.mdts ? ((4096ULL << c.mpsmin) << c.mdts) / 512 : 8192;
    const uint64_t lbs = c.lba_bytes / 512;
    return static_cast<uint32_t>(std::min<uint64_t>({mdts, 8192, 2560}) / lbs * lbs);
  }

  // models drivers/nvme/host/pci.c:nvme_queue_rq() -> nvme_map_data() ->
  // nvme_pci_setup_prps() and nvme_submit_cmd() as of v6.2; the DMA mapping
  // of P2PDMA pages follows pci_p2pdma_map_segment(): by map type.
  int submit(kern::Exec& ex, kern::Kernel& k, kern::Bio& bio) override {
    // submit_bio() -> bio_queue_enter(): a deleted disk fails the bio at once.
    if (removed_) return -5;  // -EIO
    // bio_queue_enter(): the bio holds q_usage_counter until it is queued
    // (or fails), so a freeze in nvme_remove() waits for it too.
    ++entered_;
    struct Leave {
      int& n;
      ~Leave() { --n; }
    } leave{entered_};
    KFUNC(ex, "nvme_queue_rq");
    // blk_mq_map_queue(): the submitting CPU's hardware queue.
    Queue& q = io_[cpu_queue_.at(static_cast<size_t>(std::max(0, ex.cpu())) % cpu_queue_.size())];
    // A tag, then dispatch, which a quiesced queue holds back (the model's
    // request owns no tag until it is queued, so it asks again after).
    for (;;) {
      ex.wait_event([this, &q] { return free_tag(q) >= 0; }, "blk_mq_get_tag");
      if (!quiesced_) break;
      ex.wait_event([this] { return !quiesced_; }, "blk_mq_quiesce_queue: dispatch held");
    }
    // nvme_queue_rq(): a suspended queue (NVMEQ_ENABLED clear) fails it.
    if (suspended_) return -5;  // BLK_STS_IOERR
    ++in_queue_rq_;
    Leave in_rq{in_queue_rq_};
    // nvme_map_data(): dma_map_sgtable() found no IOVA, nothing stays
    // mapped, BLK_STS_RESOURCE. Only a mapping through a translating IOMMU
    // takes one (iommu_dma_map_sg() allocates none for bus-address P2P
    // segments; dma-direct none at all). blk-mq requeues the request, puts
    // it on hctx->dispatch and runs the queue inline
    // (blk_mq_try_issue_directly() -> blk_mq_request_bypass_insert(), v6.2
    // and 7.0-rc6): ->queue_rq() again at once, with the same tag. Only a
    // second failure in a row would wait (SCHED_RESTART: the next free, or
    // 3 ms); one injection cannot.
    bool takes_iova = false;
    if (k.injects_failures())  // the usual run has none: no map-type lookups per request
      for (const auto& bv : bio.vecs)
        takes_iova = takes_iova || p_.mapper().maps_through_iova(ep_.device, bv.page->pfn << kern::PAGE_SHIFT);
    while (takes_iova && k.should_fail("nvme_map_data"))
      ex.note("nvme_queue_rq: BLK_STS_RESOURCE (no IOVA), requeued and dispatched again");
    const int tag = free_tag(q);
    std::vector<uint64_t> dma_pages;  // bus address of each 4 KiB of data
    std::vector<Mapping> maps;
    std::vector<Unmap> unmaps;
    const hw::DmaDirection dir = bio.write ? hw::DmaDirection::to_device : hw::DmaDirection::from_device;
    const ps_t now = p_.abs(ex.now());
    const uint32_t cpu = static_cast<uint32_t>(std::max(0, ex.cpu()));
    for (const auto& bv : bio.vecs) {
      const uint64_t phys = bv.page->pfn << kern::PAGE_SHIFT;
      const uint64_t bytes = (static_cast<uint64_t>(bv.offset) + bv.len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
      uint64_t dma_base;
      if (bv.page->pgmap && bv.page->pgmap->type == kern::PgmapType::pci_p2pdma) {
        // pci_p2pdma_map_segment(): bus address, an IOMMU mapping through
        // the host bridge, or -EREMOTEIO by the (cached) map type.
        const hw::P2pMapping m = p_.mapper().dma_map_p2p(ep_.device, phys, bytes, dir, now, cpu);
        if (m.err) {
          unmap_all(ex, unmaps);
          return m.err;
        }
        dma_base = m.dma_addr;
        unmaps.push_back({true, m, 0, bytes, dir});
      } else {
        dma_base = p_.mapper().dma_map_page(ep_.device, phys, bytes, dir, now, cpu);
        unmaps.push_back({false, {}, dma_base, bytes, dir});
      }
      for (uint32_t off = 0; off < bv.offset + bv.len; off += PAGE_SIZE)
        dma_pages.push_back(dma_base + off);
      for (uint32_t off = 0; off < bv.offset + bv.len; off += PAGE_SIZE)
        maps.push_back({phys + off, bv.page->pfn + off / PAGE_SIZE, bv.shadow_alloc});
    }
    if (dma_pages.empty()) return -22;
    if (dma_pages.size() - 1 > PAGE_SIZE / 8) {  // more than one PRP list page (MDTS bounds it)
      unmap_all(ex, unmaps);
      return -22;
    }
    // The tag is the request's from here on, also while it waits below.
    Inflight& inf = inflight_[key(q, tag)];
    inf = {&bio, std::move(maps), std::move(unmaps), -1};
    nv::Sqe sqe{};
    sqe.opcode = bio.write ? nv::kNvmWrite : nv::kNvmRead;
    sqe.cid = static_cast<uint16_t>(tag);
    sqe.nsid = 1;
    const uint64_t lba = bio.sector * 512 / ctrl.config().lba_bytes;
    const uint64_t nlb = bio.size / ctrl.config().lba_bytes;
    sqe.cdw10 = static_cast<uint32_t>(lba);
    sqe.cdw11 = static_cast<uint32_t>(lba >> 32);
    sqe.cdw12 = static_cast<uint32_t>(nlb - 1);
    sqe.prp1 = dma_pages[0] + bio.vecs[0].offset;
    if (dma_pages.size() == 2) {
      sqe.prp2 = dma_pages[1];
    } else if (dma_pages.size() > 2) {
      // dma_pool_alloc(): the kernel's pool grows as needed; the model's
      // 2,784 pages run out only with that many large requests in flight.
      ex.wait_event([this] { return !prp_free_.empty(); }, "dma_pool_alloc: PRP list page");
      inf.prp_page = static_cast<int>(prp_free_.back());
      prp_free_.pop_back();
      const uint64_t list = base_ + kPrpListBase + static_cast<uint64_t>(inf.prp_page) * PAGE_SIZE;
      std::vector<uint64_t> entries(dma_pages.begin() + 1, dma_pages.end());
      p_.move_bytes(ep_.name, list, reinterpret_cast<uint8_t*>(entries.data()), entries.size() * 8, true, 0);
      sqe.prp2 = dma_of(list);
    }
    put_sqe(q, sqe);
    ex.cost(200_ns);  // nvme_queue_rq: request setup, excluding the doorbell
    ring_sq(ex, q);
    return 0;
  }

  // models drivers/nvme/host/pci.c:nvme_irq() -> nvme_poll_cq() ->
  // nvme_handle_cqe(), then nvme_pci_complete_batch() as of v6.2: reap every
  // CQE of the vector's queue (a failed one is completed at once,
  // nvme_pci_complete_rq(); the rest join the io_comp_batch), ring the CQ
  // head doorbell, then unmap each batched request and end them all
  // together (blk_mq_end_request_batch()). A strict IOMMU's invalidation
  // waits in the unmaps delay every end in the batch; the tag and the PRP
  // page are freed with the end.
  void irq(kern::Exec& ex, Queue& q) {
    KFUNC(ex, "nvme_irq");
    const ps_t handler_start = ex.now();
    std::vector<int> batch;
    bool any = false;
    for (;;) {
      nv::Cqe c{};
      p_.move_bytes(ep_.name, q.cq + uint64_t{q.cq_head} * sizeof(c), reinterpret_cast<uint8_t*>(&c), sizeof(c), false, 0);
      if (((c.status & 1) != 0) != q.phase) break;
      any = true;
      if (++q.cq_head == q.entries) {
        q.cq_head = 0;
        q.phase = !q.phase;
      }
      auto it = inflight_.find(key(q, c.cid));
      if (it == inflight_.end()) {
        ex.report(FindingKind::kernel_bug, fmt::format("{}: completion for unknown command id {}", ep_.name, c.cid));
        continue;
      }
      if (c.status >> 1) {  // blk_mq_add_to_batch() refuses an error
        it->second.bio->status = -5;  // -EIO
        unmap_all(ex, it->second.unmaps);
        end_requests(ex, handler_start, {it->first});
        continue;
      }
      it->second.bio->status = 0;
      batch.push_back(it->first);
    }
    if (any && !link_down_)
      ctrl.reg_write(p_.abs(ex.now()), static_cast<uint32_t>(nv::cq_head_doorbell(q.qid, ctrl.config().dstrd)), q.cq_head, 4);
    // rq_list_add() pushes at the head: the batch runs newest CQE first.
    std::reverse(batch.begin(), batch.end());
    for (int k : batch) unmap_all(ex, inflight_.at(k).unmaps);
    if (!batch.empty()) end_requests(ex, handler_start, std::move(batch));
    module_->kick();
  }

  /// blk_mq_end_request(_batch)(): the bios end, tags and PRP pages are
  /// freed, at the handler's current time (later than its start only if it
  /// spent time, e.g. waiting for IOTLB invalidations).
  void end_requests(kern::Exec& ex, ps_t handler_start, std::vector<int> keys) {
    auto end = [this, keys] {
      for (int k : keys) {
        auto it = inflight_.find(k);
        it->second.bio->done = true;
        if (it->second.prp_page >= 0) prp_free_.push_back(static_cast<uint32_t>(it->second.prp_page));
        inflight_.erase(it);
      }
    };
    if (ex.now() > handler_start)
      p_.machine()->at(ex.now(), end);
    else
      end();
  }

  // ---- probe ----------------------------------------------------------------
  // models drivers/nvme/host/pci.c:nvme_probe() -> nvme_reset_work() in outline
  // as of v6.2: nvme_map_cmb(), admin queue, enable, I/O queues (setup_io_queues()).
  void probe(kern::Exec& boot, CoroutineHost& host, std::map<std::string, kern::P2pdmaProvider*>& providers) {
    module_->attach(&ctrl, &p_, ep_.bar_phys);
    const uint64_t cap = ctrl.reg_read(host.now(), nv::kRegCap, 8);
    // nvme_pci_enable(): no quirk of the model's controllers changes it.
    q_depth_ = std::min<uint32_t>(static_cast<uint32_t>(nv::cap::kMqes.get(cap)) + 1, kIoQueueDepthParam);
    std::array<hw::PciBar, 6> bars{};
    bars[0] = {0xd0000000ULL + static_cast<uint64_t>(index_) * 0x10000ULL, 0x4000, 0};
    bars[0].bus_addr = bars[0].start;
    if (ep_.p2p_bar_size) bars[ctrl.config().cmb_bir] = {ep_.bar_phys, ep_.p2p_bar_size, ep_.bar_phys};
    hw::ControllerRegs regs(ctrl, host.now());
    hw::NvmeMapCmbOptions opts;
    opts.fixes_2025 = false;  // v6.2: neither the alignment check nor the CMBMSC reset
    auto add = [&](int bar, uint64_t size, uint64_t offset) {
      auto prov = std::make_unique<kern::P2pdmaProvider>();
      prov->name = ep_.name;
      prov->bar_phys = bars[bar].start;
      prov->bar_size = bars[bar].len;
      const int err = kern::pci_p2pdma_add_resource(boot, p_.kernel(), *prov, size, offset);
      // A failure after pci_p2pdma_setup() leaves pdev->p2pdma (an empty,
      // unpublished pool) and its devm actions until the unbind.
      if (!err || prov->p2pdma) {
        providers[ep_.name] = prov.get();
        p_.kernel().providers.push_back(std::move(prov));
      }
      return err;
    };
    cmb_ = hw::nvme_map_cmb(regs, cap, bars, opts, add);
    if (cmb_.publish)
      if (auto it = providers.find(ep_.name); it != providers.end()) kern::pci_p2pmem_publish(*it->second, true);
    // Queues and PRP lists: dma_alloc_coherent() memory, one mapping.
    queue_dma_ = p_.mapper().dma_map_page(ep_.device, base_, kDeviceMemory, hw::DmaDirection::bidirectional, host.now());
    for (uint32_t page = static_cast<uint32_t>((kDeviceMemory - kPrpListBase) / PAGE_SIZE); page-- > 0;)
      prp_free_.push_back(page);
    // Admin queue, then enable: CSTS.RDY comes after the controller's delay.
    admin_ = {0, base_, base_ + 0x10000, 32};
    wr(host, nv::kRegAqa, ((admin_.entries - 1) << 16) | (admin_.entries - 1));
    wr(host, nv::kRegAsq, dma_of(admin_.sq), 8);
    wr(host, nv::kRegAcq, dma_of(admin_.cq), 8);
    uint32_t cc = 0;
    cc = static_cast<uint32_t>(nv::cc::kEn.put(cc, 1));
    cc = static_cast<uint32_t>(nv::cc::kIosqes.put(cc, 6));
    cc = static_cast<uint32_t>(nv::cc::kIocqes.put(cc, 4));
    wr(host, nv::kRegCc, cc);
    for (int i = 0; !ctrl.ready(); ++i) {
      if (i > 1000) throw ModelBug(ep_.name + ": controller never became ready");
      host.advance(100_us);
    }
    auto prov = providers.find(ep_.name);
    if (prov != providers.end()) {
      kern::P2pdmaProvider* pv = prov->second;
      pv->driver_remove = [this, pv](kern::Exec& ex) { remove(ex, *pv); };
    }
    const uint32_t n = setup_io_queues(host, cap, ctrl.bar0_size(), prov != providers.end() ? prov->second : nullptr, boot);
    if (n == 0) return;  // an admin-only controller: no I/O, no disk
    p_.kernel().block_devices[ep_.name] = this;
  }

  // models drivers/nvme/host/pci.c:nvme_setup_io_queues() ->
  // nvme_create_io_queues() as of v6.2, with write_queues = poll_queues = 0:
  // one queue per possible CPU (nvme_max_io_queues()), as many as the
  // controller grants (nvme_set_queue_count()), CMB SQs only if each holds
  // at least 64 entries when the CMB is shared out (nvme_cmb_qdepth(), which
  // lowers the depth of every queue to fit),
  // fewer queues while the doorbells overflow BAR0 (nvme_remap_bar()); then
  // each queue's memory (nvme_alloc_sq_cmds(): its own p2pmem allocation),
  // and per qid a CQ on MSI-X vector qid, then its SQ. CPUs are spread over
  // the vectors and each vector's interrupt routed as kern::spread_queues()
  // says. Returns the number of I/O queues.
  uint32_t setup_io_queues(CoroutineHost& host, uint64_t cap, uint64_t bar0_size, kern::P2pdmaProvider* pv,
                           kern::Exec& boot) {
    const uint32_t ncpus = static_cast<uint32_t>(p_.kernel().cpus.size());
    uint32_t n = std::min<uint32_t>(ncpus, kMaxIoQueues);
    nv::Sqe sf{};
    sf.opcode = nv::kAdminSetFeatures;
    sf.cdw10 = nv::kFeatNumberOfQueues;
    sf.cdw11 = (n - 1) | ((n - 1) << 16);
    const std::optional<nv::Cqe> granted = admin_command(host, sf, /*may_fail=*/true);
    if (!granted) return 0;  // an NVMe error status: nvme_set_queue_count() leaves 0 I/O queues
    n = std::min<uint32_t>(n, std::min(granted->dw0 & 0xffff, granted->dw0 >> 16) + 1);
    bool cmb_sqes = cmb_.use_sqes && pv != nullptr;
    if (cmb_sqes) {
      const int depth = nvme_cmb_qdepth(n);
      if (depth > 0)
        q_depth_ = static_cast<uint32_t>(depth);  // dev->q_depth, and ctrl.sqsize with it
      else
        cmb_sqes = false;
    }
    const uint64_t stride = 1ULL << nv::cap::kDstrd.get(cap);
    while (n > 1 && 0x1000 + (uint64_t{n} + 1) * 8 * stride > bar0_size) --n;
    io_.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      Queue& q = io_[i];
      q = {static_cast<uint16_t>(i + 1), base_ + kIoSqBase + i * kIoSqSlot, base_ + kIoCqBase + i * kIoCqSlot,
           q_depth_};
      q.sq_dma = dma_of(q.sq);
      // nvme_alloc_sq_cmds(): from the controller's own p2pmem pool (the
      // same pool user mmaps draw from), addressed by its bus address; a
      // queue whose allocation fails keeps host memory.
      if (cmb_sqes) {
        const uint64_t bytes = uint64_t{q.entries} * sizeof(nv::Sqe);
        const uint64_t kaddr = kern::pci_alloc_p2pmem(boot, p_.kernel(), *pv, bytes);
        if (kaddr) {
          q.sq = kern::virt_to_pfn(kaddr) << kern::PAGE_SHIFT;
          q.sq_dma = q.sq + pv->bus_offset;  // pci_p2pmem_virt_to_bus()
          q.cmb_kaddr = kaddr;
          q.cmb_bytes = bytes;
        }
      }
    }
    for (Queue& q : io_) {
      nv::Sqe cq{};
      cq.opcode = nv::kAdminCreateCq;
      cq.prp1 = dma_of(q.cq);
      cq.cdw10 = ((q.entries - 1) << 16) | q.qid;
      cq.cdw11 = (uint32_t{q.qid} << 16) | 0x3;  // IV qid, IEN, PC
      admin_command(host, cq);
      nv::Sqe sq{};
      sq.opcode = nv::kAdminCreateSq;
      sq.prp1 = q.sq_dma;
      sq.cdw10 = ((q.entries - 1) << 16) | q.qid;
      sq.cdw11 = (uint32_t{q.qid} << 16) | 0x1;  // CQID qid, PC
      admin_command(host, sq);
    }
    const kern::QueueMap map = kern::spread_queues(ncpus, n, p_.managed_irq_vectors());
    cpu_queue_ = map.cpu_queue;
    for (uint32_t i = 0; i < n; ++i) io_[i].irq_cpu = map.irq_cpu[i];
    return n;
  }

  void detach() { module_->detach(); }

  /// The link above the function went down (surprise removal): the
  /// controller is gone with whatever it was doing; register writes go
  /// nowhere.
  void link_down() {
    link_down_ = true;
    module_->detach();
  }

  /// nvme_cancel_tagset() on a dead controller: every request in flight
  /// ends with -EIO after its DMA mappings go.
  void cancel_inflight(kern::Exec& ex) {
    std::vector<int> keys;
    for (auto& [key, inf] : inflight_) {
      inf.bio->status = -5;  // -EIO
      unmap_all(ex, inf.unmaps);
      keys.push_back(key);
    }
    if (!keys.empty()) end_requests(ex, ex.now(), std::move(keys));
  }

  // models drivers/nvme/host/pci.c:nvme_remove() in outline as of v6.2: the
  // block device goes (new I/O fails) and nvme_remove_namespaces() ->
  // del_gendisk() freezes the queue, waiting for the requests in flight,
  // which the still-enabled controller completes; only then
  // nvme_dev_disable() disables the controller (nvme_cancel_tagset() finds
  // nothing left) and the queues are freed (the CMB SQ back to its p2pmem
  // pool) before the devm actions release the CMB.
  //
  // A function that is gone (pci_device_is_present(): marked disconnected,
  // or its config space answers all ones) is DEAD first: nvme_dev_disable()
  // leaves the controller alone and cancels every request in flight
  // (nvme_cancel_tagset(): host-aborted, retried, and refused by the
  // suspended queue: -EIO; the model ends them with -EIO at once), so the
  // freeze below finds nothing left.
  void remove(kern::Exec& ex, kern::P2pdmaProvider& prov) {
    KFUNC(ex, "nvme_remove");
    const bool present = !prov.disconnected && !link_down_;
    if (!present) {
      KFUNC(ex, "nvme_dev_disable");
      quiesced_ = true;  // nvme_quiesce_io_queues(): ->queue_rq calls in progress finish first
      ex.wait_event([this] { return in_queue_rq_ == 0; }, "nvme_quiesce_io_queues");
      suspended_ = true;  // nvme_suspend_io_queues()
      // nvme_reap_pending_cqes(): completions already in host memory end
      // as completions, highest qid first.
      for (auto q = io_.rbegin(); q != io_.rend(); ++q) irq(ex, *q);
      ex.notef("{}: controller is dead, cancelling {} requests", ep_.name, inflight_.size());
      cancel_inflight(ex);
      quiesced_ = false;  // shutdown: nvme_unquiesce_io_queues(); new dispatches fail
    }
    p_.kernel().block_devices.erase(ep_.name);
    removed_ = true;
    {
      KFUNC(ex, "del_gendisk");
      ex.might_sleep("blk_mq_freeze_queue");
      ex.wait_event([this] { return inflight_.empty() && entered_ == 0; },
                    "blk_mq_freeze_queue_wait: requests in flight");
    }
    if (!link_down_) {  // nvme_pci_ctrl_is_dead() reads the config space
      ctrl.reg_write(p_.abs(ex.now()), nv::kRegCc, 0, 4);  // nvme_disable_ctrl
      module_->kick();
    }
    for (auto q = io_.rbegin(); q != io_.rend(); ++q)  // nvme_free_queues(): highest qid first
      if (q->cmb_kaddr) {
        kern::pci_free_p2pmem(ex, p_.kernel(), prov, q->cmb_kaddr, q->cmb_bytes);
        q->cmb_kaddr = 0;
      }
  }
  /// The CMB page at physical @pfn, if this controller's CMB covers it.
  uint8_t* cmb_memory(uint64_t pfn) {
    if (!cmb_.registered) return nullptr;
    const uint64_t start = ep_.bar_phys + cmb_.offset, a = pfn << kern::PAGE_SHIFT;
    if (a < start || a >= start + cmb_.size) return nullptr;
    return ctrl.cmb_page(a - start);
  }
  const hw::NvmeCmbMap& cmb() const { return cmb_; }

  hw::NvmeController ctrl;

 private:
  struct Queue {
    uint16_t qid = 0;
    uint64_t sq = 0, cq = 0;  ///< where the CPU writes and reads them
    uint32_t entries = 0;
    uint32_t sq_tail = 0, cq_head = 0;
    bool phase = true;
    uint64_t sq_dma = 0;      ///< the SQ as the controller addresses it
    uint64_t cmb_kaddr = 0, cmb_bytes = 0;  ///< its p2pmem allocation, if in the CMB
    int irq_cpu = 0;          ///< the CPU its MSI-X vector is routed to
  };
  struct Mapping {
    uint64_t dma;
    uint64_t pfn;
    uint64_t shadow_alloc;
  };
  struct Unmap {
    bool p2p;
    hw::P2pMapping m;
    uint64_t dma;
    uint64_t bytes;
    hw::DmaDirection dir;
  };
  struct Inflight {
    kern::Bio* bio;
    std::vector<Mapping> maps;  ///< physical pages the I/O may touch (oracle)
    std::vector<Unmap> unmaps;
    int prp_page = -1;          ///< its PRP list page, if it needed one
  };
  /// Requests in flight, keyed by queue and tag (the tag is the command id).
  static int key(const Queue& q, int tag) { return (int{q.qid} << 16) | tag; }

  uint64_t dma_of(uint64_t phys) const { return phys - base_ + queue_dma_; }
  /// nvme_unmap_data() for one mapping; returns the time the CPU spun
  /// waiting for the IOMMU's invalidation.
  ps_t unmap(const Unmap& u, ps_t now, uint32_t cpu) {
    if (u.p2p) return p_.mapper().dma_unmap_p2p(ep_.device, u.m, u.bytes, u.dir, now, cpu);
    return p_.mapper().dma_unmap_page(ep_.device, u.dma, u.bytes, u.dir, now, cpu);
  }
  /// nvme_unmap_data(): every mapping of a request, on @ex's CPU, which
  /// spends the IOMMU's invalidation waits.
  void unmap_all(kern::Exec& ex, const std::vector<Unmap>& unmaps) {
    const uint32_t cpu = static_cast<uint32_t>(std::max(0, ex.cpu()));
    for (const Unmap& u : unmaps) ex.cost(unmap(u, p_.abs(ex.now()), cpu));
  }

  static hw::NvmeControllerConfig config_for(const EndpointSpec& ep) {
    hw::NvmeControllerConfig c;
    c.drive = hw::drive_preset(drive_of(ep.drive));
    c.serial = fmt::format("P2PSIM{:014}", ep.device);
    if (ep.p2p_bar_size) {
      c.cmb = true;
      c.cmb_bir = 2;
      const bool mib = ep.p2p_bar_size >= (1ULL << 20) && ep.p2p_bar_size % (1ULL << 20) == 0;
      c.cmb_szu = mib ? 2 : 0;
      c.cmb_sz = static_cast<uint32_t>(ep.p2p_bar_size / (mib ? (1ULL << 20) : 4096ULL));
      c.cmb_bar_size = ep.p2p_bar_size;
    }
    return c;
  }

  // The tag set's queue_depth is min(ctrl.sqsize, BLK_MQ_MAX_DEPTH - 1):
  // q_depth - 1 tags, so a full SQ never has its tail catch its head.
  // models nvme_cmb_qdepth() as of v6.2: the depth at which every I/O SQ
  // fits the CMB (whole controller pages each), or -ENOMEM below 64.
  int nvme_cmb_qdepth(uint32_t nr_io_queues) const {
    const uint64_t entry = sizeof(nv::Sqe);
    const uint64_t aligned = (uint64_t{q_depth_} * entry + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE;
    if (aligned * nr_io_queues <= cmb_.size) return static_cast<int>(q_depth_);
    const uint64_t mem_per_q = cmb_.size / nr_io_queues / PAGE_SIZE * PAGE_SIZE;
    const uint64_t depth = mem_per_q / entry;
    return depth < 64 ? -12 : static_cast<int>(depth);
  }

  int free_tag(const Queue& q) const {
    for (int t = 0; t < static_cast<int>(q_depth_) - 1; ++t)
      if (!inflight_.count(key(q, t))) return t;
    return -1;
  }

  void wr(CoroutineHost& host, uint32_t off, uint64_t v, unsigned size = 4) {
    ctrl.reg_write(host.now(), off, v, size);
    module_->kick();
  }

  void put_sqe(Queue& q, const nv::Sqe& s) {
    nv::Sqe copy = s;
    p_.move_bytes(ep_.name, q.sq + uint64_t{q.sq_tail} * sizeof(s), reinterpret_cast<uint8_t*>(&copy), sizeof(s), true, 0);
    q.sq_tail = (q.sq_tail + 1) % q.entries;
  }

  void ring_sq(kern::Exec& ex, Queue& q) {
    if (link_down_) return;  // the write goes nowhere: the request waits for nvme_remove()
    ctrl.reg_write(p_.abs(ex.now()), static_cast<uint32_t>(nv::sq_tail_doorbell(q.qid, ctrl.config().dstrd)), q.sq_tail, 4);
    module_->kick();
  }

  /// Boot-time admin command: submit, let the module run it, reap by
  /// polling. An error status is a model bug unless @may_fail (then nullopt).
  std::optional<nv::Cqe> admin_command(CoroutineHost& host, nv::Sqe s, bool may_fail = false) {
    s.cid = next_admin_cid_++;
    put_sqe(admin_, s);
    wr(host, static_cast<uint32_t>(nv::sq_tail_doorbell(0, ctrl.config().dstrd)), admin_.sq_tail);
    for (int i = 0; i < 10000; ++i) {
      nv::Cqe c{};
      p_.move_bytes(ep_.name, admin_.cq + uint64_t{admin_.cq_head} * sizeof(c), reinterpret_cast<uint8_t*>(&c), sizeof(c), false, 0);
      if (((c.status & 1) != 0) == admin_.phase) {
        if (++admin_.cq_head == admin_.entries) {
          admin_.cq_head = 0;
          admin_.phase = !admin_.phase;
        }
        wr(host, static_cast<uint32_t>(nv::cq_head_doorbell(0, ctrl.config().dstrd)), admin_.cq_head);
        if (c.status >> 1) {
          if (may_fail) return std::nullopt;
          throw ModelBug(fmt::format("{}: admin command {:#x} failed: status {:#x}", ep_.name, s.opcode, c.status >> 1));
        }
        return c;
      }
      host.advance(1_us);
    }
    throw ModelBug(ep_.name + ": admin command never completed");
  }

  void on_irq(ps_t t, uint16_t vector) {
    Machine* m = p_.machine();
    if (!m || vector == 0 || vector > io_.size()) return;  // boot polls the admin queue
    const size_t idx = vector - 1u;  // I/O queue qid's CQ uses vector qid
    const int cpu = io_[idx].irq_cpu % m->nr_cpus();
    m->post_hardware_event({t, index_, irq_seq_++, [this, m, cpu, idx] {
                              m->raise_irq(cpu, fmt::format("nvme_irq {}q{}", ep_.name, io_[idx].qid),
                                           [this, idx](kern::Exec& ex) { irq(ex, io_[idx]); });
                            }});
  }

  /// The oracle's check of a DMA that touches P2P pages.
 public:
  void check(uint64_t addr, size_t len, ps_t at, const char* what) {
    check_device_dma(
        p_, ep_.name, addr, len, at, what,
        [this](uint64_t page) -> std::optional<uint64_t> {
          std::optional<uint64_t> shadow;
          for (const auto& [req, inf] : inflight_)
            for (const auto& mp : inf.maps)
              if (mp.dma == page) shadow = mp.shadow_alloc;
          return shadow;
        },
        "no I/O in flight has it mapped");
  }

 private:
  Platform& p_;
  EndpointSpec ep_;
  int index_;
  NvmeModule* module_;
  uint64_t base_ = 0;
  uint64_t queue_dma_ = 0;  ///< bus/IOVA address of base_
  Queue admin_;
  uint32_t q_depth_ = 0;            ///< dev->q_depth: entries of every I/O queue
  std::vector<Queue> io_;           ///< I/O queue qid at io_[qid - 1]
  std::vector<int> cpu_queue_;      ///< CPU -> index in io_ (blk_mq_pci_map_queues)
  std::vector<uint32_t> prp_free_;  ///< PRP list pages not in use
  uint16_t next_admin_cid_ = 1;
  std::map<int, Inflight> inflight_;
  bool removed_ = false;  ///< nvme_remove() deleted the disk: new bios fail
  bool link_down_ = false;  ///< surprise removal: the controller is gone
  bool quiesced_ = false;   ///< nvme_quiesce_io_queues(): dispatch held back
  bool suspended_ = false;  ///< nvme_suspend_io_queues(): NVMEQ_ENABLED clear
  int in_queue_rq_ = 0;     ///< submitters inside ->queue_rq (what quiescing waits for)
  int entered_ = 0;       ///< submitters between bio_queue_enter() and queueing
  uint64_t irq_seq_ = 0;
  hw::NvmeCmbMap cmb_;
};

Platform::Platform(const Scenario& sc, kern::Kernel& k, CoroutineHost& host, const HardwareModules& modules)
    : sc_(sc), k_(k), host_(host), modules_(modules) {
  const TopologySpec& t = *sc.topo;
  hw::FabricConfig fc;
  for (const auto& [dev, l] : t.links) {
    fc.links[dev] = hw::LinkConfig{l.gen, l.lanes, l.mps, l.mrrs, l.rcb, true, false};
    if (l.credits) fc.credits[dev] = *l.credits;
  }
  for (const auto& ep : t.endpoints) {
    if (ep.bar_size()) fc.bars[ep.device].push_back({ep.bar_phys, ep.bar_size()});
    if (ep.read_tags) fc.read_tags[ep.device] = ep.read_tags;
    if (ep.request_interval) fc.request_interval[ep.device] = ep.request_interval;
  }
  for (const auto& [id, name] : t.host_names) {
    hw::HostBridgeParams hp;
    // The kernel model's user memory must be memory this host bridge claims.
    static_assert(kern::kUserRamBasePfn << kern::PAGE_SHIFT >= kDramBase + 0x100000000ULL &&
                      (kern::kUserRamBasePfn + kern::kUserRamPages) << kern::PAGE_SHIFT <= kDramBase + kDramSize,
                  "user RAM (kernel/page_alloc.h) outside the platform's DRAM, or over the drivers' memory");
    if (id == 0) hp.dram = {kDramBase, kDramSize};
    hp.msi = {kMsiBase, kMsiSize};
    if (auto rf = t.rc_forwarding.find(id); rf != t.rc_forwarding.end()) {
      hp.p2p_bytes_per_sec = rf->second.bytes_per_sec;
      if (rf->second.latency_given) hp.p2p_latency = rf->second.latency;
      if (rf->second.dram_read_latency) hp.dram_read_latency = *rf->second.dram_read_latency;
      hp.dram_completion_bytes_per_sec = rf->second.dram_completion_bytes_per_sec;
    }
    fc.hosts[id] = hp;
    fc.host_names[id] = name;
  }
  for (const auto& [dev, name] : t.names) fc.names[dev] = name;
  pci_ = t.pci;
  fabric_ = std::make_unique<hw::PcieFabric>(pci_, fc);
  fabric_->set_record_paths(false);  // the tree's modules read timing and outcome only
  distance_ = std::make_unique<hw::P2pdmaDistance>(pci_);
  hw::IommuConfig ic;
  ic.ncpus = static_cast<uint32_t>(k.cpus.size());
  ic.page_walkers = t.iommu_page_walkers;
  ic.invalidation_ps = t.iommu_invalidation_wait;
  iommu_ = std::make_unique<hw::Iommu>(ic);
  mapper_ = std::make_unique<hw::DmaMapper>(*iommu_, distance_.get());
  iommu_enabled_ = t.iommu;
  if (modules.root_complexes.empty()) throw ModelBug("a scenario with device models needs the SystemC host's modules");
  size_t nvme = 0, external = 0;
  for (const auto& ep : t.endpoints) {
    if (!ep.has_model()) continue;
    if (ep.kind == "nvme") {
      if (nvme >= modules.nvme.size()) throw ModelBug("fewer NVMe modules elaborated than endpoints");
      devices_.push_back(std::make_unique<NvmeDevice>(*this, ep, static_cast<int>(nvme), modules.nvme[nvme]));
      ++nvme;
    } else {
      if (external >= modules.external.size() || modules.external[external].name != ep.name)
        throw ModelBug(fmt::format("no model elaborated for tlm endpoint {}", ep.name));
      externals_.push_back(std::make_unique<ExternalDevice>(*this, ep, *modules.external[external].model,
                                                            0x10000 + static_cast<int>(external)));
      ++external;
    }
    mapper_->add_device(ep.device);
    if (iommu_enabled_) {
      const hw::DomainId d = iommu_->alloc_domain(t.iommu_mode == "strict" ? hw::DomainType::dma
                                                                           : hw::DomainType::dma_fq);
      reserve_iommu_regions(d, ep.device);
      iommu_->attach_device(ep.device, d);
    }
  }
  if (nvme != modules.nvme.size() || external != modules.external.size())
    throw ModelBug("the elaborated device modules do not match the topology's endpoints");
  modules.attach(this);
  boot_t0_ = host.now();
}

Platform::~Platform() {
  for (auto& d : devices_) d->detach();
  modules_.detach();
  modules_.interrupts->clear();
}

void Platform::boot(kern::Exec& boot, std::map<std::string, kern::P2pdmaProvider*>& providers) {
  for (auto& d : devices_) d->probe(boot, host_, providers);
  k_.device_memory = [this](uint64_t pfn) -> uint8_t* {
    for (auto& d : devices_)
      if (uint8_t* p = d->cmb_memory(pfn)) return p;
    return nullptr;
  };
  // Every p2pmem provider is a p2pdma provider device: tell the distance code.
  for (const auto& ep : sc_.topo->endpoints) {
    auto it = providers.find(ep.name);
    if (it == providers.end()) continue;
    distance_->setup(ep.device);
    for (const kern::DevPagemap* pg : it->second->pgmaps) {
      pgmap_dev_[pg] = ep.device;
      mapper_->add_p2p_pgmap({ep.device, pg->base_pfn << kern::PAGE_SHIFT, pg->nr_pages << kern::PAGE_SHIFT, pg->bus_offset});
    }
  }
}

void Platform::start(Machine& m) { machine_ = &m; }

NvmeDevice* Platform::nvme(const std::string& name) {
  for (auto& d : devices_)
    if (d->name() == name) return d.get();
  return nullptr;
}

hw::NvmeController* Platform::controller(const std::string& name) {
  NvmeDevice* d = nvme(name);
  return d ? &d->ctrl : nullptr;
}

std::optional<Platform::P2pDistance> Platform::p2pdma_distance(const std::string& provider,
                                                               const std::string& client) {
  hw::DeviceId prov = hw::kNoDevice, cli = hw::kNoDevice;
  for (const auto& [dev, name] : sc_.topo->names) {
    if (name == provider) prov = dev;
    if (name == client) cli = dev;
  }
  if (prov == hw::kNoDevice || cli == hw::kNoDevice) return std::nullopt;
  P2pDistance d;
  d.map_type = distance_->calc_map_type_and_dist(prov, cli, &d.distance, false);
  d.client_idx = hw::map_types_idx(pci_.device(cli));
  return d;
}

std::vector<std::string> Platform::pci_device_names() const {
  std::vector<std::string> v;
  for (const auto& [dev, name] : sc_.topo->names) v.push_back(name);
  return v;
}

hw::DeviceId Platform::bar_owner(uint64_t addr) const {
  for (const auto& ep : sc_.topo->endpoints)
    if (ep.bar_size() && addr >= ep.bar_phys && addr - ep.bar_phys < ep.bar_size()) return ep.device;
  return hw::kNoDevice;
}

ExternalDevice* Platform::external(const std::string& name) {
  for (auto& d : externals_)
    if (d->name() == name) return d.get();
  return nullptr;
}

void Platform::unmap_device_dma(kern::Exec& ex, const std::vector<kern::GupPage>& pages) {
  for (auto& d : externals_) d->unmap_pages(ex, pages);
}

uint16_t Platform::requester_id(hw::DeviceId dev) const {
  const hw::PciDevice& d = pci_.device(dev);
  return static_cast<uint16_t>(d.bus << 8 | d.devfn);
}

// iommu_dma_init_domain() -> iova_reserve_iommu_regions() (v6.2): first
// iova_reserve_pci_windows(), every memory window of the device's host
// bridge, so that no IOVA is an address a bridge would route to a BAR
// (this model's host bridge window: the span of the BARs below its root
// ports; it has no dma-ranges, whose gaps would be reserved too); then the
// reserved regions: the MSI window intel_iommu_get_resv_regions() reports
// (IOMMU_RESV_MSI), or a DMA to it would be taken for an interrupt.
void Platform::reserve_iommu_regions(hw::DomainId d, hw::DeviceId dev) {
  hw::IovaDomain& iovad = iommu_->iovad(d);
  const hw::HostBridgeId host = pci_.device(dev).host;
  std::optional<hw::AddressRange> window;
  for (const hw::PciDevice& rp : pci_.devices()) {
    if (rp.type != hw::PciFunctionType::root_port || rp.host != host) continue;
    const auto w = fabric_->memory_window(rp.id);
    if (!w) continue;
    const uint64_t lo = window ? std::min(window->base, w->base) : w->base;
    const uint64_t hi = window ? std::max(window->end(), w->end()) : w->end();
    window = hw::AddressRange{lo, hi - lo};
  }
  if (window) iovad.reserve_iova(window->base >> kern::PAGE_SHIFT, (window->end() - 1) >> kern::PAGE_SHIFT);
  iovad.reserve_iova(kMsiBase >> kern::PAGE_SHIFT, (kMsiBase + kMsiSize - 1) >> kern::PAGE_SHIFT);
}

bool Platform::link_down(uint64_t addr) const {
  if (links_down_.empty()) return false;
  const hw::DeviceId owner = bar_owner(addr);
  return std::find(links_down_.begin(), links_down_.end(), owner) != links_down_.end();
}

void Platform::surprise_remove(const std::string& name) {
  for (const auto& ep : sc_.topo->endpoints)
    if (ep.name == name) links_down_.push_back(ep.device);
  if (NvmeDevice* d = nvme(name)) d->link_down();
}

namespace {
// The kernel model's default-domain types and the IOMMU model's (which also
// has blocked domains, never a default one).
kern::IommuDomainType to_kern(hw::DomainType t) {
  return t == hw::DomainType::identity ? kern::IommuDomainType::identity
         : t == hw::DomainType::dma    ? kern::IommuDomainType::dma
                                       : kern::IommuDomainType::dma_fq;
}
hw::DomainType to_hw(kern::IommuDomainType t) {
  return t == kern::IommuDomainType::identity ? hw::DomainType::identity
         : t == kern::IommuDomainType::dma    ? hw::DomainType::dma
                                              : hw::DomainType::dma_fq;
}
}  // namespace

std::optional<kern::IommuGroup> Platform::iommu_group(const std::string& name) {
  if (!iommu_enabled_) return std::nullopt;
  const EndpointSpec* ep = nullptr;
  for (const auto& e : sc_.topo->endpoints)
    if (e.name == name && e.has_model()) ep = &e;
  if (!ep) return std::nullopt;
  kern::IommuGroup g;
  g.device = name;
  g.type = to_kern(iommu_->domain_type(iommu_->domain_of(ep->device)));
  g.boot_type = sc_.topo->iommu_mode == "strict" ? kern::IommuDomainType::dma : kern::IommuDomainType::dma_fq;
  const hw::DeviceId dev = ep->device;
  g.init_fq = [this, dev] { return iommu_->init_fq(iommu_->domain_of(dev)); };
  g.new_default_domain = [this, dev](kern::IommuDomainType t) {
    const hw::DomainId d = iommu_->alloc_domain(to_hw(t));
    if (iommu_->translates(d)) reserve_iommu_regions(d, dev);  // as at boot
    iommu_->attach_device(dev, d);
    return 0;
  };
  return g;
}

uint64_t Platform::bar_base(hw::DeviceId dev) const {
  for (const auto& ep : sc_.topo->endpoints)
    if (ep.device == dev) return ep.bar_phys;
  throw ModelBug(fmt::format("device {} is not an endpoint", dev));
}

bool Platform::move_bytes(hw::DeviceId requester, uint64_t addr, uint8_t* buf, size_t len, bool to_memory) {
  for (uint64_t pfn = addr >> kern::PAGE_SHIFT; pfn <= (addr + len - 1) >> kern::PAGE_SHIFT; ++pfn)
    if (pfn << kern::PAGE_SHIFT < kDramBase && !k_.pfn_to_page(pfn)) return false;
  move_bytes(device_name(requester), addr, buf, len, to_memory, 0);
  return true;
}

void Platform::dma_done(hw::DeviceId requester, uint64_t addr, size_t len, ps_t at, bool write) {
  const char* what = write ? "DMA write" : "DMA read";
  for (auto& d : devices_)
    if (d->device() == requester) return d->check(addr, len, at, what);
  for (auto& d : externals_)
    if (d->device() == requester) return d->check(addr, len, at, what);
}

void Platform::raise_msi(hw::DeviceId requester, uint64_t addr, uint32_t data, ps_t at) {
  const int cpu = static_cast<int>((addr >> 12) & 0xff);
  for (auto& d : externals_)
    if (d->device() == requester) return d->on_msi(at, cpu, data);
  throw ModelBug(fmt::format("{} sent an MSI, but only tlm endpoints signal interrupts that way here",
                             device_name(requester)));
}

void Platform::report(hw::DeviceId device, FindingKind kind, const std::string& message, ps_t at) {
  DeviceExec dx(machine_, device_name(device), at);
  dx.report(kind, message);
}

void Platform::set_acs(const std::string& port, uint16_t ctrl) {
  for (const auto& [dev, name] : sc_.topo->names)
    if (name == port) {
      pci_.set_acs_ctrl(dev, ctrl);  // the kernel's and the IOMMU path's view
      fabric_->set_acs_ctrl(dev, ctrl);  // the links' routing (the fabric keeps its own copy)
    }
}

uint64_t Platform::rc_p2p_bytes() const {
  uint64_t n = 0;
  for (const auto& [id, name] : sc_.topo->host_names) n += fabric_->rc_p2p_bytes(id);
  return n;
}

ps_t Platform::abs(ps_t rel) const { return machine_ ? machine_->t0() + rel : host_.now(); }

hw::DeviceId Platform::provider_device(const kern::DevPagemap* pgmap) const {
  auto it = pgmap_dev_.find(pgmap);
  if (it == pgmap_dev_.end()) throw ModelBug("a P2PDMA page of a provider with no PCI device");
  return it->second;
}

void Platform::move_bytes(const std::string& device, uint64_t addr, uint8_t* buf, size_t len, bool to_memory, ps_t) {
  while (len) {
    const uint64_t pfn = addr >> kern::PAGE_SHIFT, off = addr & (PAGE_SIZE - 1);
    const size_t n = std::min<size_t>(len, PAGE_SIZE - off);
    if (pfn << kern::PAGE_SHIFT < kDramBase && !k_.pfn_to_page(pfn))
      throw ModelBug(fmt::format("{}: DMA to {:#x}, which is neither DRAM nor a P2P BAR page", device, addr));
    uint8_t* mem = k_.phys_page(pfn) + off;
    if (to_memory)
      std::memcpy(mem, buf, n);
    else
      std::memcpy(buf, mem, n);
    addr += n;
    buf += n;
    len -= n;
  }
}

}  // namespace p2psim
