// The report's statistics: t quantiles and intervals.

#include "bench/sim/report.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace omniroute::sim {
namespace {

TEST(ReportTest, StudentQuantiles) {
  EXPECT_DOUBLE_EQ(StudentT975(1), 12.7062);
  EXPECT_DOUBLE_EQ(StudentT975(9), 2.2622);
  EXPECT_DOUBLE_EQ(StudentT975(30), 2.0423);
  EXPECT_DOUBLE_EQ(StudentT975(60), 2.0003);
  EXPECT_NEAR(StudentT975(50), 2.0086, 0.001);  // table value 2.0086
  EXPECT_NEAR(StudentT975(1000000), 1.95996, 0.0001);
}

TEST(ReportTest, IntervalOfKnownValues) {
  // Mean 3, sample sd sqrt(2.5): half-width t(4) * sd / sqrt(5).
  const Estimate e = Estimate95({1, 2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(e.mean, 3);
  EXPECT_EQ(e.n, 5);
  EXPECT_NEAR(e.half_width, 2.7764 * std::sqrt(2.5) / std::sqrt(5.0), 1e-12);
}

TEST(ReportTest, UndefinedValuesAreLeftOutAndOneValueHasNoInterval) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Estimate e = Estimate95({nan, 0.5, nan});
  EXPECT_EQ(e.n, 1);
  EXPECT_DOUBLE_EQ(e.mean, 0.5);
  EXPECT_TRUE(std::isnan(e.half_width));
  e = Estimate95({nan});
  EXPECT_EQ(e.n, 0);
  EXPECT_TRUE(std::isnan(e.mean));
}

TEST(ReportTest, SummarizeAlignsQueuesAndGroups) {
  ReplicationMetrics a, b;
  QueueCounts c;
  c.offered = 10;
  c.answered = 8;
  c.waited = 4;
  a.queues.push_back(DeriveFigures("x", c));
  c.offered = 20;
  c.answered = 20;
  c.waited = 4;
  b.queues.push_back(DeriveFigures("x", c));
  a.groups.push_back({"g", absl::Seconds(1), absl::Seconds(2), 0.5});
  b.groups.push_back({"g", absl::Seconds(3), absl::Seconds(4), 0.75});
  const SimSummary s = Summarize({a, b});
  ASSERT_NE(FindQueue(s, "x"), nullptr);
  EXPECT_DOUBLE_EQ(FindQueue(s, "x")->offered.mean, 15);
  EXPECT_DOUBLE_EQ(FindQueue(s, "x")->p_wait.mean, (0.4 + 0.2) / 2);
  ASSERT_NE(FindGroup(s, "g"), nullptr);
  EXPECT_DOUBLE_EQ(FindGroup(s, "g")->occupancy.mean, 0.625);
  EXPECT_EQ(FindQueue(s, "y"), nullptr);
}

}  // namespace
}  // namespace omniroute::sim
