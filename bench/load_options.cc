#include "bench/load_options.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "bench/distribution.h"

namespace omniroute::bench {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

absl::Status ParseInt(absl::string_view flag, absl::string_view text, int min, int max,
                      int* out) {
  int v = 0;
  if (!absl::SimpleAtoi(text, &v)) return Bad(flag, absl::StrCat("\"", text, "\" is not a number"));
  if (v < min || v > max) {
    return Bad(flag, absl::StrCat(v, " is outside ", min, "..", max));
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseDurationFlag(absl::string_view flag, absl::string_view text,
                               absl::Duration min, absl::Duration* out) {
  absl::Duration d;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d)) {
    return Bad(flag, absl::StrCat("\"", text, "\" is not a duration (e.g. 10s, 500ms)"));
  }
  if (d < min) return Bad(flag, absl::StrCat(absl::FormatDuration(d), " is below ",
                                             absl::FormatDuration(min)));
  *out = d;
  return absl::OkStatus();
}

absl::Status ParseDouble(absl::string_view flag, absl::string_view text, double min, double max,
                         double* out) {
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
    return Bad(flag, absl::StrCat("\"", text, "\" is not a number"));
  }
  if (v < min || v > max) return Bad(flag, absl::StrCat(v, " is outside ", min, "..", max));
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseDist(absl::string_view flag, absl::string_view text, sim::Distribution* out) {
  absl::StatusOr<sim::Distribution> d = ParseDistribution(flag, text);
  if (!d.ok()) return d.status();
  *out = *d;
  return absl::OkStatus();
}

absl::Status ParseChoice(absl::string_view flag, absl::string_view text,
                         std::initializer_list<absl::string_view> choices, std::string* out) {
  for (absl::string_view c : choices) {
    if (text == c) {
      *out = std::string(text);
      return absl::OkStatus();
    }
  }
  return Bad(flag, absl::StrCat("\"", text, "\" is not one of ", absl::StrJoin(choices, ", ")));
}

absl::Status ParseId(absl::string_view flag, absl::string_view text, std::string* out) {
  if (text.empty()) return Bad(flag, "must not be empty");
  *out = std::string(text);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LoadOptions> ParseLoadOptions(int argc, const char* const* argv) {
  LoadOptions o;
  using Setter = std::function<absl::Status(absl::string_view name, absl::string_view value)>;
  const std::map<std::string, Setter, std::less<>> valued = {
      {"target", [&](auto n, auto v) { return ParseId(n, v, &o.target); }},
      {"duration",
       [&](auto n, auto v) { return ParseDurationFlag(n, v, absl::Milliseconds(100), &o.duration); }},
      {"warmup", [&](auto n, auto v) { return ParseDurationFlag(n, v, absl::ZeroDuration(), &o.warmup); }},
      {"gateways", [&](auto n, auto v) { return ParseInt(n, v, 1, 1000, &o.gateways); }},
      {"inflight", [&](auto n, auto v) { return ParseInt(n, v, 1, 10000, &o.inflight); }},
      {"rate", [&](auto n, auto v) { return ParseDouble(n, v, 0.001, 1e7, &o.rate); }},
      {"arrivals",
       [&](auto n, auto v) { return ParseChoice(n, v, {"poisson", "uniform"}, &o.arrivals); }},
      {"seed",
       [&](auto n, auto v) {
         if (absl::SimpleAtoi(v, &o.seed)) return absl::OkStatus();
         return Bad(n, absl::StrCat("\"", v, "\" is not a number"));
       }},
      {"accept_delay", [&](auto n, auto v) { return ParseDist(n, v, &o.accept_delay); }},
      {"reject_probability",
       [&](auto n, auto v) { return ParseDouble(n, v, 0, 1, &o.reject_probability); }},
      {"handle_time", [&](auto n, auto v) { return ParseDist(n, v, &o.handle_time); }},
      {"wrap_up_time", [&](auto n, auto v) { return ParseDist(n, v, &o.wrap_up_time); }},
      {"profile", [&](auto n, auto v) { return ParseId(n, v, &o.profile); }},
      {"baseline",
       [&](auto n, auto v) { return ParseChoice(n, v, {"echo", "none"}, &o.baseline); }},
      {"max_open", [&](auto n, auto v) { return ParseInt(n, v, -1, 100000000, &o.max_open); }},
      {"agents", [&](auto n, auto v) { return ParseInt(n, v, 1, 100000, &o.agents); }},
      {"slots", [&](auto n, auto v) { return ParseInt(n, v, 1, 1000, &o.slots); }},
      {"queue", [&](auto n, auto v) { return ParseId(n, v, &o.queue); }},
      {"channel", [&](auto n, auto v) { return ParseId(n, v, &o.channel); }},
      {"agent_prefix", [&](auto n, auto v) { return ParseId(n, v, &o.agent_prefix); }},
      {"wrap_up", [&](auto n, auto v) { return ParseDurationFlag(n, v, absl::ZeroDuration(), &o.wrap_up); }},
      {"connections", [&](auto n, auto v) { return ParseInt(n, v, 1, 64, &o.connections); }},
      {"rpc_timeout",
       [&](auto n, auto v) { return ParseDurationFlag(n, v, absl::Milliseconds(1), &o.rpc_timeout); }},
  };
  const std::map<std::string, bool*, std::less<>> switches = {
      {"no_setup", &o.no_setup}, {"setup_only", &o.setup_only}, {"json", &o.json},
      {"quiet", &o.quiet},       {"help", &o.help},
  };
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "-h") {
      o.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\" (flags are --name=value; see --help)"));
    }
    absl::string_view name = arg.substr(2);
    std::optional<absl::string_view> value;
    if (const size_t eq = name.find('='); eq != absl::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (auto it = switches.find(name); it != switches.end()) {
      if (value.has_value() && *value != "true" && *value != "false") {
        return Bad(name, "takes no value (or true/false)");
      }
      *it->second = !value.has_value() || *value == "true";
      o.given.insert(std::string(name));
      continue;
    }
    auto it = valued.find(name);
    if (it == valued.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!value.has_value()) {
      if (i + 1 >= argc || absl::StartsWith(argv[i + 1], "--")) return Bad(name, "needs a value");
      value = argv[++i];
    }
    if (absl::Status s = it->second(name, *value); !s.ok()) return s;
    o.given.insert(std::string(name));
  }
  if (o.baseline == "none") o.baseline.clear();
  if (o.no_setup && o.setup_only) {
    return absl::InvalidArgumentError("--no_setup and --setup_only exclude each other");
  }
  if (static_cast<int64_t>(o.agents) * o.slots > 100000000) {
    return Bad("slots", "agents x slots is too large");
  }
  if (!o.profile.empty()) {
    // The profile defines the centre: these flags would be silently ignored.
    for (const char* flag : {"agents", "slots", "queue", "channel", "agent_prefix", "wrap_up"}) {
      if (o.Given(flag)) return Bad(flag, "the profile defines the centre (--profile)");
    }
  }
  if (!o.baseline.empty() && o.Given("rate")) {
    return Bad("baseline", "compares closed loops at the same concurrency: not with --rate");
  }
  if (o.Given("rate") && o.Given("inflight")) {
    return Bad("inflight", "is the closed loop's concurrency: not with --rate (open loop)");
  }
  return o;
}

