// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace p2psim {

/**
 * InputError - the user's input is wrong. what() is
 * "FILE:LINE:COL: error: MESSAGE" (1-based; an unknown position is 1:1);
 * the CLI prints it as is and exits 2.
 */
struct InputError : std::runtime_error {
  InputError(std::string file, int line, int column, std::string message);

  std::string file;
  int line;      // 1-based
  int column;    // 1-based
  std::string message;  // without the "FILE:LINE:COL: error: " prefix
};

class StrictNode;

/** One key/value pair of a mapping, in document order (see StrictNode::entries). */
struct StrictEntry;

/**
 * StrictNode - a YAML::Node plus where it came from, with checked readers.
 *
 * Every failed check throws InputError at the node's own position. A
 * mapping remembers which keys were asked for (required/optional/has/allow);
 * finish() then rejects any other key at that key's position. Copies share
 * that bookkeeping, and asking a mapping twice for the same key returns
 * nodes that share it too.
 *
 * Every `what` parameter names the value in messages ("task count must
 * be ..."); left empty it defaults to the node's path, e.g. "tasks[2].count".
 */
class StrictNode {
 public:
  /** An absent node (like optional() of a missing key). */
  StrictNode();

  // --- Presence and kind (never throw) ---
  /** False for a key optional() did not find. */
  bool present() const { return present_; }
  explicit operator bool() const { return present_; }
  bool is_null() const;    // present and null ("key:", "key: ~")
  bool is_map() const;
  bool is_seq() const;
  bool is_scalar() const;

  // --- Where it is ---
  const std::string& file() const { return *file_; }
  int line() const;    // 1-based
  int column() const;  // 1-based
  /** Structural path: "" for the root, "tasks", "tasks[2].count", ... */
  const std::string& path() const { return path_; }
  /** The wrapped node; undefined-but-valid Node() if absent. */
  const YAML::Node& raw() const { return *node_; }

  /** An InputError at this node's position (to throw your own checks). */
  InputError error(std::string_view message) const;
  [[noreturn]] void fail(std::string_view message) const;

