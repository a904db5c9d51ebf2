// The decision audit through the real daemon: SessionService.GetSessionHistory after a session
// went through a relaxation, an offer with a runner-up, a rejection, a second offer, an accept
// and its completion; its errors; and its history kept across a clean restart, a crash, and a
// crash after a snapshot (when the journal no longer replays it).

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// ann (repair 3) and bob (repair 2) serve "repair", which wants repair 4 and, after 300 ms,
// repair 2: a session waits, is relaxed, and then both are eligible.
constexpr char kQueues[] = R"pb(
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
  queues { id: "backlog" }
  agents {
    id: "ann"
    skills { skill_id: "repair" level: 3 }
    queue_ids: "repair"
  }
  agents {
    id: "bob"
    skills { skill_id: "repair" level: 2 }
    queue_ids: "repair"
  }
)pb";

std::string InMemory() { return std::string(kQueues) + "durability { enabled: false }\n"; }

grpc::Status History(Daemon& d, const std::string& session_id, v1::GetSessionHistoryResponse* out) {
  v1::GetSessionHistoryRequest request;
  request.set_session_id(session_id);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  return d.sessions().GetSessionHistory(&context, request, out);
}

v1::GetSessionHistoryResponse HistoryOf(Daemon& d, const std::string& session_id) {
  v1::GetSessionHistoryResponse out;
  grpc::Status st = History(d, session_id, &out);
  EXPECT_TRUE(st.ok()) << "GetSessionHistory(" << session_id << "): " << ToString(st);
  return out;
}

std::vector<std::string> Described(const v1::GetSessionHistoryResponse& h) {
  std::vector<std::string> out;
  for (const v1::AuditEntry& e : h.entries()) out.push_back(Describe(e.event()));
  return out;
}

std::string Dump(const v1::GetSessionHistoryResponse& h) {
  std::string out;
  for (const v1::AuditEntry& e : h.entries()) {
    out += "  #" + std::to_string(e.event().sequence()) + " " + Describe(e.event()) +
           " waited=" + std::to_string(Micros(e.waited())) + "us: " + e.summary() + "\n";
  }
  return out;
}

grpc::Status Reject(Daemon& d, const std::string& session, const std::string& agent) {
  v1::RejectOfferRequest r;
  r.set_session_id(session);
  r.set_agent_id(agent);
  r.set_reason("at lunch");
  return d.RejectOffer(r);
}

grpc::Status Accept(Daemon& d, const std::string& session, const std::string& agent) {
  v1::AcceptOfferRequest r;
  r.set_session_id(session);
  r.set_agent_id(agent);
  return d.AcceptOffer(r);
}

// The session's whole life: created, relaxed after 300 ms, offered to ann (bob the runner-up),
// rejected, offered to bob, accepted, completed, wrap-up ended. Returns its id; `events` gets
// the session's events as StreamEvents reported them.
std::string DriveStory(Daemon& d, std::vector<v1::Event>* events) {
  EventLog log(d);
  EXPECT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));  // ann has idled longer than bob
  EXPECT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  v1::Session created;
  const std::string s = d.Create(NewSession("audit-1", "voice", "repair"), &created);
  EXPECT_EQ(created.state(), v1::SESSION_STATE_QUEUED) << "nobody has repair 4";
  if (!log.Await(v1::EVENT_TYPE_OFFER_CREATED, s, "ann").has_value()) return s;
  EXPECT_THAT(Reject(d, s, "ann"), IsOk());
  if (!log.Await(v1::EVENT_TYPE_OFFER_CREATED, s, "bob").has_value()) return s;
  EXPECT_THAT(Accept(d, s, "bob"), IsOk());
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s);
  complete.set_agent_id("bob");
  EXPECT_THAT(d.CompleteSession(complete), IsOk());
  v1::EndWrapUpRequest end;
  end.set_session_id(s);
  end.set_agent_id("bob");
  EXPECT_THAT(d.EndWrapUp(end), IsOk());
  log.Sync();
  for (const v1::Event& e : log.all()) {
    if (e.session_id() == s) events->push_back(e);
  }
  return s;
}

