#include "state.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace omniroute::internal {

namespace {
__extension__ typedef __int128 Int128;

// Effective priority as the fraction num/den.
void EffectiveFraction(const Session& s, int64_t ageing_us, int64_t now_us, Int128* num,
                       Int128* den) {
  if (ageing_us <= 0) {
    *num = s.priority;
    *den = 1;
    return;
  }
  *num = static_cast<Int128>(s.priority) * ageing_us + (now_us - s.waiting_since_us);
  *den = ageing_us;
}
}  // namespace

std::string RuleLabel(const TagRule& rule) {
  if (!rule.name.empty()) return rule.name;
  std::vector<std::string> parts;
  if (!rule.tag.empty()) parts.push_back(absl::StrCat("tag=", rule.tag));
  if (rule.min_vip_level > 0) parts.push_back(absl::StrCat("vip>=", rule.min_vip_level));
  if (!rule.language.empty()) parts.push_back(absl::StrCat("lang=", rule.language));
  return absl::StrJoin(parts, "&");
}

QueueState::InternedTagRule InternTagRule(
    const TagRule& rule, const std::function<uint32_t(const std::string&)>& intern) {
  QueueState::InternedTagRule out;
  out.tag = rule.tag;
  out.boost = rule.priority_boost;
  if (!rule.requirement.skill.empty()) {
    out.req = Req{intern(rule.requirement.skill.value()), rule.requirement.min_level};
  }
  out.min_vip_level = rule.min_vip_level;
  out.language = rule.language;
  out.min_tier = rule.min_tier ? static_cast<int>(*rule.min_tier) : 0;
  out.label = RuleLabel(rule);
  std::vector<std::string> actions;
  if (rule.priority_boost != 0) {
    actions.push_back(absl::StrCat("priority ", rule.priority_boost > 0 ? "+" : "",
                                   rule.priority_boost));
  }
  if (!rule.requirement.skill.empty()) {
    actions.push_back(absl::StrCat("requires ", rule.requirement.skill.value(),
                                   ">=", rule.requirement.min_level));
  }
  if (rule.min_tier) actions.push_back(absl::StrCat("min tier ", TierName(*rule.min_tier)));
  out.description = actions.empty() ? out.label
                                    : absl::StrCat(out.label, " (", absl::StrJoin(actions, ", "),
                                                   ")");
  return out;
}

bool RuleMatches(const QueueState::InternedTagRule& rule, const CustomerSnapshot& customer) {
  if (!rule.tag.empty() &&
      std::find(customer.tags.begin(), customer.tags.end(), rule.tag) == customer.tags.end()) {
    return false;
  }
  if (rule.min_vip_level > 0 && customer.vip_level < rule.min_vip_level) return false;
  if (!rule.language.empty() && customer.language != rule.language) return false;
  return true;
}

int CompareEffectivePriority(const Session& a, int64_t ageing_a, const Session& b,
                             int64_t ageing_b, int64_t now_us) {
  Int128 na, da, nb, db;
  EffectiveFraction(a, ageing_a, now_us, &na, &da);
  EffectiveFraction(b, ageing_b, now_us, &nb, &db);
  const Int128 lhs = na * db;
  const Int128 rhs = nb * da;
  if (lhs != rhs) return lhs > rhs ? -1 : 1;
  return 0;
}

