#include "daemon/customer_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "daemon/convert.h"
#include "daemon/reactors.h"
#include "daemon/services.h"
#include "daemon/session_create.h"

namespace omniroute::daemon {
namespace {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

// The directory names the fields of its own values ("update.vip_level", "handle.kind");
// the API's are the request's.
grpc::Status FromDirectory(const absl::Status& status, absl::string_view from,
                           absl::string_view to) {
  if (status.ok()) return grpc::Status::OK;
  std::string message(status.message());
  if (!from.empty() && absl::StartsWith(message, from)) {
    message = absl::StrCat(to, message.substr(from.size()));
  }
  return ToGrpcStatus(absl::Status(status.code(), message));
}

// Work for a directory worker, answered from it or through the engine thread.
template <class Fn>
ServerUnaryReactor* OnDirectory(CallbackServerContext* ctx, Customers& customers, Fn fn) {
  return OnWorker(
      ctx, customers.router(),
      [&customers](std::function<void()> work) { customers.Run(std::move(work)); },
      std::move(fn));
}

grpc::Status CheckHandle(const v1::CustomerHandle& handle, absl::string_view field) {
  return ToGrpcStatus(directory::ValidateHandle(HandleFromProto(handle), field));
}

// `customer_id` given, and `handle` given and valid.
grpc::Status CheckCustomerAndHandle(const std::string& customer_id,
                                    const v1::CustomerHandle* handle) {
  if (grpc::Status s = Required("customer_id", customer_id); !s.ok()) return s;
  if (handle == nullptr) return Invalid("handle", "required");
  return CheckHandle(*handle, "handle");
}

// A directory call that answers with a customer (`change()`, on a worker): the response's
// `customer`, or the directory's error.
template <class Response, class Change>
ServerUnaryReactor* AnswerCustomer(CallbackServerContext* ctx, Customers& customers,
                                   Response* response, Change change) {
  return OnDirectory(ctx, customers, [response, change = std::move(change)](PendingCall call) {
    absl::StatusOr<directory::Customer> c = change();
    if (!c.ok()) return call.Finish(ToGrpcStatus(c.status()));
    *response->mutable_customer() = CustomerToProto(*c);
    call.Finish(grpc::Status::OK);
  });
}

}  // namespace

ServerUnaryReactor* CustomerServiceImpl::ResolveCustomer(CallbackServerContext* ctx,
                                                         const v1::ResolveCustomerRequest* request,
                                                         v1::ResolveCustomerResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kResolveCustomer, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (!request->has_handle()) return Answer(ctx, Invalid("handle", "required"));
  if (grpc::Status s = CheckHandle(request->handle(), "handle"); !s.ok()) return Answer(ctx, s);
  const bool create = !request->has_create() || request->create();
  return OnDirectory(ctx, customers_, [this, request, response, create](PendingCall call) {
    absl::StatusOr<directory::Directory::Resolved> r = customers_.directory().Resolve(
        HandleFromProto(request->handle()), create, DaemonNow());
    if (!r.ok()) return call.Finish(ToGrpcStatus(r.status()));
    *response->mutable_customer() = CustomerToProto(r->customer);
    response->set_created(r->created);
    call.Finish(grpc::Status::OK);
  });
}

ServerUnaryReactor* CustomerServiceImpl::GetCustomer(CallbackServerContext* ctx,
                                                     const v1::GetCustomerRequest* request,
                                                     v1::GetCustomerResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetCustomer, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("customer_id", request->customer_id()); !s.ok()) {
    return Answer(ctx, s);
  }
  return AnswerCustomer(ctx, customers_, response, [this, request] {
    return customers_.directory().Get(request->customer_id());
  });
}

