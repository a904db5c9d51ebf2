// omniroute-bench: the load generator. Drives a running `omnirouted` over gRPC like many
// channel gateways and agent desktops at once, in a closed loop, and reports throughput and
// latency of the whole session lifecycle.
//
//   omniroute-bench --target=127.0.0.1:7400 --duration=10s --gateways=4 --agents=50 --json
//
// A run: connect; set up the queue and agents (AdminService) unless --no_setup; open one
// StreamOffers per agent desktop and set the agents AVAILABLE; start the gateways (each keeps
// --inflight CreateSession calls outstanding); after --warmup measure for --duration; then
// drain (no new sessions or offers answered, calls in flight answered), close the streams
// and print the summary (text, or JSON with --json). A progress line goes to stderr every
// second. See bench/load_options.h for the flags, bench/load_report.h for the output.
//
// Threads: the main thread paces the run; every call runs on the gRPC callback API's
// threads, so the process uses a handful of threads whatever the load.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/centre_setup.h"
#include "bench/desktop.h"
#include "bench/gateway.h"
#include "bench/load_context.h"
#include "bench/load_options.h"
#include "bench/load_report.h"
#include "bench/load_stats.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "omniroute/v1/admin_service.grpc.pb.h"
#include "omniroute/v1/agent_service.grpc.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::bench {
namespace {

namespace v1 = ::omniroute::v1;

// How often the main thread restarts failed gateway loops and reopens lost streams.
constexpr absl::Duration kTick = absl::Milliseconds(100);
// How long the desktops have to get their snapshot and go AVAILABLE.
constexpr absl::Duration kDesktopsReadyTimeout = absl::Seconds(30);
// How long closing the streams may take.
constexpr absl::Duration kCloseTimeout = absl::Seconds(10);

// One HTTP/2 connection to the daemon and the stubs on it.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::unique_ptr<v1::SessionService::Stub> sessions;
  std::unique_ptr<v1::AgentService::Stub> agents;
};

Connection Connect(const std::string& target, int index) {
  grpc::ChannelArguments args;
  // Distinct arguments and a local subchannel pool: each Connection is its own connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("omniroute.bench.connection", index);
  args.SetMaxReceiveMessageSize(64 << 20);
  Connection c;
  c.channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  c.admin = v1::AdminService::NewStub(c.channel);
  c.sessions = v1::SessionService::NewStub(c.channel);
  c.agents = v1::AgentService::NewStub(c.channel);
  return c;
}

std::string NewRunTag() {
  std::random_device rd;
  return absl::StrFormat("b%08x", rd());
}

void Log(const std::string& line) {
  std::fprintf(stderr, "omniroute-bench: %s\n", line.c_str());
  std::fflush(stderr);
}

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kSetup: return "setup";
    case Phase::kWarmup: return "warmup";
    case Phase::kMeasure: return "measure";
    case Phase::kDrain: return "drain";
  }
  return "?";
}

double SecondsSince(absl::Time t) { return absl::ToDoubleSeconds(absl::Now() - t); }

