#include "omniroute/durability/codec.h"

#include <array>
#include <bit>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "omniroute/channel.h"
#include "omniroute/engineer.h"
#include "omniroute/ids.h"
#include "omniroute/queue.h"
#include "omniroute/session.h"

namespace omniroute::durability {
namespace {

// ---------------------------------------------------------------------------------------
// The schema: every struct a command holds, its fields listed once, in declaration order.
// `Fields(io, value)` is used by both the encoder (value is const) and the decoder.

template <typename T>
struct Schema;  // no definition: a type without a schema is not encodable as a struct

// How many fields an aggregate has (the largest N for which T{any, ... N times} compiles).
struct AnyField {
  template <typename T>
  operator T() const;  // NOLINT(google-explicit-constructor): declared only
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
constexpr size_t kFieldCount = FieldCountFrom<T>();

// Declares Schema<T> with its field list, and checks the list is complete.
#define OMNIROUTE_SCHEMA(Type, count, ...)                                             \
  static_assert(kFieldCount<Type> == (count),                                          \
                #Type " changed: update the journal codec (durability/src/codec.cc)"); \
  template <>                                                                          \
  struct Schema<Type> {                                                                \
    template <typename IO, typename V>                                                 \
    static void Fields(IO& io, V& v) {                                                 \
      __VA_ARGS__                                                                      \
    }                                                                                  \
  };

#define F(name) io(v.name, #name);
// A field added in entry format version `since`: written always, read only from entries of
// that version or later (older entries leave the field at its default).
#define FV(name, since) \
  if (io.version() >= (since)) io(v.name, #name);

OMNIROUTE_SCHEMA(ChannelSpec, 4, F(id) F(cost) F(default_max) F(bot_first))
OMNIROUTE_SCHEMA(Requirement, 2, F(skill) F(min_level))
OMNIROUTE_SCHEMA(RelaxationStep, 4, F(after) F(action) F(skill) F(level))
OMNIROUTE_SCHEMA(TagRule, 7,
                 FV(name, 2) F(tag) FV(min_vip_level, 2) FV(language, 2) F(priority_boost)
                     F(requirement) FV(min_tier, 2))
OMNIROUTE_SCHEMA(ChannelLimit, 2, F(channel) F(max_waiting))
OMNIROUTE_SCHEMA(QueueConfig, 23,
                 F(id) F(display_name) F(ageing_interval) F(service_level_threshold)
                     F(service_level_goal) F(requirements) F(relaxation) F(overflow_after)
                         F(overflow_queue) F(channel_limits) F(tag_rules)
                             FV(appointment_priority, 2) F(strategy) F(delivery) F(offer_timeout)
                                 F(grab_fanout) F(grab_window) F(preferred_timeout)
                                     F(last_engineer_timeout) F(vip_min_level) F(vip_min_tier)
                                         F(vip_timeout) F(wrap_up))
OMNIROUTE_SCHEMA(SkillLevel, 2, F(skill) F(level))
OMNIROUTE_SCHEMA(ChannelCapacity, 3, F(channel) F(max) F(cost))
OMNIROUTE_SCHEMA(EngineerConfig, 8,
                 F(id) F(display_name) F(skills) F(tier) F(score) F(budget) F(channels) F(queues))
OMNIROUTE_SCHEMA(CustomerSnapshot, 6,
                 F(id) F(vip_level) F(tags) F(language) F(preferred_engineers) F(last_engineer))

OMNIROUTE_SCHEMA(UpsertChannel, 1, F(spec))
OMNIROUTE_SCHEMA(UpsertQueue, 1, F(config))
OMNIROUTE_SCHEMA(RemoveQueue, 1, F(queue))
OMNIROUTE_SCHEMA(UpsertEngineer, 1, F(config))
OMNIROUTE_SCHEMA(RemoveEngineer, 1, F(engineer))
OMNIROUTE_SCHEMA(SetPresence, 4, F(engineer) F(presence) F(reason) F(duration))
OMNIROUTE_SCHEMA(CreateSession, 11,
                 F(id) F(channel) F(queue) F(customer) F(requirements) F(priority) F(attributes)
                     F(intent) F(start_in_bot) FV(window_start, 2) FV(window_end, 2))
OMNIROUTE_SCHEMA(CancelSession, 3, F(session) F(abandoned) F(reason))
OMNIROUTE_SCHEMA(EscalateSession, 6,
                 F(session) F(intent) F(summary) F(queue) F(requirements) F(priority_boost))
OMNIROUTE_SCHEMA(AcceptOffer, 2, F(session) F(engineer))
OMNIROUTE_SCHEMA(RejectOffer, 3, F(session) F(engineer) F(reason))
OMNIROUTE_SCHEMA(ClaimOffer, 2, F(session) F(engineer))
OMNIROUTE_SCHEMA(CompleteSession, 2, F(session) F(engineer))
OMNIROUTE_SCHEMA(EndWrapUp, 2, F(session) F(engineer))
OMNIROUTE_SCHEMA(TransferSession, 5, F(session) F(queue) F(engineer) F(engineer_timeout) F(reason))
OMNIROUTE_SCHEMA(SetEngineerRank, 4, F(engineer) F(tier) F(score) F(reason))
OMNIROUTE_SCHEMA(RequestCallback, 2, F(session) F(number))

#undef F
#undef FV
#undef OMNIROUTE_SCHEMA

template <typename T>
concept HasSchema = requires {
  sizeof(Schema<T>);
};

// The stable tag of each command, by variant index, and its name for error messages.
// The entry format version that introduced each command: an older entry cannot hold it.
struct CommandTag {
  uint64_t tag;
  const char* name;
  uint8_t since;
};
constexpr std::array<CommandTag, 17> kCommandTags = {{
    {1, "UpsertChannel", 1},
    {2, "UpsertQueue", 1},
    {3, "RemoveQueue", 1},
    {4, "UpsertEngineer", 1},
    {5, "RemoveEngineer", 1},
    {6, "SetPresence", 1},
    {7, "CreateSession", 1},
    {8, "CancelSession", 1},
    {9, "EscalateSession", 1},
    {10, "AcceptOffer", 1},
    {11, "RejectOffer", 1},
    {12, "ClaimOffer", 1},
    {13, "CompleteSession", 1},
    {14, "EndWrapUp", 1},
    {15, "TransferSession", 1},
    {16, "SetEngineerRank", 2},
    {17, "RequestCallback", 2},
}};
static_assert(std::variant_size_v<Command> == kCommandTags.size(),
              "Command changed: give the new command a tag in durability/src/codec.cc");
static_assert(std::is_same_v<std::variant_alternative_t<0, Command>, UpsertChannel> &&
                  std::is_same_v<std::variant_alternative_t<6, Command>, CreateSession> &&
                  std::is_same_v<std::variant_alternative_t<14, Command>, TransferSession> &&
                  std::is_same_v<std::variant_alternative_t<15, Command>, SetEngineerRank> &&
                  std::is_same_v<std::variant_alternative_t<16, Command>, RequestCallback>,
              "Command's alternatives moved: keep kCommandTags in variant order");

// absl::Duration has a resolution of a quarter nanosecond.
absl::Duration Tick() { return absl::Nanoseconds(1) / 4; }
constexpr uint64_t kTicksPerSecond = 4'000'000'000;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Splits a finite duration into whole seconds (rounded down) and quarter-nanoseconds.
void SplitDuration(absl::Duration d, int64_t* seconds, uint64_t* ticks) {
  absl::Duration rem;
  int64_t s = absl::IDivDuration(d, absl::Seconds(1), &rem);  // truncates toward zero
  if (rem < absl::ZeroDuration()) {
    s -= 1;
    rem += absl::Seconds(1);
  }
  absl::Duration unused;
  *seconds = s;
  *ticks = static_cast<uint64_t>(absl::IDivDuration(rem, Tick(), &unused));
}

// ---------------------------------------------------------------------------------------
// Encoder.

class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}

  // The encoder writes the current format, every field.
  static constexpr uint8_t version() { return kEntryFormatVersion; }

  template <typename T>
  void operator()(const T& value, const char* /*name*/) {
    Value(value);
  }

  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  void Fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void Byte(uint8_t b) { out_->push_back(static_cast<char>(b)); }

  void Value(const int& v) { Varint(ZigZag(v)); }
  void Value(const int64_t& v) { Varint(ZigZag(v)); }
  void Value(const uint64_t& v) { Varint(v); }
  void Value(const bool& v) { Byte(v ? 1 : 0); }
  void Value(const double& v) { Fixed64(std::bit_cast<uint64_t>(v)); }
  void Value(const std::string& v) {
    Varint(v.size());
    out_->append(v);
  }
  template <typename Tag>
  void Value(const StringId<Tag>& v) {
    Value(v.value());
  }
  void Value(const SessionId& v) { Varint(v.value()); }
  void Value(const absl::Duration& d) {
    if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
      Varint(ZigZag(d > absl::ZeroDuration() ? 1 : -1));
      Varint(kTicksPerSecond);
      return;
    }
    int64_t seconds;
    uint64_t ticks;
    SplitDuration(d, &seconds, &ticks);
    Varint(ZigZag(seconds));
    Varint(ticks);
  }
  void Value(const absl::Time& t) { Value(t - absl::UnixEpoch()); }
  template <typename E>
  requires std::is_enum_v<E>
  void Value(const E& e) {
    Varint(ZigZag(static_cast<int64_t>(static_cast<std::underlying_type_t<E>>(e))));
  }
  template <typename T>
  void Value(const std::vector<T>& v) {
    Varint(v.size());
    for (const T& element : v) Value(element);
  }
  template <typename A, typename B>
  void Value(const std::pair<A, B>& p) {
    Value(p.first);
    Value(p.second);
  }
  template <typename T>
  void Value(const std::optional<T>& v) {
    Value(v.has_value());
    if (v.has_value()) Value(*v);
  }
  template <typename T>
  requires HasSchema<T>
  void Value(const T& v) { Schema<T>::Fields(*this, v); }

