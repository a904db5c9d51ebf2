// The front of omniroutectl: global flags, finding the command, help, running it.
//
//   omniroutectl [global flags] <command words> [arguments] [flags]
//
// Global flags (--address, --timeout, --json, --help) may come before or after the command.
// `help [command...]`, `<command> --help` and `version` are handled here.

#ifndef OMNIROUTE_CTL_CLI_H_
#define OMNIROUTE_CTL_CLI_H_

#include <ostream>
#include <string>
#include <vector>

#include "ctl/commands.h"

namespace omniroute::ctl {

// Every command, in help order.
const std::vector<Command>& AllCommands();

// The environment omniroutectl reads ("" when unset): $OMNIROUTE_ADDRESS, $OMNIROUTE_TOKEN,
// $OMNIROUTE_TOKEN_FILE, $OMNIROUTE_CA, $OMNIROUTE_CERT, $OMNIROUTE_KEY. Flags win over it.
struct CliEnvironment {
  std::string address, token, token_file, ca, cert, key;
  static CliEnvironment FromProcess();
};

// Runs omniroutectl on `args` (argv without the program name) in `env`, writing to `out` (a
// terminal when `out_is_tty`) and `err`; returns the exit code.
int RunCli(const std::vector<std::string>& args, const CliEnvironment& env, bool out_is_tty,
           std::ostream& out, std::ostream& err);

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_CLI_H_
