// EchoServer: the bare gRPC server of `omniroute-bench --baseline=echo`, started in the bench
// process on an ephemeral loopback port. It answers every Echo at once with a payload of the
// size the request asks for and does nothing else, so the load generator's throughput
// against it is the transport's limit on this machine (client machinery, HTTP/2, protobuf,
// the loopback), the ceiling the daemon is compared with.
//
//   absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Start();
//   ... connect to (*server)->address() ...
//   (*server)->Shutdown();
//
// It uses the callback API like omnirouted, so both sides pay the same gRPC machinery; its
// handlers run on gRPC's own threads. Thread-safe.

#ifndef OMNIROUTE_BENCH_ECHO_SERVER_H_
#define OMNIROUTE_BENCH_ECHO_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "echo.grpc.pb.h"
#include "grpcpp/server.h"

namespace omniroute::bench {

class EchoServer {
 public:
  // Listens on 127.0.0.1 on a port the system picks.
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start();
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // "127.0.0.1:<port>".
  const std::string& address() const { return address_; }
  // Stops serving (calls in flight are cancelled after a short grace). Idempotent.
  void Shutdown();

 private:
  class Service;
  EchoServer();

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// The payload length that makes a message of one bytes field `serialized_bytes` long on the
// wire (tag, length varint, payload); 0 for sizes too small.
int PayloadForSerializedBytes(int serialized_bytes);

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_ECHO_SERVER_H_
