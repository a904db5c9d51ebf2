// Randomized differential test: the indexed matcher against the scan-everything reference.
//
// For each seed, a generated command sequence (tests/engine/support/command_gen.h) runs
// through `Engine(options)` and `Engine(options, MakeReferenceMatcher())` in lockstep. Both
// must return the same Status for every command, emit the same events (compared through
// `Event::ToString`) and hold the same state (`StateDigest`) after it; the indexed engine
// must satisfy every invariant after every command, and both must end in the same
// `DumpState()`. A failing sequence is shrunk by delta debugging and printed one command per
// line, with the first events that differ.
//
// Environment:
//   OMNIROUTE_DIFF_SEQUENCES      how many seeds run (default 10000)
//   OMNIROUTE_DIFF_FIRST_SEED     the first seed (default 1); to reproduce seed 4711 alone:
//                                 OMNIROUTE_DIFF_FIRST_SEED=4711 OMNIROUTE_DIFF_SEQUENCES=1
//   OMNIROUTE_DIFF_VERBOSE=1      also print both engines' DumpState() after the step whose
//                                 events differ
//   OMNIROUTE_DIFF_DIGEST_EVERY   compare state digests every N steps (default 1; 8 under
//                                 ASan, where digests are slow)
//   OMNIROUTE_DIFF_STATUS_CODES_ONLY=1  compare status codes, not messages

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "engine/support/command_gen.h"
#include "engine/support/invariants.h"
#include "engine/support/reference_matcher.h"
#include "gtest/gtest.h"
#include "omniroute/command.h"
#include "state.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"

namespace omniroute::testing {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoll(value, nullptr, 10);
}

uint64_t FirstSeed() { return static_cast<uint64_t>(EnvInt("OMNIROUTE_DIFF_FIRST_SEED", 1)); }
int64_t SequenceCount() { return EnvInt("OMNIROUTE_DIFF_SEQUENCES", 10000); }

// How two statuses are compared: in full, unless OMNIROUTE_DIFF_STATUS_CODES_ONLY is set (to
// look past a known message difference while it is being fixed).
std::string StatusKey(const absl::Status& status) {
  static const bool codes_only = EnvInt("OMNIROUTE_DIFF_STATUS_CODES_ONLY", 0) != 0;
  return codes_only ? absl::StatusCodeToString(status.code()) : status.ToString();
}

// How often (in steps) the state digests are compared: every step, except under the
// sanitizers where a digest is slow; OMNIROUTE_DIFF_DIGEST_EVERY overrides.
size_t DigestEvery() {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int64_t kDefault = 8;
#else
  constexpr int64_t kDefault = 1;
#endif
  static const size_t every =
      static_cast<size_t>(std::max<int64_t>(1, EnvInt("OMNIROUTE_DIFF_DIGEST_EVERY", kDefault)));
  return every;
}

// What went wrong at which step.
struct Failure {
  std::string kind;  // "status", "events", "state", "invariant", "dump"
  size_t step = 0;
  std::string detail;
};

// Watches the commands to tell CheckInvariants what the public API cannot: transfer targets,
// when engineers were registered, and engineers whose capacity was reconfigured under
// sessions they hold.
class InvariantTracker {
 public:
  void Before(const Engine& engine, const Command& command) {
    creating_ = false;
    if (const auto* u = std::get_if<UpsertEngineer>(&command)) {
      creating_ = !engine.GetEngineer(u->config.id).has_value();
    }
    MarkReconfiguredHolders(engine, command);
  }
  void After(const Engine& engine, const Command& command, const absl::Status& status) {
    // Timers fire inside Apply before the command, and may hand out sessions taken at the
    // old costs: look at the holdings on both sides of the command.
    MarkReconfiguredHolders(engine, command);
    if (!status.ok()) return;
    if (const auto* u = std::get_if<UpsertEngineer>(&command); u != nullptr && creating_) {
      options_.registered_at[u->config.id] = engine.now();
    }
    if (const auto* t = std::get_if<TransferSession>(&command)) {
      options_.transfer_targets[t->session.value()] = t->engineer;
    }
  }
  const InvariantOptions& options() const { return options_; }

