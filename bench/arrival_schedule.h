// ArrivalSchedule: when the open loop of the load generator sends its sessions, and which of
// several weighted arrival streams each one belongs to.
//
//   ArrivalSchedule schedule(/*rate_per_second=*/5000, ArrivalSchedule::kPoisson, /*seed=*/1);
//   absl::Duration first = schedule.Next();   // offsets from the start, non-decreasing
//   absl::Duration second = schedule.Next();
//
//   WeightedPicker mix({3.0, 1.0});            // stream 0 three times as often as stream 1
//   int stream = mix.Pick(sim::Uniform01(rng));
//
// Poisson arrivals (exponential gaps with mean 1/rate, the default) are what a real centre
// sees and what the simulator and Erlang models assume; kUniform spaces them evenly (1/rate
// apart), for a smooth load. Same rate, kind and seed: the same schedule on every machine.
// Not thread-safe (one pacer thread owns it).

#ifndef OMNIROUTE_BENCH_ARRIVAL_SCHEDULE_H_
#define OMNIROUTE_BENCH_ARRIVAL_SCHEDULE_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "bench/sim/random.h"

namespace omniroute::bench {

class ArrivalSchedule {
 public:
  enum Kind { kPoisson, kUniform };

  // `rate_per_second` > 0.
  ArrivalSchedule(double rate_per_second, Kind kind, uint64_t seed);

  // The offset from the start of the schedule of the next arrival.
  absl::Duration Next();
  // The generator behind the schedule, for drawing what else an arrival needs (its stream,
  // its customer) in the same reproducible sequence.
  sim::Rng& rng() { return rng_; }

 private:
  const double mean_gap_seconds_;
  const Kind kind_;
  sim::Rng rng_;
  // Accumulated in seconds (double: exact to well under a microsecond over days).
  double offset_seconds_ = 0;
};

// Picks an index with probability proportional to its weight (weights >= 0, at least one
// > 0). Immutable after construction.
class WeightedPicker {
 public:
  WeightedPicker() = default;
  explicit WeightedPicker(const std::vector<double>& weights);
  // `u` uniform in [0, 1).
  int Pick(double u) const;
  int size() const { return static_cast<int>(cumulative_.size()); }

 private:
  std::vector<double> cumulative_;
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_ARRIVAL_SCHEDULE_H_
