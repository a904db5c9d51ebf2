// The front of omniroutectl: see cli.h.

#include "ctl/cli.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/exit_codes.h"
#include "ctl/format.h"
#include "ctl/help.h"

#ifndef OMNIROUTE_VERSION
#define OMNIROUTE_VERSION "unknown"
#endif

namespace omniroute::ctl {

// ---------------------------------------------------------------------------------------------
// CommandContext

CommandContext::CommandContext(const Command& command, GlobalOptions options, ParsedArgs args,
                               std::ostream& out, std::ostream& err)
    : command_(command),
      options_(std::move(options)),
      args_(std::move(args)),
      out_(out),
      err_(err) {}

Client& CommandContext::client() {
  if (client_ == nullptr) {
    client_ = std::make_unique<Client>(options_.address, options_.timeout, options_.credentials);
  }
  return *client_;
}

int CommandContext::Fail(absl::string_view what, const grpc::Status& status) {
  out_.flush();
  err_ << "omniroutectl: " << what << ": " << DescribeStatus(status) << "\n";
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      err_ << "hint: is omnirouted running at " << options_.address
           << "? Set --address or OMNIROUTE_ADDRESS.\n";
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      err_ << "hint: no answer from " << options_.address << " within "
           << HumanDuration(options_.timeout) << " (--timeout).\n";
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      err_ << "hint: the daemon at " << options_.address
           << " is older than this omniroutectl and lacks this call.\n";
      break;
    default:
      break;
  }
  err_.flush();
  return ExitCodeFor(status);
}

int CommandContext::UsageError(absl::string_view message) {
  out_.flush();
  err_ << "omniroutectl " << command_.name << ": " << message << "\n"
       << "Usage: omniroutectl " << command_.usage << "\n"
       << "Run 'omniroutectl help " << command_.name << "' for flags and examples.\n";
  err_.flush();
  return kExitUsage;
}

void CommandContext::PrintJson(const google::protobuf::Message& message) {
  out_ << ToJson(message, JsonStyle::kPretty);
  out_.flush();
}

// ---------------------------------------------------------------------------------------------
// Commands and global flags

const std::vector<FlagSpec>& GlobalFlags() {
  static const std::vector<FlagSpec>* flags = new std::vector<FlagSpec>{
      {"address", FlagKind::kValue, "HOST:PORT",
       "The daemon's gRPC address. Default: $OMNIROUTE_ADDRESS, else 127.0.0.1:7400."},
      {"token-file", FlagKind::kValue, "FILE",
       "A file holding the bearer token to authenticate with (its first line). Default: "
       "$OMNIROUTE_TOKEN_FILE, or the token itself in $OMNIROUTE_TOKEN."},
      {"ca", FlagKind::kValue, "FILE",
       "Connect with TLS, trusting the CAs in this PEM file. Default: $OMNIROUTE_CA."},
      {"cert", FlagKind::kValue, "FILE",
       "With --ca and --key: present this PEM client certificate (mutual TLS). Default: "
       "$OMNIROUTE_CERT."},
      {"key", FlagKind::kValue, "FILE", "The PEM key of --cert. Default: $OMNIROUTE_KEY."},
      {"server-name", FlagKind::kValue, "NAME",
       "The name the daemon's certificate must carry, when it is not the host of --address."},
      {"timeout", FlagKind::kValue, "DURATION",
       "Deadline of each call, e.g. 10s, 500ms, 1m (default 10s). Streams (events tail, the "
       "wait between --watch refreshes) are not limited by it."},
      {"json", FlagKind::kBool, "",
       "Print JSON for scripts instead of tables: one document per command, one line per "
       "event or refresh for streams."},
      {"help", FlagKind::kBool, "", "Show help, for the command when one is given.", 'h'},
  };
  return *flags;
}

const std::vector<Command>& AllCommands() {
  static const std::vector<Command>* commands = [] {
    auto* all = new std::vector<Command>();
    for (std::vector<Command> group : {ResourceCommands(), LiveCommands(), ApplyCommands()}) {
      for (Command& c : group) all->push_back(std::move(c));
    }
    Command help;
    help.name = "help";
    help.summary = "Show help: the overview, or one command's flags and examples.";
    help.usage = "help [<command>]";
    help.max_positional = 2;
    all->push_back(help);
    Command version;
    version.name = "version";
    version.summary = "Print omniroutectl's version.";
    version.usage = "version";
    all->push_back(version);
    return all;
  }();
  return *commands;
}

