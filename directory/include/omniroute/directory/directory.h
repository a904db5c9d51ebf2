// The customer directory: one customer across every channel.
//
// A customer is one person however they reach the service centre. Their channel handles (a
// phone number, a WeChat openid, an app account, a Weibo id, a device id) resolve to one
// customer record; handles can be linked and moved, and two customers found to be the same
// person can be merged (handles, history and favourites follow the survivor). An unknown
// handle can create a customer on first contact. The directory also keeps every customer's
// interaction history across channels (newest first, paged) and every engineer's rating
// record, from which ranking.h computes points and tiers.
//
// The directory is an embedded RocksDB store in a directory of its own (the daemon uses
// <data_dir>/directory): hundreds of millions of customers, far beyond memory, durable across
// restarts. docs/DIRECTORY.md describes the key layout and the figures.
//
//   directory::Options options;
//   absl::StatusOr<std::unique_ptr<directory::Directory>> dir =
//       directory::Directory::Open("/var/lib/omniroute/directory", options);
//   if (!dir.ok()) return dir.status();
//   absl::StatusOr<directory::Directory::Resolved> r =
//       (*dir)->Resolve({"phone", "+8613800138000"}, /*create=*/true, absl::Now());
//   // r->customer.id is "cust-1" the first time, the same customer every time after.
//
// Threads. A Directory is safe for concurrent use from any number of threads without
// external synchronization. Reads (Get, Resolve of a known handle, GetInteraction,
// ListInteractions, GetEngineer, ListEngineers, ApproximateCustomerCount) take no lock of the
// directory's own and run in parallel. Every mutation is atomic with respect to every other:
// it holds striped locks on the records it reads and writes (customer ids, handles, sessions,
// engineers) while it reads them, decides and writes, so that e.g. two concurrent
// Resolve(create) of the same unknown handle create one customer, and a Merge never loses an
// interaction recorded at the same time. Mutations on unrelated records run in parallel (and
// their synced writes share fsyncs: RocksDB's group commit). A read sees every mutation that
// returned before it started; it may or may not see one that is in flight. The Directory must
// outlive every call on it: destroy it only when no call is running.
//
// Atomicity and durability. Every mutation is one RocksDB WriteBatch: all of it or nothing
// survives a crash. With Options::sync_writes (the default) the write-ahead log is fsync'ed
// before the mutation returns; without it a process crash loses nothing (the log is in the
// kernel) but a power failure may lose the latest mutations (Sync() bounds that).
//
// Errors. INVALID_ARGUMENT names the field ("handle.kind: ...", "update.vip_level: must be
// 0..9") and nothing is changed. Every other error says which customer, handle or session it
// is about. I/O errors come back as INTERNAL (DATA_LOSS for a corrupt record,
// RESOURCE_EXHAUSTED for a full disk).

#ifndef OMNIROUTE_DIRECTORY_DIRECTORY_H_
#define OMNIROUTE_DIRECTORY_DIRECTORY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace omniroute::directory {

// A customer's address on one channel. `kind`: 1..32 of [a-z0-9_.-] ("phone", "wechat",
// "app", "weibo", "device", "email"); `value`: 1..256 printable ASCII characters without
// space (0x21..0x7e). The directory stores handles as given: normalize them (e.g. E.164
// phone numbers) before they get here.
struct Handle {
  std::string kind;
  std::string value;

  friend bool operator==(const Handle&, const Handle&) = default;
};
// Ordered by (kind, value): the order of Customer::handles.
bool operator<(const Handle& a, const Handle& b);

// OK, or INVALID_ARGUMENT naming `field` ("handle.kind: ...", "handle.value: ...").
absl::Status ValidateHandle(const Handle& h, absl::string_view field);

