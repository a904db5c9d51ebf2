// The routing state machine. See docs/ROUTING.md for the rules this file implements and
// docs/ARCHITECTURE.md for the shape of the code.
//
// Every command handler validates everything first and only then mutates, so that a refused
// command changes nothing. Mutations that make a session or an engineer routable push it on
// the work list; `Dispatch` drains the list in order before the command returns.

#include "omniroute/engine.h"

#include <algorithm>
#include <deque>
#include <set>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "state.h"
#include "validate.h"

namespace omniroute {

using internal::Claim;
using internal::EngineerChannel;
using internal::EngineerState;
using internal::kNone;
using internal::Membership;
using internal::QueueState;
using internal::Req;
using internal::ReqSet;
using internal::Session;
using internal::State;
using internal::Timer;
using internal::TimerKind;

namespace {

// Applies one command or one timer. Short-lived: made for each call into the engine.
class Machine {
 public:
  Machine(State& st, std::vector<Event>* out) : st_(st), out_(out) {}

  // `late`: every due timer fires at `now_us` instead of at its deadline (CatchUp).
  void Advance(int64_t now_us, bool late = false);
  absl::Status Apply(const Command& command);
  void Dispatch();

 private:
  // --- Commands -------------------------------------------------------------------------
  absl::Status Do(const UpsertChannel& c);
  absl::Status Do(const UpsertQueue& c);
  absl::Status Do(const RemoveQueue& c);
  absl::Status Do(const UpsertEngineer& c);
  absl::Status Do(const RemoveEngineer& c);
  absl::Status Do(const SetPresence& c);
  absl::Status Do(const CreateSession& c);
  absl::Status Do(const CancelSession& c);
  absl::Status Do(const EscalateSession& c);
  absl::Status Do(const AcceptOffer& c);
  absl::Status Do(const RejectOffer& c);
  absl::Status Do(const ClaimOffer& c);
  absl::Status Do(const CompleteSession& c);
  absl::Status Do(const EndWrapUp& c);
  absl::Status Do(const TransferSession& c);
  absl::Status Do(const SetEngineerRank& c);
  absl::Status Do(const RequestCallback& c);

  // --- Helpers --------------------------------------------------------------------------
  absl::StatusOr<Session*> LookupSession(SessionId id);
  absl::StatusOr<uint32_t> LookupEngineer(absl::string_view field, const EngineerId& id);
  absl::StatusOr<uint32_t> LookupQueue(absl::string_view field, const QueueId& id);
  absl::Status CheckChannelLimit(const QueueState& q, uint32_t channel) const;
  // The session and engineer a desktop command names, the session in `state`.
  absl::Status LookupPair(SessionId session, const EngineerId& engineer, SessionState state,
                          Session** s, uint32_t* e);
  void BuildChannels(EngineerState& e);

  Event& Emit(EventType type);
  Event& EmitSession(EventType type, const Session& s);
  Event& EmitEngineer(EventType type, const EngineerState& e);

  void SetTimer(Session& s, TimerKind kind, int64_t at_us);
  void ClearTimer(Session& s);
  void SetEngineerTimer(EngineerState& e, int64_t at_us);
  void ClearEngineerTimer(EngineerState& e);
  void FireTimer(const Timer& t);

  // Session movements.
  void ComputeBase(Session& s);
  void EnterQueue(Session& s, uint32_t queue, bool keep_wait);
  void MarkWaiting(Session& s);   // into QUEUED bookkeeping + matcher + work
  void LeaveWaiting(Session& s);  // out of QUEUED bookkeeping + matcher
  void Requeue(Session& s);       // back from OFFERED
  void LeaveOffered(Session& s);  // out of OFFERED bookkeeping
  // Recomputes stage and relaxation for the current time; emits what changed. Returns
  // false if the session overflowed instead.
  // `indexed`: the session is in the QUEUED bookkeeping and the matcher now.
  // Also sets the session's routing timer for its next stage end, relaxation step or overflow.
  bool Reevaluate(Session& s, bool emit, bool indexed);
  void Overflow(Session& s, bool indexed);
  void Finish(Session& s, SessionState terminal);

  // Routing.
  void RouteSession(Session& s);
  void FillEngineer(uint32_t e);
  void OfferDirect(Session& s, uint32_t e, const RoutingReason& reason);
  void OfferGrab(Session& s, const std::vector<uint32_t>& engineers, const RoutingReason& base);
  void Reserve(Session& s, EngineerState& e);
  void Release(Session& s, EngineerState& e);
  void ResolveGrab(Session& s);
  void RemoveFromGrab(Session& s, uint32_t e);
  RoutingReason ReasonFor(const Session& s, const internal::EngineerChoice& choice);
  void RescindOffers(EngineerState& e, absl::string_view why);
  // Withdraws the engineer's offers (direct, grab, claims) of sessions whose minimum tier it
  // no longer meets, after its tier changed.
  void RescindBelowMinTier(EngineerState& e);
  void ChangePresence(EngineerState& e, Presence p, std::string reason, absl::Duration d);
  void EngineerChanged(uint32_t e) { st_.matcher->EngineerChanged(e); }

  void PushSession(uint64_t id) { work_.push_back({true, id}); }
  void PushEngineer(uint32_t e) { work_.push_back({false, e}); }

  struct Work {
    bool session;
    uint64_t id;
  };

