// omniroutectl's live commands: `stats` (with --watch), `presence`, `session` (a session and
// its decision audit) and `events tail` (EventService.StreamEvents).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "ctl/commands.h"
#include "ctl/exit_codes.h"
#include "ctl/format.h"
#include "ctl/interrupt.h"
#include "ctl/table.h"
#include "omniroute/ctl/reports.pb.h"

namespace omniroute::ctl {
namespace {

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// ---- stats ----------------------------------------------------------------------------------

// ANSI: cursor home, clear the screen.
constexpr char kClearScreen[] = "\x1b[H\x1b[2J";

// One refresh: the statistics of `queue_ids` (every queue when empty). On failure, prints the
// error and sets `exit_code`.
bool FetchStats(CommandContext& context, const std::vector<std::string>& queue_ids,
                const google::protobuf::Duration* window, StatsReport* report, int* exit_code) {
  Client& client = context.client();
  report->Clear();
  *report->mutable_time() = ToProto(absl::Now());
  std::vector<std::string> ids = queue_ids;
  if (ids.empty()) {
    v1::ListQueuesResponse all;
    grpc::Status st = client.ListAll(
        v1::ListQueuesRequest(), &all,
        [&client](grpc::ClientContext* c, const v1::ListQueuesRequest& r,
                  v1::ListQueuesResponse* resp) { return client.admin().ListQueues(c, r, resp); });
    if (!st.ok()) {
      *exit_code = context.Fail("list queues", st);
      return false;
    }
    for (const v1::Queue& q : all.queues()) ids.push_back(q.id());
  }
  for (const std::string& id : ids) {
    v1::GetQueueStatsRequest request;
    request.set_queue_id(id);
    if (window != nullptr) *request.mutable_window() = *window;
    v1::GetQueueStatsResponse response;
    grpc::Status st = client.Call([&](grpc::ClientContext* c) {
      return client.admin().GetQueueStats(c, request, &response);
    });
    if (!st.ok()) {
      *exit_code = context.Fail(absl::StrCat("statistics of queue \"", id, "\""), st);
      return false;
    }
    *report->add_queues() = response.stats();
  }
  return true;
}

std::string RenderStats(const StatsReport& report) {
  Table table({"QUEUE", "WAITING", "OFFERED", "OLDEST", "SL", "GOAL", "ASA", "ABANDONED", "ENTERED",
               "ANSWERED", "AVAIL", "BUSY", "NOT-READY", "OFFLINE"});
  for (size_t c = 1; c < 14; ++c) table.AlignRight(c);
  for (const v1::QueueStats& s : report.queues()) {
    table.AddRow(
        {s.queue_id(), absl::StrCat(s.waiting()), absl::StrCat(s.offered()),
         HumanOptionalDuration(s.has_oldest_wait(), s.oldest_wait()),
         s.has_service_level() ? FormatPercent(s.service_level()) : "-",
         absl::StrCat(FormatPercent(s.service_level_goal()), "/",
                      HumanDuration(s.service_level_threshold())),
         HumanOptionalDuration(s.has_average_speed_of_answer(), s.average_speed_of_answer()),
         s.has_abandonment_rate() ? FormatPercent(s.abandonment_rate()) : "-",
         absl::StrCat(s.entered_count()), absl::StrCat(s.answered_count()),
         absl::StrCat(s.agents_available()), absl::StrCat(s.agents_busy()),
         absl::StrCat(s.agents_not_ready()), absl::StrCat(s.agents_offline())});
  }
  return table.Render();
}

int Stats(CommandContext& context) {
  const ParsedArgs& args = context.args();
  google::protobuf::Duration window;
  bool has_window = false;
  if (args.Has("window")) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration("--window", args.Value("window"));
    if (!d.ok()) return context.UsageError(d.status().message());
    window = ToProto(*d);
    has_window = true;
  }
  const bool watch = args.Has("watch");
  if (!watch && (args.Has("interval") || args.Has("count"))) {
    return context.UsageError("--interval and --count go with --watch");
  }
  absl::Duration interval = absl::Seconds(2);
  if (args.Has("interval")) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration("--interval", args.Value("interval"));
    if (!d.ok()) return context.UsageError(d.status().message());
    interval = *d;
  }
  uint64_t count = 0;  // 0: until interrupted
  if (args.Has("count")) {
    absl::StatusOr<uint64_t> n = ParseCount("--count", args.Value("count"));
    if (!n.ok()) return context.UsageError(n.status().message());
    if (*n == 0) return context.UsageError("--count: must be at least 1");
    count = *n;
  }
  const std::vector<std::string>& queues = args.positional();
  StatsReport report;
  int code = kExitOk;
  if (!watch) {
    if (!FetchStats(context, queues, has_window ? &window : nullptr, &report, &code)) {
      return code;
    }
    if (context.json()) {
      context.PrintJson(report);
    } else {
      context.out() << RenderStats(report);
    }
    return kExitOk;
  }

