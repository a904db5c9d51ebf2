// The statistics book: a real engine is driven through scenarios at explicit times, every
// event it produces is fed to the book, and the figures are checked exactly.

#include "daemon/stats.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/convert.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"

namespace omniroute::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

namespace pb = google::protobuf;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// t0 + `seconds` (fractions allowed).
absl::Time T(double seconds) { return kT0 + absl::Seconds(seconds); }

absl::Duration Dur(const pb::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// (channel, waiting) pairs of a QueueStats.
std::vector<std::pair<std::string, int>> ByChannel(const v1::QueueStats& q) {
  std::vector<std::pair<std::string, int>> out;
  for (const v1::ChannelWaiting& w : q.waiting_by_channel()) {
    out.emplace_back(w.channel_id(), w.waiting());
  }
  return out;
}

// (presence, duration) pairs of an AgentStats, in the order given.
std::vector<std::pair<v1::Presence, absl::Duration>> PresenceTimes(const v1::AgentStats& a) {
  std::vector<std::pair<v1::Presence, absl::Duration>> out;
  for (const v1::PresenceTime& p : a.presence_times()) {
    out.emplace_back(p.presence(), Dur(p.duration()));
  }
  return out;
}

QueueConfig Queue(std::string id) {
  QueueConfig q;
  q.id = QueueId(std::move(id));
  return q;
}

EngineerConfig Agent(std::string id, std::vector<std::string> queues,
                     std::vector<ChannelCapacity> channels = {}) {
  EngineerConfig e;
  e.id = EngineerId(std::move(id));
  for (std::string& q : queues) e.queues.push_back(QueueId(std::move(q)));
  e.channels = std::move(channels);
  return e;
}

class StatsTest : public ::testing::Test {
 protected:
  StatsTest() : book_(absl::Hours(1)) {}

  // Applies `command` at `at`, feeding every event produced to the book; expects OK.
  std::vector<Event> Apply(const Command& command, absl::Time at) {
    std::vector<Event> events;
    const absl::Status s = engine_.Apply(command, at, &events);
    Feed(events);
    EXPECT_TRUE(s.ok()) << CommandName(command) << ": " << s << Log();
    return events;
  }

  void AdvanceTo(absl::Time at) {
    std::vector<Event> events;
    engine_.Advance(at, &events);
    Feed(events);
  }

  void Feed(const std::vector<Event>& events) {
    for (const Event& e : events) {
      book_.Observe(e, engine_);
      absl::StrAppend(&log_, e.ToString(), "\n");
    }
  }

  std::string Log() const { return absl::StrCat("\n--- events ---\n", log_); }

  void AddQueue(QueueConfig q, absl::Time at = T(0)) { Apply(UpsertQueue{std::move(q)}, at); }
  void AddAgent(EngineerConfig e, absl::Time at = T(0)) { Apply(UpsertEngineer{std::move(e)}, at); }
  void SetPresenceAt(const std::string& agent, Presence p, absl::Time at, std::string reason = "",
                     absl::Duration d = absl::ZeroDuration()) {
    if (p == Presence::kNotReady && reason.empty()) reason = "break";
    Apply(SetPresence{EngineerId(agent), p, std::move(reason), d}, at);
  }

  SessionId Create(const std::string& queue, const std::string& channel, absl::Time at,
                   bool bot = false) {
    CreateSession c;
    c.queue = QueueId(queue);
    c.channel = ChannelId(channel);
    c.start_in_bot = bot;
    for (const Event& e : Apply(c, at)) {
      if (e.type == EventType::kSessionCreated) return e.session;
    }
    ADD_FAILURE() << "no SESSION_CREATED" << Log();
    return SessionId();
  }
  // A booked session: SCHEDULED until `start` (when `start` is after `at`).
  SessionId Book(const std::string& queue, const std::string& channel, absl::Time at,
                 absl::Time start, absl::Time end) {
    CreateSession c;
    c.queue = QueueId(queue);
    c.channel = ChannelId(channel);
    c.window_start = start;
    c.window_end = end;
    for (const Event& e : Apply(c, at)) {
      if (e.type == EventType::kSessionCreated) return e.session;
    }
    ADD_FAILURE() << "no SESSION_CREATED" << Log();
    return SessionId();
  }
  void Callback(SessionId s, absl::Time at, std::string number = "+86 138 0000 0000") {
    Apply(RequestCallback{s, std::move(number)}, at);
  }
  SessionState StateOf(SessionId s) {
    std::optional<SessionInfo> info = engine_.GetSession(s);
    EXPECT_TRUE(info.has_value()) << "session " << s.value() << Log();
    return info.has_value() ? info->state : SessionState::kBot;
  }
  // The agent a direct offer of `s` is out to.
  std::string OfferedTo(SessionId s) {
    std::optional<SessionInfo> info = engine_.GetSession(s);
    EXPECT_TRUE(info.has_value() && info->state == SessionState::kOffered)
        << "session " << s.value() << " is not offered" << Log();
    return info.has_value() ? info->engineer.value() : "";
  }
  void Accept(SessionId s, const std::string& agent, absl::Time at) {
    Apply(AcceptOffer{s, EngineerId(agent)}, at);
  }
  // Accepts the direct offer of `s`, whoever it is out to; returns that agent.
  std::string AcceptAny(SessionId s, absl::Time at) {
    std::string agent = OfferedTo(s);
    Accept(s, agent, at);
    return agent;
  }
  void Reject(SessionId s, const std::string& agent, absl::Time at) {
    Apply(RejectOffer{s, EngineerId(agent), "busy"}, at);
  }
  void Claim(SessionId s, const std::string& agent, absl::Time at) {
    Apply(ClaimOffer{s, EngineerId(agent)}, at);
  }
  void Complete(SessionId s, const std::string& agent, absl::Time at) {
    Apply(CompleteSession{s, EngineerId(agent)}, at);
  }
  void EndWrap(SessionId s, const std::string& agent, absl::Time at) {
    Apply(EndWrapUp{s, EngineerId(agent)}, at);
  }
  void Cancel(SessionId s, bool abandoned, absl::Time at) {
    Apply(CancelSession{s, abandoned, abandoned ? "hung up" : "gateway"}, at);
  }
  void Escalate(SessionId s, const std::string& queue, absl::Time at) {
    EscalateSession c;
    c.session = s;
    c.queue = QueueId(queue);
    Apply(c, at);
  }
  void Transfer(SessionId s, const std::string& queue, absl::Time at) {
    TransferSession c;
    c.session = s;
    c.queue = QueueId(queue);
    Apply(c, at);
  }

  // The figures at `now` (the engine is advanced to it first).
  v1::QueueStats Q(const std::string& queue, absl::Time now,
                   absl::Duration window = absl::Hours(1)) {
    AdvanceTo(now);
    absl::StatusOr<v1::QueueStats> s = book_.QueueStats(engine_, QueueId(queue), now, window);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : v1::QueueStats();
  }
  v1::AgentStats A(const std::string& agent, absl::Time now,
                   absl::Duration window = absl::Hours(1)) {
    AdvanceTo(now);
    absl::StatusOr<v1::AgentStats> s = book_.AgentStats(engine_, EngineerId(agent), now, window);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : v1::AgentStats();
  }

  Engine engine_;
  StatsBook book_;
  std::string log_;
};

// ---------------------------------------------------------------------------------------------
// Queue: live figures

TEST_F(StatsTest, LiveQueueFiguresAndAgentsByState) {
  QueueConfig support = Queue("support");
  support.offer_timeout = absl::Minutes(10);  // the webchat offer stays out for the query
  AddQueue(support);
  AddQueue(Queue("other"));
  AddAgent(Agent("ann", {"support"}));                                   // busy, not ready
  AddAgent(Agent("bob", {"support"}));                                   // not ready
  AddAgent(Agent("cara", {"support"}));                                  // presence wrap-up
  AddAgent(Agent("dan", {"support"}));                                   // offline
  AddAgent(Agent("eve", {"support"}, {{ChannelId("email"), 1, -1}}));    // available, idle
  AddAgent(Agent("fay", {"other"}));                                     // not of the queue
  AddAgent(Agent("gus", {"support"}, {{ChannelId("webchat"), 1, -1}}));  // offered
  SetPresenceAt("ann", Presence::kAvailable, T(0));
  SetPresenceAt("bob", Presence::kNotReady, T(0), "lunch");
  SetPresenceAt("cara", Presence::kWrapUp, T(0), "", absl::Minutes(10));
  SetPresenceAt("eve", Presence::kAvailable, T(0));
  SetPresenceAt("fay", Presence::kAvailable, T(0));
  SetPresenceAt("gus", Presence::kAvailable, T(0));

  const SessionId call = Create("support", "voice", T(1));
  EXPECT_EQ(OfferedTo(call), "ann");
  Accept(call, "ann", T(2));
  SetPresenceAt("ann", Presence::kNotReady, T(3));  // keeps the call: still busy

  Create("support", "voice", T(10));
  Create("support", "wechat", T(20));
  Create("support", "wechat", T(30));
  const SessionId web = Create("support", "webchat", T(40));
  EXPECT_EQ(OfferedTo(web), "gus");

  const v1::QueueStats q = Q("support", T(100), absl::Minutes(15));
  EXPECT_EQ(q.queue_id(), "support");
  EXPECT_EQ(TimeFromProto(q.compute_time()), T(100));
  EXPECT_EQ(Dur(q.window()), absl::Minutes(15));
  EXPECT_EQ(q.waiting(), 3);
  EXPECT_EQ(q.offered(), 1);
  // The engine's per-channel figure counts the OFFERED webchat too (see stats.h).
  EXPECT_THAT(ByChannel(q), ElementsAre(Pair("voice", 1), Pair("webchat", 1), Pair("wechat", 2)));
  EXPECT_EQ(TimeFromProto(q.oldest_wait_start_time()), T(10));
  EXPECT_EQ(Dur(q.oldest_wait()), absl::Seconds(90));
  EXPECT_EQ(q.agents_busy(), 2);       // ann (not ready, holds a call), gus (an offer out)
  EXPECT_EQ(q.agents_available(), 1);  // eve
  EXPECT_EQ(q.agents_not_ready(), 2);  // bob, cara
  EXPECT_EQ(q.agents_offline(), 1);    // dan
  EXPECT_EQ(q.entered_count(), 5);
  EXPECT_EQ(q.answered_count(), 1);
  EXPECT_EQ(book_.waiting_sessions(), 4);

  const v1::QueueStats other = Q("other", T(100));
  EXPECT_EQ(other.waiting(), 0);
  EXPECT_TRUE(ByChannel(other).empty());
  EXPECT_FALSE(other.has_oldest_wait_start_time());
  EXPECT_FALSE(other.has_oldest_wait());
  EXPECT_EQ(other.agents_available(), 1);  // fay
}

// ---------------------------------------------------------------------------------------------
// Queue: windowed figures

TEST_F(StatsTest, ServiceLevelSpeedOfAnswerAndAbandonment) {
  AddQueue(Queue("support"));  // threshold 20 s, goal 0.8
  for (const char* a : {"ann", "bob", "cara", "dan"}) AddAgent(Agent(a, {"support"}));

  const SessionId s1 = Create("support", "voice", T(0));
  const SessionId s2 = Create("support", "voice", T(10));
  SetPresenceAt("ann", Presence::kAvailable, T(15));
  Accept(s1, "ann", T(15));  // waited 15 s: in
  const SessionId s3 = Create("support", "voice", T(20));
  SetPresenceAt("bob", Presence::kAvailable, T(30));
  Accept(s2, "bob", T(30));  // waited exactly 20 s: in
  SetPresenceAt("cara", Presence::kAvailable, T(51));
  Accept(s3, "cara", T(51));  // waited 31 s: out

  const SessionId s4 = Create("support", "voice", T(60));
  const SessionId s5 = Create("support", "voice", T(61), /*bot=*/true);
  Cancel(s5, /*abandoned=*/true, T(62));  // left the bot: not a queue abandonment
  const SessionId s6 = Create("support", "voice", T(63));
  Cancel(s6, /*abandoned=*/false, T(64));  // withdrawn by the gateway: not one either
  Cancel(s4, /*abandoned=*/true, T(70));   // left while QUEUED: counts
  SetPresenceAt("dan", Presence::kAvailable, T(79));
  const SessionId s7 = Create("support", "voice", T(80));
  EXPECT_EQ(OfferedTo(s7), "dan");
  Cancel(s7, /*abandoned=*/true, T(85));  // OFFERED: counts

  const v1::QueueStats q = Q("support", T(100));
  EXPECT_EQ(q.entered_count(), 6);  // not the one created with the bot
  EXPECT_EQ(q.answered_count(), 3);
  EXPECT_EQ(q.answered_in_threshold_count(), 2);
  EXPECT_EQ(q.abandoned_count(), 2);
  EXPECT_EQ(q.overflowed_count(), 0);
  ASSERT_TRUE(q.has_service_level());
  EXPECT_DOUBLE_EQ(q.service_level(), 2.0 / 5.0);
  ASSERT_TRUE(q.has_abandonment_rate());
  EXPECT_DOUBLE_EQ(q.abandonment_rate(), 2.0 / 5.0);
  ASSERT_TRUE(q.has_average_speed_of_answer());
  EXPECT_EQ(Dur(q.average_speed_of_answer()), absl::Seconds(22)) << Log();  // (15 + 20 + 31) / 3
  EXPECT_DOUBLE_EQ(q.service_level_goal(), 0.8);
  EXPECT_EQ(Dur(q.service_level_threshold()), absl::Seconds(20));
  EXPECT_EQ(book_.waiting_sessions(), 0);
}

TEST_F(StatsTest, RatesAndSpeedOfAnswerUnsetWithNothingToDivideBy) {
  QueueConfig idle = Queue("idle");
  idle.service_level_threshold = absl::Seconds(45);
  idle.service_level_goal = 0.9;
  AddQueue(idle);
  Create("idle", "voice", T(5));

  const v1::QueueStats q = Q("idle", T(10));
  EXPECT_EQ(q.entered_count(), 1);
  EXPECT_EQ(q.answered_count(), 0);
  EXPECT_EQ(q.abandoned_count(), 0);
  EXPECT_FALSE(q.has_service_level());
  EXPECT_FALSE(q.has_abandonment_rate());
  EXPECT_FALSE(q.has_average_speed_of_answer());
  EXPECT_DOUBLE_EQ(q.service_level_goal(), 0.9);
  EXPECT_EQ(Dur(q.service_level_threshold()), absl::Seconds(45));
}

TEST_F(StatsTest, ThresholdInForceWhenAnsweredCounts) {
  QueueConfig support = Queue("support");
  AddQueue(support);
  AddAgent(Agent("ann", {"support"}));
  AddAgent(Agent("bob", {"support"}));

  const SessionId s1 = Create("support", "voice", T(0));
  SetPresenceAt("ann", Presence::kAvailable, T(25));
  Accept(s1, "ann", T(25));  // 25 s > 20 s: out

  support.service_level_threshold = absl::Seconds(30);
  AddQueue(support, T(30));
  const SessionId s2 = Create("support", "voice", T(40));
  SetPresenceAt("bob", Presence::kAvailable, T(65));
  Accept(s2, "bob", T(65));  // 25 s <= 30 s: in

  const v1::QueueStats q = Q("support", T(70));
  EXPECT_EQ(q.answered_count(), 2);
  EXPECT_EQ(q.answered_in_threshold_count(), 1);
  EXPECT_EQ(Dur(q.service_level_threshold()), absl::Seconds(30));
  EXPECT_EQ(Dur(q.average_speed_of_answer()), absl::Seconds(25));
}

TEST_F(StatsTest, OverflowTransferAndEscalationEnterTheTargetQueue) {
  AddQueue(Queue("backup"));
  AddQueue(Queue("tech"));
  QueueConfig general = Queue("general");
  general.overflow_after = absl::Seconds(60);
  general.overflow_queue = QueueId("backup");
  AddQueue(general);
  QueueConfig lone = Queue("lone");
  lone.overflow_after = absl::Seconds(30);  // no overflow queue: out of the router
  AddQueue(lone);
  AddAgent(Agent("bob", {"backup"}));
  AddAgent(Agent("tess", {"tech"}));

  const SessionId s1 = Create("general", "voice", T(0));
  Create("lone", "voice", T(0));
  const SessionId s3 = Create("general", "voice", T(0), /*bot=*/true);
  EXPECT_EQ(book_.waiting_sessions(), 3);
  AdvanceTo(T(60));  // lone's call leaves at 30 s, s1 moves to backup at 60 s
  EXPECT_EQ(book_.waiting_sessions(), 2) << Log();

  SetPresenceAt("bob", Presence::kAvailable, T(70));
  Accept(s1, "bob", T(70));  // waiting since 0 s: an overflow keeps the wait
  Transfer(s1, "tech", T(80));
  Escalate(s3, "tech", T(85));

  const v1::QueueStats g = Q("general", T(100));
  EXPECT_EQ(g.entered_count(), 1);  // s3 was created with the bot and escalated elsewhere
  EXPECT_EQ(g.overflowed_count(), 1);
  EXPECT_EQ(g.answered_count(), 0);

  const v1::QueueStats l = Q("lone", T(100));
  EXPECT_EQ(l.entered_count(), 1);
  EXPECT_EQ(l.overflowed_count(), 1);

  const v1::QueueStats b = Q("backup", T(100));
  EXPECT_EQ(b.entered_count(), 1);
  EXPECT_EQ(b.answered_count(), 1);
  EXPECT_EQ(b.answered_in_threshold_count(), 0);
  EXPECT_EQ(Dur(b.average_speed_of_answer()), absl::Seconds(70));
  EXPECT_DOUBLE_EQ(b.service_level(), 0.0);

  const v1::QueueStats t = Q("tech", T(100));
  EXPECT_EQ(t.entered_count(), 2);  // transferred in, escalated in
  EXPECT_EQ(t.waiting(), 2);
  EXPECT_EQ(TimeFromProto(t.oldest_wait_start_time()), T(80));  // a transfer restarts the wait
  EXPECT_EQ(Dur(t.oldest_wait()), absl::Seconds(20));

  const v1::AgentStats bob = A("bob", T(100));
  EXPECT_EQ(bob.assigned_count(), 1);
  EXPECT_EQ(bob.transferred_count(), 1);
  EXPECT_EQ(bob.completed_count(), 0);
  EXPECT_EQ(book_.waiting_sessions(), 2);
}

TEST_F(StatsTest, WindowCoversTheSecondsInNowMinusWindowToNow) {
  AddQueue(Queue("support"));
  for (int i = 0; i < 5; ++i) {
    AddAgent(Agent(absl::StrCat("a", i), {"support"}));
    SetPresenceAt(absl::StrCat("a", i), Presence::kAvailable, T(0));
  }
  // Each call is offered at once to a free agent and answered on the spot.
  for (double at : {90.0, 90.7, 91.0, 91.2, 100.0}) {
    AcceptAny(Create("support", "voice", T(at)), T(at));
  }

  EXPECT_EQ(Q("support", T(100), absl::Seconds(10)).answered_count(), 3);  // seconds 91..100
  EXPECT_EQ(Q("support", T(100), absl::Seconds(11)).answered_count(), 5);  // 90..100
  EXPECT_EQ(Q("support", T(100), absl::Seconds(9)).answered_count(), 1);   // 92..100
  EXPECT_EQ(Q("support", T(100), absl::Seconds(1)).answered_count(), 1);   // 100
  EXPECT_EQ(Q("support", T(100), absl::Seconds(10)).entered_count(), 3);
  // One-second granularity: at 100.5 s a 10 s window is (90.5, 100.5], the seconds 91..100;
  // the answer at 90.7 s lies in second 90 and is left out.
  EXPECT_EQ(Q("support", T(100.5), absl::Seconds(10)).answered_count(), 3);
  // An answer older than the window is not counted; one exactly `window` old neither.
  EXPECT_EQ(Q("support", T(150), absl::Seconds(50)).answered_count(), 0);
  EXPECT_EQ(Q("support", T(150), absl::Seconds(51)).answered_count(), 1);
  EXPECT_EQ(Q("support", T(150), absl::Seconds(60)).answered_count(), 3);
  EXPECT_EQ(Q("support", T(150), absl::Seconds(61)).answered_count(), 5);
  EXPECT_FALSE(Q("support", T(200), absl::Seconds(60)).has_average_speed_of_answer());
}

// ---------------------------------------------------------------------------------------------
// Agents

TEST_F(StatsTest, AgentCountsHandleAndWrapUp) {
  AddQueue(Queue("support"));  // wrap-up 30 s
  QueueConfig quick = Queue("quick");
  quick.wrap_up = absl::ZeroDuration();
  AddQueue(quick);
  AddQueue(Queue("tech"));
  AddAgent(Agent("ann", {"support", "quick"}));
  SetPresenceAt("ann", Presence::kAvailable, T(0));

  // s1: offered at 10 s, rejected, offered again, expired at 27 s, offered again, accepted at
  // 30 s; completed at 90 s, wrap-up until 120 s. Handle 60 s, wrap-up 30 s.
  const SessionId s1 = Create("support", "voice", T(10));
  Reject(s1, "ann", T(12));
  EXPECT_EQ(OfferedTo(s1), "ann");
  AdvanceTo(T(27));
  Accept(s1, "ann", T(30));
  Complete(s1, "ann", T(90));
  // s2 (no wrap-up): accepted at 135 s, completed at 175 s. Handle 40 s, wrap-up 0 s.
  const SessionId s2 = Create("quick", "voice", T(130));
  Accept(s2, "ann", T(135));
  Complete(s2, "ann", T(175));
  // s3: accepted at 181 s, completed at 201 s, wrap-up ended early at 216 s.
  const SessionId s3 = Create("support", "voice", T(180));
  Accept(s3, "ann", T(181));
  Complete(s3, "ann", T(201));
  EndWrap(s3, "ann", T(216));
  // s4: accepted at 220 s and transferred away at 230 s.
  const SessionId s4 = Create("support", "voice", T(220));
  Accept(s4, "ann", T(220));
  Transfer(s4, "tech", T(230));

  const v1::AgentStats all = A("ann", T(240), absl::Seconds(240));
  EXPECT_EQ(all.agent_id(), "ann");
  EXPECT_EQ(TimeFromProto(all.compute_time()), T(240));
  EXPECT_EQ(Dur(all.window()), absl::Seconds(240));
  EXPECT_EQ(all.status().agent_id(), "ann");
  EXPECT_EQ(all.status().presence(), v1::PRESENCE_AVAILABLE);
  EXPECT_EQ(all.offers_count(), 6) << Log();
  EXPECT_EQ(all.accepted_count(), 4);
  EXPECT_EQ(all.rejected_count(), 1);
  EXPECT_EQ(all.expired_count(), 1);
  EXPECT_EQ(all.claimed_count(), 0);
  EXPECT_EQ(all.assigned_count(), 4);
  EXPECT_EQ(all.completed_count(), 3);
  EXPECT_EQ(all.transferred_count(), 1);
  EXPECT_EQ(Dur(all.average_handle_duration()), absl::Seconds(40));   // (60 + 40 + 20) / 3
  EXPECT_EQ(Dur(all.average_wrap_up_duration()), absl::Seconds(15));  // (30 + 0 + 15) / 3
  // Created and made available at 0 s: the OFFLINE instant is no time at all.
  EXPECT_THAT(PresenceTimes(all), ElementsAre(Pair(v1::PRESENCE_AVAILABLE, absl::Seconds(240))));

  // (140 s, 240 s]: s3 and s4 offered and assigned; s2 (175 s) and s3 (216 s) completed.
  const v1::AgentStats recent = A("ann", T(240), absl::Seconds(100));
  EXPECT_EQ(recent.offers_count(), 2);
  EXPECT_EQ(recent.accepted_count(), 2);
  EXPECT_EQ(recent.assigned_count(), 2);
  EXPECT_EQ(recent.rejected_count(), 0);
  EXPECT_EQ(recent.expired_count(), 0);
  EXPECT_EQ(recent.completed_count(), 2);
  EXPECT_EQ(recent.transferred_count(), 1);
  EXPECT_EQ(Dur(recent.average_handle_duration()), absl::Seconds(30));
  EXPECT_EQ(Dur(recent.average_wrap_up_duration()), absl::Milliseconds(7500));

  // Nothing completed in (230 s, 240 s]: the averages are unset.
  const v1::AgentStats last = A("ann", T(240), absl::Seconds(10));
  EXPECT_EQ(last.completed_count(), 0);
  EXPECT_FALSE(last.has_average_handle_duration());
  EXPECT_FALSE(last.has_average_wrap_up_duration());

  EXPECT_EQ(book_.footprint().sessions, 1u);  // s4, waiting in tech
}

TEST_F(StatsTest, GrabShowingsClaimsAndRefusals) {
  QueueConfig field = Queue("field");
  field.delivery = DeliveryMode::kGrab;
  field.grab_fanout = 2;
  field.grab_window = absl::Seconds(10);
  AddQueue(field);
  AddAgent(Agent("ann", {"field"}));
  AddAgent(Agent("bob", {"field"}));
  SetPresenceAt("ann", Presence::kAvailable, T(0));
  SetPresenceAt("bob", Presence::kAvailable, T(0));

  // Shown to both; ann claims; bob's showing is rescinded when the window closes at 11 s.
  const SessionId s1 = Create("field", "onsite_visit", T(1));
  Claim(s1, "ann", T(3));
  // ann is now full: shown to bob alone, who lets the window close (a grab expiry, not a
  // direct offer expired), is shown it again, refuses, is shown it again; the customer leaves.
  const SessionId s2 = Create("field", "onsite_visit", T(20));
  AdvanceTo(T(30));
  Reject(s2, "bob", T(32));
  EXPECT_EQ(book_.waiting_sessions(), 1) << Log();
  Cancel(s2, /*abandoned=*/true, T(33));
  EXPECT_EQ(book_.waiting_sessions(), 0);

  const v1::AgentStats ann = A("ann", T(40));
  EXPECT_EQ(ann.offers_count(), 1);
  EXPECT_EQ(ann.claimed_count(), 1);
  EXPECT_EQ(ann.assigned_count(), 1);
  EXPECT_EQ(ann.accepted_count(), 0);
  EXPECT_EQ(ann.expired_count(), 0);

  const v1::AgentStats bob = A("bob", T(40));
  EXPECT_EQ(bob.offers_count(), 4) << Log();
  EXPECT_EQ(bob.rejected_count(), 1);
  EXPECT_EQ(bob.expired_count(), 0);
  EXPECT_EQ(bob.claimed_count(), 0);
  EXPECT_EQ(bob.assigned_count(), 0);

  const v1::QueueStats q = Q("field", T(40));
  EXPECT_EQ(q.entered_count(), 2);
  EXPECT_EQ(q.answered_count(), 1);
  EXPECT_EQ(q.answered_in_threshold_count(), 1);  // waited 10 s
  EXPECT_EQ(Dur(q.average_speed_of_answer()), absl::Seconds(10));
  EXPECT_EQ(q.abandoned_count(), 1);  // left while OFFERED
}

TEST_F(StatsTest, PresenceTimesSplitAtTheWindowStart) {
  AddAgent(Agent("ann", {}), T(0));  // OFFLINE from 0 s
  AddAgent(Agent("carl", {}), T(0));
  SetPresenceAt("carl", Presence::kAvailable, T(50));
  SetPresenceAt("carl", Presence::kNotReady, T(50));  // AVAILABLE for no time at all
  SetPresenceAt("ann", Presence::kAvailable, T(100));
  SetPresenceAt("ann", Presence::kNotReady, T(400));
  SetPresenceAt("ann", Presence::kWrapUp, T(500), "", absl::Seconds(60));  // AVAILABLE at 560 s
  SetPresenceAt("ann", Presence::kOffline, T(700));
  AddAgent(Agent("bob", {}), T(900));
  AddAgent(Agent("dora", {}), T(1000));

  EXPECT_THAT(PresenceTimes(A("ann", T(1000), absl::Seconds(1000))),
              ElementsAre(Pair(v1::PRESENCE_OFFLINE, absl::Seconds(400)),
                          Pair(v1::PRESENCE_AVAILABLE, absl::Seconds(440)),
                          Pair(v1::PRESENCE_NOT_READY, absl::Seconds(100)),
                          Pair(v1::PRESENCE_WRAP_UP, absl::Seconds(60))))
      << Log();
  // From 550 s: the wrap-up in force at the window start counts from there.
  EXPECT_THAT(PresenceTimes(A("ann", T(1000), absl::Seconds(450))),
              ElementsAre(Pair(v1::PRESENCE_OFFLINE, absl::Seconds(300)),
                          Pair(v1::PRESENCE_AVAILABLE, absl::Seconds(140)),
                          Pair(v1::PRESENCE_WRAP_UP, absl::Seconds(10))));
  EXPECT_THAT(PresenceTimes(A("ann", T(1000), absl::Seconds(150))),
              ElementsAre(Pair(v1::PRESENCE_OFFLINE, absl::Seconds(150))));
  // Before an agent existed counts nowhere.
  EXPECT_THAT(PresenceTimes(A("bob", T(1000), absl::Seconds(1000))),
              ElementsAre(Pair(v1::PRESENCE_OFFLINE, absl::Seconds(100))));
  EXPECT_THAT(PresenceTimes(A("carl", T(1000), absl::Seconds(1000))),
              ElementsAre(Pair(v1::PRESENCE_OFFLINE, absl::Seconds(50)),
                          Pair(v1::PRESENCE_NOT_READY, absl::Seconds(950))));
  // The presence in force now is listed even when held for no time yet.
  EXPECT_THAT(PresenceTimes(A("dora", T(1000), absl::Seconds(1000))),
              ElementsAre(Pair(v1::PRESENCE_OFFLINE, absl::ZeroDuration())));
}

// ---------------------------------------------------------------------------------------------
// Appointments and callbacks

TEST_F(StatsTest, AppointmentsScheduledThenServedInWindowOrLate) {
  AddQueue(Queue("field"));
  AddAgent(Agent("ann", {"field"}));
  AddAgent(Agent("bob", {"field"}));
  // Two bookings made at 0 s for windows opening at 10 s; one ends at 20 s, one at 12 s.
  const SessionId s1 = Book("field", "voice", T(0), T(10), T(20));
  const SessionId s2 = Book("field", "voice", T(0), T(10), T(12));
  EXPECT_EQ(StateOf(s1), SessionState::kScheduled);
  v1::QueueStats q = Q("field", T(5));
  EXPECT_EQ(q.appointments_scheduled(), 2);
  EXPECT_EQ(q.entered_count(), 0) << "a SCHEDULED session has not entered the queue";
  EXPECT_EQ(q.waiting(), 0);
  EXPECT_EQ(book_.waiting_sessions(), 0) << "SCHEDULED is not waiting";

  // The windows open: both enter the queue.
  q = Q("field", T(10));
  EXPECT_EQ(StateOf(s1), SessionState::kQueued) << Log();
  EXPECT_EQ(q.appointments_scheduled(), 0);
  EXPECT_EQ(q.entered_count(), 2);
  EXPECT_EQ(book_.waiting_sessions(), 2);

  // ann takes one within its window; bob comes at 15 s, after s2's window ended at 12 s.
  SetPresenceAt("ann", Presence::kAvailable, T(11));
  const SessionId first = OfferedTo(s1) == "ann" ? s1 : s2;
  const SessionId second = first == s1 ? s2 : s1;
  Accept(first, "ann", T(11));
  SetPresenceAt("bob", Presence::kAvailable, T(15));
  EXPECT_EQ(OfferedTo(second), "bob");
  Accept(second, "bob", T(15));
  q = Q("field", T(16));
  EXPECT_EQ(q.answered_count(), 2);
  // s1 (window to 20 s) is in time whoever took it at 11 or 15 s; s2 (to 12 s) only at 11 s.
  const int64_t late = second == s2 ? 1 : 0;
  EXPECT_EQ(q.appointments_served_in_window(), 2 - late);
  EXPECT_EQ(q.appointments_served_late(), late);

  // A booking cancelled while SCHEDULED leaves the live figure and is no abandonment; a plain
  // session is no appointment.
  const SessionId s3 = Book("field", "voice", T(20), T(100), T(200));
  EXPECT_EQ(Q("field", T(21)).appointments_scheduled(), 1);
  Cancel(s3, /*abandoned=*/true, T(22));
  q = Q("field", T(23));
  EXPECT_EQ(q.appointments_scheduled(), 0);
  EXPECT_EQ(q.abandoned_count(), 0);
  EXPECT_EQ(book_.footprint().sessions, 2u);  // the two assigned
  SetPresenceAt("ann", Presence::kNotReady, T(24));
  Complete(first, "ann", T(25));
  EndWrap(first, "ann", T(26));
  Complete(second, "bob", T(25));
  EndWrap(second, "bob", T(26));
  const SessionId plain = Create("field", "voice", T(30));
  EXPECT_EQ(OfferedTo(plain), "bob");
  Accept(plain, "bob", T(31));
  q = Q("field", T(32));
  EXPECT_EQ(q.answered_count(), 3);
  EXPECT_EQ(q.appointments_served_in_window() + q.appointments_served_late(), 2);

  // Windowed like the other figures: gone from a window that starts after them.
  q = Q("field", T(40), absl::Seconds(5));
  EXPECT_EQ(q.appointments_served_in_window(), 0);
  EXPECT_EQ(q.appointments_served_late(), 0);
}

TEST_F(StatsTest, AppointmentWhoseWindowAlreadyOpenedIsQueuedAtOnce) {
  AddQueue(Queue("field"));
  const SessionId s = Book("field", "voice", T(50), T(40), T(60));
  EXPECT_EQ(StateOf(s), SessionState::kQueued);
  const v1::QueueStats q = Q("field", T(51));
  EXPECT_EQ(q.appointments_scheduled(), 0);
  EXPECT_EQ(q.entered_count(), 1);
  EXPECT_EQ(q.waiting(), 1);
}

TEST_F(StatsTest, CallbacksRequestedAndWaiting) {
  QueueConfig support = Queue("support");
  support.offer_timeout = absl::Minutes(10);
  AddQueue(support);
  AddQueue(Queue("backup"));
  AddAgent(Agent("ann", {"support"}));
  const SessionId s1 = Create("support", "voice", T(0));
  const SessionId s2 = Create("support", "voice", T(1));
  const SessionId s3 = Create("support", "voice", T(2));
  Callback(s1, T(3));
  v1::QueueStats q = Q("support", T(4));
  EXPECT_EQ(q.callbacks_requested(), 1);
  EXPECT_EQ(q.callbacks_waiting(), 1);
  EXPECT_EQ(q.waiting(), 3) << "a callback keeps its place in the queue";

  // Only in QUEUED, and only once: refused requests count nothing.
  std::vector<Event> events;
  EXPECT_EQ(engine_.Apply(RequestCallback{s1, "123"}, T(5), &events).code(),
            absl::StatusCode::kFailedPrecondition);
  Feed(events);

  // Offered: still waiting for an agent. Assigned: no longer.
  SetPresenceAt("ann", Presence::kAvailable, T(6));
  EXPECT_EQ(OfferedTo(s1), "ann") << "s1 kept its place: first";
  q = Q("support", T(7));
  EXPECT_EQ(q.callbacks_waiting(), 1);
  events.clear();
  EXPECT_EQ(engine_.Apply(RequestCallback{s1, "123"}, T(7), &events).code(),
            absl::StatusCode::kFailedPrecondition)
      << "OFFERED";
  Feed(events);
  Accept(s1, "ann", T(8));
  q = Q("support", T(9));
  EXPECT_EQ(q.callbacks_waiting(), 0);
  EXPECT_EQ(q.callbacks_requested(), 1);

  // Two more; one is cancelled, one waits.
  Callback(s2, T(10));
  Callback(s3, T(11), "010-8888 1234");
  EXPECT_EQ(Q("support", T(12)).callbacks_waiting(), 2);
  Cancel(s2, /*abandoned=*/true, T(13));
  q = Q("support", T(14));
  EXPECT_EQ(q.callbacks_requested(), 3);
  EXPECT_EQ(q.callbacks_waiting(), 1);
  EXPECT_EQ(q.abandoned_count(), 1);
  EXPECT_EQ(Q("support", T(14), absl::Seconds(5)).callbacks_requested(), 2);  // 10 s, 11 s
  EXPECT_EQ(Q("backup", T(14)).callbacks_waiting(), 0);
}

TEST_F(StatsTest, CallbackOverflowingMovesToTheTargetQueue) {
  QueueConfig support = Queue("support");
  support.overflow_after = absl::Seconds(30);
  support.overflow_queue = QueueId("backup");
  AddQueue(Queue("backup"));
  AddQueue(support);
  const SessionId s = Create("support", "voice", T(0));
  Callback(s, T(1));
  EXPECT_EQ(Q("support", T(2)).callbacks_waiting(), 1);
  EXPECT_EQ(Q("backup", T(2)).callbacks_waiting(), 0);
  AdvanceTo(T(31));
  EXPECT_EQ(engine_.GetSession(s)->queue, QueueId("backup")) << Log();
  EXPECT_EQ(Q("support", T(31)).callbacks_waiting(), 0);
  EXPECT_EQ(Q("backup", T(31)).callbacks_waiting(), 1);
  EXPECT_EQ(Q("backup", T(31)).callbacks_requested(), 0) << "requested in support";
  Cancel(s, /*abandoned=*/true, T(32));
  EXPECT_EQ(Q("backup", T(33)).callbacks_waiting(), 0);
}

TEST_F(StatsTest, ABookOverALoadedSnapshotAdoptsItsSessions) {
  AddQueue(Queue("field"));
  AddAgent(Agent("ann", {"field"}));
  Book("field", "voice", T(0), T(100), T(200));
  const SessionId cb = Create("field", "voice", T(1));
  Callback(cb, T(2));
  Create("field", "wechat", T(3), /*bot=*/true);
  EXPECT_EQ(book_.waiting_sessions(), 2);

  // A restart from a snapshot: a new engine and a new book that saw none of it.
  Engine restored;
  ASSERT_TRUE(restored.LoadSnapshot(engine_.SaveSnapshot()).ok());
  StatsBook fresh(absl::Hours(1));
  absl::StatusOr<v1::QueueStats> q = fresh.QueueStats(restored, QueueId("field"), T(4),
                                                      absl::Minutes(5));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->appointments_scheduled(), 1) << "counted from the engine before any event";
  EXPECT_EQ(q->callbacks_waiting(), 1);

  // The first event adopts the sessions the engine holds.
  std::vector<Event> events;
  ASSERT_TRUE(restored
                  .Apply(SetPresence{EngineerId("ann"), Presence::kNotReady, "break",
                                     absl::ZeroDuration()},
                         T(5), &events)
                  .ok());
  for (const Event& e : events) fresh.Observe(e, restored);
  EXPECT_EQ(fresh.waiting_sessions(), 2);  // the callback (QUEUED) and the bot session
  EXPECT_EQ(fresh.footprint().sessions, 3u);
  q = fresh.QueueStats(restored, QueueId("field"), T(6), absl::Minutes(5));
  EXPECT_EQ(q->appointments_scheduled(), 1);
  EXPECT_EQ(q->callbacks_waiting(), 1);
  EXPECT_EQ(q->callbacks_requested(), 0) << "requested before the snapshot: not known";

  // And follows them on: the window opens, the callback is withdrawn.
  events.clear();
  restored.Advance(T(100), &events);
  ASSERT_TRUE(restored.Apply(CancelSession{cb, false, "served elsewhere"}, T(101), &events).ok());
  for (const Event& e : events) fresh.Observe(e, restored);
  q = fresh.QueueStats(restored, QueueId("field"), T(102), absl::Minutes(5));
  EXPECT_EQ(q->appointments_scheduled(), 0);
  EXPECT_EQ(q->callbacks_waiting(), 0);
  EXPECT_EQ(q->entered_count(), 1);  // the booked session, at its window
  EXPECT_EQ(fresh.waiting_sessions(), 2);  // the booked session (QUEUED) and the bot session
}

