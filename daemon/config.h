// The daemon's configuration: the DaemonConfig file (or the embedded demo configuration), the
// command line that overrides it, and the settings resolved from both.
//
//   absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
//   absl::StatusOr<DaemonSettings> settings = LoadSettings(*command_line);
//   Engine engine(settings->engine_options);
//   absl::Status s = ApplyStartupObjects(*settings, engine, absl::Now(), &events);
//
// The contract of every field (defaults, ranges) is written on the DaemonConfig message in
// proto/omniroute/v1/config.proto; this file implements it. Errors are INVALID_ARGUMENT with a
// message starting with the offending field's path in the configuration
// ("limits.max_open_streams: 0 is outside 1..100000", "queues[1].overflow_queue_id: ..."),
// or, for text that does not parse, "<source>:<line>:<column>: <what>".

#ifndef OMNIROUTE_DAEMON_CONFIG_H_
#define OMNIROUTE_DAEMON_CONFIG_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "omniroute/channel.h"
#include "omniroute/directory/ranking.h"
#include "omniroute/engine.h"
#include "omniroute/engineer.h"
#include "omniroute/event.h"
#include "omniroute/queue.h"
#include "omniroute/v1/config.pb.h"

namespace omniroute::daemon {

// One row of the device fault-code table (devices.fault_codes).
struct FaultCodeRoute {
  std::string code;     // without the trailing '*' of a prefix
  bool prefix = false;  // "E4*": every code starting with "E4"
  QueueId queue;        // empty: DeviceRouting::queue
  std::vector<Requirement> requirements;
  std::string intent;   // empty: "device-fault:<code>"
};

// devices.*, resolved.
struct DeviceRouting {
  ChannelId channel = ChannelId("iot_alert");
  QueueId queue;  // empty: only alerts a route sends to a queue are accepted
  // Priority by DeviceAlertSeverity value (index 0 unused).
  std::array<int, 5> severity_priority = {0, 100, 300, 600, 900};
  std::vector<FaultCodeRoute> routes;

