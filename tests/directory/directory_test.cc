// The directory's rules, one by one: handles, customers, links, merges, interactions,
// ratings, paging, engineers, bulk load, options.

#include "omniroute/directory/directory.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "directory/directory_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omniroute::directory {
namespace {

using ::testing::ElementsAre;
using testing::H;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::OpenOrDie;
using testing::Session;
using testing::Stars;
using testing::T;
using testing::TempDir;
using testing::Upd;

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.sync_writes = false;  // the durability tests sync; these check the rules
    dir_ = OpenOrDie(tmp_.path() + "/dir", options);
    ASSERT_NE(dir_, nullptr);
  }

  Customer Create(const Handle& h, absl::Time now = T(0)) {
    absl::StatusOr<Directory::Resolved> r = dir_->Resolve(h, true, now);
    EXPECT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r.ok() && r->created) << testing::Str(h);
    return r.ok() ? r->customer : Customer{};
  }

  std::string Owner(const Handle& h) {
    absl::StatusOr<Directory::Resolved> r = dir_->Resolve(h, false, T(0));
    return r.ok() ? r->customer.id : std::string(absl::StatusCodeToString(r.status().code()));
  }

  std::vector<uint64_t> History(const std::string& customer, size_t page_size = 1000) {
    std::vector<uint64_t> sessions;
    std::string token;
    do {
      absl::StatusOr<Directory::InteractionPage> page =
          dir_->ListInteractions(customer, page_size, token);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const Interaction& in : page->interactions) sessions.push_back(in.session);
      token = page->next_page_token;
    } while (!token.empty());
    return sessions;
  }

  TempDir tmp_;
  std::unique_ptr<Directory> dir_;
};

// ---- Handles ------------------------------------------------------------------------------

TEST(ValidateHandleTest, AcceptsTheDocumentedAlphabet) {
  EXPECT_TRUE(ValidateHandle(H("phone", "+8613800138000"), "handle").ok());
  EXPECT_TRUE(ValidateHandle(H("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"), "handle").ok());
  EXPECT_TRUE(ValidateHandle(H("a.b_c-9", std::string(256, '~')), "handle").ok());
  EXPECT_TRUE(ValidateHandle(H(std::string(32, 'k'), "!"), "handle").ok());
}

TEST(ValidateHandleTest, NamesTheField) {
  struct Case {
    Handle handle;
    std::string message;
  };
  const Case cases[] = {
      {H("", "1"), "h.kind: must be 1..32 characters, got 0"},
      {H(std::string(33, 'k'), "1"), "h.kind: must be 1..32 characters, got 33"},
      {H("Phone", "1"), "h.kind: character not allowed in \"Phone\" (use a-z 0-9 _ . -)"},
      {H("ph:one", "1"), "h.kind: character not allowed in \"ph:one\" (use a-z 0-9 _ . -)"},
      {H("phone", ""), "h.value: must be 1..256 characters, got 0"},
      {H("phone", std::string(257, '1')), "h.value: must be 1..256 characters, got 257"},
      {H("phone", "138 0013"),
       "h.value: character 3 is not printable ASCII without space (0x21..0x7e)"},
      {H("phone", "13\x7f"),
       "h.value: character 2 is not printable ASCII without space (0x21..0x7e)"},
      {H("phone", "\xe5\xbc\xa0"),
       "h.value: character 0 is not printable ASCII without space (0x21..0x7e)"},
  };
  for (const Case& c : cases) {
    absl::Status st = ValidateHandle(c.handle, "h");
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << testing::Str(c.handle);
    EXPECT_EQ(st.message(), c.message) << testing::Str(c.handle);
  }
}

TEST_F(DirectoryTest, UnknownHandleCreatesACustomerOnceThenResolvesToIt) {
  absl::StatusOr<Directory::Resolved> first = dir_->Resolve(H("phone", "+861"), true, T(5));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->customer.id, "cust-1");
  EXPECT_THAT(first->customer.handles, ElementsAre(H("phone", "+861")));
  EXPECT_EQ(first->customer.created_at, T(5));
  EXPECT_EQ(first->customer.updated_at, T(5));

  absl::StatusOr<Directory::Resolved> again = dir_->Resolve(H("phone", "+861"), true, T(9));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->customer.id, "cust-1");
  EXPECT_EQ(again->customer.created_at, T(5));

  absl::StatusOr<Directory::Resolved> other = dir_->Resolve(H("wechat", "+861"), true, T(9));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->customer.id, "cust-2");
}

TEST_F(DirectoryTest, UnknownHandleWithoutCreateIsNotFound) {
  absl::StatusOr<Directory::Resolved> r = dir_->Resolve(H("phone", "1"), false, T(0));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "handle: phone:1 belongs to no customer");
  EXPECT_EQ(Owner(H("phone", "1")), "NOT_FOUND");
}

TEST_F(DirectoryTest, BadHandleIsInvalidArgumentAndCreatesNothing) {
  absl::StatusOr<Directory::Resolved> r = dir_->Resolve(H("PHONE", "1"), true, T(0));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("handle.kind: "));
  EXPECT_EQ(Create(H("phone", "1")).id, "cust-1");  // the counter was not used
}

TEST_F(DirectoryTest, CreatedIdsSkipOperatorChosenOnes) {
  ASSERT_TRUE(dir_->Update("cust-1", {}, true, T(0)).ok());
  ASSERT_TRUE(dir_->Update("cust-2", {}, true, T(0)).ok());
  EXPECT_EQ(Create(H("phone", "1")).id, "cust-3");
  EXPECT_EQ(Create(H("phone", "2")).id, "cust-4");
}

TEST_F(DirectoryTest, IdPrefixIsAnOption) {
  Options options;
  options.id_prefix = "c/";
  options.sync_writes = false;
  std::unique_ptr<Directory> dir = OpenOrDie(tmp_.path() + "/other", options);
  ASSERT_NE(dir, nullptr);
  absl::StatusOr<Directory::Resolved> r = dir->Resolve(H("phone", "1"), true, T(0));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->customer.id, "c/1");
}

