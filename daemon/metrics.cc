#include "daemon/metrics.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "daemon/stats.h"
#include "grpcpp/support/interceptor.h"
#include "omniroute/session.h"

namespace omniroute::daemon {

// ---------------------------------------------------------------------------------------------
// Exposition

namespace {

// Prometheus floats: integers without a fraction, +Inf/-Inf/NaN by name, otherwise the
// shortest form that reads back the same.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  for (int precision = 15; precision < 17; ++precision) {
    std::string s = absl::StrFormat("%.*g", precision, v);
    if (std::strtod(s.c_str(), nullptr) == v) return s;
  }
  return absl::StrFormat("%.17g", v);
}

}  // namespace

std::string Exposition::EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Exposition::EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void Exposition::Family(absl::string_view name, absl::string_view type, absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type,
                  "\n");
}

void Exposition::Sample(absl::string_view name, const Labels& labels, double value) {
  absl::StrAppend(&text_, name);
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      absl::StrAppend(&text_, labels[i].first, "=\"", EscapeLabelValue(labels[i].second), "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

// ---------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

uint64_t Histogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) n += counts_[i].load(std::memory_order_relaxed);
  return n;
}

void Histogram::Write(Exposition& out, absl::string_view name, const Labels& labels) const {
  const std::string bucket = absl::StrCat(name, "_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
    Labels with_le = labels;
    with_le.emplace_back("le", le);
    out.Sample(bucket, with_le, static_cast<double>(cumulative));
  }
  out.Sample(absl::StrCat(name, "_sum"), labels, sum_.load(std::memory_order_relaxed));
  out.Sample(absl::StrCat(name, "_count"), labels, static_cast<double>(cumulative));
}

std::vector<double> Histogram::LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> Histogram::SizeBounds() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
}

// ---------------------------------------------------------------------------------------------
// SessionCounters

void SessionCounters::Observe(const Event& e, const Engine& /*engine*/) {
  if (e.queue.empty()) return;
  auto session = [&]() -> Counts& { return sessions_[{e.queue.value(), e.channel.value()}]; };
  auto offer = [&](absl::string_view outcome) {
    ++offers_[{e.queue.value(), std::string(outcome)}];
  };
  switch (e.type) {
    case EventType::kSessionCreated:
      ++session().created;
      break;
    case EventType::kSessionAssigned:
      ++session().routed;
      break;
    case EventType::kSessionAbandoned:
      ++session().abandoned;
      break;
    case EventType::kSessionCompleted:
      ++session().completed;
      break;
    case EventType::kSessionCancelled:
      ++session().cancelled;
      break;
    case EventType::kSessionOverflowed:
      ++session().overflowed;
      break;
    case EventType::kOfferCreated:
      offer("created");
      break;
    case EventType::kOfferAccepted:
      offer("accepted");
      break;
    case EventType::kOfferRejected:
      offer("rejected");
      break;
    case EventType::kOfferExpired:
      offer("expired");
      break;
    case EventType::kOfferRescinded:
      offer("rescinded");
      break;
    case EventType::kOfferClaimed:
      offer("claimed");
      break;
    default:
      break;
  }
}

void SessionCounters::Write(Exposition& out) const {
  struct Family {
    const char* name;
    const char* help;
    uint64_t Counts::*field;
  };
  static constexpr Family kFamilies[] = {
      {"omniroute_sessions_created_total",
       "Sessions created (waiting with the bot, queued or booked), by queue and channel.",
       &Counts::created},
      {"omniroute_sessions_routed_total", "Sessions assigned to an agent, by queue and channel.",
       &Counts::routed},
      {"omniroute_sessions_abandoned_total",
       "Sessions the customer left before an agent took them, by queue and channel.",
       &Counts::abandoned},
      {"omniroute_sessions_completed_total", "Sessions completed, by queue and channel.",
       &Counts::completed},
      {"omniroute_sessions_cancelled_total",
       "Sessions cancelled by their gateway, by queue and channel.", &Counts::cancelled},
      {"omniroute_sessions_overflowed_total",
       "Sessions that overflowed out of the queue, by queue and channel.", &Counts::overflowed},
  };
  for (const Family& f : kFamilies) {
    out.Family(f.name, "counter", f.help);
    for (const auto& [key, counts] : sessions_) {
      out.Sample(f.name, {{"queue", key.first}, {"channel", key.second}},
                 static_cast<double>(counts.*(f.field)));
    }
  }
  out.Family("omniroute_offers_total", "counter",
             "Offers by queue and outcome (created, accepted, rejected, expired, rescinded, "
             "claimed).");
  for (const auto& [key, n] : offers_) {
    out.Sample("omniroute_offers_total", {{"queue", key.first}, {"outcome", key.second}},
               static_cast<double>(n));
  }
}

