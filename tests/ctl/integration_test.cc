// omniroutectl end to end: the real binary (a subprocess) against the real daemon started
// with its demo configuration (daemon/demo_config.textproto). Checks the tables people read,
// the --json documents scripts read (parsed back into their messages) and the exit codes, and
// checks through the gRPC API that what omniroutectl changed really changed.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "ctl/exit_codes.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "omniroute/ctl/reports.pb.h"
#include "tests/ctl/ctl_process.h"
#include "tests/daemon/daemon_harness.h"

namespace omniroute::testing {
namespace {

using ::omniroute::ctl::AgentReport;
using ::omniroute::ctl::ApplyPlan;
using ::omniroute::ctl::QueueReport;
using ::omniroute::ctl::SessionReport;
using ::omniroute::ctl::StatsReport;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_TRUE(in.good() || in.eof()) << "cannot read " << path;
  return ss.str();
}

const std::string& DemoConfigPath() {
  static const std::string path =
      std::string(OMNIROUTE_SOURCE_DIR) + "/daemon/demo_config.textproto";
  return path;
}
const std::string& ExamplePath() {
  static const std::string path =
      std::string(OMNIROUTE_SOURCE_DIR) + "/ctl/examples/centre.textproto";
  return path;
}

// Parses a JSON document omniroutectl printed; a failure names the text.
template <typename T>
T FromJson(const std::string& json) {
  T message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\nin: " << json;
  return message;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class CtlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(d_.Start(ReadFile(DemoConfigPath()))); }

  // omniroutectl --address <the daemon> args...
  CtlResult Ctl(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--address", d_.address()});
    return RunCtl(args, std::nullopt, stdin_text);
  }

  Daemon d_;
};

// ---- queues and agents ----------------------------------------------------------------------

