// round_robin: engineers take turns within a queue. The queue numbers its assignments; the
// engineer whose last assignment from this queue is oldest (or who never had one) goes next.
// Unlike a cursor over a list, the rank is a pure function of the engineer, so it can be
// indexed like every other strategy.

#include <memory>

#include "omniroute/strategy.h"

namespace omniroute::internal {
namespace {
class RoundRobin final : public Strategy {
 public:
  absl::string_view name() const override { return "round_robin"; }
  RankKey Rank(const RankInput& in) const override {
    return {static_cast<int64_t>(in.last_assignment_in_queue), 0, in.registration_order};
  }
};
}  // namespace

std::unique_ptr<Strategy> MakeRoundRobin() { return std::make_unique<RoundRobin>(); }

}  // namespace omniroute::internal
