// The help texts of omniroutectl: see help.h.

#include "ctl/help.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "ctl/table.h"

namespace omniroute::ctl {
namespace {

// "  -f, --file FILE" for the flag column.
std::string FlagLabel(const FlagSpec& flag) {
  std::string label = flag.alias != '\0' ? absl::StrCat("-", std::string(1, flag.alias), ", ")
                                         : std::string("    ");
  absl::StrAppend(&label, "--", flag.name);
  if (flag.kind != FlagKind::kBool) absl::StrAppend(&label, " ", flag.value_name);
  return label;
}

// Help lines are kept within this many columns.
constexpr size_t kHelpWidth = 92;

// `text` broken into lines of at most `width` columns at spaces (a longer word stays whole).
std::vector<std::string> Wrap(absl::string_view text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    if (!line.empty()) line += " ";
    absl::StrAppend(&line, word);
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string FlagList(const std::vector<FlagSpec>& flags) {
  size_t width = 0;
  for (const FlagSpec& f : flags) width = std::max(width, FlagLabel(f).size());
  const size_t indent = 2 + width + 3;
  std::string out;
  for (const FlagSpec& f : flags) {
    std::string help = f.help;
    if (f.kind == FlagKind::kRepeated) help += " Repeatable.";
    const std::vector<std::string> lines =
        Wrap(help, kHelpWidth > indent + 20 ? kHelpWidth - indent : 20);
    for (size_t i = 0; i < lines.size(); ++i) {
      absl::StrAppend(
          &out,
          i == 0 ? absl::StrCat("  ", Pad(FlagLabel(f), width), "   ") : std::string(indent, ' '),
          lines[i], "\n");
    }
  }
  return out;
}

std::string Indent(absl::string_view text, absl::string_view prefix) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) {
      out += "\n";
    } else {
      absl::StrAppend(&out, prefix, line, "\n");
    }
  }
  return out;
}

std::string CommandList(const std::vector<Command>& commands, absl::string_view group) {
  size_t width = 0;
  for (const Command& c : commands) width = std::max(width, c.name.size());
  std::string out;
  for (const Command& c : commands) {
    if (!group.empty() && c.name != group && c.name.rfind(absl::StrCat(group, " "), 0) != 0) {
      continue;
    }
    absl::StrAppend(&out, "  ", Pad(c.name, width), "   ", c.summary, "\n");
  }
  return out;
}

constexpr char kExitCodes[] =
    R"(  0    success; apply --dry-run: nothing would change
  1    the daemon refused the request: the gRPC code and the daemon's message (which names
       the offending field) are printed on stderr
  2    usage error: unknown command or flag, bad argument, unreadable apply file; nothing
       was sent to the daemon
  3    not found: the queue, agent or session does not exist
  4    the daemon cannot be reached or did not answer within --timeout, or it ended a
       stream (shutting down)
  5    apply --dry-run: changes are pending
  130  interrupted (Ctrl-C) during a one-shot command; Ctrl-C ends stats --watch and
       events tail normally (exit 0)
)";

}  // namespace

std::string OverviewHelp(const std::vector<Command>& commands) {
  std::string out =
      "omniroutectl: the operators' command-line client of omnirouted, the omniroute routing\n"
      "daemon, over its gRPC API. Tables for people by default, --json for scripts.\n\n"
      "Usage:\n"
      "  omniroutectl [global flags] <command> [arguments] [flags]\n\n"
      "Commands:\n";
  out += CommandList(commands, "");
  out += "\nGlobal flags (before or after the command):\n";
  out += FlagList(GlobalFlags());
  out += "\nExit codes:\n";
  out += kExitCodes;
  out +=
      "\nExamples:\n"
      "  omniroutectl queues list\n"
      "  omniroutectl stats --watch\n"
      "  omniroutectl presence eng-1001 available\n"
      "  omniroutectl apply -f centre.textproto --dry-run\n"
      "  omniroutectl --address 10.0.0.5:7400 agents list --presence available --json\n"
      "\nRun 'omniroutectl help <command>' for a command's flags and examples. The guide:\n"
      "docs/CLI.md.\n";
  return out;
}

std::string GroupHelp(const std::vector<Command>& commands, absl::string_view group) {
  return absl::StrCat("Usage:\n  omniroutectl ", group, " <command> [arguments] [flags]\n\n",
                      "Commands:\n", CommandList(commands, group), "\nRun 'omniroutectl help ",
                      group, " <command>' for a command's flags and examples.\n");
}

std::string CommandHelp(const Command& command) {
  std::string out = absl::StrCat("omniroutectl ", command.name, ": ", command.summary, "\n\n",
                                 "Usage:\n  omniroutectl ", command.usage, "\n\n");
  out += Indent(command.description, "");
  if (!command.flags.empty()) {
    out += "\nFlags:\n";
    out += FlagList(command.flags);
  }
  out +=
      "\nGlobal flags: --address HOST:PORT, --timeout DURATION, --json (see 'omniroutectl "
      "help').\n";
  if (!command.examples.empty()) {
    out += "\nExamples:\n";
    out += Indent(command.examples, "  ");
  }
  return out;
}

}  // namespace omniroute::ctl
