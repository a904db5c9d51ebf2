// Internal: the engine snapshot format (see snapshot.cc and docs/ARCHITECTURE.md,
// "Snapshots"). `Engine::SaveSnapshot` / `Engine::LoadSnapshot` are the public entry points;
// this header is for the engine's own tests and fuzz targets.

#ifndef OMNIROUTE_ENGINE_SRC_SNAPSHOT_H_
#define OMNIROUTE_ENGINE_SRC_SNAPSHOT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "state.h"

namespace omniroute::internal {

// Layout: magic (6 bytes) | version (fixed32) | body length (fixed64) | body | checksum
// (fixed64: XXH64, seed 0, of everything before it). All fixed-width integers little-endian.
inline constexpr absl::string_view kSnapshotMagic = "ORSNAP";
// The version WriteSnapshot writes, and the oldest ReadSnapshot still reads (version 1 is
// version 2 without customer rule conditions and minimum tiers, appointment windows and
// priorities, assignment times and callbacks).
inline constexpr uint32_t kSnapshotVersion = 2;
inline constexpr uint32_t kOldestSnapshotVersion = 1;
inline constexpr size_t kSnapshotHeaderSize = 6 + 4 + 8;
inline constexpr size_t kSnapshotTrailerSize = 8;

// Serializes the whole state (not the matcher's indexes, not the timer heap's stale
// entries). No locks, no threads, no logging: callable in a forked child.
std::string WriteSnapshot(const State& state);

// Parses and checks a snapshot into a new State that has no matcher yet (the caller attaches
// one with AttachMatcher). Never touches anything but `bytes` and the new state.
absl::StatusOr<std::unique_ptr<State>> ReadSnapshot(absl::string_view bytes);

// Gives `state` the matcher and tells it of every queue, engineer and QUEUED session.
void AttachMatcher(State& state, std::unique_ptr<Matcher> matcher);

// XXH64 with seed 0.
uint64_t Xxh64(absl::string_view data);

// Rewrites the body length and the checksum of `bytes` (at least header + trailer long) to
// match its contents, so that tests and fuzz targets can reach the structural checks with
// arbitrary bodies.
void ResealSnapshot(std::string* bytes);

}  // namespace omniroute::internal

#endif  // OMNIROUTE_ENGINE_SRC_SNAPSHOT_H_
