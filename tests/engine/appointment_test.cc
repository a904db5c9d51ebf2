// Booked appointments: CreateSession with a window. A window still to come makes the session
// SCHEDULED (not waiting, not routed) until an engine timer at the window's start puts it in
// its queue with the queue's appointment priority; a window already open enters at once.

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
using ::testing::IsEmpty;

class AppointmentTest : public EngineTest, public ::testing::WithParamInterface<MatcherKind> {
 protected:
  void SetUp() override { Reset(MakeEngineWith(GetParam())); }
  void TearDown() override {
    absl::Status s = omniroute::testing::CheckInvariants(engine());
    EXPECT_TRUE(s.ok()) << s << Log();
    PrintExample(GetParam(), Log());
  }

  // A booking in `queue` for [t0 + start, t0 + end).
  CreateSession Booking(std::string queue, absl::Duration start, absl::Duration end,
                        std::string channel = "voice") {
    CreateSession c = Session(std::move(queue), std::move(channel));
    c.window_start = T(start);
    c.window_end = T(end);
    c.intent = "onsite.install";
    return c;
  }
};

TEST_P(AppointmentTest, ScheduledUntilTheWindowThenAheadOfOlderSessions) {
  AddQueue(Queue("field"));
  AddEngineer(Engineer("tech", {"field"}), /*available=*/false);
  // Two ordinary calls wait from the start.
  const SessionId early1 = Create(Session("field", "voice"));
  const SessionId early2 = Create(Session("field", "voice"));

  At(absl::Seconds(10));
  std::vector<Event> created;
  const SessionId booked = Create(Booking("field", absl::Minutes(5), absl::Minutes(35)), &created);
  const std::optional<Event> ev = FindEvent(created, EventType::kSessionCreated, booked);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->state, SessionState::kScheduled);
  EXPECT_EQ(ev->deadline, T(absl::Minutes(5)));
  SessionInfo info = Sess(booked);
  EXPECT_EQ(info.state, SessionState::kScheduled);
  EXPECT_EQ(info.window_start, T(absl::Minutes(5)));
  EXPECT_EQ(info.window_end, T(absl::Minutes(35)));
  EXPECT_FALSE(IsTerminal(SessionState::kScheduled));
  EXPECT_EQ(SessionStateName(SessionState::kScheduled), "SCHEDULED");
  EXPECT_EQ(Q("field").waiting, 2);  // not counted as waiting
  EXPECT_EQ(engine().NextDeadline(), T(absl::Minutes(5)));

  // An engineer comes and goes before the window: the booking is not routed.
  At(absl::Minutes(1));
  SetAvailable("tech");
  EXPECT_THAT(OffersOf(log(), booked), IsEmpty());
  EXPECT_THAT(OffersOf(log(), early1), ElementsAre("tech"));
  SetPresenceOf("tech", Presence::kNotReady, "travel");
  EXPECT_EQ(StateOf(early1), SessionState::kQueued);
  EXPECT_EQ(StateOf(early2), SessionState::kQueued);
  AdvanceTo(absl::Minutes(5) - absl::Microseconds(1));
  EXPECT_EQ(StateOf(booked), SessionState::kScheduled);

  // The window opens: queued with the appointment priority, waiting since the window start.
  std::vector<Event> events = AdvanceTo(absl::Minutes(5));
  const std::optional<Event> opened = FindEvent(events, EventType::kSessionWindowOpened, booked);
  ASSERT_TRUE(opened.has_value()) << Dump(events);
  EXPECT_EQ(opened->state, SessionState::kQueued);
  EXPECT_EQ(opened->at, T(absl::Minutes(5)));
  info = Sess(booked);
  EXPECT_EQ(info.state, SessionState::kQueued);
  EXPECT_EQ(info.priority, 800);
  EXPECT_EQ(info.waiting_since, T(absl::Minutes(5)));
  EXPECT_EQ(info.queue_entered_at, T(absl::Minutes(5)));
  EXPECT_EQ(Q("field").waiting, 3);

  // The engineer is back: the booking goes first, before the calls waiting for 5 minutes.
  At(absl::Minutes(6));
  events = SetAvailable("tech");
  EXPECT_THAT(SessionsOf(events, EventType::kOfferCreated), ElementsAre(booked.value()))
      << Dump(events);
}