 private:
  // Engineers whose costs or limits the command may change while they hold sessions.
  void MarkReconfiguredHolders(const Engine& engine, const Command& command) {
    std::vector<EngineerId> affected;
    if (const auto* u = std::get_if<UpsertEngineer>(&command)) {
      affected.push_back(u->config.id);
    } else if (std::holds_alternative<UpsertChannel>(command)) {
      affected = engine.ListEngineers();
    }
    for (const EngineerId& id : affected) {
      std::optional<EngineerInfo> info = engine.GetEngineer(id);
      if (info && !info->sessions.empty()) options_.capacity_unchecked.insert(id);
    }
  }

  InvariantOptions options_;
  bool creating_ = false;  // the command being applied creates an engineer
};

std::string RenderEvents(const std::vector<Event>& events, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < events.size(); ++i) {
    absl::StrAppend(&out, "      [", i, "] ", events[i].ToString(), "\n");
  }
  return out;
}

// The first event that differs, with the events before it for context.
std::string EventDiff(const std::vector<Event>& fast, const std::vector<Event>& oracle) {
  size_t i = 0;
  while (i < fast.size() && i < oracle.size() && fast[i].ToString() == oracle[i].ToString()) ++i;
  const size_t context = i >= 4 ? i - 4 : 0;
  return absl::StrCat("  events agreeing before the divergence:\n", RenderEvents(fast, context, i),
                      "  indexed engine from event ", i, ":\n", RenderEvents(fast, i, i + 4),
                      i >= fast.size() ? "      (no more events)\n" : "",
                      "  reference engine from event ", i, ":\n", RenderEvents(oracle, i, i + 4),
                      i >= oracle.size() ? "      (no more events)\n" : "");
}

std::string DumpDiff(const std::string& fast, const std::string& oracle) {
  std::vector<std::string> a = absl::StrSplit(fast, '\n');
  std::vector<std::string> b = absl::StrSplit(oracle, '\n');
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return absl::StrCat("  first differing DumpState line ", i,
                      ":\n    indexed:   ", i < a.size() ? a[i] : "(end)",
                      "\n    reference: ", i < b.size() ? b[i] : "(end)", "\n");
}

// How far the indexed matcher walks before it indexes another skill of a queue. The
// generated centres are small, so every other seed indexes at once (0) to exercise those
// secondary indexes; the others use the production setting.
int g_walk_before_indexing = internal::kDefaultWalkBeforeIndexing;

// Runs one sequence through both engines in lockstep. With `generator`, the steps come from
// it (looking at the indexed engine) and are appended to `recorded`; otherwise from `replay`.
std::optional<Failure> RunLockstep(const EngineOptions& options, const std::vector<Step>* replay,
                                   CommandGenerator* generator, std::vector<Step>* recorded,
                                   std::map<std::string, int64_t>* stats = nullptr) {
  Engine fast(options, internal::MakeIndexedMatcher(g_walk_before_indexing));
  Engine oracle(options, MakeReferenceMatcher());
  InvariantTracker tracker;
  size_t i = 0;
  for (;; ++i) {
    Step step;
    if (generator != nullptr) {
      std::optional<Step> next = generator->Next(fast);
      if (!next) break;
      recorded->push_back(*next);
      step = *std::move(next);
    } else {
      if (i >= replay->size()) break;
      step = (*replay)[i];
    }
    tracker.Before(fast, step.command);
    std::vector<Event> fast_events;
    std::vector<Event> oracle_events;
    const absl::Status fast_status = fast.Apply(step.command, step.at, &fast_events);
    const absl::Status oracle_status = oracle.Apply(step.command, step.at, &oracle_events);
    tracker.After(fast, step.command, fast_status);
    if (stats != nullptr) {
      ++(*stats)[fast_status.ok() ? "commands accepted" : "commands refused"];
      for (const Event& e : fast_events) {
        ++(*stats)[absl::StrCat("event ", std::string(EventTypeName(e.type)))];
        if (e.has_reason) {
          ++(*stats)[absl::StrCat("decided by ", std::string(DeciderName(e.reason.decided_by)))];
        }
      }
    }
    if (StatusKey(fast_status) != StatusKey(oracle_status)) {
      return Failure{"status", i,
                     absl::StrCat("  indexed:   ", fast_status.ToString(),
                                  "\n  reference: ", oracle_status.ToString(), "\n",
                                  EventDiff(fast_events, oracle_events))};
    }
    bool same = fast_events.size() == oracle_events.size();
    for (size_t k = 0; same && k < fast_events.size(); ++k) {
      same = fast_events[k].ToString() == oracle_events[k].ToString();
    }
    if (!same) {
      std::string detail = EventDiff(fast_events, oracle_events);
      if (EnvInt("OMNIROUTE_DIFF_VERBOSE", 0) != 0) {
        absl::StrAppend(&detail, "  indexed engine state after the step:\n", fast.DumpState(),
                        "\n  reference engine state after the step:\n", oracle.DumpState(), "\n");
      }
      return Failure{"events", i, std::move(detail)};
    }
    // The whole state, not just what the events show, agrees after every step; the dump
    // says where once the digests differ.
    if (i % DigestEvery() == 0 && fast.StateDigest() != oracle.StateDigest()) {
      return Failure{
          "state", i,
          absl::StrCat(DumpDiff(fast.DumpState(), oracle.DumpState()), "  events of the step:\n",
                       RenderEvents(fast_events, 0, fast_events.size()))};
    }
    if (absl::Status s = CheckInvariants(fast, tracker.options()); !s.ok()) {
      return Failure{"invariant", i,
                     absl::StrCat("  ", s.ToString(), "\n  events of the step:\n",
                                  RenderEvents(fast_events, 0, fast_events.size()))};
    }
  }
  const std::string fast_dump = fast.DumpState();
  const std::string oracle_dump = oracle.DumpState();
  if (fast_dump != oracle_dump) {
    return Failure{"dump", i == 0 ? 0 : i - 1, DumpDiff(fast_dump, oracle_dump)};
  }
  return std::nullopt;
}

