// Engine snapshots: SaveSnapshot / LoadSnapshot.
//
// (a) A hand-built centre that uses every feature (direct and grab offers with claims,
//     declined lists, VIP / preferred / relaxation stages, transfers, bot sessions, wrap-up
//     and presence wrap-up timers, round-robin counters, removed queues and engineers,
//     purged sessions and reused slots, custom options) round-trips after every step: the
//     loaded engine dumps the same state, re-saves the same bytes, and from then on emits the
//     same events as the original for the same commands.
// (b) Random command sequences (tests/engine/support/command_gen.h), snapshotted at a random
//     step and loaded into another engine (fresh, or one holding unrelated state, or one
//     routing with the reference matcher): both then run the rest of the sequence in lockstep
//     and must agree on every status, every event and the final digest.
// (c) Damaged input: every truncation, trailing bytes, bad magic and version, random byte
//     flips, and (resealed with a valid checksum, to reach the structural checks) random
//     body mutations and body truncations. An error leaves the engine exactly as it was; an
//     accepted mutation must leave an engine that still works. Nothing may crash (CI runs
//     this under ASan/UBSan).
// (d) Format version 1: a snapshot the previous release wrote (snapshot_v1_golden.h, the
//     centre of (a) after Build()) loads into the state Build() gives now (but for the
//     assignment times version 1 did not keep), saves as version 2, and behaves the same
//     from then on. The features version 2 added (customer
//     rule conditions and minimum tiers, appointments, callbacks, rank changes, assignment
//     times) round-trip after every step of a centre that uses them.
//
// Environment: OMNIROUTE_SNAPSHOT_SEQUENCES (default 300) random sequences in (b).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/support/command_gen.h"
#include "engine/support/reference_matcher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"
#include "omniroute/event.h"
#include "snapshot.h"
#include "snapshot_v1_golden.h"
#include "state.h"

