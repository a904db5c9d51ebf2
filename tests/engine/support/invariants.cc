#include "engine/support/invariants.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "omniroute/engine.h"

namespace omniroute::testing {
namespace {

bool HoldsCapacity(SessionState state) {
  return state == SessionState::kOffered || state == SessionState::kAssigned ||
         state == SessionState::kWrapUp;
}

std::string Id(SessionId id) { return absl::StrCat("session ", id.value()); }
std::string Id(const EngineerId& id) { return absl::StrCat("engineer ", id.value()); }

absl::Status Violation(std::string_view invariant, std::string_view detail) {
  return absl::InternalError(
      absl::StrCat("invariant '", std::string(invariant), "' violated: ", std::string(detail)));
}

// A snapshot of everything public, read once.
struct Snapshot {
  absl::Time now;
  std::map<std::string, ChannelSpec> channels;
  std::map<std::string, QueueInfo> queues;
  std::map<std::string, EngineerInfo> engineers;
  std::map<uint64_t, SessionInfo> sessions;
};

// Limit and cost of `channel` for the engineer, from its configuration or the channel's
// defaults; nullopt when it does not handle the channel.
std::optional<std::pair<int, int>> ChannelSetting(const Snapshot& snap, const EngineerInfo& e,
                                                  const ChannelId& channel) {
  auto spec = snap.channels.find(channel.value());
  if (spec == snap.channels.end()) return std::nullopt;
  if (e.config.channels.empty()) {
    if (spec->second.default_max <= 0) return std::nullopt;
    return std::make_pair(spec->second.default_max, spec->second.cost);
  }
  for (const ChannelCapacity& c : e.config.channels) {
    if (c.channel == channel) {
      return std::make_pair(c.max, c.cost < 0 ? spec->second.cost : c.cost);
    }
  }
  return std::nullopt;
}

int Reported(const std::vector<std::pair<ChannelId, int>>& counts, const ChannelId& channel) {
  for (const auto& [c, n] : counts) {
    if (c == channel) return n;
  }
  return 0;
}

std::string RenderCounts(const std::map<std::string, int>& counts) {
  return absl::StrJoin(counts, ",", absl::PairFormatter("="));
}

std::map<std::string, int> NonZero(const std::vector<std::pair<ChannelId, int>>& counts) {
  std::map<std::string, int> out;
  for (const auto& [c, n] : counts) {
    if (n != 0) out[c.value()] += n;
  }
  return out;
}

class Checker {
 public:
  Checker(const Engine& engine, const InvariantOptions& options)
      : engine_(engine), options_(options) {}

  absl::Status Run() {
    Read();
    if (absl::Status s = CheckTimers(); !s.ok()) return s;
    if (absl::Status s = CheckOwnership(); !s.ok()) return s;
    if (absl::Status s = CheckCapacity(); !s.ok()) return s;
    if (absl::Status s = CheckQueues(); !s.ok()) return s;
    if (absl::Status s = CheckWaiting(); !s.ok()) return s;
    if (absl::Status s = CheckRules(); !s.ok()) return s;
    return absl::OkStatus();
  }

 private:
  void Read() {
    snap_.now = engine_.now();
    for (const ChannelSpec& c : engine_.ListChannels()) snap_.channels[c.id.value()] = c;
    for (const QueueId& q : engine_.ListQueues()) {
      if (auto info = engine_.GetQueue(q)) snap_.queues[q.value()] = *std::move(info);
    }
    for (const EngineerId& e : engine_.ListEngineers()) {
      if (auto info = engine_.GetEngineer(e)) snap_.engineers[e.value()] = *std::move(info);
    }
    for (SessionId s : engine_.ListSessions()) {
      if (auto info = engine_.GetSession(s)) snap_.sessions[s.value()] = *std::move(info);
    }
  }

