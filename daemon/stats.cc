// The statistics book: see stats.h for what is counted and how.

#include "daemon/stats.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "daemon/convert.h"

namespace omniroute::daemon {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// The whole second `us` lies in (rounded towards negative infinity).
int64_t SecondOf(int64_t us) {
  return us >= 0 ? us / kMicrosPerSecond : -((-us + kMicrosPerSecond - 1) / kMicrosPerSecond);
}

// BOT, QUEUED or OFFERED: what the daemon's max_waiting_sessions limit counts.
bool IsWaiting(SessionState s) {
  return s == SessionState::kBot || s == SessionState::kQueued || s == SessionState::kOffered;
}

// Waiting in a queue (not with the bot): an abandonment there counts against the queue.
bool IsInQueue(SessionState s) { return s == SessionState::kQueued || s == SessionState::kOffered; }

// A first-in first-out list on one vector: appends at the back, drops at the front in
// amortised O(1) (the dropped prefix is compacted away once it is half the vector), and
// costs nothing but the vector while empty, unlike std::deque whose empty state allocates.
template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  const T& operator[](size_t i) const { return items_[head_ + i]; }
  T& back() { return items_.back(); }
  const T& back() const { return items_.back(); }
  const T& front() const { return items_[head_]; }
  void push_back(const T& item) { items_.push_back(item); }
  void pop_front() {
    ++head_;
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= kCompactAt && head_ * 2 >= items_.size()) {
      Compact();
    }
  }
  // Gives back the memory an idle list no longer needs.
  void Trim() {
    if (empty()) {
      std::vector<T>().swap(items_);
      head_ = 0;
      return;
    }
    Compact();
    if (items_.capacity() > 2 * items_.size() + 8) items_.shrink_to_fit();
  }

 private:
  static constexpr size_t kCompactAt = 16;
  void Compact() {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  std::vector<T> items_;
  size_t head_ = 0;
};

struct QueueCounts {
  int64_t entered = 0;
  int64_t answered = 0;
  int64_t answered_in_threshold = 0;
  int64_t abandoned = 0;
  int64_t overflowed = 0;
  int64_t wait_us = 0;  // total wait of the answered
  int64_t appointments_in_window = 0;  // booked sessions answered by their window's end
  int64_t appointments_late = 0;       // booked sessions answered after it
  int64_t callbacks_requested = 0;

  QueueCounts& operator+=(const QueueCounts& o) {
    entered += o.entered;
    answered += o.answered;
    answered_in_threshold += o.answered_in_threshold;
    abandoned += o.abandoned;
    overflowed += o.overflowed;
    wait_us += o.wait_us;
    appointments_in_window += o.appointments_in_window;
    appointments_late += o.appointments_late;
    callbacks_requested += o.callbacks_requested;
    return *this;
  }
};

struct AgentCounts {
  int64_t offers = 0;
  int64_t accepted = 0;
  int64_t rejected = 0;
  int64_t expired = 0;
  int64_t claimed = 0;
  int64_t assigned = 0;
  int64_t completed = 0;
  int64_t transferred = 0;
  int64_t handle_us = 0;   // total handle time of the completed
  int64_t wrap_up_us = 0;  // total wrap-up time of the completed

  AgentCounts& operator+=(const AgentCounts& o) {
    offers += o.offers;
    accepted += o.accepted;
    rejected += o.rejected;
    expired += o.expired;
    claimed += o.claimed;
    assigned += o.assigned;
    completed += o.completed;
    transferred += o.transferred;
    handle_us += o.handle_us;
    wrap_up_us += o.wrap_up_us;
    return *this;
  }
};

// Counters in one-second buckets, ascending by second; only seconds with activity exist.
template <typename Counts>
class Series {
 public:
  // The bucket of `second` (the engine's time never runs backwards, so it is the last one or
  // a new one). A new bucket also drops the buckets at or before `cutoff_us`.
  Counts& At(int64_t second, int64_t cutoff_us) {
    if (buckets_.empty() || buckets_.back().second < second) {
      buckets_.push_back(Bucket{second, Counts()});
      Prune(cutoff_us);
    }
    return buckets_.back().counts;
  }

