// The engine benchmark's workload: a simulated contact centre on virtual time.
//
// A `Workload` describes one centre (100 queues, 50 skills, N engineers, all drawn from a
// fixed seed) and records, on demand, a long stream of steps against it: commands the
// channel gateways and agent desktops would send (arrivals, accepts, rejects, grab claims,
// completions, end of wrap-up, transfers, abandonment, breaks) and `Advance` calls that fire
// the engine's timers (offer expiry, relaxation, stage ends, wrap-up end, overflow, purge).
//
// The stream reacts to the engine's decisions (an engineer can only accept the offer it was
// given), so it is produced by a closed-loop driver that runs its own engine (the indexed
// one) and reads the events. Because the engine is deterministic, replaying the recorded
// steps on a fresh engine built the same way reproduces the same decisions; the benchmark
// times only that replay, so the driver's bookkeeping costs nothing in the measurement.
// Every step records whether its command was accepted and how many events it produced, so
// a replay (for instance on the reference matcher) that diverges is detected.
//
//   bench::Workload workload(bench::WorkloadConfig{.engineers = 10'000});
//   workload.EnsureSteps(workload.warmup_steps() + 1'000'000);
//   Engine engine;
//   workload.BuildCentre(engine);
//   bench::Replayer replayer(workload);
//   std::vector<Event> events;
//   for (size_t i = 0; i < workload.steps().size(); ++i) {
//     events.clear();
//     bool same = replayer.Replay(engine, i, &events);
//   }
//
// Not thread-safe.

#ifndef OMNIROUTE_BENCH_WORKLOAD_H_
#define OMNIROUTE_BENCH_WORKLOAD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"
#include "omniroute/ids.h"
#include "omniroute/queue.h"

namespace omniroute::bench {

struct WorkloadConfig {
  int engineers = 10'000;
  int queues = 100;
  int skills = 50;
  uint64_t seed = 20240611;
  // Virtual time run before the measured part, so that the centre is in steady state.
  absl::Duration warmup = absl::Minutes(20);
  // Target occupancy (budget held / budget of available engineers). After the warm-up it
  // swings around `occupancy_target` by `occupancy_swing` with this period, starting at the
  // mean and rising, so that both "engineers wait" and "sessions wait" periods occur.
  double occupancy_target = 0.86;
  double occupancy_swing = 0.06;
  absl::Duration swing_period = absl::Minutes(30);
};

// What one recorded step does.
enum class StepKind : uint8_t {
  kAdvance = 0,  // Engine::Advance(at)
  kCreate,       // CreateSession (details in the session table)
  kAccept,       // AcceptOffer(session, engineer)
  kReject,       // RejectOffer(session, engineer)
  kClaim,        // ClaimOffer(session, engineer) (grab mode)
  kComplete,     // CompleteSession(session, engineer)
  kEndWrapUp,    // EndWrapUp(session, engineer)
  kCancel,       // CancelSession(session, abandoned)
  kTransfer,     // TransferSession(session, queue)
  kNotReady,     // SetPresence(engineer, not-ready, "break")
  kAvailable,    // SetPresence(engineer, available)
};
inline constexpr int kStepKinds = 11;

// One recorded step: 32 bytes, so that millions fit easily.
struct Step {
  int64_t at_us = 0;      // virtual time, Unix microseconds
  uint64_t session = 0;   // session id (also the index into the session table)
  uint32_t engineer = 0;  // engineer index
  uint32_t events = 0;    // how many events the recording engine produced
  uint16_t queue = 0;     // transfer target queue
  StepKind kind = StepKind::kAdvance;
  bool ok = true;  // the recording engine accepted the command
};

// What a CreateSession carries, compactly. Indexed by session id.
struct SessionSpec {
  uint32_t customer = 0;
  uint32_t preferred = UINT32_MAX;      // engineer index, or none
  uint32_t last_engineer = UINT32_MAX;  // engineer index, or none
  uint16_t queue = 0;
  uint8_t channel = 0;  // index into kChannels
  uint8_t vip_level = 0;
  int16_t extra_skill = -1;  // skill index of an extra requirement, or none
  uint8_t extra_level = 0;
  bool risk_tag = false;  // customer tagged `risk:negative-social`
  int16_t priority = 0;
};

// Figures describing the recorded stream (not the replay).
struct WorkloadStats {
  int64_t steps = 0;
  int64_t advances = 0;
  int64_t refused = 0;  // commands the recording engine refused (should be ~0)
  int64_t events = 0;
  int64_t sessions = 0;
  int64_t assigned = 0;  // SessionAssigned events
  int64_t abandoned = 0;
  int64_t relaxed = 0;        // SessionRelaxed events
  int64_t stage_changes = 0;  // SessionStageChanged events
  int64_t overflowed = 0;
  int64_t expired = 0;  // OfferExpired events
  double virtual_seconds = 0;
  // Averages over the samples taken every 30 virtual seconds after warm-up.
  double mean_occupancy = 0;  // budget held / budget of available engineers
  double mean_waiting = 0;    // sessions QUEUED or OFFERED
  double min_occupancy = 0;
  double max_occupancy = 0;
  int64_t samples = 0;
};

class Generator;

class Workload {
 public:
  explicit Workload(const WorkloadConfig& config);
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  const WorkloadConfig& config() const { return config_; }
  absl::Time start() const;

