// The service model over the wire: one customer across channels (the directory, handles,
// merges, the cross-channel history and last agent), ratings that move agents through tiers,
// the agent picker, and device alerts folded per fault. Every part survives a restart.

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
using ::testing::UnorderedElementsAre;

constexpr char kConfig[] = R"pb(
  queues {
    id: "repair"
    offer_timeout { seconds: 120 }
    preferred_timeout { seconds: 60 }
    last_agent_timeout { seconds: 60 }
    wrap_up_duration { seconds: 0 }
  }
  queues { id: "devices" offer_timeout { seconds: 120 } }
  agents { id: "ann" display_name: "Ann" queue_ids: "repair" }
  agents { id: "ben" display_name: "Ben" queue_ids: "repair" }
  agents {
    id: "cole"
    queue_ids: "devices"
    skills { skill_id: "repair.compressor" level: 4 }
  }
  # One worker: a worker waiting for the history (CreateSession after a session ended) must
  # not wait for work queued behind itself.
  customer_directory { threads: 1 }
  ranking {
    min_ratings: 2
    good_rating_weight: 600
    favourite_weight: 2
    tip_rate_weight: 300
    core_points: 100
    elite_points: 200
    expert_points: 300
    master_points: 400
    prior_weight: 0
    handled_weight: 0
    demotion_margin: 0
  }
  devices {
    queue_id: "devices"
    fault_codes {
      fault_code: "E4*"
      requirements { skill_id: "repair.compressor" min_level: 3 }
    }
    fault_codes { fault_code: "E41" intent: "compressor-overheat" }
  }
  intent_routes { intent: "phone-repair" queue_id: "repair" }
)pb";

v1::CustomerHandle Handle(const std::string& kind, const std::string& value) {
  v1::CustomerHandle h;
  h.set_kind(kind);
  h.set_value(value);
  return h;
}

v1::CustomerRecord Resolve(Daemon& d, const v1::CustomerHandle& handle, bool* created = nullptr) {
  v1::ResolveCustomerRequest r;
  *r.mutable_handle() = handle;
  v1::ResolveCustomerResponse resp;
  EXPECT_THAT(d.ResolveCustomer(r, &resp), IsOk()) << handle.ShortDebugString();
  if (created != nullptr) *created = resp.created();
  return resp.customer();
}

v1::CustomerRecord Link(Daemon& d, const std::string& customer, const v1::CustomerHandle& h) {
  v1::LinkHandleRequest r;
  r.set_customer_id(customer);
  *r.mutable_handle() = h;
  v1::LinkHandleResponse resp;
  EXPECT_THAT(d.LinkHandle(r, &resp), IsOk());
  return resp.customer();
}

// A session for the customer behind `handle`, on `channel`, in "repair".
std::string CreateFor(Daemon& d, const std::string& request_id, const std::string& channel,
                      const v1::CustomerHandle& handle, v1::Session* session = nullptr) {
  v1::CreateSessionRequest r = NewSession(request_id, channel, "repair");
  *r.mutable_customer_handle() = handle;
  return d.Create(r, session);
}

void Serve(Daemon& d, const std::string& session, const std::string& agent) {
  v1::AcceptOfferRequest accept;
  accept.set_session_id(session);
  accept.set_agent_id(agent);
  ASSERT_THAT(d.AcceptOffer(accept), IsOk()) << session << " by " << agent;
  v1::CompleteSessionRequest complete;
  complete.set_session_id(session);
  complete.set_agent_id(agent);
  ASSERT_THAT(d.CompleteSession(complete), IsOk()) << session << " by " << agent;
}

std::vector<v1::Interaction> History(Daemon& d, const std::string& customer) {
  v1::ListInteractionsRequest r;
  r.set_customer_id(customer);
  v1::ListInteractionsResponse resp;
  EXPECT_THAT(d.ListInteractions(r, &resp), IsOk());
  return {resp.interactions().begin(), resp.interactions().end()};
}

grpc::Status Rate(Daemon& d, const std::string& session, int stars, bool favourite = false,
                  std::vector<std::string> tags = {}, int64_t tip = 0,
                  v1::RateSessionResponse* out = nullptr) {
  v1::RateSessionRequest r;
  r.set_session_id(session);
  r.mutable_rating()->set_stars(stars);
  r.mutable_rating()->set_favourite(favourite);
  for (const std::string& t : tags) r.mutable_rating()->add_tags(t);
  r.mutable_rating()->set_tip_cents(tip);
  v1::RateSessionResponse resp;
  grpc::Status st = d.RateSession(r, out != nullptr ? out : &resp);
  return st;
}

