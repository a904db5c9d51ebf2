// Integration-test harness for the `omnirouted` daemon: starts the real binary with a test's
// configuration, talks to it over gRPC with the generated clients, and stops it.
//
//   omniroute::testing::Daemon d;
//   ASSERT_NO_FATAL_FAILURE(d.Start(R"pb(queues { id: "repair" })pb"));
//   v1::GetQueueResponse resp;
//   EXPECT_THAT(d.GetQueue(QueueRequest("repair"), &resp), IsOk());
//
// The daemon is `OMNIROUTED_PATH` (defined by CMake) run as
// `omnirouted --config=<temp file> --listen=127.0.0.1:0 --data_dir=<temp dir>/data`; the
// harness reads its stdout until
// the line "omnirouted listening on 127.0.0.1:PORT" and connects there. Its stderr goes to a
// temp file, printed when the test has failed. `Stop()` sends SIGTERM and returns the exit
// status; `Kill()` sends SIGKILL; `Restart()` starts it again on the same configuration and
// data directory (crash recovery); the destructor SIGKILLs a daemon still running.
//
// Streams are read by a thread into a queue (`Stream<Response>`), so a test waits for a
// message with a deadline and never sleeps. `EventLog` is an unfiltered StreamEvents that
// checks sequences are strictly increasing without gaps, and `Sync()`s with the daemon (a
// barrier channel upsert) to assert exactly which events a call caused.
//
// OMNIROUTE_ITEST_TRACE=1 in the environment prints every daemon's stderr and how long it took
// to exit after SIGTERM, also for passing tests.

#ifndef OMNIROUTE_TESTS_DAEMON_DAEMON_HARNESS_H_
#define OMNIROUTE_TESTS_DAEMON_DAEMON_HARNESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "omniroute/v1/admin_service.grpc.pb.h"
#include "omniroute/v1/agent_service.grpc.pb.h"
#include "omniroute/v1/config.pb.h"
#include "omniroute/v1/customer_service.grpc.pb.h"
#include "omniroute/v1/device_service.grpc.pb.h"
#include "omniroute/v1/event_service.grpc.pb.h"
#include "omniroute/v1/resources.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

#ifndef OMNIROUTED_PATH
#error "OMNIROUTED_PATH must be defined (CMake does it for tests/daemon/*_test.cc)"
#endif

namespace omniroute::testing {

namespace v1 = ::omniroute::v1;
using std::chrono::milliseconds;

// How long a test waits for something that should happen "at once" (an RPC answer, a stream
// message caused by a call). Generous: a slow machine must not make a correct daemon fail.
inline constexpr milliseconds kWait{10000};
// How long the daemon may take to start serving or to exit after SIGTERM.
inline constexpr milliseconds kStartTimeout{30000};
inline constexpr milliseconds kStopTimeout{15000};

// ---------------------------------------------------------------------------------------------
// Status matchers and printing

inline std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

inline std::string ToString(const grpc::Status& s) {
  return s.ok() ? std::string("OK") : CodeName(s.error_code()) + ": " + s.error_message();
}

MATCHER(IsOk, "is OK") {
  if (!arg.ok()) *result_listener << "status is " << ToString(arg);
  return arg.ok();
}

// StatusIs(grpc::StatusCode::NOT_FOUND), or with a matcher on the message.
MATCHER_P(StatusIs, code, "has code " + CodeName(code)) {
  *result_listener << "status is " << ToString(arg);
  return arg.error_code() == code;
}
MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + CodeName(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  *result_listener << "status is " << ToString(arg);
  return arg.error_code() == code &&
         ::testing::Matches(message_matcher)(std::string(arg.error_message()));
}

// An INVALID_ARGUMENT whose message starts with "<field>" (the contract: "the message starts
// with the path of the offending field").
inline auto InvalidArgumentNaming(const std::string& field) {
  return StatusIs(grpc::StatusCode::INVALID_ARGUMENT, ::testing::StartsWith(field));
}

// ---------------------------------------------------------------------------------------------
// Small proto helpers

inline std::string EventTypeName(v1::EventType t) {
  std::string name = v1::EventType_Name(t);
  const std::string prefix = "EVENT_TYPE_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return name.empty() ? "EVENT_TYPE_" + std::to_string(static_cast<int>(t)) : name;
}

// "OFFER_CREATED session=3 agent=li.na", "SESSION_TRANSFERRED session=3 agent=ann to=tech",
// "PRESENCE_CHANGED agent=ann": the part of an event the scenario tests compare exactly.
inline std::string Describe(const v1::Event& e) {
  std::string out = EventTypeName(e.type());
  if (!e.session_id().empty()) out += " session=" + e.session_id();
  if (!e.agent_id().empty()) out += " agent=" + e.agent_id();
  if (!e.to_queue_id().empty()) out += " to=" + e.to_queue_id();
  return out;
}

inline std::string Describe(const std::vector<v1::Event>& events) {
  std::string out;
  for (const v1::Event& e : events) out += "  #" + std::to_string(e.sequence()) + " " +
                                           Describe(e) + " detail=\"" + e.detail() + "\"\n";
  return out;
}

inline int64_t Micros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}
inline int64_t Micros(const google::protobuf::Duration& d) {
  return d.seconds() * 1000000 + d.nanos() / 1000;
}
inline google::protobuf::Duration Millis(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return d;
}

