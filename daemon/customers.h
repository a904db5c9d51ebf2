// The service model around the engine: the customer directory (an embedded RocksDB store,
// omniroute::directory), the interaction history recorded from the engine's events, ratings
// turned into agent points and tiers, and device alerts folded per device and fault.
//
// Threads. The engine thread never touches the directory: it observes events (RouterObserver)
// and hands the sessions that ended to the directory workers at the commit of their batch.
// Directory reads and writes run on `threads` worker threads (never on gRPC's threads nor the
// engine's); what must change the engine (a rank, a session) goes back to it with
// Router::Submit. A handler that needs both hops: gRPC thread (validate) -> worker (directory)
// -> engine thread (command) -> answer at the commit.
//
// Durability. The directory syncs its own writes (customer_directory.sync_writes). The history
// needs no sync of its own: every interaction is derived from journaled events, and replaying
// the journal records it again (recording is idempotent by session). Before a snapshot lets
// the journal before it go, BeforeSnapshot waits for the recorded history and syncs it.
// Ranks are engine commands (SetEngineerRank), journaled like any other; at start every
// agent's rank is checked against the directory once, which mends a crash between a rating
// and its rank change.

#ifndef OMNIROUTE_DAEMON_CUSTOMERS_H_
#define OMNIROUTE_DAEMON_CUSTOMERS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "boost/asio/thread_pool.hpp"
#include "daemon/config.h"
#include "daemon/router.h"
#include "omniroute/directory/directory.h"
#include "omniroute/directory/ranking.h"
#include "omniroute/v1/customer_service.pb.h"
#include "omniroute/v1/resources.pb.h"

namespace omniroute::daemon {

// The directory's location under the data directory.
inline constexpr absl::string_view kDirectorySubdir = "directory";

// Conversions between the directory's values and the API's.
v1::CustomerRecord CustomerToProto(const directory::Customer& customer);
v1::Interaction InteractionToProto(const directory::Interaction& interaction);
// `tier`: the agent's tier in the router now.
v1::AgentRating AgentRatingToProto(const directory::EngineerRecord& record,
                                   const directory::Rank& earned, Tier tier);
directory::Handle HandleFromProto(const v1::CustomerHandle& handle);

class Customers final : public RouterObserver {
 public:
  Customers(Router& router, const DaemonSettings& settings);
  ~Customers() override;
  Customers(const Customers&) = delete;
  Customers& operator=(const Customers&) = delete;

  // Opens the directory (data_dir/directory; in memory when the daemon is not durable) and
  // starts the workers: called by Router::Init once it holds the data directory, before its
  // recovery replays events into it. FAILED_PRECONDITION when another process holds the
  // directory.
  absl::Status BeforeRecovery() override;
  // After Router::Init, before Router::Start: records the history the recovery replayed,
  // loads the agents' records, and queues on the engine thread the rank check of every agent
  // and the rebuilding of the device-alert folds.
  absl::Status Start();
  // After Router::Stop: finishes the workers' work and syncs the directory.
  void Stop();

  Router& router() { return router_; }
  const DaemonSettings& settings() const { return settings_; }
  directory::Directory& directory() { return *directory_; }

  // Any thread: runs `work` on a directory worker.
  void Run(std::function<void()> work);

  // Worker thread: fills the routing snapshot of a new session from the directory. `handle`
  // (may be null) is resolved, creating a customer when unknown; otherwise a known
  // `snapshot.id` is looked up (an unknown one is left as given). What the request gave wins:
  // its VIP level (if not 0), language (if set), last agent (if set); its tags and preferred
  // agents come first, the directory's follow. INVALID_ARGUMENT naming the field for a bad
  // handle or an id that contradicts the handle's customer.
  absl::Status FillSnapshot(const v1::CustomerHandle* handle, absl::string_view handle_field,
                            CustomerSnapshot& snapshot, absl::Time now);

  // Worker thread: waits until the sessions that ended in batches committed before the call
  // are in the history.
  void FlushHistory();

  // Any thread: the agents' rating records, kept in memory (a few thousand agents).
  directory::EngineerRecord CachedRecord(const std::string& agent) const;
  void CacheRecord(const directory::EngineerRecord& record);

  // The rank `record` earns for an agent of tier `current`.
  directory::Rank EarnedRank(const directory::EngineerRecord& record, Tier current) const;
  // Engine thread: applies the earned rank (SetEngineerRank) when ranking is enabled, the
  // agent has ranking.min_ratings ratings, and the rank differs from the agent's now.
  void CheckRank(const directory::EngineerRecord& record);

  // Engine thread: the open session of a device's fault, if any, with how many alerts were
  // folded into it.
  struct Fold {
    SessionId session;
    int folded = 0;
  };
  Fold* FindFold(const std::string& device, const std::string& fault_code);
  void AddFold(const std::string& device, const std::string& fault_code, SessionId session);

  // RouterObserver (engine thread).
  void OnEvent(const Event& event, bool replaying) override;
  void OnCommit() override;
  void BeforeSnapshot() override;

 private:
  // Records `interactions` (worker thread, or the engine thread at recovery); then the
  // agents' records and ranks follow.
  void Record(const std::vector<directory::Interaction>& interactions);
  void RebuildFolds();

  Router& router_;
  const DaemonSettings& settings_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  // The history is recorded in commit order, one batch at a time, on a thread of its own:
  // workers wait for it (FlushHistory), so it must never wait behind them in their pool.
  std::unique_ptr<boost::asio::thread_pool> history_;
  bool started_ = false;

  // Engine thread: the sessions that ended in the batch being built.
  std::vector<directory::Interaction> batch_;

  // Batches handed to the history thread, and done.
  std::mutex history_mu_;
  std::condition_variable history_cv_;
  uint64_t history_queued_ = 0;  // guarded by history_mu_
  uint64_t history_done_ = 0;    // guarded by history_mu_

  mutable std::mutex records_mu_;
  absl::flat_hash_map<std::string, directory::EngineerRecord> records_;  // guarded

  // Engine thread: device folds by (device, fault code), and back.
  absl::flat_hash_map<std::pair<std::string, std::string>, Fold> folds_;
  absl::flat_hash_map<SessionId, std::pair<std::string, std::string>> fold_of_session_;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_CUSTOMERS_H_
