#include "bench/timer_queue.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <utility>

namespace omniroute::bench {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() { Stop(); }

void TimerQueue::After(absl::Duration delay, std::function<void()> callback) {
  const int64_t due = NowMicros() + absl::ToInt64Microseconds(delay);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    heap_.push_back(Timer{due, sequence_++, std::move(callback)});
    std::push_heap(heap_.begin(), heap_.end(), Later());
    wake = hurry_ || due < sleeping_until_us_;
    if (wake) sleeping_until_us_ = due;  // no second wake for another timer behind this one
  }
  if (wake) cv_.notify_one();
}

void TimerQueue::Hurry() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    hurry_ = true;
  }
  cv_.notify_one();
}

int64_t TimerQueue::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(heap_.size()) + running_;
}

void TimerQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  heap_.clear();
}

void TimerQueue::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<std::function<void()>> due;
  while (!stop_) {
    if (heap_.empty()) {
      sleeping_until_us_ = std::numeric_limits<int64_t>::max();
      cv_.wait(lock);
      continue;
    }
    const int64_t now = NowMicros();
    if (!hurry_ && heap_.front().due_us > now) {
      sleeping_until_us_ = heap_.front().due_us;
      cv_.wait_for(lock, std::chrono::microseconds(sleeping_until_us_ - now));
      continue;
    }
    // Everything due now, run outside the lock so that callbacks may schedule timers.
    while (!heap_.empty() && (hurry_ || heap_.front().due_us <= now)) {
      std::pop_heap(heap_.begin(), heap_.end(), Later());
      due.push_back(std::move(heap_.back().callback));
      heap_.pop_back();
    }
    running_ = static_cast<int64_t>(due.size());
    sleeping_until_us_ = 0;  // awake: After() need not notify
    lock.unlock();
    for (auto& callback : due) callback();
    due.clear();
    lock.lock();
    running_ = 0;
  }
}

}  // namespace omniroute::bench