  // Drops the buckets whose second is at or before `cutoff_us`: no window reaches them.
  void Prune(int64_t cutoff_us) {
    while (!buckets_.empty() && buckets_.front().second * kMicrosPerSecond <= cutoff_us) {
      buckets_.pop_front();
    }
  }

  void Trim() { buckets_.Trim(); }
  size_t size() const { return buckets_.size(); }

  // The buckets whose second lies in (start_us, now_us].
  Counts Sum(int64_t start_us, int64_t now_us) const {
    Counts total;
    for (size_t i = buckets_.size(); i-- > 0;) {
      const Bucket& b = buckets_[i];
      const int64_t t = b.second * kMicrosPerSecond;
      if (t <= start_us) break;
      if (t <= now_us) total += b.counts;
    }
    return total;
  }

 private:
  struct Bucket {
    int64_t second;
    Counts counts;
  };
  Fifo<Bucket> buckets_;
};

struct PresenceChange {
  int64_t at_us;
  Presence presence;
};

// Presence values are 1..4; index 0 is unused.
constexpr size_t kPresenceSlots = 5;

size_t PresenceSlot(Presence p) {
  const auto i = static_cast<size_t>(p);
  return i < kPresenceSlots ? i : 0;
}

}  // namespace

struct StatsBook::QueueBook {
  int64_t threshold_us = 0;  // service_level_threshold in force
  bool grab = false;         // delivery mode in force is grab
  Series<QueueCounts> counts;
  // Live: tracked sessions of this queue now SCHEDULED, and callbacks now QUEUED or OFFERED.
  int32_t scheduled = 0;
  int32_t callbacks_waiting = 0;

  int32_t& Live(LiveKind kind) {
    return kind == LiveKind::kScheduled ? scheduled : callbacks_waiting;
  }

  void Configure(const QueueConfig& config) {
    threshold_us = absl::ToInt64Microseconds(config.service_level_threshold);
    grab = config.delivery == DeliveryMode::kGrab;
  }
};

struct StatsBook::AgentBook {
  Series<AgentCounts> counts;
  // Ascending by time; the first one is in force at (or before) now - max_window.
  Fifo<PresenceChange> presence;

  void SetPresence(int64_t at_us, Presence p, int64_t cutoff_us) {
    if (!presence.empty()) at_us = std::max(at_us, presence.back().at_us);
    presence.push_back(PresenceChange{at_us, p});
    PrunePresence(cutoff_us);
  }

  // Keeps the change in force at `cutoff_us` and those after it.
  void PrunePresence(int64_t cutoff_us) {
    while (presence.size() >= 2 && presence[1].at_us <= cutoff_us) presence.pop_front();
  }
};

StatsBook::StatsBook(absl::Duration max_window)
    : max_window_us_(std::max(kMicrosPerSecond, absl::ToInt64Microseconds(max_window))),
      sweep_period_us_(std::max(kMicrosPerSecond, max_window_us_ / 16)),
      next_sweep_us_(INT64_MIN) {}

StatsBook::~StatsBook() = default;

StatsBook::QueueBook* StatsBook::QueueBookFor(const QueueId& id, const Engine& engine) {
  if (auto it = queues_.find(id); it != queues_.end()) return it->second.get();
  if (id.empty()) return nullptr;
  std::optional<QueueInfo> info = engine.GetQueue(id);
  if (!info.has_value()) return nullptr;
  auto book = std::make_unique<QueueBook>();
  book->Configure(info->config);
  QueueBook* out = book.get();
  queues_.emplace(id, std::move(book));
  return out;
}

StatsBook::AgentBook* StatsBook::AgentBookFor(const EngineerId& id, const Engine& engine) {
  if (auto it = agents_.find(id); it != agents_.end()) return it->second.get();
  if (id.empty()) return nullptr;
  std::optional<EngineerInfo> info = engine.GetEngineer(id);
  if (!info.has_value()) return nullptr;
  auto book = std::make_unique<AgentBook>();
  book->presence.push_back(PresenceChange{Micros(info->presence_since), info->presence});
  AgentBook* out = book.get();
  agents_.emplace(id, std::move(book));
  return out;
}