// ---- Get / Update ---------------------------------------------------------------------------

TEST_F(DirectoryTest, GetByIdAndErrors) {
  const Customer c = Create(H("phone", "1"));
  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, c.id);
  EXPECT_EQ(dir_->Get("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dir_->Get("nobody").status().message(), "id: customer nobody not found");
  EXPECT_EQ(dir_->Get("bad id").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir_->Get("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DirectoryTest, UpdateSetsEveryField) {
  const Customer c = Create(H("phone", "1"));
  CustomerUpdate u;
  u.display_name = "\xe5\xbc\xa0\xe4\xb8\x89 (Zhang San)";
  u.vip_level = 7;
  u.tags = std::vector<std::string>{"new-home", "b", "a", "b"};
  u.language = "zh-CN";
  absl::StatusOr<Customer> updated = dir_->Update(c.id, u, false, T(10));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->display_name, *u.display_name);
  EXPECT_EQ(updated->vip_level, 7);
  EXPECT_THAT(updated->tags, ElementsAre("a", "b", "new-home"));
  EXPECT_EQ(updated->language, "zh-CN");
  EXPECT_EQ(updated->updated_at, T(10));
  EXPECT_EQ(updated->created_at, T(0));

  CustomerUpdate tags;
  tags.add_tags = {"risk:negative-social", "a"};
  tags.remove_tags = {"b", "absent"};
  updated = dir_->Update(c.id, tags, false, T(11));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT(updated->tags, ElementsAre("a", "new-home", "risk:negative-social"));
  EXPECT_EQ(updated->vip_level, 7);  // unset optionals leave fields alone
  EXPECT_EQ(updated->language, "zh-CN");

  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->tags, updated->tags);
  EXPECT_EQ(got->display_name, *u.display_name);
}

TEST_F(DirectoryTest, UpdateCreatesAnOperatorIdOnlyWhenAsked) {
  CustomerUpdate u;
  u.vip_level = 3;
  absl::StatusOr<Customer> missing = dir_->Update("crm:42", u, false, T(0));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<Customer> created = dir_->Update("crm:42", u, true, T(3));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id, "crm:42");
  EXPECT_EQ(created->vip_level, 3);
  EXPECT_EQ(created->created_at, T(3));
  EXPECT_THAT(created->handles, IsEmpty());
}

