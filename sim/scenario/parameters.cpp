// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "scenario/parameters.h"

#include <fmt/format.h>

#include "scenario/strict_yaml.h"

namespace p2psim {

namespace {

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/// Calls @on(name, line, column) for every ${NAME} of @text outside YAML
/// comments and copies the rest to the result; @on returns the replacement.
/// A comment starts at a '#' at the start of a line or after a blank, not
/// inside quotes (quotes are followed within one line: enough for scenarios).
template <class F>
std::string rewrite_references(const std::string& text, const std::string& file, F on) {
  std::string out;
  out.reserve(text.size());
  int line = 1, col = 1;
  bool comment = false;
  char quote = 0;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (!comment && !quote && c == '#' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n'))
      comment = true;
    else if (!comment && (c == '"' || c == '\'') && (!quote || quote == c))
      quote = quote ? 0 : c;
    if (!comment && c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const size_t close = text.find('}', i + 2);
      const size_t eol = text.find('\n', i + 2);
      if (close == std::string::npos || (eol != std::string::npos && eol < close))
        throw InputError(file, line, col, "unterminated parameter reference '${': expected ${NAME}");
      const std::string name = text.substr(i + 2, close - i - 2);
      if (!is_param_name(name))
        throw InputError(file, line, col,
                         fmt::format("'${{{}}}' is not a parameter reference: names are letters, digits and _", name));
      out += on(name, line, col);
      col += static_cast<int>(close + 1 - i);
      i = close + 1;
      continue;
    }
    if (text[i] == '\n') {
      ++line;
      col = 1;
      comment = false;
      quote = 0;
    } else {
      ++col;
    }
    out += text[i++];
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
  if (value.find('\n') != std::string::npos || value.find('\r') != std::string::npos)
    return "a parameter value must be one line";
  if (value.find("${") != std::string::npos) return "a parameter value cannot contain '${'";
  return "";
}

std::vector<ParamDecl> declared_parameters(const std::string& text, const std::string& file) {
  std::vector<ParamDecl> out;
  if (text.find("parameters") == std::string::npos && text.find("${") == std::string::npos) return out;
  // References read as their bare names: plain scalars anywhere, flow or block.
  const std::string plain = rewrite_references(text, file, [](const std::string& n, int, int) { return n; });
  YamlDoc doc = YamlDoc::load_string(plain, file);
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
    d.line = e.key_node.line();
    d.column = e.key_node.column();
    out.push_back(d);
  }
  return out;
}

std::string substitute_parameters(const std::string& text, const std::string& file, const ParamValues& values,
                                  std::set<std::string>* used) {
  if (text.find("${") == std::string::npos) return text;
  return rewrite_references(text, file, [&](const std::string& name, int line, int col) {
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
    return it->second;
  });
}

}  // namespace p2psim
