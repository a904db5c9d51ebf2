// A day in miniature at an after-sales service centre: a phone call, a WeChat chat and an app
// chat routed by skill to the right engineers through their desktops (StreamOffers), accepted,
// completed, wrapped up (by EndWrapUp and by the wrap-up time running out), and a robot chat
// escalated to an engineer with the bot's intent and summary. Every step is checked on the
// engineer's stream, on the event log (exact order, no gaps) and with GetSession, and the
// statistics at the end must agree with what happened.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// li.na: repair 5, English 4, serves both queues. wang.wei: repair 3, serves both.
// zhao.min: repair 2, below the repair queue's requirement, serves repair only.
constexpr char kDayConfig[] = R"pb(
  queues {
    id: "repair"
    requirements { skill_id: "repair" min_level: 3 }
    offer_timeout { seconds: 120 }
    wrap_up_duration { seconds: 120 }
  }
  queues {
    id: "repair.app"
    requirements { skill_id: "repair" min_level: 3 }
    offer_timeout { seconds: 120 }
    wrap_up_duration { nanos: 300000000 }
  }
  agents {
    id: "li.na"
    skills { skill_id: "repair" level: 5 }
    skills { skill_id: "lang.en" level: 4 }
    tier: AGENT_TIER_EXPERT
    score: 90
    queue_ids: "repair"
    queue_ids: "repair.app"
  }
  agents {
    id: "wang.wei"
    skills { skill_id: "repair" level: 3 }
    queue_ids: "repair"
    queue_ids: "repair.app"
  }
  agents {
    id: "zhao.min"
    skills { skill_id: "repair" level: 2 }
    queue_ids: "repair"
  }
)pb";

