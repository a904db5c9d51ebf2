// The simulator's driver: one real omniroute::Engine on virtual time.
//
// `Simulate` plays a centre (`SimModel`: channels, queues, engineers with their behaviour and
// shifts) against a stream of arrivals (`ArrivalSource`) through ONE Engine, with no copy of
// any routing logic: the engine decides every offer and assignment exactly as in the daemon,
// and the driver only does what gateways, customers, the robot and agent desktops do:
//
//   - creates each arriving session (CreateSession) at its arrival time;
//   - answers each offer after the engineer's accept delay: AcceptOffer, or RejectOffer with
//     the engineer's reject probability (grab mode: ClaimOffer, or RejectOffer);
//   - completes each assigned session after its handle time (CompleteSession), ends wrap-up
//     after the engineer's wrap-up time when one is set (EndWrapUp);
//   - abandons a session when its customer's patience runs out while it is still QUEUED or
//     OFFERED (CancelSession, abandoned);
//   - lets the robot resolve (CancelSession, not abandoned) or escalate (EscalateSession)
//     sessions that started in BOT, after their bot time;
//   - puts engineers AVAILABLE at their shift start and OFFLINE at its end (an engineer holding
//     sessions goes NOT_READY "end-of-shift" first, and OFFLINE once the last one is done).
//
// The loop always takes the earliest of: the engine's next timer (Engine::NextDeadline), the
// driver's next action, the next arrival; at equal times engine timers first, then driver
// actions in the order they were scheduled, then arrivals. A command the engine refuses is the
// normal race of a real centre (the offer expired or was rescinded a moment before the answer,
// the channel limit was reached) and is counted, not an error. Arrivals stop at measure_end;
// then the run drains until every session created before measure_end has been answered or has
// ended, so that no measured session is censored.
//
// Randomness stays on the model side: handle time, patience and bot outcome come with each
// arrival (drawn by the ArrivalSource, or read from a journal), the engineers' behaviour is
// drawn from `SimOptions::behaviour_seed`. The engine sees neither a clock nor a random number.
// Same model, same arrivals, same seed: the same events, byte for byte.
//
//   SimModel model = ...;                      // or CompileScenario(...)->model()
//   MyArrivals arrivals(...);                  // an ArrivalSource
//   absl::StatusOr<SimRun> run = Simulate(model, arrivals, {.behaviour_seed = 7});
//   double p_wait = run->metrics.overall.p_wait;
//
// Thread safety: Simulate uses only its arguments; distinct runs may go on distinct threads.

#ifndef OMNIROUTE_BENCH_SIM_SIMULATOR_H_
#define OMNIROUTE_BENCH_SIM_SIMULATOR_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/sim/metrics.h"
#include "bench/sim/random.h"
#include "omniroute/channel.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"
#include "omniroute/engineer.h"
#include "omniroute/event.h"
#include "omniroute/queue.h"

