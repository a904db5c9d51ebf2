// Engine snapshots: the whole routing state as bytes, and back.
//
// Format, version 2 (all fixed-width integers little-endian):
//
//   "ORSNAP" | version: fixed32 | body length: fixed64 | body | XXH64(everything before): fixed64
//
// Version 2 added, and version 1 (still read) lacks: in a queue configuration, each customer
// rule's name, min_vip_level and language (after `tag`) and min_tier (last: a presence byte
// and the tier), and appointment_priority (after the rules); in a session, after its timer,
// the minimum tier, the labels of the rules applied, the appointment window, the time it was
// last assigned and the callback number; the SCHEDULED state and the window-open timer. A
// version 1 snapshot loads with those at their defaults (so a session assigned before has no
// known assignment time), the labels of the rules applied recomputed from the session's queue
// (version 1 rules have only a tag condition).
//
// The body is a sequence of sections, each opened by a one-byte tag: 'O' engine options,
// 'T' clock and sequence numbers, 'C' channels, 'K' skill names, 'Q' queues, 'E' engineers,
// 'S' the session slab (slot by slot, holes and the free list included, so that slots and
// the timers naming them keep their numbers), 'Z' end. Inside, integers are LEB128 varints
// (signed ones zig-zag encoded), strings are a varint length and the bytes, an optional index
// is a varint of index + 1 (0 = none), durations and times are a tag byte (0: microseconds
// follow, 1: +infinity, 2: -infinity, 3: exact seconds and quarter nanoseconds follow).
//
// What is not stored is rebuilt: the name -> index maps, the id -> slot map, each queue's
// waiting order, the timer heap (from the one live timer of each session and engineer) and
// the matcher's indexes (the engine's matcher is re-attached and told of everything).
//
// Loading checks everything the engine relies on to index safely and to route correctly:
// every index in range, names unique, enums known, strategies registered, configurations
// valid, the engineer <-> session and queue <-> engineer relations and every counter
// consistent. Anything else is an error naming the entity and field at fault, and the engine
// that asked is left as it was.

#include "snapshot.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "omniroute/engine.h"
#include "validate.h"

