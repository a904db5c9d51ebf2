// omnirouted: the omniroute routing daemon.
//
//   omnirouted                      # the embedded demo configuration, on 127.0.0.1:7400
//   omnirouted --config=FILE        # a DaemonConfig in protobuf text format
//   omnirouted --listen=0.0.0.0:7400 --log_level=debug
//
// Once serving, it prints one line on stdout, "omnirouted listening on HOST:PORT" (the port
// actually bound, useful with port 0), and logs to stderr. SIGTERM or SIGINT: graceful
// shutdown (stop accepting, finish in-flight calls, end streams with OK), exit status 0.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/audit.h"
#include "daemon/config.h"
#include "daemon/customer_service.h"
#include "daemon/customers.h"
#include "daemon/http_endpoints.h"
#include "daemon/http_server.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/router.h"
#include "daemon/security.h"
#include "daemon/services.h"
#include "daemon/wallboard.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

namespace omniroute::daemon {
namespace {

// host:port -> host and port; the port may be 0.
bool SplitAddress(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  const std::string p = address.substr(colon + 1);
  if (p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
  }
  *port = std::atoi(p.c_str());
  return *port <= 65535;
}

// SIGHUP: the HTTP port's certificate is read again; one that does not load keeps the old.
void ReloadHttpTls(HttpServer* http, const TlsFiles& files) {
  if (http == nullptr || !http->tls()) return;
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files, "security.http_tls");
  absl::Status s = material.ok() ? http->ReloadTls(*material) : material.status();
  if (!s.ok()) {
    LogError("TLS reload failed; the certificate in force stays",
             {{"error", std::string(s.message())}});
    return;
  }
  LogInfo("TLS certificate reloaded (HTTP port)",
          {{"subject", material->subject}, {"expires", material->not_after}});
}

int Run(int argc, char** argv) {
  // Debian's Abseil is built with deadlock detection on: every absl::Mutex (gRPC's, on
  // every call) then records lock-order edges in a global graph, a few % of the daemon's CPU
  // under load. It only ever reports; the daemon's own locks are std::mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (!command_line.ok()) {
    std::fprintf(stderr, "omnirouted: %s\n\n%s", std::string(command_line.status().message()).c_str(),
                 UsageText().c_str());
    return 2;
  }
  if (command_line->help) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  if (command_line->version) {
    std::printf("omnirouted %s\n", OMNIROUTE_VERSION);
    return 0;
  }
  if (command_line->hash_token) {
    // The token is the first line of stdin, without its line end.
    std::string token;
    for (int c = std::getchar(); c != EOF && c != '\n' && c != '\r'; c = std::getchar()) {
      token.push_back(static_cast<char>(c));
    }
    if (token.empty()) {
      std::fputs("omnirouted: --hash_token: no token on stdin\n", stderr);
      return 2;
    }
    std::printf("%s\n", HashTokenHex(token).c_str());
    return 0;
  }
  absl::StatusOr<DaemonSettings> settings = LoadSettings(*command_line);
  if (!settings.ok()) {
    std::fprintf(stderr, "omnirouted: configuration: %s\n",
                 std::string(settings.status().message()).c_str());
    return 2;
  }
  SetLogLevel(settings->log_level);
  // Who may call, and TLS on the gRPC port (its files are checked before anything starts).
  Security security(*settings);
  std::unique_ptr<GrpcTls> grpc_tls;
  if (settings->grpc_tls.enabled()) {
    absl::StatusOr<std::unique_ptr<GrpcTls>> tls =
        GrpcTls::Create(settings->grpc_tls, "security.grpc_tls");
    if (!tls.ok()) {
      LogError("cannot load the TLS certificate", {{"source", settings->source},
                                                    {"error", std::string(tls.status().message())}});
      return 2;
    }
    grpc_tls = *std::move(tls);
    LogInfo("TLS on the gRPC port",
            {{"subject", grpc_tls->material().subject},
             {"expires", grpc_tls->material().not_after},
             {"client_certificates", !settings->grpc_tls.mutual() ? "none"
                                     : settings->grpc_tls.require_client_certificate
                                         ? "required"
                                         : "accepted"}});
  } else if (!IsLoopbackAddress(settings->listen_address)) {
    LogWarning("serving gRPC in plaintext beyond loopback (security.allow_insecure)",
               {{"address", settings->listen_address}});
  }
  // TLS on the HTTP port: its files are checked before anything starts, too.
  std::optional<HttpTls> http_tls;
  if (!settings->http_address.empty() && settings->http_tls.enabled()) {
    absl::StatusOr<TlsMaterial> material =
        LoadTlsMaterial(settings->http_tls, "security.http_tls");
    if (!material.ok()) {
      LogError("cannot load the TLS certificate",
               {{"source", settings->source},
                {"error", std::string(material.status().message())}});
      return 2;
    }
    http_tls = HttpTls{*std::move(material), settings->http_tls.require_client_certificate};
    LogInfo("TLS on the HTTP port",
            {{"subject", http_tls->material.subject},
             {"expires", http_tls->material.not_after},
             {"client_certificates", !settings->http_tls.mutual() ? "none"
                                     : settings->http_tls.require_client_certificate
                                         ? "required"
                                         : "accepted"}});
  }
  if (!settings->http_address.empty() && !settings->http_tls.enabled() &&
      !IsLoopbackAddress(settings->http_address)) {
    LogWarning("serving HTTP in plaintext beyond loopback (security.allow_insecure)",
               {{"address", settings->http_address}});
  }
  if (!security.enabled() && (!IsLoopbackAddress(settings->listen_address) ||
                              (!settings->http_address.empty() &&
                               !IsLoopbackAddress(settings->http_address)))) {
    LogWarning("no security.clients: any caller may do anything (security.allow_insecure)");
  }
  std::string host;
  int port = 0;
  if (!SplitAddress(settings->listen_address, &host, &port)) {
    LogError("bad listen address (want host:port)", {{"address", settings->listen_address}});
    return 2;
  }

