// Offers over the wire: direct offers rejected (to the next engineer, or back as a declined
// fallback), expiring (OFFER_EXPIRED, the missed-offers rule), rescinded when the engineer
// leaves; grab mode with fan-out, claims, the best ranked claimant winning and the others'
// offers rescinded; stale answers refused by offer_id.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kDirectConfig[] = R"pb(
  engine { missed_offers_limit: 2 }
  queues { id: "support" offer_timeout { seconds: 120 } }
  queues { id: "fast" offer_timeout { nanos: 300000000 } }
  agents { id: "ann" queue_ids: "support" queue_ids: "fast" }
  agents { id: "bob" queue_ids: "support" queue_ids: "fast" }
)pb";

TEST(Offers, ARejectedOfferGoesToTheNextEngineer) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDirectConfig));
  EventLog log(d);
  Desktop ann(d, "ann");
  Desktop bob(d, "bob");
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("call-1", "voice", "support"));
  std::vector<v1::Event> raw;
  ASSERT_THAT(log.Sync(&raw),
              ElementsAre("PRESENCE_CHANGED agent=ann", "PRESENCE_CHANGED agent=bob",
                          "SESSION_CREATED session=" + s,
                          "OFFER_CREATED session=" + s + " agent=ann"));
  EXPECT_EQ(raw[3].reason().decided_by(), v1::DECIDER_PRIMARY_KEY) << "ann idle longer";
  EXPECT_EQ(raw[3].reason().runner_up_agent_id(), "bob");
  std::optional<v1::Offer> offer = ann.AwaitOffer(s);
  ASSERT_TRUE(offer.has_value());
  const int64_t wait_start = Micros(d.Session(s).wait_start_time());

  // Stale or misdirected answers are refused and change nothing.
  v1::RejectOfferRequest reject;
  reject.set_session_id(s);
  reject.set_agent_id("ann");
  reject.set_offer_id("999999");
  EXPECT_THAT(d.RejectOffer(reject), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  reject.set_agent_id("bob");
  reject.clear_offer_id();
  EXPECT_THAT(d.RejectOffer(reject), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "bob has no offer of the session";
  v1::ClaimOfferRequest claim;
  claim.set_session_id(s);
  claim.set_agent_id("ann");
  EXPECT_THAT(d.ClaimOffer(claim), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "a direct offer cannot be claimed";
  EXPECT_THAT(log.Sync(), IsEmpty());
  EXPECT_EQ(d.Session(s).agent_id(), "ann");

  // ann rejects: bob is offered the call at once, the wait still counts from creation.
  reject.set_agent_id("ann");
  reject.set_offer_id(offer->offer_id());
  reject.set_reason("not my area");
  ASSERT_THAT(d.RejectOffer(reject), IsOk());
  raw.clear();
  EXPECT_THAT(log.Sync(&raw), ElementsAre("OFFER_REJECTED session=" + s + " agent=ann",
                                          "OFFER_CREATED session=" + s + " agent=bob"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].detail(), "not my area");
  EXPECT_EQ(raw[0].session_state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(raw[1].reason().decided_by(), v1::DECIDER_ONLY_CANDIDATE);
  std::optional<v1::StreamOffersResponse> end = ann.AwaitOfferEnd(s);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_REJECTED);
  EXPECT_EQ(end->offer_end().offer_id(), offer->offer_id());
  std::optional<v1::Offer> bob_offer = bob.AwaitOffer(s);
  ASSERT_TRUE(bob_offer.has_value());
  EXPECT_NE(bob_offer->offer_id(), offer->offer_id());

  v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(now.agent_id(), "bob");
  EXPECT_THAT(now.declined_agent_ids(), ElementsAre("ann"));
  EXPECT_EQ(Micros(now.wait_start_time()), wait_start);
  EXPECT_EQ(d.Agent("ann").status().used_budget(), 0) << "the reject freed ann";
  EXPECT_EQ(d.Agent("bob").status().used_budget(), 60);

  // ann can no longer accept; bob cannot accept with ann's (old) offer id.
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s);
  accept.set_agent_id("ann");
  EXPECT_THAT(d.AcceptOffer(accept), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  accept.set_agent_id("bob");
  accept.set_offer_id(offer->offer_id());
  EXPECT_THAT(d.AcceptOffer(accept), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(log.Sync(), IsEmpty());
  accept.set_offer_id(bob_offer->offer_id());
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  EXPECT_THAT(log.Sync(), ElementsAre("OFFER_ACCEPTED session=" + s + " agent=bob",
                                      "SESSION_ASSIGNED session=" + s + " agent=bob"));

  v1::AgentStats as = d.AgentStats("ann");
  EXPECT_EQ(as.offers_count(), 1);
  EXPECT_EQ(as.rejected_count(), 1);
  EXPECT_EQ(as.accepted_count(), 0);
  EXPECT_EQ(as.assigned_count(), 0);
  v1::AgentStats bs = d.AgentStats("bob");
  EXPECT_EQ(bs.offers_count(), 1);
  EXPECT_EQ(bs.accepted_count(), 1);
  EXPECT_EQ(bs.assigned_count(), 1);
  d.StopCleanly();
}

TEST(Offers, RejectedByTheOnlyEngineerComesBackAsADeclinedFallback) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDirectConfig));
  EventLog log(d);
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("chat-1", "wechat", "support"));
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann",
                                      "SESSION_CREATED session=" + s,
                                      "OFFER_CREATED session=" + s + " agent=ann"));
  v1::RejectOfferRequest reject;
  reject.set_session_id(s);
  reject.set_agent_id("ann");
  ASSERT_THAT(d.RejectOffer(reject), IsOk());
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("OFFER_REJECTED session=" + s + " agent=ann",
                                          "OFFER_CREATED session=" + s + " agent=ann"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[1].reason().decided_by(), v1::DECIDER_DECLINED_FALLBACK);
  d.StopCleanly();
}

