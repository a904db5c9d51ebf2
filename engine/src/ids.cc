#include "omniroute/ids.h"

#include "absl/strings/str_cat.h"

namespace omniroute {

absl::Status ValidateName(absl::string_view field, absl::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": must not be empty"));
  if (value.size() > 128) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than 128 characters"));
  }
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@' ||
                    c == '+';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": character not allowed in \"", value,
                       "\" (use A-Z a-z 0-9 . _ - : / @ +)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace omniroute
