// Access control of omnirouted (docs/SECURITY.md): who is calling (a bearer token, or the
// certificate of a mutual-TLS client, mapped to a configured client), whether its roles allow
// the RPC, its rate limit and its open streams; and the TLS credentials of the ports, reloaded
// from their PEM files on SIGHUP.
//
//   Security security(settings);
//   // In each handler, before anything else:
//   const Principal* caller = nullptr;
//   if (grpc::Status s = security.Admit(*ctx, Rpc::kAcceptOffer, {"agent_id", r->agent_id()},
//                                       &caller); !s.ok()) return Answer(ctx, s);
//
// Without `security.clients` every caller is the local principal: every role, no rate limit.
// Tokens are hashed (SHA-256) on arrival; the hash finds the candidate client and the full
// digests are then compared in constant time. Neither a token nor its hash is ever logged.

#ifndef OMNIROUTE_DAEMON_SECURITY_H_
#define OMNIROUTE_DAEMON_SECURITY_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/config.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/server_credentials.h"

namespace omniroute::daemon {

// Every RPC of the public API. kRpcTable (security.cc) gives each its full method name and the
// roles that may call it; a test checks the table against the service descriptors.
enum class Rpc : uint8_t {
  // AdminService
  kUpsertChannel,
  kListChannels,
  kUpsertQueue,
  kDeleteQueue,
  kGetQueue,
  kListQueues,
  kUpsertAgent,
  kDeleteAgent,
  kGetAgent,
  kListAgents,
  kGetQueueStats,
  kGetAgentStats,
  // SessionService
  kCreateSession,
  kGetSession,
  kListSessions,
  kCancelSession,
  kEscalateSession,
  kTransferSession,
  kCompleteSession,
  kRequestCallback,
  kWatchSession,
  kGetSessionHistory,
  // AgentService
  kSetPresence,
  kStreamOffers,
  kAcceptOffer,
  kRejectOffer,
  kClaimOffer,
  kEndWrapUp,
  // EventService
  kStreamEvents,
  // CustomerService
  kResolveCustomer,
  kGetCustomer,
  kUpdateCustomer,
  kLinkHandle,
  kUnlinkHandle,
  kMergeCustomers,
  kListInteractions,
  kRateSession,
  kGetAgentRating,
  kListAgentsForCustomer,
  // DeviceService
  kReportDeviceAlert,
  kCount,
};

struct RpcRule {
  const char* method;  // "/omniroute.v1.AdminService/UpsertChannel"
  uint32_t roles;      // bit v1::Role value; ROLE_ADMIN may call everything
  // Whether a client allowed only as ROLE_DESKTOP must name its own engineer in the request
  // field the handler passes (AgentField).
  bool desktop_own_agent;
};
const RpcRule& RuleOf(Rpc rpc);

// The field of a request that names the engineer a call acts for (desktop RPCs).
struct AgentField {
  absl::string_view field;  // "agent_id", "from_agent_id"
  absl::string_view value;
};

// A caller, as configured (one per security.clients entry), or the local principal when no
// client is configured. Lives as long as the Security that made it.
class Principal {
 public:
  Principal(ClientSpec spec, RateSpec rate, bool authenticated);
  const std::string& name() const { return spec_.name; }
  bool authenticated() const { return authenticated_; }
  bool Has(v1::Role role) const { return (spec_.roles >> role) & 1u; }
  uint32_t roles() const { return spec_.roles; }
  const std::string& agent_id() const { return spec_.agent_id; }
  const ClientSpec& spec() const { return spec_; }

  // Takes one token from the bucket at `now`; false when it is empty.
  bool TakeToken(std::chrono::steady_clock::time_point now);
  std::atomic<int>& open_streams() { return open_streams_; }

 private:
  const ClientSpec spec_;
  const RateSpec rate_;
  const bool authenticated_;
  std::mutex mu_;
  double tokens_;
  std::chrono::steady_clock::time_point last_{};
  std::atomic<int> open_streams_{0};
};

// A server stream counted against its client's security.max_streams_per_client; released when
// destroyed (keep it in the stream's on-done callback).
class StreamTicket {
 public:
  StreamTicket() = default;
  explicit StreamTicket(Principal* principal) : principal_(principal) {}
  StreamTicket(StreamTicket&& other) noexcept : principal_(other.principal_) {
    other.principal_ = nullptr;
  }
  StreamTicket& operator=(StreamTicket&& other) noexcept {
    if (this != &other) {
      Release();
      principal_ = other.principal_;
      other.principal_ = nullptr;
    }
    return *this;
  }
  StreamTicket(const StreamTicket&) = delete;
  StreamTicket& operator=(const StreamTicket&) = delete;
  ~StreamTicket() { Release(); }

 private:
  void Release() {
    if (principal_ != nullptr) principal_->open_streams().fetch_sub(1);
    principal_ = nullptr;
  }

