// Typed identifiers.
//
// omniroute never passes a bare string or integer whose meaning must be guessed: a queue is
// named by a `QueueId`, an engineer by an `EngineerId`, a session by a `SessionId`. The
// string-based ids are chosen by the operator (for example `repair.voice` or `eng-1042`); a
// `SessionId` is a number chosen by the engine (or by the caller of `CreateSession`).
//
//   omniroute::QueueId q("repair");
//   omniroute::EngineerId e("eng-1042");
//   omniroute::SessionId s(17);
//
// All ids are cheap value types, hashable with Abseil and totally ordered.

#ifndef OMNIROUTE_IDS_H_
#define OMNIROUTE_IDS_H_

#include <compare>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>

#include "absl/status/status.h"

namespace omniroute {

// A string identifier of a kind named by `Tag`. Distinct tags give distinct types, so a
// queue id cannot be passed where an engineer id is expected.
template <typename Tag>
class StringId {
 public:
  StringId() = default;
  explicit StringId(std::string value) : value_(std::move(value)) {}
  explicit StringId(absl::string_view value) : value_(value) {}
  explicit StringId(const char* value) : value_(value) {}

  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend bool operator==(const StringId&, const StringId&) = default;
  friend auto operator<=>(const StringId&, const StringId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const StringId& id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  std::string value_;
};

struct QueueTag {};
struct EngineerTag {};
struct CustomerTag {};
struct SkillTag {};
struct ChannelTag {};

using QueueId = StringId<QueueTag>;
using EngineerId = StringId<EngineerTag>;
using CustomerId = StringId<CustomerTag>;
using SkillId = StringId<SkillTag>;
using ChannelId = StringId<ChannelTag>;

// A session number. Zero means "none" (or, in `CreateSession`, "let the engine choose").
class SessionId {
 public:
  constexpr SessionId() = default;
  constexpr explicit SessionId(uint64_t value) : value_(value) {}
  constexpr uint64_t value() const { return value_; }
  constexpr bool empty() const { return value_ == 0; }

  friend constexpr bool operator==(SessionId, SessionId) = default;
  friend constexpr auto operator<=>(SessionId, SessionId) = default;
  template <typename H>
  friend H AbslHashValue(H h, SessionId id) {
    return H::combine(std::move(h), id.value_);
  }

 private:
  uint64_t value_ = 0;
};

// The rule every operator-chosen id (queue, engineer, customer, skill, channel) follows:
// 1 to 128 characters from `A-Z a-z 0-9 . _ - : / @ +`. Returns InvalidArgument naming
// `field` otherwise.
absl::Status ValidateName(absl::string_view field, absl::string_view value);

}  // namespace omniroute

#endif  // OMNIROUTE_IDS_H_
