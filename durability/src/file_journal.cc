#include "omniroute/durability/file_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "file_util.h"
#include "omniroute/durability/crc32c.h"

namespace omniroute::durability {
namespace {

using internal::AppendFixed32;
using internal::AppendFixed64;
using internal::LoadFixed32;
using internal::LoadFixed64;
using internal::UniqueFd;

constexpr absl::string_view kMagic = "OMRJRNL1";
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kHeaderBytes = 24;
constexpr uint64_t kFrameBytes = 8;  // u32 length + u32 masked crc
constexpr absl::string_view kPrefix = "journal-";
constexpr absl::string_view kSuffix = ".log";
constexpr absl::string_view kTmpSuffix = ".log.tmp";
constexpr uint64_t kReadChunk = uint64_t{1} << 20;

std::string EncodeHeader(uint64_t first_position) {
  std::string h(kMagic);
  AppendFixed32(&h, kFormatVersion);
  AppendFixed64(&h, first_position);
  AppendFixed32(&h, MaskCrc32c(Crc32c(h)));
  return h;
}

// Checks a segment's header; DATA_LOSS naming the file otherwise.
absl::Status CheckHeader(int fd, const std::string& path, uint64_t file_size,
                         uint64_t expected_first) {
  if (file_size < kHeaderBytes) {
    return absl::DataLossError(
        absl::StrFormat("%s: segment header is truncated (the file is %d bytes, the header %d)",
                        path, file_size, kHeaderBytes));
  }
  char h[kHeaderBytes];
  if (absl::Status s = internal::PreadExact(fd, 0, kHeaderBytes, h, path); !s.ok()) return s;
  absl::string_view header(h, kHeaderBytes);
  if (header.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError(
        absl::StrFormat("%s: bad segment header at offset 0: not a journal segment", path));
  }
  if (UnmaskCrc32c(LoadFixed32(h + 20)) != Crc32c(header.substr(0, 20))) {
    return absl::DataLossError(
        absl::StrFormat("%s: bad segment header at offset 0: checksum mismatch", path));
  }
  uint32_t version = LoadFixed32(h + 8);
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: segment format version %d is not supported (this build reads version %d)", path,
        version, kFormatVersion));
  }
  uint64_t first = LoadFixed64(h + 12);
  if (first != expected_first) {
    return absl::DataLossError(absl::StrFormat(
        "%s: bad segment header at offset 12: first position %d does not match the file "
        "name",
        path, first));
  }
  return absl::OkStatus();
}

void AppendFrame(std::string* out, absl::string_view payload) {
  std::string length;
  AppendFixed32(&length, static_cast<uint32_t>(payload.size()));
  out->append(length);
  AppendFixed32(out, MaskCrc32c(Crc32cExtend(Crc32c(length), payload)));
  out->append(payload.data(), payload.size());
}

// Whether a valid frame starts at `p` (with `left` bytes available from p).
bool IsValidFrame(const char* p, uint64_t left) {
  if (left < kFrameBytes) return false;
  uint64_t length = LoadFixed32(p);
  if (length > left - kFrameBytes) return false;
  uint32_t expected =
      Crc32cExtend(Crc32c(absl::string_view(p, 4)), absl::string_view(p + kFrameBytes, length));
  return UnmaskCrc32c(LoadFixed32(p + 4)) == expected;
}

// Reads the records of [begin, end) of a segment in order, with a bounded buffer.
class RecordReader {
 public:
  enum class Kind { kRecord, kEnd, kBad };
  struct Step {
    Kind kind = Kind::kEnd;
    uint64_t offset = 0;        // where the record (or the problem) starts
    absl::string_view payload;  // kRecord: valid until the next call
    std::string problem;        // kBad
  };

  RecordReader(int fd, const std::string& path, uint64_t begin, uint64_t end)
      : fd_(fd), path_(path), pos_(begin), end_(end) {}

