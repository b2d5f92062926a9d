// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <p2psim/pcie_tlm.h>

#include <memory>

#include "scenario/topology_loader.h"

namespace p2psim {

/**
 * create_endpoint_model() - the SystemC model of tlm endpoint @ep: a
 * built-in one (scenario/endpoint_models.h lists them) or one from its
 * shared library. Elaboration only. Throws InputError at the endpoint when
 * there is no such model or the model refuses its params.
 */
std::unique_ptr<pcie::ExternalEndpoint> create_endpoint_model(const EndpointSpec& ep);

}  // namespace p2psim
