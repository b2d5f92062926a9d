// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "scenario/parameters.h"

#include <fmt/format.h>

#include <cstring>
#include <string_view>

#include "scenario/strict_yaml.h"

namespace p2psim {

namespace {

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/// Does this line (comment cut off) open a block scalar ("key: |", "- >-")?
bool opens_block_scalar(std::string_view body) {
  while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\r')) body.remove_suffix(1);
  size_t i = body.size();
  while (i > 0 && (body[i - 1] == '+' || body[i - 1] == '-' || (body[i - 1] >= '1' && body[i - 1] <= '9'))) --i;
  if (i == 0 || (body[i - 1] != '|' && body[i - 1] != '>')) return false;
  --i;
  return i == 0 || body[i - 1] == ' ' || body[i - 1] == '\t';
}

/**
 * Calls @on(name, line, column_in_file, column_in_output) for every
 * ${NAME} outside YAML comments and copies the rest; @on returns the
 * replacement. A light YAML lexer decides what a comment is: a '#' at the
 * start of a line or after a blank, outside quoted scalars (which start
 * only where a scalar can: at the line's start or after ':', '-', '[', '{',
 * ',' or '?'; "\"" and "''" escapes kept) and outside block scalars (the
 * lines after "key: |" or "key: >" indented deeper than that key).
 * Quoted scalars are followed within one line: enough for scenarios.
 */
template <class F>
std::string rewrite_references(const std::string& text, const std::string& file, F on) {
  std::string out;
  out.reserve(text.size());
  int block_indent = -1;  // indentation of the line that opened a block scalar
  size_t pos = 0;
  for (int line = 1;; ++line) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string_view ln(text.data() + pos, eol - pos);
    size_t indent = 0;
    while (indent < ln.size() && ln[indent] == ' ') ++indent;
    const bool blank = indent == ln.size() || ln[indent] == '\r' || ln[indent] == '\t';
    bool in_block = false;
    if (block_indent >= 0) {
      if (blank || static_cast<int>(indent) > block_indent)
        in_block = true;
      else
        block_indent = -1;
    }
    const size_t out_line = out.size();
    char quote = 0, prev = 0;  // prev: the last non-blank character outside quotes
    size_t comment_at = std::string_view::npos;
    for (size_t i = 0; i < ln.size();) {
      const char c = ln[i];
      if (!in_block && comment_at == std::string_view::npos) {
        if (quote) {
          if ((quote == '"' && c == '\\' && i + 1 < ln.size()) || (quote == '\'' && c == '\'' && i + 1 < ln.size() && ln[i + 1] == '\'')) {
            out.append(ln.substr(i, 2));  // an escaped character or quote
            i += 2;
            continue;
          }
          if (c == quote) quote = 0;
        } else if (c == '#' && (i == 0 || ln[i - 1] == ' ' || ln[i - 1] == '\t')) {
          comment_at = i;
        } else if ((c == '"' || c == '\'') && (prev == 0 || std::strchr(":-[{,?", prev))) {
          quote = c;
        }
      }
      if (comment_at == std::string_view::npos && c == '$' && i + 1 < ln.size() && ln[i + 1] == '{') {
        const size_t close = ln.find('}', i + 2);
        if (close == std::string_view::npos)
          throw InputError(file, line, static_cast<int>(i) + 1, "unterminated parameter reference '${': expected ${NAME}");
        const std::string name(ln.substr(i + 2, close - i - 2));
        if (!is_param_name(name))
          throw InputError(file, line, static_cast<int>(i) + 1,
                           fmt::format("'${{{}}}' is not a parameter reference: names are letters, digits and _", name));
        out += on(name, line, static_cast<int>(i) + 1, static_cast<int>(out.size() - out_line) + 1,
                  static_cast<int>(close - i) + 1);
        if (!quote) prev = 'x';
        i = close + 1;
        continue;
      }
      if (!quote && c != ' ' && c != '\t') prev = c;
      out += c;
      ++i;
    }
    if (!in_block && opens_block_scalar(ln.substr(0, comment_at))) {
      // Its lines are those indented deeper than the key that owns it: past
      // any "- " of sequence entries ("  - name: >" owns from column 5 on).
      size_t key = indent;
      while (key < ln.size() && ln[key] == '-' && (key + 1 == ln.size() || ln[key + 1] == ' ')) {
        ++key;
        while (key < ln.size() && ln[key] == ' ') ++key;
      }
      block_indent = static_cast<int>(key);
    }
    if (eol == text.size()) break;
    out += '\n';
    pos = eol + 1;
  }
  return out;
}

}  // namespace