TEST_F(DirectoryTest, BadUpdateNamesTheFieldAndChangesNothing) {
  const Customer c = Create(H("phone", "1"));
  ASSERT_TRUE(dir_->Update(c.id, Upd().Vip(2), false, T(1)).ok());
  struct Case {
    CustomerUpdate update;
    std::string message_prefix;
  };
  std::vector<Case> cases;
  cases.push_back({Upd().Vip(10), "update.vip_level: must be 0..9"});
  cases.push_back({Upd().Vip(-1), "update.vip_level: must be 0..9"});
  cases.push_back({Upd().Name("a\nb"), "update.display_name: control character"});
  cases.push_back({Upd().Name("\xff"), "update.display_name: not UTF-8"});
  cases.push_back({Upd().Name("\xc0\xaf"), "update.display_name: not UTF-8"});
  cases.push_back({Upd().Name(std::string(257, 'x')), "update.display_name: longer than 256"});
  cases.push_back({Upd().Tags({"ok", ""}), "update.tags[1]: must be 1..128"});
  cases.push_back({Upd().Add({std::string(129, 't')}), "update.add_tags[0]: must be 1..128"});
  cases.push_back({Upd().Remove({"\t"}), "update.remove_tags[0]: character 0 is not printable"});
  cases.push_back({Upd().Language("zh CN"), "update.language: character not allowed"});
  cases.push_back({Upd().Language(std::string(33, 'z')), "update.language: longer than 32"});
  for (const Case& tc : cases) {
    absl::StatusOr<Customer> r = dir_->Update(c.id, tc.update, true, T(50));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << tc.message_prefix;
    EXPECT_THAT(std::string(r.status().message()), ::testing::StartsWith(tc.message_prefix));
  }
  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->vip_level, 2);
  EXPECT_EQ(got->updated_at, T(1));
  // A bad update with create_if_missing creates nothing either.
  EXPECT_EQ(dir_->Update("fresh", Upd().Vip(12), true, T(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir_->Get("fresh").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dir_->Update("bad id", {}, true, T(0)).status().message(),
            "id: character not allowed in \"bad id\" (use A-Z a-z 0-9 . _ - : / @ +)");
}

TEST_F(DirectoryTest, TooManyTagsIsResourceExhausted) {
  const Customer c = Create(H("phone", "1"));
  std::vector<std::string> tags;
  for (int i = 0; i < 256; ++i) tags.push_back(absl::StrCat("t", i));
  ASSERT_TRUE(dir_->Update(c.id, Upd().Tags(tags), false, T(1)).ok());
  absl::StatusOr<Customer> r = dir_->Update(c.id, Upd().Add({"one-more"}), false, T(2));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  tags.push_back("x");
  EXPECT_EQ(dir_->Update(c.id, Upd().Tags(tags), false, T(2)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- Links ----------------------------------------------------------------------------------

TEST_F(DirectoryTest, LinkHandleAddsSortedAndResolves) {
  const Customer c = Create(H("phone", "1"));
  absl::StatusOr<Customer> linked = dir_->LinkHandle(c.id, H("app", "u-9"), false, T(2));
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_THAT(linked->handles, ElementsAre(H("app", "u-9"), H("phone", "1")));
  EXPECT_EQ(linked->updated_at, T(2));
  EXPECT_EQ(Owner(H("app", "u-9")), c.id);

  // Already on it: unchanged (not even updated_at).
  absl::StatusOr<Customer> again = dir_->LinkHandle(c.id, H("app", "u-9"), false, T(3));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->updated_at, T(2));
}

TEST_F(DirectoryTest, LinkHandleOfAnotherCustomerNeedsMove) {
  const Customer a = Create(H("phone", "1"));
  const Customer b = Create(H("phone", "2"));
  absl::StatusOr<Customer> refused = dir_->LinkHandle(b.id, H("phone", "1"), false, T(2));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("belongs to customer cust-1"));
  EXPECT_EQ(Owner(H("phone", "1")), a.id);

  absl::StatusOr<Customer> moved = dir_->LinkHandle(b.id, H("phone", "1"), true, T(3));
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_THAT(moved->handles, ElementsAre(H("phone", "1"), H("phone", "2")));
  EXPECT_EQ(Owner(H("phone", "1")), b.id);
  absl::StatusOr<Customer> old = dir_->Get(a.id);
  ASSERT_TRUE(old.ok());
  EXPECT_THAT(old->handles, IsEmpty());
  EXPECT_EQ(old->updated_at, T(3));
}

TEST_F(DirectoryTest, LinkAndUnlinkErrors) {
  const Customer c = Create(H("phone", "1"));
  EXPECT_EQ(dir_->LinkHandle("nobody", H("phone", "9"), false, T(0)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Owner(H("phone", "9")), "NOT_FOUND");
  EXPECT_EQ(dir_->LinkHandle(c.id, H("phone", ""), false, T(0)).status().message(),
            "handle.value: must be 1..256 characters, got 0");
  EXPECT_EQ(dir_->UnlinkHandle(c.id, H("phone", "2"), T(0)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(dir_->UnlinkHandle("nobody", H("phone", "1"), T(0)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(dir_->UnlinkHandle(c.id, H("", "1"), T(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DirectoryTest, UnlinkedHandleIsUnknownAndCreatesAnew) {
  const Customer c = Create(H("phone", "1"));
  ASSERT_TRUE(dir_->LinkHandle(c.id, H("wechat", "w"), false, T(1)).ok());
  absl::StatusOr<Customer> u = dir_->UnlinkHandle(c.id, H("phone", "1"), T(2));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_THAT(u->handles, ElementsAre(H("wechat", "w")));
  EXPECT_EQ(Owner(H("phone", "1")), "NOT_FOUND");
  EXPECT_EQ(Create(H("phone", "1")).id, "cust-2");
}

TEST_F(DirectoryTest, TooManyHandlesIsResourceExhausted) {
  const Customer c = Create(H("device", "0"));
  for (size_t i = 1; i < kMaxHandlesPerCustomer; ++i) {
    ASSERT_TRUE(dir_->LinkHandle(c.id, H("device", absl::StrCat(i)), false, T(0)).ok());
  }
  absl::StatusOr<Customer> r = dir_->LinkHandle(c.id, H("device", "x"), false, T(0));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Owner(H("device", "x")), "NOT_FOUND");
}

// ---- Merge ----------------------------------------------------------------------------------

TEST_F(DirectoryTest, MergeCombinesEveryField) {
  const Customer s = Create(H("phone", "1"), T(100));
  const Customer a = Create(H("wechat", "w"), T(50));
  ASSERT_TRUE(dir_->LinkHandle(a.id, H("app", "u"), false, T(51)).ok());
  ASSERT_TRUE(dir_->Update(s.id, Upd().Vip(1).Tags({"x", "y"}), false, T(101)).ok());
  ASSERT_TRUE(
      dir_->Update(a.id, Upd().Name("Li").Vip(4).Tags({"y", "z"}).Language("zh-CN"), false, T(52))
          .ok());
  // Interactions: the survivor's last engineer is older than the absorbed one's.
  ASSERT_TRUE(*dir_->RecordInteraction(Session(1, s.id, "eng-s", 1000, "voice")));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(2, a.id, "eng-a", 2000, "wechat")));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(3, a.id, "", 1500, "app")));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(4, s.id, "eng-t", 900, "voice")));
  ASSERT_TRUE(dir_->Rate(1, Stars(5, true)).ok());
  ASSERT_TRUE(dir_->Rate(4, Stars(5, true)).ok());  // survivor's favourites: eng-t, eng-s
  ASSERT_TRUE(dir_->Rate(2, Stars(5, true)).ok());  // absorbed's: eng-a

  absl::StatusOr<Customer> m = dir_->Merge(s.id, a.id, T(3000));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id, s.id);
  EXPECT_THAT(m->handles, ElementsAre(H("app", "u"), H("phone", "1"), H("wechat", "w")));
  EXPECT_THAT(m->tags, ElementsAre("x", "y", "z"));
  EXPECT_EQ(m->vip_level, 4);
  EXPECT_EQ(m->display_name, "Li");  // the survivor had none
  EXPECT_EQ(m->language, "zh-CN");
  EXPECT_THAT(m->favourite_engineers, ElementsAre("eng-t", "eng-s", "eng-a"));
  EXPECT_EQ(m->last_engineer, "eng-a");
  EXPECT_EQ(m->last_engineer_at, T(2000));
  EXPECT_EQ(m->last_channel, "wechat");
  EXPECT_EQ(m->interactions, 4);
  EXPECT_THAT(m->merged_from, ElementsAre(a.id));
  EXPECT_EQ(m->created_at, T(50));  // the earlier
  EXPECT_EQ(m->updated_at, T(3000));

  // The absorbed id and its handles resolve to the survivor.
  absl::StatusOr<Customer> via_old = dir_->Get(a.id);
  ASSERT_TRUE(via_old.ok()) << via_old.status();
  EXPECT_EQ(via_old->id, s.id);
  EXPECT_EQ(Owner(H("wechat", "w")), s.id);
  EXPECT_EQ(Owner(H("app", "u")), s.id);
  // The history lists under the survivor, by time, and names it.
  EXPECT_THAT(History(s.id), ElementsAre(2, 3, 1, 4));
  EXPECT_THAT(History(a.id), ElementsAre(2, 3, 1, 4));
  absl::StatusOr<std::optional<Interaction>> moved = dir_->GetInteraction(2);
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->customer, s.id);
  // New sessions recorded for the absorbed id go to the survivor.
  ASSERT_TRUE(*dir_->RecordInteraction(Session(5, a.id, "eng-b", 4000)));
  absl::StatusOr<Customer> after = dir_->Get(s.id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->interactions, 5);
  EXPECT_EQ(after->last_engineer, "eng-b");
  EXPECT_THAT(History(s.id), ElementsAre(5, 2, 3, 1, 4));
}

TEST_F(DirectoryTest, MergeKeepsTheSurvivorsFieldsWhenSet) {
  const Customer s = Create(H("phone", "1"));
  const Customer a = Create(H("phone", "2"));
  ASSERT_TRUE(dir_->Update(s.id, Upd().Name("S").Vip(5).Language("en"), false, T(1)).ok());
  ASSERT_TRUE(dir_->Update(a.id, Upd().Name("A").Vip(2).Language("zh"), false, T(1)).ok());
  ASSERT_TRUE(*dir_->RecordInteraction(Session(1, s.id, "eng-new", 500)));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(2, a.id, "eng-old", 400)));
  absl::StatusOr<Customer> m = dir_->Merge(s.id, a.id, T(600));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->display_name, "S");
  EXPECT_EQ(m->vip_level, 5);
  EXPECT_EQ(m->language, "en");
  EXPECT_EQ(m->last_engineer, "eng-new");
  EXPECT_EQ(m->last_engineer_at, T(500));
}

