// Customer rules, appointments and callbacks over the wire, against the real daemon: a VIP
// rule raising a session's priority (served first, the rule named in the routing reason); a
// risk-tag rule that only an expert may serve, even once relaxation lets anyone else take it;
// a booked session that waits SCHEDULED (no offer although an agent is free) until its window
// opens, then is offered, and the queue's appointment figures; a callback that keeps its place
// and is offered as an outbound call; scheduled sessions, callbacks and rules surviving a
// clean restart and a kill -9; and bad values of every new field refused with INVALID_ARGUMENT
// naming the field, changing nothing.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// "care": a VIP rule (level 2 and above, +300) and a language rule with a name of its own;
// every targeted stage skipped so that the queue stage decides at once. "risk": requires the
// complaints skill at level 4, relaxed to any agent after 1 s, and a tag rule reserving
// risk-tagged customers for experts. "field": booked visits (appointment_priority default).
constexpr char kConfig[] = R"pb(
  queues {
    id: "care"
    offer_timeout { seconds: 120 }
    preferred_timeout { seconds: 0 }
    last_agent_timeout { seconds: 0 }
    vip_timeout { seconds: 0 }
    tag_rules { min_vip_level: 2 priority_boost: 300 }
    tag_rules { name: "english" language: "en-US" priority_boost: 5 }
  }
  queues {
    id: "risk"
    offer_timeout { seconds: 120 }
    preferred_timeout { seconds: 0 }
    last_agent_timeout { seconds: 0 }
    vip_timeout { seconds: 0 }
    requirements { skill_id: "complaints" min_level: 4 }
    relaxation_steps {
      after { seconds: 1 }
      action: RELAX_ACTION_ANY_AGENT
    }
    tag_rules { tag: "risk:negative-social" min_tier: AGENT_TIER_EXPERT }
  }
  queues {
    id: "field"
    offer_timeout { seconds: 120 }
    preferred_timeout { seconds: 0 }
    last_agent_timeout { seconds: 0 }
    vip_timeout { seconds: 0 }
  }
  agents { id: "ann" queue_ids: "care" }
  agents { id: "rita" tier: AGENT_TIER_CORE queue_ids: "risk" }
  agents { id: "xena" tier: AGENT_TIER_EXPERT queue_ids: "risk" }
  agents { id: "tom" queue_ids: "field" }
)pb";

// A Timestamp `ms` milliseconds from now on the wall clock (the daemon's clock).
google::protobuf::Timestamp FromNow(int64_t ms) {
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     ms * 1000;
  google::protobuf::Timestamp t;
  t.set_seconds(us / 1000000);
  t.set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
  return t;
}

grpc::Status RequestCallback(Daemon& d, const std::string& session, const std::string& number,
                             v1::RequestCallbackResponse* response = nullptr) {
  v1::RequestCallbackRequest request;
  request.set_session_id(session);
  request.set_callback_number(number);
  v1::RequestCallbackResponse ignored;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  return d.sessions().RequestCallback(&context, request, response != nullptr ? response : &ignored);
}

v1::CreateSessionRequest Booking(const std::string& request_id, int64_t start_ms, int64_t end_ms) {
  v1::CreateSessionRequest r = NewSession(request_id, "voice", "field");
  *r.mutable_appointment()->mutable_start_time() = FromNow(start_ms);
  *r.mutable_appointment()->mutable_end_time() = FromNow(end_ms);
  return r;
}

void Accept(Daemon& d, const std::string& session, const std::string& agent) {
  v1::AcceptOfferRequest accept;
  accept.set_session_id(session);
  accept.set_agent_id(agent);
  EXPECT_THAT(d.AcceptOffer(accept), IsOk()) << session << " by " << agent;
}

// ---------------------------------------------------------------------------------------------
// Customer rules

