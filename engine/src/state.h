// Internal: the engine's state, shared by the state machine (engine.cc) and the matchers.
//
// Names (queue, engineer, skill, channel ids) are interned to dense indices once, when a
// command arrives; everything below works on indices. Nothing here is part of the public API.

#ifndef OMNIROUTE_ENGINE_SRC_STATE_H_
#define OMNIROUTE_ENGINE_SRC_STATE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "large_alloc.h"
#include "node_pool.h"
#include "omniroute/engine.h"
#include "omniroute/strategy.h"

namespace omniroute::internal {

inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

// A requirement on an interned skill.
struct Req {
  uint32_t skill = 0;
  int level = 1;
  friend bool operator==(const Req&, const Req&) = default;
  friend auto operator<=>(const Req&, const Req&) = default;
};
// Sorted by skill, one entry per skill.
using ReqSet = absl::InlinedVector<Req, 4>;

struct ChannelState {
  ChannelSpec spec;
};

struct RelaxStep {
  int64_t after_us = 0;
  RelaxAction action = RelaxAction::kLowerLevel;
  uint32_t skill = kNone;  // kNone: every requirement (kLowerLevel only)
  int level = 1;
};

struct QueueState {
  uint32_t index = 0;
  bool live = false;
  QueueConfig config;
  std::unique_ptr<Strategy> strategy;
  std::string strategy_name;
  ReqSet base_reqs;
  std::vector<RelaxStep> relax;  // sorted by after_us
  uint32_t overflow_target = kNone;
  int64_t ageing_us = 0;
  std::vector<std::pair<uint32_t, int>> channel_limits;  // channel -> max waiting
  // A customer rule (QueueConfig::tag_rules) with its skill interned and its texts made.
  struct InternedTagRule {
    std::string tag;
    int boost = 0;
    std::optional<Req> req;
    int min_vip_level = 0;
    std::string language;
    int min_tier = 0;  // 0: none, else a Tier value
    std::string label;        // the rule's name, or one derived from its conditions
    std::string description;  // label and actions, for the SESSION_CREATED event
  };
  std::vector<InternedTagRule> tag_rules;
  // Engineers serving this queue, in registration order.
  std::vector<uint32_t> members;
  // Assignments this queue has made; the round-robin strategy ranks on it.
  uint64_t assignment_counter = 0;
  // Counters. `waiting_by_channel` counts QUEUED and OFFERED sessions per channel index.
  int queued = 0;
  int offered = 0;
  std::vector<int> waiting_by_channel;
  // QUEUED sessions by (waiting since, id): the oldest wait for statistics. Its nodes come
  // from State::node_pool (see State::NewQueue).
  using WaitingOrder =
      absl::btree_set<std::pair<int64_t, uint64_t>, std::less<std::pair<int64_t, uint64_t>>,
                      PoolAllocator<std::pair<int64_t, uint64_t>>>;
  WaitingOrder waiting_order;
};

// A small sorted set of session ids: an engineer holds a handful at most, so a sorted
// inline array beats a tree (no allocation, one cache line).
class SessionIdSet {
 public:
  void insert(uint64_t id) {
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (it == ids_.end() || *it != id) ids_.insert(it, id);
  }
  void erase(uint64_t id) {
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    if (it != ids_.end() && *it == id) ids_.erase(it);
  }
  bool contains(uint64_t id) const { return std::binary_search(ids_.begin(), ids_.end(), id); }
  bool empty() const { return ids_.empty(); }
  size_t size() const { return ids_.size(); }
  auto begin() const { return ids_.begin(); }
  auto end() const { return ids_.end(); }

 private:
  absl::InlinedVector<uint64_t, 4> ids_;
};

struct EngineerChannel {
  uint32_t channel = 0;
  int max = 0;
  int cost = 0;
  int active = 0;  // held or reserved
};

struct Membership {
  uint32_t queue = 0;
  uint64_t last_assignment = 0;  // the queue's assignment counter at the last assignment
};

struct EngineerState {
  uint32_t index = 0;  // also the registration order
  bool live = false;
  EngineerConfig config;
  absl::InlinedVector<Req, 8> skills;                // sorted by skill
  absl::InlinedVector<EngineerChannel, 6> channels;  // sorted by channel
  absl::InlinedVector<Membership, 4> queues;         // sorted by queue
  Presence presence = Presence::kOffline;
  std::string reason;
  absl::Time presence_since;
  int64_t idle_since_us = 0;
  int used_budget = 0;
  int missed_in_row = 0;
  SessionIdSet sessions;     // held (assigned, wrap-up) or directly offered
  SessionIdSet grab_offers;  // grab offers this engineer sees
  // Timer for the end of a presence wrap-up.
  int64_t timer_at = 0;
  uint64_t timer_seq = 0;

