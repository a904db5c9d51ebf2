#include "omniroute/directory/directory.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "convert.h"
#include "directory_records.pb.h"
#include "keys.h"
#include "lock_table.h"
#include "page_token.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/iterator.h"
#include "rocksdb/slice.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/write_batch.h"
#include "store_options.h"
#include "validate.h"

namespace omniroute::directory {

namespace {

using internal::Counter;
using internal::CustomerRecord;
using internal::EngineerRecordValue;
using internal::HandleRecord;
using internal::InteractionRecord;
using internal::LockKeys;
using internal::LockKind;
using internal::LockSet;
using internal::SchemaRecord;

constexpr int kMaxRedirectHops = 16;
constexpr size_t kDefaultPageSize = 50;
constexpr size_t kMaxPageSize = 1000;
constexpr size_t kBulkBatch = 4096;

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat("directory: ", context, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(message);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

Counter CounterRecordFor(uint64_t next) {
  Counter c;
  c.set_next(next);
  return c;
}

std::string HandleName(const Handle& h) { return absl::StrCat(h.kind, ":", h.value); }

absl::Status CustomerNotFound(absl::string_view field, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(field, ": customer ", id, " not found"));
}

// The number of `id` if it is `prefix` followed by a decimal counter value.
std::optional<uint64_t> CounterValue(absl::string_view prefix, absl::string_view id) {
  if (!absl::StartsWith(id, prefix)) return std::nullopt;
  absl::string_view digits = id.substr(prefix.size());
  if (digits.empty() || digits.size() > 19 || (digits.size() > 1 && digits[0] == '0')) {
    return std::nullopt;
  }
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(digits, &n)) return std::nullopt;
  return n;
}

// A WriteBatch that remembers the first failed Put/Delete.
class Batch {
 public:
  template <typename Msg>
  void Put(rocksdb::ColumnFamilyHandle* cf, absl::string_view key, const Msg& msg) {
    std::string value;
    if (!msg.SerializeToString(&value)) {
      Note(rocksdb::Status::InvalidArgument("record does not serialize"));
      return;
    }
    Note(batch_.Put(cf, ToSlice(key), ToSlice(value)));
  }
  void PutRaw(rocksdb::ColumnFamilyHandle* cf, absl::string_view key, absl::string_view value) {
    Note(batch_.Put(cf, ToSlice(key), ToSlice(value)));
  }
  void Delete(rocksdb::ColumnFamilyHandle* cf, absl::string_view key) {
    Note(batch_.Delete(cf, ToSlice(key)));
  }
  rocksdb::WriteBatch* batch() { return &batch_; }
  const rocksdb::Status& status() const { return status_; }

 private:
  void Note(const rocksdb::Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  rocksdb::WriteBatch batch_;
  rocksdb::Status status_;
};

// Customer helpers (the record's vectors are kept sorted and bounded).
bool AddHandle(Customer& c, const Handle& h) {
  auto it = std::lower_bound(c.handles.begin(), c.handles.end(), h);
  if (it != c.handles.end() && *it == h) return false;
  c.handles.insert(it, h);
  return true;
}

bool RemoveHandle(Customer& c, const Handle& h) {
  auto it = std::lower_bound(c.handles.begin(), c.handles.end(), h);
  if (it == c.handles.end() || !(*it == h)) return false;
  c.handles.erase(it);
  return true;
}

bool HasHandle(const Customer& c, const Handle& h) {
  return std::binary_search(c.handles.begin(), c.handles.end(), h);
}

void MakeFavourite(Customer& c, const std::string& engineer) {
  auto& f = c.favourite_engineers;
  f.erase(std::remove(f.begin(), f.end(), engineer), f.end());
  f.insert(f.begin(), engineer);
  if (f.size() > kMaxFavourites) f.resize(kMaxFavourites);
}

absl::Time Earlier(absl::Time a, absl::Time b) {
  if (a == absl::InfinitePast()) return b;  // unknown
  if (b == absl::InfinitePast()) return a;
  return std::min(a, b);
}

}  // namespace

struct Directory::Impl {
  Options options;
  std::string path;

  // Owned; the in-memory environment (Options::in_memory) must outlive `db`.
  std::unique_ptr<rocksdb::Env> mem_env;
  std::shared_ptr<rocksdb::Cache> cache;
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cf_handles;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* customers = nullptr;
  rocksdb::ColumnFamilyHandle* handles = nullptr;
  rocksdb::ColumnFamilyHandle* interactions = nullptr;
  rocksdb::ColumnFamilyHandle* history = nullptr;
  rocksdb::ColumnFamilyHandle* engineers = nullptr;
  rocksdb::WriteOptions write_options;

  internal::LockTable locks;
  // The next counter value Resolve tries for a new id. Values are handed out once each; a
  // value whose id exists already (an operator took it) is skipped under that id's lock.
  std::atomic<uint64_t> next_id{1};

  ~Impl() {
    if (db == nullptr) return;
    for (rocksdb::ColumnFamilyHandle* cf : cf_handles) {
      db->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
    }
    db->Close().PermitUncheckedError();
    delete db;
  }

  // ---- Reads (no lock) --------------------------------------------------------------------

  // Reads `key` of `cf` into `msg`: false if absent.
  template <typename Msg>
  absl::StatusOr<bool> Read(rocksdb::ColumnFamilyHandle* cf, absl::string_view key, Msg& msg,
                            absl::string_view what) {
    rocksdb::PinnableSlice value;
    const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, ToSlice(key), &value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, absl::StrCat("reading ", what));
    if (!msg.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(absl::StrCat("directory: the record of ", what, " is corrupt"));
    }
    return true;
  }

