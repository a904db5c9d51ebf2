#!/usr/bin/env bash
# The load generator's figures (issue: omniroute-bench), for an in-memory and a journaled
# omnirouted:
#   (a) the daemon's throughput as a ratio to a bare gRPC echo server driven by the same
#       client machinery (omniroute-bench --baseline=echo, closed loop); goal >= 80 %;
#   (b) the maximum throughput (routed sessions/s, the best closed loop: the run of (a) at the
#       default 4 gateways x 8 in flight, and 4 x each of INFLIGHTS), then an open loop at
#       half of it and its p99 create->offer latency; goal <= 2 ms on loopback.
#
#   bench/bench_figures.sh BUILD_DIR
#
# Every bench run gets a fresh omnirouted on 127.0.0.1:0 (--in_memory, or --data_dir=<fresh
# temp dir> with the default fdatasync-every-batch policy) with a minimal configuration; the
# bench sets up its queue and agents. Environment: DURATION (default 10s) and WARMUP (2s) of
# every run; ROUNDS (default 3) runs of (a), the median ratio reported; INFLIGHTS (default
# "32": per gateway) for the search of (b);
# MODES (default "memory journal"); BENCH_ARGS adds flags to every run (e.g. "--agents=100").
# The ratio of (a) is RPCs per second, daemon over echo, the echo run having at least as many
# calls outstanding as the daemon run had (see docs/PERFORMANCE.md, "Load generator").
# The daemon and the bench share this machine's cores: the load average is printed.
#
# Needs BUILD_DIR/daemon/omnirouted, BUILD_DIR/bench/omniroute-bench and /usr/bin/python3.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
build="$(cd "$1" && pwd)"
daemon="$build/daemon/omnirouted"
bench="$build/bench/omniroute-bench"
python=/usr/bin/python3
duration="${DURATION:-10s}"
warmup="${WARMUP:-2s}"
read -r -a inflights <<<"${INFLIGHTS:-32}"
rounds="${ROUNDS:-3}"
read -r -a modes <<<"${MODES:-memory journal}"
read -r -a bench_args <<<"${BENCH_ARGS:-}"
for f in "$daemon" "$bench" "$python"; do
  [[ -x "$f" ]] || { echo "bench_figures: $f not found or not executable" >&2; exit 2; }
done

script_start=$(date +%s.%N)
work="$(mktemp -d "${TMPDIR:-/tmp}/omniroute-bench-figures.XXXXXX")"
daemon_pid=""
stop_daemon() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -9 "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  daemon_pid=""
}
cleanup() {
  stop_daemon
  rm -rf "$work"
}
trap cleanup EXIT

config="$work/omnirouted.textproto"
echo 'log_level: LOG_LEVEL_WARNING' >"$config"

# start_daemon NAME MODE: a fresh omnirouted; sets daemon_pid and address.
start_daemon() {
  local name="$1" mode="$2" i
  local args=(--config="$config" --listen=127.0.0.1:0 --http=127.0.0.1:0)
  if [[ "$mode" == memory ]]; then
    args+=(--in_memory)
  else
    args+=(--data_dir="$work/$name.data")
  fi
  "$daemon" "${args[@]}" >"$work/$name.daemon.out" 2>"$work/$name.daemon.err" &
  daemon_pid=$!
  address=""
  for ((i = 0; i < 300; i++)); do
    address="$(sed -n 's/^omnirouted listening on \(.*\)$/\1/p' "$work/$name.daemon.out")"
    [[ -n "$address" ]] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench_figures: omnirouted ($name) did not start:" >&2
  cat "$work/$name.daemon.err" >&2
  exit 1
}

# run NAME MODE ARGS...: one bench run on a fresh daemon; JSON in $work/NAME.json.
run() {
  local name="$1" mode="$2"
  shift 2
  start_daemon "$name" "$mode"
  if ! "$bench" --target="$address" --warmup="$warmup" --duration="$duration" --json --quiet \
    "${bench_args[@]}" "$@" >"$work/$name.json" 2>"$work/$name.bench.err"; then
    echo "bench_figures: omniroute-bench failed ($name):" >&2
    cat "$work/$name.bench.err" >&2
    exit 1
  fi
  # CPU seconds (user + system) the daemon used over its whole life (setup, warmup, drain).
  local cpu
  cpu="$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' \
    "/proc/$daemon_pid/stat")"
  stop_daemon
  "$python" - "$work/$name.json" "$name" "$cpu" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t, l, c = r["throughput"], r["latency_us"], r["counts"]
line = (f"  {sys.argv[2]:22} {r['config']['mode']:6} routed {t['routed_per_s']:8.0f}/s"
        f"  rpcs {t['rpcs_per_s']:8.0f}/s  create->offer p50/p99 "
        f"{l['create_to_offer']['p50']/1000:.2f}/{l['create_to_offer']['p99']/1000:.2f} ms"
        f"  errors {r['totals']['errors']}")
if r["config"]["mode"] == "open":
    line += f"  late {c['late']} skipped {c['skipped']}"
if "baseline" in r:
    b = r["baseline"]
    line += f"  | echo {b['rpcs_per_s']:.0f} RPCs/s, ratio {100 * b['ratio']:.1f} %"
line += (f"  | cpu: bench {r['bench_cpu']['cores']:.2f} cores "
         f"({r['bench_cpu']['us_per_routed_session']:.0f} us/session), daemon {sys.argv[3]} s")
print(line, flush=True)
PY
}

