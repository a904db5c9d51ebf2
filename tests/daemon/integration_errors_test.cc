// Every error code of the contract provoked over the wire, each time followed by proof that
// the refused call changed nothing (no event, same state): INVALID_ARGUMENT naming the field,
// NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, RESOURCE_EXHAUSTED (a queue's channel
// limit, limits.max_waiting_sessions, limits.max_open_streams, limits.max_message_bytes).
// OUT_OF_RANGE is in integration_events_test.cc (StreamEvents after_sequence).

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
  queues {
    id: "repair"
    requirements { skill_id: "repair" min_level: 3 }
    relaxation_steps {
      after { seconds: 60 }
      action: RELAX_ACTION_LOWER_LEVEL
      skill_id: "repair"
      level: 2
    }
    offer_timeout { seconds: 120 }
    wrap_up_duration { seconds: 120 }
  }
  queues { id: "spare" }
  agents {
    id: "ann"
    skills { skill_id: "repair" level: 4 }
    queue_ids: "repair"
  }
)pb";

// The queue as GetQueue returns it, serialized (to compare before/after a refused call).
std::string QueueBytes(Daemon& d, const std::string& id) {
  v1::GetQueueRequest r;
  r.set_queue_id(id);
  v1::GetQueueResponse resp;
  EXPECT_THAT(d.GetQueue(r, &resp), IsOk());
  return resp.queue().SerializeAsString();
}
std::string AgentConfigBytes(Daemon& d, const std::string& id) {
  v1::Agent a = d.Agent(id);
  a.clear_status();  // live state (idle time...) is not configuration
  return a.SerializeAsString();
}

