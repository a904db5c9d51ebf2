// Session and engineer lifecycles (docs/ROUTING.md): the bot, direct offers and their
// timeouts, missed offers, completion and wrap-up, transfer, cancellation, presence, grab
// mode, retention, determinism and the timer clock.

#include <algorithm>
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

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class LifecycleTest : public EngineTest {
 protected:
  static EngineerConfig VoiceOnly(std::string id, std::vector<std::string> queues) {
    EngineerConfig e = Engineer(std::move(id), std::move(queues));
    e.channels = {Cap("voice", 1)};
    return e;
  }
  static std::vector<std::string> Names(const std::vector<EngineerId>& ids) {
    std::vector<std::string> out;
    for (const EngineerId& id : ids) out.push_back(id.value());
    return out;
  }
  RoutingReason OfferReason(const std::vector<Event>& events, SessionId s,
                            const std::string& engineer = "") {
    std::optional<Event> offer =
        FindEvent(events, EventType::kOfferCreated, s, EngineerId(engineer));
    EXPECT_TRUE(offer.has_value()) << "no offer for session " << s.value() << Dump(events);
    return offer.has_value() ? offer->reason : RoutingReason{};
  }
};

// ---- the bot ------------------------------------------------------------------------------------

TEST_F(LifecycleTest, StartInBotWaitsWithoutEngineersUntilEscalated) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  CreateSession c = Session("q", "wechat");
  c.start_in_bot = true;
  c.intent = "unknown";
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  EXPECT_EQ(FindEvent(ev, EventType::kSessionCreated, s)->state, SessionState::kBot)
      << Dump(ev);
  EXPECT_EQ(Count(ev, EventType::kOfferCreated), 0) << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kBot);
  EXPECT_EQ(Eng("alice").used_budget, 0);
  EXPECT_EQ(Q("q").waiting, 0);
  EXPECT_EQ(engine().NextDeadline(), std::nullopt);

  At(absl::Seconds(40));
  EscalateSession esc;
  esc.session = s;
  esc.intent = "repair.screen";
  esc.summary = "cracked screen, phone model X";
  ev = ApplyOk(esc);
  std::optional<Event> escalated = FindEvent(ev, EventType::kSessionEscalated, s);
  ASSERT_TRUE(escalated.has_value()) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  SessionInfo info = Sess(s);
  EXPECT_EQ(info.intent, "repair.screen");
  EXPECT_EQ(info.bot_summary, "cracked screen, phone model X");
  EXPECT_EQ(info.waiting_since, T(absl::Seconds(40)));
  EXPECT_EQ(info.created_at, t0);
}

TEST_F(LifecycleTest, BotFirstChannelAndEscalationElsewhere) {
  AddQueue(Queue("bot"));
  AddQueue(Queue("repair"));
  EngineerConfig alice = Engineer("alice", {"repair"}, {Skill("repair", 3)});
  alice.channels = {Cap("robot_chat", 3, 20)};
  AddEngineer(alice, false);
  std::vector<Event> ev;
  SessionId s = Create(Session("bot", "robot_chat"), &ev);
  EXPECT_EQ(StateOf(s), SessionState::kBot) << Dump(ev);

  At(absl::Seconds(10));
  EscalateSession esc;
  esc.session = s;
  esc.intent = "repair";
  esc.summary = "wants a technician";
  esc.queue = QueueId("repair");
  esc.requirements = {Req("repair", 3)};
  esc.priority_boost = 5;
  ev = ApplyOk(esc);
  SessionInfo info = Sess(s);
  EXPECT_EQ(info.state, SessionState::kQueued) << Dump(ev);
  EXPECT_EQ(info.queue, QueueId("repair"));
  EXPECT_EQ(info.priority, 5);
  EXPECT_THAT(info.requirements, ElementsAre(Req("repair", 3)));
  EXPECT_EQ(info.bot_summary, "wants a technician");
  EXPECT_EQ(Q("repair").waiting, 1);

  ev = SetAvailable("alice");
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

// ---- direct offers ------------------------------------------------------------------------------

TEST_F(LifecycleTest, OfferCarriesItsDeadlineAndAcceptAssigns) {
  QueueConfig q = Queue("q");
  q.offer_timeout = absl::Seconds(15);
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  std::vector<Event> ev;
  SessionId s = Create(Session("q"), &ev);
  std::optional<Event> offer = FindEvent(ev, EventType::kOfferCreated, s);
  ASSERT_TRUE(offer.has_value()) << Dump(ev);
  EXPECT_EQ(offer->deadline, T(absl::Seconds(15)));
  EXPECT_EQ(offer->state, SessionState::kOffered);
  EXPECT_EQ(Sess(s).deadline, T(absl::Seconds(15)));
  EXPECT_EQ(Sess(s).engineer, EngineerId("alice"));
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(15)));
  EXPECT_EQ(Q("q").offered, 1);

  At(absl::Seconds(3));
  ev = Accept(s, "alice");
  EXPECT_TRUE(HasEvent(ev, EventType::kOfferAccepted, s, EngineerId("alice"))) << Dump(ev);
  std::optional<Event> assigned = FindEvent(ev, EventType::kSessionAssigned, s);
  ASSERT_TRUE(assigned.has_value()) << Dump(ev);
  EXPECT_EQ(assigned->engineer, EngineerId("alice"));
  EXPECT_EQ(assigned->state, SessionState::kAssigned);
  EXPECT_EQ(StateOf(s), SessionState::kAssigned);
  EXPECT_EQ(Q("q").offered, 0);
  EXPECT_EQ(engine().NextDeadline(), std::nullopt) << "the expiry timer is gone";
  EXPECT_THAT(Eng("alice").sessions, ElementsAre(s));
}

TEST_F(LifecycleTest, RejectReturnsToQueueKeepingWaitAndTriesSomeoneElse) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  At(absl::Seconds(1));
  AddEngineer(Engineer("bob", {"q"}));
  At(absl::Seconds(2));
  std::vector<Event> ev;
  SessionId s = Create(Session("q"), &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  At(absl::Seconds(7));
  ev = Reject(s, "alice", "on another task");
  std::optional<Event> rejected = FindEvent(ev, EventType::kOfferRejected, s);
  ASSERT_TRUE(rejected.has_value()) << Dump(ev);
  EXPECT_EQ(rejected->engineer, EngineerId("alice"));
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).decided_by, Decider::kOnlyCandidate);
  SessionInfo info = Sess(s);
  EXPECT_EQ(info.waiting_since, T(absl::Seconds(2)));
  EXPECT_THAT(Names(info.declined_by), ElementsAre("alice"));
  EXPECT_EQ(Eng("alice").used_budget, 0);
  EXPECT_EQ(Eng("alice").missed_offers_in_row, 0);
}

TEST_F(LifecycleTest, DeclinedEngineerGetsItAgainOnlyWhenNobodyElseIsEligible) {
  AddQueue(Queue("q"));
  AddEngineer(VoiceOnly("alice", {"q"}));
  AddEngineer(VoiceOnly("bob", {"q"}));
  SessionId busy = Create(Session("q", "voice"));  // alice (registration order)
  ASSERT_EQ(Sess(busy).engineer, EngineerId("alice")) << Log();
  Accept(busy, "alice");
  std::vector<Event> ev;
  SessionId s = Create(Session("q", "voice"), &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  At(absl::Seconds(1));
  ev = Reject(s, "bob");
  // alice is busy: only bob, who declined, is eligible.
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).decided_by, Decider::kDeclinedFallback);
  // bob declines again; alice is freed meanwhile and is preferred to bob.
  Complete(busy, "alice");
  At(absl::Seconds(2));
  ev = Reject(s, "bob");
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("bob")) << "alice still wraps up" << Dump(ev);
  At(absl::Seconds(3));
  ev = EndWrap(busy, "alice");
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << "s is offered to bob" << Dump(ev);
  ev = Reject(s, "bob");
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  EXPECT_NE(OfferReason(ev, s).decided_by, Decider::kDeclinedFallback);
}

