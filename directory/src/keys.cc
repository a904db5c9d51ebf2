#include "keys.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace omniroute::directory::internal {
namespace {

// Signed -> unsigned with the order kept (flip the sign bit).
uint64_t Ordered(int64_t v) { return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63); }
int64_t Unordered(uint64_t v) { return static_cast<int64_t>(v ^ (uint64_t{1} << 63)); }

}  // namespace

std::string CounterKey(absl::string_view prefix) { return absl::StrCat("next_id/", prefix); }

std::string HandleKey(const Handle& handle) { return absl::StrCat(handle.kind, ":", handle.value); }

void AppendBigEndian64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string SessionKey(uint64_t session) {
  std::string key;
  key.reserve(8);
  AppendBigEndian64(key, session);
  return key;
}

std::string HistoryPrefix(absl::string_view customer) {
  std::string key(customer);
  key.push_back('\0');
  return key;
}

std::string HistorySuffix(int64_t ended_at_ns, uint64_t session) {
  std::string suffix;
  suffix.reserve(16);
  // Inverted, so that a forward scan goes newest first.
  AppendBigEndian64(suffix, ~Ordered(ended_at_ns));
  AppendBigEndian64(suffix, ~session);
  return suffix;
}

std::string HistoryKey(absl::string_view customer, int64_t ended_at_ns, uint64_t session) {
  return absl::StrCat(HistoryPrefix(customer), HistorySuffix(ended_at_ns, session));
}

std::optional<HistoryPosition> ParseHistorySuffix(absl::string_view suffix) {
  if (suffix.size() != 16) return std::nullopt;
  HistoryPosition pos;
  pos.ended_at_ns = Unordered(~ReadBigEndian64(suffix.data()));
  pos.session = ~ReadBigEndian64(suffix.data() + 8);
  return pos;
}

StoredTime EncodeTime(absl::Time t) {
  if (t == absl::InfinitePast()) return {};
  if (t == absl::InfiniteFuture()) return {true, std::numeric_limits<int64_t>::max()};
  return {true, absl::ToUnixNanos(t)};
}

absl::Time DecodeTime(bool has, int64_t ns) {
  if (!has) return absl::InfinitePast();
  if (ns == std::numeric_limits<int64_t>::max()) return absl::InfiniteFuture();
  return absl::FromUnixNanos(ns);
}

bool IsStorableTime(absl::Time t) {
  return t >= absl::UnixEpoch() &&
         t < absl::FromCivil(absl::CivilSecond(2200, 1, 1), absl::UTCTimeZone());
}

}  // namespace omniroute::directory::internal
