// Creating a session on the engine thread, as SessionService.CreateSession and
// DeviceService.ReportDeviceAlert both do it.

#ifndef OMNIROUTE_DAEMON_SESSION_CREATE_H_
#define OMNIROUTE_DAEMON_SESSION_CREATE_H_

#include <cstdint>
#include <string>

#include "daemon/router.h"
#include "grpcpp/grpcpp.h"
#include "omniroute/command.h"
#include "omniroute/v1/resources.pb.h"

namespace omniroute::daemon {

// Engine thread. A retry of `request_id` (non-empty) is answered with the session it created
// first (`*duplicate` true), or ALREADY_EXISTS when the id was used for a different request
// (`fingerprint`); otherwise the waiting-session limit (RESOURCE_EXHAUSTED), then `command`
// applied and journaled with its key. `*session` is the session as it is now.
grpc::Status CreateSessionOnEngine(Router& router, const std::string& request_id,
                                   uint64_t fingerprint, const CreateSession& command,
                                   v1::Session* session, bool* duplicate);

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_SESSION_CREATE_H_