 private:
  std::string* out_;
};

// ---------------------------------------------------------------------------------------
// Decoder: reads with bounds checks; the first problem is kept and every later read is a
// no-op, so callers check `ok()` only where it matters (loops, variant dispatch, the end).

class Decoder {
 public:
  explicit Decoder(absl::string_view data) : data_(data) {}

  // The format version of the entry being read (set once the version byte is read).
  uint8_t version() const { return version_; }
  void set_version(uint8_t v) { version_ = v; }

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

  // Reads a named field (the name goes into error messages).
  template <typename T>
  void operator()(T& value, const char* name) {
    Push(name);
    Value(value);
    Pop();
  }

  void Push(const char* name) {
    if (depth_ < kMaxDepth) path_[depth_] = {name, -1};
    ++depth_;
  }
  void Pop() { --depth_; }

  void Fail(absl::string_view what) {
    if (!ok()) return;
    status_ = absl::DataLossError(absl::StrFormat("journal entry: %s at %s (byte %d of %d)", what,
                                                  Path(), pos_, data_.size()));
  }

  bool Byte(uint8_t* b) {
    if (!ok()) return false;
    if (remaining() < 1) {
      Fail("truncated");
      return false;
    }
    *b = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }

  bool Varint(uint64_t* v) {
    *v = 0;
    if (!ok()) return false;
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (remaining() < 1) {
        Fail("truncated varint");
        return false;
      }
      uint64_t byte = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && byte > 1) {
        Fail("varint overflows 64 bits");
        return false;
      }
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    Fail("varint longer than 10 bytes");
    return false;
  }

