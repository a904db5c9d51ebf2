// What-if replay (bench/sim/replay.h): a recorded day read back from a daemon-format data
// directory, replayed exactly, and replayed through changed configurations.
//
// The recordings are written by the simulator itself (WriteScenarioJournal: every command the
// engine accepted, at the engine's time, in omnirouted's journal format), so each test knows
// exactly what the day held: the replay of the recording must give the simulated figures to
// the last digit, and the what-if run with no change must give them again (the behaviours are
// constant here, so nothing is left to chance). tests/sim/replay_daemon_test.cc replays a
// journal the real daemon wrote.

#include "bench/sim/replay.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/sim/report.h"
#include "bench/sim/scenario.h"
#include "bench/sim/simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/durability/codec.h"
#include "omniroute/durability/file_journal.h"
#include "omniroute/durability/snapshot_file.h"
#include "omniroute/engine.h"
#include "tests/durability/temp_dir.h"

namespace omniroute::sim {
namespace {

using ::omniroute::durability::testing::FileSizeOf;
using ::omniroute::durability::testing::TempDir;
using ::testing::HasSubstr;

// Two queues, two skill groups and a generalist; constant accept delay and wrap-up, log-normal
// handle times, exponential patience: a small day with waiting and abandonment.
constexpr char kDay[] = R"pb(
  name: "replay day"
  queues {
    id: "repair"
    service_level_threshold { seconds: 20 }
    wrap_up_duration { seconds: 30 }
    requirements { skill_id: "repair" min_level: 3 }
    relaxation_steps { after { seconds: 45 } action: RELAX_ACTION_ANY_AGENT }
  }
  queues {
    id: "billing"
    service_level_threshold { seconds: 20 }
    wrap_up_duration { seconds: 30 }
    requirements { skill_id: "billing" min_level: 3 }
    relaxation_steps { after { seconds: 45 } action: RELAX_ACTION_ANY_AGENT }
  }
  engineer_groups {
    name: "repair"
    count: 4
    agent {
      skills { skill_id: "repair" level: 5 }
      channels { channel_id: "voice" }
      queue_ids: "repair"
      queue_ids: "billing"
    }
    behaviour {
      accept_delay { constant { value { seconds: 2 } } }
      wrap_up_time { constant { value { seconds: 5 } } }
    }
  }
  engineer_groups {
    name: "billing"
    count: 2
    agent {
      skills { skill_id: "billing" level: 5 }
      channels { channel_id: "voice" }
      queue_ids: "repair"
      queue_ids: "billing"
    }
    behaviour { accept_delay { constant { value { seconds: 3 } } } }
  }
  engineer_groups {
    name: "both"
    count: 1
    agent {
      skills { skill_id: "repair" level: 3 }
      skills { skill_id: "billing" level: 3 }
      channels { channel_id: "voice" }
      queue_ids: "repair"
      queue_ids: "billing"
    }
    shift_start { seconds: 3600 }
  }
  arrivals {
    queue_id: "repair"
    channel_id: "voice"
    rate_per_hour: 40
    handle_time { log_normal { mean { seconds: 300 } stddev { seconds: 150 } } }
    patience { exponential { mean { seconds: 180 } } }
  }
  arrivals {
    queue_id: "billing"
    channel_id: "voice"
    rate_per_hour: 20
    handle_time { log_normal { mean { seconds: 240 } stddev { seconds: 120 } } }
    patience { exponential { mean { seconds: 180 } } }
  }
  duration { seconds: 14400 }
  replications: 1
  seed: 7
)pb";

CompiledScenario Compile(const std::string& text) {
  absl::StatusOr<v1::Scenario> scenario = ParseScenarioText(text, "replay_test");
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  absl::StatusOr<CompiledScenario> compiled = CompileScenario(*scenario);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return *std::move(compiled);
}

// The figures that do not depend on the measurement window's end (which is the scenario's
// measure_end in the simulation and the last journal record in the replay).
void ExpectSameOutcomes(const QueueFigures& a, const QueueFigures& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.counts.offered, b.counts.offered);
  EXPECT_EQ(a.counts.answered, b.counts.answered);
  EXPECT_EQ(a.counts.abandoned, b.counts.abandoned);
  EXPECT_EQ(a.counts.waited, b.counts.waited);
  EXPECT_EQ(a.counts.answered_within_threshold, b.counts.answered_within_threshold);
  EXPECT_EQ(a.counts.answered_wait_sum, b.counts.answered_wait_sum);
  EXPECT_EQ(a.counts.max_wait, b.counts.max_wait);
}

