// The connection of omniroutectl to omnirouted: see client.h.

#include "ctl/client.h"

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace omniroute::ctl {

Client::Client(std::string address, absl::Duration timeout, ClientCredentials credentials)
    : address_(std::move(address)), timeout_(timeout), token_(std::move(credentials.token)) {
  grpc::ChannelArguments args;
  // Answers may be large (a list page of 1000 agents); the daemon's own limit applies.
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  // A client that gave up on a dead address retries the connection quickly when asked again.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  std::shared_ptr<grpc::ChannelCredentials> transport = grpc::InsecureChannelCredentials();
  if (!credentials.ca_pem.empty()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = credentials.ca_pem;
    tls.pem_cert_chain = credentials.cert_pem;
    tls.pem_private_key = credentials.key_pem;
    transport = grpc::SslCredentials(tls);
    if (!credentials.server_name.empty()) args.SetSslTargetNameOverride(credentials.server_name);
  }
  channel_ = grpc::CreateCustomChannel(address_, transport, args);
  admin_ = v1::AdminService::NewStub(channel_);
  agents_ = v1::AgentService::NewStub(channel_);
  sessions_ = v1::SessionService::NewStub(channel_);
  events_ = v1::EventService::NewStub(channel_);
}

grpc::Status Client::Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::microseconds(absl::ToInt64Microseconds(timeout_)));
  Authorize(&context);
  return rpc(&context);
}

void Client::Authorize(grpc::ClientContext* context) const {
  if (!token_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
}

std::string CodeName(grpc::StatusCode code) {
  // gRPC and Abseil share the code numbers (as the daemon's metrics rely on).
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string DescribeStatus(const grpc::Status& status) {
  if (status.ok()) return "OK";
  if (status.error_message().empty()) return CodeName(status.error_code());
  return absl::StrCat(CodeName(status.error_code()), ": ", status.error_message());
}

}  // namespace omniroute::ctl
