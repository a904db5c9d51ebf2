// A blocking HTTP/1.1 client for the tests of the daemon's HTTP endpoint (Boost.Beast), over
// plaintext or TLS (trusting a given CA, optionally presenting a client certificate), with an
// optional Authorization header. Every step has a deadline: a test never hangs on it.
//
//   HttpReply r = HttpGet(port, "/healthz");
//   HttpOptions o;
//   o.tls = true;
//   o.ca_pem = ca;
//   o.authorization = "Bearer " + token;
//   r = HttpFetch(port, "/metrics", o);
//
//   HttpEventStream events;
//   ASSERT_EQ(events.Open(port, "/wallboard/events", o).status, 200);
//   EXPECT_TRUE(events.AwaitText("event: snapshot"));

#ifndef OMNIROUTE_TESTS_DAEMON_HTTP_CLIENT_H_
#define OMNIROUTE_TESTS_DAEMON_HTTP_CLIENT_H_

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "boost/asio/buffer.hpp"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "openssl/ssl.h"

namespace omniroute::testing {

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused, closed, TLS refused, or timed out)
  std::string content_type;
  std::string body;
  // The header fields, by lower-case name (the last one of a name).
  std::map<std::string, std::string> headers;
  std::string error;

  std::string Header(const std::string& name) const {
    auto it = headers.find(absl::AsciiStrToLower(name));
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpOptions {
  std::string method = "GET";
  // The Authorization header's value ("Bearer <token>"); empty: none.
  std::string authorization;
  // TLS, trusting `ca_pem` alone, checking that the server's certificate is for `server_name`
  // (also sent as SNI); a client certificate when `cert_pem` and `key_pem` are given.
  bool tls = false;
  std::string ca_pem;
  std::string cert_pem, key_pem;
  std::string server_name = "localhost";
  // For each step: connect, handshake, write, read.
  std::chrono::milliseconds timeout{10000};
};

namespace http_client_internal {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;

// One connection, plaintext or TLS, driven by async operations run to completion with a
// deadline (beast::tcp_stream's timeouts apply to async operations only).
class Connection {
 public:
  // Connects (and shakes hands); false with `error` when it fails.
  bool Open(int port, const HttpOptions& options, std::string* error) {
    options_ = options;
    if (options.tls) {
      context_ = std::make_unique<ssl::context>(ssl::context::tls_client);
      beast::error_code ec;
      context_->set_verify_mode(ssl::verify_peer, ec);
      if (!options.ca_pem.empty()) {
        context_->add_certificate_authority(asio::buffer(options.ca_pem), ec);
      }
      if (!ec && !options.cert_pem.empty()) {
        context_->use_certificate_chain(asio::buffer(options.cert_pem), ec);
        if (!ec) {
          context_->use_private_key(asio::buffer(options.key_pem), ssl::context::pem, ec);
        }
      }
      if (ec) {
        *error = "TLS context: " + ec.message();
        return false;
      }
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, *context_);
      tcp_ = &beast::get_lowest_layer(*tls_);
      SSL_set_tlsext_host_name(tls_->native_handle(), options.server_name.c_str());
      SSL_set1_host(tls_->native_handle(), options.server_name.c_str());
    } else {
      plain_ = std::make_unique<beast::tcp_stream>(io_);
      tcp_ = plain_.get();
    }
    beast::error_code ec;
    tcp_->expires_after(options.timeout);
    tcp_->async_connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                                static_cast<unsigned short>(port)),
                        [&ec](beast::error_code e) { ec = e; });
    Run();
    if (ec) {
      *error = "connect: " + ec.message();
      return false;
    }
    if (tls_ != nullptr) {
      tcp_->expires_after(options.timeout);
      tls_->async_handshake(ssl::stream_base::client, [&ec](beast::error_code e) { ec = e; });
      Run();
      if (ec) {
        *error = "TLS handshake: " + ec.message();
        return false;
      }
    }
    return true;
  }

  // Calls `f` with the stream in use (a generic lambda).
  template <class F>
  auto With(F&& f) {
    if (tls_ != nullptr) return f(*tls_);
    return f(*plain_);
  }

  beast::tcp_stream& tcp() { return *tcp_; }
  const HttpOptions& options() const { return options_; }

  // Runs the queued async operations to completion.
  void Run() {
    io_.restart();
    io_.run();
  }

  // Writes the request; false with `error` when it fails.
  bool WriteRequest(const std::string& target, std::string* error) {
    http::request<http::empty_body> req{http::string_to_verb(options_.method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!options_.authorization.empty()) {
      req.set(http::field::authorization, options_.authorization);
    }
    beast::error_code ec;
    tcp_->expires_after(options_.timeout);
    With([&](auto& s) {
      http::async_write(s, req, [&ec](beast::error_code e, size_t) { ec = e; });
    });
    Run();
    if (ec) *error = "write: " + ec.message();
    return !ec;
  }

  void Close() {
    if (tcp_ == nullptr) return;
    beast::error_code ignored;
    tcp_->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    tcp_->close();
  }

 private:
  asio::io_context io_;
  HttpOptions options_;
  std::unique_ptr<ssl::context> context_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::unique_ptr<beast::tcp_stream> plain_;
  beast::tcp_stream* tcp_ = nullptr;
};

