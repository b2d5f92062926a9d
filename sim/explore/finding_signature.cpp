// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/finding_signature.h"

#include <cctype>

namespace p2psim {

namespace {
/// Replace 0x-hex and decimal numbers by '#', keeping identifiers whole.
std::string mask_numbers(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const bool word_before = i > 0 && (std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_');
    if (std::isdigit(static_cast<unsigned char>(s[i])) && !word_before) {
      if (s[i] == '0' && i + 1 < s.size() && s[i + 1] == 'x') i += 2;
      while (i < s.size() && (std::isxdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      out += '#';
      continue;
    }
    // "cpu1", "pid 2": digits glued to a short word are ids too.
    if (std::isdigit(static_cast<unsigned char>(s[i])) && i >= 3 && s.compare(i - 3, 3, "cpu") == 0) {
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      out += '#';
      continue;
    }
    out += s[i++];
  }
  return out;
}
}  // namespace

std::string finding_signature(const Finding& f) {
  std::string stack;
  if (!f.path.empty()) {
    const std::string& last = f.path.back();
    const auto in = last.find(" in ");
    if (in != std::string::npos) stack = last.substr(in + 4);
  }
  return std::string(to_string(f.kind)) + " @ " + (stack.empty() ? "user" : stack) + " : " +
         mask_numbers(f.message);
}

std::string internal_error_signature(const std::string& reason) {
  return "internal_error @ simulator : " + mask_numbers(reason);
}

}  // namespace p2psim