namespace omniroute::internal {
namespace {

// Times in microseconds must stay within this, so that adding a duration the engine accepts
// (at most a year) or ageing arithmetic never overflows.
inline constexpr int64_t kMaxAbsMicros = int64_t{1} << 61;
inline constexpr int64_t kYearMicros = int64_t{365} * 24 * 3600 * 1'000'000;
inline constexpr int kMaxInt = std::numeric_limits<int>::max();

// One quarter of a nanosecond: absl::Duration's resolution.
absl::Duration Tick() { return absl::Nanoseconds(1) / 4; }

uint64_t LoadLe64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
uint32_t LoadLe32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
void StoreLe64(char* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
void StoreLe32(char* p, uint32_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}

// ------------------------------------------------------------------------------------------
// Writing

// A big snapshot buffer is fresh memory: on Linux, ask for transparent huge pages so that
// filling it takes a few hundred page faults instead of one per 4 KiB (which dominates the
// save of a large state on some virtual machines). Only advice; no effect elsewhere.
void AdviseHugePages(char* data, size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (size < 4 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)size;
#endif
}

class Writer {
 public:
  // `reserve`: the expected size. The capacity is taken at once (untouched memory costs
  // nothing until written), the size grows in small steps just ahead of the writing, so the
  // zero-filling that std::string::resize does happens in cache.
  explicit Writer(size_t reserve) {
    buf_.reserve(reserve);
    AdviseHugePages(buf_.data(), buf_.capacity());
    buf_.resize(std::min(reserve, kStep));
    cur_ = buf_.data();
    end_ = cur_ + buf_.size();
  }

  [[gnu::always_inline]] void Byte(uint8_t b) {
    Room(1);
    *cur_++ = static_cast<char>(b);
  }
  [[gnu::always_inline]] void Bool(bool b) { Byte(b ? 1 : 0); }
  [[gnu::always_inline]] void Varint(uint64_t v) {
    Room(10);
    if (v < 0x80) {
      *cur_++ = static_cast<char>(v);
      return;
    }
    VarintSlow(v);
  }
  [[gnu::always_inline]] void Svarint(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Fixed32(uint32_t v) {
    Room(4);
    StoreLe32(cur_, v);
    cur_ += 4;
  }
  void Fixed64(uint64_t v) {
    Room(8);
    StoreLe64(cur_, v);
    cur_ += 8;
  }
  [[gnu::always_inline]] void Raw(absl::string_view s) {
    Room(s.size());
    if (!s.empty()) std::memcpy(cur_, s.data(), s.size());
    cur_ += s.size();
  }
  [[gnu::always_inline]] void Str(absl::string_view s) {
    Varint(s.size());
    Raw(s);
  }
  [[gnu::always_inline]] void Index(uint32_t i) { Varint(i); }
  [[gnu::always_inline]] void OptIndex(uint32_t i) { Varint(i == kNone ? 0 : uint64_t{i} + 1); }
  // A duration; `base` (microseconds) is subtracted from the common whole-microsecond case,
  // so that times near the engine's clock take a few bytes.
  void Dur(absl::Duration d, int64_t base = 0) {
    if (d == absl::InfiniteDuration()) return Byte(1);
    if (d == -absl::InfiniteDuration()) return Byte(2);
    const int64_t us = absl::ToInt64Microseconds(d);
    if (absl::Microseconds(us) == d && us > -kMaxAbsMicros && us < kMaxAbsMicros) {
      Byte(0);
      Svarint(us - base);
      return;
    }
    absl::Duration rem;
    const int64_t secs = absl::IDivDuration(d, absl::Seconds(1), &rem);
    const int64_t ticks = absl::IDivDuration(rem, Tick(), &rem);
    Byte(3);
    Svarint(secs);
    Svarint(ticks);
  }
  void Time(absl::Time t, int64_t base = 0) { Dur(t - absl::UnixEpoch(), base); }

  size_t size() const { return static_cast<size_t>(cur_ - buf_.data()); }
  char* at(size_t pos) { return buf_.data() + pos; }
  std::string Finish() {
    buf_.resize(size());
    return std::move(buf_);
  }

 private:
  static constexpr size_t kStep = 64 * 1024;

  [[gnu::always_inline]] void Room(size_t n) {
    if (static_cast<size_t>(end_ - cur_) < n) [[unlikely]] Grow(n);
  }
  [[gnu::noinline]] void Grow(size_t n) {
    const size_t used = size();
    size_t want = buf_.size() + std::max(n, kStep);
    if (want > buf_.capacity()) want = std::max(want, buf_.capacity() + buf_.capacity() / 2);
    buf_.resize(want);
    cur_ = buf_.data() + used;
    end_ = buf_.data() + buf_.size();
  }
  [[gnu::noinline]] void VarintSlow(uint64_t v) {
    while (v >= 0x80) {
      *cur_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *cur_++ = static_cast<char>(v);
  }

  std::string buf_;
  char* cur_ = nullptr;
  char* end_ = nullptr;
};

void PutChannelSpec(Writer& w, const ChannelSpec& c) {
  w.Str(c.id.value());
  w.Svarint(c.cost);
  w.Svarint(c.default_max);
  w.Bool(c.bot_first);
}

void PutRequirement(Writer& w, const Requirement& r) {
  w.Str(r.skill.value());
  w.Svarint(r.min_level);
}

void PutReqSet(Writer& w, const ReqSet& reqs) {
  w.Varint(reqs.size());
  for (const Req& r : reqs) {
    w.Index(r.skill);
    w.Svarint(r.level);
  }
}

void PutQueueConfig(Writer& w, const QueueConfig& c) {
  w.Str(c.id.value());
  w.Str(c.display_name);
  w.Dur(c.ageing_interval);
  w.Dur(c.service_level_threshold);
  w.Fixed64(std::bit_cast<uint64_t>(c.service_level_goal));
  w.Varint(c.requirements.size());
  for (const Requirement& r : c.requirements) PutRequirement(w, r);
  w.Varint(c.relaxation.size());
  for (const RelaxationStep& r : c.relaxation) {
    w.Dur(r.after);
    w.Svarint(static_cast<int>(r.action));
    w.Str(r.skill.value());
    w.Svarint(r.level);
  }
  w.Dur(c.overflow_after);
  w.Str(c.overflow_queue.value());
  w.Varint(c.channel_limits.size());
  for (const ChannelLimit& l : c.channel_limits) {
    w.Str(l.channel.value());
    w.Svarint(l.max_waiting);
  }
  w.Varint(c.tag_rules.size());
  for (const TagRule& t : c.tag_rules) {
    w.Str(t.name);
    w.Str(t.tag);
    w.Svarint(t.min_vip_level);
    w.Str(t.language);
    w.Svarint(t.priority_boost);
    PutRequirement(w, t.requirement);
    w.Bool(t.min_tier.has_value());
    if (t.min_tier) w.Svarint(static_cast<int>(*t.min_tier));
  }
  w.Svarint(c.appointment_priority);
  w.Str(c.strategy);
  w.Svarint(static_cast<int>(c.delivery));
  w.Dur(c.offer_timeout);
  w.Svarint(c.grab_fanout);
  w.Dur(c.grab_window);
  w.Dur(c.preferred_timeout);
  w.Dur(c.last_engineer_timeout);
  w.Svarint(c.vip_min_level);
  w.Svarint(static_cast<int>(c.vip_min_tier));
  w.Dur(c.vip_timeout);
  w.Dur(c.wrap_up);
}

void PutEngineerConfig(Writer& w, const EngineerConfig& c) {
  w.Str(c.id.value());
  w.Str(c.display_name);
  w.Varint(c.skills.size());
  for (const SkillLevel& s : c.skills) {
    w.Str(s.skill.value());
    w.Svarint(s.level);
  }
  w.Svarint(static_cast<int>(c.tier));
  w.Svarint(c.score);
  w.Svarint(c.budget);
  w.Varint(c.channels.size());
  for (const ChannelCapacity& cc : c.channels) {
    w.Str(cc.channel.value());
    w.Svarint(cc.max);
    w.Svarint(cc.cost);
  }
  w.Varint(c.queues.size());
  for (const QueueId& q : c.queues) w.Str(q.value());
}

void PutQueue(Writer& w, const QueueState& q) {
  w.Bool(q.live);
  PutQueueConfig(w, q.config);
  w.Str(q.strategy_name);
  PutReqSet(w, q.base_reqs);
  w.Varint(q.relax.size());
  for (const RelaxStep& r : q.relax) {
    w.Svarint(r.after_us);
    w.Svarint(static_cast<int>(r.action));
    w.OptIndex(r.skill);
    w.Svarint(r.level);
  }
  w.OptIndex(q.overflow_target);
  w.Svarint(q.ageing_us);
  w.Varint(q.channel_limits.size());
  for (const auto& [channel, max] : q.channel_limits) {
    w.Index(channel);
    w.Svarint(max);
  }
  w.Varint(q.tag_rules.size());
  for (const QueueState::InternedTagRule& t : q.tag_rules) {
    w.Str(t.tag);
    w.Svarint(t.boost);
    w.Bool(t.req.has_value());
    if (t.req) {
      w.Index(t.req->skill);
      w.Svarint(t.req->level);
    }
  }
  w.Varint(q.members.size());
  for (uint32_t e : q.members) w.Index(e);
  w.Varint(q.assignment_counter);
  w.Svarint(q.queued);
  w.Svarint(q.offered);
  w.Varint(q.waiting_by_channel.size());
  for (int n : q.waiting_by_channel) w.Svarint(n);
}

void PutEngineer(Writer& w, const EngineerState& e) {
  w.Bool(e.live);
  PutEngineerConfig(w, e.config);
  w.Varint(e.skills.size());
  for (const Req& r : e.skills) {
    w.Index(r.skill);
    w.Svarint(r.level);
  }
  w.Varint(e.channels.size());
  for (const EngineerChannel& c : e.channels) {
    w.Index(c.channel);
    w.Svarint(c.max);
    w.Svarint(c.cost);
    w.Svarint(c.active);
  }
  w.Varint(e.queues.size());
  for (const Membership& m : e.queues) {
    w.Index(m.queue);
    w.Varint(m.last_assignment);
  }
  w.Svarint(static_cast<int>(e.presence));
  w.Str(e.reason);
  w.Time(e.presence_since);
  w.Svarint(e.idle_since_us);
  w.Svarint(e.used_budget);
  w.Svarint(e.missed_in_row);
  w.Varint(e.sessions.size());
  for (uint64_t id : e.sessions) w.Varint(id);
  w.Varint(e.grab_offers.size());
  for (uint64_t id : e.grab_offers) w.Varint(id);
  w.Svarint(e.timer_at);
  w.Varint(e.timer_seq);
}

void PutSession(Writer& w, const Session& s, int64_t now) {
  w.Varint(s.id);
  w.Index(s.channel);
  w.Index(s.queue);
  const CustomerSnapshot& c = s.customer;
  w.Str(c.id.value());
  w.Svarint(c.vip_level);
  w.Varint(c.tags.size());
  for (const std::string& t : c.tags) w.Str(t);
  w.Str(c.language);
  w.Varint(c.preferred_engineers.size());
  for (const EngineerId& e : c.preferred_engineers) w.Str(e.value());
  w.Str(c.last_engineer.value());
  w.Varint(s.configured.size());
  for (const Requirement& r : s.configured) PutRequirement(w, r);
  PutReqSet(w, s.session_reqs);
  PutReqSet(w, s.base);
  PutReqSet(w, s.in_force);
  w.Svarint(s.base_priority);
  w.Svarint(s.priority);
  w.Varint(s.attributes.size());
  for (const auto& [key, value] : s.attributes) {
    w.Str(key);
    w.Str(value);
  }
  w.Str(s.intent);
  w.Str(s.bot_summary);
  w.Byte(static_cast<uint8_t>(s.state));
  w.Byte(static_cast<uint8_t>(s.stage));
  w.Svarint(s.relax_step);
  w.Time(s.created_at, now);
  w.Svarint(s.waiting_since_us - now);
  w.Svarint(s.queue_entered_us - now);
  w.Varint(s.preferred.size());
  for (uint32_t e : s.preferred) w.Index(e);
  w.OptIndex(s.last_engineer);
  w.Byte(static_cast<uint8_t>((s.vip ? 1 : 0) | (s.overflowed ? 2 : 0) |
                              (s.transfer_target ? 4 : 0)));
  w.Svarint(s.transfer_timeout_us);
  w.OptIndex(s.engineer);
  w.Svarint(s.cost_taken);
  w.Varint(s.grab_offered.size());
  for (uint32_t e : s.grab_offered) w.Index(e);
  w.Varint(s.claims.size());
  for (const Claim& cl : s.claims) {
    w.Index(cl.engineer);
    w.Varint(cl.seq);
  }
  w.Varint(s.declined.size());
  for (uint32_t e : s.declined) w.Index(e);
  w.Varint(s.timer_seq);
  w.Svarint(s.timer_seq != 0 ? s.timer_at - now : s.timer_at);
  w.Byte(static_cast<uint8_t>(s.timer_kind));
  // Version 2.
  w.Byte(static_cast<uint8_t>(s.min_tier));
  w.Varint(s.rules_applied.size());
  for (const std::string& label : s.rules_applied) w.Str(label);
  w.Bool(s.appointment());
  if (s.appointment()) {
    w.Time(s.window_start, now);
    w.Time(s.window_end, now);
  }
  w.Bool(s.assigned_at != absl::InfinitePast());
  if (s.assigned_at != absl::InfinitePast()) w.Time(s.assigned_at, now);
  w.Str(s.callback_number);
}

// ------------------------------------------------------------------------------------------
// Reading

// Reads the body. The first problem is kept (naming where it was found) and stops the
// reading: every later read returns zero without consuming anything.
class Reader {
 public:
  Reader(const char* p, const char* end, uint32_t version)
      : p_(p), end_(end), version_(version) {}

  bool ok() const { return ok_; }
  // The snapshot's format version.
  uint32_t version() const { return version_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  const std::string& error() const { return error_; }

  // Names the entity being read, for error messages.
  void At(const char* kind, int64_t index = -1) {
    kind_ = kind;
    index_ = index;
  }

  void Fail(absl::string_view field, absl::string_view problem) {
    if (!ok_) return;
    ok_ = false;
    p_ = end_;
    error_ = index_ >= 0 ? absl::StrCat("snapshot: ", kind_, "[", index_, "].", field, ": ",
                                        problem)
                         : absl::StrCat("snapshot: ", kind_, ".", field, ": ", problem);
  }

  uint8_t Byte(const char* field) {
    if (p_ == end_) {
      Truncated(field);
      return 0;
    }
    return static_cast<uint8_t>(*p_++);
  }
  bool Bool(const char* field) {
    const uint8_t b = Byte(field);
    if (b > 1) Fail(field, absl::StrCat("boolean byte ", b, " is neither 0 nor 1"));
    return b == 1;
  }
  uint64_t Varint(const char* field) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) {
        Truncated(field);
        return 0;
      }
      const uint8_t b = static_cast<uint8_t>(*p_++);
      if (shift == 63 && b > 1) break;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    Fail(field, "malformed varint");
    return 0;
  }
  int64_t Svarint(const char* field) {
    const uint64_t u = Varint(field);
    return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  }
  uint64_t Fixed64(const char* field) {
    if (left() < 8) {
      Truncated(field);
      return 0;
    }
    const uint64_t v = LoadLe64(p_);
    p_ += 8;
    return v;
  }
  // A signed integer within [lo, hi].
  int64_t Int(const char* field, int64_t lo, int64_t hi) {
    const int64_t v = Svarint(field);
    if (ok_ && (v < lo || v > hi)) {
      Fail(field, absl::StrCat(v, " is outside ", lo, "..", hi));
      return lo;
    }
    return v;
  }
  int I32(const char* field, int lo, int hi) { return static_cast<int>(Int(field, lo, hi)); }
  int64_t Micros(const char* field) { return Int(field, -kMaxAbsMicros, kMaxAbsMicros); }
  // Microseconds written relative to `base` (itself within the bounds).
  int64_t MicrosFrom(const char* field, int64_t base) {
    const int64_t v = base + Int(field, -2 * kMaxAbsMicros, 2 * kMaxAbsMicros);
    if (ok_ && (v < -kMaxAbsMicros || v > kMaxAbsMicros)) {
      Fail(field, absl::StrCat(v, " is outside the range of times"));
      return 0;
    }
    return v;
  }
  template <typename E>
  E Enum(const char* field, int lo, int hi) {
    return static_cast<E>(I32(field, lo, hi));
  }
  template <typename E>
  E ByteEnum(const char* field, int lo, int hi) {
    const uint8_t b = Byte(field);
    if (ok_ && (b < lo || b > hi)) {
      Fail(field, absl::StrCat("unknown value ", b));
      return static_cast<E>(lo);
    }
    return static_cast<E>(b);
  }
  // An index into a table of `limit` entries (`what`, for the message).
  uint32_t Index(const char* field, size_t limit, const char* what) {
    const uint64_t v = Varint(field);
    if (ok_ && v >= limit) {
      Fail(field, absl::StrCat(what, " index ", v, " out of range (", limit, " ", what, "s)"));
      return 0;
    }
    return static_cast<uint32_t>(v);
  }
  uint32_t OptIndex(const char* field, size_t limit, const char* what) {
    const uint64_t v = Varint(field);
    if (v == 0) return kNone;
    if (ok_ && v - 1 >= limit) {
      Fail(field,
           absl::StrCat(what, " index ", v - 1, " out of range (", limit, " ", what, "s)"));
      return kNone;
    }
    return static_cast<uint32_t>(v - 1);
  }
  // An element count: every element takes at least one byte, so a count larger than what is
  // left is garbage (and is never used to allocate).
  size_t Count(const char* field, size_t max = SIZE_MAX) {
    const uint64_t v = Varint(field);
    if (ok_ && (v > left() || v > max)) {
      Fail(field, absl::StrCat("count ", v, v > left() ? " exceeds the bytes left" : " too large"));
      return 0;
    }
    return static_cast<size_t>(v);
  }
  void Str(const char* field, std::string* out) {
    const uint64_t n = Varint(field);
    if (!ok_) return;
    if (n > left()) {
      Truncated(field);
      return;
    }
    out->assign(p_, static_cast<size_t>(n));
    p_ += n;
  }
  std::string Str(const char* field) {
    std::string s;
    Str(field, &s);
    return s;
  }
  absl::Duration Dur(const char* field, int64_t base = 0) {
    switch (Byte(field)) {
      case 0:
        return absl::Microseconds(MicrosFrom(field, base));
      case 1:
        return absl::InfiniteDuration();
      case 2:
        return -absl::InfiniteDuration();
      case 3: {
        const int64_t secs = Svarint(field);
        const int64_t ticks = Svarint(field);
        if (ticks <= -4'000'000'000 || ticks >= 4'000'000'000) {
          Fail(field, "sub-second part out of range");
          return absl::ZeroDuration();
        }
        return absl::Seconds(secs) + Tick() * ticks;
      }
      default:
        Fail(field, "unknown duration encoding");
        return absl::ZeroDuration();
    }
  }
  absl::Time Time(const char* field, int64_t base = 0) {
    return absl::UnixEpoch() + Dur(field, base);
  }
  void Section(char tag, const char* name) {
    At(name);
    const uint8_t b = Byte("tag");
    if (ok_ && b != static_cast<uint8_t>(tag)) {
      Fail("tag", absl::StrCat("expected section '", std::string(1, tag), "', found byte ", b));
    }
  }

 private:
  void Truncated(const char* field) { Fail(field, "runs past the end of the snapshot body"); }

  const char* p_;
  const char* end_;
  const uint32_t version_;
  bool ok_ = true;
  std::string error_;
  const char* kind_ = "header";
  int64_t index_ = -1;
};

ChannelSpec GetChannelSpec(Reader& r) {
  ChannelSpec c;
  c.id = ChannelId(r.Str("id"));
  c.cost = r.I32("cost", 0, kMaxBudget);
  c.default_max = r.I32("default_max", 0, 1000);
  c.bot_first = r.Bool("bot_first");
  return c;
}

Requirement GetRequirement(Reader& r) {
  Requirement req;
  req.skill = SkillId(r.Str("skill"));
  req.min_level = r.I32("min_level", -kMaxInt, kMaxInt);
  return req;
}

template <typename Set>
void GetReqSet(Reader& r, const char* field, size_t skills, Set* out) {
  const size_t n = r.Count(field);
  out->clear();
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Req req;
    req.skill = r.Index(field, skills, "skill");
    req.level = r.I32(field, 0, 5);
    out->push_back(req);
  }
}

QueueConfig GetQueueConfig(Reader& r) {
  QueueConfig c;
  c.id = QueueId(r.Str("config.id"));
  r.Str("config.display_name", &c.display_name);
  c.ageing_interval = r.Dur("config.ageing_interval");
  c.service_level_threshold = r.Dur("config.service_level_threshold");
  c.service_level_goal = std::bit_cast<double>(r.Fixed64("config.service_level_goal"));
  size_t n = r.Count("config.requirements");
  for (size_t i = 0; i < n && r.ok(); ++i) c.requirements.push_back(GetRequirement(r));
  n = r.Count("config.relaxation");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    RelaxationStep s;
    s.after = r.Dur("config.relaxation.after");
    s.action = r.Enum<RelaxAction>("config.relaxation.action", 1, 3);
    s.skill = SkillId(r.Str("config.relaxation.skill"));
    s.level = r.I32("config.relaxation.level", -kMaxInt, kMaxInt);
    c.relaxation.push_back(std::move(s));
  }
  c.overflow_after = r.Dur("config.overflow_after");
  c.overflow_queue = QueueId(r.Str("config.overflow_queue"));
  n = r.Count("config.channel_limits");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    ChannelLimit l;
    l.channel = ChannelId(r.Str("config.channel_limits.channel"));
    l.max_waiting = r.I32("config.channel_limits.max_waiting", -kMaxInt, kMaxInt);
    c.channel_limits.push_back(std::move(l));
  }
  n = r.Count("config.tag_rules");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    TagRule t;
    if (r.version() >= 2) r.Str("config.tag_rules.name", &t.name);
    r.Str("config.tag_rules.tag", &t.tag);
    if (r.version() >= 2) {
      t.min_vip_level = r.I32("config.tag_rules.min_vip_level", -kMaxInt, kMaxInt);
      r.Str("config.tag_rules.language", &t.language);
    }
    t.priority_boost = r.I32("config.tag_rules.priority_boost", -kMaxInt, kMaxInt);
    t.requirement = GetRequirement(r);
    if (r.version() >= 2 && r.Bool("config.tag_rules.has_min_tier")) {
      t.min_tier = r.Enum<Tier>("config.tag_rules.min_tier", 1, 5);
    }
    c.tag_rules.push_back(std::move(t));
  }
  if (r.version() >= 2) {
    c.appointment_priority = r.I32("config.appointment_priority", -kMaxInt, kMaxInt);
  }
  r.Str("config.strategy", &c.strategy);
  c.delivery = r.Enum<DeliveryMode>("config.delivery", 1, 2);
  c.offer_timeout = r.Dur("config.offer_timeout");
  c.grab_fanout = r.I32("config.grab_fanout", -kMaxInt, kMaxInt);
  c.grab_window = r.Dur("config.grab_window");
  c.preferred_timeout = r.Dur("config.preferred_timeout");
  c.last_engineer_timeout = r.Dur("config.last_engineer_timeout");
  c.vip_min_level = r.I32("config.vip_min_level", -kMaxInt, kMaxInt);
  c.vip_min_tier = r.Enum<Tier>("config.vip_min_tier", 1, 5);
  c.vip_timeout = r.Dur("config.vip_timeout");
  c.wrap_up = r.Dur("config.wrap_up");
  return c;
}

