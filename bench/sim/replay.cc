#include "bench/sim/replay.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/sim/random.h"
#include "bench/sim/run.h"
#include "bench/sim/scenario.h"
#include "daemon/convert.h"
#include "omniroute/durability/file_journal.h"
#include "omniroute/durability/snapshot_file.h"
#include "omniroute/engine.h"

namespace omniroute::sim {
namespace {

// An offer nobody answered: an accept delay that lets the what-if's offer expire too.
constexpr absl::Duration kMissedOffer = absl::Hours(24);
// The handle time given to a session that was never assigned in the recording (it has none)
// when its queue and the whole recording have none to average either.
constexpr absl::Duration kDefaultHandleTime = absl::Minutes(5);
// The highest priority a session may have (CreateSession.priority).
constexpr int kMaxPriority = 1000;

// One session of the recording, as the what-if replays it.
struct RecordedSession {
  CreateSession create;  // as created, id cleared; escalation folded in
  absl::Time created_at;
  std::optional<absl::Time> entered_queue_at;  // creation, or escalation for robot sessions
  QueueId first_queue;
  bool started_in_bot = false;
  bool in_bot = false;
  std::optional<absl::Time> left_bot_at;  // escalated, or resolved/abandoned in BOT
  bool bot_resolved = false;
  std::optional<absl::Time> assigned_at;
  std::optional<absl::Time> completed_at;
  std::optional<absl::Time> abandoned_at;
  bool withdrawn = false;
};

// An engineer's recorded behaviour.
struct RecordedEngineer {
  std::vector<absl::Duration> accept_delays;  // missed offers as kMissedOffer
  int64_t offers_answered = 0;
  int64_t rejected = 0;
  std::vector<absl::Duration> wrap_ups;  // ended by the engineer (EndWrapUp)
};

// Reads the recording's commands and the events their replay gives, and keeps what the
// what-if needs.
class TraceBuilder {
 public:
  void OnEntry(const durability::JournalEntry& entry, const std::vector<Event>& events) {
    const Command& command = entry.command;
    if (const auto* complete = std::get_if<CompleteSession>(&command)) {
      if (RecordedSession* s = Find(complete->session)) {
        s->completed_at = entry.at;
        completed_by_[complete->session.value()] = entry.at;
      }
    } else if (const auto* end = std::get_if<EndWrapUp>(&command)) {
      auto it = completed_by_.find(end->session.value());
      if (it != completed_by_.end()) {
        engineers_[end->engineer.value()].wrap_ups.push_back(entry.at - it->second);
      }
    } else if (std::holds_alternative<UpsertChannel>(command) ||
               std::holds_alternative<UpsertQueue>(command) ||
               std::holds_alternative<RemoveQueue>(command) ||
               std::holds_alternative<UpsertEngineer>(command) ||
               std::holds_alternative<RemoveEngineer>(command) ||
               std::holds_alternative<SetPresence>(command)) {
      schedule_.push_back(ScheduledCommand{entry.at, command});
    }
    for (const Event& e : events) OnEvent(e, command);
  }

