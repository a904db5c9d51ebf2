// The daemon process itself: starting from a configuration file (and refusing a bad one),
// health checking, graceful shutdown on SIGTERM/SIGINT with open streams.

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kConfig[] = R"pb(
  queues { id: "repair" requirements { skill_id: "repair" min_level: 3 } }
  queues { id: "sales" }
  agents {
    id: "ann"
    skills { skill_id: "repair" level: 4 }
    queue_ids: "repair"
  }
  agents { id: "bob" queue_ids: "sales" }
)pb";

TEST(Lifecycle, StartsFromItsConfigurationWithAgentsOffline) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));

  v1::GetQueueResponse queue;
  v1::GetQueueRequest gq;
  gq.set_queue_id("repair");
  ASSERT_THAT(d.GetQueue(gq, &queue), IsOk());
  EXPECT_EQ(queue.queue().id(), "repair");
  ASSERT_EQ(queue.queue().requirements_size(), 1);
  EXPECT_EQ(queue.queue().requirements(0).skill_id(), "repair");
  EXPECT_EQ(queue.queue().requirements(0).min_level(), 3);
  EXPECT_THAT(queue.queue().agent_ids(), ElementsAre("ann"));
  // Defaults filled in.
  EXPECT_EQ(queue.queue().strategy(), "longest_idle");
  EXPECT_EQ(queue.queue().delivery_mode(), v1::DELIVERY_MODE_DIRECT);
  EXPECT_EQ(Micros(queue.queue().offer_timeout()), 15'000'000);
  EXPECT_EQ(Micros(queue.queue().wrap_up_duration()), 30'000'000);
  EXPECT_EQ(queue.queue().grab_fanout(), 3);

  for (const char* id : {"ann", "bob"}) {
    v1::Agent a = d.Agent(id);
    EXPECT_EQ(a.id(), id);
    EXPECT_EQ(a.status().presence(), v1::PRESENCE_OFFLINE) << id << " starts offline";
    EXPECT_EQ(a.tier(), v1::AGENT_TIER_ROOKIE);
    EXPECT_EQ(a.budget(), 60);
    EXPECT_EQ(a.status().used_budget(), 0);
  }

  // The built-in channel table is there.
  v1::ListChannelsResponse channels;
  ASSERT_THAT(d.ListChannels(v1::ListChannelsRequest(), &channels), IsOk());
  std::vector<std::string> ids;
  for (const v1::Channel& c : channels.channels()) ids.push_back(c.id());
  EXPECT_THAT(ids, ElementsAre("app", "email", "iot_alert", "onsite_visit", "robot_chat",
                               "voice", "webchat", "wechat", "weibo"));
  for (const v1::Channel& c : channels.channels()) {
    if (c.id() == "voice") {
      EXPECT_EQ(c.cost(), 60);
      EXPECT_EQ(c.default_max(), 1);
    }
    if (c.id() == "robot_chat") {
      EXPECT_TRUE(c.bot_first());
    }
  }
  d.StopCleanly();
}

TEST(Lifecycle, TheExampleConfigurationStarts) {
  std::ifstream in(std::string(OMNIROUTE_SOURCE_DIR) + "/proto/examples/omnirouted.textproto");
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_FALSE(text.str().empty());
  Daemon d;
  // --listen overrides the example's fixed listen_address.
  ASSERT_NO_FATAL_FAILURE(d.Start(text.str()));
  v1::ListQueuesResponse queues;
  ASSERT_THAT(d.ListQueues(v1::ListQueuesRequest(), &queues), IsOk());
  std::vector<std::string> ids;
  for (const v1::Queue& q : queues.queues()) ids.push_back(q.id());
  EXPECT_THAT(ids, ElementsAre("field", "repair", "repair.backup", "vip"));
  v1::Agent a = d.Agent("eng-1042");
  EXPECT_EQ(a.tier(), v1::AGENT_TIER_ELITE);
  EXPECT_EQ(a.score(), 120);
  d.StopCleanly();
}