  int SkillLevel(uint32_t skill) const {
    for (const Req& r : skills) {
      if (r.skill == skill) return r.level;
      if (r.skill > skill) break;
    }
    return 0;
  }
  const EngineerChannel* Channel(uint32_t channel) const {
    for (const EngineerChannel& c : channels) {
      if (c.channel == channel) return &c;
    }
    return nullptr;
  }
  EngineerChannel* Channel(uint32_t channel) {
    for (EngineerChannel& c : channels) {
      if (c.channel == channel) return &c;
    }
    return nullptr;
  }
  const Membership* Member(uint32_t queue) const {
    for (const Membership& m : queues) {
      if (m.queue == queue) return &m;
    }
    return nullptr;
  }
  bool ServesQueue(uint32_t queue) const { return Member(queue) != nullptr; }
  // Can take one more session on `channel` now, capacity-wise.
  bool HasRoomFor(uint32_t channel) const {
    const EngineerChannel* c = Channel(channel);
    return c != nullptr && c->active < c->max && config.budget - used_budget >= c->cost;
  }
  // Routable at all: available and room for some channel.
  bool Ready() const {
    if (!live || presence != Presence::kAvailable) return false;
    for (const EngineerChannel& c : channels) {
      if (c.active < c.max && config.budget - used_budget >= c.cost) return true;
    }
    return false;
  }
};

enum class TimerKind : uint8_t {
  kSessionRouting = 1,  // stage end, relaxation step or overflow of a QUEUED session
  kOfferExpiry = 2,
  kGrabWindow = 3,
  kWrapUpEnd = 4,
  kPurge = 5,        // forget a finished session
  kPresenceEnd = 6,  // engineer's presence wrap-up ends
  kWindowOpen = 7,   // a SCHEDULED appointment's window opens
};

struct Timer {
  int64_t at_us = 0;
  uint64_t seq = 0;
  TimerKind kind = TimerKind::kSessionRouting;
  uint64_t target = 0;  // session slot, or engineer index for kPresenceEnd
  friend bool operator<(const Timer& a, const Timer& b) {
    if (a.at_us != b.at_us) return a.at_us < b.at_us;
    return a.seq < b.seq;
  }
};

// Pending timers: a binary min-heap on (due time, sequence). Cancelling a timer only marks
// it stale (its owner forgets the sequence number); stale entries are skipped when they reach
// the top, and the heap is rebuilt when they outnumber the live ones. This keeps setting and
// cancelling a timer at one cheap heap push, where an ordered tree would pay two.
class TimerQueue {
 public:
  void Push(const Timer& t) {
    heap_.push_back(t);
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }
  // Room for `n` entries in all, so that pushing that many allocates once.
  void Reserve(size_t n) { heap_.reserve(n); }
  // One entry went stale.
  void Cancelled() { ++stale_; }
  bool empty() const { return heap_.empty(); }
  const Timer& top() const { return heap_.front(); }
  void Pop() {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    heap_.pop_back();
  }
  // A stale entry was popped.
  void StalePopped() { --stale_; }
  size_t stale() const { return stale_; }
  size_t size() const { return heap_.size(); }
  // Drops stale entries from the top, and rebuilds without them when they are many.
  template <typename Live>
  void Tidy(Live live) {
    while (!heap_.empty() && !live(heap_.front())) {
      Pop();
      StalePopped();
    }
    if (stale_ > 1024 && stale_ * 2 > heap_.size()) {
      std::erase_if(heap_, [&live](const Timer& t) { return !live(t); });
      std::make_heap(heap_.begin(), heap_.end(), Later());
      stale_ = 0;
    }
  }
  // The live timers in firing order.
  template <typename Live>
  std::vector<Timer> Sorted(Live live) const {
    std::vector<Timer> out;
    for (const Timer& t : heap_) {
      if (live(t)) out.push_back(t);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  // A function object rather than a function, so that the heap algorithms inline it.
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const { return b < a; }
  };
  std::vector<Timer, LargeAllocator<Timer>> heap_;
  size_t stale_ = 0;
};

struct Claim {
  uint32_t engineer = 0;
  uint64_t seq = 0;  // claim order
};

struct Session {
  uint64_t id = 0;
  uint32_t slot = 0;  // where it lives in State's session slab
  uint32_t channel = 0;
  uint32_t queue = 0;
  CustomerSnapshot customer;
  std::vector<Requirement> configured;  // for display
  ReqSet session_reqs;                  // the session's own + tag rule requirements
  ReqSet base;                          // merged with the queue's
  ReqSet in_force;                      // after relaxation
  int base_priority = 0;                // as created (plus escalation boosts)
  int priority = 0;  // plus rule boosts of the current queue (and its appointment priority)
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string intent;
  std::string bot_summary;
  SessionState state = SessionState::kQueued;
  RoutingStage stage = RoutingStage::kQueue;
  int relax_step = 0;
  // Matcher bookkeeping (the indexed matcher's; others may ignore it). Here rather than
  // with `index_targeted` below: it fills what would be padding.
  uint32_t index_class = kNone;
  absl::Time created_at;
  int64_t waiting_since_us = 0;
  int64_t queue_entered_us = 0;
  // Targeted stages: engineers (indices) and how long each stage lasts from queue entry.
  absl::InlinedVector<uint32_t, 2> preferred;
  uint32_t last_engineer = kNone;
  bool vip = false;
  bool overflowed = false;       // targeted stages no longer apply
  bool transfer_target = false;  // `preferred` holds a transfer target
  int64_t transfer_timeout_us = 0;
  // Offer / assignment.
  uint32_t engineer = kNone;  // direct offer, assigned or wrap-up
  int cost_taken = 0;
  absl::InlinedVector<uint32_t, 4> grab_offered;  // still pending
  absl::InlinedVector<Claim, 1> claims;           // rarely more than one: keep Session small
  absl::InlinedVector<uint32_t, 2> declined;
  // Customer rules of the current queue that matched (labels, in rule order), and the
  // highest minimum tier among them (0: none, else a Tier value).
  std::vector<std::string> rules_applied;
  int min_tier = 0;
  // A booked appointment's window (InfinitePast: not an appointment).
  absl::Time window_start = absl::InfinitePast();
  absl::Time window_end = absl::InfinitePast();
  // When the session was last assigned (InfinitePast: never).
  absl::Time assigned_at = absl::InfinitePast();
  std::string callback_number;  // empty: not a callback
  // The one timer of this session.
  int64_t timer_at = 0;
  uint64_t timer_seq = 0;
  TimerKind timer_kind = TimerKind::kSessionRouting;
  bool index_targeted = false;  // matcher bookkeeping, with `index_class`

