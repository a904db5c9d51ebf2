// Engineer (agent) configuration and presence.
//
// An engineer has skills with a proficiency of 1 (novice) to 5 (authority), a tier earned
// from customers' ratings, a score used by the best-rated strategy and by grab ranking, a
// capacity budget spent by the sessions they hold (a call takes it all, a chat a third by
// default), and the queues they serve.
//
//   EngineerConfig e;
//   e.id = EngineerId("eng-1042");
//   e.skills = {{SkillId("repair.phone"), 4}, {SkillId("lang.zh"), 5}};
//   e.queues = {QueueId("repair"), QueueId("vip")};
//   e.channels = {{ChannelId("voice"), 1, -1}, {ChannelId("wechat"), 3, -1}};

#ifndef OMNIROUTE_ENGINEER_H_
#define OMNIROUTE_ENGINEER_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "omniroute/ids.h"

namespace omniroute {

enum class Tier {
  kRookie = 1,
  kCore = 2,
  kElite = 3,
  kExpert = 4,
  kMaster = 5,
};
absl::string_view TierName(Tier tier);

enum class Presence {
  kOffline = 1,
  kAvailable = 2,
  // Not taking work; `reason` says why (`break`, `training`, `missed-offers`, ...).
  kNotReady = 3,
  // Finishing up for a set time, then available again by itself.
  kWrapUp = 4,
};
absl::string_view PresenceName(Presence presence);

struct SkillLevel {
  SkillId skill;
  int level = 1;  // 1..5

  friend bool operator==(const SkillLevel&, const SkillLevel&) = default;
};

// What an engineer may hold on one channel: at most `max` sessions at once, each taking
// `cost` budget units (-1: the channel's default cost).
struct ChannelCapacity {
  ChannelId channel;
  int max = 1;
  int cost = -1;

  friend bool operator==(const ChannelCapacity&, const ChannelCapacity&) = default;
};

struct EngineerConfig {
  EngineerId id;
  std::string display_name;
  std::vector<SkillLevel> skills;
  Tier tier = Tier::kRookie;
  // Points earned from customers (good ratings, favourites, tips); higher is better.
  int64_t score = 0;
  int budget = 60;
  // The channels the engineer handles. Empty: every channel whose `default_max` is above
  // zero, with the channel's defaults.
  std::vector<ChannelCapacity> channels;
  std::vector<QueueId> queues;

  friend bool operator==(const EngineerConfig&, const EngineerConfig&) = default;
};

}  // namespace omniroute

#endif  // OMNIROUTE_ENGINEER_H_