  State& st_;
  std::vector<Event>* out_;
  std::deque<Work> work_;
};

// ------------------------------------------------------------------------------------------
// Events and timers

Event& Machine::Emit(EventType type) {
  Event& ev = out_->emplace_back();
  ev.seq = ++st_.event_seq;
  ev.at = internal::FromMicros(st_.now_us);
  ev.type = type;
  return ev;
}

Event& Machine::EmitSession(EventType type, const Session& s) {
  Event& ev = Emit(type);
  ev.session = SessionId(s.id);
  ev.queue = st_.queues[s.queue].config.id;
  ev.channel = st_.channels[s.channel].spec.id;
  ev.state = s.state;
  return ev;
}

Event& Machine::EmitEngineer(EventType type, const EngineerState& e) {
  Event& ev = Emit(type);
  ev.engineer = e.config.id;
  ev.presence = e.presence;
  return ev;
}

void Machine::SetTimer(Session& s, TimerKind kind, int64_t at_us) {
  ClearTimer(s);
  s.timer_at = at_us;
  s.timer_seq = ++st_.timer_seq;
  s.timer_kind = kind;
  st_.timers.Push(Timer{at_us, s.timer_seq, kind, s.slot});
}

void Machine::ClearTimer(Session& s) {
  if (s.timer_seq == 0) return;
  st_.timers.Cancelled();
  s.timer_seq = 0;
  s.timer_at = 0;
}

void Machine::SetEngineerTimer(EngineerState& e, int64_t at_us) {
  ClearEngineerTimer(e);
  e.timer_at = at_us;
  e.timer_seq = ++st_.timer_seq;
  st_.timers.Push(Timer{at_us, e.timer_seq, TimerKind::kPresenceEnd, e.index});
}

void Machine::ClearEngineerTimer(EngineerState& e) {
  if (e.timer_seq == 0) return;
  st_.timers.Cancelled();
  e.timer_seq = 0;
  e.timer_at = 0;
}

void Machine::Advance(int64_t now_us, bool late) {
  if (late) st_.now_us = std::max(st_.now_us, now_us);
  while (!st_.timers.empty() && st_.timers.top().at_us <= now_us) {
    const Timer t = st_.timers.top();
    st_.timers.Pop();
    if (!st_.TimerLive(t)) {
      st_.timers.StalePopped();
      continue;
    }
    st_.now_us = std::max(st_.now_us, t.at_us);
    FireTimer(t);
    Dispatch();
  }
  st_.now_us = std::max(st_.now_us, now_us);
}

void Machine::FireTimer(const Timer& t) {
  if (t.kind == TimerKind::kPresenceEnd) {
    EngineerState& e = st_.engineers[t.target];
    e.timer_seq = 0;
    e.timer_at = 0;
    ChangePresence(e, Presence::kAvailable, "", absl::ZeroDuration());
    return;
  }
  Session* s = &st_.session_slab[t.target];
  s->timer_seq = 0;
  s->timer_at = 0;
  switch (t.kind) {
    case TimerKind::kSessionRouting:
      if (s->state == SessionState::kQueued) {
        Reevaluate(*s, /*emit=*/true, /*indexed=*/true);
      }
      break;
    case TimerKind::kOfferExpiry: {
      if (s->state != SessionState::kOffered || s->engineer == kNone) break;
      EngineerState& e = st_.engineers[s->engineer];
      Event& ev = EmitSession(EventType::kOfferExpired, *s);
      ev.engineer = e.config.id;
      ev.state = SessionState::kQueued;
      Release(*s, e);
      if (!s->Declined(e.index)) s->declined.push_back(e.index);
      ++e.missed_in_row;
      Requeue(*s);
      PushEngineer(e.index);
      const int limit = st_.options.missed_offers_limit;
      if (limit > 0 && e.missed_in_row >= limit && e.presence == Presence::kAvailable) {
        ChangePresence(e, Presence::kNotReady, "missed-offers", absl::ZeroDuration());
      }
      break;
    }
    case TimerKind::kGrabWindow:
      if (s->state == SessionState::kOffered) ResolveGrab(*s);
      break;
    case TimerKind::kWrapUpEnd:
      if (s->state == SessionState::kWrapUp) Finish(*s, SessionState::kCompleted);
      break;
    case TimerKind::kPurge:
      if (IsTerminal(s->state)) st_.DropSession(*s);
      break;
    case TimerKind::kWindowOpen:
      if (s->state == SessionState::kScheduled) {
        Event& ev = EmitSession(EventType::kSessionWindowOpened, *s);
        ev.state = SessionState::kQueued;
        // The wait counts from the window's start (or the creation, if later), even when the
        // timer fires late (CatchUp).
        s->waiting_since_us =
            std::max(internal::Micros(s->window_start), internal::Micros(s->created_at));
        EnterQueue(*s, s->queue, /*keep_wait=*/true);
      }
      break;
    case TimerKind::kPresenceEnd:
      break;
  }
}

// ------------------------------------------------------------------------------------------
// Lookups

absl::StatusOr<Session*> Machine::LookupSession(SessionId id) {
  if (id.empty()) return absl::InvalidArgumentError("session: must be set");
  Session* s = st_.FindSession(id.value());
  if (s == nullptr) return absl::NotFoundError(absl::StrCat("session ", id.value(), " not found"));
  return s;
}

absl::StatusOr<uint32_t> Machine::LookupEngineer(absl::string_view field, const EngineerId& id) {
  if (absl::Status s = ValidateName(field, id.value()); !s.ok()) return s;
  const uint32_t e = st_.FindEngineer(id.value());
  if (e == kNone) {
    return absl::NotFoundError(absl::StrCat(field, ": engineer \"", id.value(), "\" not found"));
  }
  return e;
}

absl::StatusOr<uint32_t> Machine::LookupQueue(absl::string_view field, const QueueId& id) {
  if (absl::Status s = ValidateName(field, id.value()); !s.ok()) return s;
  const uint32_t q = st_.FindQueue(id.value());
  if (q == kNone) {
    return absl::NotFoundError(absl::StrCat(field, ": queue \"", id.value(), "\" not found"));
  }
  return q;
}

absl::Status Machine::LookupPair(SessionId session, const EngineerId& engineer, SessionState state,
                                 Session** s, uint32_t* e) {
  absl::StatusOr<Session*> sp = LookupSession(session);
  if (!sp.ok()) return sp.status();
  absl::StatusOr<uint32_t> ei = LookupEngineer("engineer", engineer);
  if (!ei.ok()) return ei.status();
  if ((*sp)->state != state) {
    return absl::FailedPreconditionError(absl::StrCat("session ", (*sp)->id, " is ",
                                                      SessionStateName((*sp)->state), ", not ",
                                                      SessionStateName(state)));
  }
  *s = *sp;
  *e = *ei;
  return absl::OkStatus();
}

absl::Status Machine::CheckChannelLimit(const QueueState& q, uint32_t channel) const {
  for (const auto& [ch, max] : q.channel_limits) {
    if (ch == channel && q.waiting_by_channel[channel] >= max) {
      return absl::ResourceExhaustedError(
          absl::StrCat("queue \"", q.config.id.value(), "\" has ", max, " ",
                       st_.channels[channel].spec.id.value(), " sessions waiting, its limit"));
    }
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// Channels

absl::Status Machine::Do(const UpsertChannel& c) {
  const ChannelSpec& spec = c.spec;
  if (absl::Status s = ValidateName("channel.id", spec.id.value()); !s.ok()) return s;
  if (spec.cost < 0 || spec.cost > internal::kMaxBudget) {
    return absl::InvalidArgumentError(
        absl::StrCat("channel.cost: ", spec.cost, " is outside 0..", internal::kMaxBudget));
  }
  if (spec.default_max < 0 || spec.default_max > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("channel.default_max: ", spec.default_max, " is outside 0..1000"));
  }
  const uint32_t existing = st_.FindChannel(spec.id.value());
  if (existing != kNone) {
    // Engineers on the channel's defaults must still fit their current load.
    for (const EngineerState& e : st_.engineers) {
      if (!e.live) continue;
      const EngineerChannel* ec = e.Channel(existing);
      if (ec == nullptr || ec->active == 0) continue;
      bool uses_default_max = e.config.channels.empty();
      for (const ChannelCapacity& cc : e.config.channels) {
        if (cc.channel == spec.id) uses_default_max = false;
      }
      if (uses_default_max && ec->active > spec.default_max) {
        return absl::FailedPreconditionError(absl::StrCat("channel.default_max: engineer \"",
                                                          e.config.id.value(), "\" holds ",
                                                          ec->active, " sessions on it"));
      }
    }
  }
  uint32_t index = existing;
  if (index == kNone) {
    index = static_cast<uint32_t>(st_.channels.size());
    st_.channel_index.emplace(spec.id.value(), index);
    st_.channels.push_back({spec});
    for (QueueState& q : st_.queues) q.waiting_by_channel.resize(st_.channels.size(), 0);
  } else {
    st_.channels[index].spec = spec;
  }
  Event& ev = Emit(EventType::kChannelUpserted);
  ev.channel = spec.id;
  for (EngineerState& e : st_.engineers) {
    if (!e.live) continue;
    BuildChannels(e);
    EngineerChanged(e.index);
    PushEngineer(e.index);
  }
  return absl::OkStatus();
}

void Machine::BuildChannels(EngineerState& e) {
  absl::InlinedVector<EngineerChannel, 6> built;
  auto active_of = [&](uint32_t ch) {
    const EngineerChannel* old = e.Channel(ch);
    return old != nullptr ? old->active : 0;
  };
  if (e.config.channels.empty()) {
    for (uint32_t ch = 0; ch < st_.channels.size(); ++ch) {
      const ChannelSpec& spec = st_.channels[ch].spec;
      const int active = active_of(ch);
      if (spec.default_max > 0 || active > 0) {
        built.push_back({ch, spec.default_max, spec.cost, active});
      }
    }
  } else {
    for (const ChannelCapacity& cc : e.config.channels) {
      const uint32_t ch = st_.FindChannel(cc.channel.value());
      const int cost = cc.cost >= 0 ? cc.cost : st_.channels[ch].spec.cost;
      built.push_back({ch, cc.max, cost, active_of(ch)});
    }
    std::sort(built.begin(), built.end(), [](const EngineerChannel& a, const EngineerChannel& b) {
      return a.channel < b.channel;
    });
  }
  e.channels = std::move(built);
}

// ------------------------------------------------------------------------------------------
// Queues

absl::Status Machine::Do(const UpsertQueue& c) {
  const QueueConfig& cfg = c.config;
  if (absl::Status s = internal::ValidateQueueConfigFields(cfg); !s.ok()) return s;
  if (!cfg.overflow_queue.empty() && st_.FindQueue(cfg.overflow_queue.value()) == kNone) {
    return absl::NotFoundError(
        absl::StrCat("queue.overflow_queue: queue \"", cfg.overflow_queue.value(), "\" not found"));
  }
  for (size_t i = 0; i < cfg.channel_limits.size(); ++i) {
    if (st_.FindChannel(cfg.channel_limits[i].channel.value()) == kNone) {
      return absl::NotFoundError(absl::StrCat("queue.channel_limits[", i, "].channel: channel \"",
                                              cfg.channel_limits[i].channel.value(),
                                              "\" not found"));
    }
  }

  // Valid: apply.
  uint32_t qi;
  auto it = st_.queue_index.find(cfg.id.value());
  bool existed = false;
  if (it == st_.queue_index.end()) {
    qi = static_cast<uint32_t>(st_.queues.size());
    st_.queue_index.emplace(cfg.id.value(), qi);
    st_.NewQueue();
  } else {
    qi = it->second;
    existed = st_.queues[qi].live;
  }
  QueueState& q = st_.queues[qi];

  // Sessions waiting in the queue leave the indexes while the configuration changes.
  std::vector<uint64_t> waiting;
  if (existed) {
    for (const auto& [since, id] : q.waiting_order) waiting.push_back(id);
    for (uint64_t id : waiting) st_.matcher->SessionLeaving(*st_.FindSession(id));
  } else {
    q.live = true;
    q.waiting_by_channel.assign(st_.channels.size(), 0);
    q.members.clear();
    q.queued = 0;
    q.offered = 0;
    q.waiting_order.clear();
  }
  q.config = cfg;
  q.strategy = MakeStrategy(cfg.strategy);
  q.strategy_name = cfg.strategy;
  q.base_reqs.clear();
  for (const Requirement& r : cfg.requirements) {
    q.base_reqs.push_back({st_.InternSkill(r.skill.value()), r.min_level});
  }
  std::sort(q.base_reqs.begin(), q.base_reqs.end());
  q.relax.clear();
  for (const RelaxationStep& r : cfg.relaxation) {
    internal::RelaxStep step;
    step.after_us = absl::ToInt64Microseconds(r.after);
    step.action = r.action;
    step.skill = r.skill.empty() ? kNone : st_.InternSkill(r.skill.value());
    step.level = r.level;
    q.relax.push_back(step);
  }
  std::stable_sort(q.relax.begin(), q.relax.end(),
                   [](const internal::RelaxStep& a, const internal::RelaxStep& b) {
                     return a.after_us < b.after_us;
                   });
  q.overflow_target =
      cfg.overflow_queue.empty() ? kNone : st_.FindQueue(cfg.overflow_queue.value());
  q.ageing_us = absl::ToInt64Microseconds(cfg.ageing_interval);
  q.channel_limits.clear();
  for (const ChannelLimit& l : cfg.channel_limits) {
    q.channel_limits.push_back({st_.FindChannel(l.channel.value()), l.max_waiting});
  }
  q.tag_rules.clear();
  for (const TagRule& t : cfg.tag_rules) {
    q.tag_rules.push_back(internal::InternTagRule(
        t, [this](const std::string& skill) { return st_.InternSkill(skill); }));
  }

  Event& ev = Emit(EventType::kQueueUpserted);
  ev.queue = cfg.id;
  st_.matcher->QueueChanged(qi);

  // Re-evaluate waiting sessions under the new configuration.
  for (uint64_t id : waiting) {
    Session& s = *st_.FindSession(id);
    ComputeBase(s);
    // Out of the QUEUED bookkeeping, then back in through the normal path.
    --q.queued;
    --q.waiting_by_channel[s.channel];
    q.waiting_order.erase({s.waiting_since_us, s.id});
    ClearTimer(s);
    s.vip = s.customer.vip_level > 0 && s.customer.vip_level >= q.config.vip_min_level;
    if (Reevaluate(s, /*emit=*/true, /*indexed=*/false)) MarkWaiting(s);
  }
  for (uint32_t e : q.members) PushEngineer(e);
  return absl::OkStatus();
}

absl::Status Machine::Do(const RemoveQueue& c) {
  absl::StatusOr<uint32_t> qi = LookupQueue("queue", c.queue);
  if (!qi.ok()) return qi.status();
  QueueState& q = st_.queues[*qi];
  // Name the smallest blocking session: hash-map order differs between engines.
  const Session* blocking = nullptr;
  st_.ForEachSession([&](const Session& s) {
    if (s.queue == *qi && !IsTerminal(s.state) && (blocking == nullptr || s.id < blocking->id)) {
      blocking = &s;
    }
  });
  if (blocking != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("queue \"", c.queue.value(),
                                                      "\" still has session ", blocking->id, " (",
                                                      SessionStateName(blocking->state), ")"));
  }
  for (const QueueState& other : st_.queues) {
    if (other.live && other.overflow_target == *qi) {
      return absl::FailedPreconditionError(absl::StrCat(
          "queue \"", other.config.id.value(), "\" overflows into \"", c.queue.value(), "\""));
    }
  }
  const std::vector<uint32_t> members = q.members;
  for (uint32_t e : members) {
    EngineerState& eng = st_.engineers[e];
    auto& qs = eng.queues;
    qs.erase(
        std::remove_if(qs.begin(), qs.end(), [&](const Membership& m) { return m.queue == *qi; }),
        qs.end());
    auto& cq = eng.config.queues;
    cq.erase(std::remove(cq.begin(), cq.end(), c.queue), cq.end());
  }
  q.live = false;
  q.members.clear();
  st_.matcher->QueueChanged(*qi);
  for (uint32_t e : members) EngineerChanged(e);
  Event& ev = Emit(EventType::kQueueRemoved);
  ev.queue = c.queue;
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// Engineers

absl::Status Machine::Do(const UpsertEngineer& c) {
  const EngineerConfig& cfg = c.config;
  if (absl::Status s = ValidateName("engineer.id", cfg.id.value()); !s.ok()) return s;
  if (absl::Status s = internal::ValidateText("engineer.display_name", cfg.display_name, 256);
      !s.ok()) {
    return s;
  }
  if (cfg.skills.size() > internal::kMaxListLength) {
    return absl::InvalidArgumentError("engineer.skills: too many");
  }
  for (size_t i = 0; i < cfg.skills.size(); ++i) {
    const std::string f = absl::StrCat("engineer.skills[", i, "]");
    if (absl::Status s = ValidateName(absl::StrCat(f, ".skill"), cfg.skills[i].skill.value());
        !s.ok()) {
      return s;
    }
    if (cfg.skills[i].level < 1 || cfg.skills[i].level > 5) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ".level: ", cfg.skills[i].level, " is outside 1..5"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (cfg.skills[j].skill == cfg.skills[i].skill) {
        return absl::InvalidArgumentError(absl::StrCat(f, ".skill: listed twice"));
      }
    }
  }
  if (static_cast<int>(cfg.tier) < 1 || static_cast<int>(cfg.tier) > 5) {
    return absl::InvalidArgumentError("engineer.tier: unknown tier");
  }
  if (cfg.budget < 0 || cfg.budget > internal::kMaxBudget) {
    return absl::InvalidArgumentError(
        absl::StrCat("engineer.budget: ", cfg.budget, " is outside 0..", internal::kMaxBudget));
  }
  for (size_t i = 0; i < cfg.channels.size(); ++i) {
    const ChannelCapacity& cc = cfg.channels[i];
    const std::string f = absl::StrCat("engineer.channels[", i, "]");
    if (absl::Status s = ValidateName(absl::StrCat(f, ".channel"), cc.channel.value()); !s.ok()) {
      return s;
    }
    if (st_.FindChannel(cc.channel.value()) == kNone) {
      return absl::NotFoundError(
          absl::StrCat(f, ".channel: channel \"", cc.channel.value(), "\" not found"));
    }
    if (cc.max < 0 || cc.max > 1000) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".max: ", cc.max, " is outside 0..1000"));
    }
    if (cc.cost < -1 || cc.cost > internal::kMaxBudget) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ".cost: ", cc.cost, " is negative (use -1 for the channel's default)"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (cfg.channels[j].channel == cc.channel) {
        return absl::InvalidArgumentError(absl::StrCat(f, ".channel: listed twice"));
      }
    }
  }
  if (cfg.queues.size() > internal::kMaxListLength) {
    return absl::InvalidArgumentError("engineer.queues: too many");
  }
  for (size_t i = 0; i < cfg.queues.size(); ++i) {
    const std::string f = absl::StrCat("engineer.queues[", i, "]");
    absl::StatusOr<uint32_t> q = LookupQueue(f, cfg.queues[i]);
    if (!q.ok()) return q.status();
    for (size_t j = 0; j < i; ++j) {
      if (cfg.queues[j] == cfg.queues[i]) {
        return absl::InvalidArgumentError(absl::StrCat(f, ": listed twice"));
      }
    }
  }

  auto it = st_.engineer_index.find(cfg.id.value());
  uint32_t ei;
  const bool existed = it != st_.engineer_index.end() && st_.engineers[it->second].live;
  if (existed) {
    // The engineer's current load must fit the new configuration.
    EngineerState& e = st_.engineers[it->second];
    if (e.used_budget > cfg.budget) {
      return absl::FailedPreconditionError(absl::StrCat("engineer.budget: engineer \"",
                                                        cfg.id.value(), "\" holds ", e.used_budget,
                                                        " budget units of work"));
    }
    for (const EngineerChannel& ec : e.channels) {
      if (ec.active == 0) continue;
      const std::string& name = st_.channels[ec.channel].spec.id.value();
      int max = -1;
      if (cfg.channels.empty()) {
        max = st_.channels[ec.channel].spec.default_max;
      } else {
        for (const ChannelCapacity& cc : cfg.channels) {
          if (cc.channel.value() == name) max = cc.max;
        }
      }
      if (max < ec.active) {
        return absl::FailedPreconditionError(absl::StrCat("engineer.channels: engineer \"",
                                                          cfg.id.value(), "\" holds ", ec.active,
                                                          " sessions on channel \"", name, "\""));
      }
    }
  }

  if (it == st_.engineer_index.end()) {
    ei = static_cast<uint32_t>(st_.engineers.size());
    st_.engineer_index.emplace(cfg.id.value(), ei);
    st_.engineers.emplace_back();
    st_.engineers[ei].index = ei;
  } else {
    ei = it->second;
  }
  EngineerState& e = st_.engineers[ei];
  if (!existed) {
    // New (or re-created after removal): a clean slate.
    const uint32_t index = e.index;
    e = EngineerState();
    e.index = index;
    e.live = true;
    e.presence = Presence::kOffline;
    e.presence_since = internal::FromMicros(st_.now_us);
    e.idle_since_us = st_.now_us;
  }
  // Memberships: leave queues no longer served, join new ones (keeping round-robin state).
  absl::InlinedVector<Membership, 4> memberships;
  for (const QueueId& qid : cfg.queues) {
    const uint32_t qi = st_.FindQueue(qid.value());
    Membership m{qi, 0};
    if (const Membership* old = e.Member(qi)) m.last_assignment = old->last_assignment;
    memberships.push_back(m);
  }
  std::sort(memberships.begin(), memberships.end(),
            [](const Membership& a, const Membership& b) { return a.queue < b.queue; });
  for (const Membership& old : e.queues) {
    bool kept = false;
    for (const Membership& m : memberships) kept |= m.queue == old.queue;
    if (!kept) {
      auto& members = st_.queues[old.queue].members;
      members.erase(std::remove(members.begin(), members.end(), ei), members.end());
    }
  }
  for (const Membership& m : memberships) {
    if (e.Member(m.queue) == nullptr) {
      auto& members = st_.queues[m.queue].members;
      members.insert(std::lower_bound(members.begin(), members.end(), ei), ei);
    }
  }
  e.queues = std::move(memberships);
  e.config = cfg;
  e.skills.clear();
  for (const SkillLevel& sl : cfg.skills) {
    e.skills.push_back({st_.InternSkill(sl.skill.value()), sl.level});
  }
  std::sort(e.skills.begin(), e.skills.end());
  BuildChannels(e);

  Event& ev = EmitEngineer(EventType::kEngineerUpserted, e);
  ev.detail = existed ? "updated" : "created";
  EngineerChanged(ei);
  RescindBelowMinTier(e);
  PushEngineer(ei);
  return absl::OkStatus();
}

