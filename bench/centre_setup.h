// SetUpCentre: creates (or replaces) what a load-generator run needs on the daemon, through
// AdminService: the queue and the agents named by the options.
//
//   absl::Status s = SetUpCentre(options, *admin_stub);
//
// The queue: direct delivery, no requirements, offer timeout 60 s (the desktops answer at
// once; the timeout only matters for a stalled daemon), wrap-up `options.wrap_up`. Each agent
// serves that queue only, on `options.channel` only, holding `options.slots` sessions at once
// (cost 1 per session, budget `slots`). The agent upserts run concurrently (the callback API),
// so that a daemon syncing its journal on every batch sets up in a few batches.
//
// SetUpProfile does the same for a --profile plan: the scenario's channels, then its queues,
// then its engineers ("<group>-<i>"), each as the scenario writes it.

#ifndef OMNIROUTE_BENCH_CENTRE_SETUP_H_
#define OMNIROUTE_BENCH_CENTRE_SETUP_H_

#include "absl/status/status.h"
#include "bench/load_options.h"
#include "bench/load_plan.h"
#include "omniroute/v1/admin_service.grpc.pb.h"

namespace omniroute::bench {

// The first failure (naming the object), or OK.
[[nodiscard]] absl::Status SetUpCentre(const LoadOptions& options,
                                       omniroute::v1::AdminService::Stub& admin);
[[nodiscard]] absl::Status SetUpProfile(const LoadOptions& options, const LoadPlan& plan,
                                        omniroute::v1::AdminService::Stub& admin);

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_CENTRE_SETUP_H_
