#include "bench/sim/metrics.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

namespace omniroute::sim {

namespace {

constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

double Ratio(double num, double den) { return den > 0 ? num / den : kUndefined; }

}  // namespace

void QueueCounts::Add(const QueueCounts& o) {
  offered += o.offered;
  answered += o.answered;
  abandoned += o.abandoned;
  overflowed += o.overflowed;
  withdrawn += o.withdrawn;
  unresolved += o.unresolved;
  bot_resolved += o.bot_resolved;
  waited += o.waited;
  answered_within_threshold += o.answered_within_threshold;
  answered_wait_sum += o.answered_wait_sum;
  max_wait = std::max(max_wait, o.max_wait);
}

QueueFigures DeriveFigures(std::string queue, const QueueCounts& c) {
  QueueFigures f;
  f.queue = std::move(queue);
  f.counts = c;
  const double offered = static_cast<double>(c.offered);
  f.p_wait = Ratio(static_cast<double>(c.waited), offered);
  f.asa_seconds =
      Ratio(absl::ToDoubleSeconds(c.answered_wait_sum), static_cast<double>(c.answered));
  f.service_level = Ratio(static_cast<double>(c.answered_within_threshold), offered);
  f.abandon_rate = Ratio(static_cast<double>(c.abandoned), offered);
  f.max_wait_seconds =
      c.answered + c.abandoned > 0 ? absl::ToDoubleSeconds(c.max_wait) : kUndefined;
  return f;
}

MetricsCollector::MetricsCollector(absl::Time measure_start, absl::Time measure_end,
                                   const std::vector<QueueConfig>& queues, GroupOf group_of)
    : start_(measure_start), end_(measure_end), group_of_(std::move(group_of)) {
  for (const QueueConfig& q : queues) {
    if (queue_index_.contains(q.id.value())) continue;
    queue_index_.emplace(q.id.value(), static_cast<int>(queues_.size()));
    queues_.push_back({q.id.value(), q.service_level_threshold, {}, {}});
  }
}

int MetricsCollector::QueueIndex(const QueueId& id) {
  auto [it, inserted] = queue_index_.try_emplace(id.value(), static_cast<int>(queues_.size()));
  if (inserted) queues_.push_back({id.value(), QueueConfig().service_level_threshold, {}, {}});
  return it->second;
}

MetricsCollector::EngineerTrack& MetricsCollector::Engineer(const EngineerId& id) {
  auto [it, inserted] =
      engineer_index_.try_emplace(id.value(), static_cast<int>(engineers_.size()));
  if (inserted) {
    std::string group = group_of_ ? group_of_(id) : std::string();
    auto [g, new_group] = group_index_.try_emplace(group, static_cast<int>(group_names_.size()));
    if (new_group) {
      group_names_.push_back(group);
      group_busy_.push_back(absl::ZeroDuration());
      group_staffed_.push_back(absl::ZeroDuration());
    }
    EngineerTrack e;
    e.group = g->second;
    engineers_.push_back(e);
  }
  return engineers_[it->second];
}

void MetricsCollector::Integrate(EngineerTrack& e, absl::Time now) {
  const absl::Time lo = std::max(e.since, start_);
  const absl::Time hi = std::min(now, end_);
  if (hi > lo) {
    if (e.logged_in || e.held > 0) group_staffed_[e.group] += hi - lo;
    if (e.held > 0) group_busy_[e.group] += hi - lo;
  }
  e.since = std::max(e.since, now);
}

void MetricsCollector::EnterQueue(uint64_t session, const QueueId& queue, absl::Time at) {
  if (!InWindow(at)) {
    sessions_.erase(session);
    return;
  }
  SessionTrack& s = sessions_[session];
  s.queue = QueueIndex(queue);
  s.since = at;
  s.in_queue = true;
  QueueCounts& c = queues_[s.queue].counts;
  ++c.offered;
}

void MetricsCollector::Resolve(uint64_t session, EventType type, SessionState state, absl::Time at,
                               int group) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  const SessionTrack s = it->second;
  if (!s.in_queue) {
    // Still with the robot: only a withdrawal ends it here (the robot resolved it).
    if (type == EventType::kSessionCancelled || type == EventType::kSessionAbandoned) {
      if (type == EventType::kSessionCancelled && InWindow(s.since)) {
        ++queues_[s.queue].counts.bot_resolved;
      }
      sessions_.erase(it);
    }
    return;
  }
  QueueTrack& q = queues_[s.queue];
  QueueCounts& c = q.counts;
  const absl::Duration wait = at - s.since;
  if (wait > absl::ZeroDuration()) ++c.waited;
  switch (type) {
    case EventType::kSessionAssigned:
      ++c.answered;
      c.answered_wait_sum += wait;
      if (wait <= q.threshold) ++c.answered_within_threshold;
      c.max_wait = std::max(c.max_wait, wait);
      if (group >= 0) {
        if (q.answered_by_group.size() <= static_cast<size_t>(group)) {
          q.answered_by_group.resize(group + 1);
        }
        ++q.answered_by_group[group];
      }
      break;
    case EventType::kSessionAbandoned:
      ++c.abandoned;
      c.max_wait = std::max(c.max_wait, wait);
      break;
    case EventType::kSessionCancelled:
      ++c.withdrawn;
      break;
    default:
      if (state == SessionState::kOverflowed) ++c.overflowed;
      break;
  }
  sessions_.erase(it);
}

