// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Unit tests for the NVMe controller core, its flash backend and the host's
// nvme_map_cmb() (models/hw/nvme_regs.h, nvme_controller.h, flash_backend.h,
// nvme_host.h). Host memory is a fake DmaPort over a sparse byte map; the
// tests play the driver: they write SQEs, ring doorbells, run the event
// engine and read CQEs. Latency anchors are docs/anchors.md "NVMe SSD backend".
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "hw/flash_backend.h"
#include "hw/nvme_controller.h"
#include "hw/nvme_host.h"
#include "hw/nvme_regs.h"

namespace hw = p2psim::hw;
namespace nv = p2psim::hw::nvme;
using p2psim::ps_t;
using p2psim::hw::nvme::Cqe;
using p2psim::hw::nvme::Sqe;

namespace {

constexpr ps_t kUs = 1000000ULL;
constexpr ps_t kNs = 1000ULL;

/// Host memory: a sparse byte map behind a DmaPort, with a fixed latency per
/// call and a log of every access.
class FakeDma : public hw::DmaPort {
 public:
  struct Access {
    bool write;
    std::uint64_t addr;
    std::size_t len;
  };
  ps_t latency = 0;
  std::vector<Access> log;
  hw::SparseStore mem;

  ps_t dma_read(ps_t now, std::uint64_t addr, std::uint8_t* dst, std::size_t len) override {
    log.push_back({false, addr, len});
    mem.read(addr, dst, len);
    return now + latency;
  }
  ps_t dma_write(ps_t now, std::uint64_t addr, const std::uint8_t* src,
                 std::size_t len) override {
    log.push_back({true, addr, len});
    mem.write(addr, src, len);
    return now + latency;
  }
  bool touched(std::uint64_t lo, std::uint64_t hi) const {
    for (const Access& a : log) {
      if (a.addr < hi && a.addr + a.len > lo) return true;
    }
    return false;
  }
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  std::uint32_t x = seed * 2654435761U + 1;
  for (auto& b : v) {
    x = x * 1103515245U + 12345U;
    b = static_cast<std::uint8_t>(x >> 16);
  }
  return v;
}

Sqe make_rw(std::uint8_t opcode, std::uint16_t cid, std::uint64_t slba, std::uint32_t nlb,
            std::uint64_t prp1, std::uint64_t prp2 = 0) {
  Sqe s{};
  s.opcode = opcode;
  s.cid = cid;
  s.nsid = 1;
  s.prp1 = prp1;
  s.prp2 = prp2;
  s.cdw10 = static_cast<std::uint32_t>(slba);
  s.cdw11 = static_cast<std::uint32_t>(slba >> 32);
  s.cdw12 = nlb - 1;
  return s;
}

std::uint16_t status_of(const Cqe& c) { return static_cast<std::uint16_t>(c.status >> 1); }

/// A host driving one controller.
struct Rig {
  struct Queue {
    std::uint16_t qid = 0;
    std::uint64_t sq_base = 0;  // bus address
    std::uint64_t cq_base = 0;
    std::uint32_t size = 0;     // SQ entries
    std::uint32_t cq_size = 0;  // CQ entries
    std::uint32_t sq_tail = 0;
    std::uint32_t cq_head = 0;
    bool phase = true;
    bool sq_in_cmb = false;
  };
  struct Done {
    Cqe cqe;
    ps_t when;
  };

  FakeDma mem;
  hw::NvmeController ctrl;
  ps_t now = 0;
  std::vector<std::pair<ps_t, std::uint16_t>> irqs;
  Queue admin;
  Queue io;
  std::uint16_t next_cid = 1;

  explicit Rig(const hw::NvmeControllerConfig& cfg) : ctrl(cfg, mem) {
    ctrl.set_irq_handler([this](ps_t t, std::uint16_t v) { irqs.emplace_back(t, v); });
  }

  void run_all() {
    for (ps_t t = ctrl.next_event_time(); t != hw::kNoEvent; t = ctrl.next_event_time()) {
      now = std::max(now, t);
      ctrl.advance(t);
    }
  }
  void wr(std::uint32_t off, std::uint64_t v, unsigned size = 4) { ctrl.reg_write(now, off, v, size); }
  std::uint64_t rd(std::uint32_t off, unsigned size = 4) { return ctrl.reg_read(now, off, size); }

  void enable(std::uint32_t aq_entries = 32) {
    admin = Queue{0, 0x100000, 0x200000, aq_entries, aq_entries};
    wr(nv::kRegAqa, ((aq_entries - 1) << 16) | (aq_entries - 1));
    wr(nv::kRegAsq, admin.sq_base, 8);
    wr(nv::kRegAcq, admin.cq_base, 8);
    std::uint32_t cc = 0;
    cc = static_cast<std::uint32_t>(nv::cc::kEn.put(cc, 1));
    cc = static_cast<std::uint32_t>(nv::cc::kIosqes.put(cc, 6));
    cc = static_cast<std::uint32_t>(nv::cc::kIocqes.put(cc, 4));
    wr(nv::kRegCc, cc);
    run_all();
    REQUIRE(ctrl.ready());
  }