  bool Fixed64(uint64_t* v) {
    *v = 0;
    if (!ok()) return false;
    if (remaining() < 8) {
      Fail("truncated fixed64");
      return false;
    }
    uint64_t result = 0;
    for (int i = 7; i >= 0; --i) result = (result << 8) | static_cast<uint8_t>(data_[pos_ + i]);
    pos_ += 8;
    *v = result;
    return true;
  }

  bool Int64(int64_t* v) {
    uint64_t raw;
    bool ok_read = Varint(&raw);
    *v = ok_read ? UnZigZag(raw) : 0;
    return ok_read;
  }

  bool Int32(int* v) {
    int64_t wide;
    *v = 0;
    if (!Int64(&wide)) return false;
    if (wide < INT_MIN || wide > INT_MAX) {
      Fail(absl::StrCat("value ", wide, " out of range for a 32-bit int"));
      return false;
    }
    *v = static_cast<int>(wide);
    return true;
  }

  // A count of elements or bytes that follow: each takes at least one byte, so a count larger
  // than what is left is corruption (and is refused before anything is allocated).
  bool Count(uint64_t* n, const char* what) {
    if (!Varint(n)) return false;
    if (*n > remaining()) {
      Fail(absl::StrFormat("%s %d exceeds the %d bytes left", what, *n, remaining()));
      return false;
    }
    return true;
  }

