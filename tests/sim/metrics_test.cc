// MetricsCollector on hand-written event sequences, with exact expected figures.

#include "bench/sim/metrics.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace omniroute::sim {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);
absl::Time At(int seconds) { return kT0 + absl::Seconds(seconds); }

Event SessionEvent(EventType type, int at, uint64_t session, const char* queue, SessionState state,
                   const char* engineer = "") {
  Event e;
  e.at = At(at);
  e.type = type;
  e.session = SessionId(session);
  e.queue = QueueId(queue);
  e.state = state;
  e.engineer = EngineerId(engineer);
  return e;
}

Event Presence(int at, const char* engineer, omniroute::Presence presence) {
  Event e;
  e.at = At(at);
  e.type = EventType::kPresenceChanged;
  e.engineer = EngineerId(engineer);
  e.presence = presence;
  return e;
}

Event Created(int at, uint64_t s, const char* q = "q") {
  return SessionEvent(EventType::kSessionCreated, at, s, q, SessionState::kQueued);
}
Event Assigned(int at, uint64_t s, const char* e, const char* q = "q") {
  return SessionEvent(EventType::kSessionAssigned, at, s, q, SessionState::kAssigned, e);
}
Event Completed(int at, uint64_t s, const char* e, const char* q = "q") {
  return SessionEvent(EventType::kSessionCompleted, at, s, q, SessionState::kCompleted, e);
}

QueueConfig Queue(const char* id, absl::Duration threshold) {
  QueueConfig q;
  q.id = QueueId(id);
  q.service_level_threshold = threshold;
  return q;
}

std::string GroupOf(const EngineerId& id) { return id.value().substr(0, id.value().find('-')); }

