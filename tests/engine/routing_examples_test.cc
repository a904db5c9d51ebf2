// The worked examples of docs/ROUTING.md, one TEST per example, named after the section
// (fixture) and the example. Each test sets up exactly what the example describes and asserts
// the outcome the document states; the event lines quoted in the document are the ones these
// tests print with OMNIROUTE_PRINT_EXAMPLES=1 set in the environment.
//
// Times: t0 = 1700000000 s = @1700000000000000 µs in the event lines.

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
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

class RoutingExample : public EngineTest {
 protected:
  void TearDown() override {
    if (std::getenv("OMNIROUTE_PRINT_EXAMPLES") != nullptr) {
      const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
      std::cout << "=== " << info->test_suite_name() << "." << info->name() << Log();
    }
  }

  // The first event of `type` for `session` (and `engineer`), a failure if there is none.
  Event Find(const std::vector<Event>& events, EventType type, SessionId session = SessionId(),
             const std::string& engineer = "") {
    std::optional<Event> e =
        FindEvent(events, type, session, engineer.empty() ? EngineerId() : EngineerId(engineer));
    EXPECT_TRUE(e.has_value()) << EventTypeName(type) << " session " << session.value() << " "
                               << engineer << " not found" << Dump(events);
    return e.value_or(Event{});
  }

  // Expects exactly one offer of `s` in `events`, to `engineer`, decided by `by` in `stage`;
  // returns it.
  Event ExpectOffer(const std::vector<Event>& events, SessionId s, const std::string& engineer,
                    Decider by, RoutingStage stage = RoutingStage::kQueue) {
    EXPECT_THAT(OffersOf(events, s), ElementsAre(engineer)) << Dump(events);
    Event e = Find(events, EventType::kOfferCreated, s, engineer);
    EXPECT_EQ(e.reason.decided_by, by) << e.ToString();
    EXPECT_EQ(e.reason.stage, stage) << e.ToString();
    EXPECT_EQ(e.at, now) << e.ToString();
    return e;
  }

  int64_t Us(absl::Duration since_t0) const { return Micros(T(since_t0)); }

  // A wechat chat (cost 20 of 60, at most 3) or a voice call (cost 60, at most 1).
  static CreateSession Chat(const std::string& queue) { return Session(queue, "wechat"); }
  static CreateSession Call(const std::string& queue) { return Session(queue, "voice"); }

  static EngineerConfig WithTier(EngineerConfig e, Tier tier, int64_t score = 0) {
    e.tier = tier;
    e.score = score;
    return e;
  }
};

// Fixtures named after the ROUTING.md sections.
class Eligibility : public RoutingExample {};
class RequirementsInForce : public RoutingExample {};
class Stages : public RoutingExample {};
class ChoosingAnEngineer : public RoutingExample {};
class DispatchOrder : public RoutingExample {};
class Offers : public RoutingExample {};
class CompletionWrapUpTransfer : public RoutingExample {};
class Overflow : public RoutingExample {};
class ChannelLimits : public RoutingExample {};

// ---- Eligibility --------------------------------------------------------------------------------

// ann holds one chat (20 of her 60 budget). A call (cost 60) does not fit; another chat does.
TEST_F(Eligibility, ACallNeedsTheWholeBudgetAChatAThird) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  SessionId chat1 = Create(Chat("support"));
  Accept(chat1, "ann");
  EXPECT_EQ(Eng("ann").used_budget, 20);

  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId call = Create(Call("support"), &ev);
  EXPECT_THAT(OffersOf(ev, call), IsEmpty()) << Dump(ev);
  EXPECT_EQ(StateOf(call), SessionState::kQueued);

  At(absl::Seconds(20));
  SessionId chat2 = Create(Chat("support"), &ev);
  ExpectOffer(ev, chat2, "ann", Decider::kOnlyCandidate);
  EXPECT_EQ(Eng("ann").used_budget, 40);  // the offer reserves the chat's 20
  EXPECT_EQ(StateOf(call), SessionState::kQueued);
}

// bob is idle longer but is on a break, and cara does not serve the queue: only ann qualifies.
TEST_F(Eligibility, OnlyAvailableEngineersOfTheQueue) {
  AddQueue(Queue("support"));
  AddQueue(Queue("sales"));
  AddEngineer(Engineer("bob", {"support"}));
  SetPresenceOf("bob", Presence::kNotReady, "break");
  AddEngineer(Engineer("cara", {"sales"}));
  At(absl::Seconds(5));
  AddEngineer(Engineer("ann", {"support"}));
  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId s = Create(Chat("support"), &ev);
  ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate);
}

// ---- Requirements in force ----------------------------------------------------------------------

// Queue: repair>=3; tag rule "business" adds invoice>=2; the session asks repair>=4.
// In force: invoice>=2, repair>=4. ann (repair 5, no invoice) is idle longest but fails;
// bob (repair 3, invoice 4) fails on repair; cara (repair 4, invoice 2) gets it.
TEST_F(RequirementsInForce, QueueSessionAndTagRequirementsMerge) {
  QueueConfig q = Queue("repair");
  q.requirements = {Req("repair", 3)};
  TagRule business;
  business.tag = "business";
  business.requirement = Req("invoice", 2);
  q.tag_rules = {business};
  AddQueue(q);
  AddEngineer(Engineer("ann", {"repair"}, {Skill("repair", 5)}));
  At(absl::Seconds(1));
  AddEngineer(Engineer("bob", {"repair"}, {Skill("repair", 3), Skill("invoice", 4)}));
  At(absl::Seconds(2));
  AddEngineer(Engineer("cara", {"repair"}, {Skill("repair", 4), Skill("invoice", 2)}));

  At(absl::Seconds(10));
  CreateSession c = Chat("repair");
  c.customer.tags = {"business"};
  c.requirements = {Req("repair", 4)};
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  EXPECT_THAT(Sess(s).requirements_in_force,
              UnorderedElementsAre(Req("invoice", 2), Req("repair", 4)));
  ExpectOffer(ev, s, "cara", Decider::kOnlyCandidate);
}

