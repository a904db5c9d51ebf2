#include "daemon/router.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "boost/asio/post.hpp"
#include "daemon/convert.h"
#include "daemon/log.h"
#include "omniroute/durability/codec.h"
#include "omniroute/durability/snapshot_file.h"
#include "omniroute/internal/daemon_state.pb.h"

namespace omniroute::daemon {

absl::Time DaemonNow() { return absl::FromUnixMicros(absl::ToUnixMicros(absl::Now())); }

namespace {

bool IsSessionEvent(EventType type) {
  switch (type) {
    case EventType::kChannelUpserted:
    case EventType::kQueueUpserted:
    case EventType::kQueueRemoved:
    case EventType::kEngineerUpserted:
    case EventType::kEngineerRemoved:
    case EventType::kEngineerRankChanged:
    case EventType::kPresenceChanged:
      return false;
    default:
      return true;
  }
}

v1::OfferEndReason OfferEndReasonOf(EventType type) {
  switch (type) {
    case EventType::kOfferAccepted: return v1::OFFER_END_REASON_ACCEPTED;
    case EventType::kOfferRejected: return v1::OFFER_END_REASON_REJECTED;
    case EventType::kOfferExpired: return v1::OFFER_END_REASON_EXPIRED;
    case EventType::kOfferRescinded: return v1::OFFER_END_REASON_RESCINDED;
    default: return v1::OFFER_END_REASON_UNSPECIFIED;
  }
}

// The offer an OFFER_CREATED event makes, as the API shows it, without its session.
v1::Offer OfferTemplate(const Event& e) {
  v1::Offer o;
  o.set_offer_id(absl::StrCat(e.seq));
  o.set_agent_id(e.engineer.value());
  int position = 0;
  int count = 0;
  if (absl::StartsWith(e.detail, "grab ")) {
    const std::vector<absl::string_view> parts =
        absl::StrSplit(absl::string_view(e.detail).substr(5), '/');
    if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &position) &&
        absl::SimpleAtoi(parts[1], &count)) {
      o.set_delivery_mode(v1::DELIVERY_MODE_GRAB);
      o.set_grab_position(position);
      o.set_grab_count(count);
    }
  }
  if (o.delivery_mode() == v1::DELIVERY_MODE_UNSPECIFIED) {
    o.set_delivery_mode(v1::DELIVERY_MODE_DIRECT);
  }
  if (e.deadline != absl::InfinitePast() && e.deadline != absl::InfiniteFuture()) {
    *o.mutable_deadline_time() = TimeToProto(e.deadline);
  }
  if (e.has_reason) *o.mutable_reason() = RoutingReasonToProto(e.reason);
  return o;
}

PendingOffer NewPendingOffer(const Event& e) {
  return PendingOffer{e.engineer, e.session, e.seq, OfferTemplate(e), false};
}

durability::SyncPolicy JournalSyncPolicy(v1::SyncPolicy policy) {
  switch (policy) {
    case v1::SYNC_POLICY_INTERVAL: return durability::SyncPolicy::kInterval;
    case v1::SYNC_POLICY_NEVER: return durability::SyncPolicy::kNever;
    default: return durability::SyncPolicy::kEveryBatch;
  }
}

// Prunes ended streams from a subscriber list.
template <class S>
void PruneEnded(std::vector<std::shared_ptr<S>>* streams) {
  streams->erase(std::remove_if(streams->begin(), streams->end(),
                                [](const std::shared_ptr<S>& s) { return s->ended(); }),
                 streams->end());
}

}  // namespace

bool EventFilter::Matches(const Event& e) const {
  if (!queues.empty() && !queues.contains(e.queue.value()) &&
      !queues.contains(e.to_queue.value())) {
    return false;
  }
  if (!sessions.empty() && (e.session.empty() || !sessions.contains(e.session.value()))) {
    return false;
  }
  if (!agents.empty() && !agents.contains(e.engineer.value())) return false;
  if (!types.empty() && !types.contains(static_cast<int>(e.type))) return false;
  if (!channels.empty() && !channels.contains(e.channel.value())) return false;
  return true;
}

Router::Router(DaemonSettings settings)
    : settings_(std::move(settings)),
      stats_(settings_.stats_max_window),
      timer_(io_),
      sync_timer_(io_),
      signals_(io_),
      reload_signals_(io_) {}

Router::~Router() {
  Stop();
}

absl::Status Router::Init() {
  engine_ = std::make_unique<Engine>(settings_.engine_options);
  batch_now_ = DaemonNow();
  events_.clear();
  if (settings_.durable) {
    absl::Status status = Recover();
    if (!status.ok()) {
      // Nothing more is written: no shutdown snapshot of a half-recovered state.
      journal_.reset();
      lock_.reset();
    }
    return status;
  }
  for (RouterObserver* observer : observers_) {
    if (absl::Status s = observer->BeforeRecovery(); !s.ok()) return s;
  }
  absl::Status status =
      ApplyStartupObjects(settings_, [this](const Command& command) { return Apply(command); });
  events_.clear();
  startup_objects_refused_ = !status.ok();
  return status;
}

