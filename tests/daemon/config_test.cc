// The daemon's configuration: parsing DaemonConfig text, resolving defaults and ranges,
// applying the startup objects to a real engine, and the command line.

#include "daemon/config.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/engine.h"

namespace omniroute::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kT0 = absl::FromUnixSeconds(1'700'000'000);
const char kExamplePath[] = OMNIROUTE_SOURCE_DIR "/proto/examples/omnirouted.textproto";

// Parses `text` (source "test.textproto") and resolves it; dies on a parse error.
absl::StatusOr<DaemonSettings> Resolve(const std::string& text) {
  absl::StatusOr<v1::DaemonConfig> config = ParseConfigText(text, "test.textproto");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return config.status();
  return ResolveConfig(*config, "test.textproto");
}

// An INVALID_ARGUMENT whose message starts with "<field>: " and contains `what`.
void ExpectInvalid(const absl::StatusOr<DaemonSettings>& settings, const std::string& field,
                   const std::string& what = "") {
  ASSERT_FALSE(settings.ok()) << "expected an error at " << field;
  EXPECT_EQ(settings.status().code(), absl::StatusCode::kInvalidArgument) << settings.status();
  EXPECT_THAT(std::string(settings.status().message()), StartsWith(field + ": "));
  EXPECT_THAT(std::string(settings.status().message()), HasSubstr(what));
}

std::string WriteTempFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  EXPECT_TRUE(out.good()) << path;
  return path;
}

absl::StatusOr<CommandLine> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "omnirouted");
  return ParseCommandLine(static_cast<int>(args.size()), args.data());
}

std::vector<std::string> QueueIds(const Engine& engine) {
  std::vector<std::string> out;
  for (const QueueId& id : engine.ListQueues()) out.push_back(id.value());
  return out;
}

std::vector<std::string> EngineerIds(const Engine& engine) {
  std::vector<std::string> out;
  for (const EngineerId& id : engine.ListEngineers()) out.push_back(id.value());
  return out;
}

// ---------------------------------------------------------------------------------------------
// The demo configuration and the example file

TEST(DemoConfigTest, ParsesResolvesAndApplies) {
  absl::StatusOr<v1::DaemonConfig> parsed = ParseConfigText(DemoConfigText(), "demo");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), DemoConfig().SerializeAsString());

  absl::StatusOr<DaemonSettings> settings = ResolveConfig(DemoConfig(), kDemoConfigSource);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->source, "embedded demo configuration");
  EXPECT_EQ(settings->listen_address, "127.0.0.1:7400");
  EXPECT_EQ(settings->data_dir, "data");
  EXPECT_TRUE(settings->durable);
  EXPECT_EQ(settings->log_level, v1::LOG_LEVEL_INFO);
  ASSERT_EQ(settings->queues.size(), 5u);
  EXPECT_EQ(settings->queues[0].id.value(), "repair.backup");  // the overflow target first
  ASSERT_GE(settings->agents.size(), 4u);
  EXPECT_LE(settings->agents.size(), 6u);

  Engine engine(settings->engine_options);
  std::vector<Event> events;
  ASSERT_TRUE(ApplyStartupObjects(*settings, engine, kT0, &events).ok());
  EXPECT_THAT(QueueIds(engine), ElementsAre("iot", "presales", "repair", "repair.backup", "vip"));
  EXPECT_THAT(EngineerIds(engine),
              ElementsAre("eng-1001", "eng-1002", "eng-1003", "eng-1004", "eng-1005"));
  EXPECT_EQ(events.size(),
            settings->channels.size() + settings->queues.size() + settings->agents.size());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().type, EventType::kChannelUpserted);
  EXPECT_EQ(events.back().type, EventType::kEngineerUpserted);

  // The details the demo promises.
  std::optional<QueueInfo> repair = engine.GetQueue(QueueId("repair"));
  ASSERT_TRUE(repair.has_value());
  EXPECT_EQ(repair->config.overflow_queue, QueueId("repair.backup"));
  EXPECT_EQ(repair->config.requirements, (std::vector<Requirement>{{SkillId("repair.phone"), 3}}));
  EXPECT_EQ(repair->config.relaxation.size(), 2u);
  std::optional<QueueInfo> presales = engine.GetQueue(QueueId("presales"));
  ASSERT_TRUE(presales.has_value());
  EXPECT_EQ(presales->config.delivery, DeliveryMode::kGrab);
  EXPECT_EQ(engine.GetQueue(QueueId("vip"))->config.strategy, "best_rated");
  std::optional<EngineerInfo> eng = engine.GetEngineer(EngineerId("eng-1001"));
  ASSERT_TRUE(eng.has_value());
  EXPECT_EQ(eng->presence, Presence::kOffline);
  EXPECT_EQ(eng->config.tier, Tier::kMaster);
  EXPECT_EQ(eng->config.queues, (std::vector<QueueId>{QueueId("repair"), QueueId("vip")}));
  bool has_video = false;
  for (const ChannelSpec& c : engine.ListChannels()) has_video |= c.id == ChannelId("video");
  EXPECT_TRUE(has_video);
}

TEST(DemoConfigTest, LoadSettingsWithoutFlagsIsTheDemo) {
  absl::StatusOr<CommandLine> command_line = Parse({});
  ASSERT_TRUE(command_line.ok()) << command_line.status();
  EXPECT_FALSE(command_line->help);
  EXPECT_FALSE(command_line->config_path.has_value());
  absl::StatusOr<DaemonSettings> settings = LoadSettings(*command_line);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->source, kDemoConfigSource);
  EXPECT_EQ(settings->queues.size(), 5u);
}

