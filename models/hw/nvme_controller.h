// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// An NVMe controller with a Controller Memory Buffer and a flash backend, as
// pure logic (no SystemC). It is event driven: register accesses and
// doorbells schedule internal events; advance(now) runs every event due by
// `now`, in (time, sequence) order; next_event_time() tells a driver when to
// call again. Host memory is never touched directly: every queue, PRP list and
// data access goes through an injected DmaPort, except when the address falls
// in this controller's own CMB (as decoded through CMBMSC.CBA, or the
// legacy BAR address), in which case the bytes move inside the controller.
//
// Behaviour follows the NVMe Base Specification 1.4 (§7.6.1 initialization,
// §4.3 PRPs, §5 admin and §6 NVM commands); QEMU's hw/nvme/ctrl.c was read for
// reference behaviour of CMBMSC/CMBSZ decoding (no code taken).
//
// Driving it from SystemC (one SC_THREAD, one wake-up event):
//
//   for (;;) {
//     ps_t t = ctrl.next_event_time();
//     if (t == kNoEvent) wait(kick);
//     else wait(sc_time(double(t - now_ps()), SC_PS), kick);
//     ctrl.advance(now_ps());
//   }
//
// and the BAR target calls reg_read/reg_write(now_ps(), ...) or cmb_read/
// cmb_write, then kick.notify(SC_ZERO_TIME). DmaPort calls happen inside
// advance() with `now` equal to the event's time (never later than the
// advance() argument), in non-decreasing order; they return when the
// transfer is done, and the controller chains the next step from that time.
// A blocking DmaPort (one that wait()s) also works if advance() is always
// called at the event's own time, which the loop above does.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "hw/flash_backend.h"
#include "hw/nvme_regs.h"
#include "hw/sparse_store.h"
#include "common/time.h"

namespace p2psim::hw {

constexpr ps_t kNoEvent = std::numeric_limits<ps_t>::max();

/**
 * class DmaPort - the controller's bus-master port. Addresses are bus (DMA)
 * addresses as programmed by the host; a fabric/IOMMU model implements this.
 * Data moves at the call; the return value is when the transfer finished
 * (>= now): for a read, when the last byte arrived; for a write, when it left
 * the controller (posted) or reached memory, as the implementer models it.
 */
class DmaPort {
 public:
  virtual ~DmaPort() = default;
  virtual ps_t dma_read(ps_t now, std::uint64_t addr, std::uint8_t* dst, std::size_t len) = 0;
  virtual ps_t dma_write(ps_t now, std::uint64_t addr, const std::uint8_t* src,
                         std::size_t len) = 0;
};

/**
 * struct NvmeControllerConfig - identity, limits, CMB and timing.
 * @mqes:         CAP.MQES, 0's based (1023: 1024-entry queues).
 * @mdts:         Identify MDTS, 2^mdts pages of CAP.MPSMIN per command.
 * @max_io_queues: I/O SQs and CQs each (Number of Queues feature).
 * @sqe_fetch_burst: SQEs fetched in one DMA read at most.
 * @cmb_*:        CMB geometry: it lives in BAR cmb_bir at cmb_ofst units,
 *                cmb_sz units of 4 KiB << (4 * cmb_szu). cmb_v14 sets CAP.CMBS
 *                (CMBMSC present; CMBLOC/CMBSZ read 0 until CMBMSC.CRE).
 * @cmb_bar_size: size of the CMB's BAR; 0 = smallest power of two holding it.
 * @enable_delay: CC.EN 0->1 to CSTS.RDY = 1.
 */
struct NvmeControllerConfig {
  DriveTiming drive = drive_preset(DrivePreset::kMqsimDefault);

  std::uint16_t vid = 0x8086;
  std::uint16_t ssvid = 0x8086;
  std::string serial = "P2PSIM00000000000001";
  std::string model = "p2pdma-sim NVMe SSD";
  std::string firmware = "1.0";
  std::uint32_t version = 0x00010400;  // 1.4.0
  std::uint16_t mqes = 1023;
  std::uint8_t dstrd = 0;
  std::uint8_t mpsmin = 0;
  std::uint8_t mpsmax = 4;
  std::uint8_t timeout_500ms = 30;
  std::uint8_t mdts = 5;
  std::uint16_t max_io_queues = 64;
  std::uint16_t sqe_fetch_burst = 8;
  bool volatile_write_cache = false;

  std::uint32_t lba_bytes = 512;
  std::uint64_t ns_bytes = 1ULL << 40;

  bool cmb = false;
  bool cmb_v14 = true;
  std::uint8_t cmb_bir = 2;
  std::uint8_t cmb_szu = 2;     // 1 MiB units
  std::uint32_t cmb_sz = 256;   // 256 MiB
  std::uint32_t cmb_ofst = 0;
  bool cmb_sqs = true;
  bool cmb_cqs = false;
  bool cmb_lists = true;
  bool cmb_rds = true;
  bool cmb_wds = true;
  std::uint64_t cmb_bar_size = 0;
  ps_t cmb_access_latency = 50 * 1000ULL;   // internal SRAM/DRAM access
  std::uint64_t cmb_bytes_per_us = 16000;   // internal copy bandwidth

