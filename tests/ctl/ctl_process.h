// Runs the real `omniroutectl` binary (OMNIROUTECTL_PATH, defined by CMake) as a subprocess
// and captures its stdout, stderr and exit code, for the integration tests.
//
//   CtlResult r = RunCtl({"--address", d.address(), "queues", "list"});
//   EXPECT_EQ(r.exit_code, 0) << r;
//
//   CtlProcess tail({"--address", a, "events", "tail"});   // in the background
//   tail.AwaitStdout("queue-upserted");
//   tail.Signal(SIGINT);
//   CtlResult end = tail.Wait();
//
// $OMNIROUTE_ADDRESS (and the token and TLS variables) are removed from the child's
// environment unless the test gives them. A
// process still running after its time limit is killed and reported with exit code -1.

#ifndef OMNIROUTE_TESTS_CTL_CTL_PROCESS_H_
#define OMNIROUTE_TESTS_CTL_CTL_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

#ifndef OMNIROUTECTL_PATH
#error "OMNIROUTECTL_PATH must be defined (CMake does it for tests/ctl/*_test.cc)"
#endif

extern char** environ;

namespace omniroute::testing {

struct CtlResult {
  int exit_code = -1;  // -1: killed after its time limit, or died of a signal
  std::string out;
  std::string err;
  std::string command;  // for failure messages
};

inline std::ostream& operator<<(std::ostream& os, const CtlResult& r) {
  return os << "\n$ omniroutectl " << r.command << "\n[exit " << r.exit_code
            << "]\n--- stdout ---\n"
            << r.out << "--- stderr ---\n"
            << r.err;
}

class CtlProcess {
 public:
  // Starts omniroutectl with `args`; `env_address` set: $OMNIROUTE_ADDRESS; `stdin_text` is
  // written to its standard input (then closed).
  explicit CtlProcess(const std::vector<std::string>& args,
                      std::optional<std::string> env_address = std::nullopt,
                      const std::string& stdin_text = "",
                      const std::vector<std::string>& extra_env = {}) {
    for (const std::string& a : args) command_ += (command_.empty() ? "" : " ") + a;
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      bool drop = false;
      for (const char* name : {"OMNIROUTE_ADDRESS=", "OMNIROUTE_TOKEN=", "OMNIROUTE_TOKEN_FILE=",
                               "OMNIROUTE_CA=", "OMNIROUTE_CERT=", "OMNIROUTE_KEY="}) {
        drop = drop || std::strncmp(*e, name, std::strlen(name)) == 0;
      }
      if (!drop) env.emplace_back(*e);
    }
    if (env_address.has_value()) env.push_back("OMNIROUTE_ADDRESS=" + *env_address);
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings = {"omniroutectl"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out_pipe[2], err_pipe[2], in_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(in_pipe, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      return;
    }
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(in_pipe[0], STDIN_FILENO);
      ::dup2(out_pipe[1], STDOUT_FILENO);
      ::dup2(err_pipe[1], STDERR_FILENO);
      ::execve(OMNIROUTECTL_PATH, argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    if (!stdin_text.empty()) {
      const ssize_t n = ::write(in_pipe[1], stdin_text.data(), stdin_text.size());
      EXPECT_EQ(n, static_cast<ssize_t>(stdin_text.size())) << "short write to stdin";
    }
    ::close(in_pipe[1]);
  }

  ~CtlProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }
  CtlProcess(const CtlProcess&) = delete;
  CtlProcess& operator=(const CtlProcess&) = delete;

  // Reads until stdout contains `text`; false when the process closes stdout or `timeout`
  // passes first.
  bool AwaitStdout(const std::string& text,
                   std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (result_.out.find(text) == std::string::npos) {
      if (out_fd_ < 0 || std::chrono::steady_clock::now() >= deadline) return false;
      Pump(deadline);
    }
    return true;
  }

  void Signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // Reads everything until the process exits (or is killed at `timeout`).
  CtlResult Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while ((out_fd_ >= 0 || err_fd_ >= 0) && std::chrono::steady_clock::now() < deadline) {
      Pump(deadline);
    }
    if (pid_ > 0) {
      int status = 0;
      pid_t got = ::waitpid(pid_, &status, WNOHANG);
      while (got == 0 && std::chrono::steady_clock::now() < deadline) {
        ::usleep(10000);
        got = ::waitpid(pid_, &status, WNOHANG);
      }
      if (got == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        result_.err +=
            "\n[killed: still running after " + std::to_string(timeout.count()) + " ms]\n";
        result_.exit_code = -1;
      } else {
        result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      pid_ = -1;
    }
    result_.command = command_;
    return result_;
  }

 private:
  // Reads what is available on stdout and stderr, waiting until `deadline` for something;
  // closes a pipe at its end. False when nothing happened.
  bool Pump(std::chrono::steady_clock::time_point deadline) {
    pollfd fds[2];
    int n = 0;
    int* owners[2];
    std::string* sinks[2];
    if (out_fd_ >= 0) {
      fds[n] = {out_fd_, POLLIN, 0};
      owners[n] = &out_fd_;
      sinks[n++] = &result_.out;
    }
    if (err_fd_ >= 0) {
      fds[n] = {err_fd_, POLLIN, 0};
      owners[n] = &err_fd_;
      sinks[n++] = &result_.err;
    }
    if (n == 0) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const int ready = ::poll(fds, n, static_cast<int>(left.count()));
    if (ready <= 0) return false;
    bool got = false;
    for (int i = 0; i < n; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        sinks[i]->append(buf, static_cast<size_t>(r));
        got = true;
      } else if (r == 0 || errno != EINTR) {
        ::close(*owners[i]);
        *owners[i] = -1;
        got = true;
      }
    }
    return got;
  }

  std::string command_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  CtlResult result_;
};

// Runs omniroutectl to the end.
inline CtlResult RunCtl(const std::vector<std::string>& args,
                        std::optional<std::string> env_address = std::nullopt,
                        const std::string& stdin_text = "") {
  CtlProcess process(args, std::move(env_address), stdin_text);
  return process.Wait();
}

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_CTL_CTL_PROCESS_H_
