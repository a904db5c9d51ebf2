#include "bench/sim/report.h"

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace omniroute::sim {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// t(0.975, dof) for dof = 1..30.
constexpr double kT975[] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060,
                            2.2622,  2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199,
                            2.1098,  2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
                            2.0595,  2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
// Beyond 30: (dof, t) points, interpolated linearly in 1/dof.
constexpr double kTailDof[] = {30, 40, 60, 120};
constexpr double kTailT[] = {2.0423, 2.0211, 2.0003, 1.9799};
constexpr double kNormal975 = 1.959964;

QueueSummary SummarizeQueue(const std::string& queue,
                            const std::vector<const QueueFigures*>& reps) {
  QueueSummary s;
  s.queue = queue;
  auto est = [&reps](auto get) {
    std::vector<double> v;
    v.reserve(reps.size());
    for (const QueueFigures* f : reps) v.push_back(f == nullptr ? kNaN : get(*f));
    return Estimate95(v);
  };
  s.offered = est([](const QueueFigures& f) { return double(f.counts.offered); });
  s.answered = est([](const QueueFigures& f) { return double(f.counts.answered); });
  s.abandoned = est([](const QueueFigures& f) { return double(f.counts.abandoned); });
  s.overflowed = est([](const QueueFigures& f) { return double(f.counts.overflowed); });
  s.withdrawn = est([](const QueueFigures& f) { return double(f.counts.withdrawn); });
  s.bot_resolved = est([](const QueueFigures& f) { return double(f.counts.bot_resolved); });
  s.unresolved = est([](const QueueFigures& f) { return double(f.counts.unresolved); });
  s.p_wait = est([](const QueueFigures& f) { return f.p_wait; });
  s.asa_seconds = est([](const QueueFigures& f) { return f.asa_seconds; });
  s.service_level = est([](const QueueFigures& f) { return f.service_level; });
  s.abandon_rate = est([](const QueueFigures& f) { return f.abandon_rate; });
  s.max_wait_seconds = est([](const QueueFigures& f) { return f.max_wait_seconds; });
  std::set<std::string> groups;
  for (const QueueFigures* f : reps) {
    if (f == nullptr) continue;
    for (const auto& [group, n] : f->answered_by_group) groups.insert(group);
  }
  for (const std::string& group : groups) {
    s.answered_share_by_group.emplace_back(group, est([&group](const QueueFigures& f) {
                                             if (f.counts.answered == 0) return kNaN;
                                             int64_t n = 0;
                                             for (const auto& [g, count] : f.answered_by_group) {
                                               if (g == group) n = count;
                                             }
                                             return static_cast<double>(n) /
                                                    static_cast<double>(f.counts.answered);
                                           }));
  }
  return s;
}

// Pads `text` with spaces to `width` characters (UTF-8 aware: "±" is one character), on the
// left (right-aligned) or on the right.
std::string Pad(absl::string_view text, size_t width, bool right_align = true) {
  size_t chars = 0;
  for (char c : text) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  const std::string fill(chars < width ? width - chars : 0, ' ');
  return right_align ? absl::StrCat(fill, text) : absl::StrCat(text, fill);
}

// One table row: the first cell left-aligned in `first` characters, the others right-aligned
// in `width`, separated by a space.
std::string Row(const std::vector<std::string>& cells, size_t first, size_t width) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? Pad(cells[i], first, false) : " " + Pad(cells[i], width));
  }
  return out + "\n";
}

