#include "daemon/security.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "openssl/bio.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/sha.h"
#include "openssl/x509.h"

namespace omniroute::daemon {
namespace {

constexpr uint32_t kGateway = 1u << v1::ROLE_GATEWAY;
constexpr uint32_t kDesktop = 1u << v1::ROLE_DESKTOP;
constexpr uint32_t kSupervisor = 1u << v1::ROLE_SUPERVISOR;
constexpr uint32_t kAdmin = 1u << v1::ROLE_ADMIN;

// The access table (docs/SECURITY.md prints it). Admin is added to every row.
constexpr RpcRule kRpcTable[] = {
    // AdminService: the configuration is the admin's; supervisors read it.
    {"/omniroute.v1.AdminService/UpsertChannel", 0, false},
    {"/omniroute.v1.AdminService/ListChannels", kSupervisor | kGateway, false},
    {"/omniroute.v1.AdminService/UpsertQueue", 0, false},
    {"/omniroute.v1.AdminService/DeleteQueue", 0, false},
    {"/omniroute.v1.AdminService/GetQueue", kSupervisor, false},
    {"/omniroute.v1.AdminService/ListQueues", kSupervisor, false},
    {"/omniroute.v1.AdminService/UpsertAgent", 0, false},
    {"/omniroute.v1.AdminService/DeleteAgent", 0, false},
    {"/omniroute.v1.AdminService/GetAgent", kSupervisor | kDesktop, true},
    {"/omniroute.v1.AdminService/ListAgents", kSupervisor, false},
    // Gateways tell waiting customers their expected wait.
    {"/omniroute.v1.AdminService/GetQueueStats", kSupervisor | kGateway, false},
    {"/omniroute.v1.AdminService/GetAgentStats", kSupervisor | kDesktop, true},
    // SessionService: the gateways'; supervisors read and move; desktops finish their own.
    {"/omniroute.v1.SessionService/CreateSession", kGateway, false},
    {"/omniroute.v1.SessionService/GetSession", kGateway | kSupervisor, false},
    {"/omniroute.v1.SessionService/ListSessions", kGateway | kSupervisor, false},
    {"/omniroute.v1.SessionService/CancelSession", kGateway, false},
    {"/omniroute.v1.SessionService/EscalateSession", kGateway, false},
    {"/omniroute.v1.SessionService/TransferSession", kGateway | kSupervisor | kDesktop, true},
    {"/omniroute.v1.SessionService/CompleteSession", kGateway | kDesktop, true},
    {"/omniroute.v1.SessionService/RequestCallback", kGateway, false},
    {"/omniroute.v1.SessionService/WatchSession", kGateway | kSupervisor, false},
    {"/omniroute.v1.SessionService/GetSessionHistory", kSupervisor, false},
    // AgentService: one engineer's desktop; supervisors change presence.
    {"/omniroute.v1.AgentService/SetPresence", kDesktop | kSupervisor, true},
    {"/omniroute.v1.AgentService/StreamOffers", kDesktop, true},
    {"/omniroute.v1.AgentService/AcceptOffer", kDesktop, true},
    {"/omniroute.v1.AgentService/RejectOffer", kDesktop, true},
    {"/omniroute.v1.AgentService/ClaimOffer", kDesktop, true},
    {"/omniroute.v1.AgentService/EndWrapUp", kDesktop, true},
    // EventService: every event of the router.
    {"/omniroute.v1.EventService/StreamEvents", kSupervisor, false},
    // CustomerService: the gateways'; the engineer sees the customer and its history.
    {"/omniroute.v1.CustomerService/ResolveCustomer", kGateway, false},
    {"/omniroute.v1.CustomerService/GetCustomer", kGateway | kDesktop | kSupervisor, false},
    {"/omniroute.v1.CustomerService/UpdateCustomer", kGateway, false},
    {"/omniroute.v1.CustomerService/LinkHandle", kGateway, false},
    {"/omniroute.v1.CustomerService/UnlinkHandle", kGateway, false},
    {"/omniroute.v1.CustomerService/MergeCustomers", kGateway, false},
    {"/omniroute.v1.CustomerService/ListInteractions", kGateway | kDesktop | kSupervisor, false},
    {"/omniroute.v1.CustomerService/RateSession", kGateway, false},
    {"/omniroute.v1.CustomerService/GetAgentRating", kGateway | kDesktop | kSupervisor, false},
    {"/omniroute.v1.CustomerService/ListAgentsForCustomer", kGateway, false},
    // DeviceService
    {"/omniroute.v1.DeviceService/ReportDeviceAlert", kGateway, false},
};
static_assert(sizeof(kRpcTable) / sizeof(kRpcTable[0]) == static_cast<size_t>(Rpc::kCount),
              "one row per Rpc");

std::string RoleNames(uint32_t roles) {
  std::vector<std::string> names;
  for (int r = v1::ROLE_GATEWAY; r <= v1::ROLE_ADMIN; ++r) {
    if ((roles >> r) & 1u) {
      names.push_back(absl::AsciiStrToLower(v1::Role_Name(static_cast<v1::Role>(r)).substr(5)));
    }
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

std::array<uint8_t, 32> Sha256(absl::string_view data) {
  std::array<uint8_t, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

uint64_t Prefix64(const std::array<uint8_t, 32>& digest) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | digest[i];
  return v;
}

// "Bearer <token>" (the scheme in any case) -> the token; empty if malformed.
absl::string_view BearerToken(absl::string_view header) {
  header = absl::StripAsciiWhitespace(header);
  if (header.size() < 7 || !absl::EqualsIgnoreCase(header.substr(0, 7), "bearer ")) return {};
  return absl::StripAsciiWhitespace(header.substr(7));
}

grpc::Status FromAbsl(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

const grpc::Status kMissingCredentials(
    grpc::StatusCode::UNAUTHENTICATED,
    "authentication required: send the metadata \"authorization: Bearer <token>\" or a client "
    "certificate (docs/SECURITY.md)");
const grpc::Status kInvalidCredentials(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials");

}  // namespace

const RpcRule& RuleOf(Rpc rpc) { return kRpcTable[static_cast<size_t>(rpc)]; }

// ---------------------------------------------------------------------------------------------
// Principal

Principal::Principal(ClientSpec spec, RateSpec rate, bool authenticated)
    : spec_(std::move(spec)), rate_(rate), authenticated_(authenticated), tokens_(rate.burst) {}

bool Principal::TakeToken(std::chrono::steady_clock::time_point now) {
  if (!authenticated_) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (last_ != std::chrono::steady_clock::time_point{}) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    if (elapsed > 0) tokens_ = std::min<double>(rate_.burst, tokens_ + elapsed * rate_.per_second);
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Security

Security::Security(const DaemonSettings& settings)
    : max_streams_per_client_(settings.max_streams_per_client) {
  ClientSpec local;
  local.name = "local";
  local.roles = kGateway | kDesktop | kSupervisor | kAdmin;
  local_ = std::make_unique<Principal>(std::move(local), RateSpec{}, /*authenticated=*/false);
  for (const ClientSpec& spec : settings.clients) {
    // A client with several roles takes the largest limit among them.
    RateSpec rate;
    for (int r = v1::ROLE_GATEWAY; r <= v1::ROLE_ADMIN; ++r) {
      if (!spec.Has(static_cast<v1::Role>(r))) continue;
      rate.per_second = std::max(rate.per_second, settings.rate_limits[r].per_second);
      rate.burst = std::max(rate.burst, settings.rate_limits[r].burst);
    }
    auto principal = std::make_unique<Principal>(spec, rate, /*authenticated=*/true);
    Principal* p = principal.get();
    principals_.push_back(std::move(principal));
    by_name_[spec.name] = p;
    if (spec.has_token) by_token_[Prefix64(spec.token_sha256)] = p;
    if (!spec.certificate_name.empty()) by_certificate_[spec.certificate_name] = p;
  }
}

absl::StatusOr<Principal*> Security::Authenticate(absl::string_view authorization,
                                                  const PeerCertificate& peer) const {
  if (!enabled()) return local_.get();
  if (!authorization.empty()) {
    const absl::string_view token = BearerToken(authorization);
    if (token.empty()) return absl::UnauthenticatedError("invalid credentials");
    const std::array<uint8_t, 32> digest = Sha256(token);
    auto it = by_token_.find(Prefix64(digest));
    // The hash found the candidate; the whole digests are compared in constant time.
    if (it == by_token_.end() ||
        CRYPTO_memcmp(digest.data(), it->second->spec().token_sha256.data(), digest.size()) != 0) {
      return absl::UnauthenticatedError("invalid credentials");
    }
    return it->second;
  }
  if (peer.verified) {
    for (const std::string& name : peer.names) {
      auto it = by_certificate_.find(name);
      if (it != by_certificate_.end()) return it->second;
    }
    return absl::UnauthenticatedError("invalid credentials");
  }
  return absl::UnauthenticatedError(std::string(kMissingCredentials.error_message()));
}

absl::StatusOr<Principal*> Security::AuthenticateGrpc(
    const grpc::CallbackServerContext& ctx) const {
  if (!enabled()) return local_.get();
  absl::string_view authorization;
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  if (it != metadata.end()) authorization = absl::string_view(it->second.data(), it->second.size());
  PeerCertificate peer;
  if (authorization.empty()) {
    std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
    if (auth != nullptr && auth->IsPeerAuthenticated()) {
      peer.verified = true;
      for (const char* property : {"x509_common_name", "x509_subject_alternative_name"}) {
        for (const grpc::string_ref& v : auth->FindPropertyValues(property)) {
          peer.names.emplace_back(v.data(), v.size());
        }
      }
    }
  }
  return Authenticate(authorization, peer);
}

grpc::Status Security::Authorize(Principal& caller, uint32_t required) const {
  if ((caller.roles() & (required | kAdmin)) != 0) return grpc::Status::OK;
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat("permission denied: client \"", caller.name(),
                   "\" (roles: ", RoleNames(caller.roles()),
                   ") may not do this; it takes one of: ", RoleNames(required | kAdmin)));
}

grpc::Status Security::Check(const grpc::CallbackServerContext& ctx, Rpc rpc, AgentField agent,
                             Principal** caller) const {
  absl::StatusOr<Principal*> principal = AuthenticateGrpc(ctx);
  if (!principal.ok()) {
    return principal.status().message() == kMissingCredentials.error_message()
               ? kMissingCredentials
               : kInvalidCredentials;
  }
  Principal& p = **principal;
  if (!p.TakeToken(std::chrono::steady_clock::now())) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("rate limit: client \"", p.name(),
                                     "\" is over its requests a second (security.rate_limits)"));
  }
  const RpcRule& rule = RuleOf(rpc);
  const std::string method = std::string(absl::string_view(rule.method).substr(1));
  if ((p.roles() & (rule.roles | kAdmin)) == 0) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("permission denied: client \"", p.name(),
                                     "\" (roles: ", RoleNames(p.roles()), ") may not call ", method,
                                     "; it takes one of: ", RoleNames(rule.roles | kAdmin)));
  }
  // Allowed only as a desktop: for its own engineer alone.
  const uint32_t others = rule.roles & ~kDesktop;
  if (rule.desktop_own_agent && (p.roles() & (others | kAdmin)) == 0 &&
      agent.value != p.agent_id()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat(agent.field, ": client \"", p.name(), "\" acts for agent \"",
                                     p.agent_id(), "\" only"));
  }
  *caller = &p;
  return grpc::Status::OK;
}

