// omniroute-recovery-data: writes a data directory as omnirouted would leave it after a crash
// in a big centre, for measuring recovery (bench/recovery_figures.sh).
//
//   omniroute-recovery-data DIR [WAITING] [ENGINEERS] [JOURNAL_RECORDS]
//
// The centre of bench/workload.h (100 queues, 50 skills) with ENGINEERS engineers (default
// 10,000, all NOT_READY so that nothing is routed) and WAITING sessions waiting (default
// 1,000,000). The snapshot covers all but the last JOURNAL_RECORDS sessions (default 10,000),
// which are journal records after it, so recovery loads the snapshot and replays them. The
// snapshot is in the daemon's format (daemon/router.cc: u64 length of the engine's snapshot,
// the engine's snapshot, the daemon's state, here empty). Prints the state digest of the
// engine it wrote, and the sizes.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "omniroute/durability/codec.h"
#include "omniroute/durability/file_journal.h"
#include "omniroute/durability/snapshot_file.h"
#include "omniroute/engine.h"
#include "workload.h"

namespace omniroute::bench {
namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "omniroute-recovery-data: %s\n", what.c_str());
  return 1;
}

int64_t Arg(int argc, char** argv, int i, int64_t default_value) {
  int64_t v = default_value;
  if (argc > i && !absl::SimpleAtoi(argv[i], &v)) {
    std::fprintf(stderr, "omniroute-recovery-data: \"%s\" is not a number\n", argv[i]);
    std::exit(2);
  }
  return v;
}

int Run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [WAITING] [ENGINEERS] [JOURNAL_RECORDS]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int64_t waiting = Arg(argc, argv, 2, 1'000'000);
  const int64_t engineers = Arg(argc, argv, 3, 10'000);
  const int64_t journaled = std::min(Arg(argc, argv, 4, 10'000), waiting);
  if (std::filesystem::exists(dir) && !std::filesystem::is_empty(dir)) {
    return Fail(dir + " exists and is not empty");
  }
  std::filesystem::create_directories(dir);

  WorkloadConfig config;
  config.engineers = static_cast<int>(engineers);
  config.warmup = absl::ZeroDuration();
  Workload workload(config);
  Engine engine;
  workload.BuildCentre(engine);
  // The sessions arrive at 1,000 a millisecond, the last one now: the daemon started on the
  // directory sees them as waiting since a moment ago (plus however long this tool takes),
  // as after a crash and a prompt restart.
  absl::Time at = std::max(workload.start(),
                           absl::Now() - absl::Milliseconds(waiting / 1000 + 1));
  std::vector<Event> events;
  for (int e = 0; e < config.engineers; ++e) {
    events.clear();
    if (!engine
             .Apply(SetPresence{workload.engineer_id(static_cast<uint32_t>(e)),
                                Presence::kNotReady, "break", absl::ZeroDuration()},
                    at, &events)
             .ok()) {
      return Fail("SetPresence refused");
    }
  }
  std::mt19937_64 rng(20240611);
  const auto create = [&](int64_t i) -> absl::Status {
    if (i % 1000 == 0) at += absl::Milliseconds(1);
    events.clear();
    CreateSession c = workload.WaitingSession(rng());
    absl::Status s = engine.Apply(c, at, &events);
    return s;
  };
  for (int64_t i = 0; i < waiting - journaled; ++i) {
    if (absl::Status s = create(i); !s.ok()) return Fail(std::string(s.message()));
  }
  // As omnirouted writes it, with an empty DaemonState (no bytes).
  const std::string bytes = durability::JoinSnapshotParts(engine.SaveSnapshot(), "");
  if (absl::Status s = durability::WriteSnapshotFile(dir, 1, bytes); !s.ok()) {
    return Fail(s.ToString());
  }
  absl::StatusOr<std::unique_ptr<durability::FileJournal>> journal =
      durability::FileJournal::Open(dir);
  if (!journal.ok()) return Fail(journal.status().ToString());
  std::vector<std::string> records;
  for (int64_t i = waiting - journaled; i < waiting; ++i) {
    if (i % 1000 == 0) at += absl::Milliseconds(1);
    events.clear();
    CreateSession c = workload.WaitingSession(rng());
    if (absl::Status s = engine.Apply(c, at, &events); !s.ok()) {
      return Fail(std::string(s.message()));
    }
    records.push_back(durability::EncodeEntry(durability::JournalEntry{
        .at = engine.now(), .command = c, .request_id = {}, .request_fingerprint = 0}));
    if (records.size() == 1000) {
      if (absl::StatusOr<uint64_t> p = (*journal)->Append(records); !p.ok()) {
        return Fail(p.status().ToString());
      }
      records.clear();
    }
  }
  if (absl::StatusOr<uint64_t> p = (*journal)->Append(records); !p.ok()) {
    return Fail(p.status().ToString());
  }
  if (absl::Status s = (*journal)->Sync(); !s.ok()) return Fail(s.ToString());
  std::printf("data_dir=%s waiting=%lld engineers=%lld snapshot_bytes=%zu journal_records=%lld "
              "sessions=%zu\n",
              dir.c_str(), static_cast<long long>(waiting), static_cast<long long>(engineers),
              bytes.size(), static_cast<long long>(journaled), engine.ListSessions().size());
  return 0;
}

}  // namespace
}  // namespace omniroute::bench

int main(int argc, char** argv) { return omniroute::bench::Run(argc, argv); }
