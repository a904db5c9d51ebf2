// Sessions over the wire: transfers (to an agent, to a queue, a stale desktop refused),
// CreateSession idempotency on request_id, and the List calls with paging and filters.

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kTransferConfig[] = R"pb(
  queues { id: "billing" offer_timeout { seconds: 120 } }
  queues { id: "tech" offer_timeout { seconds: 120 } }
  agents { id: "ann" queue_ids: "billing" }
  agents { id: "ben" queue_ids: "billing" }
  agents { id: "tess" queue_ids: "tech" }
  agents { id: "tom" queue_ids: "tech" }
)pb";

// Accepts the pending direct offer of `session` to `agent`, failing the test otherwise.
void Accept(Daemon& d, const std::string& session, const std::string& agent) {
  v1::AcceptOfferRequest accept;
  accept.set_session_id(session);
  accept.set_agent_id(agent);
  EXPECT_THAT(d.AcceptOffer(accept), IsOk()) << session << " by " << agent;
}

TEST(Transfer, ToAnAgentThenToAnotherQueueAndAStaleDesktopIsRefused) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kTransferConfig));
  EventLog log(d);
  Desktop ann(d, "ann");
  Desktop tom(d, "tom");
  for (const char* a : {"ann", "ben", "tess", "tom"}) {
    ASSERT_THAT(d.SetPresence(a, v1::PRESENCE_AVAILABLE), IsOk());
  }
  v1::CreateSessionRequest call = NewSession("call-t", "voice", "billing");
  call.mutable_customer()->set_id("cust-1");
  const std::string s = d.Create(call);
  Accept(d, s, "ann");
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann", "PRESENCE_CHANGED agent=ben",
                                      "PRESENCE_CHANGED agent=tess",
                                      "PRESENCE_CHANGED agent=tom",
                                      "SESSION_CREATED session=" + s,
                                      "OFFER_CREATED session=" + s + " agent=ann",
                                      "OFFER_ACCEPTED session=" + s + " agent=ann",
                                      "SESSION_ASSIGNED session=" + s + " agent=ann"));
  const int64_t first_wait = Micros(d.Session(s).wait_start_time());

  // A stale desktop (tom never held it) cannot move it; nor can anyone name nothing.
  v1::TransferSessionRequest transfer;
  transfer.set_session_id(s);
  transfer.set_target_agent_id("ben");
  transfer.set_from_agent_id("tom");
  EXPECT_THAT(d.TransferSession(transfer), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  transfer.clear_target_agent_id();
  transfer.set_from_agent_id("ann");
  EXPECT_THAT(d.TransferSession(transfer), StatusIs(grpc::StatusCode::INVALID_ARGUMENT))
      << "neither a target queue nor a target agent";
  transfer.set_target_queue_id("nowhere");
  EXPECT_THAT(d.TransferSession(transfer), StatusIs(grpc::StatusCode::NOT_FOUND));
  transfer.clear_target_queue_id();
  transfer.set_target_agent_id("nobody");
  EXPECT_THAT(d.TransferSession(transfer), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(log.Sync(), IsEmpty());
  v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(now.agent_id(), "ann");

  // To an agent only: ben, in the same queue, alone first (stage PREFERRED).
  transfer.set_target_agent_id("ben");
  transfer.set_reason("billing dispute");
  v1::TransferSessionResponse moved;
  ASSERT_THAT(d.TransferSession(transfer, &moved), IsOk());
  EXPECT_EQ(moved.session().queue_id(), "billing");
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_TRANSFERRED session=" + s +
                                              " agent=ann to=billing",
                                          "OFFER_CREATED session=" + s + " agent=ben"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].detail(), "to ben: billing dispute");
  EXPECT_EQ(raw[0].session_state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(raw[1].reason().stage(), v1::ROUTING_STAGE_PREFERRED);
  std::optional<v1::StreamOffersResponse> gone =
      ann.AwaitUpdate(s, v1::EVENT_TYPE_SESSION_TRANSFERRED);
  ASSERT_TRUE(gone.has_value()) << "ann's desktop hears that the session moved away";
  EXPECT_EQ(d.Agent("ann").status().used_budget(), 0) << "freed at once";
  Accept(d, s, "ben");
  ASSERT_EQ(log.Sync().size(), 2u);

  // To another queue and agent: tech, tom first although tess has been idle longer.
  transfer.Clear();
  transfer.set_session_id(s);
  transfer.set_target_queue_id("tech");
  transfer.set_target_agent_id("tom");
  transfer.set_from_agent_id("ben");
  transfer.set_reason("router fault");
  ASSERT_THAT(d.TransferSession(transfer, &moved), IsOk());
  EXPECT_EQ(moved.session().queue_id(), "tech");
  raw.clear();
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_TRANSFERRED session=" + s +
                                              " agent=ben to=tech",
                                          "OFFER_CREATED session=" + s + " agent=tom"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].queue_id(), "billing") << "a transfer event names the queue left";
  EXPECT_EQ(raw[0].detail(), "to tom: router fault");
  EXPECT_EQ(raw[1].queue_id(), "tech");
  EXPECT_EQ(raw[1].reason().stage(), v1::ROUTING_STAGE_PREFERRED);
  std::optional<v1::Offer> offer = tom.AwaitOffer(s);
  ASSERT_TRUE(offer.has_value());
  now = d.Session(s);
  EXPECT_EQ(now.queue_id(), "tech");
  EXPECT_EQ(now.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(now.agent_id(), "tom");
  EXPECT_EQ(now.stage(), v1::ROUTING_STAGE_PREFERRED);
  EXPECT_GT(Micros(now.wait_start_time()), first_wait) << "the wait starts anew";

  // tom rejects: the preferred stage has no target left and tess gets it.
  v1::RejectOfferRequest reject;
  reject.set_session_id(s);
  reject.set_agent_id("tom");
  ASSERT_THAT(d.RejectOffer(reject), IsOk());
  raw.clear();
  EXPECT_THAT(log.Sync(&raw), ElementsAre("OFFER_REJECTED session=" + s + " agent=tom",
                                          "SESSION_STAGE_CHANGED session=" + s,
                                          "OFFER_CREATED session=" + s + " agent=tess"));
  ASSERT_EQ(raw.size(), 3u);
  EXPECT_EQ(raw[1].detail(), "preferred -> queue");
  EXPECT_EQ(raw[2].reason().stage(), v1::ROUTING_STAGE_QUEUE);
  Accept(d, s, "tess");
  EXPECT_THAT(log.Sync(), ElementsAre("OFFER_ACCEPTED session=" + s + " agent=tess",
                                      "SESSION_ASSIGNED session=" + s + " agent=tess"));

  // Transferring a session that is not ASSIGNED is refused.
  const std::string waiting = d.Create(NewSession("chat-w", "wechat", "billing"));
  Accept(d, waiting, "ann");
  v1::CompleteSessionRequest complete;
  complete.set_session_id(waiting);
  complete.set_agent_id("ann");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  transfer.Clear();
  transfer.set_session_id(waiting);
  transfer.set_target_queue_id("tech");
  ASSERT_EQ(log.Sync().size(), 5u);
  EXPECT_THAT(d.TransferSession(transfer), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "in WRAP_UP";
  EXPECT_THAT(log.Sync(), IsEmpty());

  EXPECT_EQ(d.AgentStats("ann").transferred_count(), 1);
  EXPECT_EQ(d.AgentStats("ben").transferred_count(), 1);
  EXPECT_EQ(d.AgentStats("tess").transferred_count(), 0);
  EXPECT_EQ(d.QueueStats("tech").entered_count(), 1) << "transferred in";

  // To a queue only: back to billing, where ann is busy (wrap-up) and ben is free.
  transfer.Clear();
  transfer.set_session_id(s);
  transfer.set_target_queue_id("billing");
  ASSERT_THAT(d.TransferSession(transfer, &moved), IsOk());
  raw.clear();
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_TRANSFERRED session=" + s +
                                              " agent=tess to=billing",
                                          "OFFER_CREATED session=" + s + " agent=ben"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[1].reason().stage(), v1::ROUTING_STAGE_QUEUE)
      << "no target agent: the customer's queue routing (no favourites here)";
  EXPECT_EQ(d.Session(s).queue_id(), "billing");
  EXPECT_EQ(d.AgentStats("tess").transferred_count(), 1);
  d.StopCleanly();
}

