// The wallboard's pieces without a daemon: the JSON of snapshots and decisions (parsed back
// as JSON, field by field, from a real engine and statistics book), the reasons in words, and
// the HTTP server's event streams (first chunk, published chunks, a slow client dropped, the
// limit on open streams, a client that leaves).

#include "daemon/wallboard.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/read_until.hpp"
#include "boost/asio/streambuf.hpp"
#include "boost/asio/write.hpp"
#include "daemon/http_server.h"
#include "daemon/stats.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "omniroute/engine.h"
#include "tests/daemon/http_client.h"

namespace omniroute::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Time T(int seconds) { return absl::FromUnixSeconds(1'800'000'000 + seconds); }

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct out;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &out);
  EXPECT_TRUE(status.ok()) << status << "\n" << json;
  return out;
}

const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& name) {
  static const google::protobuf::Value kMissing;
  auto it = s.fields().find(name);
  EXPECT_TRUE(it != s.fields().end()) << "no field " << name;
  return it == s.fields().end() ? kMissing : it->second;
}

TEST(JsonQuoteTest, EscapesWhatJsonNeedsAndKeepsUtf8) {
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\te\x01"), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
  EXPECT_EQ(JsonQuote("热水器"), "\"热水器\"");
  const google::protobuf::Struct s =
      ParseJson(absl::StrCat("{\"x\":", JsonQuote("a\"\n\x02"), "}"));
  EXPECT_EQ(Field(s, "x").string_value(), "a\"\n\x02");
}

TEST(DescribeReasonTest, SaysWhatDecidedAgainstWhom) {
  RoutingReason r;
  r.strategy = "longest_idle";
  r.decided_by = Decider::kPrimaryKey;
  r.has_runner_up = true;
  r.runner_up_engineer = EngineerId("bob");
  EXPECT_EQ(DescribeReason(r, "ann"), "longest_idle: ahead of bob on the main criterion");
  r.decided_by = Decider::kSecondaryKey;
  r.stage = RoutingStage::kVipTier;
  r.relaxation_step = 2;
  r.rules = {"vip", "zh"};
  EXPECT_EQ(DescribeReason(r, "ann"),
            "longest_idle: level with bob on the main criterion, ahead on the tie-break, stage "
            "vip_tier, relaxation step 2, rules [vip, zh]");
  RoutingReason only;
  only.strategy = "most_spare";
  only.decided_by = Decider::kOnlyCandidate;
  EXPECT_EQ(DescribeReason(only, "ann"), "most_spare: the only eligible agent");
  RoutingReason freed;
  freed.strategy = "longest_idle";
  freed.decided_by = Decider::kLongestWait;
  freed.waited = absl::Seconds(75) + absl::Milliseconds(400);
  EXPECT_EQ(DescribeReason(freed, "ann"),
            "longest_idle: ann was free: equal priority, the longest wait (1m15s)");
}

TEST(DecisionJsonTest, OffersRelaxationsAndOverflowsAreValidJson) {
  Event offer;
  offer.seq = 42;
  offer.at = T(0) + absl::Milliseconds(250);
  offer.type = EventType::kOfferCreated;
  offer.session = SessionId(7);
  offer.queue = QueueId("repair");
  offer.engineer = EngineerId("ann");
  offer.has_reason = true;
  offer.reason.strategy = "longest_idle";
  offer.reason.decided_by = Decider::kOnlyCandidate;
  google::protobuf::Struct s = ParseJson(DecisionJson(offer));
  EXPECT_EQ(Field(s, "sequence").number_value(), 42);
  EXPECT_EQ(Field(s, "time").string_value(), "2027-01-15T08:00:00.250Z");
  EXPECT_EQ(Field(s, "session").string_value(), "7");
  EXPECT_EQ(Field(s, "queue").string_value(), "repair");
  EXPECT_EQ(Field(s, "agent").string_value(), "ann");
  EXPECT_EQ(Field(s, "what").string_value(), "offered");
  EXPECT_EQ(Field(s, "reason").string_value(), "longest_idle: the only eligible agent");

  Event overflow;
  overflow.type = EventType::kSessionOverflowed;
  overflow.session = SessionId(8);
  overflow.queue = QueueId("repair");
  overflow.to_queue = QueueId("repair.backup");
  overflow.detail = "waited 2m in queue";
  s = ParseJson(DecisionJson(overflow));
  EXPECT_EQ(Field(s, "what").string_value(), "overflowed");
  EXPECT_EQ(Field(s, "reason").string_value(), "to repair.backup: waited 2m in queue");
  EXPECT_EQ(Field(s, "agent").string_value(), "");

  Event relaxed;
  relaxed.type = EventType::kSessionRelaxed;
  relaxed.session = SessionId(9);
  relaxed.detail = "step 1: repair>=2 \"quoted\"";
  s = ParseJson(DecisionJson(relaxed));
  EXPECT_EQ(Field(s, "what").string_value(), "relaxed");
  EXPECT_EQ(Field(s, "reason").string_value(), "step 1: repair>=2 \"quoted\"");

  EXPECT_TRUE(IsWallboardDecision(EventType::kSessionAssigned));
  EXPECT_FALSE(IsWallboardDecision(EventType::kPresenceChanged));
  EXPECT_FALSE(IsWallboardDecision(EventType::kOfferAccepted));
}

