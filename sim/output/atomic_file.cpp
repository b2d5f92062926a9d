// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "output/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace p2psim {

namespace fs = std::filesystem;

namespace {
// ".NAME.p2psim-tmp.PID": hidden, and unique per writing process, so two
// writers never share one and a leftover names itself as ours.
constexpr const char* kTmpMark = ".p2psim-tmp.";
}  // namespace

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string write_file_atomically(const std::string& path, const std::string& content) {
  const fs::path p(path);
  const fs::path tmp = p.parent_path() / fmt::format(".{}{}{}", p.filename().string(), kTmpMark, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && write_all(fd, content) && ::fsync(fd) == 0;
  int saved = errno;
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    saved = errno;
  }
  if (ok) return "";
  if (fd >= 0) ::unlink(tmp.c_str());
  return fmt::format("cannot write {}: {}", path, std::strerror(saved));
}

size_t remove_stale_temporaries(const std::string& dir) {
  size_t removed = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(kTmpMark) != std::string::npos &&
        it->is_regular_file(ec) && fs::remove(it->path(), ec))
      ++removed;
  }
  return removed;
}

}  // namespace p2psim
