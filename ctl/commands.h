// The commands of omniroutectl: what each is called, takes and teaches, and what runs it.
//
// A command is a constant `Command` record: its name ("queues list"), a one-sentence summary,
// usage, a description, its flags (args.h), examples, the number of positional arguments it
// takes, and the function that runs it with a CommandContext. `help` is generated from these
// records, so a command's documentation lives next to it. The records are grouped by file:
// commands_resources.cc (queues, agents), commands_live.cc (stats, presence, session, events),
// commands_apply.cc (apply).
//
// A command writes its result on `out` (a table, or one JSON document with --json; JSON lines
// for streams) and problems on `err`, and returns an exit code (exit_codes.h).

#ifndef OMNIROUTE_CTL_COMMANDS_H_
#define OMNIROUTE_CTL_COMMANDS_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ctl/args.h"
#include "ctl/client.h"
#include "google/protobuf/message.h"

namespace omniroute::ctl {

// The flags every command takes (before or after the command name).
struct GlobalOptions {
  std::string address = "127.0.0.1:7400";      // --address, else $OMNIROUTE_ADDRESS
  // --token-file / $OMNIROUTE_TOKEN, --ca, --cert, --key, --server-name (files already read).
  ClientCredentials credentials;
  absl::Duration timeout = absl::Seconds(10);  // --timeout: each unary call's deadline
  bool json = false;                           // --json
  // Whether `out` is a terminal: `stats --watch` then redraws the screen in place.
  bool out_is_tty = false;
};

struct Command;

// What a running command works with. Not thread-safe.
class CommandContext {
 public:
  CommandContext(const Command& command, GlobalOptions options, ParsedArgs args, std::ostream& out,
                 std::ostream& err);

  const Command& command() const { return command_; }
  const GlobalOptions& options() const { return options_; }
  const ParsedArgs& args() const { return args_; }
  bool json() const { return options_.json; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

  // The connection, created on first use.
  Client& client();

  // Prints "omniroutectl: <what>: CODE: message" on stderr, with a hint when the daemon
  // cannot be reached, and returns the exit code for `status` (not OK).
  int Fail(absl::string_view what, const grpc::Status& status);

  // Prints "omniroutectl: <command>: <message>" and a pointer to `help <command>` on stderr,
  // and returns kExitUsage.
  int UsageError(absl::string_view message);

  // Writes `message` as one JSON document (pretty) on `out`.
  void PrintJson(const google::protobuf::Message& message);

 private:
  const Command& command_;
  GlobalOptions options_;
  ParsedArgs args_;
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<Client> client_;
};

struct Command {
  std::string name;         // "queues list": the words typed
  std::string summary;      // one sentence, for the command list
  std::string usage;        // "queues get <queue-id> [flags]"
  std::string description;  // what it does and shows, in a few lines
  std::vector<FlagSpec> flags;
  std::string examples;  // command lines, one per line, with "# " comments allowed
  int min_positional = 0;
  int max_positional = 0;  // -1: no limit
  int (*run)(CommandContext& context) = nullptr;
};

// The command groups, in the order `help` lists them.
std::vector<Command> ResourceCommands();  // queues list|get, agents list|get
std::vector<Command> LiveCommands();      // stats, presence, session, events tail
std::vector<Command> ApplyCommands();     // apply

// The flags every command takes, for the parser and for help.
const std::vector<FlagSpec>& GlobalFlags();

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_COMMANDS_H_