// A customer record as the directory keeps it.
struct Customer {
  // Created ones: Options::id_prefix + a decimal counter ("cust-1"); or an operator-chosen id
  // (1..128 of A-Z a-z 0-9 . _ - : / @ +, see omniroute::ValidateName).
  std::string id;
  std::string display_name;       // up to 256 bytes of UTF-8, no control characters
  int vip_level = 0;              // 0..9
  std::vector<std::string> tags;  // sorted, unique; each 1..128 printable ASCII (0x20..0x7e)
  std::string language;           // up to 32 of [A-Za-z0-9_-] ("zh-CN"); "" unknown
  std::vector<Handle> handles;    // sorted by (kind, value)
  // Most recently favourited first, at most kMaxFavourites.
  std::vector<std::string> favourite_engineers;
  std::string last_engineer;  // who served the customer last, on any channel ("" none)
  absl::Time last_engineer_at = absl::InfinitePast();
  std::string last_channel;  // the channel of that session
  int64_t interactions = 0;  // recorded sessions
  // Ids merged into this one, directly or through a customer merged into this one, in the
  // order they were merged. Each of them resolves (Get) to this customer.
  std::vector<std::string> merged_from;
  absl::Time created_at = absl::InfinitePast();
  absl::Time updated_at = absl::InfinitePast();
};

inline constexpr size_t kMaxFavourites = 64;
// Sanity bounds on one record, so that a runaway client cannot make one customer's record
// (read on every Resolve) grow without end. RESOURCE_EXHAUSTED past them, nothing changed.
inline constexpr size_t kMaxHandlesPerCustomer = 1024;
inline constexpr size_t kMaxTagsPerCustomer = 256;

// A change to a customer. Unset optionals leave the field unchanged. Applied in this order:
// tags (replaces), then add_tags, then remove_tags.
struct CustomerUpdate {
  std::optional<std::string> display_name;
  std::optional<int> vip_level;
  std::optional<std::vector<std::string>> tags;  // replaces; duplicates are folded
  std::vector<std::string> add_tags;
  std::vector<std::string> remove_tags;  // absent tags are ignored
  std::optional<std::string> language;
};

// How a session ended (the router's terminal states).
enum class Outcome { kCompleted = 1, kAbandoned = 2, kCancelled = 3, kOverflowed = 4 };

// A customer's rating of a completed session.
struct Rating {
  int stars = 0;                  // 1..5
  std::vector<std::string> tags;  // each 1..64 printable ASCII, at most 64; duplicates folded
  bool favourite = false;         // the engineer becomes the customer's first favourite
  int64_t tip_cents = 0;          // 0..100000000
  absl::Time at = absl::InfinitePast();  // when it was given (finite)
};

// One finished session in the history.
struct Interaction {
  uint64_t session = 0;  // the router's session id, unique, not 0
  // The customer it belongs to: as recorded, then the survivor once that customer is merged.
  std::string customer;
  std::string channel;   // required
  std::string queue;     // "" when it never reached a queue (a bot-only session)
  std::string engineer;  // "" when nobody served it
  std::string intent;    // ""
  absl::Time created_at = absl::InfinitePast();   // finite
  absl::Time answered_at = absl::InfinitePast();  // InfinitePast: never answered
  absl::Time ended_at = absl::InfinitePast();     // finite, >= created_at (and answered_at)
  Outcome outcome = Outcome::kCompleted;
  absl::Duration handle_time = absl::ZeroDuration();  // >= 0
  std::optional<Rating> rating;                       // set by Rate only
};

// An engineer's running record: what the ranking (ranking.h) is computed from.
struct EngineerRecord {
  std::string id;
  int64_t handled = 0;  // completed sessions
  absl::Duration handle_time_total = absl::ZeroDuration();
  int64_t ratings = 0;
  int64_t stars_total = 0;
  int64_t good_ratings = 0;  // stars >= 4
  int64_t favourites = 0;
  int64_t tips = 0;  // ratings with a tip
  int64_t tip_cents_total = 0;
  std::vector<std::pair<std::string, int64_t>> tag_counts;  // sorted by tag