EngineerConfig GetEngineerConfig(Reader& r) {
  EngineerConfig c;
  c.id = EngineerId(r.Str("config.id"));
  r.Str("config.display_name", &c.display_name);
  size_t n = r.Count("config.skills");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    SkillLevel s;
    s.skill = SkillId(r.Str("config.skills.skill"));
    s.level = r.I32("config.skills.level", 1, 5);
    c.skills.push_back(std::move(s));
  }
  c.tier = r.Enum<Tier>("config.tier", 1, 5);
  c.score = r.Int("config.score", -kMaxAbsMicros, kMaxAbsMicros);
  c.budget = r.I32("config.budget", 0, kMaxBudget);
  n = r.Count("config.channels");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    ChannelCapacity cc;
    cc.channel = ChannelId(r.Str("config.channels.channel"));
    cc.max = r.I32("config.channels.max", 0, 1000);
    cc.cost = r.I32("config.channels.cost", -1, kMaxBudget);
    c.channels.push_back(std::move(cc));
  }
  n = r.Count("config.queues");
  for (size_t i = 0; i < n && r.ok(); ++i) c.queues.push_back(QueueId(r.Str("config.queues")));
  return c;
}

// Reads a strictly ascending list of session ids.
void GetIdSet(Reader& r, const char* field, SessionIdSet* out) {
  const size_t n = r.Count(field);
  uint64_t prev = 0;
  for (size_t i = 0; i < n && r.ok(); ++i) {
    const uint64_t id = r.Varint(field);
    if (r.ok() && id <= prev) {
      r.Fail(field, "session ids not strictly ascending (or zero)");
      return;
    }
    out->insert(id);
    prev = id;
  }
}