inline std::string ShortDebug(const google::protobuf::Message& m) { return m.ShortDebugString(); }

// Request builders for the calls every test makes.
inline v1::CreateSessionRequest NewSession(const std::string& request_id,
                                           const std::string& channel,
                                           const std::string& queue) {
  v1::CreateSessionRequest r;
  r.set_request_id(request_id);
  r.set_channel_id(channel);
  r.set_queue_id(queue);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Stream<Response>: a server stream read by a thread into a queue.

template <typename Response>
class Stream {
 public:
  using Starter =
      std::function<std::unique_ptr<grpc::ClientReader<Response>>(grpc::ClientContext*)>;

  // Starts the call. With `read_now` false nothing is read until `StartReading()` (a consumer
  // that does not read: gRPC flow control then holds the daemon's writes).
  explicit Stream(const Starter& start, bool read_now = true) {
    reader_ = start(&context_);
    if (read_now) StartReading();
  }
  ~Stream() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void StartReading() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] {
      Response message;
      while (reader_->Read(&message)) {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(message));
        ++received_;
        cv_.notify_all();
        message = Response();
      }
      grpc::Status status = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = std::move(status);
      cv_.notify_all();
    });
  }

  // The next message; nullopt when the stream has ended (see `status()`) or `timeout` passed.
  std::optional<Response> Next(milliseconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return !queue_.empty() || status_.has_value(); });
    if (queue_.empty()) return std::nullopt;
    Response r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }

  // Waits until the stream has ended (messages not yet taken stay queued) and returns its
  // status; nullopt if it has not ended within `timeout`.
  std::optional<grpc::Status> AwaitEnd(milliseconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return status_.has_value(); });
    return status_;
  }

  // The final status if the stream has ended.
  std::optional<grpc::Status> status() {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }
  // Messages received and not yet taken by Next().
  size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }
  // Messages received in all.
  size_t received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  void Cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<Response>> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Response> queue_;
  size_t received_ = 0;
  std::optional<grpc::Status> status_;
  std::thread thread_;
};

// The engine event a stream message carries (nullptr for snapshots / first messages).
inline const v1::Event* EventOf(const v1::StreamEventsResponse& r) {
  return r.has_event() ? &r.event() : nullptr;
}
inline const v1::Event* EventOf(const v1::WatchSessionResponse& r) {
  return r.has_event() ? &r.event() : nullptr;
}
inline const v1::Event* EventOf(const v1::StreamOffersResponse& r) {
  return r.has_event() ? &r.event() : nullptr;
}

// Reads until a message satisfies `pred`; the messages skipped are appended to `skipped`.
// nullopt (and a test failure naming `what` and what was skipped) when the stream ends or
// `timeout` passes first.
template <typename Response, typename Pred>
std::optional<Response> AwaitMessage(Stream<Response>& stream, Pred pred, const std::string& what,
                                     milliseconds timeout = kWait,
                                     std::vector<Response>* skipped = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string seen;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    std::optional<Response> r =
        stream.Next(std::chrono::duration_cast<milliseconds>(deadline - now));
    if (!r.has_value()) break;
    if (pred(*r)) return r;
    seen += "  " + r->ShortDebugString().substr(0, 400) + "\n";
    if (skipped != nullptr) skipped->push_back(*r);
  }
  std::optional<grpc::Status> st = stream.status();
  ADD_FAILURE() << "waiting for " << what << ": "
                << (st.has_value() ? "the stream ended with " + ToString(*st)
                                   : std::string("timed out"))
                << "; messages skipped:\n"
                << seen;
  return std::nullopt;
}

// Reads until an event of `type` (for `session_id`, and `agent_id`, when not empty).
template <typename Response>
std::optional<Response> AwaitEvent(Stream<Response>& stream, v1::EventType type,
                                   const std::string& session_id = "",
                                   const std::string& agent_id = "",
                                   milliseconds timeout = kWait,
                                   std::vector<Response>* skipped = nullptr) {
  return AwaitMessage(
      stream,
      [&](const Response& r) {
        const v1::Event* e = EventOf(r);
        return e != nullptr && e->type() == type &&
               (session_id.empty() || e->session_id() == session_id) &&
               (agent_id.empty() || e->agent_id() == agent_id);
      },
      EventTypeName(type) + (session_id.empty() ? "" : " session=" + session_id) +
          (agent_id.empty() ? "" : " agent=" + agent_id),
      timeout, skipped);
}

// ---------------------------------------------------------------------------------------------
// Daemon

