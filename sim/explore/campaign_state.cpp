// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/campaign_state.h"

#include <algorithm>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <stdexcept>

#include "output/trace_writer.h"
#include "scenario/strict_yaml.h"

namespace p2psim {

namespace {
}  // namespace

void UniqueFinding::note_symptoms(const std::vector<std::string>& shown, uint64_t execution,
                                  const std::string& with_token, double at) {
  for (const auto& sig : shown) {
    if (std::find(symptoms.begin(), symptoms.end(), sig) != symptoms.end()) continue;
    auto it = std::find_if(later_symptoms.begin(), later_symptoms.end(),
                           [&](const LaterSymptom& l) { return l.signature == sig; });
    if (it == later_symptoms.end()) {
      later_symptoms.push_back({sig, with_token, execution, at});
    } else if (execution < it->first_execution) {
      it->token = with_token;
      it->first_execution = execution;
    }
  }
}

std::string later_symptoms_json(const UniqueFinding& u) {
  std::string s;
  for (const auto& l : u.later_symptoms)
    s += fmt::format("{}{{\"signature\":{},\"first_execution\":{},\"first_found_s\":{:.3f},\"token\":{}}}",
                     s.empty() ? "" : ",", json_quote(l.signature), l.first_execution, l.first_found_s,
                     json_quote(l.token));
  return s;
}

std::string symptoms_json(const UniqueFinding& u) {
  std::string s;
  for (const auto& x : u.symptoms) s += (s.empty() ? "" : ",") + json_quote(x);
  return s;
}

std::string known_json(const CampaignState& s, bool with_token) {
  std::string out;
  for (const auto& [name, h] : s.known)
    out += fmt::format(
        "{}\n  {{\"name\":{},\"executions\":{},\"findings\":{},\"first_found_s\":{:.3f},\"first_execution\":{},"
        "\"seed\":{},\"strategy\":{},{}}}",
        out.empty() ? "" : ",", json_quote(name), h.executions, h.findings, h.first_found_s, h.first_execution, h.seed,
        json_quote(h.strategy), with_token ? "\"token\":" + json_quote(h.token) : "\"token_file\":" + json_quote("known/" + name + ".token"));
  return out;
}

std::string state_json(const CampaignState& s) {
  std::string sets, done, uniq, cov;
  for (const auto& x : s.sets) sets += (sets.empty() ? "" : ",") + json_quote(x);
  for (const auto& [a, b] : s.done.intervals()) done += fmt::format("{}[{},{}]", done.empty() ? "" : ",", a, b);
  for (const auto& [sig, u] : s.unique) {
    uniq += fmt::format(
        "{}\n  {{\"signature\":{},\"kind\":{},\"message\":{},\"count\":{},\"first_found_s\":{:.3f},"
        "\"first_execution\":{},\"seed\":{},\"strategy\":{},\"token\":{},\"dir\":{},\"symptoms\":[{}],"
        "\"later_symptoms\":[{}]}}",
        uniq.empty() ? "" : ",", json_quote(sig), json_quote(u.kind), json_quote(u.message), u.count, u.first_found_s,
        u.first_execution, u.seed, json_quote(u.strategy), json_quote(u.token), json_quote(u.dir), symptoms_json(u),
        later_symptoms_json(u));
  }
  for (uint64_t h : s.coverage) cov += fmt::format("{}\"{:016x}\"", cov.empty() ? "" : ",", h);
  return fmt::format(
      "{{\"version\":1,\"scenario\":{},\"hash\":\"{:016x}\",\"variant\":{},\"sets\":[{}],"
      "\"strategy\":{},\"seed\":{},\"shard\":{},\"budget_runs\":{},\"budget_time\":{},"
      "\"executions\":{},\"wall_seconds\":{:.3f},\"findings_total\":{},\"pct_steps\":{},\"tasks\":{},"
      "\"no_known\":{},\"hint_pins\":{},\"done\":[{}],\n\"unique\":[{}],\n\"known\":[{}],\n\"coverage\":[{}]}}\n",
      json_quote(s.scenario), s.hash, json_quote(s.variant), sets, json_quote(s.strategy), s.seed, json_quote(s.shard),
      s.budget_runs, s.budget_time, s.done.size(), s.wall_seconds, s.findings_total, s.pct_steps,
      s.nr_tasks, s.no_known ? "true" : "false", s.hint_pins ? "true" : "false", done, uniq, known_json(s, true), cov);
}

CampaignState load_state(const std::string& path) {
  return parse_state(read_input_file(path, "campaign checkpoint"), path);
}

CampaignState parse_state(const std::string& text, const std::string& path) {
  CampaignState s;
  YAML::Node n;
  try {
    n = YAML::Load(text);
    // A checkpoint this version did not write, or one damaged by hand, would
    // count executions and findings twice: refuse it rather than trust it.
    if (!n.IsMap()) throw std::runtime_error("not a JSON object");
    for (const char* key : {"version", "scenario", "hash", "variant", "strategy", "seed", "shard", "budget_runs",
                            "budget_time", "executions", "wall_seconds", "findings_total", "pct_steps", "tasks",
                            "done", "unique"})
      if (!n[key]) throw std::runtime_error(fmt::format("it has no '{}'", key));
    if (n["version"].as<int>() != 1)
      throw std::runtime_error(fmt::format("it is version {}, this p2pdma-sim reads version 1",
                                           n["version"].as<std::string>()));
    s.scenario = n["scenario"].as<std::string>();
    s.hash = std::stoull(n["hash"].as<std::string>(), nullptr, 16);
    s.variant = n["variant"].as<std::string>();
    for (const auto& x : n["sets"]) s.sets.push_back(x.as<std::string>());
    s.strategy = n["strategy"].as<std::string>();
    s.seed = n["seed"].as<uint64_t>();
    s.shard = n["shard"].as<std::string>();
    s.budget_runs = n["budget_runs"].as<uint64_t>();
    s.budget_time = n["budget_time"].as<double>();
    s.wall_seconds = n["wall_seconds"].as<double>();
    s.findings_total = n["findings_total"].as<uint64_t>();
    s.pct_steps = n["pct_steps"].as<uint64_t>();
    s.nr_tasks = n["tasks"].as<int>();
    if (s.wall_seconds < 0 || s.budget_time < 0 || !std::isfinite(s.wall_seconds) || !std::isfinite(s.budget_time))
      throw std::runtime_error("it has a negative or non-finite time");
    if (!n["done"].IsSequence()) throw std::runtime_error("'done' is not a list of ranges");
    for (const auto& iv : n["done"]) {
      if (!iv.IsSequence() || iv.size() != 2) throw std::runtime_error("a 'done' range is not [first, last]");
      const uint64_t a = iv[0].as<uint64_t>(), b = iv[1].as<uint64_t>();
      if (b < a || (s.budget_runs && b >= s.budget_runs))
        throw std::runtime_error(fmt::format("'done' range [{}, {}] is out of order or past the budget of {}", a, b,
                                             s.budget_runs));
      s.done.add(a, b - a + 1);
    }
    if (s.done.size() != n["executions"].as<uint64_t>())
      throw std::runtime_error(fmt::format("its 'done' ranges hold {} executions, its 'executions' says {}",
                                           s.done.size(), n["executions"].as<uint64_t>()));
    for (const auto& u : n["unique"]) {
      UniqueFinding f;
      f.signature = u["signature"].as<std::string>();
      f.kind = u["kind"].as<std::string>();
      f.message = u["message"].as<std::string>();
      f.count = u["count"].as<uint64_t>();
      f.first_found_s = u["first_found_s"].as<double>();
      f.first_execution = u["first_execution"].as<uint64_t>();
      f.seed = u["seed"].as<uint64_t>();
      f.strategy = u["strategy"].as<std::string>();
      f.token = u["token"].as<std::string>();
      f.dir = u["dir"].as<std::string>();
      for (const auto& x : u["symptoms"]) f.symptoms.push_back(x.as<std::string>());  // absent before grouping
      for (const auto& x : u["later_symptoms"])  // absent before later symptoms were kept
        f.later_symptoms.push_back({x["signature"].as<std::string>(), x["token"].as<std::string>(),
                                    x["first_execution"].as<uint64_t>(), x["first_found_s"].as<double>()});
      s.unique[f.signature] = f;
    }
    if (n["no_known"]) s.no_known = n["no_known"].as<bool>();
    if (n["hint_pins"]) s.hint_pins = n["hint_pins"].as<bool>();  // absent before --hint-pins
    for (const auto& k : n["known"]) {  // absent in checkpoints from before known bugs
      KnownHits h;
      h.name = k["name"].as<std::string>();
      h.executions = k["executions"].as<uint64_t>();
      h.findings = k["findings"].as<uint64_t>();
      h.first_found_s = k["first_found_s"].as<double>();
      h.first_execution = k["first_execution"].as<uint64_t>();
      h.seed = k["seed"].as<uint64_t>();
      h.strategy = k["strategy"].as<std::string>();
      h.token = k["token"].as<std::string>();
      s.known[h.name] = h;
    }
    for (const auto& c : n["coverage"]) s.coverage.insert(std::stoull(c.as<std::string>(), nullptr, 16));
  } catch (const YAML::Exception& e) {
    throw InputError(path, e.mark.line + 1, e.mark.column + 1,
                     fmt::format("campaign checkpoint is unreadable: {}", e.msg));
  } catch (const std::exception& e) {
    throw InputError(path, 1, 1, fmt::format("campaign checkpoint is unreadable: {}", e.what()));
  }
  return s;
}

}  // namespace p2psim
