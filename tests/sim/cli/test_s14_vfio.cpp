// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The S14 catalogue entries (docs/scenarios/s14_vfio_dmabuf_revoke.md):
// vfio-pci's dma-buf revoke protocol in the series' order runs clean, pinned
// and under fuzz; each variant that removes a step of it is found.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/cli_runner.h"

using namespace p2psim_test;

namespace {
const std::string kS14 = src("scenarios/s14_vfio_dmabuf_revoke.yaml");
const std::string kS14b = src("scenarios/s14b_vfio_memory_disable.yaml");
const std::string kS14c = src("scenarios/s14c_vfio_pinned_importer.yaml");

Cli fuzz(const std::string& scen, const std::string& variant, int runs) {
  const std::string out = scratch() + "/fuzz-" + variant + "-" + std::to_string(runs);
  std::system(("rm -rf " + out).c_str());
  return run_raw("fuzz " + scen + " --variant " + variant + " --runs " + std::to_string(runs) +
                 " --jobs 2 --no-shrink --out " + out);
}
}  // namespace

TEST_CASE("S14 the v6.19 close disables the function before the NIC is told, revoking first closes it",
          "[cli][s14]") {
  Cli v619 = run_raw("run " + kS14 + " --variant latest");
  CHECK(v619.exit_code == 0);
  CHECK(v619.out.find("verdict: use_after_revoke\n") != std::string::npos);
  CHECK(v619.out.find("mlx5_0: DMA write to 0000:05:00.0 BAR at 0xd0000000 while its memory decoding is off") !=
        std::string::npos);
  Cli fixed = run_raw("run " + kS14 + " --variant revoke-first -v");
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find("verdict: clean\n") != std::string::npos);
  // The write on the wire lands before the revoke returns; later ones fault and fail.
  CHECK(fixed.out.find("nic        rdma_write         landed") != std::string::npos);
  CHECK(fixed.out.find("nic        rdma_write         -14 (EFAULT)") != std::string::npos);
  CHECK(fixed.out.find("unplug     unbind             driver unbound") != std::string::npos);
  // Built as Kconfig defaults it, 7.0.0 lets no dynamic importer map the BAR at all.
  Cli def = run_raw("run " + kS14 + " --variant default-config");
  CHECK(def.exit_code == 0);
  CHECK(def.out.find("failures: vmm rdma_reg_mr EOPNOTSUPP") != std::string::npos);
}

TEST_CASE("S14 each protocol step removed from the revoke-first order is found, pinned and by fuzz", "[cli][s14]") {
  struct Case {
    const char* variant;
    const char* message;
  };
  // Without the revoked check the NIC's page fault re-maps the BAR while the
  // close resets the function.
  for (const Case& c : {Case{"importer-returns-early", "while its memory decoding is off"},
                        Case{"no-revoked-check", "while its memory decoding is off"},
                        Case{"remove-does-not-wait", "after vfio_pci_remove() returned"}}) {
    INFO(c.variant);
    Cli r = run_raw("run " + kS14 + " --variant " + c.variant);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: use_after_revoke\n") != std::string::npos);
    CHECK(r.out.find(c.message) != std::string::npos);
    Cli f = fuzz(kS14, c.variant, 3000);
    CHECK(f.exit_code == 1);
    CHECK(f.out.find("use_after_revoke") != std::string::npos);
  }
}

TEST_CASE("S14 the revoke-first order and the memory-disable path stay clean under fuzz", "[cli][s14][fuzz]") {
  Cli a = fuzz(kS14, "revoke-first", 20000);
  CHECK(a.exit_code == 0);
  CHECK(a.out.find("20000 executions") != std::string::npos);
  CHECK(a.out.find(" 0 findings, 0 unique") != std::string::npos);
  for (const char* v : {"latest", "revoke-then-zap"}) {
    INFO(v);
    Cli b = fuzz(kS14b, v, 20000);
    CHECK(b.exit_code == 0);
    CHECK(b.out.find(" 0 findings, 0 unique") != std::string::npos);
  }
}

