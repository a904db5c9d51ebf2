#include "daemon/services.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/convert.h"
#include "daemon/log.h"
#include "daemon/reactors.h"
#include "daemon/session_create.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace omniroute::daemon {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

grpc::Status NotFound(absl::string_view what) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(what));
}
grpc::Status Failed(absl::string_view what) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, std::string(what));
}


absl::StatusOr<absl::Duration> StatsWindow(const google::protobuf::Duration* window, bool has,
                                           const DaemonSettings& settings) {
  if (!has) return settings.stats_default_window;
  absl::StatusOr<absl::Duration> d = DurationFromProto("window", *window);
  if (!d.ok()) return d.status();
  if (*d <= absl::ZeroDuration()) return absl::InvalidArgumentError("window: must be positive");
  if (*d > settings.stats_max_window) {
    return absl::InvalidArgumentError(
        absl::StrCat("window: longer than the daemon's stats.max_window (",
                     absl::FormatDuration(settings.stats_max_window), ")"));
  }
  return *d;
}

// Sessions ids sort by number; tokens carry them in decimal.
std::string SessionKey(SessionId id) { return absl::StrCat(id.value()); }

// The filters of a List request: the request without its paging fields, and the method (a
// token of one listing is refused by another).
template <class Request>
uint64_t FilterFingerprint(Request request) {
  request.clear_page_size();
  request.clear_page_token();
  uint64_t h = MessageFingerprint(request);
  for (unsigned char c : request.GetDescriptor()->full_name()) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

grpc::Status CheckOfferId(Router& router, SessionId session, const EngineerId& agent,
                          absl::string_view offer_id_text) {
  absl::StatusOr<uint64_t> offer_id = ParseOfferId("offer_id", offer_id_text);
  if (!offer_id.ok()) return ToGrpcStatus(offer_id.status());
  if (*offer_id == 0) return grpc::Status::OK;
  if (!router.engine().GetSession(session).has_value()) {
    return NotFound(absl::StrCat("session ", session.value(), " not found"));
  }
  if (!router.engine().GetEngineer(agent).has_value()) {
    return NotFound(absl::StrCat("agent \"", agent.value(), "\" not found"));
  }
  const PendingOffer* pending = router.FindPendingOffer(session, agent);
  if (pending == nullptr) {
    return Failed(absl::StrCat("offer_id: no offer of session ", session.value(), " to agent \"",
                               agent.value(), "\" is pending"));
  }
  if (pending->offer_id != *offer_id) {
    return Failed(absl::StrCat("offer_id: offer ", *offer_id, " is no longer pending; the ",
                               "pending offer of session ", session.value(), " to agent \"",
                               agent.value(), "\" is ", pending->offer_id));
  }
  return grpc::Status::OK;
}

// Creates a stream reactor counted against limits.max_open_streams.
template <class Response>
std::shared_ptr<OutStream<Response>> NewStream(Router& router,
                                               std::function<void()> on_done = nullptr) {
  const int open = ++router.open_streams();
  auto stream = OutStream<Response>::Create(
      static_cast<size_t>(router.settings().stream_buffer_size),
      [&router, on_done = std::move(on_done)] {
        --router.open_streams();
        if (on_done) on_done();
      });
  if (open > router.settings().max_open_streams) {
    stream->Close(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               absl::StrCat("limits.max_open_streams: ",
                                            router.settings().max_open_streams,
                                            " streams are open")));
  }
  return stream;
}

const grpc::Status kShuttingDown(grpc::StatusCode::UNAVAILABLE, "the daemon is shutting down");