TEST_F(DirectoryTest, ChainedMergesRedirectInOneHop) {
  const Customer a = Create(H("phone", "a"));
  const Customer b = Create(H("phone", "b"));
  const Customer c = Create(H("phone", "c"));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(1, a.id, "e", 100)));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(2, b.id, "e", 200)));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(3, c.id, "e", 300)));
  ASSERT_TRUE(dir_->Merge(b.id, a.id, T(1)).ok());  // a -> b
  // Merging by a merged id merges the live customers: c absorbs b (and with it a).
  absl::StatusOr<Customer> m = dir_->Merge(c.id, a.id, T(2));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id, c.id);
  EXPECT_THAT(m->merged_from, ElementsAre(b.id, a.id));
  for (const std::string& id : {a.id, b.id, c.id}) {
    absl::StatusOr<Customer> got = dir_->Get(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->id, c.id) << id;
  }
  EXPECT_EQ(Owner(H("phone", "a")), c.id);
  EXPECT_EQ(Owner(H("phone", "b")), c.id);
  EXPECT_THAT(History(c.id), ElementsAre(3, 2, 1));
  EXPECT_EQ(m->interactions, 3);
}

TEST_F(DirectoryTest, MergeErrors) {
  const Customer a = Create(H("phone", "a"));
  const Customer b = Create(H("phone", "b"));
  absl::StatusOr<Customer> self = dir_->Merge(a.id, a.id, T(0));
  EXPECT_EQ(self.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(self.status().message(), "absorbed: customer cust-1 is the survivor itself");
  EXPECT_EQ(dir_->Merge("nobody", b.id, T(0)).status().message(),
            "survivor: customer nobody not found");
  EXPECT_EQ(dir_->Merge(a.id, "nobody", T(0)).status().message(),
            "absorbed: customer nobody not found");
  EXPECT_EQ(dir_->Merge(a.id, "", T(0)).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(dir_->Merge(a.id, b.id, T(1)).ok());
  // Already one customer.
  absl::StatusOr<Customer> again = dir_->Merge(a.id, b.id, T(2));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(again.status().message(), HasSubstr("are the same customer (cust-1)"));
  EXPECT_EQ(dir_->Merge(b.id, a.id, T(2)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DirectoryTest, UpdateAndLinkThroughAMergedIdReachTheSurvivor) {
  const Customer a = Create(H("phone", "a"));
  const Customer b = Create(H("phone", "b"));
  ASSERT_TRUE(dir_->Merge(a.id, b.id, T(1)).ok());
  absl::StatusOr<Customer> u = dir_->Update(b.id, Upd().Vip(9), false, T(2));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->id, a.id);
  absl::StatusOr<Customer> l = dir_->LinkHandle(b.id, H("app", "x"), false, T(3));
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->id, a.id);
  EXPECT_EQ(Owner(H("app", "x")), a.id);
  // Update(create_if_missing) of a merged id does not resurrect it.
  absl::StatusOr<Customer> c = dir_->Update(b.id, {}, true, T(4));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->id, a.id);
}

// ---- Interactions ---------------------------------------------------------------------------

TEST_F(DirectoryTest, RecordInteractionIsIdempotentBySession) {
  const Customer c = Create(H("phone", "1"));
  absl::StatusOr<bool> first = dir_->RecordInteraction(Session(7, c.id, "eng-1", 100));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  Interaction different = Session(7, c.id, "eng-2", 999);
  absl::StatusOr<bool> again = dir_->RecordInteraction(different);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(*again);
  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->interactions, 1);
  EXPECT_EQ(got->last_engineer, "eng-1");
  absl::StatusOr<EngineerRecord> e1 = dir_->GetEngineer("eng-1");
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(e1->handled, 1);
  EXPECT_EQ(e1->handle_time_total, absl::Seconds(240));
  absl::StatusOr<EngineerRecord> e2 = dir_->GetEngineer("eng-2");
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2->handled, 0);
  absl::StatusOr<std::optional<Interaction>> in = dir_->GetInteraction(7);
  ASSERT_TRUE(in.ok() && in->has_value());
  EXPECT_EQ((*in)->engineer, "eng-1");
  EXPECT_EQ((*in)->ended_at, T(100));
  EXPECT_EQ((*in)->answered_at, T(100 - 240));
  EXPECT_EQ((*in)->created_at, T(100 - 300));
  EXPECT_EQ((*in)->channel, "voice");
  EXPECT_EQ((*in)->queue, "repair");
  EXPECT_EQ((*in)->intent, "repair.washer");
  EXPECT_EQ((*in)->outcome, Outcome::kCompleted);
  EXPECT_FALSE((*in)->rating.has_value());
}

