// The outgoing side of a server stream, shared by gRPC and the engine thread.
//
// The engine thread never waits for a client: it `Push`es messages into a bounded buffer and
// goes on. gRPC writes them one at a time as the client reads. When the buffer is full (the
// consumer fell `capacity` messages behind), the stream is ended at once with
// RESOURCE_EXHAUSTED and its buffer dropped; the engine is not affected.
//
// Lifetime: an OutStream owns itself (gRPC holds it as the call's reactor) until gRPC calls
// OnDone; the engine thread holds it through a shared_ptr, so a Push after the client went
// away is safe and returns false.

#ifndef OMNIROUTE_DAEMON_STREAM_H_
#define OMNIROUTE_DAEMON_STREAM_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace omniroute::daemon {

template <class Response>
class OutStream final : public grpc::ServerWriteReactor<Response> {
 public:
  // `on_done` runs once, on a gRPC thread, when the call is over (whatever ended it).
  static std::shared_ptr<OutStream> Create(size_t capacity, std::function<void()> on_done) {
    std::shared_ptr<OutStream> s(new OutStream(capacity, std::move(on_done)));
    s->self_ = s;
    return s;
  }

  // Queues `message`. False when the stream has ended (or just ended because it overflowed).
  bool Push(Response message) {
    std::unique_lock<std::mutex> lock(mu_);
    if (closing_ || done_) return false;
    if (queue_.size() >= capacity_ + burst_) {
      queue_.clear();
      closing_ = true;
      overflowed_ = true;
      status_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             "the stream's consumer fell behind by more than "
                             "limits.stream_buffer_size messages; resume with a new stream");
      Kick(lock);
      return false;
    }
    queue_.push_back(std::move(message));
    Kick(lock);
    return true;
  }

  // Ends the stream with `status` once the messages already queued are written.
  void Close(const grpc::Status& status) {
    std::unique_lock<std::mutex> lock(mu_);
    if (closing_ || done_) return;
    closing_ = true;
    status_ = status;
    Kick(lock);
  }

  // Lets the buffer hold `extra` more messages, an allowance used up as messages are written
  // (for a replay of history at the start of a stream).
  void AllowBurst(size_t extra) {
    std::lock_guard<std::mutex> lock(mu_);
    burst_ = extra;
  }

  // True once the stream is ending or over: pushes are refused.
  bool ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return closing_ || done_;
  }
  // True once, the first time it is asked after the stream was ended because its consumer
  // fell behind (so that it is logged once).
  bool TakeOverflowNotice() {
    std::lock_guard<std::mutex> lock(mu_);
    const bool notice = overflowed_ && !overflow_noticed_;
    overflow_noticed_ |= overflowed_;
    return notice;
  }

 private:
  OutStream(size_t capacity, std::function<void()> on_done)
      : capacity_(capacity), on_done_(std::move(on_done)) {}

  // Starts the next write, or the Finish, if nothing is in flight. Called with `lock` held;
  // releases it before calling into gRPC.
  void Kick(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_ || done_) return;
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      if (burst_ > 0) --burst_;  // one message of the replay allowance is on its way
      writing_ = true;
      lock.unlock();
      this->StartWrite(&current_);
      return;
    }
    if (closing_) {
      finished_ = true;
      const grpc::Status status = status_;
      lock.unlock();
      this->Finish(status);
    }
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok && !closing_) {  // the call is broken (client gone): finish it
      queue_.clear();
      closing_ = true;
      status_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream broken");
    }
    Kick(lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!closing_) {
      queue_.clear();
      closing_ = true;
      status_ = grpc::Status::CANCELLED;
    }
    Kick(lock);
  }

  void OnDone() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      queue_.clear();
    }
    if (on_done_) on_done_();
    on_done_ = nullptr;
    std::shared_ptr<OutStream> self = std::move(self_);  // may delete this when it goes
  }

  const size_t capacity_;
  std::function<void()> on_done_;
  std::shared_ptr<OutStream> self_;

  std::mutex mu_;
  std::deque<Response> queue_;
  Response current_;
  size_t burst_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool done_ = false;
  bool overflowed_ = false;
  bool overflow_noticed_ = false;
  grpc::Status status_;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_STREAM_H_