ServerUnaryReactor* CustomerServiceImpl::UpdateCustomer(CallbackServerContext* ctx,
                                                        const v1::UpdateCustomerRequest* request,
                                                        v1::UpdateCustomerResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kUpdateCustomer, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("customer_id", request->customer_id()); !s.ok()) {
    return Answer(ctx, s);
  }
  if (request->update_mask().empty() && request->add_tags().empty() &&
      request->remove_tags().empty()) {
    return Answer(ctx, Invalid("update_mask", "required (or add_tags / remove_tags)"));
  }
  directory::CustomerUpdate update;
  const v1::CustomerRecord& c = request->customer();
  for (int i = 0; i < request->update_mask_size(); ++i) {
    const std::string& path = request->update_mask(i);
    if (path == "display_name") {
      update.display_name = c.display_name();
    } else if (path == "vip_level") {
      if (c.vip_level() < 0 || c.vip_level() > 9) {
        return Answer(ctx, Invalid("customer.vip_level",
                                   absl::StrCat(c.vip_level(), " is outside 0..9")));
      }
      update.vip_level = c.vip_level();
    } else if (path == "tags") {
      update.tags = std::vector<std::string>(c.tags().begin(), c.tags().end());
    } else if (path == "language") {
      update.language = c.language();
    } else {
      return Answer(ctx, Invalid(absl::StrCat("update_mask[", i, "]"),
                                 absl::StrCat("\"", path,
                                              "\" is not one of display_name, vip_level, tags, "
                                              "language")));
    }
  }
  update.add_tags.assign(request->add_tags().begin(), request->add_tags().end());
  update.remove_tags.assign(request->remove_tags().begin(), request->remove_tags().end());
  return OnDirectory(ctx, customers_,
                     [this, request, response, update = std::move(update)](PendingCall call) {
                       absl::StatusOr<directory::Customer> updated =
                           customers_.directory().Update(request->customer_id(), update,
                                                         request->allow_missing(), DaemonNow());
                       if (!updated.ok()) {
                         // "update.tags[1]: ..." -> "customer.tags[1]: ...";
                         // "update.add_tags[0]" -> "add_tags[0]".
                         const absl::Status& st = updated.status();
                         if (absl::StartsWith(st.message(), "update.add_tags") ||
                             absl::StartsWith(st.message(), "update.remove_tags")) {
                           return call.Finish(FromDirectory(st, "update.", ""));
                         }
                         return call.Finish(FromDirectory(st, "update.", "customer."));
                       }
                       *response->mutable_customer() = CustomerToProto(*updated);
                       call.Finish(grpc::Status::OK);
                     });
}

ServerUnaryReactor* CustomerServiceImpl::LinkHandle(CallbackServerContext* ctx,
                                                    const v1::LinkHandleRequest* request,
                                                    v1::LinkHandleResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kLinkHandle, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = CheckCustomerAndHandle(
          request->customer_id(), request->has_handle() ? &request->handle() : nullptr);
      !s.ok()) {
    return Answer(ctx, s);
  }
  return AnswerCustomer(ctx, customers_, response, [this, request] {
    return customers_.directory().LinkHandle(request->customer_id(),
                                             HandleFromProto(request->handle()), request->move(),
                                             DaemonNow());
  });
}

ServerUnaryReactor* CustomerServiceImpl::UnlinkHandle(CallbackServerContext* ctx,
                                                      const v1::UnlinkHandleRequest* request,
                                                      v1::UnlinkHandleResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kUnlinkHandle, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = CheckCustomerAndHandle(
          request->customer_id(), request->has_handle() ? &request->handle() : nullptr);
      !s.ok()) {
    return Answer(ctx, s);
  }
  return AnswerCustomer(ctx, customers_, response, [this, request] {
    return customers_.directory().UnlinkHandle(request->customer_id(),
                                               HandleFromProto(request->handle()), DaemonNow());
  });
}

ServerUnaryReactor* CustomerServiceImpl::MergeCustomers(CallbackServerContext* ctx,
                                                        const v1::MergeCustomersRequest* request,
                                                        v1::MergeCustomersResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kMergeCustomers, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("customer_id", request->customer_id()); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("absorbed_customer_id", request->absorbed_customer_id());
      !s.ok()) {
    return Answer(ctx, s);
  }
  return AnswerCustomer(ctx, customers_, response, [this, request] {
    return customers_.directory().Merge(request->customer_id(), request->absorbed_customer_id(),
                                        DaemonNow());
  });
}