TEST(Offers, AnExpiredOfferGoesToTheNextEngineer) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDirectConfig));
  EventLog log(d);
  Desktop ann(d, "ann");
  Desktop bob(d, "bob");
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("chat-x", "wechat", "fast"));
  std::optional<v1::Offer> offer = ann.AwaitOffer(s);
  ASSERT_TRUE(offer.has_value());

  // Nobody answers: 300 ms later the offer expires and bob is offered the chat.
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(6, &raw),
              ElementsAre("PRESENCE_CHANGED agent=ann", "PRESENCE_CHANGED agent=bob",
                          "SESSION_CREATED session=" + s,
                          "OFFER_CREATED session=" + s + " agent=ann",
                          "OFFER_EXPIRED session=" + s + " agent=ann",
                          "OFFER_CREATED session=" + s + " agent=bob"));
  ASSERT_EQ(raw.size(), 6u);
  EXPECT_EQ(Micros(raw[3].deadline_time()) - Micros(raw[3].event_time()), 300'000);
  EXPECT_EQ(Micros(raw[4].event_time()), Micros(raw[3].deadline_time()))
      << "the expiry happens at the offer's deadline (router time)";
  EXPECT_EQ(raw[4].session_state(), v1::SESSION_STATE_QUEUED);

  std::optional<v1::StreamOffersResponse> end = ann.AwaitOfferEnd(s);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_EXPIRED);
  EXPECT_EQ(end->event().type(), v1::EVENT_TYPE_OFFER_EXPIRED);
  std::optional<v1::Offer> bob_offer = bob.AwaitOffer(s);
  ASSERT_TRUE(bob_offer.has_value());
  EXPECT_EQ(bob_offer->offer_id(), std::to_string(raw[5].sequence()));

  // Stop the clock on this session before bob's offer runs out too.
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(s);
  ASSERT_THAT(d.CancelSession(cancel), IsOk());
  EXPECT_EQ(d.Agent("ann").status().missed_offers_in_row(), 1);
  v1::AgentStats as = d.AgentStats("ann");
  EXPECT_EQ(as.offers_count(), 1);
  EXPECT_EQ(as.expired_count(), 1);
  d.StopCleanly();
}

