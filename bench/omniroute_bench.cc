// omniroute-bench: the load generator. Drives a running `omnirouted` over gRPC like many
// channel gateways and agent desktops at once, in a closed loop (a concurrency) or an open
// loop (a rate), and reports throughput and latency of the whole session lifecycle.
//
//   omniroute-bench --target=127.0.0.1:7400 --duration=10s --gateways=4 --agents=50 --json
//   omniroute-bench --target=127.0.0.1:7400 --rate=2000 --handle_time=exp:2s
//   omniroute-bench --target=127.0.0.1:7400 --profile=bench/profiles/after_sales.textproto
//   omniroute-bench --target=127.0.0.1:7400 --baseline=echo --json
//
// A run: connect; set up the centre (AdminService: the queue and agents of the flags, or the
// channels, queues and engineers of --profile) unless --no_setup; open one StreamOffers per
// agent desktop and set the agents AVAILABLE; start the gateways (closed loop: each keeps
// --inflight CreateSession calls outstanding; open loop: a pacer thread sends on the
// schedule); after --warmup measure for --duration; then drain (no new sessions or offers
// answered, the desktops' pending handle and wrap-up times cut short, calls in flight
// answered), close the streams. With --baseline=echo the same load machinery then runs
// against an in-process echo server (bench/echo_server.h) for as long, and the daemon's
// throughput is reported as a ratio to it. Then the summary (text, or JSON with --json). A
// progress line goes to stderr every second. See bench/load_options.h for the flags,
// bench/load_plan.h for profiles and loops, bench/load_report.h for the output.
//
// Threads: the main thread paces the run; every call runs on the gRPC callback API's
// threads; the desktops' delays run on one timer thread and the open loop's sends on one
// pacer thread, so the process uses a handful of threads whatever the load.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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
#include "bench/echo_server.h"
#include "bench/gateway.h"
#include "bench/load_context.h"
#include "bench/load_options.h"
#include "bench/load_plan.h"
#include "bench/load_report.h"
#include "bench/load_stats.h"
#include "bench/pacer.h"
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
namespace echo = ::omniroute::bench::echo;

// How often the main thread restarts failed gateway loops and reopens lost streams.
constexpr absl::Duration kTick = absl::Milliseconds(100);
// How long the desktops have to get their snapshot and go AVAILABLE.
constexpr absl::Duration kDesktopsReadyTimeout = absl::Seconds(30);
// How long closing the streams may take.
constexpr absl::Duration kCloseTimeout = absl::Seconds(10);

// One HTTP/2 connection to the daemon (or the echo server) and the stubs on it.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AdminService::Stub> admin;
  std::unique_ptr<v1::SessionService::Stub> sessions;
  std::unique_ptr<v1::AgentService::Stub> agents;
  std::unique_ptr<echo::EchoService::Stub> echo;
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
  c.echo = echo::EchoService::NewStub(c.channel);
  return c;
}