// Queue: repair>=4, LOWER_LEVEL(repair, 2) after 30 s. Only ann (repair 2) is on shift.
TEST_F(RequirementsInForce, LowerLevel) {
  QueueConfig q = Queue("repair");
  q.requirements = {Req("repair", 4)};
  q.relaxation = {{absl::Seconds(30), RelaxAction::kLowerLevel, SkillId("repair"), 2}};
  AddQueue(q);
  AddEngineer(Engineer("ann", {"repair"}, {Skill("repair", 2)}));
  std::vector<Event> ev;
  SessionId s = Create(Chat("repair"), &ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);

  ev = AdvanceTo(absl::Seconds(29));
  EXPECT_THAT(ev, IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(30));
  Event relaxed = Find(ev, EventType::kSessionRelaxed, s);
  EXPECT_EQ(relaxed.detail, "step 1: repair>=2");
  Event offer = ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate);
  EXPECT_EQ(offer.reason.relaxation_step, 1);
}

// Queue: repair>=3 and lang.fr>=3, DROP_SKILL(lang.fr) after 20 s. ann speaks no French.
TEST_F(RequirementsInForce, DropSkill) {
  QueueConfig q = Queue("repair");
  q.requirements = {Req("repair", 3), Req("lang.fr", 3)};
  q.relaxation = {{absl::Seconds(20), RelaxAction::kDropSkill, SkillId("lang.fr"), 0}};
  AddQueue(q);
  AddEngineer(Engineer("ann", {"repair"}, {Skill("repair", 4)}));
  std::vector<Event> ev;
  SessionId s = Create(Chat("repair"), &ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(20));
  EXPECT_EQ(Find(ev, EventType::kSessionRelaxed, s).detail, "step 1: repair>=3");
  ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate);
}

// Queue: repair>=4, LOWER_LEVEL(all, 3) after 30 s, ANY_ENGINEER after 60 s. ann has no
// repair skill at all.
TEST_F(RequirementsInForce, AnyEngineer) {
  QueueConfig q = Queue("repair");
  q.requirements = {Req("repair", 4)};
  q.relaxation = {{absl::Seconds(60), RelaxAction::kAnyEngineer, SkillId(), 0},
                  {absl::Seconds(30), RelaxAction::kLowerLevel, SkillId(), 3}};
  AddQueue(q);
  AddEngineer(Engineer("ann", {"repair"}, {Skill("lang.en", 5)}));
  SessionId s = Create(Chat("repair"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(30));
  EXPECT_EQ(Find(ev, EventType::kSessionRelaxed, s).detail, "step 1: repair>=3");
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(60));
  EXPECT_EQ(Find(ev, EventType::kSessionRelaxed, s).detail, "step 2: any");
  Event offer = ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate);
  EXPECT_EQ(offer.reason.relaxation_step, 2);
}

// ---- Stages -------------------------------------------------------------------------------------

// The customer's favourite cara gets the session although ann has been idle longer.
TEST_F(Stages, PreferredEngineerFirst) {
  AddQueue(Queue("support"));  // preferred 20 s, last engineer 10 s
  AddEngineer(Engineer("ann", {"support"}));
  At(absl::Seconds(5));
  AddEngineer(Engineer("cara", {"support"}));
  At(absl::Seconds(10));
  CreateSession c = Chat("support");
  c.customer.id = CustomerId("c-7");
  c.customer.preferred_engineers = {EngineerId("cara")};
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  ExpectOffer(ev, s, "cara", Decider::kOnlyCandidate, RoutingStage::kPreferred);
}

// cara (favourite) is on a break: nobody is offered the session for the 20 s of the
// preferred stage; then the last engineer dan is tried (20 s to 30 s) although ann has been
// idle longer.
TEST_F(Stages, LastEngineerAfterThePreferredStage) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  AddEngineer(Engineer("cara", {"support"}), /*available=*/false);
  At(absl::Seconds(5));
  AddEngineer(Engineer("dan", {"support"}));
  At(absl::Seconds(10));
  CreateSession c = Chat("support");
  c.customer.id = CustomerId("c-7");
  c.customer.preferred_engineers = {EngineerId("cara")};
  c.customer.last_engineer = EngineerId("dan");
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kPreferred);

  ev = AdvanceTo(absl::Seconds(30));  // 20 s after queue entry
  EXPECT_EQ(Find(ev, EventType::kSessionStageChanged, s).detail, "preferred -> last_engineer");
  ExpectOffer(ev, s, "dan", Decider::kOnlyCandidate, RoutingStage::kLastEngineer);
}

