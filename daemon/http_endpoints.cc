#include "daemon/http_endpoints.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/metrics.h"

namespace omniroute::daemon {
namespace {

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

absl::string_view ReadinessName(Readiness r) {
  switch (r) {
    case Readiness::kStarting:
      return "starting";
    case Readiness::kReady:
      return "ready";
    case Readiness::kStopping:
      return "stopping";
  }
  return "unknown";
}

// What /metrics and /wallboard/events take (admin may do everything).
constexpr uint32_t kSupervisorRole = 1u << v1::ROLE_SUPERVISOR;

// Refusals say why in a line of text; they never repeat the credentials.
HttpResponse Unauthorized(std::string why) {
  HttpResponse r = Text(401, std::move(why));
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"omniroute\"");
  return r;
}

HttpResponse TooMany(std::string why) {
  HttpResponse r = Text(429, std::move(why));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

// Authenticates the request, takes a token of its client's rate limit and checks that its
// roles include one of `required`: the client, or the answer that refuses the request.
absl::StatusOr<Principal*> Admit(const Security& security, const HttpRequest& request,
                                 uint32_t required, std::optional<HttpResponse>* refusal) {
  absl::StatusOr<Principal*> caller = security.Authenticate(request.authorization, request.peer);
  if (!caller.ok()) {
    if (request.authorization.empty() && !request.peer.verified) {
      *refusal = Unauthorized(
          "authentication required: send the header \"Authorization: Bearer <token>\" or a "
          "client certificate (docs/SECURITY.md)\n");
    } else if (request.authorization.empty()) {
      *refusal = Unauthorized(
          "invalid credentials: no client has the name of this certificate "
          "(security.clients certificate_name)\n");
    } else {
      *refusal = Unauthorized("invalid credentials\n");
    }
    return caller.status();
  }
  Principal& p = **caller;
  if (!p.TakeToken(std::chrono::steady_clock::now())) {
    *refusal = TooMany(absl::StrCat("rate limit: client \"", p.name(),
                                    "\" is over its requests a second (security.rate_limits)\n"));
    return absl::ResourceExhaustedError("rate limit");
  }
  if (grpc::Status s = security.Authorize(p, required); !s.ok()) {
    *refusal = Text(403, absl::StrCat(s.error_message(), "\n"));
    return absl::PermissionDeniedError("role");
  }
  return &p;
}

}  // namespace

HttpHandler MakeHttpHandler(Router& router, const CallMetrics& calls,
                            const std::atomic<Readiness>& readiness, Wallboard& wallboard,
                            const Security& security) {
  return [&router, &calls, &readiness, &wallboard, &security](
             const HttpRequest& request, std::function<void(HttpResponse)> respond) {
    if (request.method != "GET" && request.method != "HEAD") {
      HttpResponse r = Text(405, absl::StrCat(request.method, " is not allowed: use GET\n"));
      return respond(std::move(r));
    }
    const Readiness now = readiness.load();
    if (request.path == "/healthz") return respond(Text(200, "ok\n"));
    if (request.path == "/readyz") {
      return respond(
          Text(now == Readiness::kReady ? 200 : 503, absl::StrCat(ReadinessName(now), "\n")));
    }
    if (request.path == "/metrics") {
      std::optional<HttpResponse> refusal;
      if (!Admit(security, request, kSupervisorRole, &refusal).ok()) {
        return respond(*std::move(refusal));
      }
      if (now != Readiness::kReady) {
        return respond(Text(503, absl::StrCat("not ready: ", ReadinessName(now), "\n")));
      }
      // The figures of the engine thread are read there, between two batches.
      router.Submit([&router, &calls, respond = std::move(respond)] {
        Exposition out;
        WriteEngineMetrics(out, router.engine(), router.stats(), router.session_counters(),
                           router.now(), router.settings().stats_default_window);
        WriteEngineWorkMetrics(out, router.engine_metrics());
        calls.Write(out);
        HttpResponse r;
        r.content_type = kMetricsContentType;
        r.body = out.Take();
        respond(std::move(r));
      });
      return;
    }
    if (request.path == "/" || request.path == "/wallboard") {
      HttpResponse r;
      r.content_type = "text/html; charset=utf-8";
      r.body = kWallboardHtml;
      return respond(std::move(r));
    }
    if (request.path == "/wallboard/events") {
      std::optional<HttpResponse> refusal;
      absl::StatusOr<Principal*> caller = Admit(security, request, kSupervisorRole, &refusal);
      if (!caller.ok()) return respond(*std::move(refusal));
      if (now != Readiness::kReady) {
        return respond(Text(503, absl::StrCat("not ready: ", ReadinessName(now), "\n")));
      }
      // The stream counts against its client's streams as long as it is open.
      absl::StatusOr<StreamTicket> ticket = security.OpenStream(**caller);
      if (!ticket.ok()) {
        return respond(TooMany(absl::StrCat(ticket.status().message(), "\n")));
      }
      std::shared_ptr<void> hold = std::make_shared<StreamTicket>(*std::move(ticket));
      router.Submit([&wallboard, hold = std::move(hold), respond = std::move(respond)] {
        HttpResponse r;
        r.hold = hold;
        r.content_type = "text/event-stream; charset=utf-8";
        r.stream_topic = Wallboard::kTopic;
        r.body = wallboard.FirstChunk();
        respond(std::move(r));
      });
      return;
    }
    respond(Text(
        404, absl::StrCat(request.path, " not found (try /, /metrics, /healthz or /readyz)\n")));
  };
}

}  // namespace omniroute::daemon
