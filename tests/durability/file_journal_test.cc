#include "omniroute/durability/file_journal.h"

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/durability/crc32c.h"
#include "temp_dir.h"

namespace omniroute::durability {
namespace {

using ::testing::ElementsAre;
using testing::FileSizeOf;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr size_t kHeader = 24;

std::string SegmentName(uint64_t first) { return absl::StrFormat("journal-%020d.log", first); }

std::unique_ptr<FileJournal> OpenOrDie(const std::string& dir,
                                       const FileJournalOptions& options = {}) {
  absl::StatusOr<std::unique_ptr<FileJournal>> journal = FileJournal::Open(dir, options);
  EXPECT_TRUE(journal.ok()) << journal.status();
  return journal.ok() ? *std::move(journal) : nullptr;
}

std::vector<std::pair<uint64_t, std::string>> ReadAll(FileJournal& journal, uint64_t from) {
  std::vector<std::pair<uint64_t, std::string>> out;
  absl::Status s = journal.ReadFrom(from, [&out](uint64_t position, absl::string_view record) {
    out.emplace_back(position, std::string(record));
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// "record-<n>" padded with `n % 7` dots: records of varying sizes.
std::string Record(uint64_t n) { return absl::StrCat("record-", n, std::string(n % 7, '.')); }

// Appends records first..last one batch of `batch` records at a time.
void AppendRange(FileJournal& journal, uint64_t first, uint64_t last, size_t batch = 1) {
  for (uint64_t n = first; n <= last;) {
    std::vector<std::string> records;
    for (size_t k = 0; k < batch && n <= last; ++k, ++n) records.push_back(Record(n));
    absl::StatusOr<uint64_t> at = journal.Append(records);
    ASSERT_TRUE(at.ok()) << at.status();
    ASSERT_EQ(*at, n - records.size());
  }
}

void ExpectRecords(FileJournal& journal, uint64_t from, uint64_t last) {
  std::vector<std::pair<uint64_t, std::string>> got = ReadAll(journal, from);
  ASSERT_EQ(got.size(), last + 1 - from);
  for (uint64_t n = from; n <= last; ++n) {
    EXPECT_EQ(got[n - from].first, n);
    EXPECT_EQ(got[n - from].second, Record(n));
  }
}

TEST(FileJournalTest, NewJournalStartsAtPositionOne) {
  TempDir dir;
  std::string path = dir.file("journal");  // created by Open
  auto journal = OpenOrDie(path);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->next_position(), 1u);
  EXPECT_EQ(journal->first_position(), 1u);
  EXPECT_EQ(journal->open_report().records, 0u);
  EXPECT_EQ(journal->open_report().dropped_bytes, 0u);
  EXPECT_EQ(journal->open_report().detail, "");
  EXPECT_THAT(journal->segment_names(), ElementsAre(SegmentName(1)));
  EXPECT_EQ(FileSizeOf(path + "/" + SegmentName(1)), static_cast<off_t>(kHeader));
  EXPECT_TRUE(ReadAll(*journal, 1).empty());
}

TEST(FileJournalTest, AppendGivesConsecutivePositionsAndReadsBack) {
  TempDir dir;
  auto journal = OpenOrDie(dir.path());
  ASSERT_NE(journal, nullptr);
  std::vector<std::string> batch = {"a", "bb", ""};
  EXPECT_EQ(*journal->Append(batch), 1u);
  std::vector<std::string> one = {"dddd"};
  EXPECT_EQ(*journal->Append(one), 4u);
  EXPECT_EQ(*journal->Append({}), 5u);  // an empty batch writes nothing
  EXPECT_EQ(journal->next_position(), 5u);

  using P = std::pair<uint64_t, std::string>;
  EXPECT_THAT(ReadAll(*journal, 1), ElementsAre(P{1, "a"}, P{2, "bb"}, P{3, ""}, P{4, "dddd"}));
  EXPECT_THAT(ReadAll(*journal, 3), ElementsAre(P{3, ""}, P{4, "dddd"}));
  EXPECT_TRUE(ReadAll(*journal, 5).empty());

  auto ignore = [](uint64_t, absl::string_view) { return absl::OkStatus(); };
  EXPECT_EQ(journal->ReadFrom(6, ignore).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(journal->ReadFrom(0, ignore).code(), absl::StatusCode::kOutOfRange);
}

TEST(FileJournalTest, OnDiskFraming) {
  TempDir dir;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    std::vector<std::string> batch = {"hello", "x"};
    ASSERT_TRUE(journal->Append(batch).ok());
    ASSERT_TRUE(journal->Sync().ok());
  }
  std::string bytes = ReadFile(dir.file(SegmentName(1)));
  ASSERT_EQ(bytes.size(), kHeader + 8 + 5 + 8 + 1);
  // Header: magic, version 1, first position 1, masked crc of the 20 bytes before.
  EXPECT_EQ(bytes.substr(0, 8), "OMRJRNL1");
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x01\x00\x00\x00", 4));
  EXPECT_EQ(bytes.substr(12, 8), std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8));
  auto le32 = [&bytes](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  EXPECT_EQ(UnmaskCrc32c(le32(20)), Crc32c(bytes.substr(0, 20)));
  // Record 1: length 5, masked crc of (length bytes + payload), payload.
  EXPECT_EQ(le32(24), 5u);
  EXPECT_EQ(le32(28), MaskCrc32c(Crc32c(bytes.substr(24, 4) + "hello")));
  EXPECT_EQ(bytes.substr(32, 5), "hello");
  EXPECT_EQ(le32(37), 1u);
  EXPECT_EQ(le32(41), MaskCrc32c(Crc32c(bytes.substr(37, 4) + "x")));
  EXPECT_EQ(bytes.substr(45), "x");
}

TEST(FileJournalTest, ReopenContinuesPositions) {
  TempDir dir;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 10, 3);
    ASSERT_TRUE(journal->Sync().ok());
  }
  auto journal = OpenOrDie(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->open_report().records, 10u);
  EXPECT_EQ(journal->open_report().dropped_bytes, 0u);
  EXPECT_EQ(journal->open_report().detail, "");
  EXPECT_EQ(journal->next_position(), 11u);
  AppendRange(*journal, 11, 15, 2);
  ExpectRecords(*journal, 1, 15);
  ExpectRecords(*journal, 9, 15);
}

TEST(FileJournalTest, RefusesOversizedRecordsAndBadOptions) {
  TempDir dir;
  FileJournalOptions options;
  options.max_record_bytes = 10;
  auto journal = OpenOrDie(dir.path(), options);
  ASSERT_NE(journal, nullptr);
  std::vector<std::string> batch = {"ok", std::string(11, 'x')};
  absl::StatusOr<uint64_t> at = journal->Append(batch);
  EXPECT_EQ(at.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(at.status().message(), HasSubstr("record 1 of the batch is 11 bytes"));
  EXPECT_EQ(journal->next_position(), 1u);
  EXPECT_EQ(FileSizeOf(dir.file(SegmentName(1))), static_cast<off_t>(kHeader));

  FileJournalOptions bad;
  bad.sync_policy = SyncPolicy::kInterval;
  bad.sync_interval = absl::ZeroDuration();
  EXPECT_EQ(FileJournal::Open(dir.file("other"), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = {};
  bad.max_segment_bytes = 0;
  EXPECT_EQ(FileJournal::Open(dir.file("other"), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A crash during the write of the last batch leaves any prefix of it on disk: Open cuts the
// torn record off, reports how much it dropped, and appending continues where it stopped.
TEST(FileJournalTest, TornTailAtEveryByteOffsetOfTheLastRecordIsCutOff) {
  TempDir dir;
  off_t before_last = 0;
  off_t full = 0;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 5, 2);
    before_last = FileSizeOf(dir.file(SegmentName(1)));
    AppendRange(*journal, 6, 6);
    full = FileSizeOf(dir.file(SegmentName(1)));
  }
  const std::string path = dir.file(SegmentName(1));
  const std::string original = ReadFile(path);
  ASSERT_EQ(static_cast<off_t>(original.size()), full);
  ASSERT_EQ(full - before_last, static_cast<off_t>(8 + Record(6).size()));

  for (off_t cut = before_last; cut < full; ++cut) {
    SCOPED_TRACE(absl::StrCat("cut at ", cut));
    WriteFile(path, original.substr(0, static_cast<size_t>(cut)));
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    const OpenReport& report = journal->open_report();
    EXPECT_EQ(report.records, 5u);
    EXPECT_EQ(report.dropped_bytes, static_cast<uint64_t>(cut - before_last));
    if (cut == before_last) {
      EXPECT_EQ(report.detail, "");
    } else {
      EXPECT_THAT(report.detail,
                  HasSubstr(absl::StrCat("dropped ", cut - before_last,
                                         " bytes at the tail from offset ", before_last)));
      EXPECT_THAT(report.detail, HasSubstr(SegmentName(1)));
    }
    EXPECT_EQ(FileSizeOf(path), before_last);
    EXPECT_EQ(journal->next_position(), 6u);
    ExpectRecords(*journal, 1, 5);
    // Appending continues at position 6, and the result reopens cleanly.
    AppendRange(*journal, 6, 7);
    journal.reset();
    journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    EXPECT_EQ(journal->open_report().dropped_bytes, 0u);
    ExpectRecords(*journal, 1, 7);
  }
}

TEST(FileJournalTest, CorruptLastRecordIsCutOff) {
  TempDir dir;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 4);
  }
  const std::string path = dir.file(SegmentName(1));
  std::string bytes = ReadFile(path);
  bytes[bytes.size() - 2] ^= 0x20;  // in the payload of record 4
  WriteFile(path, bytes);
  auto journal = OpenOrDie(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->open_report().records, 3u);
  EXPECT_EQ(journal->open_report().dropped_bytes, 8 + Record(4).size());
  EXPECT_THAT(journal->open_report().detail, HasSubstr("checksum mismatch"));
  ExpectRecords(*journal, 1, 3);
}

// Zeros after the last record (a file extended by the crash but never written) go too.
TEST(FileJournalTest, ZerosAfterTheLastRecordAreCutOff) {
  TempDir dir;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 3);
  }
  const std::string path = dir.file(SegmentName(1));
  WriteFile(path, ReadFile(path) + std::string(4096, '\0'));
  auto journal = OpenOrDie(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->open_report().records, 3u);
  EXPECT_EQ(journal->open_report().dropped_bytes, 4096u);
  ExpectRecords(*journal, 1, 3);
}

TEST(FileJournalTest, CorruptionFollowedByValidRecordsIsDataLoss) {
  TempDir dir;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 5);
  }
  const std::string path = dir.file(SegmentName(1));
  std::string bytes = ReadFile(path);
  // Record 2 starts after the header and record 1.
  size_t record2 = kHeader + 8 + Record(1).size();
  for (size_t offset : {record2, record2 + 4, record2 + 9}) {
    SCOPED_TRACE(offset);
    std::string damaged = bytes;
    damaged[offset] ^= 0x01;
    WriteFile(path, damaged);
    absl::StatusOr<std::unique_ptr<FileJournal>> journal = FileJournal::Open(dir.path(), {});
    ASSERT_FALSE(journal.ok());
    EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(journal.status().message(), HasSubstr(path));
    EXPECT_THAT(journal.status().message(),
                HasSubstr(absl::StrCat("corrupt record at offset ", record2, " (position 2)")));
    EXPECT_THAT(journal.status().message(), HasSubstr("followed by a valid record"));
    // Nothing was changed.
    EXPECT_EQ(ReadFile(path), damaged);
  }
}

