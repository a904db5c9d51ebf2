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
//
// Access (security.clients configured; docs/SECURITY.md): /healthz, /readyz and the page
// itself (/, /wallboard: static, no figures) are open. /metrics and /wallboard/events take a
// client with ROLE_SUPERVISOR (or ROLE_ADMIN), by its bearer token (the Authorization header)
// or its mutual-TLS certificate: 401 with `WWW-Authenticate: Bearer realm="omniroute"` without
// valid credentials, 429 with `Retry-After: 1` over the client's rate limit (each request
// takes a token of its bucket), 403 for a client whose roles do not allow it. An event stream
// counts against security.max_streams_per_client as long as it is open (one more: 429).
// Without clients every request is the local principal's: nothing is checked.

#ifndef OMNIROUTE_DAEMON_HTTP_ENDPOINTS_H_
#define OMNIROUTE_DAEMON_HTTP_ENDPOINTS_H_

#include <atomic>

#include "daemon/http_server.h"
#include "daemon/metrics.h"
#include "daemon/router.h"
#include "daemon/security.h"
#include "daemon/wallboard.h"

namespace omniroute::daemon {

enum class Readiness { kStarting, kReady, kStopping };

// `router`, `calls`, `readiness`, `wallboard` and `security` must outlive the HTTP server.
HttpHandler MakeHttpHandler(Router& router, const CallMetrics& calls,
                            const std::atomic<Readiness>& readiness, Wallboard& wallboard,
                            const Security& security);

// The Prometheus exposition's content type.
inline constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_HTTP_ENDPOINTS_H_
