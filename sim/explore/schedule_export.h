// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <string>
#include <vector>

#include "engine/machine.h"
#include "scenario/scenario.h"

namespace p2psim {

/**
 * schedule_from_events() - the pins that make the timed strategy take the
 * decisions an execution's strategy took. Each decision the timing alone
 * would not take (a task run before an earlier-ready one, a task held at a
 * point) becomes a pin: the task passed over is held at the point it
 * stands at until the last point another task passed before it ran again.
 * A pin only reproduces what it can name: check the result by running it.
 */
std::vector<Pin> schedule_from_events(const Scenario& sc, const std::vector<PpEvent>& events);

/// A `schedule:` block (docs/scenario-format.md) for @pins, each pin on its own lines.
std::string schedule_yaml(const std::vector<Pin>& pins);

}  // namespace p2psim
