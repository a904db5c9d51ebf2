#include "daemon/config.h"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "daemon/convert.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "omniroute/command.h"
#include "omniroute/ids.h"

namespace omniroute::daemon {

// Generated from daemon/demo_config.textproto by daemon/embed_text.cmake.
extern const char kDemoConfigText[];

namespace {

namespace pb = google::protobuf;

// ---------------------------------------------------------------------------------------------
// Range checks

const absl::Duration kSevenDays = absl::Hours(7 * 24);

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// An optional integer: the default when unset, else the value checked against lo..hi.
template <class T>
absl::StatusOr<T> NumberInRange(absl::string_view field, bool has, T value, T default_value,
                                T lo, T hi) {
  if (!has) return default_value;
  if (value < lo || value > hi) {
    return Invalid(field, absl::StrCat(value, " is outside ", lo, "..", hi));
  }
  return value;
}
absl::StatusOr<int> IntInRange(absl::string_view field, bool has, int32_t value, int default_value,
                               int lo, int hi) {
  return NumberInRange<int>(field, has, value, default_value, lo, hi);
}

// A Duration field: the default when unset, else well formed, not negative (DurationFromProto),
// truncated to microseconds, and within lo..hi (`range` says so in words).
absl::StatusOr<absl::Duration> DurationInRange(absl::string_view field, bool has,
                                               const pb::Duration& value,
                                               absl::Duration default_value, absl::Duration lo,
                                               absl::Duration hi, absl::string_view range) {
  if (!has) return default_value;
  absl::StatusOr<absl::Duration> d = DurationFromProto(field, value);
  if (!d.ok()) return d.status();
  if (*d < lo || *d > hi) {
    return Invalid(field, absl::StrCat(absl::FormatDuration(*d), " is outside ", range));
  }
  return *d;
}

// "host:port" with a port 0..65535; an IPv6 host in brackets ("[::]:7400").
absl::Status CheckHostPort(absl::string_view field, absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return Invalid(field, absl::StrCat("\"", address, "\" is not host:port"));
  }
  const absl::string_view host = address.substr(0, colon);
  const absl::string_view port = address.substr(colon + 1);
  if (host.empty()) {
    return Invalid(field, absl::StrCat("\"", address, "\" has no host (use e.g. \"[::]", address,
                                       "\" for every interface)"));
  }
  for (char c : address) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return Invalid(field,
                     absl::StrCat("\"", address, "\" contains a space or control character"));
    }
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return Invalid(field, absl::StrCat("\"", address, "\" has a malformed [IPv6] host"));
    }
  } else if (absl::StrContains(host, ':')) {
    return Invalid(field, absl::StrCat("\"", address,
                                       "\": an IPv6 host goes in brackets, e.g. \"[::1]:7400\""));
  }
  uint32_t port_number = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(port, &port_number) || port_number > 65535) {
    return Invalid(field, absl::StrCat("\"", address, "\" does not end in a port 0..65535"));
  }
  return absl::OkStatus();
}

// Ids listed twice in one repeated field of the configuration; the error names
// `list`[i]`member` (member "" when the list holds the ids themselves).
absl::Status CheckUnique(absl::string_view list, absl::string_view what,
                         const std::vector<std::string>& ids, absl::string_view member = ".id") {
  for (size_t i = 0; i < ids.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (ids[i] == ids[j]) {
        return Invalid(
            absl::StrCat(list, "[", i, "]", member),
            absl::StrCat(what, " \"", ids[i], "\" is already defined by ", list, "[", j, "]"));
      }
    }
  }
  return absl::OkStatus();
}

// Keeps the parser's first error and its position.
class FirstErrorCollector : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (has_error_) return;  // the first error is the one that matters
    has_error_ = true;
    line_ = line;
    column_ = column;
    message_ = message;
  }

  bool has_error() const { return has_error_; }
  int line() const { return line_; }
  pb::io::ColumnNumber column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  bool has_error_ = false;
  int line_ = -1;
  pb::io::ColumnNumber column_ = 0;
  std::string message_;
};

bool IsIdentifierChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// The byte offset of the tokenizer's zero-based (line, column), where a tab advances the
// column to the next multiple of 8; text.size() when past the end.
size_t OffsetOf(absl::string_view text, int line, int column) {
  size_t i = 0;
  for (int l = 0; l < line && i < text.size(); ++i) {
    if (text[i] == '\n') ++l;
  }
  for (int c = 0; i < text.size() && text[i] != '\n' && c < column; ++i) {
    c = text[i] == '\t' ? c + 8 - c % 8 : c + 1;
  }
  return i;
}

// The identifier an error message quotes as the culprit, if any.
absl::string_view QuotedCulprit(absl::string_view message) {
  for (absl::string_view marker :
       {"has no field named \"", "Unknown enumeration value of \"", "Non-repeated field \""}) {
    const size_t at = message.find(marker);
    if (at == absl::string_view::npos) continue;
    absl::string_view rest = message.substr(at + marker.size());
    const size_t end = rest.find('"');
    if (end == absl::string_view::npos || end == 0) return {};
    absl::string_view name = rest.substr(0, end);
    if (!std::all_of(name.begin(), name.end(), IsIdentifierChar)) return {};
    return name;
  }
  return {};
}

