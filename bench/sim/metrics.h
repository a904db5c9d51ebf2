// The simulator's figures, computed from the engine's events alone.
//
// `MetricsCollector` reads the `Event`s an engine emits (in order) and nothing else: not the
// driver's intentions, not the engine's state. So a scenario run by the simulator and a journal
// replayed through an engine are measured by the same code, with the same definitions.
//
//   MetricsCollector collector(measure_start, measure_end, queue_configs,
//                              [](const EngineerId& id) { return GroupOf(id); });
//   collector.OnEvents(events);  // every batch, in order
//   ReplicationMetrics m = collector.Finish();
//
// Definitions (docs/SIMULATION.md "Metrics" says the same in prose):
//
// - A session *counts* when it entered a queue inside the measurement window
//   [measure_start, measure_end): at its creation, or for a session that started with the robot
//   (BOT) at its escalation. It counts in the queue it first entered, whatever happens after
//   (overflow to another queue, transfer).
// - offered: the sessions that count. Each ends as exactly one of answered (its first
//   SessionAssigned), abandoned (SessionAbandoned: the customer left while QUEUED or OFFERED),
//   overflowed (left the router as OVERFLOWED), withdrawn (SessionCancelled while QUEUED or
//   OFFERED: the gateway took it back) or unresolved (still waiting when the events end; a
//   simulation drains until there are none).
// - bot_resolved: sessions that started with the robot, were created inside the window and
//   were cancelled (not abandoned) before reaching a queue. Not part of `offered`.
// - wait: time of the first assignment (or of the abandonment) minus the time the session
//   entered its first queue. Overflow keeps the wait running.
// - p_wait: share of offered sessions not assigned at the very instant they entered the queue
//   (wait > 0; abandoned, overflowed, withdrawn and unresolved ones included).
// - asa_seconds: mean wait of the answered. service_level: answered with wait <= the queue's
//   service_level_threshold, over offered. abandon_rate: abandoned over offered.
//   max_wait_seconds: the longest wait among answered and abandoned.
// - occupancy of an engineer group: the time its engineers held at least one session (assigned
//   or in wrap-up: from SessionAssigned to SessionCompleted, or to SessionTransferred away),
//   over the time they were staffed (presence not OFFLINE, or holding a session), both summed
//   over the group's engineers and integrated over the window only.
//
// - answered_by_group: the answered sessions of a queue by the group of the engineer who
//   answered them (who serves whom: e.g. how often a skill-based router had to relax).
//
// Ratios with a zero denominator are NaN ("undefined"), not zero: the report leaves such a
// replication out of that figure's mean.
//
// Thread safety: a MetricsCollector is used by one thread at a time.

#ifndef OMNIROUTE_BENCH_SIM_METRICS_H_
#define OMNIROUTE_BENCH_SIM_METRICS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "omniroute/event.h"
#include "omniroute/ids.h"
#include "omniroute/queue.h"

namespace omniroute::sim {

// Counts of one queue (or of all queues) in one replication.
struct QueueCounts {
  int64_t offered = 0;
  int64_t answered = 0;
  int64_t abandoned = 0;
  int64_t overflowed = 0;
  int64_t withdrawn = 0;
  int64_t unresolved = 0;
  int64_t bot_resolved = 0;               // not in offered
  int64_t waited = 0;                     // offered with wait > 0 (see p_wait)
  int64_t answered_within_threshold = 0;  // wait <= the queue's threshold
  absl::Duration answered_wait_sum = absl::ZeroDuration();
  absl::Duration max_wait = absl::ZeroDuration();  // over answered and abandoned

