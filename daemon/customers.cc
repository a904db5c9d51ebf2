#include "daemon/customers.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "daemon/convert.h"
#include "daemon/log.h"

namespace omniroute::daemon {
namespace {

// Interactions recorded in one go while the journal is replayed at start.
constexpr size_t kRecoveryChunk = 10000;
// The routing snapshot's lists are kept within the engine's limits.
constexpr size_t kMaxPreferred = 16;
constexpr size_t kMaxTags = 256;

directory::Outcome OutcomeOf(EventType type) {
  switch (type) {
    case EventType::kSessionAbandoned:
      return directory::Outcome::kAbandoned;
    case EventType::kSessionCancelled:
      return directory::Outcome::kCancelled;
    case EventType::kSessionOverflowed:
      return directory::Outcome::kOverflowed;
    default:
      return directory::Outcome::kCompleted;
  }
}

v1::InteractionOutcome OutcomeToProto(directory::Outcome outcome) {
  switch (outcome) {
    case directory::Outcome::kCompleted:
      return v1::INTERACTION_OUTCOME_COMPLETED;
    case directory::Outcome::kAbandoned:
      return v1::INTERACTION_OUTCOME_ABANDONED;
    case directory::Outcome::kCancelled:
      return v1::INTERACTION_OUTCOME_CANCELLED;
    case directory::Outcome::kOverflowed:
      return v1::INTERACTION_OUTCOME_OVERFLOWED;
  }
  return v1::INTERACTION_OUTCOME_UNSPECIFIED;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  if (t != absl::InfinitePast()) *out = TimeToProto(t);
}

template <class T>
void AppendUnique(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Conversions

directory::Handle HandleFromProto(const v1::CustomerHandle& handle) {
  return directory::Handle{handle.kind(), handle.value()};
}

v1::CustomerRecord CustomerToProto(const directory::Customer& c) {
  v1::CustomerRecord out;
  out.set_customer_id(c.id);
  out.set_display_name(c.display_name);
  out.set_vip_level(c.vip_level);
  for (const std::string& tag : c.tags) out.add_tags(tag);
  out.set_language(c.language);
  for (const directory::Handle& h : c.handles) {
    v1::CustomerHandle* handle = out.add_handles();
    handle->set_kind(h.kind);
    handle->set_value(h.value);
  }
  for (const std::string& e : c.favourite_engineers) out.add_favourite_agent_ids(e);
  out.set_last_agent_id(c.last_engineer);
  SetTime(c.last_engineer_at, out.mutable_last_agent_time());
  if (c.last_engineer_at == absl::InfinitePast()) out.clear_last_agent_time();
  out.set_last_channel_id(c.last_channel);
  out.set_interaction_count(c.interactions);
  for (const std::string& m : c.merged_from) out.add_merged_customer_ids(m);
  SetTime(c.created_at, out.mutable_create_time());
  SetTime(c.updated_at, out.mutable_update_time());
  return out;
}

v1::Interaction InteractionToProto(const directory::Interaction& i) {
  v1::Interaction out;
  out.set_session_id(SessionIdToString(SessionId(i.session)));
  out.set_customer_id(i.customer);
  out.set_channel_id(i.channel);
  out.set_queue_id(i.queue);
  out.set_agent_id(i.engineer);
  out.set_intent(i.intent);
  SetTime(i.created_at, out.mutable_create_time());
  if (i.answered_at != absl::InfinitePast()) SetTime(i.answered_at, out.mutable_answer_time());
  SetTime(i.ended_at, out.mutable_end_time());
  out.set_outcome(OutcomeToProto(i.outcome));
  *out.mutable_handle_time() = DurationToProto(i.handle_time);
  if (i.rating.has_value()) {
    v1::Rating* r = out.mutable_rating();
    r->set_stars(i.rating->stars);
    for (const std::string& tag : i.rating->tags) r->add_tags(tag);
    r->set_favourite(i.rating->favourite);
    r->set_tip_cents(i.rating->tip_cents);
    SetTime(i.rating->at, r->mutable_rate_time());
  }
  return out;
}

v1::AgentRating AgentRatingToProto(const directory::EngineerRecord& record,
                                   const directory::Rank& earned, Tier tier) {
  v1::AgentRating out;
  out.set_agent_id(record.id);
  out.set_handled_count(record.handled);
  *out.mutable_average_handle_time() = DurationToProto(record.average_handle_time());
  out.set_rating_count(record.ratings);
  out.set_average_stars(record.average_stars());
  out.set_good_rating_rate(record.good_rating_rate());
  out.set_favourite_count(record.favourites);
  out.set_tip_rate(record.tip_rate());
  out.set_tip_cents_total(record.tip_cents_total);
  for (const auto& [tag, count] : record.TopTags(5)) {
    v1::TagCount* t = out.add_top_tags();
    t->set_tag(tag);
    t->set_count(count);
  }
  out.set_points(earned.points);
  out.set_earned_tier(TierToProto(earned.tier));
  out.set_tier(TierToProto(tier));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Life

Customers::Customers(Router& router, const DaemonSettings& settings)
    : router_(router), settings_(settings) {}

Customers::~Customers() { Stop(); }

absl::Status Customers::BeforeRecovery() {
  directory::Options options;
  options.block_cache_bytes = static_cast<size_t>(settings_.directory_cache_bytes);
  options.sync_writes = settings_.directory_sync_writes;
  options.id_prefix = settings_.customer_id_prefix;
  options.in_memory = !settings_.durable;
  const std::string path =
      (std::filesystem::path(settings_.data_dir) / std::string(kDirectorySubdir)).string();
  absl::StatusOr<std::unique_ptr<directory::Directory>> opened =
      directory::Directory::Open(path, options);
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat("customer directory: ", opened.status().message()));
  }
  directory_ = *std::move(opened);
  pool_ = std::make_unique<boost::asio::thread_pool>(
      static_cast<size_t>(settings_.directory_threads));
  history_ = std::make_unique<boost::asio::thread_pool>(1);
  return absl::OkStatus();
}

absl::Status Customers::Start() {
  // What the recovery replayed: recorded here, in order, before anything new.
  if (!batch_.empty()) {
    Record(batch_);
    batch_.clear();
  }
  if (absl::Status s = directory_->Sync(); !s.ok()) return s;
  absl::StatusOr<std::vector<directory::EngineerRecord>> records = directory_->ListEngineers();
  if (!records.ok()) return records.status();
  {
    std::lock_guard<std::mutex> lock(records_mu_);
    for (directory::EngineerRecord& r : *records) records_[r.id] = r;
  }
  started_ = true;
  router_.Submit([this, records = *std::move(records)] {
    for (const directory::EngineerRecord& r : records) CheckRank(r);
    RebuildFolds();
  });
  return absl::OkStatus();
}

void Customers::Stop() {
  if (pool_ == nullptr) return;
  pool_->join();
  history_->join();
  pool_.reset();
  history_.reset();
  if (directory_ != nullptr) {
    if (absl::Status s = directory_->Sync(); !s.ok()) {
      LogError("customer directory: final sync failed", {{"error", s.ToString()}});
    }
  }
}

void Customers::Run(std::function<void()> work) {
  boost::asio::post(*pool_, std::move(work));
}

// ---------------------------------------------------------------------------------------------
// The routing snapshot

absl::Status Customers::FillSnapshot(const v1::CustomerHandle* handle,
                                     absl::string_view handle_field, CustomerSnapshot& snapshot,
                                     absl::Time now) {
  if (handle == nullptr && snapshot.id.empty()) return absl::OkStatus();
  // The sessions that ended in batches already answered count (their last agent).
  FlushHistory();
  directory::Customer found;
  if (handle != nullptr) {
    const directory::Handle h = HandleFromProto(*handle);
    if (absl::Status s = directory::ValidateHandle(h, handle_field); !s.ok()) return s;
    absl::StatusOr<directory::Directory::Resolved> resolved =
        directory_->Resolve(h, /*create=*/true, now);
    if (!resolved.ok()) return resolved.status();
    found = std::move(resolved->customer);
    if (!snapshot.id.empty() && snapshot.id.value() != found.id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "customer.id: \"", snapshot.id.value(), "\" but ", handle_field,
          " belongs to customer \"", found.id, "\" (link the handle, or merge the customers)"));
    }
  } else if (!snapshot.id.empty()) {
    absl::StatusOr<directory::Customer> got = directory_->Get(snapshot.id.value());
    if (absl::IsNotFound(got.status())) return absl::OkStatus();  // not in the directory yet
    if (!got.ok()) return got.status();
    found = *std::move(got);
  } else {
    return absl::OkStatus();
  }
  snapshot.id = CustomerId(found.id);  // a merged id routes as its survivor
  if (snapshot.vip_level == 0) snapshot.vip_level = found.vip_level;
  for (const std::string& tag : found.tags) {
    if (snapshot.tags.size() >= kMaxTags) break;
    AppendUnique(snapshot.tags, tag);
  }
  if (snapshot.language.empty()) snapshot.language = found.language;
  for (const std::string& e : found.favourite_engineers) {
    if (snapshot.preferred_engineers.size() >= kMaxPreferred) break;
    AppendUnique(snapshot.preferred_engineers, EngineerId(e));
  }
  if (snapshot.last_engineer.empty() && !found.last_engineer.empty()) {
    snapshot.last_engineer = EngineerId(found.last_engineer);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// History

void Customers::OnEvent(const Event& e, bool replaying) {
  switch (e.type) {
    case EventType::kSessionWrapUp:
    case EventType::kSessionCompleted:
    case EventType::kSessionAbandoned:
    case EventType::kSessionCancelled:
      break;
    case EventType::kSessionOverflowed:
      if (e.state != SessionState::kOverflowed) return;  // moved on to another queue
      break;
    default:
      return;
  }
  if (auto it = fold_of_session_.find(e.session); it != fold_of_session_.end()) {
    folds_.erase(it->second);
    fold_of_session_.erase(it);
  }
  const std::optional<SessionInfo> info = router_.engine().GetSession(e.session);
  if (!info.has_value() || info->customer.id.empty()) return;  // anonymous
  directory::Interaction i;
  i.session = e.session.value();
  i.customer = info->customer.id.value();
  i.channel = info->channel.value();
  i.queue = (e.queue.empty() ? info->queue : e.queue).value();
  i.intent = info->intent;
  i.created_at = info->created_at;
  i.ended_at = e.at;
  i.outcome = OutcomeOf(e.type);
  if (i.outcome == directory::Outcome::kCompleted) {
    i.engineer = (e.engineer.empty() ? info->engineer : e.engineer).value();
    if (info->assigned_at.has_value()) {
      i.answered_at = *info->assigned_at;
      i.handle_time = std::max(e.at - *info->assigned_at, absl::ZeroDuration());
    }
  }
  batch_.push_back(std::move(i));
  // Before Start (the recovery's replay), the history is recorded by Start or BeforeSnapshot;
  // a long replay records it in chunks.
  if (replaying && batch_.size() >= kRecoveryChunk && directory_ != nullptr) {
    Record(batch_);
    batch_.clear();
  }
}

void Customers::OnCommit() {
  if (batch_.empty() || !started_) return;
  {
    std::lock_guard<std::mutex> lock(history_mu_);
    ++history_queued_;
  }
  boost::asio::post(*history_, [this, batch = std::move(batch_)] {
    Record(batch);
    std::lock_guard<std::mutex> lock(history_mu_);
    ++history_done_;
    history_cv_.notify_all();
  });
  batch_.clear();
}

void Customers::FlushHistory() {
  std::unique_lock<std::mutex> lock(history_mu_);
  const uint64_t target = history_queued_;
  history_cv_.wait(lock, [&] { return history_done_ >= target; });
}

void Customers::BeforeSnapshot() {
  if (directory_ == nullptr) return;
  if (started_) {
    OnCommit();  // the current batch's (a snapshot follows a commit)
    FlushHistory();
  } else if (!batch_.empty()) {
    Record(batch_);
    batch_.clear();
  }
  if (absl::Status s = directory_->Sync(); !s.ok()) {
    LogError("customer directory: sync before a snapshot failed", {{"error", s.ToString()}});
  }
}

void Customers::Record(const std::vector<directory::Interaction>& interactions) {
  for (const directory::Interaction& i : interactions) {
    // Unsynced: the journal replays the session's events after a crash, and BeforeSnapshot
    // syncs the directory before the journal forgets them.
    absl::StatusOr<bool> recorded = directory_->RecordInteraction(i, /*sync=*/false);
    if (absl::IsNotFound(recorded.status())) {
      // A customer id the gateway chose, not in the directory yet: it is now.
      absl::StatusOr<directory::Customer> created = directory_->Update(
          i.customer, directory::CustomerUpdate{}, /*create_if_missing=*/true, i.ended_at);
      if (created.ok()) recorded = directory_->RecordInteraction(i, /*sync=*/false);
    }
    if (!recorded.ok()) {
      LogError("customer directory: interaction not recorded",
               {{"session", static_cast<int64_t>(i.session)},
                {"customer", i.customer},
                {"error", recorded.status().ToString()}});
      continue;
    }
    if (!*recorded || i.engineer.empty() || i.outcome != directory::Outcome::kCompleted) {
      continue;
    }
    absl::StatusOr<directory::EngineerRecord> record = directory_->GetEngineer(i.engineer);
    if (!record.ok()) continue;
    CacheRecord(*record);
    if (started_ && settings_.ranking_enabled &&
        record->ratings >= settings_.ranking_min_ratings) {
      router_.Submit([this, r = *std::move(record)] { CheckRank(r); });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Ranks

directory::EngineerRecord Customers::CachedRecord(const std::string& agent) const {
  std::lock_guard<std::mutex> lock(records_mu_);
  auto it = records_.find(agent);
  if (it != records_.end()) return it->second;
  directory::EngineerRecord empty;
  empty.id = agent;
  return empty;
}

void Customers::CacheRecord(const directory::EngineerRecord& record) {
  std::lock_guard<std::mutex> lock(records_mu_);
  records_[record.id] = record;
}

directory::Rank Customers::EarnedRank(const directory::EngineerRecord& record,
                                      Tier current) const {
  return directory::ComputeRank(record, settings_.ranking, current);
}

void Customers::CheckRank(const directory::EngineerRecord& record) {
  if (!settings_.ranking_enabled || record.ratings < settings_.ranking_min_ratings) return;
  const std::optional<EngineerInfo> info = router_.engine().GetEngineer(EngineerId(record.id));
  if (!info.has_value()) return;
  const directory::Rank rank = EarnedRank(record, info->config.tier);
  if (rank.tier == info->config.tier && rank.points == info->config.score) return;
  absl::Status s = router_.Apply(
      SetEngineerRank{EngineerId(record.id), rank.tier, rank.points, rank.reason});
  if (!s.ok()) {
    LogWarning("rank change refused", {{"agent", record.id}, {"error", s.ToString()}});
  }
}

// ---------------------------------------------------------------------------------------------
// Device folds

Customers::Fold* Customers::FindFold(const std::string& device, const std::string& fault_code) {
  auto it = folds_.find(std::make_pair(device, fault_code));
  if (it == folds_.end()) return nullptr;
  const std::optional<SessionInfo> info = router_.engine().GetSession(it->second.session);
  if (!info.has_value() || IsTerminal(info->state) || info->state == SessionState::kWrapUp) {
    fold_of_session_.erase(it->second.session);
    folds_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void Customers::AddFold(const std::string& device, const std::string& fault_code,
                        SessionId session) {
  auto key = std::make_pair(device, fault_code);
  folds_[key] = Fold{session, 0};
  fold_of_session_[session] = std::move(key);
}

void Customers::RebuildFolds() {
  folds_.clear();
  fold_of_session_.clear();
  for (SessionId id : router_.engine().ListSessions()) {
    const std::optional<SessionInfo> info = router_.engine().GetSession(id);
    if (!info.has_value() || IsTerminal(info->state) || info->state == SessionState::kWrapUp ||
        info->channel != settings_.devices.channel) {
      continue;
    }
    std::string device, fault;
    for (const auto& [key, value] : info->attributes) {
      if (key == "device_id") device = value;
      if (key == "fault_code") fault = value;
    }
    if (!device.empty() && !fault.empty()) AddFold(device, fault, id);
  }
}

}  // namespace omniroute::daemon