// A VIP (level 2) waits 30 s for an elite engineer; eve, the only one, is on a call; at 30 s
// the session falls back to the whole queue and rookie ann gets it.
TEST_F(Stages, VipTierThenQueue) {
  QueueConfig q = Queue("support");  // vip_min_level 1, vip_min_tier elite, vip_timeout 30 s
  AddQueue(q);
  AddEngineer(WithTier(Engineer("eve", {"support"}), Tier::kElite));
  SessionId call = Create(Call("support"));
  Accept(call, "eve");
  AddEngineer(Engineer("ann", {"support"}));

  At(absl::Seconds(10));
  CreateSession c = Chat("support");
  c.customer.id = CustomerId("c-vip");
  c.customer.vip_level = 2;
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kVipTier);

  ev = AdvanceTo(absl::Seconds(40));
  EXPECT_EQ(Find(ev, EventType::kSessionStageChanged, s).detail, "vip_tier -> queue");
  ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate, RoutingStage::kQueue);
}

// The favourite "zed" does not exist and the last engineer "old" has left: both stages have
// nobody to target and are skipped; the session is in QUEUE from the start.
TEST_F(Stages, QueueWhenNobodyToTarget) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  At(absl::Seconds(10));
  CreateSession c = Chat("support");
  c.customer.preferred_engineers = {EngineerId("zed")};
  c.customer.last_engineer = EngineerId("old");
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate, RoutingStage::kQueue);
}

// cara (favourite) rejects at 5 s: the preferred stage has no target left, the session moves
// on at once to the last engineer dan. dan rejects too at 8 s: straight to the queue, ann.
TEST_F(Stages, ADeclinedTargetMovesOn) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  AddEngineer(Engineer("cara", {"support"}));
  AddEngineer(Engineer("dan", {"support"}));
  CreateSession c = Chat("support");
  c.customer.preferred_engineers = {EngineerId("cara")};
  c.customer.last_engineer = EngineerId("dan");
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  ExpectOffer(ev, s, "cara", Decider::kOnlyCandidate, RoutingStage::kPreferred);

  At(absl::Seconds(5));
  ev = Reject(s, "cara", "on another call");
  EXPECT_EQ(Find(ev, EventType::kSessionStageChanged, s).detail, "preferred -> last_engineer");
  ExpectOffer(ev, s, "dan", Decider::kOnlyCandidate, RoutingStage::kLastEngineer);

  At(absl::Seconds(8));
  ev = Reject(s, "dan", "busy");
  EXPECT_EQ(Find(ev, EventType::kSessionStageChanged, s).detail, "last_engineer -> queue");
  ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate, RoutingStage::kQueue);
  EXPECT_EQ(Sess(s).waiting_since, t0);  // the wait is kept
}

// Variant: cara rejects at 5 s and dan is on a break; the last-engineer stage now runs from
// 0 s to 10 s (not 20 s to 30 s): at 10 s the session reaches the queue.
TEST_F(Stages, LaterStagesMoveEarlier) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  AddEngineer(Engineer("cara", {"support"}));
  AddEngineer(Engineer("dan", {"support"}), /*available=*/false);
  CreateSession c = Chat("support");
  c.customer.preferred_engineers = {EngineerId("cara")};
  c.customer.last_engineer = EngineerId("dan");
  SessionId s = Create(c);
  At(absl::Seconds(5));
  std::vector<Event> ev = Reject(s, "cara", "busy");
  EXPECT_EQ(Find(ev, EventType::kSessionStageChanged, s).detail, "preferred -> last_engineer");
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kLastEngineer);
  EXPECT_EQ(engine().NextDeadline(), T(absl::Seconds(10)));
  ev = AdvanceTo(absl::Seconds(10));
  EXPECT_EQ(Find(ev, EventType::kSessionStageChanged, s).detail, "last_engineer -> queue");
  ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate, RoutingStage::kQueue);
}

// ---- Choosing an engineer for a session ---------------------------------------------------------

// longest_idle: ann and bob available at the same instant: registration order; then bob,
// idle since t0, beats ann, who received work at 10 s.
TEST_F(ChoosingAnEngineer, LongestIdle) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  AddEngineer(Engineer("bob", {"support"}));
  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId s1 = Create(Chat("support"), &ev);
  Event o1 = ExpectOffer(ev, s1, "ann", Decider::kRegistrationOrder);
  EXPECT_EQ(o1.reason.winner, (RankKey{Us(absl::ZeroDuration()), 0, 0}));
  EXPECT_EQ(o1.reason.runner_up, (RankKey{Us(absl::ZeroDuration()), 0, 1}));

  At(absl::Seconds(12));
  SessionId s2 = Create(Chat("support"), &ev);
  Event o2 = ExpectOffer(ev, s2, "bob", Decider::kPrimaryKey);
  EXPECT_EQ(o2.reason.runner_up_engineer, EngineerId("ann"));
  EXPECT_EQ(o2.reason.runner_up, (RankKey{Us(absl::Seconds(10)), 0, 0}));
}

