// Restart semantics of the durable daemon, one property at a time: a clean restart and a
// kill -9 restart (under every sync policy) give back the same queues, agents, channels,
// sessions, pending offers and event sequence; timers that fell due while the daemon was down
// fire at once, at the restart (offers nobody saw are not counted as missed), and waiting
// times keep counting; CreateSession stays
// idempotent across restarts; a second daemon on the same directory is refused; a corrupt
// record in the middle of the journal or a missing segment refuses the start (naming the
// file, changing nothing) while a torn tail is cut off; a damaged newest snapshot falls back
// to the one before it; snapshots are taken while running and old journal segments removed.
// A refused start writes nothing.
//
// The journal and snapshot files are read and damaged here through their documented formats
// (durability/include/omniroute/durability/file_journal.h and snapshot_file.h).

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// ---------------------------------------------------------------------------------------------
// The whole visible state, and comparing it

struct State {
  v1::ListChannelsResponse channels;
  v1::ListQueuesResponse queues;
  v1::ListAgentsResponse agents;
  v1::ListSessionsResponse sessions;
};

// Every page of a List call, merged into one response (next_page_token cleared).
template <typename Request, typename Response, typename Call, typename Merge>
Response AllPages(Call call, Merge merge) {
  Request request;
  request.set_page_size(1000);
  Response all;
  for (int page = 0; page < 1000; ++page) {
    Response r;
    grpc::Status st = call(request, &r);
    EXPECT_TRUE(st.ok()) << ToString(st);
    if (!st.ok()) break;
    merge(r, &all);
    if (r.next_page_token().empty()) break;
    request.set_page_token(r.next_page_token());
  }
  return all;
}

State Dump(Daemon& d) {
  State s;
  s.channels = AllPages<v1::ListChannelsRequest, v1::ListChannelsResponse>(
      [&](const v1::ListChannelsRequest& q, v1::ListChannelsResponse* r) {
        return d.ListChannels(q, r);
      },
      [](const v1::ListChannelsResponse& r, v1::ListChannelsResponse* all) {
        all->mutable_channels()->MergeFrom(r.channels());
      });
  s.queues = AllPages<v1::ListQueuesRequest, v1::ListQueuesResponse>(
      [&](const v1::ListQueuesRequest& q, v1::ListQueuesResponse* r) {
        return d.ListQueues(q, r);
      },
      [](const v1::ListQueuesResponse& r, v1::ListQueuesResponse* all) {
        all->mutable_queues()->MergeFrom(r.queues());
      });
  s.agents = AllPages<v1::ListAgentsRequest, v1::ListAgentsResponse>(
      [&](const v1::ListAgentsRequest& q, v1::ListAgentsResponse* r) {
        return d.ListAgents(q, r);
      },
      [](const v1::ListAgentsResponse& r, v1::ListAgentsResponse* all) {
        all->mutable_agents()->MergeFrom(r.agents());
      });
  s.sessions = AllPages<v1::ListSessionsRequest, v1::ListSessionsResponse>(
      [&](const v1::ListSessionsRequest& q, v1::ListSessionsResponse* r) {
        return d.ListSessions(q, r);
      },
      [](const v1::ListSessionsResponse& r, v1::ListSessionsResponse* all) {
        all->mutable_sessions()->MergeFrom(r.sessions());
      });
  return s;
}

// "" when equal, else what differs.
std::string Differences(const google::protobuf::Message& before,
                        const google::protobuf::Message& after) {
  google::protobuf::util::MessageDifferencer differ;
  std::string report;
  differ.ReportDifferencesToString(&report);
  if (differ.Compare(before, after)) return "";
  return report.empty() ? "(differ)" : report;
}

void ExpectSameState(const State& before, const State& after) {
  EXPECT_EQ(Differences(before.channels, after.channels), "") << "channels";
  EXPECT_EQ(Differences(before.queues, after.queues), "") << "queues";
  EXPECT_EQ(Differences(before.agents, after.agents), "") << "agents (presence, load, ...)";
  EXPECT_EQ(Differences(before.sessions, after.sessions), "")
      << "sessions (state, agent, request_id, create and wait times, ...)";
}

// ---------------------------------------------------------------------------------------------
// The log (logfmt on stderr)

// The lines of `log` whose message starts with `msg`.
std::vector<std::string> LogLines(const std::string& log, const std::string& msg) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("msg=\"" + msg) != std::string::npos ||
        line.find("msg=" + msg + " ") != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

// The integer value of `key` in a logfmt line.
std::optional<int64_t> LogInt(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + "=");
  if (at == std::string::npos) return std::nullopt;
  const size_t from = at + key.size() + 2;
  size_t end = from;
  while (end < line.size() && (std::isdigit(static_cast<unsigned char>(line[end])) ||
                               (end == from && line[end] == '-'))) {
    ++end;
  }
  if (end == from) return std::nullopt;
  return std::stoll(line.substr(from, end - from));
}

// ---------------------------------------------------------------------------------------------
// The data directory's files (formats in file_journal.h and snapshot_file.h)

// Positions in names "<prefix><20 digits><suffix>" of `dir`, ascending.
std::vector<uint64_t> NumberedFiles(const std::string& dir, const std::string& prefix,
                                    const std::string& suffix) {
  std::vector<uint64_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 20 + suffix.size() || name.rfind(prefix, 0) != 0 ||
        name.substr(prefix.size() + 20) != suffix) {
      continue;
    }
    out.push_back(std::stoull(name.substr(prefix.size(), 20)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string NumberedName(const std::string& prefix, uint64_t n, const std::string& suffix) {
  std::string digits = std::to_string(n);
  return prefix + std::string(20 - digits.size(), '0') + digits + suffix;
}

std::vector<uint64_t> SnapshotPositions(const std::string& dir) {
  return NumberedFiles(dir, "snapshot-", ".snap");
}
std::vector<uint64_t> SegmentFirstPositions(const std::string& dir) {
  return NumberedFiles(dir, "journal-", ".log");
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

uint64_t LittleEndian(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)]);
  }
  return v;
}

// One journal record where it lies on disk.
struct JournalRecord {
  std::string path;       // its segment file
  uint64_t position = 0;  // its journal position
  uint64_t offset = 0;    // of its length field in the file
  uint64_t payload_bytes = 0;
  uint64_t size() const { return 8 + payload_bytes; }
};

constexpr size_t kSegmentHeaderBytes = 24;

