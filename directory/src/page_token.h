// The page token of ListInteractions: where the previous page ended, bound to the listing
// (the customer id it was asked for). Opaque to callers; web-safe base64 of
//   0x01 (version) | be64 ended_at (order-preserving) | be64 session | customer id.

#ifndef OMNIROUTE_DIRECTORY_SRC_PAGE_TOKEN_H_
#define OMNIROUTE_DIRECTORY_SRC_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "keys.h"

namespace omniroute::directory::internal {

std::string EncodePageToken(absl::string_view customer, const HistoryPosition& last);
// The position after which the page starts; INVALID_ARGUMENT "page_token: ..." for a token
// that is not one of EncodePageToken(customer, ...).
absl::StatusOr<HistoryPosition> DecodePageToken(absl::string_view customer,
                                                absl::string_view token);

}  // namespace omniroute::directory::internal

#endif  // OMNIROUTE_DIRECTORY_SRC_PAGE_TOKEN_H_
