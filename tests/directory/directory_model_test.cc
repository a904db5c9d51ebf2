// Randomized: resolves, links, moves, unlinks, merges, updates, interactions and ratings
// against a plain in-memory model of the rules, on a small universe of handles so that
// everything collides. After every step the answers agree; every few steps the whole state
// (every id, every handle, every history) is compared. The seed is printed on failure.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "directory/directory_test_util.h"
#include "gtest/gtest.h"
#include "omniroute/directory/directory.h"

namespace omniroute::directory {
namespace {

using testing::H;
using testing::OpenOrDie;
using testing::Str;
using testing::T;
using testing::TempDir;

// The rules, written the plain way.
class Model {
 public:
  struct Entry {
    Customer c;
    std::vector<std::pair<absl::Time, uint64_t>> history;  // (ended_at, session)
  };

  std::map<std::string, std::string> redirect;  // merged id -> live id
  std::map<std::string, Entry> live;
  std::map<std::string, std::string> owner;  // handle -> live id
  std::map<uint64_t, Interaction> sessions;
  std::map<std::string, EngineerRecord> engineers;
  uint64_t next_id = 1;

  std::optional<std::string> Live(const std::string& id) const {
    if (live.contains(id)) return id;
    auto it = redirect.find(id);
    if (it == redirect.end()) return std::nullopt;
    return it->second;
  }

  std::string Create(const Handle& h, absl::Time now) {
    std::string id;
    do {
      id = absl::StrCat("cust-", next_id++);
    } while (live.contains(id) || redirect.contains(id));
    Entry r;
    r.c.id = id;
    r.c.handles = {h};
    r.c.created_at = now;
    r.c.updated_at = now;
    live[id] = r;
    owner[Str(h)] = id;
    return id;
  }

  static void Insert(std::vector<Handle>& hs, const Handle& h) {
    if (std::find(hs.begin(), hs.end(), h) != hs.end()) return;
    hs.push_back(h);
    std::sort(hs.begin(), hs.end());
  }
  static void Erase(std::vector<Handle>& hs, const Handle& h) {
    hs.erase(std::remove(hs.begin(), hs.end(), h), hs.end());
  }

  // Returns the status code of the operation.
  absl::StatusCode Link(const std::string& id, const Handle& h, bool move, absl::Time now) {
    std::optional<std::string> l = Live(id);
    if (!l) return absl::StatusCode::kNotFound;
    auto it = owner.find(Str(h));
    if (it != owner.end()) {
      if (it->second == *l) return absl::StatusCode::kOk;
      if (!move) return absl::StatusCode::kFailedPrecondition;
      Entry& from = live[it->second];
      Erase(from.c.handles, h);
      from.c.updated_at = now;
    }
    Insert(live[*l].c.handles, h);
    live[*l].c.updated_at = now;
    owner[Str(h)] = *l;
    return absl::StatusCode::kOk;
  }

  absl::StatusCode Unlink(const std::string& id, const Handle& h, absl::Time now) {
    std::optional<std::string> l = Live(id);
    if (!l) return absl::StatusCode::kNotFound;
    Entry& r = live[*l];
    if (std::find(r.c.handles.begin(), r.c.handles.end(), h) == r.c.handles.end()) {
      return absl::StatusCode::kNotFound;
    }
    Erase(r.c.handles, h);
    r.c.updated_at = now;
    owner.erase(Str(h));
    return absl::StatusCode::kOk;
  }

  absl::StatusCode Merge(const std::string& s_id, const std::string& a_id, absl::Time now) {
    std::optional<std::string> s = Live(s_id);
    if (!s) return absl::StatusCode::kNotFound;
    std::optional<std::string> a = Live(a_id);
    if (!a) return absl::StatusCode::kNotFound;
    if (*s == *a) return absl::StatusCode::kInvalidArgument;
    Entry& sr = live[*s];
    Entry ar = live[*a];
    for (const Handle& h : ar.c.handles) {
      Insert(sr.c.handles, h);
      owner[Str(h)] = *s;
    }
    std::set<std::string> tags(sr.c.tags.begin(), sr.c.tags.end());
    tags.insert(ar.c.tags.begin(), ar.c.tags.end());
    sr.c.tags.assign(tags.begin(), tags.end());
    sr.c.vip_level = std::max(sr.c.vip_level, ar.c.vip_level);
    if (sr.c.display_name.empty()) sr.c.display_name = ar.c.display_name;
    if (sr.c.language.empty()) sr.c.language = ar.c.language;
    for (const std::string& e : ar.c.favourite_engineers) {
      auto& f = sr.c.favourite_engineers;
      if (f.size() < kMaxFavourites && std::find(f.begin(), f.end(), e) == f.end()) {
        f.push_back(e);
      }
    }
    if (!ar.c.last_engineer.empty() &&
        (sr.c.last_engineer.empty() || ar.c.last_engineer_at > sr.c.last_engineer_at)) {
      sr.c.last_engineer = ar.c.last_engineer;
      sr.c.last_engineer_at = ar.c.last_engineer_at;
      sr.c.last_channel = ar.c.last_channel;
    }
    sr.c.interactions += ar.c.interactions;
    std::vector<std::string> moved = {*a};
    moved.insert(moved.end(), ar.c.merged_from.begin(), ar.c.merged_from.end());
    for (const std::string& m : moved) {
      redirect[m] = *s;
      if (std::find(sr.c.merged_from.begin(), sr.c.merged_from.end(), m) ==
          sr.c.merged_from.end()) {
        sr.c.merged_from.push_back(m);
      }
    }
    for (const auto& [ended, session] : ar.history) {
      sr.history.emplace_back(ended, session);
      sessions[session].customer = *s;
    }
    if (sr.c.created_at == absl::InfinitePast() ||
        (ar.c.created_at != absl::InfinitePast() && ar.c.created_at < sr.c.created_at)) {
      sr.c.created_at = ar.c.created_at;
    }
    sr.c.updated_at = now;
    live.erase(*a);
    return absl::StatusCode::kOk;
  }

