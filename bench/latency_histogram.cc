#include "bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace omniroute::bench {

int LatencyHistogram::BucketOf(int64_t micros) {
  if (micros < kSubBuckets) return micros < 0 ? 0 : static_cast<int>(micros);
  const auto u = static_cast<uint64_t>(micros);
  const int exponent = std::bit_width(u) - 1;  // >= kSubBucketBits
  if (exponent > kMaxExponent) return kBuckets - 1;
  const int shift = exponent - kSubBucketBits;
  const int top = static_cast<int>(u >> shift);  // kSubBuckets..2*kSubBuckets-1
  return kSubBuckets + shift * kSubBuckets + (top - kSubBuckets);
}

int64_t LatencyHistogram::BucketUpperBound(int index) {
  if (index < kSubBuckets) return index;
  const int shift = (index - kSubBuckets) / kSubBuckets;
  const int64_t top = (index - kSubBuckets) % kSubBuckets + kSubBuckets;
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t micros) {
  if (micros < 0) micros = 0;
  counts_[BucketOf(micros)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (micros > seen &&
         !max_.compare_exchange_weak(seen, micros, std::memory_order_relaxed)) {
  }
}

LatencyHistogram::Snapshot LatencyHistogram::Take() const {
  Snapshot s;
  for (int i = 0; i < kBuckets; ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  s.max = max_.load(std::memory_order_relaxed);
  return s;
}

LatencyHistogram::Snapshot LatencyHistogram::Snapshot::Minus(const Snapshot& earlier) const {
  Snapshot d;
  for (int i = 0; i < kBuckets; ++i) {
    d.counts[i] = counts[i] >= earlier.counts[i] ? counts[i] - earlier.counts[i] : 0;
    d.count += d.counts[i];
  }
  d.sum = sum >= earlier.sum ? sum - earlier.sum : 0;
  d.max = max;
  return d;
}

int64_t LatencyHistogram::Snapshot::Percentile(double q) const {
  if (count == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts[i];
    if (seen >= rank) {
      const int64_t upper = BucketUpperBound(i);
      return max > 0 ? std::min(upper, max) : upper;
    }
  }
  return max;
}

}  // namespace omniroute::bench