void GetQueue(Reader& r, QueueState& q, size_t channels, size_t skills, size_t queues,
              size_t engineers) {
  q.live = r.Bool("live");
  q.config = GetQueueConfig(r);
  r.Str("strategy", &q.strategy_name);
  if (!r.ok()) return;
  if (absl::Status s = ValidateQueueConfigFields(q.config); !s.ok()) {
    r.Fail("config", s.message());
    return;
  }
  q.strategy = MakeStrategy(q.strategy_name);
  if (q.strategy == nullptr) {
    r.Fail("strategy", absl::StrCat("unknown strategy \"", q.strategy_name, "\""));
    return;
  }
  GetReqSet(r, "base_reqs", skills, &q.base_reqs);
  size_t n = r.Count("relax", 64);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    RelaxStep s;
    s.after_us = r.Int("relax.after", 0, kYearMicros);
    s.action = r.Enum<RelaxAction>("relax.action", 1, 3);
    s.skill = r.OptIndex("relax.skill", skills, "skill");
    s.level = r.I32("relax.level", -kMaxInt, kMaxInt);
    q.relax.push_back(s);
  }
  q.overflow_target = r.OptIndex("overflow_target", queues, "queue");
  q.ageing_us = r.Int("ageing", 0, kYearMicros);
  n = r.Count("channel_limits");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    const uint32_t ch = r.Index("channel_limits.channel", channels, "channel");
    const int max = r.I32("channel_limits.max", -kMaxInt, kMaxInt);
    q.channel_limits.emplace_back(ch, max);
  }
  n = r.Count("tag_rules");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    QueueState::InternedTagRule t;
    r.Str("tag_rules.tag", &t.tag);
    t.boost = r.I32("tag_rules.boost", -kMaxPriority, kMaxPriority);
    if (r.Bool("tag_rules.has_req")) {
      Req req;
      req.skill = r.Index("tag_rules.req.skill", skills, "skill");
      req.level = r.I32("tag_rules.req.level", 0, 5);
      t.req = req;
    }
    q.tag_rules.push_back(std::move(t));
  }
  // The rest of each interned rule (conditions, texts) comes from the configuration.
  if (r.ok() && q.tag_rules.size() != q.config.tag_rules.size()) {
    r.Fail("tag_rules", absl::StrCat(q.tag_rules.size(), " interned rules for ",
                                     q.config.tag_rules.size(), " configured"));
  }
  for (size_t i = 0; i < q.tag_rules.size() && r.ok(); ++i) {
    QueueState::InternedTagRule full =
        InternTagRule(q.config.tag_rules[i], [](const std::string&) { return 0u; });
    full.req = q.tag_rules[i].req;
    q.tag_rules[i] = std::move(full);
  }
  n = r.Count("members");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    const uint32_t e = r.Index("members", engineers, "engineer");
    if (r.ok() && !q.members.empty() && e <= q.members.back()) {
      r.Fail("members", "not strictly ascending");
    }
    q.members.push_back(e);
  }
  q.assignment_counter = r.Varint("assignment_counter");
  q.queued = r.I32("queued", 0, kMaxInt);
  q.offered = r.I32("offered", 0, kMaxInt);
  n = r.Count("waiting_by_channel");
  if (r.ok() && n != channels) {
    r.Fail("waiting_by_channel", absl::StrCat(n, " entries for ", channels, " channels"));
  }
  q.waiting_by_channel.assign(n, 0);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    q.waiting_by_channel[i] = r.I32("waiting_by_channel", 0, kMaxInt);
  }
}