void ExpectSameOutcomes(const ReplicationMetrics& a, const ReplicationMetrics& b) {
  ASSERT_EQ(a.queues.size(), b.queues.size());
  for (size_t i = 0; i < a.queues.size(); ++i) {
    ExpectSameOutcomes(a.queues[i], b.queues[i], a.queues[i].queue);
  }
  ExpectSameOutcomes(a.overall, b.overall, "overall");
}

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    day_ = std::make_unique<CompiledScenario>(Compile(kDay));
    // The day as the simulator saw it, and the same day as a daemon's journal.
    std::unique_ptr<ArrivalSource> arrivals = day_->Arrivals(0);
    absl::StatusOr<SimRun> run =
        Simulate(day_->model(), *arrivals, SimOptions{.behaviour_seed = day_->BehaviourSeed(0)});
    ASSERT_TRUE(run.ok()) << run.status();
    simulated_ = run->metrics;
    ASSERT_GT(simulated_.overall.counts.offered, 150);
    ASSERT_GT(simulated_.overall.counts.abandoned, 0);
    ASSERT_GT(simulated_.overall.counts.waited, 0);
    absl::StatusOr<int64_t> records = WriteScenarioJournal(*day_, 0, dir_.path());
    ASSERT_TRUE(records.ok()) << records.status();
    records_ = *records;
  }

  ReplayResult Replay(const v1::Scenario* what_if, int replications = 2) {
    absl::StatusOr<Recording> recording = ReadRecording(dir_.path());
    EXPECT_TRUE(recording.ok()) << recording.status();
    if (!recording.ok()) return ReplayResult();
    absl::StatusOr<ReplayResult> result =
        RunReplay(*recording, what_if, ReplayOptions{.replications = replications, .threads = 2});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *std::move(result) : ReplayResult();
  }

  TempDir dir_;
  std::unique_ptr<CompiledScenario> day_;
  ReplicationMetrics simulated_;
  int64_t records_ = 0;
};

TEST_F(ReplayTest, ReadsEveryRecordWithoutChangingTheDirectory) {
  const std::vector<std::string> files = dir_.List();
  const off_t size = FileSizeOf(dir_.file(files.front()));
  absl::StatusOr<Recording> recording = ReadRecording(dir_.path());
  ASSERT_TRUE(recording.ok()) << recording.status();
  EXPECT_EQ(static_cast<int64_t>(recording->entries.size()), records_);
  EXPECT_FALSE(recording->snapshot_position.has_value());
  EXPECT_EQ(recording->start, day_->model().start);
  EXPECT_GE(recording->end, day_->model().measure_end - absl::Minutes(10));
  EXPECT_TRUE(recording->notes.empty());
  EXPECT_EQ(dir_.List(), files);
  EXPECT_EQ(FileSizeOf(dir_.file(files.front())), size);
}

TEST_F(ReplayTest, RecordedRunIsTheSimulatedDayAndTheUnchangedWhatIfReproducesIt) {
  const ReplayResult result = Replay(nullptr);
  ExpectSameOutcomes(result.recorded, simulated_);
  ASSERT_EQ(result.what_if.size(), 2u);
  // Constant behaviours, recorded handle times and patiences, the same engine: the same day.
  for (const ReplicationMetrics& m : result.what_if) ExpectSameOutcomes(m, result.recorded);
  EXPECT_TRUE(result.changes.empty());
  EXPECT_EQ(result.trace.sessions, simulated_.overall.counts.offered);
  EXPECT_EQ(result.trace.replayed, result.trace.sessions);
  EXPECT_EQ(result.trace.abandoned, simulated_.overall.counts.abandoned);
  EXPECT_EQ(result.trace.engineers, 7);
  const std::string text = FormatReplayText(result);
  EXPECT_THAT(text, HasSubstr("changes: none"));
  EXPECT_THAT(text, HasSubstr("billing+repair"));  // the generalist's group: its skills
  EXPECT_THAT(FormatReplayJson(result), HasSubstr("\"what_if\": {"));
}

TEST_F(ReplayTest, MoreEngineersShortenTheWait) {
  absl::StatusOr<v1::Scenario> what_if = ParseScenarioText(R"pb(
    engineer_groups {
      name: "extra"
      count: 3
      agent {
        skills { skill_id: "repair" level: 4 }
        skills { skill_id: "billing" level: 4 }
        channels { channel_id: "voice" }
        queue_ids: "repair"
        queue_ids: "billing"
      }
    }
  )pb", "what_if");
  ASSERT_TRUE(what_if.ok()) << what_if.status();
  const ReplayResult result = Replay(&*what_if, 4);
  const SimSummary summary = Summarize(result.what_if);
  EXPECT_EQ(summary.overall.offered.mean, result.recorded.overall.counts.offered);
  EXPECT_LT(summary.overall.p_wait.mean, result.recorded.overall.p_wait);
  EXPECT_LT(summary.overall.abandon_rate.mean, result.recorded.overall.abandon_rate);
  EXPECT_GT(summary.overall.service_level.mean, result.recorded.overall.service_level);
  ASSERT_NE(FindGroup(summary, "extra"), nullptr);
  EXPECT_GT(FindGroup(summary, "extra")->occupancy.mean, 0);
  EXPECT_THAT(result.changes, ::testing::ElementsAre("engineers added: 3 in group extra"));
}