TEST(Idempotency, ARetryReturnsTheSameSessionAndADifferentRequestIsRefused) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kTransferConfig));
  EventLog log(d);
  v1::CreateSessionRequest req = NewSession("9b2f4c1e-retry", "wechat", "billing");
  req.mutable_customer()->set_id("cust-5");
  req.set_intent("invoice");
  v1::CreateSessionResponse first;
  ASSERT_THAT(d.CreateSession(req, &first), IsOk());
  EXPECT_FALSE(first.duplicate());
  EXPECT_EQ(first.session().request_id(), "9b2f4c1e-retry");
  const std::string s = first.session().id();
  ASSERT_FALSE(s.empty());
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + s));

  // The gateway timed out and retries: same session, duplicate, nothing new happens.
  v1::CreateSessionResponse retry;
  ASSERT_THAT(d.CreateSession(req, &retry), IsOk());
  EXPECT_TRUE(retry.duplicate());
  EXPECT_EQ(retry.session().id(), s);
  EXPECT_EQ(retry.session().request_id(), "9b2f4c1e-retry");
  EXPECT_THAT(log.Sync(), IsEmpty());

  // The same request id for a different request.
  v1::CreateSessionRequest other = req;
  other.set_channel_id("voice");
  EXPECT_THAT(d.CreateSession(other), StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  other = req;
  other.mutable_customer()->set_id("cust-6");
  EXPECT_THAT(d.CreateSession(other), StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  other = req;
  other.set_priority(7);
  EXPECT_THAT(d.CreateSession(other), StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_THAT(log.Sync(), IsEmpty());

  // Later, after the session moved on, a retry still answers with it, as it is now.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  Accept(d, s, "ann");
  ASSERT_THAT(d.CreateSession(req, &retry), IsOk());
  EXPECT_TRUE(retry.duplicate());
  EXPECT_EQ(retry.session().id(), s);
  EXPECT_EQ(retry.session().state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(retry.session().agent_id(), "ann");
  EXPECT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann",
                                      "OFFER_CREATED session=" + s + " agent=ann",
                                      "OFFER_ACCEPTED session=" + s + " agent=ann",
                                      "SESSION_ASSIGNED session=" + s + " agent=ann"));

  // Another request id is another session; no request id at all is invalid.
  v1::CreateSessionRequest second = req;
  second.set_request_id("9b2f4c1e-other");
  v1::CreateSessionResponse created;
  ASSERT_THAT(d.CreateSession(second, &created), IsOk());
  EXPECT_FALSE(created.duplicate());
  EXPECT_NE(created.session().id(), s);
  second.clear_request_id();
  EXPECT_THAT(d.CreateSession(second), InvalidArgumentNaming("request_id"));
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + created.session().id(),
                                      "OFFER_CREATED session=" + created.session().id() +
                                          " agent=ann"))
      << "ann has room for a second chat";

  v1::ListSessionsResponse all;
  ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &all), IsOk());
  EXPECT_EQ(all.sessions_size(), 2);
  d.StopCleanly();
}

