// Desktop: one simulated agent desktop. It opens StreamOffers for its agent, sets the agent
// AVAILABLE once the snapshot has arrived, and answers every direct offer as its behaviour
// (LoadPlan) says: after the accept delay, RejectOffer with the reject probability, else
// AcceptOffer (with the offer_id); after the handle time of the session's stream,
// CompleteSession; when the session went to WRAP_UP, EndWrapUp after the wrap-up time (or
// never, when the behaviour has none: the queue's wrap-up duration runs out on the daemon).
// Delays of 0 answer at once on the gRPC thread; others wait on the run's TimerQueue, never
// on a gRPC thread. Sessions pending or held in the snapshot are finished at once.
//
//   Desktop desktop(plan.desktops[0], ctx, agent_stub, session_stub);
//   desktop.Open();                    // returns at once; the stream runs on gRPC threads
//   ... desktop.ready() ...            // AVAILABLE, taking offers
//   desktop.Close();                   // cancels the stream
//   desktop.AwaitClosed(absl::Seconds(5));
//
// Every offer is reported to the run's SessionTracker (create-to-offer latency), every
// successful accept too (create-to-assigned). New offers, and offers whose accept delay
// has not run out, are left unanswered once the run drains (Phase::kDrain); sessions already
// accepted are still completed (the run hurries the timers then: at once). A session that
// completes, or that the desktop gives up on after an error, is reported finished to the
// tracker (which gives back the place of a session this run created). A stream that ends by itself (the daemon ended it, e.g. for falling behind) is
// counted as a StreamOffers call with its status; Reopen() opens a new one.
//
// The desktop must outlive its stream (AwaitClosed) and every call it started
// (ctx.calls_in_flight() == 0). Thread-safe.

#ifndef OMNIROUTE_BENCH_DESKTOP_H_
#define OMNIROUTE_BENCH_DESKTOP_H_

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "bench/load_context.h"
#include "bench/load_plan.h"
#include "omniroute/v1/agent_service.grpc.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::bench {

class Desktop {
 public:
  Desktop(const DesktopPlan& plan, LoadContext& ctx, omniroute::v1::AgentService::Stub& agents,
          omniroute::v1::SessionService::Stub& sessions)
      : agent_id_(plan.agent_id),
        behaviour_(ctx.plan().behaviours[plan.behaviour]),
        ctx_(ctx),
        agents_(agents),
        sessions_(sessions) {}
  Desktop(const Desktop&) = delete;
  Desktop& operator=(const Desktop&) = delete;

  const std::string& agent_id() const { return agent_id_; }

  // Opens the stream if none is open and Close() was not called; true if it opened one.
  bool Open();
  // The snapshot arrived and SetPresence(AVAILABLE) succeeded on the current stream.
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool stream_open() const;
  // Streams that ended without Close() (each counted in the statistics).
  int lost_streams() const { return lost_streams_.load(std::memory_order_relaxed); }
  // The status of the last stream that ended without Close(), for the log.
  std::string last_stream_error() const;

  // Cancels the stream (no reopening afterwards).
  void Close();
  // Waits until no stream is open; false if one still is after `timeout`.
  bool AwaitClosed(absl::Duration timeout);

 private:
  class OfferStream;

  void OnMessage(const omniroute::v1::StreamOffersResponse& message);
  void OnStreamDone(const grpc::Status& status);

  // What an answer to an offer needs of it.
  struct OfferRef {
    std::string session_id;
    std::string offer_id;
    std::string queue_id;
    std::string channel_id;
  };

  void SetAvailable();
  // After the accept delay: Answer().
  void Offered(const omniroute::v1::Offer& offer);
  // Rejects or accepts (not in the drain).
  void Answer(const OfferRef& offer);
  void Accept(const OfferRef& offer);
  void Reject(const OfferRef& offer);
  // At once (delay 0) or on the timer.
  void After(const sim::Distribution& delay, std::function<void()> then);
  void Complete(const std::string& session_id);
  // After the wrap-up time, or never (Finished at once) when the behaviour has none.
  void WrapUp(const std::string& session_id);
  void EndWrapUp(const std::string& session_id);
  // The session is COMPLETED (`completed`) or given up on after an error.
  void Finished(const std::string& session_id, bool completed);

  const std::string agent_id_;
  const Behaviour& behaviour_;
  LoadContext& ctx_;
  omniroute::v1::AgentService::Stub& agents_;
  omniroute::v1::SessionService::Stub& sessions_;

  std::atomic<bool> ready_{false};
  std::atomic<int> lost_streams_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  OfferStream* stream_ = nullptr;  // guarded by mu_; the open stream, owned by gRPC
  bool closed_ = false;            // guarded by mu_
  std::string last_stream_error_;  // guarded by mu_
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_DESKTOP_H_
