#include "validate.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "omniroute/strategy.h"

namespace omniroute::internal {

absl::Status ValidateRequirements(absl::string_view field, const std::vector<Requirement>& reqs) {
  if (reqs.size() > kMaxListLength) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": more than ", kMaxListLength));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    if (absl::Status s = ValidateName(absl::StrCat(f, ".skill"), reqs[i].skill.value()); !s.ok()) {
      return s;
    }
    if (reqs[i].min_level < 1 || reqs[i].min_level > 5) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ".min_level: ", reqs[i].min_level, " is outside 1..5"));
    }
    if (!seen.insert(reqs[i].skill.value()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ".skill: \"", reqs[i].skill.value(), "\" is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDuration(absl::string_view field, absl::Duration d, bool allow_zero) {
  if (d < absl::ZeroDuration() || d == absl::InfiniteDuration() ||
      (!allow_zero && d == absl::ZeroDuration())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", absl::FormatDuration(d), allow_zero ? " is negative" : " must be positive"));
  }
  if (d > absl::Hours(24 * 365)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than a year"));
  }
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max_length) {
  if (text.size() > max_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": longer than ", max_length, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCustomer(const CustomerSnapshot& c) {
  if (!c.id.empty()) {
    if (absl::Status s = ValidateName("customer.id", c.id.value()); !s.ok()) return s;
  }
  if (c.vip_level < 0 || c.vip_level > 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer.vip_level: ", c.vip_level, " is outside 0..9"));
  }
  if (c.tags.size() > kMaxListLength) {
    return absl::InvalidArgumentError("customer.tags: too many tags");
  }
  for (size_t i = 0; i < c.tags.size(); ++i) {
    if (c.tags[i].empty() || c.tags[i].size() > 128) {
      return absl::InvalidArgumentError(
          absl::StrCat("customer.tags[", i, "]: must be 1 to 128 characters"));
    }
  }
  if (absl::Status s = ValidateText("customer.language", c.language, 64); !s.ok()) return s;
  if (c.preferred_engineers.size() > 16) {
    return absl::InvalidArgumentError("customer.preferred_engineers: more than 16");
  }
  for (size_t i = 0; i < c.preferred_engineers.size(); ++i) {
    if (absl::Status s = ValidateName(absl::StrCat("customer.preferred_engineers[", i, "]"),
                                      c.preferred_engineers[i].value());
        !s.ok()) {
      return s;
    }
  }
  if (!c.last_engineer.empty()) {
    if (absl::Status s = ValidateName("customer.last_engineer", c.last_engineer.value());
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateQueueConfigFields(const QueueConfig& q) {
  if (absl::Status s = ValidateName("queue.id", q.id.value()); !s.ok()) return s;
  if (absl::Status s = ValidateText("queue.display_name", q.display_name, 256); !s.ok()) return s;
  if (absl::Status s = ValidateDuration("queue.ageing_interval", q.ageing_interval, true);
      !s.ok()) {
    return s;
  }
  if (q.ageing_interval > absl::Hours(24)) {
    return absl::InvalidArgumentError("queue.ageing_interval: longer than a day");
  }
  if (absl::Status s = ValidateDuration("queue.service_level_threshold",
                                        q.service_level_threshold, false);
      !s.ok()) {
    return s;
  }
  if (!(q.service_level_goal >= 0.0 && q.service_level_goal <= 1.0)) {
    return absl::InvalidArgumentError("queue.service_level_goal: must be within 0..1");
  }
  if (absl::Status s = ValidateRequirements("queue.requirements", q.requirements); !s.ok()) {
    return s;
  }
  if (q.relaxation.size() > 32) {
    return absl::InvalidArgumentError("queue.relaxation: more than 32 steps");
  }
  for (size_t i = 0; i < q.relaxation.size(); ++i) {
    const RelaxationStep& r = q.relaxation[i];
    const std::string f = absl::StrCat("queue.relaxation[", i, "]");
    if (absl::Status s = ValidateDuration(absl::StrCat(f, ".after"), r.after, true); !s.ok()) {
      return s;
    }
    switch (r.action) {
      case RelaxAction::kLowerLevel:
        if (r.level < 1 || r.level > 5) {
          return absl::InvalidArgumentError(
              absl::StrCat(f, ".level: ", r.level, " is outside 1..5"));
        }
        if (!r.skill.empty()) {
          if (absl::Status s = ValidateName(absl::StrCat(f, ".skill"), r.skill.value()); !s.ok()) {
            return s;
          }
        }
        break;
      case RelaxAction::kDropSkill:
        if (absl::Status s = ValidateName(absl::StrCat(f, ".skill"), r.skill.value()); !s.ok()) {
          return s;
        }
        break;
      case RelaxAction::kAnyEngineer:
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(f, ".action: unknown action"));
    }
  }
  if (absl::Status s = ValidateDuration("queue.overflow_after", q.overflow_after, true); !s.ok()) {
    return s;
  }
  if (!q.overflow_queue.empty()) {
    if (absl::Status s = ValidateName("queue.overflow_queue", q.overflow_queue.value()); !s.ok()) {
      return s;
    }
    if (q.overflow_queue == q.id) {
      return absl::InvalidArgumentError("queue.overflow_queue: a queue cannot overflow into itself");
    }
    if (q.overflow_after == absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "queue.overflow_after: must be set when queue.overflow_queue is");
    }
  }
  if (q.channel_limits.size() > kMaxListLength) {
    return absl::InvalidArgumentError("queue.channel_limits: too many");
  }
  for (size_t i = 0; i < q.channel_limits.size(); ++i) {
    const std::string f = absl::StrCat("queue.channel_limits[", i, "]");
    if (absl::Status s =
            ValidateName(absl::StrCat(f, ".channel"), q.channel_limits[i].channel.value());
        !s.ok()) {
      return s;
    }
    if (q.channel_limits[i].max_waiting < 1) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".max_waiting: must be at least 1"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (q.channel_limits[j].channel == q.channel_limits[i].channel) {
        return absl::InvalidArgumentError(absl::StrCat(f, ".channel: listed twice"));
      }
    }
  }
  if (q.tag_rules.size() > kMaxListLength) {
    return absl::InvalidArgumentError("queue.tag_rules: too many");
  }
  for (size_t i = 0; i < q.tag_rules.size(); ++i) {
    const TagRule& t = q.tag_rules[i];
    const std::string f = absl::StrCat("queue.tag_rules[", i, "]");
    if (t.name.size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".name: longer than 64 characters"));
    }
    for (char ch : t.name) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
        return absl::InvalidArgumentError(absl::StrCat(f, ".name: control character"));
      }
    }
    if (t.tag.empty() && t.min_vip_level == 0 && t.language.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ": needs a tag, min_vip_level or language"));
    }
    if (t.tag.size() > 128) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".tag: longer than 128 characters"));
    }
    if (t.min_vip_level < 0 || t.min_vip_level > 9) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ".min_vip_level: ", t.min_vip_level, " is outside 0..9"));
    }
    if (absl::Status s = ValidateText(absl::StrCat(f, ".language"), t.language, 64); !s.ok()) {
      return s;
    }
    if (t.priority_boost < -kMaxPriority || t.priority_boost > kMaxPriority) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ".priority_boost: outside -1000..1000"));
    }
    if (!t.requirement.skill.empty()) {
      if (absl::Status s = ValidateRequirements(absl::StrCat(f, ".requirement"), {t.requirement});
          !s.ok()) {
        return s;
      }
    }
    if (t.min_tier.has_value() &&
        (static_cast<int>(*t.min_tier) < 1 || static_cast<int>(*t.min_tier) > 5)) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".min_tier: unknown tier"));
    }
  }
  if (q.appointment_priority < 0 || q.appointment_priority > kMaxPriority) {
    return absl::InvalidArgumentError(absl::StrCat(
        "queue.appointment_priority: ", q.appointment_priority, " is outside 0..1000"));
  }
  if (MakeStrategy(q.strategy) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue.strategy: \"", q.strategy, "\" is not a registered strategy"));
  }
  if (q.delivery != DeliveryMode::kDirect && q.delivery != DeliveryMode::kGrab) {
    return absl::InvalidArgumentError("queue.delivery: unknown delivery mode");
  }
  if (absl::Status s = ValidateDuration("queue.offer_timeout", q.offer_timeout, false); !s.ok()) {
    return s;
  }
  if (q.grab_fanout < 1 || q.grab_fanout > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue.grab_fanout: ", q.grab_fanout, " is outside 1..100"));
  }
  if (absl::Status s = ValidateDuration("queue.grab_window", q.grab_window, false); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateDuration("queue.preferred_timeout", q.preferred_timeout, true);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          ValidateDuration("queue.last_engineer_timeout", q.last_engineer_timeout, true);
      !s.ok()) {
    return s;
  }
  if (q.vip_min_level < 0 || q.vip_min_level > 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("queue.vip_min_level: ", q.vip_min_level, " is outside 0..9"));
  }
  if (static_cast<int>(q.vip_min_tier) < 1 || static_cast<int>(q.vip_min_tier) > 5) {
    return absl::InvalidArgumentError("queue.vip_min_tier: unknown tier");
  }
  if (absl::Status s = ValidateDuration("queue.vip_timeout", q.vip_timeout, true); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateDuration("queue.wrap_up", q.wrap_up, true); !s.ok()) return s;
  return absl::OkStatus();
}

