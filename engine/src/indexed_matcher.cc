// The indexed matcher: finds the engineer for a session, and the session for an engineer,
// without scanning everyone. See docs/ARCHITECTURE.md ("Matching") for the complexity.
//
// Engineer side: per (queue, capability, level), the engineers available with room on some
// channel, sorted by the queue strategy's rank key. An engineer's *capability* is the set of
// channels it handles (phone-only, chat-only, blended... a handful of distinct sets); its
// *level* is its proficiency in the queue's primary skill (the first configured requirement),
// 0 to 5. A session on channel C needing the primary skill at level L merges the sets of the
// capabilities that include C and the levels L..5, so it never meets an engineer who does not
// handle C or is below the primary level. Each entry carries a bit mask of the channels the
// engineer has room on now, so a walk skips a busy engineer without touching it. The walk
// stops at the first engineers that also pass the rest of the requirements and the required
// tier (the session's minimum tier from customer rules, and the VIP tier in the VIP stage);
// targeted sessions (preferred / last engineer) look only at their targets. When walks go
// past many engineers, a queue adds a secondary family of sets keyed by another required
// skill, or by the engineers' tier (the "tier tree": its "level" is the tier, 1 to 5), so
// that a session needing an expert walks experts and masters only. An engineer sits in one
// set per queue and tree, so a change of its load or rank costs O(queues · trees · log E).
//
// Session side: per queue, QUEUED sessions are grouped in *classes* of equal
// (requirements in force, channel, required tier); within a class they are sorted by the
// queue's ordering (effective priority, then wait, then id), which is static because all
// sessions of a queue age at the same rate. A freed engineer checks, for each queue it serves
// and each channel it has room on, the non-empty classes once (one eligibility test per
// class, not per session) and compares the class heads. Sessions in a targeted stage sit in a
// per-engineer set instead.

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/types/span.h"
#include "node_pool.h"
#include "state.h"

namespace omniroute::internal {
namespace {

struct RankEntry {
  RankKey key;
  uint32_t engineer;
  // Channels the engineer has room on now (bit c for channel c < 63; bit 63 for "some
  // channel >= 63, ask the engineer"). Not part of the order, so it is updated in place.
  mutable uint64_t room = 0;
  friend bool operator<(const RankEntry& a, const RankEntry& b) {
    if (a.key != b.key) return a.key < b.key;
    return a.engineer < b.engineer;
  }
};

// Order of sessions within one queue: effective priority (static form), wait, id.
struct SessionKey {
  int64_t order = 0;  // smaller first: waiting_since - priority * ageing, or -priority
  int64_t waiting_since = 0;
  uint64_t id = 0;
  Session* session = nullptr;  // not part of the order; sessions do not move
  friend bool operator<(const SessionKey& a, const SessionKey& b) {
    if (a.order != b.order) return a.order < b.order;
    if (a.waiting_since != b.waiting_since) return a.waiting_since < b.waiting_since;
    return a.id < b.id;
  }
};

struct ClassKey {
  ReqSet reqs;
  uint32_t channel = 0;
  int min_tier = 0;  // 0: no tier restriction
  friend bool operator==(const ClassKey&, const ClassKey&) = default;
};

// A class key's fields, borrowed from a session: finds its class without copying the
// requirements.
struct ClassKeyRef {
  const ReqSet* reqs;
  uint32_t channel;
  int min_tier;

  explicit ClassKeyRef(const ClassKey& k)
      : reqs(&k.reqs), channel(k.channel), min_tier(k.min_tier) {}
  ClassKeyRef(const ReqSet& r, uint32_t c, int t) : reqs(&r), channel(c), min_tier(t) {}
  friend bool operator==(const ClassKeyRef& a, const ClassKeyRef& b) {
    return a.channel == b.channel && a.min_tier == b.min_tier && *a.reqs == *b.reqs;
  }
  template <typename H>
  friend H AbslHashValue(H h, const ClassKeyRef& k) {
    for (const Req& r : *k.reqs) h = H::combine(std::move(h), r.skill, r.level);
    return H::combine(std::move(h), k.reqs->size(), k.channel, k.min_tier);
  }
};

// Hash and equality over ClassKey and ClassKeyRef alike (heterogeneous lookup).
struct ClassKeyHash {
  using is_transparent = void;
  size_t operator()(const ClassKey& k) const { return (*this)(ClassKeyRef(k)); }
  size_t operator()(const ClassKeyRef& k) const { return absl::Hash<ClassKeyRef>()(k); }
};
struct ClassKeyEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return ClassKeyRef(a) == ClassKeyRef(b);
  }
};