ServerUnaryReactor* CustomerServiceImpl::ListInteractions(
    CallbackServerContext* ctx, const v1::ListInteractionsRequest* request,
    v1::ListInteractionsResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kListInteractions, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("customer_id", request->customer_id()); !s.ok()) {
    return Answer(ctx, s);
  }
  if (request->page_size() < 0) return Answer(ctx, Invalid("page_size", "must not be negative"));
  return OnDirectory(ctx, customers_, [this, request, response](PendingCall call) {
    // The sessions that ended in batches already answered are in the history first.
    customers_.FlushHistory();
    absl::StatusOr<directory::Directory::InteractionPage> page =
        customers_.directory().ListInteractions(
            request->customer_id(), static_cast<size_t>(request->page_size()),
            request->page_token());
    if (!page.ok()) return call.Finish(ToGrpcStatus(page.status()));
    for (const directory::Interaction& i : page->interactions) {
      *response->add_interactions() = InteractionToProto(i);
    }
    response->set_next_page_token(page->next_page_token);
    call.Finish(grpc::Status::OK);
  });
}

ServerUnaryReactor* CustomerServiceImpl::RateSession(CallbackServerContext* ctx,
                                                     const v1::RateSessionRequest* request,
                                                     v1::RateSessionResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kRateSession, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  absl::StatusOr<SessionId> session = ParseSessionId("session_id", request->session_id());
  if (!session.ok()) return Answer(ctx, ToGrpcStatus(session.status()));
  if (!request->has_rating()) return Answer(ctx, Invalid("rating", "required"));
  const v1::Rating& r = request->rating();
  if (r.stars() < 1 || r.stars() > 5) {
    return Answer(ctx, Invalid("rating.stars", absl::StrCat(r.stars(), " is outside 1..5")));
  }
  const std::vector<std::string>& allowed = customers_.settings().rating_tags;
  for (int i = 0; i < r.tags_size(); ++i) {
    const std::string field = absl::StrCat("rating.tags[", i, "]");
    if (std::find(allowed.begin(), allowed.end(), r.tags(i)) == allowed.end()) {
      return Answer(ctx, Invalid(field, absl::StrCat("\"", r.tags(i),
                                                     "\" is not a rating tag (configured: ",
                                                     absl::StrJoin(allowed, ", "), ")")));
    }
    for (int j = 0; j < i; ++j) {
      if (r.tags(j) == r.tags(i)) {
        return Answer(ctx, Invalid(field, absl::StrCat("\"", r.tags(i), "\" given twice")));
      }
    }
  }
  if (r.tip_cents() < 0 || r.tip_cents() > 100000000) {
    return Answer(ctx, Invalid("rating.tip_cents",
                               absl::StrCat(r.tip_cents(), " is outside 0..100000000")));
  }
  directory::Rating rating;
  rating.stars = r.stars();
  rating.tags.assign(r.tags().begin(), r.tags().end());
  rating.favourite = r.favourite();
  rating.tip_cents = r.tip_cents();
  return OnDirectory(ctx, customers_, [this, response, id = *session,
                                       rating = std::move(rating)](PendingCall call) mutable {
    directory::Directory& dir = customers_.directory();
    absl::StatusOr<std::optional<directory::Interaction>> known = dir.GetInteraction(id.value());
    if (known.ok() && !known->has_value()) {
      customers_.FlushHistory();  // it may have ended in a batch not recorded yet
      known = dir.GetInteraction(id.value());
    }
    if (!known.ok()) return call.Finish(ToGrpcStatus(known.status()));
    if (!known->has_value()) {
      // Not in the history: a session still in progress is FAILED_PRECONDITION.
      return call.Engine([this, id] {
        const std::optional<SessionInfo> info = customers_.router().engine().GetSession(id);
        if (info.has_value() && !info->customer.id.empty() &&
            (info->state == SessionState::kWrapUp || IsTerminal(info->state))) {
          return grpc::Status(
              grpc::StatusCode::INTERNAL,
              absl::StrCat("session_id: session ", id.value(), " is ",
                           SessionStateName(info->state),
                           " but was not recorded in the interaction history (the daemon's "
                           "log has the error)"));
        }
        if (info.has_value()) {
          return grpc::Status(
              grpc::StatusCode::FAILED_PRECONDITION,
              absl::StrCat("session_id: session ", id.value(), " is ",
                           SessionStateName(info->state),
                           info->customer.id.empty()
                               ? " and has no customer (anonymous sessions are not rated)"
                               : ": a session is rated once its conversation has ended"));
        }
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            absl::StrCat("session_id: session ", id.value(),
                                         " is not in the interaction history"));
      });
    }
    rating.at = DaemonNow();
    absl::StatusOr<directory::Directory::RateResult> rated = dir.Rate(id.value(), rating);
    if (!rated.ok()) return call.Finish(FromDirectory(rated.status(), "session:", "session_id:"));
    customers_.CacheRecord(rated->engineer);
    *response->mutable_interaction() = InteractionToProto(rated->interaction);
    call.Engine([this, response, record = std::move(rated->engineer)] {
      customers_.CheckRank(record);
      const std::optional<EngineerInfo> info =
          customers_.router().engine().GetEngineer(EngineerId(record.id));
      const Tier tier = info.has_value() ? info->config.tier : Tier::kRookie;
      *response->mutable_agent() =
          AgentRatingToProto(record, customers_.EarnedRank(record, tier), tier);
      return grpc::Status::OK;
    });
  });
}

