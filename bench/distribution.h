// The load generator's own side of random durations (an agent's accept delay, a handle time, a
// wrap-up time): their flag text form and each thread's generator. The durations themselves are
// the simulator's omniroute::sim::Distribution, drawn from sim::Rng with sim::Uniform01 and
// sim::StandardExponential and seeded with sim::DeriveSeed (bench/sim/random.h); a scenario's
// omniroute.sim.v1.Distribution message converts with sim::DistributionFromProto
// (bench/sim/scenario.h). So a profile means the same durations here as in omniroute-sim.
//
//   absl::StatusOr<sim::Distribution> d = ParseDistribution("handle_time", "exp:3s");
//   sim::Rng rng(sim::DeriveSeed(/*seed=*/1, /*stream=*/0));
//   absl::Duration handle = d->Sample(rng);
//   std::string text = FormatDistribution(*d);  // "exp:3s"
//
// Text form (flags): "0", "2s" or "const:2s" (always 2 s), "exp:2s" (exponential, mean 2 s),
// "lognormal:3m,1m" (log-normal with mean 3 min and standard deviation 1 min of the duration
// itself). A bare number is seconds. The same three kinds as omniroute.sim.v1.Distribution.

#ifndef OMNIROUTE_BENCH_DISTRIBUTION_H_
#define OMNIROUTE_BENCH_DISTRIBUTION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/sim/random.h"

namespace omniroute::bench {

// The text form above; INVALID_ARGUMENT "--<flag>: ..." when malformed or negative.
absl::StatusOr<sim::Distribution> ParseDistribution(absl::string_view flag, absl::string_view text);

// The text form of `d`, as the report shows it: "0", "const:2s", "exp:2s", "lognormal:3m,1m".
// (An empirical distribution, which no flag or profile gives, shows as sim's ToString().)
std::string FormatDistribution(const sim::Distribution& d);

// This thread's generator, seeded once per thread from std::random_device: for what need not
// be reproducible (agent behaviour, the closed loop's stream mix). Not to be shared between
// threads.
sim::Rng& ThreadRng();

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_DISTRIBUTION_H_