// Every complete record of every segment of `dir`, oldest first.
std::vector<JournalRecord> ReadJournal(const std::string& dir) {
  std::vector<JournalRecord> out;
  for (uint64_t first : SegmentFirstPositions(dir)) {
    const std::string path = dir + "/" + NumberedName("journal-", first, ".log");
    const std::string bytes = ReadBytes(path);
    EXPECT_GE(bytes.size(), kSegmentHeaderBytes) << path;
    if (bytes.size() < kSegmentHeaderBytes) continue;
    EXPECT_EQ(bytes.substr(0, 8), "OMRJRNL1") << path;
    EXPECT_EQ(LittleEndian(bytes, 12, 8), first) << path << ": header and name disagree";
    uint64_t position = first;
    size_t offset = kSegmentHeaderBytes;
    while (offset + 8 <= bytes.size()) {
      const uint64_t length = LittleEndian(bytes, offset, 4);
      if (offset + 8 + length > bytes.size()) break;
      out.push_back(JournalRecord{path, position, offset, length});
      offset += 8 + length;
      ++position;
    }
  }
  return out;
}

// Every file of `dir` but the LOCK (which names the last daemon that held it), with its bytes.
std::map<std::string, std::string> DirectoryContents(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name != "LOCK") out[name] = ReadBytes(entry.path().string());
  }
  return out;
}

std::vector<std::string> Names(const std::map<std::string, std::string>& contents) {
  std::vector<std::string> out;
  for (const auto& [name, bytes] : contents) out.push_back(name);
  return out;
}

// Polls `done` every 10 ms until it holds or `timeout` passes: only for what the daemon does
// on its own with no answer to wait for (a snapshot written by its child process).
bool Eventually(const std::function<bool()>& done, milliseconds timeout = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Calls

grpc::Status Accept(Daemon& d, const std::string& session, const std::string& agent,
                    const std::string& offer_id = "") {
  v1::AcceptOfferRequest r;
  r.set_session_id(session);
  r.set_agent_id(agent);
  r.set_offer_id(offer_id);
  return d.AcceptOffer(r);
}

grpc::Status Reject(Daemon& d, const std::string& session, const std::string& agent) {
  v1::RejectOfferRequest r;
  r.set_session_id(session);
  r.set_agent_id(agent);
  r.set_reason("busy");
  return d.RejectOffer(r);
}

grpc::Status Complete(Daemon& d, const std::string& session, const std::string& agent) {
  v1::CompleteSessionRequest r;
  r.set_session_id(session);
  r.set_agent_id(agent);
  return d.CompleteSession(r);
}

grpc::Status EndWrapUp(Daemon& d, const std::string& session, const std::string& agent) {
  v1::EndWrapUpRequest r;
  r.set_session_id(session);
  r.set_agent_id(agent);
  return d.EndWrapUp(r);
}

grpc::Status Cancel(Daemon& d, const std::string& session, v1::CancelKind kind) {
  v1::CancelSessionRequest r;
  r.set_session_id(session);
  r.set_kind(kind);
  r.set_reason("gone");
  return d.CancelSession(r);
}

// The CreateSession answer for `request` (a retry when it was made before).
v1::CreateSessionResponse Retry(Daemon& d, const v1::CreateSessionRequest& request,
                                grpc::Status* status) {
  v1::CreateSessionResponse resp;
  *status = d.CreateSession(request, &resp);
  return resp;
}

// Every request made with what it created: retrying each must give the same session back.
using Created = std::vector<std::pair<v1::CreateSessionRequest, std::string>>;

void ExpectRetriesAreDuplicates(Daemon& d, const Created& created) {
  for (const auto& [request, session] : created) {
    grpc::Status st;
    v1::CreateSessionResponse resp = Retry(d, request, &st);
    ASSERT_THAT(st, IsOk()) << request.request_id();
    EXPECT_TRUE(resp.duplicate()) << request.request_id();
    EXPECT_EQ(resp.session().id(), session) << request.request_id();
    EXPECT_EQ(resp.session().request_id(), request.request_id());
  }
}

// ---------------------------------------------------------------------------------------------
// A state with a bit of everything

// ann and bob serve repair and sales (a call takes 60 of their 200, a chat 20, three chats at
// most); cara serves sales; nobody serves backlog. Timeouts are long: nothing falls due during
// a test unless it says so.
constexpr char kConfig[] = R"pb(
  engine { session_retention { seconds: 3600 } }
  queues { id: "backlog" offer_timeout { seconds: 120 } }
  queues { id: "repair" offer_timeout { seconds: 120 } wrap_up_duration { seconds: 120 } }
  queues { id: "sales" offer_timeout { seconds: 120 } wrap_up_duration { seconds: 120 } }
  agents {
    id: "ann"
    budget: 200
    channels { channel_id: "voice" max: 1 cost: 60 }
    channels { channel_id: "wechat" max: 3 cost: 20 }
    queue_ids: "repair"
    queue_ids: "sales"
  }
  agents {
    id: "bob"
    budget: 200
    channels { channel_id: "voice" max: 1 cost: 60 }
    channels { channel_id: "wechat" max: 3 cost: 20 }
    queue_ids: "repair"
    queue_ids: "sales"
  }
  agents {
    id: "cara"
    channels { channel_id: "wechat" max: 2 cost: 20 }
    queue_ids: "sales"
  }
)pb";

