// Routing rules (docs/ROUTING.md): eligibility, requirements, strategies and their reasons,
// the freed engineer's choice of session, ageing, stages, relaxation, overflow, tag rules and
// channel limits.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/engine.h"
#include "engine/test_util.h"

namespace omniroute::test {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class RoutingTest : public EngineTest {
 protected:
  // The routing reason of the offer of `s` in `events` (a failure if there is none).
  RoutingReason OfferReason(const std::vector<Event>& events, SessionId s) {
    std::optional<Event> offer = FindEvent(events, EventType::kOfferCreated, s);
    EXPECT_TRUE(offer.has_value()) << "no offer for session " << s.value() << Dump(events);
    if (!offer.has_value()) return {};
    EXPECT_TRUE(offer->has_reason) << offer->ToString();
    return offer->reason;
  }

  RankKey Key(int64_t primary, int64_t secondary, const std::string& engineer) {
    return RankKey{primary, secondary, Order(engineer)};
  }

  // An engineer holding one session at a time (voice only).
  static EngineerConfig VoiceOnly(std::string id, std::vector<std::string> queues,
                                  std::vector<SkillLevel> skills = {}) {
    EngineerConfig e = Engineer(std::move(id), std::move(queues), std::move(skills));
    e.channels = {Cap("voice", 1)};
    return e;
  }
};

// ---- channels -----------------------------------------------------------------------------------

TEST_F(RoutingTest, DefaultChannelTable) {
  std::vector<ChannelSpec> channels = engine().ListChannels();
  std::vector<std::string> ids;
  for (const ChannelSpec& c : channels) ids.push_back(c.id.value());
  EXPECT_THAT(ids, ElementsAre("app", "email", "iot_alert", "onsite_visit", "robot_chat",
                               "voice", "webchat", "wechat", "weibo"));
  for (const ChannelSpec& c : channels) {
    SCOPED_TRACE(c.id.value());
    if (c.id.value() == "voice") {
      EXPECT_EQ(c.cost, kDefaultCapacityBudget);  // a call takes the whole budget
      EXPECT_FALSE(c.bot_first);
    }
    if (c.id.value() == "wechat") {
      EXPECT_EQ(c.cost, kDefaultCapacityBudget / 3);  // a chat a third
      EXPECT_FALSE(c.bot_first);
    }
    if (c.id.value() == "robot_chat") {
      EXPECT_TRUE(c.bot_first);
    }
    EXPECT_GE(c.cost, 0);
    EXPECT_LE(c.cost, kDefaultCapacityBudget);
  }
}

TEST_F(RoutingTest, UpsertChannelAddsAChannelEngineersCanTake) {
  ChannelSpec video;
  video.id = ChannelId("video");
  video.cost = 60;
  video.default_max = 1;
  ApplyOk(UpsertChannel{video});
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));  // empty channels: every channel with default_max > 0
  std::vector<Event> ev;
  SessionId s = Create(Session("q", "video"), &ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(Eng("alice").used_budget, 60);
}

// ---- eligibility --------------------------------------------------------------------------------

struct EligibilityCase {
  std::string name;
  std::function<void(QueueConfig&)> queue = [](QueueConfig&) {};
  std::function<void(EngineerConfig&)> engineer = [](EngineerConfig&) {};
  Presence presence = Presence::kAvailable;
  std::function<void(CreateSession&)> session = [](CreateSession&) {};
  bool offered = true;
};

TEST_F(RoutingTest, Eligibility) {
  const std::vector<EligibilityCase> cases = {
      {.name = "available and serving the queue"},
      {.name = "offline", .presence = Presence::kOffline, .offered = false},
      {.name = "not ready", .presence = Presence::kNotReady, .offered = false},
      {.name = "presence wrap-up", .presence = Presence::kWrapUp, .offered = false},
      {.name = "does not serve the queue",
       .engineer = [](EngineerConfig& e) { e.queues = {QueueId("other")}; },
       .offered = false},
      {.name = "does not handle the channel",
       .engineer = [](EngineerConfig& e) { e.channels = {Cap("voice", 1)}; },
       .offered = false},
      {.name = "channel max 0",
       .engineer = [](EngineerConfig& e) { e.channels = {Cap("wechat", 0)}; },
       .offered = false},
      {.name = "budget below the chat cost",
       .engineer = [](EngineerConfig& e) { e.budget = 19; },
       .offered = false},
      {.name = "budget exactly the chat cost",
       .engineer = [](EngineerConfig& e) { e.budget = 20; }},
      {.name = "budget below the call cost",
       .engineer = [](EngineerConfig& e) { e.budget = 59; },
       .session = [](CreateSession& c) { c.channel = ChannelId("voice"); },
       .offered = false},
      {.name = "own cost zero with zero budget",
       .engineer = [](EngineerConfig& e) { e.channels = {Cap("wechat", 3, 0)}; e.budget = 0; }},
      {.name = "queue requirement, level below",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 4)}; },
       .engineer = [](EngineerConfig& e) { e.skills = {Skill("repair", 3)}; },
       .offered = false},
      {.name = "queue requirement, level equal",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 4)}; },
       .engineer = [](EngineerConfig& e) { e.skills = {Skill("repair", 4)}; }},
      {.name = "queue requirement, level above",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 4)}; },
       .engineer = [](EngineerConfig& e) { e.skills = {Skill("repair", 5)}; }},
      {.name = "queue requirement, skill missing",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 1)}; },
       .engineer = [](EngineerConfig& e) { e.skills = {Skill("lang.zh", 5)}; },
       .offered = false},
      {.name = "session requirement higher than the queue's wins",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 2)}; },
       .engineer = [](EngineerConfig& e) { e.skills = {Skill("repair", 3)}; },
       .session = [](CreateSession& c) { c.requirements = {Req("repair", 4)}; },
       .offered = false},
      {.name = "queue requirement higher than the session's wins",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 4)}; },
       .engineer = [](EngineerConfig& e) { e.skills = {Skill("repair", 3)}; },
       .session = [](CreateSession& c) { c.requirements = {Req("repair", 2)}; },
       .offered = false},
      {.name = "two requirements, both met",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 3)}; },
       .engineer =
           [](EngineerConfig& e) { e.skills = {Skill("lang.en", 2), Skill("repair", 3)}; },
       .session = [](CreateSession& c) { c.requirements = {Req("lang.en", 2)}; }},
      {.name = "two requirements, one not met",
       .queue = [](QueueConfig& q) { q.requirements = {Req("repair", 3)}; },
       .engineer =
           [](EngineerConfig& e) { e.skills = {Skill("lang.en", 1), Skill("repair", 3)}; },
       .session = [](CreateSession& c) { c.requirements = {Req("lang.en", 2)}; },
       .offered = false},
  };
  for (const EligibilityCase& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    Reset();
    QueueConfig q = Queue("q");
    c.queue(q);
    AddQueue(q);
    AddQueue(Queue("other"));
    EngineerConfig e = Engineer("eng", {"q"});
    c.engineer(e);
    AddEngineer(e, /*available=*/false);
    if (c.presence == Presence::kNotReady) {
      SetPresenceOf("eng", Presence::kNotReady, "break");
    } else if (c.presence == Presence::kWrapUp) {
      SetPresenceOf("eng", Presence::kWrapUp, "", absl::Minutes(5));
    } else if (c.presence == Presence::kAvailable) {
      SetAvailable("eng");
    }
    At(absl::Seconds(1));
    CreateSession cs = Session("q", "wechat");
    c.session(cs);
    std::vector<Event> ev;
    SessionId s = Create(cs, &ev);
    if (c.offered) {
      EXPECT_THAT(OffersOf(ev, s), ElementsAre("eng")) << Dump(ev);
      EXPECT_EQ(StateOf(s), SessionState::kOffered);
    } else {
      EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
      EXPECT_EQ(StateOf(s), SessionState::kQueued);
    }
  }
}

// ---- capacity -----------------------------------------------------------------------------------

TEST_F(RoutingTest, ACallTakesTheWholeBudget) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  std::vector<Event> ev;
  SessionId call = Create(Session("q", "voice"), &ev);
  ASSERT_THAT(OffersOf(ev, call), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(Eng("alice").used_budget, 60);  // reserved while offered
  SessionId chat = Create(Session("q", "wechat"), &ev);
  EXPECT_THAT(OffersOf(ev, chat), IsEmpty()) << Dump(ev);
  Accept(call, "alice");
  EXPECT_EQ(StateOf(chat), SessionState::kQueued);
  Complete(call, "alice");
  EXPECT_EQ(StateOf(chat), SessionState::kQueued) << "wrap-up keeps the capacity" << Log();
  ev = EndWrap(call, "alice");
  EXPECT_THAT(OffersOf(ev, chat), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(Eng("alice").used_budget, 20);
}

TEST_F(RoutingTest, AChatLeavesNoRoomForACall) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  std::vector<Event> ev;
  SessionId chat = Create(Session("q", "wechat"), &ev);
  ASSERT_THAT(OffersOf(ev, chat), ElementsAre("alice")) << Dump(ev);
  SessionId call = Create(Session("q", "voice"), &ev);
  EXPECT_THAT(OffersOf(ev, call), IsEmpty()) << Dump(ev);
  EXPECT_EQ(StateOf(call), SessionState::kQueued);
}

