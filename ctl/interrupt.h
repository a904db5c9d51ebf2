// Ctrl-C for omniroutectl: SIGINT and SIGTERM, turned into something commands can observe.
//
// Install() (first thing in main, before any thread exists) blocks both signals in every
// thread and starts a thread that waits for them. By default a signal ends the process at
// once with exit code 130 (kExitInterrupted): a one-shot command has nothing worth finishing.
// A streaming command (`events tail`, `stats --watch`) opens an Interrupt::Scope instead: the
// signal then cancels its stream or wakes its sleep, and the command ends normally (exit 0).
// A second signal always ends the process. Thread-safe.

#ifndef OMNIROUTE_CTL_INTERRUPT_H_
#define OMNIROUTE_CTL_INTERRUPT_H_

#include <functional>

#include "absl/time/time.h"

namespace omniroute::ctl {

class Interrupt {
 public:
  // Blocks SIGINT and SIGTERM and starts the waiting thread. Call once, before other threads
  // start (they inherit the signal mask).
  static void Install();

  // Whether a signal arrived while a Scope was open.
  static bool Requested();

  // Sleeps for `d`, or less if a signal arrives; false when interrupted.
  static bool SleepFor(absl::Duration d);

  // While alive, a signal runs `on_interrupt` (e.g. ClientContext::TryCancel, from the
  // signal thread) and sets Requested() instead of ending the process. Scopes do not nest.
  class Scope {
   public:
    explicit Scope(std::function<void()> on_interrupt);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  };
};

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_INTERRUPT_H_
