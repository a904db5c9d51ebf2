// Snapshot files: the engine's state at a journal position, written atomically.
//
// A snapshot at position P covers every journal record < P: recovery loads the newest valid
// snapshot and replays the journal from P. The bytes are opaque here (the engine's snapshot
// encoding).
//
//   absl::Status s = WriteSnapshotFile(dir, journal->next_position(), engine_bytes);
//   ...
//   absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir);
//   uint64_t replay_from = loaded->snapshot ? loaded->snapshot->position : 1;
//   for (const std::string& why : loaded->skipped) LOG(WARNING) << why;
//
// On disk (all integers little-endian):
//
//   <dir>/snapshot-<position, 20 digits>.snap
//     header, 40 bytes:  "OMRSNAP1" (8 bytes)     u32 format version (1)
//                        u64 position             u64 length of the bytes
//                        u32 masked CRC32C of the bytes
//                        u32 reserved (0)         u32 masked CRC32C of the 36 bytes before it
//     then the bytes.
//
// Writing goes through `snapshot-<position>.snap.tmp` (written, fsync'ed, renamed, directory
// fsync'ed), so a crash leaves either the old set of snapshots or the new one, never a
// half-written `.snap`. Leftover `.tmp` files are ignored by LoadNewestSnapshot and removed
// by the next WriteSnapshotFile.

#ifndef OMNIROUTE_DURABILITY_SNAPSHOT_FILE_H_
#define OMNIROUTE_DURABILITY_SNAPSHOT_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omniroute::durability {

// Writes the snapshot at `position` (>= 1) into `dir` (which must exist) as described
// above, then removes every older snapshot except the newest one older than `position` (so
// that a snapshot found damaged later still has a fallback) and leftover temporary files of
// older positions. A snapshot already at `position` is replaced. INVALID_ARGUMENT for
// position 0, or the I/O error.
absl::Status WriteSnapshotFile(const std::string& dir, uint64_t position, absl::string_view bytes);

struct SnapshotFile {
  uint64_t position = 0;
  std::string bytes;
  std::string path;
};

struct LoadedSnapshot {
  // The newest valid snapshot, if any.
  std::optional<SnapshotFile> snapshot;
  // One line per newer snapshot file that was skipped as invalid, naming the file and the
  // problem ("snapshot-...-.snap: checksum mismatch"), newest first.
  std::vector<std::string> skipped;
};

// The newest snapshot in `dir` whose header and checksum are valid. A file whose contents
// are invalid (bad magic, header checksum, position not matching the name, length not
// matching the file, bytes checksum) is skipped and listed in `skipped`; an I/O error
// (a file that cannot be opened or read) fails the call. A missing `dir` holds no
// snapshots. FAILED_PRECONDITION for a snapshot format version this build does not read.
absl::StatusOr<LoadedSnapshot> LoadNewestSnapshot(const std::string& dir);

// The oldest valid snapshot in `dir` whose position is at least `position` (invalid ones
// are skipped and listed, as above): where a tool that reads the whole journal kept (which
// starts at or before the older of the two snapshots kept) starts from. Errors as above.
absl::StatusOr<LoadedSnapshot> LoadOldestSnapshotFrom(const std::string& dir, uint64_t position);

// omnirouted's snapshot bytes hold two parts: the engine's snapshot (Engine::SaveSnapshot)
// and the daemon's own state (a serialized omniroute.internal.DaemonState), as
//
//   u64 little-endian length of the engine's part, the engine's part, the daemon's part.
//
// JoinSnapshotParts builds them; SplitSnapshotParts takes them apart (views into `bytes`),
// DATA_LOSS when the length runs past the end.
std::string JoinSnapshotParts(absl::string_view engine, absl::string_view daemon);
struct SnapshotParts {
  absl::string_view engine;
  absl::string_view daemon;
};
absl::StatusOr<SnapshotParts> SplitSnapshotParts(absl::string_view bytes);

}  // namespace omniroute::durability

#endif  // OMNIROUTE_DURABILITY_SNAPSHOT_FILE_H_