// Applies a command about one session (engine field names renamed by `renames`) and answers
// with the session as it is after it.
grpc::Status ApplyToSession(Router& router, const Command& command, SessionId session,
                            std::initializer_list<FieldRename> renames, v1::Session* out) {
  absl::Status s = ToApiFieldPath(router.Apply(command), renames);
  if (!s.ok()) return ToGrpcStatus(s);
  if (std::optional<v1::Session> now = router.SessionProto(session)) *out = *std::move(now);
  return grpc::Status::OK;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared helpers

uint64_t MessageFingerprint(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, const std::string& page_token,
                                             uint64_t filter, const DaemonSettings& settings) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: ", page_size, " is negative"));
  }
  PageRequest page;
  page.filter = filter;
  page.size = page_size == 0 ? static_cast<size_t>(settings.default_page_size)
                             : static_cast<size_t>(std::min(page_size, settings.max_page_size));
  if (page_token.empty()) return page;
  std::string raw;
  const auto bad = [] {
    return absl::InvalidArgumentError(
        "page_token: not a token of this listing (use the next_page_token of the previous "
        "page, with the same filters)");
  };
  if (!absl::WebSafeBase64Unescape(page_token, &raw)) return bad();
  const size_t colon = raw.find(':');
  uint64_t token_filter = 0;
  if (colon == std::string::npos || colon + 1 >= raw.size() ||
      !absl::SimpleHexAtoi(raw.substr(0, colon), &token_filter) || token_filter != filter) {
    return bad();
  }
  page.after = raw.substr(colon + 1);
  return page;
}

std::string MakePageToken(const PageRequest& page, const std::string& last_key) {
  return absl::WebSafeBase64Escape(absl::StrCat(absl::Hex(page.filter), ":", last_key));
}

// ---------------------------------------------------------------------------------------------
// AdminService

