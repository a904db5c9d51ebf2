// The strategies every engine knows. A new built-in strategy is one file in this folder plus
// one line here.

#include <map>
#include <memory>
#include <string>

#include "omniroute/strategy.h"

namespace omniroute::internal {

std::unique_ptr<Strategy> MakeLongestIdle();
std::unique_ptr<Strategy> MakeMostSpare();
std::unique_ptr<Strategy> MakeBestRated();
std::unique_ptr<Strategy> MakeRoundRobin();

void RegisterBuiltinStrategies(std::map<std::string, StrategyFactory, std::less<>>& registry) {
  registry.emplace("longest_idle", &MakeLongestIdle);
  registry.emplace("most_spare", &MakeMostSpare);
  registry.emplace("best_rated", &MakeBestRated);
  registry.emplace("round_robin", &MakeRoundRobin);
}

}  // namespace omniroute::internal
