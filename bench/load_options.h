// The command line of `omniroute-bench`, the load generator that drives a running
// `omnirouted` over gRPC like many channel gateways and agent desktops at once.
//
//   absl::StatusOr<bench::LoadOptions> options = bench::ParseLoadOptions(argc, argv);
//   if (!options.ok()) { std::cerr << options.status().message() << bench::LoadUsageText(); }
//
// Flags are `--name=value` (or `--name value`); durations take an absl unit ("10s", "500ms",
// "1m"), a bare number is seconds. Every field below is one flag of the same name.

#ifndef OMNIROUTE_BENCH_LOAD_OPTIONS_H_
#define OMNIROUTE_BENCH_LOAD_OPTIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace omniroute::bench {

struct LoadOptions {
  // The daemon, host:port.
  std::string target = "127.0.0.1:7400";
  // How long the figures are measured, after `warmup`.
  absl::Duration duration = absl::Seconds(10);
  // Load applied before the measurement starts (connections warm, queues filled).
  absl::Duration warmup = absl::Seconds(2);

  // Channel gateways: each keeps `inflight` CreateSession calls outstanding (closed loop).
  int gateways = 4;
  int inflight = 8;
  // Most sessions created and not yet completed, over all gateways; at the limit gateways
  // wait for desktops to complete sessions. Keeps the daemon's queue (and the run) bounded
  // when agents are the bottleneck. -1 (the default): 2 x agents x slots; 0: no limit.
  int max_open = -1;

  // Agent desktops: each streams its offers, accepts each at once, completes the session at
  // once and ends its wrap-up at once.
  int agents = 50;
  // Sessions one agent holds at once (its capacity on `channel`).
  int slots = 4;

  // What the setup creates (and what the load uses): the queue, the channel of every
  // session, the agents' ids (`agent_prefix` + 0..agents-1).
  std::string queue = "bench";
  std::string channel = "webchat";
  std::string agent_prefix = "bench-agent-";
  // The queue's wrap-up duration set by the setup; 0s: CompleteSession completes at once.
  // Desktops call EndWrapUp whenever CompleteSession leaves the session in WRAP_UP.
  absl::Duration wrap_up = absl::Seconds(30);

  // gRPC connections (HTTP/2 connections to the daemon), shared round-robin by gateways and
  // desktops.
  int connections = 2;
  // Deadline of every unary call.
  absl::Duration rpc_timeout = absl::Seconds(10);

  // Skip the setup (the queue and agents exist already).
  bool no_setup = false;
  // Do the setup and exit (e.g. to measure what the setup costs the daemon apart).
  bool setup_only = false;
  // Print the summary as JSON on stdout (the text summary then goes to stderr).
  bool json = false;
  // No progress line every second on stderr.
  bool quiet = false;
  bool help = false;

  // `max_open` with the default resolved.
  int EffectiveMaxOpen() const { return max_open >= 0 ? max_open : 2 * agents * slots; }
};

// Parses the command line. INVALID_ARGUMENT naming the flag for an unknown flag, a missing or
// malformed value, or a value out of range.
absl::StatusOr<LoadOptions> ParseLoadOptions(int argc, const char* const* argv);

// For --help.
std::string LoadUsageText();

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_LOAD_OPTIONS_H_