void Router::Start(std::function<void(int)> on_signal, std::function<void()> on_reload) {
  on_reload_ = std::move(on_reload);
  reload_signals_.add(SIGHUP);
  WaitForReload();
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.async_wait(
      [this, on_signal = std::move(on_signal)](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        LogInfo("signal received, shutting down", {{"signal", sig}});
        on_signal(sig);
      });
  ArmTimer();
  thread_ = std::thread([this] {
    // Keep run() going while there is nothing to do; Stop() ends it.
    auto guard = boost::asio::make_work_guard(io_);
    io_.run();
  });
}

void Router::WaitForReload() {
  reload_signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (on_reload_) {
      LogInfo("SIGHUP received, reloading the TLS certificates");
      on_reload_();
    }
    WaitForReload();
  });
}

void Router::BeginShutdown() {
  Submit([this] {
    if (shutting_down_) return;
    shutting_down_ = true;
    const grpc::Status bye(grpc::StatusCode::OK, "");
    for (EventSub& sub : event_subs_) sub.stream->Close(bye);
    for (auto& [id, streams] : session_subs_) {
      for (auto& s : streams) s->Close(bye);
    }
    for (auto& [id, streams] : agent_subs_) {
      for (auto& s : streams) s->Close(bye);
    }
    event_subs_.clear();
    session_subs_.clear();
    agent_subs_.clear();
  });
}

void Router::Stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (thread_.joinable()) {
    boost::asio::post(io_, [this] {
      Drain();
      timer_.cancel();
      sync_timer_.cancel();
      signals_.cancel();
      reload_signals_.cancel();
      io_.stop();
    });
    thread_.join();
  }
  if (journal_ != nullptr) {
    // The engine thread has ended: its state is ours now.
    AwaitSnapshotChild();
    SnapshotNow();  // syncs the journal first
    journal_.reset();
    lock_.reset();
  }
}

void Router::CallFinished() {
  if (in_flight_.fetch_sub(1) == 1) {
    std::lock_guard<std::mutex> lock(idle_mu_);
    idle_cv_.notify_all();
  }
}

bool Router::AwaitNoCallsInFlight(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(idle_mu_);
  return idle_cv_.wait_for(lock, absl::ToChronoMicroseconds(timeout),
                           [this] { return in_flight_.load() == 0; });
}

void Router::Submit(std::function<void()> work) {
  std::lock_guard<std::mutex> lock(queue_mu_);
  if (stopped_) return;
  queue_.push_back(std::move(work));
  if (!drain_posted_) {
    drain_posted_ = true;
    boost::asio::post(io_, [this] { Drain(); });
  }
}

void Router::Drain() {
  const auto started = std::chrono::steady_clock::now();
  // The batch's buffer and the queue trade places, so that both keep their capacity.
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    batch_work_.swap(queue_);
    drain_posted_ = false;
  }
  batch_now_ = DaemonNow();
  engine_->Advance(batch_now_, &events_);
  Publish(0);
  for (std::function<void()>& w : batch_work_) w();
  metrics_.batch_size.Observe(static_cast<double>(batch_work_.size()));
  batch_work_.clear();
  Commit();
  ArmTimer();
  metrics_.batch_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void Router::Commit() {
  JournalBatch();
  events_.clear();
  for (RouterObserver* observer : observers_) observer->OnCommit();
  delivering_.swap(after_commit_);
  for (std::function<void()>& fn : delivering_) fn();
  delivering_.clear();
  if (SnapshotDue()) StartSnapshot();
}

void Router::ArmTimer() {
  const std::optional<absl::Time> next = engine_->NextDeadline();
  if (!next.has_value()) {
    timer_.cancel();
    return;
  }
  const absl::Duration delay = std::max(*next - absl::Now(), absl::ZeroDuration());
  timer_.expires_after(std::chrono::microseconds(absl::ToInt64Microseconds(delay) + 1));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled or re-armed
    Drain();
  });
}

absl::Status Router::Apply(const Command& command, const RequestKey* key) {
  const size_t first = events_.size();
  absl::Status status = engine_->Apply(command, batch_now_, &events_);
  // Remembered before the events are published, so that the offers and session updates they
  // carry show the session's request id.
  if (status.ok() && key != nullptr && std::holds_alternative<CreateSession>(command)) {
    RememberRequest(*key, CreatedSession(first));
  }
  Publish(first);
  if (!status.ok()) return status;
  if (journal_ != nullptr && !replaying_) {
    // The engine's time after the command: what it applied it at (never earlier than a
    // timer it fired before), so that a replay reproduces it.
    records_.push_back(durability::EncodeEntry(durability::JournalEntry{
        .at = engine_->now(),
        .command = command,
        .request_id = key != nullptr ? key->request_id : std::string(),
        .request_fingerprint = key != nullptr ? key->fingerprint : 0}));
  }
  return status;
}

