// A seeded generator of realistic command sequences, for differential and invariant tests.
//
// A sequence sets up a few queues (all four strategies, ageing, relaxation, overflow,
// targeted stages, grab mode and channel limits now and then) and 3 to 12 engineers, then
// streams the commands a contact centre sees: presence changes, new sessions, answers to the
// offers actually pending, completions, transfers, escalations, cancellations, occasional
// reconfiguration, a few deliberately invalid commands, and time that advances (sometimes
// straight to the next timer, or one microsecond either side of it).
//
// Choosing plausible commands needs the engine's state, so the generator looks at a live
// engine that has had every previous step applied; the steps it returns are recorded and can
// be replayed (and shrunk) on any other engine without the generator.
//
//   CommandGenerator gen(seed);
//   Engine engine(gen.engine_options());
//   std::vector<Step> steps;
//   while (std::optional<Step> step = gen.Next(engine)) {
//     std::vector<Event> events;
//     (void)engine.Apply(step->command, step->at, &events);
//     steps.push_back(*std::move(step));
//   }
//
// The same seed gives the same sequence on every run and every platform (the generator uses
// its own integer arithmetic on std::mt19937_64, not the library's distributions).

#ifndef OMNIROUTE_TESTS_ENGINE_SUPPORT_COMMAND_GEN_H_
#define OMNIROUTE_TESTS_ENGINE_SUPPORT_COMMAND_GEN_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"

namespace omniroute::testing {

// One command and the time it is applied at.
struct Step {
  absl::Time at;
  Command command;
};

struct GeneratorOptions {
  // Commands after the setup (queues, engineers, first presences).
  int min_stream = 20;
  int max_stream = 55;
};

// The time every generated sequence starts at.
absl::Time GeneratorEpoch();

class CommandGenerator {
 public:
  explicit CommandGenerator(uint64_t seed, GeneratorOptions options = {});

  // The options the engines replaying this sequence must be created with.
  const EngineOptions& engine_options() const { return engine_options_; }

  // The next step, chosen by looking at `engine` (which has had every step returned so far
  // applied); nullopt when the sequence is over.
  std::optional<Step> Next(const Engine& engine);

 private:
  uint64_t Raw() { return rng_(); }
  // Uniform in [lo, hi].
  int64_t Uniform(int64_t lo, int64_t hi);
  bool Chance(int percent) { return Uniform(0, 99) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Uniform(0, static_cast<int64_t>(items.size()) - 1))];
  }
  absl::Duration PickDuration(const std::vector<int>& seconds);

  std::string QueueName(int i) const { return "q" + std::to_string(i); }
  std::string EngineerName(int i) const { return "e" + std::to_string(i); }
  QueueId AnyQueueName();        // of the pool, existing or not
  EngineerId AnyEngineerName();  // of the pool, existing or not

  std::vector<Requirement> RandomRequirements(int max_count, int max_level);
  QueueConfig RandomQueue(int index);
  void MutateQueue(QueueConfig& q, const Engine& engine);
  EngineerConfig RandomEngineer(int index);
  void MutateEngineer(EngineerConfig& e);
  std::vector<ChannelCapacity> RandomChannels();
  std::vector<QueueId> RandomQueues();
  QueueId RandomOverflowTarget(const QueueId& self);

  absl::Time NextTime(const Engine& engine);
  Command StreamCommand(const Engine& engine);
  Command InvalidCommand(const Engine& engine, const std::vector<SessionInfo>& sessions);

  std::mt19937_64 rng_;
  EngineOptions engine_options_;
  int num_queues_ = 0;
  int num_engineers_ = 0;  // names e0..e(n-1) handed out so far
  std::vector<ChannelId> channels_;
  std::deque<Command> setup_;
  int stream_left_ = 0;
  absl::Time now_;
};

// One readable line for a command, for printing minimal failing sequences.
std::string DescribeCommand(const Command& command);
// "+12.5s CreateSession{...}" (time relative to GeneratorEpoch()).
std::string DescribeStep(const Step& step);

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_ENGINE_SUPPORT_COMMAND_GEN_H_
