// The daemon's engine thread, and the durability of its state.
//
// gRPC handlers run on gRPC's threads; they never touch the engine. They validate and convert
// a request, then `Submit` a piece of work. Work goes onto a multi-producer queue; the engine
// thread drains it in batches on its Boost.Asio io_context:
//
//   drain:  now = clock; fire due timers (Engine::Advance); run every queued piece of work,
//           each applying its command(s) at `now`; commit; re-arm the deadline timer.
//   commit: make the batch durable: every command the engine accepted in it is one journal
//           record (durability/codec.h), the batch is one append and, under the default
//           sync policy, one fdatasync; then deliver what the batch produced: unary answers
//           (reactor->Finish) and stream messages. Nothing is delivered before the commit, so
//           an answered request is never lost. A journal that cannot be written ends the
//           process (exit status 75): the state in memory is ahead of the disk, and recovery
//           from the disk is the only honest way on.
//
// Durability (unless durability.enabled is false): Init takes the data directory's lock,
// loads the newest snapshot, replays the journal after it and fires the timers that fell
// due while the daemon was down; a new data directory is seeded with the configuration's
// startup objects. Snapshots are taken in a fork()ed child (the engine thread only pays for
// the fork) when the journal has grown by durability.snapshot_journal_bytes or
// durability.snapshot_interval has passed, and in-process at Stop. A snapshot holds the
// engine's state and the daemon's own (request ids, pending offers, the event sequence);
// statistics and the event history are rebuilt from the journal replayed, not kept.
//
// The io_context also runs the timer for the engine's next deadline and the signal handler.
// Every engine event goes, in order, through `Publish`: the statistics book, the pending-offer
// table, the history kept for StreamEvents resumes, and the subscribed streams (StreamEvents,
// WatchSession, StreamOffers), each with a bounded buffer (see stream.h).

#ifndef OMNIROUTE_DAEMON_ROUTER_H_
#define OMNIROUTE_DAEMON_ROUTER_H_

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/steady_timer.hpp"
#include "daemon/config.h"
#include "daemon/metrics.h"
#include "daemon/stats.h"
#include "daemon/stream.h"
#include "omniroute/durability/file_journal.h"
#include "omniroute/durability/lock_file.h"
#include "omniroute/engine.h"
#include "omniroute/v1/agent_service.pb.h"
#include "omniroute/v1/event_service.pb.h"
#include "omniroute/v1/resources.pb.h"
#include "omniroute/v1/session_service.pb.h"

namespace omniroute::daemon {

using EventStream = OutStream<v1::StreamEventsResponse>;
using WatchStream = OutStream<v1::WatchSessionResponse>;
using OfferStream = OutStream<v1::StreamOffersResponse>;

// A StreamEvents filter, converted.
struct EventFilter {
  absl::flat_hash_set<std::string> queues;
  absl::flat_hash_set<uint64_t> sessions;
  absl::flat_hash_set<std::string> agents;
  absl::flat_hash_set<int> types;
  absl::flat_hash_set<std::string> channels;
  bool Matches(const Event& event) const;
};

// A direct or grab offer not yet answered (or claimed, waiting for the grab decision).
struct PendingOffer {
  EngineerId agent;
  SessionId session;
  uint64_t offer_id = 0;  // the sequence number of its EVENT_TYPE_OFFER_CREATED event
  v1::Offer offer;        // as the API shows it, without its session
  bool claimed = false;
};

// The idempotency key of the request that carried a command; journaled with it.
struct RequestKey {
  std::string request_id;
  uint64_t fingerprint = 0;
};

// What CreateSession remembers of a request id.
struct RememberedRequest {
  SessionId session;
  uint64_t fingerprint = 0;
  absl::Time at;
};

// The newest events, at most a fixed number, oldest first. One vector reused in place: a
// std::deque<Event> allocates and frees a node per event, each large enough to make malloc
// consolidate its free lists, and copies every string anew.
class EventHistory {
 public:
  // Appends `event`, dropping the oldest when `capacity` are held (0: keeps nothing).
  void Add(const Event& event, size_t capacity) {
    if (capacity == 0) return;
    if (events_.size() < capacity) {
      events_.push_back(event);
      return;
    }
    events_[head_] = event;
    head_ = (head_ + 1) % events_.size();
  }
  bool empty() const { return events_.empty(); }
  size_t size() const { return events_.size(); }
  // The i-th oldest.
  const Event& operator[](size_t i) const { return events_[(head_ + i) % events_.size()]; }

