// omniroutectl's text rendering (ctl/table.h, ctl/format.h): aligned tables and descriptions,
// display widths of CJK text, and the value formats people read.

#include "ctl/table.h"

#include <string>

#include "ctl/format.h"
#include "gtest/gtest.h"

namespace omniroute::ctl {
namespace {

TEST(DisplayWidth, CountsColumnsNotBytes) {
  EXPECT_EQ(DisplayWidth(""), 0u);
  EXPECT_EQ(DisplayWidth("eng-1001"), 8u);
  EXPECT_EQ(DisplayWidth("李娜"), 4u) << "CJK ideographs are two columns each";
  EXPECT_EQ(DisplayWidth("Zoë"), 3u) << "a two-byte Latin letter is one column";
  EXPECT_EQ(DisplayWidth("e\xcc\x81"), 1u) << "a combining accent takes no column";
  EXPECT_EQ(DisplayWidth("\xff"), 1u) << "an invalid byte counts one";
}

TEST(Pad, LeftRightAndTooWide) {
  EXPECT_EQ(Pad("ab", 4), "ab  ");
  EXPECT_EQ(Pad("ab", 4, /*right=*/true), "  ab");
  EXPECT_EQ(Pad("李娜", 6), "李娜  ");
  EXPECT_EQ(Pad("abcdef", 3), "abcdef");
}

TEST(Table, AlignsColumnsWithTwoSpacesAndNoTrailingSpaces) {
  Table t({"ID", "NAME", "SCORE"});
  t.AlignRight(2);
  t.AddRow({"eng-1001", "Li Na", "980"});
  t.AddRow({"eng-7", "李娜", "5"});
  t.AddRow({"x"});  // missing cells are empty
  EXPECT_EQ(t.Render(),
            "ID        NAME   SCORE\n"
            "eng-1001  Li Na    980\n"
            "eng-7     李娜       5\n"
            "x\n");
  EXPECT_EQ(t.row_count(), 3u);
}

TEST(Table, LastLeftAlignedColumnIsNotPadded) {
  Table t({"A", "SUMMARY"});
  t.AddRow({"1", "short"});
  t.AddRow({"2", "a much longer summary"});
  EXPECT_EQ(t.Render(),
            "A  SUMMARY\n"
            "1  short\n"
            "2  a much longer summary\n");
}

TEST(Table, DetailsFollowTheirRowWithoutWideningColumns) {
  Table t({"EVENT", "AGENT"});
  t.AddRow({"offer-created", "eng-1"});
  t.AddDetail("* eng-1  primary 5, secondary 0, order 1 (a long line)", 2);
  t.AddRow({"assigned", "eng-1"});
  EXPECT_EQ(t.Render(),
            "EVENT          AGENT\n"
            "offer-created  eng-1\n"
            "  * eng-1  primary 5, secondary 0, order 1 (a long line)\n"
            "assigned       eng-1\n");
}

TEST(Fields, AlignsValuesPerSectionAndContinuesMultiLineValues) {
  Fields f;
  f.Add("Queue", "repair");
  f.Add("Relaxation", "after 30s: lower\nafter 2m: any");
  f.Section("Live (window 15m):");
  f.Add("Waiting", "3");
  f.Add("Oldest wait", "");
  EXPECT_EQ(f.Render(),
            "Queue:       repair\n"
            "Relaxation:  after 30s: lower\n"
            "             after 2m: any\n"
            "\n"
            "Live (window 15m):\n"
            "  Waiting:      3\n"
            "  Oldest wait:\n");
}

TEST(Format, DurationsForPeopleAndForDiffs) {
  EXPECT_EQ(HumanDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(250)), "250ms");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(19693)), "19.693s");
  EXPECT_EQ(HumanDuration(absl::Milliseconds(90500)), "1m30s");
  google::protobuf::Duration d;
  d.set_seconds(90);
  d.set_nanos(250000);
  EXPECT_EQ(HumanDuration(d), "1m30s");
  EXPECT_EQ(ExactDuration(d), "1m30.00025s");
  EXPECT_EQ(HumanOptionalDuration(false, d), "-");
}

TEST(Format, EnumsPercentagesAndRankKeys) {
  EXPECT_EQ(EnumName(v1::PRESENCE_NOT_READY), "not-ready");
  EXPECT_EQ(EnumName(v1::EVENT_TYPE_SESSION_WINDOW_OPENED), "session-window-opened");
  EXPECT_EQ(EnumName(v1::AGENT_TIER_MASTER), "master");
  EXPECT_EQ(EnumName(static_cast<v1::Presence>(42)), "42");
  EXPECT_EQ(FormatPercent(0.8), "80%");
  EXPECT_EQ(FormatPercent(0.8333), "83.3%");
  EXPECT_EQ(FormatPercent(1), "100%");
  v1::RankKey key;
  key.set_primary(-980);
  key.set_secondary(12);
  key.set_order(3);
  EXPECT_EQ(FormatRankKey(key), "primary -980, secondary 12, order 3");
}

TEST(Format, FieldsAsADiffShowsThem) {
  v1::Queue q;
  q.add_requirements()->set_skill_id("repair.phone");
  q.mutable_requirements(0)->set_min_level(3);
  q.mutable_offer_timeout()->set_seconds(15);
  q.set_strategy("most_spare");
  q.set_delivery_mode(v1::DELIVERY_MODE_GRAB);
  const auto* d = v1::Queue::descriptor();
  EXPECT_EQ(FormatField(q, d->FindFieldByName("requirements")),
            "[{skill_id: \"repair.phone\" min_level: 3}]");
  EXPECT_EQ(FormatField(q, d->FindFieldByName("offer_timeout")), "15s");
  EXPECT_EQ(FormatField(q, d->FindFieldByName("strategy")), "\"most_spare\"");
  EXPECT_EQ(FormatField(q, d->FindFieldByName("delivery_mode")), "grab");
  EXPECT_EQ(FormatField(q, d->FindFieldByName("agent_ids")), "[]");
}

TEST(Format, DescribeEventLeavesOutWhatIsEmpty) {
  v1::Event e;
  e.set_type(v1::EVENT_TYPE_OFFER_CREATED);
  e.set_session_id("17");
  e.set_queue_id("repair");
  e.set_agent_id("eng-1001");
  e.set_session_state(v1::SESSION_STATE_OFFERED);
  e.set_detail("say \"hi\"");
  e.mutable_reason()->set_strategy("longest_idle");
  e.mutable_reason()->set_stage(v1::ROUTING_STAGE_QUEUE);
  e.mutable_reason()->set_decided_by(v1::DECIDER_PRIMARY_KEY);
  EXPECT_EQ(DescribeEvent(e),
            "session=17 queue=repair agent=eng-1001 state=offered "
            "reason=longest_idle/queue/primary-key detail=\"say \\\"hi\\\"\"");
}

TEST(Format, JsonUsesProtoNamesAndPrintsZeros) {
  v1::ChannelWaiting w;
  w.set_channel_id("voice");
  EXPECT_EQ(ToJson(w, JsonStyle::kLine), "{\"channel_id\":\"voice\",\"waiting\":0}\n");
  const std::string pretty = ToJson(w, JsonStyle::kPretty);
  EXPECT_NE(pretty.find('\n'), pretty.size() - 1) << "pretty JSON spans lines: " << pretty;
  EXPECT_EQ(pretty.back(), '\n');
}

}  // namespace
}  // namespace omniroute::ctl