TEST(Lifecycle, AnUnknownConfigurationFieldIsRefusedNamingIt) {
  Daemon d;
  const int status = d.StartExpectingFailure(R"pb(
    queues { id: "repair" }
    no_such_field: 3
  )pb");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << Daemon::DescribeExit(status);
  EXPECT_THAT(d.Stderr(), HasSubstr("no_such_field"));
}

TEST(Lifecycle, AnInvalidQueueInTheConfigurationIsRefusedNamingTheField) {
  Daemon d;
  const int status = d.StartExpectingFailure(R"pb(
    queues {
      id: "repair"
      relaxation_steps {
        after { seconds: 30 }
        action: RELAX_ACTION_LOWER_LEVEL
        level: 7
      }
    }
  )pb");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << Daemon::DescribeExit(status);
  EXPECT_THAT(d.Stderr(), HasSubstr("relaxation_steps[0].level"));
}

TEST(Lifecycle, HealthCheckAnswersServing) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  int serving = -1;
  ASSERT_THAT(d.HealthCheck("", &serving), IsOk());
  EXPECT_EQ(serving, 1) << "grpc.health.v1 SERVING is 1";
  d.StopCleanly();
}

TEST(Lifecycle, SigtermEndsOpenStreamsWithOkAndExitsZero) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Desktop ann(d, "ann");
  EXPECT_EQ(ann.snapshot().status().agent_id(), "ann");
  EXPECT_EQ(ann.snapshot().status().presence(), v1::PRESENCE_OFFLINE);
  EXPECT_THAT(ann.snapshot().pending_offers(), IsEmpty());
  EXPECT_THAT(ann.snapshot().held_sessions(), IsEmpty());
  v1::StreamEventsRequest all;
  auto events = d.StreamEvents(all);
  v1::CreateSessionRequest create = NewSession("r-1", "wechat", "repair");
  const std::string id = d.Create(create);
  auto watch = d.WatchSession(id);
  ASSERT_TRUE(watch->Next().has_value());

  const int status = d.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Daemon::DescribeExit(status);

  std::optional<grpc::Status> offers_end = ann.stream().AwaitEnd();
  ASSERT_TRUE(offers_end.has_value()) << "StreamOffers did not end at shutdown";
  EXPECT_THAT(*offers_end, IsOk()) << "StreamOffers ends with OK when the daemon shuts down";
  std::optional<grpc::Status> events_end = events->AwaitEnd();
  ASSERT_TRUE(events_end.has_value()) << "StreamEvents did not end at shutdown";
  EXPECT_THAT(*events_end, IsOk()) << "StreamEvents ends with OK when the daemon shuts down";
  std::optional<grpc::Status> watch_end = watch->AwaitEnd();
  ASSERT_TRUE(watch_end.has_value()) << "WatchSession did not end at shutdown";
}

TEST(Lifecycle, SigintIsAGracefulShutdownToo) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Desktop bob(d, "bob");
  ASSERT_EQ(::kill(d.pid(), SIGINT), 0);
  std::optional<grpc::Status> end = bob.stream().AwaitEnd(kStopTimeout);
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, IsOk());
  const int status = d.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Daemon::DescribeExit(status);
}

TEST(Lifecycle, EachDaemonPicksItsOwnPort) {
  Daemon a;
  Daemon b;
  ASSERT_NO_FATAL_FAILURE(a.Start(kConfig));
  ASSERT_NO_FATAL_FAILURE(b.Start(kConfig));
  EXPECT_NE(a.address(), b.address());
  // Independent state.
  ASSERT_THAT(a.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  EXPECT_EQ(a.Agent("ann").status().presence(), v1::PRESENCE_AVAILABLE);
  EXPECT_EQ(b.Agent("ann").status().presence(), v1::PRESENCE_OFFLINE);
  a.StopCleanly();
  b.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
