#include "engine/support/reference_matcher.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "state.h"

namespace omniroute::testing {
namespace {

using internal::EngineerChoice;
using internal::EngineerState;
using internal::kNone;
using internal::Session;
using internal::SessionChoice;
using internal::State;

// What one engineer holds, recomputed from the sessions themselves rather than read from the
// engineer's counters.
struct Load {
  int used_budget = 0;
  absl::flat_hash_map<uint32_t, int> active;  // channel index -> sessions held or reserved
};

class ReferenceMatcher : public internal::Matcher {
 public:
  void Attach(State* state) override { state_ = state; }

  // The oracle scans on every question, so it needs to hear of no change.
  void EngineerChanged(uint32_t /*engineer*/) override {}
  void QueueChanged(uint32_t /*queue*/) override {}
  void SessionWaiting(Session& /*session*/) override {}
  void SessionLeaving(Session& /*session*/) override {}

  EngineerChoice FindEngineers(const Session& session, int limit) override {
    const std::vector<Load> loads = ComputeLoads();
    std::vector<std::pair<RankKey, uint32_t>> fresh;
    std::vector<std::pair<RankKey, uint32_t>> declined;
    for (const EngineerState& e : state_->engineers) {
      if (!Eligible(e, session, loads[e.index])) continue;
      auto& group = HasDeclined(session, e.index) ? declined : fresh;
      group.emplace_back(state_->Rank(e, session.queue), e.index);
    }
    EngineerChoice choice;
    // Only when nobody who has not declined is eligible do the decliners get another chance.
    std::vector<std::pair<RankKey, uint32_t>>* group = &fresh;
    if (fresh.empty() && !declined.empty()) {
      group = &declined;
      choice.declined_fallback = true;
    }
    std::sort(group->begin(), group->end());
    for (const auto& [key, index] : *group) {
      if (static_cast<int>(choice.engineers.size()) >= limit) break;
      choice.engineers.push_back(index);
    }
    return choice;
  }

  SessionChoice FindSession(uint32_t engineer) override {
    SessionChoice choice;
    if (engineer >= state_->engineers.size()) return choice;
    const EngineerState& e = state_->engineers[engineer];
    const std::vector<Load> loads = ComputeLoads();
    const Load& load = loads[engineer];
    // Declined sessions are not skipped: the freed engineer may be the only one left.
    state_->ForEachSession([&](Session& s) {
      if (s.state != SessionState::kQueued) return;
      if (!Eligible(e, s, load)) return;
      if (choice.session == nullptr || Before(s, *choice.session)) {
        choice.runner_up = choice.session;
        choice.session = &s;
      } else if (choice.runner_up == nullptr || Before(s, *choice.runner_up)) {
        choice.runner_up = &s;
      }
    });
    return choice;
  }

 private:
  bool Before(const Session& a, const Session& b) const {
    return internal::CompareSessions(a, state_->queues[a.queue].ageing_us, b,
                                     state_->queues[b.queue].ageing_us, state_->now_us) < 0;
  }

  static bool HasDeclined(const Session& s, uint32_t engineer) {
    return std::find(s.declined.begin(), s.declined.end(), engineer) != s.declined.end();
  }

  // Load of every engineer, from the sessions that name it: a direct offer reserves
  // capacity, an assignment and a wrap-up hold it; grab offers reserve nothing (they do not
  // name an engineer). Each session counts the cost it was taken with.
  std::vector<Load> ComputeLoads() const {
    std::vector<Load> loads(state_->engineers.size());
    state_->ForEachSession([&loads](const Session& s) {
      if (s.engineer == kNone || s.engineer >= loads.size()) return;
      if (s.state != SessionState::kOffered && s.state != SessionState::kAssigned &&
          s.state != SessionState::kWrapUp) {
        return;
      }
      Load& load = loads[s.engineer];
      load.used_budget += s.cost_taken;
      ++load.active[s.channel];
    });
    return loads;
  }