// Creates sessions in every state (ASSIGNED, OFFERED after a reject, WRAP_UP, COMPLETED,
// QUEUED, ABANDONED, CANCELLED, BOT, escalated), agents in every presence, and a queue, an
// agent and a channel added at run time.
void BuildState(Daemon& d, Created* created) {
  auto create = [&](v1::CreateSessionRequest r) {
    v1::Session s;
    const std::string id = d.Create(r, &s);
    EXPECT_FALSE(id.empty());
    created->emplace_back(r, id);
    return s;
  };
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("cara", v1::PRESENCE_NOT_READY, "training"), IsOk());

  // A call, accepted.
  v1::Session call = create(NewSession("call-1", "voice", "repair"));
  ASSERT_EQ(call.state(), v1::SESSION_STATE_OFFERED);
  ASSERT_THAT(Accept(d, call.id(), call.agent_id()), IsOk());
  // A chat rejected by the first engineer offered, now offered to the other.
  v1::CreateSessionRequest chat = NewSession("chat-1", "wechat", "repair");
  chat.mutable_customer()->set_id("cust-1");
  chat.mutable_customer()->set_vip_level(0);
  chat.mutable_customer()->add_tags("new-home");
  chat.set_priority(7);
  chat.set_intent("repair.fridge");
  auto* attr = chat.add_attributes();
  attr->set_key("product");
  attr->set_value("fridge F-9");
  v1::Session rejected = create(chat);
  ASSERT_EQ(rejected.state(), v1::SESSION_STATE_OFFERED);
  ASSERT_THAT(Reject(d, rejected.id(), rejected.agent_id()), IsOk());
  v1::Session reoffered = d.Session(rejected.id());
  ASSERT_EQ(reoffered.state(), v1::SESSION_STATE_OFFERED);
  ASSERT_NE(reoffered.agent_id(), rejected.agent_id());
  // A chat in wrap-up, and one completed.
  for (const char* rid : {"chat-2", "chat-3"}) {
    v1::Session s = create(NewSession(rid, "wechat", "sales"));
    ASSERT_EQ(s.state(), v1::SESSION_STATE_OFFERED) << rid;
    ASSERT_THAT(Accept(d, s.id(), s.agent_id()), IsOk());
    ASSERT_THAT(Complete(d, s.id(), s.agent_id()), IsOk());
    if (std::string(rid) == "chat-3") {
      ASSERT_THAT(EndWrapUp(d, s.id(), s.agent_id()), IsOk());
    }
  }
  // Waiting in a queue nobody serves; one abandoned, one withdrawn.
  for (int i = 0; i < 4; ++i) {
    v1::CreateSessionRequest r = NewSession("wait-" + std::to_string(i), "webchat", "backlog");
    r.set_priority(i * 10);
    v1::Session s = create(r);
    ASSERT_EQ(s.state(), v1::SESSION_STATE_QUEUED);
    if (i == 2) {
      ASSERT_THAT(Cancel(d, s.id(), v1::CANCEL_KIND_ABANDONED), IsOk());
    }
    if (i == 3) {
      ASSERT_THAT(Cancel(d, s.id(), v1::CANCEL_KIND_WITHDRAWN), IsOk());
    }
  }
  // With the robot; and one escalated to sales.
  v1::CreateSessionRequest bot = NewSession("bot-1", "app", "sales");
  bot.set_start_in_bot(true);
  ASSERT_EQ(create(bot).state(), v1::SESSION_STATE_BOT);
  bot.set_request_id("bot-2");
  v1::Session escalated = create(bot);
  v1::EscalateSessionRequest esc;
  esc.set_session_id(escalated.id());
  esc.set_intent("billing");
  esc.set_summary("the customer asks about an invoice");
  ASSERT_THAT(d.EscalateSession(esc), IsOk());
  // Configuration changed at run time.
  v1::UpsertChannelRequest channel;
  channel.mutable_channel()->set_id("line");
  channel.mutable_channel()->set_cost(15);
  channel.mutable_channel()->set_default_max(4);
  ASSERT_THAT(d.UpsertChannel(channel), IsOk());
  v1::UpsertQueueRequest queue;
  queue.mutable_queue()->set_id("vip");
  queue.mutable_queue()->set_strategy("best_rated");
  *queue.mutable_queue()->mutable_offer_timeout() = Millis(90000);
  ASSERT_THAT(d.UpsertQueue(queue), IsOk());
  v1::UpsertAgentRequest agent;
  agent.mutable_agent()->set_id("dan");
  agent.mutable_agent()->set_tier(v1::AGENT_TIER_MASTER);
  agent.mutable_agent()->set_score(99);
  agent.mutable_agent()->add_queue_ids("vip");
  ASSERT_THAT(d.UpsertAgent(agent), IsOk());
  ASSERT_THAT(d.SetPresence("dan", v1::PRESENCE_AVAILABLE), IsOk());
  v1::Session vip = create(NewSession("vip-1", "line", "vip"));
  ASSERT_EQ(vip.agent_id(), "dan");
}

// What each agent's desktop gets first.
std::map<std::string, v1::AgentSnapshot> DesktopSnapshots(Daemon& d) {
  std::map<std::string, v1::AgentSnapshot> out;
  for (const char* agent : {"ann", "bob", "cara", "dan"}) {
    Desktop desk(d, agent);
    out[agent] = desk.snapshot();
  }
  return out;
}

// The sequence number of the next event: cara's desktop is connected (its snapshot says the
// stream is in place), her not-ready reason changed to `marker`, and the sequence read from
// the PRESENCE_CHANGED event her desktop receives. (A StreamEvents from after_sequence 0 is
// refused after a restart: the history kept for resumes starts after the snapshot.)
uint64_t NextSequence(Daemon& d, const std::string& marker) {
  Desktop cara(d, "cara");
  EXPECT_THAT(d.SetPresence("cara", v1::PRESENCE_NOT_READY, marker), IsOk());
  std::optional<v1::StreamOffersResponse> m = AwaitMessage(
      cara.stream(),
      [&](const v1::StreamOffersResponse& r) {
        return r.has_status() && r.status().presence_reason() == marker;
      },
      "cara's status " + marker);
  if (!m.has_value()) return 0;
  EXPECT_EQ(m->event().type(), v1::EVENT_TYPE_PRESENCE_CHANGED);
  return m->event().sequence();
}

// ---------------------------------------------------------------------------------------------
// Restarts keep everything