SessionId Router::CreatedSession(size_t from) const {
  for (size_t i = from; i < events_.size(); ++i) {
    if (events_[i].type == EventType::kSessionCreated) return events_[i].session;
  }
  return SessionId();
}

void Router::AfterCommit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }

void Router::Publish(size_t first) {
  const size_t history_cap = static_cast<size_t>(std::max(settings_.event_history_size, 0));
  for (size_t i = first; i < events_.size(); ++i) {
    const Event& e = events_[i];
    stats_.Observe(e, *engine_);
    if (!replaying_) counters_.Observe(e, *engine_);  // counters start at 0 with the process
    FanOut(e);
    TrackOffer(e);
    history_.Add(e, history_cap);
    last_seq_ = e.seq;
    for (RouterObserver* observer : observers_) observer->OnEvent(e, replaying_);
  }
}

void Router::TrackOffer(const Event& e) {
  if (e.session.empty() || !IsSessionEvent(e.type)) return;
  if (e.state != SessionState::kOffered) {
    pending_offers_.erase(e.session);
    return;
  }
  switch (e.type) {
    case EventType::kOfferCreated:
      pending_offers_[e.session].push_back(NewPendingOffer(e));
      break;
    case EventType::kOfferClaimed:
      if (auto it = pending_offers_.find(e.session); it != pending_offers_.end()) {
        for (PendingOffer& o : it->second) {
          if (o.agent == e.engineer) o.claimed = true;
        }
      }
      break;
    case EventType::kOfferAccepted:
    case EventType::kOfferRejected:
    case EventType::kOfferExpired:
    case EventType::kOfferRescinded:
      if (auto it = pending_offers_.find(e.session); it != pending_offers_.end()) {
        std::erase_if(it->second, [&](const PendingOffer& o) { return o.agent == e.engineer; });
        if (it->second.empty()) pending_offers_.erase(it);
      }
      break;
    default:
      break;
  }
}

const PendingOffer* Router::FindPendingOffer(SessionId session, const EngineerId& agent) const {
  auto it = pending_offers_.find(session);
  if (it == pending_offers_.end()) return nullptr;
  for (const PendingOffer& o : it->second) {
    if (o.agent == agent) return &o;
  }
  return nullptr;
}

std::optional<v1::Session> Router::SessionProto(SessionId id) const {
  std::optional<SessionInfo> info = engine_->GetSession(id);
  if (!info.has_value()) return std::nullopt;
  v1::Session s = SessionToProto(*info);
  if (auto it = session_request_ids_.find(id); it != session_request_ids_.end()) {
    s.set_request_id(it->second);
  }
  return s;
}

v1::Offer Router::OfferProto(const PendingOffer& offer) const {
  v1::Offer o = offer.offer;
  if (std::optional<v1::Session> s = SessionProto(offer.session)) *o.mutable_session() = *s;
  MarkCallbackOffer(&o);
  return o;
}

void Router::PruneRequests() {
  const absl::Time horizon = batch_now_ - settings_.request_id_retention;
  while (!request_order_.empty() && request_order_.front().first < horizon) {
    auto it = requests_.find(request_order_.front().second);
    if (it != requests_.end() && it->second.at == request_order_.front().first) {
      session_request_ids_.erase(it->second.session);
      requests_.erase(it);
    }
    request_order_.pop_front();
  }
}

const RememberedRequest* Router::FindRequest(const std::string& request_id) {
  PruneRequests();
  auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : &it->second;
}

void Router::RememberRequest(const RequestKey& key, SessionId session) {
  PruneRequests();
  requests_[key.request_id] = RememberedRequest{session, key.fingerprint, batch_now_};
  request_order_.emplace_back(batch_now_, key.request_id);
  session_request_ids_[session] = key.request_id;
}

// ---------------------------------------------------------------------------------------------
// Streams