// "0.8123 ± 0.0042" (digits after the point: `precision`); "-" undefined; "n/a" no interval.
std::string Cell(const Estimate& e, int precision) {
  if (std::isnan(e.mean)) return "-";
  if (std::isnan(e.half_width)) return absl::StrFormat("%.*f", precision, e.mean);
  return absl::StrFormat("%.*f ± %.*f", precision, e.mean, precision, e.half_width);
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.10g", v);
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string JsonEstimate(const Estimate& e) {
  return absl::StrCat("{\"mean\": ", JsonNumber(e.mean), ", \"ci95\": ", JsonNumber(e.half_width),
                      ", \"n\": ", e.n, "}");
}

std::string JsonQueue(const QueueSummary& q, absl::string_view indent) {
  std::string out = "{";
  auto field = [&](absl::string_view name, const Estimate& e) {
    absl::StrAppend(&out, "\n", indent, "  ", JsonString(name), ": ", JsonEstimate(e), ",");
  };
  if (!q.queue.empty())
    absl::StrAppend(&out, "\n", indent, "  \"queue\": ", JsonString(q.queue), ",");
  field("offered", q.offered);
  field("answered", q.answered);
  field("abandoned", q.abandoned);
  field("overflowed", q.overflowed);
  field("withdrawn", q.withdrawn);
  field("bot_resolved", q.bot_resolved);
  field("unresolved", q.unresolved);
  field("p_wait", q.p_wait);
  field("asa_seconds", q.asa_seconds);
  field("service_level", q.service_level);
  field("abandon_rate", q.abandon_rate);
  field("max_wait_seconds", q.max_wait_seconds);
  absl::StrAppend(&out, "\n", indent, "  \"answered_share_by_group\": {");
  for (size_t i = 0; i < q.answered_share_by_group.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", JsonString(q.answered_share_by_group[i].first), ": ",
                    JsonEstimate(q.answered_share_by_group[i].second));
  }
  absl::StrAppend(&out, "}\n", indent, "}");
  return out;
}

}  // namespace

double StudentT975(int dof) {
  if (dof < 1) return kNaN;
  if (dof <= 30) return kT975[dof - 1];
  const double x = 1.0 / dof;
  for (size_t i = 0; i + 1 < std::size(kTailDof); ++i) {
    if (dof <= kTailDof[i + 1]) {
      const double x0 = 1.0 / kTailDof[i], x1 = 1.0 / kTailDof[i + 1];
      return kTailT[i] + (kTailT[i + 1] - kTailT[i]) * (x - x0) / (x1 - x0);
    }
  }
  const double x0 = 1.0 / kTailDof[std::size(kTailDof) - 1];
  return kNormal975 + (kTailT[std::size(kTailT) - 1] - kNormal975) * x / x0;
}

Estimate Estimate95(const std::vector<double>& values) {
  Estimate e;
  double sum = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++e.n;
  }
  if (e.n == 0) {
    e.mean = kNaN;
    e.half_width = kNaN;
    return e;
  }
  e.mean = sum / e.n;
  if (e.n < 2) {
    e.half_width = kNaN;
    return e;
  }
  double squares = 0;
  for (double v : values) {
    if (!std::isnan(v)) squares += (v - e.mean) * (v - e.mean);
  }
  const double sd = std::sqrt(squares / (e.n - 1));
  e.half_width = StudentT975(e.n - 1) * sd / std::sqrt(static_cast<double>(e.n));
  return e;
}

SimSummary Summarize(const std::vector<ReplicationMetrics>& reps) {
  SimSummary s;
  s.replications = static_cast<int>(reps.size());
  std::map<std::string, std::vector<const QueueFigures*>> queues;
  std::map<std::string, std::vector<double>> groups;
  for (const ReplicationMetrics& m : reps) {
    for (const QueueFigures& q : m.queues) queues[q.queue];
    for (const GroupOccupancy& g : m.groups) groups[g.group];
  }
  for (size_t r = 0; r < reps.size(); ++r) {
    for (auto& [id, list] : queues) list.push_back(nullptr);
    for (const QueueFigures& q : reps[r].queues) queues[q.queue][r] = &q;
    for (auto& [name, list] : groups) list.push_back(kNaN);
    for (const GroupOccupancy& g : reps[r].groups) groups[g.group][r] = g.occupancy;
  }
  for (const auto& [id, list] : queues) s.queues.push_back(SummarizeQueue(id, list));
  std::vector<const QueueFigures*> overall;
  std::vector<double> all_engineers;
  for (const ReplicationMetrics& m : reps) {
    overall.push_back(&m.overall);
    all_engineers.push_back(m.all_engineers.occupancy);
  }
  s.overall = SummarizeQueue("", overall);
  for (const auto& [name, list] : groups) s.groups.push_back({name, Estimate95(list)});
  s.all_engineers = {"", Estimate95(all_engineers)};
  return s;
}