TEST(Errors, InvalidArgumentNamesTheFieldAndChangesNothing) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  const std::string repair_before = QueueBytes(d, "repair");
  const std::string ann_before = AgentConfigBytes(d, "ann");

  // A queue replacement with a relaxation level out of 1..5.
  v1::GetQueueRequest gq;
  gq.set_queue_id("repair");
  v1::GetQueueResponse current;
  ASSERT_THAT(d.GetQueue(gq, &current), IsOk());
  v1::UpsertQueueRequest uq;
  *uq.mutable_queue() = current.queue();
  uq.mutable_queue()->mutable_relaxation_steps(0)->set_level(7);
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.relaxation_steps[0].level"));
  // A second step that drops no skill.
  *uq.mutable_queue() = current.queue();
  auto* step = uq.mutable_queue()->add_relaxation_steps();
  *step->mutable_after() = Millis(90000);
  step->set_action(v1::RELAX_ACTION_DROP_SKILL);
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.relaxation_steps[1].skill_id"));
  // An unspecified action.
  step->set_action(v1::RELAX_ACTION_UNSPECIFIED);
  step->set_skill_id("repair");
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.relaxation_steps[1].action"));
  // A requirement level out of range, an unknown strategy, a bad id.
  *uq.mutable_queue() = current.queue();
  uq.mutable_queue()->mutable_requirements(0)->set_min_level(0);
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.requirements[0].min_level"));
  *uq.mutable_queue() = current.queue();
  uq.mutable_queue()->set_strategy("fastest_hands");
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.strategy"));
  *uq.mutable_queue() = current.queue();
  uq.mutable_queue()->set_grab_fanout(0);
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.grab_fanout"));
  uq.mutable_queue()->Clear();
  uq.mutable_queue()->set_id("bad id!");
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.id"));
  uq.mutable_queue()->set_id("repair");
  uq.mutable_queue()->set_overflow_queue_id("repair");
  *uq.mutable_queue()->mutable_overflow_after() = Millis(60000);
  EXPECT_THAT(d.UpsertQueue(uq), InvalidArgumentNaming("queue.overflow_queue_id"));

  // An agent with a tier out of the enum, a skill level out of range.
  v1::UpsertAgentRequest ua;
  *ua.mutable_agent() = d.Agent("ann");
  ua.mutable_agent()->clear_status();
  ua.mutable_agent()->set_tier(static_cast<v1::AgentTier>(42));
  EXPECT_THAT(d.UpsertAgent(ua), InvalidArgumentNaming("agent.tier"));
  ua.mutable_agent()->set_tier(v1::AGENT_TIER_CORE);
  ua.mutable_agent()->mutable_skills(0)->set_level(9);
  EXPECT_THAT(d.UpsertAgent(ua), InvalidArgumentNaming("agent.skills[0].level"));
  ua.mutable_agent()->mutable_skills(0)->set_level(4);
  ua.mutable_agent()->set_budget(-1);
  EXPECT_THAT(d.UpsertAgent(ua), InvalidArgumentNaming("agent.budget"));

  // Session ids are positive decimal numbers.
  v1::GetSessionRequest gs;
  for (const char* bad : {"abc", "", "0", "-4", "007", "1.5"}) {
    gs.set_session_id(bad);
    EXPECT_THAT(d.GetSession(gs), InvalidArgumentNaming("session_id")) << "\"" << bad << "\"";
  }
  v1::AcceptOfferRequest accept;
  accept.set_session_id("x");
  accept.set_agent_id("ann");
  EXPECT_THAT(d.AcceptOffer(accept), InvalidArgumentNaming("session_id"));
  accept.set_session_id("1");
  accept.set_offer_id("not-a-number");
  EXPECT_THAT(d.AcceptOffer(accept), InvalidArgumentNaming("offer_id"));

  // CreateSession: no request id, a priority out of 0..1000, a requirement level of 6.
  v1::CreateSessionRequest cs = NewSession("", "wechat", "repair");
  EXPECT_THAT(d.CreateSession(cs), InvalidArgumentNaming("request_id"));
  cs.set_request_id("bad-priority");
  cs.set_priority(1001);
  EXPECT_THAT(d.CreateSession(cs), InvalidArgumentNaming("priority"));
  cs.set_priority(0);
  cs.set_request_id("bad-requirement");
  auto* r = cs.add_requirements();
  r->set_skill_id("repair");
  r->set_min_level(6);
  EXPECT_THAT(d.CreateSession(cs), InvalidArgumentNaming("requirements[0].min_level"));

  // SetPresence: NOT_READY needs a reason, WRAP_UP a duration, UNSPECIFIED is refused.
  EXPECT_THAT(d.SetPresence("ann", v1::PRESENCE_NOT_READY), InvalidArgumentNaming("reason"));
  EXPECT_THAT(d.SetPresence("ann", v1::PRESENCE_WRAP_UP), InvalidArgumentNaming("duration"));
  EXPECT_THAT(d.SetPresence("ann", v1::PRESENCE_UNSPECIFIED), InvalidArgumentNaming("presence"));

  // Statistics windows beyond stats.max_window (24 h).
  v1::GetQueueStatsRequest qs;
  qs.set_queue_id("repair");
  *qs.mutable_window() = Millis(int64_t{48} * 3600 * 1000);
  EXPECT_THAT(d.GetQueueStats(qs), InvalidArgumentNaming("window"));
  v1::GetAgentStatsRequest as;
  as.set_agent_id("ann");
  *as.mutable_window() = Millis(-1000);
  EXPECT_THAT(d.GetAgentStats(as), InvalidArgumentNaming("window"));

  // Nothing changed.
  EXPECT_THAT(log.Sync(), IsEmpty());
  EXPECT_EQ(QueueBytes(d, "repair"), repair_before);
  EXPECT_EQ(AgentConfigBytes(d, "ann"), ann_before);
  EXPECT_EQ(d.Agent("ann").status().presence(), v1::PRESENCE_OFFLINE);
  v1::ListSessionsResponse sessions;
  ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &sessions), IsOk());
  EXPECT_EQ(sessions.sessions_size(), 0);
  // A refused request id was not remembered: it can be used now.
  cs.clear_requirements();
  v1::CreateSessionResponse created;
  ASSERT_THAT(d.CreateSession(cs, &created), IsOk());
  EXPECT_FALSE(created.duplicate());
  d.StopCleanly();
}

