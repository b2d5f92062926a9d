// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "scenario/strict_yaml.h"

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <unordered_map>

#include <sys/stat.h>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

namespace p2psim {

namespace {

using u128 = unsigned __int128;
using i128 = __int128;
constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

std::string format_what(const std::string& file, int line, int column, const std::string& message) {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": error: " + message;
}

bool mark_valid(const YAML::Mark& m) { return m.line >= 0 && m.column >= 0; }

/** 'text' for messages, shortened if long. */
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 60;
  std::string out = "'";
  if (s.size() > kMax) {
    out.append(s.substr(0, kMax));
    out += "...";
  } else {
    out.append(s);
  }
  return out + "'";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.append(sep);
    out += items[i];
  }
  return out;
}

/** Optimal string alignment distance (Levenshtein plus transpositions). */
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}


std::string i128_text(i128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  u128 mag = neg ? u128(-(v + 1)) + 1 : u128(v);
  std::string s;
  while (mag) {
    s.insert(s.begin(), char('0' + int(mag % 10)));
    mag /= 10;
  }
  return neg ? "-" + s : s;
}

std::string double_text(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

/** Integer syntax: [+-] then decimal digits or 0x hex digits. magnitude
 *  saturates; `overflow` is set past 2^64-1. */
bool parse_integer(std::string_view s, bool& negative, std::uint64_t& magnitude, bool& overflow) {
  negative = false;
  overflow = false;
  magnitude = 0;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return false;
  for (char c : s) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    const u128 next = u128(magnitude) * base + digit;
    if (next > kU64Max) {
      overflow = true;
      magnitude = kU64Max;
    } else if (!overflow) {
      magnitude = std::uint64_t(next);
    }
  }
  return true;
}

/** "X must be between A and B" / "at least A" / "at most B" / does not fit. */
std::string range_message(const std::string& subject, bool below, bool has_lo, bool has_hi,
                          const std::string& lo, const std::string& hi, std::string_view got,
                          std::string_view unit = {}) {
  std::string m = subject;
  if (has_lo && has_hi) {
    m += " must be between " + lo + " and " + hi;
  } else if (below && has_lo) {
    m += " must be at least " + lo;
  } else if (!below && has_hi) {
    m += " must be at most " + hi;
  } else {
    m += " does not fit in 64 bits";
  }
  if (!unit.empty() && (has_lo || has_hi)) {
    m += " ";
    m.append(unit);
  }
  return m + ", got " + quoted(got);
}

struct Unit {
  const char* name;
  std::uint64_t multiplier;
};
constexpr Unit kTimeUnits[] = {
    {"ps", 1}, {"ns", 1000}, {"us", 1000000}, {"ms", 1000000000}, {"s", 1000000000000}};
