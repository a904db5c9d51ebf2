#include "bench/session_tracker.h"

#include <mutex>

#include "absl/strings/numbers.h"

namespace omniroute::bench {

void SessionTracker::Created(absl::string_view session_id, int64_t sent_us) {
  uint64_t id = 0;
  if (!absl::SimpleAtoi(session_id, &id)) return;
  bool release = false;
  {
    Shard& shard = ShardOf(id);
    std::lock_guard<std::mutex> lock(shard.mu);
    Entry& e = shard.entries[id];
    e.sent_us = sent_us;
    if (e.offered_us >= 0) {
      stats_.RecordLatency(LoadStats::kLatencyCreateToOffer, e.offered_us - sent_us);
    }
    if (e.assigned_us >= 0) {
      stats_.RecordLatency(LoadStats::kLatencyCreateToAssigned, e.assigned_us - sent_us);
    }
    if (e.finished) {
      shard.entries.erase(id);
      release = true;
    }
  }
  if (release) limiter_.Release();
}

void SessionTracker::Offered(absl::string_view session_id, int64_t now_us) {
  uint64_t id = 0;
  if (!absl::SimpleAtoi(session_id, &id)) return;
  Shard& shard = ShardOf(id);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& e = shard.entries[id];
  if (e.offered_us >= 0) return;  // offered again: only the first offer counts
  e.offered_us = now_us;
  if (e.sent_us >= 0) stats_.RecordLatency(LoadStats::kLatencyCreateToOffer, now_us - e.sent_us);
}

void SessionTracker::Assigned(absl::string_view session_id, int64_t now_us) {
  uint64_t id = 0;
  if (!absl::SimpleAtoi(session_id, &id)) return;
  Shard& shard = ShardOf(id);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& e = shard.entries[id];
  if (e.assigned_us >= 0) return;
  e.assigned_us = now_us;
  if (e.sent_us >= 0) {
    stats_.RecordLatency(LoadStats::kLatencyCreateToAssigned, now_us - e.sent_us);
  }
}

void SessionTracker::Finished(absl::string_view session_id) {
  uint64_t id = 0;
  if (!absl::SimpleAtoi(session_id, &id)) return;
  bool release = false;
  {
    Shard& shard = ShardOf(id);
    std::lock_guard<std::mutex> lock(shard.mu);
    Entry& e = shard.entries[id];
    if (e.sent_us >= 0) {
      shard.entries.erase(id);
      release = true;
    } else {
      e.finished = true;  // created by another run, or its CreateSession answer is late
    }
  }
  if (release) limiter_.Release();
}

size_t SessionTracker::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.entries.size();
  }
  return n;
}

}  // namespace omniroute::bench