  bool appointment() const { return window_start != absl::InfinitePast(); }

  bool Declined(uint32_t e) const {
    for (uint32_t d : declined) {
      if (d == e) return true;
    }
    return false;
  }
  // Engineers the current stage allows; empty span for kQueue / kVipTier.
  bool Targeted() const {
    return stage == RoutingStage::kPreferred || stage == RoutingStage::kLastEngineer;
  }
  // A target who declined the session is no longer a target: the customer's favourite said
  // no, so the session moves on rather than coming straight back to them.
  bool TargetAllows(uint32_t e) const {
    if (stage == RoutingStage::kPreferred) {
      for (uint32_t p : preferred) {
        if (p == e) return !Declined(e);
      }
      return false;
    }
    if (stage == RoutingStage::kLastEngineer) return last_engineer == e && !Declined(e);
    return true;
  }
};

// The sessions, by slot. A session never moves while it lives (its address and slot are
// stable), like in a std::deque, but the slots come in chunks of a few megabytes on huge pages
// (large_alloc.h) instead of one allocation per session: a million sessions are a few hundred
// allocations and page faults, not millions. The first few slots come from a small chunk of
// ordinary memory, so that a small engine stays small.
class SessionSlab {
 public:
  SessionSlab() = default;
  SessionSlab(const SessionSlab&) = delete;
  SessionSlab& operator=(const SessionSlab&) = delete;
  ~SessionSlab();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Session& operator[](size_t slot) { return *Locate(slot); }
  const Session& operator[](size_t slot) const { return *Locate(slot); }
  // Adds a default-constructed session in the next slot.
  Session& emplace_back() {
    if (size_ == capacity_) Grow();
    Session* s = ::new (static_cast<void*>(Locate(size_))) Session();
    ++size_;
    return *s;
  }