TEST(ExampleConfigTest, ResolvesAndApplies) {
  absl::StatusOr<v1::DaemonConfig> config = LoadConfigFile(kExamplePath);
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<DaemonSettings> settings = ResolveConfig(*config, kExamplePath);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->source, kExamplePath);
  EXPECT_EQ(settings->request_id_retention, absl::Hours(1));
  EXPECT_EQ(settings->stats_default_window, absl::Minutes(15));
  ASSERT_EQ(settings->channels.size(), 1u);
  EXPECT_EQ(settings->channels[0].id, ChannelId("video"));
  EXPECT_EQ(settings->channels[0].cost, 60);

  Engine engine(settings->engine_options);
  std::vector<Event> events;
  absl::Status applied = ApplyStartupObjects(*settings, engine, kT0, &events);
  ASSERT_TRUE(applied.ok()) << applied;
  EXPECT_THAT(QueueIds(engine), ElementsAre("field", "repair", "repair.backup", "vip"));
  EXPECT_THAT(EngineerIds(engine), ElementsAre("eng-1042", "eng-2077"));
  EXPECT_EQ(engine.GetQueue(QueueId("vip"))->config.vip_min_tier, Tier::kExpert);
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(ResolveConfigTest, EmptyConfigGivesEveryDefault) {
  absl::StatusOr<DaemonSettings> s = ResolveConfig(v1::DaemonConfig(), "empty");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->listen_address, "127.0.0.1:7400");
  EXPECT_EQ(s->http_address, "127.0.0.1:7401");
  EXPECT_EQ(s->data_dir, "data");
  EXPECT_TRUE(s->durable);
  EXPECT_EQ(s->sync_policy, v1::SYNC_POLICY_EVERY_BATCH);
  EXPECT_EQ(s->sync_interval, absl::Milliseconds(100));
  EXPECT_EQ(s->snapshot_interval, absl::Minutes(10));
  EXPECT_EQ(s->snapshot_journal_bytes, int64_t{256} << 20);
  EXPECT_EQ(s->segment_bytes, int64_t{64} << 20);
  EXPECT_EQ(s->log_level, v1::LOG_LEVEL_INFO);
  EXPECT_EQ(s->max_message_bytes, 4194304);
  EXPECT_EQ(s->max_open_streams, 1024);
  EXPECT_EQ(s->stream_buffer_size, 1024);
  EXPECT_EQ(s->max_waiting_sessions, 100000);
  EXPECT_EQ(s->default_page_size, 100);
  EXPECT_EQ(s->max_page_size, 1000);
  EXPECT_EQ(s->request_id_retention, absl::Hours(1));
  EXPECT_EQ(s->event_history_size, 65536);
  EXPECT_EQ(s->engine_options.missed_offers_limit, 3);
  EXPECT_EQ(s->engine_options.session_retention, absl::Minutes(10));
  EXPECT_EQ(s->engine_options.channels, DefaultChannels());
  EXPECT_EQ(s->stats_default_window, absl::Minutes(15));
  EXPECT_EQ(s->stats_max_window, absl::Hours(24));
  EXPECT_TRUE(s->channels.empty());
  EXPECT_TRUE(s->queues.empty());
  EXPECT_TRUE(s->agents.empty());
  EXPECT_EQ(s->source, "empty");
}

TEST(ResolveConfigTest, DefaultConstructedSettingsAreTheDefaults) {
  absl::StatusOr<DaemonSettings> r = ResolveConfig(v1::DaemonConfig(), "");
  ASSERT_TRUE(r.ok()) << r.status();
  const DaemonSettings d;
  EXPECT_EQ(d.listen_address, r->listen_address);
  EXPECT_EQ(d.log_level, r->log_level);
  EXPECT_EQ(d.max_message_bytes, r->max_message_bytes);
  EXPECT_EQ(d.max_open_streams, r->max_open_streams);
  EXPECT_EQ(d.stream_buffer_size, r->stream_buffer_size);
  EXPECT_EQ(d.max_waiting_sessions, r->max_waiting_sessions);
  EXPECT_EQ(d.default_page_size, r->default_page_size);
  EXPECT_EQ(d.max_page_size, r->max_page_size);
  EXPECT_EQ(d.request_id_retention, r->request_id_retention);
  EXPECT_EQ(d.event_history_size, r->event_history_size);
  EXPECT_EQ(d.engine_options.missed_offers_limit, r->engine_options.missed_offers_limit);
  EXPECT_EQ(d.engine_options.session_retention, r->engine_options.session_retention);
  EXPECT_EQ(d.stats_default_window, r->stats_default_window);
  EXPECT_EQ(d.stats_max_window, r->stats_max_window);
}

