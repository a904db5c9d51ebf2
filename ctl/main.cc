// omniroutectl: the operators' command-line client of omnirouted over the gRPC API.
//
//   omniroutectl queues list
//   omniroutectl --address 10.0.0.5:7400 stats --watch
//   omniroutectl help
//
// See docs/CLI.md; exit codes in ctl/exit_codes.h.

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "ctl/cli.h"
#include "ctl/interrupt.h"

int main(int argc, char** argv) {
  // Before gRPC starts any thread: they must inherit the blocked signals.
  omniroute::ctl::Interrupt::Install();
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  const int code =
      omniroute::ctl::RunCli(args, omniroute::ctl::CliEnvironment::FromProcess(),
                             ::isatty(STDOUT_FILENO) == 1, std::cout, std::cerr);
  std::cout.flush();
  std::cerr.flush();
  return code;
}