TEST(Durability, ACleanRestartKeepsEverything) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Created created;
  ASSERT_NO_FATAL_FAILURE(BuildState(d, &created));
  const uint64_t seq_before = NextSequence(d, "marker-1");
  const State before = Dump(d);
  const std::map<std::string, v1::AgentSnapshot> desks_before = DesktopSnapshots(d);
  const v1::QueueStats backlog_before = d.QueueStats("backlog");

  const int status = d.Stop();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Daemon::DescribeExit(status);
  const size_t log_from = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.Restart());

  ExpectSameState(before, Dump(d));
  const std::map<std::string, v1::AgentSnapshot> desks_after = DesktopSnapshots(d);
  for (const auto& [agent, snap] : desks_before) {
    EXPECT_EQ(Differences(snap, desks_after.at(agent)), "")
        << agent << "'s desktop snapshot (status, pending offers, held sessions)";
  }
  const v1::QueueStats backlog_after = d.QueueStats("backlog");
  EXPECT_EQ(backlog_after.waiting(), backlog_before.waiting());
  EXPECT_EQ(Micros(backlog_after.oldest_wait_start_time()),
            Micros(backlog_before.oldest_wait_start_time()));
  EXPECT_GE(Micros(backlog_after.oldest_wait()), Micros(backlog_before.oldest_wait()));
  EXPECT_EQ(NextSequence(d, "marker-2"), seq_before + 1)
      << "the event sequence goes on where it was, no number reused";

  // The shutdown snapshot covered everything: nothing to replay.
  const std::vector<std::string> recovered =
      LogLines(d.Stderr().substr(log_from), "state recovered");
  ASSERT_EQ(recovered.size(), 1u) << d.Stderr().substr(log_from);
  EXPECT_EQ(LogInt(recovered[0], "replayed_records"), 0) << recovered[0];
  EXPECT_EQ(LogInt(recovered[0], "dropped_bytes"), 0) << recovered[0];

  ExpectRetriesAreDuplicates(d, created);
  // A pending offer is answerable with the offer id given before the restart.
  const v1::Session chat = d.Session(created[1].second);
  ASSERT_EQ(chat.state(), v1::SESSION_STATE_OFFERED);
  std::string offer_id;
  for (const v1::Offer& o : desks_before.at(chat.agent_id()).pending_offers()) {
    if (o.session().id() == chat.id()) offer_id = o.offer_id();
  }
  ASSERT_FALSE(offer_id.empty());
  ASSERT_THAT(Accept(d, chat.id(), chat.agent_id(), offer_id), IsOk());
  EXPECT_EQ(d.Session(chat.id()).state(), v1::SESSION_STATE_ASSIGNED);
  d.StopCleanly();
}

class KillRestart : public ::testing::TestWithParam<const char*> {};

TEST_P(KillRestart, KeepsEverythingAcknowledged) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(std::string(kConfig) + "durability { " + GetParam() + " }"));
  Created created;
  ASSERT_NO_FATAL_FAILURE(BuildState(d, &created));
  const uint64_t seq_before = NextSequence(d, "marker-1");
  const State before = Dump(d);
  const std::map<std::string, v1::AgentSnapshot> desks_before = DesktopSnapshots(d);

  d.Kill();
  const size_t log_from = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());

  ExpectSameState(before, Dump(d));
  const std::map<std::string, v1::AgentSnapshot> desks_after = DesktopSnapshots(d);
  for (const auto& [agent, snap] : desks_before) {
    EXPECT_EQ(Differences(snap, desks_after.at(agent)), "")
        << agent << "'s desktop snapshot (status, pending offers, held sessions)";
  }
  EXPECT_EQ(NextSequence(d, "marker-2"), seq_before + 1);
  const std::vector<std::string> recovered =
      LogLines(d.Stderr().substr(log_from), "state recovered");
  ASSERT_EQ(recovered.size(), 1u) << d.Stderr().substr(log_from);
  EXPECT_GT(LogInt(recovered[0], "replayed_records").value_or(0), 20) << recovered[0];
  EXPECT_EQ(LogInt(recovered[0], "sessions"), before.sessions.sessions_size()) << recovered[0];
  ExpectRetriesAreDuplicates(d, created);

  // And once more, with what was done since.
  const State again = Dump(d);
  d.Kill();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  ExpectSameState(again, Dump(d));
  d.StopCleanly();
}

// A process crash loses nothing acknowledged whatever the sync policy: the data is in the
// kernel's page cache once write(2) returns.
INSTANTIATE_TEST_SUITE_P(SyncPolicies, KillRestart,
                         ::testing::Values("sync_policy: SYNC_POLICY_EVERY_BATCH",
                                           "sync_policy: SYNC_POLICY_INTERVAL "
                                           "sync_interval { seconds: 5 }",
                                           "sync_policy: SYNC_POLICY_NEVER"),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           return std::string(param.index == 0   ? "EveryBatch"
                                              : param.index == 1 ? "Interval"
                                                                 : "Never");
                         });

// ---------------------------------------------------------------------------------------------
// Timers that fell due while the daemon was down

constexpr char kExpiryConfig[] = R"pb(
  engine { missed_offers_limit: 0 }
  queues { id: "fast" offer_timeout { seconds: 2 } }
  queues { id: "backlog" }
  agents { id: "ann" queue_ids: "fast" }
  agents { id: "bob" queue_ids: "fast" }
)pb";