// most_spare: both free (spare 60): the longer idle ann (secondary key). Then bob, with 60
// spare, beats ann with 40.
TEST_F(ChoosingAnEngineer, MostSpare) {
  QueueConfig q = Queue("support");
  q.strategy = "most_spare";
  AddQueue(q);
  AddEngineer(Engineer("ann", {"support"}));
  At(absl::Seconds(5));
  AddEngineer(Engineer("bob", {"support"}));
  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId s1 = Create(Chat("support"), &ev);
  Event o1 = ExpectOffer(ev, s1, "ann", Decider::kSecondaryKey);
  EXPECT_EQ(o1.reason.winner, (RankKey{-60, Us(absl::ZeroDuration()), 0}));
  Accept(s1, "ann");

  At(absl::Seconds(20));
  SessionId s2 = Create(Chat("support"), &ev);
  Event o2 = ExpectOffer(ev, s2, "bob", Decider::kPrimaryKey);
  EXPECT_EQ(o2.reason.winner, (RankKey{-60, Us(absl::Seconds(5)), 1}));
  EXPECT_EQ(o2.reason.runner_up, (RankKey{-40, Us(absl::Seconds(10)), 0}));
}

// best_rated: ann 80 points, bob and cara 95; bob and cara tie on score, bob has been idle
// longer.
TEST_F(ChoosingAnEngineer, BestRated) {
  QueueConfig q = Queue("support");
  q.strategy = "best_rated";
  AddQueue(q);
  AddEngineer(WithTier(Engineer("ann", {"support"}), Tier::kRookie, 80));
  At(absl::Seconds(1));
  AddEngineer(WithTier(Engineer("bob", {"support"}), Tier::kRookie, 95));
  At(absl::Seconds(2));
  AddEngineer(WithTier(Engineer("cara", {"support"}), Tier::kRookie, 95));
  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId s = Create(Chat("support"), &ev);
  Event o = ExpectOffer(ev, s, "bob", Decider::kSecondaryKey);
  EXPECT_EQ(o.reason.runner_up_engineer, EngineerId("cara"));
}

// round_robin: three engineers, four chats in a row: ann, bob, cara, ann.
TEST_F(ChoosingAnEngineer, RoundRobin) {
  QueueConfig q = Queue("support");
  q.strategy = "round_robin";
  AddQueue(q);
  AddEngineer(Engineer("ann", {"support"}));
  AddEngineer(Engineer("bob", {"support"}));
  AddEngineer(Engineer("cara", {"support"}));
  const std::vector<std::pair<std::string, Decider>> expected = {
      {"ann", Decider::kRegistrationOrder},
      {"bob", Decider::kRegistrationOrder},
      {"cara", Decider::kPrimaryKey},
      {"ann", Decider::kPrimaryKey}};
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    At(absl::Seconds(10 + static_cast<int64_t>(i)));
    std::vector<Event> ev;
    SessionId s = Create(Chat("support"), &ev);
    ExpectOffer(ev, s, expected[i].first, expected[i].second);
  }
}

// ann is on a call, so bob is the only engineer with room. He rejects a second call;
// nobody else is eligible, so it comes back to him as a declined fallback.
TEST_F(ChoosingAnEngineer, DeclinedFallback) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  AddEngineer(Engineer("bob", {"support"}));
  SessionId call = Create(Call("support"));  // goes to ann (registered first)
  Accept(call, "ann");                        // ann is on a call: bob is the only one left
  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId s = Create(Call("support"), &ev);
  ExpectOffer(ev, s, "bob", Decider::kOnlyCandidate);
  At(absl::Seconds(12));
  ev = Reject(s, "bob", "busy");
  ExpectOffer(ev, s, "bob", Decider::kDeclinedFallback);
  EXPECT_THAT(Sess(s).declined_by, ElementsAre(EngineerId("bob")));
}

// ---- Choosing a session for a freed engineer ----------------------------------------------------

// Session A (priority 0) has waited since t0; session B (priority 5) since t0 + gap. ann
// becomes available at t0 + 200 s. Ageing interval 30 s.
class ChoosingASession : public RoutingExample {
 protected:
  // Returns the offer ann receives; `a`/`b` receive the session ids.
  Event Run(absl::Duration gap, SessionId* a, SessionId* b) {
    AddQueue(Queue("support"));  // ageing_interval 30 s
    AddEngineer(Engineer("ann", {"support"}), /*available=*/false);
    CreateSession low = Call("support");
    low.priority = 0;
    *a = Create(low);
    At(gap);
    CreateSession high = Call("support");
    high.priority = 5;
    *b = Create(high);
    At(absl::Seconds(200));
    std::vector<Event> ev = SetAvailable("ann");
    std::vector<Event> offers = OfType(ev, EventType::kOfferCreated);
    EXPECT_EQ(offers.size(), 1u) << Dump(ev);  // a call fills ann up
    return offers.empty() ? Event{} : offers.front();
  }
};

// gap 149 s: A = 200/30 = 6.667, B = 5 + 51/30 = 6.700: B.
TEST_F(ChoosingASession, HigherPriorityStillAheadAt149s) {
  SessionId a, b;
  Event o = Run(absl::Seconds(149), &a, &b);
  EXPECT_EQ(o.session, b) << o.ToString();
  EXPECT_EQ(o.reason.decided_by, Decider::kEffectivePriority);
  EXPECT_EQ(o.reason.effective_priority_milli, 6700);
  EXPECT_EQ(o.reason.waited, absl::Seconds(51));
  EXPECT_EQ(o.reason.runner_up_session, a);
}

// gap 150 s: A = 200/30 = 6.667, B = 5 + 50/30 = 6.667: equal; A has waited longer.
TEST_F(ChoosingASession, EqualAt150sLongestWaitWins) {
  SessionId a, b;
  Event o = Run(absl::Seconds(150), &a, &b);
  EXPECT_EQ(o.session, a) << o.ToString();
  EXPECT_EQ(o.reason.decided_by, Decider::kLongestWait);
  EXPECT_EQ(o.reason.effective_priority_milli, 6666);
  EXPECT_EQ(o.reason.runner_up_session, b);
}