void StatsBook::Sweep(int64_t now_us) {
  const int64_t cutoff_us = now_us - max_window_us_;
  for (auto& [id, book] : queues_) {
    book->counts.Prune(cutoff_us);
    book->counts.Trim();
  }
  for (auto& [id, book] : agents_) {
    book->counts.Prune(cutoff_us);
    book->counts.Trim();
    book->PrunePresence(cutoff_us);
    book->presence.Trim();
  }
}

StatsBook::LiveKind StatsBook::LiveKindOf(SessionState state, bool callback) {
  if (state == SessionState::kScheduled) return LiveKind::kScheduled;
  if (callback && IsInQueue(state)) return LiveKind::kCallbackWaiting;
  return LiveKind::kNone;
}

void StatsBook::SetLive(SessionTrack& track, LiveKind kind, const QueueId& queue,
                        const Engine& engine) {
  if (track.live == kind && (kind == LiveKind::kNone || track.live_queue == queue)) return;
  if (track.live != LiveKind::kNone) {
    if (auto it = queues_.find(track.live_queue); it != queues_.end()) {
      --it->second->Live(track.live);
    }
  }
  track.live = LiveKind::kNone;
  track.live_queue = QueueId();
  if (kind == LiveKind::kNone) return;
  if (QueueBook* q = QueueBookFor(queue, engine)) {
    ++q->Live(kind);
    track.live = kind;
    track.live_queue = queue;
  }
}

void StatsBook::AdoptSessions(const Engine& engine) {
  adopted_ = true;
  for (SessionId id : engine.ListSessions()) {
    if (sessions_.contains(id.value())) continue;
    std::optional<SessionInfo> info = engine.GetSession(id);
    if (!info.has_value() || IsTerminal(info->state)) continue;
    SessionTrack& track = sessions_[id.value()];
    track.last = info->state;
    track.callback = !info->callback_number.empty();
    if (IsWaiting(info->state)) ++waiting_;
    SetLive(track, LiveKindOf(info->state, track.callback), info->queue, engine);
  }
}

void StatsBook::Observe(const Event& event, const Engine& engine) {
  if (!adopted_) AdoptSessions(engine);
  const int64_t now_us = Micros(event.at);
  if (now_us >= next_sweep_us_) {
    Sweep(now_us);
    next_sweep_us_ = now_us + sweep_period_us_;
  }
  switch (event.type) {
    case EventType::kChannelUpserted:
      return;
    case EventType::kQueueUpserted: {
      std::optional<QueueInfo> info = engine.GetQueue(event.queue);
      if (!info.has_value()) return;
      std::unique_ptr<QueueBook>& book = queues_[event.queue];
      if (book == nullptr) book = std::make_unique<QueueBook>();
      book->Configure(info->config);
      return;
    }
    case EventType::kQueueRemoved:
      queues_.erase(event.queue);
      return;
    case EventType::kEngineerUpserted: {
      auto [it, created] = agents_.try_emplace(event.engineer);
      if (created) {
        // A new agent: OFFLINE (the event's presence) from now.
        it->second = std::make_unique<AgentBook>();
        it->second->presence.push_back(PresenceChange{now_us, event.presence});
      }
      return;
    }
    case EventType::kEngineerRemoved:
      agents_.erase(event.engineer);
      return;
    case EventType::kPresenceChanged:
      if (AgentBook* a = AgentBookFor(event.engineer, engine)) {
        a->SetPresence(now_us, event.presence, now_us - max_window_us_);
      }
      return;
    default:
      ObserveSession(event, engine);
      return;
  }
}

