// Process crashes: a child process writes (resolves creating customers, links, records
// interactions, merges) and acknowledges each finished step to the parent; it is then
// SIGKILLed in the middle of its work, or _exit()s without closing the directory. The parent
// reopens the directory and checks that everything acknowledged is there, that the step in
// flight is all there or not at all, and that no id is handed out twice.
//
// A process crash keeps what the kernel has (the write-ahead log is written before a call
// returns, synced or not); a power failure is what sync_writes guards against, and that
// cannot be staged in a test: docs/DIRECTORY.md says what the syncs are.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "directory/child_process.h"
#include "directory/directory_test_util.h"
#include "gtest/gtest.h"
#include "omniroute/directory/directory.h"

namespace omniroute::directory {
namespace {

using testing::ChildProcess;
using testing::H;
using testing::Session;
using testing::T;
using testing::TempDir;

constexpr char kPathEnv[] = "OMNIROUTE_DIRECTORY_CRASH_PATH";
constexpr char kSyncEnv[] = "OMNIROUTE_DIRECTORY_CRASH_SYNC";
constexpr char kExitAfterEnv[] = "OMNIROUTE_DIRECTORY_CRASH_EXIT_AFTER";

// Step i: phone:i resolves (creating) to id_i; wechat:i is linked to it; session i+1 of
// id_i is recorded; odd i: id_i is merged into id_(i-1). Then "i id_i" goes to the parent.
TEST(DirectoryCrashChild, WritesUntilKilled) {
  const char* path = std::getenv(kPathEnv);
  if (path == nullptr) GTEST_SKIP() << "runs only as a child process of this binary's tests";
  Options options;
  options.sync_writes = std::string(std::getenv(kSyncEnv)) == "1";
  int64_t exit_after = -1;
  if (const char* e = std::getenv(kExitAfterEnv)) {
    if (!absl::SimpleAtoi(e, &exit_after)) exit_after = -1;
  }
  absl::StatusOr<std::unique_ptr<Directory>> opened = Directory::Open(path, options);
  if (!opened.ok()) {
    testing::TellParent(absl::StrCat("error ", opened.status().ToString()));
    ::_exit(1);
  }
  Directory& dir = **opened;
  std::string previous;
  for (int64_t i = 0;; ++i) {
    if (i == exit_after) ::_exit(0);  // no destructor: nothing flushed or closed
    absl::StatusOr<Directory::Resolved> r = dir.Resolve(H("phone", absl::StrCat(i)), true, T(i));
    if (!r.ok()) ::_exit(2);
    const std::string id = r->customer.id;
    if (!dir.LinkHandle(id, H("wechat", absl::StrCat(i)), false, T(i)).ok()) ::_exit(3);
    absl::StatusOr<bool> rec = dir.RecordInteraction(
        Session(static_cast<uint64_t>(i) + 1, id, absl::StrCat("eng-", i % 3), 1000 + i));
    if (!rec.ok() || !*rec) ::_exit(4);
    if (i % 2 == 1 && !dir.Merge(previous, id, T(i)).ok()) ::_exit(5);
    if (!testing::TellParent(absl::StrCat(i, " ", id))) ::_exit(6);
    previous = id;
  }
}

struct Acked {
  std::vector<std::string> ids;  // id_i of every acknowledged step i
};

// Starts the writer, reads `kill_after` acknowledgements (or all, for an _exit), kills it.
Acked RunWriter(const std::string& path, bool sync, int64_t kill_after, bool exit_instead) {
  std::vector<std::pair<std::string, std::string>> env = {{kPathEnv, path},
                                                          {kSyncEnv, sync ? "1" : "0"}};
  if (exit_instead) env.emplace_back(kExitAfterEnv, absl::StrCat(kill_after));
  ChildProcess child("DirectoryCrashChild.WritesUntilKilled", env);
  Acked acked;
  if (child.pid() <= 0) return acked;
  while (exit_instead || static_cast<int64_t>(acked.ids.size()) < kill_after) {
    std::optional<std::string> line = child.ReadLine();
    if (!line.has_value()) break;
    std::vector<std::string> parts = absl::StrSplit(*line, ' ');
    if (parts.size() != 2 || parts[0] != absl::StrCat(acked.ids.size())) {
      ADD_FAILURE() << "unexpected line from the child: " << *line;
      break;
    }
    acked.ids.push_back(parts[1]);
  }
  if (!exit_instead) child.Kill();
  const int status = child.Wait();
  if (exit_instead) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    EXPECT_EQ(static_cast<int64_t>(acked.ids.size()), kill_after);
  } else {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  }
  return acked;
}

// The writer's mutations, in order, are a sequence: step i is Resolve(phone:i), Link(wechat:i),
// Record(session i+1) and, for odd i, Merge. One thread, one WriteBatch each: after a crash
// the mutations found must be a prefix of that sequence, covering every acknowledged step
// (the writer may have gone on a little before the kill landed), each mutation whole.
void CheckAfterCrash(const std::string& path, const Acked& acked) {
  const int64_t n = static_cast<int64_t>(acked.ids.size());
  ASSERT_GT(n, 0);
  std::unique_ptr<Directory> dir = testing::OpenOrDie(path);
  ASSERT_NE(dir, nullptr);
  auto owner = [&](const Handle& h) -> std::string {
    absl::StatusOr<Directory::Resolved> r = dir->Resolve(h, false, T(0));
    return r.ok() ? r->customer.id : "";
  };
  std::vector<bool> done;  // per mutation of the sequence
  std::vector<std::string> owners;
  int64_t sessions = 0;
  int64_t absent_steps = 0;
  for (int64_t i = 0; absent_steps < 3; ++i) {
    SCOPED_TRACE(absl::StrCat("step ", i, " (", n, " acknowledged)"));
    const std::string phone = owner(H("phone", absl::StrCat(i)));
    owners.push_back(phone);
    const std::string wechat = owner(H("wechat", absl::StrCat(i)));
    absl::StatusOr<std::optional<Interaction>> in =
        dir->GetInteraction(static_cast<uint64_t>(i) + 1);
    ASSERT_TRUE(in.ok()) << in.status();
    const bool merged = i % 2 == 1 && !phone.empty() && phone == owners[i - 1];
    done.push_back(!phone.empty());
    done.push_back(!wechat.empty());
    done.push_back(in->has_value());
    if (i % 2 == 1) done.push_back(merged);
    if (phone.empty()) {
      ++absent_steps;
      continue;
    }
    absl::StatusOr<Customer> c = dir->Get(phone);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->id, phone);  // handles point at live customers
    EXPECT_TRUE(
        std::binary_search(c->handles.begin(), c->handles.end(), H("phone", absl::StrCat(i))));
    if (!wechat.empty()) {
      EXPECT_EQ(wechat, phone);
    }
    if (in->has_value()) {
      EXPECT_EQ((*in)->customer, phone);
      ++sessions;
    }
    if (i < n) {
      // Acknowledged: the whole step, and the odd steps merged into the previous one.
      EXPECT_FALSE(wechat.empty());
      EXPECT_TRUE(in->has_value());
      EXPECT_EQ(phone, acked.ids[i - i % 2]);
      absl::StatusOr<Customer> by_id = dir->Get(acked.ids[i]);
      ASSERT_TRUE(by_id.ok()) << by_id.status();
      EXPECT_EQ(by_id->id, phone);
    }
  }
  const auto first_missing = std::find(done.begin(), done.end(), false);
  EXPECT_TRUE(std::find(first_missing, done.end(), true) == done.end())
      << "the mutations found are not a prefix of the writer's sequence";
  // Interactions and engineers agree: every session found counted once.
  int64_t handled = 0;
  absl::StatusOr<std::vector<EngineerRecord>> engineers = dir->ListEngineers();
  ASSERT_TRUE(engineers.ok());
  for (const EngineerRecord& e : *engineers) handled += e.handled;
  EXPECT_EQ(handled, sessions);
  // No id is handed out twice: a new customer's id is new.
  absl::StatusOr<Directory::Resolved> fresh = dir->Resolve(H("phone", "fresh"), true, T(0));
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->created);
  for (const std::string& id : acked.ids) EXPECT_NE(fresh->customer.id, id);
  for (const std::string& id : owners) EXPECT_NE(fresh->customer.id, id);
  EXPECT_EQ(fresh->customer.handles.size(), 1u);
}

