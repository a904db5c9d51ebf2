// FileJournal: the Journal in a local directory of append-only segment files.
//
//   FileJournalOptions options;                    // 64 MiB segments, fsync every batch
//   absl::StatusOr<std::unique_ptr<FileJournal>> journal = FileJournal::Open(dir, options);
//   if (journal.ok() && (*journal)->open_report().dropped_bytes > 0) {
//     LOG(WARNING) << (*journal)->open_report().detail;   // a torn tail was cut off
//   }
//   absl::StatusOr<uint64_t> first = (*journal)->Append(records);   // one batch
//   absl::Status synced = (*journal)->MaybeSync(now);               // per the policy
//
// On disk (all integers little-endian):
//
//   <dir>/journal-<position of its first record, 20 digits>.log
//     header, 24 bytes:  "OMRJRNL1" (8 bytes)  u32 format version (1)
//                        u64 first position    u32 masked CRC32C of the 20 bytes before it
//     then records:      u32 payload length    u32 masked CRC32C of (length bytes + payload)
//                        payload
//
// A batch is one write(2) and never spans two segments. When appending a batch would take
// the current segment past `max_segment_bytes` (and it holds at least one record), the
// segment is finished: it is fdatasync'ed, whatever the policy, and a new one is created
// (written as `.log.tmp`, fdatasync'ed, renamed, directory fsync'ed). So only the last
// segment can end in a torn record, and every segment that exists has a complete header.
//
// Open scans every segment and verifies every record:
//   - a torn or corrupt record at the tail of the last segment, with no valid record after
//     it, is what a crash leaves behind: it is cut off (ftruncate + fdatasync) and reported
//     in `open_report()` ("dropped N bytes at the tail");
//   - anything else fails Open with DATA_LOSS naming the file and the byte offset, and
//     changes nothing: a corrupt record followed by a valid one (in any segment), a corrupt
//     record in a segment that is not the last, a bad segment header, a segment whose
//     records do not lead exactly to the next segment's first position (a missing or
//     overlapping segment). Recovery never guesses.
//   Leftover `.log.tmp` files (a crash while creating a segment) are removed.
// A missing *last* segment cannot be told from a shorter journal; compare the newest
// snapshot's position with next_position() to catch it.
//
// Durability follows `sync_policy`, applied by MaybeSync(now), which the embedding program
// calls after each batch (and from a timer with kInterval, at SyncDeadline()). Sync() always
// fdatasyncs. A failed write is cut back off the file; a failed fdatasync, or a write that
// cannot be cut back, leaves the journal broken: every later call returns that error
// (after a failed fsync the kernel may have dropped the data, so retrying would lie).
//
// Not thread-safe. The directory must be used by one FileJournal at a time (see
// lock_file.h).

#ifndef OMNIROUTE_DURABILITY_FILE_JOURNAL_H_
#define OMNIROUTE_DURABILITY_FILE_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "omniroute/durability/journal.h"

namespace omniroute::durability {

enum class SyncPolicy {
  // MaybeSync syncs whenever something was appended since the last sync: an acknowledged
  // batch survives a power failure.
  kEveryBatch,
  // MaybeSync syncs when `sync_interval` has passed since the last sync it made: a power
  // failure may lose up to the interval's worth of batches (a process crash loses nothing).
  kInterval,
  // MaybeSync never syncs (the kernel writes back when it likes); Sync() still does.
  kNever,
};

struct FileJournalOptions {
  // A segment is finished once appending the next batch would take it past this size.
  uint64_t max_segment_bytes = uint64_t{64} << 20;
  // The largest record Append accepts (at most 4 GiB - 1). Reading accepts any record.
  uint64_t max_record_bytes = uint64_t{64} << 20;
  SyncPolicy sync_policy = SyncPolicy::kEveryBatch;
  // For kInterval; must be positive.
  absl::Duration sync_interval = absl::Milliseconds(100);
};

// What Open found.
struct OpenReport {
  // Records in the journal after Open (over all segments kept).
  uint64_t records = 0;
  // Bytes cut off the tail of the last segment (a torn or corrupt final record).
  uint64_t dropped_bytes = 0;
  // Empty when nothing was repaired; otherwise one sentence per repair, for the log:
  // "journal-00000000000000000001.log: dropped 13 bytes at the tail from offset 4096
  // (record length 200 runs past the end of the file)".
  std::string detail;
};

class FileJournal final : public Journal {
 public:
  // Opens (creating `dir` and a first segment if needed) and recovers the journal in `dir`.
  // INVALID_ARGUMENT for bad options, DATA_LOSS for corruption (see above), or the I/O error.
  static absl::StatusOr<std::unique_ptr<FileJournal>> Open(
      const std::string& dir, const FileJournalOptions& options = FileJournalOptions());

