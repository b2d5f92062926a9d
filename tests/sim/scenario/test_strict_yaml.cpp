// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <string>

#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "scenario/strict_yaml.h"

using p2psim::InputError;
using p2psim::StrictNode;
using p2psim::YamlDoc;

namespace {

std::string fixture(const std::string& name) {
#ifdef P2PSIM_SOURCE_DIR
  return std::string(P2PSIM_SOURCE_DIR) + "/tests/data/yaml/" + name;
#else
  return "tests/data/yaml/" + name;
#endif
}

StrictNode root_of(const std::string& text, const std::string& name = "s.yaml") {
  return YamlDoc::load_string(text, name).root("scenario");
}

/** what() of the InputError that `f` throws; fails the test if none. */
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("no InputError thrown");
  return {};
}

}  // namespace

TEST_CASE("InputError formats file:line:col and clamps unknown positions to 1:1", "[strict_yaml]") {
  InputError e("a.yaml", 3, 7, "boom");
  CHECK(std::string(e.what()) == "a.yaml:3:7: error: boom");
  CHECK(e.file == "a.yaml");
  CHECK(e.line == 3);
  CHECK(e.column == 7);
  CHECK(e.message == "boom");
  InputError unknown("a.yaml", 0, -1, "boom");
  CHECK(std::string(unknown.what()) == "a.yaml:1:1: error: boom");
}

TEST_CASE("a valid file reads through every accessor", "[strict_yaml]") {
  auto doc = YamlDoc::load_file(fixture("valid.yaml"));
  auto root = doc.root("scenario").as_map();
  CHECK(root.required("name").as_string() == "demo");
  CHECK(root.required("seed").as_uint("seed", 0, 1000) == 42);
  CHECK(root.required("verbose").as_bool() == false);
  CHECK(root.required("load").as_double("load", 0.0, 1.0) == 0.75);
  CHECK(root.required("policy").as_enum("policy", {"fifo", "lru"}) == "lru");
  enum class Policy { Fifo, Lru };
  CHECK(root.required("policy").as_choice<Policy>(
            "policy", {{"fifo", Policy::Fifo}, {"lru", Policy::Lru}}) == Policy::Lru);
  CHECK_FALSE(root.optional("comment"));
  CHECK(root.has("tasks"));

  auto tasks = root.required("tasks").items();
  REQUIRE(tasks.size() == 2);
  CHECK(tasks[0].path() == "tasks[0]");
  CHECK(tasks[0].as_map().required("count").as_int("count", 1, 64) == 4);
  CHECK(tasks[0].required("latency").as_duration_ps() == 30000);
  CHECK(tasks[0].required("buffer").as_bytes() == 4096);
  CHECK(tasks[1].required("count").as_int("count", 1, 64) == 16);
  CHECK(tasks[1].required("latency").as_duration_ps() == 1500000);
  CHECK(tasks[1].required("buffer").as_bytes() == 2u << 20);
  for (const auto& t : tasks) {
    t.required("name");
    t.finish();
  }

  std::vector<std::string> names;
  for (const auto& e : root.required("devices").entries("devices")) {
    names.push_back(e.key);
    CHECK(e.value.as_map().required("bar").as_bytes() >= 16384);
    e.value.finish();
  }
  CHECK(names == std::vector<std::string>{"gpu0", "nvme0"});
  root.finish();  // every key was read: no error
  CHECK(root.required("devices").required("gpu0").line() == 17);
}

TEST_CASE("unknown key is reported at its own position with the expected keys", "[strict_yaml]") {
  const std::string path = fixture("unknown_key.yaml");
  auto root = YamlDoc::load_file(path).root("scenario").as_map();
  root.required("name");
  root.optional("tasks");
  CHECK(error_of([&] { root.finish(); }) ==
        path + ":3:1: error: unknown key 'taks' in scenario; expected one of: name, tasks; "
               "did you mean 'tasks'?");

  auto m = root_of("a: 1\nzzz: 2\n").as_map("options");
  m.allow({"a", "b"});
  CHECK(error_of([&] { m.finish(); }) ==
        "s.yaml:2:1: error: unknown key 'zzz' in options; expected one of: a, b");
  CHECK(error_of([&] { root_of("{x: 1}").finish(); }) ==
        "s.yaml:1:2: error: unknown key 'x' in scenario; no keys are expected here");
}

