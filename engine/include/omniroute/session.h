// Sessions: one customer's request on one channel.
//
// Lifecycle:
//
//   SCHEDULED ──window opens──┐
//                             ▼
//   BOT ──escalate──► QUEUED ──offer──► OFFERED ──accept──► ASSIGNED ──complete──► WRAP_UP
//                       ▲                  │                   │                      │
//                       └─reject/expire────┘                   └─transfer─► QUEUED    ▼
//                                                                                 COMPLETED
//   SCHEDULED, BOT, QUEUED, OFFERED ──cancel──► ABANDONED (customer left) or CANCELLED (gateway)
//   QUEUED ──overflow with no target──► OVERFLOWED
//
// A booked appointment (CreateSession with a window) whose window is still to come starts
// SCHEDULED: it is not waiting, not counted in the queue's waiting counts and not routed
// until the window opens, when it becomes QUEUED. A transfer or an overflow with a target
// queue moves the session on (TRANSFERRED and OVERFLOWED are reported as events) and it waits
// again as QUEUED in the new queue. A QUEUED session may become a callback (RequestCallback)
// without leaving its place.

#ifndef OMNIROUTE_SESSION_H_
#define OMNIROUTE_SESSION_H_

#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "omniroute/ids.h"
#include "omniroute/queue.h"

namespace omniroute {

enum class SessionState {
  kBot = 1,
  kQueued = 2,
  kOffered = 3,
  kAssigned = 4,
  kWrapUp = 5,
  kCompleted = 6,
  kAbandoned = 7,
  kCancelled = 8,
  kTransferred = 9,
  kOverflowed = 10,
  // A booked appointment waiting for its window to open; not routed, not counted as waiting.
  kScheduled = 11,
};
absl::string_view SessionStateName(SessionState state);
// Completed, abandoned, cancelled or overflowed-out: the session holds nothing any more.
// (SCHEDULED, BOT, QUEUED, OFFERED, ASSIGNED and WRAP_UP are not terminal.)
bool IsTerminal(SessionState state);

// What the routing engine knows of the customer when the session is created. The customer
// directory (outside the engine) fills it in.
struct CustomerSnapshot {
  CustomerId id;
  int vip_level = 0;  // 0 = not VIP, up to 9
  std::vector<std::string> tags;
  std::string language;
  std::vector<EngineerId> preferred_engineers;  // favourites, best first
  EngineerId last_engineer;

  friend bool operator==(const CustomerSnapshot&, const CustomerSnapshot&) = default;
};

// Where in its routing a waiting session is.
enum class RoutingStage {
  kPreferred = 1,     // only the customer's preferred engineers
  kLastEngineer = 2,  // only the engineer who served the customer last
  kVipTier = 3,       // only engineers of the queue's VIP minimum tier or better
  kQueue = 4,         // any eligible engineer of the queue
};
absl::string_view RoutingStageName(RoutingStage stage);

}  // namespace omniroute

#endif  // OMNIROUTE_SESSION_H_