  absl::StatusOr<bool> Exists(rocksdb::ColumnFamilyHandle* cf, absl::string_view key,
                              absl::string_view what) {
    rocksdb::PinnableSlice value;
    const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, ToSlice(key), &value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, absl::StrCat("reading ", what));
    return true;
  }

  // The live customer `id` is or was merged into; nullopt if unknown.
  absl::StatusOr<std::optional<Customer>> ReadLive(absl::string_view id) {
    std::string current(id);
    for (int hop = 0; hop < kMaxRedirectHops; ++hop) {
      CustomerRecord record;
      absl::StatusOr<bool> found =
          Read(customers, current, record, absl::StrCat("customer ", current));
      if (!found.ok()) return found.status();
      if (!*found) return std::nullopt;
      if (record.redirect_to().empty()) return internal::CustomerFromRecord(record);
      current = record.redirect_to();
    }
    return absl::InternalError(absl::StrCat("directory: customer ", id, " redirects too far"));
  }

  // The customer handle key `hkey` belongs to; nullopt if unknown.
  absl::StatusOr<std::optional<Customer>> ReadByHandle(absl::string_view hkey) {
    HandleRecord handle;
    absl::StatusOr<bool> found = Read(handles, hkey, handle, absl::StrCat("handle ", hkey));
    if (!found.ok()) return found.status();
    if (!*found) return std::nullopt;
    absl::StatusOr<std::optional<Customer>> customer = ReadLive(handle.customer());
    if (!customer.ok()) return customer.status();
    if (!customer->has_value()) {
      return absl::DataLossError(absl::StrCat("directory: handle ", hkey, " belongs to customer ",
                                              handle.customer(), ", which does not exist"));
    }
    return customer;
  }

  // ---- Reads under a LockSet --------------------------------------------------------------

  enum class State { kFound, kMissing, kRelock };
  struct Live {
    State state = State::kMissing;
    Customer customer;
  };
  // Customer `id` (or the survivor it redirects to), read while `keys` are held. kRelock when
  // the survivor's stripe was not in `keys` (it is now): let the LockSet go and start again.
  absl::StatusOr<Live> ReadLiveLocked(LockKeys& keys, absl::string_view id) {
    std::string current(id);
    for (int hop = 0; hop < kMaxRedirectHops; ++hop) {
      CustomerRecord record;
      absl::StatusOr<bool> found =
          Read(customers, current, record, absl::StrCat("customer ", current));
      if (!found.ok()) return found.status();
      if (!*found) return Live{};
      if (record.redirect_to().empty()) {
        return Live{State::kFound, internal::CustomerFromRecord(record)};
      }
      current = record.redirect_to();
      if (keys.Add(LockKind::kCustomer, current)) return Live{State::kRelock, {}};
    }
    return absl::InternalError(absl::StrCat("directory: customer ", id, " redirects too far"));
  }

  // A change to the live customer `id` (a merged id: its survivor) and one of its handles:
  // validates both, locks them, reads the customer and runs `change(customer, keys, hkey)`,
  // which answers, or returns std::nullopt after adding a lock key, to run again with it held.
  template <typename Change>
  absl::StatusOr<Customer> ChangeHandle(absl::string_view id, const Handle& handle, Change change) {
    if (absl::Status st = internal::ValidateId("id", id); !st.ok()) return st;
    if (absl::Status st = ValidateHandle(handle, "handle"); !st.ok()) return st;
    const std::string hkey = internal::HandleKey(handle);
    LockKeys keys(locks);
    keys.Add(LockKind::kCustomer, id);
    keys.Add(LockKind::kHandle, hkey);
    for (;;) {
      LockSet lock(locks, keys);
      absl::StatusOr<Live> target = ReadLiveLocked(keys, id);
      if (!target.ok()) return target.status();
      if (target->state == State::kRelock) continue;
      if (target->state == State::kMissing) return CustomerNotFound("id", id);
      std::optional<absl::StatusOr<Customer>> done = change(target->customer, keys, hkey);
      if (done.has_value()) return *std::move(done);
    }
  }

  absl::StatusOr<EngineerRecord> ReadEngineer(absl::string_view id) {
    EngineerRecordValue value;
    absl::StatusOr<bool> found = Read(engineers, id, value, absl::StrCat("engineer ", id));
    if (!found.ok()) return found.status();
    if (!*found) {
      EngineerRecord zero;
      zero.id = std::string(id);
      return zero;
    }
    return internal::EngineerFromRecord(value);
  }

  // ---- Writes -----------------------------------------------------------------------------

  absl::Status Commit(Batch& batch, absl::string_view what, bool sync = true) {
    if (!batch.status().ok()) return FromRocks(batch.status(), what);
    if (sync || !write_options.sync) return FromRocks(db->Write(write_options, batch.batch()), what);
    rocksdb::WriteOptions unsynced = write_options;
    unsynced.sync = false;
    return FromRocks(db->Write(unsynced, batch.batch()), what);
  }

  void PutCustomer(Batch& batch, const Customer& c) {
    batch.Put(customers, c.id, internal::CustomerToRecord(c));
  }

  void PutHandle(Batch& batch, const Handle& h, absl::string_view customer, absl::Time at) {
    HandleRecord record;
    record.set_customer(std::string(customer));
    const internal::StoredTime t = internal::EncodeTime(at);
    if (t.has) record.set_linked_at_ns(t.ns);
    batch.Put(handles, internal::HandleKey(h), record);
  }

  // Moves the stored counter to at least `next` (in the same batch as the ids it covers).
  void PutCounter(Batch& batch, uint64_t next) {
    batch.Put(meta, internal::CounterKey(options.id_prefix), CounterRecordFor(next));
  }

  // Raises next_id to at least `next`.
  void RaiseNextId(uint64_t next) {
    uint64_t seen = next_id.load();
    while (seen < next && !next_id.compare_exchange_weak(seen, next)) {
    }
  }

  std::string NewId(uint64_t* number) {
    *number = next_id.fetch_add(1);
    return absl::StrCat(options.id_prefix, *number);
  }

  // ---- Open -------------------------------------------------------------------------------

  absl::Status OpenStore() {
    if (options.in_memory) {
      mem_env.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    } else {
      std::error_code ec;
      std::filesystem::create_directories(path, ec);
      if (ec) {
        return absl::FailedPreconditionError(
            absl::StrCat("directory ", path, " cannot be created: ", ec.message()));
      }
    }
    cache = rocksdb::NewLRUCache(options.block_cache_bytes);
    const rocksdb::DBOptions db_options = internal::MakeDbOptions(mem_env.get());
    const std::vector<rocksdb::ColumnFamilyDescriptor> families =
        internal::MakeColumnFamilies(cache);
    // RocksDB's in-memory environment cannot make a relative path absolute.
    const std::string open_path =
        options.in_memory ? std::filesystem::absolute(path).lexically_normal().string() : path;
    rocksdb::Status s = rocksdb::DB::Open(db_options, open_path, families, &cf_handles, &db);
    if (!s.ok()) {
      db = nullptr;
      const std::string message = s.ToString();
      if (s.IsIOError() && absl::StrContains(absl::AsciiStrToLower(message), "lock")) {
        return absl::FailedPreconditionError(
            absl::StrCat("directory ", path,
                         " is in use by another process (or already open in this one): ", message));
      }
      return FromRocks(s, absl::StrCat("opening ", path));
    }
    meta = cf_handles[0];
    customers = cf_handles[1];
    handles = cf_handles[2];
    interactions = cf_handles[3];
    history = cf_handles[4];
    engineers = cf_handles[5];
    write_options.sync = options.sync_writes && !options.in_memory;

    // The layout version.
    SchemaRecord schema;
    absl::StatusOr<bool> found = Read(meta, internal::kMetaSchemaKey, schema, "the schema");
    if (!found.ok()) return found.status();
    if (!*found) {
      schema.set_version(internal::kSchemaVersion);
      schema.set_min_reader_version(1);
      Batch batch;
      batch.Put(meta, internal::kMetaSchemaKey, schema);
      if (absl::Status st = Commit(batch, "writing the schema"); !st.ok()) return st;
    } else if (schema.min_reader_version() > internal::kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("directory ", path, " was written by a newer version (layout ",
                       schema.version(), ", needs a reader of version ",
                       schema.min_reader_version(), "; this is ", internal::kSchemaVersion, ")"));
    }

    // The id counter: stored with every created customer; writes of concurrent creations may
    // land out of order, so skip forward past ids that exist.
    Counter counter;
    found = Read(meta, internal::CounterKey(options.id_prefix), counter, "the id counter");
    if (!found.ok()) return found.status();
    uint64_t next = *found ? std::max<uint64_t>(counter.next(), 1) : 1;
    for (;;) {
      absl::StatusOr<bool> exists =
          Exists(customers, absl::StrCat(options.id_prefix, next), "the id counter");
      if (!exists.ok()) return exists.status();
      if (!*exists) break;
      ++next;
    }
    next_id.store(next);
    return absl::OkStatus();
  }
};

