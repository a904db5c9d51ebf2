// Events: everything the engine decided, with the reason it gave.
//
// Every command and timer produces events in a defined order; each carries an engine-wide
// sequence number and the time it happened. Routing events (offers, assignments) carry a
// `RoutingReason`: the strategy, the routing stage and relaxation step in force, the
// winner's ranking key and what made it win over the runner-up. `ToString()` renders an event
// as one stable line; two engines given the same inputs render the same lines.

#ifndef OMNIROUTE_EVENT_H_
#define OMNIROUTE_EVENT_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/time/time.h"
#include "omniroute/engineer.h"
#include "omniroute/ids.h"
#include "omniroute/session.h"

namespace omniroute {

enum class EventType {
  kChannelUpserted = 1,
  kQueueUpserted,
  kQueueRemoved,
  kEngineerUpserted,
  kEngineerRemoved,
  kPresenceChanged,
  kSessionCreated,     // state SCHEDULED, BOT or QUEUED; detail = the intent, then (after
                       // " | " when there is an intent) "rules: " and the customer rules that
                       // matched with what they do, "; "-separated; deadline = the window start
                       // of a SCHEDULED appointment
  kSessionEscalated,   // BOT -> QUEUED; detail = the bot's summary (the intent is on the session)
  kSessionStageChanged,  // a targeted stage (preferred, last, VIP) ran out
  kSessionRelaxed,     // a relaxation step came into force
  kSessionOverflowed,  // moved to the overflow queue, or out of the router
  kSessionTransferred,
  kOfferCreated,       // reservation for one engineer (or one of several in grab mode)
  kOfferAccepted,
  kOfferRejected,
  kOfferExpired,
  kOfferRescinded,     // withdrawn: grab lost, engineer went away, session cancelled
  kOfferClaimed,       // grab mode: an engineer claimed
  kSessionAssigned,
  kSessionWrapUp,
  kSessionCompleted,
  kSessionAbandoned,
  kSessionCancelled,
  kEngineerRankChanged,  // tier/score changed; tier, previous_tier, score = the new rank
  kSessionWindowOpened,  // SCHEDULED -> QUEUED: an appointment's window opened
  kCallbackRequested,    // a waiting session became a callback (it keeps its place)
};
absl::string_view EventTypeName(EventType type);

// What decided a routing choice.
enum class Decider {
  kNone = 0,
  kOnlyCandidate = 1,     // nobody else was eligible
  kPrimaryKey = 2,        // the strategy's main criterion (idle time, spare capacity, score...)
  kSecondaryKey = 3,      // the strategy's tie-break criterion
  kRegistrationOrder = 4, // everything else equal: the engineer registered first
  kDeclinedFallback = 5,  // only engineers who had declined this session were eligible
  kGrabRank = 6,          // grab mode: best tier, then score, then earliest claim
  kEffectivePriority = 7, // freed engineer: the session with the highest effective priority
  kLongestWait = 8,       // freed engineer: equal priority, the session that waited longest
  kSessionOrder = 9,      // freed engineer: equal priority and wait, the older session
};
absl::string_view DeciderName(Decider decider);

// A strategy's ranking of one engineer: smaller ranks first. `primary` and `secondary` are
// what the strategy compares (see ROUTING.md for each strategy's meaning).
struct RankKey {
  int64_t primary = 0;
  int64_t secondary = 0;
  uint32_t order = 0;  // registration order, the final tie-break

  friend bool operator==(const RankKey&, const RankKey&) = default;
  friend auto operator<=>(const RankKey&, const RankKey&) = default;
};

struct RoutingReason {
  std::string strategy;
  RoutingStage stage = RoutingStage::kQueue;
  int relaxation_step = 0;  // how many relaxation steps are in force
  Decider decided_by = Decider::kNone;
  RankKey winner;
  bool has_runner_up = false;
  RankKey runner_up;
  EngineerId runner_up_engineer;
  // For a freed engineer choosing among sessions: the chosen session's effective priority
  // in millipoints and its wait.
  int64_t effective_priority_milli = 0;
  absl::Duration waited = absl::ZeroDuration();
  SessionId runner_up_session;
  // Labels of the customer rules in force for the session, in rule order.
  std::vector<std::string> rules;

  friend bool operator==(const RoutingReason&, const RoutingReason&) = default;
};

struct Event {
  uint64_t seq = 0;
  absl::Time at;
  EventType type = EventType::kSessionCreated;
  SessionId session;
  QueueId queue;
  QueueId to_queue;  // overflow / transfer target
  EngineerId engineer;
  ChannelId channel;
  SessionState state = SessionState::kQueued;  // the session's state after the event
  Presence presence = Presence::kOffline;      // presence events
  std::string detail;  // free text: not-ready reason, reject reason, bot summary...
  bool has_reason = false;
  RoutingReason reason;  // routing events
  // Offer expiry, grab window end, wrap-up end, or a SCHEDULED appointment's window start.
  absl::Time deadline = absl::InfinitePast();
  // kEngineerRankChanged: the new tier, the previous tier and the new score.
  Tier tier = Tier::kRookie;
  Tier previous_tier = Tier::kRookie;
  int64_t score = 0;

  // One line, stable across runs and builds: the reference for differential tests.
  std::string ToString() const;

  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace omniroute

#endif  // OMNIROUTE_EVENT_H_
