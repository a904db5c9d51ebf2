// A minimal W3C WebDriver client for the end-to-end tests of the wallboard: starts Debian's
// chromedriver, opens headless Chromium through it, loads a page, runs scripts in it and
// takes screenshots. Plain HTTP and JSON (Boost.Beast, protobuf's JSON parser): no extra
// dependency beyond the `chromium` and `chromium-driver` packages of scripts/setup.sh.
//
//   WebDriver driver;
//   ASSERT_TRUE(driver.Start()) << driver.error();
//   driver.Navigate("http://127.0.0.1:7401/");
//   std::string text = driver.Script("return document.title").string_value();

#ifndef OMNIROUTE_TESTS_DAEMON_WEBDRIVER_H_
#define OMNIROUTE_TESTS_DAEMON_WEBDRIVER_H_

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "daemon/wallboard.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

extern char** environ;

namespace omniroute::testing {

class WebDriver {
 public:
  WebDriver() = default;
  ~WebDriver() { Quit(); }
  WebDriver(const WebDriver&) = delete;
  WebDriver& operator=(const WebDriver&) = delete;

  // The browser and its driver: OMNIROUTE_CHROMIUM / OMNIROUTE_CHROMEDRIVER, else Debian's.
  static std::string ChromiumPath() { return Env("OMNIROUTE_CHROMIUM", "/usr/bin/chromium"); }
  static std::string DriverPath() { return Env("OMNIROUTE_CHROMEDRIVER", "/usr/bin/chromedriver"); }

  // Starts chromedriver and a headless Chromium session with a `width`x`height` window.
  // False, with error(), when either cannot start.
  bool Start(int width = 1600, int height = 1000) {
    if (access(DriverPath().c_str(), X_OK) != 0 || access(ChromiumPath().c_str(), X_OK) != 0) {
      error_ = absl::StrCat("no ", DriverPath(), " or ", ChromiumPath(),
                            ": run scripts/setup.sh (packages chromium, chromium-driver)");
      return false;
    }
    port_ = FreePort();
    const std::string port_flag = absl::StrCat("--port=", port_);
    std::vector<std::string> args = {DriverPath(), port_flag, "--log-level=SEVERE"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
      error_ = "cannot start chromedriver";
      pid_ = -1;
      return false;
    }
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      up = Request("GET", "/status", "").ok;
    }
    if (!up) {
      error_ = "chromedriver did not answer";
      return false;
    }
    profile_ = absl::StrCat(::testing::TempDir(), "/chromium-profile-", getpid(), "-", port_);
    const std::string capabilities = absl::StrCat(
        R"({"capabilities":{"alwaysMatch":{"goog:chromeOptions":{"binary":)",
        daemon::JsonQuote(ChromiumPath()),
        R"(,"args":["--headless","--no-sandbox","--disable-gpu","--disable-dev-shm-usage",)"
        R"("--no-first-run","--disable-background-networking","--disable-component-update",)"
        R"("--disable-sync","--force-device-scale-factor=1","--window-size=)",
        width, ",", height, R"(","--user-data-dir=)", profile_, R"("]}}}})");
    const Reply r = Request("POST", "/session", capabilities);
    if (!r.ok) {
      error_ = absl::StrCat("cannot open a browser session: ", r.error);
      return false;
    }
    session_ = r.value.struct_value().fields().at("sessionId").string_value();
    return true;
  }

  void Navigate(const std::string& url) {
    Expect(Request("POST", Path("/url"), absl::StrCat(R"({"url":)", daemon::JsonQuote(url), "}")));
  }

  // Runs `script` (a function body: `return ...`) in the page; its result.
  google::protobuf::Value Script(const std::string& script) {
    const Reply r =
        Request("POST", Path("/execute/sync"),
                absl::StrCat(R"({"script":)", daemon::JsonQuote(script), R"(,"args":[]})"));
    Expect(r);
    return r.value;
  }

  // Polls `script` until it returns `want` (as a string), for up to `timeout`; the last value.
  std::string AwaitScript(const std::string& script, const std::string& want,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last;
    while (true) {
      last = AsText(Script(script));
      if (last == want || std::chrono::steady_clock::now() > deadline) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Writes a PNG of the window to `path`.
  bool Screenshot(const std::string& path) {
    const Reply r = Request("GET", Path("/screenshot"), "");
    std::string png;
    if (!r.ok || !absl::Base64Unescape(r.value.string_value(), &png)) return false;
    std::ofstream(path, std::ios::binary) << png;
    return true;
  }

  void Quit() {
    if (!session_.empty()) Request("DELETE", Path(""), "");
    session_.clear();
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!profile_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(profile_, ignored);
    }
  }

  const std::string& error() const { return error_; }

  static std::string AsText(const google::protobuf::Value& v) {
    switch (v.kind_case()) {
      case google::protobuf::Value::kStringValue:
        return v.string_value();
      case google::protobuf::Value::kNumberValue:
        return absl::StrCat(v.number_value());
      case google::protobuf::Value::kBoolValue:
        return v.bool_value() ? "true" : "false";
      case google::protobuf::Value::kNullValue:
        return "null";
      default: {
        std::string json;
        (void)google::protobuf::util::MessageToJsonString(v, &json);
        return json;
      }
    }
  }

 private:
  struct Reply {
    bool ok = false;
    google::protobuf::Value value;
    std::string error;
  };

  static std::string Env(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
  }

  static int FreePort() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
  }

  std::string Path(const std::string& rest) const {
    return absl::StrCat("/session/", session_, rest);
  }

  static void Expect(const Reply& r) { EXPECT_TRUE(r.ok) << "WebDriver: " << r.error; }

  Reply Request(const std::string& method, const std::string& target, const std::string& body) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    Reply reply;
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    beast::error_code ec;
    stream.expires_after(std::chrono::seconds(60));
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                  static_cast<unsigned short>(port_)),
                   ec);
    if (ec) {
      reply.error = "connect: " + ec.message();
      return reply;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json; charset=utf-8");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req, ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec) http::read(stream, buffer, parser, ec);
    if (ec) {
      reply.error = "HTTP: " + ec.message();
      return reply;
    }
    google::protobuf::Struct answer;
    if (!google::protobuf::util::JsonStringToMessage(parser.get().body(), &answer).ok()) {
      reply.error = "not JSON: " + parser.get().body();
      return reply;
    }
    auto it = answer.fields().find("value");
    if (it != answer.fields().end()) reply.value = it->second;
    reply.ok = parser.get().result_int() == 200;
    if (!reply.ok) reply.error = parser.get().body();
    return reply;
  }

  pid_t pid_ = -1;
  int port_ = 0;
  std::string session_;
  std::string profile_;
  std::string error_;
};

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_DAEMON_WEBDRIVER_H_