TEST(CustomerDirectory, HandlesResolveToOneCustomerAndBadInputChangesNothing) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  bool created = false;
  const v1::CustomerRecord c = Resolve(d, Handle("wechat", "oWx-123"), &created);
  EXPECT_TRUE(created);
  EXPECT_THAT(c.customer_id(), ::testing::StartsWith("cust-"));
  Resolve(d, Handle("wechat", "oWx-123"), &created);
  EXPECT_FALSE(created) << "the same handle resolves to the same customer";

  const v1::CustomerRecord linked = Link(d, c.customer_id(), Handle("phone", "+8613800000001"));
  EXPECT_EQ(linked.handles_size(), 2);
  EXPECT_EQ(Resolve(d, Handle("phone", "+8613800000001")).customer_id(), c.customer_id());

  // A handle already on another customer moves only when asked to.
  const v1::CustomerRecord other = Resolve(d, Handle("app", "user-9"));
  v1::LinkHandleRequest link;
  link.set_customer_id(other.customer_id());
  *link.mutable_handle() = Handle("phone", "+8613800000001");
  EXPECT_THAT(d.LinkHandle(link), StatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                                           HasSubstr(c.customer_id())));
  EXPECT_EQ(Resolve(d, Handle("phone", "+8613800000001")).customer_id(), c.customer_id());

  // Update: VIP level and tags; bad values are refused naming the field, nothing changes.
  v1::UpdateCustomerRequest update;
  update.set_customer_id(c.customer_id());
  update.mutable_customer()->set_vip_level(2);
  update.mutable_customer()->add_tags("new-home");
  update.add_update_mask("vip_level");
  update.add_update_mask("tags");
  v1::UpdateCustomerResponse updated;
  ASSERT_THAT(d.UpdateCustomer(update, &updated), IsOk());
  EXPECT_EQ(updated.customer().vip_level(), 2);
  EXPECT_THAT(updated.customer().tags(), ElementsAre("new-home"));
  update.mutable_customer()->set_vip_level(12);
  EXPECT_THAT(d.UpdateCustomer(update), InvalidArgumentNaming("customer.vip_level"));
  update.mutable_customer()->set_vip_level(1);
  update.add_update_mask("colour");
  EXPECT_THAT(d.UpdateCustomer(update), InvalidArgumentNaming("update_mask[2]"));
  v1::GetCustomerRequest get;
  get.set_customer_id(c.customer_id());
  v1::GetCustomerResponse got;
  ASSERT_THAT(d.GetCustomer(get, &got), IsOk());
  EXPECT_EQ(got.customer().vip_level(), 2) << "refused updates changed nothing";

  v1::ResolveCustomerRequest bad;
  *bad.mutable_handle() = Handle("We Chat", "x");
  EXPECT_THAT(d.ResolveCustomer(bad), InvalidArgumentNaming("handle.kind"));
  *bad.mutable_handle() = Handle("wechat", "");
  EXPECT_THAT(d.ResolveCustomer(bad), InvalidArgumentNaming("handle.value"));
  bad.clear_handle();
  EXPECT_THAT(d.ResolveCustomer(bad), InvalidArgumentNaming("handle"));
  *bad.mutable_handle() = Handle("weibo", "nobody");
  bad.set_create(false);
  EXPECT_THAT(d.ResolveCustomer(bad), StatusIs(grpc::StatusCode::NOT_FOUND));
  get.set_customer_id("cust-nope");
  EXPECT_THAT(d.GetCustomer(get), StatusIs(grpc::StatusCode::NOT_FOUND));

  // Merge: the absorbed customer's handles resolve to the survivor, and its id too.
  v1::MergeCustomersRequest merge;
  merge.set_customer_id(c.customer_id());
  merge.set_absorbed_customer_id(other.customer_id());
  v1::MergeCustomersResponse merged;
  ASSERT_THAT(d.MergeCustomers(merge, &merged), IsOk());
  EXPECT_EQ(merged.customer().handles_size(), 3);
  EXPECT_THAT(merged.customer().merged_customer_ids(), ElementsAre(other.customer_id()));
  EXPECT_EQ(Resolve(d, Handle("app", "user-9")).customer_id(), c.customer_id());
  get.set_customer_id(other.customer_id());
  ASSERT_THAT(d.GetCustomer(get, &got), IsOk());
  EXPECT_EQ(got.customer().customer_id(), c.customer_id());
  merge.set_absorbed_customer_id(c.customer_id());
  EXPECT_THAT(d.MergeCustomers(merge), StatusIs(grpc::StatusCode::INVALID_ARGUMENT));

  // The directory is durable.
  d.StopCleanly();
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  EXPECT_EQ(Resolve(d, Handle("wechat", "oWx-123"), &created).customer_id(), c.customer_id());
  EXPECT_FALSE(created);
  EXPECT_EQ(Resolve(d, Handle("phone", "+8613800000001")).vip_level(), 2);
}