TEST_F(DirectoryTest, RecordInteractionUpdatesTheLastEngineerOnlyWhenNewer) {
  const Customer c = Create(H("phone", "1"));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(1, c.id, "eng-1", 100, "voice")));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(2, c.id, "eng-2", 50, "wechat")));  // older
  ASSERT_TRUE(*dir_->RecordInteraction(Session(3, c.id, "", 200, "app")));         // nobody
  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->interactions, 3);
  EXPECT_EQ(got->last_engineer, "eng-1");
  EXPECT_EQ(got->last_engineer_at, T(100));
  EXPECT_EQ(got->last_channel, "voice");
  EXPECT_EQ(got->updated_at, T(200));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(4, c.id, "eng-4", 300, "weibo")));
  got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->last_engineer, "eng-4");
  EXPECT_EQ(got->last_channel, "weibo");
}

TEST_F(DirectoryTest, OnlyCompletedSessionsCountForTheEngineer) {
  const Customer c = Create(H("phone", "1"));
  for (Outcome o : {Outcome::kAbandoned, Outcome::kCancelled, Outcome::kOverflowed}) {
    Interaction in = Session(static_cast<uint64_t>(o) + 10, c.id, "eng-1", 100);
    in.outcome = o;
    ASSERT_TRUE(*dir_->RecordInteraction(in));
  }
  absl::StatusOr<EngineerRecord> e = dir_->GetEngineer("eng-1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->handled, 0);
  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->interactions, 3);
  absl::StatusOr<std::vector<EngineerRecord>> all = dir_->ListEngineers();
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, IsEmpty());
}

TEST_F(DirectoryTest, RecordInteractionErrors) {
  const Customer c = Create(H("phone", "1"));
  absl::StatusOr<bool> unknown = dir_->RecordInteraction(Session(1, "nobody", "e", 100));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "interaction.customer: customer nobody not found");
  EXPECT_FALSE(dir_->GetInteraction(1)->has_value());

  struct Case {
    std::function<void(Interaction&)> edit;
    std::string message_prefix;
  };
  const std::vector<Case> cases = {
      {[](Interaction& in) { in.session = 0; }, "interaction.session: must not be 0"},
      {[](Interaction& in) { in.customer = ""; }, "interaction.customer: must not be empty"},
      {[](Interaction& in) { in.channel = ""; }, "interaction.channel: must not be empty"},
      {[](Interaction& in) { in.queue = "a b"; }, "interaction.queue: character not allowed"},
      {[](Interaction& in) { in.engineer = "a b"; }, "interaction.engineer: character not allowed"},
      {[](Interaction& in) { in.intent = std::string(257, 'x'); },
       "interaction.intent: longer than 256 bytes (257)"},
      {[](Interaction& in) { in.intent = "bad \xff"; }, "interaction.intent: not UTF-8 at byte 4"},
      {[](Interaction& in) { in.created_at = absl::InfinitePast(); },
       "interaction.created_at: must be a time"},
      {[](Interaction& in) { in.ended_at = absl::InfiniteFuture(); },
       "interaction.ended_at: must be a time"},
      {[](Interaction& in) { in.ended_at = in.created_at - absl::Seconds(1); },
       "interaction.ended_at: before created_at"},
      {[](Interaction& in) { in.answered_at = in.ended_at + absl::Seconds(1); },
       "interaction.answered_at: "},
      {[](Interaction& in) { in.outcome = static_cast<Outcome>(9); },
       "interaction.outcome: unknown outcome 9"},
      {[](Interaction& in) { in.handle_time = -absl::Seconds(1); },
       "interaction.handle_time: must be finite and >= 0"},
      {[](Interaction& in) { in.rating = Stars(5); }, "interaction.rating: must be unset"},
  };
  for (const Case& tc : cases) {
    Interaction in = Session(2, c.id, "eng", 100);
    tc.edit(in);
    absl::StatusOr<bool> r = dir_->RecordInteraction(in);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << tc.message_prefix;
    EXPECT_THAT(std::string(r.status().message()), ::testing::StartsWith(tc.message_prefix));
  }
  EXPECT_FALSE(dir_->GetInteraction(2)->has_value());
  EXPECT_EQ(dir_->Get(c.id)->interactions, 0);
}

// ---- Ratings --------------------------------------------------------------------------------

TEST_F(DirectoryTest, RateUpdatesInteractionEngineerAndFavourites) {
  const Customer c = Create(H("phone", "1"));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(1, c.id, "eng-1", 100)));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(2, c.id, "eng-2", 200)));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(3, c.id, "eng-1", 300)));
  Rating r = Stars(5, true, 500);
  r.tags = {"patient", "expert", "patient"};
  absl::StatusOr<Directory::RateResult> rated = dir_->Rate(1, r);
  ASSERT_TRUE(rated.ok()) << rated.status();
  ASSERT_TRUE(rated->interaction.rating.has_value());
  EXPECT_EQ(rated->interaction.rating->stars, 5);
  EXPECT_THAT(rated->interaction.rating->tags, ElementsAre("expert", "patient"));
  EXPECT_EQ(rated->engineer.id, "eng-1");
  EXPECT_EQ(rated->engineer.handled, 2);
  EXPECT_EQ(rated->engineer.ratings, 1);
  EXPECT_EQ(rated->engineer.stars_total, 5);
  EXPECT_EQ(rated->engineer.good_ratings, 1);
  EXPECT_EQ(rated->engineer.favourites, 1);
  EXPECT_EQ(rated->engineer.tips, 1);
  EXPECT_EQ(rated->engineer.tip_cents_total, 500);
  EXPECT_THAT(rated->engineer.tag_counts,
              ElementsAre(std::pair<std::string, int64_t>("expert", 1),
                          std::pair<std::string, int64_t>("patient", 1)));

  ASSERT_TRUE(dir_->Rate(2, Stars(3, true)).ok());
  Rating third = Stars(4);
  third.tags = {"patient", "fast"};
  absl::StatusOr<Directory::RateResult> r3 = dir_->Rate(3, third);
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_EQ(r3->engineer.ratings, 2);
  EXPECT_EQ(r3->engineer.stars_total, 9);
  EXPECT_EQ(r3->engineer.good_ratings, 2);
  EXPECT_EQ(r3->engineer.favourites, 1);
  EXPECT_EQ(r3->engineer.tips, 1);
  EXPECT_DOUBLE_EQ(r3->engineer.average_stars(), 4.5);
  EXPECT_DOUBLE_EQ(r3->engineer.good_rating_rate(), 1.0);
  EXPECT_DOUBLE_EQ(r3->engineer.tip_rate(), 0.5);
  EXPECT_EQ(r3->engineer.average_handle_time(), absl::Seconds(240));
  EXPECT_THAT(r3->engineer.TopTags(2), ElementsAre(std::pair<std::string, int64_t>("patient", 2),
                                                   std::pair<std::string, int64_t>("expert", 1)));

  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(got->favourite_engineers, ElementsAre("eng-2", "eng-1"));
  // Favouriting again moves to the front without duplicates.
  ASSERT_TRUE(*dir_->RecordInteraction(Session(4, c.id, "eng-1", 400)));
  ASSERT_TRUE(dir_->Rate(4, Stars(5, true)).ok());
  got = dir_->Get(c.id);
  EXPECT_THAT(got->favourite_engineers, ElementsAre("eng-1", "eng-2"));

  absl::StatusOr<std::optional<Interaction>> stored = dir_->GetInteraction(3);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  ASSERT_TRUE((*stored)->rating.has_value());
  EXPECT_EQ((*stored)->rating->stars, 4);
  EXPECT_EQ((*stored)->rating->at, T(100000));
  EXPECT_EQ(dir_->GetEngineer("eng-1")->ratings, 3);
}