TEST(ResolveConfigTest, SetValuesAreKept) {
  absl::StatusOr<DaemonSettings> s = Resolve(R"(
    listen_address: "[::]:7500"
    http_address: "0.0.0.0:8080"
    data_dir: "/var/lib/omniroute"
    log_level: LOG_LEVEL_WARNING
    limits {
      max_message_bytes: 1024 max_open_streams: 100000 stream_buffer_size: 16
      max_waiting_sessions: 7 default_page_size: 5 max_page_size: 50
      request_id_retention { seconds: 60 } event_history_size: 0
    }
    engine { missed_offers_limit: 0 session_retention { seconds: 0 } }
    stats { default_window { nanos: 1000 } max_window { seconds: 604800 } }
    security { allow_insecure: true }
  )");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->listen_address, "[::]:7500");
  EXPECT_EQ(s->http_address, "0.0.0.0:8080");
  EXPECT_EQ(s->data_dir, "/var/lib/omniroute");
  EXPECT_EQ(s->log_level, v1::LOG_LEVEL_WARNING);
  EXPECT_EQ(s->max_message_bytes, 1024);
  EXPECT_EQ(s->max_open_streams, 100000);
  EXPECT_EQ(s->stream_buffer_size, 16);
  EXPECT_EQ(s->max_waiting_sessions, 7);
  EXPECT_EQ(s->default_page_size, 5);
  EXPECT_EQ(s->max_page_size, 50);
  EXPECT_EQ(s->request_id_retention, absl::Minutes(1));
  EXPECT_EQ(s->event_history_size, 0);
  EXPECT_EQ(s->engine_options.missed_offers_limit, 0);
  EXPECT_EQ(s->engine_options.session_retention, absl::ZeroDuration());
  EXPECT_EQ(s->stats_default_window, absl::Microseconds(1));
  EXPECT_EQ(s->stats_max_window, absl::Hours(24 * 7));
}

TEST(ResolveConfigTest, UnsetDefaultsGiveWayToASmallerMaximum) {
  absl::StatusOr<DaemonSettings> s =
      Resolve("limits { max_page_size: 40 } stats { max_window { seconds: 300 } }");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->default_page_size, 40);
  EXPECT_EQ(s->stats_default_window, absl::Minutes(5));
}

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(ParseConfigTextTest, UnknownFieldNamesTheFieldAndTheLine) {
  absl::StatusOr<v1::DaemonConfig> c =
      ParseConfigText("listen_address: \"127.0.0.1:1\"\n  listen_port: 7400\n", "my.textproto");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), StartsWith("my.textproto:2:3: "));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("listen_port"));

  // Nested.
  c = ParseConfigText("limits {\n  max_streams: 3\n}\n", "my.textproto");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), StartsWith("my.textproto:2:3: "));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("max_streams"));
}

TEST(ParseConfigTextTest, SyntaxErrorsHaveAPosition) {
  absl::StatusOr<v1::DaemonConfig> c =
      ParseConfigText("log_level: LOG_LEVEL_INFO\nlimits { max_open_streams: 3\n", "x");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), StartsWith("x:3:1: "));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("end of input"));

  // The parser reports a bad enum value at the next token (here on line 2): the position is
  // moved back to the value.
  c = ParseConfigText("log_level: LOUD\nlimits {}\n", "x");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), StartsWith("x:1:12: "));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("LOUD"));

  c = ParseConfigText("limits { max_open_streams: \"many\" }", "x");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), StartsWith("x:1:"));

  c = ParseConfigText("listen_address: \"a:1\"\nlisten_address: \"b:2\"\n", "x");
  ASSERT_FALSE(c.ok()) << "a singular field given twice";
  EXPECT_THAT(std::string(c.status().message()), StartsWith("x:2:1: "));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("listen_address"));

  // Columns count bytes (a tab is one column).
  c = ParseConfigText("\tlisten_port: 1\n", "x");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), StartsWith("x:1:2: "));
}

TEST(ParseConfigTextTest, EmptyTextIsAnEmptyConfig) {
  absl::StatusOr<v1::DaemonConfig> c = ParseConfigText("# nothing\n", "x");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ByteSizeLong(), 0u);
}

TEST(LoadConfigFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = ::testing::TempDir() + "/no-such-dir/omnirouted.textproto";
  absl::StatusOr<v1::DaemonConfig> c = LoadConfigFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(path));

  CommandLine command_line;
  command_line.config_path = path;
  absl::StatusOr<DaemonSettings> s = LoadSettings(command_line);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(path));
}

TEST(LoadConfigFileTest, DirectoryIsRefused) {
  absl::StatusOr<v1::DaemonConfig> c = LoadConfigFile(::testing::TempDir());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(::testing::TempDir()));
}

TEST(LoadConfigFileTest, ParseErrorNamesThePathAndLine) {
  const std::string path = WriteTempFile("bad.textproto", "# comment\n\nqueues { idd: \"x\" }\n");
  absl::StatusOr<v1::DaemonConfig> c = LoadConfigFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), StartsWith(path + ":3:10: "));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("idd"));
}

// ---------------------------------------------------------------------------------------------
// Ranges