TEST(Day, CallWeChatAndAppChatGoToTheRightEngineers) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDayConfig));
  EventLog log(d);

  // Morning: the desktops connect, then the engineers log in.
  Desktop li(d, "li.na");
  Desktop wang(d, "wang.wei");
  Desktop zhao(d, "zhao.min");
  EXPECT_EQ(li.snapshot().status().presence(), v1::PRESENCE_OFFLINE);
  for (const char* a : {"li.na", "wang.wei", "zhao.min"}) {
    ASSERT_THAT(d.SetPresence(a, v1::PRESENCE_AVAILABLE), IsOk()) << a;
  }
  EXPECT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=li.na",
                                      "PRESENCE_CHANGED agent=wang.wei",
                                      "PRESENCE_CHANGED agent=zhao.min"));
  for (Desktop* desk : {&li, &wang, &zhao}) {
    std::optional<v1::AgentStatus> st = desk->AwaitStatus(v1::PRESENCE_AVAILABLE);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->used_budget(), 0);
  }

  // 1. A phone call that needs the best repair engineer (repair 5): only li.na qualifies.
  v1::CreateSessionRequest call = NewSession("call-0001", "voice", "repair");
  call.mutable_customer()->set_id("cust-77");
  call.mutable_customer()->set_language("zh-CN");
  call.mutable_customer()->add_tags("new-home");
  auto* req = call.add_requirements();
  req->set_skill_id("repair");
  req->set_min_level(5);
  auto* attr = call.add_attributes();
  attr->set_key("product");
  attr->set_value("washer W-200");
  attr = call.add_attributes();
  attr->set_key("ivr.path");
  attr->set_value("1-3-2");
  call.set_intent("repair.washer");
  v1::Session created;
  const std::string s_call = d.Create(call, &created);
  ASSERT_FALSE(s_call.empty());
  EXPECT_EQ(created.state(), v1::SESSION_STATE_OFFERED) << "li.na was free: offered at once";
  EXPECT_EQ(created.agent_id(), "li.na");
  EXPECT_EQ(created.request_id(), "call-0001");
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_CREATED session=" + s_call,
                                          "OFFER_CREATED session=" + s_call + " agent=li.na"));
  ASSERT_EQ(raw.size(), 2u);

  std::optional<v1::Offer> offer = li.AwaitOffer(s_call);
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->delivery_mode(), v1::DELIVERY_MODE_DIRECT);
  EXPECT_EQ(offer->grab_position(), 0);
  EXPECT_EQ(offer->grab_count(), 0);
  EXPECT_EQ(offer->session().channel_id(), "voice");
  EXPECT_EQ(offer->session().queue_id(), "repair");
  EXPECT_EQ(offer->session().customer().id(), "cust-77");
  EXPECT_EQ(offer->session().customer().language(), "zh-CN");
  EXPECT_THAT(offer->session().customer().tags(), ElementsAre("new-home"));
  ASSERT_EQ(offer->session().attributes_size(), 2);
  EXPECT_EQ(offer->session().attributes(0).key(), "product");
  EXPECT_EQ(offer->session().attributes(1).key(), "ivr.path");
  EXPECT_EQ(offer->session().intent(), "repair.washer");
  ASSERT_EQ(offer->session().requirements_in_force_size(), 1);
  EXPECT_EQ(offer->session().requirements_in_force(0).skill_id(), "repair");
  EXPECT_EQ(offer->session().requirements_in_force(0).min_level(), 5)
      << "session requirement 5 beats the queue's 3";
  EXPECT_EQ(offer->reason().strategy(), "longest_idle");
  EXPECT_EQ(offer->reason().stage(), v1::ROUTING_STAGE_QUEUE);
  EXPECT_EQ(offer->reason().decided_by(), v1::DECIDER_ONLY_CANDIDATE);
  EXPECT_EQ(offer->offer_id(), std::to_string(raw[1].sequence()));
  EXPECT_EQ(Micros(offer->deadline_time()) - Micros(raw[1].event_time()), 120'000'000)
      << "direct offer deadline = offer time + offer_timeout";

  v1::Session s = d.Session(s_call);
  EXPECT_EQ(s.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(s.agent_id(), "li.na");
  EXPECT_EQ(s.stage(), v1::ROUTING_STAGE_QUEUE);
  EXPECT_EQ(Micros(s.deadline_time()), Micros(offer->deadline_time()));
  EXPECT_TRUE(s.has_wait_start_time());
  EXPECT_EQ(s.request_id(), "call-0001");
  EXPECT_EQ(d.Agent("li.na").status().used_budget(), 60) << "a direct offer reserves the call";

  // li.na accepts (pinning the offer id).
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s_call);
  accept.set_agent_id("li.na");
  accept.set_offer_id(offer->offer_id());
  v1::AcceptOfferResponse accepted;
  ASSERT_THAT(d.AcceptOffer(accept, &accepted), IsOk());
  EXPECT_EQ(accepted.session().state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(accepted.session().agent_id(), "li.na");
  EXPECT_THAT(log.Sync(), ElementsAre("OFFER_ACCEPTED session=" + s_call + " agent=li.na",
                                      "SESSION_ASSIGNED session=" + s_call + " agent=li.na"));
  std::optional<v1::StreamOffersResponse> end = li.AwaitOfferEnd(s_call);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_ACCEPTED);
  EXPECT_EQ(end->offer_end().offer_id(), offer->offer_id());
  std::optional<v1::StreamOffersResponse> assigned =
      li.AwaitUpdate(s_call, v1::EVENT_TYPE_SESSION_ASSIGNED);
  ASSERT_TRUE(assigned.has_value());
  EXPECT_EQ(assigned->session_update().session().state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_EQ(d.Session(s_call).state(), v1::SESSION_STATE_ASSIGNED);

  // 2. A WeChat chat: li.na's whole budget is on the call; zhao.min lacks the level. wang.wei.
  v1::CreateSessionRequest chat = NewSession("wx-0001", "wechat", "repair");
  chat.mutable_customer()->set_id("cust-88");
  const std::string s_chat = d.Create(chat);
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + s_chat,
                                      "OFFER_CREATED session=" + s_chat + " agent=wang.wei"));
  offer = wang.AwaitOffer(s_chat);
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->reason().decided_by(), v1::DECIDER_ONLY_CANDIDATE);
  accept.set_session_id(s_chat);
  accept.set_agent_id("wang.wei");
  accept.set_offer_id(offer->offer_id());
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  EXPECT_THAT(log.Sync(), ElementsAre("OFFER_ACCEPTED session=" + s_chat + " agent=wang.wei",
                                      "SESSION_ASSIGNED session=" + s_chat + " agent=wang.wei"));
  EXPECT_EQ(d.Agent("wang.wei").status().used_budget(), 20) << "a chat takes 20 of 60";

  // 3. An app chat that needs English (lang.en 3): only li.na has it, and she is on the call.
  v1::CreateSessionRequest app = NewSession("app-0001", "app", "repair.app");
  req = app.add_requirements();
  req->set_skill_id("lang.en");
  req->set_min_level(3);
  const std::string s_app = d.Create(app, &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_TRUE(created.agent_id().empty());
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + s_app));
  v1::QueueStats qs = d.QueueStats("repair.app");
  EXPECT_EQ(qs.waiting(), 1);
  EXPECT_EQ(qs.offered(), 0);
  ASSERT_EQ(qs.waiting_by_channel_size(), 1);
  EXPECT_EQ(qs.waiting_by_channel(0).channel_id(), "app");
  EXPECT_EQ(qs.waiting_by_channel(0).waiting(), 1);
  EXPECT_TRUE(qs.has_oldest_wait_start_time());

  // wang.wei may not complete li.na's call; nothing changes.
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s_call);
  complete.set_agent_id("wang.wei");
  EXPECT_THAT(d.CompleteSession(complete), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(log.Sync(), IsEmpty());
  EXPECT_EQ(d.Session(s_call).state(), v1::SESSION_STATE_ASSIGNED);

  // li.na ends the call: wrap-up (120 s) keeps her capacity, the app chat keeps waiting.
  complete.set_agent_id("li.na");
  v1::CompleteSessionResponse completed;
  ASSERT_THAT(d.CompleteSession(complete, &completed), IsOk());
  EXPECT_EQ(completed.session().state(), v1::SESSION_STATE_WRAP_UP);
  raw.clear();
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_WRAP_UP session=" + s_call + " agent=li.na"));
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(Micros(raw[0].deadline_time()) - Micros(raw[0].event_time()), 120'000'000);
  std::optional<v1::StreamOffersResponse> wrap =
      li.AwaitUpdate(s_call, v1::EVENT_TYPE_SESSION_WRAP_UP);
  ASSERT_TRUE(wrap.has_value());
  EXPECT_EQ(wrap->session_update().session().state(), v1::SESSION_STATE_WRAP_UP);
  EXPECT_EQ(Micros(wrap->session_update().session().deadline_time()),
            Micros(raw[0].deadline_time()));
  s = d.Session(s_call);
  EXPECT_EQ(s.state(), v1::SESSION_STATE_WRAP_UP);
  EXPECT_EQ(s.agent_id(), "li.na");
  EXPECT_EQ(d.Agent("li.na").status().used_budget(), 60) << "wrap-up keeps the capacity";
  EXPECT_EQ(d.Session(s_app).state(), v1::SESSION_STATE_QUEUED);

  // She ends wrap-up early: the call is COMPLETED and the app chat is offered to her at once.
  v1::EndWrapUpRequest end_wrap;
  end_wrap.set_session_id(s_call);
  end_wrap.set_agent_id("li.na");
  v1::EndWrapUpResponse ended;
  ASSERT_THAT(d.EndWrapUp(end_wrap, &ended), IsOk());
  EXPECT_EQ(ended.session().state(), v1::SESSION_STATE_COMPLETED);
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_COMPLETED session=" + s_call + " agent=li.na",
                                      "OFFER_CREATED session=" + s_app + " agent=li.na"));
  std::optional<v1::StreamOffersResponse> done =
      li.AwaitUpdate(s_call, v1::EVENT_TYPE_SESSION_COMPLETED);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->session_update().session().state(), v1::SESSION_STATE_COMPLETED);
  EXPECT_EQ(d.Session(s_call).state(), v1::SESSION_STATE_COMPLETED)
      << "finished sessions stay readable";

  offer = li.AwaitOffer(s_app);
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->session().channel_id(), "app");
  accept.set_session_id(s_app);
  accept.set_agent_id("li.na");
  accept.set_offer_id(offer->offer_id());
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  complete.set_session_id(s_app);
  ASSERT_THAT(d.CompleteSession(complete, &completed), IsOk());
  EXPECT_EQ(completed.session().state(), v1::SESSION_STATE_WRAP_UP);

  // The app queue's wrap-up is 300 ms: it ends by itself, and li.na's desktop hears of it.
  std::optional<v1::StreamOffersResponse> timed_done =
      li.AwaitUpdate(s_app, v1::EVENT_TYPE_SESSION_COMPLETED);
  EXPECT_TRUE(timed_done.has_value()) << "the timed wrap-up end must reach the agent's stream";
  if (timed_done.has_value()) {
    EXPECT_EQ(timed_done->session_update().session().state(), v1::SESSION_STATE_COMPLETED);
  }
  std::vector<std::string> before;
  std::optional<v1::Event> completed_ev =
      log.Await(v1::EVENT_TYPE_SESSION_COMPLETED, s_app, "", &before);
  ASSERT_TRUE(completed_ev.has_value());
  EXPECT_EQ(completed_ev->agent_id(), "li.na") << "the agent concerned";
  EXPECT_THAT(before, ElementsAre("OFFER_ACCEPTED session=" + s_app + " agent=li.na",
                                  "SESSION_ASSIGNED session=" + s_app + " agent=li.na",
                                  "SESSION_WRAP_UP session=" + s_app + " agent=li.na"));
  EXPECT_EQ(Micros(completed_ev->event_time()), Micros(log.all()[log.all().size() - 2]
                                                           .deadline_time()))
      << "the wrap-up ends exactly at its deadline (router time)";
  EXPECT_EQ(d.Session(s_app).state(), v1::SESSION_STATE_COMPLETED);
  EXPECT_THAT(log.Sync(), IsEmpty());

  // Evening: the figures agree with the day.
  v1::QueueStats repair = d.QueueStats("repair");
  EXPECT_EQ(repair.queue_id(), "repair");
  EXPECT_EQ(repair.waiting(), 0);
  EXPECT_EQ(repair.offered(), 0);
  EXPECT_THAT(repair.waiting_by_channel(), IsEmpty());
  EXPECT_FALSE(repair.has_oldest_wait_start_time());
  EXPECT_EQ(repair.entered_count(), 2);
  EXPECT_EQ(repair.answered_count(), 2);
  EXPECT_EQ(repair.answered_in_threshold_count(), 2);
  EXPECT_EQ(repair.abandoned_count(), 0);
  ASSERT_TRUE(repair.has_service_level());
  EXPECT_DOUBLE_EQ(repair.service_level(), 1.0);
  EXPECT_TRUE(repair.has_average_speed_of_answer());
  EXPECT_EQ(repair.agents_busy(), 1) << "wang.wei holds the chat";
  EXPECT_EQ(repair.agents_available(), 2) << "li.na and zhao.min hold nothing";
  EXPECT_EQ(repair.agents_not_ready(), 0);
  EXPECT_EQ(repair.agents_offline(), 0);

  v1::QueueStats app_stats = d.QueueStats("repair.app");
  EXPECT_EQ(app_stats.entered_count(), 1);
  EXPECT_EQ(app_stats.answered_count(), 1);

  v1::AgentStats li_stats = d.AgentStats("li.na");
  EXPECT_EQ(li_stats.agent_id(), "li.na");
  EXPECT_EQ(li_stats.offers_count(), 2);
  EXPECT_EQ(li_stats.accepted_count(), 2);
  EXPECT_EQ(li_stats.assigned_count(), 2);
  EXPECT_EQ(li_stats.completed_count(), 2);
  EXPECT_EQ(li_stats.rejected_count(), 0);
  EXPECT_EQ(li_stats.expired_count(), 0);
  EXPECT_EQ(li_stats.transferred_count(), 0);
  EXPECT_TRUE(li_stats.has_average_handle_duration());
  EXPECT_TRUE(li_stats.has_average_wrap_up_duration());
  EXPECT_EQ(li_stats.status().used_budget(), 0);
  EXPECT_EQ(li_stats.status().presence(), v1::PRESENCE_AVAILABLE);

  v1::AgentStats wang_stats = d.AgentStats("wang.wei");
  EXPECT_EQ(wang_stats.offers_count(), 1);
  EXPECT_EQ(wang_stats.accepted_count(), 1);
  EXPECT_EQ(wang_stats.completed_count(), 0);
  EXPECT_EQ(wang_stats.status().used_budget(), 20);
  EXPECT_THAT(wang_stats.status().session_ids(), ElementsAre(s_chat));
  ASSERT_EQ(wang_stats.status().load_size(), 1);
  EXPECT_EQ(wang_stats.status().load(0).channel_id(), "wechat");
  EXPECT_EQ(wang_stats.status().load(0).active(), 1);

  v1::AgentStats zhao_stats = d.AgentStats("zhao.min");
  EXPECT_EQ(zhao_stats.offers_count(), 0);

  d.StopCleanly();
}

