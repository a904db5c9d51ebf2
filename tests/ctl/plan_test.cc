// The plan of `omniroutectl apply` (ctl/plan.h): the file's parsing and checks, canonical
// forms (documented defaults filled in, ignored fields cleared), the field diff and the plan.
// The integration test holds the canonical forms to the real daemon (the demo configuration
// applied to the demo daemon is unchanged).

#include "ctl/plan.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace omniroute::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

template <typename T>
T Parse(const std::string& text) {
  T out;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &out)) << text;
  return out;
}

std::vector<std::string> Describe(const std::vector<FieldChange>& changes) {
  std::vector<std::string> out;
  for (const FieldChange& c : changes) {
    out.push_back(c.field() + ": " + c.old_value() + " -> " + c.new_value());
  }
  return out;
}

TEST(ParseApplyText, ReportsTheLineAndColumnOfASyntaxError) {
  absl::StatusOr<v1::DaemonConfig> c =
      ParseApplyText("queues { id: \"a\" }\nqueues { id: \"b\" strategi: \"x\" }\n", "f.txt");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("f.txt:2:"));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("strategi"));
}

TEST(ParseApplyText, RejectsDuplicateAndMissingIds) {
  absl::StatusOr<v1::DaemonConfig> dup =
      ParseApplyText("agents { id: \"a\" } agents { id: \"a\" }", "f");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "f: agent \"a\" is given twice");
  absl::StatusOr<v1::DaemonConfig> missing =
      ParseApplyText("queues { id: \"a\" } queues { display_name: \"x\" }", "f");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "f: queues[1]: id is required");
  // The same id for a queue and an agent is fine: different kinds.
  EXPECT_TRUE(ParseApplyText("queues { id: \"a\" } agents { id: \"a\" }", "f").ok());
}

TEST(ReadApplyFile, AMissingFileIsNamed) {
  absl::StatusOr<v1::DaemonConfig> c = ReadApplyFile("/nonexistent/centre.textproto");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "/nonexistent/centre.textproto: cannot be read");
}

TEST(IgnoredFields, NamesTheDaemonSettingsApplyLeavesAlone) {
  EXPECT_THAT(IgnoredFields(Parse<v1::DaemonConfig>(
                  "listen_address: \"x:1\" queues { id: \"q\" } limits { max_page_size: 5 }")),
              ElementsAre("listen_address", "limits"));
  EXPECT_THAT(IgnoredFields(Parse<v1::DaemonConfig>("channels { id: \"c\" }")), IsEmpty());
}

TEST(Canonical, AnEmptyQueueGetsEveryDocumentedDefault) {
  v1::Queue q;
  q.set_id("q");
  q.add_agent_ids("output-only");
  EXPECT_EQ(CanonicalQueue(q).ShortDebugString(), Parse<v1::Queue>(R"pb(
                                                    id: "q"
                                                    ageing_interval { seconds: 30 }
                                                    service_level_threshold { seconds: 20 }
                                                    service_level_goal: 0.8
                                                    overflow_after {}
                                                    strategy: "longest_idle"
                                                    delivery_mode: DELIVERY_MODE_DIRECT
                                                    offer_timeout { seconds: 15 }
                                                    grab_fanout: 3
                                                    grab_window { seconds: 10 }
                                                    preferred_timeout { seconds: 20 }
                                                    last_agent_timeout { seconds: 10 }
                                                    vip_min_level: 1
                                                    vip_min_tier: AGENT_TIER_ELITE
                                                    vip_timeout { seconds: 30 }
                                                    wrap_up_duration { seconds: 30 }
                                                    appointment_priority: 800
                                                  )pb")
                                                      .ShortDebugString());
}

TEST(Canonical, SetFieldsAreKeptEvenWhenZero) {
  const v1::Queue q = CanonicalQueue(Parse<v1::Queue>(
      "id: 'q' ageing_interval {} service_level_goal: 0 grab_fanout: 0 vip_min_level: 0 "
      "appointment_priority: 0 offer_timeout { nanos: 1500 }"));
  EXPECT_EQ(q.ageing_interval().seconds(), 0);
  EXPECT_EQ(q.service_level_goal(), 0);
  EXPECT_EQ(q.grab_fanout(), 0);
  EXPECT_EQ(q.vip_min_level(), 0);
  EXPECT_EQ(q.appointment_priority(), 0);
  EXPECT_EQ(q.offer_timeout().nanos(), 1000) << "truncated to the router's microseconds";
}

