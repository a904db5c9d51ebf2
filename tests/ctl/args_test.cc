// omniroutectl's argument parser (ctl/args.h): flag forms, repeated and bool flags, errors
// with suggestions, and the value parsers (durations, counts, enum names).

#include "ctl/args.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/v1/resources.pb.h"

namespace omniroute::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::vector<FlagSpec> kSpecs = {
    {"queue", FlagKind::kRepeated, "Q", "queue"},
    {"count", FlagKind::kValue, "N", "count"},
    {"after-sequence", FlagKind::kValue, "N", "resume"},
    {"json", FlagKind::kBool, "", "json"},
    {"file", FlagKind::kValue, "FILE", "file", 'f'},
    {"dry-run", FlagKind::kBool, "", "dry run"},
};

absl::StatusOr<ParsedArgs> Parse(std::vector<std::string> args) { return ParseArgs(args, kSpecs); }

TEST(ParseArgs, AcceptsEveryFlagFormMixedWithPositionalArguments) {
  absl::StatusOr<ParsedArgs> a =
      Parse({"repair", "--queue", "vip", "--count=3", "-f", "x.textproto", "--json", "sales",
             "--queue=iot", "--after-sequence", "0"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->positional(), ElementsAre("repair", "sales"));
  EXPECT_THAT(a->Values("queue"), ElementsAre("vip", "iot"));
  EXPECT_EQ(a->Value("count"), "3");
  EXPECT_EQ(a->Value("file"), "x.textproto");
  EXPECT_EQ(a->Value("after-sequence"), "0");
  EXPECT_TRUE(a->Has("json"));
  EXPECT_FALSE(a->Has("dry-run"));
  EXPECT_EQ(a->Value("dry-run", "unset"), "unset");
}

TEST(ParseArgs, AliasWithTheValueAttached) {
  absl::StatusOr<ParsedArgs> a = Parse({"-fcentre.textproto"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Value("file"), "centre.textproto");
}

TEST(ParseArgs, LastValueWinsForSingleValueFlags) {
  absl::StatusOr<ParsedArgs> a = Parse({"--count", "1", "--count", "2"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Value("count"), "2");
}

TEST(ParseArgs, BoolFlagsTakeTrueOrFalseOnly) {
  absl::StatusOr<ParsedArgs> off = Parse({"--dry-run=false"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->Has("dry-run"));
  absl::StatusOr<ParsedArgs> on = Parse({"--dry-run=true"});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->Has("dry-run"));
  absl::StatusOr<ParsedArgs> bad = Parse({"--json=yes"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("--json takes no value"));
  // A bool flag does not swallow the next argument.
  absl::StatusOr<ParsedArgs> next = Parse({"--json", "repair"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(next->positional(), ElementsAre("repair"));
}

TEST(ParseArgs, DoubleDashEndsTheFlags) {
  absl::StatusOr<ParsedArgs> a = Parse({"--json", "--", "--queue", "-x"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->positional(), ElementsAre("--queue", "-x"));
  EXPECT_THAT(a->Values("queue"), IsEmpty());
}

TEST(ParseArgs, ADashAloneIsPositional) {
  absl::StatusOr<ParsedArgs> a = Parse({"-f", "-"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->Value("file"), "-");
}

TEST(ParseArgs, ErrorsNameTheFlagAndSuggestTheClosest) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--qeue", "x"}, "unknown flag --qeue (did you mean --queue?)"},
      {{"--dryrun"}, "unknown flag --dryrun (did you mean --dry-run?)"},
      {{"--verbose"}, "unknown flag --verbose"},
      {{"-queue", "x"}, "unknown flag -queue (did you mean --queue?)"},
      {{"-z"}, "unknown flag -z"},
      {{"--count"}, "--count needs a value (--count N)"},
      {{"repair", "-f"}, "-f needs a value (-f FILE)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ParsedArgs> a = Parse(c.args);
    ASSERT_FALSE(a.ok()) << ::testing::PrintToString(c.args);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(a.status().message(), c.message) << ::testing::PrintToString(c.args);
  }
}

TEST(ClosestMatch, OnlyLikelyTypos) {
  const std::vector<std::string> words = {"list", "get", "tail", "presence"};
  EXPECT_EQ(ClosestMatch("lsit", words), "list");
  EXPECT_EQ(ClosestMatch("presnce", words), "presence");
  EXPECT_EQ(ClosestMatch("gt", words), "");  // 1 edit of 2 letters: a guess, not a typo
  EXPECT_EQ(ClosestMatch("delete", words), "");
  EXPECT_EQ(ClosestMatch("list", words), "") << "an exact match is no suggestion";
}

TEST(ParsePositiveDuration, GoSyntaxPositiveOnly) {
  EXPECT_EQ(*ParsePositiveDuration("--timeout", "10s"), absl::Seconds(10));
  EXPECT_EQ(*ParsePositiveDuration("--timeout", "500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParsePositiveDuration("--timeout", "1m30s"), absl::Seconds(90));
  for (const char* bad : {"10", "", "ten seconds", "inf"}) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration("--timeout", bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("is not a duration")) << bad;
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("--timeout")) << bad;
  }
  for (const char* bad : {"0s", "-1s"}) {
    absl::StatusOr<absl::Duration> d = ParsePositiveDuration("--interval", bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("must be positive")) << bad;
  }
}

TEST(ParseCount, NonNegativeWholeNumbers) {
  EXPECT_EQ(*ParseCount("--count", "0"), 0u);
  EXPECT_EQ(*ParseCount("--count", "18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(*ParseCount("--count", "7", 10), 7u);
  for (const char* bad : {"", "-1", "+1", "1.5", "x", "18446744073709551616"}) {
    EXPECT_FALSE(ParseCount("--count", bad).ok()) << bad;
  }
  absl::StatusOr<uint64_t> big = ParseCount("--count", "11", 10);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(), "--count: 11 is above 10");
}

TEST(ParseEnumValue, ForgivingAboutCaseDashesAndPrefix) {
  const google::protobuf::EnumDescriptor* presence = v1::Presence_descriptor();
  for (const char* text :
       {"not-ready", "NOT_READY", "Not_Ready", "PRESENCE_NOT_READY", "presence-not-ready"}) {
    absl::StatusOr<int> v = ParseEnumValue(presence, "presence", text);
    ASSERT_TRUE(v.ok()) << text << ": " << v.status();
    EXPECT_EQ(*v, v1::PRESENCE_NOT_READY) << text;
  }
  absl::StatusOr<int> type =
      ParseEnumValue(v1::EventType_descriptor(), "event type", "offer-created");
  ASSERT_TRUE(type.ok()) << type.status();
  EXPECT_EQ(*type, v1::EVENT_TYPE_OFFER_CREATED);
}

TEST(ParseEnumValue, RejectsUnknownNamesAndTheZeroValueListingTheValid) {
  for (const char* text : {"busy", "unspecified", "PRESENCE_UNSPECIFIED", ""}) {
    absl::StatusOr<int> v = ParseEnumValue(v1::Presence_descriptor(), "presence", text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(v.status().message(),
              absl::StrCat("\"", text,
                           "\" is not a valid presence; valid values: offline, available, "
                           "not-ready, wrap-up"));
  }
}

}  // namespace
}  // namespace omniroute::ctl
