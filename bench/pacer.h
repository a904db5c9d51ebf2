// Pacer: the open loop of the load generator. One thread walks the plan's arrival schedule
// and hands each send to the gateways in turn at its scheduled time, whatever the daemon
// answers, as long as the run is in its warmup or measurement phase.
//
//   Pacer pacer(ctx, gateways);
//   pacer.Start();
//   ...                    // ctx.set_phase(Phase::kDrain)
//   pacer.Join();
//
// Nothing is hidden when the bench or the daemon cannot keep up: latencies count from the
// scheduled time (no coordinated omission); a send that leaves more than kLateSendMicros
// after its time counts as late (the pacer catches up by sending at once, it never shifts the
// schedule); a send due while --max_open sessions are open is skipped and counted, instead of
// waiting. Every due send counts as scheduled. The lag of each send goes to its histogram.

#ifndef OMNIROUTE_BENCH_PACER_H_
#define OMNIROUTE_BENCH_PACER_H_

#include <thread>
#include <vector>

#include "bench/gateway.h"
#include "bench/load_context.h"

namespace omniroute::bench {

class Pacer {
 public:
  // The gateways and the context must outlive Join().
  Pacer(LoadContext& ctx, std::vector<Gateway*> gateways)
      : ctx_(ctx), gateways_(std::move(gateways)) {}
  ~Pacer() { Join(); }
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  void Start();
  // Waits for the thread, which ends once the phase is kDrain.
  void Join();

 private:
  void Loop();

  LoadContext& ctx_;
  const std::vector<Gateway*> gateways_;
  std::thread thread_;
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_PACER_H_
