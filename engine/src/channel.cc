#include "omniroute/channel.h"

namespace omniroute {

std::vector<ChannelSpec> DefaultChannels() {
  // A call (and an on-site visit) takes an engineer whole; text channels a third; email a
  // sixth, since it is answered at the engineer's pace.
  return {
      {ChannelId("app"), 20, 3, false},
      {ChannelId("email"), 10, 6, false},
      {ChannelId("iot_alert"), 20, 3, false},
      {ChannelId("onsite_visit"), 60, 1, false},
      {ChannelId("robot_chat"), 20, 3, true},
      {ChannelId("voice"), 60, 1, false},
      {ChannelId("webchat"), 20, 3, false},
      {ChannelId("wechat"), 20, 3, false},
      {ChannelId("weibo"), 20, 3, false},
  };
}

}  // namespace omniroute