  // The engineer's limit and cost on a channel, from its configuration and the channel's
  // current defaults. False when the engineer does not handle the channel.
  bool ChannelSetting(const EngineerState& e, uint32_t channel, int* max, int* cost) const {
    const ChannelSpec& spec = state_->channels[channel].spec;
    if (e.config.channels.empty()) {
      if (spec.default_max <= 0) return false;
      *max = spec.default_max;
      *cost = spec.cost;
      return true;
    }
    for (const ChannelCapacity& c : e.config.channels) {
      if (c.channel != spec.id) continue;
      *max = c.max;
      *cost = c.cost < 0 ? spec.cost : c.cost;
      return true;
    }
    return false;
  }

  int Proficiency(const EngineerState& e, uint32_t skill) const {
    const std::string& name = state_->skill_names[skill];
    int level = 0;
    for (const SkillLevel& s : e.config.skills) {
      if (s.skill.value() == name) level = std::max(level, s.level);
    }
    return level;
  }

  // The session's minimum tier, recomputed from its queue's customer rules as configured
  // now: a QUEUED session had them applied when it entered the queue, and again whenever the
  // queue was reconfigured or an offer of it came back. 0: any tier.
  int MinTier(const internal::QueueState& q, const Session& s) const {
    int tier = 0;
    for (const TagRule& rule : q.config.tag_rules) {
      const CustomerSnapshot& c = s.customer;
      if (!rule.tag.empty() && std::find(c.tags.begin(), c.tags.end(), rule.tag) == c.tags.end()) {
        continue;
      }
      if (rule.min_vip_level > 0 && c.vip_level < rule.min_vip_level) continue;
      if (!rule.language.empty() && c.language != rule.language) continue;
      if (rule.min_tier) tier = std::max(tier, static_cast<int>(*rule.min_tier));
    }
    return tier;
  }

  // docs/ROUTING.md, "Eligibility", rules 1 to 6.
  bool Eligible(const EngineerState& e, const Session& s, const Load& load) const {
    // 1. Exists and is available.
    if (!e.live || e.presence != Presence::kAvailable) return false;
    // 2. Serves the session's queue (by name, as configured).
    const internal::QueueState& q = state_->queues[s.queue];
    if (!q.live) return false;
    if (std::find(e.config.queues.begin(), e.config.queues.end(), q.config.id) ==
        e.config.queues.end()) {
      return false;
    }
    // 3. Handles the channel and has room for it.
    int max = 0;
    int cost = 0;
    if (!ChannelSetting(e, s.channel, &max, &cost)) return false;
    auto it = load.active.find(s.channel);
    const int active = it == load.active.end() ? 0 : it->second;
    if (active >= max) return false;
    if (e.config.budget - load.used_budget < cost) return false;
    // 4. Meets every requirement in force.
    for (const internal::Req& r : s.in_force) {
      if (Proficiency(e, r.skill) < r.level) return false;
    }
    // 6. Meets the session's minimum tier, at every stage.
    if (static_cast<int>(e.config.tier) < MinTier(q, s)) return false;
    // 5. The stage allows the engineer.
    switch (s.stage) {
      // The targets were resolved when the session entered its queue (an engineer that did
      // not exist then is no target), and one who declined is a target no more.
      case RoutingStage::kPreferred:
        return std::find(s.preferred.begin(), s.preferred.end(), e.index) != s.preferred.end() &&
               !HasDeclined(s, e.index);
      case RoutingStage::kLastEngineer:
        return s.last_engineer == e.index && !HasDeclined(s, e.index);
      case RoutingStage::kVipTier:
        return e.config.tier >= q.config.vip_min_tier;
      case RoutingStage::kQueue:
        return true;
    }
    return false;
  }

  State* state_ = nullptr;
};

}  // namespace

std::unique_ptr<internal::Matcher> MakeReferenceMatcher() {
  return std::make_unique<ReferenceMatcher>();
}

}  // namespace omniroute::testing