TEST_P(AppointmentTest, AnOpenWindowEntersAtOnce) {
  QueueConfig q = Queue("field");
  q.appointment_priority = 300;
  AddQueue(q);
  At(absl::Minutes(10));
  CreateSession c = Booking("field", absl::Minutes(9), absl::Minutes(40));
  c.priority = 20;
  std::vector<Event> created;
  const SessionId s = Create(c, &created);
  EXPECT_EQ(FindEvent(created, EventType::kSessionCreated)->state, SessionState::kQueued);
  EXPECT_FALSE(HasEvent(created, EventType::kSessionWindowOpened));
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  EXPECT_EQ(Sess(s).priority, 300);
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Minutes(10)));  // created after the start
  // A window starting exactly now enters at once too.
  const SessionId now_s = Create(Booking("field", absl::Minutes(10), absl::Minutes(20)));
  EXPECT_EQ(StateOf(now_s), SessionState::kQueued);
}

TEST_P(AppointmentTest, PriorityIsTheHigherOfItsOwnAndTheQueues) {
  QueueConfig q = Queue("field");
  q.appointment_priority = 50;
  q.tag_rules = {{.tag = "gold", .priority_boost = 30}};
  AddQueue(q);
  CreateSession high = Booking("field", absl::ZeroDuration(), absl::Minutes(30));
  high.priority = 40;
  high.customer.tags = {"gold"};
  EXPECT_EQ(Sess(Create(high)).priority, 70);  // 40 + 30 > 50
  CreateSession low = Booking("field", absl::ZeroDuration(), absl::Minutes(30));
  low.priority = 10;
  EXPECT_EQ(Sess(Create(low)).priority, 50);
}

TEST_P(AppointmentTest, CancelWhileScheduled) {
  AddQueue(Queue("field"));
  const SessionId s = Create(Booking("field", absl::Hours(2), absl::Hours(3)));
  std::vector<Event> events = Cancel(s, /*abandoned=*/false, "customer rebooked");
  const std::optional<Event> cancelled = FindEvent(events, EventType::kSessionCancelled, s);
  ASSERT_TRUE(cancelled.has_value()) << Dump(events);
  EXPECT_EQ(cancelled->detail, "customer rebooked");
  EXPECT_EQ(StateOf(s), SessionState::kCancelled);
  // Nothing happens at the window's start.
  events = AdvanceTo(absl::Hours(2));
  EXPECT_FALSE(HasEvent(events, EventType::kSessionWindowOpened)) << Dump(events);
  const SessionId s2 = Create(Booking("field", absl::Hours(4), absl::Hours(5)));
  events = Cancel(s2, /*abandoned=*/true);
  EXPECT_TRUE(HasEvent(events, EventType::kSessionAbandoned, s2));
}

TEST_P(AppointmentTest, NeverStartsWithTheRobot) {
  AddQueue(Queue("field"));
  // robot_chat is bot-first: an ordinary session starts in BOT, a booking does not.
  EXPECT_EQ(StateOf(Create(Session("field", "robot_chat"))), SessionState::kBot);
  EXPECT_EQ(StateOf(Create(Booking("field", absl::ZeroDuration(), absl::Hours(1), "robot_chat"))),
            SessionState::kQueued);
  EXPECT_EQ(StateOf(Create(Booking("field", absl::Hours(1), absl::Hours(2), "robot_chat"))),
            SessionState::kScheduled);
}

