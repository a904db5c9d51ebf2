// Tests of the load generator `omniroute-bench` (bench/): option parsing, distributions, the
// open-loop schedule, profile loading and validation, the desktops' timer queue, and
// end-to-end runs of the real binary against a fresh `omnirouted` (closed loop with the echo
// baseline, open loop with desktop delays, a profile). No timing thresholds: the end-to-end
// tests check that sessions were routed without errors, not how fast.
//
//   build/bench/loadgen_test
//
// OMNIROUTED_PATH, OMNIROUTE_BENCH_PATH and OMNIROUTE_SOURCE_DIR come from bench/CMakeLists.txt.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "bench/arrival_schedule.h"
#include "bench/distribution.h"
#include "bench/echo_server.h"
#include "bench/load_options.h"
#include "bench/load_plan.h"
#include "bench/sim/scenario.h"
#include "bench/timer_queue.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

#ifndef OMNIROUTED_PATH
#error "OMNIROUTED_PATH must be defined (bench/CMakeLists.txt does it)"
#endif

namespace omniroute::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::StatusOr<LoadOptions> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "omniroute-bench");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return ParseLoadOptions(static_cast<int>(argv.size()), argv.data());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kProfilePath =
    std::string(OMNIROUTE_SOURCE_DIR) + "/bench/profiles/after_sales.textproto";

// ---------------------------------------------------------------------------------------------
// Options

