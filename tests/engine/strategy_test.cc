// The strategy extension point: a strategy written outside the engine, registered by name,
// routes like a built-in one.

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/engine.h"
#include "omniroute/strategy.h"

namespace omniroute {
namespace {

using ::testing::IsSupersetOf;

// Highest tier first, then the longest idle: the kind of rule a service brand adds itself.
class HighestTier final : public Strategy {
 public:
  absl::string_view name() const override { return "highest_tier"; }
  RankKey Rank(const RankInput& in) const override {
    return {-static_cast<int64_t>(in.tier), in.idle_since_micros, in.registration_order};
  }
};

std::string Dump(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) out += e.ToString() + "\n";
  return out;
}

TEST(StrategyTest, BuiltinsAreRegistered) {
  EXPECT_THAT(StrategyNames(),
              IsSupersetOf({"best_rated", "longest_idle", "most_spare", "round_robin"}));
  EXPECT_NE(MakeStrategy("longest_idle"), nullptr);
  EXPECT_EQ(MakeStrategy("no_such_strategy"), nullptr);
}

TEST(StrategyTest, ANameIsRegisteredOnce) {
  EXPECT_EQ(RegisterStrategy("longest_idle", [] { return std::make_unique<HighestTier>(); })
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RegisterStrategy("empty_factory", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StrategyTest, ACustomStrategyRoutesByItsOwnRank) {
  ASSERT_TRUE(
      RegisterStrategy("highest_tier", [] { return std::make_unique<HighestTier>(); }).ok());
  Engine engine;
  std::vector<Event> ev;
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);

  QueueConfig q;
  q.id = QueueId("vip");
  q.strategy = "highest_tier";
  ASSERT_TRUE(engine.Apply(UpsertQueue{q}, t, &ev).ok());
  // Registered in this order, all idle since the same instant: longest_idle would pick
  // "rookie" by registration order; highest_tier picks the master.
  for (auto [id, tier] : {std::pair{"rookie", Tier::kRookie}, std::pair{"master", Tier::kMaster},
                          std::pair{"elite", Tier::kElite}}) {
    EngineerConfig e;
    e.id = EngineerId(id);
    e.tier = tier;
    e.queues = {QueueId("vip")};
    ASSERT_TRUE(engine.Apply(UpsertEngineer{e}, t, &ev).ok());
    ASSERT_TRUE(
        engine.Apply(SetPresence{EngineerId(id), Presence::kAvailable, "", {}}, t, &ev).ok());
  }
  CreateSession s;
  s.channel = ChannelId("wechat");
  s.queue = QueueId("vip");
  ev.clear();
  ASSERT_TRUE(engine.Apply(s, t + absl::Seconds(1), &ev).ok());
  ASSERT_EQ(ev.size(), 2u) << Dump(ev);
  EXPECT_EQ(ev[1].type, EventType::kOfferCreated) << Dump(ev);
  EXPECT_EQ(ev[1].engineer, EngineerId("master")) << Dump(ev);
  EXPECT_EQ(ev[1].reason.strategy, "highest_tier") << Dump(ev);
  EXPECT_EQ(ev[1].reason.decided_by, Decider::kPrimaryKey) << Dump(ev);
  EXPECT_EQ(ev[1].reason.runner_up_engineer, EngineerId("elite")) << Dump(ev);
}

TEST(StrategyTest, AnUnknownStrategyIsRefused) {
  Engine engine;
  std::vector<Event> ev;
  QueueConfig q;
  q.id = QueueId("x");
  q.strategy = "fastest_fingers";
  const absl::Status s = engine.Apply(UpsertQueue{q}, absl::FromUnixSeconds(1), &ev);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("queue.strategy"));
  EXPECT_TRUE(engine.ListQueues().empty());
}

}  // namespace
}  // namespace omniroute
