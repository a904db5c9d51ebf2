// Commands: everything that can change the engine's state from outside.
//
// A `Command` is a plain value (a std::variant of the structs below). The engine applies one
// with `Engine::Apply(command, now, &events)`; an invalid command returns a Status naming
// the problem and changes nothing. Commands are what the journal records: replaying the same
// commands with the same timestamps gives the same state and the same events.

#ifndef OMNIROUTE_COMMAND_H_
#define OMNIROUTE_COMMAND_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "omniroute/channel.h"
#include "omniroute/engineer.h"
#include "omniroute/ids.h"
#include "omniroute/queue.h"
#include "omniroute/session.h"

namespace omniroute {

// Adds a channel or changes its costs. Changing the cost of a channel with sessions in
// progress is allowed; sessions already held keep the cost they were taken with.
struct UpsertChannel {
  ChannelSpec spec;
};

// Creates a queue or replaces its configuration. Waiting sessions are re-ordered and
// re-evaluated under the new configuration.
struct UpsertQueue {
  QueueConfig config;
};

// Removes a queue. Refused while any unfinished session (BOT, QUEUED, OFFERED, ASSIGNED,
// WRAP_UP) belongs to it, or another queue overflows into it. Engineers stop serving it.
struct RemoveQueue {
  QueueId queue;
};

// Creates an engineer (presence offline) or replaces the configuration of an existing one
// (presence, load and statistics are kept).
struct UpsertEngineer {
  EngineerConfig config;
};

// Removes an engineer. Refused while the engineer holds assigned or wrap-up sessions;
// pending offers are rescinded and their sessions go back to their queues.
struct RemoveEngineer {
  EngineerId engineer;
};

// Changes an engineer's presence. `reason` is required for kNotReady; `duration` is
// required for kWrapUp (available again when it ends). Going offline or not-ready rescinds
// pending offers; sessions already assigned stay.
struct SetPresence {
  EngineerId engineer;
  Presence presence = Presence::kAvailable;
  std::string reason;
  absl::Duration duration = absl::ZeroDuration();
};

// A new session. `id` may be left empty: the engine then assigns the next free number.
// Sessions on a `bot_first` channel, or with `start_in_bot`, wait in BOT until escalated.
struct CreateSession {
  SessionId id;
  ChannelId channel;
  QueueId queue;
  CustomerSnapshot customer;
  std::vector<Requirement> requirements;
  int priority = 0;  // 0..1000, higher first
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string intent;
  bool start_in_bot = false;
  // A booked appointment: both set or neither (InfinitePast), `window_end` after
  // `window_start`, `window_start` at most 400 days after now. With a start after now the
  // session is created SCHEDULED and enters the queue when the window opens; otherwise it
  // enters at once. Either way it enters with at least the queue's `appointment_priority`
  // and its wait counts from the window start. Never starts in BOT.
  absl::Time window_start = absl::InfinitePast();
  absl::Time window_end = absl::InfinitePast();
};

// The customer left (`abandoned` = true: counted as abandonment) or the gateway withdrew the
// session. Allowed in SCHEDULED, BOT, QUEUED and OFFERED.
struct CancelSession {
  SessionId session;
  bool abandoned = true;
  std::string reason;
};

// The robot hands the session to a human. The bot's intent and summary are kept on the
// session; `queue` (optional) routes it elsewhere than the queue it was created for, and
// `requirements` (optional) add to what it requires.
struct EscalateSession {
  SessionId session;
  std::string intent;
  std::string summary;
  QueueId queue;
  std::vector<Requirement> requirements;
  int priority_boost = 0;
};

struct AcceptOffer {
  SessionId session;
  EngineerId engineer;
};

struct RejectOffer {
  SessionId session;
  EngineerId engineer;
  std::string reason;
};

// Grab mode: the engineer wants the session. The winner is chosen when the window closes or
// every engineer offered has answered.
struct ClaimOffer {
  SessionId session;
  EngineerId engineer;
};

// The conversation is over; the session goes to wrap-up and keeps the engineer's capacity
// until `EndWrapUp` or the queue's wrap-up time.
struct CompleteSession {
  SessionId session;
  EngineerId engineer;
};

struct EndWrapUp {
  SessionId session;
  EngineerId engineer;
};

// Moves an assigned session on: to `queue` (its wait starts anew there), and/or to
// `engineer` (tried alone first for `engineer_timeout`, like a preferred engineer; then the
// VIP stage if the customer is VIP, then the whole queue). The engineer who held it is freed
// at once.
struct TransferSession {
  SessionId session;
  QueueId queue;
  EngineerId engineer;
  // How long the target engineer is waited for before anyone of the queue may take it.
  absl::Duration engineer_timeout = absl::Seconds(30);
  std::string reason;
};

// Changes an engineer's rank (tier and score), for instance after the nightly points run.
// NOT_FOUND for an unknown engineer; a rank equal to the current one changes nothing and
// produces no event. Otherwise produces ENGINEER_RANK_CHANGED and routing re-evaluates the
// engineer (a new tier may meet a waiting session's minimum tier or VIP stage).
struct SetEngineerRank {
  EngineerId engineer;
  Tier tier = Tier::kRookie;
  int64_t score = 0;
  std::string reason;
};

// Virtual hold: the customer asks to be called back instead of holding on. Allowed only in
// QUEUED (and not twice). The session keeps its place (priority, wait, stage); when its turn
// comes it is offered like any other, and the gateway places an outbound call to `number`
// (1..64 characters of digits, '+', '-', ' ', '(', ')').
struct RequestCallback {
  SessionId session;
  std::string number;
};

using Command =
    std::variant<UpsertChannel, UpsertQueue, RemoveQueue, UpsertEngineer, RemoveEngineer,
                 SetPresence, CreateSession, CancelSession, EscalateSession, AcceptOffer,
                 RejectOffer, ClaimOffer, CompleteSession, EndWrapUp, TransferSession,
                 SetEngineerRank, RequestCallback>;

// The command's name, for logs and errors ("CreateSession").
absl::string_view CommandName(const Command& command);

}  // namespace omniroute

#endif  // OMNIROUTE_COMMAND_H_