// Delta debugging: removes chunks of steps, then single steps, while the same kind of
// failure persists.
std::vector<Step> Shrink(const EngineOptions& options, std::vector<Step> steps,
                         const Failure& failure) {
  int budget = 4000;
  auto fails = [&](const std::vector<Step>& candidate) {
    --budget;
    std::optional<Failure> f = RunLockstep(options, &candidate, nullptr, nullptr);
    return f.has_value() && f->kind == failure.kind;
  };
  // Nothing after the failing step matters (except for a final-state difference).
  if (failure.kind != "dump" && failure.step + 1 < steps.size()) steps.resize(failure.step + 1);
  size_t chunk = std::max<size_t>(1, steps.size() / 2);
  while (budget > 0) {
    bool removed = false;
    for (size_t start = 0; start < steps.size() && budget > 0;) {
      std::vector<Step> candidate;
      candidate.reserve(steps.size());
      for (size_t k = 0; k < steps.size(); ++k) {
        if (k < start || k >= start + chunk) candidate.push_back(steps[k]);
      }
      if (!candidate.empty() && fails(candidate)) {
        steps = std::move(candidate);
        removed = true;
      } else {
        start += chunk;
      }
    }
    if (!removed) {
      if (chunk == 1) break;
      chunk /= 2;
    }
  }
  return steps;
}

std::string RenderSequence(const std::vector<Step>& steps) {
  std::string out;
  for (size_t i = 0; i < steps.size(); ++i) {
    absl::StrAppend(&out, "  #", i, " ", DescribeStep(steps[i]), "\n");
  }
  return out;
}

std::string RenderOptions(const EngineOptions& options) {
  return absl::StrCat("EngineOptions{missed_offers_limit=", options.missed_offers_limit,
                      " session_retention=", absl::FormatDuration(options.session_retention),
                      " channels=defaults}");
}

