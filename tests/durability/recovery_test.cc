// Randomized end-to-end crash recovery: the durability library with the real engine, used
// the way an embedding program (omnirouted is one) uses it, without the daemon.
//
// For each seed a live Engine runs a generated command stream (tests/engine/support/
// command_gen.h), with time advancing between commands as a timer would make it (Advance
// calls are not journaled: their effects are reproduced on replay, because Apply fires the
// timers due first). Every command the engine accepts becomes a JournalEntry at
// `engine.now()` (some with a request id and fingerprint) and is appended to a FileJournal
// in batches of random size (one Append per batch, MaybeSync after), with small segments so
// that they rotate. At random points the pending batch is appended, a snapshot written at
// `next_position()`, and the journal truncated before the previous snapshot's position
// (durability/README.md). Then the process "crashes" right after appending a batch (the
// journal and the lock are dropped without a sync), the data directory is damaged in one of
// the ways a crash or a disk can, and a fresh engine is recovered as the README says:
// LockFile, LoadNewestSnapshot, FileJournal::Open, ReadFrom(P) + DecodeEntry + Apply at
// `entry.at`.
//
//   CleanCrashRecoversTheLiveState: everything appended survives. After each record replayed
//     the recovered engine's StateDigest is the live engine's right after that record (at the
//     snapshot's, when no record follows it); advanced to the live engine's time, it equals
//     the live engine's; then both run the next generated steps (with the same Advance calls)
//     and must agree on every status, every event and every digest. The recovered engine
//     journals its own accepted commands into the reopened journal, and a second recovery
//     gives its state back.
//   TornTailRecoversUpToTheLastCompleteRecord: the last segment is cut at a random byte
//     inside the last batch. Open reports exactly the bytes of the torn record as dropped
//     (naming the file), next_position() is one past the last complete record, and the
//     recovered state is the live engine's right after that record; an engine rebuilt in
//     memory from the surviving records (or loaded from the live snapshot, when none
//     survived after it) then runs in lockstep with the recovered one, which journals after
//     the cut; a second recovery gives its state back.
//   CorruptRecordFollowedByValidOnesIsDataLoss: one byte of a record that is not the last
//     is flipped. Open fails with DATA_LOSS naming the segment file and the record's offset,
//     and changes no file.
//   DamagedNewestSnapshotFallsBackToTheOlderOne: one byte of the newest snapshot file is
//     flipped. LoadNewestSnapshot skips it (naming it) and returns the snapshot before it
//     (or none), whose journal was kept; recovery from there (a longer replay) gives the
//     same state as in the clean case.
//   RequestIdsAndEveryRecordRoundTrip: every record in the journal reads back byte for byte,
//     and decodes to the entry appended (time, command, request id, fingerprint).
//   DroppingOneRecordIsNoticed: the checks can fail. Replaying with one record left out (the
//     engine only advanced to its time) must be noticed: a later record refused, or the
//     digest after some record, or at the end, not the live engine's. Checked for one
//     CreateSession and one record of a kind that always changes the state per sequence;
//     one record of any kind is counted (an upsert or presence change may be a no-op).
//
// A failure names the seed and prints the first line where the DumpState() of the engines
// differ; when the recovered state is wrong, an engine rebuilt in memory from the accepted
// commands tells a replay problem (the engine) from a durability one (the files).
//
// Environment:
//   OMNIROUTE_RECOVERY_SEQUENCES   seeds per test (default 150; 40 under ASan)
//   OMNIROUTE_RECOVERY_FIRST_SEED  the first seed (default 1); to run seed 17 alone:
//                                  OMNIROUTE_RECOVERY_FIRST_SEED=17
//                                  OMNIROUTE_RECOVERY_SEQUENCES=1
//   OMNIROUTE_RECOVERY_TMPDIR      where the data directories go (default /dev/shm when it
//                                  is a writable directory, else $TMPDIR or /tmp: the
//                                  sequences fsync tens of thousands of times, milliseconds
//                                  each on a disk, nothing on tmpfs)

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/support/command_gen.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/command.h"
#include "omniroute/durability/codec.h"
#include "omniroute/durability/file_journal.h"
#include "omniroute/durability/lock_file.h"
#include "omniroute/durability/snapshot_file.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"
#include "temp_dir.h"

namespace omniroute::durability {
namespace {

using ::omniroute::testing::CommandGenerator;
using ::omniroute::testing::DescribeCommand;
using ::omniroute::testing::GeneratorOptions;
using ::omniroute::testing::Step;
using testing::FileSizeOf;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::WriteFile;

// ---------------------------------------------------------------------------------------
// Settings

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoll(value, nullptr, 10);
}

int64_t SequenceCount() {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int64_t kDefault = 40;
#else
  constexpr int64_t kDefault = 150;
#endif
  return EnvInt("OMNIROUTE_RECOVERY_SEQUENCES", kDefault);
}

uint64_t FirstSeed() { return static_cast<uint64_t>(EnvInt("OMNIROUTE_RECOVERY_FIRST_SEED", 1)); }

// Where the data directories go (see the top of the file).
std::string ScratchBase() {
  const char* chosen = std::getenv("OMNIROUTE_RECOVERY_TMPDIR");
  if (chosen != nullptr && *chosen != '\0') return chosen;
  struct stat st;
  if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

// A fresh data directory for one sequence, removed with everything in it at the end (like
// temp_dir.h's TempDir, but under ScratchBase()).
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ScratchBase() + "/omniroute-recovery-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern << " failed: " << std::strerror(errno);
    }
    path_ = buf.data();
  }
  ~ScratchDir() { testing::RemoveTree(path_); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // The names in the directory, sorted.
  std::vector<std::string> List() const {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (struct dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
          names.emplace_back(e->d_name);
        }
      }
      ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::string path_;
};

// Steps generated after the setup: enough that the crash point (below) usually falls inside
// the stream and some steps are left to run after recovery.
GeneratorOptions StreamOptions() {
  GeneratorOptions options;
  options.min_stream = 60;
  options.max_stream = 110;
  return options;
}

// How many generated steps run after recovery, in lockstep.
constexpr int kContinuationSteps = 15;

// ---------------------------------------------------------------------------------------
// Rendering

std::string Render(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) absl::StrAppend(&out, "    ", e.ToString(), "\n");
  return out;
}