TEST_CASE("consumption is shared by copies and by repeated lookups", "[strict_yaml]") {
  auto root = root_of("t:\n  a: 1\n  b: 2\n");
  root.required("t").required("a");
  root.required("t").required("b");
  root.required("t").finish();  // a and b were consumed through other handles
  root.finish();
  // An absent optional node has nothing to check.
  root.optional("missing").finish();
}

TEST_CASE("wrong types name the value and what was found", "[strict_yaml]") {
  auto root = root_of("count: twelve\ntasks: {a: 1}\nname: [x]\nflag: yes\nratio: 1.5x\nempty:\n");
  CHECK(error_of([&] { root.required("count").as_int(); }) ==
        "s.yaml:1:8: error: count must be an integer, got 'twelve'");
  CHECK(error_of([&] { root.required("count").as_uint("task count"); }) ==
        "s.yaml:1:8: error: task count must be an integer, got 'twelve'");
  CHECK(error_of([&] { root.required("tasks").as_seq(); }) ==
        "s.yaml:2:8: error: tasks must be a sequence, got a mapping");
  CHECK(error_of([&] { root.required("name").as_string(); }) ==
        "s.yaml:3:7: error: name must be a string, got a sequence");
  CHECK(error_of([&] { root.required("name").as_map(); }) ==
        "s.yaml:3:7: error: name must be a mapping, got a sequence");
  CHECK(error_of([&] { root.required("flag").as_bool(); }) ==
        "s.yaml:4:7: error: flag must be true or false, got 'yes'");
  CHECK(error_of([&] { root.required("ratio").as_double(); }) ==
        "s.yaml:5:8: error: ratio must be a number, got '1.5x'");
  // An empty value is null, reported at its key (its own mark is the next line).
  CHECK(error_of([&] { root.required("empty").as_seq(); }) ==
        "s.yaml:6:1: error: empty must be a sequence, got null");
  CHECK(error_of([&] { root_of("").as_map(); }) ==
        "s.yaml:1:1: error: scenario must be a mapping, got an empty document");
  CHECK(error_of([&] { root_of("- 1\n").required("x"); }) ==
        "s.yaml:1:1: error: scenario must be a mapping, got a sequence");
}

TEST_CASE("missing keys are reported at the enclosing mapping", "[strict_yaml]") {
  auto root = root_of("name: demo\ntasks:\n  - name: a\n    count: 1\n");
  CHECK(error_of([&] { root.required("seed"); }) ==
        "s.yaml:1:1: error: missing required key 'seed' in scenario");
  auto task = root.required("tasks").at(0).as_map("task");
  CHECK(error_of([&] { task.required("latency"); }) ==
        "s.yaml:3:5: error: missing required key 'latency' in task");
  // Reading an absent optional() is the same error.
  CHECK(error_of([&] { root.required("tasks").at(0).optional("latency").as_duration_ps(); }) ==
        "s.yaml:3:5: error: missing required key 'latency' in task");
}

TEST_CASE("integers are range checked", "[strict_yaml]") {
  auto root = root_of("a: 100\nb: -1\nc: 0\nd: 99999999999999999999\ne: -5\nf: 0xff\n");
  CHECK(error_of([&] { root.required("a").as_int("queue depth", 1, 64); }) ==
        "s.yaml:1:4: error: queue depth must be between 1 and 64, got '100'");
  CHECK(error_of([&] { root.required("b").as_uint(); }) ==
        "s.yaml:2:4: error: b must be at least 0, got '-1'");
  CHECK(error_of([&] { root.required("c").as_uint("c", 1); }) ==
        "s.yaml:3:4: error: c must be at least 1, got '0'");
  CHECK(error_of([&] { root.required("d").as_int(); }) ==
        "s.yaml:4:4: error: d does not fit in 64 bits, got '99999999999999999999'");
  CHECK(error_of([&] { root.required("e").as_int("e", -4); }) ==
        "s.yaml:5:4: error: e must be at least -4, got '-5'");
  CHECK(error_of([&] { root.required("f").as_uint("f", 0, 200); }) ==
        "s.yaml:6:4: error: f must be between 0 and 200, got '0xff'");
  CHECK(root.required("f").as_uint() == 255);
  CHECK(root.required("e").as_int() == -5);
  CHECK(root_of("x: 18446744073709551615").required("x").as_uint() == UINT64_MAX);
  CHECK(root_of("x: -9223372036854775808").required("x").as_int() == INT64_MIN);
}

