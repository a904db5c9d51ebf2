// Security over the wire, against the real daemon: bearer tokens and their roles on every kind
// of RPC, a desktop acting only for its own engineer, rate limits and streams per client,
// TLS and mutual TLS from PEM files (made here with the openssl command), certificates reloaded
// on SIGHUP while a stream stays open, and the refusal to serve plaintext beyond loopback.

#include <openssl/sha.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/daemon/daemon_harness.h"
#include "tests/daemon/pki.h"

namespace omniroute::testing {
namespace {

using ::testing::HasSubstr;

std::string Sha256Hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

// Tokens of the test's clients (at least 32 characters, as docs/SECURITY.md asks).
const std::string kGatewayToken = "gw-0123456789abcdef0123456789abcdef";
const std::string kDeskToken = "desk-0123456789abcdef0123456789abcdef";
const std::string kSupervisorToken = "sup-0123456789abcdef0123456789abcdef";
const std::string kAdminToken = "adm-0123456789abcdef0123456789abcdef";

std::string Objects() {
  return R"pb(
    queues { id: "repair" }
    agents { id: "a1" queue_ids: "repair" }
    agents { id: "a2" queue_ids: "repair" }
  )pb";
}

std::string Clients(const std::string& extra = "") {
  std::ostringstream out;
  out << "security {\n"
      << "  clients { name: \"gw\" token_sha256: \"" << Sha256Hex(kGatewayToken)
      << "\" roles: ROLE_GATEWAY }\n"
      << "  clients { name: \"desk-a1\" token_sha256: \"" << Sha256Hex(kDeskToken)
      << "\" roles: ROLE_DESKTOP agent_id: \"a1\" }\n"
      << "  clients { name: \"sup\" token_sha256: \"" << Sha256Hex(kSupervisorToken)
      << "\" roles: ROLE_SUPERVISOR }\n"
      << "  clients { name: \"adm\" token_sha256: \"" << Sha256Hex(kAdminToken)
      << "\" roles: ROLE_ADMIN }\n"
      << extra << "}\n";
  return out.str();
}

// A unary call with a bearer token (none when empty).
template <class Stub, class Req, class Resp>
grpc::Status Call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& request, const std::string& token, Resp* response = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kWait);
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  Resp ignored;
  return (stub.*method)(&context, request, response != nullptr ? response : &ignored);
}

v1::CreateSessionRequest NewSession(const std::string& request_id) {
  v1::CreateSessionRequest r;
  r.set_request_id(request_id);
  r.set_channel_id("webchat");
  r.set_queue_id("repair");
  return r;
}

v1::SetPresenceRequest Presence(const std::string& agent, v1::Presence presence) {
  v1::SetPresenceRequest r;
  r.set_agent_id(agent);
  r.set_presence(presence);
  return r;
}

using Admin = v1::AdminService::Stub;
using Sessions = v1::SessionService::Stub;
using Agents = v1::AgentService::Stub;