Directory::Directory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Directory::~Directory() = default;

absl::StatusOr<std::unique_ptr<Directory>> Directory::Open(const std::string& path,
                                                           const Options& options) {
  if (path.empty()) return absl::InvalidArgumentError("path: must not be empty");
  if (options.block_cache_bytes < (1 << 20)) {
    return absl::InvalidArgumentError("options.block_cache_bytes: must be at least 1048576");
  }
  if (options.id_prefix.size() > 32) {
    return absl::InvalidArgumentError("options.id_prefix: longer than 32 characters");
  }
  if (!options.id_prefix.empty()) {
    if (absl::Status st = internal::ValidateId("options.id_prefix", options.id_prefix); !st.ok()) {
      return st;
    }
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->path = path;
  if (absl::Status st = impl->OpenStore(); !st.ok()) return st;
  return std::unique_ptr<Directory>(new Directory(std::move(impl)));
}

// ---- Customers ------------------------------------------------------------------------------

absl::StatusOr<Directory::Resolved> Directory::Resolve(const Handle& handle, bool create,
                                                       absl::Time now) {
  if (absl::Status st = ValidateHandle(handle, "handle"); !st.ok()) return st;
  const std::string hkey = internal::HandleKey(handle);
  {
    absl::StatusOr<std::optional<Customer>> found = impl_->ReadByHandle(hkey);
    if (!found.ok()) return found.status();
    if (found->has_value()) return Resolved{std::move(**found), false};
  }
  if (!create) {
    return absl::NotFoundError(
        absl::StrCat("handle: ", HandleName(handle), " belongs to no customer"));
  }
  uint64_t number = 0;
  std::string id = impl_->NewId(&number);
  LockKeys keys(impl_->locks);
  keys.Add(LockKind::kHandle, hkey);
  keys.Add(LockKind::kCustomer, id);
  for (;;) {
    LockSet lock(impl_->locks, keys);
    // Another Resolve (or a LinkHandle) may have claimed the handle since the read above.
    absl::StatusOr<std::optional<Customer>> found = impl_->ReadByHandle(hkey);
    if (!found.ok()) return found.status();
    if (found->has_value()) return Resolved{std::move(**found), false};
    // An operator may have created a customer with this id: take the next number.
    bool relock = false;
    for (;;) {
      absl::StatusOr<bool> taken = impl_->Exists(impl_->customers, id, "customer " + id);
      if (!taken.ok()) return taken.status();
      if (!*taken) break;
      id = impl_->NewId(&number);
      if (keys.Add(LockKind::kCustomer, id)) {
        relock = true;
        break;
      }
    }
    if (relock) continue;

    Customer c;
    c.id = id;
    c.handles = {handle};
    c.created_at = now;
    c.updated_at = now;
    Batch batch;
    impl_->PutCustomer(batch, c);
    impl_->PutHandle(batch, handle, id, now);
    impl_->PutCounter(batch, std::max(number + 1, impl_->next_id.load()));
    if (absl::Status st = impl_->Commit(batch, absl::StrCat("creating customer ", id)); !st.ok()) {
      return st;
    }
    return Resolved{std::move(c), true};
  }
}

absl::StatusOr<Customer> Directory::Get(absl::string_view id) {
  if (absl::Status st = internal::ValidateId("id", id); !st.ok()) return st;
  absl::StatusOr<std::optional<Customer>> found = impl_->ReadLive(id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return CustomerNotFound("id", id);
  return std::move(**found);
}

absl::StatusOr<Customer> Directory::Update(absl::string_view id, const CustomerUpdate& update,
                                           bool create_if_missing, absl::Time now) {
  if (absl::Status st = internal::ValidateId("id", id); !st.ok()) return st;
  if (absl::Status st = internal::ValidateUpdate(update); !st.ok()) return st;
  LockKeys keys(impl_->locks);
  keys.Add(LockKind::kCustomer, id);
  for (;;) {
    LockSet lock(impl_->locks, keys);
    absl::StatusOr<Impl::Live> live = impl_->ReadLiveLocked(keys, id);
    if (!live.ok()) return live.status();
    if (live->state == Impl::State::kRelock) continue;
    Customer c;
    if (live->state == Impl::State::kFound) {
      c = std::move(live->customer);
    } else if (create_if_missing) {
      c.id = std::string(id);
      c.created_at = now;
    } else {
      return CustomerNotFound("id", id);
    }
    if (update.display_name.has_value()) c.display_name = *update.display_name;
    if (update.vip_level.has_value()) c.vip_level = *update.vip_level;
    std::vector<std::string> tags = update.tags.has_value() ? *update.tags : c.tags;
    tags.insert(tags.end(), update.add_tags.begin(), update.add_tags.end());
    tags = internal::SortedUnique(std::move(tags));
    for (const std::string& t : update.remove_tags) {
      auto it = std::lower_bound(tags.begin(), tags.end(), t);
      if (it != tags.end() && *it == t) tags.erase(it);
    }
    if (tags.size() > kMaxTagsPerCustomer) {
      return absl::ResourceExhaustedError(absl::StrCat("update.add_tags: customer ", c.id,
                                                       " would have more than ",
                                                       kMaxTagsPerCustomer, " tags"));
    }
    c.tags = std::move(tags);
    if (update.language.has_value()) c.language = *update.language;
    c.updated_at = now;
    Batch batch;
    impl_->PutCustomer(batch, c);
    if (absl::Status st = impl_->Commit(batch, absl::StrCat("updating customer ", c.id));
        !st.ok()) {
      return st;
    }
    return c;
  }
}

absl::StatusOr<Customer> Directory::LinkHandle(absl::string_view id, const Handle& handle,
                                               bool move, absl::Time now) {
  return impl_->ChangeHandle(
      id, handle,
      [&](Customer& c, LockKeys& keys,
          const std::string& hkey) -> std::optional<absl::StatusOr<Customer>> {
        HandleRecord owner;
        absl::StatusOr<bool> owned =
            impl_->Read(impl_->handles, hkey, owner, absl::StrCat("handle ", hkey));
        if (!owned.ok()) return owned.status();
        std::optional<Customer> previous;  // the customer the handle is moved from
        if (*owned) {
          if (owner.customer() == c.id) return std::move(c);  // already on it
          if (!move) {
            return absl::FailedPreconditionError(
                absl::StrCat("handle: ", HandleName(handle), " belongs to customer ",
                             owner.customer(), " (move it with move = true)"));
          }
          if (keys.Add(LockKind::kCustomer, owner.customer())) return std::nullopt;
          absl::StatusOr<Impl::Live> from = impl_->ReadLiveLocked(keys, owner.customer());
          if (!from.ok()) return from.status();
          if (from->state == Impl::State::kRelock) return std::nullopt;
          if (from->state == Impl::State::kFound && from->customer.id != c.id) {
            previous = std::move(from->customer);
            RemoveHandle(*previous, handle);
            previous->updated_at = now;
          }
        }
        if (!HasHandle(c, handle) && c.handles.size() >= kMaxHandlesPerCustomer) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "handle: customer ", c.id, " has ", kMaxHandlesPerCustomer, " handles already"));
        }
        AddHandle(c, handle);
        c.updated_at = now;
        Batch batch;
        impl_->PutCustomer(batch, c);
        if (previous.has_value()) impl_->PutCustomer(batch, *previous);
        impl_->PutHandle(batch, handle, c.id, now);
        if (absl::Status st = impl_->Commit(
                batch, absl::StrCat("linking ", HandleName(handle), " to customer ", c.id));
            !st.ok()) {
          return st;
        }
        return std::move(c);
      });
}