class Daemon {
 public:
  Daemon() = default;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() {
    if ((::testing::Test::HasFailure() || std::getenv("OMNIROUTE_ITEST_TRACE") != nullptr) &&
        !dir_.empty() && !stderr_printed_) {
      PrintStderr();
    }
    if (pid_ > 0 && !Exited()) {
      ::kill(pid_, SIGKILL);
      exit_status_.wait();
    }
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    if (!dir_.empty() && !::testing::Test::HasFailure()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  // Writes `config_text` (a DaemonConfig textproto) and starts the daemon; fatal test failure
  // when it does not print its listening line in time. `check_config` parses the text here
  // first, so that a typo in a test's configuration is reported as such.
  void Start(const std::string& config_text, bool check_config = true) {
    if (check_config) {
      v1::DaemonConfig parsed;
      ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(config_text, &parsed))
          << "the test's configuration does not parse:\n"
          << config_text;
    }
    ASSERT_NO_FATAL_FAILURE(Launch(config_text));
    ASSERT_NO_FATAL_FAILURE(Connect());
  }

  // Starts the daemon again after Stop() or Kill(), with the same configuration and data
  // directory: it recovers its state. The stubs are replaced (a new port).
  void Restart() {
    ASSERT_FALSE(config_text_.empty()) << "Restart() before Start()";
    ASSERT_NO_FATAL_FAILURE(Launch(config_text_));
    ASSERT_NO_FATAL_FAILURE(Connect());
  }

  // SIGKILL, as a crash: no shutdown work at all. Waits for the exit.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    exit_status_.wait();
    pid_ = -1;
  }

  // Restart() after Kill(). The killed daemon's snapshot child (if one was running) dies with
  // it, but asynchronously (PR_SET_PDEATHSIG), so it may hold the data directory's lock for a
  // few more milliseconds: a start refused for that reason alone ("in use by another
  // omnirouted" on stderr) is tried again, 20 ms later, up to `attempts` times in all. Any
  // other failure is fatal, as in Restart(). Returns how many starts were refused that way.
  int RestartAfterKill(int attempts = 100) {
    int refused = 0;
    [&] {
      ASSERT_FALSE(config_text_.empty()) << "RestartAfterKill() before Start()";
      for (int attempt = 1;; ++attempt) {
        const size_t stderr_before = Stderr().size();
        ASSERT_NO_FATAL_FAILURE(Launch(config_text_));
        std::string line;
        if (ReadLine(&line)) {  // the listening line (Connect() checks it): put it back
          stdout_buffer_.insert(0, line + "\n");
          ASSERT_NO_FATAL_FAILURE(Connect());
          return;
        }
        if (exit_status_.wait_for(kStopTimeout) != std::future_status::ready) {
          PrintStderr();
          FAIL() << "omnirouted printed no listening line within " << kStartTimeout.count()
                 << " ms and did not exit";
        }
        const int status = exit_status_.get();
        pid_ = -1;
        const std::string err = Stderr().substr(stderr_before);
        if (err.find("in use by another omnirouted") != std::string::npos &&
            attempt < attempts) {
          ++refused;
          std::this_thread::sleep_for(milliseconds(20));
          continue;
        }
        PrintStderr();
        FAIL() << "omnirouted did not restart (" << DescribeExit(status) << ", attempt "
               << attempt << "); its stderr:\n"
               << err;
      }
    }();
    return refused;
  }

  // The daemon's data directory (the same across restarts): <temp dir>/data, or what
  // set_data_dir() gave.
  std::string DataDir() const { return data_dir_.empty() ? dir_ + "/data" : data_dir_; }
  // Runs the daemon on `data_dir` instead (e.g. another Daemon's DataDir(), to see the second
  // daemon on a directory refused). Before Start().
  void set_data_dir(const std::string& data_dir) { data_dir_ = data_dir; }

  // Starts the daemon with a configuration it must refuse (or on a data directory it must
  // refuse): returns its exit status (as from waitpid) once it has exited, failing the test if
  // it prints a listening line instead. Restart() may follow (e.g. once the directory is
  // repaired).
  int StartExpectingFailure(const std::string& config_text) {
    Launch(config_text);
    if (::testing::Test::HasFatalFailure()) return -1;
    std::string line;
    const bool got_line = ReadLine(&line);
    EXPECT_FALSE(got_line) << "the daemon started with a bad configuration: " << line;
    if (exit_status_.wait_for(kStartTimeout) != std::future_status::ready) {
      ADD_FAILURE() << "the daemon did not exit";
      return -1;
    }
    pid_ = -1;
    return exit_status_.get();
  }