// ---------------------------------------------------------------------------------------------
// Engine-thread figures

namespace {

double Seconds(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + static_cast<double>(d.nanos()) * 1e-9;
}

absl::string_view PresenceLabel(Presence p) {
  switch (p) {
    case Presence::kOffline:
      return "offline";
    case Presence::kAvailable:
      return "available";
    case Presence::kNotReady:
      return "not_ready";
    case Presence::kWrapUp:
      return "wrap_up";
  }
  return "unknown";
}

}  // namespace

void WriteEngineMetrics(Exposition& out, const Engine& engine, const StatsBook& stats,
                        const SessionCounters& counters, absl::Time now, absl::Duration window) {
  counters.Write(out);

  const std::vector<QueueId> queues = engine.ListQueues();
  std::vector<std::pair<QueueId, v1::QueueStats>> figures;
  figures.reserve(queues.size());
  for (const QueueId& q : queues) {
    absl::StatusOr<v1::QueueStats> s = stats.QueueStats(engine, q, now, window);
    if (s.ok()) figures.emplace_back(q, *std::move(s));
  }

  out.Family("omniroute_sessions_waiting", "gauge",
             "Sessions queued in the queue now, by channel (channels with none are left out).");
  for (const auto& [q, s] : figures) {
    for (const v1::ChannelWaiting& w : s.waiting_by_channel()) {
      out.Sample("omniroute_sessions_waiting", {{"queue", q.value()}, {"channel", w.channel_id()}},
                 w.waiting());
    }
  }
  out.Family("omniroute_queue_sessions_waiting", "gauge",
             "Sessions queued in the queue now, every channel together.");
  for (const auto& [q, s] : figures) {
    out.Sample("omniroute_queue_sessions_waiting", {{"queue", q.value()}}, s.waiting());
  }
  out.Family("omniroute_sessions_offered", "gauge", "Sessions with an offer out now.");
  for (const auto& [q, s] : figures) {
    out.Sample("omniroute_sessions_offered", {{"queue", q.value()}}, s.offered());
  }
  out.Family("omniroute_oldest_wait_seconds", "gauge",
             "How long the queue's longest-waiting session has waited (0 when none waits).");
  for (const auto& [q, s] : figures) {
    out.Sample("omniroute_oldest_wait_seconds", {{"queue", q.value()}},
               s.has_oldest_wait() ? Seconds(s.oldest_wait()) : 0.0);
  }

  const std::string window_label = absl::FormatDuration(window);
  out.Family("omniroute_service_level_ratio", "gauge",
             "Share of the sessions answered within the service-level threshold over the "
             "window (absent when none was answered).");
  for (const auto& [q, s] : figures) {
    if (s.has_service_level()) {
      out.Sample("omniroute_service_level_ratio", {{"queue", q.value()}, {"window", window_label}},
                 s.service_level());
    }
  }
  out.Family("omniroute_service_level_goal_ratio", "gauge",
             "The queue's service-level goal (share of sessions to answer within the threshold).");
  for (const auto& [q, s] : figures) {
    out.Sample("omniroute_service_level_goal_ratio", {{"queue", q.value()}},
               s.service_level_goal());
  }
  out.Family("omniroute_service_level_threshold_seconds", "gauge",
             "The queue's service-level threshold.");
  for (const auto& [q, s] : figures) {
    out.Sample("omniroute_service_level_threshold_seconds", {{"queue", q.value()}},
               Seconds(s.service_level_threshold()));
  }
  out.Family("omniroute_average_speed_of_answer_seconds", "gauge",
             "Mean wait of the sessions answered over the window.");
  for (const auto& [q, s] : figures) {
    out.Sample("omniroute_average_speed_of_answer_seconds",
               {{"queue", q.value()}, {"window", window_label}},
               Seconds(s.average_speed_of_answer()));
  }
  out.Family("omniroute_abandonment_ratio", "gauge",
             "Abandoned over abandoned plus answered, over the window (absent when neither).");
  for (const auto& [q, s] : figures) {
    if (s.has_abandonment_rate()) {
      out.Sample("omniroute_abandonment_ratio", {{"queue", q.value()}, {"window", window_label}},
                 s.abandonment_rate());
    }
  }
  out.Family("omniroute_queue_agents", "gauge",
             "The queue's agents by state: busy (holding a session), available, not_ready, "
             "offline.");
  for (const auto& [q, s] : figures) {
    out.Sample("omniroute_queue_agents", {{"queue", q.value()}, {"state", "busy"}},
               s.agents_busy());
    out.Sample("omniroute_queue_agents", {{"queue", q.value()}, {"state", "available"}},
               s.agents_available());
    out.Sample("omniroute_queue_agents", {{"queue", q.value()}, {"state", "not_ready"}},
               s.agents_not_ready());
    out.Sample("omniroute_queue_agents", {{"queue", q.value()}, {"state", "offline"}},
               s.agents_offline());
  }

  std::array<int64_t, 5> by_presence{};
  for (const EngineerId& id : engine.ListEngineers()) {
    const std::optional<EngineerInfo> info = engine.GetEngineer(id);
    if (info.has_value()) ++by_presence[static_cast<size_t>(info->presence) % 5];
  }
  out.Family("omniroute_agents", "gauge", "Agents by presence.");
  for (Presence p :
       {Presence::kOffline, Presence::kAvailable, Presence::kNotReady, Presence::kWrapUp}) {
    out.Sample("omniroute_agents", {{"presence", PresenceLabel(p)}},
               static_cast<double>(by_presence[static_cast<size_t>(p) % 5]));
  }
  out.Family("omniroute_sessions_unfinished", "gauge",
             "Sessions with the bot, queued or offered, over every queue (the figure "
             "limits.max_waiting_sessions applies to).");
  out.Sample("omniroute_sessions_unfinished", {}, static_cast<double>(stats.waiting_sessions()));
}