# Sessions routed per second of a run's JSON, as an integer.
routed() {
  "$python" -c 'import json, sys
print(int(json.load(open(sys.argv[1]))["throughput"]["routed_per_s"]))' "$1"
}

echo "bench_figures: modes ${modes[*]}, warmup $warmup, duration $duration, $rounds rounds," \
  "inflights" \
  "${inflights[*]}, bench flags: ${BENCH_ARGS:-(defaults)}; $(nproc) cores, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
for mode in "${modes[@]}"; do
  # (a) the echo ratio, at the default concurrency, ROUNDS times.
  best=0
  for ((round = 1; round <= rounds; round++)); do
    run "$mode-echo-$round" "$mode" --baseline=echo
    rate="$(routed "$work/$mode-echo-$round.json")"
    if ((rate > best)); then best=$rate; fi
  done
  # (b) the maximum over the concurrencies, then the open loop at half of it.
  for inflight in "${inflights[@]}"; do
    run "$mode-closed-$inflight" "$mode" --inflight="$inflight"
    rate="$(routed "$work/$mode-closed-$inflight.json")"
    if ((rate > best)); then best=$rate; fi
  done
  half=$((best / 2))
  ((half > 0)) || { echo "bench_figures: no throughput measured ($mode)" >&2; exit 1; }
  run "$mode-open-half" "$mode" --rate="$half"
  echo "$mode $best $half" >>"$work/summary.txt"
done

"$python" - "$work" "$rounds" <<'PY'
import json, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
print()
print(f"{'daemon':8} {'echo RPCs/s':>11} {'daemon RPCs/s':>13} {'ratio':>7} {'goal':>6} | "
      f"{'max routed/s':>12} {'open rate':>9} {'create->offer p50':>17} {'p99':>7} {'p99.9':>7} "
      f"{'sched':>6} {'late':>6} {'skipped':>7} {'goal':>6}")
for line in open(os.path.join(work, "summary.txt")):
    mode, best, half = line.split()
    echo_runs = [json.load(open(os.path.join(work, f"{mode}-echo-{i}.json")))
                 for i in range(1, rounds + 1)]
    ratios = [e["baseline"]["ratio"] for e in echo_runs]
    ratio = statistics.median(ratios)
    e = min(echo_runs, key=lambda e: abs(e["baseline"]["ratio"] - ratio))  # the median run
    b = e["baseline"]
    o = json.load(open(os.path.join(work, f"{mode}-open-half.json")))
    lo = o["latency_us"]["create_to_offer"]
    c = o["counts"]
    print(f"{mode:8} {b['rpcs_per_s']:11.0f} {b['daemon_rpcs_per_s']:13.0f} {100 * ratio:6.1f}% "
          f"{'met' if ratio >= 0.8 else 'NOT':>6} | {int(best):12d} {int(half):9d} "
          f"{lo['p50'] / 1000:15.2f}ms {lo['p99'] / 1000:5.2f}ms {lo['p999'] / 1000:5.2f}ms "
          f"{c['scheduled']:6d} {c['late']:6d} {c['skipped']:7d} "
          f"{'met' if lo['p99'] <= 2000 else 'NOT':>6}")
    print(f"{'':8} ratio per round: {', '.join(f'{100 * r:.1f} %' for r in ratios)} (median "
          f"shown); echo run: {b['gateways']} gateways x {b['inflight']} in flight, "
          f"{b['request_bytes']}/{b['response_bytes']} bytes; the daemon run averaged "
          f"{e['end']['mean_calls_in_flight']:.1f} calls in flight, "
          f"{e['throughput']['routed_per_s']:.0f} sessions routed/s (sessions per echo call: "
          f"{100 * b['ratio_created']:.1f} %)")
PY
for f in "$work"/*.daemon.err; do
  if [[ -s "$f" ]]; then
    echo "--- $(basename "$f" .daemon.err): daemon stderr, first lines of $(grep -c . "$f")"
    head -3 "$f" | cut -c1-300
  fi
done
printf 'bench_figures: done in %s s (load average now %s)\n' \
  "$(awk -v a="$script_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
