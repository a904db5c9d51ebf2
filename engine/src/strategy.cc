#include "omniroute/strategy.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace omniroute {

namespace internal {
// Defined in strategies/builtin.cc.
void RegisterBuiltinStrategies(std::map<std::string, StrategyFactory, std::less<>>& registry);
}  // namespace internal

namespace {
std::map<std::string, StrategyFactory, std::less<>>& Registry() {
  static auto* registry = [] {
    auto* r = new std::map<std::string, StrategyFactory, std::less<>>();
    internal::RegisterBuiltinStrategies(*r);
    return r;
  }();
  return *registry;
}
}  // namespace

absl::Status RegisterStrategy(std::string name, StrategyFactory factory) {
  if (!factory) return absl::InvalidArgumentError("strategy factory: must not be empty");
  auto [it, inserted] = Registry().emplace(std::move(name), std::move(factory));
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat("strategy \"", it->first, "\" is registered"));
  }
  return absl::OkStatus();
}

std::unique_ptr<Strategy> MakeStrategy(absl::string_view name) {
  auto it = Registry().find(name);
  if (it == Registry().end()) return nullptr;
  return it->second();
}

std::vector<std::string> StrategyNames() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Registry()) names.push_back(name);
  return names;
}

}  // namespace omniroute