TEST(Day, AChatGoesToTheCustomersFavouriteFirst) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDayConfig));
  EventLog log(d);
  Desktop wang(d, "wang.wei");
  ASSERT_THAT(d.SetPresence("li.na", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("wang.wei", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=li.na",
                                      "PRESENCE_CHANGED agent=wang.wei"));

  // li.na has been idle longer, but the customer's favourite is wang.wei.
  v1::CreateSessionRequest chat = NewSession("wx-fav", "wechat", "repair");
  chat.mutable_customer()->set_id("cust-9");
  chat.mutable_customer()->add_preferred_agent_ids("wang.wei");
  const std::string s = d.Create(chat);
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + s,
                                      "OFFER_CREATED session=" + s + " agent=wang.wei"));
  std::optional<v1::Offer> offer = wang.AwaitOffer(s);
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->reason().stage(), v1::ROUTING_STAGE_PREFERRED);
  EXPECT_EQ(d.Session(s).stage(), v1::ROUTING_STAGE_PREFERRED);

  // A plain chat without a favourite goes to the longest idle: li.na.
  const std::string s2 = d.Create(NewSession("wx-plain", "wechat", "repair"));
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_CREATED session=" + s2,
                                          "OFFER_CREATED session=" + s2 + " agent=li.na"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[1].reason().strategy(), "longest_idle");
  EXPECT_EQ(raw[1].reason().decided_by(), v1::DECIDER_PRIMARY_KEY);
  EXPECT_EQ(raw[1].reason().runner_up_agent_id(), "wang.wei");
  EXPECT_EQ(raw[1].session_state(), v1::SESSION_STATE_OFFERED);
  d.StopCleanly();
}

