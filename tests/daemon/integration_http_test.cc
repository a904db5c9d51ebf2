// The daemon's HTTP endpoint against the real daemon: /healthz and /readyz, and /metrics
// following what happened over gRPC (sessions by queue and channel, offers by outcome, waiting
// sessions, agents by presence, gRPC calls by method and code, the engine thread's
// histograms), in a well-formed Prometheus exposition; after a restart the counters start
// from 0 and the live figures are the recovered state's.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"
#include "tests/daemon/exposition_parser.h"
#include "tests/daemon/http_client.h"

namespace omniroute::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr char kConfig[] = R"pb(
  queues {
    id: "repair"
    offer_timeout { seconds: 120 }
    wrap_up_duration { seconds: 0 }
  }
  queues {
    id: "sales"
    offer_timeout { seconds: 120 }
  }
  agents { id: "ann" queue_ids: "repair" }
  agents { id: "bob" queue_ids: "sales" }
)pb";

Exposition Scrape(Daemon& d) {
  const HttpReply r = HttpGet(d.http_port(), "/metrics");
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  Exposition e = ParseExposition(r.body);
  EXPECT_THAT(e.errors, IsEmpty()) << r.body;
  return e;
}

TEST(Http, HealthAndReadiness) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  HttpReply r = HttpGet(d.http_port(), "/healthz");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok\n");
  r = HttpGet(d.http_port(), "/readyz");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ready\n");
  r = HttpGet(d.http_port(), "/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("/metrics"));
  r = HttpGet(d.http_port(), "/metrics", "POST");
  EXPECT_EQ(r.status, 405);
  r = HttpGet(d.http_port(), "/readyz", "HEAD");
  EXPECT_EQ(r.status, 200);
  d.StopCleanly();
}

TEST(Http, MetricsFollowWhatHappened) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  {
    const Exposition e = Scrape(d);
    EXPECT_EQ(e.Get("omniroute_agents{presence=\"offline\"}"), 2);
    EXPECT_EQ(e.Get("omniroute_queue_sessions_waiting{queue=\"repair\"}"), 0);
    EXPECT_EQ(e.Get("omniroute_sessions_created_total{queue=\"repair\",channel=\"wechat\"}"),
              std::nullopt);
  }
  // Two chats and a call wait in repair; ann serves one chat; a bad request is refused.
  const std::string s1 = d.Create(NewSession("h-1", "wechat", "repair"));
  d.Create(NewSession("h-2", "wechat", "repair"));
  d.Create(NewSession("h-3", "voice", "repair"));
  v1::CreateSessionRequest bad = NewSession("h-4", "no-such-channel", "repair");
  EXPECT_FALSE(d.CreateSession(bad).ok());
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s1);
  accept.set_agent_id("ann");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  v1::CompleteSessionRequest complete;
  complete.set_session_id(s1);
  complete.set_agent_id("ann");
  ASSERT_THAT(d.CompleteSession(complete), IsOk());

  const Exposition e = Scrape(d);
  EXPECT_EQ(e.Get("omniroute_sessions_created_total{queue=\"repair\",channel=\"wechat\"}"), 2);
  EXPECT_EQ(e.Get("omniroute_sessions_created_total{queue=\"repair\",channel=\"voice\"}"), 1);
  EXPECT_EQ(e.Get("omniroute_sessions_routed_total{queue=\"repair\",channel=\"wechat\"}"), 1);
  EXPECT_EQ(e.Get("omniroute_sessions_completed_total{queue=\"repair\",channel=\"wechat\"}"), 1);
  EXPECT_EQ(e.Get("omniroute_offers_total{queue=\"repair\",outcome=\"accepted\"}"), 1);
  EXPECT_THAT(e.Get("omniroute_offers_total{queue=\"repair\",outcome=\"created\"}"),
              Optional(::testing::Ge(2)));
  // ann took a second chat after the first ended (one offer out); the call waits.
  EXPECT_EQ(e.Get("omniroute_sessions_waiting{queue=\"repair\",channel=\"voice\"}"), 1);
  EXPECT_EQ(e.Get("omniroute_agents{presence=\"available\"}"), 1);
  EXPECT_EQ(e.Get("omniroute_agents{presence=\"offline\"}"), 1);
  EXPECT_THAT(e.Get("omniroute_oldest_wait_seconds{queue=\"repair\"}"), Optional(::testing::Ge(0)));
  EXPECT_EQ(e.Get("omniroute_service_level_goal_ratio{queue=\"repair\"}"), 0.8);
  EXPECT_EQ(e.Get("omniroute_service_level_ratio{queue=\"repair\",window=\"15m\"}"), 1);
  EXPECT_EQ(e.Get("omniroute_queue_agents{queue=\"repair\",state=\"busy\"}"), 1);
  // gRPC calls by method and code.
  EXPECT_EQ(e.Get("omniroute_grpc_server_handled_total{grpc_service=\"omniroute.v1."
                  "SessionService\",grpc_method=\"CreateSession\",grpc_code=\"OK\"}"),
            3);
  EXPECT_EQ(e.Get("omniroute_grpc_server_handled_total{grpc_service=\"omniroute.v1."
                  "SessionService\",grpc_method=\"CreateSession\",grpc_code=\"NOT_FOUND\"}")
                    .value_or(0) +
                e.Get("omniroute_grpc_server_handled_total{grpc_service=\"omniroute.v1."
                      "SessionService\",grpc_method=\"CreateSession\",grpc_code="
                      "\"INVALID_ARGUMENT\"}")
                    .value_or(0),
            1);
  // The engine thread's work: every batch counted, journal syncs timed.
  EXPECT_THAT(e.Get("omniroute_engine_batch_size_count"), Optional(::testing::Ge(6)));
  EXPECT_THAT(e.Get("omniroute_engine_batch_duration_seconds_count"), Optional(::testing::Ge(6)));
  EXPECT_THAT(e.Get("omniroute_journal_sync_duration_seconds_count"), Optional(::testing::Ge(1)));
  EXPECT_EQ(e.types.at("omniroute_engine_batch_duration_seconds"), "histogram");
  EXPECT_EQ(e.types.at("omniroute_sessions_created_total"), "counter");
  EXPECT_EQ(e.types.at("omniroute_sessions_waiting"), "gauge");

  // After a restart the counters start again from 0 (what Prometheus expects of a new
  // process: the journal's replay does not count again); the live figures are the state's.
  d.StopCleanly();
  ASSERT_NO_FATAL_FAILURE(d.Restart());
  const Exposition after = Scrape(d);
  EXPECT_EQ(after.Get("omniroute_sessions_created_total{queue=\"repair\",channel=\"wechat\"}"),
            std::nullopt);
  EXPECT_EQ(after.Get("omniroute_sessions_waiting{queue=\"repair\",channel=\"voice\"}"), 1);
  EXPECT_EQ(after.Get("omniroute_agents{presence=\"available\"}"), 1);
}

}  // namespace
}  // namespace omniroute::testing