// gap 151 s: A = 6.667, B = 5 + 49/30 = 6.633: A overtakes on effective priority.
TEST_F(ChoosingASession, LowPriorityOvertakesAt151s) {
  SessionId a, b;
  Event o = Run(absl::Seconds(151), &a, &b);
  EXPECT_EQ(o.session, a) << o.ToString();
  EXPECT_EQ(o.reason.decided_by, Decider::kEffectivePriority);
  EXPECT_EQ(o.reason.effective_priority_milli, 6666);
  EXPECT_EQ(o.reason.waited, absl::Seconds(200));
}

// A freed engineer fills up: ann comes back from a break at 60 s with four chats waiting
// (since 0, 1, 2 and 3 s). She takes three, oldest first (3 x 20 = her whole budget of 60);
// the fourth keeps waiting.
TEST_F(ChoosingASession, FillsUpWhileThereIsRoom) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}), /*available=*/false);
  std::vector<uint64_t> chats;
  for (int i = 0; i < 4; ++i) {
    At(absl::Seconds(i));
    chats.push_back(Create(Chat("support")).value());
  }
  At(absl::Seconds(60));
  std::vector<Event> ev = SetAvailable("ann");
  EXPECT_EQ(SessionsOf(ev, EventType::kOfferCreated),
            (std::vector<uint64_t>{chats[0], chats[1], chats[2]}))
      << Dump(ev);
  Event first = Find(ev, EventType::kOfferCreated, SessionId(chats[0]), "ann");
  EXPECT_EQ(first.reason.decided_by, Decider::kEffectivePriority);  // 60/30 = 2.0 vs 59/30
  EXPECT_EQ(first.reason.effective_priority_milli, 2000);
  EXPECT_EQ(first.reason.runner_up_session, SessionId(chats[1]));
  EXPECT_EQ(StateOf(SessionId(chats[3])), SessionState::kQueued);
  EXPECT_EQ(Eng("ann").used_budget, 60);
}

// ---- Dispatch order -----------------------------------------------------------------------------

// ann holds an offer of call s1 (priority 0). A priority-9 call s2 arrives and waits. ann
// rejects s1: s1 is queued first and routed first; ann, the only one with room, has declined
// it but is its fallback, so s1 goes back to her before she could pick s2.
TEST_F(DispatchOrder, RejectQueuesTheSessionFirst) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  SessionId s1 = Create(Call("support"));
  At(absl::Seconds(1));
  CreateSession urgent = Call("support");
  urgent.priority = 9;
  std::vector<Event> ev;
  SessionId s2 = Create(urgent, &ev);
  EXPECT_THAT(OffersOf(ev, s2), IsEmpty());
  At(absl::Seconds(5));
  ev = Reject(s1, "ann", "wrong language");
  ExpectOffer(ev, s1, "ann", Decider::kDeclinedFallback);
  EXPECT_EQ(StateOf(s2), SessionState::kQueued);
}

// ---- Offers -------------------------------------------------------------------------------------

// Direct: ann rejects, bob gets it; the wait is kept, ann is on the declined list.
TEST_F(Offers, DirectReject) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  At(absl::Seconds(1));
  AddEngineer(Engineer("bob", {"support"}));
  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId s = Create(Call("support"), &ev);
  Event o = ExpectOffer(ev, s, "ann", Decider::kPrimaryKey);
  EXPECT_EQ(o.deadline, T(absl::Seconds(25)));  // offer_timeout 15 s
  EXPECT_EQ(Eng("ann").used_budget, 60);         // reserved
  At(absl::Seconds(14));
  ev = Reject(s, "ann", "not my area");
  EXPECT_EQ(Find(ev, EventType::kOfferRejected, s, "ann").detail, "not my area");
  ExpectOffer(ev, s, "bob", Decider::kOnlyCandidate);
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Seconds(10)));
  EXPECT_THAT(Sess(s).declined_by, ElementsAre(EngineerId("ann")));
  EXPECT_EQ(Eng("ann").used_budget, 0);
}

// Direct: ann lets the offer run out at 15 s; bob gets it.
TEST_F(Offers, DirectExpiry) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  At(absl::Seconds(1));
  AddEngineer(Engineer("bob", {"support"}));
  At(absl::Seconds(10));
  SessionId s = Create(Call("support"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(25));
  Find(ev, EventType::kOfferExpired, s, "ann");
  ExpectOffer(ev, s, "bob", Decider::kOnlyCandidate);
  EXPECT_EQ(Eng("ann").missed_offers_in_row, 1);
  EXPECT_EQ(Eng("ann").presence, Presence::kAvailable);
}

// Direct: ann, alone, lets the same call expire three times (0-15 s, 15-30 s, 30-45 s; after
// each expiry it comes back to her as a declined fallback). At 45 s she goes not-ready.
TEST_F(Offers, MissedOffersNotReady) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));  // missed_offers_limit 3 (default)
  SessionId s = Create(Call("support"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(15));
  ExpectOffer(ev, s, "ann", Decider::kDeclinedFallback);
  ev = AdvanceTo(absl::Seconds(30));
  ExpectOffer(ev, s, "ann", Decider::kDeclinedFallback);
  EXPECT_EQ(Eng("ann").missed_offers_in_row, 2);
  ev = AdvanceTo(absl::Seconds(45));
  Find(ev, EventType::kOfferExpired, s, "ann");
  Event p = Find(ev, EventType::kPresenceChanged, SessionId(), "ann");
  EXPECT_EQ(p.presence, Presence::kNotReady);
  EXPECT_EQ(p.detail, "missed-offers");
  EXPECT_THAT(OffersOf(ev, s), IsEmpty()) << Dump(ev);
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
}

