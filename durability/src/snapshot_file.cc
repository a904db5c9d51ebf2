#include "omniroute/durability/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
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

constexpr absl::string_view kMagic = "OMRSNAP1";
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kHeaderBytes = 40;
constexpr absl::string_view kPrefix = "snapshot-";
constexpr absl::string_view kSuffix = ".snap";
constexpr absl::string_view kTmpSuffix = ".snap.tmp";

std::string EncodeHeader(uint64_t position, absl::string_view bytes) {
  std::string h(kMagic);
  AppendFixed32(&h, kFormatVersion);
  AppendFixed64(&h, position);
  AppendFixed64(&h, bytes.size());
  AppendFixed32(&h, MaskCrc32c(Crc32c(bytes)));
  AppendFixed32(&h, 0);  // reserved
  AppendFixed32(&h, MaskCrc32c(Crc32c(h)));
  return h;
}

// Reads and validates one snapshot file. Returns an I/O error (or an unsupported version);
// sets `*invalid` (and leaves `bytes` empty) if the contents are not a valid snapshot.
absl::Status ReadSnapshot(const std::string& path, uint64_t position, std::string* bytes,
                          std::string* invalid) {
  invalid->clear();
  bytes->clear();
  absl::StatusOr<internal::UniqueFd> fd = internal::OpenFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint64_t> size = internal::FileSize(fd->get(), path);
  if (!size.ok()) return size.status();
  if (*size < kHeaderBytes) {
    *invalid = absl::StrFormat("%s: header is truncated (the file is %d bytes, the header %d)",
                               path, *size, kHeaderBytes);
    return absl::OkStatus();
  }
  char h[kHeaderBytes];
  if (absl::Status s = internal::PreadExact(fd->get(), 0, kHeaderBytes, h, path); !s.ok()) {
    return s;
  }
  absl::string_view header(h, kHeaderBytes);
  if (header.substr(0, kMagic.size()) != kMagic) {
    *invalid = absl::StrCat(path, ": not a snapshot file (bad magic)");
    return absl::OkStatus();
  }
  if (UnmaskCrc32c(LoadFixed32(h + 36)) != Crc32c(header.substr(0, 36))) {
    *invalid = absl::StrCat(path, ": header checksum mismatch");
    return absl::OkStatus();
  }
  uint32_t version = LoadFixed32(h + 8);
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: snapshot format version %d is not supported (this build reads version %d)", path,
        version, kFormatVersion));
  }
  uint64_t header_position = LoadFixed64(h + 12);
  uint64_t length = LoadFixed64(h + 20);
  uint32_t crc = UnmaskCrc32c(LoadFixed32(h + 28));
  if (header_position != position) {
    *invalid = absl::StrFormat("%s: header says position %d, the file name %d", path,
                               header_position, position);
    return absl::OkStatus();
  }
  if (length != *size - kHeaderBytes) {
    *invalid = absl::StrFormat("%s: header says %d bytes of state, the file holds %d", path, length,
                               *size - kHeaderBytes);
    return absl::OkStatus();
  }
  bytes->assign(length, '\0');
  if (absl::Status s = internal::PreadExact(fd->get(), kHeaderBytes, length, bytes->data(), path);
      !s.ok()) {
    return s;
  }
  if (Crc32c(*bytes) != crc) {
    bytes->clear();
    *invalid = absl::StrCat(path, ": checksum mismatch in the state bytes");
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteSnapshotFile(const std::string& dir, uint64_t position, absl::string_view bytes) {
  if (position == 0) {
    return absl::InvalidArgumentError("snapshot position must be at least 1");
  }
  std::string path = internal::JoinPath(dir, internal::NumberedName(kPrefix, position, kSuffix));
  std::string tmp = absl::StrCat(path, ".tmp");
  {
    absl::StatusOr<internal::UniqueFd> fd =
        internal::OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!fd.ok()) return fd.status();
    absl::Status s = internal::WriteAll(fd->get(), EncodeHeader(position, bytes), tmp);
    if (s.ok()) s = internal::WriteAll(fd->get(), bytes, tmp);
    if (s.ok()) s = internal::FullSync(fd->get(), tmp);
    if (s.ok() && ::close(fd->release()) != 0) s = internal::ErrnoError(errno, "cannot close", tmp);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (absl::Status s = internal::RenameFile(tmp, path); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (absl::Status s = internal::SyncDir(dir); !s.ok()) return s;

  // Clean up: keep the newest snapshot older than this one, remove the others and leftover
  // temporary files of older positions.
  absl::StatusOr<std::vector<std::string>> names = internal::ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> older;
  std::vector<std::string> remove;
  for (const std::string& name : *names) {
    if (std::optional<uint64_t> p = internal::ParseNumberedName(name, kPrefix, kTmpSuffix);
        p.has_value() && *p < position) {
      remove.push_back(name);
    } else if (std::optional<uint64_t> q = internal::ParseNumberedName(name, kPrefix, kSuffix);
               q.has_value() && *q < position) {
      older.push_back(*q);
    }
  }
  std::sort(older.begin(), older.end(), std::greater<>());
  for (size_t i = 1; i < older.size(); ++i) {
    remove.push_back(internal::NumberedName(kPrefix, older[i], kSuffix));
  }
  for (const std::string& name : remove) {
    if (absl::Status s = internal::RemoveFile(internal::JoinPath(dir, name)); !s.ok()) return s;
  }
  if (!remove.empty()) return internal::SyncDir(dir);
  return absl::OkStatus();
}

namespace {

// The first valid snapshot among those of `dir` that `keep` accepts, in the order `order`
// sorts positions.
template <typename Keep, typename Order>
absl::StatusOr<LoadedSnapshot> LoadFirstValid(const std::string& dir, Keep keep, Order order) {
  LoadedSnapshot result;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT) return result;
  absl::StatusOr<std::vector<std::string>> names = internal::ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<uint64_t> positions;
  for (const std::string& name : *names) {
    std::optional<uint64_t> p = internal::ParseNumberedName(name, kPrefix, kSuffix);
    if (p.has_value() && keep(*p)) positions.push_back(*p);
  }
  std::sort(positions.begin(), positions.end(), order);
  for (uint64_t position : positions) {
    std::string path = internal::JoinPath(dir, internal::NumberedName(kPrefix, position, kSuffix));
    std::string bytes;
    std::string invalid;
    if (absl::Status s = ReadSnapshot(path, position, &bytes, &invalid); !s.ok()) return s;
    if (!invalid.empty()) {
      result.skipped.push_back(std::move(invalid));
      continue;
    }
    result.snapshot = SnapshotFile{position, std::move(bytes), std::move(path)};
    return result;
  }
  return result;
}

constexpr size_t kPartLengthBytes = 8;

}  // namespace

absl::StatusOr<LoadedSnapshot> LoadNewestSnapshot(const std::string& dir) {
  return LoadFirstValid(dir, [](uint64_t) { return true; }, std::greater<>());
}

absl::StatusOr<LoadedSnapshot> LoadOldestSnapshotFrom(const std::string& dir, uint64_t position) {
  return LoadFirstValid(dir, [position](uint64_t p) { return p >= position; }, std::less<>());
}

std::string JoinSnapshotParts(absl::string_view engine, absl::string_view daemon) {
  std::string out;
  out.reserve(kPartLengthBytes + engine.size() + daemon.size());
  uint64_t length = engine.size();
  for (size_t i = 0; i < kPartLengthBytes; ++i, length >>= 8) {
    out.push_back(static_cast<char>(length & 0xff));
  }
  out.append(engine.data(), engine.size());
  out.append(daemon.data(), daemon.size());
  return out;
}

absl::StatusOr<SnapshotParts> SplitSnapshotParts(absl::string_view bytes) {
  if (bytes.size() < kPartLengthBytes) {
    return absl::DataLossError("snapshot: shorter than its header");
  }
  uint64_t length = 0;
  for (size_t i = 0; i < kPartLengthBytes; ++i) {
    length |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  }
  if (length > bytes.size() - kPartLengthBytes) {
    return absl::DataLossError("snapshot: the engine's state runs past the end");
  }
  return SnapshotParts{bytes.substr(kPartLengthBytes, length),
                       bytes.substr(kPartLengthBytes + length)};
}

}  // namespace omniroute::durability