TEST(Durability, AnOfferThatRanOutWhileTheDaemonWasDownExpiresAtOnce) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kExpiryConfig));
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  v1::Session waiting;
  const std::string w = d.Create(NewSession("wait-1", "voice", "backlog"), &waiting);
  v1::Session offered;
  std::string offer_id;
  {
    Desktop ann(d, "ann");
    const std::string s = d.Create(NewSession("call-1", "voice", "fast"), &offered);
    ASSERT_EQ(offered.state(), v1::SESSION_STATE_OFFERED);
    ASSERT_EQ(offered.agent_id(), "ann") << "idle longest";
    std::optional<v1::Offer> offer = ann.AwaitOffer(s);
    ASSERT_TRUE(offer.has_value());
    offer_id = offer->offer_id();
  }
  const std::string s = offered.id();
  const int64_t deadline = Micros(offered.deadline_time());
  ASSERT_GT(deadline, Micros(offered.create_time()));
  const v1::QueueStats backlog_before = d.QueueStats("backlog");
  ASSERT_EQ(backlog_before.waiting(), 1);

  d.Kill();
  // Down until well past the offer's deadline (the router's clock is the wall clock).
  const auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::this_thread::sleep_for(std::chrono::microseconds(deadline - now_us() + 500'000));
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  const int64_t restarted = now_us();

  // The event history after the restart: the expiry at the restart (the timer was late: the
  // daemon was down), then the offer to bob.
  v1::StreamEventsRequest history;
  history.set_after_sequence(std::stoull(offer_id));
  history.add_session_ids(s);
  auto events = d.StreamEvents(history);
  std::optional<v1::StreamEventsResponse> expired =
      AwaitEvent(*events, v1::EVENT_TYPE_OFFER_EXPIRED, s, "ann");
  ASSERT_TRUE(expired.has_value());
  EXPECT_GT(Micros(expired->event().event_time()), deadline)
      << "the timer fires when the daemon is back, not in the past";
  EXPECT_LE(Micros(expired->event().event_time()), restarted);
  EXPECT_EQ(expired->event().session_state(), v1::SESSION_STATE_QUEUED);
  std::optional<v1::StreamEventsResponse> reoffer =
      AwaitEvent(*events, v1::EVENT_TYPE_OFFER_CREATED, s, "bob");
  ASSERT_TRUE(reoffer.has_value());
  EXPECT_GT(reoffer->event().sequence(), expired->event().sequence());

  const v1::Session now = d.Session(s);
  EXPECT_EQ(now.state(), v1::SESSION_STATE_OFFERED);
  EXPECT_EQ(now.agent_id(), "bob");
  EXPECT_THAT(now.declined_agent_ids(), UnorderedElementsAre("ann"));
  EXPECT_EQ(Micros(now.wait_start_time()), Micros(offered.wait_start_time()))
      << "the wait still counts from the creation";
  Desktop ann(d, "ann");
  EXPECT_THAT(ann.snapshot().pending_offers(), IsEmpty());
  EXPECT_EQ(ann.snapshot().status().used_budget(), 0);
  Desktop bob(d, "bob");
  ASSERT_EQ(bob.snapshot().pending_offers_size(), 1);
  EXPECT_EQ(bob.snapshot().pending_offers(0).offer_id(),
            std::to_string(reoffer->event().sequence()));
  EXPECT_EQ(d.AgentStats("ann").status().missed_offers_in_row(), 1);

  // The session nobody serves waited through the downtime.
  const v1::QueueStats backlog = d.QueueStats("backlog");
  EXPECT_EQ(backlog.waiting(), 1);
  EXPECT_EQ(Micros(backlog.oldest_wait_start_time()), Micros(waiting.wait_start_time()));
  EXPECT_GE(Micros(backlog.oldest_wait()), restarted - Micros(waiting.wait_start_time()))
      << "the time before the crash and the downtime count";
  EXPECT_EQ(Micros(d.Session(w).wait_start_time()), Micros(waiting.wait_start_time()));
  ASSERT_THAT(Accept(d, s, "bob"), IsOk());
  d.StopCleanly();
}

// The daemon is down for several offer timeouts. The offer pending at the crash expires on
// restart, but the offers that follow are made now, to desktops that can see them: an offer
// nobody could receive is not "missed", and nobody is put NOT_READY for it.
// (Engine::CatchUp: firing the timers one deadline after the other in the past would offer the
// session in turn to every engineer while the daemon is down, and put them all NOT_READY
// "missed-offers".)
TEST(Durability, ALongDowntimePutsNobodyNotReadyForOffersNobodySaw) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(
    engine { missed_offers_limit: 2 }
    queues { id: "fast" offer_timeout { seconds: 1 } }
    agents { id: "ann" queue_ids: "fast" }
    agents { id: "bob" queue_ids: "fast" }
  )pb"));
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  v1::Session offered;
  ASSERT_FALSE(d.Create(NewSession("call-1", "voice", "fast"), &offered).empty());
  ASSERT_EQ(offered.agent_id(), "ann");
  d.Kill();
  std::this_thread::sleep_for(std::chrono::seconds(5));  // five offer timeouts
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();

  const v1::Session s = d.Session(offered.id());
  EXPECT_EQ(s.state(), v1::SESSION_STATE_OFFERED)
      << "offered to nobody after the restart: " << ShortDebug(s);
  EXPECT_GT(Micros(s.deadline_time()), now_us - 1'000'000)
      << "the offer after the restart runs from the restart: " << ShortDebug(s);
  for (const char* agent : {"ann", "bob"}) {
    const v1::AgentStatus st = d.Agent(agent).status();
    EXPECT_EQ(st.presence(), v1::PRESENCE_AVAILABLE)
        << agent << " was put " << v1::Presence_Name(st.presence())
        << " \"" << st.presence_reason() << "\" for offers made while the daemon was down ("
        << st.missed_offers_in_row() << " missed in a row)";
  }
  d.StopCleanly();
}

// ---------------------------------------------------------------------------------------------
// Idempotency across restarts

TEST(Durability, CreateSessionStaysIdempotentAcrossRestarts) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  const v1::CreateSessionRequest first = NewSession("req-1", "webchat", "backlog");
  v1::Session created;
  const std::string id = d.Create(first, &created);
  ASSERT_FALSE(id.empty());
  v1::CreateSessionRequest different = first;
  different.set_priority(5);

  for (const char* how : {"kill", "stop", "kill"}) {
    SCOPED_TRACE(std::string("after a ") + how);
    if (std::string(how) == "kill") {
      d.Kill();
      ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
    } else {
      d.StopCleanly();
      ASSERT_NO_FATAL_FAILURE(d.Restart());
    }
    grpc::Status st;
    v1::CreateSessionResponse again = Retry(d, first, &st);
    ASSERT_THAT(st, IsOk());
    EXPECT_TRUE(again.duplicate());
    EXPECT_EQ(again.session().id(), id);
    EXPECT_EQ(Micros(again.session().create_time()), Micros(created.create_time()));
    EXPECT_THAT(d.CreateSession(different),
                StatusIs(grpc::StatusCode::ALREADY_EXISTS, HasSubstr("req-1")));
  }
  // Session ids are not reused after restarts.
  v1::Session next;
  ASSERT_FALSE(d.Create(NewSession("req-2", "webchat", "backlog"), &next).empty());
  EXPECT_GT(std::stoull(next.id()), std::stoull(id));
  v1::ListSessionsResponse all;
  ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &all), IsOk());
  EXPECT_EQ(all.sessions_size(), 2) << "exactly one session per request id";
  d.StopCleanly();
}

// ---------------------------------------------------------------------------------------------
// One daemon per directory

TEST(Durability, ASecondDaemonOnTheSameDirectoryIsRefused) {
  Daemon first;
  ASSERT_NO_FATAL_FAILURE(first.Start(kConfig));
  const std::string id = first.Create(NewSession("req-1", "webchat", "backlog"));

  Daemon second;
  second.set_data_dir(first.DataDir());
  const int status = second.StartExpectingFailure(kConfig);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1)
      << Daemon::DescribeExit(status);
  const std::string err = second.Stderr();
  EXPECT_THAT(err, HasSubstr("in use by another omnirouted (pid " +
                             std::to_string(first.pid()) + ")"));
  EXPECT_THAT(err, HasSubstr("code=FAILED_PRECONDITION"));

  // The first one goes on undisturbed; once it is gone the second may have the directory.
  EXPECT_EQ(first.Session(id).request_id(), "req-1");
  first.StopCleanly();
  ASSERT_NO_FATAL_FAILURE(second.Restart());
  EXPECT_EQ(second.Session(id).request_id(), "req-1");
  second.StopCleanly();
}

