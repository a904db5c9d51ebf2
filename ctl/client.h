// The connection of omniroutectl to omnirouted: one gRPC channel, the service stubs, and the
// per-call deadline.
//
//   Client client("127.0.0.1:7400", absl::Seconds(10));
//   v1::GetQueueResponse response;
//   grpc::Status st = client.Call([&](grpc::ClientContext* c) {
//     return client.admin().GetQueue(c, request, &response);
//   });
//
// Calls fail fast when the daemon cannot be reached (no wait-for-ready): a refused connection
// is UNAVAILABLE at once rather than after the deadline. Not thread-safe except where noted.

#ifndef OMNIROUTE_CTL_CLIENT_H_
#define OMNIROUTE_CTL_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "omniroute/v1/admin_service.grpc.pb.h"
#include "omniroute/v1/agent_service.grpc.pb.h"
#include "omniroute/v1/event_service.grpc.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::ctl {

namespace v1 = ::omniroute::v1;

// How the client proves who it is, and TLS (docs/SECURITY.md). Empty: plaintext, no token.
struct ClientCredentials {
  std::string token;        // sent as "authorization: Bearer <token>"
  std::string ca_pem;       // non-empty: TLS, trusting these CAs
  std::string cert_pem;     // with key_pem: a client certificate (mutual TLS)
  std::string key_pem;
  std::string server_name;  // the name the daemon's certificate must carry; empty: the host
};

class Client {
 public:
  // Creates the channel (it connects on the first call). `timeout` is each unary call's
  // deadline.
  Client(std::string address, absl::Duration timeout, ClientCredentials credentials = {});

  const std::string& address() const { return address_; }
  absl::Duration timeout() const { return timeout_; }

  v1::AdminService::Stub& admin() { return *admin_; }
  v1::AgentService::Stub& agents() { return *agents_; }
  v1::SessionService::Stub& sessions() { return *sessions_; }
  v1::EventService::Stub& events() { return *events_; }

  // Runs one unary call with a fresh context carrying the deadline and the token.
  grpc::Status Call(const std::function<grpc::Status(grpc::ClientContext*)>& rpc);
  // Adds the token (if any) to a context made elsewhere (streams).
  void Authorize(grpc::ClientContext* context) const;

  // Every page of a paged List call (AIP-158), merged into `all`: the repeated results of
  // each page appended in order, `next_page_token` left empty. `rpc(context, request,
  // response)` makes one call, e.g. a lambda calling `admin().ListQueues`.
  template <typename Request, typename Response, typename Rpc>
  grpc::Status ListAll(Request request, Response* all, Rpc rpc) {
    all->Clear();
    while (true) {
      Response page;
      grpc::Status st = Call([&](grpc::ClientContext* c) { return rpc(c, request, &page); });
      if (!st.ok()) return st;
      const std::string token = page.next_page_token();
      all->MergeFrom(page);
      if (token.empty()) break;
      request.set_page_token(token);
    }
    all->clear_next_page_token();
    return grpc::Status::OK;
  }

 private:
  std::string address_;
  absl::Duration timeout_;
  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::AgentService::Stub> agents_;
  std::unique_ptr<v1::SessionService::Stub> sessions_;
  std::unique_ptr<v1::EventService::Stub> events_;
};

// The gRPC code's name: "NOT_FOUND", "UNAVAILABLE".
std::string CodeName(grpc::StatusCode code);

// "NOT_FOUND: queue \"x\" not found": the code name and the daemon's message.
std::string DescribeStatus(const grpc::Status& status);

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_CLIENT_H_
