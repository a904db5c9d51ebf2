// LatencyHistogram: a fixed-size, lock-free histogram of latencies in microseconds.
//
//   LatencyHistogram h;
//   h.Record(elapsed_us);                        // from any thread
//   LatencyHistogram::Snapshot before = h.Take();
//   h.ResetMax();
//   ...
//   LatencyHistogram::Snapshot window = h.Take().Minus(before);
//   int64_t p99 = window.Percentile(0.99);
//
// Buckets are log-linear (32 per power of two), so a percentile is exact to within 1/32
// (about 3 %) of its value, from 0 us to about 25 days; memory is constant (about 10 KB)
// whatever the number of values. Percentiles are reported as the upper bound of their bucket
// (never below the true value), capped at the maximum.
//
// Record() is thread-safe and wait-free apart from the maximum (a CAS loop). A Snapshot is a
// plain value.

#ifndef OMNIROUTE_BENCH_LATENCY_HISTOGRAM_H_
#define OMNIROUTE_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace omniroute::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  // Values of 2^(kMaxExponent+1) us and more land in the last bucket.
  static constexpr int kMaxExponent = 40;
  static constexpr int kBuckets = kSubBuckets + (kMaxExponent - kSubBucketBits + 1) * kSubBuckets;

  // A copy of the counts at one moment (counts taken one by one: a Record() running
  // concurrently may be seen partly).
  struct Snapshot {
    std::vector<uint64_t> counts = std::vector<uint64_t>(kBuckets, 0);
    uint64_t count = 0;
    // Sum of the values, for the mean.
    uint64_t sum = 0;
    // Largest value recorded since the last ResetMax() (0 if none).
    int64_t max = 0;

    // The counts recorded since `earlier` (a snapshot of the same histogram); keeps this
    // snapshot's `max`.
    Snapshot Minus(const Snapshot& earlier) const;
    // The value at quantile `q` (0..1): the upper bound of the bucket holding the value of
    // rank ceil(q * count), capped at `max` when `max` is known. 0 when empty.
    int64_t Percentile(double q) const;
    double Mean() const { return count == 0 ? 0.0 : static_cast<double>(sum) / count; }
  };

  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Records one value in microseconds (negative values count as 0).
  void Record(int64_t micros);
  // Starts the maximum afresh (counts are kept; take differences of snapshots for windows).
  void ResetMax() { max_.store(0, std::memory_order_relaxed); }
  Snapshot Take() const;

  // The bucket of `micros` and the largest value of bucket `index`.
  static int BucketOf(int64_t micros);
  static int64_t BucketUpperBound(int index);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> sum_{0};
  std::atomic<int64_t> max_{0};
};

}  // namespace omniroute::bench

#endif  // OMNIROUTE_BENCH_LATENCY_HISTOGRAM_H_
