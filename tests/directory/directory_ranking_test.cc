// Engineer ranking: the policy's validation, the points formula, the tiers, the demotion
// margin, and the worked example of docs/DIRECTORY.md.

#include <cmath>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "omniroute/directory/ranking.h"

namespace omniroute::directory {
namespace {

EngineerRecord Record(int64_t handled, int64_t ratings, int64_t good, int64_t favourites,
                      int64_t tips) {
  EngineerRecord r;
  r.id = "eng-1";
  r.handled = handled;
  r.ratings = ratings;
  r.good_ratings = good;
  r.favourites = favourites;
  r.tips = tips;
  return r;
}

TEST(RankingPolicyTest, DefaultsAreValid) { EXPECT_TRUE(ValidateRankingPolicy({}).ok()); }

TEST(RankingPolicyTest, BadPoliciesNameTheField) {
  struct Case {
    void (*edit)(RankingPolicy&);
    std::string message;
  };
  const Case cases[] = {
      {[](RankingPolicy& p) { p.good_rating_weight = -1; },
       "ranking.good_rating_weight: must be finite and >= 0, got -1"},
      {[](RankingPolicy& p) { p.favourite_weight = std::numeric_limits<double>::infinity(); },
       "ranking.favourite_weight: must be finite and >= 0, got inf"},
      {[](RankingPolicy& p) { p.tip_rate_weight = std::nan(""); },
       "ranking.tip_rate_weight: must be finite and >= 0, got nan"},
      {[](RankingPolicy& p) { p.handled_weight = -0.5; },
       "ranking.handled_weight: must be finite and >= 0, got -0.5"},
      {[](RankingPolicy& p) { p.prior_weight = -1; },
       "ranking.prior_weight: must be finite and >= 0, got -1"},
      {[](RankingPolicy& p) { p.prior_good_rate = 1.5; },
       "ranking.prior_good_rate: must be 0..1, got 1.5"},
      {[](RankingPolicy& p) { p.prior_tip_rate = -0.1; },
       "ranking.prior_tip_rate: must be 0..1, got -0.1"},
      {[](RankingPolicy& p) { p.favourites_cap = -1; }, "ranking.favourites_cap: must be >= 0"},
      {[](RankingPolicy& p) { p.handled_cap = -1; }, "ranking.handled_cap: must be >= 0"},
      {[](RankingPolicy& p) { p.core = 0; }, "ranking.core: must be > 0, got 0"},
      {[](RankingPolicy& p) { p.elite = p.core; },
       "ranking.elite: must be greater than ranking.core (800), got 800"},
      {[](RankingPolicy& p) { p.expert = 900; },
       "ranking.expert: must be greater than ranking.elite (950), got 900"},
      {[](RankingPolicy& p) { p.master = 1; },
       "ranking.master: must be greater than ranking.expert (1100), got 1"},
      {[](RankingPolicy& p) { p.demotion_margin = -1; },
       "ranking.demotion_margin: must be >= 0, got -1"},
  };
  for (const Case& c : cases) {
    RankingPolicy p;
    c.edit(p);
    absl::Status st = ValidateRankingPolicy(p);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(st.message(), c.message);
  }
}

TEST(ComputePointsTest, FollowsTheFormula) {
  RankingPolicy p;
  p.good_rating_weight = 600;
  p.favourite_weight = 2;
  p.tip_rate_weight = 300;
  p.handled_weight = 0.1;
  p.prior_weight = 10;
  p.prior_good_rate = 0.5;
  p.prior_tip_rate = 0;
  p.favourites_cap = 0;  // no caps: the formula of the brief
  p.handled_cap = 0;
  // 40 ratings, 30 good, 6 favourites, 4 tips, 200 handled:
  // 600 * (30 + 5) / 50 + 2 * 6 + 300 * 4 / 50 + 0.1 * 200 = 420 + 12 + 24 + 20 = 476.
  EXPECT_DOUBLE_EQ(ComputePoints(Record(200, 40, 30, 6, 4), p), 476);
  // No ratings: the priors.
  EXPECT_DOUBLE_EQ(ComputePoints(Record(0, 0, 0, 0, 0), p), 300);
  // prior_weight 0 and no ratings: the prior rates, no division by zero.
  p.prior_weight = 0;
  EXPECT_DOUBLE_EQ(ComputePoints(Record(0, 0, 0, 0, 0), p), 300);
}

TEST(ComputePointsTest, CapsBoundTheVolumeTerms) {
  RankingPolicy p;
  const double capped = ComputePoints(Record(2000, 0, 0, 100, 0), p);
  EXPECT_DOUBLE_EQ(ComputePoints(Record(50000, 0, 0, 5000, 0), p), capped);
  EXPECT_LT(ComputePoints(Record(1999, 0, 0, 100, 0), p), capped);
}

TEST(ComputeRankTest, WorkedExampleOfTheDocs) {
  // docs/DIRECTORY.md: 1200 handled, 300 ratings, 276 good (92 %), 40 favourites, 24 tips.
  //   good  1000 * (276 + 20 * 0.6) / (300 + 20) = 900
  //   fav      2 * 40                             =  80
  //   tips   300 * (24 + 0) / 320                 =  22.5
  //   hand  0.05 * 1200                           =  60
  //   total 1062.5 -> 1063: elite (950 <= 1063 < 1100).
  const EngineerRecord r = Record(1200, 300, 276, 40, 24);
  EXPECT_DOUBLE_EQ(ComputePoints(r, RankingPolicy()), 1062.5);
  Rank rank = ComputeRank(r, RankingPolicy(), Tier::kCore);
  EXPECT_EQ(rank.points, 1063);
  EXPECT_EQ(rank.tier, Tier::kElite);
  EXPECT_EQ(rank.reason, "points 1063 >= elite 950");
}

TEST(ComputeRankTest, ProfilesLandWhereTheDocsSay) {
  const RankingPolicy p;
  struct Case {
    const char* who;
    EngineerRecord record;
    Tier tier;
  };
  const Case cases[] = {
      {"new, nothing yet", Record(0, 0, 0, 0, 0), Tier::kRookie},
      {"one 5-star rating", Record(1, 1, 1, 0, 0), Tier::kRookie},
      {"20 straight good ratings", Record(20, 20, 20, 0, 0), Tier::kCore},
      {"veteran rated 50 % good", Record(10000, 2000, 1000, 20, 0), Tier::kRookie},
      {"experienced, 75 % good", Record(3000, 600, 450, 10, 0), Tier::kCore},
      {"experienced, 85 % good", Record(3000, 600, 510, 30, 12), Tier::kElite},
      {"experienced, 92 % good", Record(3000, 600, 552, 60, 30), Tier::kExpert},
      {"experienced, 96 % good, loved", Record(5000, 1000, 960, 150, 80), Tier::kMaster},
  };
  for (const Case& c : cases) {
    Rank rank = ComputeRank(c.record, p, Tier::kRookie);
    EXPECT_EQ(rank.tier, c.tier) << c.who << ": " << rank.reason;
  }
}

TEST(ComputeRankTest, PromotesAtTheThresholdAndReportsRookie) {
  RankingPolicy p;
  p.good_rating_weight = 0;
  p.favourite_weight = 0;
  p.tip_rate_weight = 0;
  p.handled_weight = 1;
  p.handled_cap = 0;
  EXPECT_EQ(ComputeRank(Record(799, 0, 0, 0, 0), p, Tier::kRookie).tier, Tier::kRookie);
  EXPECT_EQ(ComputeRank(Record(799, 0, 0, 0, 0), p, Tier::kRookie).reason, "points 799 < core 800");
  EXPECT_EQ(ComputeRank(Record(800, 0, 0, 0, 0), p, Tier::kRookie).tier, Tier::kCore);
  EXPECT_EQ(ComputeRank(Record(1250, 0, 0, 0, 0), p, Tier::kRookie).tier, Tier::kMaster);
  EXPECT_EQ(ComputeRank(Record(1250, 0, 0, 0, 0), p, Tier::kCore).reason,
            "points 1250 >= master 1250");
}

TEST(ComputeRankTest, DemotesOnlyPastTheMargin) {
  RankingPolicy p;
  p.good_rating_weight = 0;
  p.favourite_weight = 0;
  p.tip_rate_weight = 0;
  p.handled_weight = 1;
  p.handled_cap = 0;
  // Elite at 950, margin 25: kept down to 925, demoted at 924.
  Rank kept = ComputeRank(Record(925, 0, 0, 0, 0), p, Tier::kElite);
  EXPECT_EQ(kept.tier, Tier::kElite);
  EXPECT_EQ(kept.reason, "points 925 >= elite 950 - 25 (kept)");
  Rank demoted = ComputeRank(Record(924, 0, 0, 0, 0), p, Tier::kElite);
  EXPECT_EQ(demoted.tier, Tier::kCore);
  EXPECT_EQ(demoted.reason, "points 924 < elite 950 - 25 (demoted)");
  // A fall across several tiers steps down to the highest tier the margin still holds:
  // master -> expert at 1080 (expert 1100 - 25 = 1075 <= 1080).
  EXPECT_EQ(ComputeRank(Record(1080, 0, 0, 0, 0), p, Tier::kMaster).tier, Tier::kExpert);
  // ... and to the tier the points reach when no margin holds.
  EXPECT_EQ(ComputeRank(Record(900, 0, 0, 0, 0), p, Tier::kMaster).tier, Tier::kCore);
  EXPECT_EQ(ComputeRank(Record(10, 0, 0, 0, 0), p, Tier::kMaster).tier, Tier::kRookie);
  // Zero margin: demoted as soon as below.
  p.demotion_margin = 0;
  EXPECT_EQ(ComputeRank(Record(949, 0, 0, 0, 0), p, Tier::kElite).tier, Tier::kCore);
  // Promotion ignores the margin.
  EXPECT_EQ(ComputeRank(Record(1100, 0, 0, 0, 0), p, Tier::kElite).tier, Tier::kExpert);
}

TEST(ComputeRankTest, NoFlappingAroundABoundary) {
  RankingPolicy p;
  p.good_rating_weight = 0;
  p.favourite_weight = 0;
  p.tip_rate_weight = 0;
  p.handled_weight = 1;
  p.handled_cap = 0;
  Tier tier = Tier::kCore;
  int changes = 0;
  for (int64_t points : {950, 945, 951, 930, 949, 926, 950, 940}) {
    Rank r = ComputeRank(Record(points, 0, 0, 0, 0), p, tier);
    if (r.tier != tier) ++changes;
    tier = r.tier;
  }
  EXPECT_EQ(changes, 1);  // promoted once at 950, kept since
  EXPECT_EQ(tier, Tier::kElite);
}

TEST(ComputeRankTest, OneFiveStarRatingIsNotAMaster) {
  // The brief's own example: smoothing keeps a single perfect rating near the prior.
  Rank r = ComputeRank(Record(1, 1, 1, 1, 1), RankingPolicy(), Tier::kRookie);
  EXPECT_EQ(r.tier, Tier::kRookie);
  EXPECT_LT(r.points, 700);
}

}  // namespace
}  // namespace omniroute::directory
