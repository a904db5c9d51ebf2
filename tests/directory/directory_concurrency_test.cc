// Threads racing the directory: Resolve(create) of the same unknown handles makes one
// customer each; merges, links, interactions and ratings racing each other (and readers)
// leave a consistent directory with nothing lost.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
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

TEST(DirectoryConcurrencyTest, RacingResolveCreateMakesOneCustomerPerHandle) {
  TempDir tmp;
  Options options;
  options.sync_writes = true;  // group commit of concurrent synced writes, for real
  std::unique_ptr<Directory> dir = OpenOrDie(tmp.path() + "/dir", options);
  ASSERT_NE(dir, nullptr);
  constexpr int kThreads = 8;
  constexpr int kHandles = 300;
  struct Seen {
    std::string id;
    bool created = false;
  };
  std::vector<std::vector<Seen>> seen(kThreads, std::vector<Seen>(kHandles));
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<int> order(kHandles);
      for (int i = 0; i < kHandles; ++i) order[i] = i;
      // Half the threads go in the same order (maximal collisions), half shuffled.
      if (t % 2 == 1) std::shuffle(order.begin(), order.end(), std::mt19937(t));
      for (int i : order) {
        absl::StatusOr<Directory::Resolved> r =
            dir->Resolve(H("wechat", absl::StrCat("openid-", i)), true, T(i));
        if (!r.ok()) {
          errors++;
          continue;
        }
        seen[t][i] = Seen{r->customer.id, r->created};
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  std::set<std::string> ids;
  for (int i = 0; i < kHandles; ++i) {
    int created = 0;
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_EQ(seen[t][i].id, seen[0][i].id) << "handle " << i << " thread " << t;
      created += seen[t][i].created ? 1 : 0;
    }
    EXPECT_EQ(created, 1) << "handle " << i;
    ids.insert(seen[0][i].id);
    absl::StatusOr<Customer> c = dir->Get(seen[0][i].id);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->handles.size(), 1u);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kHandles));
}

