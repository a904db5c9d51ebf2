// Refused commands: for every command type, each invalid case returns the right status code,
// a message naming the field or object at fault, no event, and leaves the state untouched.
//
// Each case runs against a fresh copy of the same small world (below), in which sessions sit
// in every state: BOT, QUEUED, OFFERED (direct and grab), ASSIGNED, WRAP_UP and CANCELLED.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/engine.h"
#include "engine/test_util.h"

namespace omniroute::test {
namespace {

using absl::StatusCode;

constexpr SessionId kBot(100);       // BOT, queue q, voice
constexpr SessionId kQueued(101);    // QUEUED, queue q, voice (every engineer of q busy)
constexpr SessionId kOffered(102);   // OFFERED to alice (direct), queue q, voice
constexpr SessionId kAssigned(103);  // ASSIGNED to bob, queue q, voice
constexpr SessionId kWrapUp(104);    // WRAP_UP with carol, queue q, voice
constexpr SessionId kGrab(105);      // OFFERED to dave and erin (grab), queue g, wechat
constexpr SessionId kLimited(106);   // QUEUED in `limited` (voice limit 1, reached)
constexpr SessionId kCancelled(107); // CANCELLED (still retained)
constexpr SessionId kUnknown(999);

struct Case {
  std::string name;
  Command command;
  StatusCode code;
  // Substring(s) the message must contain (any of several separated by '|'),
  // case-insensitive.
  std::string field;
};

class ValidationTest : public EngineTest {
 protected:
  // The world every case starts from. All of it happens within the first 10 s; every timer
  // is an hour away or more, except the retention of the cancelled session (10 min).
  void BuildWorld() {
    Reset();
    QueueConfig q = Queue("q");
    q.offer_timeout = absl::Hours(1);
    q.wrap_up = absl::Hours(1);
    AddQueue(q);
    QueueConfig g = Queue("g");
    g.delivery = DeliveryMode::kGrab;
    g.grab_fanout = 3;
    g.grab_window = absl::Hours(1);
    AddQueue(g);
    AddQueue(Queue("wait"));
    AddQueue(Queue("ovf-dst"));
    QueueConfig src = Queue("ovf-src");
    src.overflow_after = absl::Hours(2);
    src.overflow_queue = QueueId("ovf-dst");
    AddQueue(src);
    QueueConfig limited = Queue("limited");
    limited.channel_limits = {{ChannelId("voice"), 1}};
    AddQueue(limited);
    AddQueue(Queue("free"));

    auto voice_only = [](std::string id, std::vector<std::string> queues) {
      EngineerConfig e = Engineer(std::move(id), std::move(queues));
      e.channels = {Cap("voice", 1)};
      return e;
    };
    AddEngineer(voice_only("alice", {"q"}));
    At(absl::Seconds(1));
    AddEngineer(voice_only("bob", {"q"}));
    At(absl::Seconds(2));
    AddEngineer(voice_only("carol", {"q"}));

    At(absl::Seconds(3));
    std::vector<Event> ev;
    Create(Session("q", "voice", kOffered.value()), &ev);
    EXPECT_EQ(OffersOf(ev, kOffered), std::vector<std::string>{"alice"}) << Dump(ev);
    Create(Session("q", "voice", kAssigned.value()), &ev);
    EXPECT_EQ(OffersOf(ev, kAssigned), std::vector<std::string>{"bob"}) << Dump(ev);
    Accept(kAssigned, "bob");
    Create(Session("q", "voice", kWrapUp.value()), &ev);
    EXPECT_EQ(OffersOf(ev, kWrapUp), std::vector<std::string>{"carol"}) << Dump(ev);
    Accept(kWrapUp, "carol");
    Complete(kWrapUp, "carol");
    Create(Session("q", "voice", kQueued.value()));
    CreateSession bot = Session("q", "voice", kBot.value());
    bot.start_in_bot = true;
    Create(bot);

    At(absl::Seconds(4));
    EngineerConfig dave = Engineer("dave", {"g"});
    dave.channels = {Cap("wechat", 3)};
    AddEngineer(dave);
    EngineerConfig erin = Engineer("erin", {"g"});
    erin.channels = {Cap("wechat", 3)};
    AddEngineer(erin);
    Create(Session("g", "wechat", kGrab.value()), &ev);
    EXPECT_THAT(OffersOf(ev, kGrab), ::testing::UnorderedElementsAre("dave", "erin"))
        << Dump(ev);

    Create(Session("limited", "voice", kLimited.value()));
    Create(Session("wait", "voice", kCancelled.value()));
    Cancel(kCancelled, /*abandoned=*/false, "gateway");
    AddEngineer(Engineer("frank", {"free"}));
    At(absl::Seconds(5));
  }

