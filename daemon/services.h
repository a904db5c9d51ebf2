// The gRPC services of omnirouted (callback API), over the Router's engine thread.
//
// Each handler runs on a gRPC thread only long enough to validate and convert the request
// (bad input is answered there, without touching the engine); the rest runs as work on the
// engine thread, and the answer is sent at the commit of the batch it ran in.

#ifndef OMNIROUTE_DAEMON_SERVICES_H_
#define OMNIROUTE_DAEMON_SERVICES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon/audit.h"
#include "daemon/customers.h"
#include "daemon/router.h"
#include "daemon/security.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "omniroute/v1/admin_service.grpc.pb.h"
#include "omniroute/v1/agent_service.grpc.pb.h"
#include "omniroute/v1/event_service.grpc.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::daemon {

// A stable 64-bit fingerprint of a message (deterministic serialization, FNV-1a).
uint64_t MessageFingerprint(const google::protobuf::Message& message);

// Paging (AIP-158): the page size in force and the key to start after.
struct PageRequest {
  size_t size = 0;
  std::string after;  // empty: from the start
  uint64_t filter = 0;
};
// INVALID_ARGUMENT for a negative size or a token not from this listing with these filters.
absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, const std::string& page_token,
                                             uint64_t filter, const DaemonSettings& settings);
std::string MakePageToken(const PageRequest& page, const std::string& last_key);

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(const Security& security, Router& router)
      : security_(security), router_(router) {}

  grpc::ServerUnaryReactor* UpsertChannel(grpc::CallbackServerContext* ctx,
                                          const v1::UpsertChannelRequest* request,
                                          v1::UpsertChannelResponse* response) override;
  grpc::ServerUnaryReactor* ListChannels(grpc::CallbackServerContext* ctx,
                                         const v1::ListChannelsRequest* request,
                                         v1::ListChannelsResponse* response) override;
  grpc::ServerUnaryReactor* UpsertQueue(grpc::CallbackServerContext* ctx,
                                        const v1::UpsertQueueRequest* request,
                                        v1::UpsertQueueResponse* response) override;
  grpc::ServerUnaryReactor* DeleteQueue(grpc::CallbackServerContext* ctx,
                                        const v1::DeleteQueueRequest* request,
                                        v1::DeleteQueueResponse* response) override;
  grpc::ServerUnaryReactor* GetQueue(grpc::CallbackServerContext* ctx,
                                     const v1::GetQueueRequest* request,
                                     v1::GetQueueResponse* response) override;
  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* ctx,
                                       const v1::ListQueuesRequest* request,
                                       v1::ListQueuesResponse* response) override;
  grpc::ServerUnaryReactor* UpsertAgent(grpc::CallbackServerContext* ctx,
                                        const v1::UpsertAgentRequest* request,
                                        v1::UpsertAgentResponse* response) override;
  grpc::ServerUnaryReactor* DeleteAgent(grpc::CallbackServerContext* ctx,
                                        const v1::DeleteAgentRequest* request,
                                        v1::DeleteAgentResponse* response) override;
  grpc::ServerUnaryReactor* GetAgent(grpc::CallbackServerContext* ctx,
                                     const v1::GetAgentRequest* request,
                                     v1::GetAgentResponse* response) override;
  grpc::ServerUnaryReactor* ListAgents(grpc::CallbackServerContext* ctx,
                                       const v1::ListAgentsRequest* request,
                                       v1::ListAgentsResponse* response) override;
  grpc::ServerUnaryReactor* GetQueueStats(grpc::CallbackServerContext* ctx,
                                          const v1::GetQueueStatsRequest* request,
                                          v1::GetQueueStatsResponse* response) override;
  grpc::ServerUnaryReactor* GetAgentStats(grpc::CallbackServerContext* ctx,
                                          const v1::GetAgentStatsRequest* request,
                                          v1::GetAgentStatsResponse* response) override;

 private:
  const Security& security_;
  Router& router_;
};

