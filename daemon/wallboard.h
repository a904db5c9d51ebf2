// The live wallboard: the page served at / by the HTTP endpoint (daemon/wallboard/index.html,
// embedded in the binary) and the server-sent events that feed it from /wallboard/events.
//
// Two kinds of events, JSON on one line each (the page's header comment is the contract):
//   snapshot  about once a second: per queue the waiting sessions (by channel), the offers
//             out, the oldest wait, the service level against its goal, ASA and abandonment
//             over the stats window, the queue's agents by state; the agents of the router
//             by state.
//   decision  each routing decision as it is committed: offers, assignments, stage changes,
//             relaxations and overflows, with the reason the router gave.
// A new viewer gets a snapshot and the last kRecentDecisions decisions at once.
//
// Threads. Everything is built on the engine thread, between batches, like /metrics: the
// decisions are observed as events (RouterObserver) and published at the commit of their
// batch (a decision is shown once it is durable); the snapshot is built by work that a ticker
// thread submits once a second, and only while someone watches. Publishing hands the text to
// the HTTP thread (HttpServer::Publish), which writes it to every open stream.

#ifndef OMNIROUTE_DAEMON_WALLBOARD_H_
#define OMNIROUTE_DAEMON_WALLBOARD_H_

#include <array>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/http_server.h"
#include "daemon/router.h"
#include "daemon/stats.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"

namespace omniroute::daemon {

// The page (daemon/wallboard/index.html), embedded at build time.
extern const char kWallboardHtml[];

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view s);

// A routing reason in words, for people: "longest_idle: ahead of a2 on the main criterion,
// stage vip_tier, relaxation step 1, rules [vip]".
std::string DescribeReason(const RoutingReason& reason, absl::string_view chosen_agent);

// Whether the wallboard shows `type` in its ticker of decisions.
bool IsWallboardDecision(EventType type);

// The JSON of a decision event: {"time", "session", "queue", "agent", "what", "reason"}.
std::string DecisionJson(const Event& event);

// The JSON of a snapshot of `engine` and its statistics at `now`, over `window`.
std::string SnapshotJson(const Engine& engine, const StatsBook& stats, absl::Time now,
                         absl::Duration window);

class Wallboard final : public RouterObserver {
 public:
  // The HttpServer topic of the stream.
  static constexpr char kTopic[] = "wallboard";
  // How many decisions a new viewer is shown at once.
  static constexpr int kRecentDecisions = 20;

  explicit Wallboard(Router& router);
  ~Wallboard() override;
  Wallboard(const Wallboard&) = delete;
  Wallboard& operator=(const Wallboard&) = delete;

  // Before Router::Start: where to publish (not owned; may be null: nothing is published).
  void Attach(HttpServer* server) { server_ = server; }
  // After Router::Start: starts the snapshot ticker. Stop before Router::Stop.
  void Start(absl::Duration period = absl::Seconds(1));
  void Stop();

  // Engine thread: what a new viewer's stream starts with: the reconnection delay, a snapshot
  // and the recent decisions, oldest first.
  std::string FirstChunk();

  // RouterObserver (engine thread).
  absl::Status BeforeRecovery() override { return absl::OkStatus(); }
  void OnEvent(const Event& event, bool replaying) override;
  void OnCommit() override;
  void BeforeSnapshot() override {}

 private:
  std::string SnapshotChunk();
  void Tick();

  Router& router_;
  HttpServer* server_ = nullptr;
  // The last kRecentDecisions decisions (engine thread): a ring, next_ is the oldest once full.
  std::array<Event, kRecentDecisions> recent_;
  int recent_count_ = 0;
  int next_ = 0;
  // Decisions of the current batch not yet published (engine thread), as SSE text.
  std::string pending_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread ticker_;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_WALLBOARD_H_