  // --watch: refresh every `interval` until --count refreshes or Ctrl-C.
  Interrupt::Scope scope([] {});
  const bool redraw = context.options().out_is_tty && !context.json();
  for (uint64_t frame = 1;; ++frame) {
    if (!FetchStats(context, queues, has_window ? &window : nullptr, &report, &code)) {
      return Interrupt::Requested() ? kExitOk : code;
    }
    if (Interrupt::Requested()) return kExitOk;
    if (context.json()) {
      context.out() << ToJson(report, JsonStyle::kLine);
    } else {
      if (redraw) {
        context.out() << kClearScreen;
      } else if (frame > 1) {
        context.out() << "\n";
      }
      context.out() << "Every " << HumanDuration(interval) << ": queue statistics at "
                    << FormatTime(report.time()) << (redraw ? "    (Ctrl-C to stop)" : "") << "\n\n"
                    << RenderStats(report);
    }
    context.out().flush();
    if (count != 0 && frame >= count) return kExitOk;
    if (!Interrupt::SleepFor(interval)) return kExitOk;
  }
}

// ---- presence -------------------------------------------------------------------------------

int Presence(CommandContext& context) {
  const ParsedArgs& args = context.args();
  v1::SetPresenceRequest request;
  request.set_agent_id(args.positional()[0]);
  absl::StatusOr<int> presence =
      ParseEnumValue(v1::Presence_descriptor(), "presence", args.positional()[1]);
  if (!presence.ok()) return context.UsageError(presence.status().message());
  request.set_presence(static_cast<v1::Presence>(*presence));
  request.set_reason(args.Value("reason"));
  if (request.presence() == v1::PRESENCE_NOT_READY && request.reason().empty()) {
    return context.UsageError("not-ready needs --reason (a reason code such as break, lunch)");
  }
  if (args.Has("duration")) {
    if (request.presence() != v1::PRESENCE_WRAP_UP) {
      return context.UsageError("--duration goes with wrap-up only");
    }
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration("--duration", args.Value("duration"));
    if (!d.ok()) return context.UsageError(d.status().message());
    *request.mutable_duration() = ToProto(*d);
  } else if (request.presence() == v1::PRESENCE_WRAP_UP) {
    return context.UsageError("wrap-up needs --duration (how long, e.g. 30s)");
  }

  Client& client = context.client();
  v1::SetPresenceResponse response;
  grpc::Status st = client.Call(
      [&](grpc::ClientContext* c) { return client.agents().SetPresence(c, request, &response); });
  if (!st.ok()) {
    return context.Fail(absl::StrCat("set presence of agent \"", request.agent_id(), "\""), st);
  }
  if (context.json()) {
    context.PrintJson(response);
    return kExitOk;
  }
  const v1::AgentStatus& s = response.status();
  context.out() << s.agent_id() << " is now " << EnumName(s.presence());
  if (!s.presence_reason().empty()) context.out() << " (" << s.presence_reason() << ")";
  if (!s.session_ids().empty()) {
    context.out() << "; still holds " << s.session_ids_size() << " session"
                  << (s.session_ids_size() == 1 ? "" : "s") << " ("
                  << absl::StrJoin(s.session_ids(), ", ") << ")";
  }
  context.out() << "\n";
  return kExitOk;
}

