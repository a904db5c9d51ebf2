// The matchers an engine test can run with: the indexed matcher as built (and with secondary
// indexes made at the first walk), and the scan-everything reference. Tests of routing rules
// run with each, so that a rule is checked against the oracle as well as the fast path.
//
//   class MyTest : public test::EngineTest, public ::testing::WithParamInterface<MatcherKind> {
//     void SetUp() override { Reset(MakeEngineWith(GetParam())); }
//   };
//   INSTANTIATE_TEST_SUITE_P(Matchers, MyTest, kAllMatchers, MatcherKindName);

#ifndef OMNIROUTE_TESTS_ENGINE_MATCHERS_H_
#define OMNIROUTE_TESTS_ENGINE_MATCHERS_H_

#include <cstdlib>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>

#include "engine/support/reference_matcher.h"
#include "gtest/gtest.h"
#include "omniroute/engine.h"
#include "state.h"

namespace omniroute::test {

enum class MatcherKind {
  kIndexed,       // the production matcher
  kIndexedEager,  // indexes another skill or the tier after any walk
  kReference,     // the oracle
};

inline void PrintTo(MatcherKind kind, std::ostream* os) {
  *os << (kind == MatcherKind::kIndexed        ? "indexed"
          : kind == MatcherKind::kIndexedEager ? "indexed (eager)"
                                               : "reference");
}

inline std::unique_ptr<Engine> MakeEngineWith(MatcherKind kind, EngineOptions options = {}) {
  switch (kind) {
    case MatcherKind::kIndexed:
      return std::make_unique<Engine>(std::move(options));
    case MatcherKind::kIndexedEager:
      return std::make_unique<Engine>(std::move(options), internal::MakeIndexedMatcher(0));
    case MatcherKind::kReference:
      return std::make_unique<Engine>(std::move(options), testing::MakeReferenceMatcher());
  }
  return nullptr;
}

inline const auto kAllMatchers = ::testing::Values(
    MatcherKind::kIndexed, MatcherKind::kIndexedEager, MatcherKind::kReference);

inline std::string MatcherKindName(const ::testing::TestParamInfo<MatcherKind>& info) {
  switch (info.param) {
    case MatcherKind::kIndexed:
      return "Indexed";
    case MatcherKind::kIndexedEager:
      return "IndexedEager";
    case MatcherKind::kReference:
      return "Reference";
  }
  return "Unknown";
}

// With OMNIROUTE_PRINT_EXAMPLES=1 in the environment, prints the running test's event log
// (once, for the production matcher), as routing_examples_test does for docs/ROUTING.md.
inline void PrintExample(MatcherKind kind, const std::string& log) {
  if (kind != MatcherKind::kIndexed || std::getenv("OMNIROUTE_PRINT_EXAMPLES") == nullptr) return;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "=== " << info->test_suite_name() << "." << info->name() << log;
}

}  // namespace omniroute::test

#endif  // OMNIROUTE_TESTS_ENGINE_MATCHERS_H_
