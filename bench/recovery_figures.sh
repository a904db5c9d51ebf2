#!/usr/bin/env bash
# The recovery figures of docs/PERFORMANCE.md: how long omnirouted takes to recover a big centre
# after a crash, and how long a snapshot stalls routing there.
#
#   bench/recovery_figures.sh BUILD_DIR [WAITING] [ENGINEERS] [JOURNAL_RECORDS]
#
# 1. omniroute-recovery-data writes a data directory: a snapshot of a centre with WAITING
#    sessions waiting (default 1,000,000) and ENGINEERS engineers (10,000), plus
#    JOURNAL_RECORDS (10,000) CreateSession records after it.
# 2. omnirouted starts on it; the recovery time is from exec to the "listening" line (the
#    daemon recovers before it binds its port), and the daemon's own "state recovered" log line.
# 3. A snapshot is forced while it runs (snapshot_interval 10s, then a journaled request):
#    the "snapshot started" line gives fork_us, the time routing stood still.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [WAITING] [ENGINEERS] [JOURNAL_RECORDS]}
waiting=${2:-1000000}
engineers=${3:-10000}
journaled=${4:-10000}
work=$(mktemp -d "${TMPDIR:-/tmp}/omniroute-recovery.XXXXXX")
daemon_pid=
cleanup() {
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then kill -KILL "$daemon_pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "recovery_figures: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
"$build/bench/omniroute-recovery-data" "$work/data" "$waiting" "$engineers" "$journaled"
echo "  data directory written in $(echo "$(date +%s.%N) - $t0" | bc) s: $(du -sh "$work/data" | cut -f1)"

cat > "$work/config.textproto" <<'CONF'
listen_address: "127.0.0.1:0"
http_address: "127.0.0.1:0"
durability { snapshot_interval { seconds: 10 } }
CONF

mkfifo "$work/stdout"
start=$(date +%s.%N)
"$build/daemon/omnirouted" --config="$work/config.textproto" --data_dir="$work/data" \
    >"$work/stdout" 2>"$work/stderr" &
daemon_pid=$!
exec 3<"$work/stdout"
read -r -t 120 line <&3 || { cat "$work/stderr"; echo "omnirouted did not start"; exit 1; }
ready=$(date +%s.%N)
echo "  $line"
grep 'state recovered' "$work/stderr" | sed 's/^/  /'
printf 'RECOVERY: %.2f s from exec to listening (%d waiting sessions, %d engineers, %d journal records replayed)\n' \
  "$(echo "$ready - $start" | bc)" "$waiting" "$engineers" "$journaled"
echo "  daemon RSS after recovery: $(($(awk '/VmRSS/ {print $2}' /proc/$daemon_pid/status) / 1024)) MiB"

# A journaled request after the snapshot interval starts a snapshot.
address=${line#omnirouted listening on }
sleep 11
"$build/bench/omniroute-bench" --target="$address" --setup_only --agents=1 --quiet >/dev/null 2>&1 || true
for _ in $(seq 1 600); do
  grep -q 'msg="snapshot written"' "$work/stderr" && break
  sleep 0.5
done
grep -E 'snapshot (started|written)' "$work/stderr" | tail -2 | sed 's/^/  /'
fork_us=$(grep 'msg="snapshot started"' "$work/stderr" | tail -1 | sed -E 's/.*fork_us=([0-9]+).*/\1/')
printf 'SNAPSHOT STALL: %.1f ms (fork) with %d waiting sessions\n' "$(echo "$fork_us / 1000" | bc -l)" "$waiting"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=