// ---- session --------------------------------------------------------------------------------

void DescribeSession(const v1::Session& s, Fields* f) {
  f->Add("Session", s.id());
  f->Add("State", EnumName(s.state()));
  f->Add("Channel", s.channel_id());
  f->Add("Queue", s.queue_id());
  f->Add("Agent", OrDash(s.agent_id()));
  if (!s.offered_agent_ids().empty()) {
    f->Add("Shown to", absl::StrJoin(s.offered_agent_ids(), ", "));
  }
  if (!s.declined_agent_ids().empty()) {
    f->Add("Declined by", absl::StrJoin(s.declined_agent_ids(), ", "));
  }
  const v1::Customer& c = s.customer();
  std::vector<std::string> about;
  if (c.vip_level() > 0) about.push_back(absl::StrCat("VIP ", c.vip_level()));
  if (!c.tags().empty()) about.push_back(absl::StrCat("tags ", absl::StrJoin(c.tags(), ", ")));
  if (!c.language().empty()) about.push_back(absl::StrCat("language ", c.language()));
  f->Add("Customer",
         absl::StrCat(OrDash(c.id()),
                      about.empty() ? "" : absl::StrCat(" (", absl::StrJoin(about, "; "), ")")));
  f->Add("Intent", OrDash(s.intent()));
  f->Add("Priority", absl::StrCat(s.priority()));
  std::vector<std::string> reqs;
  for (const v1::Requirement& r : s.requirements()) reqs.push_back(FormatRequirement(r));
  std::vector<std::string> in_force;
  for (const v1::Requirement& r : s.requirements_in_force()) {
    in_force.push_back(FormatRequirement(r));
  }
  std::string req_text = reqs.empty() ? "-" : absl::StrJoin(reqs, ", ");
  if (in_force != reqs) {
    absl::StrAppend(&req_text,
                    " (in force: ", in_force.empty() ? "none" : absl::StrJoin(in_force, ", "), ")");
  }
  f->Add("Requirements", req_text);
  if (s.state() == v1::SESSION_STATE_QUEUED || s.state() == v1::SESSION_STATE_OFFERED) {
    f->Add("Stage", absl::StrCat(EnumName(s.stage()), ", relaxation step ", s.relaxation_step()));
  }
  if (!s.rules_applied().empty()) f->Add("Rules", absl::StrJoin(s.rules_applied(), ", "));
  if (!s.bot_summary().empty()) f->Add("Bot summary", s.bot_summary());
  if (!s.callback_number().empty()) f->Add("Callback", s.callback_number());
  f->Add("Created", FormatTime(s.create_time()));
  f->Add("Waiting since", FormatTime(s.wait_start_time()));
  if (s.has_assign_time()) f->Add("Assigned", FormatTime(s.assign_time()));
  if (s.has_deadline_time()) f->Add("Deadline", FormatTime(s.deadline_time()));
}

std::string RenderHistory(const v1::GetSessionHistoryResponse& h) {
  std::string out = absl::StrCat("History: ", h.entries_size(), " event",
                                 h.entries_size() == 1 ? "" : "s", ", state ", EnumName(h.state()));
  if (h.has_retain_until_time()) {
    absl::StrAppend(&out, ", kept until ", FormatTime(h.retain_until_time()));
  }
  absl::StrAppend(&out, "\n");
  Table table({"TIME", "WAITED", "EVENT", "AGENT", "SUMMARY"});
  table.AlignRight(1);
  for (const v1::AuditEntry& entry : h.entries()) {
    const v1::Event& e = entry.event();
    const std::string summary = entry.summary().empty() ? DescribeEvent(e) : entry.summary();
    table.AddRow({FormatTime(e.event_time()), HumanDuration(entry.waited()), EnumName(e.type()),
                  OrDash(e.agent_id()), summary});
    for (const v1::AuditCandidate& c : entry.candidates()) {
      table.AddDetail(
          absl::StrCat(c.chosen() ? "* " : "  ", c.agent_id(), "  ", FormatRankKey(c.rank())), 8);
    }
  }
  return out + table.Render();
}