int CompareSessions(const Session& a, int64_t ageing_a, const Session& b, int64_t ageing_b,
                    int64_t now_us) {
  if (int c = CompareEffectivePriority(a, ageing_a, b, ageing_b, now_us); c != 0) return c;
  if (a.waiting_since_us != b.waiting_since_us) {
    return a.waiting_since_us < b.waiting_since_us ? -1 : 1;
  }
  if (a.id != b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

int64_t EffectivePriorityMilli(const Session& s, int64_t ageing_us, int64_t now_us) {
  Int128 num, den;
  EffectiveFraction(s, ageing_us, now_us, &num, &den);
  return static_cast<int64_t>(num * 1000 / den);
}

State::State(EngineOptions opts, std::unique_ptr<Matcher> m)
    : options(std::move(opts)), matcher(std::move(m)) {
  for (const ChannelSpec& spec : options.channels) {
    channel_index.emplace(spec.id.value(), static_cast<uint32_t>(channels.size()));
    channels.push_back(ChannelState{spec});
  }
  if (matcher != nullptr) matcher->Attach(this);
}

SessionSlab::~SessionSlab() {
  for (size_t slot = 0; slot < size_; ++slot) Locate(slot)->~Session();
  for (size_t c = 0; c < chunks_.size(); ++c) {
    if (c == 0) {
      std::allocator<Session>().deallocate(chunks_[c], kSmallSlots);
    } else {
      FreeLarge(chunks_[c], kChunkSlots * sizeof(Session));
    }
  }
}

void SessionSlab::Grow() {
  if (chunks_.empty()) {
    chunks_.push_back(std::allocator<Session>().allocate(kSmallSlots));
    capacity_ = kSmallSlots;
  } else {
    chunks_.push_back(static_cast<Session*>(AllocateLarge(kChunkSlots * sizeof(Session))));
    capacity_ += kChunkSlots;
  }
}

QueueState& State::NewQueue() {
  QueueState& q = queues.emplace_back();
  q.index = static_cast<uint32_t>(queues.size() - 1);
  q.waiting_order = QueueState::WaitingOrder(
      PoolAllocator<std::pair<int64_t, uint64_t>>(&node_pool));
  return q;
}

uint32_t State::FindQueue(const std::string& id) const {
  auto it = queue_index.find(id);
  if (it == queue_index.end() || !queues[it->second].live) return kNone;
  return it->second;
}

uint32_t State::FindEngineer(const std::string& id) const {
  auto it = engineer_index.find(id);
  if (it == engineer_index.end() || !engineers[it->second].live) return kNone;
  return it->second;
}

uint32_t State::FindChannel(const std::string& id) const {
  auto it = channel_index.find(id);
  return it == channel_index.end() ? kNone : it->second;
}

uint32_t State::FindSkill(const std::string& id) const {
  auto it = skill_index.find(id);
  return it == skill_index.end() ? kNone : it->second;
}

uint32_t State::InternSkill(const std::string& id) {
  auto [it, inserted] = skill_index.emplace(id, static_cast<uint32_t>(skill_names.size()));
  if (inserted) skill_names.push_back(id);
  return it->second;
}

Session* State::FindSession(uint64_t id) {
  auto it = session_slot.find(id);
  return it == session_slot.end() ? nullptr : &session_slab[it->second];
}

const Session* State::FindSession(uint64_t id) const {
  auto it = session_slot.find(id);
  return it == session_slot.end() ? nullptr : &session_slab[it->second];
}

Session& State::NewSession(uint64_t id) {
  uint32_t slot;
  if (!free_slots.empty()) {
    slot = free_slots.back();
    free_slots.pop_back();
  } else {
    slot = static_cast<uint32_t>(session_slab.size());
    session_slab.emplace_back();
  }
  Session& s = session_slab[slot];
  s.id = id;
  s.slot = slot;
  session_slot.emplace(id, slot);
  return s;
}

void State::DropSession(Session& s) {
  const uint32_t slot = s.slot;
  session_slot.erase(s.id);
  s = Session();  // timer_seq 0: any timer still naming the slot is stale
  free_slots.push_back(slot);
}

bool State::TimerLive(const Timer& t) const {
  if (t.kind == TimerKind::kPresenceEnd) return engineers[t.target].timer_seq == t.seq;
  return session_slab[t.target].timer_seq == t.seq;
}

RankInput State::RankInputFor(const EngineerState& e, uint32_t queue) const {
  RankInput in;
  in.idle_since_micros = e.idle_since_us;
  in.budget = e.config.budget;
  in.spare_budget = e.config.budget - e.used_budget;
  in.score = e.config.score;
  in.tier = e.config.tier;
  const Membership* m = e.Member(queue);
  in.last_assignment_in_queue = m != nullptr ? m->last_assignment : 0;
  in.registration_order = e.index;
  return in;
}

bool State::MeetsRequirements(const EngineerState& e, const ReqSet& reqs) const {
  // Both sorted by skill: one merge pass.
  size_t i = 0;
  for (const Req& r : reqs) {
    while (i < e.skills.size() && e.skills[i].skill < r.skill) ++i;
    if (i == e.skills.size() || e.skills[i].skill != r.skill || e.skills[i].level < r.level) {
      return false;
    }
  }
  return true;
}

bool State::Eligible(const EngineerState& e, const Session& s) const {
  if (!e.live || e.presence != Presence::kAvailable) return false;
  if (!e.ServesQueue(s.queue)) return false;
  if (!e.HasRoomFor(s.channel)) return false;
  if (!s.TargetAllows(e.index)) return false;
  if (static_cast<int>(e.config.tier) < RequiredTier(s)) return false;
  return MeetsRequirements(e, s.in_force);
}

}  // namespace omniroute::internal
