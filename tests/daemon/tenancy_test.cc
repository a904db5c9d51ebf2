// Tenants' id namespaces (daemon/tenancy.h): every id field of the contract is classified, and
// requests and responses are mapped in and out of a tenant's namespace.

#include "daemon/tenancy.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/v1/admin_service.pb.h"
#include "omniroute/v1/agent_service.pb.h"
#include "omniroute/v1/config.pb.h"
#include "omniroute/v1/customer_service.pb.h"
#include "omniroute/v1/device_service.pb.h"
#include "omniroute/v1/event_service.pb.h"
#include "omniroute/v1/resources.pb.h"
#include "omniroute/v1/session_service.pb.h"

namespace omniroute::daemon {
namespace {

namespace pb = ::google::protobuf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void CollectIdFields(const pb::Descriptor* message, std::set<std::string>& seen,
                     std::vector<const pb::FieldDescriptor*>& out) {
  if (!seen.insert(message->full_name()).second) return;
  for (int i = 0; i < message->field_count(); ++i) {
    const pb::FieldDescriptor* f = message->field(i);
    if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      CollectIdFields(f->message_type(), seen, out);
    }
    const std::string& n = f->name();
    if (f->type() == pb::FieldDescriptor::TYPE_STRING &&
        (n == "id" || absl::EndsWith(n, "_id") || absl::EndsWith(n, "_ids"))) {
      out.push_back(f);
    }
  }
  for (int i = 0; i < message->nested_type_count(); ++i) {
    CollectIdFields(message->nested_type(i), seen, out);
  }
}

// Every id field of every message of the contract (and of the configuration) is classified.
TEST(Tenancy, EveryIdFieldOfTheContractIsClassified) {
  std::set<std::string> seen;
  std::vector<const pb::FieldDescriptor*> fields;
  for (const pb::FileDescriptor* file :
       {v1::Queue::descriptor()->file(), v1::UpsertQueueRequest::descriptor()->file(),
        v1::CreateSessionRequest::descriptor()->file(),
        v1::SetPresenceRequest::descriptor()->file(), v1::StreamEventsRequest::descriptor()->file(),
        v1::GetCustomerRequest::descriptor()->file(),
        v1::ReportDeviceAlertRequest::descriptor()->file(),
        v1::DaemonConfig::descriptor()->file()}) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      CollectIdFields(file->message_type(i), seen, fields);
    }
  }
  ASSERT_GT(fields.size(), 100u);
  for (const pb::FieldDescriptor* f : fields) {
    EXPECT_NE(ClassifyIdField(f), IdKind::kNotAnId) << f->full_name() << " is not classified";
  }
  // A few by name.
  auto kind = [](const pb::Descriptor* d, const char* field) {
    return ClassifyIdField(d->FindFieldByName(field));
  };
  EXPECT_EQ(kind(v1::Queue::descriptor(), "id"), IdKind::kScoped);
  EXPECT_EQ(kind(v1::Queue::descriptor(), "overflow_queue_id"), IdKind::kScoped);
  EXPECT_EQ(kind(v1::Agent::descriptor(), "queue_ids"), IdKind::kScoped);
  EXPECT_EQ(kind(v1::Session::descriptor(), "id"), IdKind::kSession);
  EXPECT_EQ(kind(v1::RoutingReason::descriptor(), "runner_up_session_id"), IdKind::kSession);
  EXPECT_EQ(kind(v1::Session::descriptor(), "request_id"), IdKind::kScoped);
  EXPECT_EQ(kind(v1::Channel::descriptor(), "id"), IdKind::kGlobal);
  EXPECT_EQ(kind(v1::Requirement::descriptor(), "skill_id"), IdKind::kGlobal);
  EXPECT_EQ(kind(v1::Offer::descriptor(), "offer_id"), IdKind::kGlobal);
  EXPECT_EQ(kind(v1::MergeCustomersRequest::descriptor(), "absorbed_customer_id"), IdKind::kScoped);
  EXPECT_EQ(kind(v1::Queue::descriptor(), "display_name"), IdKind::kNotAnId);
}

