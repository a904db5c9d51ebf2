#include "daemon/audit.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "boost/asio/post.hpp"
#include "daemon/convert.h"
#include "daemon/log.h"
#include "omniroute/session.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace omniroute::daemon {
namespace {

// Sweeps run at most this often (router time), each forgetting at most kSweepLimit sessions;
// a sweep that reached the limit goes on at the next batch.
constexpr absl::Duration kSweepInterval = absl::Minutes(1);
constexpr int kSweepLimit = 10000;
// Events replayed at recovery are handed over in chunks of this many.
constexpr size_t kRecoveryChunk = 10000;
// The meta of open sessions is cached on the audit thread; past this many sessions the cache
// starts again (it is only a cache: the store has every meta).
constexpr size_t kMaxCachedMetas = 1000000;

// ---------------------------------------------------------------------------------------------
// Keys

constexpr char kEventTag = 'e';
constexpr char kMetaTag = 'm';
constexpr char kEndTag = 't';

void PutBigEndian(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

uint64_t GetBigEndian(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return v;
}

std::string TaggedKey(char tag, uint64_t a) {
  std::string key(1, tag);
  PutBigEndian(&key, a);
  return key;
}

std::string TaggedKey(char tag, uint64_t a, uint64_t b) {
  std::string key = TaggedKey(tag, a);
  PutBigEndian(&key, b);
  return key;
}

// The smallest key greater than every key starting with `prefix` (not all 0xff).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty())
    prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

uint64_t EndMicros(absl::Time t) {
  return static_cast<uint64_t>(std::max<int64_t>(absl::ToUnixMicros(t), 0));
}

// A session's meta: the newest sequence stored, how many events it had (kept or not), and
// the head and ring sizes chosen when its first event was written.
struct Meta {
  uint64_t last_seq = 0;
  uint64_t count = 0;
  uint64_t head = 0;
  uint64_t ring = 0;

  std::string Encode() const {
    std::string out;
    PutBigEndian(&out, last_seq);
    PutBigEndian(&out, count);
    PutBigEndian(&out, head);
    PutBigEndian(&out, ring);
    return out;
  }
  static std::optional<Meta> Decode(absl::string_view bytes) {
    if (bytes.size() != 32) return std::nullopt;
    Meta m{GetBigEndian(bytes.substr(0, 8)), GetBigEndian(bytes.substr(8, 8)),
           GetBigEndian(bytes.substr(16, 8)), GetBigEndian(bytes.substr(24, 8))};
    if (m.ring == 0) return std::nullopt;
    return m;
  }
};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat("audit store: ", what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsIOError() && absl::StrContains(absl::AsciiStrToLower(s.ToString()), "lock")) {
    return absl::FailedPreconditionError(message);
  }
  return absl::InternalError(message);
}

rocksdb::CompressionType ChooseCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (rocksdb::CompressionType c : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), c) != supported.end()) return c;
  }
  return rocksdb::kNoCompression;
}

// ---------------------------------------------------------------------------------------------
// Words for the summaries

std::string EnumWord(const std::string& name, absl::string_view prefix) {
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}
std::string StageWord(v1::RoutingStage stage) {
  return EnumWord(v1::RoutingStage_Name(stage), "ROUTING_STAGE_");
}
std::string StateWord(v1::SessionState state) {
  return EnumWord(v1::SessionState_Name(state), "SESSION_STATE_");
}
std::string TierWord(int64_t tier) {
  if (tier < 0 || tier > 100 || !v1::AgentTier_IsValid(static_cast<int>(tier))) {
    return absl::StrCat("tier ", tier);
  }
  return absl::AsciiStrToLower(
      EnumWord(v1::AgentTier_Name(static_cast<v1::AgentTier>(tier)), "AGENT_TIER_"));
}
std::string QueueOf(const v1::Event& e) {
  return e.to_queue_id().empty() ? e.queue_id() : e.to_queue_id();
}

absl::Time EventTime(const v1::Event& e) { return TimeFromProto(e.event_time()); }

std::string Span(absl::Duration d) {
  return absl::FormatDuration(std::max(d, absl::ZeroDuration()));
}

// How long an agent idle since `since_us` had been idle at `at`.
std::string Idle(int64_t since_us, absl::Time at) {
  return absl::StrCat("idle ", Span(at - absl::FromUnixMicros(since_us)));
}

