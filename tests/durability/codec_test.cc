#include "omniroute/durability/codec.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace omniroute::durability {
namespace {

using ::testing::HasSubstr;

// ---- Every field of every struct, as a tuple (the command structs have no operator==). ----
// The static_asserts below check these lists are complete, so a new field is a compile error
// here too until the test sets it.

auto Tie(const ChannelSpec& v) { return std::tie(v.id, v.cost, v.default_max, v.bot_first); }
auto Tie(const QueueConfig& v) {
  return std::tie(v.id, v.display_name, v.ageing_interval, v.service_level_threshold,
                  v.service_level_goal, v.requirements, v.relaxation, v.overflow_after,
                  v.overflow_queue, v.channel_limits, v.tag_rules, v.appointment_priority,
                  v.strategy, v.delivery,
                  v.offer_timeout, v.grab_fanout, v.grab_window, v.preferred_timeout,
                  v.last_engineer_timeout, v.vip_min_level, v.vip_min_tier, v.vip_timeout,
                  v.wrap_up);
}
auto Tie(const EngineerConfig& v) {
  return std::tie(v.id, v.display_name, v.skills, v.tier, v.score, v.budget, v.channels, v.queues);
}
auto Tie(const CustomerSnapshot& v) {
  return std::tie(v.id, v.vip_level, v.tags, v.language, v.preferred_engineers, v.last_engineer);
}
auto Tie(const RelaxationStep& v) { return std::tie(v.after, v.action, v.skill, v.level); }
auto Tie(const TagRule& v) {
  return std::tie(v.name, v.tag, v.min_vip_level, v.language, v.priority_boost, v.requirement,
                  v.min_tier);
}
auto Tie(const ChannelCapacity& v) { return std::tie(v.channel, v.max, v.cost); }
auto Tie(const UpsertChannel& v) { return std::tie(v.spec); }
auto Tie(const UpsertQueue& v) { return std::tie(v.config); }
auto Tie(const RemoveQueue& v) { return std::tie(v.queue); }
auto Tie(const UpsertEngineer& v) { return std::tie(v.config); }
auto Tie(const RemoveEngineer& v) { return std::tie(v.engineer); }
auto Tie(const SetPresence& v) { return std::tie(v.engineer, v.presence, v.reason, v.duration); }
auto Tie(const CreateSession& v) {
  return std::tie(v.id, v.channel, v.queue, v.customer, v.requirements, v.priority, v.attributes,
                  v.intent, v.start_in_bot, v.window_start, v.window_end);
}
auto Tie(const CancelSession& v) { return std::tie(v.session, v.abandoned, v.reason); }
auto Tie(const EscalateSession& v) {
  return std::tie(v.session, v.intent, v.summary, v.queue, v.requirements, v.priority_boost);
}
auto Tie(const AcceptOffer& v) { return std::tie(v.session, v.engineer); }
auto Tie(const RejectOffer& v) { return std::tie(v.session, v.engineer, v.reason); }
auto Tie(const ClaimOffer& v) { return std::tie(v.session, v.engineer); }
auto Tie(const CompleteSession& v) { return std::tie(v.session, v.engineer); }
auto Tie(const EndWrapUp& v) { return std::tie(v.session, v.engineer); }
auto Tie(const TransferSession& v) {
  return std::tie(v.session, v.queue, v.engineer, v.engineer_timeout, v.reason);
}
auto Tie(const SetEngineerRank& v) { return std::tie(v.engineer, v.tier, v.score, v.reason); }
auto Tie(const RequestCallback& v) { return std::tie(v.session, v.number); }

struct AnyField {
  template <typename T>
  operator T() const;  // NOLINT: declared only
};
template <typename T, typename... A>
constexpr size_t FieldCountFrom() {
  if constexpr (requires { T{A{}..., AnyField{}}; }) {
    return FieldCountFrom<T, A..., AnyField>();
  } else {
    return sizeof...(A);
  }
}
template <typename T>
constexpr bool kTieIsComplete = std::tuple_size_v<decltype(Tie(std::declval<const T&>()))> ==
                                FieldCountFrom<T>();

static_assert(kTieIsComplete<ChannelSpec> && kTieIsComplete<QueueConfig> &&
              kTieIsComplete<EngineerConfig> && kTieIsComplete<CustomerSnapshot> &&
              kTieIsComplete<RelaxationStep> && kTieIsComplete<TagRule> &&
              kTieIsComplete<ChannelCapacity>);
static_assert(kTieIsComplete<UpsertChannel> && kTieIsComplete<UpsertQueue> &&
              kTieIsComplete<RemoveQueue> && kTieIsComplete<UpsertEngineer> &&
              kTieIsComplete<RemoveEngineer> && kTieIsComplete<SetPresence> &&
              kTieIsComplete<CreateSession> && kTieIsComplete<CancelSession> &&
              kTieIsComplete<EscalateSession> && kTieIsComplete<AcceptOffer> &&
              kTieIsComplete<RejectOffer> && kTieIsComplete<ClaimOffer> &&
              kTieIsComplete<CompleteSession> && kTieIsComplete<EndWrapUp> &&
              kTieIsComplete<TransferSession> && kTieIsComplete<SetEngineerRank> &&
              kTieIsComplete<RequestCallback>);

bool SameCommand(const Command& a, const Command& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        const auto& y = std::get<std::decay_t<decltype(x)>>(b);
        return Tie(x) == Tie(y);
      },
      a);
}