  absl::Status Next(Step* step) {
    step->offset = pos_;
    step->payload = {};
    step->problem.clear();
    if (pos_ >= end_) {
      step->kind = Kind::kEnd;
      return absl::OkStatus();
    }
    uint64_t left = end_ - pos_;
    if (left < kFrameBytes) {
      step->kind = Kind::kBad;
      step->problem = absl::StrFormat("truncated record header (%d bytes left)", left);
      return absl::OkStatus();
    }
    if (absl::Status s = Fill(kFrameBytes); !s.ok()) return s;
    const char* frame = buf_.data() + (pos_ - buf_offset_);
    uint64_t length = LoadFixed32(frame);
    if (length > left - kFrameBytes) {
      step->kind = Kind::kBad;
      step->problem =
          absl::StrFormat("record length %d runs past the end of the file (%d bytes left)", length,
                          left - kFrameBytes);
      return absl::OkStatus();
    }
    if (absl::Status s = Fill(kFrameBytes + length); !s.ok()) return s;
    frame = buf_.data() + (pos_ - buf_offset_);
    if (!IsValidFrame(frame, kFrameBytes + length)) {
      step->kind = Kind::kBad;
      step->problem = absl::StrFormat("checksum mismatch in a record of %d bytes", length);
      return absl::OkStatus();
    }
    step->kind = Kind::kRecord;
    step->payload = absl::string_view(frame + kFrameBytes, length);
    pos_ += kFrameBytes + length;
    return absl::OkStatus();
  }

 private:
  // Makes the file's bytes [pos_, pos_ + n) available in buf_ (n <= end_ - pos_).
  absl::Status Fill(uint64_t n) {
    if (pos_ >= buf_offset_ && pos_ + n <= buf_offset_ + buf_.size()) return absl::OkStatus();
    uint64_t size = std::min(std::max(n, kReadChunk), end_ - pos_);
    buf_.resize(size);
    buf_offset_ = pos_;
    return internal::PreadExact(fd_, pos_, size, buf_.data(), path_);
  }

  int fd_;
  const std::string& path_;
  uint64_t pos_;
  uint64_t end_;
  std::string buf_;
  uint64_t buf_offset_ = 0;
};

// The offset of the first valid record starting in [from, end), if any.
absl::StatusOr<std::optional<uint64_t>> FindValidRecord(int fd, const std::string& path,
                                                        uint64_t from, uint64_t end) {
  if (from >= end) return std::nullopt;
  std::string tail(end - from, '\0');
  if (absl::Status s = internal::PreadExact(fd, from, tail.size(), tail.data(), path); !s.ok()) {
    return s;
  }
  for (uint64_t i = 0; i + kFrameBytes <= tail.size(); ++i) {
    if (IsValidFrame(tail.data() + i, tail.size() - i)) return from + i;
  }
  return std::nullopt;
}

}  // namespace

FileJournal::FileJournal(std::string dir, const FileJournalOptions& options)
    : dir_(std::move(dir)), options_(options) {}

FileJournal::~FileJournal() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::unique_ptr<FileJournal>> FileJournal::Open(const std::string& dir,
                                                               const FileJournalOptions& options) {
  if (dir.empty()) return absl::InvalidArgumentError("journal directory is empty");
  if (options.max_segment_bytes == 0) {
    return absl::InvalidArgumentError("max_segment_bytes must be positive");
  }
  if (options.max_record_bytes > 0xffffffffu) {
    return absl::InvalidArgumentError("max_record_bytes must be below 4 GiB");
  }
  if (options.sync_policy == SyncPolicy::kInterval &&
      options.sync_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("sync_interval must be positive with kInterval");
  }
  std::unique_ptr<FileJournal> journal(new FileJournal(dir, options));
  if (absl::Status s = journal->Recover(); !s.ok()) return s;
  return journal;
}

absl::StatusOr<std::unique_ptr<FileJournal>> FileJournal::OpenReadOnly(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("journal directory is empty");
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("no journal directory ", dir));
  }
  std::unique_ptr<FileJournal> journal(new FileJournal(dir, FileJournalOptions()));
  journal->read_only_ = true;
  if (absl::Status s = journal->Recover(); !s.ok()) return s;
  journal->broken_ =
      absl::FailedPreconditionError(absl::StrCat("journal ", dir, " was opened read-only"));
  return journal;
}

