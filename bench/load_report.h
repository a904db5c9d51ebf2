// The load generator's output: the summary of a run as text or JSON, and the one-line
// progress report printed every second.
//
//   RunReport report{.options = options, .window = end.Minus(start), .total = end, ...};
//   std::cout << FormatJson(report);
//
// JSON layout (rates per second over the measurement; latencies in microseconds):
//   {"target", "run_tag", "config": {..., "mode": "open" | "closed", "rate", "arrivals",
//                                    "seed", "profile", "streams", "desktops", ...},
//    "measured_s",
//    "throughput": {"created_per_s", "offered_per_s", "routed_per_s", "completed_per_s",
//                   "rpcs_per_s", "stream_messages_per_s", "scheduled_per_s"},
//    "counts": {"created", "offered", "routed", "completed", "rpcs", "errors",
//               "scheduled", "late", "skipped", ...},
//    "totals": {... the same over the whole run: setup, warmup, measurement, drain ...},
//    "latency_us": {"create_session" | "create_to_offer" | "create_to_assigned" |
//                   "accept_offer" | "reject_offer" | "complete_session" | "end_wrap_up" |
//                   "set_presence" | "send_lag":
//                   {"count", "mean", "p50", "p90", "p99", "p999", "max"}},
//    "calls": {"<Rpc>": {"<CODE>": n}}, "errors": {"<Rpc>": {"<CODE>": n}},
//    "errors_total": {...}, "end": {"open_sessions", "lost_streams", "calls_in_flight",
//                                   "agents_ready", "mean_calls_in_flight"},
//    "bench_cpu": {"cores", "us_per_routed_session"}   (the bench process, measurement only)
//    "baseline": {"kind": "echo", "target", "gateways", "inflight", "request_bytes",
//                 "response_bytes", "measured_s", "rpcs_per_s", "errors", "cpu_cores",
//                 "latency_us": {"echo": {...}}, "daemon_rpcs_per_s", "daemon_created_per_s",
//                 "ratio", "ratio_created"}}   (only with --baseline=echo)
//
// "ratio" is the daemon's unary RPCs per second over the echo server's, both closed loops
// through the same connections with (at least) as many calls outstanding: the share of the
// transport's limit the daemon reaches. "ratio_created" is sessions created per second over
// echo calls per second (a session takes 4 unary calls and a stream message, so it is
// about a quarter of "ratio" at best).

#ifndef OMNIROUTE_BENCH_LOAD_REPORT_H_
#define OMNIROUTE_BENCH_LOAD_REPORT_H_

#include <cstdint>
#include <string>

#include "bench/load_options.h"
#include "bench/load_stats.h"

namespace omniroute::bench {

struct RunReport {
  LoadOptions options;
  std::string run_tag;
  // Length of the measurement window and what happened in it.
  double measured_seconds = 0;
  LoadStats::Snapshot window;
  // Everything since the start of the run (setup and drain included).
  LoadStats::Snapshot total;
  // State at the end of the run.
  int64_t open_sessions = 0;
  int64_t lost_streams = 0;
  int64_t calls_in_flight = 0;
  int agents_ready = 0;
  // The plan: loop and its rate, the profile's name ("default" without one), its size.
  bool open_loop = false;
  double rate_per_second = 0;
  std::string plan_name = "default";
  int streams = 1;
  int desktops = 0;
  int64_t max_open = 0;
  // Unary calls outstanding, averaged over the measurement (sampled every 100 ms).
  double mean_calls_in_flight = 0;
  // CPU seconds (user + system) the bench process used during the measurement.
  double cpu_seconds = 0;

  // --baseline=echo: the echo run, measured like the daemon run.
  struct Baseline {
    bool present = false;
    std::string target;
    int gateways = 0;
    int inflight = 0;
    int request_bytes = 0;
    int response_bytes = 0;
    double measured_seconds = 0;
    LoadStats::Snapshot window;
    // The bench process's CPU (client and echo server) during the measurement.
    double cpu_seconds = 0;
  } baseline;
};

std::string FormatText(const RunReport& report);
std::string FormatJson(const RunReport& report);

// One line: the phase, the time since the load started, the rates over `delta` (a snapshot
// difference covering `seconds`), a few latencies and the errors.
// In the open loop the sends scheduled, late and skipped are shown too.
std::string FormatProgress(const std::string& phase, double elapsed_seconds,
                           const LoadStats::Snapshot& delta, double seconds,
                           int64_t open_sessions, int64_t calls_in_flight);

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_LOAD_REPORT_H_