TEST_CASE("enums list the allowed values", "[strict_yaml]") {
  auto root = root_of("policy: mru\nmode: [a]\n");
  CHECK(error_of([&] { root.required("policy").as_enum("policy", {"fifo", "lru"}); }) ==
        "s.yaml:1:9: error: policy must be one of: fifo, lru; got 'mru'; did you mean 'lru'?");
  CHECK(error_of([&] { root.required("policy").as_enum("policy", {"fifo", "random"}); }) ==
        "s.yaml:1:9: error: policy must be one of: fifo, random; got 'mru'");
  CHECK(error_of([&] { root.required("mode").as_enum("mode", {"fast", "slow"}); }) ==
        "s.yaml:2:7: error: mode must be one of: fast, slow; got a sequence");
}

TEST_CASE("durations need a known unit", "[strict_yaml]") {
  auto ps = [](const std::string& v) {
    return root_of("latency: " + v).required("latency").as_duration_ps();
  };
  CHECK(ps("100ps") == 100);
  CHECK(ps("30ns") == 30000);
  CHECK(ps("1.5us") == 1500000);
  CHECK(ps("4ms") == 4000000000ull);
  CHECK(ps("2s") == 2000000000000ull);
  CHECK(ps("2.000000000001s") == 2000000000001ull);
  CHECK(ps("0.5 ns") == 500);
  CHECK(error_of([&] { ps("30"); }) == "s.yaml:1:10: error: latency needs a unit (ps, ns, us, ms, s)");
  CHECK(error_of([&] { ps("30xs"); }) ==
        "s.yaml:1:10: error: latency has unknown unit 'xs'; use ps, ns, us, ms or s");
  CHECK(error_of([&] { ps("30 NS"); }) ==
        "s.yaml:1:10: error: latency has unknown unit 'NS'; use ps, ns, us, ms or s");
  CHECK(error_of([&] { ps("1.5ps"); }) ==
        "s.yaml:1:10: error: latency is not a whole number of picoseconds, got '1.5ps'");
  CHECK(error_of([&] { ps("-3ns"); }) ==
        "s.yaml:1:10: error: latency must not be negative, got '-3ns'");
  CHECK(error_of([&] { ps("ns"); }) ==
        "s.yaml:1:10: error: latency must be a duration such as '30ns' or '1.5us', got 'ns'");
  CHECK(error_of([&] { ps("99999999s"); }) ==
        "s.yaml:1:10: error: latency is too large, got '99999999s'");
  CHECK(error_of([&] { ps("{a: 1}"); }) ==
        "s.yaml:1:10: error: latency must be a duration such as '30ns' or '1.5us', got a mapping");
}

TEST_CASE("sizes take binary units or bare bytes", "[strict_yaml]") {
  auto bytes = [](const std::string& v, std::uint64_t min = 0, std::uint64_t max = UINT64_MAX) {
    return root_of("size: " + v).required("size").as_bytes("size", min, max);
  };
  CHECK(bytes("4096") == 4096);
  CHECK(bytes("512B") == 512);
  CHECK(bytes("1.5KiB") == 1536);
  CHECK(bytes("1TiB") == (std::uint64_t(1) << 40));
  CHECK(error_of([&] { bytes("4KB"); }) ==
        "s.yaml:1:7: error: size has unknown unit 'KB'; use B, KiB, MiB, GiB or TiB");
  CHECK(error_of([&] { bytes("2MiB", 0, 1 << 20); }) ==
        "s.yaml:1:7: error: size must be at most 1048576 bytes, got '2MiB'");
}