namespace {

const Command* FindCommand(absl::string_view name) {
  for (const Command& c : AllCommands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool IsGroup(absl::string_view word) {
  for (const Command& c : AllCommands()) {
    if (absl::StartsWith(c.name, absl::StrCat(word, " "))) return true;
  }
  return false;
}

std::vector<std::string> FirstWords() {
  std::vector<std::string> words;
  for (const Command& c : AllCommands()) {
    const std::string first = c.name.substr(0, c.name.find(' '));
    if (words.empty() || words.back() != first) words.push_back(first);
  }
  return words;
}

std::vector<std::string> SecondWords(absl::string_view group) {
  std::vector<std::string> words;
  const std::string prefix = absl::StrCat(group, " ");
  for (const Command& c : AllCommands()) {
    if (absl::StartsWith(c.name, prefix)) words.push_back(c.name.substr(prefix.size()));
  }
  return words;
}

int TopLevelUsageError(std::ostream& err, absl::string_view message) {
  err << "omniroutectl: " << message << "\n"
      << "Run 'omniroutectl help' for the commands and global flags.\n";
  return kExitUsage;
}

std::string UnknownWord(absl::string_view kind, absl::string_view word,
                        const std::vector<std::string>& candidates) {
  const std::string close = ClosestMatch(word, candidates);
  return close.empty()
             ? absl::StrCat("unknown ", kind, " \"", word, "\"")
             : absl::StrCat("unknown ", kind, " \"", word, "\" (did you mean \"", close, "\"?)");
}

// `help [words...]`.
int RunHelp(const std::vector<std::string>& words, std::ostream& out, std::ostream& err) {
  if (words.empty()) {
    out << OverviewHelp(AllCommands());
    return kExitOk;
  }
  std::string name = words[0];
  for (size_t i = 1; i < words.size(); ++i) absl::StrAppend(&name, " ", words[i]);
  if (const Command* c = FindCommand(name); c != nullptr) {
    out << CommandHelp(*c);
    return kExitOk;
  }
  if (words.size() == 1 && IsGroup(words[0])) {
    out << GroupHelp(AllCommands(), words[0]);
    return kExitOk;
  }
  if (IsGroup(words[0])) {
    return TopLevelUsageError(
        err, UnknownWord(absl::StrCat(words[0], " command"), words[1], SecondWords(words[0])));
  }
  return TopLevelUsageError(err, UnknownWord("command", words[0], FirstWords()));
}

}  // namespace

CliEnvironment CliEnvironment::FromProcess() {
  auto get = [](const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  CliEnvironment env;
  env.address = get("OMNIROUTE_ADDRESS");
  env.token = get("OMNIROUTE_TOKEN");
  env.token_file = get("OMNIROUTE_TOKEN_FILE");
  env.ca = get("OMNIROUTE_CA");
  env.cert = get("OMNIROUTE_CERT");
  env.key = get("OMNIROUTE_KEY");
  return env;
}

namespace {

// The whole file at `path`, for --flag; an error message naming the flag.
absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read \"", path, "\""));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The TLS files and the token from the flags, else the environment.
absl::StatusOr<ClientCredentials> ReadCredentials(const ParsedArgs& parsed,
                                                  const CliEnvironment& env) {
  auto pick = [&](const char* flag, const std::string& fallback) {
    return parsed.Has(flag) ? parsed.Value(flag) : fallback;
  };
  ClientCredentials c;
  c.token = env.token;
  const std::string token_file = pick("token-file", env.token_file);
  if (!token_file.empty()) {
    absl::StatusOr<std::string> text = ReadFlagFile("--token-file", token_file);
    if (!text.ok()) return text.status();
    const size_t end = text->find_first_of("\r\n");
    c.token = text->substr(0, end);
    if (c.token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token-file: \"", token_file, "\" holds no token on its first line"));
    }
  }
  const std::string ca = pick("ca", env.ca);
  const std::string cert = pick("cert", env.cert);
  const std::string key = pick("key", env.key);
  if (!ca.empty()) {
    absl::StatusOr<std::string> pem = ReadFlagFile("--ca", ca);
    if (!pem.ok()) return pem.status();
    c.ca_pem = *std::move(pem);
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together");
  }
  if (!cert.empty()) {
    if (ca.empty()) return absl::InvalidArgumentError("--cert needs --ca (TLS)");
    absl::StatusOr<std::string> pem = ReadFlagFile("--cert", cert);
    if (!pem.ok()) return pem.status();
    c.cert_pem = *std::move(pem);
    pem = ReadFlagFile("--key", key);
    if (!pem.ok()) return pem.status();
    c.key_pem = *std::move(pem);
  }
  c.server_name = parsed.Has("server-name") ? parsed.Value("server-name") : "";
  if (!c.server_name.empty() && ca.empty()) {
    return absl::InvalidArgumentError("--server-name needs --ca (TLS)");
  }
  return c;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, const CliEnvironment& env, bool out_is_tty,
           std::ostream& out, std::ostream& err) {
  // Global flags before the command.
  std::vector<std::string> leading;
  size_t i = 0;
  while (i < args.size() && absl::StartsWith(args[i], "-") && args[i] != "--") {
    leading.push_back(args[i]);
    const bool inline_value = args[i].find('=') != std::string::npos;
    const std::string& a = args[i];
    ++i;
    if (!inline_value &&
        (a == "--address" || a == "--timeout" || a == "--token-file" || a == "--ca" ||
         a == "--cert" || a == "--key" || a == "--server-name") &&
        i < args.size()) {
      leading.push_back(args[i++]);
    }
  }
  absl::StatusOr<ParsedArgs> global = ParseArgs(leading, GlobalFlags());
  if (!global.ok()) return TopLevelUsageError(err, global.status().message());

  if (i >= args.size()) {
    if (global->Has("help")) {
      out << OverviewHelp(AllCommands());
      return kExitOk;
    }
    err << OverviewHelp(AllCommands());
    return TopLevelUsageError(err, "no command given");
  }

  // The command: one word, or a group and a second word.
  std::string name = args[i++];
  if (name == "help") {
    std::vector<std::string> words(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    return RunHelp(words, out, err);
  }
  if (IsGroup(name)) {
    if (i >= args.size() || absl::StartsWith(args[i], "-")) {
      const bool help =
          global->Has("help") || (i < args.size() && (args[i] == "--help" || args[i] == "-h"));
      (help ? out : err) << GroupHelp(AllCommands(), name);
      if (help) return kExitOk;
      return TopLevelUsageError(
          err,
          absl::StrCat("\"", name, "\" needs a command: ", absl::StrJoin(SecondWords(name), ", ")));
    }
    const std::string second = args[i++];
    if (FindCommand(absl::StrCat(name, " ", second)) == nullptr) {
      return TopLevelUsageError(
          err, UnknownWord(absl::StrCat(name, " command"), second, SecondWords(name)));
    }
    absl::StrAppend(&name, " ", second);
  }
  const Command* command = FindCommand(name);
  if (command == nullptr)
    return TopLevelUsageError(err, UnknownWord("command", name, FirstWords()));

  // The rest: the command's flags and arguments, and global flags again.
  std::vector<FlagSpec> specs = command->flags;
  specs.insert(specs.end(), GlobalFlags().begin(), GlobalFlags().end());
  std::vector<std::string> rest = leading;
  rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(rest, specs);
  CommandContext usage_context(*command, GlobalOptions(), ParsedArgs(), out, err);
  if (!parsed.ok()) return usage_context.UsageError(parsed.status().message());
  if (parsed->Has("help")) {
    out << CommandHelp(*command);
    return kExitOk;
  }
  if (command->name == "version") {
    out << "omniroutectl " << OMNIROUTE_VERSION << "\n";
    return kExitOk;
  }
  const int given = static_cast<int>(parsed->positional().size());
  if (given < command->min_positional ||
      (command->max_positional >= 0 && given > command->max_positional)) {
    std::string message;
    if (given < command->min_positional) {
      message = given == 0 ? "missing argument" : "too few arguments";
    } else {
      message =
          absl::StrCat("unexpected argument \"",
                       parsed->positional()[static_cast<size_t>(command->max_positional)], "\"");
    }
    return usage_context.UsageError(message);
  }

  GlobalOptions options;
  if (!env.address.empty()) options.address = env.address;
  if (parsed->Has("address")) options.address = parsed->Value("address");
  if (options.address.empty() || options.address.find(':') == std::string::npos) {
    return usage_context.UsageError(
        absl::StrCat("--address: \"", options.address, "\" is not HOST:PORT"));
  }
  if (parsed->Has("timeout")) {
    absl::StatusOr<absl::Duration> timeout =
        ParsePositiveDuration("--timeout", parsed->Value("timeout"));
    if (!timeout.ok()) return usage_context.UsageError(timeout.status().message());
    options.timeout = *timeout;
  }
  absl::StatusOr<ClientCredentials> credentials = ReadCredentials(*parsed, env);
  if (!credentials.ok()) return usage_context.UsageError(credentials.status().message());
  options.credentials = *std::move(credentials);
  options.json = parsed->Has("json");
  options.out_is_tty = out_is_tty;
  CommandContext context(*command, std::move(options), *std::move(parsed), out, err);
  const int code = command->run(context);
  out.flush();
  return code;
}

}  // namespace omniroute::ctl
