// The security configuration (every rule of security.* in config.proto), the access table
// against the services' descriptors, token authentication, the token bucket and the per-client
// stream count, and the TLS material checks. Over the wire: integration_security_test.cc.

#include "daemon/security.h"

#include <chrono>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/config.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "omniroute/v1/admin_service.grpc.pb.h"
#include "omniroute/v1/agent_service.grpc.pb.h"
#include "omniroute/v1/customer_service.grpc.pb.h"
#include "omniroute/v1/device_service.grpc.pb.h"
#include "omniroute/v1/event_service.grpc.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::StatusOr<DaemonSettings> Resolve(const std::string& text) {
  absl::StatusOr<v1::DaemonConfig> config = ParseConfigText(text, "test.textproto");
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return config.status();
  return ResolveConfig(*config, "test.textproto");
}

void ExpectInvalid(const std::string& text, const std::string& field, const std::string& what) {
  SCOPED_TRACE(text);
  absl::StatusOr<DaemonSettings> s = Resolve(text);
  ASSERT_FALSE(s.ok()) << "expected an error at " << field;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_THAT(std::string(s.status().message()), StartsWith(field + ": "));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(what));
}

const std::string kHashA = HashTokenHex("token-a-0123456789abcdef0123456789");
const std::string kHashB = HashTokenHex("token-b-0123456789abcdef0123456789");

TEST(SecurityConfig, DefaultsArePlaintextLoopbackWithoutClients) {
  absl::StatusOr<DaemonSettings> s = Resolve("");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->grpc_tls.enabled());
  EXPECT_FALSE(s->http_tls.enabled());
  EXPECT_FALSE(s->allow_insecure);
  EXPECT_TRUE(s->clients.empty());
  EXPECT_EQ(s->max_streams_per_client, 32);
  EXPECT_EQ(s->rate_limits[v1::ROLE_GATEWAY].per_second, 5000);
  EXPECT_EQ(s->rate_limits[v1::ROLE_DESKTOP].burst, 200);
}

