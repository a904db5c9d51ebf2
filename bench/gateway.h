// Gateway: one simulated channel gateway. It keeps `inflight` CreateSession calls outstanding
// (closed loop: each answer starts the next call), as long as the run is in its warmup or
// measurement phase and the open-session limit allows.
//
//   Gateway gateway(0, ctx, session_stub);
//   gateway.Start();           // returns at once; calls run on gRPC threads
//   ...                        // ctx.set_phase(Phase::kDrain) stops new calls
//
// Every session is created in the options' queue on the options' channel (request id:
// BenchRequestId) and handed to the run's SessionTracker with the time its call was sent. A
// call that fails gives its open-session place back. The gateway, its context and its stub must outlive the calls it started
// (ctx.calls_in_flight() == 0). Thread-safe.

#ifndef OMNIROUTE_BENCH_GATEWAY_H_
#define OMNIROUTE_BENCH_GATEWAY_H_

#include <atomic>
#include <cstdint>

#include "bench/load_context.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::bench {

class Gateway {
 public:
  Gateway(int index, LoadContext& ctx, omniroute::v1::SessionService::Stub& stub)
      : index_(index), ctx_(ctx), stub_(stub) {}
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts `inflight` call loops.
  void Start();
  // Restarts the call loops that stopped after a failed call. The owner calls it every
  // ~100 ms: a failed call's loop so waits instead of spinning (and never recurses, should
  // gRPC answer a call on the thread that starts it).
  void RetryFailed();

 private:
  // Takes an open-session place (or parks until one is free), then creates a session.
  void Next();
  // Creates a session with a place already taken.
  void Create();

  const int index_;
  LoadContext& ctx_;
  omniroute::v1::SessionService::Stub& stub_;
  std::atomic<uint64_t> sequence_{0};
  // Call loops stopped after a failed call, waiting for RetryFailed().
  std::atomic<int> failed_loops_{0};
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_GATEWAY_H_