grpc::Status Security::Admit(const grpc::CallbackServerContext& ctx, Rpc rpc, AgentField agent,
                             Principal** caller) const {
  Principal* unused = nullptr;
  return Check(ctx, rpc, agent, caller != nullptr ? caller : &unused);
}

grpc::Status Security::AdmitStream(const grpc::CallbackServerContext& ctx, Rpc rpc,
                                   AgentField agent, StreamTicket* ticket) const {
  Principal* caller = nullptr;
  if (grpc::Status s = Check(ctx, rpc, agent, &caller); !s.ok()) return s;
  absl::StatusOr<StreamTicket> opened = OpenStream(*caller);
  if (!opened.ok()) return FromAbsl(opened.status());
  *ticket = std::move(*opened);
  return grpc::Status::OK;
}

absl::StatusOr<StreamTicket> Security::OpenStream(Principal& caller) const {
  if (!caller.authenticated()) return StreamTicket();
  if (caller.open_streams().fetch_add(1) >= max_streams_per_client_) {
    caller.open_streams().fetch_sub(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("client \"", caller.name(), "\" has ", max_streams_per_client_,
                     " streams open (security.max_streams_per_client)"));
  }
  return StreamTicket(&caller);
}

std::string HashTokenHex(absl::string_view token) {
  const std::array<uint8_t, 32> digest = Sha256(token);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// TLS material

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificates of a PEM bundle, in order (empty if none parses).
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = MemoryBio(pem);
  while (bio != nullptr) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    out.emplace_back(cert);
  }
  return out;
}

