// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <string>

namespace p2psim {

/**
 * write_file_atomically() - write @content to @path through a temporary
 * file beside it, fsync it, then rename it over @path: a reader, or a kill
 * at any moment, sees the old file or the new one, never a torn one.
 * Returns "" on success, else what failed ("cannot write PATH: reason").
 */
std::string write_file_atomically(const std::string& path, const std::string& content);

/**
 * remove_stale_temporaries() - delete the temporaries a killed writer left
 * under @dir (recursively; only files write_file_atomically() names).
 * Returns how many it removed.
 */
size_t remove_stale_temporaries(const std::string& dir);

/// write(2) all of @s to @fd, retrying on EINTR and short writes.
bool write_all(int fd, const std::string& s);

}  // namespace p2psim
