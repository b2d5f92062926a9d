// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "hw/nvme_controller.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace p2psim::hw {

using namespace nvme;

namespace {

// A finished command's buffer, emptied, for the next command to fill.
template <class T>
void give_spare(std::vector<std::vector<T>>& spares, std::vector<T>& v) {
  v.clear();
  if (v.capacity()) spares.push_back(std::move(v));
}
template <class T>
void take_spare(std::vector<std::vector<T>>& spares, std::vector<T>& v) {
  if (spares.empty()) return;
  v = std::move(spares.back());
  spares.pop_back();
}

constexpr std::uint64_t kPageMask4k = 0xfff;

std::uint64_t pow2_at_least(std::uint64_t v) {
  std::uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

void copy_padded(char* dst, std::size_t n, const std::string& s) {
  std::memset(dst, ' ', n);
  std::memcpy(dst, s.data(), std::min(n, s.size()));
}

std::uint8_t log2_exact(std::uint64_t v) {
  std::uint8_t n = 0;
  while ((1ULL << n) < v) ++n;
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction and BAR geometry
// ---------------------------------------------------------------------------

NvmeController::NvmeController(const NvmeControllerConfig& cfg, DmaPort& dma)
    : cfg_(cfg), dma_(dma), flash_(cfg.drive.flash) {
  if (cfg_.lba_bytes < 512 || (cfg_.lba_bytes & (cfg_.lba_bytes - 1)) != 0) {
    throw std::invalid_argument("NvmeControllerConfig: lba_bytes must be a power of two >= 512");
  }
  if (cfg_.mpsmin > cfg_.mpsmax || cfg_.mqes < 1 || cfg_.max_io_queues == 0 ||
      cfg_.sqe_fetch_burst == 0) {
    throw std::invalid_argument("NvmeControllerConfig: bad queue or page-size limits");
  }
  if (cfg_.cmb && (cfg_.cmb_bir > 5 || cfg_.cmb_szu > 6 || cfg_.cmb_sz == 0)) {
    throw std::invalid_argument("NvmeControllerConfig: bad CMB geometry");
  }
  cap_ = cap::kMqes.put(cap_, cfg_.mqes);
  cap_ = cap::kCqr.put(cap_, 1);
  cap_ = cap::kTo.put(cap_, cfg_.timeout_500ms);
  cap_ = cap::kDstrd.put(cap_, cfg_.dstrd);
  cap_ = cap::kCss.put(cap_, 1);  // NVM command set
  cap_ = cap::kMpsmin.put(cap_, cfg_.mpsmin);
  cap_ = cap::kMpsmax.put(cap_, cfg_.mpsmax);
  cap_ = cap::kCmbs.put(cap_, (cfg_.cmb && cfg_.cmb_v14) ? 1 : 0);
  if (cfg_.cmb) {
    cmbloc_ = static_cast<std::uint32_t>(cmbloc::kBir.put(0, cfg_.cmb_bir));
    cmbloc_ = static_cast<std::uint32_t>(cmbloc::kOfst.put(cmbloc_, cfg_.cmb_ofst));
    std::uint64_t sz = 0;
    sz = cmbsz::kSqs.put(sz, cfg_.cmb_sqs);
    sz = cmbsz::kCqs.put(sz, cfg_.cmb_cqs);
    sz = cmbsz::kLists.put(sz, cfg_.cmb_lists);
    sz = cmbsz::kRds.put(sz, cfg_.cmb_rds);
    sz = cmbsz::kWds.put(sz, cfg_.cmb_wds);
    sz = cmbsz::kSzu.put(sz, cfg_.cmb_szu);
    sz = cmbsz::kSz.put(sz, cfg_.cmb_sz);
    cmbsz_ = static_cast<std::uint32_t>(sz);
  }
  sqs_.resize(cfg_.max_io_queues + 1U);
  cqs_.resize(cfg_.max_io_queues + 1U);
}

std::uint64_t NvmeController::cmb_bytes() const {
  return cfg_.cmb ? cmbsz::unit_bytes(cfg_.cmb_szu) * cfg_.cmb_sz : 0;
}

std::uint64_t NvmeController::cmb_bar_offset() const {
  return cfg_.cmb ? cmbsz::unit_bytes(cfg_.cmb_szu) * cfg_.cmb_ofst : 0;
}

std::uint64_t NvmeController::cmb_bar_size() const {
  if (!cfg_.cmb) return 0;
  if (cfg_.cmb_bar_size != 0) return cfg_.cmb_bar_size;
  return pow2_at_least(cmb_bar_offset() + cmb_bytes());
}

std::uint64_t NvmeController::bar0_size() const {
  const std::uint64_t regs =
      cq_head_doorbell(cfg_.max_io_queues, cfg_.dstrd) + (4ULL << cfg_.dstrd);
  std::uint64_t s = std::max<std::uint64_t>(pow2_at_least(regs), 0x4000);
  if (cfg_.cmb && cfg_.cmb_bir == 0) s = std::max(s, cmb_bar_size());
  return s;
}

std::uint32_t NvmeController::mps_bytes() const {
  return 4096U << cc::kMps.get(cc_);
}

bool NvmeController::cmb_regs_visible() const {
  if (!cfg_.cmb) return false;
  if (!cap::kCmbs.get(cap_)) return true;
  return cmbmsc::kCre.get(cmbmsc_) != 0;
}

bool NvmeController::in_cmb(std::uint64_t addr, std::uint64_t len) const {
  if (!cfg_.cmb || len == 0) return false;
  std::uint64_t base;
  if (cap::kCmbs.get(cap_)) {
    if (!cmse_active_) return false;
    base = cba_;
  } else {
    if (legacy_cmb_bus_ == kNoEvent) return false;
    base = legacy_cmb_bus_;
  }
  const std::uint64_t size = cmb_bytes();
  if (addr < base) return false;
  const std::uint64_t off = addr - base;
  return off < size && len <= size - off;
}


void NvmeController::cmb_read(std::uint64_t offset, std::uint8_t* dst, std::size_t len) const {
  if (offset > cmb_bytes() || len > cmb_bytes() - offset) {
    throw std::out_of_range("cmb_read beyond the CMB");
  }
  cmb_.read(offset, dst, len);
}

void NvmeController::cmb_write(std::uint64_t offset, const std::uint8_t* src, std::size_t len) {
  if (offset > cmb_bytes() || len > cmb_bytes() - offset) {
    throw std::out_of_range("cmb_write beyond the CMB");
  }
  cmb_.write(offset, src, len);
}

// ---------------------------------------------------------------------------
// Registers
// ---------------------------------------------------------------------------

std::uint64_t NvmeController::reg_read(ps_t now, std::uint64_t offset, unsigned size) {
  now_ = std::max(now_, now);
  if (size == 8) return reg_read(now, offset, 4) | (reg_read(now, offset + 4, 4) << 32);
  if (size != 4 || (offset & 3) != 0) throw std::invalid_argument("NVMe register reads are 4 or 8 bytes, aligned");
  switch (offset) {
    case kRegCap: return cap_ & 0xffffffffULL;
    case kRegCap + 4: return cap_ >> 32;
    case kRegVs: return cfg_.version;
    case kRegIntms:
    case kRegIntmc: return intms_;
    case kRegCc: return cc_;
    case kRegCsts: return csts_;
    case kRegAqa: return aqa_;
    case kRegAsq: return asq_ & 0xffffffffULL;
    case kRegAsq + 4: return asq_ >> 32;
    case kRegAcq: return acq_ & 0xffffffffULL;
    case kRegAcq + 4: return acq_ >> 32;
    case kRegCmbloc: return cmb_regs_visible() ? cmbloc_ : 0;
    case kRegCmbsz: return cmb_regs_visible() ? cmbsz_ : 0;
    case kRegCmbmsc: return cap::kCmbs.get(cap_) ? (cmbmsc_ & 0xffffffffULL) : 0;
    case kRegCmbmsc + 4: return cap::kCmbs.get(cap_) ? (cmbmsc_ >> 32) : 0;
    case kRegCmbsts: return cap::kCmbs.get(cap_) ? cmbsts_ : 0;
    default: return 0;  // reserved registers and doorbells read as 0
  }
}

void NvmeController::reg_write(ps_t now, std::uint64_t offset, std::uint64_t value,
                               unsigned size) {
  now_ = std::max(now_, now);
  if (size == 8) {
    if (offset == kRegCmbmsc) {  // one atomic update of CRE, CMSE and CBA
      if (cap::kCmbs.get(cap_)) write_cmbmsc(value);
      return;
    }
    reg_write(now, offset, value & 0xffffffffULL, 4);
    reg_write(now, offset + 4, value >> 32, 4);
    return;
  }
  if (size != 4 || (offset & 3) != 0) throw std::invalid_argument("NVMe register writes are 4 or 8 bytes, aligned");
  const auto v = static_cast<std::uint32_t>(value);
  if (offset >= kRegDoorbells) {
    doorbell(now, offset, v);
    return;
  }
  switch (offset) {
    case kRegIntms: intms_ |= v; break;
    case kRegIntmc: intms_ &= ~v; break;
    case kRegCc: write_cc(now, v); break;
    case kRegAqa:
      aqa_ = static_cast<std::uint32_t>(aqa::kAsqs.mask() | aqa::kAcqs.mask()) & v;
      break;
    case kRegAsq: asq_ = (asq_ & ~0xffffffffULL) | (v & ~kPageMask4k); break;
    case kRegAsq + 4: asq_ = (asq_ & 0xffffffffULL) | (std::uint64_t{v} << 32); break;
    case kRegAcq: acq_ = (acq_ & ~0xffffffffULL) | (v & ~kPageMask4k); break;
    case kRegAcq + 4: acq_ = (acq_ & 0xffffffffULL) | (std::uint64_t{v} << 32); break;
    case kRegCmbmsc:
      // A low-dword write applies CRE/CMSE with whatever CBA high half was
      // written before (the driver's hi_lo_writeq writes the high half first).
      if (cap::kCmbs.get(cap_)) write_cmbmsc((cmbmsc_ & ~0xffffffffULL) | v);
      break;
    case kRegCmbmsc + 4:
      if (cap::kCmbs.get(cap_)) cmbmsc_ = (cmbmsc_ & 0xffffffffULL) | (std::uint64_t{v} << 32);
      break;
    default: break;  // CAP, VS, CSTS, CMBLOC, CMBSZ are read-only; NSSR unsupported
  }
}

void NvmeController::write_cmbmsc(std::uint64_t value) {
  cmbmsc_ = value & (cmbmsc::kCre.mask() | cmbmsc::kCmse.mask() | cmbmsc::kCba.mask());
  cmse_active_ = false;
  if (!cmbmsc::kCre.get(cmbmsc_) || !cmbmsc::kCmse.get(cmbmsc_)) return;
  const std::uint64_t cba = cmbmsc_ & cmbmsc::kCba.mask();
  if (cba + cmb_bytes() < cba) {  // the CMB would wrap the address space
    cmbsts_ = static_cast<std::uint32_t>(cmbsts::kCbai.put(cmbsts_, 1));
    return;
  }
  cmbsts_ = static_cast<std::uint32_t>(cmbsts::kCbai.put(cmbsts_, 0));
  cba_ = cba;
  cmse_active_ = true;
}

void NvmeController::write_cc(ps_t now, std::uint32_t value) {
  const std::uint32_t old = cc_;
  const std::uint64_t defined = cc::kEn.mask() | cc::kCss.mask() | cc::kMps.mask() |
                                cc::kAms.mask() | cc::kShn.mask() | cc::kIosqes.mask() |
                                cc::kIocqes.mask();
  cc_ = static_cast<std::uint32_t>(value & defined);
  const bool was_en = cc::kEn.get(old) != 0;
  const bool en = cc::kEn.get(cc_) != 0;

  if (!was_en && en) {
    // NVMe 1.4 §7.6.1: the host has set AQA/ASQ/ACQ and CC; the controller
    // becomes ready after an implementation-specific delay (< CAP.TO).
    enable_error_.clear();
    const std::uint64_t mps = cc::kMps.get(cc_);
    if (cc::kCss.get(cc_) != 0) enable_error_ = "CC.CSS selects an unsupported command set";
    else if (mps < cfg_.mpsmin || mps > cfg_.mpsmax) enable_error_ = "CC.MPS outside CAP.MPSMIN..MPSMAX";
    else if (aqa::kAsqs.get(aqa_) == 0 || aqa::kAcqs.get(aqa_) == 0) enable_error_ = "AQA sizes below 2 entries";
    else if (aqa::kAsqs.get(aqa_) > cfg_.mqes || aqa::kAcqs.get(aqa_) > cfg_.mqes) enable_error_ = "AQA sizes above CAP.MQES";
    else if (asq_ == 0 || acq_ == 0) enable_error_ = "ASQ/ACQ not set";
    if (!enable_error_.empty()) return;  // CSTS.RDY stays 0, as QEMU does
    reset_queues();
    SubQueue& asq = sqs_[0];
    asq.valid = true;
    asq.base = asq_;
    asq.size = static_cast<std::uint32_t>(aqa::kAsqs.get(aqa_)) + 1;
    asq.cqid = 0;
    CompQueue& acq = cqs_[0];
    acq.valid = true;
    acq.base = acq_;
    acq.size = static_cast<std::uint32_t>(aqa::kAcqs.get(aqa_)) + 1;
    acq.ien = true;
    acq.iv = 0;
    acq.sq_refs = 1;
    csts_ = static_cast<std::uint32_t>(csts::kShst.put(csts_, csts::kShstNormal));
    schedule(now + cfg_.enable_delay, Ev::kEnableDone);
    return;
  }
  if (was_en && !en) {
    // Controller reset (§7.3.2): queues and commands are gone; RDY drops later.
    events_.clear();
    reset_queues();
    schedule(now + cfg_.disable_delay, Ev::kDisableDone);
    return;
  }
  if (en && cc::kShn.get(old) == 0 && cc::kShn.get(cc_) != 0) {
    csts_ = static_cast<std::uint32_t>(csts::kShst.put(csts_, csts::kShstOccurring));
    ps_t done = now + cfg_.shutdown_delay;
    if (cfg_.volatile_write_cache) done = std::max(done, flash_.idle_time());
    schedule(done, Ev::kShutdownDone);
  }
}

void NvmeController::reset_queues() {
  for (auto& q : sqs_) q = SubQueue{};
  for (auto& q : cqs_) q = CompQueue{};
  cmds_.clear();
  nsqa_ = ncqa_ = 0;
}

void NvmeController::doorbell(ps_t now, std::uint64_t offset, std::uint32_t value) {
  const std::uint64_t stride = 4ULL << cfg_.dstrd;
  const std::uint64_t rel = offset - kRegDoorbells;
  if (rel % stride != 0 || !ready()) {
    ++stats_.invalid_doorbells;
    return;
  }
  const std::uint64_t index = rel / stride;
  const std::uint64_t qid = index / 2;
  if (qid >= sqs_.size()) {
    ++stats_.invalid_doorbells;
    return;
  }
  if (index % 2 == 0) {
    SubQueue& sq = sqs_[qid];
    if (!sq.valid || value >= sq.size) {
      ++stats_.invalid_doorbells;
      return;
    }
    sq.tail = value;
    if (!sq.fetching && sq.head != sq.tail) {
      sq.fetching = true;
      schedule(now + cfg_.drive.doorbell_to_fetch, Ev::kFetch, qid);
    }
  } else {
    CompQueue& cq = cqs_[qid];
    if (!cq.valid || value >= cq.size) {
      ++stats_.invalid_doorbells;
      return;
    }
    cq.head = value;
    while (!cq.parked.empty()) {
      schedule(now, Ev::kPostCqe, cq.parked.front());
      cq.parked.pop_front();
    }
  }
}

// ---------------------------------------------------------------------------
// Event engine
// ---------------------------------------------------------------------------

void NvmeController::schedule(ps_t t, Ev kind, std::uint64_t arg) {
  events_.push_back(QueuedEvent{std::max(t, now_), seq_++, Event{kind, arg}});
  std::push_heap(events_.begin(), events_.end(), std::greater<QueuedEvent>());
}

ps_t NvmeController::next_event_time() const {
  return events_.empty() ? kNoEvent : events_.front().t;
}

void NvmeController::advance(ps_t now) {
  while (!events_.empty()) {
    const ps_t t = events_.front().t;
    if (t > now) break;
    std::pop_heap(events_.begin(), events_.end(), std::greater<QueuedEvent>());
    const Event ev = events_.back().ev;
    events_.pop_back();
    now_ = std::max(now_, t);
    run(t, ev);
  }
  now_ = std::max(now_, now);
}

void NvmeController::retire(std::map<std::uint64_t, Cmd>::iterator it) {
  give_spare(spare_data_, it->second.data);
  give_spare(spare_prps_, it->second.prps);
  cmds_.erase(it);
}

void NvmeController::run(ps_t t, const Event& ev) {
  switch (ev.kind) {
    case Ev::kEnableDone:
      csts_ = static_cast<std::uint32_t>(csts::kRdy.put(csts_, 1));
      break;
    case Ev::kDisableDone:  // reset done: RDY and SHST back to 0
      csts_ = 0;
      break;
    case Ev::kShutdownDone:
      csts_ = static_cast<std::uint32_t>(csts::kShst.put(csts_, csts::kShstComplete));
      break;
    case Ev::kFetch: on_fetch(t, static_cast<std::uint16_t>(ev.arg)); break;
    case Ev::kExecute: on_execute(t, ev.arg); break;
    case Ev::kPrpList: on_prp_list(t, ev.arg); break;
    case Ev::kPrpsDone:
      if (cmds_.count(ev.arg) != 0) after_prps(t, ev.arg);
      break;
    case Ev::kDataIn: on_data_in(t, ev.arg); break;
    case Ev::kMedia: on_media(t, ev.arg); break;
    case Ev::kDataOut: on_data_out(t, ev.arg); break;
    case Ev::kPostCqe: on_post_cqe(t, ev.arg); break;
    case Ev::kIrq: {
      const CompQueue& cq = cqs_[ev.arg];
      const std::uint16_t iv = cq.iv;
      const bool masked = iv < 32 && ((intms_ >> iv) & 1U) != 0;
      if (irq_ && !masked) irq_(t, iv);
      break;
    }
  }
}

// ---------------------------------------------------------------------------
// Memory access
// ---------------------------------------------------------------------------

ps_t NvmeController::cmb_time(ps_t now, std::uint64_t len) const {
  return now + cfg_.cmb_access_latency +
         (len * 1000000ULL + cfg_.cmb_bytes_per_us - 1) / cfg_.cmb_bytes_per_us;
}

ps_t NvmeController::mem_read(ps_t now, std::uint64_t addr, std::uint8_t* dst, std::size_t len) {
  if (in_cmb(addr, len)) {
    const std::uint64_t base = cap::kCmbs.get(cap_) ? cba_ : legacy_cmb_bus_;
    cmb_.read(addr - base, dst, len);
    stats_.cmb_internal_bytes += len;
    return cmb_time(now, len);
  }
  ++stats_.dma_reads;
  stats_.dma_bytes += len;
  return std::max(now, dma_.dma_read(now, addr, dst, len));
}

ps_t NvmeController::mem_write(ps_t now, std::uint64_t addr, const std::uint8_t* src,
                               std::size_t len) {
  if (in_cmb(addr, len)) {
    const std::uint64_t base = cap::kCmbs.get(cap_) ? cba_ : legacy_cmb_bus_;
    cmb_.write(addr - base, src, len);
    stats_.cmb_internal_bytes += len;
    return cmb_time(now, len);
  }
  ++stats_.dma_writes;
  stats_.dma_bytes += len;
  return std::max(now, dma_.dma_write(now, addr, src, len));
}

// ---------------------------------------------------------------------------
// Command pipeline
// ---------------------------------------------------------------------------

void NvmeController::on_fetch(ps_t t, std::uint16_t sqid) {
  SubQueue& sq = sqs_[sqid];
  if (!sq.valid) return;
  if (sq.head == sq.tail) {
    sq.fetching = false;
    return;
  }
  const std::uint32_t contiguous = sq.tail > sq.head ? sq.tail - sq.head : sq.size - sq.head;
  const std::uint32_t n = std::min<std::uint32_t>(contiguous, cfg_.sqe_fetch_burst);
  std::vector<std::uint8_t>& buf = fetch_buf_;
  buf.assign(std::size_t{n} * sizeof(Sqe), 0);
  const ps_t done = mem_read(t, sq.base + std::uint64_t{sq.head} * sizeof(Sqe), buf.data(),
                             buf.size());
  const ps_t overhead = sqid == 0 ? cfg_.admin_overhead : cfg_.drive.submit_overhead;
  for (std::uint32_t i = 0; i < n; ++i) {
    Cmd c;
    std::memcpy(&c.sqe, buf.data() + std::size_t{i} * sizeof(Sqe), sizeof(Sqe));
    c.sqid = sqid;
    take_spare(spare_data_, c.data);
    take_spare(spare_prps_, c.prps);
    const std::uint64_t id = next_cmd_++;
    cmds_.emplace(id, std::move(c));
    schedule(done + overhead, Ev::kExecute, id);
  }
  sq.head = (sq.head + n) % sq.size;
  schedule(done, Ev::kFetch, sqid);
}

void NvmeController::fail(ps_t t, std::uint64_t id, std::uint8_t sct, std::uint8_t sc) {
  cmds_.at(id).status = make_status(sct, sc);
  schedule(t, Ev::kPostCqe, id);
}

void NvmeController::on_execute(ps_t t, std::uint64_t id) {
  auto it = cmds_.find(id);
  if (it == cmds_.end()) return;
  if (it->second.sqid == 0) exec_admin(t, id, it->second);
  else exec_io(t, id, it->second);
}

bool NvmeController::start_prps(Cmd& c) {
  // NVMe 1.4 §4.3: PRP1 may carry a dword-aligned offset; PRP2 is the second
  // page when the transfer ends within two pages, else a PRP List pointer.
  if (kSqePsdt.get(c.sqe.flags) != 0) {  // SGLs are not supported (SGLS = 0)
    c.status = make_status(kSctGeneric, kScInvalidField);
    return false;
  }
  const std::uint64_t mps = mps_bytes();
  const std::uint64_t prp1 = c.sqe.prp1;
  if ((prp1 & 3) != 0) {
    c.status = make_status(kSctGeneric, kScPrpOffsetInvalid);
    return false;
  }
  const std::uint64_t first = std::min(c.xfer_len, mps - prp1 % mps);
  const std::uint64_t rest = c.xfer_len - first;
  const std::uint64_t more = (rest + mps - 1) / mps;
  c.prps.assign(1, prp1);
  c.list_needed = 0;
  if (more == 1) {
    if (c.sqe.prp2 % mps != 0) {
      c.status = make_status(kSctGeneric, kScPrpOffsetInvalid);
      return false;
    }
    c.prps.push_back(c.sqe.prp2);
  } else if (more > 1) {
    if ((c.sqe.prp2 & 7) != 0) {
      c.status = make_status(kSctGeneric, kScPrpOffsetInvalid);
      return false;
    }
    c.list_addr = c.sqe.prp2;
    c.list_needed = more;
  }
  return true;
}

void NvmeController::on_prp_list(ps_t t, std::uint64_t id) {
  auto it = cmds_.find(id);
  if (it == cmds_.end()) return;
  Cmd& c = it->second;
  const std::uint64_t mps = mps_bytes();
  const std::uint64_t slots = (mps - c.list_addr % mps) / 8;
  const bool chained = c.list_needed > slots;  // last slot points to the next list page
  const std::uint64_t n = chained ? slots : c.list_needed;
  if (in_cmb(c.list_addr, n * 8) && !cfg_.cmb_lists) {
    fail(t, id, kSctGeneric, kScInvalidCmbUse);
    return;
  }
  std::vector<std::uint64_t> entries(n);
  const ps_t done = mem_read(t, c.list_addr, reinterpret_cast<std::uint8_t*>(entries.data()),
                             n * 8);
  const std::uint64_t data_entries = chained ? n - 1 : n;
  for (std::uint64_t i = 0; i < data_entries; ++i) {
    if (entries[i] % mps != 0) {
      fail(done, id, kSctGeneric, kScPrpOffsetInvalid);
      return;
    }
    c.prps.push_back(entries[i]);
  }
  c.list_needed -= data_entries;
  if (chained) {
    c.list_addr = entries[n - 1];
    if ((c.list_addr & 7) != 0) {
      fail(done, id, kSctGeneric, kScPrpOffsetInvalid);
      return;
    }
    schedule(done, Ev::kPrpList, id);
  } else {
    schedule(done, Ev::kPrpsDone, id);
  }
}

std::vector<NvmeController::Segment> NvmeController::segments(const Cmd& c) const {
  std::vector<Segment> segs;
  const std::uint64_t mps = mps_bytes();
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < c.prps.size() && pos < c.xfer_len; ++i) {
    const std::uint64_t addr = c.prps[i];
    const std::uint64_t len =
        i == 0 ? std::min(c.xfer_len, mps - addr % mps) : std::min(mps, c.xfer_len - pos);
    if (!segs.empty() && segs.back().addr + segs.back().len == addr &&
        in_cmb(segs.back().addr, segs.back().len) == in_cmb(addr, len)) {
      segs.back().len += len;
    } else {
      segs.push_back({addr, len});
    }
    pos += len;
  }
  return segs;
}

void NvmeController::after_prps(ps_t t, std::uint64_t id) {
  Cmd& c = cmds_.at(id);
  for (const Segment& s : segments(c)) {
    if (in_cmb(s.addr, s.len) && !(c.to_host ? cfg_.cmb_rds : cfg_.cmb_wds)) {
      fail(t, id, kSctGeneric, kScInvalidCmbUse);
      return;
    }
  }
  if (c.sqid == 0) {  // Identify: build the data now, send it
    c.data.assign(c.xfer_len, 0);
    const std::uint8_t cns = static_cast<std::uint8_t>(c.sqe.cdw10 & 0xff);
    if (cns == kCnsController) {
      IdentifyController id_ctrl{};
      id_ctrl.vid = cfg_.vid;
      id_ctrl.ssvid = cfg_.ssvid;
      copy_padded(id_ctrl.sn, sizeof(id_ctrl.sn), cfg_.serial);
      copy_padded(id_ctrl.mn, sizeof(id_ctrl.mn), cfg_.model);
      copy_padded(id_ctrl.fr, sizeof(id_ctrl.fr), cfg_.firmware);
      id_ctrl.mdts = cfg_.mdts;
      id_ctrl.cntlid = 1;
      id_ctrl.ver = cfg_.version;
      id_ctrl.sqes = 0x66;
      id_ctrl.cqes = 0x44;
      id_ctrl.maxcmd = static_cast<std::uint16_t>(cfg_.mqes + 1U);
      id_ctrl.nn = 1;
      id_ctrl.vwc = cfg_.volatile_write_cache ? 1 : 0;
      id_ctrl.sgls = 0;
      std::memcpy(c.data.data(), &id_ctrl, sizeof(id_ctrl));
    } else if (cns == kCnsNamespace) {
      IdentifyNamespace id_ns{};
      id_ns.nsze = id_ns.ncap = id_ns.nuse = ns_lbas();
      id_ns.nlbaf = 0;
      id_ns.flbas = 0;
      id_ns.lbaf[0].lbads = log2_exact(cfg_.lba_bytes);
      std::memcpy(c.data.data(), &id_ns, sizeof(id_ns));
    } else {  // active namespace list: NSIDs greater than CDW1.NSID
      if (c.sqe.nsid < 1) {
        const std::uint32_t one = 1;
        std::memcpy(c.data.data(), &one, sizeof(one));
      }
    }
    on_data_out(t, id);
    return;
  }
  if (c.sqe.opcode == kNvmRead) {
    schedule(flash_.read(t, c.ns_offset, c.xfer_len), Ev::kDataOut, id);
  } else {
    on_data_in(t, id);
  }
}

void NvmeController::on_data_in(ps_t t, std::uint64_t id) {
  Cmd& c = cmds_.at(id);
  c.data.assign(c.xfer_len, 0);
  ps_t done = t;
  std::uint64_t pos = 0;
  completer_error_ = false;
  for (const Segment& s : segments(c)) {
    done = std::max(done, mem_read(t, s.addr, c.data.data() + pos, s.len));
    pos += s.len;
  }
  if (completer_error_) {  // nothing reaches the media (NVMe 2.0 Data Transfer Error)
    completer_error_ = false;
    c.data.clear();
    fail(done, id, kSctGeneric, kScDataTransferError);
    return;
  }
  schedule(done, Ev::kMedia, id);
}

void NvmeController::on_media(ps_t t, std::uint64_t id) {
  Cmd& c = cmds_.at(id);
  ns_.write(c.ns_offset, c.data.data(), c.data.size());
  const ps_t programmed = flash_.program(t, c.ns_offset, c.xfer_len);
  const ps_t acked = cfg_.drive.write_buffered ? t : programmed;
  c.data.clear();
  schedule(acked + cfg_.drive.complete_overhead, Ev::kPostCqe, id);
}

void NvmeController::on_data_out(ps_t t, std::uint64_t id) {
  Cmd& c = cmds_.at(id);
  if (c.sqid != 0) {  // Read: the bytes as they are when the media data is ready
    c.data.assign(c.xfer_len, 0);
    ns_.read(c.ns_offset, c.data.data(), c.data.size());
  }
  ps_t done = t;
  std::uint64_t pos = 0;
  for (const Segment& s : segments(c)) {
    done = std::max(done, mem_write(t, s.addr, c.data.data() + pos, s.len));
    pos += s.len;
  }
  c.data.clear();
  schedule(done + (c.sqid != 0 ? cfg_.drive.complete_overhead : 0), Ev::kPostCqe, id);
}

void NvmeController::on_post_cqe(ps_t t, std::uint64_t id) {
  auto it = cmds_.find(id);
  if (it == cmds_.end()) return;
  Cmd& c = it->second;
  const SubQueue& sq = sqs_[c.sqid];
  if (!sq.valid || !cqs_[sq.cqid].valid) {  // queue deleted under the command
    retire(it);
    return;
  }
  const std::uint16_t cqid = sq.cqid;
  CompQueue& cq = cqs_[cqid];
  if ((cq.tail + 1) % cq.size == cq.head) {  // full: wait for a CQ head doorbell
    cq.parked.push_back(id);
    ++stats_.cq_full_stalls;
    return;
  }
  Cqe cqe{};
  cqe.dw0 = c.dw0;
  cqe.sqhd = static_cast<std::uint16_t>(sq.head);
  cqe.sqid = c.sqid;
  cqe.cid = c.sqe.cid;
  cqe.status = static_cast<std::uint16_t>((c.status << 1) | (cq.phase ? 1 : 0));
  const ps_t done = mem_write(t, cq.base + std::uint64_t{cq.tail} * sizeof(Cqe),
                              reinterpret_cast<const std::uint8_t*>(&cqe), sizeof(cqe));
  if (++cq.tail == cq.size) {
    cq.tail = 0;
    cq.phase = !cq.phase;
  }
  ++stats_.commands;
  if (c.status != 0) ++stats_.errors;
  retire(it);
  if (cq.ien) schedule(done, Ev::kIrq, cqid);
}

void NvmeController::exec_admin(ps_t t, std::uint64_t id, Cmd& c) {
  const Sqe& s = c.sqe;
  const std::uint16_t qid = static_cast<std::uint16_t>(s.cdw10 & 0xffff);
  const std::uint32_t qsize = (s.cdw10 >> 16) + 1U;
  const std::uint64_t mps = mps_bytes();
  switch (s.opcode) {
    case kAdminIdentify: {
      const std::uint8_t cns = static_cast<std::uint8_t>(s.cdw10 & 0xff);
      if (cns != kCnsController && cns != kCnsNamespace && cns != kCnsActiveNsList) {
        fail(t, id, kSctGeneric, kScInvalidField);
        return;
      }
      if (cns == kCnsNamespace && s.nsid != 1) {
        fail(t, id, kSctGeneric, kScInvalidNamespace);
        return;
      }
      c.xfer_len = 4096;
      c.to_host = true;
      if (!start_prps(c)) {
        schedule(t, Ev::kPostCqe, id);
        return;
      }
      if (c.list_needed > 0) schedule(t, Ev::kPrpList, id);
      else after_prps(t, id);
      return;
    }
    case kAdminCreateCq: {
      const bool pc = (s.cdw11 & 1U) != 0;
      if (qid == 0 || qid > cfg_.max_io_queues || cqs_[qid].valid) {
        fail(t, id, kSctCommandSpecific, kScInvalidQid);
      } else if (qsize < 2 || qsize > cfg_.mqes + 1U) {
        fail(t, id, kSctCommandSpecific, kScInvalidQsize);
      } else if (!pc || cc::kIocqes.get(cc_) != 4) {
        fail(t, id, kSctGeneric, kScInvalidField);
      } else if (s.prp1 % mps != 0) {
        fail(t, id, kSctGeneric, kScPrpOffsetInvalid);
      } else if (in_cmb(s.prp1, std::uint64_t{qsize} * sizeof(Cqe)) && !cfg_.cmb_cqs) {
        fail(t, id, kSctGeneric, kScInvalidCmbUse);
      } else {
        CompQueue& cq = cqs_[qid];
        cq = CompQueue{};
        cq.valid = true;
        cq.base = s.prp1;
        cq.size = qsize;
        cq.ien = (s.cdw11 & 2U) != 0;
        cq.iv = static_cast<std::uint16_t>(s.cdw11 >> 16);
        fail(t, id, kSctGeneric, kScSuccess);
      }
      return;
    }
    case kAdminCreateSq: {
      const bool pc = (s.cdw11 & 1U) != 0;
      const std::uint16_t cqid = static_cast<std::uint16_t>(s.cdw11 >> 16);
      if (qid == 0 || qid > cfg_.max_io_queues || sqs_[qid].valid) {
        fail(t, id, kSctCommandSpecific, kScInvalidQid);
      } else if (qsize < 2 || qsize > cfg_.mqes + 1U) {
        fail(t, id, kSctCommandSpecific, kScInvalidQsize);
      } else if (cqid == 0 || cqid > cfg_.max_io_queues || !cqs_[cqid].valid) {
        fail(t, id, kSctCommandSpecific, kScCqInvalid);
      } else if (!pc || cc::kIosqes.get(cc_) != 6) {
        fail(t, id, kSctGeneric, kScInvalidField);
      } else if (s.prp1 % mps != 0) {
        fail(t, id, kSctGeneric, kScPrpOffsetInvalid);
      } else if (in_cmb(s.prp1, std::uint64_t{qsize} * sizeof(Sqe)) && !cfg_.cmb_sqs) {
        fail(t, id, kSctGeneric, kScInvalidCmbUse);
      } else {
        SubQueue& sq = sqs_[qid];
        sq = SubQueue{};
        sq.valid = true;
        sq.base = s.prp1;
        sq.size = qsize;
        sq.cqid = cqid;
        ++cqs_[cqid].sq_refs;
        fail(t, id, kSctGeneric, kScSuccess);
      }
      return;
    }
    case kAdminDeleteSq:
      if (qid == 0 || qid > cfg_.max_io_queues || !sqs_[qid].valid) {
        fail(t, id, kSctCommandSpecific, kScInvalidQid);
      } else {
        --cqs_[sqs_[qid].cqid].sq_refs;
        sqs_[qid] = SubQueue{};
        fail(t, id, kSctGeneric, kScSuccess);
      }
      return;
    case kAdminDeleteCq:
      if (qid == 0 || qid > cfg_.max_io_queues || !cqs_[qid].valid) {
        fail(t, id, kSctCommandSpecific, kScInvalidQid);
      } else if (cqs_[qid].sq_refs != 0) {
        fail(t, id, kSctCommandSpecific, kScInvalidQueueDeletion);
      } else {
        cqs_[qid] = CompQueue{};
        fail(t, id, kSctGeneric, kScSuccess);
      }
      return;
    case kAdminSetFeatures:
    case kAdminGetFeatures: {
      const std::uint8_t fid = static_cast<std::uint8_t>(s.cdw10 & 0xff);
      if (fid == kFeatNumberOfQueues) {
        if (s.opcode == kAdminSetFeatures) {
          const std::uint32_t nsqr = s.cdw11 & 0xffff;
          const std::uint32_t ncqr = s.cdw11 >> 16;
          if (nsqr == 0xffff || ncqr == 0xffff) {
            fail(t, id, kSctGeneric, kScInvalidField);
            return;
          }
          nsqa_ = static_cast<std::uint16_t>(std::min<std::uint32_t>(nsqr, cfg_.max_io_queues - 1U));
          ncqa_ = static_cast<std::uint16_t>(std::min<std::uint32_t>(ncqr, cfg_.max_io_queues - 1U));
        }
        c.dw0 = (std::uint32_t{ncqa_} << 16) | nsqa_;
        fail(t, id, kSctGeneric, kScSuccess);
      } else if (fid == kFeatVolatileWriteCache && cfg_.volatile_write_cache) {
        c.dw0 = 1;
        fail(t, id, kSctGeneric, kScSuccess);
      } else {
        fail(t, id, kSctGeneric, kScInvalidField);
      }
      return;
    }
    default:
      fail(t, id, kSctGeneric, kScInvalidOpcode);
      return;
  }
}

void NvmeController::exec_io(ps_t t, std::uint64_t id, Cmd& c) {
  const Sqe& s = c.sqe;
  switch (s.opcode) {
    case kNvmFlush: {
      if (s.nsid != 1 && s.nsid != 0xffffffffU) {
        fail(t, id, kSctGeneric, kScInvalidNamespace);
        return;
      }
      // Without a volatile write cache (PLP buffer) data is already durable.
      const ps_t done = cfg_.volatile_write_cache ? std::max(t, flash_.idle_time()) : t;
      schedule(done + cfg_.drive.complete_overhead, Ev::kPostCqe, id);
      return;
    }
    case kNvmRead:
    case kNvmWrite: {
      if (s.nsid != 1) {
        fail(t, id, kSctGeneric, kScInvalidNamespace);
        return;
      }
      const std::uint64_t slba = s.cdw10 | (std::uint64_t{s.cdw11} << 32);
      const std::uint64_t nlb = (s.cdw12 & 0xffffU) + 1U;
      if (slba >= ns_lbas() || nlb > ns_lbas() - slba) {
        fail(t, id, kSctGeneric, kScLbaOutOfRange);
        return;
      }
      c.xfer_len = nlb * cfg_.lba_bytes;
      const std::uint64_t max_xfer = cfg_.mdts == 0 ? ~0ULL
                                                    : (4096ULL << cfg_.mpsmin) << cfg_.mdts;
      if (c.xfer_len > max_xfer) {
        fail(t, id, kSctGeneric, kScInvalidField);
        return;
      }
      c.to_host = s.opcode == kNvmRead;
      c.ns_offset = slba * cfg_.lba_bytes;
      if (!start_prps(c)) {
        schedule(t, Ev::kPostCqe, id);
        return;
      }
      if (c.list_needed > 0) schedule(t, Ev::kPrpList, id);
      else after_prps(t, id);
      return;
    }
    default:
      fail(t, id, kSctGeneric, kScInvalidOpcode);
      return;
  }
}

}  // namespace p2psim::hw
