// The daemon's HTTP endpoint (http_address, default 127.0.0.1:7401): /metrics for Prometheus,
// /healthz and /readyz for load balancers and orchestrators.
//
// Boost.Beast on an io_context and thread of its own: a slow or stuck HTTP client never holds
// up the engine thread or gRPC's. The handler answers asynchronously (what needs the engine
// is submitted to the engine thread like a request and answered from there), so one HTTP
// thread serves any number of connections. Requests are small (headers up to 8 KiB, no body
// accepted), HTTP/1.1 keep-alive, and a connection idle or stuck for 30 s is closed (the TLS
// handshake, too, must be over within 30 s).
//
// TLS (security.http_tls): TLS 1.2 or later, with the certificate chain and key of a
// TlsMaterial; with a client CA bundle, mutual TLS: a client certificate is asked for and
// must verify against the bundle (a client without one is refused at the handshake when
// `require_client_certificate`, else it goes on and may use a token). The names of a verified
// client certificate come with each request (HttpRequest::peer). ReloadTls swaps the
// certificate for the connections accepted from then on; each connection keeps the TLS
// context it was accepted with, so open connections and event streams go on untouched.
//
// Event streams (server-sent events, for the wallboard): a handler may answer with a stream
// on a topic instead of a body; the connection then stays open, and whatever is published on
// the topic (Publish, from any thread) is written to it. Each stream has a bounded buffer: a
// client that reads too slowly to keep up is disconnected (EventSource reconnects by itself)
// rather than growing the daemon's memory. At most kMaxStreams streams are open at once. What
// the answer `hold`s (a per-client stream ticket) lives as long as the stream.

#ifndef OMNIROUTE_DAEMON_HTTP_SERVER_H_
#define OMNIROUTE_DAEMON_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "daemon/security.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace omniroute::daemon {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // "/metrics?x=1"
  std::string path;    // "/metrics"
  // The Authorization header's value ("Bearer <token>"), empty when absent. Never log it.
  std::string authorization;
  // TLS with a client CA: the client's verified certificate, if it presented one.
  PeerCertificate peer;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // More header fields ("WWW-Authenticate", "Retry-After"), in order.
  std::vector<std::pair<std::string, std::string>> headers;
  // Non-empty: the answer is an event stream on this topic ("text/event-stream", no length,
  // kept open): `body` is its first chunk, then everything published on the topic follows.
  // A HEAD request gets the headers alone.
  std::string stream_topic;
  // Kept alive as long as the event stream is open (released when it closes, or once the
  // answer is written when it is not a stream).
  std::shared_ptr<void> hold;
};

// Called on the HTTP thread; `respond` may be called from any thread, once.
using HttpHandler =
    std::function<void(const HttpRequest& request, std::function<void(HttpResponse)> respond)>;

// TLS on the HTTP port: the PEM material (LoadTlsMaterial; a non-empty client CA bundle turns
// mutual TLS on) and whether a client certificate is required.
struct HttpTls {
  TlsMaterial material;
  bool require_client_certificate = false;
};

namespace internal {
class HttpConnection;
struct HttpGate;
}  // namespace internal

class HttpServer {
 public:
  // Binds `address` ("host:port", "[::1]:port"; port 0: any free port) and starts serving,
  // over TLS when `tls` is given. FAILED_PRECONDITION naming the address when it cannot be
  // bound; INVALID_ARGUMENT when OpenSSL refuses the TLS material.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const std::string& address, HttpHandler handler, std::optional<HttpTls> tls = std::nullopt);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Open event streams at once; a stream asked beyond it is answered 503.
  static constexpr int kMaxStreams = 64;
  // Bytes a stream may have waiting for its client; beyond, the client is disconnected.
  static constexpr size_t kMaxStreamBacklog = 1 << 20;

  // The port bound (the one chosen, for port 0).
  int port() const { return port_; }
  // Whether the port serves TLS.
  bool tls() const { return tls_enabled_; }
  // Any thread: the connections accepted from now on use `material` (the client certificate
  // requirement stays that of Start); open ones keep theirs. FAILED_PRECONDITION when the
  // server was started without TLS; INVALID_ARGUMENT when OpenSSL refuses the material (the
  // certificate in force then stays).
  absl::Status ReloadTls(const TlsMaterial& material);
  // Any thread: writes `chunk` to every stream open on `topic`. Dropped after Stop.
  void Publish(const std::string& topic, std::string chunk);
  // Any thread: how many event streams are open (on every topic).
  int open_streams() const { return open_streams_.load(std::memory_order_relaxed); }
  // Closes the listening socket and every connection, and joins the thread. Idempotent.
  void Stop();

 private:
  friend class internal::HttpConnection;
  explicit HttpServer(HttpHandler handler);
  void Accept();
  std::shared_ptr<boost::asio::ssl::context> tls_context() const;

  HttpHandler handler_;
  // Whether answers may still be posted to io_: `respond` callbacks can outlive the server.
  std::shared_ptr<internal::HttpGate> gate_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // TLS: the context of new connections (null: plaintext), replaced by ReloadTls.
  bool tls_enabled_ = false;
  bool require_client_certificate_ = false;
  mutable std::mutex tls_mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // guarded by tls_mu_
  // The open connections (HTTP thread only); destroyed before io_, with their sockets.
  std::set<std::shared_ptr<internal::HttpConnection>> connections_;
  // The streaming connections by topic (HTTP thread only), and how many (any thread).
  std::map<std::string, std::set<std::shared_ptr<internal::HttpConnection>>> streams_;
  std::atomic<int> open_streams_{0};
  std::thread thread_;
  int port_ = 0;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_HTTP_SERVER_H_
