// The driver on small hand-built models whose figures are known exactly, and determinism of
// whole scenario runs.

#include "bench/sim/simulator.h"

#include <string>
#include <vector>

#include "bench/sim/run.h"
#include "bench/sim/scenario.h"
#include "gtest/gtest.h"

namespace omniroute::sim {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

QueueConfig OneQueue(absl::Duration wrap_up = absl::ZeroDuration()) {
  QueueConfig q;
  q.id = QueueId("q");
  q.wrap_up = wrap_up;
  return q;
}

SimEngineer Engineer(const std::string& id, Behaviour behaviour = {}) {
  SimEngineer e;
  e.config.id = EngineerId(id);
  e.config.queues = {QueueId("q")};
  e.config.channels = {{ChannelId("voice"), 1, -1}};
  e.group = "g";
  e.behaviour = behaviour;
  return e;
}

SimModel Model(std::vector<SimEngineer> engineers, absl::Duration length,
               QueueConfig queue = OneQueue()) {
  SimModel m;
  m.queues = {queue};
  m.engineers = std::move(engineers);
  m.start = kStart;
  m.measure_start = kStart;
  m.measure_end = kStart + length;
  return m;
}

// Every `gap` from the start, `n` sessions on voice handled for `handle`.
std::vector<SimArrival> Regular(int n, absl::Duration gap, absl::Duration handle,
                                std::optional<absl::Duration> patience = std::nullopt) {
  std::vector<SimArrival> out;
  for (int i = 0; i < n; ++i) {
    SimArrival a;
    a.at = kStart + i * gap;
    a.create.channel = ChannelId("voice");
    a.create.queue = QueueId("q");
    a.handle_time = handle;
    a.patience = patience;
    out.push_back(a);
  }
  return out;
}

TEST(SimulatorTest, OneEngineerEveryMinuteHalfMinuteHandle) {
  VectorArrivals arrivals(Regular(60, absl::Seconds(60), absl::Seconds(30)));
  absl::StatusOr<SimRun> run = Simulate(Model({Engineer("e-1")}, absl::Hours(1)), arrivals);
  ASSERT_TRUE(run.ok()) << run.status();
  const QueueFigures& q = run->metrics.queues.at(0);
  EXPECT_EQ(q.counts.offered, 60);
  EXPECT_EQ(q.counts.answered, 60);
  EXPECT_EQ(q.p_wait, 0.0);
  EXPECT_EQ(q.asa_seconds, 0.0);
  EXPECT_EQ(q.service_level, 1.0);
  ASSERT_EQ(run->metrics.groups.size(), 1u);
  EXPECT_EQ(run->metrics.groups[0].busy, absl::Minutes(30));
  EXPECT_EQ(run->metrics.groups[0].staffed, absl::Hours(1));
  EXPECT_EQ(run->metrics.groups[0].occupancy, 0.5);
  EXPECT_EQ(run->stats.arrivals, 60);
  EXPECT_EQ(run->stats.refused_commands, 0);
}

TEST(SimulatorTest, QueueingPatienceAndWrapUp) {
  // One engineer; sessions every 10 s handled for 25 s: the second waits 25 s, the third
  // would wait 40 s but its customer gives up after 30 s, ... Wrap-up 5 s ended early by the
  // engineer after 2 s.
  Behaviour b;
  b.wrap_up_time = Distribution::Constant(absl::Seconds(2));
  VectorArrivals arrivals(Regular(3, absl::Seconds(10), absl::Seconds(25), absl::Seconds(30)));
  absl::StatusOr<SimRun> run =
      Simulate(Model({Engineer("e-1", b)}, absl::Minutes(5), OneQueue(absl::Seconds(5))), arrivals);
  ASSERT_TRUE(run.ok()) << run.status();
  const QueueFigures& q = run->metrics.queues.at(0);
  // s1 at 0 answered at once, done 25 + 2; s2 at 10 answered at 27 (waited 17);
  // s3 at 20 would be answered at 54, abandons at 50.
  EXPECT_EQ(q.counts.offered, 3);
  EXPECT_EQ(q.counts.answered, 2);
  EXPECT_EQ(q.counts.abandoned, 1);
  EXPECT_DOUBLE_EQ(q.asa_seconds, 17.0 / 2);
  EXPECT_DOUBLE_EQ(q.max_wait_seconds, 30.0);
  EXPECT_DOUBLE_EQ(q.p_wait, 2.0 / 3);
  EXPECT_EQ(run->metrics.groups[0].busy, absl::Seconds(54));
}

TEST(SimulatorTest, AcceptDelayRejectAndExpiry) {
  // e-1 rejects everything after 1 s, e-2 accepts after 20 s (beyond the 15 s offer timeout:
  // every offer expires) and e-3 accepts after 2 s. Everything ends answered by e-3.
  Behaviour rejects{Distribution::Constant(absl::Seconds(1)), 0.999999, std::nullopt};
  Behaviour slow{Distribution::Constant(absl::Seconds(20)), 0, std::nullopt};
  Behaviour ok{Distribution::Constant(absl::Seconds(2)), 0, std::nullopt};
  SimModel model =
      Model({Engineer("e-1", rejects), Engineer("e-2", slow), Engineer("e-3", ok)}, absl::Hours(1));
  model.engine_options.missed_offers_limit = 0;
  VectorArrivals arrivals(Regular(20, absl::Minutes(3), absl::Seconds(60)));
  absl::StatusOr<SimRun> run = Simulate(model, arrivals, {.behaviour_seed = 3});
  ASSERT_TRUE(run.ok()) << run.status();
  const QueueFigures& q = run->metrics.queues.at(0);
  EXPECT_EQ(q.counts.offered, 20);
  EXPECT_EQ(q.counts.answered, 20);
  EXPECT_EQ(q.p_wait, 1.0);  // the accept delay counts in the wait
  EXPECT_GE(q.asa_seconds, 2.0);
}

TEST(SimulatorTest, GrabModeClaims) {
  QueueConfig grab = OneQueue();
  grab.delivery = DeliveryMode::kGrab;
  grab.grab_fanout = 2;
  Behaviour b{Distribution::Exponential(absl::Seconds(3)), 0.2, std::nullopt};
  VectorArrivals arrivals(Regular(50, absl::Minutes(1), absl::Seconds(90)));
  absl::StatusOr<SimRun> run = Simulate(
      Model({Engineer("e-1", b), Engineer("e-2", b), Engineer("e-3", b)}, absl::Hours(1), grab),
      arrivals, {.behaviour_seed = 9});
  ASSERT_TRUE(run.ok()) << run.status();
  const QueueFigures& q = run->metrics.queues.at(0);
  EXPECT_EQ(q.counts.offered, 50);
  EXPECT_EQ(q.counts.answered, 50);
}

TEST(SimulatorTest, ShiftEndFinishesHeldSessionsFirst) {
  // The engineer's shift ends at 100 s while holding a session until 130 s: staffed to 130 s.
  SimEngineer e = Engineer("e-1");
  e.shift_start = kStart + absl::Seconds(10);
  e.shift_end = kStart + absl::Seconds(100);
  std::vector<SimArrival> list = Regular(1, absl::Seconds(0), absl::Seconds(60));
  list[0].at = kStart + absl::Seconds(70);
  VectorArrivals arrivals(list);
  absl::StatusOr<SimRun> run = Simulate(Model({e}, absl::Seconds(200)), arrivals);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->metrics.queues.at(0).counts.answered, 1);
  EXPECT_EQ(run->metrics.groups[0].busy, absl::Seconds(60));
  EXPECT_EQ(run->metrics.groups[0].staffed, absl::Seconds(120));
}

