// The daemon's conversion layer: engine values <-> omniroute.v1 messages, request validation
// at the edge, and the absl::Status -> grpc::Status mapping.

#include "daemon/convert.h"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/engine.h"

namespace omniroute::daemon {
namespace {

namespace pb = google::protobuf;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// An INVALID_ARGUMENT whose message starts with "<field>:".
void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), field + ":"))
      << "expected the message to start with \"" << field << ":\", got: " << status.message();
}

pb::Duration ProtoDuration(int64_t seconds, int32_t nanos = 0) {
  pb::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

// A customer rule with a tag condition (designated initializers would have to name every
// member under -Wextra).
TagRule Rule(std::string tag, int priority_boost = 0, Requirement requirement = {}) {
  TagRule r;
  r.tag = std::move(tag);
  r.priority_boost = priority_boost;
  r.requirement = std::move(requirement);
  return r;
}

QueueConfig FullQueue() {
  QueueConfig q;
  q.id = QueueId("repair.voice");
  q.display_name = "Repair (voice)";
  q.ageing_interval = absl::Seconds(45);
  q.service_level_threshold = absl::Seconds(25);
  q.service_level_goal = 0.9;
  q.requirements = {{SkillId("repair.phone"), 4}, {SkillId("lang.zh"), 3}};
  q.relaxation = {{absl::Seconds(30), RelaxAction::kLowerLevel, SkillId("repair.phone"), 2},
                  {absl::Seconds(60), RelaxAction::kLowerLevel, SkillId(), 1},
                  {absl::Seconds(90), RelaxAction::kDropSkill, SkillId("lang.zh"), 1},
                  {absl::Seconds(120), RelaxAction::kAnyEngineer, SkillId(), 1}};
  q.overflow_after = absl::Minutes(5);
  q.overflow_queue = QueueId("repair.backup");
  q.channel_limits = {{ChannelId("voice"), 50}, {ChannelId("wechat"), 200}};
  TagRule risk = Rule("risk:negative-social", 200, {SkillId("complaints"), 3});
  risk.min_tier = Tier::kExpert;
  TagRule vip_english = Rule("", 100);
  vip_english.name = "vip2-english";
  vip_english.min_vip_level = 2;
  vip_english.language = "en-US";
  q.tag_rules = {risk, Rule("new-home", -5), vip_english};
  q.appointment_priority = 650;
  q.strategy = "best_rated";
  q.delivery = DeliveryMode::kGrab;
  q.offer_timeout = absl::Seconds(12);
  q.grab_fanout = 5;
  q.grab_window = absl::Milliseconds(7500);
  q.preferred_timeout = absl::ZeroDuration();
  q.last_engineer_timeout = absl::Seconds(8);
  q.vip_min_level = 3;
  q.vip_min_tier = Tier::kMaster;
  q.vip_timeout = absl::Seconds(40);
  q.wrap_up = absl::Microseconds(1'500'001);
  return q;
}

EngineerConfig FullEngineer() {
  EngineerConfig e;
  e.id = EngineerId("eng-1042");
  e.display_name = "Li Wei";
  e.skills = {{SkillId("repair.phone"), 4}, {SkillId("lang.zh"), 5}};
  e.tier = Tier::kExpert;
  e.score = -12345678901LL;
  e.budget = 120;
  e.channels = {{ChannelId("voice"), 1, -1}, {ChannelId("wechat"), 4, 15},
                {ChannelId("email"), 0, 0}};
  e.queues = {QueueId("repair.voice"), QueueId("vip")};
  return e;
}

// ---------------------------------------------------------------------------------------------
// Status mapping

TEST(ConvertStatusTest, OkIsOk) {
  grpc::Status s = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(s.error_message(), "");
}

TEST(ConvertStatusTest, EngineCodesKeepCodeAndMessage) {
  const std::vector<std::pair<absl::Status, grpc::StatusCode>> cases = {
      {absl::InvalidArgumentError("queue.grab_fanout: 0 is outside 1..100"),
       grpc::StatusCode::INVALID_ARGUMENT},
      {absl::NotFoundError("queue: \"nope\" not found"), grpc::StatusCode::NOT_FOUND},
      {absl::AlreadyExistsError("id: session 17 exists"), grpc::StatusCode::ALREADY_EXISTS},
      {absl::FailedPreconditionError("session: not assigned"),
       grpc::StatusCode::FAILED_PRECONDITION},
      {absl::ResourceExhaustedError("queue: channel limit"),
       grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::OutOfRangeError("resume point gone"), grpc::StatusCode::OUT_OF_RANGE},
      {absl::UnavailableError("shutting down"), grpc::StatusCode::UNAVAILABLE},
      {absl::InternalError("bug"), grpc::StatusCode::INTERNAL},
  };
  for (const auto& [in, code] : cases) {
    grpc::Status out = ToGrpcStatus(in);
    EXPECT_EQ(out.error_code(), code) << in;
    EXPECT_EQ(out.error_message(), std::string(in.message()));
  }
}

TEST(ConvertStatusTest, EveryCanonicalCodeMapsToTheSameNumber) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), "m");
    EXPECT_EQ(static_cast<int>(ToGrpcStatus(in).error_code()), code);
  }
}

// ---------------------------------------------------------------------------------------------
// Scalars

TEST(ConvertScalarTest, SessionIdParsesStrictly) {
  EXPECT_EQ(*ParseSessionId("session_id", "17"), SessionId(17));
  EXPECT_EQ(*ParseSessionId("session_id", "18446744073709551615"),
            SessionId(UINT64_MAX));
  for (const char* bad : {"", "0", "017", "-1", "+1", "1a", " 1", "1 ", "0x1", "1.0",
                          "18446744073709551616", "99999999999999999999", "123456789012345678901"}) {
    SCOPED_TRACE(bad);
    absl::StatusOr<SessionId> id = ParseSessionId("session_id", bad);
    ASSERT_FALSE(id.ok());
    ExpectInvalid(id.status(), "session_id");
  }
  EXPECT_EQ(SessionIdToString(SessionId(17)), "17");
  EXPECT_EQ(SessionIdToString(SessionId()), "");
}

TEST(ConvertScalarTest, OfferIdIsOptional) {
  EXPECT_EQ(*ParseOfferId("offer_id", ""), 0u);
  EXPECT_EQ(*ParseOfferId("offer_id", "42"), 42u);
  ExpectInvalid(ParseOfferId("offer_id", "x").status(), "offer_id");
}

