// The journal: an ordered, append-only log of opaque records (encoded JournalEntry values,
// see codec.h), each numbered by its position.
//
// The interface is deliberately small so that it can be backed by a local directory of
// segment files (FileJournal, file_journal.h) or by a replicated store.
//
// Positions are consecutive record numbers starting at 1 for a new journal; they survive
// restarts and truncation. A snapshot taken at position P covers every record < P, so
// recovery is: load the newest snapshot (position P, or 1 with no snapshot), then
// `ReadFrom(P, ...)` and apply each record.
//
// Implementations are not thread-safe: drive a journal from one thread.

#ifndef OMNIROUTE_DURABILITY_JOURNAL_H_
#define OMNIROUTE_DURABILITY_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace omniroute::durability {

class Journal {
 public:
  virtual ~Journal() = default;

  // Appends records (one batch, in order); returns the position of the first. Positions are
  // consecutive record numbers starting at 1 for a new journal. An empty batch appends
  // nothing and returns next_position(). Appended records are not durable until Sync().
  virtual absl::StatusOr<uint64_t> Append(absl::Span<const std::string> records) = 0;

  // Makes everything appended so far durable (fsync).
  virtual absl::Status Sync() = 0;

  // Calls `fn(position, record)` for every record at or after `position`, in order; stops at
  // the first error `fn` returns and returns it. `record` is valid only during the call.
  virtual absl::Status ReadFrom(
      uint64_t position, const std::function<absl::Status(uint64_t, absl::string_view)>& fn) = 0;

  // Drops records before `position` (whole segments only; may keep some).
  virtual absl::Status TruncateBefore(uint64_t position) = 0;

  // The position the next appended record will get.
  virtual uint64_t next_position() const = 0;
};

}  // namespace omniroute::durability

#endif  // OMNIROUTE_DURABILITY_JOURNAL_H_
