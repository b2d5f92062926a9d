// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// The SystemC host lets the scheduler's clock run ahead of SystemC's while no
// SystemC activity is due, and catches up when activity falls due or before
// the scheduler touches a model. One SystemC run per process: one test case.
#include <catch2/catch.hpp>

#include <systemc>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/kernel_bug.h"
#include "engine/systemc_host.h"

using namespace p2psim;

namespace {

constexpr ps_t kNs = 1000;

/// A device with one timed activity at 500 ns: it records when it ran and
/// kicks the host, as a model posting a completion does.
struct TimedDevice : sc_core::sc_module {
  SC_HAS_PROCESS(TimedDevice);
  explicit TimedDevice(const sc_core::sc_module_name& n) : sc_core::sc_module(n) {
    SC_METHOD(fire);
    sensitive << ev;
    dont_initialize();
    ev.notify(sc_core::sc_time::from_value(500 * kNs));
  }
  void fire() {
    ran_at.push_back(sc_core::sc_time_stamp().value());
    if (host) host->kick();
  }
  sc_core::sc_event ev;
  CoroutineHost* host = nullptr;
  std::vector<ps_t> ran_at;
};

}  // namespace

TEST_CASE("the SystemC host runs task time ahead of SystemC's only while no activity is due", "[host]") {
  unsetenv("P2PSIM_SYSTEMC_LOCKSTEP");
  TimedDevice* dev = nullptr;
  std::string guard;
  run_on_systemc(
      [&](CoroutineHost& host) {
        dev->host = &host;
        // 300 ns of task time before the device's 500 ns: SystemC's clock stays.
        for (int i = 0; i < 3; ++i) CHECK_FALSE(host.advance(100 * kNs));
        CHECK(host.now() == 300 * kNs);
        CHECK(sc_core::sc_time_stamp().value() == 0);
        // Up to 800 ns: the device falls due at 500 ns and kicks, so the
        // advance ends there, with both clocks at 500 ns.
        CHECK(host.advance(500 * kNs));
        CHECK(host.now() == 500 * kNs);
        CHECK(sc_core::sc_time_stamp().value() == 500 * kNs);
        REQUIRE(dev->ran_at == std::vector<ps_t>{500 * kNs});
        // Nothing due any more: ahead again, then caught up on demand.
        CHECK_FALSE(host.advance(250 * kNs));
        CHECK(sc_core::sc_time_stamp().value() == 500 * kNs);
        systemc_catch_up();
        CHECK(sc_core::sc_time_stamp().value() == 750 * kNs);
        CHECK(host.now() == 750 * kNs);
        // A model touched from behind, without systemc_catch_up(): its
        // activity lands before the scheduler's clock, and the next advance
        // refuses to go on.
        CHECK_FALSE(host.advance(100 * kNs));
        dev->ev.notify(sc_core::SC_ZERO_TIME);
        try {
          host.advance(100 * kNs);
        } catch (const ModelBug& e) {
          guard = e.what();
        }
      },
      [&] { dev = new TimedDevice("dev"); });
  CHECK_THAT(guard, Catch::Contains("without systemc_catch_up()"));
}