absl::Status FileJournal::Recover() {
  if (!read_only_) {
    if (absl::Status s = internal::EnsureDir(dir_); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<std::string>> names = internal::ListDir(dir_);
  if (!names.ok()) return names.status();

  std::vector<std::string> leftovers;
  for (const std::string& name : *names) {
    if (internal::ParseNumberedName(name, kPrefix, kTmpSuffix).has_value()) {
      leftovers.push_back(name);
      continue;
    }
    std::optional<uint64_t> first = internal::ParseNumberedName(name, kPrefix, kSuffix);
    if (!first.has_value()) continue;
    std::string path = internal::JoinPath(dir_, name);
    if (*first == 0) {
      return absl::DataLossError(absl::StrCat(path, ": bad segment name (positions start at 1)"));
    }
    segments_.push_back({*first, path});
  }
  std::sort(segments_.begin(), segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_position < b.first_position; });

  // Verify every segment before changing anything.
  uint64_t records = 0;
  uint64_t last_records = 0;
  uint64_t last_size = 0;
  std::optional<uint64_t> cut_at;  // where to cut the last segment
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const bool last = i + 1 == segments_.size();
    absl::StatusOr<UniqueFd> fd = internal::OpenFile(segment.path, O_RDONLY);
    if (!fd.ok()) return fd.status();
    absl::StatusOr<uint64_t> size = internal::FileSize(fd->get(), segment.path);
    if (!size.ok()) return size.status();
    if (absl::Status s = CheckHeader(fd->get(), segment.path, *size, segment.first_position);
        !s.ok()) {
      return s;
    }
    RecordReader reader(fd->get(), segment.path, kHeaderBytes, *size);
    RecordReader::Step step;
    uint64_t count = 0;
    while (true) {
      if (absl::Status s = reader.Next(&step); !s.ok()) return s;
      if (step.kind == RecordReader::Kind::kEnd) break;
      if (step.kind == RecordReader::Kind::kRecord) {
        ++count;
        continue;
      }
      // A bad record.
      if (!last) {
        return absl::DataLossError(absl::StrFormat(
            "%s: corrupt record at offset %d (position %d): %s; the segment is not the "
            "last, so this is not a torn write",
            segment.path, step.offset, segment.first_position + count, step.problem));
      }
      absl::StatusOr<std::optional<uint64_t>> valid =
          FindValidRecord(fd->get(), segment.path, step.offset + 1, *size);
      if (!valid.ok()) return valid.status();
      if (valid->has_value()) {
        return absl::DataLossError(absl::StrFormat(
            "%s: corrupt record at offset %d (position %d): %s, followed by a valid record "
            "at offset %d; refusing to guess",
            segment.path, step.offset, segment.first_position + count, step.problem, **valid));
      }
      cut_at = step.offset;
      report_.dropped_bytes = *size - step.offset;
      absl::StrAppend(
          &report_.detail,
          absl::StrFormat("%s: dropped %d bytes at the tail from offset %d (%s)", segment.path,
                          report_.dropped_bytes, step.offset, step.problem));
      break;
    }
    if (!last) {
      const Segment& next = segments_[i + 1];
      uint64_t end = segment.first_position + count;
      if (end < next.first_position) {
        return absl::DataLossError(absl::StrFormat(
            "%s ends at position %d but the next segment %s starts at position %d: a segment "
            "holding positions %d..%d is missing",
            segment.path, end - 1, next.path, next.first_position, end, next.first_position - 1));
      }
      if (end > next.first_position) {
        return absl::DataLossError(absl::StrFormat(
            "%s ends at position %d but the next segment %s starts at position %d: the "
            "segments overlap",
            segment.path, end - 1, next.path, next.first_position));
      }
    } else {
      last_records = count;
      last_size = cut_at.value_or(*size);
    }
    records += count;
  }

  if (read_only_) {
    // Read up to the tail's first bad record; change nothing.
    if (!segments_.empty()) {
      active_bytes_ = last_size;
      active_records_ = last_records;
      next_position_ = segments_.back().first_position + last_records;
    }
    report_.records = records;
    return absl::OkStatus();
  }

  // Repair: leftovers of a segment creation, the torn tail.
  for (const std::string& name : leftovers) {
    std::string path = internal::JoinPath(dir_, name);
    if (absl::Status s = internal::RemoveFile(path); !s.ok()) return s;
    if (!report_.detail.empty()) report_.detail += "; ";
    absl::StrAppend(&report_.detail, "removed ", path, " (an unfinished segment)");
  }
  if (segments_.empty()) {
    if (!leftovers.empty()) {
      if (absl::Status s = internal::SyncDir(dir_); !s.ok()) return s;
    }
    return CreateSegment(1);
  }
  const Segment& active = segments_.back();
  absl::StatusOr<UniqueFd> fd = internal::OpenFile(active.path, O_WRONLY | O_APPEND);
  if (!fd.ok()) return fd.status();
  if (cut_at.has_value()) {
    if (::ftruncate(fd->get(), static_cast<off_t>(*cut_at)) != 0) {
      return internal::ErrnoError(errno, "cannot truncate", active.path);
    }
    if (absl::Status s = internal::FdataSync(fd->get(), active.path); !s.ok()) return s;
  }
  if (!leftovers.empty()) {
    if (absl::Status s = internal::SyncDir(dir_); !s.ok()) return s;
  }
  fd_ = fd->release();
  active_bytes_ = last_size;
  active_records_ = last_records;
  next_position_ = active.first_position + last_records;
  report_.records = records;
  return absl::OkStatus();
}

