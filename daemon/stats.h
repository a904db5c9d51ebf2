// The statistics book: queue and agent figures computed in the daemon from the engine's
// events (AdminService.GetQueueStats / GetAgentStats, and the max_waiting_sessions limit).
//
// The engine keeps no history; the daemon feeds every event it publishes to a `StatsBook` on
// the engine thread, and the book answers queries from what it saw plus the engine's live
// state. The field comments of `QueueStats` and `AgentStats` in
// proto/omniroute/v1/resources.proto are the contract; this comment says how the book meets
// it and settles what the proto leaves open.
//
// Windows. Windowed figures are counted in one-second buckets: an event counts in the bucket
// of the whole (Unix) second it happened in, and only seconds with activity are stored. A
// query's window covers the buckets whose second lies in (now - window, now]: with now =
// 100.5 s and a 10 s window, the buckets 91..100, so an event at 90.7 s is left out and one at
// 91.2 s counted. Memory is therefore bounded by max_window and by activity (per queue and per
// agent, at most one bucket per active second of the last max_window, plus a sweep period),
// never by the number of events. Buckets older than max_window are dropped as the engine's
// time moves: the book an event touches drops its own old buckets at once, and every
// max(1 s, max_window / 16) of engine time a sweep drops those of idle books (amortised over
// Observe). Presence times are not bucketed: they are exact to the microsecond (see below).
//
// Queue figures.
// - Live ones come from the engine (`Engine::GetQueue`). `waiting_by_channel` is the
//   engine's per-channel figure, which counts QUEUED *and* OFFERED sessions (the figure
//   channel limits apply to); the events do not let the daemon split it exactly (a grab
//   session goes back to QUEUED silently when its window closes with no winner).
//   `oldest_wait` is now - oldest_wait_start_time.
// - Agents: each agent of `QueueInfo::engineers` once: busy when it holds any session
//   (`EngineerInfo::sessions`: assigned, wrap-up or direct-offered; a grab showing reserves
//   nothing and does not make an agent busy), whatever its presence; otherwise available,
//   not ready (NOT_READY or WRAP_UP presence) or offline by presence.
// - entered: SESSION_CREATED in state QUEUED (a session created with the bot enters when it is
//   escalated, a booked one created SCHEDULED when its window opens), SESSION_ESCALATED (into
//   `to_queue`, or `queue` when it stays), SESSION_WINDOW_OPENED, SESSION_TRANSFERRED and
//   SESSION_OVERFLOWED into `to_queue`. A transfer back into the same queue enters it again.
// - answered: SESSION_ASSIGNED, counted in the queue that assigned it. The wait is the
//   assignment time minus the session's `waiting_since` (which a transfer restarts and an
//   overflow keeps). "Within the threshold" is wait <= service_level_threshold, the threshold
//   in force when the session was answered (cached from each QUEUE_UPSERTED); the response's
//   `service_level_threshold` and `service_level_goal` are the current configuration.
// - abandoned: SESSION_ABANDONED of a session that was QUEUED or OFFERED; a customer who
//   leaves the bot (BOT) or cancels a booking still SCHEDULED is not a queue abandonment,
//   and a gateway cancel (SESSION_CANCELLED) is never one.
// - overflowed: SESSION_OVERFLOWED out of the queue, to another queue or out of the router.
// - appointments served in window / late: of the answered (each SESSION_ASSIGNED, as for
//   `answered`), those of a booked session (the engine's `SessionInfo::window_end`, read
//   with the GetSession that answered already does) assigned at or before its window's end /
//   after it.
// - callbacks requested: CALLBACK_REQUESTED, in the event's queue.
// - appointments_scheduled and callbacks_waiting (live): kept per queue from the tracked
//   sessions (below): each unfinished session counts in at most one of them, in the queue it
//   is in after its latest event (`to_queue` for a move): SCHEDULED in the first; QUEUED or
//   OFFERED after a CALLBACK_REQUESTED (the engine keeps the callback number, so a callback
//   transferred later and waiting again still counts) in the second.
//
// Agent figures (the agent named by the event unless said otherwise).
// - offers: OFFER_CREATED (direct offers and grab showings); accepted: OFFER_ACCEPTED;
//   rejected: OFFER_REJECTED (direct rejects and grab refusals); expired: OFFER_EXPIRED of a
//   direct offer only (a grab showing left unanswered when the window closes is not counted);
//   claimed: OFFER_CLAIMED; assigned: SESSION_ASSIGNED; transferred: SESSION_TRANSFERRED (the
//   agent who gave the session away).
// - completed: SESSION_COMPLETED (end of wrap-up, or the completion itself when the queue
//   has no wrap-up), counted for the agent who held the session, in the second it completed.
//   Its handle time runs from its (last) SESSION_ASSIGNED to its SESSION_WRAP_UP (to
//   SESSION_COMPLETED when there is no wrap-up); its wrap-up time from SESSION_WRAP_UP to
//   SESSION_COMPLETED, zero when there is no wrap-up (so such sessions pull the average
//   wrap-up down: it is the mean over the sessions completed, as the proto says).
// - presence_times: each agent's presence changes are kept (PRESENCE_CHANGED; a new agent
//   starts OFFLINE at its ENGINEER_UPSERTED time). The presence in force at the window start
//   counts from the window start; time before the agent existed counts nowhere. A presence is
//   listed when it was in force at some instant of (now - window, now] (so the current
//   presence is always listed, possibly with 0 s; one held for no time at all is not).
//
// Sessions. The book tracks each unfinished session (last state, the current offer's
// delivery mode, assignment and wrap-up start, holding agent, whether it is a callback and
// the live figure it counts in) and forgets it when it finishes, so memory follows the number
// of unfinished sessions. `waiting_sessions()` counts the tracked sessions whose last state is
// BOT, QUEUED or OFFERED (SCHEDULED is not waiting).
//
// Removing a queue or an agent (QUEUE_REMOVED, ENGINEER_REMOVED) drops its book; one added
// again with the same id starts afresh.
//
// The book expects every event the engine produced since it was created (the daemon feeds
// startup configuration and replays through the same path). A queue or agent it has not
// seen created is adopted from the engine's state the first time an event names it. The
// sessions the engine already holds when the first event comes (a state loaded from a
// snapshot) are adopted then, all at once, with their state and callback flag, so the live
// figures and `waiting_sessions()` count them; their windowed history before the snapshot is
// not known (a completion counts only if the book saw the assignment). Until that first
// event, QueueStats counts the live appointment and callback figures from the engine.
//
// Cost: Observe does a few hash-map look-ups (the session, and the queues and agent the event
// names) and O(1) amortised bucket work; the only engine queries are one GetSession per
// SESSION_ASSIGNED and one GetQueue per QUEUE_UPSERTED (plus one when adopting, above), and
// once, at the first event, one GetSession per session the engine holds. A query reads the
// engine's live state (the queue and each of its agents: O(agents of the queue)) and adds up
// at most window / 1 s buckets (before the first event: also every session of the engine).
//
// Thread safety: not thread-safe. Observe and the queries run on the engine thread, like the
// engine itself.

