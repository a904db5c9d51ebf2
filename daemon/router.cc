#include "daemon/router.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "boost/asio/post.hpp"
#include "daemon/convert.h"
#include "daemon/log.h"

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
      signals_(io_) {}

Router::~Router() {
  Stop();
}

absl::Status Router::Init() {
  engine_ = std::make_unique<Engine>(settings_.engine_options);
  batch_now_ = DaemonNow();
  events_.clear();
  absl::Status status = ApplyStartupObjects(settings_, *engine_, batch_now_, &events_);
  Publish(0);
  events_.clear();
  return status;
}

void Router::Start(std::function<void(int)> on_signal) {
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
  if (!thread_.joinable()) return;
  boost::asio::post(io_, [this] {
    Drain();
    timer_.cancel();
    signals_.cancel();
    io_.stop();
  });
  thread_.join();
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
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    work.swap(queue_);
    drain_posted_ = false;
  }
  batch_now_ = DaemonNow();
  engine_->Advance(batch_now_, &events_);
  Publish(0);
  for (std::function<void()>& w : work) w();
  Commit();
  ArmTimer();
}

void Router::Commit() {
  events_.clear();
  std::vector<std::function<void()>> deliver;
  deliver.swap(after_commit_);
  for (std::function<void()>& fn : deliver) fn();
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

absl::Status Router::Apply(const Command& command) {
  const size_t first = events_.size();
  absl::Status status = engine_->Apply(command, batch_now_, &events_);
  Publish(first);
  return status;
}

void Router::AfterCommit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }

void Router::Publish(size_t first) {
  const size_t history_cap = static_cast<size_t>(std::max(settings_.event_history_size, 0));
  for (size_t i = first; i < events_.size(); ++i) {
    const Event& e = events_[i];
    stats_.Observe(e, *engine_);
    FanOut(e);
    TrackOffer(e);
    if (history_cap > 0) {
      history_.push_back(e);
      while (history_.size() > history_cap) history_.pop_front();
    }
    last_seq_ = e.seq;
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
      pending_offers_[e.session].push_back(PendingOffer{e.engineer, e, false});
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
  const Event& e = offer.created;
  v1::Offer o;
  o.set_offer_id(absl::StrCat(e.seq));
  if (std::optional<v1::Session> s = SessionProto(e.session)) *o.mutable_session() = *s;
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

void Router::RememberRequest(const std::string& request_id, SessionId session,
                             uint64_t fingerprint) {
  PruneRequests();
  requests_[request_id] = RememberedRequest{session, fingerprint, batch_now_};
  request_order_.emplace_back(batch_now_, request_id);
  session_request_ids_[session] = request_id;
}

// ---------------------------------------------------------------------------------------------
// Streams

absl::Status Router::AddEventStream(std::shared_ptr<EventStream> stream, EventFilter filter,
                                    std::optional<uint64_t> after_sequence) {
  if (after_sequence.has_value() && *after_sequence < last_seq_) {
    const uint64_t first_retained = history_.empty() ? last_seq_ + 1 : history_.front().seq;
    if (*after_sequence + 1 < first_retained) {
      return absl::OutOfRangeError(absl::StrCat(
          "after_sequence: ", *after_sequence, " is older than the retained history (events ",
          first_retained, "..", last_seq_, " are kept; limits.event_history_size)"));
    }
    // Replay into the buffer at once, allowing it to hold the whole replay.
    size_t replay = 0;
    for (const Event& e : history_) {
      if (e.seq > *after_sequence && filter.Matches(e)) ++replay;
    }
    stream->AllowBurst(replay);
    for (const Event& e : history_) {
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
      *msg.mutable_offer() = OfferProto(PendingOffer{e.engineer, e, false});
      break;
    case EventType::kOfferAccepted:
    case EventType::kOfferRejected:
    case EventType::kOfferExpired:
    case EventType::kOfferRescinded: {
      v1::OfferEnd* end = msg.mutable_offer_end();
      if (const PendingOffer* o = FindPendingOffer(e.session, e.engineer)) {
        end->set_offer_id(absl::StrCat(o->created.seq));
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

}  // namespace omniroute::daemon