  // SIGTERM, then waits for the exit; returns the waitpid status (-1 if it did not exit in
  // time, after which it is killed).
  int Stop(milliseconds timeout = kStopTimeout) {
    if (pid_ <= 0) return -1;
    const auto t0 = std::chrono::steady_clock::now();
    if (!Exited()) ::kill(pid_, SIGTERM);
    const bool exited = exit_status_.wait_for(timeout) == std::future_status::ready;
    last_stop_duration_ = std::chrono::duration_cast<milliseconds>(
        std::chrono::steady_clock::now() - t0);
    if (std::getenv("OMNIROUTE_ITEST_TRACE") != nullptr) {
      std::cerr << "[harness] omnirouted took " << last_stop_duration_.count()
                << " ms to exit after SIGTERM\n";
    }
    if (!exited) {
      ADD_FAILURE() << "omnirouted did not exit within " << timeout.count() << " ms of SIGTERM";
      ::kill(pid_, SIGKILL);
      exit_status_.wait();
      pid_ = -1;
      return -1;
    }
    pid_ = -1;
    return exit_status_.get();
  }

  // Stop() and expect exit status 0.
  void StopCleanly() {
    const int status = Stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "omnirouted exit: " << DescribeExit(status);
  }

  static std::string DescribeExit(int status) {
    if (status == -1) return "did not exit";
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "waitpid status " + std::to_string(status);
  }

  // How long the last Stop() waited for the exit.
  milliseconds last_stop_duration() const { return last_stop_duration_; }

  bool Exited() {
    return exit_status_.valid() &&
           exit_status_.wait_for(milliseconds(0)) == std::future_status::ready;
  }