TEST(Security, TokensMapToRolesAndEachRpcChecksThem) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Objects() + Clients()));
  Sessions& sessions = d.sessions();
  Admin& admin = d.admin();
  Agents& agents = d.agents();

  // No credentials, a wrong token, a malformed header: UNAUTHENTICATED, nothing created.
  EXPECT_THAT(Call(sessions, &Sessions::CreateSession, NewSession("r0"), ""),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED, HasSubstr("authorization: Bearer")));
  EXPECT_THAT(Call(sessions, &Sessions::CreateSession, NewSession("r0"), kGatewayToken + "x"),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials"));
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Basic " + kGatewayToken);
    v1::CreateSessionResponse resp;
    EXPECT_THAT(sessions.CreateSession(&context, NewSession("r0"), &resp),
                StatusIs(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials"));
  }
  v1::ListSessionsRequest list;
  v1::ListSessionsResponse listed;
  ASSERT_THAT(Call(sessions, &Sessions::ListSessions, list, kSupervisorToken, &listed), IsOk());
  EXPECT_EQ(listed.sessions_size(), 0);

  // The gateway: sessions yes, configuration and the event stream no.
  v1::CreateSessionResponse created;
  ASSERT_THAT(Call(sessions, &Sessions::CreateSession, NewSession("r1"), kGatewayToken, &created),
              IsOk());
  v1::UpsertQueueRequest uq;
  uq.mutable_queue()->set_id("other");
  EXPECT_THAT(Call(admin, &Admin::UpsertQueue, uq, kGatewayToken),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED,
                       HasSubstr("may not call omniroute.v1.AdminService/UpsertQueue")));
  EXPECT_THAT(
      Call(agents, &Agents::SetPresence, Presence("a1", v1::PRESENCE_AVAILABLE), kGatewayToken),
      StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  {
    Stream<v1::StreamEventsResponse> events([&](grpc::ClientContext* c) {
      c->AddMetadata("authorization", "Bearer " + kGatewayToken);
      return d.events().StreamEvents(c, v1::StreamEventsRequest());
    });
    std::optional<grpc::Status> end = events.AwaitEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_THAT(*end, StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  }

  // The desktop of a1: its own presence and offers, nobody else's.
  v1::StreamOffersRequest own;
  own.set_agent_id("a1");
  Stream<v1::StreamOffersResponse> offers([&](grpc::ClientContext* c) {
    c->AddMetadata("authorization", "Bearer " + kDeskToken);
    return d.agents().StreamOffers(c, own);
  });
  ASSERT_TRUE(offers.Next().has_value());  // its snapshot: the stream is up
  EXPECT_THAT(
      Call(agents, &Agents::SetPresence, Presence("a1", v1::PRESENCE_AVAILABLE), kDeskToken),
      IsOk());
  EXPECT_THAT(
      Call(agents, &Agents::SetPresence, Presence("a2", v1::PRESENCE_AVAILABLE), kDeskToken),
      StatusIs(grpc::StatusCode::PERMISSION_DENIED,
               "agent_id: client \"desk-a1\" acts for agent \"a1\" only"));
  EXPECT_THAT(Call(sessions, &Sessions::CreateSession, NewSession("r2"), kDeskToken),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  {
    v1::StreamOffersRequest other;
    other.set_agent_id("a2");
    other.set_offline_on_disconnect(true);
    Stream<v1::StreamOffersResponse> refused([&](grpc::ClientContext* c) {
      c->AddMetadata("authorization", "Bearer " + kDeskToken);
      return d.agents().StreamOffers(c, other);
    });
    std::optional<grpc::Status> end = refused.AwaitEnd();
    ASSERT_TRUE(end.has_value());
    EXPECT_THAT(*end, StatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("agent_id")));
  }
  // The session created above is offered to a1, whose desktop accepts it and completes it.
  std::optional<v1::StreamOffersResponse> offer = AwaitMessage(
      offers, [](const v1::StreamOffersResponse& r) { return r.has_offer(); }, "an offer to a1");
  ASSERT_TRUE(offer.has_value());
  v1::AcceptOfferRequest accept;
  accept.set_session_id(created.session().id());
  accept.set_agent_id("a1");
  accept.set_offer_id(offer->offer().offer_id());
  v1::AcceptOfferRequest accept_as_a2 = accept;
  accept_as_a2.set_agent_id("a2");
  EXPECT_THAT(Call(agents, &Agents::AcceptOffer, accept_as_a2, kDeskToken),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  ASSERT_THAT(Call(agents, &Agents::AcceptOffer, accept, kDeskToken), IsOk());
  v1::TransferSessionRequest transfer;
  transfer.set_session_id(created.session().id());
  transfer.set_target_queue_id("repair");
  EXPECT_THAT(Call(sessions, &Sessions::TransferSession, transfer, kDeskToken),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("from_agent_id")));
  v1::CompleteSessionRequest complete;
  complete.set_session_id(created.session().id());
  complete.set_agent_id("a1");
  EXPECT_THAT(Call(sessions, &Sessions::CompleteSession, complete, kDeskToken), IsOk());

  // The supervisor reads and changes presence, but does not configure.
  EXPECT_THAT(
      Call(agents, &Agents::SetPresence, Presence("a2", v1::PRESENCE_AVAILABLE), kSupervisorToken),
      IsOk());
  v1::GetQueueStatsRequest stats;
  stats.set_queue_id("repair");
  EXPECT_THAT(Call(admin, &Admin::GetQueueStats, stats, kSupervisorToken), IsOk());
  EXPECT_THAT(Call(admin, &Admin::UpsertQueue, uq, kSupervisorToken),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_THAT(Call(sessions, &Sessions::CreateSession, NewSession("r3"), kSupervisorToken),
              StatusIs(grpc::StatusCode::PERMISSION_DENIED));

  // The admin configures; the refused calls above created nothing.
  EXPECT_THAT(Call(admin, &Admin::UpsertQueue, uq, kAdminToken), IsOk());
  ASSERT_THAT(Call(sessions, &Sessions::ListSessions, list, kSupervisorToken, &listed), IsOk());
  EXPECT_EQ(listed.sessions_size(), 1);
  // Health checks need no token (load balancers).
  int serving = -1;
  EXPECT_THAT(d.HealthCheck("", &serving), IsOk());
  // Neither a token nor its hash is ever logged.
  EXPECT_THAT(d.Stderr(), ::testing::Not(HasSubstr(kDeskToken)));
  EXPECT_THAT(d.Stderr(), ::testing::Not(HasSubstr(Sha256Hex(kDeskToken))));
}

TEST(Security, RateLimitsAndStreamsArePerClient) {
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(
      d.Start(Objects() + Clients(R"pb(
                rate_limits { role: ROLE_GATEWAY requests_per_second: 0.01 burst: 3 }
                max_streams_per_client: 2
              )pb")));
  Sessions& sessions = d.sessions();
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(Call(sessions, &Sessions::CreateSession, NewSession("b" + std::to_string(i)),
                     kGatewayToken),
                IsOk());
  }
  EXPECT_THAT(Call(sessions, &Sessions::CreateSession, NewSession("b3"), kGatewayToken),
              StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED, HasSubstr("rate limit")));
  // Another client is not held back, and the refused request created nothing.
  v1::ListSessionsRequest list;
  v1::ListSessionsResponse listed;
  ASSERT_THAT(Call(sessions, &Sessions::ListSessions, list, kSupervisorToken, &listed), IsOk());
  EXPECT_EQ(listed.sessions_size(), 3);

  // Two streams per client: a third is refused, and allowed again once one ends.
  auto open = [&] {
    return std::make_unique<Stream<v1::StreamEventsResponse>>([&](grpc::ClientContext* c) {
      c->AddMetadata("authorization", "Bearer " + kSupervisorToken);
      return d.events().StreamEvents(c, v1::StreamEventsRequest());
    });
  };
  auto first = open();
  auto second = open();
  auto third = open();
  std::optional<grpc::Status> end = third->AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_THAT(*end, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             HasSubstr("security.max_streams_per_client")));
  EXPECT_FALSE(first->status().has_value());
  EXPECT_FALSE(second->status().has_value());
  // The admin's streams are its own.
  Stream<v1::StreamEventsResponse> admin_stream([&](grpc::ClientContext* c) {
    c->AddMetadata("authorization", "Bearer " + kAdminToken);
    return d.events().StreamEvents(c, v1::StreamEventsRequest());
  });
  first.reset();  // cancels: the daemon releases it when the call is done
  bool reopened = false;
  for (int attempt = 0; attempt < 100 && !reopened; ++attempt) {
    auto again = open();
    std::optional<grpc::Status> s = again->AwaitEnd(milliseconds(200));
    reopened = !s.has_value();
  }
  EXPECT_TRUE(reopened);
  EXPECT_FALSE(admin_stream.status().has_value());
}

// ---------------------------------------------------------------------------------------------
// TLS

// A TLS channel to the daemon trusting `ca_pem`, presenting a client certificate if given.
std::shared_ptr<grpc::Channel> TlsChannel(const std::string& address, const std::string& ca_pem,
                                          const std::string& cert_pem = "",
                                          const std::string& key_pem = "") {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  options.pem_cert_chain = cert_pem;
  options.pem_private_key = key_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  // A fresh connection each time (no subchannel shared with an earlier channel).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

grpc::Status ListQueues(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                        milliseconds deadline = kWait) {
  auto stub = v1::AdminService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  v1::ListQueuesResponse resp;
  return stub->ListQueues(&context, v1::ListQueuesRequest(), &resp);
}

TEST(Security, TlsMutualTlsAndReloadOnSighupKeepingStreams) {
  Pki pki;
  ASSERT_FALSE(pki.dir().empty());
  ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca1"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCa("ca2"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "server1", "localhost"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca2", "server2", "localhost"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca1", "wallboard", "wallboard.example"));
  ASSERT_NO_FATAL_FAILURE(pki.MakeCert("ca2", "intruder", "wallboard.example"));
  // The files the daemon is configured with: server1 now, server2 after the reload.
  Shell("cp " + pki.Path("server1.pem") + " " + pki.Path("live.pem") + " && cp " +
        pki.Path("server1.key") + " " + pki.Path("live.key"));
  const std::string tls = "  grpc_tls { cert_file: \"" + pki.Path("live.pem") + "\" key_file: \"" +
                          pki.Path("live.key") + "\" client_ca_file: \"" + pki.Path("ca1.pem") +
                          "\" }\n" +
                          "  clients { name: \"wb\" certificate_name: \"wallboard.example\" "
                          "roles: ROLE_SUPERVISOR }\n";
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(d.Start(Objects() + Clients(tls)));
  const std::string ca1 = ReadWholeFile(pki.Path("ca1.pem"));
  const std::string ca2 = ReadWholeFile(pki.Path("ca2.pem"));

  // Plaintext to the TLS port fails; TLS trusting ca1 works with a token.
  EXPECT_THAT(ListQueues(d.channel(), kAdminToken, milliseconds(2000)),
              StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_THAT(ListQueues(TlsChannel(d.address(), ca1), kAdminToken), IsOk());
  EXPECT_THAT(ListQueues(TlsChannel(d.address(), ca1), ""),
              StatusIs(grpc::StatusCode::UNAUTHENTICATED));
  // Mutual TLS: the certificate alone authenticates the client "wb" (a supervisor)...
  auto wb = TlsChannel(d.address(), ca1, ReadWholeFile(pki.Path("wallboard.pem")),
                       ReadWholeFile(pki.Path("wallboard.key")));
  EXPECT_THAT(ListQueues(wb, ""), IsOk());
  {
    auto stub = v1::AdminService::NewStub(wb);
    grpc::ClientContext context;
    v1::UpsertQueueRequest uq;
    uq.mutable_queue()->set_id("x");
    v1::UpsertQueueResponse resp;
    EXPECT_THAT(stub->UpsertQueue(&context, uq, &resp),
                StatusIs(grpc::StatusCode::PERMISSION_DENIED, HasSubstr("\"wb\"")));
  }
  // ... and a certificate with the same name from another CA is refused at the handshake.
  EXPECT_THAT(ListQueues(TlsChannel(d.address(), ca1, ReadWholeFile(pki.Path("intruder.pem")),
                                    ReadWholeFile(pki.Path("intruder.key"))),
                         "", milliseconds(3000)),
              StatusIs(grpc::StatusCode::UNAVAILABLE));

  // A stream opened before the reload.
  auto stream_channel = TlsChannel(d.address(), ca1);
  auto events_stub = v1::EventService::NewStub(stream_channel);
  Stream<v1::StreamEventsResponse> events([&](grpc::ClientContext* c) {
    c->AddMetadata("authorization", "Bearer " + kSupervisorToken);
    return events_stub->StreamEvents(c, v1::StreamEventsRequest());
  });
  {
    auto gw = v1::SessionService::NewStub(TlsChannel(d.address(), ca1));
    ASSERT_THAT(Call(*gw, &Sessions::CreateSession, NewSession("before-reload"), kGatewayToken),
                IsOk());
  }
  ASSERT_TRUE(AwaitMessage(
                  events,
                  [](const v1::StreamEventsResponse& r) {
                    return r.event().type() == v1::EVENT_TYPE_SESSION_CREATED;
                  },
                  "the session created before the reload")
                  .has_value());

  // A key that is not the certificate's, and SIGHUP: refused, logged, the certificate in
  // force stays.
  Shell("cp " + pki.Path("server2.key") + " " + pki.Path("live.key"));
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  bool logged = false;
  for (int i = 0; i < 100 && !logged; ++i) {
    logged = d.Stderr().find("TLS reload failed") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(logged) << d.Stderr();
  EXPECT_THAT(d.Stderr(), HasSubstr("security.grpc_tls.key_file"));
  EXPECT_THAT(d.Stderr(), HasSubstr("is not the key of the certificate"));
  std::this_thread::sleep_for(milliseconds(1500));  // gRPC's file watcher looks every second
  EXPECT_THAT(ListQueues(TlsChannel(d.address(), ca1), kAdminToken), IsOk());

  // The new certificate (signed by ca2) and SIGHUP: new connections get it within seconds.
  Shell("cp " + pki.Path("server2.pem") + " " + pki.Path("live.pem") + " && cp " +
        pki.Path("server2.key") + " " + pki.Path("live.key"));
  ASSERT_EQ(::kill(d.pid(), SIGHUP), 0);
  bool switched = false;
  for (int i = 0; i < 100 && !switched; ++i) {
    switched = ListQueues(TlsChannel(d.address(), ca2), kAdminToken, milliseconds(1000)).ok();
    if (!switched) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(switched) << d.Stderr();
  EXPECT_THAT(d.Stderr(), HasSubstr("TLS certificate reloaded"));
  EXPECT_THAT(ListQueues(TlsChannel(d.address(), ca1), kAdminToken, milliseconds(3000)),
              StatusIs(grpc::StatusCode::UNAVAILABLE));

  // The stream opened before the reload still delivers events.
  {
    auto gw = v1::SessionService::NewStub(TlsChannel(d.address(), ca2));
    ASSERT_THAT(Call(*gw, &Sessions::CreateSession, NewSession("after-reload"), kGatewayToken),
                IsOk());
  }
  std::optional<v1::StreamEventsResponse> event = AwaitMessage(
      events,
      [](const v1::StreamEventsResponse& r) {
        return r.event().type() == v1::EVENT_TYPE_SESSION_CREATED && r.event().session_id() != "";
      },
      "the session created after the reload, on the stream opened before it");
  EXPECT_TRUE(event.has_value());
  EXPECT_FALSE(events.status().has_value());
}

// ---------------------------------------------------------------------------------------------
// Startup refusals and --hash_token

// Runs omnirouted with `args`; its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> RunDaemon(const std::string& args, const std::string& stdin_text = "") {
  const std::string command =
      "printf '%s' '" + stdin_text + "' | " + OMNIROUTED_PATH + " " + args + " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(Security, PlaintextBeyondLoopbackNeedsConsent) {
  auto [status, out] = RunDaemon("--in_memory --http=off --listen=0.0.0.0:0");
  EXPECT_EQ(status, 2) << out;
  EXPECT_THAT(out, HasSubstr("listen_address"));
  EXPECT_THAT(out, HasSubstr("security.allow_insecure"));
  std::tie(status, out) = RunDaemon("--in_memory --listen=127.0.0.1:0 --http=0.0.0.0:0");
  EXPECT_EQ(status, 2) << out;
  EXPECT_THAT(out, HasSubstr("http_address"));
}

TEST(Security, HashTokenPrintsTheDigestTheConfigurationHolds) {
  auto [status, out] = RunDaemon("--hash_token", kGatewayToken);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, Sha256Hex(kGatewayToken) + "\n");
  std::tie(status, out) = RunDaemon("--hash_token", "");
  EXPECT_EQ(status, 2) << out;
}

}  // namespace
}  // namespace omniroute::testing