// "<source>:<line>:<column>: <message>", 1-based. The parser reports an error at the token
// after the one at fault (for a bad enum value that is often on the next line); when the
// message quotes the culprit, the position is moved back to it.
std::string FormatParseError(absl::string_view text, absl::string_view source,
                             const FirstErrorCollector& error) {
  std::string message = error.message();
  if (absl::EndsWith(message, "got: ")) message += "end of input";
  if (error.line() < 0) return absl::StrCat(source, ": ", message);
  size_t offset = OffsetOf(text, error.line(), error.column());
  if (const absl::string_view culprit = QuotedCulprit(message); !culprit.empty()) {
    size_t at = std::min(offset, text.size());
    while (at > 0) {
      at = text.rfind(culprit, at - 1);
      if (at == absl::string_view::npos) break;
      const size_t end = at + culprit.size();
      if ((at == 0 || !IsIdentifierChar(text[at - 1])) &&
          (end >= text.size() || !IsIdentifierChar(text[end]))) {
        offset = at;
        break;
      }
    }
  }
  const size_t line_start = offset == 0 ? 0 : text.rfind('\n', offset - 1);
  const size_t column =
      line_start == absl::string_view::npos || offset == 0 ? offset : offset - line_start - 1;
  const int line = static_cast<int>(std::count(text.begin(), text.begin() + offset, '\n'));
  return absl::StrCat(source, ":", line + 1, ":", column + 1, ": ", message);
}

// ---------------------------------------------------------------------------------------------
// Command line

constexpr absl::string_view kFlagConfig = "config";
constexpr absl::string_view kFlagListen = "listen";
constexpr absl::string_view kFlagHttp = "http";
constexpr absl::string_view kFlagDataDir = "data_dir";
constexpr absl::string_view kFlagLogLevel = "log_level";
constexpr absl::string_view kFlagInMemory = "in_memory";
constexpr absl::string_view kFlagHelp = "help";
constexpr absl::string_view kFlagVersion = "version";
constexpr absl::string_view kFlagHashToken = "hash_token";

constexpr absl::string_view kKnownFlags[] = {kFlagConfig,   kFlagListen,   kFlagHttp,
                                             kFlagDataDir,  kFlagLogLevel, kFlagInMemory,
                                             kFlagHelp,     kFlagVersion,  kFlagHashToken};

bool IsKnownFlag(absl::string_view name) {
  for (absl::string_view f : kKnownFlags) {
    if (f == name) return true;
  }
  return false;
}

absl::StatusOr<v1::LogLevel> ParseLogLevel(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") return v1::LOG_LEVEL_DEBUG;
  if (lower == "info") return v1::LOG_LEVEL_INFO;
  if (lower == "warning") return v1::LOG_LEVEL_WARNING;
  if (lower == "error") return v1::LOG_LEVEL_ERROR;
  return absl::InvalidArgumentError(
      absl::StrCat("--log_level: \"", text, "\" is not one of debug, info, warning, error"));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parsing

absl::Status ParseTextProto(absl::string_view text, absl::string_view source,
                            pb::Message* message) {
  FirstErrorCollector errors;
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.AllowUnknownField(false);
  parser.AllowUnknownExtension(false);
  pb::io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  if (!parser.Parse(&input, message) || errors.has_error()) {
    if (!errors.has_error()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": does not parse"));
    }
    return absl::InvalidArgumentError(FormatParseError(text, source, errors));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path, absl::string_view what) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    const std::string why = absl::StrCat(what, " ", path, ": ", std::strerror(error));
    if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(why);
    if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(why);
    return absl::InvalidArgumentError(why);
  }
  std::string text;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, ": cannot read: ", std::strerror(error)));
  }
  return text;
}

absl::StatusOr<v1::DaemonConfig> ParseConfigText(absl::string_view text, absl::string_view source) {
  v1::DaemonConfig config;
  if (absl::Status s = ParseTextProto(text, source, &config); !s.ok()) return s;
  return config;
}

absl::StatusOr<v1::DaemonConfig> LoadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadTextFile(path, "configuration file");
  if (!text.ok()) return text.status();
  return ParseConfigText(*text, path);
}

absl::string_view DemoConfigText() { return kDemoConfigText; }

v1::DaemonConfig DemoConfig() {
  absl::StatusOr<v1::DaemonConfig> config =
      ParseConfigText(DemoConfigText(), "daemon/demo_config.textproto");
  if (!config.ok()) {
    std::fprintf(stderr, "omnirouted: the embedded demo configuration does not parse: %s\n",
                 std::string(config.status().message()).c_str());
    std::abort();
  }
  return *std::move(config);
}

// ---------------------------------------------------------------------------------------------
// Resolving