  void put_sqe(Queue& q, const Sqe& s) {
    const std::uint64_t addr = q.sq_base + std::uint64_t{q.sq_tail} * sizeof(Sqe);
    if (q.sq_in_cmb) {
      ctrl.cmb_write(addr - cmb_bus(), reinterpret_cast<const std::uint8_t*>(&s), sizeof(s));
    } else {
      mem.mem.write(addr, reinterpret_cast<const std::uint8_t*>(&s), sizeof(s));
    }
    q.sq_tail = (q.sq_tail + 1) % q.size;
  }
  void ring_sq(Queue& q) {
    wr(static_cast<std::uint32_t>(nv::sq_tail_doorbell(q.qid, ctrl.config().dstrd)), q.sq_tail);
  }
  /// Reaps every CQE with the expected phase; irqs give their times in order.
  std::vector<Done> reap(Queue& q) {
    std::vector<Done> out;
    for (;;) {
      Cqe c{};
      mem.mem.read(q.cq_base + std::uint64_t{q.cq_head} * sizeof(Cqe),
                   reinterpret_cast<std::uint8_t*>(&c), sizeof(c));
      if (((c.status & 1) != 0) != q.phase) break;
      out.push_back({c, 0});
      if (++q.cq_head == q.cq_size) {
        q.cq_head = 0;
        q.phase = !q.phase;
      }
    }
    if (!out.empty()) {
      wr(static_cast<std::uint32_t>(nv::cq_head_doorbell(q.qid, ctrl.config().dstrd)), q.cq_head);
    }
    return out;
  }
  /// Submits one command, runs to idle, returns its CQE and completion time.
  Done submit(Queue& q, Sqe s) {
    s.cid = next_cid++;
    put_sqe(q, s);
    const std::size_t before = irqs.size();
    ring_sq(q);
    run_all();
    auto done = reap(q);
    REQUIRE(done.size() == 1);
    REQUIRE(irqs.size() == before + 1);
    done[0].when = irqs.back().first;
    REQUIRE(done[0].cqe.cid == s.cid);
    return done[0];
  }

  std::uint64_t cmb_bus() const { return 0xe0000000ULL; }

  void create_io_queues(std::uint32_t entries, bool sq_in_cmb = false,
                        std::uint32_t cq_entries = 0) {
    if (cq_entries == 0) cq_entries = entries;
    io = Queue{1, sq_in_cmb ? cmb_bus() : 0x300000, 0x400000, entries, cq_entries};
    io.sq_in_cmb = sq_in_cmb;
    Sqe cq{};
    cq.opcode = nv::kAdminCreateCq;
    cq.prp1 = io.cq_base;
    cq.cdw10 = ((cq_entries - 1) << 16) | 1;
    cq.cdw11 = (1U << 16) | 0x3;  // IV 1, IEN, PC
    REQUIRE(status_of(submit(admin, cq).cqe) == 0);
    Sqe sq{};
    sq.opcode = nv::kAdminCreateSq;
    sq.prp1 = io.sq_base;
    sq.cdw10 = ((entries - 1) << 16) | 1;
    sq.cdw11 = (1U << 16) | 0x1;  // CQID 1, PC
    REQUIRE(status_of(submit(admin, sq).cqe) == 0);
  }
};

hw::NvmeControllerConfig preset_config(hw::DrivePreset p) {
  hw::NvmeControllerConfig cfg;
  cfg.drive = hw::drive_preset(p);
  return cfg;
}

}  // namespace

// ---------------------------------------------------------------------------
// Layouts
// ---------------------------------------------------------------------------

TEST_CASE("NVMe CAP VS CMBLOC and CMBSZ read back bit exact", "[nvme]") {
  hw::NvmeControllerConfig cfg;
  cfg.cmb = true;
  cfg.cmb_v14 = true;
  cfg.cmb_bir = 2;
  cfg.cmb_szu = 2;   // 1 MiB
  cfg.cmb_sz = 256;  // 256 MiB
  cfg.cmb_ofst = 3;
  cfg.cmb_cqs = false;
  Rig r(cfg);
  // MQES 1023 | CQR | TO 30 | DSTRD 0 | CSS NVM | MPSMIN 0 | MPSMAX 4 | CMBS
  const std::uint64_t cap = 0x3ffULL | (1ULL << 16) | (30ULL << 24) | (1ULL << 37) |
                            (4ULL << 52) | (1ULL << 57);
  CHECK(r.rd(nv::kRegCap, 8) == cap);
  CHECK(r.rd(nv::kRegCap + 4) == (cap >> 32));
  CHECK(r.rd(nv::kRegVs) == 0x00010400U);
  // NVMe 1.4: CMBLOC/CMBSZ read 0 until CMBMSC.CRE.
  CHECK(r.rd(nv::kRegCmbsz) == 0);
  CHECK(r.rd(nv::kRegCmbloc) == 0);
  r.wr(nv::kRegCmbmsc, 1);
  // SQS | LISTS | RDS | WDS = 0x1d, SZU 2 at bit 8, SZ 256 at bit 12.
  CHECK(r.rd(nv::kRegCmbsz) == 0x0010021dU);
  CHECK(r.rd(nv::kRegCmbloc) == ((3U << 12) | 2U));
  CHECK(r.ctrl.cmb_bar_offset() == 3ULL << 20);
  CHECK(r.ctrl.cmb_bytes() == 256ULL << 20);
  CHECK(r.ctrl.cmb_bar_size() == 512ULL << 20);

  // INTMS sets, INTMC clears, both read the mask.
  r.wr(nv::kRegIntms, 0x5);
  CHECK(r.rd(nv::kRegIntmc) == 0x5);
  r.wr(nv::kRegIntmc, 0x1);
  CHECK(r.rd(nv::kRegIntms) == 0x4);

  // Legacy (1.3) CMB: no CMBS, registers always visible, CMBMSC absent.
  hw::NvmeControllerConfig legacy = cfg;
  legacy.cmb_v14 = false;
  Rig l(legacy);
  CHECK(nv::cap::kCmbs.get(l.rd(nv::kRegCap, 8)) == 0);
  CHECK(l.rd(nv::kRegCmbsz) == 0x0010021dU);
  l.wr(nv::kRegCmbmsc, 3);
  CHECK(l.rd(nv::kRegCmbmsc) == 0);
}

