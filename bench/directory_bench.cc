// Google Benchmark figures of the customer directory (omniroute::directory) at scale.
//
//   BM_ResolveKnown        Resolve of a known handle (2 point reads), one thread: each call
//                          timed with a steady clock over a random sample, after a warm-up
//                          pass over the same sample; counters p50_us, p99_us, p999_us,
//                          mean_us, max_us; then cpu_p50_us, cpu_p99_us from a second
//                          pass timed with the thread's CPU clock (without the waits for a
//                          core on a shared machine)
//   BM_GetById             Get by id (1 point read), the same way
//   BM_ResolveKnownThreads Resolve of known handles from several threads: throughput
//   BM_ResolveCreate/sync:1, sync:0
//                          Resolve(create) of new handles (a miss, then a write of the
//                          customer, the handle and the id counter), with Options::sync_writes
//                          on (an fsync per call, shared by concurrent callers) and off;
//                          one and four threads: throughput
//
// The directory holds N customers with two handles each (a phone number and a WeChat
// openid), written once with BulkLoad and compacted, and reused by later runs with the same N.
//
//   OMNIROUTE_DIRECTORY_BENCH_CUSTOMERS  N (default 100000)
//   OMNIROUTE_DIRECTORY_BENCH_DIR        where (default /tmp/omniroute-directory-bench-<N>;
//                                        the store is <dir>/db)
//   OMNIROUTE_DIRECTORY_BENCH_SAMPLE     lookups timed per latency benchmark (default 200000)
//   OMNIROUTE_DIRECTORY_BENCH_CACHE_MB   block cache (default 256, the daemon's default)
//
//   OMNIROUTE_DIRECTORY_BENCH_CUSTOMERS=10000000 ./directory_bench
//
// docs/DIRECTORY.md has the figures.

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "omniroute/directory/directory.h"

