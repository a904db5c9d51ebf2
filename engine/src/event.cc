#include "omniroute/event.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace omniroute {

namespace {
std::string Micros(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }
std::string Key(const RankKey& k) {
  return absl::StrFormat("(%d,%d,%u)", k.primary, k.secondary, k.order);
}
}  // namespace

std::string Event::ToString() const {
  std::string out = absl::StrFormat("#%d @%s %s", seq, Micros(at), EventTypeName(type));
  if (!session.empty()) absl::StrAppend(&out, " session=", session.value());
  if (!queue.empty()) absl::StrAppend(&out, " queue=", queue.value());
  if (!to_queue.empty()) absl::StrAppend(&out, " to_queue=", to_queue.value());
  if (!engineer.empty()) absl::StrAppend(&out, " engineer=", engineer.value());
  if (!channel.empty()) absl::StrAppend(&out, " channel=", channel.value());
  if (!session.empty()) absl::StrAppend(&out, " state=", SessionStateName(state));
  if (type == EventType::kPresenceChanged) {
    absl::StrAppend(&out, " presence=", PresenceName(presence));
  }
  if (type == EventType::kEngineerRankChanged) {
    absl::StrAppend(&out, " tier=", TierName(tier), " previous_tier=", TierName(previous_tier),
                    " score=", score);
  }
  if (!detail.empty()) absl::StrAppend(&out, " detail=\"", detail, "\"");
  if (deadline != absl::InfinitePast()) absl::StrAppend(&out, " deadline=", Micros(deadline));
  if (has_reason) {
    const RoutingReason& r = reason;
    absl::StrAppend(&out, " reason={strategy=", r.strategy, " stage=", RoutingStageName(r.stage),
                    " relax=", r.relaxation_step, " by=", DeciderName(r.decided_by),
                    " key=", Key(r.winner));
    if (r.has_runner_up) {
      absl::StrAppend(&out, " runner_up=", r.runner_up_engineer.value(), Key(r.runner_up));
    }
    if (r.effective_priority_milli != 0 || r.waited != absl::ZeroDuration()) {
      absl::StrAppend(&out, " eff_prio_milli=", r.effective_priority_milli,
                      " waited_us=", absl::ToInt64Microseconds(r.waited));
    }
    if (!r.runner_up_session.empty()) {
      absl::StrAppend(&out, " runner_up_session=", r.runner_up_session.value());
    }
    if (!r.rules.empty()) absl::StrAppend(&out, " rules=[", absl::StrJoin(r.rules, "; "), "]");
    absl::StrAppend(&out, "}");
  }
  return out;
}

}  // namespace omniroute