TEST(Day, ThreeChatsFillAnEngineerAndTheFourthWaits) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDayConfig));
  EventLog log(d);
  ASSERT_THAT(d.SetPresence("wang.wei", v1::PRESENCE_AVAILABLE), IsOk());
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(d.Create(NewSession("wx-fill-" + std::to_string(i), "wechat", "repair")));
  }
  EXPECT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=wang.wei",
                                      "SESSION_CREATED session=" + ids[0],
                                      "OFFER_CREATED session=" + ids[0] + " agent=wang.wei",
                                      "SESSION_CREATED session=" + ids[1],
                                      "OFFER_CREATED session=" + ids[1] + " agent=wang.wei",
                                      "SESSION_CREATED session=" + ids[2],
                                      "OFFER_CREATED session=" + ids[2] + " agent=wang.wei",
                                      "SESSION_CREATED session=" + ids[3]));
  v1::Agent wang = d.Agent("wang.wei");
  EXPECT_EQ(wang.status().used_budget(), 60);
  EXPECT_THAT(wang.status().session_ids(), ElementsAre(ids[0], ids[1], ids[2]));
  // A call cannot fit either.
  const std::string call = d.Create(NewSession("call-fill", "voice", "repair"));
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CREATED session=" + call));
  v1::QueueStats qs = d.QueueStats("repair");
  EXPECT_EQ(qs.waiting(), 2);
  EXPECT_EQ(qs.offered(), 3);
  // waiting_by_channel counts QUEUED and OFFERED (what channel_limits apply to).
  ASSERT_EQ(qs.waiting_by_channel_size(), 2);
  EXPECT_EQ(qs.waiting_by_channel(0).channel_id(), "voice");
  EXPECT_EQ(qs.waiting_by_channel(0).waiting(), 1);
  EXPECT_EQ(qs.waiting_by_channel(1).channel_id(), "wechat");
  EXPECT_EQ(qs.waiting_by_channel(1).waiting(), 4);
  EXPECT_EQ(qs.agents_busy(), 1);
  EXPECT_EQ(qs.agents_offline(), 2) << "li.na and zhao.min never logged in";
  d.StopCleanly();
}