namespace {

absl::StatusOr<double> DoubleInRange(absl::string_view field, bool has, double value,
                                     double default_value, double lo, double hi) {
  if (!has) return default_value;
  if (!std::isfinite(value) || value < lo || value > hi) {
    return Invalid(field, absl::StrCat(value, " is outside ", lo, "..", hi));
  }
  return value;
}

// customer_directory, ranking, devices, intent_routes and audit into `out`.
absl::Status ResolveServiceModel(const v1::DaemonConfig& config, const DaemonSettings& defaults,
                                 DaemonSettings& out) {
  const v1::CustomerDirectorySettings& dir = config.customer_directory();
  {
    absl::StatusOr<int64_t> v = NumberInRange<int64_t>(
        "customer_directory.cache_bytes", dir.has_cache_bytes(), dir.cache_bytes(),
        defaults.directory_cache_bytes, int64_t{1} << 20, int64_t{1} << 40);
    if (!v.ok()) return v.status();
    out.directory_cache_bytes = *v;
  }
  out.directory_sync_writes = !dir.has_sync_writes() || dir.sync_writes();
  if (dir.has_id_prefix()) {
    if (dir.id_prefix().size() > 32) {
      return Invalid("customer_directory.id_prefix", "longer than 32 characters");
    }
    if (!dir.id_prefix().empty()) {
      if (absl::Status st = ValidateName("customer_directory.id_prefix", dir.id_prefix());
          !st.ok()) {
        return st;
      }
    }
    out.customer_id_prefix = dir.id_prefix();
  }
  if (dir.rating_tags_size() > 0) {
    if (dir.rating_tags_size() > 64) {
      return Invalid("customer_directory.rating_tags", "more than 64 tags");
    }
    out.rating_tags.clear();
    for (int i = 0; i < dir.rating_tags_size(); ++i) {
      const std::string& tag = dir.rating_tags(i);
      const std::string field = absl::StrCat("customer_directory.rating_tags[", i, "]");
      if (tag.empty() || tag.size() > 64) return Invalid(field, "must be 1..64 characters");
      for (char c : tag) {
        if (c < 0x21 || c > 0x7e) return Invalid(field, "printable ASCII without spaces only");
      }
      out.rating_tags.push_back(tag);
    }
    if (absl::Status st = CheckUnique("customer_directory.rating_tags", "tag", out.rating_tags, "");
        !st.ok()) {
      return st;
    }
  }
  {
    absl::StatusOr<int> v = IntInRange("customer_directory.threads", dir.has_threads(),
                                       dir.threads(), defaults.directory_threads, 1, 64);
    if (!v.ok()) return v.status();
    out.directory_threads = *v;
  }

  const v1::RankingSettings& r = config.ranking();
  out.ranking_enabled = !r.has_enabled() || r.enabled();
  {
    absl::StatusOr<int> v = IntInRange("ranking.min_ratings", r.has_min_ratings(),
                                       r.min_ratings(), defaults.ranking_min_ratings, 0, 1000000);
    if (!v.ok()) return v.status();
    out.ranking_min_ratings = *v;
  }
  directory::RankingPolicy& policy = out.ranking;
  const directory::RankingPolicy& d = defaults.ranking;
#define OMNIROUTE_RANKING_DOUBLE(name, proto_name, hi)                                          \
  {                                                                                            \
    absl::StatusOr<double> v = DoubleInRange("ranking." #proto_name, r.has_##proto_name(),     \
                                             r.proto_name(), d.name, 0, hi);                   \
    if (!v.ok()) return v.status();                                                            \
    policy.name = *v;                                                                          \
  }
  OMNIROUTE_RANKING_DOUBLE(good_rating_weight, good_rating_weight, 1e6)
  OMNIROUTE_RANKING_DOUBLE(favourite_weight, favourite_weight, 1e6)
  OMNIROUTE_RANKING_DOUBLE(tip_rate_weight, tip_rate_weight, 1e6)
  OMNIROUTE_RANKING_DOUBLE(handled_weight, handled_weight, 1e6)
  OMNIROUTE_RANKING_DOUBLE(prior_weight, prior_weight, 1e6)
  OMNIROUTE_RANKING_DOUBLE(prior_good_rate, prior_good_rate, 1)
  OMNIROUTE_RANKING_DOUBLE(prior_tip_rate, prior_tip_rate, 1)
#undef OMNIROUTE_RANKING_DOUBLE
  if (r.has_core_points()) policy.core = r.core_points();
  if (r.has_elite_points()) policy.elite = r.elite_points();
  if (r.has_expert_points()) policy.expert = r.expert_points();
  if (r.has_master_points()) policy.master = r.master_points();
  if (r.has_demotion_margin()) policy.demotion_margin = r.demotion_margin();
  if (r.has_favourites_cap()) policy.favourites_cap = r.favourites_cap();
  if (r.has_handled_cap()) policy.handled_cap = r.handled_cap();
  if (absl::Status st = directory::ValidateRankingPolicy(policy); !st.ok()) {
    // The policy names its fields "ranking.<field>"; the thresholds are "<tier>_points" here.
    std::string message(st.message());
    for (absl::string_view tier : {"core", "elite", "expert", "master"}) {
      absl::StrReplaceAll({{absl::StrCat("ranking.", tier, ":"),
                            absl::StrCat("ranking.", tier, "_points:")},
                           {absl::StrCat("ranking.", tier, " "),
                            absl::StrCat("ranking.", tier, "_points ")}},
                          &message);
    }
    return absl::InvalidArgumentError(message);
  }

  const v1::DeviceSettings& dev = config.devices();
  DeviceRouting& devices = out.devices;
  if (!dev.channel_id().empty()) {
    if (absl::Status st = ValidateName("devices.channel_id", dev.channel_id()); !st.ok()) {
      return st;
    }
    devices.channel = ChannelId(dev.channel_id());
  }
  if (!dev.queue_id().empty()) {
    if (absl::Status st = ValidateName("devices.queue_id", dev.queue_id()); !st.ok()) return st;
    devices.queue = QueueId(dev.queue_id());
  }
  std::array<bool, 5> seen_severity{};
  for (int i = 0; i < dev.severity_priorities_size(); ++i) {
    const v1::SeverityPriority& sp = dev.severity_priorities(i);
    const std::string field = absl::StrCat("devices.severity_priorities[", i, "]");
    if (sp.severity() <= v1::DEVICE_ALERT_SEVERITY_UNSPECIFIED ||
        sp.severity() > v1::DEVICE_ALERT_SEVERITY_CRITICAL) {
      return Invalid(absl::StrCat(field, ".severity"), "required (LOW..CRITICAL)");
    }
    if (seen_severity[sp.severity()]) {
      return Invalid(absl::StrCat(field, ".severity"),
                     absl::StrCat(v1::DeviceAlertSeverity_Name(sp.severity()), " listed twice"));
    }
    seen_severity[sp.severity()] = true;
    if (sp.priority() < 0 || sp.priority() > 1000) {
      return Invalid(absl::StrCat(field, ".priority"),
                     absl::StrCat(sp.priority(), " is outside 0..1000"));
    }
    devices.severity_priority[sp.severity()] = sp.priority();
  }
  if (dev.fault_codes_size() > 10000) return Invalid("devices.fault_codes", "more than 10000");
  std::vector<std::string> codes;
  for (int i = 0; i < dev.fault_codes_size(); ++i) {
    const v1::FaultCodeRoute& fr = dev.fault_codes(i);
    const std::string field = absl::StrCat("devices.fault_codes[", i, "]");
    FaultCodeRoute route;
    std::string code = fr.fault_code();
    codes.push_back(code);
    if (!code.empty() && code.back() == '*') {
      route.prefix = true;
      code.pop_back();
    }
    if (!route.prefix || !code.empty()) {
      if (absl::Status st = ValidateFaultCode(absl::StrCat(field, ".fault_code"), code);
          !st.ok()) {
        return st;
      }
    }
    route.code = std::move(code);
    if (!fr.queue_id().empty()) {
      if (absl::Status st = ValidateName(absl::StrCat(field, ".queue_id"), fr.queue_id());
          !st.ok()) {
        return st;
      }
      route.queue = QueueId(fr.queue_id());
    } else if (devices.queue.empty()) {
      return Invalid(absl::StrCat(field, ".queue_id"), "required when devices.queue_id is not set");
    }
    for (int j = 0; j < fr.requirements_size(); ++j) {
      const v1::Requirement& req = fr.requirements(j);
      const std::string rf = absl::StrCat(field, ".requirements[", j, "]");
      if (absl::Status st = ValidateName(absl::StrCat(rf, ".skill_id"), req.skill_id());
          !st.ok()) {
        return st;
      }
      if (req.min_level() < 1 || req.min_level() > 5) {
        return Invalid(absl::StrCat(rf, ".min_level"),
                       absl::StrCat(req.min_level(), " is outside 1..5"));
      }
      route.requirements.push_back(Requirement{SkillId(req.skill_id()), req.min_level()});
    }
    if (fr.intent().size() > 256) {
      return Invalid(absl::StrCat(field, ".intent"), "longer than 256 characters");
    }
    route.intent = fr.intent();
    devices.routes.push_back(std::move(route));
  }
  if (absl::Status st = CheckUnique("devices.fault_codes", "fault code", codes, ".fault_code"); !st.ok()) {
    return st;
  }

  if (config.intent_routes_size() > 10000) return Invalid("intent_routes", "more than 10000");
  for (int i = 0; i < config.intent_routes_size(); ++i) {
    const v1::IntentRoute& route = config.intent_routes(i);
    const std::string field = absl::StrCat("intent_routes[", i, "]");
    if (route.intent().empty() || route.intent().size() > 256) {
      return Invalid(absl::StrCat(field, ".intent"), "must be 1..256 characters");
    }
    if (absl::Status st = ValidateName(absl::StrCat(field, ".queue_id"), route.queue_id());
        !st.ok()) {
      return st;
    }
    if (!out.intent_routes.emplace(route.intent(), QueueId(route.queue_id())).second) {
      return Invalid(absl::StrCat(field, ".intent"),
                     absl::StrCat("\"", route.intent(), "\" listed twice"));
    }
  }

  const v1::AuditSettings& audit = config.audit();
  {
    absl::StatusOr<absl::Duration> retention = DurationInRange(
        "audit.retention", audit.has_retention(), audit.retention(), defaults.audit_retention,
        absl::ZeroDuration(), absl::Hours(24 * 3650), "0s or 1m..87600h");
    if (!retention.ok()) return retention.status();
    if (*retention > absl::ZeroDuration() && *retention < absl::Minutes(1)) {
      return Invalid("audit.retention", absl::StrCat(absl::FormatDuration(*retention),
                                                     " is outside 0s or 1m..87600h"));
    }
    out.audit_retention = *retention;
  }
  {
    absl::StatusOr<int> v = IntInRange(
        "audit.max_events_per_session", audit.has_max_events_per_session(),
        audit.max_events_per_session(), defaults.audit_max_events_per_session, 10, 1000000);
    if (!v.ok()) return v.status();
    out.audit_max_events_per_session = *v;
  }
  return absl::OkStatus();
}


absl::Status ResolveTls(absl::string_view field, const v1::TlsSettings& tls, TlsFiles& out) {
  out.cert_file = tls.cert_file();
  out.key_file = tls.key_file();
  out.client_ca_file = tls.client_ca_file();
  out.require_client_certificate = tls.require_client_certificate();
  if (out.cert_file.empty() != out.key_file.empty()) {
    return Invalid(absl::StrCat(field, out.cert_file.empty() ? ".cert_file" : ".key_file"),
                   "required with the other of cert_file and key_file");
  }
  if (out.cert_file.empty() && (!out.client_ca_file.empty() || out.require_client_certificate)) {
    return Invalid(absl::StrCat(field, ".cert_file"),
                   "required for TLS (client_ca_file and require_client_certificate need it)");
  }
  if (out.require_client_certificate && out.client_ca_file.empty()) {
    return Invalid(absl::StrCat(field, ".client_ca_file"),
                   "required with require_client_certificate");
  }
  return absl::OkStatus();
}

bool HexDigest(absl::string_view hex, std::array<uint8_t, 32>& out) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (char c : hex.substr(2 * i, 2)) {
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return false;
    }
    out[i] = static_cast<uint8_t>(v);
  }
  return true;
}