  absl::Status CheckTimers() {
    if (auto next = engine_.NextDeadline(); next.has_value() && *next <= snap_.now) {
      return Violation("no overdue timer", absl::StrCat("next deadline ", absl::FormatTime(*next),
                                                        " <= now ", absl::FormatTime(snap_.now)));
    }
    for (const auto& [id, s] : snap_.sessions) {
      if (IsTerminal(s.state) || !s.deadline.has_value()) continue;
      if (*s.deadline <= snap_.now) {
        return Violation(
            "no overdue timer",
            absl::StrCat(Id(s.id), " in ", std::string(SessionStateName(s.state)), " has deadline ",
                         absl::FormatTime(*s.deadline), " <= now ", absl::FormatTime(snap_.now)));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckOwnership() {
    // Who lists each session.
    std::map<uint64_t, std::vector<std::string>> listed_by;
    for (const auto& [name, e] : snap_.engineers) {
      for (SessionId sid : e.sessions) {
        listed_by[sid.value()].push_back(name);
        auto it = snap_.sessions.find(sid.value());
        if (it == snap_.sessions.end()) {
          return Violation("engineers list only known sessions",
                           absl::StrCat(Id(e.config.id), " lists unknown ", Id(sid)));
        }
        const SessionInfo& s = it->second;
        if (!HoldsCapacity(s.state)) {
          return Violation("engineers list only offered or held sessions",
                           absl::StrCat(Id(e.config.id), " lists ", Id(sid), " in state ",
                                        std::string(SessionStateName(s.state))));
        }
        const bool names_it = s.engineer == e.config.id ||
                              (s.state == SessionState::kOffered && s.engineer.empty() &&
                               std::find(s.offered_to.begin(), s.offered_to.end(), e.config.id) !=
                                   s.offered_to.end());
        if (!names_it) {
          return Violation("a listed session names its engineer",
                           absl::StrCat(Id(e.config.id), " lists ", Id(sid), " (",
                                        std::string(SessionStateName(s.state)),
                                        ") whose engineer is '", s.engineer.value(), "'"));
        }
      }
    }
    for (const auto& [id, s] : snap_.sessions) {
      const std::vector<std::string>& listers = listed_by[id];
      switch (s.state) {
        case SessionState::kQueued:
          if (!s.engineer.empty() || !s.offered_to.empty() || !listers.empty()) {
            return Violation("a QUEUED session has no engineer",
                             absl::StrCat(Id(s.id), " engineer='", s.engineer.value(),
                                          "' offered_to=", s.offered_to.size(), " listed by [",
                                          absl::StrJoin(listers, ","), "]"));
          }
          break;
        case SessionState::kOffered:
          if (!s.engineer.empty()) {
            if (listers.size() != 1 || listers[0] != s.engineer.value()) {
              return Violation("a directly offered session is listed by its engineer only",
                               absl::StrCat(Id(s.id), " offered to ", s.engineer.value(),
                                            " listed by [", absl::StrJoin(listers, ","), "]"));
            }
          } else if (s.offered_to.empty()) {
            return Violation("an OFFERED session is offered to someone",
                             absl::StrCat(Id(s.id), " has no engineer and no grab offer"));
          }
          break;
        case SessionState::kAssigned:
        case SessionState::kWrapUp:
          if (s.engineer.empty() || listers.size() != 1 || listers[0] != s.engineer.value()) {
            return Violation("a held session is listed by its engineer only",
                             absl::StrCat(Id(s.id), " (", std::string(SessionStateName(s.state)),
                                          ") engineer='", s.engineer.value(), "' listed by [",
                                          absl::StrJoin(listers, ","), "]"));
          }
          if (!snap_.engineers.contains(s.engineer.value())) {
            return Violation("a held session's engineer exists",
                             absl::StrCat(Id(s.id), " held by unknown ", Id(s.engineer)));
          }
          break;
        default:
          if (!listers.empty()) {
            return Violation("a session that is not offered or held is listed by nobody",
                             absl::StrCat(Id(s.id), " (", std::string(SessionStateName(s.state)),
                                          ") listed by [", absl::StrJoin(listers, ","), "]"));
          }
      }
      if (!IsTerminal(s.state) && s.state != SessionState::kTransferred &&
          !snap_.queues.contains(s.queue.value())) {
        return Violation("a live session's queue exists",
                         absl::StrCat(Id(s.id), " (", std::string(SessionStateName(s.state)),
                                      ") is in unknown queue ", s.queue.value()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckCapacity() {
    // Load recomputed from the sessions that name an engineer.
    std::map<std::string, std::map<std::string, int>> load;
    for (const auto& [id, s] : snap_.sessions) {
      if (HoldsCapacity(s.state) && !s.engineer.empty()) {
        ++load[s.engineer.value()][s.channel.value()];
      }
    }
    for (const auto& [name, e] : snap_.engineers) {
      const std::map<std::string, int>& held = load[name];
      const std::map<std::string, int> reported = NonZero(e.load_by_channel);
      if (held != reported) {
        return Violation("reported load is the sessions held",
                         absl::StrCat(Id(e.config.id), " reports {", RenderCounts(reported),
                                      "} but holds {", RenderCounts(held), "}"));
      }
      if (e.used_budget < 0 || (held.empty() && e.used_budget != 0)) {
        return Violation("used budget is the sessions held",
                         absl::StrCat(Id(e.config.id), " used_budget=", e.used_budget, " holding {",
                                      RenderCounts(held), "}"));
      }
      if (options_.capacity_unchecked.contains(e.config.id)) continue;
      // Sessions keep the cost they were taken with; with no reconfiguration under them that
      // is the cost in force now.
      int cost = 0;
      for (const auto& [channel, n] : held) {
        auto setting = ChannelSetting(snap_, e, ChannelId(channel));
        cost += n * (setting ? setting->second : 0);
      }
      if (e.used_budget != cost) {
        return Violation("used budget is the cost of the sessions held",
                         absl::StrCat(Id(e.config.id), " used_budget=", e.used_budget,
                                      " but holds {", RenderCounts(held), "} costing ", cost));
      }
      if (e.used_budget > e.config.budget) {
        return Violation("no engineer over budget",
                         absl::StrCat(Id(e.config.id), " used_budget=", e.used_budget,
                                      " > budget=", e.config.budget));
      }
      for (const auto& [channel, n] : held) {
        auto setting = ChannelSetting(snap_, e, ChannelId(channel));
        if (!setting.has_value() || n > setting->first) {
          return Violation("no engineer over a channel maximum",
                           absl::StrCat(Id(e.config.id), " holds ", n, " on ", channel, " (max ",
                                        setting ? setting->first : 0, ")"));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status CheckQueues() {
    for (const auto& [qname, q] : snap_.queues) {
      int queued = 0;
      int offered = 0;
      std::map<std::string, int> by_channel;
      std::optional<absl::Time> oldest;
      for (const auto& [id, s] : snap_.sessions) {
        if (s.queue != q.config.id) continue;
        if (s.state == SessionState::kQueued) {
          ++queued;
          ++by_channel[s.channel.value()];
          if (!oldest.has_value() || s.waiting_since < *oldest) oldest = s.waiting_since;
        } else if (s.state == SessionState::kOffered) {
          ++offered;
          ++by_channel[s.channel.value()];
        }
      }
      if (q.waiting != queued || q.offered != offered) {
        return Violation(
            "queue counters match its sessions",
            absl::StrCat("queue ", qname, " reports waiting=", q.waiting, " offered=", q.offered,
                         " but has ", queued, " QUEUED and ", offered, " OFFERED"));
      }
      const std::map<std::string, int> reported = NonZero(q.waiting_by_channel);
      if (reported != by_channel) {
        return Violation("queue waiting_by_channel counts its QUEUED and OFFERED sessions",
                         absl::StrCat("queue ", qname, " reports {", RenderCounts(reported),
                                      "} but has {", RenderCounts(by_channel), "}"));
      }
      if (q.oldest_waiting_since != oldest) {
        return Violation(
            "queue oldest_waiting_since is its oldest QUEUED session",
            absl::StrCat(
                "queue ", qname, " reports ",
                q.oldest_waiting_since ? absl::FormatTime(*q.oldest_waiting_since) : "none",
                " but oldest is ", oldest ? absl::FormatTime(*oldest) : "none"));
      }
      std::set<std::string> members;
      for (const auto& [ename, e] : snap_.engineers) {
        if (std::find(e.config.queues.begin(), e.config.queues.end(), q.config.id) !=
            e.config.queues.end()) {
          members.insert(ename);
        }
      }
      std::set<std::string> reported_members;
      for (const EngineerId& e : q.engineers) reported_members.insert(e.value());
      if (members != reported_members) {
        return Violation(
            "queue engineers are those configured to serve it",
            absl::StrCat("queue ", qname, " reports [", absl::StrJoin(reported_members, ","),
                         "] but [", absl::StrJoin(members, ","), "] serve it"));
      }
    }
    return absl::OkStatus();
  }

  // Rules 1 to 6 of docs/ROUTING.md "Eligibility", from public information.
  bool Eligible(const EngineerInfo& e, const SessionInfo& s, const QueueInfo& q) const {
    if (e.presence != Presence::kAvailable) return false;
    if (s.min_tier.has_value() && e.config.tier < *s.min_tier) return false;
    if (std::find(e.config.queues.begin(), e.config.queues.end(), s.queue) ==
        e.config.queues.end()) {
      return false;
    }
    auto setting = ChannelSetting(snap_, e, s.channel);
    if (!setting.has_value()) return false;
    if (Reported(e.load_by_channel, s.channel) >= setting->first) return false;
    if (e.config.budget - e.used_budget < setting->second) return false;
    for (const Requirement& r : s.requirements_in_force) {
      int level = 0;
      for (const SkillLevel& sk : e.config.skills) {
        if (sk.skill == r.skill) level = std::max(level, sk.level);
      }
      if (level < r.min_level) return false;
    }
    switch (s.stage) {
      case RoutingStage::kPreferred: {
        if (Declined(s, e.config.id)) return false;
        auto t = options_.transfer_targets.find(s.id.value());
        if (t != options_.transfer_targets.end() && !t->second.empty()) {
          return t->second == e.config.id;
        }
        const auto& pref = s.customer.preferred_engineers;
        return std::find(pref.begin(), pref.end(), e.config.id) != pref.end() &&
               ExistedAtEntry(e.config.id, s);
      }
      case RoutingStage::kLastEngineer:
        return s.customer.last_engineer == e.config.id && !Declined(s, e.config.id) &&
               ExistedAtEntry(e.config.id, s);
      case RoutingStage::kVipTier:
        return e.config.tier >= q.config.vip_min_tier;
      case RoutingStage::kQueue:
        return true;
    }
    return false;
  }

  static bool Declined(const SessionInfo& s, const EngineerId& e) {
    return std::find(s.declined_by.begin(), s.declined_by.end(), e) != s.declined_by.end();
  }

  // Whether `e` surely existed when `s` entered its queue (targets are resolved then); when
  // in doubt, no, so that the check never blames the engine wrongly.
  bool ExistedAtEntry(const EngineerId& e, const SessionInfo& s) const {
    auto it = options_.registered_at.find(e);
    return it == options_.registered_at.end() || it->second < s.queue_entered_at;
  }

  absl::Status CheckWaiting() {
    for (const auto& [id, s] : snap_.sessions) {
      if (s.state != SessionState::kQueued) continue;
      auto qit = snap_.queues.find(s.queue.value());
      if (qit == snap_.queues.end()) continue;  // reported by CheckOwnership
      const QueueInfo& q = qit->second;
      const absl::Duration in_queue = snap_.now - s.queue_entered_at;
      if (absl::Status st = CheckRelaxation(s, q.config, in_queue); !st.ok()) return st;
      if (q.config.overflow_after > absl::ZeroDuration() && in_queue >= q.config.overflow_after) {
        return Violation("no QUEUED session past its overflow time",
                         absl::StrCat(Id(s.id), " has waited ", absl::FormatDuration(in_queue),
                                      " in queue ", q.config.id.value(), " (overflow_after ",
                                      absl::FormatDuration(q.config.overflow_after), ")"));
      }
      if (absl::Status st = CheckStageNotExpired(s, q.config, in_queue); !st.ok()) return st;
      for (const auto& [ename, e] : snap_.engineers) {
        if (Eligible(e, s, q)) {
          return Violation(
              "every waiting session has a reason to wait",
              absl::StrCat(Id(s.id), " (queue ", s.queue.value(), ", channel ", s.channel.value(),
                           ", stage ", std::string(RoutingStageName(s.stage)), ") is QUEUED but ",
                           Id(e.config.id), " is eligible"));
        }
      }
    }
    return absl::OkStatus();
  }

  // Customer rules, minimum tiers and appointments:
  //  - a QUEUED session has its queue's rules applied as configured now (labels in rule
  //    order, the highest minimum tier), and an appointment at least the queue's
  //    appointment priority;
  //  - no engineer below an OFFERED session's minimum tier holds an offer of it;
  //  - a SCHEDULED session's window has not opened yet.
  absl::Status CheckRules() const {
    for (const auto& [id, s] : snap_.sessions) {
      const bool appointment = s.window_start != absl::InfinitePast();
      if (s.state == SessionState::kScheduled) {
        if (!appointment || s.window_start <= snap_.now) {
          return Violation("a SCHEDULED session's window is still to open",
                           absl::StrCat(Id(s.id), " window_start ",
                                        absl::FormatTime(s.window_start), " now ",
                                        absl::FormatTime(snap_.now)));
        }
      }
      if (s.state == SessionState::kOffered && s.min_tier.has_value()) {
        std::vector<EngineerId> offered = s.offered_to;
        if (!s.engineer.empty()) offered.push_back(s.engineer);
        for (const EngineerId& name : offered) {
          auto e = snap_.engineers.find(name.value());
          if (e != snap_.engineers.end() && e->second.config.tier < *s.min_tier) {
            return Violation("no engineer below a session's minimum tier is offered it",
                             absl::StrCat(Id(s.id), " (min tier ",
                                          std::string(TierName(*s.min_tier)), ") offered to ",
                                          Id(name), " (",
                                          std::string(TierName(e->second.config.tier)), ")"));
          }
        }
      }
      if (s.state != SessionState::kQueued) continue;
      auto qit = snap_.queues.find(s.queue.value());
      if (qit == snap_.queues.end()) continue;
      const QueueConfig& q = qit->second.config;
      std::vector<std::string> labels;
      std::optional<Tier> min_tier;
      for (const TagRule& rule : q.tag_rules) {
        const CustomerSnapshot& c = s.customer;
        if (!rule.tag.empty() &&
            std::find(c.tags.begin(), c.tags.end(), rule.tag) == c.tags.end()) {
          continue;
        }
        if (rule.min_vip_level > 0 && c.vip_level < rule.min_vip_level) continue;
        if (!rule.language.empty() && c.language != rule.language) continue;
        std::string label = rule.name;
        if (label.empty()) {
          std::vector<std::string> parts;
          if (!rule.tag.empty()) parts.push_back("tag=" + rule.tag);
          if (rule.min_vip_level > 0) parts.push_back(absl::StrCat("vip>=", rule.min_vip_level));
          if (!rule.language.empty()) parts.push_back("lang=" + rule.language);
          label = absl::StrJoin(parts, "&");
        }
        labels.push_back(label);
        if (rule.min_tier && (!min_tier || *rule.min_tier > *min_tier)) min_tier = rule.min_tier;
      }
      if (labels != s.rules_applied || min_tier != s.min_tier) {
        return Violation("a waiting session has its queue's rules applied",
                         absl::StrCat(Id(s.id), " has rules [", absl::StrJoin(s.rules_applied, ";"),
                                      "] min tier ", s.min_tier ? static_cast<int>(*s.min_tier) : 0,
                                      ", queue ", q.id.value(), " gives [",
                                      absl::StrJoin(labels, ";"), "] min tier ",
                                      min_tier ? static_cast<int>(*min_tier) : 0));
      }
      if (appointment && s.priority < q.appointment_priority) {
        return Violation("a waiting appointment has at least its queue's appointment priority",
                         absl::StrCat(Id(s.id), " priority ", s.priority, " < ",
                                      q.appointment_priority));
      }
    }
    return absl::OkStatus();
  }

  // The relaxation steps whose time has come are in force, and nothing else.
  absl::Status CheckRelaxation(const SessionInfo& s, const QueueConfig& q,
                               absl::Duration in_queue) const {
    std::vector<RelaxationStep> steps = q.relaxation;
    std::stable_sort(
        steps.begin(), steps.end(),
        [](const RelaxationStep& a, const RelaxationStep& b) { return a.after < b.after; });
    std::map<std::string, int> reqs;
    for (const Requirement& r : s.requirements) {
      int& level = reqs[r.skill.value()];
      level = std::max(level, r.min_level);
    }
    int in_force = 0;
    for (const RelaxationStep& step : steps) {
      if (step.after > in_queue) break;
      ++in_force;
      switch (step.action) {
        case RelaxAction::kLowerLevel:
          for (auto& [skill, level] : reqs) {
            if (step.skill.empty() || step.skill.value() == skill) {
              level = std::min(level, step.level);
            }
          }
          break;
        case RelaxAction::kDropSkill:
          reqs.erase(step.skill.value());
          break;
        case RelaxAction::kAnyEngineer:
          reqs.clear();
          break;
      }
    }
    std::map<std::string, int> reported;
    for (const Requirement& r : s.requirements_in_force) reported[r.skill.value()] = r.min_level;
    if (s.relaxation_step != in_force || reported != reqs) {
      return Violation(
          "relaxation is up to date",
          absl::StrCat(Id(s.id), " waited ", absl::FormatDuration(in_queue), " in queue ",
                       q.id.value(), ": step ", s.relaxation_step, " {", RenderCounts(reported),
                       "} expected step ", in_force, " {", RenderCounts(reqs), "}"));
    }
    return absl::OkStatus();
  }

  // A targeted stage never outlives its (cumulative) end. The bound used is the latest end
  // any reading of the rules allows, so a skipped earlier stage cannot cause a false alarm.
  absl::Status CheckStageNotExpired(const SessionInfo& s, const QueueConfig& q,
                                    absl::Duration in_queue) const {
    if (options_.transfer_targets.contains(s.id.value())) return absl::OkStatus();
    absl::Duration end = absl::InfiniteDuration();
    switch (s.stage) {
      case RoutingStage::kPreferred:
        end = q.preferred_timeout;
        break;
      case RoutingStage::kLastEngineer:
        end = q.preferred_timeout + q.last_engineer_timeout;
        break;
      case RoutingStage::kVipTier:
        end = q.preferred_timeout + q.last_engineer_timeout + q.vip_timeout;
        break;
      case RoutingStage::kQueue:
        break;
    }
    if (in_queue >= end) {
      return Violation(
          "no targeted stage outlives its end",
          absl::StrCat(Id(s.id), " still in stage ", std::string(RoutingStageName(s.stage)),
                       " after ", absl::FormatDuration(in_queue), " in queue ", q.id.value(),
                       " (ends by ", absl::FormatDuration(end), ")"));
    }
    return absl::OkStatus();
  }

  const Engine& engine_;
  const InvariantOptions& options_;
  Snapshot snap_;
};

}  // namespace

absl::Status CheckInvariants(const Engine& engine) {
  return CheckInvariants(engine, InvariantOptions());
}

absl::Status CheckInvariants(const Engine& engine, const InvariantOptions& options) {
  return Checker(engine, options).Run();
}

}  // namespace omniroute::testing