TEST_F(RoutingTest, ThreeChatsFillTheBudget) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  std::vector<SessionId> s;
  for (int i = 0; i < 4; ++i) s.push_back(Create(Session("q", "wechat")));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(StateOf(s[i]), SessionState::kOffered) << i << Log();
  EXPECT_EQ(StateOf(s[3]), SessionState::kQueued) << Log();
  EngineerInfo a = Eng("alice");
  EXPECT_EQ(a.used_budget, 60);
  EXPECT_THAT(a.load_by_channel,
              ElementsAre(std::pair<ChannelId, int>(ChannelId("wechat"), 3)));
  EXPECT_EQ(a.sessions.size(), 3u);
}

TEST_F(RoutingTest, ChannelsWithRoomFollowTheMaximumAndTheBudget) {
  AddQueue(Queue("q"));
  EngineerConfig e = Engineer("alice", {"q"});
  e.channels = {Cap("voice", 1), Cap("wechat", 2)};
  AddEngineer(e);
  EXPECT_THAT(Eng("alice").channels_with_room,
              ElementsAre(ChannelId("voice"), ChannelId("wechat")));
  SessionId chat = Create(Session("q", "wechat"));
  Accept(chat, "alice");
  // 40 of 60 left: no room for a call (60), room for a second chat (20).
  EXPECT_THAT(Eng("alice").channels_with_room, ElementsAre(ChannelId("wechat")));
  Accept(Create(Session("q", "wechat")), "alice");
  // The chat maximum (2) is reached with budget left.
  EXPECT_THAT(Eng("alice").channels_with_room, IsEmpty());
  Complete(chat, "alice");
  EndWrap(chat, "alice");
  EXPECT_THAT(Eng("alice").channels_with_room, ElementsAre(ChannelId("wechat")));
}

TEST_F(RoutingTest, PerChannelMaximum) {
  AddQueue(Queue("q"));
  EngineerConfig e = Engineer("alice", {"q"});
  e.channels = {Cap("wechat", 2)};
  AddEngineer(e);
  std::vector<SessionId> s;
  for (int i = 0; i < 3; ++i) s.push_back(Create(Session("q", "wechat")));
  EXPECT_EQ(StateOf(s[0]), SessionState::kOffered) << Log();
  EXPECT_EQ(StateOf(s[1]), SessionState::kOffered) << Log();
  EXPECT_EQ(StateOf(s[2]), SessionState::kQueued) << "budget left (20) but max 2" << Log();
  EXPECT_EQ(Eng("alice").used_budget, 40);
}

TEST_F(RoutingTest, PerEngineerChannelCost) {
  AddQueue(Queue("q"));
  EngineerConfig e = Engineer("alice", {"q"});
  e.channels = {Cap("wechat", 5, 30)};
  AddEngineer(e);
  std::vector<SessionId> s;
  for (int i = 0; i < 3; ++i) s.push_back(Create(Session("q", "wechat")));
  EXPECT_EQ(StateOf(s[0]), SessionState::kOffered) << Log();
  EXPECT_EQ(StateOf(s[1]), SessionState::kOffered) << Log();
  EXPECT_EQ(StateOf(s[2]), SessionState::kQueued) << "2 x 30 used the budget" << Log();
  EXPECT_EQ(Eng("alice").used_budget, 60);
}

TEST_F(RoutingTest, BiggerBudgetHoldsMore) {
  AddQueue(Queue("q"));
  EngineerConfig e = Engineer("alice", {"q"});
  e.budget = 120;
  e.channels = {Cap("voice", 1), Cap("wechat", 3)};
  AddEngineer(e);
  SessionId call = Create(Session("q", "voice"));
  SessionId c1 = Create(Session("q", "wechat"));
  SessionId c2 = Create(Session("q", "wechat"));
  SessionId c3 = Create(Session("q", "wechat"));
  EXPECT_EQ(StateOf(call), SessionState::kOffered) << Log();
  EXPECT_EQ(StateOf(c1), SessionState::kOffered) << Log();
  EXPECT_EQ(StateOf(c2), SessionState::kOffered) << Log();
  EXPECT_EQ(StateOf(c3), SessionState::kOffered) << Log();
  EXPECT_EQ(Eng("alice").used_budget, 120);
  SessionId c4 = Create(Session("q", "wechat"));
  EXPECT_EQ(StateOf(c4), SessionState::kQueued) << Log();
}

// ---- strategies ---------------------------------------------------------------------------------

TEST_F(RoutingTest, LongestIdleByIdleSince) {
  AddQueue(Queue("q"));
  // Registered carol, bob, alice; available alice (0 s), bob (5 s), carol (10 s).
  for (const char* id : {"carol", "bob", "alice"}) {
    AddEngineer(Engineer(id, {"q"}), /*available=*/false);
  }
  SetAvailable("alice");
  At(absl::Seconds(5));
  SetAvailable("bob");
  At(absl::Seconds(10));
  SetAvailable("carol");
  EXPECT_EQ(Eng("bob").idle_since, T(absl::Seconds(5)));

  At(absl::Seconds(20));
  std::vector<Event> ev;
  SessionId s1 = Create(Session("q"), &ev);
  ASSERT_THAT(OffersOf(ev, s1), ElementsAre("alice")) << Dump(ev);
  RoutingReason r = OfferReason(ev, s1);
  EXPECT_EQ(r.strategy, "longest_idle");
  EXPECT_EQ(r.stage, RoutingStage::kQueue);
  EXPECT_EQ(r.relaxation_step, 0);
  EXPECT_EQ(r.decided_by, Decider::kPrimaryKey);
  EXPECT_EQ(r.winner, Key(Micros(t0), 0, "alice"));
  EXPECT_TRUE(r.has_runner_up);
  EXPECT_EQ(r.runner_up, Key(Micros(T(absl::Seconds(5))), 0, "bob"));
  EXPECT_EQ(r.runner_up_engineer, EngineerId("bob"));
  // An offer resets idle_since: the next chat goes to bob, then carol, then alice.
  EXPECT_EQ(Eng("alice").idle_since, T(absl::Seconds(20)));
  At(absl::Seconds(21));
  SessionId s2 = Create(Session("q"), &ev);
  EXPECT_THAT(OffersOf(ev, s2), ElementsAre("bob")) << Dump(ev);
  SessionId s3 = Create(Session("q"), &ev);
  EXPECT_THAT(OffersOf(ev, s3), ElementsAre("carol")) << Dump(ev);
  RoutingReason r3 = OfferReason(ev, s3);
  EXPECT_EQ(r3.winner, Key(Micros(T(absl::Seconds(10))), 0, "carol"));
  EXPECT_EQ(r3.runner_up_engineer, EngineerId("alice"));
  SessionId s4 = Create(Session("q"), &ev);
  EXPECT_THAT(OffersOf(ev, s4), ElementsAre("alice")) << Dump(ev);
}

TEST_F(RoutingTest, OnlyCandidate) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  AddEngineer(Engineer("bob", {"q"}), /*available=*/false);
  std::vector<Event> ev;
  SessionId s = Create(Session("q"), &ev);
  RoutingReason r = OfferReason(ev, s);
  EXPECT_EQ(r.decided_by, Decider::kOnlyCandidate);
  EXPECT_FALSE(r.has_runner_up);
  EXPECT_EQ(r.winner, Key(Micros(t0), 0, "alice"));
}

struct StrategyCase {
  std::string name;
  std::string strategy;
  // Per engineer (alice registered first, bob second): budget, score, when available.
  int alice_budget = 60, bob_budget = 60;
  int64_t alice_score = 0, bob_score = 0;
  int alice_at = 0, bob_at = 0;  // seconds after t0
  std::string winner;
  Decider decided_by;
  // Expected keys (primary, secondary) of the winner and the runner-up; kIdle = the
  // engineer's idle_since in micros.
  int64_t winner_primary, winner_secondary, runner_primary, runner_secondary;
};
constexpr int64_t kIdleAlice = -1;  // placeholders resolved in the test
constexpr int64_t kIdleBob = -2;

