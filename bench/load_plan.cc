#include "bench/load_plan.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/sim/scenario.h"

namespace omniroute::bench {

namespace v1 = ::omniroute::v1;
namespace simpb = ::omniroute::sim::v1;

namespace {

// The channels every engine knows (engine/src/channel.cc; a scenario may add or replace
// some).
constexpr const char* kDefaultChannels[] = {"app",          "email",      "iot_alert",
                                            "onsite_visit", "robot_chat", "voice",
                                            "webchat",      "wechat",     "weibo"};
constexpr int kMaxGroupSize = 100000;
constexpr int kMaxPriority = 1000;

absl::Status Bad(const std::string& field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// A Distribution message the scenario sets (no kind: an error), converted as omniroute-sim
// converts it, so that a profile means the same durations in both.
absl::StatusOr<sim::Distribution> DistributionOf(const simpb::Distribution& d,
                                                 const std::string& field) {
  absl::StatusOr<std::optional<sim::Distribution>> r =
      sim::DistributionFromProto(d, field, /*required=*/true);
  if (!r.ok()) return r.status();
  return **r;
}

absl::Duration ToDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// The mean rate per second of a stream: constant, or the mean of its periods over the cycle.
absl::StatusOr<double> StreamRate(const simpb::ArrivalStream& a, const std::string& field) {
  if (a.rate_periods().empty()) {
    if (!(a.rate_per_hour() >= 0)) return Bad(field + ".rate_per_hour", "must be >= 0");
    return a.rate_per_hour() / 3600.0;
  }
  const absl::Duration cycle = a.has_rate_cycle() ? ToDuration(a.rate_cycle()) : absl::Hours(24);
  if (cycle <= absl::ZeroDuration()) return Bad(field + ".rate_cycle", "must be > 0");
  double arrivals = 0;  // over one cycle, per hour x hours
  for (int i = 0; i < a.rate_periods_size(); ++i) {
    const std::string pf = absl::StrCat(field, ".rate_periods[", i, "]");
    const simpb::RatePeriod& p = a.rate_periods(i);
    const absl::Duration start = ToDuration(p.start());
    const absl::Duration end =
        i + 1 < a.rate_periods_size() ? ToDuration(a.rate_periods(i + 1).start()) : cycle;
    if (i == 0 && start != absl::ZeroDuration()) return Bad(pf + ".start", "must be 0");
    if (end <= start || end > cycle) {
      return Bad(pf + ".start", "periods must be in increasing order within rate_cycle");
    }
    if (!(p.rate_per_hour() >= 0)) return Bad(pf + ".rate_per_hour", "must be >= 0");
    arrivals += p.rate_per_hour() * absl::ToDoubleHours(end - start);
  }
  return arrivals / absl::ToDoubleHours(cycle) / 3600.0;
}

}  // namespace

const StreamPlan& LoadPlan::StreamFor(absl::string_view queue_id,
                                      absl::string_view channel_id) const {
  if (streams.size() > 1) {
    std::string key = absl::StrCat(queue_id, "\n", channel_id);
    if (auto it = by_queue_channel_.find(key); it != by_queue_channel_.end()) {
      return streams[it->second];
    }
    if (auto it = by_channel_.find(channel_id); it != by_channel_.end()) {
      return streams[it->second];
    }
  }
  return streams.front();
}

void LoadPlan::Index() {
  by_queue_channel_.clear();
  by_channel_.clear();
  std::vector<double> weights;
  for (int i = 0; i < static_cast<int>(streams.size()); ++i) {
    by_queue_channel_.emplace(absl::StrCat(streams[i].queue_id, "\n", streams[i].channel_id), i);
    by_channel_.emplace(streams[i].channel_id, i);
    weights.push_back(streams[i].rate_per_second);
  }
  stream_mix = WeightedPicker(weights);
}

Arrival ArrivalSource::Next() {
  Arrival a;
  a.offset = schedule_.Next();
  a.stream = plan_.stream_mix.Pick(sim::Uniform01(schedule_.rng()));
  const StreamPlan& s = plan_.streams[a.stream];
  if (!s.customers.empty()) a.customer = s.customer_mix.Pick(sim::Uniform01(schedule_.rng()));
  return a;
}

LoadPlan MakeDefaultPlan(const LoadOptions& o) {
  LoadPlan plan;
  Behaviour b;
  b.group = "default";
  b.accept_delay = o.accept_delay;
  b.reject_probability = o.reject_probability;
  b.wrap_up_time = o.wrap_up_time;
  plan.behaviours.push_back(std::move(b));
  for (int i = 0; i < o.agents; ++i) {
    plan.desktops.push_back(DesktopPlan{absl::StrCat(o.agent_prefix, i), 0});
  }
  StreamPlan s;
  s.name = absl::StrCat(o.queue, "/", o.channel);
  s.queue_id = o.queue;
  s.channel_id = o.channel;
  s.rate_per_second = 1;
  s.handle_time = o.handle_time;
  plan.streams.push_back(std::move(s));
  plan.rate_per_second = o.rate;
  plan.arrivals = o.arrivals == "uniform" ? ArrivalSchedule::kUniform : ArrivalSchedule::kPoisson;
  plan.seed = o.seed;
  plan.max_open = o.EffectiveMaxOpen();
  plan.Index();
  return plan;
}

absl::StatusOr<LoadPlan> MakeProfilePlan(const LoadOptions& o, const simpb::Scenario& sc) {
  LoadPlan plan;
  plan.from_profile = true;
  plan.name = sc.name().empty() ? "profile" : sc.name();

  absl::flat_hash_set<std::string> channels(std::begin(kDefaultChannels),
                                            std::end(kDefaultChannels));
  for (int i = 0; i < sc.channels_size(); ++i) {
    if (sc.channels(i).id().empty()) return Bad(absl::StrCat("channels[", i, "].id"), "required");
    channels.insert(sc.channels(i).id());
    plan.channels.push_back(sc.channels(i));
  }
  absl::flat_hash_set<std::string> queues;
  for (int i = 0; i < sc.queues_size(); ++i) {
    const v1::Queue& q = sc.queues(i);
    const std::string f = absl::StrCat("queues[", i, "]");
    if (q.id().empty()) return Bad(f + ".id", "required");
    if (!queues.insert(q.id()).second)
      return Bad(f + ".id", absl::StrCat("\"", q.id(), "\" twice"));
    if (q.delivery_mode() == v1::DELIVERY_MODE_GRAB) {
      return Bad(f + ".delivery_mode", "grab mode is not simulated by omniroute-bench");
    }
    plan.queues.push_back(q);
  }
  if (plan.queues.empty()) return Bad("queues", "at least one queue is required");

  absl::flat_hash_set<std::string> groups;
  for (int g = 0; g < sc.engineer_groups_size(); ++g) {
    const simpb::EngineerGroup& group = sc.engineer_groups(g);
    const std::string f = absl::StrCat("engineer_groups[", g, "]");
    if (group.name().empty()) return Bad(f + ".name", "required");
    if (!groups.insert(group.name()).second) {
      return Bad(f + ".name", absl::StrCat("\"", group.name(), "\" twice"));
    }
    if (group.count() < 1 || group.count() > kMaxGroupSize) {
      return Bad(f + ".count", absl::StrCat(group.count(), " is outside 1..", kMaxGroupSize));
    }
    if (!group.agent().id().empty()) return Bad(f + ".agent.id", "must be empty");
    Behaviour b;
    b.group = group.name();
    const simpb::EngineerBehaviour& eb = group.behaviour();
    if (o.Given("accept_delay")) {
      b.accept_delay = o.accept_delay;
    } else if (eb.has_accept_delay()) {
      absl::StatusOr<sim::Distribution> d =
          DistributionOf(eb.accept_delay(), f + ".behaviour.accept_delay");
      if (!d.ok()) return d.status();
      b.accept_delay = *d;
    }
    b.reject_probability =
        o.Given("reject_probability") ? o.reject_probability : eb.reject_probability();
    if (!(b.reject_probability >= 0 && b.reject_probability <= 1)) {
      return Bad(f + ".behaviour.reject_probability", "must be within 0..1");
    }
    if (o.Given("wrap_up_time")) {
      b.wrap_up_time = o.wrap_up_time;
    } else if (eb.has_wrap_up_time()) {
      absl::StatusOr<sim::Distribution> d =
          DistributionOf(eb.wrap_up_time(), f + ".behaviour.wrap_up_time");
      if (!d.ok()) return d.status();
      b.wrap_up_time = *d;
    }
    const int behaviour = static_cast<int>(plan.behaviours.size());
    plan.behaviours.push_back(std::move(b));
    for (int i = 1; i <= group.count(); ++i) {
      v1::Agent agent = group.agent();
      agent.set_id(absl::StrCat(group.name(), "-", i));
      plan.desktops.push_back(DesktopPlan{agent.id(), behaviour});
      plan.agents.push_back(std::move(agent));
    }
  }
  if (plan.desktops.empty()) return Bad("engineer_groups", "at least one group is required");

  for (int s = 0; s < sc.arrivals_size(); ++s) {
    const simpb::ArrivalStream& a = sc.arrivals(s);
    const std::string f = absl::StrCat("arrivals[", s, "]");
    StreamPlan stream;
    stream.queue_id = a.queue_id();
    stream.channel_id = a.channel_id();
    stream.name = a.name().empty() ? absl::StrCat(a.queue_id(), "/", a.channel_id()) : a.name();
    if (!queues.contains(a.queue_id())) {
      return Bad(f + ".queue_id", absl::StrCat("\"", a.queue_id(),
                                               "\" is not a queue of the "
                                               "scenario"));
    }
    if (!channels.contains(a.channel_id())) {
      return Bad(f + ".channel_id", absl::StrCat("\"", a.channel_id(), "\" is not a channel"));
    }
    absl::StatusOr<double> rate = StreamRate(a, f);
    if (!rate.ok()) return rate.status();
    stream.rate_per_second = *rate;
    if (o.Given("handle_time")) {
      stream.handle_time = o.handle_time;
    } else {
      absl::StatusOr<sim::Distribution> d = DistributionOf(a.handle_time(), f + ".handle_time");
      if (!d.ok()) return d.status();
      stream.handle_time = *d;
    }
    if (a.priority() < 0 || a.priority() > kMaxPriority) {
      return Bad(f + ".priority", absl::StrCat(a.priority(), " is outside 0..", kMaxPriority));
    }
    stream.priority = a.priority();
    stream.requirements.assign(a.requirements().begin(), a.requirements().end());
    std::vector<double> weights;
    for (int c = 0; c < a.customers_size(); ++c) {
      if (!(a.customers(c).weight() > 0)) {
        return Bad(absl::StrCat(f, ".customers[", c, "].weight"), "must be > 0");
      }
      weights.push_back(a.customers(c).weight());
      stream.customers.push_back(a.customers(c).customer());
    }
    stream.customer_mix = WeightedPicker(weights);
    if (!(a.bot_share() >= 0 && a.bot_share() <= 1)) {
      return Bad(f + ".bot_share", "must be within 0..1");
    }
    plan.profile_rate_per_second += stream.rate_per_second;
    plan.streams.push_back(std::move(stream));
  }
  if (plan.streams.empty()) return Bad("arrivals", "at least one arrival stream is required");

  plan.arrivals = o.arrivals == "uniform" ? ArrivalSchedule::kUniform : ArrivalSchedule::kPoisson;
  plan.seed = o.Given("seed") || !sc.has_seed() ? o.seed : sc.seed();
  if (o.Given("rate")) {
    plan.rate_per_second = o.rate;
  } else if (!o.Given("inflight")) {
    plan.rate_per_second = plan.profile_rate_per_second;
  }
  if (plan.profile_rate_per_second <= 0) {
    if (plan.open_loop() || !o.Given("inflight")) {
      return Bad("arrivals", "the streams' total rate is 0 (give --rate or --inflight)");
    }
    // Closed loop without rates: the streams share the load equally.
    for (StreamPlan& s : plan.streams) s.rate_per_second = 1;
  }
  if (!o.baseline.empty() && plan.open_loop()) {
    return absl::InvalidArgumentError(
        "--baseline: compares closed loops at the same concurrency: give --inflight with "
        "--profile");
  }
  if (o.max_open >= 0) {
    plan.max_open = o.max_open;
  } else {
    // Twice what the engineers can hold at once: a session's budget share is unknown here,
    // so an engineer counts with its budget, else its channels' limits (1 where unset).
    int64_t capacity = 0;
    for (const v1::Agent& agent : plan.agents) {
      if (agent.has_budget()) {
        capacity += agent.budget();
        continue;
      }
      int64_t held = 0;
      for (const v1::ChannelCapacity& c : agent.channels()) held += c.has_max() ? c.max() : 1;
      capacity += std::max<int64_t>(held, 1);
    }
    plan.max_open = std::max<int64_t>(1000, 2 * capacity);
  }
  plan.Index();
  return plan;
}

absl::StatusOr<LoadPlan> MakeLoadPlan(const LoadOptions& o) {
  if (o.profile.empty()) return MakeDefaultPlan(o);
  // The simulator's loader: a profile is a scenario.
  absl::StatusOr<simpb::Scenario> scenario = sim::LoadScenarioFile(o.profile);
  if (!scenario.ok()) {
    return absl::Status(scenario.status().code(),
                        absl::StrCat("--profile: ", scenario.status().message()));
  }
  return MakeProfilePlan(o, *scenario);
}

}  // namespace omniroute::bench
