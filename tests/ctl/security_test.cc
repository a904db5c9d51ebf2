// omniroutectl against a daemon with TLS, mutual TLS and tokens: the flags and environment
// variables that carry them, the exit codes when they are missing or wrong, and a role that
// may read but not change.

#include <openssl/sha.h>

#include <fstream>
#include <string>
#include <vector>

#include "ctl/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ctl/ctl_process.h"
#include "tests/daemon/daemon_harness.h"
#include "tests/daemon/pki.h"

namespace omniroute::testing {
namespace {

using ::testing::HasSubstr;

std::string Sha256Hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

const std::string kAdminToken = "ctl-admin-0123456789abcdef0123456789";
const std::string kSupervisorToken = "ctl-sup-0123456789abcdef0123456789";

class CtlSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(pki_.dir().empty());
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCa("ca"));
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCert("ca", "server", "localhost"));
    ASSERT_NO_FATAL_FAILURE(pki_.MakeCert("ca", "operator", "operator.example"));
    std::ofstream(pki_.Path("admin.token")) << kAdminToken << "\n";
    std::ofstream(pki_.Path("sup.token")) << kSupervisorToken << "\n";
    const std::string config =
        "queues { id: \"repair\" }\n"
        "agents { id: \"a1\" queue_ids: \"repair\" }\n"
        "security {\n"
        "  grpc_tls { cert_file: \"" +
        pki_.Path("server.pem") + "\" key_file: \"" + pki_.Path("server.key") +
        "\" client_ca_file: \"" + pki_.Path("ca.pem") + "\" }\n" +
        "  clients { name: \"adm\" token_sha256: \"" + Sha256Hex(kAdminToken) +
        "\" roles: ROLE_ADMIN }\n" + "  clients { name: \"sup\" token_sha256: \"" +
        Sha256Hex(kSupervisorToken) + "\" roles: ROLE_SUPERVISOR }\n" +
        "  clients { name: \"op\" certificate_name: \"operator.example\" roles: ROLE_ADMIN }\n"
        "}\n";
    ASSERT_NO_FATAL_FAILURE(d_.Start(config));
  }

  CtlResult Ctl(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {"--address", d_.address()});
    CtlProcess p(args, std::nullopt, "", env);
    return p.Wait();
  }

  Pki pki_;
  Daemon d_;
};

TEST_F(CtlSecurityTest, TlsAndATokenFromAFileOrTheEnvironment) {
  CtlResult r = Ctl({"--ca", pki_.Path("ca.pem"), "--server-name", "localhost", "--token-file",
                     pki_.Path("admin.token"), "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("repair"));
  // The same from the environment.
  r = Ctl({"--server-name", "localhost", "agents", "list"},
          {"OMNIROUTE_CA=" + pki_.Path("ca.pem"), "OMNIROUTE_TOKEN=" + kAdminToken});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("a1"));
  // The token never shows in what omniroutectl prints, even with --json.
  r = Ctl({"--json", "--ca", pki_.Path("ca.pem"), "--server-name", "localhost", "--token-file",
           pki_.Path("admin.token"), "queues", "get", "repair"});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r.err;
  EXPECT_THAT(r.out + r.err, ::testing::Not(HasSubstr(kAdminToken)));
}

TEST_F(CtlSecurityTest, AClientCertificateAuthenticatesWithoutAToken) {
  CtlResult r =
      Ctl({"--ca", pki_.Path("ca.pem"), "--cert", pki_.Path("operator.pem"), "--key",
           pki_.Path("operator.key"), "--server-name", "localhost", "presence", "a1", "available"});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r.err;
  r = Ctl({"--ca", pki_.Path("ca.pem"), "--server-name", "localhost", "--token-file",
           pki_.Path("admin.token"), "agents", "get", "a1"});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Presence:       available"));
}

TEST_F(CtlSecurityTest, MissingOrWrongCredentialsAreRefused) {
  // No token: refused by the daemon (exit 1) with its reason.
  CtlResult r = Ctl({"--ca", pki_.Path("ca.pem"), "--server-name", "localhost", "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitRefused) << r.err;
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
  // Plaintext to the TLS port: unreachable.
  r = Ctl({"--token-file", pki_.Path("admin.token"), "--timeout", "3s", "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitUnavailable) << r.err;
  // A supervisor reads but may not change the configuration.
  r = Ctl({"--ca", pki_.Path("ca.pem"), "--server-name", "localhost", "--token-file",
           pki_.Path("sup.token"), "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitOk) << r.err;
  const std::string file = pki_.Path("change.textproto");
  std::ofstream(file) << "queues { id: \"repair\" display_name: \"Repairs\" }\n";
  r = Ctl({"--ca", pki_.Path("ca.pem"), "--server-name", "localhost", "--token-file",
           pki_.Path("sup.token"), "apply", "-f", file});
  EXPECT_EQ(r.exit_code, ctl::kExitRefused) << r.err;
  EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
  // Flags that cannot be used: usage errors naming them, nothing sent.
  r = Ctl({"--ca", pki_.Path("absent.pem"), "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitUsage) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--ca"));
  r = Ctl({"--ca", pki_.Path("ca.pem"), "--cert", pki_.Path("operator.pem"), "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitUsage) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--cert and --key"));
  r = Ctl({"--token-file", pki_.Path("absent.token"), "queues", "list"});
  EXPECT_EQ(r.exit_code, ctl::kExitUsage) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--token-file"));
}

}  // namespace
}  // namespace omniroute::testing