  ps_t enable_delay = 1000 * 1000000ULL;    // 1 ms
  ps_t disable_delay = 10 * 1000000ULL;
  ps_t shutdown_delay = 1000 * 1000000ULL;
  ps_t admin_overhead = 2 * 1000000ULL;
};

struct NvmeStats {
  std::uint64_t commands = 0;             // completions posted
  std::uint64_t errors = 0;               // completions with status != 0
  std::uint64_t dma_reads = 0;            // DmaPort::dma_read calls
  std::uint64_t dma_writes = 0;
  std::uint64_t dma_bytes = 0;
  std::uint64_t cmb_internal_bytes = 0;   // moved inside the controller
  std::uint64_t invalid_doorbells = 0;
  std::uint64_t cq_full_stalls = 0;
};

class NvmeController {
 public:
  /// Called when an interrupt vector fires (MSI-X message or pin assertion).
  using IrqHandler = std::function<void(ps_t when, std::uint16_t vector)>;

  NvmeController(const NvmeControllerConfig& cfg, DmaPort& dma);

  // --- BAR0: registers and doorbells. size is 4 or 8. ---
  std::uint64_t reg_read(ps_t now, std::uint64_t offset, unsigned size = 4);
  void reg_write(ps_t now, std::uint64_t offset, std::uint64_t value, unsigned size = 4);

  // --- The CMB as the host sees it through its BAR (offset from CMB start). ---
  void cmb_read(std::uint64_t offset, std::uint8_t* dst, std::size_t len) const;
  void cmb_write(std::uint64_t offset, const std::uint8_t* src, std::size_t len);
  /// The 4 KiB page of CMB memory at @offset: the one copy of those bytes,
  /// shared with whoever else addresses the CMB (CPU stores, peer DMA).
  std::uint8_t* cmb_page(std::uint64_t offset) { return cmb_.chunk(offset & ~(SparseStore::kChunk - 1)); }
  std::uint64_t cmb_bytes() const;
  /// Bytes from the start of BAR cmb_bir to the CMB (CMBLOC.OFST * unit).
  std::uint64_t cmb_bar_offset() const;
  int cmb_bar() const { return cfg_.cmb ? cfg_.cmb_bir : -1; }
  std::uint64_t cmb_bar_size() const;
  /// BAR0 size: registers plus doorbells for every queue, a power of two >= 16 KiB.
  std::uint64_t bar0_size() const;
  /// Legacy decoding (CAP.CMBS = 0): the bus address of the CMB's first byte,
  /// i.e. BAR bus address + cmb_bar_offset(); the wrapper sets it on BAR assignment.
  void set_cmb_bus_address(std::uint64_t bus_addr) { legacy_cmb_bus_ = bus_addr; }
  /// True if [addr, addr + len) lies inside the CMB as currently decoded.
  bool in_cmb(std::uint64_t addr, std::uint64_t len) const;

  // --- Event engine ---
  ps_t next_event_time() const;
  /// Runs every event with time <= now (including the ones they schedule).
  void advance(ps_t now);
  void set_irq_handler(IrqHandler h) { irq_ = std::move(h); }

  // --- Inspection and back doors (tests, preloading) ---
  const NvmeControllerConfig& config() const { return cfg_; }
  const FlashBackend& flash() const { return flash_; }
  const NvmeStats& stats() const { return stats_; }
  void ns_read(std::uint64_t off, std::uint8_t* dst, std::size_t len) const {
    ns_.read(off, dst, len);
  }
  void ns_write(std::uint64_t off, const std::uint8_t* src, std::size_t len) {
    ns_.write(off, src, len);
  }
  std::uint64_t ns_lbas() const { return cfg_.ns_bytes / cfg_.lba_bytes; }
  std::uint32_t mps_bytes() const;
  bool ready() const { return nvme::csts::kRdy.get(csts_) != 0; }
  /// Why the last CC.EN = 1 was refused, or "".
  const std::string& enable_error() const { return enable_error_; }
  /// Commands fetched and not yet completed.
  std::size_t commands_in_flight() const { return cmds_.size(); }
  /// The DmaPort's read that is returning got an error completion
  /// (Unsupported Request, Completer Abort): no data came. A command whose
  /// data read failed completes with Data Transfer Error.
  void completer_error() { completer_error_ = true; }