TEST(SimulatorTest, DrainsSessionsArrivedBeforeTheEnd) {
  // One engineer, three sessions of 10 min arriving at the very end: all answered in the
  // drain, none censored.
  std::vector<SimArrival> list = Regular(3, absl::Seconds(1), absl::Minutes(10));
  for (SimArrival& a : list) a.at += absl::Seconds(57);
  list.push_back(list.back());
  list.back().at = kStart + absl::Minutes(1);  // at measure_end: not created
  VectorArrivals arrivals(list);
  absl::StatusOr<SimRun> run = Simulate(Model({Engineer("e-1")}, absl::Minutes(1)), arrivals);
  ASSERT_TRUE(run.ok()) << run.status();
  const QueueFigures& q = run->metrics.queues.at(0);
  EXPECT_EQ(q.counts.offered, 3);
  EXPECT_EQ(q.counts.answered, 3);
  EXPECT_EQ(q.counts.unresolved, 0);
  EXPECT_DOUBLE_EQ(q.max_wait_seconds, 1198.0);  // 59 s -> 1257 s
  EXPECT_EQ(run->stats.arrivals, 3);
}

TEST(SimulatorTest, ArrivalsOutOfOrderAreAnError) {
  std::vector<SimArrival> list = Regular(2, absl::Seconds(10), absl::Seconds(1));
  std::swap(list[0], list[1]);
  VectorArrivals arrivals(list);
  absl::StatusOr<SimRun> run = Simulate(Model({Engineer("e-1")}, absl::Minutes(1)), arrivals);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
}

