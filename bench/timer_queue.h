// TimerQueue: runs callbacks after a delay on one thread of its own, for the simulated agent
// desktops (accept after a delay, complete after a handle time, end wrap-up after a wrap-up
// time) without ever blocking a gRPC callback thread.
//
//   TimerQueue timers;                                    // starts its thread
//   timers.After(absl::Seconds(3), [this, id] { Complete(id); });
//   ...
//   timers.Hurry();     // end of the run: everything pending (and scheduled later) runs now
//   timers.Stop();      // joins the thread; callbacks still pending are dropped
//
// One binary heap under one mutex: After() is O(log n) and wakes the thread only when the new
// timer is due before the earliest one it sleeps for, so tens of thousands of timers a second
// cost little. Callbacks run one after another on the timer thread; they must be short and
// must not block (they start asynchronous calls). Thread-safe.

#ifndef OMNIROUTE_BENCH_TIMER_QUEUE_H_
#define OMNIROUTE_BENCH_TIMER_QUEUE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace omniroute::bench {

class TimerQueue {
 public:
  TimerQueue();
  // Stop().
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `callback` on the timer thread once `delay` has passed (at once, but still on the
  // timer thread, after Hurry()). Dropped after Stop().
  void After(absl::Duration delay, std::function<void()> callback);
  // From now on every timer, pending or new, is due at once.
  void Hurry();
  // Timers scheduled and not yet run (including one running now).
  int64_t pending() const;
  // Joins the thread; what is still pending is destroyed without running. Idempotent.
  void Stop();

 private:
  struct Timer {
    int64_t due_us;
    uint64_t sequence;  // FIFO among timers due at the same microsecond
    std::function<void()> callback;
  };
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.due_us != b.due_us ? a.due_us > b.due_us : a.sequence > b.sequence;
    }
  };

  void Loop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Timer> heap_;  // guarded by mu_; a min-heap by Later
  uint64_t sequence_ = 0;    // guarded by mu_
  int64_t running_ = 0;      // guarded by mu_
  bool hurry_ = false;       // guarded by mu_
  bool stop_ = false;        // guarded by mu_
  // The due time the thread sleeps until (INT64_MAX: none), to wake it only when needed.
  int64_t sleeping_until_us_ = 0;  // guarded by mu_
  std::thread thread_;
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_TIMER_QUEUE_H_