absl::StatusOr<Customer> Directory::UnlinkHandle(absl::string_view id, const Handle& handle,
                                                 absl::Time now) {
  return impl_->ChangeHandle(
      id, handle,
      [&](Customer& c, LockKeys&,
          const std::string& hkey) -> std::optional<absl::StatusOr<Customer>> {
        if (!RemoveHandle(c, handle)) {
          return absl::NotFoundError(
              absl::StrCat("handle: ", HandleName(handle), " is not linked to customer ", c.id));
        }
        c.updated_at = now;
        Batch batch;
        impl_->PutCustomer(batch, c);
        HandleRecord owner;
        absl::StatusOr<bool> owned =
            impl_->Read(impl_->handles, hkey, owner, absl::StrCat("handle ", hkey));
        if (!owned.ok()) return owned.status();
        if (*owned && owner.customer() == c.id) batch.Delete(impl_->handles, hkey);
        if (absl::Status st = impl_->Commit(
                batch, absl::StrCat("unlinking ", HandleName(handle), " from customer ", c.id));
            !st.ok()) {
          return st;
        }
        return std::move(c);
      });
}

absl::StatusOr<Customer> Directory::Merge(absl::string_view survivor, absl::string_view absorbed,
                                          absl::Time now) {
  if (absl::Status st = internal::ValidateId("survivor", survivor); !st.ok()) return st;
  if (absl::Status st = internal::ValidateId("absorbed", absorbed); !st.ok()) return st;
  LockKeys keys(impl_->locks);
  keys.Add(LockKind::kCustomer, survivor);
  keys.Add(LockKind::kCustomer, absorbed);
  for (;;) {
    LockSet lock(impl_->locks, keys);
    absl::StatusOr<Impl::Live> s = impl_->ReadLiveLocked(keys, survivor);
    if (!s.ok()) return s.status();
    if (s->state == Impl::State::kRelock) continue;
    if (s->state == Impl::State::kMissing) return CustomerNotFound("survivor", survivor);
    absl::StatusOr<Impl::Live> a = impl_->ReadLiveLocked(keys, absorbed);
    if (!a.ok()) return a.status();
    if (a->state == Impl::State::kRelock) continue;
    if (a->state == Impl::State::kMissing) return CustomerNotFound("absorbed", absorbed);
    Customer& sc = s->customer;
    Customer& ac = a->customer;
    if (sc.id == ac.id) {
      return absl::InvalidArgumentError(
          sc.id == survivor && ac.id == absorbed
              ? absl::StrCat("absorbed: customer ", absorbed, " is the survivor itself")
              : absl::StrCat("absorbed: customer ", absorbed, " and survivor ", survivor,
                             " are the same customer (", sc.id, ")"));
    }
    // What else the merge rewrites: the ids merged into the absorbed customer (they will
    // redirect to the survivor) and its handles.
    bool relock = false;
    for (const std::string& m : ac.merged_from) relock |= keys.Add(LockKind::kCustomer, m);
    for (const Handle& h : ac.handles)
      relock |= keys.Add(LockKind::kHandle, internal::HandleKey(h));
    if (relock) continue;

    Customer m = sc;
    for (const Handle& h : ac.handles) AddHandle(m, h);
    std::vector<std::string> tags = m.tags;
    tags.insert(tags.end(), ac.tags.begin(), ac.tags.end());
    m.tags = internal::SortedUnique(std::move(tags));
    if (m.handles.size() > kMaxHandlesPerCustomer || m.tags.size() > kMaxTagsPerCustomer) {
      return absl::ResourceExhaustedError(
          absl::StrCat("absorbed: merged, customer ", sc.id, " would have more than ",
                       kMaxHandlesPerCustomer, " handles or ", kMaxTagsPerCustomer, " tags"));
    }
    m.vip_level = std::max(sc.vip_level, ac.vip_level);
    if (m.display_name.empty()) m.display_name = ac.display_name;
    if (m.language.empty()) m.language = ac.language;
    for (const std::string& e : ac.favourite_engineers) {
      if (m.favourite_engineers.size() >= kMaxFavourites) break;
      if (std::find(m.favourite_engineers.begin(), m.favourite_engineers.end(), e) ==
          m.favourite_engineers.end()) {
        m.favourite_engineers.push_back(e);
      }
    }
    if (!ac.last_engineer.empty() &&
        (m.last_engineer.empty() || ac.last_engineer_at > m.last_engineer_at)) {
      m.last_engineer = ac.last_engineer;
      m.last_engineer_at = ac.last_engineer_at;
      m.last_channel = ac.last_channel;
    }
    m.interactions += ac.interactions;
    std::vector<std::string> redirected = {ac.id};
    redirected.insert(redirected.end(), ac.merged_from.begin(), ac.merged_from.end());
    for (const std::string& r : redirected) {
      if (std::find(m.merged_from.begin(), m.merged_from.end(), r) == m.merged_from.end()) {
        m.merged_from.push_back(r);
      }
    }
    m.created_at = Earlier(sc.created_at, ac.created_at);
    m.updated_at = now;

    Batch batch;
    impl_->PutCustomer(batch, m);
    const internal::StoredTime merged_at = internal::EncodeTime(now);
    for (const std::string& r : redirected) {
      CustomerRecord redirect;
      redirect.set_id(r);
      redirect.set_redirect_to(m.id);
      if (merged_at.has) redirect.set_merged_at_ns(merged_at.ns);
      batch.Put(impl_->customers, r, redirect);
    }
    for (const Handle& h : ac.handles) {
      const std::string hkey = internal::HandleKey(h);
      HandleRecord record;
      absl::StatusOr<bool> found =
          impl_->Read(impl_->handles, hkey, record, absl::StrCat("handle ", hkey));
      if (!found.ok()) return found.status();
      record.set_customer(m.id);
      batch.Put(impl_->handles, hkey, record);
    }
    // The absorbed customer's history moves under the survivor: same order keys, new prefix,
    // and each interaction now names the survivor.
    {
      const std::string prefix = internal::HistoryPrefix(ac.id);
      std::string upper = prefix;
      upper.back() = '\x01';
      const rocksdb::Slice upper_slice = ToSlice(upper);
      rocksdb::ReadOptions ro;
      ro.iterate_upper_bound = &upper_slice;
      std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->history));
      for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
        const absl::string_view key = ToView(it->key());
        const absl::string_view suffix = key.substr(prefix.size());
        std::optional<internal::HistoryPosition> pos = internal::ParseHistorySuffix(suffix);
        if (!pos.has_value()) {
          return absl::DataLossError(
              absl::StrCat("directory: a history key of customer ", ac.id, " is corrupt"));
        }
        batch.Delete(impl_->history, key);
        batch.PutRaw(impl_->history, absl::StrCat(internal::HistoryPrefix(m.id), suffix), "");
        const std::string skey = internal::SessionKey(pos->session);
        InteractionRecord record;
        absl::StatusOr<bool> found =
            impl_->Read(impl_->interactions, skey, record, absl::StrCat("session ", pos->session));
        if (!found.ok()) return found.status();
        if (*found) {
          record.set_customer(m.id);
          batch.Put(impl_->interactions, skey, record);
        }
      }
      if (!it->status().ok()) {
        return FromRocks(it->status(), absl::StrCat("reading the history of ", ac.id));
      }
    }
    if (absl::Status st =
            impl_->Commit(batch, absl::StrCat("merging customer ", ac.id, " into ", m.id));
        !st.ok()) {
      return st;
    }
    return m;
  }
}

