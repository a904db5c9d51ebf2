// The daemon's own clock at work (short durations, every effect awaited on a stream):
// requirement relaxation, overflow to another queue and out of the router, a targeted stage
// running out; and configuration changed while sessions wait (they are routed again at once).

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kConfig[] = R"pb(
  queues {
    id: "repair"
    requirements { skill_id: "repair" min_level: 4 }
    relaxation_steps {
      after { nanos: 300000000 }
      action: RELAX_ACTION_LOWER_LEVEL
      skill_id: "repair"
      level: 2
    }
    offer_timeout { seconds: 120 }
  }
  queues { id: "backup" offer_timeout { seconds: 120 } }
  queues {
    id: "general"
    overflow_after { nanos: 300000000 }
    overflow_queue_id: "backup"
  }
  queues { id: "lonely" overflow_after { nanos: 300000000 } }
  queues {
    id: "favourites"
    preferred_timeout { nanos: 300000000 }
    last_agent_timeout { seconds: 0 }
    offer_timeout { seconds: 120 }
  }
  agents {
    id: "ann"
    skills { skill_id: "repair" level: 2 }
    queue_ids: "repair"
    queue_ids: "favourites"
  }
  agents { id: "bob" queue_ids: "backup" }
  agents { id: "cara" queue_ids: "favourites" }
)pb";

TEST(Timers, ARelaxationStepComesIntoForceAndTheSessionIsOffered) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  v1::Session created;
  const std::string s = d.Create(NewSession("relax-1", "wechat", "repair"), &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_QUEUED) << "repair 2 < 4";
  EXPECT_EQ(created.relaxation_step(), 0);

  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(4, &raw), ElementsAre("PRESENCE_CHANGED agent=ann",
                                             "SESSION_CREATED session=" + s,
                                             "SESSION_RELAXED session=" + s,
                                             "OFFER_CREATED session=" + s + " agent=ann"));
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(Micros(raw[2].event_time()) - Micros(raw[1].event_time()), 300'000)
      << "the step comes into force exactly 300 ms after queue entry (router time)";
  EXPECT_EQ(raw[2].detail(), "step 1: repair>=2");
  EXPECT_EQ(raw[3].reason().relaxation_step(), 1);
  v1::Session now = d.Session(s);
  EXPECT_EQ(now.relaxation_step(), 1);
  ASSERT_EQ(now.requirements_in_force_size(), 1);
  EXPECT_EQ(now.requirements_in_force(0).min_level(), 2);
  ASSERT_EQ(now.requirements_size(), 1);
  EXPECT_EQ(now.requirements(0).min_level(), 4) << "the configured requirement is kept";
  d.StopCleanly();
}

TEST(Timers, OverflowToAnotherQueueKeepsTheWait) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  Desktop bob(d, "bob");
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  v1::CreateSessionRequest call = NewSession("ovf-1", "voice", "general");
  call.mutable_customer()->add_preferred_agent_ids("bob");
  v1::Session created;
  const std::string s = d.Create(call, &created);
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(4, &raw), ElementsAre("PRESENCE_CHANGED agent=bob",
                                             "SESSION_CREATED session=" + s,
                                             "SESSION_OVERFLOWED session=" + s + " to=backup",
                                             "OFFER_CREATED session=" + s + " agent=bob"));
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(Micros(raw[2].event_time()) - Micros(raw[1].event_time()), 300'000);
  EXPECT_EQ(raw[2].queue_id(), "general");
  EXPECT_EQ(raw[2].session_state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(raw[3].queue_id(), "backup");
  EXPECT_EQ(raw[3].reason().stage(), v1::ROUTING_STAGE_QUEUE)
      << "after an overflow the session goes straight to the queue stage";
  ASSERT_TRUE(bob.AwaitOffer(s).has_value());
  v1::Session now = d.Session(s);
  EXPECT_EQ(now.queue_id(), "backup");
  EXPECT_EQ(Micros(now.wait_start_time()), Micros(created.wait_start_time()))
      << "the wait is kept across overflow";
  EXPECT_EQ(Micros(now.queue_enter_time()), Micros(raw[2].event_time()));
  EXPECT_EQ(d.QueueStats("general").overflowed_count(), 1);
  EXPECT_EQ(d.QueueStats("backup").entered_count(), 1);
  d.StopCleanly();
}

TEST(Timers, OverflowWithoutATargetEndsTheSessionAndItsWatch) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  const std::string s = d.Create(NewSession("ovf-2", "wechat", "lonely"));
  auto watch = d.WatchSession(s);
  std::optional<v1::WatchSessionResponse> first = watch->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->session().state(), v1::SESSION_STATE_QUEUED);
  std::optional<v1::WatchSessionResponse> m = watch->Next();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->event().type(), v1::EVENT_TYPE_SESSION_OVERFLOWED);
  EXPECT_EQ(m->event().session_state(), v1::SESSION_STATE_OVERFLOWED);
  EXPECT_TRUE(m->event().to_queue_id().empty());
  std::optional<grpc::Status> end = watch->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, IsOk());
  EXPECT_EQ(d.Session(s).state(), v1::SESSION_STATE_OVERFLOWED);
  EXPECT_EQ(d.QueueStats("lonely").overflowed_count(), 1);
  EXPECT_EQ(d.QueueStats("lonely").waiting(), 0);
  d.StopCleanly();
}

