#include "daemon/http_server.h"

#include <array>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/strand.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "daemon/log.h"
#include "openssl/bio.h"
#include "openssl/pem.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace omniroute::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace internal {

constexpr std::chrono::seconds kIdleTimeout{30};
// How long a TLS connection waits for the client's close_notify after a last answer.
constexpr std::chrono::seconds kTlsShutdownTimeout{5};
constexpr uint32_t kHeaderLimit = 8 * 1024;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct HttpGate {
  std::mutex mu;
  bool open = true;  // guarded by mu; false once the server stops
};

// The names of the client's certificate when it presented one that verified: the subject's
// common names, then its DNS and URI subject alternative names. A name holding a NUL byte is
// left out (it could pass for a shorter one).
PeerCertificate PeerOf(SSL* ssl) {
  PeerCertificate peer;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return peer;
  peer.verified = true;
  auto add = [&peer](const unsigned char* data, int size) {
    if (data == nullptr || size <= 0) return;
    std::string name(reinterpret_cast<const char*>(data), static_cast<size_t>(size));
    if (name.find('\0') == std::string::npos) peer.names.push_back(std::move(name));
  };
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    unsigned char* utf8 = nullptr;
    const int n =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
    if (n >= 0) add(utf8, n);
    OPENSSL_free(utf8);
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      const ASN1_IA5STRING* text = name->type == GEN_DNS   ? name->d.dNSName
                                   : name->type == GEN_URI ? name->d.uniformResourceIdentifier
                                                           : nullptr;
      if (text != nullptr) add(ASN1_STRING_get0_data(text), ASN1_STRING_length(text));
    }
    GENERAL_NAMES_free(names);
  }
  return peer;
}

// A TLS server context for `material`: TLS 1.2 and later; mutual TLS when the material has a
// client CA bundle.
absl::StatusOr<std::shared_ptr<ssl::context>> MakeTlsContext(const TlsMaterial& material,
                                                             bool require_client_certificate) {
  constexpr char kField[] = "security.http_tls";
  std::shared_ptr<ssl::context> context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const boost::system::system_error& e) {
    return absl::InternalError(absl::StrCat(kField, ": cannot make a TLS context: ", e.what()));
  }
  SSL_CTX* native = context->native_handle();
  beast::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return absl::InternalError(absl::StrCat(kField, ": cannot restrict TLS to 1.2 and later"));
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Sessions resumed across connections need an id context once client certificates are
  // verified; each context (a reload makes a new one) has its own session cache.
  static constexpr unsigned char kSessionContext[] = "omnirouted-http";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  context->use_certificate_chain(asio::buffer(material.cert_chain_pem), ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat(kField, ".cert_file: OpenSSL refused the chain: ", ec.message()));
  }
  context->use_private_key(asio::buffer(material.private_key_pem), ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(kField, ".key_file: OpenSSL refused the key: ", ec.message()));
  }
  if (!material.client_ca_pem.empty()) {
    // Each CA verifies client certificates and is named in the certificate request (browsers
    // offer only the certificates those CAs issued).
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(material.client_ca_pem.data(),
                        static_cast<int>(material.client_ca_pem.size())),
        &BIO_free);
    int count = 0;
    while (bio != nullptr) {
      std::unique_ptr<X509, decltype(&X509_free)> ca(
          PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
      if (ca == nullptr) break;
      if (X509_STORE_add_cert(SSL_CTX_get_cert_store(native), ca.get()) != 1 ||
          SSL_CTX_add_client_CA(native, ca.get()) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(kField, ".client_ca_file: OpenSSL refused a CA certificate"));
      }
      ++count;
    }
    if (count == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(kField, ".client_ca_file: no PEM certificate"));
    }
    context->set_verify_mode(
        ssl::verify_peer |
            (require_client_certificate ? ssl::verify_fail_if_no_peer_cert : ssl::verify_none),
        ec);
  } else {
    context->set_verify_mode(ssl::verify_none, ec);
  }
  if (ec) {
    return absl::InternalError(absl::StrCat(kField, ": cannot set the verify mode"));
  }
  return context;
}

