// The routing engine: a deterministic state machine.
//
// The engine holds queues, engineers and sessions, and decides which engineer gets which
// session. It does no I/O, starts no thread and reads no clock: the caller hands in the time
// with every call. The same commands with the same times give the same events, byte for byte,
// which is what makes the journal, the simulator and the differential tests possible.
//
//   omniroute::Engine engine;
//   std::vector<omniroute::Event> events;
//   absl::Time now = absl::FromUnixSeconds(1'700'000'000);
//   absl::Status s = engine.Apply(omniroute::UpsertQueue{queue_config}, now, &events);
//   ...
//   if (auto next = engine.NextDeadline()) {
//     // sleep until *next, then:
//     engine.Advance(*next, &events);
//   }
//
// Thread safety: an Engine is not thread-safe; one thread drives it (the daemon's engine
// thread). Const methods may run concurrently with each other but not with Apply/Advance.

#ifndef OMNIROUTE_ENGINE_H_
#define OMNIROUTE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "omniroute/channel.h"
#include "omniroute/command.h"
#include "omniroute/engineer.h"
#include "omniroute/event.h"
#include "omniroute/ids.h"
#include "omniroute/queue.h"
#include "omniroute/session.h"

namespace omniroute {

namespace internal {
class Matcher;
class State;
}  // namespace internal

struct EngineOptions {
  std::vector<ChannelSpec> channels = DefaultChannels();
  // An engineer who lets this many direct offers expire in a row goes not-ready with reason
  // `missed-offers`. Zero disables the rule.
  int missed_offers_limit = 3;
  // How long a finished session stays readable with GetSession.
  absl::Duration session_retention = absl::Minutes(10);
};

struct QueueInfo {
  QueueConfig config;
  int waiting = 0;  // QUEUED
  int offered = 0;  // OFFERED
  std::vector<std::pair<ChannelId, int>> waiting_by_channel;  // sorted by channel
  std::optional<absl::Time> oldest_waiting_since;
  std::vector<EngineerId> engineers;  // who serves it, in registration order
};

struct EngineerInfo {
  EngineerConfig config;
  Presence presence = Presence::kOffline;
  std::string reason;
  absl::Time presence_since;
  absl::Time idle_since;
  int used_budget = 0;  // taken by assigned, wrap-up and reserved (offered) sessions
  std::vector<std::pair<ChannelId, int>> load_by_channel;  // sorted by channel
  // The channels it handles and has room for one more session of now (below the channel's
  // maximum, budget left for its cost), whatever its presence: what routing checks. Sorted.
  std::vector<ChannelId> channels_with_room;
  std::vector<SessionId> sessions;  // held or offered, ascending
  int missed_offers_in_row = 0;
  uint32_t registration_order = 0;
};

struct SessionInfo {
  SessionId id;
  ChannelId channel;
  QueueId queue;
  CustomerSnapshot customer;
  std::vector<Requirement> requirements;          // as configured (queue + session + rules)
  std::vector<Requirement> requirements_in_force; // after relaxation
  int priority = 0;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string intent;
  std::string bot_summary;
  SessionState state = SessionState::kQueued;
  RoutingStage stage = RoutingStage::kQueue;
  int relaxation_step = 0;
  absl::Time created_at;
  absl::Time waiting_since;     // first entered a queue (kept across overflow)
  absl::Time queue_entered_at;  // entered the current queue
  EngineerId engineer;          // assigned / wrap-up / direct offer
  std::vector<EngineerId> offered_to;  // grab mode: everyone who sees it
  std::vector<EngineerId> declined_by;
  std::optional<absl::Time> deadline;  // offer expiry or grab window end or wrap-up end
  // The highest minimum tier of the customer rules that matched (none: any tier).
  std::optional<Tier> min_tier;
  // Labels of the customer rules that matched, in rule order.
  std::vector<std::string> rules_applied;
  // A booked appointment's window (InfinitePast: not an appointment).
  absl::Time window_start = absl::InfinitePast();
  absl::Time window_end = absl::InfinitePast();
  // When the session was last assigned, if it has been.
  std::optional<absl::Time> assigned_at;
  // The number to call back (empty: not a callback).
  std::string callback_number;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  // Routes with `matcher` instead of the indexed matcher. For the differential tests.
  Engine(EngineOptions options, std::unique_ptr<internal::Matcher> matcher);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Fires the timers due at or before `now` (their events are appended first, even when the
  // command is then refused), then applies `command`. A refused command changes nothing and
  // returns InvalidArgument, NotFound, AlreadyExists, FailedPrecondition or
  // ResourceExhausted naming the field or object at fault. `now` earlier than the engine's
  // time is taken as the engine's time (time never runs backwards inside the engine).
  [[nodiscard]] absl::Status Apply(const Command& command, absl::Time now,
                                   std::vector<Event>* events);

  // Fires the timers due at or before `now`, in deadline order, appending their events.
  void Advance(absl::Time now, std::vector<Event>* events);

  // Fires the timers due at or before `now` as Advance does, in deadline order, but all at
  // `now`: for resuming after the engine was stopped for a while (a daemon restarting after
  // a crash). An offer whose deadline passed expires now and its session is offered again
  // with a deadline from now, instead of being offered and expiring again and again in the
  // past (which would count missed offers against engineers who never saw them); waiting
  // times keep counting from when the sessions arrived. Unlike Advance, its effect is not
  // reproduced by replaying the commands that follow it: journal it, or take a snapshot
  // after it.
  void CatchUp(absl::Time now, std::vector<Event>* events);

  // When the next timer is due, if any.
  std::optional<absl::Time> NextDeadline() const;

  // The latest time handed in.
  absl::Time now() const;

  // The options in force (those the engine was built with, or a loaded snapshot's).
  const EngineOptions& options() const;

  std::optional<QueueInfo> GetQueue(const QueueId& id) const;
  std::vector<QueueId> ListQueues() const;  // sorted
  std::optional<EngineerInfo> GetEngineer(const EngineerId& id) const;
  std::vector<EngineerId> ListEngineers() const;  // sorted
  std::optional<SessionInfo> GetSession(SessionId id) const;
  // Sessions not yet finished (or finished within the retention), ascending.
  std::vector<SessionId> ListSessions() const;
  std::vector<ChannelSpec> ListChannels() const;  // sorted by id

  // A canonical text dump of the whole routing state, and a 64-bit digest of it. Equal
  // digests mean equal state; used by tests and by crash recovery checks.
  std::string DumpState() const;
  uint64_t StateDigest() const;

  // Snapshots, for crash recovery (newest snapshot + replay of the journal after it).
  //
  // The complete routing state as bytes: channels, skills, queues, engineers, sessions with
  // their timers, counters, round-robin positions, offer and claim state, the clock, the
  // sequence numbers and the engine's options. Versioned ("ORSNAP", format 2; snapshots of
  // format 1, from the release before, still load) and checksummed. Loading them gives an
  // engine whose DumpState()/StateDigest() equal this one's and which behaves the same from
  // then on (same events for the same commands).
  // Takes no lock, starts no thread and logs nothing: it may run in a fork()ed child.
  std::string SaveSnapshot() const;

  // Replaces this engine's whole state, options included (`EngineOptions` are part of the
  // snapshot; the options this engine was built with are dropped), with a snapshot's. The
  // engine keeps its matcher, which forgets what it knew and is told the loaded state.
  // Returns DATA_LOSS for a truncated or corrupted snapshot (checksum mismatch) and
  // INVALID_ARGUMENT for bytes that are not a snapshot of this version or whose contents are
  // inconsistent (trailing bytes, out-of-range indices, unknown strategy name, counters that
  // disagree with the sessions...), naming what is wrong. On error the engine is unchanged.
  // Never crashes or reads out of bounds, whatever the bytes.
  absl::Status LoadSnapshot(absl::string_view bytes);

 private:
  std::unique_ptr<internal::State> state_;
};

}  // namespace omniroute

#endif  // OMNIROUTE_ENGINE_H_
