#include "bench/load_stats.h"

#include <string>

namespace omniroute::bench {

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kCreateSession: return "CreateSession";
    case Rpc::kAcceptOffer: return "AcceptOffer";
    case Rpc::kCompleteSession: return "CompleteSession";
    case Rpc::kEndWrapUp: return "EndWrapUp";
    case Rpc::kSetPresence: return "SetPresence";
    case Rpc::kStreamOffers: return "StreamOffers";
    case Rpc::kRejectOffer: return "RejectOffer";
    case Rpc::kEcho: return "Echo";
  }
  return "?";
}

std::string StatusCodeName(int code) {
  static constexpr const char* kNames[kStatusCodeCount] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code >= 0 && code < kStatusCodeCount) return kNames[code];
  return "CODE_" + std::to_string(code);
}

void LoadStats::CountCall(Rpc rpc, grpc::StatusCode code, int64_t latency_us) {
  int c = static_cast<int>(code);
  if (c < 0 || c >= kStatusCodeCount) c = static_cast<int>(grpc::StatusCode::UNKNOWN);
  calls_[static_cast<int>(rpc)][c].fetch_add(1, std::memory_order_relaxed);
  if (code != grpc::StatusCode::OK) return;
  switch (rpc) {
    case Rpc::kCreateSession: RecordLatency(kLatencyCreateSession, latency_us); break;
    case Rpc::kAcceptOffer: RecordLatency(kLatencyAcceptOffer, latency_us); break;
    case Rpc::kCompleteSession: RecordLatency(kLatencyCompleteSession, latency_us); break;
    case Rpc::kEndWrapUp: RecordLatency(kLatencyEndWrapUp, latency_us); break;
    case Rpc::kRejectOffer: RecordLatency(kLatencyRejectOffer, latency_us); break;
    case Rpc::kSetPresence: RecordLatency(kLatencySetPresence, latency_us); break;
    case Rpc::kEcho: RecordLatency(kLatencyEcho, latency_us); break;
    case Rpc::kStreamOffers: break;
  }
}

void LoadStats::ResetMax() {
  for (LatencyHistogram& h : latencies_) h.ResetMax();
}

LoadStats::Snapshot LoadStats::Take() const {
  Snapshot s;
  for (int r = 0; r < kRpcCount; ++r) {
    for (int c = 0; c < kStatusCodeCount; ++c) {
      s.calls[r][c] = calls_[r][c].load(std::memory_order_relaxed);
    }
  }
  for (int m = 0; m < kMilestoneCount; ++m) {
    s.milestones[m] = milestones_[m].load(std::memory_order_relaxed);
  }
  for (int l = 0; l < kLatencyCount; ++l) s.latencies[l] = latencies_[l].Take();
  return s;
}

uint64_t LoadStats::Snapshot::Calls(Rpc rpc) const {
  uint64_t n = 0;
  for (uint64_t c : calls[static_cast<int>(rpc)]) n += c;
  return n;
}

uint64_t LoadStats::Snapshot::AllCalls() const {
  uint64_t n = 0;
  for (const auto& per_code : calls) {
    for (uint64_t c : per_code) n += c;
  }
  return n;
}

uint64_t LoadStats::Snapshot::AllErrors() const {
  uint64_t n = 0;
  for (const auto& per_code : calls) {
    for (int c = 1; c < kStatusCodeCount; ++c) n += per_code[c];
  }
  return n;
}

LoadStats::Snapshot LoadStats::Snapshot::Minus(const Snapshot& earlier) const {
  Snapshot d;
  for (int r = 0; r < kRpcCount; ++r) {
    for (int c = 0; c < kStatusCodeCount; ++c) d.calls[r][c] = calls[r][c] - earlier.calls[r][c];
  }
  for (int m = 0; m < kMilestoneCount; ++m) {
    d.milestones[m] = milestones[m] - earlier.milestones[m];
  }
  for (int l = 0; l < kLatencyCount; ++l) d.latencies[l] = latencies[l].Minus(earlier.latencies[l]);
  return d;
}

}  // namespace omniroute::bench