TEST_CASE("NVMe doorbell stride and queue entry byte layout", "[nvme]") {
  CHECK(nv::sq_tail_doorbell(0, 0) == 0x1000);
  CHECK(nv::cq_head_doorbell(0, 0) == 0x1004);
  CHECK(nv::sq_tail_doorbell(5, 0) == 0x1028);
  CHECK(nv::cq_head_doorbell(5, 0) == 0x102c);
  CHECK(nv::sq_tail_doorbell(1, 2) == 0x1020);  // stride 16 bytes
  CHECK(nv::cq_head_doorbell(1, 2) == 0x1030);

  Sqe s = make_rw(nv::kNvmRead, 0xbeef, 0x0000000123456789ULL, 8, 0x1122334455667000ULL,
                  0xaabbccdd00001000ULL);
  s.flags = static_cast<std::uint8_t>(nv::kSqePsdt.put(0, 0));
  std::uint8_t b[64];
  std::memcpy(b, &s, sizeof(b));
  CHECK(b[0] == 0x02);                         // opcode
  CHECK((b[2] | (b[3] << 8)) == 0xbeef);       // CID in CDW0 31:16
  CHECK(b[4] == 1);                            // NSID
  CHECK(b[24] == 0x00);                        // PRP1 low byte
  CHECK(b[31] == 0x11);                        // PRP1 high byte
  CHECK(b[32 + 1] == 0x10);                    // PRP2
  CHECK(b[40] == 0x89);                        // CDW10: SLBA low
  CHECK(b[44] == 0x01);                        // CDW11: SLBA high
  CHECK(b[48] == 7);                           // CDW12: NLB, 0's based

  Cqe c{};
  c.cid = 0x1234;
  c.sqhd = 7;
  c.sqid = 3;
  c.status = static_cast<std::uint16_t>(nv::cqe_status::kSct.put(
      nv::cqe_status::kSc.put(nv::cqe_status::kP.put(0, 1), nv::kScLbaOutOfRange), 0));
  std::uint8_t cb[16];
  std::memcpy(cb, &c, sizeof(cb));
  const std::uint32_t dw2 = cb[8] | (cb[9] << 8) | (cb[10] << 16) | (std::uint32_t{cb[11]} << 24);
  const std::uint32_t dw3 =
      cb[12] | (cb[13] << 8) | (cb[14] << 16) | (std::uint32_t{cb[15]} << 24);
  CHECK(dw2 == ((3U << 16) | 7U));
  CHECK((dw3 & 0xffff) == 0x1234);
  CHECK(((dw3 >> 16) & 1) == 1);          // phase tag: DW3 bit 16
  CHECK(((dw3 >> 17) & 0xff) == 0x80);    // SC: DW3 bits 24:17
  CHECK(((dw3 >> 25) & 0x7) == 0);        // SCT: DW3 bits 27:25
}

// ---------------------------------------------------------------------------
// Bring-up and admin commands
// ---------------------------------------------------------------------------

TEST_CASE("NVMe CC.EN brings up CSTS.RDY after the modelled delay", "[nvme]") {
  hw::NvmeControllerConfig cfg;
  cfg.enable_delay = 500 * kUs;
  Rig r(cfg);
  CHECK(r.rd(nv::kRegCsts) == 0);

  // Refused enable: AQA left at 0.
  r.wr(nv::kRegAsq, 0x100000, 8);
  r.wr(nv::kRegAcq, 0x200000, 8);
  r.wr(nv::kRegCc, 1);
  r.run_all();
  CHECK(r.rd(nv::kRegCsts) == 0);
  CHECK_FALSE(r.ctrl.enable_error().empty());
  r.wr(nv::kRegCc, 0);
  r.run_all();

  r.wr(nv::kRegAqa, (31U << 16) | 31U);
  r.now = 1000 * kUs;
  r.wr(nv::kRegCc, 1 | (6U << 16) | (4U << 20));
  CHECK(r.rd(nv::kRegCc) == (1U | (6U << 16) | (4U << 20)));
  CHECK(r.ctrl.next_event_time() == r.now + 500 * kUs);
  r.ctrl.advance(r.now + 500 * kUs - 1);
  CHECK(nv::csts::kRdy.get(r.rd(nv::kRegCsts)) == 0);
  r.ctrl.advance(r.now + 500 * kUs);
  CHECK(nv::csts::kRdy.get(r.rd(nv::kRegCsts)) == 1);
  CHECK(r.ctrl.enable_error().empty());

  // Normal shutdown: SHST 01b then 10b.
  r.now += 600 * kUs;
  r.wr(nv::kRegCc, r.rd(nv::kRegCc) | (1U << 14));
  CHECK(nv::csts::kShst.get(r.rd(nv::kRegCsts)) == nv::csts::kShstOccurring);
  r.run_all();
  CHECK(nv::csts::kShst.get(r.rd(nv::kRegCsts)) == nv::csts::kShstComplete);

  // Reset: RDY drops after the disable delay.
  r.wr(nv::kRegCc, 0);
  CHECK(nv::csts::kRdy.get(r.rd(nv::kRegCsts)) == 1);
  r.run_all();
  CHECK(r.rd(nv::kRegCsts) == 0);
}

TEST_CASE("NVMe Identify Controller and Namespace return the configured values", "[nvme]") {
  hw::NvmeControllerConfig cfg;
  cfg.model = "Test Model";
  cfg.lba_bytes = 4096;
  cfg.ns_bytes = 1ULL << 30;
  Rig r(cfg);
  r.enable();

  Sqe id{};
  id.opcode = nv::kAdminIdentify;
  id.prp1 = 0x500000;
  id.cdw10 = nv::kCnsController;
  auto d = r.submit(r.admin, id);
  CHECK(status_of(d.cqe) == 0);
  CHECK(d.cqe.sqid == 0);
  CHECK(d.cqe.sqhd == 1);
  nv::IdentifyController ic{};
  r.mem.mem.read(0x500000, reinterpret_cast<std::uint8_t*>(&ic), sizeof(ic));
  CHECK(ic.vid == 0x8086);
  CHECK(std::string(ic.mn, 10) == "Test Model");
  CHECK(ic.mn[10] == ' ');
  CHECK(ic.sqes == 0x66);
  CHECK(ic.cqes == 0x44);
  CHECK(ic.nn == 1);
  CHECK(ic.mdts == 5);
  CHECK(ic.ver == 0x00010400U);

  // Identify Namespace, the buffer split across two pages (PRP1 + PRP2).
  id.cdw10 = nv::kCnsNamespace;
  id.nsid = 1;
  id.prp1 = 0x600800;
  id.prp2 = 0x700000;
  d = r.submit(r.admin, id);
  CHECK(status_of(d.cqe) == 0);
  std::vector<std::uint8_t> buf(4096);
  r.mem.mem.read(0x600800, buf.data(), 2048);
  r.mem.mem.read(0x700000, buf.data() + 2048, 2048);
  nv::IdentifyNamespace ns{};
  std::memcpy(&ns, buf.data(), sizeof(ns));
  CHECK(ns.nsze == (1ULL << 30) / 4096);
  CHECK(ns.lbaf[0].lbads == 12);

  id.nsid = 2;
  CHECK(status_of(r.submit(r.admin, id).cqe) == nv::kScInvalidNamespace);

  Sqe nq{};
  nq.opcode = nv::kAdminSetFeatures;
  nq.cdw10 = nv::kFeatNumberOfQueues;
  nq.cdw11 = (3U << 16) | 200U;
  d = r.submit(r.admin, nq);
  CHECK(status_of(d.cqe) == 0);
  CHECK(d.cqe.dw0 == ((3U << 16) | 63U));  // 64 queues at most, 0's based

  Sqe bad{};
  bad.opcode = 0x7f;
  CHECK(status_of(r.submit(r.admin, bad).cqe) == nv::kScInvalidOpcode);

  Sqe sq{};
  sq.opcode = nv::kAdminCreateSq;
  sq.prp1 = 0x300000;
  sq.cdw10 = (15U << 16) | 1U;
  sq.cdw11 = (9U << 16) | 1U;  // CQ 9 does not exist
  d = r.submit(r.admin, sq);
  CHECK(status_of(d.cqe) == ((nv::kSctCommandSpecific << 8) | nv::kScCqInvalid));
}

