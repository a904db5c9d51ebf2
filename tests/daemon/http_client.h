// A blocking HTTP/1.1 client for the tests of the daemon's HTTP endpoint (Boost.Beast).

#ifndef OMNIROUTE_TESTS_DAEMON_HTTP_CLIENT_H_
#define OMNIROUTE_TESTS_DAEMON_HTTP_CLIENT_H_

#include <chrono>
#include <map>
#include <string>

#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace omniroute::testing {

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused, closed, or timed out)
  std::string content_type;
  std::string body;
  std::string error;
};

// One request on a connection of its own, with a 10 s deadline.
inline HttpReply HttpGet(int port, const std::string& target, const std::string& method = "GET") {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  HttpReply reply;
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                static_cast<unsigned short>(port)),
                 ec);
  if (ec) {
    reply.error = "connect: " + ec.message();
    return reply;
  }
  http::request<http::empty_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req, ec);
  if (ec) {
    reply.error = "write: " + ec.message();
    return reply;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  http::read(stream, buffer, parser, ec);
  if (ec) {
    reply.error = "read: " + ec.message();
    return reply;
  }
  reply.status = static_cast<int>(parser.get().result_int());
  reply.content_type = std::string(parser.get()[http::field::content_type]);
  reply.body = parser.get().body();
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return reply;
}

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_DAEMON_HTTP_CLIENT_H_
