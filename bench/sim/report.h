// The simulator's report: replications combined into means with 95 % confidence intervals,
// rendered as a text table or as JSON.
//
//   SimSummary summary = Summarize(replication_metrics);
//   const QueueSummary* q = FindQueue(summary, "support");
//   double p_wait = q->p_wait.mean, plus_minus = q->p_wait.half_width;
//   std::cout << FormatText(result);  // or FormatJson(result)
//
// Each figure's interval is mean ± t(0.975, n - 1) · s / √n over the n replications in which
// the figure is defined (s: the sample standard deviation; t: Student's quantile, from a
// table). Replications are independent (separate random streams), so this is the textbook
// interval for the figure's expected value under the scenario. With n = 1 there is no
// interval (half_width NaN, printed "n/a" / null).

#ifndef OMNIROUTE_BENCH_SIM_REPORT_H_
#define OMNIROUTE_BENCH_SIM_REPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/sim/metrics.h"
#include "bench/sim/simulator.h"

namespace omniroute::sim {

// A figure over replications.
struct Estimate {
  double mean = 0;        // NaN when no replication defines the figure
  double half_width = 0;  // of the 95 % interval; NaN when n < 2
  int n = 0;              // replications in which the figure is defined (not NaN)
};

// Student's t quantile t(0.975, dof) (dof >= 1): exact table to 30, then interpolated in
// 1/dof towards the normal 1.959964.
double StudentT975(int dof);
// Mean and 95 % half-width of the defined (non-NaN) values.
Estimate Estimate95(const std::vector<double>& values);

struct QueueSummary {
  std::string queue;  // empty: all queues
  Estimate offered, answered, abandoned, overflowed, withdrawn, bot_resolved, unresolved;
  Estimate p_wait, asa_seconds, service_level, abandon_rate, max_wait_seconds;
  // Share of the queue's answered sessions answered by each engineer group (sorted by group;
  // groups that never answered one left out).
  std::vector<std::pair<std::string, Estimate>> answered_share_by_group;
};

struct GroupSummary {
  std::string group;  // empty: all engineers
  Estimate occupancy;
};

struct SimSummary {
  int replications = 0;
  std::vector<QueueSummary> queues;  // sorted by queue id
  QueueSummary overall;
  std::vector<GroupSummary> groups;  // sorted by group name
  GroupSummary all_engineers;
};

SimSummary Summarize(const std::vector<ReplicationMetrics>& replications);
// The summary of `queue`, or nullptr.
const QueueSummary* FindQueue(const SimSummary& summary, absl::string_view queue);
const GroupSummary* FindGroup(const SimSummary& summary, absl::string_view group);

// What the run cost.
struct RunCost {
  int64_t sessions = 0;  // sessions simulated (arrivals, warm-up and drain included)
  int64_t events = 0;    // engine events
  double wall_seconds = 0;
  double sessions_per_second = 0;  // sessions / wall_seconds
  int threads = 1;
};

// Everything a run produced.
struct SimResult {
  std::string scenario;  // the scenario's name
  int replications = 0;
  uint64_t seed = 0;
  absl::Duration duration = absl::ZeroDuration();
  absl::Duration warmup = absl::ZeroDuration();
  std::vector<SimRun> runs;  // in replication order
  SimSummary summary;
  RunCost cost;
};

// A readable table: per queue and overall, then occupancy per group, then the cost.
std::string FormatText(const SimResult& result);
// The same as one JSON object (figures as {"mean": m, "ci95": h, "n": n}; NaN as null).
std::string FormatJson(const SimResult& result);

// Two summaries of the same centre side by side (a journal replay: the recorded run and the
// what-if), one row per queue and run, then occupancy per group: for the what-if report.
std::string FormatComparisonText(const SimSummary& a, absl::string_view a_name,
                                 const SimSummary& b, absl::string_view b_name);
// A summary as a JSON object {"queues": [...], "overall": {...}, "occupancy": [...],
// "occupancy_all": {...}}, figures as in FormatJson; `indent` prefixes its inner lines.
std::string JsonSummary(const SimSummary& summary, absl::string_view indent);
// A JSON string literal.
std::string JsonQuote(absl::string_view text);

}  // namespace omniroute::sim

#endif  // OMNIROUTE_BENCH_SIM_REPORT_H_