TEST(MetricsTest, AnsweredAtOnceWaitingAbandonedAndWarmUp) {
  // Window [100 s, 1000 s); threshold 20 s.
  MetricsCollector c(At(100), At(1000), {Queue("q", absl::Seconds(20))}, GroupOf);
  c.OnEvents({
      Presence(0, "a-1", omniroute::Presence::kAvailable),
      Created(50, 4),  // warm-up: not counted, but its handling is busy time
      Assigned(120, 4, "a-1"),
      Completed(150, 4, "a-1"),
      Created(200, 1),  // answered at once
      Assigned(200, 1, "a-1"),
      Completed(260, 1, "a-1"),
      Created(300, 2),  // waits 30 s
      Assigned(330, 2, "a-1"),
      SessionEvent(EventType::kSessionWrapUp, 400, 2, "q", SessionState::kWrapUp, "a-1"),
      Completed(420, 2, "a-1"),
      Created(500, 3),  // abandons after 45 s
      SessionEvent(EventType::kSessionAbandoned, 545, 3, "q", SessionState::kAbandoned),
      Created(1000, 5),  // at measure_end: outside the window
      Assigned(1000, 5, "a-1"),
  });
  const ReplicationMetrics m = c.Finish();
  ASSERT_EQ(m.queues.size(), 1u);
  const QueueFigures& q = m.queues[0];
  EXPECT_EQ(q.queue, "q");
  EXPECT_EQ(q.counts.offered, 3);
  EXPECT_EQ(q.counts.answered, 2);
  EXPECT_EQ(q.counts.abandoned, 1);
  EXPECT_EQ(q.counts.waited, 2);
  EXPECT_EQ(q.counts.unresolved, 0);
  EXPECT_DOUBLE_EQ(q.p_wait, 2.0 / 3);
  EXPECT_DOUBLE_EQ(q.asa_seconds, 15.0);
  EXPECT_DOUBLE_EQ(q.service_level, 1.0 / 3);
  EXPECT_DOUBLE_EQ(q.abandon_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(q.max_wait_seconds, 45.0);
  EXPECT_EQ(m.overall.counts.offered, 3);
  EXPECT_DOUBLE_EQ(m.overall.service_level, 1.0 / 3);
  // Who answered: the two counted sessions, by a-1 of group "a".
  ASSERT_EQ(q.answered_by_group.size(), 1u);
  EXPECT_EQ(q.answered_by_group[0].first, "a");
  EXPECT_EQ(q.answered_by_group[0].second, 2);
  // Busy 120-150, 200-260, 330-420 (wrap-up included) = 180 s of 900 s staffed.
  ASSERT_EQ(m.groups.size(), 1u);
  EXPECT_EQ(m.groups[0].group, "a");
  EXPECT_EQ(m.groups[0].busy, absl::Seconds(180));
  EXPECT_EQ(m.groups[0].staffed, absl::Seconds(900));
  EXPECT_DOUBLE_EQ(m.groups[0].occupancy, 0.2);
}

TEST(MetricsTest, OccupancyOfOneEngineerWithKnownBusyIntervals) {
  // Window [0, 100): logged in 10..90, busy 10..40 and 50..60 (two sessions overlapping the
  // first: still one busy interval), and a second group never logged in.
  MetricsCollector c(At(0), At(100), {}, GroupOf);
  c.OnEvents({
      Presence(10, "b-1", omniroute::Presence::kAvailable),
      Created(10, 1),
      Assigned(10, 1, "b-1"),
      Created(20, 2),
      Assigned(20, 2, "b-1"),
      Completed(30, 2, "b-1"),
      Completed(40, 1, "b-1"),
      Created(50, 3),
      Assigned(50, 3, "b-1"),
      Completed(60, 3, "b-1"),
      Presence(70, "b-1", omniroute::Presence::kNotReady),  // still staffed
      Presence(90, "b-1", omniroute::Presence::kOffline),
      Presence(95, "c-1", omniroute::Presence::kOffline),
  });
  const ReplicationMetrics m = c.Finish();
  ASSERT_EQ(m.groups.size(), 2u);
  EXPECT_EQ(m.groups[0].group, "b");
  EXPECT_EQ(m.groups[0].busy, absl::Seconds(40));
  EXPECT_EQ(m.groups[0].staffed, absl::Seconds(80));
  EXPECT_DOUBLE_EQ(m.groups[0].occupancy, 0.5);
  EXPECT_EQ(m.groups[1].group, "c");
  EXPECT_TRUE(std::isnan(m.groups[1].occupancy));
  EXPECT_DOUBLE_EQ(m.all_engineers.occupancy, 0.5);
}

TEST(MetricsTest, OccupancyIsClippedToTheWindow) {
  MetricsCollector c(At(100), At(200), {}, GroupOf);
  c.OnEvents({
      Presence(0, "a-1", omniroute::Presence::kAvailable), Created(50, 1), Assigned(50, 1, "a-1"),
      Completed(150, 1, "a-1"),                  // busy 100..150 inside the window
      Created(180, 2), Assigned(180, 2, "a-1"),  // still held at the end: busy 180..200
  });
  const ReplicationMetrics m = c.Finish();
  ASSERT_EQ(m.groups.size(), 1u);
  EXPECT_EQ(m.groups[0].busy, absl::Seconds(70));
  EXPECT_EQ(m.groups[0].staffed, absl::Seconds(100));
}

TEST(MetricsTest, BotOverflowWithdrawnAndUnresolved) {
  MetricsCollector c(At(100), At(1000),
                     {Queue("q", absl::Seconds(20)), Queue("r", absl::Seconds(60))}, GroupOf);
  Event escalated = SessionEvent(EventType::kSessionEscalated, 150, 1, "q", SessionState::kQueued);
  escalated.to_queue = QueueId("r");
  Event overflow_on =
      SessionEvent(EventType::kSessionOverflowed, 620, 6, "q", SessionState::kQueued);
  overflow_on.to_queue = QueueId("r");
  c.OnEvents({
      // Created with the robot in the warm-up, escalated to r inside the window: counts in r,
      // waits from the escalation (10 s).
      SessionEvent(EventType::kSessionCreated, 50, 1, "q", SessionState::kBot),
      escalated,
      Assigned(160, 1, "a-1", "r"),
      // Resolved by the robot: not offered, bot_resolved.
      SessionEvent(EventType::kSessionCreated, 200, 2, "q", SessionState::kBot),
      SessionEvent(EventType::kSessionCancelled, 230, 2, "q", SessionState::kCancelled),
      // Overflowed out of the router.
      Created(300, 3),
      SessionEvent(EventType::kSessionOverflowed, 400, 3, "q", SessionState::kOverflowed),
      // Withdrawn by the gateway while queued.
      Created(500, 4),
      SessionEvent(EventType::kSessionCancelled, 510, 4, "q", SessionState::kCancelled),
      // Overflowed to r and answered there: counts in q (its first queue), wait from q.
      Created(600, 6),
      overflow_on,
      Assigned(640, 6, "a-1", "r"),
      // Still waiting when the events end.
      Created(900, 5),
  });
  const ReplicationMetrics m = c.Finish();
  ASSERT_EQ(m.queues.size(), 2u);
  const QueueFigures& q = m.queues[0];
  const QueueFigures& r = m.queues[1];
  EXPECT_EQ(q.counts.offered, 4);
  EXPECT_EQ(q.counts.answered, 1);
  EXPECT_EQ(q.counts.overflowed, 1);
  EXPECT_EQ(q.counts.withdrawn, 1);
  EXPECT_EQ(q.counts.unresolved, 1);
  EXPECT_EQ(q.counts.bot_resolved, 1);
  EXPECT_EQ(q.counts.waited, 4);
  EXPECT_DOUBLE_EQ(q.asa_seconds, 40.0);
  EXPECT_DOUBLE_EQ(q.service_level, 0.0);
  EXPECT_EQ(r.counts.offered, 1);
  EXPECT_EQ(r.counts.answered, 1);
  EXPECT_DOUBLE_EQ(r.asa_seconds, 10.0);
  EXPECT_DOUBLE_EQ(r.service_level, 1.0);
  EXPECT_EQ(m.overall.counts.offered, 5);
  EXPECT_EQ(m.overall.counts.answered_within_threshold, 1);
}

TEST(MetricsTest, UndefinedRatiosAreNaN) {
  MetricsCollector c(At(0), At(100), {Queue("empty", absl::Seconds(20))}, GroupOf);
  const ReplicationMetrics m = c.Finish();
  ASSERT_EQ(m.queues.size(), 1u);
  EXPECT_EQ(m.queues[0].counts.offered, 0);
  EXPECT_TRUE(std::isnan(m.queues[0].p_wait));
  EXPECT_TRUE(std::isnan(m.queues[0].asa_seconds));
  EXPECT_TRUE(std::isnan(m.queues[0].max_wait_seconds));
}

}  // namespace
}  // namespace omniroute::sim
