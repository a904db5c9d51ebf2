// The decision audit: every session's history of decisions, queryable long after the fact
// (SessionService.GetSessionHistory, `omniroutectl session <id>`).
//
//   Audit audit(router, router.settings());
//   router.AddObserver(&audit);     // before Router::Init, which opens the store
//   router.Init(); audit.Start(); router.Start(...);
//   ...
//   router.Stop(); audit.Stop();
//
// What is kept. Every engine event about a session (a non-empty session id), as the API shows
// it (v1::Event, with its routing reason), in an embedded RocksDB store of the audit's own:
// data_dir/audit, or in memory when the daemon is not durable. A session is kept while it is
// open and for `audit.retention` after its last event once it is finished (COMPLETED,
// ABANDONED, CANCELLED, OVERFLOWED out of the router); a sweep then forgets it. At most
// `audit.max_events_per_session` events are kept per session, so that an offer loop cannot grow
// one session without bound: the oldest half and the newest half, with the events between only
// counted (the first entry after the gap says how many are missing).
//
// Layout (the default column family; numbers big-endian, so that keys sort by them):
//   "e" session(8) slot(8)         -> v1::Event. Slots 0..head-1 hold the session's first
//                                     events; the newest go round a ring of the next `ring`
//                                     slots.
//   "m" session(8)                 -> the session's meta: the newest sequence stored, how
//                                     many events it had, its head and ring sizes.
//   "t" end_time_us(8) session(8)  -> "". Finished sessions by end time: the sweep's index.
//
// Threads. OnEvent (engine thread) copies the session events of the batch and nothing more;
// OnCommit hands them to the audit thread (a boost::asio::thread_pool of one), which converts,
// serializes and writes them as one unsynced WriteBatch, then sweeps when a minute of router
// time has passed since the last sweep (the batch times the router passes along: no clock is
// read for it). Reads run on the same thread (Run), queued behind every batch handed over
// before them: a GetSessionHistory sees every event of the batches committed before it was
// called. The engine thread waits for the audit thread only in BeforeSnapshot.
//
// Durability. Like the interaction history (customers.h), the audit syncs nothing of its own
// as it goes: every event is derived from the journal, and after a crash the replay writes it
// again. Writing is idempotent: an event at or below the newest sequence stored for its
// session is skipped. Before a snapshot lets the journal before it go, BeforeSnapshot waits for
// the queued writes and syncs the store's write-ahead log; Stop does the same at shutdown.

#ifndef OMNIROUTE_DAEMON_AUDIT_H_
#define OMNIROUTE_DAEMON_AUDIT_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "boost/asio/thread_pool.hpp"
#include "daemon/config.h"
#include "daemon/router.h"
#include "omniroute/event.h"
#include "omniroute/ids.h"
#include "omniroute/v1/resources.pb.h"
#include "omniroute/v1/session_service.pb.h"

namespace omniroute::daemon {

// The audit's location under the data directory.
inline constexpr absl::string_view kAuditSubdir = "audit";

// What the store holds of one session.
struct StoredHistory {
  // The events kept, in sequence order.
  std::vector<v1::Event> events;
  // Events of the session that were not kept (audit.max_events_per_session).
  int64_t missing = 0;
  // When `missing` > 0: the index in `events` of the first event after the gap.
  size_t gap = 0;
};

// The answer of GetSessionHistory from what the store holds (pure; any thread).
//
// `state` is the last event's session state. Each entry's `waited` is how long the session
// had waited in queue when the event happened: the wait starts when the session enters a queue
// (SESSION_CREATED in QUEUED, SESSION_ESCALATED, SESSION_TRANSFERRED, and
// SESSION_WINDOW_OPENED, where it counts from the window's start as the engine does), goes on
// across offers, rejections and an overflow to another queue, and stops at SESSION_ASSIGNED
// (later entries show the wait the assignment ended, until the session queues again); zero
// before the session first queued. Offers and assignments list their `candidates`: the agent
// chosen with the winner's rank key, then the runner-up when the reason names one. `summary` is
// one line for people. A finished session's `retain_until_time` is its last event's time plus
// `retention`.
v1::GetSessionHistoryResponse BuildSessionHistory(const StoredHistory& history,
                                                  absl::Duration retention);

// The audit's RocksDB store, without threads: used by one thread at a time (the audit thread
// in the daemon). Layout in the file comment.
class AuditStore {
 public:
  struct Options {
    // RocksDB's in-memory environment: nothing touches the disk.
    bool in_memory = false;
    // audit.max_events_per_session (at least 2). Applies to sessions first seen after it.
    int max_events_per_session = 1000;
  };

