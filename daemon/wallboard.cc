#include "daemon/wallboard.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon/convert.h"
#include "google/protobuf/util/time_util.h"
#include "omniroute/session.h"

namespace omniroute::daemon {
namespace {

std::string JsonTime(absl::Time t) {
  return JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
}

// Seconds with millisecond precision, as JSON.
std::string JsonSeconds(double seconds) { return absl::StrFormat("%.3f", seconds); }

double Seconds(const google::protobuf::Duration& d) {
  return static_cast<double>(google::protobuf::util::TimeUtil::DurationToMilliseconds(d)) / 1e3;
}

std::string OptionalRatio(bool has, double value) {
  return has ? absl::StrFormat("%.4f", value) : std::string("null");
}

// How an agent counts on the board: busy (holding or offered a session), or its presence.
enum AgentState { kAvailable, kBusy, kNotReady, kWrapUp, kOffline, kAgentStates };

AgentState StateOf(const EngineerInfo& info) {
  switch (info.presence) {
    case Presence::kAvailable:
      return info.used_budget > 0 ? kBusy : kAvailable;
    case Presence::kNotReady:
      return kNotReady;
    case Presence::kWrapUp:
      return kWrapUp;
    case Presence::kOffline:
      break;
  }
  return kOffline;
}

std::string DecisionChunk(const Event& event) {
  return absl::StrCat("event: decision\ndata: ", DecisionJson(event), "\n\n");
}

}  // namespace

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;  // UTF-8 passes through: JSON text is UTF-8
        }
    }
  }
  out += '"';
  return out;
}

std::string DescribeReason(const RoutingReason& r, absl::string_view chosen_agent) {
  const std::string runner_up =
      r.has_runner_up ? absl::StrCat(" ", r.runner_up_engineer.value()) : std::string();
  std::string why;
  switch (r.decided_by) {
    case Decider::kNone:
      break;
    case Decider::kOnlyCandidate:
      why = "the only eligible agent";
      break;
    case Decider::kPrimaryKey:
      why = absl::StrCat("ahead of", runner_up, " on the main criterion");
      break;
    case Decider::kSecondaryKey:
      why = absl::StrCat("level with", runner_up, " on the main criterion, ahead on the tie-break");
      break;
    case Decider::kRegistrationOrder:
      why = absl::StrCat("level with", runner_up, ", registered first");
      break;
    case Decider::kDeclinedFallback:
      why = "only agents who had declined it were eligible";
      break;
    case Decider::kGrabRank:
      why = absl::StrCat("best ranked claimant (tier, score), ahead of", runner_up);
      break;
    case Decider::kEffectivePriority:
      why = absl::StrFormat("%s was free: the highest effective priority (%.3f)", chosen_agent,
                            static_cast<double>(r.effective_priority_milli) / 1000.0);
      break;
    case Decider::kLongestWait:
      why = absl::StrCat(chosen_agent, " was free: equal priority, the longest wait (",
                         absl::FormatDuration(absl::Trunc(r.waited, absl::Seconds(1))), ")");
      break;
    case Decider::kSessionOrder:
      why = absl::StrCat(chosen_agent, " was free: equal priority and wait, the older session");
      break;
  }
  std::string out = absl::StrCat(r.strategy, why.empty() ? "" : ": ", why);
  if (r.stage != RoutingStage::kQueue) absl::StrAppend(&out, ", stage ", RoutingStageName(r.stage));
  if (r.relaxation_step > 0) absl::StrAppend(&out, ", relaxation step ", r.relaxation_step);
  if (!r.rules.empty()) absl::StrAppend(&out, ", rules [", absl::StrJoin(r.rules, ", "), "]");
  return out;
}

bool IsWallboardDecision(EventType type) {
  switch (type) {
    case EventType::kOfferCreated:
    case EventType::kSessionAssigned:
    case EventType::kSessionStageChanged:
    case EventType::kSessionRelaxed:
    case EventType::kSessionOverflowed:
      return true;
    default:
      return false;
  }
}

std::string DecisionJson(const Event& e) {
  std::string what;
  std::string reason;
  switch (e.type) {
    case EventType::kOfferCreated:
      what = e.detail.empty() ? "offered" : absl::StrCat("offered (", e.detail, ")");
      break;
    case EventType::kSessionAssigned:
      what = "assigned";
      break;
    case EventType::kSessionStageChanged:
      what = "stage changed";
      reason = e.detail;
      break;
    case EventType::kSessionRelaxed:
      what = "relaxed";
      reason = e.detail;
      break;
    case EventType::kSessionOverflowed:
      what = "overflowed";
      reason = e.to_queue.empty() ? absl::StrCat("out of the router: ", e.detail)
                                  : absl::StrCat("to ", e.to_queue.value(), ": ", e.detail);
      break;
    default:
      what = absl::AsciiStrToLower(EventTypeName(e.type));
      reason = e.detail;
  }
  if (e.has_reason) reason = DescribeReason(e.reason, e.engineer.value());
  return absl::StrCat("{\"sequence\":", e.seq, ",\"time\":", JsonTime(e.at),
                      ",\"session\":", JsonQuote(SessionIdToString(e.session)),
                      ",\"queue\":", JsonQuote(e.queue.value()),
                      ",\"agent\":", JsonQuote(e.engineer.value()), ",\"what\":", JsonQuote(what),
                      ",\"reason\":", JsonQuote(reason), "}");
}