TEST_F(LifecycleTest, AllDeclinedFallsBackToTheBestOfThem) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  At(absl::Seconds(1));
  AddEngineer(Engineer("bob", {"q"}));
  At(absl::Seconds(2));
  std::vector<Event> ev;
  SessionId s = Create(Session("q"), &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  At(absl::Seconds(3));
  ev = Reject(s, "alice");
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  At(absl::Seconds(4));
  ev = Reject(s, "bob");
  // Both declined. alice has been free of work since +3 s, bob since +4 s.
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  RoutingReason r = OfferReason(ev, s);
  EXPECT_EQ(r.decided_by, Decider::kDeclinedFallback);
  EXPECT_THAT(Names(Sess(s).declined_by), UnorderedElementsAre("alice", "bob"));
}

TEST_F(LifecycleTest, RejectQueuesTheSessionBeforeTheEngineer) {
  AddQueue(Queue("q"));
  AddEngineer(VoiceOnly("alice", {"q"}));
  std::vector<Event> ev;
  SessionId s1 = Create(Session("q", "voice"), &ev);
  ASSERT_THAT(OffersOf(ev, s1), ElementsAre("alice")) << Dump(ev);
  SessionId s2 = Create(Session("q", "voice"));
  EXPECT_EQ(StateOf(s2), SessionState::kQueued);
  At(absl::Seconds(1));
  ev = Reject(s1, "alice");
  // s1 is routed first: alice, though she declined it, is the only one.
  EXPECT_THAT(OffersOf(ev, s1), ElementsAre("alice")) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s2), IsEmpty()) << Dump(ev);
  EXPECT_EQ(StateOf(s2), SessionState::kQueued);
}

TEST_F(LifecycleTest, ExpiryReturnsToQueueKeepingWaitAndCountsAMiss) {
  QueueConfig q = Queue("q");
  q.offer_timeout = absl::Seconds(15);
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  At(absl::Seconds(5));
  SessionId s = Create(Session("q"));
  AddEngineer(Engineer("bob", {"q"}));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(25));
  std::optional<Event> expired = FindEvent(ev, EventType::kOfferExpired, s);
  ASSERT_TRUE(expired.has_value()) << Dump(ev);
  EXPECT_EQ(expired->at, T(absl::Seconds(20)));
  EXPECT_EQ(expired->engineer, EngineerId("alice"));
  std::optional<Event> again = FindEvent(ev, EventType::kOfferCreated, s);
  ASSERT_TRUE(again.has_value()) << Dump(ev);
  EXPECT_EQ(again->engineer, EngineerId("bob"));
  EXPECT_EQ(again->at, T(absl::Seconds(20)));
  EXPECT_EQ(again->deadline, T(absl::Seconds(35)));
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Seconds(5)));
  EXPECT_THAT(Names(Sess(s).declined_by), ElementsAre("alice"));
  EXPECT_EQ(Eng("alice").missed_offers_in_row, 1);
  EXPECT_EQ(Eng("alice").presence, Presence::kAvailable);
}

TEST_F(LifecycleTest, MissedOffersLimitPutsTheEngineerNotReady) {
  QueueConfig q = Queue("q");
  q.offer_timeout = absl::Seconds(15);
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  SessionId s = Create(Session("q"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(100));
  std::vector<Event> expiries = OfType(ev, EventType::kOfferExpired);
  ASSERT_EQ(expiries.size(), 3u) << Dump(ev);
  EXPECT_EQ(expiries[0].at, T(absl::Seconds(15)));
  EXPECT_EQ(expiries[1].at, T(absl::Seconds(30)));
  EXPECT_EQ(expiries[2].at, T(absl::Seconds(45)));
  // Between the expiries alice got it again as the only (declined) candidate.
  EXPECT_EQ(Count(ev, EventType::kOfferCreated), 2) << Dump(ev);
  std::optional<Event> presence = FindEvent(ev, EventType::kPresenceChanged);
  ASSERT_TRUE(presence.has_value()) << Dump(ev);
  EXPECT_EQ(presence->at, T(absl::Seconds(45)));
  EXPECT_EQ(presence->engineer, EngineerId("alice"));
  EXPECT_EQ(presence->presence, Presence::kNotReady);
  EXPECT_EQ(presence->detail, "missed-offers");
  EngineerInfo a = Eng("alice");
  EXPECT_EQ(a.presence, Presence::kNotReady);
  EXPECT_EQ(a.reason, "missed-offers");
  EXPECT_EQ(a.used_budget, 0);
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  EXPECT_EQ(engine().NextDeadline(), std::nullopt);
}

TEST_F(LifecycleTest, MissedOffersLimitFromOptionsAndZeroDisables) {
  for (int limit : {1, 2, 0}) {
    SCOPED_TRACE(testing::Message() << "missed_offers_limit " << limit);
    EngineOptions options;
    options.missed_offers_limit = limit;
    Reset(options);
    QueueConfig q = Queue("q");
    q.offer_timeout = absl::Seconds(10);
    AddQueue(q);
    AddEngineer(Engineer("alice", {"q"}));
    Create(Session("q"));
    std::vector<Event> ev = AdvanceTo(absl::Seconds(55));  // expiries at 10..50
    std::optional<Event> presence = FindEvent(ev, EventType::kPresenceChanged);
    if (limit == 0) {
      EXPECT_FALSE(presence.has_value()) << Dump(ev);
      EXPECT_EQ(Count(ev, EventType::kOfferExpired), 5) << Dump(ev);
      EXPECT_EQ(Eng("alice").missed_offers_in_row, 5);
    } else {
      ASSERT_TRUE(presence.has_value()) << Dump(ev);
      EXPECT_EQ(presence->at, T(absl::Seconds(10 * limit)));
      EXPECT_EQ(Count(ev, EventType::kOfferExpired), limit) << Dump(ev);
    }
  }
}

TEST_F(LifecycleTest, AcceptAndRejectResetTheMissCount) {
  QueueConfig q = Queue("q");
  q.offer_timeout = absl::Seconds(10);
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  SessionId s1 = Create(Session("q"));
  AdvanceTo(absl::Seconds(25));  // expiries at 10 and 20, offered again at 20
  EXPECT_EQ(Eng("alice").missed_offers_in_row, 2) << Log();
  ASSERT_EQ(StateOf(s1), SessionState::kOffered) << Log();
  Accept(s1, "alice");
  EXPECT_EQ(Eng("alice").missed_offers_in_row, 0);

  SessionId s2 = Create(Session("q"));
  AdvanceTo(absl::Seconds(45));  // expiries at 35 and 45
  EXPECT_EQ(Eng("alice").missed_offers_in_row, 2) << Log();
  ASSERT_EQ(StateOf(s2), SessionState::kOffered) << Log();
  Reject(s2, "alice");
  EXPECT_EQ(Eng("alice").missed_offers_in_row, 0);
  // Offered again (declined fallback); one more expiry is not three in a row.
  std::vector<Event> ev = AdvanceTo(absl::Seconds(55));
  EXPECT_EQ(Count(ev, EventType::kOfferExpired), 1) << Dump(ev);
  EXPECT_EQ(Eng("alice").presence, Presence::kAvailable);
  EXPECT_EQ(Eng("alice").missed_offers_in_row, 1);
}

// ---- completion and wrap-up ---------------------------------------------------------------------

TEST_F(LifecycleTest, CompleteKeepsCapacityUntilTheWrapUpTimer) {
  QueueConfig q = Queue("q");
  q.wrap_up = absl::Seconds(30);
  AddQueue(q);
  AddEngineer(VoiceOnly("alice", {"q"}));
  SessionId s1 = Create(Session("q", "voice"));
  Accept(s1, "alice");
  SessionId s2 = Create(Session("q", "voice"));
  At(absl::Seconds(100));
  std::vector<Event> ev = Complete(s1, "alice");
  std::optional<Event> wrap = FindEvent(ev, EventType::kSessionWrapUp, s1);
  ASSERT_TRUE(wrap.has_value()) << Dump(ev);
  EXPECT_EQ(wrap->deadline, T(absl::Seconds(130)));
  EXPECT_EQ(StateOf(s1), SessionState::kWrapUp);
  EXPECT_EQ(Sess(s1).deadline, T(absl::Seconds(130)));
  EXPECT_EQ(Eng("alice").used_budget, 60);
  EXPECT_EQ(StateOf(s2), SessionState::kQueued);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(130)));

  ev = AdvanceTo(absl::Seconds(129));
  EXPECT_THAT(ev, IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(130));
  std::optional<Event> done = FindEvent(ev, EventType::kSessionCompleted, s1);
  ASSERT_TRUE(done.has_value()) << Dump(ev);
  EXPECT_EQ(done->at, T(absl::Seconds(130)));
  EXPECT_EQ(StateOf(s1), SessionState::kCompleted);
  EXPECT_THAT(OffersOf(ev, s2), ElementsAre("alice")) << Dump(ev);
}

