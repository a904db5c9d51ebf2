// Security of the HTTP port against the real daemon: TLS from PEM files (made here with the
// openssl command) and the refusal of plaintext on a TLS port; /healthz open to anyone;
// /metrics and /wallboard/events for supervisors by bearer token or mutual-TLS certificate
// (401 without credentials, 403 for another role); a client certificate required at the
// handshake; rate limits (429, Retry-After) and event streams per client; certificates
// reloaded on SIGHUP for new connections while an open event stream keeps going.

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/security.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"
#include "tests/daemon/http_client.h"

namespace omniroute::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Tokens of the test's clients (at least 32 characters, as docs/SECURITY.md asks).
const std::string kGatewayToken = "gw-0123456789abcdef0123456789abcdef";
const std::string kSupervisorToken = "sup-0123456789abcdef0123456789abcdef";
const std::string kSupervisor2Token = "sup2-0123456789abcdef0123456789abcdef";
const std::string kAdminToken = "adm-0123456789abcdef0123456789abcdef";

constexpr char kObjects[] = R"pb(
  queues { id: "repair" }
  agents { id: "a1" queue_ids: "repair" }
)pb";

// The security section: the clients above, and `extra` (TLS, limits, certificate clients).
std::string Security(const std::string& extra = "") {
  std::ostringstream out;
  out << "security {\n"
      << "  clients { name: \"gw\" token_sha256: \"" << daemon::HashTokenHex(kGatewayToken)
      << "\" roles: ROLE_GATEWAY }\n"
      << "  clients { name: \"sup\" token_sha256: \"" << daemon::HashTokenHex(kSupervisorToken)
      << "\" roles: ROLE_SUPERVISOR }\n"
      << "  clients { name: \"sup2\" token_sha256: \"" << daemon::HashTokenHex(kSupervisor2Token)
      << "\" roles: ROLE_SUPERVISOR }\n"
      << "  clients { name: \"adm\" token_sha256: \"" << daemon::HashTokenHex(kAdminToken)
      << "\" roles: ROLE_ADMIN }\n"
      << extra << "}\n";
  return out.str();
}

std::string Bearer(const std::string& token) { return "Bearer " + token; }