TEST(Offers, MissedOffersPutTheEngineerNotReady) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDirectConfig));  // missed_offers_limit: 2
  EventLog log(d);
  Desktop ann(d, "ann");
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("chat-m", "wechat", "fast"));

  // ann alone lets it expire twice (it comes straight back to her as a declined fallback):
  // the second miss in a row puts her NOT_READY with reason "missed-offers".
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(7, &raw),
              ElementsAre("PRESENCE_CHANGED agent=ann", "SESSION_CREATED session=" + s,
                          "OFFER_CREATED session=" + s + " agent=ann",
                          "OFFER_EXPIRED session=" + s + " agent=ann",
                          "OFFER_CREATED session=" + s + " agent=ann",
                          "OFFER_EXPIRED session=" + s + " agent=ann",
                          "PRESENCE_CHANGED agent=ann"));
  ASSERT_EQ(raw.size(), 7u);
  EXPECT_EQ(raw[4].reason().decided_by(), v1::DECIDER_DECLINED_FALLBACK);
  EXPECT_EQ(raw[6].presence(), v1::PRESENCE_NOT_READY);
  EXPECT_EQ(raw[6].detail(), "missed-offers");
  EXPECT_THAT(log.Sync(), IsEmpty()) << "the call waits for someone available";

  std::optional<v1::AgentStatus> st = ann.AwaitStatus(v1::PRESENCE_NOT_READY);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->presence_reason(), "missed-offers");
  v1::Agent a = d.Agent("ann");
  EXPECT_EQ(a.status().presence(), v1::PRESENCE_NOT_READY);
  EXPECT_EQ(a.status().presence_reason(), "missed-offers");
  EXPECT_EQ(a.status().missed_offers_in_row(), 2);
  EXPECT_EQ(a.status().used_budget(), 0);
  v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_THAT(now.declined_agent_ids(), ElementsAre("ann"));
  v1::AgentStats as = d.AgentStats("ann");
  EXPECT_EQ(as.offers_count(), 2);
  EXPECT_EQ(as.expired_count(), 2);
  v1::QueueStats qs = d.QueueStats("fast");
  EXPECT_EQ(qs.waiting(), 1);
  EXPECT_EQ(qs.agents_not_ready(), 1);
  EXPECT_EQ(qs.agents_offline(), 1);
  d.StopCleanly();
}

TEST(Offers, GoingNotReadyRescindsThePendingOffer) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDirectConfig));
  EventLog log(d);
  Desktop ann(d, "ann");
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("call-nr", "voice", "support"));
  ASSERT_TRUE(ann.AwaitOffer(s).has_value());
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=ann", "PRESENCE_CHANGED agent=bob",
                                      "SESSION_CREATED session=" + s,
                                      "OFFER_CREATED session=" + s + " agent=ann"));
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_NOT_READY, "break"), IsOk());
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("PRESENCE_CHANGED agent=ann",
                                          "OFFER_RESCINDED session=" + s + " agent=ann",
                                          "OFFER_CREATED session=" + s + " agent=bob"));
  ASSERT_EQ(raw.size(), 3u);
  EXPECT_EQ(raw[0].detail(), "break");
  std::optional<v1::StreamOffersResponse> end = ann.AwaitOfferEnd(s);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_RESCINDED);
  EXPECT_THAT(d.Session(s).declined_agent_ids(), IsEmpty())
      << "a rescinded offer is not a decline";
  v1::Agent a = d.Agent("ann");
  EXPECT_EQ(a.status().presence(), v1::PRESENCE_NOT_READY);
  EXPECT_EQ(a.status().presence_reason(), "break");
  d.StopCleanly();
}

TEST(Offers, PresenceWrapUpEndsByItself) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDirectConfig));
  EventLog log(d);
  Desktop ann(d, "ann");
  v1::SetPresenceRequest wrap;
  wrap.set_agent_id("ann");
  wrap.set_presence(v1::PRESENCE_WRAP_UP);
  *wrap.mutable_duration() = Millis(300);
  v1::SetPresenceResponse resp;
  ASSERT_THAT(d.SetPresence(wrap, &resp), IsOk());
  EXPECT_EQ(resp.status().presence(), v1::PRESENCE_WRAP_UP);
  ASSERT_TRUE(ann.AwaitStatus(v1::PRESENCE_WRAP_UP).has_value());
  // 300 ms later she is AVAILABLE again, by herself; the desktop hears it.
  std::optional<v1::AgentStatus> st = ann.AwaitStatus(v1::PRESENCE_AVAILABLE);
  ASSERT_TRUE(st.has_value());
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(2, &raw),
              ElementsAre("PRESENCE_CHANGED agent=ann", "PRESENCE_CHANGED agent=ann"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].presence(), v1::PRESENCE_WRAP_UP);
  EXPECT_EQ(raw[1].presence(), v1::PRESENCE_AVAILABLE);
  EXPECT_EQ(Micros(raw[1].event_time()) - Micros(raw[0].event_time()), 300'000);
  EXPECT_EQ(d.Agent("ann").status().presence(), v1::PRESENCE_AVAILABLE);
  d.StopCleanly();
}