class SessionServiceImpl final : public v1::SessionService::CallbackService {
 public:
  // `customers` (may be null: no directory) resolves the customer of CreateSession; `audit`
  // (may be null: no audit) answers GetSessionHistory.
  SessionServiceImpl(const Security& security, Router& router, Customers* customers = nullptr,
                     Audit* audit = nullptr)
      : security_(security), router_(router), customers_(customers), audit_(audit) {}

  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* ctx,
                                          const v1::CreateSessionRequest* request,
                                          v1::CreateSessionResponse* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* ctx,
                                       const v1::GetSessionRequest* request,
                                       v1::GetSessionResponse* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* ctx,
                                         const v1::ListSessionsRequest* request,
                                         v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* CancelSession(grpc::CallbackServerContext* ctx,
                                          const v1::CancelSessionRequest* request,
                                          v1::CancelSessionResponse* response) override;
  grpc::ServerUnaryReactor* EscalateSession(grpc::CallbackServerContext* ctx,
                                            const v1::EscalateSessionRequest* request,
                                            v1::EscalateSessionResponse* response) override;
  grpc::ServerUnaryReactor* TransferSession(grpc::CallbackServerContext* ctx,
                                            const v1::TransferSessionRequest* request,
                                            v1::TransferSessionResponse* response) override;
  grpc::ServerUnaryReactor* CompleteSession(grpc::CallbackServerContext* ctx,
                                            const v1::CompleteSessionRequest* request,
                                            v1::CompleteSessionResponse* response) override;
  grpc::ServerUnaryReactor* RequestCallback(grpc::CallbackServerContext* ctx,
                                            const v1::RequestCallbackRequest* request,
                                            v1::RequestCallbackResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchSessionResponse>* WatchSession(
      grpc::CallbackServerContext* ctx, const v1::WatchSessionRequest* request) override;
  // Validated on the gRPC thread, read and built on the audit thread (audit.h).
  grpc::ServerUnaryReactor* GetSessionHistory(grpc::CallbackServerContext* ctx,
                                              const v1::GetSessionHistoryRequest* request,
                                              v1::GetSessionHistoryResponse* response) override;

 private:
  const Security& security_;
  Router& router_;
  Customers* customers_;
  Audit* audit_;
};

class AgentServiceImpl final : public v1::AgentService::CallbackService {
 public:
  AgentServiceImpl(const Security& security, Router& router)
      : security_(security), router_(router) {}

  grpc::ServerUnaryReactor* SetPresence(grpc::CallbackServerContext* ctx,
                                        const v1::SetPresenceRequest* request,
                                        v1::SetPresenceResponse* response) override;
  grpc::ServerWriteReactor<v1::StreamOffersResponse>* StreamOffers(
      grpc::CallbackServerContext* ctx, const v1::StreamOffersRequest* request) override;
  grpc::ServerUnaryReactor* AcceptOffer(grpc::CallbackServerContext* ctx,
                                        const v1::AcceptOfferRequest* request,
                                        v1::AcceptOfferResponse* response) override;
  grpc::ServerUnaryReactor* RejectOffer(grpc::CallbackServerContext* ctx,
                                        const v1::RejectOfferRequest* request,
                                        v1::RejectOfferResponse* response) override;
  grpc::ServerUnaryReactor* ClaimOffer(grpc::CallbackServerContext* ctx,
                                       const v1::ClaimOfferRequest* request,
                                       v1::ClaimOfferResponse* response) override;
  grpc::ServerUnaryReactor* EndWrapUp(grpc::CallbackServerContext* ctx,
                                      const v1::EndWrapUpRequest* request,
                                      v1::EndWrapUpResponse* response) override;

 private:
  const Security& security_;
  Router& router_;
};

class EventServiceImpl final : public v1::EventService::CallbackService {
 public:
  EventServiceImpl(const Security& security, Router& router)
      : security_(security), router_(router) {}

  grpc::ServerWriteReactor<v1::StreamEventsResponse>* StreamEvents(
      grpc::CallbackServerContext* ctx, const v1::StreamEventsRequest* request) override;

 private:
  const Security& security_;
  Router& router_;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_SERVICES_H_