using SessionSet = absl::btree_set<SessionKey, std::less<SessionKey>, PoolAllocator<SessionKey>>;
using TargetSet = absl::btree_set<uint64_t, std::less<uint64_t>, PoolAllocator<uint64_t>>;

struct SessionClass {
  ClassKey key;
  SessionSet sessions;
  size_t nonempty_pos = 0;  // position in the queue's channel's `nonempty` list
};

inline constexpr int kLevels = 6;  // proficiency 0 (none) to 5
// Spare capacity in quarters of the budget, rounded down: 4 means completely free. A session
// whose channel costs k of an engineer's budget B can only go to an engineer in a bucket at
// least floor(4k/B), so a call (k = B) looks only at free engineers.
inline constexpr int kSpareBuckets = 5;
inline constexpr int kBuckets = kLevels * kSpareBuckets;
using ReadySet = absl::btree_set<RankEntry>;

int SpareBucket(int64_t spare, int64_t budget) {
  if (budget <= 0) return 0;
  return static_cast<int>(std::clamp<int64_t>(spare * 4 / budget, 0, kSpareBuckets - 1));
}

// One family of ready sets of a queue, bucketed by the engineers' level in `skill`.
struct Tree {
  uint32_t skill = kNone;  // kNone: the queue has no requirement; every level is 0
  bool by_tier = false;    // the tier tree: an engineer's "level" is its tier (1..5)
  // [capability][level * kSpareBuckets + spare]: available engineers with room on some
  // channel, by the channels they handle (their capability), their level in `skill` and their
  // spare capacity.
  std::vector<std::array<ReadySet, kBuckets>> ready;

  ReadySet& Ready(uint32_t capability, int bucket) {
    if (capability >= ready.size()) ready.resize(capability + 1);
    return ready[capability][bucket];
  }
};

// A queue indexes its ready engineers by its primary skill (tree 0, every member) and, once
// sessions needing another skill have had to walk past many engineers, by that skill too
// (secondary trees hold only the members who have the skill).
inline constexpr int kMaxSecondaryTrees = 8;

struct QueueIndex {
  std::vector<Tree> trees{Tree{}};
  absl::flat_hash_map<uint32_t, uint32_t> tree_of_skill;  // secondary trees
  uint32_t tier_tree = kNone;                             // the tier tree, once made
  std::vector<SessionClass> classes;
  absl::flat_hash_map<ClassKey, uint32_t, ClassKeyHash, ClassKeyEq> class_of;
  // [channel]: non-empty classes.
  std::vector<std::vector<uint32_t>> nonempty;

  std::vector<uint32_t>& Nonempty(uint32_t channel) {
    if (channel >= nonempty.size()) nonempty.resize(channel + 1);
    return nonempty[channel];
  }
};

// Where an engineer sits in one ready set.
struct ReadyEntry {
  uint32_t queue = 0;
  uint32_t tree = 0;
  uint32_t capability = 0;
  int bucket = 0;  // level * kSpareBuckets + spare bucket
  RankKey key;
  uint64_t room = 0;
  bool SamePlace(const ReadyEntry& o) const {
    return queue == o.queue && tree == o.tree && capability == o.capability && bucket == o.bucket &&
           key == o.key;
  }
};

inline constexpr uint32_t kOverflowRoomBit = 63;

uint64_t RoomMask(const EngineerState& e) {
  uint64_t mask = 0;
  for (const EngineerChannel& c : e.channels) {
    if (e.HasRoomFor(c.channel)) mask |= uint64_t{1} << std::min(c.channel, kOverflowRoomBit);
  }
  return mask;
}