// Runs a shell command; fails the test with its output if it fails.
void Shell(const std::string& command) {
  const std::string full = command + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  ASSERT_EQ(status, 0) << command << "\n" << out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A CA, and certificates it signs, in a temporary directory.
class Pki {
 public:
  Pki() {
    std::string tmpl = ::testing::TempDir() + "omniroute-http-pki-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    dir_ = ::mkdtemp(buf.data()) != nullptr ? buf.data() : "";
  }
  ~Pki() {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  const std::string& dir() const { return dir_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Pem(const std::string& name) const { return ReadFile(Path(name + ".pem")); }
  std::string Key(const std::string& name) const { return ReadFile(Path(name + ".key")); }

  void MakeCa(const std::string& name) {
    Shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=" +
        name + " -keyout " + Path(name + ".key") + " -out " + Path(name + ".pem"));
  }
  // <name>.pem and <name>.key, for `common_name`, with the subject alternative names `san`.
  void MakeCert(const std::string& ca, const std::string& name, const std::string& common_name,
                const std::string& san = "DNS:localhost,IP:127.0.0.1") {
    std::ofstream(Path(name + ".ext"))
        << "subjectAltName=" << san << "\nextendedKeyUsage=serverAuth,clientAuth\n";
    ASSERT_NO_FATAL_FAILURE(
        Shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" +
              common_name + " -keyout " + Path(name + ".key") + " -out " + Path(name + ".csr")));
    ASSERT_NO_FATAL_FAILURE(Shell("openssl x509 -req -days 2 -in " + Path(name + ".csr") + " -CA " +
                                  Path(ca + ".pem") + " -CAkey " + Path(ca + ".key") +
                                  " -CAcreateserial -extfile " + Path(name + ".ext") + " -out " +
                                  Path(name + ".pem")));
  }
  // The daemon's files (live.pem, live.key) become those of `name`.
  void Install(const std::string& name) {
    Shell("cp " + Path(name + ".pem") + " " + Path("live.pem.tmp") + " && cp " +
          Path(name + ".key") + " " + Path("live.key.tmp") + " && mv " + Path("live.pem.tmp") +
          " " + Path("live.pem") + " && mv " + Path("live.key.tmp") + " " + Path("live.key"));
  }

  // http_tls { ... } on the live files, with `more` inside.
  std::string HttpTls(const std::string& more = "") const {
    return "  http_tls { cert_file: \"" + Path("live.pem") + "\" key_file: \"" + Path("live.key") +
           "\" " + more + " }\n";
  }

 private:
  std::string dir_;
};

// TLS options trusting `ca_pem`, with a token and a client certificate when given.
HttpOptions Tls(const std::string& ca_pem, const std::string& token = "",
                const std::string& cert_pem = "", const std::string& key_pem = "") {
  HttpOptions o;
  o.tls = true;
  o.ca_pem = ca_pem;
  if (!token.empty()) o.authorization = Bearer(token);
  o.cert_pem = cert_pem;
  o.key_pem = key_pem;
  o.timeout = std::chrono::seconds(5);
  return o;
}

HttpOptions Plain(const std::string& token = "") {
  HttpOptions o;
  if (!token.empty()) o.authorization = Bearer(token);
  return o;
}

// Polls `done` every 50 ms for up to 10 s.
template <class F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

TEST(HttpSecurity, TlsTokensAndClientCertificatesWithRoles) {
  Pki pki;
  ASSERT_FALSE(pki.dir().empty());
  ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca1"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca2"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "server", "localhost"));
  // A wallboard known by a URI name, a gateway by its common name, an impostor from ca2.
  ASSERT_NO_FATAL_FAILURE(
      pki.MakeCert("ca1", "wallboard", "wb-host", "URI:spiffe://omniroute/wallboard"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "gateway", "gateway.example", "DNS:gw.example"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "stranger", "stranger.example", "DNS:x.example"));
  ASSERT_NO_FATAL_FAILURE(
      pki.MakeCert("ca2", "impostor", "wb-host", "URI:spiffe://omniroute/wallboard"));
  ASSERT_NO_FATAL_FAILURE(pki.Install("server"));
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(
      kObjects +
      Security(pki.HttpTls("client_ca_file: \"" + pki.Path("ca1.pem") + "\"") +
               "  clients { name: \"wb\" certificate_name: \"spiffe://omniroute/wallboard\" "
               "roles: ROLE_SUPERVISOR }\n"
               "  clients { name: \"gwcert\" certificate_name: \"gw.example\" "
               "roles: ROLE_GATEWAY }\n")));
  const int port = d.http_port();
  const std::string ca1 = pki.Pem("ca1");

  // Plaintext to the TLS port gets no answer; a client trusting another CA refuses the daemon.
  HttpReply r = HttpGet(port, "/healthz");
  EXPECT_EQ(r.status, 0) << r.body;
  r = HttpFetch(port, "/healthz", Tls(pki.Pem("ca2")));
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.error, HasSubstr("handshake"));

  // Health checks and the page are open; TLS 1.2 works as well as 1.3.
  r = HttpFetch(port, "/healthz", Tls(ca1));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(HttpFetch(port, "/readyz", Tls(ca1)).status, 200);
  r = HttpFetch(port, "/", Tls(ca1));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_THAT(r.body, HasSubstr("<title>omniroute wallboard</title>"));
  Shell("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -tls1_2 -CAfile " +
        pki.Path("ca1.pem") + " </dev/null");

  // /metrics: 401 without credentials or with a wrong token, 403 for a gateway, 200 for a
  // supervisor or an admin.
  r = HttpFetch(port, "/metrics", Tls(ca1));
  EXPECT_EQ(r.status, 401) << r.error;
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer realm=\"omniroute\"");
  EXPECT_THAT(r.body, HasSubstr("Authorization: Bearer"));
  r = HttpFetch(port, "/metrics", Tls(ca1, kSupervisorToken + "x"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer realm=\"omniroute\"");
  EXPECT_EQ(r.body, "invalid credentials\n");
  EXPECT_THAT(r.body, Not(HasSubstr(kSupervisorToken)));
  {
    HttpOptions basic = Tls(ca1);
    basic.authorization = "Basic " + kSupervisorToken;
    EXPECT_EQ(HttpFetch(port, "/metrics", basic).status, 401);
  }
  r = HttpFetch(port, "/metrics", Tls(ca1, kGatewayToken));
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr("\"gw\""));
  EXPECT_THAT(r.body, HasSubstr("supervisor"));
  r = HttpFetch(port, "/metrics", Tls(ca1, kSupervisorToken));
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(r.body, HasSubstr("omniroute_agents{presence=\"offline\"}"));
  EXPECT_EQ(HttpFetch(port, "/metrics", Tls(ca1, kAdminToken)).status, 200);
  // HEAD is checked like GET.
  {
    HttpOptions head = Tls(ca1);
    head.method = "HEAD";
    EXPECT_EQ(HttpFetch(port, "/metrics", head).status, 401);
  }

  // Mutual TLS: the wallboard's certificate (its URI name) is a supervisor's...
  r = HttpFetch(port, "/metrics", Tls(ca1, "", pki.Pem("wallboard"), pki.Key("wallboard")));
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  // ... the gateway's (its DNS name) is not ...
  r = HttpFetch(port, "/metrics", Tls(ca1, "", pki.Pem("gateway"), pki.Key("gateway")));
  EXPECT_EQ(r.status, 403) << r.error << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"gwcert\""));
  // ... a verified certificate that names no client is not enough, a token with it is ...
  r = HttpFetch(port, "/metrics", Tls(ca1, "", pki.Pem("stranger"), pki.Key("stranger")));
  EXPECT_EQ(r.status, 401) << r.error;
  r = HttpFetch(port, "/metrics",
                Tls(ca1, kSupervisorToken, pki.Pem("stranger"), pki.Key("stranger")));
  EXPECT_EQ(r.status, 200) << r.error;
  // ... and a certificate with the wallboard's names from another CA is refused at the
  // handshake.
  r = HttpFetch(port, "/healthz", Tls(ca1, "", pki.Pem("impostor"), pki.Key("impostor")));
  EXPECT_EQ(r.status, 0) << r.body;

  // The event stream: the same rules.
  EXPECT_EQ(HttpFetch(port, "/wallboard/events", Tls(ca1)).status, 401);
  EXPECT_EQ(HttpFetch(port, "/wallboard/events", Tls(ca1, kGatewayToken)).status, 403);
  HttpEventStream events;
  r = events.Open(port, "/wallboard/events",
                  Tls(ca1, "", pki.Pem("wallboard"), pki.Key("wallboard")));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.content_type, "text/event-stream; charset=utf-8");
  EXPECT_TRUE(events.AwaitText("event: snapshot").has_value()) << events.text();

  // Neither a token nor its hash is ever logged.
  EXPECT_THAT(d.Stderr(), Not(HasSubstr(kSupervisorToken)));
  EXPECT_THAT(d.Stderr(), Not(HasSubstr(daemon::HashTokenHex(kSupervisorToken))));
  EXPECT_THAT(d.Stderr(), HasSubstr("TLS on the HTTP port"));
  events.Close();
  d.StopCleanly();
}