// ---------------------------------------------------------------------------
// Data path
// ---------------------------------------------------------------------------

TEST_CASE("NVMe write then read returns the bytes through PRP1 PRP2 and PRP lists", "[nvme]") {
  Rig r(hw::NvmeControllerConfig{});
  r.enable();
  r.create_io_queues(64);

  SECTION("PRP1 only: 2 KiB at a page offset") {
    const auto data = pattern(2048, 1);
    r.mem.mem.write(0x800400, data.data(), data.size());
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmWrite, 0, 100, 4, 0x800400)).cqe) == 0);
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 100, 4, 0x900000)).cqe) == 0);
    std::vector<std::uint8_t> back(2048);
    r.mem.mem.read(0x900000, back.data(), back.size());
    CHECK(back == data);
    r.ctrl.ns_read(100 * 512, back.data(), back.size());
    CHECK(back == data);
  }
  SECTION("PRP1 and PRP2: 6 KiB across two pages") {
    const auto data = pattern(6144, 2);
    r.mem.mem.write(0x800800, data.data(), 2048);
    r.mem.mem.write(0xa00000, data.data() + 2048, 4096);
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmWrite, 0, 7, 12, 0x800800, 0xa00000)).cqe) ==
          0);
    // Read back into one aligned buffer: PRP1 page + PRP2 page.
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 7, 12, 0xb00000, 0xc00000)).cqe) ==
          0);
    std::vector<std::uint8_t> back(6144);
    r.mem.mem.read(0xb00000, back.data(), 4096);
    r.mem.mem.read(0xc00000, back.data() + 4096, 2048);
    CHECK(back == data);
  }
  SECTION("PRP list: 64 KiB over scattered pages and a chained list") {
    constexpr std::size_t kLen = 64 * 1024;
    const auto data = pattern(kLen, 3);
    // Pages in descending order so that a linear reading would be wrong.
    std::vector<std::uint64_t> pages;
    for (int i = 0; i < 16; ++i) pages.push_back(0x4000000 - 0x2000ULL * i);
    for (int i = 0; i < 16; ++i) {
      r.mem.mem.write(pages[i], data.data() + 4096 * i, 4096);
    }
    // List at 32 bytes before a page end: 4 slots, so entries 1..15 need a
    // chain: 3 entries + pointer, then the rest in a fresh page.
    const std::uint64_t list1 = 0x5000000 + 4096 - 32;
    const std::uint64_t list2 = 0x5100000;
    std::vector<std::uint64_t> l1 = {pages[1], pages[2], pages[3], list2};
    std::vector<std::uint64_t> l2(pages.begin() + 4, pages.end());
    r.mem.mem.write(list1, reinterpret_cast<const std::uint8_t*>(l1.data()), l1.size() * 8);
    r.mem.mem.write(list2, reinterpret_cast<const std::uint8_t*>(l2.data()), l2.size() * 8);
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmWrite, 0, 4096, 128, pages[0], list1)).cqe) ==
          0);
    std::vector<std::uint8_t> back(kLen);
    r.ctrl.ns_read(4096ULL * 512, back.data(), back.size());
    CHECK(back == data);

    // Read it back through a plain list into contiguous memory.
    std::vector<std::uint64_t> l3;
    for (int i = 1; i < 16; ++i) l3.push_back(0x6000000 + 4096ULL * i);
    r.mem.mem.write(0x6100000, reinterpret_cast<const std::uint8_t*>(l3.data()), l3.size() * 8);
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 4096, 128, 0x6000000, 0x6100000))
                        .cqe) == 0);
    std::fill(back.begin(), back.end(), 0);
    r.mem.mem.read(0x6000000, back.data(), back.size());
    CHECK(back == data);
  }
  SECTION("never written blocks read as zero") {
    std::vector<std::uint8_t> ones(4096, 0xff);
    r.mem.mem.write(0xd00000, ones.data(), ones.size());
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 1 << 20, 8, 0xd00000)).cqe) == 0);
    std::vector<std::uint8_t> back(4096);
    r.mem.mem.read(0xd00000, back.data(), back.size());
    CHECK(back == std::vector<std::uint8_t>(4096, 0));
  }
  SECTION("errors: LBA out of range misaligned PRP2 and Flush") {
    const std::uint64_t last = r.ctrl.ns_lbas() - 2;
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, last, 4, 0xd00000)).cqe) ==
          nv::kScLbaOutOfRange);
    CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 0, 16, 0xd00000, 0xe00010)).cqe) ==
          nv::kScPrpOffsetInvalid);
    Sqe f{};
    f.opcode = nv::kNvmFlush;
    f.nsid = 1;
    CHECK(status_of(r.submit(r.io, f).cqe) == 0);
    CHECK(r.ctrl.stats().errors == 2);
  }
}

