#!/usr/bin/env bash
# The figures of the durability work, measured in one run:
#   1. throughput of omnirouted under load with the journal on (fdatasync every batch, the
#      default sync policy) as a ratio to the journal off (--in_memory); goal >= 70 %;
#   2. journal bytes per routed session;
#   3. the cost of the decision audit (on by default): throughput journal on with the audit
#      on / journal on with the audit off (audit.retention 0s), and the audit store's bytes
#      (data_dir/audit: RocksDB's write-ahead log and tables) per routed session.
#
#   bench/durability_figures.sh BUILD_DIR
#
# Runs ROUNDS rounds (default 3); each round starts a fresh omnirouted for each of MODES
# (default "on noaudit off"): journal on (--data_dir=<fresh temp dir>), journal on with the
# audit off, journal off (--in_memory), on 127.0.0.1:0 with a minimal
# configuration, and drives each with omniroute-bench (--warmup=WARMUP, --duration=DURATION,
# default 2s and 10s; BENCH_ARGS adds flags to both the setup and the load, e.g.
# BENCH_ARGS="--agents=100 --slots=8"). Alternating on/off spreads slow drifts of a shared
# machine over both modes. Throughput is sessions routed per second (every session also
# completes: 4 RPCs each); the ratio is taken per round (on / off of the same round) and the
# median reported. Also printed: the fdatasync latency of the temp file system, the daemon's
# CPU time per routed session, and anything the daemon logged (log level warning).
#
# Journal bytes: the bench first sets up the queue and agents alone (--setup_only) and the
# journal-*.log files are measured; after the load they are measured again, BEFORE the
# daemon is stopped (a clean SIGTERM writes a snapshot and may truncate the journal), and the
# daemon is then killed with SIGKILL. Bytes per routed session = growth during the load /
# sessions routed during the whole load (warmup, measurement and drain). The growth also
# holds the desktops' presence changes (2 records per agent), negligible beside the sessions.
#
# Needs BUILD_DIR/daemon/omnirouted, BUILD_DIR/bench/omniroute-bench and /usr/bin/python3.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build="$(cd "$1" && pwd)"
daemon="$build/daemon/omnirouted"
bench="$build/bench/omniroute-bench"
python=/usr/bin/python3
rounds="${ROUNDS:-3}"
read -r -a modes <<<"${MODES:-on noaudit off}"
duration="${DURATION:-10s}"
warmup="${WARMUP:-2s}"
read -r -a bench_args <<<"${BENCH_ARGS:-}"
for f in "$daemon" "$bench" "$python"; do
  [[ -x "$f" ]] || { echo "durability_figures: $f not found or not executable" >&2; exit 2; }
done

script_start=$(date +%s.%N)
work="$(mktemp -d "${TMPDIR:-/tmp}/omniroute-durability.XXXXXX")"
daemon_pid=""
cleanup() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -9 "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

config="$work/omnirouted.textproto"
cat >"$config" <<'EOF'
# Minimal configuration for durability_figures.sh: no queues or agents (omniroute-bench sets
# them up), default durability (fdatasync every batch) unless --in_memory.
log_level: LOG_LEVEL_WARNING
EOF
config_noaudit="$work/omnirouted-noaudit.textproto"
{ cat "$config"; echo 'audit { retention { seconds: 0 } }'; } >"$config_noaudit"

# start_daemon NAME ARGS... : starts omnirouted, sets daemon_pid and address.
start_daemon() {
  local name="$1"
  shift
  "$daemon" --config="${daemon_config:-$config}" --listen=127.0.0.1:0 --http=127.0.0.1:0 "$@" \
    >"$work/$name.daemon.out" 2>"$work/$name.daemon.err" &
  daemon_pid=$!
  address=""
  local i
  for ((i = 0; i < 300; i++)); do
    # (The daemon's shell may not have opened its output yet.)
    address="$(sed -n 's/^omnirouted listening on \(.*\)$/\1/p' "$work/$name.daemon.out" 2>/dev/null || true)"
    [[ -n "$address" ]] && return 0
    if ! kill -0 "$daemon_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "durability_figures: omnirouted ($name) did not start; its stderr:" >&2
  cat "$work/$name.daemon.err" >&2
  exit 1
}