TEST(DifferentialTest, IndexedMatcherAgreesWithReference) {
  const uint64_t first = FirstSeed();
  const int64_t count = SequenceCount();
  std::map<std::string, int64_t> stats;
  int64_t steps_run = 0;
  int failures = 0;
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(count); ++seed) {
    g_walk_before_indexing = seed % 2 == 1 ? 0 : internal::kDefaultWalkBeforeIndexing;
    CommandGenerator generator(seed);
    std::vector<Step> recorded;
    std::optional<Failure> failure =
        RunLockstep(generator.engine_options(), nullptr, &generator, &recorded, &stats);
    steps_run += static_cast<int64_t>(recorded.size());
    if (!failure) continue;
    std::vector<Step> minimal = Shrink(generator.engine_options(), recorded, *failure);
    std::optional<Failure> again =
        RunLockstep(generator.engine_options(), &minimal, nullptr, nullptr);
    const Failure& shown = again ? *again : *failure;
    ADD_FAILURE() << "seed " << seed << " (walk_before_indexing " << g_walk_before_indexing
                  << "): " << shown.kind << " failure at step #" << shown.step
                  << (again ? " of the minimal sequence ("
                            : " of the original sequence; NOT reproduced by replaying the "
                              "minimal sequence (nondeterminism?) (")
                  << minimal.size() << " of " << recorded.size() << " steps)\n"
                  << RenderOptions(generator.engine_options()) << "\n"
                  << RenderSequence(minimal) << shown.detail;
    if (++failures >= 3) break;  // shrinking is slow; a few cases are enough to debug
  }
  std::cout << "differential: " << count << " sequences from seed " << first << ", " << steps_run
            << " steps\n";
  for (const auto& [name, n] : stats) std::cout << "  " << name << ": " << n << "\n";
}

// A refused command changes nothing: with the timers fired first by Advance at the same
// time, the state dump is unchanged and no event is emitted. And firing the timers with
// Advance first gives the same events as letting Apply fire them.
TEST(DifferentialTest, RefusedCommandChangesNothing) {
  const uint64_t first = FirstSeed();
  const int64_t count = std::min<int64_t>(SequenceCount(), 2000);
  int64_t refused = 0;
  int failures = 0;
  for (uint64_t seed = first; seed < first + static_cast<uint64_t>(count) && failures < 3; ++seed) {
    CommandGenerator generator(seed);
    Engine engine(generator.engine_options());
    Engine plain(generator.engine_options());
    std::vector<Step> recorded;
    while (std::optional<Step> step = generator.Next(engine)) {
      recorded.push_back(*step);
      std::vector<Event> events;
      engine.Advance(step->at, &events);
      const std::string before = engine.DumpState();
      const uint64_t digest = engine.StateDigest();
      const size_t fired = events.size();
      const absl::Status status = engine.Apply(step->command, step->at, &events);
      std::vector<Event> plain_events;
      const absl::Status plain_status = plain.Apply(step->command, step->at, &plain_events);
      std::string problem;
      if (StatusKey(status) != StatusKey(plain_status)) {
        problem = absl::StrCat("status after Advance ", status.ToString(), " vs without ",
                               plain_status.ToString());
      } else if (events.size() != plain_events.size() ||
                 !std::equal(
                     events.begin(), events.end(), plain_events.begin(),
                     [](const Event& a, const Event& b) { return a.ToString() == b.ToString(); })) {
        problem = absl::StrCat("Advance then Apply differs from Apply alone\n",
                               EventDiff(events, plain_events));
      } else if (!status.ok()) {
        ++refused;
        if (events.size() != fired) {
          problem = absl::StrCat("refused command (", status.ToString(), ") emitted events:\n",
                                 RenderEvents(events, fired, events.size()));
        } else if (engine.DumpState() != before) {
          problem = absl::StrCat("refused command (", status.ToString(), ") changed the state\n",
                                 DumpDiff(engine.DumpState(), before));
        } else if (engine.StateDigest() != digest) {
          problem = absl::StrCat("refused command (", status.ToString(),
                                 ") changed the digest but not the dump");
        }
      }
      if (!problem.empty()) {
        ADD_FAILURE() << "seed " << seed << ", step #" << recorded.size() - 1 << ": " << problem
                      << "\n"
                      << RenderSequence(recorded);
        ++failures;
        break;
      }
    }
  }
  EXPECT_GT(refused, 0) << "the generator should produce some invalid commands";
  std::cout << "refused commands checked: " << refused << "\n";
}

// A matcher that answers like the reference except for one deliberate mistake, to show that
// the differential comparison and the invariants would notice a wrong matcher.
class BrokenMatcher : public internal::Matcher {
 public:
  enum class Mistake {
    kSwapBest,        // offers to the second-best engineer
    kForgetSessions,  // a freed engineer never finds waiting sessions
  };
  explicit BrokenMatcher(Mistake mistake) : mistake_(mistake), inner_(MakeReferenceMatcher()) {}