void GetEngineer(Reader& r, EngineerState& e, size_t channels, size_t skills, size_t queues) {
  e.live = r.Bool("live");
  e.config = GetEngineerConfig(r);
  size_t n = r.Count("skills");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Req req;
    req.skill = r.Index("skills.skill", skills, "skill");
    req.level = r.I32("skills.level", 1, 5);
    if (r.ok() && !e.skills.empty() && req.skill <= e.skills.back().skill) {
      r.Fail("skills", "not strictly ascending by skill");
    }
    e.skills.push_back(req);
  }
  n = r.Count("channels");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    EngineerChannel c;
    c.channel = r.Index("channels.channel", channels, "channel");
    c.max = r.I32("channels.max", 0, 1000);
    c.cost = r.I32("channels.cost", 0, kMaxBudget);
    c.active = r.I32("channels.active", 0, kMaxInt);
    for (const EngineerChannel& other : e.channels) {
      if (r.ok() && other.channel == c.channel) r.Fail("channels", "channel listed twice");
    }
    e.channels.push_back(c);
  }
  n = r.Count("queues");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Membership m;
    m.queue = r.Index("queues.queue", queues, "queue");
    m.last_assignment = r.Varint("queues.last_assignment");
    if (r.ok() && !e.queues.empty() && m.queue <= e.queues.back().queue) {
      r.Fail("queues", "not strictly ascending");
    }
    e.queues.push_back(m);
  }
  e.presence = r.Enum<Presence>("presence", 1, 4);
  r.Str("reason", &e.reason);
  e.presence_since = r.Time("presence_since");
  e.idle_since_us = r.Micros("idle_since");
  e.used_budget = r.I32("used_budget", 0, kMaxInt);
  e.missed_in_row = r.I32("missed_in_row", 0, 1'000'000'000);
  GetIdSet(r, "sessions", &e.sessions);
  GetIdSet(r, "grab_offers", &e.grab_offers);
  e.timer_at = r.Micros("timer_at");
  e.timer_seq = r.Varint("timer_seq");
}

void GetSession(Reader& r, Session& s, int64_t now, size_t channels, size_t skills,
                size_t queues, size_t engineers) {
  s.id = r.Varint("id");
  if (r.ok() && s.id == 0) r.Fail("id", "zero is not a session id");
  s.channel = r.Index("channel", channels, "channel");
  s.queue = r.Index("queue", queues, "queue");
  CustomerSnapshot& c = s.customer;
  c.id = CustomerId(r.Str("customer.id"));
  c.vip_level = r.I32("customer.vip_level", 0, 9);
  size_t n = r.Count("customer.tags");
  c.tags.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) c.tags.push_back(r.Str("customer.tags"));
  r.Str("customer.language", &c.language);
  n = r.Count("customer.preferred_engineers");
  c.preferred_engineers.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    c.preferred_engineers.push_back(EngineerId(r.Str("customer.preferred_engineers")));
  }
  c.last_engineer = EngineerId(r.Str("customer.last_engineer"));
  n = r.Count("configured");
  s.configured.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) s.configured.push_back(GetRequirement(r));
  GetReqSet(r, "session_reqs", skills, &s.session_reqs);
  GetReqSet(r, "base", skills, &s.base);
  GetReqSet(r, "in_force", skills, &s.in_force);
  s.base_priority = r.I32("base_priority", 0, kMaxPriority);
  s.priority = r.I32("priority", 0, 10 * kMaxPriority);
  n = r.Count("attributes");
  s.attributes.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    std::string key = r.Str("attributes.key");
    std::string value = r.Str("attributes.value");
    s.attributes.emplace_back(std::move(key), std::move(value));
  }
  r.Str("intent", &s.intent);
  r.Str("bot_summary", &s.bot_summary);
  s.state = r.ByteEnum<SessionState>("state", 1, r.version() >= 2 ? 11 : 10);
  s.stage = r.ByteEnum<RoutingStage>("stage", 1, 4);
  s.relax_step = r.I32("relax_step", 0, 64);
  s.created_at = r.Time("created_at", now);
  s.waiting_since_us = r.MicrosFrom("waiting_since", now);
  s.queue_entered_us = r.MicrosFrom("queue_entered", now);
  n = r.Count("preferred");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    s.preferred.push_back(r.Index("preferred", engineers, "engineer"));
  }
  s.last_engineer = r.OptIndex("last_engineer", engineers, "engineer");
  const uint8_t flags = r.Byte("flags");
  if (flags > 7) r.Fail("flags", absl::StrCat("unknown flag bits in ", flags));
  s.vip = (flags & 1) != 0;
  s.overflowed = (flags & 2) != 0;
  s.transfer_target = (flags & 4) != 0;
  s.transfer_timeout_us = r.Int("transfer_timeout", 0, kYearMicros);
  s.engineer = r.OptIndex("engineer", engineers, "engineer");
  s.cost_taken = r.I32("cost_taken", 0, kMaxBudget);
  n = r.Count("grab_offered");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    s.grab_offered.push_back(r.Index("grab_offered", engineers, "engineer"));
  }
  n = r.Count("claims");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Claim cl;
    cl.engineer = r.Index("claims.engineer", engineers, "engineer");
    cl.seq = r.Varint("claims.seq");
    s.claims.push_back(cl);
  }
  n = r.Count("declined");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    s.declined.push_back(r.Index("declined", engineers, "engineer"));
  }
  s.timer_seq = r.Varint("timer_seq");
  s.timer_at = s.timer_seq != 0 ? r.MicrosFrom("timer_at", now) : r.Micros("timer_at");
  s.timer_kind = r.ByteEnum<TimerKind>("timer_kind", 1, r.version() >= 2 ? 7 : 5);
  if (r.ok() && s.timer_kind == TimerKind::kPresenceEnd) {
    r.Fail("timer_kind", "an engineer's timer kind on a session");
  }
  if (r.version() < 2) return;
  s.min_tier = r.ByteEnum<int>("min_tier", 0, 5);
  n = r.Count("rules_applied", kMaxListLength);
  s.rules_applied.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) s.rules_applied.push_back(r.Str("rules_applied"));
  if (r.Bool("has_window")) {
    s.window_start = r.Time("window_start", now);
    s.window_end = r.Time("window_end", now);
    if (r.ok() && (s.window_start == absl::InfinitePast() ||
                   s.window_start == absl::InfiniteFuture() ||
                   s.window_end == absl::InfiniteFuture() || s.window_end <= s.window_start)) {
      r.Fail("window", "not a finite window ending after it starts");
    }
  }
  if (r.Bool("has_assigned_at")) {
    s.assigned_at = r.Time("assigned_at", now);
    if (r.ok() && (s.assigned_at == absl::InfinitePast() ||
                   s.assigned_at == absl::InfiniteFuture())) {
      r.Fail("assigned_at", "not a finite time");
    }
  }
  r.Str("callback_number", &s.callback_number);
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("snapshot: ", what));
}

// The per-session half of the cross-checks, and the structures derived from sessions (the
// id -> slot map, waiting orders, session timers). It is fed each slot as soon as the slot is
// read, while the session is still in cache; it stops at the first problem and keeps it for
// Link, which reports it after the checks that come before it (so the error a snapshot gets
// does not depend on this split).
class SessionLinker {
 public:
  // `st` holds everything but the sessions; `slots` is the announced slab size;
  // `rules_from_queue`: recompute each session's rules applied (a version 1 snapshot).
  SessionLinker(State& st, size_t slots, bool rules_from_queue)
      : st_(st), rules_from_queue_(rules_from_queue) {
    qcount_.resize(st.queues.size());
    for (QueueCount& qc : qcount_) qc.by_channel.assign(st.channels.size(), 0);
    used_.assign(st.engineers.size(), 0);
    active_.resize(st.engineers.size());
    for (size_t e = 0; e < st.engineers.size(); ++e) {
      active_[e].assign(st.engineers[e].channels.size(), 0);
    }
    // At most one timer per session and per engineer: the heap allocates once.
    st.timers.Reserve(slots + st.engineers.size());
    st.session_slot.reserve(slots);
  }

  void Hole() { ++holes_; }

  // The session just read into `slot`.
  void Add(uint32_t slot) {
    if (stopped_) return;
    Session& s = st_.session_slab[slot];
    // With a million sessions the id -> slot map is far bigger than the caches: its memory
    // for this id is fetched now, and the id goes in a few sessions later.
    st_.session_slot.prefetch(s.id);
    if (pending_count_ == kAhead) {
      const auto [id, at] = pending_[pending_head_];
      pending_head_ = (pending_head_ + 1) % kAhead;
      --pending_count_;
      if (!Index(id, at)) return;
    }
    pending_[(pending_head_ + pending_count_) % kAhead] = {s.id, slot};
    ++pending_count_;
    status_ = Check(s, slot);
    if (!status_.ok()) stopped_ = true;
  }

