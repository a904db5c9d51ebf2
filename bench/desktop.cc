#include "bench/desktop.h"

#include <functional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/distribution.h"
#include "bench/load_stats.h"
#include "grpcpp/support/client_callback.h"

namespace omniroute::bench {

namespace v1 = ::omniroute::v1;

// The reactor of one StreamOffers call. Deletes itself when the call is done, after telling
// its desktop.
class Desktop::OfferStream final : public grpc::ClientReadReactor<v1::StreamOffersResponse> {
 public:
  explicit OfferStream(Desktop& desktop) : desktop_(desktop) {
    request_.set_agent_id(desktop.agent_id_);
    // As docs/API.md recommends for desktops: the agent goes OFFLINE when the stream ends.
    request_.set_offline_on_disconnect(true);
  }

  void Start() {
    desktop_.agents_.async()->StreamOffers(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream is ending: OnDone follows
    desktop_.OnMessage(message_);
    message_.Clear();
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    desktop_.OnStreamDone(status);
    delete this;
  }

 private:
  Desktop& desktop_;
  grpc::ClientContext context_;
  v1::StreamOffersRequest request_;
  v1::StreamOffersResponse message_;
};

bool Desktop::Open() {
  OfferStream* stream = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || stream_ != nullptr) return false;
    stream = stream_ = new OfferStream(*this);
  }
  // Outside the lock: gRPC may run OnDone on this thread (a call that fails at once). A
  // Close() in between cancels the context before the call starts, which gRPC honours.
  stream->Start();
  return true;
}

bool Desktop::stream_open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stream_ != nullptr;
}

std::string Desktop::last_stream_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_stream_error_;
}

void Desktop::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  if (stream_ != nullptr) stream_->Cancel();
}

bool Desktop::AwaitClosed(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoMicroseconds(timeout),
                      [this] { return stream_ == nullptr; });
}

void Desktop::OnStreamDone(const grpc::Status& status) {
  ready_.store(false, std::memory_order_release);
  std::lock_guard<std::mutex> lock(mu_);
  stream_ = nullptr;
  if (!closed_) {
    lost_streams_.fetch_add(1, std::memory_order_relaxed);
    ctx_.stats().CountCall(Rpc::kStreamOffers, status.error_code(), 0);
    last_stream_error_ = absl::StrCat(StatusCodeName(static_cast<int>(status.error_code())),
                                      ": ", status.error_message());
  }
  cv_.notify_all();
}

void Desktop::OnMessage(const v1::StreamOffersResponse& message) {
  ctx_.stats().Count(Milestone::kStreamMessage);
  switch (message.update_case()) {
    case v1::StreamOffersResponse::kSnapshot: {
      // Left over from an earlier stream or run: finished at once, whatever the behaviour.
      const v1::AgentSnapshot& snapshot = message.snapshot();
      for (const v1::Offer& offer : snapshot.pending_offers()) {
        if (offer.delivery_mode() != v1::DELIVERY_MODE_DIRECT) continue;
        Accept(OfferRef{offer.session().id(), offer.offer_id(), offer.session().queue_id(),
                        offer.session().channel_id()});
      }
      for (const v1::Session& held : snapshot.held_sessions()) {
        if (held.state() == v1::SESSION_STATE_ASSIGNED) {
          Complete(held.id());
        } else if (held.state() == v1::SESSION_STATE_WRAP_UP) {
          EndWrapUp(held.id());
        }
      }
      SetAvailable();
      break;
    }
    case v1::StreamOffersResponse::kOffer: {
      const v1::Offer& offer = message.offer();
      ctx_.stats().Count(Milestone::kOffered);
      ctx_.sessions().Offered(offer.session().id(), MonotonicMicros());
      if (ctx_.phase() != Phase::kDrain) Offered(offer);
      break;
    }
    default:
      break;
  }
}

void Desktop::SetAvailable() {
  v1::SetPresenceRequest request;
  request.set_agent_id(agent_id_);
  request.set_presence(v1::PRESENCE_AVAILABLE);
  StartUnaryCall<v1::SetPresenceRequest, v1::SetPresenceResponse>(
      ctx_, Rpc::kSetPresence, std::move(request),
      [this](grpc::ClientContext* context, const v1::SetPresenceRequest* req,
             v1::SetPresenceResponse* resp, std::function<void(grpc::Status)> done) {
        agents_.async()->SetPresence(context, req, resp, std::move(done));
      },
      [this](const grpc::Status& status, const v1::SetPresenceResponse&, int64_t) {
        if (status.ok()) {
          ready_.store(true, std::memory_order_release);
        } else {
          std::lock_guard<std::mutex> lock(mu_);
          last_stream_error_ = absl::StrCat("SetPresence: ",
                                            StatusCodeName(static_cast<int>(status.error_code())),
                                            ": ", status.error_message());
        }
      });
}

void Desktop::After(const sim::Distribution& delay, std::function<void()> then) {
  if (delay.is_zero()) {
    then();
  } else {
    ctx_.timers().After(delay.Sample(ThreadRng()), std::move(then));
  }
}

