// LoadContext: what every gateway and desktop of one load-generator run shares (options, the
// plan, statistics, the open-session limit, the sessions in flight, the run's phase, the
// count of calls in flight, the desktops' timers), and
// StartUnaryCall, the one way they make a unary call with the gRPC callback API.
//
//   StartUnaryCall<v1::AcceptOfferRequest, v1::AcceptOfferResponse>(
//       ctx, Rpc::kAcceptOffer, std::move(request),
//       [stub](auto* context, auto* req, auto* resp, auto done) {
//         stub->async()->AcceptOffer(context, req, resp, std::move(done));
//       },
//       [](const grpc::Status& s, const v1::AcceptOfferResponse& resp) { ... });
//
// The completion callback runs on a gRPC thread; it must not block. The context must outlive
// every call started with it: wait for `calls_in_flight()` to reach 0 before destroying it.

#ifndef OMNIROUTE_BENCH_LOAD_CONTEXT_H_
#define OMNIROUTE_BENCH_LOAD_CONTEXT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/load_options.h"
#include "bench/load_plan.h"
#include "bench/load_stats.h"
#include "bench/open_session_limiter.h"
#include "bench/session_tracker.h"
#include "bench/timer_queue.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace omniroute::bench {

// Microseconds on a monotonic clock (steady_clock), for latencies within this process.
inline int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The phase of a run. Gateways create sessions during kWarmup and kMeasure only; desktops
// answer new offers until kDrain (calls already chained, e.g. completing an accepted
// session, go on during kDrain).
enum class Phase { kSetup, kWarmup, kMeasure, kDrain };

// The request id of a CreateSession: "<run tag>-<gateway>-<sequence>", unique within the run
// and across runs on the same daemon (printable ASCII, about 20 characters).
inline std::string BenchRequestId(absl::string_view run_tag, int gateway, uint64_t sequence) {
  std::string id;
  id.reserve(32);
  id.append(run_tag.data(), run_tag.size());
  id += '-';
  id += std::to_string(gateway);
  id += '-';
  id += std::to_string(sequence);
  return id;
}

class LoadContext {
 public:
  // `plan` must outlive the context.
  LoadContext(const LoadOptions& options, const LoadPlan& plan, std::string run_tag)
      : options_(options),
        plan_(plan),
        run_tag_(std::move(run_tag)),
        limiter_(plan.max_open),
        sessions_(stats_, limiter_) {}
  LoadContext(const LoadContext&) = delete;
  LoadContext& operator=(const LoadContext&) = delete;

  const LoadOptions& options() const { return options_; }
  const LoadPlan& plan() const { return plan_; }
  // The desktops' delays. Stop() it before destroying what its callbacks use.
  TimerQueue& timers() { return timers_; }
  // Distinguishes this run's request ids from another run's on the same daemon.
  const std::string& run_tag() const { return run_tag_; }
  LoadStats& stats() { return stats_; }
  OpenSessionLimiter& limiter() { return limiter_; }
  SessionTracker& sessions() { return sessions_; }

  Phase phase() const { return phase_.load(std::memory_order_acquire); }
  void set_phase(Phase p) { phase_.store(p, std::memory_order_release); }
  bool creating() const {
    const Phase p = phase();
    return p == Phase::kWarmup || p == Phase::kMeasure;
  }

  // Unary calls started and not yet answered.
  int64_t calls_in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  void CallStarted() { in_flight_.fetch_add(1, std::memory_order_acq_rel); }
  void CallFinished() { in_flight_.fetch_sub(1, std::memory_order_acq_rel); }

  // Serialized sizes of CreateSession requests and responses (the first kSizeSamples of
  // each), for the echo baseline's message sizes.
  template <class Message>
  void NoteCreateRequest(const Message& m) { NoteSize(m, request_sizes_); }
  template <class Message>
  void NoteCreateResponse(const Message& m) { NoteSize(m, response_sizes_); }
  // Mean bytes; 0 when none was seen.
  int MeanCreateRequestBytes() const { return MeanSize(request_sizes_); }
  int MeanCreateResponseBytes() const { return MeanSize(response_sizes_); }

  // The deadline of a unary call started now.
  std::chrono::system_clock::time_point Deadline() const {
    return std::chrono::system_clock::now() + absl::ToChronoMicroseconds(options_.rpc_timeout);
  }

 private:
  static constexpr int64_t kSizeSamples = 1000;
  struct Sizes {
    std::atomic<int64_t> count{0};
    std::atomic<int64_t> bytes{0};
  };
  template <class Message>
  static void NoteSize(const Message& m, Sizes& sizes) {
    if (sizes.count.load(std::memory_order_relaxed) >= kSizeSamples) return;
    sizes.bytes.fetch_add(static_cast<int64_t>(m.ByteSizeLong()), std::memory_order_relaxed);
    sizes.count.fetch_add(1, std::memory_order_relaxed);
  }
  static int MeanSize(const Sizes& sizes) {
    const int64_t n = sizes.count.load(std::memory_order_relaxed);
    return n == 0 ? 0 : static_cast<int>(sizes.bytes.load(std::memory_order_relaxed) / n);
  }

  const LoadOptions options_;
  const LoadPlan& plan_;
  const std::string run_tag_;
  LoadStats stats_;
  OpenSessionLimiter limiter_;
  SessionTracker sessions_;
  std::atomic<Phase> phase_{Phase::kSetup};
  std::atomic<int64_t> in_flight_{0};
  Sizes request_sizes_;
  Sizes response_sizes_;
  TimerQueue timers_;
};

// One unary call with the callback API: `start(context, request, response, callback)` makes
// the call (e.g. `stub->async()->AcceptOffer(...)`); when it is answered the call is counted
// in the statistics with its latency, `done(status, response, started_us)` runs, and the
// call's state is freed. `origin_us` (MonotonicMicros() time), when given, is when the call
// should have started (the open loop's schedule): the latency and `started_us` count from
// it, so that a late send is not hidden (no coordinated omission).
template <class Request, class Response, class Start, class Done>
void StartUnaryCall(LoadContext& ctx, Rpc rpc, Request request, Start&& start, Done&& done,
                    int64_t origin_us = -1) {
  struct Call {
    Call(Request r, Done&& d) : request(std::move(r)), done(std::forward<Done>(d)) {}
    grpc::ClientContext context;
    Request request;
    Response response;
    int64_t started_us = 0;
    std::decay_t<Done> done;
  };
  auto* call = new Call(std::move(request), std::forward<Done>(done));
  call->context.set_deadline(ctx.Deadline());
  ctx.CallStarted();
  call->started_us = origin_us >= 0 ? origin_us : MonotonicMicros();
  start(&call->context, &call->request, &call->response,
        std::function<void(grpc::Status)>([&ctx, rpc, call](grpc::Status status) {
          ctx.stats().CountCall(rpc, status.error_code(), MonotonicMicros() - call->started_us);
          call->done(status, call->response, call->started_us);
          delete call;
          ctx.CallFinished();
        }));
}

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_LOAD_CONTEXT_H_