// The key that decided, compared with the runner-up's, in the strategy's words
// (docs/ROUTING.md has the rank keys): "idle 12s vs 2s", "spare 60 vs 40".
std::string KeyComparison(const v1::RoutingReason& r, absl::Time at) {
  const v1::RankKey& w = r.winner();
  const v1::RankKey& u = r.runner_up();
  const std::string& s = r.strategy();
  switch (r.decided_by()) {
    case v1::DECIDER_PRIMARY_KEY:
      if (s == "longest_idle") {
        return absl::StrCat(Idle(w.primary(), at), " vs ",
                            Span(at - absl::FromUnixMicros(u.primary())));
      }
      if (s == "most_spare") return absl::StrCat("spare ", -w.primary(), " vs ", -u.primary());
      if (s == "best_rated") return absl::StrCat("score ", -w.primary(), " vs ", -u.primary());
      if (s == "round_robin") {
        return absl::StrCat("last turn ", w.primary(), " vs ", u.primary());
      }
      return absl::StrCat("primary ", w.primary(), " vs ", u.primary());
    case v1::DECIDER_SECONDARY_KEY:
      if (s == "most_spare" || s == "best_rated") {
        return absl::StrCat(Idle(w.secondary(), at), " vs ",
                            Span(at - absl::FromUnixMicros(u.secondary())));
      }
      return absl::StrCat("secondary ", w.secondary(), " vs ", u.secondary());
    case v1::DECIDER_REGISTRATION_ORDER:
      return absl::StrCat("equal keys; registered ", w.order(), " vs ", u.order());
    default:
      return "";
  }
}

// "offered to ann by longest_idle, stage QUEUE, relaxation step 1, rules [vip]: primary key
// decided over bob (idle 12s vs 2s)".
std::string OfferSummary(const v1::Event& e) {
  const v1::RoutingReason& r = e.reason();
  std::string out = absl::StrCat("offered to ", e.agent_id());
  if (absl::StartsWith(e.detail(), "grab ")) absl::StrAppend(&out, " (", e.detail(), ")");
  absl::StrAppend(&out, " by ", r.strategy(), ", stage ", StageWord(r.stage()));
  if (r.relaxation_step() > 0) absl::StrAppend(&out, ", relaxation step ", r.relaxation_step());
  if (r.rules_size() > 0) absl::StrAppend(&out, ", rules [", absl::StrJoin(r.rules(), ", "), "]");
  const std::string& other = r.runner_up_agent_id();
  switch (r.decided_by()) {
    case v1::DECIDER_ONLY_CANDIDATE:
      absl::StrAppend(&out, ": the only candidate");
      break;
    case v1::DECIDER_PRIMARY_KEY:
    case v1::DECIDER_SECONDARY_KEY:
    case v1::DECIDER_REGISTRATION_ORDER:
      if (other.empty()) break;  // a grab offer after the first: shown together with it
      absl::StrAppend(&out, ": ",
                      r.decided_by() == v1::DECIDER_PRIMARY_KEY     ? "primary key"
                      : r.decided_by() == v1::DECIDER_SECONDARY_KEY ? "secondary key"
                                                                    : "registration order",
                      " decided over ", other, " (", KeyComparison(r, EventTime(e)), ")");
      break;
    case v1::DECIDER_DECLINED_FALLBACK:
      absl::StrAppend(&out, ": only agents who had declined it were eligible");
      break;
    case v1::DECIDER_EFFECTIVE_PRIORITY:
      absl::StrAppend(&out, ": ", e.agent_id(), " was freed and chose it over session ",
                      r.runner_up_session_id(), " by effective priority (",
                      r.effective_priority_milli() / 1000, ".",
                      absl::StrFormat("%03d", r.effective_priority_milli() % 1000), ")");
      break;
    case v1::DECIDER_LONGEST_WAIT:
      absl::StrAppend(&out, ": ", e.agent_id(), " was freed and chose it over session ",
                      r.runner_up_session_id(), " by longest wait (waited ",
                      Span(DurationFromProto("waited", r.waited()).value_or(absl::ZeroDuration())),
                      ")");
      break;
    case v1::DECIDER_SESSION_ORDER:
      absl::StrAppend(&out, ": ", e.agent_id(), " was freed and chose it over session ",
                      r.runner_up_session_id(), " by session order (equal priority and wait)");
      break;
    default:
      break;
  }
  return out;
}