bool ConnectAll(const std::string& target, int n, std::vector<Connection>* out) {
  for (int i = 0; i < n; ++i) out->push_back(Connect(target, i));
  for (Connection& c : *out) {
    if (!c.channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      return false;
    }
  }
  return true;
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

// CPU time (user + system) this process has used, in seconds.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// What one load phase (against the daemon or the echo server) measured.
struct LoadOutcome {
  // False: nothing was measured (e.g. no desktop became ready).
  bool ran = false;
  // False: calls or streams were still open at the end; the objects they use were leaked
  // on purpose and the process must exit without destructors.
  bool clean = true;
  std::string run_tag;
  double measured_seconds = 0;
  LoadStats::Snapshot window;
  LoadStats::Snapshot total;
  int64_t open_sessions = 0;
  int64_t calls_in_flight = 0;
  int agents_ready = 0;
  int lost_streams = 0;
  double mean_calls_in_flight = 0;
  // CPU seconds the bench process used during the measurement.
  double cpu_seconds = 0;
  // Mean serialized CreateSession sizes (the echo baseline's message sizes).
  int request_bytes = 0;
  int response_bytes = 0;
};

// One load phase: desktops (daemon only), gateways, warmup, measurement, drain. `echo`
// selects the echo server (gateways make Echo calls of `echo_sizes`, no desktops).
LoadOutcome RunLoad(const LoadOptions& options, const LoadPlan& plan,
                    std::vector<Connection>& connections, bool echo, EchoSizes echo_sizes) {
  LoadOutcome outcome;
  // Heap objects, leaked when calls are still open at the end (see `clean`).
  auto ctx = std::make_unique<LoadContext>(options, plan, NewRunTag());
  const std::string label = echo ? "echo " : "";

  // Desktops first, so every session created finds them streaming.
  auto desktops = std::make_unique<std::vector<std::unique_ptr<Desktop>>>();
  if (!echo) {
    for (size_t i = 0; i < plan.desktops.size(); ++i) {
      Connection& c = connections[i % connections.size()];
      desktops->push_back(
          std::make_unique<Desktop>(plan.desktops[i], *ctx, *c.agents, *c.sessions));
    }
    const absl::Time t0 = absl::Now();
    for (auto& d : *desktops) d->Open();
    const int want = static_cast<int>(desktops->size());
    int ready = 0;
    while (true) {
      ready = 0;
      for (auto& d : *desktops) ready += d->ready() ? 1 : 0;
      if (ready == want || absl::Now() - t0 > kDesktopsReadyTimeout) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (ready < want) {
      for (auto& d : *desktops) {
        if (!d->ready()) {
          Log(absl::StrCat("desktop ", d->agent_id(), " not ready: ",
                           d->last_stream_error().empty() ? "no snapshot or presence answer yet"
                                                          : d->last_stream_error()));
          break;
        }
      }
    }
    Log(absl::StrFormat("%d/%d desktops AVAILABLE in %.2f s", ready, want, SecondsSince(t0)));
    if (ready == 0) {
      for (auto& d : *desktops) d->Close();
      for (auto& d : *desktops) d->AwaitClosed(kCloseTimeout);
      ctx->timers().Stop();
      return outcome;
    }
  }

  auto gateways = std::make_unique<std::vector<std::unique_ptr<Gateway>>>();
  std::vector<Gateway*> gateway_ptrs;
  for (int g = 0; g < options.gateways; ++g) {
    Connection& c = connections[g % connections.size()];
    gateways->push_back(echo ? std::make_unique<Gateway>(g, *ctx, nullptr, c.echo.get(),
                                                         echo_sizes)
                             : std::make_unique<Gateway>(g, *ctx, c.sessions.get(), nullptr));
    gateway_ptrs.push_back(gateways->back().get());
  }
  auto pacer = std::make_unique<Pacer>(*ctx, gateway_ptrs);

  // The run: warmup, measurement, drain.
  LoadStats& stats = ctx->stats();
  const absl::Time load_start = absl::Now();
  const absl::Time measure_start_due = load_start + options.warmup;
  const absl::Time measure_end_due = measure_start_due + options.duration;
  ctx->set_phase(Phase::kWarmup);
  LoadStats::Snapshot window_start;
  absl::Time measure_start = load_start;
  double cpu_start = ProcessCpuSeconds();
  if (options.warmup <= absl::ZeroDuration()) {
    stats.ResetMax();
    window_start = stats.Take();
    ctx->set_phase(Phase::kMeasure);
  }
  if (plan.open_loop()) {
    pacer->Start();
  } else {
    for (auto& g : *gateways) g->Start();
  }

  LoadStats::Snapshot last = stats.Take();
  absl::Time last_time = load_start;
  absl::Time next_progress = load_start + absl::Seconds(1);
  auto progress = [&](absl::Time now) {
    LoadStats::Snapshot current = stats.Take();
    if (!options.quiet) {
      std::fprintf(stderr, "%s\n",
                   FormatProgress(absl::StrCat(label, PhaseName(ctx->phase())),
                                  absl::ToDoubleSeconds(now - load_start), current.Minus(last),
                                  absl::ToDoubleSeconds(now - last_time), ctx->limiter().open(),
                                  ctx->calls_in_flight())
                       .c_str());
      std::fflush(stderr);
    }
    last = std::move(current);
    last_time = now;
  };

  LoadStats::Snapshot window_end;
  absl::Time measure_end;
  double in_flight_sum = 0;
  int in_flight_samples = 0;
  while (true) {
    absl::SleepFor(kTick);
    const absl::Time now = absl::Now();
    if (!plan.open_loop()) {
      for (auto& g : *gateways) g->RetryFailed();
    }
    if (ctx->phase() == Phase::kWarmup && now >= measure_start_due) {
      stats.ResetMax();
      window_start = stats.Take();
      measure_start = absl::Now();
      cpu_start = ProcessCpuSeconds();
      ctx->set_phase(Phase::kMeasure);
    } else if (ctx->phase() == Phase::kMeasure) {
      in_flight_sum += static_cast<double>(ctx->calls_in_flight());
      ++in_flight_samples;
    }
    if (ctx->phase() == Phase::kMeasure && now >= measure_end_due) {
      window_end = stats.Take();
      measure_end = absl::Now();
      outcome.cpu_seconds = ProcessCpuSeconds() - cpu_start;
      ctx->set_phase(Phase::kDrain);
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
      for (auto& d : *desktops) {
        if (!d->stream_open() && d->Open()) {
          if (reopened++ == 0) example = absl::StrCat(d->agent_id(), ": ", d->last_stream_error());
        }
      }
      if (reopened > 0) {
        Log(absl::StrCat("reopened ", reopened, " offer streams that ended (", example, ")"));
      }
    }
  }

  // Drain: the pacer stops, parked gateway loops stop, the desktops' timers run at once
  // (pending accepts are dropped, handle and wrap-up times cut short), calls in flight are
  // answered (or time out). Quiet twice in a row: a call's answer may schedule a timer
  // between the two reads.
  pacer->Join();
  ctx->limiter().ResumeAll();
  ctx->timers().Hurry();
  const absl::Time drain_start = absl::Now();
  int quiet_polls = 0;
  while (quiet_polls < 2 &&
         absl::Now() - drain_start < options.rpc_timeout + absl::Seconds(2)) {
    absl::SleepFor(absl::Milliseconds(10));
    const bool quiet = ctx->timers().pending() == 0 && ctx->calls_in_flight() == 0;
    quiet_polls = quiet ? quiet_polls + 1 : 0;
  }
  for (auto& d : *desktops) outcome.agents_ready += d->ready() ? 1 : 0;
  for (auto& d : *desktops) d->Close();
  bool streams_closed = true;
  for (auto& d : *desktops) streams_closed = d->AwaitClosed(kCloseTimeout) && streams_closed;
  ctx->timers().Stop();
  Log(absl::StrFormat("%sdrained in %.2f s", label, SecondsSince(drain_start)));

  outcome.ran = true;
  outcome.run_tag = ctx->run_tag();
  outcome.measured_seconds = absl::ToDoubleSeconds(measure_end - measure_start);
  outcome.window = window_end.Minus(window_start);
  outcome.total = stats.Take();
  outcome.open_sessions = ctx->limiter().open();
  outcome.calls_in_flight = ctx->calls_in_flight();
  outcome.mean_calls_in_flight = in_flight_samples > 0 ? in_flight_sum / in_flight_samples : 0;
  outcome.request_bytes = ctx->MeanCreateRequestBytes();
  outcome.response_bytes = ctx->MeanCreateResponseBytes();
  for (auto& d : *desktops) outcome.lost_streams += d->lost_streams();
  if (ctx->calls_in_flight() > 0 || !streams_closed) {
    // Something the gRPC threads still use would be destroyed: leak it.
    outcome.clean = false;
    (void)ctx.release();
    (void)desktops.release();
    (void)gateways.release();
    (void)pacer.release();
  }
  return outcome;
}

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
  absl::StatusOr<LoadPlan> planned = MakeLoadPlan(options);
  if (!planned.ok()) {
    Log(std::string(planned.status().message()));
    return 2;
  }
  const LoadPlan& plan = *planned;

  std::vector<Connection> connections;
  if (!ConnectAll(options.target, options.connections, &connections)) {
    Log(absl::StrCat("cannot connect to ", options.target));
    return 1;
  }

  if (!options.no_setup) {
    const absl::Time t0 = absl::Now();
    if (plan.from_profile) {
      if (absl::Status s = SetUpProfile(options, plan, *connections[0].admin); !s.ok()) {
        Log(absl::StrCat("setup failed: ", s.message()));
        return 1;
      }
      Log(absl::StrFormat("set up profile %s: %d channels, %d queues, %d engineers in %.2f s",
                          plan.name, plan.channels.size(), plan.queues.size(),
                          plan.agents.size(), SecondsSince(t0)));
    } else {
      if (absl::Status s = SetUpCentre(options, *connections[0].admin); !s.ok()) {
        Log(absl::StrCat("setup failed: ", s.message()));
        return 1;
      }
      Log(absl::StrFormat("set up queue %s and %d agents (%s x %d slots) in %.2f s",
                          options.queue, options.agents, options.channel, options.slots,
                          SecondsSince(t0)));
    }
    if (options.setup_only) return 0;
  }
  if (plan.open_loop()) {
    Log(absl::StrFormat("open loop at %.1f sessions/s (%s, seed %d) over %d streams",
                        plan.rate_per_second, options.arrivals, plan.seed, plan.streams.size()));
  }

  LoadOutcome daemon = RunLoad(options, plan, connections, /*echo=*/false, EchoSizes{});
  if (!daemon.ran) return 1;

  RunReport report;
  report.options = options;
  report.run_tag = daemon.run_tag;
  report.measured_seconds = daemon.measured_seconds;
  report.window = daemon.window;
  report.total = daemon.total;
  report.open_sessions = daemon.open_sessions;
  report.calls_in_flight = daemon.calls_in_flight;
  report.agents_ready = daemon.agents_ready;
  report.lost_streams = daemon.lost_streams;
  report.open_loop = plan.open_loop();
  report.rate_per_second = plan.rate_per_second;
  report.plan_name = plan.name;
  report.streams = static_cast<int>(plan.streams.size());
  report.desktops = static_cast<int>(plan.desktops.size());
  report.max_open = plan.max_open;
  report.mean_calls_in_flight = daemon.mean_calls_in_flight;
  report.cpu_seconds = daemon.cpu_seconds;

  bool clean = daemon.clean;
  // Declared here: a run that ends unclean leaks objects that use them until the exit.
  std::unique_ptr<EchoServer> echo_server;
  std::vector<Connection> echo_connections;
  LoadOptions echo_options = options;
  LoadPlan echo_plan;
  if (options.baseline == "echo") {
    absl::StatusOr<std::unique_ptr<EchoServer>> started = EchoServer::Start();
    if (!started.ok()) {
      Log(std::string(started.status().message()));
      return 1;
    }
    echo_server = std::move(*started);
    if (!ConnectAll(echo_server->address(), options.connections, &echo_connections)) {
      Log(absl::StrCat("cannot connect to the echo server at ", echo_server->address()));
      return 1;
    }
    // The same gateways and connections, with at least as many calls outstanding as the
    // daemon run had on average (its desktops' calls add to the gateways').
    echo_options.max_open = 0;  // holds no sessions: only the concurrency bounds it
    echo_options.inflight = std::max(
        options.inflight,
        static_cast<int>(std::ceil(daemon.mean_calls_in_flight / options.gateways)));
    const EchoSizes sizes{PayloadForSerializedBytes(daemon.request_bytes),
                          PayloadForSerializedBytes(daemon.response_bytes)};
    echo_plan = MakeDefaultPlan(echo_options);  // closed loop
    LoadOutcome echo = RunLoad(echo_options, echo_plan, echo_connections, /*echo=*/true, sizes);
    clean = clean && echo.clean;
    report.baseline.present = echo.ran;
    report.baseline.target = echo_server->address();
    report.baseline.gateways = echo_options.gateways;
    report.baseline.inflight = echo_options.inflight;
    report.baseline.request_bytes = daemon.request_bytes;
    report.baseline.response_bytes = daemon.response_bytes;
    report.baseline.measured_seconds = echo.measured_seconds;
    report.baseline.window = echo.window;
    report.baseline.cpu_seconds = echo.cpu_seconds;
  }

  if (options.json) {
    std::fputs(FormatText(report).c_str(), stderr);
    std::fputs(FormatJson(report).c_str(), stdout);
  } else {
    std::fputs(FormatText(report).c_str(), stdout);
  }
  std::fflush(stdout);
  std::fflush(stderr);

  if (!clean) {
    // Something the gRPC threads still use was leaked: leave without destructors.
    Log("calls or streams still open at exit; exiting without cleanup");
    std::_Exit(0);
  }
  if (echo_server != nullptr) echo_server->Shutdown();
  return 0;
}

}  // namespace
}  // namespace omniroute::bench

int main(int argc, char** argv) { return omniroute::bench::Run(argc, argv); }