void WriteEngineWorkMetrics(Exposition& out, const EngineMetrics& m) {
  out.Family("omniroute_engine_batch_size", "histogram",
             "Pieces of work (requests, timers) the engine thread ran per batch.");
  m.batch_size.Write(out, "omniroute_engine_batch_size", {});
  out.Family("omniroute_engine_batch_duration_seconds", "histogram",
             "Engine thread time per batch: routing, journal append and sync, answers.");
  m.batch_seconds.Write(out, "omniroute_engine_batch_duration_seconds", {});
  out.Family("omniroute_journal_sync_duration_seconds", "histogram",
             "Duration of each fdatasync of the journal.");
  m.journal_sync_seconds.Write(out, "omniroute_journal_sync_duration_seconds", {});
  out.Family("omniroute_snapshots_total", "counter", "Snapshots of the state written.");
  out.Sample("omniroute_snapshots_total", {},
             static_cast<double>(m.snapshots.load(std::memory_order_relaxed)));
}

// ---------------------------------------------------------------------------------------------
// gRPC calls

namespace {

class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(CallMetrics& metrics, const char* method) : metrics_(metrics), method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.Count(method_, static_cast<int>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  CallMetrics& metrics_;
  const char* method_;
};

class CallInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallInterceptorFactory(CallMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallInterceptor(metrics_, info->method());
  }

 private:
  CallMetrics& metrics_;
};

// gRPC's codes are Abseil's, value for value ("OK", "INVALID_ARGUMENT", ...): 0..16.
constexpr int kUnknownCode = static_cast<int>(absl::StatusCode::kUnknown);
int CodeIndex(int code) {
  return code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated) ? kUnknownCode
                                                                                 : code;
}

}  // namespace

void CallMetrics::Count(absl::string_view method, int code) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = calls_.find(method);
  if (it == calls_.end())
    it = calls_.emplace(std::string(method), std::array<uint64_t, 17>{}).first;
  ++it->second[static_cast<size_t>(CodeIndex(code))];
}

void CallMetrics::Write(Exposition& out) const {
  out.Family("omniroute_grpc_server_handled_total", "counter",
             "gRPC calls answered, by service, method and status code (streams when they end).");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, by_code] : calls_) {
    // "/omniroute.v1.SessionService/CreateSession" -> service, method.
    absl::string_view full = name;
    if (!full.empty() && full.front() == '/') full.remove_prefix(1);
    const size_t slash = full.find('/');
    const absl::string_view service =
        slash == absl::string_view::npos ? full : full.substr(0, slash);
    const absl::string_view method =
        slash == absl::string_view::npos ? absl::string_view() : full.substr(slash + 1);
    for (size_t code = 0; code < by_code.size(); ++code) {
      if (by_code[code] == 0) continue;  // never seen (a counter, once seen, stays above 0)
      out.Sample("omniroute_grpc_server_handled_total",
                 {{"grpc_service", service},
                  {"grpc_method", method},
                  {"grpc_code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}},
                 static_cast<double>(by_code[code]));
    }
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
CallMetrics::InterceptorFactory() {
  return std::make_unique<CallInterceptorFactory>(*this);
}

}  // namespace omniroute::daemon