TEST(ResolveConfigTest, EachLimitOutOfRangeNamesItsField) {
  struct Case {
    std::string text;
    std::string field;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"limits { max_message_bytes: 1023 }", "limits.max_message_bytes",
       "1023 is outside 1024..67108864"},
      {"limits { max_message_bytes: 67108865 }", "limits.max_message_bytes", "67108865 is outside"},
      {"limits { max_open_streams: 0 }", "limits.max_open_streams", "0 is outside 1..100000"},
      {"limits { max_open_streams: 100001 }", "limits.max_open_streams", "100001 is outside"},
      {"limits { stream_buffer_size: 15 }", "limits.stream_buffer_size",
       "15 is outside 16..1000000"},
      {"limits { stream_buffer_size: 1000001 }", "limits.stream_buffer_size", "is outside"},
      {"limits { max_waiting_sessions: 0 }", "limits.max_waiting_sessions",
       "0 is outside 1..100000000"},
      {"limits { max_waiting_sessions: 100000001 }", "limits.max_waiting_sessions", "is outside"},
      {"limits { default_page_size: 0 }", "limits.default_page_size", "0 is outside 1..1000"},
      {"limits { default_page_size: 1001 }", "limits.default_page_size", "1001 is outside 1..1000"},
      {"limits { max_page_size: 10 default_page_size: 11 }", "limits.default_page_size",
       "11 is outside 1..10"},
      {"limits { max_page_size: 0 }", "limits.max_page_size", "0 is outside 1..100000"},
      {"limits { max_page_size: 100001 }", "limits.max_page_size", "is outside"},
      {"limits { request_id_retention { seconds: 59 } }", "limits.request_id_retention",
       "59s is outside 1m..7 days"},
      {"limits { request_id_retention { seconds: 604801 } }", "limits.request_id_retention",
       "is outside"},
      {"limits { request_id_retention { seconds: -5 } }", "limits.request_id_retention",
       "negative"},
      {"limits { request_id_retention { nanos: 2000000000 } }", "limits.request_id_retention",
       "malformed"},
      {"limits { event_history_size: -1 }", "limits.event_history_size",
       "-1 is outside 0..10000000"},
      {"limits { event_history_size: 10000001 }", "limits.event_history_size", "is outside"},
      {"engine { missed_offers_limit: -1 }", "engine.missed_offers_limit", "-1 is outside 0..1000"},
      {"engine { missed_offers_limit: 1001 }", "engine.missed_offers_limit", "is outside"},
      {"engine { session_retention { seconds: 604801 } }", "engine.session_retention",
       "is outside 0s..7 days"},
      {"engine { session_retention { seconds: -1 } }", "engine.session_retention", "negative"},
      {"stats { max_window { seconds: 59 } }", "stats.max_window", "59s is outside 1m..7 days"},
      {"stats { max_window { seconds: 604801 } }", "stats.max_window", "is outside"},
      {"stats { default_window { seconds: 0 } }", "stats.default_window", "must be positive"},
      {"stats { default_window { nanos: 999 } }", "stats.default_window", "must be positive"},
      {"stats { default_window { seconds: 90000 } }", "stats.default_window",
       "longer than stats.max_window"},
      {"stats { max_window { seconds: 600 } default_window { seconds: 601 } }",
       "stats.default_window", "longer than stats.max_window"},
      {"log_level: 9", "log_level", "unknown value 9"},
      {"listen_address: \"7400\"", "listen_address", "not host:port"},
      {"listen_address: \":7400\"", "listen_address", "no host"},
      {"listen_address: \"localhost:70000\"", "listen_address", "port 0..65535"},
      {"listen_address: \"localhost:\"", "listen_address", "port 0..65535"},
      {"listen_address: \"::1:7400\"", "listen_address", "brackets"},
      {"listen_address: \"local host:7400\"", "listen_address", "space"},
      {"http_address: \"metrics\"", "http_address", "not host:port"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    ExpectInvalid(Resolve(c.text), c.field, c.what);
  }
}

TEST(ResolveConfigTest, StartupObjectErrorsNameTheirConfigPath) {
  // Proto-level checks (convert.h) with the configuration's paths.
  ExpectInvalid(Resolve(R"(
    queues { id: "a" }
    queues { id: "b" }
    queues { id: "c"
             relaxation_steps { after { seconds: 1 } action: RELAX_ACTION_ANY_AGENT }
             relaxation_steps { after { seconds: 2 } } }
  )"),
                "queues[2].relaxation_steps[1].action");
  ExpectInvalid(Resolve("agents { id: \"a\" } agents { id: \"b\" tier: 17 }"), "agents[1].tier");
  // Ids listed twice.
  ExpectInvalid(Resolve("queues { id: \"a\" } queues { id: \"b\" } queues { id: \"a\" }"),
                "queues[2].id", "already defined by queues[0]");
  ExpectInvalid(Resolve("agents { id: \"e\" } agents { id: \"e\" }"), "agents[1].id");
  ExpectInvalid(Resolve("channels { id: \"v\" } channels { id: \"v\" }"), "channels[1].id");
}

// ---------------------------------------------------------------------------------------------
// Engine refusals at startup

absl::Status ApplyText(const std::string& text, Engine& engine) {
  absl::StatusOr<DaemonSettings> s = Resolve(text);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return s.status();
  std::vector<Event> events;
  return ApplyStartupObjects(*s, engine, kT0, &events);
}

TEST(ApplyStartupObjectsTest, QueueRefusalHasTheQueuesPath) {
  Engine engine;
  absl::Status s = ApplyText(R"(
    queues { id: "repair" }
    queues { id: "vip" overflow_after { seconds: 60 } overflow_queue_id: "later" }
    queues { id: "later" }
  )",
                             engine);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_EQ(s.message(), "queues[1].overflow_queue_id: queue \"later\" not found");
  // What came before the refusal was applied.
  EXPECT_THAT(QueueIds(engine), ElementsAre("repair"));
}

TEST(ApplyStartupObjectsTest, EngineValidationErrorsHaveConfigPaths) {
  {
    Engine engine;
    absl::Status s = ApplyText(R"(queues { id: "q" } queues { id: "r"
        relaxation_steps { after { seconds: 1 } action: RELAX_ACTION_LOWER_LEVEL level: 9 } })",
                               engine);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), StartsWith("queues[1].relaxation_steps[0].level: "));
  }
  {
    Engine engine;
    absl::Status s = ApplyText(R"(queues { id: "q" }
        agents { id: "e1" queue_ids: "q" }
        agents { id: "e2" queue_ids: "q" queue_ids: "nope" })",
                               engine);
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_EQ(s.message(), "agents[1].queue_ids[1]: queue \"nope\" not found");
    EXPECT_THAT(EngineerIds(engine), ElementsAre("e1"));
  }
  {
    Engine engine;
    absl::Status s = ApplyText("agents { id: \"e\" channels { channel_id: \"fax\" } }", engine);
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_EQ(s.message(), "agents[0].channels[0].channel_id: channel \"fax\" not found");
  }
  {
    Engine engine;
    absl::Status s = ApplyText("channels { id: \"ok\" } channels { id: \"bad\" cost: -1 }", engine);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), StartsWith("channels[1].cost: -1 is outside"));
  }
  {
    Engine engine;
    absl::Status s = ApplyText("queues { id: \"no spaces\" }", engine);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), StartsWith("queues[0].id: "));
  }
}