absl::Status Router::AddEventStream(std::shared_ptr<EventStream> stream, EventFilter filter,
                                    std::optional<uint64_t> after_sequence) {
  if (after_sequence.has_value() && *after_sequence < last_seq_) {
    const uint64_t first_retained = history_.empty() ? last_seq_ + 1 : history_[0].seq;
    if (*after_sequence + 1 < first_retained) {
      return absl::OutOfRangeError(absl::StrCat(
          "after_sequence: ", *after_sequence, " is older than the retained history (events ",
          first_retained, "..", last_seq_, " are kept; limits.event_history_size)"));
    }
    // Replay into the buffer at once, allowing it to hold the whole replay.
    size_t replay = 0;
    for (size_t i = 0; i < history_.size(); ++i) {
      const Event& e = history_[i];
      if (e.seq > *after_sequence && filter.Matches(e)) ++replay;
    }
    stream->AllowBurst(replay);
    for (size_t i = 0; i < history_.size(); ++i) {
      const Event& e = history_[i];
      if (e.seq <= *after_sequence || !filter.Matches(e)) continue;
      v1::StreamEventsResponse msg;
      *msg.mutable_event() = EventToProto(e);
      if (!stream->Push(std::move(msg))) return absl::OkStatus();
    }
  }
  event_subs_.push_back(EventSub{std::move(stream), std::move(filter)});
  return absl::OkStatus();
}

absl::Status Router::AddSessionWatch(std::shared_ptr<WatchStream> stream, SessionId session) {
  std::optional<v1::Session> s = SessionProto(session);
  if (!s.has_value()) {
    return absl::NotFoundError(absl::StrCat("session ", session.value(), " not found"));
  }
  const bool terminal = s->state() == v1::SESSION_STATE_COMPLETED ||
                        s->state() == v1::SESSION_STATE_ABANDONED ||
                        s->state() == v1::SESSION_STATE_CANCELLED ||
                        s->state() == v1::SESSION_STATE_OVERFLOWED;
  v1::WatchSessionResponse first;
  *first.mutable_session() = *std::move(s);
  // Delivered with the batch, like every other stream message.
  AfterCommit([stream, first = std::move(first), terminal]() mutable {
    stream->Push(std::move(first));
    if (terminal) stream->Close(grpc::Status::OK);
  });
  if (!terminal) session_subs_[session].push_back(std::move(stream));
  return absl::OkStatus();
}

absl::Status Router::AddOfferStream(std::shared_ptr<OfferStream> stream, const EngineerId& agent,
                                    bool offline_on_disconnect) {
  std::optional<EngineerInfo> info = engine_->GetEngineer(agent);
  if (!info.has_value()) {
    return absl::NotFoundError(absl::StrCat("agent \"", agent.value(), "\" not found"));
  }
  v1::StreamOffersResponse first;
  v1::AgentSnapshot* snap = first.mutable_snapshot();
  *snap->mutable_status() = AgentStatusToProto(*info);
  for (SessionId sid : info->sessions) {
    if (const PendingOffer* o = FindPendingOffer(sid, agent)) {
      *snap->add_pending_offers() = OfferProto(*o);
    } else if (std::optional<v1::Session> s = SessionProto(sid);
               s.has_value() && s->agent_id() == agent.value() &&
               (s->state() == v1::SESSION_STATE_ASSIGNED ||
                s->state() == v1::SESSION_STATE_WRAP_UP)) {
      *snap->add_held_sessions() = *std::move(s);
    }
  }
  // Grab offers reserve nothing, so they are not among the agent's sessions: look them up.
  for (const auto& [sid, offers] : pending_offers_) {
    for (const PendingOffer& o : offers) {
      if (o.agent != agent) continue;
      if (std::find(info->sessions.begin(), info->sessions.end(), sid) != info->sessions.end()) {
        continue;
      }
      *snap->add_pending_offers() = OfferProto(o);
    }
  }
  std::sort(snap->mutable_pending_offers()->begin(), snap->mutable_pending_offers()->end(),
            [](const v1::Offer& a, const v1::Offer& b) {
              return a.offer_id().size() != b.offer_id().size()
                         ? a.offer_id().size() < b.offer_id().size()
                         : a.offer_id() < b.offer_id();
            });
  AfterCommit([stream, first = std::move(first)]() mutable { stream->Push(std::move(first)); });
  if (offline_on_disconnect) ++offline_on_disconnect_[agent];
  agent_subs_[agent].push_back(std::move(stream));
  return absl::OkStatus();
}

void Router::OfferStreamGone(const EngineerId& agent) {
  auto it = offline_on_disconnect_.find(agent);
  if (it == offline_on_disconnect_.end()) return;
  if (--it->second > 0) return;
  offline_on_disconnect_.erase(it);
  if (shutting_down_) return;
  std::optional<EngineerInfo> info = engine_->GetEngineer(agent);
  if (!info.has_value() || info->presence == Presence::kOffline) return;
  SetPresence offline;
  offline.engineer = agent;
  offline.presence = Presence::kOffline;
  if (absl::Status s = Apply(Command(offline)); !s.ok()) {
    LogWarning("could not set a disconnected agent offline",
               {{"agent", agent.value()}, {"error", s.ToString()}});
  } else {
    LogInfo("agent set offline: its offer stream disconnected", {{"agent", agent.value()}});
  }
}