// Five queues, five agents; small pages.
constexpr char kListConfig[] = R"pb(
  limits { default_page_size: 2 max_page_size: 3 }
  queues { id: "alpha" offer_timeout { seconds: 120 } }
  queues { id: "bravo" }
  queues { id: "charlie" }
  queues { id: "delta" }
  queues { id: "echo" }
  agents { id: "a.five" queue_ids: "alpha" }
  agents { id: "a.four" queue_ids: "alpha" queue_ids: "bravo" }
  agents { id: "a.one" queue_ids: "bravo" }
  agents { id: "a.three" queue_ids: "alpha" }
  agents { id: "a.two" queue_ids: "charlie" }
)pb";

std::vector<std::string> QueueIds(const v1::ListQueuesResponse& r) {
  std::vector<std::string> out;
  for (const v1::Queue& q : r.queues()) out.push_back(q.id());
  return out;
}
std::vector<std::string> AgentIds(const v1::ListAgentsResponse& r) {
  std::vector<std::string> out;
  for (const v1::Agent& a : r.agents()) out.push_back(a.id());
  return out;
}
std::vector<std::string> SessionIds(const v1::ListSessionsResponse& r) {
  std::vector<std::string> out;
  for (const v1::Session& s : r.sessions()) out.push_back(s.id());
  return out;
}