ServerUnaryReactor* AdminServiceImpl::UpsertChannel(CallbackServerContext* ctx,
                                                    const v1::UpsertChannelRequest* request,
                                                    v1::UpsertChannelResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kUpsertChannel, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (!request->has_channel()) return Answer(ctx, Invalid("channel", "required"));
  absl::StatusOr<ChannelSpec> spec = ChannelFromProto(request->channel());
  if (!spec.ok()) return Answer(ctx, ToGrpcStatus(spec.status()));
  return OnEngine(ctx, router_, [this, response, spec = *std::move(spec)] {
    Engine& engine = router_.engine();
    bool existed = false;
    for (const ChannelSpec& c : engine.ListChannels()) existed |= c.id == spec.id;
    absl::Status s = ToApiFieldPath(router_.Apply(omniroute::UpsertChannel{spec}), {});
    if (!s.ok()) return ToGrpcStatus(s);
    for (const ChannelSpec& c : engine.ListChannels()) {
      if (c.id == spec.id) *response->mutable_channel() = ChannelToProto(c);
    }
    response->set_created(!existed);
    LogInfo("channel upserted", {{"channel", spec.id.value()}, {"created", !existed}});
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::ListChannels(CallbackServerContext* ctx,
                                                   const v1::ListChannelsRequest* request,
                                                   v1::ListChannelsResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kListChannels, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<PageRequest> page =
      ParsePageRequest(request->page_size(), request->page_token(),
                       FilterFingerprint(*request), router_.settings());
  if (!page.ok()) return Answer(ctx, ToGrpcStatus(page.status()));
  return OnEngine(ctx, router_, [this, response, page = *page] {
    std::vector<ChannelSpec> channels = router_.engine().ListChannels();
    size_t taken = 0;
    for (const ChannelSpec& c : channels) {
      if (!page.after.empty() && c.id.value() <= page.after) continue;
      *response->add_channels() = ChannelToProto(c);
      if (++taken == page.size) {
        if (&c != &channels.back()) {
          response->set_next_page_token(MakePageToken(page, c.id.value()));
        }
        break;
      }
    }
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::UpsertQueue(CallbackServerContext* ctx,
                                                  const v1::UpsertQueueRequest* request,
                                                  v1::UpsertQueueResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kUpsertQueue, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (!request->has_queue()) return Answer(ctx, Invalid("queue", "required"));
  absl::StatusOr<QueueConfig> config = QueueFromProto(request->queue());
  if (!config.ok()) return Answer(ctx, ToGrpcStatus(config.status()));
  return OnEngine(ctx, router_, [this, response, config = *std::move(config)] {
    Engine& engine = router_.engine();
    const bool existed = engine.GetQueue(config.id).has_value();
    absl::Status s = ToApiFieldPath(router_.Apply(omniroute::UpsertQueue{config}), {});
    if (!s.ok()) return ToGrpcStatus(s);
    *response->mutable_queue() = QueueToProto(*engine.GetQueue(config.id));
    response->set_created(!existed);
    LogInfo("queue upserted", {{"queue", config.id.value()}, {"created", !existed}});
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::DeleteQueue(CallbackServerContext* ctx,
                                                  const v1::DeleteQueueRequest* request,
                                                  v1::DeleteQueueResponse*) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kDeleteQueue, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("queue_id", request->queue_id()); !s.ok()) return Answer(ctx, s);
  return OnEngine(ctx, router_, [this, request] {
    absl::Status s = ToApiFieldPath(
        router_.Apply(RemoveQueue{QueueId(request->queue_id())}), {{"queue", "queue_id"}});
    if (s.ok()) LogInfo("queue deleted", {{"queue", request->queue_id()}});
    return ToGrpcStatus(s);
  });
}

ServerUnaryReactor* AdminServiceImpl::GetQueue(CallbackServerContext* ctx,
                                               const v1::GetQueueRequest* request,
                                               v1::GetQueueResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetQueue, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("queue_id", request->queue_id()); !s.ok()) return Answer(ctx, s);
  return OnEngine(ctx, router_, [this, request, response] {
    std::optional<QueueInfo> info = router_.engine().GetQueue(QueueId(request->queue_id()));
    if (!info.has_value()) {
      return NotFound(absl::StrCat("queue \"", request->queue_id(), "\" not found"));
    }
    *response->mutable_queue() = QueueToProto(*info);
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::ListQueues(CallbackServerContext* ctx,
                                                 const v1::ListQueuesRequest* request,
                                                 v1::ListQueuesResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kListQueues, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<PageRequest> page =
      ParsePageRequest(request->page_size(), request->page_token(),
                       FilterFingerprint(*request), router_.settings());
  if (!page.ok()) return Answer(ctx, ToGrpcStatus(page.status()));
  return OnEngine(ctx, router_, [this, response, page = *page] {
    const std::vector<QueueId> ids = router_.engine().ListQueues();
    size_t taken = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!page.after.empty() && ids[i].value() <= page.after) continue;
      *response->add_queues() = QueueToProto(*router_.engine().GetQueue(ids[i]));
      if (++taken == page.size) {
        if (i + 1 < ids.size()) {
          response->set_next_page_token(MakePageToken(page, ids[i].value()));
        }
        break;
      }
    }
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::UpsertAgent(CallbackServerContext* ctx,
                                                  const v1::UpsertAgentRequest* request,
                                                  v1::UpsertAgentResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kUpsertAgent, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (!request->has_agent()) return Answer(ctx, Invalid("agent", "required"));
  absl::StatusOr<EngineerConfig> config = AgentFromProto(request->agent());
  if (!config.ok()) return Answer(ctx, ToGrpcStatus(config.status()));
  return OnEngine(ctx, router_, [this, response, config = *std::move(config)] {
    Engine& engine = router_.engine();
    const bool existed = engine.GetEngineer(config.id).has_value();
    absl::Status s = ToApiFieldPath(router_.Apply(UpsertEngineer{config}),
                                    {{"engineer", "agent"}});
    if (!s.ok()) return ToGrpcStatus(s);
    *response->mutable_agent() = AgentToProto(*engine.GetEngineer(config.id));
    response->set_created(!existed);
    LogInfo("agent upserted", {{"agent", config.id.value()}, {"created", !existed}});
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::DeleteAgent(CallbackServerContext* ctx,
                                                  const v1::DeleteAgentRequest* request,
                                                  v1::DeleteAgentResponse*) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kDeleteAgent, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("agent_id", request->agent_id()); !s.ok()) return Answer(ctx, s);
  return OnEngine(ctx, router_, [this, request] {
    absl::Status s = ToApiFieldPath(
        router_.Apply(RemoveEngineer{EngineerId(request->agent_id())}),
        {{"engineer", "agent_id"}});
    if (s.ok()) LogInfo("agent deleted", {{"agent", request->agent_id()}});
    return ToGrpcStatus(s);
  });
}

ServerUnaryReactor* AdminServiceImpl::GetAgent(CallbackServerContext* ctx,
                                               const v1::GetAgentRequest* request,
                                               v1::GetAgentResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetAgent, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("agent_id", request->agent_id()); !s.ok()) return Answer(ctx, s);
  return OnEngine(ctx, router_, [this, request, response] {
    std::optional<EngineerInfo> info =
        router_.engine().GetEngineer(EngineerId(request->agent_id()));
    if (!info.has_value()) {
      return NotFound(absl::StrCat("agent \"", request->agent_id(), "\" not found"));
    }
    *response->mutable_agent() = AgentToProto(*info);
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::ListAgents(CallbackServerContext* ctx,
                                                 const v1::ListAgentsRequest* request,
                                                 v1::ListAgentsResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kListAgents, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<PageRequest> page =
      ParsePageRequest(request->page_size(), request->page_token(),
                       FilterFingerprint(*request), router_.settings());
  if (!page.ok()) return Answer(ctx, ToGrpcStatus(page.status()));
  for (int i = 0; i < request->presences_size(); ++i) {
    const int p = request->presences(i);
    if (!v1::Presence_IsValid(p) || p == v1::PRESENCE_UNSPECIFIED) {
      return Answer(ctx, Invalid(absl::StrCat("presences[", i, "]"), "must be a known presence"));
    }
  }
  return OnEngine(ctx, router_, [this, request, response, page = *page] {
    const std::vector<EngineerId> ids = router_.engine().ListEngineers();
    size_t taken = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!page.after.empty() && ids[i].value() <= page.after) continue;
      std::optional<EngineerInfo> info = router_.engine().GetEngineer(ids[i]);
      if (!request->queue_id().empty() &&
          std::find(info->config.queues.begin(), info->config.queues.end(),
                    QueueId(request->queue_id())) == info->config.queues.end()) {
        continue;
      }
      if (request->presences_size() > 0 &&
          std::find(request->presences().begin(), request->presences().end(),
                    static_cast<int>(PresenceToProto(info->presence))) ==
              request->presences().end()) {
        continue;
      }
      *response->add_agents() = AgentToProto(*info);
      if (++taken == page.size) {
        if (i + 1 < ids.size()) {
          response->set_next_page_token(MakePageToken(page, ids[i].value()));
        }
        break;
      }
    }
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::GetQueueStats(CallbackServerContext* ctx,
                                                    const v1::GetQueueStatsRequest* request,
                                                    v1::GetQueueStatsResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetQueueStats, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("queue_id", request->queue_id()); !s.ok()) return Answer(ctx, s);
  absl::StatusOr<absl::Duration> window =
      StatsWindow(&request->window(), request->has_window(), router_.settings());
  if (!window.ok()) return Answer(ctx, ToGrpcStatus(window.status()));
  return OnEngine(ctx, router_, [this, request, response, window = *window] {
    absl::StatusOr<v1::QueueStats> stats = router_.stats().QueueStats(
        router_.engine(), QueueId(request->queue_id()), router_.engine().now(), window);
    if (!stats.ok()) return ToGrpcStatus(stats.status());
    *response->mutable_stats() = *std::move(stats);
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* AdminServiceImpl::GetAgentStats(CallbackServerContext* ctx,
                                                    const v1::GetAgentStatsRequest* request,
                                                    v1::GetAgentStatsResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetAgentStats, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("agent_id", request->agent_id()); !s.ok()) return Answer(ctx, s);
  absl::StatusOr<absl::Duration> window =
      StatsWindow(&request->window(), request->has_window(), router_.settings());
  if (!window.ok()) return Answer(ctx, ToGrpcStatus(window.status()));
  return OnEngine(ctx, router_, [this, request, response, window = *window] {
    absl::StatusOr<v1::AgentStats> stats = router_.stats().AgentStats(
        router_.engine(), EngineerId(request->agent_id()), router_.engine().now(), window);
    if (!stats.ok()) return ToGrpcStatus(stats.status());
    *response->mutable_stats() = *std::move(stats);
    return grpc::Status::OK;
  });
}

// ---------------------------------------------------------------------------------------------
// SessionService

ServerUnaryReactor* SessionServiceImpl::CreateSession(CallbackServerContext* ctx,
                                                      const v1::CreateSessionRequest* request,
                                                      v1::CreateSessionResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kCreateSession, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::CreateSession> command = CreateSessionFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  const uint64_t fingerprint = MessageFingerprint(*request);
  auto create = [this, request, response, fingerprint](const omniroute::CreateSession& c) {
    bool duplicate = false;
    grpc::Status s = CreateSessionOnEngine(router_, request->request_id(), fingerprint, c,
                                           response->mutable_session(), &duplicate);
    response->set_duplicate(duplicate);
    return s;
  };
  if (customers_ == nullptr ||
      (!request->has_customer_handle() && request->customer().id().empty())) {
    return OnEngine(ctx, router_,
                    [create, command = *std::move(command)] { return create(command); });
  }
  // The customer from the directory first (on a directory worker), then the engine.
  return OnWorker(
      ctx, router_, [this](std::function<void()> work) { customers_->Run(std::move(work)); },
      [this, request, create, command = *std::move(command)](PendingCall call) mutable {
        absl::Status filled = customers_->FillSnapshot(
            request->has_customer_handle() ? &request->customer_handle() : nullptr,
            "customer_handle", command.customer, DaemonNow());
        if (!filled.ok()) return call.Finish(ToGrpcStatus(filled));
        call.Engine([create, command = std::move(command)] { return create(command); });
      });
}

ServerUnaryReactor* SessionServiceImpl::GetSession(CallbackServerContext* ctx,
                                                   const v1::GetSessionRequest* request,
                                                   v1::GetSessionResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetSession, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", request->session_id());
  if (!id.ok()) return Answer(ctx, ToGrpcStatus(id.status()));
  return OnEngine(ctx, router_, [this, response, id = *id] {
    std::optional<v1::Session> s = router_.SessionProto(id);
    if (!s.has_value()) return NotFound(absl::StrCat("session ", id.value(), " not found"));
    *response->mutable_session() = *std::move(s);
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* SessionServiceImpl::ListSessions(CallbackServerContext* ctx,
                                                     const v1::ListSessionsRequest* request,
                                                     v1::ListSessionsResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kListSessions, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<PageRequest> page =
      ParsePageRequest(request->page_size(), request->page_token(),
                       FilterFingerprint(*request), router_.settings());
  if (!page.ok()) return Answer(ctx, ToGrpcStatus(page.status()));
  uint64_t after = 0;
  if (!page->after.empty() && !absl::SimpleAtoi(page->after, &after)) {
    return Answer(ctx, Invalid("page_token", "not a token of this listing"));
  }
  for (int i = 0; i < request->states_size(); ++i) {
    const int st = request->states(i);
    if (!v1::SessionState_IsValid(st) || st == v1::SESSION_STATE_UNSPECIFIED) {
      return Answer(ctx, Invalid(absl::StrCat("states[", i, "]"), "must be a known state"));
    }
  }
  return OnEngine(ctx, router_, [this, request, response, page = *page, after] {
    const std::vector<SessionId> ids = router_.engine().ListSessions();
    auto it = std::upper_bound(ids.begin(), ids.end(), after,
                               [](uint64_t a, SessionId b) { return a < b.value(); });
    size_t taken = 0;
    for (; it != ids.end(); ++it) {
      std::optional<v1::Session> s = router_.SessionProto(*it);
      if (!s.has_value()) continue;
      if (!request->queue_id().empty() && s->queue_id() != request->queue_id()) continue;
      if (!request->channel_id().empty() && s->channel_id() != request->channel_id()) continue;
      if (request->states_size() > 0 &&
          std::find(request->states().begin(), request->states().end(),
                    static_cast<int>(s->state())) == request->states().end()) {
        continue;
      }
      if (!request->agent_id().empty() && s->agent_id() != request->agent_id() &&
          std::find(s->offered_agent_ids().begin(), s->offered_agent_ids().end(),
                    request->agent_id()) == s->offered_agent_ids().end()) {
        continue;
      }
      *response->add_sessions() = *std::move(s);
      if (++taken == page.size) {
        if (std::next(it) != ids.end()) {
          response->set_next_page_token(MakePageToken(page, SessionKey(*it)));
        }
        break;
      }
    }
    return grpc::Status::OK;
  });
}

ServerUnaryReactor* SessionServiceImpl::CancelSession(CallbackServerContext* ctx,
                                                      const v1::CancelSessionRequest* request,
                                                      v1::CancelSessionResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kCancelSession, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::CancelSession> command = CancelSessionFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, response, command = *std::move(command)] {
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"}},
                          response->mutable_session());
  });
}

ServerUnaryReactor* SessionServiceImpl::EscalateSession(CallbackServerContext* ctx,
                                                        const v1::EscalateSessionRequest* request,
                                                        v1::EscalateSessionResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kEscalateSession, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::EscalateSession> command = EscalateSessionFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, response, command = *std::move(command)] {
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"}, {"queue", "queue_id"}},
                          response->mutable_session());
  });
}

ServerUnaryReactor* SessionServiceImpl::TransferSession(CallbackServerContext* ctx,
                                                        const v1::TransferSessionRequest* request,
                                                        v1::TransferSessionResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kTransferSession, {"from_agent_id", request->from_agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::TransferSession> command = TransferSessionFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, request, response, command = *std::move(command)] {
    if (!request->from_agent_id().empty()) {
      std::optional<SessionInfo> info = router_.engine().GetSession(command.session);
      if (!info.has_value()) {
        return NotFound(absl::StrCat("session ", command.session.value(), " not found"));
      }
      if (info->state != SessionState::kAssigned ||
          info->engineer.value() != request->from_agent_id()) {
        return Failed(absl::StrCat("from_agent_id: session ", command.session.value(),
                                   " is not assigned to agent \"", request->from_agent_id(),
                                   "\""));
      }
    }
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"},
                           {"queue", "target_queue_id"},
                           {"engineer", "target_agent_id"},
                           {"engineer_timeout", "target_agent_timeout"}},
                          response->mutable_session());
  });
}

ServerUnaryReactor* SessionServiceImpl::CompleteSession(CallbackServerContext* ctx,
                                                        const v1::CompleteSessionRequest* request,
                                                        v1::CompleteSessionResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kCompleteSession, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::CompleteSession> command = CompleteSessionFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, response, command = *std::move(command)] {
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"}, {"engineer", "agent_id"}},
                          response->mutable_session());
  });
}

ServerUnaryReactor* SessionServiceImpl::RequestCallback(CallbackServerContext* ctx,
                                                        const v1::RequestCallbackRequest* request,
                                                        v1::RequestCallbackResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kRequestCallback, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::RequestCallback> command = RequestCallbackFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, response, command = *std::move(command)] {
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"}, {"number", "callback_number"}},
                          response->mutable_session());
  });
}

ServerUnaryReactor* SessionServiceImpl::GetSessionHistory(
    CallbackServerContext* ctx, const v1::GetSessionHistoryRequest* request,
    v1::GetSessionHistoryResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetSessionHistory, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", request->session_id());
  if (!id.ok()) return Answer(ctx, ToGrpcStatus(id.status()));
  if (audit_ == nullptr || !audit_->enabled()) {
    return Answer(ctx, Failed("the decision audit is off (audit.retention is 0s)"));
  }
  // On the audit thread, behind the writes of every batch committed before this call.
  return OnWorker(
      ctx, router_, [this](std::function<void()> work) { audit_->Run(std::move(work)); },
      [this, response, id = *id](PendingCall call) {
        absl::StatusOr<v1::GetSessionHistoryResponse> history = audit_->ReadHistory(id);
        if (!history.ok()) return call.Finish(ToGrpcStatus(history.status()));
        *response = *std::move(history);
        call.Finish(grpc::Status::OK);
      });
}

grpc::ServerWriteReactor<v1::WatchSessionResponse>* SessionServiceImpl::WatchSession(
    CallbackServerContext* ctx, const v1::WatchSessionRequest* request) {
  auto ticket = std::make_shared<StreamTicket>();
  const grpc::Status admitted = security_.AdmitStream(*ctx, Rpc::kWatchSession, {}, ticket.get());
  std::shared_ptr<WatchStream> stream =
      NewStream<v1::WatchSessionResponse>(router_, [ticket] {});
  if (stream->ended()) return stream.get();
  if (!admitted.ok()) {
    stream->Close(admitted);
    return stream.get();
  }
  absl::StatusOr<SessionId> id = ParseSessionId("session_id", request->session_id());
  if (!id.ok()) {
    stream->Close(ToGrpcStatus(id.status()));
    return stream.get();
  }
  router_.Submit([this, stream, id = *id] {
    if (router_.shutting_down()) return stream->Close(kShuttingDown);
    if (absl::Status s = router_.AddSessionWatch(stream, id); !s.ok()) {
      stream->Close(ToGrpcStatus(s));
    }
  });
  return stream.get();
}

// ---------------------------------------------------------------------------------------------
// AgentService

ServerUnaryReactor* AgentServiceImpl::SetPresence(CallbackServerContext* ctx,
                                                  const v1::SetPresenceRequest* request,
                                                  v1::SetPresenceResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kSetPresence, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::SetPresence> command = SetPresenceFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, response, command = *std::move(command)] {
    absl::Status s = ToApiFieldPath(router_.Apply(command), {{"engineer", "agent_id"}});
    if (!s.ok()) return ToGrpcStatus(s);
    *response->mutable_status() = AgentStatusToProto(*router_.engine().GetEngineer(command.engineer));
    LogInfo("presence set", {{"agent", command.engineer.value()},
                             {"presence", v1::Presence_Name(PresenceToProto(command.presence))}});
    return grpc::Status::OK;
  });
}

grpc::ServerWriteReactor<v1::StreamOffersResponse>* AgentServiceImpl::StreamOffers(
    CallbackServerContext* ctx, const v1::StreamOffersRequest* request) {
  const EngineerId agent(request->agent_id());
  auto ticket = std::make_shared<StreamTicket>();
  const grpc::Status admitted = security_.AdmitStream(
      *ctx, Rpc::kStreamOffers, {"agent_id", request->agent_id()}, ticket.get());
  // A refused stream never sets the agent offline.
  const bool offline_on_disconnect = admitted.ok() && request->offline_on_disconnect();
  Router& router = router_;
  std::function<void()> on_done = [ticket] {};
  if (offline_on_disconnect) {
    on_done = [&router, agent, ticket] {
      router.Submit([&router, agent] { router.OfferStreamGone(agent); });
    };
  }
  std::shared_ptr<OfferStream> stream =
      NewStream<v1::StreamOffersResponse>(router_, std::move(on_done));
  if (stream->ended()) return stream.get();
  if (!admitted.ok()) {
    stream->Close(admitted);
    return stream.get();
  }
  if (request->agent_id().empty()) {
    stream->Close(Invalid("agent_id", "required"));
    return stream.get();
  }
  router_.Submit([this, stream, agent, offline_on_disconnect] {
    if (router_.shutting_down()) return stream->Close(kShuttingDown);
    if (absl::Status s = router_.AddOfferStream(stream, agent, offline_on_disconnect); !s.ok()) {
      stream->Close(ToGrpcStatus(s));
    }
  });
  return stream.get();
}

ServerUnaryReactor* AgentServiceImpl::AcceptOffer(CallbackServerContext* ctx,
                                                  const v1::AcceptOfferRequest* request,
                                                  v1::AcceptOfferResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kAcceptOffer, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::AcceptOffer> command = AcceptOfferFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, request, response, command = *std::move(command)] {
    if (grpc::Status st =
            CheckOfferId(router_, command.session, command.engineer, request->offer_id());
        !st.ok()) {
      return st;
    }
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"}, {"engineer", "agent_id"}},
                          response->mutable_session());
  });
}