absl::Status Machine::Do(const RemoveEngineer& c) {
  absl::StatusOr<uint32_t> ei = LookupEngineer("engineer", c.engineer);
  if (!ei.ok()) return ei.status();
  EngineerState& e = st_.engineers[*ei];
  for (uint64_t id : e.sessions) {
    const Session* s = st_.FindSession(id);
    if (s->state == SessionState::kAssigned || s->state == SessionState::kWrapUp) {
      return absl::FailedPreconditionError(
          absl::StrCat("engineer \"", c.engineer.value(), "\" holds session ", id, " (",
                       SessionStateName(s->state), "); complete or transfer it first"));
    }
  }
  RescindOffers(e, "engineer removed");
  ClearEngineerTimer(e);
  for (const Membership& m : e.queues) {
    auto& members = st_.queues[m.queue].members;
    members.erase(std::remove(members.begin(), members.end(), *ei), members.end());
  }
  e.queues.clear();
  e.live = false;
  e.presence = Presence::kOffline;
  EngineerChanged(*ei);
  EmitEngineer(EventType::kEngineerRemoved, e);
  return absl::OkStatus();
}

absl::Status Machine::Do(const SetPresence& c) {
  absl::StatusOr<uint32_t> ei = LookupEngineer("engineer", c.engineer);
  if (!ei.ok()) return ei.status();
  switch (c.presence) {
    case Presence::kOffline:
    case Presence::kAvailable:
      break;
    case Presence::kNotReady:
      if (c.reason.empty()) {
        return absl::InvalidArgumentError("reason: required when presence is not-ready");
      }
      break;
    case Presence::kWrapUp:
      if (absl::Status s = internal::ValidateDuration("duration", c.duration, false); !s.ok()) {
        return s;
      }
      break;
    default:
      return absl::InvalidArgumentError("presence: unknown presence");
  }
  if (absl::Status s = internal::ValidateText("reason", c.reason, 128); !s.ok()) return s;
  ChangePresence(st_.engineers[*ei], c.presence, c.presence == Presence::kNotReady ? c.reason : "",
                 c.duration);
  return absl::OkStatus();
}

