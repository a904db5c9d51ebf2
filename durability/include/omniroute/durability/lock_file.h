// LockFile: one process per data directory.
//
//   absl::StatusOr<LockFile> lock = LockFile::Acquire(data_dir);
//   if (!lock.ok()) return lock.status();   // "directory /var/lib/omniroute is in use by
//                                           //  another omnirouted (pid 4242)"
//   ... open the journal, load snapshots; the lock is held while `lock` lives.
//
// Acquire takes an exclusive, non-blocking flock(2) on `<dir>/LOCK` (created if needed) and
// writes the holder's pid into it. The lock belongs to the open file description: a second
// Acquire fails whether it comes from another process or from the same one, and the lock is
// released when the LockFile is destroyed, or by the kernel if the process dies. The file
// itself stays (removing it would race with the next holder).

#ifndef OMNIROUTE_DURABILITY_LOCK_FILE_H_
#define OMNIROUTE_DURABILITY_LOCK_FILE_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace omniroute::durability {

class LockFile {
 public:
  // FAILED_PRECONDITION "directory <dir> is in use by another omnirouted (pid N)" if the
  // lock is held (the pid is "unknown" if the holder has not written it yet), or the I/O
  // error. `dir` must exist.
  static absl::StatusOr<LockFile> Acquire(const std::string& dir);

  LockFile(LockFile&& other) noexcept;
  LockFile& operator=(LockFile&& other) noexcept;
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  // Releases the lock.
  ~LockFile();

  // `<dir>/LOCK`.
  const std::string& path() const { return path_; }

 private:
  LockFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void Release();

  int fd_ = -1;
  std::string path_;
};

}  // namespace omniroute::durability

#endif  // OMNIROUTE_DURABILITY_LOCK_FILE_H_
