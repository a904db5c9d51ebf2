#include "daemon/tenancy.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace omniroute::daemon {
namespace {

namespace pb = ::google::protobuf;

bool EndsWithAny(absl::string_view name, std::initializer_list<absl::string_view> suffixes) {
  for (absl::string_view s : suffixes) {
    if (name == s.substr(1) || absl::EndsWith(name, s)) return true;
  }
  return false;
}

std::string Join(const std::string& path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

}  // namespace

absl::Status ValidateTenantName(absl::string_view field, absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 32 && absl::ascii_islower(name[0]);
  for (char c : name) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", name, "\" is not 1..32 of a-z 0-9 -, starting with a letter"));
  }
  return absl::OkStatus();
}

IdKind ClassifyIdField(const pb::FieldDescriptor* field) {
  if (field->type() != pb::FieldDescriptor::TYPE_STRING) return IdKind::kNotAnId;
  const std::string& name = field->name();
  if (name == "id") {
    const std::string& message = field->containing_type()->full_name();
    if (message == "omniroute.v1.Queue" || message == "omniroute.v1.Agent" ||
        message == "omniroute.v1.Customer") {
      return IdKind::kScoped;
    }
    if (message == "omniroute.v1.Session") return IdKind::kSession;
    if (message == "omniroute.v1.Channel") return IdKind::kGlobal;
    return IdKind::kNotAnId;  // unknown: the contract test fails on it
  }
  // Suffixes are matched with their leading '_' ("_queue_id") or as the whole name ("queue_id").
  if (EndsWithAny(name, {"_session_id", "_session_ids"})) return IdKind::kSession;
  if (EndsWithAny(name, {"_queue_id", "_queue_ids", "_agent_id", "_agent_ids", "_customer_id",
                         "_customer_ids", "_request_id", "_device_id"})) {
    return IdKind::kScoped;
  }
  if (EndsWithAny(name, {"_channel_id", "_channel_ids", "_skill_id", "_offer_id"})) {
    return IdKind::kGlobal;
  }
  return IdKind::kNotAnId;
}

absl::Status ValidateWireId(absl::string_view field, absl::string_view id) {
  if (id.find(kTenantSeparator) != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": character not allowed in \"", id,
                                                   "\" ('", std::string(1, kTenantSeparator),
                                                   "')"));
  }
  return absl::OkStatus();
}

TenantScope::TenantScope(absl::string_view tenant)
    : tenant_(tenant.empty() ? std::string(kDefaultTenant) : std::string(tenant)),
      prefix_(tenant_ == kDefaultTenant ? std::string()
                                        : absl::StrCat(tenant_, std::string(1, kTenantSeparator))) {
}

std::string TenantScope::In(absl::string_view wire_id) const {
  if (wire_id.empty()) return std::string();
  return absl::StrCat(prefix_, wire_id);
}

bool TenantScope::Owns(absl::string_view internal_id) const {
  if (prefix_.empty()) return internal_id.find(kTenantSeparator) == absl::string_view::npos;
  return absl::StartsWith(internal_id, prefix_);
}

std::string TenantScope::Out(absl::string_view internal_id) const {
  return std::string(internal_id.substr(prefix_.size()));
}

namespace {

// Applies `fn(path, value) -> status` to every kScoped string field of `message`, recursively,
// replacing the value with what `fn` leaves in it.
template <class Fn>
absl::Status ForEachScoped(pb::Message* message, const std::string& path, const Fn& fn) {
  const pb::Reflection* r = message->GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    const std::string here = Join(path, f->name());
    if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*message, f); ++i) {
          if (absl::Status s = ForEachScoped(r->MutableRepeatedMessage(message, f, i),
                                             absl::StrCat(here, "[", i, "]"), fn);
              !s.ok()) {
            return s;
          }
        }
      } else if (absl::Status s = ForEachScoped(r->MutableMessage(message, f), here, fn); !s.ok()) {
        return s;
      }
      continue;
    }
    if (ClassifyIdField(f) != IdKind::kScoped) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*message, f); ++i) {
        std::string value = r->GetRepeatedString(*message, f, i);
        if (absl::Status s = fn(absl::StrCat(here, "[", i, "]"), value); !s.ok()) return s;
        r->SetRepeatedString(message, f, i, std::move(value));
      }
    } else {
      std::string value = r->GetString(*message, f);
      if (absl::Status s = fn(here, value); !s.ok()) return s;
      r->SetString(message, f, std::move(value));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status TenantScope::MapIn(pb::Message* message) const {
  return ForEachScoped(message, "", [this](const std::string& path, std::string& value) {
    if (absl::Status s = ValidateWireId(path, value); !s.ok()) return s;
    if (!value.empty()) value = In(value);
    return absl::OkStatus();
  });
}

bool TenantScope::MapOut(pb::Message* message) const {
  return ForEachScoped(message, "",
                       [this](const std::string& path, std::string& value) {
                         if (value.empty()) return absl::OkStatus();
                         if (!Owns(value)) return absl::PermissionDeniedError(path);
                         value = Out(value);
                         return absl::OkStatus();
                       })
      .ok();
}

std::string TenantScope::MapOutText(absl::string_view text) const {
  if (prefix_.empty()) return std::string(text);
  return absl::StrReplaceAll(text, {{prefix_, ""}});
}

}  // namespace omniroute::daemon