void Machine::ChangePresence(EngineerState& e, Presence p, std::string reason, absl::Duration d) {
  if (e.presence == p && e.reason == reason && p != Presence::kWrapUp) return;
  e.presence = p;
  e.reason = std::move(reason);
  e.presence_since = internal::FromMicros(st_.now_us);
  ClearEngineerTimer(e);
  Event& ev = EmitEngineer(EventType::kPresenceChanged, e);
  ev.detail = e.reason;
  if (p == Presence::kWrapUp) {
    const int64_t until = st_.now_us + absl::ToInt64Microseconds(d);
    ev.deadline = internal::FromMicros(until);
    SetEngineerTimer(e, until);
  }
  if (p == Presence::kAvailable) {
    e.idle_since_us = st_.now_us;
    e.missed_in_row = 0;
    EngineerChanged(e.index);
    PushEngineer(e.index);
  } else {
    EngineerChanged(e.index);
    RescindOffers(e, absl::StrCat("engineer ", PresenceName(p)));
  }
}

void Machine::RescindOffers(EngineerState& e, absl::string_view why) {
  const std::vector<uint64_t> direct(e.sessions.begin(), e.sessions.end());
  for (uint64_t id : direct) {
    Session& s = *st_.FindSession(id);
    if (s.state != SessionState::kOffered) continue;
    Event& ev = EmitSession(EventType::kOfferRescinded, s);
    ev.engineer = e.config.id;
    ev.state = SessionState::kQueued;
    ev.detail = std::string(why);
    Release(s, e);
    Requeue(s);
  }
  const std::vector<uint64_t> grabs(e.grab_offers.begin(), e.grab_offers.end());
  for (uint64_t id : grabs) {
    Session& s = *st_.FindSession(id);
    Event& ev = EmitSession(EventType::kOfferRescinded, s);
    ev.engineer = e.config.id;
    ev.detail = std::string(why);
    RemoveFromGrab(s, e.index);
    if (s.grab_offered.empty()) ResolveGrab(s);
  }
  EngineerChanged(e.index);
}

void Machine::RescindBelowMinTier(EngineerState& e) {
  const int tier = static_cast<int>(e.config.tier);
  const std::string why = absl::StrCat("engineer below the session's minimum tier (",
                                       TierName(e.config.tier), ")");
  const std::vector<uint64_t> direct(e.sessions.begin(), e.sessions.end());
  for (uint64_t id : direct) {
    Session& s = *st_.FindSession(id);
    if (s.state != SessionState::kOffered || tier >= s.min_tier) continue;
    Event& ev = EmitSession(EventType::kOfferRescinded, s);
    ev.engineer = e.config.id;
    ev.state = SessionState::kQueued;
    ev.detail = why;
    Release(s, e);
    Requeue(s);
    PushEngineer(e.index);
  }
  const std::vector<uint64_t> grabs(e.grab_offers.begin(), e.grab_offers.end());
  for (uint64_t id : grabs) {
    Session& s = *st_.FindSession(id);
    if (tier >= s.min_tier) continue;
    Event& ev = EmitSession(EventType::kOfferRescinded, s);
    ev.engineer = e.config.id;
    ev.detail = why;
    RemoveFromGrab(s, e.index);
    if (s.grab_offered.empty()) ResolveGrab(s);
  }
}

// ------------------------------------------------------------------------------------------
// Sessions: creation and queue movements

void Machine::ComputeBase(Session& s) {
  const QueueState& q = st_.queues[s.queue];
  ReqSet merged = q.base_reqs;
  int priority = s.base_priority;
  auto add = [&merged](const Req& r) {
    for (Req& m : merged) {
      if (m.skill == r.skill) {
        m.level = std::max(m.level, r.level);
        return;
      }
    }
    merged.push_back(r);
  };
  for (const Req& r : s.session_reqs) add(r);
  s.rules_applied.clear();
  s.min_tier = 0;
  for (const QueueState::InternedTagRule& rule : q.tag_rules) {
    if (!internal::RuleMatches(rule, s.customer)) continue;
    priority += rule.boost;
    if (rule.req) add(*rule.req);
    s.min_tier = std::max(s.min_tier, rule.min_tier);
    s.rules_applied.push_back(rule.label);
  }
  if (s.appointment()) priority = std::max(priority, q.config.appointment_priority);
  std::sort(merged.begin(), merged.end());
  s.base = std::move(merged);
  s.priority = std::clamp(priority, 0, 10 * internal::kMaxPriority);
}

namespace {
struct RoutingPoint {
  RoutingStage stage = RoutingStage::kQueue;
  int relax_step = 0;
  ReqSet in_force;
  int64_t next_change_us = -1;  // elapsed time of the next change, -1 = none
  bool overflow_due = false;
};

RoutingPoint ComputeRouting(const State& st, const Session& s, int64_t elapsed) {
  const QueueState& q = st.queues[s.queue];
  RoutingPoint p;
  int64_t next = -1;
  auto consider = [&next, elapsed](int64_t at) {
    if (at > elapsed && (next < 0 || at < next)) next = at;
  };
  // Stages.
  if (!s.overflowed) {
    int64_t end = 0;
    struct Stage {
      RoutingStage stage;
      bool applies;
      int64_t length;
    };
    bool last_is_preferred = false;
    bool preferred_left = false;  // a preferred engineer who has not declined
    for (uint32_t pe : s.preferred) {
      last_is_preferred |= pe == s.last_engineer;
      preferred_left |= !s.Declined(pe);
    }
    const Stage stages[] = {
        {RoutingStage::kPreferred, preferred_left,
         s.transfer_target ? s.transfer_timeout_us
                           : absl::ToInt64Microseconds(q.config.preferred_timeout)},
        {RoutingStage::kLastEngineer,
         s.last_engineer != kNone && !last_is_preferred && !s.transfer_target &&
             !s.Declined(s.last_engineer),
         absl::ToInt64Microseconds(q.config.last_engineer_timeout)},
        {RoutingStage::kVipTier, s.vip, absl::ToInt64Microseconds(q.config.vip_timeout)},
    };
    bool found = false;
    for (const Stage& st_def : stages) {
      if (!st_def.applies || st_def.length <= 0) continue;
      end += st_def.length;
      if (!found && elapsed < end) {
        p.stage = st_def.stage;
        found = true;
        consider(end);
      }
    }
  }
  // Relaxation.
  p.in_force = s.base;
  for (const internal::RelaxStep& step : q.relax) {
    if (step.after_us > elapsed) {
      consider(step.after_us);
      break;
    }
    ++p.relax_step;
    switch (step.action) {
      case RelaxAction::kLowerLevel:
        for (Req& r : p.in_force) {
          if (step.skill == kNone || r.skill == step.skill) r.level = std::min(r.level, step.level);
        }
        break;
      case RelaxAction::kDropSkill:
        p.in_force.erase(std::remove_if(p.in_force.begin(), p.in_force.end(),
                                        [&](const Req& r) { return r.skill == step.skill; }),
                         p.in_force.end());
        break;
      case RelaxAction::kAnyEngineer:
        p.in_force.clear();
        break;
    }
  }
  // Overflow.
  const int64_t overflow_us = absl::ToInt64Microseconds(q.config.overflow_after);
  if (overflow_us > 0) {
    if (elapsed >= overflow_us) {
      p.overflow_due = true;
    } else {
      consider(overflow_us);
    }
  }
  p.next_change_us = next;
  return p;
}

std::string ReqString(const State& st, const ReqSet& reqs) {
  if (reqs.empty()) return "any";
  return absl::StrJoin(reqs, ",", [&st](std::string* out, const Req& r) {
    absl::StrAppend(out, st.skill_names[r.skill], ">=", r.level);
  });
}
}  // namespace