TEST(ConvertScalarTest, DurationsRoundTripAndTruncateToMicros) {
  for (absl::Duration d : {absl::ZeroDuration(), absl::Microseconds(1), absl::Seconds(30),
                           absl::Microseconds(1'500'001), absl::Hours(24 * 365)}) {
    EXPECT_EQ(*DurationFromProto("d", DurationToProto(d)), d);
  }
  EXPECT_EQ(*DurationFromProto("d", ProtoDuration(1, 999)), absl::Seconds(1));
  EXPECT_EQ(*DurationFromProto("d", ProtoDuration(0, 1'999)), absl::Microseconds(1));
  ExpectInvalid(DurationFromProto("d", ProtoDuration(-1)).status(), "d");
  ExpectInvalid(DurationFromProto("d", ProtoDuration(0, -5)).status(), "d");
  ExpectInvalid(DurationFromProto("d", ProtoDuration(1, -5)).status(), "d");  // sign mismatch
  ExpectInvalid(DurationFromProto("d", ProtoDuration(0, 1'000'000'000)).status(), "d");
  ExpectInvalid(DurationFromProto("d", ProtoDuration(315'576'000'001)).status(), "d");
}

TEST(ConvertScalarTest, TimestampsRoundTrip) {
  for (absl::Time t : {kT0, kT0 + absl::Microseconds(123456), absl::UnixEpoch(),
                       absl::UnixEpoch() - absl::Microseconds(1)}) {
    pb::Timestamp ts = TimeToProto(t);
    EXPECT_GE(ts.nanos(), 0);
    EXPECT_LT(ts.nanos(), 1'000'000'000);
    EXPECT_EQ(TimeFromProto(ts), t);
  }
  pb::Timestamp ts = TimeToProto(absl::UnixEpoch() - absl::Microseconds(1));
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999'999'000);
}

// ---------------------------------------------------------------------------------------------
// Queues, agents, channels

TEST(ConvertQueueTest, FullConfigRoundTrips) {
  const QueueConfig q = FullQueue();
  v1::Queue proto = QueueToProto(q);
  EXPECT_EQ(proto.id(), "repair.voice");
  EXPECT_EQ(proto.delivery_mode(), v1::DELIVERY_MODE_GRAB);
  EXPECT_EQ(proto.vip_min_tier(), v1::AGENT_TIER_MASTER);
  EXPECT_TRUE(proto.has_preferred_timeout());  // a zero span is sent as 0s, not unset
  EXPECT_EQ(proto.grab_window().seconds(), 7);
  EXPECT_EQ(proto.grab_window().nanos(), 500'000'000);
  ASSERT_EQ(proto.relaxation_steps_size(), 4);
  EXPECT_EQ(proto.relaxation_steps(3).action(), v1::RELAX_ACTION_ANY_AGENT);
  EXPECT_TRUE(proto.tag_rules(0).has_requirement());
  EXPECT_FALSE(proto.tag_rules(1).has_requirement());
  EXPECT_EQ(proto.tag_rules(0).min_tier(), v1::AGENT_TIER_EXPERT);
  EXPECT_EQ(proto.tag_rules(1).min_tier(), v1::AGENT_TIER_UNSPECIFIED);  // none
  EXPECT_EQ(proto.tag_rules(2).name(), "vip2-english");
  EXPECT_EQ(proto.tag_rules(2).tag(), "");
  EXPECT_EQ(proto.tag_rules(2).min_vip_level(), 2);
  EXPECT_EQ(proto.tag_rules(2).language(), "en-US");
  EXPECT_TRUE(proto.has_appointment_priority());
  EXPECT_EQ(proto.appointment_priority(), 650);
  absl::StatusOr<QueueConfig> back = QueueFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, q);
}

TEST(ConvertQueueTest, DefaultConfigRoundTrips) {
  QueueConfig q;
  q.id = QueueId("general");
  absl::StatusOr<QueueConfig> back = QueueFromProto(QueueToProto(q));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, q);
}

TEST(ConvertQueueTest, UnsetFieldsTakeTheDocumentedDefaults) {
  v1::Queue proto;
  proto.set_id("general");
  absl::StatusOr<QueueConfig> q = QueueFromProto(proto);
  ASSERT_TRUE(q.ok()) << q.status();
  QueueConfig expected;
  expected.id = QueueId("general");
  EXPECT_EQ(*q, expected);
  EXPECT_EQ(q->ageing_interval, absl::Seconds(30));
  EXPECT_EQ(q->service_level_threshold, absl::Seconds(20));
  EXPECT_DOUBLE_EQ(q->service_level_goal, 0.8);
  EXPECT_EQ(q->strategy, "longest_idle");
  EXPECT_EQ(q->delivery, DeliveryMode::kDirect);
  EXPECT_EQ(q->offer_timeout, absl::Seconds(15));
  EXPECT_EQ(q->grab_fanout, 3);
  EXPECT_EQ(q->grab_window, absl::Seconds(10));
  EXPECT_EQ(q->preferred_timeout, absl::Seconds(20));
  EXPECT_EQ(q->last_engineer_timeout, absl::Seconds(10));
  EXPECT_EQ(q->vip_min_level, 1);
  EXPECT_EQ(q->vip_min_tier, Tier::kElite);
  EXPECT_EQ(q->vip_timeout, absl::Seconds(30));
  EXPECT_EQ(q->wrap_up, absl::Seconds(30));
  EXPECT_EQ(q->overflow_after, absl::ZeroDuration());
  EXPECT_EQ(q->appointment_priority, 800);

  // Explicit zeros are values, not "unset".
  *proto.mutable_ageing_interval() = ProtoDuration(0);
  proto.set_grab_fanout(0);
  proto.set_service_level_goal(0);
  proto.set_appointment_priority(0);
  q = QueueFromProto(proto);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->ageing_interval, absl::ZeroDuration());
  EXPECT_EQ(q->grab_fanout, 0);
  EXPECT_EQ(q->service_level_goal, 0.0);
  EXPECT_EQ(q->appointment_priority, 0);
}

TEST(ConvertQueueTest, CustomerRules) {
  v1::Queue proto;
  proto.set_id("q");
  // A rule on the VIP level alone, one on the language alone, one on all three conditions.
  v1::TagRule* vip = proto.add_tag_rules();
  vip->set_min_vip_level(2);
  vip->set_priority_boost(50);
  v1::TagRule* lang = proto.add_tag_rules();
  lang->set_name("english");
  lang->set_language("en-US");
  lang->mutable_requirement()->set_skill_id("lang.en");
  lang->mutable_requirement()->set_min_level(3);
  v1::TagRule* all = proto.add_tag_rules();
  all->set_tag("risk:negative-social");
  all->set_min_vip_level(1);
  all->set_language("zh-CN");
  all->set_min_tier(v1::AGENT_TIER_MASTER);
  absl::StatusOr<QueueConfig> q = QueueFromProto(proto);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->tag_rules.size(), 3u);
  TagRule want_vip = Rule("", 50);
  want_vip.min_vip_level = 2;
  TagRule want_lang = Rule("", 0, {SkillId("lang.en"), 3});
  want_lang.name = "english";
  want_lang.language = "en-US";
  TagRule want_all = Rule("risk:negative-social");
  want_all.min_vip_level = 1;
  want_all.language = "zh-CN";
  want_all.min_tier = Tier::kMaster;
  EXPECT_EQ(q->tag_rules[0], want_vip);
  EXPECT_EQ(q->tag_rules[1], want_lang);
  EXPECT_EQ(q->tag_rules[2], want_all);
  EXPECT_EQ(*QueueFromProto(QueueToProto(*q)), *q);
}

TEST(ConvertQueueTest, InvalidCustomerRulesNameTheRule) {
  v1::Queue base = QueueToProto(FullQueue());

  // No condition at all: only actions.
  v1::Queue p = base;
  v1::TagRule* bare = p.mutable_tag_rules(1);
  bare->clear_tag();
  bare->set_name("boost-everyone");
  absl::Status s = QueueFromProto(p).status();
  ExpectInvalid(s, "queue.tag_rules[1]");
  EXPECT_EQ(s.message(), "queue.tag_rules[1]: needs a tag, min_vip_level or language");
  ExpectInvalid(QueueFromProto(p, "queues[3]").status(), "queues[3].tag_rules[1]");

  p = base;
  p.mutable_tag_rules(0)->set_min_tier(static_cast<v1::AgentTier>(6));
  ExpectInvalid(QueueFromProto(p).status(), "queue.tag_rules[0].min_tier");
  p.mutable_tag_rules(0)->set_min_tier(static_cast<v1::AgentTier>(-1));
  ExpectInvalid(QueueFromProto(p).status(), "queue.tag_rules[0].min_tier");
}

TEST(ConvertQueueTest, IgnoredRelaxationFieldsAreNeutral) {
  v1::Queue proto;
  proto.set_id("q");
  v1::RelaxationStep* drop = proto.add_relaxation_steps();
  *drop->mutable_after() = ProtoDuration(10);
  drop->set_action(v1::RELAX_ACTION_DROP_SKILL);
  drop->set_skill_id("lang.zh");
  drop->set_level(0);  // ignored
  v1::RelaxationStep* any = proto.add_relaxation_steps();
  *any->mutable_after() = ProtoDuration(20);
  any->set_action(v1::RELAX_ACTION_ANY_AGENT);
  any->set_skill_id("ignored");
  any->set_level(9);
  absl::StatusOr<QueueConfig> q = QueueFromProto(proto);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->relaxation.size(), 2u);
  EXPECT_EQ(q->relaxation[0],
            (RelaxationStep{absl::Seconds(10), RelaxAction::kDropSkill, SkillId("lang.zh"), 1}));
  EXPECT_EQ(q->relaxation[1],
            (RelaxationStep{absl::Seconds(20), RelaxAction::kAnyEngineer, SkillId(), 1}));
}

TEST(ConvertQueueTest, InvalidProtoInputsNameTheField) {
  v1::Queue base = QueueToProto(FullQueue());

  v1::Queue p = base;
  p.mutable_relaxation_steps(1)->set_action(v1::RELAX_ACTION_UNSPECIFIED);
  ExpectInvalid(QueueFromProto(p).status(), "queue.relaxation_steps[1].action");

  p = base;
  p.mutable_relaxation_steps(2)->set_action(static_cast<v1::RelaxAction>(42));
  ExpectInvalid(QueueFromProto(p).status(), "queue.relaxation_steps[2].action");

  p = base;
  p.mutable_relaxation_steps(0)->clear_after();
  ExpectInvalid(QueueFromProto(p).status(), "queue.relaxation_steps[0].after");

  p = base;
  *p.mutable_relaxation_steps(0)->mutable_after() = ProtoDuration(-30);
  ExpectInvalid(QueueFromProto(p).status(), "queue.relaxation_steps[0].after");

  p = base;
  *p.mutable_offer_timeout() = ProtoDuration(-1);
  ExpectInvalid(QueueFromProto(p).status(), "queue.offer_timeout");

  p = base;
  *p.mutable_last_agent_timeout() = ProtoDuration(0, -1);
  ExpectInvalid(QueueFromProto(p).status(), "queue.last_agent_timeout");

  p = base;
  *p.mutable_wrap_up_duration() = ProtoDuration(5, -1);
  ExpectInvalid(QueueFromProto(p).status(), "queue.wrap_up_duration");

  p = base;
  p.set_delivery_mode(static_cast<v1::DeliveryMode>(7));
  ExpectInvalid(QueueFromProto(p).status(), "queue.delivery_mode");

  p = base;
  p.set_vip_min_tier(static_cast<v1::AgentTier>(6));
  ExpectInvalid(QueueFromProto(p).status(), "queue.vip_min_tier");

  // The caller names where the queue sits in its request.
  p = base;
  *p.mutable_grab_window() = ProtoDuration(-2);
  ExpectInvalid(QueueFromProto(p, "queues[2]").status(), "queues[2].grab_window");
}

TEST(ConvertAgentTest, FullConfigRoundTrips) {
  const EngineerConfig e = FullEngineer();
  v1::Agent proto = AgentToProto(e);
  EXPECT_EQ(proto.tier(), v1::AGENT_TIER_EXPERT);
  ASSERT_EQ(proto.channels_size(), 3);
  EXPECT_FALSE(proto.channels(0).has_cost());  // -1: the channel's cost
  EXPECT_TRUE(proto.channels(2).has_cost());
  EXPECT_EQ(proto.channels(2).cost(), 0);
  EXPECT_FALSE(proto.has_status());
  absl::StatusOr<EngineerConfig> back = AgentFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, e);
}

TEST(ConvertAgentTest, UnsetFieldsTakeTheDocumentedDefaults) {
  v1::Agent proto;
  proto.set_id("eng-1");
  v1::ChannelCapacity* cap = proto.add_channels();
  cap->set_channel_id("wechat");
  absl::StatusOr<EngineerConfig> e = AgentFromProto(proto);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->tier, Tier::kRookie);
  EXPECT_EQ(e->budget, 60);
  EXPECT_EQ(e->score, 0);
  ASSERT_EQ(e->channels.size(), 1u);
  EXPECT_EQ(e->channels[0], (ChannelCapacity{ChannelId("wechat"), 1, -1}));

  proto.set_budget(0);  // explicit zero is a value
  EXPECT_EQ(AgentFromProto(proto)->budget, 0);
}

TEST(ConvertAgentTest, OutOfRangeTierNamesTheField) {
  v1::Agent proto = AgentToProto(FullEngineer());
  proto.set_tier(static_cast<v1::AgentTier>(9));
  ExpectInvalid(AgentFromProto(proto).status(), "agent.tier");
  ExpectInvalid(AgentFromProto(proto, "agents[0]").status(), "agents[0].tier");
}

TEST(ConvertAgentTest, InfoCarriesStatus) {
  EngineerInfo info;
  info.config = FullEngineer();
  info.presence = Presence::kNotReady;
  info.reason = "break";
  info.presence_since = kT0;
  info.idle_since = kT0 - absl::Seconds(5);
  info.used_budget = 35;
  info.load_by_channel = {{ChannelId("voice"), 0}, {ChannelId("wechat"), 2}};
  info.sessions = {SessionId(3), SessionId(17)};
  info.missed_offers_in_row = 2;
  info.registration_order = 7;
  v1::Agent proto = AgentToProto(info);
  EXPECT_EQ(proto.id(), "eng-1042");
  const v1::AgentStatus& st = proto.status();
  EXPECT_EQ(st.agent_id(), "eng-1042");
  EXPECT_EQ(st.presence(), v1::PRESENCE_NOT_READY);
  EXPECT_EQ(st.presence_reason(), "break");
  EXPECT_EQ(TimeFromProto(st.presence_change_time()), kT0);
  EXPECT_EQ(TimeFromProto(st.idle_start_time()), kT0 - absl::Seconds(5));
  EXPECT_EQ(st.budget(), 120);
  EXPECT_EQ(st.used_budget(), 35);
  ASSERT_EQ(st.load_size(), 1);  // channels with none are left out
  EXPECT_EQ(st.load(0).channel_id(), "wechat");
  EXPECT_EQ(st.load(0).active(), 2);
  ASSERT_EQ(st.session_ids_size(), 2);
  EXPECT_EQ(st.session_ids(1), "17");
  EXPECT_EQ(st.missed_offers_in_row(), 2);
  EXPECT_EQ(st.registration_order(), 7u);
}

TEST(ConvertQueueTest, InfoCarriesAgents) {
  QueueInfo info;
  info.config = FullQueue();
  info.engineers = {EngineerId("b"), EngineerId("a")};
  v1::Queue proto = QueueToProto(info);
  ASSERT_EQ(proto.agent_ids_size(), 2);
  EXPECT_EQ(proto.agent_ids(0), "b");
  EXPECT_EQ(*QueueFromProto(proto), info.config);  // output-only agent_ids ignored
}

TEST(ConvertChannelTest, RoundTripAndDefaults) {
  ChannelSpec video{.id = ChannelId("video"), .cost = 0, .default_max = 0, .bot_first = true};
  EXPECT_EQ(*ChannelFromProto(ChannelToProto(video)), video);
  v1::Channel proto;
  proto.set_id("fax");
  ChannelSpec expected;
  expected.id = ChannelId("fax");
  EXPECT_EQ(*ChannelFromProto(proto), expected);
}

// ---------------------------------------------------------------------------------------------
// Commands

TEST(ConvertCommandTest, CreateSession) {
  v1::CreateSessionRequest r;
  r.set_request_id("9b2f4c1e-0d4a-4f5e-9c1a-3f7b2e8d6a10");
  r.set_channel_id("wechat");
  r.set_queue_id("repair.voice");
  v1::Customer* cust = r.mutable_customer();
  cust->set_id("cust-7");
  cust->set_vip_level(2);
  cust->add_tags("new-home");
  cust->set_language("zh-CN");
  cust->add_preferred_agent_ids("eng-2");
  cust->add_preferred_agent_ids("eng-1");
  cust->set_last_agent_id("eng-3");
  v1::Requirement* req = r.add_requirements();
  req->set_skill_id("repair.phone");
  req->set_min_level(3);
  r.set_priority(500);
  v1::Attribute* a = r.add_attributes();
  a->set_key("order");
  a->set_value("A-1");
  a = r.add_attributes();
  a->set_key("device");
  a->set_value("x");
  r.set_intent("repair");
  r.set_start_in_bot(true);
  absl::StatusOr<CreateSession> c = CreateSessionFromProto(r);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->id.empty());
  EXPECT_EQ(c->channel, ChannelId("wechat"));
  EXPECT_EQ(c->queue, QueueId("repair.voice"));
  CustomerSnapshot expected_customer{CustomerId("cust-7"), 2, {"new-home"}, "zh-CN",
                                     {EngineerId("eng-2"), EngineerId("eng-1")},
                                     EngineerId("eng-3")};
  EXPECT_EQ(c->customer, expected_customer);
  EXPECT_EQ(c->requirements, (std::vector<Requirement>{{SkillId("repair.phone"), 3}}));
  EXPECT_EQ(c->priority, 500);
  ASSERT_EQ(c->attributes.size(), 2u);
  EXPECT_EQ(c->attributes[1].first, "device");
  EXPECT_EQ(c->intent, "repair");
  EXPECT_TRUE(c->start_in_bot);

  // No appointment: no window.
  EXPECT_EQ(c->window_start, absl::InfinitePast());
  EXPECT_EQ(c->window_end, absl::InfinitePast());
  // The customer handle is resolved by the daemon around the command, not converted.
  r.mutable_customer_handle()->set_kind("wechat");
  r.mutable_customer_handle()->set_value("o6_bmjrPTlm6_2sgVt7hMZOPfL2M");
  ASSERT_TRUE(CreateSessionFromProto(r).ok());
  EXPECT_EQ(CreateSessionFromProto(r)->customer, expected_customer);

  r.clear_request_id();
  ExpectInvalid(CreateSessionFromProto(r).status(), "request_id");
  r.set_request_id("tab\there");
  ExpectInvalid(CreateSessionFromProto(r).status(), "request_id");
  r.set_request_id(std::string(129, 'x'));
  ExpectInvalid(CreateSessionFromProto(r).status(), "request_id");
}

TEST(ConvertCommandTest, CreateSessionWithAnAppointment) {
  v1::CreateSessionRequest r;
  r.set_request_id("booking-1");
  r.set_channel_id("onsite_visit");
  r.set_queue_id("field");
  *r.mutable_appointment()->mutable_start_time() = TimeToProto(kT0 + absl::Hours(2));
  *r.mutable_appointment()->mutable_end_time() =
      TimeToProto(kT0 + absl::Hours(4) + absl::Nanoseconds(1'999));
  absl::StatusOr<CreateSession> c = CreateSessionFromProto(r);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->window_start, kT0 + absl::Hours(2));
  EXPECT_EQ(c->window_end, kT0 + absl::Hours(4) + absl::Microseconds(1));  // truncated

  struct Case {
    const char* what;
    void (*spoil)(v1::Appointment*);
    const char* field;
    const char* message;  // nullptr: not checked beyond the field
  };
  const Case cases[] = {
      {"no start", [](v1::Appointment* a) { a->clear_start_time(); }, "appointment.start_time",
       "appointment.start_time: required"},
      {"no end", [](v1::Appointment* a) { a->clear_end_time(); }, "appointment.end_time",
       "appointment.end_time: required"},
      {"empty appointment",
       [](v1::Appointment* a) {
         a->clear_start_time();
         a->clear_end_time();
       },
       "appointment.start_time", nullptr},
      {"end before start",
       [](v1::Appointment* a) {
         *a->mutable_end_time() = TimeToProto(kT0 + absl::Hours(1));
       },
       "appointment.end_time", "appointment.end_time: must be after start_time"},
      {"end equal to start",
       [](v1::Appointment* a) { *a->mutable_end_time() = a->start_time(); },
       "appointment.end_time", "appointment.end_time: must be after start_time"},
      {"nanos out of range",
       [](v1::Appointment* a) { a->mutable_start_time()->set_nanos(1'000'000'000); },
       "appointment.start_time", nullptr},
      {"negative nanos", [](v1::Appointment* a) { a->mutable_end_time()->set_nanos(-1); },
       "appointment.end_time", nullptr},
      {"year 10000",
       [](v1::Appointment* a) { a->mutable_end_time()->set_seconds(253'402'300'800); },
       "appointment.end_time", nullptr},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.what);
    v1::CreateSessionRequest bad = r;
    k.spoil(bad.mutable_appointment());
    absl::Status s = CreateSessionFromProto(bad).status();
    ExpectInvalid(s, k.field);
    if (k.message != nullptr) {
      EXPECT_EQ(s.message(), k.message);
    }
  }
}

TEST(ConvertCommandTest, RequestCallback) {
  v1::RequestCallbackRequest r;
  r.set_session_id("12");
  r.set_callback_number("+86 138 0000 0000");
  absl::StatusOr<RequestCallback> c = RequestCallbackFromProto(r);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->session, SessionId(12));
  EXPECT_EQ(c->number, "+86 138 0000 0000");

  r.clear_callback_number();
  absl::Status s = RequestCallbackFromProto(r).status();
  ExpectInvalid(s, "callback_number");
  EXPECT_EQ(s.message(), "callback_number: required");
  r.set_callback_number("123");
  r.set_session_id("twelve");
  ExpectInvalid(RequestCallbackFromProto(r).status(), "session_id");
  r.clear_session_id();
  ExpectInvalid(RequestCallbackFromProto(r).status(), "session_id");
}

TEST(ConvertCommandTest, CancelSessionKinds) {
  v1::CancelSessionRequest r;
  r.set_session_id("17");
  r.set_reason("hung up");
  absl::StatusOr<CancelSession> c = CancelSessionFromProto(r);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->session, SessionId(17));
  EXPECT_TRUE(c->abandoned);  // unspecified: ABANDONED
  EXPECT_EQ(c->reason, "hung up");
  r.set_kind(v1::CANCEL_KIND_ABANDONED);
  EXPECT_TRUE(CancelSessionFromProto(r)->abandoned);
  r.set_kind(v1::CANCEL_KIND_WITHDRAWN);
  EXPECT_FALSE(CancelSessionFromProto(r)->abandoned);
  r.set_kind(static_cast<v1::CancelKind>(3));
  ExpectInvalid(CancelSessionFromProto(r).status(), "kind");
  r.set_kind(v1::CANCEL_KIND_WITHDRAWN);
  r.set_session_id("abc");
  ExpectInvalid(CancelSessionFromProto(r).status(), "session_id");
}

TEST(ConvertCommandTest, EscalateSession) {
  v1::EscalateSessionRequest r;
  r.set_session_id("5");
  r.set_intent("refund");
  r.set_summary("wants a refund for order A-1");
  r.set_queue_id("billing");
  v1::Requirement* req = r.add_requirements();
  req->set_skill_id("billing");
  req->set_min_level(2);
  r.set_priority_boost(100);
  absl::StatusOr<EscalateSession> c = EscalateSessionFromProto(r);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->session, SessionId(5));
  EXPECT_EQ(c->intent, "refund");
  EXPECT_EQ(c->summary, "wants a refund for order A-1");
  EXPECT_EQ(c->queue, QueueId("billing"));
  EXPECT_EQ(c->requirements, (std::vector<Requirement>{{SkillId("billing"), 2}}));
  EXPECT_EQ(c->priority_boost, 100);
  r.set_session_id("");
  ExpectInvalid(EscalateSessionFromProto(r).status(), "session_id");
}

TEST(ConvertCommandTest, TransferSession) {
  v1::TransferSessionRequest r;
  r.set_session_id("9");
  r.set_target_queue_id("vip");
  r.set_target_agent_id("eng-2");
  r.set_reason("language");
  absl::StatusOr<TransferSession> c = TransferSessionFromProto(r);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->session, SessionId(9));
  EXPECT_EQ(c->queue, QueueId("vip"));
  EXPECT_EQ(c->engineer, EngineerId("eng-2"));
  EXPECT_EQ(c->engineer_timeout, absl::Seconds(30));  // unset: 30s
  EXPECT_EQ(c->reason, "language");
  *r.mutable_target_agent_timeout() = ProtoDuration(0);
  EXPECT_EQ(TransferSessionFromProto(r)->engineer_timeout, absl::ZeroDuration());
  *r.mutable_target_agent_timeout() = ProtoDuration(-5);
  ExpectInvalid(TransferSessionFromProto(r).status(), "target_agent_timeout");
  r.clear_target_agent_timeout();
  r.set_session_id("09");
  ExpectInvalid(TransferSessionFromProto(r).status(), "session_id");
}

TEST(ConvertCommandTest, SetPresence) {
  v1::SetPresenceRequest r;
  r.set_agent_id("eng-1");
  ExpectInvalid(SetPresenceFromProto(r).status(), "presence");  // unspecified
  r.set_presence(static_cast<v1::Presence>(5));
  ExpectInvalid(SetPresenceFromProto(r).status(), "presence");

  r.set_presence(v1::PRESENCE_NOT_READY);
  r.set_reason("break");
  *r.mutable_duration() = ProtoDuration(-1);  // ignored unless WRAP_UP
  absl::StatusOr<SetPresence> c = SetPresenceFromProto(r);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->engineer, EngineerId("eng-1"));
  EXPECT_EQ(c->presence, Presence::kNotReady);
  EXPECT_EQ(c->reason, "break");
  EXPECT_EQ(c->duration, absl::ZeroDuration());

  r.set_presence(v1::PRESENCE_WRAP_UP);
  ExpectInvalid(SetPresenceFromProto(r).status(), "duration");
  r.clear_duration();
  ExpectInvalid(SetPresenceFromProto(r).status(), "duration");
  *r.mutable_duration() = ProtoDuration(90);
  c = SetPresenceFromProto(r);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->presence, Presence::kWrapUp);
  EXPECT_EQ(c->duration, absl::Seconds(90));
}