TEST_F(RoutingTest, StrategiesRankAsTheTableSays) {
  const std::vector<StrategyCase> cases = {
      {"longest_idle: idle decides", "longest_idle", 60, 60, 0, 0, 5, 0, "bob",
       Decider::kPrimaryKey, kIdleBob, 0, kIdleAlice, 0},
      {"longest_idle: tie, registration order", "longest_idle", 60, 60, 0, 0, 0, 0, "alice",
       Decider::kRegistrationOrder, kIdleAlice, 0, kIdleBob, 0},
      {"most_spare: spare decides", "most_spare", 60, 120, 0, 0, 0, 5, "bob",
       Decider::kPrimaryKey, -120, kIdleBob, -60, kIdleAlice},
      {"most_spare: equal spare, idle decides", "most_spare", 60, 60, 0, 0, 5, 0, "bob",
       Decider::kSecondaryKey, -60, kIdleBob, -60, kIdleAlice},
      {"most_spare: all equal", "most_spare", 60, 60, 0, 0, 0, 0, "alice",
       Decider::kRegistrationOrder, -60, kIdleAlice, -60, kIdleBob},
      {"best_rated: score decides", "best_rated", 60, 60, 10, 50, 0, 5, "bob",
       Decider::kPrimaryKey, -50, kIdleBob, -10, kIdleAlice},
      {"best_rated: equal score, idle decides", "best_rated", 60, 60, 7, 7, 5, 0, "bob",
       Decider::kSecondaryKey, -7, kIdleBob, -7, kIdleAlice},
      {"best_rated: all equal", "best_rated", 60, 60, 7, 7, 0, 0, "alice",
       Decider::kRegistrationOrder, -7, kIdleAlice, -7, kIdleBob},
      {"round_robin: nobody assigned yet, registration order", "round_robin", 60, 60, 0, 0,
       5, 0, "alice", Decider::kRegistrationOrder, 0, 0, 0, 0},
  };
  for (const StrategyCase& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    Reset();
    QueueConfig q = Queue("q");
    q.strategy = c.strategy;
    AddQueue(q);
    EngineerConfig alice = Engineer("alice", {"q"});
    alice.budget = c.alice_budget;
    alice.score = c.alice_score;
    EngineerConfig bob = Engineer("bob", {"q"});
    bob.budget = c.bob_budget;
    bob.score = c.bob_score;
    AddEngineer(alice, false);
    AddEngineer(bob, false);
    for (int t = 0; t <= 5; ++t) {
      At(absl::Seconds(t));
      if (c.alice_at == t) SetAvailable("alice");
      if (c.bob_at == t) SetAvailable("bob");
    }
    auto resolve = [&](int64_t v) {
      if (v == kIdleAlice) return Micros(T(absl::Seconds(c.alice_at)));
      if (v == kIdleBob) return Micros(T(absl::Seconds(c.bob_at)));
      return v;
    };
    const std::string runner = c.winner == "alice" ? "bob" : "alice";
    At(absl::Seconds(10));
    std::vector<Event> ev;
    SessionId s = Create(Session("q"), &ev);
    ASSERT_THAT(OffersOf(ev, s), ElementsAre(c.winner)) << Dump(ev);
    RoutingReason r = OfferReason(ev, s);
    EXPECT_EQ(r.strategy, c.strategy);
    EXPECT_EQ(r.decided_by, c.decided_by) << DeciderName(r.decided_by);
    EXPECT_EQ(r.winner, Key(resolve(c.winner_primary), resolve(c.winner_secondary), c.winner));
    EXPECT_TRUE(r.has_runner_up);
    EXPECT_EQ(r.runner_up,
              Key(resolve(c.runner_primary), resolve(c.runner_secondary), runner));
    EXPECT_EQ(r.runner_up_engineer, EngineerId(runner));
  }
}

TEST_F(RoutingTest, MostSpareCountsHeldWork) {
  QueueConfig q = Queue("q");
  q.strategy = "most_spare";
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  AddEngineer(Engineer("bob", {"q"}));
  std::vector<Event> ev;
  SessionId s1 = Create(Session("q"), &ev);
  ASSERT_THAT(OffersOf(ev, s1), ElementsAre("alice")) << Dump(ev);  // registration order
  SessionId s2 = Create(Session("q"), &ev);
  ASSERT_THAT(OffersOf(ev, s2), ElementsAre("bob")) << Dump(ev);  // 60 spare vs 40
  RoutingReason r = OfferReason(ev, s2);
  EXPECT_EQ(r.decided_by, Decider::kPrimaryKey);
  EXPECT_EQ(r.winner.primary, -60);
  EXPECT_EQ(r.runner_up.primary, -40);
  EXPECT_EQ(r.runner_up_engineer, EngineerId("alice"));
}

TEST_F(RoutingTest, RoundRobinRotatesByAssignment) {
  QueueConfig q = Queue("q");
  q.strategy = "round_robin";
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  AddEngineer(Engineer("bob", {"q"}));
  AddEngineer(Engineer("carol", {"q"}));
  std::vector<std::string> winners;
  std::vector<Decider> deciders;
  for (int i = 0; i < 5; ++i) {
    At(absl::Seconds(i + 1));
    std::vector<Event> ev;
    SessionId s = Create(Session("q"), &ev);
    std::vector<std::string> offered = OffersOf(ev, s);
    ASSERT_EQ(offered.size(), 1u) << Dump(ev);
    winners.push_back(offered[0]);
    deciders.push_back(OfferReason(ev, s).decided_by);
    Accept(s, offered[0]);
  }
  EXPECT_THAT(winners, ElementsAre("alice", "bob", "carol", "alice", "bob")) << Log();
  // First three: never assigned (0) -> registration order among alice/bob/carol, then
  // bob/carol, then carol alone at 0 beats the others' numbers (primary key).
  EXPECT_EQ(deciders[0], Decider::kRegistrationOrder);
  EXPECT_EQ(deciders[1], Decider::kRegistrationOrder);
  EXPECT_EQ(deciders[2], Decider::kPrimaryKey);
  EXPECT_EQ(deciders[3], Decider::kPrimaryKey);
  EXPECT_EQ(deciders[4], Decider::kPrimaryKey);
}

TEST_F(RoutingTest, RoundRobinKeyIsTheQueuesAssignmentNumber) {
  QueueConfig q = Queue("q");
  q.strategy = "round_robin";
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  AddEngineer(Engineer("bob", {"q"}));
  SessionId s1 = Create(Session("q"));
  Accept(s1, "alice");  // assignment 1 of q
  std::vector<Event> ev;
  SessionId s2 = Create(Session("q"), &ev);
  ASSERT_THAT(OffersOf(ev, s2), ElementsAre("bob")) << Dump(ev);
  RoutingReason r = OfferReason(ev, s2);
  EXPECT_EQ(r.winner, Key(0, 0, "bob"));
  EXPECT_EQ(r.runner_up, Key(1, 0, "alice"));
  Accept(s2, "bob");  // assignment 2
  SessionId s3 = Create(Session("q"), &ev);
  ASSERT_THAT(OffersOf(ev, s3), ElementsAre("alice")) << Dump(ev);
  r = OfferReason(ev, s3);
  EXPECT_EQ(r.winner, Key(1, 0, "alice"));
  EXPECT_EQ(r.runner_up, Key(2, 0, "bob"));
}

TEST_F(RoutingTest, StrategyChangeAppliesToTheNextChoice) {
  AddQueue(Queue("q"));
  EngineerConfig alice = Engineer("alice", {"q"});
  alice.score = 1;
  EngineerConfig bob = Engineer("bob", {"q"});
  bob.score = 99;
  AddEngineer(alice);
  At(absl::Seconds(1));
  AddEngineer(bob);
  QueueConfig q = Queue("q");
  q.strategy = "best_rated";
  ApplyOk(UpsertQueue{q});
  std::vector<Event> ev;
  SessionId s = Create(Session("q"), &ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).strategy, "best_rated");
}

// ---- a freed engineer chooses a session ---------------------------------------------------------

TEST_F(RoutingTest, FreedEngineerTakesHighestPriorityThenLongestWaitThenSmallerId) {
  QueueConfig q1 = Queue("q1");
  q1.ageing_interval = absl::ZeroDuration();
  QueueConfig q2 = Queue("q2");
  q2.ageing_interval = absl::ZeroDuration();
  AddQueue(q1);
  AddQueue(q2);
  auto create = [&](std::string queue, int priority, uint64_t id) {
    CreateSession c = Session(std::move(queue), "voice", id);
    c.priority = priority;
    return Create(c);
  };
  SessionId low = create("q1", 1, 50);      // t0
  At(absl::Seconds(1));
  SessionId early5 = create("q2", 5, 60);   // t0+1
  At(absl::Seconds(2));
  SessionId late5_b = create("q1", 5, 40);  // t0+2, created before late5_a
  SessionId late5_a = create("q2", 5, 30);  // t0+2, same wait, smaller id

  At(absl::Seconds(10));
  std::vector<Event> ev = AddEngineer(VoiceOnly("alice", {"q1", "q2"}));
  ASSERT_THAT(OffersOf(ev, early5), ElementsAre("alice")) << Dump(ev);
  RoutingReason r = OfferReason(ev, early5);
  EXPECT_EQ(r.decided_by, Decider::kLongestWait) << DeciderName(r.decided_by);
  EXPECT_EQ(r.effective_priority_milli, 5000);
  EXPECT_EQ(r.waited, absl::Seconds(9));
  EXPECT_EQ(r.runner_up_session, late5_a);

  Accept(early5, "alice");
  Complete(early5, "alice");
  At(absl::Seconds(11));
  ev = EndWrap(early5, "alice");
  ASSERT_THAT(OffersOf(ev, late5_a), ElementsAre("alice")) << Dump(ev);
  r = OfferReason(ev, late5_a);
  EXPECT_EQ(r.decided_by, Decider::kSessionOrder) << DeciderName(r.decided_by);
  EXPECT_EQ(r.runner_up_session, late5_b);

  Accept(late5_a, "alice");
  Complete(late5_a, "alice");
  ev = EndWrap(late5_a, "alice");
  ASSERT_THAT(OffersOf(ev, late5_b), ElementsAre("alice")) << Dump(ev);
  r = OfferReason(ev, late5_b);
  EXPECT_EQ(r.decided_by, Decider::kEffectivePriority) << DeciderName(r.decided_by);
  EXPECT_EQ(r.runner_up_session, low);

  Accept(late5_b, "alice");
  Complete(late5_b, "alice");
  ev = EndWrap(late5_b, "alice");
  EXPECT_THAT(OffersOf(ev, low), ElementsAre("alice")) << Dump(ev);
}