TEST(ApplyStartupObjectsTest, ChannelsComeBeforeQueuesAndAgents) {
  Engine engine;
  absl::Status s = ApplyText(R"(
    agents { id: "e" channels { channel_id: "video" max: 1 } queue_ids: "q" }
    queues { id: "q" channel_limits { channel_id: "video" max_waiting: 2 } }
    channels { id: "video" cost: 60 default_max: 1 }
  )",
                             engine);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(QueueIds(engine), ElementsAre("q"));
  EXPECT_THAT(EngineerIds(engine), ElementsAre("e"));
}

// ---------------------------------------------------------------------------------------------
// Command line

TEST(CommandLineTest, NoArguments) {
  absl::StatusOr<CommandLine> c = Parse({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->config_path || c->listen || c->data_dir || c->log_level);
  EXPECT_FALSE(c->help);
  EXPECT_FALSE(c->version);
}

TEST(CommandLineTest, EachFlagWithEquals) {
  absl::StatusOr<CommandLine> c = Parse({"--config=/etc/o.textproto", "--listen=0.0.0.0:9000",
                                         "--data_dir=/var/o", "--log_level=debug"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->config_path, "/etc/o.textproto");
  EXPECT_EQ(c->listen, "0.0.0.0:9000");
  EXPECT_EQ(c->data_dir, "/var/o");
  EXPECT_EQ(c->log_level, v1::LOG_LEVEL_DEBUG);
  EXPECT_FALSE(c->help);
}

TEST(CommandLineTest, EachFlagWithSpace) {
  absl::StatusOr<CommandLine> c = Parse({"--config", "/etc/o.textproto", "--listen", "[::]:7401",
                                         "--data_dir", "/var/o", "--log_level", "WARNING"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->config_path, "/etc/o.textproto");
  EXPECT_EQ(c->listen, "[::]:7401");
  EXPECT_EQ(c->data_dir, "/var/o");
  EXPECT_EQ(c->log_level, v1::LOG_LEVEL_WARNING);
}

TEST(CommandLineTest, HttpAddressOrOff) {
  absl::StatusOr<CommandLine> c = Parse({"--http=127.0.0.1:0"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http, "127.0.0.1:0");
  absl::StatusOr<DaemonSettings> s = LoadSettings(*c);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->http_address, "127.0.0.1:0");

  c = Parse({"--http", "off"});
  ASSERT_TRUE(c.ok()) << c.status();
  s = LoadSettings(*c);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->http_address, "");  // no HTTP endpoint

  c = Parse({"--http=metrics"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), StartsWith("--http: "));

  EXPECT_EQ(Resolve("http_address: \"off\"")->http_address, "");
}

TEST(CommandLineTest, LogLevels) {
  EXPECT_EQ(Parse({"--log_level=info"})->log_level, v1::LOG_LEVEL_INFO);
  EXPECT_EQ(Parse({"--log_level=error"})->log_level, v1::LOG_LEVEL_ERROR);
  absl::StatusOr<CommandLine> c = Parse({"--log_level=verbose"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("verbose"));
}

TEST(CommandLineTest, EmptyDataDirIsRefusedInMemoryIsAFlag) {
  absl::StatusOr<CommandLine> c = Parse({"--data_dir="});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("--in_memory"));

  c = Parse({"--in_memory"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->in_memory);
  absl::StatusOr<DaemonSettings> s = LoadSettings(*c);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->durable);

  c = Parse({"--in_memory=yes"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("takes no value"));
}

TEST(ResolveConfigTest, DurabilitySettings) {
  absl::StatusOr<v1::DaemonConfig> config = ParseConfigText(R"pb(
    data_dir: "/var/lib/omniroute"
    durability {
      enabled: true
      sync_policy: SYNC_POLICY_INTERVAL
      sync_interval { nanos: 5000000 }
      snapshot_interval { seconds: 0 }
      snapshot_journal_bytes: 1048576
      segment_bytes: 65536
    }
  )pb", "t");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<DaemonSettings> s = ResolveConfig(*config, "t");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->data_dir, "/var/lib/omniroute");
  EXPECT_TRUE(s->durable);
  EXPECT_EQ(s->sync_policy, v1::SYNC_POLICY_INTERVAL);
  EXPECT_EQ(s->sync_interval, absl::Milliseconds(5));
  EXPECT_EQ(s->snapshot_interval, absl::ZeroDuration());
  EXPECT_EQ(s->snapshot_journal_bytes, 1048576);
  EXPECT_EQ(s->segment_bytes, 65536);

  const std::pair<const char*, const char*> refused[] = {
      {"durability { sync_policy: 7 }", "durability.sync_policy: unknown value 7"},
      {"durability { sync_interval { seconds: 11 } }", "durability.sync_interval: 11s is outside"},
      {"durability { sync_interval { } }", "durability.sync_interval: 0 is outside"},
      {"durability { snapshot_interval { seconds: 5 } }",
       "durability.snapshot_interval: 5s is outside 0s or 10s..24h"},
      {"durability { snapshot_journal_bytes: 1000 }",
       "durability.snapshot_journal_bytes: 1000 is outside"},
      {"durability { segment_bytes: 2147483648 }", "durability.segment_bytes: 2147483648 is outside"},
  };
  for (const auto& [text, message] : refused) {
    absl::StatusOr<v1::DaemonConfig> c = ParseConfigText(text, "t");
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    absl::StatusOr<DaemonSettings> r = ResolveConfig(*c, "t");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message)) << text;
  }

  config = ParseConfigText("durability { enabled: false }", "t");
  ASSERT_TRUE(config.ok());
  s = ResolveConfig(*config, "t");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->durable);
}

