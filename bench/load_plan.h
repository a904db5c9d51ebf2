// LoadPlan: what one load-generator run sets up and drives: the desktops (agent ids and the
// behaviour of each), the arrival streams the gateways create sessions on (queue, channel,
// requirements, priority, customers, handle time, share of the load), the open-loop rate,
// and, for a profile, the channels, queues and agents to set up.
//
//   absl::StatusOr<LoadPlan> plan = MakeLoadPlan(options);   // reads --profile if given
//
// Without --profile: one queue (--queue) on one channel (--channel), --agents desktops
// "<agent_prefix>0..N-1", one stream, the behaviour and handle time of the flags.
//
// With --profile=FILE, a scenario of the simulator (omniroute.sim.v1.Scenario in text
// format, proto/omniroute/sim/v1/scenario.proto): its channels, queues and engineer groups
// are set up (engineers "<group>-<i>", i = 1..count), each desktop follows its group's
// behaviour, and each session is drawn from the arrival streams in proportion to their rates
// (a stream with rate_periods counts with its mean rate over the cycle: the bench applies a
// steady load, not the day's curve), with the stream's requirements, priority, customer mix
// and handle time. The flags --accept_delay, --reject_probability, --handle_time and
// --wrap_up_time, when given, override the profile's values everywhere. What the bench does
// not simulate is ignored: patience (abandonment), the robot (bot_share), shifts, the
// scenario's duration, warm-up and replications (the bench has its own flags). Grab-mode
// queues are refused (the desktops do not claim). Unknown fields and values out of range are
// INVALID_ARGUMENT naming the field ("arrivals[1].handle_time: ...").
//
// Which loop: --rate given: open loop at that total rate. Else with a profile and no
// --inflight: open loop at the profile's total rate (the sum of its streams' rates). Else the
// closed loop (--gateways x --inflight CreateSession calls outstanding).
//
// Immutable once made; shared read-only by every thread of the run.

#ifndef OMNIROUTE_BENCH_LOAD_PLAN_H_
#define OMNIROUTE_BENCH_LOAD_PLAN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/arrival_schedule.h"
#include "bench/sim/random.h"
#include "bench/load_options.h"
#include "omniroute/sim/v1/scenario.pb.h"
#include "omniroute/v1/resources.pb.h"

namespace omniroute::bench {

// How the agents of one group answer.
struct Behaviour {
  std::string group;
  sim::Distribution accept_delay;
  double reject_probability = 0;
  // Time from CompleteSession to EndWrapUp. Unset: the desktop never ends wrap-up; the
  // queue's wrap-up duration runs out on the daemon.
  std::optional<sim::Distribution> wrap_up_time;
};

struct DesktopPlan {
  std::string agent_id;
  int behaviour = 0;  // index into LoadPlan::behaviours
};

struct StreamPlan {
  std::string name;
  std::string queue_id;
  std::string channel_id;
  // Sessions per second (the stream's share of the load).
  double rate_per_second = 0;
  sim::Distribution handle_time;
  std::vector<omniroute::v1::Requirement> requirements;
  int priority = 0;
  // Customer profiles drawn by weight; none: an anonymous customer per session. A customer
  // with an empty id gets a fresh id per session.
  std::vector<omniroute::v1::Customer> customers;
  WeightedPicker customer_mix;
};

struct LoadPlan {
  // The scenario's name, or "default".
  std::string name = "default";
  bool from_profile = false;
  // What the setup creates for a profile (for the default plan SetUpCentre(options) does).
  std::vector<omniroute::v1::Channel> channels;
  std::vector<omniroute::v1::Queue> queues;
  std::vector<omniroute::v1::Agent> agents;

  std::vector<Behaviour> behaviours;
  std::vector<DesktopPlan> desktops;
  std::vector<StreamPlan> streams;
  WeightedPicker stream_mix;
  // Sum of the streams' rates (0 for the default plan).
  double profile_rate_per_second = 0;
  // Open loop at this many sessions per second; 0: closed loop.
  double rate_per_second = 0;
  ArrivalSchedule::Kind arrivals = ArrivalSchedule::kPoisson;
  uint64_t seed = 1;
  // Most sessions open at once (--max_open, its default resolved; 0: no limit).
  int64_t max_open = 0;

  bool open_loop() const { return rate_per_second > 0; }
  // The stream a session of `queue_id` on `channel_id` came from, for its handle time: the
  // first stream with that queue and channel, else the first with that channel (a session
  // that overflowed), else the first stream.
  const StreamPlan& StreamFor(absl::string_view queue_id, absl::string_view channel_id) const;
  // Builds the lookup of StreamFor(); called once the streams are final.
  void Index();

 private:
  absl::flat_hash_map<std::string, int> by_queue_channel_;
  absl::flat_hash_map<std::string, int> by_channel_;
};

// One send of the open loop: when (offset from the start), on which stream, with which of the
// stream's customers (-1: anonymous).
struct Arrival {
  absl::Duration offset;
  int stream = 0;
  int customer = -1;
};

// The open loop's sends of a plan (open_loop()): the schedule at the plan's rate and seed,
// each send's stream drawn by the streams' rates and its customer by the mix weights, all
// from the one seeded generator, so the same plan gives the same sequence. Not thread-safe.
class ArrivalSource {
 public:
  // `plan` must outlive the source.
  explicit ArrivalSource(const LoadPlan& plan)
      : plan_(plan), schedule_(plan.rate_per_second, plan.arrivals, plan.seed) {}
  Arrival Next();

 private:
  const LoadPlan& plan_;
  ArrivalSchedule schedule_;
};

// The plan of a scenario and the options (rate, overrides); INVALID_ARGUMENT naming the
// field for anything out of range.
absl::StatusOr<LoadPlan> MakeProfilePlan(const LoadOptions& options,
                                         const omniroute::sim::v1::Scenario& scenario);

// The plan of the options alone (no --profile).
LoadPlan MakeDefaultPlan(const LoadOptions& options);

// MakeDefaultPlan, or reads --profile and MakeProfilePlan.
absl::StatusOr<LoadPlan> MakeLoadPlan(const LoadOptions& options);

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_LOAD_PLAN_H_