  void Value(int& v) { Int32(&v); }
  void Value(int64_t& v) { Int64(&v); }
  void Value(uint64_t& v) { Varint(&v); }
  void Value(bool& v) {
    uint8_t b;
    v = false;
    if (!Byte(&b)) return;
    if (b > 1) {
      --pos_;
      Fail(absl::StrCat("bool byte ", static_cast<int>(b), " is neither 0 nor 1"));
      return;
    }
    v = b == 1;
  }
  void Value(double& v) {
    uint64_t bits;
    Fixed64(&bits);
    v = std::bit_cast<double>(bits);
  }
  void Value(std::string& v) {
    uint64_t n;
    v.clear();
    if (!Count(&n, "string length")) return;
    v.assign(data_.data() + pos_, n);
    pos_ += n;
  }
  template <typename Tag>
  void Value(StringId<Tag>& v) {
    std::string s;
    Value(s);
    v = StringId<Tag>(std::move(s));
  }
  void Value(SessionId& v) {
    uint64_t n;
    Varint(&n);
    v = SessionId(n);
  }
  void Value(absl::Duration& d) {
    d = absl::ZeroDuration();
    int64_t seconds;
    uint64_t ticks;
    if (!Int64(&seconds)) return;
    if (!Varint(&ticks)) return;
    if (ticks == kTicksPerSecond) {
      if (seconds == 1) {
        d = absl::InfiniteDuration();
      } else if (seconds == -1) {
        d = -absl::InfiniteDuration();
      } else {
        Fail(absl::StrCat("infinite duration with sign ", seconds));
      }
      return;
    }
    if (ticks > kTicksPerSecond) {
      Fail(absl::StrCat("sub-second part ", ticks, " exceeds one second"));
      return;
    }
    d = absl::Seconds(seconds) + Tick() * static_cast<int64_t>(ticks);
  }
  void Value(absl::Time& t) {
    absl::Duration d;
    Value(d);
    t = absl::UnixEpoch() + d;
  }
  template <typename E>
  requires std::is_enum_v<E>
  void Value(E& e) {
    static_assert(std::is_same_v<std::underlying_type_t<E>, int>);
    int v;
    Int32(&v);
    e = static_cast<E>(v);
  }
  template <typename T>
  void Value(std::vector<T>& v) {
    uint64_t n;
    v.clear();
    if (!Count(&n, "element count")) return;
    for (uint64_t i = 0; i < n && ok(); ++i) {
      if (depth_ >= 1 && depth_ <= kMaxDepth) path_[depth_ - 1].index = static_cast<int64_t>(i);
      Value(v.emplace_back());
    }
  }
  template <typename A, typename B>
  void Value(std::pair<A, B>& p) {
    (*this)(p.first, "first");
    (*this)(p.second, "second");
  }
  template <typename T>
  void Value(std::optional<T>& v) {
    bool present = false;
    v.reset();
    Value(present);
    if (!ok() || !present) return;
    Value(v.emplace());
  }
  template <typename T>
  requires HasSchema<T>
  void Value(T& v) { Schema<T>::Fields(*this, v); }

