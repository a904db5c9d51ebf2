#include "daemon/session_create.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/convert.h"
#include "daemon/log.h"

namespace omniroute::daemon {

grpc::Status CreateSessionOnEngine(Router& router, const std::string& request_id,
                                   uint64_t fingerprint, const CreateSession& command,
                                   v1::Session* session, bool* duplicate) {
  *duplicate = false;
  if (!request_id.empty()) {
    if (const RememberedRequest* seen = router.FindRequest(request_id)) {
      if (seen->fingerprint != fingerprint) {
        return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                            absl::StrCat("request_id: \"", request_id,
                                         "\" was used for a different request (session ",
                                         seen->session.value(), ")"));
      }
      if (std::optional<v1::Session> s = router.SessionProto(seen->session)) {
        *session = *std::move(s);
      } else {  // finished and past the session retention: what is still known
        session->set_id(SessionIdToString(seen->session));
        session->set_request_id(request_id);
        session->set_channel_id(command.channel.value());
        session->set_queue_id(command.queue.value());
      }
      *duplicate = true;
      return grpc::Status::OK;
    }
  }
  const int64_t waiting = router.stats().waiting_sessions();
  if (waiting >= router.settings().max_waiting_sessions) {
    LogWarning("session refused: limits.max_waiting_sessions reached",
               {{"waiting", waiting}, {"queue", command.queue.value()}});
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("limits.max_waiting_sessions: ", waiting,
                                     " sessions are waiting, the daemon's limit"));
  }
  const RequestKey key{request_id, fingerprint};
  const size_t first = router.batch_events().size();
  absl::Status s =
      ToApiFieldPath(router.Apply(command, request_id.empty() ? nullptr : &key),
                     {{"queue", "queue_id"},
                      {"channel", "channel_id"},
                      {"window_start", "appointment.start_time"},
                      {"window_end", "appointment.end_time"}});
  if (!s.ok()) return ToGrpcStatus(s);
  SessionId created;
  const std::vector<Event>& events = router.batch_events();
  for (size_t i = first; i < events.size(); ++i) {
    if (events[i].type == EventType::kSessionCreated) {
      created = events[i].session;
      break;
    }
  }
  *session = *router.SessionProto(created);
  if (LogEnabled(v1::LOG_LEVEL_DEBUG)) {  // the fields' strings are built before Log looks
    LogDebug("session created", {{"session", created.value()},
                                 {"queue", command.queue.value()},
                                 {"channel", command.channel.value()},
                                 {"customer", command.customer.id.value()}});
  }
  return grpc::Status::OK;
}

}  // namespace omniroute::daemon
