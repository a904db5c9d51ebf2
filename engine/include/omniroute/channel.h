// Channels are data, not types.
//
// A channel (voice, WeChat, app chat, ...) is described by a `ChannelSpec`: how much of an
// engineer's capacity budget one session on it takes, and how many such sessions an engineer
// may hold at once by default. The engine knows the common channels out of the box
// (`DefaultChannels()`); an operator adds a new one with the `UpsertChannel` command, and
// nothing in the matcher changes.
//
//   ChannelSpec video{.id = ChannelId("video"), .cost = 60, .default_max = 1};
//   engine.Apply(UpsertChannel{video}, now, &events);

#ifndef OMNIROUTE_CHANNEL_H_
#define OMNIROUTE_CHANNEL_H_

#include <vector>

#include "omniroute/ids.h"

namespace omniroute {

// The capacity budget of an engineer unless configured otherwise. With the default channel
// table a voice call takes the whole budget and a chat a third of it.
inline constexpr int kDefaultCapacityBudget = 60;

struct ChannelSpec {
  ChannelId id;
  // Budget units one session on this channel takes from an engineer, 0..budget. Zero means
  // the channel uses no engineer capacity (only the per-channel maximum limits it).
  int cost = 20;
  // How many sessions of this channel an engineer may hold at once when the engineer's own
  // configuration does not say; 0 means engineers handle it only when configured to.
  int default_max = 3;
  // Sessions on this channel start with the robot and wait in `BOT` until escalated.
  bool bot_first = false;

  friend bool operator==(const ChannelSpec&, const ChannelSpec&) = default;
};

// voice, wechat, app, webchat, weibo, email, robot_chat, iot_alert, onsite_visit.
std::vector<ChannelSpec> DefaultChannels();

}  // namespace omniroute

#endif  // OMNIROUTE_CHANNEL_H_