// ---------------------------------------------------------------------------------------------
// Sessions, errors, memory

TEST_F(StatsTest, WaitingSessionsCountsBotQueuedAndOffered) {
  AddQueue(Queue("support"));
  AddAgent(Agent("ann", {"support"}));
  EXPECT_EQ(book_.waiting_sessions(), 0);

  const SessionId bot = Create("support", "voice", T(0), /*bot=*/true);
  EXPECT_EQ(book_.waiting_sessions(), 1);
  const SessionId call = Create("support", "voice", T(1));
  EXPECT_EQ(book_.waiting_sessions(), 2);
  SetPresenceAt("ann", Presence::kAvailable, T(2));
  EXPECT_EQ(OfferedTo(call), "ann");
  EXPECT_EQ(book_.waiting_sessions(), 2);  // OFFERED
  Accept(call, "ann", T(3));
  EXPECT_EQ(book_.waiting_sessions(), 1);  // ASSIGNED no longer waits
  Escalate(bot, "support", T(4));
  EXPECT_EQ(book_.waiting_sessions(), 1);  // BOT -> QUEUED
  Complete(call, "ann", T(5));
  EXPECT_EQ(book_.waiting_sessions(), 1);
  EndWrap(call, "ann", T(6));  // ann is free: the escalated call is offered to her
  EXPECT_EQ(OfferedTo(bot), "ann");
  Accept(bot, "ann", T(7));
  EXPECT_EQ(book_.waiting_sessions(), 0);
  Cancel(Create("support", "voice", T(8), /*bot=*/true), /*abandoned=*/false, T(9));
  EXPECT_EQ(book_.waiting_sessions(), 0);

  // Finished sessions are forgotten: only the assigned one is still tracked.
  EXPECT_EQ(book_.footprint().sessions, 1u);
  Complete(bot, "ann", T(10));
  EXPECT_EQ(book_.footprint().sessions, 1u);  // in wrap-up
  AdvanceTo(T(40));                           // wrap-up ends at 40 s
  EXPECT_EQ(book_.footprint().sessions, 0u);
  EXPECT_EQ(A("ann", T(40)).completed_count(), 2);
}

