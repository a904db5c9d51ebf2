#include "bench/gateway.h"

#include <functional>
#include <utility>

#include "bench/load_stats.h"

namespace omniroute::bench {

namespace v1 = ::omniroute::v1;

void Gateway::Start() {
  for (int i = 0; i < ctx_.options().inflight; ++i) Next();
}

void Gateway::RetryFailed() {
  for (int n = failed_loops_.exchange(0, std::memory_order_acq_rel); n > 0; --n) Next();
}

void Gateway::Next() {
  if (!ctx_.creating()) return;
  if (!ctx_.limiter().Acquire([this] { Create(); })) return;  // resumed by a Release()
  Create();
}

void Gateway::Create() {
  if (!ctx_.creating()) {
    ctx_.limiter().Release();
    return;
  }
  const uint64_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed);
  v1::CreateSessionRequest request;
  request.set_request_id(BenchRequestId(ctx_.run_tag(), index_, sequence));
  request.set_channel_id(ctx_.options().channel);
  request.set_queue_id(ctx_.options().queue);
  StartUnaryCall<v1::CreateSessionRequest, v1::CreateSessionResponse>(
      ctx_, Rpc::kCreateSession, std::move(request),
      [this](grpc::ClientContext* context, const v1::CreateSessionRequest* req,
             v1::CreateSessionResponse* resp, std::function<void(grpc::Status)> done) {
        stub_.async()->CreateSession(context, req, resp, std::move(done));
      },
      [this](const grpc::Status& status, const v1::CreateSessionResponse& response,
             int64_t started_us) {
        if (status.ok() && !response.duplicate()) {
          ctx_.stats().Count(Milestone::kCreated);
          ctx_.sessions().Created(response.session().id(), started_us);
          Next();
          return;
        }
        // Not created (or not by this call): the place is free again, and this loop waits
        // for RetryFailed().
        ctx_.limiter().Release();
        failed_loops_.fetch_add(1, std::memory_order_acq_rel);
      });
}

}  // namespace omniroute::bench