absl::Status FileJournal::CreateSegment(uint64_t first_position) {
  std::string path =
      internal::JoinPath(dir_, internal::NumberedName(kPrefix, first_position, kSuffix));
  std::string tmp = absl::StrCat(path, ".tmp");
  absl::StatusOr<UniqueFd> fd =
      internal::OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  if (!fd.ok()) return fd.status();
  std::string header = EncodeHeader(first_position);
  if (absl::Status s = internal::WriteAll(fd->get(), header, tmp); !s.ok()) return s;
  if (absl::Status s = internal::FdataSync(fd->get(), tmp); !s.ok()) return s;
  if (absl::Status s = internal::RenameFile(tmp, path); !s.ok()) return s;
  if (absl::Status s = internal::SyncDir(dir_); !s.ok()) return s;
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd->release();
  segments_.push_back({first_position, path});
  active_bytes_ = kHeaderBytes;
  active_records_ = 0;
  next_position_ = first_position;
  return absl::OkStatus();
}

absl::Status FileJournal::Fail(absl::Status status) {
  if (broken_.ok()) {
    broken_ = absl::Status(status.code(),
                           absl::StrCat("journal ", dir_, " is unusable: ", status.message()));
  }
  return broken_;
}

absl::Status FileJournal::Rotate() {
  // The finished segment is always made durable, so that only the last segment can ever end
  // in a torn record.
  if (absl::Status s = internal::FdataSync(fd_, segments_.back().path); !s.ok()) {
    return Fail(s);
  }
  unsynced_ = false;
  if (absl::Status s = CreateSegment(next_position_); !s.ok()) return Fail(s);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FileJournal::Append(absl::Span<const std::string> records) {
  if (!broken_.ok()) return broken_;
  if (records.empty()) return next_position_;
  uint64_t batch_bytes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].size() > options_.max_record_bytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("record %d of the batch is %d bytes; the journal's limit is %d", i,
                          records[i].size(), options_.max_record_bytes));
    }
    batch_bytes += kFrameBytes + records[i].size();
  }
  if (active_records_ > 0 && active_bytes_ + batch_bytes > options_.max_segment_bytes) {
    if (absl::Status s = Rotate(); !s.ok()) return s;
  }
  std::string batch;
  batch.reserve(batch_bytes);
  for (const std::string& record : records) AppendFrame(&batch, record);

  const std::string& path = segments_.back().path;
  if (absl::Status s = internal::WriteAll(fd_, batch, path); !s.ok()) {
    // Cut the partial batch off, so the next batch does not follow garbage.
    if (::ftruncate(fd_, static_cast<off_t>(active_bytes_)) != 0) {
      return Fail(absl::Status(
          s.code(), absl::StrCat(s.message(), "; and cannot cut the partial batch off: ",
                                 internal::ErrnoError(errno, "ftruncate", path).message())));
    }
    return s;
  }
  uint64_t first = next_position_;
  next_position_ += records.size();
  active_records_ += records.size();
  active_bytes_ += batch.size();
  unsynced_ = true;
  return first;
}

absl::Status FileJournal::Sync() {
  if (!broken_.ok()) return broken_;
  if (absl::Status s = internal::FdataSync(fd_, segments_.back().path); !s.ok()) {
    return Fail(s);
  }
  unsynced_ = false;
  ++sync_count_;
  return absl::OkStatus();
}