// One client connection, on the HTTP thread. Owned by the server's `connections_` from accept
// to close. Its pending operations hold it too (a TLS stream must outlive them): it is freed
// once closed and they have completed, or with the io_context when the server stops. The
// answer of the handler holds it weakly (the handler may answer after it closed). The base
// is what the server sees; Connection<Stream> below is plaintext or TLS.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  explicit HttpConnection(HttpServer& server) : server_(server) {}
  virtual ~HttpConnection() = default;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Right after accept: the TLS handshake if any, then the first request.
  virtual void Begin() = 0;
  virtual void Close() = 0;
  // A streaming connection: queues `chunk` for its client, or disconnects a client that has
  // more than kMaxStreamBacklog bytes waiting already.
  virtual void Push(const std::shared_ptr<const std::string>& chunk) = 0;

 protected:
  // The server's state, for the derived connections (the server befriends this class alone).
  const HttpHandler& handler() const { return server_.handler_; }
  std::weak_ptr<HttpGate> gate() const { return server_.gate_; }
  int open_streams() const { return server_.open_streams(); }
  void AddStream(const std::string& topic) {
    server_.streams_[topic].insert(shared_from_this());
    server_.open_streams_.fetch_add(1, std::memory_order_relaxed);
  }
  void RemoveStream(const std::string& topic) {
    server_.streams_[topic].erase(shared_from_this());
    server_.open_streams_.fetch_sub(1, std::memory_order_relaxed);
  }
  void Forget() { server_.connections_.erase(shared_from_this()); }

 private:
  HttpServer& server_;
};

template <class Stream>
class Connection final : public HttpConnection {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(tcp::socket socket, HttpServer& server)
      : HttpConnection(server), stream_(std::move(socket)) {}
  // TLS: the connection keeps the context it was accepted with.
  Connection(tcp::socket socket, std::shared_ptr<ssl::context> context, HttpServer& server)
      : HttpConnection(server),
        context_(std::move(context)),
        stream_(std::move(socket), *context_) {}

  void Begin() override {
    if constexpr (kTls) {
      Lowest().expires_after(kIdleTimeout);
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) {  // not TLS, a refused certificate, the timeout
          beast::error_code ignored;
          const tcp::endpoint from = self->Lowest().socket().remote_endpoint(ignored);
          LogDebug("TLS handshake failed (HTTP port)",
                   {{"peer", absl::StrCat(from.address().to_string(), ":", from.port())},
                    {"error", ec.message()}});
          return self->Close();
        }
        self->peer_ = PeerOf(self->stream_.native_handle());
        self->Read();
      });
    } else {
      Read();
    }
  }

  void Close() override {
    closed_ = true;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
    if (!topic_.empty()) {
      RemoveStream(topic_);
      topic_.clear();
    }
    hold_.reset();
    Forget();
  }

  void Push(const std::shared_ptr<const std::string>& chunk) override {
    if (topic_.empty()) return;  // closed meanwhile
    if (backlog_ + chunk->size() > HttpServer::kMaxStreamBacklog) return Close();
    backlog_ += chunk->size();
    out_.push_back(chunk);
    if (!writing_) WriteNext();
  }

 private:
  std::shared_ptr<Connection> Self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  std::weak_ptr<Connection> Weak() { return Self(); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Read() {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kHeaderLimit);
    Lowest().expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

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
    request.authorization = std::string(req[http::field::authorization]);
    request.peer = peer_;
    Lowest().expires_after(kIdleTimeout);  // the answer, too, must come within the timeout
    std::weak_ptr<HttpGate> gate_weak = gate();
    handler()(request, [weak = Weak(), gate_weak,
                        executor = Lowest().get_executor()](HttpResponse response) {
      std::shared_ptr<HttpGate> g = gate_weak.lock();
      if (g == nullptr) return;
      std::lock_guard<std::mutex> lock(g->mu);
      if (!g->open) return;  // the server stopped: its io_context may be gone
      asio::post(executor, [weak, response = std::move(response)]() mutable {
        if (std::shared_ptr<Connection> self = weak.lock()) self->Write(std::move(response));
      });
    });
  }

  void Write(HttpResponse response) {
    if (closed_) return;  // an answer that came too late
    if (!response.stream_topic.empty() && !head_) return StartStream(std::move(response));
    response_.emplace(static_cast<http::status>(response.status), version_);
    response_->set(http::field::server, "omnirouted");
    response_->set(http::field::content_type, response.content_type);
    response_->set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : response.headers) response_->set(name, value);
    response_->keep_alive(keep_alive_);
    response_->body() = std::move(response.body);
    response_->prepare_payload();
    if (head_) response_->body().clear();  // the Content-Length stays that of the GET
    Lowest().expires_after(kIdleTimeout);
    http::async_write(stream_, *response_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      if (!self->keep_alive_) return self->Finish();
      self->Read();
    });
  }

  // After the last answer: TLS says close_notify (and waits a little for the client's) before
  // the socket closes.
  void Finish() {
    if constexpr (kTls) {
      Lowest().expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown([self = Self()](beast::error_code) { self->Close(); });
    } else {
      Close();
    }
  }

  // The headers of an event stream, then its first chunk; the connection stays open, without a
  // length, until either side closes it.
  void StartStream(HttpResponse response) {
    if (open_streams() >= HttpServer::kMaxStreams) {
      HttpResponse busy;
      busy.status = 503;
      busy.body = absl::StrCat("too many event streams open (", HttpServer::kMaxStreams, ")\n");
      keep_alive_ = false;
      return Write(std::move(busy));  // `response.hold` is released here
    }
    topic_ = std::move(response.stream_topic);
    hold_ = std::move(response.hold);
    AddStream(topic_);
    Lowest().expires_never();
    std::string head = absl::StrCat(
        "HTTP/1.1 200 OK\r\nServer: omnirouted\r\nContent-Type: ", response.content_type,
        "\r\nCache-Control: no-store\r\nConnection: close\r\n"
        "X-Accel-Buffering: no\r\n");
    for (const auto& [name, value] : response.headers)
      absl::StrAppend(&head, name, ": ", value, "\r\n");
    absl::StrAppend(&head, "\r\n", response.body);
    Push(std::make_shared<const std::string>(std::move(head)));
    WatchForClose();
  }

  // A stream's client sends nothing more; reading tells when it goes away.
  void WatchForClose() {
    stream_.async_read_some(asio::buffer(discard_), [self = Self()](beast::error_code ec, size_t) {
      if (self->topic_.empty()) return;
      if (ec) return self->Close();
      self->WatchForClose();
    });
  }

  void WriteNext() {
    if (out_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    asio::async_write(stream_, asio::buffer(*out_.front()),
                      [self = Self()](beast::error_code ec, size_t) {
                        self->backlog_ -= self->out_.front()->size();
                        self->out_.pop_front();
                        if (ec) return self->Close();
                        self->WriteNext();
                      });
  }

  // TLS: the context this connection was accepted with (outlives the stream).
  std::shared_ptr<ssl::context> context_;
  Stream stream_;
  PeerCertificate peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  bool closed_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  // Streaming: the topic (empty when not streaming or closed), the chunks not yet written,
  // and what the answer asked to keep alive while the stream is open.
  std::string topic_;
  std::shared_ptr<void> hold_;
  std::deque<std::shared_ptr<const std::string>> out_;
  size_t backlog_ = 0;
  bool writing_ = false;
  std::array<char, 256> discard_{};
};

}  // namespace internal

