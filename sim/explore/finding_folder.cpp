// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#include "explore/finding_folder.h"

#include <fmt/format.h>

#include <cctype>
#include <set>

#include "common/kernel_bug.h"
#include "explore/finding_signature.h"
#include "explore/replay_token.h"
#include "explore/shrink.h"
#include "output/atomic_file.h"
#include "output/trace_writer.h"
#include "scenario/strict_yaml.h"

namespace p2psim {

namespace fs = std::filesystem;

namespace {

/// "007-premature_free": a folder finding_dir_name() names.
bool is_finding_dir_name(const std::string& name) {
  size_t digits = 0;
  while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
  return digits >= 3 && digits + 1 < name.size() && name[digits] == '-';
}

/// The folder of an internal error: nothing to shrink or trace, since the
/// execution never finished; its token re-derives it from the seed.
void write_internal_error_dir(const Scenario& sc, const CampaignOptions& o, const fs::path& out, UniqueFinding& u,
                              size_t n) {
  u.dir = finding_dir_name(n, u.kind);
  const fs::path dir = out / u.dir;
  make_output_dir(dir);
  atomic_write(dir / "finding.json",
               fmt::format("{{\"kind\":{},\"signature\":{},\"message\":{},\"count\":{},\"first_found_s\":{:.3f},"
                           "\"first_execution\":{},\"seed\":{},\"strategy\":{},\"token\":{}}}\n",
                           json_quote(u.kind), json_quote(u.signature), json_quote(u.message), u.count, u.first_found_s,
                           u.first_execution, u.seed, json_quote(u.strategy), json_quote(u.token)));
  atomic_write(dir / "replay.token", u.token + "\n");
  atomic_write(dir / "interleaving.txt",
               fmt::format("internal_error on {} ({}), variant {}: execution {} (seed {}, {}) {}\n"
                           "The execution never finished, so there is no interleaving or trace to show. The "
                           "token runs the campaign's strategy from that seed again:\n"
                           "  p2pdma-sim replay {}\n",
                           sc.name, sc.file, o.variant.empty() ? "(base)" : o.variant, u.first_execution, u.seed,
                           u.strategy, u.message, (dir / "replay.token").string()));
}

}  // namespace

void make_output_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(dir.string(), 1, 1,
                     fmt::format("cannot create output directory: {}", ec ? ec.message() : "not a directory"));
}

void atomic_write(const fs::path& path, const std::string& content) {
  const std::string err = write_file_atomically(path.string(), content);
  if (!err.empty()) throw InputError(path.string(), 1, 1, err);
}

std::string finding_dir_name(size_t n, const std::string& kind) { return fmt::format("findings/{:03}-{}", n, kind); }

size_t folders_written(const CampaignState& st) {
  size_t n = 0;
  for (const auto& [sig, u] : st.unique) n += !u.dir.empty();
  return n;
}

void forget_unfinished_output(const fs::path& out, const CampaignState& st, bool resume) {
  remove_stale_temporaries(out.string());
  if (!resume) return;  // a new campaign's folder holds nothing of ours yet
  std::set<std::string> recorded;
  for (const auto& [sig, u] : st.unique)
    if (!u.dir.empty()) recorded.insert(fs::path(u.dir).filename().string());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out / "findings", ec))
    if (e.is_directory(ec) && is_finding_dir_name(e.path().filename().string()) &&
        !recorded.count(e.path().filename().string()))
      fs::remove_all(e.path(), ec);
}


void write_finding_dir(CoroutineHost& host, const HardwareModules& hw, const Scenario& sc, const RunConfig& rc,
                       const CampaignOptions& o, const fs::path& out, UniqueFinding& u, size_t n) {
  if (u.kind == "internal_error") return write_internal_error_dir(sc, o, out, u, n);
  std::string err;
  auto tok = decode_token(u.token, &err);
  if (!tok) throw ModelBug("campaign produced a bad token: " + err);
  Decisions decisions = tok->decisions;
  RunConfig replay_rc = rc;  // the pins only if the execution ran with them (--hint-pins)
  if (!tok->pins) replay_rc.pins.clear();
  ShrinkResult sh;
  if (o.shrink) {
    sh = shrink_decisions(host, sc, replay_rc, decisions, u.signature, o.shrink_replays, &hw);
  } else {
    sh.decisions = decisions;
    sh.explicit_before = sh.explicit_after = decisions.explicit_count();
    sh.final_run = replay_decisions(host, sc, replay_rc, decisions, true, &sh.events, nullptr, &hw);
  }
  bool reproduced = false;
  for (const auto& f : sh.final_run.findings) reproduced |= finding_signature(f) == u.signature;
  ReplayToken st = *tok;
  st.strategy = tok->strategy + "+shrunk";
  st.decisions = sh.decisions;
  std::set<std::string> kinds;
  for (const auto& f : sh.final_run.findings) kinds.insert(to_string(f.kind));
  st.findings.assign(kinds.begin(), kinds.end());
  const std::string shrunk_token = encode_token(st);

  u.dir = finding_dir_name(n, u.kind);
  const fs::path dir = out / u.dir;
  make_output_dir(dir);
  std::string path_json;
  for (const auto& f : sh.final_run.findings)
    if (finding_signature(f) == u.signature)
      for (const auto& p : f.path) path_json += (path_json.empty() ? "" : ",") + json_quote(p);
  atomic_write(dir / "finding.json",
               fmt::format("{{\"kind\":{},\"signature\":{},\"message\":{},\"count\":{},\"first_found_s\":{:.3f},"
                           "\"first_execution\":{},\"seed\":{},\"strategy\":{},\"token\":{},\"shrunk_token\":{},"
                           "\"explicit_decisions\":{},\"explicit_decisions_shrunk\":{},\"shrink_replays\":{},"
                           "\"shrunk_reproduces\":{},\"symptoms\":[{}],\"later_symptoms\":[{}],\"path\":[{}]}}\n",
                           json_quote(u.kind), json_quote(u.signature), json_quote(u.message), u.count, u.first_found_s,
                           u.first_execution, u.seed, json_quote(u.strategy), json_quote(u.token), json_quote(shrunk_token),
                           sh.explicit_before, sh.explicit_after, sh.replays, reproduced ? "true" : "false",
                           symptoms_json(u), later_symptoms_json(u), path_json));
  atomic_write(dir / "replay.token", shrunk_token + "\n");
  atomic_write(dir / "trace.json", sh.final_run.trace_json);
  std::string listing = fmt::format(
      "{} on {} ({}), variant {}\n{} forced decision(s) after shrinking (from {}), {} replays; "
      "a column per CPU, rows in execution order, each with its simulated time.\nreplay: p2pdma-sim replay {}\n\n",
      u.kind, sc.name, sc.file, o.variant.empty() ? "(base)" : o.variant, sh.explicit_after, sh.explicit_before,
      sh.replays, (dir / "replay.token").string());
  listing += render_interleaving(sc, sh.events);
  atomic_write(dir / "interleaving.txt", listing);
}

void write_known_tokens(const fs::path& out, const CampaignState& s) {
  if (s.known.empty()) return;
  make_output_dir(out / "known");
  for (const auto& [name, h] : s.known) atomic_write(out / "known" / (name + ".token"), h.token + "\n");
}

}  // namespace p2psim