// The first line where two DumpState() texts differ, with two lines of context before it.
std::string DumpDiff(absl::string_view want_label, const std::string& want,
                     absl::string_view got_label, const std::string& got) {
  std::vector<std::string> a = absl::StrSplit(want, '\n');
  std::vector<std::string> b = absl::StrSplit(got, '\n');
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  if (i == a.size() && i == b.size()) return "  (the DumpState texts are equal)\n";
  std::string out = absl::StrCat("  first differing DumpState line ", i, ":\n");
  for (size_t k = i >= 2 ? i - 2 : 0; k < i; ++k) absl::StrAppend(&out, "    same: ", a[k], "\n");
  absl::StrAppend(&out, "    ", want_label, ": ", i < a.size() ? a[i] : "(end)", "\n");
  absl::StrAppend(&out, "    ", got_label, ": ", i < b.size() ? b[i] : "(end)", "\n");
  return out;
}

std::string SegmentPath(const std::string& dir, const std::string& name) {
  return absl::StrCat(dir, "/", name);
}

// ---------------------------------------------------------------------------------------
// Reading segment files independently of the library (file_journal.h describes the format),
// to find where each record is.

uint64_t LittleEndian(absl::string_view bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<size_t>(i)]);
  }
  return v;
}

constexpr uint64_t kSegmentHeaderBytes = 24;
constexpr uint64_t kRecordHeaderBytes = 8;

struct RecordSpan {
  std::string segment;  // file name
  uint64_t position = 0;
  uint64_t offset = 0;  // of the record's length field
  uint64_t bytes = 0;   // length fields and payload
};

// Every record of every segment in `dir`, oldest first (the segment files must be intact).
std::vector<RecordSpan> ListRecords(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<RecordSpan> out;
  for (const std::string& name : names) {
    const std::string bytes = ReadFile(SegmentPath(dir, name));
    if (bytes.size() < kSegmentHeaderBytes) {
      ADD_FAILURE() << name << " is shorter than a segment header";
      return out;
    }
    uint64_t position = LittleEndian(bytes, 12, 8);
    uint64_t offset = kSegmentHeaderBytes;
    while (offset + kRecordHeaderBytes <= bytes.size()) {
      const uint64_t length = LittleEndian(bytes, offset, 4);
      out.push_back({name, position++, offset, kRecordHeaderBytes + length});
      offset += kRecordHeaderBytes + length;
    }
    if (offset != bytes.size()) ADD_FAILURE() << name << " does not end at a record boundary";
  }
  return out;
}

// Every file of the directory and its bytes.
std::map<std::string, std::string> Contents(const ScratchDir& dir) {
  std::map<std::string, std::string> out;
  for (const std::string& name : dir.List()) out[name] = ReadFile(dir.file(name));
  return out;
}

// ---------------------------------------------------------------------------------------
// Recovery, as durability/README.md describes it.

struct Recovery {
  EngineOptions options;  // what the engine was built with (a snapshot replaces them)
  std::optional<LockFile> lock;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<FileJournal> journal;
  uint64_t from = 1;                    // the snapshot's position, or 1
  std::optional<std::string> snapshot;  // its path
  std::string snapshot_bytes;
  std::vector<std::string> skipped;  // damaged snapshots passed over
  std::vector<std::pair<uint64_t, JournalEntry>> replayed;
  std::vector<uint64_t> digests;  // the engine's StateDigest after each record replayed
};

// Recovers the data directory `dir` into a fresh engine built with `options` (what the
// embedding program's configuration says; a snapshot brings its own). `skip`, if not zero,
// is a record left out of the replay, to show that the checks would notice: the engine is
// only advanced to its time.
absl::StatusOr<Recovery> Recover(const std::string& dir, const EngineOptions& options,
                                 const FileJournalOptions& journal_options, uint64_t skip = 0) {
  Recovery r;
  r.options = options;
  absl::StatusOr<LockFile> lock = LockFile::Acquire(dir);
  if (!lock.ok()) return lock.status();
  r.lock.emplace(*std::move(lock));

  absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir);
  if (!loaded.ok()) return loaded.status();
  r.skipped = loaded->skipped;
  r.engine = std::make_unique<Engine>(options);
  if (loaded->snapshot.has_value()) {
    if (absl::Status s = r.engine->LoadSnapshot(loaded->snapshot->bytes); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(loaded->snapshot->path, ": ", s.message()));
    }
    r.from = loaded->snapshot->position;
    r.snapshot = loaded->snapshot->path;
    r.snapshot_bytes = loaded->snapshot->bytes;
  }

  absl::StatusOr<std::unique_ptr<FileJournal>> journal = FileJournal::Open(dir, journal_options);
  if (!journal.ok()) return journal.status();
  r.journal = *std::move(journal);
  if (r.from > r.journal->next_position()) {
    return absl::DataLossError(absl::StrCat("the snapshot covers records up to ", r.from - 1,
                                            " but the journal ends at ",
                                            r.journal->next_position() - 1));
  }
  if (r.from < r.journal->first_position()) {
    return absl::DataLossError(absl::StrCat("the snapshot needs the journal from ", r.from,
                                            " but it starts at ", r.journal->first_position()));
  }
  uint64_t expected = r.from;
  absl::Status replay =
      r.journal->ReadFrom(r.from, [&](uint64_t position, absl::string_view record) -> absl::Status {
        if (position != expected) {
          return absl::InternalError(
              absl::StrCat("ReadFrom gave position ", position, " where ", expected, " was due"));
        }
        ++expected;
        absl::StatusOr<JournalEntry> entry = DecodeEntry(record);
        if (!entry.ok()) {
          return absl::Status(entry.status().code(),
                              absl::StrCat("record ", position, ": ", entry.status().message()));
        }
        std::vector<Event> events;
        if (position == skip) {
          r.engine->Advance(entry->at, &events);
        } else if (absl::Status s = r.engine->Apply(entry->command, entry->at, &events); !s.ok()) {
          return absl::InternalError(absl::StrCat("record ", position, " (",
                                                  DescribeCommand(entry->command),
                                                  ") was refused on replay: ", s.ToString()));
        }
        r.digests.push_back(r.engine->StateDigest());
        r.replayed.emplace_back(position, *std::move(entry));
        return absl::OkStatus();
      });
  if (!replay.ok()) return replay;
  if (expected != r.journal->next_position()) {
    return absl::InternalError(absl::StrCat("ReadFrom stopped at ", expected,
                                            ", next_position() is ", r.journal->next_position()));
  }
  return r;
}

