// Customer rules on queues (QueueConfig::tag_rules): conditions on the customer snapshot
// (tag, VIP level, language), their actions (priority boost, extra requirement, minimum
// tier), the labels shown in decisions and events, and the minimum tier honoured at every
// routing stage, in grab mode and when an engineer is freed. Every test runs with the
// indexed matcher (as built, and indexing eagerly) and with the reference matcher.

#include <memory>
#include <string>
#include <vector>

#include "engine/support/invariants.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "matchers.h"
#include "test_util.h"

namespace omniroute::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kRisk[] = "risk:negative-social";

class CustomerRulesTest : public EngineTest, public ::testing::WithParamInterface<MatcherKind> {
 protected:
  void SetUp() override { Reset(MakeEngineWith(GetParam())); }

  void TearDown() override {
    absl::Status s = omniroute::testing::CheckInvariants(engine());
    EXPECT_TRUE(s.ok()) << s << Log();
    PrintExample(GetParam(), Log());
  }

  // A queue without the targeted stages (they are tested where they matter).
  static QueueConfig Plain(std::string id) {
    QueueConfig q = Queue(std::move(id));
    q.vip_timeout = absl::ZeroDuration();
    return q;
  }

  static EngineerConfig Ranked(std::string id, std::vector<std::string> queues, Tier tier,
                               std::vector<SkillLevel> skills = {}) {
    EngineerConfig e = Engineer(std::move(id), std::move(queues), std::move(skills));
    e.tier = tier;
    return e;
  }

  static CreateSession Risky(std::string queue) {
    CreateSession c = Session(std::move(queue));
    c.customer.id = CustomerId("angry-1");
    c.customer.tags = {"gold", kRisk};
    return c;
  }
};

TEST_P(CustomerRulesTest, VipRuleBoostsPriorityAheadOfOlderSessions) {
  QueueConfig q = Plain("care");
  q.tag_rules = {{.min_vip_level = 2, .priority_boost = 10}};
  AddQueue(q);
  AddEngineer(Engineer("a", {"care"}), /*available=*/false);

  const SessionId plain = Create(Session("care"));
  At(absl::Seconds(5));
  CreateSession vip = Session("care");
  vip.customer.vip_level = 2;
  std::vector<Event> created;
  const SessionId boosted = Create(vip, &created);
  At(absl::Seconds(6));
  CreateSession vip1 = Session("care");
  vip1.customer.vip_level = 1;  // below the rule's level
  const SessionId not_boosted = Create(vip1);

  EXPECT_EQ(Sess(boosted).priority, 10);
  EXPECT_THAT(Sess(boosted).rules_applied, ElementsAre("vip>=2"));
  EXPECT_EQ(Sess(boosted).min_tier, std::nullopt);
  EXPECT_EQ(Sess(plain).priority, 0);
  EXPECT_THAT(Sess(not_boosted).rules_applied, IsEmpty());
  EXPECT_EQ(FindEvent(created, EventType::kSessionCreated)->detail,
            "rules: vip>=2 (priority +10)");

  At(absl::Seconds(10));
  std::vector<Event> events = SetAvailable("a");
  // The boosted session first, then the older of the others.
  EXPECT_THAT(SessionsOf(events, EventType::kOfferCreated),
              ElementsAre(boosted.value(), plain.value(), not_boosted.value()))
      << Dump(events);
  const std::optional<Event> offer = FindEvent(events, EventType::kOfferCreated, boosted);
  ASSERT_TRUE(offer.has_value());
  EXPECT_THAT(offer->reason.rules, ElementsAre("vip>=2"));
  EXPECT_THAT(offer->ToString(), HasSubstr("rules=[vip>=2]"));
  EXPECT_THAT(FindEvent(events, EventType::kOfferCreated, plain)->reason.rules, IsEmpty());
}

