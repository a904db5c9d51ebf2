// The directory across restarts: close and reopen keeps everything; a directory held by
// this process or another one is refused with FAILED_PRECONDITION naming it; a directory
// written by a newer, incompatible version is refused.

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "directory/child_process.h"
#include "directory/directory_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/directory/directory.h"
#include "rocksdb/db.h"

namespace omniroute::directory {
namespace {

using testing::ChildProcess;
using ::testing::ElementsAre;
using testing::H;
using ::testing::HasSubstr;
using testing::OpenOrDie;
using testing::Session;
using testing::Stars;
using testing::T;
using testing::TempDir;
using testing::Upd;

constexpr char kChildEnv[] = "OMNIROUTE_DIRECTORY_TEST_HOLD";

// Run only as the child of AnotherProcessHoldingItIsRefused: opens the directory, says so,
// and holds it until the parent closes the pipe.
TEST(DirectoryDurabilityChild, HoldsTheDirectory) {
  const char* path = std::getenv(kChildEnv);
  if (path == nullptr) GTEST_SKIP() << "runs only as a child process of this binary's tests";
  absl::StatusOr<std::unique_ptr<Directory>> dir = Directory::Open(path, Options());
  testing::TellParent(dir.ok() ? "open" : std::string(dir.status().message()));
  testing::WaitForParent();
}

TEST(DirectoryDurabilityTest, CloseAndReopenKeepsEverything) {
  TempDir tmp;
  const std::string path = tmp.path() + "/a/b/directory";  // parents created too
  Customer merged;
  {
    std::unique_ptr<Directory> dir = OpenOrDie(path);
    ASSERT_NE(dir, nullptr);
    absl::StatusOr<Directory::Resolved> a = dir->Resolve(H("phone", "1"), true, T(1));
    absl::StatusOr<Directory::Resolved> b = dir->Resolve(H("wechat", "w"), true, T(2));
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(dir->LinkHandle(a->customer.id, H("app", "u"), false, T(3)).ok());
    ASSERT_TRUE(
        dir->Update(a->customer.id, Upd().Name("Wang").Vip(3).Tags({"vip"}), false, T(4)).ok());
    ASSERT_TRUE(*dir->RecordInteraction(Session(1, a->customer.id, "eng-1", 100)));
    ASSERT_TRUE(*dir->RecordInteraction(Session(2, b->customer.id, "eng-2", 200)));
    ASSERT_TRUE(dir->Rate(2, Stars(5, true, 300)).ok());
    absl::StatusOr<Customer> m = dir->Merge(a->customer.id, b->customer.id, T(300));
    ASSERT_TRUE(m.ok()) << m.status();
    merged = *m;
    ASSERT_TRUE(dir->Sync().ok());
  }
  std::unique_ptr<Directory> dir = OpenOrDie(path);
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<Customer> got = dir->Get("cust-2");  // the absorbed id
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, "cust-1");
  EXPECT_EQ(got->display_name, "Wang");
  EXPECT_EQ(got->vip_level, 3);
  EXPECT_THAT(got->tags, ElementsAre("vip"));
  EXPECT_THAT(got->handles, ElementsAre(H("app", "u"), H("phone", "1"), H("wechat", "w")));
  EXPECT_THAT(got->favourite_engineers, ElementsAre("eng-2"));
  EXPECT_THAT(got->merged_from, ElementsAre("cust-2"));
  EXPECT_EQ(got->interactions, 2);
  EXPECT_EQ(got->last_engineer, "eng-2");
  EXPECT_EQ(got->created_at, T(1));
  EXPECT_EQ(got->updated_at, merged.updated_at);
  for (const Handle& h : {H("phone", "1"), H("wechat", "w"), H("app", "u")}) {
    absl::StatusOr<Directory::Resolved> r = dir->Resolve(h, false, T(0));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->customer.id, "cust-1");
  }
  absl::StatusOr<Directory::InteractionPage> page = dir->ListInteractions("cust-1", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->interactions.size(), 2u);
  EXPECT_EQ(page->interactions[0].session, 2u);
  ASSERT_TRUE(page->interactions[0].rating.has_value());
  EXPECT_EQ(page->interactions[0].rating->tip_cents, 300);
  absl::StatusOr<EngineerRecord> e = dir->GetEngineer("eng-2");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->handled, 1);
  EXPECT_EQ(e->ratings, 1);
  EXPECT_EQ(e->favourites, 1);
  EXPECT_EQ(e->tip_cents_total, 300);
  // Recording a session again after the restart (a replay) changes nothing.
  absl::StatusOr<bool> replay = dir->RecordInteraction(Session(1, "cust-1", "eng-1", 100));
  ASSERT_TRUE(replay.ok());
  EXPECT_FALSE(*replay);
  // The id counter continues: no id is handed out twice.
  absl::StatusOr<Directory::Resolved> c = dir->Resolve(H("phone", "2"), true, T(5));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->customer.id, "cust-3");
}

TEST(DirectoryDurabilityTest, CounterSurvivesRestartsWithoutSync) {
  TempDir tmp;
  Options options;
  options.sync_writes = false;
  {
    std::unique_ptr<Directory> dir = OpenOrDie(tmp.path(), options);
    ASSERT_NE(dir, nullptr);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(dir->Resolve(H("phone", absl::StrCat(i)), true, T(0)).ok());
    }
  }
  std::unique_ptr<Directory> dir = OpenOrDie(tmp.path(), options);
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<Directory::Resolved> r = dir->Resolve(H("phone", "new"), true, T(0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->customer.id, "cust-11");
}

TEST(DirectoryDurabilityTest, ReopenWhileOpenIsFailedPrecondition) {
  TempDir tmp;
  std::unique_ptr<Directory> first = OpenOrDie(tmp.path());
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<Directory>> second = Directory::Open(tmp.path(), Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("directory ", tmp.path(), " is in use")));
  first.reset();
  EXPECT_TRUE(Directory::Open(tmp.path(), Options()).ok());
}

TEST(DirectoryDurabilityTest, AnotherProcessHoldingItIsFailedPrecondition) {
  TempDir tmp;
  ChildProcess child("DirectoryDurabilityChild.HoldsTheDirectory", {{kChildEnv, tmp.path()}});
  ASSERT_GT(child.pid(), 0);
  std::optional<std::string> said = child.ReadLine();
  ASSERT_TRUE(said.has_value());
  ASSERT_EQ(*said, "open");
  absl::StatusOr<std::unique_ptr<Directory>> mine = Directory::Open(tmp.path(), Options());
  ASSERT_FALSE(mine.ok());
  EXPECT_EQ(mine.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(mine.status().message(),
              HasSubstr(absl::StrCat("directory ", tmp.path(), " is in use")));
  child.CloseInput();
  const int status = child.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  absl::StatusOr<std::unique_ptr<Directory>> after = Directory::Open(tmp.path(), Options());
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST(DirectoryDurabilityTest, DirectoryOfANewerVersionIsRefused) {
  TempDir tmp;
  { ASSERT_NE(OpenOrDie(tmp.path()), nullptr); }
  {
    // Rewrite the schema record as a future version would: SchemaRecord{version: 2,
    // min_reader_version: 2}, in the default column family.
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), tmp.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& n : names) families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), tmp.path(), families, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "schema", std::string("\x08\x02\x10\x02")).ok());
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    }
    ASSERT_TRUE(db->Close().ok());
  }
  absl::StatusOr<std::unique_ptr<Directory>> dir = Directory::Open(tmp.path(), Options());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(dir.status().message(), HasSubstr("was written by a newer version"));
}

}  // namespace
}  // namespace omniroute::directory