// The recovered engine's DumpState right after record `position`, replayed again in memory
// from the snapshot and the entries the recovery read (for failure messages).
std::string RecoveredDumpAt(const Recovery& r, uint64_t position) {
  Engine engine(r.options);
  if (r.snapshot.has_value() && !engine.LoadSnapshot(r.snapshot_bytes).ok()) {
    return "(the snapshot does not load again)";
  }
  for (const auto& [p, entry] : r.replayed) {
    if (p > position) break;
    std::vector<Event> events;
    if (!engine.Apply(entry.command, entry.at, &events).ok()) return "(refused again)";
  }
  return engine.DumpState();
}

// ---------------------------------------------------------------------------------------
// The live side: an embedding program driving an engine and journaling what it accepts.

struct LiveOptions {
  // Chance, before each step, of appending the pending batch and writing a snapshot.
  int snapshot_percent = 5;
  // Chance, before each step, of an Advance (a timer firing, or a batch starting).
  int advance_percent = 35;
  int max_batch = 8;
  // The crash comes right after the first batch appended at or after a step drawn from
  // [crash_min_step, crash_max_step].
  int crash_min_step = 1;
  int crash_max_step = 90;
};

// The last batch appended: where it lies in its segment file.
struct BatchSpan {
  std::string segment;  // file name
  uint64_t first_position = 0;
  uint64_t begin = 0;                  // the segment's size before it
  std::vector<uint64_t> record_bytes;  // each record, with its length fields
  uint64_t end() const {
    uint64_t e = begin;
    for (uint64_t b : record_bytes) e += b;
    return e;
  }
};

struct Totals {
  int64_t sequences = 0;
  int64_t steps = 0;
  int64_t accepted = 0;
  int64_t advances = 0;
  int64_t batches = 0;
  int64_t segments = 0;
  int64_t snapshots = 0;
  int64_t truncated_segments = 0;  // removed by TruncateBefore
  int64_t replayed = 0;
  int64_t continued = 0;  // steps run in lockstep after recovery
  std::string Summary() const {
    return absl::StrCat(sequences, " sequences, ", steps, " steps (", accepted, " accepted, ",
                        advances, " advances), ", batches, " batches in ", segments, " segments, ",
                        snapshots, " snapshots, ", truncated_segments, " segments truncated away, ",
                        replayed, " records replayed, ", continued, " steps after recovery");
  }
};

class Live {
 public:
  Live(uint64_t seed, uint64_t salt, std::string dir, LiveOptions options = {})
      : seed_(seed),
        dir_(std::move(dir)),
        options_(options),
        rng_(seed * 0x9E3779B97F4A7C15ull + salt),
        generator_(seed, StreamOptions()),
        engine_(generator_.engine_options()) {
    static constexpr uint64_t kSegmentBytes[] = {160, 400, 1000, 3000};
    journal_options_.max_segment_bytes = kSegmentBytes[Uniform(0, 3)];
    // Mostly no fsync per batch (the crash is a process crash, and the directory may be on a
    // disk); the other policies now and then, on the engine's (virtual) time.
    switch (Uniform(0, 7)) {
      case 0:
        journal_options_.sync_policy = SyncPolicy::kEveryBatch;
        break;
      case 1:
      case 2:
        journal_options_.sync_policy = SyncPolicy::kInterval;
        journal_options_.sync_interval = absl::Seconds(Uniform(1, 30));
        break;
      default:
        journal_options_.sync_policy = SyncPolicy::kNever;
        break;
    }
    crash_step_ = static_cast<size_t>(Uniform(options_.crash_min_step, options_.crash_max_step));
    batch_target_ = static_cast<size_t>(Uniform(1, options_.max_batch));
  }

  // Opens the data directory and runs until the crash point (or the end of the stream).
  void RunUntilCrash() {
    absl::StatusOr<LockFile> lock = LockFile::Acquire(dir_);
    ASSERT_TRUE(lock.ok()) << lock.status();
    lock_.emplace(*std::move(lock));
    absl::StatusOr<std::unique_ptr<FileJournal>> journal =
        FileJournal::Open(dir_, journal_options_);
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = *std::move(journal);
    initial_digest_ = engine_.StateDigest();

    while (!::testing::Test::HasFatalFailure()) {
      if (Chance(options_.snapshot_percent)) Snapshot();
      std::vector<Event> events;
      if (std::optional<absl::Time> t = PickAdvance(engine_)) {
        engine_.Advance(*t, &events);
        ++totals_.advances;
      }
      std::optional<Step> step = generator_.Next(engine_);
      if (!step.has_value()) break;
      ++steps_;
      if (engine_.Apply(step->command, step->at, &events).ok()) Accept(step->command);
      if (pending_.size() >= batch_target_) {
        Flush();
        if (steps_ >= crash_step_) return;
      }
    }
    Flush();
  }

  // The process dies: the journal is closed without a sync, the lock released.
  void Crash() {
    journal_.reset();
    lock_.reset();
  }

  // Runs the next `count` generated steps on `a` and `b` in lockstep, with the same Advance
  // calls; the generator looks at `a`. Statuses, events and digests must agree. `b`'s
  // accepted commands are appended to `journal` (its process goes on journaling), one batch
  // per step. Returns `b`'s digest after its last accepted command (nullopt if none).
  std::optional<uint64_t> Lockstep(Engine& a, Engine& b, FileJournal& journal, int count) {
    std::optional<uint64_t> digest;
    for (int i = 0; i < count; ++i) {
      std::vector<Event> a_events;
      std::vector<Event> b_events;
      if (std::optional<absl::Time> t = PickAdvance(a)) {
        a.Advance(*t, &a_events);
        b.Advance(*t, &b_events);
      }
      std::optional<Step> step = generator_.Next(a);
      if (!step.has_value()) break;
      ++totals_.continued;
      const absl::Status a_status = a.Apply(step->command, step->at, &a_events);
      const absl::Status b_status = b.Apply(step->command, step->at, &b_events);
      const std::string where =
          absl::StrCat("step ", i, " after recovery: ", ::omniroute::testing::DescribeStep(*step));
      EXPECT_EQ(b_status.ToString(), a_status.ToString()) << where;
      EXPECT_EQ(Render(b_events), Render(a_events)) << where;
      if (b.StateDigest() != a.StateDigest()) {
        ADD_FAILURE() << where << "\n"
                      << DumpDiff("expected", a.DumpState(), "recovered", b.DumpState());
      }
      if (::testing::Test::HasFailure()) return digest;
      if (b_status.ok()) {
        JournalEntry entry{
            .at = b.now(), .command = step->command, .request_id = {}, .request_fingerprint = 0};
        absl::StatusOr<uint64_t> at = journal.Append({EncodeEntry(entry)});
        EXPECT_TRUE(at.ok()) << at.status();
        if (!at.ok()) return digest;
        digest = b.StateDigest();
      }
    }
    return digest;
  }