  // Completes the id -> slot map; returns the first problem with a session: a repeated id,
  // or what Check found, whichever comes first in slot order (the id first, within one
  // session).
  absl::Status IndexIds() {
    while (pending_count_ > 0 && id_status_.ok()) {
      const auto [id, at] = pending_[pending_head_];
      pending_head_ = (pending_head_ + 1) % kAhead;
      --pending_count_;
      Index(id, at);
    }
    return id_status_.ok() ? status_ : id_status_;
  }

  // The checks that need every session and every engineer; the derived structures are
  // complete when it succeeds.
  absl::Status Finish();

 private:
  static constexpr size_t kAhead = 8;

  struct QueueCount {
    int queued = 0;
    int offered = 0;
    std::vector<int> by_channel;
  };

  bool Index(uint64_t id, uint32_t slot) {
    if (st_.session_slot.emplace(id, slot).second) return true;
    id_status_ = Invalid(absl::StrCat("session ", id, ": id listed twice"));
    stopped_ = true;
    return false;
  }
  absl::Status Check(Session& s, uint32_t slot);

  State& st_;
  const bool rules_from_queue_;
  bool stopped_ = false;    // a problem was found: nothing more to check
  absl::Status status_;     // the first problem Check found
  absl::Status id_status_;  // the first repeated id
  // Ids not in the map yet, oldest first (a ring).
  std::array<std::pair<uint64_t, uint32_t>, kAhead> pending_;
  size_t pending_head_ = 0;
  size_t pending_count_ = 0;
  // Expected counters, recomputed from the sessions.
  std::vector<QueueCount> qcount_;
  std::vector<int64_t> used_;
  std::vector<absl::InlinedVector<int, 6>> active_;
  size_t held_ = 0;
  size_t grabs_ = 0;
  size_t holes_ = 0;
};

absl::Status SessionLinker::Check(Session& s, uint32_t slot) {
  State& st = st_;
  auto fail = [&s](absl::string_view what) {
    return Invalid(absl::StrCat("session ", s.id, ": ", what));
  };
  // (Repeated ids are found by IndexIds.)
  if (s.id >= st.next_session_id) return fail("id not below next_session_id");
  const bool holds = s.state == SessionState::kOffered || s.state == SessionState::kAssigned ||
                     s.state == SessionState::kWrapUp;
  if (s.engineer != kNone && !holds) {
    return fail(absl::StrCat("engineer set in state ", SessionStateName(s.state)));
  }
  if ((s.state == SessionState::kAssigned || s.state == SessionState::kWrapUp) &&
      s.engineer == kNone) {
    return fail(absl::StrCat("no engineer in state ", SessionStateName(s.state)));
  }
  const bool grab = s.state == SessionState::kOffered && s.engineer == kNone;
  if (!grab && (!s.grab_offered.empty() || !s.claims.empty())) {
    return fail("grab offers or claims outside a grab offer");
  }
  if (s.engineer != kNone) {
    EngineerState& e = st.engineers[s.engineer];
    if (!e.sessions.contains(s.id)) {
      return fail(absl::StrCat("engineer ", s.engineer, " does not list it"));
    }
    const auto ch = std::find_if(e.channels.begin(), e.channels.end(),
                                 [&s](const EngineerChannel& c) { return c.channel == s.channel; });
    if (ch == e.channels.end()) {
      return fail(absl::StrCat("engineer ", s.engineer, " has no room on its channel"));
    }
    ++active_[s.engineer][static_cast<size_t>(ch - e.channels.begin())];
    used_[s.engineer] += s.cost_taken;
    ++held_;
  } else if (s.cost_taken != 0) {
    return fail("cost taken while nobody holds it");
  }
  if (grab) {
    absl::InlinedVector<uint32_t, 8> seen;
    for (uint32_t e : s.grab_offered) seen.push_back(e);
    for (const Claim& c : s.claims) {
      seen.push_back(c.engineer);
      if (c.seq > st.claim_seq) return fail("claim sequence ahead of the engine's");
    }
    std::sort(seen.begin(), seen.end());
    if (std::adjacent_find(seen.begin(), seen.end()) != seen.end()) {
      return fail("an engineer offered or claiming twice");
    }
    for (uint32_t e : seen) {
      if (!st.engineers[e].grab_offers.contains(s.id)) {
        return fail(absl::StrCat("engineer ", e, " does not list its grab offer"));
      }
    }
    grabs_ += seen.size();
  }
  if ((s.state == SessionState::kScheduled) !=
      (s.timer_seq != 0 && s.timer_kind == TimerKind::kWindowOpen)) {
    return fail("a SCHEDULED session must have a window-open timer, and only it");
  }
  if (s.state == SessionState::kScheduled && !s.appointment()) {
    return fail("SCHEDULED without an appointment window");
  }
  if (s.state == SessionState::kScheduled && !st.queues[s.queue].live) {
    return fail("SCHEDULED in a removed queue");
  }
  if (rules_from_queue_) {
    // Version 1: the labels of the rules that matched were not stored. Its rules have only
    // a tag condition and the session last had them applied in its current queue.
    for (const QueueState::InternedTagRule& rule : st.queues[s.queue].tag_rules) {
      if (RuleMatches(rule, s.customer)) s.rules_applied.push_back(rule.label);
    }
  }
  if (s.state == SessionState::kQueued || s.state == SessionState::kOffered) {
    QueueCount& qc = qcount_[s.queue];
    ++(s.state == SessionState::kQueued ? qc.queued : qc.offered);
    ++qc.by_channel[s.channel];
    if (s.state == SessionState::kQueued) {
      // Slots mostly come in arrival order: the end is usually the right place.
      auto& order = st.queues[s.queue].waiting_order;
      order.insert(order.end(), {s.waiting_since_us, s.id});
    }
  }
  if (s.timer_seq != 0) {
    if (s.timer_seq > st.timer_seq) return fail("timer sequence ahead of the engine's");
    // Straight onto the heap, in slot order (then the engineers'): the state is thrown away
    // if any check fails.
    st.timers.Push(Timer{s.timer_at, s.timer_seq, s.timer_kind, slot});
  }
  return absl::OkStatus();
}

absl::Status SessionLinker::Finish() {
  State& st = st_;
  if (holes_ != st.free_slots.size()) {
    return Invalid(absl::StrCat(holes_, " empty slots but ", st.free_slots.size(), " free slots"));
  }
  size_t listed = 0;
  size_t grab_listed = 0;
  for (const EngineerState& e : st.engineers) {
    listed += e.sessions.size();
    grab_listed += e.grab_offers.size();
    if (used_[e.index] != e.used_budget) {
      return Invalid(absl::StrCat("engineer[", e.index, "].used_budget: ", e.used_budget,
                                  " but its sessions take ", used_[e.index]));
    }
    for (size_t c = 0; c < e.channels.size(); ++c) {
      if (active_[e.index][c] != e.channels[c].active) {
        return Invalid(absl::StrCat("engineer[", e.index, "].channels[", c, "].active: ",
                                    e.channels[c].active, " but it holds ", active_[e.index][c]));
      }
    }
    if (e.timer_seq != 0) {
      if (e.timer_seq > st.timer_seq) {
        return Invalid(absl::StrCat("engineer[", e.index, "].timer_seq: ahead of the engine's"));
      }
      st.timers.Push(Timer{e.timer_at, e.timer_seq, TimerKind::kPresenceEnd, e.index});
    }
  }
  if (listed != held_) {
    return Invalid(absl::StrCat("engineers list ", listed, " held or offered sessions, ", held_,
                                " sessions are held or offered"));
  }
  if (grab_listed != grabs_) {
    return Invalid(absl::StrCat("engineers list ", grab_listed, " grab offers, sessions ", grabs_));
  }
  for (const QueueState& q : st.queues) {
    const QueueCount& qc = qcount_[q.index];
    if (q.queued != qc.queued || q.offered != qc.offered || q.waiting_by_channel != qc.by_channel) {
      return Invalid(absl::StrCat("queue[", q.index, "]: counters (queued ", q.queued,
                                  ", offered ", q.offered, ") disagree with its sessions (",
                                  qc.queued, ", ", qc.offered, ")"));
    }
  }
  return absl::OkStatus();
}

