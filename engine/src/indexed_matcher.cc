// The indexed matcher: finds the engineer for a session, and the session for an engineer,
// without scanning everyone. See docs/ARCHITECTURE.md ("Matching") for the complexity.
//
// Engineer side: per (queue, channel, level), the engineers available with room for one more
// session on that channel, sorted by the queue strategy's rank key. "Level" is the engineer's
// proficiency in the queue's primary skill (its first configured requirement), 0 to 5, so a
// session needing that skill at level L merges the buckets L..5 and never meets an engineer
// on the wrong channel, without room, or below the primary level. Routing a session walks the
// merged buckets from the best key and stops at the first engineers that pass the exact
// eligibility check (other skills, tier); targeted sessions (preferred / last engineer) look
// only at their targets.
//
// Session side: per queue, QUEUED sessions are grouped in *classes* of equal
// (requirements in force, channel, VIP minimum tier); within a class they are sorted by the
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
#include "state.h"

namespace omniroute::internal {
namespace {

struct RankEntry {
  RankKey key;
  uint32_t engineer;
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
  template <typename H>
  friend H AbslHashValue(H h, const ClassKey& k) {
    for (const Req& r : k.reqs) h = H::combine(std::move(h), r.skill, r.level);
    return H::combine(std::move(h), k.reqs.size(), k.channel, k.min_tier);
  }
};

struct SessionClass {
  ClassKey key;
  absl::btree_set<SessionKey> sessions;
  size_t nonempty_pos = 0;  // position in the queue's channel's `nonempty` list
};

inline constexpr int kLevels = 6;  // proficiency 0 (none) to 5
using ReadySet = absl::btree_set<RankEntry>;

struct QueueIndex {
  uint32_t primary_skill = kNone;
  // [channel][level]: engineers with room for one more session on the channel.
  std::vector<std::array<ReadySet, kLevels>> ready;
  std::vector<SessionClass> classes;
  absl::flat_hash_map<ClassKey, uint32_t> class_of;
  // [channel]: non-empty classes.
  std::vector<std::vector<uint32_t>> nonempty;

  ReadySet& Ready(uint32_t channel, int level) {
    if (channel >= ready.size()) ready.resize(channel + 1);
    return ready[channel][level];
  }
  std::vector<uint32_t>& Nonempty(uint32_t channel) {
    if (channel >= nonempty.size()) nonempty.resize(channel + 1);
    return nonempty[channel];
  }
};

// Where an engineer sits in one ready set.
struct ReadyEntry {
  uint32_t queue = 0;
  uint32_t channel = 0;
  int level = 0;
  RankKey key;
  friend bool operator==(const ReadyEntry&, const ReadyEntry&) = default;
};

class IndexedMatcher final : public Matcher {
 public:
  void Attach(State* state) override { st_ = state; }

  void EngineerChanged(uint32_t e) override {
    if (e >= entries_.size()) entries_.resize(e + 1);
    if (e >= targeted_.size()) targeted_.resize(e + 1);
    const EngineerState& eng = st_->engineers[e];
    absl::InlinedVector<ReadyEntry, 8> wanted;
    if (eng.live && eng.presence == Presence::kAvailable) {
      for (const Membership& m : eng.queues) {
        if (!st_->queues[m.queue].live) continue;
        const RankKey key = st_->Rank(eng, m.queue);
        const int level = LevelIn(eng, m.queue);
        for (const EngineerChannel& c : eng.channels) {
          if (eng.HasRoomFor(c.channel)) wanted.push_back({m.queue, c.channel, level, key});
        }
      }
    }
    auto& entries = entries_[e];
    if (wanted == entries) return;
    for (const ReadyEntry& r : entries) {
      if (std::find(wanted.begin(), wanted.end(), r) == wanted.end()) {
        Queue(r.queue).Ready(r.channel, r.level).erase(RankEntry{r.key, e});
      }
    }
    for (const ReadyEntry& r : wanted) {
      if (std::find(entries.begin(), entries.end(), r) == entries.end()) {
        Queue(r.queue).Ready(r.channel, r.level).insert(RankEntry{r.key, e});
      }
    }
    entries = std::move(wanted);
  }

