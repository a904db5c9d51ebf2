// omniroutectl's `apply`: upserts the channels, queues and agents of a configuration file,
// with --dry-run to see the changes first (plan.h).

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/commands.h"
#include "ctl/exit_codes.h"
#include "ctl/plan.h"

namespace omniroute::ctl {
namespace {

// Sends one object of the file; `what` describes it for errors.
grpc::Status Upsert(Client& client, const v1::DaemonConfig& file, const ObjectChange& change) {
  if (change.kind() == "channel") {
    for (const v1::Channel& channel : file.channels()) {
      if (channel.id() != change.id()) continue;
      v1::UpsertChannelRequest request;
      *request.mutable_channel() = channel;
      v1::UpsertChannelResponse response;
      return client.Call([&](grpc::ClientContext* c) {
        return client.admin().UpsertChannel(c, request, &response);
      });
    }
  } else if (change.kind() == "queue") {
    for (const v1::Queue& queue : file.queues()) {
      if (queue.id() != change.id()) continue;
      v1::UpsertQueueRequest request;
      *request.mutable_queue() = queue;
      v1::UpsertQueueResponse response;
      return client.Call([&](grpc::ClientContext* c) {
        return client.admin().UpsertQueue(c, request, &response);
      });
    }
  } else if (change.kind() == "agent") {
    for (const v1::Agent& agent : file.agents()) {
      if (agent.id() != change.id()) continue;
      v1::UpsertAgentRequest request;
      *request.mutable_agent() = agent;
      v1::UpsertAgentResponse response;
      return client.Call([&](grpc::ClientContext* c) {
        return client.admin().UpsertAgent(c, request, &response);
      });
    }
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, "no such object in the file");
}

int Apply(CommandContext& context) {
  const ParsedArgs& args = context.args();
  if (!args.Has("file")) return context.UsageError("missing -f FILE (the file to apply)");
  const bool dry_run = args.Has("dry-run");
  absl::StatusOr<v1::DaemonConfig> file = ReadApplyFile(args.Value("file"));
  if (!file.ok()) return context.UsageError(file.status().message());
  if (std::vector<std::string> ignored = IgnoredFields(*file); !ignored.empty()) {
    context.err() << "omniroutectl apply: note: " << args.Value("file") << " also sets "
                  << absl::StrJoin(ignored, ", ")
                  << ": daemon startup settings, which apply leaves alone (it applies "
                     "channels, queues and agents)\n";
  }

  // What the daemon has now.
  Client& client = context.client();
  v1::ListChannelsResponse channels;
  grpc::Status st =
      client.ListAll(v1::ListChannelsRequest(), &channels,
                     [&client](grpc::ClientContext* c, const v1::ListChannelsRequest& r,
                               v1::ListChannelsResponse* resp) {
                       return client.admin().ListChannels(c, r, resp);
                     });
  if (!st.ok()) return context.Fail("list channels", st);
  v1::ListQueuesResponse queues;
  st = client.ListAll(
      v1::ListQueuesRequest(), &queues,
      [&client](grpc::ClientContext* c, const v1::ListQueuesRequest& r,
                v1::ListQueuesResponse* resp) { return client.admin().ListQueues(c, r, resp); });
  if (!st.ok()) return context.Fail("list queues", st);
  v1::ListAgentsResponse agents;
  st = client.ListAll(
      v1::ListAgentsRequest(), &agents,
      [&client](grpc::ClientContext* c, const v1::ListAgentsRequest& r,
                v1::ListAgentsResponse* resp) { return client.admin().ListAgents(c, r, resp); });
  if (!st.ok()) return context.Fail("list agents", st);

  ApplyPlan plan = BuildPlan(*file, channels, queues, agents);
  const int pending = plan.create_count() + plan.update_count();
  if (dry_run) {
    if (context.json()) {
      context.PrintJson(plan);
    } else {
      for (const ObjectChange& change : plan.changes()) context.out() << RenderChange(change);
      context.out() << RenderSummary(plan, /*dry_run=*/true);
    }
    return pending > 0 ? kExitChangesPending : kExitOk;
  }

  // In order (channels, queues, agents, each in file order): a queue may overflow into one
  // created just before it, an agent serve a queue created above.
  int done = 0;
  for (const ObjectChange& change : plan.changes()) {
    if (change.action() == APPLY_ACTION_CREATE || change.action() == APPLY_ACTION_UPDATE) {
      st = Upsert(client, *file, change);
      if (!st.ok()) {
        const int code =
            context.Fail(absl::StrCat("apply ", change.kind(), " \"", change.id(), "\""), st);
        context.err() << "omniroutectl apply: stopped after " << done << " of " << pending
                      << " changes; the objects after this one were not sent.\n";
        return code;
      }
      ++done;
    }
    if (!context.json()) {
      context.out() << RenderChange(change);
      context.out().flush();
    }
  }
  plan.set_applied(true);
  if (context.json()) {
    context.PrintJson(plan);
  } else {
    context.out() << RenderSummary(plan, /*dry_run=*/false);
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> ApplyCommands() {
  Command c;
  c.name = "apply";
  c.summary = "Create or update channels, queues and agents from a file; --dry-run to diff.";
  c.usage = "apply -f FILE [--dry-run]";
  c.description =
      "FILE is an omniroute.v1.DaemonConfig in protobuf text format: its channels, queues and\n"
      "agents are upserted, in that order and in file order (the daemon's own configuration\n"
      "file works as it is; its other settings are left alone). Each object is compared with\n"
      "the daemon's, defaults filled in on both sides, and only those that differ are sent.\n"
      "An upsert replaces the object's whole configuration: a field the file leaves out takes\n"
      "its default. Objects the file does not name are left alone (nothing is deleted).\n"
      "\n"
      "Lines: '+ queue x' (created), '~ queue y: field: old -> new' (changed, one line per\n"
      "field), '= queue z' (unchanged). --dry-run sends nothing and exits 0 when nothing would\n"
      "change, 5 when changes are pending. A refused upsert stops the run (exit 1, the\n"
      "daemon's message names the field); the objects before it stay applied.\n"
      "JSON: an omniroute.ctl.ApplyPlan. FILE '-' reads standard input.";
  c.flags = {
      {"file", FlagKind::kValue, "FILE", "The configuration to apply ('-': standard input).", 'f'},
      {"dry-run", FlagKind::kBool, "", "Show what would change, send nothing (exit 5: changes)."},
  };
  c.examples =
      "omniroutectl apply -f centre.textproto --dry-run\n"
      "omniroutectl apply -f centre.textproto\n"
      "omniroutectl apply -f centre.textproto --dry-run >/dev/null; [ $? = 5 ] && echo drift";
  c.run = &Apply;
  return {c};
}

}  // namespace omniroute::ctl
