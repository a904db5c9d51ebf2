// omniroutectl's configuration-and-status commands: `queues list`, `queues get`,
// `agents list`, `agents get` (AdminService).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/commands.h"
#include "ctl/exit_codes.h"
#include "ctl/format.h"
#include "ctl/table.h"
#include "omniroute/ctl/reports.pb.h"

namespace omniroute::ctl {
namespace {

constexpr FlagSpec kWindowFlag = {
    "window", FlagKind::kValue, "DURATION",
    "The statistics window, e.g. 1h (default: the daemon's, 15m unless configured)."};

// Sets the request's window from --window when given; false (and a usage error printed, its
// exit code in `exit_code`) when malformed.
template <typename Request>
bool WindowFlag(CommandContext& context, Request* request, int* exit_code) {
  if (!context.args().Has("window")) return true;
  absl::StatusOr<absl::Duration> d =
      ParsePositiveDuration("--window", context.args().Value("window"));
  if (!d.ok()) {
    *exit_code = context.UsageError(d.status().message());
    return false;
  }
  *request->mutable_window() = ToProto(*d);
  return true;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string JoinOrDash(const std::vector<std::string>& items) {
  return items.empty() ? "-" : absl::StrJoin(items, ", ");
}

// ---- queues ---------------------------------------------------------------------------------

std::string DeliveryText(const v1::Queue& q) {
  if (q.delivery_mode() == v1::DELIVERY_MODE_GRAB) {
    return absl::StrCat("grab: ", q.grab_fanout(), " agents see a session, claims for ",
                        HumanDuration(q.grab_window()));
  }
  return absl::StrCat("direct: one agent at a time, ", HumanDuration(q.offer_timeout()),
                      " to accept");
}

std::string RelaxationText(const v1::RelaxationStep& step) {
  std::string what;
  switch (step.action()) {
    case v1::RELAX_ACTION_LOWER_LEVEL:
      what = step.skill_id().empty()
                 ? absl::StrCat("lower every requirement to ", step.level())
                 : absl::StrCat("lower ", step.skill_id(), " to ", step.level());
      break;
    case v1::RELAX_ACTION_DROP_SKILL:
      what = absl::StrCat("drop ", step.skill_id());
      break;
    case v1::RELAX_ACTION_ANY_AGENT:
      what = "any agent of the queue";
      break;
    default:
      what = EnumName(step.action());
  }
  return absl::StrCat("after ", HumanDuration(step.after()), ": ", what);
}

std::string TagRuleText(const v1::TagRule& rule) {
  std::vector<std::string> when;
  if (!rule.tag().empty()) when.push_back(absl::StrCat("tag ", rule.tag()));
  if (rule.min_vip_level() > 0) when.push_back(absl::StrCat("VIP>=", rule.min_vip_level()));
  if (!rule.language().empty()) when.push_back(absl::StrCat("language ", rule.language()));
  std::vector<std::string> then;
  if (rule.priority_boost() != 0) {
    then.push_back(
        absl::StrCat(rule.priority_boost() > 0 ? "+" : "", rule.priority_boost(), " priority"));
  }
  if (rule.has_requirement() && !rule.requirement().skill_id().empty()) {
    then.push_back(absl::StrCat("needs ", FormatRequirement(rule.requirement())));
  }
  if (rule.min_tier() != v1::AGENT_TIER_UNSPECIFIED) {
    then.push_back(absl::StrCat("tier ", EnumName(rule.min_tier()), "+"));
  }
  std::string text = absl::StrCat(absl::StrJoin(when, " & "), ": ", JoinOrDash(then));
  if (!rule.name().empty()) text = absl::StrCat(rule.name(), " (", text, ")");
  return text;
}

void DescribeQueue(const v1::Queue& q, const v1::QueueStats& s, Fields* f) {
  f->Add("Queue", q.id());
  f->Add("Name", OrDash(q.display_name()));
  f->Add("Strategy", q.strategy());
  f->Add("Delivery", DeliveryText(q));
  f->Add("Service level", absl::StrCat(FormatPercent(q.service_level_goal()), " within ",
                                       HumanDuration(q.service_level_threshold())));
  f->Add("Ageing", ToAbsl(q.ageing_interval()) == absl::ZeroDuration()
                       ? std::string("none")
                       : absl::StrCat("1 priority point per ", HumanDuration(q.ageing_interval())));
  std::vector<std::string> reqs;
  for (const v1::Requirement& r : q.requirements()) reqs.push_back(FormatRequirement(r));
  f->Add("Requirements", JoinOrDash(reqs));
  std::vector<std::string> steps;
  for (const v1::RelaxationStep& step : q.relaxation_steps()) {
    steps.push_back(RelaxationText(step));
  }
  f->Add("Relaxation", steps.empty() ? "-" : absl::StrJoin(steps, "\n"));
  if (ToAbsl(q.overflow_after()) == absl::ZeroDuration()) {
    f->Add("Overflow", "none");
  } else {
    f->Add("Overflow", absl::StrCat("after ", HumanDuration(q.overflow_after()), " to ",
                                    q.overflow_queue_id().empty() ? "nowhere (leaves as overflowed)"
                                                                  : q.overflow_queue_id()));
  }
  std::vector<std::string> limits;
  for (const v1::ChannelLimit& l : q.channel_limits()) {
    limits.push_back(absl::StrCat(l.channel_id(), " ", l.max_waiting()));
  }
  f->Add("Channel limits", JoinOrDash(limits));
  std::vector<std::string> rules;
  for (const v1::TagRule& rule : q.tag_rules()) rules.push_back(TagRuleText(rule));
  f->Add("Customer rules", rules.empty() ? "-" : absl::StrJoin(rules, "\n"));
  f->Add("Stages", absl::StrCat("preferred ", HumanDuration(q.preferred_timeout()), ", last agent ",
                                HumanDuration(q.last_agent_timeout()),
                                ", VIP (level>=", q.vip_min_level(), ", tier ",
                                EnumName(q.vip_min_tier()), "+) ", HumanDuration(q.vip_timeout())));
  f->Add("Wrap-up", HumanDuration(q.wrap_up_duration()));
  f->Add("Appointments", absl::StrCat("enter with priority >= ", q.appointment_priority()));
  std::vector<std::string> agents(q.agent_ids().begin(), q.agent_ids().end());
  f->Add("Agents", JoinOrDash(agents));

  f->Section(absl::StrCat("Live (window ", HumanDuration(s.window()), "):"));
  f->Add("Waiting", absl::StrCat(s.waiting(), " queued, ", s.offered(), " offered"));
  std::vector<std::string> by_channel;
  for (const v1::ChannelWaiting& w : s.waiting_by_channel()) {
    by_channel.push_back(absl::StrCat(w.channel_id(), " ", w.waiting()));
  }
  if (!by_channel.empty()) f->Add("By channel", absl::StrJoin(by_channel, ", "));
  f->Add("Oldest wait", HumanOptionalDuration(s.has_oldest_wait(), s.oldest_wait()));
  f->Add("Service level",
         absl::StrCat(s.has_service_level() ? FormatPercent(s.service_level()) : "-", " (goal ",
                      FormatPercent(s.service_level_goal()), " within ",
                      HumanDuration(s.service_level_threshold()), ")"));
  f->Add("Speed of answer", absl::StrCat(HumanOptionalDuration(s.has_average_speed_of_answer(),
                                                               s.average_speed_of_answer()),
                                         " on average"));
  f->Add("Abandonment",
         s.has_abandonment_rate() ? FormatPercent(s.abandonment_rate()) : std::string("-"));
  f->Add("Sessions",
         absl::StrCat(s.entered_count(), " entered, ", s.answered_count(), " answered (",
                      s.answered_in_threshold_count(), " in time), ", s.abandoned_count(),
                      " abandoned, ", s.overflowed_count(), " overflowed"));
  f->Add("Agents",
         absl::StrCat(s.agents_available(), " available, ", s.agents_busy(), " busy, ",
                      s.agents_not_ready(), " not ready, ", s.agents_offline(), " offline"));
  if (s.appointments_scheduled() > 0 || s.appointments_served_in_window() > 0 ||
      s.appointments_served_late() > 0) {
    f->Add("Appointments", absl::StrCat(s.appointments_scheduled(), " scheduled, ",
                                        s.appointments_served_in_window(), " served in window, ",
                                        s.appointments_served_late(), " late"));
  }
  if (s.callbacks_requested() > 0 || s.callbacks_waiting() > 0) {
    f->Add("Callbacks", absl::StrCat(s.callbacks_requested(), " requested, ", s.callbacks_waiting(),
                                     " waiting"));
  }
}

int QueuesList(CommandContext& context) {
  Client& client = context.client();
  v1::ListQueuesResponse all;
  grpc::Status st = client.ListAll(
      v1::ListQueuesRequest(), &all,
      [&client](grpc::ClientContext* c, const v1::ListQueuesRequest& r,
                v1::ListQueuesResponse* resp) { return client.admin().ListQueues(c, r, resp); });
  if (!st.ok()) return context.Fail("list queues", st);
  if (context.json()) {
    context.PrintJson(all);
    return kExitOk;
  }
  Table table({"ID", "NAME", "STRATEGY", "DELIVERY", "REQUIREMENTS", "OVERFLOW", "AGENTS"});
  table.AlignRight(6);
  for (const v1::Queue& q : all.queues()) {
    std::vector<std::string> reqs;
    for (const v1::Requirement& r : q.requirements()) reqs.push_back(FormatRequirement(r));
    std::string overflow = "-";
    if (ToAbsl(q.overflow_after()) > absl::ZeroDuration()) {
      overflow =
          absl::StrCat(HumanDuration(q.overflow_after()), " -> ", OrDash(q.overflow_queue_id()));
    }
    table.AddRow({q.id(), OrDash(q.display_name()), q.strategy(), EnumName(q.delivery_mode()),
                  JoinOrDash(reqs), overflow, absl::StrCat(q.agent_ids_size())});
  }
  context.out() << table.Render();
  return kExitOk;
}

int QueuesGet(CommandContext& context) {
  const std::string id = context.args().positional()[0];
  v1::GetQueueStatsRequest stats_request;
  stats_request.set_queue_id(id);
  int code = kExitOk;
  if (!WindowFlag(context, &stats_request, &code)) return code;

  Client& client = context.client();
  v1::GetQueueRequest request;
  request.set_queue_id(id);
  v1::GetQueueResponse queue;
  grpc::Status st = client.Call(
      [&](grpc::ClientContext* c) { return client.admin().GetQueue(c, request, &queue); });
  if (!st.ok()) return context.Fail(absl::StrCat("queue \"", id, "\""), st);
  v1::GetQueueStatsResponse stats;
  st = client.Call([&](grpc::ClientContext* c) {
    return client.admin().GetQueueStats(c, stats_request, &stats);
  });
  if (!st.ok()) return context.Fail(absl::StrCat("statistics of queue \"", id, "\""), st);

  if (context.json()) {
    QueueReport report;
    *report.mutable_queue() = queue.queue();
    *report.mutable_stats() = stats.stats();
    context.PrintJson(report);
    return kExitOk;
  }
  Fields fields;
  DescribeQueue(queue.queue(), stats.stats(), &fields);
  context.out() << fields.Render();
  return kExitOk;
}

// ---- agents ---------------------------------------------------------------------------------

std::string PresenceText(const v1::AgentStatus& s) {
  std::string text = EnumName(s.presence());
  if (!s.presence_reason().empty()) absl::StrAppend(&text, " (", s.presence_reason(), ")");
  return text;
}

void DescribeAgent(const v1::Agent& a, const v1::AgentStats& stats, Fields* f) {
  f->Add("Agent", a.id());
  f->Add("Name", OrDash(a.display_name()));
  f->Add("Tier", absl::StrCat(EnumName(a.tier()), " (score ", a.score(), ")"));
  std::vector<std::string> skills;
  for (const v1::SkillLevel& s : a.skills()) {
    skills.push_back(absl::StrCat(s.skill_id(), " ", s.level()));
  }
  f->Add("Skills", JoinOrDash(skills));
  std::vector<std::string> channels;
  for (const v1::ChannelCapacity& c : a.channels()) {
    std::string text = absl::StrCat(c.channel_id(), " max ", c.has_max() ? c.max() : 1);
    if (c.has_cost()) absl::StrAppend(&text, " cost ", c.cost());
    channels.push_back(text);
  }
  f->Add("Channels", channels.empty() ? "every channel, with the channel's defaults"
                                      : absl::StrJoin(channels, ", "));
  std::vector<std::string> queues(a.queue_ids().begin(), a.queue_ids().end());
  f->Add("Queues", JoinOrDash(queues));

  const v1::AgentStatus& s = a.status();
  f->Section("Status:");
  f->Add("Presence",
         absl::StrCat(PresenceText(s), " since ", FormatTime(s.presence_change_time())));
  f->Add("Idle since", FormatTime(s.idle_start_time()));
  std::vector<std::string> load;
  for (const v1::ChannelLoad& l : s.load()) {
    load.push_back(absl::StrCat(l.channel_id(), " ", l.active()));
  }
  f->Add("Load", absl::StrCat(s.used_budget(), "/", s.budget(), " budget",
                              load.empty() ? "" : absl::StrCat("; ", absl::StrJoin(load, ", "))));
  std::vector<std::string> sessions(s.session_ids().begin(), s.session_ids().end());
  f->Add("Sessions", JoinOrDash(sessions));
  f->Add("Missed offers", absl::StrCat(s.missed_offers_in_row(), " in a row"));

  f->Section(absl::StrCat("Last ", HumanDuration(stats.window()), ":"));
  f->Add("Offers", absl::StrCat(stats.offers_count(), " (", stats.accepted_count(), " accepted, ",
                                stats.rejected_count(), " rejected, ", stats.expired_count(),
                                " expired, ", stats.claimed_count(), " claimed)"));
  f->Add("Sessions", absl::StrCat(stats.assigned_count(), " assigned, ", stats.completed_count(),
                                  " completed, ", stats.transferred_count(), " transferred"));
  f->Add("Handle time", absl::StrCat(HumanOptionalDuration(stats.has_average_handle_duration(),
                                                           stats.average_handle_duration()),
                                     " on average"));
  f->Add("Wrap-up time", absl::StrCat(HumanOptionalDuration(stats.has_average_wrap_up_duration(),
                                                            stats.average_wrap_up_duration()),
                                      " on average"));
  std::vector<std::string> times;
  for (const v1::PresenceTime& t : stats.presence_times()) {
    times.push_back(absl::StrCat(EnumName(t.presence()), " ", HumanDuration(t.duration())));
  }
  f->Add("Presence time", JoinOrDash(times));
}

int AgentsList(CommandContext& context) {
  v1::ListAgentsRequest request;
  request.set_queue_id(context.args().Value("queue"));
  for (const std::string& p : context.args().Values("presence")) {
    absl::StatusOr<int> presence = ParseEnumValue(v1::Presence_descriptor(), "presence", p);
    if (!presence.ok()) return context.UsageError(presence.status().message());
    request.add_presences(static_cast<v1::Presence>(*presence));
  }
  Client& client = context.client();
  v1::ListAgentsResponse all;
  grpc::Status st = client.ListAll(
      request, &all,
      [&client](grpc::ClientContext* c, const v1::ListAgentsRequest& r,
                v1::ListAgentsResponse* resp) { return client.admin().ListAgents(c, r, resp); });
  if (!st.ok()) {
    return context.Fail(request.queue_id().empty()
                            ? std::string("list agents")
                            : absl::StrCat("list agents of queue \"", request.queue_id(), "\""),
                        st);
  }
  if (context.json()) {
    context.PrintJson(all);
    return kExitOk;
  }
  Table table({"ID", "NAME", "PRESENCE", "TIER", "SCORE", "LOAD", "SESSIONS", "QUEUES"});
  table.AlignRight(4);
  table.AlignRight(5);
  table.AlignRight(6);
  for (const v1::Agent& a : all.agents()) {
    std::vector<std::string> queues(a.queue_ids().begin(), a.queue_ids().end());
    table.AddRow({a.id(), OrDash(a.display_name()), PresenceText(a.status()), EnumName(a.tier()),
                  absl::StrCat(a.score()),
                  absl::StrCat(a.status().used_budget(), "/", a.status().budget()),
                  absl::StrCat(a.status().session_ids_size()), JoinOrDash(queues)});
  }
  context.out() << table.Render();
  return kExitOk;
}

int AgentsGet(CommandContext& context) {
  const std::string id = context.args().positional()[0];
  v1::GetAgentStatsRequest stats_request;
  stats_request.set_agent_id(id);
  int code = kExitOk;
  if (!WindowFlag(context, &stats_request, &code)) return code;

  Client& client = context.client();
  v1::GetAgentRequest request;
  request.set_agent_id(id);
  v1::GetAgentResponse agent;
  grpc::Status st = client.Call(
      [&](grpc::ClientContext* c) { return client.admin().GetAgent(c, request, &agent); });
  if (!st.ok()) return context.Fail(absl::StrCat("agent \"", id, "\""), st);
  v1::GetAgentStatsResponse stats;
  st = client.Call([&](grpc::ClientContext* c) {
    return client.admin().GetAgentStats(c, stats_request, &stats);
  });
  if (!st.ok()) return context.Fail(absl::StrCat("statistics of agent \"", id, "\""), st);

  if (context.json()) {
    AgentReport report;
    *report.mutable_agent() = agent.agent();
    *report.mutable_stats() = stats.stats();
    context.PrintJson(report);
    return kExitOk;
  }
  Fields fields;
  DescribeAgent(agent.agent(), stats.stats(), &fields);
  context.out() << fields.Render();
  return kExitOk;
}

}  // namespace

std::vector<Command> ResourceCommands() {
  std::vector<Command> commands;
  {
    Command c;
    c.name = "queues list";
    c.summary = "List the queues: strategy, delivery, requirements, overflow, agents.";
    c.usage = "queues list";
    c.description =
        "Lists every queue of the daemon, sorted by id, with how it routes. For live figures\n"
        "(waiting, service level) see 'stats'; for one queue in full, 'queues get'.\n"
        "JSON: an omniroute.v1.ListQueuesResponse with every page.";
    c.examples =
        "omniroutectl queues list\n"
        "omniroutectl queues list --json | jq -r '.queues[].id'";
    c.run = &QueuesList;
    commands.push_back(c);
  }
  {
    Command c;
    c.name = "queues get";
    c.summary = "Describe one queue: its whole configuration and its live figures.";
    c.usage = "queues get <queue-id> [--window DURATION]";
    c.description =
        "Shows the queue's configuration (defaults filled in: what the router really uses)\n"
        "and its live figures: sessions waiting, oldest wait, service level, speed of answer,\n"
        "abandonment and agents, over the statistics window.\n"
        "JSON: {\"queue\": omniroute.v1.Queue, \"stats\": omniroute.v1.QueueStats}.\n"
        "Exit 3 when the queue does not exist.";
    c.flags = {kWindowFlag};
    c.examples =
        "omniroutectl queues get repair\n"
        "omniroutectl queues get repair --window 1h --json | jq .stats.service_level";
    c.min_positional = 1;
    c.max_positional = 1;
    c.run = &QueuesGet;
    commands.push_back(c);
  }
  {
    Command c;
    c.name = "agents list";
    c.summary = "List the agents (engineers): presence, tier, load, sessions, queues.";
    c.usage = "agents list [--queue Q] [--presence P]...";
    c.description =
        "Lists agents sorted by id with their live status. LOAD is the capacity budget in use\n"
        "over the agent's budget; SESSIONS counts the sessions held or directly offered.\n"
        "JSON: an omniroute.v1.ListAgentsResponse with every page.";
    c.flags = {
        {"queue", FlagKind::kValue, "Q", "Only agents serving queue Q."},
        {"presence", FlagKind::kRepeated, "P",
         "Only agents with this presence: offline, available, not-ready, wrap-up."},
    };
    c.examples =
        "omniroutectl agents list\n"
        "omniroutectl agents list --queue repair --presence available --presence not-ready";
    c.run = &AgentsList;
    commands.push_back(c);
  }
  {
    Command c;
    c.name = "agents get";
    c.summary = "Describe one agent: configuration, presence, load and recent figures.";
    c.usage = "agents get <agent-id> [--window DURATION]";
    c.description =
        "Shows the agent's skills, tier, channels and queues, its live status (presence and\n"
        "since when, load, sessions held) and its figures over the statistics window (offers,\n"
        "sessions, handle time, time in each presence).\n"
        "JSON: {\"agent\": omniroute.v1.Agent, \"stats\": omniroute.v1.AgentStats}.\n"
        "Exit 3 when the agent does not exist.";
    c.flags = {kWindowFlag};
    c.examples =
        "omniroutectl agents get eng-1001\n"
        "omniroutectl agents get eng-1001 --json | jq -r .agent.status.presence";
    c.min_positional = 1;
    c.max_positional = 1;
    c.run = &AgentsGet;
    commands.push_back(c);
  }
  return commands;
}

}  // namespace omniroute::ctl