// Whole scenario runs: the same seed gives the same figures whatever the threads.
std::vector<std::string> Fingerprint(const SimResult& r) {
  std::vector<std::string> out;
  for (const SimRun& run : r.runs) {
    for (const QueueFigures& q : run.metrics.queues) {
      out.push_back(absl::StrCat(q.queue, " ", q.counts.offered, " ", q.counts.answered, " ",
                                 q.counts.abandoned, " ", q.counts.waited, " ",
                                 absl::FormatDuration(q.counts.answered_wait_sum), " ",
                                 absl::FormatDuration(q.counts.max_wait)));
    }
    for (const GroupOccupancy& g : run.metrics.groups) {
      out.push_back(absl::StrCat(g.group, " ", absl::FormatDuration(g.busy), " ",
                                 absl::FormatDuration(g.staffed)));
    }
    out.push_back(absl::StrCat(run.stats.events));
  }
  return out;
}

TEST(SimulatorTest, SameSeedSameFiguresWhateverTheThreads) {
  absl::StatusOr<v1::Scenario> scenario =
      LoadScenarioFile(OMNIROUTE_SOURCE_DIR "/bench/sim/examples/mixed_skills.textproto");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  RunOptions options;
  options.overrides.duration = absl::Hours(1);
  options.overrides.warmup = absl::Minutes(10);
  options.overrides.replications = 4;
  options.threads = 1;
  absl::StatusOr<SimResult> one = RunScenario(*scenario, options);
  ASSERT_TRUE(one.ok()) << one.status();
  options.threads = 3;
  absl::StatusOr<SimResult> three = RunScenario(*scenario, options);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(Fingerprint(*one), Fingerprint(*three));
  EXPECT_EQ(FormatJson(*one).substr(0, FormatJson(*one).find("\"cost\"")),
            FormatJson(*three).substr(0, FormatJson(*three).find("\"cost\"")));
  // Replications differ from each other, and another seed gives other figures.
  EXPECT_NE(one->runs[0].metrics.overall.counts.offered + one->runs[0].stats.events,
            one->runs[1].metrics.overall.counts.offered + one->runs[1].stats.events);
  options.overrides.seed = 2;
  absl::StatusOr<SimResult> other = RunScenario(*scenario, options);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(Fingerprint(*one), Fingerprint(*other));
}

}  // namespace
}  // namespace omniroute::sim
