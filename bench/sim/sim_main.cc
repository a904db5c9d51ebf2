// omniroute-sim: runs a scenario on the real routing engine in virtual time and reports
// waiting, service level, abandonment and occupancy with 95 % confidence intervals.
//
//   omniroute-sim bench/sim/examples/erlang_c.textproto
//   omniroute-sim bench/sim/examples/mixed_skills.textproto --json --replications=20 --threads=2
//   omniroute-sim --replay=/var/lib/omniroute --whatif=more_engineers.textproto
//
// Two modes: a scenario (flags override the file), or --replay of a daemon's data directory
// through a what-if configuration (bench/sim/replay.h). Exit codes: 0 done, 1 the scenario,
// what-if or recording does not load or validate (the message names the field or file), 2
// bad command line (with the usage).

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/sim/replay.h"
#include "bench/sim/report.h"
#include "bench/sim/run.h"
#include "bench/sim/scenario.h"

namespace {

using omniroute::sim::RunOptions;

constexpr char kUsage[] = R"(Usage: omniroute-sim <scenario.textproto> [flags]

Runs the scenario (an omniroute.sim.v1.Scenario in protobuf text format, see
docs/SIMULATION.md) on the real omniroute routing engine in virtual time, and prints per queue
and overall: offered, answered, abandoned, p_wait, asa_seconds, service_level, abandon_rate,
max_wait_seconds, and occupancy per engineer group, each as the mean over the replications
with the half-width of its 95 % confidence interval.

   or: omniroute-sim --replay=<data_dir> [--whatif=<file.textproto>] [flags]

Replay: reads the journal an omnirouted wrote in <data_dir> (without changing anything; the
daemon may keep running), replays it exactly ("recorded") and through the recorded
configuration changed by the what-if file ("what-if": a Scenario holding only channels,
queues, engineer_groups, missed_offers_limit, replications and seed; queues replace the
recorded ones of the same id, engineer groups are added), and prints both side by side.
Without --whatif the what-if run shows how closely the model reproduces the recording.

Flags (--flag=value or --flag value; they override the scenario file):
  --json              Print JSON instead of the table.
  --replications=N    Independent replications, 1..10000.
  --seed=S            Seed of the random streams (unsigned 64-bit).
  --threads=N         Replications run on N threads (default: the number of cores); the
                      figures do not depend on it.
  --duration=D        Measured duration, e.g. 8h, 90m.
  --warmup=D          Simulated before the measurement, e.g. 30m; 0s for none. With
                      --replay: the measurement starts D after the recording does.
  --record_journal=DIR
                      Also write replication 0's commands as omnirouted's journal into the
                      new directory DIR (a synthetic day for --replay).
  --replay=DATA_DIR   Replay mode (see above); no scenario file.
  --whatif=FILE       With --replay: the configuration changes to try.
  --help, -h          Print this help.

Exit status: 0 done; 1 the scenario does not load or is invalid (the message names the
field); 2 bad command line.

Example:
  omniroute-sim bench/sim/examples/erlang_a.textproto --replications=20 --threads=2
)";

struct CommandLine {
  std::string scenario_path;
  std::string record_journal;
  std::string replay;
  std::string what_if;
  bool json = false;
  bool help = false;
  RunOptions run;
};

absl::StatusOr<absl::Duration> ParseSpan(absl::string_view flag, const std::string& value) {
  absl::Duration d;
  if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": \"", value, "\" is not a duration such as 90m or 8h"));
  }
  return d;
}

absl::StatusOr<CommandLine> Parse(int argc, char** argv) {
  CommandLine out;
  const unsigned cores = std::thread::hardware_concurrency();
  out.run.threads = cores == 0 ? 1 : static_cast<int>(cores);
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      if (!out.scenario_path.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument \"", arg, "\": one scenario file only"));
      }
      out.scenario_path = std::string(arg);
      continue;
    }
    absl::string_view name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != absl::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    if (name == "json") {
      if (value.has_value()) return absl::InvalidArgumentError("--json takes no value");
      out.json = true;
      continue;
    }
    if (name != "replications" && name != "seed" && name != "threads" && name != "duration" &&
        name != "warmup" && name != "record_journal" && name != "replay" && name != "whatif") {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!value.has_value()) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    if (name == "record_journal" || name == "replay" || name == "whatif") {
      if (value->empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is empty"));
      (name == "replay" ? out.replay : name == "whatif" ? out.what_if : out.record_journal) =
          *value;
    } else if (name == "replications") {
      int n = 0;
      if (!absl::SimpleAtoi(*value, &n) || n < 1 || n > 10000) {
        return absl::InvalidArgumentError(
            absl::StrCat("--replications: \"", *value, "\" is not a number in 1..10000"));
      }
      out.run.overrides.replications = n;
    } else if (name == "seed") {
      uint64_t seed = 0;
      if (!absl::SimpleAtoi(*value, &seed)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--seed: \"", *value, "\" is not an unsigned 64-bit number"));
      }
      out.run.overrides.seed = seed;
    } else if (name == "threads") {
      int n = 0;
      if (!absl::SimpleAtoi(*value, &n) || n < 1 || n > 1024) {
        return absl::InvalidArgumentError(
            absl::StrCat("--threads: \"", *value, "\" is not a number in 1..1024"));
      }
      out.run.threads = n;
    } else if (name == "duration") {
      absl::StatusOr<absl::Duration> d = ParseSpan(name, *value);
      if (!d.ok()) return d.status();
      if (*d == absl::ZeroDuration())
        return absl::InvalidArgumentError("--duration: must be positive");
      out.run.overrides.duration = *d;
    } else {
      absl::StatusOr<absl::Duration> d = ParseSpan(name, *value);
      if (!d.ok()) return d.status();
      out.run.overrides.warmup = *d;
    }
  }
  if (out.help) return out;
  if (!out.replay.empty()) {
    if (!out.scenario_path.empty()) {
      return absl::InvalidArgumentError("--replay takes no scenario file (use --whatif)");
    }
    if (!out.record_journal.empty() || out.run.overrides.duration.has_value()) {
      return absl::InvalidArgumentError(
          "--record_journal and --duration do not apply to --replay");
    }
  } else {
    if (!out.what_if.empty()) return absl::InvalidArgumentError("--whatif needs --replay");
    if (out.scenario_path.empty()) {
      return absl::InvalidArgumentError("a scenario file (or --replay) is required");
    }
  }
  return out;
}

