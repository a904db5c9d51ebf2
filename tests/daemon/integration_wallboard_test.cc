// The wallboard end to end: the real daemon serves the page at /, headless Chromium (Debian's
// chromium, driven through chromedriver) opens it, and the numbers on the page follow what the
// test does over gRPC: sessions waiting by channel, offers, agents busy, service level below
// its goal in colour, abandonment, and the ticker of decisions with their reasons. When the
// daemon has clients, the page asks for a token (kept in sessionStorage) and then shows the
// same figures.
//
// Set OMNIROUTE_WALLBOARD_SCREENSHOT=path to keep a PNG of the page (docs/wallboard.png is one).

#include <cstdlib>
#include <string>
#include <thread>

#include "daemon/security.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"
#include "tests/daemon/http_client.h"
#include "tests/daemon/webdriver.h"

namespace omniroute::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kConfig[] = R"pb(
  queues {
    id: "repair"
    offer_timeout { seconds: 120 }
    wrap_up_duration { seconds: 0 }
    service_level_threshold { seconds: 20 }
    service_level_goal: 0.8
  }
  queues {
    id: "sales"
    offer_timeout { seconds: 120 }
    service_level_threshold { nanos: 300000000 }
    service_level_goal: 0.9
  }
  agents { id: "ann" queue_ids: "repair" }
  agents { id: "cy" queue_ids: "repair" }
  agents { id: "bob" queue_ids: "sales" }
)pb";

// The text of the element with id `id`, or "missing".
std::string TextOf(const std::string& id) {
  return "const e = document.getElementById('" + id + "'); return e ? e.textContent : 'missing';";
}

TEST(Wallboard, PageIsServedFromTheBinary) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));
  const HttpReply page = HttpGet(d.http_port(), "/");
  EXPECT_EQ(page.status, 200) << page.error;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(page.body, HasSubstr("<title>omniroute wallboard</title>"));
  EXPECT_THAT(page.body, HasSubstr("new EventSource(\"/wallboard/events\")"));
  // Nothing from outside: a wall screen may have no Internet.
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("http://")));
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("https://")));
  const HttpReply head = HttpGet(d.http_port(), "/wallboard/events", "HEAD");
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(head.content_type, "text/event-stream; charset=utf-8");
  d.StopCleanly();
}

TEST(Wallboard, NumbersFollowWhatHappensInABrowser) {
  WebDriver browser;
  ASSERT_TRUE(browser.Start()) << browser.error();
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kConfig));

  // Three calls wait in repair before anyone looks.
  const std::string s1 = d.Create(NewSession("w-1", "voice", "repair"));
  d.Create(NewSession("w-2", "voice", "repair"));
  d.Create(NewSession("w-3", "wechat", "repair"));

  browser.Navigate("http://127.0.0.1:" + std::to_string(d.http_port()) + "/");
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-waiting"), "3"), "3");
  EXPECT_THAT(WebDriver::AsText(browser.Script(TextOf("q-repair-channels"))),
              ::testing::AllOf(HasSubstr("voice 2"), HasSubstr("wechat 1")));
  EXPECT_EQ(WebDriver::AsText(browser.Script(TextOf("agents-offline"))), "3");
  EXPECT_THAT(WebDriver::AsText(browser.Script(TextOf("status"))), StartsWith("live"));

  // ann comes in: the first call is offered to her (a decision on the ticker), she answers.
  ASSERT_THAT(d.SetPresence("ann", v1::PRESENCE_AVAILABLE), IsOk());
  v1::AcceptOfferRequest accept;
  accept.set_session_id(s1);
  accept.set_agent_id("ann");
  ASSERT_THAT(d.AcceptOffer(accept), IsOk());
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-waiting"), "2"), "2");
  EXPECT_EQ(browser.AwaitScript(TextOf("agents-busy"), "1"), "1");
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-service-level"), "100 %"), "100 %");
  EXPECT_EQ(
      WebDriver::AsText(browser.Script("return document.getElementById('queue-repair').className")),
      "queue ")
      << "a queue on target is not coloured";
  const std::string offered_to_ann =
      "return [...document.querySelectorAll('#ticker li.decision')].some(li => "
      "li.dataset.session === '" +
      s1 +
      "' && li.textContent.includes('offered') && "
      "li.textContent.includes('ann') && li.textContent.includes('longest_idle'));";
  EXPECT_EQ(browser.AwaitScript(offered_to_ann, "true"), "true");
  const std::string assigned =
      "return [...document.querySelectorAll('#ticker li.decision')].some(li => "
      "li.dataset.session === '" +
      s1 + "' && li.textContent.includes('assigned'));";
  EXPECT_EQ(browser.AwaitScript(assigned, "true"), "true");

  // A caller in repair hangs up: abandonment is one in two (one answered), and the service
  // level, which counts the abandoned call as missed, falls below repair's goal.
  v1::ListSessionsRequest list;
  list.set_queue_id("repair");
  list.add_states(v1::SESSION_STATE_QUEUED);
  v1::ListSessionsResponse queued;
  ASSERT_THAT(d.ListSessions(list, &queued), IsOk());
  ASSERT_EQ(queued.sessions_size(), 2);
  v1::CancelSessionRequest hang_up;
  hang_up.set_session_id(queued.sessions(0).id());
  hang_up.set_kind(v1::CANCEL_KIND_ABANDONED);
  ASSERT_THAT(d.CancelSession(hang_up), IsOk());
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-abandonment"), "50 %"), "50 %");
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-waiting"), "1"), "1");
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-service-level"), "50 %"), "50 %");
  EXPECT_EQ(
      browser.AwaitScript("return document.getElementById('queue-repair').className", "queue bad"),
      "queue bad");

  // sales answers late (its threshold is 0.3 s): its service level is below the goal too.
  const std::string late = d.Create(NewSession("w-4", "voice", "sales"));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  ASSERT_THAT(d.SetPresence("bob", v1::PRESENCE_AVAILABLE), IsOk());
  v1::AcceptOfferRequest bob_accepts;
  bob_accepts.set_session_id(late);
  bob_accepts.set_agent_id("bob");
  ASSERT_THAT(d.AcceptOffer(bob_accepts), IsOk());
  EXPECT_EQ(browser.AwaitScript(TextOf("q-sales-service-level"), "0 %"), "0 %");
  EXPECT_EQ(
      browser.AwaitScript("return document.getElementById('queue-sales').className", "queue bad"),
      "queue bad");
  EXPECT_EQ(browser.AwaitScript(TextOf("agents-busy"), "2"), "2");

  // The page agrees with the API.
  const v1::QueueStats repair = d.QueueStats("repair");
  EXPECT_EQ(WebDriver::AsText(browser.Script(TextOf("q-repair-waiting"))),
            std::to_string(repair.waiting()));
  EXPECT_EQ(WebDriver::AsText(browser.Script(TextOf("q-repair-offered"))),
            std::to_string(repair.offered()));

  if (const char* path = std::getenv("OMNIROUTE_WALLBOARD_SCREENSHOT")) {
    EXPECT_TRUE(browser.Screenshot(path));
  }
  d.StopCleanly();
  EXPECT_EQ(browser.AwaitScript("return document.getElementById('status').className", "down"),
            "down")
      << "the page says when the daemon is gone";
}

