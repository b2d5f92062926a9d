// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The copy engine packaged as a third party would ship a model: a shared
// library a scenario names with `library:` (built as
// libp2psim_example_endpoints.so; docs/tlm-endpoints.md). Not part of the
// simulator binary, which has the same model built in.
#include "platform/endpoints/copy_engine.h"

namespace {
std::unique_ptr<p2psim::pcie::ExternalEndpoint> lookup(const std::string& model, const std::string& instance,
                                                       const p2psim::pcie::EndpointParams& params) {
  // Also under a name the simulator's built-in list does not have, so a
  // test can tell a model that came from here.
  if (model == "copy_engine" || model == "library_copy_engine")
    return p2psim::examples::make_copy_engine(instance, params);
  return nullptr;
}
}  // namespace

P2PSIM_ENDPOINT_LIBRARY(lookup)