// Grab mode, as in docs/ROUTING.md "Offers": ann rookie 90, bob elite 70, cara elite 50,
// dan master 99, available in that order.
constexpr char kGrabConfig[] = R"pb(
  queues {
    id: "field"
    delivery_mode: DELIVERY_MODE_GRAB
    grab_fanout: 3
    grab_window { seconds: 2 }
  }
  queues {
    id: "field.quick"
    delivery_mode: DELIVERY_MODE_GRAB
    grab_fanout: 2
    grab_window { nanos: 300000000 }
  }
  queues {
    id: "field.pair"
    delivery_mode: DELIVERY_MODE_GRAB
    grab_fanout: 2
    grab_window { seconds: 120 }
  }
  agents { id: "ann" tier: AGENT_TIER_ROOKIE score: 90 queue_ids: "field" }
  agents {
    id: "bob"
    tier: AGENT_TIER_ELITE
    score: 70
    queue_ids: "field"
    queue_ids: "field.pair"
    queue_ids: "field.quick"
  }
  agents {
    id: "cara"
    tier: AGENT_TIER_ELITE
    score: 50
    queue_ids: "field"
    queue_ids: "field.pair"
    queue_ids: "field.quick"
  }
  agents { id: "dan" tier: AGENT_TIER_MASTER score: 99 queue_ids: "field" }
)pb";