  void Attach(internal::State* state) override { inner_->Attach(state); }
  void EngineerChanged(uint32_t engineer) override { inner_->EngineerChanged(engineer); }
  void QueueChanged(uint32_t queue) override { inner_->QueueChanged(queue); }
  void SessionWaiting(internal::Session& session) override { inner_->SessionWaiting(session); }
  void SessionLeaving(internal::Session& session) override { inner_->SessionLeaving(session); }
  internal::EngineerChoice FindEngineers(const internal::Session& session, int limit) override {
    internal::EngineerChoice choice = inner_->FindEngineers(session, limit + 1);
    if (mistake_ == Mistake::kSwapBest && choice.engineers.size() > 1) {
      std::swap(choice.engineers[0], choice.engineers[1]);
    }
    if (static_cast<int>(choice.engineers.size()) > limit) choice.engineers.resize(limit);
    return choice;
  }
  internal::SessionChoice FindSession(uint32_t engineer) override {
    if (mistake_ == Mistake::kForgetSessions) return {};
    return inner_->FindSession(engineer);
  }

 private:
  Mistake mistake_;
  std::unique_ptr<internal::Matcher> inner_;
};

// Runs `seeds` generated sequences through a correct and a broken engine; counts the
// sequences where the events differ and those where the broken engine breaks an invariant.
std::pair<int, int> CountDetections(BrokenMatcher::Mistake mistake, int seeds) {
  int diverged = 0;
  int violated = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    CommandGenerator generator(static_cast<uint64_t>(seed));
    Engine good(generator.engine_options());
    Engine broken(generator.engine_options(), std::make_unique<BrokenMatcher>(mistake));
    InvariantTracker tracker;
    bool differs = false;
    bool invalid = false;
    while (std::optional<Step> step = generator.Next(good)) {
      tracker.Before(broken, step->command);
      std::vector<Event> a;
      std::vector<Event> b;
      (void)good.Apply(step->command, step->at, &a);
      const absl::Status status = broken.Apply(step->command, step->at, &b);
      tracker.After(broken, step->command, status);
      differs = differs || a.size() != b.size() ||
                !std::equal(a.begin(), a.end(), b.begin(), [](const Event& x, const Event& y) {
                  return x.ToString() == y.ToString();
                });
      invalid = invalid || !CheckInvariants(broken, tracker.options()).ok();
      if (differs && invalid) break;
    }
    diverged += differs;
    violated += invalid;
  }
  return {diverged, violated};
}

// The harness is not vacuous: a wrong matcher is caught, by the event comparison and, when
// it leaves work undone, by the invariants.
TEST(DifferentialTest, DetectsBrokenMatchers) {
  const auto [swap_diverged, swap_violated] =
      CountDetections(BrokenMatcher::Mistake::kSwapBest, 200);
  EXPECT_GT(swap_diverged, 20) << "offering to the second-best engineer went unnoticed";
  const auto [forget_diverged, forget_violated] =
      CountDetections(BrokenMatcher::Mistake::kForgetSessions, 200);
  EXPECT_GT(forget_diverged, 20) << "a freed engineer ignoring waiting sessions went unnoticed";
  EXPECT_GT(forget_violated, 20) << "sessions waiting while an engineer is free broke no invariant";
  std::cout << "broken matchers caught: swap-best " << swap_diverged << "/200 by events, "
            << swap_violated << "/200 by invariants; forget-sessions " << forget_diverged
            << "/200 by events, " << forget_violated << "/200 by invariants\n";
}

// The generator is deterministic: the same seed gives the same steps.
TEST(DifferentialTest, GeneratorIsDeterministic) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<std::string> runs[2];
    for (std::vector<std::string>& lines : runs) {
      CommandGenerator generator(seed);
      Engine engine(generator.engine_options());
      while (std::optional<Step> step = generator.Next(engine)) {
        lines.push_back(DescribeStep(*step));
        std::vector<Event> events;
        (void)engine.Apply(step->command, step->at, &events);
      }
    }
    ASSERT_EQ(runs[0], runs[1]) << "seed " << seed;
    EXPECT_GE(runs[0].size(), 20u);
  }
}

}  // namespace
}  // namespace omniroute::testing