# Sum of the sizes of the journal segments in a data directory.
journal_bytes() {
  "$python" - "$1" <<'EOF'
import glob, os, sys
print(sum(os.path.getsize(p) for p in glob.glob(os.path.join(sys.argv[1], "journal-*.log"))))
EOF
}

# Other files of the data directory (snapshots...), for the record.
data_files() { (cd "$1" && ls -1 | grep -v '^journal-' | tr '\n' ' ') || true; }

# CPU seconds the daemon has used: "user,system".
daemon_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f,%.2f", $14 / hz, $15 / hz }' "/proc/$1/stat"
}

# What one fdatasync costs on the file system of the data directories: the journal's floor.
fsync_ms="$("$python" - "$work" <<'EOF'
import os, statistics, sys, time
fd = os.open(os.path.join(sys.argv[1], "fsync-probe"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
times = []
for _ in range(50):
    os.write(fd, b"x" * 256)
    t = time.perf_counter()
    os.fdatasync(fd)
    times.append(time.perf_counter() - t)
os.close(fd)
os.unlink(os.path.join(sys.argv[1], "fsync-probe"))
times.sort()
print(f"{1000 * statistics.median(times):.2f} ms median, {1000 * times[-3]:.2f} ms p95")
EOF
)"

results="$work/results.tsv"
: >"$results"
echo "durability_figures: $rounds rounds x (${modes[*]}), warmup $warmup," \
  "duration $duration, bench flags: ${BENCH_ARGS:-(defaults)}; $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "fdatasync of 256 bytes in $work: $fsync_ms"
for ((round = 1; round <= rounds; round++)); do
  for mode in "${modes[@]}"; do
    name="r$round-$mode"
    daemon_config="$config"
    if [[ "$mode" == on || "$mode" == noaudit ]]; then
      data="$work/$name.data"
      [[ "$mode" == noaudit ]] && daemon_config="$config_noaudit"
      start_daemon "$name" --data_dir="$data"
    else
      data=""
      start_daemon "$name" --in_memory
    fi
    "$bench" --target="$address" --setup_only "${bench_args[@]}" >"$work/$name.setup.out" \
      2>"$work/$name.setup.err" \
      || { echo "durability_figures: setup failed:" >&2; cat "$work/$name.setup.err" >&2; exit 1; }
    setup_bytes=0
    [[ -n "$data" ]] && setup_bytes="$(journal_bytes "$data")"
    t0=$(date +%s.%N)
    if ! "$bench" --target="$address" --no_setup --warmup="$warmup" --duration="$duration" \
      --json --quiet "${bench_args[@]}" >"$work/$name.json" 2>"$work/$name.bench.err"; then
      echo "durability_figures: omniroute-bench failed ($name):" >&2
      cat "$work/$name.bench.err" >&2
      exit 1
    fi
    t1=$(date +%s.%N)
    end_bytes=0
    audit_bytes=0
    files=""
    if [[ -n "$data" ]]; then
      end_bytes="$(journal_bytes "$data")"
      files="$(data_files "$data")"
      [[ -d "$data/audit" ]] && audit_bytes="$(du -sb "$data/audit" | cut -f1)"
    fi
    cpu="$(daemon_cpu "$daemon_pid")"
    rss_kb="$(awk '/^VmHWM/ { print $2 }' "/proc/$daemon_pid/status")"
    # Measured: now the daemon can go (no shutdown snapshot).
    kill -9 "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
    # With log_level WARNING every line the daemon logs is a warning or an error.
    warnings="$(grep -c . "$work/$name.daemon.err" || true)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$mode" "$work/$name.json" \
      "$setup_bytes" "$end_bytes" "$cpu" "$rss_kb" "$warnings" "$work/$name.daemon.err" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$files" "$audit_bytes" >>"$results"
    "$python" - "$work/$name.json" "$name" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
t, l = r["throughput"], r["latency_us"]
print(f"  {sys.argv[2]:8} routed {t['routed_per_s']:8.0f}/s  completed {t['completed_per_s']:8.0f}/s"
      f"  rpcs {t['rpcs_per_s']:8.0f}/s  create p50/p99 {l['create_session']['p50']/1000:.2f}/"
      f"{l['create_session']['p99']/1000:.2f} ms  errors {r['counts']['errors']}", flush=True)
EOF
  done
done

"$python" - "$results" <<'EOF'
import json, statistics, sys

rows = []
for line in open(sys.argv[1]):
    (rnd, mode, path, setup_b, end_b, cpu, rss_kb, warnings, err_path, wall,
     files, audit_b) = line.rstrip("\n").split("\t")
    r = json.load(open(path))
    cpu_user, cpu_sys = (float(v) for v in cpu.split(","))
    rows.append(dict(round=int(rnd), mode=mode, r=r, setup=int(setup_b), end=int(end_b),
                     cpu=cpu_user + cpu_sys, cpu_user=cpu_user, cpu_sys=cpu_sys, rss_mb=int(rss_kb or 0) / 1024, warnings=int(warnings),
                     err_path=err_path, wall=float(wall), files=files.strip(),
                     audit=int(audit_b)))

def ms(us):
    return f"{us / 1000:.2f}"

print()
print("Runs (rates over the measured window; latencies in ms; daemon CPU user+sys over the whole")
print("run, and per session routed in the whole run):")
print(f"{'run':4} {'journal':7} {'created/s':>9} {'routed/s':>9} {'completed/s':>11} "
      f"{'rpcs/s':>8} {'create p50':>10} {'p99':>7} {'max':>7} {'->offer p50':>11} {'p99':>7} "
      f"{'errors':>6} {'cpu s (user+sys)':>17} {'cpu us/sess':>11} {'rss MB':>6}")
for x in rows:
    r, t, l = x["r"], x["r"]["throughput"], x["r"]["latency_us"]
    routed = r["totals"]["routed"]
    per = 1e6 * x["cpu"] / routed if routed else float("nan")
    cpu = f"{x['cpu_user']:.1f}+{x['cpu_sys']:.1f}"
    print(f"r{x['round']:<3} {x['mode']:7} {t['created_per_s']:9.0f} {t['routed_per_s']:9.0f} "
          f"{t['completed_per_s']:11.0f} {t['rpcs_per_s']:8.0f} "
          f"{ms(l['create_session']['p50']):>10} {ms(l['create_session']['p99']):>7} "
          f"{ms(l['create_session']['max']):>7} {ms(l['create_to_offer']['p50']):>11} "
          f"{ms(l['create_to_offer']['p99']):>7} {r['totals']['errors']:6d} {cpu:>17} "
          f"{per:11.0f} {x['rss_mb']:6.0f}")

print()
ratios, rpc_ratios = [], []
for rnd in sorted({x["round"] for x in rows}):
    on = [x for x in rows if x["round"] == rnd and x["mode"] == "on"]
    off = [x for x in rows if x["round"] == rnd and x["mode"] == "off"]
    if not on or not off:
        continue
    a, b = on[0]["r"]["throughput"], off[0]["r"]["throughput"]
    ratio = a["routed_per_s"] / b["routed_per_s"] if b["routed_per_s"] else float("nan")
    rpc_ratio = a["rpcs_per_s"] / b["rpcs_per_s"] if b["rpcs_per_s"] else float("nan")
    ratios.append(ratio)
    rpc_ratios.append(rpc_ratio)
    print(f"round {rnd}: journal on / off = {a['routed_per_s']:.0f} / {b['routed_per_s']:.0f} "
          f"routed/s = {100 * ratio:.1f} %  (RPCs/s: {100 * rpc_ratio:.1f} %)")
on_rates = [x["r"]["throughput"]["routed_per_s"] for x in rows if x["mode"] == "on"]
off_rates = [x["r"]["throughput"]["routed_per_s"] for x in rows if x["mode"] == "off"]
if ratios:
    med = statistics.median(ratios)
    print(f"FIGURE 1: throughput journal on / off (median of {len(ratios)} rounds, routed "
          f"sessions/s): {100 * med:.1f} %  (goal >= 70 %: {'met' if med >= 0.7 else 'NOT met'});"
          f" ratio of medians {100 * statistics.median(on_rates) / statistics.median(off_rates):.1f} %,"
          f" RPCs/s median ratio {100 * statistics.median(rpc_ratios):.1f} %")

audit_ratios = []
for rnd in sorted({x["round"] for x in rows}):
    on = [x for x in rows if x["round"] == rnd and x["mode"] == "on"]
    noaudit = [x for x in rows if x["round"] == rnd and x["mode"] == "noaudit"]
    if not on or not noaudit:
        continue
    a, b = on[0]["r"]["throughput"], noaudit[0]["r"]["throughput"]
    ratio = a["routed_per_s"] / b["routed_per_s"] if b["routed_per_s"] else float("nan")
    audit_ratios.append(ratio)
    routed = on[0]["r"]["totals"]["routed"]
    print(f"round {rnd}: audit on / off (journal on) = {a['routed_per_s']:.0f} / "
          f"{b['routed_per_s']:.0f} routed/s = {100 * ratio:.1f} %; audit store "
          f"{on[0]['audit']} bytes = {on[0]['audit'] / routed if routed else float('nan'):.0f} "
          f"bytes/routed session")
if audit_ratios:
    print(f"FIGURE 3: throughput with the decision audit on / off, journal on (median of "
          f"{len(audit_ratios)} rounds, routed sessions/s): "
          f"{100 * statistics.median(audit_ratios):.1f} %")

print()
per_routed = []
for x in rows:
    if x["mode"] != "on":
        continue
    tot = x["r"]["totals"]
    growth = x["end"] - x["setup"]
    pr = growth / tot["routed"] if tot["routed"] else float("nan")
    per_routed.append(pr)
    print(f"r{x['round']} journal: {x['setup']} bytes after setup, {x['end']} after the load "
          f"(+{growth}); sessions routed {tot['routed']}, created {tot['created']}, completed "
          f"{tot['completed']} -> {pr:.1f} bytes/routed session "
          f"({growth / tot['created'] if tot['created'] else float('nan'):.1f} per created); "
          f"other files: {x['files'] or 'none'}")
if per_routed:
    print(f"FIGURE 2: journal bytes per routed session (median of {len(per_routed)}): "
          f"{statistics.median(per_routed):.1f} bytes (setup records excluded; a session here "
          f"is CreateSession + AcceptOffer + CompleteSession + EndWrapUp)")

print()
for x in rows:
    problems = []
    if x["r"]["totals"]["errors"]:
        problems.append(f"errors {json.dumps(x['r']['errors_total'])}")
    if x["r"]["end"]["lost_streams"]:
        problems.append(f"{x['r']['end']['lost_streams']} offer streams lost")
    if x["warnings"]:
        problems.append(f"{x['warnings']} lines in the daemon's stderr (log level warning)")
    if problems:
        print(f"r{x['round']} journal {x['mode']}: " + "; ".join(problems))
EOF

# Daemon log lines worth a look (the temp dir is removed at exit).
for f in "$work"/*.daemon.err; do
  if [[ -s "$f" ]]; then
    echo "--- $(basename "$f" .daemon.err): daemon stderr, first lines of $(grep -c . "$f")"
    head -5 "$f" | cut -c1-300
  fi
done
printf 'durability_figures: done in %s s (load average now %s)\n' \
  "$(awk -v a="$script_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