// Robot first, human when needed.
constexpr char kBotConfig[] = R"pb(
  queues { id: "care" offer_timeout { seconds: 120 } }
  queues {
    id: "care.vip"
    offer_timeout { seconds: 120 }
    requirements { skill_id: "vip" min_level: 1 }
  }
  agents {
    id: "li.na"
    skills { skill_id: "vip" level: 3 }
    queue_ids: "care"
    queue_ids: "care.vip"
  }
)pb";

TEST(Day, ARobotChatEscalatedCarriesTheBotSummaryToTheEngineer) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kBotConfig));
  EventLog log(d);
  Desktop li(d, "li.na");
  ASSERT_THAT(d.SetPresence("li.na", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=li.na"));

  // robot_chat is bot-first: the session starts with the robot and uses nobody.
  v1::CreateSessionRequest bot = NewSession("bot-1", "robot_chat", "care");
  bot.set_intent("unknown");
  v1::Session created;
  const std::string s = d.Create(bot, &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_BOT);
  EXPECT_FALSE(created.has_wait_start_time()) << "unset while in BOT";
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_CREATED session=" + s));
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].session_state(), v1::SESSION_STATE_BOT);
  EXPECT_EQ(d.Session(s).state(), v1::SESSION_STATE_BOT);
  EXPECT_EQ(d.QueueStats("care").waiting(), 0) << "a BOT session is not waiting";
  EXPECT_EQ(d.Agent("li.na").status().used_budget(), 0);

  // The robot hands over with what it learnt.
  const std::string summary =
      "Washer W-200 leaks at the door seal since Monday; bought 2024-03, under warranty.";
  v1::EscalateSessionRequest esc;
  esc.set_session_id(s);
  esc.set_intent("repair.washer.leak");
  esc.set_summary(summary);
  esc.set_priority_boost(5);
  v1::EscalateSessionResponse escalated;
  ASSERT_THAT(d.EscalateSession(esc, &escalated), IsOk());
  EXPECT_EQ(escalated.session().state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(escalated.session().bot_summary(), summary);
  raw.clear();
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_ESCALATED session=" + s,
                                          "OFFER_CREATED session=" + s + " agent=li.na"));
  ASSERT_EQ(raw.size(), 2u);
  EXPECT_EQ(raw[0].detail(), summary) << "SESSION_ESCALATED's detail carries the summary";
  EXPECT_EQ(raw[0].session_state(), v1::SESSION_STATE_QUEUED);

  std::optional<v1::Offer> offer = li.AwaitOffer(s);
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->session().bot_summary(), summary);
  EXPECT_EQ(offer->session().intent(), "repair.washer.leak");
  EXPECT_EQ(offer->session().priority(), 5);
  EXPECT_EQ(offer->session().channel_id(), "robot_chat");

  v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(now.bot_summary(), summary);
  EXPECT_EQ(now.intent(), "repair.washer.leak");
  EXPECT_TRUE(now.has_wait_start_time());

  // Escalating again is refused: no longer in BOT. Nothing changes.
  EXPECT_THAT(d.EscalateSession(esc), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(log.Sync(), IsEmpty());

  // A WeChat chat started in the bot, escalated to the VIP queue with an extra requirement.
  v1::CreateSessionRequest wx = NewSession("bot-2", "wechat", "care");
  wx.set_start_in_bot(true);
  const std::string s2 = d.Create(wx, &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_BOT);
  esc.Clear();
  esc.set_session_id(s2);
  esc.set_summary("VIP asks for a home visit");
  esc.set_queue_id("care.vip");
  auto* r = esc.add_requirements();
  r->set_skill_id("vip");
  r->set_min_level(2);
  ASSERT_THAT(d.EscalateSession(esc, &escalated), IsOk());
  EXPECT_EQ(escalated.session().queue_id(), "care.vip");
  raw.clear();
  std::vector<std::string> events = log.Sync(&raw);
  ASSERT_EQ(events.size(), 3u) << Describe(raw);
  EXPECT_EQ(events[0], "SESSION_CREATED session=" + s2);
  EXPECT_EQ(raw[1].type(), v1::EVENT_TYPE_SESSION_ESCALATED);
  EXPECT_EQ(raw[1].detail(), "VIP asks for a home visit");
  // The contract does not say which of queue_id/to_queue_id names the new queue: one must.
  EXPECT_TRUE(raw[1].queue_id() == "care.vip" || raw[1].to_queue_id() == "care.vip")
      << ShortDebug(raw[1]);
  EXPECT_EQ(events[2], "OFFER_CREATED session=" + s2 + " agent=li.na");
  offer = li.AwaitOffer(s2);
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->session().queue_id(), "care.vip");
  EXPECT_EQ(offer->session().bot_summary(), "VIP asks for a home visit");
  bool has_vip2 = false;
  for (const v1::Requirement& q : offer->session().requirements_in_force()) {
    if (q.skill_id() == "vip" && q.min_level() == 2) has_vip2 = true;
  }
  EXPECT_TRUE(has_vip2) << "escalation requirements merge, highest level wins: "
                        << ShortDebug(offer->session());

  v1::QueueStats care = d.QueueStats("care");
  EXPECT_EQ(care.entered_count(), 1) << "only the first escalation entered `care`";
  EXPECT_EQ(d.QueueStats("care.vip").entered_count(), 1);
  d.StopCleanly();
}