TEST(ConvertCommandTest, AgentAnswers) {
  {
    v1::AcceptOfferRequest r;
    r.set_session_id("3");
    r.set_agent_id("eng-1");
    r.set_offer_id("120");
    absl::StatusOr<AcceptOffer> c = AcceptOfferFromProto(r);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->session, SessionId(3));
    EXPECT_EQ(c->engineer, EngineerId("eng-1"));
    r.set_offer_id("x1");
    ExpectInvalid(AcceptOfferFromProto(r).status(), "offer_id");
    r.set_offer_id("");
    r.set_session_id("-3");
    ExpectInvalid(AcceptOfferFromProto(r).status(), "session_id");
  }
  {
    v1::RejectOfferRequest r;
    r.set_session_id("4");
    r.set_agent_id("eng-2");
    r.set_reason("busy");
    absl::StatusOr<RejectOffer> c = RejectOfferFromProto(r);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->session, SessionId(4));
    EXPECT_EQ(c->engineer, EngineerId("eng-2"));
    EXPECT_EQ(c->reason, "busy");
    r.set_offer_id("0");
    ExpectInvalid(RejectOfferFromProto(r).status(), "offer_id");
  }
  {
    v1::ClaimOfferRequest r;
    r.set_session_id("5");
    r.set_agent_id("eng-3");
    absl::StatusOr<ClaimOffer> c = ClaimOfferFromProto(r);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->session, SessionId(5));
    EXPECT_EQ(c->engineer, EngineerId("eng-3"));
    r.set_session_id("5.0");
    ExpectInvalid(ClaimOfferFromProto(r).status(), "session_id");
  }
  {
    v1::CompleteSessionRequest r;
    r.set_session_id("6");
    r.set_agent_id("eng-4");
    absl::StatusOr<CompleteSession> c = CompleteSessionFromProto(r);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->session, SessionId(6));
    EXPECT_EQ(c->engineer, EngineerId("eng-4"));
    r.set_session_id("0");
    ExpectInvalid(CompleteSessionFromProto(r).status(), "session_id");
  }
  {
    v1::EndWrapUpRequest r;
    r.set_session_id("7");
    r.set_agent_id("eng-5");
    absl::StatusOr<EndWrapUp> c = EndWrapUpFromProto(r);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->session, SessionId(7));
    EXPECT_EQ(c->engineer, EngineerId("eng-5"));
    r.clear_session_id();
    ExpectInvalid(EndWrapUpFromProto(r).status(), "session_id");
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions and events