// ---- Interactions ---------------------------------------------------------------------------

absl::StatusOr<bool> Directory::RecordInteraction(const Interaction& interaction, bool sync) {
  if (absl::Status st = internal::ValidateInteraction(interaction); !st.ok()) return st;
  const std::string skey = internal::SessionKey(interaction.session);
  const bool counts_for_engineer =
      interaction.outcome == Outcome::kCompleted && !interaction.engineer.empty();
  LockKeys keys(impl_->locks);
  keys.Add(LockKind::kSession, skey);
  keys.Add(LockKind::kCustomer, interaction.customer);
  if (counts_for_engineer) keys.Add(LockKind::kEngineer, interaction.engineer);
  for (;;) {
    LockSet lock(impl_->locks, keys);
    absl::StatusOr<bool> recorded =
        impl_->Exists(impl_->interactions, skey, absl::StrCat("session ", interaction.session));
    if (!recorded.ok()) return recorded.status();
    if (*recorded) return false;
    absl::StatusOr<Impl::Live> live = impl_->ReadLiveLocked(keys, interaction.customer);
    if (!live.ok()) return live.status();
    if (live->state == Impl::State::kRelock) continue;
    if (live->state == Impl::State::kMissing) {
      return CustomerNotFound("interaction.customer", interaction.customer);
    }
    Customer& c = live->customer;

    Interaction stored = interaction;
    stored.customer = c.id;
    InteractionRecord record = internal::InteractionToRecord(stored);
    record.set_recorded_customer(interaction.customer);

    c.interactions += 1;
    if (!interaction.engineer.empty() &&
        (c.last_engineer.empty() || interaction.ended_at > c.last_engineer_at)) {
      c.last_engineer = interaction.engineer;
      c.last_engineer_at = interaction.ended_at;
      c.last_channel = interaction.channel;
    }
    c.updated_at = std::max(c.updated_at, interaction.ended_at);

    Batch batch;
    batch.Put(impl_->interactions, skey, record);
    batch.PutRaw(
        impl_->history,
        internal::HistoryKey(c.id, absl::ToUnixNanos(interaction.ended_at), interaction.session),
        "");
    impl_->PutCustomer(batch, c);
    if (counts_for_engineer) {
      absl::StatusOr<EngineerRecord> e = impl_->ReadEngineer(interaction.engineer);
      if (!e.ok()) return e.status();
      e->handled += 1;
      e->handle_time_total += interaction.handle_time;
      batch.Put(impl_->engineers, e->id, internal::EngineerToRecord(*e));
    }
    if (absl::Status st =
            impl_->Commit(batch, absl::StrCat("recording session ", interaction.session), sync);
        !st.ok()) {
      return st;
    }
    return true;
  }
}

