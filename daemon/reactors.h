// How the daemon's unary handlers answer: at once (bad input), after work on the engine thread
// (at the commit of its batch, so that the answer is durable), or after work on a directory
// worker (customers.h) that may go on to the engine thread.

#ifndef OMNIROUTE_DAEMON_REACTORS_H_
#define OMNIROUTE_DAEMON_REACTORS_H_

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "daemon/router.h"
#include "grpcpp/grpcpp.h"

namespace omniroute::daemon {

// INVALID_ARGUMENT "<field>: <problem>".
inline grpc::Status Invalid(absl::string_view field, absl::string_view problem) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat(field, ": ", problem));
}
// INVALID_ARGUMENT "<field>: required" when `value` is empty.
inline grpc::Status Required(absl::string_view field, const std::string& value) {
  return value.empty() ? Invalid(field, "required") : grpc::Status::OK;
}

// Answers at once (bad input, refused before reaching the engine).
inline grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx,
                                        const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

// On the engine thread (inside submitted work, with the call counted by CallStarted): runs
// `fn` (returning grpc::Status) and answers at the batch's commit.
template <class Fn>
void FinishOnEngine(Router& router, grpc::ServerUnaryReactor* reactor, Fn&& fn) {
  const grpc::Status status = fn();
  router.AfterCommit([&router, reactor, status] {
    reactor->Finish(status);
    router.CallFinished();
  });
}

// Runs `fn` (returning grpc::Status) on the engine thread and answers at the batch's commit.
template <class Fn>
grpc::ServerUnaryReactor* OnEngine(grpc::CallbackServerContext* ctx, Router& router, Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  router.CallStarted();
  router.Submit([&router, reactor, fn = std::move(fn)]() mutable {
    FinishOnEngine(router, reactor, fn);
  });
  return reactor;
}

// The answer of a call whose work hops threads: exactly one of Finish() (answer now, from any
// thread) or Engine(fn) (run fn on the engine thread, answer at its commit) must be called.
class PendingCall {
 public:
  PendingCall(Router& router, grpc::ServerUnaryReactor* reactor)
      : router_(&router), reactor_(reactor) {}
  void Finish(const grpc::Status& status) const {
    reactor_->Finish(status);
    router_->CallFinished();
  }
  template <class Fn>
  void Engine(Fn fn) const {
    Router* router = router_;
    grpc::ServerUnaryReactor* reactor = reactor_;
    router->Submit([router, reactor, fn = std::move(fn)]() mutable {
      FinishOnEngine(*router, reactor, fn);
    });
  }

 private:
  Router* router_;
  grpc::ServerUnaryReactor* reactor_;
};

// Starts a call whose work first runs on a thread `post` provides (a directory worker): `fn`
// gets the PendingCall and must finish it, directly or through the engine.
template <class Post, class Fn>
grpc::ServerUnaryReactor* OnWorker(grpc::CallbackServerContext* ctx, Router& router, Post post,
                                   Fn fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  router.CallStarted();
  post([call = PendingCall(router, reactor), fn = std::move(fn)]() mutable { fn(call); });
  return reactor;
}

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_REACTORS_H_