ServerUnaryReactor* CustomerServiceImpl::GetAgentRating(CallbackServerContext* ctx,
                                                        const v1::GetAgentRatingRequest* request,
                                                        v1::GetAgentRatingResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kGetAgentRating, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = Required("agent_id", request->agent_id()); !s.ok()) return Answer(ctx, s);
  return OnDirectory(ctx, customers_, [this, request, response](PendingCall call) {
    absl::StatusOr<directory::EngineerRecord> record =
        customers_.directory().GetEngineer(request->agent_id());
    if (!record.ok()) return call.Finish(ToGrpcStatus(record.status()));
    call.Engine([this, response, record = *std::move(record)] {
      const std::optional<EngineerInfo> info =
          customers_.router().engine().GetEngineer(EngineerId(record.id));
      if (!info.has_value()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            absl::StrCat("agent_id: agent \"", record.id, "\" not found"));
      }
      *response->mutable_agent() = AgentRatingToProto(
          record, customers_.EarnedRank(record, info->config.tier), info->config.tier);
      return grpc::Status::OK;
    });
  });
}

ServerUnaryReactor* CustomerServiceImpl::ListAgentsForCustomer(
    CallbackServerContext* ctx, const v1::ListAgentsForCustomerRequest* request,
    v1::ListAgentsForCustomerResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kListAgentsForCustomer, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  const bool by_handle = request->has_customer_handle();
  if (request->customer_id().empty() && !by_handle) {
    return Answer(ctx, Invalid("customer_id", "required (or customer_handle)"));
  }
  if (by_handle) {
    if (grpc::Status s = CheckHandle(request->customer_handle(), "customer_handle"); !s.ok()) {
      return Answer(ctx, s);
    }
  }
  std::string queue = request->queue_id();
  if (queue.empty()) {
    if (request->intent().empty()) {
      return Answer(ctx, Invalid("queue_id", "required (or intent)"));
    }
    auto route = customers_.settings().intent_routes.find(request->intent());
    if (route == customers_.settings().intent_routes.end()) {
      return Answer(ctx, grpc::Status(grpc::StatusCode::NOT_FOUND,
                                      absl::StrCat("intent: no intent_routes entry for \"",
                                                   request->intent(), "\"")));
    }
    queue = route->second.value();
  }
  if (grpc::Status s = Required("channel_id", request->channel_id()); !s.ok()) {
    return Answer(ctx, s);
  }
  if (request->max_agents() < 0) {
    return Answer(ctx, Invalid("max_agents", "must not be negative"));
  }
  const size_t max_agents =
      request->max_agents() == 0 ? 20 : std::min<size_t>(request->max_agents(), 100);
  return OnDirectory(ctx, customers_, [this, request, response, by_handle, queue,
                                       max_agents](PendingCall call) {
    directory::Customer customer;
    if (by_handle) {
      absl::StatusOr<directory::Directory::Resolved> r = customers_.directory().Resolve(
          HandleFromProto(request->customer_handle()), /*create=*/false, DaemonNow());
      if (r.ok()) {
        customer = std::move(r->customer);
      } else if (!absl::IsNotFound(r.status())) {  // a new customer has no favourites yet
        return call.Finish(ToGrpcStatus(r.status()));
      }
    } else {
      absl::StatusOr<directory::Customer> c = customers_.directory().Get(request->customer_id());
      if (!c.ok()) return call.Finish(FromDirectory(c.status(), "", "customer_id: "));
      customer = *std::move(c);
    }
    call.Engine([this, request, response, queue, max_agents,
                 customer = std::move(customer)] {
      const Engine& engine = customers_.router().engine();
      const std::optional<QueueInfo> q = engine.GetQueue(QueueId(queue));
      if (!q.has_value()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            absl::StrCat(request->queue_id().empty() ? "intent" : "queue_id",
                                         ": queue \"", queue, "\" not found"));
      }
      const ChannelId channel(request->channel_id());
      std::optional<ChannelSpec> spec;
      for (const ChannelSpec& c : engine.ListChannels()) {
        if (c.id == channel) spec = c;
      }
      if (!spec.has_value()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            absl::StrCat("channel_id: channel \"", channel.value(),
                                         "\" not found"));
      }
      struct Row {
        v1::AgentChoice choice;
        int favourite_rank;  // position in the favourites, or a large number
      };
      std::vector<Row> rows;
      for (const EngineerId& id : q->engineers) {
        const std::optional<EngineerInfo> info = engine.GetEngineer(id);
        if (!info.has_value()) continue;
        // Handles the channel: listed with a maximum above 0, or, with no list, every channel.
        const bool handles =
            info->config.channels.empty()
                ? spec->default_max > 0
                : std::any_of(info->config.channels.begin(), info->config.channels.end(),
                              [&](const ChannelCapacity& cc) {
                                return cc.channel == channel && cc.max > 0;
                              });
        if (!handles) continue;
        const bool room = std::binary_search(info->channels_with_room.begin(),
                                             info->channels_with_room.end(), channel);
        v1::AgentAvailability availability = v1::AGENT_AVAILABILITY_UNSPECIFIED;
        if (info->presence == Presence::kAvailable && room) {
          availability = v1::AGENT_AVAILABILITY_AVAILABLE;
        } else if (info->presence == Presence::kWrapUp) {
          availability = v1::AGENT_AVAILABILITY_SOON;
        } else if (info->presence == Presence::kAvailable) {
          for (SessionId s : info->sessions) {
            const std::optional<SessionInfo> si = engine.GetSession(s);
            if (si.has_value() && si->state == SessionState::kWrapUp) {
              availability = v1::AGENT_AVAILABILITY_SOON;
              break;
            }
          }
        }
        if (availability == v1::AGENT_AVAILABILITY_UNSPECIFIED) continue;
        const directory::EngineerRecord record = customers_.CachedRecord(id.value());
        Row row;
        v1::AgentChoice& c = row.choice;
        c.set_agent_id(id.value());
        c.set_display_name(info->config.display_name);
        c.set_tier(TierToProto(info->config.tier));
        c.set_average_stars(record.average_stars());
        c.set_rating_count(record.ratings);
        for (const auto& [tag, count] : record.TopTags(3)) c.add_top_tags(tag);
        const auto fav = std::find(customer.favourite_engineers.begin(),
                                   customer.favourite_engineers.end(), id.value());
        c.set_favourite(fav != customer.favourite_engineers.end());
        row.favourite_rank = c.favourite()
                                 ? static_cast<int>(fav - customer.favourite_engineers.begin())
                                 : 1 << 30;
        c.set_last_agent(!customer.last_engineer.empty() &&
                         customer.last_engineer == id.value());
        c.set_availability(availability);
        rows.push_back(std::move(row));
      }
      std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        const v1::AgentChoice& x = a.choice;
        const v1::AgentChoice& y = b.choice;
        return std::make_tuple(a.favourite_rank, !x.last_agent(), x.availability(),
                               -static_cast<int>(x.tier()), -x.average_stars(), x.agent_id()) <
               std::make_tuple(b.favourite_rank, !y.last_agent(), y.availability(),
                               -static_cast<int>(y.tier()), -y.average_stars(), y.agent_id());
      });
      if (rows.size() > max_agents) rows.resize(max_agents);
      for (Row& row : rows) *response->add_agents() = std::move(row.choice);
      response->set_queue_id(queue);
      return grpc::Status::OK;
    });
  });
}