TEST(Tenancy, RequestsMapIntoTheTenantsNamespace) {
  TenantScope acme("acme");
  EXPECT_EQ(acme.prefix(), "acme|");
  v1::UpsertQueueRequest r;
  v1::Queue& q = *r.mutable_queue();
  q.set_id("repair");
  q.set_display_name("Repair");
  q.set_overflow_queue_id("backup");
  q.add_agent_ids("a1");
  q.add_requirements()->set_skill_id("repair");
  q.add_channel_limits()->set_channel_id("voice");
  ASSERT_TRUE(acme.MapIn(&r).ok());
  EXPECT_EQ(q.id(), "acme|repair");
  EXPECT_EQ(q.display_name(), "Repair");
  EXPECT_EQ(q.overflow_queue_id(), "acme|backup");
  EXPECT_THAT(q.agent_ids(), ElementsAre("acme|a1"));
  EXPECT_EQ(q.requirements(0).skill_id(), "repair");
  EXPECT_EQ(q.channel_limits(0).channel_id(), "voice");

  v1::CreateSessionRequest c;
  c.set_request_id("req-1");
  c.set_channel_id("wechat");
  c.set_queue_id("repair");
  c.mutable_customer()->set_id("cust-1");
  c.mutable_customer()->add_preferred_agent_ids("a2");
  ASSERT_TRUE(acme.MapIn(&c).ok());
  EXPECT_EQ(c.request_id(), "acme|req-1");
  EXPECT_EQ(c.channel_id(), "wechat");
  EXPECT_EQ(c.queue_id(), "acme|repair");
  EXPECT_EQ(c.customer().id(), "acme|cust-1");
  EXPECT_THAT(c.customer().preferred_agent_ids(), ElementsAre("acme|a2"));

  // Session ids are not prefixed (they are owned through their queue).
  v1::AcceptOfferRequest a;
  a.set_session_id("17");
  a.set_agent_id("a1");
  a.set_offer_id("o-3");
  ASSERT_TRUE(acme.MapIn(&a).ok());
  EXPECT_EQ(a.session_id(), "17");
  EXPECT_EQ(a.agent_id(), "acme|a1");
  EXPECT_EQ(a.offer_id(), "o-3");
}

TEST(Tenancy, TheSeparatorIsRefusedOnTheWireNamingTheField) {
  for (const char* tenant : {"acme", "default"}) {
    TenantScope scope(tenant);
    v1::UpsertQueueRequest r;
    r.mutable_queue()->set_id("repair");
    r.mutable_queue()->add_agent_ids("a1");
    r.mutable_queue()->add_agent_ids("other|a1");
    absl::Status s = scope.MapIn(&r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << tenant;
    EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("queue.agent_ids[1]: "));
  }
}

TEST(Tenancy, ResponsesMapOutAndForeignIdsAreCaught) {
  TenantScope acme("acme");
  v1::Session s;
  s.set_id("17");
  s.set_queue_id("acme|repair");
  s.set_agent_id("acme|a1");
  s.add_offered_agent_ids("acme|a2");
  s.set_channel_id("voice");
  ASSERT_TRUE(acme.MapOut(&s));
  EXPECT_EQ(s.queue_id(), "repair");
  EXPECT_EQ(s.agent_id(), "a1");
  EXPECT_THAT(s.offered_agent_ids(), ElementsAre("a2"));
  EXPECT_EQ(s.id(), "17");
  EXPECT_EQ(s.channel_id(), "voice");

  v1::Session foreign;
  foreign.set_queue_id("acme|repair");
  foreign.add_offered_agent_ids("globex|a9");
  EXPECT_FALSE(acme.MapOut(&foreign));
  v1::Session unprefixed;
  unprefixed.set_queue_id("repair");
  EXPECT_FALSE(acme.MapOut(&unprefixed));

  // The default tenant owns the ids without a separator, and only those.
  TenantScope def("");
  EXPECT_TRUE(def.is_default());
  EXPECT_EQ(def.tenant(), "default");
  v1::Session mine;
  mine.set_queue_id("repair");
  EXPECT_TRUE(def.MapOut(&mine));
  EXPECT_EQ(mine.queue_id(), "repair");
  v1::Session theirs;
  theirs.set_queue_id("acme|repair");
  EXPECT_FALSE(def.MapOut(&theirs));
  EXPECT_TRUE(def.Owns("repair"));
  EXPECT_FALSE(def.Owns("acme|repair"));
  EXPECT_TRUE(acme.Owns("acme|repair"));
  EXPECT_FALSE(acme.Owns("acmex|repair"));
  EXPECT_FALSE(acme.Owns("repair"));
}

TEST(Tenancy, TextLosesThePrefix) {
  TenantScope acme("acme");
  EXPECT_EQ(acme.MapOutText("queue.overflow_queue_id: queue \"acme|backup\" not found"),
            "queue.overflow_queue_id: queue \"backup\" not found");
  EXPECT_EQ(TenantScope("default").MapOutText("a|b"), "a|b");
}

TEST(Tenancy, TenantNames) {
  for (const char* ok : {"acme", "a", "brand-2", "abcdefghijklmnopqrstuvwxyz012345"}) {
    EXPECT_TRUE(ValidateTenantName("t", ok).ok()) << ok;
  }
  for (const char* bad :
       {"", "Acme", "2brand", "a_b", "a|b", "a b", "abcdefghijklmnopqrstuvwxyz0123456"}) {
    absl::Status s = ValidateTenantName("tenants[0].name", bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), HasSubstr("tenants[0].name: "));
  }
}

}  // namespace
}  // namespace omniroute::daemon
