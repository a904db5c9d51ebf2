#include "daemon/convert.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace omniroute::daemon {
namespace {

namespace pb = google::protobuf;

// The engine's enums carry the proto's numbers; these pin that down so a renumbering on
// either side fails to compile instead of mis-converting.
static_assert(static_cast<int>(Tier::kRookie) == v1::AGENT_TIER_ROOKIE);
static_assert(static_cast<int>(Tier::kMaster) == v1::AGENT_TIER_MASTER);
static_assert(static_cast<int>(Presence::kOffline) == v1::PRESENCE_OFFLINE);
static_assert(static_cast<int>(Presence::kWrapUp) == v1::PRESENCE_WRAP_UP);
static_assert(static_cast<int>(SessionState::kBot) == v1::SESSION_STATE_BOT);
static_assert(static_cast<int>(SessionState::kOverflowed) == v1::SESSION_STATE_OVERFLOWED);
static_assert(static_cast<int>(SessionState::kScheduled) == v1::SESSION_STATE_SCHEDULED);
static_assert(static_cast<int>(RoutingStage::kPreferred) == v1::ROUTING_STAGE_PREFERRED);
static_assert(static_cast<int>(RoutingStage::kQueue) == v1::ROUTING_STAGE_QUEUE);
static_assert(static_cast<int>(RelaxAction::kLowerLevel) == v1::RELAX_ACTION_LOWER_LEVEL);
static_assert(static_cast<int>(RelaxAction::kAnyEngineer) == v1::RELAX_ACTION_ANY_AGENT);
static_assert(static_cast<int>(DeliveryMode::kDirect) == v1::DELIVERY_MODE_DIRECT);
static_assert(static_cast<int>(DeliveryMode::kGrab) == v1::DELIVERY_MODE_GRAB);
static_assert(static_cast<int>(EventType::kChannelUpserted) == v1::EVENT_TYPE_CHANNEL_UPSERTED);
static_assert(static_cast<int>(EventType::kSessionCancelled) ==
              v1::EVENT_TYPE_SESSION_CANCELLED);
static_assert(static_cast<int>(EventType::kEngineerRankChanged) ==
              v1::EVENT_TYPE_AGENT_RANK_CHANGED);
static_assert(static_cast<int>(EventType::kSessionWindowOpened) ==
              v1::EVENT_TYPE_SESSION_WINDOW_OPENED);
static_assert(static_cast<int>(EventType::kCallbackRequested) ==
              v1::EVENT_TYPE_CALLBACK_REQUESTED);
static_assert(static_cast<int>(Decider::kNone) == v1::DECIDER_UNSPECIFIED);
static_assert(static_cast<int>(Decider::kSessionOrder) == v1::DECIDER_SESSION_ORDER);

constexpr int64_t kMaxProtoDurationSeconds = 315'576'000'000;  // google/protobuf/duration.proto
// google/protobuf/timestamp.proto: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinProtoTimestampSeconds = -62'135'596'800;
constexpr int64_t kMaxProtoTimestampSeconds = 253'402'300'799;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

std::string Path(absl::string_view parent, absl::string_view child) {
  return absl::StrCat(parent, ".", child);
}
std::string Path(absl::string_view parent, absl::string_view child, int index) {
  return absl::StrCat(parent, ".", child, "[", index, "]");
}

// A strictly parsed positive decimal uint64.
absl::StatusOr<uint64_t> ParsePositiveDecimal(absl::string_view field, absl::string_view text,
                                              absl::string_view what) {
  if (text.empty()) return Invalid(field, "required");
  const auto bad = [&] {
    return Invalid(field, absl::StrCat("\"", text.substr(0, 32), text.size() > 32 ? "..." : "",
                                       "\" is not a ", what));
  };
  if (text.size() > 20 || text[0] == '0') return bad();
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad();
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return bad();
    value = value * 10 + digit;
  }
  return value;
}

// An enum of `field` that the proto can carry as any int: rejected when out of range, and when
// zero unless `allow_unspecified`.
absl::Status CheckEnum(absl::string_view field, int value, bool (*is_valid)(int),
                       bool allow_unspecified) {
  if (!is_valid(value)) return Invalid(field, absl::StrCat(value, " is not a known value"));
  if (value == 0 && !allow_unspecified) return Invalid(field, "must be specified");
  return absl::OkStatus();
}

// A Duration field with a documented default when unset.
absl::StatusOr<absl::Duration> OptionalDuration(absl::string_view field, bool has,
                                                const pb::Duration& d,
                                                absl::Duration default_value) {
  if (!has) return default_value;
  return DurationFromProto(field, d);
}

