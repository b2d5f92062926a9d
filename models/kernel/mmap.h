// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <memory>

#include "kernel/exec.h"
#include "kernel/kernel.h"

namespace p2psim::kern {

/**
 * do_mmap() - mmap(NULL, len, prot, MAP_SHARED, fd, pgoff) of @file.
 * Returns the address, or a negative errno. mmap_lock is taken for write.
 */
int64_t do_mmap(Exec& ex, Kernel& k, Process& proc, const std::shared_ptr<File>& file,
                uint64_t len, bool writable, bool shared, uint64_t pgoff);
/// mmap(MAP_PRIVATE | MAP_ANONYMOUS) of @len bytes, read-write: the address or -errno.
int64_t do_mmap_anonymous(Exec& ex, Kernel& k, Process& proc, uint64_t len);
/// do_munmap() of the whole VMA at @addr: unmap_region(), then remove_vma().
int do_munmap(Exec& ex, Kernel& k, Process& proc, uint64_t addr, uint64_t len);

}  // namespace p2psim::kern
