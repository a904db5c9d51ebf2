// The exit codes of omniroutectl: the contract scripts rely on (docs/CLI.md, `--help`).
//
//   omniroutectl queues get repair >/dev/null; case $? in 0) ...;; 3) echo "no such queue";; esac
//
// A code names the kind of outcome, never the command: the same failure gives the same code
// whatever command met it.

#ifndef OMNIROUTE_CTL_EXIT_CODES_H_
#define OMNIROUTE_CTL_EXIT_CODES_H_

#include "grpcpp/support/status.h"

namespace omniroute::ctl {

// Success. For `apply --dry-run`: nothing would change.
inline constexpr int kExitOk = 0;
// The daemon refused the call (any gRPC error but those below: INVALID_ARGUMENT,
// FAILED_PRECONDITION, RESOURCE_EXHAUSTED...). The code name and the daemon's message, which
// names the offending field, are printed on stderr.
inline constexpr int kExitRefused = 1;
// Bad usage: an unknown command or flag, a missing or malformed argument, an unreadable or
// invalid apply file. Nothing was sent to the daemon.
inline constexpr int kExitUsage = 2;
// The queue, agent or session asked for does not exist (gRPC NOT_FOUND).
inline constexpr int kExitNotFound = 3;
// The daemon could not be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED),
// or it ended a stream (it is shutting down).
inline constexpr int kExitUnavailable = 4;
// `apply --dry-run`: changes are pending (applying the file would change the daemon).
inline constexpr int kExitChangesPending = 5;
// Interrupted (SIGINT or SIGTERM) during a one-shot command. Stopping `stats --watch` or
// `events tail` that way is their normal end and exits 0.
inline constexpr int kExitInterrupted = 130;

// The exit code for a failed call's status: kExitNotFound, kExitUnavailable or kExitRefused.
// `status` must not be OK.
int ExitCodeFor(const grpc::Status& status);

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_EXIT_CODES_H_