template <class Fields>
void CopyHeaders(const Fields& fields, HttpReply* reply) {
  for (const auto& f : fields) {
    reply->headers[absl::AsciiStrToLower(std::string(f.name_string()))] = std::string(f.value());
  }
  reply->content_type = reply->Header("content-type");
}

}  // namespace http_client_internal

// One request on a connection of its own.
inline HttpReply HttpFetch(int port, const std::string& target, const HttpOptions& options) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpReply reply;
  http_client_internal::Connection c;
  if (!c.Open(port, options, &reply.error) || !c.WriteRequest(target, &reply.error)) {
    return reply;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (options.method == "HEAD") parser.skip(true);
  beast::error_code ec;
  c.tcp().expires_after(options.timeout);
  c.With([&](auto& s) {
    http::async_read(s, buffer, parser, [&ec](beast::error_code e, size_t) { ec = e; });
  });
  c.Run();
  if (ec) {
    reply.error = "read: " + ec.message();
    return reply;
  }
  reply.status = static_cast<int>(parser.get().result_int());
  http_client_internal::CopyHeaders(parser.get(), &reply);
  reply.body = parser.get().body();
  c.Close();
  return reply;
}

// One plaintext request on a connection of its own, with a 10 s deadline.
inline HttpReply HttpGet(int port, const std::string& target, const std::string& method = "GET") {
  HttpOptions options;
  options.method = method;
  return HttpFetch(port, target, options);
}

// An event stream (text/event-stream) held open: its status and headers, then its text as it
// arrives.
class HttpEventStream {
 public:
  // Sends the request and reads the answer's headers. A 200 leaves the stream open; any other
  // answer is read whole (its body in the reply).
  HttpReply Open(int port, const std::string& target, const HttpOptions& options) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    HttpReply reply;
    connection_ = std::make_unique<http_client_internal::Connection>();
    if (!connection_->Open(port, options, &reply.error) ||
        !connection_->WriteRequest(target, &reply.error)) {
      return reply;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::error_code ec;
    connection_->tcp().expires_after(options.timeout);
    connection_->With([&](auto& s) {
      http::async_read_header(s, buffer_, parser, [&ec](beast::error_code e, size_t) { ec = e; });
    });
    connection_->Run();
    if (ec) {
      reply.error = "read: " + ec.message();
      return reply;
    }
    reply.status = static_cast<int>(parser.get().result_int());
    http_client_internal::CopyHeaders(parser.get(), &reply);
    if (reply.status != 200) {
      connection_->tcp().expires_after(options.timeout);
      connection_->With([&](auto& s) {
        http::async_read(s, buffer_, parser, [&ec](beast::error_code e, size_t) { ec = e; });
      });
      connection_->Run();
      reply.body = parser.get().body();
      Close();
      return reply;
    }
    // What came with the headers is the start of the stream.
    text_ = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return reply;
  }

  // Reads until `needle` occurs in the text at or after `from` (an offset into text()), for up
  // to `timeout`; its offset, or nullopt (the stream ended or the time is up, which closes it).
  std::optional<size_t> AwaitText(const std::string& needle, size_t from = 0,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    namespace beast = boost::beast;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const size_t at = text_.find(needle, from);
      if (at != std::string::npos) return at;
      if (connection_ == nullptr || ended_) return std::nullopt;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      beast::error_code ec;
      size_t got = 0;
      connection_->tcp().expires_after(left);
      connection_->With([&](auto& s) {
        s.async_read_some(boost::asio::buffer(chunk_), [&](beast::error_code e, size_t n) {
          ec = e;
          got = n;
        });
      });
      connection_->Run();
      text_.append(chunk_.data(), got);
      // A timeout closes the connection too (beast::tcp_stream): the stream is over.
      if (ec) ended_ = true;
    }
  }

  // Everything received on the stream so far (after the headers).
  const std::string& text() const { return text_; }
  // Whether the server ended the stream (or the connection failed).
  bool ended() const { return ended_; }

  void Close() {
    if (connection_ != nullptr) connection_->Close();
    connection_.reset();
  }

 private:
  std::unique_ptr<http_client_internal::Connection> connection_;
  boost::beast::flat_buffer buffer_;
  std::array<char, 4096> chunk_{};
  std::string text_;
  bool ended_ = false;
};

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_DAEMON_HTTP_CLIENT_H_