TEST_P(CustomerRulesTest, RiskTagOnlyExpertsEvenAfterRelaxationToAnyEngineer) {
  QueueConfig q = Plain("care");
  q.requirements = {Req("repair", 4)};
  q.relaxation = {{absl::Seconds(30), RelaxAction::kAnyEngineer, SkillId(), 1}};
  q.tag_rules = {{.tag = kRisk, .min_tier = Tier::kExpert}};
  AddQueue(q);
  AddEngineer(Ranked("rookie", {"care"}, Tier::kRookie, {Skill("repair", 5)}));
  AddEngineer(Ranked("elite", {"care"}, Tier::kElite, {Skill("repair", 5)}));
  AddEngineer(Ranked("expert", {"care"}, Tier::kExpert), /*available=*/false);

  CreateSession c = Risky("care");
  c.intent = "complaint";
  std::vector<Event> created;
  const SessionId risk = Create(c, &created);
  EXPECT_EQ(FindEvent(created, EventType::kSessionCreated)->detail,
            "complaint | rules: tag=risk:negative-social (min tier expert)");
  EXPECT_EQ(Sess(risk).min_tier, Tier::kExpert);
  EXPECT_THAT(Sess(risk).rules_applied, ElementsAre("tag=risk:negative-social"));
  EXPECT_EQ(StateOf(risk), SessionState::kQueued) << Log();

  // Relaxed to any engineer of the queue: the minimum tier still holds.
  AdvanceTo(absl::Seconds(100));
  EXPECT_EQ(Sess(risk).relaxation_step, 1);
  EXPECT_THAT(Sess(risk).requirements_in_force, IsEmpty());
  EXPECT_EQ(StateOf(risk), SessionState::kQueued) << Log();

  // A session without the tag goes to the rookie or the elite at once.
  const SessionId other = Create(Session("care"));
  EXPECT_EQ(StateOf(other), SessionState::kOffered);

  // The expert (without the repair skill, which no longer matters) takes it.
  At(absl::Seconds(101));
  SetAvailable("expert");
  EXPECT_THAT(OffersOf(log(), risk), ElementsAre("expert")) << Log();
}

TEST_P(CustomerRulesTest, GrabModeOffersOnlyEngineersOfTheMinimumTier) {
  QueueConfig q = Plain("grab");
  q.delivery = DeliveryMode::kGrab;
  q.grab_fanout = 5;
  q.tag_rules = {{.tag = kRisk, .min_tier = Tier::kExpert}};
  AddQueue(q);
  AddEngineer(Ranked("r", {"grab"}, Tier::kRookie));
  AddEngineer(Ranked("c", {"grab"}, Tier::kCore));
  AddEngineer(Ranked("el", {"grab"}, Tier::kElite));
  AddEngineer(Ranked("x", {"grab"}, Tier::kExpert));
  AddEngineer(Ranked("m", {"grab"}, Tier::kMaster));

  const SessionId risk = Create(Risky("grab"));
  EXPECT_THAT(OffersOf(log(), risk), UnorderedElementsAre("x", "m")) << Log();
  EXPECT_THAT(Sess(risk).offered_to, UnorderedElementsAre(EngineerId("x"), EngineerId("m")));

  // x claims, then drops below the tier before the window closes: its claim is withdrawn
  // and m, who claims next, wins.
  Claim(risk, "x");
  std::vector<Event> events = ApplyOk(SetEngineerRank{EngineerId("x"), Tier::kCore, 0, ""});
  const std::optional<Event> rescinded = FindEvent(events, EventType::kOfferRescinded, risk);
  ASSERT_TRUE(rescinded.has_value()) << Dump(events);
  EXPECT_EQ(rescinded->engineer, EngineerId("x"));
  EXPECT_THAT(rescinded->detail, HasSubstr("minimum tier"));
  events = Claim(risk, "m");
  EXPECT_EQ(Sess(risk).state, SessionState::kAssigned) << Dump(events);
  EXPECT_EQ(Sess(risk).engineer, EngineerId("m"));
  const std::optional<Event> assigned = FindEvent(events, EventType::kSessionAssigned, risk);
  ASSERT_TRUE(assigned.has_value());
  EXPECT_THAT(assigned->reason.rules, ElementsAre("tag=risk:negative-social"));
  EXPECT_EQ(Sess(risk).assigned_at, now);
}