TEST_F(LifecycleTest, EndWrapUpCompletesAtOnce) {
  QueueConfig q = Queue("q");
  q.wrap_up = absl::Seconds(30);
  AddQueue(q);
  AddEngineer(VoiceOnly("alice", {"q"}));
  SessionId s1 = Create(Session("q", "voice"));
  Accept(s1, "alice");
  SessionId s2 = Create(Session("q", "voice"));
  At(absl::Seconds(10));
  Complete(s1, "alice");
  At(absl::Seconds(12));
  std::vector<Event> ev = EndWrap(s1, "alice");
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionCompleted, s1)) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s2), ElementsAre("alice")) << Dump(ev);
  EXPECT_EQ(StateOf(s1), SessionState::kCompleted);
  // The wrap-up timer (due at +40 s) is gone: nothing completes s1 again.
  ev = AdvanceTo(absl::Seconds(41));
  EXPECT_FALSE(HasEvent(ev, EventType::kSessionCompleted, s1)) << Dump(ev);
}

// ---- transfer -----------------------------------------------------------------------------------

TEST_F(LifecycleTest, TransferToAQueueFreesTheEngineerAndWaitsAnew) {
  AddQueue(Queue("q1"));
  AddQueue(Queue("q2"));
  AddEngineer(VoiceOnly("alice", {"q1"}));
  SessionId s = Create(Session("q1", "voice"));
  Accept(s, "alice");
  AddEngineer(VoiceOnly("bob", {"q2"}));
  At(absl::Seconds(60));
  TransferSession t;
  t.session = s;
  t.queue = QueueId("q2");
  t.reason = "needs billing";
  std::vector<Event> ev = ApplyOk(t);
  std::optional<Event> tr = FindEvent(ev, EventType::kSessionTransferred, s);
  ASSERT_TRUE(tr.has_value()) << Dump(ev);
  EXPECT_EQ(tr->queue, QueueId("q1"));
  EXPECT_EQ(tr->to_queue, QueueId("q2"));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  EXPECT_EQ(Eng("alice").used_budget, 0);
  EXPECT_THAT(Eng("alice").sessions, IsEmpty());
  SessionInfo info = Sess(s);
  EXPECT_EQ(info.queue, QueueId("q2"));
  EXPECT_EQ(info.waiting_since, T(absl::Seconds(60)));
  EXPECT_EQ(info.queue_entered_at, T(absl::Seconds(60)));
}

TEST_F(LifecycleTest, TransferToAnEngineerWaitsForHimThenTheQueue) {
  AddQueue(Queue("q"));
  AddEngineer(VoiceOnly("alice", {"q"}));
  AddEngineer(VoiceOnly("bob", {"q"}), false);
  SessionId s = Create(Session("q", "voice"));
  Accept(s, "alice");
  At(absl::Seconds(10));
  TransferSession t;
  t.session = s;
  t.engineer = EngineerId("bob");
  t.engineer_timeout = absl::Seconds(30);
  std::vector<Event> ev = ApplyOk(t);
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionTransferred, s)) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << "alice is freed but only bob may take it"
                                          << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  EXPECT_EQ(Sess(s).queue, QueueId("q"));
  EXPECT_EQ(Sess(s).stage, RoutingStage::kPreferred);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(40)));
  ev = AdvanceTo(absl::Seconds(40));
  EXPECT_EQ(Sess(s).stage, RoutingStage::kQueue);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

TEST_F(LifecycleTest, TransferToAnAvailableEngineerOffersAtOnce) {
  AddQueue(Queue("q1"));
  AddQueue(Queue("q2"));
  AddEngineer(VoiceOnly("alice", {"q1"}));
  AddEngineer(VoiceOnly("carol", {"q2"}));
  AddEngineer(VoiceOnly("bob", {"q2"}));
  SessionId s = Create(Session("q1", "voice"));
  Accept(s, "alice");
  TransferSession t;
  t.session = s;
  t.queue = QueueId("q2");
  t.engineer = EngineerId("bob");
  std::vector<Event> ev = ApplyOk(t);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("bob")) << "carol idles longer but bob is named"
                                                   << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).stage, RoutingStage::kPreferred);
}

// ---- cancel -------------------------------------------------------------------------------------