  // 0 when there is nothing to divide by.
  double average_stars() const;
  double good_rating_rate() const;
  double tip_rate() const;  // tips / ratings
  absl::Duration average_handle_time() const;
  // The `n` most counted tags, most counted first, ties by tag.
  std::vector<std::pair<std::string, int64_t>> TopTags(size_t n) const;
};

struct Options {
  // The LRU block cache shared by every column family (data, index and filter blocks).
  size_t block_cache_bytes = 256 << 20;
  // Every mutation is fsync'ed (the write-ahead log) before it returns.
  bool sync_writes = true;
  // Prefix of the ids of customers Resolve creates.
  std::string id_prefix = "cust-";
  // Keep everything in memory (RocksDB's in-memory environment): nothing touches the disk
  // and everything is gone when the Directory is destroyed. For a daemon without durability
  // and for tests; `path` is then only a name.
  bool in_memory = false;
};

// The directory. See the top of this file for the threading contract.
class Directory {
 public:
  // Opens the directory at `path`, creating it (and its parents) if missing.
  // FAILED_PRECONDITION naming `path` if another process (or another Directory of this
  // process) holds it; INVALID_ARGUMENT for a bad option ("options.id_prefix: ...");
  // FAILED_PRECONDITION if the directory was written by a newer, incompatible version.
  static absl::StatusOr<std::unique_ptr<Directory>> Open(const std::string& path,
                                                         const Options& options);

  // Closes the store. Writes that returned are durable per Options::sync_writes.
  ~Directory();
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  struct Resolved {
    Customer customer;
    bool created = false;
  };
  // The customer `handle` belongs to: two point reads (handle -> id, id -> record). Unknown
  // handle: with `create`, a new customer holding it (created = true, id from
  // Options::id_prefix and a counter, created_at = now); otherwise NOT_FOUND.
  absl::StatusOr<Resolved> Resolve(const Handle& handle, bool create, absl::Time now);

  // The customer `id`; an id merged into another resolves to the survivor. NOT_FOUND if none.
  absl::StatusOr<Customer> Get(absl::string_view id);

  // Applies `update` to customer `id` (or the survivor it was merged into). With
  // create_if_missing an unknown id is first created with that (operator-chosen) id;
  // otherwise NOT_FOUND. INVALID_ARGUMENT naming the field for bad values
  // ("update.vip_level: must be 0..9", "update.add_tags[2]: ..."): the record is unchanged.
  absl::StatusOr<Customer> Update(absl::string_view id, const CustomerUpdate& update,
                                  bool create_if_missing, absl::Time now);

  // Links `handle` to customer `id` (or its survivor). Already on it: unchanged. On another
  // customer: FAILED_PRECONDITION naming that customer, unless `move` (then it is moved,
  // in the same write). NOT_FOUND if `id` is unknown.
  absl::StatusOr<Customer> LinkHandle(absl::string_view id, const Handle& handle, bool move,
                                      absl::Time now);
  // Unlinks `handle` from customer `id` (or its survivor): it becomes unknown. NOT_FOUND if
  // `id` is unknown or the handle is not on it.
  absl::StatusOr<Customer> UnlinkHandle(absl::string_view id, const Handle& handle, absl::Time now);

  // Merges customer `absorbed` into `survivor` (either may be given by an id merged earlier;
  // the live customers are merged) and returns the survivor:
  //   handles: union (absorbed's now resolve to the survivor);
  //   tags: union; vip_level: max; display_name, language: survivor's unless empty;
  //   favourites: survivor's first, then absorbed's, deduplicated, at most kMaxFavourites;
  //   last engineer/time/channel: the more recent; interactions: the sum, and the
  //   interactions themselves list under the survivor (ordered by time as always, their
  //   `customer` now the survivor); merged_from: survivor's, absorbed, absorbed's;
  //   created_at: the earlier.
  // `absorbed` and every id merged into it then resolve (Get) to the survivor.
  // INVALID_ARGUMENT when both are the same customer; NOT_FOUND naming the missing one.
  // Atomic (one WriteBatch), however long the absorbed customer's history.
  absl::StatusOr<Customer> Merge(absl::string_view survivor, absl::string_view absorbed,
                                 absl::Time now);

