// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel/costs.h"
#include "kernel/knobs.h"
#include "engine/machine.h"
#include "common/finding.h"
#include "scenario/parameters.h"
#include "scenario/topology_loader.h"

namespace p2psim {

/// p2pmem_test's and fio's `p2pmem:` value for a buffer in anonymous host
/// memory instead of p2pmem: the bounce through DRAM.
constexpr const char* kHostBuffer = "host";


/// Where something was written: "file:line:col".
struct SourcePos {
  std::string file;
  int line = 1, column = 1;
  std::string str() const;
};

/// One operation of a task (docs/scenario-format.md lists them).
struct OpSpec {
  enum class Kind { mmap, munmap, store, load, pin, unpin, unbind, signal, wait, sleep, compute,
                    alloc, free, o_direct, p2pmem_test, set_acs, fio, mmio_write, mmio_poll, wait_irq,
                    vfio_open, vfio_mmap, vfio_close, vfio_wait_request, pci_command, dmabuf_export,
                    dmabuf_close, rdma_reg_mr, rdma_write, rdma_dereg_mr, iommufd_map, iommufd_dma_write,
                    iommufd_unmap, p2pmem_find, surprise_remove, iommu_group_type,
                    // Internal: what the loader expands p2pmem_test and fio into.
                    p2pmem_setup, p2pmem_thread, p2pmem_report };
  Kind kind;
  std::string buf;       ///< mmap/munmap/store/load/pin, alloc/free name
  std::string provider;  ///< mmap, unbind, surprise_remove, alloc; p2pmem_test/fio buffer (kHostBuffer: host memory)
  uint64_t pages = 1;    ///< mmap, pin
  uint64_t page = 0;     ///< store/load: page index in the buffer
  uint64_t value = 0;    ///< store
  std::optional<uint64_t> expect;  ///< load
  unsigned gup_flags = 0;          ///< pin
  std::string event;               ///< signal/wait
  std::string wait_text;           ///< wait: "wait for event 'NAME'" (load_scenario() fills it)
  int event_id = -1;               ///< signal/wait: the event's index (load_scenario() fills it)
  int buf_id = -1;                 ///< the index of @buf's name (load_scenario() fills it)
  uint64_t size = 0;               ///< alloc
  std::string dev, dst;            ///< o_direct device; p2pmem_test src (dev) and dst
  std::string text;                ///< iommu_group_type: what is written to the sysfs file
  bool write = false;              ///< o_direct: memory -> device
  uint64_t offset = 0;             ///< o_direct, p2pmem_test: byte offset on the device
  uint64_t chunks = 1, chunk_size = 4096;  ///< p2pmem_test
  bool check = false;              ///< p2pmem_test --check
  bool skip_read = false, skip_write = false, overlap = false;  ///< p2pmem_test options
  int host_access_size = 0, host_accesses = 0;  ///< --host_access SIZE:COUNT (SIZE < 0: read only)
  uint32_t init_size = 0;           ///< --init SIZE:TOTAL: zero-fill TOTAL bytes in SIZE units
  uint64_t init_total = 0;
  uint64_t threads = 1;             ///< --threads
  int thread = 0;                   ///< p2pmem_thread: which
  std::string run;                  ///< p2pmem_*: the run they belong to (its task's name)
  ps_t duration = 0;                ///< p2pmem_test --duration (0: run the chunks once); sleep/compute
  uint64_t seed = 1;               ///< p2pmem_test --seed: the source pattern; fio: random offsets
  bool fio = false;                 ///< p2pmem_* steps of a fio op (one direction, no data check)
  bool random = false;              ///< fio randread/randwrite: offsets drawn in [0, span)
  uint64_t span = 0;                ///< fio: the device range random offsets fall in
  std::vector<std::string> acs;    ///< set_acs: the new ACS control bits of port @dev
  std::vector<std::string> clients;  ///< p2pmem_find: the client devices
  // mmio_write/mmio_poll: @dev, register @offset, @value (or, with @buf set,
  // the DMA address of page @page of @buf); poll: every @interval until
  // @duration passed.
  ps_t interval = 0;
  int msi_cpu = -1;  ///< mmio_write value {msi_address: CPU}: that CPU's MSI address
  std::string nic;   ///< fio writes: the rdma_nic endpoint the data arrives through (NVMe-oF target)
  std::string dmabuf;  ///< dmabuf_export (as), dmabuf_close, rdma_reg_mr: the dma-buf's name
  bool pinned = false; ///< rdma_reg_mr: a pinned (data-direct) MR instead of a dynamic one
  bool memory = true;  ///< pci_command: the MEMORY bit written
  SourcePos pos;
};
const char* to_string(OpSpec::Kind k);
/// "op:<name>", the preemption point an op starts at. The string lives as
/// long as the program: the engine keeps the last point a task reached.
const char* op_point(OpSpec::Kind k);

struct TaskSpec {
  std::string name;
  int cpu = 0;
  std::string process;  ///< empty: a kernel thread
  ps_t start = 0;
  std::vector<OpSpec> ops;
  SourcePos pos;
};

struct ProviderSpec {
  std::string name;
  uint64_t bar_phys = 0, bar_size = 0, bus_offset = 0;
  uint64_t p2pmem_offset = 0, p2pmem_size = 0;  ///< size 0: the rest of the BAR
  SourcePos pos;
};

/// A function bound to vfio-pci (topology.vfio): BAR 0 and, per importing
/// device, what pci_p2pdma_map_type() says of the pair.
struct VfioSpec {
  std::string name;
  uint64_t bar_phys = 0, bar_size = 0, bus_offset = 0;
  std::vector<std::pair<std::string, std::string>> map_types;  ///< client -> bus_addr | host_bridge
  SourcePos pos;
};

struct KernelSpec {
  std::optional<std::string> preset;
  std::optional<std::string> platform;  ///< x86 (default), x86-pv-guest, arm64, x86-invlpgb
  std::vector<std::pair<std::string, std::string>> knobs;  ///< in file order
  std::vector<std::pair<std::string, ps_t>> costs;
  std::vector<SourcePos> knob_pos, cost_pos;
  SourcePos preset_pos, platform_pos;
};

struct FaultSpec {
  std::string site;
  int nth = 1;
  SourcePos pos;
};

/// What a variant must produce: clean, or exactly this set of finding kinds.
/// What one op of a task did: the per-op log, and what `failures:` judges.
struct OpOutcome {
  std::string task;
  std::string op;      ///< its kind: "mmap", "store", "p2pmem_test", ...
  ps_t time = 0;       ///< when it returned
  long error = 0;      ///< 0, or -errno; a load or store that faults: -SIGBUS or -SIGSEGV
  std::string result;  ///< "0x7f0000000000", "4096 bytes", "-22 (EINVAL)", ...
  /// "b_main mmap EINVAL": how `failures:` names a failed op.
  std::string failure() const;
};

/// "EINVAL" for -22 and the like ("SIGBUS" for -7: how a faulting access fails).
const char* errno_name(long e);

struct Expectation {
  std::vector<FindingKind> kinds;  ///< empty: clean
  /// `failures:`: the failed ops, each "TASK OP ERROR", sorted; unset: not judged.
  std::optional<std::vector<std::string>> failures;
  bool matches(const std::vector<Finding>& found) const;
  /// The failed ops in @ops are exactly @failures (true when unset).
  bool failures_match(const std::vector<OpOutcome>& ops) const;
  std::string str() const;
};

/// The failed ops of @ops as `failures:` names them, in order.
std::vector<std::string> failures_of(const std::vector<OpOutcome>& ops);

/**
 * struct KnownBug - an entry of a variant's `known:` list: a kernel bug that
 * variant is known to have. An execution it explains (sim/explore/known_bug.h)
 * counts as expected, and campaigns count it apart from new findings.
 * Exactly one of @cause (a root-cause id) or @signature (a finding
 * signature as finding.json prints it) is set.
 */
struct KnownBug {
  std::string name;
  std::string cause;
  std::string signature;
  std::string about;
  SourcePos pos;
};

struct VariantSpec {
  std::string name;
  std::string description;
  KernelSpec kernel;
  Expectation expect;
  std::vector<KnownBug> known;
  std::optional<std::vector<Pin>> schedule;
  SourcePos pos;
};

/**
 * struct Scenario - a parsed scenario file. Loading checks everything a
 * run could trip on (names, references, knob values), so a run never
 * starts on a bad file.
 */
struct Scenario {
  std::string name, description, file;
  uint64_t content_hash = 0;  ///< FNV-1a of the file's bytes
  std::vector<ProviderSpec> providers;
  std::vector<VfioSpec> vfio;
  std::optional<TopologySpec> topo;  ///< the PCI tree, when the scenario has one
  KernelSpec kernel;
  int cpus = 1;
  std::vector<TaskSpec> tasks;
  size_t nr_events = 0;  ///< distinct signal/wait events (OpSpec::event_id)
  size_t nr_bufs = 0;    ///< distinct buffer names (OpSpec::buf_id)
  std::vector<FaultSpec> faults;
  std::vector<Pin> schedule;
  std::vector<VariantSpec> variants;
  RunLimits limits;  ///< `limits: {steps, time}`: when a run counts as a livelock
  SourcePos variants_pos;  ///< the `variants:` key, for "unknown variant"
  /// `parameters:` in declaration order, with the values this load used.
  std::vector<std::pair<std::string, std::string>> parameters;
  /// `sweep:` (parameter or `variant` -> values): report's default axes.
  std::vector<std::pair<std::string, std::vector<std::string>>> sweep;