  std::string Stderr() const {
    std::ifstream in(StderrPath());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void PrintStderr() {
    stderr_printed_ = true;
    std::string text = Stderr();
    if (text.size() > 20000) text = "...\n" + text.substr(text.size() - 20000);
    std::cerr << "---- omnirouted stderr (" << StderrPath() << ") ----\n"
              << text << "---- end of omnirouted stderr ----\n";
  }

  pid_t pid() const { return pid_; }
  const std::string& address() const { return address_; }
  // The HTTP endpoint's port on 127.0.0.1 (/metrics, /healthz, /readyz).
  int http_port() const { return http_port_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  v1::AdminService::Stub& admin() { return *admin_; }
  v1::SessionService::Stub& sessions() { return *sessions_; }
  v1::AgentService::Stub& agents() { return *agents_; }
  v1::EventService::Stub& events() { return *events_; }

  // ---- unary calls, each with a deadline ----------------------------------------------------
#define OMNIROUTE_HARNESS_RPC(stub, Method)                                                  \
  grpc::Status Method(const v1::Method##Request& request, v1::Method##Response* response) { \
    grpc::ClientContext context;                                                            \
    context.set_deadline(std::chrono::system_clock::now() + kWait);                         \
    return stub->Method(&context, request, response);                                       \
  }                                                                                         \
  grpc::Status Method(const v1::Method##Request& request) {                                 \
    v1::Method##Response response;                                                          \
    return Method(request, &response);                                                      \
  }
  OMNIROUTE_HARNESS_RPC(admin_, UpsertChannel)
  OMNIROUTE_HARNESS_RPC(admin_, ListChannels)
  OMNIROUTE_HARNESS_RPC(admin_, UpsertQueue)
  OMNIROUTE_HARNESS_RPC(admin_, DeleteQueue)
  OMNIROUTE_HARNESS_RPC(admin_, GetQueue)
  OMNIROUTE_HARNESS_RPC(admin_, ListQueues)
  OMNIROUTE_HARNESS_RPC(admin_, UpsertAgent)
  OMNIROUTE_HARNESS_RPC(admin_, DeleteAgent)
  OMNIROUTE_HARNESS_RPC(admin_, GetAgent)
  OMNIROUTE_HARNESS_RPC(admin_, ListAgents)
  OMNIROUTE_HARNESS_RPC(admin_, GetQueueStats)
  OMNIROUTE_HARNESS_RPC(admin_, GetAgentStats)
  OMNIROUTE_HARNESS_RPC(sessions_, CreateSession)
  OMNIROUTE_HARNESS_RPC(sessions_, GetSession)
  OMNIROUTE_HARNESS_RPC(sessions_, ListSessions)
  OMNIROUTE_HARNESS_RPC(sessions_, CancelSession)
  OMNIROUTE_HARNESS_RPC(sessions_, EscalateSession)
  OMNIROUTE_HARNESS_RPC(sessions_, TransferSession)
  OMNIROUTE_HARNESS_RPC(sessions_, CompleteSession)
  OMNIROUTE_HARNESS_RPC(agents_, SetPresence)
  OMNIROUTE_HARNESS_RPC(agents_, AcceptOffer)
  OMNIROUTE_HARNESS_RPC(agents_, RejectOffer)
  OMNIROUTE_HARNESS_RPC(agents_, ClaimOffer)
  OMNIROUTE_HARNESS_RPC(agents_, EndWrapUp)
  OMNIROUTE_HARNESS_RPC(customers_, ResolveCustomer)
  OMNIROUTE_HARNESS_RPC(customers_, GetCustomer)
  OMNIROUTE_HARNESS_RPC(customers_, UpdateCustomer)
  OMNIROUTE_HARNESS_RPC(customers_, LinkHandle)
  OMNIROUTE_HARNESS_RPC(customers_, UnlinkHandle)
  OMNIROUTE_HARNESS_RPC(customers_, MergeCustomers)
  OMNIROUTE_HARNESS_RPC(customers_, ListInteractions)
  OMNIROUTE_HARNESS_RPC(customers_, RateSession)
  OMNIROUTE_HARNESS_RPC(customers_, GetAgentRating)
  OMNIROUTE_HARNESS_RPC(customers_, ListAgentsForCustomer)
  OMNIROUTE_HARNESS_RPC(devices_, ReportDeviceAlert)
#undef OMNIROUTE_HARNESS_RPC

  // ---- conveniences -------------------------------------------------------------------------
  grpc::Status SetPresence(const std::string& agent, v1::Presence presence,
                           const std::string& reason = "") {
    v1::SetPresenceRequest r;
    r.set_agent_id(agent);
    r.set_presence(presence);
    r.set_reason(reason);
    return SetPresence(r);
  }
  // The session now, or a default Session (and a test failure) if GetSession fails.
  v1::Session Session(const std::string& id) {
    v1::GetSessionRequest r;
    r.set_session_id(id);
    v1::GetSessionResponse resp;
    grpc::Status st = GetSession(r, &resp);
    EXPECT_TRUE(st.ok()) << "GetSession(" << id << "): " << ToString(st);
    return resp.session();
  }
  v1::Agent Agent(const std::string& id) {
    v1::GetAgentRequest r;
    r.set_agent_id(id);
    v1::GetAgentResponse resp;
    grpc::Status st = GetAgent(r, &resp);
    EXPECT_TRUE(st.ok()) << "GetAgent(" << id << "): " << ToString(st);
    return resp.agent();
  }
  v1::QueueStats QueueStats(const std::string& queue) {
    v1::GetQueueStatsRequest r;
    r.set_queue_id(queue);
    v1::GetQueueStatsResponse resp;
    grpc::Status st = GetQueueStats(r, &resp);
    EXPECT_TRUE(st.ok()) << "GetQueueStats(" << queue << "): " << ToString(st);
    return resp.stats();
  }
  v1::AgentStats AgentStats(const std::string& agent) {
    v1::GetAgentStatsRequest r;
    r.set_agent_id(agent);
    v1::GetAgentStatsResponse resp;
    grpc::Status st = GetAgentStats(r, &resp);
    EXPECT_TRUE(st.ok()) << "GetAgentStats(" << agent << "): " << ToString(st);
    return resp.stats();
  }
  // Creates a session and returns its id ("" and a test failure if refused).
  std::string Create(const v1::CreateSessionRequest& r, v1::Session* session = nullptr) {
    v1::CreateSessionResponse resp;
    grpc::Status st = CreateSession(r, &resp);
    EXPECT_TRUE(st.ok()) << "CreateSession(" << r.ShortDebugString() << "): " << ToString(st);
    if (session != nullptr) *session = resp.session();
    return resp.session().id();
  }

  // ---- streams ------------------------------------------------------------------------------
  std::unique_ptr<Stream<v1::StreamEventsResponse>> StreamEvents(
      const v1::StreamEventsRequest& request, bool read_now = true) {
    return std::make_unique<Stream<v1::StreamEventsResponse>>(
        [this, request](grpc::ClientContext* c) { return events_->StreamEvents(c, request); },
        read_now);
  }
  // A StreamEvents on its own connection whose client side buffers little: no BDP probing
  // (which would grow HTTP/2 windows to megabytes on loopback) and a small lookahead, so that a
  // consumer that does not read makes the daemon's writes wait.
  std::unique_ptr<Stream<v1::StreamEventsResponse>> StreamEventsOnTightConnection(
      const v1::StreamEventsRequest& request, bool read_now) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 8192);
    args.SetString("omniroute.itest.tight", "1");  // a connection of its own
    std::shared_ptr<grpc::Channel> tight =
        grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
    auto stub = std::shared_ptr<v1::EventService::Stub>(v1::EventService::NewStub(tight));
    return std::make_unique<Stream<v1::StreamEventsResponse>>(
        [stub, request](grpc::ClientContext* c) { return stub->StreamEvents(c, request); },
        read_now);
  }
  std::unique_ptr<Stream<v1::StreamOffersResponse>> StreamOffers(
      const std::string& agent_id, bool offline_on_disconnect = false) {
    v1::StreamOffersRequest request;
    request.set_agent_id(agent_id);
    request.set_offline_on_disconnect(offline_on_disconnect);
    return std::make_unique<Stream<v1::StreamOffersResponse>>(
        [this, request](grpc::ClientContext* c) { return agents_->StreamOffers(c, request); });
  }
  std::unique_ptr<Stream<v1::WatchSessionResponse>> WatchSession(const std::string& session_id) {
    v1::WatchSessionRequest request;
    request.set_session_id(session_id);
    return std::make_unique<Stream<v1::WatchSessionResponse>>(
        [this, request](grpc::ClientContext* c) { return sessions_->WatchSession(c, request); });
  }