// Segments of at most 100 bytes: with 8-byte frames and ~10-byte records, a few records each.
FileJournalOptions SmallSegments() {
  FileJournalOptions options;
  options.max_segment_bytes = 100;
  return options;
}

TEST(FileJournalTest, RotatesAndReadsAcrossSegments) {
  TempDir dir;
  std::vector<std::string> names;
  {
    auto journal = OpenOrDie(dir.path(), SmallSegments());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 40, 2);
    names = journal->segment_names();
    ASSERT_GE(names.size(), 5u);
    ExpectRecords(*journal, 1, 40);
    ExpectRecords(*journal, 17, 40);
    ExpectRecords(*journal, 40, 40);
    ASSERT_TRUE(journal->Sync().ok());
  }
  EXPECT_EQ(names.front(), SegmentName(1));
  // Every segment is within the limit, starts at an odd position (a batch is two records
  // and never spans segments), and the files are exactly the segments.
  for (const std::string& name : names) {
    EXPECT_LE(FileSizeOf(dir.file(name)), 100) << name;
    uint64_t first = std::stoull(name.substr(8, 20));
    EXPECT_EQ(first % 2, 1u) << name;
  }
  EXPECT_EQ(dir.List(), names);

  auto journal = OpenOrDie(dir.path(), SmallSegments());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->open_report().records, 40u);
  EXPECT_EQ(journal->segment_names(), names);
  AppendRange(*journal, 41, 45);
  ExpectRecords(*journal, 1, 45);
}

