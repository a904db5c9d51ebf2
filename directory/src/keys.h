// The key layout of the directory's RocksDB store (docs/DIRECTORY.md draws it).
//
// One column family per kind of record, so that each gets the table options its access
// pattern wants (bloom filters for the point-lookup families, none for the history's range
// scans), and one WriteBatch still spans them all atomically (one write-ahead log).
//
//   meta          "schema"                        -> SchemaRecord
//                 "next_id/<prefix>"              -> Counter
//   customers     "<id>"                          -> CustomerRecord (or a redirect)
//   handles       "<kind>:<value>"                -> HandleRecord (the live customer id)
//   interactions  be64(session)                   -> InteractionRecord
//   history       "<id>\0" be64(~t) be64(~session) -> "" (t: ended_at, order-preserving)
//   engineers     "<id>"                          -> EngineerRecordValue
//
// ':' cannot occur in a handle kind and '\0' cannot occur in a customer id, so both
// separators are unambiguous; "<id>\0" as a prefix never matches a longer id.

#ifndef OMNIROUTE_DIRECTORY_SRC_KEYS_H_
#define OMNIROUTE_DIRECTORY_SRC_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "omniroute/directory/directory.h"

namespace omniroute::directory::internal {

inline constexpr char kCfMeta[] = "default";
inline constexpr char kCfCustomers[] = "customers";
inline constexpr char kCfHandles[] = "handles";
inline constexpr char kCfInteractions[] = "interactions";
inline constexpr char kCfHistory[] = "history";
inline constexpr char kCfEngineers[] = "engineers";

inline constexpr char kMetaSchemaKey[] = "schema";
// The layout version this code writes. A directory whose min_reader_version is above it is
// refused (written by a newer, incompatible version).
inline constexpr uint32_t kSchemaVersion = 1;
std::string CounterKey(absl::string_view prefix);

std::string HandleKey(const Handle& handle);
std::string SessionKey(uint64_t session);

// "<id>\0": every history key of customer `id` starts with it.
std::string HistoryPrefix(absl::string_view customer);
std::string HistoryKey(absl::string_view customer, int64_t ended_at_ns, uint64_t session);
// The part of a history key after its prefix (16 bytes), and back.
std::string HistorySuffix(int64_t ended_at_ns, uint64_t session);
struct HistoryPosition {
  int64_t ended_at_ns = 0;
  uint64_t session = 0;
};
std::optional<HistoryPosition> ParseHistorySuffix(absl::string_view suffix);

void AppendBigEndian64(std::string& out, uint64_t v);
uint64_t ReadBigEndian64(const char* p);

// absl::Time <-> the stored nanoseconds (see directory_records.proto). `has` false is
// InfinitePast.
struct StoredTime {
  bool has = false;
  int64_t ns = 0;
};
StoredTime EncodeTime(absl::Time t);
absl::Time DecodeTime(bool has, int64_t ns);
// Finite times the directory accepts in interactions and ratings: 1970-01-01 up to 2200.
bool IsStorableTime(absl::Time t);

}  // namespace omniroute::directory::internal

#endif  // OMNIROUTE_DIRECTORY_SRC_KEYS_H_
