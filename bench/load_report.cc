#include "bench/load_report.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/distribution.h"

namespace omniroute::bench {
namespace {

struct LatencyRow {
  LoadStats::Latency which;
  const char* json_name;
  const char* text_name;
};
constexpr LatencyRow kLatencyRows[] = {
    {LoadStats::kLatencyCreateSession, "create_session", "CreateSession"},
    {LoadStats::kLatencyCreateToOffer, "create_to_offer", "create->offer"},
    {LoadStats::kLatencyCreateToAssigned, "create_to_assigned", "create->assigned"},
    {LoadStats::kLatencyAcceptOffer, "accept_offer", "AcceptOffer"},
    {LoadStats::kLatencyRejectOffer, "reject_offer", "RejectOffer"},
    {LoadStats::kLatencyCompleteSession, "complete_session", "CompleteSession"},
    {LoadStats::kLatencyEndWrapUp, "end_wrap_up", "EndWrapUp"},
    {LoadStats::kLatencySetPresence, "set_presence", "SetPresence"},
    {LoadStats::kLatencySendLag, "send_lag", "send lag (open)"},
};

constexpr Rpc kAllRpcs[] = {Rpc::kCreateSession, Rpc::kAcceptOffer,  Rpc::kRejectOffer,
                            Rpc::kCompleteSession, Rpc::kEndWrapUp, Rpc::kSetPresence,
                            Rpc::kStreamOffers,  Rpc::kEcho};

double PerSecond(uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Num(double v) { return absl::StrFormat("%.3f", v); }

std::string Seconds(absl::Duration d) { return Num(absl::ToDoubleSeconds(d)); }

std::string Millis(int64_t micros) { return absl::StrFormat("%.2f", micros / 1000.0); }

std::string CountsJson(const LoadStats::Snapshot& s) {
  return absl::StrCat(
      "{\"created\": ", s.milestone(Milestone::kCreated),
      ", \"offered\": ", s.milestone(Milestone::kOffered),
      ", \"routed\": ", s.milestone(Milestone::kRouted),
      ", \"completed\": ", s.milestone(Milestone::kCompleted),
      ", \"stream_messages\": ", s.milestone(Milestone::kStreamMessage),
      ", \"rpcs\": ", s.AllCalls(), ", \"errors\": ", s.AllErrors(),
      ", \"scheduled\": ", s.milestone(Milestone::kScheduled),
      ", \"late\": ", s.milestone(Milestone::kLate),
      ", \"skipped\": ", s.milestone(Milestone::kSkipped), "}");
}

// {"<Rpc>": {"<CODE>": n}}; with `errors_only`, OK is left out, and so is an rpc with none.
std::string CallsJson(const LoadStats::Snapshot& s, bool errors_only) {
  std::string out = "{";
  bool first_rpc = true;
  for (Rpc rpc : kAllRpcs) {
    std::string codes;
    for (int c = errors_only ? 1 : 0; c < kStatusCodeCount; ++c) {
      const uint64_t n = s.calls[static_cast<int>(rpc)][c];
      if (n == 0) continue;
      absl::StrAppend(&codes, codes.empty() ? "" : ", ", Quote(StatusCodeName(c)), ": ", n);
    }
    if (codes.empty()) continue;
    absl::StrAppend(&out, first_rpc ? "" : ", ", Quote(RpcName(rpc)), ": {", codes, "}");
    first_rpc = false;
  }
  return out + "}";
}

std::string LatencyJson(const LatencyHistogram::Snapshot& h) {
  return absl::StrCat("{\"count\": ", h.count, ", \"mean\": ", Num(h.Mean()),
                      ", \"p50\": ", h.Percentile(0.50), ", \"p90\": ", h.Percentile(0.90),
                      ", \"p99\": ", h.Percentile(0.99), ", \"p999\": ", h.Percentile(0.999),
                      ", \"max\": ", h.max, "}");
}

std::string LatencyTextRow(const char* name, const LatencyHistogram::Snapshot& h) {
  return absl::StrFormat("  %-20s %9d %9.2f %9s %9s %9s %9s %9s\n", name, h.count,
                         h.Mean() / 1000.0, Millis(h.Percentile(0.5)), Millis(h.Percentile(0.9)),
                         Millis(h.Percentile(0.99)), Millis(h.Percentile(0.999)), Millis(h.max));
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

std::string ErrorsText(const LoadStats::Snapshot& s) {
  std::string out;
  for (Rpc rpc : kAllRpcs) {
    for (int c = 1; c < kStatusCodeCount; ++c) {
      const uint64_t n = s.calls[static_cast<int>(rpc)][c];
      if (n == 0) continue;
      absl::StrAppend(&out, out.empty() ? "" : ", ", RpcName(rpc), " ", StatusCodeName(c), " ",
                      n);
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::string FormatJson(const RunReport& r) {
  const LoadOptions& o = r.options;
  const LoadStats::Snapshot& w = r.window;
  const double t = r.measured_seconds;
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"target\": ", Quote(o.target), ",\n");
  absl::StrAppend(&out, "  \"run_tag\": ", Quote(r.run_tag), ",\n");
  absl::StrAppend(
      &out, "  \"config\": {\"duration_s\": ", Seconds(o.duration),
      ", \"warmup_s\": ", Seconds(o.warmup), ", \"gateways\": ", o.gateways,
      ", \"inflight\": ", o.inflight, ", \"max_open\": ", r.max_open,
      ", \"agents\": ", o.agents, ", \"slots\": ", o.slots, ", \"queue\": ", Quote(o.queue),
      ", \"channel\": ", Quote(o.channel), ", \"wrap_up_s\": ", Seconds(o.wrap_up),
      ", \"connections\": ", o.connections, ", \"setup\": ", o.no_setup ? "false" : "true",
      ", \"mode\": ", r.open_loop ? "\"open\"" : "\"closed\"",
      ", \"rate\": ", Num(r.rate_per_second), ", \"arrivals\": ", Quote(o.arrivals),
      ", \"seed\": ", o.seed, ", \"profile\": ", Quote(r.plan_name),
      ", \"streams\": ", r.streams, ", \"desktops\": ", r.desktops,
      ", \"accept_delay\": ", Quote(FormatDistribution(o.accept_delay)),
      ", \"reject_probability\": ", Num(o.reject_probability),
      ", \"handle_time\": ", Quote(FormatDistribution(o.handle_time)),
      ", \"wrap_up_time\": ", Quote(FormatDistribution(o.wrap_up_time)), "},\n");
  absl::StrAppend(&out, "  \"measured_s\": ", Num(t), ",\n");
  absl::StrAppend(
      &out, "  \"throughput\": {\"created_per_s\": ",
      Num(PerSecond(w.milestone(Milestone::kCreated), t)),
      ", \"offered_per_s\": ", Num(PerSecond(w.milestone(Milestone::kOffered), t)),
      ", \"routed_per_s\": ", Num(PerSecond(w.milestone(Milestone::kRouted), t)),
      ", \"completed_per_s\": ", Num(PerSecond(w.milestone(Milestone::kCompleted), t)),
      ", \"rpcs_per_s\": ", Num(PerSecond(w.AllCalls(), t)),
      ", \"stream_messages_per_s\": ", Num(PerSecond(w.milestone(Milestone::kStreamMessage), t)),
      ", \"scheduled_per_s\": ", Num(PerSecond(w.milestone(Milestone::kScheduled), t)),
      "},\n");
  absl::StrAppend(&out, "  \"counts\": ", CountsJson(w), ",\n");
  absl::StrAppend(&out, "  \"totals\": ", CountsJson(r.total), ",\n");
  out += "  \"latency_us\": {";
  bool first = true;
  for (const LatencyRow& row : kLatencyRows) {
    absl::StrAppend(&out, first ? "\n" : ",\n", "    ", Quote(row.json_name), ": ",
                    LatencyJson(w.latencies[row.which]));
    first = false;
  }
  out += "\n  },\n";
  absl::StrAppend(&out, "  \"calls\": ", CallsJson(w, false), ",\n");
  absl::StrAppend(&out, "  \"errors\": ", CallsJson(w, true), ",\n");
  absl::StrAppend(&out, "  \"errors_total\": ", CallsJson(r.total, true), ",\n");
  absl::StrAppend(&out, "  \"end\": {\"open_sessions\": ", r.open_sessions,
                  ", \"lost_streams\": ", r.lost_streams,
                  ", \"calls_in_flight\": ", r.calls_in_flight,
                  ", \"agents_ready\": ", r.agents_ready,
                  ", \"mean_calls_in_flight\": ", Num(r.mean_calls_in_flight), "},\n");
  absl::StrAppend(&out, "  \"bench_cpu\": {\"cores\": ", Num(Ratio(r.cpu_seconds, t)),
                  ", \"us_per_routed_session\": ",
                  Num(Ratio(1e6 * r.cpu_seconds,
                            static_cast<double>(w.milestone(Milestone::kRouted)))),
                  "}");
  if (r.baseline.present) {
    const RunReport::Baseline& b = r.baseline;
    const double echo_rps = PerSecond(b.window.AllCalls(), b.measured_seconds);
    const double daemon_rps = PerSecond(w.AllCalls(), t);
    const double daemon_created = PerSecond(w.milestone(Milestone::kCreated), t);
    absl::StrAppend(
        &out, ",\n  \"baseline\": {\"kind\": \"echo\", \"target\": ", Quote(b.target),
        ", \"gateways\": ", b.gateways, ", \"inflight\": ", b.inflight,
        ", \"request_bytes\": ", b.request_bytes, ", \"response_bytes\": ", b.response_bytes,
        ", \"measured_s\": ", Num(b.measured_seconds), ", \"rpcs_per_s\": ", Num(echo_rps),
        ", \"errors\": ", b.window.AllErrors(),
        ", \"cpu_cores\": ", Num(Ratio(b.cpu_seconds, b.measured_seconds)),
        ", \"latency_us\": {\"echo\": ",
        LatencyJson(b.window.latencies[LoadStats::kLatencyEcho]),
        "}, \"daemon_rpcs_per_s\": ", Num(daemon_rps),
        ", \"daemon_created_per_s\": ", Num(daemon_created),
        ", \"ratio\": ", Num(Ratio(daemon_rps, echo_rps)),
        ", \"ratio_created\": ", Num(Ratio(daemon_created, echo_rps)), "}");
  }
  out += "\n}\n";
  return out;
}

std::string FormatText(const RunReport& r) {
  const LoadOptions& o = r.options;
  const LoadStats::Snapshot& w = r.window;
  const double t = r.measured_seconds;
  std::string out = absl::StrFormat(
      "omniroute-bench %s: %.1f s measured after %s warmup; %s; max open %d\n", o.target, t,
      absl::FormatDuration(o.warmup),
      r.open_loop ? absl::StrFormat("open loop at %.1f sessions/s (%s) over %d gateways",
                                    r.rate_per_second, o.arrivals, o.gateways)
                  : absl::StrFormat("closed loop, %d gateways x %d in flight", o.gateways,
                                    o.inflight),
      r.max_open);
  if (r.plan_name == "default") {
    absl::StrAppend(&out, absl::StrFormat(
                              "  centre: %d agents x %d slots on %s, queue %s, wrap-up %s\n",
                              o.agents, o.slots, o.channel, o.queue,
                              absl::FormatDuration(o.wrap_up)));
  } else {
    absl::StrAppend(&out, absl::StrFormat("  centre: profile %s, %d desktops, %d streams\n",
                                          r.plan_name, r.desktops, r.streams));
  }
  absl::StrAppend(&out, absl::StrFormat(
                            "  desktops: accept delay %s, reject %.3f, handle %s, wrap-up %s "
                            "(flags; a profile sets its own)\n",
                            FormatDistribution(o.accept_delay), o.reject_probability,
                            FormatDistribution(o.handle_time), FormatDistribution(o.wrap_up_time)));
  auto rate = [&](const char* name, uint64_t n) {
    absl::StrAppend(&out, absl::StrFormat("  %-20s %10.1f /s  (%d)\n", name, PerSecond(n, t), n));
  };
  rate("sessions created", w.milestone(Milestone::kCreated));
  rate("offers received", w.milestone(Milestone::kOffered));
  rate("sessions routed", w.milestone(Milestone::kRouted));
  rate("sessions completed", w.milestone(Milestone::kCompleted));
  rate("RPCs", w.AllCalls());
  rate("stream messages", w.milestone(Milestone::kStreamMessage));
  if (r.open_loop) {
    rate("sends scheduled", w.milestone(Milestone::kScheduled));
    absl::StrAppend(&out, absl::StrFormat("  %-20s %10d late (> %d us behind schedule), %d "
                                          "skipped (max open reached)\n",
                                          "", w.milestone(Milestone::kLate), kLateSendMicros,
                                          w.milestone(Milestone::kSkipped)));
  }
  absl::StrAppend(&out, absl::StrFormat("  %-20s %9s %9s %9s %9s %9s %9s %9s\n", "latency (ms)",
                                        "count", "mean", "p50", "p90", "p99", "p99.9", "max"));
  for (const LatencyRow& row : kLatencyRows) {
    const LatencyHistogram::Snapshot& h = w.latencies[row.which];
    if (h.count == 0 && (row.which == LoadStats::kLatencySendLag ||
                         row.which == LoadStats::kLatencyRejectOffer ||
                         row.which == LoadStats::kLatencySetPresence)) {
      continue;  // not part of this run
    }
    absl::StrAppend(&out, LatencyTextRow(row.text_name, h));
  }
  absl::StrAppend(&out, "  errors (measured):   ", ErrorsText(w), "\n");
  absl::StrAppend(&out, "  errors (whole run):  ", ErrorsText(r.total), "\n");
  absl::StrAppend(
      &out,
      absl::StrFormat("  whole run: created %d, routed %d, completed %d; at the end %d sessions "
                      "open, %d streams lost, %d calls unanswered, %d/%d agents ready\n",
                      r.total.milestone(Milestone::kCreated),
                      r.total.milestone(Milestone::kRouted),
                      r.total.milestone(Milestone::kCompleted), r.open_sessions, r.lost_streams,
                      r.calls_in_flight, r.agents_ready, r.desktops));
  absl::StrAppend(&out, absl::StrFormat("  bench process CPU: %.2f cores, %.0f us per routed "
                                        "session\n",
                                        Ratio(r.cpu_seconds, t),
                                        Ratio(1e6 * r.cpu_seconds,
                                              static_cast<double>(
                                                  w.milestone(Milestone::kRouted)))));
  if (r.baseline.present) {
    const RunReport::Baseline& b = r.baseline;
    const double echo_rps = PerSecond(b.window.AllCalls(), b.measured_seconds);
    const double daemon_rps = PerSecond(w.AllCalls(), t);
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "baseline echo %s: %.1f s measured; %d gateways x %d in flight (the daemon run "
            "averaged %.1f calls outstanding), %d-byte requests, %d-byte responses\n",
            b.target, b.measured_seconds, b.gateways, b.inflight, r.mean_calls_in_flight,
            b.request_bytes, b.response_bytes));
    absl::StrAppend(&out, absl::StrFormat("  %-20s %10.1f /s  (%d), errors %d; bench process "
                                          "CPU %.2f cores (client and server)\n",
                                          "echo RPCs", echo_rps, b.window.AllCalls(),
                                          b.window.AllErrors(),
                                          Ratio(b.cpu_seconds, b.measured_seconds)));
    absl::StrAppend(&out, LatencyTextRow("Echo (ms)", b.window.latencies[LoadStats::kLatencyEcho]));
    absl::StrAppend(
        &out, absl::StrFormat("  daemon / echo: RPCs %.1f %% (%.1f / %.1f per s); sessions "
                              "created per echo call %.1f %%\n",
                              100 * Ratio(daemon_rps, echo_rps), daemon_rps, echo_rps,
                              100 * Ratio(PerSecond(w.milestone(Milestone::kCreated), t),
                                          echo_rps)));
  }
  return out;
}

std::string FormatProgress(const std::string& phase, double elapsed_seconds,
                           const LoadStats::Snapshot& d, double seconds, int64_t open_sessions,
                           int64_t calls_in_flight) {
  const LatencyHistogram::Snapshot& create = d.latencies[LoadStats::kLatencyCreateSession];
  const LatencyHistogram::Snapshot& offer = d.latencies[LoadStats::kLatencyCreateToOffer];
  const LatencyHistogram::Snapshot& echo = d.latencies[LoadStats::kLatencyEcho];
  if (echo.count > 0) {
    return absl::StrFormat(
        "[%6.1fs %-12s] echo %7.0f/s | in-flight %4d | p50 %s p99 %s ms | errors %d",
        elapsed_seconds, phase, PerSecond(d.AllCalls(), seconds), calls_in_flight,
        Millis(echo.Percentile(0.5)), Millis(echo.Percentile(0.99)), d.AllErrors());
  }
  std::string open_loop;
  if (d.milestone(Milestone::kScheduled) > 0) {
    open_loop = absl::StrFormat(" | sched %7.0f/s late %d skipped %d",
                                PerSecond(d.milestone(Milestone::kScheduled), seconds),
                                d.milestone(Milestone::kLate), d.milestone(Milestone::kSkipped));
  }
  return absl::StrCat(absl::StrFormat(
      "[%6.1fs %-12s] created %7.0f/s routed %7.0f/s completed %7.0f/s rpcs %7.0f/s | "
      "open %5d in-flight %4d | create p50 %s p99 %s ms, ->offer p99 %s ms | errors %d",
      elapsed_seconds, phase, PerSecond(d.milestone(Milestone::kCreated), seconds),
      PerSecond(d.milestone(Milestone::kRouted), seconds),
      PerSecond(d.milestone(Milestone::kCompleted), seconds), PerSecond(d.AllCalls(), seconds),
      open_sessions, calls_in_flight, Millis(create.Percentile(0.5)),
      Millis(create.Percentile(0.99)), Millis(offer.Percentile(0.99)), d.AllErrors()),
      open_loop);
}

}  // namespace omniroute::bench