TEST(CommandLineTest, LastFlagWins) {
  absl::StatusOr<CommandLine> c = Parse({"--listen=a:1", "--listen", "b:2"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "b:2");
}

TEST(CommandLineTest, HelpAndVersion) {
  EXPECT_TRUE(Parse({"--help"})->help);
  EXPECT_TRUE(Parse({"-h"})->help);
  EXPECT_TRUE(Parse({"--version"})->version);
  EXPECT_FALSE(Parse({"--version"})->help);
  absl::StatusOr<CommandLine> c = Parse({"--help=yes"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("--help"));

  const std::string usage = UsageText();
  for (const char* flag : {"--config", "--listen", "--data_dir", "--log_level", "--help",
                           "--version", "omnirouted --config="}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

TEST(CommandLineTest, ErrorsNameTheArgument) {
  struct Case {
    std::vector<const char*> args;
    std::string what;
  };
  const std::vector<Case> cases = {
      {{"--port=7400"}, "--port"},
      {{"--data-dir=/x"}, "did you mean --data_dir?"},
      {{"stray"}, "\"stray\""},
      {{"--listen=a:1", "extra"}, "\"extra\""},
      {{"-v"}, "\"-v\""},
      {{"--"}, "\"--\""},
      {{"--config"}, "--config needs a value"},
      {{"--listen", "--data_dir=/x"}, "--listen needs a value"},
      {{"--config="}, "--config needs a path"},
      {{"--listen=7400"}, "--listen: \"7400\" is not host:port"},
      {{"--listen="}, "--listen: "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    absl::StatusOr<CommandLine> parsed = Parse(c.args);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.what));
  }
}

TEST(LoadSettingsTest, FlagsOverrideTheFile) {
  const std::string path = WriteTempFile("override.textproto", R"(
    listen_address: "10.0.0.1:9000"
    data_dir: "/var/from-file"
    log_level: LOG_LEVEL_ERROR
    limits { max_open_streams: 7 }
    queues { id: "only" }
    security { allow_insecure: true }
  )");
  absl::StatusOr<CommandLine> c = Parse({"--config", path.c_str()});
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<DaemonSettings> s = LoadSettings(*c);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->source, path);
  EXPECT_EQ(s->listen_address, "10.0.0.1:9000");
  EXPECT_EQ(s->data_dir, "/var/from-file");
  EXPECT_EQ(s->log_level, v1::LOG_LEVEL_ERROR);
  EXPECT_EQ(s->max_open_streams, 7);
  ASSERT_EQ(s->queues.size(), 1u);  // the file replaces the demo configuration

  const std::string config_flag = "--config=" + path;
  c = Parse({config_flag.c_str(), "--listen=127.0.0.1:0", "--data_dir", "/tmp/flag",
             "--log_level=debug"});
  ASSERT_TRUE(c.ok()) << c.status();
  s = LoadSettings(*c);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->listen_address, "127.0.0.1:0");
  EXPECT_EQ(s->data_dir, "/tmp/flag");
  EXPECT_EQ(s->log_level, v1::LOG_LEVEL_DEBUG);
  EXPECT_EQ(s->max_open_streams, 7);  // not overridden

  // --in_memory overrides the file's durability.
  c = Parse({config_flag.c_str(), "--in_memory"});
  ASSERT_TRUE(c.ok()) << c.status();
  s = LoadSettings(*c);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->durable);
}

TEST(LoadSettingsTest, FlagsOverrideTheDemo) {
  absl::StatusOr<CommandLine> c = Parse({"--listen", "127.0.0.1:7999", "--log_level=error"});
  ASSERT_TRUE(c.ok()) << c.status();
  absl::StatusOr<DaemonSettings> s = LoadSettings(*c);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->listen_address, "127.0.0.1:7999");
  EXPECT_EQ(s->log_level, v1::LOG_LEVEL_ERROR);
  EXPECT_EQ(s->queues.size(), 5u);
}

TEST(LoadSettingsTest, ResolveErrorsNameTheFile) {
  const std::string path = WriteTempFile("limits.textproto", "limits { max_open_streams: 0 }\n");
  CommandLine c;
  c.config_path = path;
  absl::StatusOr<DaemonSettings> s = LoadSettings(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            absl::StrCat(path, ": limits.max_open_streams: 0 is outside 1..100000"));
}

// ---------------------------------------------------------------------------------------------
// customer_directory, ranking, devices, intent_routes

