// Random numbers for the simulator, identical on every machine.
//
// The standard fixes the output of std::mt19937_64 but not that of std::uniform_real_distribution,
// std::exponential_distribution and the rest, which differ between standard libraries. So the
// simulator draws raw 64-bit words from std::mt19937_64 and turns them into uniforms,
// exponentials and normals with the code below (inverse CDF, Box-Muller), and seeds every
// generator from (scenario seed, replication, stream) with SplitMix64. Only the model side (the
// arrival streams, engineer behaviour) draws: the engine never sees a random number.
//
//   std::mt19937_64 rng(DeriveSeed(ReplicationSeed(seed, 3), 1));
//   Distribution handle = Distribution::LogNormal(absl::Minutes(5), absl::Minutes(3));
//   absl::Duration d = handle.Sample(rng);
//
// The transcendental functions (log, exp, cos, sqrt) are the C library's: figures are the same
// wherever the same libm is used (glibc on x86-64 and arm64 in our builds).

#ifndef OMNIROUTE_BENCH_SIM_RANDOM_H_
#define OMNIROUTE_BENCH_SIM_RANDOM_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace omniroute::sim {

using Rng = std::mt19937_64;

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix.
uint64_t SplitMix64(uint64_t x);

// The seed of replication `replication` of a run seeded with `seed`:
// SplitMix64(seed + (replication + 1) * 0x9E3779B97F4A7C15).
uint64_t ReplicationSeed(uint64_t seed, int replication);

// The seed of the independent stream `stream` within a replication: the same mix applied to
// (replication seed, stream). Stream 0 is the engineers' behaviour, stream k + 1 the scenario's
// arrival stream k, so that adding a stream or an engineer does not change the others' draws.
uint64_t DeriveSeed(uint64_t replication_seed, int stream);

// Uniform on [0, 1) with 53 random bits.
double Uniform01(Rng& rng);
// Exponential with mean 1 (inverse CDF: -log(1 - U)).
double StandardExponential(Rng& rng);
// Standard normal (Box-Muller, the cosine branch; one normal per two uniforms).
double StandardNormal(Rng& rng);
// True with probability p (0..1).
bool Bernoulli(Rng& rng, double p);

// A random duration: constant, exponential, log-normal or empirical. Samples are rounded to whole
// microseconds (the engine's resolution) and never negative.
class Distribution {
 public:
  enum class Kind { kConstant, kExponential, kLogNormal, kEmpirical };

  // Constant zero.
  Distribution() = default;
  static Distribution Constant(absl::Duration value);
  static Distribution Exponential(absl::Duration mean);
  // `mean` and `stddev` of the duration itself (not of its logarithm).
  static Distribution LogNormal(absl::Duration mean, absl::Duration stddev);
  // One of `samples` (non-empty), each with the same probability: what was observed (the
  // journal replay's accept delays and wrap-up times). One sample: a constant.
  static Distribution Empirical(std::vector<absl::Duration> samples);

  absl::Duration Sample(Rng& rng) const;
  // True for a constant (Sample draws nothing from the generator).
  bool is_constant() const { return kind_ == Kind::kConstant; }
  // True for the constant zero (the default): a delay that need not be waited for.
  bool is_zero() const { return kind_ == Kind::kConstant && mean_ == absl::ZeroDuration(); }
  Kind kind() const { return kind_; }
  absl::Duration mean() const { return mean_; }
  // For a constant, zero.
  absl::Duration stddev() const;
  // "constant 30s", "exponential mean 5m", "log-normal mean 5m sd 3m".
  std::string ToString() const;

 private:
  Kind kind_ = Kind::kConstant;
  absl::Duration mean_ = absl::ZeroDuration();
  absl::Duration stddev_ = absl::ZeroDuration();
  double mu_ = 0;     // log-normal: mean of the logarithm (seconds)
  double sigma_ = 0;  // log-normal: standard deviation of the logarithm
  // Empirical: the samples, shared by copies.
  std::shared_ptr<const std::vector<absl::Duration>> samples_;
};

}  // namespace omniroute::sim

#endif  // OMNIROUTE_BENCH_SIM_RANDOM_H_