constexpr Unit kSizeUnits[] = {{"B", 1},
                               {"KiB", std::uint64_t(1) << 10},
                               {"MiB", std::uint64_t(1) << 20},
                               {"GiB", std::uint64_t(1) << 30},
                               {"TiB", std::uint64_t(1) << 40}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// ---------------------------------------------------------------------------
// InputError

InputError::InputError(std::string file_, int line_, int column_, std::string message_)
    : std::runtime_error(format_what(file_, line_ < 1 ? 1 : line_, column_ < 1 ? 1 : column_,
                                     message_)),
      file(std::move(file_)),
      line(line_ < 1 ? 1 : line_),
      column(column_ < 1 ? 1 : column_),
      message(std::move(message_)) {}

// ---------------------------------------------------------------------------
// StrictNode bookkeeping

struct StrictNode::State {
  std::string context;               // as_map's `what`, if given
  bool map_checked = false;          // duplicates / key kinds validated
  std::vector<std::string> allowed;  // keys asked for, in order of asking
  std::map<std::string, std::shared_ptr<State>> children;  // "k:KEY" or "#INDEX"
};

StrictNode::StrictNode()
    : node_(std::make_shared<const YAML::Node>()),
      file_(std::make_shared<const std::string>()),
      state_(std::make_shared<State>()) {}

bool StrictNode::is_null() const { return present_ && node_->IsNull(); }
bool StrictNode::is_map() const { return present_ && node_->IsMap(); }
bool StrictNode::is_seq() const { return present_ && node_->IsSequence(); }
bool StrictNode::is_scalar() const { return present_ && node_->IsScalar(); }
int StrictNode::line() const { return line0_ + 1; }
int StrictNode::column() const { return column0_ + 1; }

InputError StrictNode::error(std::string_view message) const {
  return InputError(*file_, line(), column(), std::string(message));
}

void StrictNode::fail(std::string_view message) const { throw error(message); }

std::string StrictNode::subject(std::string_view what) const {
  if (!what.empty()) return std::string(what);
  if (!path_.empty()) return path_;
  return root_name_.empty() ? std::string("document") : root_name_;
}

std::string StrictNode::context() const {
  return state_->context.empty() ? subject({}) : state_->context;
}

std::string StrictNode::kind_text() const {
  if (empty_document_) return "an empty document";
  switch (node_->Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Scalar: return quoted(node_->Scalar());
    default: return "null";
  }
}

void StrictNode::type_error(std::string_view what, std::string_view expected) const {
  if (!present_) fail("missing required key '" + missing_key_ + "' in " + parent_context_);
  const bool enum_list = expected.substr(0, 7) == "one of:";
  fail(subject(what) + " must be " + std::string(expected) + (enum_list ? "; got " : ", got ") +
       kind_text());
}

StrictNode StrictNode::child(const YAML::Node& value, const YAML::Node* key,
                             std::string child_path, std::shared_ptr<State> state) const {
  StrictNode c;
  c.node_ = std::make_shared<const YAML::Node>(value);
  c.present_ = true;
  c.file_ = file_;
  c.path_ = std::move(child_path);
  c.root_name_ = root_name_;
  c.state_ = std::move(state);
  // A null value's mark is the token after it (often the next line), so
  // report nulls in a mapping at their key.
  YAML::Mark m = value.Mark();
  if (key && (value.IsNull() || !mark_valid(m))) m = key->Mark();
  if (mark_valid(m)) {
    c.line0_ = m.line;
    c.column0_ = m.column;
  } else {
    c.line0_ = line0_;
    c.column0_ = column0_;
  }
  return c;
}

StrictNode StrictNode::absent_child(std::string_view key) const {
  StrictNode c;
  c.file_ = file_;
  c.path_ = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  c.root_name_ = root_name_;
  c.line0_ = line0_;
  c.column0_ = column0_;
  c.missing_key_ = std::string(key);
  c.parent_context_ = context();
  return c;
}

std::shared_ptr<StrictNode::State> StrictNode::child_state(const std::string& slot) const {
  auto& s = state_->children[slot];
  if (!s) s = std::make_shared<State>();
  return s;
}

void StrictNode::note_allowed(std::string_view key) const {
  auto& a = state_->allowed;
  if (std::find(a.begin(), a.end(), key) == a.end()) a.emplace_back(key);
}

// ---------------------------------------------------------------------------
// Mappings

StrictNode StrictNode::as_map(std::string_view what) const {
  if (!present_ || !node_->IsMap()) type_error(what, "a mapping");
  if (!what.empty()) state_->context = std::string(what);
  if (!state_->map_checked) {
    std::unordered_map<std::string, YAML::Mark> seen;
    for (const auto& kv : *node_) {
      const YAML::Node& k = kv.first;
      StrictNode key_node = child(k, nullptr, path_, std::make_shared<State>());
      if (!k.IsScalar())
        key_node.fail("mapping keys must be plain scalars in " + context() + ", got " +
                      key_node.kind_text());
      const std::string& name = k.Scalar();
      if (name == "<<" && k.Tag() == "?")
        key_node.fail("YAML merge keys ('<<') are not supported in " + context());
      auto [pos, inserted] = seen.emplace(name, k.Mark());
      if (!inserted)
        key_node.fail("duplicate key '" + name + "' in " + context() + " (first defined at line " +
                      std::to_string(pos->second.line + 1) + ", column " +
                      std::to_string(pos->second.column + 1) + ")");
    }
    state_->map_checked = true;
  }
  return *this;
}

const StrictNode& StrictNode::checked_map() const {
  as_map();
  return *this;
}

std::optional<std::pair<YAML::Node, YAML::Node>> StrictNode::find_key(std::string_view key) const {
  for (const auto& kv : *node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key)
      return std::make_pair(YAML::Node(kv.first), YAML::Node(kv.second));
  return std::nullopt;
}

StrictNode StrictNode::required(std::string_view key) const {
  StrictNode v = optional(key);
  if (!v.present_) fail("missing required key '" + std::string(key) + "' in " + context());
  return v;
}

StrictNode StrictNode::optional(std::string_view key) const {
  checked_map();
  note_allowed(key);
  auto found = find_key(key);
  if (!found) return absent_child(key);
  const std::string k(key);
  return child(found->second, &found->first, path_.empty() ? k : path_ + "." + k,
               child_state("k:" + k));
}

bool StrictNode::has(std::string_view key) const {
  checked_map();
  note_allowed(key);
  return find_key(key).has_value();
}

void StrictNode::allow(const std::vector<std::string>& keys) const {
  checked_map();
  for (const auto& k : keys) note_allowed(k);
}

std::vector<StrictEntry> StrictNode::entries(std::string_view what) const {
  as_map(what);
  std::vector<StrictEntry> out;
  for (const auto& kv : *node_) {
    const std::string k = kv.first.Scalar();
    note_allowed(k);
    const std::string p = path_.empty() ? k : path_ + "." + k;
    out.push_back(StrictEntry{k, child(kv.first, nullptr, p, std::make_shared<State>()),
                              child(kv.second, &kv.first, p, child_state("k:" + k))});
  }
  return out;
}

void StrictNode::finish() const {
  if (!present_) return;  // an optional() that was not there has nothing to check
  checked_map();
  const auto& allowed = state_->allowed;
  for (const auto& kv : *node_) {
    const std::string& k = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string m = "unknown key '" + k + "' in " + context();
    if (allowed.empty())
      m += "; no keys are expected here";
    else
      m += "; expected one of: " + join(allowed, ", ") + did_you_mean(k, allowed);
    child(kv.first, nullptr, path_, std::make_shared<State>()).fail(m);
  }
}

// ---------------------------------------------------------------------------
// Sequences

StrictNode StrictNode::as_seq(std::string_view what) const {
  if (!present_ || !node_->IsSequence()) type_error(what, "a sequence");
  return *this;
}

std::size_t StrictNode::size() const { return as_seq().node_->size(); }

StrictNode StrictNode::at(std::size_t index) const {
  as_seq();
  if (index >= node_->size())
    throw std::out_of_range("StrictNode::at: index " + std::to_string(index) + " of " +
                            std::to_string(node_->size()));
  std::size_t i = 0;
  for (const auto& item : *node_) {
    if (i == index)
      return child(item, nullptr, path_ + "[" + std::to_string(i) + "]",
                   child_state("#" + std::to_string(i)));
    ++i;
  }
  throw std::out_of_range("StrictNode::at");  // not reached
}

std::vector<StrictNode> StrictNode::items(std::string_view what) const {
  as_seq(what);
  std::vector<StrictNode> out;
  std::size_t i = 0;
  for (const auto& item : *node_) {
    out.push_back(child(item, nullptr, path_ + "[" + std::to_string(i) + "]",
                        child_state("#" + std::to_string(i))));
    ++i;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Scalars

std::string StrictNode::as_string(std::string_view what) const {
  if (!present_ || !node_->IsScalar()) type_error(what, "a string");
  return node_->Scalar();
}

std::int64_t StrictNode::as_int(std::string_view what, std::int64_t min, std::int64_t max) const {
  if (!present_ || !node_->IsScalar()) type_error(what, "an integer");
  const std::string& s = node_->Scalar();
  bool neg, overflow;
  std::uint64_t mag;
  if (!parse_integer(s, neg, mag, overflow)) type_error(what, "an integer");
  const i128 v = neg ? -i128(mag) : i128(mag);
  if (overflow || v < min || v > max) {
    const bool below = overflow ? neg : v < min;
    fail(range_message(subject(what), below, min != std::numeric_limits<std::int64_t>::min(),
                       max != std::numeric_limits<std::int64_t>::max(), i128_text(min),
                       i128_text(max), s));
  }
  return std::int64_t(v);
}

std::uint64_t StrictNode::as_uint(std::string_view what, std::uint64_t min,
                                  std::uint64_t max) const {
  if (!present_ || !node_->IsScalar()) type_error(what, "an integer");
  const std::string& s = node_->Scalar();
  bool neg, overflow;
  std::uint64_t mag;
  if (!parse_integer(s, neg, mag, overflow)) type_error(what, "an integer");
  const bool below = neg ? mag != 0 || min > 0 : mag < min;
  if (overflow || below || mag > max)
    fail(range_message(subject(what), below, true, max != kU64Max, i128_text(min), i128_text(max),
                       s));
  return neg ? 0 : mag;
}

bool StrictNode::as_bool(std::string_view what) const {
  if (!present_ || !node_->IsScalar()) type_error(what, "true or false");
  const std::string& s = node_->Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  type_error(what, "true or false");
}

double StrictNode::as_double(std::string_view what, double min, double max) const {
  if (!present_ || !node_->IsScalar()) type_error(what, "a number");
  const std::string& s = node_->Scalar();
  std::string_view t = s;
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  double v = 0;
  auto r = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::general);
  if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size() || !std::isfinite(v))
    type_error(what, "a number");
  if (v < min || v > max) {
    const bool has_lo = min != std::numeric_limits<double>::lowest();
    const bool has_hi = max != std::numeric_limits<double>::max();
    fail(range_message(subject(what), v < min, has_lo, has_hi, double_text(min), double_text(max),
                       s));
  }
  return v;
}

std::uint64_t StrictNode::parse_with_units(std::string_view what, bool bytes) const {
  const char* expected = bytes ? "a size such as '4096', '4KiB' or '2MiB'"
                               : "a duration such as '30ns' or '1.5us'";
  if (!present_ || !node_->IsScalar()) type_error(what, expected);
  const std::string& s = node_->Scalar();
  const std::string subj = subject(what);
  std::size_t i = 0;
  if (!s.empty() && s[0] == '-' && s.size() > 1 && is_digit(s[1]))
    fail(subj + " must not be negative, got " + quoted(s));
  // Integer part, optional fraction: keep exact decimal digits, no floats.
  u128 int_part = 0;
  bool too_big = false;
  const std::size_t int_begin = i;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    int_part = int_part * 10 + u128(s[i] - '0');
    if (int_part > kU64Max) {
      too_big = true;
      int_part = u128(kU64Max) + 1;
    }
  }
  if (i == int_begin) type_error(what, expected);
  std::string frac;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t frac_begin = i;
    for (; i < s.size() && is_digit(s[i]); ++i) frac += s[i];
    if (i == frac_begin) type_error(what, expected);
  }
  while (i < s.size() && s[i] == ' ') ++i;
  const std::string unit = s.substr(i);

  std::uint64_t mult = 1;
  if (unit.empty()) {
    if (!bytes) fail(subj + " needs a unit (ps, ns, us, ms, s)");
  } else {
    bool found = false;
    for (const Unit& u : bytes ? std::vector<Unit>(std::begin(kSizeUnits), std::end(kSizeUnits))
                               : std::vector<Unit>(std::begin(kTimeUnits), std::end(kTimeUnits))) {
      if (unit == u.name) {
        mult = u.multiplier;
        found = true;
      }
    }
    if (!found)
      fail(subj + " has unknown unit " + quoted(unit) +
           (bytes ? "; use B, KiB, MiB, GiB or TiB" : "; use ps, ns, us, ms or s"));
  }

  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  const char* whole = bytes ? " is not a whole number of bytes, got "
                            : " is not a whole number of picoseconds, got ";
  if (frac.size() > 24) fail(subj + whole + quoted(s));
  u128 frac_value = 0, scale = 1;
  for (char c : frac) {
    frac_value = frac_value * 10 + u128(c - '0');
    scale *= 10;
  }
  const u128 frac_scaled = frac_value * mult;
  if (frac_scaled % scale != 0) fail(subj + whole + quoted(s));
  const u128 total = too_big ? u128(kU64Max) + 1 : int_part * mult + frac_scaled / scale;
  if (total > kU64Max) fail(subj + " is too large, got " + quoted(s));
  return std::uint64_t(total);
}