TEST_CASE("NVMe completion phase bit flips when the CQ wraps", "[nvme]") {
  Rig r(hw::NvmeControllerConfig{});
  r.enable();
  r.create_io_queues(16, false, 4);
  std::vector<bool> phases;
  for (int i = 0; i < 9; ++i) {
    auto d = r.submit(r.io, make_rw(nv::kNvmRead, 0, 0, 1, 0xd00000));
    CHECK(status_of(d.cqe) == 0);
    phases.push_back((d.cqe.status & 1) != 0);
  }
  CHECK(phases == std::vector<bool>{true, true, true, true, false, false, false, false, true});

  // A full CQ holds completions back until the host moves its head.
  for (int i = 0; i < 4; ++i) r.put_sqe(r.io, make_rw(nv::kNvmRead, 0, 0, 1, 0xd00000));
  r.ring_sq(r.io);
  r.run_all();
  CHECK(r.ctrl.stats().cq_full_stalls >= 1);
  CHECK(r.ctrl.commands_in_flight() == 1);  // 3 posted (size 4 holds 3), 1 parked
  auto first = r.reap(r.io);                 // reaps 3, rings the CQ head doorbell
  CHECK(first.size() == 3);
  r.run_all();
  CHECK(r.reap(r.io).size() == 1);
  CHECK(r.ctrl.commands_in_flight() == 0);
}

TEST_CASE("NVMe DMA port time is charged on every step", "[nvme]") {
  hw::NvmeControllerConfig cfg;
  cfg.drive = hw::drive_preset(hw::DrivePreset::kOptaneP4800X);
  Rig ideal(cfg);
  ideal.enable();
  ideal.create_io_queues(16);
  ideal.now += 10 * kUs;
  const ps_t t0 = ideal.now;
  const ps_t base = ideal.submit(ideal.io, make_rw(nv::kNvmRead, 0, 800, 8, 0xd00000)).when - t0;

  Rig slow(cfg);
  slow.mem.latency = 1 * kUs;
  slow.enable();
  slow.create_io_queues(16);
  slow.now += 10 * kUs;
  const ps_t t1 = slow.now;
  const ps_t lat = slow.submit(slow.io, make_rw(nv::kNvmRead, 0, 800, 8, 0xd00000)).when - t1;
  // SQE fetch, data write and CQE write each wait for the port.
  CHECK(lat == base + 3 * kUs);
}

TEST_CASE("NVMe transfers to its own CMB stay inside the controller", "[nvme]") {
  hw::NvmeControllerConfig cfg;
  cfg.cmb = true;
  cfg.cmb_bir = 2;
  cfg.cmb_szu = 2;
  cfg.cmb_sz = 16;  // 16 MiB
  Rig r(cfg);
  r.enable();

  // The host maps the CMB the way the kernel does, which programs CMBMSC.
  std::array<hw::PciBar, 6> bars{};
  bars[2] = {0xe0000000ULL, r.ctrl.cmb_bar_size(), r.cmb_bus()};
  hw::ControllerRegs regs(r.ctrl, r.now);
  const auto map = hw::nvme_map_cmb(regs, r.rd(nv::kRegCap, 8), bars);
  REQUIRE(map.registered);
  CHECK(map.publish);
  CHECK(map.use_sqes);
  CHECK(map.size == 16ULL << 20);
  CHECK(r.ctrl.in_cmb(r.cmb_bus(), 4096));
  CHECK_FALSE(r.ctrl.in_cmb(r.cmb_bus() + (16ULL << 20) - 8, 16));

  // I/O SQ in the CMB (CMBSZ.SQS): the host writes SQEs through the BAR.
  r.create_io_queues(32, /*sq_in_cmb=*/true);
  const std::uint64_t buf_off = 1ULL << 20;
  const std::uint64_t buf_bus = r.cmb_bus() + buf_off;
  const auto data = pattern(64 * 1024, 9);
  r.ctrl.cmb_write(buf_off, data.data(), data.size());
  // PRP list in the CMB too (CMBSZ.LISTS).
  std::vector<std::uint64_t> list;
  for (int i = 1; i < 16; ++i) list.push_back(buf_bus + 4096ULL * i);
  r.ctrl.cmb_write(8ULL << 20, reinterpret_cast<const std::uint8_t*>(list.data()), list.size() * 8);

  const std::size_t log_before = r.mem.log.size();
  const auto before = r.ctrl.stats();
  CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmWrite, 0, 2048, 128, buf_bus,
                                         r.cmb_bus() + (8ULL << 20)))
                      .cqe) == 0);
  std::vector<std::uint8_t> back(data.size());
  r.ctrl.ns_read(2048ULL * 512, back.data(), back.size());
  CHECK(back == data);

  // Read into another CMB buffer.
  const std::uint64_t out_off = 4ULL << 20;
  std::vector<std::uint64_t> list2;
  for (int i = 1; i < 16; ++i) list2.push_back(r.cmb_bus() + out_off + 4096ULL * i);
  r.ctrl.cmb_write(9ULL << 20, reinterpret_cast<const std::uint8_t*>(list2.data()),
                   list2.size() * 8);
  CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 2048, 128, r.cmb_bus() + out_off,
                                         r.cmb_bus() + (9ULL << 20)))
                      .cqe) == 0);
  std::fill(back.begin(), back.end(), 0);
  r.ctrl.cmb_read(out_off, back.data(), back.size());
  CHECK(back == data);

  // The DmaPort saw only the two CQE writes: no SQE fetch, no list, no data.
  CHECK(r.mem.log.size() - log_before == 2);
  for (std::size_t i = log_before; i < r.mem.log.size(); ++i) {
    CHECK(r.mem.log[i].write);
    CHECK(r.mem.log[i].len == 16);
  }
  CHECK_FALSE(r.mem.touched(r.cmb_bus(), r.cmb_bus() + (16ULL << 20)));
  const auto after = r.ctrl.stats();
  CHECK(after.cmb_internal_bytes - before.cmb_internal_bytes ==
        2 * 64 * 1024 + 2 * 15 * 8 + 2 * 64);
  CHECK(after.dma_bytes - before.dma_bytes == 32);
}

