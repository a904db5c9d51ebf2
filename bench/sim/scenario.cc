#include "bench/sim/scenario.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <queue>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/config.h"
#include "daemon/convert.h"
#include "omniroute/engine.h"

namespace omniroute::sim {

namespace {

namespace pb = google::protobuf;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// The parser's first error, 1-based.
constexpr absl::Duration kMaxSpan = absl::Hours(24 * 365);

// A Duration field checked by the daemon's conversion (well formed, not negative), then
// against lo..hi.
absl::StatusOr<absl::Duration> DurationIn(absl::string_view field, const pb::Duration& d,
                                          absl::Duration lo, bool lo_open, absl::Duration hi) {
  absl::StatusOr<absl::Duration> v = daemon::DurationFromProto(field, d);
  if (!v.ok()) return v.status();
  if (*v < lo || (lo_open && *v == lo) || *v > hi) {
    return Invalid(field,
                   absl::StrCat(absl::FormatDuration(*v), " is outside ", lo_open ? "(" : "[",
                                absl::FormatDuration(lo), ", ", absl::FormatDuration(hi), "]"));
  }
  return *v;
}

absl::Status Probability(absl::string_view field, double p, bool one_allowed) {
  if (!(p >= 0) || p > 1 || (!one_allowed && p == 1)) {
    return Invalid(field,
                   absl::StrCat(p, " is outside ", one_allowed ? "0..1" : "0..1 (1 excluded)"));
  }
  return absl::OkStatus();
}

// Whatever the engine's code (NOT_FOUND for an unknown queue...), a scenario the engine
// refuses is an invalid scenario.
absl::Status AsInvalid(const absl::Status& s) {
  if (s.ok() || s.code() == absl::StatusCode::kInvalidArgument) return s;
  return absl::InvalidArgumentError(s.message());
}

// An engine refusal of the object at `path`, whose engine name is `engine_name`, with the
// field path rewritten to the scenario's.
absl::Status Refusal(const absl::Status& s, absl::string_view engine_name,
                     const std::string& path) {
  absl::Status renamed = daemon::ToApiFieldPath(s, {{engine_name, path}});
  if (absl::StartsWith(renamed.message(), path)) return AsInvalid(renamed);
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", renamed.message()));
}

// The Poisson streams of one replication, merged in time order (ties: lower stream first).
class PoissonArrivals : public ArrivalSource {
 public:
  PoissonArrivals(const std::vector<StreamSpec>& specs, absl::Time start, uint64_t replication_seed)
      : specs_(specs), start_(start) {
    states_.reserve(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      states_.push_back(StreamState{Rng(DeriveSeed(replication_seed, static_cast<int>(i) + 1))});
      Advance(static_cast<int>(i));
    }
  }

  std::optional<SimArrival> Next() override {
    if (heap_.empty()) return std::nullopt;
    const auto [at, stream] = heap_.top();
    heap_.pop();
    SimArrival arrival = Draw(stream, at);
    Advance(stream);
    return arrival;
  }

 private:
  struct StreamState {
    Rng rng;
    double t = 0;           // seconds since start of the last arrival
    size_t period = 0;      // the period `t` falls in
    double cycle_base = 0;  // start of the cycle `t` falls in
    int64_t count = 0;
  };
  using Entry = std::pair<int64_t, int>;  // (arrival time in microseconds, stream)

  // Draws the stream's next arrival time: an Exp(1) amount of rate mass, consumed from the
  // current time on, period by period.
  void Advance(int stream) {
    const StreamSpec& spec = specs_[stream];
    StreamState& st = states_[stream];
    double mass = StandardExponential(st.rng);
    double total = 0;
    for (size_t k = 0; k < spec.periods.size(); ++k) {
      const double end =
          k + 1 < spec.periods.size() ? spec.periods[k + 1].start_seconds : spec.cycle_seconds;
      total += spec.periods[k].rate_per_second * (end - spec.periods[k].start_seconds);
    }
    if (!(total > 0)) return;  // the stream never produces anything
    // Whole cycles first, so that a long quiet stretch costs nothing.
    const double cycles = std::floor(mass / total);
    if (cycles > 0) {
      mass -= cycles * total;
      st.cycle_base += cycles * spec.cycle_seconds;
      st.t += cycles * spec.cycle_seconds;
    }
    while (true) {
      const StreamSpec::Period& p = spec.periods[st.period];
      const double period_end = st.cycle_base + (st.period + 1 < spec.periods.size()
                                                     ? spec.periods[st.period + 1].start_seconds
                                                     : spec.cycle_seconds);
      const double room = p.rate_per_second * (period_end - st.t);
      if (p.rate_per_second > 0 && room >= mass) {
        st.t += mass / p.rate_per_second;
        break;
      }
      mass -= room;
      st.t = period_end;
      if (++st.period == spec.periods.size()) {
        st.period = 0;
        st.cycle_base += spec.cycle_seconds;
      }
    }
    heap_.push({std::llround(st.t * 1e6), stream});
  }