 private:
  static constexpr size_t kSmallSlots = 64;
  static constexpr size_t kChunkBytes = size_t{4} << 20;
  static constexpr size_t kChunkSlots = kChunkBytes / sizeof(Session);

  Session* Locate(size_t slot) const {
    if (slot < kSmallSlots) return chunks_[0] + slot;
    slot -= kSmallSlots;
    return chunks_[1 + slot / kChunkSlots] + slot % kChunkSlots;
  }
  void Grow();

  std::vector<Session*> chunks_;  // [0]: kSmallSlots, then kChunkSlots each
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// The interned form of a customer rule (skill interned with `intern`, texts derived).
QueueState::InternedTagRule InternTagRule(const TagRule& rule,
                                          const std::function<uint32_t(const std::string&)>& intern);
// Whether the rule's conditions hold for `customer`.
bool RuleMatches(const QueueState::InternedTagRule& rule, const CustomerSnapshot& customer);
// The label a rule is known by: its name, or "tag=...", "vip>=N", "lang=..." joined by '&'.
std::string RuleLabel(const TagRule& rule);

// Ranking of one session against another for a freed engineer, at time `now`.
// Returns <0 when `a` goes first.
int CompareSessions(const Session& a, int64_t ageing_a, const Session& b, int64_t ageing_b,
                    int64_t now_us);
// Compares effective priority only (exactly). Returns <0 when `a`'s is higher.
int CompareEffectivePriority(const Session& a, int64_t ageing_a, const Session& b, int64_t ageing_b,
                             int64_t now_us);
// Effective priority in thousandths of a point.
int64_t EffectivePriorityMilli(const Session& s, int64_t ageing_us, int64_t now_us);

// The result of asking a matcher for engineers.
struct EngineerChoice {
  std::vector<uint32_t> engineers;  // best first
  bool declined_fallback = false;   // only engineers who declined were eligible
};

// The result of asking a matcher for a session.
struct SessionChoice {
  Session* session = nullptr;
  Session* runner_up = nullptr;
};

class State;

// Finds engineers for sessions and sessions for engineers. The state machine tells it of
// every change that may matter; an implementation may index, or may scan the state.
class Matcher {
 public:
  virtual ~Matcher() = default;
  // Starts serving `state`, forgetting everything learned from any state before (a snapshot
  // load re-attaches the engine's matcher to the loaded state, then tells it of every queue,
  // engineer and QUEUED session).
  virtual void Attach(State* state) = 0;
  // The engineer's presence, load, rank inputs, skills, channels or queues changed (or it
  // was added or removed).
  virtual void EngineerChanged(uint32_t engineer) = 0;
  // A queue was added, reconfigured (strategy, ageing) or removed.
  virtual void QueueChanged(uint32_t queue) = 0;
  // The session became QUEUED, or its queue, stage, requirements or priority changed while
  // QUEUED. Called after the change.
  virtual void SessionWaiting(Session& session) = 0;
  // Many sessions are QUEUED at once (a snapshot load, after Attach and the engineers and
  // queues), in slot order. The same as SessionWaiting on each in turn, which is what the
  // default does; an implementation may build its indexes in bulk.
  virtual void SessionsWaiting(absl::Span<Session* const> sessions) {
    for (Session* s : sessions) SessionWaiting(*s);
  }
  // The session is leaving QUEUED. Called before anything about it changes.
  virtual void SessionLeaving(Session& session) = 0;
  // Up to `limit` eligible engineers for a QUEUED session, best first: those who have not
  // declined it, or if there are none, those who have.
  virtual EngineerChoice FindEngineers(const Session& session, int limit) = 0;
  // The best QUEUED session `engineer` is eligible for, and the runner-up.
  virtual SessionChoice FindSession(uint32_t engineer) = 0;
};

// `walk_before_indexing`: after a walk for a session went past more engineers than this, the
// queue also indexes another skill the session requires (see indexed_matcher.cc). Tests
// lower it to exercise those indexes on small centres.
inline constexpr int kDefaultWalkBeforeIndexing = 16;
std::unique_ptr<Matcher> MakeIndexedMatcher(int walk_before_indexing = kDefaultWalkBeforeIndexing);

// Everything the engine holds.
class State {
 public:
  // `matcher` may be null (a state being loaded from a snapshot gets its matcher last).
  explicit State(EngineOptions options, std::unique_ptr<Matcher> matcher);

