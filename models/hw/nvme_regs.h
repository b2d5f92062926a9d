// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// NVMe register and data-structure layouts, bit-exact, after the NVM Express
// Base Specification 1.4 (section numbers below are 1.4's; 2.0 renumbered the
// sections but keeps every field used here at the same position). Every field
// position is checked with a static_assert, against the positions the Linux
// driver uses (include/linux/nvme.h NVME_CAP_*, NVME_CC_*, NVME_CMBLOC_*,
// NVME_CMBSZ_*, NVME_CMBMSC_*). Structures are little endian in memory, as on
// the wire; they are copied with memcpy, which the endianness check makes safe.
// Pure logic, no SystemC.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace p2psim::hw {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "NVMe structures are little endian; the memcpy codecs assume a little-endian host");

// ---------------------------------------------------------------------------
// Register fields
// ---------------------------------------------------------------------------

/// One bit field of a register: bits [shift, shift + width).
struct RegField {
  unsigned shift;
  unsigned width;
  constexpr std::uint64_t low_mask() const {
    return width >= 64 ? ~0ULL : ((1ULL << width) - 1ULL);
  }
  constexpr std::uint64_t mask() const { return low_mask() << shift; }
  constexpr std::uint64_t get(std::uint64_t reg) const { return (reg >> shift) & low_mask(); }
  constexpr std::uint64_t put(std::uint64_t reg, std::uint64_t v) const {
    return (reg & ~mask()) | ((v << shift) & mask());
  }
};