// The cross-checks that need the whole state, and the name maps; `sessions` has seen every
// slot. Reports problems in a fixed order: names, memberships, free slots, then sessions
// (the first failing one, in slot order), then the counters.
absl::Status Link(State& st, SessionLinker& sessions) {
  for (uint32_t i = 0; i < st.channels.size(); ++i) {
    if (!st.channel_index.emplace(st.channels[i].spec.id.value(), i).second) {
      return Invalid(absl::StrCat("channel[", i, "].id: \"", st.channels[i].spec.id.value(),
                                  "\" listed twice"));
    }
  }
  for (uint32_t i = 0; i < st.skill_names.size(); ++i) {
    if (!st.skill_index.emplace(st.skill_names[i], i).second) {
      return Invalid(absl::StrCat("skill[", i, "]: \"", st.skill_names[i], "\" listed twice"));
    }
  }
  for (uint32_t i = 0; i < st.queues.size(); ++i) {
    if (!st.queue_index.emplace(st.queues[i].config.id.value(), i).second) {
      return Invalid(absl::StrCat("queue[", i, "].config.id: \"", st.queues[i].config.id.value(),
                                  "\" listed twice"));
    }
  }
  for (uint32_t i = 0; i < st.engineers.size(); ++i) {
    const EngineerState& e = st.engineers[i];
    if (!st.engineer_index.emplace(e.config.id.value(), i).second) {
      return Invalid(absl::StrCat("engineer[", i, "].config.id: \"", e.config.id.value(),
                                  "\" listed twice"));
    }
    if (e.live) {
      // Rebuilding the engineer's channels (UpsertChannel) looks its channels up by name.
      for (const ChannelCapacity& cc : e.config.channels) {
        if (!st.channel_index.contains(cc.channel.value())) {
          return Invalid(absl::StrCat("engineer[", i, "].config.channels: channel \"",
                                      cc.channel.value(), "\" unknown"));
        }
      }
    }
  }
  // Queue membership, both ways.
  size_t memberships = 0;
  size_t members = 0;
  for (const QueueState& q : st.queues) members += q.members.size();
  for (const EngineerState& e : st.engineers) {
    for (const Membership& m : e.queues) {
      const std::vector<uint32_t>& list = st.queues[m.queue].members;
      if (!std::binary_search(list.begin(), list.end(), e.index)) {
        return Invalid(absl::StrCat("engineer[", e.index, "].queues: serves queue ", m.queue,
                                    " which does not list it as a member"));
      }
      ++memberships;
    }
  }
  if (memberships != members) {
    return Invalid(absl::StrCat("queue members (", members,
                                ") disagree with engineer memberships (", memberships, ")"));
  }

  // Sessions: slots, ids, and what they hold.
  const size_t num_slots = st.session_slab.size();
  std::vector<bool> free_seen(num_slots, false);
  for (uint32_t slot : st.free_slots) {
    if (slot >= num_slots || st.session_slab[slot].id != 0 || free_seen[slot]) {
      return Invalid(absl::StrCat("free slot ", slot, " is not a distinct empty slot"));
    }
    free_seen[slot] = true;
  }
  if (absl::Status s = sessions.IndexIds(); !s.ok()) return s;
  return sessions.Finish();
}

}  // namespace

// ------------------------------------------------------------------------------------------
// XXH64

namespace {
inline constexpr uint64_t kP1 = 11400714785074694791ull;
inline constexpr uint64_t kP2 = 14029467366897019727ull;
inline constexpr uint64_t kP3 = 1609587929392839161ull;
inline constexpr uint64_t kP4 = 9650029242287828579ull;
inline constexpr uint64_t kP5 = 2870177450012600261ull;

uint64_t XxRound(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = std::rotl(acc, 31);
  return acc * kP1;
}
uint64_t XxMerge(uint64_t acc, uint64_t val) {
  acc ^= XxRound(0, val);
  return acc * kP1 + kP4;
}
}  // namespace

