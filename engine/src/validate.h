// Internal: validation of command fields that need no engine state.

#ifndef OMNIROUTE_ENGINE_SRC_VALIDATE_H_
#define OMNIROUTE_ENGINE_SRC_VALIDATE_H_

#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "omniroute/command.h"
#include "omniroute/queue.h"
#include "omniroute/session.h"

namespace omniroute::internal {

inline constexpr int kMaxPriority = 1000;
inline constexpr int kMaxBudget = 1'000'000;
inline constexpr size_t kMaxListLength = 256;
inline constexpr size_t kMaxTextLength = 4096;

absl::Status ValidateRequirements(absl::string_view field, const std::vector<Requirement>& reqs);
absl::Status ValidateDuration(absl::string_view field, absl::Duration d, bool allow_zero);
absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max_length);
absl::Status ValidateCustomer(const CustomerSnapshot& customer);
absl::Status ValidateQueueConfigFields(const QueueConfig& config);
// A CreateSession's appointment window (`window_start`, `window_end`) at time `now`.
absl::Status ValidateWindow(const CreateSession& c, absl::Time now);
// A callback number: 1 to 64 characters of digits, '+', '-', ' ', '(' and ')'.
absl::Status ValidateCallbackNumber(absl::string_view field, absl::string_view number);

// How far ahead an appointment may be booked.
inline constexpr absl::Duration kMaxBookingAhead = absl::Hours(24 * 400);

}  // namespace omniroute::internal

#endif  // OMNIROUTE_ENGINE_SRC_VALIDATE_H_
