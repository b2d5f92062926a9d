// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// An example NIC for the NVMe-oF target pattern: data arrives from the
// network and the NIC writes it into host memory or p2pmem (an RDMA WRITE
// landing in the target's buffer), then interrupts. Written against the
// public TLM boundary only (include/p2psim/pcie_tlm.h), like copy_engine.
#include <p2psim/pcie_tlm.h>

#include <memory>
#include <string>

namespace p2psim::examples {

/**
 * rdma_nic - `queues` receive queues (params; default 8), each a block of
 * registers at 0x40 * queue in BAR 0 (64-bit, little endian):
 *   +0x00 DST      bus address to write the received data to
 *   +0x08 LEN      bytes to receive (at most 16 MiB; more: STATUS 3)
 *   +0x18 CTRL     write 1: receive LEN bytes into DST (ignored while busy)
 *   +0x20 STATUS   0 idle, 1 busy, 2 done, 3 error (the DMA got an error response)
 *   +0x30 MSI_ADDR, +0x38 MSI_DATA: when MSI_ADDR is not 0, the end of a
 *                  receive is signalled with an MSI
 * The wire (`gbps`, params; default 100) is shared by the queues: receives
 * take it in the order they were started (then by queue), LEN * 8 / gbps each. The NIC
 * writes a receive into DST once all of it arrived (store and forward),
 * with one DMA. The data is a pattern: word w of the n-th receive of queue q
 * is (seed << 32) | (q << 24) | ((n & 0xff) << 16) | (w & 0xffff), seed from
 * params (default 1).
 */
std::unique_ptr<pcie::ExternalEndpoint> make_rdma_nic(const std::string& instance, const pcie::EndpointParams& params);

}  // namespace p2psim::examples
