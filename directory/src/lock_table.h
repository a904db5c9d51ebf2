// Striped locks for the directory's read-modify-write mutations.
//
// Every record a mutation reads to decide what to write, and every record it writes, is
// covered by the lock of its stripe (a hash of the record's kind and key). A mutation takes
// all its stripes at once, in ascending order (so no two mutations can deadlock), through a
// LockSet. When what it reads reveals another record it must lock (the customer a handle
// belongs to, the survivor a merged id redirects to), it lets its LockSet go, adds the
// stripe, locks again and reads again: the loop ends because the set only grows and the
// records involved change only under their locks.
//
// Readers take no stripe: RocksDB's reads are consistent per key, and a mutation's
// WriteBatch is applied atomically.

#ifndef OMNIROUTE_DIRECTORY_SRC_LOCK_TABLE_H_
#define OMNIROUTE_DIRECTORY_SRC_LOCK_TABLE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace omniroute::directory::internal {

// The kinds of records, so that equal keys of different kinds fall on unrelated stripes.
enum class LockKind : uint8_t { kCustomer = 1, kHandle = 2, kSession = 3, kEngineer = 4 };

class LockTable {
 public:
  static constexpr size_t kStripes = 4096;

  size_t StripeOf(LockKind kind, absl::string_view key) const {
    return absl::HashOf(static_cast<uint8_t>(kind), key) % kStripes;
  }
  std::mutex& stripe(size_t i) { return stripes_[i]; }

 private:
  // std::mutex rather than absl::Mutex: a bulk load holds thousands of stripes at once, more
  // than absl::Mutex's deadlock detector (on in debug builds) is made to track.
  std::array<std::mutex, kStripes> stripes_;
};

// The stripes a mutation needs.
class LockKeys {
 public:
  explicit LockKeys(const LockTable& table) : table_(&table) {}

  // Adds the stripe of (kind, key); returns true if it was not there yet.
  bool Add(LockKind kind, absl::string_view key) {
    const size_t s = table_->StripeOf(kind, key);
    auto it = std::lower_bound(stripes_.begin(), stripes_.end(), s);
    if (it != stripes_.end() && *it == s) return false;
    stripes_.insert(it, s);
    return true;
  }
  bool Has(LockKind kind, absl::string_view key) const {
    return std::binary_search(stripes_.begin(), stripes_.end(), table_->StripeOf(kind, key));
  }
  // Sorted, unique.
  const std::vector<size_t>& stripes() const { return stripes_; }

 private:
  const LockTable* table_;
  std::vector<size_t> stripes_;
};

// Holds the stripes of a LockKeys (as they were when constructed) until destroyed.
class LockSet {
 public:
  LockSet(LockTable& table, const LockKeys& keys) : table_(table), stripes_(keys.stripes()) {
    for (size_t s : stripes_) table_.stripe(s).lock();
  }
  ~LockSet() {
    for (auto it = stripes_.rbegin(); it != stripes_.rend(); ++it) table_.stripe(*it).unlock();
  }
  LockSet(const LockSet&) = delete;
  LockSet& operator=(const LockSet&) = delete;

 private:
  LockTable& table_;
  std::vector<size_t> stripes_;
};

}  // namespace omniroute::directory::internal

#endif  // OMNIROUTE_DIRECTORY_SRC_LOCK_TABLE_H_
