// How omniroutectl shows values: see format.h.

#include "ctl/format.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/util/json_util.h"

namespace omniroute::ctl {

namespace pb = ::google::protobuf;

std::string EnumPrefix(const pb::EnumDescriptor* type) {
  // "EventType" -> "EVENT_TYPE_".
  std::string out;
  const std::string& name = type->name();
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i > 0 && absl::ascii_isupper(static_cast<unsigned char>(c))) out.push_back('_');
    out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
  }
  out.push_back('_');
  return out;
}

std::string ShortEnumName(const pb::EnumDescriptor* type, int number) {
  const pb::EnumValueDescriptor* value = type->FindValueByNumber(number);
  if (value == nullptr) return absl::StrCat(number);
  std::string name = value->name();
  const std::string prefix = EnumPrefix(type);
  if (name.rfind(prefix, 0) == 0) name.erase(0, prefix.size());
  absl::AsciiStrToLower(&name);
  absl::StrReplaceAll({{"_", "-"}}, &name);
  return name;
}

absl::Duration ToAbsl(const pb::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

pb::Duration ToProto(absl::Duration d) {
  pb::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

pb::Timestamp ToProto(absl::Time t) {
  pb::Timestamp out;
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rest * 1000));
  return out;
}

std::string HumanDuration(absl::Duration d) {
  // Precision people read: whole seconds from a minute up, milliseconds from a second up.
  const absl::Duration magnitude = absl::AbsDuration(d);
  const absl::Duration unit = magnitude >= absl::Minutes(1)   ? absl::Seconds(1)
                              : magnitude >= absl::Seconds(1) ? absl::Milliseconds(1)
                                                              : absl::Microseconds(1);
  if (d == absl::ZeroDuration()) return "0s";
  return absl::FormatDuration(absl::Trunc(d, unit));
}

std::string ExactDuration(const pb::Duration& d) {
  if (d.seconds() == 0 && d.nanos() == 0) return "0s";
  return absl::FormatDuration(absl::Trunc(ToAbsl(d), absl::Microseconds(1)));
}

std::string HumanDuration(const pb::Duration& d) { return HumanDuration(ToAbsl(d)); }

std::string HumanOptionalDuration(bool has, const pb::Duration& d) {
  return has ? HumanDuration(d) : "-";
}

std::string FormatTime(const pb::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  const absl::Time time = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", time, absl::LocalTimeZone());
}

std::string FormatPercent(double ratio) {
  const double percent = ratio * 100.0;
  if (std::fabs(percent - std::round(percent)) < 0.05) {
    return absl::StrFormat("%.0f%%", percent);
  }
  return absl::StrFormat("%.1f%%", percent);
}

std::string FormatRequirement(const v1::Requirement& r) {
  return absl::StrCat(r.skill_id(), ">=", r.min_level());
}

std::string FormatRankKey(const v1::RankKey& key) {
  return absl::StrCat("primary ", key.primary(), ", secondary ", key.secondary(), ", order ",
                      key.order());
}

namespace {

// A string for a diff or a description: quoted, with quotes and control characters escaped.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// One value of `field` (index -1: the singular field; otherwise the repeated element).
std::string FormatValue(const pb::Message& message, const pb::FieldDescriptor* field, int index) {
  const pb::Reflection* r = message.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(message, field, index)
                              : r->GetInt32(message, field));
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(message, field, index)
                              : r->GetInt64(message, field));
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(message, field, index)
                              : r->GetUInt32(message, field));
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(message, field, index)
                              : r->GetUInt64(message, field));
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(message, field, index)
                              : r->GetDouble(message, field));
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(message, field, index)
                              : r->GetFloat(message, field));
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(message, field, index) : r->GetBool(message, field))
                 ? "true"
                 : "false";
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return ShortEnumName(field->enum_type(), rep ? r->GetRepeatedEnumValue(message, field, index)
                                                   : r->GetEnumValue(message, field));
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return Quote(rep ? r->GetRepeatedString(message, field, index)
                       : r->GetString(message, field));
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return FormatMessage(rep ? r->GetRepeatedMessage(message, field, index)
                               : r->GetMessage(message, field));
  }
  return "?";
}

}  // namespace

std::string FormatMessage(const pb::Message& message) {
  const pb::Descriptor* d = message.GetDescriptor();
  if (d->full_name() == pb::Duration::descriptor()->full_name()) {
    const pb::Reflection* r = message.GetReflection();
    pb::Duration duration;
    duration.set_seconds(r->GetInt64(message, d->FindFieldByName("seconds")));
    duration.set_nanos(r->GetInt32(message, d->FindFieldByName("nanos")));
    return ExactDuration(duration);
  }
  std::vector<const pb::FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  std::vector<std::string> parts;
  for (const pb::FieldDescriptor* f : fields) {
    parts.push_back(absl::StrCat(f->name(), ": ", FormatField(message, f)));
  }
  return absl::StrCat("{", absl::StrJoin(parts, " "), "}");
}

std::string FormatField(const pb::Message& message, const pb::FieldDescriptor* field) {
  if (!field->is_repeated()) return FormatValue(message, field, -1);
  const int n = message.GetReflection()->FieldSize(message, field);
  std::vector<std::string> items;
  items.reserve(n);
  for (int i = 0; i < n; ++i) items.push_back(FormatValue(message, field, i));
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

std::string DescribeEvent(const v1::Event& e) {
  std::vector<std::string> parts;
  auto add = [&parts](absl::string_view key, absl::string_view value) {
    if (!value.empty()) parts.push_back(absl::StrCat(key, "=", value));
  };
  add("session", e.session_id());
  add("queue", e.queue_id());
  add("to", e.to_queue_id());
  add("agent", e.agent_id());
  add("channel", e.channel_id());
  if (e.session_state() != v1::SESSION_STATE_UNSPECIFIED) {
    add("state", EnumName(e.session_state()));
  }
  if (e.presence() != v1::PRESENCE_UNSPECIFIED) add("presence", EnumName(e.presence()));
  if (e.tier() != v1::AGENT_TIER_UNSPECIFIED) {
    add("tier", absl::StrCat(EnumName(e.previous_tier()), "->", EnumName(e.tier())));
    add("score", absl::StrCat(e.score()));
  }
  if (e.has_reason()) {
    const v1::RoutingReason& r = e.reason();
    std::string why = absl::StrCat(r.strategy(), "/", EnumName(r.stage()));
    if (r.relaxation_step() > 0) absl::StrAppend(&why, "/relaxed-", r.relaxation_step());
    if (r.decided_by() != v1::DECIDER_UNSPECIFIED) {
      absl::StrAppend(&why, "/", EnumName(r.decided_by()));
    }
    add("reason", why);
  }
  if (e.has_deadline_time())
    add("deadline", absl::StrReplaceAll(FormatTime(e.deadline_time()), {{" ", "T"}}));
  if (!e.detail().empty()) parts.push_back(absl::StrCat("detail=", Quote(e.detail())));
  return absl::StrJoin(parts, " ");
}

std::string ToJson(const pb::Message& message, JsonStyle style) {
  pb::util::JsonPrintOptions options;
  options.add_whitespace = style == JsonStyle::kPretty;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  const auto status = pb::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    // Only an Any of an unknown type can fail; omniroute messages hold none.
    return absl::StrCat("{\"error\": ", Quote(status.ToString()), "}\n");
  }
  if (out.empty() || out.back() != '\n') out.push_back('\n');
  return out;
}

}  // namespace omniroute::ctl
