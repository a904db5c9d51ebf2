// The reference formulas of tests/sim/erlang.h, checked against values they must give:
// textbook numbers, exact special cases and the identities between Erlang C and Erlang A.
// The simulator's validation test trusts these formulas, so they are checked first.

#include "tests/sim/erlang.h"

#include <cmath>

#include "gtest/gtest.h"

namespace omniroute::sim::testing {
namespace {

TEST(ErlangFormulasTest, ErlangBRecursionMatchesTheClosedForm) {
  // B(c, a) = (a^c / c!) / sum_{k<=c} a^k / k!
  for (int c : {1, 2, 5, 12}) {
    for (double a : {0.5, 3.0, 9.7}) {
      double term = 1, sum = 1;
      for (int k = 1; k <= c; ++k) sum += term *= a / k;
      EXPECT_NEAR(ErlangB(c, a), term / sum, 1e-12) << c << " " << a;
    }
  }
}

TEST(ErlangFormulasTest, ErlangCSmallCasesByHand) {
  // c = 1: M/M/1, P(wait) = rho, mean wait rho / (mu - lambda).
  ErlangFigures one = ErlangC(1, 0.7, 1.0, 2.0);
  EXPECT_NEAR(one.p_wait, 0.7, 1e-12);
  EXPECT_NEAR(one.asa, 0.7 / 0.3, 1e-12);
  EXPECT_NEAR(one.service_level, 1 - 0.7 * std::exp(-0.3 * 2.0), 1e-12);
  EXPECT_NEAR(one.occupancy, 0.7, 1e-12);
  // c = 2, a = 1: C = 1/3; c = 3, a = 2: C = 4/9.
  EXPECT_NEAR(ErlangC(2, 1.0, 1.0, 0).p_wait, 1.0 / 3, 1e-12);
  EXPECT_NEAR(ErlangC(3, 2.0, 1.0, 0).p_wait, 4.0 / 9, 1e-12);
  // A published value: 10 agents, 8 Erlangs -> C = 0.409 (e.g. Koole, Call Center
  // Optimization, table of Erlang C).
  EXPECT_NEAR(ErlangC(10, 8.0, 1.0, 0).p_wait, 0.4092, 5e-4);
  EXPECT_EQ(ErlangC(10, 8.0, 1.0, 0).abandon_rate, 0);
}

TEST(ErlangFormulasTest, ErlangAWithPatienceEqualToServiceIsAnInfiniteServerQueue) {
  // theta = mu: every customer leaves at rate mu whether waiting or served, so the number in
  // the system is Poisson(a).
  const int c = 6;
  const double a = 5.0;
  ErlangFigures f = ErlangA(c, a, 1.0, 1.0, 0.5);
  double p = std::exp(-a), below = 0, busy = 0, queue = 0;
  for (int n = 0; n < 200; ++n) {
    if (n < c) below += p;
    busy += p * std::min(n, c);
    queue += p * std::max(n - c, 0);
    p *= a / (n + 1);
  }
  EXPECT_NEAR(f.p_wait, 1 - below, 1e-10);
  EXPECT_NEAR(f.occupancy, busy / c, 1e-10);
  EXPECT_NEAR(f.abandon_rate, queue / a, 1e-10);
  EXPECT_NEAR(f.abandon_rate_seen_by_arrivals, f.abandon_rate, 1e-10);
}

TEST(ErlangFormulasTest, ErlangATendsToErlangCAsPatienceGrows) {
  for (double load : {0.7, 0.85, 0.95}) {
    const int c = 20;
    const double lambda = load * c;
    ErlangFigures ec = ErlangC(c, lambda, 1.0, 0.2);
    ErlangFigures ea = ErlangA(c, lambda, 1.0, 1e-7, 0.2);
    EXPECT_NEAR(ea.p_wait, ec.p_wait, 1e-4) << load;
    EXPECT_NEAR(ea.asa / ec.asa, 1.0, 1e-3) << load;
    EXPECT_NEAR(ea.service_level, ec.service_level, 1e-4) << load;
    EXPECT_NEAR(ea.occupancy, ec.occupancy, 1e-4) << load;
    EXPECT_LT(ea.abandon_rate, 1e-5) << load;
  }
}

TEST(ErlangFormulasTest, ErlangAIdentitiesHold) {
  for (double load : {0.7, 0.9, 1.1}) {
    const int c = 15;
    const double lambda = load * c, mu = 1.0, theta = 0.5;
    ErlangFigures f = ErlangA(c, lambda, mu, theta, 0.3);
    // Two ways of counting abandonment agree (Little's law on the queue; PASTA).
    EXPECT_NEAR(f.abandon_rate_seen_by_arrivals, f.abandon_rate, 1e-9) << load;
    // Flow balance: what is served is what servers do, lambda (1 - P(ab)) = c mu occupancy.
    EXPECT_NEAR(lambda * (1 - f.abandon_rate), c * mu * f.occupancy, 1e-9) << load;
    // Service level: at least those served at once, at most all those served.
    EXPECT_GE(f.service_level, 1 - f.p_wait) << load;
    EXPECT_LE(f.service_level, 1 - f.abandon_rate + 1e-12) << load;
    // With an unbounded target every served customer counts.
    ErlangFigures forever = ErlangA(c, lambda, mu, theta, 80.0);
    EXPECT_NEAR(forever.service_level, 1 - f.abandon_rate, 1e-9) << load;
    // A zero target counts only those served at once.
    ErlangFigures zero = ErlangA(c, lambda, mu, theta, 0.0);
    EXPECT_NEAR(zero.service_level, 1 - f.p_wait, 1e-12) << load;
  }
}

TEST(ErlangFormulasTest, ErlangAServiceLevelOfOneServerByHand) {
  // c = 1, a customer finding the server busy and nobody waiting (k = 0) is served within t
  // with probability mu/(mu+theta) (1 - exp(-(mu+theta) t)); with one waiting ahead (k = 1)
  // it needs two steps of rates r1 = mu + theta, r2 = mu + 2 theta.
  const double lambda = 0.8, mu = 1.0, theta = 0.25, t = 0.7;
  ErlangFigures f = ErlangA(1, lambda, mu, theta, t);
  // Stationary distribution by hand from the same birth-death rates.
  std::vector<double> p = {1.0};
  for (int n = 1; n < 400; ++n) p.push_back(p.back() * lambda / (mu + theta * (n - 1)));
  double total = 0;
  for (double x : p) total += x;
  for (double& x : p) x /= total;
  // Hypoexponential CDF with distinct rates r_1..r_m (explicit formula), for small m only.
  auto hypo_cdf = [](const std::vector<double>& r, double time) {
    double tail = 0;
    for (size_t i = 0; i < r.size(); ++i) {
      double coeff = 1;
      for (size_t j = 0; j < r.size(); ++j) {
        if (j != i) coeff *= r[j] / (r[j] - r[i]);
      }
      tail += coeff * std::exp(-r[i] * time);
    }
    return 1 - tail;
  };
  double expected = p[0];
  for (int k = 0; k <= 40; ++k) {  // the terms beyond are below 1e-30
    std::vector<double> rates;
    double served = 1;
    for (int j = 0; j <= k; ++j) {
      rates.push_back(mu + (j + 1) * theta);
      served *= (mu + j * theta) / (mu + (j + 1) * theta);
    }
    expected += p[k + 1] * served * hypo_cdf(rates, t);
  }
  EXPECT_NEAR(f.service_level, expected, 1e-9);
}

}  // namespace
}  // namespace omniroute::sim::testing
