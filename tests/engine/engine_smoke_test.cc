// A first end-to-end check of the engine through its public API: one queue, two engineers,
// one call routed, accepted, completed and wrapped up.

#include <vector>

#include "gtest/gtest.h"
#include "omniroute/engine.h"

namespace omniroute {
namespace {

std::string Dump(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) out += e.ToString() + "\n";
  return out;
}

TEST(EngineSmokeTest, RoutesACallToTheLongestIdleQualifiedEngineer) {
  Engine engine;
  std::vector<Event> ev;
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);

  QueueConfig q;
  q.id = QueueId("repair");
  q.requirements = {{SkillId("repair.phone"), 3}};
  ASSERT_TRUE(engine.Apply(UpsertQueue{q}, t, &ev).ok());

  for (auto [id, level] : {std::pair{"a", 2}, std::pair{"b", 4}, std::pair{"c", 5}}) {
    EngineerConfig e;
    e.id = EngineerId(id);
    e.skills = {{SkillId("repair.phone"), level}};
    e.queues = {QueueId("repair")};
    ASSERT_TRUE(engine.Apply(UpsertEngineer{e}, t, &ev).ok());
    t += absl::Seconds(1);
    ASSERT_TRUE(engine.Apply(SetPresence{EngineerId(id), Presence::kAvailable, "", {}}, t, &ev)
                    .ok());
  }

  CreateSession s;
  s.channel = ChannelId("voice");
  s.queue = QueueId("repair");
  ev.clear();
  t += absl::Seconds(1);
  ASSERT_TRUE(engine.Apply(s, t, &ev).ok());
  ASSERT_EQ(ev.size(), 2u) << Dump(ev);
  EXPECT_EQ(ev[0].type, EventType::kSessionCreated);
  EXPECT_EQ(ev[1].type, EventType::kOfferCreated);
  // "a" is idle longest but lacks the level; "b" became available before "c".
  EXPECT_EQ(ev[1].engineer, EngineerId("b")) << Dump(ev);
  EXPECT_EQ(ev[1].reason.decided_by, Decider::kPrimaryKey) << Dump(ev);
  EXPECT_EQ(ev[1].reason.runner_up_engineer, EngineerId("c")) << Dump(ev);
  const SessionId id = ev[0].session;

  ev.clear();
  ASSERT_TRUE(engine.Apply(AcceptOffer{id, EngineerId("b")}, t, &ev).ok());
  EXPECT_EQ(engine.GetSession(id)->state, SessionState::kAssigned);
  EXPECT_EQ(engine.GetEngineer(EngineerId("b"))->used_budget, 60);

  // A second call must not go to "b": a call takes the whole budget.
  ev.clear();
  ASSERT_TRUE(engine.Apply(s, t, &ev).ok());
  ASSERT_EQ(ev.size(), 2u) << Dump(ev);
  EXPECT_EQ(ev[1].engineer, EngineerId("c")) << Dump(ev);
  ASSERT_TRUE(engine.Apply(AcceptOffer{ev[0].session, EngineerId("c")}, t, &ev).ok());

  ASSERT_TRUE(engine.Apply(CompleteSession{id, EngineerId("b")}, t, &ev).ok());
  EXPECT_EQ(engine.GetSession(id)->state, SessionState::kWrapUp);
  ASSERT_TRUE(engine.NextDeadline().has_value());
  ev.clear();
  engine.Advance(t + q.wrap_up, &ev);
  EXPECT_EQ(engine.GetSession(id)->state, SessionState::kCompleted) << Dump(ev);
  EXPECT_EQ(engine.GetEngineer(EngineerId("b"))->used_budget, 0);

  // Refused commands change nothing.
  const std::string before = engine.DumpState();
  ev.clear();
  EXPECT_EQ(engine.Apply(AcceptOffer{id, EngineerId("c")}, t + q.wrap_up, &ev).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine.DumpState(), before);
  EXPECT_TRUE(ev.empty()) << Dump(ev);
}

}  // namespace
}  // namespace omniroute