 private:
  struct PathElement {
    const char* name;
    int64_t index;  // -1: not a vector element
  };
  static constexpr int kMaxDepth = 8;

  std::string Path() const {
    std::string path;
    for (int i = 0; i < depth_ && i < kMaxDepth; ++i) {
      if (i > 0) path += '.';
      path += path_[i].name;
      if (path_[i].index >= 0) absl::StrAppend(&path, "[", path_[i].index, "]");
    }
    if (path.empty()) path = "start";
    return path;
  }

  absl::string_view data_;
  size_t pos_ = 0;
  absl::Status status_;
  std::array<PathElement, kMaxDepth> path_{};
  int depth_ = 0;
  uint8_t version_ = kEntryFormatVersion;
};

template <size_t I>
void DecodeAlternative(Decoder& decoder, Command* command) {
  auto& value = command->emplace<I>();
  decoder.Push(kCommandTags[I].name);
  decoder.Value(value);
  decoder.Pop();
}

template <size_t... I>
void DecodeCommand(Decoder& decoder, size_t index, Command* command, std::index_sequence<I...>) {
  ((index == I ? DecodeAlternative<I>(decoder, command) : void()), ...);
}

}  // namespace

std::string EncodeEntry(const JournalEntry& entry) {
  std::string out;
  out.reserve(128);
  Encoder encoder(&out);
  encoder.Byte(kEntryFormatVersion);
  encoder.Varint(kCommandTags[entry.command.index()].tag);
  encoder.Value(entry.at);
  encoder.Value(entry.request_id);
  encoder.Fixed64(entry.request_fingerprint);
  std::visit([&encoder](const auto& command) { encoder.Value(command); }, entry.command);
  return out;
}

absl::StatusOr<JournalEntry> DecodeEntry(absl::string_view data) {
  if (data.empty()) return absl::DataLossError("journal entry: empty");
  const uint8_t version = static_cast<uint8_t>(data[0]);
  if (version < kOldestEntryFormatVersion || version > kEntryFormatVersion) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "journal entry: format version %d is not supported (this build reads versions %d to %d)",
        version, kOldestEntryFormatVersion, kEntryFormatVersion));
  }
  Decoder decoder(data);
  uint8_t version_byte;
  decoder.Byte(&version_byte);
  decoder.set_version(version);

  JournalEntry entry;
  uint64_t tag = 0;
  decoder.Push("command tag");
  decoder.Varint(&tag);
  decoder.Pop();
  if (!decoder.ok()) return decoder.status();
  size_t index = kCommandTags.size();
  for (size_t i = 0; i < kCommandTags.size(); ++i) {
    if (kCommandTags[i].tag == tag) index = i;
  }
  if (index == kCommandTags.size() || kCommandTags[index].since > version) {
    return absl::DataLossError(absl::StrFormat(
        "journal entry: unknown command tag %d for format version %d", tag, version));
  }
  decoder(entry.at, "at");
  decoder(entry.request_id, "request_id");
  decoder.Push("request_fingerprint");
  decoder.Fixed64(&entry.request_fingerprint);
  decoder.Pop();
  if (!decoder.ok()) return decoder.status();
  DecodeCommand(decoder, index, &entry.command,
                std::make_index_sequence<std::variant_size_v<Command>>());
  if (!decoder.ok()) return decoder.status();
  if (decoder.remaining() != 0) {
    return absl::DataLossError(absl::StrFormat(
        "journal entry: %d trailing bytes after the %s command (byte %d of %d)",
        decoder.remaining(), kCommandTags[index].name, decoder.position(), data.size()));
  }
  return entry;
}

}  // namespace omniroute::durability
