// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// An example third-party endpoint: a DMA copy engine (an accelerator's data
// mover), written against the public TLM boundary only
// (include/p2psim/pcie_tlm.h), as a model from outside this project would
// be. Built in as `model: copy_engine`; docs/tlm-endpoints.md walks through it.
#include <p2psim/pcie_tlm.h>

#include <memory>
#include <string>

namespace p2psim::examples {

/**
 * copy_engine - registers in BAR 0 (64-bit, little endian):
 *   0x00 SRC    bus address to read from
 *   0x08 DST    bus address to write to
 *   0x10 LEN    bytes to copy
 *   0x18 CTRL   write 1: start (ignored while busy)
 *   0x20 STATUS 0 idle, 1 busy, 2 done, 3 error (a DMA got an error response)
 *   0x28 DONE   bytes copied so far
 *   0x30 MSI_ADDR, 0x38 MSI_DATA: when MSI_ADDR is not 0, the engine
 *               signals the end of a copy (done or error) with an MSI: a
 *               4-byte write of MSI_DATA to MSI_ADDR
 * It copies in chunks of `chunk` bytes (params; default 4096): one DMA read
 * of the chunk, then one DMA write of it, each waiting for the previous to
 * end (no overlap: a simple engine). Register access takes `mmio_latency`
 * (params, in ns; default 0) on top of the fabric's.
 */
std::unique_ptr<pcie::ExternalEndpoint> make_copy_engine(const std::string& instance, const pcie::EndpointParams& params);

}  // namespace p2psim::examples