bool HasRoom(const RankEntry& r, const EngineerState& e, uint32_t channel) {
  if (channel < kOverflowRoomBit) return (r.room >> channel) & 1;
  return ((r.room >> kOverflowRoomBit) & 1) && e.HasRoomFor(channel);
}

class IndexedMatcher final : public Matcher {
 public:
  explicit IndexedMatcher(int walk_before_indexing) : walk_before_indexing_(walk_before_indexing) {}

  void Attach(State* state) override {
    st_ = state;
    queues_.clear();
    entries_.clear();
    capability_ids_.clear();
    capabilities_with_channel_.clear();
    capability_cache_.clear();
    min_spare_.clear();
    dirty_.clear();
    dirty_flag_.clear();
    targeted_.clear();
    pool_.Reset();  // every tree using it is gone
  }

  // Re-keying is deferred until a walk needs the ready sets: an engineer often changes
  // several times in one command (freed, then offered the next session), and only the last
  // state matters.
  void EngineerChanged(uint32_t e) override {
    if (e >= entries_.size()) {
      entries_.resize(e + 1);
      dirty_flag_.resize(e + 1, false);
    }
    GrowTargeted(e);
    if (!dirty_flag_[e]) {
      dirty_flag_[e] = true;
      dirty_.push_back(e);
    }
  }

  void Flush() {
    for (uint32_t e : dirty_) {
      dirty_flag_[e] = false;
      Rekey(e);
    }
    dirty_.clear();
  }

  void Rekey(uint32_t e) {
    const EngineerState& eng = st_->engineers[e];
    // The lowest spare bucket an engineer with room on each channel can be in (never rises,
    // so it stays true for every engineer ever seen).
    for (const EngineerChannel& c : eng.channels) {
      if (c.channel >= min_spare_.size()) min_spare_.resize(c.channel + 1, kSpareBuckets - 1);
      min_spare_[c.channel] =
          std::min(min_spare_[c.channel], SpareBucket(c.cost, eng.config.budget));
    }
    absl::InlinedVector<ReadyEntry, 4> wanted;
    if (eng.live && eng.presence == Presence::kAvailable) {
      const uint64_t room = RoomMask(eng);
      if (room != 0) {
        const uint32_t capability = CapabilityOf(e);
        const int spare = SpareBucket(eng.config.budget - eng.used_budget, eng.config.budget);
        for (const Membership& m : eng.queues) {
          if (!st_->queues[m.queue].live) continue;
          const RankKey key = st_->Rank(eng, m.queue);
          const std::vector<Tree>& trees = Queue(m.queue).trees;
          for (uint32_t t = 0; t < trees.size(); ++t) {
            const int level = trees[t].by_tier          ? static_cast<int>(eng.config.tier)
                              : trees[t].skill == kNone ? 0
                                                        : eng.SkillLevel(trees[t].skill);
            if (t > 0 && level == 0) continue;
            wanted.push_back({m.queue, t, capability, level * kSpareBuckets + spare, key, room});
          }
        }
      }
    }
    auto& entries = entries_[e];
    for (const ReadyEntry& r : entries) {
      auto same = std::find_if(wanted.begin(), wanted.end(),
                               [&r](const ReadyEntry& w) { return w.SamePlace(r); });
      ReadySet& set = Queue(r.queue).trees[r.tree].Ready(r.capability, r.bucket);
      if (same == wanted.end()) {
        set.erase(RankEntry{r.key, e});
      } else if (same->room != r.room) {
        set.find(RankEntry{r.key, e})->room = same->room;
      }
    }
    for (const ReadyEntry& w : wanted) {
      auto same = std::find_if(entries.begin(), entries.end(),
                               [&w](const ReadyEntry& r) { return r.SamePlace(w); });
      if (same == entries.end()) {
        Queue(w.queue)
            .trees[w.tree]
            .Ready(w.capability, w.bucket)
            .insert(RankEntry{w.key, e, w.room});
      }
    }
    entries.assign(wanted.begin(), wanted.end());
  }