bool is_param_name(const std::string& s) {
  if (s.empty() || !name_start(s[0])) return false;
  for (char c : s)
    if (!name_char(c)) return false;
  return true;
}

std::string bad_param_value(const std::string& value) {
  if (value.empty()) return "a parameter value cannot be empty";
  for (char c : value)
    if (!name_char(c) && !std::strchr(".-+/:@", c))
      return fmt::format("'{}' has '{}': a parameter value is one word of letters, digits and . _ - + / : @ "
                         "(it is pasted into the YAML text, where other characters could change its structure)",
                         value, c == '\n' ? std::string("\\n") : std::string(1, c));
  return "";
}

std::string with_bare_references(const std::string& text, const std::string& file) {
  if (text.find("${") == std::string::npos) return text;
  return rewrite_references(text, file, [](const std::string& n, int, int, int, int) { return n; });
}

std::vector<ParamDecl> declared_parameters(const std::string& text, const std::string& file) {
  std::vector<ParamDecl> out;
  if (text.find("parameters") == std::string::npos && text.find("${") == std::string::npos) return out;
  // References read as their bare names: plain scalars anywhere, flow or block.
  YamlDoc doc = YamlDoc::load_string(with_bare_references(text, file), file);
  StrictNode root = doc.root("scenario");
  if (!root.is_map()) return out;  // load_scenario() reports it
  StrictNode params = root.optional("parameters");
  if (!params) return out;
  for (const auto& e : params.entries("parameters")) {
    if (!is_param_name(e.key))
      e.key_node.fail(fmt::format("parameter name '{}' must be letters, digits and _ (not starting with a digit)", e.key));
    if (!e.value.is_scalar()) e.value.fail(fmt::format("parameter '{}' needs a scalar default value", e.key));
    ParamDecl d;
    d.name = e.key;
    d.default_value = e.value.as_string();
    if (std::string why = bad_param_value(d.default_value); !why.empty())
      e.value.fail(fmt::format("default of parameter '{}': {}", e.key, why));
    d.line = e.key_node.line();
    d.column = e.key_node.column();
    out.push_back(d);
  }
  return out;
}

std::string substitute_parameters(const std::string& text, const std::string& file, const ParamValues& values,
                                  std::set<std::string>* used, std::vector<Substitution>* subs) {
  if (text.find("${") == std::string::npos) return text;
  return rewrite_references(text, file, [&](const std::string& name, int line, int col, int out_col, int ref_len) {
    auto it = values.find(name);
    if (it == values.end()) {
      std::string known;
      for (const auto& [n, v] : values) known += (known.empty() ? "" : ", ") + n;
      throw InputError(file, line, col,
                       fmt::format("unknown parameter '{}' in ${{{}}}; {}", name, name,
                                   known.empty() ? "the scenario declares none (add `parameters: {NAME: DEFAULT}`)"
                                                 : "the scenario declares: " + known));
    }
    if (used) used->insert(name);
    if (subs)
      subs->push_back({line, out_col, static_cast<int>(it->second.size()), col, ref_len, name, it->second});
    return it->second;
  });
}

InputError in_file_terms(const InputError& e, const std::string& file, const std::vector<Substitution>& subs) {
  if (e.file != file) return e;
  int shift = 0;
  for (const Substitution& s : subs) {
    if (s.line != e.line || e.column < s.column) continue;
    if (e.column < s.column + s.length)
      return InputError(file, e.line, s.ref_column, fmt::format("{} (from ${{{}}} = {})", e.message, s.name, s.value));
    shift += s.ref_length - s.length;
  }
  return InputError(file, e.line, e.column + shift, e.message);
}

}  // namespace p2psim
