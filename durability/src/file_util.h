// Internal: POSIX file helpers shared by the journal, the snapshot files and the lock file.
// Every failure is an absl::Status built with absl::ErrnoToStatus, naming the operation and
// the path.

#ifndef OMNIROUTE_DURABILITY_SRC_FILE_UTIL_H_
#define OMNIROUTE_DURABILITY_SRC_FILE_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace omniroute::durability::internal {

// Owns a file descriptor; closes it on destruction (errors from close are ignored: callers
// that need durability sync explicitly before letting go of the descriptor).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// "<what> <path>: <strerror>" with the code absl::ErrnoToStatusCode gives.
absl::Status ErrnoError(int error_number, absl::string_view what, absl::string_view path);

// open(2), retried on EINTR, with O_CLOEXEC added.
absl::StatusOr<UniqueFd> OpenFile(const std::string& path, int flags, int mode = 0644);

// Writes all of `data` at the current offset (looping over short writes and EINTR).
absl::Status WriteAll(int fd, absl::string_view data, absl::string_view path);

// Reads exactly `size` bytes at `offset` into `out` (which must have room). A file shorter
// than that is DATA_LOSS.
absl::Status PreadExact(int fd, uint64_t offset, size_t size, char* out, absl::string_view path);

absl::StatusOr<uint64_t> FileSize(int fd, absl::string_view path);

absl::Status FdataSync(int fd, absl::string_view path);
absl::Status FullSync(int fd, absl::string_view path);

// fsync of a directory, which makes the creation, renaming and removal of its entries durable.
absl::Status SyncDir(const std::string& dir);

// Creates `dir` (one level) if it does not exist.
absl::Status EnsureDir(const std::string& dir);

// The names of the directory's entries (not "." or "..").
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);

absl::Status RemoveFile(const std::string& path);
absl::Status RenameFile(const std::string& from, const std::string& to);

// dir + "/" + name.
std::string JoinPath(absl::string_view dir, absl::string_view name);

// Parses "<prefix><20 decimal digits><suffix>" and returns the number, or nothing if `name`
// has another shape (or the number does not fit in 64 bits).
std::optional<uint64_t> ParseNumberedName(absl::string_view name, absl::string_view prefix,
                                          absl::string_view suffix);
// "<prefix><number as 20 digits><suffix>".
std::string NumberedName(absl::string_view prefix, uint64_t number, absl::string_view suffix);

// Little-endian fixed-width integers.
void AppendFixed32(std::string* out, uint32_t v);
void AppendFixed64(std::string* out, uint64_t v);
uint32_t LoadFixed32(const char* p);
uint64_t LoadFixed64(const char* p);

}  // namespace omniroute::durability::internal

#endif  // OMNIROUTE_DURABILITY_SRC_FILE_UTIL_H_
