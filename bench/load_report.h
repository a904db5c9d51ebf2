// The load generator's output: the summary of a run as text or JSON, and the one-line
// progress report printed every second.
//
//   RunReport report{.options = options, .window = end.Minus(start), .total = end, ...};
//   std::cout << FormatJson(report);
//
// JSON layout (rates per second over the measurement; latencies in microseconds):
//   {"target", "run_tag", "config": {...}, "measured_s",
//    "throughput": {"created_per_s", "offered_per_s", "routed_per_s", "completed_per_s",
//                   "rpcs_per_s", "stream_messages_per_s"},
//    "counts": {"created", "offered", "routed", "completed", "rpcs", "errors", ...},
//    "totals": {... the same over the whole run: setup, warmup, measurement, drain ...},
//    "latency_us": {"create_session" | "create_to_offer" | "accept_offer" |
//                   "complete_session" | "end_wrap_up":
//                   {"count", "mean", "p50", "p90", "p99", "p999", "max"}},
//    "calls": {"<Rpc>": {"<CODE>": n}}, "errors": {"<Rpc>": {"<CODE>": n}},
//    "errors_total": {...}, "end": {"open_sessions", "lost_streams", "calls_in_flight",
//                                   "agents_ready"}}

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
};

std::string FormatText(const RunReport& report);
std::string FormatJson(const RunReport& report);

// One line: the phase, the time since the load started, the rates over `delta` (a snapshot
// difference covering `seconds`), a few latencies and the errors.
std::string FormatProgress(const char* phase, double elapsed_seconds,
                           const LoadStats::Snapshot& delta, double seconds,
                           int64_t open_sessions, int64_t calls_in_flight);

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_LOAD_REPORT_H_