TEST_F(StatsTest, NotFoundAndRemovedBooks) {
  absl::StatusOr<v1::QueueStats> q =
      book_.QueueStats(engine_, QueueId("nope"), T(0), absl::Minutes(1));
  EXPECT_EQ(q.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(q.status().message(), "queue_id:")) << q.status();
  absl::StatusOr<v1::AgentStats> a =
      book_.AgentStats(engine_, EngineerId("nobody"), T(0), absl::Minutes(1));
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(a.status().message(), "agent_id:")) << a.status();

  AddQueue(Queue("temp"));
  AddAgent(Agent("tim", {"temp"}));
  SetPresenceAt("tim", Presence::kAvailable, T(1));
  Cancel(Create("temp", "voice", T(2)), /*abandoned=*/true, T(3));  // offered to tim
  EXPECT_EQ(Q("temp", T(4)).entered_count(), 1);
  EXPECT_EQ(A("tim", T(4)).offers_count(), 1);
  EXPECT_EQ(book_.footprint().queues, 1u);
  EXPECT_EQ(book_.footprint().agents, 1u);

  Apply(RemoveEngineer{EngineerId("tim")}, T(5));
  Apply(RemoveQueue{QueueId("temp")}, T(5));
  EXPECT_EQ(book_.footprint().queues, 0u);
  EXPECT_EQ(book_.footprint().agents, 0u);
  EXPECT_EQ(book_.QueueStats(engine_, QueueId("temp"), T(5), absl::Minutes(1)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(book_.AgentStats(engine_, EngineerId("tim"), T(5), absl::Minutes(1)).status().code(),
            absl::StatusCode::kNotFound);

  // Added again with the same ids: a fresh start.
  AddQueue(Queue("temp"), T(6));
  AddAgent(Agent("tim", {"temp"}), T(6));
  EXPECT_EQ(Q("temp", T(10)).entered_count(), 0);
  const v1::AgentStats tim = A("tim", T(10));
  EXPECT_EQ(tim.offers_count(), 0);
  EXPECT_THAT(PresenceTimes(tim), ElementsAre(Pair(v1::PRESENCE_OFFLINE, absl::Seconds(4))));
}

TEST_F(StatsTest, HistoryOlderThanMaxWindowIsDropped) {
  AddQueue(Queue("support"));
  AddAgent(Agent("ann", {"support"}));
  AddAgent(Agent("bob", {"support"}));
  SetPresenceAt("ann", Presence::kAvailable, T(0));
  for (int i = 0; i < 10; ++i) {
    const SessionId s = Create("support", "wechat", T(10 * i));
    Accept(s, "ann", T(10 * i + 1));
    Complete(s, "ann", T(10 * i + 5));
    EndWrap(s, "ann", T(10 * i + 6));
  }
  SetPresenceAt("ann", Presence::kNotReady, T(200));
  SetPresenceAt("ann", Presence::kAvailable, T(300));
  const StatsBook::Footprint before = book_.footprint();
  EXPECT_GE(before.buckets, 30u);
  EXPECT_EQ(before.sessions, 0u);
  EXPECT_EQ(Q("support", T(400)).answered_count(), 10);

  // Two hours later (max_window is one hour) one event about somebody else: the sweep drops
  // every bucket and all but the presence in force an hour ago.
  SetPresenceAt("bob", Presence::kAvailable, T(7200));
  const StatsBook::Footprint after = book_.footprint();
  EXPECT_EQ(after.buckets, 0u);
  EXPECT_EQ(after.presence_changes, 3u);  // ann: AVAILABLE; bob: OFFLINE, AVAILABLE
  EXPECT_EQ(after.queues, 1u);
  EXPECT_EQ(after.agents, 2u);

  const v1::QueueStats q = Q("support", T(7200));
  EXPECT_EQ(q.entered_count(), 0);
  EXPECT_EQ(q.answered_count(), 0);
  EXPECT_FALSE(q.has_average_speed_of_answer());
  const v1::AgentStats ann = A("ann", T(7200));
  EXPECT_EQ(ann.offers_count(), 0);
  EXPECT_EQ(ann.completed_count(), 0);
  EXPECT_THAT(PresenceTimes(ann), ElementsAre(Pair(v1::PRESENCE_AVAILABLE, absl::Hours(1))));
}

}  // namespace
}  // namespace omniroute::daemon
