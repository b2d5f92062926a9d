// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once

namespace p2psim {

/// The p2pdma-sim command line (README.md "Using it"). Exit codes:
/// 0 verdict as expected, 1 not as expected, 2 bad input, 3 model bug.
int cli_main(int argc, char** argv);

}  // namespace p2psim