std::string PrintToString(X509* cert, bool subject) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return "";
  if (subject) {
    X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  } else {
    ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view field) {
  absl::StatusOr<std::string> text = ReadTextFile(path, "file");
  if (!text.ok()) {
    return absl::Status(text.status().code(), absl::StrCat(field, ": ", text.status().message()));
  }
  return text;
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files, absl::string_view field) {
  TlsMaterial m;
  const std::string cert_field = absl::StrCat(field, ".cert_file");
  const std::string key_field = absl::StrCat(field, ".key_file");
  absl::StatusOr<std::string> chain = ReadPem(files.cert_file, cert_field);
  if (!chain.ok()) return chain.status();
  m.cert_chain_pem = *std::move(chain);
  std::vector<X509Ptr> certs = ReadCertificates(m.cert_chain_pem);
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_field, ": ", files.cert_file, " holds no PEM certificate"));
  }
  absl::StatusOr<std::string> key = ReadPem(files.key_file, key_field);
  if (!key.ok()) return key.status();
  m.private_key_pem = *std::move(key);
  {
    BioPtr bio = MemoryBio(m.private_key_pem);
    std::unique_ptr<EVP_PKEY, KeyFree> pkey(
        bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (pkey == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(key_field, ": ", files.key_file, " holds no unencrypted PEM private key"));
    }
    if (X509_check_private_key(certs.front().get(), pkey.get()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(key_field, ": ", files.key_file,
                                                     " is not the key of the certificate in ",
                                                     files.cert_file));
    }
  }
  if (files.mutual()) {
    const std::string ca_field = absl::StrCat(field, ".client_ca_file");
    absl::StatusOr<std::string> ca = ReadPem(files.client_ca_file, ca_field);
    if (!ca.ok()) return ca.status();
    m.client_ca_pem = *std::move(ca);
    if (ReadCertificates(m.client_ca_pem).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(ca_field, ": ", files.client_ca_file, " holds no PEM certificate"));
    }
  }
  m.subject = PrintToString(certs.front().get(), /*subject=*/true);
  m.not_after = PrintToString(certs.front().get(), /*subject=*/false);
  return m;
}