namespace omniroute::directory {
namespace {

namespace fs = std::filesystem;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  int64_t n = 0;
  return v != nullptr && absl::SimpleAtoi(v, &n) && n > 0 ? n : fallback;
}

struct Setup {
  int64_t customers = 0;
  std::string base;
  std::string db;
  int64_t sample = 0;
  size_t cache_bytes = 0;
};
Setup g_setup;
std::unique_ptr<Directory> g_dir;
bool g_sync = false;

// Customer k's handles: a phone number and a WeChat-openid-like string, both derived from k.
Handle PhoneOf(int64_t k) {
  return Handle{"phone", absl::StrCat("+86", 13000000000 + (k * 7919) % 9000000000)};
}
Handle WechatOf(int64_t k) {
  const uint64_t h = static_cast<uint64_t>(k) * 0x9E3779B97F4A7C15ull;
  return Handle{"wechat", absl::StrFormat("oUpF8u%016x%06d", h, k % 1000000)};
}
std::string IdOf(int64_t k) { return absl::StrCat("cust-", k); }

Customer MakeCustomer(int64_t k) {
  Customer c;
  c.id = IdOf(k);
  c.display_name = absl::StrCat("Customer ", k);
  c.vip_level = static_cast<int>(k % 10 == 0 ? k % 7 : 0);
  if (k % 3 == 0) c.tags = {"new-home"};
  c.language = "zh-CN";
  c.handles = {PhoneOf(k), WechatOf(k)};
  c.created_at = absl::FromUnixSeconds(1700000000 + k);
  c.updated_at = c.created_at;
  return c;
}

uint64_t DiskBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

void Die(const absl::Status& st, const char* what) {
  std::fprintf(stderr, "directory_bench: %s: %s\n", what, st.ToString().c_str());
  std::exit(1);
}

void OpenDirectory(bool sync) {
  g_dir.reset();
  Options options;
  options.sync_writes = sync;
  options.block_cache_bytes = g_setup.cache_bytes;
  absl::StatusOr<std::unique_ptr<Directory>> dir = Directory::Open(g_setup.db, options);
  if (!dir.ok()) Die(dir.status(), "open");
  g_dir = *std::move(dir);
  g_sync = sync;
}

// Loads the store unless a previous run left one with the same N (the marker file says so).
void Prepare() {
  const std::string marker = g_setup.base + "/loaded";
  {
    std::ifstream in(marker);
    int64_t n = 0;
    double load_s = 0, compact_s = 0;
    if (in >> n >> load_s >> compact_s && n == g_setup.customers) {
      OpenDirectory(false);
      benchmark::AddCustomContext("load", absl::StrFormat("reused (loaded in %.1f s, "
                                                          "compacted in %.1f s)",
                                                          load_s, compact_s));
      return;
    }
  }
  std::error_code ec;
  fs::remove_all(g_setup.db, ec);
  fs::create_directories(g_setup.base, ec);
  OpenDirectory(false);
  const absl::Time start = absl::Now();
  constexpr int64_t kChunk = 10000;
  std::vector<Customer> chunk;
  for (int64_t k = 1; k <= g_setup.customers; k += kChunk) {
    chunk.clear();
    for (int64_t i = k; i < k + kChunk && i <= g_setup.customers; ++i) {
      chunk.push_back(MakeCustomer(i));
    }
    if (absl::Status st = g_dir->BulkLoad(chunk); !st.ok()) Die(st, "bulk load");
    if ((k / kChunk) % 100 == 0) {
      std::fprintf(stderr, "loaded %lld customers, %.0f s\n", static_cast<long long>(k - 1),
                   absl::ToDoubleSeconds(absl::Now() - start));
    }
  }
  const double load_s = absl::ToDoubleSeconds(absl::Now() - start);
  const absl::Time compact_start = absl::Now();
  if (absl::Status st = g_dir->CompactAll(); !st.ok()) Die(st, "compact");
  const double compact_s = absl::ToDoubleSeconds(absl::Now() - compact_start);
  std::ofstream(marker) << g_setup.customers << " " << load_s << " " << compact_s << "\n";
  benchmark::AddCustomContext(
      "load", absl::StrFormat("BulkLoad %.1f s (%.0f customers/s), CompactAll %.1f s", load_s,
                              static_cast<double>(g_setup.customers) / load_s, compact_s));
}

double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Times `call` on each of `sample` random customers (after the same pass untimed) and sets
// the latency counters.
template <typename Fn>
void MeasureLatency(benchmark::State& state, Fn call) {
  if (g_sync) OpenDirectory(false);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> pick(1, g_setup.customers);
  std::vector<std::pair<int64_t, bool>> sample(static_cast<size_t>(g_setup.sample));
  for (auto& s : sample) s = {pick(rng), (rng() & 1) != 0};
  for (const auto& [k, second] : sample) call(k, second);  // warm-up pass
  std::shuffle(sample.begin(), sample.end(), rng);
  std::vector<double> us;
  us.reserve(sample.size());
  for (auto _ : state) {
    for (const auto& [k, second] : sample) {
      const auto t0 = std::chrono::steady_clock::now();
      call(k, second);
      const auto t1 = std::chrono::steady_clock::now();
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  // The same sample again, timed with this thread's CPU clock: what the calls cost when the
  // machine is shared and the thread waits for a core (steady-clock time includes that
  // wait; CPU time does not, nor any wait for the disk, which the warm store does not do).
  std::vector<double> cpu_us;
  cpu_us.reserve(sample.size());
  for (const auto& [k, second] : sample) {
    const double c0 = ThreadCpuMicros();
    call(k, second);
    cpu_us.push_back(ThreadCpuMicros() - c0);
  }
  std::sort(us.begin(), us.end());
  std::sort(cpu_us.begin(), cpu_us.end());
  auto at = [](const std::vector<double>& v, double q) {
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  };
  double sum = 0;
  for (double u : us) sum += u;
  state.counters["p50_us"] = at(us, 0.50);
  state.counters["p99_us"] = at(us, 0.99);
  state.counters["p999_us"] = at(us, 0.999);
  state.counters["max_us"] = us.back();
  state.counters["mean_us"] = sum / static_cast<double>(us.size());
  state.counters["cpu_p50_us"] = at(cpu_us, 0.50);
  state.counters["cpu_p99_us"] = at(cpu_us, 0.99);
  state.SetItemsProcessed(static_cast<int64_t>(us.size()));
}

void BM_ResolveKnown(benchmark::State& state) {
  MeasureLatency(state, [](int64_t k, bool wechat) {
    const Handle h = wechat ? WechatOf(k) : PhoneOf(k);
    absl::StatusOr<Directory::Resolved> r = g_dir->Resolve(h, false, absl::UnixEpoch());
    if (!r.ok() || r->customer.id != IdOf(k)) Die(r.status(), "resolve of a known handle");
  });
}

void BM_GetById(benchmark::State& state) {
  MeasureLatency(state, [](int64_t k, bool) {
    absl::StatusOr<Customer> c = g_dir->Get(IdOf(k));
    if (!c.ok()) Die(c.status(), "get");
  });
}

void BM_ResolveKnownThreads(benchmark::State& state) {
  std::mt19937_64 rng(1000 + state.thread_index());
  std::uniform_int_distribution<int64_t> pick(1, g_setup.customers);
  for (auto _ : state) {
    const int64_t k = pick(rng);
    absl::StatusOr<Directory::Resolved> r =
        g_dir->Resolve((k & 1) ? WechatOf(k) : PhoneOf(k), false, absl::UnixEpoch());
    if (!r.ok()) Die(r.status(), "resolve of a known handle");
  }
  state.SetItemsProcessed(state.iterations());
}

std::atomic<int64_t> g_new_handles{0};
std::string g_run_tag;

void BM_ResolveCreate(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  if (state.thread_index() == 0 && g_sync != sync) OpenDirectory(sync);
  for (auto _ : state) {
    const Handle h{"app", absl::StrCat(g_run_tag, "-", g_new_handles.fetch_add(1))};
    absl::StatusOr<Directory::Resolved> r = g_dir->Resolve(h, true, absl::Now());
    if (!r.ok() || !r->created) Die(r.status(), "resolve(create)");
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ResolveKnown)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GetById)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ResolveKnownThreads)->Threads(1)->Threads(2)->UseRealTime()->MinTime(2);
BENCHMARK(BM_ResolveCreate)
    ->ArgName("sync")
    ->Arg(1)
    ->Arg(0)
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime()
    ->MinTime(2);

}  // namespace
}  // namespace omniroute::directory

