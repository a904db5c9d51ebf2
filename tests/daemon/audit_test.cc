// The decision audit on its own: the answer built from stored events (waits, candidates,
// summaries, state, retention) and the store (write, read, replay, the event cap, the sweep,
// reopening from disk).

#include "daemon/audit.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/convert.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/durability/temp_dir.h"

namespace omniroute::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);

// ---------------------------------------------------------------------------------------------
// Building the answer from API events

v1::Event ApiEvent(uint64_t seq, absl::Duration after, v1::EventType type, v1::SessionState state,
                   const std::string& agent = "") {
  v1::Event e;
  e.set_sequence(seq);
  *e.mutable_event_time() = TimeToProto(kT0 + after);
  e.set_type(type);
  e.set_session_id("7");
  e.set_queue_id("repair");
  e.set_channel_id("voice");
  e.set_session_state(state);
  e.set_agent_id(agent);
  return e;
}

// A direct offer's reason: longest_idle, `winner` idle since `winner_idle` before the event,
// the runner-up since `runner_up_idle` before it.
v1::RoutingReason IdleReason(absl::Time at, const std::string& runner_up,
                             absl::Duration winner_idle, absl::Duration runner_up_idle) {
  v1::RoutingReason r;
  r.set_strategy("longest_idle");
  r.set_stage(v1::ROUTING_STAGE_QUEUE);
  r.mutable_winner()->set_primary(absl::ToUnixMicros(at - winner_idle));
  r.mutable_winner()->set_order(0);
  if (runner_up.empty()) {
    r.set_decided_by(v1::DECIDER_ONLY_CANDIDATE);
  } else {
    r.set_decided_by(v1::DECIDER_PRIMARY_KEY);
    r.set_runner_up_agent_id(runner_up);
    r.mutable_runner_up()->set_primary(absl::ToUnixMicros(at - runner_up_idle));
    r.mutable_runner_up()->set_order(1);
  }
  return r;
}

StoredHistory Stored(std::vector<v1::Event> events) {
  StoredHistory h;
  h.events = std::move(events);
  return h;
}

std::vector<int64_t> WaitedSeconds(const v1::GetSessionHistoryResponse& r) {
  std::vector<int64_t> out;
  for (const v1::AuditEntry& e : r.entries()) {
    out.push_back(absl::ToInt64Seconds(DurationFromProto("waited", e.waited()).value()));
  }
  return out;
}

std::vector<std::string> Summaries(const v1::GetSessionHistoryResponse& r) {
  std::vector<std::string> out;
  for (const v1::AuditEntry& e : r.entries()) out.push_back(e.summary());
  return out;
}

std::string Dump(const v1::GetSessionHistoryResponse& r) {
  std::string out;
  for (const v1::AuditEntry& e : r.entries()) {
    out += "  " + v1::EventType_Name(e.event().type()) +
           " waited=" + std::to_string(e.waited().seconds()) + "s: " + e.summary() + "\n";
  }
  return out;
}

// Relaxation, an offer with a runner-up, a rejection, an overflow, a second offer, accept,
// wrap-up and completion.
std::vector<v1::Event> OverflowStory() {
  using absl::Seconds;
  std::vector<v1::Event> events;
  events.push_back(
      ApiEvent(10, Seconds(0), v1::EVENT_TYPE_SESSION_CREATED, v1::SESSION_STATE_QUEUED));
  v1::Event relaxed =
      ApiEvent(12, Seconds(30), v1::EVENT_TYPE_SESSION_RELAXED, v1::SESSION_STATE_QUEUED);
  relaxed.set_detail("step 1: repair>=2");
  events.push_back(relaxed);
  v1::Event offer =
      ApiEvent(13, Seconds(31), v1::EVENT_TYPE_OFFER_CREATED, v1::SESSION_STATE_OFFERED, "ann");
  *offer.mutable_reason() = IdleReason(kT0 + Seconds(31), "bob", Seconds(120), Seconds(80));
  offer.mutable_reason()->set_relaxation_step(1);
  offer.mutable_reason()->add_rules("vip");
  events.push_back(offer);
  v1::Event rejected =
      ApiEvent(15, Seconds(40), v1::EVENT_TYPE_OFFER_REJECTED, v1::SESSION_STATE_QUEUED, "ann");
  rejected.set_detail("at lunch");
  events.push_back(rejected);
  v1::Event overflowed =
      ApiEvent(20, Seconds(60), v1::EVENT_TYPE_SESSION_OVERFLOWED, v1::SESSION_STATE_QUEUED);
  overflowed.set_to_queue_id("backup");
  events.push_back(overflowed);
  v1::Event second =
      ApiEvent(21, Seconds(70), v1::EVENT_TYPE_OFFER_CREATED, v1::SESSION_STATE_OFFERED, "cara");
  *second.mutable_reason() = IdleReason(kT0 + Seconds(70), "", Seconds(5), Seconds(0));
  second.set_queue_id("backup");
  events.push_back(second);
  events.push_back(
      ApiEvent(22, Seconds(75), v1::EVENT_TYPE_OFFER_ACCEPTED, v1::SESSION_STATE_ASSIGNED, "cara"));
  events.push_back(ApiEvent(23, Seconds(75), v1::EVENT_TYPE_SESSION_ASSIGNED,
                            v1::SESSION_STATE_ASSIGNED, "cara"));
  events.push_back(ApiEvent(30, Seconds(300), v1::EVENT_TYPE_SESSION_WRAP_UP,
                            v1::SESSION_STATE_WRAP_UP, "cara"));
  events.push_back(ApiEvent(31, Seconds(310), v1::EVENT_TYPE_SESSION_COMPLETED,
                            v1::SESSION_STATE_COMPLETED, "cara"));
  return events;
}