  SimArrival Draw(int stream, int64_t at_us) {
    const StreamSpec& spec = specs_[stream];
    StreamState& st = states_[stream];
    SimArrival a;
    a.at = start_ + absl::Microseconds(at_us);
    size_t mix = 0;
    if (spec.mixes.size() > 1) {
      double total = 0;
      for (const StreamSpec::Mix& m : spec.mixes) total += m.weight;
      double u = Uniform01(st.rng) * total;
      while (mix + 1 < spec.mixes.size() && u >= spec.mixes[mix].weight) {
        u -= spec.mixes[mix].weight;
        ++mix;
      }
    }
    a.create = spec.mixes[mix].create;
    ++st.count;
    if (spec.mixes[mix].fresh_customer) {
      a.create.customer.id = CustomerId(absl::StrCat("s", stream, "-", st.count));
    }
    a.handle_time = spec.handle_time.Sample(st.rng);
    if (spec.patience.has_value()) a.patience = spec.patience->Sample(st.rng);
    bool bot = spec.bot_first || spec.bot_share >= 1;
    if (!bot && spec.bot_share > 0) bot = Uniform01(st.rng) < spec.bot_share;
    if (bot) {
      a.bot_time = spec.bot_time.Sample(st.rng);
      a.bot_resolves = Bernoulli(st.rng, spec.bot_resolution_probability);
    }
    return a;
  }

