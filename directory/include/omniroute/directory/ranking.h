// Engineer ranking: the points and tier an engineer's rating record earns.
//
// Pure functions, no I/O, thread-safe. The daemon computes the rank after every rating and
// hands the tier to the engine (SetEngineerRank).
//
//   points = good_rating_weight x smoothed good-rating rate
//          + favourite_weight   x min(favourites, favourites_cap)
//          + tip_rate_weight    x smoothed tip rate
//          + handled_weight     x min(handled, handled_cap)
//   smoothed rate = (count + prior_weight x prior_rate) / (ratings + prior_weight)
//
// The smoothing pulls an engineer with few ratings towards the prior, so that one 5-star
// rating does not make a master; the caps stop sheer volume (sessions handled, favourites
// collected over years) from outweighing the quality of the service. The tier is the highest
// whose threshold the points reach; an engineer is demoted only once the points fall
// `demotion_margin` below the threshold of the tier held (no flapping at a boundary).
// docs/DIRECTORY.md has the reasoning behind the defaults and a worked example.
//
//   RankingPolicy policy;
//   Rank rank = ComputeRank(record, policy, Tier::kCore);
//   // rank.tier, rank.points, rank.reason ("points 967 >= elite 950")

#ifndef OMNIROUTE_DIRECTORY_RANKING_H_
#define OMNIROUTE_DIRECTORY_RANKING_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "omniroute/directory/directory.h"
#include "omniroute/engineer.h"

namespace omniroute::directory {

struct RankingPolicy {
  double good_rating_weight = 1000;
  double favourite_weight = 2;
  double tip_rate_weight = 300;
  double handled_weight = 0.05;
  double prior_weight = 20;
  double prior_good_rate = 0.6;
  double prior_tip_rate = 0.0;
  // Counts above these add no points. 0: no cap.
  int64_t favourites_cap = 100;
  int64_t handled_cap = 2000;
  // Point thresholds of the tiers above rookie, strictly increasing and > 0.
  int64_t core = 800, elite = 950, expert = 1100, master = 1250;
  // Demoted only once points fall this far below the current tier's threshold.
  int64_t demotion_margin = 25;
};

// OK, or INVALID_ARGUMENT naming the field ("ranking.elite: must be greater than
// ranking.core (800)"): weights finite and >= 0, prior rates in 0..1, caps >= 0, thresholds
// strictly increasing and > 0, margin >= 0.
absl::Status ValidateRankingPolicy(const RankingPolicy& p);

struct Rank {
  int64_t points = 0;  // rounded to the nearest integer
  Tier tier = Tier::kRookie;
  // Why: "points 472 >= elite 450", "points 120 < core 250", "points 440 >= elite 450 - 25
  // (kept)", "points 420 < elite 450 - 25 (demoted)".
  std::string reason;
};

// The points `record` earns and the tier an engineer holding `current` gets for them.
// `policy` must be valid (ValidateRankingPolicy).
Rank ComputeRank(const EngineerRecord& record, const RankingPolicy& policy, Tier current);

// The points alone (not rounded).
double ComputePoints(const EngineerRecord& record, const RankingPolicy& policy);

}  // namespace omniroute::directory

#endif  // OMNIROUTE_DIRECTORY_RANKING_H_