// security.*, and whether each port may be plaintext or unauthenticated where it listens.
absl::Status ResolveSecurity(const v1::DaemonConfig& config, DaemonSettings& out) {
  const v1::SecuritySettings& sec = config.security();
  if (absl::Status s = ResolveTls("security.grpc_tls", sec.grpc_tls(), out.grpc_tls); !s.ok()) {
    return s;
  }
  if (absl::Status s = ResolveTls("security.http_tls", sec.http_tls(), out.http_tls); !s.ok()) {
    return s;
  }
  out.allow_insecure = sec.allow_insecure();
  std::vector<std::string> names, tokens, certificate_names;
  for (int i = 0; i < sec.clients_size(); ++i) {
    const v1::Client& c = sec.clients(i);
    const std::string path = absl::StrCat("security.clients[", i, "]");
    ClientSpec spec;
    spec.name = c.name();
    if (spec.name.empty() || spec.name.size() > 64 ||
        !std::all_of(spec.name.begin(), spec.name.end(), [](char ch) {
          return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' ||
                 ch == '-' || ch == '@';
        })) {
      return Invalid(absl::StrCat(path, ".name"), "must be 1..64 of a-z A-Z 0-9 . _ - @");
    }
    if (c.token_sha256().empty() && c.certificate_name().empty()) {
      return Invalid(absl::StrCat(path, ".token_sha256"),
                     "one of token_sha256 and certificate_name is required");
    }
    if (!c.token_sha256().empty()) {
      if (!HexDigest(c.token_sha256(), spec.token_sha256)) {
        return Invalid(absl::StrCat(path, ".token_sha256"),
                       "must be 64 hex digits (omnirouted --hash_token prints them)");
      }
      spec.has_token = true;
      tokens.push_back(absl::AsciiStrToLower(c.token_sha256()));
    } else {
      tokens.push_back(absl::StrCat("-none-", i));
    }
    spec.certificate_name = c.certificate_name();
    if (!spec.certificate_name.empty()) {
      if (spec.certificate_name.size() > 256 ||
          !std::all_of(spec.certificate_name.begin(), spec.certificate_name.end(), [](char ch) {
            return absl::ascii_isprint(static_cast<unsigned char>(ch));
          })) {
        return Invalid(absl::StrCat(path, ".certificate_name"),
                       "must be 1..256 printable characters");
      }
      if (!out.grpc_tls.mutual() && !out.http_tls.mutual()) {
        return Invalid(absl::StrCat(path, ".certificate_name"),
                       "needs mutual TLS (security.grpc_tls.client_ca_file or "
                       "security.http_tls.client_ca_file)");
      }
      certificate_names.push_back(spec.certificate_name);
    } else {
      certificate_names.push_back(absl::StrCat("-none-", i));
    }
    if (c.roles_size() == 0) return Invalid(absl::StrCat(path, ".roles"), "at least one is required");
    for (int r = 0; r < c.roles_size(); ++r) {
      const int role = c.roles(r);
      if (role == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(role)) {
        return Invalid(absl::StrCat(path, ".roles[", r, "]"),
                       "must be ROLE_GATEWAY, ROLE_DESKTOP, ROLE_SUPERVISOR or ROLE_ADMIN");
      }
      spec.roles |= 1u << role;
    }
    spec.agent_id = c.agent_id();
    if (spec.Has(v1::ROLE_DESKTOP)) {
      if (absl::Status s = ValidateName(absl::StrCat(path, ".agent_id"), spec.agent_id); !s.ok()) {
        return s;
      }
    } else if (!spec.agent_id.empty()) {
      return Invalid(absl::StrCat(path, ".agent_id"), "only a ROLE_DESKTOP client acts for an agent");
    }
    names.push_back(spec.name);
    out.clients.push_back(std::move(spec));
  }
  if (absl::Status s = CheckUnique("security.clients", "client", names, ".name"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckUnique("security.clients", "token", tokens, ".token_sha256");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckUnique("security.clients", "certificate name", certificate_names,
                                   ".certificate_name");
      !s.ok()) {
    return s;
  }
  bool seen[5] = {};
  for (int i = 0; i < sec.rate_limits_size(); ++i) {
    const v1::RateLimit& limit = sec.rate_limits(i);
    const std::string path = absl::StrCat("security.rate_limits[", i, "]");
    if (limit.role() == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(limit.role())) {
      return Invalid(absl::StrCat(path, ".role"), "required (a role other than ROLE_UNSPECIFIED)");
    }
    if (seen[limit.role()]) {
      return Invalid(absl::StrCat(path, ".role"),
                     absl::StrCat(v1::Role_Name(limit.role()), " has a rate limit already"));
    }
    seen[limit.role()] = true;
    absl::StatusOr<double> rate = DoubleInRange(absl::StrCat(path, ".requests_per_second"), true,
                                                limit.requests_per_second(), 0, 0.01, 1e6);
    if (!rate.ok()) return rate.status();
    const int default_burst = std::max(1, static_cast<int>(std::min(2 * *rate, 1e7)));
    absl::StatusOr<int> burst = IntInRange(absl::StrCat(path, ".burst"), limit.has_burst(),
                                           limit.burst(), default_burst, 1, 10000000);
    if (!burst.ok()) return burst.status();
    out.rate_limits[limit.role()] = RateSpec{*rate, *burst};
  }
  {
    absl::StatusOr<int> v =
        IntInRange("security.max_streams_per_client", sec.has_max_streams_per_client(),
                   sec.max_streams_per_client(), out.max_streams_per_client, 1, 100000);
    if (!v.ok()) return v.status();
    out.max_streams_per_client = *v;
  }
  // Where the ports listen: beyond loopback, plaintext and anonymous callers need consent.
  if (!out.allow_insecure) {
    if (!IsLoopbackAddress(out.listen_address) && !out.grpc_tls.enabled()) {
      return Invalid("listen_address",
                     absl::StrCat("\"", out.listen_address,
                                  "\" is not a loopback address: set security.grpc_tls, or "
                                  "security.allow_insecure to serve plaintext"));
    }
    if (!out.http_address.empty() && !IsLoopbackAddress(out.http_address) &&
        !out.http_tls.enabled()) {
      return Invalid("http_address",
                     absl::StrCat("\"", out.http_address,
                                  "\" is not a loopback address: set security.http_tls, or "
                                  "security.allow_insecure to serve plaintext"));
    }
    if (out.clients.empty() &&
        (!IsLoopbackAddress(out.listen_address) ||
         (!out.http_address.empty() && !IsLoopbackAddress(out.http_address)))) {
      return Invalid("security.clients",
                     "none, so any caller could do anything, on a non-loopback address: add "
                     "clients, or set security.allow_insecure");
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  const absl::string_view host = address.substr(0, colon == absl::string_view::npos ? 0 : colon);
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8, in dotted decimal.
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4) return false;
  for (size_t i = 0; i < 4; ++i) {
    uint32_t v = 0;
    if (parts[i].empty() || parts[i].size() > 3 || !absl::SimpleAtoi(parts[i], &v) || v > 255 ||
        !std::all_of(parts[i].begin(), parts[i].end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
      return false;
    }
    if (i == 0 && v != 127) return false;
  }
  return true;
}

absl::Status ValidateFaultCode(absl::string_view field, absl::string_view code) {
  if (code.empty() || code.size() > 64) return Invalid(field, "must be 1..64 characters");
  for (char c : code) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
          c == '-' || c == ':' || c == '/')) {
      return Invalid(field, "only A-Z a-z 0-9 . _ - : / are allowed");
    }
  }
  return absl::OkStatus();
}