  // grpc.health.v1.Health/Check for `service` through a generic stub (Debian's gRPC ships no
  // generated health stubs): the request is hand-serialized (field 1, string), and the
  // response's `status` (field 1, varint) is returned, or -1 when the response cannot be read.
  grpc::Status HealthCheck(const std::string& service, int* serving_status) {
    std::string request_bytes;
    if (!service.empty()) {
      request_bytes.push_back(static_cast<char>(0x0a));  // field 1, length-delimited
      request_bytes.push_back(static_cast<char>(service.size()));  // < 128 in tests
      request_bytes += service;
    }
    grpc::Slice slice(request_bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kWait);
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status status = done.get_future().get();
    *serving_status = -1;
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (response.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      if (bytes.empty()) {
        *serving_status = 0;  // status UNKNOWN (0) is the empty message
      } else if (bytes.size() == 2 && bytes[0] == 0x08) {
        *serving_status = static_cast<unsigned char>(bytes[1]);
      }
    }
    return status;
  }

 private:
  std::string ConfigPath() const { return dir_ + "/omnirouted.textproto"; }
  std::string StderrPath() const { return dir_ + "/omnirouted.stderr"; }

  void Connect() {
    ASSERT_NO_FATAL_FAILURE(AwaitListening());
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    admin_ = v1::AdminService::NewStub(channel_);
    sessions_ = v1::SessionService::NewStub(channel_);
    agents_ = v1::AgentService::NewStub(channel_);
    events_ = v1::EventService::NewStub(channel_);
    customers_ = v1::CustomerService::NewStub(channel_);
    devices_ = v1::DeviceService::NewStub(channel_);
  }

  void Launch(const std::string& config_text) {
    ASSERT_EQ(pid_, -1) << "Start() called twice";
    config_text_ = config_text;
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    stdout_fd_ = -1;
    stdout_buffer_.clear();
    if (dir_.empty()) {
      std::string tmpl = ::testing::TempDir() + "omnirouted-itest-XXXXXX";
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      ASSERT_NE(::mkdtemp(buf.data()), nullptr) << "mkdtemp: " << std::strerror(errno);
      dir_ = buf.data();
    }
    {
      std::ofstream out(ConfigPath());
      out << config_text;
      ASSERT_TRUE(out.good()) << "cannot write " << ConfigPath();
    }
    ASSERT_EQ(::access(OMNIROUTED_PATH, X_OK), 0)
        << OMNIROUTED_PATH << " is not an executable: was the daemon built?";

    int out_pipe[2];
    ASSERT_EQ(::pipe2(out_pipe, O_CLOEXEC), 0) << std::strerror(errno);
    const int err_fd =
        ::open(StderrPath().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(err_fd, 0) << std::strerror(errno);

    // Everything the child needs is prepared before fork (only async-signal-safe calls after).
    const std::string config_arg = "--config=" + ConfigPath();
    const std::string listen_arg = "--listen=127.0.0.1:0";
    const std::string http_arg = "--http=127.0.0.1:0";
    const std::string data_arg = "--data_dir=" + DataDir();
    std::vector<char*> argv = {const_cast<char*>("omnirouted"),
                               const_cast<char*>(config_arg.c_str()),
                               const_cast<char*>(listen_arg.c_str()),
                               const_cast<char*>(http_arg.c_str()),
                               const_cast<char*>(data_arg.c_str()), nullptr};
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork: " << std::strerror(errno);
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(out_pipe[1], STDOUT_FILENO);
      ::dup2(err_fd, STDERR_FILENO);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
      ::execv(OMNIROUTED_PATH, argv.data());
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_fd);
    pid_ = pid;
    stdout_fd_ = out_pipe[0];
    exit_status_ = std::async(std::launch::async, [pid] {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    }).share();
  }