TEST_F(LifecycleTest, CancelInBotQueuedOrOffered) {
  enum class Where { kBot, kQueued, kOffered };
  struct Case {
    std::string name;
    Where where;
    bool abandoned;
  };
  const std::vector<Case> cases = {
      {"bot, abandoned", Where::kBot, true},       {"bot, cancelled", Where::kBot, false},
      {"queued, abandoned", Where::kQueued, true}, {"queued, cancelled", Where::kQueued, false},
      {"offered, abandoned", Where::kOffered, true},
      {"offered, cancelled", Where::kOffered, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    Reset();
    AddQueue(Queue("q"));
    AddEngineer(VoiceOnly("alice", {"q"}), c.where == Where::kOffered);
    CreateSession cs = Session("q", "voice");
    cs.start_in_bot = c.where == Where::kBot;
    SessionId s = Create(cs);
    SessionId next = Create(Session("q", "voice"));  // waits behind s
    At(absl::Seconds(5));
    std::vector<Event> ev = Cancel(s, c.abandoned, "hung up");
    const EventType type =
        c.abandoned ? EventType::kSessionAbandoned : EventType::kSessionCancelled;
    const EventType other =
        c.abandoned ? EventType::kSessionCancelled : EventType::kSessionAbandoned;
    std::optional<Event> end = FindEvent(ev, type, s);
    ASSERT_TRUE(end.has_value()) << Dump(ev);
    EXPECT_FALSE(HasEvent(ev, other, s)) << Dump(ev);
    const SessionState state =
        c.abandoned ? SessionState::kAbandoned : SessionState::kCancelled;
    EXPECT_EQ(end->state, state);
    EXPECT_EQ(StateOf(s), state);
    EXPECT_TRUE(IsTerminal(state));
    if (c.where == Where::kOffered) {
      EXPECT_TRUE(HasEvent(ev, EventType::kOfferRescinded, s, EngineerId("alice")))
          << Dump(ev);
      // alice's capacity is free again and she takes the next session.
      EXPECT_THAT(OffersOf(ev, next), ElementsAre("alice")) << Dump(ev);
    } else {
      EXPECT_EQ(Count(ev, EventType::kOfferRescinded), 0) << Dump(ev);
    }
    EXPECT_EQ(Q("q").waiting + Q("q").offered, 1);
  }
}

// ---- presence -----------------------------------------------------------------------------------

TEST_F(LifecycleTest, PresenceChangesAndRemovalRescindOffers) {
  struct Case {
    std::string name;
    std::function<Command()> command;
  };
  const std::vector<Case> cases = {
      {"not ready",
       [] { return Command(SetPresence{EngineerId("alice"), Presence::kNotReady, "lunch", {}}); }},
      {"offline",
       [] { return Command(SetPresence{EngineerId("alice"), Presence::kOffline, "", {}}); }},
      {"presence wrap-up",
       [] {
         return Command(
             SetPresence{EngineerId("alice"), Presence::kWrapUp, "", absl::Seconds(60)});
       }},
      {"removed", [] { return Command(RemoveEngineer{EngineerId("alice")}); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    Reset();
    AddQueue(Queue("q"));
    AddEngineer(Engineer("alice", {"q"}));
    SessionId s = Create(Session("q"));
    ASSERT_EQ(Sess(s).engineer, EngineerId("alice")) << Log();
    AddEngineer(Engineer("bob", {"q"}), false);
    At(absl::Seconds(5));
    std::vector<Event> ev = ApplyOk(c.command());
    EXPECT_TRUE(HasEvent(ev, EventType::kOfferRescinded, s, EngineerId("alice"))) << Dump(ev);
    EXPECT_EQ(StateOf(s), SessionState::kQueued);
    EXPECT_THAT(Sess(s).declined_by, IsEmpty()) << "a rescinded offer is not a decline";
    EXPECT_EQ(Sess(s).waiting_since, t0);
    ev = SetAvailable("bob");
    EXPECT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  }
}

TEST_F(LifecycleTest, GoingOfflineKeepsAssignedSessions) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  SessionId s = Create(Session("q"));
  Accept(s, "alice");
  std::vector<Event> ev = SetPresenceOf("alice", Presence::kOffline);
  EXPECT_EQ(Count(ev, EventType::kOfferRescinded), 0) << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kAssigned);
  EXPECT_EQ(Eng("alice").presence, Presence::kOffline);
  EXPECT_EQ(Eng("alice").used_budget, 20);
  Complete(s, "alice");  // still allowed
  EXPECT_EQ(StateOf(s), SessionState::kWrapUp);
}

TEST_F(LifecycleTest, PresenceWrapUpReturnsToAvailable) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  At(absl::Seconds(10));
  std::vector<Event> ev = SetPresenceOf("alice", Presence::kWrapUp, "", absl::Seconds(20));
  std::optional<Event> p = FindEvent(ev, EventType::kPresenceChanged);
  ASSERT_TRUE(p.has_value()) << Dump(ev);
  EXPECT_EQ(p->presence, Presence::kWrapUp);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(30)));
  At(absl::Seconds(15));
  SessionId s = Create(Session("q"), &ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(30));
  p = FindEvent(ev, EventType::kPresenceChanged);
  ASSERT_TRUE(p.has_value()) << Dump(ev);
  EXPECT_EQ(p->presence, Presence::kAvailable);
  EXPECT_EQ(p->at, T(absl::Seconds(30)));
  EXPECT_EQ(Eng("alice").presence, Presence::kAvailable);
  EXPECT_EQ(Eng("alice").presence_since, T(absl::Seconds(30)));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

TEST_F(LifecycleTest, PresenceWrapUpEndedEarlyByAnotherPresence) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  SetPresenceOf("alice", Presence::kWrapUp, "", absl::Seconds(20));
  At(absl::Seconds(5));
  SetPresenceOf("alice", Presence::kNotReady, "meeting");
  std::vector<Event> ev = AdvanceTo(absl::Seconds(30));
  EXPECT_EQ(Count(ev, EventType::kPresenceChanged), 0) << "the wrap-up timer is gone" << Dump(ev);
  EXPECT_EQ(Eng("alice").presence, Presence::kNotReady);
  EXPECT_EQ(Eng("alice").reason, "meeting");
}

TEST_F(LifecycleTest, BecomingAvailableSetsIdleSince) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}), false);
  At(absl::Seconds(7));
  std::vector<Event> ev = SetAvailable("alice");
  std::optional<Event> p = FindEvent(ev, EventType::kPresenceChanged);
  ASSERT_TRUE(p.has_value()) << Dump(ev);
  EXPECT_EQ(p->presence, Presence::kAvailable);
  EngineerInfo a = Eng("alice");
  EXPECT_EQ(a.idle_since, T(absl::Seconds(7)));
  EXPECT_EQ(a.presence_since, T(absl::Seconds(7)));
  // Work done: free of all work again at the end of the wrap-up.
  At(absl::Seconds(8));
  SessionId s = Create(Session("q"));
  EXPECT_EQ(Eng("alice").idle_since, T(absl::Seconds(8)));
  Accept(s, "alice");
  Complete(s, "alice");
  At(absl::Seconds(20));
  EndWrap(s, "alice");
  EXPECT_EQ(Eng("alice").idle_since, T(absl::Seconds(20)));
}

// ---- grab mode ----------------------------------------------------------------------------------

class GrabTest : public LifecycleTest {
 protected:
  // Queue g (grab, fanout 2, window 10 s); engineers available in order a (0 s), b (1 s),
  // c (2 s) with the given tiers and scores.
  void SetUpGrab(int fanout, Tier ta, int64_t sa, Tier tb, int64_t sb, Tier tc = Tier::kCore,
                 int64_t sc = 0) {
    QueueConfig g = Queue("g");
    g.delivery = DeliveryMode::kGrab;
    g.grab_fanout = fanout;
    g.grab_window = absl::Seconds(10);
    AddQueue(g);
    auto add = [&](std::string id, Tier t, int64_t score, int at) {
      EngineerConfig e = Engineer(std::move(id), {"g"});
      e.tier = t;
      e.score = score;
      At(absl::Seconds(at));
      AddEngineer(e);
    };
    add("a", ta, sa, 0);
    add("b", tb, sb, 1);
    add("c", tc, sc, 2);
    At(absl::Seconds(10));
  }
};

TEST_F(GrabTest, FanoutByStrategyReservesNothing) {
  SetUpGrab(2, Tier::kRookie, 0, Tier::kRookie, 0);
  std::vector<Event> ev;
  SessionId s = Create(Session("g"), &ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("a", "b")) << Dump(ev);
  for (const Event& e : OfType(ev, EventType::kOfferCreated)) {
    EXPECT_EQ(e.deadline, T(absl::Seconds(20))) << e.ToString();
  }
  SessionInfo info = Sess(s);
  EXPECT_EQ(info.state, SessionState::kOffered);
  EXPECT_THAT(Names(info.offered_to), UnorderedElementsAre("a", "b"));
  EXPECT_EQ(info.deadline, T(absl::Seconds(20)));
  EXPECT_EQ(Eng("a").used_budget, 0);
  EXPECT_EQ(Eng("b").used_budget, 0);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(20)));
}

struct GrabRankCase {
  std::string name;
  Tier ta;
  int64_t sa;
  Tier tb;
  int64_t sb;
  std::vector<std::string> claim_order;
  std::string winner;
};

