// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// What a campaign must not lose, and its checkpoint file, state.json.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace p2psim {

/// A set of execution indices as disjoint [first, last] intervals.
class IndexSet {
 public:
  void add(uint64_t first, uint64_t count) {
    if (!count) return;
    uint64_t lo = first, hi = first + count - 1;
    auto it = iv_.upper_bound(lo);
    if (it != iv_.begin() && std::prev(it)->second + 1 >= lo) --it;
    while (it != iv_.end() && it->first <= hi + 1) {
      lo = std::min(lo, it->first);
      hi = std::max(hi, it->second);
      it = iv_.erase(it);
    }
    iv_[lo] = hi;
  }
  bool contains(uint64_t i) const {
    auto it = iv_.upper_bound(i);
    return it != iv_.begin() && std::prev(it)->second >= i;
  }
  uint64_t size() const {
    uint64_t n = 0;
    for (const auto& [a, b] : iv_) n += b - a + 1;
    return n;
  }
  const std::map<uint64_t, uint64_t>& intervals() const { return iv_; }

 private:
  std::map<uint64_t, uint64_t> iv_;
};

/// A symptom a bug showed in a later execution but not in its first one
/// (S1's leak follows its premature free only in some interleavings): the
/// first execution that showed it, and its token.
struct LaterSymptom {
  std::string signature, token;
  uint64_t first_execution = 0;
  double first_found_s = 0;
};

/**
 * struct UniqueFinding - one bug: the executions whose first finding has
 * @signature (the later findings of an execution are usually its
 * consequences). @symptoms: the signatures of the other findings of the
 * first such execution, in order; @later_symptoms: those other executions
 * of the bug showed besides; @count: the executions.
 */
struct UniqueFinding {
  std::string signature, kind, message, token, strategy, dir;
  std::vector<std::string> symptoms;
  std::vector<LaterSymptom> later_symptoms;
  uint64_t count = 0, first_execution = 0, seed = 0;
  double first_found_s = 0;
  /// Fold in execution @execution (found at @at s) of this bug, which
  /// showed @shown: what its first execution did not show becomes a later
  /// symptom (kept for the earliest execution that showed it).
  void note_symptoms(const std::vector<std::string>& shown, uint64_t execution, const std::string& with_token,
                     double at);
};

/// The later symptoms of a bug as a JSON array's items.
std::string later_symptoms_json(const UniqueFinding& u);

/// Executions a known bug of the variant explained (not findings).
struct KnownHits {
  std::string name, token, strategy;
  uint64_t executions = 0, findings = 0, first_execution = 0, seed = 0;
  double first_found_s = 0;
};

/// Everything a campaign must not lose; state.json is its checkpoint.
struct CampaignState {
  std::string scenario, variant, strategy, shard;
  uint64_t hash = 0, seed = 1, budget_runs = 0;
  std::vector<std::string> sets;
  double budget_time = 0;
  double wall_seconds = 0;
  uint64_t findings_total = 0;
  IndexSet done;
  std::map<std::string, UniqueFinding> unique;  // by signature
  std::map<std::string, KnownHits> known;        // by known bug name
  bool no_known = false;
  bool hint_pins = false;  ///< fuzz --hint-pins
  std::set<uint64_t> coverage;
  uint64_t pct_steps = 0;
  int nr_tasks = 0;
};

/// The symptoms of a bug as a JSON array's items.
std::string symptoms_json(const UniqueFinding& u);
/// The "known" array of state.json (@with_token) or of summary.json.
std::string known_json(const CampaignState& s, bool with_token);
/// state.json: version 1, JSON.
std::string state_json(const CampaignState& s);
/**
 * parse_state() - a checkpoint from @text, which came from @path. Throws
 * InputError (file:line:col) for anything this version did not write or
 * that does not add up (version, missing fields, negative times, `done`
 * ranges out of order or not matching `executions`).
 */
CampaignState parse_state(const std::string& text, const std::string& path);
/// parse_state() of the file at @path (a regular file of bounded size).
CampaignState load_state(const std::string& path);

}  // namespace p2psim