TEST_F(ReplayTest, AQueueOfTheWhatIfReplacesTheRecordedOne) {
  // No skill requirement on billing: anyone takes it at once.
  absl::StatusOr<v1::Scenario> what_if = ParseScenarioText(R"pb(
    queues {
      id: "billing"
      strategy: "most_spare"
      service_level_threshold { seconds: 20 }
      wrap_up_duration { seconds: 30 }
    }
  )pb", "what_if");
  ASSERT_TRUE(what_if.ok()) << what_if.status();
  const ReplayResult result = Replay(&*what_if);
  ASSERT_EQ(result.changes.size(), 1u);
  EXPECT_THAT(result.changes[0], HasSubstr("queue billing: strategy longest_idle -> most_spare"));
  EXPECT_THAT(result.changes[0], HasSubstr("relaxation steps at 45s -> none"));
  EXPECT_THAT(result.changes[0], HasSubstr("requirements"));
  const SimSummary summary = Summarize(result.what_if);
  const QueueFigures* recorded = nullptr;
  for (const QueueFigures& q : result.recorded.queues) {
    if (q.queue == "billing") recorded = &q;
  }
  ASSERT_NE(recorded, nullptr);
  ASSERT_NE(FindQueue(summary, "billing"), nullptr);
  EXPECT_LT(FindQueue(summary, "billing")->asa_seconds.mean, recorded->asa_seconds);
}

TEST_F(ReplayTest, AQueueReconfiguredDuringTheDayIsMeasuredByItsLastConfiguration) {
  absl::StatusOr<Recording> recording = ReadRecording(dir_.path());
  ASSERT_TRUE(recording.ok()) << recording.status();
  const ReplayResult before = Replay(nullptr, 1);
  // The billing queue's service-level threshold lowered to 1 s right after its creation.
  auto it = std::find_if(recording->entries.begin(), recording->entries.end(), [](const auto& e) {
    const auto* q = std::get_if<UpsertQueue>(&e.command);
    return q != nullptr && q->config.id.value() == "billing";
  });
  ASSERT_NE(it, recording->entries.end());
  durability::JournalEntry tighter = *it;
  std::get<UpsertQueue>(tighter.command).config.service_level_threshold = absl::Seconds(1);
  recording->entries.insert(it + 1, tighter);
  absl::StatusOr<ReplayResult> after =
      RunReplay(*recording, nullptr, ReplayOptions{.replications = 1, .threads = 1});
  ASSERT_TRUE(after.ok()) << after.status();
  auto billing = [](const ReplicationMetrics& m) {
    for (const QueueFigures& q : m.queues) {
      if (q.queue == "billing") return q;
    }
    return QueueFigures();
  };
  EXPECT_EQ(billing(after->recorded).counts.offered, billing(before.recorded).counts.offered);
  EXPECT_LT(billing(after->recorded).counts.answered_within_threshold,
            billing(before.recorded).counts.answered_within_threshold);
}