TEST_F(GrabTest, BestClaimantWinsWhenEveryoneAnswered) {
  const std::vector<GrabRankCase> cases = {
      {"higher tier wins", Tier::kRookie, 100, Tier::kElite, 5, {"a", "b"}, "b"},
      {"higher tier wins, claimed last", Tier::kMaster, 0, Tier::kExpert, 100, {"b", "a"},
       "a"},
      {"same tier, higher score", Tier::kCore, 10, Tier::kCore, 5, {"b", "a"}, "a"},
      {"same tier and score, earliest claim", Tier::kCore, 7, Tier::kCore, 7, {"b", "a"}, "b"},
      {"same tier and score, earliest claim (a)", Tier::kCore, 7, Tier::kCore, 7, {"a", "b"},
       "a"},
  };
  for (const GrabRankCase& c : cases) {
    SCOPED_TRACE("case: " + c.name);
    Reset();
    SetUpGrab(2, c.ta, c.sa, c.tb, c.sb);
    std::vector<Event> ev;
    SessionId s = Create(Session("g"), &ev);
    ASSERT_THAT(OffersOf(ev, s), UnorderedElementsAre("a", "b")) << Dump(ev);
    At(absl::Seconds(11));
    ev = Claim(s, c.claim_order[0]);
    EXPECT_TRUE(HasEvent(ev, EventType::kOfferClaimed, s, EngineerId(c.claim_order[0])))
        << Dump(ev);
    EXPECT_FALSE(HasEvent(ev, EventType::kSessionAssigned, s)) << "b has not answered"
                                                               << Dump(ev);
    At(absl::Seconds(12));
    ev = Claim(s, c.claim_order[1]);
    std::optional<Event> assigned = FindEvent(ev, EventType::kSessionAssigned, s);
    ASSERT_TRUE(assigned.has_value()) << Dump(ev);
    EXPECT_EQ(assigned->engineer, EngineerId(c.winner));
    EXPECT_EQ(assigned->at, T(absl::Seconds(12)));
    const std::string loser = c.winner == "a" ? "b" : "a";
    EXPECT_TRUE(HasEvent(ev, EventType::kOfferRescinded, s, EngineerId(loser))) << Dump(ev);
    EXPECT_FALSE(HasEvent(ev, EventType::kOfferRescinded, s, EngineerId(c.winner)))
        << Dump(ev);
    EXPECT_EQ(StateOf(s), SessionState::kAssigned);
    EXPECT_EQ(Sess(s).engineer, EngineerId(c.winner));
    EXPECT_EQ(Eng(c.winner).used_budget, 20);
    EXPECT_EQ(Eng(loser).used_budget, 0);
    EXPECT_EQ(engine().NextDeadline(), std::nullopt) << "the window timer is gone";
  }
}

TEST_F(GrabTest, WindowEndAssignsTheBestClaimantAndRescindsTheRest) {
  SetUpGrab(3, Tier::kRookie, 0, Tier::kCore, 0, Tier::kMaster, 0);
  std::vector<Event> ev;
  SessionId s = Create(Session("g"), &ev);
  ASSERT_THAT(OffersOf(ev, s), UnorderedElementsAre("a", "b", "c")) << Dump(ev);
  At(absl::Seconds(12));
  Claim(s, "a");
  At(absl::Seconds(13));
  Claim(s, "b");
  EXPECT_EQ(StateOf(s), SessionState::kOffered) << "c has not answered";
  ev = AdvanceTo(absl::Seconds(30));
  std::optional<Event> assigned = FindEvent(ev, EventType::kSessionAssigned, s);
  ASSERT_TRUE(assigned.has_value()) << Dump(ev);
  EXPECT_EQ(assigned->engineer, EngineerId("b"));
  EXPECT_EQ(assigned->at, T(absl::Seconds(20)));
  EXPECT_THAT(EngineersOf(ev, EventType::kOfferRescinded, s), UnorderedElementsAre("a", "c"))
      << Dump(ev);
}

TEST_F(GrabTest, RefusalsAndNoClaimReturnToTheQueue) {
  SetUpGrab(2, Tier::kRookie, 0, Tier::kRookie, 0);
  std::vector<Event> ev;
  SessionId s = Create(Session("g"), &ev);
  ASSERT_THAT(OffersOf(ev, s), UnorderedElementsAre("a", "b")) << Dump(ev);
  At(absl::Seconds(11));
  ev = Reject(s, "a", "no");
  EXPECT_TRUE(HasEvent(ev, EventType::kOfferRejected, s, EngineerId("a"))) << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kOffered);
  ev = Reject(s, "b", "no");
  // Everyone answered, nobody claimed: back to QUEUED with a and b declined, and routed
  // again at once: c, who has not declined, sees it.
  EXPECT_THAT(Names(Sess(s).declined_by), UnorderedElementsAre("a", "b"));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("c")) << Dump(ev);
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Seconds(10)));
}

TEST_F(GrabTest, WindowEndWithoutClaimsOffersAgain) {
  SetUpGrab(2, Tier::kRookie, 0, Tier::kRookie, 0);
  SessionId s = Create(Session("g"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(20));
  EXPECT_FALSE(HasEvent(ev, EventType::kSessionAssigned, s)) << Dump(ev);
  EXPECT_THAT(Sess(s).declined_by, IsEmpty()) << "silence is not a refusal";
  // Routed again at the window's end (a and b were offered at +10 s: c idles longest now).
  std::vector<std::string> offered = OffersOf(ev, s);
  EXPECT_EQ(offered.size(), 2u) << Dump(ev);
  EXPECT_EQ(Sess(s).state, SessionState::kOffered);
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Seconds(10)));
}

TEST_F(GrabTest, ClaimantWhoLeftIsNotAssigned) {
  SetUpGrab(2, Tier::kMaster, 0, Tier::kRookie, 0);
  SessionId s = Create(Session("g"));
  At(absl::Seconds(11));
  Claim(s, "a");
  std::vector<Event> ev = SetPresenceOf("a", Presence::kNotReady, "break");
  EXPECT_TRUE(HasEvent(ev, EventType::kOfferRescinded, s, EngineerId("a"))) << Dump(ev);
  At(absl::Seconds(12));
  ev = Claim(s, "b");
  std::optional<Event> assigned = FindEvent(ev, EventType::kSessionAssigned, s);
  ASSERT_TRUE(assigned.has_value()) << Dump(ev);
  EXPECT_EQ(assigned->engineer, EngineerId("b"));
}

// ---- retention ----------------------------------------------------------------------------------

TEST_F(LifecycleTest, FinishedSessionsArePurgedAfterRetention) {
  EngineOptions options;
  options.session_retention = absl::Minutes(5);
  Reset(options);
  QueueConfig q = Queue("q");
  q.wrap_up = absl::Seconds(30);
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  SessionId done = Create(Session("q"));
  SessionId gone = Create(Session("q"));
  Accept(done, "alice");
  At(absl::Seconds(10));
  Cancel(gone, true, "hung up");  // finished at +10 s
  At(absl::Seconds(20));
  Complete(done, "alice");        // wrap-up ends at +50 s
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(50)));
  AdvanceTo(absl::Seconds(50));
  EXPECT_EQ(StateOf(done), SessionState::kCompleted);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(10) + absl::Minutes(5)));
  EXPECT_THAT(engine().ListSessions(), ElementsAre(done, gone));

  AdvanceTo(absl::Seconds(10) + absl::Minutes(5) - absl::Microseconds(1));
  EXPECT_TRUE(engine().GetSession(gone).has_value());
  AdvanceTo(absl::Seconds(10) + absl::Minutes(5));
  EXPECT_FALSE(engine().GetSession(gone).has_value());
  EXPECT_THAT(engine().ListSessions(), ElementsAre(done));
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(50) + absl::Minutes(5)));
  AdvanceTo(absl::Seconds(50) + absl::Minutes(5));
  EXPECT_FALSE(engine().GetSession(done).has_value());
  EXPECT_THAT(engine().ListSessions(), IsEmpty());
  EXPECT_EQ(engine().NextDeadline(), std::nullopt);
}

// ---- determinism and the clock ------------------------------------------------------------------