 private:
  std::vector<Event> events_;
  size_t head_ = 0;  // the oldest, once full
};

// What the daemon builds around the engine (the customer directory) follows the engine's
// events through this interface. Every method runs on the engine thread (or, during Init's
// recovery, on the thread running Init) and must not block on anything but brief local work.
class RouterObserver {
 public:
  virtual ~RouterObserver() = default;
  // Init, before the state is recovered (with the data directory locked, when durable). An
  // error fails Init.
  virtual absl::Status BeforeRecovery() = 0;
  // Every engine event, in order, after the engine produced it; also the events replayed
  // from the journal at recovery (`replaying` true), which may repeat what was observed
  // before a restart.
  virtual void OnEvent(const Event& event, bool replaying) = 0;
  // The current batch is durable; called before its answers are delivered.
  virtual void OnCommit() = 0;
  // A snapshot is about to be taken: after it, the journal before it may be removed, so what
  // was derived from the events so far must be durable when this returns.
  virtual void BeforeSnapshot() = 0;
};

class Router {
 public:
  explicit Router(DaemonSettings settings);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Before Start. With durability: locks the data directory and recovers its state (or seeds
  // a new one with the configuration's startup objects); FAILED_PRECONDITION when another
  // daemon holds the directory, DATA_LOSS when the journal or snapshots are damaged beyond
  // a torn tail, naming the file. In memory: applies the startup objects.
  absl::Status Init();
  // Whether Init failed because the engine refused a startup object of the configuration.
  bool startup_objects_refused() const { return startup_objects_refused_; }
  // Starts the engine thread; SIGTERM and SIGINT call `on_signal` (once) on it, SIGHUP calls
  // `on_reload` (each time; none: SIGHUP is ignored).
  void Start(std::function<void(int signal)> on_signal,
             std::function<void()> on_reload = nullptr);
  // Ends every stream with OK and refuses new ones (UNAVAILABLE); in-flight unary calls still
  // complete. Any thread.
  void BeginShutdown();
  // Stops the engine thread after the work already queued, then syncs the journal and
  // writes a snapshot. Any thread but the engine's.
  void Stop();

  // Any thread: runs `work` on the engine thread in the next batch. Dropped after Stop.
  void Submit(std::function<void()> work);

  const DaemonSettings& settings() const { return settings_; }

  // Before Init. Observers are called in the order added. Not owned; each must outlive the
  // Router's engine thread.
  void AddObserver(RouterObserver* observer) { observers_.push_back(observer); }

  // Unary calls submitted and not yet answered. Any thread.
  void CallStarted() { in_flight_.fetch_add(1); }
  void CallFinished();
  // Waits until no unary call is in flight, or `timeout`. True when none is.
  bool AwaitNoCallsInFlight(absl::Duration timeout);
  std::atomic<int>& open_streams() { return open_streams_; }
  // The engine thread's own work (histograms: read from any thread).
  const EngineMetrics& engine_metrics() const { return metrics_; }

  // ---- Engine thread only (inside submitted work) ----------------------------------------

  Engine& engine() { return *engine_; }
  const StatsBook& stats() const { return stats_; }
  const SessionCounters& session_counters() const { return counters_; }
  absl::Time now() const { return batch_now_; }
  bool shutting_down() const { return shutting_down_; }

  // Applies `command` at the batch time, publishes its events and, if the engine accepted
  // it, journals it with `key` (a CreateSession with a key is remembered for retries).
  absl::Status Apply(const Command& command, const RequestKey* key = nullptr);
  // The events of the current batch so far; `Apply` appends to them.
  const std::vector<Event>& batch_events() const { return events_; }
  // Runs `fn` at the commit of the current batch (after it is durable), in order.
  void AfterCommit(std::function<void()> fn);

  // Sessions: the proto with the daemon-kept fields (request_id) filled in.
  std::optional<v1::Session> SessionProto(SessionId id) const;
  // The pending offer of `session` to `agent`, if any.
  const PendingOffer* FindPendingOffer(SessionId session, const EngineerId& agent) const;
  v1::Offer OfferProto(const PendingOffer& offer) const;

  // CreateSession idempotency (Apply remembers).
  const RememberedRequest* FindRequest(const std::string& request_id);

  // Streams. Each subscription sends its first message(s) and follows from the next event.
  // OUT_OF_RANGE when `after_sequence` is older than the retained history.
  absl::Status AddEventStream(std::shared_ptr<EventStream> stream, EventFilter filter,
                              std::optional<uint64_t> after_sequence);
  // NOT_FOUND when the session does not exist. A finished session's stream ends at once.
  absl::Status AddSessionWatch(std::shared_ptr<WatchStream> stream, SessionId session);
  // NOT_FOUND when the agent does not exist.
  absl::Status AddOfferStream(std::shared_ptr<OfferStream> stream, const EngineerId& agent,
                              bool offline_on_disconnect);
  // An offline_on_disconnect stream of `agent` ended (not by shutdown): sets the agent
  // OFFLINE unless another such stream is open.
  void OfferStreamGone(const EngineerId& agent);

 private:
  void Drain();
  void Commit();
  void ArmTimer();
  void WaitForReload();
  void Publish(size_t first_event);
  void TrackOffer(const Event& event);
  void RememberRequest(const RequestKey& key, SessionId session);
  // The session a CreateSession created: the SESSION_CREATED among events_[from..].
  SessionId CreatedSession(size_t from) const;

  // Durability (engine thread, or before Start / after the thread stopped).
  absl::Status Recover();
  absl::Status ReplayJournal(uint64_t from);
  void JournalBatch();
  // journal_->MaybeSync, timing the fdatasync when one happens.
  void MaybeSyncJournal();
  void ArmSyncTimer();
  [[noreturn]] void JournalFailed(const absl::Status& status);
  bool SnapshotDue() const;
  std::string EncodeSnapshot() const;
  absl::Status RestoreSnapshot(absl::string_view bytes);
  void StartSnapshot();
  void SnapshotFinished(uint64_t position, int wait_status, absl::Time started);
  void AwaitSnapshotChild();
  void SnapshotNow();
  void SnapshotWritten(uint64_t position);
  void FanOut(const Event& event);
  void PruneRequests();
  v1::StreamOffersResponse OfferMessage(const Event& event, const v1::Event& proto) const;

  DaemonSettings settings_;
  std::unique_ptr<Engine> engine_;
  StatsBook stats_;
  SessionCounters counters_;
  EngineMetrics metrics_;

  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer sync_timer_;
  boost::asio::signal_set signals_;
  boost::asio::signal_set reload_signals_;  // SIGHUP; WaitForReload re-arms it
  std::function<void()> on_reload_;
  std::thread thread_;
  std::atomic<int> open_streams_{0};
  std::atomic<int> in_flight_{0};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;

  std::mutex queue_mu_;
  std::vector<std::function<void()>> queue_;  // guarded by queue_mu_
  bool drain_posted_ = false;                 // guarded by queue_mu_
  bool stopped_ = false;                      // guarded by queue_mu_

  // Engine thread state.
  absl::Time batch_now_;
  std::vector<Event> events_;
  std::vector<std::function<void()>> after_commit_;
  std::vector<std::function<void()>> batch_work_;  // the work of the batch being drained
  std::vector<std::function<void()>> delivering_;  // the answers of the batch being committed
  bool shutting_down_ = false;
  absl::flat_hash_map<SessionId, std::vector<PendingOffer>> pending_offers_;
  absl::flat_hash_map<std::string, RememberedRequest> requests_;
  std::deque<std::pair<absl::Time, std::string>> request_order_;
  absl::flat_hash_map<SessionId, std::string> session_request_ids_;
  EventHistory history_;
  uint64_t last_seq_ = 0;
  struct EventSub {
    std::shared_ptr<EventStream> stream;
    EventFilter filter;
  };
  std::vector<EventSub> event_subs_;
  absl::flat_hash_map<SessionId, std::vector<std::shared_ptr<WatchStream>>> session_subs_;
  absl::flat_hash_map<EngineerId, std::vector<std::shared_ptr<OfferStream>>> agent_subs_;
  absl::flat_hash_map<EngineerId, int> offline_on_disconnect_;

  std::vector<RouterObserver*> observers_;

  // Durability state (unused in memory).
  std::optional<durability::LockFile> lock_;
  std::unique_ptr<durability::FileJournal> journal_;
  std::vector<std::string> records_;       // the batch's journal records, not yet appended
  bool replaying_ = false;
  bool startup_objects_refused_ = false;
  bool sync_timer_armed_ = false;
  uint64_t journal_bytes_since_snapshot_ = 0;
  absl::Time last_snapshot_at_;
  uint64_t snapshot_position_ = 0;          // the newest snapshot written (0: none)
  uint64_t previous_snapshot_position_ = 0; // the one kept before it (0: none)
  pid_t snapshot_child_ = -1;               // a fork()ed child writing a snapshot
  std::thread snapshot_waiter_;             // waits for it
};

// The clock of the daemon: wall time truncated to the engine's microseconds.
absl::Time DaemonNow();

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_ROUTER_H_
