// Invariants of the public contract (package omniroute.v1), checked on the descriptors the
// generated code carries: the conventions of proto/omniroute/v1/resources.proto hold in every
// file, so a change that breaks one fails here before it reaches a client.

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "omniroute/v1/admin_service.grpc.pb.h"
#include "omniroute/v1/agent_service.grpc.pb.h"
#include "omniroute/v1/config.pb.h"
#include "omniroute/v1/event_service.grpc.pb.h"
#include "omniroute/v1/resources.pb.h"
#include "omniroute/v1/session_service.grpc.pb.h"

namespace omniroute::v1 {
namespace {

namespace pb = google::protobuf;

// The contract's files, reached through one generated symbol of each so that every file is
// linked in and registered in the generated pool.
std::vector<const pb::FileDescriptor*> ContractFiles() {
  return {
      Session::descriptor()->file(),
      UpsertQueueRequest::descriptor()->file(),
      CreateSessionRequest::descriptor()->file(),
      SetPresenceRequest::descriptor()->file(),
      StreamEventsRequest::descriptor()->file(),
      DaemonConfig::descriptor()->file(),
  };
}

// "SessionState" -> "SESSION_STATE_".
std::string EnumValuePrefix(const std::string& enum_name) {
  std::string out;
  for (size_t i = 0; i < enum_name.size(); ++i) {
    const char c = enum_name[i];
    if (i > 0 && c >= 'A' && c <= 'Z') out += '_';
    out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  return out + "_";
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsLowerSnake(const std::string& s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

void CheckEnum(const pb::EnumDescriptor* e) {
  SCOPED_TRACE(e->full_name());
  ASSERT_GT(e->value_count(), 0);
  const std::string prefix = EnumValuePrefix(e->name());
  const pb::EnumValueDescriptor* zero = e->FindValueByNumber(0);
  ASSERT_NE(zero, nullptr) << "no value 0";
  EXPECT_EQ(zero->name(), prefix + "UNSPECIFIED");
  EXPECT_EQ(e->value(0)->number(), 0) << "value 0 must come first";
  for (int i = 0; i < e->value_count(); ++i) {
    EXPECT_EQ(e->value(i)->name().rfind(prefix, 0), 0u)
        << e->value(i)->name() << " lacks the prefix " << prefix;
  }
}

void CheckMessage(const pb::Descriptor* m, std::vector<const pb::Descriptor*>* all) {
  all->push_back(m);
  for (int i = 0; i < m->enum_type_count(); ++i) CheckEnum(m->enum_type(i));
  for (int i = 0; i < m->nested_type_count(); ++i) CheckMessage(m->nested_type(i), all);
}

std::vector<const pb::Descriptor*> AllMessages() {
  std::vector<const pb::Descriptor*> all;
  for (const pb::FileDescriptor* f : ContractFiles()) {
    for (int i = 0; i < f->message_type_count(); ++i) CheckMessage(f->message_type(i), &all);
  }
  return all;
}

TEST(Contract, EveryFileIsProto3InPackageOmnirouteV1) {
  std::set<std::string> names;
  for (const pb::FileDescriptor* f : ContractFiles()) {
    SCOPED_TRACE(f->name());
    EXPECT_EQ(f->package(), "omniroute.v1");
    EXPECT_EQ(f->syntax(), pb::FileDescriptor::SYNTAX_PROTO3);
    EXPECT_EQ(f->name().rfind("omniroute/v1/", 0), 0u);
    names.insert(f->name());
  }
  EXPECT_EQ(names, (std::set<std::string>{
                       "omniroute/v1/admin_service.proto", "omniroute/v1/agent_service.proto",
                       "omniroute/v1/config.proto", "omniroute/v1/event_service.proto",
                       "omniroute/v1/resources.proto", "omniroute/v1/session_service.proto"}));
}

TEST(Contract, EveryEnumStartsWithUnspecifiedAndPrefixesItsValues) {
  for (const pb::FileDescriptor* f : ContractFiles()) {
    for (int i = 0; i < f->enum_type_count(); ++i) CheckEnum(f->enum_type(i));
  }
  AllMessages();  // checks nested enums
}

TEST(Contract, EveryMethodHasItsOwnRequestAndResponse) {
  const std::set<std::string> server_streams = {"WatchSession", "StreamOffers", "StreamEvents"};
  std::set<std::string> services;
  std::set<std::string> used_as_io;
  for (const pb::FileDescriptor* f : ContractFiles()) {
    for (int s = 0; s < f->service_count(); ++s) {
      const pb::ServiceDescriptor* service = f->service(s);
      services.insert(service->name());
      EXPECT_TRUE(EndsWith(service->name(), "Service")) << service->full_name();
      for (int i = 0; i < service->method_count(); ++i) {
        const pb::MethodDescriptor* m = service->method(i);
        SCOPED_TRACE(m->full_name());
        EXPECT_EQ(m->input_type()->full_name(), "omniroute.v1." + m->name() + "Request");
        EXPECT_EQ(m->output_type()->full_name(), "omniroute.v1." + m->name() + "Response");
        EXPECT_TRUE(used_as_io.insert(m->input_type()->full_name()).second) << "reused";
        EXPECT_TRUE(used_as_io.insert(m->output_type()->full_name()).second) << "reused";
        EXPECT_FALSE(m->client_streaming());
        EXPECT_EQ(m->server_streaming(), server_streams.count(m->name()) == 1);
      }
    }
  }
  EXPECT_EQ(services, (std::set<std::string>{"AdminService", "SessionService", "AgentService",
                                             "EventService"}));
}

TEST(Contract, TheIssueMethodsExist) {
  const std::vector<std::pair<const pb::ServiceDescriptor*, std::vector<std::string>>> want = {
      {UpsertQueueRequest::descriptor()->file()->FindServiceByName("AdminService"),
       {"UpsertQueue", "DeleteQueue", "GetQueue", "ListQueues", "UpsertAgent", "DeleteAgent",
        "GetAgent", "ListAgents", "GetQueueStats", "GetAgentStats", "UpsertChannel",
        "ListChannels"}},
      {CreateSessionRequest::descriptor()->file()->FindServiceByName("SessionService"),
       {"CreateSession", "GetSession", "ListSessions", "CancelSession", "EscalateSession",
        "TransferSession", "CompleteSession", "RequestCallback", "WatchSession"}},
      {SetPresenceRequest::descriptor()->file()->FindServiceByName("AgentService"),
       {"SetPresence", "StreamOffers", "AcceptOffer", "RejectOffer", "ClaimOffer", "EndWrapUp"}},
      {StreamEventsRequest::descriptor()->file()->FindServiceByName("EventService"), {"StreamEvents"}},
  };
  for (const auto& [service, methods] : want) {
    ASSERT_NE(service, nullptr);
    for (const std::string& name : methods) {
      EXPECT_NE(service->FindMethodByName(name), nullptr) << service->name() << "." << name;
    }
  }
}

TEST(Contract, ListMethodsPage) {
  for (const pb::FileDescriptor* f : ContractFiles()) {
    for (int s = 0; s < f->service_count(); ++s) {
      for (int i = 0; i < f->service(s)->method_count(); ++i) {
        const pb::MethodDescriptor* m = f->service(s)->method(i);
        if (m->name().rfind("List", 0) != 0) continue;
        SCOPED_TRACE(m->full_name());
        const pb::FieldDescriptor* size = m->input_type()->FindFieldByName("page_size");
        const pb::FieldDescriptor* token = m->input_type()->FindFieldByName("page_token");
        const pb::FieldDescriptor* next = m->output_type()->FindFieldByName("next_page_token");
        ASSERT_NE(size, nullptr);
        ASSERT_NE(token, nullptr);
        ASSERT_NE(next, nullptr);
        EXPECT_EQ(size->type(), pb::FieldDescriptor::TYPE_INT32);
        EXPECT_EQ(token->type(), pb::FieldDescriptor::TYPE_STRING);
        EXPECT_EQ(next->type(), pb::FieldDescriptor::TYPE_STRING);
      }
    }
  }
}

TEST(Contract, FieldNamingTimesDurationsAndIds) {
  for (const pb::Descriptor* m : AllMessages()) {
    for (int i = 0; i < m->field_count(); ++i) {
      const pb::FieldDescriptor* f = m->field(i);
      SCOPED_TRACE(f->full_name());
      EXPECT_TRUE(IsLowerSnake(f->name()));
      // Times are Timestamps named *_time, and every *_time is a Timestamp.
      const bool is_timestamp = f->message_type() != nullptr &&
                                f->message_type()->full_name() == "google.protobuf.Timestamp";
      EXPECT_EQ(is_timestamp, EndsWith(f->name(), "_time"));
      // Spans are Durations, never integers with a unit in the name.
      for (const char* unit : {"_ms", "_us", "_micros", "_millis", "_seconds", "_secs"}) {
        EXPECT_FALSE(EndsWith(f->name(), unit)) << "use google.protobuf.Duration";
      }
      // Ids are strings.
      if (f->name() == "id" || EndsWith(f->name(), "_id") || EndsWith(f->name(), "_ids")) {
        EXPECT_EQ(f->type(), pb::FieldDescriptor::TYPE_STRING);
        EXPECT_EQ(f->is_repeated(), EndsWith(f->name(), "_ids"));
      }
    }
  }
}

TEST(Contract, CreateSessionIsIdempotentOnARequestId) {
  const pb::FieldDescriptor* f = CreateSessionRequest::descriptor()->FindFieldByName("request_id");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type(), pb::FieldDescriptor::TYPE_STRING);
}

TEST(Contract, EngineEnumNumbersAreKept) {
  // The daemon converts engine enums by number: these must match engine/include/omniroute/.
  EXPECT_EQ(SESSION_STATE_BOT, 1);
  EXPECT_EQ(SESSION_STATE_OVERFLOWED, 10);
  EXPECT_EQ(SESSION_STATE_SCHEDULED, 11);
  EXPECT_EQ(PRESENCE_WRAP_UP, 4);
  EXPECT_EQ(AGENT_TIER_MASTER, 5);
  EXPECT_EQ(ROUTING_STAGE_QUEUE, 4);
  EXPECT_EQ(RELAX_ACTION_ANY_AGENT, 3);
  EXPECT_EQ(DELIVERY_MODE_GRAB, 2);
  EXPECT_EQ(EVENT_TYPE_CHANNEL_UPSERTED, 1);
  EXPECT_EQ(EVENT_TYPE_SESSION_CANCELLED, 23);
  EXPECT_EQ(EVENT_TYPE_AGENT_RANK_CHANGED, 24);
  EXPECT_EQ(EVENT_TYPE_SESSION_WINDOW_OPENED, 25);
  EXPECT_EQ(EVENT_TYPE_CALLBACK_REQUESTED, 26);
  EXPECT_EQ(DECIDER_SESSION_ORDER, 9);
  EXPECT_EQ(EventType_descriptor()->value_count(), 27);
  EXPECT_EQ(SessionState_descriptor()->value_count(), 12);
}

// Fields added after the first release (customer rules, agent rank events, appointments,
// callbacks): pinned to their numbers and types, so that a renumbering, which would break
// every client built before it, fails here.
TEST(Contract, AddedFieldsKeepTheirNumbers) {
  struct Want {
    const pb::Descriptor* message;
    const char* field;
    int number;
    pb::FieldDescriptor::Type type;
    bool repeated;
  };
  using F = pb::FieldDescriptor;
  const Want want[] = {
      {TagRule::descriptor(), "name", 4, F::TYPE_STRING, false},
      {TagRule::descriptor(), "min_vip_level", 5, F::TYPE_INT32, false},
      {TagRule::descriptor(), "language", 6, F::TYPE_STRING, false},
      {TagRule::descriptor(), "min_tier", 7, F::TYPE_ENUM, false},
      {Queue::descriptor(), "appointment_priority", 24, F::TYPE_INT32, false},
      {Appointment::descriptor(), "start_time", 1, F::TYPE_MESSAGE, false},
      {Appointment::descriptor(), "end_time", 2, F::TYPE_MESSAGE, false},
      {CustomerHandle::descriptor(), "kind", 1, F::TYPE_STRING, false},
      {CustomerHandle::descriptor(), "value", 2, F::TYPE_STRING, false},
      {Session::descriptor(), "appointment", 22, F::TYPE_MESSAGE, false},
      {Session::descriptor(), "callback_number", 23, F::TYPE_STRING, false},
      {Session::descriptor(), "min_tier", 24, F::TYPE_ENUM, false},
      {Session::descriptor(), "rules_applied", 25, F::TYPE_STRING, true},
      {Session::descriptor(), "assign_time", 26, F::TYPE_MESSAGE, false},
      {RoutingReason::descriptor(), "rules", 11, F::TYPE_STRING, true},
      {Event::descriptor(), "tier", 14, F::TYPE_ENUM, false},
      {Event::descriptor(), "previous_tier", 15, F::TYPE_ENUM, false},
      {Event::descriptor(), "score", 16, F::TYPE_INT64, false},
      {Offer::descriptor(), "outbound_callback", 9, F::TYPE_BOOL, false},
      {Offer::descriptor(), "callback_number", 10, F::TYPE_STRING, false},
      {QueueStats::descriptor(), "appointments_scheduled", 23, F::TYPE_INT32, false},
      {QueueStats::descriptor(), "appointments_served_in_window", 24, F::TYPE_INT64, false},
      {QueueStats::descriptor(), "appointments_served_late", 25, F::TYPE_INT64, false},
      {QueueStats::descriptor(), "callbacks_requested", 26, F::TYPE_INT64, false},
      {QueueStats::descriptor(), "callbacks_waiting", 27, F::TYPE_INT32, false},
      {CreateSessionRequest::descriptor(), "appointment", 10, F::TYPE_MESSAGE, false},
      {CreateSessionRequest::descriptor(), "customer_handle", 11, F::TYPE_MESSAGE, false},
      {RequestCallbackRequest::descriptor(), "session_id", 1, F::TYPE_STRING, false},
      {RequestCallbackRequest::descriptor(), "callback_number", 2, F::TYPE_STRING, false},
      {RequestCallbackResponse::descriptor(), "session", 1, F::TYPE_MESSAGE, false},
  };
  for (const Want& w : want) {
    SCOPED_TRACE(w.message->full_name() + "." + w.field);
    const pb::FieldDescriptor* f = w.message->FindFieldByName(w.field);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->number(), w.number);
    EXPECT_EQ(f->type(), w.type);
    EXPECT_EQ(f->is_repeated(), w.repeated);
  }
  // `appointment_priority` has presence, like the other optional numbers of a Queue: unset
  // means the default (800), an explicit 0 means 0.
  EXPECT_TRUE(Queue::descriptor()->FindFieldByName("appointment_priority")->has_presence());
  EXPECT_EQ(TagRule::descriptor()->FindFieldByName("min_tier")->enum_type(),
            AgentTier_descriptor());
  EXPECT_EQ(Event::descriptor()->FindFieldByName("previous_tier")->enum_type(),
            AgentTier_descriptor());
}

TEST(Contract, ExampleDaemonConfigParses) {
  std::ifstream in(OMNIROUTE_EXAMPLE_CONFIG);
  ASSERT_TRUE(in) << OMNIROUTE_EXAMPLE_CONFIG;
  std::stringstream text;
  text << in.rdbuf();
  DaemonConfig config;
  ASSERT_TRUE(pb::TextFormat::ParseFromString(text.str(), &config));
  EXPECT_EQ(config.listen_address(), "127.0.0.1:7400");
  EXPECT_EQ(config.limits().max_open_streams(), 1024);
  ASSERT_EQ(config.queues_size(), 4);
  const Queue& repair = config.queues(1);
  EXPECT_EQ(repair.id(), "repair");
  ASSERT_EQ(repair.relaxation_steps_size(), 2);
  EXPECT_EQ(repair.relaxation_steps(0).after().seconds(), 30);
  EXPECT_EQ(repair.relaxation_steps(1).action(), RELAX_ACTION_ANY_AGENT);
  EXPECT_EQ(repair.overflow_queue_id(), "repair.backup");
  EXPECT_FALSE(repair.has_grab_fanout());  // unset: the engine default applies
  EXPECT_EQ(config.queues(3).delivery_mode(), DELIVERY_MODE_GRAB);
  ASSERT_EQ(config.agents_size(), 2);
  EXPECT_EQ(config.agents(0).tier(), AGENT_TIER_ELITE);
  EXPECT_EQ(config.agents(0).channels(0).max(), 1);
  EXPECT_FALSE(config.agents(0).channels(0).has_cost());
}

TEST(Contract, UnknownConfigFieldsAreRejected) {
  DaemonConfig config;
  pb::TextFormat::Parser parser;
  // Keep the parser quiet: the failure is the expected outcome.
  class Quiet : public pb::io::ErrorCollector {
   public:
    void AddError(int, pb::io::ColumnNumber, const std::string&) override {}
  } quiet;
  parser.RecordErrorsTo(&quiet);
  EXPECT_FALSE(parser.ParseFromString("listen_adress: \"x\"", &config));
  EXPECT_TRUE(parser.ParseFromString("", &config));
  EXPECT_EQ(config.listen_address(), "");  // empty: the daemon's default applies
}

TEST(Contract, SessionRoundTripsThroughTheWire) {
  Session s;
  s.set_id("17");
  s.set_channel_id("wechat");
  s.set_queue_id("repair");
  s.mutable_customer()->set_vip_level(2);
  s.mutable_customer()->add_preferred_agent_ids("eng-1042");
  s.set_state(SESSION_STATE_OFFERED);
  s.mutable_create_time()->set_seconds(1'700'000'000);
  auto* a = s.add_attributes();
  a->set_key("device");
  a->set_value("washer");
  const std::string wire = s.SerializeAsString();
  Session back;
  ASSERT_TRUE(back.ParseFromString(wire));
  EXPECT_EQ(back.SerializeAsString(), wire);
  EXPECT_EQ(back.customer().preferred_agent_ids(0), "eng-1042");
  EXPECT_EQ(back.state(), SESSION_STATE_OFFERED);
}

}  // namespace
}  // namespace omniroute::v1