const QueueSummary* FindQueue(const SimSummary& summary, absl::string_view queue) {
  for (const QueueSummary& q : summary.queues) {
    if (q.queue == queue) return &q;
  }
  return nullptr;
}

const GroupSummary* FindGroup(const SimSummary& summary, absl::string_view group) {
  for (const GroupSummary& g : summary.groups) {
    if (g.group == group) return &g;
  }
  return nullptr;
}

std::string FormatText(const SimResult& r) {
  std::string out;
  absl::StrAppend(&out, "scenario ", r.scenario.empty() ? "(unnamed)" : r.scenario, ": ",
                  r.replications, " replication", r.replications == 1 ? "" : "s", " of ",
                  absl::FormatDuration(r.duration), " (warm-up ", absl::FormatDuration(r.warmup),
                  "), seed ", r.seed, "\n");
  absl::StrAppend(&out,
                  "figures: mean ± half-width of the 95 % confidence interval over the "
                  "replications\n\n");
  constexpr size_t kFirst = 16, kWidth = 17;
  absl::StrAppend(&out, Row({"queue", "offered", "answered", "abandoned", "p_wait", "asa_seconds",
                             "service_level", "abandon_rate", "max_wait_seconds"},
                            kFirst, kWidth));
  auto row = [&](const QueueSummary& q) {
    absl::StrAppend(
        &out, Row({q.queue.empty() ? "(all)" : q.queue, Cell(q.offered, 1), Cell(q.answered, 1),
                   Cell(q.abandoned, 1), Cell(q.p_wait, 4), Cell(q.asa_seconds, 2),
                   Cell(q.service_level, 4), Cell(q.abandon_rate, 4), Cell(q.max_wait_seconds, 1)},
                  kFirst, kWidth));
  };
  for (const QueueSummary& q : r.summary.queues) row(q);
  if (r.summary.queues.size() > 1) row(r.summary.overall);

  bool other_outcomes = false;
  for (const QueueSummary& q : r.summary.queues) {
    for (const Estimate* e : {&q.overflowed, &q.withdrawn, &q.bot_resolved, &q.unresolved}) {
      other_outcomes |= !std::isnan(e->mean) && e->mean > 0;
    }
  }
  if (other_outcomes) {
    absl::StrAppend(
        &out, "\n",
        Row({"queue", "overflowed", "withdrawn", "bot_resolved", "unresolved"}, kFirst, kWidth));
    for (const QueueSummary& q : r.summary.queues) {
      absl::StrAppend(&out, Row({q.queue, Cell(q.overflowed, 1), Cell(q.withdrawn, 1),
                                 Cell(q.bot_resolved, 1), Cell(q.unresolved, 1)},
                                kFirst, kWidth));
    }
  }

  absl::StrAppend(&out, "\n", Row({"engineer group", "occupancy"}, kFirst, kWidth));
  for (const GroupSummary& g : r.summary.groups) {
    absl::StrAppend(&out, Row({g.group, Cell(g.occupancy, 4)}, kFirst, kWidth));
  }
  if (r.summary.groups.size() > 1) {
    absl::StrAppend(&out,
                    Row({"(all)", Cell(r.summary.all_engineers.occupancy, 4)}, kFirst, kWidth));
  }

  // Who answered whom, when more than one group answers.
  if (r.summary.groups.size() > 1) {
    absl::StrAppend(&out, "\nshare of each queue's answered sessions, by engineer group\n");
    std::vector<std::string> header = {"queue"};
    for (const GroupSummary& g : r.summary.groups) header.push_back(g.group);
    absl::StrAppend(&out, Row(header, kFirst, kWidth));
    for (const QueueSummary& q : r.summary.queues) {
      std::vector<std::string> cells = {q.queue};
      for (const GroupSummary& g : r.summary.groups) {
        std::string cell = "-";
        for (const auto& [group, share] : q.answered_share_by_group) {
          if (group == g.group) cell = Cell(share, 3);
        }
        cells.push_back(cell);
      }
      absl::StrAppend(&out, Row(cells, kFirst, kWidth));
    }
  }
  absl::StrAppend(
      &out, "\n",
      absl::StrFormat("cost: %d sessions simulated, %d engine events, %.2f s wall "
                      "on %d thread%s: %.0f simulated sessions per second\n",
                      r.cost.sessions, r.cost.events, r.cost.wall_seconds, r.cost.threads,
                      r.cost.threads == 1 ? "" : "s", r.cost.sessions_per_second));
  return out;
}

