#include "bench/echo_server.h"

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/server_callback.h"

namespace omniroute::bench {

namespace echo = ::omniroute::bench::echo;

class EchoServer::Service final : public echo::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const echo::EchoRequest* request,
                                 echo::EchoResponse* response) override {
    const int n = request->response_payload_bytes();
    if (n > 0 && n <= (1 << 20)) response->mutable_payload()->assign(static_cast<size_t>(n), 'y');
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

EchoServer::EchoServer() : service_(std::make_unique<Service>()) {}

EchoServer::~EchoServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start() {
  std::unique_ptr<EchoServer> s(new EchoServer());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(s->service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || port == 0) {
    return absl::UnavailableError("the echo server did not start on 127.0.0.1:0");
  }
  s->address_ = absl::StrCat("127.0.0.1:", port);
  return s;
}

void EchoServer::Shutdown() {
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
}

int PayloadForSerializedBytes(int serialized_bytes) {
  for (int n = serialized_bytes; n > 0; --n) {
    int varint = 1;
    for (int v = n; v >= 0x80; v >>= 7) ++varint;
    if (1 + varint + n <= serialized_bytes) return n;
  }
  return 0;
}

}  // namespace omniroute::bench