  // The digest the recovered engine must have right after replaying the journal up to
  // `next_position` on top of the snapshot at `from` (none if `snapshot` is false): the
  // live engine's right after the last record replayed, or at the snapshot if no record
  // follows it.
  uint64_t ExpectedDigest(uint64_t from, bool snapshot, uint64_t next_position) const {
    if (next_position > from) return digest_after_.at(next_position - 2);
    if (snapshot) return snapshot_digest_.at(from);
    return initial_digest_;
  }

  // An engine rebuilt in memory from the accepted commands before `next_position`, at their
  // journal times: what any replay must give.
  std::unique_ptr<Engine> Rebuild(uint64_t next_position) const {
    auto engine = std::make_unique<Engine>(generator_.engine_options());
    for (uint64_t p = 1; p < next_position; ++p) {
      std::vector<Event> events;
      absl::Status s = engine->Apply(entries_[p - 1].command, entries_[p - 1].at, &events);
      EXPECT_TRUE(s.ok()) << "record " << p << " (" << DescribeCommand(entries_[p - 1].command)
                          << ") refused when rebuilt in memory: " << s;
    }
    return engine;
  }

  // What the recovered engine must hold after replaying up to `next_position` on top of the
  // snapshot at `from` (see ExpectedDigest): rebuilt in memory from the accepted commands,
  // or the snapshot the live engine wrote when no record follows it.
  std::unique_ptr<Engine> DurableState(uint64_t from, bool snapshot, uint64_t next_position) const {
    if (next_position > from || !snapshot) return Rebuild(next_position);
    auto engine = std::make_unique<Engine>(generator_.engine_options());
    absl::Status s = engine->LoadSnapshot(snapshot_bytes_.at(from));
    EXPECT_TRUE(s.ok()) << s;
    return engine;
  }

  // Why a recovered engine's state is wrong: whether replaying the accepted commands in
  // memory (no files involved) reproduces the live engine, and where the recovered state
  // differs from that replay.
  std::string Explain(const std::string& recovered_dump, uint64_t next_position) const {
    std::string out;
    auto engine = std::make_unique<Engine>(generator_.engine_options());
    for (uint64_t p = 1; p < next_position; ++p) {
      std::vector<Event> events;
      const JournalEntry& e = entries_[p - 1];
      absl::Status s = engine->Apply(e.command, e.at, &events);
      if (!s.ok() || engine->StateDigest() != digest_after_[p - 1]) {
        absl::StrAppend(&out,
                        "  replaying the accepted commands in memory already diverges from "
                        "the live engine at record ",
                        p, " (", DescribeCommand(e.command), " at ", absl::FormatTime(e.at), ": ",
                        s.ToString(), "): a replay problem, not a file problem\n");
        break;
      }
    }
    if (out.empty()) {
      absl::StrAppend(&out,
                      "  the in-memory replay matches the live engine at every record: "
                      "the recovered state is wrong because of the files\n");
    }
    std::unique_ptr<Engine> rebuilt = Rebuild(next_position);
    absl::StrAppend(
        &out, DumpDiff("rebuilt in memory", rebuilt->DumpState(), "recovered", recovered_dump));
    return out;
  }

  // Checks a recovery against what was written: every record replayed decodes to the entry
  // appended, and the state right after the replay is the expected one.
  void CheckRecovered(const Recovery& r) {
    const uint64_t next = r.journal->next_position();
    ASSERT_LE(next - 1, entries_.size());
    EXPECT_EQ(r.journal->open_report().records, next - r.journal->first_position());
    for (const auto& [position, entry] : r.replayed) {
      ASSERT_GE(position, 1u);
      ASSERT_LT(position, next);
      const JournalEntry& want = entries_[position - 1];
      EXPECT_EQ(EncodeEntry(entry), records_[position - 1])
          << "record " << position << " decodes to another entry";
      EXPECT_EQ(entry.at, want.at) << "record " << position;
      EXPECT_EQ(entry.request_id, want.request_id) << "record " << position;
      EXPECT_EQ(entry.request_fingerprint, want.request_fingerprint) << "record " << position;
      EXPECT_EQ(DescribeCommand(entry.command), DescribeCommand(want.command))
          << "record " << position;
    }
    totals_.replayed += static_cast<int64_t>(r.replayed.size());
    for (size_t i = 0; i < r.replayed.size(); ++i) {
      const uint64_t position = r.replayed[i].first;
      if (r.digests[i] != digest_after_[position - 1]) {
        ADD_FAILURE() << "replayed from the snapshot at " << r.from << ", the state after record "
                      << position << " (" << DescribeCommand(entries_[position - 1].command)
                      << " at " << absl::FormatTime(entries_[position - 1].at)
                      << ") is not the live engine's after it\n"
                      << Explain(RecoveredDumpAt(r, position), position + 1);
        return;
      }
    }
    const uint64_t want = ExpectedDigest(r.from, r.snapshot.has_value(), next);
    if (r.engine->StateDigest() != want) {
      ADD_FAILURE() << "the recovered state (snapshot at " << r.from << ", records up to "
                    << next - 1 << ") is not the live engine's\n"
                    << Explain(r.engine->DumpState(), next);
    }
  }

  // Brings the recovered engine to the live engine's time (the daemon does this after
  // recovery: the timers due meanwhile fire) and compares the whole state.
  void CheckCaughtUp(Engine& recovered) {
    std::vector<Event> events;
    recovered.Advance(engine_.now(), &events);
    if (recovered.StateDigest() != engine_.StateDigest()) {
      ADD_FAILURE() << "advanced to the live engine's time, the recovered engine differs\n"
                    << DumpDiff("live", engine_.DumpState(), "recovered", recovered.DumpState());
    }
  }

  // Folds this sequence's counts into `totals`.
  void AddTo(Totals& totals) const {
    totals.sequences += 1;
    totals.steps += static_cast<int64_t>(steps_);
    totals.accepted += static_cast<int64_t>(entries_.size());
    totals.advances += totals_.advances;
    totals.batches += totals_.batches;
    totals.segments += static_cast<int64_t>(segments_seen_.size());
    totals.snapshots += static_cast<int64_t>(snapshots_.size());
    totals.truncated_segments += totals_.truncated_segments;
    totals.replayed += totals_.replayed;
    totals.continued += totals_.continued;
  }

