// What the daemon serves over HTTP (http_server.h): the wallboard, /metrics, /healthz,
// /readyz.
//
// /healthz (liveness): 200 "ok" whenever the process answers HTTP, from the start of the
// recovery to the end of the shutdown. /readyz (readiness): 200 "ready" once the state is
// recovered and gRPC is serving, 503 with "starting" (during the recovery) or "stopping"
// (from SIGTERM on). /metrics: the Prometheus exposition (metrics.h), built on the engine
// thread; 503 before the daemon is ready. / (and /wallboard): the wallboard page
// (wallboard.h); /wallboard/events: its server-sent events, 503 before the daemon is ready.
// Other paths are 404, other methods than GET and HEAD 405.

#ifndef OMNIROUTE_DAEMON_HTTP_ENDPOINTS_H_
#define OMNIROUTE_DAEMON_HTTP_ENDPOINTS_H_

#include <atomic>

#include "daemon/http_server.h"
#include "daemon/metrics.h"
#include "daemon/router.h"
#include "daemon/wallboard.h"

namespace omniroute::daemon {

enum class Readiness { kStarting, kReady, kStopping };

// `router`, `calls`, `readiness` and `wallboard` must outlive the HTTP server.
HttpHandler MakeHttpHandler(Router& router, const CallMetrics& calls,
                            const std::atomic<Readiness>& readiness, Wallboard& wallboard);

// The Prometheus exposition's content type.
inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_HTTP_ENDPOINTS_H_
