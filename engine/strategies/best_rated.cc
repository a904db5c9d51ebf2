// best_rated: the engineer with the highest score (points earned from customers) goes first,
// then the longest idle.

#include <memory>

#include "omniroute/strategy.h"

namespace omniroute::internal {
namespace {
class BestRated final : public Strategy {
 public:
  absl::string_view name() const override { return "best_rated"; }
  RankKey Rank(const RankInput& in) const override {
    return {-in.score, in.idle_since_micros, in.registration_order};
  }
};
}  // namespace

std::unique_ptr<Strategy> MakeBestRated() { return std::make_unique<BestRated>(); }

}  // namespace omniroute::internal