TEST(Errors, NotFound) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  v1::GetQueueRequest gq;
  gq.set_queue_id("nope");
  EXPECT_THAT(d.GetQueue(gq), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::DeleteQueueRequest dq;
  dq.set_queue_id("nope");
  EXPECT_THAT(d.DeleteQueue(dq), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::GetAgentRequest ga;
  ga.set_agent_id("nobody");
  EXPECT_THAT(d.GetAgent(ga), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::DeleteAgentRequest da;
  da.set_agent_id("nobody");
  EXPECT_THAT(d.DeleteAgent(da), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(d.SetPresence("nobody", v1::PRESENCE_AVAILABLE),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::GetSessionRequest gs;
  gs.set_session_id("424242");
  EXPECT_THAT(d.GetSession(gs), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::CancelSessionRequest cancel;
  cancel.set_session_id("424242");
  EXPECT_THAT(d.CancelSession(cancel), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::AcceptOfferRequest accept;
  accept.set_session_id("424242");
  accept.set_agent_id("ann");
  EXPECT_THAT(d.AcceptOffer(accept), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::GetQueueStatsRequest qs;
  qs.set_queue_id("nope");
  EXPECT_THAT(d.GetQueueStats(qs), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::GetAgentStatsRequest as;
  as.set_agent_id("nobody");
  EXPECT_THAT(d.GetAgentStats(as), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(d.CreateSession(NewSession("nf-1", "wechat", "nope")),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(d.CreateSession(NewSession("nf-2", "carrier-pigeon", "repair")),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  // An agent serving an unknown queue; a queue overflowing into an unknown queue, or limiting
  // an unknown channel.
  v1::UpsertAgentRequest ua;
  ua.mutable_agent()->set_id("new.hire");
  ua.mutable_agent()->add_queue_ids("nope");
  EXPECT_THAT(d.UpsertAgent(ua), StatusIs(grpc::StatusCode::NOT_FOUND));
  v1::UpsertQueueRequest uq;
  uq.mutable_queue()->set_id("new.queue");
  uq.mutable_queue()->set_overflow_queue_id("nope");
  *uq.mutable_queue()->mutable_overflow_after() = Millis(60000);
  EXPECT_THAT(d.UpsertQueue(uq), StatusIs(grpc::StatusCode::NOT_FOUND));
  uq.mutable_queue()->clear_overflow_queue_id();
  uq.mutable_queue()->clear_overflow_after();
  auto* limit = uq.mutable_queue()->add_channel_limits();
  limit->set_channel_id("carrier-pigeon");
  limit->set_max_waiting(3);
  EXPECT_THAT(d.UpsertQueue(uq), StatusIs(grpc::StatusCode::NOT_FOUND));
  // Streams of unknown things.
  auto offers = d.StreamOffers("nobody");
  std::optional<grpc::Status> end = offers->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::NOT_FOUND));
  auto watch = d.WatchSession("424242");
  end = watch->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::NOT_FOUND));

  EXPECT_THAT(log.Sync(), IsEmpty());
  v1::ListQueuesResponse queues;
  ASSERT_THAT(d.ListQueues(v1::ListQueuesRequest(), &queues), IsOk());
  EXPECT_EQ(queues.queues_size(), 2) << "new.queue was not created";
  ga.set_agent_id("new.hire");
  EXPECT_THAT(d.GetAgent(ga), StatusIs(grpc::StatusCode::NOT_FOUND));
  d.StopCleanly();
}

TEST(Errors, AlreadyExistsForAReusedRequestId) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  const std::string s = d.Create(NewSession("dup", "wechat", "repair"));
  ASSERT_EQ(log.Sync().size(), 1u);
  EXPECT_THAT(d.CreateSession(NewSession("dup", "wechat", "spare")),
              StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_THAT(log.Sync(), IsEmpty());
  EXPECT_EQ(d.Session(s).queue_id(), "repair");
  d.StopCleanly();
}

TEST(Errors, FailedPreconditionLeavesTheStateAsItWas) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("fp-1", "wechat", "repair"));
  std::vector<v1::Event> raw;
  ASSERT_THAT(log.Sync(&raw), ElementsAre("PRESENCE_CHANGED agent=ann",
                                          "SESSION_CREATED session=" + s,
                                          "OFFER_CREATED session=" + s + " agent=ann"));
  const std::string offer_id = std::to_string(raw[2].sequence());

  // Offered: accept with a wrong offer id, complete, end wrap-up, transfer, escalate.
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s);
  accept.set_agent_id("ann");
  accept.set_offer_id(std::to_string(raw[2].sequence() + 1000));
  EXPECT_THAT(d.AcceptOffer(accept), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s);
  complete.set_agent_id("ann");
  EXPECT_THAT(d.CompleteSession(complete), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "not ASSIGNED yet";
  v1::EndWrapUpRequest end_wrap;
  end_wrap.set_session_id(s);
  end_wrap.set_agent_id("ann");
  EXPECT_THAT(d.EndWrapUp(end_wrap), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::EscalateSessionRequest esc;
  esc.set_session_id(s);
  EXPECT_THAT(d.EscalateSession(esc), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::DeleteQueueRequest dq;
  dq.set_queue_id("repair");
  EXPECT_THAT(d.DeleteQueue(dq), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "an unfinished session belongs to it";
  EXPECT_THAT(log.Sync(), IsEmpty());
  v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(now.agent_id(), "ann");

  accept.set_offer_id(offer_id);
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  ASSERT_EQ(log.Sync().size(), 2u);

  // Assigned: accept again, cancel, delete the agent, lower her budget below what she holds,
  // complete by someone else.
  EXPECT_THAT(d.AcceptOffer(accept), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(s);
  EXPECT_THAT(d.CancelSession(cancel), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::DeleteAgentRequest da;
  da.set_agent_id("ann");
  EXPECT_THAT(d.DeleteAgent(da), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::UpsertAgentRequest ua;
  *ua.mutable_agent() = d.Agent("ann");
  ua.mutable_agent()->clear_status();
  ua.mutable_agent()->set_budget(10);
  EXPECT_THAT(d.UpsertAgent(ua), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  v1::UpsertAgentRequest other;
  other.mutable_agent()->set_id("bob");
  other.mutable_agent()->add_queue_ids("repair");
  ASSERT_THAT(d.UpsertAgent(other), IsOk());
  ASSERT_THAT(log.Sync(), ElementsAre("AGENT_UPSERTED agent=bob"));
  complete.set_agent_id("bob");
  EXPECT_THAT(d.CompleteSession(complete), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  end_wrap.set_agent_id("ann");
  EXPECT_THAT(d.EndWrapUp(end_wrap), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "not in wrap-up";
  EXPECT_THAT(log.Sync(), IsEmpty());
  now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(now.agent_id(), "ann");
  v1::Agent ann = d.Agent("ann");
  EXPECT_EQ(ann.budget(), 60);
  EXPECT_EQ(ann.status().used_budget(), 20);

  // In wrap-up with ann: bob may not end it.
  complete.set_agent_id("ann");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  end_wrap.set_agent_id("bob");
  EXPECT_THAT(d.EndWrapUp(end_wrap), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  ASSERT_THAT(log.Sync(), ElementsAre("SESSION_WRAP_UP session=" + s + " agent=ann"));
  EXPECT_EQ(d.Session(s).state(), v1::SESSION_STATE_WRAP_UP);

  // A queue that another overflows into cannot be deleted.
  v1::UpsertQueueRequest uq;
  uq.mutable_queue()->set_id("front");
  uq.mutable_queue()->set_overflow_queue_id("spare");
  *uq.mutable_queue()->mutable_overflow_after() = Millis(60000);
  ASSERT_THAT(d.UpsertQueue(uq), IsOk());
  ASSERT_THAT(log.Sync(), ElementsAre("QUEUE_UPSERTED"));
  dq.set_queue_id("spare");
  EXPECT_THAT(d.DeleteQueue(dq), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(log.Sync(), IsEmpty());
  v1::GetQueueRequest gq;
  gq.set_queue_id("spare");
  EXPECT_THAT(d.GetQueue(gq), IsOk());
  d.StopCleanly();
}

TEST(ResourceExhausted, AQueueChannelLimit) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    queues { id: "support" channel_limits { channel_id: "voice" max_waiting: 2 } }
    queues { id: "front" offer_timeout { seconds: 120 } }
    agents { id: "ann" queue_ids: "front" }
  )pb"));
  EventLog log(d);
  // Before the queue fills: a call with the robot, and a call answered at the front desk.
  v1::CreateSessionRequest bot = NewSession("bot-call", "voice", "support");
  bot.set_start_in_bot(true);
  const std::string s_bot = d.Create(bot);
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s_front = d.Create(NewSession("front-call", "voice", "front"));
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s_front);
  accept.set_agent_id("ann");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  const std::string c1 = d.Create(NewSession("call-1", "voice", "support"));
  const std::string c2 = d.Create(NewSession("call-2", "voice", "support"));
  ASSERT_EQ(log.Sync().size(), 8u);

  // Full for calls: create, escalate and transfer into it are refused.
  EXPECT_THAT(d.CreateSession(NewSession("call-3", "voice", "support")),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("support")));
  v1::EscalateSessionRequest esc;
  esc.set_session_id(s_bot);
  esc.set_summary("wants a human");
  EXPECT_THAT(d.EscalateSession(esc), StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  v1::TransferSessionRequest transfer;
  transfer.set_session_id(s_front);
  transfer.set_target_queue_id("support");
  EXPECT_THAT(d.TransferSession(transfer), StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(log.Sync(), IsEmpty());
  EXPECT_EQ(d.Session(s_bot).state(), v1::SESSION_STATE_BOT);
  EXPECT_EQ(d.Session(s_front).state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(d.Session(s_front).agent_id(), "ann");
  EXPECT_EQ(d.QueueStats("support").waiting(), 2);

  // A chat is still let in; after a call leaves, a call is too (the refused request id was
  // not remembered).
  const std::string chat = d.Create(NewSession("chat-1", "wechat", "support"));
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(c1);
  ASSERT_THAT(d.CancelSession(cancel), IsOk());
  v1::CreateSessionResponse created;
  ASSERT_THAT(d.CreateSession(NewSession("call-3", "voice", "support"), &created), IsOk());
  EXPECT_FALSE(created.duplicate());
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + chat,
                                      "SESSION_ABANDONED session=" + c1,
                                      "SESSION_CREATED session=" + created.session().id()));
  EXPECT_EQ(d.QueueStats("support").waiting(), 3);
  (void)c2;
  d.StopCleanly();
}

TEST(ResourceExhausted, MaxWaitingSessions) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    limits { max_waiting_sessions: 3 }
    queues { id: "support" offer_timeout { seconds: 120 } }
    agents { id: "ann" queue_ids: "support" }
  )pb"));
  EventLog log(d);
  v1::CreateSessionRequest bot = NewSession("w-1", "robot_chat", "support");
  const std::string s1 = d.Create(bot);  // BOT counts
  const std::string s2 = d.Create(NewSession("w-2", "wechat", "support"));
  const std::string s3 = d.Create(NewSession("w-3", "voice", "support"));
  ASSERT_EQ(log.Sync().size(), 3u);
  EXPECT_THAT(d.CreateSession(NewSession("w-4", "app", "support")),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(log.Sync(), IsEmpty());
  v1::ListSessionsResponse all;
  ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &all), IsOk());
  EXPECT_EQ(all.sessions_size(), 3);

  // An OFFERED session still counts; an ASSIGNED one does not.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann",
                                      "OFFER_CREATED session=" + s2 + " agent=ann"));
  EXPECT_THAT(d.CreateSession(NewSession("w-4", "app", "support")),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s2);
  accept.set_agent_id("ann");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  v1::CreateSessionResponse created;
  ASSERT_THAT(d.CreateSession(NewSession("w-4", "app", "support"), &created), IsOk());
  EXPECT_FALSE(created.duplicate());
  (void)s1;
  (void)s3;
  d.StopCleanly();
}

TEST(ResourceExhausted, MaxOpenStreams) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    limits { max_open_streams: 3 }
    queues { id: "support" }
    agents { id: "ann" queue_ids: "support" }
  )pb"));
  const std::string s = d.Create(NewSession("st-1", "wechat", "support"));
  // Three streams, one of each kind, each known to be open by its first message.
  EventLog log(d);
  Desktop ann(d, "ann");
  auto watch = d.WatchSession(s);
  ASSERT_TRUE(watch->Next().has_value());

  // A fourth of any kind is refused.
  auto events = d.StreamEvents(v1::StreamEventsRequest());
  std::optional<grpc::Status> end = events->AwaitEnd();
  ASSERT_TRUE(end.has_value()) << "a fourth stream must be refused";
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  auto offers = d.StreamOffers("ann");
  end = offers->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  auto watch2 = d.WatchSession(s);
  end = watch2->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // Unary calls are not streams.
  EXPECT_EQ(d.Session(s).state(), v1::SESSION_STATE_QUEUED);
  // The open streams still work.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_TRUE(ann.AwaitOffer(s).has_value());
  ASSERT_TRUE(AwaitEvent(*watch, v1::EVENT_TYPE_OFFER_CREATED, s).has_value());
  EXPECT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann",
                                      "OFFER_CREATED session=" + s + " agent=ann"));

  // When one closes, a new one may open (the daemon notices the cancellation on its own
  // time: each attempt is awaited, none slept for).
  watch.reset();
  bool opened = false;
  for (int attempt = 0; attempt < 200 && !opened; ++attempt) {
    auto again = d.WatchSession(s);
    std::optional<v1::WatchSessionResponse> first = again->Next();
    opened = first.has_value() && first->has_session();
    if (!opened) {
      std::optional<grpc::Status> st = again->AwaitEnd();
      ASSERT_TRUE(st.has_value());
      ASSERT_THAT(*st, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
    }
  }
  EXPECT_TRUE(opened) << "a closed stream's slot is given back";
  d.StopCleanly();
}

TEST(ResourceExhausted, MaxMessageBytes) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    limits { max_message_bytes: 1024 }
    queues { id: "support" }
  )pb"));
  EventLog log(d);
  v1::CreateSessionRequest big = NewSession("big-1", "wechat", "support");
  auto* attr = big.add_attributes();
  attr->set_key("transcript");
  attr->set_value(std::string(2000, 'y'));  // valid (up to 4096) but over the message limit
  ASSERT_GT(big.ByteSizeLong(), 1024u);
  EXPECT_THAT(d.CreateSession(big), StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(log.Sync(), IsEmpty());
  v1::ListSessionsResponse all;
  ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &all), IsOk());
  EXPECT_EQ(all.sessions_size(), 0);
  // Under the limit, the same request id works (the refused one was never seen).
  attr->set_value(std::string(200, 'y'));
  v1::CreateSessionResponse created;
  ASSERT_THAT(d.CreateSession(big, &created), IsOk());
  EXPECT_FALSE(created.duplicate());
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