  Engine& engine() { return engine_; }
  const EngineOptions& engine_options() const { return generator_.engine_options(); }
  const FileJournalOptions& journal_options() const { return journal_options_; }
  const std::vector<JournalEntry>& entries() const { return entries_; }
  const std::vector<std::string>& records() const { return records_; }
  const std::vector<uint64_t>& digest_after() const { return digest_after_; }
  const std::vector<uint64_t>& snapshots() const { return snapshots_; }
  const std::optional<BatchSpan>& last_batch() const { return last_batch_; }
  // Whether a snapshot was written after the last batch was appended.
  bool snapshot_after_last_batch() const { return snapshot_after_last_batch_; }
  uint64_t seed() const { return seed_; }
  std::mt19937_64& rng() { return rng_; }

  // Uniform in [lo, hi].
  int64_t Uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }

 private:
  // When to advance `engine` to before the next step, if at all: right at its next timer or
  // a little after it (a timer firing), or a moment later (a batch starting).
  std::optional<absl::Time> PickAdvance(const Engine& engine) {
    if (!Chance(options_.advance_percent)) return std::nullopt;
    const absl::Time now = engine.now();
    const std::optional<absl::Time> next = engine.NextDeadline();
    switch (Uniform(0, 4)) {
      case 0:
        return now;
      case 1:
      case 2:
        if (next.has_value() && *next - now <= absl::Seconds(90)) {
          const int64_t late = Uniform(0, 2) == 0 ? 0 : Uniform(1, 500'000);
          return std::max(now, *next + absl::Microseconds(late));
        }
        return now + absl::Microseconds(Uniform(1, 4'000'000));
      default:
        return now + absl::Microseconds(Uniform(1, 4'000'000));
    }
  }

  std::string RequestId() {
    switch (Uniform(0, 5)) {
      case 0:
        return "";
      case 1:
        return std::string("r\0bin\xff", 6);
      case 2:
        return std::string(static_cast<size_t>(Uniform(100, 400)), 'k');
      case 3:
        return "\xe8\xaf\xb7\xe6\xb1\x82-7";  // "请求-7"
      default:
        return absl::StrCat("req-", seed_, "-", entries_.size());
    }
  }

  void Accept(const Command& command) {
    JournalEntry entry{
        .at = engine_.now(), .command = command, .request_id = {}, .request_fingerprint = 0};
    if (Chance(60)) {
      entry.request_id = RequestId();
      switch (Uniform(0, 3)) {
        case 0:
          entry.request_fingerprint = 0;
          break;
        case 1:
          entry.request_fingerprint = ~uint64_t{0};
          break;
        default:
          entry.request_fingerprint = rng_();
          break;
      }
    }
    records_.push_back(EncodeEntry(entry));
    pending_.push_back(records_.back());
    entries_.push_back(std::move(entry));
    digest_after_.push_back(engine_.StateDigest());
  }

  // Appends the pending batch (one Append), then MaybeSync.
  void Flush() {
    if (pending_.empty()) return;
    const uint64_t want_first = entries_.size() - pending_.size() + 1;
    absl::StatusOr<uint64_t> first = journal_->Append(pending_);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_EQ(*first, want_first);
    BatchSpan batch;
    batch.segment = journal_->segment_names().back();
    batch.first_position = *first;
    uint64_t bytes = 0;
    for (const std::string& record : pending_) {
      batch.record_bytes.push_back(kRecordHeaderBytes + record.size());
      bytes += kRecordHeaderBytes + record.size();
    }
    const off_t size = FileSizeOf(SegmentPath(dir_, batch.segment));
    ASSERT_GE(static_cast<uint64_t>(size), kSegmentHeaderBytes + bytes);
    batch.begin = static_cast<uint64_t>(size) - bytes;
    last_batch_ = std::move(batch);
    snapshot_after_last_batch_ = false;
    segments_seen_.insert(last_batch_->segment);
    ++totals_.batches;
    absl::Status synced = journal_->MaybeSync(engine_.now());
    ASSERT_TRUE(synced.ok()) << synced;
    pending_.clear();
    batch_target_ = static_cast<size_t>(Uniform(1, options_.max_batch));
  }

  // Appends the pending batch, writes a snapshot at next_position() and truncates the
  // journal before the previous snapshot's position (durability/README.md).
  void Snapshot() {
    Flush();
    const uint64_t position = journal_->next_position();
    std::string bytes = engine_.SaveSnapshot();
    absl::Status s = WriteSnapshotFile(dir_, position, bytes);
    ASSERT_TRUE(s.ok()) << s;
    snapshot_digest_[position] = engine_.StateDigest();
    snapshot_bytes_[position] = std::move(bytes);
    snapshots_.push_back(position);
    snapshot_after_last_batch_ = true;
    if (last_snapshot_ > 0 && last_snapshot_ < position) {
      const size_t before = journal_->segment_names().size();
      s = journal_->TruncateBefore(last_snapshot_);
      ASSERT_TRUE(s.ok()) << s;
      ASSERT_LE(journal_->first_position(), last_snapshot_);
      totals_.truncated_segments += static_cast<int64_t>(before - journal_->segment_names().size());
    }
    last_snapshot_ = std::max(last_snapshot_, position);
  }

  const uint64_t seed_;
  const std::string dir_;
  const LiveOptions options_;
  std::mt19937_64 rng_;
  CommandGenerator generator_;
  Engine engine_;
  FileJournalOptions journal_options_;
  std::optional<LockFile> lock_;
  std::unique_ptr<FileJournal> journal_;

  size_t crash_step_ = 0;
  size_t batch_target_ = 1;
  size_t steps_ = 0;
  uint64_t initial_digest_ = 0;
  std::vector<std::string> pending_;
  // Every accepted command, its encoding and the live digest right after it, by position-1.
  std::vector<JournalEntry> entries_;
  std::vector<std::string> records_;
  std::vector<uint64_t> digest_after_;
  // The snapshots written (positions, in order), and the live digest and the bytes of the
  // last one written at each position.
  std::vector<uint64_t> snapshots_;
  std::map<uint64_t, uint64_t> snapshot_digest_;
  std::map<uint64_t, std::string> snapshot_bytes_;
  uint64_t last_snapshot_ = 0;
  std::optional<BatchSpan> last_batch_;
  bool snapshot_after_last_batch_ = false;
  std::set<std::string> segments_seen_;
  Totals totals_;
};

std::string Trace(absl::string_view test, uint64_t seed) {
  return absl::StrCat(test, " seed ", seed, " (OMNIROUTE_RECOVERY_FIRST_SEED=", seed,
                      " OMNIROUTE_RECOVERY_SEQUENCES=1 to run it alone)");
}