TEST(ServiceModelConfigTest, EmptySectionsGiveTheDefaults) {
  absl::StatusOr<DaemonSettings> s = Resolve("");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->directory_cache_bytes, int64_t{256} << 20);
  EXPECT_TRUE(s->directory_sync_writes);
  EXPECT_EQ(s->customer_id_prefix, "cust-");
  EXPECT_THAT(s->rating_tags, ElementsAre("patient", "expert", "fast", "friendly", "clear",
                                          "solved-first-time"));
  EXPECT_EQ(s->directory_threads, 4);
  EXPECT_TRUE(s->ranking_enabled);
  EXPECT_EQ(s->ranking_min_ratings, 20);
  EXPECT_EQ(s->ranking.elite, 950);
  EXPECT_DOUBLE_EQ(s->ranking.handled_weight, 0.05);
  EXPECT_EQ(s->devices.channel.value(), "iot_alert");
  EXPECT_TRUE(s->devices.queue.value().empty());
  EXPECT_EQ(s->devices.severity_priority[v1::DEVICE_ALERT_SEVERITY_CRITICAL], 900);
  EXPECT_TRUE(s->devices.routes.empty());
  EXPECT_TRUE(s->intent_routes.empty());
}

TEST(ServiceModelConfigTest, SetValuesAreKept) {
  absl::StatusOr<DaemonSettings> s = Resolve(R"(
    customer_directory { cache_bytes: 1048576 sync_writes: false id_prefix: "c:"
                         rating_tags: ["on-time", "kind"] threads: 2 }
    ranking { enabled: false min_ratings: 0 good_rating_weight: 500 prior_good_rate: 0.5
              core_points: 100 elite_points: 200 expert_points: 300 master_points: 400
              demotion_margin: 0 favourites_cap: 0 handled_cap: 10 }
    devices { channel_id: "app" queue_id: "dev"
              severity_priorities { severity: DEVICE_ALERT_SEVERITY_LOW priority: 0 }
              fault_codes { fault_code: "E4*" queue_id: "fridge"
                            requirements { skill_id: "repair.compressor" min_level: 3 } }
              fault_codes { fault_code: "E41" intent: "overheat" } }
    intent_routes { intent: "screen-repair" queue_id: "repair" }
  )");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->directory_cache_bytes, 1048576);
  EXPECT_FALSE(s->directory_sync_writes);
  EXPECT_EQ(s->customer_id_prefix, "c:");
  EXPECT_THAT(s->rating_tags, ElementsAre("on-time", "kind"));
  EXPECT_EQ(s->directory_threads, 2);
  EXPECT_FALSE(s->ranking_enabled);
  EXPECT_EQ(s->ranking_min_ratings, 0);
  EXPECT_DOUBLE_EQ(s->ranking.good_rating_weight, 500);
  EXPECT_DOUBLE_EQ(s->ranking.prior_good_rate, 0.5);
  EXPECT_DOUBLE_EQ(s->ranking.tip_rate_weight, 300);  // unset: the default
  EXPECT_EQ(s->ranking.core, 100);
  EXPECT_EQ(s->ranking.master, 400);
  EXPECT_EQ(s->ranking.demotion_margin, 0);
  EXPECT_EQ(s->ranking.favourites_cap, 0);
  EXPECT_EQ(s->ranking.handled_cap, 10);
  EXPECT_EQ(s->devices.channel.value(), "app");
  EXPECT_EQ(s->devices.queue.value(), "dev");
  EXPECT_EQ(s->devices.severity_priority[v1::DEVICE_ALERT_SEVERITY_LOW], 0);
  EXPECT_EQ(s->devices.severity_priority[v1::DEVICE_ALERT_SEVERITY_HIGH], 600);
  ASSERT_EQ(s->devices.routes.size(), 2u);
  EXPECT_TRUE(s->devices.routes[0].prefix);
  EXPECT_EQ(s->devices.routes[0].code, "E4");
  ASSERT_EQ(s->devices.routes[0].requirements.size(), 1u);
  EXPECT_EQ(s->devices.routes[0].requirements[0].min_level, 3);
  ASSERT_EQ(s->intent_routes.count("screen-repair"), 1u);
  EXPECT_EQ(s->intent_routes.at("screen-repair").value(), "repair");
}

TEST(ServiceModelConfigTest, FaultCodesMatchExactlyThenByTheLongestPrefix) {
  absl::StatusOr<DaemonSettings> s = Resolve(R"(
    devices { fault_codes { fault_code: "*" queue_id: "any" }
              fault_codes { fault_code: "E4*" queue_id: "e4" }
              fault_codes { fault_code: "E41*" queue_id: "e41x" }
              fault_codes { fault_code: "E41" queue_id: "e41" } }
  )");
  ASSERT_TRUE(s.ok()) << s.status();
  auto queue_of = [&](absl::string_view code) {
    const FaultCodeRoute* r = s->devices.Match(code);
    return r == nullptr ? std::string("none") : r->queue.value();
  };
  EXPECT_EQ(queue_of("E41"), "e41");
  EXPECT_EQ(queue_of("E412"), "e41x");
  EXPECT_EQ(queue_of("E42"), "e4");
  EXPECT_EQ(queue_of("F1"), "any");
  s = Resolve(R"(devices { fault_codes { fault_code: "E4*" queue_id: "e4" } })");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->devices.Match("F1"), nullptr);
}

