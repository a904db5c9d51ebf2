#include "bench/pacer.h"

#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "bench/load_plan.h"

namespace omniroute::bench {
namespace {

// The longest sleep, so that the end of the phase is seen soon.
constexpr int64_t kMaxSleepMicros = 20000;

}  // namespace

void Pacer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Pacer::Join() {
  if (thread_.joinable()) thread_.join();
}

void Pacer::Loop() {
  // Wake-ups to the microsecond rather than the default 50 us slack: the schedule's gaps are
  // tens of microseconds at tens of thousands of sessions per second.
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  ArrivalSource source(ctx_.plan());
  LoadStats& stats = ctx_.stats();
  const int64_t start_us = MonotonicMicros();
  Arrival next = source.Next();
  int64_t due_us = start_us + absl::ToInt64Microseconds(next.offset);
  size_t turn = 0;
  while (ctx_.creating()) {
    int64_t now_us = MonotonicMicros();
    if (due_us > now_us) {
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::min(due_us - now_us, kMaxSleepMicros)));
      continue;
    }
    // Everything due by now, at once.
    while (due_us <= now_us && ctx_.creating()) {
      stats.Count(Milestone::kScheduled);
      const int64_t lag_us = now_us - due_us;
      stats.RecordLatency(LoadStats::kLatencySendLag, lag_us);
      if (lag_us > kLateSendMicros) stats.Count(Milestone::kLate);
      if (ctx_.limiter().TryAcquire()) {
        gateways_[turn++ % gateways_.size()]->SendAt(due_us, next.stream, next.customer);
      } else {
        stats.Count(Milestone::kSkipped);
      }
      next = source.Next();
      due_us = start_us + absl::ToInt64Microseconds(next.offset);
      now_us = MonotonicMicros();
    }
  }
}

}  // namespace omniroute::bench