  Router router(*settings);
  // /healthz answers from here on; /readyz and /metrics once the state is recovered.
  CallMetrics calls;
  std::atomic<Readiness> readiness{Readiness::kStarting};
  // The wallboard observes decisions once the recovery is over and publishes them over HTTP.
  Wallboard wallboard(router);
  router.AddObserver(&wallboard);
  std::unique_ptr<HttpServer> http;
  if (!settings->http_address.empty()) {
    absl::StatusOr<std::unique_ptr<HttpServer>> started = HttpServer::Start(
        settings->http_address, MakeHttpHandler(router, calls, readiness, wallboard, security),
        std::move(http_tls));
    if (!started.ok()) {
      LogError("cannot serve HTTP (address in use or not available; http_address \"off\" "
               "serves none)",
               {{"address", settings->http_address},
                {"error", std::string(started.status().message())}});
      return 1;
    }
    http = *std::move(started);
    wallboard.Attach(http.get());
  }

  // The customer directory: opened by Init once the data directory is locked (the recovery's
  // replay records the history into it).
  Customers customers(router, router.settings());
  router.AddObserver(&customers);
  // The decision audit (GetSessionHistory): its store is opened by Init too.
  Audit audit(router, router.settings());
  router.AddObserver(&audit);
  // On an early return below, the router stops (with its shutdown snapshot, which asks its
  // observers to sync) while the observers are still alive: they are destroyed before it.
  struct StopRouterFirst {
    Router& router;
    ~StopRouterFirst() { router.Stop(); }
  } stop_router_first{router};
  if (absl::Status s = router.Init(); !s.ok()) {
    if (router.startup_objects_refused()) {
      LogError("configuration refused by the engine",
               {{"source", settings->source}, {"error", std::string(s.message())}});
      return 2;
    }
    LogError("cannot start: the data directory cannot be used (see docs/OPERATIONS.md)",
             {{"data_dir", settings->data_dir},
              {"code", absl::StatusCodeToString(s.code())},
              {"error", std::string(s.message())}});
    return 1;
  }

  if (absl::Status s = customers.Start(); !s.ok()) {
    LogError("cannot start: the customer directory cannot be read",
             {{"data_dir", settings->data_dir},
              {"code", absl::StatusCodeToString(s.code())},
              {"error", std::string(s.message())}});
    return 1;
  }
  audit.Start();