#ifndef OMNIROUTE_DAEMON_STATS_H_
#define OMNIROUTE_DAEMON_STATS_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"
#include "omniroute/ids.h"
#include "omniroute/session.h"
#include "omniroute/v1/resources.pb.h"

namespace omniroute::daemon {

// The daemon's book of what happened, kept from the engine's events on the engine thread:
// windowed counters per queue and per agent, and the count of unfinished sessions.
class StatsBook {
 public:
  // `max_window`: the longest window a query may ask for; older history is dropped. Taken
  // as at least one second.
  explicit StatsBook(absl::Duration max_window);
  ~StatsBook();
  StatsBook(const StatsBook&) = delete;
  StatsBook& operator=(const StatsBook&) = delete;

  // Every engine event, in sequence order, right after the Engine::Apply/Advance call that
  // produced it; `engine` is the engine's state right after that call (so GetSession works
  // for e.g. the assigned session's waiting_since).
  void Observe(const Event& event, const Engine& engine);

  // Sessions now BOT, QUEUED or OFFERED (for the daemon's max_waiting_sessions limit).
  int64_t waiting_sessions() const { return waiting_; }

  // NOT_FOUND (naming `queue_id` / `agent_id`) when the queue/agent does not exist in the
  // engine. `window` is already validated by the caller (positive, <= max_window). `now` is
  // the engine's time.
  absl::StatusOr<v1::QueueStats> QueueStats(const Engine& engine, const QueueId& queue,
                                            absl::Time now, absl::Duration window) const;
  absl::StatusOr<v1::AgentStats> AgentStats(const Engine& engine, const EngineerId& agent,
                                            absl::Time now, absl::Duration window) const;

  // What the book holds, for tests and metrics.
  struct Footprint {
    size_t queues = 0;            // queue books
    size_t agents = 0;            // agent books
    size_t buckets = 0;           // one-second buckets, over all books
    size_t presence_changes = 0;  // presence records, over all agents
    size_t sessions = 0;          // unfinished sessions tracked
  };
  Footprint footprint() const;

 private:
  struct QueueBook;
  struct AgentBook;
  // The live queue figure a session counts in.
  enum class LiveKind : uint8_t { kNone, kScheduled, kCallbackWaiting };
  // One unfinished session.
  struct SessionTrack {
    // Its state after its latest event.
    SessionState last = SessionState::kQueued;
    // Its latest offer was a grab showing (whose expiry is not a direct offer expired).
    bool grab_offer = false;
    // Engine times (µs) of its latest SESSION_ASSIGNED and of its SESSION_WRAP_UP; -1: none.
    int64_t assigned_us = -1;
    int64_t wrap_up_us = -1;
    // Who it is assigned to (SESSION_COMPLETED at the end of wrap-up does not say).
    EngineerId agent;
    // A callback was requested for it (CALLBACK_REQUESTED).
    bool callback = false;
    // The live figure it is counted in, and in which queue's book (empty when kNone).
    LiveKind live = LiveKind::kNone;
    QueueId live_queue;
  };

  static LiveKind LiveKindOf(SessionState state, bool callback);
  void ObserveSession(const Event& event, const Engine& engine);
  // Moves `track` from the live figure it counts in to (`kind`, `queue`).
  void SetLive(SessionTrack& track, LiveKind kind, const QueueId& queue, const Engine& engine);
  // Once, before the first event: tracks the unfinished sessions the engine already holds (a
  // state loaded from a snapshot), so that live figures and waiting_sessions() count them.
  void AdoptSessions(const Engine& engine);
  // The book of `id`, adopting a queue/agent the engine knows but the book has not seen;
  // nullptr when the engine does not know it either.
  QueueBook* QueueBookFor(const QueueId& id, const Engine& engine);
  AgentBook* AgentBookFor(const EngineerId& id, const Engine& engine);
  // Drops what no window can reach any more (older than now - max_window) in every book.
  void Sweep(int64_t now_us);

  const int64_t max_window_us_;
  const int64_t sweep_period_us_;
  int64_t next_sweep_us_;
  int64_t waiting_ = 0;
  bool adopted_ = false;
  absl::flat_hash_map<QueueId, std::unique_ptr<QueueBook>> queues_;
  absl::flat_hash_map<EngineerId, std::unique_ptr<AgentBook>> agents_;
  absl::flat_hash_map<uint64_t, SessionTrack> sessions_;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_STATS_H_