  void OnEvent(const Event& e, const Command& command) {
    switch (e.type) {
      case EventType::kSessionCreated: {
        const auto* create = std::get_if<CreateSession>(&command);
        if (create == nullptr) break;  // cannot happen: only CreateSession creates
        RecordedSession s;
        s.create = *create;
        s.create.id = SessionId();
        s.created_at = e.at;
        s.first_queue = e.queue;
        s.started_in_bot = s.in_bot = e.state == SessionState::kBot;
        if (!s.in_bot) s.entered_queue_at = e.at;
        index_[e.session.value()] = sessions_.size();
        sessions_.push_back(std::move(s));
        break;
      }
      case EventType::kSessionEscalated:
        if (RecordedSession* s = Find(e.session)) {
          s->in_bot = false;
          s->left_bot_at = s->entered_queue_at = e.at;
          s->first_queue = e.queue;
          if (const auto* esc = std::get_if<EscalateSession>(&command)) {
            if (!esc->queue.empty()) s->create.queue = esc->queue;
            for (const Requirement& r : esc->requirements) s->create.requirements.push_back(r);
            s->create.priority =
                std::clamp(s->create.priority + esc->priority_boost, 0, kMaxPriority);
            s->create.intent = esc->intent.empty() ? s->create.intent : esc->intent;
          }
        }
        break;
      case EventType::kSessionAssigned:
        if (RecordedSession* s = Find(e.session); s != nullptr && !s->assigned_at) {
          s->assigned_at = e.at;
        }
        break;
      case EventType::kSessionAbandoned:
        if (RecordedSession* s = Find(e.session)) {
          if (s->in_bot) {
            s->in_bot = false;
            s->left_bot_at = e.at;
            s->bot_resolved = true;  // left the robot: never reaches a queue
          } else {
            s->abandoned_at = e.at;
          }
        }
        break;
      case EventType::kSessionCancelled:
        if (RecordedSession* s = Find(e.session)) {
          if (s->in_bot) {
            s->in_bot = false;
            s->left_bot_at = e.at;
            s->bot_resolved = true;
          } else {
            s->withdrawn = true;
          }
        }
        break;
      case EventType::kOfferCreated:
        offered_at_[OfferKey(e)] = e.at;
        break;
      case EventType::kOfferAccepted:
      case EventType::kOfferClaimed:
        Answered(e, /*rejected=*/false);
        break;
      case EventType::kOfferRejected:
        Answered(e, /*rejected=*/true);
        break;
      case EventType::kOfferExpired:
        if (offered_at_.erase(OfferKey(e)) > 0) {
          RecordedEngineer& r = engineers_[e.engineer.value()];
          r.accept_delays.push_back(kMissedOffer);
          ++r.offers_answered;
        }
        break;
      case EventType::kOfferRescinded:
        offered_at_.erase(OfferKey(e));
        break;
      default:
        break;
    }
  }

  std::vector<RecordedSession>& sessions() { return sessions_; }
  const absl::flat_hash_map<std::string, RecordedEngineer>& engineers() const { return engineers_; }
  const std::vector<ScheduledCommand>& schedule() const { return schedule_; }

 private:
  static std::pair<uint64_t, std::string> OfferKey(const Event& e) {
    return {e.session.value(), e.engineer.value()};
  }
  RecordedSession* Find(SessionId id) {
    auto it = index_.find(id.value());
    return it == index_.end() ? nullptr : &sessions_[it->second];
  }
  void Answered(const Event& e, bool rejected) {
    auto it = offered_at_.find(OfferKey(e));
    if (it == offered_at_.end()) return;
    RecordedEngineer& r = engineers_[e.engineer.value()];
    r.accept_delays.push_back(e.at - it->second);
    ++r.offers_answered;
    if (rejected) ++r.rejected;
    offered_at_.erase(it);
  }

  std::vector<RecordedSession> sessions_;
  absl::flat_hash_map<uint64_t, size_t> index_;
  absl::flat_hash_map<std::pair<uint64_t, std::string>, absl::Time> offered_at_;
  absl::flat_hash_map<uint64_t, absl::Time> completed_by_;
  absl::flat_hash_map<std::string, RecordedEngineer> engineers_;
  std::vector<ScheduledCommand> schedule_;
};

// The occupancy group of a recorded engineer: its skills ("billing+repair"), or, with none,
// the queues it serves ("queues billing+repair").
std::string GroupOfConfig(const EngineerConfig& config) {
  std::vector<std::string> names;
  for (const SkillLevel& s : config.skills) names.push_back(s.skill.value());
  const bool by_queue = names.empty();
  if (by_queue) {
    for (const QueueId& q : config.queues) names.push_back(q.value());
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) return "(no skill, no queue)";
  return absl::StrCat(by_queue ? "queues " : "", absl::StrJoin(names, "+"));
}

// The what-if's arrivals: the recorded sessions, with the censored patiences drawn.
class ReplayArrivals : public ArrivalSource {
 public:
  struct Item {
    const RecordedSession* session;
    absl::Duration handle_time;
    // Recorded patience (abandoned), or the wait the customer is known to have accepted
    // plus a draw at `rate_per_second` (0: never abandons).
    std::optional<absl::Duration> abandoned_after;
    absl::Duration accepted_wait;
    double rate_per_second = 0;
  };

  ReplayArrivals(const std::vector<Item>& items, uint64_t seed) : items_(items), rng_(seed) {}

