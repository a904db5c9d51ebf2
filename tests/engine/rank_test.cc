// SetEngineerRank: an engineer's tier and score change as a command, with an
// ENGINEER_RANK_CHANGED event, and routing takes the new rank into account at once (minimum
// tiers, the VIP stage, best_rated ranking, grab ranking).

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

class RankTest : public EngineTest, public ::testing::WithParamInterface<MatcherKind> {
 protected:
  void SetUp() override { Reset(MakeEngineWith(GetParam())); }
  void TearDown() override {
    absl::Status s = omniroute::testing::CheckInvariants(engine());
    EXPECT_TRUE(s.ok()) << s << Log();
    PrintExample(GetParam(), Log());
  }

  static EngineerConfig Ranked(std::string id, std::vector<std::string> queues, Tier tier,
                               int64_t score = 0) {
    EngineerConfig e = Engineer(std::move(id), std::move(queues));
    e.tier = tier;
    e.score = score;
    return e;
  }
  static SetEngineerRank Rank(std::string engineer, Tier tier, int64_t score,
                              std::string reason = "") {
    return SetEngineerRank{EngineerId(std::move(engineer)), tier, score, std::move(reason)};
  }
};

TEST_P(RankTest, ChangesTheRankWithAnEvent) {
  AddQueue(Queue("care"));
  AddEngineer(Ranked("li", {"care"}, Tier::kCore, 280));
  At(absl::Seconds(3));
  std::vector<Event> events = ApplyOk(Rank("li", Tier::kElite, 315, "monthly review"));
  ASSERT_EQ(events.size(), 1u) << Dump(events);
  const Event& e = events[0];
  EXPECT_EQ(e.type, EventType::kEngineerRankChanged);
  EXPECT_EQ(e.engineer, EngineerId("li"));
  EXPECT_EQ(e.tier, Tier::kElite);
  EXPECT_EQ(e.previous_tier, Tier::kCore);
  EXPECT_EQ(e.score, 315);
  EXPECT_EQ(e.at, T(absl::Seconds(3)));
  EXPECT_EQ(e.detail, "core -> elite, score 280 -> 315: monthly review");
  EXPECT_THAT(e.ToString(), HasSubstr("ENGINEER_RANK_CHANGED engineer=li"));
  EXPECT_THAT(e.ToString(), HasSubstr("tier=elite previous_tier=core score=315"));
  EXPECT_EQ(Eng("li").config.tier, Tier::kElite);
  EXPECT_EQ(Eng("li").config.score, 315);

  // The score alone; no reason.
  events = ApplyOk(Rank("li", Tier::kElite, 300));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].detail, "elite -> elite, score 315 -> 300");
  EXPECT_EQ(events[0].previous_tier, Tier::kElite);
}

TEST_P(RankTest, TheSameRankChangesNothing) {
  AddQueue(Queue("care"));
  AddEngineer(Ranked("li", {"care"}, Tier::kCore, 280));
  const uint64_t digest = engine().StateDigest();
  std::vector<Event> events = ApplyOk(Rank("li", Tier::kCore, 280, "nightly run"));
  EXPECT_THAT(events, IsEmpty());
  EXPECT_EQ(engine().StateDigest(), digest);
}

TEST_P(RankTest, RefusesUnknownEngineersAndBadValues) {
  AddQueue(Queue("care"));
  AddEngineer(Ranked("li", {"care"}, Tier::kCore, 280));
  ExpectRefused(Rank("nobody", Tier::kElite, 1), absl::StatusCode::kNotFound, "engineer");
  ExpectRefused(Rank("", Tier::kElite, 1), absl::StatusCode::kInvalidArgument, "engineer");
  ExpectRefused(Rank("li", static_cast<Tier>(0), 1), absl::StatusCode::kInvalidArgument,
                "tier");
  ExpectRefused(Rank("li", static_cast<Tier>(6), 1), absl::StatusCode::kInvalidArgument,
                "tier");
  ExpectRefused(Rank("li", Tier::kElite, 1, std::string(300, 'x')),
                absl::StatusCode::kInvalidArgument, "reason");
  ApplyOk(RemoveEngineer{EngineerId("li")});
  ExpectRefused(Rank("li", Tier::kElite, 1), absl::StatusCode::kNotFound, "li");
}