TEST(Timers, ThePreferredStageRunsOutThenAnyoneGetsIt) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  // The favourite, cara, is logged out.
  v1::CreateSessionRequest chat = NewSession("fav-1", "wechat", "favourites");
  chat.mutable_customer()->add_preferred_agent_ids("cara");
  v1::Session created;
  const std::string s = d.Create(chat, &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(created.stage(), v1::ROUTING_STAGE_PREFERRED);
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(4, &raw), ElementsAre("PRESENCE_CHANGED agent=ann",
                                             "SESSION_CREATED session=" + s,
                                             "SESSION_STAGE_CHANGED session=" + s,
                                             "OFFER_CREATED session=" + s + " agent=ann"));
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[2].detail(), "preferred -> queue");
  EXPECT_EQ(Micros(raw[2].event_time()) - Micros(raw[1].event_time()), 300'000);
  EXPECT_EQ(raw[3].reason().stage(), v1::ROUTING_STAGE_QUEUE);
  EXPECT_EQ(d.Session(s).stage(), v1::ROUTING_STAGE_QUEUE);
  d.StopCleanly();
}

TEST(Configuration, ChangesApplyAtOnceToWaitingSessions) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    queues { id: "repair" requirements { skill_id: "repair" min_level: 4 } }
    queues { id: "old" }
    agents {
      id: "ann"
      skills { skill_id: "repair" level: 2 }
      queue_ids: "repair"
      queue_ids: "old"
    }
  )pb"));
  EventLog log(d);
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("cfg-1", "wechat", "repair"));
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann",
                                      "SESSION_CREATED session=" + s));

  // The queue now asks for repair 2: ann is offered the waiting chat at once.
  v1::UpsertQueueRequest uq;
  uq.mutable_queue()->set_id("repair");
  auto* req = uq.mutable_queue()->add_requirements();
  req->set_skill_id("repair");
  req->set_min_level(2);
  *uq.mutable_queue()->mutable_offer_timeout() = Millis(120000);
  v1::UpsertQueueResponse uq_resp;
  ASSERT_THAT(d.UpsertQueue(uq, &uq_resp), IsOk());
  EXPECT_FALSE(uq_resp.created());
  EXPECT_EQ(uq_resp.queue().strategy(), "longest_idle") << "defaults filled in";
  EXPECT_EQ(Micros(uq_resp.queue().offer_timeout()), 120'000'000);
  // (The engine also reports the new requirements in force as SESSION_RELAXED "step 0: ..."; the
  // contract neither asks for nor forbids it.)
  std::vector<std::string> events = log.Sync();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front(), "QUEUE_UPSERTED");
  EXPECT_EQ(events.back(), "OFFER_CREATED session=" + s + " agent=ann");
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i], "SESSION_RELAXED session=" + s);
  }

  // A new agent starts offline; a new channel is created, then changed.
  v1::UpsertAgentRequest ua;
  ua.mutable_agent()->set_id("dave");
  ua.mutable_agent()->add_queue_ids("repair");
  v1::UpsertAgentResponse ua_resp;
  ASSERT_THAT(d.UpsertAgent(ua, &ua_resp), IsOk());
  EXPECT_TRUE(ua_resp.created());
  EXPECT_EQ(ua_resp.agent().status().presence(), v1::PRESENCE_OFFLINE);
  EXPECT_EQ(ua_resp.agent().budget(), 60);
  EXPECT_EQ(ua_resp.agent().tier(), v1::AGENT_TIER_ROOKIE);
  v1::UpsertChannelRequest uc;
  uc.mutable_channel()->set_id("video");
  uc.mutable_channel()->set_cost(60);
  uc.mutable_channel()->set_default_max(1);
  v1::UpsertChannelResponse uc_resp;
  ASSERT_THAT(d.UpsertChannel(uc, &uc_resp), IsOk());
  EXPECT_TRUE(uc_resp.created());
  EXPECT_EQ(uc_resp.channel().cost(), 60);
  uc.mutable_channel()->set_cost(40);
  ASSERT_THAT(d.UpsertChannel(uc, &uc_resp), IsOk());
  EXPECT_FALSE(uc_resp.created());
  EXPECT_EQ(uc_resp.channel().cost(), 40);
  EXPECT_EQ(uc_resp.channel().default_max(), 1);
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw),
              ElementsAre("AGENT_UPSERTED agent=dave", "CHANNEL_UPSERTED", "CHANNEL_UPSERTED"));
  ASSERT_EQ(raw.size(), 3u);
  EXPECT_EQ(raw[1].channel_id(), "video");

  // An empty queue can be deleted; its agents stop serving it.
  v1::DeleteQueueRequest dq;
  dq.set_queue_id("old");
  ASSERT_THAT(d.DeleteQueue(dq), IsOk());
  EXPECT_THAT(log.Sync(), ElementsAre("QUEUE_REMOVED"));
  EXPECT_THAT(d.Agent("ann").queue_ids(), ElementsAre("repair"));
  v1::GetQueueRequest gq;
  gq.set_queue_id("old");
  EXPECT_THAT(d.GetQueue(gq), StatusIs(grpc::StatusCode::NOT_FOUND));
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