std::uint64_t StrictNode::as_duration_ps(std::string_view what) const {
  return parse_with_units(what, false);
}

std::uint64_t StrictNode::as_bytes(std::string_view what, std::uint64_t min,
                                   std::uint64_t max) const {
  const std::uint64_t v = parse_with_units(what, true);
  if (v < min || v > max)
    fail(range_message(subject(what), v < min, min != 0, max != kU64Max, i128_text(min),
                       i128_text(max), node_->Scalar(), "bytes"));
  return v;
}

std::string StrictNode::as_enum(std::string_view what,
                                const std::vector<std::string>& allowed) const {
  const std::string expected = "one of: " + join(allowed, ", ");
  if (!present_ || !node_->IsScalar()) type_error(what, expected);
  const std::string& s = node_->Scalar();
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
  fail(subject(what) + " must be " + expected + "; got " + quoted(s) + did_you_mean(s, allowed));
}

std::string StrictNode::as_known_name(std::string_view what, const std::vector<std::string>& known,
                                      std::string_view hint) const {
  const std::string s = as_string(what);
  if (std::find(known.begin(), known.end(), s) != known.end()) return s;
  fail(fmt::format("unknown {} {}{} ({})", what, quoted(s), did_you_mean(s, known), hint));
}

// ---------------------------------------------------------------------------
// YamlDoc

