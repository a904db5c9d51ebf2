// Stable names of the engine's enums, used in events, logs and the API.

#include <variant>

#include "omniroute/command.h"
#include "omniroute/engineer.h"
#include "omniroute/event.h"
#include "omniroute/session.h"

namespace omniroute {

absl::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kRookie: return "rookie";
    case Tier::kCore: return "core";
    case Tier::kElite: return "elite";
    case Tier::kExpert: return "expert";
    case Tier::kMaster: return "master";
  }
  return "unknown";
}

absl::string_view PresenceName(Presence presence) {
  switch (presence) {
    case Presence::kOffline: return "offline";
    case Presence::kAvailable: return "available";
    case Presence::kNotReady: return "not_ready";
    case Presence::kWrapUp: return "wrap_up";
  }
  return "unknown";
}

absl::string_view SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kBot: return "BOT";
    case SessionState::kQueued: return "QUEUED";
    case SessionState::kOffered: return "OFFERED";
    case SessionState::kAssigned: return "ASSIGNED";
    case SessionState::kWrapUp: return "WRAP_UP";
    case SessionState::kCompleted: return "COMPLETED";
    case SessionState::kAbandoned: return "ABANDONED";
    case SessionState::kCancelled: return "CANCELLED";
    case SessionState::kTransferred: return "TRANSFERRED";
    case SessionState::kOverflowed: return "OVERFLOWED";
    case SessionState::kScheduled: return "SCHEDULED";
  }
  return "UNKNOWN";
}

bool IsTerminal(SessionState state) {
  return state == SessionState::kCompleted || state == SessionState::kAbandoned ||
         state == SessionState::kCancelled || state == SessionState::kOverflowed;
}

absl::string_view RoutingStageName(RoutingStage stage) {
  switch (stage) {
    case RoutingStage::kPreferred: return "preferred";
    case RoutingStage::kLastEngineer: return "last_engineer";
    case RoutingStage::kVipTier: return "vip_tier";
    case RoutingStage::kQueue: return "queue";
  }
  return "unknown";
}

absl::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kChannelUpserted: return "CHANNEL_UPSERTED";
    case EventType::kQueueUpserted: return "QUEUE_UPSERTED";
    case EventType::kQueueRemoved: return "QUEUE_REMOVED";
    case EventType::kEngineerUpserted: return "ENGINEER_UPSERTED";
    case EventType::kEngineerRemoved: return "ENGINEER_REMOVED";
    case EventType::kPresenceChanged: return "PRESENCE_CHANGED";
    case EventType::kSessionCreated: return "SESSION_CREATED";
    case EventType::kSessionEscalated: return "SESSION_ESCALATED";
    case EventType::kSessionStageChanged: return "SESSION_STAGE_CHANGED";
    case EventType::kSessionRelaxed: return "SESSION_RELAXED";
    case EventType::kSessionOverflowed: return "SESSION_OVERFLOWED";
    case EventType::kSessionTransferred: return "SESSION_TRANSFERRED";
    case EventType::kOfferCreated: return "OFFER_CREATED";
    case EventType::kOfferAccepted: return "OFFER_ACCEPTED";
    case EventType::kOfferRejected: return "OFFER_REJECTED";
    case EventType::kOfferExpired: return "OFFER_EXPIRED";
    case EventType::kOfferRescinded: return "OFFER_RESCINDED";
    case EventType::kOfferClaimed: return "OFFER_CLAIMED";
    case EventType::kSessionAssigned: return "SESSION_ASSIGNED";
    case EventType::kSessionWrapUp: return "SESSION_WRAP_UP";
    case EventType::kSessionCompleted: return "SESSION_COMPLETED";
    case EventType::kSessionAbandoned: return "SESSION_ABANDONED";
    case EventType::kSessionCancelled: return "SESSION_CANCELLED";
    case EventType::kEngineerRankChanged: return "ENGINEER_RANK_CHANGED";
    case EventType::kSessionWindowOpened: return "SESSION_WINDOW_OPENED";
    case EventType::kCallbackRequested: return "CALLBACK_REQUESTED";
  }
  return "UNKNOWN";
}

absl::string_view DeciderName(Decider decider) {
  switch (decider) {
    case Decider::kNone: return "none";
    case Decider::kOnlyCandidate: return "only_candidate";
    case Decider::kPrimaryKey: return "primary_key";
    case Decider::kSecondaryKey: return "secondary_key";
    case Decider::kRegistrationOrder: return "registration_order";
    case Decider::kDeclinedFallback: return "declined_fallback";
    case Decider::kGrabRank: return "grab_rank";
    case Decider::kEffectivePriority: return "effective_priority";
    case Decider::kLongestWait: return "longest_wait";
    case Decider::kSessionOrder: return "session_order";
  }
  return "unknown";
}

absl::string_view CommandName(const Command& command) {
  static constexpr absl::string_view kNames[] = {
      "UpsertChannel",  "UpsertQueue", "RemoveQueue",   "UpsertEngineer", "RemoveEngineer",
      "SetPresence",    "CreateSession", "CancelSession", "EscalateSession", "AcceptOffer",
      "RejectOffer",    "ClaimOffer",  "CompleteSession", "EndWrapUp",    "TransferSession",
      "SetEngineerRank", "RequestCallback"};
  static_assert(std::variant_size_v<Command> == std::size(kNames));
  return kNames[command.index()];
}

}  // namespace omniroute