absl::StatusOr<Directory::RateResult> Directory::Rate(uint64_t session, const Rating& rating) {
  if (absl::Status st = internal::ValidateRating(rating); !st.ok()) return st;
  const std::string skey = internal::SessionKey(session);
  LockKeys keys(impl_->locks);
  keys.Add(LockKind::kSession, skey);
  for (;;) {
    LockSet lock(impl_->locks, keys);
    InteractionRecord record;
    absl::StatusOr<bool> found =
        impl_->Read(impl_->interactions, skey, record, absl::StrCat("session ", session));
    if (!found.ok()) return found.status();
    if (!*found) {
      return absl::NotFoundError(absl::StrCat("session: ", session, " is not recorded"));
    }
    if (record.outcome() != static_cast<int32_t>(Outcome::kCompleted) ||
        record.engineer().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("session: ", session, " was not completed by an engineer"));
    }
    if (record.has_rating()) {
      return absl::AlreadyExistsError(absl::StrCat("session: ", session, " is rated already"));
    }
    // The interaction's customer too: a Merge rewrites the interaction under that lock.
    bool relock = keys.Add(LockKind::kEngineer, record.engineer());
    relock |= keys.Add(LockKind::kCustomer, record.customer());
    if (relock) continue;

    Rating normalized = rating;
    normalized.tags = internal::SortedUnique(rating.tags);
    Interaction interaction = internal::InteractionFromRecord(record);
    interaction.rating = normalized;

    absl::StatusOr<EngineerRecord> e = impl_->ReadEngineer(record.engineer());
    if (!e.ok()) return e.status();
    e->ratings += 1;
    e->stars_total += normalized.stars;
    if (normalized.stars >= 4) e->good_ratings += 1;
    if (normalized.favourite) e->favourites += 1;
    if (normalized.tip_cents > 0) {
      e->tips += 1;
      e->tip_cents_total += normalized.tip_cents;
    }
    for (const std::string& tag : normalized.tags) {
      auto it = std::lower_bound(e->tag_counts.begin(), e->tag_counts.end(), tag,
                                 [](const std::pair<std::string, int64_t>& a,
                                    const std::string& t) { return a.first < t; });
      if (it != e->tag_counts.end() && it->first == tag) {
        it->second += 1;
      } else {
        e->tag_counts.insert(it, {tag, 1});
      }
    }

    Batch batch;
    InteractionRecord updated = internal::InteractionToRecord(interaction);
    updated.set_recorded_customer(record.recorded_customer());
    batch.Put(impl_->interactions, skey, updated);
    batch.Put(impl_->engineers, e->id, internal::EngineerToRecord(*e));
    if (normalized.favourite) {
      absl::StatusOr<Impl::Live> live = impl_->ReadLiveLocked(keys, record.customer());
      if (!live.ok()) return live.status();
      if (live->state == Impl::State::kRelock) continue;
      if (live->state == Impl::State::kFound) {
        Customer& c = live->customer;
        MakeFavourite(c, record.engineer());
        c.updated_at = std::max(c.updated_at, normalized.at);
        impl_->PutCustomer(batch, c);
      }
    }
    if (absl::Status st = impl_->Commit(batch, absl::StrCat("rating session ", session));
        !st.ok()) {
      return st;
    }
    return RateResult{std::move(interaction), std::move(*e)};
  }
}