  // Opens the journal in `dir` for reading only, e.g. by a tool while the daemon that owns
  // the directory keeps appending (no lock is taken). Nothing on disk changes: a torn or
  // corrupt record at the tail of the last segment is where reading stops (reported in
  // `open_report()` as for Open, "dropped" meaning "not read"), leftover temporary files
  // stay. Records appended after the open are not seen. NOT_FOUND when `dir` does not
  // exist; DATA_LOSS for corruption as Open. Append, Sync, MaybeSync and TruncateBefore
  // return FAILED_PRECONDITION.
  static absl::StatusOr<std::unique_ptr<FileJournal>> OpenReadOnly(const std::string& dir);

  FileJournal(const FileJournal&) = delete;
  FileJournal& operator=(const FileJournal&) = delete;
  // Closes the files without syncing: call Sync() first to make the tail durable.
  ~FileJournal() override;

  // Journal. Append refuses (INVALID_ARGUMENT, nothing written) a record larger than
  // `max_record_bytes`. ReadFrom verifies every checksum again (DATA_LOSS naming the file
  // and offset) and returns OUT_OF_RANGE for a position before first_position() or after
  // next_position(). TruncateBefore never removes the last segment.
  absl::StatusOr<uint64_t> Append(absl::Span<const std::string> records) override;
  absl::Status Sync() override;
  absl::Status ReadFrom(
      uint64_t position,
      const std::function<absl::Status(uint64_t, absl::string_view)>& fn) override;
  absl::Status TruncateBefore(uint64_t position) override;
  uint64_t next_position() const override { return next_position_; }

  // Syncs if the policy says so at `now` (see SyncPolicy). Call after every batch.
  absl::Status MaybeSync(absl::Time now);
  // With kInterval and unsynced records: when MaybeSync will next sync (call it then, so a
  // quiet period does not leave the tail unsynced). Otherwise absl::InfiniteFuture().
  absl::Time SyncDeadline() const;
  // Whether records were appended since the last sync.
  bool has_unsynced_records() const { return unsynced_; }
  // How many times the journal fdatasync'ed its last segment for Sync/MaybeSync.
  uint64_t sync_count() const { return sync_count_; }

  // The position of the oldest record kept (== next_position() when there is none).
  uint64_t first_position() const;
  const OpenReport& open_report() const { return report_; }
  const std::string& dir() const { return dir_; }
  // The segment files, oldest first (file names, not paths).
  std::vector<std::string> segment_names() const;

 private:
  struct Segment {
    uint64_t first_position;
    std::string path;
  };

  FileJournal(std::string dir, const FileJournalOptions& options);

  absl::Status Recover();
  absl::Status CreateSegment(uint64_t first_position);
  absl::Status Rotate();
  absl::Status Fail(absl::Status status);

  std::string dir_;
  FileJournalOptions options_;
  std::vector<Segment> segments_;  // oldest first; the last one is appended to
  int fd_ = -1;                    // the last segment, O_WRONLY | O_APPEND
  uint64_t active_bytes_ = 0;      // size of the last segment
  uint64_t active_records_ = 0;    // records in the last segment
  uint64_t next_position_ = 1;
  bool unsynced_ = false;
  uint64_t sync_count_ = 0;
  absl::Time last_sync_ = absl::InfinitePast();
  absl::Status broken_;
  // Opened with OpenReadOnly: nothing on disk changes.
  bool read_only_ = false;
  OpenReport report_;
};

}  // namespace omniroute::durability

#endif  // OMNIROUTE_DURABILITY_FILE_JOURNAL_H_