TEST_P(AppointmentTest, WindowValidation) {
  AddQueue(Queue("field"));
  CreateSession c = Session("field");
  c.window_start = T(absl::Hours(1));
  ExpectRefused(c, absl::StatusCode::kInvalidArgument, "window_end: required");
  c = Session("field");
  c.window_end = T(absl::Hours(1));
  ExpectRefused(c, absl::StatusCode::kInvalidArgument, "window_start: required");
  c = Booking("field", absl::Hours(2), absl::Hours(2));
  ExpectRefused(c, absl::StatusCode::kInvalidArgument, "window_end: must be after window_start");
  c = Booking("field", absl::Hours(2), absl::Hours(1));
  ExpectRefused(c, absl::StatusCode::kInvalidArgument, "window_end");
  c = Booking("field", absl::Hours(24 * 401), absl::Hours(24 * 402));
  ExpectRefused(c, absl::StatusCode::kInvalidArgument, "window_start: more than 400 days");
  c = Booking("field", absl::Hours(1), absl::Hours(2));
  c.window_end = absl::InfiniteFuture();
  ExpectRefused(c, absl::StatusCode::kInvalidArgument, "window_end: must be a finite time");
  c = Booking("field", absl::Hours(1), absl::Hours(2));
  c.start_in_bot = true;
  ExpectRefused(c, absl::StatusCode::kInvalidArgument, "start_in_bot");
  // 400 days ahead exactly is fine.
  Create(Booking("field", absl::Hours(24 * 400), absl::Hours(24 * 400 + 1)));
}

TEST_P(AppointmentTest, ChannelLimitsCountOnlyWhatWaits) {
  QueueConfig q = Queue("field");
  q.channel_limits = {{ChannelId("voice"), 1}};
  AddQueue(q);
  const SessionId later = Create(Booking("field", absl::Minutes(1), absl::Minutes(2)));
  EXPECT_EQ(StateOf(later), SessionState::kScheduled);
  Create(Session("field", "voice"));  // the one voice session allowed to wait
  ExpectRefused(Session("field", "voice"), absl::StatusCode::kResourceExhausted, "voice");
  ExpectRefused(Booking("field", absl::ZeroDuration(), absl::Minutes(2)),
                absl::StatusCode::kResourceExhausted, "voice");
  // A scheduled booking is accepted whatever is waiting, and enters when its window opens.
  Create(Booking("field", absl::Minutes(3), absl::Minutes(4)));
  AdvanceTo(absl::Minutes(1));
  EXPECT_EQ(StateOf(later), SessionState::kQueued);
}

TEST_P(AppointmentTest, AQueueWithABookingCannotBeRemoved) {
  AddQueue(Queue("field"));
  const SessionId s = Create(Booking("field", absl::Hours(1), absl::Hours(2)));
  ExpectRefused(RemoveQueue{QueueId("field")}, absl::StatusCode::kFailedPrecondition, "SCHEDULED");
  Cancel(s);
  ApplyOk(RemoveQueue{QueueId("field")});
}

TEST_P(AppointmentTest, CatchUpCountsTheWaitFromTheWindowStart) {
  AddQueue(Queue("field"));
  const SessionId s = Create(Booking("field", absl::Minutes(5), absl::Minutes(30)));
  std::vector<Event> events;
  engine().CatchUp(T(absl::Minutes(12)), &events);
  const std::optional<Event> opened = FindEvent(events, EventType::kSessionWindowOpened, s);
  ASSERT_TRUE(opened.has_value()) << Dump(events);
  EXPECT_EQ(opened->at, T(absl::Minutes(12)));
  EXPECT_EQ(Sess(s).waiting_since, T(absl::Minutes(5)));
  EXPECT_EQ(Sess(s).queue_entered_at, T(absl::Minutes(12)));
}

TEST_P(AppointmentTest, TransferKeepsItAnAppointment) {
  QueueConfig a = Queue("field");
  QueueConfig b = Queue("expert");
  b.appointment_priority = 900;
  AddQueue(a);
  AddQueue(b);
  AddEngineer(Engineer("tech", {"field"}));
  const SessionId s = Create(Booking("field", absl::ZeroDuration(), absl::Hours(1)));
  Accept(s, "tech");
  EXPECT_EQ(Sess(s).assigned_at, now);
  At(absl::Minutes(3));
  TransferSession t;
  t.session = s;
  t.queue = QueueId("expert");
  ApplyOk(t);
  EXPECT_EQ(Sess(s).priority, 900);
  EXPECT_EQ(Sess(s).window_start, T(absl::ZeroDuration()));
  EXPECT_EQ(Sess(s).assigned_at, T(absl::ZeroDuration()));  // the last assignment
}

INSTANTIATE_TEST_SUITE_P(Matchers, AppointmentTest, kAllMatchers, MatcherKindName);

}  // namespace
}  // namespace omniroute::test