TEST(ServiceModelConfigTest, EachErrorNamesItsField) {
  struct Case {
    std::string text;
    std::string field;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"customer_directory { cache_bytes: 1000 }", "customer_directory.cache_bytes",
       "is outside"},
      {"customer_directory { id_prefix: \"a b\" }", "customer_directory.id_prefix",
       "not allowed"},
      {"customer_directory { id_prefix: \"ppppppppppppppppppppppppppppppppp\" }",
       "customer_directory.id_prefix", "longer than 32"},
      {"customer_directory { rating_tags: [\"ok\", \"\"] }", "customer_directory.rating_tags[1]",
       "1..64"},
      {"customer_directory { rating_tags: [\"ok\", \"ok\"] }",
       "customer_directory.rating_tags[1]", "already defined by"},
      {"customer_directory { threads: 0 }", "customer_directory.threads", "0 is outside 1..64"},
      {"ranking { min_ratings: -1 }", "ranking.min_ratings", "is outside"},
      {"ranking { tip_rate_weight: -1 }", "ranking.tip_rate_weight", ""},
      {"ranking { prior_good_rate: 1.5 }", "ranking.prior_good_rate", ""},
      {"ranking { elite_points: 700 }", "ranking.elite_points",
       "must be greater than ranking.core_points (800)"},
      {"ranking { core_points: 0 }", "ranking.core_points", ""},
      {"ranking { demotion_margin: -1 }", "ranking.demotion_margin", ""},
      {"devices { channel_id: \"a b\" }", "devices.channel_id", "not allowed"},
      {"devices { severity_priorities { priority: 5 } }", "devices.severity_priorities[0].severity",
       "required"},
      {"devices { severity_priorities { severity: DEVICE_ALERT_SEVERITY_LOW priority: 1 }"
       " severity_priorities { severity: DEVICE_ALERT_SEVERITY_LOW priority: 2 } }",
       "devices.severity_priorities[1].severity", "listed twice"},
      {"devices { severity_priorities { severity: DEVICE_ALERT_SEVERITY_LOW priority: 1001 } }",
       "devices.severity_priorities[0].priority", "1001 is outside 0..1000"},
      {"devices { fault_codes { queue_id: \"q\" } }", "devices.fault_codes[0].fault_code", ""},
      {"devices { fault_codes { fault_code: \"E41\" } }", "devices.fault_codes[0].queue_id",
       "required when devices.queue_id is not set"},
      {"devices { queue_id: \"q\" fault_codes { fault_code: \"E41\" requirements { skill_id: "
       "\"s\" } } }",
       "devices.fault_codes[0].requirements[0].min_level", "0 is outside 1..5"},
      {"devices { queue_id: \"q\" fault_codes { fault_code: \"E41\" } fault_codes { fault_code: "
       "\"E41\" } }",
       "devices.fault_codes[1].fault_code", "fault code \"E41\" is already defined by"},
      {"intent_routes { queue_id: \"q\" }", "intent_routes[0].intent", "1..256"},
      {"intent_routes { intent: \"x\" }", "intent_routes[0].queue_id", "empty"},
      {"intent_routes { intent: \"x\" queue_id: \"q\" } intent_routes { intent: \"x\" queue_id: "
       "\"r\" }",
       "intent_routes[1].intent", "listed twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    ExpectInvalid(Resolve(c.text), c.field, c.what);
  }
}

TEST(AuditConfigTest, UnsetGivesTheDefaults) {
  absl::StatusOr<DaemonSettings> s = Resolve("");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->audit_retention, absl::Hours(168));
  EXPECT_EQ(s->audit_max_events_per_session, 1000);
  s = Resolve("audit { }");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->audit_retention, absl::Hours(168));
  EXPECT_EQ(s->audit_max_events_per_session, 1000);
  const DaemonSettings defaults;
  EXPECT_EQ(defaults.audit_retention, absl::Hours(168));
  EXPECT_EQ(defaults.audit_max_events_per_session, 1000);
}

TEST(AuditConfigTest, SetValuesAreKept) {
  absl::StatusOr<DaemonSettings> s =
      Resolve("audit { retention { seconds: 86400 } max_events_per_session: 10 }");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->audit_retention, absl::Hours(24));
  EXPECT_EQ(s->audit_max_events_per_session, 10);
  // The bounds themselves are accepted.
  s = Resolve("audit { retention { seconds: 60 } max_events_per_session: 1000000 }");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->audit_retention, absl::Minutes(1));
  EXPECT_EQ(s->audit_max_events_per_session, 1000000);
  s = Resolve("audit { retention { seconds: 315360000 } }");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->audit_retention, absl::Hours(24 * 3650));
}

TEST(AuditConfigTest, ZeroRetentionTurnsTheAuditOff) {
  absl::StatusOr<DaemonSettings> s = Resolve("audit { retention { seconds: 0 } }");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->audit_retention, absl::ZeroDuration());
}

TEST(AuditConfigTest, EachErrorNamesItsField) {
  struct Case {
    std::string text;
    std::string field;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"audit { retention { seconds: 59 } }", "audit.retention", "59s is outside 0s or 1m..87600h"},
      {"audit { retention { nanos: 1000 } }", "audit.retention", "is outside 0s or 1m..87600h"},
      {"audit { retention { seconds: 315360001 } }", "audit.retention",
       "is outside 0s or 1m..87600h"},
      {"audit { retention { seconds: -60 } }", "audit.retention", ""},
      {"audit { retention { seconds: 60 nanos: -1 } }", "audit.retention", "malformed"},
      {"audit { max_events_per_session: 9 }", "audit.max_events_per_session",
       "9 is outside 10..1000000"},
      {"audit { max_events_per_session: 1000001 }", "audit.max_events_per_session",
       "1000001 is outside 10..1000000"},
      {"audit { max_events_per_session: 0 }", "audit.max_events_per_session",
       "0 is outside 10..1000000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    ExpectInvalid(Resolve(c.text), c.field, c.what);
  }
}

}  // namespace
}  // namespace omniroute::daemon