TEST(Grab, TheBestRankedClaimantWinsWhenTheWindowCloses) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kGrabConfig));
  EventLog log(d);
  Desktop ann(d, "ann");
  Desktop bob(d, "bob");
  Desktop cara(d, "cara");
  Desktop dan(d, "dan");
  for (const char* a : {"ann", "bob", "cara", "dan"}) {
    ASSERT_THAT(d.SetPresence(a, v1::PRESENCE_AVAILABLE), IsOk());
  }
  ASSERT_EQ(log.Sync().size(), 4u);

  const std::string s = d.Create(NewSession("visit-1", "onsite_visit", "field"));
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_CREATED session=" + s,
                                          "OFFER_CREATED session=" + s + " agent=ann",
                                          "OFFER_CREATED session=" + s + " agent=bob",
                                          "OFFER_CREATED session=" + s + " agent=cara"))
      << "shown to the three longest idle; dan does not see it";
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[1].detail(), "grab 1/3");
  EXPECT_EQ(raw[3].detail(), "grab 3/3");
  const int64_t window_end = Micros(raw[1].deadline_time());
  EXPECT_EQ(window_end - Micros(raw[1].event_time()), 2'000'000);

  int position = 0;
  std::string ann_offer_id;
  for (Desktop* desk : {&ann, &bob, &cara}) {
    std::optional<v1::Offer> offer = desk->AwaitOffer(s);
    ASSERT_TRUE(offer.has_value());
    ++position;
    EXPECT_EQ(offer->delivery_mode(), v1::DELIVERY_MODE_GRAB);
    EXPECT_EQ(offer->grab_position(), position);
    EXPECT_EQ(offer->grab_count(), 3);
    EXPECT_EQ(Micros(offer->deadline_time()), window_end);
    if (position == 1) ann_offer_id = offer->offer_id();
  }
  v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_THAT(now.offered_agent_ids(), ElementsAre("ann", "bob", "cara"));
  EXPECT_EQ(d.Agent("ann").status().used_budget(), 0) << "grab mode reserves nothing";
  EXPECT_THAT(d.Agent("ann").status().session_ids(), IsEmpty()) << "a showing is not held";
  v1::QueueStats field = d.QueueStats("field");
  EXPECT_EQ(field.offered(), 1);
  EXPECT_EQ(field.agents_busy(), 0) << "being shown a session does not make an agent busy";
  EXPECT_EQ(field.agents_available(), 4);

  // ann (rookie, 90) claims first, then cara (elite, 50); bob stays silent.
  v1::ClaimOfferRequest claim;
  claim.set_session_id(s);
  claim.set_agent_id("ann");
  claim.set_offer_id(ann_offer_id);
  v1::ClaimOfferResponse claimed;
  ASSERT_THAT(d.ClaimOffer(claim, &claimed), IsOk());
  EXPECT_EQ(claimed.session().state(), v1::SESSION_STATE_OFFERED) << "the window is open";
  EXPECT_THAT(d.ClaimOffer(claim), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "already claimed";
  claim.clear_offer_id();
  claim.set_agent_id("dan");
  EXPECT_THAT(d.ClaimOffer(claim), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "dan was not shown the session";
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s);
  accept.set_agent_id("bob");
  EXPECT_THAT(d.AcceptOffer(accept), StatusIs(grpc::StatusCode::FAILED_PRECONDITION))
      << "a grab offer is claimed, not accepted";
  claim.set_agent_id("cara");
  ASSERT_THAT(d.ClaimOffer(claim, &claimed), IsOk());
  EXPECT_EQ(claimed.session().state(), v1::SESSION_STATE_OFFERED);
  EXPECT_THAT(log.Sync(), ElementsAre("OFFER_CLAIMED session=" + s + " agent=ann",
                                      "OFFER_CLAIMED session=" + s + " agent=cara"));

  // The window closes: cara wins on tier although ann scores higher and claimed first.
  raw.clear();
  EXPECT_THAT(log.Take(3, &raw), ElementsAre("OFFER_RESCINDED session=" + s + " agent=bob",
                                             "OFFER_RESCINDED session=" + s + " agent=ann",
                                             "SESSION_ASSIGNED session=" + s + " agent=cara"));
  ASSERT_EQ(raw.size(), 3u);
  EXPECT_EQ(Micros(raw[2].event_time()), window_end);
  EXPECT_EQ(raw[0].detail(), "grab window closed");
  EXPECT_EQ(raw[1].detail(), "another claimant won");
  const v1::RoutingReason& why = raw[2].reason();
  EXPECT_EQ(why.strategy(), "grab");
  EXPECT_EQ(why.decided_by(), v1::DECIDER_GRAB_RANK);
  EXPECT_EQ(why.winner().primary(), 3);     // elite
  EXPECT_EQ(why.winner().secondary(), 50);  // score
  EXPECT_EQ(why.winner().order(), 2u);      // second claim
  EXPECT_EQ(why.runner_up_agent_id(), "ann");
  EXPECT_EQ(why.runner_up().primary(), 1);
  EXPECT_EQ(why.runner_up().secondary(), 90);
  EXPECT_EQ(why.runner_up().order(), 1u);

  for (Desktop* loser : {&bob, &ann}) {
    std::optional<v1::StreamOffersResponse> end = loser->AwaitOfferEnd(s);
    ASSERT_TRUE(end.has_value());
    EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_RESCINDED);
  }
  std::optional<v1::StreamOffersResponse> won =
      cara.AwaitUpdate(s, v1::EVENT_TYPE_SESSION_ASSIGNED);
  ASSERT_TRUE(won.has_value());
  EXPECT_EQ(won->session_update().session().state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(won->session_update().session().agent_id(), "cara");

  now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(now.agent_id(), "cara");
  EXPECT_EQ(d.Agent("cara").status().used_budget(), 60);
  EXPECT_THAT(d.Agent("dan").status().session_ids(), IsEmpty());

  v1::AgentStats cs = d.AgentStats("cara");
  EXPECT_EQ(cs.offers_count(), 1);
  EXPECT_EQ(cs.claimed_count(), 1);
  EXPECT_EQ(cs.assigned_count(), 1);
  v1::AgentStats as = d.AgentStats("ann");
  EXPECT_EQ(as.offers_count(), 1);
  EXPECT_EQ(as.claimed_count(), 1);
  EXPECT_EQ(as.assigned_count(), 0);
  EXPECT_EQ(d.AgentStats("bob").claimed_count(), 0);
  EXPECT_EQ(d.AgentStats("dan").offers_count(), 0);
  d.StopCleanly();
}

TEST(Grab, WhenEveryoneHasAnsweredTheWinnerIsChosenAtOnce) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kGrabConfig));
  EventLog log(d);
  Desktop bob(d, "bob");
  Desktop cara(d, "cara");
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("cara", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("visit-2", "onsite_visit", "field.pair"));
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=bob",
                                      "PRESENCE_CHANGED agent=cara",
                                      "SESSION_CREATED session=" + s,
                                      "OFFER_CREATED session=" + s + " agent=bob",
                                      "OFFER_CREATED session=" + s + " agent=cara"));
  // cara (50) claims first, bob (70) second: all have answered, bob wins on score at once.
  v1::ClaimOfferRequest claim;
  claim.set_session_id(s);
  claim.set_agent_id("cara");
  ASSERT_THAT(d.ClaimOffer(claim), IsOk());
  claim.set_agent_id("bob");
  v1::ClaimOfferResponse claimed;
  ASSERT_THAT(d.ClaimOffer(claim, &claimed), IsOk());
  EXPECT_EQ(claimed.session().state(), v1::SESSION_STATE_ASSIGNED)
      << "the last answer awaited decides at once";
  EXPECT_EQ(claimed.session().agent_id(), "bob");
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("OFFER_CLAIMED session=" + s + " agent=cara",
                                          "OFFER_CLAIMED session=" + s + " agent=bob",
                                          "OFFER_RESCINDED session=" + s + " agent=cara",
                                          "SESSION_ASSIGNED session=" + s + " agent=bob"));
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[3].reason().decided_by(), v1::DECIDER_GRAB_RANK);
  EXPECT_EQ(raw[3].reason().runner_up_agent_id(), "cara");
  std::optional<v1::StreamOffersResponse> end = cara.AwaitOfferEnd(s);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_RESCINDED);
  ASSERT_TRUE(bob.AwaitUpdate(s, v1::EVENT_TYPE_SESSION_ASSIGNED).has_value());
  d.StopCleanly();
}

