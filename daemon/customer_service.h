// The gRPC services of the service model: CustomerService (the customer directory, the
// interaction history, ratings, the agent picker) and DeviceService (device alerts). Bad input
// is answered on the gRPC thread; directory work runs on the directory workers (customers.h);
// engine work on the engine thread, answered at its commit.

#ifndef OMNIROUTE_DAEMON_CUSTOMER_SERVICE_H_
#define OMNIROUTE_DAEMON_CUSTOMER_SERVICE_H_

#include "daemon/customers.h"
#include "daemon/security.h"
#include "grpcpp/grpcpp.h"
#include "omniroute/v1/customer_service.grpc.pb.h"
#include "omniroute/v1/device_service.grpc.pb.h"

namespace omniroute::daemon {

class CustomerServiceImpl final : public v1::CustomerService::CallbackService {
 public:
  CustomerServiceImpl(const Security& security, Customers& customers)
      : security_(security), customers_(customers) {}

  grpc::ServerUnaryReactor* ResolveCustomer(grpc::CallbackServerContext* ctx,
                                            const v1::ResolveCustomerRequest* request,
                                            v1::ResolveCustomerResponse* response) override;
  grpc::ServerUnaryReactor* GetCustomer(grpc::CallbackServerContext* ctx,
                                        const v1::GetCustomerRequest* request,
                                        v1::GetCustomerResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCustomer(grpc::CallbackServerContext* ctx,
                                           const v1::UpdateCustomerRequest* request,
                                           v1::UpdateCustomerResponse* response) override;
  grpc::ServerUnaryReactor* LinkHandle(grpc::CallbackServerContext* ctx,
                                       const v1::LinkHandleRequest* request,
                                       v1::LinkHandleResponse* response) override;
  grpc::ServerUnaryReactor* UnlinkHandle(grpc::CallbackServerContext* ctx,
                                         const v1::UnlinkHandleRequest* request,
                                         v1::UnlinkHandleResponse* response) override;
  grpc::ServerUnaryReactor* MergeCustomers(grpc::CallbackServerContext* ctx,
                                           const v1::MergeCustomersRequest* request,
                                           v1::MergeCustomersResponse* response) override;
  grpc::ServerUnaryReactor* ListInteractions(grpc::CallbackServerContext* ctx,
                                             const v1::ListInteractionsRequest* request,
                                             v1::ListInteractionsResponse* response) override;
  grpc::ServerUnaryReactor* RateSession(grpc::CallbackServerContext* ctx,
                                        const v1::RateSessionRequest* request,
                                        v1::RateSessionResponse* response) override;
  grpc::ServerUnaryReactor* GetAgentRating(grpc::CallbackServerContext* ctx,
                                           const v1::GetAgentRatingRequest* request,
                                           v1::GetAgentRatingResponse* response) override;
  grpc::ServerUnaryReactor* ListAgentsForCustomer(
      grpc::CallbackServerContext* ctx, const v1::ListAgentsForCustomerRequest* request,
      v1::ListAgentsForCustomerResponse* response) override;

 private:
  const Security& security_;
  Customers& customers_;
};

class DeviceServiceImpl final : public v1::DeviceService::CallbackService {
 public:
  DeviceServiceImpl(const Security& security, Customers& customers)
      : security_(security), customers_(customers) {}

  grpc::ServerUnaryReactor* ReportDeviceAlert(grpc::CallbackServerContext* ctx,
                                              const v1::ReportDeviceAlertRequest* request,
                                              v1::ReportDeviceAlertResponse* response) override;

 private:
  const Security& security_;
  Customers& customers_;
};

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_CUSTOMER_SERVICE_H_