TEST_CASE("NVMe CMB use without RDS is refused and a disabled CMB goes to the bus", "[nvme]") {
  hw::NvmeControllerConfig cfg;
  cfg.cmb = true;
  cfg.cmb_sz = 16;
  cfg.cmb_rds = false;
  Rig r(cfg);
  r.enable();
  r.create_io_queues(8);
  // CMSE not set yet: the CMB address is just a bus address to the DmaPort.
  CHECK_FALSE(r.ctrl.in_cmb(r.cmb_bus(), 4096));
  CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 0, 8, r.cmb_bus())).cqe) == 0);
  CHECK(r.mem.touched(r.cmb_bus(), r.cmb_bus() + 4096));

  // CRE | CMSE | CBA, as one 64-bit write.
  r.wr(nv::kRegCmbmsc, r.cmb_bus() | 3, 8);
  CHECK(r.ctrl.in_cmb(r.cmb_bus(), 4096));
  CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmRead, 0, 0, 8, r.cmb_bus())).cqe) ==
        nv::kScInvalidCmbUse);
  CHECK(status_of(r.submit(r.io, make_rw(nv::kNvmWrite, 0, 0, 8, r.cmb_bus())).cqe) == 0);
}

// ---------------------------------------------------------------------------
// Host: nvme_map_cmb()
// ---------------------------------------------------------------------------

namespace {

struct FakeRegs : hw::NvmeRegs {
  std::uint32_t cmbsz = 0;
  std::uint32_t cmbloc = 0;
  bool hide_until_cre = false;
  std::uint64_t cmbmsc = 0;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> writes;
  std::uint32_t readl(std::uint32_t off) override {
    const bool visible = !hide_until_cre || (cmbmsc & 1) != 0;
    if (off == nv::kRegCmbsz) return visible ? cmbsz : 0;
    if (off == nv::kRegCmbloc) return visible ? cmbloc : 0;
    return 0;
  }
  void writel(std::uint32_t off, std::uint32_t v) override {
    writes.emplace_back(off, v);
    if (off == nv::kRegCmbmsc) cmbmsc = (cmbmsc & ~0xffffffffULL) | v;
    if (off == nv::kRegCmbmsc + 4) cmbmsc = (cmbmsc & 0xffffffffULL) | (std::uint64_t{v} << 32);
  }
};

std::uint32_t cmbsz_of(bool sqs, bool rds, bool wds, unsigned szu, unsigned sz) {
  std::uint64_t v = 0;
  v = nv::cmbsz::kSqs.put(v, sqs);
  v = nv::cmbsz::kRds.put(v, rds);
  v = nv::cmbsz::kWds.put(v, wds);
  v = nv::cmbsz::kSzu.put(v, szu);
  v = nv::cmbsz::kSz.put(v, sz);
  return static_cast<std::uint32_t>(v);
}
std::uint32_t cmbloc_of(unsigned bir, unsigned ofst) {
  return static_cast<std::uint32_t>(nv::cmbloc::kOfst.put(nv::cmbloc::kBir.put(0, bir), ofst));
}
constexpr std::uint64_t kMiB = 1ULL << 20;

}  // namespace

