// The metrics exposition (daemon/metrics.h) and the HTTP server (daemon/http_server.h), on
// their own: the text format a scraper reads, histograms, the counters kept from events, and
// an HTTP server answering from another thread, refusing bad requests and stopping cleanly.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/http_server.h"
#include "daemon/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/exposition_parser.h"
#include "tests/daemon/http_client.h"

namespace omniroute::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(ExpositionTest, FamiliesSamplesAndEscapes) {
  Exposition out;
  out.Family("omniroute_x_total", "counter", "Help with a \\ and a\nnewline.");
  out.Sample("omniroute_x_total", {{"queue", "a\"b\\c\nd"}, {"channel", "wechat"}}, 3);
  out.Sample("omniroute_x_total", {}, 0.25);
  EXPECT_EQ(out.text(),
            "# HELP omniroute_x_total Help with a \\\\ and a\\nnewline.\n"
            "# TYPE omniroute_x_total counter\n"
            "omniroute_x_total{queue=\"a\\\"b\\\\c\\nd\",channel=\"wechat\"} 3\n"
            "omniroute_x_total 0.25\n");
  const testing::Exposition parsed = testing::ParseExposition(out.text());
  EXPECT_THAT(parsed.errors, IsEmpty());
  EXPECT_EQ(parsed.Get("omniroute_x_total{queue=\"a\"b\\c\nd\",channel=\"wechat\"}"), 3);
}

TEST(ExpositionTest, ValuesAreShortAndExact) {
  Exposition out;
  out.Family("v", "gauge", "values");
  out.Sample("v", {{"k", "a"}}, 0.8);
  out.Sample("v", {{"k", "b"}}, 1e20);
  out.Sample("v", {{"k", "c"}}, -2);
  out.Sample("v", {{"k", "d"}}, 1.0 / 3);
  EXPECT_THAT(out.text(), HasSubstr("v{k=\"a\"} 0.8\n"));
  EXPECT_THAT(out.text(), HasSubstr("v{k=\"c\"} -2\n"));
  const testing::Exposition parsed = testing::ParseExposition(out.text());
  EXPECT_THAT(parsed.errors, IsEmpty());
  EXPECT_EQ(parsed.Get("v{k=\"b\"}"), 1e20);
  EXPECT_EQ(parsed.Get("v{k=\"d\"}"), 1.0 / 3);  // reads back exactly
}

TEST(HistogramTest, BucketsAreCumulativeWithInfAndCount) {
  Histogram h({0.001, 0.01, 0.1});
  for (double v : {0.0005, 0.001, 0.005, 0.05, 0.5, 5.0}) h.Observe(v);
  EXPECT_EQ(h.count(), 6u);
  Exposition out;
  out.Family("lat_seconds", "histogram", "latency");
  h.Write(out, "lat_seconds", {{"op", "x"}});
  const testing::Exposition parsed = testing::ParseExposition(out.text());
  EXPECT_THAT(parsed.errors, IsEmpty()) << out.text();
  EXPECT_EQ(parsed.Get("lat_seconds_bucket{op=\"x\",le=\"0.001\"}"), 2);  // le is inclusive
  EXPECT_EQ(parsed.Get("lat_seconds_bucket{op=\"x\",le=\"0.01\"}"), 3);
  EXPECT_EQ(parsed.Get("lat_seconds_bucket{op=\"x\",le=\"0.1\"}"), 4);
  EXPECT_EQ(parsed.Get("lat_seconds_bucket{op=\"x\",le=\"+Inf\"}"), 6);
  EXPECT_EQ(parsed.Get("lat_seconds_count{op=\"x\"}"), 6);
  EXPECT_NEAR(*parsed.Get("lat_seconds_sum{op=\"x\"}"), 5.5565, 1e-9);
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram h(Histogram::LatencyBounds());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.Observe(0.001 * (i % 7));
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(h.count(), 40000u);
}

