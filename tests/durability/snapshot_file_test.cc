#include "omniroute/durability/snapshot_file.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/durability/crc32c.h"
#include "temp_dir.h"

namespace omniroute::durability {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::string SnapName(uint64_t position) { return absl::StrFormat("snapshot-%020d.snap", position); }

TEST(SnapshotFileTest, EmptyOrMissingDirectoryHasNoSnapshot) {
  TempDir dir;
  absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->snapshot.has_value());
  EXPECT_TRUE(loaded->skipped.empty());
  loaded = LoadNewestSnapshot(dir.file("nope"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE(loaded->snapshot.has_value());
}

TEST(SnapshotFileTest, WritesAndLoadsTheNewest) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 10, "state at 10").ok());
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 25, std::string("state\0at 25", 11)).ok());
  absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->snapshot.has_value());
  EXPECT_EQ(loaded->snapshot->position, 25u);
  EXPECT_EQ(loaded->snapshot->bytes, std::string("state\0at 25", 11));
  EXPECT_EQ(loaded->snapshot->path, dir.file(SnapName(25)));
  EXPECT_TRUE(loaded->skipped.empty());
  EXPECT_THAT(dir.List(), ElementsAre(SnapName(10), SnapName(25)));
}

TEST(SnapshotFileTest, OnDiskFormat) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 7, "abc").ok());
  std::string bytes = ReadFile(dir.file(SnapName(7)));
  ASSERT_EQ(bytes.size(), 40u + 3u);
  auto le32 = [&bytes](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  EXPECT_EQ(bytes.substr(0, 8), "OMRSNAP1");
  EXPECT_EQ(le32(8), 1u);
  EXPECT_EQ(le32(12), 7u);
  EXPECT_EQ(le32(16), 0u);
  EXPECT_EQ(le32(20), 3u);
  EXPECT_EQ(le32(24), 0u);
  EXPECT_EQ(UnmaskCrc32c(le32(28)), Crc32c("abc"));
  EXPECT_EQ(le32(32), 0u);
  EXPECT_EQ(UnmaskCrc32c(le32(36)), Crc32c(bytes.substr(0, 36)));
  EXPECT_EQ(bytes.substr(40), "abc");
}

TEST(SnapshotFileTest, KeepsOnlyThePreviousSnapshot) {
  TempDir dir;
  for (uint64_t p : {5, 9, 14, 20}) ASSERT_TRUE(WriteSnapshotFile(dir.path(), p, "s").ok());
  EXPECT_THAT(dir.List(), ElementsAre(SnapName(14), SnapName(20)));
  // Leftover temporary files of older positions go too; other files are left alone.
  WriteFile(dir.file(SnapName(3) + ".tmp"), "half");
  WriteFile(dir.file("journal-00000000000000000001.log"), "not mine");
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 30, "s").ok());
  EXPECT_THAT(dir.List(),
              ElementsAre("journal-00000000000000000001.log", SnapName(20), SnapName(30)));
  // Rewriting the same position replaces it.
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 30, "again").ok());
  absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir.path());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->snapshot->bytes, "again");
  EXPECT_THAT(dir.List(),
              ElementsAre("journal-00000000000000000001.log", SnapName(20), SnapName(30)));
}