namespace {

/**
 * A ',' outside any flow collection where a token starts (first on its
 * line, or right after a flow collection, a quoted scalar or a node
 * property): never valid YAML, and some such inputs (",", "[1],", "- a\n,",
 * "\"x\",", "&a ,") make Debian 12's yaml-cpp 0.7 loop forever while its
 * memory grows. Found by a scan that skips comments, quoted scalars and
 * block scalars; returns its 0-based line and column.
 */
std::optional<std::pair<int, int>> find_loose_flow_entry(const std::string& text) {
  int line = 0, depth = 0;
  char quote = 0;            // inside a quoted scalar: its quote character
  int block_indent = -1;     // inside a block scalar: its header line's indent
  size_t i = 0;
  while (i < text.size()) {
    const size_t eol = std::min(text.find('\n', i), text.size());
    size_t indent = 0;
    while (i + indent < eol && text[i + indent] == ' ') ++indent;
    const bool blank = i + indent == eol;
    if (block_indent >= 0 && (blank || static_cast<int>(indent) > block_indent)) {
      i = eol + 1, ++line;  // block scalar content
      continue;
    }
    block_indent = -1;
    bool token_start = quote == 0 && depth == 0;  // at the first character of a line
    char last = 0;                                // last significant char at depth 0
    bool in_property = false;                     // inside '&anchor', '!tag', '*alias', '---'
    for (size_t j = i + indent; j < eol; ++j) {
      const char c = text[j];
      if (quote) {
        if (quote == '"' && c == '\\') {
          ++j;
        } else if (c == quote) {
          if (quote == '\'' && j + 1 < eol && text[j + 1] == '\'') {
            ++j;
          } else {
            quote = 0;
            last = '"';
          }
        }
        continue;
      }
      if (c == '#' && (j == i || text[j - 1] == ' ' || text[j - 1] == '\t')) break;  // comment
      if (c == ' ' || c == '\t') {
        if (depth == 0 && (last == '"' || last == ']' || last == '}' || in_property)) token_start = true;
        in_property = false;
        continue;
      }
      if (in_property) continue;
      if (c == ',' && depth == 0 && (token_start || last == '"' || last == ']' || last == '}'))
        return std::make_pair(line, static_cast<int>(j - i));
      if (c == '"' || c == '\'') {
        if (last == 0 || token_start || depth > 0 || last == ':' || last == '-') {
          quote = c;
          continue;
        }
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == '}') && depth > 0) {
        --depth;
        if (depth == 0) {
          last = c;
          token_start = false;
          continue;
        }
      }
      // '&anchor', '!tag', '*alias' and '---' are properties: a ',' after
      // them starts a token.
      in_property = depth == 0 && (token_start || last == 0) &&
                    (c == '&' || c == '!' || c == '*' || (c == '-' && text.compare(j, 3, "---") == 0));
      last = c;
      token_start = false;
    }
    // A block scalar header ("key: |", "- >-") ends the line at depth 0.
    if (!quote && depth == 0) {
      size_t end = eol;
      const size_t hash = text.find(" #", i);
      if (hash < end) end = hash;
      while (end > i && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r')) --end;
      size_t h = end;
      while (h > i && (std::isdigit(static_cast<unsigned char>(text[h - 1])) || text[h - 1] == '+' || text[h - 1] == '-')) --h;
      if (h > i && (text[h - 1] == '|' || text[h - 1] == '>') && (h - 1 == i + indent || text[h - 2] == ' '))
        block_indent = static_cast<int>(indent);
    }
    i = eol + 1, ++line;
  }
  return std::nullopt;
}

/// What the documents of a stream hold, as the parser reports them.
struct DocumentWalk : YAML::EventHandler {
  struct Document {
    YAML::Mark mark;       ///< where its first node is
    bool content = false;  ///< anything but one empty node
    bool started = false;
  };
  std::vector<Document> documents;

