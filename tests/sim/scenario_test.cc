// Scenario loading and validation: every error names the field; the examples load and run.

#include "bench/sim/scenario.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "bench/sim/run.h"
#include "gtest/gtest.h"

namespace omniroute::sim {
namespace {

constexpr char kValid[] = R"pb(
  name: "t"
  queues { id: "q" }
  engineer_groups {
    name: "g"
    count: 2
    agent {
      skills { skill_id: "s" level: 3 }
      queue_ids: "q"
    }
  }
  arrivals {
    queue_id: "q"
    channel_id: "voice"
    rate_per_hour: 10
    handle_time { exponential { mean { seconds: 60 } } }
  }
  duration { seconds: 3600 }
)pb";

TEST(ScenarioTest, ValidScenarioCompiles) {
  absl::StatusOr<v1::Scenario> s = ParseScenarioText(kValid, "t");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<CompiledScenario> c = CompileScenario(*s);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->replications(), 10);  // the documented defaults
  EXPECT_EQ(c->seed(), 1u);
  EXPECT_EQ(c->warmup(), absl::ZeroDuration());
  EXPECT_EQ(c->duration(), absl::Hours(1));
  ASSERT_EQ(c->model().engineers.size(), 2u);
  EXPECT_EQ(c->model().engineers[1].config.id, EngineerId("g-2"));
  EXPECT_EQ(c->model().engineers[1].group, "g");
  ASSERT_EQ(c->streams().size(), 1u);
  EXPECT_EQ(c->streams()[0].name, "q/voice");
}

TEST(ScenarioTest, UnknownFieldIsRejectedWithItsPosition) {
  absl::StatusOr<v1::Scenario> s =
      ParseScenarioText(std::string(kValid) + "\nbogus_field: 3\n", "file.textproto");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "file.textproto:")) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "bogus_field")) << s.status();
}

struct BadCase {
  const char* replace;  // text of kValid to replace ...
  const char* with;     // ... by this
  const char* error;    // the message must start with this
};

class ScenarioErrorTest : public testing::TestWithParam<BadCase> {};