Requirement RequirementFromProto(const v1::Requirement& r) {
  return Requirement{SkillId(r.skill_id()), r.min_level()};
}

void RequirementToProto(const Requirement& r, v1::Requirement* out) {
  out->set_skill_id(r.skill.value());
  out->set_min_level(r.min_level);
}

std::vector<Requirement> RequirementsFromProto(
    const pb::RepeatedPtrField<v1::Requirement>& requirements) {
  std::vector<Requirement> out;
  out.reserve(static_cast<size_t>(requirements.size()));
  for (const v1::Requirement& r : requirements) out.push_back(RequirementFromProto(r));
  return out;
}

CustomerSnapshot CustomerFromProto(const v1::Customer& c) {
  CustomerSnapshot out;
  out.id = CustomerId(c.id());
  out.vip_level = c.vip_level();
  out.tags.assign(c.tags().begin(), c.tags().end());
  out.language = c.language();
  for (const std::string& e : c.preferred_agent_ids()) out.preferred_engineers.emplace_back(e);
  out.last_engineer = EngineerId(c.last_agent_id());
  return out;
}

void CustomerToProto(const CustomerSnapshot& c, v1::Customer* out) {
  out->set_id(c.id.value());
  out->set_vip_level(c.vip_level);
  for (const std::string& t : c.tags) out->add_tags(t);
  out->set_language(c.language);
  for (const EngineerId& e : c.preferred_engineers) out->add_preferred_agent_ids(e.value());
  out->set_last_agent_id(c.last_engineer.value());
}

bool IsFinite(absl::Time t) { return t != absl::InfiniteFuture() && t != absl::InfinitePast(); }

// A Timestamp field that must be set and well formed; truncated to microseconds.
absl::StatusOr<absl::Time> RequiredTime(absl::string_view field, bool has,
                                        const pb::Timestamp& t) {
  if (!has) return Invalid(field, "required");
  if (t.seconds() < kMinProtoTimestampSeconds || t.seconds() > kMaxProtoTimestampSeconds ||
      t.nanos() < 0 || t.nanos() > 999'999'999) {
    return Invalid(field, "not a valid Timestamp (seconds 0001-01-01..9999-12-31, nanos "
                          "0..999999999)");
  }
  // The router works in microseconds: finer parts are truncated (towards the past).
  return absl::FromUnixMicros(absl::ToUnixMicros(TimeFromProto(t)));
}

void SetTime(absl::Time t, pb::Timestamp* out) { *out = TimeToProto(t); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Status

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share the canonical numbering (0..16).
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(status.code())),
                      std::string(status.message()));
}

namespace {

// Engine field names that differ from the proto's, below the first path segment.
constexpr FieldRename kSegmentRenames[] = {
    {"relaxation", "relaxation_steps"},
    {"skill", "skill_id"},
    {"overflow_queue", "overflow_queue_id"},
    {"channel", "channel_id"},
    {"delivery", "delivery_mode"},
    {"queues", "queue_ids"},
    {"preferred_engineers", "preferred_agent_ids"},
    {"last_engineer", "last_agent_id"},
    {"last_engineer_timeout", "last_agent_timeout"},
    {"wrap_up", "wrap_up_duration"},
};

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '[' ||
         c == ']';
}

// The length of the field path at the start of `message` (before ": "), or 0 when the message
// does not start with one. Several paths may be joined by ", ".
size_t FieldPathLength(absl::string_view message) {
  size_t i = 0;
  while (i < message.size()) {
    const char c = message[i];
    if (IsPathChar(c)) {
      ++i;
    } else if (c == ',' && i + 1 < message.size() && message[i + 1] == ' ' && i > 0) {
      i += 2;
    } else if (c == ':' && i > 0 && i + 1 < message.size() && message[i + 1] == ' ') {
      return i;
    } else {
      return 0;
    }
  }
  return 0;
}