std::string FormatJson(const SimResult& r) {
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"scenario\": ", JsonString(r.scenario), ",\n");
  absl::StrAppend(&out, "  \"replications\": ", r.replications, ",\n");
  absl::StrAppend(&out, "  \"seed\": ", r.seed, ",\n");
  absl::StrAppend(&out, "  \"duration_seconds\": ", JsonNumber(absl::ToDoubleSeconds(r.duration)),
                  ",\n");
  absl::StrAppend(&out, "  \"warmup_seconds\": ", JsonNumber(absl::ToDoubleSeconds(r.warmup)),
                  ",\n");
  absl::StrAppend(&out, "  \"queues\": [");
  for (size_t i = 0; i < r.summary.queues.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "\n    " : ",\n    ", JsonQueue(r.summary.queues[i], "    "));
  }
  absl::StrAppend(&out, "\n  ],\n  \"overall\": ", JsonQueue(r.summary.overall, "  "), ",\n");
  absl::StrAppend(&out, "  \"occupancy\": [");
  for (size_t i = 0; i < r.summary.groups.size(); ++i) {
    const GroupSummary& g = r.summary.groups[i];
    absl::StrAppend(&out, i == 0 ? "\n    " : ",\n    ", "{\"group\": ", JsonString(g.group),
                    ", \"occupancy\": ", JsonEstimate(g.occupancy), "}");
  }
  absl::StrAppend(&out,
                  "\n  ],\n  \"occupancy_all\": ", JsonEstimate(r.summary.all_engineers.occupancy),
                  ",\n");
  // Each replication's own figures, for paired comparisons (common random numbers).
  absl::StrAppend(&out, "  \"per_replication\": [");
  for (size_t i = 0; i < r.runs.size(); ++i) {
    const ReplicationMetrics& m = r.runs[i].metrics;
    absl::StrAppend(&out, i == 0 ? "\n    " : ",\n    ", "{\"replication\": ", i,
                    ", \"queues\": [");
    auto figures = [&out](const QueueFigures& f) {
      absl::StrAppend(
          &out, "{\"queue\": ", JsonString(f.queue), ", \"offered\": ", f.counts.offered,
          ", \"answered\": ", f.counts.answered, ", \"abandoned\": ", f.counts.abandoned,
          ", \"p_wait\": ", JsonNumber(f.p_wait), ", \"asa_seconds\": ", JsonNumber(f.asa_seconds),
          ", \"service_level\": ", JsonNumber(f.service_level),
          ", \"abandon_rate\": ", JsonNumber(f.abandon_rate),
          ", \"max_wait_seconds\": ", JsonNumber(f.max_wait_seconds), "}");
    };
    for (size_t q = 0; q < m.queues.size(); ++q) {
      if (q > 0) absl::StrAppend(&out, ", ");
      figures(m.queues[q]);
    }
    absl::StrAppend(&out, "], \"overall\": ");
    figures(m.overall);
    absl::StrAppend(&out, ", \"occupancy\": {");
    for (size_t g = 0; g < m.groups.size(); ++g) {
      absl::StrAppend(&out, g == 0 ? "" : ", ", JsonString(m.groups[g].group), ": ",
                      JsonNumber(m.groups[g].occupancy));
    }
    absl::StrAppend(&out, "}}");
  }
  absl::StrAppend(&out, "\n  ],\n");
  absl::StrAppend(&out, "  \"cost\": {\"sessions\": ", r.cost.sessions,
                  ", \"events\": ", r.cost.events,
                  ", \"wall_seconds\": ", JsonNumber(r.cost.wall_seconds),
                  ", \"sessions_per_second\": ", JsonNumber(r.cost.sessions_per_second),
                  ", \"threads\": ", r.cost.threads, "}\n");
  absl::StrAppend(&out, "}\n");
  return out;
}

