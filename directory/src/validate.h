// Input validation: INVALID_ARGUMENT naming the field, before anything is read or written.

#ifndef OMNIROUTE_DIRECTORY_SRC_VALIDATE_H_
#define OMNIROUTE_DIRECTORY_SRC_VALIDATE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "omniroute/directory/directory.h"

namespace omniroute::directory::internal {

// A customer or engineer id (omniroute::ValidateName).
absl::Status ValidateId(absl::string_view field, absl::string_view id);
// A customer tag: 1..128 printable ASCII (0x20..0x7e).
absl::Status ValidateTag(absl::string_view field, absl::string_view tag);
// A rating tag: 1..64 printable ASCII (0x20..0x7e).
absl::Status ValidateRatingTag(absl::string_view field, absl::string_view tag);
// Up to 256 bytes of well-formed UTF-8 without control characters.
absl::Status ValidateDisplayName(absl::string_view field, absl::string_view name);
// Up to 32 of [A-Za-z0-9_-].
absl::Status ValidateLanguage(absl::string_view field, absl::string_view language);

// "update.<field>" for every field of `update`.
absl::Status ValidateUpdate(const CustomerUpdate& update);
// "interaction.<field>".
absl::Status ValidateInteraction(const Interaction& interaction);
// "rating.<field>".
absl::Status ValidateRating(const Rating& rating);
// "<field>.<member>" (field e.g. "customers[3]") for BulkLoad.
absl::Status ValidateCustomer(absl::string_view field, const Customer& customer);

// Sorted, duplicates removed.
std::vector<std::string> SortedUnique(std::vector<std::string> values);

}  // namespace omniroute::directory::internal

#endif  // OMNIROUTE_DIRECTORY_SRC_VALIDATE_H_