bool Machine::Reevaluate(Session& s, bool emit, bool indexed) {
  const int64_t elapsed = st_.now_us - s.queue_entered_us;
  RoutingPoint p = ComputeRouting(st_, s, elapsed);
  if (p.overflow_due) {
    Overflow(s, indexed);
    return false;
  }
  const bool stage_changed = p.stage != s.stage;
  const bool relax_changed = p.relax_step != s.relax_step || p.in_force != s.in_force;
  if (stage_changed || relax_changed) {
    if (indexed) st_.matcher->SessionLeaving(s);
    if (stage_changed && emit) {
      Event& ev = EmitSession(EventType::kSessionStageChanged, s);
      ev.detail = absl::StrCat(RoutingStageName(s.stage), " -> ", RoutingStageName(p.stage));
    }
    s.stage = p.stage;
    s.relax_step = p.relax_step;
    s.in_force = std::move(p.in_force);
    if (relax_changed && emit) {
      Event& ev = EmitSession(EventType::kSessionRelaxed, s);
      ev.detail = absl::StrCat("step ", s.relax_step, ": ", ReqString(st_, s.in_force));
    }
    if (indexed) {
      st_.matcher->SessionWaiting(s);
      PushSession(s.id);
    }
  }
  if (p.next_change_us < 0) {
    ClearTimer(s);
  } else {
    SetTimer(s, TimerKind::kSessionRouting, s.queue_entered_us + p.next_change_us);
  }
  return true;
}

void Machine::EnterQueue(Session& s, uint32_t queue, bool keep_wait) {
  s.queue = queue;
  s.queue_entered_us = st_.now_us;
  if (!keep_wait) s.waiting_since_us = st_.now_us;
  if (!s.transfer_target) {
    // The customer's engineers as they are now (an overflow skips these stages anyway).
    s.preferred.clear();
    for (const EngineerId& pe : s.customer.preferred_engineers) {
      const uint32_t e = st_.FindEngineer(pe.value());
      if (e != kNone && std::find(s.preferred.begin(), s.preferred.end(), e) == s.preferred.end()) {
        s.preferred.push_back(e);
      }
    }
    s.last_engineer = s.customer.last_engineer.empty()
                          ? kNone
                          : st_.FindEngineer(s.customer.last_engineer.value());
  }
  ComputeBase(s);
  const QueueState& q = st_.queues[queue];
  s.vip = s.customer.vip_level > 0 && s.customer.vip_level >= q.config.vip_min_level;
  s.state = SessionState::kQueued;
  // The stage and requirements at entry, silently.
  s.stage = RoutingStage::kQueue;
  s.relax_step = 0;
  s.in_force = s.base;
  if (!Reevaluate(s, /*emit=*/false, /*indexed=*/false)) return;
  MarkWaiting(s);
}

void Machine::MarkWaiting(Session& s) {
  QueueState& q = st_.queues[s.queue];
  s.state = SessionState::kQueued;
  ++q.queued;
  ++q.waiting_by_channel[s.channel];
  q.waiting_order.insert({s.waiting_since_us, s.id});
  st_.matcher->SessionWaiting(s);
  PushSession(s.id);
}

void Machine::LeaveWaiting(Session& s) {
  QueueState& q = st_.queues[s.queue];
  st_.matcher->SessionLeaving(s);
  --q.queued;
  --q.waiting_by_channel[s.channel];
  q.waiting_order.erase({s.waiting_since_us, s.id});
  ClearTimer(s);
}

void Machine::LeaveOffered(Session& s) {
  QueueState& q = st_.queues[s.queue];
  --q.offered;
  --q.waiting_by_channel[s.channel];
  ClearTimer(s);
}

void Machine::Requeue(Session& s) {
  // From OFFERED back to QUEUED, keeping the wait.
  LeaveOffered(s);
  s.engineer = kNone;
  s.grab_offered.clear();
  s.claims.clear();
  s.state = SessionState::kQueued;
  ComputeBase(s);  // the queue may have been reconfigured while the offer was out
  if (!Reevaluate(s, /*emit=*/true, /*indexed=*/false)) return;
  MarkWaiting(s);
}

void Machine::Overflow(Session& s, bool indexed) {
  QueueState& from = st_.queues[s.queue];
  const uint32_t target = from.overflow_target;
  if (indexed) LeaveWaiting(s);
  if (target == kNone || !st_.queues[target].live) {
    Finish(s, SessionState::kOverflowed);
    return;
  }
  Event& ev = EmitSession(EventType::kSessionOverflowed, s);
  ev.to_queue = st_.queues[target].config.id;
  ev.detail = absl::StrCat(
      "waited ", absl::FormatDuration(absl::Microseconds(st_.now_us - s.queue_entered_us)),
      " in queue");
  s.overflowed = true;
  s.transfer_target = false;
  EnterQueue(s, target, /*keep_wait=*/true);
}

void Machine::Finish(Session& s, SessionState terminal) {
  // The engineer who held the session (assigned or in wrap-up) is named on the final event,
  // whether a command or the wrap-up timer ends it.
  uint32_t held_by = kNone;
  if (s.state == SessionState::kWrapUp || s.state == SessionState::kAssigned) {
    held_by = s.engineer;
    EngineerState& e = st_.engineers[s.engineer];
    Release(s, e);
    PushEngineer(e.index);
  }
  ClearTimer(s);
  s.state = terminal;
  s.engineer = kNone;
  EventType type = EventType::kSessionCompleted;
  if (terminal == SessionState::kAbandoned) type = EventType::kSessionAbandoned;
  if (terminal == SessionState::kCancelled) type = EventType::kSessionCancelled;
  if (terminal == SessionState::kOverflowed) type = EventType::kSessionOverflowed;
  Event& ev = EmitSession(type, s);
  if (held_by != kNone) ev.engineer = st_.engineers[held_by].config.id;
  SetTimer(s, TimerKind::kPurge,
           st_.now_us + absl::ToInt64Microseconds(st_.options.session_retention));
}

absl::Status Machine::Do(const CreateSession& c) {
  if (!c.id.empty() && st_.FindSession(c.id.value()) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("id: session ", c.id.value(), " exists"));
  }
  if (absl::Status s = ValidateName("channel", c.channel.value()); !s.ok()) return s;
  const uint32_t ch = st_.FindChannel(c.channel.value());
  if (ch == kNone) {
    return absl::NotFoundError(absl::StrCat("channel: \"", c.channel.value(), "\" not found"));
  }
  absl::StatusOr<uint32_t> qi = LookupQueue("queue", c.queue);
  if (!qi.ok()) return qi.status();
  if (absl::Status s = internal::ValidateCustomer(c.customer); !s.ok()) return s;
  if (absl::Status s = internal::ValidateRequirements("requirements", c.requirements); !s.ok()) {
    return s;
  }
  if (c.priority < 0 || c.priority > internal::kMaxPriority) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority: ", c.priority, " is outside 0..", internal::kMaxPriority));
  }
  if (c.attributes.size() > 64) return absl::InvalidArgumentError("attributes: more than 64");
  for (size_t i = 0; i < c.attributes.size(); ++i) {
    if (c.attributes[i].first.empty() || c.attributes[i].first.size() > 128) {
      return absl::InvalidArgumentError(
          absl::StrCat("attributes[", i, "].key: must be 1 to 128 characters"));
    }
    if (absl::Status s = internal::ValidateText(absl::StrCat("attributes[", i, "].value"),
                                                c.attributes[i].second, internal::kMaxTextLength);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = internal::ValidateText("intent", c.intent, 256); !s.ok()) return s;
  if (absl::Status s = internal::ValidateWindow(c, internal::FromMicros(st_.now_us)); !s.ok()) {
    return s;
  }
  const bool appointment = c.window_start != absl::InfinitePast();
  // A booked appointment never starts with the robot; one whose window is still to come
  // waits SCHEDULED, outside the queue.
  const bool scheduled = appointment && c.window_start > internal::FromMicros(st_.now_us);
  const bool bot = !appointment && (c.start_in_bot || st_.channels[ch].spec.bot_first);
  if (!bot && !scheduled) {
    if (absl::Status s = CheckChannelLimit(st_.queues[*qi], ch); !s.ok()) return s;
  }

  uint64_t id = c.id.value();
  if (id == 0) {
    while (st_.session_slot.contains(st_.next_session_id)) ++st_.next_session_id;
    id = st_.next_session_id;
  }
  st_.next_session_id = std::max(st_.next_session_id, id + 1);
  Session& s = st_.NewSession(id);
  s.channel = ch;
  s.queue = *qi;
  s.customer = c.customer;
  s.configured = c.requirements;
  for (const Requirement& r : c.requirements) {
    s.session_reqs.push_back({st_.InternSkill(r.skill.value()), r.min_level});
  }
  std::sort(s.session_reqs.begin(), s.session_reqs.end());
  s.base_priority = c.priority;
  s.attributes = c.attributes;
  s.intent = c.intent;
  s.created_at = internal::FromMicros(st_.now_us);
  s.waiting_since_us = st_.now_us;
  s.queue_entered_us = st_.now_us;
  s.window_start = c.window_start;
  s.window_end = c.window_end;
  ComputeBase(s);
  s.in_force = s.base;
  s.state = bot         ? SessionState::kBot
            : scheduled ? SessionState::kScheduled
                        : SessionState::kQueued;
  Event& ev = EmitSession(EventType::kSessionCreated, s);
  ev.detail = s.intent;
  if (!s.rules_applied.empty()) {
    // The rules that matched, with what they do: "rules: vip>=2 (priority +10); ...".
    std::vector<absl::string_view> described;
    for (const QueueState::InternedTagRule& rule : st_.queues[s.queue].tag_rules) {
      if (internal::RuleMatches(rule, s.customer)) described.push_back(rule.description);
    }
    absl::StrAppend(&ev.detail, ev.detail.empty() ? "" : " | ", "rules: ",
                    absl::StrJoin(described, "; "));
  }
  if (scheduled) {
    ev.deadline = s.window_start;
    SetTimer(s, TimerKind::kWindowOpen, internal::Micros(s.window_start));
  } else if (!bot) {
    EnterQueue(s, *qi, /*keep_wait=*/false);
  }
  return absl::OkStatus();
}