int main(int argc, char** argv) {
  using namespace omniroute::directory;  // NOLINT
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_setup.customers = EnvInt("OMNIROUTE_DIRECTORY_BENCH_CUSTOMERS", 100000);
  g_setup.base = std::getenv("OMNIROUTE_DIRECTORY_BENCH_DIR") != nullptr
                     ? std::getenv("OMNIROUTE_DIRECTORY_BENCH_DIR")
                     : absl::StrCat("/tmp/omniroute-directory-bench-", g_setup.customers);
  g_setup.db = g_setup.base + "/db";
  g_setup.sample = EnvInt("OMNIROUTE_DIRECTORY_BENCH_SAMPLE", 200000);
  g_setup.cache_bytes = static_cast<size_t>(EnvInt("OMNIROUTE_DIRECTORY_BENCH_CACHE_MB", 256))
                        << 20;
  g_run_tag = absl::StrCat("bench-", absl::ToUnixNanos(absl::Now()));
  Prepare();
  benchmark::AddCustomContext("customers", absl::StrCat(g_setup.customers));
  benchmark::AddCustomContext("directory", g_setup.db);
  benchmark::AddCustomContext("block_cache_mb", absl::StrCat(g_setup.cache_bytes >> 20));
  benchmark::AddCustomContext("disk_bytes_before_run", absl::StrCat(DiskBytes(g_setup.db)));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fprintf(stderr, "directory: %s, %llu bytes on disk after the run\n", g_setup.db.c_str(),
               static_cast<unsigned long long>(DiskBytes(g_setup.db)));
  g_dir.reset();
  return 0;
}