TEST(FileJournalTest, ReadOnlyOpenReadsEverySegmentAndChangesNothing) {
  TempDir dir;
  auto writer = OpenOrDie(dir.path(), SmallSegments());
  ASSERT_NE(writer, nullptr);
  AppendRange(*writer, 1, 30, 2);
  // A torn batch at the tail (as while the daemon is writing) and a leftover temporary file.
  const std::string last = dir.file(writer->segment_names().back());
  const std::string intact = ReadFile(last);
  WriteFile(last, intact + std::string("\x20\x00\x00\x00\x01\x02", 6));
  WriteFile(dir.file(SegmentName(999) + ".tmp"), "x");
  const std::vector<std::string> files = dir.List();

  absl::StatusOr<std::unique_ptr<FileJournal>> reader = FileJournal::OpenReadOnly(dir.path());
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->open_report().records, 30u);
  EXPECT_EQ((*reader)->open_report().dropped_bytes, 6u);
  EXPECT_EQ((*reader)->first_position(), 1u);
  EXPECT_EQ((*reader)->next_position(), 31u);
  ExpectRecords(**reader, 1, 30);
  ExpectRecords(**reader, 12, 30);
  // Nothing on disk changed, and nothing can be written through it.
  EXPECT_EQ(dir.List(), files);
  EXPECT_EQ(ReadFile(last).size(), intact.size() + 6);
  EXPECT_EQ((*reader)->Append({Record(31)}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*reader)->Sync().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*reader)->TruncateBefore(20).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir.List(), files);

  EXPECT_EQ(FileJournal::OpenReadOnly(dir.file("missing")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing")));
}

TEST(FileJournalTest, ABatchLargerThanASegmentGetsItsOwnSegment) {
  TempDir dir;
  auto journal = OpenOrDie(dir.path(), SmallSegments());
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 1, 1);
  std::vector<std::string> big = {std::string(150, 'b'), std::string(10, 'c')};
  EXPECT_EQ(*journal->Append(big), 2u);
  AppendRange(*journal, 4, 4);
  EXPECT_THAT(journal->segment_names(),
              ElementsAre(SegmentName(1), SegmentName(2), SegmentName(4)));
  std::vector<std::pair<uint64_t, std::string>> got = ReadAll(*journal, 2);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].second, big[0]);
  EXPECT_EQ(got[2].second, Record(4));
}

