#include "omniroute/durability/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "file_util.h"

namespace omniroute::durability {

absl::StatusOr<LockFile> LockFile::Acquire(const std::string& dir) {
  std::string path = internal::JoinPath(dir, "LOCK");
  absl::StatusOr<internal::UniqueFd> fd = internal::OpenFile(path, O_RDWR | O_CREAT, 0644);
  if (!fd.ok()) return fd.status();
  while (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK) return internal::ErrnoError(err, "cannot lock", path);
    // Held: say by whom, from what the holder wrote.
    char buf[32];
    ssize_t n = ::pread(fd->get(), buf, sizeof(buf) - 1, 0);
    std::string pid = "unknown";
    uint64_t value = 0;
    if (n > 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(buf, static_cast<size_t>(n))),
                         &value)) {
      pid = absl::StrCat(value);
    }
    return absl::FailedPreconditionError(
        absl::StrCat("directory ", dir, " is in use by another omnirouted (pid ", pid, ")"));
  }
  std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd->get(), 0) != 0) return internal::ErrnoError(errno, "cannot truncate", path);
  while (true) {
    ssize_t n = ::pwrite(fd->get(), pid.data(), pid.size(), 0);
    if (n == static_cast<ssize_t>(pid.size())) break;
    if (n < 0 && errno == EINTR) continue;
    return internal::ErrnoError(n < 0 ? errno : EIO, "cannot write", path);
  }
  return LockFile(fd->release(), std::move(path));
}

LockFile::LockFile(LockFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

LockFile& LockFile::operator=(LockFile&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

LockFile::~LockFile() { Release(); }

void LockFile::Release() {
  if (fd_ < 0) return;
  // Clear the pid first, so that nobody is later told a stale pid holds the directory.
  if (::ftruncate(fd_, 0) != 0) {
    // Nothing to do: the lock is released below all the same.
  }
  ::close(fd_);  // releases the flock
  fd_ = -1;
}

}  // namespace omniroute::durability