  // Builds the centre into a fresh engine at `start()`: queues, engineers, all available.
  void BuildCentre(Engine& engine) const;

  // The i-th of a stream of sessions that wait (engineers not ready): random queue, channel,
  // customer (some VIP, some with a risk tag, a favourite or a last engineer) and, for one in
  // eight, a skill requirement, drawn from `r` (a 64-bit random number). For the snapshot
  // benchmarks and the recovery figures.
  CreateSession WaitingSession(uint64_t r) const;

  // Records steps until at least `count` exist (including the warm-up).
  void EnsureSteps(size_t count);
  const std::vector<Step>& steps() const { return steps_; }
  // The number of steps in the warm-up (recorded at construction).
  size_t warmup_steps() const { return warmup_steps_; }
  const SessionSpec& session(uint64_t id) const { return sessions_[id]; }
  WorkloadStats stats() const;

  // Names, interned once.
  const QueueId& queue_id(uint32_t q) const { return queue_ids_[q]; }
  const EngineerId& engineer_id(uint32_t e) const { return engineer_ids_[e]; }
  const SkillId& skill_id(uint32_t s) const { return skill_ids_[s]; }
  const ChannelId& channel_id(uint32_t c) const { return channel_ids_[c]; }
  const QueueConfig& queue_config(uint32_t q) const { return queue_configs_[q]; }
  const EngineerConfig& engineer_config(uint32_t e) const { return engineer_configs_[e]; }
  // Engineers serving queue `q`, by index.
  const std::vector<uint32_t>& members(uint32_t q) const { return members_[q]; }
  // Arrival weight of queue `q` (sums to 1).
  double queue_weight(uint32_t q) const { return queue_weights_[q]; }

 private:
  friend class Generator;

  void MakeCentre();

  WorkloadConfig config_;
  std::vector<QueueId> queue_ids_;
  std::vector<EngineerId> engineer_ids_;
  std::vector<SkillId> skill_ids_;
  std::vector<ChannelId> channel_ids_;
  std::vector<QueueConfig> queue_configs_;
  std::vector<EngineerConfig> engineer_configs_;
  std::vector<std::vector<uint32_t>> members_;
  std::vector<double> queue_weights_;

  std::vector<Step> steps_;
  std::vector<SessionSpec> sessions_;  // [0] unused: session ids start at 1
  size_t warmup_steps_ = 0;
  std::unique_ptr<Generator> generator_;
};

// Turns recorded steps into commands and applies them. Keeps one command of each kind and
// only rewrites its ids, so that building a command costs little (a few short-string copies).
class Replayer {
 public:
  explicit Replayer(const Workload& workload);

  // Applies step `i` to `engine`, appending its events. Returns false when the outcome
  // (accepted or not, number of events) differs from the recording.
  bool Replay(Engine& engine, size_t i, std::vector<Event>* events);

  // The command step `i` applies (nullptr for an Advance), without applying it. For
  // measuring the replay's own cost.
  const Command* Build(size_t i);

 private:
  const Workload& workload_;
  std::array<Command, kStepKinds> commands_;
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_WORKLOAD_H_