TEST(FileJournalTest, MissingSegmentIsDataLoss) {
  TempDir dir;
  std::vector<std::string> names;
  {
    auto journal = OpenOrDie(dir.path(), SmallSegments());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 30);
    names = journal->segment_names();
  }
  ASSERT_GE(names.size(), 3u);
  ASSERT_EQ(::unlink(dir.file(names[1]).c_str()), 0);
  absl::StatusOr<std::unique_ptr<FileJournal>> journal =
      FileJournal::Open(dir.path(), SmallSegments());
  ASSERT_FALSE(journal.ok());
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr(names[0]));
  EXPECT_THAT(journal.status().message(), HasSubstr(names[2]));
  EXPECT_THAT(journal.status().message(), HasSubstr("is missing"));
}

TEST(FileJournalTest, CorruptionInASegmentThatIsNotTheLastIsDataLoss) {
  TempDir dir;
  std::vector<std::string> names;
  {
    auto journal = OpenOrDie(dir.path(), SmallSegments());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 30);
    names = journal->segment_names();
  }
  ASSERT_GE(names.size(), 3u);
  // Even a torn-looking *last record* of a finished segment is not a torn write.
  const std::string path = dir.file(names[0]);
  std::string bytes = ReadFile(path);
  WriteFile(path, bytes.substr(0, bytes.size() - 1));
  absl::StatusOr<std::unique_ptr<FileJournal>> journal =
      FileJournal::Open(dir.path(), SmallSegments());
  ASSERT_FALSE(journal.ok());
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr(path));
  EXPECT_THAT(journal.status().message(), HasSubstr("not the last"));
  EXPECT_EQ(FileSizeOf(path), static_cast<off_t>(bytes.size() - 1));
}

