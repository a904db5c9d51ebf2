// The plan of `omniroutectl apply`: see plan.h.

#include "ctl/plan.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "ctl/format.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace omniroute::ctl {

namespace pb = ::google::protobuf;

// ---------------------------------------------------------------------------------------------
// The file

namespace {

// Collects the parser's first error with its position (1-based for people).
class FirstError : public pb::io::ErrorCollector {
 public:
  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (!message_.empty()) return;
    message_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

template <typename T>
absl::Status CheckIds(absl::string_view name, absl::string_view kind,
                      const pb::RepeatedPtrField<T>& objects) {
  std::set<std::string> seen;
  for (int i = 0; i < objects.size(); ++i) {
    const std::string& id = objects.Get(i).id();
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", kind, "s[", i, "]: id is required"));
    }
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", kind, " \"", id, "\" is given twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::DaemonConfig> ParseApplyText(absl::string_view text, absl::string_view name) {
  v1::DaemonConfig config;
  pb::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ":",
                     errors.message().empty() ? " not an omniroute.v1.DaemonConfig in text format"
                                              : errors.message()));
  }
  if (absl::Status s = CheckIds(name, "channel", config.channels()); !s.ok()) return s;
  if (absl::Status s = CheckIds(name, "queue", config.queues()); !s.ok()) return s;
  if (absl::Status s = CheckIds(name, "agent", config.agents()); !s.ok()) return s;
  return config;
}

absl::StatusOr<v1::DaemonConfig> ReadApplyFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return ParseApplyText(text, "<stdin>");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot be read"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot be read"));
  return ParseApplyText(buffer.str(), path);
}