// "assigned to cara (grab: best of 2 claimants by tier, then score, then claim order; over ann:
// tier expert vs core)".
std::string GrabSummary(const v1::Event& e, int claimants) {
  const v1::RoutingReason& r = e.reason();
  std::string out = absl::StrCat("assigned to ", e.agent_id(), " (grab: ");
  if (r.decided_by() == v1::DECIDER_ONLY_CANDIDATE || r.runner_up_agent_id().empty()) {
    absl::StrAppend(&out, "the only claimant)");
    return out;
  }
  const v1::RankKey& w = r.winner();
  const v1::RankKey& u = r.runner_up();
  absl::StrAppend(&out, "best of ", claimants > 1 ? absl::StrCat(claimants, " ") : "",
                  "claimants by tier, then score, then claim order; over ", r.runner_up_agent_id(),
                  ": ");
  if (w.primary() != u.primary()) {
    absl::StrAppend(&out, "tier ", TierWord(w.primary()), " vs ", TierWord(u.primary()));
  } else if (w.secondary() != u.secondary()) {
    absl::StrAppend(&out, "score ", w.secondary(), " vs ", u.secondary());
  } else {
    absl::StrAppend(&out, "claimed first");
  }
  absl::StrAppend(&out, ")");
  return out;
}

std::string WithDetail(std::string text, const std::string& detail) {
  if (!detail.empty()) absl::StrAppend(&text, ": ", detail);
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The answer

v1::GetSessionHistoryResponse BuildSessionHistory(const StoredHistory& history,
                                                  absl::Duration retention) {
  v1::GetSessionHistoryResponse out;
  if (history.events.empty()) return out;
  out.set_session_id(history.events.front().session_id());

  std::optional<absl::Time> wait_start;      // the wait counts from here
  std::optional<absl::Duration> wait_ended;  // set while assigned: the wait it ended
  std::optional<absl::Time> queue_entered;   // entry into the current queue
  absl::Time created = absl::InfinitePast();
  absl::Time window_start = absl::InfinitePast();
  int claimants = 0;

  for (size_t i = 0; i < history.events.size(); ++i) {
    const v1::Event& e = history.events[i];
    const absl::Time at = EventTime(e);
    const auto enter_queue = [&](absl::Time wait_from) {
      wait_start = wait_from;
      wait_ended.reset();
      queue_entered = at;
    };
    const absl::Duration in_queue =
        queue_entered.has_value() ? at - *queue_entered : absl::ZeroDuration();
    std::string summary;
    switch (e.type()) {
      case v1::EVENT_TYPE_SESSION_CREATED:
        created = at;
        if (e.session_state() == v1::SESSION_STATE_QUEUED) enter_queue(at);
        summary = absl::StrCat("created on ", e.channel_id(), " in ", e.queue_id(), ": ",
                               StateWord(e.session_state()));
        if (e.session_state() == v1::SESSION_STATE_SCHEDULED && e.has_deadline_time()) {
          window_start = TimeFromProto(e.deadline_time());
          absl::StrAppend(
              &summary, ", the window opens at ",
              absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", window_start, absl::UTCTimeZone()));
        }
        if (e.session_state() == v1::SESSION_STATE_BOT)
          absl::StrAppend(&summary, " (with the bot)");
        if (!e.detail().empty()) absl::StrAppend(&summary, " (", e.detail(), ")");
        break;
      case v1::EVENT_TYPE_SESSION_WINDOW_OPENED:
        // The engine counts the wait from the window's start (or the creation, if later).
        enter_queue(window_start == absl::InfinitePast() ? at : std::max(window_start, created));
        summary = absl::StrCat("appointment window opened: queued in ", e.queue_id());
        break;
      case v1::EVENT_TYPE_SESSION_ESCALATED:
        enter_queue(at);
        summary = WithDetail(absl::StrCat("escalated by the bot to ", QueueOf(e), ": queued"),
                             e.detail());
        break;
      case v1::EVENT_TYPE_SESSION_TRANSFERRED:
        enter_queue(at);
        summary = WithDetail(absl::StrCat("transferred by ", e.agent_id(), " to ", QueueOf(e),
                                          ": queued, the wait starts anew"),
                             e.detail());
        break;
      case v1::EVENT_TYPE_SESSION_STAGE_CHANGED:
        summary = WithDetail(absl::StrCat("stage changed after ", Span(in_queue)), e.detail());
        break;
      case v1::EVENT_TYPE_SESSION_RELAXED:
        summary = WithDetail(absl::StrCat("relaxed after ", Span(in_queue)), e.detail());
        break;
      case v1::EVENT_TYPE_SESSION_OVERFLOWED:
        if (e.session_state() == v1::SESSION_STATE_OVERFLOWED) {
          summary = absl::StrCat("overflowed out of the router after ", Span(in_queue), " in ",
                                 e.queue_id());
        } else {
          summary = absl::StrCat("overflowed to ", e.to_queue_id(), " after ", Span(in_queue),
                                 " in ", e.queue_id(), " (the wait goes on)");
          queue_entered = at;  // a new queue; the wait is kept
        }
        break;
      case v1::EVENT_TYPE_OFFER_CREATED:
        if (!absl::StartsWith(e.detail(), "grab ") || absl::StartsWith(e.detail(), "grab 1/")) {
          claimants = 0;
        }
        summary = e.has_reason() ? OfferSummary(e) : absl::StrCat("offered to ", e.agent_id());
        break;
      case v1::EVENT_TYPE_OFFER_ACCEPTED:
        summary = absl::StrCat(e.agent_id(), " accepted the offer");
        break;
      case v1::EVENT_TYPE_OFFER_REJECTED:
        summary = WithDetail(absl::StrCat(e.agent_id(), " rejected the offer"), e.detail());
        if (e.session_state() == v1::SESSION_STATE_QUEUED) {
          absl::StrAppend(&summary, " (back to the queue)");
        }
        break;
      case v1::EVENT_TYPE_OFFER_EXPIRED:
        summary = WithDetail(absl::StrCat("the offer to ", e.agent_id(), " expired"), e.detail());
        break;
      case v1::EVENT_TYPE_OFFER_RESCINDED:
        summary =
            WithDetail(absl::StrCat("the offer to ", e.agent_id(), " was withdrawn"), e.detail());
        break;
      case v1::EVENT_TYPE_OFFER_CLAIMED:
        ++claimants;
        summary = absl::StrCat(e.agent_id(), " claimed the offer");
        break;
      case v1::EVENT_TYPE_SESSION_ASSIGNED:
        if (e.has_reason() && e.reason().strategy() == "grab") {
          summary = GrabSummary(e, claimants);
        } else if (e.has_reason()) {
          summary = OfferSummary(e);
          summary.replace(0, std::string("offered").size(), "assigned");
        } else {
          summary = absl::StrCat("assigned to ", e.agent_id(), " (accepted the offer)");
        }
        break;
      case v1::EVENT_TYPE_SESSION_WRAP_UP:
        summary = absl::StrCat(e.agent_id(), " ended the conversation: wrap-up");
        break;
      case v1::EVENT_TYPE_SESSION_COMPLETED:
        summary = e.agent_id().empty() ? "completed" : absl::StrCat("completed by ", e.agent_id());
        break;
      case v1::EVENT_TYPE_SESSION_ABANDONED:
        summary = "abandoned by the customer";
        break;
      case v1::EVENT_TYPE_SESSION_CANCELLED:
        summary = WithDetail("cancelled", e.detail());
        break;
      case v1::EVENT_TYPE_CALLBACK_REQUESTED:
        summary = absl::StrCat("callback requested: keeps its place in ", e.queue_id());
        break;
      default:
        summary =
            WithDetail(absl::AsciiStrToLower(EnumWord(v1::EventType_Name(e.type()), "EVENT_TYPE_")),
                       e.detail());
        break;
    }

    absl::Duration waited = absl::ZeroDuration();
    if (wait_ended.has_value()) {
      waited = *wait_ended;
    } else if (wait_start.has_value()) {
      waited = std::max(at - *wait_start, absl::ZeroDuration());
    }
    if (e.type() == v1::EVENT_TYPE_SESSION_ASSIGNED) wait_ended = waited;
    if (e.type() == v1::EVENT_TYPE_SESSION_ABANDONED && waited > absl::ZeroDuration()) {
      absl::StrAppend(&summary, " after waiting ", Span(waited));
    }
    if (history.missing > 0 && i == history.gap) {
      summary = absl::StrCat("[", history.missing,
                             " earlier events not kept: audit.max_events_per_session] ", summary);
    }

    v1::AuditEntry* entry = out.add_entries();
    *entry->mutable_event() = e;
    *entry->mutable_waited() = DurationToProto(waited);
    if (e.has_reason() && !e.agent_id().empty() &&
        (e.type() == v1::EVENT_TYPE_OFFER_CREATED || e.type() == v1::EVENT_TYPE_SESSION_ASSIGNED)) {
      v1::AuditCandidate* chosen = entry->add_candidates();
      chosen->set_agent_id(e.agent_id());
      *chosen->mutable_rank() = e.reason().winner();
      chosen->set_chosen(true);
      if (!e.reason().runner_up_agent_id().empty()) {
        v1::AuditCandidate* runner_up = entry->add_candidates();
        runner_up->set_agent_id(e.reason().runner_up_agent_id());
        *runner_up->mutable_rank() = e.reason().runner_up();
      }
    }
    entry->set_summary(std::move(summary));
  }

  const v1::Event& last = history.events.back();
  out.set_state(last.session_state());
  switch (last.session_state()) {
    case v1::SESSION_STATE_COMPLETED:
    case v1::SESSION_STATE_ABANDONED:
    case v1::SESSION_STATE_CANCELLED:
    case v1::SESSION_STATE_OVERFLOWED:
      *out.mutable_retain_until_time() = TimeToProto(EventTime(last) + retention);
      break;
    default:
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// AuditStore

struct AuditStore::Impl {
  Options options;
  // Owned; the in-memory environment must outlive `db` (declared first: destroyed last).
  std::unique_ptr<rocksdb::Env> mem_env;
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;  // unsynced: see the file comment of audit.h
  // The metas of sessions written lately (open ones mostly), as stored.
  absl::flat_hash_map<uint64_t, Meta> metas;

  absl::StatusOr<std::optional<Meta>> ReadMeta(uint64_t session) {
    std::string value;
    rocksdb::Status s = db->Get(rocksdb::ReadOptions(), TaggedKey(kMetaTag, session), &value);
    if (s.IsNotFound()) return std::optional<Meta>();
    if (!s.ok()) return FromRocks(s, "reading a session's meta");
    std::optional<Meta> meta = Meta::Decode(value);
    if (!meta.has_value()) {
      return absl::DataLossError(
          absl::StrCat("audit store: the meta of session ", session, " is corrupt"));
    }
    return meta;
  }
};

AuditStore::AuditStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditStore::~AuditStore() = default;

absl::StatusOr<std::unique_ptr<AuditStore>> AuditStore::Open(const std::string& path,
                                                             const Options& options) {
  if (path.empty()) return absl::InvalidArgumentError("path: must not be empty");
  if (options.max_events_per_session < 2) {
    return absl::InvalidArgumentError("options.max_events_per_session: must be at least 2");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.in_memory) {
    impl->mem_env.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  } else {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit store ", path, " cannot be created: ", ec.message()));
    }
  }
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(size_t{32} << 20);
  table.cache_index_and_filter_blocks = true;
  table.format_version = 5;
  table.block_size = 16 * 1024;  // read by whole sessions
  // Every new session's first event looks up a meta that is not there: a bloom filter makes
  // that miss cost no data block read.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  if (impl->mem_env != nullptr) db_options.env = impl->mem_env.get();
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  db_options.compression = ChooseCompression();
  db_options.level_compaction_dynamic_level_bytes = true;
  db_options.write_buffer_size = size_t{32} << 20;
  db_options.max_write_buffer_number = 3;
  // One flush and one compaction at a time, beside the directory's (2-core machines).
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  db_options.wal_bytes_per_sync = 1 << 20;
  // A torn tail of the write-ahead log after a crash: the journal's replay writes it again.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.max_total_wal_size = uint64_t{128} << 20;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 16 << 20;
  // RocksDB's in-memory environment cannot make a relative path absolute.
  const std::string open_path =
      options.in_memory ? std::filesystem::absolute(path).lexically_normal().string() : path;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, open_path, &db);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening ", path));
  impl->db.reset(db);
  return std::unique_ptr<AuditStore>(new AuditStore(std::move(impl)));
}

absl::Status AuditStore::Write(const std::vector<Event>& events) {
  Impl& im = *impl_;
  rocksdb::WriteBatch batch;
  absl::flat_hash_set<uint64_t> touched;
  std::vector<uint64_t> ended;
  for (const Event& e : events) {
    if (e.session.empty()) continue;
    const uint64_t session = e.session.value();
    auto it = im.metas.find(session);
    if (it == im.metas.end()) {
      absl::StatusOr<std::optional<Meta>> stored = im.ReadMeta(session);
      if (!stored.ok()) return stored.status();
      Meta fresh;
      fresh.head = static_cast<uint64_t>(im.options.max_events_per_session / 2);
      fresh.ring = static_cast<uint64_t>(im.options.max_events_per_session) - fresh.head;
      it = im.metas.emplace(session, stored->value_or(fresh)).first;
    }
    Meta& meta = it->second;
    if (meta.count > 0 && e.seq <= meta.last_seq) continue;  // written before: a replay
    const uint64_t slot =
        meta.count < meta.head ? meta.count : meta.head + (meta.count - meta.head) % meta.ring;
    batch.Put(TaggedKey(kEventTag, session, slot), EventToProto(e).SerializeAsString());
    meta.last_seq = e.seq;
    ++meta.count;
    touched.insert(session);
    if (IsTerminal(e.state)) {
      batch.Put(TaggedKey(kEndTag, EndMicros(e.at), session), "");
      ended.push_back(session);
    }
  }
  if (touched.empty()) return absl::OkStatus();
  for (uint64_t session : touched) {
    batch.Put(TaggedKey(kMetaTag, session), im.metas.at(session).Encode());
  }
  rocksdb::Status s = im.db->Write(im.write_options, &batch);
  if (!s.ok()) {
    im.metas.clear();  // ahead of the store now
    return FromRocks(s, "writing events");
  }
  for (uint64_t session : ended) im.metas.erase(session);  // finished: no more events
  if (im.metas.size() > kMaxCachedMetas) im.metas.clear();
  return absl::OkStatus();
}

absl::StatusOr<int> AuditStore::Sweep(absl::Time cutoff, int limit) {
  Impl& im = *impl_;
  if (cutoff < absl::UnixEpoch()) return 0;
  const std::string upper = TaggedKey(kEndTag, EndMicros(cutoff) + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> ends(im.db->NewIterator(read));
  rocksdb::WriteBatch batch;
  int forgotten = 0;
  for (ends->Seek(std::string(1, kEndTag)); ends->Valid() && forgotten < limit; ends->Next()) {
    const rocksdb::Slice key = ends->key();
    if (key.size() != 17) continue;
    const uint64_t session = GetBigEndian(absl::string_view(key.data() + 9, 8));
    // Point deletes of the session's events (a handful, at most max_events_per_session): a
    // range tombstone per session would pile up in the memtable and slow every read.
    const std::string prefix = TaggedKey(kEventTag, session);
    const std::string prefix_end = PrefixEnd(prefix);
    rocksdb::Slice prefix_end_slice(prefix_end);
    rocksdb::ReadOptions session_read;
    session_read.iterate_upper_bound = &prefix_end_slice;
    std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(session_read));
    for (it->Seek(prefix); it->Valid(); it->Next()) batch.Delete(it->key());
    if (!it->status().ok()) return FromRocks(it->status(), "sweeping");
    batch.Delete(TaggedKey(kMetaTag, session));
    batch.Delete(key);
    im.metas.erase(session);
    ++forgotten;
  }
  if (!ends->status().ok()) return FromRocks(ends->status(), "sweeping");
  if (forgotten == 0) return 0;
  if (rocksdb::Status s = im.db->Write(im.write_options, &batch); !s.ok()) {
    return FromRocks(s, "sweeping");
  }
  return forgotten;
}

absl::StatusOr<StoredHistory> AuditStore::Read(SessionId session) {
  Impl& im = *impl_;
  StoredHistory out;
  const std::string prefix = TaggedKey(kEventTag, session.value());
  const std::string prefix_end = PrefixEnd(prefix);
  rocksdb::Slice prefix_end_slice(prefix_end);
  rocksdb::ReadOptions read;
  read.iterate_upper_bound = &prefix_end_slice;
  std::unique_ptr<rocksdb::Iterator> it(im.db->NewIterator(read));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    v1::Event& e = out.events.emplace_back();
    if (!e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(
          absl::StrCat("audit store: an event of session ", session.value(), " is corrupt"));
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading a session");
  if (out.events.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "session ", session.value(),
        " has no history (it never existed, or finished longer ago than audit.retention)"));
  }
  std::sort(out.events.begin(), out.events.end(),
            [](const v1::Event& a, const v1::Event& b) { return a.sequence() < b.sequence(); });
  absl::StatusOr<std::optional<Meta>> meta = im.ReadMeta(session.value());
  if (!meta.ok()) return meta.status();
  if (meta->has_value() && (*meta)->count > out.events.size()) {
    out.missing = static_cast<int64_t>((*meta)->count - out.events.size());
    out.gap = std::min<size_t>(static_cast<size_t>((*meta)->head), out.events.size() - 1);
  }
  return out;
}

absl::Status AuditStore::Sync() {
  if (impl_->options.in_memory) return absl::OkStatus();
  return FromRocks(impl_->db->FlushWAL(/*sync=*/true), "syncing the log");
}

// ---------------------------------------------------------------------------------------------
// Audit

Audit::Audit(Router& router, const DaemonSettings& settings)
    : router_(router), settings_(settings) {}

Audit::~Audit() { Stop(); }

absl::Status Audit::BeforeRecovery() {
  if (!enabled() || store_ != nullptr) return absl::OkStatus();
  AuditStore::Options options;
  options.in_memory = !settings_.durable;
  options.max_events_per_session = settings_.audit_max_events_per_session;
  const std::string path =
      (std::filesystem::path(settings_.data_dir) / std::string(kAuditSubdir)).string();
  absl::StatusOr<std::unique_ptr<AuditStore>> opened = AuditStore::Open(path, options);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("decision audit: ", opened.status().message()));
  }
  store_ = *std::move(opened);
  thread_ = std::make_unique<boost::asio::thread_pool>(1);
  return absl::OkStatus();
}

