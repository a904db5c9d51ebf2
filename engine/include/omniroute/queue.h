// Queue configuration.
//
// A queue is unified across channels: a WeChat chat and a phone call for the same intent wait
// in the same queue and are ordered together. A `QueueConfig` says how sessions are ordered
// (priority with ageing), what they require by default, how requirements relax as the wait
// grows, when a session overflows elsewhere, how an engineer is chosen (`strategy`) and how
// the session is delivered (a direct offer, or grab mode).
//
//   QueueConfig q;
//   q.id = QueueId("repair");
//   q.requirements = {{SkillId("repair.phone"), 4}};
//   q.relaxation = {{absl::Seconds(30), RelaxAction::kLowerLevel, SkillId(), 2},
//                   {absl::Seconds(90), RelaxAction::kAnyEngineer, SkillId(), 0}};
//   q.overflow_after = absl::Minutes(5);
//   q.overflow_queue = QueueId("repair.backup");

#ifndef OMNIROUTE_QUEUE_H_
#define OMNIROUTE_QUEUE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "omniroute/engineer.h"
#include "omniroute/ids.h"

namespace omniroute {

// A skill an engineer must have, at `min_level` or better (1..5).
struct Requirement {
  SkillId skill;
  int min_level = 1;

  friend bool operator==(const Requirement&, const Requirement&) = default;
  friend auto operator<=>(const Requirement&, const Requirement&) = default;
};

enum class RelaxAction {
  // Lower the minimum level of `skill` (or of every requirement when `skill` is empty) to
  // `level` where it is higher.
  kLowerLevel = 1,
  // Drop the requirement on `skill`.
  kDropSkill = 2,
  // Drop every requirement: any engineer of the queue will do.
  kAnyEngineer = 3,
};

// One relaxation step: once a session has waited `after` in the queue, `action` applies.
// Steps apply cumulatively in order of `after`.
struct RelaxationStep {
  absl::Duration after;
  RelaxAction action = RelaxAction::kLowerLevel;
  SkillId skill;
  int level = 1;

  friend bool operator==(const RelaxationStep&, const RelaxationStep&) = default;
};

enum class DeliveryMode {
  // One engineer at a time gets an offer with an accept timeout.
  kDirect = 1,
  // Up to `grab_fanout` engineers see the session at once; among those who claim it within
  // `grab_window`, the best ranked (tier, then score, then earliest claim) wins.
  kGrab = 2,
};

// A customer rule: a condition on the customer snapshot and what it does to the session.
//
// Every condition that is set must hold, and at least one must be set; every rule that
// matches applies, in order. Rules are evaluated against the rules of the queue the session
// is in: when it is created, whenever it enters a queue (escalation, transfer, overflow, an
// appointment's window opening), when its queue is reconfigured while it waits and when an
// offer of it comes back. See docs/ROUTING.md, "Customer rules and minimum tiers".
//
//   TagRule risk;
//   risk.tag = "risk:negative-social";
//   risk.min_tier = Tier::kExpert;   // only experts or masters may be offered the session
//   TagRule vip;
//   vip.min_vip_level = 2;
//   vip.priority_boost = 10;
struct TagRule {
  // Label for decision reasons and events. Empty: derived from the conditions, e.g.
  // "tag=risk:negative-social", "vip>=2", "lang=en", joined with '&' when several are set.
  // (Every member has a default initializer, so designated initializers may name any subset
  // without -Wmissing-field-initializers.)
  std::string name{};

  // Conditions.
  std::string tag{};        // the customer carries this tag (empty: no condition)
  int min_vip_level = 0;    // the customer's vip_level is at least this (0: no condition); 0..9
  std::string language{};   // the customer's language equals this (empty: no condition)

  // Actions.
  int priority_boost = 0;
  Requirement requirement{};  // an extra requirement when `requirement.skill` is set
  // Only engineers of this tier or better may be offered the session, at every routing stage
  // and whatever relaxation is in force; never relaxed.
  std::optional<Tier> min_tier{};

  friend bool operator==(const TagRule&, const TagRule&) = default;
};

// A limit on how many sessions of one channel may wait in the queue at once.
struct ChannelLimit {
  ChannelId channel;
  int max_waiting = 0;

  friend bool operator==(const ChannelLimit&, const ChannelLimit&) = default;
};

struct QueueConfig {
  QueueId id;
  std::string display_name;

  // Ordering: effective priority = priority + waited / ageing_interval (one point per
  // interval; zero interval means no ageing), highest first, then longest wait.
  absl::Duration ageing_interval = absl::Seconds(30);

  // Service-level target: `service_level_goal` (0..1) of sessions answered within
  // `service_level_threshold`.
  absl::Duration service_level_threshold = absl::Seconds(20);
  double service_level_goal = 0.8;

  // Requirements every session of this queue has, merged with the session's own (the higher
  // level wins where both name a skill).
  std::vector<Requirement> requirements;
  std::vector<RelaxationStep> relaxation;

  // After a session has waited `overflow_after` in this queue it moves to `overflow_queue`
  // keeping its original wait; with no overflow queue it leaves the router as OVERFLOWED.
  // Zero disables overflow.
  absl::Duration overflow_after = absl::ZeroDuration();
  QueueId overflow_queue;

  std::vector<ChannelLimit> channel_limits;
  // Customer rules, evaluated in order; every rule that matches applies.
  std::vector<TagRule> tag_rules;

  // Booked appointments (sessions created with a window) enter this queue with at least this
  // priority (0..1000).
  int appointment_priority = 800;

  // Engineer selection strategy by registered name: longest_idle (default), most_spare,
  // best_rated, round_robin.
  std::string strategy = "longest_idle";

  DeliveryMode delivery = DeliveryMode::kDirect;
  absl::Duration offer_timeout = absl::Seconds(15);
  int grab_fanout = 3;
  absl::Duration grab_window = absl::Seconds(10);

  // Targeted stages tried before the whole queue: the customer's preferred engineers for
  // `preferred_timeout`, then the last engineer for `last_engineer_timeout`, then (for
  // customers of `vip_min_level` or above) engineers of `vip_min_tier` or better for
  // `vip_timeout`. A zero timeout skips the stage.
  absl::Duration preferred_timeout = absl::Seconds(20);
  absl::Duration last_engineer_timeout = absl::Seconds(10);
  int vip_min_level = 1;
  Tier vip_min_tier = Tier::kElite;
  absl::Duration vip_timeout = absl::Seconds(30);

  // How long a session stays in wrap-up after completion, holding the engineer's capacity,
  // unless the engineer ends it sooner.
  absl::Duration wrap_up = absl::Seconds(30);

  friend bool operator==(const QueueConfig&, const QueueConfig&) = default;
};

}  // namespace omniroute

#endif  // OMNIROUTE_QUEUE_H_
