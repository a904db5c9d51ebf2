// Google Benchmark micro-benchmarks of the routing engine on a realistic mixed workload.
//
//   BM_Route/<engineers>           the engine (indexed matcher)
//   BM_ReferenceRoute/<engineers>  the same stream on the scan-everything reference matcher
//   BM_DriverOverhead/<engineers>  the replay harness alone (building commands, no engine)
//   BM_SaveSnapshot/<waiting>      Engine::SaveSnapshot of a centre with that many sessions
//                                  waiting (10,000 engineers, 100 queues); bytes/s is the
//                                  snapshot's size over the time of one save
//   BM_LoadSnapshot/<waiting>      Engine::LoadSnapshot of that snapshot into a fresh engine
//                                  (matcher indexes and timer heap rebuilt)
//   BM_ForkSnapshot/<waiting>      fork(), SaveSnapshot in the child, wait for it; the
//                                  `stall_ms` counter is how long fork() held the caller
//
// One iteration is one operation: one command applied (`Engine::Apply`) or one
// `Engine::Advance` call that fires the timers due. The stream is recorded once per centre
// size by a closed-loop driver (bench/workload.h) and replayed here; the replay checks every
// step against the recording, so a diverging engine (or reference) fails the benchmark.
// docs/PERFORMANCE.md describes the workload and the figures.
//
//   ./engine_bench --benchmark_min_time=2

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

// --- Snapshots ----------------------------------------------------------------------------

// A centre of 10,000 engineers (all on a break, so nothing is routed) and `waiting` QUEUED
// sessions spread over the 100 queues and 4 channels, with the workload's customer mix
// (customer ids, VIP levels, risk tags, preferred and last engineers, extra requirements);
// every session has its routing timer (stage end, relaxation or overflow).
Engine& SnapshotCentre(int waiting) {
  static std::map<int, std::unique_ptr<Engine>> cache;
  if (auto it = cache.find(waiting); it != cache.end()) return *it->second;
  cache.clear();  // one big centre at a time
  std::unique_ptr<Engine>& slot = cache[waiting];
  WorkloadConfig config;
  config.engineers = 10'000;
  config.warmup = absl::ZeroDuration();
  static Workload workload(config);
  auto engine = std::make_unique<Engine>();
  workload.BuildCentre(*engine);
  absl::Time at = workload.start();
  std::vector<Event> events;
  for (int e = 0; e < config.engineers; ++e) {
    events.clear();
    (void)engine->Apply(SetPresence{workload.engineer_id(static_cast<uint32_t>(e)),
                                    Presence::kNotReady, "break", absl::ZeroDuration()},
                        at, &events);
  }
  std::mt19937_64 rng(20240611);
  CreateSession c;
  for (int i = 0; i < waiting; ++i) {
    if (i % 1000 == 0) at += absl::Milliseconds(1);  // 1,000 arrivals a millisecond
    const uint64_t r = rng();
    c.queue = workload.queue_id(static_cast<uint32_t>(r % config.queues));
    c.channel = workload.channel_id(static_cast<uint32_t>((r >> 8) % 4));
    c.customer.id = CustomerId(absl::StrCat("cust-", (r >> 12) % 500'000));
    c.customer.vip_level = (r >> 32) % 20 == 0 ? 1 + static_cast<int>((r >> 40) % 3) : 0;
    c.customer.tags.clear();
    if ((r >> 44) % 10 == 0) c.customer.tags.emplace_back("risk:negative-social");
    c.customer.preferred_engineers.clear();
    if ((r >> 48) % 10 == 0) {
      c.customer.preferred_engineers.push_back(
          workload.engineer_id(static_cast<uint32_t>((r >> 20) % config.engineers)));
    }
    c.customer.last_engineer =
        (r >> 52) % 4 == 0
            ? workload.engineer_id(static_cast<uint32_t>((r >> 24) % config.engineers))
            : EngineerId();
    c.requirements.clear();
    if ((r >> 56) % 8 == 0) {
      c.requirements.push_back({workload.skill_id(static_cast<uint32_t>((r >> 28) % 50)), 2});
    }
    c.priority = c.customer.vip_level * 10;
    events.clear();
    (void)engine->Apply(c, at, &events);
  }
  slot = std::move(engine);
  return *slot;
}

void ReportSnapshot(benchmark::State& state, const Engine& engine, size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
  state.counters["snapshot_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["sessions"] = static_cast<double>(engine.ListSessions().size());
}

void BM_SaveSnapshot(benchmark::State& state) {
  const Engine& engine = SnapshotCentre(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string snapshot = engine.SaveSnapshot();
    bytes = snapshot.size();
    benchmark::DoNotOptimize(snapshot.data());
  }
  ReportSnapshot(state, engine, bytes);
}

void BM_LoadSnapshot(benchmark::State& state) {
  const Engine& engine = SnapshotCentre(static_cast<int>(state.range(0)));
  const std::string snapshot = engine.SaveSnapshot();
  for (auto _ : state) {
    auto loaded = std::make_unique<Engine>();
    if (!loaded->LoadSnapshot(snapshot).ok()) {
      state.SkipWithError("LoadSnapshot refused the snapshot");
      break;
    }
    state.PauseTiming();
    if (loaded->StateDigest() != engine.StateDigest()) {
      state.SkipWithError("the loaded engine differs");
      break;
    }
    loaded.reset();  // freeing a million sessions is not part of loading
    state.ResumeTiming();
  }
  ReportSnapshot(state, engine, snapshot.size());
}

// What a daemon that forks and serializes in the child pays: the fork (page tables copied,
// the caller stalled) and, in the child, the save. The iteration time includes the child's
// work and its exit; `stall_ms` is the fork alone.
void BM_ForkSnapshot(benchmark::State& state) {
  const Engine& engine = SnapshotCentre(static_cast<int>(state.range(0)));
  double stall_ms = 0;
  for (auto _ : state) {
    const auto begin = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
      std::string snapshot = engine.SaveSnapshot();
      _exit(snapshot.empty() ? 1 : 0);
    }
    stall_ms = std::max(stall_ms, std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - begin)
                                      .count());
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      state.SkipWithError("the forked save failed");
      break;
    }
  }
  state.counters["stall_ms"] = stall_ms;
}

BENCHMARK(BM_SaveSnapshot)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadSnapshot)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ForkSnapshot)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace omniroute::bench

BENCHMARK_MAIN();