// Recovers `dir` a second time and checks that it gives `expected`'s state: the state it had
// after its last journaled command (`digest`, if any), and the same state once advanced to
// its time.
void CheckSecondRecovery(const std::string& dir, const Live& live, Engine& expected,
                         std::optional<uint64_t> digest) {
  absl::StatusOr<Recovery> again = Recover(dir, live.engine_options(), live.journal_options());
  ASSERT_TRUE(again.ok()) << "second recovery: " << again.status();
  EXPECT_TRUE(again->journal->open_report().detail.empty()) << again->journal->open_report().detail;
  if (digest.has_value()) {
    EXPECT_EQ(again->engine->StateDigest(), *digest)
        << "second recovery, right after the replay\n"
        << DumpDiff("before the crash", expected.DumpState(), "recovered",
                    again->engine->DumpState());
  }
  std::vector<Event> events;
  again->engine->Advance(expected.now(), &events);
  if (again->engine->StateDigest() != expected.StateDigest()) {
    ADD_FAILURE() << "second recovery, at the time of the engine before the crash\n"
                  << DumpDiff("before the crash", expected.DumpState(), "recovered",
                              again->engine->DumpState());
  }
}

void PrintTotals(absl::string_view test, const Totals& totals, absl::string_view extra = "") {
  std::cout << "[ recovery ] " << test << ": " << totals.Summary() << extra << "\n";
}

// ---------------------------------------------------------------------------------------
// (1) Clean crash.

TEST(RecoveryTest, CleanCrashRecoversTheLiveState) {
  Totals totals;
  const uint64_t first = FirstSeed();
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(SequenceCount()); ++seed) {
    SCOPED_TRACE(Trace("CleanCrashRecoversTheLiveState", seed));
    ScratchDir dir;
    Live live(seed, 1, dir.path());
    live.RunUntilCrash();
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.Crash();

    absl::StatusOr<Recovery> r = Recover(dir.path(), live.engine_options(), live.journal_options());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->skipped.empty());
    EXPECT_EQ(r->journal->open_report().dropped_bytes, 0u);
    EXPECT_TRUE(r->journal->open_report().detail.empty()) << r->journal->open_report().detail;
    EXPECT_EQ(r->journal->next_position(), live.entries().size() + 1);
    if (!live.snapshots().empty()) {
      EXPECT_EQ(r->from, live.snapshots().back());
    }
    live.CheckRecovered(*r);
    live.CheckCaughtUp(*r->engine);
    ASSERT_FALSE(::testing::Test::HasFailure());

    const std::optional<uint64_t> digest =
        live.Lockstep(live.engine(), *r->engine, *r->journal, kContinuationSteps);
    ASSERT_FALSE(::testing::Test::HasFailure());

    // The recovered process crashes in turn, having journaled after the first recovery.
    Engine& recovered = *r->engine;
    r->journal.reset();
    r->lock.reset();
    CheckSecondRecovery(dir.path(), live, recovered, digest);
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.AddTo(totals);
  }
  PrintTotals("CleanCrashRecoversTheLiveState", totals);
  if (SequenceCount() >= 20) {
    // The sequences exercised what they are meant to.
    EXPECT_GT(totals.segments, 2 * totals.sequences);
    EXPECT_GT(totals.snapshots, 0);
    EXPECT_GT(totals.truncated_segments, 0);
    EXPECT_GT(totals.continued, 0);
  }
}

// ---------------------------------------------------------------------------------------
// (2) Torn tail.

TEST(RecoveryTest, TornTailRecoversUpToTheLastCompleteRecord) {
  Totals totals;
  int64_t torn = 0;
  int64_t records_lost = 0;
  int64_t not_torn = 0;
  const uint64_t first = FirstSeed();
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(SequenceCount()); ++seed) {
    SCOPED_TRACE(Trace("TornTailRecoversUpToTheLastCompleteRecord", seed));
    ScratchDir dir;
    Live live(seed, 2, dir.path());
    live.RunUntilCrash();
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.Crash();
    if (!live.last_batch().has_value() || live.snapshot_after_last_batch()) {
      ++not_torn;  // nothing appended after the newest snapshot: nothing to tear
      continue;
    }
    ++torn;

    // The crash comes in the middle of the last batch's write(2).
    const BatchSpan& batch = *live.last_batch();
    const std::string path = dir.file(batch.segment);
    ASSERT_EQ(static_cast<uint64_t>(FileSizeOf(path)), batch.end());
    const uint64_t cut = static_cast<uint64_t>(
        live.Uniform(static_cast<int64_t>(batch.begin) + 1, static_cast<int64_t>(batch.end()) - 1));
    ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(cut)), 0);
    uint64_t survivors = 0;
    uint64_t complete_end = batch.begin;
    while (survivors < batch.record_bytes.size() &&
           complete_end + batch.record_bytes[survivors] <= cut) {
      complete_end += batch.record_bytes[survivors++];
    }
    const uint64_t next_position = batch.first_position + survivors;
    records_lost += static_cast<int64_t>(batch.record_bytes.size() - survivors);

    absl::StatusOr<Recovery> r = Recover(dir.path(), live.engine_options(), live.journal_options());
    ASSERT_TRUE(r.ok()) << r.status();
    const OpenReport& report = r->journal->open_report();
    EXPECT_EQ(report.dropped_bytes, cut - complete_end);
    if (cut > complete_end) {
      EXPECT_THAT(report.detail, HasSubstr(batch.segment));
      EXPECT_THAT(report.detail, HasSubstr(absl::StrCat("dropped ", cut - complete_end, " bytes")));
    } else {
      EXPECT_TRUE(report.detail.empty()) << report.detail;
    }
    EXPECT_EQ(static_cast<uint64_t>(FileSizeOf(path)), complete_end);
    ASSERT_EQ(r->journal->next_position(), next_position);
    live.CheckRecovered(*r);
    ASSERT_FALSE(::testing::Test::HasFailure());

    // The state as of the last complete record (rebuilt in memory), or the snapshot's when
    // no record after it survived (it may have been taken after timers fired), and the
    // recovered engine go on identically; the recovered one journals after the cut.
    std::unique_ptr<Engine> reference =
        live.DurableState(r->from, r->snapshot.has_value(), next_position);
    ASSERT_EQ(reference->StateDigest(),
              live.ExpectedDigest(r->from, r->snapshot.has_value(), next_position));
    const std::optional<uint64_t> digest =
        live.Lockstep(*reference, *r->engine, *r->journal, kContinuationSteps);
    ASSERT_FALSE(::testing::Test::HasFailure());
    Engine& recovered = *r->engine;
    r->journal.reset();
    r->lock.reset();
    CheckSecondRecovery(dir.path(), live, recovered, digest);
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.AddTo(totals);
  }
  PrintTotals("TornTailRecoversUpToTheLastCompleteRecord", totals,
              absl::StrCat("; ", torn, " torn (", records_lost, " records lost), ", not_torn,
                           " ended with a snapshot"));
  if (SequenceCount() >= 20) {
    EXPECT_GT(torn, 3 * not_torn);
  }
}

