// How omniroutectl shows values to people, and JSON for scripts.
//
//   EnumName(v1::PRESENCE_NOT_READY)   // "not-ready"
//   HumanDuration(offer_timeout)      // "15s", "1m30s", "250ms"
//   FormatTime(event.event_time())     // "2026-11-23 08:54:12.123" (local time), "-" if unset
//   ToJson(response, JsonStyle::kPretty)
//
// Tables and descriptions are for people and may change between versions; the JSON documents
// (`--json`) are the stable interface for scripts.

#ifndef OMNIROUTE_CTL_FORMAT_H_
#define OMNIROUTE_CTL_FORMAT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "omniroute/v1/resources.pb.h"

namespace omniroute::ctl {

// The prefix every value of an enum type carries in omniroute.v1: "PRESENCE_" for Presence,
// "EVENT_TYPE_" for EventType (the type name in UPPER_SNAKE_CASE, then "_").
std::string EnumPrefix(const google::protobuf::EnumDescriptor* type);

// A value's name without its type prefix, lower case, '-' for '_': "not-ready",
// "offer-created". Unknown numbers: the number in decimal.
std::string ShortEnumName(const google::protobuf::EnumDescriptor* type, int number);

template <typename E>
std::string EnumName(E value) {
  return ShortEnumName(google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

// "15s", "1m30s", "250ms", "0s" (absl::FormatDuration) at the precision people read: whole
// seconds from a minute up, milliseconds from a second up, else microseconds.
std::string HumanDuration(const google::protobuf::Duration& d);
std::string HumanDuration(absl::Duration d);

// The same to the microsecond (the router's precision), for diffs: "1m30.25s".
std::string ExactDuration(const google::protobuf::Duration& d);

// A Duration field that may be unset: "-" when unset.
std::string HumanOptionalDuration(bool has, const google::protobuf::Duration& d);

// "2026-11-23 08:54:12.123" in the local time zone (TZ); "-" when unset (zero).
std::string FormatTime(const google::protobuf::Timestamp& t);

// A ratio 0..1 as a percentage: "80%", "83.3%".
std::string FormatPercent(double ratio);

absl::Duration ToAbsl(const google::protobuf::Duration& d);
google::protobuf::Duration ToProto(absl::Duration d);
google::protobuf::Timestamp ToProto(absl::Time t);

// "repair.phone>=3".
std::string FormatRequirement(const v1::Requirement& r);

// "primary 1700000000, secondary 0, order 2".
std::string FormatRankKey(const v1::RankKey& key);

// One line describing an event's particulars, for `events tail` and session histories:
// `session=17 queue=repair agent=eng-1001 state=offered detail="..."`, empty fields left out.
std::string DescribeEvent(const v1::Event& e);

// A protobuf value as omniroutectl shows it in a diff: strings quoted, enums by short name,
// Durations as "15s", messages as "{field: value ...}" (unset fields left out), repeated
// fields as "[a, b]".
std::string FormatField(const google::protobuf::Message& message,
                        const google::protobuf::FieldDescriptor* field);
std::string FormatMessage(const google::protobuf::Message& message);

enum class JsonStyle {
  kPretty,  // indented, for one document per command
  kLine,    // one line, for JSON lines (streams, --watch)
};

// The message in the protobuf JSON mapping with the proto field names (snake_case), every
// scalar and repeated field present (zero, "" or []), enums by name. Ends with a newline.
std::string ToJson(const google::protobuf::Message& message, JsonStyle style);

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_FORMAT_H_
