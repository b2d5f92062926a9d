// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// The loaders read files (a scenario names its topology include relative to
// itself), so a fuzz input is written to a file in a directory of this
// process, beside a link to the real scenarios/topologies/ so that inputs
// derived from the shipped scenarios reach their includes.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace p2psim::fuzz {

inline const std::string& input_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string d = std::string(base && *base ? base : "/tmp") + "/p2psim-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    std::error_code ec;
    std::filesystem::create_directory_symlink(P2PSIM_SOURCE_DIR "/scenarios/topologies", d + "/topologies", ec);
    static std::string at_exit;
    at_exit = d;
    std::atexit([] {
      std::error_code ec2;
      std::filesystem::remove_all(at_exit, ec2);
    });
    return d;
  }();
  return dir;
}

/// Write @data to input_dir()/@name and return the path.
inline std::string write_input(const char* name, const uint8_t* data, size_t size) {
  const std::string path = input_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace p2psim::fuzz