absl::Status Machine::Do(const CancelSession& c) {
  absl::StatusOr<Session*> sp = LookupSession(c.session);
  if (!sp.ok()) return sp.status();
  Session& s = **sp;
  if (s.state != SessionState::kScheduled && s.state != SessionState::kBot &&
      s.state != SessionState::kQueued && s.state != SessionState::kOffered) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " is ", SessionStateName(s.state),
                     "; only SCHEDULED, BOT, QUEUED or OFFERED sessions can be cancelled"));
  }
  if (absl::Status st = internal::ValidateText("reason", c.reason, 256); !st.ok()) return st;
  if (s.state == SessionState::kQueued) {
    LeaveWaiting(s);
  } else if (s.state == SessionState::kOffered) {
    LeaveOffered(s);
    if (s.engineer != kNone) {
      EngineerState& e = st_.engineers[s.engineer];
      Event& ev = EmitSession(EventType::kOfferRescinded, s);
      ev.engineer = e.config.id;
      ev.detail = "session cancelled";
      Release(s, e);
      s.engineer = kNone;
      PushEngineer(e.index);
    }
    const auto pending = s.grab_offered;
    for (uint32_t e : pending) {
      Event& ev = EmitSession(EventType::kOfferRescinded, s);
      ev.engineer = st_.engineers[e].config.id;
      ev.detail = "session cancelled";
      RemoveFromGrab(s, e);
    }
    const auto claims = s.claims;
    for (const Claim& cl : claims) {
      Event& ev = EmitSession(EventType::kOfferRescinded, s);
      ev.engineer = st_.engineers[cl.engineer].config.id;
      ev.detail = "session cancelled";
      RemoveFromGrab(s, cl.engineer);
    }
  }
  Finish(s, c.abandoned ? SessionState::kAbandoned : SessionState::kCancelled);
  out_->back().detail = c.reason;
  return absl::OkStatus();
}

absl::Status Machine::Do(const EscalateSession& c) {
  absl::StatusOr<Session*> sp = LookupSession(c.session);
  if (!sp.ok()) return sp.status();
  Session& s = **sp;
  if (s.state != SessionState::kBot) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", s.id, " is ", SessionStateName(s.state), "; only BOT sessions escalate"));
  }
  uint32_t target = s.queue;
  if (!c.queue.empty()) {
    absl::StatusOr<uint32_t> qi = LookupQueue("queue", c.queue);
    if (!qi.ok()) return qi.status();
    target = *qi;
  }
  if (!st_.queues[target].live) {
    return absl::FailedPreconditionError("queue: the session's queue was removed");
  }
  if (absl::Status st = internal::ValidateRequirements("requirements", c.requirements); !st.ok()) {
    return st;
  }
  if (absl::Status st = internal::ValidateText("intent", c.intent, 256); !st.ok()) return st;
  if (absl::Status st = internal::ValidateText("summary", c.summary, internal::kMaxTextLength);
      !st.ok()) {
    return st;
  }
  if (c.priority_boost < 0 || c.priority_boost > internal::kMaxPriority) {
    return absl::InvalidArgumentError(
        absl::StrCat("priority_boost: ", c.priority_boost, " is outside 0..1000"));
  }
  if (absl::Status st = CheckChannelLimit(st_.queues[target], s.channel); !st.ok()) return st;

  if (!c.intent.empty()) s.intent = c.intent;
  s.bot_summary = c.summary;
  for (const Requirement& r : c.requirements) {
    const Req req{st_.InternSkill(r.skill.value()), r.min_level};
    bool merged = false;
    for (Req& existing : s.session_reqs) {
      if (existing.skill == req.skill) {
        existing.level = std::max(existing.level, req.level);
        merged = true;
      }
    }
    if (!merged) s.session_reqs.push_back(req);
    s.configured.push_back(r);
  }
  std::sort(s.session_reqs.begin(), s.session_reqs.end());
  s.base_priority = std::min(s.base_priority + c.priority_boost, internal::kMaxPriority);
  const uint32_t from = s.queue;
  s.queue = target;
  s.state = SessionState::kQueued;
  Event& ev = EmitSession(EventType::kSessionEscalated, s);
  if (target != from) ev.to_queue = st_.queues[target].config.id;
  ev.queue = st_.queues[from].config.id;
  ev.detail = s.bot_summary;  // the intent is on the session
  EnterQueue(s, target, /*keep_wait=*/false);
  return absl::OkStatus();
}

absl::Status Machine::Do(const TransferSession& c) {
  absl::StatusOr<Session*> sp = LookupSession(c.session);
  if (!sp.ok()) return sp.status();
  Session& s = **sp;
  if (s.state != SessionState::kAssigned) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", s.id, " is ", SessionStateName(s.state), "; only ASSIGNED sessions transfer"));
  }
  if (c.queue.empty() && c.engineer.empty()) {
    return absl::InvalidArgumentError("queue, engineer: name a queue, an engineer or both");
  }
  uint32_t target = s.queue;
  if (!c.queue.empty()) {
    absl::StatusOr<uint32_t> qi = LookupQueue("queue", c.queue);
    if (!qi.ok()) return qi.status();
    target = *qi;
  }
  uint32_t to_engineer = kNone;
  if (!c.engineer.empty()) {
    absl::StatusOr<uint32_t> ei = LookupEngineer("engineer", c.engineer);
    if (!ei.ok()) return ei.status();
    to_engineer = *ei;
  }
  if (absl::Status st = internal::ValidateDuration("engineer_timeout", c.engineer_timeout, true);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = internal::ValidateText("reason", c.reason, 256); !st.ok()) return st;
  if (absl::Status st = CheckChannelLimit(st_.queues[target], s.channel); !st.ok()) return st;

  EngineerState& from_engineer = st_.engineers[s.engineer];
  Event& ev = EmitSession(EventType::kSessionTransferred, s);
  ev.engineer = from_engineer.config.id;
  ev.to_queue = st_.queues[target].config.id;
  ev.state = SessionState::kQueued;
  ev.detail = c.engineer.empty()
                  ? c.reason
                  : absl::StrCat("to ", c.engineer.value(), c.reason.empty() ? "" : ": ", c.reason);
  Release(s, from_engineer);
  s.engineer = kNone;
  s.declined.clear();
  s.overflowed = false;
  s.preferred.clear();
  s.transfer_target = false;
  if (to_engineer != kNone) {
    s.preferred.push_back(to_engineer);
    s.transfer_target = true;
    s.transfer_timeout_us = absl::ToInt64Microseconds(c.engineer_timeout);
  }
  EnterQueue(s, target, /*keep_wait=*/false);
  PushEngineer(from_engineer.index);
  return absl::OkStatus();
}

absl::Status Machine::Do(const SetEngineerRank& c) {
  absl::StatusOr<uint32_t> ei = LookupEngineer("engineer", c.engineer);
  if (!ei.ok()) return ei.status();
  if (static_cast<int>(c.tier) < 1 || static_cast<int>(c.tier) > 5) {
    return absl::InvalidArgumentError("tier: unknown tier");
  }
  if (absl::Status st = internal::ValidateText("reason", c.reason, 256); !st.ok()) return st;
  EngineerState& e = st_.engineers[*ei];
  if (e.config.tier == c.tier && e.config.score == c.score) return absl::OkStatus();
  const Tier previous_tier = e.config.tier;
  const int64_t previous_score = e.config.score;
  e.config.tier = c.tier;
  e.config.score = c.score;
  Event& ev = EmitEngineer(EventType::kEngineerRankChanged, e);
  ev.tier = c.tier;
  ev.previous_tier = previous_tier;
  ev.score = c.score;
  ev.detail = absl::StrCat(TierName(previous_tier), " -> ", TierName(c.tier), ", score ",
                           previous_score, " -> ", c.score, c.reason.empty() ? "" : ": ", c.reason);
  // The rank keys (best_rated, grab ranking) and the tier buckets change: re-index, withdraw
  // offers the new tier no longer allows, and let routing look at the engineer again (it may
  // now meet a waiting session's minimum tier or VIP stage), as UpsertEngineer does.
  EngineerChanged(e.index);
  RescindBelowMinTier(e);
  PushEngineer(e.index);
  return absl::OkStatus();
}

