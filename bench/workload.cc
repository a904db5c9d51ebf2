#include "workload.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "omniroute/channel.h"
#include "omniroute/engineer.h"
#include "omniroute/session.h"

namespace omniroute::bench {
namespace {

constexpr uint32_t kNoEngineer = UINT32_MAX;
constexpr std::string_view kRiskTag = "risk:negative-social";

// The channel mix of arrivals. Voice takes an engineer whole, chats a third (the default
// channel table).
struct ChannelMix {
  const char* name;
  double share;
  double handle_min_s;  // handle time, uniform in [min, max]
  double handle_max_s;
  double ring_min_s;  // time for the engineer to pick up an offer
  double ring_max_s;
  double patience_min_s;  // the customer gives up after min + Exp(mean)
  double patience_mean_s;
};
constexpr ChannelMix kChannels[] = {
    {"voice", 0.40, 120, 420, 2, 6, 20, 150},
    {"wechat", 0.25, 240, 720, 1, 4, 60, 300},
    {"app", 0.20, 240, 720, 1, 4, 60, 300},
    {"webchat", 0.15, 240, 720, 1, 4, 60, 300},
};
constexpr int kChannelCount = 4;
constexpr int kVoice = 0;

void Check(const absl::Status& status, std::string_view what) {
  if (!status.ok()) {
    std::fprintf(stderr, "workload: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
                 status.ToString().c_str());
    std::abort();
  }
}

// "eng-000042" -> 42, "queue-07" -> 7.
uint32_t TrailingNumber(const std::string& id) {
  size_t dash = id.rfind('-');
  uint32_t value = 0;
  std::from_chars(id.data() + dash + 1, id.data() + id.size(), value);
  return value;
}

int ChannelCost(const ChannelId& id) {
  for (const ChannelSpec& spec : DefaultChannels()) {
    if (spec.id == id) return spec.cost;
  }
  return 20;
}

}  // namespace

// The closed-loop driver: plays the customers and the engineers against its own engine,
// reacting to the offers and assignments the engine makes, and records every step it takes.
class Generator {
 public:
  explicit Generator(Workload& workload);

  // Takes the next action (or fires the next timers) and records it as a step. Returns
  // false when the action turned out to be moot (nothing recorded).
  bool StepOnce();

  int64_t now_us() const { return now_us_; }
  void EndWarmup() {
    warm_ = true;
    warm_start_us_ = now_us_;
    stats_ = WorkloadStats{};
  }
  WorkloadStats stats() const;

 private:
  enum class ActionKind : uint8_t {
    kArrival,
    kBreak,
    kTick,
    kAccept,
    kReject,
    kClaim,
    kComplete,
    kTransfer,
    kEndWrapUp,
    kAbandon,
    kBackToWork,
  };
  struct Action {
    int64_t at_us = 0;
    uint64_t seq = 0;
    ActionKind kind = ActionKind::kArrival;
    uint32_t engineer = 0;
    uint32_t epoch = 0;
    uint64_t session = 0;
    bool operator>(const Action& other) const {
      return at_us != other.at_us ? at_us > other.at_us : seq > other.seq;
    }
  };
  // What the driver knows of a session, from the events.
  struct Track {
    SessionState state = SessionState::kQueued;
    uint32_t engineer = kNoEngineer;
    uint32_t epoch = 0;  // bumped on every state change and every direct offer
    uint16_t queue = 0;
    uint8_t channel = 0;
    bool holds = false;  // takes engineer budget (direct offer, assigned, wrap-up)
    absl::InlinedVector<uint32_t, 3> grab_pending;
  };

  void Schedule(int64_t at_us, ActionKind kind, uint64_t session = 0, uint32_t engineer = 0,
                uint32_t epoch = 0);
  int64_t Seconds(double lo, double hi);  // uniform, in microseconds
  double Uniform() { return unit_(rng_); }
  bool Chance(double p) { return unit_(rng_) < p; }

  void Record(StepKind kind, int64_t at_us, uint64_t session = 0, uint32_t engineer = 0,
              uint16_t queue = 0);
  void HandleEvents();
  void SetState(Track& track, SessionState state);
  bool IsGrab(const Track& track) const {
    return workload_.queue_configs_[track.queue].delivery == DeliveryMode::kGrab;
  }
  void Arrive();
  void Tick();
  uint32_t PickQueue();

  Workload& workload_;
  Engine engine_;
  Replayer replayer_;
  std::vector<Event> events_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::priority_queue<Action, std::vector<Action>, std::greater<Action>> actions_;
  uint64_t action_seq_ = 0;
  int64_t now_us_ = 0;