TEST(SnapshotFileTest, PositionZeroIsRefused) {
  TempDir dir;
  EXPECT_EQ(WriteSnapshotFile(dir.path(), 0, "s").code(), absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotFileTest, SkipsAndReportsInvalidSnapshots) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 10, "good old state").ok());
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 20, "newer state").ok());
  std::string newest = ReadFile(dir.file(SnapName(20)));

  struct Damage {
    const char* name;
    size_t offset;  // byte to flip, or npos to truncate by one
    const char* expected;
  };
  const std::vector<Damage> damages = {
      {"bytes", 45, "checksum mismatch in the state bytes"},
      {"magic", 0, "bad magic"},
      {"header", 13, "header checksum mismatch"},
      {"truncated", std::string::npos, "header says 11 bytes of state, the file holds 10"},
  };
  for (const Damage& d : damages) {
    SCOPED_TRACE(d.name);
    std::string bytes = newest;
    if (d.offset == std::string::npos) {
      bytes.pop_back();
    } else {
      bytes[d.offset] ^= 0x10;
    }
    WriteFile(dir.file(SnapName(20)), bytes);
    absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir.path());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_TRUE(loaded->snapshot.has_value());
    EXPECT_EQ(loaded->snapshot->position, 10u);
    EXPECT_EQ(loaded->snapshot->bytes, "good old state");
    ASSERT_EQ(loaded->skipped.size(), 1u);
    EXPECT_THAT(loaded->skipped[0], HasSubstr(SnapName(20)));
    EXPECT_THAT(loaded->skipped[0], HasSubstr(d.expected));
  }

  // A header shorter than a header, and a snapshot renamed to another position.
  WriteFile(dir.file(SnapName(20)), "OMRSNAP1");
  ASSERT_EQ(::rename(dir.file(SnapName(10)).c_str(), dir.file(SnapName(15)).c_str()), 0);
  absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir.path());
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->snapshot.has_value());
  ASSERT_EQ(loaded->skipped.size(), 2u);
  EXPECT_THAT(loaded->skipped[0], HasSubstr("header is truncated"));
  EXPECT_THAT(loaded->skipped[1], HasSubstr("header says position 10, the file name 15"));
}

TEST(SnapshotFileTest, LoadsTheOldestFromAPosition) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 10, "state at 10").ok());
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 20, "state at 20").ok());
  auto oldest_from = [&](uint64_t position) -> uint64_t {
    absl::StatusOr<LoadedSnapshot> loaded = LoadOldestSnapshotFrom(dir.path(), position);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() && loaded->snapshot.has_value() ? loaded->snapshot->position : 0;
  };
  EXPECT_EQ(oldest_from(1), 10u);
  EXPECT_EQ(oldest_from(10), 10u);
  EXPECT_EQ(oldest_from(11), 20u);
  EXPECT_EQ(oldest_from(21), 0u);
  // A damaged one is skipped, and named.
  std::string bytes = ReadFile(dir.file(SnapName(10)));
  bytes[45] ^= 0x10;
  WriteFile(dir.file(SnapName(10)), bytes);
  absl::StatusOr<LoadedSnapshot> loaded = LoadOldestSnapshotFrom(dir.path(), 1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_TRUE(loaded->snapshot.has_value());
  EXPECT_EQ(loaded->snapshot->bytes, "state at 20");
  ASSERT_EQ(loaded->skipped.size(), 1u);
  EXPECT_THAT(loaded->skipped[0], HasSubstr(SnapName(10)));
}

TEST(SnapshotFileTest, SnapshotPartsRoundTrip) {
  const std::string engine("engine\0state", 12);
  const std::string joined = JoinSnapshotParts(engine, "daemon");
  ASSERT_EQ(joined.size(), 8 + 12 + 6u);
  EXPECT_EQ(joined.substr(0, 8), std::string("\x0c\0\0\0\0\0\0\0", 8));
  absl::StatusOr<SnapshotParts> parts = SplitSnapshotParts(joined);
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->engine, engine);
  EXPECT_EQ(parts->daemon, "daemon");
  parts = SplitSnapshotParts(JoinSnapshotParts("", ""));
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->engine.empty() && parts->daemon.empty());
  EXPECT_EQ(SplitSnapshotParts("short").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SplitSnapshotParts(joined.substr(0, 19)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(SnapshotFileTest, TemporaryFilesAreIgnored) {
  TempDir dir;
  ASSERT_TRUE(WriteSnapshotFile(dir.path(), 10, "ten").ok());
  WriteFile(dir.file(SnapName(99) + ".tmp"), "a crash while writing");
  absl::StatusOr<LoadedSnapshot> loaded = LoadNewestSnapshot(dir.path());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->snapshot->position, 10u);
  EXPECT_TRUE(loaded->skipped.empty());
}

}  // namespace
}  // namespace omniroute::durability
