#include "bench/centre_setup.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/load_stats.h"
#include "grpcpp/client_context.h"

namespace omniroute::bench {

namespace v1 = ::omniroute::v1;

namespace {

// Agent upserts in flight at once.
constexpr int kMaxConcurrentUpserts = 64;

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  const int64_t micros = absl::ToInt64Microseconds(d);
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
}

absl::Status Failed(const std::string& what, const grpc::Status& status) {
  return absl::UnavailableError(absl::StrCat(
      what, ": ", StatusCodeName(static_cast<int>(status.error_code())), ": ",
      status.error_message()));
}

std::chrono::system_clock::time_point Deadline(const LoadOptions& options) {
  return std::chrono::system_clock::now() + absl::ToChronoMicroseconds(options.rpc_timeout);
}

v1::Agent BenchAgent(const LoadOptions& options, int index) {
  v1::Agent agent;
  agent.set_id(absl::StrCat(options.agent_prefix, index));
  agent.set_display_name(absl::StrCat("omniroute-bench desktop ", index));
  agent.set_budget(options.slots);
  v1::ChannelCapacity* capacity = agent.add_channels();
  capacity->set_channel_id(options.channel);
  capacity->set_max(options.slots);
  capacity->set_cost(1);
  agent.add_queue_ids(options.queue);
  return agent;
}

// Upserts the agents, up to kMaxConcurrentUpserts at once.
absl::Status UpsertAgents(const LoadOptions& options, const std::vector<v1::Agent>& agents,
                          v1::AdminService::Stub& admin) {
  struct Upsert {
    grpc::ClientContext context;
    v1::UpsertAgentRequest request;
    v1::UpsertAgentResponse response;
  };
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  absl::Status first_error;
  std::vector<std::unique_ptr<Upsert>> calls(agents.size());
  for (size_t i = 0; i < agents.size(); ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < kMaxConcurrentUpserts; });
      if (!first_error.ok()) break;
      ++in_flight;
    }
    calls[i] = std::make_unique<Upsert>();
    Upsert& call = *calls[i];
    *call.request.mutable_agent() = agents[i];
    call.context.set_deadline(Deadline(options));
    admin.async()->UpsertAgent(
        &call.context, &call.request, &call.response, [&, i](grpc::Status status) {
          std::lock_guard<std::mutex> lock(mu);
          if (!status.ok() && first_error.ok()) {
            first_error = Failed(absl::StrCat("UpsertAgent(", agents[i].id(), ")"), status);
          }
          --in_flight;
          cv.notify_all();
        });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  return first_error;
}

}  // namespace

absl::Status SetUpCentre(const LoadOptions& options, v1::AdminService::Stub& admin) {
  {
    v1::UpsertQueueRequest request;
    v1::Queue* queue = request.mutable_queue();
    queue->set_id(options.queue);
    queue->set_display_name("omniroute-bench");
    queue->set_delivery_mode(v1::DELIVERY_MODE_DIRECT);
    SetDuration(absl::Seconds(60), queue->mutable_offer_timeout());
    SetDuration(options.wrap_up, queue->mutable_wrap_up_duration());
    v1::UpsertQueueResponse response;
    grpc::ClientContext context;
    context.set_deadline(Deadline(options));
    const grpc::Status status = admin.UpsertQueue(&context, request, &response);
    if (!status.ok()) return Failed(absl::StrCat("UpsertQueue(", options.queue, ")"), status);
  }
  std::vector<v1::Agent> agents;
  agents.reserve(options.agents);
  for (int i = 0; i < options.agents; ++i) agents.push_back(BenchAgent(options, i));
  return UpsertAgents(options, agents, admin);
}

absl::Status SetUpProfile(const LoadOptions& options, const LoadPlan& plan,
                          v1::AdminService::Stub& admin) {
  for (const v1::Channel& channel : plan.channels) {
    v1::UpsertChannelRequest request;
    *request.mutable_channel() = channel;
    v1::UpsertChannelResponse response;
    grpc::ClientContext context;
    context.set_deadline(Deadline(options));
    const grpc::Status status = admin.UpsertChannel(&context, request, &response);
    if (!status.ok()) return Failed(absl::StrCat("UpsertChannel(", channel.id(), ")"), status);
  }
  for (const v1::Queue& queue : plan.queues) {
    v1::UpsertQueueRequest request;
    *request.mutable_queue() = queue;
    v1::UpsertQueueResponse response;
    grpc::ClientContext context;
    context.set_deadline(Deadline(options));
    const grpc::Status status = admin.UpsertQueue(&context, request, &response);
    if (!status.ok()) return Failed(absl::StrCat("UpsertQueue(", queue.id(), ")"), status);
  }
  return UpsertAgents(options, plan.agents, admin);
}

}  // namespace omniroute::bench
