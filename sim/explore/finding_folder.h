// Copyright 2026 The p2pdma-sim authors. SPDX-License-Identifier: Apache-2.0
#pragma once
// A campaign's output folder: files written atomically, the finding
// folders (findings/NNN-KIND/) numbered in the order they are written, the
// known-bug tokens, and what a killed campaign left half written.
#include <filesystem>
#include <string>

#include "explore/campaign.h"
#include "explore/campaign_state.h"
#include "explore/runner.h"

namespace p2psim {

/// fs::create_directories() for a directory the user named: a path that
/// cannot be a directory (under a file, in /proc) is bad input (InputError).
void make_output_dir(const std::filesystem::path& dir);
/// write_file_atomically(); a file that cannot be written is bad input.
void atomic_write(const std::filesystem::path& path, const std::string& content);

/// "findings/007-premature_free": the folder of the @n-th bug written.
std::string finding_dir_name(size_t n, const std::string& kind);
/// Finding folders the checkpoint records: the next is numbered after them.
size_t folders_written(const CampaignState& st);

/**
 * forget_unfinished_output() - what a killed campaign left half done: the
 * temporaries of atomic writes, and (@resume) finding folders the
 * checkpoint does not record (it is written after a folder is complete).
 * They are written again, under the same number.
 */
void forget_unfinished_output(const std::filesystem::path& out, const CampaignState& st, bool resume);

/**
 * write_finding_dir() - shrink bug @u (unless --no-shrink) and write its
 * folder as the @n-th: finding.json, replay.token, trace.json and
 * interleaving.txt. An internal_error gets a folder without trace or
 * listing: its execution never finished.
 */
void write_finding_dir(CoroutineHost& host, const HardwareModules& hw, const Scenario& sc, const RunConfig& rc,
                       const CampaignOptions& o, const std::filesystem::path& out, UniqueFinding& u, size_t n);

/// DIR/known/NAME.token: a replayable example of each known bug.
void write_known_tokens(const std::filesystem::path& out, const CampaignState& s);

}  // namespace p2psim