TEST(Day, CancelledAndAbandonedSessionsCountAsSuch) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kDayConfig));
  EventLog log(d);
  Desktop li(d, "li.na");
  ASSERT_THAT(d.SetPresence("li.na", v1::PRESENCE_AVAILABLE), IsOk());
  // Offered to li.na, then the customer hangs up: the offer is rescinded on her desktop.
  const std::string s1 = d.Create(NewSession("c-1", "voice", "repair"));
  std::optional<v1::Offer> offer = li.AwaitOffer(s1);
  ASSERT_TRUE(offer.has_value());
  // A second call waits (li.na is full), the gateway withdraws it.
  const std::string s2 = d.Create(NewSession("c-2", "voice", "repair"));
  EXPECT_THAT(log.Sync(), ElementsAre("PRESENCE_CHANGED agent=li.na",
                                      "SESSION_CREATED session=" + s1,
                                      "OFFER_CREATED session=" + s1 + " agent=li.na",
                                      "SESSION_CREATED session=" + s2));
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(s2);
  cancel.set_kind(v1::CANCEL_KIND_WITHDRAWN);
  cancel.set_reason("served by the shop");
  v1::CancelSessionResponse cancelled;
  ASSERT_THAT(d.CancelSession(cancel, &cancelled), IsOk());
  EXPECT_EQ(cancelled.session().state(), v1::SESSION_STATE_CANCELLED);
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_CANCELLED session=" + s2));

  cancel.set_session_id(s1);
  cancel.clear_kind();  // default: the customer left
  cancel.set_reason("hung up");
  ASSERT_THAT(d.CancelSession(cancel, &cancelled), IsOk());
  EXPECT_EQ(cancelled.session().state(), v1::SESSION_STATE_ABANDONED);
  EXPECT_THAT(log.Sync(), ElementsAre("OFFER_RESCINDED session=" + s1 + " agent=li.na",
                                      "SESSION_ABANDONED session=" + s1));
  std::optional<v1::StreamOffersResponse> end = li.AwaitOfferEnd(s1);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->offer_end().reason(), v1::OFFER_END_REASON_RESCINDED);
  EXPECT_EQ(end->offer_end().offer_id(), offer->offer_id());
  EXPECT_EQ(d.Agent("li.na").status().used_budget(), 0);

  // Cancelling a finished session is refused.
  EXPECT_THAT(d.CancelSession(cancel), StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(log.Sync(), IsEmpty());

  v1::QueueStats qs = d.QueueStats("repair");
  EXPECT_EQ(qs.entered_count(), 2);
  EXPECT_EQ(qs.answered_count(), 0);
  EXPECT_EQ(qs.abandoned_count(), 1) << "a withdrawn session is not an abandonment";
  ASSERT_TRUE(qs.has_abandonment_rate());
  EXPECT_DOUBLE_EQ(qs.abandonment_rate(), 1.0);
  ASSERT_TRUE(qs.has_service_level());
  EXPECT_DOUBLE_EQ(qs.service_level(), 0.0);
  EXPECT_FALSE(qs.has_average_speed_of_answer());
  EXPECT_EQ(qs.waiting(), 0);
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
