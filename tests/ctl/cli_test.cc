// omniroutectl's front (ctl/cli.h), in process and without a daemon: help for every command,
// and every usage error exits 2 before anything is sent (the address is unreachable on
// purpose: a command that tried to call would exit 4 instead).

#include "ctl/cli.h"

#include <sstream>
#include <string>
#include <vector>

#include "ctl/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omniroute::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun Cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunCli(args, CliEnvironment(), /*out_is_tty=*/false, out, err);
  return {code, out.str(), err.str()};
}

TEST(Help, OverviewListsEveryCommandTheGlobalFlagsAndTheExitCodes) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"help"}, {"--help"}, {"-h"}}) {
    const CliRun r = Cli(args);
    EXPECT_EQ(r.code, kExitOk);
    EXPECT_THAT(r.err, IsEmpty());
    for (const Command& c : AllCommands()) EXPECT_THAT(r.out, HasSubstr("  " + c.name + " "));
    EXPECT_THAT(r.out, HasSubstr("--address HOST:PORT"));
    EXPECT_THAT(r.out, HasSubstr("OMNIROUTE_ADDRESS"));
    EXPECT_THAT(r.out, HasSubstr("5    apply --dry-run: changes are pending"));
  }
}

TEST(Help, EveryCommandTeachesItsUsageFlagsAndAnExample) {
  for (const Command& c : AllCommands()) {
    if (c.name == "help" || c.name == "version") continue;
    std::vector<std::string> words;
    std::istringstream in(c.name);
    for (std::string w; in >> w;) words.push_back(w);
    std::vector<std::string> via_help = {"help"};
    via_help.insert(via_help.end(), words.begin(), words.end());
    std::vector<std::string> via_flag = words;
    via_flag.push_back("--help");
    const CliRun a = Cli(via_help);
    const CliRun b = Cli(via_flag);
    EXPECT_EQ(a.code, kExitOk) << c.name;
    EXPECT_EQ(b.code, kExitOk) << c.name;
    EXPECT_EQ(a.out, b.out) << c.name;
    EXPECT_THAT(a.out, StartsWith("omniroutectl " + c.name + ": ")) << c.name;
    EXPECT_THAT(a.out, HasSubstr("Usage:\n  omniroutectl " + c.usage)) << c.name;
    EXPECT_THAT(a.out, HasSubstr("Examples:\n  omniroutectl " + c.name)) << c.name;
    for (const FlagSpec& f : c.flags) {
      EXPECT_THAT(a.out, HasSubstr(std::string("--") + f.name)) << c.name;
    }
  }
}

TEST(Help, GroupsListTheirCommands) {
  const CliRun r = Cli({"help", "queues"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("queues list"));
  EXPECT_THAT(r.out, HasSubstr("queues get"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("agents list")));
}

TEST(Version, PrintsTheVersion) {
  const CliRun r = Cli({"version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_THAT(r.out, StartsWith("omniroutectl "));
}

TEST(UsageErrors, ExitTwoWithAMessageAndAHintAndSendNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "no command given"},
      {{"queue", "list"}, "unknown command \"queue\" (did you mean \"queues\"?)"},
      {{"frobnicate"}, "unknown command \"frobnicate\""},
      {{"queues"}, "\"queues\" needs a command: list, get"},
      {{"queues", "lst"}, "unknown queues command \"lst\" (did you mean \"list\"?)"},
      {{"queues", "get"}, "missing argument"},
      {{"queues", "get", "a", "b"}, "unexpected argument \"b\""},
      {{"queues", "list", "--wide"}, "unknown flag --wide"},
      {{"agents", "list", "--presence", "busy"},
       "\"busy\" is not a valid presence; valid values: offline, available, not-ready, "
       "wrap-up"},
      {{"presence", "eng-1"}, "too few arguments"},
      {{"presence", "eng-1", "busy"}, "\"busy\" is not a valid presence"},
      {{"presence", "eng-1", "not-ready"}, "not-ready needs --reason"},
      {{"presence", "eng-1", "wrap-up"}, "wrap-up needs --duration"},
      {{"presence", "eng-1", "available", "--duration", "1m"}, "--duration goes with wrap-up"},
      {{"stats", "--count", "3"}, "--interval and --count go with --watch"},
      {{"stats", "--watch", "--interval", "2"}, "--interval: \"2\" is not a duration"},
      {{"stats", "--watch", "--count", "0"}, "--count: must be at least 1"},
      {{"stats", "--window", "-5m"}, "--window: must be positive"},
      {{"events", "tail", "--type", "offer"}, "\"offer\" is not a valid event type"},
      {{"events", "tail", "--count", "x"}, "--count: \"x\" is not a non-negative whole number"},
      {{"events", "tail", "--after-sequence", "-1"}, "--after-sequence"},
      {{"apply"}, "missing -f FILE"},
      {{"apply", "-f", "/nonexistent/x.textproto"}, "/nonexistent/x.textproto: cannot be read"},
      {{"session"}, "missing argument"},
      {{"--timeout", "10", "queues", "list"}, "--timeout: \"10\" is not a duration"},
      {{"queues", "list", "--address", "nocolon"}, "--address: \"nocolon\" is not HOST:PORT"},
      {{"--bogus", "queues", "list"}, "unknown flag --bogus"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--address", "127.0.0.1:1"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    // Cases that test the leading global flags themselves run as they are.
    const CliRun r = Cli(c.args.empty() || c.args[0].rfind("--", 0) == 0 ? c.args : args);
    EXPECT_EQ(r.code, kExitUsage) << ::testing::PrintToString(c.args) << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << ::testing::PrintToString(c.args);
    EXPECT_THAT(r.err, HasSubstr("omniroutectl help")) << "a pointer to help: " << r.err;
    EXPECT_THAT(r.out, IsEmpty()) << ::testing::PrintToString(c.args);
  }
}

TEST(UsageErrors, GlobalFlagsWorkBeforeAndAfterTheCommand) {
  // An unreachable address: both orders reach the daemon's (absent) port, exit 4.
  EXPECT_EQ(Cli({"--address", "127.0.0.1:1", "queues", "list"}).code, kExitUnavailable);
  EXPECT_EQ(Cli({"queues", "list", "--address=127.0.0.1:1", "--timeout", "2s"}).code,
            kExitUnavailable);
}

}  // namespace
}  // namespace omniroute::ctl