  // Records a finished session. Idempotent by session: recording a session already recorded
  // changes nothing and returns false (a restart replays the router's events), whatever the
  // rest of `interaction` says. Returns true when recorded. NOT_FOUND for an unknown customer
  // (a merged id is recorded under the survivor). Updates the customer's interactions count,
  // its last engineer/time/channel (when the session had an engineer and ended after the
  // current last), its updated_at (to the latest ended_at), and for outcome kCompleted with
  // an engineer the engineer's handled count and handle time. INVALID_ARGUMENT naming
  // "interaction.<field>" for bad values; `rating` must be unset (Rate sets it).
  // `sync` false writes without an fsync even when Options::sync_writes is on: for callers
  // that can record the session again after a crash (the daemon replays its journal), then
  // call Sync() before they forget it.
  absl::StatusOr<bool> RecordInteraction(const Interaction& interaction, bool sync = true);

  struct RateResult {
    Interaction interaction;
    EngineerRecord engineer;
  };
  // Rates a recorded session. INVALID_ARGUMENT naming "rating.stars" (1..5),
  // "rating.tags[i]", "rating.tip_cents" (0..100000000), "rating.at" (finite); NOT_FOUND if
  // the session is unknown; FAILED_PRECONDITION if it was not completed by an engineer;
  // ALREADY_EXISTS if already rated. Updates the interaction, the engineer's record and,
  // with `favourite`, the customer's favourites (the engineer moved to the front),
  // atomically.
  absl::StatusOr<RateResult> Rate(uint64_t session, const Rating& rating);

  // The recorded session, or nullopt.
  absl::StatusOr<std::optional<Interaction>> GetInteraction(uint64_t session);

  struct InteractionPage {
    std::vector<Interaction> interactions;
    std::string next_page_token;  // "" on the last page
  };
  // Customer `customer`'s interactions (with those of every customer merged into it), newest
  // first by (ended_at, session), across every channel. page_size 0 means 50; capped at 1000.
  // `page_token`: "" for the first page, else the next_page_token of the previous page of
  // this listing (a token of another customer's listing, or garbage: INVALID_ARGUMENT
  // "page_token: ..."). Tokens survive restarts; interactions recorded between pages show up
  // only if they sort after the page boundary. NOT_FOUND for an unknown customer.
  absl::StatusOr<InteractionPage> ListInteractions(absl::string_view customer, size_t page_size,
                                                   absl::string_view page_token);

  // Engineer `id`'s record; an all-zero record (with `id`) if none yet.
  absl::StatusOr<EngineerRecord> GetEngineer(absl::string_view id);
  // Every engineer with a record, sorted by id.
  absl::StatusOr<std::vector<EngineerRecord>> ListEngineers();

  // Makes every write so far durable (syncs the write-ahead log).
  absl::Status Sync();

  // RocksDB's estimate of the number of customer records (merged ids count too), for stats.
  uint64_t ApproximateCustomerCount();

  // Compacts every column family down to its last level (after a bulk import, before serving
  // or measuring reads: point lookups then probe one sorted run). Slow (minutes at 10^7
  // customers); other calls keep working meanwhile.
  absl::Status CompactAll();

  // Bulk load for benchmarks and imports: writes `customers` with their handles, in batches
  // without a sync each (the log is synced once at the end). Far faster than
  // Resolve(create) one by one. Every customer is validated first (INVALID_ARGUMENT naming
  // "customers[i].<field>"); ALREADY_EXISTS if an id or a handle exists already or twice.
  // `merged_from` must be empty. Not atomic as a whole: after a failure or a crash, a prefix
  // of whole batches may be there. Ids of the form id_prefix + number move the counter past
  // them, so Resolve never creates a loaded id again.
  absl::Status BulkLoad(const std::vector<Customer>& customers);

 private:
  struct Impl;
  explicit Directory(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace omniroute::directory

#endif  // OMNIROUTE_DIRECTORY_DIRECTORY_H_
