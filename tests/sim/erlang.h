// Erlang C (M/M/c) and Erlang A (M/M/c+M) from their formulas: the reference the
// simulator's validation test compares the real engine on virtual time against.
//
//   ErlangFigures c = ErlangC(/*servers=*/20, /*arrival_rate=*/18.0, /*service_rate=*/1.0,
//                             /*threshold=*/0.2);
//   ErlangFigures a = ErlangA(20, 19.0, 1.0, /*patience_rate=*/0.5, 0.2);
//
// Rates are per unit of time and `threshold` (the service-level target time) is in the same
// unit. Figures follow docs/SIMULATION.md's definitions:
//   p_wait         P(an arriving customer finds every server busy) = P(wait > 0)
//   asa            mean wait of the customers who are served
//   service_level  P(served, and within `threshold` of arriving)
//   abandon_rate   P(abandon)
//   occupancy      mean share of servers busy
//
// Erlang C: C(c, a) for a = lambda / mu, through the Erlang B recursion
//   B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)),  C = c B(c) / (c - a (1 - B(c)))
// (A. K. Erlang 1917; e.g. Gross & Harris, Fundamentals of Queueing Theory, sec. 2.3), with
//   asa = C / (c mu - lambda),  service_level = 1 - C exp(-(c mu - lambda) t),
//   occupancy = a / c.
//
// Erlang A: the birth-death process of Palm (1943) as in Garnett, Mandelbaum & Reiman,
// "Designing a call center with impatient customers" (MSOM 4(3), 2002): birth rate lambda,
// death rate mu min(n, c) + theta max(n - c, 0). Its stationary distribution pi is computed
// numerically (the series is truncated where its terms fall below 1e-17 of the largest), and
// by PASTA an arrival sees pi. Then p_wait = sum_{n >= c} pi_n, abandon_rate =
// theta E[(N - c)+] / lambda (Little), occupancy = E[min(N, c)] / c. For the waiting time of
// a customer who arrives to find k others waiting, FIFO: while j customers are ahead of it,
// the next event that concerns it comes at rate c mu + (j + 1) theta; with probability
// (c mu + j theta) / (c mu + (j + 1) theta) it moves up one place (or into service when
// j = 0), otherwise it abandons. So P(served | k) = prod_{j=0..k} (c mu + j theta) /
// (c mu + (j + 1) theta), and, the time spent in a state being independent of the way it is
// left, E[wait; served | k] = P(served | k) sum_{j=0..k} 1 / (c mu + (j + 1) theta).
// P(served within t | k) is the absorption probability by time t of that chain, computed by
// uniformisation (Grassmann 1977) to 1e-12. These are the figures Mandelbaum & Zeltyn
// ("The M/M/n+G queue: summary of performance measures", 2007) give in closed form.

#ifndef OMNIROUTE_TESTS_SIM_ERLANG_H_
#define OMNIROUTE_TESTS_SIM_ERLANG_H_

#include <algorithm>
#include <cmath>
#include <vector>