TEST_P(CustomerRulesTest, PreferredAndLastEngineerBelowTheTierAreSkipped) {
  QueueConfig q = Queue("care");  // preferred 20 s, last engineer 10 s
  q.vip_timeout = absl::ZeroDuration();
  q.tag_rules = {{.tag = kRisk, .min_tier = Tier::kExpert}};
  AddQueue(q);
  AddEngineer(Ranked("fav", {"care"}, Tier::kRookie));
  AddEngineer(Ranked("last", {"care"}, Tier::kCore));
  AddEngineer(Ranked("x", {"care"}, Tier::kExpert));

  CreateSession c = Risky("care");
  c.customer.preferred_engineers = {EngineerId("fav")};
  c.customer.last_engineer = EngineerId("last");
  const SessionId risk = Create(c);
  EXPECT_EQ(Sess(risk).stage, RoutingStage::kPreferred);
  EXPECT_EQ(StateOf(risk), SessionState::kQueued) << Log();
  AdvanceTo(absl::Seconds(20));
  EXPECT_EQ(Sess(risk).stage, RoutingStage::kLastEngineer);
  EXPECT_EQ(StateOf(risk), SessionState::kQueued) << Log();
  AdvanceTo(absl::Seconds(30));
  EXPECT_THAT(OffersOf(log(), risk), ElementsAre("x")) << Log();
  EXPECT_EQ(FindEvent(log(), EventType::kOfferCreated, risk)->reason.stage, RoutingStage::kQueue);
}

TEST_P(CustomerRulesTest, PreferredEngineerOfTheTierGetsItInThePreferredStage) {
  QueueConfig q = Queue("care");
  q.vip_timeout = absl::ZeroDuration();
  q.tag_rules = {{.tag = kRisk, .min_tier = Tier::kExpert}};
  AddQueue(q);
  AddEngineer(Ranked("other", {"care"}, Tier::kMaster));
  AddEngineer(Ranked("fav", {"care"}, Tier::kExpert));
  CreateSession c = Risky("care");
  c.customer.preferred_engineers = {EngineerId("fav")};
  const SessionId risk = Create(c);
  EXPECT_THAT(OffersOf(log(), risk), ElementsAre("fav")) << Log();
  EXPECT_EQ(FindEvent(log(), EventType::kOfferCreated, risk)->reason.stage,
            RoutingStage::kPreferred);
}

TEST_P(CustomerRulesTest, VipStageAndMinimumTierTakeTheHigherTier) {
  QueueConfig q = Queue("vip");
  q.vip_min_level = 1;
  q.vip_min_tier = Tier::kElite;
  q.vip_timeout = absl::Seconds(30);
  // VIP level 3 customers: masters only; VIP level 1: core or better, elite in the VIP stage.
  q.tag_rules = {{.name = "top VIP", .min_vip_level = 3, .min_tier = Tier::kMaster},
                 {.min_vip_level = 1, .min_tier = Tier::kCore}};
  AddQueue(q);
  AddEngineer(Ranked("core", {"vip"}, Tier::kCore));
  AddEngineer(Ranked("elite", {"vip"}, Tier::kElite), /*available=*/false);
  AddEngineer(Ranked("master", {"vip"}, Tier::kMaster), /*available=*/false);

  CreateSession top = Session("vip");
  top.customer.vip_level = 3;
  const SessionId s3 = Create(top);
  EXPECT_EQ(Sess(s3).min_tier, Tier::kMaster);
  EXPECT_THAT(Sess(s3).rules_applied, ElementsAre("top VIP", "vip>=1"));
  CreateSession one = Session("vip");
  one.customer.vip_level = 1;
  const SessionId s1 = Create(one);
  EXPECT_EQ(Sess(s1).min_tier, Tier::kCore);
  EXPECT_EQ(Sess(s1).stage, RoutingStage::kVipTier);
  EXPECT_EQ(StateOf(s1), SessionState::kQueued) << Log();  // core is below the VIP tier

  At(absl::Seconds(5));
  SetAvailable("elite");  // elite: enough for s1 in the VIP stage, not for s3
  EXPECT_THAT(OffersOf(log(), s1), ElementsAre("elite")) << Log();
  EXPECT_THAT(OffersOf(log(), s3), IsEmpty()) << Log();

  // After the VIP stage, s3 still needs a master.
  AdvanceTo(absl::Seconds(40));
  EXPECT_EQ(Sess(s3).stage, RoutingStage::kQueue);
  EXPECT_THAT(OffersOf(log(), s3), IsEmpty()) << Log();
  At(absl::Seconds(41));
  SetAvailable("master");
  EXPECT_THAT(OffersOf(log(), s3), ElementsAre("master")) << Log();
}

