#include "bench/load_options.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

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
  }
  if (o.no_setup && o.setup_only) {
    return absl::InvalidArgumentError("--no_setup and --setup_only exclude each other");
  }
  if (static_cast<int64_t>(o.agents) * o.slots > 100000000) {
    return Bad("slots", "agents x slots is too large");
  }
  return o;
}

std::string LoadUsageText() {
  return R"(Usage: omniroute-bench [flags]

Drives a running omnirouted over gRPC like channel gateways and agent desktops at once, in a
closed loop, and reports throughput and latency. Sessions go through their whole lifecycle:
CreateSession -> offer on the desktop's StreamOffers -> AcceptOffer -> CompleteSession ->
EndWrapUp (when the queue has wrap-up).

Flags (--flag=value or --flag value; durations like 10s, 500ms, a bare number is seconds):
  --target=HOST:PORT   The daemon (default 127.0.0.1:7400).
  --duration=10s       How long the figures are measured.
  --warmup=2s          Load applied before the measurement starts.
  --gateways=4         Concurrent CreateSession callers.
  --inflight=8         CreateSession calls each gateway keeps outstanding.
  --max_open=N         Most sessions created and not yet completed; gateways wait at the
                       limit. Default 2 x agents x slots; 0: no limit.
  --agents=50          Simulated agent desktops (agents <agent_prefix>0..N-1).
  --slots=4            Sessions one agent holds at once.
  --queue=bench        The queue sessions are created in.
  --channel=webchat    The channel of every session.
  --agent_prefix=bench-agent-
  --wrap_up=30s        The queue's wrap-up duration set by the setup (0s: none). Desktops
                       end wrap-up at once with EndWrapUp.
  --connections=2      gRPC connections to the daemon, shared by gateways and desktops.
  --rpc_timeout=10s    Deadline of every unary call.
  --no_setup           Do not create the queue and agents (they exist already).
  --setup_only         Create the queue and agents, then exit.
  --json               Print the summary as JSON on stdout (text summary on stderr).
  --quiet              No progress line every second on stderr.
  --help, -h           Print this help.

The setup (AdminService) upserts the queue (direct delivery, offer timeout 60s) and the
agents: each serves the queue on the channel with `slots` sessions at once (cost 1, budget
`slots`). Each desktop opens StreamOffers, then sets its agent AVAILABLE.

Example:
  omniroute-bench --target=127.0.0.1:7400 --duration=10s --gateways=4 --agents=50 --json
)";
}

}  // namespace omniroute::bench