// ---------------------------------------------------------------------------------------------
// Damaged journals

TEST(Durability, CorruptionInTheMiddleOfTheJournalRefusesToStart) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Created created;
  for (int i = 0; i < 12; ++i) {
    v1::CreateSessionRequest r = NewSession("req-" + std::to_string(i), "webchat", "backlog");
    created.emplace_back(r, d.Create(r));
  }
  d.Kill();  // no shutdown snapshot: the records above are only in the journal

  const std::vector<uint64_t> snapshots = SnapshotPositions(d.DataDir());
  ASSERT_FALSE(snapshots.empty()) << "the data directory's first snapshot";
  const std::vector<JournalRecord> records = ReadJournal(d.DataDir());
  // A record the recovery must replay (after the newest snapshot) with valid ones after it.
  auto victim = std::find_if(records.begin(), records.end(), [&](const JournalRecord& r) {
    return r.position >= snapshots.back() + 2;
  });
  ASSERT_NE(victim, records.end());
  ASSERT_GE(records.end() - victim, 5) << "records after the damaged one";
  const std::string original = ReadBytes(victim->path);
  std::string damaged = original;
  damaged[victim->offset + 8 + victim->payload_bytes / 2] ^= 0x20;
  ASSERT_NO_FATAL_FAILURE(WriteBytes(victim->path, damaged));
  const std::map<std::string, std::string> files = DirectoryContents(d.DataDir());

  const size_t log_from = d.Stderr().size();
  const int status = d.StartExpectingFailure(kConfig);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << Daemon::DescribeExit(status);
  const std::string err = d.Stderr().substr(log_from);
  const std::vector<std::string> refused = LogLines(err, "cannot start");
  ASSERT_EQ(refused.size(), 1u) << err;
  EXPECT_THAT(refused[0], HasSubstr("code=DATA_LOSS"));
  EXPECT_THAT(refused[0], HasSubstr(std::filesystem::path(victim->path).filename().string()));
  EXPECT_THAT(err, Not(HasSubstr("state recovered")));
  EXPECT_TRUE(DirectoryContents(d.DataDir()) == files) << "a refused start changes nothing";
  EXPECT_EQ(ReadJournal(d.DataDir()).size(), records.size());

  // Repaired (restored from a backup), it starts with everything.
  ASSERT_NO_FATAL_FAILURE(WriteBytes(victim->path, original));
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  ExpectRetriesAreDuplicates(d, created);
  d.StopCleanly();
}

TEST(Durability, ATornTailIsCutOffAndWhatCameBeforeIsKept) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Created created;
  for (int i = 0; i < 8; ++i) {
    v1::CreateSessionRequest r = NewSession("req-" + std::to_string(i), "webchat", "backlog");
    created.emplace_back(r, d.Create(r));
  }
  // The last record: this session is lost with its torn record.
  const v1::CreateSessionRequest last = NewSession("req-last", "webchat", "backlog");
  const std::string last_id = d.Create(last);
  d.Kill();

  const std::vector<JournalRecord> records = ReadJournal(d.DataDir());
  ASSERT_FALSE(records.empty());
  const JournalRecord tail = records.back();
  ASSERT_EQ(std::filesystem::file_size(tail.path), tail.offset + tail.size())
      << "the last record ends the last segment";
  std::filesystem::resize_file(tail.path, tail.offset + tail.size() - 3);

  const size_t log_from = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  const std::string log = d.Stderr().substr(log_from);
  const std::vector<std::string> torn =
      LogLines(log, "journal: a torn record at the tail was cut off");
  ASSERT_EQ(torn.size(), 1u) << log;
  EXPECT_EQ(LogInt(torn[0], "dropped_bytes"), static_cast<int64_t>(tail.size() - 3)) << torn[0];
  const std::vector<std::string> recovered = LogLines(log, "state recovered");
  ASSERT_EQ(recovered.size(), 1u) << log;
  EXPECT_EQ(LogInt(recovered[0], "dropped_bytes"), static_cast<int64_t>(tail.size() - 3));
  EXPECT_EQ(std::filesystem::file_size(tail.path), tail.offset) << "cut at the record's start";

  ExpectRetriesAreDuplicates(d, created);
  grpc::Status st;
  v1::CreateSessionResponse again = Retry(d, last, &st);
  ASSERT_THAT(st, IsOk());
  EXPECT_FALSE(again.duplicate()) << "the torn record's session was never recovered";
  v1::ListSessionsResponse all;
  ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &all), IsOk());
  EXPECT_EQ(all.sessions_size(), static_cast<int>(created.size()) + 1);
  (void)last_id;

  // The repaired journal is whole again: the next restart drops nothing.
  d.Kill();
  const size_t log_from2 = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  EXPECT_THAT(LogLines(d.Stderr().substr(log_from2), "journal: a torn record"), IsEmpty());
  d.StopCleanly();
}

TEST(Durability, AnUnansweredBatchTornByTheCrashIsCutOffAndNothingAcknowledgedIsLost) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Created created;
  for (int i = 0; i < 8; ++i) {
    v1::CreateSessionRequest r = NewSession("req-" + std::to_string(i), "webchat", "backlog");
    created.emplace_back(r, d.Create(r));
  }
  d.Kill();
  // What a write(2) cut short by the crash leaves: a record header announcing more payload
  // than follows.
  const std::vector<uint64_t> segments = SegmentFirstPositions(d.DataDir());
  ASSERT_FALSE(segments.empty());
  const std::string path = d.DataDir() + "/" + NumberedName("journal-", segments.back(), ".log");
  std::string torn = {'\x2c', '\x01', '\0', '\0', '\x11', '\x22', '\x33', '\x44'};  // 300 bytes
  torn += std::string(77, 'x');
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << torn;
    ASSERT_TRUE(out.good());
  }
  const size_t log_from = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  const std::vector<std::string> lines =
      LogLines(d.Stderr().substr(log_from), "journal: a torn record at the tail was cut off");
  ASSERT_EQ(lines.size(), 1u) << d.Stderr().substr(log_from);
  EXPECT_EQ(LogInt(lines[0], "dropped_bytes"), static_cast<int64_t>(torn.size()));
  ExpectRetriesAreDuplicates(d, created);
  d.StopCleanly();
}