TEST_F(ReplayTest, StartsFromTheSnapshotWhenTheJournalWasTruncated) {
  // A second data directory holding the same records in small segments, a snapshot taken at
  // a position in the middle, and the segments before it deleted: as a daemon leaves it.
  absl::StatusOr<Recording> full = ReadRecording(dir_.path());
  ASSERT_TRUE(full.ok()) << full.status();
  TempDir dir;
  durability::FileJournalOptions small;
  small.max_segment_bytes = 4096;
  absl::StatusOr<std::unique_ptr<durability::FileJournal>> journal =
      durability::FileJournal::Open(dir.path(), small);
  ASSERT_TRUE(journal.ok()) << journal.status();
  const size_t middle = full->entries.size() / 2;
  Engine engine;
  std::vector<Event> events;
  for (size_t i = 0; i < full->entries.size(); ++i) {
    if (i == middle) {
      ASSERT_TRUE(durability::WriteSnapshotFile(
                      dir.path(), i + 1, durability::JoinSnapshotParts(engine.SaveSnapshot(), ""))
                      .ok());
    }
    ASSERT_TRUE((*journal)->Append({durability::EncodeEntry(full->entries[i])}).ok());
    events.clear();
    ASSERT_TRUE(engine.Apply(full->entries[i].command, full->entries[i].at, &events).ok());
  }
  ASSERT_TRUE((*journal)->TruncateBefore(middle + 1).ok());
  ASSERT_GT((*journal)->first_position(), 1u);
  journal->reset();

  absl::StatusOr<Recording> recording = ReadRecording(dir.path());
  ASSERT_TRUE(recording.ok()) << recording.status();
  EXPECT_EQ(recording->snapshot_position, middle + 1);
  EXPECT_EQ(recording->entries.size(), full->entries.size() - middle);
  EXPECT_EQ(recording->start, full->entries[middle - 1].at);
  absl::StatusOr<ReplayResult> result =
      RunReplay(*recording, nullptr, ReplayOptions{.replications = 1, .threads = 1});
  ASSERT_TRUE(result.ok()) << result.status();
  // Only sessions arriving after the snapshot count, and the centre came from the snapshot.
  EXPECT_GT(result->recorded.overall.counts.offered, 0);
  EXPECT_LT(result->recorded.overall.counts.offered, simulated_.overall.counts.offered);
  EXPECT_EQ(result->trace.engineers, 7);
  ASSERT_EQ(result->what_if.size(), 1u);
  EXPECT_EQ(result->what_if[0].overall.counts.offered, result->recorded.overall.counts.offered);

  // Without the snapshot, the truncated journal cannot be replayed.
  for (const std::string& name : dir.List()) {
    if (name.rfind("snapshot-", 0) == 0) ::unlink(dir.file(name).c_str());
  }
  EXPECT_EQ(ReadRecording(dir.path()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ReplayErrorsTest, MissingOrEmptyDataDirectoryIsNotFound) {
  TempDir dir;
  EXPECT_EQ(ReadRecording(dir.file("missing")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadRecording(dir.path()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(dir.List().empty());  // nothing created
}

TEST(ReplayErrorsTest, AWhatIfSetsTheCentreOnly) {
  for (const char* text : {R"pb(arrivals { queue_id: "q" channel_id: "voice" })pb",
                           R"pb(duration { seconds: 60 })pb", R"pb(warmup { seconds: 60 })pb"}) {
    absl::StatusOr<v1::Scenario> what_if = ParseScenarioText(text, "what_if");
    ASSERT_TRUE(what_if.ok()) << what_if.status();
    absl::Status s = CheckWhatIf(*what_if);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr("takes its demand and duration from the recording"));
  }
  EXPECT_TRUE(CheckWhatIf(v1::Scenario()).ok());
}

TEST_F(ReplayTest, AnInvalidWhatIfNamesTheField) {
  absl::StatusOr<v1::Scenario> what_if = ParseScenarioText(R"pb(
    engineer_groups { name: "extra" count: 0 agent { channels { channel_id: "voice" } } }
  )pb", "what_if");
  ASSERT_TRUE(what_if.ok()) << what_if.status();
  absl::StatusOr<Recording> recording = ReadRecording(dir_.path());
  ASSERT_TRUE(recording.ok());
  absl::StatusOr<ReplayResult> result = RunReplay(*recording, &*what_if, ReplayOptions{});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("engineer_groups[0].count"));
}

// The what-if examples of docs/SIMULATION.md apply to a day of the mixed-skills example.
TEST(ReplayExamplesTest, WhatIfExamplesApplyToAMixedSkillsDay) {
  const std::string examples = absl::StrCat(OMNIROUTE_SOURCE_DIR, "/bench/sim/examples/");
  absl::StatusOr<v1::Scenario> day = LoadScenarioFile(examples + "mixed_skills.textproto");
  ASSERT_TRUE(day.ok()) << day.status();
  absl::StatusOr<CompiledScenario> compiled =
      CompileScenario(*day, ScenarioOverrides{.duration = absl::Hours(2)});
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  TempDir dir;
  ASSERT_TRUE(WriteScenarioJournal(*compiled, 0, dir.path()).ok());
  absl::StatusOr<Recording> recording = ReadRecording(dir.path());
  ASSERT_TRUE(recording.ok()) << recording.status();
  for (const char* name :
       {"whatif_more_billing.textproto", "whatif_billing_relax_earlier.textproto"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<v1::Scenario> what_if = LoadScenarioFile(examples + name);
    ASSERT_TRUE(what_if.ok()) << what_if.status();
    ASSERT_TRUE(CheckWhatIf(*what_if).ok());
    absl::StatusOr<ReplayResult> result =
        RunReplay(*recording, &*what_if, ReplayOptions{.replications = 2, .threads = 2});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->changes.size(), 1u);
    const SimSummary summary = Summarize(result->what_if);
    ASSERT_NE(FindQueue(summary, "billing"), nullptr);
    const QueueFigures* recorded = nullptr;
    for (const QueueFigures& q : result->recorded.queues) {
      if (q.queue == "billing") recorded = &q;
    }
    ASSERT_NE(recorded, nullptr);
    // Both changes are meant to shorten the billing queue's waits.
    EXPECT_LT(FindQueue(summary, "billing")->asa_seconds.mean, recorded->asa_seconds);
  }
}

}  // namespace
}  // namespace omniroute::sim