TEST(Lists, QueuesAgentsAndChannelsPageInIdOrder) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kListConfig));
  v1::ListQueuesRequest lq;
  lq.set_page_size(2);
  v1::ListQueuesResponse page;
  ASSERT_THAT(d.ListQueues(lq, &page), IsOk());
  EXPECT_THAT(QueueIds(page), ElementsAre("alpha", "bravo"));
  ASSERT_FALSE(page.next_page_token().empty());
  lq.set_page_token(page.next_page_token());
  ASSERT_THAT(d.ListQueues(lq, &page), IsOk());
  EXPECT_THAT(QueueIds(page), ElementsAre("charlie", "delta"));
  ASSERT_FALSE(page.next_page_token().empty());
  lq.set_page_token(page.next_page_token());
  ASSERT_THAT(d.ListQueues(lq, &page), IsOk());
  EXPECT_THAT(QueueIds(page), ElementsAre("echo"));
  EXPECT_TRUE(page.next_page_token().empty()) << "last page";
  // The alpha queue lists the agents serving it, in registration order.
  lq.Clear();
  ASSERT_THAT(d.ListQueues(lq, &page), IsOk());
  ASSERT_GE(page.queues_size(), 1);
  EXPECT_THAT(page.queues(0).agent_ids(), ElementsAre("a.five", "a.four", "a.three"));

  // page_size 0: the configured default (2); above the maximum: lowered to it (3).
  EXPECT_EQ(page.queues_size(), 2);
  lq.set_page_size(1000);
  ASSERT_THAT(d.ListQueues(lq, &page), IsOk());
  EXPECT_THAT(QueueIds(page), ElementsAre("alpha", "bravo", "charlie"));
  lq.set_page_token(page.next_page_token());
  ASSERT_THAT(d.ListQueues(lq, &page), IsOk());
  EXPECT_THAT(QueueIds(page), ElementsAre("delta", "echo"));
  EXPECT_TRUE(page.next_page_token().empty());
  lq.Clear();
  lq.set_page_size(-1);
  EXPECT_THAT(d.ListQueues(lq), InvalidArgumentNaming("page_size"));
  lq.Clear();
  lq.set_page_token("not-a-token");
  EXPECT_THAT(d.ListQueues(lq), StatusIs(grpc::StatusCode::INVALID_ARGUMENT));

  // Agents: sorted by id (not registration order), filtered by queue and presence.
  v1::ListAgentsRequest la;
  la.set_page_size(3);
  v1::ListAgentsResponse agents;
  ASSERT_THAT(d.ListAgents(la, &agents), IsOk());
  EXPECT_THAT(AgentIds(agents), ElementsAre("a.five", "a.four", "a.one"));
  const std::string token = agents.next_page_token();
  ASSERT_FALSE(token.empty());
  la.set_page_token(token);
  ASSERT_THAT(d.ListAgents(la, &agents), IsOk());
  EXPECT_THAT(AgentIds(agents), ElementsAre("a.three", "a.two"));
  EXPECT_TRUE(agents.next_page_token().empty());
  EXPECT_EQ(agents.agents(0).status().presence(), v1::PRESENCE_OFFLINE) << "with live status";
  la.set_queue_id("alpha");
  EXPECT_THAT(d.ListAgents(la), StatusIs(grpc::StatusCode::INVALID_ARGUMENT))
      << "a page token is valid only with the same other request fields";

  la.Clear();
  la.set_queue_id("alpha");
  ASSERT_THAT(d.ListAgents(la, &agents), IsOk());
  EXPECT_THAT(AgentIds(agents), ElementsAre("a.five", "a.four"));
  la.set_page_token(agents.next_page_token());
  ASSERT_THAT(d.ListAgents(la, &agents), IsOk());
  EXPECT_THAT(AgentIds(agents), ElementsAre("a.three"));
  EXPECT_TRUE(agents.next_page_token().empty());

  ASSERT_THAT(d.SetPresence("a.two", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("a.four", v1::PRESENCE_NOT_READY, "lunch"), IsOk());
  ASSERT_THAT(d.SetPresence("a.one", v1::PRESENCE_AVAILABLE), IsOk());
  la.Clear();
  la.set_page_size(3);
  la.add_presences(v1::PRESENCE_AVAILABLE);
  ASSERT_THAT(d.ListAgents(la, &agents), IsOk());
  EXPECT_THAT(AgentIds(agents), ElementsAre("a.one", "a.two"));
  EXPECT_TRUE(agents.next_page_token().empty());
  la.add_presences(v1::PRESENCE_NOT_READY);
  ASSERT_THAT(d.ListAgents(la, &agents), IsOk());
  EXPECT_THAT(AgentIds(agents), ElementsAre("a.four", "a.one", "a.two"));
  la.set_queue_id("bravo");
  ASSERT_THAT(d.ListAgents(la, &agents), IsOk());
  EXPECT_THAT(AgentIds(agents), ElementsAre("a.four", "a.one"));

  // Channels: the nine built-in ones, in pages of the default size.
  std::vector<std::string> channels;
  v1::ListChannelsRequest lc;
  int pages = 0;
  do {
    v1::ListChannelsResponse cp;
    ASSERT_THAT(d.ListChannels(lc, &cp), IsOk());
    EXPECT_LE(cp.channels_size(), 2);
    for (const v1::Channel& c : cp.channels()) channels.push_back(c.id());
    lc.set_page_token(cp.next_page_token());
    ASSERT_LT(++pages, 20) << "paging does not end";
  } while (!lc.page_token().empty());
  EXPECT_EQ(pages, 5);
  EXPECT_THAT(channels, ElementsAre("app", "email", "iot_alert", "onsite_visit", "robot_chat",
                                    "voice", "webchat", "wechat", "weibo"));
  d.StopCleanly();
}