  void OnDocumentStart(const YAML::Mark& m) override { documents.push_back({m, false, false}); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m, false); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m, true); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    node(m, true);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(m, true);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    node(m, true);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& m, bool content) {
    if (documents.empty()) documents.push_back({m, false, false});
    Document& d = documents.back();
    if (!d.started) d.mark = m, d.started = true;
    d.content |= content;
  }
};

/// The character at @m, for messages ("\\0" and the like for control bytes).
std::string char_at(const std::string& text, const YAML::Mark& m) {
  if (m.pos < 0 || static_cast<size_t>(m.pos) >= text.size()) return "end of file";
  const unsigned char c = static_cast<unsigned char>(text[static_cast<size_t>(m.pos)]);
  return std::isprint(c) ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
}

}  // namespace

YamlDoc YamlDoc::load_string(const std::string& text, const std::string& name) {
  if (auto at = find_loose_flow_entry(text))
    throw InputError(name, at->first + 1, at->second + 1,
                     "',' outside a flow collection ([...] or {...}) where a value starts: not valid "
                     "YAML (refused before parsing: the YAML library would loop on it)");
  // First walk the documents with a bound, then build the one node.
  // YAML::LoadAll() is unbounded: on a token no rule consumes (a ',' in
  // block context, whatever precedes it) yaml-cpp 0.7 reports an empty
  // document without moving on, again and again, its memory growing.
  DocumentWalk walk;
  YAML::Node root;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    // One document, and maybe an empty one after a trailing "---": a third
    // is more documents than a file may have, or the parser stuck.
    while (walk.documents.size() < 3 && parser.HandleNextDocument(walk)) {
    }
    if (walk.documents.size() == 3 && !walk.documents[1].content) {
      const YAML::Mark m = walk.documents[1].mark;
      if (walk.documents[2].mark.pos == m.pos)  // stuck: no progress between two documents
        throw InputError(name, m.line + 1, m.column + 1,
                         fmt::format("YAML syntax error: unexpected '{}' (the YAML library cannot get past it)",
                                     char_at(text, m)));
      throw InputError(name, m.line + 1, m.column + 1, "only one YAML document per file is allowed");
    }
    if (walk.documents.size() == 2 && !walk.documents[1].content) walk.documents.pop_back();
    if (walk.documents.size() > 1) {
      const YAML::Mark m = walk.documents[1].mark;
      throw InputError(name, m.line + 1, m.column + 1,
                       "unexpected content after the end of the top-level node (only one YAML "
                       "document per file is allowed)");
    }
    if (!walk.documents.empty()) root = YAML::Load(text);  // one document: no loop
  } catch (const YAML::Exception& e) {
    throw InputError(name, e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg);
  }
  YamlDoc doc;
  doc.file_ = std::make_shared<const std::string>(name);
  doc.empty_ = walk.documents.empty();
  doc.root_ = std::make_shared<const YAML::Node>(root);
  doc.root_state_ = std::make_shared<StrictNode::State>();
  return doc;
}