int Run(int argc, char** argv) {
  absl::StatusOr<LoadOptions> parsed = ParseLoadOptions(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "omniroute-bench: %s\n\n%s", std::string(parsed.status().message()).c_str(),
                 LoadUsageText().c_str());
    return 2;
  }
  const LoadOptions options = *parsed;
  if (options.help) {
    std::fputs(LoadUsageText().c_str(), stdout);
    return 0;
  }

  std::vector<Connection> connections;
  for (int i = 0; i < options.connections; ++i) {
    connections.push_back(Connect(options.target, i));
  }
  for (Connection& c : connections) {
    if (!c.channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      Log(absl::StrCat("cannot connect to ", options.target));
      return 1;
    }
  }

  if (!options.no_setup) {
    const absl::Time t0 = absl::Now();
    if (absl::Status s = SetUpCentre(options, *connections[0].admin); !s.ok()) {
      Log(absl::StrCat("setup failed: ", s.message()));
      return 1;
    }
    Log(absl::StrFormat("set up queue %s and %d agents (%s x %d slots) in %.2f s", options.queue,
                        options.agents, options.channel, options.slots, SecondsSince(t0)));
    if (options.setup_only) return 0;
  }

  LoadContext ctx(options, NewRunTag());

  // Desktops first, so every session created finds them streaming.
  std::vector<std::unique_ptr<Desktop>> desktops;
  for (int i = 0; i < options.agents; ++i) {
    Connection& c = connections[i % connections.size()];
    desktops.push_back(std::make_unique<Desktop>(absl::StrCat(options.agent_prefix, i), ctx,
                                                 *c.agents, *c.sessions));
  }
  {
    const absl::Time t0 = absl::Now();
    for (auto& d : desktops) d->Open();
    int ready = 0;
    while (true) {
      ready = 0;
      for (auto& d : desktops) ready += d->ready() ? 1 : 0;
      if (ready == options.agents || absl::Now() - t0 > kDesktopsReadyTimeout) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (ready < options.agents) {
      for (auto& d : desktops) {
        if (!d->ready()) {
          Log(absl::StrCat("desktop ", d->agent_id(), " not ready: ",
                           d->last_stream_error().empty() ? "no snapshot or presence answer yet"
                                                          : d->last_stream_error()));
          break;
        }
      }
    }
    Log(absl::StrFormat("%d/%d desktops AVAILABLE in %.2f s", ready, options.agents,
                        SecondsSince(t0)));
    if (ready == 0) {
      for (auto& d : desktops) d->Close();
      for (auto& d : desktops) d->AwaitClosed(kCloseTimeout);
      return 1;
    }
  }

  std::vector<std::unique_ptr<Gateway>> gateways;
  for (int g = 0; g < options.gateways; ++g) {
    Connection& c = connections[g % connections.size()];
    gateways.push_back(std::make_unique<Gateway>(g, ctx, *c.sessions));
  }

  // The run: warmup, measurement, drain.
  LoadStats& stats = ctx.stats();
  const absl::Time load_start = absl::Now();
  const absl::Time measure_start_due = load_start + options.warmup;
  const absl::Time measure_end_due = measure_start_due + options.duration;
  ctx.set_phase(Phase::kWarmup);
  LoadStats::Snapshot window_start;
  absl::Time measure_start = load_start;
  if (options.warmup <= absl::ZeroDuration()) {
    stats.ResetMax();
    window_start = stats.Take();
    ctx.set_phase(Phase::kMeasure);
  }
  for (auto& g : gateways) g->Start();

  LoadStats::Snapshot last = stats.Take();
  absl::Time last_time = load_start;
  absl::Time next_progress = load_start + absl::Seconds(1);
  auto progress = [&](absl::Time now) {
    LoadStats::Snapshot current = stats.Take();
    if (!options.quiet) {
      std::fprintf(stderr, "%s\n",
                   FormatProgress(PhaseName(ctx.phase()), absl::ToDoubleSeconds(now - load_start),
                                  current.Minus(last), absl::ToDoubleSeconds(now - last_time),
                                  ctx.limiter().open(), ctx.calls_in_flight())
                       .c_str());
      std::fflush(stderr);
    }
    last = std::move(current);
    last_time = now;
  };

  LoadStats::Snapshot window_end;
  absl::Time measure_end;
  while (true) {
    absl::SleepFor(kTick);
    const absl::Time now = absl::Now();
    for (auto& g : gateways) g->RetryFailed();
    if (ctx.phase() == Phase::kWarmup && now >= measure_start_due) {
      stats.ResetMax();
      window_start = stats.Take();
      measure_start = absl::Now();
      ctx.set_phase(Phase::kMeasure);
    }
    if (ctx.phase() == Phase::kMeasure && now >= measure_end_due) {
      window_end = stats.Take();
      measure_end = absl::Now();
      ctx.set_phase(Phase::kDrain);
      progress(now);
      break;
    }
    if (now >= next_progress) {
      progress(now);
      next_progress += absl::Seconds(1);
      // A stream the daemon ended (e.g. the desktop fell behind) is reopened, once a second
      // at most.
      int reopened = 0;
      std::string example;
      for (auto& d : desktops) {
        if (!d->stream_open() && d->Open()) {
          if (reopened++ == 0) example = absl::StrCat(d->agent_id(), ": ", d->last_stream_error());
        }
      }
      if (reopened > 0) {
        Log(absl::StrCat("reopened ", reopened, " offer streams that ended (", example, ")"));
      }
    }
  }

  // Drain: parked gateway loops stop, calls in flight are answered (or time out).
  ctx.limiter().ResumeAll();
  const absl::Time drain_start = absl::Now();
  while (ctx.calls_in_flight() > 0 &&
         absl::Now() - drain_start < options.rpc_timeout + absl::Seconds(2)) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  int agents_ready = 0;
  for (auto& d : desktops) agents_ready += d->ready() ? 1 : 0;
  for (auto& d : desktops) d->Close();
  bool streams_closed = true;
  for (auto& d : desktops) streams_closed = d->AwaitClosed(kCloseTimeout) && streams_closed;
  Log(absl::StrFormat("drained in %.2f s", SecondsSince(drain_start)));

  RunReport report;
  report.options = options;
  report.run_tag = ctx.run_tag();
  report.measured_seconds = absl::ToDoubleSeconds(measure_end - measure_start);
  report.window = window_end.Minus(window_start);
  report.total = stats.Take();
  report.open_sessions = ctx.limiter().open();
  report.calls_in_flight = ctx.calls_in_flight();
  report.agents_ready = agents_ready;
  for (auto& d : desktops) report.lost_streams += d->lost_streams();
  if (options.json) {
    std::fputs(FormatText(report).c_str(), stderr);
    std::fputs(FormatJson(report).c_str(), stdout);
  } else {
    std::fputs(FormatText(report).c_str(), stdout);
  }
  std::fflush(stdout);
  std::fflush(stderr);

  if (ctx.calls_in_flight() > 0 || !streams_closed) {
    // Something the gRPC threads still use would be destroyed: leave without destructors.
    Log("calls or streams still open at exit; exiting without cleanup");
    std::_Exit(0);
  }
  return 0;
}

}  // namespace
}  // namespace omniroute::bench

int main(int argc, char** argv) { return omniroute::bench::Run(argc, argv); }