  AdminServiceImpl admin(security, router);
  SessionServiceImpl sessions(security, router, &customers, &audit);
  AgentServiceImpl agents(security, router);
  EventServiceImpl events(security, router);
  CustomerServiceImpl customer_service(security, customers);
  DeviceServiceImpl device_service(security, customers);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(
      settings->listen_address,
      grpc_tls != nullptr ? grpc_tls->credentials() : grpc::InsecureServerCredentials(),
      &bound_port);
  // The health and reflection services are synchronous; their pollers wake this often, which
  // bounds how long a graceful shutdown waits for them (the default is 10 s).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::CQ_TIMEOUT_MSEC, 100);
  builder.SetMaxReceiveMessageSize(settings->max_message_bytes);
  builder.SetMaxSendMessageSize(settings->max_message_bytes);
  builder.RegisterService(&admin);
  builder.RegisterService(&sessions);
  builder.RegisterService(&agents);
  builder.RegisterService(&events);
  builder.RegisterService(&customer_service);
  builder.RegisterService(&device_service);
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
    factories.push_back(calls.InterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    LogError("cannot listen (address in use or not available)",
             {{"address", settings->listen_address}});
    return 1;
  }
  // The whole server ("") and each service by its full name.
  server->GetHealthCheckService()->SetServingStatus(true);
  for (const char* service :
       {"omniroute.v1.AdminService", "omniroute.v1.SessionService",
        "omniroute.v1.AgentService", "omniroute.v1.EventService",
        "omniroute.v1.CustomerService", "omniroute.v1.DeviceService"}) {
    server->GetHealthCheckService()->SetServingStatus(service, true);
  }

  std::promise<int> signalled;
  std::future<int> shutdown = signalled.get_future();
  // SIGHUP: the certificates are read again (on the engine thread; the files are small). A
  // file that does not load keeps the old certificate in force.
  router.Start([&signalled](int sig) { signalled.set_value(sig); },
               [&grpc_tls, &http, &settings] {
                 ReloadHttpTls(http.get(), settings->http_tls);
                 if (grpc_tls == nullptr) return;
                 if (absl::Status s = grpc_tls->Reload(); !s.ok()) {
                   LogError("TLS reload failed; the certificate in force stays",
                            {{"error", std::string(s.message())}});
                   return;
                 }
                 LogInfo("TLS certificate reloaded (gRPC port)",
                         {{"subject", grpc_tls->material().subject},
                          {"expires", grpc_tls->material().not_after}});
               });
  wallboard.Start();

  const std::string bound = absl::StrCat(host, ":", bound_port);
  LogInfo("omnirouted serving",
          {{"address", bound},
           {"config", settings->source},
           {"queues", static_cast<int>(settings->queues.size())},
           {"agents", static_cast<int>(settings->agents.size())}});
  // Ready before the lines that tell clients (and tests) the daemon is up.
  readiness = Readiness::kReady;
  std::printf("omnirouted listening on %s\n", bound.c_str());
  if (http != nullptr) {
    std::string http_host;
    int http_port = 0;
    SplitAddress(settings->http_address, &http_host, &http_port);
    const std::string http_bound = absl::StrCat(http_host, ":", http->port());
    LogInfo("omnirouted serving HTTP", {{"address", http_bound}});
    std::printf("omnirouted http on %s\n", http_bound.c_str());
  }
  std::fflush(stdout);

  const int sig = shutdown.get();
  // Graceful: not serving for health checks, streams end with OK, in-flight calls finish
  // (the engine thread keeps running until the server has shut down).
  server->GetHealthCheckService()->SetServingStatus(false);
  readiness = Readiness::kStopping;
  router.BeginShutdown();
  // Let the unary calls in flight be answered (the engine thread keeps running), then stop
  // the server. gRPC would otherwise wait for the whole deadline while clients keep idle
  // connections open, so the deadline is short once nothing is in flight; calls arriving in
  // that instant are answered within it or cancelled.
  if (!router.AwaitNoCallsInFlight(absl::Seconds(10))) {
    LogWarning("calls still in flight after 10 s; cancelling them");
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(250));
  wallboard.Stop();
  if (http != nullptr) http->Stop();
  router.Stop();
  customers.Stop();
  audit.Stop();
  LogInfo("omnirouted stopped", {{"signal", sig}});
  return 0;
}

}  // namespace
}  // namespace omniroute::daemon

int main(int argc, char** argv) { return omniroute::daemon::Run(argc, argv); }
