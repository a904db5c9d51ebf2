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

#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/sim/random.h"

namespace omniroute::bench {

struct LoadOptions {
  // The daemon, host:port.
  std::string target = "127.0.0.1:7400";
  // How long the figures are measured, after `warmup`.
  absl::Duration duration = absl::Seconds(10);
  // Load applied before the measurement starts (connections warm, queues filled).
  absl::Duration warmup = absl::Seconds(2);

  // Channel gateways: in the closed loop (no `rate`) each keeps `inflight` CreateSession
  // calls outstanding; in the open loop they share the sends of the schedule.
  int gateways = 4;
  int inflight = 8;
  // Open loop: sessions created per second on schedule, whatever the answers (0: closed
  // loop, unless a profile gives the rate; see LoadPlan).
  double rate = 0;
  // Open-loop schedule: "poisson" (exponential gaps, seeded) or "uniform" (evenly spaced).
  std::string arrivals = "poisson";
  // Seed of the open-loop schedule and its stream and customer mix.
  uint64_t seed = 1;
  // Most sessions created and not yet completed, over all gateways; at the limit gateways
  // wait for desktops to complete sessions. Keeps the daemon's queue (and the run) bounded
  // when agents are the bottleneck. -1 (the default): 2 x agents x slots; 0: no limit.
  int max_open = -1;

  // Agent desktops: each streams its offers, accepts each after `accept_delay` (or rejects it
  // with `reject_probability`), completes the session after `handle_time` and ends its
  // wrap-up after `wrap_up_time`. All 0 by default: everything at once.
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

  sim::Distribution accept_delay;
  double reject_probability = 0;
  sim::Distribution handle_time;
  sim::Distribution wrap_up_time;

  // A scenario (omniroute.sim.v1.Scenario, text format) whose channels, queues, engineer
  // groups, behaviours and arrival streams replace the single queue above.
  std::string profile;
  // "echo": after the daemon run, the same load against an in-process gRPC echo server, and
  // the daemon's throughput as a ratio to it. "" : none.
  std::string baseline;

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

  // The flags given on the command line (names without "--"), to tell a default from a
  // choice (e.g. --inflight with a profile means closed loop).
  std::set<std::string, std::less<>> given;
  bool Given(absl::string_view flag) const { return given.count(flag) > 0; }

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