void StatsBook::ObserveSession(const Event& event, const Engine& engine) {
  const int64_t now_us = Micros(event.at);
  const int64_t second = SecondOf(now_us);
  const int64_t cutoff_us = now_us - max_window_us_;
  const bool finished = IsTerminal(event.state);

  auto it = sessions_.find(event.session.value());
  const bool known = it != sessions_.end();
  const SessionState before = known ? it->second.last : event.state;
  if (!known && !finished) it = sessions_.try_emplace(event.session.value()).first;
  SessionTrack* track = it != sessions_.end() ? &it->second : nullptr;

  auto queue_counts = [&](const QueueId& id) -> QueueCounts* {
    QueueBook* q = QueueBookFor(id, engine);
    return q == nullptr ? nullptr : &q->counts.At(second, cutoff_us);
  };
  auto agent_counts = [&](const EngineerId& id) -> AgentCounts* {
    AgentBook* a = AgentBookFor(id, engine);
    return a == nullptr ? nullptr : &a->counts.At(second, cutoff_us);
  };

  switch (event.type) {
    case EventType::kSessionCreated:
      if (event.state == SessionState::kQueued) {
        if (QueueCounts* c = queue_counts(event.queue)) ++c->entered;
      }
      break;
    case EventType::kSessionWindowOpened:
      if (QueueCounts* c = queue_counts(event.queue)) ++c->entered;
      break;
    case EventType::kCallbackRequested:
      if (QueueCounts* c = queue_counts(event.queue)) ++c->callbacks_requested;
      if (track != nullptr) track->callback = true;
      break;
    case EventType::kSessionEscalated:
      if (QueueCounts* c = queue_counts(event.to_queue.empty() ? event.queue : event.to_queue)) {
        ++c->entered;
      }
      break;
    case EventType::kSessionOverflowed:
      if (QueueCounts* c = queue_counts(event.queue)) ++c->overflowed;
      if (!event.to_queue.empty()) {
        if (QueueCounts* c = queue_counts(event.to_queue)) ++c->entered;
      }
      break;
    case EventType::kSessionTransferred:
      if (QueueCounts* c = queue_counts(event.to_queue)) ++c->entered;
      if (AgentCounts* c = agent_counts(event.engineer)) ++c->transferred;
      if (track != nullptr) {
        track->assigned_us = -1;
        track->wrap_up_us = -1;
        track->agent = EngineerId();
      }
      break;
    case EventType::kOfferCreated:
      if (AgentCounts* c = agent_counts(event.engineer)) ++c->offers;
      if (track != nullptr) {
        const QueueBook* q = QueueBookFor(event.queue, engine);
        track->grab_offer = q != nullptr && q->grab;
      }
      break;
    case EventType::kOfferAccepted:
      if (AgentCounts* c = agent_counts(event.engineer)) ++c->accepted;
      break;
    case EventType::kOfferRejected:
      if (AgentCounts* c = agent_counts(event.engineer)) ++c->rejected;
      break;
    case EventType::kOfferExpired:
      if (track == nullptr || !track->grab_offer) {
        if (AgentCounts* c = agent_counts(event.engineer)) ++c->expired;
      }
      break;
    case EventType::kOfferClaimed:
      if (AgentCounts* c = agent_counts(event.engineer)) ++c->claimed;
      break;
    case EventType::kSessionAssigned: {
      if (QueueBook* q = QueueBookFor(event.queue, engine)) {
        // The session was just assigned by this very call: the engine still has it.
        std::optional<SessionInfo> info = engine.GetSession(event.session);
        const int64_t wait_us =
            info.has_value() ? std::max<int64_t>(0, now_us - Micros(info->waiting_since)) : 0;
        QueueCounts& c = q->counts.At(second, cutoff_us);
        ++c.answered;
        if (wait_us <= q->threshold_us) ++c.answered_in_threshold;
        c.wait_us += wait_us;
        if (info.has_value() && info->window_end != absl::InfinitePast() &&
            info->window_end != absl::InfiniteFuture()) {
          ++(event.at <= info->window_end ? c.appointments_in_window : c.appointments_late);
        }
      }
      if (AgentCounts* c = agent_counts(event.engineer)) ++c->assigned;
      if (track != nullptr) {
        track->assigned_us = now_us;
        track->wrap_up_us = -1;
        track->agent = event.engineer;
      }
      break;
    }
    case EventType::kSessionWrapUp:
      if (track != nullptr) track->wrap_up_us = now_us;
      break;
    case EventType::kSessionCompleted:
      if (track != nullptr && track->assigned_us >= 0) {
        const EngineerId& agent = track->agent.empty() ? event.engineer : track->agent;
        if (AgentCounts* c = agent_counts(agent)) {
          const int64_t handle_end = track->wrap_up_us >= 0 ? track->wrap_up_us : now_us;
          ++c->completed;
          c->handle_us += handle_end - track->assigned_us;
          c->wrap_up_us += track->wrap_up_us >= 0 ? now_us - track->wrap_up_us : 0;
        }
      }
      break;
    case EventType::kSessionAbandoned:
      if (known && IsInQueue(before)) {
        if (QueueCounts* c = queue_counts(event.queue)) ++c->abandoned;
      }
      break;
    default:
      break;
  }

  const bool was_waiting = known && IsWaiting(before);
  const bool is_waiting = !finished && IsWaiting(event.state);
  if (finished) {
    if (known) {
      SetLive(*track, LiveKind::kNone, QueueId(), engine);
      sessions_.erase(it);
    }
  } else {
    track->last = event.state;
    // Where the session is after the event: a move (escalation elsewhere, transfer, overflow)
    // names the queue entered in `to_queue`.
    SetLive(*track, LiveKindOf(event.state, track->callback),
            event.to_queue.empty() ? event.queue : event.to_queue, engine);
  }
  waiting_ += static_cast<int64_t>(is_waiting) - static_cast<int64_t>(was_waiting);
}