TEST_CASE("YAML syntax errors carry the parser's position", "[strict_yaml]") {
  const std::string path = fixture("syntax_error.yaml");
  CHECK(error_of([&] { YamlDoc::load_file(path); }) ==
        path + ":3:5: error: YAML syntax error: end of sequence flow not found");
  CHECK(error_of([&] { YamlDoc::load_string("a: 1\n b: 2\n", "in.yaml"); }) ==
        "in.yaml:2:3: error: YAML syntax error: illegal map value");
  CHECK(error_of([&] { YamlDoc::load_string("a: *nowhere\n", "in.yaml"); }) ==
        "in.yaml:1:4: error: YAML syntax error: the referenced anchor is not defined");
  // yaml-cpp reads a second top-level block as a second document.
  CHECK(error_of([&] { YamlDoc::load_string("- a\nb: 1\n", "in.yaml"); }) ==
        "in.yaml:2:1: error: unexpected content after the end of the top-level node (only one "
        "YAML document per file is allowed)");
  CHECK_NOTHROW(YamlDoc::load_string("a: 1\n---\n", "in.yaml"));
}

TEST_CASE("unreadable files name the path at 1:1", "[strict_yaml]") {
  const std::string missing = fixture("does_not_exist.yaml");
  CHECK(error_of([&] { YamlDoc::load_file(missing); }) ==
        missing + ":1:1: error: cannot open scenario file: No such file or directory");
  const std::string dir = fixture("");
  CHECK(error_of([&] { YamlDoc::load_file(dir); }) ==
        dir + ":1:1: error: cannot open scenario file: Is a directory");
}

TEST_CASE("only regular files are read: no device, FIFO or endless file can hold a command", "[strict_yaml]") {
  CHECK(error_of([] { YamlDoc::load_file("/dev/zero"); }) ==
        "/dev/zero:1:1: error: cannot open scenario file: it is a character device, not a regular file (only "
        "regular files are read)");
  const std::string fifo = "/tmp/p2psim-test-fifo-" + std::to_string(::getpid());
  ::unlink(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Opening a FIFO with no writer would block: it must be refused unopened.
  CHECK(error_of([&] { YamlDoc::load_file(fifo); }).find("it is a FIFO, not a regular file") != std::string::npos);
  ::unlink(fifo.c_str());
  CHECK(error_of([] { p2psim::read_input_file("/dev/zero", "token file"); })
            .rfind("/dev/zero:1:1: error: cannot open token file: it is a character device", 0) == 0);
}

TEST_CASE("a ',' where a value starts outside a flow collection is refused before parsing", "[strict_yaml]") {
  // Each of these makes yaml-cpp 0.7 loop forever with its memory growing.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {",", "1:1"},          {", ", "1:1"},         {",a", "1:1"},          {"# c\n,", "2:1"},
      {"\n\n ,b", "3:2"},  {"\"x\",", "1:4"},   {"{a: 1},", "1:7"},     {"[1],", "1:4"},
      {"[1]\n,", "2:1"},    {"--- ,", "1:5"},      {"---\n,", "2:1"},     {"!tag ,", "1:6"},
      {"&a ,", "1:4"},       {"*a ,", "1:4"},       {"- a\n,", "2:1"},     {"- \"x\"\n,", "2:1"},
  };
  for (const auto& [text, at] : cases) {
    INFO(text);
    CHECK(error_of([&] { YamlDoc::load_string(text, "in.yaml"); }) ==
          "in.yaml:" + at + ": error: ',' outside a flow collection ([...] or {...}) where a value starts: "
          "not valid YAML (refused before parsing: the YAML library would loop on it)");
  }
  // Commas inside plain, quoted and block scalars, flow collections and comments stay fine.
  for (const char* ok : {"a: b ,c", "a: [1, 2]", "a: {b: 1, c: 2}", "a: \"x, y\"", "a: 'it''s, ok'",
                         "a: it's, ok", "a: |\n  ,x\n", "a: >\n  one,\n  , two\n", "a: 1 # , comment",
                         "a: [1,\n  2]", "a: &x 1", "a: \"multi\n  , line\""}) {
    INFO(ok);
    CHECK_NOTHROW(YamlDoc::load_string(ok, "in.yaml"));
  }
}