absl::Status FileJournal::MaybeSync(absl::Time now) {
  if (!broken_.ok()) return broken_;
  if (!unsynced_) return absl::OkStatus();
  switch (options_.sync_policy) {
    case SyncPolicy::kEveryBatch:
      return Sync();
    case SyncPolicy::kInterval: {
      if (now - last_sync_ < options_.sync_interval) return absl::OkStatus();
      absl::Status s = Sync();
      if (s.ok()) last_sync_ = now;
      return s;
    }
    case SyncPolicy::kNever:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Time FileJournal::SyncDeadline() const {
  if (options_.sync_policy != SyncPolicy::kInterval || !unsynced_) {
    return absl::InfiniteFuture();
  }
  return last_sync_ + options_.sync_interval;
}

uint64_t FileJournal::first_position() const {
  return segments_.empty() ? next_position_ : segments_.front().first_position;
}

std::vector<std::string> FileJournal::segment_names() const {
  std::vector<std::string> names;
  names.reserve(segments_.size());
  for (const Segment& segment : segments_) {
    names.push_back(internal::NumberedName(kPrefix, segment.first_position, kSuffix));
  }
  return names;
}

absl::Status FileJournal::ReadFrom(
    uint64_t position, const std::function<absl::Status(uint64_t, absl::string_view)>& fn) {
  if (position < first_position()) {
    return absl::OutOfRangeError(
        absl::StrFormat("journal %s: position %d was truncated (the journal starts at position %d)",
                        dir_, position, first_position()));
  }
  if (position > next_position_) {
    return absl::OutOfRangeError(absl::StrFormat(
        "journal %s: position %d is past the end (the next record will be position %d)", dir_,
        position, next_position_));
  }
  // The last segment whose first position is <= position.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), position,
                             [](uint64_t p, const Segment& s) { return p < s.first_position; });
  size_t start = static_cast<size_t>(it - segments_.begin()) - 1;
  for (size_t i = start; i < segments_.size(); ++i) {
    const Segment& segment = segments_[i];
    const bool last = i + 1 == segments_.size();
    absl::StatusOr<UniqueFd> fd = internal::OpenFile(segment.path, O_RDONLY);
    if (!fd.ok()) return fd.status();
    uint64_t end = active_bytes_;
    if (!last) {
      absl::StatusOr<uint64_t> size = internal::FileSize(fd->get(), segment.path);
      if (!size.ok()) return size.status();
      end = *size;
    }
    if (absl::Status s = CheckHeader(fd->get(), segment.path, end, segment.first_position);
        !s.ok()) {
      return s;
    }
    RecordReader reader(fd->get(), segment.path, kHeaderBytes, end);
    RecordReader::Step step;
    uint64_t pos = segment.first_position;
    while (true) {
      if (absl::Status s = reader.Next(&step); !s.ok()) return s;
      if (step.kind == RecordReader::Kind::kEnd) break;
      if (step.kind == RecordReader::Kind::kBad) {
        return absl::DataLossError(
            absl::StrFormat("%s: corrupt record at offset %d (position %d): %s", segment.path,
                            step.offset, pos, step.problem));
      }
      if (pos >= position) {
        if (absl::Status s = fn(pos, step.payload); !s.ok()) return s;
      }
      ++pos;
    }
    uint64_t expected_end = last ? next_position_ : segments_[i + 1].first_position;
    if (pos != expected_end) {
      return absl::DataLossError(absl::StrFormat(
          "%s: holds records up to position %d, expected up to %d (the file changed since "
          "the journal was opened)",
          segment.path, pos - 1, expected_end - 1));
    }
  }
  return absl::OkStatus();
}

absl::Status FileJournal::TruncateBefore(uint64_t position) {
  if (read_only_) return broken_;
  size_t removable = 0;
  while (removable + 1 < segments_.size() && segments_[removable + 1].first_position <= position) {
    ++removable;
  }
  if (removable == 0) return absl::OkStatus();
  // Oldest first, so that a crash half-way leaves a contiguous journal.
  size_t removed = 0;
  absl::Status status;
  for (; removed < removable; ++removed) {
    status = internal::RemoveFile(segments_[removed].path);
    if (!status.ok()) break;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
  if (!status.ok()) return status;
  return internal::SyncDir(dir_);
}

}  // namespace omniroute::durability