  // Reads one line from the daemon's stdout within kStartTimeout; false on EOF or timeout.
  bool ReadLine(std::string* line) {
    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (true) {
      const size_t nl = stdout_buffer_.find('\n');
      if (nl != std::string::npos) {
        *line = stdout_buffer_.substr(0, nl);
        stdout_buffer_.erase(0, nl + 1);
        return true;
      }
      const auto left = std::chrono::duration_cast<milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{stdout_fd_, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      char chunk[512];
      const ssize_t got = ::read(stdout_fd_, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        *line = stdout_buffer_;
        return false;  // EOF: the daemon closed stdout (exited)
      }
      stdout_buffer_.append(chunk, static_cast<size_t>(got));
    }
  }

  void AwaitListening() {
    std::string line;
    const bool got = ReadLine(&line);
    if (!got) {
      std::string why = Exited() ? "it exited: " + DescribeExit(exit_status_.get())
                                 : "no listening line within " +
                                       std::to_string(kStartTimeout.count()) + " ms";
      PrintStderr();
      FAIL() << "omnirouted did not start (" << why << "); stdout so far: \"" << line << "\"";
    }
    const std::string prefix = "omnirouted listening on ";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << "unexpected first stdout line: \"" << line << "\"";
    address_ = line.substr(prefix.size());
    const size_t colon = address_.rfind(':');
    ASSERT_NE(colon, std::string::npos) << line;
    ASSERT_EQ(address_.substr(0, colon), "127.0.0.1") << line;
    const std::string port = address_.substr(colon + 1);
    ASSERT_FALSE(port.empty()) << line;
    ASSERT_EQ(port.find_first_not_of("0123456789"), std::string::npos) << line;
    ASSERT_NE(std::stoi(port), 0) << "the daemon reported port 0: " << line;
    // The HTTP endpoint's line follows.
    ASSERT_TRUE(ReadLine(&line)) << "no HTTP line after the listening line";
    const std::string http_prefix = "omnirouted http on 127.0.0.1:";
    ASSERT_EQ(line.rfind(http_prefix, 0), 0u) << "unexpected second stdout line: \"" << line
                                               << "\"";
    http_port_ = std::stoi(line.substr(http_prefix.size()));
    ASSERT_NE(http_port_, 0) << line;
  }

  std::string dir_;
  std::string data_dir_;  // empty: dir_ + "/data"
  int http_port_ = 0;     // the HTTP endpoint's, once connected
  std::string config_text_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_buffer_;
  std::shared_future<int> exit_status_;
  bool stderr_printed_ = false;
  milliseconds last_stop_duration_{0};
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::SessionService::Stub> sessions_;
  std::unique_ptr<v1::AgentService::Stub> agents_;
  std::unique_ptr<v1::EventService::Stub> events_;
  std::unique_ptr<v1::CustomerService::Stub> customers_;
  std::unique_ptr<v1::DeviceService::Stub> devices_;
};

// ---------------------------------------------------------------------------------------------
// EventLog: an unfiltered StreamEvents from the start of the retained history, checked for
// strictly increasing sequences without gaps, with a barrier to know "everything so far".

class EventLog {
 public:
  // Opens the stream with after_sequence 0 and Sync()s past the startup events.
  explicit EventLog(Daemon& daemon) : daemon_(daemon) {
    v1::StreamEventsRequest request;
    request.set_after_sequence(0);
    stream_ = daemon.StreamEvents(request);
    Sync();
  }

  // The next event (nullopt and a failure after `timeout`). Checks the sequence.
  std::optional<v1::Event> Next(milliseconds timeout = kWait) {
    std::optional<v1::StreamEventsResponse> r = stream_->Next(timeout);
    if (!r.has_value()) {
      std::optional<grpc::Status> st = stream_->status();
      ADD_FAILURE() << "event stream: "
                    << (st.has_value() ? "ended with " + ToString(*st) : "no event in time")
                    << " (last sequence " << last_sequence_ << ")";
      return std::nullopt;
    }
    const v1::Event& e = r->event();
    if (last_sequence_ != 0) {
      EXPECT_EQ(e.sequence(), last_sequence_ + 1)
          << "an unfiltered StreamEvents must have no gap: " << Describe(e);
    } else {
      EXPECT_GE(e.sequence(), 1u);
    }
    last_sequence_ = e.sequence();
    all_.push_back(e);
    return e;
  }

  // The next `n` events, described ("OFFER_CREATED session=1 agent=ann").
  std::vector<std::string> Take(size_t n, std::vector<v1::Event>* raw = nullptr) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
      std::optional<v1::Event> e = Next();
      if (!e.has_value()) break;
      out.push_back(Describe(*e));
      if (raw != nullptr) raw->push_back(*e);
    }
    return out;
  }

  // Upserts a fresh barrier channel and returns the events before its CHANNEL_UPSERTED event:
  // exactly what happened since the last read (the barrier is swallowed).
  std::vector<std::string> Sync(std::vector<v1::Event>* raw = nullptr) {
    const std::string id = "barrier-" + std::to_string(++barriers_);
    v1::UpsertChannelRequest request;
    request.mutable_channel()->set_id(id);
    request.mutable_channel()->set_default_max(0);  // nobody takes sessions on it
    grpc::Status st = daemon_.UpsertChannel(request);
    EXPECT_TRUE(st.ok()) << "barrier UpsertChannel: " << ToString(st);
    std::vector<std::string> out;
    if (!st.ok()) return out;
    while (true) {
      std::optional<v1::Event> e = Next();
      if (!e.has_value()) break;
      if (e->type() == v1::EVENT_TYPE_CHANNEL_UPSERTED && e->channel_id() == id) break;
      out.push_back(Describe(*e));
      if (raw != nullptr) raw->push_back(*e);
    }
    return out;
  }

  // Reads until an event matching (type, session, agent), returning it; the events skipped are
  // appended to `skipped` as descriptions.
  std::optional<v1::Event> Await(v1::EventType type, const std::string& session = "",
                                 const std::string& agent = "",
                                 std::vector<std::string>* skipped = nullptr,
                                 milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::optional<v1::Event> e = Next(std::chrono::duration_cast<milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!e.has_value()) break;
      if (e->type() == type && (session.empty() || e->session_id() == session) &&
          (agent.empty() || e->agent_id() == agent)) {
        return e;
      }
      if (skipped != nullptr) skipped->push_back(Describe(*e));
    }
    ADD_FAILURE() << "no " << EventTypeName(type) << " session=" << session
                  << " agent=" << agent << " in time";
    return std::nullopt;
  }

  uint64_t last_sequence() const { return last_sequence_; }
  // Every event read so far (including barriers and startup events).
  const std::vector<v1::Event>& all() const { return all_; }
  Stream<v1::StreamEventsResponse>& stream() { return *stream_; }

 private:
  Daemon& daemon_;
  std::unique_ptr<Stream<v1::StreamEventsResponse>> stream_;
  uint64_t last_sequence_ = 0;
  int barriers_ = 0;
  std::vector<v1::Event> all_;
};