std::string SnapshotJson(const Engine& engine, const StatsBook& stats, absl::Time now,
                         absl::Duration window) {
  std::array<int64_t, kAgentStates> agents{};
  for (const EngineerId& id : engine.ListEngineers()) {
    const std::optional<EngineerInfo> info = engine.GetEngineer(id);
    if (info.has_value()) ++agents[StateOf(*info)];
  }
  std::string out =
      absl::StrCat("{\"time\":", JsonTime(now),
                   ",\"window\":", JsonQuote(absl::FormatDuration(window)), ",\"queues\":[");
  bool first = true;
  for (const QueueId& q : engine.ListQueues()) {
    absl::StatusOr<v1::QueueStats> s = stats.QueueStats(engine, q, now, window);
    if (!s.ok()) continue;
    if (!first) out += ',';
    first = false;
    std::string by_channel;
    for (const v1::ChannelWaiting& w : s->waiting_by_channel()) {
      absl::StrAppend(&by_channel, by_channel.empty() ? "" : ",", JsonQuote(w.channel_id()), ":",
                      w.waiting());
    }
    absl::StrAppend(
        &out, "{\"id\":", JsonQuote(q.value()), ",\"waiting\":", s->waiting(),
        ",\"waiting_by_channel\":{", by_channel, "},\"offered\":", s->offered(),
        ",\"oldest_wait_s\":", JsonSeconds(s->has_oldest_wait() ? Seconds(s->oldest_wait()) : 0),
        ",\"service_level\":", OptionalRatio(s->has_service_level(), s->service_level()),
        ",\"goal\":", absl::StrFormat("%.4f", s->service_level_goal()),
        ",\"threshold_s\":", JsonSeconds(Seconds(s->service_level_threshold())), ",\"asa_s\":",
        s->answered_count() > 0 ? JsonSeconds(Seconds(s->average_speed_of_answer())) : "null",
        ",\"abandonment\":", OptionalRatio(s->has_abandonment_rate(), s->abandonment_rate()),
        ",\"answered\":", s->answered_count(), ",\"abandoned\":", s->abandoned_count(),
        ",\"agents\":{\"available\":", s->agents_available(), ",\"busy\":", s->agents_busy(),
        ",\"not_ready\":", s->agents_not_ready(), ",\"offline\":", s->agents_offline(), "}}");
  }
  absl::StrAppend(&out, "],\"agents\":{\"available\":", agents[kAvailable],
                  ",\"busy\":", agents[kBusy], ",\"not_ready\":", agents[kNotReady],
                  ",\"wrap_up\":", agents[kWrapUp], ",\"offline\":", agents[kOffline], "}}");
  return out;
}

Wallboard::Wallboard(Router& router) : router_(router) {}

Wallboard::~Wallboard() { Stop(); }

void Wallboard::Start(absl::Duration period) {
  ticker_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(mu_);
    while (
        !wake_.wait_for(lock, absl::ToChronoMilliseconds(period), [this] { return stopping_; })) {
      lock.unlock();
      Tick();
      lock.lock();
    }
  });
}

void Wallboard::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void Wallboard::Tick() {
  if (server_ == nullptr || server_->open_streams() == 0) return;  // nobody watches
  router_.Submit([this] { server_->Publish(kTopic, SnapshotChunk()); });
}

std::string Wallboard::SnapshotChunk() {
  return absl::StrCat("event: snapshot\ndata: ",
                      SnapshotJson(router_.engine(), router_.stats(), router_.now(),
                                   router_.settings().stats_default_window),
                      "\n\n");
}

std::string Wallboard::FirstChunk() {
  // EventSource reconnects after `retry` milliseconds when the daemon restarts.
  std::string out = absl::StrCat("retry: 2000\n\n", SnapshotChunk());
  const int oldest = recent_count_ < kRecentDecisions ? 0 : next_;
  for (int i = 0; i < recent_count_; ++i) {
    absl::StrAppend(&out, DecisionChunk(recent_[(oldest + i) % kRecentDecisions]));
  }
  return out;
}

void Wallboard::OnEvent(const Event& event, bool replaying) {
  if (replaying || !IsWallboardDecision(event.type)) return;
  recent_[next_] = event;
  next_ = (next_ + 1) % kRecentDecisions;
  if (recent_count_ < kRecentDecisions) ++recent_count_;
  if (server_ != nullptr && server_->open_streams() > 0)
    absl::StrAppend(&pending_, DecisionChunk(event));
}

void Wallboard::OnCommit() {
  if (pending_.empty()) return;
  if (server_ != nullptr) server_->Publish(kTopic, std::move(pending_));
  pending_.clear();
}

}  // namespace omniroute::daemon