TEST(LoadOptionsTest, DefaultsAreTheClosedLoopOfBefore) {
  absl::StatusOr<LoadOptions> o = Parse({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->rate, 0);
  EXPECT_TRUE(o->accept_delay.is_zero());
  EXPECT_TRUE(o->handle_time.is_zero());
  EXPECT_TRUE(o->wrap_up_time.is_zero());
  EXPECT_TRUE(o->baseline.empty());
  const LoadPlan plan = MakeDefaultPlan(*o);
  EXPECT_FALSE(plan.open_loop());
  EXPECT_EQ(plan.desktops.size(), 50u);
  EXPECT_EQ(plan.desktops[0].agent_id, "bench-agent-0");
  EXPECT_EQ(plan.max_open, 2 * 50 * 4);
}

TEST(LoadOptionsTest, NewFlagsParse) {
  absl::StatusOr<LoadOptions> o =
      Parse({"--rate=2500.5", "--arrivals=uniform", "--seed", "42", "--accept_delay=exp:200ms",
             "--reject_probability=0.1", "--handle_time=lognormal:3m,1m", "--wrap_up_time=2s"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->rate, 2500.5);
  EXPECT_EQ(o->arrivals, "uniform");
  EXPECT_EQ(o->seed, 42u);
  EXPECT_EQ(o->accept_delay.kind(), sim::Distribution::Kind::kExponential);
  EXPECT_EQ(o->accept_delay.mean(), absl::Milliseconds(200));
  EXPECT_EQ(o->handle_time.kind(), sim::Distribution::Kind::kLogNormal);
  EXPECT_EQ(o->handle_time.stddev(), absl::Minutes(1));
  EXPECT_EQ(FormatDistribution(o->wrap_up_time), "const:2s");
  EXPECT_TRUE(o->Given("rate"));
  EXPECT_FALSE(o->Given("inflight"));
  const LoadPlan plan = MakeDefaultPlan(*o);
  EXPECT_TRUE(plan.open_loop());
  EXPECT_EQ(plan.arrivals, ArrivalSchedule::kUniform);
}

TEST(LoadOptionsTest, ErrorsNameTheFlag) {
  const struct {
    std::vector<std::string> args;
    std::string prefix;
  } cases[] = {
      {{"--rate=fast"}, "--rate:"},
      {{"--rate=0"}, "--rate:"},
      {{"--arrivals=bursty"}, "--arrivals:"},
      {{"--seed=-x"}, "--seed:"},
      {{"--accept_delay=soon"}, "--accept_delay:"},
      {{"--handle_time=-2s"}, "--handle_time:"},
      {{"--wrap_up_time=exp:0s"}, "--wrap_up_time:"},
      {{"--handle_time=lognormal:3m"}, "--handle_time:"},
      {{"--reject_probability=1.5"}, "--reject_probability:"},
      {{"--baseline=grpc"}, "--baseline:"},
      {{"--baseline=echo", "--rate=10"}, "--baseline:"},
      {{"--rate=10", "--inflight=4"}, "--inflight:"},
      {{"--profile=x.textproto", "--agents=3"}, "--agents:"},
      {{"--profile=x.textproto", "--queue=q"}, "--queue:"},
      {{"--nosuchflag=1"}, "unknown flag --nosuchflag"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<LoadOptions> o = Parse(c.args);
    ASSERT_FALSE(o.ok()) << absl::StrJoin(c.args, " ") << " was accepted";
    EXPECT_THAT(std::string(o.status().message()), StartsWith(c.prefix))
        << absl::StrJoin(c.args, " ");
  }
}

// ---------------------------------------------------------------------------------------------
// Distributions

TEST(DistributionTest, ParsesEachKind) {
  const struct {
    std::string text;
    sim::Distribution::Kind kind;
    absl::Duration mean;
  } cases[] = {
      {"0", sim::Distribution::Kind::kConstant, absl::ZeroDuration()},
      {"1.5", sim::Distribution::Kind::kConstant, absl::Milliseconds(1500)},
      {"250ms", sim::Distribution::Kind::kConstant, absl::Milliseconds(250)},
      {"const:2s", sim::Distribution::Kind::kConstant, absl::Seconds(2)},
      {"exp:3s", sim::Distribution::Kind::kExponential, absl::Seconds(3)},
      {"lognormal:3m,1m", sim::Distribution::Kind::kLogNormal, absl::Minutes(3)},
  };
  for (const auto& c : cases) {
    absl::StatusOr<sim::Distribution> d = ParseDistribution("x", c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(d->kind(), c.kind) << c.text;
    EXPECT_EQ(d->mean(), c.mean) << c.text;
  }
}

// The report shows the flags' distributions in their text form.
TEST(DistributionTest, FormatsTheTextForm) {
  for (const char* text : {"0", "const:2s", "exp:2s", "lognormal:3m,1m"}) {
    absl::StatusOr<sim::Distribution> d = ParseDistribution("x", text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.status();
    EXPECT_EQ(FormatDistribution(*d), text);
  }
  EXPECT_EQ(FormatDistribution(sim::Distribution()), "0");
  EXPECT_EQ(FormatDistribution(*ParseDistribution("x", "1.5")), "const:1.5s");
}

// Sample means over many draws of a seeded generator (deterministic, not timing).
TEST(DistributionTest, SamplesHaveTheirMean) {
  const struct {
    sim::Distribution d;
    double mean_s;
    double stddev_s;
  } cases[] = {
      {sim::Distribution::Constant(absl::Seconds(2)), 2, 0},
      {sim::Distribution::Exponential(absl::Seconds(3)), 3, 3},
      {sim::Distribution::LogNormal(absl::Seconds(180), absl::Seconds(60)), 180, 60},
  };
  for (const auto& c : cases) {
    sim::Rng rng(sim::DeriveSeed(1, 2));
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      const double x = absl::ToDoubleSeconds(c.d.Sample(rng));
      ASSERT_GE(x, 0) << c.d.ToString();
      sum += x;
      sum2 += x * x;
    }
    const double mean = sum / n;
    const double stddev = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
    EXPECT_NEAR(mean, c.mean_s, 0.02 * c.mean_s) << c.d.ToString();
    EXPECT_NEAR(stddev, c.stddev_s, 0.03 * c.stddev_s + 1e-9) << c.d.ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// The open-loop schedule

TEST(ArrivalScheduleTest, PoissonHasTheRateAndExponentialGaps) {
  const double rate = 5000;
  ArrivalSchedule schedule(rate, ArrivalSchedule::kPoisson, 7);
  const int n = 200000;
  absl::Duration previous;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const absl::Duration t = schedule.Next();
    const double gap = absl::ToDoubleSeconds(t - previous);
    ASSERT_GE(gap, 0);
    sum += gap;
    sum2 += gap * gap;
    previous = t;
  }
  // n arrivals in n / rate seconds, and gaps whose coefficient of variation is 1.
  EXPECT_NEAR(absl::ToDoubleSeconds(previous), n / rate, 0.01 * n / rate);
  const double mean = sum / n;
  const double cv = std::sqrt(sum2 / n - mean * mean) / mean;
  EXPECT_NEAR(cv, 1.0, 0.02);
}

TEST(ArrivalScheduleTest, UniformIsEvenlySpaced) {
  ArrivalSchedule schedule(400, ArrivalSchedule::kUniform, 7);
  for (int i = 1; i <= 1000; ++i) {
    EXPECT_NEAR(absl::ToDoubleSeconds(schedule.Next()), i / 400.0, 1e-6) << i;
  }
}

TEST(ArrivalScheduleTest, SameSeedSameScheduleOtherSeedAnother) {
  ArrivalSchedule a(1000, ArrivalSchedule::kPoisson, 3);
  ArrivalSchedule b(1000, ArrivalSchedule::kPoisson, 3);
  ArrivalSchedule c(1000, ArrivalSchedule::kPoisson, 4);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration ta = a.Next();
    ASSERT_EQ(ta, b.Next()) << "arrival " << i;
    differ += ta != c.Next() ? 1 : 0;
  }
  EXPECT_GT(differ, 990);
}

TEST(WeightedPickerTest, PicksInProportion) {
  WeightedPicker picker({3.0, 0.0, 1.0});
  sim::Rng rng(sim::DeriveSeed(5, 0));
  int counts[3] = {0, 0, 0};
  const int n = 100000;
  for (int i = 0; i < n; ++i) ++counts[picker.Pick(sim::Uniform01(rng))];
  EXPECT_NEAR(counts[0], 0.75 * n, 0.01 * n);
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[2], 0.25 * n, 0.01 * n);
}

// ---------------------------------------------------------------------------------------------
// Profiles

absl::StatusOr<LoadPlan> PlanOf(const std::string& text, std::vector<std::string> args = {}) {
  args.push_back("--profile=test.textproto");
  absl::StatusOr<LoadOptions> o = Parse(args);
  if (!o.ok()) return o.status();
  absl::StatusOr<sim::v1::Scenario> scenario = sim::ParseScenarioText(text, "test.textproto");
  if (!scenario.ok()) return scenario.status();
  return MakeProfilePlan(*o, *scenario);
}

TEST(LoadPlanTest, TheExampleProfileLoads) {
  const std::string text = ReadFile(kProfilePath);
  ASSERT_FALSE(text.empty()) << kProfilePath;
  absl::StatusOr<LoadPlan> plan = PlanOf(text);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->name, "after_sales");
  EXPECT_EQ(plan->queues.size(), 4u);
  EXPECT_EQ(plan->channels.size(), 1u);
  EXPECT_EQ(plan->desktops.size(), 12u + 6 + 16 + 6);
  EXPECT_EQ(plan->desktops[0].agent_id, "phone-repair-1");
  EXPECT_EQ(plan->agents[0].id(), "phone-repair-1");
  EXPECT_EQ(plan->desktops.back().agent_id, "chat-repair-6");
  EXPECT_EQ(plan->streams.size(), 8u);
  // Open loop at the profile's own rate; the web chat stream counts with its daily mean.
  EXPECT_TRUE(plan->open_loop());
  EXPECT_NEAR(plan->rate_per_second, 2530 / 3600.0, 1e-9);
  EXPECT_NEAR(plan->streams[7].rate_per_second, 250 / 3600.0, 1e-9);
  EXPECT_EQ(plan->seed, 7u);
  // Behaviours: the group's, and no wrap-up time where the group has none.
  const Behaviour& phone = plan->behaviours[plan->desktops[0].behaviour];
  EXPECT_EQ(phone.accept_delay.kind(), sim::Distribution::Kind::kExponential);
  EXPECT_DOUBLE_EQ(phone.reject_probability, 0.02);
  ASSERT_TRUE(phone.wrap_up_time.has_value());
  EXPECT_FALSE(plan->behaviours[plan->desktops.back().behaviour].wrap_up_time.has_value());
  // Handle times by queue and channel.
  EXPECT_EQ(plan->StreamFor("product", "app").handle_time.mean(), absl::Seconds(300));
  EXPECT_EQ(plan->StreamFor("install", "wechat").handle_time.mean(), absl::Seconds(420));
  // Customers: the VIP stream's snapshot.
  EXPECT_EQ(plan->StreamFor("vip", "phone").customers.at(0).vip_level(), 3);
}

TEST(LoadPlanTest, FlagsOverrideTheProfile) {
  absl::StatusOr<LoadPlan> plan =
      PlanOf(ReadFile(kProfilePath), {"--rate=100", "--handle_time=20ms", "--wrap_up_time=0",
                                      "--accept_delay=exp:1ms", "--seed=9"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_DOUBLE_EQ(plan->rate_per_second, 100);
  EXPECT_EQ(plan->seed, 9u);
  for (const StreamPlan& s : plan->streams) EXPECT_EQ(s.handle_time.mean(), absl::Milliseconds(20));
  for (const Behaviour& b : plan->behaviours) {
    EXPECT_EQ(b.accept_delay.mean(), absl::Milliseconds(1)) << b.group;
    ASSERT_TRUE(b.wrap_up_time.has_value()) << b.group;
    EXPECT_TRUE(b.wrap_up_time->is_zero()) << b.group;
  }
  // --inflight without --rate: the closed loop with the profile's mix.
  absl::StatusOr<LoadPlan> closed = PlanOf(ReadFile(kProfilePath), {"--inflight=4"});
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_FALSE(closed->open_loop());
}

TEST(LoadPlanTest, TheOpenLoopFollowsTheStreamMix) {
  absl::StatusOr<LoadPlan> plan = PlanOf(ReadFile(kProfilePath), {"--rate=1000"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ArrivalSource source(*plan);
  ArrivalSource same(*plan);
  std::vector<int> counts(plan->streams.size(), 0);
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const Arrival a = source.Next();
    const Arrival b = same.Next();
    ASSERT_EQ(a.offset, b.offset) << i;
    ASSERT_EQ(a.stream, b.stream) << i;
    ASSERT_EQ(a.customer, b.customer) << i;
    ++counts[a.stream];
  }
  for (size_t s = 0; s < counts.size(); ++s) {
    const double share = plan->streams[s].rate_per_second / plan->profile_rate_per_second;
    EXPECT_NEAR(counts[s], share * n, 0.01 * n) << plan->streams[s].name;
  }
}

// A minimal valid profile, and mutations of it that must be refused naming the field.
constexpr char kMinimalProfile[] = R"pb(
  queues { id: "q" }
  engineer_groups {
    name: "g"
    count: 2
    agent {
      channels { channel_id: "webchat" }
      queue_ids: "q"
    }
  }
  arrivals {
    queue_id: "q"
    channel_id: "webchat"
    rate_per_hour: 3600
    handle_time { constant { value { seconds: 1 } } }
  }
)pb";

TEST(LoadPlanTest, MinimalProfileLoads) {
  absl::StatusOr<LoadPlan> plan = PlanOf(kMinimalProfile);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_DOUBLE_EQ(plan->rate_per_second, 1.0);
  EXPECT_EQ(plan->desktops[1].agent_id, "g-2");
  EXPECT_GE(plan->max_open, 1000);
}

TEST(LoadPlanTest, BadProfilesNameTheField) {
  const struct {
    std::string extra;  // appended to kMinimalProfile
    std::string needle;
  } cases[] = {
      {"no_such_field: 1", "no_such_field"},
      {"engineer_groups { nme: \"x\" }", "nme"},
      {"queues { id: \"r\" delivery_mode: DELIVERY_MODE_SOMETIMES }", "DELIVERY_MODE_SOMETIMES"},
      {"engineer_groups { name: \"h\" count: 0 }", "engineer_groups[1].count"},
      {"engineer_groups { name: \"g\" count: 1 }", "engineer_groups[1].name"},
      {"engineer_groups { name: \"h\" count: 1 agent { id: \"x\" } }",
       "engineer_groups[1].agent.id"},
      {"engineer_groups { name: \"h\" count: 1 behaviour { reject_probability: 2 } }",
       "engineer_groups[1].behaviour.reject_probability"},
      {"engineer_groups { name: \"h\" count: 1 behaviour { accept_delay { exponential {} } } }",
       "engineer_groups[1].behaviour.accept_delay.exponential.mean: required"},
      {"engineer_groups { name: \"h\" count: 1 behaviour { wrap_up_time {} } }",
       "engineer_groups[1].behaviour.wrap_up_time: required"},
      {"arrivals { queue_id: \"q\" channel_id: \"webchat\" }", "arrivals[1].handle_time"},
      {"arrivals { queue_id: \"nope\" channel_id: \"webchat\" }", "arrivals[1].queue_id"},
      {"arrivals { queue_id: \"q\" channel_id: \"fax\" }", "arrivals[1].channel_id"},
      {"arrivals { queue_id: \"q\" channel_id: \"webchat\" rate_per_hour: -1 }",
       "arrivals[1].rate_per_hour"},
      {"arrivals { queue_id: \"q\" channel_id: \"webchat\" priority: 5000 "
       "handle_time { constant { value { seconds: 1 } } } }",
       "arrivals[1].priority"},
      {"arrivals { queue_id: \"q\" channel_id: \"webchat\" "
       "handle_time { log_normal { mean { seconds: 1 } } } }",
       "arrivals[1].handle_time.log_normal.stddev: required"},
      {"arrivals { queue_id: \"q\" channel_id: \"webchat\" customers { weight: 0 } "
       "handle_time { constant { value { seconds: 1 } } } }",
       "arrivals[1].customers[0].weight"},
      {"arrivals { queue_id: \"q\" channel_id: \"webchat\" "
       "rate_periods { start { seconds: 10 } rate_per_hour: 1 } "
       "handle_time { constant { value { seconds: 1 } } } }",
       "arrivals[1].rate_periods[0].start"},
      {"queues { id: \"q\" }", "queues[1].id"},
      {"queues { id: \"grab\" delivery_mode: DELIVERY_MODE_GRAB }", "queues[1].delivery_mode"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<LoadPlan> plan = PlanOf(absl::StrCat(kMinimalProfile, "\n", c.extra));
    ASSERT_FALSE(plan.ok()) << c.extra << " was accepted";
    EXPECT_THAT(std::string(plan.status().message()), HasSubstr(c.needle)) << c.extra;
  }
  // A scenario with no load needs --rate or --inflight.
  absl::StatusOr<LoadPlan> idle = PlanOf(R"pb(
    queues { id: "q" }
    engineer_groups { name: "g" count: 1 }
    arrivals {
      queue_id: "q"
      channel_id: "webchat"
      handle_time { exponential { mean { seconds: 1 } } }
    }
  )pb");
  ASSERT_FALSE(idle.ok());
  EXPECT_THAT(std::string(idle.status().message()), StartsWith("arrivals:"));
  // A file that is not there.
  absl::StatusOr<LoadOptions> o = Parse({"--profile=/nonexistent/profile.textproto"});
  ASSERT_TRUE(o.ok());
  EXPECT_THAT(std::string(MakeLoadPlan(*o).status().message()), StartsWith("--profile:"));
}

// ---------------------------------------------------------------------------------------------
// The desktops' timers

TEST(TimerQueueTest, RunsInDueOrderAndHurries) {
  TimerQueue timers;
  std::mutex mu;
  std::vector<int> order;
  auto note = [&](int i) {
    return [&, i] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
    };
  };
  // Added out of order; each is due 20 ms after the one before.
  timers.After(absl::Milliseconds(60), note(3));
  timers.After(absl::Milliseconds(20), note(1));
  timers.After(absl::Milliseconds(40), note(2));
  timers.After(absl::Hours(1), note(4));
  for (int i = 0; i < 1000 && timers.pending() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  }
  // The hour-long timer runs at once once hurried, and so does one added afterwards.
  timers.Hurry();
  timers.After(absl::Hours(2), note(5));
  for (int i = 0; i < 1000 && timers.pending() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(TimerQueueTest, StopDropsWhatIsPending) {
  int ran = 0;
  {
    TimerQueue timers;
    timers.After(absl::Hours(1), [&] { ++ran; });
    EXPECT_EQ(timers.pending(), 1);
    timers.Stop();
    EXPECT_EQ(timers.pending(), 0);
    timers.After(absl::ZeroDuration(), [&] { ++ran; });
  }
  EXPECT_EQ(ran, 0);
}

TEST(EchoServerTest, PayloadSizesMatchTheWire) {
  for (int size : {3, 10, 127, 130, 131, 200, 16383, 16390}) {
    const int n = PayloadForSerializedBytes(size);
    echo::EchoResponse r;
    r.mutable_payload()->assign(static_cast<size_t>(n), 'y');
    EXPECT_LE(static_cast<int>(r.ByteSizeLong()), size) << size;
    EXPECT_GE(static_cast<int>(r.ByteSizeLong()), size - 1) << size;
  }
}

// ---------------------------------------------------------------------------------------------
// End to end: omniroute-bench against a fresh omnirouted (--in_memory, port 0).

class Omnirouted {
 public:
  Omnirouted() {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("loadgen_test.", getpid(), ".", counter_++);
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "omnirouted.textproto").string();
    std::ofstream(config_) << "log_level: LOG_LEVEL_WARNING\n";
  }
  ~Omnirouted() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Starts the daemon and waits for its listening line; "" on failure (see stderr_path()).
  std::string Start() {
    int out[2];
    if (pipe(out) != 0) return "";
    const std::string err = stderr_path();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(out[1], 1);
      FILE* e = std::fopen(err.c_str(), "w");
      if (e != nullptr) dup2(fileno(e), 2);
      close(out[0]);
      close(out[1]);
      const std::string config = "--config=" + config_;
      execl(OMNIROUTED_PATH, OMNIROUTED_PATH, config.c_str(), "--listen=127.0.0.1:0",
            "--http=127.0.0.1:0", "--in_memory",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    FILE* in = fdopen(out[0], "r");
    std::string address;
    char line[512];
    const std::string prefix = "omnirouted listening on ";
    while (std::fgets(line, sizeof line, in) != nullptr) {
      std::string l(line);
      while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
      if (l.rfind(prefix, 0) == 0) {
        address = l.substr(prefix.size());
        break;
      }
    }
    // Keep draining the daemon's stdout so that it never blocks on a full pipe.
    std::thread([in] {
      char buffer[512];
      while (std::fgets(buffer, sizeof buffer, in) != nullptr) {
      }
      std::fclose(in);
    }).detach();
    return address;
  }
  std::string stderr_path() const { return (dir_ / "omnirouted.err").string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::string config_;
  pid_t pid_ = -1;
};

// Runs omniroute-bench with `args` (plus --target and --json); its JSON summary, parsed.
struct BenchRun {
  int exit_status = -1;
  std::string stdout_text;
  std::string stderr_text;
  google::protobuf::Struct json;
  bool parsed = false;
};

BenchRun RunBench(const Omnirouted& daemon, const std::string& target,
                  const std::vector<std::string>& args) {
  BenchRun run;
  const std::string err = (daemon.dir() / "bench.err").string();
  std::string command = absl::StrCat(OMNIROUTE_BENCH_PATH, " --target=", target, " --json");
  for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
  absl::StrAppend(&command, " 2>", err);
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) run.stdout_text.append(buffer, n);
  run.exit_status = pclose(p);
  run.stderr_text = ReadFile(err);
  run.parsed = google::protobuf::util::JsonStringToMessage(run.stdout_text, &run.json).ok();
  return run;
}

// The number at a path of objects ("counts", "routed"); NaN when missing.
double At(const google::protobuf::Struct& s, std::vector<std::string> path) {
  const google::protobuf::Struct* node = &s;
  for (size_t i = 0; i < path.size(); ++i) {
    auto it = node->fields().find(path[i]);
    if (it == node->fields().end()) return std::nan("");
    if (i + 1 == path.size()) return it->second.number_value();
    if (!it->second.has_struct_value()) return std::nan("");
    node = &it->second.struct_value();
  }
  return std::nan("");
}

std::string StringAt(const google::protobuf::Struct& s, const std::string& object,
                     const std::string& field) {
  auto it = s.fields().find(object);
  if (it == s.fields().end()) return "";
  auto f = it->second.struct_value().fields().find(field);
  return f == it->second.struct_value().fields().end() ? "" : f->second.string_value();
}

class EndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    address_ = daemon_.Start();
    ASSERT_FALSE(address_.empty())
        << "omnirouted did not start: " << ReadFile(daemon_.stderr_path());
  }

  // Runs the bench and checks what every run must show: exit 0, JSON, sessions routed,
  // no error at all (measured or whole run).
  BenchRun RunClean(const std::vector<std::string>& args) {
    BenchRun run = RunBench(daemon_, address_, args);
    const std::string context = absl::StrCat(
        "omniroute-bench ", absl::StrJoin(args, " "), "\nstdout:\n", run.stdout_text, "\nstderr:\n",
        run.stderr_text, "\nomnirouted stderr:\n", ReadFile(daemon_.stderr_path()));
    EXPECT_EQ(run.exit_status, 0) << context;
    EXPECT_TRUE(run.parsed) << context;
    EXPECT_GT(At(run.json, {"counts", "routed"}), 0) << context;
    EXPECT_GT(At(run.json, {"totals", "completed"}), 0) << context;
    EXPECT_EQ(At(run.json, {"totals", "errors"}), 0) << context;
    EXPECT_EQ(run.json.fields().at("errors_total").struct_value().fields_size(), 0) << context;
    EXPECT_EQ(At(run.json, {"end", "lost_streams"}), 0) << context;
    return run;
  }

  Omnirouted daemon_;
  std::string address_;
};

TEST_F(EndToEndTest, ClosedLoopWithEchoBaseline) {
  BenchRun run = RunClean({"--duration=1.5s", "--warmup=0.5s", "--agents=10", "--gateways=2",
                           "--inflight=4", "--quiet", "--baseline=echo"});
  EXPECT_EQ(StringAt(run.json, "config", "mode"), "closed");
  EXPECT_GT(At(run.json, {"latency_us", "create_to_offer", "count"}), 0);
  EXPECT_GT(At(run.json, {"latency_us", "create_to_assigned", "count"}), 0);
  EXPECT_GT(At(run.json, {"baseline", "rpcs_per_s"}), 0);
  EXPECT_EQ(At(run.json, {"baseline", "errors"}), 0);
  EXPECT_GT(At(run.json, {"baseline", "ratio"}), 0);
  EXPECT_GT(At(run.json, {"baseline", "request_bytes"}), 0);
  EXPECT_GT(At(run.json, {"baseline", "response_bytes"}), 0);
}

TEST_F(EndToEndTest, OpenLoopWithDesktopDelays) {
  BenchRun run = RunClean({"--duration=1.5s", "--warmup=0.5s", "--agents=20", "--rate=300",
                           "--accept_delay=exp:5ms", "--handle_time=exp:20ms",
                           "--wrap_up_time=const:5ms", "--reject_probability=0.1", "--quiet"});
  EXPECT_EQ(StringAt(run.json, "config", "mode"), "open");
  EXPECT_GT(At(run.json, {"counts", "scheduled"}), 0);
  EXPECT_GT(At(run.json, {"latency_us", "send_lag", "count"}), 0);
  EXPECT_GT(At(run.json, {"latency_us", "create_to_assigned", "count"}), 0);
  EXPECT_GT(At(run.json, {"counts", "completed"}), 0);
  // Sessions go through wrap-up and the desktops end it.
  EXPECT_GT(At(run.json, {"latency_us", "end_wrap_up", "count"}), 0);
}

TEST_F(EndToEndTest, ProfileAtAGivenRate) {
  BenchRun run =
      RunClean({"--duration=1.5s", "--warmup=0.5s", "--quiet", "--profile=" + kProfilePath,
                "--rate=100", "--accept_delay=1ms", "--handle_time=exp:10ms", "--wrap_up_time=0"});
  EXPECT_EQ(StringAt(run.json, "config", "mode"), "open");
  EXPECT_EQ(StringAt(run.json, "config", "profile"), "after_sales");
  EXPECT_EQ(At(run.json, {"config", "desktops"}), 40);
  EXPECT_EQ(At(run.json, {"end", "agents_ready"}), 40);
}

TEST_F(EndToEndTest, BadProfileIsRefusedBeforeConnecting) {
  const std::string bad = (daemon_.dir() / "bad.textproto").string();
  std::ofstream(bad) << "queues { id: \"q\" }\nengineer_groups { name: \"g\" cont: 3 }\n";
  BenchRun run = RunBench(daemon_, address_, {"--profile=" + bad});
  EXPECT_NE(run.exit_status, 0);
  EXPECT_THAT(run.stderr_text, HasSubstr("cont")) << run.stderr_text;
}

}  // namespace
}  // namespace omniroute::bench