TEST_CASE("nvme_map_cmb decodes CMBSZ and CMBLOC and applies the publish rule", "[nvme]") {
  std::array<hw::PciBar, 6> bars{};
  bars[2] = {0xc0000000ULL, 256 * kMiB, 0xc0000000ULL};
  bars[4] = {0xd0000000ULL, 4 * kMiB, 0x80d0000000ULL};
  const std::uint64_t no_cmbs = 0;

  SECTION("1 MiB units in BAR2 with SQS RDS WDS") {
    FakeRegs f;
    f.cmbsz = cmbsz_of(true, true, true, 2, 256);
    f.cmbloc = cmbloc_of(2, 0);
    auto m = hw::nvme_map_cmb(f, no_cmbs, bars);
    CHECK(m.registered);
    CHECK(m.bar == 2);
    CHECK(m.size == 256 * kMiB);
    CHECK(m.offset == 0);
    CHECK(m.publish);
    CHECK(m.use_sqes);
    CHECK(f.writes.empty());  // no CMBMSC without CAP.CMBS
    hw::NvmeMapCmbOptions o;
    o.use_cmb_sqes = false;
    CHECK_FALSE(hw::nvme_map_cmb(f, no_cmbs, bars, o).use_sqes);
  }
  SECTION("64 KiB units with an offset in BAR4 and only WDS") {
    FakeRegs f;
    f.cmbsz = cmbsz_of(false, false, true, 1, 32);  // 32 x 64 KiB = 2 MiB
    f.cmbloc = cmbloc_of(4, 32);                     // offset 2 MiB
    auto m = hw::nvme_map_cmb(f, no_cmbs, bars);
    CHECK(hw::nvme_cmb_size_unit(f.cmbsz) == 64 * 1024);
    CHECK(hw::nvme_cmb_size(f.cmbsz) == 32);
    CHECK(m.registered);
    CHECK(m.bar == 4);
    CHECK(m.size == 2 * kMiB);
    CHECK(m.offset == 2 * kMiB);
    CHECK_FALSE(m.publish);  // WDS without RDS: registered but not published
    CHECK_FALSE(m.use_sqes);
    f.cmbsz = cmbsz_of(false, true, false, 1, 32);
    CHECK_FALSE(hw::nvme_map_cmb(f, no_cmbs, bars).publish);
    f.cmbsz = cmbsz_of(false, true, true, 1, 32);
    CHECK(hw::nvme_map_cmb(f, no_cmbs, bars).publish);
  }
  SECTION("a CMB larger than its BAR is clamped") {
    FakeRegs f;
    f.cmbsz = cmbsz_of(false, true, true, 2, 512);  // 512 MiB
    f.cmbloc = cmbloc_of(2, 64);                     // at 64 MiB
    for (bool fixes : {false, true}) {
      hw::NvmeMapCmbOptions o;
      o.fixes_2025 = fixes;
      auto m = hw::nvme_map_cmb(f, no_cmbs, bars, o);
      CHECK(m.registered);
      CHECK(m.offset == 64 * kMiB);
      CHECK(m.size == 192 * kMiB);
    }
  }
  SECTION("an offset past the BAR and an empty CMBSZ stop early") {
    FakeRegs f;
    f.cmbsz = cmbsz_of(false, true, true, 2, 1);
    f.cmbloc = cmbloc_of(4, 5);  // 5 MiB into a 4 MiB BAR
    auto m = hw::nvme_map_cmb(f, no_cmbs, bars);
    CHECK_FALSE(m.registered);
    CHECK(m.bar == -1);
    FakeRegs empty;
    CHECK_FALSE(hw::nvme_map_cmb(empty, no_cmbs, bars).registered);
  }
  SECTION("a 512 KiB CMB fails the alignment check only with the 2025 fix") {
    FakeRegs f;
    f.cmbsz = cmbsz_of(true, true, true, 0, 128);  // 128 x 4 KiB
    f.cmbloc = cmbloc_of(2, 0);
    hw::NvmeMapCmbOptions v62;
    v62.fixes_2025 = false;
    auto old = hw::nvme_map_cmb(f, no_cmbs, bars, v62);
    CHECK(old.registered);
    CHECK(old.size == 512 * 1024);
    auto fixed = hw::nvme_map_cmb(f, no_cmbs, bars);
    CHECK_FALSE(fixed.registered);
    // A misaligned BAR start fails it too.
    std::array<hw::PciBar, 6> odd = bars;
    odd[2].start = 0xc0100000ULL;
    f.cmbsz = cmbsz_of(true, true, true, 2, 4);
    CHECK_FALSE(hw::nvme_map_cmb(f, no_cmbs, odd).registered);
    CHECK(hw::nvme_map_cmb(f, no_cmbs, odd, v62).registered);
  }
  SECTION("CAP.CMBS enables decoding through CMBMSC written high then low") {
    FakeRegs f;
    f.hide_until_cre = true;
    f.cmbsz = cmbsz_of(false, true, true, 1, 32);
    f.cmbloc = cmbloc_of(4, 32);
    const std::uint64_t cap = nv::cap::kCmbs.mask();
    auto m = hw::nvme_map_cmb(f, cap, bars);
    REQUIRE(m.registered);
    const std::uint64_t want = 0x80d0000000ULL + 2 * kMiB + 3;  // bus address | CMSE | CRE
    CHECK(m.cmbmsc_written == want);
    REQUIRE(f.writes.size() == 3);
    CHECK(f.writes[0] == std::make_pair<std::uint32_t, std::uint32_t>(nv::kRegCmbmsc, 1));
    CHECK(f.writes[1] == std::make_pair<std::uint32_t, std::uint32_t>(nv::kRegCmbmsc + 4, 0x80));
    CHECK(f.writes[2] == std::make_pair<std::uint32_t, std::uint32_t>(
                             nv::kRegCmbmsc, static_cast<std::uint32_t>(want)));
    // Without CRE the registers stay hidden and nothing is mapped.
    FakeRegs quiet;
    quiet.hide_until_cre = true;
    quiet.cmbsz = f.cmbsz;
    CHECK_FALSE(hw::nvme_map_cmb(quiet, 0, bars).registered);
  }
  SECTION("a failed pci_p2pdma_add_resource clears CMBMSC with the fix") {
    FakeRegs f;
    f.cmbsz = cmbsz_of(false, true, true, 1, 32);
    f.cmbloc = cmbloc_of(4, 0);
    const std::uint64_t cap = nv::cap::kCmbs.mask();
    std::vector<std::tuple<int, std::uint64_t, std::uint64_t>> calls;
    auto fail = [&](int bar, std::uint64_t size, std::uint64_t off) {
      calls.emplace_back(bar, size, off);
      return -12;
    };
    auto m = hw::nvme_map_cmb(f, cap, bars, {}, fail);
    CHECK_FALSE(m.registered);
    CHECK(m.add_resource_ret == -12);
    REQUIRE(calls.size() == 1);
    CHECK(calls[0] == std::make_tuple(4, 2 * kMiB, std::uint64_t{0}));
    CHECK(f.cmbmsc == 0);
    hw::NvmeMapCmbOptions v62;
    v62.fixes_2025 = false;
    hw::nvme_map_cmb(f, cap, bars, v62, fail);
    CHECK(f.cmbmsc == (0x80d0000000ULL | 3));  // v6.2 leaves decoding on
  }
}

// ---------------------------------------------------------------------------
// Flash timing
// ---------------------------------------------------------------------------

TEST_CASE("Flash striping and die parallelism", "[nvme]") {
  hw::FlashBackend f(hw::FlashConfig{});  // MQSim defaults
  const auto& c = f.config();
  CHECK(c.total_dies() == 64);
  CHECK(f.locate(0).channel == 0);
  CHECK(f.locate(7).channel == 7);
  CHECK(f.locate(8).chip == 1);
  CHECK(f.locate(32).die == 1);
  CHECK(f.locate(64).plane == 1);
  CHECK(f.locate(128).die_index == f.locate(0).die_index);
  const ps_t xfer = f.transfer_time(4096);
  CHECK(xfer == (4096ULL * 1000000ULL + 332) / 333);

  // One 4 KiB read on each of 8 channels at t = 0: all done at tR + xfer.
  for (std::uint64_t p = 0; p < 8; ++p) {
    CHECK(f.read(0, f.page_offset(p), 4096) == c.read_latency + xfer);
  }
  // Eight reads to one die (same plane): they queue behind each other.
  hw::FlashBackend g(hw::FlashConfig{});
  for (std::uint64_t k = 0; k < 8; ++k) {
    CHECK(g.read(0, g.page_offset(128 * k), 4096) == (k + 1) * c.read_latency + xfer);
  }
  // A contiguous 1 MiB read hits every die twice, on its two planes: one
  // multi-plane read per die, then 16 page transfers per channel.
  hw::FlashBackend h(hw::FlashConfig{});
  CHECK(h.read(0, 0, 0) == 0);
  const ps_t seq = h.read(0, 0, 128 * 8192);
  CHECK(h.stats().array_ops == 64);  // 128 pages, 2 planes per die: 64 multi-plane reads
  CHECK(seq == c.read_latency + 16 * h.transfer_time(8192));  // 16 pages per channel
  // Programs: channel in, then tPROG.
  hw::FlashBackend w(hw::FlashConfig{});
  CHECK(w.program(0, 0, 8192) == w.transfer_time(8192) + c.program_latency);
}