TEST_P(CustomerRulesTest, FreedEngineerBelowTheTierNeverGetsTheSession) {
  QueueConfig q = Plain("care");
  q.tag_rules = {{.tag = kRisk, .priority_boost = 50, .min_tier = Tier::kElite}};
  AddQueue(q);
  EngineerConfig r = Ranked("r", {"care"}, Tier::kCore);
  r.channels = {Cap("wechat", 1)};
  AddEngineer(r);
  const SessionId first = Create(Session("care"));
  Accept(first, "r");
  // Waiting while r is busy: the risky session (boosted well ahead) and a plain one.
  At(absl::Seconds(1));
  const SessionId risk = Create(Risky("care"));
  const SessionId plain = Create(Session("care"));
  EXPECT_GT(Sess(risk).priority, Sess(plain).priority);
  // r is freed: it takes the plain session, not the one ahead of it that it may not have.
  At(absl::Seconds(2));
  Complete(first, "r");
  std::vector<Event> events = EndWrap(first, "r");
  EXPECT_THAT(SessionsOf(events, EventType::kOfferCreated), ElementsAre(plain.value()))
      << Dump(events);
  EXPECT_EQ(StateOf(risk), SessionState::kQueued);
  // Going available again does not change that either.
  SetPresenceOf("r", Presence::kNotReady, "break");
  SetAvailable("r");
  EXPECT_THAT(OffersOf(log(), risk), IsEmpty()) << Log();
}

TEST_P(CustomerRulesTest, RulesCombineInOrderWithTheHighestTier) {
  QueueConfig q = Plain("care");
  q.tag_rules = {
      {.name = "VIP English", .min_vip_level = 1, .language = "en", .priority_boost = 3},
      {.tag = "gold", .priority_boost = 2, .requirement = Req("care", 2), .min_tier = Tier::kCore},
      {.tag = "gold", .min_vip_level = 2, .min_tier = Tier::kElite},
      {.language = "zh", .priority_boost = 100},
  };
  AddQueue(q);
  CreateSession c = Session("care");
  c.priority = 5;
  c.customer.vip_level = 2;
  c.customer.language = "en";
  c.customer.tags = {"gold"};
  c.intent = "install";
  std::vector<Event> created;
  const SessionId s = Create(c, &created);
  const SessionInfo info = Sess(s);
  EXPECT_THAT(info.rules_applied, ElementsAre("VIP English", "tag=gold", "tag=gold&vip>=2"));
  EXPECT_EQ(info.min_tier, Tier::kElite);
  EXPECT_EQ(info.priority, 10);
  EXPECT_THAT(info.requirements, ElementsAre(Req("care", 2)));
  EXPECT_EQ(FindEvent(created, EventType::kSessionCreated)->detail,
            "install | rules: VIP English (priority +3); tag=gold (priority +2, requires "
            "care>=2, min tier core); tag=gold&vip>=2 (min tier elite)");

  CreateSession zh = Session("care");
  zh.customer.vip_level = 1;
  zh.customer.language = "zh";
  const SessionId s2 = Create(zh);
  EXPECT_THAT(Sess(s2).rules_applied, ElementsAre("lang=zh"));
  EXPECT_EQ(Sess(s2).min_tier, std::nullopt);
  EXPECT_EQ(Sess(s2).priority, 100);
}

TEST_P(CustomerRulesTest, RulesAreThoseOfTheQueueTheSessionIsIn) {
  QueueConfig a = Plain("a");
  a.tag_rules = {{.tag = kRisk, .min_tier = Tier::kExpert}};
  a.overflow_after = absl::Seconds(10);
  a.overflow_queue = QueueId("b");
  QueueConfig b = Plain("b");
  AddQueue(b);
  AddQueue(a);
  AddEngineer(Ranked("r", {"a", "b"}, Tier::kRookie));

  // Overflow into b: b's rules (none) apply, and the rookie may take it.
  const SessionId s = Create(Risky("a"));
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  std::vector<Event> events = AdvanceTo(absl::Seconds(10));
  EXPECT_TRUE(HasEvent(events, EventType::kSessionOverflowed, s)) << Dump(events);
  EXPECT_EQ(Sess(s).queue, QueueId("b"));
  EXPECT_EQ(Sess(s).min_tier, std::nullopt);
  EXPECT_THAT(Sess(s).rules_applied, IsEmpty());
  EXPECT_THAT(OffersOf(events, s), ElementsAre("r"));
  Accept(s, "r");

  // Transferred back into a: a's rules apply again, and the rookie is out.
  TransferSession t;
  t.session = s;
  t.queue = QueueId("a");
  events = ApplyOk(t);
  EXPECT_EQ(Sess(s).min_tier, Tier::kExpert);
  EXPECT_THAT(Sess(s).rules_applied, ElementsAre("tag=risk:negative-social"));
  EXPECT_THAT(OffersOf(events, s), IsEmpty()) << Dump(events);
}