  void QueueChanged(uint32_t q) override {
    // The strategy or the primary skill may have changed: take every engineer out of the
    // queue's ready sets and put the members back. Waiting sessions were taken out by the
    // engine before the change and are put back after it.
    QueueIndex& qi = Queue(q);
    for (auto& levels : qi.ready) {
      for (ReadySet& set : levels) {
        for (const RankEntry& r : set) {
          auto& entries = entries_[r.engineer];
          entries.erase(std::remove_if(entries.begin(), entries.end(),
                                       [q](const ReadyEntry& x) { return x.queue == q; }),
                        entries.end());
        }
        set.clear();
      }
    }
    const QueueState& queue = st_->queues[q];
    qi.primary_skill = kNone;
    if (!queue.live) return;
    if (!queue.config.requirements.empty()) {
      qi.primary_skill = st_->FindSkill(queue.config.requirements.front().skill.value());
    }
    for (uint32_t e : queue.members) EngineerChanged(e);
  }

  void SessionWaiting(Session& s) override {
    if (s.Targeted()) {
      s.index_targeted = true;
      ForEachTarget(s, [&](uint32_t e) { targeted_[e].insert(s.id); });
      return;
    }
    s.index_targeted = false;
    QueueIndex& qi = Queue(s.queue);
    ClassKey key{s.in_force, s.channel,
                 s.stage == RoutingStage::kVipTier ? static_cast<int>(st_->VipMinTier(s)) : 0};
    auto [it, inserted] = qi.class_of.try_emplace(key, static_cast<uint32_t>(qi.classes.size()));
    if (inserted) qi.classes.push_back(SessionClass{std::move(key), {}, 0});
    const uint32_t c = it->second;
    SessionClass& cls = qi.classes[c];
    if (cls.sessions.empty()) {
      std::vector<uint32_t>& nonempty = qi.Nonempty(s.channel);
      cls.nonempty_pos = nonempty.size();
      nonempty.push_back(c);
    }
    s.index_class = c;
    cls.sessions.insert(KeyOf(s));
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
      // Merge the level buckets the session accepts, best key first.
      QueueIndex& qi = Queue(s.queue);
      int min_level = 0;
      if (qi.primary_skill != kNone) {
        for (const Req& r : s.in_force) {
          if (r.skill == qi.primary_skill) min_level = r.level;
        }
      }
      struct Cursor {
        ReadySet::const_iterator it, end;
      };
      absl::InlinedVector<Cursor, kLevels> cursors;
      for (int level = min_level; level < kLevels; ++level) {
        const ReadySet& set = qi.Ready(s.channel, level);
        if (!set.empty()) cursors.push_back({set.begin(), set.end()});
      }
      while (static_cast<int>(choice.engineers.size()) < limit) {
        Cursor* best = nullptr;
        for (Cursor& c : cursors) {
          if (c.it != c.end && (best == nullptr || *c.it < *best->it)) best = &c;
        }
        if (best == nullptr) break;
        const uint32_t e = best->it->engineer;
        ++best->it;
        if (st_->Eligible(st_->engineers[e], s)) consider(e);
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
  int LevelIn(const EngineerState& e, uint32_t q) {
    const uint32_t primary = Queue(q).primary_skill;
    return primary == kNone ? 0 : e.SkillLevel(primary);
  }

  QueueIndex& Queue(uint32_t q) {
    if (q >= queues_.size()) queues_.resize(q + 1);
    return queues_[q];
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
        if (e >= targeted_.size()) targeted_.resize(e + 1);
        f(e);
      }
    } else if (s.stage == RoutingStage::kLastEngineer && s.last_engineer != kNone) {
      if (s.last_engineer >= targeted_.size()) targeted_.resize(s.last_engineer + 1);
      f(s.last_engineer);
    }
  }

  State* st_ = nullptr;
  std::vector<QueueIndex> queues_;
  // Per engineer: where it sits in the ready sets.
  std::vector<absl::InlinedVector<ReadyEntry, 8>> entries_;
  // Per engineer: QUEUED sessions in a targeted stage naming it.
  std::vector<absl::btree_set<uint64_t>> targeted_;
};

}  // namespace

std::unique_ptr<Matcher> MakeIndexedMatcher() { return std::make_unique<IndexedMatcher>(); }

}  // namespace omniroute::internal