std::string RenamePath(absl::string_view path, std::initializer_list<FieldRename> top) {
  std::string out;
  bool first = true;
  while (!path.empty()) {
    size_t end = 0;
    while (end < path.size() && path[end] != '.' && path[end] != '[') ++end;
    absl::string_view name = path.substr(0, end);
    absl::string_view api = name;
    if (first) {
      for (const FieldRename& r : top) {
        if (r.engine == name) api = r.api;
      }
    } else {
      for (const FieldRename& r : kSegmentRenames) {
        if (r.engine == name) api = r.api;
      }
    }
    absl::StrAppend(&out, api);
    first = false;
    path.remove_prefix(end);
    while (!path.empty() && path[0] == '[') {  // indices
      const size_t close = path.find(']');
      if (close == absl::string_view::npos) {
        absl::StrAppend(&out, path);
        return out;
      }
      absl::StrAppend(&out, path.substr(0, close + 1));
      path.remove_prefix(close + 1);
    }
    if (!path.empty() && path[0] == '.') {
      out.push_back('.');
      path.remove_prefix(1);
    }
  }
  return out;
}

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The engine's word "engineer(s)" is the API's "agent(s)".
std::string AgentWords(absl::string_view text) {
  static constexpr absl::string_view kWord = "engineer";
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = text.find(kWord, i);
    if (at == absl::string_view::npos) break;
    const size_t end = at + kWord.size();
    const bool starts = at == 0 || !IsLetter(text[at - 1]);
    const bool plural = end < text.size() && text[end] == 's';
    const size_t after = plural ? end + 1 : end;
    const bool ends = after >= text.size() || !IsLetter(text[after]);
    absl::StrAppend(&out, text.substr(i, at - i));
    if (starts && ends) {
      absl::StrAppend(&out, plural ? "agents" : "agent");
    } else {
      absl::StrAppend(&out, text.substr(at, after - at));
    }
    i = after;
  }
  absl::StrAppend(&out, text.substr(i));
  return out;
}

}  // namespace

absl::Status ToApiFieldPath(const absl::Status& status,
                            std::initializer_list<FieldRename> top) {
  if (status.ok()) return status;
  const absl::string_view message = status.message();
  const size_t length = FieldPathLength(message);
  std::string renamed;
  for (absl::string_view path : absl::StrSplit(message.substr(0, length), ", ")) {
    if (path.empty()) continue;
    if (!renamed.empty()) renamed += ", ";
    renamed += RenamePath(path, top);
  }
  return absl::Status(status.code(),
                      absl::StrCat(renamed, AgentWords(message.substr(length))));
}

// ---------------------------------------------------------------------------------------------
// Scalars

absl::StatusOr<SessionId> ParseSessionId(absl::string_view field, absl::string_view text) {
  absl::StatusOr<uint64_t> v = ParsePositiveDecimal(field, text, "session id");
  if (!v.ok()) return v.status();
  return SessionId(*v);
}

std::string SessionIdToString(SessionId id) {
  return id.empty() ? std::string() : absl::StrCat(id.value());
}

absl::StatusOr<uint64_t> ParseOfferId(absl::string_view field, absl::string_view text) {
  if (text.empty()) return uint64_t{0};
  return ParsePositiveDecimal(field, text, "offer id");
}

absl::StatusOr<absl::Duration> DurationFromProto(absl::string_view field,
                                                 const pb::Duration& d) {
  const int64_t s = d.seconds();
  const int32_t n = d.nanos();
  if (s < -kMaxProtoDurationSeconds || s > kMaxProtoDurationSeconds || n <= -1'000'000'000 ||
      n >= 1'000'000'000 || (s > 0 && n < 0) || (s < 0 && n > 0)) {
    return Invalid(field, "malformed duration");
  }
  if (s < 0 || n < 0) {
    return Invalid(field, absl::StrCat(absl::FormatDuration(absl::Seconds(s) +
                                                            absl::Nanoseconds(n)),
                                       " is negative"));
  }
  return absl::Trunc(absl::Seconds(s) + absl::Nanoseconds(n), absl::Microseconds(1));
}