// A scenario touching most rules, driven through the public API only.
std::vector<std::string> RunScenario(Engine& engine) {
  std::vector<Event> events;
  const absl::Time t0 = T0();
  auto at = [&](int s) { return t0 + absl::Seconds(s); };
  auto apply = [&](const Command& c, int s) {
    absl::Status st = engine.Apply(c, at(s), &events);
    EXPECT_TRUE(st.ok()) << CommandName(c) << ": " << st;
  };
  QueueConfig q = Queue("repair");
  q.requirements = {Req("repair", 4)};
  q.relaxation = {{absl::Seconds(20), RelaxAction::kLowerLevel, SkillId(), 2}};
  q.overflow_after = absl::Seconds(120);
  q.overflow_queue = QueueId("backup");
  q.offer_timeout = absl::Seconds(15);
  apply(UpsertQueue{Queue("backup")}, 0);
  apply(UpsertQueue{q}, 0);
  QueueConfig g = Queue("grab");
  g.delivery = DeliveryMode::kGrab;
  g.grab_fanout = 2;
  apply(UpsertQueue{g}, 0);
  apply(UpsertEngineer{Engineer("e1", {"repair", "grab"}, {Skill("repair", 4)})}, 0);
  apply(UpsertEngineer{Engineer("e2", {"repair", "backup"}, {Skill("repair", 2)})}, 0);
  apply(UpsertEngineer{Engineer("e3", {"grab", "backup"})}, 0);
  for (const char* e : {"e1", "e2", "e3"}) {
    apply(SetPresence{EngineerId(e), Presence::kAvailable, "", {}}, 1);
  }
  for (int i = 0; i < 6; ++i) {
    CreateSession c = Session(i % 2 == 0 ? "repair" : "grab", i % 3 == 0 ? "voice" : "wechat");
    c.priority = i * 10;
    apply(c, 2 + i);
  }
  CreateSession bot = Session("repair", "robot_chat");
  apply(bot, 9);
  apply(ClaimOffer{SessionId(2), EngineerId("e3")}, 10);
  apply(AcceptOffer{SessionId(1), EngineerId("e1")}, 11);
  engine.Advance(at(40), &events);
  apply(EscalateSession{SessionId(7), "repair", "bot summary", QueueId(), {}, 3}, 41);
  apply(SetPresence{EngineerId("e2"), Presence::kNotReady, "break", {}}, 42);
  engine.Advance(at(200), &events);
  apply(CompleteSession{SessionId(1), EngineerId("e1")}, 201);
  engine.Advance(at(1000), &events);

  std::vector<std::string> lines;
  uint64_t last_seq = 0;
  absl::Time last_at = absl::InfinitePast();
  for (const Event& e : events) {
    EXPECT_GT(e.seq, last_seq) << e.ToString();
    EXPECT_GE(e.at, last_at) << e.ToString();
    last_seq = e.seq;
    last_at = e.at;
    lines.push_back(e.ToString());
  }
  return lines;
}

TEST(DeterminismTest, SameCommandsSameEventsAndState) {
  Engine a;
  Engine b;
  std::vector<std::string> ea = RunScenario(a);
  std::vector<std::string> eb = RunScenario(b);
  EXPECT_GT(ea.size(), 30u);
  EXPECT_EQ(ea, eb);
  EXPECT_EQ(a.DumpState(), b.DumpState());
  EXPECT_EQ(a.StateDigest(), b.StateDigest());
  EXPECT_EQ(a.NextDeadline(), b.NextDeadline());
  // Events are numbered one by one across the whole run.
  Engine c;
  std::vector<Event> events;
  ASSERT_TRUE(c.Apply(UpsertQueue{Queue("q")}, T0(), &events).ok());
  ASSERT_TRUE(c.Apply(UpsertQueue{Queue("r")}, T0(), &events).ok());
  ASSERT_EQ(events.size(), 2u) << Dump(events);
  EXPECT_EQ(events[1].seq, events[0].seq + 1);
}

TEST(DeterminismTest, AdvancingInStepsOrAtOnceGivesTheSameEvents) {
  auto run = [](const std::vector<int>& steps) {
    Engine e;
    std::vector<Event> events;
    const absl::Time t0 = T0();
    QueueConfig q = Queue("q");
    q.offer_timeout = absl::Seconds(7);
    q.relaxation = {{absl::Seconds(12), RelaxAction::kAnyEngineer, SkillId(), 1}};
    q.requirements = {Req("x", 5)};
    EXPECT_TRUE(e.Apply(UpsertQueue{q}, t0, &events).ok());
    EXPECT_TRUE(e.Apply(UpsertEngineer{Engineer("a", {"q"})}, t0, &events).ok());
    EXPECT_TRUE(
        e.Apply(SetPresence{EngineerId("a"), Presence::kAvailable, "", {}}, t0, &events).ok());
    EXPECT_TRUE(e.Apply(Session("q"), t0, &events).ok());
    EXPECT_TRUE(e.Apply(Session("q", "voice"), t0 + absl::Seconds(3), &events).ok());
    for (int s : steps) e.Advance(t0 + absl::Seconds(s), &events);
    std::vector<std::string> lines;
    for (const Event& ev : events) lines.push_back(ev.ToString());
    return std::make_pair(lines, e.DumpState());
  };
  auto once = run({100});
  auto steps = run({5, 12, 13, 19, 20, 40, 41, 70, 100});
  EXPECT_EQ(once.first, steps.first);
  EXPECT_EQ(once.second, steps.second);
}

// After a long stop, Advance replays the missed time: offers are made and expire in the
// past, one engineer after another, each counting a missed offer. CatchUp fires what is due
// at `now`: the pending offer expires now and the session is offered once, from now.
TEST(CatchUpTest, TimersDueDuringAStopFireAtNowNotInThePast) {
  auto centre = [](Engine& e, std::vector<Event>* events) {
    const absl::Time t0 = T0();
    QueueConfig q = Queue("q");
    q.offer_timeout = absl::Seconds(15);
    EXPECT_TRUE(e.Apply(UpsertQueue{q}, t0, events).ok());
    for (const char* id : {"a", "b", "c"}) {
      EXPECT_TRUE(e.Apply(UpsertEngineer{Engineer(id, {"q"})}, t0, events).ok());
      EXPECT_TRUE(
          e.Apply(SetPresence{EngineerId(id), Presence::kAvailable, "", {}}, t0, events).ok());
    }
    EXPECT_TRUE(e.Apply(Session("q", "voice"), t0 + absl::Seconds(1), events).ok());
    events->clear();
  };
  const absl::Time restart = T0() + absl::Seconds(300);
  auto count = [](const std::vector<Event>& events, EventType type) {
    return std::count_if(events.begin(), events.end(),
                         [&](const Event& ev) { return ev.type == type; });
  };

  Engine advanced;
  std::vector<Event> past;
  centre(advanced, &past);
  advanced.Advance(restart, &past);
  EXPECT_GT(count(past, EventType::kOfferExpired), 3) << Dump(past);

  Engine caught_up;
  std::vector<Event> now;
  centre(caught_up, &now);
  caught_up.CatchUp(restart, &now);
  ASSERT_EQ(count(now, EventType::kOfferExpired), 1) << Dump(now);
  ASSERT_EQ(count(now, EventType::kOfferCreated), 1) << Dump(now);
  for (const Event& ev : now) EXPECT_EQ(ev.at, restart) << ev.ToString();
  const Event& offer = *std::find_if(now.begin(), now.end(), [](const Event& ev) {
    return ev.type == EventType::kOfferCreated;
  });
  EXPECT_EQ(offer.deadline, restart + absl::Seconds(15));
  EXPECT_EQ(caught_up.NextDeadline(), restart + absl::Seconds(15));
  std::optional<SessionInfo> s = caught_up.GetSession(offer.session);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->waiting_since, T0() + absl::Seconds(1));  // the wait keeps counting
  int missed = 0;
  for (const char* id : {"a", "b", "c"}) {
    missed += caught_up.GetEngineer(EngineerId(id))->missed_offers_in_row;
    EXPECT_EQ(caught_up.GetEngineer(EngineerId(id))->presence, Presence::kAvailable) << id;
  }
  EXPECT_EQ(missed, 1);  // only the offer pending at the stop
}