absl::Status Machine::Do(const RequestCallback& c) {
  absl::StatusOr<Session*> sp = LookupSession(c.session);
  if (!sp.ok()) return sp.status();
  Session& s = **sp;
  if (s.state != SessionState::kQueued) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " is ", SessionStateName(s.state),
                     "; only QUEUED sessions can become callbacks"));
  }
  if (!s.callback_number.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " is already a callback"));
  }
  if (absl::Status st = internal::ValidateCallbackNumber("number", c.number); !st.ok()) return st;
  // The session keeps its place: priority, wait and stage are untouched, and nothing the
  // matcher indexes changes.
  s.callback_number = c.number;
  Event& ev = EmitSession(EventType::kCallbackRequested, s);
  ev.detail = c.number;
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// Offers

absl::Status Machine::Do(const AcceptOffer& c) {
  Session* sp = nullptr;
  uint32_t ei = kNone;
  if (absl::Status st = LookupPair(c.session, c.engineer, SessionState::kOffered, &sp, &ei);
      !st.ok()) {
    return st;
  }
  Session& s = *sp;
  if (st_.queues[s.queue].config.delivery == DeliveryMode::kGrab && s.engineer == kNone) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " is offered in grab mode; use ClaimOffer"));
  }
  if (s.engineer != ei) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " is not offered to engineer \"", c.engineer.value(), "\""));
  }
  EngineerState& e = st_.engineers[ei];
  LeaveOffered(s);
  e.missed_in_row = 0;
  s.state = SessionState::kAssigned;
  s.assigned_at = internal::FromMicros(st_.now_us);
  Event& ev = EmitSession(EventType::kOfferAccepted, s);
  ev.engineer = e.config.id;
  Event& as = EmitSession(EventType::kSessionAssigned, s);
  as.engineer = e.config.id;
  return absl::OkStatus();
}

absl::Status Machine::Do(const RejectOffer& c) {
  if (absl::Status st = internal::ValidateText("reason", c.reason, 256); !st.ok()) return st;
  Session* sp = nullptr;
  uint32_t ei = kNone;
  if (absl::Status st = LookupPair(c.session, c.engineer, SessionState::kOffered, &sp, &ei);
      !st.ok()) {
    return st;
  }
  Session& s = *sp;
  EngineerState& e = st_.engineers[ei];
  if (s.engineer == ei) {
    Event& ev = EmitSession(EventType::kOfferRejected, s);
    ev.engineer = e.config.id;
    ev.state = SessionState::kQueued;
    ev.detail = c.reason;
    e.missed_in_row = 0;
    Release(s, e);
    if (!s.Declined(e.index)) s.declined.push_back(e.index);
    Requeue(s);
    PushEngineer(e.index);
    return absl::OkStatus();
  }
  if (std::find(s.grab_offered.begin(), s.grab_offered.end(), ei) == s.grab_offered.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", s.id, " has no pending offer for engineer \"", c.engineer.value(), "\""));
  }
  Event& ev = EmitSession(EventType::kOfferRejected, s);
  ev.engineer = e.config.id;
  ev.detail = c.reason;
  RemoveFromGrab(s, e.index);
  if (!s.Declined(e.index)) s.declined.push_back(e.index);
  if (s.grab_offered.empty()) ResolveGrab(s);
  return absl::OkStatus();
}

absl::Status Machine::Do(const ClaimOffer& c) {
  Session* sp = nullptr;
  uint32_t ei = kNone;
  if (absl::Status st = LookupPair(c.session, c.engineer, SessionState::kOffered, &sp, &ei);
      !st.ok()) {
    return st;
  }
  Session& s = *sp;
  if (s.engineer != kNone) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " is a direct offer; use AcceptOffer"));
  }
  if (std::find(s.grab_offered.begin(), s.grab_offered.end(), ei) == s.grab_offered.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", s.id, " has no pending offer for engineer \"", c.engineer.value(), "\""));
  }
  s.grab_offered.erase(std::find(s.grab_offered.begin(), s.grab_offered.end(), ei));
  s.claims.push_back({ei, ++st_.claim_seq});
  Event& ev = EmitSession(EventType::kOfferClaimed, s);
  ev.engineer = st_.engineers[ei].config.id;
  if (s.grab_offered.empty()) ResolveGrab(s);
  return absl::OkStatus();
}

absl::Status Machine::Do(const CompleteSession& c) {
  Session* sp = nullptr;
  uint32_t ei = kNone;
  if (absl::Status st = LookupPair(c.session, c.engineer, SessionState::kAssigned, &sp, &ei);
      !st.ok()) {
    return st;
  }
  Session& s = *sp;
  if (s.engineer != ei) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session ", s.id, " is not assigned to engineer \"", c.engineer.value(), "\""));
  }
  const absl::Duration wrap = st_.queues[s.queue].config.wrap_up;
  if (wrap == absl::ZeroDuration()) {
    Finish(s, SessionState::kCompleted);
    return absl::OkStatus();
  }
  s.state = SessionState::kWrapUp;
  const int64_t until = st_.now_us + absl::ToInt64Microseconds(wrap);
  SetTimer(s, TimerKind::kWrapUpEnd, until);
  Event& ev = EmitSession(EventType::kSessionWrapUp, s);
  ev.engineer = c.engineer;
  ev.deadline = internal::FromMicros(until);
  return absl::OkStatus();
}

absl::Status Machine::Do(const EndWrapUp& c) {
  Session* sp = nullptr;
  uint32_t ei = kNone;
  if (absl::Status st = LookupPair(c.session, c.engineer, SessionState::kWrapUp, &sp, &ei);
      !st.ok()) {
    return st;
  }
  Session& s = *sp;
  if (s.engineer != ei) {
    return absl::FailedPreconditionError(
        absl::StrCat("session ", s.id, " is not held by engineer \"", c.engineer.value(), "\""));
  }
  Finish(s, SessionState::kCompleted);
  return absl::OkStatus();
}

void Machine::Reserve(Session& s, EngineerState& e) {
  EngineerChannel* ec = e.Channel(s.channel);
  s.cost_taken = ec->cost;
  e.used_budget += s.cost_taken;
  ++ec->active;
  e.sessions.insert(s.id);
  e.idle_since_us = st_.now_us;
  s.engineer = e.index;
  QueueState& q = st_.queues[s.queue];
  ++q.assignment_counter;
  for (Membership& m : e.queues) {
    if (m.queue == s.queue) m.last_assignment = q.assignment_counter;
  }
  EngineerChanged(e.index);
}

void Machine::Release(Session& s, EngineerState& e) {
  EngineerChannel* ec = e.Channel(s.channel);
  if (ec != nullptr) --ec->active;
  e.used_budget -= s.cost_taken;
  s.cost_taken = 0;
  e.sessions.erase(s.id);
  if (e.used_budget == 0 && e.sessions.empty()) e.idle_since_us = st_.now_us;
  EngineerChanged(e.index);
}

void Machine::RemoveFromGrab(Session& s, uint32_t e) {
  auto it = std::find(s.grab_offered.begin(), s.grab_offered.end(), e);
  if (it != s.grab_offered.end()) s.grab_offered.erase(it);
  for (auto c = s.claims.begin(); c != s.claims.end(); ++c) {
    if (c->engineer == e) {
      s.claims.erase(c);
      break;
    }
  }
  st_.engineers[e].grab_offers.erase(s.id);
}