  // The engineer's capability: the set of channels it handles, interned. Cached per
  // engineer and recomputed only when its channel list changes.
  uint32_t CapabilityOf(uint32_t e) {
    const EngineerState& eng = st_->engineers[e];
    absl::InlinedVector<uint32_t, 8> handled;
    for (const EngineerChannel& c : eng.channels) {
      if (c.max > 0) handled.push_back(c.channel);
    }
    if (e >= capability_cache_.size()) capability_cache_.resize(e + 1, {{}, kNone});
    auto& [cached_channels, cached_id] = capability_cache_[e];
    if (cached_id != kNone && cached_channels == handled) return cached_id;
    std::vector<uint32_t> key(handled.begin(), handled.end());
    auto [it, inserted] =
        capability_ids_.try_emplace(key, static_cast<uint32_t>(capability_ids_.size()));
    if (inserted) {
      for (uint32_t ch : key) {
        if (ch >= capabilities_with_channel_.size()) capabilities_with_channel_.resize(ch + 1);
        capabilities_with_channel_[ch].push_back(it->second);
      }
    }
    cached_channels = handled;
    cached_id = it->second;
    return cached_id;
  }

  void QueueChanged(uint32_t q) override {
    // The strategy or the primary skill may have changed: take every engineer out of the
    // queue's ready sets and put the members back. Waiting sessions were taken out by the
    // engine before the change and are put back after it.
    Flush();
    QueueIndex& qi = Queue(q);
    for (Tree& tree : qi.trees) {
      for (auto& buckets : tree.ready) {
        for (const ReadySet& set : buckets) {
          for (const RankEntry& r : set) {
            auto& entries = entries_[r.engineer];
            entries.erase(std::remove_if(entries.begin(), entries.end(),
                                         [q](const ReadyEntry& x) { return x.queue == q; }),
                          entries.end());
          }
        }
      }
    }
    qi.trees.assign(1, Tree{});
    qi.tree_of_skill.clear();
    qi.tier_tree = kNone;
    const QueueState& queue = st_->queues[q];
    if (!queue.live) return;
    if (!queue.config.requirements.empty()) {
      qi.trees[0].skill = st_->FindSkill(queue.config.requirements.front().skill.value());
    }
    for (uint32_t e : queue.members) Rekey(e);
  }

  void SessionWaiting(Session& s) override {
    if (s.Targeted()) {
      s.index_targeted = true;
      // Ids mostly arrive in ascending order (always so from a snapshot load): hint the end.
      ForEachTarget(s, [&](uint32_t e) { targeted_[e].insert(targeted_[e].end(), s.id); });
      return;
    }
    s.index_targeted = false;
    QueueIndex& qi = Queue(s.queue);
    const uint32_t c = ClassOf(qi, s);
    SessionClass& cls = qi.classes[c];
    if (cls.sessions.empty()) ListNonempty(qi, c);
    s.index_class = c;
    // A newcomer usually goes last in its class (it has waited least): hint the end.
    cls.sessions.insert(cls.sessions.end(), KeyOf(s));
  }

