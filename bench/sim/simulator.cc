#include "bench/sim/simulator.h"

#include <algorithm>
#include <queue>
#include <string>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace omniroute::sim {

VectorArrivals::VectorArrivals(std::vector<SimArrival> arrivals) : arrivals_(std::move(arrivals)) {}

std::optional<SimArrival> VectorArrivals::Next() {
  if (next_ >= arrivals_.size()) return std::nullopt;
  return arrivals_[next_++];
}

namespace {

enum class ActionKind {
  kAnswerOffer,
  kComplete,
  kEndWrapUp,
  kPatience,
  kBotDone,
  kShiftStart,
  kShiftEnd,
  kGoOffline,
  kScheduled,
};

struct Action {
  absl::Time at;
  uint64_t seq = 0;  // scheduling order: the tie-break at equal times
  ActionKind kind = ActionKind::kComplete;
  uint64_t session = 0;
  int engineer = -1;
  uint64_t offer = 0;  // the OfferCreated event's sequence number
  bool reject = false;
  bool grab = false;
  size_t index = 0;  // kScheduled: index into SimModel::schedule
};

struct Later {
  bool operator()(const Action& a, const Action& b) const {
    if (a.at != b.at) return a.at > b.at;
    return a.seq > b.seq;
  }
};

struct SessionRec {
  absl::Duration handle_time = absl::ZeroDuration();
  std::optional<absl::Duration> patience;
  std::optional<absl::Duration> bot_time;
  bool bot_resolves = false;
  bool in_bot = false;
  bool answered = false;
  bool open = false;  // created before measure_end, not yet answered or ended
};

struct EngineerRec {
  EngineerId id;
  Behaviour behaviour;
  bool ending_shift = false;  // NOT_READY "end-of-shift", OFFLINE when the last session ends
};

bool IsWaitingEnd(const Event& ev) {
  switch (ev.type) {
    case EventType::kSessionCompleted:
    case EventType::kSessionAbandoned:
    case EventType::kSessionCancelled:
      return true;
    case EventType::kSessionOverflowed:
      return ev.state == SessionState::kOverflowed;
    default:
      return false;
  }
}

class Driver {
 public:
  Driver(const SimModel& model, ArrivalSource& arrivals, const SimOptions& options)
      : model_(model),
        arrivals_(arrivals),
        options_(options),
        engine_(model.engine_options),
        rng_(options.behaviour_seed),
        collector_(model.measure_start, model.measure_end, model.queues,
                   [this](const EngineerId& id) { return GroupOf(id); }) {}

  absl::StatusOr<SimRun> Run();

 private:
  std::string GroupOf(const EngineerId& id) const {
    auto it = group_.find(id.value());
    return it == group_.end() ? std::string() : it->second;
  }
  int EngineerIndex(const EngineerId& id);
  void Schedule(Action action) {
    action.seq = ++action_seq_;
    actions_.push(std::move(action));
  }
  // Applies `command` at `at` and reacts to its events. Returns the engine's verdict.
  absl::Status Apply(const Command& command, absl::Time at);
  void Dispatch();
  void React(const Event& ev);
  void EngineerFreed(const Event& ev);
  absl::Status Do(const Action& action);
  absl::Status Setup();