  const std::vector<StreamSpec>& specs_;
  const absl::Time start_;
  std::vector<StreamState> states_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
};

}  // namespace

absl::StatusOr<v1::Scenario> ParseScenarioText(absl::string_view text, absl::string_view source) {
  v1::Scenario scenario;
  if (absl::Status s = daemon::ParseTextProto(text, source, &scenario); !s.ok()) return s;
  return scenario;
}

absl::StatusOr<v1::Scenario> LoadScenarioFile(const std::string& path) {
  absl::StatusOr<std::string> text = daemon::ReadTextFile(path, "scenario file");
  if (!text.ok()) return text.status();
  return ParseScenarioText(*text, path);
}

absl::StatusOr<std::optional<Distribution>> DistributionFromProto(const v1::Distribution& d,
                                                                  absl::string_view field,
                                                                  bool required) {
  switch (d.kind_case()) {
    case v1::Distribution::KIND_NOT_SET:
      if (required) return Invalid(field, "required (constant, exponential or log_normal)");
      return std::optional<Distribution>();
    case v1::Distribution::kConstant: {
      const std::string f = absl::StrCat(field, ".constant.value");
      if (!d.constant().has_value()) return Invalid(f, "required");
      absl::StatusOr<absl::Duration> v =
          DurationIn(f, d.constant().value(), absl::ZeroDuration(), false, kMaxSpan);
      if (!v.ok()) return v.status();
      return std::optional<Distribution>(Distribution::Constant(*v));
    }
    case v1::Distribution::kExponential: {
      const std::string f = absl::StrCat(field, ".exponential.mean");
      if (!d.exponential().has_mean()) return Invalid(f, "required");
      absl::StatusOr<absl::Duration> v =
          DurationIn(f, d.exponential().mean(), absl::ZeroDuration(), true, kMaxSpan);
      if (!v.ok()) return v.status();
      return std::optional<Distribution>(Distribution::Exponential(*v));
    }
    case v1::Distribution::kLogNormal: {
      const std::string fm = absl::StrCat(field, ".log_normal.mean");
      const std::string fs = absl::StrCat(field, ".log_normal.stddev");
      if (!d.log_normal().has_mean()) return Invalid(fm, "required");
      if (!d.log_normal().has_stddev()) return Invalid(fs, "required");
      absl::StatusOr<absl::Duration> m =
          DurationIn(fm, d.log_normal().mean(), absl::ZeroDuration(), true, kMaxSpan);
      if (!m.ok()) return m.status();
      absl::StatusOr<absl::Duration> s =
          DurationIn(fs, d.log_normal().stddev(), absl::ZeroDuration(), true, kMaxSpan);
      if (!s.ok()) return s.status();
      return std::optional<Distribution>(Distribution::LogNormal(*m, *s));
    }
  }
  return Invalid(field, "unknown kind");
}

absl::StatusOr<CompiledScenario> CompileScenario(const v1::Scenario& sc,
                                                 const ScenarioOverrides& overrides) {
  CompiledScenario out;
  out.name_ = sc.name();
  SimModel& model = out.model_;

  // Run length, replications, seed.
  absl::Duration duration;
  if (overrides.duration.has_value()) {
    duration = *overrides.duration;
    if (duration <= absl::ZeroDuration() || duration > kMaxSpan) {
      return Invalid("--duration", "must be positive, up to 365 days");
    }
  } else {
    if (!sc.has_duration()) return Invalid("duration", "required (> 0)");
    absl::StatusOr<absl::Duration> d =
        DurationIn("duration", sc.duration(), absl::ZeroDuration(), true, kMaxSpan);
    if (!d.ok()) return d.status();
    duration = *d;
  }
  absl::Duration warmup = absl::ZeroDuration();
  if (overrides.warmup.has_value()) {
    warmup = *overrides.warmup;
    if (warmup < absl::ZeroDuration() || warmup > kMaxSpan) {
      return Invalid("--warmup", "must be 0 or positive, up to 365 days");
    }
  } else if (sc.has_warmup()) {
    absl::StatusOr<absl::Duration> d =
        DurationIn("warmup", sc.warmup(), absl::ZeroDuration(), false, kMaxSpan);
    if (!d.ok()) return d.status();
    warmup = *d;
  }
  out.replications_ =
      overrides.replications.value_or(sc.has_replications() ? sc.replications() : 10);
  if (out.replications_ < 1 || out.replications_ > 10000) {
    return Invalid(overrides.replications.has_value() ? "--replications" : "replications",
                   absl::StrCat(out.replications_, " is outside 1..10000"));
  }
  out.seed_ = overrides.seed.value_or(sc.has_seed() ? sc.seed() : 1);
  model.measure_start = model.start + warmup;
  model.measure_end = model.measure_start + duration;

  // Engine options, as omnirouted resolves them.
  if (sc.has_missed_offers_limit()) {
    if (sc.missed_offers_limit() < 0 || sc.missed_offers_limit() > 1000) {
      return Invalid("missed_offers_limit",
                     absl::StrCat(sc.missed_offers_limit(), " is outside 0..1000"));
    }
    model.engine_options.missed_offers_limit = sc.missed_offers_limit();
  }

  // The centre: the daemon's conversions, then a scratch engine for the engine's own checks.
  daemon::DaemonSettings settings;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < sc.channels_size(); ++i) {
    absl::StatusOr<ChannelSpec> spec =
        daemon::ChannelFromProto(sc.channels(i), absl::StrCat("channels[", i, "]"));
    if (!spec.ok()) return spec.status();
    if (!seen.insert(spec->id.value()).second) {
      return Invalid(absl::StrCat("channels[", i, "].id"),
                     absl::StrCat("channel \"", spec->id.value(), "\" is listed twice"));
    }
    settings.channels.push_back(*spec);
  }
  if (sc.queues_size() == 0) return Invalid("queues", "at least one queue is required");
  seen.clear();
  for (int i = 0; i < sc.queues_size(); ++i) {
    absl::StatusOr<QueueConfig> q =
        daemon::QueueFromProto(sc.queues(i), absl::StrCat("queues[", i, "]"));
    if (!q.ok()) return q.status();
    if (!seen.insert(q->id.value()).second) {
      return Invalid(absl::StrCat("queues[", i, "].id"),
                     absl::StrCat("queue \"", q->id.value(), "\" is listed twice"));
    }
    settings.queues.push_back(*q);
  }
  Engine scratch(model.engine_options);
  std::vector<Event> events;
  if (absl::Status s = daemon::ApplyStartupObjects(settings, scratch, model.start, &events);
      !s.ok()) {
    return AsInvalid(s);
  }
  model.channels = settings.channels;
  model.queues = settings.queues;