TEST_F(DirectoryTest, FavouritesKeepTheMostRecent64) {
  const Customer c = Create(H("phone", "1"));
  for (uint64_t i = 1; i <= 70; ++i) {
    ASSERT_TRUE(*dir_->RecordInteraction(Session(i, c.id, absl::StrCat("eng-", i), 100)));
    ASSERT_TRUE(dir_->Rate(i, Stars(5, true)).ok());
  }
  absl::StatusOr<Customer> got = dir_->Get(c.id);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->favourite_engineers.size(), kMaxFavourites);
  EXPECT_EQ(got->favourite_engineers.front(), "eng-70");
  EXPECT_EQ(got->favourite_engineers.back(), "eng-7");
}

TEST_F(DirectoryTest, RateErrors) {
  const Customer c = Create(H("phone", "1"));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(1, c.id, "eng-1", 100)));
  ASSERT_TRUE(*dir_->RecordInteraction(Session(2, c.id, "", 100)));
  Interaction abandoned = Session(3, c.id, "eng-1", 100);
  abandoned.outcome = Outcome::kAbandoned;
  ASSERT_TRUE(*dir_->RecordInteraction(abandoned));

  EXPECT_EQ(dir_->Rate(99, Stars(5)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dir_->Rate(2, Stars(5)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->Rate(3, Stars(5)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir_->Rate(3, Stars(5)).status().message(),
            "session: 3 was not completed by an engineer");

  struct Case {
    Rating rating;
    std::string message_prefix;
  };
  std::vector<Case> cases = {
      {Stars(0), "rating.stars: must be 1..5, got 0"},
      {Stars(6), "rating.stars: must be 1..5, got 6"},
      {Stars(5, false, -1), "rating.tip_cents: must be 0..100000000, got -1"},
      {Stars(5, false, 100000001), "rating.tip_cents: must be 0..100000000"},
  };
  Rating bad_tag = Stars(5);
  bad_tag.tags = {"ok", std::string(65, 'x')};
  cases.push_back({bad_tag, "rating.tags[1]: must be 1..64"});
  Rating many = Stars(5);
  for (int i = 0; i < 65; ++i) many.tags.push_back(absl::StrCat("t", i));
  cases.push_back({many, "rating.tags: more than 64 tags"});
  Rating no_time = Stars(5);
  no_time.at = absl::InfinitePast();
  cases.push_back({no_time, "rating.at: must be a time"});
  for (const Case& tc : cases) {
    absl::StatusOr<Directory::RateResult> r = dir_->Rate(1, tc.rating);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << tc.message_prefix;
    EXPECT_THAT(std::string(r.status().message()), ::testing::StartsWith(tc.message_prefix));
  }
  EXPECT_EQ(dir_->GetEngineer("eng-1")->ratings, 0);
  EXPECT_TRUE(dir_->Rate(1, Stars(5, false, 100000000)).ok());
  absl::StatusOr<Directory::RateResult> twice = dir_->Rate(1, Stars(1));
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dir_->GetEngineer("eng-1")->ratings, 1);
  EXPECT_EQ(dir_->GetEngineer("eng-1")->stars_total, 5);
}

// ---- History paging -------------------------------------------------------------------------

TEST_F(DirectoryTest, ListInteractionsNewestFirstAcrossChannelsPaged) {
  const Customer c = Create(H("phone", "1"));
  const Customer other = Create(H("phone", "2"));
  const char* channels[] = {"voice", "wechat", "app", "weibo", "device"};
  // Sessions 1..23; ended_at collides for pairs so that ties go by session (newest first).
  for (uint64_t i = 1; i <= 23; ++i) {
    ASSERT_TRUE(*dir_->RecordInteraction(
        Session(i, c.id, "eng", 1000 + static_cast<int64_t>(i / 2), channels[i % 5])));
  }
  ASSERT_TRUE(*dir_->RecordInteraction(Session(100, other.id, "eng", 5000)));
  std::vector<uint64_t> expected;
  for (uint64_t i = 23; i >= 1; --i) expected.push_back(i);
  EXPECT_EQ(History(c.id, 5), expected);
  EXPECT_EQ(History(c.id, 1), expected);
  EXPECT_EQ(History(c.id, 23), expected);
  EXPECT_EQ(History(c.id, 0), expected);
  EXPECT_THAT(History(other.id), ElementsAre(100));

  absl::StatusOr<Directory::InteractionPage> page = dir_->ListInteractions(c.id, 23, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->interactions.size(), 23u);
  EXPECT_EQ(page->next_page_token, "");  // exactly one page: no token
  page = dir_->ListInteractions(c.id, 10, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->interactions.size(), 10u);
  EXPECT_NE(page->next_page_token, "");
  EXPECT_EQ(page->interactions[0].channel, channels[23 % 5]);
}

TEST_F(DirectoryTest, ListInteractionsPageSizeDefaultsAndCap) {
  const Customer c = Create(H("phone", "1"));
  for (uint64_t i = 1; i <= 1100; ++i) {
    ASSERT_TRUE(*dir_->RecordInteraction(Session(i, c.id, "", static_cast<int64_t>(i))));
  }
  absl::StatusOr<Directory::InteractionPage> page = dir_->ListInteractions(c.id, 0, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->interactions.size(), 50u);
  EXPECT_EQ(page->interactions.front().session, 1100u);
  page = dir_->ListInteractions(c.id, 5000, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->interactions.size(), 1000u);
  absl::StatusOr<Directory::InteractionPage> rest =
      dir_->ListInteractions(c.id, 5000, page->next_page_token);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->interactions.size(), 100u);
  EXPECT_EQ(rest->interactions.front().session, 100u);
  EXPECT_EQ(rest->next_page_token, "");
}