TEST_P(ScenarioErrorTest, NamesTheField) {
  const BadCase& c = GetParam();
  const std::string text = absl::StrReplaceAll(kValid, {{c.replace, c.with}});
  ASSERT_NE(text, kValid) << "the case does not change the scenario: " << c.replace;
  absl::StatusOr<v1::Scenario> s = ParseScenarioText(text, "t");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<CompiledScenario> compiled = CompileScenario(*s);
  ASSERT_FALSE(compiled.ok()) << "accepted:\n" << text;
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument) << compiled.status();
  EXPECT_TRUE(absl::StartsWith(compiled.status().message(), c.error))
      << "got: " << compiled.status().message() << "\nwant prefix: " << c.error << "\n"
      << text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScenarioErrorTest,
    testing::Values(
        BadCase{"handle_time { exponential { mean { seconds: 60 } } }", "",
                "arrivals[0].handle_time: required"},
        BadCase{"exponential { mean { seconds: 60 } }", "exponential { }",
                "arrivals[0].handle_time.exponential.mean: required"},
        BadCase{"mean { seconds: 60 }", "mean { seconds: 0 }",
                "arrivals[0].handle_time.exponential.mean: 0 is outside"},
        BadCase{"count: 2", "count: 0", "engineer_groups[0].count: 0 is outside 1..100000"},
        BadCase{"name: \"g\"", "", "engineer_groups[0].name: required"},
        BadCase{"agent {", "agent { id: \"x\"", "engineer_groups[0].agent.id: must be empty"},
        BadCase{"queue_ids: \"q\"", "queue_ids: \"nope\"", "engineer_groups[0].agent"},
        BadCase{"level: 3", "level: 9", "engineer_groups[0].agent.skills[0].level"},
        BadCase{"agent {", "behaviour { reject_probability: 1 } agent {",
                "engineer_groups[0].behaviour.reject_probability: 1 is outside"},
        BadCase{"agent {", "shift_start { seconds: 60 } shift_end { seconds: 60 } agent {",
                "engineer_groups[0].shift_end: must be after shift_start"},
        BadCase{"queue_id: \"q\"", "queue_id: \"nope\"", "arrivals[0].queue_id: queue \"nope\""},
        BadCase{"channel_id: \"voice\"", "channel_id: \"fax\"",
                "arrivals[0].channel_id: channel \"fax\""},
        BadCase{"channel_id: \"voice\"", "channel_id: \"robot_chat\"",
                "arrivals[0].bot_time: required"},
        BadCase{"rate_per_hour: 10", "rate_per_hour: 0", "arrivals[0].rate_per_hour: 0 is not > 0"},
        BadCase{"rate_per_hour: 10",
                "rate_periods { start { seconds: 0 } rate_per_hour: 5 } "
                "rate_periods { start { seconds: 0 } rate_per_hour: 5 }",
                "arrivals[0].rate_periods[1].start: periods must be in increasing order"},
        BadCase{"rate_per_hour: 10", "rate_periods { start { seconds: 10 } rate_per_hour: 5 }",
                "arrivals[0].rate_periods[0].start: the first period starts at 0s"},
        BadCase{"rate_per_hour: 10",
                "rate_periods { start { seconds: 0 } rate_per_hour: 5 } "
                "rate_cycle { seconds: 0 }",
                "arrivals[0].rate_cycle: 0 is outside"},
        BadCase{"rate_per_hour: 10", "rate_per_hour: 10 bot_share: 0.5",
                "arrivals[0].bot_time: required"},
        BadCase{"rate_per_hour: 10", "rate_per_hour: 10 bot_share: 1.5",
                "arrivals[0].bot_share: 1.5 is outside"},
        BadCase{"rate_per_hour: 10", "rate_per_hour: 10 priority: 2000",
                "arrivals[0].priority: 2000 is outside"},
        BadCase{"rate_per_hour: 10",
                "rate_per_hour: 10 customers { weight: 1 customer { vip_level: 12 } }",
                "arrivals[0].customers[0].customer.vip_level"},
        BadCase{"rate_per_hour: 10", "rate_per_hour: 10 customers { weight: 0 }",
                "arrivals[0].customers[0].weight: 0 is not > 0"},
        BadCase{"rate_per_hour: 10",
                "rate_per_hour: 10 requirements { skill_id: \"s\" min_level: 7 }",
                "arrivals[0].requirements[0].min_level"},
        BadCase{"rate_per_hour: 10",
                "rate_per_hour: 10 patience { log_normal { mean { seconds: 5 } } }",
                "arrivals[0].patience.log_normal.stddev: required"},
        BadCase{"queues { id: \"q\" }",
                "queues { id: \"q\" relaxation_steps { after { seconds: 1 } } }",
                "queues[0].relaxation_steps[0].action"},
        BadCase{"queues { id: \"q\" }", "queues { id: \"q\" } queues { id: \"q\" }",
                "queues[1].id: queue \"q\" is listed twice"},
        BadCase{"queues { id: \"q\" }",
                "queues { id: \"q\" overflow_after { seconds: 5 } overflow_queue_id: \"x\" }",
                "queues[0].overflow_queue_id"},
        BadCase{"name: \"t\"", "name: \"t\" channels { id: \"voice\" default_max: -1 }",
                "channels[0].default_max"},
        BadCase{"name: \"t\"", "name: \"t\" missed_offers_limit: -1",
                "missed_offers_limit: -1 is outside"},
        BadCase{"duration { seconds: 3600 }", "", "duration: required"},
        BadCase{"duration { seconds: 3600 }", "duration { seconds: 3600 } warmup { seconds: -5 }",
                "warmup"},
        BadCase{"duration { seconds: 3600 }", "duration { seconds: 3600 } replications: 0",
                "replications: 0 is outside 1..10000"}));