// A real engine with its statistics: the snapshot says what happened.
TEST(SnapshotJsonTest, FollowsTheEngine) {
  Engine engine;
  StatsBook book(absl::Hours(1));
  auto apply = [&](const Command& c, absl::Time at) {
    std::vector<Event> events;
    const absl::Status s = engine.Apply(c, at, &events);
    ASSERT_TRUE(s.ok()) << s;
    for (const Event& e : events) book.Observe(e, engine);
  };
  QueueConfig repair;
  repair.id = QueueId("repair");
  repair.service_level_threshold = absl::Seconds(20);
  repair.service_level_goal = 0.9;
  apply(UpsertQueue{repair}, T(0));
  for (const char* id : {"ann", "bob", "cy"}) {
    EngineerConfig e;
    e.id = EngineerId(id);
    e.queues = {QueueId("repair")};
    apply(UpsertEngineer{e}, T(0));
  }
  apply(SetPresence{EngineerId("ann"), Presence::kAvailable, "", absl::ZeroDuration()}, T(0));
  apply(SetPresence{EngineerId("bob"), Presence::kNotReady, "break", absl::ZeroDuration()}, T(0));
  for (const char* channel : {"voice", "wechat", "wechat"}) {
    CreateSession c;
    c.queue = QueueId("repair");
    c.channel = ChannelId(channel);
    apply(c, T(1));
  }
  // One session went to ann (offered); two wait. ann accepts: busy, answered in 4 s.
  apply(AcceptOffer{SessionId(1), EngineerId("ann")}, T(5));

  google::protobuf::Struct s = ParseJson(SnapshotJson(engine, book, T(31), absl::Minutes(15)));
  EXPECT_EQ(Field(s, "window").string_value(), "15m");
  EXPECT_EQ(Field(s, "time").string_value(), "2027-01-15T08:00:31.000Z");
  const google::protobuf::Struct& agents = Field(s, "agents").struct_value();
  EXPECT_EQ(Field(agents, "busy").number_value(), 1);
  EXPECT_EQ(Field(agents, "available").number_value(), 0);
  EXPECT_EQ(Field(agents, "not_ready").number_value(), 1);
  EXPECT_EQ(Field(agents, "offline").number_value(), 1);
  ASSERT_EQ(Field(s, "queues").list_value().values_size(), 1);
  const google::protobuf::Struct& q = Field(s, "queues").list_value().values(0).struct_value();
  EXPECT_EQ(Field(q, "id").string_value(), "repair");
  EXPECT_EQ(Field(q, "waiting").number_value(), 2);
  const google::protobuf::Struct& by_channel = Field(q, "waiting_by_channel").struct_value();
  EXPECT_EQ(Field(by_channel, "wechat").number_value(), 2);
  EXPECT_EQ(by_channel.fields().count("voice"), 0u);
  EXPECT_EQ(Field(q, "oldest_wait_s").number_value(), 30);
  EXPECT_EQ(Field(q, "service_level").number_value(), 1);
  EXPECT_EQ(Field(q, "goal").number_value(), 0.9);
  EXPECT_EQ(Field(q, "threshold_s").number_value(), 20);
  EXPECT_EQ(Field(q, "asa_s").number_value(), 4);
  EXPECT_EQ(Field(q, "abandonment").number_value(), 0);  // one answered, none abandoned
  EXPECT_EQ(Field(q, "answered").number_value(), 1);
  const google::protobuf::Struct& qa = Field(q, "agents").struct_value();
  EXPECT_EQ(Field(qa, "busy").number_value(), 1);
  EXPECT_EQ(Field(qa, "not_ready").number_value(), 1);
}

// --- Event streams of the HTTP server -----------------------------------------------------