// ---------------------------------------------------------------------------------------
// (3) A corrupt record in the middle.

TEST(RecoveryTest, CorruptRecordFollowedByValidOnesIsDataLoss) {
  Totals totals;
  int64_t in_last_segment = 0;
  const uint64_t first = FirstSeed();
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(SequenceCount()); ++seed) {
    SCOPED_TRACE(Trace("CorruptRecordFollowedByValidOnesIsDataLoss", seed));
    ScratchDir dir;
    Live live(seed, 3, dir.path());
    live.RunUntilCrash();
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.Crash();

    std::vector<std::string> segments;
    for (const std::string& name : dir.List()) {
      if (name.rfind("journal-", 0) == 0) segments.push_back(name);
    }
    const std::vector<RecordSpan> spans = ListRecords(dir.path(), segments);
    ASSERT_FALSE(::testing::Test::HasFailure());
    if (spans.size() < 2) continue;
    // Any record but the very last (a bad last record is a torn tail, cut off).
    const RecordSpan& victim =
        spans[static_cast<size_t>(live.Uniform(0, static_cast<int64_t>(spans.size()) - 2))];
    if (victim.segment == segments.back()) ++in_last_segment;
    const std::string path = dir.file(victim.segment);
    std::string bytes = ReadFile(path);
    const uint64_t at = victim.offset + static_cast<uint64_t>(live.Uniform(
                                            0, static_cast<int64_t>(victim.bytes) - 1));
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << live.Uniform(0, 7)));
    WriteFile(path, bytes);
    const std::map<std::string, std::string> before = Contents(dir);

    absl::StatusOr<std::unique_ptr<FileJournal>> journal =
        FileJournal::Open(dir.path(), live.journal_options());
    ASSERT_FALSE(journal.ok()) << "record " << victim.position << " in " << victim.segment
                               << " damaged at byte " << at << ", yet Open succeeded";
    EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss) << journal.status();
    EXPECT_THAT(journal.status().message(), HasSubstr(victim.segment));
    EXPECT_THAT(journal.status().message(), HasSubstr(absl::StrCat("offset ", victim.offset)));
    EXPECT_TRUE(Contents(dir) == before) << "a failed Open changed the directory";

    // Recovery stops there, whatever the snapshot.
    absl::StatusOr<Recovery> r = Recover(dir.path(), live.engine_options(), live.journal_options());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.AddTo(totals);
  }
  PrintTotals("CorruptRecordFollowedByValidOnesIsDataLoss", totals,
              absl::StrCat("; ", in_last_segment, " damaged records in the last segment"));
  if (SequenceCount() >= 20) {
    EXPECT_GT(in_last_segment, 0);
  }
}

// ---------------------------------------------------------------------------------------
// (4) A damaged newest snapshot.

TEST(RecoveryTest, DamagedNewestSnapshotFallsBackToTheOlderOne) {
  Totals totals;
  int64_t to_older = 0;            // recovered from the snapshot before the damaged one
  int64_t to_older_truncated = 0;  // ... with journal segments before it removed
  int64_t to_nothing = 0;          // the damaged snapshot was the only one
  LiveOptions options;
  options.snapshot_percent = 12;
  const uint64_t first = FirstSeed();
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(SequenceCount()); ++seed) {
    SCOPED_TRACE(Trace("DamagedNewestSnapshotFallsBackToTheOlderOne", seed));
    ScratchDir dir;
    Live live(seed, 4, dir.path(), options);
    live.RunUntilCrash();
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.Crash();
    if (live.snapshots().empty()) continue;

    std::vector<uint64_t> distinct = live.snapshots();
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const std::string newest = absl::StrFormat("snapshot-%020d.snap", distinct.back());
    const std::string path = dir.file(newest);
    std::string bytes = ReadFile(path);
    ASSERT_FALSE(bytes.empty()) << newest << " is missing";
    const size_t at = static_cast<size_t>(live.Uniform(0, static_cast<int64_t>(bytes.size()) - 1));
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << live.Uniform(0, 7)));
    WriteFile(path, bytes);

    absl::StatusOr<Recovery> r = Recover(dir.path(), live.engine_options(), live.journal_options());
    ASSERT_TRUE(r.ok()) << r.status() << " (" << newest << " damaged at byte " << at << ")";
    ASSERT_EQ(r->skipped.size(), 1u);
    EXPECT_THAT(r->skipped[0], HasSubstr(newest));
    if (distinct.size() >= 2) {
      EXPECT_EQ(r->from, distinct[distinct.size() - 2]);
      ++to_older;
      if (r->journal->first_position() > 1) ++to_older_truncated;
    } else {
      EXPECT_FALSE(r->snapshot.has_value());
      EXPECT_EQ(r->from, 1u);
      ++to_nothing;
    }
    EXPECT_EQ(r->journal->next_position(), live.entries().size() + 1);
    live.CheckRecovered(*r);
    live.CheckCaughtUp(*r->engine);
    ASSERT_FALSE(::testing::Test::HasFailure());
    const std::optional<uint64_t> digest =
        live.Lockstep(live.engine(), *r->engine, *r->journal, kContinuationSteps);
    ASSERT_FALSE(::testing::Test::HasFailure());
    (void)digest;
    live.AddTo(totals);
  }
  PrintTotals(
      "DamagedNewestSnapshotFallsBackToTheOlderOne", totals,
      absl::StrCat("; fell back to the older snapshot ", to_older, " times (", to_older_truncated,
                   " with the journal truncated before it), to no "
                   "snapshot ",
                   to_nothing, " times"));
  if (SequenceCount() >= 20) {
    EXPECT_GT(to_older, 0);
    EXPECT_GT(to_older_truncated, 0);
  }
}

// ---------------------------------------------------------------------------------------
// (5) Every record, request ids included, round-trips.