TEST_F(DirectoryTest, ListInteractionsRejectsForeignTokens) {
  const Customer a = Create(H("phone", "1"));
  const Customer b = Create(H("phone", "2"));
  for (uint64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(*dir_->RecordInteraction(Session(i, a.id, "", static_cast<int64_t>(i))));
    ASSERT_TRUE(*dir_->RecordInteraction(Session(i + 10, b.id, "", static_cast<int64_t>(i))));
  }
  absl::StatusOr<Directory::InteractionPage> page = dir_->ListInteractions(a.id, 1, "");
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token.empty());
  for (const std::string& token :
       {page->next_page_token.substr(1), std::string("garbage!"), std::string("AAAA")}) {
    absl::StatusOr<Directory::InteractionPage> bad = dir_->ListInteractions(a.id, 1, token);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(std::string(bad.status().message()), ::testing::StartsWith("page_token: "));
  }
  absl::StatusOr<Directory::InteractionPage> foreign =
      dir_->ListInteractions(b.id, 1, page->next_page_token);
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir_->ListInteractions("nobody", 1, "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dir_->ListInteractions("", 1, "").status().code(), absl::StatusCode::kInvalidArgument);
  // A customer with no history: an empty page.
  const Customer c = Create(H("phone", "3"));
  absl::StatusOr<Directory::InteractionPage> empty = dir_->ListInteractions(c.id, 10, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(empty->interactions, IsEmpty());
  EXPECT_EQ(empty->next_page_token, "");
}

TEST_F(DirectoryTest, PagingContinuesAcrossAMerge) {
  const Customer a = Create(H("phone", "1"));
  const Customer b = Create(H("phone", "2"));
  for (uint64_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(*dir_->RecordInteraction(Session(i, a.id, "", static_cast<int64_t>(10 * i))));
    ASSERT_TRUE(
        *dir_->RecordInteraction(Session(i + 10, b.id, "", static_cast<int64_t>(10 * i + 5))));
  }
  absl::StatusOr<Directory::InteractionPage> page = dir_->ListInteractions(a.id, 2, "");
  ASSERT_TRUE(page.ok());
  ASSERT_THAT(page->interactions, ::testing::SizeIs(2));
  EXPECT_EQ(page->interactions[1].session, 3u);  // ended 30
  ASSERT_TRUE(dir_->Merge(a.id, b.id, T(0)).ok());
  std::vector<uint64_t> rest;
  std::string token = page->next_page_token;
  while (!token.empty()) {
    absl::StatusOr<Directory::InteractionPage> next = dir_->ListInteractions(a.id, 2, token);
    ASSERT_TRUE(next.ok()) << next.status();
    for (const Interaction& in : next->interactions) rest.push_back(in.session);
    token = next->next_page_token;
  }
  // Everything older than the page boundary (t = 30), b's included.
  EXPECT_THAT(rest, ElementsAre(12, 2, 11, 1));
}

// ---- Engineers ------------------------------------------------------------------------------

TEST_F(DirectoryTest, EngineersAreZeroUntilRecordedAndListedById) {
  absl::StatusOr<EngineerRecord> none = dir_->GetEngineer("eng-9");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->id, "eng-9");
  EXPECT_EQ(none->handled, 0);
  EXPECT_EQ(none->average_stars(), 0);
  EXPECT_EQ(none->good_rating_rate(), 0);
  EXPECT_EQ(none->tip_rate(), 0);
  EXPECT_EQ(none->average_handle_time(), absl::ZeroDuration());
  EXPECT_EQ(dir_->GetEngineer("bad id").status().code(), absl::StatusCode::kInvalidArgument);
  const Customer c = Create(H("phone", "1"));
  uint64_t session = 0;
  for (const char* e : {"eng-b", "eng-c", "eng-a"}) {
    ASSERT_TRUE(*dir_->RecordInteraction(Session(++session, c.id, e, 100)));
  }
  absl::StatusOr<std::vector<EngineerRecord>> all = dir_->ListEngineers();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> ids;
  for (const EngineerRecord& e : *all) ids.push_back(e.id);
  EXPECT_THAT(ids, ElementsAre("eng-a", "eng-b", "eng-c"));
}

TEST(EngineerRecordTest, TopTagsOrdersByCountThenTag) {
  EngineerRecord r;
  r.tag_counts = {{"a", 1}, {"b", 3}, {"c", 3}, {"d", 2}};
  using P = std::pair<std::string, int64_t>;
  EXPECT_THAT(r.TopTags(3), ElementsAre(P("b", 3), P("c", 3), P("d", 2)));
  EXPECT_THAT(r.TopTags(10), ::testing::SizeIs(4));
  EXPECT_THAT(r.TopTags(0), IsEmpty());
}

