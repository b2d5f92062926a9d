// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
// Scenario parameters: ${NAME} substitution, declarations, and the errors
// a user sees for each way of getting them wrong.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

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

TEST_CASE("comments are told apart from apostrophes, escaped quotes and block scalars", "[scenario][params]") {
  const ParamValues v = {{"gen", "3"}};
  auto sub = [&](const std::string& t) { return p2psim::substitute_parameters(t, "s.yaml", v, nullptr); };
  // An apostrophe inside a plain scalar opens no quote: the comment stays one.
  CHECK(sub("name: don't_run   # set ${nope} later\n") == "name: don't_run   # set ${nope} later\n");
  // An escaped quote does not end a double-quoted scalar; '' does not end a single-quoted one.
  CHECK(sub("n: \"a \\\" # ${gen}\"\n") == "n: \"a \\\" # 3\"\n");
  CHECK(sub("n: 'it''s # ${gen}'\n") == "n: 'it''s # 3'\n");
  // A block scalar's lines are text, '#' included; the block ends where the indentation does.
  CHECK(sub("d: >\n  a # ${gen}\n\n  b\ne: 1 # ${x}\n") == "d: >\n  a # 3\n\n  b\ne: 1 # ${x}\n");
  CHECK(sub("- |-\n   x #${gen}\n") == "- |-\n   x #3\n");
  // In a sequence entry the block belongs to the key after "- ": a sibling
  // key at that key's indentation ends it, and its comment is a comment.
  CHECK(sub("  - name: >-\n      a ${gen}\n    cpu: 1  # ${old_cpu}\n") ==
        "  - name: >-\n      a 3\n    cpu: 1  # ${old_cpu}\n");
}

TEST_CASE("an error inside a substituted value points at the reference and names it", "[scenario][params]") {
  std::vector<p2psim::Substitution> subs;
  const std::string out = p2psim::substitute_parameters("a: { x: ${gen}, y: ${lanes}, z: q }\n", "s.yaml",
                                                        {{"gen", "12345"}, {"lanes", "4"}}, nullptr, &subs);
  REQUIRE(out == "a: { x: 12345, y: 4, z: q }\n");
  REQUIRE(subs.size() == 2);
  // Column 9 of the output is inside "12345": the reference at column 9.
  const InputError in_value = p2psim::in_file_terms(InputError("s.yaml", 1, 10, "bad"), "s.yaml", subs);
  CHECK(std::string(in_value.what()) == "s.yaml:1:9: error: bad (from ${gen} = 12345)");
  // After both values: shifted by (6 - 5) + (8 - 1) = 8 columns.
  const InputError after = p2psim::in_file_terms(InputError("s.yaml", 1, 25, "bad"), "s.yaml", subs);
  CHECK(std::string(after.what()) == "s.yaml:1:33: error: bad");
  // Before any: unchanged; other lines and files: unchanged.
  CHECK(std::string(p2psim::in_file_terms(InputError("s.yaml", 1, 4, "bad"), "s.yaml", subs).what()) ==
        "s.yaml:1:4: error: bad");
  CHECK(std::string(p2psim::in_file_terms(InputError("t.yaml", 1, 10, "bad"), "s.yaml", subs).what()) ==
        "t.yaml:1:10: error: bad");
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

TEST_CASE("a value is one YAML-neutral word", "[scenario][params]") {
  for (const char* ok : {"4KiB", "0000:03:00.0", "topologies/a-b_c.yaml", "+1", "x@y", "110ns"})
    CHECK(p2psim::bad_param_value(ok).empty());
  for (const char* bad : {"", "a\nb", "${x}", "a b", "a,b", "a#b", "[1]", "{a: 1}", "'q'", "\"q\"", "*x", "&x", "a|b"})
    CHECK(!p2psim::bad_param_value(bad).empty());
  try {
    p2psim::declared_parameters("parameters:\n  desc: \"two words\"\nname: ${desc}\n", "s.yaml");
    FAIL("a default with a blank was accepted");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).rfind("s.yaml:2:9: error: default of parameter 'desc': ", 0) == 0);
  }
  CHECK(p2psim::is_param_name("chunk_size"));
  CHECK(!p2psim::is_param_name("chunk-size"));
  CHECK(!p2psim::is_param_name("9x"));
}