TEST(DirectoryCrashTest, SigkillWithSyncedWritesLosesNothingAcknowledged) {
  TempDir tmp;
  const Acked acked = RunWriter(tmp.path() + "/dir", /*sync=*/true, 120, false);
  CheckAfterCrash(tmp.path() + "/dir", acked);
}

TEST(DirectoryCrashTest, SigkillWithoutSyncLosesNothingAcknowledged) {
  TempDir tmp;
  const Acked acked = RunWriter(tmp.path() + "/dir", /*sync=*/false, 400, false);
  CheckAfterCrash(tmp.path() + "/dir", acked);
}

TEST(DirectoryCrashTest, ExitWithoutClosingLosesNothing) {
  TempDir tmp;
  const Acked acked = RunWriter(tmp.path() + "/dir", /*sync=*/true, 75, true);
  CheckAfterCrash(tmp.path() + "/dir", acked);
}

TEST(DirectoryCrashTest, CrashesEarlyOnAreRecoveredToo) {
  for (int64_t kill_after : {1, 2, 37}) {
    TempDir tmp;
    const Acked acked = RunWriter(tmp.path() + "/dir", /*sync=*/true, kill_after, false);
    CheckAfterCrash(tmp.path() + "/dir", acked);
  }
}

}  // namespace
}  // namespace omniroute::directory