  const VariantSpec* variant(const std::string& name) const;
};

/// Throws InputError (file:line:col) on any problem. @params override the
/// defaults of the scenario's `parameters:` (sim/scenario/parameters.h).
Scenario load_scenario(const std::string& path, const ParamValues& params = {});
/// Every named preemption point of the code (generated from the sources at
/// build time) and the op:NAME points of scenario ops, sorted.
const std::vector<std::string>& preemption_points();
/// A scenario's topology, or a topology file's (for `topo`). Throws InputError.
TopologySpec load_topology(const std::string& path, const ParamValues& params = {});

/// One fully resolved configuration: scenario + variant + overrides.
struct RunConfig {
  std::string variant;  ///< empty: the scenario's base kernel
  kern::Knobs knobs;
  kern::Costs costs;
  std::vector<Pin> pins;
  Expectation expect;
  std::vector<KnownBug> known;  ///< the variant's known bugs
  std::string preset;
  std::string platform;
};

/**
 * resolve_run() - the preset, its platform (the variant's, else the base
 * kernel's, else x86), the base kernel's knobs and costs, the variant's,
 * then `--set key=value` overrides in order (knobs by name, costs as
 * cost.NAME, `platform=NAME` as --platform does).
 * Throws InputError naming @where for a bad --set.
 */
RunConfig resolve_run(const Scenario& sc, const std::string& variant,
                      const std::vector<std::string>& sets);

}  // namespace p2psim