  // --- Type checks; each returns the value or throws ---
  /** Checks this is a mapping (and has no duplicate or non-scalar keys).
   *  A non-empty `what` also becomes the context named by finish(). */
  StrictNode as_map(std::string_view what = {}) const;
  StrictNode as_seq(std::string_view what = {}) const;
  /** Any scalar (null is not a string). */
  std::string as_string(std::string_view what = {}) const;
  /** Decimal or 0x-hex integer, optional sign, checked against [min, max]. */
  std::int64_t as_int(std::string_view what = {},
                      std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                      std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
  std::uint64_t as_uint(std::string_view what = {}, std::uint64_t min = 0,
                        std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const;
  /** Only true/false (also True/TRUE/False/FALSE); not yes/no/on/off. */
  bool as_bool(std::string_view what = {}) const;
  /** A finite decimal number in [min, max]. */
  double as_double(std::string_view what = {},
                   double min = std::numeric_limits<double>::lowest(),
                   double max = std::numeric_limits<double>::max()) const;
  /** "100ps", "30ns", "1.5us", "4ms", "2s" (a space before the unit is
   *  allowed) -> picoseconds. A bare number is an error; so is a fraction
   *  of a picosecond. */
  std::uint64_t as_duration_ps(std::string_view what = {}) const;
  /** "4096", "512B", "4KiB", "1.5MiB", "2GiB", "1TiB" -> bytes, in [min, max]. */
  std::uint64_t as_bytes(std::string_view what = {}, std::uint64_t min = 0,
                         std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const;
  /** A string that must be one of `allowed`; the error lists them. */
  std::string as_enum(std::string_view what, const std::vector<std::string>& allowed) const;
  /** A scalar naming one of @known, too many to list in a message:
   *  "unknown WHAT 'x'; did you mean 'y'? (HINT)". */
  std::string as_known_name(std::string_view what, const std::vector<std::string>& known,
                            std::string_view hint) const;
  /** as_enum mapped to values: as_choice<Policy>("policy", {{"fifo", Policy::Fifo}, ...}). */
  template <class T>
  T as_choice(std::string_view what, const std::vector<std::pair<std::string, T>>& choices) const {
    std::vector<std::string> names;
    for (const auto& c : choices) names.push_back(c.first);
    const std::string got = as_enum(what, names);
    for (const auto& c : choices)
      if (c.first == got) return c.second;
    throw std::logic_error("unreachable");  // as_enum accepted only listed names
  }

  // --- Mappings (each checks as_map first) ---
  /** The value of `key`; error at this map's position if it is missing. */
  StrictNode required(std::string_view key) const;
  /** The value of `key`, or an absent node (test with `if (n)`). */
  StrictNode optional(std::string_view key) const;
  bool has(std::string_view key) const;
  /** Declares keys as known without reading them. */
  void allow(const std::vector<std::string>& keys) const;
  /** All pairs in document order; marks every key as consumed. */
  std::vector<StrictEntry> entries(std::string_view what = {}) const;
  /** Errors on the first key (in document order) that nobody asked for:
   *  "unknown key 'foo' in CONTEXT; expected one of: a, b, c[; did you mean 'x'?]".
   *  CONTEXT is as_map's `what`, else the path, else the root's name. */
  void finish() const;
  void reject_unknown_keys() const { finish(); }

  // --- Sequences (each checks as_seq first) ---
  std::size_t size() const;
  StrictNode at(std::size_t index) const;
  std::vector<StrictNode> items(std::string_view what = {}) const;

 private:
  friend class YamlDoc;
  struct State;

  StrictNode child(const YAML::Node& value, const YAML::Node* key, std::string child_path,
                   std::shared_ptr<State> state) const;
  StrictNode absent_child(std::string_view key) const;
  std::string subject(std::string_view what) const;
  std::string context() const;
  [[noreturn]] void type_error(std::string_view what, std::string_view expected) const;
  std::string kind_text() const;
  const StrictNode& checked_map() const;
  std::optional<std::pair<YAML::Node, YAML::Node>> find_key(std::string_view key) const;
  std::shared_ptr<State> child_state(const std::string& slot) const;
  void note_allowed(std::string_view key) const;
  std::uint64_t parse_with_units(std::string_view what, bool bytes) const;

  // Held by pointer: YAML::Node::operator= writes through to the document.
  std::shared_ptr<const YAML::Node> node_;
  bool present_ = false;
  bool empty_document_ = false;
  std::shared_ptr<const std::string> file_;
  std::string path_;
  std::string root_name_;       // context of the root ("document")
  int line0_ = 0, column0_ = 0;  // 0-based position reported for this node
  std::string missing_key_;     // absent node: the key that was not there
  std::string parent_context_;  // absent node: the map it was missing from
  std::shared_ptr<State> state_;
};

struct StrictEntry {
  std::string key;
  StrictNode key_node;  // to report errors at the key itself
  StrictNode value;
};

/// Input files (scenarios, topologies, replay tokens) are at most this big.
constexpr std::size_t kMaxInputFileBytes = 16u << 20;

/// "; did you mean 'x'?" for the candidate closest to @got, or "" if none is close.
std::string did_you_mean(std::string_view got, const std::vector<std::string>& candidates);

/**
 * read_input_file() - the whole of @path, which must be a regular file of at
 * most kMaxInputFileBytes: a FIFO, a device (/dev/zero) or a directory is
 * refused before it is opened, so no input can make a command wait or read
 * forever. Throws InputError "PATH:1:1: error: ..."; @what names the file's
 * role ("scenario file", "token file").
 */
std::string read_input_file(const std::string& path, const char* what);

/**
 * YamlDoc - one parsed YAML file. Exactly one document per file; an empty
 * file has a null root. The nodes it hands out keep the data alive on
 * their own, so the YamlDoc may go away first.
 */
class YamlDoc {
 public:
  /** read_input_file(), then load_string(): throws InputError "PATH:1:1: error: cannot open scenario file: ..."
   *  or at the position of a YAML syntax error. Positions name `path`, so
   *  included files report their own name. */
  static YamlDoc load_file(const std::string& path);
  /** Same, for text in memory; `name` stands in for the file name. */
  static YamlDoc load_string(const std::string& text, const std::string& name = "<string>");

  const std::string& file() const { return *file_; }
  /** The top-level node; `name` is its context in messages. */
  StrictNode root(std::string_view name = "document") const;

 private:
  YamlDoc() = default;
  std::shared_ptr<const std::string> file_;
  std::shared_ptr<const YAML::Node> root_;
  bool empty_ = false;
  std::shared_ptr<StrictNode::State> root_state_;  // shared by every root()
};

}  // namespace p2psim