  Principal* principal_ = nullptr;
};

// What a TLS-capable transport says about the peer: whether it presented a certificate that
// verified, and the names in it (common name, DNS and URI subject alternative names).
struct PeerCertificate {
  bool verified = false;
  std::vector<std::string> names;
};

class Security {
 public:
  explicit Security(const DaemonSettings& settings);
  Security(const Security&) = delete;
  Security& operator=(const Security&) = delete;

  // Whether clients are configured (every call must then authenticate).
  bool enabled() const { return !by_name_.empty(); }

  // Authenticates the call and checks that the caller may make `rpc` (acting for the engineer
  // `agent` when the rule says so) and has a token in its bucket. UNAUTHENTICATED,
  // PERMISSION_DENIED (naming the field for a desktop acting for another engineer),
  // RESOURCE_EXHAUSTED; the call must then be answered with it and do nothing.
  grpc::Status Admit(const grpc::CallbackServerContext& ctx, Rpc rpc, AgentField agent,
                     Principal** caller) const;
  grpc::Status Admit(const grpc::CallbackServerContext& ctx, Rpc rpc, Principal** caller) const {
    return Admit(ctx, rpc, AgentField{}, caller);
  }
  // Admit for a server-streaming RPC, and one more stream of the caller's: RESOURCE_EXHAUSTED
  // beyond security.max_streams_per_client.
  grpc::Status AdmitStream(const grpc::CallbackServerContext& ctx, Rpc rpc, AgentField agent,
                           StreamTicket* ticket) const;

  // The same checks for a transport other than gRPC (HTTP): `authorization` is the header's
  // value ("Bearer <token>", or empty), `required` the roles of which one is needed.
  absl::StatusOr<Principal*> Authenticate(absl::string_view authorization,
                                          const PeerCertificate& peer) const;
  grpc::Status Authorize(Principal& caller, uint32_t required) const;
  // One more stream for `caller` (HTTP event streams); RESOURCE_EXHAUSTED beyond the limit.
  absl::StatusOr<StreamTicket> OpenStream(Principal& caller) const;

  // The local principal (every role), used when no client is configured.
  Principal& local() const { return *local_; }

 private:
  absl::StatusOr<Principal*> AuthenticateGrpc(const grpc::CallbackServerContext& ctx) const;
  grpc::Status Check(const grpc::CallbackServerContext& ctx, Rpc rpc, AgentField agent,
                     Principal** caller) const;

  int max_streams_per_client_;
  std::unique_ptr<Principal> local_;
  std::vector<std::unique_ptr<Principal>> principals_;
  absl::flat_hash_map<std::string, Principal*> by_name_;
  // By the first 8 bytes of the token's SHA-256 (the full digest is then compared).
  absl::flat_hash_map<uint64_t, Principal*> by_token_;
  absl::flat_hash_map<std::string, Principal*> by_certificate_;
};

// SHA-256 of `token`, in lower-case hex (what Client.token_sha256 holds).
std::string HashTokenHex(absl::string_view token);

// The PEM material of one port, read from its files and checked: the chain parses, the key
// matches its first certificate, the CA bundle parses. Errors are INVALID_ARGUMENT (or
// NOT_FOUND / PERMISSION_DENIED for a file) naming `field` ("security.grpc_tls.key_file: ...").
struct TlsMaterial {
  std::string cert_chain_pem, private_key_pem, client_ca_pem;
  std::string subject;    // of the daemon's certificate, for logs
  std::string not_after;  // its expiry, for logs ("Nov 24 06:00:00 2027 GMT")
};
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files, absl::string_view field);

// TLS for the gRPC port. gRPC's certificate provider watches files; the daemon keeps its own
// copies of the PEM material in memory-backed files (memfd, never on disk) and replaces them on
// Reload, which gRPC then picks up within a second for new connections. Open connections and
// their streams go on with the session they negotiated.
class GrpcTls {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcTls>> Create(const TlsFiles& files, std::string field);
  ~GrpcTls();
  GrpcTls(const GrpcTls&) = delete;
  GrpcTls& operator=(const GrpcTls&) = delete;

  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }
  // Reads the files again. On an error the certificate in force stays, and the error names the
  // field.
  absl::Status Reload();
  const TlsMaterial& material() const { return material_; }

 private:
  GrpcTls(TlsFiles files, std::string field) : files_(std::move(files)), field_(std::move(field)) {}
  absl::Status Stage(const TlsMaterial& material);

  TlsFiles files_;
  std::string field_;
  TlsMaterial material_;
  // Memory-backed files: the key, the chain, the client CA bundle (-1: none).
  std::array<int, 3> fds_ = {-1, -1, -1};
  std::shared_ptr<grpc::ServerCredentials> credentials_;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_SECURITY_H_