  absl::StatusCode RecordInteraction(const Interaction& in, bool* recorded) {
    if (sessions.contains(in.session)) {
      *recorded = false;
      return absl::StatusCode::kOk;
    }
    std::optional<std::string> l = Live(in.customer);
    if (!l) return absl::StatusCode::kNotFound;
    Interaction stored = in;
    stored.customer = *l;
    sessions[in.session] = stored;
    Entry& r = live[*l];
    r.history.emplace_back(in.ended_at, in.session);
    r.c.interactions++;
    if (!in.engineer.empty() && (r.c.last_engineer.empty() || in.ended_at > r.c.last_engineer_at)) {
      r.c.last_engineer = in.engineer;
      r.c.last_engineer_at = in.ended_at;
      r.c.last_channel = in.channel;
    }
    r.c.updated_at = std::max(r.c.updated_at, in.ended_at);
    if (in.outcome == Outcome::kCompleted && !in.engineer.empty()) {
      EngineerRecord& e = engineers[in.engineer];
      e.id = in.engineer;
      e.handled++;
      e.handle_time_total += in.handle_time;
    }
    *recorded = true;
    return absl::StatusCode::kOk;
  }

  absl::StatusCode Rate(uint64_t session, const Rating& rating) {
    auto it = sessions.find(session);
    if (it == sessions.end()) return absl::StatusCode::kNotFound;
    Interaction& in = it->second;
    if (in.outcome != Outcome::kCompleted || in.engineer.empty()) {
      return absl::StatusCode::kFailedPrecondition;
    }
    if (in.rating.has_value()) return absl::StatusCode::kAlreadyExists;
    in.rating = rating;
    EngineerRecord& e = engineers[in.engineer];
    e.ratings++;
    e.stars_total += rating.stars;
    if (rating.stars >= 4) e.good_ratings++;
    if (rating.favourite) {
      e.favourites++;
      Customer& c = live[in.customer].c;
      auto& f = c.favourite_engineers;
      f.erase(std::remove(f.begin(), f.end(), in.engineer), f.end());
      f.insert(f.begin(), in.engineer);
      if (f.size() > kMaxFavourites) f.resize(kMaxFavourites);
      c.updated_at = std::max(c.updated_at, rating.at);
    }
    return absl::StatusCode::kOk;
  }

  std::vector<uint64_t> History(const std::string& live_id) const {
    std::vector<std::pair<absl::Time, uint64_t>> h = live.at(live_id).history;
    std::sort(h.begin(), h.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first, a.second) > std::tie(b.first, b.second);
    });
    std::vector<uint64_t> out;
    for (const auto& [t, s] : h) out.push_back(s);
    return out;
  }
};

void ExpectSameCustomer(const Customer& got, const Customer& want, const std::string& context) {
  EXPECT_EQ(got.id, want.id) << context;
  EXPECT_EQ(got.display_name, want.display_name) << context;
  EXPECT_EQ(got.vip_level, want.vip_level) << context;
  EXPECT_EQ(got.tags, want.tags) << context;
  EXPECT_EQ(got.language, want.language) << context;
  EXPECT_EQ(got.handles, want.handles) << context;
  EXPECT_EQ(got.favourite_engineers, want.favourite_engineers) << context;
  EXPECT_EQ(got.last_engineer, want.last_engineer) << context;
  EXPECT_EQ(got.last_engineer_at, want.last_engineer_at) << context;
  EXPECT_EQ(got.last_channel, want.last_channel) << context;
  EXPECT_EQ(got.interactions, want.interactions) << context;
  EXPECT_EQ(got.merged_from, want.merged_from) << context;
  EXPECT_EQ(got.created_at, want.created_at) << context;
  EXPECT_EQ(got.updated_at, want.updated_at) << context;
}

class DirectoryModelTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DirectoryModelTest, AgreesWithTheModel) {
  const uint64_t seed = GetParam();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::seed_seq seq = {seed};
  absl::InsecureBitGen rng(seq);
  TempDir tmp;
  Options options;
  options.sync_writes = false;
  std::unique_ptr<Directory> dir = OpenOrDie(tmp.path() + "/dir", options);
  ASSERT_NE(dir, nullptr);
  Model model;

  const char* kinds[] = {"phone", "wechat", "app"};
  auto random_handle = [&] {
    return H(kinds[absl::Uniform(rng, 0, 3)], absl::StrCat(absl::Uniform(rng, 0, 12)));
  };
  std::vector<std::string> ids;  // every id ever seen (live or merged), plus some unknown
  auto random_id = [&]() -> std::string {
    if (ids.empty() || absl::Bernoulli(rng, 0.05)) return absl::StrCat("cust-", 900);
    return ids[absl::Uniform<size_t>(rng, 0, ids.size())];
  };
  uint64_t next_session = 1;
  int64_t clock = 0;

  auto check_all = [&](int step) {
    const std::string context = absl::StrCat("full check after step ", step);
    for (const std::string& id : ids) {
      absl::StatusOr<Customer> got = dir->Get(id);
      std::optional<std::string> want = model.Live(id);
      ASSERT_EQ(got.ok(), want.has_value()) << context << " id " << id << " " << got.status();
      if (!want) continue;
      ExpectSameCustomer(*got, model.live.at(*want).c, absl::StrCat(context, " id ", id));
      std::vector<uint64_t> history;
      std::string token;
      do {
        absl::StatusOr<Directory::InteractionPage> page = dir->ListInteractions(id, 3, token);
        ASSERT_TRUE(page.ok()) << page.status();
        for (const Interaction& in : page->interactions) {
          history.push_back(in.session);
          EXPECT_EQ(in.customer, *want) << context << " session " << in.session;
        }
        token = page->next_page_token;
      } while (!token.empty());
      EXPECT_EQ(history, model.History(*want)) << context << " id " << id;
    }
    for (const char* kind : kinds) {
      for (int v = 0; v < 12; ++v) {
        const Handle h = H(kind, absl::StrCat(v));
        absl::StatusOr<Directory::Resolved> r = dir->Resolve(h, false, T(clock));
        auto it = model.owner.find(Str(h));
        ASSERT_EQ(r.ok(), it != model.owner.end()) << context << " " << Str(h);
        if (r.ok()) {
          EXPECT_EQ(r->customer.id, it->second) << context << " " << Str(h);
        }
      }
    }
    for (const auto& [id, want] : model.engineers) {
      absl::StatusOr<EngineerRecord> got = dir->GetEngineer(id);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(got->handled, want.handled) << context << " " << id;
      EXPECT_EQ(got->handle_time_total, want.handle_time_total) << context << " " << id;
      EXPECT_EQ(got->ratings, want.ratings) << context << " " << id;
      EXPECT_EQ(got->stars_total, want.stars_total) << context << " " << id;
      EXPECT_EQ(got->good_ratings, want.good_ratings) << context << " " << id;
      EXPECT_EQ(got->favourites, want.favourites) << context << " " << id;
    }
  };