TEST_F(RoutingTest, FreedEngineerFillsUpWithChats) {
  AddQueue(Queue("q"));
  std::vector<SessionId> s;
  for (int i = 0; i < 4; ++i) {
    At(absl::Seconds(i));
    s.push_back(Create(Session("q", "wechat")));
  }
  At(absl::Seconds(10));
  std::vector<Event> ev = AddEngineer(Engineer("alice", {"q"}));
  EXPECT_EQ(SessionsOf(ev, EventType::kOfferCreated),
            (std::vector<uint64_t>{s[0].value(), s[1].value(), s[2].value()}))
      << Dump(ev);
  EXPECT_EQ(StateOf(s[3]), SessionState::kQueued);
}

TEST_F(RoutingTest, SameQueueSameRequirementsServedInOrder) {
  AddQueue(Queue("q"));
  std::vector<SessionId> s;
  for (int i = 0; i < 4; ++i) {
    At(absl::Seconds(i));
    s.push_back(Create(Session("q", "voice")));
  }
  std::vector<uint64_t> served;
  for (int i = 0; i < 4; ++i) {
    At(absl::Seconds(10 + i));
    std::vector<Event> ev = AddEngineer(VoiceOnly("e" + std::to_string(i), {"q"}));
    for (uint64_t id : SessionsOf(ev, EventType::kOfferCreated)) served.push_back(id);
  }
  EXPECT_EQ(served, (std::vector<uint64_t>{s[0].value(), s[1].value(), s[2].value(),
                                           s[3].value()}))
      << Log();
}

TEST_F(RoutingTest, FreedEngineerSkipsSessionsItIsNotEligibleFor) {
  QueueConfig q = Queue("q");
  AddQueue(q);
  CreateSession hard = Session("q", "voice");
  hard.requirements = {Req("repair", 5)};
  hard.priority = 100;
  SessionId s_hard = Create(hard);
  At(absl::Seconds(1));
  SessionId s_easy = Create(Session("q", "voice"));
  At(absl::Seconds(2));
  std::vector<Event> ev = AddEngineer(VoiceOnly("alice", {"q"}, {Skill("repair", 4)}));
  EXPECT_THAT(OffersOf(ev, s_easy), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(StateOf(s_hard), SessionState::kQueued);
}

// ---- ageing -------------------------------------------------------------------------------------

// Two queues: q1 ages one point per 10 s, q2 does not age. A (q1, priority 0) and B (q2,
// priority 3) wait from t0. An engineer freed at t: A's effective priority is t/10, B's 3.
TEST_F(RoutingTest, AgeingAcrossQueuesExactTimes) {
  struct Case {
    int at_seconds;
    char winner;
    Decider decided_by;
    int64_t milli;
  };
  const std::vector<Case> cases = {
      {29, 'B', Decider::kEffectivePriority, 3000},
      {30, 'A', Decider::kSessionOrder, 3000},  // 3 == 3, same wait, A has the smaller id
      {31, 'A', Decider::kEffectivePriority, 3100},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "engineer freed at +" << c.at_seconds << "s");
    Reset();
    QueueConfig q1 = Queue("q1");
    q1.ageing_interval = absl::Seconds(10);
    QueueConfig q2 = Queue("q2");
    q2.ageing_interval = absl::ZeroDuration();
    AddQueue(q1);
    AddQueue(q2);
    CreateSession a = Session("q1", "voice", 1);
    CreateSession b = Session("q2", "voice", 2);
    b.priority = 3;
    Create(a);
    Create(b);
    At(absl::Seconds(c.at_seconds));
    std::vector<Event> ev = AddEngineer(VoiceOnly("alice", {"q1", "q2"}));
    const SessionId win(c.winner == 'A' ? 1 : 2);
    const SessionId lose(c.winner == 'A' ? 2 : 1);
    ASSERT_THAT(OffersOf(ev, win), ElementsAre("alice")) << Dump(ev);
    EXPECT_THAT(OffersOf(ev, lose), IsEmpty()) << Dump(ev);
    RoutingReason r = OfferReason(ev, win);
    EXPECT_EQ(r.decided_by, c.decided_by) << DeciderName(r.decided_by);
    EXPECT_EQ(r.effective_priority_milli, c.milli);
    EXPECT_EQ(r.waited, absl::Seconds(c.at_seconds));
    EXPECT_EQ(r.runner_up_session, lose);
  }
}

// One queue ageing 1 point / 30 s. Old (priority 0) waits from t0; New (priority 2) arrives
// `delay` later. At 120 s Old has 4 points, New 2 + (120 - delay) / 30.
TEST_F(RoutingTest, AgeingLetsAnOlderLowPrioritySessionOvertake) {
  struct Case {
    int delay;
    bool old_wins;
    Decider decided_by;
  };
  const std::vector<Case> cases = {
      {59, false, Decider::kEffectivePriority},  // New: 2 + 61/30 > 4
      {60, true, Decider::kLongestWait},         // New: exactly 4; Old waited longer
      {61, true, Decider::kEffectivePriority},   // New: 2 + 59/30 < 4
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "new session after " << c.delay << "s");
    Reset();
    QueueConfig q = Queue("q");
    q.ageing_interval = absl::Seconds(30);
    AddQueue(q);
    SessionId old_s = Create(Session("q", "voice"));
    At(absl::Seconds(c.delay));
    CreateSession n = Session("q", "voice");
    n.priority = 2;
    SessionId new_s = Create(n);
    At(absl::Seconds(120));
    std::vector<Event> ev = AddEngineer(VoiceOnly("alice", {"q"}));
    SessionId win = c.old_wins ? old_s : new_s;
    ASSERT_THAT(OffersOf(ev, win), ElementsAre("alice")) << Dump(ev);
    RoutingReason r = OfferReason(ev, win);
    EXPECT_EQ(r.decided_by, c.decided_by) << DeciderName(r.decided_by);
    if (c.old_wins) {
      EXPECT_EQ(r.effective_priority_milli, 4000);
      EXPECT_EQ(r.waited, absl::Seconds(120));
    }
  }
}

// ---- stages -------------------------------------------------------------------------------------

class StageTest : public RoutingTest {
 protected:
  // Queue q: preferred 20 s, last engineer 10 s, VIP (level >= 1, tier >= elite) 30 s.
  // Engineers (all offline): pat (preferred), lee (last), vic (elite), rob (rookie).
  void SetUpWorld() {
    QueueConfig q = Queue("q");
    q.preferred_timeout = absl::Seconds(20);
    q.last_engineer_timeout = absl::Seconds(10);
    q.vip_timeout = absl::Seconds(30);
    q.vip_min_level = 1;
    q.vip_min_tier = Tier::kElite;
    AddQueue(q);
    AddEngineer(Engineer("pat", {"q"}), false);
    AddEngineer(Engineer("lee", {"q"}), false);
    EngineerConfig vic = Engineer("vic", {"q"});
    vic.tier = Tier::kElite;
    AddEngineer(vic, false);
    AddEngineer(Engineer("rob", {"q"}), false);
  }
  CreateSession VipSession() {
    CreateSession c = Session("q", "wechat");
    c.customer.id = CustomerId("cust-1");
    c.customer.vip_level = 2;
    c.customer.preferred_engineers = {EngineerId("pat")};
    c.customer.last_engineer = EngineerId("lee");
    return c;
  }
};

TEST_F(StageTest, FallsBackThroughTheStagesOnTimers) {
  SetUpWorld();
  SetAvailable("rob");
  std::vector<Event> ev;
  SessionId s = Create(VipSession(), &ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kPreferred) << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(20)));

  ev = AdvanceTo(absl::Seconds(19));
  EXPECT_THAT(ev, IsEmpty()) << Dump(ev);

  ev = AdvanceTo(absl::Seconds(20));
  std::optional<Event> changed = FindEvent(ev, EventType::kSessionStageChanged, s);
  ASSERT_TRUE(changed.has_value()) << Dump(ev);
  EXPECT_EQ(changed->at, T(absl::Seconds(20)));
  EXPECT_EQ(Sess(s).stage, RoutingStage::kLastEngineer);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(30)));

  ev = AdvanceTo(absl::Seconds(30));
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionStageChanged, s)) << Dump(ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kVipTier);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(60)));
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << "rob is a rookie" << Dump(ev);

  ev = AdvanceTo(absl::Seconds(60));
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionStageChanged, s)) << Dump(ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kQueue);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("rob")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).stage, RoutingStage::kQueue);
  EXPECT_EQ(FindEvent(ev, EventType::kOfferCreated, s)->at, T(absl::Seconds(60)));
}