namespace omniroute {
namespace {

using testing::CommandGenerator;
using testing::Step;

absl::Time T0() { return absl::FromUnixSeconds(1'700'000'000); }

std::string Render(const std::vector<Event>& events) {
  std::string out;
  for (const Event& e : events) absl::StrAppend(&out, e.ToString(), "\n");
  return out;
}

// ---------------------------------------------------------------------------------------
// (a) The hand-built centre.

struct Recorded {
  absl::Time at;
  std::optional<Command> command;  // nullopt: Advance(at)
};

EngineOptions CentreOptions() {
  EngineOptions o;
  o.missed_offers_limit = 2;
  o.session_retention = absl::Seconds(20);
  return o;
}

// Drives one engine through a scenario, recording every step so that it can be replayed.
class Centre {
 public:
  Centre() : engine_(CentreOptions()) {}

  Engine& engine() { return engine_; }
  const std::vector<Recorded>& steps() const { return steps_; }

  void At(int seconds) { now_ = T0() + absl::Seconds(seconds); }
  void Do(const Command& c) {
    std::vector<Event> events;
    absl::Status s = engine_.Apply(c, now_, &events);
    EXPECT_TRUE(s.ok()) << CommandName(c) << ": " << s << "\n" << Render(events);
    steps_.push_back({now_, c});
  }
  void Advance(int seconds) {
    At(seconds);
    std::vector<Event> events;
    engine_.Advance(now_, &events);
    steps_.push_back({now_, std::nullopt});
  }
  SessionInfo Sess(uint64_t id) {
    std::optional<SessionInfo> s = engine_.GetSession(SessionId(id));
    EXPECT_TRUE(s.has_value()) << "session " << id;
    return s.value_or(SessionInfo{});
  }
  EngineerId Holder(uint64_t id) { return Sess(id).engineer; }

  void Build() {
    At(0);
    Do(UpsertChannel{ChannelSpec{ChannelId("video"), 60, 0, false}});
    Do(UpsertQueue{Q("backup")});
    QueueConfig direct = Q("direct");
    direct.requirements = {{SkillId("repair"), 4}};
    direct.relaxation = {{absl::Seconds(10), RelaxAction::kLowerLevel, SkillId(), 2},
                         {absl::Seconds(40), RelaxAction::kDropSkill, SkillId("special"), 1},
                         {absl::Seconds(90), RelaxAction::kAnyEngineer, SkillId(), 1}};
    direct.overflow_after = absl::Minutes(5);
    direct.overflow_queue = QueueId("backup");
    direct.tag_rules = {
        {.tag = "risk", .priority_boost = 5, .requirement = {SkillId("lang.zh"), 3}}};
    direct.channel_limits = {{ChannelId("voice"), 10}};
    direct.vip_min_level = 1;
    direct.vip_min_tier = Tier::kElite;
    direct.ageing_interval = absl::Seconds(20);
    direct.service_level_goal = 0.9;
    direct.display_name = "Repairs";
    Do(UpsertQueue{direct});
    QueueConfig grab = Q("grab");
    grab.delivery = DeliveryMode::kGrab;
    grab.strategy = "best_rated";
    grab.grab_fanout = 3;
    grab.grab_window = absl::Seconds(10);
    Do(UpsertQueue{grab});
    QueueConfig rr = Q("rr");
    rr.strategy = "round_robin";
    rr.wrap_up = absl::ZeroDuration();
    Do(UpsertQueue{rr});
    QueueConfig spare = Q("spare");
    spare.strategy = "most_spare";
    spare.wrap_up = absl::Seconds(30);
    Do(UpsertQueue{spare});
    Do(UpsertQueue{Q("temp")});

    Do(UpsertEngineer{E("a", {"direct", "rr"}, {{SkillId("repair"), 5}, {SkillId("lang.zh"), 3}},
                        Tier::kMaster, 10)});
    Do(UpsertEngineer{E("b", {"direct", "grab", "rr"}, {{SkillId("repair"), 2}}, Tier::kCore, 5)});
    EngineerConfig c = E("c", {"grab", "spare"}, {}, Tier::kElite, 20);
    c.channels = {{ChannelId("wechat"), 3, -1}, {ChannelId("voice"), 1, -1},
                  {ChannelId("video"), 1, 30}};
    Do(UpsertEngineer{c});
    Do(UpsertEngineer{E("d", {"grab"}, {}, Tier::kExpert, 50)});
    Do(UpsertEngineer{E("gone", {"temp"}, {}, Tier::kRookie, 0)});
    Do(UpsertEngineer{E("w", {"rr"}, {}, Tier::kRookie, 0)});
    Do(RemoveEngineer{EngineerId("gone")});
    Do(RemoveQueue{QueueId("temp")});
    for (const char* e : {"a", "b", "c", "d", "w"}) Do(Presence(e, Presence::kAvailable));
    Do(Presence("w", Presence::kNotReady, "lunch"));

    // Round robin between a and b; session 1 completes at once (no wrap-up) and is purged
    // 20 s later, leaving a free slot.
    At(1);
    Do(Create(1, "rr", "wechat"));
    Do(AcceptOffer{SessionId(1), Holder(1)});
    Do(CompleteSession{SessionId(1), Holder(1)});
    Do(Create(2, "rr", "wechat"));
    Do(AcceptOffer{SessionId(2), Holder(2)});

    // Direct queue: a direct offer to a, rejected (declined list), offered again to a as
    // the declined fallback.
    At(2);
    Do(Create(10, "direct", "wechat"));
    Do(RejectOffer{SessionId(10), EngineerId("a"), "busy"});

    // A VIP, risk-tagged voice call preferring d (who does not serve the queue): it waits
    // in the preferred stage, with the tag rule's requirement and boost.
    CreateSession vip = Create(11, "direct", "voice");
    vip.customer.id = CustomerId("cust-11");
    vip.customer.vip_level = 2;
    vip.customer.tags = {"risk", "gold"};
    vip.customer.language = "zh";
    vip.customer.preferred_engineers = {EngineerId("d")};
    vip.customer.last_engineer = EngineerId("b");
    vip.attributes = {{"order", "A-17"}, {"note", "second call"}};
    vip.intent = "repair.broken";
    vip.priority = 7;
    Do(vip);
    // A session nobody can take until its requirements relax.
    CreateSession special = Create(12, "direct", "wechat");
    special.requirements = {{SkillId("special"), 5}};
    Do(special);

    // Grab mode: c and d (and b) see session 13; d claims.
    At(3);
    Do(Create(13, "grab", "wechat"));
    Do(ClaimOffer{SessionId(13), EngineerId("d")});

    // Most-spare queue: c takes 14, completes, and is in wrap-up.
    Do(Create(14, "spare", "wechat"));
    Do(AcceptOffer{SessionId(14), EngineerId("c")});
    Do(CompleteSession{SessionId(14), EngineerId("c")});

    // A bot session, and one escalated from the bot to the direct queue.
    CreateSession bot = Create(16, "rr", "robot_chat");
    Do(bot);
    CreateSession bot2 = Create(17, "rr", "wechat");
    bot2.start_in_bot = true;
    Do(bot2);
    EscalateSession esc;
    esc.session = SessionId(17);
    esc.queue = QueueId("direct");
    esc.summary = "wants a human";
    esc.intent = "repair.question";
    esc.requirements = {{SkillId("special"), 3}};
    esc.priority_boost = 3;
    Do(esc);

    // Transfer session 2 to a (transfer-target stage).
    At(4);
    TransferSession t;
    t.session = SessionId(2);
    t.queue = QueueId("direct");
    t.engineer = EngineerId("d");
    t.engineer_timeout = absl::Seconds(25);
    t.reason = "specialist";
    Do(t);

    // A presence wrap-up timer; a cancelled session (purge timer).
    Do(Presence("w", Presence::kWrapUp, "", absl::Minutes(2)));
    Do(Create(18, "backup", "email"));
    Do(CancelSession{SessionId(18), false, "duplicate"});

    // Relaxation step 1 comes into force for 12 and 17.
    Advance(15);
    // Reconfigure a queue with waiting sessions.
    QueueConfig direct2 = direct;
    direct2.ageing_interval = absl::Seconds(30);
    direct2.preferred_timeout = absl::Seconds(40);
    At(16);
    Do(UpsertQueue{direct2});
    // Session 1 is purged (a free slot), and 19 reuses it.
    Advance(22);
    At(23);
    Do(Create(19, "rr", "app"));
    // A grab offer still open at the end, with a claim.
    Do(Create(20, "grab", "wechat"));
    Do(ClaimOffer{SessionId(20), EngineerId("d")});
  }

  // After Build(): everything snapshot format 2 added.
  void BuildNewFeatures() {
    At(30);
    QueueConfig rules = Q("rules");
    rules.tag_rules = {{.name = "VIP English",
                        .min_vip_level = 1,
                        .language = "en",
                        .priority_boost = 3},
                       {.tag = "risk",
                        .requirement = {SkillId("lang.zh"), 1},
                        .min_tier = Tier::kMaster}};
    rules.appointment_priority = 600;
    rules.vip_timeout = absl::ZeroDuration();
    Do(UpsertQueue{rules});
    Do(UpsertEngineer{E("r1", {"rules"}, {{SkillId("lang.zh"), 2}}, Tier::kCore, 5)});
    Do(Presence("r1", Presence::kAvailable));
    // A risky English VIP: masters only, and r1 is not one.
    CreateSession risky = Create(30, "rules", "wechat");
    risky.customer.tags = {"risk"};
    risky.customer.vip_level = 1;
    risky.customer.language = "en";
    Do(risky);
    // A booking still to come (SCHEDULED), and one whose window is open (r1 takes it).
    CreateSession later = Create(31, "rules", "voice");
    later.window_start = now_ + absl::Seconds(60);
    later.window_end = now_ + absl::Hours(1);
    Do(later);
    CreateSession open = Create(32, "rules", "email");
    open.window_start = now_ - absl::Seconds(10);
    open.window_end = now_ + absl::Minutes(10) + absl::Nanoseconds(1) / 4;
    Do(open);
    Do(AcceptOffer{SessionId(32), EngineerId("r1")});
    // A waiting callback.
    Do(Create(33, "backup", "voice"));
    Do(RequestCallback{SessionId(33), "+86 (10) 5555-0100"});
    // Rank changes.
    At(31);
    Do(SetEngineerRank{EngineerId("d"), Tier::kMaster, 60, "promoted"});
    Do(SetEngineerRank{EngineerId("r1"), Tier::kElite, 6, ""});
  }

 private:
  static QueueConfig Q(const char* id) {
    QueueConfig q;
    q.id = QueueId(id);
    return q;
  }
  static EngineerConfig E(const char* id, std::vector<const char*> queues,
                          std::vector<SkillLevel> skills, Tier tier, int64_t score) {
    EngineerConfig e;
    e.id = EngineerId(id);
    e.display_name = absl::StrCat("Engineer ", id);
    for (const char* q : queues) e.queues.push_back(QueueId(q));
    e.skills = std::move(skills);
    e.tier = tier;
    e.score = score;
    return e;
  }
  static SetPresence Presence(const char* e, omniroute::Presence p, std::string reason = "",
                              absl::Duration d = absl::ZeroDuration()) {
    SetPresence s;
    s.engineer = EngineerId(e);
    s.presence = p;
    s.reason = std::move(reason);
    s.duration = d;
    return s;
  }
  static CreateSession Create(uint64_t id, const char* queue, const char* channel) {
    CreateSession c;
    c.id = SessionId(id);
    c.queue = QueueId(queue);
    c.channel = ChannelId(channel);
    return c;
  }

  Engine engine_;
  absl::Time now_ = T0();
  std::vector<Recorded> steps_;
};

// The commands a continuation runs on both engines: every kind, on the centre's sessions.
std::vector<Recorded> Continuation(absl::Time from) {
  std::vector<Recorded> out;
  auto at = [&](int s) { return from + absl::Seconds(s); };
  auto sp = [](const char* e, Presence p) {
    SetPresence s;
    s.engineer = EngineerId(e);
    s.presence = p;
    return s;
  };
  CreateSession c;
  c.id = SessionId();  // the engine picks the id: next_session_id must survive
  c.queue = QueueId("direct");
  c.channel = ChannelId("wechat");
  out.push_back({at(1), Command(c)});
  out.push_back({at(1), Command(ClaimOffer{SessionId(20), EngineerId("c")})});
  out.push_back({at(2), Command(sp("b", Presence::kAvailable))});
  out.push_back({at(2), Command(AcceptOffer{SessionId(10), EngineerId("a")})});
  out.push_back({at(3), Command(EndWrapUp{SessionId(14), EngineerId("c")})});
  out.push_back({at(5), std::nullopt});
  out.push_back({at(30), std::nullopt});
  out.push_back({at(45), Command(sp("d", Presence::kOffline))});
  c.queue = QueueId("grab");
  out.push_back({at(50), Command(c)});
  out.push_back({at(61), std::nullopt});
  out.push_back({at(200), std::nullopt});
  out.push_back({at(400), std::nullopt});
  out.push_back({at(3600), std::nullopt});
  return out;
}

// What a continuation runs after BuildNewFeatures(): the window opens, r1 is promoted to
// master (and takes the risky session), the callback is answered.
std::vector<Recorded> NewFeaturesContinuation(absl::Time from) {
  std::vector<Recorded> out = Continuation(from);
  auto at = [&](int s) { return from + absl::Seconds(s); };
  out.push_back({at(3601), Command(SetEngineerRank{EngineerId("r1"), Tier::kMaster, 9, "up"})});
  out.push_back({at(3602), Command(CompleteSession{SessionId(32), EngineerId("r1")})});
  out.push_back({at(3603), Command(RequestCallback{SessionId(31), "12345"})});
  out.push_back({at(3604), Command(CancelSession{SessionId(33), true, "gone"})});
  out.push_back({at(7200), std::nullopt});
  return out;
}

// Applies `step` to `engine`, returning the status rendered and the events.
std::string RunRecorded(Engine& engine, const Recorded& step) {
  std::vector<Event> events;
  std::string out;
  if (step.command) {
    absl::Status s = engine.Apply(*step.command, step.at, &events);
    out = absl::StrCat(CommandName(*step.command), " -> ", s.ToString(), "\n");
  } else {
    engine.Advance(step.at, &events);
    out = "Advance\n";
  }
  return out + Render(events);
}

// Saves `engine`, loads the bytes into `into` and checks that the state came across whole.
void ExpectRoundTrip(const Engine& engine, Engine& into) {
  const std::string bytes = engine.SaveSnapshot();
  ASSERT_TRUE(into.LoadSnapshot(bytes).ok()) << into.LoadSnapshot(bytes);
  EXPECT_EQ(into.DumpState(), engine.DumpState());
  EXPECT_EQ(into.StateDigest(), engine.StateDigest());
  EXPECT_EQ(into.NextDeadline(), engine.NextDeadline());
  EXPECT_EQ(into.now(), engine.now());
  EXPECT_TRUE(into.SaveSnapshot() == bytes) << "re-saving gives different bytes";
}

TEST(SnapshotTest, EmptyEngineRoundTrips) {
  Engine a;
  Engine b(CentreOptions());
  ExpectRoundTrip(a, b);
}

TEST(SnapshotTest, CentreReachesEveryFeature) {
  Centre centre;
  centre.Build();
  Engine& e = centre.engine();
  EXPECT_EQ(centre.Sess(10).state, SessionState::kOffered);
  EXPECT_FALSE(centre.Sess(10).declined_by.empty());
  EXPECT_EQ(centre.Sess(11).state, SessionState::kQueued);
  EXPECT_NE(centre.Sess(11).stage, RoutingStage::kQueue);
  EXPECT_EQ(centre.Sess(12).state, SessionState::kQueued);
  EXPECT_GT(centre.Sess(12).relaxation_step, 0);
  EXPECT_EQ(centre.Sess(13).state, SessionState::kAssigned);  // won by its claimant
  EXPECT_EQ(centre.Sess(20).state, SessionState::kOffered);
  EXPECT_TRUE(centre.Sess(20).engineer.empty());  // grab
  EXPECT_EQ(centre.Sess(14).state, SessionState::kWrapUp);
  EXPECT_EQ(centre.Sess(16).state, SessionState::kBot);
  EXPECT_EQ(centre.Sess(18).state, SessionState::kCancelled);
  EXPECT_FALSE(e.GetSession(SessionId(1)).has_value());  // purged
  EXPECT_EQ(e.GetEngineer(EngineerId("w"))->presence, Presence::kWrapUp);
  EXPECT_FALSE(e.GetQueue(QueueId("temp")).has_value());
  EXPECT_FALSE(e.GetEngineer(EngineerId("gone")).has_value());
  const std::string dump = e.DumpState();
  EXPECT_NE(dump.find("transfer=1/"), std::string::npos) << dump;
  EXPECT_NE(dump.find("claims=3#"), std::string::npos) << dump;  // d (index 3) claimed
  EXPECT_NE(dump.find("presence_end"), std::string::npos) << dump;
  EXPECT_NE(dump.find("wrap_up_end"), std::string::npos) << dump;
  EXPECT_NE(dump.find("purge"), std::string::npos) << dump;
  EXPECT_NE(dump.find("offer_expiry"), std::string::npos) << dump;
  EXPECT_NE(dump.find("grab_window"), std::string::npos) << dump;
  EXPECT_NE(dump.find("routing"), std::string::npos) << dump;
  const size_t rr = dump.find("queue rr ");  // round robin: the queue counts its assignments
  ASSERT_NE(rr, std::string::npos);
  EXPECT_EQ(dump.substr(rr, dump.find('\n', rr) - rr).find("counter=0"), std::string::npos)
      << dump;
}

TEST(SnapshotTest, CentreRoundTripsAfterEveryStepAndBehavesTheSame) {
  Centre centre;
  centre.Build();
  const std::vector<Recorded>& steps = centre.steps();
  const std::vector<Recorded> tail = Continuation(steps.back().at);
  for (size_t k = 0; k <= steps.size(); ++k) {
    SCOPED_TRACE(absl::StrCat("snapshot after step ", k));
    Engine original(CentreOptions());
    for (size_t i = 0; i < k; ++i) RunRecorded(original, steps[i]);
    Engine loaded;  // default options: the snapshot brings the centre's
    ExpectRoundTrip(original, loaded);
    if (::testing::Test::HasFailure()) return;
    for (size_t i = k; i < steps.size(); ++i) {
      ASSERT_EQ(RunRecorded(loaded, steps[i]), RunRecorded(original, steps[i])) << "step " << i;
    }
    for (const Recorded& step : tail) {
      ASSERT_EQ(RunRecorded(loaded, step), RunRecorded(original, step));
      ASSERT_EQ(loaded.StateDigest(), original.StateDigest());
    }
    EXPECT_EQ(loaded.DumpState(), original.DumpState());
  }
}

TEST(SnapshotTest, LoadReplacesExistingStateAndOptions) {
  Centre centre;
  centre.Build();
  // An engine with unrelated state and other options.
  Engine other;
  std::vector<Event> events;
  QueueConfig q;
  q.id = QueueId("elsewhere");
  ASSERT_TRUE(other.Apply(UpsertQueue{q}, T0() + absl::Hours(5), &events).ok());
  ExpectRoundTrip(centre.engine(), other);
  EXPECT_FALSE(other.GetQueue(QueueId("elsewhere")).has_value());
  // The centre's 20 s retention came with it: a session finished now is gone 20 s later.
  const absl::Time now = other.now();
  CancelSession cancel{SessionId(12), true, ""};
  ASSERT_TRUE(other.Apply(cancel, now, &events).ok());
  other.Advance(now + absl::Seconds(21), &events);
  EXPECT_FALSE(other.GetSession(SessionId(12)).has_value());
}

TEST(SnapshotTest, ReferenceMatcherEngineLoadsToo) {
  Centre centre;
  centre.Build();
  Engine reference(EngineOptions{}, testing::MakeReferenceMatcher());
  ExpectRoundTrip(centre.engine(), reference);
  for (const Recorded& step : Continuation(centre.steps().back().at)) {
    ASSERT_EQ(RunRecorded(reference, step), RunRecorded(centre.engine(), step));
  }
}

TEST(SnapshotTest, NewFeaturesReachTheirStates) {
  Centre centre;
  centre.Build();
  centre.BuildNewFeatures();
  const SessionInfo risky = centre.Sess(30);
  EXPECT_EQ(risky.state, SessionState::kQueued);
  EXPECT_EQ(risky.min_tier, Tier::kMaster);
  EXPECT_THAT(risky.rules_applied, ::testing::ElementsAre("VIP English", "tag=risk"));
  EXPECT_EQ(centre.Sess(31).state, SessionState::kScheduled);
  EXPECT_EQ(centre.Sess(32).state, SessionState::kAssigned);
  EXPECT_TRUE(centre.Sess(32).assigned_at.has_value());
  EXPECT_EQ(centre.Sess(32).priority, 600);
  EXPECT_EQ(centre.Sess(33).callback_number, "+86 (10) 5555-0100");
  EXPECT_EQ(centre.engine().GetEngineer(EngineerId("d"))->config.tier, Tier::kMaster);
  EXPECT_NE(centre.engine().DumpState().find("window_open"), std::string::npos);
}

TEST(SnapshotTest, NewFeaturesRoundTripAfterEveryStepAndBehaveTheSame) {
  Centre centre;
  centre.Build();
  const size_t first_new = centre.steps().size();
  centre.BuildNewFeatures();
  const std::vector<Recorded>& steps = centre.steps();
  const std::vector<Recorded> tail = NewFeaturesContinuation(steps.back().at);
  for (size_t k = first_new; k <= steps.size(); ++k) {
    SCOPED_TRACE(absl::StrCat("snapshot after step ", k));
    Engine original(CentreOptions());
    for (size_t i = 0; i < k; ++i) RunRecorded(original, steps[i]);
    Engine loaded(EngineOptions{}, testing::MakeReferenceMatcher());
    ExpectRoundTrip(original, loaded);
    if (::testing::Test::HasFailure()) return;
    for (uint64_t id : {30, 31, 32, 33}) {
      std::optional<SessionInfo> a = original.GetSession(SessionId(id));
      std::optional<SessionInfo> b = loaded.GetSession(SessionId(id));
      ASSERT_EQ(a.has_value(), b.has_value()) << id;
      if (!a) continue;
      EXPECT_EQ(a->min_tier, b->min_tier) << id;
      EXPECT_EQ(a->rules_applied, b->rules_applied) << id;
      EXPECT_EQ(a->window_start, b->window_start) << id;
      EXPECT_EQ(a->window_end, b->window_end) << id;
      EXPECT_EQ(a->assigned_at, b->assigned_at) << id;
      EXPECT_EQ(a->callback_number, b->callback_number) << id;
      EXPECT_EQ(a->state, b->state) << id;
    }
    for (size_t i = k; i < steps.size(); ++i) {
      ASSERT_EQ(RunRecorded(loaded, steps[i]), RunRecorded(original, steps[i])) << "step " << i;
    }
    for (const Recorded& step : tail) {
      ASSERT_EQ(RunRecorded(loaded, step), RunRecorded(original, step));
      ASSERT_EQ(loaded.StateDigest(), original.StateDigest());
    }
    EXPECT_EQ(loaded.DumpState(), original.DumpState());
  }
}

// DumpState without the assignment times, which version 1 did not store.
std::string WithoutAssignmentTimes(const std::string& dump) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t at = dump.find(" assigned_at=", pos);
    if (at == std::string::npos) break;
    out.append(dump, pos, at - pos);
    pos = dump.find(' ', at + 1);
    if (pos == std::string::npos) pos = dump.size();
  }
  out.append(dump, pos, std::string::npos);
  return out;
}

TEST(SnapshotTest, ReadsFormatVersion1) {
  const std::string bytes = absl::HexStringToBytes(kSnapshotV1CentreHex);
  ASSERT_EQ(bytes.size(), 2397u);
  ASSERT_EQ(bytes.substr(0, 10), std::string("ORSNAP\x01\0\0\0", 10));
  Engine loaded;
  absl::Status status = loaded.LoadSnapshot(bytes);
  ASSERT_TRUE(status.ok()) << status;
  // The same centre, built by this release: the same state, except for the assignment times
  // version 1 did not have.
  Centre centre;
  centre.Build();
  Engine& built = centre.engine();
  EXPECT_EQ(WithoutAssignmentTimes(loaded.DumpState()), WithoutAssignmentTimes(built.DumpState()));
  EXPECT_NE(WithoutAssignmentTimes(built.DumpState()), built.DumpState());  // they were there
  EXPECT_EQ(loaded.NextDeadline(), built.NextDeadline());
  EXPECT_EQ(loaded.options().session_retention, CentreOptions().session_retention);
  EXPECT_EQ(loaded.GetSession(SessionId(13))->state, SessionState::kAssigned);
  EXPECT_EQ(loaded.GetSession(SessionId(13))->assigned_at, std::nullopt);  // unknown
  EXPECT_TRUE(built.GetSession(SessionId(13))->assigned_at.has_value());
  // Version 1 stored no labels of the rules applied: they are recomputed.
  EXPECT_THAT(loaded.GetSession(SessionId(11))->rules_applied, ::testing::ElementsAre("tag=risk"));
  EXPECT_EQ(loaded.GetSession(SessionId(11))->min_tier, std::nullopt);
  EXPECT_EQ(loaded.GetQueue(QueueId("direct"))->config.appointment_priority, 800);
  // Saved again, it is a version 2 snapshot of the same state.
  const std::string again = loaded.SaveSnapshot();
  EXPECT_EQ(again[6], 2);
  Engine reloaded;
  ExpectRoundTrip(loaded, reloaded);
  // And it behaves the same from then on.
  for (const Recorded& step : NewFeaturesContinuation(centre.steps().back().at)) {
    ASSERT_EQ(RunRecorded(loaded, step), RunRecorded(built, step));
  }
  EXPECT_EQ(WithoutAssignmentTimes(loaded.DumpState()), WithoutAssignmentTimes(built.DumpState()));
}

// ---------------------------------------------------------------------------------------
// (b) Random sequences.

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoll(value, nullptr, 10);
}

std::string RunStep(Engine& engine, const Step& step) {
  std::vector<Event> events;
  absl::Status s = engine.Apply(step.command, step.at, &events);
  return absl::StrCat(testing::DescribeStep(step), " -> ", s.ToString(), "\n", Render(events));
}

TEST(SnapshotTest, RandomSequencesContinueIdenticallyAfterLoad) {
  const int64_t sequences = EnvInt("OMNIROUTE_SNAPSHOT_SEQUENCES", 300);
  for (int64_t seed = 1; seed <= sequences; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    CommandGenerator generator(static_cast<uint64_t>(seed));
    std::vector<Step> steps;
    {
      Engine recorder(generator.engine_options());
      while (std::optional<Step> step = generator.Next(recorder)) {
        std::vector<Event> events;
        (void)recorder.Apply(step->command, step->at, &events);
        steps.push_back(*std::move(step));
      }
    }
    std::mt19937_64 rng(static_cast<uint64_t>(seed) * 7919);
    const size_t cut = static_cast<size_t>(rng() % (steps.size() + 1));

    Engine original(generator.engine_options());
    for (size_t i = 0; i < cut; ++i) RunStep(original, steps[i]);

    // Where the snapshot goes: a fresh engine, one with other state, or the reference.
    std::unique_ptr<Engine> loaded;
    switch (seed % 3) {
      case 0:
        loaded = std::make_unique<Engine>();
        break;
      case 1: {
        loaded = std::make_unique<Engine>();
        CommandGenerator other(static_cast<uint64_t>(seed) + 100'000);
        for (int i = 0; i < 30; ++i) {
          std::optional<Step> step = other.Next(*loaded);
          if (!step) break;
          RunStep(*loaded, *step);
        }
        break;
      }
      default:
        loaded = std::make_unique<Engine>(EngineOptions{}, testing::MakeReferenceMatcher());
        break;
    }
    ExpectRoundTrip(original, *loaded);
    if (::testing::Test::HasFailure()) return;
    for (size_t i = cut; i < steps.size(); ++i) {
      const std::string want = RunStep(original, steps[i]);
      const std::string got = RunStep(*loaded, steps[i]);
      ASSERT_EQ(got, want) << "step " << i << " of " << steps.size() << ", cut at " << cut;
    }
    // Every timer left, fired on both.
    const absl::Time end = original.now() + absl::Hours(2);
    std::vector<Event> a;
    std::vector<Event> b;
    original.Advance(end, &a);
    loaded->Advance(end, &b);
    ASSERT_EQ(Render(b), Render(a));
    ASSERT_EQ(loaded->StateDigest(), original.StateDigest());
  }
}

// ---------------------------------------------------------------------------------------
// (c) Damaged input.

// A populated engine whose state must survive every failed load.
class Damage : public ::testing::Test {
 protected:
  void SetUp() override {
    Centre centre;
    centre.Build();
    good_ = centre.engine().SaveSnapshot();
    std::vector<Event> events;
    QueueConfig q;
    q.id = QueueId("victim");
    ASSERT_TRUE(victim_.Apply(UpsertQueue{q}, T0(), &events).ok());
    CreateSession c;
    c.queue = q.id;
    c.channel = ChannelId("voice");
    ASSERT_TRUE(victim_.Apply(c, T0(), &events).ok());
    dump_ = victim_.DumpState();
    digest_ = victim_.StateDigest();
  }

  // Loads `bytes` into the victim, which must refuse them and stay as it was.
  absl::Status ExpectRefused(const std::string& bytes) {
    absl::Status s = victim_.LoadSnapshot(bytes);
    EXPECT_FALSE(s.ok()) << "accepted " << bytes.size() << " bytes";
    EXPECT_TRUE(s.code() == absl::StatusCode::kInvalidArgument ||
                s.code() == absl::StatusCode::kDataLoss)
        << s;
    EXPECT_EQ(victim_.StateDigest(), digest_) << s;
    return s;
  }

  // Loads resealed (checksummed) bytes: refused -> unchanged; accepted -> a working engine.
  void LoadAnyway(const std::string& bytes) {
    Engine e;
    std::vector<Event> events;
    QueueConfig x;
    x.id = QueueId("x");
    ASSERT_TRUE(e.Apply(UpsertQueue{x}, T0(), &events).ok());
    const uint64_t before = e.StateDigest();
    absl::Status s = e.LoadSnapshot(bytes);
    if (!s.ok()) {
      EXPECT_EQ(e.StateDigest(), before) << s;
      EXPECT_TRUE(s.code() == absl::StatusCode::kInvalidArgument ||
                  s.code() == absl::StatusCode::kDataLoss)
          << s;
      return;
    }
    // Accepted: it must be a usable engine.
    (void)e.DumpState();
    for (const SessionId& id : e.ListSessions()) (void)e.GetSession(id);
    for (const EngineerId& id : e.ListEngineers()) (void)e.GetEngineer(id);
    for (const QueueId& id : e.ListQueues()) (void)e.GetQueue(id);
    e.Advance(e.now() + absl::Hours(1), &events);
    CreateSession c;
    c.queue = QueueId("direct");
    c.channel = ChannelId("wechat");
    (void)e.Apply(c, e.now(), &events);
    (void)e.SaveSnapshot();
  }

  Engine victim_;
  std::string good_;
  std::string dump_;
  uint64_t digest_ = 0;
};

TEST_F(Damage, EveryTruncationIsRefused) {
  for (size_t n = 0; n < good_.size(); ++n) {
    SCOPED_TRACE(absl::StrCat("first ", n, " bytes"));
    (void)ExpectRefused(good_.substr(0, n));
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(victim_.DumpState(), dump_);
}

TEST_F(Damage, TrailingBytesAreRefused) {
  absl::Status s = ExpectRefused(good_ + "x");
  EXPECT_NE(s.message().find("trailing"), std::string::npos) << s;
  (void)ExpectRefused(good_ + good_);
}

TEST_F(Damage, BadMagicAndVersionAreRefused) {
  std::string bad = good_;
  bad[0] = 'X';
  absl::Status s = ExpectRefused(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("magic"), std::string::npos) << s;
  bad = good_;
  bad[6] = 3;  // version 3: newer than this engine
  s = ExpectRefused(bad);
  EXPECT_NE(s.message().find("version 3"), std::string::npos) << s;
  bad[6] = 0;  // version 0: older than the oldest it reads
  s = ExpectRefused(bad);
  EXPECT_NE(s.message().find("version 0"), std::string::npos) << s;
  bad[6] = 1;  // version 1: read as such, and a version 2 body is not one
  (void)ExpectRefused(bad);
  (void)ExpectRefused("");
  (void)ExpectRefused("ORSNAP");
  (void)ExpectRefused(std::string("garbage that is long enough to hold a header"));
}

TEST_F(Damage, ByteFlipsAreCaughtByTheChecksum) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string bad = good_;
    const size_t pos = rng() % bad.size();
    bad[pos] = static_cast<char>(bad[pos] ^ static_cast<char>(1 + rng() % 255));
    (void)ExpectRefused(bad);
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(victim_.DumpState(), dump_);
}

TEST_F(Damage, ResealedBodyTruncationsAreRefused) {
  const size_t header = internal::kSnapshotHeaderSize;
  const size_t trailer = internal::kSnapshotTrailerSize;
  for (size_t n = header; n < good_.size() - trailer; ++n) {
    std::string bad = good_.substr(0, n) + std::string(trailer, '\0');
    internal::ResealSnapshot(&bad);
    (void)ExpectRefused(bad);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST_F(Damage, ResealedRandomMutationsNeverCrash) {
  std::mt19937_64 rng(7);
  const size_t header = internal::kSnapshotHeaderSize;
  const size_t body = good_.size() - header - internal::kSnapshotTrailerSize;
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = good_;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits; ++k) {
      const size_t pos = header + rng() % body;
      switch (rng() % 4) {
        case 0:  // flip bits
          bad[pos] = static_cast<char>(bad[pos] ^ static_cast<char>(1 + rng() % 255));
          break;
        case 1:  // a small number
          bad[pos] = static_cast<char>(rng() % 8);
          break;
        case 2:  // a huge varint byte
          bad[pos] = static_cast<char>(0xff);
          break;
        default:  // delete a byte
          bad.erase(pos, 1);
          break;
      }
    }
    internal::ResealSnapshot(&bad);
    Engine probe;
    if (probe.LoadSnapshot(bad).ok()) ++accepted;
    LoadAnyway(bad);
    if (::testing::Test::HasFailure()) return;
  }
  // Most mutations are caught; the ones accepted (a changed name or number) still work.
  EXPECT_LT(accepted, 3000);
}

TEST_F(Damage, StructuralErrorsNameWhatIsWrong) {
  // The strategy name kept beside the queue's configuration: the second "round_robin".
  std::string bad = good_;
  size_t pos = bad.find("round_robin");
  ASSERT_NE(pos, std::string::npos);
  pos = bad.find("round_robin", pos + 1);
  ASSERT_NE(pos, std::string::npos);
  bad.replace(pos, 11, "round_robix");
  internal::ResealSnapshot(&bad);
  absl::Status s = ExpectRefused(bad);
  EXPECT_NE(s.message().find("unknown strategy \"round_robix\""), std::string::npos) << s;

  // Edits of the decoded state, saved again.
  auto edited = [&](auto edit) {
    absl::StatusOr<std::unique_ptr<internal::State>> st = internal::ReadSnapshot(good_);
    EXPECT_TRUE(st.ok()) << st.status();
    if (!st.ok()) return std::string();
    edit(**st);
    return internal::WriteSnapshot(**st);
  };
  s = ExpectRefused(edited([](internal::State& st) { ++st.queues[1].queued; }));
  EXPECT_NE(s.message().find("counters"), std::string::npos) << s;
  s = ExpectRefused(edited([](internal::State& st) {
    st.ForEachSession([&](const internal::Session& x) {
      if (x.id == 12) st.session_slab[x.slot].queue = 99;
    });
  }));
  EXPECT_NE(s.message().find("queue index 99 out of range"), std::string::npos) << s;
  s = ExpectRefused(edited([](internal::State& st) { st.engineers[0].used_budget += 1; }));
  EXPECT_NE(s.message().find("used_budget"), std::string::npos) << s;
  s = ExpectRefused(edited([](internal::State& st) { st.engineers[2].sessions.insert(999); }));
  EXPECT_NE(s.message().find("held or offered"), std::string::npos) << s;
  s = ExpectRefused(edited([](internal::State& st) { st.free_slots.push_back(0); }));
  EXPECT_NE(s.message().find("free slot"), std::string::npos) << s;
  s = ExpectRefused(edited([](internal::State& st) {
    st.skill_names.push_back(st.skill_names.front());
  }));
  EXPECT_NE(s.message().find("listed twice"), std::string::npos) << s;
  s = ExpectRefused(edited([](internal::State& st) { st.queues[0].members.push_back(3); }));
  EXPECT_NE(s.message().find("member"), std::string::npos) << s;
  // An unchanged decode saves the same bytes.
  EXPECT_TRUE(edited([](internal::State&) {}) == good_);
}

TEST(SnapshotChecksum, Xxh64KnownValues) {
  EXPECT_EQ(internal::Xxh64(""), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(internal::Xxh64("abc"), 0x44BC2CF5AD770999ull);
}

}  // namespace
}  // namespace omniroute