HttpServer::HttpServer(HttpHandler handler)
    : handler_(std::move(handler)), gate_(std::make_shared<internal::HttpGate>()), acceptor_(io_) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                              HttpHandler handler,
                                                              std::optional<HttpTls> tls) {
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
  if (tls.has_value()) {
    absl::StatusOr<std::shared_ptr<ssl::context>> context =
        internal::MakeTlsContext(tls->material, tls->require_client_certificate);
    if (!context.ok()) return context.status();
    server->tls_enabled_ = true;
    server->require_client_certificate_ = tls->require_client_certificate;
    server->tls_context_ = *std::move(context);
  }
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

absl::Status HttpServer::ReloadTls(const TlsMaterial& material) {
  if (!tls_enabled_) {
    return absl::FailedPreconditionError("the HTTP port was started without TLS");
  }
  absl::StatusOr<std::shared_ptr<ssl::context>> context =
      internal::MakeTlsContext(material, require_client_certificate_);
  if (!context.ok()) return context.status();
  std::lock_guard<std::mutex> lock(tls_mu_);
  tls_context_ = *std::move(context);
  return absl::OkStatus();
}

std::shared_ptr<ssl::context> HttpServer::tls_context() const {
  std::lock_guard<std::mutex> lock(tls_mu_);
  return tls_context_;
}

void HttpServer::Publish(const std::string& topic, std::string chunk) {
  std::lock_guard<std::mutex> lock(gate_->mu);
  if (!gate_->open) return;
  asio::post(io_, [this, topic, chunk = std::make_shared<const std::string>(std::move(chunk))] {
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
    std::shared_ptr<internal::HttpConnection> connection;
    if (tls_enabled_) {
      connection = std::make_shared<internal::Connection<internal::TlsStream>>(
          std::move(socket), tls_context(), *this);
    } else {
      connection =
          std::make_shared<internal::Connection<beast::tcp_stream>>(std::move(socket), *this);
    }
    connections_.insert(connection);
    connection->Begin();
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
