// OpenSessionLimiter: bounds how many sessions the load generator has open (created and not
// yet completed), so that a closed loop of CreateSession callers cannot fill the daemon's
// queues without bound when the agents are the bottleneck.
//
//   OpenSessionLimiter limiter(400);
//   if (limiter.Acquire([=] { CreateNext(); })) CreateNext();  // else resumed later
//   ...
//   limiter.Release();   // a session completed (or its creation failed)
//
// A caller refused by Acquire() is parked; Release() hands the freed place to the oldest
// parked caller and runs its resume function on the releasing thread (outside the lock).
// Thread-safe.

#ifndef OMNIROUTE_BENCH_OPEN_SESSION_LIMITER_H_
#define OMNIROUTE_BENCH_OPEN_SESSION_LIMITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace omniroute::bench {

class OpenSessionLimiter {
 public:
  // `limit` 0: no limit (Acquire always succeeds; the count is still kept).
  explicit OpenSessionLimiter(int64_t limit) : limit_(limit) {}
  OpenSessionLimiter(const OpenSessionLimiter&) = delete;
  OpenSessionLimiter& operator=(const OpenSessionLimiter&) = delete;

  // Takes a place and returns true, or parks `resume` (run once a place is handed over)
  // and returns false.
  bool Acquire(std::function<void()> resume) {
    std::lock_guard<std::mutex> lock(mu_);
    if (limit_ > 0 && open_ >= limit_) {
      parked_.push_back(std::move(resume));
      return false;
    }
    ++open_;
    return true;
  }

  // Takes a place and returns true if one is free; never parks (the open loop skips a send
  // instead).
  bool TryAcquire() {
    std::lock_guard<std::mutex> lock(mu_);
    if (limit_ > 0 && open_ >= limit_) return false;
    ++open_;
    return true;
  }

  // Gives a place back; it goes to the oldest parked caller if there is one.
  void Release() {
    std::function<void()> resume;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (parked_.empty()) {
        if (open_ > 0) --open_;
        return;
      }
      resume = std::move(parked_.front());
      parked_.pop_front();
    }
    resume();
  }

  // Runs every parked caller's resume function (the places are handed over as if released);
  // for shutting down, when the resumed callers stop by themselves.
  void ResumeAll() {
    std::deque<std::function<void()>> parked;
    {
      std::lock_guard<std::mutex> lock(mu_);
      parked.swap(parked_);
      open_ += static_cast<int64_t>(parked.size());
    }
    for (auto& resume : parked) resume();
  }

  int64_t open() const {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }
  int64_t parked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(parked_.size());
  }

 private:
  const int64_t limit_;
  mutable std::mutex mu_;
  int64_t open_ = 0;                              // guarded by mu_
  std::deque<std::function<void()>> parked_;      // guarded by mu_
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_OPEN_SESSION_LIMITER_H_
