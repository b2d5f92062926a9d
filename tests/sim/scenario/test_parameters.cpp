// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Scenario parameters: ${NAME} substitution, declarations, and the errors
// a user sees for each way of getting them wrong.
#include <catch2/catch.hpp>

#include <string>

#include "scenario/parameters.h"
#include "scenario/strict_yaml.h"

using p2psim::InputError;
using p2psim::ParamValues;

namespace {

std::string error_of(const std::string& text, const ParamValues& v) {
  try {
    p2psim::substitute_parameters(text, "s.yaml", v, nullptr);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError");
  return "";
}

}  // namespace

TEST_CASE("substitution replaces references in flow maps and inside words, and records uses", "[scenario][params]") {
  std::set<std::string> used;
  const std::string out = p2psim::substitute_parameters(
      "link: { gen: ${gen}, lanes: 4 }\ninclude: topologies/${path}.yaml\n", "s.yaml",
      {{"gen", "5"}, {"path", "rc"}, {"unused", "x"}}, &used);
  CHECK(out == "link: { gen: 5, lanes: 4 }\ninclude: topologies/rc.yaml\n");
  CHECK(used == std::set<std::string>{"gen", "path"});
}

TEST_CASE("references in comments are left alone, but not a # inside quotes", "[scenario][params]") {
  const std::string text = "# try ${anything}\nx: 1  # or ${other}\ny: \"a # ${gen}\"\n";
  CHECK(p2psim::substitute_parameters(text, "s.yaml", {{"gen", "3"}}, nullptr) ==
        "# try ${anything}\nx: 1  # or ${other}\ny: \"a # 3\"\n");
}

TEST_CASE("an unknown, malformed or unterminated reference names its line and column", "[scenario][params]") {
  CHECK(error_of("a: 1\nb: x${nope}\n", {{"gen", "3"}}) ==
        "s.yaml:2:5: error: unknown parameter 'nope' in ${nope}; the scenario declares: gen");
  CHECK(error_of("a: ${nope}\n", {}).find("declares none") != std::string::npos);
  CHECK(error_of("a: ${1x}\n", {}) ==
        "s.yaml:1:4: error: '${1x}' is not a parameter reference: names are letters, digits and _");
  CHECK(error_of("a: ${gen\nb: }\n", {{"gen", "3"}}) ==
        "s.yaml:1:4: error: unterminated parameter reference '${': expected ${NAME}");
}

TEST_CASE("declared parameters come in document order with their defaults", "[scenario][params]") {
  const auto d = p2psim::declared_parameters(
      "name: x\nparameters:\n  path: switch\n  gen: 4\ntopology: { include: t/${path}.yaml, gen: ${gen} }\n", "s.yaml");
  REQUIRE(d.size() == 2);
  CHECK(d[0].name == "path");
  CHECK(d[0].default_value == "switch");
  CHECK(d[0].line == 3);
  CHECK(d[1].name == "gen");
  CHECK(d[1].default_value == "4");
  CHECK(p2psim::declared_parameters("name: x\n", "s.yaml").empty());
  try {
    p2psim::declared_parameters("parameters:\n  gen: [3, 4]\n", "s.yaml");
    FAIL("a list default was accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "s.yaml:2:8: error: parameter 'gen' needs a scalar default value");
  }
}

TEST_CASE("a value must be one line without a reference", "[scenario][params]") {
  CHECK(p2psim::bad_param_value("4KiB").empty());
  CHECK(!p2psim::bad_param_value("a\nb").empty());
  CHECK(!p2psim::bad_param_value("${x}").empty());
  CHECK(p2psim::is_param_name("chunk_size"));
  CHECK(!p2psim::is_param_name("chunk-size"));
  CHECK(!p2psim::is_param_name("9x"));
}