  EngineOptions options;
  std::unique_ptr<Matcher> matcher;

  int64_t now_us = 0;
  uint64_t event_seq = 0;
  uint64_t timer_seq = 0;
  uint64_t claim_seq = 0;
  uint64_t next_session_id = 1;

  // Nodes of the queues' waiting orders. Declared before `queues`, so that it outlives them.
  NodePool node_pool;

  std::vector<ChannelState> channels;
  absl::flat_hash_map<std::string, uint32_t> channel_index;
  std::vector<std::string> skill_names;
  absl::flat_hash_map<std::string, uint32_t> skill_index;
  std::vector<QueueState> queues;
  absl::flat_hash_map<std::string, uint32_t> queue_index;
  // Appends a queue (index and waiting order set up, nothing else).
  QueueState& NewQueue();
  std::vector<EngineerState, LargeAllocator<EngineerState>> engineers;
  absl::flat_hash_map<std::string, uint32_t> engineer_index;
  // Sessions live in a slab whose slots are reused after a finished session is purged, so a
  // Session's address is stable for its whole life and a timer can name its slot.
  SessionSlab session_slab;
  std::vector<uint32_t> free_slots;
  absl::flat_hash_map<uint64_t, uint32_t, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                      LargeAllocator<std::pair<const uint64_t, uint32_t>>>
      session_slot;  // id -> slot
  size_t session_count() const { return session_slot.size(); }
  Session& NewSession(uint64_t id);
  void DropSession(Session& s);
  template <typename F>
  void ForEachSession(F f) {
    for (const auto& [id, slot] : session_slot) f(session_slab[slot]);
  }
  template <typename F>
  void ForEachSession(F f) const {
    for (const auto& [id, slot] : session_slot) f(session_slab[slot]);
  }
  TimerQueue timers;
  // The timer is still the current one of its session or engineer.
  bool TimerLive(const Timer& t) const;
  void TidyTimers() {
    timers.Tidy([this](const Timer& t) { return TimerLive(t); });
  }

  // Lookups: kNone when unknown (or removed).
  uint32_t FindQueue(const std::string& id) const;
  uint32_t FindEngineer(const std::string& id) const;
  uint32_t FindChannel(const std::string& id) const;
  uint32_t FindSkill(const std::string& id) const;  // kNone if never seen
  uint32_t InternSkill(const std::string& id);
  Session* FindSession(uint64_t id);
  const Session* FindSession(uint64_t id) const;

  RankInput RankInputFor(const EngineerState& e, uint32_t queue) const;
  RankKey Rank(const EngineerState& e, uint32_t queue) const {
    return queues[queue].strategy->Rank(RankInputFor(e, queue));
  }
  // The engineer meets every requirement in force, the stage's restriction and has room on
  // the session's channel; presence and queue membership are checked too.
  bool Eligible(const EngineerState& e, const Session& s) const;
  bool MeetsRequirements(const EngineerState& e, const ReqSet& reqs) const;
  Tier VipMinTier(const Session& s) const { return queues[s.queue].config.vip_min_tier; }
  // The lowest tier an engineer must have to be offered `s` now: the session's minimum tier
  // (customer rules), and in the VIP stage the queue's VIP tier. 0: any tier.
  int RequiredTier(const Session& s) const {
    int tier = s.min_tier;
    if (s.stage == RoutingStage::kVipTier) tier = std::max(tier, static_cast<int>(VipMinTier(s)));
    return tier;
  }
};

}  // namespace omniroute::internal

#endif  // OMNIROUTE_ENGINE_SRC_STATE_H_
