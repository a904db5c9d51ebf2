// Helpers for the engine's unit tests (validation_test, routing_test, lifecycle_test).
//
// Header-only. Everything goes through the public API: `omniroute::Engine`, `Apply`,
// `Advance`, `NextDeadline`, the `Get*` accessors and the events.
//
//   class MyTest : public omniroute::test::EngineTest {};
//   TEST_F(MyTest, Something) {
//     AddQueue(Queue("q"));
//     AddEngineer(Engineer("a", {"q"}));
//     SessionId s = Create(Session("q", "voice"));
//     EXPECT_EQ(Sess(s).state, SessionState::kOffered) << Log();
//   }

#ifndef OMNIROUTE_TESTS_ENGINE_TEST_UTIL_H_
#define OMNIROUTE_TESTS_ENGINE_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/channel.h"
#include "omniroute/command.h"
#include "omniroute/engine.h"
#include "omniroute/engineer.h"
#include "omniroute/event.h"
#include "omniroute/ids.h"
#include "omniroute/queue.h"
#include "omniroute/session.h"

namespace omniroute {

// Readable ids in gtest/gmock failure messages.
template <typename Tag>
void PrintTo(const StringId<Tag>& id, std::ostream* os) {
  *os << '"' << id.value() << '"';
}
inline void PrintTo(SessionId id, std::ostream* os) { *os << "session " << id.value(); }

}  // namespace omniroute

