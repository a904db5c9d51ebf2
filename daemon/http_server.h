// The daemon's HTTP endpoint (http_address, default 127.0.0.1:7401): /metrics for Prometheus,
// /healthz and /readyz for load balancers and orchestrators.
//
// Boost.Beast on an io_context and thread of its own: a slow or stuck HTTP client never holds
// up the engine thread or gRPC's. The handler answers asynchronously (what needs the engine
// is submitted to the engine thread like a request and answered from there), so one HTTP
// thread serves any number of connections. Requests are small (headers up to 8 KiB, no body
// accepted), HTTP/1.1 keep-alive, and a connection idle or stuck for 30 s is closed.

#ifndef OMNIROUTE_DAEMON_HTTP_SERVER_H_
#define OMNIROUTE_DAEMON_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"

namespace omniroute::daemon {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // "/metrics?x=1"
  std::string path;    // "/metrics"
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on the HTTP thread; `respond` may be called from any thread, once.
using HttpHandler =
    std::function<void(const HttpRequest& request, std::function<void(HttpResponse)> respond)>;

namespace internal {
class HttpConnection;
struct HttpGate;
}  // namespace internal

class HttpServer {
 public:
  // Binds `address` ("host:port", "[::1]:port"; port 0: any free port) and starts serving.
  // FAILED_PRECONDITION naming the address when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                           HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port bound (the one chosen, for port 0).
  int port() const { return port_; }
  // Closes the listening socket and every connection, and joins the thread. Idempotent.
  void Stop();

 private:
  friend class internal::HttpConnection;
  explicit HttpServer(HttpHandler handler);
  void Accept();

  HttpHandler handler_;
  // Whether answers may still be posted to io_: `respond` callbacks can outlive the server.
  std::shared_ptr<internal::HttpGate> gate_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // The open connections (HTTP thread only); destroyed before io_, with their sockets.
  std::set<std::shared_ptr<internal::HttpConnection>> connections_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_HTTP_SERVER_H_