TEST(Wallboard, AsksForATokenWhenTheDaemonHasClients) {
  const std::string gateway_token = "gw-0123456789abcdef0123456789abcdef";
  const std::string supervisor_token = "sup-0123456789abcdef0123456789abcdef";
  WebDriver browser;
  ASSERT_TRUE(browser.Start()) << browser.error();
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(
      d.Start(std::string(kConfig) + "security {\n" + "  clients { name: \"gw\" token_sha256: \"" +
              daemon::HashTokenHex(gateway_token) + "\" roles: ROLE_GATEWAY }\n" +
              "  clients { name: \"sup\" token_sha256: \"" +
              daemon::HashTokenHex(supervisor_token) + "\" roles: ROLE_SUPERVISOR }\n}\n"));
  // A call waits in repair (the gateway's token creates it).
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kWait);
    context.AddMetadata("authorization", "Bearer " + gateway_token);
    v1::CreateSessionResponse created;
    ASSERT_THAT(
        d.sessions().CreateSession(&context, NewSession("t-1", "voice", "repair"), &created),
        IsOk());
  }
  // The page itself is open; its feed is not.
  EXPECT_EQ(HttpGet(d.http_port(), "/").status, 200);
  EXPECT_EQ(HttpGet(d.http_port(), "/wallboard/events").status, 401);

  const std::string form_shown = "return document.getElementById('token-form').hidden";
  const auto enter = [](const std::string& token) {
    return "const i = document.getElementById('token'); i.value = '" + token +
           "'; document.getElementById('token-form').requestSubmit(); return true;";
  };
  browser.Navigate("http://127.0.0.1:" + std::to_string(d.http_port()) + "/");
  ASSERT_EQ(browser.AwaitScript(form_shown, "false"), "false") << "the page asks for a token";
  EXPECT_EQ(WebDriver::AsText(browser.Script(TextOf("status"))), "token needed");
  EXPECT_EQ(WebDriver::AsText(browser.Script(TextOf("q-repair-waiting"))), "missing");

  // A gateway's token may not watch: the page says so and asks again.
  browser.Script(enter(gateway_token));
  EXPECT_EQ(
      browser.AwaitScript(
          "return document.getElementById('token-why').textContent.includes('supervisor')", "true"),
      "true");
  EXPECT_EQ(WebDriver::AsText(browser.Script(form_shown)), "false");

  // A supervisor's token: the figures show up.
  browser.Script(enter(supervisor_token));
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-waiting"), "1"), "1");
  EXPECT_EQ(browser.AwaitScript(TextOf("agents-offline"), "3"), "3");
  EXPECT_THAT(WebDriver::AsText(browser.Script(TextOf("status"))), StartsWith("live"));
  EXPECT_EQ(WebDriver::AsText(browser.Script(form_shown)), "true");
  // Kept for this tab only, never in localStorage.
  EXPECT_EQ(WebDriver::AsText(
                browser.Script("return sessionStorage.getItem('omniroute-wallboard-token') === '" +
                               supervisor_token + "'")),
            "true");
  EXPECT_EQ(WebDriver::AsText(browser.Script("return String(localStorage.length)")), "0");

  // A new call shows up live; a reload of the page does not ask again.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kWait);
    context.AddMetadata("authorization", "Bearer " + gateway_token);
    v1::CreateSessionResponse created;
    ASSERT_THAT(
        d.sessions().CreateSession(&context, NewSession("t-2", "wechat", "repair"), &created),
        IsOk());
  }
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-waiting"), "2"), "2");
  browser.Navigate("http://127.0.0.1:" + std::to_string(d.http_port()) + "/");
  EXPECT_EQ(browser.AwaitScript(TextOf("q-repair-waiting"), "2"), "2");
  EXPECT_EQ(WebDriver::AsText(browser.Script(form_shown)), "true");
  EXPECT_THAT(d.Stderr(), ::testing::Not(HasSubstr(supervisor_token)));

  d.StopCleanly();
  EXPECT_EQ(browser.AwaitScript("return document.getElementById('status').className", "down"),
            "down")
      << "the page says when the daemon is gone";
}

}  // namespace
}  // namespace omniroute::testing
