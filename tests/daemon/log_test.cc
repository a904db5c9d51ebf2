// The daemon's structured log lines.

#include "daemon/log.h"

#include "gtest/gtest.h"

namespace omniroute::daemon {
namespace {

TEST(LogTest, RecordIsOneLogfmtLine) {
  EXPECT_EQ(FormatLogRecord("2026-11-23T08:54:12.000000Z", v1::LOG_LEVEL_INFO, "serving",
                            {{"address", "127.0.0.1:7400"}, {"queues", 5}, {"ok", true}}),
            "ts=2026-11-23T08:54:12.000000Z level=info msg=serving address=127.0.0.1:7400 "
            "queues=5 ok=true\n");
}

TEST(LogTest, ValuesThatNeedItAreQuotedAndEscaped) {
  EXPECT_EQ(FormatLogRecord("T", v1::LOG_LEVEL_WARNING, "a \"b\"",
                            {{"k", "x=y"}, {"e", ""}, {"nl", "1\n2\t\\"}, {"c", "\x01"}}),
            "ts=T level=warning msg=\"a \\\"b\\\"\" k=\"x=y\" e=\"\" nl=\"1\\n2\\t\\\\\" "
            "c=\"\\x01\"\n");
}

TEST(LogTest, LevelsFilter) {
  SetLogLevel(v1::LOG_LEVEL_WARNING);
  EXPECT_FALSE(LogEnabled(v1::LOG_LEVEL_DEBUG));
  EXPECT_FALSE(LogEnabled(v1::LOG_LEVEL_INFO));
  EXPECT_TRUE(LogEnabled(v1::LOG_LEVEL_WARNING));
  EXPECT_TRUE(LogEnabled(v1::LOG_LEVEL_ERROR));
  SetLogLevel(v1::LOG_LEVEL_UNSPECIFIED);  // the default: info
  EXPECT_FALSE(LogEnabled(v1::LOG_LEVEL_DEBUG));
  EXPECT_TRUE(LogEnabled(v1::LOG_LEVEL_INFO));
}

}  // namespace
}  // namespace omniroute::daemon