std::vector<std::string> IgnoredFields(const v1::DaemonConfig& file) {
  std::vector<const pb::FieldDescriptor*> fields;
  file.GetReflection()->ListFields(file, &fields);
  std::vector<std::string> out;
  for (const pb::FieldDescriptor* f : fields) {
    if (f->name() != "channels" && f->name() != "queues" && f->name() != "agents") {
      out.push_back(f->name());
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Canonical forms: the documented defaults of proto/omniroute/v1/resources.proto.

namespace {

// The router works in microseconds: finer parts are truncated.
void Canonical(pb::Duration* d) { d->set_nanos(d->nanos() / 1000 * 1000); }

// Sets the Duration field `name` of `m` to `default_seconds` when unset.
void DurationDefault(pb::Message* m, absl::string_view name, int64_t default_seconds) {
  const pb::FieldDescriptor* f = m->GetDescriptor()->FindFieldByName(std::string(name));
  const pb::Reflection* r = m->GetReflection();
  const bool has = r->HasField(*m, f);
  auto* d = static_cast<pb::Duration*>(r->MutableMessage(m, f));
  if (!has) d->set_seconds(default_seconds);
  Canonical(d);
}

}  // namespace

v1::Channel CanonicalChannel(const v1::Channel& channel) {
  v1::Channel c = channel;
  if (!c.has_cost()) c.set_cost(20);
  if (!c.has_default_max()) c.set_default_max(3);
  return c;
}

v1::Queue CanonicalQueue(const v1::Queue& queue) {
  v1::Queue q = queue;
  q.clear_agent_ids();  // output only
  DurationDefault(&q, "ageing_interval", 30);
  DurationDefault(&q, "service_level_threshold", 20);
  if (!q.has_service_level_goal()) q.set_service_level_goal(0.8);
  DurationDefault(&q, "overflow_after", 0);
  for (v1::RelaxationStep& step : *q.mutable_relaxation_steps()) {
    Canonical(step.mutable_after());
    // Fields the step's action ignores.
    if (step.action() == v1::RELAX_ACTION_ANY_AGENT) step.clear_skill_id();
    if (step.action() != v1::RELAX_ACTION_LOWER_LEVEL) step.clear_level();
  }
  for (v1::TagRule& rule : *q.mutable_tag_rules()) {
    // A requirement without a skill adds nothing.
    if (rule.has_requirement() && rule.requirement().skill_id().empty()) {
      rule.clear_requirement();
    }
  }
  if (q.strategy().empty()) q.set_strategy("longest_idle");
  if (q.delivery_mode() == v1::DELIVERY_MODE_UNSPECIFIED) {
    q.set_delivery_mode(v1::DELIVERY_MODE_DIRECT);
  }
  DurationDefault(&q, "offer_timeout", 15);
  if (!q.has_grab_fanout()) q.set_grab_fanout(3);
  DurationDefault(&q, "grab_window", 10);
  DurationDefault(&q, "preferred_timeout", 20);
  DurationDefault(&q, "last_agent_timeout", 10);
  if (!q.has_vip_min_level()) q.set_vip_min_level(1);
  if (q.vip_min_tier() == v1::AGENT_TIER_UNSPECIFIED) q.set_vip_min_tier(v1::AGENT_TIER_ELITE);
  DurationDefault(&q, "vip_timeout", 30);
  DurationDefault(&q, "wrap_up_duration", 30);
  if (!q.has_appointment_priority()) q.set_appointment_priority(800);
  return q;
}

v1::Agent CanonicalAgent(const v1::Agent& agent) {
  v1::Agent a = agent;
  a.clear_status();  // output only
  if (a.tier() == v1::AGENT_TIER_UNSPECIFIED) a.set_tier(v1::AGENT_TIER_ROOKIE);
  if (!a.has_budget()) a.set_budget(60);
  for (v1::ChannelCapacity& c : *a.mutable_channels()) {
    if (!c.has_max()) c.set_max(1);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// The diff

std::vector<FieldChange> DiffFields(const pb::Message& current, const pb::Message& desired) {
  std::vector<FieldChange> out;
  const pb::Descriptor* d = desired.GetDescriptor();
  std::vector<const pb::FieldDescriptor*> fields;
  for (int i = 0; i < d->field_count(); ++i) fields.push_back(d->field(i));
  std::sort(fields.begin(), fields.end(),
            [](const pb::FieldDescriptor* a, const pb::FieldDescriptor* b) {
              return a->number() < b->number();
            });
  for (const pb::FieldDescriptor* f : fields) {
    if (f->name() == "id") continue;
    // Compared as shown: a message field unset on one side and empty on the other is "{}" on
    // both, as it is the same to the router.
    std::string old_value = FormatField(current, f);
    std::string new_value = FormatField(desired, f);
    if (old_value != new_value) {
      FieldChange change;
      change.set_field(f->name());
      change.set_old_value(std::move(old_value));
      change.set_new_value(std::move(new_value));
      out.push_back(std::move(change));
    }
  }
  return out;
}

namespace {

template <typename T>
std::map<std::string, const T*> ById(const pb::RepeatedPtrField<T>& objects) {
  std::map<std::string, const T*> out;
  for (const T& o : objects) out[o.id()] = &o;
  return out;
}

template <typename T, typename Canonicalize>
void PlanObjects(absl::string_view kind, const pb::RepeatedPtrField<T>& desired,
                 const pb::RepeatedPtrField<T>& current, Canonicalize canonical, ApplyPlan* plan) {
  const std::map<std::string, const T*> existing = ById(current);
  for (const T& object : desired) {
    ObjectChange* change = plan->add_changes();
    change->set_kind(std::string(kind));
    change->set_id(object.id());
    auto it = existing.find(object.id());
    if (it == existing.end()) {
      change->set_action(APPLY_ACTION_CREATE);
      plan->set_create_count(plan->create_count() + 1);
      continue;
    }
    std::vector<FieldChange> fields = DiffFields(canonical(*it->second), canonical(object));
    if (fields.empty()) {
      change->set_action(APPLY_ACTION_UNCHANGED);
      plan->set_unchanged_count(plan->unchanged_count() + 1);
      continue;
    }
    change->set_action(APPLY_ACTION_UPDATE);
    plan->set_update_count(plan->update_count() + 1);
    for (FieldChange& f : fields) *change->add_fields() = std::move(f);
  }
}

}  // namespace

ApplyPlan BuildPlan(const v1::DaemonConfig& file, const v1::ListChannelsResponse& channels,
                    const v1::ListQueuesResponse& queues, const v1::ListAgentsResponse& agents) {
  ApplyPlan plan;
  PlanObjects("channel", file.channels(), channels.channels(), &CanonicalChannel, &plan);
  PlanObjects("queue", file.queues(), queues.queues(), &CanonicalQueue, &plan);
  PlanObjects("agent", file.agents(), agents.agents(), &CanonicalAgent, &plan);
  return plan;
}

std::string RenderChange(const ObjectChange& change) {
  const std::string what = absl::StrCat(change.kind(), " ", change.id());
  switch (change.action()) {
    case APPLY_ACTION_CREATE:
      return absl::StrCat("+ ", what, "\n");
    case APPLY_ACTION_UPDATE: {
      std::string out;
      for (const FieldChange& f : change.fields()) {
        absl::StrAppend(&out, "~ ", what, ": ", f.field(), ": ", f.old_value(), " -> ",
                        f.new_value(), "\n");
      }
      return out;
    }
    default:
      return absl::StrCat("= ", what, "\n");
  }
}

std::string RenderSummary(const ApplyPlan& plan, bool dry_run) {
  if (dry_run) {
    const bool pending = plan.create_count() + plan.update_count() > 0;
    return absl::StrCat("Dry run: ", plan.create_count(), " to create, ", plan.update_count(),
                        " to change, ", plan.unchanged_count(), " unchanged; nothing was sent.",
                        pending ? " Run without --dry-run to apply." : "", "\n");
  }
  return absl::StrCat("Applied: ", plan.create_count(), " created, ", plan.update_count(),
                      " changed, ", plan.unchanged_count(), " unchanged.\n");
}

}  // namespace omniroute::ctl
