#include "bench/sim/run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

namespace omniroute::sim {

absl::StatusOr<std::vector<SimRun>> RunReplications(
    int n, int threads, const std::function<absl::StatusOr<SimRun>(int)>& run_one) {
  std::vector<std::optional<absl::StatusOr<SimRun>>> results(static_cast<size_t>(std::max(n, 0)));
  std::atomic<int> next{0};
  auto worker = [&]() {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      results[static_cast<size_t>(i)] = run_one(i);
    }
  };
  const int workers = std::clamp(threads, 1, std::max(n, 1));
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  std::vector<SimRun> out;
  out.reserve(results.size());
  for (auto& r : results) {
    if (!r->ok()) return r->status();
    out.push_back(**std::move(r));
  }
  return out;
}

absl::StatusOr<SimResult> RunCompiled(const CompiledScenario& scenario, int threads) {
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<std::vector<SimRun>> runs =
      RunReplications(scenario.replications(), threads, [&scenario](int i) {
        std::unique_ptr<ArrivalSource> arrivals = scenario.Arrivals(i);
        SimOptions options;
        options.behaviour_seed = scenario.BehaviourSeed(i);
        return Simulate(scenario.model(), *arrivals, options);
      });
  if (!runs.ok()) return runs.status();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  SimResult result;
  result.scenario = scenario.name();
  result.replications = scenario.replications();
  result.seed = scenario.seed();
  result.duration = scenario.duration();
  result.warmup = scenario.warmup();
  result.runs = *std::move(runs);
  std::vector<ReplicationMetrics> metrics;
  for (const SimRun& run : result.runs) {
    metrics.push_back(run.metrics);
    result.cost.sessions += run.stats.arrivals;
    result.cost.events += run.stats.events;
  }
  result.summary = Summarize(metrics);
  result.cost.wall_seconds = wall;
  result.cost.threads = std::clamp(threads, 1, std::max(scenario.replications(), 1));
  result.cost.sessions_per_second = wall > 0 ? static_cast<double>(result.cost.sessions) / wall : 0;
  return result;
}

absl::StatusOr<SimResult> RunScenario(const v1::Scenario& scenario, const RunOptions& options) {
  absl::StatusOr<CompiledScenario> compiled = CompileScenario(scenario, options.overrides);
  if (!compiled.ok()) return compiled.status();
  return RunCompiled(*compiled, options.threads);
}

}  // namespace omniroute::sim
