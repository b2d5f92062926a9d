// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "kernel/page.h"

namespace p2psim::kern {

bool PercpuRef::put(long n) {
  count -= n;
  if (count < 0) return false;
  if (count == 0 && !released) {
    released = true;
    if (release) release();
  }
  return true;
}

}  // namespace p2psim::kern
