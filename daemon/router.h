// The daemon's engine thread.
//
// gRPC handlers run on gRPC's threads; they never touch the engine. They validate and convert
// a request, then `Submit` a piece of work. Work goes onto a multi-producer queue; the engine
// thread drains it in batches on its Boost.Asio io_context:
//
//   drain:  now = clock; fire due timers (Engine::Advance); run every queued piece of work,
//           each applying its command(s) at `now`; commit; re-arm the deadline timer.
//   commit: deliver what the batch produced: unary answers (reactor->Finish) and stream
//           messages. (A later change makes the batch durable here, before anything is
//           delivered; nothing is delivered before the commit.)
//
// The io_context also runs the timer for the engine's next deadline and the signal handler.
// Every engine event goes, in order, through `Publish`: the statistics book, the pending-offer
// table, the history kept for StreamEvents resumes, and the subscribed streams (StreamEvents,
// WatchSession, StreamOffers), each with a bounded buffer (see stream.h).

#ifndef OMNIROUTE_DAEMON_ROUTER_H_
#define OMNIROUTE_DAEMON_ROUTER_H_

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
#include "daemon/stats.h"
#include "daemon/stream.h"
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
  Event created;  // its EVENT_TYPE_OFFER_CREATED event; the offer id is created.seq
  bool claimed = false;
};

// What CreateSession remembers of a request id.
struct RememberedRequest {
  SessionId session;
  uint64_t fingerprint = 0;
  absl::Time at;
};

class Router {
 public:
  explicit Router(DaemonSettings settings);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Applies the configuration's startup objects (channels, queues, agents). Before Start.
  absl::Status Init();
  // Starts the engine thread; SIGTERM and SIGINT call `on_signal` (once) on it.
  void Start(std::function<void(int signal)> on_signal);
  // Ends every stream with OK and refuses new ones (UNAVAILABLE); in-flight unary calls still
  // complete. Any thread.
  void BeginShutdown();
  // Stops the engine thread after the work already queued. Any thread but the engine's.
  void Stop();

  // Any thread: runs `work` on the engine thread in the next batch. Dropped after Stop.
  void Submit(std::function<void()> work);

  const DaemonSettings& settings() const { return settings_; }

  // Unary calls submitted and not yet answered. Any thread.
  void CallStarted() { in_flight_.fetch_add(1); }
  void CallFinished();
  // Waits until no unary call is in flight, or `timeout`. True when none is.
  bool AwaitNoCallsInFlight(absl::Duration timeout);
  std::atomic<int>& open_streams() { return open_streams_; }

  // ---- Engine thread only (inside submitted work) ----------------------------------------

  Engine& engine() { return *engine_; }
  const StatsBook& stats() const { return stats_; }
  absl::Time now() const { return batch_now_; }
  bool shutting_down() const { return shutting_down_; }

  // Applies `command` at the batch time and publishes its events.
  absl::Status Apply(const Command& command);
  // The events of the current batch so far; `Apply` appends to them.
  const std::vector<Event>& batch_events() const { return events_; }
  // Runs `fn` at the commit of the current batch (after it is durable), in order.
  void AfterCommit(std::function<void()> fn);

  // Sessions: the proto with the daemon-kept fields (request_id) filled in.
  std::optional<v1::Session> SessionProto(SessionId id) const;
  // The pending offer of `session` to `agent`, if any.
  const PendingOffer* FindPendingOffer(SessionId session, const EngineerId& agent) const;
  v1::Offer OfferProto(const PendingOffer& offer) const;

  // CreateSession idempotency.
  const RememberedRequest* FindRequest(const std::string& request_id);
  void RememberRequest(const std::string& request_id, SessionId session, uint64_t fingerprint);

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
  void RunTimers();
  void Commit();
  void ArmTimer();
  void Publish(size_t first_event);
  void TrackOffer(const Event& event);
  void FanOut(const Event& event);
  void PruneRequests();
  v1::StreamOffersResponse OfferMessage(const Event& event, const v1::Event& proto) const;

  DaemonSettings settings_;
  std::unique_ptr<Engine> engine_;
  StatsBook stats_;

  boost::asio::io_context io_;
  boost::asio::steady_timer timer_;
  boost::asio::signal_set signals_;
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
  bool shutting_down_ = false;
  absl::flat_hash_map<SessionId, std::vector<PendingOffer>> pending_offers_;
  absl::flat_hash_map<std::string, RememberedRequest> requests_;
  std::deque<std::pair<absl::Time, std::string>> request_order_;
  absl::flat_hash_map<SessionId, std::string> session_request_ids_;
  std::deque<Event> history_;
  uint64_t last_seq_ = 0;
  struct EventSub {
    std::shared_ptr<EventStream> stream;
    EventFilter filter;
  };
  std::vector<EventSub> event_subs_;
  absl::flat_hash_map<SessionId, std::vector<std::shared_ptr<WatchStream>>> session_subs_;
  absl::flat_hash_map<EngineerId, std::vector<std::shared_ptr<OfferStream>>> agent_subs_;
  absl::flat_hash_map<EngineerId, int> offline_on_disconnect_;
};

// The clock of the daemon: wall time truncated to the engine's microseconds.
absl::Time DaemonNow();

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_ROUTER_H_
