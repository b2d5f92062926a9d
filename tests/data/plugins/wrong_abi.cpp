// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// An endpoint library built for another ABI version of
// include/p2psim/pcie_tlm.h (tests/sim/platform/test_tlm_endpoints.cpp).
extern "C" int p2psim_endpoint_abi_version() { return 999; }
extern "C" void* p2psim_create_endpoint() { return nullptr; }