TEST(CustomerRules, AVipRuleRaisesThePriorityAndIsServedFirst) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  Desktop ann(d, "ann");

  // Both wait (ann is offline): first a plain customer, then a VIP of level 2.
  v1::CreateSessionRequest plain = NewSession("plain", "voice", "care");
  plain.mutable_customer()->set_id("cust-plain");
  plain.set_priority(100);
  const std::string p = d.Create(plain);
  v1::CreateSessionRequest vip = NewSession("vip", "voice", "care");
  vip.mutable_customer()->set_id("cust-vip");
  vip.mutable_customer()->set_vip_level(2);
  vip.mutable_customer()->set_language("en-US");
  v1::Session created;
  const std::string v = d.Create(vip, &created);
  EXPECT_EQ(created.priority(), 305) << "0 + 300 (vip>=2) + 5 (english)";
  EXPECT_THAT(created.rules_applied(), ElementsAre("vip>=2", "english"))
      << "an unnamed rule is named after its conditions";
  EXPECT_EQ(created.min_tier(), v1::AGENT_TIER_UNSPECIFIED);
  EXPECT_EQ(d.Session(p).priority(), 100);
  EXPECT_THAT(d.Session(p).rules_applied(), IsEmpty());

  // A VIP of level 1 does not match.
  v1::CreateSessionRequest vip1 = NewSession("vip1", "voice", "care");
  vip1.mutable_customer()->set_vip_level(1);
  const std::string v1_id = d.Create(vip1, &created);
  EXPECT_EQ(created.priority(), 0);
  EXPECT_THAT(created.rules_applied(), IsEmpty());

  // ann comes: the VIP, created after the plain session, is offered first, and the offer says
  // which rules were in force.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  std::optional<v1::Offer> offer = ann.AwaitOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->session().id(), v);
  EXPECT_THAT(offer->reason().rules(), ElementsAre("vip>=2", "english"));
  EXPECT_FALSE(offer->outbound_callback());
  std::vector<v1::Event> raw;
  log.Sync(&raw);
  bool saw = false;
  for (const v1::Event& e : raw) {
    if (e.type() != v1::EVENT_TYPE_OFFER_CREATED) continue;
    saw = true;
    EXPECT_EQ(e.session_id(), v);
    EXPECT_THAT(e.reason().rules(), ElementsAre("vip>=2", "english"));
  }
  EXPECT_TRUE(saw) << Describe(raw);

  Accept(d, v, "ann");
  v1::CompleteSessionRequest complete;
  complete.set_session_id(v);
  complete.set_agent_id("ann");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  v1::EndWrapUpRequest end;
  end.set_session_id(v);
  end.set_agent_id("ann");
  ASSERT_THAT(d.EndWrapUp(end), IsOk());
  // Then the plain one (priority 100 beats the level-1 VIP's 0).
  offer = ann.AwaitOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->session().id(), p);
  EXPECT_THAT(offer->reason().rules(), IsEmpty());
  EXPECT_NE(v1_id, "");
}

TEST(CustomerRules, ARiskCustomerGoesOnlyToAnExpertEvenAfterRelaxation) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  Desktop rita(d, "rita");
  Desktop xena(d, "xena");
  // rita (core, no complaints skill) is available; xena (expert) not yet.
  ASSERT_THAT(d.SetPresence("rita", v1::PRESENCE_AVAILABLE), IsOk());
  log.Sync();

  v1::CreateSessionRequest r = NewSession("risky", "voice", "risk");
  r.mutable_customer()->set_id("cust-angry");
  r.mutable_customer()->add_tags("risk:negative-social");
  v1::Session created;
  const std::string s = d.Create(r, &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(created.min_tier(), v1::AGENT_TIER_EXPERT);
  EXPECT_THAT(created.rules_applied(), ElementsAre("tag=risk:negative-social"));

  // After 1 s the requirements relax to "any agent of the queue": rita would qualify, but the
  // rule's minimum tier does not relax.
  std::vector<std::string> skipped;
  std::optional<v1::Event> relaxed = log.Await(v1::EVENT_TYPE_SESSION_RELAXED, s, "", &skipped);
  ASSERT_TRUE(relaxed.has_value());
  EXPECT_THAT(skipped, ElementsAre("SESSION_CREATED session=" + s));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_THAT(log.Sync(), IsEmpty()) << "no offer to rita";
  v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(now.relaxation_step(), 1);
  EXPECT_THAT(now.requirements_in_force(), IsEmpty());
  EXPECT_EQ(now.min_tier(), v1::AGENT_TIER_EXPERT);

  // A customer without the tag is rita's at once (relaxed after 1 s, like the other).
  v1::CreateSessionRequest calm = NewSession("calm", "voice", "risk");
  calm.mutable_customer()->set_id("cust-calm");
  const std::string c = d.Create(calm);
  std::optional<v1::Offer> to_rita = rita.AwaitOffer(c);
  ASSERT_TRUE(to_rita.has_value()) << "the relaxed plain session goes to rita";
  EXPECT_THAT(to_rita->reason().rules(), IsEmpty());

  // xena, an expert, comes: the risk session is hers.
  ASSERT_THAT(d.SetPresence("xena", v1::PRESENCE_AVAILABLE), IsOk());
  std::optional<v1::Offer> to_xena = xena.AwaitOffer(s);
  ASSERT_TRUE(to_xena.has_value());
  EXPECT_THAT(to_xena->reason().rules(), ElementsAre("tag=risk:negative-social"));
  EXPECT_EQ(to_xena->session().min_tier(), v1::AGENT_TIER_EXPERT);
}

