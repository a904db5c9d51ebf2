// The journal's record format: one accepted command with the time it was applied at.
//
// The engine is deterministic, so replaying the commands it accepted, at the times it
// accepted them, rebuilds its state exactly. A `JournalEntry` is one such command, plus the
// idempotency key of the request that carried it so that a retry arriving after a restart is
// still recognised.
//
//   JournalEntry entry{.at = now, .command = CreateSession{...}, .request_id = "r-17"};
//   std::string record = EncodeEntry(entry);            // append to the journal
//   absl::StatusOr<JournalEntry> back = DecodeEntry(record);
//
// Encoding (format version 2), all integers little-endian:
//
//   u8       format version (2; version 1 is still read, see below)
//   varint   command tag: 1 UpsertChannel, 2 UpsertQueue, 3 RemoveQueue, 4 UpsertEngineer,
//            5 RemoveEngineer, 6 SetPresence, 7 CreateSession, 8 CancelSession,
//            9 EscalateSession, 10 AcceptOffer, 11 RejectOffer, 12 ClaimOffer,
//            13 CompleteSession, 14 EndWrapUp, 15 TransferSession, 16 SetEngineerRank,
//            17 RequestCallback (tags are stable; they are not the variant's index)
//   time     at
//   string   request_id
//   fixed64  request_fingerprint
//   ...      the command's fields, in declaration order, without names or tags
//
// Field encodings: `int`, `int64_t` and enums are zigzag varints (enums by their numeric
// value); `uint64_t` and SessionId are varints; `bool` is one byte, 0 or 1; `double` is its
// IEEE-754 bit pattern as fixed64; strings and ids are a varint length and the bytes;
// an optional is a bool byte (present or not) followed by the value when present;
// vectors are a varint count and the elements; a pair is its two members; a nested struct
// is its fields. A duration is (zigzag varint seconds, varint quarter-nanoseconds in
// [0, 4e9)): exact for every absl::Duration; +/-infinity is (1 / -1, 4e9). A time is the
// duration since the Unix epoch. The whole input must be consumed.
//
// Version history. Version 2 added: TagRule.name, .min_vip_level, .language (between `tag`
// and `priority_boost`) and .min_tier (last); QueueConfig.appointment_priority (after
// `tag_rules`); CreateSession.window_start and .window_end (last); the commands
// SetEngineerRank (16) and RequestCallback (17). A version 1 entry is read without those
// fields (they keep their defaults: no window, appointment_priority 800, rules with only a
// tag condition) and cannot hold tags 16 or 17.
//
// Adding a field to a command or to a struct a command holds is a compile error in codec.cc
// until the codec lists it (field counts are checked with static_assert); changing the
// encoding means a new format version, and the decoder keeps reading the old ones.

#ifndef OMNIROUTE_DURABILITY_CODEC_H_
#define OMNIROUTE_DURABILITY_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "omniroute/command.h"

namespace omniroute::durability {

// The entry format version EncodeEntry writes.
inline constexpr uint8_t kEntryFormatVersion = 2;
// The oldest entry format version DecodeEntry still reads.
inline constexpr uint8_t kOldestEntryFormatVersion = 1;

struct JournalEntry {
  // The time the command was applied at (the `now` handed to Engine::Apply).
  absl::Time at;
  Command command;
  // The idempotency key of the request that carried the command ("" if none), and a
  // fingerprint of the request's contents, so a retry can be told from a different request
  // reusing the key.
  std::string request_id;
  uint64_t request_fingerprint = 0;
};

// The entry in the format above. Never fails: every value of every field is representable.
std::string EncodeEntry(const JournalEntry& entry);

// Decodes what EncodeEntry produced. Safe on arbitrary bytes: it never reads outside
// `data`, never allocates more than a small multiple of `data.size()`, and fails with
//   - INVALID_ARGUMENT for an entry format version this build does not read;
//   - DATA_LOSS for anything else that is wrong (truncation, an unknown command tag, an
//     over-long varint, a value out of range for its field, a bool other than 0 or 1,
//     trailing bytes), naming the field (for example
//     "CreateSession.customer.tags[2]") and the byte offset.
absl::StatusOr<JournalEntry> DecodeEntry(absl::string_view data);

}  // namespace omniroute::durability

#endif  // OMNIROUTE_DURABILITY_CODEC_H_