TEST_CASE("the YAML parse is bounded whatever the pattern the guard misses", "[strict_yaml]") {
  // Found by tests/fuzz/fuzz_scenario and fuzz_topology (tests/data/fuzz/):
  // LoadAll() looped on these; the document walk stops at a third document.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("!,U,"), "1:2: error: YAML syntax error: unexpected ','"},
      {std::string("\0,", 2), "1:1: error: YAML syntax error: unexpected '\\x00'"},
  };
  for (const auto& [text, want] : cases) {
    INFO(text);
    CHECK(error_of([&] { YamlDoc::load_string(text, "in.yaml"); }).rfind("in.yaml:" + want, 0) == 0);
  }
  // One document, with or without a trailing "---", still loads; two do not.
  CHECK_NOTHROW(YamlDoc::load_string("a: 1\n---\n", "in.yaml"));
  CHECK(error_of([] { YamlDoc::load_string("a: 1\n---\nb: 2\n", "in.yaml"); })
            .rfind("in.yaml:3:1: error: unexpected content after the end of the top-level node", 0) == 0);
  CHECK(error_of([] { YamlDoc::load_string("a: 1\n---\n---\n", "in.yaml"); })
            .find("error: only one YAML document per file is allowed") != std::string::npos);
}

TEST_CASE("duplicate and merge keys are rejected", "[strict_yaml]") {
  const std::string path = fixture("duplicate_key.yaml");
  auto root = YamlDoc::load_file(path).root("scenario");
  CHECK(error_of([&] { root.as_map(); }) ==
        path + ":3:1: error: duplicate key 'name' in scenario (first defined at line 1, column 1)");
  // Any map access validates first, nested maps too.
  CHECK(error_of([&] { root_of("t:\n  x: 1\n  x: 2\n").required("t").optional("y"); }) ==
        "s.yaml:3:3: error: duplicate key 'x' in t (first defined at line 2, column 3)");
  CHECK(error_of([&] { root_of("base: &b {x: 1}\nd:\n  <<: *b\n").required("d").has("x"); }) ==
        "s.yaml:3:3: error: YAML merge keys ('<<') are not supported in d");
  CHECK(error_of([&] { root_of("? [a, b]\n: 1\n").as_map(); }) ==
        "s.yaml:1:3: error: mapping keys must be plain scalars in scenario, got a sequence");
}

TEST_CASE("errors inside a sequence of maps point into the right element", "[strict_yaml]") {
  const std::string path = fixture("nested_error.yaml");
  auto tasks = YamlDoc::load_file(path).root("scenario").required("tasks").items();
  REQUIRE(tasks.size() == 3);
  CHECK(tasks[0].required("count").as_int("count", 1, 8) == 4);
  CHECK(error_of([&] { tasks[1].required("count").as_int(); }) ==
        path + ":6:12: error: tasks[1].count must be an integer, got 'lots'");
  CHECK(error_of([&] { tasks[1].required("count").as_int("task 'writer' count"); }) ==
        path + ":6:12: error: task 'writer' count must be an integer, got 'lots'");
  auto checker = tasks[2].as_map("task 'checker'");
  checker.required("name");
  checker.required("count");
  checker.optional("latency");
  CHECK(error_of([&] { checker.finish(); }) ==
        path + ":10:5: error: unknown key 'latncy' in task 'checker'; expected one of: name, "
               "count, latency; did you mean 'latency'?");
  CHECK(tasks[2].line() == 8);
  CHECK(tasks[2].column() == 5);
  CHECK(error_of([&] { tasks[2].required("name").fail("no such device"); }) ==
        path + ":8:11: error: no such device");
}

TEST_CASE("positions name the file a node was loaded from", "[strict_yaml]") {
  const std::string path = fixture("included.yaml");
  auto inc = YamlDoc::load_file(path).root("included file");
  auto bar = inc.required("devices").required("gpu0").required("bar");
  CHECK(bar.file() == path);
  CHECK(error_of([&] { bar.as_bytes("BAR size"); }) ==
        path + ":3:10: error: BAR size has unknown unit 'parsecs'; use B, KiB, MiB, GiB or TiB");
}

TEST_CASE("assigning StrictNodes never writes into the document", "[strict_yaml]") {
  // YAML::Node::operator= rebinds the node *inside* the tree; StrictNode must not use it.
  auto root = root_of("a: 1\nb: 2\n");
  StrictNode x = root.required("a");
  x = root.required("b");
  CHECK(x.as_int() == 2);
  CHECK(root.required("a").as_int() == 1);
  StrictNode none;
  CHECK_FALSE(none.present());
  none = root.required("a");
  CHECK(none.as_int() == 1);
}
