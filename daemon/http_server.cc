#include "daemon/http_server.h"

#include <array>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/write.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace omniroute::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace internal {

constexpr std::chrono::seconds kIdleTimeout{30};
constexpr uint32_t kHeaderLimit = 8 * 1024;

struct HttpGate {
  std::mutex mu;
  bool open = true;  // guarded by mu; false once the server stops
};

// One client connection, on the HTTP thread. Owned by the server's `connections_` from accept
// to close; callbacks hold it weakly, so a stopped server frees it with its socket.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, HttpServer& server)
      : stream_(std::move(socket)), server_(server) {}

  void Read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kHeaderLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [weak = weak_from_this()](beast::error_code ec, size_t) {
                       if (std::shared_ptr<HttpConnection> self = weak.lock()) self->OnRead(ec);
                     });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    if (!topic_.empty()) {
      server_.streams_[topic_].erase(shared_from_this());
      server_.open_streams_.fetch_sub(1, std::memory_order_relaxed);
      topic_.clear();
    }
    server_.connections_.erase(shared_from_this());
  }

  // A streaming connection: queues `chunk` for its client, or disconnects a client that has
  // more than kMaxStreamBacklog bytes waiting already.
  void Push(const std::shared_ptr<const std::string>& chunk) {
    if (topic_.empty()) return;  // closed meanwhile
    if (backlog_ + chunk->size() > HttpServer::kMaxStreamBacklog) return Close();
    backlog_ += chunk->size();
    out_.push_back(chunk);
    if (!writing_) WriteNext();
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return Close();  // end of stream, timeout, malformed or oversized request
    const http::request<http::string_body>& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.path = request.target.substr(0, request.target.find('?'));
    stream_.expires_after(kIdleTimeout);  // the answer, too, must come within the timeout
    std::weak_ptr<HttpGate> gate = server_.gate_;
    server_.handler_(request, [weak = weak_from_this(), gate,
                               executor = stream_.get_executor()](HttpResponse response) {
      std::shared_ptr<HttpGate> g = gate.lock();
      if (g == nullptr) return;
      std::lock_guard<std::mutex> lock(g->mu);
      if (!g->open) return;  // the server stopped: its io_context may be gone
      asio::post(executor, [weak, response = std::move(response)]() mutable {
        if (std::shared_ptr<HttpConnection> self = weak.lock()) self->Write(std::move(response));
      });
    });
  }

  void Write(HttpResponse response) {
    if (!response.stream_topic.empty() && !head_) return StartStream(std::move(response));
    response_.emplace(static_cast<http::status>(response.status), version_);
    response_->set(http::field::server, "omnirouted");
    response_->set(http::field::content_type, response.content_type);
    response_->set(http::field::cache_control, "no-store");
    response_->keep_alive(keep_alive_);
    response_->body() = std::move(response.body);
    response_->prepare_payload();
    if (head_) response_->body().clear();  // the Content-Length stays that of the GET
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, *response_, [weak = weak_from_this()](beast::error_code ec, size_t) {
      std::shared_ptr<HttpConnection> self = weak.lock();
      if (self == nullptr) return;
      if (ec || !self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  // The headers of an event stream, then its first chunk; the connection stays open, without a
  // length, until either side closes it.
  void StartStream(HttpResponse response) {
    if (server_.open_streams() >= HttpServer::kMaxStreams) {
      HttpResponse busy;
      busy.status = 503;
      busy.body = absl::StrCat("too many event streams open (", HttpServer::kMaxStreams, ")\n");
      keep_alive_ = false;
      return Write(std::move(busy));
    }
    topic_ = std::move(response.stream_topic);
    server_.streams_[topic_].insert(shared_from_this());
    server_.open_streams_.fetch_add(1, std::memory_order_relaxed);
    stream_.expires_never();
    Push(std::make_shared<const std::string>(absl::StrCat(
        "HTTP/1.1 200 OK\r\nServer: omnirouted\r\nContent-Type: ", response.content_type,
        "\r\nCache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n",
        response.body)));
    WatchForClose();
  }

  // A stream's client sends nothing more; reading tells when it goes away.
  void WatchForClose() {
    stream_.async_read_some(asio::buffer(discard_),
                            [weak = weak_from_this()](beast::error_code ec, size_t) {
                              std::shared_ptr<HttpConnection> self = weak.lock();
                              if (self == nullptr || self->topic_.empty()) return;
                              if (ec) return self->Close();
                              self->WatchForClose();
                            });
  }

  void WriteNext() {
    if (out_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    asio::async_write(stream_, asio::buffer(*out_.front()),
                      [weak = weak_from_this()](beast::error_code ec, size_t) {
                        std::shared_ptr<HttpConnection> self = weak.lock();
                        if (self == nullptr) return;
                        self->backlog_ -= self->out_.front()->size();
                        self->out_.pop_front();
                        if (ec) return self->Close();
                        self->WriteNext();
                      });
  }

  beast::tcp_stream stream_;
  HttpServer& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  // Streaming: the topic (empty when not streaming or closed), the chunks not yet written.
  std::string topic_;
  std::deque<std::shared_ptr<const std::string>> out_;
  size_t backlog_ = 0;
  bool writing_ = false;
  std::array<char, 256> discard_{};
};

}  // namespace internal

HttpServer::HttpServer(HttpHandler handler)
    : handler_(std::move(handler)), gate_(std::make_shared<internal::HttpGate>()), acceptor_(io_) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                              HttpHandler handler) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("http_address: \"", address, "\" is not host:port"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(handler)));
  beast::error_code ec;
  tcp::resolver resolver(server->io_);
  const tcp::resolver::results_type endpoints =
      resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("http_address: cannot resolve \"", host, "\": ", ec.message()));
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  server->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) server->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) server->acceptor_.bind(endpoint, ec);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("http_address: cannot listen on ", address, ": ", ec.message()));
  }
  server->port_ = server->acceptor_.local_endpoint().port();
  server->Accept();
  server->thread_ = std::thread([s = server.get()] { s->io_.run(); });
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Publish(const std::string& topic, std::string chunk) {
  std::lock_guard<std::mutex> lock(gate_->mu);
  if (!gate_->open) return;
  asio::post(io_, [this, topic,
                   chunk = std::make_shared<const std::string>(std::move(chunk))] {
    auto it = streams_.find(topic);
    if (it == streams_.end()) return;
    // Push may close a connection, which leaves the set: go over a copy.
    const std::vector<std::shared_ptr<internal::HttpConnection>> open(it->second.begin(),
                                                                      it->second.end());
    for (const std::shared_ptr<internal::HttpConnection>& c : open) c->Push(chunk);
  });
}

void HttpServer::Accept() {
  acceptor_.async_accept(io_, [this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed by Stop
    auto connection = std::make_shared<internal::HttpConnection>(std::move(socket), *this);
    connections_.insert(connection);
    connection->Read();
    Accept();
  });
}

void HttpServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    if (!gate_->open) return;
    gate_->open = false;
  }
  // Close the listening socket and every connection on the HTTP thread, then let it finish.
  asio::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    std::set<std::shared_ptr<internal::HttpConnection>> open;
    open.swap(connections_);
    for (const std::shared_ptr<internal::HttpConnection>& c : open) {
      connections_.insert(c);  // Close erases it again
      c->Close();
    }
    io_.stop();
  });
  if (thread_.joinable()) thread_.join();
}

}  // namespace omniroute::daemon