namespace nvme {

/// NVMe 1.4 §3.1: controller registers (BAR0/BAR1 offsets).
enum RegOffset : std::uint32_t {
  kRegCap = 0x00,      // 64-bit Controller Capabilities
  kRegVs = 0x08,       // Version
  kRegIntms = 0x0c,    // Interrupt Mask Set
  kRegIntmc = 0x10,    // Interrupt Mask Clear
  kRegCc = 0x14,       // Controller Configuration
  kRegCsts = 0x1c,     // Controller Status
  kRegNssr = 0x20,     // NVM Subsystem Reset
  kRegAqa = 0x24,      // Admin Queue Attributes
  kRegAsq = 0x28,      // 64-bit Admin SQ Base Address
  kRegAcq = 0x30,      // 64-bit Admin CQ Base Address
  kRegCmbloc = 0x38,   // Controller Memory Buffer Location
  kRegCmbsz = 0x3c,    // Controller Memory Buffer Size
  kRegBpinfo = 0x40,   // Boot Partition Information
  kRegBprsel = 0x44,   // Boot Partition Read Select
  kRegBpmbl = 0x48,    // 64-bit Boot Partition Memory Buffer Location
  kRegCmbmsc = 0x50,   // 64-bit CMB Memory Space Control (1.4)
  kRegCmbsts = 0x58,   // CMB Status (1.4)
  kRegDoorbells = 0x1000,
};

/// NVMe 1.4 §3.1.1: CAP.
namespace cap {
constexpr RegField kMqes{0, 16};    // Maximum Queue Entries Supported, 0's based
constexpr RegField kCqr{16, 1};     // Contiguous Queues Required
constexpr RegField kAms{17, 2};     // Arbitration Mechanism Supported
constexpr RegField kTo{24, 8};      // Timeout, 500 ms units
constexpr RegField kDstrd{32, 4};   // Doorbell Stride: 2^(2+DSTRD) bytes
constexpr RegField kNssrs{36, 1};   // NVM Subsystem Reset Supported
constexpr RegField kCss{37, 8};     // Command Sets Supported (bit 0: NVM)
constexpr RegField kBps{45, 1};     // Boot Partition Support
constexpr RegField kMpsmin{48, 4};  // Memory Page Size Minimum: 2^(12+MPSMIN)
constexpr RegField kMpsmax{52, 4};  // Memory Page Size Maximum
constexpr RegField kPmrs{56, 1};    // Persistent Memory Region Supported
constexpr RegField kCmbs{57, 1};    // Controller Memory Buffer Supported (CMBMSC exists)
}  // namespace cap

/// NVMe 1.4 §3.1.2: VS.
namespace vs {
constexpr RegField kTer{0, 8};
constexpr RegField kMnr{8, 8};
constexpr RegField kMjr{16, 16};
}  // namespace vs

/// NVMe 1.4 §3.1.5: CC.
namespace cc {
constexpr RegField kEn{0, 1};
constexpr RegField kCss{4, 3};
constexpr RegField kMps{7, 4};      // host memory page size 2^(12+MPS)
constexpr RegField kAms{11, 3};
constexpr RegField kShn{14, 2};     // 01b normal, 10b abrupt
constexpr RegField kIosqes{16, 4};  // I/O SQ entry size 2^n (6 = 64 B)
constexpr RegField kIocqes{20, 4};  // I/O CQ entry size 2^n (4 = 16 B)
}  // namespace cc

/// NVMe 1.4 §3.1.6: CSTS.
namespace csts {
constexpr RegField kRdy{0, 1};
constexpr RegField kCfs{1, 1};
constexpr RegField kShst{2, 2};   // 00b normal, 01b occurring, 10b complete
constexpr RegField kNssro{4, 1};
constexpr RegField kPp{5, 1};
constexpr std::uint32_t kShstNormal = 0, kShstOccurring = 1, kShstComplete = 2;
}  // namespace csts

/// NVMe 1.4 §3.1.8: AQA (both sizes 0's based).
namespace aqa {
constexpr RegField kAsqs{0, 12};
constexpr RegField kAcqs{16, 12};
}  // namespace aqa

/// NVMe 1.4 §3.1.11: CMBLOC.
namespace cmbloc {
constexpr RegField kBir{0, 3};      // Base Indicator Register (BAR number)
constexpr RegField kCqmms{3, 1};    // CMB Queue Mixed Memory Support
constexpr RegField kCqpds{4, 1};    // CMB Queue Physically Discontiguous Support
constexpr RegField kCdpmls{5, 1};   // CMB Data Pointer Mixed Locations Support
constexpr RegField kCdpcils{6, 1};  // CMB Data Pointer and Command Independent Locations
constexpr RegField kCdmmms{7, 1};   // CMB Data Metadata Mixed Memory Support
constexpr RegField kCqda{8, 1};     // CMB Queue Dword Alignment
constexpr RegField kOfst{12, 20};   // Offset, in CMBSZ.SZU units
}  // namespace cmbloc

/// NVMe 1.4 §3.1.12: CMBSZ.
namespace cmbsz {
constexpr RegField kSqs{0, 1};    // Submission Queue Support
constexpr RegField kCqs{1, 1};    // Completion Queue Support
constexpr RegField kLists{2, 1};  // PRP SGL List Support
constexpr RegField kRds{3, 1};    // Read Data Support
constexpr RegField kWds{4, 1};    // Write Data Support
constexpr RegField kSzu{8, 4};    // Size Units: 4 KiB << (4 * SZU)
constexpr RegField kSz{12, 20};   // Size, in SZU units
/// Size of one CMBSZ.SZU unit in bytes (0: 4 KiB, 1: 64 KiB, ... 6: 64 GiB).
constexpr std::uint64_t unit_bytes(std::uint64_t szu) { return 1ULL << (12 + 4 * szu); }
}  // namespace cmbsz

/// NVMe 1.4 §3.1.16: CMBMSC (64-bit).
namespace cmbmsc {
constexpr RegField kCre{0, 1};    // Capabilities Registers Enabled
constexpr RegField kCmse{1, 1};   // Controller Memory Space Enable
constexpr RegField kCba{12, 52};  // Controller Base Address >> 12
}  // namespace cmbmsc

/// NVMe 1.4 §3.1.17: CMBSTS.
namespace cmbsts {
constexpr RegField kCbai{0, 1};   // Controller Base Address Invalid
}  // namespace cmbsts

/// NVMe 1.4 §3.1: SQ y Tail / CQ y Head doorbells at 1000h + (2y [+1]) * (4 << CAP.DSTRD).
constexpr std::uint64_t sq_tail_doorbell(std::uint32_t qid, std::uint32_t dstrd) {
  return kRegDoorbells + (2ULL * qid) * (4ULL << dstrd);
}
constexpr std::uint64_t cq_head_doorbell(std::uint32_t qid, std::uint32_t dstrd) {
  return kRegDoorbells + (2ULL * qid + 1ULL) * (4ULL << dstrd);
}

// Field positions as include/linux/nvme.h uses them.
static_assert(cap::kMqes.get(0xffffULL) == 0xffff);
static_assert(cap::kTo.mask() == 0xffULL << 24);             // NVME_CAP_TIMEOUT: >> 24 & 0xff
static_assert(cap::kDstrd.mask() == 0xfULL << 32);           // NVME_CAP_STRIDE: >> 32 & 0xf
static_assert(cap::kCss.mask() == 0xffULL << 37);            // NVME_CAP_CSS: >> 37 & 0xff
static_assert(cap::kMpsmin.mask() == 0xfULL << 48);          // NVME_CAP_MPSMIN
static_assert(cap::kMpsmax.mask() == 0xfULL << 52);          // NVME_CAP_MPSMAX
static_assert(cap::kCmbs.mask() == 1ULL << 57);              // NVME_CAP_CMBS
static_assert(cc::kMps.shift == 7 && cc::kAms.shift == 11);  // NVME_CC_MPS_SHIFT, _AMS_SHIFT
static_assert(cc::kShn.mask() == 3U << 14);                  // NVME_CC_SHN_MASK
static_assert(cc::kIosqes.put(0, 6) == 6U << 16);            // NVME_CC_IOSQES
static_assert(cc::kIocqes.put(0, 4) == 4U << 20);            // NVME_CC_IOCQES
static_assert(csts::kShst.mask() == 0xc);                    // NVME_CSTS_SHST_MASK
static_assert(cmbloc::kBir.mask() == 0x7);                   // NVME_CMB_BIR
static_assert(cmbloc::kOfst.mask() == 0xfffff000ULL);        // NVME_CMB_OFST: >> 12 & 0xfffff
static_assert(cmbsz::kSzu.mask() == 0xf00);                  // NVME_CMBSZ_SZU_SHIFT 8, mask 0xf
static_assert(cmbsz::kSz.mask() == 0xfffff000ULL);           // NVME_CMBSZ_SZ_SHIFT 12
static_assert(cmbsz::kWds.mask() == 1U << 4 && cmbsz::kRds.mask() == 1U << 3);
static_assert(cmbmsc::kCba.mask() == 0xfffffffffffff000ULL);
static_assert(cmbsz::unit_bytes(0) == 4096 && cmbsz::unit_bytes(2) == (1ULL << 20) &&
              cmbsz::unit_bytes(6) == (1ULL << 36));
static_assert(sq_tail_doorbell(0, 0) == 0x1000 && cq_head_doorbell(0, 0) == 0x1004 &&
              sq_tail_doorbell(1, 0) == 0x1008 && cq_head_doorbell(3, 2) == 0x1000 + 7 * 16);

/**
 * struct Bar0Registers - the register block at BAR0 offset 0 (NVMe 1.4
 * §3.1), up to CMBSTS. Used to check offsets; the controller keeps
 * its registers as plain integers.
 */
struct Bar0Registers {
  std::uint64_t cap;
  std::uint32_t vs;
  std::uint32_t intms;
  std::uint32_t intmc;
  std::uint32_t cc;
  std::uint32_t rsvd18;
  std::uint32_t csts;
  std::uint32_t nssr;
  std::uint32_t aqa;
  std::uint64_t asq;
  std::uint64_t acq;
  std::uint32_t cmbloc;
  std::uint32_t cmbsz;
  std::uint32_t bpinfo;
  std::uint32_t bprsel;
  std::uint64_t bpmbl;
  std::uint64_t cmbmsc;
  std::uint32_t cmbsts;
  std::uint32_t rsvd5c;
};
static_assert(sizeof(Bar0Registers) == 0x60);
static_assert(offsetof(Bar0Registers, cap) == kRegCap);
static_assert(offsetof(Bar0Registers, vs) == kRegVs);
static_assert(offsetof(Bar0Registers, intms) == kRegIntms);
static_assert(offsetof(Bar0Registers, intmc) == kRegIntmc);
static_assert(offsetof(Bar0Registers, cc) == kRegCc);
static_assert(offsetof(Bar0Registers, csts) == kRegCsts);
static_assert(offsetof(Bar0Registers, nssr) == kRegNssr);
static_assert(offsetof(Bar0Registers, aqa) == kRegAqa);
static_assert(offsetof(Bar0Registers, asq) == kRegAsq);
static_assert(offsetof(Bar0Registers, acq) == kRegAcq);
static_assert(offsetof(Bar0Registers, cmbloc) == kRegCmbloc);
static_assert(offsetof(Bar0Registers, cmbsz) == kRegCmbsz);
static_assert(offsetof(Bar0Registers, bpmbl) == kRegBpmbl);
static_assert(offsetof(Bar0Registers, cmbmsc) == kRegCmbmsc);
static_assert(offsetof(Bar0Registers, cmbsts) == kRegCmbsts);

// ---------------------------------------------------------------------------
// Queue entries
// ---------------------------------------------------------------------------

/// NVMe 1.4 §5 / §6: admin and NVM command set opcodes.
enum AdminOpcode : std::uint8_t {
  kAdminDeleteSq = 0x00,
  kAdminCreateSq = 0x01,
  kAdminGetLogPage = 0x02,
  kAdminDeleteCq = 0x04,
  kAdminCreateCq = 0x05,
  kAdminIdentify = 0x06,
  kAdminAbort = 0x08,
  kAdminSetFeatures = 0x09,
  kAdminGetFeatures = 0x0a,
};
enum NvmOpcode : std::uint8_t {
  kNvmFlush = 0x00,
  kNvmWrite = 0x01,
  kNvmRead = 0x02,
};
/// NVMe 1.4 §5.15.1: Identify CNS values.
enum IdentifyCns : std::uint8_t {
  kCnsNamespace = 0x00,
  kCnsController = 0x01,
  kCnsActiveNsList = 0x02,
};
/// NVMe 1.4 §5.21.1: feature identifiers used here.
enum FeatureId : std::uint8_t {
  kFeatVolatileWriteCache = 0x06,
  kFeatNumberOfQueues = 0x07,
};

/**
 * struct Sqe - submission queue entry, 64 bytes. NVMe 1.4 §4.2
 * (Common Command Format); PRP1/PRP2 are the Data Pointer (DPTR, dwords 6-9)
 * when CDW0.PSDT = 00b.
 */
struct Sqe {
  std::uint8_t opcode;  // CDW0 bits 7:0
  std::uint8_t flags;   // CDW0 bits 15:8: FUSE 1:0, PSDT 7:6
  std::uint16_t cid;    // CDW0 bits 31:16 Command Identifier
  std::uint32_t nsid;   // dword 1
  std::uint32_t cdw2;
  std::uint32_t cdw3;
  std::uint64_t mptr;   // dwords 4-5 Metadata Pointer
  std::uint64_t prp1;   // dwords 6-7
  std::uint64_t prp2;   // dwords 8-9
  std::uint32_t cdw10;
  std::uint32_t cdw11;
  std::uint32_t cdw12;
  std::uint32_t cdw13;
  std::uint32_t cdw14;
  std::uint32_t cdw15;
};
static_assert(sizeof(Sqe) == 64);
static_assert(offsetof(Sqe, cid) == 2);
static_assert(offsetof(Sqe, nsid) == 4);
static_assert(offsetof(Sqe, mptr) == 16);
static_assert(offsetof(Sqe, prp1) == 24);
static_assert(offsetof(Sqe, prp2) == 32);
static_assert(offsetof(Sqe, cdw10) == 40);
static_assert(offsetof(Sqe, cdw15) == 60);
constexpr RegField kSqeFuse{0, 2};  // within Sqe::flags
constexpr RegField kSqePsdt{6, 2};

/**
 * struct Cqe - completion queue entry, 16 bytes. NVMe 1.4 §4.6:
 * DW0 command specific, DW2 = SQ Head Pointer | SQ Identifier << 16,
 * DW3 = CID | Phase Tag (bit 16) | Status Field (bits 31:17).
 */
struct Cqe {
  std::uint32_t dw0;
  std::uint32_t dw1;
  std::uint16_t sqhd;
  std::uint16_t sqid;
  std::uint16_t cid;
  std::uint16_t status;  // bit 0 P, bits 15:1 status field (§4.6.1)
};
static_assert(sizeof(Cqe) == 16);
static_assert(offsetof(Cqe, sqhd) == 8);
static_assert(offsetof(Cqe, sqid) == 10);
static_assert(offsetof(Cqe, cid) == 12);
static_assert(offsetof(Cqe, status) == 14);

/// NVMe 1.4 §4.6.1: the 16-bit status half-word of CQE DW3.
namespace cqe_status {
constexpr RegField kP{0, 1};     // Phase Tag
constexpr RegField kSc{1, 8};    // Status Code
constexpr RegField kSct{9, 3};   // Status Code Type
constexpr RegField kCrd{12, 2};  // Command Retry Delay
constexpr RegField kM{14, 1};    // More
constexpr RegField kDnr{15, 1};  // Do Not Retry
}  // namespace cqe_status

/// Status Code Type and Status Codes (NVMe 1.4 §4.6.1.1, §4.6.1.2).
enum Sct : std::uint8_t { kSctGeneric = 0, kSctCommandSpecific = 1, kSctMedia = 2 };
enum GenericStatus : std::uint8_t {
  kScSuccess = 0x00,
  kScInvalidOpcode = 0x01,
  kScInvalidField = 0x02,
  kScDataTransferError = 0x04,
  kScInternalError = 0x06,
  kScInvalidNamespace = 0x0b,
  kScInvalidCmbUse = 0x12,    // Invalid Use of Controller Memory Buffer
  kScPrpOffsetInvalid = 0x13,
  kScLbaOutOfRange = 0x80,
};
enum CommandSpecificStatus : std::uint8_t {
  kScCqInvalid = 0x00,          // Completion Queue Invalid
  kScInvalidQid = 0x01,         // Invalid Queue Identifier
  kScInvalidQsize = 0x02,       // Invalid Queue Size
  kScInvalidQueueDeletion = 0x0c,
};
/// The 15-bit status field (without the phase bit) for (sct, sc).
constexpr std::uint16_t make_status(std::uint8_t sct, std::uint8_t sc) {
  return static_cast<std::uint16_t>((sct << 8) | sc);
}
static_assert(cqe_status::kSct.put(cqe_status::kSc.put(0, 0x80), 2) == ((2U << 9) | (0x80U << 1)));

/**
 * struct IdentifyController - NVMe 1.4 §5.15.2.1, 4096 bytes.
 * Only the fields this model fills are named; the rest is reserved space.
 */
struct IdentifyController {
  std::uint16_t vid;      // 0
  std::uint16_t ssvid;    // 2
  char sn[20];            // 4
  char mn[40];            // 24
  char fr[8];             // 64
  std::uint8_t rab;       // 72
  std::uint8_t ieee[3];   // 73
  std::uint8_t cmic;      // 76
  std::uint8_t mdts;      // 77: 2^MDTS units of CAP.MPSMIN
  std::uint16_t cntlid;   // 78
  std::uint32_t ver;      // 80
  std::uint8_t rsvd84[512 - 84];
  std::uint8_t sqes;      // 512: max 7:4, required 3:0
  std::uint8_t cqes;      // 513
  std::uint16_t maxcmd;   // 514
  std::uint32_t nn;       // 516: number of namespaces
  std::uint16_t oncs;     // 520
  std::uint16_t fuses;    // 522
  std::uint8_t fna;       // 524
  std::uint8_t vwc;       // 525: bit 0 volatile write cache present
  std::uint8_t rsvd526[536 - 526];
  std::uint32_t sgls;     // 536: 0 = SGLs not supported
  std::uint8_t rsvd540[4096 - 540];
};
static_assert(sizeof(IdentifyController) == 4096);
static_assert(offsetof(IdentifyController, sn) == 4);
static_assert(offsetof(IdentifyController, mn) == 24);
static_assert(offsetof(IdentifyController, fr) == 64);
static_assert(offsetof(IdentifyController, mdts) == 77);
static_assert(offsetof(IdentifyController, cntlid) == 78);
static_assert(offsetof(IdentifyController, ver) == 80);
static_assert(offsetof(IdentifyController, sqes) == 512);
static_assert(offsetof(IdentifyController, nn) == 516);
static_assert(offsetof(IdentifyController, oncs) == 520);
static_assert(offsetof(IdentifyController, vwc) == 525);
static_assert(offsetof(IdentifyController, sgls) == 536);

/// NVMe 1.4 §5.15.2.2: LBA Format Data Structure.
struct LbaFormat {
  std::uint16_t ms;     // metadata size
  std::uint8_t lbads;   // LBA data size 2^n
  std::uint8_t rp;      // relative performance, bits 1:0
};
static_assert(sizeof(LbaFormat) == 4);

/// NVMe 1.4 §5.15.2.2: Identify Namespace (NVM command set), 4096 bytes.
struct IdentifyNamespace {
  std::uint64_t nsze;    // 0
  std::uint64_t ncap;    // 8
  std::uint64_t nuse;    // 16
  std::uint8_t nsfeat;   // 24
  std::uint8_t nlbaf;    // 25: 0's based
  std::uint8_t flbas;    // 26: bits 3:0 format in use
  std::uint8_t mc;       // 27
  std::uint8_t dpc;      // 28
  std::uint8_t dps;      // 29
  std::uint8_t rsvd30[128 - 30];
  LbaFormat lbaf[16];    // 128
  std::uint8_t rsvd192[4096 - 192];
};
static_assert(sizeof(IdentifyNamespace) == 4096);
static_assert(offsetof(IdentifyNamespace, nsze) == 0);
static_assert(offsetof(IdentifyNamespace, nuse) == 16);
static_assert(offsetof(IdentifyNamespace, nlbaf) == 25);
static_assert(offsetof(IdentifyNamespace, flbas) == 26);
static_assert(offsetof(IdentifyNamespace, lbaf) == 128);

}  // namespace nvme
}  // namespace p2psim::hw