// ---------------------------------------------------------------------------------------------
// DeviceService

ServerUnaryReactor* DeviceServiceImpl::ReportDeviceAlert(
    CallbackServerContext* ctx, const v1::ReportDeviceAlertRequest* request,
    v1::ReportDeviceAlertResponse* response) {
  if (grpc::Status s = security_.Admit(*ctx, Rpc::kReportDeviceAlert, nullptr); !s.ok()) {
    return Answer(ctx, s);
  }
  if (request->request_id().size() > 128) {
    return Answer(ctx, Invalid("request_id", "longer than 128 characters"));
  }
  v1::CustomerHandle handle;
  handle.set_kind("device");
  handle.set_value(request->device_id());
  if (grpc::Status s = Required("device_id", request->device_id()); !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = FromDirectory(
          directory::ValidateHandle(HandleFromProto(handle), "handle"), "handle.value",
          "device_id");
      !s.ok()) {
    return Answer(ctx, s);
  }
  if (grpc::Status s = ToGrpcStatus(ValidateFaultCode("fault_code", request->fault_code()));
      !s.ok()) {
    return Answer(ctx, s);
  }
  if (request->severity() <= v1::DEVICE_ALERT_SEVERITY_UNSPECIFIED ||
      request->severity() > v1::DEVICE_ALERT_SEVERITY_CRITICAL) {
    return Answer(ctx, Invalid("severity", "required (LOW, MEDIUM, HIGH or CRITICAL)"));
  }
  if (request->detail().size() > 1024) {
    return Answer(ctx, Invalid("detail", "longer than 1024 characters"));
  }
  if (request->attributes_size() > 32) {
    return Answer(ctx, Invalid("attributes", "more than 32"));
  }
  const DeviceRouting& devices = customers_.settings().devices;
  const FaultCodeRoute* route = devices.Match(request->fault_code());
  const QueueId queue = route != nullptr && !route->queue.empty() ? route->queue : devices.queue;
  if (queue.empty()) {
    return Answer(ctx, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                    absl::StrCat("fault_code: no devices.fault_codes route "
                                                 "matches \"",
                                                 request->fault_code(),
                                                 "\" and devices.queue_id is not set")));
  }
  CreateSession command;
  command.channel = devices.channel;
  command.queue = queue;
  command.priority = devices.severity_priority[request->severity()];
  if (route != nullptr) command.requirements = route->requirements;
  command.intent = route != nullptr && !route->intent.empty()
                       ? route->intent
                       : absl::StrCat("device-fault:", request->fault_code());
  command.attributes.emplace_back("device_id", request->device_id());
  command.attributes.emplace_back("fault_code", request->fault_code());
  command.attributes.emplace_back(
      "severity", std::string(absl::StripPrefix(v1::DeviceAlertSeverity_Name(request->severity()),
                                                "DEVICE_ALERT_SEVERITY_")));
  if (!request->detail().empty()) command.attributes.emplace_back("alert_detail", request->detail());
  for (const v1::Attribute& a : request->attributes()) {
    command.attributes.emplace_back(a.key(), a.value());
  }
  const uint64_t fingerprint = MessageFingerprint(*request);
  return OnDirectory(ctx, customers_, [this, request, response, handle, fingerprint,
                                       command = std::move(command)](PendingCall call) mutable {
    absl::Status filled = customers_.FillSnapshot(&handle, "device_id", command.customer,
                                                  DaemonNow());
    if (!filled.ok()) return call.Finish(FromDirectory(filled, "device_id.value", "device_id"));
    call.Engine([this, request, response, fingerprint, command = std::move(command)] {
      response->set_customer_id(command.customer.id.value());
      const bool retry = !request->request_id().empty() &&
                         customers_.router().FindRequest(request->request_id()) != nullptr;
      if (!retry) {
        if (Customers::Fold* fold =
                customers_.FindFold(request->device_id(), request->fault_code())) {
          ++fold->folded;
          *response->mutable_session() = *customers_.router().SessionProto(fold->session);
          response->set_folded(true);
          response->set_folded_alerts(fold->folded);
          return grpc::Status::OK;
        }
      }
      bool duplicate = false;
      grpc::Status s = CreateSessionOnEngine(customers_.router(), request->request_id(),
                                             fingerprint, command, response->mutable_session(),
                                             &duplicate);
      if (!s.ok() || duplicate) return s;
      absl::StatusOr<SessionId> created = ParseSessionId("id", response->session().id());
      if (created.ok()) {
        customers_.AddFold(request->device_id(), request->fault_code(), *created);
      }
      return grpc::Status::OK;
    });
  });
}

}  // namespace omniroute::daemon