absl::StatusOr<std::optional<Interaction>> Directory::GetInteraction(uint64_t session) {
  InteractionRecord record;
  absl::StatusOr<bool> found = impl_->Read(impl_->interactions, internal::SessionKey(session),
                                           record, absl::StrCat("session ", session));
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<Interaction>();
  return std::optional<Interaction>(internal::InteractionFromRecord(record));
}

absl::StatusOr<Directory::InteractionPage> Directory::ListInteractions(
    absl::string_view customer, size_t page_size, absl::string_view page_token) {
  if (absl::Status st = internal::ValidateId("customer", customer); !st.ok()) return st;
  std::optional<internal::HistoryPosition> after;
  if (!page_token.empty()) {
    absl::StatusOr<internal::HistoryPosition> pos = internal::DecodePageToken(customer, page_token);
    if (!pos.ok()) return pos.status();
    after = *pos;
  }
  if (page_size == 0) page_size = kDefaultPageSize;
  page_size = std::min(page_size, kMaxPageSize);

  // One snapshot for the customer, its history and the interactions: a Merge is seen
  // entirely or not at all.
  rocksdb::ManagedSnapshot snapshot(impl_->db);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();

  std::string live_id(customer);
  for (int hop = 0;; ++hop) {
    if (hop == kMaxRedirectHops) {
      return absl::InternalError(
          absl::StrCat("directory: customer ", customer, " redirects too far"));
    }
    rocksdb::PinnableSlice value;
    const rocksdb::Status s = impl_->db->Get(ro, impl_->customers, ToSlice(live_id), &value);
    if (s.IsNotFound()) return CustomerNotFound("customer", customer);
    if (!s.ok()) return FromRocks(s, absl::StrCat("reading customer ", live_id));
    CustomerRecord record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(
          absl::StrCat("directory: the record of customer ", live_id, " is corrupt"));
    }
    if (record.redirect_to().empty()) break;
    live_id = record.redirect_to();
  }

  const std::string prefix = internal::HistoryPrefix(live_id);
  std::string upper = prefix;
  upper.back() = '\x01';
  const rocksdb::Slice upper_slice = ToSlice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->history));
  std::string start = prefix;
  if (after.has_value()) {
    start = absl::StrCat(prefix, internal::HistorySuffix(after->ended_at_ns, after->session));
  }
  it->Seek(ToSlice(start));
  if (after.has_value() && it->Valid() && ToView(it->key()) == start) it->Next();

  std::vector<internal::HistoryPosition> positions;
  bool more = false;
  for (; it->Valid(); it->Next()) {
    if (positions.size() == page_size) {
      more = true;
      break;
    }
    std::optional<internal::HistoryPosition> pos =
        internal::ParseHistorySuffix(ToView(it->key()).substr(prefix.size()));
    if (!pos.has_value()) {
      return absl::DataLossError(
          absl::StrCat("directory: a history key of customer ", live_id, " is corrupt"));
    }
    positions.push_back(*pos);
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), absl::StrCat("reading the history of ", live_id));
  }

  InteractionPage page;
  page.interactions.reserve(positions.size());
  std::vector<std::string> skeys;
  skeys.reserve(positions.size());
  for (const internal::HistoryPosition& pos : positions) {
    skeys.push_back(internal::SessionKey(pos.session));
  }
  std::vector<rocksdb::Slice> slices;
  slices.reserve(skeys.size());
  for (const std::string& k : skeys) slices.push_back(ToSlice(k));
  std::vector<rocksdb::PinnableSlice> values(skeys.size());
  std::vector<rocksdb::Status> statuses(skeys.size());
  impl_->db->MultiGet(ro, impl_->interactions, slices.size(), slices.data(), values.data(),
                      statuses.data());
  for (size_t i = 0; i < skeys.size(); ++i) {
    if (!statuses[i].ok()) {
      return FromRocks(statuses[i], absl::StrCat("reading session ", positions[i].session));
    }
    InteractionRecord record;
    if (!record.ParseFromArray(values[i].data(), static_cast<int>(values[i].size()))) {
      return absl::DataLossError(
          absl::StrCat("directory: the record of session ", positions[i].session, " is corrupt"));
    }
    page.interactions.push_back(internal::InteractionFromRecord(record));
  }
  if (more && !positions.empty()) {
    page.next_page_token = internal::EncodePageToken(customer, positions.back());
  }
  return page;
}

// ---- Engineers ------------------------------------------------------------------------------

absl::StatusOr<EngineerRecord> Directory::GetEngineer(absl::string_view id) {
  if (absl::Status st = internal::ValidateId("id", id); !st.ok()) return st;
  return impl_->ReadEngineer(id);
}

absl::StatusOr<std::vector<EngineerRecord>> Directory::ListEngineers() {
  std::vector<EngineerRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->engineers));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EngineerRecordValue value;
    if (!value.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("directory: the record of engineer ", ToView(it->key()), " is corrupt"));
    }
    out.push_back(internal::EngineerFromRecord(value));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing engineers");
  return out;
}

// ---- Whole store ----------------------------------------------------------------------------

absl::Status Directory::Sync() {
  if (impl_->options.in_memory) return absl::OkStatus();
  return FromRocks(impl_->db->FlushWAL(/*sync=*/true), "syncing the log");
}