v1::StreamOffersResponse Router::OfferMessage(const Event& e, const v1::Event& proto) const {
  v1::StreamOffersResponse msg;
  switch (e.type) {
    case EventType::kOfferCreated:
      *msg.mutable_offer() = OfferProto(NewPendingOffer(e));
      break;
    case EventType::kOfferAccepted:
    case EventType::kOfferRejected:
    case EventType::kOfferExpired:
    case EventType::kOfferRescinded: {
      v1::OfferEnd* end = msg.mutable_offer_end();
      if (const PendingOffer* o = FindPendingOffer(e.session, e.engineer)) {
        end->set_offer_id(absl::StrCat(o->offer_id));
      }
      end->set_session_id(SessionIdToString(e.session));
      end->set_reason(OfferEndReasonOf(e.type));
      break;
    }
    case EventType::kSessionAssigned:
    case EventType::kSessionWrapUp:
    case EventType::kSessionCompleted:
    case EventType::kSessionTransferred:
      if (std::optional<v1::Session> s = SessionProto(e.session)) {
        *msg.mutable_session_update()->mutable_session() = *std::move(s);
      }
      break;
    case EventType::kPresenceChanged:
    case EventType::kEngineerUpserted:
    case EventType::kEngineerRankChanged:
      if (std::optional<EngineerInfo> info = engine_->GetEngineer(e.engineer)) {
        *msg.mutable_status() = AgentStatusToProto(*info);
      }
      break;
    default:
      return msg;  // nothing for the desktop
  }
  *msg.mutable_event() = proto;
  return msg;
}