absl::Status ValidateWindow(const CreateSession& c, absl::Time now) {
  const bool has_start = c.window_start != absl::InfinitePast();
  const bool has_end = c.window_end != absl::InfinitePast();
  if (!has_start && !has_end) return absl::OkStatus();
  if (!has_start) return absl::InvalidArgumentError("window_start: required with window_end");
  if (!has_end) return absl::InvalidArgumentError("window_end: required with window_start");
  if (c.window_start == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("window_start: must be a finite time");
  }
  if (c.window_end == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("window_end: must be a finite time");
  }
  if (c.window_end <= c.window_start) {
    return absl::InvalidArgumentError("window_end: must be after window_start");
  }
  if (c.window_start > now + kMaxBookingAhead) {
    return absl::InvalidArgumentError("window_start: more than 400 days from now");
  }
  if (c.start_in_bot) {
    return absl::InvalidArgumentError(
        "start_in_bot: an appointment (window_start set) never starts in BOT");
  }
  return absl::OkStatus();
}

absl::Status ValidateCallbackNumber(absl::string_view field, absl::string_view number) {
  if (number.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  if (number.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than 64 characters"));
  }
  for (size_t i = 0; i < number.size(); ++i) {
    const char ch = number[i];
    if ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == ' ' || ch == '(' ||
        ch == ')') {
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": character ", i + 1,
                     " is not a digit, '+', '-', ' ', '(' or ')'"));
  }
  return absl::OkStatus();
}

}  // namespace omniroute::internal