// Going not-ready rescinds the pending offer; the session is not counted as declined.
TEST_F(Offers, NotReadyRescinds) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  At(absl::Seconds(1));
  AddEngineer(Engineer("bob", {"support"}));
  At(absl::Seconds(10));
  SessionId s = Create(Call("support"));
  At(absl::Seconds(12));
  std::vector<Event> ev = SetPresenceOf("ann", Presence::kNotReady, "break");
  EXPECT_EQ(Find(ev, EventType::kOfferRescinded, s, "ann").detail, "engineer not_ready");
  ExpectOffer(ev, s, "bob", Decider::kOnlyCandidate);
  EXPECT_THAT(Sess(s).declined_by, IsEmpty());
}

// Grab: fan-out 3 of 4 engineers (by longest idle: ann, bob, cara; dan does not see it).
// ann (rookie) and cara (elite, 50 points) claim, bob says nothing; when the 10 s window
// closes cara wins on tier.
TEST_F(Offers, GrabFanoutAndWinner) {
  QueueConfig q = Queue("field");
  q.delivery = DeliveryMode::kGrab;  // grab_fanout 3, grab_window 10 s
  AddQueue(q);
  AddEngineer(WithTier(Engineer("ann", {"field"}), Tier::kRookie, 90));
  At(absl::Seconds(1));
  AddEngineer(WithTier(Engineer("bob", {"field"}), Tier::kElite, 70));
  At(absl::Seconds(2));
  AddEngineer(WithTier(Engineer("cara", {"field"}), Tier::kElite, 50));
  At(absl::Seconds(3));
  AddEngineer(WithTier(Engineer("dan", {"field"}), Tier::kMaster, 99));
  At(absl::Seconds(10));
  std::vector<Event> ev;
  SessionId s = Create(Session("field", "onsite_visit"), &ev);
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("ann", "bob", "cara")) << Dump(ev);
  EXPECT_EQ(Find(ev, EventType::kOfferCreated, s, "ann").deadline, T(absl::Seconds(20)));
  EXPECT_EQ(Eng("ann").used_budget, 0);  // nothing reserved
  At(absl::Seconds(12));
  Claim(s, "ann");
  At(absl::Seconds(15));
  Claim(s, "cara");
  ev = AdvanceTo(absl::Seconds(20));
  EXPECT_EQ(Find(ev, EventType::kOfferRescinded, s, "bob").detail, "grab window closed");
  EXPECT_EQ(Find(ev, EventType::kOfferRescinded, s, "ann").detail, "another claimant won");
  Event a = Find(ev, EventType::kSessionAssigned, s, "cara");
  EXPECT_EQ(a.reason.decided_by, Decider::kGrabRank);
  EXPECT_EQ(a.reason.runner_up_engineer, EngineerId("ann"));
  EXPECT_EQ(a.at, T(absl::Seconds(20)));
}

// Grab: bob and cara both elite; bob has more points and wins although cara claimed first.
// Everyone offered has answered at 12 s: no need to wait for the window.
TEST_F(Offers, GrabScoreBeatsEarlierClaim) {
  QueueConfig q = Queue("field");
  q.delivery = DeliveryMode::kGrab;
  q.grab_fanout = 2;
  AddQueue(q);
  AddEngineer(WithTier(Engineer("bob", {"field"}), Tier::kElite, 70));
  AddEngineer(WithTier(Engineer("cara", {"field"}), Tier::kElite, 50));
  At(absl::Seconds(10));
  SessionId s = Create(Session("field", "onsite_visit"));
  At(absl::Seconds(11));
  Claim(s, "cara");
  At(absl::Seconds(12));
  std::vector<Event> ev = Claim(s, "bob");
  Event a = Find(ev, EventType::kSessionAssigned, s, "bob");
  EXPECT_EQ(a.reason.decided_by, Decider::kGrabRank);
  EXPECT_EQ(a.reason.runner_up_engineer, EngineerId("cara"));
  EXPECT_EQ(a.at, T(absl::Seconds(12)));
}

// Grab: equal tier and score: the earlier claim wins.
TEST_F(Offers, GrabEqualRankEarliestClaim) {
  QueueConfig q = Queue("field");
  q.delivery = DeliveryMode::kGrab;
  q.grab_fanout = 2;
  AddQueue(q);
  AddEngineer(WithTier(Engineer("bob", {"field"}), Tier::kElite, 70));
  AddEngineer(WithTier(Engineer("cara", {"field"}), Tier::kElite, 70));
  At(absl::Seconds(10));
  SessionId s = Create(Session("field", "onsite_visit"));
  At(absl::Seconds(11));
  Claim(s, "cara");
  At(absl::Seconds(12));
  std::vector<Event> ev = Claim(s, "bob");
  Event a = Find(ev, EventType::kSessionAssigned, s, "cara");
  EXPECT_EQ(a.reason.decided_by, Decider::kGrabRank);
  EXPECT_EQ(a.reason.runner_up_engineer, EngineerId("bob"));
}