int SessionCommand(CommandContext& context) {
  const std::string id = context.args().positional()[0];
  Client& client = context.client();
  SessionReport report;

  v1::GetSessionRequest get;
  get.set_session_id(id);
  v1::GetSessionResponse session;
  grpc::Status session_status = client.Call(
      [&](grpc::ClientContext* c) { return client.sessions().GetSession(c, get, &session); });
  if (!session_status.ok() && session_status.error_code() != grpc::StatusCode::NOT_FOUND) {
    return context.Fail(absl::StrCat("session \"", id, "\""), session_status);
  }
  if (session_status.ok()) *report.mutable_session() = session.session();

  v1::GetSessionHistoryRequest history_request;
  history_request.set_session_id(id);
  v1::GetSessionHistoryResponse history;
  grpc::Status history_status = client.Call([&](grpc::ClientContext* c) {
    return client.sessions().GetSessionHistory(c, history_request, &history);
  });
  if (history_status.ok()) {
    *report.mutable_history() = history;
  } else {
    // Without the session, the history's failure is the answer (NOT_FOUND: exit 3), unless
    // the daemon keeps no audit: then the session's NOT_FOUND is.
    if (!session_status.ok()) {
      const bool no_audit = history_status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                            history_status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
      return context.Fail(absl::StrCat("session \"", id, "\""),
                          no_audit ? session_status : history_status);
    }
    // The session alone is still worth showing when the daemon keeps no audit (FAILED_
    // PRECONDITION) or predates it (UNIMPLEMENTED); anything else is an error.
    if (history_status.error_code() != grpc::StatusCode::FAILED_PRECONDITION &&
        history_status.error_code() != grpc::StatusCode::UNIMPLEMENTED &&
        history_status.error_code() != grpc::StatusCode::NOT_FOUND) {
      return context.Fail(absl::StrCat("history of session \"", id, "\""), history_status);
    }
    report.set_history_unavailable(DescribeStatus(history_status));
  }

  if (context.json()) {
    context.PrintJson(report);
  } else {
    if (report.has_session()) {
      Fields fields;
      DescribeSession(report.session(), &fields);
      context.out() << fields.Render();
    } else {
      context.out() << "Session " << id
                    << ": no longer held by the router (finished longer ago than its session "
                       "retention); its history follows.\n";
    }
    context.out() << "\n";
    if (report.has_history()) {
      context.out() << RenderHistory(report.history());
    } else {
      context.out() << "History: unavailable (" << report.history_unavailable() << ")\n";
    }
  }
  if (!report.history_unavailable().empty()) {
    context.err() << "omniroutectl: history of session \"" << id
                  << "\" unavailable: " << report.history_unavailable() << "\n";
  }
  return kExitOk;
}

// ---- events tail ----------------------------------------------------------------------------

std::string EventLine(const v1::Event& e) {
  return absl::StrCat(FormatTime(e.event_time()), "  ", Pad(absl::StrCat("#", e.sequence()), 6),
                      "  ", Pad(EnumName(e.type()), 21), "  ", DescribeEvent(e), "\n");
}