pb::Duration DurationToProto(absl::Duration d) {
  pb::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

pb::Timestamp TimeToProto(absl::Time t) {
  pb::Timestamp out;
  const absl::Duration since_epoch = t - absl::UnixEpoch();
  absl::Duration rem;
  int64_t seconds = absl::IDivDuration(since_epoch, absl::Seconds(1), &rem);
  int64_t nanos = absl::ToInt64Nanoseconds(rem);
  if (nanos < 0) {  // Timestamp nanos are always 0..999'999'999
    seconds -= 1;
    nanos += 1'000'000'000;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(nanos));
  return out;
}

absl::Time TimeFromProto(const pb::Timestamp& t) {
  return absl::UnixEpoch() + absl::Seconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// ---------------------------------------------------------------------------------------------
// proto -> engine

absl::StatusOr<ChannelSpec> ChannelFromProto(const v1::Channel& channel,
                                             absl::string_view field) {
  (void)field;  // nothing the proto can say that the engine cannot check itself
  ChannelSpec spec;
  spec.id = ChannelId(channel.id());
  if (channel.has_cost()) spec.cost = channel.cost();
  if (channel.has_default_max()) spec.default_max = channel.default_max();
  spec.bot_first = channel.bot_first();
  return spec;
}

absl::StatusOr<QueueConfig> QueueFromProto(const v1::Queue& q, absl::string_view field) {
  QueueConfig c;  // its member defaults are the proto's documented defaults
  c.id = QueueId(q.id());
  c.display_name = q.display_name();

#define OMNIROUTE_DURATION(proto_name, member)                                              \
  {                                                                                         \
    absl::StatusOr<absl::Duration> d = OptionalDuration(                                    \
        Path(field, #proto_name), q.has_##proto_name(), q.proto_name(), c.member);          \
    if (!d.ok()) return d.status();                                                         \
    c.member = *d;                                                                          \
  }
  OMNIROUTE_DURATION(ageing_interval, ageing_interval)
  OMNIROUTE_DURATION(service_level_threshold, service_level_threshold)
  OMNIROUTE_DURATION(overflow_after, overflow_after)
  OMNIROUTE_DURATION(offer_timeout, offer_timeout)
  OMNIROUTE_DURATION(grab_window, grab_window)
  OMNIROUTE_DURATION(preferred_timeout, preferred_timeout)
  OMNIROUTE_DURATION(last_agent_timeout, last_engineer_timeout)
  OMNIROUTE_DURATION(vip_timeout, vip_timeout)
  OMNIROUTE_DURATION(wrap_up_duration, wrap_up)
#undef OMNIROUTE_DURATION

  if (q.has_service_level_goal()) c.service_level_goal = q.service_level_goal();
  c.requirements = RequirementsFromProto(q.requirements());

  for (int i = 0; i < q.relaxation_steps_size(); ++i) {
    const v1::RelaxationStep& step = q.relaxation_steps(i);
    const std::string f = Path(field, "relaxation_steps", i);
    if (!step.has_after()) return Invalid(Path(f, "after"), "required");
    absl::StatusOr<absl::Duration> after = DurationFromProto(Path(f, "after"), step.after());
    if (!after.ok()) return after.status();
    if (absl::Status s = CheckEnum(Path(f, "action"), step.action(),
                                                    &v1::RelaxAction_IsValid, false);
        !s.ok()) {
      return s;
    }
    RelaxationStep r;
    r.after = *after;
    r.action = static_cast<RelaxAction>(step.action());
    // Fields the step's action ignores take the engine's neutral values.
    if (r.action != RelaxAction::kAnyEngineer) r.skill = SkillId(step.skill_id());
    if (r.action == RelaxAction::kLowerLevel) r.level = step.level();
    c.relaxation.push_back(std::move(r));
  }

  c.overflow_queue = QueueId(q.overflow_queue_id());
  for (const v1::ChannelLimit& l : q.channel_limits()) {
    c.channel_limits.push_back(ChannelLimit{ChannelId(l.channel_id()), l.max_waiting()});
  }
  for (int i = 0; i < q.tag_rules_size(); ++i) {
    const v1::TagRule& t = q.tag_rules(i);
    const std::string f = Path(field, "tag_rules", i);
    if (t.tag().empty() && t.min_vip_level() == 0 && t.language().empty()) {
      return Invalid(f, "needs a tag, min_vip_level or language");
    }
    if (absl::Status s = CheckEnum(Path(f, "min_tier"), t.min_tier(), &v1::AgentTier_IsValid,
                                   true);
        !s.ok()) {
      return s;
    }
    TagRule rule;
    rule.name = t.name();
    rule.tag = t.tag();
    rule.min_vip_level = t.min_vip_level();
    rule.language = t.language();
    rule.priority_boost = t.priority_boost();
    if (t.has_requirement()) rule.requirement = RequirementFromProto(t.requirement());
    if (t.min_tier() != v1::AGENT_TIER_UNSPECIFIED) {
      rule.min_tier = static_cast<Tier>(t.min_tier());
    }
    c.tag_rules.push_back(std::move(rule));
  }
  if (q.has_appointment_priority()) c.appointment_priority = q.appointment_priority();

  if (!q.strategy().empty()) c.strategy = q.strategy();

  if (absl::Status s = CheckEnum(Path(field, "delivery_mode"),
                                                   q.delivery_mode(), &v1::DeliveryMode_IsValid,
                                                   true);
      !s.ok()) {
    return s;
  }
  if (q.delivery_mode() != v1::DELIVERY_MODE_UNSPECIFIED) {
    c.delivery = static_cast<DeliveryMode>(q.delivery_mode());
  }
  if (q.has_grab_fanout()) c.grab_fanout = q.grab_fanout();
  if (q.has_vip_min_level()) c.vip_min_level = q.vip_min_level();
  if (absl::Status s = CheckEnum(Path(field, "vip_min_tier"), q.vip_min_tier(),
                                                &v1::AgentTier_IsValid, true);
      !s.ok()) {
    return s;
  }
  if (q.vip_min_tier() != v1::AGENT_TIER_UNSPECIFIED) {
    c.vip_min_tier = static_cast<Tier>(q.vip_min_tier());
  }
  return c;
}

absl::StatusOr<EngineerConfig> AgentFromProto(const v1::Agent& a, absl::string_view field) {
  EngineerConfig c;
  c.id = EngineerId(a.id());
  c.display_name = a.display_name();
  for (const v1::SkillLevel& s : a.skills()) {
    c.skills.push_back(SkillLevel{SkillId(s.skill_id()), s.level()});
  }
  if (absl::Status s = CheckEnum(Path(field, "tier"), a.tier(),
                                                &v1::AgentTier_IsValid, true);
      !s.ok()) {
    return s;
  }
  if (a.tier() != v1::AGENT_TIER_UNSPECIFIED) c.tier = static_cast<Tier>(a.tier());
  c.score = a.score();
  if (a.has_budget()) c.budget = a.budget();
  for (const v1::ChannelCapacity& cc : a.channels()) {
    ChannelCapacity cap;
    cap.channel = ChannelId(cc.channel_id());
    if (cc.has_max()) cap.max = cc.max();
    if (cc.has_cost()) cap.cost = cc.cost();
    c.channels.push_back(std::move(cap));
  }
  for (const std::string& q : a.queue_ids()) c.queues.emplace_back(q);
  return c;
}

absl::StatusOr<CreateSession> CreateSessionFromProto(const v1::CreateSessionRequest& r) {
  if (r.request_id().empty()) return Invalid("request_id", "required");
  if (r.request_id().size() > 128) return Invalid("request_id", "longer than 128 characters");
  for (char ch : r.request_id()) {
    if (ch < 0x20 || ch > 0x7e) return Invalid("request_id", "must be printable ASCII");
  }
  CreateSession c;
  c.channel = ChannelId(r.channel_id());
  c.queue = QueueId(r.queue_id());
  c.customer = CustomerFromProto(r.customer());
  c.requirements = RequirementsFromProto(r.requirements());
  c.priority = r.priority();
  for (const v1::Attribute& attr : r.attributes()) c.attributes.emplace_back(attr.key(), attr.value());
  c.intent = r.intent();
  c.start_in_bot = r.start_in_bot();
  if (r.has_appointment()) {
    const v1::Appointment& a = r.appointment();
    absl::StatusOr<absl::Time> start =
        RequiredTime("appointment.start_time", a.has_start_time(), a.start_time());
    if (!start.ok()) return start.status();
    absl::StatusOr<absl::Time> end =
        RequiredTime("appointment.end_time", a.has_end_time(), a.end_time());
    if (!end.ok()) return end.status();
    if (*end <= *start) return Invalid("appointment.end_time", "must be after start_time");
    c.window_start = *start;
    c.window_end = *end;
  }
  return c;
}

absl::StatusOr<CancelSession> CancelSessionFromProto(const v1::CancelSessionRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  if (absl::Status s =
          CheckEnum("kind", r.kind(), &v1::CancelKind_IsValid, true);
      !s.ok()) {
    return s;
  }
  CancelSession c;
  c.session = *id;
  c.abandoned = r.kind() != v1::CANCEL_KIND_WITHDRAWN;
  c.reason = r.reason();
  return c;
}

absl::StatusOr<EscalateSession> EscalateSessionFromProto(const v1::EscalateSessionRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  EscalateSession c;
  c.session = *id;
  c.intent = r.intent();
  c.summary = r.summary();
  c.queue = QueueId(r.queue_id());
  c.requirements = RequirementsFromProto(r.requirements());
  c.priority_boost = r.priority_boost();
  return c;
}

absl::StatusOr<TransferSession> TransferSessionFromProto(const v1::TransferSessionRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  TransferSession c;
  c.session = *id;
  c.queue = QueueId(r.target_queue_id());
  c.engineer = EngineerId(r.target_agent_id());
  absl::StatusOr<absl::Duration> timeout =
      OptionalDuration("target_agent_timeout", r.has_target_agent_timeout(),
                       r.target_agent_timeout(), c.engineer_timeout);
  if (!timeout.ok()) return timeout.status();
  c.engineer_timeout = *timeout;
  c.reason = r.reason();
  return c;
}

absl::StatusOr<CompleteSession> CompleteSessionFromProto(const v1::CompleteSessionRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  return CompleteSession{*id, EngineerId(r.agent_id())};
}

absl::StatusOr<SetPresence> SetPresenceFromProto(const v1::SetPresenceRequest& r) {
  if (absl::Status s =
          CheckEnum("presence", r.presence(), &v1::Presence_IsValid, false);
      !s.ok()) {
    return s;
  }
  SetPresence c;
  c.engineer = EngineerId(r.agent_id());
  c.presence = static_cast<Presence>(r.presence());
  c.reason = r.reason();
  if (c.presence == Presence::kWrapUp) {  // ignored otherwise
    if (!r.has_duration()) return Invalid("duration", "required for PRESENCE_WRAP_UP");
    absl::StatusOr<absl::Duration> d = DurationFromProto("duration", r.duration());
    if (!d.ok()) return d.status();
    c.duration = *d;
  }
  return c;
}

absl::StatusOr<AcceptOffer> AcceptOfferFromProto(const v1::AcceptOfferRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  if (absl::StatusOr<uint64_t> o = ParseOfferId("offer_id", r.offer_id()); !o.ok()) {
    return o.status();
  }
  return AcceptOffer{*id, EngineerId(r.agent_id())};
}

absl::StatusOr<RejectOffer> RejectOfferFromProto(const v1::RejectOfferRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  if (absl::StatusOr<uint64_t> o = ParseOfferId("offer_id", r.offer_id()); !o.ok()) {
    return o.status();
  }
  return RejectOffer{*id, EngineerId(r.agent_id()), r.reason()};
}

absl::StatusOr<ClaimOffer> ClaimOfferFromProto(const v1::ClaimOfferRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  if (absl::StatusOr<uint64_t> o = ParseOfferId("offer_id", r.offer_id()); !o.ok()) {
    return o.status();
  }
  return ClaimOffer{*id, EngineerId(r.agent_id())};
}

absl::StatusOr<EndWrapUp> EndWrapUpFromProto(const v1::EndWrapUpRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  return EndWrapUp{*id, EngineerId(r.agent_id())};
}

absl::StatusOr<RequestCallback> RequestCallbackFromProto(const v1::RequestCallbackRequest& r) {
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", r.session_id());
  if (!id.ok()) return id.status();
  if (r.callback_number().empty()) return Invalid("callback_number", "required");
  return RequestCallback{*id, r.callback_number()};
}

// ---------------------------------------------------------------------------------------------
// engine -> proto

v1::AgentTier TierToProto(Tier tier) { return static_cast<v1::AgentTier>(tier); }
v1::Presence PresenceToProto(Presence presence) {
  return static_cast<v1::Presence>(presence);
}
v1::SessionState SessionStateToProto(SessionState state) {
  return static_cast<v1::SessionState>(state);
}
v1::RoutingStage RoutingStageToProto(RoutingStage stage) {
  return static_cast<v1::RoutingStage>(stage);
}
v1::EventType EventTypeToProto(EventType type) { return static_cast<v1::EventType>(type); }
v1::Decider DeciderToProto(Decider decider) { return static_cast<v1::Decider>(decider); }

v1::Channel ChannelToProto(const ChannelSpec& spec) {
  v1::Channel out;
  out.set_id(spec.id.value());
  out.set_cost(spec.cost);
  out.set_default_max(spec.default_max);
  out.set_bot_first(spec.bot_first);
  return out;
}

v1::Queue QueueToProto(const QueueConfig& c) {
  v1::Queue out;
  out.set_id(c.id.value());
  out.set_display_name(c.display_name);
  *out.mutable_ageing_interval() = DurationToProto(c.ageing_interval);
  *out.mutable_service_level_threshold() = DurationToProto(c.service_level_threshold);
  out.set_service_level_goal(c.service_level_goal);
  for (const Requirement& r : c.requirements) RequirementToProto(r, out.add_requirements());
  for (const RelaxationStep& r : c.relaxation) {
    v1::RelaxationStep* step = out.add_relaxation_steps();
    *step->mutable_after() = DurationToProto(r.after);
    step->set_action(static_cast<v1::RelaxAction>(r.action));
    step->set_skill_id(r.skill.value());
    step->set_level(r.level);
  }
  *out.mutable_overflow_after() = DurationToProto(c.overflow_after);
  out.set_overflow_queue_id(c.overflow_queue.value());
  for (const ChannelLimit& l : c.channel_limits) {
    v1::ChannelLimit* limit = out.add_channel_limits();
    limit->set_channel_id(l.channel.value());
    limit->set_max_waiting(l.max_waiting);
  }
  for (const TagRule& t : c.tag_rules) {
    v1::TagRule* rule = out.add_tag_rules();
    rule->set_tag(t.tag);
    rule->set_priority_boost(t.priority_boost);
    if (!(t.requirement == Requirement{})) {
      RequirementToProto(t.requirement, rule->mutable_requirement());
    }
    rule->set_name(t.name);
    rule->set_min_vip_level(t.min_vip_level);
    rule->set_language(t.language);
    if (t.min_tier.has_value()) rule->set_min_tier(TierToProto(*t.min_tier));
  }
  out.set_appointment_priority(c.appointment_priority);
  out.set_strategy(c.strategy);
  out.set_delivery_mode(static_cast<v1::DeliveryMode>(c.delivery));
  *out.mutable_offer_timeout() = DurationToProto(c.offer_timeout);
  out.set_grab_fanout(c.grab_fanout);
  *out.mutable_grab_window() = DurationToProto(c.grab_window);
  *out.mutable_preferred_timeout() = DurationToProto(c.preferred_timeout);
  *out.mutable_last_agent_timeout() = DurationToProto(c.last_engineer_timeout);
  out.set_vip_min_level(c.vip_min_level);
  out.set_vip_min_tier(TierToProto(c.vip_min_tier));
  *out.mutable_vip_timeout() = DurationToProto(c.vip_timeout);
  *out.mutable_wrap_up_duration() = DurationToProto(c.wrap_up);
  return out;
}

v1::Queue QueueToProto(const QueueInfo& info) {
  v1::Queue out = QueueToProto(info.config);
  for (const EngineerId& e : info.engineers) out.add_agent_ids(e.value());
  return out;
}

v1::Agent AgentToProto(const EngineerConfig& c) {
  v1::Agent out;
  out.set_id(c.id.value());
  out.set_display_name(c.display_name);
  for (const SkillLevel& s : c.skills) {
    v1::SkillLevel* skill = out.add_skills();
    skill->set_skill_id(s.skill.value());
    skill->set_level(s.level);
  }
  out.set_tier(TierToProto(c.tier));
  out.set_score(c.score);
  out.set_budget(c.budget);
  for (const ChannelCapacity& cc : c.channels) {
    v1::ChannelCapacity* cap = out.add_channels();
    cap->set_channel_id(cc.channel.value());
    cap->set_max(cc.max);
    if (cc.cost >= 0) cap->set_cost(cc.cost);  // -1: the channel's cost, i.e. unset
  }
  for (const QueueId& q : c.queues) out.add_queue_ids(q.value());
  return out;
}

v1::AgentStatus AgentStatusToProto(const EngineerInfo& info) {
  v1::AgentStatus out;
  out.set_agent_id(info.config.id.value());
  out.set_presence(PresenceToProto(info.presence));
  out.set_presence_reason(info.reason);
  if (IsFinite(info.presence_since)) {
    SetTime(info.presence_since, out.mutable_presence_change_time());
  }
  if (IsFinite(info.idle_since)) SetTime(info.idle_since, out.mutable_idle_start_time());
  out.set_budget(info.config.budget);
  out.set_used_budget(info.used_budget);
  for (const auto& [channel, active] : info.load_by_channel) {
    if (active == 0) continue;
    v1::ChannelLoad* load = out.add_load();
    load->set_channel_id(channel.value());
    load->set_active(active);
  }
  for (SessionId s : info.sessions) out.add_session_ids(SessionIdToString(s));
  out.set_missed_offers_in_row(info.missed_offers_in_row);
  out.set_registration_order(info.registration_order);
  return out;
}

v1::Agent AgentToProto(const EngineerInfo& info) {
  v1::Agent out = AgentToProto(info.config);
  *out.mutable_status() = AgentStatusToProto(info);
  return out;
}

v1::Session SessionToProto(const SessionInfo& s) {
  v1::Session out;
  out.set_id(SessionIdToString(s.id));
  out.set_channel_id(s.channel.value());
  out.set_queue_id(s.queue.value());
  CustomerToProto(s.customer, out.mutable_customer());
  for (const Requirement& r : s.requirements) RequirementToProto(r, out.add_requirements());
  for (const Requirement& r : s.requirements_in_force) {
    RequirementToProto(r, out.add_requirements_in_force());
  }
  out.set_priority(s.priority);
  for (const auto& [key, value] : s.attributes) {
    v1::Attribute* attr = out.add_attributes();
    attr->set_key(key);
    attr->set_value(value);
  }
  out.set_intent(s.intent);
  out.set_bot_summary(s.bot_summary);
  out.set_state(SessionStateToProto(s.state));
  out.set_stage(RoutingStageToProto(s.stage));
  out.set_relaxation_step(s.relaxation_step);
  if (IsFinite(s.created_at)) SetTime(s.created_at, out.mutable_create_time());
  // A BOT or SCHEDULED session has not entered a queue yet: no wait start.
  if (s.state != SessionState::kBot && s.state != SessionState::kScheduled) {
    if (IsFinite(s.waiting_since)) SetTime(s.waiting_since, out.mutable_wait_start_time());
    if (IsFinite(s.queue_entered_at)) {
      SetTime(s.queue_entered_at, out.mutable_queue_enter_time());
    }
  }
  out.set_agent_id(s.engineer.value());
  for (const EngineerId& e : s.offered_to) out.add_offered_agent_ids(e.value());
  for (const EngineerId& e : s.declined_by) out.add_declined_agent_ids(e.value());
  if (s.deadline && IsFinite(*s.deadline)) {
    SetTime(*s.deadline, out.mutable_deadline_time());
  }
  if (IsFinite(s.window_start) && IsFinite(s.window_end)) {
    v1::Appointment* a = out.mutable_appointment();
    SetTime(s.window_start, a->mutable_start_time());
    SetTime(s.window_end, a->mutable_end_time());
  }
  out.set_callback_number(s.callback_number);
  if (s.min_tier.has_value()) out.set_min_tier(TierToProto(*s.min_tier));
  for (const std::string& rule : s.rules_applied) out.add_rules_applied(rule);
  if (s.assigned_at.has_value() && IsFinite(*s.assigned_at)) {
    SetTime(*s.assigned_at, out.mutable_assign_time());
  }
  return out;
}

v1::RoutingReason RoutingReasonToProto(const RoutingReason& r) {
  v1::RoutingReason out;
  out.set_strategy(r.strategy);
  out.set_stage(RoutingStageToProto(r.stage));
  out.set_relaxation_step(r.relaxation_step);
  out.set_decided_by(DeciderToProto(r.decided_by));
  v1::RankKey* winner = out.mutable_winner();
  winner->set_primary(r.winner.primary);
  winner->set_secondary(r.winner.secondary);
  winner->set_order(r.winner.order);
  if (r.has_runner_up) {
    v1::RankKey* runner_up = out.mutable_runner_up();
    runner_up->set_primary(r.runner_up.primary);
    runner_up->set_secondary(r.runner_up.secondary);
    runner_up->set_order(r.runner_up.order);
  }
  out.set_runner_up_agent_id(r.runner_up_engineer.value());
  out.set_effective_priority_milli(r.effective_priority_milli);
  if (r.waited != absl::InfiniteDuration() && r.waited != -absl::InfiniteDuration()) {
    *out.mutable_waited() = DurationToProto(r.waited);
  }
  out.set_runner_up_session_id(SessionIdToString(r.runner_up_session));
  for (const std::string& rule : r.rules) out.add_rules(rule);
  return out;
}

v1::Event EventToProto(const Event& e) {
  v1::Event out;
  out.set_sequence(e.seq);
  if (IsFinite(e.at)) SetTime(e.at, out.mutable_event_time());
  out.set_type(EventTypeToProto(e.type));
  out.set_session_id(SessionIdToString(e.session));
  out.set_queue_id(e.queue.value());
  out.set_to_queue_id(e.to_queue.value());
  out.set_agent_id(e.engineer.value());
  out.set_channel_id(e.channel.value());
  if (!e.session.empty()) out.set_session_state(SessionStateToProto(e.state));
  if (e.type == EventType::kPresenceChanged) out.set_presence(PresenceToProto(e.presence));
  out.set_detail(e.detail);
  if (e.has_reason) *out.mutable_reason() = RoutingReasonToProto(e.reason);
  if (IsFinite(e.deadline)) SetTime(e.deadline, out.mutable_deadline_time());
  if (e.type == EventType::kEngineerRankChanged) {
    out.set_tier(TierToProto(e.tier));
    out.set_previous_tier(TierToProto(e.previous_tier));
    out.set_score(e.score);
  }
  return out;
}

void MarkCallbackOffer(v1::Offer* offer) {
  const std::string& number = offer->session().callback_number();
  if (number.empty()) {
    offer->clear_outbound_callback();
    offer->clear_callback_number();
    return;
  }
  offer->set_outbound_callback(true);
  offer->set_callback_number(number);
}

}  // namespace omniroute::daemon
