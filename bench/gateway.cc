#include "bench/gateway.h"

#include <functional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/distribution.h"
#include "bench/load_stats.h"

namespace omniroute::bench {

namespace v1 = ::omniroute::v1;
namespace echo = ::omniroute::bench::echo;

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
  if (echo_ != nullptr) {
    CallEcho(-1, /*closed_loop=*/true);
    return;
  }
  // The closed loop draws the mix on whatever thread answers: reproducibility is the open
  // loop's (the schedule's), not this one's.
  const LoadPlan& plan = ctx_.plan();
  sim::Rng& rng = ThreadRng();
  const int stream = plan.stream_mix.Pick(sim::Uniform01(rng));
  const StreamPlan& s = plan.streams[stream];
  const int customer = s.customers.empty() ? -1 : s.customer_mix.Pick(sim::Uniform01(rng));
  Call(-1, stream, customer, /*closed_loop=*/true);
}

void Gateway::SendAt(int64_t scheduled_us, int stream, int customer) {
  if (echo_ != nullptr) {
    CallEcho(scheduled_us, /*closed_loop=*/false);
  } else {
    Call(scheduled_us, stream, customer, /*closed_loop=*/false);
  }
}

void Gateway::Call(int64_t origin_us, int stream, int customer, bool closed_loop) {
  const StreamPlan& s = ctx_.plan().streams[stream];
  const uint64_t sequence = sequence_.fetch_add(1, std::memory_order_relaxed);
  v1::CreateSessionRequest request;
  request.set_request_id(BenchRequestId(ctx_.run_tag(), index_, sequence));
  request.set_channel_id(s.channel_id);
  request.set_queue_id(s.queue_id);
  for (const v1::Requirement& r : s.requirements) *request.add_requirements() = r;
  request.set_priority(s.priority);
  if (customer >= 0) {
    v1::Customer* c = request.mutable_customer();
    *c = s.customers[customer];
    // An anonymous profile: a fresh customer per session.
    if (c->id().empty()) c->set_id(absl::StrCat("c-", request.request_id()));
  }
  ctx_.NoteCreateRequest(request);
  StartUnaryCall<v1::CreateSessionRequest, v1::CreateSessionResponse>(
      ctx_, Rpc::kCreateSession, std::move(request),
      [this](grpc::ClientContext* context, const v1::CreateSessionRequest* req,
             v1::CreateSessionResponse* resp, std::function<void(grpc::Status)> done) {
        sessions_->async()->CreateSession(context, req, resp, std::move(done));
      },
      [this, closed_loop](const grpc::Status& status, const v1::CreateSessionResponse& response,
                          int64_t started_us) {
        if (status.ok() && !response.duplicate()) {
          ctx_.NoteCreateResponse(response);
          ctx_.stats().Count(Milestone::kCreated);
          ctx_.sessions().Created(response.session().id(), started_us);
          if (closed_loop) Next();
          return;
        }
        // Not created (or not by this call): the place is free again, and a closed loop
        // waits for RetryFailed().
        ctx_.limiter().Release();
        if (closed_loop) failed_loops_.fetch_add(1, std::memory_order_acq_rel);
      },
      origin_us);
}

void Gateway::CallEcho(int64_t origin_us, bool closed_loop) {
  echo::EchoRequest request;
  request.mutable_payload()->assign(static_cast<size_t>(echo_sizes_.request_payload), 'x');
  request.set_response_payload_bytes(echo_sizes_.response_payload);
  StartUnaryCall<echo::EchoRequest, echo::EchoResponse>(
      ctx_, Rpc::kEcho, std::move(request),
      [this](grpc::ClientContext* context, const echo::EchoRequest* req, echo::EchoResponse* resp,
             std::function<void(grpc::Status)> done) {
        echo_->async()->Echo(context, req, resp, std::move(done));
      },
      [this, closed_loop](const grpc::Status& status, const echo::EchoResponse&, int64_t) {
        ctx_.limiter().Release();
        if (!closed_loop) return;
        if (status.ok()) {
          Next();
        } else {
          failed_loops_.fetch_add(1, std::memory_order_acq_rel);
        }
      },
      origin_us);
}

}  // namespace omniroute::bench