 private:
  enum class Ev { kEnableDone, kDisableDone, kShutdownDone, kFetch, kExecute, kPrpList, kPrpsDone,
                  kDataIn, kMedia, kDataOut, kPostCqe, kIrq };
  struct Event {
    Ev kind;
    std::uint64_t arg;
  };
  struct SubQueue {
    bool valid = false;
    std::uint64_t base = 0;
    std::uint32_t size = 0;  // entries
    std::uint32_t head = 0;
    std::uint32_t tail = 0;
    std::uint16_t cqid = 0;
    bool fetching = false;
  };
  struct CompQueue {
    bool valid = false;
    std::uint64_t base = 0;
    std::uint32_t size = 0;
    std::uint32_t head = 0;
    std::uint32_t tail = 0;
    bool phase = true;
    bool ien = false;
    std::uint16_t iv = 0;
    std::uint32_t sq_refs = 0;
    std::deque<std::uint64_t> parked;  // commands waiting for a free slot
  };
  struct Segment {
    std::uint64_t addr;
    std::uint64_t len;
  };
  struct Cmd {
    std::uint16_t sqid = 0;
    nvme::Sqe sqe{};
    std::uint16_t status = 0;  // SCT << 8 | SC
    std::uint32_t dw0 = 0;
    std::uint64_t xfer_len = 0;
    bool to_host = false;
    std::vector<std::uint64_t> prps;
    std::uint64_t list_addr = 0;
    std::uint64_t list_needed = 0;
    std::uint64_t ns_offset = 0;
    std::vector<std::uint8_t> data;
  };

  void schedule(ps_t t, Ev kind, std::uint64_t arg = 0);
  /// Forgets command @it, keeping its buffers for the next command.
  void retire(std::map<std::uint64_t, Cmd>::iterator it);
  void run(ps_t t, const Event& ev);
  void reset_queues();

  void write_cc(ps_t now, std::uint32_t value);
  void write_cmbmsc(std::uint64_t value);
  void doorbell(ps_t now, std::uint64_t offset, std::uint32_t value);
  bool cmb_regs_visible() const;

  // Memory access that routes to the CMB or the DmaPort.
  ps_t mem_read(ps_t now, std::uint64_t addr, std::uint8_t* dst, std::size_t len);
  ps_t mem_write(ps_t now, std::uint64_t addr, const std::uint8_t* src, std::size_t len);
  ps_t cmb_time(ps_t now, std::uint64_t len) const;

  void on_fetch(ps_t t, std::uint16_t sqid);
  void on_execute(ps_t t, std::uint64_t id);
  void on_prp_list(ps_t t, std::uint64_t id);
  void after_prps(ps_t t, std::uint64_t id);
  void on_data_in(ps_t t, std::uint64_t id);
  void on_media(ps_t t, std::uint64_t id);
  void on_data_out(ps_t t, std::uint64_t id);
  void on_post_cqe(ps_t t, std::uint64_t id);

  void exec_admin(ps_t t, std::uint64_t id, Cmd& c);
  void exec_io(ps_t t, std::uint64_t id, Cmd& c);
  /// Sets up PRP walking for a transfer; false (status set) if PRP1/2 are malformed.
  bool start_prps(Cmd& c);
  std::vector<Segment> segments(const Cmd& c) const;
  void fail(ps_t t, std::uint64_t id, std::uint8_t sct, std::uint8_t sc);

  NvmeControllerConfig cfg_;
  DmaPort& dma_;
  FlashBackend flash_;
  SparseStore ns_;
  SparseStore cmb_;

  // Registers.
  std::uint64_t cap_ = 0;
  std::uint32_t intms_ = 0;
  std::uint32_t cc_ = 0;
  std::uint32_t csts_ = 0;
  std::uint32_t aqa_ = 0;
  std::uint64_t asq_ = 0;
  std::uint64_t acq_ = 0;
  std::uint32_t cmbloc_ = 0;
  std::uint32_t cmbsz_ = 0;
  std::uint64_t cmbmsc_ = 0;
  std::uint32_t cmbsts_ = 0;
  bool cmse_active_ = false;
  std::uint64_t cba_ = 0;
  std::uint64_t legacy_cmb_bus_ = kNoEvent;  // "unset"
  std::string enable_error_;
  bool completer_error_ = false;  ///< set by completer_error(), taken by the data phase

  std::vector<SubQueue> sqs_;
  std::vector<CompQueue> cqs_;
  std::map<std::uint64_t, Cmd> cmds_;
  std::uint64_t next_cmd_ = 1;
  std::uint16_t nsqa_ = 0;  // Number of Queues, 0's based, once set
  std::uint16_t ncqa_ = 0;

  /// Due events, a min-heap on (time, seq): the order of a map keyed the
  /// same, without a node allocation per event.
  struct QueuedEvent {
    ps_t t;
    std::uint64_t seq;
    Event ev;
    bool operator>(const QueuedEvent& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };
  std::vector<QueuedEvent> events_;
  std::uint64_t seq_ = 0;
  // Buffers of finished commands and SQE fetches, reused by the next ones.
  std::vector<std::vector<std::uint8_t>> spare_data_;
  std::vector<std::vector<std::uint64_t>> spare_prps_;
  std::vector<std::uint8_t> fetch_buf_;
  ps_t now_ = 0;

  IrqHandler irq_;
  NvmeStats stats_;
};

}  // namespace p2psim::hw