TEST(ExpositionParserTest, CatchesWhatAScraperWouldRefuse) {
  EXPECT_THAT(testing::ParseExposition("x 1\n").errors, ElementsAre(HasSubstr("unannounced")));
  EXPECT_THAT(testing::ParseExposition("# HELP x h\n# TYPE x gauge\nx{a=\"1} 1\n").errors,
              Not(IsEmpty()));
  EXPECT_THAT(testing::ParseExposition("# HELP x h\n# TYPE x gauge\nx 1\nx 2\n").errors,
              ElementsAre(HasSubstr("twice")));
  EXPECT_THAT(testing::ParseExposition("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                                       "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
                  .errors,
              ElementsAre(HasSubstr("not cumulative")));
}

// ---------------------------------------------------------------------------------------------
// The HTTP server

HttpHandler Echo() {
  return [](const HttpRequest& r, std::function<void(HttpResponse)> respond) {
    if (r.path == "/missing") {
      HttpResponse nf;
      nf.status = 404;
      nf.body = "no\n";
      return respond(nf);
    }
    HttpResponse ok;
    ok.body = r.method + " " + r.target + " " + r.path;
    respond(ok);
  };
}

TEST(HttpServerTest, AnswersGetHeadAndStatusCodes) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start("127.0.0.1:0", Echo());
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  testing::HttpReply r = testing::HttpGet(port, "/metrics?x=1");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "GET /metrics?x=1 /metrics");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  r = testing::HttpGet(port, "/missing");
  EXPECT_EQ(r.status, 404);
  r = testing::HttpGet(port, "/x", "HEAD");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "");
}

TEST(HttpServerTest, AnswersFromAnotherThreadAndManyConnectionsAtOnce) {
  // The handler answers later, from a thread of its own, as the engine thread does.
  std::mutex mu;
  std::vector<std::function<void()>> pending;
  std::atomic<bool> done{false};
  std::thread worker([&] {
    while (!done) {
      std::vector<std::function<void()>> now;
      {
        std::lock_guard<std::mutex> lock(mu);
        now.swap(pending);
      }
      for (auto& f : now) f();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      "127.0.0.1:0", [&](const HttpRequest& r, std::function<void(HttpResponse)> respond) {
        std::lock_guard<std::mutex> lock(mu);
        pending.push_back([r, respond] {
          HttpResponse ok;
          ok.body = r.path;
          respond(ok);
        });
      });
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::thread> clients;
  std::atomic<int> right{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 10; ++i) {
        const std::string path = "/c" + std::to_string(c) + "/" + std::to_string(i);
        if (testing::HttpGet((*server)->port(), path).body == path) ++right;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(right, 80);
  (*server)->Stop();
  done = true;
  worker.join();
}

TEST(HttpServerTest, AnAnswerAfterStopIsDroppedSafely) {
  std::function<void(HttpResponse)> held;
  std::mutex mu;
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      "127.0.0.1:0", [&](const HttpRequest&, std::function<void(HttpResponse)> respond) {
        std::lock_guard<std::mutex> lock(mu);
        held = std::move(respond);  // never answered while the server runs
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::thread client([port] {
    testing::HttpReply r = testing::HttpGet(port, "/slow");
    EXPECT_EQ(r.status, 0) << "the connection is closed by Stop, unanswered";
  });
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (held) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server->reset();  // stops and destroys the server, the request still unanswered
  client.join();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_TRUE(held);
  HttpResponse late;
  late.body = "too late";
  held(late);  // must do nothing (AddressSanitizer checks it touches nothing freed)
}

TEST(HttpServerTest, BadAddressesAndPortsInUseAreRefused) {
  absl::StatusOr<std::unique_ptr<HttpServer>> a = HttpServer::Start("127.0.0.1:0", Echo());
  ASSERT_TRUE(a.ok());
  absl::StatusOr<std::unique_ptr<HttpServer>> b =
      HttpServer::Start("127.0.0.1:" + std::to_string((*a)->port()), Echo());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(b.status().message()), HasSubstr("http_address: cannot listen"));
  EXPECT_EQ(HttpServer::Start("nonsense", Echo()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HttpServerTest, OversizedHeadersCloseTheConnection) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start("127.0.0.1:0", Echo());
  ASSERT_TRUE(server.ok());
  const testing::HttpReply r = testing::HttpGet((*server)->port(), "/" + std::string(20000, 'x'));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(testing::HttpGet((*server)->port(), "/still-serving").status, 200);
}

}  // namespace
}  // namespace omniroute::daemon