TEST(ConvertSessionTest, Fields) {
  SessionInfo s;
  s.id = SessionId(17);
  s.channel = ChannelId("voice");
  s.queue = QueueId("repair.voice");
  s.customer = {CustomerId("cust-7"), 3, {"vip"}, "zh-CN", {EngineerId("eng-2")},
                EngineerId("eng-3")};
  s.requirements = {{SkillId("repair.phone"), 4}};
  s.requirements_in_force = {{SkillId("repair.phone"), 2}};
  s.priority = 300;
  s.attributes = {{"order", "A-1"}};
  s.intent = "repair";
  s.bot_summary = "screen broken";
  s.state = SessionState::kOffered;
  s.stage = RoutingStage::kVipTier;
  s.relaxation_step = 1;
  s.created_at = kT0;
  s.waiting_since = kT0 + absl::Seconds(1);
  s.queue_entered_at = kT0 + absl::Seconds(2);
  s.engineer = EngineerId("eng-9");
  s.offered_to = {EngineerId("eng-9"), EngineerId("eng-8")};
  s.declined_by = {EngineerId("eng-1")};
  s.deadline = kT0 + absl::Seconds(17);

  v1::Session p = SessionToProto(s);
  EXPECT_EQ(p.id(), "17");
  EXPECT_EQ(p.channel_id(), "voice");
  EXPECT_EQ(p.queue_id(), "repair.voice");
  EXPECT_EQ(p.customer().id(), "cust-7");
  EXPECT_EQ(p.customer().vip_level(), 3);
  EXPECT_EQ(p.customer().tags(0), "vip");
  EXPECT_EQ(p.customer().language(), "zh-CN");
  EXPECT_EQ(p.customer().preferred_agent_ids(0), "eng-2");
  EXPECT_EQ(p.customer().last_agent_id(), "eng-3");
  EXPECT_EQ(p.requirements(0).min_level(), 4);
  EXPECT_EQ(p.requirements_in_force(0).min_level(), 2);
  EXPECT_EQ(p.priority(), 300);
  EXPECT_EQ(p.attributes(0).key(), "order");
  EXPECT_EQ(p.attributes(0).value(), "A-1");
  EXPECT_EQ(p.intent(), "repair");
  EXPECT_EQ(p.bot_summary(), "screen broken");
  EXPECT_EQ(p.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(p.stage(), v1::ROUTING_STAGE_VIP_TIER);
  EXPECT_EQ(p.relaxation_step(), 1);
  EXPECT_EQ(TimeFromProto(p.create_time()), kT0);
  EXPECT_EQ(TimeFromProto(p.wait_start_time()), kT0 + absl::Seconds(1));
  EXPECT_EQ(TimeFromProto(p.queue_enter_time()), kT0 + absl::Seconds(2));
  EXPECT_EQ(p.agent_id(), "eng-9");
  ASSERT_EQ(p.offered_agent_ids_size(), 2);
  EXPECT_EQ(p.offered_agent_ids(1), "eng-8");
  EXPECT_EQ(p.declined_agent_ids(0), "eng-1");
  EXPECT_EQ(TimeFromProto(p.deadline_time()), kT0 + absl::Seconds(17));
  EXPECT_EQ(p.request_id(), "");
  // None of the appointment, callback and rule fields.
  EXPECT_FALSE(p.has_appointment());
  EXPECT_EQ(p.callback_number(), "");
  EXPECT_EQ(p.min_tier(), v1::AGENT_TIER_UNSPECIFIED);
  EXPECT_EQ(p.rules_applied_size(), 0);
  EXPECT_FALSE(p.has_assign_time());

  s.state = SessionState::kBot;
  s.deadline.reset();
  p = SessionToProto(s);
  EXPECT_EQ(p.state(), v1::SESSION_STATE_BOT);
  EXPECT_FALSE(p.has_wait_start_time());
  EXPECT_FALSE(p.has_deadline_time());
  EXPECT_TRUE(p.has_create_time());

  s.deadline = absl::InfiniteFuture();
  EXPECT_FALSE(SessionToProto(s).has_deadline_time());
}

TEST(ConvertSessionTest, AppointmentCallbackRulesAndAssignment) {
  SessionInfo s;
  s.id = SessionId(5);
  s.channel = ChannelId("voice");
  s.queue = QueueId("field");
  s.state = SessionState::kScheduled;
  s.created_at = kT0;
  s.waiting_since = kT0 + absl::Hours(1);  // the window start: not reported while SCHEDULED
  s.queue_entered_at = kT0 + absl::Hours(1);
  s.window_start = kT0 + absl::Hours(1);
  s.window_end = kT0 + absl::Hours(3);
  s.min_tier = Tier::kExpert;
  s.rules_applied = {"tag=risk:negative-social", "vip>=2"};

  v1::Session p = SessionToProto(s);
  EXPECT_EQ(p.state(), v1::SESSION_STATE_SCHEDULED);
  EXPECT_FALSE(p.has_wait_start_time()) << "a SCHEDULED session has not entered its queue";
  EXPECT_FALSE(p.has_queue_enter_time());
  ASSERT_TRUE(p.has_appointment());
  EXPECT_EQ(TimeFromProto(p.appointment().start_time()), kT0 + absl::Hours(1));
  EXPECT_EQ(TimeFromProto(p.appointment().end_time()), kT0 + absl::Hours(3));
  EXPECT_EQ(p.min_tier(), v1::AGENT_TIER_EXPERT);
  ASSERT_EQ(p.rules_applied_size(), 2);
  EXPECT_EQ(p.rules_applied(0), "tag=risk:negative-social");
  EXPECT_EQ(p.rules_applied(1), "vip>=2");
  EXPECT_FALSE(p.has_assign_time());
  EXPECT_EQ(p.callback_number(), "");

  s.state = SessionState::kAssigned;
  s.assigned_at = kT0 + absl::Hours(1) + absl::Seconds(42);
  s.callback_number = "+86 138 0000 0000";
  p = SessionToProto(s);
  EXPECT_EQ(TimeFromProto(p.wait_start_time()), kT0 + absl::Hours(1));
  EXPECT_EQ(TimeFromProto(p.assign_time()), kT0 + absl::Hours(1) + absl::Seconds(42));
  EXPECT_EQ(p.callback_number(), "+86 138 0000 0000");
  EXPECT_TRUE(p.has_appointment());
}

TEST(ConvertOfferTest, CallbackOffersAreOutboundCalls) {
  v1::Offer offer;
  offer.set_offer_id("16");
  offer.mutable_session()->set_id("3");
  MarkCallbackOffer(&offer);
  EXPECT_FALSE(offer.outbound_callback());
  EXPECT_EQ(offer.callback_number(), "");

  offer.mutable_session()->set_callback_number("010-8888 1234");
  MarkCallbackOffer(&offer);
  EXPECT_TRUE(offer.outbound_callback());
  EXPECT_EQ(offer.callback_number(), "010-8888 1234");

  // The offer follows its session: no number, no outbound call.
  offer.mutable_session()->clear_callback_number();
  MarkCallbackOffer(&offer);
  EXPECT_FALSE(offer.outbound_callback());
  EXPECT_EQ(offer.callback_number(), "");
}

TEST(ConvertEventTest, RoutingEventWithReason) {
  Event e;
  e.seq = 42;
  e.at = kT0 + absl::Microseconds(250);
  e.type = EventType::kOfferCreated;
  e.session = SessionId(17);
  e.queue = QueueId("repair.voice");
  e.engineer = EngineerId("eng-9");
  e.channel = ChannelId("voice");
  e.state = SessionState::kOffered;
  e.has_reason = true;
  e.reason.strategy = "longest_idle";
  e.reason.stage = RoutingStage::kPreferred;
  e.reason.relaxation_step = 2;
  e.reason.decided_by = Decider::kPrimaryKey;
  e.reason.winner = {100, -3, 4};
  e.reason.has_runner_up = true;
  e.reason.runner_up = {200, 5, 6};
  e.reason.runner_up_engineer = EngineerId("eng-8");
  e.reason.effective_priority_milli = 12'345;
  e.reason.waited = absl::Seconds(12);
  e.reason.runner_up_session = SessionId(18);
  e.reason.rules = {"tag=risk:negative-social", "vip-boost"};
  e.deadline = kT0 + absl::Seconds(15);

  v1::Event p = EventToProto(e);
  EXPECT_EQ(p.sequence(), 42u);
  EXPECT_EQ(TimeFromProto(p.event_time()), e.at);
  EXPECT_EQ(p.type(), v1::EVENT_TYPE_OFFER_CREATED);
  EXPECT_EQ(p.session_id(), "17");
  EXPECT_EQ(p.queue_id(), "repair.voice");
  EXPECT_EQ(p.to_queue_id(), "");
  EXPECT_EQ(p.agent_id(), "eng-9");
  EXPECT_EQ(p.channel_id(), "voice");
  EXPECT_EQ(p.session_state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(p.presence(), v1::PRESENCE_UNSPECIFIED);
  ASSERT_TRUE(p.has_reason());
  const v1::RoutingReason& r = p.reason();
  EXPECT_EQ(r.strategy(), "longest_idle");
  EXPECT_EQ(r.stage(), v1::ROUTING_STAGE_PREFERRED);
  EXPECT_EQ(r.relaxation_step(), 2);
  EXPECT_EQ(r.decided_by(), v1::DECIDER_PRIMARY_KEY);
  EXPECT_EQ(r.winner().primary(), 100);
  EXPECT_EQ(r.winner().secondary(), -3);
  EXPECT_EQ(r.winner().order(), 4u);
  ASSERT_TRUE(r.has_runner_up());
  EXPECT_EQ(r.runner_up().primary(), 200);
  EXPECT_EQ(r.runner_up().order(), 6u);
  EXPECT_EQ(r.runner_up_agent_id(), "eng-8");
  EXPECT_EQ(r.effective_priority_milli(), 12'345);
  EXPECT_EQ(*DurationFromProto("waited", r.waited()), absl::Seconds(12));
  EXPECT_EQ(r.runner_up_session_id(), "18");
  ASSERT_EQ(r.rules_size(), 2);
  EXPECT_EQ(r.rules(0), "tag=risk:negative-social");
  EXPECT_EQ(r.rules(1), "vip-boost");
  EXPECT_EQ(TimeFromProto(p.deadline_time()), kT0 + absl::Seconds(15));
  // Not a rank event: no tier, previous tier or score.
  EXPECT_EQ(p.tier(), v1::AGENT_TIER_UNSPECIFIED);
  EXPECT_EQ(p.previous_tier(), v1::AGENT_TIER_UNSPECIFIED);
  EXPECT_EQ(p.score(), 0);

  e.reason.has_runner_up = false;
  e.reason.runner_up_session = SessionId();
  p = EventToProto(e);
  EXPECT_FALSE(p.reason().has_runner_up());
  EXPECT_EQ(p.reason().runner_up_session_id(), "");
}

TEST(ConvertEventTest, NonSessionAndPresenceEvents) {
  Event e;
  e.seq = 1;
  e.at = kT0;
  e.type = EventType::kPresenceChanged;
  e.engineer = EngineerId("eng-1");
  e.presence = Presence::kNotReady;
  e.detail = "missed-offers";
  v1::Event p = EventToProto(e);
  EXPECT_EQ(p.type(), v1::EVENT_TYPE_PRESENCE_CHANGED);
  EXPECT_EQ(p.session_id(), "");
  EXPECT_EQ(p.session_state(), v1::SESSION_STATE_UNSPECIFIED);
  EXPECT_EQ(p.presence(), v1::PRESENCE_NOT_READY);
  EXPECT_EQ(p.detail(), "missed-offers");
  EXPECT_FALSE(p.has_reason());
  EXPECT_FALSE(p.has_deadline_time());  // InfinitePast: none

  e.type = EventType::kQueueUpserted;
  e.engineer = EngineerId();
  e.queue = QueueId("q");
  p = EventToProto(e);
  EXPECT_EQ(p.type(), v1::EVENT_TYPE_QUEUE_UPSERTED);
  EXPECT_EQ(p.presence(), v1::PRESENCE_UNSPECIFIED);
  EXPECT_EQ(p.queue_id(), "q");
}

TEST(ConvertEventTest, RankWindowAndCallbackEvents) {
  Event e;
  e.seq = 7;
  e.at = kT0;
  e.type = EventType::kEngineerRankChanged;
  e.engineer = EngineerId("eng-1");
  e.tier = Tier::kExpert;
  e.previous_tier = Tier::kElite;
  e.score = 912;
  e.detail = "nightly points";
  v1::Event p = EventToProto(e);
  EXPECT_EQ(p.type(), v1::EVENT_TYPE_AGENT_RANK_CHANGED);
  EXPECT_EQ(p.agent_id(), "eng-1");
  EXPECT_EQ(p.tier(), v1::AGENT_TIER_EXPERT);
  EXPECT_EQ(p.previous_tier(), v1::AGENT_TIER_ELITE);
  EXPECT_EQ(p.score(), 912);
  EXPECT_EQ(p.detail(), "nightly points");
  EXPECT_EQ(p.session_id(), "");
  EXPECT_EQ(p.session_state(), v1::SESSION_STATE_UNSPECIFIED);
  EXPECT_EQ(p.presence(), v1::PRESENCE_UNSPECIFIED);

  e = Event();
  e.seq = 8;
  e.at = kT0 + absl::Hours(1);
  e.type = EventType::kSessionWindowOpened;
  e.session = SessionId(5);
  e.queue = QueueId("field");
  e.channel = ChannelId("onsite_visit");
  e.state = SessionState::kQueued;
  e.tier = Tier::kMaster;  // not a rank event: not reported
  e.score = 5;
  p = EventToProto(e);
  EXPECT_EQ(p.type(), v1::EVENT_TYPE_SESSION_WINDOW_OPENED);
  EXPECT_EQ(p.session_id(), "5");
  EXPECT_EQ(p.session_state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(p.tier(), v1::AGENT_TIER_UNSPECIFIED);
  EXPECT_EQ(p.score(), 0);

  e.type = EventType::kCallbackRequested;
  p = EventToProto(e);
  EXPECT_EQ(p.type(), v1::EVENT_TYPE_CALLBACK_REQUESTED);
  EXPECT_EQ(p.session_state(), v1::SESSION_STATE_QUEUED);

  e.type = EventType::kSessionCreated;
  e.state = SessionState::kScheduled;
  EXPECT_EQ(EventToProto(e).session_state(), v1::SESSION_STATE_SCHEDULED);
}

TEST(ConvertEventTest, EveryEngineEventTypeHasAProtoName) {
  for (int t = static_cast<int>(EventType::kChannelUpserted);
       t <= static_cast<int>(EventType::kCallbackRequested); ++t) {
    v1::EventType p = EventTypeToProto(static_cast<EventType>(t));
    ASSERT_TRUE(v1::EventType_IsValid(p));
    // Same name modulo the contract's vocabulary (engineer -> agent).
    std::string engine_name(EventTypeName(static_cast<EventType>(t)));
    EXPECT_NE(v1::EventType_Name(p), "") << engine_name;
  }
}

// ---------------------------------------------------------------------------------------------
// Through a real engine: what the edge builds, the engine accepts, and reads back equal.

TEST(ConvertEngineTest, ConvertedCommandsDriveTheEngine) {
  Engine engine;
  std::vector<Event> events;
  QueueConfig qc = FullQueue();
  qc.overflow_after = absl::ZeroDuration();
  qc.overflow_queue = QueueId();
  qc.delivery = DeliveryMode::kDirect;
  absl::StatusOr<QueueConfig> q = QueueFromProto(QueueToProto(qc));
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(engine.Apply(UpsertQueue{*q}, kT0, &events).ok());

  EngineerConfig ec = FullEngineer();
  ec.queues = {QueueId("repair.voice")};
  ec.skills = {{SkillId("repair.phone"), 5}, {SkillId("lang.zh"), 5}, {SkillId("complaints"), 5}};
  absl::StatusOr<EngineerConfig> e = AgentFromProto(AgentToProto(ec));
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(engine.Apply(UpsertEngineer{*e}, kT0, &events).ok());

  v1::SetPresenceRequest presence;
  presence.set_agent_id("eng-1042");
  presence.set_presence(v1::PRESENCE_AVAILABLE);
  ASSERT_TRUE(engine.Apply(*SetPresenceFromProto(presence), kT0, &events).ok());

  v1::CreateSessionRequest create;
  create.set_request_id("req-1");
  create.set_channel_id("voice");
  create.set_queue_id("repair.voice");
  create.mutable_customer()->set_id("cust-1");
  absl::StatusOr<CreateSession> cs = CreateSessionFromProto(create);
  ASSERT_TRUE(cs.ok());
  events.clear();
  ASSERT_TRUE(engine.Apply(*cs, kT0 + absl::Seconds(1), &events).ok());
  ASSERT_FALSE(events.empty());

  bool saw_offer = false;
  for (const Event& ev : events) {
    v1::Event p = EventToProto(ev);
    EXPECT_EQ(p.sequence(), ev.seq);
    EXPECT_EQ(p.session_id(), "1");
    if (ev.type == EventType::kOfferCreated) {
      saw_offer = true;
      EXPECT_EQ(p.agent_id(), "eng-1042");
      EXPECT_TRUE(p.has_reason());
      EXPECT_TRUE(p.has_deadline_time());
    }
  }
  EXPECT_TRUE(saw_offer);

  std::optional<SessionInfo> info = engine.GetSession(SessionId(1));
  ASSERT_TRUE(info.has_value());
  v1::Session sp = SessionToProto(*info);
  EXPECT_EQ(sp.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(sp.agent_id(), "eng-1042");
  EXPECT_TRUE(sp.has_wait_start_time());

  std::optional<QueueInfo> qi = engine.GetQueue(QueueId("repair.voice"));
  ASSERT_TRUE(qi.has_value());
  EXPECT_EQ(*QueueFromProto(QueueToProto(*qi)), *q);
  std::optional<EngineerInfo> ei = engine.GetEngineer(EngineerId("eng-1042"));
  ASSERT_TRUE(ei.has_value());
  v1::Agent ap = AgentToProto(*ei);
  EXPECT_EQ(*AgentFromProto(ap), *e);
  EXPECT_EQ(ap.status().presence(), v1::PRESENCE_AVAILABLE);
  ASSERT_EQ(ap.status().session_ids_size(), 1);
  EXPECT_EQ(ap.status().session_ids(0), "1");

  v1::AcceptOfferRequest accept;
  accept.set_session_id(sp.id());
  accept.set_agent_id("eng-1042");
  ASSERT_TRUE(engine.Apply(*AcceptOfferFromProto(accept), kT0 + absl::Seconds(2), &events).ok());
  EXPECT_EQ(engine.GetSession(SessionId(1))->state, SessionState::kAssigned);

  // An engine refusal reaches the client with its code and message.
  v1::CompleteSessionRequest complete;
  complete.set_session_id("1");
  complete.set_agent_id("nobody");
  grpc::Status refused =
      ToGrpcStatus(engine.Apply(*CompleteSessionFromProto(complete), kT0, &events));
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.error_message(), "");
}

// Customer rules, appointments and callbacks: what the edge builds the engine accepts, reads
// back equal, and the engine's refusals reach the client under the API's field paths.
TEST(ConvertEngineTest, RulesAppointmentsAndCallbacksDriveTheEngine) {
  Engine engine;
  std::vector<Event> events;
  v1::Queue queue;
  queue.set_id("care");
  queue.set_appointment_priority(700);
  v1::TagRule* vip = queue.add_tag_rules();
  vip->set_min_vip_level(2);
  vip->set_priority_boost(300);
  v1::TagRule* risk = queue.add_tag_rules();
  risk->set_name("risk");
  risk->set_tag("risk:negative-social");
  risk->set_min_tier(v1::AGENT_TIER_EXPERT);
  absl::StatusOr<QueueConfig> q = QueueFromProto(queue);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_TRUE(engine.Apply(UpsertQueue{*q}, kT0, &events).ok());
  std::optional<QueueInfo> qi = engine.GetQueue(QueueId("care"));
  ASSERT_TRUE(qi.has_value());
  EXPECT_EQ(*QueueFromProto(QueueToProto(*qi)), *q);

  // The engine checks what the edge leaves to it, under the request's field paths.
  v1::Queue bad = queue;
  bad.mutable_tag_rules(0)->set_min_vip_level(10);
  absl::Status refused = ToApiFieldPath(
      engine.Apply(UpsertQueue{*QueueFromProto(bad)}, kT0, &events), {});
  ExpectInvalid(refused, "queue.tag_rules[0].min_vip_level");
  bad = queue;
  bad.set_appointment_priority(1001);
  refused = ToApiFieldPath(engine.Apply(UpsertQueue{*QueueFromProto(bad)}, kT0, &events), {});
  ExpectInvalid(refused, "queue.appointment_priority");

  // A risky VIP: both rules.
  v1::CreateSessionRequest create;
  create.set_request_id("r-1");
  create.set_channel_id("voice");
  create.set_queue_id("care");
  create.mutable_customer()->set_vip_level(3);
  create.mutable_customer()->add_tags("risk:negative-social");
  events.clear();
  ASSERT_TRUE(engine.Apply(*CreateSessionFromProto(create), kT0, &events).ok());
  v1::Session risky = SessionToProto(*engine.GetSession(SessionId(1)));
  EXPECT_EQ(risky.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(risky.priority(), 300);
  EXPECT_EQ(risky.min_tier(), v1::AGENT_TIER_EXPERT);
  EXPECT_THAT(risky.rules_applied(), ::testing::ElementsAre("vip>=2", "risk"));

  // A booking an hour ahead: SCHEDULED, with its window.
  v1::CreateSessionRequest book = create;
  book.set_request_id("r-2");
  book.clear_customer();
  *book.mutable_appointment()->mutable_start_time() = TimeToProto(kT0 + absl::Hours(1));
  *book.mutable_appointment()->mutable_end_time() = TimeToProto(kT0 + absl::Hours(2));
  events.clear();
  ASSERT_TRUE(engine.Apply(*CreateSessionFromProto(book), kT0, &events).ok());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(EventToProto(events[0]).session_state(), v1::SESSION_STATE_SCHEDULED);
  v1::Session booked = SessionToProto(*engine.GetSession(SessionId(2)));
  EXPECT_EQ(booked.state(), v1::SESSION_STATE_SCHEDULED);
  EXPECT_EQ(TimeFromProto(booked.appointment().start_time()), kT0 + absl::Hours(1));
  EXPECT_EQ(TimeFromProto(booked.appointment().end_time()), kT0 + absl::Hours(2));
  EXPECT_FALSE(booked.has_wait_start_time());
  events.clear();
  engine.Advance(kT0 + absl::Hours(1), &events);
  int opened = 0;
  for (const Event& e : events) {
    if (e.session != SessionId(2)) continue;  // the risky session's stages ran out meanwhile
    EXPECT_EQ(EventToProto(e).type(), v1::EVENT_TYPE_SESSION_WINDOW_OPENED);
    EXPECT_EQ(EventToProto(e).session_state(), v1::SESSION_STATE_QUEUED);
    ++opened;
  }
  EXPECT_EQ(opened, 1);
  booked = SessionToProto(*engine.GetSession(SessionId(2)));
  EXPECT_EQ(booked.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(booked.priority(), 700);
  EXPECT_EQ(TimeFromProto(booked.wait_start_time()), kT0 + absl::Hours(1));

  // Too far ahead: refused by the engine, named as the API names it.
  book.set_request_id("r-3");
  *book.mutable_appointment()->mutable_start_time() =
      TimeToProto(kT0 + absl::Hours(1 + 24 * 401));
  *book.mutable_appointment()->mutable_end_time() = TimeToProto(kT0 + absl::Hours(2 + 24 * 401));
  refused = ToApiFieldPath(
      engine.Apply(*CreateSessionFromProto(book), kT0 + absl::Hours(1), &events),
      {{"queue", "queue_id"},
       {"channel", "channel_id"},
       {"window_start", "appointment.start_time"},
       {"window_end", "appointment.end_time"}});
  ExpectInvalid(refused, "appointment.start_time");

  // A callback on the QUEUED risky session; a bad number and a second request refused.
  const std::initializer_list<FieldRename> callback_renames = {
      {"session", "session_id"}, {"number", "callback_number"}};
  v1::RequestCallbackRequest callback;
  callback.set_session_id("1");
  callback.set_callback_number("call me!");
  refused = ToApiFieldPath(
      engine.Apply(*RequestCallbackFromProto(callback), kT0 + absl::Hours(1), &events),
      callback_renames);
  ExpectInvalid(refused, "callback_number");
  callback.set_callback_number("+86 138 0000 0000");
  events.clear();
  ASSERT_TRUE(
      engine.Apply(*RequestCallbackFromProto(callback), kT0 + absl::Hours(1), &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(EventToProto(events[0]).type(), v1::EVENT_TYPE_CALLBACK_REQUESTED);
  EXPECT_EQ(SessionToProto(*engine.GetSession(SessionId(1))).callback_number(),
            "+86 138 0000 0000");
  refused = ToApiFieldPath(
      engine.Apply(*RequestCallbackFromProto(callback), kT0 + absl::Hours(1), &events),
      callback_renames);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  callback.set_session_id("99");
  refused = ToApiFieldPath(
      engine.Apply(*RequestCallbackFromProto(callback), kT0 + absl::Hours(1), &events),
      callback_renames);
  EXPECT_EQ(refused.code(), absl::StatusCode::kNotFound) << refused;

  // A rank change becomes a rank event.
  EngineerConfig agent;
  agent.id = EngineerId("eng-1");
  agent.queues = {QueueId("care")};
  ASSERT_TRUE(engine.Apply(UpsertEngineer{agent}, kT0 + absl::Hours(1), &events).ok());
  events.clear();
  ASSERT_TRUE(engine
                  .Apply(SetEngineerRank{EngineerId("eng-1"), Tier::kExpert, 900, "ratings"},
                         kT0 + absl::Hours(1), &events)
                  .ok());
  ASSERT_FALSE(events.empty());
  v1::Event rank = EventToProto(events[0]);
  EXPECT_EQ(rank.type(), v1::EVENT_TYPE_AGENT_RANK_CHANGED);
  EXPECT_EQ(rank.agent_id(), "eng-1");
  EXPECT_EQ(rank.tier(), v1::AGENT_TIER_EXPERT);
  EXPECT_EQ(rank.previous_tier(), v1::AGENT_TIER_ROOKIE);
  EXPECT_EQ(rank.score(), 900);
}

}  // namespace
}  // namespace omniroute::daemon

namespace omniroute::daemon {
namespace {

TEST(ConvertFieldPathTest, EngineNamesBecomeProtoPaths) {
  const auto rewrite = [](absl::string_view message, std::initializer_list<FieldRename> top) {
    return std::string(ToApiFieldPath(absl::InvalidArgumentError(message), top).message());
  };
  EXPECT_EQ(rewrite("queue.relaxation[1].skill: must not be empty", {}),
            "queue.relaxation_steps[1].skill_id: must not be empty");
  EXPECT_EQ(rewrite("engineer.tier: unknown tier", {{"engineer", "agent"}}),
            "agent.tier: unknown tier");
  EXPECT_EQ(rewrite("engineer.channels[0].channel: listed twice", {{"engineer", "agent"}}),
            "agent.channels[0].channel_id: listed twice");
  EXPECT_EQ(rewrite("customer.preferred_engineers[2]: must not be empty", {}),
            "customer.preferred_agent_ids[2]: must not be empty");
  EXPECT_EQ(rewrite("queue.tag_rules[3].requirement.skill: x", {}),
            "queue.tag_rules[3].requirement.skill_id: x");
  EXPECT_EQ(rewrite("queue, engineer: name a queue, an engineer or both",
                    {{"queue", "target_queue_id"}, {"engineer", "target_agent_id"}}),
            "target_queue_id, target_agent_id: name a queue, an agent or both");
  EXPECT_EQ(rewrite("session: must be set", {{"session", "session_id"}}),
            "session_id: must be set");
  // CreateSession's appointment and RequestCallback's number (the handlers' renames).
  EXPECT_EQ(rewrite("window_start: more than 400 days ahead",
                    {{"queue", "queue_id"},
                     {"channel", "channel_id"},
                     {"window_start", "appointment.start_time"},
                     {"window_end", "appointment.end_time"}}),
            "appointment.start_time: more than 400 days ahead");
  EXPECT_EQ(rewrite("number: character not allowed",
                    {{"session", "session_id"}, {"number", "callback_number"}}),
            "callback_number: character not allowed");
  EXPECT_EQ(rewrite("queue.tag_rules[2].min_tier: x", {}), "queue.tag_rules[2].min_tier: x");
  // Not a path: left alone.
  EXPECT_EQ(rewrite("session 17 not found", {{"session", "session_id"}}), "session 17 not found");
  EXPECT_EQ(rewrite("queue \"x\" not found: y", {{"queue", "queue_id"}}),
            "queue \"x\" not found: y");
  // The API says "agent" where the engine says "engineer".
  EXPECT_EQ(rewrite("engineer: engineer \"nobody\" not found", {{"engineer", "agent_id"}}),
            "agent_id: agent \"nobody\" not found");
  EXPECT_EQ(rewrite("queue, engineer: name a queue, an engineer or both", {}),
            "queue, engineer: name a queue, an agent or both");
  EXPECT_EQ(rewrite("no engineers; engineering stays; reengineer stays", {}),
            "no agents; engineering stays; reengineer stays");
  // The code is kept, OK stays OK.
  absl::Status failed = ToApiFieldPath(absl::FailedPreconditionError("engineer.budget: low"),
                                       {{"engineer", "agent"}});
  EXPECT_EQ(failed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(failed.message(), "agent.budget: low");
  EXPECT_TRUE(ToApiFieldPath(absl::OkStatus(), {}).ok());
}

}  // namespace
}  // namespace omniroute::daemon