  void CheckWorld() {
    EXPECT_EQ(StateOf(kBot), SessionState::kBot);
    EXPECT_EQ(StateOf(kQueued), SessionState::kQueued);
    EXPECT_EQ(StateOf(kOffered), SessionState::kOffered);
    EXPECT_EQ(Sess(kOffered).engineer, EngineerId("alice"));
    EXPECT_EQ(StateOf(kAssigned), SessionState::kAssigned);
    EXPECT_EQ(Sess(kAssigned).engineer, EngineerId("bob"));
    EXPECT_EQ(StateOf(kWrapUp), SessionState::kWrapUp);
    EXPECT_EQ(Sess(kWrapUp).engineer, EngineerId("carol"));
    EXPECT_EQ(StateOf(kGrab), SessionState::kOffered);
    EXPECT_EQ(StateOf(kLimited), SessionState::kQueued);
    EXPECT_EQ(StateOf(kCancelled), SessionState::kCancelled);
  }

  void RunCases(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      SCOPED_TRACE("case: " + c.name);
      BuildWorld();
      ExpectRefused(c.command, c.code, c.field);
    }
  }
};

// ---- helpers to build invalid commands --------------------------------------------------------

template <typename F>
UpsertQueue QueueWith(F f) {
  QueueConfig q = Queue("nq");
  f(q);
  return UpsertQueue{q};
}

template <typename F>
UpsertEngineer EngineerWith(F f) {
  EngineerConfig e = Engineer("neng", {"q"});
  f(e);
  return UpsertEngineer{e};
}

template <typename F>
CreateSession SessionWith(F f) {
  CreateSession c = Session("q", "voice");
  f(c);
  return c;
}

UpsertChannel ChannelWith(std::string id, int cost, int default_max) {
  ChannelSpec spec;
  spec.id = ChannelId(std::move(id));
  spec.cost = cost;
  spec.default_max = default_max;
  return UpsertChannel{spec};
}

const std::string kLongName(129, 'x');
const std::string kMaxName(128, 'x');

// ---- the world itself ---------------------------------------------------------------------------

TEST_F(ValidationTest, WorldIsAsDescribed) {
  BuildWorld();
  CheckWorld();
  // Building it twice gives the same state.
  const std::string first = engine().DumpState();
  BuildWorld();
  EXPECT_EQ(engine().DumpState(), first);
}

TEST_F(ValidationTest, ValidNamesAreAccepted) {
  BuildWorld();
  ApplyOk(ChannelWith("a.b_c-d:e/f@g+H9", 20, 3));
  ApplyOk(ChannelWith(kMaxName, 0, 1));
  ApplyOk(UpsertQueue{Queue("Z.q_1-2:3/4@5+6")});
  ApplyOk(UpsertEngineer{Engineer("eng@site/1+x", {"q"}, {Skill("s.k-1:2", 5)})});
  EXPECT_TRUE(engine().GetQueue(QueueId("Z.q_1-2:3/4@5+6")).has_value());
  EXPECT_TRUE(engine().GetEngineer(EngineerId("eng@site/1+x")).has_value());
}

// ---- per command --------------------------------------------------------------------------------

TEST_F(ValidationTest, UpsertChannel) {
  RunCases({
      {"empty id", ChannelWith("", 20, 3), StatusCode::kInvalidArgument, "id"},
      {"space in id", ChannelWith("vo ice", 20, 3), StatusCode::kInvalidArgument, "id"},
      {"bad char in id", ChannelWith("voice!", 20, 3), StatusCode::kInvalidArgument, "id"},
      {"id too long", ChannelWith(kLongName, 20, 3), StatusCode::kInvalidArgument, "id"},
      {"negative cost", ChannelWith("fax", -1, 3), StatusCode::kInvalidArgument, "cost"},
      {"negative default_max", ChannelWith("fax", 20, -1), StatusCode::kInvalidArgument,
       "default_max"},
      {"existing channel, negative cost", ChannelWith("voice", -5, 1),
       StatusCode::kInvalidArgument, "cost"},
  });
}

TEST_F(ValidationTest, UpsertQueue) {
  RunCases({
      {"empty id", QueueWith([](QueueConfig& q) { q.id = QueueId(""); }),
       StatusCode::kInvalidArgument, "id"},
      {"bad id", QueueWith([](QueueConfig& q) { q.id = QueueId("re pair"); }),
       StatusCode::kInvalidArgument, "id"},
      {"id too long", QueueWith([](QueueConfig& q) { q.id = QueueId(kLongName); }),
       StatusCode::kInvalidArgument, "id"},
      {"negative ageing_interval",
       QueueWith([](QueueConfig& q) { q.ageing_interval = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "ageing_interval"},
      {"negative service_level_threshold",
       QueueWith([](QueueConfig& q) { q.service_level_threshold = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "service_level_threshold"},
      {"service_level_goal above 1",
       QueueWith([](QueueConfig& q) { q.service_level_goal = 1.5; }),
       StatusCode::kInvalidArgument, "service_level_goal"},
      {"service_level_goal below 0",
       QueueWith([](QueueConfig& q) { q.service_level_goal = -0.1; }),
       StatusCode::kInvalidArgument, "service_level_goal"},
      {"requirement level 0",
       QueueWith([](QueueConfig& q) { q.requirements = {Req("repair", 0)}; }),
       StatusCode::kInvalidArgument, "level"},
      {"requirement level 6",
       QueueWith([](QueueConfig& q) { q.requirements = {Req("repair", 6)}; }),
       StatusCode::kInvalidArgument, "level"},
      {"requirement empty skill",
       QueueWith([](QueueConfig& q) { q.requirements = {Req("", 2)}; }),
       StatusCode::kInvalidArgument, "skill"},
      {"requirement bad skill",
       QueueWith([](QueueConfig& q) { q.requirements = {Req("re pair", 2)}; }),
       StatusCode::kInvalidArgument, "skill"},
      {"relaxation negative after",
       QueueWith([](QueueConfig& q) {
         q.relaxation = {{absl::Seconds(-1), RelaxAction::kAnyEngineer, SkillId(), 1}};
       }),
       StatusCode::kInvalidArgument, "after"},
      {"relaxation lower to level 0",
       QueueWith([](QueueConfig& q) {
         q.relaxation = {{absl::Seconds(10), RelaxAction::kLowerLevel, SkillId("s"), 0}};
       }),
       StatusCode::kInvalidArgument, "level"},
      {"relaxation lower to level 6",
       QueueWith([](QueueConfig& q) {
         q.relaxation = {{absl::Seconds(10), RelaxAction::kLowerLevel, SkillId(), 6}};
       }),
       StatusCode::kInvalidArgument, "level"},
      {"relaxation drop without skill",
       QueueWith([](QueueConfig& q) {
         q.relaxation = {{absl::Seconds(10), RelaxAction::kDropSkill, SkillId(), 1}};
       }),
       StatusCode::kInvalidArgument, "skill"},
      {"relaxation bad action",
       QueueWith([](QueueConfig& q) {
         q.relaxation = {{absl::Seconds(10), static_cast<RelaxAction>(9), SkillId("s"), 1}};
       }),
       StatusCode::kInvalidArgument, "action"},
      {"negative overflow_after",
       QueueWith([](QueueConfig& q) { q.overflow_after = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "overflow_after"},
      {"unknown overflow_queue",
       QueueWith([](QueueConfig& q) {
         q.overflow_after = absl::Minutes(5);
         q.overflow_queue = QueueId("nowhere");
       }),
       StatusCode::kNotFound, "overflow_queue|nowhere"},
      {"bad overflow_queue name",
       QueueWith([](QueueConfig& q) {
         q.overflow_after = absl::Minutes(5);
         q.overflow_queue = QueueId("no where");
       }),
       StatusCode::kInvalidArgument, "overflow_queue"},
      {"channel limit on unknown channel",
       QueueWith([](QueueConfig& q) { q.channel_limits = {{ChannelId("fax"), 3}}; }),
       StatusCode::kNotFound, "fax|channel"},
      {"channel limit negative",
       QueueWith([](QueueConfig& q) { q.channel_limits = {{ChannelId("voice"), -1}}; }),
       StatusCode::kInvalidArgument, "max_waiting"},
      {"tag rule without a condition",
       QueueWith([](QueueConfig& q) { q.tag_rules = {{.tag = "", .priority_boost = 10}}; }),
       StatusCode::kInvalidArgument, "tag_rules[0]: needs a tag, min_vip_level or language"},
      {"second rule without a condition",
       QueueWith([](QueueConfig& q) {
         q.tag_rules = {{.tag = "gold"}, {.name = "empty", .min_tier = Tier::kExpert}};
       }),
       StatusCode::kInvalidArgument, "queue.tag_rules[1]: needs a tag"},
      {"tag rule requirement level 9",
       QueueWith([](QueueConfig& q) {
         q.tag_rules = {{.tag = "gold", .requirement = Req("vip", 9)}};
       }),
       StatusCode::kInvalidArgument, "level"},
      {"rule min_vip_level 10",
       QueueWith([](QueueConfig& q) {
         q.tag_rules = {{.tag = "gold"}, {.min_vip_level = 10}};
       }),
       StatusCode::kInvalidArgument, "queue.tag_rules[1].min_vip_level: 10 is outside 0..9"},
      {"rule negative min_vip_level",
       QueueWith([](QueueConfig& q) { q.tag_rules = {{.tag = "x", .min_vip_level = -1}}; }),
       StatusCode::kInvalidArgument, "queue.tag_rules[0].min_vip_level"},
      {"rule unknown min_tier",
       QueueWith([](QueueConfig& q) {
         q.tag_rules = {{.tag = "x", .min_tier = static_cast<Tier>(6)}};
       }),
       StatusCode::kInvalidArgument, "queue.tag_rules[0].min_tier: unknown tier"},
      {"rule name too long",
       QueueWith([](QueueConfig& q) {
         q.tag_rules = {{.name = std::string(65, 'n'), .tag = "x"}};
       }),
       StatusCode::kInvalidArgument, "queue.tag_rules[0].name"},
      {"rule language too long",
       QueueWith([](QueueConfig& q) { q.tag_rules = {{.language = std::string(65, 'l')}}; }),
       StatusCode::kInvalidArgument, "queue.tag_rules[0].language"},
      {"rule boost 2000",
       QueueWith([](QueueConfig& q) { q.tag_rules = {{.tag = "x", .priority_boost = 2000}}; }),
       StatusCode::kInvalidArgument, "queue.tag_rules[0].priority_boost"},
      {"appointment_priority 1001",
       QueueWith([](QueueConfig& q) { q.appointment_priority = 1001; }),
       StatusCode::kInvalidArgument, "queue.appointment_priority: 1001 is outside 0..1000"},
      {"appointment_priority negative",
       QueueWith([](QueueConfig& q) { q.appointment_priority = -1; }),
       StatusCode::kInvalidArgument, "queue.appointment_priority"},
      {"unknown strategy",
       QueueWith([](QueueConfig& q) { q.strategy = "random_pick"; }),
       StatusCode::kInvalidArgument, "strategy|random_pick"},
      {"bad delivery",
       QueueWith([](QueueConfig& q) { q.delivery = static_cast<DeliveryMode>(0); }),
       StatusCode::kInvalidArgument, "delivery"},
      {"negative offer_timeout",
       QueueWith([](QueueConfig& q) { q.offer_timeout = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "offer_timeout"},
      {"grab_fanout 0",
       QueueWith([](QueueConfig& q) {
         q.delivery = DeliveryMode::kGrab;
         q.grab_fanout = 0;
       }),
       StatusCode::kInvalidArgument, "grab_fanout"},
      {"negative grab_window",
       QueueWith([](QueueConfig& q) {
         q.delivery = DeliveryMode::kGrab;
         q.grab_window = absl::Seconds(-1);
       }),
       StatusCode::kInvalidArgument, "grab_window"},
      {"negative preferred_timeout",
       QueueWith([](QueueConfig& q) { q.preferred_timeout = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "preferred_timeout"},
      {"negative last_engineer_timeout",
       QueueWith([](QueueConfig& q) { q.last_engineer_timeout = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "last_engineer_timeout"},
      {"negative vip_timeout",
       QueueWith([](QueueConfig& q) { q.vip_timeout = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "vip_timeout"},
      {"bad vip_min_tier",
       QueueWith([](QueueConfig& q) { q.vip_min_tier = static_cast<Tier>(6); }),
       StatusCode::kInvalidArgument, "vip_min_tier"},
      {"negative vip_min_level",
       QueueWith([](QueueConfig& q) { q.vip_min_level = -1; }),
       StatusCode::kInvalidArgument, "vip_min_level"},
      {"negative wrap_up",
       QueueWith([](QueueConfig& q) { q.wrap_up = absl::Seconds(-1); }),
       StatusCode::kInvalidArgument, "wrap_up"},
      {"existing queue, unknown strategy",
       [] {
         QueueConfig q = Queue("q");
         q.strategy = "nope";
         return UpsertQueue{q};
       }(),
       StatusCode::kInvalidArgument, "strategy|nope"},
  });
}

TEST_F(ValidationTest, RemoveQueue) {
  RunCases({
      {"unknown queue", RemoveQueue{QueueId("nowhere")}, StatusCode::kNotFound,
       "nowhere|queue"},
      {"queue with waiting, offered and assigned sessions", RemoveQueue{QueueId("q")},
       StatusCode::kFailedPrecondition, "q"},
      {"queue with a waiting session", RemoveQueue{QueueId("limited")},
       StatusCode::kFailedPrecondition, "limited"},
      {"queue with a grab offer", RemoveQueue{QueueId("g")},
       StatusCode::kFailedPrecondition, "g"},
      {"overflow target of another queue", RemoveQueue{QueueId("ovf-dst")},
       StatusCode::kFailedPrecondition, "ovf-src|overflow"},
  });
}

TEST_F(ValidationTest, UpsertEngineer) {
  RunCases({
      {"empty id", EngineerWith([](EngineerConfig& e) { e.id = EngineerId(""); }),
       StatusCode::kInvalidArgument, "id"},
      {"bad id", EngineerWith([](EngineerConfig& e) { e.id = EngineerId("eng 1"); }),
       StatusCode::kInvalidArgument, "id"},
      {"id too long", EngineerWith([](EngineerConfig& e) { e.id = EngineerId(kLongName); }),
       StatusCode::kInvalidArgument, "id"},
      {"skill level 0", EngineerWith([](EngineerConfig& e) { e.skills = {Skill("s", 0)}; }),
       StatusCode::kInvalidArgument, "level"},
      {"skill level 6", EngineerWith([](EngineerConfig& e) { e.skills = {Skill("s", 6)}; }),
       StatusCode::kInvalidArgument, "level"},
      {"bad skill name",
       EngineerWith([](EngineerConfig& e) { e.skills = {Skill("re pair", 3)}; }),
       StatusCode::kInvalidArgument, "skill"},
      {"tier 0", EngineerWith([](EngineerConfig& e) { e.tier = static_cast<Tier>(0); }),
       StatusCode::kInvalidArgument, "tier"},
      {"tier 6", EngineerWith([](EngineerConfig& e) { e.tier = static_cast<Tier>(6); }),
       StatusCode::kInvalidArgument, "tier"},
      {"negative budget", EngineerWith([](EngineerConfig& e) { e.budget = -1; }),
       StatusCode::kInvalidArgument, "budget"},
      {"negative channel cost",
       EngineerWith([](EngineerConfig& e) { e.channels = {Cap("wechat", 3, -2)}; }),
       StatusCode::kInvalidArgument, "cost"},
      {"negative channel max",
       EngineerWith([](EngineerConfig& e) { e.channels = {Cap("wechat", -1)}; }),
       StatusCode::kInvalidArgument, "max"},
      {"unknown channel",
       EngineerWith([](EngineerConfig& e) { e.channels = {Cap("fax", 1)}; }),
       StatusCode::kNotFound, "fax|channel"},
      {"unknown queue",
       EngineerWith([](EngineerConfig& e) { e.queues = {QueueId("q"), QueueId("nowhere")}; }),
       StatusCode::kNotFound, "nowhere|queue"},
      {"bad queue name",
       EngineerWith([](EngineerConfig& e) { e.queues = {QueueId("no where")}; }),
       StatusCode::kInvalidArgument, "queue"},
      {"existing engineer (with an offer), unknown queue",
       [] {
         EngineerConfig e = Engineer("alice", {"q", "nowhere"});
         e.channels = {Cap("voice", 1)};
         return UpsertEngineer{e};
       }(),
       StatusCode::kNotFound, "nowhere|queue"},
      {"existing engineer dropping a channel it holds a session on",
       [] {
         EngineerConfig e = Engineer("bob", {"q"});
         e.channels = {Cap("wechat", 3)};
         return UpsertEngineer{e};
       }(),
       StatusCode::kFailedPrecondition, "voice"},
  });
}

TEST_F(ValidationTest, RemoveEngineer) {
  RunCases({
      {"unknown engineer", RemoveEngineer{EngineerId("nobody")}, StatusCode::kNotFound,
       "nobody|engineer"},
      {"engineer with an assigned session", RemoveEngineer{EngineerId("bob")},
       StatusCode::kFailedPrecondition, "bob"},
      {"engineer with a wrap-up session", RemoveEngineer{EngineerId("carol")},
       StatusCode::kFailedPrecondition, "carol"},
  });
}

TEST_F(ValidationTest, SetPresence) {
  RunCases({
      {"unknown engineer", SetPresence{EngineerId("nobody"), Presence::kAvailable, "", {}},
       StatusCode::kNotFound, "nobody|engineer"},
      {"not-ready without reason", SetPresence{EngineerId("frank"), Presence::kNotReady, "", {}},
       StatusCode::kInvalidArgument, "reason"},
      {"wrap-up without duration",
       SetPresence{EngineerId("frank"), Presence::kWrapUp, "", absl::ZeroDuration()},
       StatusCode::kInvalidArgument, "duration"},
      {"wrap-up with negative duration",
       SetPresence{EngineerId("frank"), Presence::kWrapUp, "", absl::Seconds(-5)},
       StatusCode::kInvalidArgument, "duration"},
      {"bad presence", SetPresence{EngineerId("frank"), static_cast<Presence>(0), "", {}},
       StatusCode::kInvalidArgument, "presence"},
      {"not-ready without reason, engineer with an offer",
       SetPresence{EngineerId("alice"), Presence::kNotReady, "", {}},
       StatusCode::kInvalidArgument, "reason"},
  });
}

TEST_F(ValidationTest, CreateSession) {
  RunCases({
      {"unknown channel",
       SessionWith([](CreateSession& c) { c.channel = ChannelId("fax"); }),
       StatusCode::kNotFound, "fax|channel"},
      {"empty channel", SessionWith([](CreateSession& c) { c.channel = ChannelId(""); }),
       StatusCode::kInvalidArgument, "channel"},
      {"unknown queue", SessionWith([](CreateSession& c) { c.queue = QueueId("nowhere"); }),
       StatusCode::kNotFound, "nowhere|queue"},
      {"empty queue", SessionWith([](CreateSession& c) { c.queue = QueueId(""); }),
       StatusCode::kInvalidArgument, "queue"},
      {"priority -1", SessionWith([](CreateSession& c) { c.priority = -1; }),
       StatusCode::kInvalidArgument, "priority"},
      {"priority 1001", SessionWith([](CreateSession& c) { c.priority = 1001; }),
       StatusCode::kInvalidArgument, "priority"},
      {"requirement level 0",
       SessionWith([](CreateSession& c) { c.requirements = {Req("s", 0)}; }),
       StatusCode::kInvalidArgument, "level"},
      {"requirement level 6",
       SessionWith([](CreateSession& c) { c.requirements = {Req("s", 6)}; }),
       StatusCode::kInvalidArgument, "level"},
      {"requirement bad skill",
       SessionWith([](CreateSession& c) { c.requirements = {Req("a b", 2)}; }),
       StatusCode::kInvalidArgument, "skill"},
      {"vip_level -1", SessionWith([](CreateSession& c) { c.customer.vip_level = -1; }),
       StatusCode::kInvalidArgument, "vip_level"},
      {"vip_level 10", SessionWith([](CreateSession& c) { c.customer.vip_level = 10; }),
       StatusCode::kInvalidArgument, "vip_level"},
      {"duplicate id of a queued session",
       SessionWith([](CreateSession& c) { c.id = kQueued; }), StatusCode::kAlreadyExists,
       "101"},
      {"duplicate id of an assigned session",
       SessionWith([](CreateSession& c) { c.id = kAssigned; }), StatusCode::kAlreadyExists,
       "103"},
      {"duplicate id of a retained cancelled session",
       SessionWith([](CreateSession& c) { c.id = kCancelled; }), StatusCode::kAlreadyExists,
       "107"},
      {"channel limit reached",
       SessionWith([](CreateSession& c) { c.queue = QueueId("limited"); }),
       StatusCode::kResourceExhausted, "limited|voice"},
  });
}

TEST_F(ValidationTest, CancelSession) {
  RunCases({
      {"unknown session", CancelSession{kUnknown, true, ""}, StatusCode::kNotFound, "999"},
      {"assigned session", CancelSession{kAssigned, true, ""},
       StatusCode::kFailedPrecondition, "103"},
      {"wrap-up session", CancelSession{kWrapUp, false, ""}, StatusCode::kFailedPrecondition,
       "104"},
      {"cancelled session", CancelSession{kCancelled, false, ""},
       StatusCode::kFailedPrecondition, "107"},
  });
}

TEST_F(ValidationTest, EscalateSession) {
  auto escalate = [](SessionId s) {
    EscalateSession e;
    e.session = s;
    e.intent = "repair";
    e.summary = "screen broken";
    return e;
  };
  RunCases({
      {"unknown session", escalate(kUnknown), StatusCode::kNotFound, "999"},
      {"queued session", escalate(kQueued), StatusCode::kFailedPrecondition, "101"},
      {"offered session", escalate(kOffered), StatusCode::kFailedPrecondition, "102"},
      {"assigned session", escalate(kAssigned), StatusCode::kFailedPrecondition, "103"},
      {"unknown queue",
       [&] {
         EscalateSession e = escalate(kBot);
         e.queue = QueueId("nowhere");
         return e;
       }(),
       StatusCode::kNotFound, "nowhere|queue"},
      {"bad queue name",
       [&] {
         EscalateSession e = escalate(kBot);
         e.queue = QueueId("no where");
         return e;
       }(),
       StatusCode::kInvalidArgument, "queue"},
      {"requirement level 6",
       [&] {
         EscalateSession e = escalate(kBot);
         e.requirements = {Req("repair", 6)};
         return e;
       }(),
       StatusCode::kInvalidArgument, "level"},
      {"into a full queue",
       [&] {
         EscalateSession e = escalate(kBot);
         e.queue = QueueId("limited");
         return e;
       }(),
       StatusCode::kResourceExhausted, "limited|voice"},
  });
}

TEST_F(ValidationTest, AcceptOffer) {
  RunCases({
      {"unknown session", AcceptOffer{kUnknown, EngineerId("alice")}, StatusCode::kNotFound,
       "999"},
      {"unknown engineer", AcceptOffer{kOffered, EngineerId("nobody")}, StatusCode::kNotFound,
       "nobody"},
      {"offer made to someone else", AcceptOffer{kOffered, EngineerId("bob")},
       StatusCode::kFailedPrecondition, "bob|102"},
      {"queued session", AcceptOffer{kQueued, EngineerId("alice")},
       StatusCode::kFailedPrecondition, "101"},
      {"bot session", AcceptOffer{kBot, EngineerId("alice")}, StatusCode::kFailedPrecondition,
       "100"},
      {"already assigned", AcceptOffer{kAssigned, EngineerId("bob")},
       StatusCode::kFailedPrecondition, "103"},
      {"grab offer", AcceptOffer{kGrab, EngineerId("dave")}, StatusCode::kFailedPrecondition,
       "105|grab"},
  });
}

TEST_F(ValidationTest, RejectOffer) {
  RunCases({
      {"unknown session", RejectOffer{kUnknown, EngineerId("alice"), ""},
       StatusCode::kNotFound, "999"},
      {"unknown engineer", RejectOffer{kOffered, EngineerId("nobody"), ""},
       StatusCode::kNotFound, "nobody"},
      {"offer made to someone else", RejectOffer{kOffered, EngineerId("carol"), ""},
       StatusCode::kFailedPrecondition, "carol|102"},
      {"queued session", RejectOffer{kQueued, EngineerId("alice"), ""},
       StatusCode::kFailedPrecondition, "101"},
      {"assigned session", RejectOffer{kAssigned, EngineerId("bob"), ""},
       StatusCode::kFailedPrecondition, "103"},
      {"grab offer not made to this engineer", RejectOffer{kGrab, EngineerId("frank"), ""},
       StatusCode::kFailedPrecondition, "frank|105"},
  });
}

TEST_F(ValidationTest, ClaimOffer) {
  RunCases({
      {"unknown session", ClaimOffer{kUnknown, EngineerId("dave")}, StatusCode::kNotFound,
       "999"},
      {"unknown engineer", ClaimOffer{kGrab, EngineerId("nobody")}, StatusCode::kNotFound,
       "nobody"},
      {"direct offer", ClaimOffer{kOffered, EngineerId("alice")},
       StatusCode::kFailedPrecondition, "102|direct|grab"},
      {"grab offer not made to this engineer", ClaimOffer{kGrab, EngineerId("frank")},
       StatusCode::kFailedPrecondition, "frank|105"},
      {"queued session", ClaimOffer{kQueued, EngineerId("alice")},
       StatusCode::kFailedPrecondition, "101"},
  });
}

TEST_F(ValidationTest, CompleteSession) {
  RunCases({
      {"unknown session", CompleteSession{kUnknown, EngineerId("bob")}, StatusCode::kNotFound,
       "999"},
      {"unknown engineer", CompleteSession{kAssigned, EngineerId("nobody")},
       StatusCode::kNotFound, "nobody"},
      {"assigned to someone else", CompleteSession{kAssigned, EngineerId("alice")},
       StatusCode::kFailedPrecondition, "103|alice"},
      {"offered, not assigned", CompleteSession{kOffered, EngineerId("alice")},
       StatusCode::kFailedPrecondition, "102"},
      {"already in wrap-up", CompleteSession{kWrapUp, EngineerId("carol")},
       StatusCode::kFailedPrecondition, "104"},
      {"queued", CompleteSession{kQueued, EngineerId("alice")},
       StatusCode::kFailedPrecondition, "101"},
      {"cancelled", CompleteSession{kCancelled, EngineerId("alice")},
       StatusCode::kFailedPrecondition, "107"},
  });
}

TEST_F(ValidationTest, EndWrapUp) {
  RunCases({
      {"unknown session", EndWrapUp{kUnknown, EngineerId("carol")}, StatusCode::kNotFound,
       "999"},
      {"unknown engineer", EndWrapUp{kWrapUp, EngineerId("nobody")}, StatusCode::kNotFound,
       "nobody"},
      {"someone else's wrap-up", EndWrapUp{kWrapUp, EngineerId("bob")},
       StatusCode::kFailedPrecondition, "104|bob"},
      {"assigned, not in wrap-up", EndWrapUp{kAssigned, EngineerId("bob")},
       StatusCode::kFailedPrecondition, "103"},
      {"queued", EndWrapUp{kQueued, EngineerId("alice")}, StatusCode::kFailedPrecondition,
       "101"},
  });
}

TEST_F(ValidationTest, TransferSession) {
  auto transfer = [](SessionId s, std::string queue, std::string engineer) {
    TransferSession t;
    t.session = s;
    t.queue = QueueId(std::move(queue));
    t.engineer = EngineerId(std::move(engineer));
    return t;
  };
  RunCases({
      {"unknown session", transfer(kUnknown, "wait", ""), StatusCode::kNotFound, "999"},
      {"queued session", transfer(kQueued, "wait", ""), StatusCode::kFailedPrecondition,
       "101"},
      {"offered session", transfer(kOffered, "wait", ""), StatusCode::kFailedPrecondition,
       "102"},
      {"wrap-up session", transfer(kWrapUp, "wait", ""), StatusCode::kFailedPrecondition,
       "104"},
      {"bot session", transfer(kBot, "wait", ""), StatusCode::kFailedPrecondition, "100"},
      {"unknown queue", transfer(kAssigned, "nowhere", ""), StatusCode::kNotFound,
       "nowhere|queue"},
      {"unknown engineer", transfer(kAssigned, "", "nobody"), StatusCode::kNotFound,
       "nobody|engineer"},
      {"neither queue nor engineer", transfer(kAssigned, "", ""),
       StatusCode::kInvalidArgument, "queue|engineer"},
      {"negative engineer_timeout",
       [&] {
         TransferSession t = transfer(kAssigned, "", "alice");
         t.engineer_timeout = absl::Seconds(-1);
         return t;
       }(),
       StatusCode::kInvalidArgument, "engineer_timeout"},
      {"into a full queue", transfer(kAssigned, "limited", ""),
       StatusCode::kResourceExhausted, "limited|voice"},
  });
}

// ---- refused commands and timers ----------------------------------------------------------------

// Timers due before a refused command still fire (their events come back), at their own time.
TEST_F(ValidationTest, TimersFireEvenWhenTheCommandIsRefused) {
  QueueConfig q = Queue("q");
  q.offer_timeout = absl::Seconds(15);
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  SessionId s = Create(Session("q", "voice"));
  ASSERT_EQ(StateOf(s), SessionState::kOffered) << Log();
  ASSERT_EQ(engine().NextDeadline(), T(absl::Seconds(15)));

  At(absl::Seconds(20));
  std::vector<Event> events;
  absl::Status status = ApplyStatus(CancelSession{kUnknown, true, ""}, &events);
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status;
  std::optional<Event> expired = FindEvent(events, EventType::kOfferExpired, s);
  ASSERT_TRUE(expired.has_value()) << Dump(events);
  EXPECT_EQ(expired->at, T(absl::Seconds(15))) << Dump(events);
  EXPECT_EQ(expired->engineer, EngineerId("alice"));
  for (const Event& e : events) {
    EXPECT_LE(e.at, T(absl::Seconds(15))) << "no event of the refused command" << Dump(events);
  }
  EXPECT_EQ(engine().now(), T(absl::Seconds(20)));
}

// A refused command does not consume a session number or a sequence number.
TEST_F(ValidationTest, RefusedCommandsUseNoNumbers) {
  AddQueue(Queue("q"));
  std::vector<Event> first;
  SessionId a = Create(Session("q"), &first);
  EXPECT_FALSE(ApplyStatus(SessionWith([](CreateSession& c) { c.priority = 5000; })).ok());
  EXPECT_FALSE(ApplyStatus(SessionWith([](CreateSession& c) {
                 c.queue = QueueId("nowhere");
               })).ok());
  std::vector<Event> second;
  SessionId b = Create(Session("q"), &second);
  EXPECT_EQ(b.value(), a.value() + 1) << Log();
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(second.front().seq, first.back().seq + 1) << Log();
}

// Time never runs backwards: a command stamped before the engine's time is applied at the
// engine's time.
TEST_F(ValidationTest, EarlierTimeIsTakenAsEngineTime) {
  AddQueue(Queue("q"));
  AdvanceTo(absl::Seconds(100));
  At(absl::Seconds(50));
  std::vector<Event> events;
  SessionId s = Create(Session("q"), &events);
  EXPECT_EQ(engine().now(), T(absl::Seconds(100)));
  EXPECT_EQ(Sess(s).created_at, T(absl::Seconds(100)));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().at, T(absl::Seconds(100))) << Dump(events);
}

}  // namespace
}  // namespace omniroute::test
