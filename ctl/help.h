// The help texts of omniroutectl, generated from the Command records (commands.h): the
// overview (`omniroutectl help`), a group's (`omniroutectl help queues`) and a command's
// (`omniroutectl help queues get`, `omniroutectl queues get --help`).

#ifndef OMNIROUTE_CTL_HELP_H_
#define OMNIROUTE_CTL_HELP_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ctl/commands.h"

namespace omniroute::ctl {

// Every command with its summary, the global flags, the exit codes and a few examples.
std::string OverviewHelp(const std::vector<Command>& commands);

// The commands whose first word is `group` ("queues"), with their summaries.
std::string GroupHelp(const std::vector<Command>& commands, absl::string_view group);

// One command: summary, usage, description, flags, examples.
std::string CommandHelp(const Command& command);

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_HELP_H_