TEST_F(LifecycleTest, NextDeadlineIsTheEarliestPendingTimer) {
  EXPECT_EQ(engine().NextDeadline(), std::nullopt);
  QueueConfig direct = Queue("direct");
  direct.offer_timeout = absl::Seconds(15);
  QueueConfig relax = Queue("relax");
  relax.requirements = {Req("x", 3)};
  relax.relaxation = {{absl::Seconds(10), RelaxAction::kLowerLevel, SkillId(), 1},
                      {absl::Seconds(40), RelaxAction::kAnyEngineer, SkillId(), 1}};
  QueueConfig ovf = Queue("ovf");
  ovf.overflow_after = absl::Seconds(25);
  AddQueue(direct);
  AddQueue(relax);
  AddQueue(ovf);
  AddEngineer(Engineer("alice", {"direct"}));
  AddEngineer(Engineer("bob", {"direct"}));
  SetPresenceOf("bob", Presence::kWrapUp, "", absl::Seconds(12));
  Create(Session("direct", "voice"));  // alice: expires at 15
  Create(Session("relax"));            // relaxes at 10 (no engineer), 40
  Create(Session("ovf"));              // overflows at 25

  std::vector<absl::Duration> seen;
  while (std::optional<absl::Time> next = engine().NextDeadline()) {
    if (*next > T(absl::Seconds(60)) || seen.size() > 20) break;
    seen.push_back(*next - t0);
    std::vector<Event> ev = AdvanceTo(*next - t0);
    EXPECT_FALSE(ev.empty()) << "a deadline with nothing due at +"
                             << absl::FormatDuration(*next - t0);
    for (const Event& e : ev) EXPECT_EQ(e.at, *next) << e.ToString();
  }
  // 10: relaxation step 1; 12: bob's presence wrap-up ends; 15: alice's offer expires and
  // bob gets it; 25: overflow (no target); 30: bob's offer expires, alice (free since 15)
  // gets it back; 40: relaxation step 2; 45: alice's offer expires.
  ASSERT_GE(seen.size(), 7u) << Log();
  EXPECT_THAT(std::vector<absl::Duration>(seen.begin(), seen.begin() + 7),
              ElementsAre(absl::Seconds(10), absl::Seconds(12), absl::Seconds(15),
                          absl::Seconds(25), absl::Seconds(30), absl::Seconds(40),
                          absl::Seconds(45)))
      << Log();
}

// ---- more edges ---------------------------------------------------------------------------------

TEST_F(LifecycleTest, DeclinedListHasNoDuplicates) {
  QueueConfig q = Queue("q");
  q.offer_timeout = absl::Seconds(10);
  AddQueue(q);
  AddEngineer(Engineer("alice", {"q"}));
  SessionId s = Create(Session("q"));
  Reject(s, "alice");  // offered again: she is the only one
  Reject(s, "alice");
  AdvanceTo(absl::Seconds(10));  // expires once
  EXPECT_THAT(Names(Sess(s).declined_by), ElementsAre("alice")) << Log();
}

TEST_F(LifecycleTest, FreedEngineerTakesASessionItDeclined) {
  AddQueue(Queue("q"));
  AddEngineer(VoiceOnly("alice", {"q"}));
  AddEngineer(VoiceOnly("bob", {"q"}));
  std::vector<Event> ev;
  SessionId s = Create(Session("q", "voice"), &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
  ev = Reject(s, "alice");
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("bob")) << Dump(ev);
  SessionId call = Create(Session("q", "voice"), &ev);
  ASSERT_THAT(OffersOf(ev, call), ElementsAre("alice")) << Dump(ev);
  Accept(call, "alice");
  SetPresenceOf("bob", Presence::kOffline);  // s back to QUEUED; nobody has room
  EXPECT_EQ(StateOf(s), SessionState::kQueued) << Log();
  Complete(call, "alice");
  At(absl::Seconds(5));
  ev = EndWrap(call, "alice");
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

TEST_F(LifecycleTest, SessionNumbersNeverCollide) {
  AddQueue(Queue("q"));
  SessionId a = Create(Session("q"));
  SessionId b = Create(Session("q", "wechat", a.value() + 1));  // takes the next number
  SessionId c = Create(Session("q"));
  SessionId d = Create(Session("q", "wechat", 1000));
  SessionId e = Create(Session("q"));
  std::vector<SessionId> ids = {a, b, c, d, e};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << Log();
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(engine().ListSessions().size(), 5u);
}

TEST_F(LifecycleTest, RemoveQueueStopsEngineersServingIt) {
  AddQueue(Queue("q"));
  AddQueue(Queue("keep"));
  AddEngineer(Engineer("alice", {"q", "keep"}));
  std::vector<Event> ev = ApplyOk(RemoveQueue{QueueId("q")});
  EXPECT_TRUE(HasEvent(ev, EventType::kQueueRemoved)) << Dump(ev);
  EXPECT_FALSE(engine().GetQueue(QueueId("q")).has_value());
  EXPECT_THAT(engine().ListQueues(), ElementsAre(QueueId("keep")));
  // Re-created, the queue has no engineers until they are configured to serve it again.
  AddQueue(Queue("q"));
  EXPECT_THAT(Q("q").engineers, IsEmpty());
  SessionId s = Create(Session("q"));
  EXPECT_EQ(StateOf(s), SessionState::kQueued) << Log();
  EXPECT_THAT(Q("keep").engineers, ElementsAre(EngineerId("alice")));
}

TEST_F(LifecycleTest, RemovedEngineerIsGone) {
  AddQueue(Queue("q"));
  AddEngineer(Engineer("alice", {"q"}));
  std::vector<Event> ev = ApplyOk(RemoveEngineer{EngineerId("alice")});
  EXPECT_TRUE(HasEvent(ev, EventType::kEngineerRemoved)) << Dump(ev);
  EXPECT_FALSE(engine().GetEngineer(EngineerId("alice")).has_value());
  EXPECT_THAT(Q("q").engineers, IsEmpty());
  SessionId s = Create(Session("q"));
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  // Re-created: offline, then takes work again.
  AddEngineer(Engineer("alice", {"q"}), false);
  EXPECT_EQ(Eng("alice").presence, Presence::kOffline);
  ev = SetAvailable("alice");
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("alice")) << Dump(ev);
}

TEST_F(GrabTest, CancelRescindsEveryGrabOffer) {
  SetUpGrab(3, Tier::kRookie, 0, Tier::kRookie, 0);
  SessionId s = Create(Session("g"));
  At(absl::Seconds(11));
  Claim(s, "a");
  std::vector<Event> ev = Cancel(s, true, "left");
  EXPECT_THAT(EngineersOf(ev, EventType::kOfferRescinded, s),
              UnorderedElementsAre("a", "b", "c"))
      << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kAbandoned);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(11)) + absl::Minutes(10))
      << "only the purge is left";
}

TEST_F(GrabTest, ClaimantWithoutRoomAnyMoreLoses) {
  SetUpGrab(2, Tier::kMaster, 0, Tier::kRookie, 0);
  QueueConfig d = Queue("d");
  AddQueue(d);
  EngineerConfig a = Engineer("a", {"g", "d"});
  a.tier = Tier::kMaster;
  ApplyOk(UpsertEngineer{a});
  SessionId s = Create(Session("g"));
  ASSERT_THAT(OffersOf(log(), s), UnorderedElementsAre("a", "b")) << Log();
  At(absl::Seconds(11));
  Claim(s, "a");
  // a fills up with three direct chats from queue d.
  for (int i = 0; i < 3; ++i) {
    SessionId x = Create(Session("d"));
    ASSERT_EQ(Sess(x).engineer, EngineerId("a")) << Log();
  }
  EXPECT_EQ(Eng("a").used_budget, 60);
  At(absl::Seconds(12));
  std::vector<Event> ev = Claim(s, "b");
  std::optional<Event> assigned = FindEvent(ev, EventType::kSessionAssigned, s);
  ASSERT_TRUE(assigned.has_value()) << Dump(ev);
  EXPECT_EQ(assigned->engineer, EngineerId("b")) << "a has no room left" << Dump(ev);
}