ServerUnaryReactor* AgentServiceImpl::RejectOffer(CallbackServerContext* ctx,
                                                  const v1::RejectOfferRequest* request,
                                                  v1::RejectOfferResponse*) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kRejectOffer, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::RejectOffer> command = RejectOfferFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, request, command = *std::move(command)] {
    if (grpc::Status st =
            CheckOfferId(router_, command.session, command.engineer, request->offer_id());
        !st.ok()) {
      return st;
    }
    return ToGrpcStatus(ToApiFieldPath(router_.Apply(command),
                                       {{"session", "session_id"}, {"engineer", "agent_id"}}));
  });
}

ServerUnaryReactor* AgentServiceImpl::ClaimOffer(CallbackServerContext* ctx,
                                                 const v1::ClaimOfferRequest* request,
                                                 v1::ClaimOfferResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kClaimOffer, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::ClaimOffer> command = ClaimOfferFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, request, response, command = *std::move(command)] {
    if (grpc::Status st =
            CheckOfferId(router_, command.session, command.engineer, request->offer_id());
        !st.ok()) {
      return st;
    }
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"}, {"engineer", "agent_id"}},
                          response->mutable_session());
  });
}

ServerUnaryReactor* AgentServiceImpl::EndWrapUp(CallbackServerContext* ctx,
                                                const v1::EndWrapUpRequest* request,
                                                v1::EndWrapUpResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kEndWrapUp, {"agent_id", request->agent_id()}, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<omniroute::EndWrapUp> command = EndWrapUpFromProto(*request);
  if (!command.ok()) return Answer(ctx, ToGrpcStatus(command.status()));
  return OnEngine(ctx, router_, [this, response, command = *std::move(command)] {
    return ApplyToSession(router_, command, command.session,
                          {{"session", "session_id"}, {"engineer", "agent_id"}},
                          response->mutable_session());
  });
}

