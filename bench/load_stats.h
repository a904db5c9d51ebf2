// LoadStats: what the load generator counts while it runs, shared by every gateway and
// desktop, and LoadStats::Snapshot, a copy of it at one moment. Figures of a window (one
// second of progress, the measurement) are the difference of two snapshots.
//
//   LoadStats stats;
//   stats.CountCall(Rpc::kCreateSession, grpc::StatusCode::OK, latency_us);   // any thread
//   LoadStats::Snapshot a = stats.Take();
//   ...
//   LoadStats::Snapshot window = stats.Take().Minus(a);
//
// Thread-safe; memory is constant whatever the run's length.

#ifndef OMNIROUTE_BENCH_LOAD_STATS_H_
#define OMNIROUTE_BENCH_LOAD_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "bench/latency_histogram.h"
#include "grpcpp/support/status.h"

namespace omniroute::bench {

// The calls the load generator makes.
enum class Rpc {
  kCreateSession,
  kAcceptOffer,
  kCompleteSession,
  kEndWrapUp,
  kSetPresence,
  // Server stream; counted once when it ends other than by the generator cancelling it.
  kStreamOffers,
  kRejectOffer,
  // The baseline's echo call (--baseline=echo), against the bench's own echo server.
  kEcho,
};
inline constexpr int kRpcCount = 8;
// "CreateSession", "AcceptOffer", ...
const char* RpcName(Rpc rpc);

// gRPC status codes 0..16 by name ("OK", "UNAVAILABLE", ...).
inline constexpr int kStatusCodeCount = 17;
std::string StatusCodeName(int code);

// Lifecycle milestones counted by the generator.
enum class Milestone {
  // CreateSession answered OK with a new session (not a duplicate).
  kCreated,
  // An offer reached a desktop.
  kOffered,
  // AcceptOffer answered OK: the session is routed (ASSIGNED).
  kRouted,
  // The session reached COMPLETED (CompleteSession with no wrap-up, or EndWrapUp).
  kCompleted,
  // Any message received on a StreamOffers stream.
  kStreamMessage,
  // Open loop: sends that fell due on the schedule (each one sent, or skipped) ...
  kScheduled,
  // ... sent more than kLateSend after its scheduled time (the bench fell behind) ...
  kLate,
  // ... not sent because --max_open sessions were open (the daemon or the agents fell
  // behind): the open loop drops the send instead of slowing down.
  kSkipped,
};
inline constexpr int kMilestoneCount = 8;
// An open-loop send this much after its scheduled time counts as late (Milestone::kLate).
inline constexpr int64_t kLateSendMicros = 1000;

class LoadStats {
 public:
  // Latency histograms (microseconds).
  enum Latency {
    // Per RPC: from the call's start to its answer, successful calls only.
    kLatencyCreateSession,
    kLatencyAcceptOffer,
    kLatencyCompleteSession,
    kLatencyEndWrapUp,
    kLatencyRejectOffer,
    kLatencySetPresence,
    kLatencyEcho,
    // From sending CreateSession (open loop: from its scheduled time) to the session's first
    // offer reaching a desktop ...
    kLatencyCreateToOffer,
    // ... and to AcceptOffer answered OK (the session ASSIGNED; includes the accept delay).
    kLatencyCreateToAssigned,
    // Open loop: how late each send left after its scheduled time.
    kLatencySendLag,
    kLatencyCount,
  };

  struct Snapshot {
    std::array<std::array<uint64_t, kStatusCodeCount>, kRpcCount> calls{};
    std::array<uint64_t, kMilestoneCount> milestones{};
    std::array<LatencyHistogram::Snapshot, kLatencyCount> latencies;

    uint64_t milestone(Milestone m) const { return milestones[static_cast<int>(m)]; }
    // Finished calls of `rpc` (every code), and of every rpc.
    uint64_t Calls(Rpc rpc) const;
    uint64_t AllCalls() const;
    // Calls that did not end OK, over every rpc.
    uint64_t AllErrors() const;
    Snapshot Minus(const Snapshot& earlier) const;
  };

  LoadStats() = default;
  LoadStats(const LoadStats&) = delete;
  LoadStats& operator=(const LoadStats&) = delete;

  // A finished call of `rpc` with `code`; `latency_us` goes to the rpc's histogram when the
  // call succeeded and the rpc has one.
  void CountCall(Rpc rpc, grpc::StatusCode code, int64_t latency_us);
  void Count(Milestone m) {
    milestones_[static_cast<int>(m)].fetch_add(1, std::memory_order_relaxed);
  }
  void RecordLatency(Latency which, int64_t micros) { latencies_[which].Record(micros); }
  // Starts every histogram's maximum afresh (at the start of the measurement).
  void ResetMax();

  Snapshot Take() const;

 private:
  std::array<std::array<std::atomic<uint64_t>, kStatusCodeCount>, kRpcCount> calls_{};
  std::array<std::atomic<uint64_t>, kMilestoneCount> milestones_{};
  std::array<LatencyHistogram, kLatencyCount> latencies_;
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_LOAD_STATS_H_