void MetricsCollector::Hold(uint64_t session, const EngineerId& engineer, absl::Time at) {
  Engineer(engineer);  // registers it
  const int index = engineer_index_.at(engineer.value());
  auto [it, inserted] = held_.try_emplace(session, index);
  if (!inserted) return;  // already held (cannot happen: assigned once per offer round)
  EngineerTrack& e = engineers_[index];
  Integrate(e, at);
  ++e.held;
}

void MetricsCollector::Release(uint64_t session, absl::Time at) {
  auto it = held_.find(session);
  if (it == held_.end()) return;
  EngineerTrack& e = engineers_[it->second];
  Integrate(e, at);
  --e.held;
  held_.erase(it);
}

void MetricsCollector::OnEvents(const std::vector<Event>& events) {
  for (const Event& ev : events) OnEvent(ev);
}

void MetricsCollector::OnEvent(const Event& ev) {
  const uint64_t id = ev.session.value();
  switch (ev.type) {
    case EventType::kSessionCreated:
      if (ev.state == SessionState::kBot) {
        SessionTrack& s = sessions_[id];
        s.queue = QueueIndex(ev.queue);
        s.since = ev.at;
        s.in_queue = false;
      } else {
        EnterQueue(id, ev.queue, ev.at);
      }
      break;
    case EventType::kSessionEscalated: {
      auto it = sessions_.find(id);
      if (it == sessions_.end() || it->second.in_queue) break;
      EnterQueue(id, ev.to_queue.empty() ? ev.queue : ev.to_queue, ev.at);
      break;
    }
    case EventType::kSessionAssigned:
      Resolve(id, ev.type, ev.state, ev.at, Engineer(ev.engineer).group);
      Hold(id, ev.engineer, ev.at);
      break;
    case EventType::kSessionTransferred:
      Release(id, ev.at);
      break;
    case EventType::kSessionAbandoned:
    case EventType::kSessionCancelled:
    case EventType::kSessionCompleted:
      Resolve(id, ev.type, ev.state, ev.at);
      Release(id, ev.at);
      break;
    case EventType::kSessionOverflowed:
      if (ev.state == SessionState::kOverflowed) Resolve(id, ev.type, ev.state, ev.at);
      break;
    case EventType::kPresenceChanged: {
      EngineerTrack& e = Engineer(ev.engineer);
      Integrate(e, ev.at);
      e.logged_in = ev.presence != Presence::kOffline;
      break;
    }
    case EventType::kEngineerRemoved: {
      EngineerTrack& e = Engineer(ev.engineer);
      Integrate(e, ev.at);
      e.logged_in = false;
      break;
    }
    default:
      break;
  }
}

ReplicationMetrics MetricsCollector::Finish() {
  for (EngineerTrack& e : engineers_) Integrate(e, end_);
  for (const auto& [id, s] : sessions_) {
    if (!s.in_queue) continue;
    QueueCounts& c = queues_[s.queue].counts;
    ++c.unresolved;
    ++c.waited;  // not assigned when it entered (else it would be resolved)
  }
  sessions_.clear();

  ReplicationMetrics m;
  std::vector<int> order(queues_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [this](int a, int b) { return queues_[a].id < queues_[b].id; });
  std::vector<int> groups(group_names_.size());
  std::iota(groups.begin(), groups.end(), 0);
  std::sort(groups.begin(), groups.end(),
            [this](int a, int b) { return group_names_[a] < group_names_[b]; });
  QueueCounts all;
  std::vector<int64_t> all_by_group(group_names_.size());
  for (int i : order) {
    QueueFigures f = DeriveFigures(queues_[i].id, queues_[i].counts);
    for (int g : groups) {
      const std::vector<int64_t>& counts = queues_[i].answered_by_group;
      const int64_t n = static_cast<size_t>(g) < counts.size() ? counts[g] : 0;
      if (n == 0) continue;
      f.answered_by_group.emplace_back(group_names_[g], n);
      all_by_group[g] += n;
    }
    m.queues.push_back(std::move(f));
    all.Add(queues_[i].counts);
  }
  m.overall = DeriveFigures("", all);
  for (int g : groups) {
    if (all_by_group[g] == 0) continue;
    m.overall.answered_by_group.emplace_back(group_names_[g], all_by_group[g]);
  }

  for (int g : groups) {
    GroupOccupancy o;
    o.group = group_names_[g];
    o.busy = group_busy_[g];
    o.staffed = group_staffed_[g];
    m.all_engineers.busy += o.busy;
    m.all_engineers.staffed += o.staffed;
    o.occupancy = Ratio(absl::ToDoubleSeconds(o.busy), absl::ToDoubleSeconds(o.staffed));
    m.groups.push_back(std::move(o));
  }
  m.all_engineers.occupancy = Ratio(absl::ToDoubleSeconds(m.all_engineers.busy),
                                    absl::ToDoubleSeconds(m.all_engineers.staffed));
  return m;
}

}  // namespace omniroute::sim