  std::optional<SimArrival> Next() override {
    if (next_ >= items_.size()) return std::nullopt;
    const Item& item = items_[next_++];
    const RecordedSession& s = *item.session;
    SimArrival a;
    a.at = s.created_at;
    a.create = s.create;
    a.create.start_in_bot = false;
    a.handle_time = item.handle_time;
    if (item.abandoned_after.has_value()) {
      a.patience = item.abandoned_after;
    } else if (item.rate_per_second > 0) {
      a.patience =
          item.accepted_wait +
          absl::Microseconds(std::llround(StandardExponential(rng_) / item.rate_per_second * 1e6));
    }
    if (s.started_in_bot) {
      a.bot_time = *s.left_bot_at - s.created_at;
      a.bot_resolves = s.bot_resolved;
    }
    return a;
  }

 private:
  const std::vector<Item>& items_;
  size_t next_ = 0;
  Rng rng_;
};

// Lines describing how `a` differs from `b` (both queues), for the report.
void DescribeQueueChange(const QueueConfig* before, const QueueConfig& after,
                         std::vector<std::string>* changes) {
  if (before == nullptr) {
    changes->push_back(
        absl::StrCat("queue ", after.id.value(), ": added (strategy ", after.strategy, ")"));
    return;
  }
  std::vector<std::string> what;
  if (before->strategy != after.strategy) {
    what.push_back(absl::StrCat("strategy ", before->strategy, " -> ", after.strategy));
  }
  if (before->relaxation != after.relaxation) {
    auto steps = [](const std::vector<RelaxationStep>& relaxation) {
      std::vector<std::string> afters;
      for (const RelaxationStep& r : relaxation) afters.push_back(absl::FormatDuration(r.after));
      return afters.empty() ? std::string("none") : absl::StrJoin(afters, ",");
    };
    what.push_back(absl::StrCat("relaxation steps at ", steps(before->relaxation), " -> ",
                                steps(after.relaxation)));
  }
  if (before->requirements != after.requirements) what.push_back("requirements");
  if (before->delivery != after.delivery) what.push_back("delivery mode");
  if (before->offer_timeout != after.offer_timeout) {
    what.push_back(absl::StrCat("offer timeout ", absl::FormatDuration(before->offer_timeout),
                                " -> ", absl::FormatDuration(after.offer_timeout)));
  }
  if (before->overflow_after != after.overflow_after ||
      before->overflow_queue != after.overflow_queue) {
    what.push_back("overflow");
  }
  if (before->wrap_up != after.wrap_up) what.push_back("wrap-up");
  if (what.empty() && !(*before == after)) what.push_back("other settings");
  if (what.empty()) what.push_back("unchanged");
  changes->push_back(absl::StrCat("queue ", after.id.value(), ": ", absl::StrJoin(what, ", ")));
}

}  // namespace

absl::StatusOr<Recording> ReadRecording(const std::string& data_dir) {
  Recording rec;
  rec.data_dir = data_dir;
  absl::StatusOr<std::unique_ptr<durability::FileJournal>> journal =
      durability::FileJournal::OpenReadOnly(data_dir);
  if (!journal.ok()) return journal.status();
  const durability::FileJournal& j = **journal;
  if (!j.open_report().detail.empty()) {
    rec.notes.push_back(absl::StrCat("journal tail not read: ", j.open_report().detail));
  }
  if (j.next_position() == j.first_position()) {
    return absl::NotFoundError(absl::StrCat("no journal records in ", data_dir));
  }
  Engine scratch;
  uint64_t from = 1;
  if (j.first_position() > 1) {
    absl::StatusOr<durability::LoadedSnapshot> loaded =
        durability::LoadOldestSnapshotFrom(data_dir, j.first_position());
    if (!loaded.ok()) return loaded.status();
    for (const std::string& why : loaded->skipped) {
      rec.notes.push_back(absl::StrCat("damaged snapshot skipped: ", why));
    }
    if (!loaded->snapshot.has_value() || loaded->snapshot->position > j.next_position()) {
      return absl::DataLossError(
          absl::StrCat("the journal in ", data_dir, " starts at record ", j.first_position(),
                       " and no snapshot there starts within it: nothing to replay from"));
    }
    absl::StatusOr<durability::SnapshotParts> parts =
        durability::SplitSnapshotParts(loaded->snapshot->bytes);
    if (!parts.ok()) {
      return absl::Status(parts.status().code(),
                          absl::StrCat(loaded->snapshot->path, ": ", parts.status().message()));
    }
    rec.engine_snapshot = std::string(parts->engine);
    if (absl::Status s = scratch.LoadSnapshot(rec.engine_snapshot); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat(loaded->snapshot->path, ": ", s.message()));
    }
    rec.snapshot_position = from = loaded->snapshot->position;
    rec.start = scratch.now();
  }
  rec.first_position = from;
  absl::Status read = (*journal)->ReadFrom(
      from, [&rec](uint64_t position, absl::string_view record) -> absl::Status {
        absl::StatusOr<durability::JournalEntry> entry = durability::DecodeEntry(record);
        if (!entry.ok()) {
          return absl::Status(entry.status().code(), absl::StrCat("journal record ", position, ": ",
                                                                  entry.status().message()));
        }
        rec.entries.push_back(*std::move(entry));
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  if (rec.entries.empty()) {
    return absl::NotFoundError(absl::StrCat("no journal records after the snapshot in ", data_dir));
  }
  if (!rec.snapshot_position.has_value()) rec.start = rec.entries.front().at;
  rec.end = std::max(rec.start, rec.entries.back().at);
  return rec;
}

absl::Status CheckWhatIf(const v1::Scenario& what_if) {
  auto refuse = [](absl::string_view field) {
    return absl::InvalidArgumentError(
        absl::StrCat(field,
                     ": a what-if takes its demand and duration from the recording; "
                     "set only channels, queues, engineer_groups, "
                     "missed_offers_limit, replications and seed"));
  };
  if (what_if.arrivals_size() > 0) return refuse("arrivals");
  if (what_if.has_duration()) return refuse("duration");
  if (what_if.has_warmup()) return refuse("warmup");
  return absl::OkStatus();
}

absl::StatusOr<ReplayResult> RunReplay(const Recording& recording, const v1::Scenario* what_if,
                                       const ReplayOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  if (options.replications < 1) {
    return absl::InvalidArgumentError("replications: must be at least 1");
  }
  if (options.warmup < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("warmup: must not be negative");
  }
  ReplayResult result;
  result.data_dir = recording.data_dir;
  result.notes = recording.notes;
  result.start = recording.start;
  result.end = recording.end;
  result.measure_start = std::min(recording.start + options.warmup, recording.end);

  // The centre at the start of the recording.
  Engine engine;
  if (recording.snapshot_position.has_value()) {
    if (absl::Status s = engine.LoadSnapshot(recording.engine_snapshot); !s.ok()) return s;
  }
  std::vector<ChannelSpec> channels = engine.ListChannels();
  std::vector<QueueConfig> queues;
  for (const QueueId& id : engine.ListQueues()) queues.push_back(engine.GetQueue(id)->config);
  std::vector<EngineerInfo> engineers;
  for (const EngineerId& id : engine.ListEngineers()) engineers.push_back(*engine.GetEngineer(id));

  // Every queue the recording knows, once each, in its last recorded configuration (for the
  // thresholds, the what-if's scope and the change report), and each engineer's group.
  std::vector<QueueConfig> all_queues = queues;
  absl::flat_hash_map<std::string, size_t> queue_slot;
  for (size_t i = 0; i < all_queues.size(); ++i) queue_slot[all_queues[i].id.value()] = i;
  absl::flat_hash_map<std::string, std::string> recorded_group;
  for (const EngineerInfo& e : engineers) {
    recorded_group[e.config.id.value()] = GroupOfConfig(e.config);
  }
  for (const durability::JournalEntry& entry : recording.entries) {
    if (const auto* q = std::get_if<UpsertQueue>(&entry.command)) {
      auto [it, added] = queue_slot.try_emplace(q->config.id.value(), all_queues.size());
      if (added) {
        all_queues.push_back(q->config);
      } else {
        all_queues[it->second] = q->config;
      }
    } else if (const auto* e = std::get_if<UpsertEngineer>(&entry.command)) {
      recorded_group.try_emplace(e->config.id.value(), GroupOfConfig(e->config));
    }
  }
  auto group_of = [&recorded_group](const EngineerId& id) -> std::string {
    auto it = recorded_group.find(id.value());
    return it == recorded_group.end() ? std::string("(unknown)") : it->second;
  };

  // 1. The recording, replayed exactly and measured.
  MetricsCollector recorded(result.measure_start, recording.end, all_queues, group_of);
  TraceBuilder trace;
  std::vector<Event> events;
  for (size_t i = 0; i < recording.entries.size(); ++i) {
    const durability::JournalEntry& entry = recording.entries[i];
    events.clear();
    if (absl::Status s = engine.Apply(entry.command, entry.at, &events); !s.ok()) {
      return absl::DataLossError(absl::StrCat(
          "journal record ", recording.first_position + i, " (", CommandName(entry.command),
          ") was accepted by the daemon but is refused on replay: ", s.message(),
          " (the journal does not belong to this build's engine?)"));
    }
    recorded.OnEvents(events);
    trace.OnEntry(entry, events);
  }
  result.recorded = recorded.Finish();
  result.trace.records = static_cast<int64_t>(recording.entries.size());

  // 2. The what-if's centre: the recorded one with the changes.
  SimModel model;
  model.engine_options = engine.options();  // the recorded daemon's (from the snapshot)
  model.start = recording.start;
  model.measure_start = result.measure_start;
  model.measure_end = recording.end;
  model.channels = channels;
  absl::flat_hash_set<std::string> replaced_queues;
  std::vector<SimEngineer> added;
  if (what_if != nullptr) {
    if (absl::Status s = CheckWhatIf(*what_if); !s.ok()) return s;
    // Compiled as the simulator compiles a scenario (every field checked, the daemon's
    // conversions), with the recorded channels and queues the what-if does not redefine
    // before its own, so that its engineers may serve recorded queues.
    absl::flat_hash_set<std::string> redefined;
    for (const omniroute::v1::Queue& q : what_if->queues()) redefined.insert(q.id());
    v1::Scenario probe;
    for (const ChannelSpec& c : channels) *probe.add_channels() = daemon::ChannelToProto(c);
    for (const QueueConfig& q : all_queues) {
      if (!redefined.contains(q.id.value())) *probe.add_queues() = daemon::QueueToProto(q);
    }
    const int recorded_queue_count = probe.queues_size();
    probe.MergeFrom(*what_if);
    // A scenario needs a demand; this one is never run (only the centre is used).
    if (probe.queues_size() > 0 && !channels.empty()) {
      v1::ArrivalStream* stream = probe.add_arrivals();
      stream->set_queue_id(probe.queues(0).id());
      stream->set_channel_id(channels.front().id.value());
      stream->set_rate_per_hour(1);
      stream->mutable_handle_time()->mutable_constant()->mutable_value()->set_seconds(1);
    }
    probe.mutable_duration()->set_seconds(1);
    absl::StatusOr<CompiledScenario> compiled = CompileScenario(probe);
    if (!compiled.ok()) {
      return absl::Status(compiled.status().code(),
                          absl::StrCat("what-if (queues[] counted after ", recorded_queue_count,
                                       " recorded queues): ", compiled.status().message()));
    }
    const SimModel& changes = compiled->model();
    if (what_if->has_missed_offers_limit()) {
      model.engine_options.missed_offers_limit = what_if->missed_offers_limit();
    }
    for (const omniroute::v1::Channel& c : what_if->channels()) {
      result.changes.push_back(absl::StrCat("channel ", c.id()));
    }
    model.channels = changes.channels;
    std::vector<QueueConfig> changed_queues;
    for (const QueueConfig& q : changes.queues) {
      bool in_what_if = false;
      for (const omniroute::v1::Queue& w : what_if->queues()) in_what_if |= w.id() == q.id.value();
      if (in_what_if) changed_queues.push_back(q);
    }
    for (const QueueConfig& q : changed_queues) {
      auto slot = queue_slot.find(q.id.value());
      const QueueConfig* before = slot == queue_slot.end() ? nullptr : &all_queues[slot->second];
      DescribeQueueChange(before, q, &result.changes);
      replaced_queues.insert(q.id.value());
    }
    for (const SimEngineer& e : changes.engineers) {
      added.push_back(e);
      // Shifts are offsets from the start: from the recording's start here.
      if (e.shift_start) added.back().shift_start = model.start + (*e.shift_start - changes.start);
      if (e.shift_end) added.back().shift_end = model.start + (*e.shift_end - changes.start);
      added.back().config.id = EngineerId(absl::StrCat("whatif-", e.config.id.value()));
      if (recorded_group.contains(added.back().config.id.value())) {
        return absl::InvalidArgumentError(absl::StrCat("engineer_groups: engineer id ",
                                                       added.back().config.id.value(),
                                                       " is already in the recording"));
      }
    }
    for (const v1::EngineerGroup& g : what_if->engineer_groups()) {
      result.changes.push_back(
          absl::StrCat("engineers added: ", g.count(), " in group ", g.name()));
    }
    // Queues first: recorded ones not replaced, in their order, then the what-if's.
    for (const QueueConfig& q : queues) {
      if (!replaced_queues.contains(q.id.value())) model.queues.push_back(q);
    }
    for (const QueueConfig& q : changed_queues) model.queues.push_back(q);
  } else {
    model.queues = queues;
  }

  // Engineers: every engineer of the recording, with the behaviour it showed; presence from
  // the recorded schedule only (no shift of their own).
  const auto& behaviours = trace.engineers();
  auto behaviour_of = [&behaviours](const std::string& id) {
    Behaviour b;
    auto it = behaviours.find(id);
    if (it == behaviours.end()) return b;
    const RecordedEngineer& r = it->second;
    if (!r.accept_delays.empty()) b.accept_delay = Distribution::Empirical(r.accept_delays);
    if (r.offers_answered > 0) {
      b.reject_probability =
          std::min(0.99, static_cast<double>(r.rejected) / static_cast<double>(r.offers_answered));
    }
    if (!r.wrap_ups.empty()) b.wrap_up_time = Distribution::Empirical(r.wrap_ups);
    return b;
  };
  absl::flat_hash_set<std::string> in_model;
  auto add_recorded = [&](const EngineerConfig& config, bool created_by_schedule) {
    if (!in_model.insert(config.id.value()).second) return;
    SimEngineer e;
    e.config = config;
    e.group = GroupOfConfig(config);
    e.behaviour = behaviour_of(config.id.value());
    e.shift_start = absl::InfiniteFuture();  // presence comes from the schedule
    e.created_by_schedule = created_by_schedule;
    model.engineers.push_back(std::move(e));
  };
  // Recorded commands may be refused in the what-if (its state differs): counted, not fatal.
  auto schedule = [&model](absl::Time at, Command command) {
    model.schedule.push_back(ScheduledCommand{at, std::move(command), /*may_be_refused=*/true});
  };
  for (const EngineerInfo& e : engineers) {
    add_recorded(e.config, /*created_by_schedule=*/false);
    if (e.presence == Presence::kOffline) continue;
    // Presence at the start as recorded (a timed wrap-up presence: available).
    if (e.presence == Presence::kWrapUp) {
      schedule(recording.start, SetPresence{e.config.id, Presence::kAvailable, "", {}});
    } else {
      schedule(recording.start, SetPresence{e.config.id, e.presence, e.reason, {}});
    }
  }
  for (const ScheduledCommand& c : trace.schedule()) {
    if (const auto* q = std::get_if<UpsertQueue>(&c.command);
        q != nullptr && replaced_queues.contains(q->config.id.value())) {
      continue;  // the what-if's configuration stays in force
    }
    if (const auto* q = std::get_if<RemoveQueue>(&c.command);
        q != nullptr && replaced_queues.contains(q->queue.value())) {
      continue;
    }
    if (const auto* e = std::get_if<UpsertEngineer>(&c.command)) {
      // Created during the day (or, with no snapshot, at the start by the journal itself).
      add_recorded(e->config, /*created_by_schedule=*/true);
    }
    schedule(c.at, c.command);
  }
  // The what-if's engineers join at the start, after the recorded commands of that instant
  // (which, with no snapshot, create the queues they serve).
  for (SimEngineer& e : added) {
    e.created_by_schedule = true;
    model.schedule.push_back(ScheduledCommand{model.start, UpsertEngineer{e.config}});
    model.engineers.push_back(std::move(e));
  }
  result.trace.engineers = static_cast<int64_t>(recorded_group.size());
  result.trace.scheduled_commands = static_cast<int64_t>(model.schedule.size());

  // 3. The sessions: handle times, patiences.
  std::vector<RecordedSession>& sessions = trace.sessions();
  absl::flat_hash_map<std::string, std::pair<absl::Duration, int64_t>> handle_by_queue;
  absl::Duration handle_sum = absl::ZeroDuration();
  int64_t handle_count = 0;
  // Abandonment rate per queue: abandonments / total time spent waiting (censored MLE).
  absl::flat_hash_map<std::string, std::pair<double, int64_t>> waiting_by_queue;
  for (const RecordedSession& s : sessions) {
    if (s.assigned_at && s.completed_at) {
      auto& [sum, n] = handle_by_queue[s.create.queue.value()];
      sum += *s.completed_at - *s.assigned_at;
      ++n;
      handle_sum += *s.completed_at - *s.assigned_at;
      ++handle_count;
    }
    if (!s.entered_queue_at || s.withdrawn) continue;
    const absl::Time until = s.abandoned_at  ? *s.abandoned_at
                             : s.assigned_at ? *s.assigned_at
                                             : recording.end;
    auto& [seconds, abandons] = waiting_by_queue[s.first_queue.value()];
    seconds += absl::ToDoubleSeconds(until - *s.entered_queue_at);
    if (s.abandoned_at) ++abandons;
  }
  std::vector<ReplayArrivals::Item> items;
  for (const RecordedSession& s : sessions) {
    ++result.trace.sessions;
    if (s.withdrawn) {
      ++result.trace.withdrawn;
      continue;
    }
    if (s.in_bot) {
      ++result.trace.still_in_bot;
      continue;
    }
    ReplayArrivals::Item item{&s, kDefaultHandleTime, std::nullopt, absl::ZeroDuration(), 0};
    if (s.assigned_at) {
      item.handle_time = (s.completed_at ? *s.completed_at : recording.end) - *s.assigned_at;
    } else if (auto it = handle_by_queue.find(s.create.queue.value());
               it != handle_by_queue.end()) {
      item.handle_time = it->second.first / it->second.second;
    } else if (handle_count > 0) {
      item.handle_time = handle_sum / handle_count;
    }
    if (s.entered_queue_at) {
      if (s.abandoned_at) {
        item.abandoned_after = *s.abandoned_at - *s.entered_queue_at;
        ++result.trace.abandoned;
      } else {
        item.accepted_wait = (s.assigned_at ? *s.assigned_at : recording.end) - *s.entered_queue_at;
        auto it = waiting_by_queue.find(s.first_queue.value());
        if (it != waiting_by_queue.end() && it->second.second > 0 && it->second.first > 0) {
          item.rate_per_second = static_cast<double>(it->second.second) / it->second.first;
          ++result.trace.censored_patience;
        }
      }
    }
    items.push_back(item);
  }
  result.trace.replayed = static_cast<int64_t>(items.size());

  // 4. The what-if runs, one per replication, on threads; combined in replication order.
  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  absl::StatusOr<std::vector<SimRun>> runs = RunReplications(
      options.replications, std::max(threads, 1), [&](int r) -> absl::StatusOr<SimRun> {
        const uint64_t seed = ReplicationSeed(options.seed, r);
        ReplayArrivals arrivals(items, DeriveSeed(seed, 1));
        return Simulate(model, arrivals, SimOptions{.behaviour_seed = DeriveSeed(seed, 0)});
      });
  if (!runs.ok()) {
    return absl::Status(runs.status().code(),
                        absl::StrCat("what-if run: ", runs.status().message()));
  }
  for (SimRun& run : *runs) result.what_if.push_back(std::move(run.metrics));
  result.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

absl::StatusOr<int64_t> WriteScenarioJournal(const CompiledScenario& scenario, int replication,
                                             const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not empty: the journal is written into a new directory"));
  }
  absl::StatusOr<std::unique_ptr<durability::FileJournal>> journal =
      durability::FileJournal::Open(dir);
  if (!journal.ok()) return journal.status();
  constexpr size_t kBatch = 4096;
  std::vector<std::string> batch;
  absl::Status failed;
  int64_t records = 0;
  auto flush = [&]() {
    if (batch.empty() || !failed.ok()) return;
    if (absl::StatusOr<uint64_t> at = (*journal)->Append(batch); !at.ok()) failed = at.status();
    batch.clear();
  };
  SimOptions options{.behaviour_seed = scenario.BehaviourSeed(replication)};
  options.on_command = [&](absl::Time at, const Command& command) {
    batch.push_back(durability::EncodeEntry(durability::JournalEntry{at, command, "", 0}));
    ++records;
    if (batch.size() >= kBatch) flush();
  };
  std::unique_ptr<ArrivalSource> arrivals = scenario.Arrivals(replication);
  absl::StatusOr<SimRun> run = Simulate(scenario.model(), *arrivals, options);
  if (!run.ok()) return run.status();
  flush();
  if (!failed.ok()) return failed;
  if (absl::Status s = (*journal)->Sync(); !s.ok()) return s;
  return records;
}

namespace {

std::string FormatTimeUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

}  // namespace

std::string FormatReplayText(const ReplayResult& r) {
  std::string out;
  absl::StrAppend(&out, "what-if replay of ", r.data_dir, ": ", r.trace.records,
                  " journal records from ", FormatTimeUtc(r.start), " to ", FormatTimeUtc(r.end),
                  ", measured from ", FormatTimeUtc(r.measure_start), "\n");
  absl::StrAppend(&out, "trace: ", r.trace.sessions, " sessions (", r.trace.replayed,
                  " replayed; left out: ", r.trace.withdrawn, " withdrawn by the gateway, ",
                  r.trace.still_in_bot, " still with the robot); patience: ", r.trace.abandoned,
                  " as recorded, ", r.trace.censored_patience,
                  " drawn beyond their recorded wait; ", r.trace.engineers, " engineers, ",
                  r.trace.scheduled_commands, " presence and administrative changes\n");
  absl::StrAppend(&out, "changes: ",
                  r.changes.empty() ? std::string("none (the recorded configuration)")
                                    : absl::StrJoin(r.changes, "; "),
                  "\n");
  for (const std::string& note : r.notes) absl::StrAppend(&out, "note: ", note, "\n");
  absl::StrAppend(&out, "recorded: the journal replayed exactly; what-if: mean ± half-width of "
                        "the 95 % confidence interval over ",
                  r.what_if.size(), " replications\n\n");
  absl::StrAppend(&out, FormatComparisonText(Summarize({r.recorded}), "recorded",
                                             Summarize(r.what_if), "what-if"));
  absl::StrAppend(&out, "\n", absl::StrFormat("cost: %.2f s wall\n", r.wall_seconds));
  return out;
}

std::string FormatReplayJson(const ReplayResult& r) {
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"data_dir\": ", JsonQuote(r.data_dir), ",\n");
  absl::StrAppend(&out, "  \"start\": ", JsonQuote(absl::FormatTime(r.start)), ",\n");
  absl::StrAppend(&out, "  \"measure_start\": ", JsonQuote(absl::FormatTime(r.measure_start)),
                  ",\n");
  absl::StrAppend(&out, "  \"end\": ", JsonQuote(absl::FormatTime(r.end)), ",\n");
  absl::StrAppend(&out, "  \"changes\": [");
  for (size_t i = 0; i < r.changes.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", JsonQuote(r.changes[i]));
  }
  absl::StrAppend(&out, "],\n  \"notes\": [");
  for (size_t i = 0; i < r.notes.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", JsonQuote(r.notes[i]));
  }
  absl::StrAppend(&out, "],\n");
  absl::StrAppend(&out, "  \"trace\": {\"records\": ", r.trace.records,
                  ", \"sessions\": ", r.trace.sessions, ", \"replayed\": ", r.trace.replayed,
                  ", \"withdrawn\": ", r.trace.withdrawn,
                  ", \"still_in_bot\": ", r.trace.still_in_bot,
                  ", \"abandoned\": ", r.trace.abandoned,
                  ", \"censored_patience\": ", r.trace.censored_patience,
                  ", \"engineers\": ", r.trace.engineers,
                  ", \"scheduled_commands\": ", r.trace.scheduled_commands, "},\n");
  absl::StrAppend(&out, "  \"replications\": ", r.what_if.size(), ",\n");
  absl::StrAppend(&out, "  \"recorded\": ", JsonSummary(Summarize({r.recorded}), "  "), ",\n");
  absl::StrAppend(&out, "  \"what_if\": ", JsonSummary(Summarize(r.what_if), "  "), ",\n");
  absl::StrAppend(&out, "  \"wall_seconds\": ", absl::StrFormat("%.3f", r.wall_seconds), "\n}\n");
  return out;
}

}  // namespace omniroute::sim