  const SimModel& model_;
  ArrivalSource& arrivals_;
  const SimOptions& options_;
  Engine engine_;
  Rng rng_;
  MetricsCollector collector_;
  SimStats stats_;
  std::vector<Event> events_;
  std::priority_queue<Action, std::vector<Action>, Later> actions_;
  uint64_t action_seq_ = 0;
  absl::flat_hash_map<std::string, std::string> group_;
  absl::flat_hash_map<std::string, int> engineer_index_;
  std::vector<EngineerRec> engineers_;
  absl::flat_hash_map<std::string, DeliveryMode> delivery_;
  absl::flat_hash_map<uint64_t, SessionRec> sessions_;
  absl::flat_hash_map<std::pair<uint64_t, int>, uint64_t> offers_;  // (session, engineer)
  int64_t open_ = 0;
  const SimArrival* creating_ = nullptr;  // the arrival whose CreateSession is being applied
};

int Driver::EngineerIndex(const EngineerId& id) {
  auto [it, inserted] =
      engineer_index_.try_emplace(id.value(), static_cast<int>(engineers_.size()));
  if (inserted) engineers_.push_back({id, Behaviour{}, false});  // not in the model
  return it->second;
}

absl::Status Driver::Apply(const Command& command, absl::Time at) {
  events_.clear();
  ++stats_.commands;
  absl::Status status = engine_.Apply(command, at, &events_);
  if (status.ok() && options_.on_command) options_.on_command(engine_.now(), command);
  Dispatch();
  return status;
}

void Driver::Dispatch() {
  if (events_.empty()) return;
  stats_.events += static_cast<int64_t>(events_.size());
  collector_.OnEvents(events_);
  if (options_.on_events) options_.on_events(events_);
  for (const Event& ev : events_) React(ev);
}

void Driver::React(const Event& ev) {
  const uint64_t id = ev.session.value();
  switch (ev.type) {
    case EventType::kSessionCreated: {
      SessionRec rec;
      if (creating_ != nullptr &&
          (creating_->create.id.empty() || creating_->create.id == ev.session)) {
        rec.handle_time = creating_->handle_time;
        rec.patience = creating_->patience;
        rec.bot_time = creating_->bot_time;
        rec.bot_resolves = creating_->bot_resolves;
        creating_ = nullptr;
      }
      rec.in_bot = ev.state == SessionState::kBot;
      if (ev.at < model_.measure_end) {
        rec.open = true;
        ++open_;
      }
      if (rec.in_bot) {
        Schedule({.at = ev.at + rec.bot_time.value_or(absl::ZeroDuration()),
                  .kind = ActionKind::kBotDone,
                  .session = id});
      } else if (rec.patience.has_value()) {
        Schedule({.at = ev.at + *rec.patience, .kind = ActionKind::kPatience, .session = id});
      }
      sessions_[id] = std::move(rec);
      break;
    }
    case EventType::kSessionEscalated: {
      auto it = sessions_.find(id);
      if (it == sessions_.end()) break;
      it->second.in_bot = false;
      if (it->second.patience.has_value()) {
        Schedule(
            {.at = ev.at + *it->second.patience, .kind = ActionKind::kPatience, .session = id});
      }
      break;
    }
    case EventType::kOfferCreated: {
      const int e = EngineerIndex(ev.engineer);
      offers_[{id, e}] = ev.seq;
      const Behaviour& b = engineers_[e].behaviour;
      Action a{.at = ev.at, .kind = ActionKind::kAnswerOffer, .session = id, .engineer = e};
      a.at += b.accept_delay.Sample(rng_);
      a.reject = Bernoulli(rng_, b.reject_probability);
      a.offer = ev.seq;
      auto d = delivery_.find(ev.queue.value());
      a.grab = d != delivery_.end() && d->second == DeliveryMode::kGrab;
      Schedule(a);
      break;
    }
    case EventType::kOfferAccepted:
    case EventType::kOfferRejected:
    case EventType::kOfferExpired:
    case EventType::kOfferRescinded:
    case EventType::kOfferClaimed:
      offers_.erase({id, EngineerIndex(ev.engineer)});
      break;
    case EventType::kSessionAssigned: {
      const int e = EngineerIndex(ev.engineer);
      offers_.erase({id, e});
      auto it = sessions_.find(id);
      if (it == sessions_.end()) break;
      SessionRec& rec = it->second;
      if (!rec.answered && rec.open) {
        rec.open = false;
        --open_;
      }
      rec.answered = true;
      Schedule({.at = ev.at + rec.handle_time,
                .kind = ActionKind::kComplete,
                .session = id,
                .engineer = e});
      break;
    }
    case EventType::kSessionWrapUp: {
      const int e = EngineerIndex(ev.engineer);
      const Behaviour& b = engineers_[e].behaviour;
      if (b.wrap_up_time.has_value()) {
        Schedule({.at = ev.at + b.wrap_up_time->Sample(rng_),
                  .kind = ActionKind::kEndWrapUp,
                  .session = id,
                  .engineer = e});
      }
      break;
    }
    case EventType::kSessionTransferred:
      EngineerFreed(ev);
      break;
    case EventType::kPresenceChanged:
      if (ev.presence != Presence::kNotReady || ev.detail != "end-of-shift") {
        engineers_[EngineerIndex(ev.engineer)].ending_shift = false;
      }
      break;
    default:
      break;
  }
  if (IsWaitingEnd(ev)) {
    auto it = sessions_.find(id);
    if (it != sessions_.end()) {
      if (it->second.open) --open_;
      sessions_.erase(it);
    }
    if (!ev.engineer.empty()) EngineerFreed(ev);
  }
}

void Driver::EngineerFreed(const Event& ev) {
  if (ev.engineer.empty()) return;
  const int e = EngineerIndex(ev.engineer);
  if (!engineers_[e].ending_shift) return;
  Schedule({.at = ev.at, .kind = ActionKind::kGoOffline, .engineer = e});
}

absl::Status Driver::Do(const Action& a) {
  const absl::Time at = a.at;
  auto refused = [this](const absl::Status& s) {
    if (!s.ok()) ++stats_.refused_commands;
  };
  switch (a.kind) {
    case ActionKind::kAnswerOffer: {
      auto it = offers_.find({a.session, a.engineer});
      if (it == offers_.end() || it->second != a.offer) break;  // expired or rescinded
      const EngineerId& e = engineers_[a.engineer].id;
      const SessionId s(a.session);
      if (a.reject) {
        refused(Apply(RejectOffer{s, e, "sim: rejected"}, at));
      } else if (a.grab) {
        refused(Apply(ClaimOffer{s, e}, at));
      } else {
        refused(Apply(AcceptOffer{s, e}, at));
      }
      break;
    }
    case ActionKind::kComplete:
      if (!sessions_.contains(a.session)) break;
      refused(Apply(CompleteSession{SessionId(a.session), engineers_[a.engineer].id}, at));
      break;
    case ActionKind::kEndWrapUp:
      if (!sessions_.contains(a.session)) break;  // the queue's wrap-up time ran out first
      refused(Apply(EndWrapUp{SessionId(a.session), engineers_[a.engineer].id}, at));
      break;
    case ActionKind::kPatience: {
      auto it = sessions_.find(a.session);
      if (it == sessions_.end() || it->second.answered || it->second.in_bot) break;
      refused(Apply(CancelSession{SessionId(a.session), true, "sim: patience"}, at));
      break;
    }
    case ActionKind::kBotDone: {
      auto it = sessions_.find(a.session);
      if (it == sessions_.end() || !it->second.in_bot) break;
      if (it->second.bot_resolves) {
        refused(Apply(CancelSession{SessionId(a.session), false, "sim: bot resolved"}, at));
        break;
      }
      EscalateSession escalate;
      escalate.session = SessionId(a.session);
      if (absl::Status s = Apply(escalate, at); !s.ok()) {
        // The queue is full for the channel: the customer is turned away.
        ++stats_.blocked;
        refused(Apply(CancelSession{SessionId(a.session), false, "sim: blocked"}, at));
      }
      break;
    }
    case ActionKind::kShiftStart:
      engineers_[a.engineer].ending_shift = false;
      refused(Apply(
          SetPresence{engineers_[a.engineer].id, Presence::kAvailable, "", absl::ZeroDuration()},
          at));
      break;
    case ActionKind::kShiftEnd: {
      const EngineerId id = engineers_[a.engineer].id;
      std::optional<EngineerInfo> info = engine_.GetEngineer(id);
      if (!info.has_value()) break;
      if (info->used_budget == 0 && info->sessions.empty()) {
        refused(Apply(SetPresence{id, Presence::kOffline, "", absl::ZeroDuration()}, at));
        break;
      }
      refused(
          Apply(SetPresence{id, Presence::kNotReady, "end-of-shift", absl::ZeroDuration()}, at));
      engineers_[a.engineer].ending_shift = true;
      // Offers were rescinded by going not-ready; if nothing is held any more, leave now.
      info = engine_.GetEngineer(id);
      if (info.has_value() && info->sessions.empty()) {
        Schedule({.at = at, .kind = ActionKind::kGoOffline, .engineer = a.engineer});
      }
      break;
    }
    case ActionKind::kGoOffline: {
      EngineerRec& rec = engineers_[a.engineer];
      if (!rec.ending_shift) break;
      std::optional<EngineerInfo> info = engine_.GetEngineer(rec.id);
      if (!info.has_value() || !info->sessions.empty()) break;
      rec.ending_shift = false;
      refused(Apply(SetPresence{rec.id, Presence::kOffline, "", absl::ZeroDuration()}, at));
      break;
    }
    case ActionKind::kScheduled: {
      const Command& command = model_.schedule[a.index].command;
      if (const auto* upsert = std::get_if<UpsertQueue>(&command)) {
        delivery_[upsert->config.id.value()] = upsert->config.delivery;
      }
      if (absl::Status s = Apply(command, at); !s.ok()) {
        if (model_.schedule[a.index].may_be_refused) {
          ++stats_.refused_commands;
          break;
        }
        return absl::Status(s.code(),
                            absl::StrCat("schedule[", a.index, "] (", CommandName(command), " at ",
                                         absl::FormatTime(at), "): ", s.message()));
      }
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status Driver::Setup() {
  const absl::Time at = model_.start;
  for (size_t i = 0; i < model_.channels.size(); ++i) {
    if (absl::Status s = Apply(UpsertChannel{model_.channels[i]}, at); !s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat("channels[", i, "] (", model_.channels[i].id.value(), "): ", s.message()));
    }
  }
  for (size_t i = 0; i < model_.queues.size(); ++i) {
    delivery_[model_.queues[i].id.value()] = model_.queues[i].delivery;
    if (absl::Status s = Apply(UpsertQueue{model_.queues[i]}, at); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("queues[", i, "] (", model_.queues[i].id.value(),
                                                 "): ", s.message()));
    }
  }
  // The schedule before the shifts, so that at equal times a scheduled UpsertEngineer comes
  // before the shift start of the engineer it creates.
  for (size_t i = 0; i < model_.schedule.size(); ++i) {
    Schedule({.at = std::max(at, model_.schedule[i].at), .kind = ActionKind::kScheduled,
              .index = i});
  }
  for (size_t i = 0; i < model_.engineers.size(); ++i) {
    const SimEngineer& m = model_.engineers[i];
    group_[m.config.id.value()] = m.group;
    const int e = EngineerIndex(m.config.id);
    engineers_[e].behaviour = m.behaviour;
    if (!m.created_by_schedule) {
      if (absl::Status s = Apply(UpsertEngineer{m.config}, at); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("engineers[", i, "] (", m.config.id.value(),
                                                   "): ", s.message()));
      }
    }
    if (m.shift_start != absl::InfiniteFuture()) {
      Schedule({.at = std::max(at, m.shift_start.value_or(at)), .kind = ActionKind::kShiftStart,
                .engineer = e});
    }
    if (m.shift_end.has_value()) {
      Schedule({.at = std::max(at, *m.shift_end), .kind = ActionKind::kShiftEnd, .engineer = e});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SimRun> Driver::Run() {
  if (model_.measure_start > model_.measure_end || model_.start > model_.measure_start) {
    return absl::InvalidArgumentError("model: needs start <= measure_start <= measure_end");
  }
  if (absl::Status s = Setup(); !s.ok()) return s;

  const absl::Time end = model_.measure_end;
  const absl::Time give_up = end + options_.max_drain;
  std::optional<SimArrival> next = arrivals_.Next();
  absl::Time last_arrival = model_.start;
  absl::Time now = model_.start;
  while (true) {
    if (next.has_value() && next->at >= end) next.reset();  // arrivals stop at measure_end
    const absl::Time t_arrival = next.has_value() ? next->at : absl::InfiniteFuture();
    const absl::Time t_action = actions_.empty() ? absl::InfiniteFuture() : actions_.top().at;
    const absl::Time t_engine = engine_.NextDeadline().value_or(absl::InfiniteFuture());
    const absl::Time t = std::min({t_arrival, t_action, t_engine});
    if (t == absl::InfiniteFuture()) break;
    if (!next.has_value() && open_ == 0 && t >= end) break;
    if (t > give_up) break;
    now = t;
    if (t_engine <= t) {
      events_.clear();
      engine_.Advance(t, &events_);
      Dispatch();
      continue;
    }
    if (t_action <= t) {
      const Action action = actions_.top();
      actions_.pop();
      if (absl::Status s = Do(action); !s.ok()) return s;
      continue;
    }
    SimArrival arrival = *std::move(next);
    next = arrivals_.Next();
    if (arrival.at < last_arrival) {
      return absl::InvalidArgumentError(absl::StrCat("arrivals: out of order (",
                                                     absl::FormatTime(arrival.at), " after ",
                                                     absl::FormatTime(last_arrival), ")"));
    }
    last_arrival = arrival.at;
    if (arrival.bot_time.has_value()) arrival.create.start_in_bot = true;
    ++stats_.arrivals;
    creating_ = &arrival;
    absl::Status s = Apply(arrival.create, arrival.at);
    creating_ = nullptr;
    if (!s.ok()) {
      if (s.code() != absl::StatusCode::kResourceExhausted) {
        return absl::Status(s.code(),
                            absl::StrCat("arrival at ", absl::FormatTime(arrival.at), " (queue ",
                                         arrival.create.queue.value(), ", channel ",
                                         arrival.create.channel.value(), "): ", s.message()));
      }
      ++stats_.blocked;
    }
  }
  stats_.end = std::max(now, end);
  SimRun run;
  run.metrics = collector_.Finish();
  run.stats = stats_;
  return run;
}

}  // namespace

absl::StatusOr<SimRun> Simulate(const SimModel& model, ArrivalSource& arrivals,
                                const SimOptions& options) {
  Driver driver(model, arrivals, options);
  return driver.Run();
}

}  // namespace omniroute::sim
