#include "bench/arrival_schedule.h"

#include <algorithm>
#include <vector>

namespace omniroute::bench {

ArrivalSchedule::ArrivalSchedule(double rate_per_second, Kind kind, uint64_t seed)
    : mean_gap_seconds_(1.0 / rate_per_second), kind_(kind), rng_(sim::DeriveSeed(seed, 0)) {}

absl::Duration ArrivalSchedule::Next() {
  offset_seconds_ +=
      kind_ == kPoisson ? mean_gap_seconds_ * sim::StandardExponential(rng_) : mean_gap_seconds_;
  return absl::Seconds(offset_seconds_);
}

WeightedPicker::WeightedPicker(const std::vector<double>& weights) {
  double sum = 0;
  cumulative_.reserve(weights.size());
  for (double w : weights) {
    sum += std::max(w, 0.0);
    cumulative_.push_back(sum);
  }
  for (double& c : cumulative_) c /= sum;
}

int WeightedPicker::Pick(double u) const {
  if (cumulative_.size() <= 1) return 0;
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  return it == cumulative_.end() ? size() - 1 : static_cast<int>(it - cumulative_.begin());
}

}  // namespace omniroute::bench