// ---- Bulk load ------------------------------------------------------------------------------

TEST_F(DirectoryTest, BulkLoadWritesCustomersAndHandlesAndMovesTheCounter) {
  std::vector<Customer> load;
  for (int i = 1; i <= 2500; ++i) {
    Customer c;
    c.id = absl::StrCat("cust-", i);
    c.handles = {H("wechat", absl::StrCat("w", i)), H("phone", absl::StrCat("p", i))};
    c.tags = {"b", "a", "b"};
    c.vip_level = i % 10;
    c.created_at = T(i);
    c.updated_at = T(i);
    load.push_back(c);
  }
  Customer op;
  op.id = "crm:1";
  load.push_back(op);
  ASSERT_TRUE(dir_->BulkLoad(load).ok());
  EXPECT_EQ(Owner(H("phone", "p1234")), "cust-1234");
  EXPECT_EQ(Owner(H("wechat", "w2500")), "cust-2500");
  absl::StatusOr<Customer> got = dir_->Get("cust-77");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(got->handles, ElementsAre(H("phone", "p77"), H("wechat", "w77")));
  EXPECT_THAT(got->tags, ElementsAre("a", "b"));
  EXPECT_EQ(got->vip_level, 7);
  EXPECT_EQ(got->created_at, T(77));
  EXPECT_TRUE(dir_->Get("crm:1").ok());
  EXPECT_EQ(Create(H("phone", "new")).id, "cust-2501");
  EXPECT_GT(dir_->ApproximateCustomerCount(), 1000u);
  ASSERT_TRUE(dir_->CompactAll().ok());
  EXPECT_EQ(Owner(H("phone", "p1234")), "cust-1234");
  EXPECT_EQ(Owner(H("phone", "new")), "cust-2501");
}

TEST_F(DirectoryTest, BulkLoadRefusesExistingAndDuplicateKeys) {
  const Customer c = Create(H("phone", "1"));  // cust-1
  Customer dup_id;
  dup_id.id = "cust-1";
  EXPECT_EQ(dir_->BulkLoad({dup_id}).code(), absl::StatusCode::kAlreadyExists);
  Customer dup_handle;
  dup_handle.id = "x";
  dup_handle.handles = {H("phone", "1")};
  absl::Status st = dir_->BulkLoad({dup_handle});
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(st.message(), "customers[0].handles: phone:1 belongs to a customer already");
  Customer a, b;
  a.id = "a";
  b.id = "a";
  EXPECT_EQ(dir_->BulkLoad({a, b}).message(), "customers[1].id: a is given twice");
  a.handles = {H("app", "1")};
  b.id = "b";
  b.handles = {H("app", "1")};
  EXPECT_EQ(dir_->BulkLoad({a, b}).code(), absl::StatusCode::kAlreadyExists);
  Customer bad;
  bad.id = "ok";
  bad.vip_level = 11;
  EXPECT_EQ(dir_->BulkLoad({bad}).message(), "customers[0].vip_level: must be 0..9, got 11");
  bad.vip_level = 0;
  bad.merged_from = {"z"};
  EXPECT_EQ(dir_->BulkLoad({bad}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dir_->Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(dir_->Get("ok").status().code(), absl::StatusCode::kNotFound);
}

// ---- Options --------------------------------------------------------------------------------

TEST(DirectoryOptionsTest, BadOptionsNameTheField) {
  TempDir tmp;
  Options o;
  o.id_prefix = "bad prefix";
  EXPECT_THAT(std::string(Directory::Open(tmp.path(), o).status().message()),
              ::testing::StartsWith("options.id_prefix: "));
  o.id_prefix = std::string(33, 'p');
  EXPECT_EQ(Directory::Open(tmp.path(), o).status().message(),
            "options.id_prefix: longer than 32 characters");
  o = Options();
  o.block_cache_bytes = 1000;
  EXPECT_EQ(Directory::Open(tmp.path(), o).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Directory::Open("", Options()).status().code(), absl::StatusCode::kInvalidArgument);
}

// The intent is the router's free text: spaces, tabs and any language are recorded as given.
TEST_F(DirectoryTest, RecordInteractionKeepsAFreeTextIntent) {
  const Customer c = Create(H("phone", "1"));
  Interaction in = Session(3, c.id, "eng-1", 100);
  in.intent = "no hot water\t\xe7\x83\xad\xe6\xb0\xb4\xe5\x99\xa8";  // "热水器"
  absl::StatusOr<bool> recorded = dir_->RecordInteraction(in, /*sync=*/false);
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_TRUE(*recorded);
  absl::StatusOr<std::optional<Interaction>> got = dir_->GetInteraction(3);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->intent, in.intent);
  EXPECT_EQ(dir_->Get(c.id)->interactions, 1);
}

TEST(DirectoryOptionsTest, InMemoryDirectoriesAreIndependentAndLeaveNoFiles) {
  TempDir tmp;
  Options o;
  o.in_memory = true;
  const std::string path = tmp.path() + "/mem";
  std::unique_ptr<Directory> a = OpenOrDie(path, o);
  std::unique_ptr<Directory> b = OpenOrDie(path, o);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->Resolve(H("phone", "1"), true, T(0)).ok());
  EXPECT_EQ(b->Resolve(H("phone", "1"), false, T(0)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(a->Sync().ok());
  EXPECT_THAT(tmp.List(), IsEmpty());
}

// The daemon passes a relative data directory through (`--data_dir data`); RocksDB's in-memory
// environment cannot resolve one itself.
TEST(DirectoryOptionsTest, InMemoryDirectoryOpensAtARelativePath) {
  Options o;
  o.in_memory = true;
  std::unique_ptr<Directory> d = OpenOrDie("relative/directory", o);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->Resolve(H("phone", "1"), true, T(0)).ok());
  EXPECT_TRUE(d->Resolve(H("phone", "1"), false, T(0)).ok());
  EXPECT_FALSE(std::filesystem::exists("relative"));
}

}  // namespace
}  // namespace omniroute::directory
