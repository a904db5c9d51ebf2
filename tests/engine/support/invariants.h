// Invariants of a routing engine's state, checked through the public read API only.
//
// After every `Apply` or `Advance` these must hold:
//  - capacity: no engineer holds more than its budget or a channel's maximum, and the load
//    it reports is the load recomputed from the sessions that name it (direct offers,
//    assignments, wrap-ups);
//  - single ownership: every session an engineer lists names that engineer (or, in grab
//    mode, lists it among those offered) and is OFFERED, ASSIGNED or in WRAP_UP; every
//    session held or directly offered is listed by exactly its engineer;
//  - QUEUED sessions have no engineer and no offer; queue counters match the sessions;
//  - no timer is overdue;
//  - relaxation of waiting sessions is up to date with the time they have waited;
//  - every waiting session has a reason to wait: no engineer is eligible for it (minimum
//    tiers included);
//  - a waiting session has its queue's customer rules applied as configured, and an
//    appointment at least the queue's appointment priority; no engineer below an offered
//    session's minimum tier holds an offer of it; a SCHEDULED session's window is to come.
//
//   absl::Status s = omniroute::testing::CheckInvariants(engine);
//   EXPECT_TRUE(s.ok()) << s;

#ifndef OMNIROUTE_TESTS_ENGINE_SUPPORT_INVARIANTS_H_
#define OMNIROUTE_TESTS_ENGINE_SUPPORT_INVARIANTS_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "omniroute/engine.h"

namespace omniroute::testing {

// What the public API cannot tell, supplied by a caller who watched the commands.
struct InvariantOptions {
  // The engineer named by the latest successful TransferSession of each session (empty if
  // the transfer named none). In the PREFERRED stage such a session is for that engineer
  // only, not for the customer's preferred engineers; SessionInfo does not say which.
  absl::flat_hash_map<uint64_t, EngineerId> transfer_targets;
  // When each engineer was last registered (created, or created again after a removal).
  // Preferred and last engineers are resolved when a session enters its queue, so one
  // registered at or after that time is not a target; engineers not listed are taken to
  // have existed all along.
  absl::flat_hash_map<EngineerId, absl::Time> registered_at;
  // Engineers reconfigured (UpsertEngineer) while holding sessions: a smaller budget or
  // channel maximum may legitimately leave them over capacity until the sessions end.
  absl::flat_hash_set<EngineerId> capacity_unchecked;
};

absl::Status CheckInvariants(const Engine& engine);
absl::Status CheckInvariants(const Engine& engine, const InvariantOptions& options);

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_ENGINE_SUPPORT_INVARIANTS_H_
