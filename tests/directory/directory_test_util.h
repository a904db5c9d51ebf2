// Helpers shared by the directory's tests.

#ifndef OMNIROUTE_TESTS_DIRECTORY_DIRECTORY_TEST_UTIL_H_
#define OMNIROUTE_TESTS_DIRECTORY_DIRECTORY_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "durability/temp_dir.h"
#include "gtest/gtest.h"
#include "omniroute/directory/directory.h"

namespace omniroute::directory::testing {

using ::omniroute::durability::testing::TempDir;

// A time `s` seconds into a fixed day.
inline absl::Time T(int64_t s) { return absl::FromUnixSeconds(1700000000 + s); }

inline Handle H(std::string kind, std::string value) {
  return Handle{std::move(kind), std::move(value)};
}

inline std::string Str(const Handle& h) { return absl::StrCat(h.kind, ":", h.value); }

// Opens a directory at `path` or fails the test.
inline std::unique_ptr<Directory> OpenOrDie(const std::string& path, Options options = {}) {
  absl::StatusOr<std::unique_ptr<Directory>> dir = Directory::Open(path, options);
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.ok() ? *std::move(dir) : nullptr;
}

// A completed session of `customer` served by `engineer` (or by nobody), ending at T(end).
inline Interaction Session(uint64_t session, std::string customer, std::string engineer,
                           int64_t end, std::string channel = "voice") {
  Interaction in;
  in.session = session;
  in.customer = std::move(customer);
  in.channel = std::move(channel);
  in.queue = "repair";
  in.engineer = std::move(engineer);
  in.intent = "repair.washer";
  in.created_at = T(end - 300);
  in.answered_at = in.engineer.empty() ? absl::InfinitePast() : T(end - 240);
  in.ended_at = T(end);
  in.outcome = Outcome::kCompleted;
  in.handle_time = in.engineer.empty() ? absl::ZeroDuration() : absl::Seconds(240);
  return in;
}

// CustomerUpdate, field by field: Upd().Vip(3).Tags({"a"}).
class Upd {
 public:
  Upd& Name(std::string v) {
    u_.display_name = std::move(v);
    return *this;
  }
  Upd& Vip(int v) {
    u_.vip_level = v;
    return *this;
  }
  Upd& Tags(std::vector<std::string> v) {
    u_.tags = std::move(v);
    return *this;
  }
  Upd& Add(std::vector<std::string> v) {
    u_.add_tags = std::move(v);
    return *this;
  }
  Upd& Remove(std::vector<std::string> v) {
    u_.remove_tags = std::move(v);
    return *this;
  }
  Upd& Language(std::string v) {
    u_.language = std::move(v);
    return *this;
  }
  operator CustomerUpdate() const { return u_; }  // NOLINT: implicit by design

 private:
  CustomerUpdate u_;
};

inline Rating Stars(int stars, bool favourite = false, int64_t tip_cents = 0) {
  Rating r;
  r.stars = stars;
  r.favourite = favourite;
  r.tip_cents = tip_cents;
  r.at = T(100000);
  return r;
}

}  // namespace omniroute::directory::testing

#endif  // OMNIROUTE_TESTS_DIRECTORY_DIRECTORY_TEST_UTIL_H_