TEST_CASE("NVMe reads to different dies finish together and to one die serialise", "[nvme]") {
  const auto cfg = preset_config(hw::DrivePreset::kMqsimDefault);
  const hw::FlashConfig& fc = cfg.drive.flash;
  const std::uint64_t lbas_per_page = fc.page_bytes / 512;

  auto run = [&](std::uint64_t page_stride) {
    Rig r(cfg);
    r.enable();
    r.create_io_queues(64);
    r.now += 100 * kUs;
    for (std::uint64_t i = 0; i < 8; ++i) {
      r.put_sqe(r.io, make_rw(nv::kNvmRead, static_cast<std::uint16_t>(100 + i),
                              i * page_stride * lbas_per_page, 8, 0xd00000 + 0x1000 * i));
    }
    const std::size_t before = r.irqs.size();
    r.ring_sq(r.io);
    r.run_all();
    auto done = r.reap(r.io);
    REQUIRE(done.size() == 8);
    std::vector<ps_t> times;
    for (std::size_t i = before; i < r.irqs.size(); ++i) times.push_back(r.irqs[i].first);
    return times;
  };

  SECTION("eight dies on eight channels") {
    auto t = run(1);
    REQUIRE(t.size() == 8);
    for (ps_t x : t) CHECK(x == t[0]);
  }
  SECTION("one die") {
    auto t = run(fc.total_dies() * fc.planes_per_die);
    REQUIRE(t.size() == 8);
    for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i] - t[i - 1] == fc.read_latency);
  }
}

TEST_CASE("NVMe QD1 4 KiB read latency of each drive preset matches ANCHORS", "[nvme]") {
  const hw::DrivePreset presets[] = {hw::DrivePreset::kOptaneP4800X, hw::DrivePreset::kP3700Mlc,
                                     hw::DrivePreset::kP4500Tlc};
  for (auto p : presets) {
    const auto cfg = preset_config(p);
    INFO(cfg.drive.name);
    Rig r(cfg);
    r.enable();
    r.create_io_queues(16);
    std::uint32_t x = 12345;
    for (int i = 0; i < 16; ++i) {
      x = x * 1103515245U + 12345U;
      const std::uint64_t lba = (x % (1U << 24)) * 8;  // 4 KiB aligned, random
      r.now += 1000 * kUs;                               // idle drive: QD1
      const ps_t t0 = r.now;
      auto d = r.submit(r.io, make_rw(nv::kNvmRead, 0, lba, 8, 0xd00000));
      CHECK(status_of(d.cqe) == 0);
      const double lat = static_cast<double>(d.when - t0);
      const double anchor = static_cast<double>(cfg.drive.anchor_qd1_read_4k);
      CHECK(std::abs(lat - anchor) <= 0.02 * anchor);
    }
  }
}

TEST_CASE("NVMe buffered writes complete before the program and flush succeeds", "[nvme]") {
  const auto cfg = preset_config(hw::DrivePreset::kP3700Mlc);
  Rig r(cfg);
  r.enable();
  r.create_io_queues(16);
  r.now += 10 * kUs;
  const ps_t t0 = r.now;
  auto d = r.submit(r.io, make_rw(nv::kNvmWrite, 0, 0, 8, 0xd00000));
  CHECK(status_of(d.cqe) == 0);
  CHECK(d.when - t0 < 10 * kUs);
  // The program keeps the die busy: a read right behind waits for it.
  const ps_t t1 = r.now;
  auto rd = r.submit(r.io, make_rw(nv::kNvmRead, 0, 0, 8, 0xd00000));
  CHECK(rd.when - t1 > cfg.drive.flash.program_latency);
  // Write-through (MQSim default) waits for tPROG.
  Rig m(preset_config(hw::DrivePreset::kMqsimDefault));
  m.enable();
  m.create_io_queues(16);
  const ps_t t2 = m.now;
  CHECK(m.submit(m.io, make_rw(nv::kNvmWrite, 0, 0, 8, 0xd00000)).when - t2 >
        hw::FlashConfig{}.program_latency);
}

TEST_CASE("NVMe Gen4 x4 preset reads sequentially at about 7 GB/s", "[nvme]") {
  const auto cfg = preset_config(hw::DrivePreset::kGen4x4);
  Rig r(cfg);
  r.enable();
  r.create_io_queues(1024);
  // 256 sequential 128 KiB reads, all queued at once, into one PRP-listed buffer.
  constexpr std::uint32_t kCmds = 256;
  constexpr std::uint64_t kXfer = 128 * 1024;
  std::vector<std::uint64_t> list;
  for (int i = 1; i < 32; ++i) list.push_back(0x8000000 + 4096ULL * i);
  r.mem.mem.write(0x9000000, reinterpret_cast<const std::uint8_t*>(list.data()), list.size() * 8);
  r.now += 10 * kUs;
  const ps_t t0 = r.now;
  for (std::uint32_t i = 0; i < kCmds; ++i) {
    r.put_sqe(r.io, make_rw(nv::kNvmRead, static_cast<std::uint16_t>(i), i * (kXfer / 512),
                            kXfer / 512, 0x8000000, 0x9000000));
  }
  r.ring_sq(r.io);
  r.run_all();
  CHECK(r.reap(r.io).size() == kCmds);
  const ps_t elapsed = r.irqs.back().first - t0;
  const double gbps = static_cast<double>(kCmds * kXfer) / (static_cast<double>(elapsed) / 1e3);
  INFO("GB/s " << gbps);
  CHECK(gbps > 0.93 * cfg.drive.anchor_seq_read_gbps);
  CHECK(gbps < 1.07 * cfg.drive.anchor_seq_read_gbps);
}