TEST(Canonical, FieldsTheConfigurationIgnoresAreCleared) {
  const v1::Queue q = CanonicalQueue(Parse<v1::Queue>(R"pb(
    id: "q"
    relaxation_steps {
      after { seconds: 1 }
      action: RELAX_ACTION_ANY_AGENT
      skill_id: "x"
      level: 1
    }
    relaxation_steps {
      after { seconds: 2 }
      action: RELAX_ACTION_DROP_SKILL
      skill_id: "y"
      level: 1
    }
    relaxation_steps {
      after { seconds: 3 }
      action: RELAX_ACTION_LOWER_LEVEL
      skill_id: "z"
      level: 2
    }
    tag_rules {
      tag: "t"
      requirement { min_level: 1 }
    }
  )pb"));
  EXPECT_EQ(q.relaxation_steps(0).skill_id(), "");
  EXPECT_EQ(q.relaxation_steps(0).level(), 0);
  EXPECT_EQ(q.relaxation_steps(1).skill_id(), "y");
  EXPECT_EQ(q.relaxation_steps(1).level(), 0);
  EXPECT_EQ(q.relaxation_steps(2).skill_id(), "z");
  EXPECT_EQ(q.relaxation_steps(2).level(), 2);
  EXPECT_FALSE(q.tag_rules(0).has_requirement());
}

TEST(Canonical, AgentsAndChannels) {
  const v1::Agent a = CanonicalAgent(Parse<v1::Agent>(
      "id: 'a' channels { channel_id: 'voice' } channels { channel_id: 'app' max: 0 cost: 5 } "
      "status { presence: PRESENCE_AVAILABLE }"));
  EXPECT_EQ(a.ShortDebugString(), Parse<v1::Agent>("id: 'a' tier: AGENT_TIER_ROOKIE budget: 60 "
                                                   "channels { channel_id: 'voice' max: 1 } "
                                                   "channels { channel_id: 'app' max: 0 cost: 5 }")
                                      .ShortDebugString());
  EXPECT_EQ(CanonicalChannel(Parse<v1::Channel>("id: 'c' bot_first: true")).ShortDebugString(),
            "id: \"c\" cost: 20 default_max: 3 bot_first: true");
}

TEST(DiffFields, ListsWhatDiffersInFieldOrder) {
  const v1::Queue current = CanonicalQueue(
      Parse<v1::Queue>("id: 'q' strategy: 'most_spare' requirements { skill_id: 's' min_level: 3 } "
                       "offer_timeout { seconds: 15 }"));
  const v1::Queue desired = CanonicalQueue(Parse<v1::Queue>(
      "id: 'q' requirements { skill_id: 's' min_level: 2 } offer_timeout { seconds: 20 }"));
  EXPECT_THAT(
      Describe(DiffFields(current, desired)),
      ElementsAre("requirements: [{skill_id: \"s\" min_level: 3}] -> "
                  "[{skill_id: \"s\" min_level: 2}]",
                  "strategy: \"most_spare\" -> \"longest_idle\"", "offer_timeout: 15s -> 20s"));
  EXPECT_THAT(DiffFields(current, current), IsEmpty());
}

TEST(BuildPlan, CreatesChangesAndLeavesAlone) {
  const v1::DaemonConfig file = Parse<v1::DaemonConfig>(R"pb(
    channels { id: "line" }
    channels { id: "voice" cost: 60 default_max: 1 }
    queues { id: "new" }
    queues { id: "same" strategy: "longest_idle" }
    queues { id: "changed" display_name: "Changed" }
    agents { id: "a1" queue_ids: "new" }
  )pb");
  const auto channels = Parse<v1::ListChannelsResponse>(
      "channels { id: 'voice' cost: 60 default_max: 1 } channels { id: 'app' cost: 20 }");
  v1::ListQueuesResponse queues;
  *queues.add_queues() = CanonicalQueue(Parse<v1::Queue>("id: 'same' agent_ids: 'a9'"));
  *queues.add_queues() = CanonicalQueue(Parse<v1::Queue>("id: 'changed'"));
  *queues.add_queues() = CanonicalQueue(Parse<v1::Queue>("id: 'not-in-file'"));
  const ApplyPlan plan = BuildPlan(file, channels, queues, v1::ListAgentsResponse());
  std::string text;
  for (const ObjectChange& c : plan.changes()) text += RenderChange(c);
  EXPECT_EQ(text,
            "+ channel line\n"
            "= channel voice\n"
            "+ queue new\n"
            "= queue same\n"
            "~ queue changed: display_name: \"\" -> \"Changed\"\n"
            "+ agent a1\n");
  EXPECT_EQ(plan.create_count(), 3);
  EXPECT_EQ(plan.update_count(), 1);
  EXPECT_EQ(plan.unchanged_count(), 2);
  EXPECT_FALSE(plan.applied());
  EXPECT_EQ(RenderSummary(plan, true),
            "Dry run: 3 to create, 1 to change, 2 unchanged; nothing was sent. Run without "
            "--dry-run to apply.\n");
  EXPECT_EQ(RenderSummary(plan, false), "Applied: 3 created, 1 changed, 2 unchanged.\n");
}

}  // namespace
}  // namespace omniroute::ctl