  void Add(const QueueCounts& other);
};

// Counts and the figures derived from them. NaN marks an undefined ratio.
struct QueueFigures {
  std::string queue;  // the queue id; empty for the overall figures
  QueueCounts counts;
  // Answered sessions by the answering engineer's group, sorted by group name.
  std::vector<std::pair<std::string, int64_t>> answered_by_group;
  double p_wait = 0;
  double asa_seconds = 0;
  double service_level = 0;
  double abandon_rate = 0;
  double max_wait_seconds = 0;
};
// Fills the ratios of `figures` from its counts.
QueueFigures DeriveFigures(std::string queue, const QueueCounts& counts);

struct GroupOccupancy {
  std::string group;
  absl::Duration busy = absl::ZeroDuration();     // holding at least one session
  absl::Duration staffed = absl::ZeroDuration();  // not offline, or holding a session
  double occupancy = 0;                           // busy / staffed; NaN when never staffed
};

// One replication's figures.
struct ReplicationMetrics {
  std::vector<QueueFigures> queues;    // one per queue seen or configured, sorted by id
  QueueFigures overall;                // all queues together (queue empty)
  std::vector<GroupOccupancy> groups;  // sorted by group name
  GroupOccupancy all_engineers;        // every engineer together (group empty)
};

class MetricsCollector {
 public:
  // The group an engineer's occupancy is counted in; asked once per engineer.
  using GroupOf = std::function<std::string(const EngineerId&)>;

  // Measures the window [measure_start, measure_end). `queues` give each queue's service-level
  // threshold (a queue seen in the events but not listed gets QueueConfig's default, 20s) and
  // make every listed queue appear in the figures even if nothing arrived in it.
  MetricsCollector(absl::Time measure_start, absl::Time measure_end,
                   const std::vector<QueueConfig>& queues, GroupOf group_of);

  // Takes events in the order the engine emitted them.
  void OnEvents(const std::vector<Event>& events);
  void OnEvent(const Event& event);

  // The figures. Open intervals (engineers still staffed or busy) are closed at
  // measure_end: call it once every event up to at least measure_end has been passed in.
  ReplicationMetrics Finish();

  absl::Time measure_start() const { return start_; }
  absl::Time measure_end() const { return end_; }

 private:
  struct QueueTrack {
    std::string id;
    absl::Duration threshold;
    QueueCounts counts;
    std::vector<int64_t> answered_by_group;  // by group index
  };
  struct SessionTrack {
    int queue = 0;
    absl::Time since;       // entered its first queue, or (BOT) created
    bool in_queue = false;  // false: still with the robot
  };
  struct EngineerTrack {
    int group = 0;
    bool logged_in = false;
    int held = 0;
    absl::Time since = absl::InfinitePast();
  };

  bool InWindow(absl::Time t) const { return t >= start_ && t < end_; }
  int QueueIndex(const QueueId& id);
  EngineerTrack& Engineer(const EngineerId& id);
  // Accounts the engineer's state from `since` to `now` (clipped to the window).
  void Integrate(EngineerTrack& e, absl::Time now);
  void EnterQueue(uint64_t session, const QueueId& queue, absl::Time at);
  // The session's first answer/abandonment/...: its counts, and it is no longer tracked.
  // `group`: the answering engineer's group index (SessionAssigned only).
  void Resolve(uint64_t session, EventType type, SessionState state, absl::Time at, int group = -1);
  void Hold(uint64_t session, const EngineerId& engineer, absl::Time at);
  void Release(uint64_t session, absl::Time at);

  const absl::Time start_, end_;
  GroupOf group_of_;
  std::vector<QueueTrack> queues_;
  absl::flat_hash_map<std::string, int> queue_index_;
  std::vector<std::string> group_names_;
  absl::flat_hash_map<std::string, int> group_index_;
  std::vector<absl::Duration> group_busy_, group_staffed_;
  std::vector<EngineerTrack> engineers_;
  absl::flat_hash_map<std::string, int> engineer_index_;
  // Sessions that count (or may, once escalated) and are not yet resolved.
  absl::flat_hash_map<uint64_t, SessionTrack> sessions_;
  // Sessions held by an engineer (assigned or wrap-up): the engineer's index.
  absl::flat_hash_map<uint64_t, int> held_;
};

}  // namespace omniroute::sim

#endif  // OMNIROUTE_BENCH_SIM_METRICS_H_