TEST_F(StageTest, AdvancingPastEveryStageAtOnceFiresEachAtItsTime) {
  SetUpWorld();
  SetAvailable("rob");
  SessionId s = Create(VipSession());
  std::vector<Event> ev = AdvanceTo(absl::Seconds(100));
  std::vector<Event> changes = OfType(ev, EventType::kSessionStageChanged);
  ASSERT_EQ(changes.size(), 3u) << Dump(ev);
  EXPECT_EQ(changes[0].at, T(absl::Seconds(20)));
  EXPECT_EQ(changes[1].at, T(absl::Seconds(30)));
  EXPECT_EQ(changes[2].at, T(absl::Seconds(60)));
  std::optional<Event> offer = FindEvent(ev, EventType::kOfferCreated, s);
  ASSERT_TRUE(offer.has_value()) << Dump(ev);
  EXPECT_EQ(offer->at, T(absl::Seconds(60)));
  EXPECT_EQ(offer->engineer, EngineerId("rob"));
}

struct StageCase {
  std::string name;
  std::string available;  // the one engineer made available at +5 s
  int offer_at;           // seconds
  RoutingStage stage;
};

TEST_F(StageTest, EachStageTargetsItsEngineers) {
  const std::vector<StageCase> cases = {
      {"preferred engineer during the preferred stage", "pat", 5, RoutingStage::kPreferred},
      {"last engineer waits for its stage", "lee", 20, RoutingStage::kLastEngineer},
      {"elite engineer waits for the VIP stage", "vic", 30, RoutingStage::kVipTier},
      {"rookie waits for the queue stage", "rob", 60, RoutingStage::kQueue},
  };
  for (const StageCase& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    Reset();
    SetUpWorld();
    SessionId s = Create(VipSession());
    At(absl::Seconds(5));
    std::vector<Event> ev = SetAvailable(c.available);
    std::vector<Event> more = AdvanceTo(absl::Seconds(100));
    ev.insert(ev.end(), more.begin(), more.end());
    std::optional<Event> offer = FindEvent(ev, EventType::kOfferCreated, s);
    ASSERT_TRUE(offer.has_value()) << Dump(ev);
    EXPECT_EQ(offer->engineer, EngineerId(c.available));
    EXPECT_EQ(offer->at, T(absl::Seconds(c.offer_at))) << Dump(ev);
    EXPECT_TRUE(offer->has_reason);
    EXPECT_EQ(offer->reason.stage, c.stage);
  }
}

TEST_F(StageTest, StagesWithNobodyToTargetOrZeroTimeoutAreSkipped) {
  struct Case {
    std::string name;
    std::function<void(CreateSession&)> customer;
    std::function<void(QueueConfig&)> queue;
    RoutingStage first;
    std::optional<int> first_deadline;  // seconds
  };
  const std::vector<Case> cases = {
      {"preferred engineer unknown", [](CreateSession& c) {
         c.customer.preferred_engineers = {EngineerId("ghost")};
       }, [](QueueConfig&) {}, RoutingStage::kLastEngineer, 10},
      {"no preferences, not VIP", [](CreateSession& c) {
         c.customer = CustomerSnapshot{};
       }, [](QueueConfig&) {}, RoutingStage::kQueue, std::nullopt},
      {"last engineer is also preferred", [](CreateSession& c) {
         c.customer.last_engineer = EngineerId("pat");
       }, [](QueueConfig&) {}, RoutingStage::kPreferred, 20},
      {"vip below the queue's minimum level", [](CreateSession& c) {
         c.customer.preferred_engineers.clear();
         c.customer.last_engineer = EngineerId();
         c.customer.vip_level = 2;
       }, [](QueueConfig& q) { q.vip_min_level = 3; }, RoutingStage::kQueue, std::nullopt},
      {"vip only", [](CreateSession& c) {
         c.customer.preferred_engineers.clear();
         c.customer.last_engineer = EngineerId();
       }, [](QueueConfig&) {}, RoutingStage::kVipTier, 30},
      {"zero preferred timeout", [](CreateSession&) {},
       [](QueueConfig& q) { q.preferred_timeout = absl::ZeroDuration(); },
       RoutingStage::kLastEngineer, 10},
      {"all timeouts zero", [](CreateSession&) {},
       [](QueueConfig& q) {
         q.preferred_timeout = absl::ZeroDuration();
         q.last_engineer_timeout = absl::ZeroDuration();
         q.vip_timeout = absl::ZeroDuration();
       },
       RoutingStage::kQueue, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    Reset();
    SetUpWorld();
    QueueConfig q = Q("q").config;
    c.queue(q);
    ApplyOk(UpsertQueue{q});
    CreateSession cs = VipSession();
    c.customer(cs);
    SessionId s = Create(cs);
    EXPECT_EQ(Sess(s).stage, c.first) << RoutingStageName(Sess(s).stage);
    if (c.first_deadline.has_value()) {
      EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(*c.first_deadline)));
    } else {
      EXPECT_EQ(engine().NextDeadline(), std::nullopt);
    }
  }
}

TEST_F(StageTest, PreferredEngineerBusyFallsBackToQueueAfterTimeout) {
  SetUpWorld();
  SetAvailable("rob");
  CreateSession c = Session("q", "wechat");
  c.customer.preferred_engineers = {EngineerId("pat")};
  SessionId s = Create(c);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kPreferred);
  std::vector<Event> ev = AdvanceTo(absl::Seconds(20));
  EXPECT_EQ(Sess(s).stage, RoutingStage::kQueue);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("rob")) << Dump(ev);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(20 + 15)));  // the offer's expiry
}

// ---- relaxation ---------------------------------------------------------------------------------

TEST_F(RoutingTest, RelaxationLowersThenDropsEverything) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("repair", 4)};
  // Given out of order: applied in order of `after`.
  q.relaxation = {{absl::Seconds(90), RelaxAction::kAnyEngineer, SkillId(), 1},
                  {absl::Seconds(30), RelaxAction::kLowerLevel, SkillId(), 2}};
  AddQueue(q);
  AddEngineer(Engineer("two", {"q"}, {Skill("repair", 2)}), false);
  AddEngineer(Engineer("none", {"q"}));
  SessionId s = Create(Session("q"));
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  EXPECT_EQ(Sess(s).relaxation_step, 0);
  EXPECT_THAT(Sess(s).requirements_in_force, ElementsAre(Req("repair", 4)));
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(30)));

  std::vector<Event> ev = AdvanceTo(absl::Seconds(30));
  std::optional<Event> relaxed = FindEvent(ev, EventType::kSessionRelaxed, s);
  ASSERT_TRUE(relaxed.has_value()) << Dump(ev);
  EXPECT_EQ(relaxed->at, T(absl::Seconds(30)));
  EXPECT_EQ(Sess(s).relaxation_step, 1);
  EXPECT_THAT(Sess(s).requirements_in_force, ElementsAre(Req("repair", 2)));
  EXPECT_THAT(Sess(s).requirements, ElementsAre(Req("repair", 4)));
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << "nobody with repair >= 2 is available";
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(90)));

  ev = AdvanceTo(absl::Seconds(90));
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionRelaxed, s)) << Dump(ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("none")) << Dump(ev);
  RoutingReason r = OfferReason(ev, s);
  EXPECT_EQ(r.relaxation_step, 2);
  EXPECT_EQ(Sess(s).relaxation_step, 2);
  EXPECT_THAT(Sess(s).requirements_in_force, IsEmpty());
}

TEST_F(RoutingTest, RelaxationOfferedToTheNewlyEligibleEngineer) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("repair", 4)};
  q.relaxation = {{absl::Seconds(30), RelaxAction::kLowerLevel, SkillId("repair"), 2}};
  AddQueue(q);
  AddEngineer(Engineer("two", {"q"}, {Skill("repair", 2)}));
  SessionId s = Create(Session("q"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(29));
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(30));
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("two")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).relaxation_step, 1);
  // The relaxed event comes before the offer.
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev.front().type, EventType::kSessionRelaxed) << Dump(ev);
}

TEST_F(RoutingTest, RelaxationDropSkillAndLowerOneSkill) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("a", 4), Req("b", 4), Req("c", 3)};
  q.relaxation = {{absl::Seconds(10), RelaxAction::kDropSkill, SkillId("b"), 1},
                  {absl::Seconds(20), RelaxAction::kLowerLevel, SkillId("a"), 2}};
  AddQueue(q);
  AddEngineer(Engineer("eng", {"q"}, {Skill("a", 2), Skill("c", 3)}));
  SessionId s = Create(Session("q"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(10));
  EXPECT_THAT(Sess(s).requirements_in_force, UnorderedElementsAre(Req("a", 4), Req("c", 3)));
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(20));
  EXPECT_THAT(Sess(s).requirements_in_force, UnorderedElementsAre(Req("a", 2), Req("c", 3)));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("eng")) << Dump(ev);
  EXPECT_EQ(Sess(s).relaxation_step, 2);
}