TEST(FileJournalTest, BadSegmentHeaderIsDataLoss) {
  for (int which : {0, 1}) {  // a finished segment, then the last one
    SCOPED_TRACE(which);
    TempDir dir;
    std::vector<std::string> names;
    {
      auto journal = OpenOrDie(dir.path(), SmallSegments());
      ASSERT_NE(journal, nullptr);
      AppendRange(*journal, 1, 12);
      names = journal->segment_names();
    }
    ASSERT_GE(names.size(), 2u);
    const std::string path = dir.file(which == 0 ? names.front() : names.back());
    std::string bytes = ReadFile(path);
    bytes[14] ^= 0x40;  // inside the first position
    WriteFile(path, bytes);
    absl::StatusOr<std::unique_ptr<FileJournal>> journal =
        FileJournal::Open(dir.path(), SmallSegments());
    ASSERT_FALSE(journal.ok());
    EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(journal.status().message(), HasSubstr(path));
    EXPECT_THAT(journal.status().message(), HasSubstr("bad segment header"));
  }
}

TEST(FileJournalTest, SegmentRenamedToTheWrongPositionIsDataLoss) {
  TempDir dir;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 3);
  }
  ASSERT_EQ(::rename(dir.file(SegmentName(1)).c_str(), dir.file(SegmentName(7)).c_str()), 0);
  absl::StatusOr<std::unique_ptr<FileJournal>> journal = FileJournal::Open(dir.path(), {});
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr("does not match the file name"));
}

TEST(FileJournalTest, LeftoverTemporarySegmentIsRemoved) {
  TempDir dir;
  {
    auto journal = OpenOrDie(dir.path());
    ASSERT_NE(journal, nullptr);
    AppendRange(*journal, 1, 3);
  }
  WriteFile(dir.file(SegmentName(4) + ".tmp"), "OMRJ");
  auto journal = OpenOrDie(dir.path());
  ASSERT_NE(journal, nullptr);
  EXPECT_THAT(journal->open_report().detail, HasSubstr("removed"));
  EXPECT_EQ(journal->open_report().dropped_bytes, 0u);
  EXPECT_EQ(dir.List(), std::vector<std::string>{SegmentName(1)});
  AppendRange(*journal, 4, 5);
  ExpectRecords(*journal, 1, 5);
}

TEST(FileJournalTest, TruncateBeforeDeletesWholeSegmentsOnly) {
  TempDir dir;
  auto journal = OpenOrDie(dir.path(), SmallSegments());
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 1, 40);
  std::vector<std::string> names = journal->segment_names();
  ASSERT_GE(names.size(), 4u);
  uint64_t third = std::stoull(names[2].substr(8, 20));

  // A position inside the third segment: the first two go, the third stays.
  ASSERT_TRUE(journal->TruncateBefore(third + 1).ok());
  EXPECT_EQ(journal->first_position(), third);
  EXPECT_EQ(journal->segment_names(), std::vector<std::string>(names.begin() + 2, names.end()));
  EXPECT_EQ(dir.List(), journal->segment_names());
  ExpectRecords(*journal, third, 40);
  auto ignore = [](uint64_t, absl::string_view) { return absl::OkStatus(); };
  EXPECT_EQ(journal->ReadFrom(third - 1, ignore).code(), absl::StatusCode::kOutOfRange);

  // Nothing before the first kept segment: nothing to do.
  ASSERT_TRUE(journal->TruncateBefore(third).ok());
  EXPECT_EQ(journal->first_position(), third);

  // Reopen: positions are kept.
  journal.reset();
  journal = OpenOrDie(dir.path(), SmallSegments());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->first_position(), third);
  EXPECT_EQ(journal->next_position(), 41u);
  EXPECT_EQ(journal->open_report().records, 41 - third);

  // Past the end: everything but the last segment goes; positions continue.
  ASSERT_TRUE(journal->TruncateBefore(1000).ok());
  EXPECT_EQ(journal->segment_names().size(), 1u);
  EXPECT_EQ(journal->next_position(), 41u);
  AppendRange(*journal, 41, 42);
  ExpectRecords(*journal, journal->first_position(), 42);
}

TEST(FileJournalTest, ReadFromStopsAtTheCallbacksError) {
  TempDir dir;
  auto journal = OpenOrDie(dir.path(), SmallSegments());
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 1, 20);
  std::vector<uint64_t> seen;
  absl::Status s = journal->ReadFrom(3, [&seen](uint64_t position, absl::string_view) {
    seen.push_back(position);
    return position == 12 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen.front(), 3u);
  EXPECT_EQ(seen.back(), 12u);
}