// Everything GetSessionHistory must say about the story (the history read right after the
// last call: it sees every batch committed before it).
void ExpectStory(const v1::GetSessionHistoryResponse& h, const std::string& s,
                 const std::vector<v1::Event>& events) {
  SCOPED_TRACE(Dump(h));
  EXPECT_EQ(h.session_id(), s);
  EXPECT_EQ(h.state(), v1::SESSION_STATE_COMPLETED);
  EXPECT_THAT(Described(h),
              ElementsAre("SESSION_CREATED session=" + s, "SESSION_RELAXED session=" + s,
                          "OFFER_CREATED session=" + s + " agent=ann",
                          "OFFER_REJECTED session=" + s + " agent=ann",
                          "OFFER_CREATED session=" + s + " agent=bob",
                          "OFFER_ACCEPTED session=" + s + " agent=bob",
                          "SESSION_ASSIGNED session=" + s + " agent=bob",
                          "SESSION_WRAP_UP session=" + s + " agent=bob",
                          "SESSION_COMPLETED session=" + s + " agent=bob"));
  ASSERT_EQ(h.entries_size(), 9);
  // Each entry's event is the event StreamEvents delivered.
  ASSERT_EQ(events.size(), 9u);
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(h.entries(i).event().SerializeAsString(),
              events[static_cast<size_t>(i)].SerializeAsString())
        << "entry " << i << ": " << ShortDebug(h.entries(i).event())
        << "\nstreamed: " << ShortDebug(events[static_cast<size_t>(i)]);
  }

  // The relaxation came exactly 300 ms (router time) into the wait, and the first offer with
  // it; the wait goes on across the rejection and stops at the assignment.
  const int64_t created_us = Micros(h.entries(0).event().event_time());
  EXPECT_EQ(Micros(h.entries(0).waited()), 0);
  EXPECT_EQ(Micros(h.entries(1).waited()), 300'000);
  EXPECT_EQ(h.entries(1).summary(), "relaxed after 300ms: step 1: repair>=2");
  EXPECT_EQ(Micros(h.entries(2).waited()), 300'000);
  for (int i = 3; i <= 6; ++i) {
    EXPECT_EQ(Micros(h.entries(i).waited()), Micros(h.entries(i).event().event_time()) - created_us)
        << "entry " << i;
  }
  const int64_t assigned_wait = Micros(h.entries(6).waited());
  EXPECT_GT(assigned_wait, 300'000);
  EXPECT_EQ(Micros(h.entries(7).waited()), assigned_wait) << "the wait ended at the assignment";
  EXPECT_EQ(Micros(h.entries(8).waited()), assigned_wait);

  // The first offer: ann chosen over bob on the primary key (idle longer), step 1 in force.
  const v1::AuditEntry& first = h.entries(2);
  EXPECT_EQ(first.event().reason().decided_by(), v1::DECIDER_PRIMARY_KEY);
  EXPECT_EQ(first.event().reason().relaxation_step(), 1);
  ASSERT_EQ(first.candidates_size(), 2);
  EXPECT_EQ(first.candidates(0).agent_id(), "ann");
  EXPECT_TRUE(first.candidates(0).chosen());
  EXPECT_EQ(first.candidates(0).rank().primary(), first.event().reason().winner().primary());
  EXPECT_EQ(first.candidates(1).agent_id(), "bob");
  EXPECT_FALSE(first.candidates(1).chosen());
  EXPECT_EQ(first.candidates(1).rank().primary(), first.event().reason().runner_up().primary());
  EXPECT_LT(first.candidates(0).rank().primary(), first.candidates(1).rank().primary())
      << "longest_idle: the smaller idle-since wins";
  EXPECT_THAT(first.summary(),
              StartsWith("offered to ann by longest_idle, stage QUEUE, relaxation step 1: "
                         "primary key decided over bob (idle "));

  EXPECT_EQ(h.entries(3).summary(), "ann rejected the offer: at lunch (back to the queue)");
  // The second offer: ann declined, so bob.
  const v1::AuditEntry& second = h.entries(4);
  ASSERT_GE(second.candidates_size(), 1);
  EXPECT_EQ(second.candidates(0).agent_id(), "bob");
  EXPECT_TRUE(second.candidates(0).chosen());
  EXPECT_THAT(second.summary(), StartsWith("offered to bob by longest_idle"));
  EXPECT_EQ(h.entries(6).summary(), "assigned to bob (accepted the offer)");
  EXPECT_EQ(h.entries(8).summary(), "completed by bob");

  ASSERT_TRUE(h.has_retain_until_time());
  EXPECT_EQ(Micros(h.retain_until_time()),
            Micros(h.entries(8).event().event_time()) + int64_t{168} * 3600 * 1'000'000)
      << "finished + the default retention of 7 days";
}

TEST(Audit, TheHistoryShowsEveryDecisionWithItsCandidatesAndWaits) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(InMemory()));
  std::vector<v1::Event> events;
  const std::string s = DriveStory(d, &events);
  ASSERT_FALSE(s.empty());
  ExpectStory(HistoryOf(d, s), s, events);
  d.StopCleanly();
}

TEST(Audit, AnOpenSessionHasItsHistorySoFar) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(InMemory()));
  const std::string s = d.Create(NewSession("open-1", "voice", "repair"));
  v1::GetSessionHistoryResponse h = HistoryOf(d, s);
  EXPECT_EQ(h.state(), v1::SESSION_STATE_QUEUED);
  EXPECT_THAT(Described(h), ElementsAre("SESSION_CREATED session=" + s));
  EXPECT_FALSE(h.has_retain_until_time()) << "kept while open";
  EXPECT_EQ(h.entries(0).summary(), "created on voice in repair: QUEUED");
  d.StopCleanly();
}