  // Opens (creating if missing) the store at `path`. FAILED_PRECONDITION when another process
  // holds it or the directory cannot be created.
  static absl::StatusOr<std::unique_ptr<AuditStore>> Open(const std::string& path,
                                                          const Options& options);
  ~AuditStore();
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  // Writes the session events among `events` (in sequence order; others are ignored) as one
  // unsynced batch, skipping those at or below the newest sequence stored for their session.
  absl::Status Write(const std::vector<Event>& events);
  // Forgets up to `limit` sessions that finished at or before `cutoff`, oldest first; returns
  // how many it forgot.
  absl::StatusOr<int> Sweep(absl::Time cutoff, int limit);
  // What is stored of `session`; NOT_FOUND when nothing is.
  absl::StatusOr<StoredHistory> Read(SessionId session);
  // Makes every write so far durable (syncs the write-ahead log).
  absl::Status Sync();

 private:
  struct Impl;
  explicit AuditStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Audit final : public RouterObserver {
 public:
  // `settings` must outlive the Audit. With audit.retention 0 the audit is off: it opens
  // nothing and records nothing.
  Audit(Router& router, const DaemonSettings& settings);
  ~Audit() override;
  Audit(const Audit&) = delete;
  Audit& operator=(const Audit&) = delete;

  bool enabled() const { return settings_.audit_retention > absl::ZeroDuration(); }

  // Opens the store (data_dir/audit; in memory when the daemon is not durable) and starts the
  // audit thread: called by Router::Init once it holds the data directory, before its
  // recovery replays events into it. FAILED_PRECONDITION when the store cannot be opened.
  absl::Status BeforeRecovery() override;
  // After Router::Init, before Router::Start: hands over what the recovery replayed (and
  // sweeps), so that the first reads see it.
  void Start();
  // After Router::Stop: finishes the queued writes, syncs and closes the store.
  void Stop();

  // Any thread, between BeforeRecovery and Stop, with the audit enabled: runs `work` on the
  // audit thread after every batch handed over before the call.
  void Run(std::function<void()> work);
  // Audit thread (inside Run): the history of `session`. NOT_FOUND when nothing is stored
  // (the session never existed, or finished longer ago than the retention).
  absl::StatusOr<v1::GetSessionHistoryResponse> ReadHistory(SessionId session);

  // RouterObserver (engine thread).
  void OnEvent(const Event& event, bool replaying) override;
  void OnCommit() override;
  void BeforeSnapshot() override;

 private:
  // Engine thread (or Init's): hands pending_ to the audit thread with the router time `now`.
  void HandOver(absl::Time now);
  // Audit thread: writes `events`, then sweeps if a minute of router time has passed.
  void Process(const std::vector<Event>& events, absl::Time now);
  // Waits until every batch handed over is written.
  void WaitForWrites();

  Router& router_;
  const DaemonSettings& settings_;
  std::unique_ptr<AuditStore> store_;
  std::unique_ptr<boost::asio::thread_pool> thread_;

  // Engine thread: the session events of the batch being built, and the router time of the
  // last hand-over.
  std::vector<Event> pending_;
  absl::Time last_handed_ = absl::InfinitePast();

  // Audit thread: the router time of the last sweep, and whether it left work for the next.
  absl::Time last_sweep_ = absl::InfinitePast();
  bool sweep_unfinished_ = false;

  // Batches handed to the audit thread, and written.
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t queued_ = 0;  // guarded by mu_
  uint64_t done_ = 0;    // guarded by mu_
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_AUDIT_H_