TEST(SecurityConfig, ClientsAndLimitsAreResolved) {
  absl::StatusOr<DaemonSettings> s = Resolve(absl::StrCat(R"(
    listen_address: "0.0.0.0:7400"
    http_address: "off"
    security {
      grpc_tls { cert_file: "/etc/o/cert.pem" key_file: "/etc/o/key.pem"
                 client_ca_file: "/etc/o/ca.pem" require_client_certificate: true }
      clients { name: "gw" token_sha256: ")",
                                                          kHashA, R"(" roles: ROLE_GATEWAY }
      clients { name: "desk-7" certificate_name: "desk-7.example" roles: ROLE_DESKTOP
                roles: ROLE_SUPERVISOR agent_id: "eng-7" }
      rate_limits { role: ROLE_GATEWAY requests_per_second: 10 }
      rate_limits { role: ROLE_ADMIN requests_per_second: 1 burst: 7 }
      max_streams_per_client: 3
    })"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->grpc_tls.enabled());
  EXPECT_TRUE(s->grpc_tls.mutual());
  EXPECT_TRUE(s->grpc_tls.require_client_certificate);
  ASSERT_EQ(s->clients.size(), 2u);
  EXPECT_TRUE(s->clients[0].has_token);
  EXPECT_TRUE(s->clients[0].Has(v1::ROLE_GATEWAY));
  EXPECT_FALSE(s->clients[0].Has(v1::ROLE_ADMIN));
  EXPECT_FALSE(s->clients[1].has_token);
  EXPECT_EQ(s->clients[1].certificate_name, "desk-7.example");
  EXPECT_TRUE(s->clients[1].Has(v1::ROLE_DESKTOP));
  EXPECT_TRUE(s->clients[1].Has(v1::ROLE_SUPERVISOR));
  EXPECT_EQ(s->clients[1].agent_id, "eng-7");
  EXPECT_EQ(s->rate_limits[v1::ROLE_GATEWAY].per_second, 10);
  EXPECT_EQ(s->rate_limits[v1::ROLE_GATEWAY].burst, 20);  // twice the rate by default
  EXPECT_EQ(s->rate_limits[v1::ROLE_ADMIN].burst, 7);
  EXPECT_EQ(s->max_streams_per_client, 3);
}

TEST(SecurityConfig, EveryRuleNamesItsField) {
  const std::string gw =
      absl::StrCat("clients { name: \"gw\" token_sha256: \"", kHashA, "\" roles: ROLE_GATEWAY }");
  ExpectInvalid("security { grpc_tls { cert_file: \"c.pem\" } }", "security.grpc_tls.key_file",
                "required");
  ExpectInvalid("security { http_tls { key_file: \"k.pem\" } }", "security.http_tls.cert_file",
                "required");
  ExpectInvalid("security { grpc_tls { client_ca_file: \"ca.pem\" } }",
                "security.grpc_tls.cert_file", "required");
  ExpectInvalid(
      "security { grpc_tls { cert_file: \"c\" key_file: \"k\" require_client_certificate: true } }",
      "security.grpc_tls.client_ca_file", "require_client_certificate");
  ExpectInvalid("security { clients { token_sha256: \"" + kHashA + "\" roles: ROLE_GATEWAY } }",
                "security.clients[0].name", "1..64");
  ExpectInvalid(
      "security { clients { name: \"a b\" token_sha256: \"" + kHashA + "\" roles: ROLE_GATEWAY } }",
      "security.clients[0].name", "1..64");
  ExpectInvalid("security { clients { name: \"gw\" roles: ROLE_GATEWAY } }",
                "security.clients[0].token_sha256", "one of token_sha256 and certificate_name");
  ExpectInvalid("security { clients { name: \"gw\" token_sha256: \"abc\" roles: ROLE_GATEWAY } }",
                "security.clients[0].token_sha256", "64 hex digits");
  ExpectInvalid("security { clients { name: \"gw\" token_sha256: \"" + std::string(64, 'g') +
                    "\" roles: ROLE_GATEWAY } }",
                "security.clients[0].token_sha256", "64 hex digits");
  ExpectInvalid(
      "security { clients { name: \"gw\" certificate_name: \"gw.example\" "
      "roles: ROLE_GATEWAY } }",
      "security.clients[0].certificate_name", "needs mutual TLS");
  ExpectInvalid("security { clients { name: \"gw\" token_sha256: \"" + kHashA + "\" } }",
                "security.clients[0].roles", "at least one");
  ExpectInvalid("security { clients { name: \"gw\" token_sha256: \"" + kHashA +
                    "\" roles: ROLE_UNSPECIFIED } }",
                "security.clients[0].roles[0]", "ROLE_GATEWAY");
  ExpectInvalid(
      "security { clients { name: \"d\" token_sha256: \"" + kHashA + "\" roles: ROLE_DESKTOP } }",
      "security.clients[0].agent_id", "must not be empty");
  ExpectInvalid("security { clients { name: \"g\" token_sha256: \"" + kHashA +
                    "\" roles: ROLE_GATEWAY agent_id: \"a1\" } }",
                "security.clients[0].agent_id", "only a ROLE_DESKTOP client");
  ExpectInvalid("security { " + gw + " clients { name: \"gw\" token_sha256: \"" + kHashB +
                    "\" roles: ROLE_ADMIN } }",
                "security.clients[1].name", "already defined");
  // The same token for two clients, in either case of hex.
  std::string upper = kHashA;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ExpectInvalid("security { " + gw + " clients { name: \"other\" token_sha256: \"" + upper +
                    "\" roles: ROLE_ADMIN } }",
                "security.clients[1].token_sha256", "already defined");
  ExpectInvalid("security { rate_limits { requests_per_second: 1 } }",
                "security.rate_limits[0].role", "required");
  ExpectInvalid("security { rate_limits { role: ROLE_ADMIN requests_per_second: 0 } }",
                "security.rate_limits[0].requests_per_second", "outside");
  ExpectInvalid("security { rate_limits { role: ROLE_ADMIN requests_per_second: 1 burst: 0 } }",
                "security.rate_limits[0].burst", "outside");
  ExpectInvalid(
      "security { rate_limits { role: ROLE_ADMIN requests_per_second: 1 } "
      "rate_limits { role: ROLE_ADMIN requests_per_second: 2 } }",
      "security.rate_limits[1].role", "already");
  ExpectInvalid("security { max_streams_per_client: 0 }", "security.max_streams_per_client",
                "outside");
  // Beyond loopback: TLS and clients, or consent.
  ExpectInvalid("listen_address: \"0.0.0.0:7400\"", "listen_address", "security.allow_insecure");
  ExpectInvalid("listen_address: \"[::]:7400\"", "listen_address", "not a loopback address");
  ExpectInvalid("http_address: \"10.0.0.5:7401\"", "http_address", "security.http_tls");
  ExpectInvalid(
      "listen_address: \"0.0.0.0:7400\" http_address: \"off\" "
      "security { grpc_tls { cert_file: \"c\" key_file: \"k\" } }",
      "security.clients", "any caller could do anything");
  EXPECT_TRUE(Resolve("listen_address: \"0.0.0.0:7400\" security { allow_insecure: true }").ok());
  EXPECT_TRUE(Resolve("listen_address: \"0.0.0.0:7400\" http_address: \"off\" security { " + gw +
                      " grpc_tls { cert_file: \"c\" key_file: \"k\" } }")
                  .ok());
}

TEST(SecurityConfig, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1:7400", "127.1.2.3:0", "localhost:7400", "[::1]:7400"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0:7400", "[::]:7400", "10.0.0.1:7400", "128.0.0.1:7400",
                        "127.0.0:7400", "127.0.0.256:7400", "example.com:7400", "[::2]:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

// Every RPC of every service has exactly one row, and every row is an RPC.
TEST(SecurityTable, CoversEveryMethodOfTheContract) {
  std::set<std::string> rows;
  for (int i = 0; i < static_cast<int>(Rpc::kCount); ++i) {
    const RpcRule& rule = RuleOf(static_cast<Rpc>(i));
    EXPECT_TRUE(rows.insert(rule.method).second) << "twice: " << rule.method;
  }
  std::set<std::string> methods;
  // Each service through a message of its file (which links the file's descriptors in).
  for (const google::protobuf::FileDescriptor* file :
       {v1::UpsertQueueRequest::descriptor()->file(),
        v1::CreateSessionRequest::descriptor()->file(),
        v1::SetPresenceRequest::descriptor()->file(), v1::StreamEventsRequest::descriptor()->file(),
        v1::GetCustomerRequest::descriptor()->file(),
        v1::ReportDeviceAlertRequest::descriptor()->file()}) {
    ASSERT_EQ(file->service_count(), 1) << file->name();
    const google::protobuf::ServiceDescriptor* s = file->service(0);
    for (int m = 0; m < s->method_count(); ++m) {
      methods.insert(absl::StrCat("/", s->full_name(), "/", s->method(m)->name()));
    }
  }
  EXPECT_EQ(methods.size(), static_cast<size_t>(Rpc::kCount));
  EXPECT_EQ(rows, methods);
}

DaemonSettings TwoClients() {
  DaemonSettings settings;
  ClientSpec gw;
  gw.name = "gw";
  gw.has_token = true;
  absl::StatusOr<DaemonSettings> parsed = Resolve(
      absl::StrCat("security { clients { name: \"gw\" token_sha256: \"", kHashA,
                   "\" roles: ROLE_GATEWAY } clients { name: \"desk\" token_sha256: \"", kHashB,
                   "\" roles: ROLE_DESKTOP agent_id: \"a1\" } "
                   "rate_limits { role: ROLE_GATEWAY requests_per_second: 2 burst: 3 } "
                   "max_streams_per_client: 2 }"));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() ? *parsed : settings;
}

TEST(SecurityAuth, TokensFindTheirClientAndNothingElseDoes) {
  Security security(TwoClients());
  ASSERT_TRUE(security.enabled());
  absl::StatusOr<Principal*> p =
      security.Authenticate("Bearer token-a-0123456789abcdef0123456789", {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->name(), "gw");
  p = security.Authenticate("bearer   token-b-0123456789abcdef0123456789 ", {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->name(), "desk");
  EXPECT_EQ((*p)->agent_id(), "a1");
  for (const char* bad : {"Bearer token-a-0123456789abcdef012345678", "Bearer ", "Basic x",
                          "token-a-0123456789abcdef0123456789"}) {
    p = security.Authenticate(bad, {});
    EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
  p = security.Authenticate("", {});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("authentication required"));
  // A verified certificate whose name no client has.
  p = security.Authenticate("", PeerCertificate{true, {"someone.example"}});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kUnauthenticated);
  // Roles.
  p = security.Authenticate("Bearer token-a-0123456789abcdef0123456789", {});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(security.Authorize(**p, 1u << v1::ROLE_GATEWAY).ok());
  EXPECT_EQ(security.Authorize(**p, 1u << v1::ROLE_SUPERVISOR).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(SecurityAuth, WithoutClientsEveryoneIsTheLocalPrincipal) {
  Security security{DaemonSettings()};
  EXPECT_FALSE(security.enabled());
  absl::StatusOr<Principal*> p = security.Authenticate("", {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, &security.local());
  EXPECT_TRUE(security.Authorize(**p, 1u << v1::ROLE_ADMIN).ok());
  // No rate limit and no stream limit for it.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE((*p)->TakeToken(t0));
  std::vector<StreamTicket> tickets;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<StreamTicket> t = security.OpenStream(**p);
    ASSERT_TRUE(t.ok());
    tickets.push_back(std::move(*t));
  }
}

TEST(SecurityAuth, TokenBucketRefillsAtItsRate) {
  Security security(TwoClients());
  Principal* gw = *security.Authenticate("Bearer token-a-0123456789abcdef0123456789", {});
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
  // A burst of 3, then empty.
  EXPECT_TRUE(gw->TakeToken(t0));
  EXPECT_TRUE(gw->TakeToken(t0));
  EXPECT_TRUE(gw->TakeToken(t0));
  EXPECT_FALSE(gw->TakeToken(t0));
  // 2 a second: one more after half a second, not before.
  EXPECT_FALSE(gw->TakeToken(t0 + std::chrono::milliseconds(400)));
  EXPECT_TRUE(gw->TakeToken(t0 + std::chrono::milliseconds(520)));
  EXPECT_FALSE(gw->TakeToken(t0 + std::chrono::milliseconds(530)));
  // A long pause refills up to the burst only.
  const auto t1 = t0 + std::chrono::seconds(100);
  EXPECT_TRUE(gw->TakeToken(t1));
  EXPECT_TRUE(gw->TakeToken(t1));
  EXPECT_TRUE(gw->TakeToken(t1));
  EXPECT_FALSE(gw->TakeToken(t1));
}

TEST(SecurityAuth, StreamsPerClientAreCountedAndReleased) {
  Security security(TwoClients());
  Principal* desk = *security.Authenticate("Bearer token-b-0123456789abcdef0123456789", {});
  absl::StatusOr<StreamTicket> a = security.OpenStream(*desk);
  absl::StatusOr<StreamTicket> b = security.OpenStream(*desk);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  absl::StatusOr<StreamTicket> c = security.OpenStream(*desk);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("security.max_streams_per_client"));
  { StreamTicket released = std::move(*a); }
  EXPECT_EQ(desk->open_streams().load(), 1);
  EXPECT_TRUE(security.OpenStream(*desk).ok());  // and released again at once
  EXPECT_EQ(desk->open_streams().load(), 1);
}

TEST(SecurityTls, MaterialIsCheckedAndErrorsNameTheField) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  TlsFiles files;
  files.cert_file = dir + "/absent.pem";
  files.key_file = write("k.pem", "not a key");
  absl::StatusOr<TlsMaterial> m = LoadTlsMaterial(files, "security.http_tls");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(m.status().message()), StartsWith("security.http_tls.cert_file: "));
  files.cert_file = write("c.pem", "-----BEGIN CERTIFICATE-----\nnonsense\n");
  m = LoadTlsMaterial(files, "security.http_tls");
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()), StartsWith("security.http_tls.cert_file: "));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("no PEM certificate"));
}

}  // namespace
}  // namespace omniroute::daemon
