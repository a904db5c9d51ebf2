// The plan of `omniroutectl apply`: what applying a configuration file would change in the
// daemon, object by object and field by field.
//
//   absl::StatusOr<v1::DaemonConfig> file = ReadApplyFile("centre.textproto");
//   absl::StatusOr<ApplyPlan> plan = BuildPlan(*file, channels, queues, agents);
//   std::cout << RenderPlan(*plan, /*dry_run=*/true);
//   // + queue returns
//   // ~ queue repair: offer_timeout: 15s -> 20s
//   // = agent eng-1001
//
// The file is an omniroute.v1.DaemonConfig in protobuf text format (the daemon's own
// configuration file works as it is); apply uses its `channels`, `queues` and `agents` and
// nothing else. Upserts replace an object's whole configuration, an unset field taking its
// default, so the comparison is between canonical forms: both sides with the contract's
// documented defaults filled in, output-only fields cleared, and fields the configuration
// ignores (a relaxation step's level unless it lowers a level...) cleared. Objects of the
// daemon that the file does not name are left alone (apply never deletes).

#ifndef OMNIROUTE_CTL_PLAN_H_
#define OMNIROUTE_CTL_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "omniroute/ctl/reports.pb.h"
#include "omniroute/v1/admin_service.pb.h"
#include "omniroute/v1/config.pb.h"
#include "omniroute/v1/resources.pb.h"

namespace omniroute::ctl {

namespace v1 = ::omniroute::v1;

// Reads and parses the file ("-": standard input). Errors (INVALID_ARGUMENT) name the file
// and, for a parse error, the line and column: "centre.textproto:12:3: ...". Duplicate or
// empty ids among the objects are errors too.
absl::StatusOr<v1::DaemonConfig> ReadApplyFile(const std::string& path);
absl::StatusOr<v1::DaemonConfig> ParseApplyText(absl::string_view text, absl::string_view name);

// The names of the fields set in `file` that apply does not use (listen_address, limits...),
// for a warning.
std::vector<std::string> IgnoredFields(const v1::DaemonConfig& file);

// Canonical forms for comparison (see above).
v1::Channel CanonicalChannel(const v1::Channel& channel);
v1::Queue CanonicalQueue(const v1::Queue& queue);
v1::Agent CanonicalAgent(const v1::Agent& agent);

// The fields of two messages of the same type that differ, in field-number order, with their
// values as FormatField (format.h) shows them. `id` fields are not compared.
std::vector<FieldChange> DiffFields(const google::protobuf::Message& current,
                                    const google::protobuf::Message& desired);

// The plan for `file` against the daemon's objects (every page of each list).
ApplyPlan BuildPlan(const v1::DaemonConfig& file, const v1::ListChannelsResponse& channels,
                    const v1::ListQueuesResponse& queues, const v1::ListAgentsResponse& agents);

// One line per object: "+ queue x" (create), "~ queue y: field: old -> new" (one line per
// field), "= queue z" (unchanged); then a summary line ("Dry run: 1 to create, 1 to change,
// 3 unchanged; nothing was sent." or "Applied: ...").
std::string RenderChange(const ObjectChange& change);
std::string RenderSummary(const ApplyPlan& plan, bool dry_run);

}  // namespace omniroute::ctl

#endif  // OMNIROUTE_CTL_PLAN_H_
