// Command-line parsing for omniroutectl: see args.h.

#include "ctl/args.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "ctl/format.h"

namespace omniroute::ctl {

bool ParsedArgs::Has(absl::string_view name) const {
  auto it = flags_.find(name);
  return it != flags_.end() && !it->second.empty() && it->second.back() != "false";
}

std::string ParsedArgs::Value(absl::string_view name, absl::string_view fallback) const {
  auto it = flags_.find(name);
  if (it == flags_.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

std::vector<std::string> ParsedArgs::Values(absl::string_view name) const {
  auto it = flags_.find(name);
  if (it == flags_.end()) return {};
  return it->second;
}

namespace {

const FlagSpec* FindFlag(absl::Span<const FlagSpec> specs, absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

const FlagSpec* FindAlias(absl::Span<const FlagSpec> specs, char alias) {
  for (const FlagSpec& spec : specs) {
    if (spec.alias != '\0' && spec.alias == alias) return &spec;
  }
  return nullptr;
}

absl::Status UnknownFlag(absl::string_view shown, absl::string_view name,
                         absl::Span<const FlagSpec> specs) {
  std::vector<std::string> names;
  for (const FlagSpec& spec : specs) names.push_back(spec.name);
  const std::string close = ClosestMatch(name, names);
  return absl::InvalidArgumentError(
      close.empty() ? absl::StrCat("unknown flag ", shown)
                    : absl::StrCat("unknown flag ", shown, " (did you mean --", close, "?)"));
}

}  // namespace

absl::StatusOr<ParsedArgs> ParseArgs(absl::Span<const std::string> args,
                                     absl::Span<const FlagSpec> specs) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      for (++i; i < args.size(); ++i) out.AddPositional(args[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
      out.AddPositional(arg);
      continue;
    }
    const FlagSpec* spec = nullptr;
    std::string shown;
    bool has_inline = false;
    std::string inline_value;
    if (arg[1] == '-') {
      std::string name = arg.substr(2);
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        has_inline = true;
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      shown = "--" + name;
      spec = FindFlag(specs, name);
      if (spec == nullptr) return UnknownFlag(shown, name, specs);
    } else {
      // A one-letter alias: "-f value" or "-fvalue".
      shown = arg.substr(0, 2);
      spec = FindAlias(specs, arg[1]);
      if (spec == nullptr) {
        // "-queue" is a common slip for "--queue".
        if (FindFlag(specs, arg.substr(1)) != nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat("unknown flag ", arg, " (did you mean -", arg, "?)"));
        }
        return UnknownFlag(shown, arg.substr(1), specs);
      }
      if (arg.size() > 2) {
        has_inline = true;
        inline_value = arg.substr(2);
      }
    }
    if (spec->kind == FlagKind::kBool) {
      if (has_inline && inline_value != "true" && inline_value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat(shown, " takes no value (or =true / =false), not \"", inline_value, "\""));
      }
      out.Add(spec->name, has_inline ? inline_value : "true");
      continue;
    }
    if (has_inline) {
      out.Add(spec->name, inline_value);
      continue;
    }
    if (i + 1 >= args.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(shown, " needs a value (", shown, " ", spec->value_name, ")"));
    }
    out.Add(spec->name, args[++i]);
  }
  return out;
}

std::string ClosestMatch(absl::string_view word, absl::Span<const std::string> candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& candidate : candidates) {
    // Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
    const size_t n = word.size(), m = candidate.size();
    std::vector<std::vector<size_t>> dist(n + 1, std::vector<size_t>(m + 1));
    for (size_t i = 0; i <= n; ++i) dist[i][0] = i;
    for (size_t j = 0; j <= m; ++j) dist[0][j] = j;
    for (size_t i = 1; i <= n; ++i) {
      for (size_t j = 1; j <= m; ++j) {
        const size_t cost = word[i - 1] == candidate[j - 1] ? 0 : 1;
        dist[i][j] = std::min({dist[i - 1][j] + 1, dist[i][j - 1] + 1, dist[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && word[i - 1] == candidate[j - 2] && word[i - 2] == candidate[j - 1]) {
          dist[i][j] = std::min(dist[i][j], dist[i - 2][j - 2] + 1);
        }
      }
    }
    if (dist[n][m] < best_distance) {
      best_distance = dist[n][m];
      best = candidate;
    }
  }
  if (best_distance == 0 || best_distance > 2 || best_distance * 2 >= word.size()) return "";
  return best;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view what,
                                                     absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": \"", text, "\" is not a duration (write e.g. 10s, 500ms, 2m, 1h30m)"));
  }
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": must be positive, not ", text));
  }
  return d;
}

absl::StatusOr<uint64_t> ParseCount(absl::string_view what, absl::string_view text, uint64_t max) {
  uint64_t n = 0;
  if (text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(text[0])) ||
      !absl::SimpleAtoi(text, &n)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"", text, "\" is not a non-negative whole number"));
  }
  if (n > max) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", n, " is above ", max));
  }
  return n;
}

std::string EnumValueList(const google::protobuf::EnumDescriptor* type) {
  std::vector<std::string> names;
  for (int i = 0; i < type->value_count(); ++i) {
    const int number = type->value(i)->number();
    if (number != 0) names.push_back(ShortEnumName(type, number));
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<int> ParseEnumValue(const google::protobuf::EnumDescriptor* type,
                                   absl::string_view what, absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(text);
  absl::StrReplaceAll({{"-", "_"}}, &name);
  const std::string prefix = EnumPrefix(type);
  if (name.rfind(prefix, 0) != 0) name = prefix + name;
  const google::protobuf::EnumValueDescriptor* value = type->FindValueByName(name);
  if (value == nullptr || value->number() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a valid ", what,
                                                   "; valid values: ", EnumValueList(type)));
  }
  return value->number();
}

}  // namespace omniroute::ctl
