// Callbacks (virtual hold): a waiting customer asks to be called back. The session keeps its
// place in the queue and is offered like any other when its turn comes; the gateway places
// the call to the number it carries.

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

class CallbackTest : public EngineTest, public ::testing::WithParamInterface<MatcherKind> {
 protected:
  void SetUp() override { Reset(MakeEngineWith(GetParam())); }
  void TearDown() override {
    absl::Status s = omniroute::testing::CheckInvariants(engine());
    EXPECT_TRUE(s.ok()) << s << Log();
    PrintExample(GetParam(), Log());
  }
};

TEST_P(CallbackTest, KeepsItsPlaceAndIsOfferedInTurn) {
  QueueConfig q = Queue("care");
  q.preferred_timeout = absl::Seconds(60);
  AddQueue(q);
  AddEngineer(Engineer("a", {"care"}), /*available=*/false);
  AddEngineer(Engineer("fav", {"care"}), /*available=*/false);
  CreateSession first = Session("care", "voice");
  first.priority = 3;
  first.customer.preferred_engineers = {EngineerId("fav")};
  const SessionId s1 = Create(first);
  At(absl::Seconds(5));
  const SessionId s2 = Create(Session("care", "voice"));
  At(absl::Seconds(8));
  const SessionInfo before = Sess(s1);
  std::vector<Event> events = ApplyOk(RequestCallback{s1, "+86 (10) 5555-0100"});
  ASSERT_EQ(events.size(), 1u) << Dump(events);
  const Event& e = events[0];
  EXPECT_EQ(e.type, EventType::kCallbackRequested);
  EXPECT_EQ(e.session, s1);
  EXPECT_EQ(e.queue, QueueId("care"));
  EXPECT_EQ(e.channel, ChannelId("voice"));
  EXPECT_EQ(e.state, SessionState::kQueued);
  EXPECT_EQ(e.detail, "+86 (10) 5555-0100");
  EXPECT_EQ(EventTypeName(e.type), "CALLBACK_REQUESTED");
  const SessionInfo after = Sess(s1);
  EXPECT_EQ(after.callback_number, "+86 (10) 5555-0100");
  EXPECT_EQ(after.state, SessionState::kQueued);
  EXPECT_EQ(after.priority, before.priority);
  EXPECT_EQ(after.waiting_since, before.waiting_since);
  EXPECT_EQ(after.queue_entered_at, before.queue_entered_at);
  EXPECT_EQ(after.stage, RoutingStage::kPreferred);
  EXPECT_EQ(Sess(s2).callback_number, "");

  // The next engineer free takes it first, as before (it is still for fav only until its
  // preferred stage ends, so fav it is).
  At(absl::Seconds(9));
  SetAvailable("a");
  EXPECT_EQ(Sess(s2).engineer, EngineerId("a"));
  events = SetAvailable("fav");
  EXPECT_THAT(SessionsOf(events, EventType::kOfferCreated), ElementsAre(s1.value()));
  EXPECT_EQ(Sess(s1).callback_number, "+86 (10) 5555-0100");
  Accept(s1, "fav");
  EXPECT_EQ(Sess(s1).callback_number, "+86 (10) 5555-0100");
}

TEST_P(CallbackTest, OlderCallbackStillGoesFirst) {
  AddQueue(Queue("care"));
  AddEngineer(Engineer("a", {"care"}), /*available=*/false);
  const SessionId s1 = Create(Session("care", "voice"));
  At(absl::Seconds(1));
  const SessionId s2 = Create(Session("care", "voice"));
  ApplyOk(RequestCallback{s1, "13800138000"});
  At(absl::Seconds(2));
  std::vector<Event> events = SetAvailable("a");
  EXPECT_THAT(SessionsOf(events, EventType::kOfferCreated), ElementsAre(s1.value()));
  (void)s2;
}

TEST_P(CallbackTest, Refusals) {
  AddQueue(Queue("care"));
  AddEngineer(Engineer("a", {"care"}), /*available=*/false);
  const SessionId queued = Create(Session("care", "voice"));
  ExpectRefused(RequestCallback{SessionId(999), "123"}, absl::StatusCode::kNotFound, "999");
  ExpectRefused(RequestCallback{SessionId(), "123"}, absl::StatusCode::kInvalidArgument,
                "session");
  ExpectRefused(RequestCallback{queued, ""}, absl::StatusCode::kInvalidArgument,
                "number: required");
  ExpectRefused(RequestCallback{queued, std::string(65, '1')},
                absl::StatusCode::kInvalidArgument, "number: longer than 64");
  ExpectRefused(RequestCallback{queued, "555-CALL-NOW"}, absl::StatusCode::kInvalidArgument,
                "number: character 5");
  ApplyOk(RequestCallback{queued, std::string(64, '9')});
  ExpectRefused(RequestCallback{queued, "123"}, absl::StatusCode::kFailedPrecondition,
                "already a callback");

  // Only QUEUED sessions.
  const SessionId bot = Create(Session("care", "robot_chat"));
  ExpectRefused(RequestCallback{bot, "123"}, absl::StatusCode::kFailedPrecondition, "BOT");
  CreateSession booking = Session("care", "voice");
  booking.window_start = T(absl::Hours(1));
  booking.window_end = T(absl::Hours(2));
  const SessionId scheduled = Create(booking);
  ExpectRefused(RequestCallback{scheduled, "123"}, absl::StatusCode::kFailedPrecondition,
                "SCHEDULED");
  SetAvailable("a");
  EXPECT_EQ(StateOf(queued), SessionState::kOffered);
  ExpectRefused(RequestCallback{queued, "123"}, absl::StatusCode::kFailedPrecondition, "OFFERED");
  Accept(queued, "a");
  ExpectRefused(RequestCallback{queued, "123"}, absl::StatusCode::kFailedPrecondition,
                "ASSIGNED");
}

INSTANTIATE_TEST_SUITE_P(Matchers, CallbackTest, kAllMatchers, MatcherKindName);

}  // namespace
}  // namespace omniroute::test