// ---------------------------------------------------------------------------------------------
// Desktop: one agent's StreamOffers, opened and past its snapshot.

class Desktop {
 public:
  Desktop(Daemon& daemon, const std::string& agent_id, bool offline_on_disconnect = false)
      : agent_id_(agent_id) {
    stream_ = daemon.StreamOffers(agent_id, offline_on_disconnect);
    std::optional<v1::StreamOffersResponse> first = stream_->Next();
    if (!first.has_value()) {
      std::optional<grpc::Status> st = stream_->status();
      ADD_FAILURE() << "StreamOffers(" << agent_id << "): no snapshot; "
                    << (st.has_value() ? ToString(*st) : "timed out");
      return;
    }
    EXPECT_TRUE(first->has_snapshot()) << "StreamOffers(" << agent_id
                                       << ") must start with a snapshot: " << ShortDebug(*first);
    EXPECT_FALSE(first->has_event()) << "the snapshot carries no event";
    snapshot_ = first->snapshot();
  }

  const v1::AgentSnapshot& snapshot() const { return snapshot_; }
  Stream<v1::StreamOffersResponse>& stream() { return *stream_; }

  // The next offer of `session_id` ("" = any) to this agent.
  std::optional<v1::Offer> AwaitOffer(const std::string& session_id = "",
                                      milliseconds timeout = kWait) {
    std::optional<v1::StreamOffersResponse> r = AwaitMessage(
        *stream_,
        [&](const v1::StreamOffersResponse& m) {
          return m.has_offer() && (session_id.empty() || m.offer().session().id() == session_id);
        },
        agent_id_ + ": offer of session " + session_id, timeout);
    if (!r.has_value()) return std::nullopt;
    EXPECT_TRUE(r->has_event()) << "an offer is caused by an event";
    EXPECT_EQ(r->event().type(), v1::EVENT_TYPE_OFFER_CREATED);
    EXPECT_EQ(r->offer().offer_id(), std::to_string(r->event().sequence()))
        << "offer_id is the decimal sequence of its OFFER_CREATED event";
    EXPECT_EQ(r->offer().agent_id(), agent_id_);
    return r->offer();
  }

  // The next offer_end of `session_id`.
  std::optional<v1::StreamOffersResponse> AwaitOfferEnd(const std::string& session_id,
                                                        milliseconds timeout = kWait) {
    return AwaitMessage(
        *stream_,
        [&](const v1::StreamOffersResponse& m) {
          return m.has_offer_end() && m.offer_end().session_id() == session_id;
        },
        agent_id_ + ": offer_end of session " + session_id, timeout);
  }

  // The next session_update of `session_id` caused by an event of `type`.
  std::optional<v1::StreamOffersResponse> AwaitUpdate(const std::string& session_id,
                                                      v1::EventType type,
                                                      milliseconds timeout = kWait) {
    return AwaitMessage(
        *stream_,
        [&](const v1::StreamOffersResponse& m) {
          return m.has_session_update() && m.session_update().session().id() == session_id &&
                 m.has_event() && m.event().type() == type;
        },
        agent_id_ + ": session_update " + EventTypeName(type) + " of session " + session_id,
        timeout);
  }

  // The next status message (presence change).
  std::optional<v1::AgentStatus> AwaitStatus(v1::Presence presence,
                                             milliseconds timeout = kWait) {
    std::optional<v1::StreamOffersResponse> r = AwaitMessage(
        *stream_,
        [&](const v1::StreamOffersResponse& m) {
          return m.has_status() && m.status().presence() == presence;
        },
        agent_id_ + ": status " + v1::Presence_Name(presence), timeout);
    if (!r.has_value()) return std::nullopt;
    return r->status();
  }

 private:
  std::string agent_id_;
  std::unique_ptr<Stream<v1::StreamOffersResponse>> stream_;
  v1::AgentSnapshot snapshot_;
};

}  // namespace omniroute::testing

#endif  // OMNIROUTE_TESTS_DAEMON_DAEMON_HARNESS_H_