TEST_F(RoutingTest, LowerLevelNeverRaises) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("a", 2), Req("b", 5)};
  q.relaxation = {{absl::Seconds(10), RelaxAction::kLowerLevel, SkillId(), 3}};
  AddQueue(q);
  SessionId s = Create(Session("q"));
  AdvanceTo(absl::Seconds(10));
  EXPECT_THAT(Sess(s).requirements_in_force, UnorderedElementsAre(Req("a", 2), Req("b", 3)));
}

// ---- requirements and engineer changes ----------------------------------------------------------

TEST_F(RoutingTest, EngineerGainingASkillTakesTheWaitingSession) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("repair", 3)};
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}, {Skill("repair", 2)}));
  SessionId s = Create(Session("q"));
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  At(absl::Seconds(5));
  std::vector<Event> ev = ApplyOk(UpsertEngineer{Engineer("alice", {"q"}, {Skill("repair", 3)})});
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(Eng("alice").presence, Presence::kAvailable) << "upsert keeps presence";
}

TEST_F(RoutingTest, EngineerJoiningAQueueTakesItsSession) {
  AddQueue(Queue("q"));
  AddQueue(Queue("other"));
  AddEngineer(Engineer("alice", {"other"}));
  SessionId s = Create(Session("q"));
  std::vector<Event> ev = ApplyOk(UpsertEngineer{Engineer("alice", {"other", "q"})});
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

TEST_F(RoutingTest, QueueReconfigurationReevaluatesWaitingSessions) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("repair", 4)};
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}, {Skill("repair", 2)}));
  SessionId s = Create(Session("q"));
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  q.requirements = {Req("repair", 2)};
  std::vector<Event> ev = ApplyOk(UpsertQueue{q});
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  EXPECT_THAT(Sess(s).requirements_in_force, ElementsAre(Req("repair", 2)));
}

// ---- overflow -----------------------------------------------------------------------------------

TEST_F(RoutingTest, OverflowKeepsWaitingSinceAndGoesToTheQueueStage) {
  QueueConfig src = Queue("src");
  src.overflow_after = absl::Seconds(60);
  src.overflow_queue = QueueId("dst");
  QueueConfig dst = Queue("dst");
  dst.ageing_interval = absl::ZeroDuration();
  AddQueue(dst);
  AddQueue(src);
  AddEngineer(VoiceOnly("bob", {"dst"}), false);
  CreateSession c = Session("src", "voice");
  c.customer.preferred_engineers = {EngineerId("bob")};  // would target bob in dst
  SessionId s1 = Create(c);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(20)));  // its preferred stage ends
  At(absl::Seconds(30));
  SessionId s2 = Create(Session("dst", "voice"));

  std::vector<Event> ev = AdvanceTo(absl::Seconds(60));
  std::optional<Event> ovf = FindEvent(ev, EventType::kSessionOverflowed, s1);
  ASSERT_TRUE(ovf.has_value()) << Dump(ev);
  EXPECT_EQ(ovf->at, T(absl::Seconds(60)));
  EXPECT_EQ(ovf->queue, QueueId("src"));
  EXPECT_EQ(ovf->to_queue, QueueId("dst"));
  SessionInfo info = Sess(s1);
  EXPECT_EQ(info.state, SessionState::kQueued);
  EXPECT_EQ(info.queue, QueueId("dst"));
  EXPECT_EQ(info.stage, RoutingStage::kQueue);
  EXPECT_EQ(info.waiting_since, t0);
  EXPECT_EQ(info.queue_entered_at, T(absl::Seconds(60)));
  EXPECT_EQ(Q("src").waiting, 0);
  EXPECT_EQ(Q("dst").waiting, 2);
  EXPECT_EQ(Q("dst").oldest_waiting_since, t0);

  // bob, freed, takes s1 first: it has waited since t0, s2 since +30 s.
  At(absl::Seconds(70));
  ev = SetAvailable("bob");
  ASSERT_THAT(OffersOf(ev, s1), ElementsAre("bob")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s1).decided_by, Decider::kLongestWait);
  EXPECT_EQ(OfferReason(ev, s1).runner_up_session, s2);
}

TEST_F(RoutingTest, OverflowWithoutTargetEndsOverflowed) {
  QueueConfig q = Queue("q");
  q.overflow_after = absl::Seconds(45);
  AddQueue(q);
  SessionId s = Create(Session("q"));
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(45)));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(50));
  std::optional<Event> ovf = FindEvent(ev, EventType::kSessionOverflowed, s);
  ASSERT_TRUE(ovf.has_value()) << Dump(ev);
  EXPECT_EQ(ovf->at, T(absl::Seconds(45)));
  EXPECT_EQ(ovf->state, SessionState::kOverflowed);
  EXPECT_EQ(StateOf(s), SessionState::kOverflowed);
  EXPECT_TRUE(IsTerminal(SessionState::kOverflowed));
  EXPECT_EQ(Q("q").waiting, 0);
  // A late engineer finds nothing.
  ev = AddEngineer(Engineer("alice", {"q"}));
  EXPECT_EQ(Count(ev, EventType::kOfferCreated), 0) << Dump(ev);
}

TEST_F(RoutingTest, OverflowIgnoresChannelLimits) {
  QueueConfig src = Queue("src");
  src.overflow_after = absl::Seconds(60);
  src.overflow_queue = QueueId("dst");
  QueueConfig dst = Queue("dst");
  dst.channel_limits = {{ChannelId("wechat"), 1}};
  AddQueue(dst);
  AddQueue(src);
  Create(Session("dst", "wechat"));
  SessionId s = Create(Session("src", "wechat"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(60));
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionOverflowed, s)) << Dump(ev);
  EXPECT_EQ(Sess(s).queue, QueueId("dst"));
  EXPECT_EQ(Q("dst").waiting, 2);
}

TEST_F(RoutingTest, OfferedSessionOverflowsWhenItComesBack) {
  QueueConfig src = Queue("src");
  src.overflow_after = absl::Seconds(60);
  src.overflow_queue = QueueId("dst");
  src.offer_timeout = absl::Seconds(100);
  AddQueue(Queue("dst"));
  AddQueue(src);
  AddEngineer(Engineer("alice", {"src"}));
  AddEngineer(Engineer("bob", {"dst"}));
  std::vector<Event> ev;
  SessionId s = Create(Session("src"), &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(80));
  EXPECT_FALSE(HasEvent(ev, EventType::kSessionOverflowed, s)) << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kOffered);
  ev = Reject(s, "alice");
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionOverflowed, s)) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  EXPECT_EQ(Sess(s).queue, QueueId("dst"));
  EXPECT_EQ(Sess(s).waiting_since, t0);
}

// ---- tag rules ----------------------------------------------------------------------------------

TEST_F(RoutingTest, TagRulePriorityBoost) {
  QueueConfig q = Queue("q");
  q.ageing_interval = absl::ZeroDuration();
  q.tag_rules = {{.tag = "risk:negative-social", .priority_boost = 50}};
  AddQueue(q);
  SessionId plain = Create(Session("q", "voice"));
  At(absl::Seconds(1));
  CreateSession tagged = Session("q", "voice");
  tagged.priority = 10;
  tagged.customer.tags = {"new-home", "risk:negative-social"};
  SessionId boosted = Create(tagged);
  EXPECT_EQ(Sess(boosted).priority, 60);
  EXPECT_EQ(Sess(plain).priority, 0);
  At(absl::Seconds(2));
  std::vector<Event> ev = AddEngineer(VoiceOnly("alice", {"q"}));
  ASSERT_THAT(OffersOf(ev, boosted), ElementsAre("alice")) << Dump(ev);
  RoutingReason r = OfferReason(ev, boosted);
  EXPECT_EQ(r.decided_by, Decider::kEffectivePriority);
  EXPECT_EQ(r.effective_priority_milli, 60000);
}

TEST_F(RoutingTest, TagRuleExtraRequirement) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("repair", 2)};
  q.tag_rules = {{.tag = "new-home", .requirement = Req("install", 3)},
                 {.tag = "other", .requirement = Req("never", 5)}};
  AddQueue(q);
  AddEngineer(Engineer("plain", {"q"}, {Skill("repair", 5)}));
  CreateSession c = Session("q");
  c.customer.tags = {"new-home"};
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  EXPECT_THAT(Sess(s).requirements,
              UnorderedElementsAre(Req("install", 3), Req("repair", 2)));
  ev = AddEngineer(Engineer("installer", {"q"}, {Skill("install", 3), Skill("repair", 2)}));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("installer")) << Dump(ev);
}

// ---- channel limits -----------------------------------------------------------------------------