  // The route for `code`: an exact code first, then the longest matching prefix; nullptr if
  // none matches.
  const FaultCodeRoute* Match(absl::string_view code) const;
};

// security.grpc_tls / security.http_tls, resolved: TLS is on when `cert_file` is set.
struct TlsFiles {
  std::string cert_file, key_file, client_ca_file;
  bool require_client_certificate = false;
  bool enabled() const { return !cert_file.empty(); }
  bool mutual() const { return !client_ca_file.empty(); }
};

// One of security.clients, resolved. `roles` is a bit set: bit v1::Role value.
struct ClientSpec {
  std::string name;
  bool has_token = false;
  std::array<uint8_t, 32> token_sha256{};
  std::string certificate_name;  // empty: none
  uint32_t roles = 0;
  std::string agent_id;  // ROLE_DESKTOP's engineer
  bool Has(v1::Role role) const { return (roles >> role) & 1u; }
};

// A token bucket's settings (security.rate_limits).
struct RateSpec {
  double per_second = 0;
  int burst = 0;
};

// What `DaemonSettings::source` says when the embedded demo configuration is in use.
inline constexpr absl::string_view kDemoConfigSource = "embedded demo configuration";

// Settings resolved from a DaemonConfig: every default filled in, every range checked. A
// default-constructed DaemonSettings holds the defaults too (what an empty DaemonConfig
// resolves to, with an empty `source`), for tests that build settings by hand.
struct DaemonSettings {
  std::string listen_address = "127.0.0.1:7400";
  std::string http_address = "127.0.0.1:7401";  // "" when "off": no HTTP endpoint
  std::string data_dir = "data";                // default "data" (under the working directory)
  v1::LogLevel log_level = v1::LOG_LEVEL_INFO;  // never UNSPECIFIED after resolving
  // limits.*, with their defaults from config.proto.
  int max_message_bytes = 4 * 1024 * 1024;
  int max_open_streams = 1024;
  int stream_buffer_size = 1024;
  int max_waiting_sessions = 100000;
  int default_page_size = 100;
  int max_page_size = 1000;
  absl::Duration request_id_retention = absl::Hours(1);
  int event_history_size = 65536;
  // missed_offers_limit, session_retention; channels = DefaultChannels().
  EngineOptions engine_options;
  absl::Duration stats_default_window = absl::Minutes(15);
  absl::Duration stats_max_window = absl::Hours(24);
  // durability.*: the journal and snapshots in data_dir (durable = false: memory only).
  bool durable = true;
  v1::SyncPolicy sync_policy = v1::SYNC_POLICY_EVERY_BATCH;  // never UNSPECIFIED
  absl::Duration sync_interval = absl::Milliseconds(100);
  absl::Duration snapshot_interval = absl::Minutes(10);  // ZeroDuration: not on a timer
  int64_t snapshot_journal_bytes = int64_t{256} << 20;
  int64_t segment_bytes = int64_t{64} << 20;
  std::vector<ChannelSpec> channels;  // from config, in order (applied as commands at start)
  std::vector<QueueConfig> queues;
  std::vector<EngineerConfig> agents;
  std::string source;  // "embedded demo configuration" or the file path, for logs
  // customer_directory.*
  int64_t directory_cache_bytes = int64_t{256} << 20;
  bool directory_sync_writes = true;
  std::string customer_id_prefix = "cust-";
  std::vector<std::string> rating_tags = {"patient", "expert",   "fast",
                                          "friendly", "clear", "solved-first-time"};
  int directory_threads = 4;
  // ranking.*
  bool ranking_enabled = true;
  int ranking_min_ratings = 20;  // as many ratings as the prior weighs
  directory::RankingPolicy ranking;
  // devices.*, intent_routes
  DeviceRouting devices;
  absl::flat_hash_map<std::string, QueueId> intent_routes;
  // audit.*: ZeroDuration retention turns the decision audit off.
  absl::Duration audit_retention = absl::Hours(24 * 7);
  int audit_max_events_per_session = 1000;
  // security.*
  TlsFiles grpc_tls, http_tls;
  bool allow_insecure = false;
  std::vector<ClientSpec> clients;  // empty: no authentication
  // By v1::Role value (index 0 unused); the defaults are config.proto's.
  std::array<RateSpec, 5> rate_limits = {RateSpec{}, RateSpec{5000, 10000}, RateSpec{50, 200},
                                         RateSpec{100, 500}, RateSpec{2000, 10000}};
  int max_streams_per_client = 32;
};

// Whether `address` ("host:port") names a loopback host: 127.0.0.0/8, [::1], localhost.
bool IsLoopbackAddress(absl::string_view address);

// Strict protobuf text format parse of any message (google::protobuf::TextFormat::Parser) into
// `message`: unknown fields and syntax errors are INVALID_ARGUMENT with
// "<source>:<line>:<col>: <what>" (1-based line and column; the first error found, pointing
// at the name it quotes). Used for the configuration, and by the tools for scenarios and
// profiles.
absl::Status ParseTextProto(absl::string_view text, absl::string_view source,
                            google::protobuf::Message* message);

// The whole file at `path`, read for a text-format parse. A missing file is NOT_FOUND, an
// unreadable one PERMISSION_DENIED or INVALID_ARGUMENT (a directory); messages start with
// "<what> <path>: " ("configuration file /etc/omniroute/omnirouted.textproto: ...").
absl::StatusOr<std::string> ReadTextFile(const std::string& path, absl::string_view what);

// ParseTextProto for the daemon's configuration.
absl::StatusOr<v1::DaemonConfig> ParseConfigText(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path`. A missing file is NOT_FOUND, an unreadable one
// PERMISSION_DENIED or INVALID_ARGUMENT (a directory), text that does not parse
// INVALID_ARGUMENT; every message names the path.
absl::StatusOr<v1::DaemonConfig> LoadConfigFile(const std::string& path);

// The text of daemon/demo_config.textproto, embedded at build time.
absl::string_view DemoConfigText();
// DemoConfigText() parsed. It always parses (a test checks it); if it ever did not, this
// prints the error and aborts.
v1::DaemonConfig DemoConfig();

// Fills every default and checks every range of `config`, converting the startup channels,
// queues and agents to engine values (their proto-level checks; the engine checks the rest in
// ApplyStartupObjects). Also refused: a channel, queue or agent id listed twice, a listen or
// HTTP address that is not host:port (port 0..65535), an out-of-range log level.
//
// Where two defaults would contradict a value set by the operator, the unset one gives way:
// an unset limits.default_page_size is min(100, max_page_size), an unset
// stats.default_window min(15m, max_window).
//
// `source` only fills DaemonSettings::source; error messages start with the field path.
absl::StatusOr<DaemonSettings> ResolveConfig(const v1::DaemonConfig& config,
                                             absl::string_view source);

// Applies channels, then queues, then agents (DaemonConfig order) to `engine` as UpsertChannel
// / UpsertQueue / UpsertEngineer commands at `now`, appending events. Stops at the first
// refusal and returns it with the path rewritten to the configuration's, e.g.
// "queues[1].overflow_queue_id: queue \"x\" not found" (the objects applied before it stay).
absl::Status ApplyStartupObjects(const DaemonSettings& settings, Engine& engine, absl::Time now,
                                 std::vector<Event>* events);
// The same through `apply` (the daemon's, which journals each command).
absl::Status ApplyStartupObjects(const DaemonSettings& settings,
                                 const std::function<absl::Status(const Command&)>& apply);

// A device fault code: 1..64 of A-Z a-z 0-9 . _ - : /. INVALID_ARGUMENT naming `field`.
absl::Status ValidateFaultCode(absl::string_view field, absl::string_view code);

// The command line. No arguments: the embedded demo configuration. Flags (both `--flag=value`
// and `--flag value`): --config=PATH (a DaemonConfig textproto; replaces the demo config),
// --listen=HOST:PORT, --data_dir=DIR, --in_memory, --log_level=debug|info|warning|error
// (override the config), --help (or -h), --version. A flag given twice: the last one wins. Unknown flags or
// stray arguments are INVALID_ARGUMENT with a message naming them.
struct CommandLine {
  std::optional<std::string> config_path, listen, http, data_dir;
  std::optional<v1::LogLevel> log_level;
  bool in_memory = false;  // --in_memory: durability.enabled = false
  bool help = false, version = false;
  bool hash_token = false;  // --hash_token: print the SHA-256 of the token on stdin
};
absl::StatusOr<CommandLine> ParseCommandLine(int argc, const char* const* argv);

// For --help: what each flag does, with an example.
std::string UsageText();

// Loads the configuration (the --config file, or the demo configuration), applies the flag
// overrides, resolves. Errors from resolving are prefixed with the source
// ("/etc/omnirouted.textproto: limits.max_open_streams: 0 is outside 1..100000").
absl::StatusOr<DaemonSettings> LoadSettings(const CommandLine& command_line);

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_CONFIG_H_