  std::vector<Track> tracks_;              // by session id
  std::vector<Presence> presence_;         // by engineer, as the events told
  std::vector<double> cumulative_weight_;  // for picking a queue
  std::vector<int> channel_cost_;
  int available_ = 0;  // engineers available
  int64_t busy_budget_ = 0;
  int64_t waiting_ = 0;   // sessions QUEUED or OFFERED
  double base_rate_ = 0;  // arrivals per second at the nominal occupancy
  double rate_factor_ = 1.0;
  bool warm_ = false;
  int64_t warm_start_us_ = 0;
  WorkloadStats stats_;
  double occupancy_sum_ = 0;
  double waiting_sum_ = 0;
};

Generator::Generator(Workload& workload)
    : workload_(workload), replayer_(workload), rng_(workload.config().seed ^ 0x5eed) {
  const WorkloadConfig& config = workload_.config();
  workload_.BuildCentre(engine_);
  now_us_ = absl::ToUnixMicros(workload_.start());
  presence_.assign(config.engineers, Presence::kAvailable);
  available_ = config.engineers;
  tracks_.emplace_back();  // session ids start at 1
  double total = 0;
  for (int q = 0; q < config.queues; ++q) {
    total += workload_.queue_weight(q);
    cumulative_weight_.push_back(total);
  }
  for (const ChannelMix& mix : kChannels) channel_cost_.push_back(ChannelCost(ChannelId(mix.name)));

  // Budget-seconds one session takes on average: cost x (ring + handle + wrap-up), where
  // 70% of wrap-ups are ended after 5-25 s and the rest run the queue's 30 s.
  double per_session = 0;
  for (int c = 0; c < kChannelCount; ++c) {
    const ChannelMix& mix = kChannels[c];
    double seconds = (mix.ring_min_s + mix.ring_max_s) / 2 +
                     (mix.handle_min_s + mix.handle_max_s) / 2 + 0.7 * 15 + 0.3 * 30;
    per_session += mix.share * channel_cost_[c] * seconds;
  }
  double capacity = 0.95 * config.engineers * kDefaultCapacityBudget;
  base_rate_ = config.occupancy_target * capacity / per_session;

  Schedule(now_us_, ActionKind::kArrival);
  Schedule(now_us_ + Seconds(0, 10), ActionKind::kBreak);
  Schedule(now_us_ + 30'000'000, ActionKind::kTick);
}

void Generator::Schedule(int64_t at_us, ActionKind kind, uint64_t session, uint32_t engineer,
                         uint32_t epoch) {
  Action action;
  action.at_us = at_us;
  action.seq = action_seq_++;
  action.kind = kind;
  action.session = session;
  action.engineer = engineer;
  action.epoch = epoch;
  actions_.push(action);
}

int64_t Generator::Seconds(double lo, double hi) {
  return static_cast<int64_t>((lo + (hi - lo) * Uniform()) * 1e6);
}

uint32_t Generator::PickQueue() {
  double x = Uniform() * cumulative_weight_.back();
  auto it = std::upper_bound(cumulative_weight_.begin(), cumulative_weight_.end(), x);
  if (it == cumulative_weight_.end()) --it;
  return static_cast<uint32_t>(it - cumulative_weight_.begin());
}

void Generator::Record(StepKind kind, int64_t at_us, uint64_t session, uint32_t engineer,
                       uint16_t queue) {
  Step step;
  step.at_us = at_us;
  step.session = session;
  step.engineer = engineer;
  step.queue = queue;
  step.kind = kind;
  workload_.steps_.push_back(step);
  size_t index = workload_.steps_.size() - 1;

  events_.clear();
  absl::Time at = absl::FromUnixMicros(at_us);
  bool ok = true;
  if (kind == StepKind::kAdvance) {
    engine_.Advance(at, &events_);
    ++stats_.advances;
  } else {
    ok = engine_.Apply(*replayer_.Build(index), at, &events_).ok();
    if (!ok) ++stats_.refused;
  }
  workload_.steps_[index].ok = ok;
  workload_.steps_[index].events = static_cast<uint32_t>(events_.size());
  ++stats_.steps;
  stats_.events += static_cast<int64_t>(events_.size());
  HandleEvents();
}

void Generator::SetState(Track& track, SessionState state) {
  if (state == track.state) return;
  auto is_waiting = [](SessionState s) {
    return s == SessionState::kQueued || s == SessionState::kOffered;
  };
  waiting_ += static_cast<int>(is_waiting(state)) - static_cast<int>(is_waiting(track.state));
  bool holds = state == SessionState::kAssigned || state == SessionState::kWrapUp ||
               (state == SessionState::kOffered && !IsGrab(track));
  if (holds != track.holds) {
    busy_budget_ += (holds ? 1 : -1) * channel_cost_[track.channel];
    track.holds = holds;
  }
  track.state = state;
  ++track.epoch;
  if (state != SessionState::kOffered) track.grab_pending.clear();
}

void Generator::HandleEvents() {
  for (const Event& ev : events_) {
    if (ev.type == EventType::kPresenceChanged) {
      uint32_t e = TrailingNumber(ev.engineer.value());
      bool was = presence_[e] == Presence::kAvailable;
      bool is = ev.presence == Presence::kAvailable;
      available_ += static_cast<int>(is) - static_cast<int>(was);
      presence_[e] = ev.presence;
      if (ev.presence == Presence::kNotReady && ev.detail == "missed-offers") {
        // The desktop notices and the engineer comes back a minute later.
        Schedule(now_us_ + 60'000'000, ActionKind::kBackToWork, 0, e);
      }
      continue;
    }
    if (ev.session.empty()) continue;
    uint64_t id = ev.session.value();
    if (id >= tracks_.size()) continue;
    Track& track = tracks_[id];
    // Queue moves first: whether an offer reserves budget depends on the queue.
    if ((ev.type == EventType::kSessionOverflowed || ev.type == EventType::kSessionTransferred) &&
        !ev.to_queue.empty()) {
      track.queue = static_cast<uint16_t>(TrailingNumber(ev.to_queue.value()));
    }
    SetState(track, ev.state);
    const ChannelMix& mix = kChannels[track.channel];
    switch (ev.type) {
      case EventType::kOfferCreated: {
        uint32_t e = TrailingNumber(ev.engineer.value());
        if (IsGrab(track)) {
          track.grab_pending.push_back(e);
          double r = Uniform();
          if (r < 0.6) {
            Schedule(now_us_ + Seconds(1, 6), ActionKind::kClaim, id, e, track.epoch);
          } else if (r < 0.9) {
            Schedule(now_us_ + Seconds(1, 5), ActionKind::kReject, id, e, track.epoch);
          }  // else the engineer lets the grab window close
        } else {
          ++track.epoch;
          track.engineer = e;
          double r = Uniform();
          if (r < 0.94) {
            Schedule(now_us_ + Seconds(mix.ring_min_s, mix.ring_max_s), ActionKind::kAccept, id, e,
                     track.epoch);
          } else if (r < 0.99) {
            Schedule(now_us_ + Seconds(1, 4), ActionKind::kReject, id, e, track.epoch);
          }  // else the offer expires
        }
        break;
      }
      case EventType::kOfferRejected:
      case EventType::kOfferExpired:
      case EventType::kOfferRescinded: {
        if (ev.type == EventType::kOfferExpired) ++stats_.expired;
        uint32_t e = TrailingNumber(ev.engineer.value());
        auto& pending = track.grab_pending;
        pending.erase(std::remove(pending.begin(), pending.end(), e), pending.end());
        break;
      }
      case EventType::kSessionAssigned: {
        ++stats_.assigned;
        track.engineer = TrailingNumber(ev.engineer.value());
        int64_t handle = Seconds(mix.handle_min_s, mix.handle_max_s);
        if (Chance(0.02)) {
          Schedule(now_us_ + handle / 2, ActionKind::kTransfer, id, track.engineer, track.epoch);
        } else {
          Schedule(now_us_ + handle, ActionKind::kComplete, id, track.engineer, track.epoch);
        }
        break;
      }
      case EventType::kSessionWrapUp:
        if (Chance(0.7)) {
          Schedule(now_us_ + Seconds(5, 25), ActionKind::kEndWrapUp, id, track.engineer,
                   track.epoch);
        }
        break;
      case EventType::kSessionAbandoned:
        ++stats_.abandoned;
        break;
      case EventType::kSessionRelaxed:
        ++stats_.relaxed;
        break;
      case EventType::kSessionStageChanged:
        ++stats_.stage_changes;
        break;
      case EventType::kSessionOverflowed:
        ++stats_.overflowed;
        break;
      default:
        break;
    }
  }
}

void Generator::Arrive() {
  const WorkloadConfig& config = workload_.config();
  uint64_t id = workload_.sessions_.size();
  SessionSpec spec;
  spec.queue = static_cast<uint16_t>(PickQueue());
  double r = Uniform();
  for (int c = 0; c < kChannelCount; ++c) {
    r -= kChannels[c].share;
    if (r < 0 || c == kChannelCount - 1) {
      spec.channel = static_cast<uint8_t>(c);
      break;
    }
  }
  spec.customer = static_cast<uint32_t>(Uniform() * 50.0 * config.engineers);
  const std::vector<uint32_t>& members = workload_.members(spec.queue);
  if (Chance(0.08)) {
    spec.vip_level = static_cast<uint8_t>(1 + Uniform() * 3);
    spec.priority = static_cast<int16_t>(10 * spec.vip_level);
  }
  if (!members.empty() && Chance(0.04)) {
    spec.preferred = members[static_cast<size_t>(Uniform() * members.size())];
  }
  if (!members.empty() && Chance(0.15)) {
    uint32_t last = members[static_cast<size_t>(Uniform() * members.size())];
    if (last != spec.preferred) spec.last_engineer = last;
  }
  spec.risk_tag = Chance(0.02);
  if (Chance(0.05)) {
    // A language requirement: skills 40-49 stand for languages and dialects.
    spec.extra_skill = static_cast<int16_t>(config.skills - 10 + Uniform() * 10);
    spec.extra_level = 2;
  }
  workload_.sessions_.push_back(spec);
  Track track;
  track.queue = spec.queue;
  track.channel = spec.channel;
  track.state = SessionState::kBot;  // not yet created: the created event moves it on
  tracks_.push_back(track);
  ++stats_.sessions;

  const ChannelMix& mix = kChannels[spec.channel];
  double patience = mix.patience_min_s - mix.patience_mean_s * std::log(1.0 - Uniform());
  Schedule(now_us_ + static_cast<int64_t>(patience * 1e6), ActionKind::kAbandon, id);

  Record(StepKind::kCreate, now_us_, id);

  double rate = base_rate_ * rate_factor_;
  double gap = -std::log(1.0 - Uniform()) / rate;
  Schedule(now_us_ + std::max<int64_t>(1, static_cast<int64_t>(gap * 1e6)), ActionKind::kArrival);
}

void Generator::Tick() {
  const WorkloadConfig& config = workload_.config();
  double capacity = static_cast<double>(std::max(available_, 1)) * kDefaultCapacityBudget;
  double occupancy = static_cast<double>(busy_budget_) / capacity;
  const int64_t elapsed_us = now_us_ - absl::ToUnixMicros(workload_.start());
  const int64_t warmup_us = absl::ToInt64Microseconds(config.warmup);
  // The swing starts with the measurement, rising from the mean; during the warm-up the
  // target is the mean.
  double target = config.occupancy_target;
  if (elapsed_us > warmup_us) {
    double phase = static_cast<double>(elapsed_us - warmup_us) /
                   static_cast<double>(absl::ToInt64Microseconds(config.swing_period));
    target += config.occupancy_swing * std::sin(2 * 3.14159265358979 * phase);
  }
  // A slow controller on the arrival rate keeps the occupancy near the target. It starts
  // half-way through the warm-up, once the empty centre has filled at the nominal rate.
  if (elapsed_us > warmup_us / 2) {
    rate_factor_ = std::clamp(rate_factor_ * std::exp(0.5 * (target - occupancy)), 0.6, 1.5);
  }
  if (warm_) {
    ++stats_.samples;
    occupancy_sum_ += occupancy;
    waiting_sum_ += static_cast<double>(waiting_);
    if (stats_.samples == 1) {
      stats_.min_occupancy = stats_.max_occupancy = occupancy;
    } else {
      stats_.min_occupancy = std::min(stats_.min_occupancy, occupancy);
      stats_.max_occupancy = std::max(stats_.max_occupancy, occupancy);
    }
  }
  Schedule(now_us_ + 30'000'000, ActionKind::kTick);
}

bool Generator::StepOnce() {
  const Action& top = actions_.top();
  std::optional<absl::Time> deadline = engine_.NextDeadline();
  if (deadline.has_value() && absl::ToUnixMicros(*deadline) <= top.at_us) {
    now_us_ = std::max(now_us_, absl::ToUnixMicros(*deadline));
    Record(StepKind::kAdvance, now_us_);
    return true;
  }
  Action action = top;
  actions_.pop();
  now_us_ = std::max(now_us_, action.at_us);
  const WorkloadConfig& config = workload_.config();
  switch (action.kind) {
    case ActionKind::kArrival:
      Arrive();
      return true;
    case ActionKind::kTick:
      Tick();
      return false;
    case ActionKind::kBreak: {
      // Each engineer takes a 5-15 minute break about every three hours.
      double rate = config.engineers / (3.0 * 3600.0);
      Schedule(now_us_ + std::max<int64_t>(
                             1, static_cast<int64_t>(-std::log(1.0 - Uniform()) / rate * 1e6)),
               ActionKind::kBreak);
      uint32_t e = static_cast<uint32_t>(Uniform() * config.engineers);
      if (presence_[e] != Presence::kAvailable) return false;
      Record(StepKind::kNotReady, now_us_, 0, e);
      Schedule(now_us_ + Seconds(300, 900), ActionKind::kBackToWork, 0, e);
      return true;
    }
    case ActionKind::kBackToWork:
      if (presence_[action.engineer] != Presence::kNotReady) return false;
      Record(StepKind::kAvailable, now_us_, 0, action.engineer);
      return true;
    default:
      break;
  }
  Track& track = tracks_[action.session];
  switch (action.kind) {
    case ActionKind::kAccept:
      if (track.epoch != action.epoch || track.state != SessionState::kOffered ||
          track.engineer != action.engineer) {
        return false;
      }
      Record(StepKind::kAccept, now_us_, action.session, action.engineer);
      return true;
    case ActionKind::kReject:
    case ActionKind::kClaim: {
      if (track.state != SessionState::kOffered) return false;
      if (IsGrab(track)) {
        if (track.epoch != action.epoch ||
            std::find(track.grab_pending.begin(), track.grab_pending.end(), action.engineer) ==
                track.grab_pending.end()) {
          return false;
        }
        if (action.kind == ActionKind::kClaim) {
          // Claimed: no longer waiting for this engineer's answer.
          auto& pending = track.grab_pending;
          pending.erase(std::remove(pending.begin(), pending.end(), action.engineer),
                        pending.end());
        }
      } else if (track.epoch != action.epoch || track.engineer != action.engineer ||
                 action.kind == ActionKind::kClaim) {
        return false;
      }
      Record(action.kind == ActionKind::kClaim ? StepKind::kClaim : StepKind::kReject, now_us_,
             action.session, action.engineer);
      return true;
    }
    case ActionKind::kComplete:
    case ActionKind::kTransfer:
      if (track.epoch != action.epoch || track.state != SessionState::kAssigned) return false;
      if (action.kind == ActionKind::kComplete) {
        Record(StepKind::kComplete, now_us_, action.session, action.engineer);
      } else {
        uint16_t target = static_cast<uint16_t>(Uniform() * config.queues);
        if (target == track.queue) target = static_cast<uint16_t>((target + 1) % config.queues);
        Record(StepKind::kTransfer, now_us_, action.session, action.engineer, target);
      }
      return true;
    case ActionKind::kEndWrapUp:
      if (track.epoch != action.epoch || track.state != SessionState::kWrapUp) return false;
      Record(StepKind::kEndWrapUp, now_us_, action.session, action.engineer);
      return true;
    case ActionKind::kAbandon:
      if (track.state != SessionState::kQueued && track.state != SessionState::kOffered) {
        return false;
      }
      Record(StepKind::kCancel, now_us_, action.session);
      return true;
    default:
      return false;
  }
}

WorkloadStats Generator::stats() const {
  WorkloadStats out = stats_;
  out.virtual_seconds = static_cast<double>(now_us_ - warm_start_us_) / 1e6;
  if (out.samples > 0) {
    out.mean_occupancy = occupancy_sum_ / static_cast<double>(out.samples);
    out.mean_waiting = waiting_sum_ / static_cast<double>(out.samples);
  }
  return out;
}

// ---------------------------------------------------------------------------------------

Workload::Workload(const WorkloadConfig& config) : config_(config) {
  MakeCentre();
  sessions_.emplace_back();  // session ids start at 1
  generator_ = std::make_unique<Generator>(*this);
  int64_t warm_end = absl::ToUnixMicros(start() + config_.warmup);
  while (generator_->now_us() < warm_end) generator_->StepOnce();
  warmup_steps_ = steps_.size();
  generator_->EndWarmup();
}

Workload::~Workload() = default;

absl::Time Workload::start() const { return absl::FromUnixSeconds(1'700'000'000); }

void Workload::MakeCentre() {
  std::mt19937_64 rng(config_.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto uniform_int = [&](int lo, int hi) {  // inclusive
    return lo + static_cast<int>(unit(rng) * (hi - lo + 1));
  };
  const int queues = config_.queues;
  const int skills = config_.skills;

  for (int s = 0; s < skills; ++s) skill_ids_.emplace_back(absl::StrFormat("skill-%02d", s));
  for (const ChannelMix& mix : kChannels) channel_ids_.emplace_back(mix.name);
  for (int q = 0; q < queues; ++q) queue_ids_.emplace_back(absl::StrFormat("queue-%02d", q));

  // Arrival weights: Zipf-like (exponent 0.7) over a shuffled order, so the busiest queue
  // gets about 25 times the traffic of the quietest.
  std::vector<int> rank(queues);
  for (int q = 0; q < queues; ++q) rank[q] = q + 1;
  std::shuffle(rank.begin(), rank.end(), rng);
  double total = 0;
  queue_weights_.resize(queues);
  for (int q = 0; q < queues; ++q) {
    queue_weights_[q] = 1.0 / std::pow(rank[q], 0.7);
    total += queue_weights_[q];
  }
  for (double& w : queue_weights_) w /= total;

  // Queues: each requires its primary skill (q mod 50) at level 2-4; the second half also a
  // secondary skill at level 2. Requirements relax after 30 s (lower levels), 60 s (drop
  // the secondary skill, some queues) and 90 s (any engineer of the queue).
  std::vector<int> primary_level(queues);
  for (int q = 0; q < queues; ++q) {
    QueueConfig c;
    c.id = queue_ids_[q];
    c.display_name = absl::StrFormat("Queue %d", q);
    int primary = q % skills;
    int level = uniform_int(2, 4);
    primary_level[q] = level;
    c.requirements.push_back({skill_ids_[primary], level});
    bool has_secondary = q >= skills;
    int secondary = (q * 7 + 3) % skills;
    if (has_secondary) c.requirements.push_back({skill_ids_[secondary], 2});
    c.relaxation.push_back(
        {absl::Seconds(30), RelaxAction::kLowerLevel, SkillId(), level >= 3 ? 2 : 1});
    if (has_secondary && q % 3 == 0) {
      c.relaxation.push_back(
          {absl::Seconds(60), RelaxAction::kDropSkill, skill_ids_[secondary], 1});
    }
    c.relaxation.push_back({absl::Seconds(90), RelaxAction::kAnyEngineer, SkillId(), 1});
    switch (q % 10) {
      case 7:
        c.strategy = "most_spare";
        break;
      case 8:
        c.strategy = "best_rated";
        break;
      case 9:
        c.strategy = "round_robin";
        break;
      default:
        c.strategy = "longest_idle";
        break;
    }
    if (q % 20 == 3) c.delivery = DeliveryMode::kGrab;
    if (q % 10 == 6) {
      c.overflow_after = absl::Minutes(4);
      c.overflow_queue = queue_ids_[(q + 13) % queues];
    }
    c.tag_rules.push_back({.tag = std::string(kRiskTag), .priority_boost = 50});
    queue_configs_.push_back(std::move(c));
  }

  // Engineers: 1-3 queues (by arrival weight, so staffing follows the forecast), the skills
  // those queues require (15% one level short of the primary), plus other skills up to 3-5.
  members_.assign(queues, {});
  for (int i = 0; i < config_.engineers; ++i) {
    EngineerConfig e;
    e.id = EngineerId(absl::StrFormat("eng-%06d", i));
    engineer_ids_.push_back(e.id);
    std::vector<std::pair<int, int>> levels;  // skill -> level
    auto set_level = [&](int skill, int level) {
      for (auto& [s, l] : levels) {
        if (s == skill) {
          l = std::max(l, level);
          return;
        }
      }
      levels.emplace_back(skill, level);
    };
    double r = unit(rng);
    int want_queues = r < 0.35 ? 1 : (r < 0.80 ? 2 : 3);
    int target_skills = uniform_int(3, 5);
    for (int attempt = 0; attempt < 20 && static_cast<int>(e.queues.size()) < want_queues;
         ++attempt) {
      double x = unit(rng);
      int q = 0;
      while (q < queues - 1 && x >= queue_weights_[q]) x -= queue_weights_[q++];
      if (std::find(e.queues.begin(), e.queues.end(), queue_ids_[q]) != e.queues.end()) continue;
      int needed = q >= skills ? 2 : 1;
      if (!e.queues.empty() && static_cast<int>(levels.size()) + needed > 5) continue;
      e.queues.push_back(queue_ids_[q]);
      members_[q].push_back(static_cast<uint32_t>(i));
      int level =
          unit(rng) < 0.85 ? uniform_int(primary_level[q], 5) : std::max(1, primary_level[q] - 1);
      set_level(q % skills, level);
      if (q >= skills) set_level((q * 7 + 3) % skills, uniform_int(1, 4));
    }
    while (static_cast<int>(levels.size()) < target_skills) {
      set_level(uniform_int(0, skills - 1), uniform_int(1, 5));
    }
    std::sort(levels.begin(), levels.end());
    for (auto [s, l] : levels) e.skills.push_back({skill_ids_[s], l});
    std::sort(e.queues.begin(), e.queues.end());

    double t = unit(rng);
    e.tier = t < 0.25   ? Tier::kRookie
             : t < 0.60 ? Tier::kCore
             : t < 0.85 ? Tier::kElite
             : t < 0.95 ? Tier::kExpert
                        : Tier::kMaster;
    e.score = static_cast<int64_t>(e.tier) * 1000 + uniform_int(0, 999);
    e.budget = kDefaultCapacityBudget;
    // Most engineers work either the phone or the chat channels; some are blended.
    double c = unit(rng);
    if (c < 0.18) {  // blended: all four channels
      e.channels = {{channel_ids_[0], 1, -1},
                    {channel_ids_[1], 3, -1},
                    {channel_ids_[2], 3, -1},
                    {channel_ids_[3], 3, -1}};
    } else if (c < 0.50) {  // chat only
      e.channels = {{channel_ids_[1], 3, -1}, {channel_ids_[2], 3, -1}, {channel_ids_[3], 3, -1}};
    } else {  // voice only
      e.channels = {{channel_ids_[kVoice], 1, -1}};
    }
    engineer_configs_.push_back(std::move(e));
  }
}

void Workload::BuildCentre(Engine& engine) const {
  absl::Time at = start();
  std::vector<Event> events;
  // Queues first without overflow (the target may not exist yet), then with it.
  for (const QueueConfig& config : queue_configs_) {
    QueueConfig plain = config;
    plain.overflow_after = absl::ZeroDuration();
    plain.overflow_queue = QueueId();
    Check(engine.Apply(UpsertQueue{plain}, at, &events), "UpsertQueue");
  }
  for (const QueueConfig& config : queue_configs_) {
    if (config.overflow_queue.empty()) continue;
    Check(engine.Apply(UpsertQueue{config}, at, &events), "UpsertQueue (overflow)");
  }
  for (const EngineerConfig& config : engineer_configs_) {
    events.clear();
    Check(engine.Apply(UpsertEngineer{config}, at, &events), "UpsertEngineer");
  }
  for (const EngineerId& id : engineer_ids_) {
    events.clear();
    Check(
        engine.Apply(SetPresence{id, Presence::kAvailable, "", absl::ZeroDuration()}, at, &events),
        "SetPresence");
  }
}

void Workload::EnsureSteps(size_t count) {
  if (steps_.capacity() < count) steps_.reserve(count + count / 4);
  while (steps_.size() < count) generator_->StepOnce();
}

WorkloadStats Workload::stats() const { return generator_->stats(); }

// ---------------------------------------------------------------------------------------

Replayer::Replayer(const Workload& workload) : workload_(workload) {
  commands_[static_cast<int>(StepKind::kAdvance)] = CancelSession{};  // unused
  commands_[static_cast<int>(StepKind::kCreate)] = CreateSession{};
  commands_[static_cast<int>(StepKind::kAccept)] = AcceptOffer{};
  commands_[static_cast<int>(StepKind::kReject)] = RejectOffer{SessionId(), EngineerId(), "busy"};
  commands_[static_cast<int>(StepKind::kClaim)] = ClaimOffer{};
  commands_[static_cast<int>(StepKind::kComplete)] = CompleteSession{};
  commands_[static_cast<int>(StepKind::kEndWrapUp)] = EndWrapUp{};
  commands_[static_cast<int>(StepKind::kCancel)] = CancelSession{SessionId(), true, "hung-up"};
  TransferSession transfer;
  transfer.reason = "wrong-queue";
  commands_[static_cast<int>(StepKind::kTransfer)] = transfer;
  commands_[static_cast<int>(StepKind::kNotReady)] =
      SetPresence{EngineerId(), Presence::kNotReady, "break", absl::ZeroDuration()};
  commands_[static_cast<int>(StepKind::kAvailable)] =
      SetPresence{EngineerId(), Presence::kAvailable, "", absl::ZeroDuration()};
}

const Command* Replayer::Build(size_t i) {
  const Step& step = workload_.steps()[i];
  Command& command = commands_[static_cast<int>(step.kind)];
  SessionId session(step.session);
  switch (step.kind) {
    case StepKind::kAdvance:
      return nullptr;
    case StepKind::kCreate: {
      CreateSession& c = std::get<CreateSession>(command);
      const SessionSpec& spec = workload_.session(step.session);
      c.id = session;
      c.channel = workload_.channel_id(spec.channel);
      c.queue = workload_.queue_id(spec.queue);
      char buffer[16] = {'c', 'u', 's', 't', '-'};
      char* end = std::to_chars(buffer + 5, buffer + sizeof(buffer), spec.customer).ptr;
      c.customer.id = CustomerId(std::string(buffer, static_cast<size_t>(end - buffer)));
      c.customer.vip_level = spec.vip_level;
      c.customer.tags.clear();
      if (spec.risk_tag) c.customer.tags.emplace_back(kRiskTag);
      c.customer.preferred_engineers.clear();
      if (spec.preferred != kNoEngineer) {
        c.customer.preferred_engineers.push_back(workload_.engineer_id(spec.preferred));
      }
      c.customer.last_engineer = spec.last_engineer != kNoEngineer
                                     ? workload_.engineer_id(spec.last_engineer)
                                     : EngineerId();
      c.requirements.clear();
      if (spec.extra_skill >= 0) {
        c.requirements.push_back({workload_.skill_id(spec.extra_skill), spec.extra_level});
      }
      c.priority = spec.priority;
      break;
    }
    case StepKind::kAccept: {
      AcceptOffer& c = std::get<AcceptOffer>(command);
      c.session = session;
      c.engineer = workload_.engineer_id(step.engineer);
      break;
    }
    case StepKind::kReject: {
      RejectOffer& c = std::get<RejectOffer>(command);
      c.session = session;
      c.engineer = workload_.engineer_id(step.engineer);
      break;
    }
    case StepKind::kClaim: {
      ClaimOffer& c = std::get<ClaimOffer>(command);
      c.session = session;
      c.engineer = workload_.engineer_id(step.engineer);
      break;
    }
    case StepKind::kComplete: {
      CompleteSession& c = std::get<CompleteSession>(command);
      c.session = session;
      c.engineer = workload_.engineer_id(step.engineer);
      break;
    }
    case StepKind::kEndWrapUp: {
      EndWrapUp& c = std::get<EndWrapUp>(command);
      c.session = session;
      c.engineer = workload_.engineer_id(step.engineer);
      break;
    }
    case StepKind::kCancel:
      std::get<CancelSession>(command).session = session;
      break;
    case StepKind::kTransfer: {
      TransferSession& c = std::get<TransferSession>(command);
      c.session = session;
      c.queue = workload_.queue_id(step.queue);
      break;
    }
    case StepKind::kNotReady:
    case StepKind::kAvailable:
      std::get<SetPresence>(command).engineer = workload_.engineer_id(step.engineer);
      break;
  }
  return &command;
}

bool Replayer::Replay(Engine& engine, size_t i, std::vector<Event>* events) {
  const Step& step = workload_.steps()[i];
  size_t before = events->size();
  absl::Time at = absl::FromUnixMicros(step.at_us);
  bool ok = true;
  if (step.kind == StepKind::kAdvance) {
    engine.Advance(at, events);
  } else {
    ok = engine.Apply(*Build(i), at, events).ok();
  }
  return ok == step.ok && events->size() - before == step.events;
}

CreateSession Workload::WaitingSession(uint64_t r) const {
  CreateSession c;
  c.queue = queue_id(static_cast<uint32_t>(r % config_.queues));
  c.channel = channel_id(static_cast<uint32_t>((r >> 8) % 4));
  c.customer.id = CustomerId(absl::StrCat("cust-", (r >> 12) % 500'000));
  c.customer.vip_level = (r >> 32) % 20 == 0 ? 1 + static_cast<int>((r >> 40) % 3) : 0;
  if ((r >> 44) % 10 == 0) c.customer.tags.emplace_back("risk:negative-social");
  if ((r >> 48) % 10 == 0) {
    c.customer.preferred_engineers.push_back(
        engineer_id(static_cast<uint32_t>((r >> 20) % config_.engineers)));
  }
  if ((r >> 52) % 4 == 0) {
    c.customer.last_engineer = engineer_id(static_cast<uint32_t>((r >> 24) % config_.engineers));
  }
  if ((r >> 56) % 8 == 0) {
    c.requirements.push_back({skill_id(static_cast<uint32_t>((r >> 28) % 50)), 2});
  }
  c.priority = c.customer.vip_level * 10;
  return c;
}

}  // namespace omniroute::bench