// --replay mode.
int Replay(const CommandLine& command_line) {
  std::optional<omniroute::sim::v1::Scenario> what_if;
  if (!command_line.what_if.empty()) {
    absl::StatusOr<omniroute::sim::v1::Scenario> loaded =
        omniroute::sim::LoadScenarioFile(command_line.what_if);
    absl::Status checked =
        loaded.ok() ? omniroute::sim::CheckWhatIf(*loaded) : loaded.status();
    if (!checked.ok()) {
      std::fprintf(stderr, "omniroute-sim: %s: %s\n", command_line.what_if.c_str(),
                   std::string(checked.message()).c_str());
      return 1;
    }
    what_if = *std::move(loaded);
  }
  absl::StatusOr<omniroute::sim::Recording> recording =
      omniroute::sim::ReadRecording(command_line.replay);
  if (!recording.ok()) {
    std::fprintf(stderr, "omniroute-sim: --replay: %s\n",
                 std::string(recording.status().message()).c_str());
    return 1;
  }
  omniroute::sim::ReplayOptions options;
  options.threads = command_line.run.threads;
  if (command_line.run.overrides.warmup) options.warmup = *command_line.run.overrides.warmup;
  // The what-if file's own replications and seed, unless the command line sets them.
  if (what_if.has_value() && what_if->has_replications()) {
    options.replications = what_if->replications();
  }
  if (what_if.has_value() && what_if->has_seed()) options.seed = what_if->seed();
  if (command_line.run.overrides.replications) {
    options.replications = *command_line.run.overrides.replications;
  }
  if (command_line.run.overrides.seed) options.seed = *command_line.run.overrides.seed;
  absl::StatusOr<omniroute::sim::ReplayResult> result = omniroute::sim::RunReplay(
      *recording, what_if.has_value() ? &*what_if : nullptr, options);
  if (!result.ok()) {
    std::fprintf(stderr, "omniroute-sim: --replay: %s\n",
                 std::string(result.status().message()).c_str());
    return 1;
  }
  std::cout << (command_line.json ? omniroute::sim::FormatReplayJson(*result)
                                  : omniroute::sim::FormatReplayText(*result));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<CommandLine> command_line = Parse(argc, argv);
  if (!command_line.ok()) {
    std::fprintf(stderr, "omniroute-sim: %s\n\n%s",
                 std::string(command_line.status().message()).c_str(), kUsage);
    return 2;
  }
  if (command_line->help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!command_line->replay.empty()) return Replay(*command_line);
  absl::StatusOr<omniroute::sim::v1::Scenario> scenario =
      omniroute::sim::LoadScenarioFile(command_line->scenario_path);
  if (!scenario.ok()) {
    std::fprintf(stderr, "omniroute-sim: %s\n", std::string(scenario.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<omniroute::sim::SimResult> result =
      omniroute::sim::RunScenario(*scenario, command_line->run);
  if (!result.ok()) {
    std::fprintf(stderr, "omniroute-sim: %s: %s\n", command_line->scenario_path.c_str(),
                 std::string(result.status().message()).c_str());
    return 1;
  }
  std::cout << (command_line->json ? omniroute::sim::FormatJson(*result)
                                   : omniroute::sim::FormatText(*result));
  if (!command_line->record_journal.empty()) {
    absl::StatusOr<omniroute::sim::CompiledScenario> compiled =
        omniroute::sim::CompileScenario(*scenario, command_line->run.overrides);
    absl::StatusOr<int64_t> records =
        compiled.ok() ? omniroute::sim::WriteScenarioJournal(*compiled, 0,
                                                             command_line->record_journal)
                      : absl::StatusOr<int64_t>(compiled.status());
    if (!records.ok()) {
      std::fprintf(stderr, "omniroute-sim: --record_journal: %s\n",
                   std::string(records.status().message()).c_str());
      return 1;
    }
    std::fprintf(stderr, "omniroute-sim: wrote %lld journal records of replication 0 to %s\n",
                 static_cast<long long>(*records), command_line->record_journal.c_str());
  }
  return 0;
}