  // The same indexes as SessionWaiting on each session in turn (the same classes, numbered
  // and listed in the same order), built class by class instead of session by session: with
  // a million sessions over thousands of classes, inserting each where it belongs as it comes
  // waits on memory at every step, while one class's tree at a time stays in cache.
  void SessionsWaiting(absl::Span<Session* const> sessions) override {
    struct Group {
      uint32_t queue;
      uint32_t cls;
      uint32_t begin = 0;  // into `grouped`
      uint32_t count = 0;
    };
    std::vector<Group> groups;
    std::vector<std::vector<uint32_t>> group_of;  // [queue][class]: index in `groups`
    // [i]: the group of sessions[i], kNone for a targeted session.
    std::vector<uint32_t, LargeAllocator<uint32_t>> group_at(sessions.size());
    std::vector<uint32_t> targets_of(targeted_.size());  // per engineer: how many targets
    // (engineer, session id) of the targeted sessions, in session order.
    std::vector<std::pair<uint32_t, uint64_t>, LargeAllocator<std::pair<uint32_t, uint64_t>>>
        targets;
    size_t members = 0;

    // Pass 1, in session order: each session's class (numbered and listed as one session at
    // a time would do it) or targets.
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (i + 4 < sessions.size()) Prefetch(*sessions[i + 4]);
      Session& s = *sessions[i];
      if (s.Targeted()) {
        s.index_targeted = true;
        group_at[i] = kNone;
        ForEachTarget(s, [&](uint32_t e) {
          if (e >= targets_of.size()) targets_of.resize(targeted_.size());
          ++targets_of[e];
          targets.emplace_back(e, s.id);
        });
        continue;
      }
      s.index_targeted = false;
      QueueIndex& qi = Queue(s.queue);
      const uint32_t c = ClassOf(qi, s);
      if (s.queue >= group_of.size()) group_of.resize(s.queue + 1);
      std::vector<uint32_t>& of_queue = group_of[s.queue];
      if (c >= of_queue.size()) of_queue.resize(qi.classes.size(), kNone);
      if (of_queue[c] == kNone) {
        of_queue[c] = static_cast<uint32_t>(groups.size());
        groups.push_back(Group{s.queue, c});
        // Where one session at a time would list the class: at its first session, if empty.
        if (qi.classes[c].sessions.empty()) ListNonempty(qi, c);
      }
      ++groups[of_queue[c]].count;
      ++members;
      s.index_class = c;
      group_at[i] = of_queue[c];
    }