TEST(RecoveryTest, RequestIdsAndEveryRecordRoundTrip) {
  Totals totals;
  int64_t with_request_id = 0;
  int64_t read_back = 0;
  const uint64_t first = FirstSeed();
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(SequenceCount()); ++seed) {
    SCOPED_TRACE(Trace("RequestIdsAndEveryRecordRoundTrip", seed));
    ScratchDir dir;
    Live live(seed, 5, dir.path());
    live.RunUntilCrash();
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.Crash();

    absl::StatusOr<std::unique_ptr<FileJournal>> journal =
        FileJournal::Open(dir.path(), live.journal_options());
    ASSERT_TRUE(journal.ok()) << journal.status();
    FileJournal& j = **journal;
    ASSERT_EQ(j.next_position(), live.entries().size() + 1);
    uint64_t expected = j.first_position();
    absl::Status s =
        j.ReadFrom(expected, [&](uint64_t position, absl::string_view record) -> absl::Status {
          EXPECT_EQ(position, expected++);
          if (position == 0 || position > live.records().size()) {
            return absl::OutOfRangeError(absl::StrCat("position ", position));
          }
          EXPECT_EQ(record, live.records()[position - 1]) << "record " << position;
          absl::StatusOr<JournalEntry> entry = DecodeEntry(record);
          if (!entry.ok()) return entry.status();
          const JournalEntry& want = live.entries()[position - 1];
          EXPECT_EQ(entry->at, want.at) << "record " << position;
          EXPECT_EQ(entry->request_id, want.request_id) << "record " << position;
          EXPECT_EQ(entry->request_fingerprint, want.request_fingerprint) << "record " << position;
          EXPECT_EQ(DescribeCommand(entry->command), DescribeCommand(want.command))
              << "record " << position;
          if (!want.request_id.empty()) ++with_request_id;
          ++read_back;
          return absl::OkStatus();
        });
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(expected, j.next_position());
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.AddTo(totals);
  }
  PrintTotals(
      "RequestIdsAndEveryRecordRoundTrip", totals,
      absl::StrCat("; ", read_back, " records read back, ", with_request_id, " with a request id"));
  if (SequenceCount() >= 20) {
    EXPECT_GT(with_request_id, read_back / 3);
  }
}

// ---------------------------------------------------------------------------------------
// (6) The checks can fail: a record left out of the replay is noticed.

// Whether an accepted command of this kind always changes the state (a session is created,
// moves on or goes; a queue or engineer goes). Upserts, presence changes and rank changes
// may repeat what is already there.
bool AlwaysChangesState(const Command& command) {
  return !std::holds_alternative<UpsertChannel>(command) &&
         !std::holds_alternative<UpsertQueue>(command) &&
         !std::holds_alternative<UpsertEngineer>(command) &&
         !std::holds_alternative<SetPresence>(command) &&
         !std::holds_alternative<SetEngineerRank>(command);
}

TEST(RecoveryTest, DroppingOneRecordIsNoticed) {
  Totals totals;
  int64_t create_drops = 0;
  int64_t changing_drops = 0;
  int64_t any_drops = 0;
  int64_t any_noticed = 0;
  std::vector<std::string> unnoticed;
  const uint64_t first = FirstSeed();
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(SequenceCount()); ++seed) {
    SCOPED_TRACE(Trace("DroppingOneRecordIsNoticed", seed));
    ScratchDir dir;
    Live live(seed, 6, dir.path());
    live.RunUntilCrash();
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.Crash();

    // Where the replay starts, and what it must give.
    uint64_t from = 1;
    uint64_t want = 0;
    {
      absl::StatusOr<Recovery> r =
          Recover(dir.path(), live.engine_options(), live.journal_options());
      ASSERT_TRUE(r.ok()) << r.status();
      live.CheckRecovered(*r);
      ASSERT_FALSE(::testing::Test::HasFailure());
      from = r->from;
      want = r->engine->StateDigest();
    }
    const uint64_t end = live.entries().size() + 1;
    if (from >= end) continue;  // nothing replayed

    // A record left out is noticed when a later record is refused, or the state after some
    // record (the one left out included: the engine is advanced to its time instead) is not
    // the live engine's after it, or the final state differs.
    auto noticed = [&](uint64_t skip) {
      absl::StatusOr<Recovery> r =
          Recover(dir.path(), live.engine_options(), live.journal_options(), skip);
      if (!r.ok()) return true;
      for (size_t i = 0; i < r->replayed.size(); ++i) {
        if (r->digests[i] != live.digest_after()[r->replayed[i].first - 1]) return true;
      }
      return r->engine->StateDigest() != want;
    };
    auto describe = [&](uint64_t p) {
      return absl::StrCat("record ", p, " (", DescribeCommand(live.entries()[p - 1].command), ")");
    };
    auto pick = [&](const std::vector<uint64_t>& positions) {
      return positions[static_cast<size_t>(
          live.Uniform(0, static_cast<int64_t>(positions.size()) - 1))];
    };
    std::vector<uint64_t> creates;
    std::vector<uint64_t> changing;
    for (uint64_t p = from; p < end; ++p) {
      const Command& command = live.entries()[p - 1].command;
      if (std::holds_alternative<CreateSession>(command)) creates.push_back(p);
      if (AlwaysChangesState(command)) changing.push_back(p);
    }
    if (!creates.empty()) {
      const uint64_t p = pick(creates);
      EXPECT_TRUE(noticed(p)) << "leaving out " << describe(p) << " went unnoticed";
      ++create_drops;
    }
    if (!changing.empty()) {
      const uint64_t p = pick(changing);
      EXPECT_TRUE(noticed(p)) << "leaving out " << describe(p) << " went unnoticed";
      ++changing_drops;
    }
    // Any record: counted (an upsert or presence change may be a no-op).
    const uint64_t p = static_cast<uint64_t>(
        live.Uniform(static_cast<int64_t>(from), static_cast<int64_t>(end) - 1));
    ++any_drops;
    if (noticed(p)) {
      ++any_noticed;
    } else {
      unnoticed.push_back(absl::StrCat("seed ", seed, " ", describe(p)));
    }
    ASSERT_FALSE(::testing::Test::HasFailure());
    live.AddTo(totals);
  }
  std::string extra = absl::StrCat("; left out: ", create_drops, " CreateSession, ", changing_drops,
                                   " state-changing, ", any_drops, " of any kind (", any_noticed,
                                   " of these noticed)");
  for (const std::string& u : unnoticed) absl::StrAppend(&extra, "\n    unnoticed: ", u);
  PrintTotals("DroppingOneRecordIsNoticed", totals, extra);
  EXPECT_TRUE(any_noticed > 0 || any_drops == 0);
  if (SequenceCount() >= 20) {
    EXPECT_GT(create_drops, 0);
    EXPECT_GT(changing_drops, 0);
  }
}

}  // namespace
}  // namespace omniroute::durability