void Audit::Start() {
  if (store_ == nullptr) return;
  HandOver(router_.now());  // the recovery's events, and a first sweep
}

void Audit::Stop() {
  if (thread_ == nullptr) return;
  thread_->join();
  thread_.reset();
  if (absl::Status s = store_->Sync(); !s.ok()) {
    LogError("decision audit: final sync failed", {{"error", s.ToString()}});
  }
  store_.reset();
}

void Audit::Run(std::function<void()> work) { boost::asio::post(*thread_, std::move(work)); }

absl::StatusOr<v1::GetSessionHistoryResponse> Audit::ReadHistory(SessionId session) {
  absl::StatusOr<StoredHistory> stored = store_->Read(session);
  if (!stored.ok()) return stored.status();
  return BuildSessionHistory(*stored, settings_.audit_retention);
}

void Audit::OnEvent(const Event& event, bool replaying) {
  if (store_ == nullptr || event.session.empty()) return;
  pending_.push_back(event);
  // A long replay is handed over in chunks (no commit comes until it ends).
  if (replaying && pending_.size() >= kRecoveryChunk) HandOver(router_.now());
}

void Audit::OnCommit() {
  if (store_ == nullptr) return;
  const absl::Time now = router_.now();
  // Without session events, a hand-over only to give the sweep its chance once a minute.
  if (pending_.empty() && now - last_handed_ < kSweepInterval) return;
  HandOver(now);
}