// ---------------------------------------------------------------------------------------------
// Appointments

TEST(Appointments, ABookedSessionWaitsScheduledThenIsOfferedAtItsWindow) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  Desktop tom(d, "tom");
  ASSERT_THAT(d.SetPresence("tom", v1::PRESENCE_AVAILABLE), IsOk());
  log.Sync();

  // Booked 1.5 s ahead, for a minute; tom is free but must not get it before then.
  const auto booked_at = std::chrono::steady_clock::now();
  v1::CreateSessionRequest book = Booking("visit-1", 1500, 60000);
  v1::Session created;
  const std::string s = d.Create(book, &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_SCHEDULED);
  ASSERT_TRUE(created.has_appointment());
  EXPECT_EQ(Micros(created.appointment().start_time()), Micros(book.appointment().start_time()));
  EXPECT_EQ(Micros(created.appointment().end_time()), Micros(book.appointment().end_time()));
  EXPECT_FALSE(created.has_wait_start_time()) << "not in the queue yet";
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("SESSION_CREATED session=" + s));
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].session_state(), v1::SESSION_STATE_SCHEDULED);

  v1::QueueStats stats = d.QueueStats("field");
  EXPECT_EQ(stats.appointments_scheduled(), 1);
  EXPECT_EQ(stats.waiting(), 0);
  EXPECT_EQ(stats.entered_count(), 0);
  v1::ListSessionsRequest list;
  list.add_states(v1::SESSION_STATE_SCHEDULED);
  v1::ListSessionsResponse listed;
  ASSERT_THAT(d.ListSessions(list, &listed), IsOk());
  ASSERT_EQ(listed.sessions_size(), 1);
  EXPECT_EQ(listed.sessions(0).id(), s);

  // The window opens: into the queue with the queue's appointment priority, offered to tom.
  std::optional<v1::Offer> offer = tom.AwaitOffer(s, milliseconds(15000));
  ASSERT_TRUE(offer.has_value());
  const auto offered_after = std::chrono::steady_clock::now() - booked_at;
  EXPECT_GE(offered_after, milliseconds(1300)) << "offered before its window";
  EXPECT_GE(offer->session().priority(), 800);
  EXPECT_EQ(offer->session().state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(Micros(offer->session().wait_start_time()), Micros(book.appointment().start_time()))
      << "the wait counts from the window's start";
  EXPECT_THAT(log.Sync(), ElementsAre("SESSION_WINDOW_OPENED session=" + s,
                                      "OFFER_CREATED session=" + s + " agent=tom"));
  Accept(d, s, "tom");
  v1::Session assigned = d.Session(s);
  EXPECT_EQ(assigned.state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_TRUE(assigned.has_assign_time());
  EXPECT_LE(Micros(assigned.assign_time()), Micros(assigned.appointment().end_time()));

  stats = d.QueueStats("field");
  EXPECT_EQ(stats.appointments_scheduled(), 0);
  EXPECT_EQ(stats.entered_count(), 1);
  EXPECT_EQ(stats.answered_count(), 1);
  EXPECT_EQ(stats.appointments_served_in_window(), 1);
  EXPECT_EQ(stats.appointments_served_late(), 0);

  // A booking can be cancelled while SCHEDULED: not an abandonment of the queue.
  const std::string later = d.Create(Booking("visit-2", 3600000, 7200000));
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(later);
  v1::CancelSessionResponse cancelled;
  ASSERT_THAT(d.CancelSession(cancel, &cancelled), IsOk());
  EXPECT_EQ(cancelled.session().state(), v1::SESSION_STATE_ABANDONED);
  stats = d.QueueStats("field");
  EXPECT_EQ(stats.appointments_scheduled(), 0);
  EXPECT_EQ(stats.abandoned_count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Callbacks

TEST(Callbacks, ACallbackKeepsItsPlaceAndIsOfferedAsAnOutboundCall) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  Desktop ann(d, "ann");
  const std::string first = d.Create(NewSession("c-1", "voice", "care"));
  const std::string second = d.Create(NewSession("c-2", "voice", "care"));
  log.Sync();

  // The first caller asks to be called back: still QUEUED, same place.
  v1::RequestCallbackResponse response;
  ASSERT_THAT(RequestCallback(d, first, "+86 138 0000 0000", &response), IsOk());
  EXPECT_EQ(response.session().id(), first);
  EXPECT_EQ(response.session().state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(response.session().callback_number(), "+86 138 0000 0000");
  std::vector<v1::Event> raw;
  EXPECT_THAT(log.Sync(&raw), ElementsAre("CALLBACK_REQUESTED session=" + first));
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].session_state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(raw[0].queue_id(), "care");

  // Not twice.
  EXPECT_THAT(RequestCallback(d, first, "+86 138 1111 1111"),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(d.Session(first).callback_number(), "+86 138 0000 0000");
  v1::QueueStats stats = d.QueueStats("care");
  EXPECT_EQ(stats.callbacks_requested(), 1);
  EXPECT_EQ(stats.callbacks_waiting(), 1);
  EXPECT_EQ(stats.waiting(), 2);

  // ann comes: the callback is first (it kept its place), offered as an outbound call.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  std::optional<v1::Offer> offer = ann.AwaitOffer();
  ASSERT_TRUE(offer.has_value());
  EXPECT_EQ(offer->session().id(), first);
  EXPECT_EQ(offer->session().callback_number(), "+86 138 0000 0000");
  EXPECT_TRUE(offer->outbound_callback()) << ShortDebug(*offer);
  EXPECT_EQ(offer->callback_number(), "+86 138 0000 0000");
  // Once offered it is no longer QUEUED.
  EXPECT_THAT(RequestCallback(d, first, "+86 138 0000 0000"),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  Accept(d, first, "ann");
  stats = d.QueueStats("care");
  EXPECT_EQ(stats.callbacks_waiting(), 0);
  EXPECT_EQ(stats.callbacks_requested(), 1);

  // The StreamOffers snapshot of a reconnecting desktop marks a pending callback offer too.
  ASSERT_THAT(RequestCallback(d, second, "010-8888 1234"), IsOk());
  v1::CompleteSessionRequest complete;
  complete.set_session_id(first);
  complete.set_agent_id("ann");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());
  v1::EndWrapUpRequest end;
  end.set_session_id(first);
  end.set_agent_id("ann");
  ASSERT_THAT(d.EndWrapUp(end), IsOk());
  offer = ann.AwaitOffer(second);
  ASSERT_TRUE(offer.has_value());
  EXPECT_TRUE(offer->outbound_callback());
  Desktop again(d, "ann");
  ASSERT_EQ(again.snapshot().pending_offers_size(), 1) << ShortDebug(again.snapshot());
  EXPECT_TRUE(again.snapshot().pending_offers(0).outbound_callback());
  EXPECT_EQ(again.snapshot().pending_offers(0).callback_number(), "010-8888 1234");

  // Unknown and finished sessions.
  EXPECT_THAT(RequestCallback(d, "999", "123"), StatusIs(grpc::StatusCode::NOT_FOUND));
}

// ---------------------------------------------------------------------------------------------
// Restarts

// What must survive: the rules of the queues, a SCHEDULED booking, a callback.
// `bookings` and `callbacks`: how many there are in all.
void ExpectKept(Daemon& d, const std::string& booked, const std::string& callback,
                const v1::Queue& care_before, const v1::Queue& risk_before, int bookings,
                int callbacks) {
  v1::Session b = d.Session(booked);
  EXPECT_EQ(b.state(), v1::SESSION_STATE_SCHEDULED);
  EXPECT_TRUE(b.has_appointment());
  EXPECT_FALSE(b.has_wait_start_time());
  v1::Session c = d.Session(callback);
  EXPECT_EQ(c.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_EQ(c.callback_number(), "+86 138 0000 0000");
  EXPECT_THAT(c.rules_applied(), ElementsAre("vip>=2"));
  EXPECT_EQ(c.priority(), 300);

  v1::GetQueueRequest get;
  get.set_queue_id("care");
  v1::GetQueueResponse care;
  ASSERT_THAT(d.GetQueue(get, &care), IsOk());
  EXPECT_EQ(care.queue().ShortDebugString(), care_before.ShortDebugString());
  get.set_queue_id("risk");
  v1::GetQueueResponse risk;
  ASSERT_THAT(d.GetQueue(get, &risk), IsOk());
  EXPECT_EQ(risk.queue().ShortDebugString(), risk_before.ShortDebugString());
  ASSERT_EQ(risk.queue().tag_rules_size(), 2);
  EXPECT_EQ(risk.queue().tag_rules(0).min_tier(), v1::AGENT_TIER_EXPERT);
  EXPECT_EQ(risk.queue().tag_rules(1).name(), "vip-zh");
  EXPECT_EQ(risk.queue().tag_rules(1).min_tier(), v1::AGENT_TIER_ELITE);
  EXPECT_EQ(risk.queue().appointment_priority(), 700);

  // The live figures count them from the recovered state.
  EXPECT_EQ(d.QueueStats("field").appointments_scheduled(), bookings);
  EXPECT_EQ(d.QueueStats("care").callbacks_waiting(), callbacks);
}

TEST(Restart, ScheduledSessionsCallbacksAndRulesSurviveARestartAndAKill) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  // A rule added at run time, with every field.
  v1::UpsertQueueRequest upsert;
  v1::GetQueueRequest get;
  get.set_queue_id("risk");
  v1::GetQueueResponse got;
  ASSERT_THAT(d.GetQueue(get, &got), IsOk());
  *upsert.mutable_queue() = got.queue();
  upsert.mutable_queue()->clear_agent_ids();
  v1::TagRule* rule = upsert.mutable_queue()->add_tag_rules();
  rule->set_name("vip-zh");
  rule->set_min_vip_level(3);
  rule->set_language("zh-CN");
  rule->set_priority_boost(50);
  rule->set_min_tier(v1::AGENT_TIER_ELITE);
  rule->mutable_requirement()->set_skill_id("lang.zh");
  rule->mutable_requirement()->set_min_level(3);
  upsert.mutable_queue()->set_appointment_priority(700);
  ASSERT_THAT(d.UpsertQueue(upsert), IsOk());
  v1::GetQueueResponse care_before, risk_before;
  get.set_queue_id("care");
  ASSERT_THAT(d.GetQueue(get, &care_before), IsOk());
  get.set_queue_id("risk");
  ASSERT_THAT(d.GetQueue(get, &risk_before), IsOk());
  ASSERT_EQ(risk_before.queue().tag_rules_size(), 2);
  EXPECT_EQ(risk_before.queue().appointment_priority(), 700);

  const std::string booked = d.Create(Booking("visit", 3600000, 7200000));
  v1::CreateSessionRequest vip = NewSession("cb", "voice", "care");
  vip.mutable_customer()->set_vip_level(2);
  const std::string callback = d.Create(vip);
  ASSERT_THAT(RequestCallback(d, callback, "+86 138 0000 0000"), IsOk());

  // A clean restart (state from the snapshot written at shutdown)...
  d.StopCleanly();
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  ExpectKept(d, booked, callback, care_before.queue(), risk_before.queue(), 1, 1);

  // ... and a crash after more work (state from the journal after that snapshot).
  const std::string booked2 = d.Create(Booking("visit-b", 3600000, 7200000));
  v1::CreateSessionRequest vip2 = NewSession("cb-2", "voice", "care");
  vip2.mutable_customer()->set_vip_level(4);
  const std::string callback2 = d.Create(vip2);
  ASSERT_THAT(RequestCallback(d, callback2, "+86 138 0000 0000"), IsOk());
  d.Kill();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  ExpectKept(d, booked, callback, care_before.queue(), risk_before.queue(), 2, 2);
  ExpectKept(d, booked2, callback2, care_before.queue(), risk_before.queue(), 2, 2);
  d.StopCleanly();
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST(BadInput, EveryNewFieldIsCheckedAndARefusalChangesNothing) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  EventLog log(d);
  const std::string queued = d.Create(NewSession("q-1", "voice", "care"));
  log.Sync();
  v1::GetQueueRequest get;
  get.set_queue_id("care");
  v1::GetQueueResponse before;
  ASSERT_THAT(d.GetQueue(get, &before), IsOk());

  // Queue: customer rules and appointment_priority.
  struct QueueCase {
    const char* what;
    void (*spoil)(v1::Queue*);
    const char* field;
  };
  const QueueCase queue_cases[] = {
      {"a rule without a condition",
       [](v1::Queue* q) {
         q->mutable_tag_rules(1)->clear_language();
         q->mutable_tag_rules(1)->clear_tag();
       },
       "queue.tag_rules[1]: needs a tag, min_vip_level or language"},
      {"an unknown tier",
       [](v1::Queue* q) { q->mutable_tag_rules(0)->set_min_tier(static_cast<v1::AgentTier>(9)); },
       "queue.tag_rules[0].min_tier"},
      {"a VIP level above 9", [](v1::Queue* q) { q->mutable_tag_rules(0)->set_min_vip_level(10); },
       "queue.tag_rules[0].min_vip_level"},
      {"a negative VIP level", [](v1::Queue* q) { q->mutable_tag_rules(0)->set_min_vip_level(-1); },
       "queue.tag_rules[0].min_vip_level"},
      {"a language too long",
       [](v1::Queue* q) { q->mutable_tag_rules(1)->set_language(std::string(65, 'x')); },
       "queue.tag_rules[1].language"},
      {"a name too long",
       [](v1::Queue* q) { q->mutable_tag_rules(1)->set_name(std::string(129, 'n')); },
       "queue.tag_rules[1].name"},
      {"appointment priority above 1000", [](v1::Queue* q) { q->set_appointment_priority(1001); },
       "queue.appointment_priority"},
      {"negative appointment priority", [](v1::Queue* q) { q->set_appointment_priority(-1); },
       "queue.appointment_priority"},
  };
  for (const QueueCase& k : queue_cases) {
    SCOPED_TRACE(k.what);
    v1::UpsertQueueRequest upsert;
    *upsert.mutable_queue() = before.queue();
    upsert.mutable_queue()->clear_agent_ids();
    k.spoil(upsert.mutable_queue());
    EXPECT_THAT(d.UpsertQueue(upsert), InvalidArgumentNaming(k.field));
  }

  // CreateSession: the appointment.
  struct CreateCase {
    const char* what;
    v1::CreateSessionRequest request;
    const char* field;
  };
  std::vector<CreateCase> create_cases;
  {
    v1::CreateSessionRequest r = Booking("bad-1", 60000, 30000);
    create_cases.push_back(
        {"end before start", r, "appointment.end_time: must be after start_time"});
    r = Booking("bad-2", 60000, 120000);
    r.mutable_appointment()->clear_start_time();
    create_cases.push_back({"no start", r, "appointment.start_time"});
    r = Booking("bad-3", 60000, 120000);
    r.mutable_appointment()->clear_end_time();
    create_cases.push_back({"no end", r, "appointment.end_time"});
    r = Booking("bad-4", 60000, 120000);
    r.mutable_appointment()->mutable_start_time()->set_nanos(-5);
    create_cases.push_back({"a malformed Timestamp", r, "appointment.start_time"});
    const int64_t day_ms = 24LL * 3600 * 1000;
    r = Booking("bad-5", 401 * day_ms, 402 * day_ms);
    create_cases.push_back({"more than 400 days ahead", r, "appointment.start_time"});
  }
  for (const CreateCase& k : create_cases) {
    SCOPED_TRACE(k.what);
    EXPECT_THAT(d.CreateSession(k.request), InvalidArgumentNaming(k.field));
  }

  // RequestCallback.
  EXPECT_THAT(RequestCallback(d, queued, ""), InvalidArgumentNaming("callback_number: required"));
  EXPECT_THAT(RequestCallback(d, queued, "call me!"), InvalidArgumentNaming("callback_number"));
  EXPECT_THAT(RequestCallback(d, queued, std::string(65, '1')),
              InvalidArgumentNaming("callback_number"));
  EXPECT_THAT(RequestCallback(d, "x7", "123"), InvalidArgumentNaming("session_id"));
  EXPECT_THAT(RequestCallback(d, "", "123"), InvalidArgumentNaming("session_id"));

  // Nothing changed: no event, the queue as it was, the session not a callback, no new one.
  EXPECT_THAT(log.Sync(), IsEmpty());
  v1::GetQueueResponse after;
  ASSERT_THAT(d.GetQueue(get, &after), IsOk());
  EXPECT_EQ(after.queue().ShortDebugString(), before.queue().ShortDebugString());
  EXPECT_EQ(d.Session(queued).callback_number(), "");
  v1::ListSessionsResponse all;
  ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &all), IsOk());
  EXPECT_EQ(all.sessions_size(), 1);
  EXPECT_EQ(d.QueueStats("care").callbacks_requested(), 0);
  // A refused CreateSession is not remembered: the request id is free for a good request.
  v1::CreateSessionRequest fixed = Booking("bad-1", 60000, 120000);
  EXPECT_THAT(d.CreateSession(fixed), IsOk());
  EXPECT_THAT(RequestCallback(d, queued, "+1 (555) 010-9999"), IsOk());
}

}  // namespace
}  // namespace omniroute::testing