const FaultCodeRoute* DeviceRouting::Match(absl::string_view code) const {
  const FaultCodeRoute* best = nullptr;
  for (const FaultCodeRoute& route : routes) {
    if (!route.prefix) {
      if (route.code == code) return &route;
      continue;
    }
    if (absl::StartsWith(code, route.code) &&
        (best == nullptr || route.code.size() > best->code.size())) {
      best = &route;
    }
  }
  return best;
}

absl::StatusOr<DaemonSettings> ResolveConfig(const v1::DaemonConfig& config,
                                             absl::string_view source) {
  const DaemonSettings defaults;  // its member initializers are config.proto's defaults
  DaemonSettings out;
  out.source = std::string(source);

  out.listen_address =
      config.listen_address().empty() ? defaults.listen_address : config.listen_address();
  if (absl::Status s = CheckHostPort("listen_address", out.listen_address); !s.ok()) return s;
  out.http_address =
      config.http_address().empty() ? defaults.http_address : config.http_address();
  if (out.http_address == "off") {
    out.http_address.clear();
  } else {
    if (absl::Status s = CheckHostPort("http_address", out.http_address); !s.ok()) return s;
  }
  out.data_dir = config.data_dir().empty() ? defaults.data_dir : config.data_dir();
  if (!v1::LogLevel_IsValid(config.log_level())) {
    return Invalid("log_level", absl::StrCat("unknown value ", config.log_level()));
  }
  out.log_level =
      config.log_level() == v1::LOG_LEVEL_UNSPECIFIED ? v1::LOG_LEVEL_INFO : config.log_level();

  // limits
  const v1::Limits& limits = config.limits();
#define OMNIROUTE_INT_LIMIT(name, default_value, lo, hi)                                        \
  {                                                                                             \
    absl::StatusOr<int> v =                                                                     \
        IntInRange("limits." #name, limits.has_##name(), limits.name(), default_value, lo, hi); \
    if (!v.ok()) return v.status();                                                             \
    out.name = *v;                                                                              \
  }
  OMNIROUTE_INT_LIMIT(max_message_bytes, defaults.max_message_bytes, 1024, 64 * 1024 * 1024)
  OMNIROUTE_INT_LIMIT(max_open_streams, defaults.max_open_streams, 1, 100000)
  OMNIROUTE_INT_LIMIT(stream_buffer_size, defaults.stream_buffer_size, 16, 1000000)
  OMNIROUTE_INT_LIMIT(max_waiting_sessions, defaults.max_waiting_sessions, 1, 100000000)
  OMNIROUTE_INT_LIMIT(max_page_size, defaults.max_page_size, 1, 100000)
  OMNIROUTE_INT_LIMIT(default_page_size, std::min(defaults.default_page_size, out.max_page_size), 1,
                      out.max_page_size)
  OMNIROUTE_INT_LIMIT(event_history_size, defaults.event_history_size, 0, 10000000)
#undef OMNIROUTE_INT_LIMIT
  {
    absl::StatusOr<absl::Duration> d =
        DurationInRange("limits.request_id_retention", limits.has_request_id_retention(),
                        limits.request_id_retention(), defaults.request_id_retention,
                        absl::Minutes(1), kSevenDays, "1m..7 days");
    if (!d.ok()) return d.status();
    out.request_id_retention = *d;
  }

  // engine
  const v1::EngineSettings& engine = config.engine();
  out.engine_options.channels = DefaultChannels();
  {
    absl::StatusOr<int> v = IntInRange(
        "engine.missed_offers_limit", engine.has_missed_offers_limit(),
        engine.missed_offers_limit(), defaults.engine_options.missed_offers_limit, 0, 1000);
    if (!v.ok()) return v.status();
    out.engine_options.missed_offers_limit = *v;
  }
  {
    absl::StatusOr<absl::Duration> d = DurationInRange(
        "engine.session_retention", engine.has_session_retention(), engine.session_retention(),
        defaults.engine_options.session_retention, absl::ZeroDuration(), kSevenDays, "0s..7 days");
    if (!d.ok()) return d.status();
    out.engine_options.session_retention = *d;
  }

  // stats
  const v1::StatsSettings& stats = config.stats();
  {
    absl::StatusOr<absl::Duration> d =
        DurationInRange("stats.max_window", stats.has_max_window(), stats.max_window(),
                        defaults.stats_max_window, absl::Minutes(1), kSevenDays, "1m..7 days");
    if (!d.ok()) return d.status();
    out.stats_max_window = *d;
  }
  if (!stats.has_default_window()) {
    out.stats_default_window = std::min(defaults.stats_default_window, out.stats_max_window);
  } else {
    absl::StatusOr<absl::Duration> d =
        DurationFromProto("stats.default_window", stats.default_window());
    if (!d.ok()) return d.status();
    if (*d <= absl::ZeroDuration()) return Invalid("stats.default_window", "must be positive");
    if (*d > out.stats_max_window) {
      return Invalid("stats.default_window",
                     absl::StrCat(absl::FormatDuration(*d), " is longer than stats.max_window (",
                                  absl::FormatDuration(out.stats_max_window), ")"));
    }
    out.stats_default_window = *d;
  }

  // durability
  const v1::DurabilitySettings& durability = config.durability();
  out.durable = !durability.has_enabled() || durability.enabled();
  if (!v1::SyncPolicy_IsValid(durability.sync_policy())) {
    return Invalid("durability.sync_policy",
                   absl::StrCat("unknown value ", durability.sync_policy()));
  }
  out.sync_policy = durability.sync_policy() == v1::SYNC_POLICY_UNSPECIFIED
                        ? defaults.sync_policy
                        : durability.sync_policy();
  {
    absl::StatusOr<absl::Duration> d = DurationInRange(
        "durability.sync_interval", durability.has_sync_interval(), durability.sync_interval(),
        defaults.sync_interval, absl::Milliseconds(1), absl::Seconds(10), "1ms..10s");
    if (!d.ok()) return d.status();
    out.sync_interval = *d;
  }
  {
    absl::StatusOr<absl::Duration> d = DurationInRange(
        "durability.snapshot_interval", durability.has_snapshot_interval(),
        durability.snapshot_interval(), defaults.snapshot_interval, absl::ZeroDuration(),
        absl::Hours(24), "0s or 10s..24h");
    if (!d.ok()) return d.status();
    if (*d > absl::ZeroDuration() && *d < absl::Seconds(10)) {
      return Invalid("durability.snapshot_interval",
                     absl::StrCat(absl::FormatDuration(*d), " is outside 0s or 10s..24h"));
    }
    out.snapshot_interval = *d;
  }
  {
    absl::StatusOr<int64_t> v = NumberInRange<int64_t>(
        "durability.snapshot_journal_bytes", durability.has_snapshot_journal_bytes(),
        durability.snapshot_journal_bytes(), defaults.snapshot_journal_bytes, int64_t{1} << 20,
        int64_t{64} << 30);
    if (!v.ok()) return v.status();
    out.snapshot_journal_bytes = *v;
  }
  {
    absl::StatusOr<int64_t> v = NumberInRange<int64_t>(
        "durability.segment_bytes", durability.has_segment_bytes(), durability.segment_bytes(),
        defaults.segment_bytes, int64_t{64} << 10, int64_t{1} << 30);
    if (!v.ok()) return v.status();
    out.segment_bytes = *v;
  }

  // Startup objects: proto-level checks here, the engine's own checks when applied.
  std::vector<std::string> ids;
  for (int i = 0; i < config.channels_size(); ++i) {
    absl::StatusOr<ChannelSpec> spec =
        ChannelFromProto(config.channels(i), absl::StrCat("channels[", i, "]"));
    if (!spec.ok()) return spec.status();
    ids.push_back(spec->id.value());
    out.channels.push_back(*std::move(spec));
  }
  if (absl::Status s = CheckUnique("channels", "channel", ids); !s.ok()) return s;

  ids.clear();
  for (int i = 0; i < config.queues_size(); ++i) {
    absl::StatusOr<QueueConfig> queue =
        QueueFromProto(config.queues(i), absl::StrCat("queues[", i, "]"));
    if (!queue.ok()) return queue.status();
    ids.push_back(queue->id.value());
    out.queues.push_back(*std::move(queue));
  }
  if (absl::Status s = CheckUnique("queues", "queue", ids); !s.ok()) return s;

  ids.clear();
  for (int i = 0; i < config.agents_size(); ++i) {
    absl::StatusOr<EngineerConfig> agent =
        AgentFromProto(config.agents(i), absl::StrCat("agents[", i, "]"));
    if (!agent.ok()) return agent.status();
    ids.push_back(agent->id.value());
    out.agents.push_back(*std::move(agent));
  }
  if (absl::Status s = CheckUnique("agents", "agent", ids); !s.ok()) return s;

  if (absl::Status s = ResolveServiceModel(config, defaults, out); !s.ok()) return s;
  if (absl::Status s = ResolveSecurity(config, out); !s.ok()) return s;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Startup objects

namespace {

// An engine refusal of the startup object `api` ("queues[1]"), whose engine name is `engine`
// ("queue"), with the path rewritten to the configuration's. A message that names no field
// gets the object's path in front.
absl::Status StartupRefusal(const absl::Status& status, absl::string_view engine_name,
                            const std::string& api) {
  absl::Status renamed = ToApiFieldPath(status, {{engine_name, api}});
  if (absl::StartsWith(renamed.message(), api)) return renamed;
  return absl::Status(renamed.code(), absl::StrCat(api, ": ", renamed.message()));
}

}  // namespace

absl::Status ApplyStartupObjects(const DaemonSettings& settings,
                                 const std::function<absl::Status(const Command&)>& apply) {
  for (size_t i = 0; i < settings.channels.size(); ++i) {
    if (absl::Status s = apply(UpsertChannel{settings.channels[i]}); !s.ok()) {
      return StartupRefusal(s, "channel", absl::StrCat("channels[", i, "]"));
    }
  }
  for (size_t i = 0; i < settings.queues.size(); ++i) {
    if (absl::Status s = apply(UpsertQueue{settings.queues[i]}); !s.ok()) {
      return StartupRefusal(s, "queue", absl::StrCat("queues[", i, "]"));
    }
  }
  for (size_t i = 0; i < settings.agents.size(); ++i) {
    if (absl::Status s = apply(UpsertEngineer{settings.agents[i]}); !s.ok()) {
      return StartupRefusal(s, "engineer", absl::StrCat("agents[", i, "]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyStartupObjects(const DaemonSettings& settings, Engine& engine, absl::Time now,
                                 std::vector<Event>* events) {
  return ApplyStartupObjects(
      settings, [&](const Command& command) { return engine.Apply(command, now, events); });
}

// ---------------------------------------------------------------------------------------------
// Command line

absl::StatusOr<CommandLine> ParseCommandLine(int argc, const char* const* argv) {
  CommandLine out;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "-h") {
      out.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--") || arg.size() == 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\" (flags are --name=value; see --help)"));
    }
    absl::string_view name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != absl::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    if (!IsKnownFlag(name)) {
      const std::string underscored = absl::StrReplaceAll(name, {{"-", "_"}});
      if (underscored != name && IsKnownFlag(underscored)) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown flag --", name, " (did you mean --", underscored, "?)"));
      }
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (name == kFlagHelp || name == kFlagVersion || name == kFlagInMemory ||
        name == kFlagHashToken) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      (name == kFlagHelp      ? out.help
       : name == kFlagVersion ? out.version
       : name == kFlagHashToken ? out.hash_token
                                : out.in_memory) = true;
      continue;
    }
    if (!value.has_value()) {  // --flag value
      if (i + 1 >= argc || absl::StartsWith(argv[i + 1], "--")) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (name == kFlagConfig) {
      if (value->empty()) return absl::InvalidArgumentError("--config needs a path");
      out.config_path = *std::move(value);
    } else if (name == kFlagListen) {
      if (absl::Status s = CheckHostPort("--listen", *value); !s.ok()) return s;
      out.listen = *std::move(value);
    } else if (name == kFlagHttp) {
      if (*value != "off") {
        if (absl::Status s = CheckHostPort("--http", *value); !s.ok()) return s;
      }
      out.http = *std::move(value);
    } else if (name == kFlagDataDir) {
      if (value->empty()) {
        return absl::InvalidArgumentError(
            "--data_dir needs a directory (--in_memory keeps the state in memory only)");
      }
      out.data_dir = *std::move(value);
    } else if (name == kFlagLogLevel) {
      absl::StatusOr<v1::LogLevel> level = ParseLogLevel(*value);
      if (!level.ok()) return level.status();
      out.log_level = *level;
    }
  }
  return out;
}

std::string UsageText() {
  return R"(Usage: omnirouted [flags]

omnirouted is the omniroute contact-centre routing daemon: channel gateways, agent desktops
and the robot-chat bot talk to it over gRPC (package omniroute.v1).

With no flags it starts with the embedded demo configuration: an after-sales service centre
with a few queues and demo agents, listening on 127.0.0.1:7400, its state journaled in
./data (a restart recovers every session).

Flags (--flag=value or --flag value):
  --config=PATH       Read the configuration from PATH, a DaemonConfig in protobuf text
                      format (see proto/omniroute/v1/config.proto and
                      proto/examples/omnirouted.textproto). Replaces the demo configuration.
  --listen=HOST:PORT  The gRPC listen address; overrides listen_address. "[::]:7400" listens
                      on every interface; port 0 picks a free port.
  --http=HOST:PORT    The HTTP address of /metrics, /healthz and /readyz; overrides
                      http_address (default 127.0.0.1:7401). "off" serves no HTTP; port 0
                      picks a free port.
  --data_dir=DIR      Directory for the journal, snapshots and lock file; overrides
                      data_dir (default "data" under the working directory).
  --in_memory         Keep the state in memory only (durability.enabled: false): nothing
                      is written, a restart loses every session. For tests.
  --log_level=LEVEL   debug, info, warning or error; overrides log_level. Customer data is
                      logged only at debug.
  --help, -h          Print this help and exit.
  --version           Print the version and exit.
  --hash_token        Read a client's bearer token on stdin and print its SHA-256 in hex,
                      for security.clients[].token_sha256 (docs/SECURITY.md), then exit.

Flags override the configuration file. Unknown flags are an error.

Examples:
  omnirouted
  omnirouted --config=/etc/omniroute/omnirouted.textproto --listen=[::]:7400 --log_level=warning
  head -c 32 /dev/urandom | base64 | tr -d '\n' | tee gateway.token | omnirouted --hash_token
)";
}

absl::StatusOr<DaemonSettings> LoadSettings(const CommandLine& command_line) {
  v1::DaemonConfig config;
  std::string source;
  if (command_line.config_path.has_value()) {
    absl::StatusOr<v1::DaemonConfig> loaded = LoadConfigFile(*command_line.config_path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
    source = *command_line.config_path;
  } else {
    config = DemoConfig();
    source = std::string(kDemoConfigSource);
  }
  if (command_line.listen.has_value()) config.set_listen_address(*command_line.listen);
  if (command_line.http.has_value()) config.set_http_address(*command_line.http);
  if (command_line.data_dir.has_value()) config.set_data_dir(*command_line.data_dir);
  if (command_line.in_memory) config.mutable_durability()->set_enabled(false);
  if (command_line.log_level.has_value()) config.set_log_level(*command_line.log_level);

  absl::StatusOr<DaemonSettings> settings = ResolveConfig(config, source);
  if (!settings.ok()) {
    return absl::Status(settings.status().code(),
                        absl::StrCat(source, ": ", settings.status().message()));
  }
  return settings;
}

}  // namespace omniroute::daemon
