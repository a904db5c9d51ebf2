// Gateway: one simulated channel gateway. In the closed loop it keeps `inflight` calls
// outstanding (each answer starts the next call) as long as the run is in its warmup or
// measurement phase and the open-session limit allows; in the open loop the Pacer hands it
// sends at their scheduled times (SendAt).
//
//   Gateway gateway(0, ctx, &session_stub, /*echo=*/nullptr);
//   gateway.Start();           // closed loop: returns at once; calls run on gRPC threads
//   ...                        // ctx.set_phase(Phase::kDrain) stops new calls
//
// Against the daemon each call is a CreateSession on one of the plan's arrival streams
// (request id: BenchRequestId; queue, channel, requirements, priority and customer of the
// stream), handed to the run's SessionTracker with the time it was sent (open loop: its
// scheduled time). Against the echo server (--baseline=echo) each call is an Echo of the
// sizes given, and its open-session place is given back as soon as it is answered. A call
// that fails gives its place back. The gateway, its context and its stub must outlive the
// calls it started (ctx.calls_in_flight() == 0). Thread-safe.

#ifndef OMNIROUTE_BENCH_GATEWAY_H_
#define OMNIROUTE_BENCH_GATEWAY_H_

#include <atomic>
#include <cstdint>

#include "bench/load_context.h"
#include "echo.grpc.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::bench {

// Sizes of the echo calls (bytes of payload each way).
struct EchoSizes {
  int request_payload = 0;
  int response_payload = 0;
};

class Gateway {
 public:
  // Exactly one of `sessions` (the daemon) and `echo` (the baseline) is non-null.
  Gateway(int index, LoadContext& ctx, omniroute::v1::SessionService::Stub* sessions,
          omniroute::bench::echo::EchoService::Stub* echo, EchoSizes echo_sizes = {})
      : index_(index), ctx_(ctx), sessions_(sessions), echo_(echo), echo_sizes_(echo_sizes) {}
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Closed loop: starts `inflight` call loops.
  void Start();
  // Closed loop: restarts the call loops that stopped after a failed call. The owner calls it
  // every ~100 ms: a failed call's loop so waits instead of spinning (and never recurses,
  // should gRPC answer a call on the thread that starts it).
  void RetryFailed();

  // Open loop: one call, with an open-session place already taken, due at `scheduled_us`
  // (MonotonicMicros), on stream `stream` of the plan with its customer `customer` (-1:
  // anonymous).
  void SendAt(int64_t scheduled_us, int stream, int customer);

 private:
  // Takes an open-session place (or parks until one is free), then calls.
  void Next();
  // Closed loop: calls with a place already taken.
  void Create();
  // One call; `closed_loop`: its answer starts the next one.
  void Call(int64_t origin_us, int stream, int customer, bool closed_loop);
  void CallEcho(int64_t origin_us, bool closed_loop);

  const int index_;
  LoadContext& ctx_;
  omniroute::v1::SessionService::Stub* const sessions_;
  omniroute::bench::echo::EchoService::Stub* const echo_;
  const EchoSizes echo_sizes_;
  std::atomic<uint64_t> sequence_{0};
  // Call loops stopped after a failed call, waiting for RetryFailed().
  std::atomic<int> failed_loops_{0};
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_GATEWAY_H_