// Grab: nobody claims; both refuse: the session returns to QUEUED with both declined and is
// offered again to them as a declined fallback.
TEST_F(Offers, GrabAllRefuse) {
  QueueConfig q = Queue("field");
  q.delivery = DeliveryMode::kGrab;
  q.grab_fanout = 2;
  AddQueue(q);
  AddEngineer(Engineer("bob", {"field"}));
  AddEngineer(Engineer("cara", {"field"}));
  At(absl::Seconds(10));
  SessionId s = Create(Session("field", "onsite_visit"));
  At(absl::Seconds(11));
  Reject(s, "bob", "too far");
  At(absl::Seconds(12));
  std::vector<Event> ev = Reject(s, "cara", "too far");
  EXPECT_FALSE(HasEvent(ev, EventType::kSessionAssigned)) << Dump(ev);
  EXPECT_THAT(Sess(s).declined_by, ElementsAre(EngineerId("bob"), EngineerId("cara")));
  EXPECT_THAT(OffersOf(ev, s), ElementsAre("bob", "cara")) << Dump(ev);
  EXPECT_EQ(Find(ev, EventType::kOfferCreated, s, "bob").reason.decided_by,
            Decider::kDeclinedFallback);
}

// ---- Completion, wrap-up, transfer --------------------------------------------------------------

// ann completes a call at 60 s; the queue's wrap-up (30 s) keeps her capacity until 90 s; the
// call waiting since 70 s is offered to her at 90 s.
TEST_F(CompletionWrapUpTransfer, CompleteAndWrapUp) {
  AddQueue(Queue("support"));  // wrap_up 30 s
  AddEngineer(Engineer("ann", {"support"}));
  SessionId s1 = Create(Call("support"));
  Accept(s1, "ann");
  At(absl::Seconds(60));
  std::vector<Event> ev = Complete(s1, "ann");
  EXPECT_EQ(Find(ev, EventType::kSessionWrapUp, s1, "ann").deadline, T(absl::Seconds(90)));
  EXPECT_EQ(Eng("ann").used_budget, 60);
  At(absl::Seconds(70));
  SessionId s2 = Create(Call("support"), &ev);
  EXPECT_THAT(OffersOf(ev, s2), IsEmpty()) << Dump(ev);
  ev = AdvanceTo(absl::Seconds(90));
  Find(ev, EventType::kSessionCompleted, s1);
  Event o = Find(ev, EventType::kOfferCreated, s2, "ann");
  EXPECT_EQ(o.reason.decided_by, Decider::kOnlyCandidate);
  EXPECT_EQ(o.reason.waited, absl::Seconds(20));
}

// EndWrapUp ends the wrap-up early.
TEST_F(CompletionWrapUpTransfer, EndWrapUpEarly) {
  AddQueue(Queue("support"));
  AddEngineer(Engineer("ann", {"support"}));
  SessionId s1 = Create(Call("support"));
  Accept(s1, "ann");
  At(absl::Seconds(60));
  Complete(s1, "ann");
  At(absl::Seconds(70));
  SessionId s2 = Create(Call("support"));
  At(absl::Seconds(75));
  std::vector<Event> ev = EndWrap(s1, "ann");
  Find(ev, EventType::kSessionCompleted, s1, "ann");
  Find(ev, EventType::kOfferCreated, s2, "ann");
}

// ann (billing) transfers the customer to queue "tech", to tom. tess has been idle longer,
// but tom has the session to himself for 30 s (stage preferred).
TEST_F(CompletionWrapUpTransfer, TransferToAnEngineer) {
  AddQueue(Queue("billing"));
  AddQueue(Queue("tech"));
  AddEngineer(Engineer("ann", {"billing"}));
  AddEngineer(Engineer("tess", {"tech"}));
  At(absl::Seconds(5));
  AddEngineer(Engineer("tom", {"tech"}));
  SessionId s = Create(Call("billing"));
  Accept(s, "ann");
  At(absl::Seconds(100));
  TransferSession t;
  t.session = s;
  t.queue = QueueId("tech");
  t.engineer = EngineerId("tom");
  t.engineer_timeout = absl::Seconds(30);
  t.reason = "router fault";
  std::vector<Event> ev = ApplyOk(t);
  Event tr = Find(ev, EventType::kSessionTransferred, s, "ann");
  EXPECT_EQ(tr.to_queue, QueueId("tech"));
  ExpectOffer(ev, s, "tom", Decider::kOnlyCandidate, RoutingStage::kPreferred);
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Seconds(100)));  // the wait starts anew
  EXPECT_EQ(Eng("ann").used_budget, 0);

  // tom rejects: the stage has nobody left, tess takes it.
  At(absl::Seconds(104));
  ev = Reject(s, "tom", "busy");
  ExpectOffer(ev, s, "tess", Decider::kOnlyCandidate, RoutingStage::kQueue);
}

