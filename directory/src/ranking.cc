#include "omniroute/directory/ranking.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace omniroute::directory {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("ranking.", field, ": ", message));
}

double Smoothed(int64_t count, int64_t ratings, double prior_weight, double prior_rate) {
  const double denominator = static_cast<double>(ratings) + prior_weight;
  if (denominator <= 0) return prior_rate;
  return (static_cast<double>(count) + prior_weight * prior_rate) / denominator;
}

double Capped(int64_t count, int64_t cap) {
  const int64_t c = std::max<int64_t>(count, 0);
  return static_cast<double>(cap > 0 ? std::min(c, cap) : c);
}

struct Threshold {
  Tier tier;
  absl::string_view name;
  int64_t points;
};

std::array<Threshold, 4> Thresholds(const RankingPolicy& p) {
  return {{{Tier::kCore, "core", p.core},
           {Tier::kElite, "elite", p.elite},
           {Tier::kExpert, "expert", p.expert},
           {Tier::kMaster, "master", p.master}}};
}

}  // namespace

absl::Status ValidateRankingPolicy(const RankingPolicy& p) {
  const std::pair<absl::string_view, double> weights[] = {
      {"good_rating_weight", p.good_rating_weight},
      {"favourite_weight", p.favourite_weight},
      {"tip_rate_weight", p.tip_rate_weight},
      {"handled_weight", p.handled_weight},
      {"prior_weight", p.prior_weight},
  };
  for (const auto& [name, w] : weights) {
    if (!std::isfinite(w) || w < 0) {
      return Invalid(name, absl::StrCat("must be finite and >= 0, got ", w));
    }
  }
  const std::pair<absl::string_view, double> rates[] = {
      {"prior_good_rate", p.prior_good_rate},
      {"prior_tip_rate", p.prior_tip_rate},
  };
  for (const auto& [name, r] : rates) {
    if (!std::isfinite(r) || r < 0 || r > 1) {
      return Invalid(name, absl::StrCat("must be 0..1, got ", r));
    }
  }
  if (p.favourites_cap < 0) return Invalid("favourites_cap", "must be >= 0");
  if (p.handled_cap < 0) return Invalid("handled_cap", "must be >= 0");
  const std::array<Threshold, 4> t = Thresholds(p);
  if (t[0].points <= 0) {
    return Invalid(t[0].name, absl::StrCat("must be > 0, got ", t[0].points));
  }
  for (size_t i = 1; i < t.size(); ++i) {
    if (t[i].points <= t[i - 1].points) {
      return Invalid(t[i].name, absl::StrCat("must be greater than ranking.", t[i - 1].name, " (",
                                             t[i - 1].points, "), got ", t[i].points));
    }
  }
  if (p.demotion_margin < 0) {
    return Invalid("demotion_margin", absl::StrCat("must be >= 0, got ", p.demotion_margin));
  }
  return absl::OkStatus();
}

double ComputePoints(const EngineerRecord& r, const RankingPolicy& p) {
  const double good = Smoothed(r.good_ratings, r.ratings, p.prior_weight, p.prior_good_rate);
  const double tip = Smoothed(r.tips, r.ratings, p.prior_weight, p.prior_tip_rate);
  return p.good_rating_weight * good + p.favourite_weight * Capped(r.favourites, p.favourites_cap) +
         p.tip_rate_weight * tip + p.handled_weight * Capped(r.handled, p.handled_cap);
}

Rank ComputeRank(const EngineerRecord& record, const RankingPolicy& policy, Tier current) {
  Rank rank;
  const double raw = ComputePoints(record, policy);
  constexpr double kMax = static_cast<double>(std::numeric_limits<int64_t>::max() / 2);
  rank.points =
      std::isfinite(raw) ? static_cast<int64_t>(std::llround(std::clamp(raw, 0.0, kMax))) : 0;
  const std::array<Threshold, 4> t = Thresholds(policy);

  // The tier the points reach by themselves.
  int reached = -1;  // index into t; -1 is rookie
  for (int i = 0; i < static_cast<int>(t.size()); ++i) {
    if (rank.points >= t[i].points) reached = i;
  }
  // The tier held, as an index into t (-1 rookie).
  const int held = std::clamp(static_cast<int>(current) - static_cast<int>(Tier::kCore), -1, 3);

  if (reached >= held) {
    if (reached < 0) {
      rank.tier = Tier::kRookie;
      rank.reason = absl::StrCat("points ", rank.points, " < ", t[0].name, " ", t[0].points);
    } else {
      rank.tier = t[reached].tier;
      rank.reason =
          absl::StrCat("points ", rank.points, " >= ", t[reached].name, " ", t[reached].points);
    }
    return rank;
  }
  // Below the held tier's threshold: keep it within the margin; otherwise step down to the
  // highest tier whose threshold minus the margin the points still reach.
  const int64_t margin = policy.demotion_margin;
  if (rank.points >= t[held].points - margin) {
    rank.tier = t[held].tier;
    rank.reason = absl::StrCat("points ", rank.points, " >= ", t[held].name, " ", t[held].points,
                               " - ", margin, " (kept)");
    return rank;
  }
  int kept = reached;
  for (int i = held - 1; i > reached; --i) {
    if (rank.points >= t[i].points - margin) {
      kept = i;
      break;
    }
  }
  rank.tier = kept < 0 ? Tier::kRookie : t[kept].tier;
  rank.reason = absl::StrCat("points ", rank.points, " < ", t[held].name, " ", t[held].points,
                             " - ", margin, " (demoted)");
  return rank;
}

}  // namespace omniroute::directory