    // Pass 2: sessions grouped by class, and targets by engineer (counting sorts that keep
    // the session order within a group).
    uint32_t next = 0;
    for (Group& g : groups) {
      g.begin = next;
      next += g.count;
      g.count = 0;
    }
    std::vector<size_t> target_begin(targets_of.size() + 1, 0);
    for (size_t e = 0; e < targets_of.size(); ++e) {
      target_begin[e + 1] = target_begin[e] + targets_of[e];
      targets_of[e] = 0;
    }
    std::vector<Session*, LargeAllocator<Session*>> grouped(members);
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (group_at[i] == kNone) continue;
      Group& g = groups[group_at[i]];
      grouped[g.begin + g.count++] = sessions[i];
    }
    std::vector<uint64_t, LargeAllocator<uint64_t>> target_ids(targets.size());
    for (const auto& [e, id] : targets) target_ids[target_begin[e] + targets_of[e]++] = id;

    // Pass 3: each class's tree, then each engineer's, in one go (mostly appends at the end).
    for (const Group& g : groups) {
      SessionSet& set = queues_[g.queue].classes[g.cls].sessions;
      for (uint32_t k = g.begin; k < g.begin + g.count; ++k) {
        if (k + 8 < grouped.size()) PrefetchKey(*grouped[k + 8]);
        set.insert(set.end(), KeyOf(*grouped[k]));
      }
    }
    for (size_t e = 0; e < targets_of.size(); ++e) {
      TargetSet& set = targeted_[e];
      for (size_t k = target_begin[e]; k < target_begin[e + 1]; ++k) {
        set.insert(set.end(), target_ids[k]);
      }
    }
  }

  void SessionLeaving(Session& s) override {
    if (s.index_targeted) {
      ForEachTarget(s, [&](uint32_t e) { targeted_[e].erase(s.id); });
      s.index_targeted = false;
      return;
    }
    if (s.index_class == kNone) return;
    QueueIndex& qi = Queue(s.queue);
    SessionClass& cls = qi.classes[s.index_class];
    cls.sessions.erase(KeyOf(s));
    if (cls.sessions.empty()) {
      std::vector<uint32_t>& nonempty = qi.Nonempty(cls.key.channel);
      const uint32_t moved = nonempty.back();
      nonempty[cls.nonempty_pos] = moved;
      qi.classes[moved].nonempty_pos = cls.nonempty_pos;
      nonempty.pop_back();
    }
    s.index_class = kNone;
  }

  EngineerChoice FindEngineers(const Session& s, int limit) override {
    Flush();
    EngineerChoice choice;
    std::vector<uint32_t> declined;
    auto consider = [&](uint32_t e) {
      if (s.Declined(e)) {
        if (static_cast<int>(declined.size()) < limit) declined.push_back(e);
      } else {
        choice.engineers.push_back(e);
      }
    };
    if (s.Targeted()) {
      // A handful of targets: rank them directly.
      std::vector<RankEntry> ranked;
      ForEachTarget(s, [&](uint32_t e) {
        const EngineerState& eng = st_->engineers[e];
        if (st_->Eligible(eng, s)) ranked.push_back({st_->Rank(eng, s.queue), e});
      });
      std::sort(ranked.begin(), ranked.end());
      for (const RankEntry& r : ranked) {
        if (static_cast<int>(choice.engineers.size()) == limit) break;
        consider(r.engineer);
      }
    } else {
      // Pick the tree that leaves the fewest candidates (the primary skill's, that of
      // another required skill the queue indexes, or the tier tree), then merge the buckets
      // the session accepts, best key first.
      QueueIndex& qi = Queue(s.queue);
      const int required_tier = st_->RequiredTier(s);
      Cursors cursors;
      if (s.channel < capabilities_with_channel_.size()) {
        size_t fewest = SIZE_MAX;
        auto try_tree = [&](const Tree& tree, int min_level) {
          Cursors c;
          const size_t n = Candidates(tree, s.channel, min_level, &c);
          if (n < fewest) {
            fewest = n;
            cursors = std::move(c);
          }
        };
        int primary_level = 0;
        for (const Req& r : s.in_force) {
          if (r.skill == qi.trees[0].skill) {
            primary_level = r.level;
          } else if (auto t = qi.tree_of_skill.find(r.skill); t != qi.tree_of_skill.end()) {
            try_tree(qi.trees[t->second], r.level);
          }
        }
        if (required_tier > 0 && qi.tier_tree != kNone) {
          try_tree(qi.trees[qi.tier_tree], required_tier);
        }
        try_tree(qi.trees[0], primary_level);
      }
      int examined = 0;
      int below_tier = 0;
      while (static_cast<int>(choice.engineers.size()) < limit) {
        std::pair<ReadySet::const_iterator, ReadySet::const_iterator>* best = nullptr;
        for (auto& c : cursors) {
          if (c.first != c.second && (best == nullptr || *c.first < *best->first)) best = &c;
        }
        if (best == nullptr) break;
        const RankEntry& entry = *best->first;
        ++best->first;
        ++examined;
        // The set guarantees presence, membership, that the engineer handles the channel and
        // the tree's level (a skill's, or the tier); what is left is room on the channel now
        // (in the entry), the requirements and the required tier.
        const uint32_t e = entry.engineer;
        const EngineerState& eng = st_->engineers[e];
        if (!HasRoom(entry, eng, s.channel)) continue;
        if (static_cast<int>(eng.config.tier) < required_tier) {
          ++below_tier;
          continue;
        }
        if (st_->MeetsRequirements(eng, s.in_force)) consider(e);
      }
      if (examined > walk_before_indexing_) {
        // Most of the walk was engineers of too low a tier: index the queue by tier;
        // otherwise by another required skill.
        if (below_tier * 2 > examined && qi.tier_tree == kNone) {
          IndexTier(s.queue);
        } else {
          IndexAnotherSkill(s);
        }
      }
    }
    if (choice.engineers.empty() && !declined.empty()) {
      choice.engineers = std::move(declined);
      choice.declined_fallback = true;
    }
    return choice;
  }

  SessionChoice FindSession(uint32_t e) override {
    SessionChoice best;
    const EngineerState& eng = st_->engineers[e];
    if (!eng.Ready()) return best;
    auto consider = [&](Session* s) {
      const int64_t ageing = st_->queues[s->queue].ageing_us;
      if (best.session == nullptr ||
          CompareSessions(*s, ageing, *best.session, st_->queues[best.session->queue].ageing_us,
                          st_->now_us) < 0) {
        best.runner_up = best.session;
        best.session = s;
      } else if (best.runner_up == nullptr ||
                 CompareSessions(*s, ageing, *best.runner_up,
                                 st_->queues[best.runner_up->queue].ageing_us, st_->now_us) < 0) {
        best.runner_up = s;
      }
    };
    if (e < targeted_.size()) {
      for (uint64_t id : targeted_[e]) {
        Session* s = st_->FindSession(id);
        if (st_->Eligible(eng, *s)) consider(s);
      }
    }
    for (const Membership& m : eng.queues) {
      if (m.queue >= queues_.size()) continue;
      QueueIndex& qi = queues_[m.queue];
      for (const EngineerChannel& ch : eng.channels) {
        if (ch.channel >= qi.nonempty.size() || qi.nonempty[ch.channel].empty()) continue;
        if (!eng.HasRoomFor(ch.channel)) continue;
        for (uint32_t c : qi.nonempty[ch.channel]) {
          const SessionClass& cls = qi.classes[c];
          if (cls.key.min_tier != 0 && static_cast<int>(eng.config.tier) < cls.key.min_tier) {
            continue;
          }
          if (!st_->MeetsRequirements(eng, cls.key.reqs)) continue;
          // The head, and the one after it as a possible runner-up.
          int taken = 0;
          for (const SessionKey& k : cls.sessions) {
            consider(k.session);
            if (++taken == 2) break;
          }
        }
      }
    }
    return best;
  }

 private:
  using Cursors =
      absl::InlinedVector<std::pair<ReadySet::const_iterator, ReadySet::const_iterator>, 16>;

  // The buckets of `tree` a session on `channel` needing the tree's skill at `min_level`
  // may find an engineer in; returns how many entries they hold.
  size_t Candidates(const Tree& tree, uint32_t channel, int min_level, Cursors* out) {
    size_t n = 0;
    const int min_spare = min_spare_[channel];
    for (uint32_t capability : capabilities_with_channel_[channel]) {
      if (capability >= tree.ready.size()) continue;
      for (int level = min_level; level < kLevels; ++level) {
        for (int spare = min_spare; spare < kSpareBuckets; ++spare) {
          const ReadySet& set = tree.ready[capability][level * kSpareBuckets + spare];
          if (set.empty()) continue;
          n += set.size();
          out->emplace_back(set.begin(), set.end());
        }
      }
    }
    return n;
  }

  // Walks in queue `q` went past many engineers below the tier they needed: index the queue's
  // ready engineers by tier too.
  void IndexTier(uint32_t q) {
    QueueIndex& qi = Queue(q);
    if (qi.trees.size() > kMaxSecondaryTrees || qi.tier_tree != kNone) return;
    qi.tier_tree = static_cast<uint32_t>(qi.trees.size());
    Tree tree;
    tree.by_tier = true;
    qi.trees.push_back(std::move(tree));
    for (uint32_t e : st_->queues[q].members) Rekey(e);
  }

  // A walk for `s` went past many engineers: index the queue by one of the session's other
  // required skills, so that the next session needing it walks only engineers who have it.
  void IndexAnotherSkill(const Session& s) {
    QueueIndex& qi = Queue(s.queue);
    if (qi.trees.size() > kMaxSecondaryTrees) return;
    for (const Req& r : s.in_force) {
      if (r.skill == qi.trees[0].skill || qi.tree_of_skill.contains(r.skill)) continue;
      qi.tree_of_skill.emplace(r.skill, static_cast<uint32_t>(qi.trees.size()));
      Tree tree;
      tree.skill = r.skill;
      qi.trees.push_back(std::move(tree));
      for (uint32_t e : st_->queues[s.queue].members) Rekey(e);
      return;
    }
  }

  QueueIndex& Queue(uint32_t q) {
    if (q >= queues_.size()) queues_.resize(q + 1);
    return queues_[q];
  }

  // The session's class in its queue (made if new).
  uint32_t ClassOf(QueueIndex& qi, const Session& s) {
    const ClassKeyRef ref(s.in_force, s.channel, st_->RequiredTier(s));
    auto it = qi.class_of.find(ref);
    if (it == qi.class_of.end()) {
      ClassKey key{s.in_force, ref.channel, ref.min_tier};
      it = qi.class_of.emplace(key, static_cast<uint32_t>(qi.classes.size())).first;
      qi.classes.push_back(
          SessionClass{std::move(key), SessionSet(PoolAllocator<SessionKey>(&pool_)), 0});
    }
    return it->second;
  }

  // Class `c` of `qi` is getting its first session.
  static void ListNonempty(QueueIndex& qi, uint32_t c) {
    SessionClass& cls = qi.classes[c];
    std::vector<uint32_t>& nonempty = qi.Nonempty(cls.key.channel);
    cls.nonempty_pos = nonempty.size();
    nonempty.push_back(c);
  }

  // Fetches what SessionWaiting reads of a session (a few of its cache lines).
  static void Prefetch(const Session& s) {
    __builtin_prefetch(&s.id);
    __builtin_prefetch(&s.in_force);
    __builtin_prefetch(&s.priority);
    __builtin_prefetch(&s.stage);
    __builtin_prefetch(&s.waiting_since_us);
    __builtin_prefetch(&s.last_engineer);
    __builtin_prefetch(&s.min_tier);
    __builtin_prefetch(&s.index_targeted, 1);
  }
  // Fetches what KeyOf reads.
  static void PrefetchKey(const Session& s) {
    __builtin_prefetch(&s.id);
    __builtin_prefetch(&s.priority);
    __builtin_prefetch(&s.waiting_since_us);
  }

  SessionKey KeyOf(Session& s) const {
    const int64_t ageing = st_->queues[s.queue].ageing_us;
    SessionKey k;
    k.order = ageing > 0 ? s.waiting_since_us - static_cast<int64_t>(s.priority) * ageing
                         : -static_cast<int64_t>(s.priority);
    k.waiting_since = s.waiting_since_us;
    k.id = s.id;
    k.session = &s;
    return k;
  }

  template <typename F>
  void ForEachTarget(const Session& s, F f) {
    if (s.stage == RoutingStage::kPreferred) {
      for (uint32_t e : s.preferred) {
        GrowTargeted(e);
        f(e);
      }
    } else if (s.stage == RoutingStage::kLastEngineer && s.last_engineer != kNone) {
      GrowTargeted(s.last_engineer);
      f(s.last_engineer);
    }
  }

  // Makes targeted_[e] exist.
  void GrowTargeted(uint32_t e) {
    if (e >= targeted_.size()) targeted_.resize(e + 1, TargetSet(PoolAllocator<uint64_t>(&pool_)));
  }

  const int walk_before_indexing_;
  State* st_ = nullptr;
  // The nodes of the session classes' and targeted_'s trees (declared first: it outlives
  // them).
  NodePool pool_;
  std::vector<QueueIndex> queues_;
  // Per engineer: where it sits in the ready sets.
  std::vector<absl::InlinedVector<ReadyEntry, 4>> entries_;
  // Capabilities (sets of handled channels), interned; per channel, the capabilities that
  // include it; per engineer, its last capability.
  absl::flat_hash_map<std::vector<uint32_t>, uint32_t> capability_ids_;
  std::vector<std::vector<uint32_t>> capabilities_with_channel_;
  std::vector<std::pair<absl::InlinedVector<uint32_t, 8>, uint32_t>> capability_cache_;
  // Per channel: the lowest spare bucket in which an engineer can have room for it.
  std::vector<int> min_spare_;
  // Engineers changed since the ready sets were last brought up to date.
  std::vector<uint32_t> dirty_;
  std::vector<bool> dirty_flag_;
  // Per engineer: QUEUED sessions in a targeted stage naming it.
  std::vector<TargetSet> targeted_;
};

}  // namespace

std::unique_ptr<Matcher> MakeIndexedMatcher(int walk_before_indexing) {
  return std::make_unique<IndexedMatcher>(walk_before_indexing);
}

}  // namespace omniroute::internal
