// Ctrl-C for omniroutectl: see interrupt.h.

#include "ctl/interrupt.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "ctl/exit_codes.h"

namespace omniroute::ctl {
namespace {

struct State {
  std::mutex mu;
  std::condition_variable cv;
  bool requested = false;              // guarded by mu
  bool scope_open = false;             // guarded by mu
  std::function<void()> on_interrupt;  // guarded by mu
};

State& GetState() {
  static State* state = new State();  // never destroyed: the signal thread outlives main
  return *state;
}

void WaitForSignals(sigset_t set) {
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    State& s = GetState();
    std::unique_lock<std::mutex> lock(s.mu);
    if (!s.scope_open || s.requested) ::_exit(kExitInterrupted);
    s.requested = true;
    if (s.on_interrupt) s.on_interrupt();
    s.cv.notify_all();
  }
}

}  // namespace

void Interrupt::Install() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread(WaitForSignals, set).detach();
}

bool Interrupt::Requested() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.requested;
}

bool Interrupt::SleepFor(absl::Duration d) {
  State& s = GetState();
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait_for(lock, std::chrono::microseconds(absl::ToInt64Microseconds(d)),
                [&s] { return s.requested; });
  return !s.requested;
}

Interrupt::Scope::Scope(std::function<void()> on_interrupt) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.scope_open = true;
  s.on_interrupt = std::move(on_interrupt);
}

Interrupt::Scope::~Scope() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.scope_open = false;
  s.on_interrupt = nullptr;
}

}  // namespace omniroute::ctl
