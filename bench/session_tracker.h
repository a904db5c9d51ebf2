// SessionTracker: follows the sessions of one load-generator run from CreateSession to their
// end, keyed by session id, to measure the create-to-offer and create-to-assigned latencies
// and to give a session's open-session place back when it ends.
//
//   tracker.Created(session_id, sent_us);   // gateway: CreateSession answered OK
//   tracker.Offered(session_id, now_us);    // desktop: an offer of the session arrived
//   tracker.Assigned(session_id, now_us);   // desktop: AcceptOffer answered OK
//   tracker.Finished(session_id);           // desktop: completed, or given up on
//
// They may come in any order (an offer usually reaches the desktop before the gateway has
// read the CreateSession answer). `sent_us` is when the CreateSession was sent, or in the open
// loop when it was scheduled to be sent. The first offer of a session created by this run
// records now - sent in the create-to-offer histogram, its first successful accept the
// create-to-assigned one; Finished() of a session created by
// this run releases its place in the limiter (once Created() has been seen, whichever comes
// first). Sessions the run did not create (found in a desktop's snapshot) release nothing.
//
// A session's entry is erased when it has been both created and finished, so memory is
// bounded by the sessions open at once (plus a small entry per session of another run that a
// desktop finished). Thread-safe (sharded locks).

#ifndef OMNIROUTE_BENCH_SESSION_TRACKER_H_
#define OMNIROUTE_BENCH_SESSION_TRACKER_H_

#include <array>
#include <cstdint>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "bench/load_stats.h"
#include "bench/open_session_limiter.h"

namespace omniroute::bench {

class SessionTracker {
 public:
  SessionTracker(LoadStats& stats, OpenSessionLimiter& limiter)
      : stats_(stats), limiter_(limiter) {}
  SessionTracker(const SessionTracker&) = delete;
  SessionTracker& operator=(const SessionTracker&) = delete;

  // Session ids that are not decimal numbers are ignored.
  void Created(absl::string_view session_id, int64_t sent_us);
  void Offered(absl::string_view session_id, int64_t now_us);
  void Assigned(absl::string_view session_id, int64_t now_us);
  void Finished(absl::string_view session_id);

  // Entries held (sessions open, and leftovers).
  size_t size() const;

 private:
  struct Entry {
    int64_t sent_us = -1;     // when its CreateSession was sent; -1: not created (yet)
    int64_t offered_us = -1;  // when its first offer arrived; -1: none yet
    int64_t assigned_us = -1;  // when its first accept was answered OK; -1: none yet
    bool finished = false;
  };
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<uint64_t, Entry> entries;  // guarded by mu
  };
  static constexpr int kShards = 16;

  Shard& ShardOf(uint64_t id) { return shards_[id % kShards]; }

  LoadStats& stats_;
  OpenSessionLimiter& limiter_;
  std::array<Shard, kShards> shards_;
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_SESSION_TRACKER_H_