TEST(FileJournalTest, ReadFromVerifiesChecksumsAgain) {
  TempDir dir;
  auto journal = OpenOrDie(dir.path());
  ASSERT_NE(journal, nullptr);
  AppendRange(*journal, 1, 4);
  const std::string path = dir.file(SegmentName(1));
  std::string bytes = ReadFile(path);
  size_t record2 = kHeader + 8 + Record(1).size();
  bytes[record2 + 10] ^= 0x02;
  WriteFile(path, bytes);
  std::vector<uint64_t> seen;
  absl::Status s = journal->ReadFrom(1, [&seen](uint64_t position, absl::string_view) {
    seen.push_back(position);
    return absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat(path, ": corrupt record at offset ", record2)));
  EXPECT_THAT(seen, ElementsAre(1u));
}

// ---- Sync policies (time is an argument, so no clock is involved). ----

TEST(FileJournalTest, EveryBatchSyncsAfterEachBatch) {
  TempDir dir;
  auto journal = OpenOrDie(dir.path());
  ASSERT_NE(journal, nullptr);
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_TRUE(journal->MaybeSync(t0).ok());
  EXPECT_EQ(journal->sync_count(), 0u);  // nothing to sync
  for (int i = 1; i <= 3; ++i) {
    AppendRange(*journal, static_cast<uint64_t>(i), static_cast<uint64_t>(i));
    EXPECT_TRUE(journal->has_unsynced_records());
    EXPECT_TRUE(journal->MaybeSync(t0).ok());
    EXPECT_EQ(journal->sync_count(), static_cast<uint64_t>(i));
    EXPECT_FALSE(journal->has_unsynced_records());
  }
  EXPECT_EQ(journal->SyncDeadline(), absl::InfiniteFuture());
}

TEST(FileJournalTest, IntervalSyncsOnlyOnceTheIntervalHasPassed) {
  TempDir dir;
  FileJournalOptions options;
  options.sync_policy = SyncPolicy::kInterval;
  options.sync_interval = absl::Seconds(1);
  auto journal = OpenOrDie(dir.path(), options);
  ASSERT_NE(journal, nullptr);
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);

  AppendRange(*journal, 1, 1);
  ASSERT_TRUE(journal->MaybeSync(t0).ok());  // never synced before: due
  EXPECT_EQ(journal->sync_count(), 1u);

  AppendRange(*journal, 2, 2);
  ASSERT_TRUE(journal->MaybeSync(t0 + absl::Milliseconds(400)).ok());
  EXPECT_EQ(journal->sync_count(), 1u);
  EXPECT_EQ(journal->SyncDeadline(), t0 + absl::Seconds(1));
  AppendRange(*journal, 3, 3);
  ASSERT_TRUE(journal->MaybeSync(t0 + absl::Milliseconds(999)).ok());
  EXPECT_EQ(journal->sync_count(), 1u);
  EXPECT_TRUE(journal->has_unsynced_records());

  ASSERT_TRUE(journal->MaybeSync(t0 + absl::Seconds(1)).ok());
  EXPECT_EQ(journal->sync_count(), 2u);
  EXPECT_FALSE(journal->has_unsynced_records());
  EXPECT_EQ(journal->SyncDeadline(), absl::InfiniteFuture());

  // A quiet period: the next batch after more than an interval syncs at once.
  AppendRange(*journal, 4, 4);
  ASSERT_TRUE(journal->MaybeSync(t0 + absl::Seconds(5)).ok());
  EXPECT_EQ(journal->sync_count(), 3u);
  // And the interval restarts from that sync.
  AppendRange(*journal, 5, 5);
  ASSERT_TRUE(journal->MaybeSync(t0 + absl::Seconds(5) + absl::Milliseconds(500)).ok());
  EXPECT_EQ(journal->sync_count(), 3u);
  EXPECT_EQ(journal->SyncDeadline(), t0 + absl::Seconds(6));
}

TEST(FileJournalTest, NeverSyncsOnlyWhenAsked) {
  TempDir dir;
  FileJournalOptions options;
  options.sync_policy = SyncPolicy::kNever;
  auto journal = OpenOrDie(dir.path(), options);
  ASSERT_NE(journal, nullptr);
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  for (int i = 1; i <= 3; ++i) {
    AppendRange(*journal, static_cast<uint64_t>(i), static_cast<uint64_t>(i));
    ASSERT_TRUE(journal->MaybeSync(t0 + absl::Hours(i)).ok());
  }
  EXPECT_EQ(journal->sync_count(), 0u);
  EXPECT_TRUE(journal->has_unsynced_records());
  ASSERT_TRUE(journal->Sync().ok());
  EXPECT_EQ(journal->sync_count(), 1u);
  EXPECT_FALSE(journal->has_unsynced_records());
}

}  // namespace
}  // namespace omniroute::durability