uint64_t Directory::ApproximateCustomerCount() {
  uint64_t n = 0;
  if (!impl_->db->GetIntProperty(impl_->customers, "rocksdb.estimate-num-keys", &n)) return 0;
  return n;
}

absl::Status Directory::CompactAll() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (rocksdb::ColumnFamilyHandle* cf : impl_->cf_handles) {
    if (absl::Status st = FromRocks(impl_->db->CompactRange(options, cf, nullptr, nullptr),
                                    absl::StrCat("compacting ", cf->GetName()));
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status Directory::BulkLoad(const std::vector<Customer>& customers) {
  // Everything is checked before anything is written.
  absl::flat_hash_set<absl::string_view> ids;
  absl::flat_hash_set<std::string> hkeys;
  ids.reserve(customers.size());
  for (size_t i = 0; i < customers.size(); ++i) {
    const std::string field = absl::StrCat("customers[", i, "]");
    if (absl::Status st = internal::ValidateCustomer(field, customers[i]); !st.ok()) return st;
    if (!ids.insert(customers[i].id).second) {
      return absl::AlreadyExistsError(
          absl::StrCat(field, ".id: ", customers[i].id, " is given twice"));
    }
    for (size_t j = 0; j < customers[i].handles.size(); ++j) {
      if (!hkeys.insert(internal::HandleKey(customers[i].handles[j])).second) {
        return absl::AlreadyExistsError(absl::StrCat(
            field, ".handles[", j, "]: ", HandleName(customers[i].handles[j]), " is given twice"));
      }
    }
  }
  rocksdb::WriteOptions unsynced;
  unsynced.sync = false;
  for (size_t begin = 0; begin < customers.size(); begin += kBulkBatch) {
    const size_t end = std::min(customers.size(), begin + kBulkBatch);
    LockKeys keys(impl_->locks);
    std::vector<std::string> chunk_keys;  // customer ids, then handle keys
    std::vector<size_t> owner;            // index of the customer of each key
    for (size_t i = begin; i < end; ++i) {
      keys.Add(LockKind::kCustomer, customers[i].id);
      chunk_keys.push_back(customers[i].id);
      owner.push_back(i);
    }
    const size_t first_handle = chunk_keys.size();
    for (size_t i = begin; i < end; ++i) {
      for (const Handle& h : customers[i].handles) {
        chunk_keys.push_back(internal::HandleKey(h));
        keys.Add(LockKind::kHandle, chunk_keys.back());
        owner.push_back(i);
      }
    }
    LockSet lock(impl_->locks, keys);
    std::vector<rocksdb::Slice> slices;
    slices.reserve(chunk_keys.size());
    for (const std::string& k : chunk_keys) slices.push_back(ToSlice(k));
    std::vector<rocksdb::PinnableSlice> values(chunk_keys.size());
    std::vector<rocksdb::Status> statuses(chunk_keys.size());
    impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->customers, first_handle, slices.data(),
                        values.data(), statuses.data());
    impl_->db->MultiGet(rocksdb::ReadOptions(), impl_->handles, chunk_keys.size() - first_handle,
                        slices.data() + first_handle, values.data() + first_handle,
                        statuses.data() + first_handle);
    for (size_t k = 0; k < chunk_keys.size(); ++k) {
      if (statuses[k].IsNotFound()) continue;
      if (!statuses[k].ok()) return FromRocks(statuses[k], "bulk load: checking keys");
      const std::string field = absl::StrCat("customers[", owner[k], "]");
      return absl::AlreadyExistsError(
          k < first_handle
              ? absl::StrCat(field, ".id: customer ", chunk_keys[k], " exists already")
              : absl::StrCat(field, ".handles: ", chunk_keys[k], " belongs to a customer already"));
    }
    // The batch goes in sorted by (column family, key): the memtable's skip list inserts a
    // run of ascending keys from where the previous one landed, instead of searching from the
    // top for each random handle (the bulk of a bulk load's CPU otherwise).
    struct Entry {
      int cf;  // 0 customers, 1 handles
      std::string key;
      std::string value;
    };
    std::vector<Entry> entries;
    entries.reserve(chunk_keys.size());
    uint64_t next = 0;
    for (size_t i = begin; i < end; ++i) {
      Customer c = customers[i];
      c.tags = internal::SortedUnique(std::move(c.tags));
      std::sort(c.handles.begin(), c.handles.end());
      Entry e{0, c.id, ""};
      if (!internal::CustomerToRecord(c).SerializeToString(&e.value)) {
        return absl::InternalError("bulk load: a customer record does not serialize");
      }
      entries.push_back(std::move(e));
      HandleRecord handle;
      handle.set_customer(c.id);
      const internal::StoredTime linked = internal::EncodeTime(c.created_at);
      if (linked.has) handle.set_linked_at_ns(linked.ns);
      std::string value;
      if (!handle.SerializeToString(&value)) {
        return absl::InternalError("bulk load: a handle record does not serialize");
      }
      for (const Handle& h : c.handles) entries.push_back(Entry{1, internal::HandleKey(h), value});
      if (std::optional<uint64_t> n = CounterValue(impl_->options.id_prefix, c.id);
          n.has_value() && *n < std::numeric_limits<uint64_t>::max()) {
        next = std::max(next, *n + 1);
      }
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.cf != b.cf ? a.cf < b.cf : a.key < b.key;
    });
    Batch batch;
    for (const Entry& e : entries) {
      batch.PutRaw(e.cf == 0 ? impl_->customers : impl_->handles, e.key, e.value);
    }
    if (next > 0) {
      impl_->RaiseNextId(next);
      impl_->PutCounter(batch, impl_->next_id.load());
    }
    if (!batch.status().ok()) return FromRocks(batch.status(), "bulk load");
    if (absl::Status st = FromRocks(impl_->db->Write(unsynced, batch.batch()), "bulk load");
        !st.ok()) {
      return st;
    }
  }
  return Sync();
}

}  // namespace omniroute::directory
