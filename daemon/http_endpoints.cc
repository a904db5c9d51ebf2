#include "daemon/http_endpoints.h"

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

}  // namespace

HttpHandler MakeHttpHandler(Router& router, const CallMetrics& calls,
                            const std::atomic<Readiness>& readiness, Wallboard& wallboard) {
  return [&router, &calls, &readiness, &wallboard](const HttpRequest& request,
                                                   std::function<void(HttpResponse)> respond) {
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
      if (now != Readiness::kReady) {
        return respond(Text(503, absl::StrCat("not ready: ", ReadinessName(now), "\n")));
      }
      router.Submit([&wallboard, respond = std::move(respond)] {
        HttpResponse r;
        r.content_type = "text/event-stream; charset=utf-8";
        r.stream_topic = Wallboard::kTopic;
        r.body = wallboard.FirstChunk();
        respond(std::move(r));
      });
      return;
    }
    respond(Text(404, absl::StrCat(request.path,
                                   " not found (try /, /metrics, /healthz or /readyz)\n")));
  };
}

}  // namespace omniroute::daemon
