#include "page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace omniroute::directory::internal {
namespace {

constexpr char kVersion = 0x01;

absl::Status NotOurs() {
  return absl::InvalidArgumentError(
      "page_token: not a token of this listing (pass the next_page_token of the previous page "
      "of the same customer, or \"\")");
}

}  // namespace

std::string EncodePageToken(absl::string_view customer, const HistoryPosition& last) {
  std::string raw;
  raw.push_back(kVersion);
  AppendBigEndian64(raw, static_cast<uint64_t>(last.ended_at_ns));
  AppendBigEndian64(raw, last.session);
  absl::StrAppend(&raw, customer);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<HistoryPosition> DecodePageToken(absl::string_view customer,
                                                absl::string_view token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return NotOurs();
  if (raw.size() != 17 + customer.size() || raw[0] != kVersion) return NotOurs();
  if (absl::string_view(raw).substr(17) != customer) return NotOurs();
  HistoryPosition pos;
  pos.ended_at_ns = static_cast<int64_t>(ReadBigEndian64(raw.data() + 1));
  pos.session = ReadBigEndian64(raw.data() + 9);
  return pos;
}

}  // namespace omniroute::directory::internal
