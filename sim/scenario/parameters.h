// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
//
// Scenario parameters: a scenario declares `parameters: {NAME: DEFAULT, ...}`
// and writes ${NAME} anywhere in its text or in the topology file it
// includes; `run --param NAME=VALUE` and `report --sweep NAME=V1,V2` replace
// them before the YAML is parsed. Substitution is textual (so ${gen} can sit
// inside a flow mapping, or make up part of a file name); values are single
// YAML-neutral words (letters, digits and . _ - + / : @), so a value can never
// change the document's structure, and an error in the result is reported at
// the reference's own line and column, naming the parameter.
#pragma once
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace p2psim {

struct InputError;

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

/// Checks a value for a parameter: non-empty, only letters, digits and
/// . _ - + / : @. Returns why not, or "".
std::string bad_param_value(const std::string& value);

/**
 * declared_parameters() - the `parameters:` map of scenario @text (read
 * from @file), in document order; empty when it has none. Every ${NAME} is
 * read as the bare word NAME for this, so references do not upset the
 * YAML. Throws InputError on a malformed declaration, reference or default.
 */
std::vector<ParamDecl> declared_parameters(const std::string& text, const std::string& file);

/// @text with every ${NAME} outside comments read as the bare word NAME:
/// parses like the real thing whatever the values (for looking at its keys).
std::string with_bare_references(const std::string& text, const std::string& file);

/// Where one substitution put its value: what InputError positions in the
/// substituted text are mapped back through.
struct Substitution {
  int line = 0;
  int column = 0, length = 0;           ///< in the substituted text
  int ref_column = 0, ref_length = 0;   ///< the ${NAME} in the file
  std::string name, value;
};

/**
 * substitute_parameters() - @text with every ${NAME} outside YAML comments
 * replaced by @values[NAME]. An unknown NAME, an unterminated "${" or a bad
 * name throws InputError at its position in @file (the message lists the
 * declared names). Names substituted are added to @used; each substitution
 * is appended to @subs when given.
 */
std::string substitute_parameters(const std::string& text, const std::string& file, const ParamValues& values,
                                  std::set<std::string>* used, std::vector<Substitution>* subs = nullptr);

/**
 * in_file_terms() - @e, raised on text substitute_parameters() produced
 * from @file, with its column moved back to the file's own text; an error
 * inside a substituted value points at the reference and names it
 * ("... (from ${gen} = 9)"). Errors about other files pass unchanged.
 */
InputError in_file_terms(const InputError& e, const std::string& file, const std::vector<Substitution>& subs);

}  // namespace p2psim
