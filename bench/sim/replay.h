// What-if replay: a day a daemon recorded in its journal, played again through another
// configuration.
//
// `omnirouted` journals every command it accepts, with the time it applied it
// (durability/codec.h). That is the centre's real day: when each customer arrived, on which
// channel, for which queue; how long each engineer took to accept, to handle and to wrap up;
// when customers gave up; when engineers logged in, took breaks and left. A replay
//
//   1. reads the data directory without changing it (ReadRecording: the oldest snapshot the
//      journal continues from, or none if the journal starts at its first record, and every
//      record after it; the daemon may keep running);
//   2. replays the recording exactly through an engine and measures it (the "recorded" run:
//      the same figures as the simulator's, from the same MetricsCollector);
//   3. extracts from that run a trace (RecordedTrace): every session with its arrival, its
//      handle time, its patience and its robot time; every engineer with the accept delays,
//      rejections and wrap-up times it showed; the staffing (presence changes) and the
//      administrative changes over the day;
//   4. simulates the trace (Simulate, bench/sim/simulator.h) on the recorded centre with the
//      what-if's changes applied: queues replaced or added (another strategy, other
//      relaxation steps, another offer timeout...), engineer groups added, channels changed.
//
// What carries over and what is modelled (docs/SIMULATION.md "What-if replay"):
//   - arrivals, sessions' requirements, priority and customer, robot times and outcomes, and
//     handle times (first assignment to completion) are the recorded ones;
//   - a customer who abandoned after waiting w abandons after w again; a customer who was
//     answered after waiting w (or was still waiting at the end) was willing to wait at
//     least w: their patience is w plus an exponential draw whose rate is the queue's
//     maximum-likelihood abandonment rate (abandonments / total waiting time, the usual
//     estimator under censoring); a queue with no abandonment gives infinite patience;
//   - an engineer's accept delay is drawn from the delays it showed (an offer it let expire
//     counts as a delay beyond the timeout), its reject probability is its share of
//     rejected offers, its wrap-up time is drawn from the wrap-ups it ended itself;
//   - sessions withdrawn by the gateway while waiting, and sessions still with the robot at
//     the end, are left out of the what-if run (they never reach an engineer);
//   - a transferred session's handle time runs from its first assignment to its completion
//     and the what-if does not transfer it.
// The what-if run with no change ("--replay" alone) shows how close the model comes to the
// recording; it is the first thing to look at.
//
//   absl::StatusOr<Recording> recording = ReadRecording("/var/lib/omniroute");
//   absl::StatusOr<ReplayResult> result = RunReplay(*recording, what_if, ReplayOptions{});
//   std::cout << FormatReplayText(*result);

#ifndef OMNIROUTE_BENCH_SIM_REPLAY_H_
#define OMNIROUTE_BENCH_SIM_REPLAY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/sim/metrics.h"
#include "bench/sim/report.h"
#include "bench/sim/scenario.h"
#include "bench/sim/simulator.h"
#include "omniroute/durability/codec.h"
#include "omniroute/sim/v1/scenario.pb.h"

namespace omniroute::sim {

// A data directory's journal, read.
struct Recording {
  std::string data_dir;
  // The replay starts from this snapshot's engine state (the oldest valid snapshot the kept
  // journal reaches), or from an empty engine when the journal starts at record 1.
  std::optional<uint64_t> snapshot_position;
  std::string engine_snapshot;
  // The records from there on, in order.
  std::vector<durability::JournalEntry> entries;
  uint64_t first_position = 1;
  // The engine's time at the start (the snapshot's clock, or the first record's time) and
  // the last record's time.
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfinitePast();
  // Remarks for the report: damaged snapshots skipped, a torn tail not read.
  std::vector<std::string> notes;
};

// Reads `data_dir` (omnirouted's data_dir) without changing anything in it. NOT_FOUND when
// there is no journal; DATA_LOSS for a damaged journal (naming file and offset) or when the
// kept journal starts after record 1 and no snapshot reaches it.
absl::StatusOr<Recording> ReadRecording(const std::string& data_dir);

struct ReplayOptions {
  // The measurement starts this long after the recording does (sessions arriving earlier
  // are simulated but not counted: the what-if starts with the recorded centre idle).
  absl::Duration warmup = absl::ZeroDuration();
  int replications = 10;
  uint64_t seed = 1;
  // Threads for the replications; 0: the machine's cores.
  int threads = 0;
};

// What the replay took from the recording.
struct TraceSummary {
  int64_t sessions = 0;            // sessions created in the recording
  int64_t replayed = 0;            // ... simulated in the what-if run
  int64_t withdrawn = 0;           // left out: withdrawn by the gateway while waiting
  int64_t still_in_bot = 0;        // left out: with the robot at the end
  int64_t abandoned = 0;           // replayed with their recorded patience
  int64_t censored_patience = 0;   // replayed with a patience drawn beyond their wait
  int64_t engineers = 0;           // engineers seen in the recording
  int64_t scheduled_commands = 0;  // presence and administrative changes replayed
  int64_t records = 0;             // journal records read
};

struct ReplayResult {
  std::string data_dir;
  absl::Time start, measure_start, end;
  ReplicationMetrics recorded;
  // The what-if run, one entry per replication, and their summary.
  std::vector<ReplicationMetrics> what_if;
  std::vector<std::string> changes;  // what the what-if changed, one line each
  TraceSummary trace;
  std::vector<std::string> notes;
  double wall_seconds = 0;
};

// Checks a what-if file: a Scenario with only channels, queues, engineer_groups,
// missed_offers_limit, replications and seed set (the demand and the duration come from the
// recording). INVALID_ARGUMENT naming the field otherwise.
absl::Status CheckWhatIf(const v1::Scenario& what_if);

// Replays `recording` as recorded and through `what_if` (nullptr: no change).
absl::StatusOr<ReplayResult> RunReplay(const Recording& recording, const v1::Scenario* what_if,
                                       const ReplayOptions& options);

// Runs replication `replication` of `scenario` and writes every command the engine accepted,
// at the engine's time, as omnirouted's journal into `dir` (created; it must hold no journal
// yet): a synthetic day to try a what-if replay on. Returns the number of records.
// FAILED_PRECONDITION when `dir` already holds journal segments.
absl::StatusOr<int64_t> WriteScenarioJournal(const CompiledScenario& scenario, int replication,
                                             const std::string& dir);

// The recorded and what-if figures side by side (what-if: mean and 95 % interval over the
// replications), per queue and overall, and the occupancy per group.
std::string FormatReplayText(const ReplayResult& result);
std::string FormatReplayJson(const ReplayResult& result);

}  // namespace omniroute::sim

#endif  // OMNIROUTE_BENCH_SIM_REPLAY_H_