void Audit::BeforeSnapshot() {
  if (store_ == nullptr) return;
  if (!pending_.empty()) HandOver(router_.now());
  WaitForWrites();
  if (absl::Status s = store_->Sync(); !s.ok()) {
    LogError("decision audit: sync before a snapshot failed", {{"error", s.ToString()}});
  }
}

void Audit::HandOver(absl::Time now) {
  last_handed_ = now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++queued_;
  }
  boost::asio::post(*thread_, [this, events = std::move(pending_), now] {
    Process(events, now);
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    cv_.notify_all();
  });
  pending_.clear();
}

void Audit::Process(const std::vector<Event>& events, absl::Time now) {
  if (absl::Status s = store_->Write(events); !s.ok()) {
    // The journal still has them: a restart's replay writes them again.
    LogError("decision audit: events not recorded",
             {{"events", static_cast<int64_t>(events.size())}, {"error", s.ToString()}});
  }
  if (!sweep_unfinished_ && now - last_sweep_ < kSweepInterval) return;
  last_sweep_ = now;
  absl::StatusOr<int> forgotten = store_->Sweep(now - settings_.audit_retention, kSweepLimit);
  if (!forgotten.ok()) {
    LogError("decision audit: sweep failed", {{"error", forgotten.status().ToString()}});
    sweep_unfinished_ = false;
    return;
  }
  sweep_unfinished_ = *forgotten >= kSweepLimit;
}

void Audit::WaitForWrites() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_;
  cv_.wait(lock, [&] { return done_ >= target; });
}

}  // namespace omniroute::daemon
