// Google Benchmark micro-benchmarks of the routing engine on a realistic mixed workload.
//
//   BM_Route/<engineers>           the engine (indexed matcher)
//   BM_ReferenceRoute/<engineers>  the same stream on the scan-everything reference matcher
//   BM_DriverOverhead/<engineers>  the replay harness alone (building commands, no engine)
//
// One iteration is one operation: one command applied (`Engine::Apply`) or one
// `Engine::Advance` call that fires the timers due. The stream is recorded once per centre
// size by a closed-loop driver (bench/workload.h) and replayed here; the replay checks every
// step against the recording, so a diverging engine (or reference) fails the benchmark.
// docs/PERFORMANCE.md describes the workload and the figures.
//
//   ./engine_bench --benchmark_min_time=2

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "engine/support/reference_matcher.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"
#include "workload.h"

namespace omniroute::bench {
namespace {

// One recorded stream per centre size, kept for the whole run: recording is the slow part.
Workload& GetWorkload(int engineers) {
  static std::map<int, std::unique_ptr<Workload>> cache;
  std::unique_ptr<Workload>& slot = cache[engineers];
  if (!slot) {
    WorkloadConfig config;
    config.engineers = engineers;
    slot = std::make_unique<Workload>(config);
  }
  return *slot;
}

// An engine that has replayed the stream up to `cursor`. Google Benchmark calls a benchmark
// function several times (growing the iteration count); each call goes on from where the
// last one stopped, so the centre is built and warmed up once, outside any timing.
struct Runner {
  bool reference = false;
  int engineers = 0;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Replayer> replayer;
  size_t cursor = 0;
  bool diverged = false;
};

Runner& GetRunner(bool reference, int engineers) {
  static std::unique_ptr<Runner> runner;
  if (runner && runner->reference == reference && runner->engineers == engineers) return *runner;
  runner.reset();  // free the previous engine first
  Workload& workload = GetWorkload(engineers);
  auto fresh = std::make_unique<Runner>();
  fresh->reference = reference;
  fresh->engineers = engineers;
  fresh->engine = reference
                      ? std::make_unique<Engine>(EngineOptions{}, testing::MakeReferenceMatcher())
                      : std::make_unique<Engine>();
  workload.BuildCentre(*fresh->engine);
  fresh->replayer = std::make_unique<Replayer>(workload);
  std::vector<Event> events;
  for (size_t i = 0; i < workload.warmup_steps(); ++i) {
    events.clear();
    if (!fresh->replayer->Replay(*fresh->engine, i, &events)) fresh->diverged = true;
  }
  fresh->cursor = workload.warmup_steps();
  runner = std::move(fresh);
  return *runner;
}

void ReportWorkload(benchmark::State& state, const Workload& workload) {
  WorkloadStats stats = workload.stats();
  double steps = static_cast<double>(std::max<int64_t>(stats.steps, 1));
  state.counters["engineers"] = workload.config().engineers;
  state.counters["occupancy"] = stats.mean_occupancy;
  state.counters["waiting"] = stats.mean_waiting;
  state.counters["advance_share"] = static_cast<double>(stats.advances) / steps;
}

void RunReplay(benchmark::State& state, bool reference) {
  const int engineers = static_cast<int>(state.range(0));
  Workload& workload = GetWorkload(engineers);
  Runner& runner = GetRunner(reference, engineers);
  if (runner.diverged) {
    state.SkipWithError("the warm-up replay diverged from the recording");
    return;
  }
  workload.EnsureSteps(runner.cursor + static_cast<size_t>(state.max_iterations));

  Engine& engine = *runner.engine;
  Replayer& replayer = *runner.replayer;
  std::vector<Event> events;
  events.reserve(64);
  size_t i = runner.cursor;
  int64_t mismatches = 0;
  int64_t event_count = 0;
  for (auto _ : state) {
    events.clear();
    mismatches += replayer.Replay(engine, i, &events) ? 0 : 1;
    event_count += static_cast<int64_t>(events.size());
    ++i;
  }
  runner.cursor = i;
  state.SetItemsProcessed(state.iterations());
  ReportWorkload(state, workload);
  state.counters["events_per_op"] =
      benchmark::Counter(static_cast<double>(event_count), benchmark::Counter::kAvgIterations);
  if (mismatches > 0) {
    runner.diverged = true;
    state.SkipWithError("the replay diverged from the recording");
  }
}

void BM_Route(benchmark::State& state) { RunReplay(state, /*reference=*/false); }
void BM_ReferenceRoute(benchmark::State& state) { RunReplay(state, /*reference=*/true); }

// The cost of the replay harness alone: reading a step and rewriting the command's ids.
// BM_Route's time per operation includes this.
void BM_DriverOverhead(benchmark::State& state) {
  const int engineers = static_cast<int>(state.range(0));
  Workload& workload = GetWorkload(engineers);
  size_t begin = workload.warmup_steps();
  size_t length = static_cast<size_t>(std::min<int64_t>(state.max_iterations, 2'000'000));
  workload.EnsureSteps(begin + length);
  Replayer replayer(workload);
  size_t i = begin;
  for (auto _ : state) {
    const Command* command = replayer.Build(i);
    benchmark::DoNotOptimize(command);
    benchmark::DoNotOptimize(absl::FromUnixMicros(workload.steps()[i].at_us));
    if (++i == begin + length) i = begin;
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Route)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kNanosecond);
// The reference scans every engineer for every session: 100,000 would take too long.
BENCHMARK(BM_ReferenceRoute)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_DriverOverhead)->Arg(10'000)->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace omniroute::bench

BENCHMARK_MAIN();
