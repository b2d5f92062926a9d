// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// report --sweep: parsing, the cartesian product's order, and the limits.
#include <catch2/catch.hpp>

#include <string>

#include "report/sweep.h"

using p2psim::SweepError;

TEST_CASE("sweep axes parse and multiply, the first axis slowest", "[report][sweep]") {
  const auto a = p2psim::parse_sweep("path=switch,rc");
  const auto b = p2psim::parse_sweep("chunk_size=4KiB,32KiB,128KiB");
  const auto v = p2psim::parse_sweep("variant=v6.2,latest");
  const auto pts = p2psim::sweep_points({a, b, v});
  REQUIRE(pts.size() == 12);
  CHECK(pts[0].params.at("path") == "switch");
  CHECK(pts[0].params.at("chunk_size") == "4KiB");
  CHECK(pts[0].variant == "v6.2");
  CHECK(pts[1].variant == "latest");
  CHECK(pts[2].params.at("chunk_size") == "32KiB");
  CHECK(pts[6].params.at("path") == "rc");
  CHECK(pts[11].params.at("chunk_size") == "128KiB");
  CHECK(pts[11].params.count("variant") == 0);
  REQUIRE(pts[5].axes.size() == 3);
  CHECK(pts[5].axes[1] == std::make_pair(std::string("chunk_size"), std::string("128KiB")));
  CHECK(p2psim::sweep_points({}).size() == 1);  // the defaults, once
}

TEST_CASE("bad sweeps say what is wrong", "[report][sweep]") {
  auto msg = [](auto f) {
    try {
      f();
    } catch (const SweepError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg([] { p2psim::parse_sweep("gen"); }) == "--sweep needs KEY=V1,V2,..., got 'gen'");
  CHECK(msg([] { p2psim::parse_sweep("gen=3,,4"); }) == "--sweep gen: empty value in '3,,4'");
  CHECK(msg([] { p2psim::parse_sweep("gen=3,3"); }) == "--sweep gen: value '3' given twice");
  CHECK(msg([] { p2psim::parse_sweep("my-key=1"); }).find("not a parameter name") != std::string::npos);
  CHECK(msg([] { p2psim::sweep_points({p2psim::parse_sweep("gen=3"), p2psim::parse_sweep("gen=4")}); }) ==
        "--sweep gen given twice: list all its values in one");
  std::string many;
  for (int i = 0; i < 101; ++i) many += (i ? "," : "") + std::to_string(i);
  const auto a = p2psim::parse_sweep("a=" + many), b = p2psim::parse_sweep("b=" + many);
  CHECK(msg([&] { p2psim::sweep_points({a, b}); }) == "the sweep has more than 10000 configurations; split it");
}