TEST(HttpSecurity, RequiredClientCertificateIsCheckedAtTheHandshake) {
  Pki pki;
  ASSERT_FALSE(pki.dir().empty());
  ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca1"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "server", "localhost"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "wallboard", "wallboard.example"));
  ASSERT_NO_FATAL_FAILURE(pki.Install("server"));
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(
      kObjects + Security(pki.HttpTls("client_ca_file: \"" + pki.Path("ca1.pem") +
                                      "\" require_client_certificate: true") +
                          "  clients { name: \"wb\" certificate_name: \"wallboard.example\" "
                          "roles: ROLE_SUPERVISOR }\n")));
  const std::string ca1 = pki.Pem("ca1");
  // Without a certificate nothing is answered, not even /healthz, not even with a token.
  HttpReply r = HttpFetch(d.http_port(), "/healthz", Tls(ca1));
  EXPECT_EQ(r.status, 0) << r.body;
  r = HttpFetch(d.http_port(), "/metrics", Tls(ca1, kSupervisorToken));
  EXPECT_EQ(r.status, 0) << r.body;
  // With one, the certificate is the credential (its common name here).
  r = HttpFetch(d.http_port(), "/metrics",
                Tls(ca1, "", pki.Pem("wallboard"), pki.Key("wallboard")));
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  d.StopCleanly();
}