// A transfer to an engineer does not try the customer's favourites or last engineer again:
// after tom, the session goes to the VIP stage (for a VIP customer) and then the queue.
TEST_F(CompletionWrapUpTransfer, TransferToAnEngineerSkipsFavouritesAndLastEngineer) {
  QueueConfig billing = Queue("billing");  // no targeted stages in billing
  billing.preferred_timeout = billing.last_engineer_timeout = billing.vip_timeout =
      absl::ZeroDuration();
  AddQueue(billing);
  AddQueue(Queue("tech"));
  AddEngineer(Engineer("ann", {"billing"}));
  AddEngineer(Engineer("tess", {"tech"}));
  AddEngineer(WithTier(Engineer("eli", {"tech"}), Tier::kElite));
  AddEngineer(Engineer("dan", {"tech"}));
  AddEngineer(Engineer("tom", {"tech"}));
  CreateSession c = Call("billing");
  c.customer.vip_level = 3;
  c.customer.last_engineer = EngineerId("dan");
  c.customer.preferred_engineers = {EngineerId("dan")};
  std::vector<Event> ev;
  SessionId s = Create(c, &ev);
  ExpectOffer(ev, s, "ann", Decider::kOnlyCandidate);
  Accept(s, "ann");
  At(absl::Seconds(100));
  TransferSession t;
  t.session = s;
  t.queue = QueueId("tech");
  t.engineer = EngineerId("tom");
  ev = ApplyOk(t);
  ExpectOffer(ev, s, "tom", Decider::kOnlyCandidate, RoutingStage::kPreferred);
  At(absl::Seconds(101));
  ev = Reject(s, "tom", "busy");
  EXPECT_EQ(Find(ev, EventType::kSessionStageChanged, s).detail, "preferred -> vip_tier");
  ExpectOffer(ev, s, "eli", Decider::kOnlyCandidate, RoutingStage::kVipTier);
}

// Overflow with a target: "general" overflows to "backup" after 60 s; bob (backup) takes it,
// stage queue, the wait since t0 kept.
TEST_F(Overflow, ToAnotherQueue) {
  AddQueue(Queue("backup"));
  QueueConfig g = Queue("general");
  g.overflow_after = absl::Seconds(60);
  g.overflow_queue = QueueId("backup");
  g.preferred_timeout = absl::ZeroDuration();
  AddQueue(g);
  AddEngineer(Engineer("bob", {"backup"}));
  CreateSession c = Call("general");
  c.customer.preferred_engineers = {EngineerId("bob")};
  SessionId s = Create(c);
  std::vector<Event> ev = AdvanceTo(absl::Seconds(60));
  Event ov = Find(ev, EventType::kSessionOverflowed, s);
  EXPECT_EQ(ov.to_queue, QueueId("backup"));
  EXPECT_EQ(ov.detail, "waited 1m in queue");
  ExpectOffer(ev, s, "bob", Decider::kOnlyCandidate, RoutingStage::kQueue);
  EXPECT_EQ(Sess(s).waiting_since, t0);
  EXPECT_EQ(Sess(s).queue, QueueId("backup"));
}

// Overflow without a target: the session leaves the router as OVERFLOWED.
TEST_F(Overflow, WithoutTarget) {
  QueueConfig g = Queue("general");
  g.overflow_after = absl::Seconds(60);
  AddQueue(g);
  SessionId s = Create(Call("general"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(60));
  Event ov = Find(ev, EventType::kSessionOverflowed, s);
  EXPECT_EQ(ov.state, SessionState::kOverflowed);
  EXPECT_TRUE(ov.to_queue.empty());
}

// An offered session overflows when it comes back: offered at 55 s, rejected at 62 s.
TEST_F(Overflow, OfferedSessionOverflowsWhenItReturns) {
  AddQueue(Queue("backup"));
  QueueConfig g = Queue("general");
  g.overflow_after = absl::Seconds(60);
  g.overflow_queue = QueueId("backup");
  AddQueue(g);
  AddEngineer(Engineer("ann", {"general"}), /*available=*/false);
  AddEngineer(Engineer("bob", {"backup"}));
  SessionId s = Create(Call("general"));
  At(absl::Seconds(55));
  std::vector<Event> ev = SetAvailable("ann");
  Find(ev, EventType::kOfferCreated, s, "ann");
  ev = AdvanceTo(absl::Seconds(60));
  EXPECT_THAT(ev, IsEmpty()) << Dump(ev);
  At(absl::Seconds(62));
  ev = Reject(s, "ann", "busy");
  EXPECT_EQ(Find(ev, EventType::kSessionOverflowed, s).detail, "waited 1m2s in queue");
  ExpectOffer(ev, s, "bob", Decider::kOnlyCandidate, RoutingStage::kQueue);
}

// Channel limits: at most 2 calls waiting in "support". The third is refused; a chat is not.
// Overflow into "support" ignores the limit.
TEST_F(ChannelLimits, FullQueueRefusesNewCallsOverflowIgnoresIt) {
  QueueConfig q = Queue("support");
  q.channel_limits = {{ChannelId("voice"), 2}};
  AddQueue(q);
  QueueConfig g = Queue("general");
  g.overflow_after = absl::Seconds(60);
  g.overflow_queue = QueueId("support");
  AddQueue(g);
  SessionId early = Create(Call("general"));
  At(absl::Seconds(10));
  Create(Call("support"));
  Create(Call("support"));
  absl::Status refused = ApplyStatus(Call("support"));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  // The status text is quoted in ROUTING.md.
  if (std::getenv("OMNIROUTE_PRINT_EXAMPLES") != nullptr) std::cout << refused << "\n";
  Create(Chat("support"));
  std::vector<Event> ev = AdvanceTo(absl::Seconds(60));
  Find(ev, EventType::kSessionOverflowed, early);
  EXPECT_EQ(Q("support").waiting, 4);  // 3 calls + 1 chat
}

}  // namespace
}  // namespace omniroute::test