void Machine::ResolveGrab(Session& s) {
  // Everyone who still sees the offer and has not claimed it: the window closed on them.
  std::vector<Claim> claims(s.claims.begin(), s.claims.end());
  std::sort(claims.begin(), claims.end(), [this](const Claim& a, const Claim& b) {
    const EngineerConfig& ea = st_.engineers[a.engineer].config;
    const EngineerConfig& eb = st_.engineers[b.engineer].config;
    if (ea.tier != eb.tier) return ea.tier > eb.tier;
    if (ea.score != eb.score) return ea.score > eb.score;
    return a.seq < b.seq;
  });
  uint32_t winner = kNone;
  size_t winner_pos = 0;
  for (size_t i = 0; i < claims.size(); ++i) {
    const EngineerState& e = st_.engineers[claims[i].engineer];
    if (e.live && e.presence == Presence::kAvailable && e.ServesQueue(s.queue) &&
        e.HasRoomFor(s.channel) && static_cast<int>(e.config.tier) >= s.min_tier &&
        st_.MeetsRequirements(e, s.in_force)) {
      winner = e.index;
      winner_pos = i;
      break;
    }
  }
  const auto unanswered = s.grab_offered;
  for (uint32_t e : unanswered) {
    Event& ev =
        EmitSession(winner == kNone ? EventType::kOfferExpired : EventType::kOfferRescinded, s);
    ev.engineer = st_.engineers[e].config.id;
    ev.detail = "grab window closed";
    RemoveFromGrab(s, e);
  }
  for (size_t i = 0; i < claims.size(); ++i) {
    if (claims[i].engineer == winner) continue;
    Event& ev = EmitSession(EventType::kOfferRescinded, s);
    ev.engineer = st_.engineers[claims[i].engineer].config.id;
    ev.detail = winner == kNone ? "claimant no longer eligible" : "another claimant won";
    RemoveFromGrab(s, claims[i].engineer);
  }
  if (winner == kNone) {
    Requeue(s);
    return;
  }
  EngineerState& e = st_.engineers[winner];
  RemoveFromGrab(s, winner);
  LeaveOffered(s);
  Reserve(s, e);
  s.state = SessionState::kAssigned;
  s.assigned_at = internal::FromMicros(st_.now_us);
  Event& ev = EmitSession(EventType::kSessionAssigned, s);
  ev.engineer = e.config.id;
  ev.has_reason = true;
  RoutingReason& r = ev.reason;
  r.strategy = "grab";
  r.stage = s.stage;
  r.relaxation_step = s.relax_step;
  r.rules = s.rules_applied;
  r.decided_by = claims.size() == 1 ? Decider::kOnlyCandidate : Decider::kGrabRank;
  r.winner = RankKey{static_cast<int64_t>(e.config.tier), e.config.score,
                     static_cast<uint32_t>(claims[winner_pos].seq)};
  for (size_t i = 0; i < claims.size(); ++i) {
    if (i == winner_pos) continue;
    const EngineerState& other = st_.engineers[claims[i].engineer];
    r.has_runner_up = true;
    r.runner_up_engineer = other.config.id;
    r.runner_up = RankKey{static_cast<int64_t>(other.config.tier), other.config.score,
                          static_cast<uint32_t>(claims[i].seq)};
    break;
  }
}

// ------------------------------------------------------------------------------------------
// Routing

RoutingReason Machine::ReasonFor(const Session& s, const internal::EngineerChoice& choice) {
  const QueueState& q = st_.queues[s.queue];
  RoutingReason r;
  r.strategy = q.strategy_name;
  r.stage = s.stage;
  r.relaxation_step = s.relax_step;
  r.rules = s.rules_applied;
  r.winner = st_.Rank(st_.engineers[choice.engineers[0]], s.queue);
  if (choice.engineers.size() >= 2) {
    const EngineerState& other = st_.engineers[choice.engineers[1]];
    r.has_runner_up = true;
    r.runner_up_engineer = other.config.id;
    r.runner_up = st_.Rank(other, s.queue);
  }
  if (choice.declined_fallback) {
    r.decided_by = Decider::kDeclinedFallback;
  } else if (!r.has_runner_up) {
    r.decided_by = Decider::kOnlyCandidate;
  } else if (r.winner.primary != r.runner_up.primary) {
    r.decided_by = Decider::kPrimaryKey;
  } else if (r.winner.secondary != r.runner_up.secondary) {
    r.decided_by = Decider::kSecondaryKey;
  } else {
    r.decided_by = Decider::kRegistrationOrder;
  }
  return r;
}

void Machine::RouteSession(Session& s) {
  const QueueState& q = st_.queues[s.queue];
  const bool grab = q.config.delivery == DeliveryMode::kGrab;
  internal::EngineerChoice choice = st_.matcher->FindEngineers(s, grab ? q.config.grab_fanout : 2);
  if (choice.engineers.empty()) return;
  const RoutingReason reason = ReasonFor(s, choice);
  if (grab) {
    OfferGrab(s, choice.engineers, reason);
  } else {
    OfferDirect(s, choice.engineers[0], reason);
  }
}

void Machine::OfferDirect(Session& s, uint32_t ei, const RoutingReason& reason) {
  EngineerState& e = st_.engineers[ei];
  LeaveWaiting(s);
  QueueState& q = st_.queues[s.queue];
  ++q.offered;
  ++q.waiting_by_channel[s.channel];
  s.state = SessionState::kOffered;
  Reserve(s, e);
  const int64_t until = st_.now_us + absl::ToInt64Microseconds(q.config.offer_timeout);
  SetTimer(s, TimerKind::kOfferExpiry, until);
  Event& ev = EmitSession(EventType::kOfferCreated, s);
  ev.engineer = e.config.id;
  ev.deadline = internal::FromMicros(until);
  ev.has_reason = true;
  ev.reason = reason;
}

void Machine::OfferGrab(Session& s, const std::vector<uint32_t>& engineers,
                        const RoutingReason& base) {
  LeaveWaiting(s);
  QueueState& q = st_.queues[s.queue];
  ++q.offered;
  ++q.waiting_by_channel[s.channel];
  s.state = SessionState::kOffered;
  s.engineer = kNone;
  s.claims.clear();
  s.grab_offered.assign(engineers.begin(), engineers.end());
  const int64_t until = st_.now_us + absl::ToInt64Microseconds(q.config.grab_window);
  SetTimer(s, TimerKind::kGrabWindow, until);
  for (size_t i = 0; i < engineers.size(); ++i) {
    EngineerState& e = st_.engineers[engineers[i]];
    e.grab_offers.insert(s.id);
    Event& ev = EmitSession(EventType::kOfferCreated, s);
    ev.engineer = e.config.id;
    ev.deadline = internal::FromMicros(until);
    ev.detail = absl::StrCat("grab ", i + 1, "/", engineers.size());
    ev.has_reason = true;
    ev.reason = base;
    ev.reason.winner = st_.Rank(e, s.queue);
    if (i > 0) {
      // The runner-up belongs to the first offer's reason only.
      ev.reason.has_runner_up = false;
      ev.reason.runner_up = RankKey();
      ev.reason.runner_up_engineer = EngineerId();
    }
  }
}

void Machine::FillEngineer(uint32_t ei) {
  for (;;) {
    EngineerState& e = st_.engineers[ei];
    if (!e.Ready()) return;
    internal::SessionChoice choice = st_.matcher->FindSession(ei);
    if (choice.session == nullptr) return;
    Session& s = *choice.session;
    const QueueState& q = st_.queues[s.queue];
    if (q.config.delivery == DeliveryMode::kGrab) {
      const uint64_t before = s.id;
      RouteSession(s);
      if (st_.FindSession(before)->state == SessionState::kQueued) return;  // defensive
      continue;
    }
    RoutingReason r;
    r.strategy = q.strategy_name;
    r.stage = s.stage;
    r.relaxation_step = s.relax_step;
    r.rules = s.rules_applied;
    r.winner = st_.Rank(e, s.queue);
    r.effective_priority_milli = internal::EffectivePriorityMilli(s, q.ageing_us, st_.now_us);
    r.waited = absl::Microseconds(st_.now_us - s.waiting_since_us);
    if (choice.runner_up == nullptr) {
      r.decided_by = Decider::kOnlyCandidate;
    } else {
      const Session& o = *choice.runner_up;
      r.runner_up_session = SessionId(o.id);
      const int64_t ageing_o = st_.queues[o.queue].ageing_us;
      if (internal::CompareEffectivePriority(s, q.ageing_us, o, ageing_o, st_.now_us) != 0) {
        r.decided_by = Decider::kEffectivePriority;
      } else if (s.waiting_since_us != o.waiting_since_us) {
        r.decided_by = Decider::kLongestWait;
      } else {
        r.decided_by = Decider::kSessionOrder;
      }
    }
    OfferDirect(s, ei, r);
  }
}
void Machine::Dispatch() {
  while (!work_.empty()) {
    const Work w = work_.front();
    work_.pop_front();
    if (w.session) {
      Session* s = st_.FindSession(w.id);
      if (s != nullptr && s->state == SessionState::kQueued) RouteSession(*s);
    } else {
      FillEngineer(static_cast<uint32_t>(w.id));
    }
  }
}

absl::Status Machine::Apply(const Command& command) {
  absl::Status status = std::visit([this](const auto& c) { return Do(c); }, command);
  if (!status.ok()) {
    work_.clear();
    return status;
  }
  Dispatch();
  return absl::OkStatus();
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Engine

Engine::Engine(EngineOptions options)
    : Engine(std::move(options), internal::MakeIndexedMatcher()) {}

Engine::Engine(EngineOptions options, std::unique_ptr<internal::Matcher> matcher)
    : state_(std::make_unique<State>(std::move(options), std::move(matcher))) {}

Engine::~Engine() = default;

absl::Status Engine::Apply(const Command& command, absl::Time now, std::vector<Event>* events) {
  Machine m(*state_, events);
  m.Advance(internal::Micros(now));
  absl::Status status = m.Apply(command);
  state_->TidyTimers();
  return status;
}

void Engine::Advance(absl::Time now, std::vector<Event>* events) {
  Machine m(*state_, events);
  m.Advance(internal::Micros(now));
  state_->TidyTimers();
}

void Engine::CatchUp(absl::Time now, std::vector<Event>* events) {
  Machine m(*state_, events);
  m.Advance(internal::Micros(now), /*late=*/true);
  state_->TidyTimers();
}

std::optional<absl::Time> Engine::NextDeadline() const {
  // Apply and Advance leave no stale timer on top.
  if (state_->timers.empty()) return std::nullopt;
  return internal::FromMicros(state_->timers.top().at_us);
}

absl::Time Engine::now() const { return internal::FromMicros(state_->now_us); }

const EngineOptions& Engine::options() const { return state_->options; }

}  // namespace omniroute