namespace omniroute::test {

// The tests' epoch.
inline absl::Time T0() { return absl::FromUnixSeconds(1'700'000'000); }

inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// One Event::ToString line per event, for failure messages.
inline std::string Dump(const std::vector<Event>& events) {
  std::string out = absl::StrCat("\n--- ", events.size(), " event(s) ---\n");
  for (const Event& e : events) absl::StrAppend(&out, e.ToString(), "\n");
  return out;
}

inline std::vector<Event> OfType(const std::vector<Event>& events, EventType type) {
  std::vector<Event> out;
  for (const Event& e : events) {
    if (e.type == type) out.push_back(e);
  }
  return out;
}

inline int Count(const std::vector<Event>& events, EventType type) {
  return static_cast<int>(OfType(events, type).size());
}

// The first event of `type` (for `session` / `engineer` when they are set).
inline std::optional<Event> FindEvent(const std::vector<Event>& events, EventType type,
                                      SessionId session = SessionId(),
                                      const EngineerId& engineer = EngineerId()) {
  for (const Event& e : events) {
    if (e.type != type) continue;
    if (!session.empty() && e.session != session) continue;
    if (!engineer.empty() && e.engineer != engineer) continue;
    return e;
  }
  return std::nullopt;
}

inline bool HasEvent(const std::vector<Event>& events, EventType type,
                     SessionId session = SessionId(),
                     const EngineerId& engineer = EngineerId()) {
  return FindEvent(events, type, session, engineer).has_value();
}

// Engineers named by events of `type` for `session`, in event order.
inline std::vector<std::string> EngineersOf(const std::vector<Event>& events, EventType type,
                                            SessionId session = SessionId()) {
  std::vector<std::string> out;
  for (const Event& e : events) {
    if (e.type == type && (session.empty() || e.session == session)) {
      out.push_back(e.engineer.value());
    }
  }
  return out;
}

// The engineers `session` was offered to in `events`.
inline std::vector<std::string> OffersOf(const std::vector<Event>& events, SessionId session) {
  return EngineersOf(events, EventType::kOfferCreated, session);
}

// Sessions named by events of `type`, in event order.
inline std::vector<uint64_t> SessionsOf(const std::vector<Event>& events, EventType type) {
  std::vector<uint64_t> out;
  for (const Event& e : events) {
    if (e.type == type) out.push_back(e.session.value());
  }
  return out;
}

inline std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

// ---- configuration builders ----------------------------------------------------------------

// A queue with the header defaults, except that the targeted stages are left as they are
// (they are skipped anyway for customers with no preferences and vip_level 0).
inline QueueConfig Queue(std::string id) {
  QueueConfig q;
  q.id = QueueId(std::move(id));
  return q;
}

inline EngineerConfig Engineer(std::string id, std::vector<std::string> queues,
                               std::vector<SkillLevel> skills = {}) {
  EngineerConfig e;
  e.id = EngineerId(std::move(id));
  for (std::string& q : queues) e.queues.push_back(QueueId(std::move(q)));
  e.skills = std::move(skills);
  return e;
}

inline SkillLevel Skill(std::string skill, int level) {
  return SkillLevel{SkillId(std::move(skill)), level};
}

inline Requirement Req(std::string skill, int level) {
  return Requirement{SkillId(std::move(skill)), level};
}

inline ChannelCapacity Cap(std::string channel, int max, int cost = -1) {
  return ChannelCapacity{ChannelId(std::move(channel)), max, cost};
}

inline CreateSession Session(std::string queue, std::string channel = "wechat",
                             uint64_t id = 0) {
  CreateSession c;
  c.id = SessionId(id);
  c.queue = QueueId(std::move(queue));
  c.channel = ChannelId(std::move(channel));
  return c;
}

// ---- the fixture ---------------------------------------------------------------------------

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(std::make_unique<Engine>()) {}

  // Starts over with a fresh engine (and clock at t0).
  void Reset(EngineOptions options = {}) {
    engine_ = std::make_unique<Engine>(std::move(options));
    now = t0;
    log_.clear();
  }

  // Starts over with `engine` (for instance one routing with the reference matcher).
  void Reset(std::unique_ptr<Engine> engine) {
    engine_ = std::move(engine);
    now = t0;
    log_.clear();
  }

  Engine& engine() { return *engine_; }
  const Engine& engine() const { return *engine_; }

  // The clock: commands are applied at `now`.
  const absl::Time t0 = T0();
  absl::Time now = T0();
  void At(absl::Duration since_t0) { now = t0 + since_t0; }
  absl::Time T(absl::Duration since_t0) const { return t0 + since_t0; }

  // Applies `cmd` at `now`; the status, events appended to the log.
  absl::Status ApplyStatus(const Command& cmd, std::vector<Event>* events = nullptr) {
    std::vector<Event> local;
    absl::Status s = engine_->Apply(cmd, now, &local);
    log_.insert(log_.end(), local.begin(), local.end());
    if (events != nullptr) events->insert(events->end(), local.begin(), local.end());
    return s;
  }

  // Applies `cmd` at `now`, expecting OK; returns the events (timer events first).
  std::vector<Event> ApplyOk(const Command& cmd) {
    std::vector<Event> events;
    absl::Status s = ApplyStatus(cmd, &events);
    EXPECT_TRUE(s.ok()) << CommandName(cmd) << " at +" << absl::FormatDuration(now - t0)
                        << ": " << s << Dump(events);
    return events;
  }
  std::vector<Event> ApplyOk(const Command& cmd, absl::Duration since_t0) {
    At(since_t0);
    return ApplyOk(cmd);
  }

  // Fires the timers due at or before t0 + `since_t0` and moves the clock there.
  std::vector<Event> AdvanceTo(absl::Duration since_t0) {
    At(since_t0);
    std::vector<Event> events;
    engine_->Advance(now, &events);
    log_.insert(log_.end(), events.begin(), events.end());
    return events;
  }

  // Every event seen by this fixture's helpers since the last Reset().
  const std::vector<Event>& log() const { return log_; }
  std::string Log() const { return Dump(log_); }

  // ---- shorthands --------------------------------------------------------------------------

  std::vector<Event> AddQueue(const QueueConfig& q) { return ApplyOk(UpsertQueue{q}); }

  // Creates the engineer and, if `available`, makes it AVAILABLE at `now`.
  std::vector<Event> AddEngineer(const EngineerConfig& e, bool available = true) {
    std::vector<Event> events = ApplyOk(UpsertEngineer{e});
    if (available) {
      std::vector<Event> more = SetAvailable(e.id.value());
      events.insert(events.end(), more.begin(), more.end());
    }
    return events;
  }

  std::vector<Event> SetPresenceOf(const std::string& engineer, Presence presence,
                                   std::string reason = "",
                                   absl::Duration duration = absl::ZeroDuration()) {
    SetPresence p;
    p.engineer = EngineerId(engineer);
    p.presence = presence;
    p.reason = std::move(reason);
    p.duration = duration;
    return ApplyOk(p);
  }
  std::vector<Event> SetAvailable(const std::string& engineer) {
    return SetPresenceOf(engineer, Presence::kAvailable);
  }

  // Creates the session and returns its id (from the SessionCreated event).
  SessionId Create(const CreateSession& c, std::vector<Event>* events = nullptr) {
    std::vector<Event> ev = ApplyOk(c);
    if (events != nullptr) *events = ev;
    std::optional<Event> created = FindEvent(ev, EventType::kSessionCreated);
    EXPECT_TRUE(created.has_value()) << "no SessionCreated" << Dump(ev);
    if (!created.has_value()) return c.id;
    if (!c.id.empty()) {
      EXPECT_EQ(created->session, c.id) << Dump(ev);
    }
    return created->session;
  }

  std::vector<Event> Accept(SessionId s, const std::string& e) {
    return ApplyOk(AcceptOffer{s, EngineerId(e)});
  }
  std::vector<Event> Reject(SessionId s, const std::string& e, std::string reason = "busy") {
    return ApplyOk(RejectOffer{s, EngineerId(e), std::move(reason)});
  }
  std::vector<Event> Claim(SessionId s, const std::string& e) {
    return ApplyOk(ClaimOffer{s, EngineerId(e)});
  }
  std::vector<Event> Complete(SessionId s, const std::string& e) {
    return ApplyOk(CompleteSession{s, EngineerId(e)});
  }
  std::vector<Event> EndWrap(SessionId s, const std::string& e) {
    return ApplyOk(EndWrapUp{s, EngineerId(e)});
  }
  std::vector<Event> Cancel(SessionId s, bool abandoned = true, std::string reason = "") {
    return ApplyOk(CancelSession{s, abandoned, std::move(reason)});
  }

  // The session / engineer / queue as the engine reports it; a failure if unknown.
  SessionInfo Sess(SessionId id) const {
    std::optional<SessionInfo> s = engine_->GetSession(id);
    EXPECT_TRUE(s.has_value()) << "unknown session " << id.value() << Dump(log_);
    return s.value_or(SessionInfo{});
  }
  EngineerInfo Eng(const std::string& id) const {
    std::optional<EngineerInfo> e = engine_->GetEngineer(EngineerId(id));
    EXPECT_TRUE(e.has_value()) << "unknown engineer " << id << Dump(log_);
    return e.value_or(EngineerInfo{});
  }
  QueueInfo Q(const std::string& id) const {
    std::optional<QueueInfo> q = engine_->GetQueue(QueueId(id));
    EXPECT_TRUE(q.has_value()) << "unknown queue " << id << Dump(log_);
    return q.value_or(QueueInfo{});
  }
  uint32_t Order(const std::string& engineer) const { return Eng(engineer).registration_order; }
  SessionState StateOf(SessionId id) const { return Sess(id).state; }

  // Expects `cmd` to be refused with `code` and a message containing `field` (or one of
  // several alternatives separated by '|'; case-insensitive), with no event and no change to
  // the state. Timers due at `now` are fired first so that only the command itself is judged.
  void ExpectRefused(const Command& cmd, absl::StatusCode code, absl::string_view field) {
    std::vector<Event> timer_events;
    engine_->Advance(now, &timer_events);
    log_.insert(log_.end(), timer_events.begin(), timer_events.end());
    const std::string before = engine_->DumpState();
    const uint64_t digest = engine_->StateDigest();
    const std::optional<absl::Time> deadline = engine_->NextDeadline();
    std::vector<Event> events;
    absl::Status s = engine_->Apply(cmd, now, &events);
    EXPECT_EQ(s.code(), code) << CommandName(cmd) << " returned " << s << Dump(events);
    bool named = false;
    for (absl::string_view f : absl::StrSplit(field, '|')) {
      if (Lower(s.message()).find(Lower(f)) != std::string::npos) named = true;
    }
    EXPECT_TRUE(named) << CommandName(cmd) << ": message \"" << s.message()
                       << "\" names none of: " << field;
    EXPECT_TRUE(events.empty()) << CommandName(cmd) << " was refused but emitted"
                                << Dump(events);
    EXPECT_EQ(engine_->DumpState(), before) << CommandName(cmd) << " changed the state";
    EXPECT_EQ(engine_->StateDigest(), digest);
    EXPECT_EQ(engine_->NextDeadline(), deadline);
  }

 private:
  std::unique_ptr<Engine> engine_;
  std::vector<Event> log_;
};

}  // namespace omniroute::test

#endif  // OMNIROUTE_TESTS_ENGINE_TEST_UTIL_H_