TEST_F(RoutingTest, ChannelLimitsCountQueuedAndOffered) {
  QueueConfig q = Queue("q");
  q.channel_limits = {{ChannelId("wechat"), 2}};
  AddQueue(q);
  EngineerConfig e = Engineer("alice", {"q"});
  e.channels = {Cap("wechat", 1)};
  AddEngineer(e);
  SessionId s1 = Create(Session("q", "wechat"));
  EXPECT_EQ(StateOf(s1), SessionState::kOffered);
  SessionId s2 = Create(Session("q", "wechat"));
  EXPECT_EQ(StateOf(s2), SessionState::kQueued);
  QueueInfo info = Q("q");
  EXPECT_EQ(info.waiting, 1);
  EXPECT_EQ(info.offered, 1);
  EXPECT_THAT(info.waiting_by_channel,
              ElementsAre(std::pair<ChannelId, int>(ChannelId("wechat"), 2)));

  std::vector<Event> ev;
  absl::Status st = ApplyStatus(Session("q", "wechat"), &ev);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st << Dump(ev);
  // Another channel is not limited.
  Create(Session("q", "voice"));
  // Once s1 is assigned it no longer counts.
  Accept(s1, "alice");
  Create(Session("q", "wechat"));
  st = ApplyStatus(Session("q", "wechat"), &ev);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted) << st << Dump(ev);
}

TEST_F(RoutingTest, ChannelLimitsDoNotCountBotSessions) {
  QueueConfig q = Queue("q");
  q.channel_limits = {{ChannelId("robot_chat"), 1}};
  AddQueue(q);
  CreateSession bot = Session("q", "robot_chat");
  Create(bot);
  Create(bot);  // both wait in BOT: not QUEUED nor OFFERED
  EXPECT_EQ(Q("q").waiting, 0);
}

// ---- more relaxation, overflow and reconfiguration --------------------------------------------

TEST_F(RoutingTest, StepsWithTheSameAfterAndNoOpStepsCount) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("a", 3)};
  q.relaxation = {{absl::Seconds(10), RelaxAction::kLowerLevel, SkillId("zzz"), 1},  // no-op
                  {absl::Seconds(10), RelaxAction::kDropSkill, SkillId("a"), 1}};
  AddQueue(q);
  SessionId s = Create(Session("q"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(10));
  EXPECT_GE(Count(ev, EventType::kSessionRelaxed), 1) << Dump(ev);
  EXPECT_EQ(Sess(s).relaxation_step, 2) << "both steps are in force" << Dump(ev);
  EXPECT_THAT(Sess(s).requirements_in_force, IsEmpty());
  EXPECT_EQ(engine().NextDeadline(), std::nullopt);
}

TEST_F(RoutingTest, AnyEngineerDropsTheSessionsOwnAndTagRequirementsToo) {
  QueueConfig q = Queue("q");
  q.tag_rules = {{.tag = "gold", .requirement = Req("vip", 5)}};
  q.relaxation = {{absl::Seconds(5), RelaxAction::kAnyEngineer, SkillId(), 1}};
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  CreateSession c = Session("q");
  c.requirements = {Req("repair", 5)};
  c.customer.tags = {"gold"};
  SessionId s = Create(c);
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  std::vector<Event> ev = AdvanceTo(absl::Seconds(5));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

TEST_F(RoutingTest, OverflowChainsAndMeasuresTimeInTheCurrentQueue) {
  QueueConfig dst = Queue("dst");
  QueueConfig mid = Queue("mid");
  mid.overflow_after = absl::Seconds(30);
  mid.overflow_queue = QueueId("dst");
  mid.requirements = {Req("x", 4)};
  mid.relaxation = {{absl::Seconds(20), RelaxAction::kLowerLevel, SkillId(), 2}};
  QueueConfig src = Queue("src");
  src.overflow_after = absl::Seconds(60);
  src.overflow_queue = QueueId("mid");
  AddQueue(dst);
  AddQueue(mid);
  AddQueue(src);
  SessionId s = Create(Session("src"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(200));
  std::vector<Event> ovf = OfType(ev, EventType::kSessionOverflowed);
  ASSERT_EQ(ovf.size(), 2u) << Dump(ev);
  EXPECT_EQ(ovf[0].at, T(absl::Seconds(60)));
  EXPECT_EQ(ovf[0].to_queue, QueueId("mid"));
  EXPECT_EQ(ovf[1].at, T(absl::Seconds(90)));
  EXPECT_EQ(ovf[1].to_queue, QueueId("dst"));
  std::optional<Event> relaxed = FindEvent(ev, EventType::kSessionRelaxed, s);
  ASSERT_TRUE(relaxed.has_value()) << Dump(ev);
  EXPECT_EQ(relaxed->at, T(absl::Seconds(80))) << "20 s after entering mid";
  SessionInfo info = Sess(s);
  EXPECT_EQ(info.queue, QueueId("dst"));
  EXPECT_EQ(info.waiting_since, t0);
  EXPECT_EQ(info.queue_entered_at, T(absl::Seconds(90)));
  EXPECT_EQ(info.state, SessionState::kQueued);
}

TEST_F(RoutingTest, QueueReconfigurationAppliesPastDueRulesAtOnce) {
  AddQueue(Queue("q"));
  SessionId s = Create(Session("q"));
  At(absl::Seconds(100));
  QueueConfig q = Queue("q");
  q.overflow_after = absl::Seconds(60);
  std::vector<Event> ev = ApplyOk(UpsertQueue{q});
  EXPECT_TRUE(HasEvent(ev, EventType::kSessionOverflowed, s)) << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kOverflowed);
}

TEST_F(RoutingTest, QueueReconfigurationRelaxesAtOnce) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("x", 5)};
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}, {Skill("x", 2)}));
  SessionId s = Create(Session("q"));
  At(absl::Seconds(100));
  q.relaxation = {{absl::Seconds(30), RelaxAction::kLowerLevel, SkillId(), 2}};
  std::vector<Event> ev = ApplyOk(UpsertQueue{q});
  EXPECT_EQ(Sess(s).relaxation_step, 1) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

TEST_F(RoutingTest, ChannelCostChangeKeepsTheCostOfHeldSessions) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  SessionId s1 = Create(Session("q"));
  Accept(s1, "alice");
  EXPECT_EQ(Eng("alice").used_budget, 20);
  ChannelSpec wechat;
  wechat.id = ChannelId("wechat");
  wechat.cost = 30;
  wechat.default_max = 3;
  ApplyOk(UpsertChannel{wechat});
  EXPECT_EQ(Eng("alice").used_budget, 20) << "held sessions keep their cost";
  SessionId s2 = Create(Session("q"));
  Accept(s2, "alice");
  EXPECT_EQ(Eng("alice").used_budget, 50);
  SessionId s3 = Create(Session("q"));
  EXPECT_EQ(StateOf(s3), SessionState::kQueued) << "10 left, a chat now costs 30" << Log();
  Complete(s1, "alice");
  std::vector<Event> ev = EndWrap(s1, "alice");
  EXPECT_EQ(Eng("alice").used_budget, 60) << Dump(ev);  // 30 (s2) + 30 (s3)
  EXPECT_THAT(OffersOf(ev, s3), ElementsAre("alice")) << Dump(ev);
}

// Reconfiguring an engineer keeps the load. (Dropping a channel the engineer holds sessions
// on is refused: see validation_test.)
TEST_F(RoutingTest, EngineerReconfiguredWhileHoldingASessionKeepsTheLoad) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  SessionId call = Create(Session("q", "voice"));
  Accept(call, "alice");
  EngineerConfig e = Engineer("alice", {"q"});
  e.channels = {Cap("voice", 1), Cap("wechat", 3)};
  ApplyOk(UpsertEngineer{e});
  EXPECT_EQ(Eng("alice").used_budget, 60);
  EXPECT_EQ(Eng("alice").presence, Presence::kAvailable);
  EXPECT_THAT(Eng("alice").sessions, ElementsAre(call));
  SessionId chat = Create(Session("q"));
  EXPECT_EQ(StateOf(chat), SessionState::kQueued) << Log();
  Complete(call, "alice");
  std::vector<Event> ev = EndWrap(call, "alice");
  EXPECT_THAT(OffersOf(ev, chat), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(Eng("alice").used_budget, 20);
  EXPECT_THAT(Eng("alice").load_by_channel,
              Contains(std::pair<ChannelId, int>(ChannelId("wechat"), 1)));
  EXPECT_THAT(Eng("alice").load_by_channel,
              Not(Contains(std::pair<ChannelId, int>(ChannelId("voice"), 1))));
}

TEST_F(RoutingTest, QueueInfoListsServingEngineersInRegistrationOrder) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("zed", {"q"}), false);
  AddEngineer(Engineer("amy", {"q"}), false);
  AddEngineer(Engineer("other", {}), false);
  EXPECT_THAT(Q("q").engineers, ElementsAre(EngineerId("zed"), EngineerId("amy")));
  EXPECT_THAT(engine().ListEngineers(),
              ElementsAre(EngineerId("amy"), EngineerId("other"), EngineerId("zed")));
  EXPECT_LT(Order("zed"), Order("amy"));
  EXPECT_LT(Order("amy"), Order("other"));
}

// ---- a freed engineer looks past sessions it may not take -------------------------------------