TEST_P(CustomerRulesTest, ReconfiguringAQueueReappliesRulesToWaitingSessions) {
  AddQueue(Plain("care"));
  AddEngineer(Ranked("r", {"care"}, Tier::kRookie), /*available=*/false);
  const SessionId s = Create(Risky("care"));
  EXPECT_EQ(Sess(s).min_tier, std::nullopt);
  QueueConfig q = Plain("care");
  q.tag_rules = {{.tag = kRisk, .priority_boost = 7, .min_tier = Tier::kElite}};
  At(absl::Seconds(1));
  AddQueue(q);
  EXPECT_EQ(Sess(s).min_tier, Tier::kElite);
  EXPECT_EQ(Sess(s).priority, 7);
  SetAvailable("r");
  EXPECT_THAT(OffersOf(log(), s), IsEmpty()) << Log();
}

TEST_P(CustomerRulesTest, DemotionWithdrawsADirectOffer) {
  QueueConfig q = Plain("care");
  q.tag_rules = {{.tag = kRisk, .min_tier = Tier::kExpert}};
  AddQueue(q);
  AddEngineer(Ranked("x", {"care"}, Tier::kExpert));
  const SessionId s = Create(Risky("care"));
  EXPECT_EQ(Sess(s).engineer, EngineerId("x"));
  // Reconfigured to a lower tier: the offer is withdrawn and not made again.
  EngineerConfig lower = Ranked("x", {"care"}, Tier::kElite);
  At(absl::Seconds(1));
  std::vector<Event> events = ApplyOk(UpsertEngineer{lower});
  const std::optional<Event> rescinded = FindEvent(events, EventType::kOfferRescinded, s);
  ASSERT_TRUE(rescinded.has_value()) << Dump(events);
  EXPECT_EQ(rescinded->detail, "engineer below the session's minimum tier (elite)");
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  EXPECT_FALSE(HasEvent(events, EventType::kOfferCreated)) << Dump(events);
  // Promoted back: offered again.
  events = ApplyOk(SetEngineerRank{EngineerId("x"), Tier::kMaster, 10, "appeal"});
  EXPECT_THAT(OffersOf(events, s), ElementsAre("x")) << Dump(events);
}

TEST_P(CustomerRulesTest, ManyEngineersBelowTheTierStillFindTheExpert) {
  // Enough lower-tier engineers that the indexed matcher's walk indexes the queue by tier.
  QueueConfig q = Plain("care");
  q.tag_rules = {{.tag = kRisk, .min_tier = Tier::kExpert}};
  AddQueue(q);
  for (int i = 0; i < 40; ++i) {
    AddEngineer(Ranked("r" + std::to_string(i), {"care"}, i % 2 == 0 ? Tier::kRookie : Tier::kCore));
  }
  AddEngineer(Ranked("x", {"care"}, Tier::kExpert));
  std::vector<SessionId> risky;
  for (int i = 0; i < 3; ++i) {
    At(absl::Seconds(i + 1));
    risky.push_back(Create(Risky("care")));
  }
  // x takes all three (chat, three at once); the fourth waits.
  for (SessionId s : risky) EXPECT_EQ(Sess(s).engineer, EngineerId("x")) << Log();
  At(absl::Seconds(10));
  const SessionId fourth = Create(Risky("care"));
  EXPECT_EQ(StateOf(fourth), SessionState::kQueued);
  At(absl::Seconds(11));
  AddEngineer(Ranked("m", {"care"}, Tier::kMaster));
  EXPECT_EQ(Sess(fourth).engineer, EngineerId("m")) << Log();
}

INSTANTIATE_TEST_SUITE_P(Matchers, CustomerRulesTest, kAllMatchers, MatcherKindName);

}  // namespace
}  // namespace omniroute::test