TEST_F(GrabTest, RescindingTheLastSilentOfferDecides) {
  SetUpGrab(2, Tier::kRookie, 0, Tier::kRookie, 0);
  SessionId s = Create(Session("g"));
  At(absl::Seconds(11));
  Claim(s, "a");
  // b goes away: everyone still offered (a) has answered.
  std::vector<Event> ev = SetPresenceOf("b", Presence::kOffline);
  std::optional<Event> assigned = FindEvent(ev, EventType::kSessionAssigned, s);
  ASSERT_TRUE(assigned.has_value()) << Dump(ev);
  EXPECT_EQ(assigned->engineer, EngineerId("a"));
  EXPECT_EQ(assigned->at, T(absl::Seconds(11)));
}

TEST_F(GrabTest, GrabSessionOverflowsWhenItComesBack) {
  QueueConfig g = Queue("g");
  g.delivery = DeliveryMode::kGrab;
  g.grab_fanout = 2;
  g.grab_window = absl::Seconds(100);
  g.overflow_after = absl::Seconds(30);
  g.overflow_queue = QueueId("backup");
  AddQueue(Queue("backup"));
  AddQueue(g);
  AddEngineer(Engineer("a", {"g"}));
  AddEngineer(Engineer("z", {"backup"}));
  SessionId s = Create(Session("g"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(40));
  EXPECT_EQ(StateOf(s), SessionState::kOffered) << Dump(ev);
  ev = Reject(s, "a");
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionOverflowed, s)) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("z")) << Dump(ev);
}

// Timers due at the same time fire in order of creation.
TEST_F(LifecycleTest, SimultaneousTimersFireInCreationOrder) {
  for (bool overflow_first : {true, false}) {
    SCOPED_TRACE(overflow_first ? "overflow timer created first" : "expiry timer created first");
    Reset();
    QueueConfig ovf = Queue("ovf");
    ovf.overflow_after = absl::Seconds(overflow_first ? 20 : 15);
    QueueConfig q = Queue("q");
    q.offer_timeout = absl::Seconds(overflow_first ? 15 : 20);
    AddQueue(ovf);
    AddQueue(q);
    AddEngineer(Engineer("alice", {"q"}));
    SessionId a, b;
    if (overflow_first) {
      a = Create(Session("ovf"));  // overflows at 20
      At(absl::Seconds(5));
      b = Create(Session("q"));    // offer expires at 20
    } else {
      b = Create(Session("q"));    // offer expires at 20
      At(absl::Seconds(5));
      a = Create(Session("ovf"));  // overflows at 20
    }
    std::vector<Event> ev = AdvanceTo(absl::Seconds(30));
    std::vector<uint64_t> order;
    for (const Event& e : ev) {
      if (e.type == EventType::kSessionOverflowed || e.type == EventType::kOfferExpired) {
        EXPECT_EQ(e.at, T(absl::Seconds(20))) << e.ToString();
        order.push_back(e.session.value());
      }
    }
    if (overflow_first) {
      EXPECT_EQ(order, (std::vector<uint64_t>{a.value(), b.value()})) << Dump(ev);
    } else {
      EXPECT_EQ(order, (std::vector<uint64_t>{b.value(), a.value()})) << Dump(ev);
    }
  }
}

// ROUTING.md: a target who rejects (or lets the offer expire) is no longer a target; a stage
// with no target left no longer applies, the session moves on at once, and the stages after
// it move earlier.
TEST_F(LifecycleTest, PreferredEngineerWhoDeclinesIsNoLongerATarget) {
  QueueConfig q = Queue("q");
  q.preferred_timeout = absl::Seconds(20);
  q.last_engineer_timeout = absl::Seconds(10);
  AddQueue(q);
  AddEngineer(Engineer("pat", {"q"}));
  AddEngineer(Engineer("rob", {"q"}));
  AddEngineer(Engineer("lee", {"q"}), false);
  CreateSession c = Session("q");
  c.customer.preferred_engineers = {EngineerId("pat")};
  c.customer.last_engineer = EngineerId("lee");
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("pat")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).stage, RoutingStage::kPreferred);
  At(absl::Seconds(5));
  ev = Reject(s, "pat");
  // PREFERRED no longer applies: LAST_ENGINEER now runs from 0 s to 10 s (lee is offline).
  ASSERT_TRUE(HasEvent(ev, EventType::kSessionStageChanged, s)) << Dump(ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kLastEngineer) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(10)));
  ev = AdvanceTo(absl::Seconds(10));
  EXPECT_EQ(Sess(s).stage, RoutingStage::kQueue) << Dump(ev);
  // pat declined: rob, who has not, is the one.
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("rob")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).decided_by, Decider::kOnlyCandidate);
}

TEST_F(LifecycleTest, LastEngineerWhoLetsTheOfferExpireIsNoLongerATarget) {
  QueueConfig q = Queue("q");
  q.last_engineer_timeout = absl::Seconds(60);
  q.offer_timeout = absl::Seconds(15);
  AddQueue(q);
  AddEngineer(Engineer("lee", {"q"}));
  AddEngineer(Engineer("rob", {"q"}));
  CreateSession c = Session("q");
  c.customer.last_engineer = EngineerId("lee");
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  ASSERT_THAT(OffersOf(ev, s), ElementsAre("lee")) << Dump(ev);
  EXPECT_EQ(OfferReason(ev, s).stage, RoutingStage::kLastEngineer);
  ev = AdvanceTo(absl::Seconds(15));
  ASSERT_TRUE(HasEvent(ev, EventType::kOfferExpired, s, EngineerId("lee"))) << Dump(ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kQueue);
  std::optional<Event> offer = FindEvent(ev, EventType::kOfferCreated, s);
  ASSERT_TRUE(offer.has_value()) << Dump(ev);
  EXPECT_EQ(offer->engineer, EngineerId("rob"));
  EXPECT_EQ(offer->at, T(absl::Seconds(15)));
}

TEST_F(LifecycleTest, EscalationEntersTheTargetedStages) {
  QueueConfig q = Queue("q");
  q.preferred_timeout = absl::Seconds(20);
  AddQueue(q);
  AddEngineer(Engineer("pat", {"q"}), false);
  AddEngineer(Engineer("rob", {"q"}));
  CreateSession c = Session("q", "robot_chat");
  c.customer.preferred_engineers = {EngineerId("pat")};
  SessionId s = Create(c);
  EXPECT_EQ(StateOf(s), SessionState::kBot);
  At(absl::Seconds(100));
  std::vector<Event> ev = ApplyOk(EscalateSession{s, "x", "y", QueueId(), {}, 0});
  EXPECT_EQ(Sess(s).stage, RoutingStage::kPreferred) << Dump(ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(120)));
  ev = AdvanceTo(absl::Seconds(120));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("rob")) << Dump(ev);
}

// Only direct offers count toward missed_offers_limit: grab windows closing on a silent
// engineer do not.
TEST_F(GrabTest, SilentGrabOffersAreNotMissedOffers) {
  SetUpGrab(3, Tier::kRookie, 0, Tier::kRookie, 0);
  SessionId s = Create(Session("g"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(75));  // windows close at 20, 30, ... 70
  EXPECT_GE(Count(ev, EventType::kOfferCreated), 15) << Dump(ev);
  EXPECT_EQ(Count(ev, EventType::kPresenceChanged), 0) << Dump(ev);
  for (const char* e : {"a", "b", "c"}) {
    EXPECT_EQ(Eng(e).presence, Presence::kAvailable) << e;
    EXPECT_EQ(Eng(e).missed_offers_in_row, 0) << e;
  }
  EXPECT_EQ(StateOf(s), SessionState::kOffered);
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Seconds(10)));
}

}  // namespace
}  // namespace omniroute::test