void Router::FanOut(const Event& e) {
  if (event_subs_.empty() && session_subs_.empty() && agent_subs_.empty()) return;
  std::optional<v1::Event> proto;
  const auto get_proto = [&]() -> const v1::Event& {
    if (!proto.has_value()) proto = EventToProto(e);
    return *proto;
  };

  bool prune = false;
  for (EventSub& sub : event_subs_) {
    if (sub.stream->ended()) {
      prune = true;
      continue;
    }
    if (!sub.filter.Matches(e)) continue;
    v1::StreamEventsResponse msg;
    *msg.mutable_event() = get_proto();
    AfterCommit([this, stream = sub.stream, msg = std::move(msg)]() mutable {
      if (!stream->Push(std::move(msg)) && stream->TakeOverflowNotice()) {
        LogWarning("event stream ended: its consumer fell behind",
                   {{"buffer", settings_.stream_buffer_size}});
      }
    });
  }
  if (prune) {
    std::erase_if(event_subs_, [](const EventSub& s) { return s.stream->ended(); });
  }

  if (!e.session.empty() && IsSessionEvent(e.type)) {
    if (auto it = session_subs_.find(e.session); it != session_subs_.end()) {
      const bool terminal = omniroute::IsTerminal(e.state);
      PruneEnded(&it->second);
      for (const std::shared_ptr<WatchStream>& stream : it->second) {
        v1::WatchSessionResponse msg;
        *msg.mutable_event() = get_proto();
        AfterCommit([stream, msg = std::move(msg), terminal]() mutable {
          if (!stream->Push(std::move(msg)) && stream->TakeOverflowNotice()) {
            LogWarning("session watch ended: its consumer fell behind");
          }
          if (terminal) stream->Close(grpc::Status::OK);
        });
      }
      if (terminal || it->second.empty()) session_subs_.erase(it);
    }
  }

  if (!e.engineer.empty()) {
    if (auto it = agent_subs_.find(e.engineer); it != agent_subs_.end()) {
      PruneEnded(&it->second);
      if (e.type == EventType::kEngineerRemoved) {
        for (const std::shared_ptr<OfferStream>& stream : it->second) {
          AfterCommit([stream] { stream->Close(grpc::Status::OK); });
        }
        agent_subs_.erase(it);
        return;
      }
      v1::StreamOffersResponse msg = OfferMessage(e, get_proto());
      if (msg.update_case() != v1::StreamOffersResponse::UPDATE_NOT_SET) {
        for (const std::shared_ptr<OfferStream>& stream : it->second) {
          AfterCommit([stream, msg, agent = e.engineer]() mutable {
            if (!stream->Push(std::move(msg)) && stream->TakeOverflowNotice()) {
              LogWarning("offer stream ended: its consumer fell behind",
                         {{"agent", agent.value()}});
            }
          });
        }
      }
      if (it->second.empty()) agent_subs_.erase(it);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Durability

absl::Status Router::Recover() {
  const std::string& dir = settings_.data_dir;
  const absl::Time started = absl::Now();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("data_dir: cannot create ", dir, ": ", ec.message()));
  }
  absl::StatusOr<durability::LockFile> lock = durability::LockFile::Acquire(dir);
  if (!lock.ok()) return lock.status();
  lock_.emplace(*std::move(lock));
  for (RouterObserver* observer : observers_) {
    if (absl::Status s = observer->BeforeRecovery(); !s.ok()) return s;
  }

  absl::StatusOr<durability::LoadedSnapshot> loaded = durability::LoadNewestSnapshot(dir);
  if (!loaded.ok()) return loaded.status();
  for (const std::string& why : loaded->skipped) {
    LogWarning("damaged snapshot skipped; an older one is used", {{"problem", why}});
  }
  uint64_t from = 1;
  const absl::Time load_started = absl::Now();
  if (loaded->snapshot.has_value()) {
    if (absl::Status s = RestoreSnapshot(loaded->snapshot->bytes); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(loaded->snapshot->path, ": ", s.message()));
    }
    from = loaded->snapshot->position;
    snapshot_position_ = from;
  }

  durability::FileJournalOptions options;
  options.max_segment_bytes = static_cast<uint64_t>(settings_.segment_bytes);
  options.sync_policy = JournalSyncPolicy(settings_.sync_policy);
  options.sync_interval = settings_.sync_interval;
  absl::StatusOr<std::unique_ptr<durability::FileJournal>> journal =
      durability::FileJournal::Open(dir, options);
  if (!journal.ok()) return journal.status();
  journal_ = *std::move(journal);
  const durability::OpenReport& report = journal_->open_report();
  if (!report.detail.empty()) {
    LogWarning("journal: a torn record at the tail was cut off (a crash while writing it; "
               "its request was never answered)",
               {{"dropped_bytes", static_cast<int64_t>(report.dropped_bytes)},
                {"detail", report.detail}});
  }
  const uint64_t next = journal_->next_position();
  if (from > next) {
    return absl::DataLossError(absl::StrCat(
        "the newest snapshot covers the journal up to record ", from - 1,
        " but the journal in ", dir, " ends at record ", next - 1,
        ": journal segments are missing (restore the data directory from a backup)"));
  }
  if (from < journal_->first_position()) {
    return absl::DataLossError(absl::StrCat(
        "the journal in ", dir, " starts at record ", journal_->first_position(),
        " but the newest usable snapshot needs it from record ", from,
        ": journal segments are missing (restore the data directory from a backup)"));
  }
  const absl::Time replay_started = absl::Now();
  if (absl::Status s = ReplayJournal(from); !s.ok()) return s;
  const absl::Time replay_ended = absl::Now();

  if (!loaded->snapshot.has_value() && next == 1) {
    // A new data directory: seed it with the configuration's startup objects, and keep the
    // engine settings with the state in a first snapshot.
    batch_now_ = DaemonNow();
    absl::Status seeded =
        ApplyStartupObjects(settings_, [this](const Command& command) { return Apply(command); });
    if (!seeded.ok()) {
      startup_objects_refused_ = true;
      return seeded;
    }
    JournalBatch();
    events_.clear();
    SnapshotNow();
    LogInfo("data directory created", {{"data_dir", dir},
                                       {"records", static_cast<int64_t>(journal_->next_position() - 1)},
                                       {"sync_policy", v1::SyncPolicy_Name(settings_.sync_policy)}});
  } else {
    if (!settings_.channels.empty() || !settings_.queues.empty() || !settings_.agents.empty()) {
      LogInfo("the data directory holds state: the configuration's startup channels, queues "
              "and agents are not applied (change them with AdminService)",
              {{"data_dir", dir}});
    }
    // Timers that fell due while the daemon was down fire now (not one after another in the
    // past: nobody saw offers made then); waiting times kept counting. A replay does not
    // reproduce this catch-up, so a snapshot keeps it.
    batch_now_ = std::max(DaemonNow(), engine_->now());
    engine_->CatchUp(batch_now_, &events_);
    const int64_t timer_events = static_cast<int64_t>(events_.size());
    Publish(0);
    events_.clear();
    after_commit_.clear();
    const absl::Time caught_up = absl::Now();
    if (timer_events > 0) SnapshotNow();
    LogInfo("state recovered",
            {{"data_dir", dir},
             {"snapshot_position", static_cast<int64_t>(loaded->snapshot.has_value() ? from : 0)},
             {"replayed_records", static_cast<int64_t>(next - from)},
             {"sessions", static_cast<int64_t>(engine_->ListSessions().size())},
             {"dropped_bytes", static_cast<int64_t>(report.dropped_bytes)},
             {"timer_events", timer_events},
             {"load_ms", absl::ToInt64Milliseconds(replay_started - load_started)},
             {"replay_ms", absl::ToInt64Milliseconds(replay_ended - replay_started)},
             {"timers_ms", absl::ToInt64Milliseconds(caught_up - replay_ended)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  }
  last_snapshot_at_ = absl::Now();
  return absl::OkStatus();
}

absl::Status Router::ReplayJournal(uint64_t from) {
  replaying_ = true;
  absl::Status status = journal_->ReadFrom(
      from, [this](uint64_t position, absl::string_view record) -> absl::Status {
        absl::StatusOr<durability::JournalEntry> entry = durability::DecodeEntry(record);
        if (!entry.ok()) {
          return absl::Status(entry.status().code(),
                              absl::StrCat("journal record ", position, ": ",
                                           entry.status().message()));
        }
        batch_now_ = entry->at;
        const RequestKey key{std::move(entry->request_id), entry->request_fingerprint};
        absl::Status s = Apply(entry->command, key.request_id.empty() ? nullptr : &key);
        events_.clear();
        after_commit_.clear();
        if (!s.ok()) {
          return absl::InternalError(absl::StrCat(
              "journal record ", position, " (", CommandName(entry->command), " at ",
              absl::FormatTime(entry->at), ") was refused on replay: ", s.message(),
              "; the journal was not written by an engine that behaves like this build's"));
        }
        return absl::OkStatus();
      });
  replaying_ = false;
  return status;
}

void Router::JournalBatch() {
  if (journal_ == nullptr || records_.empty()) return;
  absl::StatusOr<uint64_t> first = journal_->Append(records_);
  if (!first.ok()) JournalFailed(first.status());
  for (const std::string& record : records_) journal_bytes_since_snapshot_ += record.size() + 8;
  records_.clear();
  MaybeSyncJournal();
  ArmSyncTimer();
}

void Router::MaybeSyncJournal() {
  const bool unsynced = journal_->has_unsynced_records();
  const auto started = std::chrono::steady_clock::now();
  if (absl::Status s = journal_->MaybeSync(absl::Now()); !s.ok()) JournalFailed(s);
  if (unsynced && !journal_->has_unsynced_records()) {
    metrics_.journal_sync_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
}

void Router::ArmSyncTimer() {
  if (sync_timer_armed_ || !journal_->has_unsynced_records()) return;
  const absl::Time deadline = journal_->SyncDeadline();
  if (deadline == absl::InfiniteFuture()) return;
  sync_timer_armed_ = true;
  const absl::Duration delay = std::max(deadline - absl::Now(), absl::ZeroDuration());
  sync_timer_.expires_after(std::chrono::microseconds(absl::ToInt64Microseconds(delay) + 1));
  sync_timer_.async_wait([this](const boost::system::error_code& ec) {
    sync_timer_armed_ = false;
    if (ec || journal_ == nullptr) return;
    MaybeSyncJournal();
    ArmSyncTimer();
  });
}

void Router::JournalFailed(const absl::Status& status) {
  LogError("the journal cannot be written; exiting so that a restart recovers the durable "
           "state (requests of this batch were not answered)",
           {{"data_dir", settings_.data_dir}, {"error", status.ToString()}});
  std::fflush(stderr);
  std::_Exit(75);  // EX_TEMPFAIL
}

bool Router::SnapshotDue() const {
  if (journal_ == nullptr || replaying_ || snapshot_child_ >= 0 ||
      journal_bytes_since_snapshot_ == 0) {
    return false;
  }
  if (journal_bytes_since_snapshot_ >= static_cast<uint64_t>(settings_.snapshot_journal_bytes)) {
    return true;
  }
  return settings_.snapshot_interval > absl::ZeroDuration() &&
         absl::Now() - last_snapshot_at_ >= settings_.snapshot_interval;
}

std::string Router::EncodeSnapshot() const {
  const std::string engine = engine_->SaveSnapshot();
  internal::DaemonState state;
  state.set_last_event_sequence(last_seq_);
  for (const auto& [at, request_id] : request_order_) {
    auto it = requests_.find(request_id);
    if (it == requests_.end() || it->second.at != at) continue;  // superseded
    internal::RememberedRequest* r = state.add_requests();
    r->set_request_id(request_id);
    r->set_session_id(it->second.session.value());
    r->set_fingerprint(it->second.fingerprint);
    r->set_at_unix_micros(absl::ToUnixMicros(at));
  }
  for (const auto& [session, offers] : pending_offers_) {
    for (const PendingOffer& o : offers) {
      internal::PendingOffer* p = state.add_pending_offers();
      p->set_session_id(session.value());
      p->set_agent_id(o.agent.value());
      p->set_offer_id(o.offer_id);
      *p->mutable_offer() = o.offer;
      p->set_claimed(o.claimed);
    }
  }
  return durability::JoinSnapshotParts(engine, state.SerializeAsString());
}

absl::Status Router::RestoreSnapshot(absl::string_view bytes) {
  absl::StatusOr<durability::SnapshotParts> parts = durability::SplitSnapshotParts(bytes);
  if (!parts.ok()) return parts.status();
  if (absl::Status s = engine_->LoadSnapshot(parts->engine); !s.ok()) return s;
  const absl::string_view rest = parts->daemon;
  internal::DaemonState state;
  if (!state.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) {
    return absl::DataLossError("snapshot: the daemon's state does not parse");
  }
  last_seq_ = state.last_event_sequence();
  for (const internal::RememberedRequest& r : state.requests()) {
    const absl::Time at = absl::FromUnixMicros(r.at_unix_micros());
    const SessionId session(r.session_id());
    requests_[r.request_id()] = RememberedRequest{session, r.fingerprint(), at};
    request_order_.emplace_back(at, r.request_id());
    session_request_ids_[session] = r.request_id();
  }
  for (const internal::PendingOffer& p : state.pending_offers()) {
    const SessionId session(p.session_id());
    pending_offers_[session].push_back(
        PendingOffer{EngineerId(p.agent_id()), session, p.offer_id(), p.offer(), p.claimed()});
  }
  return absl::OkStatus();
}

void Router::StartSnapshot() {
  if (snapshot_waiter_.joinable()) snapshot_waiter_.join();  // the previous child's, done
  for (RouterObserver* observer : observers_) observer->BeforeSnapshot();
  // The snapshot must never be ahead of the durable journal (whatever the sync policy), or a
  // power failure could leave a snapshot whose records the journal lost.
  if (absl::Status s = journal_->Sync(); !s.ok()) JournalFailed(s);
  const uint64_t position = journal_->next_position();
  const absl::Time started = absl::Now();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    LogWarning("snapshot not taken: fork failed", {{"error", std::strerror(errno)}});
    last_snapshot_at_ = started;  // try again after the interval
    journal_bytes_since_snapshot_ = 0;
    return;
  }
  if (pid == 0) {
    // The child: a copy of this process's memory at this instant, with this thread only. It
    // serializes and writes, then leaves without running destructors or atexit handlers. It
    // dies with the daemon, so that it never holds the data directory's lock alone.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(3);
    absl::Status s = durability::WriteSnapshotFile(settings_.data_dir, position, EncodeSnapshot());
    if (!s.ok()) {
      const std::string line = absl::StrCat("omnirouted: snapshot: ", s.ToString(), "\n");
      [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
      ::_exit(1);
    }
    ::_exit(0);
  }
  const absl::Duration stall = absl::Now() - started;
  snapshot_child_ = pid;
  journal_bytes_since_snapshot_ = 0;
  last_snapshot_at_ = started;
  LogInfo("snapshot started",
          {{"position", static_cast<int64_t>(position)},
           {"fork_us", absl::ToInt64Microseconds(stall)}});
  snapshot_waiter_ = std::thread([this, pid, position, started] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    boost::asio::post(io_, [this, position, status, started] {
      SnapshotFinished(position, status, started);
    });
  });
}

void Router::SnapshotFinished(uint64_t position, int wait_status, absl::Time started) {
  if (snapshot_child_ < 0) return;  // already handled by AwaitSnapshotChild
  snapshot_child_ = -1;
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    SnapshotWritten(position);
    LogInfo("snapshot written", {{"position", static_cast<int64_t>(position)},
                                 {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  } else {
    LogError("snapshot failed; the journal is kept and the next snapshot tries again",
             {{"position", static_cast<int64_t>(position)}, {"wait_status", wait_status}});
  }
}

void Router::AwaitSnapshotChild() {
  if (snapshot_waiter_.joinable()) snapshot_waiter_.join();
  snapshot_child_ = -1;  // finished; written or not, SnapshotNow follows
}

void Router::SnapshotNow() {
  for (RouterObserver* observer : observers_) observer->BeforeSnapshot();
  if (absl::Status s = journal_->Sync(); !s.ok()) {
    LogError("snapshot not taken: the journal cannot be synced", {{"error", s.ToString()}});
    return;
  }
  const uint64_t position = journal_->next_position();
  const absl::Time started = absl::Now();
  if (absl::Status s =
          durability::WriteSnapshotFile(settings_.data_dir, position, EncodeSnapshot());
      !s.ok()) {
    LogError("snapshot failed", {{"position", static_cast<int64_t>(position)},
                                 {"error", s.ToString()}});
    return;
  }
  SnapshotWritten(position);
  journal_bytes_since_snapshot_ = 0;
  last_snapshot_at_ = absl::Now();
  LogInfo("snapshot written", {{"position", static_cast<int64_t>(position)},
                               {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
}

void Router::SnapshotWritten(uint64_t position) {
  // WriteSnapshotFile keeps the newest older snapshot as a fallback: keep the journal after
  // it, and drop what is before.
  if (snapshot_position_ > 0 && snapshot_position_ < position) {
    if (absl::Status s = journal_->TruncateBefore(snapshot_position_); !s.ok()) {
      LogWarning("old journal segments not removed", {{"error", s.ToString()}});
    }
  }
  snapshot_position_ = std::max(snapshot_position_, position);
  metrics_.snapshots.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace omniroute::daemon
