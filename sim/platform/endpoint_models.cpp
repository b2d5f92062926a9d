// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "platform/endpoint_models.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <stdexcept>

#include "platform/endpoints/copy_engine.h"
#include "platform/endpoints/rdma_nic.h"
#include "scenario/endpoint_models.h"
#include "scenario/strict_yaml.h"

namespace p2psim {

std::unique_ptr<pcie::ExternalEndpoint> create_endpoint_model(const EndpointSpec& ep) {
  auto fail = [&](const std::string& why) { return InputError(ep.file, ep.line, ep.column, fmt::format("endpoint '{}': {}", ep.name, why)); };
  try {
    if (ep.library.empty()) {
      if (ep.model == "copy_engine") return examples::make_copy_engine(ep.name, ep.params);
      if (ep.model == "rdma_nic") return examples::make_rdma_nic(ep.name, ep.params);
      throw fail(fmt::format("no built-in endpoint model '{}'", ep.model));
    }
    std::string why;
    void* h = open_endpoint_library(ep.library, &why);
    if (!h) throw fail(why);
    using Create = pcie::ExternalEndpoint* (*)(const std::string&, const std::string&, const pcie::EndpointParams&);
    auto create = reinterpret_cast<Create>(::dlsym(h, "p2psim_create_endpoint"));
    std::unique_ptr<pcie::ExternalEndpoint> model(create(ep.model, ep.name, ep.params));
    if (!model) throw fail(fmt::format("{} has no endpoint model '{}'", ep.library, ep.model));
    return model;
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {  // std::invalid_argument as asked, or anything a model throws
    throw fail(e.what());
  }
}

}  // namespace p2psim
