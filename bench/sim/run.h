// Running replications: a scenario's, or any model's, on a small thread pool.
//
//   absl::StatusOr<v1::Scenario> scenario = LoadScenarioFile(path);
//   absl::StatusOr<SimResult> result =
//       RunScenario(*scenario, {.overrides = {.replications = 20}, .threads = 2});
//   const QueueSummary* q = FindQueue(result->summary, "support");
//   // q->p_wait.mean, q->p_wait.half_width, q->asa_seconds, q->service_level, q->abandon_rate
//
// Each replication runs on its own Engine with its own random streams (seeded from the
// scenario seed and the replication index, bench/sim/random.h), and results are combined in
// replication order: the figures do not depend on the number of threads.

#ifndef OMNIROUTE_BENCH_SIM_RUN_H_
#define OMNIROUTE_BENCH_SIM_RUN_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/sim/report.h"
#include "bench/sim/scenario.h"
#include "bench/sim/simulator.h"

namespace omniroute::sim {

struct RunOptions {
  ScenarioOverrides overrides = {};
  // Worker threads (at least 1; more than the replications is pointless).
  int threads = 1;
};

// Checks the scenario, runs its replications, summarises them.
absl::StatusOr<SimResult> RunScenario(const v1::Scenario& scenario, const RunOptions& options);
// The same for a compiled scenario.
absl::StatusOr<SimResult> RunCompiled(const CompiledScenario& scenario, int threads);

// Runs run_one(0) .. run_one(n - 1) on `threads` threads (each call on one thread, calls
// concurrent with each other) and returns the results in index order; the first error (by
// index) if any fails. For replications of any model and arrivals (e.g. a journal replay).
absl::StatusOr<std::vector<SimRun>> RunReplications(
    int n, int threads, const std::function<absl::StatusOr<SimRun>(int)>& run_one);

}  // namespace omniroute::sim

#endif  // OMNIROUTE_BENCH_SIM_RUN_H_