namespace omniroute::sim {

// How an engineer answers offers and ends wrap-up.
struct Behaviour {
  // From the offer reaching the engineer to the answer. Beyond the queue's offer timeout the
  // offer expires first, as in the daemon.
  Distribution accept_delay;
  // 0..1 (1 excluded): the answer is RejectOffer instead of AcceptOffer (grab mode: not
  // claiming, answered with RejectOffer).
  double reject_probability = 0;
  // From completion to EndWrapUp; unset: the queue's wrap-up time runs out.
  std::optional<Distribution> wrap_up_time;
};

struct SimEngineer {
  EngineerConfig config;
  std::string group;  // names the occupancy figure it counts in
  Behaviour behaviour;
  // Unset start: available from SimModel::start. Unset end: on duty until the run ends.
  // absl::InfiniteFuture() start: never by itself; its presence comes from the schedule only
  // (a journal replay's recorded SetPresence commands).
  std::optional<absl::Time> shift_start;
  std::optional<absl::Time> shift_end;
  // The engineer is created by a scheduled UpsertEngineer (a journal replay: someone added
  // during the day), not at the start; this entry gives its group and behaviour only.
  bool created_by_schedule = false;
};

// A command applied as is at `at` (after everything else due at the same instant was done).
// A refusal is an error of the model.
struct ScheduledCommand {
  absl::Time at;
  Command command;
  // A refusal is counted (SimStats::refused_commands), not an error: a journal replay's
  // recorded commands, which a different configuration may make impossible (removing an
  // engineer who still holds a session in the what-if).
  bool may_be_refused = false;
};

// The centre, as engine values. Build it by hand, or from a scenario (CompileScenario).
struct SimModel {
  EngineOptions engine_options;
  std::vector<ChannelSpec> channels;   // applied as UpsertChannel (on top of the defaults)
  std::vector<QueueConfig> queues;     // applied as UpsertQueue, in order
  std::vector<SimEngineer> engineers;  // applied as UpsertEngineer, in order
  std::vector<ScheduledCommand> schedule;
  absl::Time start = absl::FromUnixSeconds(1'700'000'000);  // the engine's clock at setup
  absl::Time measure_start = start;                         // start + warm-up
  absl::Time measure_end = start;                           // measure_start + duration
};

// One arriving session with everything the customer and the engineer will do with it.
struct SimArrival {
  absl::Time at;
  // The session. `id` may be empty (the engine numbers it). With `bot_time` set the driver
  // sets `start_in_bot`; a session on a bot-first channel starts in BOT anyway.
  CreateSession create;
  // How long the engineer holds it once assigned, to CompleteSession.
  absl::Duration handle_time = absl::ZeroDuration();
  // How long the customer waits in the queue (from entering it) before abandoning; unset:
  // forever.
  std::optional<absl::Duration> patience;
  // Robot: how long the session stays in BOT (unset on a bot-first channel: escalated at
  // once), and whether the robot then resolves it (cancelled, not abandoned) instead of
  // escalating it to `create.queue`.
  std::optional<absl::Duration> bot_time;
  bool bot_resolves = false;
};

// Arrivals in non-decreasing time. The scenario's Poisson streams are one implementation; a
// recorded journal is another.
class ArrivalSource {
 public:
  virtual ~ArrivalSource() = default;
  // The next arrival, or nullopt when there are no more. The driver stops asking once an
  // arrival at or after measure_end was returned (and does not create that one).
  virtual std::optional<SimArrival> Next() = 0;
};

// A fixed list of arrivals (sorted by time), for tests and small tools.
class VectorArrivals : public ArrivalSource {
 public:
  explicit VectorArrivals(std::vector<SimArrival> arrivals);
  std::optional<SimArrival> Next() override;

 private:
  std::vector<SimArrival> arrivals_;
  size_t next_ = 0;
};

struct SimOptions {
  // Seeds the engineers' behaviour draws (accept delay, reject, wrap-up time).
  uint64_t behaviour_seed = 0;
  // After measure_end, stop draining when still unresolved this much later (sessions nobody
  // can serve and that never give up); they count as unresolved.
  absl::Duration max_drain = absl::Hours(24 * 7);
  // Sees every batch of events, in order (e.g. to record them).
  std::function<void(const std::vector<Event>&)> on_events = nullptr;
  // Sees every command the engine accepted, with the engine's time after it: exactly what
  // omnirouted journals (omniroute-sim --record_journal writes them as a daemon's journal).
  std::function<void(absl::Time, const Command&)> on_command = nullptr;
};

// What the driver did, beside the figures.
struct SimStats {
  int64_t arrivals = 0;          // CreateSession commands sent
  int64_t blocked = 0;           // ... refused (channel limit full): the customer got no session
  int64_t refused_commands = 0;  // other commands refused: the normal races
  int64_t commands = 0;          // commands applied or refused
  int64_t events = 0;
  absl::Time end;  // the virtual time the run stopped at
};

struct SimRun {
  ReplicationMetrics metrics;
  SimStats stats;
};

// Runs the model against the arrivals. Errors: the model does not apply to the engine (a
// queue, engineer or scheduled command refused), naming the object; an arrival out of order.
absl::StatusOr<SimRun> Simulate(const SimModel& model, ArrivalSource& arrivals,
                                const SimOptions& options = {});

}  // namespace omniroute::sim

#endif  // OMNIROUTE_BENCH_SIM_SIMULATOR_H_
