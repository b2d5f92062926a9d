// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "scenario/endpoint_models.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <map>

namespace p2psim {

// The ABI version this simulator speaks: kEndpointAbiVersion of
// include/p2psim/pcie_tlm.h (the scenario room does not include SystemC).
constexpr int kEndpointAbiVersion = 1;

const std::vector<std::string>& builtin_endpoint_models() {
  static const std::vector<std::string> names = {"copy_engine", "rdma_nic"};
  return names;
}

void* open_endpoint_library(const std::string& path, std::string* why) {
  static std::map<std::string, void*> open;  // one handle per path, for the process
  if (auto it = open.find(path); it != open.end()) return it->second;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    *why = fmt::format("no endpoint library at {}", path);
    return nullptr;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = fmt::format("{} is not a regular file (an endpoint library is a shared object)", path);
    return nullptr;
  }
  void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    *why = fmt::format("cannot load endpoint library: {}", ::dlerror());
    return nullptr;
  }
  auto version = reinterpret_cast<int (*)()>(::dlsym(h, "p2psim_endpoint_abi_version"));
  if (!version || !::dlsym(h, "p2psim_create_endpoint")) {
    *why = fmt::format("{} is not an endpoint library: it has no P2PSIM_ENDPOINT_LIBRARY entry points "
                       "(include/p2psim/pcie_tlm.h)", path);
    ::dlclose(h);
    return nullptr;
  }
  if (version() != kEndpointAbiVersion) {
    *why = fmt::format("{} was built for endpoint ABI version {}; this simulator has version {}: rebuild it "
                       "against this include/p2psim/pcie_tlm.h", path, version(), kEndpointAbiVersion);
    ::dlclose(h);
    return nullptr;
  }
  open[path] = h;
  return h;
}

std::string check_endpoint_library(const std::string& path) {
  std::string why;
  open_endpoint_library(path, &why);
  return why;
}

}  // namespace p2psim