int EventsTail(CommandContext& context) {
  const ParsedArgs& args = context.args();
  v1::StreamEventsRequest request;
  for (const std::string& q : args.Values("queue")) request.add_queue_ids(q);
  for (const std::string& s : args.Values("session")) request.add_session_ids(s);
  for (const std::string& a : args.Values("agent")) request.add_agent_ids(a);
  for (const std::string& ch : args.Values("channel")) request.add_channel_ids(ch);
  for (const std::string& t : args.Values("type")) {
    absl::StatusOr<int> type = ParseEnumValue(v1::EventType_descriptor(), "event type", t);
    if (!type.ok()) return context.UsageError(type.status().message());
    request.add_event_types(static_cast<v1::EventType>(*type));
  }
  if (args.Has("after-sequence")) {
    absl::StatusOr<uint64_t> n = ParseCount("--after-sequence", args.Value("after-sequence"));
    if (!n.ok()) return context.UsageError(n.status().message());
    request.set_after_sequence(*n);
  }
  uint64_t count = 0;
  if (args.Has("count")) {
    absl::StatusOr<uint64_t> n = ParseCount("--count", args.Value("count"));
    if (!n.ok()) return context.UsageError(n.status().message());
    if (*n == 0) return context.UsageError("--count: must be at least 1");
    count = *n;
  }

  Client& client = context.client();
  grpc::ClientContext call;  // no deadline: a tail lasts as long as it is wanted
  client.Authorize(&call);
  Interrupt::Scope scope([&call] { call.TryCancel(); });
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> reader =
      client.events().StreamEvents(&call, request);
  v1::StreamEventsResponse message;
  uint64_t received = 0;
  while (reader->Read(&message)) {
    if (context.json()) {
      context.out() << ToJson(message.event(), JsonStyle::kLine);
    } else {
      context.out() << EventLine(message.event());
    }
    context.out().flush();
    if (count != 0 && ++received >= count) {
      call.TryCancel();
      reader->Finish();  // CANCELLED, by us
      return kExitOk;
    }
  }
  const grpc::Status status = reader->Finish();
  if (Interrupt::Requested()) return kExitOk;
  if (status.ok()) {
    context.err() << "omniroutectl: events tail: the daemon ended the stream (it is shutting "
                     "down)\n";
    return kExitUnavailable;
  }
  return context.Fail("events tail", status);
}

}  // namespace