TEST_F(CtlTest, ListsAndDescribesTheDemoQueues) {
  CtlResult r = Ctl({"queues", "list"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.err, IsEmpty()) << r;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r;
  EXPECT_THAT(lines[0], HasSubstr("ID"));
  EXPECT_THAT(lines[0], HasSubstr("STRATEGY"));
  // Sorted by id, with their configuration.
  EXPECT_THAT(lines[1], HasSubstr("iot"));
  EXPECT_THAT(lines[3], HasSubstr("repair "));
  EXPECT_THAT(lines[3], HasSubstr("Repair and warranty"));
  EXPECT_THAT(lines[3], HasSubstr("repair.phone>=3"));
  EXPECT_THAT(lines[3], HasSubstr("5m -> repair.backup"));
  EXPECT_THAT(lines[2], HasSubstr("grab"));

  r = Ctl({"queues", "list", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto list = FromJson<v1::ListQueuesResponse>(r.out);
  std::vector<std::string> ids;
  for (const v1::Queue& q : list.queues()) ids.push_back(q.id());
  EXPECT_THAT(ids, ElementsAre("iot", "presales", "repair", "repair.backup", "vip"));
  EXPECT_THAT(r.out, HasSubstr("\"overflow_queue_id\"")) << "proto field names in JSON";

  r = Ctl({"queues", "get", "repair"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.out, HasSubstr("Queue:           repair\n"));
  EXPECT_THAT(r.out, HasSubstr("Strategy:        longest_idle\n"));
  EXPECT_THAT(r.out, HasSubstr("after 30s: lower repair.phone to 2\n"));
  EXPECT_THAT(r.out, HasSubstr("Agents:          eng-1001, eng-1002\n"));
  EXPECT_THAT(r.out, HasSubstr("Live (window 15m):"));
  EXPECT_THAT(r.out, HasSubstr("0 available, 0 busy, 0 not ready, 2 offline"));

  r = Ctl({"queues", "get", "presales", "--json", "--window", "1h"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto report = FromJson<QueueReport>(r.out);
  EXPECT_EQ(report.queue().id(), "presales");
  EXPECT_EQ(report.queue().delivery_mode(), v1::DELIVERY_MODE_GRAB);
  EXPECT_EQ(report.queue().grab_fanout(), 3);
  EXPECT_EQ(report.stats().queue_id(), "presales");
  EXPECT_EQ(report.stats().window().seconds(), 3600) << "--window reaches the daemon";
  EXPECT_EQ(report.stats().agents_offline(), 2);
}

TEST_F(CtlTest, ListsAndDescribesTheDemoAgents) {
  CtlResult r = Ctl({"agents", "list"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r;
  EXPECT_THAT(lines[1], HasSubstr("eng-1001"));
  EXPECT_THAT(lines[1], HasSubstr("Li Na"));
  EXPECT_THAT(lines[1], HasSubstr("offline"));
  EXPECT_THAT(lines[1], HasSubstr("master"));
  EXPECT_THAT(lines[1], HasSubstr("0/60"));
  EXPECT_THAT(lines[1], HasSubstr("repair, vip"));

  r = Ctl({"agents", "list", "--queue", "presales", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  auto list = FromJson<v1::ListAgentsResponse>(r.out);
  std::vector<std::string> ids;
  for (const v1::Agent& a : list.agents()) ids.push_back(a.id());
  EXPECT_THAT(ids, ElementsAre("eng-1003", "eng-1004"));

  r = Ctl({"agents", "get", "eng-1005"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.out, HasSubstr("Name:      Zhao Lei\n"));
  EXPECT_THAT(r.out, HasSubstr("iot_alert max 6 cost 10"));
  EXPECT_THAT(r.out, HasSubstr("Presence:       offline since "));

  r = Ctl({"agents", "get", "eng-1001", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto report = FromJson<AgentReport>(r.out);
  EXPECT_EQ(report.agent().display_name(), "Li Na");
  EXPECT_EQ(report.agent().tier(), v1::AGENT_TIER_MASTER);
  EXPECT_EQ(report.agent().status().presence(), v1::PRESENCE_OFFLINE);
  EXPECT_EQ(report.stats().agent_id(), "eng-1001");
}

TEST_F(CtlTest, ListsFollowEveryPage) {
  // The daemon's default page is 100: 120 more queues make three pages.
  for (int i = 0; i < 120; ++i) {
    v1::UpsertQueueRequest request;
    request.mutable_queue()->set_id("bulk-" + std::to_string(1000 + i));
    ASSERT_THAT(d_.UpsertQueue(request), IsOk());
  }
  CtlResult r = Ctl({"queues", "list", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto list = FromJson<v1::ListQueuesResponse>(r.out);
  EXPECT_EQ(list.queues_size(), 125);
  EXPECT_EQ(list.next_page_token(), "");
  r = Ctl({"queues", "list"});
  EXPECT_EQ(Lines(r.out).size(), 126u) << "header and 125 queues";
}

// ---- presence -------------------------------------------------------------------------------

TEST_F(CtlTest, PresenceChangesAreVisibleThroughTheApi) {
  CtlResult r = Ctl({"presence", "eng-1001", "available"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_EQ(r.out, "eng-1001 is now available\n");
  EXPECT_EQ(d_.Agent("eng-1001").status().presence(), v1::PRESENCE_AVAILABLE);

  r = Ctl({"presence", "eng-1001", "NOT_READY", "--reason", "lunch", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto response = FromJson<v1::SetPresenceResponse>(r.out);
  EXPECT_EQ(response.status().presence(), v1::PRESENCE_NOT_READY);
  const v1::Agent now = d_.Agent("eng-1001");
  EXPECT_EQ(now.status().presence(), v1::PRESENCE_NOT_READY);
  EXPECT_EQ(now.status().presence_reason(), "lunch");

  r = Ctl({"agents", "list", "--presence", "not-ready", "--presence", "wrap-up", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto list = FromJson<v1::ListAgentsResponse>(r.out);
  ASSERT_EQ(list.agents_size(), 1) << r;
  EXPECT_EQ(list.agents(0).id(), "eng-1001");

  r = Ctl({"presence", "eng-1002", "wrap-up", "--duration", "1m"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_EQ(d_.Agent("eng-1002").status().presence(), v1::PRESENCE_WRAP_UP);

  // A bad presence name is a usage error naming the valid values; nothing changes.
  r = Ctl({"presence", "eng-1001", "busy"});
  EXPECT_EQ(r.exit_code, ctl::kExitUsage) << r;
  EXPECT_THAT(r.err, HasSubstr("valid values: offline, available, not-ready, wrap-up")) << r;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(d_.Agent("eng-1001").status().presence(), v1::PRESENCE_NOT_READY);

  r = Ctl({"presence", "nobody", "available"});
  EXPECT_EQ(r.exit_code, ctl::kExitNotFound) << r;
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND")) << r;
}

// ---- apply ----------------------------------------------------------------------------------

TEST_F(CtlTest, TheDemoConfigurationAppliedToTheDemoDaemonChangesNothing) {
  // Holds the canonical forms of ctl/plan.cc to the daemon: every default the demo file
  // leaves out must compare equal to what the daemon filled in.
  CtlResult r = Ctl({"apply", "-f", DemoConfigPath(), "--dry-run"});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("~ "))) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("+ "))) << r;
  EXPECT_THAT(r.out, HasSubstr("= queue repair\n"));
  EXPECT_THAT(r.out, HasSubstr("0 to create, 0 to change, 11 unchanged"));
  EXPECT_THAT(r.err, HasSubstr("listen_address")) << "a note on the settings apply ignores";
}

TEST_F(CtlTest, ApplyDryRunThenApplyThenUnchanged) {
  // Dry run: the diff and exit 5, and nothing sent.
  CtlResult r = Ctl({"apply", "-f", ExamplePath(), "--dry-run"});
  ASSERT_EQ(r.exit_code, ctl::kExitChangesPending) << r;
  EXPECT_EQ(r.out,
            "+ channel line\n"
            "+ queue returns\n"
            "~ queue repair: offer_timeout: 15s -> 20s\n"
            "+ agent eng-1006\n"
            "~ agent eng-1002: skills: [{skill_id: \"repair.phone\" level: 3}, {skill_id: "
            "\"repair.appliance\" level: 4}] -> [{skill_id: \"repair.phone\" level: 3}, "
            "{skill_id: \"repair.appliance\" level: 4}, {skill_id: \"returns\" level: 3}]\n"
            "~ agent eng-1002: queue_ids: [\"repair\", \"repair.backup\", \"vip\"] -> "
            "[\"repair\", \"repair.backup\", \"vip\", \"returns\"]\n"
            "Dry run: 3 to create, 2 to change, 0 unchanged; nothing was sent. Run without "
            "--dry-run to apply.\n");
  v1::GetQueueRequest get_returns;
  get_returns.set_queue_id("returns");
  EXPECT_THAT(d_.GetQueue(get_returns), StatusIs(grpc::StatusCode::NOT_FOUND));

  r = Ctl({"apply", "-f", ExamplePath(), "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitChangesPending) << r;
  const auto plan = FromJson<ApplyPlan>(r.out);
  EXPECT_EQ(plan.create_count(), 3);
  EXPECT_EQ(plan.update_count(), 2);
  EXPECT_FALSE(plan.applied());
  ASSERT_EQ(plan.changes_size(), 5);
  EXPECT_EQ(plan.changes(2).id(), "repair");
  EXPECT_EQ(plan.changes(2).action(), ctl::APPLY_ACTION_UPDATE);
  ASSERT_EQ(plan.changes(2).fields_size(), 1);
  EXPECT_EQ(plan.changes(2).fields(0).field(), "offer_timeout");

  // For real: the daemon has it.
  r = Ctl({"apply", "-f", ExamplePath()});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.out, HasSubstr("Applied: 3 created, 2 changed, 0 unchanged.\n"));
  v1::GetQueueResponse returns;
  ASSERT_THAT(d_.GetQueue(get_returns, &returns), IsOk());
  EXPECT_EQ(returns.queue().strategy(), "most_spare");
  EXPECT_DOUBLE_EQ(returns.queue().service_level_goal(), 0.9);
  EXPECT_THAT(returns.queue().agent_ids(), ElementsAre("eng-1002", "eng-1006"));
  v1::GetQueueRequest get_repair;
  get_repair.set_queue_id("repair");
  v1::GetQueueResponse repair;
  ASSERT_THAT(d_.GetQueue(get_repair, &repair), IsOk());
  EXPECT_EQ(repair.queue().offer_timeout().seconds(), 20);
  EXPECT_EQ(repair.queue().overflow_queue_id(), "repair.backup") << "the rest is kept";
  EXPECT_EQ(d_.Agent("eng-1006").tier(), v1::AGENT_TIER_CORE);
  v1::ListChannelsResponse channels;
  ASSERT_THAT(d_.ListChannels(v1::ListChannelsRequest(), &channels), IsOk());
  bool has_line = false;
  for (const v1::Channel& c : channels.channels()) has_line |= c.id() == "line";
  EXPECT_TRUE(has_line);

  // Again: nothing to do.
  r = Ctl({"apply", "-f", ExamplePath(), "--dry-run"});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_EQ(r.out,
            "= channel line\n"
            "= queue returns\n"
            "= queue repair\n"
            "= agent eng-1006\n"
            "= agent eng-1002\n"
            "Dry run: 0 to create, 0 to change, 5 unchanged; nothing was sent.\n");
}

TEST_F(CtlTest, ApplyStopsAtTheFirstRefusalNamingTheField) {
  const std::string file = R"pb(
    queues { id: "first" }
    queues { id: "bad" strategy: "no_such_strategy" }
    queues { id: "after" }
  )pb";
  CtlResult r = Ctl({"apply", "-f", "-"}, file);  // from standard input
  EXPECT_EQ(r.exit_code, ctl::kExitRefused) << r;
  EXPECT_THAT(r.err, HasSubstr("apply queue \"bad\": INVALID_ARGUMENT: queue.strategy")) << r;
  EXPECT_THAT(r.err, HasSubstr("stopped after 1 of 3 changes")) << r;
  EXPECT_EQ(r.out, "+ queue first\n");
  v1::GetQueueRequest get;
  get.set_queue_id("first");
  EXPECT_THAT(d_.GetQueue(get), IsOk());
  get.set_queue_id("after");
  EXPECT_THAT(d_.GetQueue(get), StatusIs(grpc::StatusCode::NOT_FOUND));

  // A file that does not parse: exit 2 with the position, nothing sent.
  r = Ctl({"apply", "-f", "-"}, "queues { id: \"x\" }\nqueues { id: \"y\" strategi: \"z\" }\n");
  EXPECT_EQ(r.exit_code, ctl::kExitUsage) << r;
  EXPECT_THAT(r.err, HasSubstr("<stdin>:2:")) << r;
  get.set_queue_id("x");
  EXPECT_THAT(d_.GetQueue(get), StatusIs(grpc::StatusCode::NOT_FOUND));
}

// ---- session --------------------------------------------------------------------------------

TEST_F(CtlTest, SessionShowsTheSessionAndItsHistory) {
  ASSERT_THAT(d_.SetPresence("eng-1001", v1::PRESENCE_AVAILABLE), IsOk());
  v1::CreateSessionRequest create = NewSession("ctl-s-1", "wechat", "repair");
  create.set_intent("screen.cracked");
  const std::string s = d_.Create(create);
  ASSERT_FALSE(s.empty());
  ASSERT_EQ(d_.Session(s).agent_id(), "eng-1001") << "offered at once to the only agent";
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s);
  accept.set_agent_id("eng-1001");
  ASSERT_THAT(d_.AcceptOffer(accept), IsOk());
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s);
  complete.set_agent_id("eng-1001");
  ASSERT_THAT(d_.CompleteSession(complete), IsOk());
  v1::EndWrapUpRequest end;
  end.set_session_id(s);
  end.set_agent_id("eng-1001");
  ASSERT_THAT(d_.EndWrapUp(end), IsOk());

  CtlResult r = Ctl({"session", s});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.out, HasSubstr("Session:        " + s + "\n"));
  EXPECT_THAT(r.out, HasSubstr("State:          completed\n"));
  EXPECT_THAT(r.out, HasSubstr("Intent:         screen.cracked\n"));

  r = Ctl({"session", s, "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto report = FromJson<SessionReport>(r.out);
  EXPECT_EQ(report.session().id(), s);
  EXPECT_EQ(report.session().state(), v1::SESSION_STATE_COMPLETED);

  // PENDING (server side): SessionService.GetSessionHistory is being implemented in the
  // daemon concurrently with omniroutectl. Until it is, the daemon answers UNIMPLEMENTED and
  // omniroutectl shows the session alone (checked here); the history checks below then skip.
  if (absl::StartsWith(report.history_unavailable(), "UNIMPLEMENTED")) {
    EXPECT_FALSE(report.has_history());
    EXPECT_THAT(r.err, HasSubstr("unavailable: UNIMPLEMENTED"));
    GTEST_SKIP() << "PENDING: the daemon does not implement GetSessionHistory yet; the "
                    "history part of this test runs once it does";
  }
  ASSERT_TRUE(report.has_history()) << r;
  EXPECT_THAT(report.history_unavailable(), IsEmpty());
  std::vector<v1::EventType> types;
  for (const v1::AuditEntry& e : report.history().entries()) types.push_back(e.event().type());
  EXPECT_THAT(types, ElementsAre(v1::EVENT_TYPE_SESSION_CREATED, v1::EVENT_TYPE_OFFER_CREATED,
                                 v1::EVENT_TYPE_OFFER_ACCEPTED, v1::EVENT_TYPE_SESSION_ASSIGNED,
                                 v1::EVENT_TYPE_SESSION_WRAP_UP, v1::EVENT_TYPE_SESSION_COMPLETED));
  const v1::AuditEntry& offer = report.history().entries(1);
  ASSERT_GE(offer.candidates_size(), 1);
  EXPECT_EQ(offer.candidates(0).agent_id(), "eng-1001");
  EXPECT_TRUE(offer.candidates(0).chosen());

  // The table: one row per entry, the candidates under the offer.
  r = Ctl({"session", s});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.out, HasSubstr("History: 6 events, state completed"));
  EXPECT_THAT(r.out, HasSubstr("offer-created"));
  EXPECT_THAT(r.out, HasSubstr("session-completed"));
  EXPECT_THAT(r.out, HasSubstr(offer.summary()));
  EXPECT_THAT(r.out, HasSubstr("* eng-1001  primary "));
}

TEST_F(CtlTest, AnUnknownSessionIsNotFound) {
  CtlResult r = Ctl({"session", "987654"});
  EXPECT_EQ(r.exit_code, ctl::kExitNotFound) << r;
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND")) << r;
  EXPECT_THAT(r.out, IsEmpty());
}

// ---- events ---------------------------------------------------------------------------------

TEST_F(CtlTest, EventsTailStopsAfterCount) {
  // The demo's startup: a channel, five queues, five agents (sequences 1..11).
  CtlResult r = Ctl({"events", "tail", "--after-sequence", "0", "--count", "3"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r;
  EXPECT_THAT(lines[0], HasSubstr("#1 "));
  EXPECT_THAT(lines[0], HasSubstr("channel-upserted"));
  EXPECT_THAT(lines[0], HasSubstr("channel=video"));
  EXPECT_THAT(lines[1], HasSubstr("queue-upserted"));
  EXPECT_THAT(lines[1], HasSubstr("queue=repair.backup"));

  r = Ctl({"events", "tail", "--after-sequence", "0", "--count", "4", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << "JSON lines: " << r;
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(FromJson<v1::Event>(lines[i]).sequence(), i + 1) << lines[i];
  }

  // Filters reach the daemon: only eng-1003's presence change, not eng-1001's.
  ASSERT_THAT(d_.SetPresence("eng-1001", v1::PRESENCE_AVAILABLE), IsOk());
  ASSERT_THAT(d_.SetPresence("eng-1003", v1::PRESENCE_NOT_READY, "training"), IsOk());
  r = Ctl({"events", "tail", "--after-sequence", "0", "--type", "presence-changed", "--agent",
           "eng-1003", "--count", "1", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto e = FromJson<v1::Event>(r.out);
  EXPECT_EQ(e.type(), v1::EVENT_TYPE_PRESENCE_CHANGED);
  EXPECT_EQ(e.agent_id(), "eng-1003");
  EXPECT_EQ(e.detail(), "training");

  r = Ctl({"events", "tail", "--type", "busy"});
  EXPECT_EQ(r.exit_code, ctl::kExitUsage) << r;
  EXPECT_THAT(r.err, HasSubstr("offer-created")) << "the valid values are listed: " << r;
}

TEST_F(CtlTest, CtrlCEndsEventsTailNormally) {
  CtlProcess tail({"--address", d_.address(), "events", "tail", "--after-sequence", "0"});
  ASSERT_TRUE(tail.AwaitStdout("agent-upserted")) << tail.Wait();
  tail.Signal(SIGINT);
  const CtlResult r = tail.Wait();
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.err, IsEmpty()) << r;
}

TEST_F(CtlTest, EventsTailEndsWithFourWhenTheDaemonStops) {
  CtlProcess tail({"--address", d_.address(), "events", "tail", "--after-sequence", "0"});
  ASSERT_TRUE(tail.AwaitStdout("agent-upserted")) << tail.Wait();
  d_.StopCleanly();
  const CtlResult r = tail.Wait();
  EXPECT_EQ(r.exit_code, ctl::kExitUnavailable) << r;
}

// ---- stats ----------------------------------------------------------------------------------

TEST_F(CtlTest, StatsAndWatch) {
  CtlResult r = Ctl({"stats", "repair", "vip"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r;
  EXPECT_THAT(lines[0], HasSubstr("WAITING"));
  EXPECT_THAT(lines[1], HasSubstr("repair"));
  EXPECT_THAT(lines[2], HasSubstr("vip"));

  // A waiting session shows up.
  d_.Create(NewSession("ctl-w-1", "voice", "repair"));
  r = Ctl({"stats", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  const auto report = FromJson<StatsReport>(r.out);
  ASSERT_EQ(report.queues_size(), 5);
  EXPECT_EQ(report.queues(2).queue_id(), "repair");
  EXPECT_EQ(report.queues(2).waiting(), 1);

  // --watch with --count: that many refreshes, JSON lines.
  r = Ctl({"stats", "repair", "--watch", "--count", "3", "--interval", "50ms", "--json"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r;
  for (const std::string& line : lines) {
    const auto frame = FromJson<StatsReport>(line);
    ASSERT_EQ(frame.queues_size(), 1) << line;
    EXPECT_EQ(frame.queues(0).waiting(), 1);
  }
  // Tables, one after the other when stdout is not a terminal (no escape codes).
  r = Ctl({"stats", "--watch", "--count", "2", "--interval", "50ms"});
  ASSERT_EQ(r.exit_code, ctl::kExitOk) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("\x1b[")));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2 * (1 + 1 + 6) + 1) << r;

  r = Ctl({"stats", "repair", "nosuch"});
  EXPECT_EQ(r.exit_code, ctl::kExitNotFound) << r;
  EXPECT_THAT(r.err, HasSubstr("nosuch")) << r;
}

// ---- exit codes -----------------------------------------------------------------------------

TEST_F(CtlTest, ExitCodesScriptsCanTrust) {
  // Not found.
  CtlResult r = Ctl({"queues", "get", "nosuch"});
  EXPECT_EQ(r.exit_code, ctl::kExitNotFound) << r;
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND: ")) << r;
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(Ctl({"agents", "get", "nobody"}).exit_code, ctl::kExitNotFound);

  // Refused, with the code name and the daemon's message naming the field.
  r = Ctl({"session", "not-a-number"});
  EXPECT_EQ(r.exit_code, ctl::kExitRefused) << r;
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: session_id")) << r;

  // Usage.
  r = Ctl({"queues", "get"});
  EXPECT_EQ(r.exit_code, ctl::kExitUsage) << r;
  EXPECT_EQ(Ctl({"queues", "list", "--bogus"}).exit_code, ctl::kExitUsage);
  EXPECT_EQ(Ctl({"nosuchcommand"}).exit_code, ctl::kExitUsage);

  // The address from the environment, the flag winning over it.
  r = RunCtl({"queues", "list"}, d_.address());
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r;
  r = RunCtl({"--address", "127.0.0.1:1", "queues", "list"}, d_.address());
  EXPECT_EQ(r.exit_code, ctl::kExitUnavailable) << r;
}

TEST(CtlNoDaemon, UnreachableAddressIsFour) {
  const CtlResult r = RunCtl({"--address", "127.0.0.1:1", "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitUnavailable) << r;
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE")) << r;
  EXPECT_THAT(r.err, HasSubstr("is omnirouted running at 127.0.0.1:1?")) << r;
  const CtlResult tail = RunCtl({"--address", "127.0.0.1:1", "events", "tail"});
  EXPECT_EQ(tail.exit_code, ctl::kExitUnavailable) << tail;
}

TEST(CtlNoDaemon, ADaemonThatNeverAnswersIsFourAfterTheTimeout) {
  // A socket that accepts connections (the kernel does, from the backlog) and never speaks.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  const auto t0 = std::chrono::steady_clock::now();
  const CtlResult r = RunCtl({"--address", address, "--timeout", "500ms", "queues", "list"});
  const auto took = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  EXPECT_EQ(r.exit_code, ctl::kExitUnavailable) << r;
  EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("DEADLINE_EXCEEDED"), HasSubstr("UNAVAILABLE")))
      << r;
  EXPECT_LT(took, std::chrono::seconds(8)) << "the --timeout bounds the wait";
}

}  // namespace
}  // namespace omniroute::testing