TEST_P(RankTest, PromotionHandsTheEngineerAWaitingSessionOfItsNewTier) {
  QueueConfig q = Queue("care");
  q.vip_timeout = absl::ZeroDuration();
  q.tag_rules = {{.tag = "risk:negative-social", .min_tier = Tier::kExpert}};
  AddQueue(q);
  AddEngineer(Ranked("li", {"care"}, Tier::kCore, 280));
  CreateSession c = Session("care");
  c.customer.tags = {"risk:negative-social"};
  const SessionId s = Create(c);
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  At(absl::Seconds(5));
  std::vector<Event> events = ApplyOk(Rank("li", Tier::kExpert, 400, "promoted"));
  ASSERT_GE(events.size(), 2u) << Dump(events);
  EXPECT_EQ(events[0].type, EventType::kEngineerRankChanged);
  EXPECT_THAT(OffersOf(events, s), ElementsAre("li")) << Dump(events);
}

TEST_P(RankTest, PromotionOpensTheVipStage) {
  QueueConfig q = Queue("vip");
  q.vip_min_level = 1;
  q.vip_min_tier = Tier::kElite;
  q.vip_timeout = absl::Seconds(60);
  AddQueue(q);
  AddEngineer(Ranked("li", {"vip"}, Tier::kCore));
  CreateSession c = Session("vip");
  c.customer.vip_level = 2;
  const SessionId s = Create(c);
  EXPECT_EQ(Sess(s).stage, RoutingStage::kVipTier);
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  At(absl::Seconds(10));
  std::vector<Event> events = ApplyOk(Rank("li", Tier::kElite, 0));
  const std::optional<Event> offer = FindEvent(events, EventType::kOfferCreated, s);
  ASSERT_TRUE(offer.has_value()) << Dump(events);
  EXPECT_EQ(offer->reason.stage, RoutingStage::kVipTier);
}

TEST_P(RankTest, BestRatedRanksOnTheNewScore) {
  QueueConfig q = Queue("care");
  q.strategy = "best_rated";
  AddQueue(q);
  AddEngineer(Ranked("a", {"care"}, Tier::kCore, 100));
  AddEngineer(Ranked("b", {"care"}, Tier::kCore, 50));
  const SessionId first = Create(Session("care"));
  EXPECT_EQ(Sess(first).engineer, EngineerId("a"));
  ApplyOk(Rank("b", Tier::kCore, 500, "tips"));
  const SessionId second = Create(Session("care"));
  EXPECT_EQ(Sess(second).engineer, EngineerId("b")) << Log();
}

TEST_P(RankTest, GrabRankingUsesTheNewTier) {
  QueueConfig q = Queue("grab");
  q.delivery = DeliveryMode::kGrab;
  q.grab_fanout = 2;
  AddQueue(q);
  AddEngineer(Ranked("a", {"grab"}, Tier::kMaster, 10));
  AddEngineer(Ranked("b", {"grab"}, Tier::kCore, 10));
  const SessionId s = Create(Session("grab"));
  Claim(s, "b");
  // Before the window closes, a drops to rookie: b, now the better ranked, wins.
  ApplyOk(Rank("a", Tier::kRookie, 10));
  std::vector<Event> events = Claim(s, "a");
  EXPECT_EQ(Sess(s).engineer, EngineerId("b")) << Dump(events);
  const std::optional<Event> assigned = FindEvent(events, EventType::kSessionAssigned, s);
  ASSERT_TRUE(assigned.has_value());
  EXPECT_EQ(assigned->reason.decided_by, Decider::kGrabRank);
}

INSTANTIATE_TEST_SUITE_P(Matchers, RankTest, kAllMatchers, MatcherKindName);

}  // namespace
}  // namespace omniroute::test