TEST_CASE("S14b decoding off revokes the NIC's IOVA under memory_lock, and back on re-maps it", "[cli][s14]") {
  for (const char* v : {"latest", "revoke-then-zap"}) {
    INFO(v);
    Cli r = run_raw("run " + kS14b + " --variant " + v + " -v");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("verdict: clean\n") != std::string::npos);
    CHECK(r.out.find("failures: nic rdma_write EFAULT\n") != std::string::npos);
    CHECK(r.out.find("vmm        load               0xcccc") != std::string::npos);  // the re-mapped write landed
  }
  Cli early = run_raw("run " + kS14b + " --variant importer-returns-early");
  CHECK(early.exit_code == 0);
  CHECK(early.out.find("DMA write to IOVA 0x80000000, which dma_buf_free_sgt() unmapped: the IOMMU blocks it") !=
        std::string::npos);
}

TEST_CASE("S14c a pinned importer keeps writing after the revoke until ->pin refuses it", "[cli][s14]") {
  Cli rc1 = run_raw("run " + kS14c + " --variant v6.19-rc1");
  CHECK(rc1.exit_code == 0);
  CHECK(rc1.out.find("verdict: use_after_revoke\n") != std::string::npos);
  // Its IOVA through the root complex still maps the BAR when unbind frees the provider.
  CHECK(rc1.out.find("p2pdma_provider freed at unbind while IOVA 0x80000000+0x1000 linked through it still maps the BAR") !=
        std::string::npos);
  Cli fixed = run_raw("run " + kS14c + " --variant latest");
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find("verdict: clean\n") != std::string::npos);
  CHECK(fixed.out.find("vmm rdma_reg_mr EOPNOTSUPP") != std::string::npos);
  Cli f = fuzz(kS14c, "v6.19-rc1", 2000);
  CHECK(f.exit_code == 1);
}

TEST_CASE("S14 ops: a vfio device, dma-buf or NIC nobody declares is bad input at its line", "[cli][s14][input]") {
  const std::string dir = scratch() + "/s14-input";
  std::system(("mkdir -p " + dir).c_str());
  struct Case {
    const char* op;
    const char* message;
  };
  for (const Case& c : {Case{"vfio_open: nosuch", "'nosuch' is not a vfio device of this scenario (topology.vfio)"},
                        Case{"rdma_reg_mr: { dev: mlx5_0, dmabuf: nosuch }",
                             "no task exports a dma-buf named 'nosuch' (dmabuf_export)"},
                        Case{"rdma_write: { dev: mlx9, value: 1 }",
                             "no task registers a memory region on NIC 'mlx9' (rdma_reg_mr)"},
                        Case{"pci_command: { dev: \"0000:05:00.0\", memory: maybe }", "memory"}}) {
    INFO(c.op);
    const std::string f = dir + "/bad.yaml";
    std::ofstream(f) << "name: bad\n"
                        "topology:\n"
                        "  vfio: [ { name: \"0000:05:00.0\", bar_phys: 0xd0000000, bar_size: 64KiB } ]\n"
                        "kernel: { preset: latest, cpus: 1 }\n"
                        "tasks:\n"
                        "  - name: vmm\n"
                        "    cpu: 0\n"
                        "    process: vmm\n"
                        "    ops:\n"
                        "      - "
                     << c.op << "\nvariants: { latest: { expect: clean } }\n";
    Cli r = run_raw("check " + f);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind(f + ":10:", 0) == 0);
    CHECK(r.err.find(c.message) != std::string::npos);
  }
}

TEST_CASE("S14d iommufd: the same close-order window, and revoking first blocks the GPU's writes at the IOMMU",
          "[cli][s14]") {
  const std::string s14d = src("scenarios/s14d_vfio_iommufd.yaml");
  Cli v = run_raw("run " + s14d + " --variant latest");
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("gpu0: DMA write through IOVA 0x80000000 to 0000:05:00.0 BAR at 0xd0000000") != std::string::npos);
  Cli fixed = run_raw("run " + s14d + " --variant revoke-first");
  CHECK(fixed.exit_code == 0);
  CHECK(fixed.out.find("verdict: clean\n") != std::string::npos);
  CHECK(fixed.out.find("failures: gpu iommufd_dma_write EFAULT") != std::string::npos);
}
