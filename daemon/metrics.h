// Metrics in the Prometheus text exposition format (version 0.0.4), served on the daemon's
// HTTP endpoint at /metrics (daemon/http_server.h).
//
// Where each figure is kept, so that collecting it costs routing nothing measurable:
// - Histograms of the engine thread's own work (batch sizes, batch durations, journal syncs)
//   are `Histogram`s of relaxed atomics: the engine thread adds, a scrape reads.
// - gRPC calls by method and code are counted by a server interceptor (`CallMetrics`) on
//   gRPC's threads, one short mutex hold per call.
// - Everything about queues, channels, sessions and agents is read on the engine thread when
//   a scrape asks for it (`WriteEngineMetrics`, submitted as work like any request): the
//   cumulative counters are kept by `SessionCounters`, fed every event in Router::Publish, and
//   the live figures come from the engine and the statistics book at that moment.
//
// Names follow the Prometheus conventions: an `omniroute_` prefix, base units (seconds,
// ratios 0..1), `_total` for counters, labels in snake case.

#ifndef OMNIROUTE_DAEMON_METRICS_H_
#define OMNIROUTE_DAEMON_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_interceptor.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"

namespace omniroute::daemon {

class StatsBook;

// Label name/value pairs of one sample, in the order written.
using Labels = std::vector<std::pair<absl::string_view, absl::string_view>>;

// Builds an exposition: families, each announced once with HELP and TYPE, then its samples.
class Exposition {
 public:
  // "counter", "gauge" or "histogram".
  void Family(absl::string_view name, absl::string_view type, absl::string_view help);
  void Sample(absl::string_view name, const Labels& labels, double value);
  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

  // A label value with \, " and newline escaped; a HELP text with \ and newline escaped.
  static std::string EscapeLabelValue(absl::string_view value);
  static std::string EscapeHelp(absl::string_view help);

 private:
  std::string text_;
};

// A histogram with fixed upper bounds, observed from one thread or many (relaxed atomics) and
// written from any: a scrape may see a count one observation ahead of the sum, never a
// decreasing one.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // `<name>_bucket{...,le="..."}` (cumulative, with +Inf), `<name>_sum`, `<name>_count`. The
  // family must have been announced (type histogram).
  void Write(Exposition& out, absl::string_view name, const Labels& labels) const;
  uint64_t count() const;

  // 100 µs .. 10 s, for latencies; 1 .. 4096, for batch sizes.
  static std::vector<double> LatencyBounds();
  static std::vector<double> SizeBounds();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (the last: +Inf)
  std::atomic<double> sum_{0};
};

// The engine thread's own work.
struct EngineMetrics {
  Histogram batch_size{Histogram::SizeBounds()};               // pieces of work per drained batch
  Histogram batch_seconds{Histogram::LatencyBounds()};         // drain start to answers delivered
  Histogram journal_sync_seconds{Histogram::LatencyBounds()};  // each fdatasync of the journal
  std::atomic<uint64_t> snapshots{0};                          // snapshots written
};

// Cumulative counts by queue and channel, and offers by queue and outcome, kept from the
// engine's events on the engine thread.
class SessionCounters {
 public:
  void Observe(const Event& event, const Engine& engine);
  // Writes the counter families (engine thread).
  void Write(Exposition& out) const;

 private:
  struct Counts {
    uint64_t created = 0;     // SESSION_CREATED (every state: bot, queued, scheduled)
    uint64_t routed = 0;      // SESSION_ASSIGNED
    uint64_t abandoned = 0;   // SESSION_ABANDONED
    uint64_t completed = 0;   // SESSION_COMPLETED
    uint64_t cancelled = 0;   // SESSION_CANCELLED
    uint64_t overflowed = 0;  // SESSION_OVERFLOWED out of the queue
  };
  // (queue, channel); std::map: written in order, few entries.
  std::map<std::pair<std::string, std::string>, Counts> sessions_;
  // (queue, outcome): created, accepted, rejected, expired, rescinded, claimed.
  std::map<std::pair<std::string, std::string>, uint64_t> offers_;
};

// Writes every figure that lives on the engine thread: sessions and offers by queue and
// channel, waiting sessions and the oldest wait, the service level against its goal, ASA and
// abandonment over the statistics' default window, agents by presence and by queue state.
void WriteEngineMetrics(Exposition& out, const Engine& engine, const StatsBook& stats,
                        const SessionCounters& counters, absl::Time now, absl::Duration window);

// Writes the engine thread's histograms and the daemon's process figures.
void WriteEngineWorkMetrics(Exposition& out, const EngineMetrics& metrics);

// gRPC calls by method and status code, counted by a server interceptor.
class CallMetrics {
 public:
  void Count(absl::string_view method, int code);
  void Write(Exposition& out) const;
  // For grpc::ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> InterceptorFactory();

 private:
  mutable std::mutex mu_;
  // Calls by method, then by code (gRPC's 17; anything else counts as UNKNOWN). Looked up
  // by string_view: counting a call allocates nothing once its method has been seen.
  std::map<std::string, std::array<uint64_t, 17>, std::less<>> calls_;  // guarded by mu_
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_METRICS_H_
