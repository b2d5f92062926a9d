// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/replay_token.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <sstream>

namespace p2psim {

namespace {
/// Digits only (no sign, no space, no "0x"), and no overflow: std::stoull
/// would take "-5" as 2^64 - 5.
uint64_t parse_u64(const std::string& v, int base = 10) {
  if (v.empty()) throw std::invalid_argument("empty");
  for (char c : v)
    if (!(base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) : std::isdigit(static_cast<unsigned char>(c))))
      throw std::invalid_argument("not a number");
  return std::stoull(v, nullptr, base);  // throws out_of_range on overflow
}
/// A delay a token can ask for: at most a minute of simulated time.
constexpr uint64_t kMaxTokenDelayPs = 60ULL * 1000 * 1000 * 1000 * 1000;
}  // namespace


namespace {

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const char kPrefix[] = "p2psim1_";
const char kTaskDigits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

std::string b64url(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 63];
    }
  }
  if (bits) out += kB64[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> unb64url(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::strchr(kB64, c);
    if (!p || !c) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 255);
    }
  }
  return out;
}

}  // namespace

std::string encode_token(const ReplayToken& t) {
  std::string choices;
  for (int c : t.decisions.choices)
    choices += c < 0 ? '.' : (c < 62 ? kTaskDigits[c] : '?');
  std::string delays;
  for (const auto& [seq, d] : t.decisions.delays) delays += fmt::format("{}{}:{}", delays.empty() ? "" : ",", seq, d);
  std::string text = fmt::format("scenario={}\nhash={:016x}\nvariant={}\n", t.scenario_path, t.scenario_hash, t.variant);
  for (const auto& s : t.sets) text += fmt::format("set={}\n", s);
  text += fmt::format("strategy={}\nseed={}\nchoices={}\ndelays={}\n", t.strategy, t.seed, choices, delays);
  for (const auto& f : t.findings) text += fmt::format("finding={}\n", f);
  if (t.pins) text += "pins=1\n";
  if (t.regenerate) text += fmt::format("regenerate=1\npct_depth={}\npct_steps={}\n", t.pct_depth, t.pct_steps);
  return kPrefix + b64url(text);
}

std::optional<ReplayToken> decode_token(const std::string& raw, std::string* err) {
  std::string s = raw;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.rfind(kPrefix, 0) != 0) {
    *err = "not a p2pdma-sim replay token (it starts with 'p2psim1_')";
    return std::nullopt;
  }
  auto text = unb64url(s.substr(sizeof(kPrefix) - 1));
  if (!text) {
    *err = "replay token is damaged (bad base64url)";
    return std::nullopt;
  }
  ReplayToken t;
  bool have_scenario = false, have_hash = false, have_pct = false;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      *err = fmt::format("replay token is damaged (line '{}')", line);
      return std::nullopt;
    }
    const std::string key = line.substr(0, eq), v = line.substr(eq + 1);
    try {
      if (key == "scenario") {
        t.scenario_path = v;
        have_scenario = true;
      } else if (key == "hash") {
        t.scenario_hash = parse_u64(v, 16);
        have_hash = true;
      } else if (key == "variant") {
        t.variant = v;
      } else if (key == "set") {
        t.sets.push_back(v);
      } else if (key == "strategy") {
        t.strategy = v;
      } else if (key == "seed") {
        t.seed = parse_u64(v);
      } else if (key == "choices") {
        for (char c : v) {
          if (c == '.') {
            t.decisions.choices.push_back(-1);
            continue;
          }
          const char* p = std::strchr(kTaskDigits, c);
          if (!p || !c) throw std::invalid_argument("choice");
          t.decisions.choices.push_back(static_cast<int>(p - kTaskDigits));
        }
      } else if (key == "delays") {
        std::istringstream ds(v);
        std::string item;
        while (std::getline(ds, item, ',')) {
          const auto colon = item.find(':');
          if (colon == std::string::npos) throw std::invalid_argument("delay");
          const uint64_t delay = parse_u64(item.substr(colon + 1));
          if (delay > kMaxTokenDelayPs) throw std::out_of_range("delay");
          t.decisions.delays[parse_u64(item.substr(0, colon))] = delay;
        }
      } else if (key == "finding") {
        t.findings.push_back(v);
      } else if (key == "pins") {
        if (v != "1") throw std::invalid_argument("pins");
        t.pins = true;
      } else if (key == "regenerate") {
        if (v != "1") throw std::invalid_argument("regenerate");
        t.regenerate = true;
      } else if (key == "pct_depth") {
        const uint64_t d = parse_u64(v);
        if (d > 64) throw std::out_of_range("pct_depth");
        t.pct_depth = static_cast<int>(d);
        have_pct = true;
      } else if (key == "pct_steps") {
        t.pct_steps = parse_u64(v);
        have_pct = true;
      } else {
        *err = fmt::format("replay token has an unknown field '{}' (made by a newer p2pdma-sim?)", key);
        return std::nullopt;
      }
    } catch (const std::exception&) {
      *err = fmt::format("replay token is damaged (field '{}')", key);
      return std::nullopt;
    }
  }
  if (have_pct && !t.regenerate) {
    *err = "replay token is damaged (PCT parameters without regenerate)";
    return std::nullopt;
  }
  if (!have_scenario || !have_hash) {
    *err = "replay token lacks its scenario or content hash";
    return std::nullopt;
  }
  return t;
}

}  // namespace p2psim
