// Tenants' namespaces inside one router (docs/SECURITY.md, "Tenants").
//
// Queues, engineers, customers and idempotency keys of a tenant other than the default one live
// in the router under ids prefixed with "<tenant>|": tenant "acme"'s queue "repair" is
// "acme|repair" inside, "repair" on acme's wire. The default tenant's ids have no prefix. '|' is
// not allowed in ids on the wire (ValidateWireId), so ids of different tenants can never
// collide, and a client can never name an object outside its own namespace: whatever id it
// sends lands in its tenant's.
//
//   TenantScope acme("acme");
//   acme.MapIn(&request);            // every tenant-scoped id field gets "acme|"
//   ...
//   if (!acme.MapOut(&response)) ... // strips "acme|"; false if an id of another tenant shows
//
// Which fields are tenant-scoped is decided by name, for every message of omniroute.v1
// (ClassifyIdField); a test walks every message of the contract and fails on an id field that
// no rule classifies, so a new field cannot slip through unscoped.

#ifndef OMNIROUTE_DAEMON_TENANCY_H_
#define OMNIROUTE_DAEMON_TENANCY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace omniroute::daemon {

// The separator between a tenant's name and an id inside the router.
inline constexpr char kTenantSeparator = '|';
// The tenant whose ids carry no prefix (every deployment without tenants is all of it).
inline constexpr absl::string_view kDefaultTenant = "default";

// A tenant name: 1..32 of a-z 0-9 -, starting with a letter. INVALID_ARGUMENT naming `field`.
absl::Status ValidateTenantName(absl::string_view field, absl::string_view name);

// What an id field of the contract is.
enum class IdKind {
  kNotAnId,  // not an id field
  kScoped,   // the tenant's (queues, agents, customers, request ids, device ids): prefixed
  kSession,  // a session id: a number shared by all tenants, owned through its queue
  kGlobal,   // shared by every tenant: channels, skills, offers (owned through their session)
};
IdKind ClassifyIdField(const google::protobuf::FieldDescriptor* field);

class TenantScope {
 public:
  // `tenant` empty or "default": the default tenant (no prefix).
  explicit TenantScope(absl::string_view tenant);

  const std::string& tenant() const { return tenant_; }
  // "acme|", or "" for the default tenant.
  const std::string& prefix() const { return prefix_; }
  bool is_default() const { return prefix_.empty(); }

  // The id inside the router for `wire_id` ("" stays "").
  std::string In(absl::string_view wire_id) const;
  // Whether `internal_id` is this tenant's (the default tenant owns the ids without '|').
  bool Owns(absl::string_view internal_id) const;
  // The wire form of an id this tenant owns (Owns() must hold).
  std::string Out(absl::string_view internal_id) const;

  // Every kScoped string field of `message`, recursively: INVALID_ARGUMENT naming the field
  // (its path in the message, "queue.overflow_queue_id") if one holds '|', else each non-empty
  // one prefixed.
  absl::Status MapIn(google::protobuf::Message* message) const;
  // Every kScoped string field, recursively: the prefix stripped. False (the message then in an
  // unspecified state: do not send it) if any non-empty one is not this tenant's.
  bool MapOut(google::protobuf::Message* message) const;
  // Text for people (error messages, audit summaries): every "<prefix>" removed.
  std::string MapOutText(absl::string_view text) const;

 private:
  std::string tenant_;
  std::string prefix_;
};

// An id from the wire: INVALID_ARGUMENT naming `field` if it holds the tenant separator.
absl::Status ValidateWireId(absl::string_view field, absl::string_view id);

}  // namespace omniroute::daemon

#endif  // OMNIROUTE_DAEMON_TENANCY_H_
