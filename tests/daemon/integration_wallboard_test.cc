// The wallboard end to end: the real daemon serves the page at /, headless Chromium (Debian's
// chromium, driven through chromedriver) opens it, and the numbers on the page follow what the
// test does over gRPC: sessions waiting by channel, offers, agents busy, service level below
// its goal in colour, abandonment, and the ticker of decisions with their reasons.
//
// Set OMNIROUTE_WALLBOARD_SCREENSHOT=path to keep a PNG of the page (docs/wallboard.png is one).

#include <cstdlib>
#include <string>
#include <thread>

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

}  // namespace
}  // namespace omniroute::testing
