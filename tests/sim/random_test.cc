// The simulator's random numbers: right means and variances on large samples, and the same
// numbers for the same seed. The seeds are fixed, so these tests are deterministic.

#include "bench/sim/random.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace omniroute::sim {
namespace {

struct Moments {
  double mean = 0;
  double variance = 0;
};

template <class Draw>
Moments Sample(int n, Draw draw) {
  std::vector<double> v(n);
  double sum = 0;
  for (double& x : v) {
    x = draw();
    sum += x;
  }
  Moments m;
  m.mean = sum / n;
  for (double x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= n - 1;
  return m;
}

constexpr int kN = 400000;

TEST(RandomTest, UniformIsInUnitIntervalWithMeanHalf) {
  Rng rng(DeriveSeed(ReplicationSeed(1, 0), 1));
  double lo = 1, hi = 0;
  const Moments m = Sample(kN, [&] {
    const double u = Uniform01(rng);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    return u;
  });
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  EXPECT_NEAR(m.mean, 0.5, 0.005);
  EXPECT_NEAR(m.variance, 1.0 / 12, 0.002);
}

TEST(RandomTest, StandardNormalHasMeanZeroVarianceOne) {
  Rng rng(42);
  const Moments m = Sample(kN, [&] { return StandardNormal(rng); });
  EXPECT_NEAR(m.mean, 0.0, 0.01);
  EXPECT_NEAR(m.variance, 1.0, 0.01);
}

TEST(RandomTest, ExponentialHasMeanAndVarianceOfTheMean) {
  Rng rng(7);
  const Distribution d = Distribution::Exponential(absl::Seconds(100));
  const Moments m = Sample(kN, [&] { return absl::ToDoubleSeconds(d.Sample(rng)); });
  EXPECT_NEAR(m.mean, 100, 1.0);              // 1 %
  EXPECT_NEAR(m.variance, 100.0 * 100, 300);  // 3 %
}

TEST(RandomTest, LogNormalHasTheGivenMeanAndStddev) {
  Rng rng(11);
  const Distribution d = Distribution::LogNormal(absl::Seconds(300), absl::Seconds(180));
  const Moments m = Sample(kN, [&] { return absl::ToDoubleSeconds(d.Sample(rng)); });
  EXPECT_NEAR(m.mean, 300, 3.0);                 // 1 %
  EXPECT_NEAR(std::sqrt(m.variance), 180, 5.4);  // 3 %
}

TEST(RandomTest, ConstantDrawsNothingAndIsExact) {
  Rng rng(3), untouched(3);
  const Distribution d = Distribution::Constant(absl::Seconds(30));
  EXPECT_TRUE(d.is_constant());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(d.Sample(rng), absl::Seconds(30));
  EXPECT_EQ(rng(), untouched());
}

TEST(RandomTest, IsZeroOnlyForTheConstantZero) {
  EXPECT_TRUE(Distribution().is_zero());
  EXPECT_TRUE(Distribution::Constant(absl::ZeroDuration()).is_zero());
  EXPECT_TRUE(Distribution::Empirical({absl::ZeroDuration()}).is_zero());
  EXPECT_FALSE(Distribution::Constant(absl::Microseconds(1)).is_zero());
  EXPECT_FALSE(Distribution::Exponential(absl::Seconds(1)).is_zero());
  EXPECT_FALSE(Distribution::LogNormal(absl::Seconds(1), absl::Seconds(1)).is_zero());
}

TEST(RandomTest, EmpiricalDrawsEachSampleEquallyOften) {
  Rng rng(5);
  const Distribution d = Distribution::Empirical(
      {absl::Seconds(1), absl::Seconds(2), absl::Seconds(2), absl::Seconds(10)});
  EXPECT_EQ(d.kind(), Distribution::Kind::kEmpirical);
  EXPECT_EQ(d.mean(), absl::Milliseconds(3750));
  int ones = 0, twos = 0, tens = 0;
  for (int i = 0; i < kN; ++i) {
    const absl::Duration x = d.Sample(rng);
    ones += x == absl::Seconds(1);
    twos += x == absl::Seconds(2);
    tens += x == absl::Seconds(10);
  }
  EXPECT_EQ(ones + twos + tens, kN);  // nothing but the samples
  EXPECT_NEAR(ones, kN / 4, kN / 100);
  EXPECT_NEAR(twos, kN / 2, kN / 100);
  EXPECT_NEAR(tens, kN / 4, kN / 100);
  // One sample (or none) is a constant that draws nothing.
  EXPECT_TRUE(Distribution::Empirical({absl::Seconds(4)}).is_constant());
  EXPECT_EQ(Distribution::Empirical({absl::Seconds(4)}).Sample(rng), absl::Seconds(4));
  EXPECT_EQ(Distribution::Empirical({}).Sample(rng), absl::ZeroDuration());
}

TEST(RandomTest, BernoulliHitsItsProbability) {
  Rng rng(5);
  int hits = 0;
  for (int i = 0; i < kN; ++i) hits += Bernoulli(rng, 0.3) ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(hits) / kN, 0.3, 0.005);
  EXPECT_FALSE(Bernoulli(rng, 0));
  EXPECT_TRUE(Bernoulli(rng, 1));
}

TEST(RandomTest, SeedsAreFixedAndDistinct) {
  // The documented mix: SplitMix64(seed + (i + 1) * golden ratio), fixed for all time.
  EXPECT_EQ(ReplicationSeed(1, 0), SplitMix64(1 + 0x9E3779B97F4A7C15ULL));
  EXPECT_NE(ReplicationSeed(1, 0), ReplicationSeed(1, 1));
  EXPECT_NE(ReplicationSeed(1, 0), ReplicationSeed(2, 0));
  EXPECT_NE(DeriveSeed(ReplicationSeed(1, 0), 0), DeriveSeed(ReplicationSeed(1, 0), 1));
  // std::mt19937_64's output is fixed by the standard: the 10000th draw from the default seed.
  std::mt19937_64 standard;
  standard.discard(9999);
  EXPECT_EQ(standard(), 9981545732273789042ULL);
  // The same seed, the same durations.
  Rng a(99), b(99);
  const Distribution d = Distribution::LogNormal(absl::Minutes(5), absl::Minutes(3));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(d.Sample(a), d.Sample(b));
}

}  // namespace
}  // namespace omniroute::sim
