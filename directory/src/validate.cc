#include "validate.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "keys.h"
#include "omniroute/ids.h"

namespace omniroute::directory {

absl::Status ValidateHandle(const Handle& h, absl::string_view field) {
  if (h.kind.empty() || h.kind.size() > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".kind: must be 1..32 characters, got ", h.kind.size()));
  }
  for (char c : h.kind) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".kind: character not allowed in \"",
                                                     h.kind, "\" (use a-z 0-9 _ . -)"));
    }
  }
  if (h.value.empty() || h.value.size() > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".value: must be 1..256 characters, got ", h.value.size()));
  }
  for (size_t i = 0; i < h.value.size(); ++i) {
    const auto c = static_cast<unsigned char>(h.value[i]);
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".value: character ", i, " is not printable ASCII without space (0x21..0x7e)"));
    }
  }
  return absl::OkStatus();
}

namespace internal {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

absl::Status ValidatePrintable(absl::string_view field, absl::string_view s, size_t max) {
  if (s.empty() || s.size() > max) {
    return Invalid(field, absl::StrCat("must be 1..", max, " characters, got ", s.size()));
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c > 0x7e) {
      return Invalid(field, absl::StrCat("character ", i, " is not printable ASCII"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTime(absl::string_view field, absl::Time t) {
  if (!IsStorableTime(t)) return Invalid(field, "must be a time from 1970 to 2200");
  return absl::OkStatus();
}

absl::Status ValidateTagList(absl::string_view field, const std::vector<std::string>& tags) {
  if (tags.size() > kMaxTagsPerCustomer) {
    return Invalid(field, absl::StrCat("more than ", kMaxTagsPerCustomer, " tags"));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    if (absl::Status st = ValidateTag(absl::StrCat(field, "[", i, "]"), tags[i]); !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  return ValidateName(field, id);
}

absl::Status ValidateTag(absl::string_view field, absl::string_view tag) {
  return ValidatePrintable(field, tag, 128);
}

absl::Status ValidateRatingTag(absl::string_view field, absl::string_view tag) {
  return ValidatePrintable(field, tag, 64);
}

namespace {

// Well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF) of at most `max`
// bytes; without control characters unless `controls` (the store's records hold strings,
// which must be UTF-8 to parse again).
absl::Status ValidateUtf8(absl::string_view field, absl::string_view name, size_t max,
                          bool controls) {
  if (name.size() > max) {
    return Invalid(field, absl::StrCat("longer than ", max, " bytes (", name.size(), ")"));
  }
  size_t i = 0;
  while (i < name.size()) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      if (!controls && (c < 0x20 || c == 0x7f)) {
        return Invalid(field, absl::StrCat("control character at byte ", i));
      }
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return Invalid(field, absl::StrCat("not UTF-8 at byte ", i));
    }
    if (i + len > name.size()) return Invalid(field, absl::StrCat("not UTF-8 at byte ", i));
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(name[i + k]);
      if ((cc & 0xc0) != 0x80) return Invalid(field, absl::StrCat("not UTF-8 at byte ", i));
      cp = (cp << 6) | (cc & 0x3f);
    }
    const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return Invalid(field, absl::StrCat("not UTF-8 at byte ", i));
    }
    if (!controls && cp >= 0x80 && cp <= 0x9f) {
      return Invalid(field, absl::StrCat("control character at byte ", i));
    }
    i += len;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDisplayName(absl::string_view field, absl::string_view name) {
  return ValidateUtf8(field, name, 256, /*controls=*/false);
}

absl::Status ValidateLanguage(absl::string_view field, absl::string_view language) {
  if (language.size() > 32) {
    return Invalid(field, absl::StrCat("longer than 32 characters (", language.size(), ")"));
  }
  for (char c : language) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) {
      return Invalid(field, absl::StrCat("character not allowed in \"", language,
                                         "\" (use A-Z a-z 0-9 - _, e.g. zh-CN)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateUpdate(const CustomerUpdate& update) {
  if (update.display_name.has_value()) {
    if (absl::Status st = ValidateDisplayName("update.display_name", *update.display_name);
        !st.ok()) {
      return st;
    }
  }
  if (update.vip_level.has_value() && (*update.vip_level < 0 || *update.vip_level > 9)) {
    return Invalid("update.vip_level", absl::StrCat("must be 0..9, got ", *update.vip_level));
  }
  if (update.tags.has_value()) {
    if (absl::Status st = ValidateTagList("update.tags", *update.tags); !st.ok()) return st;
  }
  if (absl::Status st = ValidateTagList("update.add_tags", update.add_tags); !st.ok()) return st;
  if (absl::Status st = ValidateTagList("update.remove_tags", update.remove_tags); !st.ok()) {
    return st;
  }
  if (update.language.has_value()) {
    if (absl::Status st = ValidateLanguage("update.language", *update.language); !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateInteraction(const Interaction& in) {
  if (in.session == 0) return Invalid("interaction.session", "must not be 0");
  if (absl::Status st = ValidateId("interaction.customer", in.customer); !st.ok()) return st;
  if (absl::Status st = ValidateId("interaction.channel", in.channel); !st.ok()) return st;
  if (!in.queue.empty()) {
    if (absl::Status st = ValidateId("interaction.queue", in.queue); !st.ok()) return st;
  }
  if (!in.engineer.empty()) {
    if (absl::Status st = ValidateId("interaction.engineer", in.engineer); !st.ok()) return st;
  }
  // Free text, as the router takes it (CreateSessionRequest.intent: "no hot water").
  if (absl::Status st = ValidateUtf8("interaction.intent", in.intent, 256, /*controls=*/true);
      !st.ok()) {
    return st;
  }
  if (absl::Status st = ValidateTime("interaction.created_at", in.created_at); !st.ok()) {
    return st;
  }
  if (absl::Status st = ValidateTime("interaction.ended_at", in.ended_at); !st.ok()) return st;
  if (in.ended_at < in.created_at) {
    return Invalid("interaction.ended_at", "before created_at");
  }
  if (in.answered_at != absl::InfinitePast()) {
    if (in.answered_at < in.created_at || in.answered_at > in.ended_at) {
      return Invalid("interaction.answered_at",
                     "must be InfinitePast (never answered) or from created_at to ended_at");
    }
  }
  switch (in.outcome) {
    case Outcome::kCompleted:
    case Outcome::kAbandoned:
    case Outcome::kCancelled:
    case Outcome::kOverflowed:
      break;
    default:
      return Invalid("interaction.outcome",
                     absl::StrCat("unknown outcome ", static_cast<int>(in.outcome)));
  }
  if (in.handle_time < absl::ZeroDuration() || in.handle_time == absl::InfiniteDuration()) {
    return Invalid("interaction.handle_time", "must be finite and >= 0");
  }
  if (in.rating.has_value()) {
    return Invalid("interaction.rating", "must be unset (a rating is given with Rate)");
  }
  return absl::OkStatus();
}

absl::Status ValidateRating(const Rating& rating) {
  if (rating.stars < 1 || rating.stars > 5) {
    return Invalid("rating.stars", absl::StrCat("must be 1..5, got ", rating.stars));
  }
  if (rating.tags.size() > 64) return Invalid("rating.tags", "more than 64 tags");
  for (size_t i = 0; i < rating.tags.size(); ++i) {
    if (absl::Status st = ValidateRatingTag(absl::StrCat("rating.tags[", i, "]"), rating.tags[i]);
        !st.ok()) {
      return st;
    }
  }
  if (rating.tip_cents < 0 || rating.tip_cents > 100000000) {
    return Invalid("rating.tip_cents",
                   absl::StrCat("must be 0..100000000, got ", rating.tip_cents));
  }
  if (absl::Status st = ValidateTime("rating.at", rating.at); !st.ok()) return st;
  return absl::OkStatus();
}

absl::Status ValidateCustomer(absl::string_view field, const Customer& c) {
  if (absl::Status st = ValidateId(absl::StrCat(field, ".id"), c.id); !st.ok()) return st;
  if (absl::Status st = ValidateDisplayName(absl::StrCat(field, ".display_name"), c.display_name);
      !st.ok()) {
    return st;
  }
  if (c.vip_level < 0 || c.vip_level > 9) {
    return Invalid(absl::StrCat(field, ".vip_level"),
                   absl::StrCat("must be 0..9, got ", c.vip_level));
  }
  if (absl::Status st = ValidateTagList(absl::StrCat(field, ".tags"), c.tags); !st.ok()) {
    return st;
  }
  if (absl::Status st = ValidateLanguage(absl::StrCat(field, ".language"), c.language); !st.ok()) {
    return st;
  }
  if (c.handles.size() > kMaxHandlesPerCustomer) {
    return Invalid(absl::StrCat(field, ".handles"),
                   absl::StrCat("more than ", kMaxHandlesPerCustomer, " handles"));
  }
  for (size_t i = 0; i < c.handles.size(); ++i) {
    if (absl::Status st = ValidateHandle(c.handles[i], absl::StrCat(field, ".handles[", i, "]"));
        !st.ok()) {
      return st;
    }
  }
  if (c.favourite_engineers.size() > kMaxFavourites) {
    return Invalid(absl::StrCat(field, ".favourite_engineers"),
                   absl::StrCat("more than ", kMaxFavourites));
  }
  for (size_t i = 0; i < c.favourite_engineers.size(); ++i) {
    if (absl::Status st = ValidateId(absl::StrCat(field, ".favourite_engineers[", i, "]"),
                                     c.favourite_engineers[i]);
        !st.ok()) {
      return st;
    }
  }
  if (!c.last_engineer.empty()) {
    if (absl::Status st = ValidateId(absl::StrCat(field, ".last_engineer"), c.last_engineer);
        !st.ok()) {
      return st;
    }
  }
  if (!c.last_channel.empty()) {
    if (absl::Status st = ValidateId(absl::StrCat(field, ".last_channel"), c.last_channel);
        !st.ok()) {
      return st;
    }
  }
  if (c.interactions < 0) return Invalid(absl::StrCat(field, ".interactions"), "must be >= 0");
  if (!c.merged_from.empty()) {
    return Invalid(absl::StrCat(field, ".merged_from"), "must be empty (merge after loading)");
  }
  return absl::OkStatus();
}

std::vector<std::string> SortedUnique(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

}  // namespace internal
}  // namespace omniroute::directory
