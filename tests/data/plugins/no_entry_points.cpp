// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// A shared library that is not an endpoint library: no
// P2PSIM_ENDPOINT_LIBRARY entry points (tests/sim/platform/test_tlm_endpoints.cpp).
extern "C" int some_other_library_function() { return 42; }