bool SameEntry(const JournalEntry& a, const JournalEntry& b) {
  return a.at == b.at && a.request_id == b.request_id &&
         a.request_fingerprint == b.request_fingerprint && SameCommand(a.command, b.command);
}

// The names of the fields of `value` that still have their default value.
template <typename T>
std::vector<size_t> DefaultFields(const T& value) {
  T fresh{};
  auto a = Tie(value);
  auto b = Tie(fresh);
  std::vector<size_t> same;
  [&]<size_t... I>(std::index_sequence<I...>) {
    ((std::get<I>(a) == std::get<I>(b) ? same.push_back(I) : void()), ...);
  }
  (std::make_index_sequence<std::tuple_size_v<decltype(a)>>());
  return same;
}

// ---- Values with every field set to something other than its default. ----

std::vector<Requirement> SomeRequirements() {
  return {{SkillId("repair.phone"), 4}, {SkillId("lang.zh"), 2}};
}

ChannelSpec FullChannel() { return {ChannelId("video"), 45, 2, true}; }

QueueConfig FullQueue() {
  QueueConfig q;
  q.id = QueueId("repair.voice");
  q.display_name = "Repair (voice) \xe7\xbb\xb4\xe4\xbf\xae";
  q.ageing_interval = absl::Seconds(7) + absl::Nanoseconds(3);
  q.service_level_threshold = absl::Milliseconds(12500);
  q.service_level_goal = 0.95;
  q.requirements = SomeRequirements();
  q.relaxation = {{absl::Seconds(30), RelaxAction::kDropSkill, SkillId("lang.zh"), 3},
                  {absl::Minutes(2), RelaxAction::kAnyEngineer, SkillId(), 0}};
  q.overflow_after = absl::Minutes(5);
  q.overflow_queue = QueueId("repair.backup");
  q.channel_limits = {{ChannelId("wechat"), 40}, {ChannelId("voice"), 0}};
  q.tag_rules = {{.name = "gold customers",
                  .tag = "gold",
                  .min_vip_level = 2,
                  .language = "en",
                  .priority_boost = 50,
                  .requirement = {SkillId("vip.care"), 3},
                  .min_tier = Tier::kExpert},
                 {.tag = "risk:negative-social", .min_tier = Tier::kMaster}};
  q.appointment_priority = 650;
  q.strategy = "best_rated";
  q.delivery = DeliveryMode::kGrab;
  q.offer_timeout = absl::Seconds(22);
  q.grab_fanout = 5;
  q.grab_window = absl::Seconds(8);
  q.preferred_timeout = absl::Seconds(45);
  q.last_engineer_timeout = absl::Seconds(12);
  q.vip_min_level = 3;
  q.vip_min_tier = Tier::kMaster;
  q.vip_timeout = absl::Seconds(40);
  q.wrap_up = absl::Seconds(90);
  return q;
}

EngineerConfig FullEngineer() {
  EngineerConfig e;
  e.id = EngineerId("eng-1042");
  e.display_name = "Li Wei";
  e.skills = {{SkillId("repair.phone"), 5}, {SkillId("lang.zh"), 4}};
  e.tier = Tier::kExpert;
  e.score = -1234567890123;
  e.budget = 90;
  e.channels = {{ChannelId("voice"), 1, 60}, {ChannelId("wechat"), 4, -1}};
  e.queues = {QueueId("repair.voice"), QueueId("vip")};
  return e;
}

