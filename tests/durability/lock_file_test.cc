#include "omniroute/durability/lock_file.h"

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "temp_dir.h"

namespace omniroute::durability {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;

TEST(LockFileTest, SecondAcquisitionInTheSameProcessIsRefused) {
  TempDir dir;
  absl::StatusOr<LockFile> first = LockFile::Acquire(dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->path(), dir.file("LOCK"));
  EXPECT_EQ(ReadFile(dir.file("LOCK")), absl::StrCat(::getpid(), "\n"));

  absl::StatusOr<LockFile> second = LockFile::Acquire(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("directory ", dir.path(), " is in use by another omnirouted (pid ",
                         ::getpid(), ")"));
}

TEST(LockFileTest, ReleasedOnDestructionAndFollowsMoves) {
  TempDir dir;
  {
    absl::StatusOr<LockFile> lock = LockFile::Acquire(dir.path());
    ASSERT_TRUE(lock.ok()) << lock.status();
    LockFile moved = *std::move(lock);
    EXPECT_FALSE(LockFile::Acquire(dir.path()).ok());
    LockFile assigned = std::move(moved);
    EXPECT_FALSE(LockFile::Acquire(dir.path()).ok());
  }
  absl::StatusOr<LockFile> again = LockFile::Acquire(dir.path());
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST(LockFileTest, AnotherProcessIsRefusedWithTheHoldersPid) {
  TempDir dir;
  int to_parent[2];
  int to_child[2];
  ASSERT_EQ(::pipe(to_parent), 0);
  ASSERT_EQ(::pipe(to_child), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child holds the lock until the parent says it is done.
    ::close(to_parent[0]);
    ::close(to_child[1]);
    absl::StatusOr<LockFile> lock = LockFile::Acquire(dir.path());
    char c = lock.ok() ? 'y' : 'n';
    if (::write(to_parent[1], &c, 1) != 1) ::_exit(2);
    if (::read(to_child[0], &c, 1) < 0) ::_exit(3);
    ::_exit(lock.ok() ? 0 : 1);
  }
  ::close(to_parent[1]);
  ::close(to_child[0]);
  char c = 0;
  ASSERT_EQ(::read(to_parent[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');

  absl::StatusOr<LockFile> mine = LockFile::Acquire(dir.path());
  EXPECT_FALSE(mine.ok());
  EXPECT_EQ(mine.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mine.status().message(),
              HasSubstr(absl::StrCat("directory ", dir.path(),
                                     " is in use by another omnirouted (pid ", child, ")")));

  // Let the child go; once it has exited the lock is free.
  ASSERT_EQ(::write(to_child[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  mine = LockFile::Acquire(dir.path());
  EXPECT_TRUE(mine.ok()) << mine.status();
  ::close(to_parent[0]);
  ::close(to_child[1]);
}

TEST(LockFileTest, MissingDirectoryIsAnError) {
  TempDir dir;
  absl::StatusOr<LockFile> lock = LockFile::Acquire(dir.file("nope"));
  EXPECT_EQ(lock.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace omniroute::durability