// ---------------------------------------------------------------------------------------------
// EventService

grpc::ServerWriteReactor<v1::StreamEventsResponse>* EventServiceImpl::StreamEvents(
    CallbackServerContext* ctx, const v1::StreamEventsRequest* request) {
  auto ticket = std::make_shared<StreamTicket>();
  const grpc::Status admitted = security_.AdmitStream(*ctx, Rpc::kStreamEvents, {}, ticket.get());
  std::shared_ptr<EventStream> stream =
      NewStream<v1::StreamEventsResponse>(router_, [ticket] {});
  if (stream->ended()) return stream.get();
  if (!admitted.ok()) {
    stream->Close(admitted);
    return stream.get();
  }
  EventFilter filter;
  for (const std::string& q : request->queue_ids()) filter.queues.insert(q);
  for (const std::string& a : request->agent_ids()) filter.agents.insert(a);
  for (const std::string& c : request->channel_ids()) filter.channels.insert(c);
  for (int i = 0; i < request->session_ids_size(); ++i) {
    absl::StatusOr<SessionId> id =
        ParseSessionId(absl::StrCat("session_ids[", i, "]"), request->session_ids(i));
    if (!id.ok()) {
      stream->Close(ToGrpcStatus(id.status()));
      return stream.get();
    }
    filter.sessions.insert(id->value());
  }
  for (int i = 0; i < request->event_types_size(); ++i) {
    const int t = request->event_types(i);
    if (!v1::EventType_IsValid(t) || t == v1::EVENT_TYPE_UNSPECIFIED) {
      stream->Close(Invalid(absl::StrCat("event_types[", i, "]"), "must be a known event type"));
      return stream.get();
    }
    filter.types.insert(t);
  }
  std::optional<uint64_t> after;
  if (request->has_after_sequence()) after = request->after_sequence();
  router_.Submit([this, stream, filter = std::move(filter), after]() mutable {
    if (router_.shutting_down()) return stream->Close(kShuttingDown);
    if (absl::Status s = router_.AddEventStream(stream, std::move(filter), after); !s.ok()) {
      stream->Close(ToGrpcStatus(s));
    }
  });
  return stream.get();
}

}  // namespace omniroute::daemon