// A raw client of one event stream: sends the request, reads what comes.
class StreamClient {
 public:
  explicit StreamClient(int port) : socket_(io_) {
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                            static_cast<unsigned short>(port));
    socket_.connect(endpoint);
    const std::string request =
        "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    boost::asio::write(socket_, boost::asio::buffer(request));
  }
  // Reads until `text` has arrived (everything received so far is kept in received()).
  bool ReadUntil(const std::string& text) {
    boost::system::error_code ec;
    while (received_.find(text) == std::string::npos) {
      char buf[4096];
      const size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
      if (ec) return false;
      received_.append(buf, n);
    }
    return true;
  }
  const std::string& received() const { return received_; }
  void Close() { socket_.close(); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string received_;
};

HttpHandler StreamHandler() {
  return [](const HttpRequest& request, std::function<void(HttpResponse)> respond) {
    HttpResponse r;
    if (request.path == "/events") {
      r.content_type = "text/event-stream";
      r.stream_topic = "t";
      r.body = "data: first\n\n";
    } else {
      r.body = "plain";
    }
    respond(std::move(r));
  };
}

// Polls `condition` for up to 10 s.
template <typename F>
bool Eventually(F condition) {
  for (int i = 0; i < 1000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

TEST(HttpStreamTest, FirstChunkThenWhatIsPublishedThenTheClientLeaves) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start("127.0.0.1:0", StreamHandler());
  ASSERT_TRUE(server.ok()) << server.status();
  StreamClient a((*server)->port());
  ASSERT_TRUE(a.ReadUntil("data: first\n\n"));
  EXPECT_THAT(a.received(), StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(a.received(), HasSubstr("Content-Type: text/event-stream\r\n"));
  EXPECT_THAT(a.received(), ::testing::Not(HasSubstr("Content-Length")));
  ASSERT_TRUE(Eventually([&] { return (*server)->open_streams() == 1; }));
  StreamClient b((*server)->port());
  ASSERT_TRUE(b.ReadUntil("data: first\n\n"));
  ASSERT_TRUE(Eventually([&] { return (*server)->open_streams() == 2; }));

  (*server)->Publish("t", "data: one\n\n");
  (*server)->Publish("other topic", "data: not for them\n\n");
  (*server)->Publish("t", "data: two\n\n");
  ASSERT_TRUE(a.ReadUntil("data: two\n\n"));
  ASSERT_TRUE(b.ReadUntil("data: two\n\n"));
  EXPECT_THAT(a.received(), HasSubstr("data: first\n\ndata: one\n\ndata: two\n\n"));
  EXPECT_THAT(b.received(), ::testing::Not(HasSubstr("not for them")));

  // A plain request still works beside the streams.
  EXPECT_EQ(testing::HttpGet((*server)->port(), "/plain").body, "plain");

  a.Close();
  EXPECT_TRUE(Eventually([&] { return (*server)->open_streams() == 1; }));
  (*server)->Publish("t", "data: three\n\n");
  ASSERT_TRUE(b.ReadUntil("data: three\n\n"));
  (*server)->Stop();
  EXPECT_FALSE(b.ReadUntil("never")) << "the stream ends when the server stops";
  EXPECT_EQ((*server)->open_streams(), 0);
}

TEST(HttpStreamTest, AClientThatDoesNotReadIsDisconnected) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start("127.0.0.1:0", StreamHandler());
  ASSERT_TRUE(server.ok()) << server.status();
  StreamClient idle((*server)->port());
  ASSERT_TRUE(idle.ReadUntil("data: first\n\n"));
  ASSERT_TRUE(Eventually([&] { return (*server)->open_streams() == 1; }));
  // Far more than the socket buffers and the stream's backlog hold, never read.
  const std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 1024 && (*server)->open_streams() > 0; ++i) {
    (*server)->Publish("t", chunk);
    if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(Eventually([&] { return (*server)->open_streams() == 0; }))
      << "a stuck client must not grow the daemon's memory";
}

TEST(HttpStreamTest, TooManyStreamsAreRefusedWith503) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start("127.0.0.1:0", StreamHandler());
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::unique_ptr<StreamClient>> clients;
  for (int i = 0; i < HttpServer::kMaxStreams; ++i) {
    clients.push_back(std::make_unique<StreamClient>((*server)->port()));
    ASSERT_TRUE(clients.back()->ReadUntil("data: first\n\n")) << i;
  }
  EXPECT_EQ((*server)->open_streams(), HttpServer::kMaxStreams);
  const testing::HttpReply refused = testing::HttpGet((*server)->port(), "/events");
  EXPECT_EQ(refused.status, 503) << refused.error;
  EXPECT_THAT(refused.body, HasSubstr("too many event streams"));
  // HEAD gets the headers of a stream without opening one.
  const testing::HttpReply head = testing::HttpGet((*server)->port(), "/events", "HEAD");
  EXPECT_EQ(head.status, 200) << head.error;
  EXPECT_EQ(head.content_type, "text/event-stream");
}

}  // namespace
}  // namespace omniroute::daemon
