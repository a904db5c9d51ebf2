#include "engine/support/command_gen.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"

namespace omniroute::testing {
namespace {

// A small skill pool, so that requirements and skills meet often.
const std::vector<std::string>& Skills() {
  static const auto* skills =
      new std::vector<std::string>{"repair.phone", "repair.tv", "lang.zh", "lang.en"};
  return *skills;
}

const std::vector<std::string>& Tags() {
  static const auto* tags =
      new std::vector<std::string>{"gold", "new-home", "risk:negative-social"};
  return *tags;
}

const std::vector<std::string>& Strategies() {
  static const auto* names =
      new std::vector<std::string>{"longest_idle", "most_spare", "best_rated", "round_robin"};
  return *names;
}

constexpr int kMaxEngineers = 12;
constexpr int kCustomers = 8;

}  // namespace

absl::Time GeneratorEpoch() { return absl::FromUnixSeconds(1'700'000'000); }

CommandGenerator::CommandGenerator(uint64_t seed, GeneratorOptions options)
    : rng_(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL), now_(GeneratorEpoch()) {
  // Warm up: consecutive seeds should not start with correlated outputs.
  for (int i = 0; i < 4; ++i) Raw();
  engine_options_.missed_offers_limit = static_cast<int>(Uniform(0, 3));
  for (const ChannelSpec& c : engine_options_.channels) channels_.push_back(c.id);

  num_queues_ = static_cast<int>(Uniform(2, 5));
  std::vector<QueueConfig> queues;
  for (int i = 0; i < num_queues_; ++i) {
    queues.push_back(RandomQueue(i));
    setup_.push_back(UpsertQueue{queues.back()});
  }
  // Overflow targets once every queue exists (cycles are allowed: overflow keeps the wait
  // but restarts the time in queue, so a cycle does not spin).
  for (QueueConfig& q : queues) {
    if (q.overflow_after > absl::ZeroDuration() && Chance(60)) {
      q.overflow_queue = RandomOverflowTarget(q.id);
      setup_.push_back(UpsertQueue{q});
    }
  }
  num_engineers_ = static_cast<int>(Uniform(3, kMaxEngineers));
  for (int i = 0; i < num_engineers_; ++i) setup_.push_back(UpsertEngineer{RandomEngineer(i)});
  for (int i = 0; i < num_engineers_; ++i) {
    if (Chance(80)) {
      setup_.push_back(SetPresence{EngineerId(EngineerName(i)), Presence::kAvailable, "", {}});
    }
  }
  stream_left_ = static_cast<int>(Uniform(options.min_stream, options.max_stream));
}

int64_t CommandGenerator::Uniform(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(Raw() % span);
}

absl::Duration CommandGenerator::PickDuration(const std::vector<int>& seconds) {
  return absl::Seconds(Pick(seconds));
}

QueueId CommandGenerator::AnyQueueName() {
  return QueueId(QueueName(static_cast<int>(Uniform(0, num_queues_ - 1))));
}

EngineerId CommandGenerator::AnyEngineerName() {
  if (Chance(3)) return EngineerId("ghost");
  // Now and then a name the sequence may register later, so that a customer's preferred or
  // last engineer can appear (or come back) while the session waits.
  const int pool = Chance(10) ? kMaxEngineers : num_engineers_;
  return EngineerId(EngineerName(static_cast<int>(Uniform(0, pool - 1))));
}

QueueId CommandGenerator::RandomOverflowTarget(const QueueId& self) {
  if (num_queues_ < 2 || Chance(30)) return QueueId();  // overflow out of the router
  while (true) {
    QueueId q = AnyQueueName();
    if (q != self) return q;
  }
}

std::vector<Requirement> CommandGenerator::RandomRequirements(int max_count, int max_level) {
  std::vector<Requirement> reqs;
  const int n = static_cast<int>(Uniform(1, max_count));
  std::vector<std::string> skills = Skills();
  for (int i = 0; i < n && !skills.empty(); ++i) {
    const size_t k = static_cast<size_t>(Uniform(0, static_cast<int64_t>(skills.size()) - 1));
    reqs.push_back({SkillId(skills[k]), static_cast<int>(Uniform(1, max_level))});
    skills.erase(skills.begin() + static_cast<std::ptrdiff_t>(k));
  }
  return reqs;
}

QueueConfig CommandGenerator::RandomQueue(int index) {
  QueueConfig q;
  q.id = QueueId(QueueName(index));
  q.ageing_interval = PickDuration({0, 10, 30, 60});
  if (Chance(50)) q.requirements = RandomRequirements(2, 4);
  if (Chance(50)) {
    const int n = static_cast<int>(Uniform(1, 3));
    for (int i = 0; i < n; ++i) {
      RelaxationStep step;
      step.after = PickDuration({0, 5, 10, 20, 30, 60});
      step.action = static_cast<RelaxAction>(Uniform(1, 3));
      if (step.action == RelaxAction::kDropSkill || Chance(60)) {
        step.skill = SkillId(Pick(Skills()));
      }
      step.level = static_cast<int>(Uniform(1, 3));
      q.relaxation.push_back(step);
    }
  }
  if (Chance(40)) q.overflow_after = PickDuration({15, 30, 60, 120});
  if (Chance(20)) {
    const int n = static_cast<int>(Uniform(1, 2));
    for (int i = 0; i < n; ++i) {
      q.channel_limits.push_back({Pick(channels_), static_cast<int>(Uniform(1, 3))});
    }
  }
  if (Chance(45)) {
    // Customer rules: on a tag, a VIP level, a language or several; boosts, requirements
    // and minimum tiers.
    const int n = static_cast<int>(Uniform(1, 3));
    for (int i = 0; i < n; ++i) {
      TagRule rule;
      const int64_t kind = Uniform(0, 9);
      if (kind < 5 || kind == 8) rule.tag = Pick(Tags());
      if (kind == 5 || kind == 7 || kind == 8) rule.min_vip_level = static_cast<int>(Uniform(1, 3));
      if (kind == 6 || kind == 7 || kind == 9) rule.language = Chance(50) ? "en" : "zh";
      if (Chance(15)) rule.name = "rule" + std::to_string(i);
      rule.priority_boost = static_cast<int>(Uniform(0, 5));
      if (Chance(40)) {
        rule.requirement = {SkillId(Pick(Skills())), static_cast<int>(Uniform(1, 3))};
      }
      if (Chance(40)) rule.min_tier = static_cast<Tier>(Uniform(2, 5));
      q.tag_rules.push_back(rule);
    }
  }
  if (Chance(50)) q.appointment_priority = static_cast<int>(Uniform(0, 10));
  q.strategy = Pick(Strategies());
  if (Chance(25)) {
    q.delivery = DeliveryMode::kGrab;
    q.grab_fanout = static_cast<int>(Uniform(1, 4));
    q.grab_window = PickDuration({5, 10, 20});
  }
  q.offer_timeout = PickDuration({5, 10, 15, 30});
  q.preferred_timeout = PickDuration({0, 10, 20});
  q.last_engineer_timeout = PickDuration({0, 10});
  q.vip_min_level = static_cast<int>(Uniform(1, 3));
  q.vip_min_tier = static_cast<Tier>(Uniform(1, 5));
  q.vip_timeout = PickDuration({0, 15, 30});
  q.wrap_up = Chance(5) ? absl::ZeroDuration() : PickDuration({5, 30, 60});
  return q;
}

void CommandGenerator::MutateQueue(QueueConfig& q, const Engine& engine) {
  (void)engine;
  const int index = q.id.value().size() > 1 ? std::stoi(q.id.value().substr(1)) : 0;
  switch (Uniform(0, 7)) {
    case 0:
      q.strategy = Pick(Strategies());
      break;
    case 1:
      q.ageing_interval = PickDuration({0, 10, 30, 60});
      break;
    case 2:
      q.relaxation = RandomQueue(index).relaxation;
      break;
    case 3: {
      QueueConfig r = RandomQueue(index);
      q.delivery = r.delivery;
      q.grab_fanout = r.grab_fanout;
      q.grab_window = r.grab_window;
      q.offer_timeout = r.offer_timeout;
      break;
    }
    case 4: {
      QueueConfig r = RandomQueue(index);
      q.preferred_timeout = r.preferred_timeout;
      q.last_engineer_timeout = r.last_engineer_timeout;
      q.vip_timeout = r.vip_timeout;
      q.vip_min_tier = r.vip_min_tier;
      q.vip_min_level = r.vip_min_level;
      break;
    }
    case 5:
      q.requirements = Chance(40) ? std::vector<Requirement>() : RandomRequirements(2, 4);
      break;
    case 6:
      q.overflow_after = Chance(50) ? absl::ZeroDuration() : PickDuration({15, 30, 60});
      q.overflow_queue = RandomOverflowTarget(q.id);
      break;
    default: {
      QueueConfig r = RandomQueue(index);
      q.channel_limits = r.channel_limits;
      q.tag_rules = r.tag_rules;
      q.wrap_up = r.wrap_up;
      break;
    }
  }
}

std::vector<ChannelCapacity> CommandGenerator::RandomChannels() {
  std::vector<ChannelCapacity> out;
  if (Chance(40)) return out;  // every channel, with the channel defaults
  for (const ChannelId& c : channels_) {
    if (!Chance(45)) continue;
    ChannelCapacity cap;
    cap.channel = c;
    cap.max = static_cast<int>(Uniform(1, 3));
    cap.cost = Chance(60) ? -1 : static_cast<int>(Pick(std::vector<int>{0, 20, 30, 60}));
    out.push_back(cap);
  }
  if (out.empty()) out.push_back({Pick(channels_), 2, -1});
  return out;
}

std::vector<QueueId> CommandGenerator::RandomQueues() {
  std::vector<QueueId> out;
  const int n = static_cast<int>(Uniform(1, std::min(3, num_queues_)));
  while (static_cast<int>(out.size()) < n) {
    QueueId q = AnyQueueName();
    if (std::find(out.begin(), out.end(), q) == out.end()) out.push_back(q);
  }
  std::sort(out.begin(), out.end());
  return out;
}

EngineerConfig CommandGenerator::RandomEngineer(int index) {
  EngineerConfig e;
  e.id = EngineerId(EngineerName(index));
  for (const std::string& s : Skills()) {
    if (Chance(60)) e.skills.push_back({SkillId(s), static_cast<int>(Uniform(1, 5))});
  }
  e.tier = static_cast<Tier>(Uniform(1, 5));
  e.score = Pick(std::vector<int64_t>{0, 10, 20, 30, 50, 80});
  e.budget = Chance(80) ? 60 : Pick(std::vector<int>{40, 100, 120});
  e.channels = RandomChannels();
  e.queues = RandomQueues();
  return e;
}

void CommandGenerator::MutateEngineer(EngineerConfig& e) {
  EngineerConfig r = RandomEngineer(0);
  switch (Uniform(0, 4)) {
    case 0:
      e.skills = r.skills;
      break;
    case 1:
      e.queues = r.queues;
      break;
    case 2:
      e.channels = r.channels;
      break;
    case 3:
      e.tier = r.tier;
      e.score = r.score;
      break;
    default:
      e.budget = r.budget;
      break;
  }
}

absl::Time CommandGenerator::NextTime(const Engine& engine) {
  const int64_t r = Uniform(0, 99);
  absl::Time t = now_;
  if (r < 2) {
    // A caller whose clock is behind: the engine must take it as its own time.
    return now_ - absl::Microseconds(Uniform(1, 5'000'000));
  }
  if (r < 25) {
    // Same instant: several commands at one time.
  } else if (r < 60) {
    t += absl::Microseconds(Uniform(1, 3'000'000));
  } else if (r < 82) {
    t += absl::Microseconds(Uniform(3'000'000, 25'000'000));
  } else if (std::optional<absl::Time> next = engine.NextDeadline()) {
    // Right at a timer, or one microsecond either side of it: the "at or before" edges.
    switch (Uniform(0, 3)) {
      case 0:
        t = *next;
        break;
      case 1:
        t = *next - absl::Microseconds(1);
        break;
      case 2:
        t = *next + absl::Microseconds(1);
        break;
      default:
        t = *next + absl::Microseconds(Uniform(0, 2'000'000));
        break;
    }
  } else {
    t += absl::Seconds(Uniform(5, 60));
  }
  now_ = std::max(now_, t);
  return now_;
}

std::optional<Step> CommandGenerator::Next(const Engine& engine) {
  if (!setup_.empty()) {
    Step step{now_, std::move(setup_.front())};
    setup_.pop_front();
    return step;
  }
  if (stream_left_ <= 0) return std::nullopt;
  --stream_left_;
  const absl::Time at = NextTime(engine);
  return Step{at, StreamCommand(engine)};
}

Command CommandGenerator::InvalidCommand(const Engine& engine,
                                         const std::vector<SessionInfo>& sessions) {
  auto any_session = [&]() { return sessions.empty() ? SessionId(99999) : Pick(sessions).id; };
  switch (Uniform(0, 14)) {
    case 0:
      return AcceptOffer{any_session(), AnyEngineerName()};
    case 1:
      return AcceptOffer{SessionId(99999), AnyEngineerName()};
    case 2:
      return CompleteSession{any_session(), AnyEngineerName()};
    case 3:
      return EndWrapUp{any_session(), AnyEngineerName()};
    case 4:
      return ClaimOffer{any_session(), AnyEngineerName()};
    case 5:
      return RejectOffer{any_session(), AnyEngineerName(), "wrong"};
    case 6:
      return EscalateSession{any_session(), "x", "", QueueId(), {}, 0};
    case 7:
      return TransferSession{any_session(), AnyQueueName(), EngineerId(), absl::Seconds(30), ""};
    case 8: {
      std::vector<QueueId> queues = engine.ListQueues();
      return RemoveQueue{queues.empty() ? QueueId("q0") : Pick(queues)};
    }
    case 9: {
      EngineerConfig e = RandomEngineer(0);
      e.id = EngineerId("bad name!");
      return UpsertEngineer{e};
    }
    case 10: {
      QueueConfig q = RandomQueue(0);
      q.strategy = "fastest";
      return UpsertQueue{q};
    }
    case 11: {
      QueueConfig q = RandomQueue(0);
      q.tag_rules.push_back(TagRule{.name = "no condition", .priority_boost = 3});
      return UpsertQueue{q};
    }
    case 12: {
      CreateSession c;
      c.channel = Pick(channels_);
      c.queue = AnyQueueName();
      c.window_start = now_ + absl::Hours(24 * 401);
      c.window_end = c.window_start + absl::Hours(1);
      return c;
    }
    case 13:
      return RequestCallback{any_session(), "12#4"};
    default: {
      CreateSession c;
      c.channel = Pick(channels_);
      c.queue = AnyQueueName();
      c.customer.id = CustomerId("c0");
      c.priority = -1;
      return c;
    }
  }
}

Command CommandGenerator::StreamCommand(const Engine& engine) {
  std::vector<SessionInfo> sessions;
  for (SessionId id : engine.ListSessions()) {
    if (std::optional<SessionInfo> s = engine.GetSession(id)) sessions.push_back(*std::move(s));
  }
  std::vector<const SessionInfo*> bot, direct, grab, assigned, wrap_up, live, queued;
  for (const SessionInfo& s : sessions) {
    switch (s.state) {
      case SessionState::kBot:
        bot.push_back(&s);
        break;
      case SessionState::kQueued:
        queued.push_back(&s);
        break;
      case SessionState::kOffered:
        if (!s.engineer.empty()) {
          direct.push_back(&s);
        } else if (!s.offered_to.empty()) {
          grab.push_back(&s);
        }
        break;
      case SessionState::kAssigned:
        assigned.push_back(&s);
        break;
      case SessionState::kWrapUp:
        wrap_up.push_back(&s);
        break;
      default:
        break;
    }
    if (!IsTerminal(s.state)) live.push_back(&s);
  }
  const std::vector<EngineerId> engineers = engine.ListEngineers();
  const std::vector<QueueId> queues = engine.ListQueues();

  enum Kind {
    kCreate,
    kPresence,
    kAccept,
    kReject,
    kClaim,
    kComplete,
    kEndWrapUp,
    kTransfer,
    kEscalate,
    kCancel,
    kUpsertEngineer,
    kUpsertQueue,
    kRemoveEngineer,
    kRemoveQueue,
    kUpsertChannel,
    kRank,
    kCallback,
    kInvalid,
    kKinds
  };
  int weights[kKinds] = {};
  weights[kCreate] = 22;
  weights[kPresence] = engineers.empty() ? 0 : 14;
  weights[kAccept] = direct.empty() ? 0 : 28;
  weights[kReject] = direct.empty() && grab.empty() ? 0 : 6;
  weights[kClaim] = grab.empty() ? 0 : 20;
  weights[kComplete] = assigned.empty() ? 0 : 11;
  weights[kEndWrapUp] = wrap_up.empty() ? 0 : 5;
  weights[kTransfer] = assigned.empty() ? 0 : 4;
  weights[kEscalate] = bot.empty() ? 0 : 7;
  weights[kCancel] = live.empty() ? 0 : 4;
  weights[kUpsertEngineer] = 4;
  weights[kUpsertQueue] = 3;
  weights[kRemoveEngineer] = engineers.empty() ? 0 : 1;
  weights[kRemoveQueue] = queues.empty() ? 0 : 1;
  weights[kUpsertChannel] = 1;
  weights[kRank] = engineers.empty() ? 0 : 4;
  weights[kCallback] = live.empty() ? 0 : 4;
  weights[kInvalid] = 3;
  int total = 0;
  for (int w : weights) total += w;
  int roll = static_cast<int>(Uniform(0, total - 1));
  int kind = 0;
  while (roll >= weights[kind]) roll -= weights[kind++];

  auto wrong_engineer = [&](const EngineerId& right) {
    return Chance(8) ? AnyEngineerName() : right;
  };

  switch (kind) {
    case kCreate: {
      CreateSession c;
      if (Chance(4))
        c.id =
            Chance(50) && !sessions.empty() ? Pick(sessions).id : SessionId(1000 + Uniform(0, 50));
      c.channel = Chance(2) ? ChannelId("pigeon") : Pick(channels_);
      c.queue = Chance(2) ? QueueId("nowhere") : AnyQueueName();
      c.customer.id = CustomerId("c" + std::to_string(Uniform(0, kCustomers - 1)));
      c.customer.vip_level = Chance(25) ? static_cast<int>(Uniform(1, 3)) : 0;
      for (const std::string& tag : Tags()) {
        if (Chance(20)) c.customer.tags.push_back(tag);
      }
      c.customer.language = Chance(25) ? "en" : "zh";
      if (Chance(30)) {
        const int n = static_cast<int>(Uniform(1, 2));
        for (int i = 0; i < n; ++i) {
          EngineerId e = AnyEngineerName();
          auto& pref = c.customer.preferred_engineers;
          if (std::find(pref.begin(), pref.end(), e) == pref.end()) pref.push_back(e);
        }
      }
      if (Chance(30)) c.customer.last_engineer = AnyEngineerName();
      if (Chance(40)) c.requirements = RandomRequirements(2, 4);
      c.priority = Chance(70) ? 0 : static_cast<int>(Uniform(1, 5));
      if (Chance(20)) c.attributes.push_back({"model", "X" + std::to_string(Uniform(1, 9))});
      c.intent = "repair";
      c.start_in_bot = Chance(10);
      if (Chance(15)) {
        // A booked appointment: its window already open, opening soon, or a while ahead.
        c.start_in_bot = Chance(3);  // refused with a window
        const int64_t r = Uniform(0, 9);
        const absl::Duration ahead = r < 2   ? -absl::Seconds(Uniform(0, 60))
                                     : r < 8 ? absl::Microseconds(Uniform(1, 40'000'000))
                                             : absl::Seconds(Uniform(40, 300));
        c.window_start = now_ + ahead;
        c.window_end = c.window_start + absl::Seconds(Uniform(Chance(3) ? -5 : 1, 600));
      }
      return c;
    }
    case kPresence: {
      SetPresence p;
      p.engineer = Chance(2) ? EngineerId("nobody") : Pick(engineers);
      const int64_t r = Uniform(0, 99);
      if (r < 55) {
        p.presence = Presence::kAvailable;
      } else if (r < 72) {
        p.presence = Presence::kNotReady;
        if (!Chance(4)) p.reason = Pick(std::vector<std::string>{"break", "training", "lunch"});
      } else if (r < 85) {
        p.presence = Presence::kOffline;
      } else {
        p.presence = Presence::kWrapUp;
        if (!Chance(4)) p.duration = PickDuration({5, 15, 40});
      }
      return p;
    }
    case kAccept: {
      const SessionInfo& s = *Pick(direct);
      return AcceptOffer{s.id, wrong_engineer(s.engineer)};
    }
    case kReject: {
      const SessionInfo& s =
          direct.empty() || (!grab.empty() && Chance(50)) ? *Pick(grab) : *Pick(direct);
      const EngineerId e = s.engineer.empty() ? Pick(s.offered_to) : s.engineer;
      return RejectOffer{s.id, wrong_engineer(e), "busy"};
    }
    case kClaim: {
      const SessionInfo& s = *Pick(grab);
      return ClaimOffer{s.id, wrong_engineer(Pick(s.offered_to))};
    }
    case kComplete: {
      const SessionInfo& s = *Pick(assigned);
      return CompleteSession{s.id, wrong_engineer(s.engineer)};
    }
    case kEndWrapUp: {
      const SessionInfo& s = *Pick(wrap_up);
      return EndWrapUp{s.id, wrong_engineer(s.engineer)};
    }
    case kTransfer: {
      const SessionInfo& s = *Pick(assigned);
      TransferSession t;
      t.session = s.id;
      const int64_t r = Uniform(0, 99);
      if (r < 50) {
        t.queue = AnyQueueName();
      } else if (r < 75) {
        t.engineer = AnyEngineerName();
      } else if (r < 97) {
        t.queue = AnyQueueName();
        t.engineer = AnyEngineerName();
      }  // else neither: invalid
      t.engineer_timeout = PickDuration({0, 10, 30});
      t.reason = "escalation";
      return t;
    }
    case kEscalate: {
      const SessionInfo& s = *Pick(bot);
      EscalateSession esc;
      esc.session = s.id;
      esc.intent = "bot-intent";
      esc.summary = "customer says the screen flickers";
      if (Chance(30)) esc.queue = AnyQueueName();
      if (Chance(30)) esc.requirements = RandomRequirements(1, 4);
      if (Chance(30)) esc.priority_boost = static_cast<int>(Uniform(1, 3));
      return esc;
    }
    case kCancel: {
      const SessionInfo& s = *Pick(live);
      return CancelSession{s.id, Chance(50), "customer hung up"};
    }
    case kUpsertEngineer: {
      if (num_engineers_ < kMaxEngineers && (engineers.empty() || Chance(30))) {
        return UpsertEngineer{RandomEngineer(num_engineers_++)};
      }
      // Usually an engineer that exists; sometimes any name handed out so far, so that a
      // removed engineer comes back under its old name.
      EngineerId id =
          engineers.empty() || Chance(15)
              ? EngineerId(EngineerName(static_cast<int>(Uniform(0, num_engineers_ - 1))))
              : Pick(engineers);
      std::optional<EngineerInfo> info = engine.GetEngineer(id);
      // A removed engineer may come back under its old name.
      EngineerConfig config = info ? info->config : RandomEngineer(0);
      config.id = id;
      MutateEngineer(config);
      return UpsertEngineer{config};
    }
    case kUpsertQueue: {
      const QueueId id = AnyQueueName();
      std::optional<QueueInfo> info = engine.GetQueue(id);
      if (!info) return UpsertQueue{RandomQueue(std::stoi(id.value().substr(1)))};
      QueueConfig config = info->config;
      MutateQueue(config, engine);
      return UpsertQueue{config};
    }
    case kRemoveEngineer:
      return RemoveEngineer{Pick(engineers)};
    case kRemoveQueue:
      return RemoveQueue{Pick(queues)};
    case kUpsertChannel: {
      std::vector<ChannelSpec> specs = engine.ListChannels();
      ChannelSpec spec =
          specs.empty() || Chance(25) ? ChannelSpec{ChannelId("video"), 60, 1, false} : Pick(specs);
      if (Chance(60)) spec.cost = Pick(std::vector<int>{0, 10, 20, 30, 60});
      if (Chance(40)) spec.default_max = static_cast<int>(Uniform(0, 3));
      if (std::find(channels_.begin(), channels_.end(), spec.id) == channels_.end()) {
        channels_.push_back(spec.id);
      }
      return UpsertChannel{spec};
    }
    case kRank: {
      SetEngineerRank r;
      r.engineer = Chance(3) ? EngineerId("nobody") : Pick(engineers);
      std::optional<EngineerInfo> info = engine.GetEngineer(r.engineer);
      if (info && Chance(15)) {
        // The rank it has already: no change, no event.
        r.tier = info->config.tier;
        r.score = info->config.score;
      } else {
        r.tier = static_cast<Tier>(Uniform(1, 5));
        r.score = Pick(std::vector<int64_t>{0, 10, 20, 30, 50, 80, 120});
        if (info && Chance(30)) r.tier = info->config.tier;  // the score alone
      }
      if (Chance(2)) r.tier = static_cast<Tier>(7);
      r.reason = Chance(50) ? "monthly points" : "";
      return r;
    }
    case kCallback: {
      // Mostly a waiting session; now and then one in another state (refused).
      const SessionInfo& s = !queued.empty() && Chance(85) ? *Pick(queued) : *Pick(live);
      RequestCallback cb;
      cb.session = s.id;
      const int64_t r = Uniform(0, 19);
      cb.number = r == 0 ? "" : r == 1 ? "call me" : r == 2 ? std::string(65, '1')
                                                            : "+86 (10) 555-0" + std::to_string(r);
      return cb;
    }
    default:
      return InvalidCommand(engine, sessions);
  }
}

// ---- Rendering -----------------------------------------------------------------------------

namespace {

std::string D(absl::Duration d) { return absl::FormatDuration(d); }

std::string Reqs(const std::vector<Requirement>& reqs) {
  return absl::StrCat("[",
                      absl::StrJoin(reqs, ",",
                                    [](std::string* out, const Requirement& r) {
                                      absl::StrAppend(out, r.skill.value(), ">=", r.min_level);
                                    }),
                      "]");
}

template <typename Id>
std::string Ids(const std::vector<Id>& ids) {
  return absl::StrCat(
      "[",
      absl::StrJoin(ids, ",",
                    [](std::string* out, const Id& id) { absl::StrAppend(out, id.value()); }),
      "]");
}

std::string Sv(absl::string_view s) { return std::string(s); }

std::string DescribeQueue(const QueueConfig& q) {
  std::string out = absl::StrCat("id=", q.id.value(), " strategy=", q.strategy,
                                 " ageing=", D(q.ageing_interval), " req=", Reqs(q.requirements));
  if (!q.relaxation.empty()) {
    absl::StrAppend(&out, " relax=[",
                    absl::StrJoin(q.relaxation, ",",
                                  [](std::string* o, const RelaxationStep& s) {
                                    const char* action =
                                        s.action == RelaxAction::kLowerLevel  ? "lower"
                                        : s.action == RelaxAction::kDropSkill ? "drop"
                                                                              : "any";
                                    absl::StrAppend(o, D(s.after), ":", action, "(",
                                                    s.skill.value(), ",", s.level, ")");
                                  }),
                    "]");
  }
  if (q.overflow_after > absl::ZeroDuration()) {
    absl::StrAppend(&out, " overflow=", D(q.overflow_after), "->",
                    q.overflow_queue.empty() ? "(out)" : q.overflow_queue.value());
  }
  if (!q.channel_limits.empty()) {
    absl::StrAppend(&out, " limits=[",
                    absl::StrJoin(q.channel_limits, ",",
                                  [](std::string* o, const ChannelLimit& l) {
                                    absl::StrAppend(o, l.channel.value(), ":", l.max_waiting);
                                  }),
                    "]");
  }
  for (const TagRule& r : q.tag_rules) {
    absl::StrAppend(&out, " rule(", r.name, ":tag=", r.tag, ",vip>=", r.min_vip_level,
                    ",lang=", r.language, ",+", r.priority_boost, ",", r.requirement.skill.value(),
                    ">=", r.requirement.min_level, ",tier>=",
                    r.min_tier ? static_cast<int>(*r.min_tier) : 0, ")");
  }
  absl::StrAppend(&out, " appt_prio=", q.appointment_priority);
  if (q.delivery == DeliveryMode::kGrab) {
    absl::StrAppend(&out, " grab(fanout=", q.grab_fanout, ",window=", D(q.grab_window), ")");
  } else {
    absl::StrAppend(&out, " direct(timeout=", D(q.offer_timeout), ")");
  }
  absl::StrAppend(&out, " pref=", D(q.preferred_timeout), " last=", D(q.last_engineer_timeout),
                  " vip(level>=", q.vip_min_level, ",tier>=", static_cast<int>(q.vip_min_tier), ",",
                  D(q.vip_timeout), ") wrap_up=", D(q.wrap_up));
  return out;
}

std::string DescribeEngineer(const EngineerConfig& e) {
  return absl::StrCat(
      "id=", e.id.value(), " skills=[",
      absl::StrJoin(e.skills, ",",
                    [](std::string* o, const SkillLevel& s) {
                      absl::StrAppend(o, s.skill.value(), ":", s.level);
                    }),
      "] tier=", static_cast<int>(e.tier), " score=", e.score, " budget=", e.budget, " channels=",
      e.channels.empty() ? std::string("(defaults)")
                         : absl::StrCat("[",
                                        absl::StrJoin(e.channels, ",",
                                                      [](std::string* o, const ChannelCapacity& c) {
                                                        absl::StrAppend(o, c.channel.value(),
                                                                        ":max", c.max, ":cost",
                                                                        c.cost);
                                                      }),
                                        "]"),
      " queues=", Ids(e.queues));
}

}  // namespace

std::string DescribeCommand(const Command& command) {
  struct Visitor {
    std::string operator()(const UpsertChannel& c) const {
      return absl::StrCat("UpsertChannel{", c.spec.id.value(), " cost=", c.spec.cost,
                          " default_max=", c.spec.default_max, " bot_first=", c.spec.bot_first,
                          "}");
    }
    std::string operator()(const UpsertQueue& c) const {
      return absl::StrCat("UpsertQueue{", DescribeQueue(c.config), "}");
    }
    std::string operator()(const RemoveQueue& c) const {
      return absl::StrCat("RemoveQueue{", c.queue.value(), "}");
    }
    std::string operator()(const UpsertEngineer& c) const {
      return absl::StrCat("UpsertEngineer{", DescribeEngineer(c.config), "}");
    }
    std::string operator()(const RemoveEngineer& c) const {
      return absl::StrCat("RemoveEngineer{", c.engineer.value(), "}");
    }
    std::string operator()(const SetPresence& c) const {
      return absl::StrCat("SetPresence{", c.engineer.value(), " ", Sv(PresenceName(c.presence)),
                          " reason='", c.reason, "' duration=", D(c.duration), "}");
    }
    std::string operator()(const CreateSession& c) const {
      return absl::StrCat(
          "CreateSession{id=", c.id.value(), " ch=", c.channel.value(), " q=", c.queue.value(),
          " cust=", c.customer.id.value(), " vip=", c.customer.vip_level, " tags=[",
          absl::StrJoin(c.customer.tags, ","), "] pref=", Ids(c.customer.preferred_engineers),
          " last=", c.customer.last_engineer.value(), " req=", Reqs(c.requirements),
          " prio=", c.priority, " bot=", c.start_in_bot, " lang=", c.customer.language,
          c.window_start == absl::InfinitePast()
              ? std::string()
              : absl::StrCat(" window=+", D(c.window_start - GeneratorEpoch()), "..+",
                             D(c.window_end - GeneratorEpoch())),
          "}");
    }
    std::string operator()(const CancelSession& c) const {
      return absl::StrCat("CancelSession{", c.session.value(), " abandoned=", c.abandoned, "}");
    }
    std::string operator()(const EscalateSession& c) const {
      return absl::StrCat("EscalateSession{", c.session.value(), " q=", c.queue.value(),
                          " req=", Reqs(c.requirements), " boost=", c.priority_boost, "}");
    }
    std::string operator()(const AcceptOffer& c) const {
      return absl::StrCat("AcceptOffer{", c.session.value(), " by ", c.engineer.value(), "}");
    }
    std::string operator()(const RejectOffer& c) const {
      return absl::StrCat("RejectOffer{", c.session.value(), " by ", c.engineer.value(), "}");
    }
    std::string operator()(const ClaimOffer& c) const {
      return absl::StrCat("ClaimOffer{", c.session.value(), " by ", c.engineer.value(), "}");
    }
    std::string operator()(const CompleteSession& c) const {
      return absl::StrCat("CompleteSession{", c.session.value(), " by ", c.engineer.value(), "}");
    }
    std::string operator()(const EndWrapUp& c) const {
      return absl::StrCat("EndWrapUp{", c.session.value(), " by ", c.engineer.value(), "}");
    }
    std::string operator()(const TransferSession& c) const {
      return absl::StrCat("TransferSession{", c.session.value(), " q=", c.queue.value(),
                          " engineer=", c.engineer.value(), " timeout=", D(c.engineer_timeout),
                          "}");
    }
    std::string operator()(const SetEngineerRank& c) const {
      return absl::StrCat("SetEngineerRank{", c.engineer.value(), " tier=",
                          static_cast<int>(c.tier), " score=", c.score, "}");
    }
    std::string operator()(const RequestCallback& c) const {
      return absl::StrCat("RequestCallback{", c.session.value(), " number='", c.number, "'}");
    }
  };
  return std::visit(Visitor{}, command);
}

std::string DescribeStep(const Step& step) {
  return absl::StrCat("+", absl::FormatDuration(step.at - GeneratorEpoch()), " ",
                      DescribeCommand(step.command));
}

}  // namespace omniroute::testing
