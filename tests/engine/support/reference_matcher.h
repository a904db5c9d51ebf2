// The scan-everything reference matcher: the oracle the indexed matcher must agree with.
//
// It keeps no index and ignores every change notification. Each question is answered by
// looking at every engineer (or every waiting session) in the state and applying the
// eligibility rules of docs/ROUTING.md from first principles: it recomputes each engineer's
// load from the sessions it holds and reads configuration by name, instead of reusing
// `State::Eligible`, `State::MeetsRequirements` or `EngineerState::HasRoomFor`, so that a
// bug in those (or in the bookkeeping they read) shows up as a disagreement.
//
//   omniroute::Engine oracle(options, omniroute::testing::MakeReferenceMatcher());

#ifndef OMNIROUTE_TESTS_ENGINE_SUPPORT_REFERENCE_MATCHER_H_
#define OMNIROUTE_TESTS_ENGINE_SUPPORT_REFERENCE_MATCHER_H_

#include <memory>

#include "state.h"

namespace omniroute::testing {

std::unique_ptr<internal::Matcher> MakeReferenceMatcher();

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_ENGINE_SUPPORT_REFERENCE_MATCHER_H_