TEST(HttpSecurity, RateLimitsAndEventStreamsArePerClient) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(
      d.Start(kObjects + Security(R"pb(
                rate_limits { role: ROLE_SUPERVISOR requests_per_second: 0.01 burst: 3 }
                max_streams_per_client: 2
              )pb")));
  const int port = d.http_port();

  // Three requests of the supervisor's burst, then 429 with Retry-After.
  for (int i = 0; i < 3; ++i) {
    const HttpReply r = HttpFetch(port, "/metrics", Plain(kSupervisorToken));
    EXPECT_EQ(r.status, 200) << i << " " << r.error << r.body;
  }
  HttpReply r = HttpFetch(port, "/metrics", Plain(kSupervisorToken));
  EXPECT_EQ(r.status, 429) << r.error;
  EXPECT_EQ(r.Header("Retry-After"), "1");
  EXPECT_THAT(r.body, HasSubstr("rate limit: client \"sup\""));
  EXPECT_THAT(r.body, Not(HasSubstr(kSupervisorToken)));
  EXPECT_EQ(HttpFetch(port, "/wallboard/events", Plain(kSupervisorToken)).status, 429);
  // Another client of the same role has a bucket of its own; health checks are not limited.
  EXPECT_EQ(HttpFetch(port, "/metrics", Plain(kSupervisor2Token)).status, 200);
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);

  // Two event streams per client: a third is 429 while they are open.
  auto open = [&](const std::string& token) {
    auto stream = std::make_unique<HttpEventStream>();
    const HttpReply reply = stream->Open(port, "/wallboard/events", Plain(token));
    return std::make_pair(reply, std::move(stream));
  };
  auto [first_reply, first] = open(kAdminToken);
  ASSERT_EQ(first_reply.status, 200) << first_reply.error << first_reply.body;
  auto [second_reply, second] = open(kAdminToken);
  ASSERT_EQ(second_reply.status, 200) << second_reply.error << second_reply.body;
  auto [third_reply, third] = open(kAdminToken);
  EXPECT_EQ(third_reply.status, 429);
  EXPECT_THAT(third_reply.body, HasSubstr("security.max_streams_per_client"));
  // The streams are open and flowing; another client may still open one.
  EXPECT_TRUE(first->AwaitText("event: snapshot").has_value());
  EXPECT_TRUE(second->AwaitText("event: snapshot").has_value());
  auto [other_reply, other] = open(kSupervisor2Token);
  EXPECT_EQ(other_reply.status, 200) << other_reply.body;
  // Once one of the admin's streams is closed, the daemon lets the admin open another.
  first->Close();
  std::unique_ptr<HttpEventStream> again;
  EXPECT_TRUE(Eventually([&] {
    auto [reply, stream] = open(kAdminToken);
    if (reply.status != 200) return false;
    again = std::move(stream);
    return true;
  }));
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->AwaitText("event: snapshot").has_value());
  d.StopCleanly();
}

TEST(HttpSecurity, SighupSwitchesNewConnectionsToTheNewCertificateKeepingStreams) {
  Pki pki;
  ASSERT_FALSE(pki.dir().empty());
  ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca1"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca2"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "server1", "localhost"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca2", "server2", "localhost"));
  ASSERT_NO_FATAL_FAILURE(pki.Install("server1"));
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(kObjects + Security(pki.HttpTls())));
  const int port = d.http_port();
  const std::string ca1 = pki.Pem("ca1");
  const std::string ca2 = pki.Pem("ca2");

  // A stream opened before the reload.
  HttpEventStream events;
  const HttpReply opened = events.Open(port, "/wallboard/events", Tls(ca1, kSupervisorToken));
  ASSERT_EQ(opened.status, 200) << opened.error << opened.body;
  ASSERT_TRUE(events.AwaitText("event: snapshot").has_value()) << events.text();

  // A key that is not the certificate's, and SIGHUP: refused, logged, the certificate in
  // force stays.
  Shell("cp " + pki.Path("server2.key") + " " + pki.Path("live.key"));
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  EXPECT_TRUE(Eventually([&] {
    return d.Stderr().find("security.http_tls.key_file") != std::string::npos;
  })) << d.Stderr();
  EXPECT_THAT(d.Stderr(), HasSubstr("TLS reload failed"));
  EXPECT_EQ(HttpFetch(port, "/healthz", Tls(ca1)).status, 200);

  // The new certificate (signed by ca2) and SIGHUP: new connections get it.
  ASSERT_NO_FATAL_FAILURE(pki.Install("server2"));
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  EXPECT_TRUE(Eventually([&] { return HttpFetch(port, "/healthz", Tls(ca2)).status == 200; }))
      << d.Stderr();
  EXPECT_THAT(d.Stderr(), HasSubstr("TLS certificate reloaded (HTTP port)"));
  HttpReply r = HttpFetch(port, "/healthz", Tls(ca1));
  EXPECT_EQ(r.status, 0) << "a new connection still got the old certificate";
  r = HttpFetch(port, "/metrics", Tls(ca2, kSupervisorToken));
  EXPECT_EQ(r.status, 200) << r.error;

  // The stream opened before the reload still receives snapshots.
  const size_t seen = events.text().size();
  EXPECT_TRUE(events.AwaitText("event: snapshot", seen).has_value())
      << "the stream opened before the reload stopped; ended: " << events.ended();
  events.Close();
  d.StopCleanly();
}

}  // namespace
}  // namespace omniroute::testing
