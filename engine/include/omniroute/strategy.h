// Engineer-selection strategies.
//
// A strategy ranks the engineers eligible for a session: it turns what the engine knows of an
// engineer (`RankInput`) into a `RankKey`, and the smallest key wins. Because the rank is a
// pure function of those inputs, the engine keeps engineers in sorted indexes and finds the
// winner without scanning everyone.
//
// Built in: `longest_idle` (default), `most_spare`, `best_rated`, `round_robin`. A new
// strategy is one file: implement `Strategy`, and add its factory to the list in
// `engine/strategies/builtin.cc` (or call `RegisterStrategy` before creating the engine).
//
//   class FewestHandled : public Strategy { ... };
//   RegisterStrategy("fewest_handled", [] { return std::make_unique<FewestHandled>(); });

#ifndef OMNIROUTE_STRATEGY_H_
#define OMNIROUTE_STRATEGY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "omniroute/engineer.h"
#include "omniroute/event.h"

namespace omniroute {

// What a strategy may rank on. All times in microseconds since the Unix epoch.
struct RankInput {
  // When the engineer last became free of all work, became available, or last received work.
  int64_t idle_since_micros = 0;
  int budget = 0;
  int spare_budget = 0;  // budget not taken by sessions held or reserved
  int64_t score = 0;
  Tier tier = Tier::kRookie;
  // Per queue: the number of the last assignment this queue gave the engineer (0: never).
  uint64_t last_assignment_in_queue = 0;
  uint32_t registration_order = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // The registered name, used in configuration and in routing reasons.
  virtual absl::string_view name() const = 0;
  // Smaller ranks first. Must be a pure function of `input`, and must set
  // `order = input.registration_order` so that every key is unique.
  virtual RankKey Rank(const RankInput& input) const = 0;
};

using StrategyFactory = std::function<std::unique_ptr<Strategy>()>;

// Registers a strategy under `name`. Not thread-safe: register before creating engines.
// Returns AlreadyExists if the name is taken.
absl::Status RegisterStrategy(std::string name, StrategyFactory factory);

// A new instance of the strategy registered under `name`, or nullptr.
std::unique_ptr<Strategy> MakeStrategy(absl::string_view name);

// The registered names, sorted.
std::vector<std::string> StrategyNames();

}  // namespace omniroute

#endif  // OMNIROUTE_STRATEGY_H_
