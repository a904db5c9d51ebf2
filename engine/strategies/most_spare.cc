// most_spare: the engineer with the most unused capacity budget goes first (a free engineer
// before one already holding chats), then the longest idle.

#include <memory>

#include "omniroute/strategy.h"

namespace omniroute::internal {
namespace {
class MostSpare final : public Strategy {
 public:
  absl::string_view name() const override { return "most_spare"; }
  RankKey Rank(const RankInput& in) const override {
    return {-static_cast<int64_t>(in.spare_budget), in.idle_since_micros, in.registration_order};
  }
};
}  // namespace

std::unique_ptr<Strategy> MakeMostSpare() { return std::make_unique<MostSpare>(); }

}  // namespace omniroute::internal