  constexpr int kSteps = 1500;
  for (int step = 0; step < kSteps; ++step) {
    ++clock;
    const absl::Time now = T(clock);
    const int op = absl::Uniform(rng, 0, 100);
    std::string what;
    if (op < 25) {
      const Handle h = random_handle();
      const bool create = absl::Bernoulli(rng, 0.8);
      what = absl::StrCat("Resolve ", Str(h), create ? " create" : "");
      absl::StatusOr<Directory::Resolved> got = dir->Resolve(h, create, now);
      auto it = model.owner.find(Str(h));
      if (it != model.owner.end()) {
        ASSERT_TRUE(got.ok()) << what << got.status();
        EXPECT_FALSE(got->created) << what;
        EXPECT_EQ(got->customer.id, it->second) << what;
      } else if (create) {
        ASSERT_TRUE(got.ok()) << what << got.status();
        EXPECT_TRUE(got->created) << what;
        const std::string id = model.Create(h, now);
        EXPECT_EQ(got->customer.id, id) << what;
        ids.push_back(id);
      } else {
        EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << what;
      }
    } else if (op < 30) {
      // An operator id, sometimes one that the counter will reach later.
      const std::string id = absl::Bernoulli(rng, 0.5)
                                 ? absl::StrCat("cust-", model.next_id + absl::Uniform(rng, 0, 3))
                                 : absl::StrCat("crm:", absl::Uniform(rng, 0, 5));
      CustomerUpdate u;
      u.vip_level = absl::Uniform(rng, 0, 10);
      u.add_tags = {absl::StrCat("t", absl::Uniform(rng, 0, 4))};
      if (absl::Bernoulli(rng, 0.3)) u.language = "zh-CN";
      if (absl::Bernoulli(rng, 0.3)) u.display_name = absl::StrCat("name ", step);
      what = absl::StrCat("Update ", id);
      absl::StatusOr<Customer> got = dir->Update(id, u, true, now);
      ASSERT_TRUE(got.ok()) << what << got.status();
      std::optional<std::string> l = model.Live(id);
      if (!l) {
        Model::Entry r;
        r.c.id = id;
        r.c.created_at = now;
        model.live[id] = r;
        ids.push_back(id);
        l = id;
      }
      Customer& c = model.live[*l].c;
      c.vip_level = *u.vip_level;
      std::set<std::string> tags(c.tags.begin(), c.tags.end());
      tags.insert(u.add_tags.begin(), u.add_tags.end());
      c.tags.assign(tags.begin(), tags.end());
      if (u.language) c.language = *u.language;
      if (u.display_name) c.display_name = *u.display_name;
      c.updated_at = now;
      ExpectSameCustomer(*got, c, what);
    } else if (op < 45) {
      const std::string id = random_id();
      const Handle h = random_handle();
      const bool move = absl::Bernoulli(rng, 0.5);
      what = absl::StrCat("LinkHandle ", id, " ", Str(h), move ? " move" : "");
      absl::StatusOr<Customer> got = dir->LinkHandle(id, h, move, now);
      const absl::StatusCode want = model.Link(id, h, move, now);
      ASSERT_EQ(got.status().code(), want) << what << " " << got.status();
      if (got.ok()) ExpectSameCustomer(*got, model.live.at(*model.Live(id)).c, what);
    } else if (op < 52) {
      const std::string id = random_id();
      const Handle h = random_handle();
      what = absl::StrCat("UnlinkHandle ", id, " ", Str(h));
      absl::StatusOr<Customer> got = dir->UnlinkHandle(id, h, now);
      const absl::StatusCode want = model.Unlink(id, h, now);
      ASSERT_EQ(got.status().code(), want) << what << " " << got.status();
      if (got.ok()) ExpectSameCustomer(*got, model.live.at(*model.Live(id)).c, what);
    } else if (op < 62) {
      const std::string s = random_id();
      const std::string a = random_id();
      what = absl::StrCat("Merge ", s, " <- ", a);
      absl::StatusOr<Customer> got = dir->Merge(s, a, now);
      const absl::StatusCode want = model.Merge(s, a, now);
      ASSERT_EQ(got.status().code(), want) << what << " " << got.status();
      if (got.ok()) ExpectSameCustomer(*got, model.live.at(*model.Live(s)).c, what);
    } else if (op < 85) {
      Interaction in = testing::Session(
          absl::Bernoulli(rng, 0.1) && next_session > 1
              ? absl::Uniform<uint64_t>(rng, 1, next_session)  // a replay
              : next_session++,
          random_id(),
          absl::Bernoulli(rng, 0.2) ? "" : absl::StrCat("eng-", absl::Uniform(rng, 0, 4)),
          absl::Uniform<int64_t>(rng, 1000, 3000), kinds[absl::Uniform(rng, 0, 3)]);
      if (absl::Bernoulli(rng, 0.15)) in.outcome = Outcome::kAbandoned;
      what = absl::StrCat("RecordInteraction ", in.session, " ", in.customer);
      absl::StatusOr<bool> got = dir->RecordInteraction(in);
      bool recorded = false;
      const absl::StatusCode want = model.RecordInteraction(in, &recorded);
      ASSERT_EQ(got.status().code(), want) << what << " " << got.status();
      if (got.ok()) {
        EXPECT_EQ(*got, recorded) << what;
      }
    } else {
      const uint64_t session = absl::Uniform<uint64_t>(rng, 1, next_session + 2);
      Rating rating = testing::Stars(absl::Uniform(rng, 1, 6), absl::Bernoulli(rng, 0.4));
      rating.at = now;
      what = absl::StrCat("Rate ", session);
      absl::StatusOr<Directory::RateResult> got = dir->Rate(session, rating);
      const absl::StatusCode want = model.Rate(session, rating);
      ASSERT_EQ(got.status().code(), want) << what << " " << got.status();
    }
    if (step % 100 == 99) {
      check_all(step);
      if (HasFatalFailure()) return;
    }
  }
  check_all(kSteps);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DirectoryModelTest, ::testing::Values(1, 2, 3, 4, 5, 6));

}  // namespace
}  // namespace omniroute::directory