TEST(CustomerDirectory, TheLastAgentOfAPhoneCallServesTheWeChatSessionAndTheHistoryShowsBoth) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  const std::string customer = Resolve(d, Handle("phone", "+8613800000002")).customer_id();
  Link(d, customer, Handle("wechat", "oWx-777"));
  ASSERT_THAT(d.SetPresence("ben", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  // ben has been idle longest: he gets yesterday's phone call.
  v1::Session call;
  const std::string s1 = CreateFor(d, "call-1", "voice", Handle("phone", "+8613800000002"), &call);
  EXPECT_EQ(call.customer().id(), customer) << "resolved from the phone number";
  ASSERT_EQ(d.Session(s1).agent_id(), "ben");
  ASSERT_NO_FATAL_FAILURE(Serve(d, s1, "ben"));

  // Today on WeChat: ben is asked first (stage LAST_AGENT), although ann is idle longer now.
  v1::Session chat;
  const std::string s2 = CreateFor(d, "chat-1", "wechat", Handle("wechat", "oWx-777"), &chat);
  EXPECT_EQ(chat.customer().last_agent_id(), "ben");
  const v1::Session now = d.Session(s2);
  EXPECT_EQ(now.agent_id(), "ben");
  EXPECT_EQ(now.stage(), v1::ROUTING_STAGE_LAST_AGENT);
  ASSERT_NO_FATAL_FAILURE(Serve(d, s2, "ben"));

  // A session the customer abandons is in the history too.
  ASSERT_THAT(d.SetPresence("ben", v1::PRESENCE_OFFLINE), IsOk());
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_OFFLINE), IsOk());
  const std::string s3 = CreateFor(d, "call-2", "voice", Handle("phone", "+8613800000002"));
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(s3);
  cancel.set_kind(v1::CANCEL_KIND_ABANDONED);
  ASSERT_THAT(d.CancelSession(cancel), IsOk());

  std::vector<v1::Interaction> history = History(d, customer);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].session_id(), s3) << "newest first";
  EXPECT_EQ(history[0].outcome(), v1::INTERACTION_OUTCOME_ABANDONED);
  EXPECT_EQ(history[0].agent_id(), "");
  EXPECT_EQ(history[1].session_id(), s2);
  EXPECT_EQ(history[1].channel_id(), "wechat");
  EXPECT_EQ(history[2].session_id(), s1);
  EXPECT_EQ(history[2].channel_id(), "voice");
  EXPECT_EQ(history[2].agent_id(), "ben");
  EXPECT_EQ(history[2].outcome(), v1::INTERACTION_OUTCOME_COMPLETED);
  EXPECT_TRUE(history[2].has_answer_time());

  // Paged: one at a time, the same order.
  v1::ListInteractionsRequest page;
  page.set_customer_id(customer);
  page.set_page_size(2);
  v1::ListInteractionsResponse first;
  ASSERT_THAT(d.ListInteractions(page, &first), IsOk());
  ASSERT_EQ(first.interactions_size(), 2);
  ASSERT_FALSE(first.next_page_token().empty());
  page.set_page_token(first.next_page_token());
  v1::ListInteractionsResponse second;
  ASSERT_THAT(d.ListInteractions(page, &second), IsOk());
  ASSERT_EQ(second.interactions_size(), 1);
  EXPECT_EQ(second.interactions(0).session_id(), s1);
  EXPECT_TRUE(second.next_page_token().empty());
  page.set_page_token("garbage");
  EXPECT_THAT(d.ListInteractions(page), InvalidArgumentNaming("page_token"));

  // A crash loses none of it: the history, and the last agent on the next session.
  d.Kill();
  d.RestartAfterKill();
  EXPECT_EQ(History(d, customer).size(), 3u);
  v1::Session again;
  CreateFor(d, "chat-2", "wechat", Handle("wechat", "oWx-777"), &again);
  EXPECT_EQ(again.customer().last_agent_id(), "ben");
}

