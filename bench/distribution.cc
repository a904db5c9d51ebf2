#include "bench/distribution.h"

#include <atomic>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace omniroute::bench {

namespace {

absl::Status Bad(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

bool ParseDurationText(absl::string_view text, absl::Duration* out) {
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds)) {
    if (!std::isfinite(seconds)) return false;
    *out = absl::Seconds(seconds);
    return true;
  }
  return absl::ParseDuration(text, out) && *out != absl::InfiniteDuration();
}

}  // namespace

absl::StatusOr<sim::Distribution> ParseDistribution(absl::string_view flag,
                                                    absl::string_view text) {
  absl::string_view rest = text;
  enum { kConst, kExp, kLogNormal } kind = kConst;
  if (absl::ConsumePrefix(&rest, "const:")) {
    kind = kConst;
  } else if (absl::ConsumePrefix(&rest, "exp:")) {
    kind = kExp;
  } else if (absl::ConsumePrefix(&rest, "lognormal:")) {
    kind = kLogNormal;
  }
  const std::string usage = absl::StrCat(
      "\"", text, "\" is not a distribution (0, 2s, const:2s, exp:2s, lognormal:3m,1m)");
  if (kind == kLogNormal) {
    std::vector<absl::string_view> parts = absl::StrSplit(rest, ',');
    absl::Duration mean, stddev;
    if (parts.size() != 2 || !ParseDurationText(parts[0], &mean) ||
        !ParseDurationText(parts[1], &stddev)) {
      return Bad(flag, usage);
    }
    if (mean <= absl::ZeroDuration() || stddev <= absl::ZeroDuration()) {
      return Bad(flag, "lognormal mean and standard deviation must be > 0");
    }
    return sim::Distribution::LogNormal(mean, stddev);
  }
  absl::Duration d;
  if (!ParseDurationText(rest, &d)) return Bad(flag, usage);
  if (d < absl::ZeroDuration()) return Bad(flag, "must not be negative");
  if (kind == kExp) {
    if (d <= absl::ZeroDuration()) return Bad(flag, "exp mean must be > 0");
    return sim::Distribution::Exponential(d);
  }
  return sim::Distribution::Constant(d);
}

std::string FormatDistribution(const sim::Distribution& d) {
  switch (d.kind()) {
    case sim::Distribution::Kind::kConstant:
      return d.is_zero() ? "0" : absl::StrCat("const:", absl::FormatDuration(d.mean()));
    case sim::Distribution::Kind::kExponential:
      return absl::StrCat("exp:", absl::FormatDuration(d.mean()));
    case sim::Distribution::Kind::kLogNormal:
      return absl::StrCat("lognormal:", absl::FormatDuration(d.mean()), ",",
                          absl::FormatDuration(d.stddev()));
    case sim::Distribution::Kind::kEmpirical:
      break;
  }
  return d.ToString();
}

sim::Rng& ThreadRng() {
  static std::atomic<int> next_thread{0};
  thread_local sim::Rng rng(sim::DeriveSeed(std::random_device{}(), next_thread.fetch_add(1)));
  return rng;
}

}  // namespace omniroute::bench