TEST(Audit, BadAndUnknownIds) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(InMemory()));
  v1::GetSessionHistoryResponse h;
  EXPECT_THAT(History(d, "", &h), InvalidArgumentNaming("session_id"));
  EXPECT_THAT(History(d, "abc", &h), InvalidArgumentNaming("session_id"));
  EXPECT_THAT(History(d, "0", &h), InvalidArgumentNaming("session_id"));
  EXPECT_THAT(History(d, "-4", &h), InvalidArgumentNaming("session_id"));
  EXPECT_THAT(History(d, "999999", &h),
              StatusIs(grpc::StatusCode::NOT_FOUND, HasSubstr("session 999999")));
  d.StopCleanly();
}

TEST(Audit, OffWithAZeroRetention) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(InMemory() + "audit { retention { seconds: 0 } }\n"));
  const std::string s = d.Create(NewSession("off-1", "voice", "repair"));
  v1::GetSessionHistoryResponse h;
  EXPECT_THAT(History(d, s, &h),
              StatusIs(grpc::StatusCode::FAILED_PRECONDITION, HasSubstr("audit.retention")));
  EXPECT_THAT(History(d, "", &h), InvalidArgumentNaming("session_id"))
      << "bad input is still bad input";
  d.StopCleanly();
}

TEST(Audit, KeptAcrossACleanRestart) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kQueues));
  std::vector<v1::Event> events;
  const std::string s = DriveStory(d, &events);
  ASSERT_FALSE(s.empty());
  const v1::GetSessionHistoryResponse before = HistoryOf(d, s);
  ExpectStory(before, s, events);
  d.StopCleanly();  // a snapshot: nothing is replayed at the restart
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  const v1::GetSessionHistoryResponse after = HistoryOf(d, s);
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString()) << Dump(after);
  d.StopCleanly();
}

TEST(Audit, KeptAcrossACrashWithoutDuplicates) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kQueues));
  std::vector<v1::Event> events;
  const std::string s = DriveStory(d, &events);
  ASSERT_FALSE(s.empty());
  const v1::GetSessionHistoryResponse before = HistoryOf(d, s);
  ExpectStory(before, s, events);
  const std::string open = d.Create(NewSession("open-2", "voice", "backlog"));
  d.Kill();  // the journal since the startup snapshot is replayed: written again, idempotently
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  const v1::GetSessionHistoryResponse after = HistoryOf(d, s);
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString()) << Dump(after);
  EXPECT_THAT(Described(HistoryOf(d, open)), ElementsAre("SESSION_CREATED session=" + open));
  d.StopCleanly();
}

int LogLines(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Audit, KeptAcrossACrashAfterASnapshotLetTheJournalGo) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(std::string(kQueues) + R"pb(
    durability {
      snapshot_journal_bytes: 1048576
      segment_bytes: 65536
      snapshot_interval { seconds: 0 }
    }
  )pb"));
  std::vector<v1::Event> events;
  const std::string s = DriveStory(d, &events);
  ASSERT_FALSE(s.empty());
  const v1::GetSessionHistoryResponse before = HistoryOf(d, s);
  const int snapshots = LogLines(d.Stderr(), "snapshot written");
  // More than 1 MiB of journal after the story: a snapshot (by a child process) covers it.
  std::string last;
  for (int i = 0; i < 150; ++i) {
    v1::CreateSessionRequest r = NewSession("large-" + std::to_string(i), "webchat", "backlog");
    for (int a = 0; a < 2; ++a) {
      auto* attr = r.add_attributes();
      attr->set_key("blob" + std::to_string(a));
      attr->set_value(std::string(4000, static_cast<char>('a' + (i + a) % 26)));
    }
    last = d.Create(r);
  }
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (LogLines(d.Stderr(), "snapshot written") <= snapshots &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(LogLines(d.Stderr(), "snapshot written"), snapshots)
      << "no snapshot after more than 1 MiB of journal";
  d.Kill();
  const size_t log_from = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  const std::string recovered = d.Stderr().substr(log_from);
  EXPECT_THAT(recovered, HasSubstr("state recovered"));
  EXPECT_THAT(recovered, ::testing::Not(HasSubstr("snapshot_position=0")))
      << "recovered from the running snapshot, not from the start of the journal";
  const v1::GetSessionHistoryResponse after = HistoryOf(d, s);
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString()) << Dump(after);
  ExpectStory(after, s, events);
  EXPECT_THAT(Described(HistoryOf(d, last)), ElementsAre("SESSION_CREATED session=" + last));
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