TEST(BuildSessionHistoryTest, WaitGoesOnAcrossRejectionAndOverflowAndStopsAtAssignment) {
  const v1::GetSessionHistoryResponse r =
      BuildSessionHistory(Stored(OverflowStory()), absl::Hours(1));
  EXPECT_THAT(WaitedSeconds(r), ElementsAre(0, 30, 31, 40, 60, 70, 75, 75, 75, 75)) << Dump(r);
}

TEST(BuildSessionHistoryTest, SummariesSayWhatDecided) {
  const v1::GetSessionHistoryResponse r =
      BuildSessionHistory(Stored(OverflowStory()), absl::Hours(1));
  EXPECT_THAT(
      Summaries(r),
      ElementsAre(
          "created on voice in repair: QUEUED", "relaxed after 30s: step 1: repair>=2",
          "offered to ann by longest_idle, stage QUEUE, relaxation step 1, rules [vip]: primary "
          "key decided over bob (idle 2m vs 1m20s)",
          "ann rejected the offer: at lunch (back to the queue)",
          "overflowed to backup after 1m in repair (the wait goes on)",
          "offered to cara by longest_idle, stage QUEUE: the only candidate",
          "cara accepted the offer", "assigned to cara (accepted the offer)",
          "cara ended the conversation: wrap-up", "completed by cara"))
      << Dump(r);
}

TEST(BuildSessionHistoryTest, OffersListTheChosenAgentThenTheRunnerUp) {
  const v1::GetSessionHistoryResponse r =
      BuildSessionHistory(Stored(OverflowStory()), absl::Hours(1));
  ASSERT_EQ(r.entries_size(), 10);
  const v1::AuditEntry& offer = r.entries(2);
  ASSERT_EQ(offer.candidates_size(), 2);
  EXPECT_EQ(offer.candidates(0).agent_id(), "ann");
  EXPECT_TRUE(offer.candidates(0).chosen());
  EXPECT_EQ(offer.candidates(0).rank().primary(),
            absl::ToUnixMicros(kT0 + absl::Seconds(31) - absl::Seconds(120)));
  EXPECT_EQ(offer.candidates(1).agent_id(), "bob");
  EXPECT_FALSE(offer.candidates(1).chosen());
  EXPECT_EQ(offer.candidates(1).rank().order(), 1u);
  EXPECT_EQ(offer.event().reason().decided_by(), v1::DECIDER_PRIMARY_KEY);

  const v1::AuditEntry& only = r.entries(5);
  ASSERT_EQ(only.candidates_size(), 1);
  EXPECT_EQ(only.candidates(0).agent_id(), "cara");
  EXPECT_TRUE(only.candidates(0).chosen());
  // Events without a routing reason rank nobody.
  EXPECT_EQ(r.entries(0).candidates_size(), 0);
  EXPECT_EQ(r.entries(3).candidates_size(), 0);
  EXPECT_EQ(r.entries(7).candidates_size(), 0) << "an accepted offer's assignment";
}

