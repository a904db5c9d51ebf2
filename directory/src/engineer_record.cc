// The derived figures of EngineerRecord, and Handle's order.

#include <algorithm>
#include <tuple>

#include "omniroute/directory/directory.h"

namespace omniroute::directory {

bool operator<(const Handle& a, const Handle& b) {
  return std::tie(a.kind, a.value) < std::tie(b.kind, b.value);
}

double EngineerRecord::average_stars() const {
  return ratings > 0 ? static_cast<double>(stars_total) / static_cast<double>(ratings) : 0.0;
}

double EngineerRecord::good_rating_rate() const {
  return ratings > 0 ? static_cast<double>(good_ratings) / static_cast<double>(ratings) : 0.0;
}

double EngineerRecord::tip_rate() const {
  return ratings > 0 ? static_cast<double>(tips) / static_cast<double>(ratings) : 0.0;
}

absl::Duration EngineerRecord::average_handle_time() const {
  return handled > 0 ? handle_time_total / handled : absl::ZeroDuration();
}

std::vector<std::pair<std::string, int64_t>> EngineerRecord::TopTags(size_t n) const {
  std::vector<std::pair<std::string, int64_t>> top = tag_counts;
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;
  });
  if (top.size() > n) top.resize(n);
  return top;
}

}  // namespace omniroute::directory