  seen.clear();
  int64_t total_engineers = 0;
  for (int i = 0; i < sc.engineer_groups_size(); ++i) {
    const v1::EngineerGroup& g = sc.engineer_groups(i);
    const std::string path = absl::StrCat("engineer_groups[", i, "]");
    if (g.name().empty()) return Invalid(path + ".name", "required");
    if (absl::Status s = ValidateName(path + ".name", g.name()); !s.ok()) return s;
    if (!seen.insert(g.name()).second) {
      return Invalid(path + ".name", absl::StrCat("group \"", g.name(), "\" is listed twice"));
    }
    if (g.count() < 1 || g.count() > 100000) {
      return Invalid(path + ".count", absl::StrCat(g.count(), " is outside 1..100000"));
    }
    total_engineers += g.count();
    if (total_engineers > 1000000) {
      return Invalid(path + ".count", "more than 1000000 engineers in all");
    }
    if (!g.agent().id().empty()) {
      return Invalid(path + ".agent.id", "must be empty: the group names its engineers");
    }
    // Ids "<name>-<i>": the longest must follow the id rules.
    if (absl::Status s = ValidateName(path + ".name", absl::StrCat(g.name(), "-", g.count()));
        !s.ok()) {
      return s;
    }
    omniroute::v1::Agent agent = g.agent();
    agent.set_id(absl::StrCat(g.name(), "-1"));
    absl::StatusOr<EngineerConfig> config = daemon::AgentFromProto(agent, path + ".agent");
    if (!config.ok()) return config.status();
    if (absl::Status s = scratch.Apply(UpsertEngineer{*config}, model.start, &events); !s.ok()) {
      return Refusal(s, "engineer", path + ".agent");
    }

    Behaviour b;
    const v1::EngineerBehaviour& pb_b = g.behaviour();
    {
      absl::StatusOr<std::optional<Distribution>> d =
          DistributionFromProto(pb_b.accept_delay(), path + ".behaviour.accept_delay", false);
      if (!d.ok()) return d.status();
      if (d->has_value()) b.accept_delay = **d;
    }
    if (absl::Status s = Probability(path + ".behaviour.reject_probability",
                                     pb_b.reject_probability(), /*one_allowed=*/false);
        !s.ok()) {
      return s;
    }
    b.reject_probability = pb_b.reject_probability();
    {
      absl::StatusOr<std::optional<Distribution>> d =
          DistributionFromProto(pb_b.wrap_up_time(), path + ".behaviour.wrap_up_time", false);
      if (!d.ok()) return d.status();
      b.wrap_up_time = *d;
    }
    std::optional<absl::Time> shift_start, shift_end;
    if (g.has_shift_start()) {
      absl::StatusOr<absl::Duration> d =
          DurationIn(path + ".shift_start", g.shift_start(), absl::ZeroDuration(), false, kMaxSpan);
      if (!d.ok()) return d.status();
      shift_start = model.start + *d;
    }
    if (g.has_shift_end()) {
      absl::StatusOr<absl::Duration> d =
          DurationIn(path + ".shift_end", g.shift_end(), absl::ZeroDuration(), false, kMaxSpan);
      if (!d.ok()) return d.status();
      shift_end = model.start + *d;
      if (*shift_end <= shift_start.value_or(model.start)) {
        return Invalid(path + ".shift_end", "must be after shift_start");
      }
    }
    for (int k = 1; k <= g.count(); ++k) {
      SimEngineer e;
      e.config = *config;
      e.config.id = EngineerId(absl::StrCat(g.name(), "-", k));
      e.group = g.name();
      e.behaviour = b;
      e.shift_start = shift_start;
      e.shift_end = shift_end;
      model.engineers.push_back(std::move(e));
    }
  }