// ---------------------------------------------------------------------------------------------
// Snapshots

// Records of about 8 KiB: a snapshot is due every ~130 sessions, a segment is full every ~8.
constexpr char kSnapshotDurability[] = R"pb(
  durability {
    snapshot_journal_bytes: 1048576
    segment_bytes: 65536
    snapshot_interval { seconds: 0 }
  }
)pb";

// Creates `n` large sessions in the backlog from 4 threads (so that batches hold several).
void CreateLarge(Daemon& d, const std::string& prefix, int n, Created* created) {
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < n; i += 4) {
        v1::CreateSessionRequest r =
            NewSession(prefix + std::to_string(i), "webchat", "backlog");
        for (int a = 0; a < 2; ++a) {
          auto* attr = r.add_attributes();
          attr->set_key("blob" + std::to_string(a));
          attr->set_value(std::string(4000, static_cast<char>('a' + (i + a) % 26)));
        }
        v1::CreateSessionResponse resp;
        grpc::Status st = d.CreateSession(r, &resp);
        EXPECT_TRUE(st.ok()) << ToString(st);
        std::lock_guard<std::mutex> lock(mu);
        created->emplace_back(r, resp.session().id());
      }
    });
  }
  for (std::thread& t : threads) t.join();
}

int SnapshotsWritten(Daemon& d) {
  return static_cast<int>(LogLines(d.Stderr(), "snapshot written").size());
}

TEST(Durability, SnapshotsAreTakenWhileRunningAndCoveredSegmentsRemoved) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(std::string(kConfig) + kSnapshotDurability));
  const std::string dir = d.DataDir();
  const std::vector<uint64_t> seeded = SnapshotPositions(dir);
  ASSERT_EQ(seeded.size(), 1u) << "a new data directory starts with a snapshot";
  ASSERT_EQ(SnapshotsWritten(d), 1);

  // Past snapshot_journal_bytes: a snapshot is taken (by a child process) while serving.
  Created created;
  CreateLarge(d, "a-", 150, &created);
  ASSERT_TRUE(Eventually([&] { return SnapshotsWritten(d) >= 2; }))
      << "no snapshot after more than 1 MiB of journal";
  EXPECT_EQ(LogLines(d.Stderr(), "snapshot started").size(), 1u);
  std::vector<uint64_t> snaps = SnapshotPositions(dir);
  ASSERT_EQ(snaps.size(), 2u) << "the new one and the one before it";
  const uint64_t p1 = snaps.back();
  EXPECT_GT(p1, seeded[0] + 100);
  EXPECT_GT(SegmentFirstPositions(dir).size(), 10u) << "64 KiB segments";
  EXPECT_EQ(SegmentFirstPositions(dir).front(), 1u)
      << "the journal after the snapshot kept before the newest stays";

  // Once more: the first snapshot goes, and the segments only it needed.
  CreateLarge(d, "b-", 150, &created);
  ASSERT_TRUE(Eventually([&] { return SnapshotsWritten(d) >= 3; }));
  snaps = SnapshotPositions(dir);
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps.front(), p1);
  const uint64_t p2 = snaps.back();
  EXPECT_GT(p2, p1);
  std::vector<uint64_t> segments = SegmentFirstPositions(dir);
  ASSERT_FALSE(segments.empty());
  EXPECT_GT(segments.front(), 1u) << "segments before the older snapshot are removed";
  EXPECT_LE(segments.front(), p1) << "the records after the older snapshot stay";
  if (segments.size() > 1) {
    EXPECT_GT(segments[1], p1) << "only whole covered segments go";
  }

  // A few more, then a crash: recovery is snapshot + replay of what came after it.
  CreateLarge(d, "c-", 9, &created);
  const State before = Dump(d);
  d.Kill();
  const size_t log_from = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.RestartAfterKill());
  const std::vector<std::string> recovered =
      LogLines(d.Stderr().substr(log_from), "state recovered");
  ASSERT_EQ(recovered.size(), 1u);
  EXPECT_EQ(LogInt(recovered[0], "snapshot_position"), static_cast<int64_t>(p2));
  EXPECT_EQ(LogInt(recovered[0], "replayed_records"),
            static_cast<int64_t>(ReadJournal(dir).back().position + 1 - p2));
  ExpectSameState(before, Dump(d));
  ExpectRetriesAreDuplicates(d, created);

  // A clean stop snapshots everything and drops the segments before p2.
  d.StopCleanly();
  snaps = SnapshotPositions(dir);
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps.front(), p2);
  segments = SegmentFirstPositions(dir);
  ASSERT_FALSE(segments.empty());
  EXPECT_LE(segments.front(), p2);
  EXPECT_GT(segments.front(), p1);
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  ExpectSameState(before, Dump(d));
  d.StopCleanly();
}

TEST(Durability, ADamagedSnapshotFallsBackToTheOneBefore) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  Created created;
  for (int i = 0; i < 5; ++i) {
    v1::CreateSessionRequest r = NewSession("a-" + std::to_string(i), "webchat", "backlog");
    created.emplace_back(r, d.Create(r));
  }
  d.StopCleanly();  // snapshot p1
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  for (int i = 0; i < 5; ++i) {
    v1::CreateSessionRequest r = NewSession("b-" + std::to_string(i), "webchat", "backlog");
    created.emplace_back(r, d.Create(r));
  }
  const State before = Dump(d);
  d.StopCleanly();  // snapshot p2; p1 and the journal after it are kept as the fallback
  const std::vector<uint64_t> snaps = SnapshotPositions(d.DataDir());
  ASSERT_EQ(snaps.size(), 2u);
  const std::string newest = d.DataDir() + "/" + NumberedName("snapshot-", snaps[1], ".snap");
  std::string bytes = ReadBytes(newest);
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() - 10] ^= 0x01;
  ASSERT_NO_FATAL_FAILURE(WriteBytes(newest, bytes));

  const size_t log_from = d.Stderr().size();
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  const std::string log = d.Stderr().substr(log_from);
  const std::vector<std::string> skipped = LogLines(log, "damaged snapshot skipped");
  ASSERT_EQ(skipped.size(), 1u) << log;
  EXPECT_THAT(skipped[0], HasSubstr(NumberedName("snapshot-", snaps[1], ".snap")));
  const std::vector<std::string> recovered = LogLines(log, "state recovered");
  ASSERT_EQ(recovered.size(), 1u) << log;
  EXPECT_EQ(LogInt(recovered[0], "snapshot_position"), static_cast<int64_t>(snaps[0]));
  EXPECT_EQ(LogInt(recovered[0], "replayed_records"), static_cast<int64_t>(snaps[1] - snaps[0]));
  ExpectSameState(before, Dump(d));
  ExpectRetriesAreDuplicates(d, created);
  d.StopCleanly();
}