TEST(ScenarioTest, OverridesAreCheckedUnderTheFlagName) {
  absl::StatusOr<v1::Scenario> s = ParseScenarioText(kValid, "t");
  ASSERT_TRUE(s.ok());
  ScenarioOverrides o;
  o.replications = 0;
  EXPECT_TRUE(absl::StartsWith(CompileScenario(*s, o).status().message(), "--replications"));
  o = {};
  o.duration = absl::ZeroDuration();
  EXPECT_TRUE(absl::StartsWith(CompileScenario(*s, o).status().message(), "--duration"));
  o = {};
  o.replications = 3;
  o.seed = 77;
  o.duration = absl::Minutes(30);
  o.warmup = absl::Minutes(5);
  absl::StatusOr<CompiledScenario> c = CompileScenario(*s, o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->replications(), 3);
  EXPECT_EQ(c->seed(), 77u);
  EXPECT_EQ(c->duration(), absl::Minutes(30));
  EXPECT_EQ(c->warmup(), absl::Minutes(5));
}

TEST(ScenarioTest, PoissonStreamHasTheRateAndPeriodsAreFollowed) {
  // 120/h from 0 to 12h, 0 from 12h to 24h: all arrivals in the first half of each day.
  const std::string text =
      absl::StrReplaceAll(kValid, {{"rate_per_hour: 10",
                                    "rate_periods { start { seconds: 0 } rate_per_hour: 120 } "
                                    "rate_periods { start { seconds: 43200 } rate_per_hour: 0 }"}});
  absl::StatusOr<v1::Scenario> s = ParseScenarioText(text, "t");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<CompiledScenario> c = CompileScenario(*s);
  ASSERT_TRUE(c.ok()) << c.status();
  std::unique_ptr<ArrivalSource> arrivals = c->Arrivals(0);
  const absl::Time start = c->model().start;
  int count = 0;
  absl::Time last = start;
  while (true) {
    std::optional<SimArrival> a = arrivals->Next();
    ASSERT_TRUE(a.has_value());
    if (a->at >= start + absl::Hours(24 * 10)) break;
    ASSERT_GE(a->at, last);
    last = a->at;
    const absl::Duration in_day = (a->at - start) % absl::Hours(24);
    ASSERT_LT(in_day, absl::Hours(12)) << absl::FormatDuration(a->at - start);
    EXPECT_EQ(a->create.queue, QueueId("q"));
    EXPECT_FALSE(a->create.customer.id.empty());
    ++count;
  }
  // 10 days x 12 h x 120/h = 14400, Poisson: sd 120.
  EXPECT_NEAR(count, 14400, 480);
}

// Every example loads and runs a short simulation with sensible figures.
class ExampleTest : public testing::TestWithParam<const char*> {};

TEST_P(ExampleTest, LoadsAndRuns) {
  absl::StatusOr<v1::Scenario> s =
      LoadScenarioFile(absl::StrCat(OMNIROUTE_SOURCE_DIR, "/bench/sim/examples/", GetParam()));
  ASSERT_TRUE(s.ok()) << s.status();
  RunOptions options;
  options.overrides.duration = absl::Minutes(30);
  options.overrides.warmup = absl::Minutes(5);
  options.overrides.replications = 2;
  absl::StatusOr<SimResult> r = RunScenario(*s, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->summary.overall.offered.mean, 10);
  EXPECT_GT(r->summary.overall.answered.mean, 10);
  EXPECT_EQ(r->summary.overall.unresolved.mean, 0);
  EXPECT_GT(r->summary.all_engineers.occupancy.mean, 0.3);
  EXPECT_LE(r->summary.all_engineers.occupancy.mean, 1.0);
  EXPECT_GT(r->cost.sessions, 0);
  EXPECT_FALSE(FormatText(*r).empty());
  EXPECT_TRUE(absl::StrContains(FormatJson(*r), "\"p_wait\""));
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleTest,
                         testing::Values("erlang_c.textproto", "erlang_a.textproto",
                                         "mixed_skills.textproto", "mixed_skills_fcfs.textproto"));

}  // namespace
}  // namespace omniroute::sim