uint64_t Xxh64(absl::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
  uint64_t h;
  if (data.size() >= 32) {
    uint64_t v1 = kP1 + kP2;
    uint64_t v2 = kP2;
    uint64_t v3 = 0;
    uint64_t v4 = 0 - kP1;
    const char* const limit = end - 32;
    do {
      v1 = XxRound(v1, LoadLe64(p));
      v2 = XxRound(v2, LoadLe64(p + 8));
      v3 = XxRound(v3, LoadLe64(p + 16));
      v4 = XxRound(v4, LoadLe64(p + 24));
      p += 32;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = XxMerge(h, v1);
    h = XxMerge(h, v2);
    h = XxMerge(h, v3);
    h = XxMerge(h, v4);
  } else {
    h = kP5;
  }
  h += static_cast<uint64_t>(data.size());
  while (end - p >= 8) {
    h ^= XxRound(0, LoadLe64(p));
    h = std::rotl(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (end - p >= 4) {
    h ^= static_cast<uint64_t>(LoadLe32(p)) * kP1;
    h = std::rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(static_cast<uint8_t>(*p)) * kP5;
    h = std::rotl(h, 11) * kP1;
    ++p;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

void ResealSnapshot(std::string* bytes) {
  if (bytes->size() < kSnapshotHeaderSize + kSnapshotTrailerSize) return;
  const size_t body = bytes->size() - kSnapshotHeaderSize - kSnapshotTrailerSize;
  StoreLe64(bytes->data() + 10, body);
  const size_t sealed = bytes->size() - kSnapshotTrailerSize;
  StoreLe64(bytes->data() + sealed, Xxh64(absl::string_view(bytes->data(), sealed)));
}

// ------------------------------------------------------------------------------------------
// Save

std::string WriteSnapshot(const State& st) {
  // Most of a snapshot is sessions; a typical one takes 80 to 150 bytes.
  Writer w(4096 + st.session_slab.size() * 192 + st.engineers.size() * 256);
  w.Raw(kSnapshotMagic);
  w.Fixed32(kSnapshotVersion);
  w.Fixed64(0);  // body length, patched below
  const size_t body_start = w.size();

  w.Byte('O');
  w.Varint(st.options.channels.size());
  for (const ChannelSpec& c : st.options.channels) PutChannelSpec(w, c);
  w.Svarint(st.options.missed_offers_limit);
  w.Dur(st.options.session_retention);

  w.Byte('T');
  w.Svarint(st.now_us);
  w.Varint(st.event_seq);
  w.Varint(st.timer_seq);
  w.Varint(st.claim_seq);
  w.Varint(st.next_session_id);

  w.Byte('C');
  w.Varint(st.channels.size());
  for (const ChannelState& c : st.channels) PutChannelSpec(w, c.spec);

  w.Byte('K');
  w.Varint(st.skill_names.size());
  for (const std::string& s : st.skill_names) w.Str(s);

  w.Byte('Q');
  w.Varint(st.queues.size());
  w.Varint(st.engineers.size());
  for (const QueueState& q : st.queues) PutQueue(w, q);

  w.Byte('E');
  for (const EngineerState& e : st.engineers) PutEngineer(w, e);

  w.Byte('S');
  w.Varint(st.session_slab.size());
  w.Varint(st.free_slots.size());
  for (uint32_t slot : st.free_slots) w.Varint(slot);
  const size_t slots = st.session_slab.size();
  for (size_t slot = 0; slot < slots; ++slot) {
    // Sessions are big and the walk is bound by memory: fetch the next ones early.
    if (slot + 2 < slots) {
      const char* next = reinterpret_cast<const char*>(&st.session_slab[slot + 2]);
      for (size_t line = 0; line < sizeof(Session); line += 64) __builtin_prefetch(next + line);
    }
    const Session& s = st.session_slab[slot];
    if (s.id == 0) {
      w.Byte(0);  // a free slot
    } else {
      w.Byte(1);
      PutSession(w, s, st.now_us);
    }
  }
  w.Byte('Z');

  StoreLe64(w.at(10), w.size() - body_start);
  const uint64_t checksum = Xxh64(absl::string_view(w.at(0), w.size()));
  w.Fixed64(checksum);
  return w.Finish();
}

// ------------------------------------------------------------------------------------------
// Load

absl::StatusOr<std::unique_ptr<State>> ReadSnapshot(absl::string_view bytes) {
  if (bytes.size() < kSnapshotMagic.size() ||
      bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    return absl::InvalidArgumentError("snapshot: not an omniroute snapshot (bad magic)");
  }
  if (bytes.size() < kSnapshotHeaderSize + kSnapshotTrailerSize) {
    return absl::DataLossError(
        absl::StrCat("snapshot: truncated: ", bytes.size(), " bytes, shorter than a header"));
  }
  const uint32_t version = LoadLe32(bytes.data() + 6);
  if (version < kOldestSnapshotVersion || version > kSnapshotVersion) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot: format version ", version,
                                                   ", this engine reads versions ",
                                                   kOldestSnapshotVersion, " to ",
                                                   kSnapshotVersion));
  }
  const uint64_t body_len = LoadLe64(bytes.data() + 10);
  const uint64_t have = bytes.size() - kSnapshotHeaderSize - kSnapshotTrailerSize;
  if (body_len > have) {
    return absl::DataLossError(absl::StrCat("snapshot: truncated: the header announces ",
                                            body_len, " body bytes, ", have, " present"));
  }
  if (body_len < have) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot: ", have - body_len, " trailing bytes after the snapshot"));
  }
  const size_t sealed = bytes.size() - kSnapshotTrailerSize;
  const uint64_t checksum = LoadLe64(bytes.data() + sealed);
  if (Xxh64(bytes.substr(0, sealed)) != checksum) {
    return absl::DataLossError("snapshot: checksum mismatch (corrupted bytes)");
  }

  Reader r(bytes.data() + kSnapshotHeaderSize, bytes.data() + sealed, version);
  // Options.
  r.Section('O', "options");
  EngineOptions options;
  options.channels.clear();
  size_t n = r.Count("channels");
  for (size_t i = 0; i < n && r.ok(); ++i) options.channels.push_back(GetChannelSpec(r));
  options.missed_offers_limit = r.I32("missed_offers_limit", 0, kMaxInt);
  options.session_retention = r.Dur("session_retention");
  if (r.ok() && (options.session_retention < absl::ZeroDuration() ||
                 options.session_retention > absl::Microseconds(kMaxAbsMicros))) {
    r.Fail("session_retention", "out of range");
  }
  if (!r.ok()) return absl::InvalidArgumentError(r.error());

  auto st = std::make_unique<State>(std::move(options), nullptr);
  st->channels.clear();
  st->channel_index.clear();

  r.Section('T', "clock");
  st->now_us = r.Micros("now");
  st->event_seq = r.Varint("event_seq");
  st->timer_seq = r.Varint("timer_seq");
  st->claim_seq = r.Varint("claim_seq");
  st->next_session_id = r.Varint("next_session_id");
  if (r.ok() && st->next_session_id == 0) r.Fail("next_session_id", "zero");

  r.Section('C', "channels");
  n = r.Count("count");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    r.At("channel", static_cast<int64_t>(i));
    st->channels.push_back(ChannelState{GetChannelSpec(r)});
  }
  const size_t channels = st->channels.size();

  r.Section('K', "skills");
  n = r.Count("count");
  for (size_t i = 0; i < n && r.ok(); ++i) st->skill_names.push_back(r.Str("name"));
  const size_t skills = st->skill_names.size();

  r.Section('Q', "queues");
  const size_t queues = r.Count("count");
  const size_t engineers = r.Count("engineer_count");
  st->queues.reserve(queues);
  for (size_t i = 0; i < queues && r.ok(); ++i) {
    r.At("queue", static_cast<int64_t>(i));
    GetQueue(r, st->NewQueue(), channels, skills, queues, engineers);
  }

  r.Section('E', "engineers");
  if (r.ok() && engineers > r.left()) r.Fail("count", "exceeds the bytes left");
  if (r.ok()) st->engineers.resize(engineers);
  for (size_t i = 0; i < engineers && r.ok(); ++i) {
    r.At("engineer", static_cast<int64_t>(i));
    EngineerState& e = st->engineers[i];
    e.index = static_cast<uint32_t>(i);
    GetEngineer(r, e, channels, skills, queues);
  }

  r.Section('S', "sessions");
  const size_t slots = r.Count("slots");
  const size_t free_count = r.Count("free_slots");
  st->free_slots.reserve(free_count);
  for (size_t i = 0; i < free_count && r.ok(); ++i) {
    const uint64_t slot = r.Varint("free_slots");
    if (r.ok() && slot >= slots) r.Fail("free_slots", "slot out of range");
    st->free_slots.push_back(static_cast<uint32_t>(slot));
  }
  if (r.ok() && slots > std::numeric_limits<uint32_t>::max()) r.Fail("slots", "too many");
  // Each slot is made, filled and cross-checked as it is read (not all up front, not in a
  // later pass), while it is in cache.
  SessionLinker linker(*st, r.ok() ? slots : 0, version < 2);
  for (size_t slot = 0; slot < slots && r.ok(); ++slot) {
    r.At("session slot", static_cast<int64_t>(slot));
    const uint8_t used = r.Byte("used");
    if (!r.ok()) break;
    Session& s = st->session_slab.emplace_back();
    if (used == 0) {
      linker.Hole();
      continue;
    }
    if (used != 1) {
      r.Fail("used", absl::StrCat("slot marker ", used, " is neither 0 nor 1"));
      break;
    }
    s.slot = static_cast<uint32_t>(slot);
    GetSession(r, s, st->now_us, channels, skills, queues, engineers);
    if (r.ok()) linker.Add(static_cast<uint32_t>(slot));
  }
  r.Section('Z', "end");
  if (r.ok() && r.left() != 0) {
    r.Fail("tag", absl::StrCat(r.left(), " bytes after the end section"));
  }
  if (!r.ok()) return absl::InvalidArgumentError(r.error());
  if (absl::Status s = Link(*st, linker); !s.ok()) return s;
  return st;
}

void AttachMatcher(State& st, std::unique_ptr<Matcher> matcher) {
  st.matcher = std::move(matcher);
  Matcher& m = *st.matcher;
  m.Attach(&st);
  for (const EngineerState& e : st.engineers) m.EngineerChanged(e.index);
  for (const QueueState& q : st.queues) m.QueueChanged(q.index);
  std::vector<Session*, LargeAllocator<Session*>> queued;
  const size_t slots = st.session_slab.size();
  queued.reserve(slots);
  for (size_t slot = 0; slot < slots; ++slot) {
    // The sessions were read long ago (a walk bound by memory): fetch ahead.
    if (slot + 8 < slots) {
      const Session& next = st.session_slab[slot + 8];
      __builtin_prefetch(&next.id);
      __builtin_prefetch(&next.state);
    }
    Session& s = st.session_slab[slot];
    if (s.id != 0 && s.state == SessionState::kQueued) queued.push_back(&s);
  }
  m.SessionsWaiting(queued);
}

}  // namespace omniroute::internal

// ------------------------------------------------------------------------------------------
// Engine

namespace omniroute {

std::string Engine::SaveSnapshot() const { return internal::WriteSnapshot(*state_); }

absl::Status Engine::LoadSnapshot(absl::string_view bytes) {
  absl::StatusOr<std::unique_ptr<internal::State>> loaded = internal::ReadSnapshot(bytes);
  if (!loaded.ok()) return loaded.status();
  std::unique_ptr<internal::State> fresh = *std::move(loaded);
  internal::AttachMatcher(*fresh, std::move(state_->matcher));
  state_ = std::move(fresh);
  return absl::OkStatus();
}

}  // namespace omniroute
