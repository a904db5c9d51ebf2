// What-if replay of a journal the real daemon wrote: omnirouted is started on a fresh data
// directory, a few sessions go through it over gRPC (created, offered, accepted, completed,
// wrapped up; one customer hangs up while waiting), the daemon is stopped, and the data
// directory is read back and replayed. The recorded figures must be what happened, and the
// what-if run on the recorded configuration must find the same outcome for every session.

#include <string>
#include <vector>

#include "bench/sim/replay.h"
#include "bench/sim/report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::sim {
namespace {

using ::omniroute::testing::Daemon;
using ::omniroute::testing::Desktop;
using ::omniroute::testing::IsOk;
using ::omniroute::testing::NewSession;

constexpr char kConfig[] = R"pb(
  queues {
    id: "repair"
    service_level_threshold { seconds: 20 }
    offer_timeout { seconds: 120 }
    wrap_up_duration { seconds: 120 }
  }
  agents {
    id: "li.na"
    skills { skill_id: "repair" level: 5 }
    queue_ids: "repair"
  }
)pb";

TEST(ReplayDaemonJournal, RecordedFiguresAreWhatHappened) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Desktop li(d, "li.na");
  ASSERT_THAT(d.SetPresence("li.na", omniroute::v1::PRESENCE_AVAILABLE), IsOk());

  // Three calls: the first is offered at once; the second waits for li.na; the third hangs up
  // while waiting.
  const std::string first = d.Create(NewSession("r-1", "voice", "repair"));
  const std::string second = d.Create(NewSession("r-2", "voice", "repair"));
  const std::string third = d.Create(NewSession("r-3", "voice", "repair"));
  ASSERT_FALSE(first.empty() || second.empty() || third.empty());
  omniroute::v1::CancelSessionRequest hang_up;
  hang_up.set_session_id(third);
  hang_up.set_kind(omniroute::v1::CANCEL_KIND_ABANDONED);
  ASSERT_THAT(d.CancelSession(hang_up), IsOk());
  for (const std::string& session : {first, second}) {
    std::optional<omniroute::v1::Offer> offer = li.AwaitOffer(session);
    ASSERT_TRUE(offer.has_value()) << session;
    omniroute::v1::AcceptOfferRequest accept;
    accept.set_session_id(session);
    accept.set_agent_id("li.na");
    accept.set_offer_id(offer->offer_id());
    ASSERT_THAT(d.AcceptOffer(accept), IsOk());
    omniroute::v1::CompleteSessionRequest complete;
    complete.set_session_id(session);
    complete.set_agent_id("li.na");
    ASSERT_THAT(d.CompleteSession(complete), IsOk());
    omniroute::v1::EndWrapUpRequest end;
    end.set_session_id(session);
    end.set_agent_id("li.na");
    ASSERT_THAT(d.EndWrapUp(end), IsOk());
  }
  ASSERT_EQ(d.Stop(), 0);

  absl::StatusOr<Recording> recording = ReadRecording(d.DataDir());
  ASSERT_TRUE(recording.ok()) << recording.status();
  EXPECT_FALSE(recording->entries.empty());
  absl::StatusOr<ReplayResult> result =
      RunReplay(*recording, nullptr, ReplayOptions{.replications = 2, .threads = 1});
  ASSERT_TRUE(result.ok()) << result.status();

  const QueueFigures& recorded = result->recorded.overall;
  EXPECT_EQ(recorded.counts.offered, 3);
  EXPECT_EQ(recorded.counts.answered, 2);
  EXPECT_EQ(recorded.counts.abandoned, 1);
  // Every session waited: a call is answered when the engineer accepts, which took real time
  // even for the first; the second waited for li.na to finish the first.
  EXPECT_EQ(recorded.counts.waited, 3);
  EXPECT_GT(recorded.counts.answered_wait_sum, absl::ZeroDuration());
  EXPECT_EQ(result->trace.sessions, 3);
  EXPECT_EQ(result->trace.abandoned, 1);
  EXPECT_EQ(result->trace.engineers, 1);
  ASSERT_EQ(result->what_if.size(), 2u);
  for (const ReplicationMetrics& m : result->what_if) {
    EXPECT_EQ(m.overall.counts.offered, 3);
    EXPECT_EQ(m.overall.counts.answered, 2);
    EXPECT_EQ(m.overall.counts.abandoned, 1);
  }
  EXPECT_THAT(FormatReplayText(*result), ::testing::HasSubstr("repair"));
}

}  // namespace
}  // namespace omniroute::sim
