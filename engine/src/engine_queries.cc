// The engine's read side: Get*/List* and the canonical state dump.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "omniroute/engine.h"
#include "state.h"

namespace omniroute {

using internal::EngineerState;
using internal::kNone;
using internal::QueueState;
using internal::Req;
using internal::ReqSet;
using internal::Session;
using internal::State;

namespace {

std::vector<Requirement> ToRequirements(const State& st, const ReqSet& reqs) {
  std::vector<Requirement> out;
  out.reserve(reqs.size());
  for (const Req& r : reqs) out.push_back({SkillId(st.skill_names[r.skill]), r.level});
  return out;
}

EngineerId EngineerName(const State& st, uint32_t e) {
  return e == kNone ? EngineerId() : st.engineers[e].config.id;
}

std::string TimerKindName(internal::TimerKind k) {
  switch (k) {
    case internal::TimerKind::kSessionRouting: return "routing";
    case internal::TimerKind::kOfferExpiry: return "offer_expiry";
    case internal::TimerKind::kGrabWindow: return "grab_window";
    case internal::TimerKind::kWrapUpEnd: return "wrap_up_end";
    case internal::TimerKind::kPurge: return "purge";
    case internal::TimerKind::kPresenceEnd: return "presence_end";
    case internal::TimerKind::kWindowOpen: return "window_open";
  }
  return "unknown";
}

}  // namespace

std::optional<QueueInfo> Engine::GetQueue(const QueueId& id) const {
  const State& st = *state_;
  const uint32_t qi = st.FindQueue(id.value());
  if (qi == kNone) return std::nullopt;
  const QueueState& q = st.queues[qi];
  QueueInfo info;
  info.config = q.config;
  info.waiting = q.queued;
  info.offered = q.offered;
  for (uint32_t ch = 0; ch < q.waiting_by_channel.size(); ++ch) {
    if (q.waiting_by_channel[ch] > 0) {
      info.waiting_by_channel.emplace_back(st.channels[ch].spec.id, q.waiting_by_channel[ch]);
    }
  }
  std::sort(info.waiting_by_channel.begin(), info.waiting_by_channel.end());
  if (!q.waiting_order.empty()) {
    info.oldest_waiting_since = internal::FromMicros(q.waiting_order.begin()->first);
  }
  for (uint32_t e : q.members) info.engineers.push_back(st.engineers[e].config.id);
  return info;
}

std::vector<QueueId> Engine::ListQueues() const {
  std::vector<QueueId> out;
  for (const QueueState& q : state_->queues) {
    if (q.live) out.push_back(q.config.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<EngineerInfo> Engine::GetEngineer(const EngineerId& id) const {
  const State& st = *state_;
  const uint32_t ei = st.FindEngineer(id.value());
  if (ei == kNone) return std::nullopt;
  const EngineerState& e = st.engineers[ei];
  EngineerInfo info;
  info.config = e.config;
  info.presence = e.presence;
  info.reason = e.reason;
  info.presence_since = e.presence_since;
  info.idle_since = internal::FromMicros(e.idle_since_us);
  info.used_budget = e.used_budget;
  for (const internal::EngineerChannel& c : e.channels) {
    if (c.active > 0) info.load_by_channel.emplace_back(st.channels[c.channel].spec.id, c.active);
    if (e.HasRoomFor(c.channel)) info.channels_with_room.push_back(st.channels[c.channel].spec.id);
  }
  std::sort(info.load_by_channel.begin(), info.load_by_channel.end());
  std::sort(info.channels_with_room.begin(), info.channels_with_room.end());
  for (uint64_t s : e.sessions) info.sessions.push_back(SessionId(s));
  info.missed_offers_in_row = e.missed_in_row;
  info.registration_order = e.index;
  return info;
}

std::vector<EngineerId> Engine::ListEngineers() const {
  std::vector<EngineerId> out;
  for (const EngineerState& e : state_->engineers) {
    if (e.live) out.push_back(e.config.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<SessionInfo> Engine::GetSession(SessionId id) const {
  const State& st = *state_;
  const Session* s = st.FindSession(id.value());
  if (s == nullptr) return std::nullopt;
  SessionInfo info;
  info.id = id;
  info.channel = st.channels[s->channel].spec.id;
  info.queue = st.queues[s->queue].config.id;
  info.customer = s->customer;
  info.requirements = ToRequirements(st, s->base);
  info.requirements_in_force = ToRequirements(st, s->in_force);
  info.priority = s->priority;
  info.attributes = s->attributes;
  info.intent = s->intent;
  info.bot_summary = s->bot_summary;
  info.state = s->state;
  info.stage = s->stage;
  info.relaxation_step = s->relax_step;
  info.created_at = s->created_at;
  info.waiting_since = internal::FromMicros(s->waiting_since_us);
  info.queue_entered_at = internal::FromMicros(s->queue_entered_us);
  info.engineer = EngineerName(st, s->engineer);
  for (uint32_t e : s->grab_offered) info.offered_to.push_back(EngineerName(st, e));
  for (const internal::Claim& c : s->claims) info.offered_to.push_back(EngineerName(st, c.engineer));
  for (uint32_t e : s->declined) info.declined_by.push_back(EngineerName(st, e));
  if (s->timer_seq != 0 && s->timer_kind != internal::TimerKind::kSessionRouting &&
      s->timer_kind != internal::TimerKind::kPurge &&
      s->timer_kind != internal::TimerKind::kWindowOpen) {
    info.deadline = internal::FromMicros(s->timer_at);
  }
  if (s->min_tier != 0) info.min_tier = static_cast<Tier>(s->min_tier);
  info.rules_applied = s->rules_applied;
  info.window_start = s->window_start;
  info.window_end = s->window_end;
  if (s->assigned_at != absl::InfinitePast()) info.assigned_at = s->assigned_at;
  info.callback_number = s->callback_number;
  return info;
}

std::vector<SessionId> Engine::ListSessions() const {
  std::vector<SessionId> out;
  out.reserve(state_->session_count());
  state_->ForEachSession([&out](const Session& s) { out.push_back(SessionId(s.id)); });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<ChannelSpec> Engine::ListChannels() const {
  std::vector<ChannelSpec> out;
  for (const internal::ChannelState& c : state_->channels) out.push_back(c.spec);
  std::sort(out.begin(), out.end(),
            [](const ChannelSpec& a, const ChannelSpec& b) { return a.id < b.id; });
  return out;
}

std::string Engine::DumpState() const {
  const State& st = *state_;
  std::string out;
  absl::StrAppend(&out, "now=", st.now_us, " event_seq=", st.event_seq,
                  " timer_seq=", st.timer_seq, " claim_seq=", st.claim_seq,
                  " next_session=", st.next_session_id, "\n");
  for (const ChannelSpec& c : ListChannels()) {
    absl::StrAppend(&out, "channel ", c.id.value(), " cost=", c.cost, " max=", c.default_max,
                    " bot=", c.bot_first, "\n");
  }
  auto reqs = [&st](const ReqSet& r) {
    return absl::StrJoin(r, ",", [&st](std::string* o, const Req& q) {
      absl::StrAppend(o, st.skill_names[q.skill], ">=", q.level);
    });
  };
  for (const QueueId& id : ListQueues()) {
    const QueueState& q = st.queues[st.FindQueue(id.value())];
    absl::StrAppend(&out, "queue ", id.value(), " strategy=", q.strategy_name,
                    " delivery=", static_cast<int>(q.config.delivery), " reqs=", reqs(q.base_reqs),
                    " relax=", q.relax.size(), " ageing=", q.ageing_us,
                    " overflow=", q.config.overflow_queue.value(), "/",
                    absl::ToInt64Microseconds(q.config.overflow_after),
                    " rules=", absl::StrJoin(q.tag_rules, ";",
                                             [](std::string* o,
                                                const QueueState::InternedTagRule& r) {
                                               absl::StrAppend(o, r.description);
                                             }),
                    " appointment_priority=", q.config.appointment_priority,
                    " queued=", q.queued, " offered=", q.offered,
                    " counter=", q.assignment_counter, " members=",
                    absl::StrJoin(q.members, ","), " by_channel=",
                    absl::StrJoin(q.waiting_by_channel, ","), "\n");
  }
  for (const EngineerId& id : ListEngineers()) {
    const EngineerState& e = st.engineers[st.FindEngineer(id.value())];
    absl::StrAppend(&out, "engineer ", id.value(), " order=", e.index,
                    " presence=", PresenceName(e.presence), " reason=", e.reason,
                    " since=", internal::Micros(e.presence_since), " idle=", e.idle_since_us,
                    " used=", e.used_budget, "/", e.config.budget,
                    " tier=", static_cast<int>(e.config.tier), " score=", e.config.score,
                    " missed=", e.missed_in_row, " skills=", reqs(ReqSet(e.skills.begin(),
                                                                          e.skills.end())));
    absl::StrAppend(&out, " channels=");
    for (const internal::EngineerChannel& c : e.channels) {
      absl::StrAppend(&out, st.channels[c.channel].spec.id.value(), ":", c.active, "/", c.max,
                      "@", c.cost, ";");
    }
    absl::StrAppend(&out, " queues=");
    for (const internal::Membership& m : e.queues) {
      absl::StrAppend(&out, st.queues[m.queue].config.id.value(), "#", m.last_assignment, ";");
    }
    absl::StrAppend(&out, " sessions=", absl::StrJoin(e.sessions, ","),
                    " grabs=", absl::StrJoin(e.grab_offers, ","), " timer=", e.timer_at, "#",
                    e.timer_seq, "\n");
  }
  for (const SessionId& sid : ListSessions()) {
    const Session& s = *st.FindSession(sid.value());
    absl::StrAppend(&out, "session ", s.id, " ", SessionStateName(s.state),
                    " queue=", st.queues[s.queue].config.id.value(),
                    " channel=", st.channels[s.channel].spec.id.value(),
                    " customer=", s.customer.id.value(), " vip=", s.vip,
                    " prio=", s.priority, "/", s.base_priority,
                    " stage=", RoutingStageName(s.stage), " relax=", s.relax_step,
                    " base=", reqs(s.base), " in_force=", reqs(s.in_force),
                    " created=", internal::Micros(s.created_at), " waiting=", s.waiting_since_us,
                    " entered=", s.queue_entered_us,
                    " engineer=", EngineerName(st, s.engineer).value(), " cost=", s.cost_taken,
                    " preferred=", absl::StrJoin(s.preferred, ","), " last=",
                    s.last_engineer == kNone ? -1 : static_cast<int64_t>(s.last_engineer),
                    " overflowed=", s.overflowed, " transfer=", s.transfer_target, "/",
                    s.transfer_timeout_us, " grab=", absl::StrJoin(s.grab_offered, ","),
                    " claims=");
    for (const internal::Claim& c : s.claims) absl::StrAppend(&out, c.engineer, "#", c.seq, ";");
    absl::StrAppend(&out, " declined=", absl::StrJoin(s.declined, ","),
                    " rules=", absl::StrJoin(s.rules_applied, ";"), " min_tier=", s.min_tier,
                    " window=", absl::FormatTime(s.window_start, absl::UTCTimeZone()), "/",
                    absl::FormatTime(s.window_end, absl::UTCTimeZone()),
                    " assigned_at=", absl::FormatTime(s.assigned_at, absl::UTCTimeZone()),
                    " callback=", s.callback_number,
                    " intent=", s.intent, " summary=", s.bot_summary,
                    " timer=", s.timer_at, "#", s.timer_seq, "\n");
  }
  for (const internal::Timer& t : st.timers.Sorted([&st](const internal::Timer& x) {
         return st.TimerLive(x);
       })) {
    absl::StrAppend(&out, "timer ", t.at_us, " #", t.seq, " ", TimerKindName(t.kind), " ",
                    t.kind == internal::TimerKind::kPresenceEnd
                        ? t.target
                        : st.session_slab[t.target].id,
                    "\n");
  }
  return out;
}

uint64_t Engine::StateDigest() const {
  // FNV-1a: stable across processes and builds (absl::Hash is seeded per process).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : DumpState()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace omniroute