std::string did_you_mean(std::string_view got, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  std::size_t best_d = 0;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(got, c);
    const std::size_t limit = std::max<std::size_t>(1, c.size() / 3);
    if (d <= limit && (!best || d < best_d)) {
      best = &c;
      best_d = d;
    }
  }
  return best ? "; did you mean '" + *best + "'?" : std::string();
}

std::string read_input_file(const std::string& path, const char* what) {
  auto fail = [&](const std::string& why) { return InputError(path, 1, 1, fmt::format("cannot open {}: {}", what, why)); };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) throw fail(std::strerror(EISDIR));
    const char* kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) ? "a character device"
                       : S_ISBLK(st.st_mode) ? "a block device" : S_ISSOCK(st.st_mode) ? "a socket" : "special";
    throw fail(fmt::format("it is {}, not a regular file (only regular files are read)", kind));
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxInputFileBytes)
    throw fail(fmt::format("it has {} bytes; the limit is {} MiB", st.st_size, kMaxInputFileBytes >> 20));
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw fail(std::strerror(errno));
  std::string text;
  char buf[65536];
  std::size_t n;
  // Bounded even if the file grows while it is read.
  while (text.size() <= kMaxInputFileBytes && (n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const bool error = std::ferror(f);
  const int err = errno ? errno : EIO;
  std::fclose(f);
  if (error) throw fail(std::strerror(err));
  if (text.size() > kMaxInputFileBytes)
    throw fail(fmt::format("it grew past the {} MiB limit while it was read", kMaxInputFileBytes >> 20));
  return text;
}

YamlDoc YamlDoc::load_file(const std::string& path) { return load_string(read_input_file(path, "scenario file"), path); }

StrictNode YamlDoc::root(std::string_view name) const {
  StrictNode r;
  r.node_ = root_;  // shared, never assigned through
  r.present_ = true;
  r.empty_document_ = empty_;
  r.file_ = file_;
  r.root_name_ = std::string(name);
  r.state_ = root_state_;
  const YAML::Mark m = root_->Mark();
  if (mark_valid(m)) {
    r.line0_ = m.line;
    r.column0_ = m.column;
  }
  return r;
}

}  // namespace p2psim