TEST(Lists, SessionsPageAscendingAndFilter) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kListConfig));
  ASSERT_THAT(d.SetPresence("a.five", v1::PRESENCE_AVAILABLE), IsOk());
  // Seven sessions: single-digit ids, so ascending order is creation order either way.
  std::vector<std::string> ids;
  ids.push_back(d.Create(NewSession("s-1", "voice", "alpha")));   // offered to a.five
  ids.push_back(d.Create(NewSession("s-2", "wechat", "alpha")));  // waits (a.five full)
  ids.push_back(d.Create(NewSession("s-3", "wechat", "bravo")));
  ids.push_back(d.Create(NewSession("s-4", "voice", "bravo")));
  ids.push_back(d.Create(NewSession("s-5", "app", "charlie")));
  v1::CreateSessionRequest bot = NewSession("s-6", "robot_chat", "charlie");
  ids.push_back(d.Create(bot));
  ids.push_back(d.Create(NewSession("s-7", "wechat", "echo")));
  ASSERT_EQ(ids.size(), 7u);
  for (const std::string& id : ids) ASSERT_FALSE(id.empty());

  std::vector<std::string> listed;
  v1::ListSessionsRequest ls;
  ls.set_page_size(3);
  std::vector<int> sizes;
  do {
    v1::ListSessionsResponse page;
    ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
    sizes.push_back(page.sessions_size());
    for (const std::string& id : SessionIds(page)) listed.push_back(id);
    ls.set_page_token(page.next_page_token());
    ASSERT_LT(sizes.size(), 10u);
  } while (!ls.page_token().empty());
  EXPECT_THAT(sizes, ElementsAre(3, 3, 1));
  EXPECT_EQ(listed, ids) << "ascending by id = creation order here";

  v1::ListSessionsResponse page;
  ls.Clear();
  ls.set_queue_id("alpha");
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[0], ids[1]));
  ls.Clear();
  ls.add_states(v1::SESSION_STATE_QUEUED);
  ls.set_page_size(3);
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[1], ids[2], ids[3]));
  ls.set_page_token(page.next_page_token());
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[4], ids[6]));
  EXPECT_TRUE(page.next_page_token().empty());
  ls.Clear();
  ls.add_states(v1::SESSION_STATE_BOT);
  ls.add_states(v1::SESSION_STATE_OFFERED);
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[0], ids[5]));
  ls.Clear();
  ls.set_channel_id("wechat");
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[1], ids[2])) << "default page size 2";
  ls.set_page_token(page.next_page_token());
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[6]));
  ls.Clear();
  ls.set_page_size(10);
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[0], ids[1], ids[2]))
      << "page size 10 is lowered to the maximum 3";
  ls.Clear();
  ls.set_agent_id("a.five");
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[0]));
  ls.Clear();
  ls.set_channel_id("wechat");
  ls.set_queue_id("bravo");
  ASSERT_THAT(d.ListSessions(ls, &page), IsOk());
  EXPECT_THAT(SessionIds(page), ElementsAre(ids[2]));
  ls.Clear();
  ls.set_page_size(-5);
  EXPECT_THAT(d.ListSessions(ls), InvalidArgumentNaming("page_size"));
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