TEST(Ratings, OncePerSessionTheyRankAgentsAndFavouritesArePreferred) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  const v1::CustomerHandle phone = Handle("phone", "+8613800000003");
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  std::vector<std::string> served;
  for (int i = 0; i < 3; ++i) {
    const std::string s = CreateFor(d, "r-" + std::to_string(i), "voice", phone);
    ASSERT_EQ(d.Session(s).agent_id(), "ann");
    ASSERT_NO_FATAL_FAILURE(Serve(d, s, "ann"));
    served.push_back(s);
  }
  log.Sync();

  // Bad input: refused, naming the field.
  EXPECT_THAT(Rate(d, served[0], 6), InvalidArgumentNaming("rating.stars"));
  EXPECT_THAT(Rate(d, served[0], 5, false, {"rude"}), InvalidArgumentNaming("rating.tags[0]"));
  EXPECT_THAT(Rate(d, served[0], 5, false, {"patient", "patient"}),
              InvalidArgumentNaming("rating.tags[1]"));
  EXPECT_THAT(Rate(d, served[0], 5, false, {}, -1), InvalidArgumentNaming("rating.tip_cents"));
  EXPECT_THAT(Rate(d, "abc", 5), InvalidArgumentNaming("session_id"));
  EXPECT_THAT(Rate(d, "999999", 5), StatusIs(grpc::StatusCode::NOT_FOUND));

  // The first rating: not yet enough for a tier (ranking.min_ratings 2).
  v1::RateSessionResponse rated;
  ASSERT_THAT(Rate(d, served[0], 5, /*favourite=*/true, {"patient", "expert"}, 500, &rated),
              IsOk());
  EXPECT_EQ(rated.interaction().rating().stars(), 5);
  EXPECT_EQ(rated.agent().rating_count(), 1);
  EXPECT_EQ(rated.agent().favourite_count(), 1);
  EXPECT_EQ(rated.agent().tier(), v1::AGENT_TIER_ROOKIE);
  EXPECT_THAT(Rate(d, served[0], 4), StatusIs(grpc::StatusCode::ALREADY_EXISTS));

  // The second: points = 600 x 1.0 (good) + 2 x 1 (favourite) + 300 x 0.5 (tips) = 752 with
  // prior_weight 0 -> master (>= 400).
  ASSERT_THAT(Rate(d, served[1], 4, false, {"patient"}, 0, &rated), IsOk());
  EXPECT_EQ(rated.agent().rating_count(), 2);
  EXPECT_EQ(rated.agent().earned_tier(), v1::AGENT_TIER_MASTER);
  EXPECT_EQ(rated.agent().tier(), v1::AGENT_TIER_MASTER);
  EXPECT_EQ(rated.agent().points(), 752);
  ASSERT_GE(rated.agent().top_tags_size(), 1);
  EXPECT_EQ(rated.agent().top_tags(0).tag(), "patient");
  EXPECT_EQ(rated.agent().top_tags(0).count(), 2);
  std::vector<v1::Event> raw;
  log.Sync(&raw);
  const v1::Event* rank = nullptr;
  for (const v1::Event& e : raw) {
    if (e.type() == v1::EVENT_TYPE_AGENT_RANK_CHANGED) rank = &e;
  }
  ASSERT_NE(rank, nullptr) << Describe(raw);
  EXPECT_EQ(rank->agent_id(), "ann");
  EXPECT_EQ(rank->tier(), v1::AGENT_TIER_MASTER);
  EXPECT_EQ(d.Agent("ann").tier(), v1::AGENT_TIER_MASTER);
  EXPECT_EQ(d.Agent("ann").score(), 752);

  // A poor rating: fewer points (good-rating rate 2/3, tip rate 1/3), still master.
  ASSERT_THAT(Rate(d, served[2], 1, false, {}, 0, &rated), IsOk());
  EXPECT_NEAR(rated.agent().points(), 600 * 2 / 3 + 2 + 300 / 3, 1);
  EXPECT_EQ(rated.agent().tier(), v1::AGENT_TIER_MASTER) << "502 >= 400";

  // The favourite is preferred on the next session, on any channel.
  v1::Session next;
  CreateFor(d, "fav-1", "wechat", phone, &next);
  EXPECT_THAT(next.customer().preferred_agent_ids(), ElementsAre("ann"));

  // A session still in progress cannot be rated.
  EXPECT_THAT(Rate(d, next.id(), 5), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));

  // The tier and the ratings survive a restart.
  d.StopCleanly();
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  EXPECT_EQ(d.Agent("ann").tier(), v1::AGENT_TIER_MASTER);
  v1::GetAgentRatingRequest get;
  get.set_agent_id("ann");
  v1::GetAgentRatingResponse rating;
  ASSERT_THAT(d.GetAgentRating(get, &rating), IsOk());
  EXPECT_EQ(rating.agent().rating_count(), 3);
  EXPECT_EQ(rating.agent().handled_count(), 3);
  EXPECT_THAT(Rate(d, served[1], 5), StatusIs(grpc::StatusCode::ALREADY_EXISTS));
  get.set_agent_id("nobody");
  EXPECT_THAT(d.GetAgentRating(get), StatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST(AgentPicker, FavouritesFirstThenAvailabilityWithStarsAndTags) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  const v1::CustomerHandle phone = Handle("phone", "+8613800000004");
  ASSERT_THAT(d.SetPresence("ben", v1::PRESENCE_AVAILABLE), IsOk());
  const std::string s = CreateFor(d, "p-1", "voice", phone);
  ASSERT_NO_FATAL_FAILURE(Serve(d, s, "ben"));
  ASSERT_THAT(Rate(d, s, 5, /*favourite=*/true, {"fast"}), IsOk());
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());

  v1::ListAgentsForCustomerRequest r;
  *r.mutable_customer_handle() = phone;
  r.set_intent("phone-repair");
  r.set_channel_id("voice");
  v1::ListAgentsForCustomerResponse resp;
  ASSERT_THAT(d.ListAgentsForCustomer(r, &resp), IsOk());
  EXPECT_EQ(resp.queue_id(), "repair");
  ASSERT_EQ(resp.agents_size(), 2) << resp.ShortDebugString();
  EXPECT_EQ(resp.agents(0).agent_id(), "ben");
  EXPECT_TRUE(resp.agents(0).favourite());
  EXPECT_TRUE(resp.agents(0).last_agent());
  EXPECT_DOUBLE_EQ(resp.agents(0).average_stars(), 5.0);
  EXPECT_THAT(resp.agents(0).top_tags(), ElementsAre("fast"));
  EXPECT_EQ(resp.agents(0).availability(), v1::AGENT_AVAILABILITY_AVAILABLE);
  EXPECT_EQ(resp.agents(1).agent_id(), "ann");
  EXPECT_FALSE(resp.agents(1).favourite());

  // Offline agents are not offered to pick.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_OFFLINE), IsOk());
  ASSERT_THAT(d.ListAgentsForCustomer(r, &resp), IsOk());
  ASSERT_EQ(resp.agents_size(), 1);

  // The choice goes on the session as preferred: ben is asked first.
  v1::CreateSessionRequest pick = NewSession("p-2", "voice", "repair");
  *pick.mutable_customer_handle() = phone;
  pick.mutable_customer()->add_preferred_agent_ids("ben");
  v1::Session picked;
  d.Create(pick, &picked);
  EXPECT_THAT(picked.customer().preferred_agent_ids(), ElementsAre("ben"));
  EXPECT_EQ(d.Session(picked.id()).agent_id(), "ben");

  r.set_intent("nothing-routed");
  EXPECT_THAT(d.ListAgentsForCustomer(r), StatusIs(grpc::StatusCode::NOT_FOUND));
  r.clear_intent();
  EXPECT_THAT(d.ListAgentsForCustomer(r), InvalidArgumentNaming("queue_id"));
  r.set_queue_id("repair");
  r.clear_channel_id();
  EXPECT_THAT(d.ListAgentsForCustomer(r), InvalidArgumentNaming("channel_id"));
}