CustomerSnapshot FullCustomer() {
  CustomerSnapshot c;
  c.id = CustomerId("cust-88");
  c.vip_level = 7;
  c.tags = {"gold", "repeat", ""};
  c.language = "zh-CN";
  c.preferred_engineers = {EngineerId("eng-1"), EngineerId("eng-2")};
  c.last_engineer = EngineerId("eng-3");
  return c;
}

std::vector<Command> EveryCommand() {
  std::vector<Command> commands;
  commands.push_back(UpsertChannel{FullChannel()});
  commands.push_back(UpsertQueue{FullQueue()});
  commands.push_back(RemoveQueue{QueueId("old.queue")});
  commands.push_back(UpsertEngineer{FullEngineer()});
  commands.push_back(RemoveEngineer{EngineerId("eng-9")});
  commands.push_back(SetPresence{EngineerId("eng-7"), Presence::kWrapUp, "after-call",
                                 absl::Seconds(45) + absl::Nanoseconds(1) / 4});
  CreateSession create;
  create.id = SessionId(42);
  create.channel = ChannelId("wechat");
  create.queue = QueueId("repair");
  create.customer = FullCustomer();
  create.requirements = SomeRequirements();
  create.priority = 700;
  create.attributes = {{"order", "A-1"}, {"model", std::string("X9\0bin", 6)}};
  create.intent = "screen.cracked";
  create.start_in_bot = true;
  create.window_start = absl::FromUnixSeconds(1'790'003'600);
  create.window_end = absl::FromUnixSeconds(1'790'007'200) + absl::Nanoseconds(1) / 4;
  commands.push_back(create);
  commands.push_back(CancelSession{SessionId(9), false, "gateway timeout"});
  commands.push_back(EscalateSession{SessionId(10), "refund", "customer wants a refund",
                                     QueueId("billing"), SomeRequirements(), 25});
  commands.push_back(AcceptOffer{SessionId(11), EngineerId("eng-1")});
  commands.push_back(RejectOffer{SessionId(12), EngineerId("eng-2"), "busy"});
  commands.push_back(ClaimOffer{SessionId(13), EngineerId("eng-3")});
  commands.push_back(CompleteSession{SessionId(14), EngineerId("eng-4")});
  commands.push_back(EndWrapUp{SessionId(15), EngineerId("eng-5")});
  commands.push_back(TransferSession{SessionId(16), QueueId("expert"), EngineerId("eng-6"),
                                     absl::Seconds(12), "needs an expert"});
  commands.push_back(SetEngineerRank{EngineerId("eng-8"), Tier::kElite, -315, "monthly points"});
  commands.push_back(RequestCallback{SessionId(17), "+86 (10) 5555-0100"});
  return commands;
}

JournalEntry EntryFor(Command command) {
  JournalEntry entry;
  entry.at = absl::FromUnixNanos(1'790'000'000'123'456'789);
  entry.command = std::move(command);
  entry.request_id = "req-7f3a";
  entry.request_fingerprint = 0xDEADBEEFCAFEF00Dull;
  return entry;
}

JournalEntry RoundTrip(const JournalEntry& entry) {
  std::string bytes = EncodeEntry(entry);
  absl::StatusOr<JournalEntry> decoded = DecodeEntry(bytes);
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  if (!decoded.ok()) return {};
  EXPECT_EQ(EncodeEntry(*decoded), bytes) << "re-encoding differs";
  return *std::move(decoded);
}

TEST(CodecTest, TestValuesSetEveryField) {
  EXPECT_THAT(DefaultFields(FullChannel()), ::testing::IsEmpty());
  EXPECT_THAT(DefaultFields(FullQueue()), ::testing::IsEmpty());
  EXPECT_THAT(DefaultFields(FullEngineer()), ::testing::IsEmpty());
  EXPECT_THAT(DefaultFields(FullCustomer()), ::testing::IsEmpty());
  std::set<size_t> covered;
  for (const Command& command : EveryCommand()) {
    covered.insert(command.index());
    std::visit(
        [](const auto& c) {
          EXPECT_THAT(DefaultFields(c), ::testing::IsEmpty()) << CommandName(Command(c));
        },
        command);
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<Command>);
}

TEST(CodecTest, RoundTripsEveryCommandWithEveryField) {
  for (const Command& command : EveryCommand()) {
    JournalEntry entry = EntryFor(command);
    JournalEntry back = RoundTrip(entry);
    EXPECT_TRUE(SameEntry(entry, back)) << CommandName(command);
  }
}

TEST(CodecTest, RoundTripsDefaultCommands) {
  for (size_t i = 0; i < std::variant_size_v<Command>; ++i) {
    Command command = EveryCommand()[i];
    std::visit([](auto& c) { c = std::decay_t<decltype(c)>{}; }, command);
    JournalEntry entry;
    entry.command = command;
    EXPECT_TRUE(SameEntry(entry, RoundTrip(entry))) << CommandName(command);
  }
}

TEST(CodecTest, CommandTagsAreStable) {
  // The second byte is the tag; these must never change (journals on disk depend on them).
  std::vector<Command> commands = EveryCommand();
  for (size_t i = 0; i < commands.size(); ++i) {
    std::string bytes = EncodeEntry(EntryFor(commands[i]));
    ASSERT_GE(bytes.size(), 2u);
    EXPECT_EQ(bytes[0], 2);
    EXPECT_EQ(static_cast<size_t>(bytes[1]), i + 1) << CommandName(commands[i]);
  }
}

TEST(CodecTest, TimesAndDurationsAreExact) {
  const absl::Duration tick = absl::Nanoseconds(1) / 4;
  std::vector<absl::Time> times = {
      absl::UnixEpoch(),
      absl::InfiniteFuture(),
      absl::InfinitePast(),
      absl::FromUnixNanos(-1),
      absl::FromUnixSeconds(-86400) - tick,
      absl::UnixEpoch() + tick * 3,
      absl::FromUnixSeconds(253402300799) + absl::Nanoseconds(999999999) + tick * 3,
      absl::FromUnixSeconds(-62135596800),
  };
  for (absl::Time t : times) {
    JournalEntry entry;
    entry.at = t;
    entry.command = SetPresence{EngineerId("e"), Presence::kWrapUp, "", t - absl::UnixEpoch()};
    JournalEntry back = RoundTrip(entry);
    EXPECT_EQ(back.at, t) << t;
    EXPECT_EQ(std::get<SetPresence>(back.command).duration, t - absl::UnixEpoch()) << t;
  }
  std::vector<absl::Duration> durations = {
      absl::InfiniteDuration(),
      -absl::InfiniteDuration(),
      -tick,
      tick,
      -absl::Seconds(1),
      absl::Seconds(std::numeric_limits<int64_t>::max()) + tick * 3999999999,
      absl::Seconds(std::numeric_limits<int64_t>::min()),
      absl::Seconds(std::numeric_limits<int64_t>::min()) + tick,
  };
  for (absl::Duration d : durations) {
    JournalEntry entry;
    entry.command = TransferSession{SessionId(1), QueueId("q"), EngineerId(), d, ""};
    JournalEntry back = RoundTrip(entry);
    EXPECT_EQ(std::get<TransferSession>(back.command).engineer_timeout, d) << d;
  }
}

TEST(CodecTest, ExtremeNumbersRoundTrip) {
  EngineerConfig e = FullEngineer();
  e.score = std::numeric_limits<int64_t>::min();
  e.budget = std::numeric_limits<int>::min();
  QueueConfig q = FullQueue();
  q.service_level_goal = -0.0;
  q.grab_fanout = std::numeric_limits<int>::max();
  q.delivery = static_cast<DeliveryMode>(-5);  // kept as is: the engine validates, not the codec
  CreateSession c;
  c.id = SessionId(std::numeric_limits<uint64_t>::max());
  JournalEntry entry = EntryFor(UpsertEngineer{e});
  entry.request_fingerprint = ~uint64_t{0};
  EXPECT_TRUE(SameEntry(entry, RoundTrip(entry)));
  JournalEntry qe = EntryFor(UpsertQueue{q});
  JournalEntry qb = RoundTrip(qe);
  EXPECT_TRUE(SameEntry(qe, qb));
  EXPECT_TRUE(std::signbit(std::get<UpsertQueue>(qb.command).config.service_level_goal));
  JournalEntry ce = EntryFor(c);
  EXPECT_TRUE(SameEntry(ce, RoundTrip(ce)));
}

TEST(CodecTest, IsCompact) {
  JournalEntry entry = EntryFor(AcceptOffer{SessionId(11), EngineerId("eng-1")});
  // version + tag + time (5 + 5) + request id (9) + fingerprint (8) + session (1) + id (6).
  EXPECT_LE(EncodeEntry(entry).size(), 40u);
}

// ---- Format version 1 (journals written by the release before version 2). ----

// Writes entries the way format version 1 did: the same encodings, fewer fields.
class V1Writer {
 public:
  V1Writer(uint64_t tag, absl::Time at) {
    out_.push_back(1);  // format version
    Varint(tag);
    Time(at);
    Str("req-v1");
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(0x11 * (i + 1)));
  }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Int(int64_t v) { Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Bool(bool b) { out_.push_back(b ? 1 : 0); }
  void Str(absl::string_view s) {
    Varint(s.size());
    out_.append(s.data(), s.size());
  }
  // Whole seconds only (sub-second part 0).
  void Dur(absl::Duration d) {
    Int(absl::ToInt64Seconds(d));
    Varint(0);
  }
  void Time(absl::Time t) { Dur(t - absl::UnixEpoch()); }
  void Double(double d) {
    const uint64_t bits = std::bit_cast<uint64_t>(d);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

TEST(CodecTest, DecodesVersion1UpsertQueueWithTagRules) {
  V1Writer w(2, absl::FromUnixSeconds(1'700'000'000));
  w.Str("repair");        // id
  w.Str("Repairs");       // display_name
  w.Dur(absl::Seconds(30));  // ageing_interval
  w.Dur(absl::Seconds(20));  // service_level_threshold
  w.Double(0.8);          // service_level_goal
  w.Varint(1);            // requirements
  w.Str("repair.phone");
  w.Int(4);
  w.Varint(0);            // relaxation
  w.Dur(absl::ZeroDuration());  // overflow_after
  w.Str("");              // overflow_queue
  w.Varint(0);            // channel_limits
  w.Varint(2);            // tag_rules: tag, priority_boost, requirement (skill, min_level)
  w.Str("risk:negative-social");
  w.Int(50);
  w.Str("");
  w.Int(1);
  w.Str("gold");
  w.Int(0);
  w.Str("vip.care");
  w.Int(3);
  w.Str("best_rated");    // strategy
  w.Int(2);               // delivery
  w.Dur(absl::Seconds(15));  // offer_timeout
  w.Int(3);               // grab_fanout
  w.Dur(absl::Seconds(10));  // grab_window
  w.Dur(absl::Seconds(20));  // preferred_timeout
  w.Dur(absl::Seconds(10));  // last_engineer_timeout
  w.Int(1);               // vip_min_level
  w.Int(3);               // vip_min_tier
  w.Dur(absl::Seconds(30));  // vip_timeout
  w.Dur(absl::Seconds(30));  // wrap_up
  absl::StatusOr<JournalEntry> entry = DecodeEntry(w.bytes());
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->at, absl::FromUnixSeconds(1'700'000'000));
  EXPECT_EQ(entry->request_id, "req-v1");
  ASSERT_TRUE(std::holds_alternative<UpsertQueue>(entry->command));
  const QueueConfig& q = std::get<UpsertQueue>(entry->command).config;
  EXPECT_EQ(q.id, QueueId("repair"));
  EXPECT_EQ(q.strategy, "best_rated");
  EXPECT_EQ(q.delivery, DeliveryMode::kGrab);
  EXPECT_EQ(q.vip_min_tier, Tier::kElite);
  EXPECT_EQ(q.appointment_priority, 800);  // not in version 1: the default
  ASSERT_EQ(q.tag_rules.size(), 2u);
  EXPECT_EQ(q.tag_rules[0], (TagRule{.tag = "risk:negative-social", .priority_boost = 50,
                                     .requirement = {SkillId(""), 1}}));
  EXPECT_EQ(q.tag_rules[1],
            (TagRule{.tag = "gold", .requirement = {SkillId("vip.care"), 3}}));
  EXPECT_EQ(q.tag_rules[1].min_tier, std::nullopt);
  // Re-encoded, it is a version 2 entry that decodes to the same thing.
  JournalEntry again = RoundTrip(*entry);
  EXPECT_TRUE(SameEntry(*entry, again));
  EXPECT_EQ(EncodeEntry(*entry)[0], 2);
}

TEST(CodecTest, DecodesVersion1CreateSessionWithoutWindow) {
  // Version 1's CreateSession is version 2's without the two windows at the end.
  CreateSession c = std::get<CreateSession>(EveryCommand()[6]);
  c.window_start = absl::InfinitePast();
  c.window_end = absl::InfinitePast();
  std::string bytes = EncodeEntry(EntryFor(c));
  bytes.resize(bytes.size() - 12);
  bytes[0] = 1;
  absl::StatusOr<JournalEntry> entry = DecodeEntry(bytes);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_TRUE(SameEntry(*entry, EntryFor(c)));
  EXPECT_EQ(std::get<CreateSession>(entry->command).window_start, absl::InfinitePast());
  // The same bytes with the windows left on are trailing bytes for version 1.
  bytes = EncodeEntry(EntryFor(c));
  bytes[0] = 1;
  EXPECT_EQ(DecodeEntry(bytes).status().code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, Version1CannotHoldTheNewCommands) {
  for (size_t i : {size_t{15}, size_t{16}}) {
    std::string bytes = EncodeEntry(EntryFor(EveryCommand()[i]));
    bytes[0] = 1;
    absl::Status s = DecodeEntry(bytes).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("unknown command tag ", i + 1,
                                                    " for format version 1")));
  }
}

TEST(CodecTest, DecodesVersion1CommandsWhoseFieldsDidNotChange) {
  V1Writer w(3, absl::FromUnixSeconds(1));
  w.Str("old.queue");
  absl::StatusOr<JournalEntry> entry = DecodeEntry(w.bytes());
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(std::get<RemoveQueue>(entry->command).queue, QueueId("old.queue"));
}

TEST(CodecTest, OptionalPresenceByteIsChecked) {
  QueueConfig q;
  q.id = QueueId("q");
  q.tag_rules = {{.tag = "t"}};  // min_tier absent: a 0 presence byte, then the rest
  std::string bytes = EncodeEntry(EntryFor(UpsertQueue{q}));
  // Find the rule by its tag; the presence byte follows its other fields.
  const std::string marker = std::string("\x01t", 2);
  const size_t at = bytes.find(marker);
  ASSERT_NE(at, std::string::npos);
  // tag "t" | min_vip_level 0 | language "" | boost 0 | requirement ("" , 1) | min_tier
  const size_t presence = at + 2 + 1 + 1 + 1 + 1 + 1;
  ASSERT_EQ(bytes[presence], 0);
  bytes[presence] = 2;
  absl::Status s = DecodeEntry(bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("tag_rules[0].min_tier")) << s;
  bytes[presence] = 1;
  bytes.insert(presence + 1, 1, '\x08');  // zigzag 4: kExpert
  absl::StatusOr<JournalEntry> decoded = DecodeEntry(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<UpsertQueue>(decoded->command).config.tag_rules[0].min_tier, Tier::kExpert);
}

// ---- Garbage. ----

TEST(CodecTest, RejectsEmptyAndUnknownVersion) {
  EXPECT_EQ(DecodeEntry("").status().code(), absl::StatusCode::kDataLoss);
  std::string bytes = EncodeEntry(EntryFor(EveryCommand()[0]));
  bytes[0] = 9;
  absl::Status s = DecodeEntry(bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("format version 9"));
}

TEST(CodecTest, RejectsUnknownCommandTag) {
  std::string bytes = EncodeEntry(EntryFor(EveryCommand()[0]));
  bytes[1] = 99;
  absl::Status s = DecodeEntry(bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("unknown command tag 99"));
}

TEST(CodecTest, RejectsTrailingBytes) {
  std::string bytes = EncodeEntry(EntryFor(EveryCommand()[4])) + "x";
  absl::Status s = DecodeEntry(bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("1 trailing bytes after the RemoveEngineer command"));
}

TEST(CodecTest, EveryTruncationIsDataLoss) {
  for (const Command& command : EveryCommand()) {
    std::string bytes = EncodeEntry(EntryFor(command));
    for (size_t n = 0; n < bytes.size(); ++n) {
      absl::Status s = DecodeEntry(absl::string_view(bytes.data(), n)).status();
      ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss)
          << CommandName(command) << " cut at " << n << ": " << s;
    }
  }
}

TEST(CodecTest, ErrorsNameTheField) {
  CreateSession c;
  c.customer.tags = {"first", "ZZZZZZ"};
  std::string bytes = EncodeEntry(EntryFor(c));
  size_t at = bytes.find("ZZZZZZ");
  ASSERT_NE(at, std::string::npos);
  absl::Status s = DecodeEntry(absl::string_view(bytes.data(), at + 2)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("CreateSession.customer.tags[1]")) << s;

  // A bool that is neither 0 nor 1: start_in_bot comes just before the two windows, each
  // InfinitePast here (zigzag -1 and 4e9 quarter-nanoseconds: 1 + 5 bytes).
  bytes = EncodeEntry(EntryFor(c));
  bytes[bytes.size() - 13] = 2;
  s = DecodeEntry(bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("CreateSession.start_in_bot")) << s;
  EXPECT_THAT(s.message(), HasSubstr("neither 0 nor 1")) << s;

  // An int out of range: priority_boost is the last field of an EscalateSession.
  EscalateSession e;
  bytes = EncodeEntry(EntryFor(e));
  bytes.pop_back();
  bytes += "\x80\x80\x80\x80\x10";  // zigzag of 2^31
  s = DecodeEntry(bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("EscalateSession.priority_boost")) << s;
  EXPECT_THAT(s.message(), HasSubstr("out of range")) << s;
}

TEST(CodecTest, HugeCountsAreRefusedBeforeAllocating) {
  // An EscalateSession whose requirements claim 2^60 elements.
  EscalateSession e;
  std::string bytes = EncodeEntry(EntryFor(e));
  // The tail is: requirements count (0), priority_boost (0). Replace both.
  bytes.resize(bytes.size() - 2);
  bytes += "\x80\x80\x80\x80\x80\x80\x80\x80\x10";
  absl::Status s = DecodeEntry(bytes).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("EscalateSession.requirements")) << s;
  EXPECT_THAT(s.message(), HasSubstr("exceeds")) << s;
}

TEST(CodecTest, OverlongVarintIsRefused) {
  JournalEntry entry = EntryFor(AcceptOffer{SessionId(1), EngineerId("e")});
  std::string bytes = EncodeEntry(entry);
  std::string bad = bytes.substr(0, 1) + std::string(11, '\x81') + bytes.substr(2);
  absl::Status s = DecodeEntry(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("command tag"));
}

TEST(CodecTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(20260517);
  std::vector<std::string> seeds;
  for (const Command& command : EveryCommand()) seeds.push_back(EncodeEntry(EntryFor(command)));
  int decoded = 0;
  for (int round = 0; round < 30000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      // Pure noise, usually with a valid version byte and tag.
      size_t n = rng() % 200;
      for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(rng()));
      if (n > 0 && round % 4 == 0) bytes[0] = static_cast<char>(1 + rng() % 2);
      if (n > 1 && round % 4 == 0) bytes[1] = static_cast<char>(1 + rng() % 17);
    } else {
      // A valid entry with a few bytes changed, inserted or removed.
      bytes = seeds[rng() % seeds.size()];
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits && !bytes.empty(); ++k) {
        size_t at = rng() % bytes.size();
        switch (rng() % 3) {
          case 0:
            bytes[at] = static_cast<char>(rng());
            break;
          case 1:
            bytes.insert(at, 1, static_cast<char>(rng()));
            break;
          default:
            bytes.erase(at, 1);
            break;
        }
      }
    }
    absl::StatusOr<JournalEntry> entry = DecodeEntry(bytes);
    if (entry.ok()) {
      ++decoded;
      // Whatever decodes re-encodes to something that decodes to the same entry.
      absl::StatusOr<JournalEntry> again = DecodeEntry(EncodeEntry(*entry));
      ASSERT_TRUE(again.ok()) << again.status();
      // (Bytes, not fields: a decoded double may be a NaN.)
      ASSERT_EQ(EncodeEntry(*again), EncodeEntry(*entry));
    } else {
      ASSERT_TRUE(entry.status().code() == absl::StatusCode::kDataLoss ||
                  entry.status().code() == absl::StatusCode::kInvalidArgument)
          << entry.status();
    }
  }
  RecordProperty("decoded", decoded);
}

}  // namespace
}  // namespace omniroute::durability