std::string FormatComparisonText(const SimSummary& a, absl::string_view a_name,
                                 const SimSummary& b, absl::string_view b_name) {
  constexpr size_t kFirst = 16, kWidth = 17;
  std::string out;
  absl::StrAppend(&out, Row({"queue", "run", "offered", "answered", "abandoned", "p_wait",
                             "asa_seconds", "service_level", "abandon_rate", "max_wait_seconds"},
                            kFirst, kWidth));
  auto row = [&](absl::string_view queue, absl::string_view run, const QueueSummary* q) {
    if (q == nullptr) {
      absl::StrAppend(&out, Row({std::string(queue), std::string(run), "-"}, kFirst, kWidth));
      return;
    }
    absl::StrAppend(&out, Row({std::string(queue), std::string(run), Cell(q->offered, 1),
                               Cell(q->answered, 1), Cell(q->abandoned, 1), Cell(q->p_wait, 4),
                               Cell(q->asa_seconds, 2), Cell(q->service_level, 4),
                               Cell(q->abandon_rate, 4), Cell(q->max_wait_seconds, 1)},
                              kFirst, kWidth));
  };
  std::set<std::string> queues;
  for (const QueueSummary& q : a.queues) queues.insert(q.queue);
  for (const QueueSummary& q : b.queues) queues.insert(q.queue);
  for (const std::string& queue : queues) {
    row(queue, a_name, FindQueue(a, queue));
    row("", b_name, FindQueue(b, queue));
  }
  if (queues.size() > 1) {
    row("(all)", a_name, &a.overall);
    row("", b_name, &b.overall);
  }
  absl::StrAppend(&out, "\n", Row({"engineer group", std::string(a_name), std::string(b_name)},
                                   kFirst, kWidth));
  std::set<std::string> groups;
  for (const GroupSummary& g : a.groups) groups.insert(g.group);
  for (const GroupSummary& g : b.groups) groups.insert(g.group);
  for (const std::string& group : groups) {
    const GroupSummary* ga = FindGroup(a, group);
    const GroupSummary* gb = FindGroup(b, group);
    absl::StrAppend(&out, Row({group, ga == nullptr ? "-" : Cell(ga->occupancy, 4),
                               gb == nullptr ? "-" : Cell(gb->occupancy, 4)},
                              kFirst, kWidth));
  }
  if (groups.size() > 1) {
    absl::StrAppend(&out, Row({"(all)", Cell(a.all_engineers.occupancy, 4),
                               Cell(b.all_engineers.occupancy, 4)},
                              kFirst, kWidth));
  }
  return out;
}

std::string JsonSummary(const SimSummary& summary, absl::string_view indent) {
  std::string out = "{";
  absl::StrAppend(&out, "\n", indent, "  \"queues\": [");
  const std::string inner = absl::StrCat(indent, "    ");
  for (size_t i = 0; i < summary.queues.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "\n" : ",\n", inner, JsonQueue(summary.queues[i], inner));
  }
  absl::StrAppend(&out, "\n", indent, "  ],\n", indent,
                  "  \"overall\": ", JsonQueue(summary.overall, absl::StrCat(indent, "  ")),
                  ",\n", indent, "  \"occupancy\": [");
  for (size_t i = 0; i < summary.groups.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "\n" : ",\n", inner, "{\"group\": ",
                    JsonString(summary.groups[i].group),
                    ", \"occupancy\": ", JsonEstimate(summary.groups[i].occupancy), "}");
  }
  absl::StrAppend(&out, "\n", indent, "  ],\n", indent, "  \"occupancy_all\": ",
                  JsonEstimate(summary.all_engineers.occupancy), "\n", indent, "}");
  return out;
}

std::string JsonQuote(absl::string_view text) { return JsonString(text); }

}  // namespace omniroute::sim
