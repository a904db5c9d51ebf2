// longest_idle: the engineer who has gone longest without new work goes first.

#include <memory>

#include "omniroute/strategy.h"

namespace omniroute::internal {
namespace {
class LongestIdle final : public Strategy {
 public:
  absl::string_view name() const override { return "longest_idle"; }
  RankKey Rank(const RankInput& in) const override {
    return {in.idle_since_micros, 0, in.registration_order};
  }
};
}  // namespace

std::unique_ptr<Strategy> MakeLongestIdle() { return std::make_unique<LongestIdle>(); }

}  // namespace omniroute::internal