// ---------------------------------------------------------------------------------------------
// GrpcTls

namespace {

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

// A memory-backed file holding `data`; -1 on failure (errno set).
int MemoryFile(const std::string& data) {
  const int fd = memfd_create("omnirouted-tls", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      close(fd);
      errno = saved;
      return -1;
    }
    written += static_cast<size_t>(n);
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcTls>> GrpcTls::Create(const TlsFiles& files, std::string field) {
  std::unique_ptr<GrpcTls> tls(new GrpcTls(files, std::move(field)));
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files, tls->field_);
  if (!material.ok()) return material.status();
  if (absl::Status s = tls->Stage(*material); !s.ok()) return s;
  tls->material_ = *std::move(material);
  // gRPC re-reads the files every second; they change only when Reload stages new material.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      FdPath(tls->fds_[0]), FdPath(tls->fds_[1]),
      files.mutual() ? FdPath(tls->fds_[2]) : std::string(), /*refresh_interval_sec=*/1);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (files.mutual()) {
    options.watch_root_certs();
    options.set_cert_request_type(files.require_client_certificate
                                      ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                      : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  tls->credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (tls->credentials_ == nullptr) {
    return absl::InternalError(absl::StrCat(tls->field_, ": gRPC refused the TLS options"));
  }
  return tls;
}

GrpcTls::~GrpcTls() {
  for (int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

absl::Status GrpcTls::Stage(const TlsMaterial& material) {
  const std::string* contents[3] = {&material.private_key_pem, &material.cert_chain_pem,
                                    &material.client_ca_pem};
  int fresh[3] = {-1, -1, -1};
  for (int i = 0; i < 3; ++i) {
    if (i == 2 && !files_.mutual()) break;
    fresh[i] = MemoryFile(*contents[i]);
    if (fresh[i] < 0) {
      const int err = errno;
      for (int fd : fresh) {
        if (fd >= 0) close(fd);
      }
      return absl::InternalError(
          absl::StrCat(field_, ": cannot make a memory file: ", std::strerror(err)));
    }
  }
  // Each path (/proc/self/fd/N) now names the new contents, atomically per file.
  for (int i = 0; i < 3; ++i) {
    if (fresh[i] < 0) continue;
    if (fds_[i] < 0) {
      fds_[i] = fresh[i];
    } else {
      dup2(fresh[i], fds_[i]);
      close(fresh[i]);
    }
  }
  return absl::OkStatus();
}

absl::Status GrpcTls::Reload() {
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files_, field_);
  if (!material.ok()) return material.status();
  if (absl::Status s = Stage(*material); !s.ok()) return s;
  material_ = *std::move(material);
  return absl::OkStatus();
}

}  // namespace omniroute::daemon
