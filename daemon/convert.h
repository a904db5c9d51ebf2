// The daemon's edge: engine values <-> omniroute.v1 messages.
//
// Everything a gRPC handler needs to turn a request into an engine `Command` and an engine
// answer (info structs, events, statuses) into a response lives here, so that the handlers
// themselves stay thin and the conversions are tested on their own.
//
// proto -> engine: validates only what the proto can express and the engine cannot (an
// `*_UNSPECIFIED` enum where one is required, an enum number out of range, a negative or
// malformed Duration, a session id string that is not a positive decimal uint64), fills in
// the documented defaults of unset optional fields and Durations, and leaves every other
// check (name rules, ranges, lengths, existence) to the engine. Errors are INVALID_ARGUMENT
// with a message starting with the proto field path ("queue.relaxation_steps[1].action: ...").
//
// engine -> proto: infinite engine times become unset Timestamps; a `SessionInfo` in BOT or
// SCHEDULED has no wait start; non-session events carry no session state, non-presence events
// no presence, non-rank events no tier, previous tier or score.
//
// Daemon-only request fields (CreateSessionRequest.request_id and .customer_handle,
// TransferSessionRequest.from_agent_id, the offer answers' offer_id, Session.request_id) are
// not part of the engine command; the daemon handles them around the command (see
// ParseOfferId).

#ifndef OMNIROUTE_DAEMON_CONVERT_H_
#define OMNIROUTE_DAEMON_CONVERT_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"
#include "omniroute/channel.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"
#include "omniroute/engineer.h"
#include "omniroute/event.h"
#include "omniroute/ids.h"
#include "omniroute/queue.h"
#include "omniroute/session.h"
#include "omniroute/v1/admin_service.pb.h"
#include "omniroute/v1/agent_service.pb.h"
#include "omniroute/v1/resources.pb.h"
#include "omniroute/v1/session_service.pb.h"

namespace omniroute::daemon {

// ---------------------------------------------------------------------------------------------
// Status

// The one place an engine absl::Status becomes a grpc::Status: same code, same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The engine names fields with its own words ("queue.relaxation[1].skill", "engineer.tier",
// "session"); the API promises the proto's field paths ("queue.relaxation_steps[1].skill_id",
// "agent.tier", "session_id"). When `status`'s message starts with a field path ("a.b[2].c: "
// or "a, b: "), this rewrites it: the first segment through `top` (engine name -> request
// field, e.g. {"queue", "target_queue_id"}; a first segment not in `top` is kept), every later
// segment through the fixed table of engine -> proto names. In the rest of the message the
// engine's word "engineer(s)" becomes the API's "agent(s)".
struct FieldRename {
  absl::string_view engine;
  absl::string_view api;
};
absl::Status ToApiFieldPath(const absl::Status& status,
                            std::initializer_list<FieldRename> top);

// ---------------------------------------------------------------------------------------------
// Scalars

// A session id of the API ("17"): the decimal form of a positive uint64, digits only, no sign,
// no leading zero. INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<SessionId> ParseSessionId(absl::string_view field, absl::string_view text);
// The decimal form used by the API.
std::string SessionIdToString(SessionId id);  // empty for the empty id

// An offer id (the decimal sequence of its EVENT_TYPE_OFFER_CREATED event). Empty text means
// "not given" and yields 0; otherwise parsed like a session id.
absl::StatusOr<uint64_t> ParseOfferId(absl::string_view field, absl::string_view text);

// A proto Duration, checked (well formed, not negative) and truncated to microseconds.
absl::StatusOr<absl::Duration> DurationFromProto(absl::string_view field,
                                                 const google::protobuf::Duration& d);
// `d` must be finite.
google::protobuf::Duration DurationToProto(absl::Duration d);
// `t` must be finite.
google::protobuf::Timestamp TimeToProto(absl::Time t);
absl::Time TimeFromProto(const google::protobuf::Timestamp& t);

// ---------------------------------------------------------------------------------------------
// proto -> engine. `field` is the path of the message in the request ("queue", "agent",
// "channel", or e.g. "queues[2]" in a DaemonConfig); error messages start with it.

absl::StatusOr<ChannelSpec> ChannelFromProto(const v1::Channel& channel,
                                             absl::string_view field = "channel");
absl::StatusOr<QueueConfig> QueueFromProto(const v1::Queue& queue,
                                           absl::string_view field = "queue");
absl::StatusOr<EngineerConfig> AgentFromProto(const v1::Agent& agent,
                                              absl::string_view field = "agent");

// Request -> command. CreateSession's command leaves `id` empty (the engine chooses); its
// `request_id` is checked to be present (the daemon keys idempotency on it).
absl::StatusOr<CreateSession> CreateSessionFromProto(const v1::CreateSessionRequest& request);
absl::StatusOr<CancelSession> CancelSessionFromProto(const v1::CancelSessionRequest& request);
absl::StatusOr<EscalateSession> EscalateSessionFromProto(
    const v1::EscalateSessionRequest& request);
absl::StatusOr<TransferSession> TransferSessionFromProto(
    const v1::TransferSessionRequest& request);
absl::StatusOr<CompleteSession> CompleteSessionFromProto(
    const v1::CompleteSessionRequest& request);
absl::StatusOr<SetPresence> SetPresenceFromProto(const v1::SetPresenceRequest& request);
absl::StatusOr<AcceptOffer> AcceptOfferFromProto(const v1::AcceptOfferRequest& request);
absl::StatusOr<RejectOffer> RejectOfferFromProto(const v1::RejectOfferRequest& request);
absl::StatusOr<ClaimOffer> ClaimOfferFromProto(const v1::ClaimOfferRequest& request);
absl::StatusOr<EndWrapUp> EndWrapUpFromProto(const v1::EndWrapUpRequest& request);
// Checks `session_id` and that `callback_number` is given; its characters and length are the
// engine's to check (its errors name "number": rename it to "callback_number").
absl::StatusOr<RequestCallback> RequestCallbackFromProto(
    const v1::RequestCallbackRequest& request);

// ---------------------------------------------------------------------------------------------
// engine -> proto. Every Duration is set (a zero span is a set 0s, not "unset"), optional
// scalars are set to the value in force, so the result converts back to an equal config.

v1::AgentTier TierToProto(Tier tier);
v1::Presence PresenceToProto(Presence presence);
v1::SessionState SessionStateToProto(SessionState state);
v1::RoutingStage RoutingStageToProto(RoutingStage stage);
v1::EventType EventTypeToProto(EventType type);
v1::Decider DeciderToProto(Decider decider);

v1::Channel ChannelToProto(const ChannelSpec& spec);
v1::Queue QueueToProto(const QueueConfig& config);
v1::Queue QueueToProto(const QueueInfo& info);  // config + agent_ids
v1::Agent AgentToProto(const EngineerConfig& config);
v1::Agent AgentToProto(const EngineerInfo& info);  // config + status
v1::AgentStatus AgentStatusToProto(const EngineerInfo& info);
v1::Session SessionToProto(const SessionInfo& info);  // request_id left empty
v1::RoutingReason RoutingReasonToProto(const RoutingReason& reason);
v1::Event EventToProto(const Event& event);

// An offer of a callback session (`session.callback_number` set, see RequestCallback) is an
// outbound call: sets `outbound_callback` and `callback_number` from the offer's `session`;
// leaves them unset otherwise. The Router calls it on every offer it builds with its session.
void MarkCallbackOffer(v1::Offer* offer);

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_CONVERT_H_