TEST(Grab, WhenEveryoneRefusesItIsShownAgainAsADeclinedFallback) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kGrabConfig));
  EventLog log(d);
  Desktop bob(d, "bob");
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("cara", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("visit-3", "onsite_visit", "field.pair"));
  ASSERT_EQ(log.Sync().size(), 5u);
  v1::RejectOfferRequest refuse;
  refuse.set_session_id(s);
  refuse.set_agent_id("bob");
  refuse.set_reason("too far");
  ASSERT_THAT(d.RejectOffer(refuse), IsOk());
  refuse.set_agent_id("cara");
  ASSERT_THAT(d.RejectOffer(refuse), IsOk());
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("OFFER_REJECTED session=" + s + " agent=bob",
                                          "OFFER_REJECTED session=" + s + " agent=cara",
                                          "OFFER_CREATED session=" + s + " agent=bob",
                                          "OFFER_CREATED session=" + s + " agent=cara"));
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[2].reason().decided_by(), v1::DECIDER_DECLINED_FALLBACK);
  std::optional<v1::StreamOffersResponse> end = bob.AwaitOfferEnd(s);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_REJECTED);
  std::optional<v1::Offer> again = bob.AwaitOffer(s);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->grab_count(), 2);
  EXPECT_THAT(d.Session(s).declined_agent_ids(), ElementsAre("bob", "cara"));
  EXPECT_EQ(d.AgentStats("bob").rejected_count(), 1);
  d.StopCleanly();
}

TEST(Grab, AWindowClosingWithNoClaimantExpiresTheOffersAndShowsItAgain) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kGrabConfig));
  EventLog log(d);
  Desktop bob(d, "bob");
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("cara", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = d.Create(NewSession("visit-q", "onsite_visit", "field.quick"));
  std::optional<v1::Offer> first = bob.AwaitOffer(s);
  ASSERT_TRUE(first.has_value());
  // Nobody answers within 300 ms: both offers expire, the session goes back to its queue and,
  // nobody having refused it, is shown to them again.
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Take(9, &raw),
              ElementsAre("PRESENCE_CHANGED agent=bob", "PRESENCE_CHANGED agent=cara",
                          "SESSION_CREATED session=" + s,
                          "OFFER_CREATED session=" + s + " agent=bob",
                          "OFFER_CREATED session=" + s + " agent=cara",
                          "OFFER_EXPIRED session=" + s + " agent=bob",
                          "OFFER_EXPIRED session=" + s + " agent=cara",
                          "OFFER_CREATED session=" + s + " agent=bob",
                          "OFFER_CREATED session=" + s + " agent=cara"));
  ASSERT_EQ(raw.size(), 9u);
  EXPECT_EQ(raw[5].detail(), "grab window closed");
  EXPECT_EQ(Micros(raw[5].event_time()), Micros(raw[3].deadline_time()));
  EXPECT_NE(raw[7].reason().decided_by(), v1::DECIDER_DECLINED_FALLBACK)
      << "letting a grab window pass is not declining";
  std::optional<v1::StreamOffersResponse> end = bob.AwaitOfferEnd(s);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_EXPIRED);
  EXPECT_EQ(end->offer_end().offer_id(), first->offer_id());
  std::optional<v1::Offer> again = bob.AwaitOffer(s);
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(again->offer_id(), first->offer_id());
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(s);
  ASSERT_THAT(d.CancelSession(cancel), IsOk());
  EXPECT_EQ(d.Agent("bob").status().missed_offers_in_row(), 0)
      << "the missed-offers rule counts direct offers only";
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