TEST(DirectoryConcurrencyTest, MergesLinksInteractionsAndRatingsRaceConsistently) {
  TempDir tmp;
  Options options;
  options.sync_writes = false;
  std::unique_ptr<Directory> dir = OpenOrDie(tmp.path() + "/dir", options);
  ASSERT_NE(dir, nullptr);

  constexpr int kCustomers = 40;
  std::vector<std::string> base_ids;
  std::vector<Handle> base_handles;
  for (int i = 0; i < kCustomers; ++i) {
    base_handles.push_back(H("phone", absl::StrCat("p", i)));
    absl::StatusOr<Directory::Resolved> r = dir->Resolve(base_handles.back(), true, T(0));
    ASSERT_TRUE(r.ok()) << r.status();
    base_ids.push_back(r->customer.id);
  }

  constexpr int kWriters = 6;
  constexpr int kSteps = 400;
  std::mutex mu;  // guards the shared tallies below
  std::set<std::string> all_ids(base_ids.begin(), base_ids.end());
  std::set<std::string> all_handles;
  for (const Handle& h : base_handles) all_handles.insert(Str(h));
  int64_t recorded = 0;
  std::map<std::string, int64_t> rated;  // engineer -> successful ratings
  std::atomic<int> unexpected{0};
  std::atomic<bool> stop{false};

  auto note_unexpected = [&](const absl::Status& st, const std::string& what) {
    ++unexpected;
    ADD_FAILURE() << what << ": " << st;
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::seed_seq seq = {w};
      absl::InsecureBitGen rng(seq);
      std::vector<uint64_t> my_sessions;
      auto pick_id = [&] { return base_ids[absl::Uniform(rng, 0, kCustomers)]; };
      for (int i = 0; i < kSteps; ++i) {
        const int op = absl::Uniform(rng, 0, 100);
        const absl::Time now = T(1000 + i);
        if (op < 15) {
          const std::string s = pick_id();
          const std::string a = pick_id();
          absl::StatusOr<Customer> m = dir->Merge(s, a, now);
          // Same customer (already merged, or drawn twice) is the only expected refusal.
          if (!m.ok() && m.status().code() != absl::StatusCode::kInvalidArgument) {
            note_unexpected(m.status(), absl::StrCat("Merge ", s, " ", a));
          }
        } else if (op < 35) {
          const bool fresh = absl::Bernoulli(rng, 0.5);
          const Handle h = fresh ? H("app", absl::StrCat("w", w, "-", i))
                                 : base_handles[absl::Uniform(rng, 0, kCustomers)];
          const std::string id = pick_id();
          absl::StatusOr<Customer> l = dir->LinkHandle(id, h, /*move=*/true, now);
          if (!l.ok()) note_unexpected(l.status(), absl::StrCat("LinkHandle ", id));
          if (fresh) {
            std::lock_guard<std::mutex> lock(mu);
            all_handles.insert(Str(h));
          }
        } else if (op < 45) {
          const Handle h = H("weibo", absl::StrCat("u", absl::Uniform(rng, 0, 30)));
          absl::StatusOr<Directory::Resolved> r = dir->Resolve(h, true, now);
          if (!r.ok()) {
            note_unexpected(r.status(), "Resolve");
          } else {
            std::lock_guard<std::mutex> lock(mu);
            all_ids.insert(r->customer.id);
            all_handles.insert(Str(h));
          }
        } else if (op < 75) {
          const uint64_t session = static_cast<uint64_t>(w) * 1000000 + i + 1;
          Interaction in =
              testing::Session(session, pick_id(), absl::StrCat("eng-", absl::Uniform(rng, 0, 3)),
                               1000 + i, "wechat");
          absl::StatusOr<bool> r = dir->RecordInteraction(in);
          if (!r.ok() || !*r) {
            note_unexpected(r.status(), absl::StrCat("RecordInteraction ", session));
          } else {
            my_sessions.push_back(session);
            std::lock_guard<std::mutex> lock(mu);
            ++recorded;
          }
        } else if (!my_sessions.empty()) {
          const uint64_t session = my_sessions[absl::Uniform<size_t>(rng, 0, my_sessions.size())];
          absl::StatusOr<Directory::RateResult> r = dir->Rate(
              session, testing::Stars(absl::Uniform(rng, 1, 6), absl::Bernoulli(rng, 0.5)));
          if (r.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            rated[r->engineer.id]++;
          } else if (r.status().code() != absl::StatusCode::kAlreadyExists) {
            note_unexpected(r.status(), absl::StrCat("Rate ", session));
          }
        }
      }
    });
  }
  // Readers: a known id or base handle never stops resolving while merges move things.
  std::atomic<int64_t> reads{0};
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::seed_seq seq = {100 + r};
      absl::InsecureBitGen rng(seq);
      while (!stop.load()) {
        const int i = absl::Uniform(rng, 0, kCustomers);
        absl::StatusOr<Customer> c = dir->Get(base_ids[i]);
        if (!c.ok()) note_unexpected(c.status(), absl::StrCat("Get ", base_ids[i]));
        absl::StatusOr<Directory::Resolved> h = dir->Resolve(base_handles[i], false, T(0));
        if (!h.ok()) note_unexpected(h.status(), absl::StrCat("Resolve ", Str(base_handles[i])));
        absl::StatusOr<Directory::InteractionPage> p = dir->ListInteractions(base_ids[i], 10, "");
        if (!p.ok()) note_unexpected(p.status(), "ListInteractions");
        ++reads;
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  stop = true;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  ASSERT_EQ(unexpected.load(), 0);
  EXPECT_GT(reads.load(), 0);

  // Every id resolves to a live customer; the live customers' merged_from partition the rest.
  std::map<std::string, Customer> live;
  for (const std::string& id : all_ids) {
    absl::StatusOr<Customer> c = dir->Get(id);
    ASSERT_TRUE(c.ok()) << id << ": " << c.status();
    live[c->id] = *c;
    if (c->id != id) {
      EXPECT_NE(std::find(c->merged_from.begin(), c->merged_from.end(), id), c->merged_from.end())
          << id << " resolves to " << c->id << " which does not list it";
    }
  }
  std::set<std::string> covered;
  for (const auto& [id, c] : live) {
    EXPECT_TRUE(covered.insert(id).second) << id;
    for (const std::string& m : c.merged_from) {
      EXPECT_TRUE(covered.insert(m).second) << m << " merged into two customers";
      EXPECT_EQ(live.count(m), 0u) << m << " is both live and merged";
    }
  }
  EXPECT_EQ(covered, all_ids);

  // Handles and customers agree both ways.
  for (const auto& [id, c] : live) {
    for (const Handle& h : c.handles) {
      absl::StatusOr<Directory::Resolved> r = dir->Resolve(h, false, T(0));
      ASSERT_TRUE(r.ok()) << Str(h) << ": " << r.status();
      EXPECT_EQ(r->customer.id, id) << Str(h);
    }
  }
  for (const std::string& hs : all_handles) {
    const size_t colon = hs.find(':');
    const Handle h = H(hs.substr(0, colon), hs.substr(colon + 1));
    absl::StatusOr<Directory::Resolved> r = dir->Resolve(h, false, T(0));
    ASSERT_TRUE(r.ok()) << hs << ": " << r.status();  // nothing was unlinked
    const Customer& owner = live.at(r->customer.id);
    EXPECT_TRUE(std::binary_search(owner.handles.begin(), owner.handles.end(), h)) << hs;
  }

  // No interaction lost or counted twice; each lists under the customer it names.
  int64_t counted = 0;
  int64_t listed = 0;
  for (const auto& [id, c] : live) {
    counted += c.interactions;
    std::string token;
    int64_t mine = 0;
    do {
      absl::StatusOr<Directory::InteractionPage> page = dir->ListInteractions(id, 1000, token);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const Interaction& in : page->interactions) {
        EXPECT_EQ(in.customer, id) << "session " << in.session;
        ++mine;
      }
      token = page->next_page_token;
    } while (!token.empty());
    EXPECT_EQ(mine, c.interactions) << id;
    listed += mine;
  }
  EXPECT_EQ(counted, recorded);
  EXPECT_EQ(listed, recorded);

  // No rating lost.
  absl::StatusOr<std::vector<EngineerRecord>> engineers = dir->ListEngineers();
  ASSERT_TRUE(engineers.ok());
  int64_t handled = 0;
  for (const EngineerRecord& e : *engineers) {
    EXPECT_EQ(e.ratings, rated[e.id]) << e.id;
    handled += e.handled;
  }
  EXPECT_EQ(handled, recorded);
}

}  // namespace
}  // namespace omniroute::directory