TEST(DeviceAlerts, OpenASessionForTheOwnerFoldRepeatsAndSurviveARestart) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  // The fridge belongs to a known customer.
  const std::string owner = Resolve(d, Handle("phone", "+8613800000005")).customer_id();
  Link(d, owner, Handle("device", "fridge-0042"));

  v1::ReportDeviceAlertRequest alert;
  alert.set_device_id("fridge-0042");
  alert.set_fault_code("E42");
  alert.set_severity(v1::DEVICE_ALERT_SEVERITY_HIGH);
  alert.set_detail("compressor current high");
  v1::ReportDeviceAlertResponse first;
  ASSERT_THAT(d.ReportDeviceAlert(alert, &first), IsOk());
  EXPECT_FALSE(first.folded());
  EXPECT_EQ(first.customer_id(), owner);
  const v1::Session& s = first.session();
  EXPECT_EQ(s.channel_id(), "iot_alert");
  EXPECT_EQ(s.queue_id(), "devices");
  EXPECT_EQ(s.priority(), 600);
  EXPECT_EQ(s.customer().id(), owner);
  EXPECT_EQ(s.intent(), "device-fault:E42");
  ASSERT_EQ(s.requirements_size(), 1);
  EXPECT_EQ(s.requirements(0).skill_id(), "repair.compressor");
  EXPECT_EQ(s.requirements(0).min_level(), 3);

  // The same fault again: folded into the open session, not queued again.
  v1::ReportDeviceAlertResponse again;
  ASSERT_THAT(d.ReportDeviceAlert(alert, &again), IsOk());
  EXPECT_TRUE(again.folded());
  EXPECT_EQ(again.folded_alerts(), 1);
  EXPECT_EQ(again.session().id(), s.id());
  // An exact route wins over the prefix; another fault is another session.
  alert.set_fault_code("E41");
  alert.set_severity(v1::DEVICE_ALERT_SEVERITY_CRITICAL);
  v1::ReportDeviceAlertResponse other;
  ASSERT_THAT(d.ReportDeviceAlert(alert, &other), IsOk());
  EXPECT_FALSE(other.folded());
  EXPECT_NE(other.session().id(), s.id());
  EXPECT_EQ(other.session().intent(), "compressor-overheat");
  EXPECT_EQ(other.session().priority(), 900);

  // Bad input changes nothing.
  v1::ListSessionsRequest list;
  v1::ListSessionsResponse before;
  ASSERT_THAT(d.ListSessions(list, &before), IsOk());
  v1::ReportDeviceAlertRequest bad = alert;
  bad.set_fault_code("E 4");
  EXPECT_THAT(d.ReportDeviceAlert(bad), InvalidArgumentNaming("fault_code"));
  bad = alert;
  bad.clear_severity();
  EXPECT_THAT(d.ReportDeviceAlert(bad), InvalidArgumentNaming("severity"));
  bad = alert;
  bad.clear_device_id();
  EXPECT_THAT(d.ReportDeviceAlert(bad), InvalidArgumentNaming("device_id"));
  v1::ListSessionsResponse after;
  ASSERT_THAT(d.ListSessions(list, &after), IsOk());
  EXPECT_EQ(after.sessions_size(), before.sessions_size());
  // No route: devices.queue_id takes it.
  bad = alert;
  bad.set_fault_code("Z9");
  v1::ReportDeviceAlertResponse unrouted;
  ASSERT_THAT(d.ReportDeviceAlert(bad, &unrouted), IsOk());
  EXPECT_EQ(unrouted.session().queue_id(), "devices");
  EXPECT_EQ(unrouted.session().intent(), "device-fault:Z9");
  for (const std::string& id : {other.session().id(), unrouted.session().id()}) {
    v1::CancelSessionRequest cancel;
    cancel.set_session_id(id);
    cancel.set_kind(v1::CANCEL_KIND_WITHDRAWN);
    ASSERT_THAT(d.CancelSession(cancel), IsOk());
  }

  // After a restart the open session still takes the repeats.
  d.StopCleanly();
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  alert.set_fault_code("E42");
  ASSERT_THAT(d.ReportDeviceAlert(alert, &again), IsOk());
  EXPECT_TRUE(again.folded());
  EXPECT_EQ(again.session().id(), s.id());

  // Served, the fault's next alert opens a new session.
  ASSERT_THAT(d.SetPresence("cole", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_NO_FATAL_FAILURE(Serve(d, s.id(), "cole"));
  ASSERT_THAT(d.ReportDeviceAlert(alert, &again), IsOk());
  EXPECT_FALSE(again.folded());
  EXPECT_NE(again.session().id(), s.id());
}

TEST(DeviceAlerts, WithoutARouteOrQueueTheyAreRefused) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(queues { id: "repair" })pb"));
  v1::ReportDeviceAlertRequest alert;
  alert.set_device_id("washer-1");
  alert.set_fault_code("F1");
  alert.set_severity(v1::DEVICE_ALERT_SEVERITY_LOW);
  EXPECT_THAT(d.ReportDeviceAlert(alert), StatusIs(grpc::StatusCode::FAILED_PRECONDITION,
                                                   HasSubstr("devices.queue_id")));
}

}  // namespace
}  // namespace omniroute::testing
