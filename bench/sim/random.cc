#include "bench/sim/random.h"

#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"

namespace omniroute::sim {

namespace {
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

absl::Duration FromSeconds(double seconds) {
  if (!(seconds > 0)) return absl::ZeroDuration();
  return absl::Microseconds(std::llround(seconds * 1e6));
}
}  // namespace

uint64_t SplitMix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t ReplicationSeed(uint64_t seed, int replication) {
  return SplitMix64(seed + (static_cast<uint64_t>(replication) + 1) * kGolden);
}

uint64_t DeriveSeed(uint64_t replication_seed, int stream) {
  return SplitMix64(replication_seed + (static_cast<uint64_t>(stream) + 1) * kGolden);
}

double Uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

double StandardExponential(Rng& rng) { return -std::log1p(-Uniform01(rng)); }

double StandardNormal(Rng& rng) {
  const double u1 = 1.0 - Uniform01(rng);  // (0, 1]: the logarithm stays finite
  const double u2 = Uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

bool Bernoulli(Rng& rng, double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return Uniform01(rng) < p;
}

Distribution Distribution::Constant(absl::Duration value) {
  Distribution d;
  d.kind_ = Kind::kConstant;
  d.mean_ = value;
  return d;
}

Distribution Distribution::Exponential(absl::Duration mean) {
  Distribution d;
  d.kind_ = Kind::kExponential;
  d.mean_ = mean;
  d.stddev_ = mean;
  return d;
}

Distribution Distribution::LogNormal(absl::Duration mean, absl::Duration stddev) {
  Distribution d;
  d.kind_ = Kind::kLogNormal;
  d.mean_ = mean;
  d.stddev_ = stddev;
  // If X = exp(N(mu, sigma^2)): E X = exp(mu + sigma^2 / 2), Var X = (exp(sigma^2) - 1) (E X)^2.
  const double m = absl::ToDoubleSeconds(mean);
  const double s = absl::ToDoubleSeconds(stddev);
  d.sigma_ = std::sqrt(std::log1p((s * s) / (m * m)));
  d.mu_ = std::log(m) - d.sigma_ * d.sigma_ / 2;
  return d;
}

Distribution Distribution::Empirical(std::vector<absl::Duration> samples) {
  if (samples.size() <= 1) {
    return Constant(samples.empty() ? absl::ZeroDuration() : samples.front());
  }
  Distribution d;
  d.kind_ = Kind::kEmpirical;
  absl::Duration sum = absl::ZeroDuration();
  for (absl::Duration x : samples) sum += x;
  const int64_t n = static_cast<int64_t>(samples.size());
  d.mean_ = sum / n;
  double squares = 0;
  for (absl::Duration x : samples) {
    const double dev = absl::ToDoubleSeconds(x - d.mean_);
    squares += dev * dev;
  }
  d.stddev_ = absl::Seconds(std::sqrt(squares / static_cast<double>(n)));
  d.samples_ = std::make_shared<const std::vector<absl::Duration>>(std::move(samples));
  return d;
}

absl::Duration Distribution::Sample(Rng& rng) const {
  switch (kind_) {
    case Kind::kConstant:
      return mean_;
    case Kind::kExponential:
      return FromSeconds(absl::ToDoubleSeconds(mean_) * StandardExponential(rng));
    case Kind::kLogNormal:
      return FromSeconds(std::exp(mu_ + sigma_ * StandardNormal(rng)));
    case Kind::kEmpirical: {
      const size_t n = samples_->size();
      // Uniform index: multiply-shift on 32 random bits (the bias is below n / 2^32).
      const size_t i = static_cast<size_t>(((rng() >> 32) * n) >> 32);
      return (*samples_)[i];
    }
  }
  return mean_;
}

absl::Duration Distribution::stddev() const { return stddev_; }

std::string Distribution::ToString() const {
  switch (kind_) {
    case Kind::kConstant:
      return absl::StrCat("constant ", absl::FormatDuration(mean_));
    case Kind::kExponential:
      return absl::StrCat("exponential mean ", absl::FormatDuration(mean_));
    case Kind::kLogNormal:
      return absl::StrCat("log-normal mean ", absl::FormatDuration(mean_), " sd ",
                          absl::FormatDuration(stddev_));
    case Kind::kEmpirical:
      return absl::StrCat("empirical (", samples_->size(), " samples) mean ",
                          absl::FormatDuration(mean_));
  }
  return "";
}

}  // namespace omniroute::sim