std::string LoadUsageText() {
  return R"(Usage: omniroute-bench [flags]

Drives a running omnirouted over gRPC like channel gateways and agent desktops at once, in a
closed loop (a concurrency) or an open loop (a rate), and reports throughput and latency.
Sessions go through their whole lifecycle: CreateSession -> offer on the desktop's
StreamOffers -> AcceptOffer (or RejectOffer) -> CompleteSession -> EndWrapUp.

Flags (--flag=value or --flag value; durations like 10s, 500ms, a bare number is seconds):
  --target=HOST:PORT   The daemon (default 127.0.0.1:7400).
  --duration=10s       How long the figures are measured.
  --warmup=2s          Load applied before the measurement starts.
  --gateways=4         Concurrent CreateSession callers.
  --inflight=8         Closed loop: CreateSession calls each gateway keeps outstanding.
  --rate=N             Open loop: N sessions per second on schedule, whatever the answers;
                       latencies count from the scheduled time; sends the bench could not
                       make on time are counted late, sends due at --max_open are skipped
                       and counted. Without --rate: closed loop (unless --profile).
  --arrivals=poisson   Open-loop schedule: poisson (exponential gaps) or uniform (even).
  --seed=1             Seed of the open-loop schedule and its stream and customer mix.
  --max_open=N         Most sessions created and not yet completed; closed-loop gateways
                       wait at the limit, the open loop skips. Default 2 x agents x slots
                       (with a profile: 2 x the engineers' budgets, at least 1000); 0: none.
  --agents=50          Simulated agent desktops (agents <agent_prefix>0..N-1).
  --slots=4            Sessions one agent holds at once.
  --queue=bench        The queue sessions are created in.
  --channel=webchat    The channel of every session.
  --agent_prefix=bench-agent-
  --wrap_up=30s        The queue's wrap-up duration set by the setup (0s: none).
  Desktop behaviour (distributions: 0, 2s or const:2s, exp:2s, lognormal:3m,1m):
  --accept_delay=0     From an offer reaching the desktop to AcceptOffer / RejectOffer.
  --reject_probability=0  Share of offers rejected (RejectOffer) instead of accepted.
  --handle_time=0      From AcceptOffer answered to CompleteSession.
  --wrap_up_time=0     From CompleteSession (session in WRAP_UP) to EndWrapUp.
  --profile=FILE       A scenario (omniroute.sim.v1.Scenario, text format, as omniroute-sim
                       reads): its channels, queues and engineer groups are set up (engineers
                       <group>-<i>), desktops follow each group's behaviour, sessions follow
                       the arrival streams' mix (queue, channel, requirements, priority,
                       customers, handle time). Open loop at the streams' total rate unless
                       --rate (another total, same mix) or --inflight (closed loop) is given.
                       The behaviour flags above, if given, override the profile's values.
                       Not with --agents, --slots, --queue, --channel, --agent_prefix,
                       --wrap_up. Patience, the robot and shifts are not simulated.
  --baseline=echo      After the daemon run, the same closed loop (gateways, connections,
                       at least as many calls outstanding as the daemon run had, messages
                       of the CreateSession sizes) against an in-process gRPC echo server,
                       and the daemon's RPC throughput as a ratio to it. Closed loop only.
  --connections=2      gRPC connections to the daemon, shared by gateways and desktops.
  --rpc_timeout=10s    Deadline of every unary call.
  --no_setup           Do not set up the centre (it exists already).
  --setup_only         Set up the centre, then exit.
  --json               Print the summary as JSON on stdout (text summary on stderr).
  --quiet              No progress line every second on stderr.
  --help, -h           Print this help.

Without --profile the setup (AdminService) upserts the queue (direct delivery, offer timeout
60s) and the agents: each serves the queue on the channel with `slots` sessions at once
(cost 1, budget `slots`). Each desktop opens StreamOffers, then sets its agent AVAILABLE. At
the end of the run the desktops cut their pending handle and wrap-up times short and leave
pending offers unanswered.

Examples:
  omniroute-bench --target=127.0.0.1:7400 --duration=10s --gateways=4 --agents=50 --json
  omniroute-bench --rate=2000 --accept_delay=exp:200ms --handle_time=exp:2s --wrap_up_time=1s
  omniroute-bench --profile=bench/profiles/after_sales.textproto --rate=500
  omniroute-bench --baseline=echo --json
)";
}

}  // namespace omniroute::bench
