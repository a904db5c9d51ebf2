// The exit codes of omniroutectl: see exit_codes.h.

#include "ctl/exit_codes.h"

namespace omniroute::ctl {

int ExitCodeFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    default:
      return kExitRefused;
  }
}

}  // namespace omniroute::ctl