// Records of about 8 KiB in 64 KiB segments: a few creates fill a segment.
constexpr char kSmallSegments[] = R"pb(
  durability { segment_bytes: 65536 }
)pb";

// Creates `n` sessions of about 8 KiB each, one after the other.
void CreateLargeInOrder(Daemon& d, const std::string& prefix, int n, Created* created) {
  for (int i = 0; i < n; ++i) {
    v1::CreateSessionRequest r = NewSession(prefix + std::to_string(i), "webchat", "backlog");
    for (int a = 0; a < 2; ++a) {
      auto* attr = r.add_attributes();
      attr->set_key("blob" + std::to_string(a));
      attr->set_value(std::string(4000, static_cast<char>('a' + (i + a) % 26)));
    }
    created->emplace_back(r, d.Create(r));
  }
}

TEST(Durability, AMissingJournalSegmentRefusesToStart) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(std::string(kConfig) + kSmallSegments));
  Created created;
  CreateLargeInOrder(d, "req-", 40, &created);
  d.Kill();
  const std::vector<uint64_t> segments = SegmentFirstPositions(d.DataDir());
  ASSERT_GE(segments.size(), 4u);
  const std::string middle = d.DataDir() + "/" + NumberedName("journal-", segments[2], ".log");
  const std::string saved = ReadBytes(middle);
  ASSERT_TRUE(std::filesystem::remove(middle));
  const std::map<std::string, std::string> files = DirectoryContents(d.DataDir());

  const size_t log_from = d.Stderr().size();
  const int status = d.StartExpectingFailure(std::string(kConfig) + kSmallSegments);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << Daemon::DescribeExit(status);
  const std::vector<std::string> refused = LogLines(d.Stderr().substr(log_from), "cannot start");
  ASSERT_EQ(refused.size(), 1u) << d.Stderr().substr(log_from);
  EXPECT_THAT(refused[0], HasSubstr("code=DATA_LOSS"));
  EXPECT_THAT(refused[0], HasSubstr("journal-"));
  EXPECT_TRUE(DirectoryContents(d.DataDir()) == files) << "a refused start changes nothing";

  // Put back, everything is there.
  ASSERT_NO_FATAL_FAILURE(WriteBytes(middle, saved));
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  ExpectRetriesAreDuplicates(d, created);
  d.StopCleanly();
}

// The journal's first segment is gone (an operator's mistake, a bad disk): the newest snapshot
// needs records the journal no longer has. The start is refused, and the refusal must leave
// the directory as it was, so that every later start is refused too until it is repaired.
// (A refused Init drops the journal and the lock, so Router::Stop writes no snapshot of the
// half-recovered state, which the next start would otherwise believe.)
TEST(Durability, ARefusedStartWritesNothing) {
  Daemon d;
  const std::string config = std::string(kConfig) + kSmallSegments;
  ASSERT_NO_FATAL_FAILURE(d.Start(config));
  Created created;
  CreateLargeInOrder(d, "req-", 40, &created);
  d.Kill();
  const std::string dir = d.DataDir();
  const std::vector<uint64_t> segments = SegmentFirstPositions(dir);
  ASSERT_GE(segments.size(), 3u);
  const std::string first = dir + "/" + NumberedName("journal-", segments[0], ".log");
  const std::string saved = ReadBytes(first);
  ASSERT_TRUE(std::filesystem::remove(first));
  const std::map<std::string, std::string> before = DirectoryContents(dir);

  const size_t log_from = d.Stderr().size();
  int status = d.StartExpectingFailure(config);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << Daemon::DescribeExit(status);
  const std::string log = d.Stderr().substr(log_from);
  const std::vector<std::string> refused = LogLines(log, "cannot start");
  ASSERT_EQ(refused.size(), 1u) << log;
  EXPECT_THAT(refused[0], HasSubstr("code=DATA_LOSS"));
  const std::map<std::string, std::string> after = DirectoryContents(dir);
  EXPECT_EQ(Names(after), Names(before))
      << "the refused start wrote to the data directory; its log:\n"
      << log;
  EXPECT_TRUE(after == before) << "a refused start changes no file";
  if (after != before) {
    // What that leads to: the next start believes the snapshot the refused one wrote.
    const size_t log2_from = d.Stderr().size();
    ASSERT_NO_FATAL_FAILURE(d.Restart());
    v1::ListSessionsResponse all;
    ASSERT_THAT(d.ListSessions(v1::ListSessionsRequest(), &all), IsOk());
    ADD_FAILURE() << "the start after a refused one succeeded, with "
                  << all.sessions_size() << " of the " << created.size()
                  << " sessions acknowledged; its log:\n"
                  << d.Stderr().substr(log2_from);
    d.StopCleanly();
    return;
  }
  status = d.StartExpectingFailure(config);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1)
      << "refused again: " << Daemon::DescribeExit(status);

  // Repaired, it starts with everything.
  ASSERT_NO_FATAL_FAILURE(WriteBytes(first, saved));
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  ExpectRetriesAreDuplicates(d, created);
  d.StopCleanly();
}

// ---------------------------------------------------------------------------------------------
// In memory

TEST(Durability, InMemoryWritesNothingAndARestartStartsAfresh) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(std::string(kConfig) + "durability { enabled: false }"));
  const v1::CreateSessionRequest r = NewSession("req-1", "webchat", "backlog");
  ASSERT_FALSE(d.Create(r).empty());
  std::error_code ec;
  const bool has_files = std::filesystem::exists(d.DataDir(), ec) &&
                         !std::filesystem::is_empty(d.DataDir(), ec);
  EXPECT_FALSE(has_files) << "nothing is written to the data directory";
  d.Kill();
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  grpc::Status st;
  v1::CreateSessionResponse again = Retry(d, r, &st);
  ASSERT_THAT(st, IsOk());
  EXPECT_FALSE(again.duplicate()) << "the state was in memory only";
  EXPECT_EQ(d.QueueStats("backlog").waiting(), 1);
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