TEST_F(RoutingTest, FreedEngineerSkipsATargetedSessionAheadOfIt) {
  QueueConfig q = Queue("q");
  q.preferred_timeout = absl::Seconds(60);
  q.vip_timeout = absl::Seconds(60);
  q.vip_min_tier = Tier::kElite;
  AddQueue(q);
  AddEngineer(VoiceOnly("pat", {"q"}), false);
  AddEngineer(VoiceOnly("rob", {"q"}), false);
  CreateSession targeted = Session("q", "voice");
  targeted.priority = 9;
  targeted.customer.preferred_engineers = {EngineerId("pat")};
  SessionId s_pref = Create(targeted);
  CreateSession vip = Session("q", "voice");
  vip.priority = 9;
  vip.customer.vip_level = 3;
  SessionId s_vip = Create(vip);
  At(absl::Seconds(1));
  SessionId s_plain = Create(Session("q", "voice"));
  EXPECT_EQ(Sess(s_pref).stage, RoutingStage::kPreferred);
  EXPECT_EQ(Sess(s_vip).stage, RoutingStage::kVipTier);
  At(absl::Seconds(2));
  std::vector<Event> ev = SetAvailable("rob");
  EXPECT_THAT(OffersOf(ev, s_plain), ElementsAre("rob")) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s_pref), IsEmpty()) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s_vip), IsEmpty()) << Dump(ev);
  ev = SetAvailable("pat");
  EXPECT_THAT(OffersOf(ev, s_pref), ElementsAre("pat")) << Dump(ev);
}

TEST_F(RoutingTest, FreedEngineerSkipsSessionsOnChannelsWithoutRoom) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  SessionId held = Create(Session("q", "wechat"));
  Accept(held, "alice");
  SetPresenceOf("alice", Presence::kNotReady, "break");
  CreateSession call = Session("q", "voice");
  call.priority = 50;
  SessionId s_call = Create(call);
  At(absl::Seconds(1));
  SessionId s_chat = Create(Session("q", "wechat"));
  At(absl::Seconds(2));
  std::vector<Event> ev = SetAvailable("alice");
  EXPECT_THAT(OffersOf(ev, s_chat), ElementsAre("alice")) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s_call), IsEmpty()) << Dump(ev);
  EXPECT_EQ(Eng("alice").used_budget, 40);
}

// Ageing is compared exactly: a queue ageing one point per 7 s against a flat priority 1.
TEST_F(RoutingTest, AgeingComparedExactlyToTheMicrosecond) {
  struct Case {
    absl::Duration at;
    uint64_t winner;
    Decider decided_by;
  };
  const std::vector<Case> cases = {
      {absl::Seconds(7) - absl::Microseconds(1), 2, Decider::kEffectivePriority},
      {absl::Seconds(7), 1, Decider::kSessionOrder},
      {absl::Seconds(7) + absl::Microseconds(1), 1, Decider::kEffectivePriority},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::FormatDuration(c.at));
    Reset();
    QueueConfig q1 = Queue("q1");
    q1.ageing_interval = absl::Seconds(7);
    QueueConfig q2 = Queue("q2");
    q2.ageing_interval = absl::ZeroDuration();
    AddQueue(q1);
    AddQueue(q2);
    Create(Session("q1", "voice", 1));
    CreateSession b = Session("q2", "voice", 2);
    b.priority = 1;
    Create(b);
    At(c.at);
    std::vector<Event> ev = AddEngineer(VoiceOnly("alice", {"q1", "q2"}));
    ASSERT_THAT(OffersOf(ev, SessionId(c.winner)), ElementsAre("alice")) << Dump(ev);
    EXPECT_EQ(OfferReason(ev, SessionId(c.winner)).decided_by, c.decided_by);
  }
}

// Long waits and long ageing intervals must not overflow the exact comparison.
TEST_F(RoutingTest, AgeingWithLongWaitsAndIntervals) {
  QueueConfig q1 = Queue("q1");
  q1.ageing_interval = absl::Hours(24);  // the longest interval the engine accepts
  QueueConfig q2 = Queue("q2");
  q2.ageing_interval = absl::Hours(23);
  AddQueue(q1);
  AddQueue(q2);
  Create(Session("q1", "voice", 1));
  Create(Session("q2", "voice", 2));
  At(absl::Hours(24 * 3000));  // products of microseconds well beyond 64 bits
  std::vector<Event> ev = AddEngineer(VoiceOnly("alice", {"q1", "q2"}));
  // Same wait, same priority: q2 ages faster.
  ASSERT_THAT(OffersOf(ev, SessionId(2)), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, SessionId(2)).decided_by, Decider::kEffectivePriority);
}

// "When an engineer may take work (... changes ... channels or budget ...)": a channel's
// defaults are part of the capacity of engineers who use them.
TEST_F(RoutingTest, ChannelDefaultsChangeGivesEngineersRoom) {
  AddQueue(Queue("q"));
  EngineerConfig e = Engineer("alice", {"q"});
  e.budget = 120;  // room by budget; only the channel's default_max (3) limits her
  AddEngineer(e);
  std::vector<SessionId> s;
  for (int i = 0; i < 4; ++i) s.push_back(Create(Session("q", "wechat")));
  ASSERT_EQ(StateOf(s[3]), SessionState::kQueued) << Log();
  ChannelSpec wechat;
  wechat.id = ChannelId("wechat");
  wechat.cost = 20;
  wechat.default_max = 4;
  std::vector<Event> ev = ApplyOk(UpsertChannel{wechat});
  EXPECT_THAT(OffersOf(ev, s[3]), ElementsAre("alice")) << Dump(ev);
}

TEST_F(RoutingTest, BudgetIncreaseGivesRoom) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  SessionId call = Create(Session("q", "voice"));
  SessionId chat = Create(Session("q", "wechat"));
  ASSERT_EQ(StateOf(call), SessionState::kOffered);
  ASSERT_EQ(StateOf(chat), SessionState::kQueued);
  EngineerConfig e = Engineer("alice", {"q"});
  e.budget = 80;
  std::vector<Event> ev = ApplyOk(UpsertEngineer{e});
  EXPECT_THAT(OffersOf(ev, chat), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(Eng("alice").used_budget, 80);
}

// ---- dispatch order -----------------------------------------------------------------------------

// Sessions made routable by timers at the same instant are routed in timer order (creation),
// each taking the best engineer left.
TEST_F(RoutingTest, SessionsRelaxedTogetherAreRoutedInOrder) {
  QueueConfig q = Queue("q");
  q.requirements = {Req("x", 4)};
  q.relaxation = {{absl::Seconds(10), RelaxAction::kAnyEngineer, SkillId(), 1}};
  AddQueue(q);
  AddEngineer(VoiceOnly("alice", {"q"}));
  At(absl::Seconds(1));
  AddEngineer(VoiceOnly("bob", {"q"}));
  At(absl::Seconds(2));
  SessionId s1 = Create(Session("q", "voice"));
  SessionId s2 = Create(Session("q", "voice"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(12));
  EXPECT_THAT(OffersOf(ev, s1), ElementsAre("alice")) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s2), ElementsAre("bob")) << Dump(ev);
  std::vector<uint64_t> relaxed = SessionsOf(ev, EventType::kSessionRelaxed);
  EXPECT_EQ(relaxed, (std::vector<uint64_t>{s1.value(), s2.value()})) << Dump(ev);
  for (const Event& e : ev) EXPECT_EQ(e.at, T(absl::Seconds(12))) << e.ToString();
}

// ---- strategies are per queue ------------------------------------------------------------------

TEST_F(RoutingTest, EachQueueRanksWithItsOwnStrategy) {
  QueueConfig rated = Queue("rated");
  rated.strategy = "best_rated";
  AddQueue(rated);
  AddQueue(Queue("idle"));
  EngineerConfig alice = Engineer("alice", {"rated", "idle"});
  alice.score = 1;
  EngineerConfig bob = Engineer("bob", {"rated", "idle"});
  bob.score = 9;
  AddEngineer(alice);
  At(absl::Seconds(1));
  AddEngineer(bob);
  std::vector<Event> ev;
  SessionId a = Create(Session("rated"), &ev);
  EXPECT_THAT(OffersOf(ev, a), ElementsAre("bob")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, a).strategy, "best_rated");
  SessionId b = Create(Session("idle"), &ev);
  EXPECT_THAT(OffersOf(ev, b), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, b).strategy, "longest_idle");
}

TEST_F(RoutingTest, RoundRobinCountsOnlyItsOwnQueuesAssignments) {
  QueueConfig rr = Queue("rr");
  rr.strategy = "round_robin";
  AddQueue(rr);
  AddQueue(Queue("other"));
  AddEngineer(Engineer("alice", {"rr", "other"}));
  AddEngineer(Engineer("bob", {"rr", "other"}));
  SessionId o = Create(Session("other"));
  ASSERT_EQ(Sess(o).engineer, EngineerId("alice")) << Log();
  Accept(o, "alice");
  std::vector<Event> ev;
  SessionId s = Create(Session("rr"), &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  RoutingReason r = OfferReason(ev, s);
  EXPECT_EQ(r.decided_by, Decider::kRegistrationOrder);
  EXPECT_EQ(r.winner, Key(0, 0, "alice"));
}

}  // namespace
}  // namespace omniroute::test