namespace omniroute::sim::testing {

struct ErlangFigures {
  double p_wait = 0;
  double asa = 0;
  double service_level = 0;
  double abandon_rate = 0;
  double occupancy = 0;
  // Erlang A only: P(abandon) computed the other way, from what arrivals see (PASTA); equals
  // abandon_rate up to rounding. A check on the formulas.
  double abandon_rate_seen_by_arrivals = 0;
};

// Erlang B blocking probability B(c, a), by the stable recursion.
inline double ErlangB(int servers, double offered_load) {
  double b = 1.0;
  for (int k = 1; k <= servers; ++k) b = offered_load * b / (k + offered_load * b);
  return b;
}

// M/M/c with infinite patience. Requires arrival_rate < servers * service_rate.
inline ErlangFigures ErlangC(int servers, double arrival_rate, double service_rate,
                             double threshold) {
  const double a = arrival_rate / service_rate;
  const double c = servers;
  const double b = ErlangB(servers, a);
  ErlangFigures f;
  f.p_wait = c * b / (c - a * (1.0 - b));
  const double drain = c * service_rate - arrival_rate;
  f.asa = f.p_wait / drain;
  f.service_level = 1.0 - f.p_wait * std::exp(-drain * threshold);
  f.abandon_rate = 0;
  f.occupancy = a / c;
  return f;
}

// M/M/c+M: exponential patience with rate `patience_rate` (mean patience 1 / rate), which
// must be > 0. Any load (the queue is stable whatever lambda).
inline ErlangFigures ErlangA(int servers, double arrival_rate, double service_rate,
                             double patience_rate, double threshold) {
  const double lambda = arrival_rate, mu = service_rate, theta = patience_rate;
  const int c = servers;
  // Unnormalised stationary distribution, in log space against overflow.
  std::vector<double> log_p = {0.0};
  double max_log = 0.0;
  for (int n = 1;; ++n) {
    const double death = mu * std::min(n, c) + theta * std::max(n - c, 0);
    log_p.push_back(log_p.back() + std::log(lambda / death));
    max_log = std::max(max_log, log_p.back());
    if (n > c && log_p.back() < max_log - 40.0 && lambda < death) break;
  }
  const int size = static_cast<int>(log_p.size());
  std::vector<double> pi(size);
  double total = 0;
  for (int n = 0; n < size; ++n) total += pi[n] = std::exp(log_p[n] - max_log);
  for (double& p : pi) p /= total;

  ErlangFigures f;
  double queue_mean = 0, busy_mean = 0, served_wait = 0, abandon_by_k = 0;
  for (int n = 0; n < size; ++n) {
    busy_mean += pi[n] * std::min(n, c);
    if (n < c) continue;
    f.p_wait += pi[n];
    queue_mean += pi[n] * (n - c);
    // An arrival finding k = n - c waiting.
    double served = 1.0, mean_time = 0.0;
    for (int j = 0; j <= n - c; ++j) {
      const double rate = c * mu + (j + 1) * theta;
      served *= (c * mu + j * theta) / rate;
      mean_time += 1.0 / rate;
    }
    served_wait += pi[n] * served * mean_time;
    abandon_by_k += pi[n] * (1.0 - served);
  }
  f.abandon_rate = theta * queue_mean / lambda;
  f.asa = served_wait / (1.0 - f.abandon_rate);
  f.occupancy = busy_mean / c;
  f.abandon_rate_seen_by_arrivals = abandon_by_k;

  // Service level: arrivals finding a free server are served at once; the others by
  // uniformisation of the tagged customer's chain (state j = customers ahead, j = 0..K;
  // absorbing "served"). Every arrival class k starts in state k with mass pi[c + k].
  const int k_max = size - 1 - c;
  const double uniform_rate = c * mu + (k_max + 1) * theta;
  std::vector<double> mass(k_max + 1);
  for (int k = 0; k <= k_max; ++k) mass[k] = pi[c + k];
  double served_mass = 0, within = 0;
  const double lt = uniform_rate * threshold;
  // Poisson(n; lt) weights, iteratively in log space.
  double log_weight = -lt, cumulative = 0;
  for (int step = 0;; ++step) {
    const double weight = std::exp(log_weight);
    within += weight * served_mass;
    cumulative += weight;
    if ((1.0 - cumulative < 1e-12 && step >= lt) || step > 1000000) break;
    // One step of the uniformised chain.
    std::vector<double> next(k_max + 1, 0.0);
    for (int j = 0; j <= k_max; ++j) {
      const double up = (c * mu + j * theta) / uniform_rate;   // moves up (or is served)
      const double leave = theta / uniform_rate;               // abandons
      const double stay = 1.0 - up - leave;
      if (j == 0) {
        served_mass += mass[j] * up;
      } else {
        next[j - 1] += mass[j] * up;
      }
      next[j] += mass[j] * stay;
    }
    mass.swap(next);
    log_weight += std::log(lt) - std::log(step + 1.0);
  }
  f.service_level = (1.0 - f.p_wait) + within;
  return f;
}

}  // namespace omniroute::sim::testing

#endif  // OMNIROUTE_TESTS_SIM_ERLANG_H_