  // The demand.
  if (sc.arrivals_size() == 0)
    return Invalid("arrivals", "at least one arrival stream is required");
  absl::flat_hash_map<std::string, ChannelSpec> channels;
  for (const ChannelSpec& c : DefaultChannels()) channels[c.id.value()] = c;
  for (const ChannelSpec& c : model.channels) channels[c.id.value()] = c;
  for (int i = 0; i < sc.arrivals_size(); ++i) {
    const v1::ArrivalStream& a = sc.arrivals(i);
    const std::string path = absl::StrCat("arrivals[", i, "]");
    StreamSpec spec;
    spec.name = a.name().empty() ? absl::StrCat(a.queue_id(), "/", a.channel_id()) : a.name();
    if (a.queue_id().empty()) return Invalid(path + ".queue_id", "required");
    bool queue_known = false;
    for (const QueueConfig& q : model.queues) queue_known |= q.id.value() == a.queue_id();
    if (!queue_known) {
      return Invalid(path + ".queue_id", absl::StrCat("queue \"", a.queue_id(),
                                                      "\" is not one of the scenario's queues"));
    }
    if (a.channel_id().empty()) return Invalid(path + ".channel_id", "required");
    auto ch = channels.find(a.channel_id());
    if (ch == channels.end()) {
      return Invalid(path + ".channel_id",
                     absl::StrCat("channel \"", a.channel_id(),
                                  "\" is neither a default channel nor one of the scenario's"));
    }
    spec.bot_first = ch->second.bot_first;

    // Rate.
    if (a.rate_periods_size() > 0) {
      if (a.rate_per_hour() != 0) {
        return Invalid(path + ".rate_per_hour", "set rate_per_hour or rate_periods, not both");
      }
      absl::Duration cycle = absl::Hours(24);
      if (a.has_rate_cycle()) {
        absl::StatusOr<absl::Duration> d =
            DurationIn(path + ".rate_cycle", a.rate_cycle(), absl::ZeroDuration(), true, kMaxSpan);
        if (!d.ok()) return d.status();
        cycle = *d;
      }
      spec.cycle_seconds = absl::ToDoubleSeconds(cycle);
      bool any = false;
      for (int k = 0; k < a.rate_periods_size(); ++k) {
        const v1::RatePeriod& p = a.rate_periods(k);
        const std::string pp = absl::StrCat(path, ".rate_periods[", k, "]");
        if (!p.has_start()) return Invalid(pp + ".start", "required");
        absl::StatusOr<absl::Duration> start =
            DurationIn(pp + ".start", p.start(), absl::ZeroDuration(), false, kMaxSpan);
        if (!start.ok()) return start.status();
        if (k == 0 && *start != absl::ZeroDuration()) {
          return Invalid(pp + ".start", "the first period starts at 0s");
        }
        if (k > 0 && absl::ToDoubleSeconds(*start) <= spec.periods.back().start_seconds) {
          return Invalid(pp + ".start", "periods must be in increasing order of start");
        }
        if (*start >= cycle) {
          return Invalid(pp + ".start", absl::StrCat("must be before the end of rate_cycle (",
                                                     absl::FormatDuration(cycle), ")"));
        }
        if (!(p.rate_per_hour() >= 0) || !std::isfinite(p.rate_per_hour())) {
          return Invalid(pp + ".rate_per_hour", absl::StrCat(p.rate_per_hour(), " is not >= 0"));
        }
        any |= p.rate_per_hour() > 0;
        spec.periods.push_back({absl::ToDoubleSeconds(*start), p.rate_per_hour() / 3600.0});
      }
      if (!any) return Invalid(path + ".rate_periods", "every rate is 0");
    } else {
      if (a.has_rate_cycle()) return Invalid(path + ".rate_cycle", "needs rate_periods");
      if (!(a.rate_per_hour() > 0) || !std::isfinite(a.rate_per_hour())) {
        return Invalid(
            path + ".rate_per_hour",
            absl::StrCat(a.rate_per_hour(), " is not > 0 (required unless rate_periods is set)"));
      }
      spec.cycle_seconds = 3600;
      spec.periods.push_back({0, a.rate_per_hour() / 3600.0});
    }

    // Distributions.
    {
      absl::StatusOr<std::optional<Distribution>> d =
          DistributionFromProto(a.handle_time(), path + ".handle_time", true);
      if (!d.ok()) return d.status();
      spec.handle_time = **d;
      absl::StatusOr<std::optional<Distribution>> p =
          DistributionFromProto(a.patience(), path + ".patience", false);
      if (!p.ok()) return p.status();
      spec.patience = *p;
    }
    if (a.priority() < 0 || a.priority() > 1000) {
      return Invalid(path + ".priority", absl::StrCat(a.priority(), " is outside 0..1000"));
    }

    // Robot.
    if (absl::Status s = Probability(path + ".bot_share", a.bot_share(), true); !s.ok()) return s;
    if (absl::Status s =
            Probability(path + ".bot_resolution_probability", a.bot_resolution_probability(), true);
        !s.ok()) {
      return s;
    }
    spec.bot_share = a.bot_share();
    spec.bot_resolution_probability = a.bot_resolution_probability();
    {
      const bool needed = spec.bot_first || spec.bot_share > 0;
      absl::StatusOr<std::optional<Distribution>> d =
          DistributionFromProto(a.bot_time(), path + ".bot_time", needed);
      if (!d.ok()) {
        if (!a.has_bot_time() && spec.bot_first) {
          return Invalid(path + ".bot_time",
                         absl::StrCat("required: channel \"", a.channel_id(),
                                      "\" starts every session with the robot"));
        }
        return d.status();
      }
      if (d->has_value()) spec.bot_time = **d;
    }
    if (!spec.bot_first && spec.bot_share == 0) {
      if (a.has_bot_time()) return Invalid(path + ".bot_time", "needs bot_share > 0");
      if (a.bot_resolution_probability() != 0) {
        return Invalid(path + ".bot_resolution_probability", "needs bot_share > 0");
      }
    }

    // Sessions, through the daemon's CreateSession conversion and tried on the scratch engine.
    std::vector<std::pair<double, omniroute::v1::Customer>> mixes;
    if (a.customers_size() == 0) mixes.push_back({1.0, omniroute::v1::Customer()});
    for (int k = 0; k < a.customers_size(); ++k) {
      const double w = a.customers(k).weight();
      if (!(w > 0) || !std::isfinite(w)) {
        return Invalid(absl::StrCat(path, ".customers[", k, "].weight"),
                       absl::StrCat(w, " is not > 0"));
      }
      mixes.push_back({w, a.customers(k).customer()});
    }
    for (size_t k = 0; k < mixes.size(); ++k) {
      omniroute::v1::CreateSessionRequest request;
      request.set_request_id("sim");
      request.set_channel_id(a.channel_id());
      request.set_queue_id(a.queue_id());
      *request.mutable_customer() = mixes[k].second;
      *request.mutable_requirements() = a.requirements();
      request.set_priority(a.priority());
      absl::StatusOr<CreateSession> create = daemon::CreateSessionFromProto(request);
      if (!create.ok()) return create.status();
      const std::string customer_path = a.customers_size() == 0
                                            ? path + ".customers"
                                            : absl::StrCat(path, ".customers[", k, "].customer");
      CreateSession trial = *create;
      if (trial.customer.id.empty()) trial.customer.id = CustomerId("trial");
      events.clear();
      if (absl::Status s = scratch.Apply(trial, model.start, &events); !s.ok()) {
        return AsInvalid(daemon::ToApiFieldPath(s, {{"customer", customer_path},
                                                    {"requirements", path + ".requirements"},
                                                    {"priority", path + ".priority"},
                                                    {"channel", path + ".channel_id"},
                                                    {"queue", path + ".queue_id"}}));
      }
      SessionId trial_id;
      for (const Event& ev : events) {
        if (ev.type == EventType::kSessionCreated) trial_id = ev.session;
      }
      if (!trial_id.empty()) {
        // Withdrawn at once, so that a channel limit is not filled by the trials.
        (void)scratch.Apply(CancelSession{trial_id, false, "trial"}, model.start, &events);
      }
      spec.mixes.push_back({mixes[k].first, *create, create->customer.id.empty()});
    }
    out.streams_.push_back(std::move(spec));
  }
  return out;
}

std::unique_ptr<ArrivalSource> CompiledScenario::Arrivals(int replication) const {
  return std::make_unique<PoissonArrivals>(streams_, model_.start,
                                           ReplicationSeed(seed_, replication));
}

uint64_t CompiledScenario::BehaviourSeed(int replication) const {
  return DeriveSeed(ReplicationSeed(seed_, replication), 0);
}

}  // namespace omniroute::sim
