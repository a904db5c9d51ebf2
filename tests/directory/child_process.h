// A child process for the directory's process tests: this very test binary, started again
// (fork + exec, so that the child owns a fresh RocksDB environment whatever threads the
// parent runs) with --gtest_filter=<test> and the environment variables given. The child
// writes lines to the parent on fd 3 and reads from it on fd 4.

#ifndef OMNIROUTE_TESTS_DIRECTORY_CHILD_PROCESS_H_
#define OMNIROUTE_TESTS_DIRECTORY_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

extern char** environ;

namespace omniroute::directory::testing {

class ChildProcess {
 public:
  // Starts the child; fails the test (and leaves pid() at -1) if it cannot.
  ChildProcess(const std::string& gtest_filter,
               const std::vector<std::pair<std::string, std::string>>& env) {
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
      ADD_FAILURE() << "readlink /proc/self/exe: " << std::strerror(errno);
      return;
    }
    exe[n] = '\0';
    // Both pipes close-on-exec and above fd 10, so that the child's dup2 to 3 and 4 (which
    // clears close-on-exec) never meets a descriptor it would clobber.
    int up[2];    // child -> parent
    int down[2];  // parent -> child
    if (!MakePipe(up) || !MakePipe(down)) {
      ADD_FAILURE() << "pipe: " << std::strerror(errno);
      return;
    }
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string filter = "--gtest_filter=" + gtest_filter;
    std::vector<char*> argv = {exe, filter.data(), nullptr};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, up[1], 3);
    posix_spawn_file_actions_adddup2(&actions, down[0], 4);
    // The child's own test report would interleave with the parent's: keep its stderr only.
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const int rc = ::posix_spawn(&pid_, exe, &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(up[1]);
    ::close(down[0]);
    from_child_ = up[0];
    to_child_ = down[1];
    if (rc != 0) {
      pid_ = -1;
      ADD_FAILURE() << "posix_spawn: " << std::strerror(rc);
    }
  }

  ~ChildProcess() {
    CloseInput();
    if (from_child_ >= 0) ::close(from_child_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next line from the child (without '\n'), or nullopt at end of file.
  std::optional<std::string> ReadLine() {
    for (;;) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      char chunk[4096];
      const ssize_t n = ::read(from_child_, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Tells the child to finish (end of file on its fd 4).
  void CloseInput() {
    if (to_child_ >= 0) ::close(to_child_);
    to_child_ = -1;
  }

  void Kill() { ::kill(pid_, SIGKILL); }

  // The wait status.
  int Wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
  }

 private:
  static bool MakePipe(int fds[2]) {
    int raw[2];
    if (::pipe2(raw, O_CLOEXEC) != 0) return false;
    for (int i = 0; i < 2; ++i) {
      fds[i] = ::fcntl(raw[i], F_DUPFD_CLOEXEC, 10);
      ::close(raw[i]);
      if (fds[i] < 0) return false;
    }
    return true;
  }

  pid_t pid_ = -1;
  int from_child_ = -1;
  int to_child_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

// In the child: writes `line` and '\n' to the parent (fd 3), whole.
inline bool TellParent(const std::string& line) {
  std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(3, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// In the child: blocks until the parent closes its end (fd 4).
inline void WaitForParent() {
  char c;
  for (;;) {
    const ssize_t n = ::read(4, &c, 1);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    return;
  }
}

}  // namespace omniroute::directory::testing

#endif  // OMNIROUTE_TESTS_DIRECTORY_CHILD_PROCESS_H_