TEST(BuildSessionHistoryTest, StateAndRetentionOfAFinishedSession) {
  const v1::GetSessionHistoryResponse r =
      BuildSessionHistory(Stored(OverflowStory()), absl::Hours(168));
  EXPECT_EQ(r.session_id(), "7");
  EXPECT_EQ(r.state(), v1::SESSION_STATE_COMPLETED);
  ASSERT_TRUE(r.has_retain_until_time());
  EXPECT_EQ(TimeFromProto(r.retain_until_time()), kT0 + absl::Seconds(310) + absl::Hours(168));
}

TEST(BuildSessionHistoryTest, AnOpenSessionHasNoRetentionTime) {
  std::vector<v1::Event> events = OverflowStory();
  events.resize(8);  // up to the assignment
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_EQ(r.state(), v1::SESSION_STATE_ASSIGNED);
  EXPECT_FALSE(r.has_retain_until_time());
  events.resize(5);  // overflowed to another queue: still open
  const v1::GetSessionHistoryResponse q = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_EQ(q.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_FALSE(q.has_retain_until_time());
}

TEST(BuildSessionHistoryTest, OverflowOutOfTheRouterEndsIt) {
  std::vector<v1::Event> events = {
      ApiEvent(1, absl::ZeroDuration(), v1::EVENT_TYPE_SESSION_CREATED, v1::SESSION_STATE_QUEUED),
      ApiEvent(2, absl::Minutes(2), v1::EVENT_TYPE_SESSION_OVERFLOWED,
               v1::SESSION_STATE_OVERFLOWED)};
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_EQ(r.state(), v1::SESSION_STATE_OVERFLOWED);
  EXPECT_EQ(r.entries(1).summary(), "overflowed out of the router after 2m in repair");
  ASSERT_TRUE(r.has_retain_until_time());
  EXPECT_EQ(TimeFromProto(r.retain_until_time()), kT0 + absl::Minutes(2) + absl::Hours(1));
}

TEST(BuildSessionHistoryTest, ATransferStartsTheWaitAnew) {
  using absl::Seconds;
  std::vector<v1::Event> events = {
      ApiEvent(1, Seconds(0), v1::EVENT_TYPE_SESSION_CREATED, v1::SESSION_STATE_QUEUED),
      ApiEvent(2, Seconds(10), v1::EVENT_TYPE_SESSION_ASSIGNED, v1::SESSION_STATE_ASSIGNED, "ann"),
      ApiEvent(3, Seconds(100), v1::EVENT_TYPE_SESSION_TRANSFERRED, v1::SESSION_STATE_QUEUED,
               "ann"),
      ApiEvent(4, Seconds(105), v1::EVENT_TYPE_OFFER_CREATED, v1::SESSION_STATE_OFFERED, "bob"),
      ApiEvent(5, Seconds(109), v1::EVENT_TYPE_SESSION_ABANDONED, v1::SESSION_STATE_ABANDONED)};
  events[2].set_to_queue_id("tech");
  events[2].set_detail("needs a technician");
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_THAT(WaitedSeconds(r), ElementsAre(0, 10, 0, 5, 9)) << Dump(r);
  EXPECT_EQ(r.entries(2).summary(),
            "transferred by ann to tech: queued, the wait starts anew: needs a technician");
  EXPECT_EQ(r.entries(4).summary(), "abandoned by the customer after waiting 9s");
}

TEST(BuildSessionHistoryTest, TheWaitStartsWhenTheBotEscalates) {
  using absl::Seconds;
  std::vector<v1::Event> events = {
      ApiEvent(1, Seconds(0), v1::EVENT_TYPE_SESSION_CREATED, v1::SESSION_STATE_BOT),
      ApiEvent(2, Seconds(50), v1::EVENT_TYPE_SESSION_ESCALATED, v1::SESSION_STATE_QUEUED),
      ApiEvent(3, Seconds(60), v1::EVENT_TYPE_OFFER_CREATED, v1::SESSION_STATE_OFFERED, "ann")};
  events[1].set_detail("wants a repair");
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_THAT(WaitedSeconds(r), ElementsAre(0, 0, 10)) << Dump(r);
  EXPECT_EQ(r.entries(0).summary(), "created on voice in repair: BOT (with the bot)");
  EXPECT_EQ(r.entries(1).summary(), "escalated by the bot to repair: queued: wants a repair");
}

TEST(BuildSessionHistoryTest, AnAppointmentWaitsFromItsWindowStart) {
  using absl::Seconds;
  std::vector<v1::Event> events = {
      ApiEvent(1, Seconds(0), v1::EVENT_TYPE_SESSION_CREATED, v1::SESSION_STATE_SCHEDULED),
      // The timer fired 2 s late (the daemon was down): the wait still counts from the start.
      ApiEvent(2, Seconds(3602), v1::EVENT_TYPE_SESSION_WINDOW_OPENED, v1::SESSION_STATE_QUEUED),
      ApiEvent(3, Seconds(3605), v1::EVENT_TYPE_OFFER_CREATED, v1::SESSION_STATE_OFFERED, "ann")};
  *events[0].mutable_deadline_time() = TimeToProto(kT0 + absl::Hours(1));
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_THAT(WaitedSeconds(r), ElementsAre(0, 2, 5)) << Dump(r);
  EXPECT_THAT(r.entries(0).summary(), HasSubstr("SCHEDULED, the window opens at 2023-11-14T"));
}

TEST(BuildSessionHistoryTest, AGrabAssignmentNamesTheBestClaimant) {
  using absl::Seconds;
  std::vector<v1::Event> events = {
      ApiEvent(1, Seconds(0), v1::EVENT_TYPE_SESSION_CREATED, v1::SESSION_STATE_QUEUED),
      ApiEvent(2, Seconds(0), v1::EVENT_TYPE_OFFER_CREATED, v1::SESSION_STATE_OFFERED, "ann"),
      ApiEvent(3, Seconds(0), v1::EVENT_TYPE_OFFER_CREATED, v1::SESSION_STATE_OFFERED, "cara"),
      ApiEvent(4, Seconds(1), v1::EVENT_TYPE_OFFER_CLAIMED, v1::SESSION_STATE_OFFERED, "ann"),
      ApiEvent(5, Seconds(2), v1::EVENT_TYPE_OFFER_CLAIMED, v1::SESSION_STATE_OFFERED, "cara"),
      ApiEvent(6, Seconds(5), v1::EVENT_TYPE_SESSION_ASSIGNED, v1::SESSION_STATE_ASSIGNED, "cara")};
  events[1].set_detail("grab 1/2");
  *events[1].mutable_reason() = IdleReason(kT0, "cara", Seconds(9), Seconds(3));
  events[2].set_detail("grab 2/2");
  *events[2].mutable_reason() = IdleReason(kT0, "", Seconds(3), Seconds(0));
  events[2].mutable_reason()->set_decided_by(v1::DECIDER_PRIMARY_KEY);
  v1::RoutingReason& grab = *events[5].mutable_reason();
  grab.set_strategy("grab");
  grab.set_decided_by(v1::DECIDER_GRAB_RANK);
  grab.mutable_winner()->set_primary(v1::AGENT_TIER_EXPERT);
  grab.mutable_winner()->set_secondary(50);
  grab.mutable_winner()->set_order(2);
  grab.set_runner_up_agent_id("ann");
  grab.mutable_runner_up()->set_primary(v1::AGENT_TIER_CORE);
  grab.mutable_runner_up()->set_secondary(90);
  grab.mutable_runner_up()->set_order(1);
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_EQ(r.entries(1).summary(),
            "offered to ann (grab 1/2) by longest_idle, stage QUEUE: primary key decided over "
            "cara (idle 9s vs 3s)");
  EXPECT_EQ(r.entries(2).summary(), "offered to cara (grab 2/2) by longest_idle, stage QUEUE");
  EXPECT_EQ(r.entries(5).summary(),
            "assigned to cara (grab: best of 2 claimants by tier, then score, then claim order; "
            "over ann: tier expert vs core)");
  ASSERT_EQ(r.entries(5).candidates_size(), 2);
  EXPECT_EQ(r.entries(5).candidates(0).agent_id(), "cara");
  EXPECT_TRUE(r.entries(5).candidates(0).chosen());
  EXPECT_EQ(r.entries(5).candidates(0).rank().primary(), v1::AGENT_TIER_EXPERT);
  EXPECT_EQ(r.entries(5).candidates(1).agent_id(), "ann");
  EXPECT_FALSE(r.entries(5).candidates(1).chosen());
  EXPECT_THAT(WaitedSeconds(r), ElementsAre(0, 0, 0, 1, 2, 5));
}

TEST(BuildSessionHistoryTest, AFreedAgentChoosingASessionIsExplained) {
  v1::Event offer = ApiEvent(5, absl::Seconds(40), v1::EVENT_TYPE_OFFER_CREATED,
                             v1::SESSION_STATE_OFFERED, "ann");
  v1::RoutingReason& r = *offer.mutable_reason();
  r.set_strategy("most_spare");
  r.set_stage(v1::ROUTING_STAGE_QUEUE);
  r.set_decided_by(v1::DECIDER_EFFECTIVE_PRIORITY);
  r.set_runner_up_session_id("9");
  r.set_effective_priority_milli(12345);
  std::vector<v1::Event> events = {
      ApiEvent(1, absl::ZeroDuration(), v1::EVENT_TYPE_SESSION_CREATED, v1::SESSION_STATE_QUEUED),
      offer};
  const v1::GetSessionHistoryResponse h = BuildSessionHistory(Stored(events), absl::Hours(1));
  EXPECT_EQ(h.entries(1).summary(),
            "offered to ann by most_spare, stage QUEUE: ann was freed and chose it over session 9 "
            "by effective priority (12.345)");
  ASSERT_EQ(h.entries(1).candidates_size(), 1) << "the runner-up is a session, not an agent";
}

TEST(BuildSessionHistoryTest, TheEntryAfterAGapSaysHowManyAreMissing) {
  StoredHistory h = Stored(OverflowStory());
  h.missing = 12;
  h.gap = 5;
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(h, absl::Hours(1));
  EXPECT_THAT(r.entries(5).summary(),
              StartsWith("[12 earlier events not kept: audit.max_events_per_session] offered to "
                         "cara"));
  EXPECT_THAT(r.entries(4).summary(), StartsWith("overflowed"));
}

// ---------------------------------------------------------------------------------------------
// The store

Event EngineEvent(uint64_t seq, absl::Duration after, EventType type, uint64_t session,
                  SessionState state, const std::string& agent = "") {
  Event e;
  e.seq = seq;
  e.at = kT0 + after;
  e.type = type;
  e.session = SessionId(session);
  e.queue = QueueId("repair");
  e.channel = ChannelId("voice");
  e.state = state;
  e.engineer = EngineerId(agent);
  return e;
}

std::unique_ptr<AuditStore> OpenInMemory(int max_events = 1000) {
  AuditStore::Options options;
  options.in_memory = true;
  options.max_events_per_session = max_events;
  absl::StatusOr<std::unique_ptr<AuditStore>> store = AuditStore::Open("audit-test", options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

std::vector<uint64_t> Sequences(const StoredHistory& h) {
  std::vector<uint64_t> out;
  for (const v1::Event& e : h.events) out.push_back(e.sequence());
  return out;
}

// Two sessions interleaved with an agent's presence change.
std::vector<Event> TwoSessions() {
  using absl::Seconds;
  std::vector<Event> events;
  events.push_back(
      EngineEvent(1, Seconds(0), EventType::kSessionCreated, 1, SessionState::kQueued));
  Event presence;
  presence.seq = 2;
  presence.at = kT0;
  presence.type = EventType::kPresenceChanged;
  presence.engineer = EngineerId("ann");
  events.push_back(presence);
  Event offer =
      EngineEvent(3, Seconds(1), EventType::kOfferCreated, 1, SessionState::kOffered, "ann");
  offer.has_reason = true;
  offer.reason.strategy = "longest_idle";
  offer.reason.decided_by = Decider::kPrimaryKey;
  offer.reason.winner = RankKey{100, 0, 0};
  offer.reason.has_runner_up = true;
  offer.reason.runner_up = RankKey{200, 0, 1};
  offer.reason.runner_up_engineer = EngineerId("bob");
  events.push_back(offer);
  events.push_back(
      EngineEvent(4, Seconds(2), EventType::kSessionCreated, 2, SessionState::kQueued));
  events.push_back(
      EngineEvent(5, Seconds(3), EventType::kOfferAccepted, 1, SessionState::kAssigned, "ann"));
  events.push_back(
      EngineEvent(6, Seconds(3), EventType::kSessionAssigned, 1, SessionState::kAssigned, "ann"));
  return events;
}

TEST(AuditStoreTest, WritesSessionEventsAndReadsThemBackBySession) {
  std::unique_ptr<AuditStore> store = OpenInMemory();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(TwoSessions()).ok());
  absl::StatusOr<StoredHistory> one = store->Read(SessionId(1));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(Sequences(*one), ElementsAre(1, 3, 5, 6));
  EXPECT_EQ(one->missing, 0);
  const v1::Event& offer = one->events[1];
  EXPECT_EQ(offer.type(), v1::EVENT_TYPE_OFFER_CREATED);
  EXPECT_EQ(offer.session_id(), "1");
  EXPECT_EQ(offer.agent_id(), "ann");
  EXPECT_EQ(offer.reason().runner_up_agent_id(), "bob");
  EXPECT_EQ(offer.reason().winner().primary(), 100);
  EXPECT_EQ(TimeFromProto(offer.event_time()), kT0 + absl::Seconds(1));
  absl::StatusOr<StoredHistory> two = store->Read(SessionId(2));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_THAT(Sequences(*two), ElementsAre(4));
  EXPECT_EQ(store->Read(SessionId(3)).status().code(), absl::StatusCode::kNotFound);
}

TEST(AuditStoreTest, AReplayWritesNothingTwice) {
  std::unique_ptr<AuditStore> store = OpenInMemory();
  ASSERT_NE(store, nullptr);
  std::vector<Event> events = TwoSessions();
  std::vector<Event> first(events.begin(), events.begin() + 3);
  ASSERT_TRUE(store->Write(first).ok());
  // The journal's replay after a crash: everything again, with what followed.
  ASSERT_TRUE(store->Write(events).ok());
  ASSERT_TRUE(store->Write(events).ok());
  absl::StatusOr<StoredHistory> one = store->Read(SessionId(1));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(Sequences(*one), ElementsAre(1, 3, 5, 6));
  EXPECT_EQ(one->missing, 0);
}

TEST(AuditStoreTest, ReopenedFromDiskItHasEverythingAndStillSkipsReplays) {
  durability::testing::TempDir dir;
  const std::string path = dir.path() + "/audit";
  AuditStore::Options options;
  {
    absl::StatusOr<std::unique_ptr<AuditStore>> store = AuditStore::Open(path, options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Write(TwoSessions()).ok());
    ASSERT_TRUE((*store)->Sync().ok());
  }
  absl::StatusOr<std::unique_ptr<AuditStore>> store = AuditStore::Open(path, options);
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<Event> more = TwoSessions();
  more.push_back(
      EngineEvent(7, absl::Seconds(9), EventType::kSessionWrapUp, 1, SessionState::kWrapUp, "ann"));
  ASSERT_TRUE((*store)->Write(more).ok());
  absl::StatusOr<StoredHistory> one = (*store)->Read(SessionId(1));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_THAT(Sequences(*one), ElementsAre(1, 3, 5, 6, 7));
}

TEST(AuditStoreTest, TheSweepForgetsSessionsFinishedBeforeTheCutoffOnly) {
  using absl::Hours;
  std::unique_ptr<AuditStore> store = OpenInMemory();
  ASSERT_NE(store, nullptr);
  const std::vector<Event> events = {
      // Session 1 finished at T0, session 2 at T0+2h, session 3 (created at T0-10h) is open,
      // session 4 overflowed to another queue (open) and session 5 was cancelled at T0+1h.
      EngineEvent(1, -Hours(10), EventType::kSessionCreated, 3, SessionState::kQueued),
      EngineEvent(2, -Hours(1), EventType::kSessionCreated, 1, SessionState::kQueued),
      EngineEvent(3, -Hours(1), EventType::kSessionCreated, 4, SessionState::kQueued),
      EngineEvent(4, absl::ZeroDuration(), EventType::kSessionAbandoned, 1,
                  SessionState::kAbandoned),
      EngineEvent(5, absl::ZeroDuration(), EventType::kSessionOverflowed, 4, SessionState::kQueued),
      EngineEvent(6, absl::ZeroDuration(), EventType::kSessionCreated, 2, SessionState::kQueued),
      EngineEvent(7, Hours(1), EventType::kSessionCancelled, 5, SessionState::kCancelled),
      EngineEvent(8, Hours(2), EventType::kSessionCompleted, 2, SessionState::kCompleted),
  };
  ASSERT_TRUE(store->Write(events).ok());
  absl::StatusOr<int> forgotten = store->Sweep(kT0 + absl::Minutes(30), 100);
  ASSERT_TRUE(forgotten.ok()) << forgotten.status();
  EXPECT_EQ(*forgotten, 1);
  EXPECT_EQ(store->Read(SessionId(1)).status().code(), absl::StatusCode::kNotFound);
  for (uint64_t kept : {2, 3, 4, 5}) {
    EXPECT_TRUE(store->Read(SessionId(kept)).ok()) << "session " << kept;
  }
  forgotten = store->Sweep(kT0 + absl::Minutes(30), 100);
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(*forgotten, 0) << "nothing left to sweep before the cutoff";

  // A limit leaves the rest for the next sweep; the cutoff itself is included.
  forgotten = store->Sweep(kT0 + Hours(2), 1);
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(*forgotten, 1);
  EXPECT_EQ(store->Read(SessionId(5)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->Read(SessionId(2)).ok());
  forgotten = store->Sweep(kT0 + Hours(2), 1);
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(*forgotten, 1);
  EXPECT_EQ(store->Read(SessionId(2)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->Read(SessionId(3)).ok()) << "open sessions are never swept";
  EXPECT_TRUE(store->Read(SessionId(4)).ok()) << "an overflow to another queue is no end";

  // A swept session's events replayed again (a journal older than the sweep) come back, and
  // the next sweep forgets them again.
  ASSERT_TRUE(store->Write(events).ok());
  EXPECT_TRUE(store->Read(SessionId(1)).ok());
  forgotten = store->Sweep(kT0 + absl::Minutes(30), 100);
  ASSERT_TRUE(forgotten.ok());
  EXPECT_EQ(*forgotten, 1);
  EXPECT_EQ(store->Read(SessionId(1)).status().code(), absl::StatusCode::kNotFound);
}

TEST(AuditStoreTest, ALongSessionKeepsItsOldestAndNewestEvents) {
  std::unique_ptr<AuditStore> store = OpenInMemory(/*max_events=*/10);
  ASSERT_NE(store, nullptr);
  std::vector<Event> events;
  events.push_back(
      EngineEvent(1, absl::ZeroDuration(), EventType::kSessionCreated, 1, SessionState::kQueued));
  // An offer loop: offered and rejected 10 times, with other sessions' events between.
  uint64_t seq = 2;
  for (int i = 0; i < 10; ++i) {
    events.push_back(EngineEvent(seq++, absl::Seconds(i), EventType::kOfferCreated, 1,
                                 SessionState::kOffered, "ann"));
    events.push_back(EngineEvent(seq++, absl::Seconds(i), EventType::kSessionCreated, 100 + i,
                                 SessionState::kQueued));
    events.push_back(EngineEvent(seq++, absl::Seconds(i), EventType::kOfferRejected, 1,
                                 SessionState::kQueued, "ann"));
  }
  events.push_back(EngineEvent(seq, absl::Seconds(20), EventType::kSessionCancelled, 1,
                               SessionState::kCancelled));
  // Written in a few batches, as the daemon would.
  for (size_t i = 0; i < events.size(); i += 7) {
    std::vector<Event> batch(
        events.begin() + static_cast<std::ptrdiff_t>(i),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + 7)));
    ASSERT_TRUE(store->Write(batch).ok());
  }
  ASSERT_TRUE(store->Write(events).ok());  // and replayed: nothing changes
  absl::StatusOr<StoredHistory> h = store->Read(SessionId(1));
  ASSERT_TRUE(h.ok()) << h.status();
  // 22 events: the first 5 and the last 5 are kept.
  EXPECT_THAT(Sequences(*h), ElementsAre(1, 2, 4, 5, 7, 26, 28, 29, 31, 32));
  EXPECT_EQ(h->missing, 12);
  EXPECT_EQ(h->gap, 5u);
  const v1::GetSessionHistoryResponse r = BuildSessionHistory(*h, absl::Hours(1));
  EXPECT_EQ(r.state(), v1::SESSION_STATE_CANCELLED) << "the last event is always kept";
  EXPECT_THAT(r.entries(5).summary(), StartsWith("[12 earlier events not kept"));
}

TEST(AuditStoreTest, OpenRefusesAStoreInUse) {
  durability::testing::TempDir dir;
  const std::string path = dir.path() + "/audit";
  absl::StatusOr<std::unique_ptr<AuditStore>> first = AuditStore::Open(path, {});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<AuditStore>> second = AuditStore::Open(path, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
}

}  // namespace
}  // namespace omniroute::daemon