absl::StatusOr<v1::QueueStats> StatsBook::QueueStats(const Engine& engine, const QueueId& queue,
                                                     absl::Time now, absl::Duration window) const {
  std::optional<QueueInfo> info = engine.GetQueue(queue);
  if (!info.has_value()) {
    return absl::NotFoundError(absl::StrCat("queue_id: queue \"", queue.value(), "\" not found"));
  }
  v1::QueueStats out;
  out.set_queue_id(queue.value());
  *out.mutable_compute_time() = TimeToProto(now);
  *out.mutable_window() = DurationToProto(window);

  out.set_waiting(info->waiting);
  out.set_offered(info->offered);
  for (const auto& [channel, count] : info->waiting_by_channel) {
    if (count <= 0) continue;
    v1::ChannelWaiting* w = out.add_waiting_by_channel();
    w->set_channel_id(channel.value());
    w->set_waiting(count);
  }
  if (info->oldest_waiting_since.has_value()) {
    *out.mutable_oldest_wait_start_time() = TimeToProto(*info->oldest_waiting_since);
    *out.mutable_oldest_wait() =
        DurationToProto(std::max(absl::ZeroDuration(), now - *info->oldest_waiting_since));
  }

  QueueCounts c;
  if (auto it = queues_.find(queue); it != queues_.end()) {
    const int64_t now_us = Micros(now);
    c = it->second->counts.Sum(now_us - absl::ToInt64Microseconds(window), now_us);
  }
  out.set_entered_count(c.entered);
  out.set_answered_count(c.answered);
  out.set_answered_in_threshold_count(c.answered_in_threshold);
  out.set_abandoned_count(c.abandoned);
  out.set_overflowed_count(c.overflowed);
  const int64_t decided = c.answered + c.abandoned;
  if (decided > 0) {
    out.set_service_level(static_cast<double>(c.answered_in_threshold) /
                          static_cast<double>(decided));
    out.set_abandonment_rate(static_cast<double>(c.abandoned) / static_cast<double>(decided));
  }
  out.set_service_level_goal(info->config.service_level_goal);
  *out.mutable_service_level_threshold() = DurationToProto(info->config.service_level_threshold);
  if (c.answered > 0) {
    *out.mutable_average_speed_of_answer() =
        DurationToProto(absl::Microseconds(c.wait_us / c.answered));
  }

  int32_t busy = 0, available = 0, not_ready = 0, offline = 0;
  for (const EngineerId& id : info->engineers) {
    std::optional<EngineerInfo> e = engine.GetEngineer(id);
    if (!e.has_value()) continue;
    if (!e->sessions.empty()) {
      ++busy;
      continue;
    }
    switch (e->presence) {
      case Presence::kAvailable:
        ++available;
        break;
      case Presence::kNotReady:
      case Presence::kWrapUp:
        ++not_ready;
        break;
      case Presence::kOffline:
        ++offline;
        break;
    }
  }
  out.set_agents_busy(busy);
  out.set_agents_available(available);
  out.set_agents_not_ready(not_ready);
  out.set_agents_offline(offline);

  out.set_appointments_served_in_window(c.appointments_in_window);
  out.set_appointments_served_late(c.appointments_late);
  out.set_callbacks_requested(c.callbacks_requested);
  int32_t scheduled = 0, callbacks_waiting = 0;
  if (adopted_) {
    if (auto it = queues_.find(queue); it != queues_.end()) {
      scheduled = it->second->scheduled;
      callbacks_waiting = it->second->callbacks_waiting;
    }
  } else {
    // No event seen yet (a state loaded from a snapshot, nothing happened since): count from
    // the engine, as AdoptSessions will.
    for (SessionId id : engine.ListSessions()) {
      std::optional<SessionInfo> s = engine.GetSession(id);
      if (!s.has_value() || s->queue != queue) continue;
      switch (LiveKindOf(s->state, !s->callback_number.empty())) {
        case LiveKind::kScheduled: ++scheduled; break;
        case LiveKind::kCallbackWaiting: ++callbacks_waiting; break;
        case LiveKind::kNone: break;
      }
    }
  }
  out.set_appointments_scheduled(scheduled);
  out.set_callbacks_waiting(callbacks_waiting);
  return out;
}