void Desktop::Offered(const v1::Offer& offer) {
  if (offer.delivery_mode() != v1::DELIVERY_MODE_DIRECT) return;  // grab mode: not simulated
  OfferRef ref{offer.session().id(), offer.offer_id(), offer.session().queue_id(),
               offer.session().channel_id()};
  After(behaviour_.accept_delay, [this, ref = std::move(ref)] { Answer(ref); });
}

void Desktop::Answer(const OfferRef& offer) {
  // The run is ending: the offer is left to expire on the daemon.
  if (ctx_.phase() == Phase::kDrain) return;
  if (behaviour_.reject_probability > 0 &&
      sim::Uniform01(ThreadRng()) < behaviour_.reject_probability) {
    Reject(offer);
  } else {
    Accept(offer);
  }
}

void Desktop::Reject(const OfferRef& offer) {
  v1::RejectOfferRequest request;
  request.set_session_id(offer.session_id);
  request.set_agent_id(agent_id_);
  request.set_offer_id(offer.offer_id);
  StartUnaryCall<v1::RejectOfferRequest, v1::RejectOfferResponse>(
      ctx_, Rpc::kRejectOffer, std::move(request),
      [this](grpc::ClientContext* context, const v1::RejectOfferRequest* req,
             v1::RejectOfferResponse* resp, std::function<void(grpc::Status)> done) {
        agents_.async()->RejectOffer(context, req, resp, std::move(done));
      },
      // Rejected (or gone): the session is offered again, to this agent or another.
      [](const grpc::Status&, const v1::RejectOfferResponse&, int64_t) {});
}

void Desktop::Accept(const OfferRef& offer) {
  v1::AcceptOfferRequest request;
  request.set_session_id(offer.session_id);
  request.set_agent_id(agent_id_);
  request.set_offer_id(offer.offer_id);
  StartUnaryCall<v1::AcceptOfferRequest, v1::AcceptOfferResponse>(
      ctx_, Rpc::kAcceptOffer, std::move(request),
      [this](grpc::ClientContext* context, const v1::AcceptOfferRequest* req,
             v1::AcceptOfferResponse* resp, std::function<void(grpc::Status)> done) {
        agents_.async()->AcceptOffer(context, req, resp, std::move(done));
      },
      [this, offer](const grpc::Status& status, const v1::AcceptOfferResponse&, int64_t) {
        // On an error the offer is gone (expired, rescinded): the session is offered again
        // and comes back on a stream, so its place is kept.
        if (!status.ok()) return;
        ctx_.stats().Count(Milestone::kRouted);
        ctx_.sessions().Assigned(offer.session_id, MonotonicMicros());
        const StreamPlan& stream = ctx_.plan().StreamFor(offer.queue_id, offer.channel_id);
        After(stream.handle_time, [this, id = offer.session_id] { Complete(id); });
      });
}

void Desktop::Complete(const std::string& session_id) {
  v1::CompleteSessionRequest request;
  request.set_session_id(session_id);
  request.set_agent_id(agent_id_);
  StartUnaryCall<v1::CompleteSessionRequest, v1::CompleteSessionResponse>(
      ctx_, Rpc::kCompleteSession, std::move(request),
      [this](grpc::ClientContext* context, const v1::CompleteSessionRequest* req,
             v1::CompleteSessionResponse* resp, std::function<void(grpc::Status)> done) {
        sessions_.async()->CompleteSession(context, req, resp, std::move(done));
      },
      [this, session_id](const grpc::Status& status, const v1::CompleteSessionResponse& response,
                         int64_t) {
        if (!status.ok()) {
          Finished(session_id, /*completed=*/false);
        } else if (response.session().state() == v1::SESSION_STATE_WRAP_UP) {
          WrapUp(session_id);
        } else {
          Finished(session_id, response.session().state() == v1::SESSION_STATE_COMPLETED);
        }
      });
}

void Desktop::WrapUp(const std::string& session_id) {
  if (!behaviour_.wrap_up_time.has_value()) {
    // The agent waits for the queue's wrap-up duration: the session is done as far as the
    // desktop goes (counted completed; the daemon completes it when the wrap-up runs out).
    Finished(session_id, /*completed=*/true);
    return;
  }
  After(*behaviour_.wrap_up_time, [this, session_id] { EndWrapUp(session_id); });
}

void Desktop::EndWrapUp(const std::string& session_id) {
  v1::EndWrapUpRequest request;
  request.set_session_id(session_id);
  request.set_agent_id(agent_id_);
  StartUnaryCall<v1::EndWrapUpRequest, v1::EndWrapUpResponse>(
      ctx_, Rpc::kEndWrapUp, std::move(request),
      [this](grpc::ClientContext* context, const v1::EndWrapUpRequest* req,
             v1::EndWrapUpResponse* resp, std::function<void(grpc::Status)> done) {
        agents_.async()->EndWrapUp(context, req, resp, std::move(done));
      },
      [this, session_id](const grpc::Status& status, const v1::EndWrapUpResponse&, int64_t) {
        Finished(session_id, status.ok());
      });
}

void Desktop::Finished(const std::string& session_id, bool completed) {
  if (completed) ctx_.stats().Count(Milestone::kCompleted);
  // Gives the session's open-session place back if this run created it.
  ctx_.sessions().Finished(session_id);
}

}  // namespace omniroute::bench
