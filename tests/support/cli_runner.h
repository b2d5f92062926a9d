// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Running the p2pdma-sim binary from a test: its exit code, stdout and
// stderr, and a scratch directory per test process.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace p2psim_test {

/// A directory of this test process's own (each case runs in its own
/// process), so parallel runs of the suite never share a file.
inline const std::string& scratch() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/p2psim-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    std::string d = tmpl;
    static std::string at_exit;
    at_exit = d;
    std::atexit([] { std::system(("rm -rf " + at_exit).c_str()); });
    return d;
  }();
  return dir;
}

struct Cli {
  int exit_code;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string src(const std::string& rel) { return std::string(P2PSIM_SOURCE_DIR) + "/" + rel; }

inline Cli run_raw(const std::string& args) {
  char out_path[] = "/tmp/p2psim-cli-out-XXXXXX";
  char err_path[] = "/tmp/p2psim-cli-err-XXXXXX";
  close(mkstemp(out_path));
  close(mkstemp(err_path));
  const std::string cmd = std::string(P2PSIM_BINARY) + " " + args + " >" + out_path + " 2>" + err_path;
  const int st = std::system(cmd.c_str());
  Cli r{WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out_path), slurp(err_path)};
  unlink(out_path);
  unlink(err_path);
  return r;
}

/// run_raw(@args) with P2PSIM_INJECT_INTERNAL_ERROR=@spec: a simulated
/// simulator failure (sim/explore/runner.cpp).
inline Cli run_injected(const char* spec, const std::string& args) {
  setenv("P2PSIM_INJECT_INTERNAL_ERROR", spec, 1);
  Cli r = run_raw(args);
  unsetenv("P2PSIM_INJECT_INTERNAL_ERROR");
  return r;
}

}  // namespace p2psim_test