std::vector<Command> LiveCommands() {
  std::vector<Command> commands;
  {
    Command c;
    c.name = "stats";
    c.summary = "Queue statistics: waiting, oldest wait, service level, ASA, agents.";
    c.usage =
        "stats [<queue-id>...] [--window DURATION] [--watch [--interval DURATION] [--count N]]";
    c.description =
        "Shows the live figures of the queues named (all queues when none is): sessions\n"
        "waiting and offered, the oldest wait, the service level against its goal (GOAL is\n"
        "goal/threshold), average speed of answer (ASA), abandonment, sessions entered and\n"
        "answered over the window, and the agents available, busy, not ready and offline.\n"
        "\n"
        "With --watch the table is refreshed every --interval (2s by default) until Ctrl-C,\n"
        "or --count refreshes: redrawn in place on a terminal, one table after another\n"
        "otherwise. JSON: an omniroute.ctl.StatsReport {\"time\", \"queues\": [QueueStats]};\n"
        "with --watch one such document per line and refresh.";
    c.flags = {
        {"window", FlagKind::kValue, "DURATION",
         "The statistics window, e.g. 1h (default: the daemon's, 15m unless configured)."},
        {"watch", FlagKind::kBool, "", "Refresh until Ctrl-C (or --count refreshes).", 'w'},
        {"interval", FlagKind::kValue, "DURATION", "Time between refreshes (default 2s)."},
        {"count", FlagKind::kValue, "N", "Stop after N refreshes (for scripts)."},
    };
    c.examples =
        "omniroutectl stats\n"
        "omniroutectl stats repair vip --watch --interval 5s\n"
        "omniroutectl stats --watch --count 3 --json   # three JSON lines, 2s apart";
    c.max_positional = -1;
    c.run = &Stats;
    commands.push_back(c);
  }
  {
    Command c;
    c.name = "presence";
    c.summary = "Set an agent's presence: available, not-ready (with a reason), offline.";
    c.usage =
        "presence <agent-id> <available|not-ready|offline|wrap-up> [--reason R] "
        "[--duration DURATION]";
    c.description =
        "Changes the agent's presence as its desktop would. Going not-ready, offline or\n"
        "wrap-up rescinds the agent's pending offers; sessions already assigned stay with it.\n"
        "not-ready needs a reason code (--reason break); wrap-up needs --duration, after which\n"
        "the agent is available again by itself. Prints the agent's status after the change.\n"
        "JSON: an omniroute.v1.SetPresenceResponse. Exit 3 when the agent does not exist.";
    c.flags = {
        {"reason", FlagKind::kValue, "R",
         "The reason code: required for not-ready (break, lunch, training...)."},
        {"duration", FlagKind::kValue, "DURATION",
         "For wrap-up: how long before the agent is available again."},
    };
    c.examples =
        "omniroutectl presence eng-1001 available\n"
        "omniroutectl presence eng-1001 not-ready --reason lunch\n"
        "omniroutectl presence eng-1001 wrap-up --duration 2m";
    c.min_positional = 2;
    c.max_positional = 2;
    c.run = &Presence;
    commands.push_back(c);
  }
  {
    Command c;
    c.name = "session";
    c.summary = "Show a session and its full decision history (why it waited, who got it).";
    c.usage = "session <session-id>";
    c.description =
        "Shows the session as the router holds it (while open, and for the daemon's session\n"
        "retention after it finished), then its decision audit: every event in order with\n"
        "the time, how long the session had waited, the agent and a summary; offers and\n"
        "assignments list the candidates the router ranked with their rank keys (* marks the\n"
        "one chosen). The audit outlives the session in the router (audit.retention, 7 days\n"
        "by default).\n"
        "JSON: an omniroute.ctl.SessionReport {\"session\", \"history\",\n"
        "\"history_unavailable\"}. Exit 3 when neither the session nor its history exists;\n"
        "exit 0 with a warning when the session exists but the daemon keeps no audit.";
    c.examples =
        "omniroutectl session 17\n"
        "omniroutectl session 17 --json | jq '.history.entries[] | .summary'";
    c.min_positional = 1;
    c.max_positional = 1;
    c.run = &SessionCommand;
    commands.push_back(c);
  }
  {
    Command c;
    c.name = "events tail";
    c.summary = "Follow the router's events live, filtered by queue, session, agent, type.";
    c.usage =
        "events tail [--queue Q]... [--session S]... [--agent A]... [--type T]... "
        "[--channel C]... [--after-sequence N] [--count N]";
    c.description =
        "Prints every router event matching the filters as it happens, one line each: time,\n"
        "sequence, type and particulars. Filters of different kinds combine with AND; a\n"
        "repeated filter matches any of its values. --after-sequence N first replays the\n"
        "retained events after N (0: all retained history), then goes on live. Runs until\n"
        "Ctrl-C (exit 0) or --count events; exit 4 if the daemon ends the stream.\n"
        "Event types: session-created, offer-created, offer-accepted, session-assigned,\n"
        "session-completed, presence-changed... (the EventType names of the API, in any case,\n"
        "with or without the EVENT_TYPE_ prefix).\n"
        "JSON: one omniroute.v1.Event per line.";
    c.flags = {
        {"queue", FlagKind::kRepeated, "Q", "Only events of queue Q (or moving to it)."},
        {"session", FlagKind::kRepeated, "S", "Only events of session S."},
        {"agent", FlagKind::kRepeated, "A", "Only events of agent A."},
        {"type", FlagKind::kRepeated, "T", "Only events of type T, e.g. offer-created."},
        {"channel", FlagKind::kRepeated, "C", "Only events on channel C."},
        {"after-sequence", FlagKind::kValue, "N",
         "Replay the retained events after sequence N first (0: all retained)."},
        {"count", FlagKind::kValue, "N", "Stop after N events."},
    };
    c.examples =
        "omniroutectl events tail --queue repair\n"
        "omniroutectl events tail --agent eng-1001 --type offer-created --type offer-expired\n"
        "omniroutectl events tail --after-sequence 0 --count 100 --json > events.jsonl";
    c.run = &EventsTail;
    commands.push_back(c);
  }
  return commands;
}

}  // namespace omniroute::ctl
