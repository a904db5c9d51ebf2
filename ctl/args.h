// Command-line parsing for omniroutectl: flags declared per command, parsed from argv.
//
//   const FlagSpec kFlags[] = {
//       {"queue", FlagKind::kRepeated, "Q", "only events of queue Q"},
//       {"count", FlagKind::kValue, "N", "stop after N events"},
//       {"json", FlagKind::kBool, "", "print JSON"},
//   };
//   absl::StatusOr<ParsedArgs> args = ParseArgs({"--queue", "repair", "--count=3"}, kFlags);
//   args->Values("queue");  // {"repair"}
//
// Accepted forms: `--name value`, `--name=value`, `--bool-flag` (or `--bool-flag=true|false`),
// a one-letter alias `-f value`, and `--` to end the flags (what follows is positional, even
// when it starts with "-"). Flags and positional arguments may be mixed in any order. Errors
// are INVALID_ARGUMENT with a message for people ("unknown flag --qeue (did you mean
// --queue?)"): the caller prints it as a usage error.
//
// Also here: the parsers of flag values shared by commands (durations, counts, enum names).

#ifndef OMNIROUTE_CTL_ARGS_H_
#define OMNIROUTE_CTL_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "google/protobuf/descriptor.h"

namespace omniroute::ctl {

enum class FlagKind {
  kBool,      // present or not; takes no separate value
  kValue,     // takes one value; given twice, the last wins
  kRepeated,  // takes one value each time; all are kept, in order
};

// One flag a command accepts. Plain data, usable in constant tables.
struct FlagSpec {
  const char* name;        // without the dashes: "after-sequence"
  FlagKind kind;           //
  const char* value_name;  // for help: "N", "DURATION"; "" for kBool
  const char* help;        // one sentence for `help <command>`
  char alias = '\0';       // one-letter alias ('f' for -f), or none
};

// The result of ParseArgs: positional arguments in order, and the flags given.
class ParsedArgs {
 public:
  const std::vector<std::string>& positional() const { return positional_; }
  // Whether the flag was given at all (for kBool: given and not "=false").
  bool Has(absl::string_view name) const;
  // The last value of a kValue flag, or `fallback` when it was not given.
  std::string Value(absl::string_view name, absl::string_view fallback = "") const;
  // Every value of a kRepeated flag, in order; empty when not given.
  std::vector<std::string> Values(absl::string_view name) const;

  // Used by ParseArgs.
  void Add(const std::string& name, std::string value) { flags_[name].push_back(std::move(value)); }
  void AddPositional(std::string arg) { positional_.push_back(std::move(arg)); }

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>, std::less<>> flags_;
};

// Parses `args` (argv without the program and command names) against `specs`. Unknown flags,
// a missing value and a bool flag given a value other than true/false are errors.
absl::StatusOr<ParsedArgs> ParseArgs(absl::Span<const std::string> args,
                                     absl::Span<const FlagSpec> specs);

// The candidate closest to `word` by edit distance when it is close enough to be a likely
// typo (at most 2 edits, and fewer than half of the word), else "".
std::string ClosestMatch(absl::string_view word, absl::Span<const std::string> candidates);

// A positive duration in Go/absl syntax: "10s", "500ms", "1m30s", "2h". `what` names the
// flag in the error ("--timeout: \"10\" is not a duration ...").
absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view what,
                                                     absl::string_view text);

// A non-negative decimal integer within [0, max].
absl::StatusOr<uint64_t> ParseCount(absl::string_view what, absl::string_view text,
                                    uint64_t max = UINT64_MAX);

// An enum value by name, forgiving about case, '-' versus '_' and the type prefix: for
// omniroute.v1.Presence, "not-ready", "NOT_READY" and "PRESENCE_NOT_READY" all name
// PRESENCE_NOT_READY. The zero value (`*_UNSPECIFIED`) is never accepted. The error names
// `what` and lists the valid values in their short form ("available, not-ready, ...").
absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor* type,
                                   absl::string_view what, absl::string_view text);

// The short names of an enum's values, zero value left out: "offline, available, ...".
std::string EnumValueList(const google::protobuf::EnumDescriptor* type);

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_ARGS_H_
