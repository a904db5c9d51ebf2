// Test certificates made with the openssl command: a CA and the certificates it signs, in a
// temporary directory removed at the end.
//
//   Pki pki;
//   ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca1"));
//   ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "server", "localhost"));
//   pki.Path("server.pem"), pki.Path("server.key"), ReadWholeFile(pki.Path("ca1.pem"))

#ifndef OMNIROUTE_TESTS_DAEMON_PKI_H_
#define OMNIROUTE_TESTS_DAEMON_PKI_H_

#include <stdio.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace omniroute::testing {

// Runs a shell command; fails the test with its output if it fails.
inline void Shell(const std::string& command) {
  const std::string full = command + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  ASSERT_EQ(status, 0) << command << "\n" << out;
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A CA, and certificates it signs, in a temporary directory.
class Pki {
 public:
  Pki() {
    std::string tmpl = ::testing::TempDir() + "omniroute-pki-XXXXXX";
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

  void MakeCa(const std::string& name) {
    Shell(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=" +
        name + " -keyout " + Path(name + ".key") + " -out " + Path(name + ".pem"));
  }
  // <name>.pem and <name>.key, for `common_name` (and DNS:localhost, IP:127.0.0.1).
  void MakeCert(const std::string& ca, const std::string& name, const std::string& common_name) {
    std::ofstream(Path(name + ".ext"))
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n";
    ASSERT_NO_FATAL_FAILURE(
        Shell("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" +
              common_name + " -keyout " + Path(name + ".key") + " -out " + Path(name + ".csr")));
    ASSERT_NO_FATAL_FAILURE(Shell("openssl x509 -req -days 2 -in " + Path(name + ".csr") + " -CA " +
                                  Path(ca + ".pem") + " -CAkey " + Path(ca + ".key") +
                                  " -CAcreateserial -extfile " + Path(name + ".ext") + " -out " +
                                  Path(name + ".pem")));
  }

 private:
  std::string dir_;
};

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_DAEMON_PKI_H_
