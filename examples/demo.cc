// omniroute_demo: routes a small after-sales day on virtual time and prints every decision.
//
// Two queues (phone repair, and VIP care in grab mode), five engineers, sessions from voice,
// WeChat, the app and the robot chat. Run it and read the reasons: who got what, and why.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "omniroute/engine.h"

namespace {

using namespace omniroute;  // NOLINT: a demo reads better without prefixes

absl::Time t0 = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01 00:00 UTC
absl::Time now = t0;

void Show(const std::vector<Event>& events) {
  for (const Event& e : events) {
    std::printf("  +%5.1fs %s\n", absl::ToDoubleSeconds(e.at - t0), e.ToString().c_str());
  }
}

void Do(Engine& engine, const Command& c, absl::Duration later = absl::ZeroDuration()) {
  now += later;
  std::vector<Event> events;
  std::printf("%s\n", std::string(CommandName(c)).c_str());
  absl::Status s = engine.Apply(c, now, &events);
  Show(events);
  if (!s.ok()) std::printf("  refused: %s\n", s.ToString().c_str());
}

SessionId LastCreated(Engine& engine) { return engine.ListSessions().back(); }

}  // namespace

int main() {
  Engine engine;

  QueueConfig repair;
  repair.id = QueueId("repair");
  repair.display_name = "Phone repair";
  repair.requirements = {{SkillId("repair.phone"), 4}};
  repair.relaxation = {{absl::Seconds(30), RelaxAction::kLowerLevel, SkillId(), 2}};
  repair.preferred_timeout = absl::Seconds(20);
  Do(engine, UpsertQueue{repair});

  QueueConfig vip;
  vip.id = QueueId("vip-care");
  vip.strategy = "best_rated";
  vip.delivery = DeliveryMode::kGrab;
  vip.grab_fanout = 3;
  vip.grab_window = absl::Seconds(5);
  Do(engine, UpsertQueue{vip});

  struct Eng {
    const char* id;
    int level;
    Tier tier;
    int64_t score;
  };
  for (const Eng& e : {Eng{"li.na", 5, Tier::kMaster, 980}, Eng{"wang.wei", 4, Tier::kExpert, 870},
                       Eng{"zhang.min", 3, Tier::kCore, 600}, Eng{"chen.jie", 2, Tier::kRookie, 300},
                       Eng{"zhao.lei", 4, Tier::kElite, 760}}) {
    EngineerConfig cfg;
    cfg.id = EngineerId(e.id);
    cfg.skills = {{SkillId("repair.phone"), e.level}};
    cfg.tier = e.tier;
    cfg.score = e.score;
    cfg.queues = {QueueId("repair"), QueueId("vip-care")};
    Do(engine, UpsertEngineer{cfg});
    Do(engine, SetPresence{EngineerId(e.id), Presence::kAvailable, "", absl::ZeroDuration()});
  }

  // A phone call: needs repair.phone >= 4; the longest idle qualified engineer gets it.
  CreateSession call;
  call.channel = ChannelId("voice");
  call.queue = QueueId("repair");
  call.customer.id = CustomerId("cust-13800000001");
  Do(engine, call, absl::Seconds(1));
  const SessionId call_id = LastCreated(engine);
  Do(engine, AcceptOffer{call_id, EngineerId("li.na")}, absl::Seconds(2));

  // A WeChat chat from a customer whose favourite engineer is zhao.lei: offered to him first.
  CreateSession chat;
  chat.channel = ChannelId("wechat");
  chat.queue = QueueId("repair");
  chat.customer.id = CustomerId("wx-openid-8f3a");
  chat.customer.preferred_engineers = {EngineerId("zhao.lei")};
  Do(engine, chat, absl::Seconds(1));
  const SessionId chat_id = LastCreated(engine);
  Do(engine, AcceptOffer{chat_id, EngineerId("zhao.lei")}, absl::Seconds(2));

  // An app chat: the engineer offered it rejects, and the next in line gets it.
  CreateSession app;
  app.channel = ChannelId("app");
  app.queue = QueueId("repair");
  app.customer.id = CustomerId("app-user-7731");
  Do(engine, app, absl::Seconds(1));
  const SessionId app_id = LastCreated(engine);
  const std::string first = engine.GetSession(app_id)->engineer.value();
  Do(engine, RejectOffer{app_id, EngineerId(first), "going on a break"}, absl::Seconds(3));
  Do(engine, AcceptOffer{app_id, engine.GetSession(app_id)->engineer}, absl::Seconds(2));

  // The robot chat answers first; the VIP customer asks for a human. The queue is in grab
  // mode: the best-rated elite-or-better engineers see it, and the best ranked claimant wins.
  CreateSession bot;
  bot.channel = ChannelId("robot_chat");
  bot.queue = QueueId("vip-care");
  bot.customer.id = CustomerId("app-user-5521");
  bot.customer.vip_level = 3;
  Do(engine, bot, absl::Seconds(1));
  const SessionId bot_id = LastCreated(engine);
  Do(engine,
     EscalateSession{bot_id, "screen-flicker", "Customer tried a restart; flicker persists.",
                     QueueId(), {}, 10},
     absl::Seconds(20));
  const std::vector<EngineerId> offered_to = engine.GetSession(bot_id)->offered_to;
  for (const EngineerId& who : offered_to) {
    Do(engine, ClaimOffer{bot_id, who}, absl::Seconds(1));
  }

  Do(engine, CompleteSession{call_id, EngineerId("li.na")}, absl::Seconds(120));
  Do(engine, EndWrapUp{call_id, EngineerId("li.na")}, absl::Seconds(10));
  (void)chat_id;

  // A request that is refused changes nothing and says why.
  Do(engine, AcceptOffer{call_id, EngineerId("wang.wei")}, absl::Seconds(1));
  return 0;
}