absl::StatusOr<v1::AgentStats> StatsBook::AgentStats(const Engine& engine, const EngineerId& agent,
                                                     absl::Time now, absl::Duration window) const {
  std::optional<EngineerInfo> info = engine.GetEngineer(agent);
  if (!info.has_value()) {
    return absl::NotFoundError(absl::StrCat("agent_id: agent \"", agent.value(), "\" not found"));
  }
  v1::AgentStats out;
  out.set_agent_id(agent.value());
  *out.mutable_compute_time() = TimeToProto(now);
  *out.mutable_window() = DurationToProto(window);
  *out.mutable_status() = AgentStatusToProto(*info);

  const int64_t now_us = Micros(now);
  const int64_t start_us = now_us - absl::ToInt64Microseconds(window);
  auto it = agents_.find(agent);
  const AgentBook* book = it == agents_.end() ? nullptr : it->second.get();

  AgentCounts c;
  if (book != nullptr) c = book->counts.Sum(start_us, now_us);
  out.set_offers_count(c.offers);
  out.set_accepted_count(c.accepted);
  out.set_rejected_count(c.rejected);
  out.set_expired_count(c.expired);
  out.set_claimed_count(c.claimed);
  out.set_assigned_count(c.assigned);
  out.set_completed_count(c.completed);
  out.set_transferred_count(c.transferred);
  if (c.completed > 0) {
    *out.mutable_average_handle_duration() =
        DurationToProto(absl::Microseconds(c.handle_us / c.completed));
    *out.mutable_average_wrap_up_duration() =
        DurationToProto(absl::Microseconds(c.wrap_up_us / c.completed));
  }

  if (book != nullptr) {
    std::array<int64_t, kPresenceSlots> spent{};
    std::array<bool, kPresenceSlots> held{};
    const Fifo<PresenceChange>& changes = book->presence;
    for (size_t i = 0; i < changes.size(); ++i) {
      const int64_t from = changes[i].at_us;
      if (from > now_us) break;
      const bool current = i + 1 == changes.size() || changes[i + 1].at_us > now_us;
      // In force over [from, to); the current presence also at `now` itself.
      const int64_t to = current ? now_us : changes[i + 1].at_us;
      if (!current && (to <= start_us || to <= from)) continue;
      const size_t slot = PresenceSlot(changes[i].presence);
      spent[slot] += to - std::max(from, start_us);
      held[slot] = true;
      if (current) break;
    }
    for (size_t slot = 1; slot < kPresenceSlots; ++slot) {
      if (!held[slot]) continue;
      v1::PresenceTime* pt = out.add_presence_times();
      pt->set_presence(PresenceToProto(static_cast<Presence>(slot)));
      *pt->mutable_duration() = DurationToProto(absl::Microseconds(spent[slot]));
    }
  }
  return out;
}

StatsBook::Footprint StatsBook::footprint() const {
  Footprint f;
  f.queues = queues_.size();
  f.agents = agents_.size();
  for (const auto& [id, book] : queues_) f.buckets += book->counts.size();
  for (const auto& [id, book] : agents_) {
    f.buckets += book->counts.size();
    f.presence_changes += book->presence.size();
  }
  f.sessions = sessions_.size();
  return f;
}

}  // namespace omniroute::daemon
