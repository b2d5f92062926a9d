// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Scenario parameters: a scenario declares `parameters: {NAME: DEFAULT, ...}`
// and writes ${NAME} anywhere in its text or in the topology file it
// includes; `run --param NAME=VALUE` and `report --sweep NAME=V1,V2` replace
// them before the YAML is parsed. Substitution is textual (so ${gen} can sit
// inside a flow mapping, or make up part of a file name) and keeps line
// numbers: values may not contain a line break.
#pragma once
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace p2psim {

/// NAME -> VALUE given on the command line (or a sweep point).
using ParamValues = std::map<std::string, std::string>;

/// A declared parameter: its name, default, and where it is declared.
struct ParamDecl {
  std::string name;
  std::string default_value;
  int line = 1, column = 1;
};

/// Is @s a parameter name ([A-Za-z_][A-Za-z0-9_]*)?
bool is_param_name(const std::string& s);

/**
 * declared_parameters() - the `parameters:` map of scenario @text (read
 * from @file), in document order; empty when it has none. Every ${NAME} is
 * read as the bare word NAME for this, so references do not upset the
 * YAML. Throws InputError on a malformed declaration or reference.
 */
std::vector<ParamDecl> declared_parameters(const std::string& text, const std::string& file);

/**
 * substitute_parameters() - @text with every ${NAME} replaced by
 * @values[NAME]. An unknown NAME, an unterminated "${" or a bad name throws
 * InputError at its position in @file (@declared lists the names in the
 * message). Names substituted are added to @used.
 */
std::string substitute_parameters(const std::string& text, const std::string& file, const ParamValues& values,
                                  std::set<std::string>* used);

/// Checks a value given for a parameter: one line, no "${". Returns why not, or "".
std::string bad_param_value(const std::string& value);

}  // namespace p2psim
