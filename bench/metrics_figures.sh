#!/usr/bin/env bash
# What scraping /metrics costs routing: omniroute-bench's closed loop against one in-memory
# omnirouted, in alternating rounds without and with a scraper fetching /metrics every
# SCRAPE_INTERVAL (default 0.1 s: 150 times Prometheus' usual 15 s). Prints each round's
# routed sessions per second and the median ratio, with scraping over without.
#
#   bench/metrics_figures.sh BUILD_DIR
#
# Environment: ROUNDS (default 3 of each), DURATION (default 10s), WARMUP (2s),
# SCRAPE_INTERVAL (0.1), BENCH_ARGS (extra omniroute-bench flags, e.g. "--agents=200").
# The daemon, the bench and the scraper share this machine's cores: compare the ratio, not
# the rates, and mind the load average printed.
#
# Needs BUILD_DIR/daemon/omnirouted, BUILD_DIR/bench/omniroute-bench, curl and /usr/bin/python3.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
fi
build="$(cd "$1" && pwd)"
daemon="$build/daemon/omnirouted"
bench="$build/bench/omniroute-bench"
python=/usr/bin/python3
rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
warmup="${WARMUP:-2s}"
interval="${SCRAPE_INTERVAL:-0.1}"
read -r -a bench_args <<<"${BENCH_ARGS:-}"
for f in "$daemon" "$bench" "$python"; do
  [[ -x "$f" ]] || { echo "metrics_figures: $f not found or not executable" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "metrics_figures: curl not found" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/omniroute-metrics-figures.XXXXXX")"
daemon_pid=""
scraper_pid=""
cleanup() {
  [[ -n "$scraper_pid" ]] && kill "$scraper_pid" 2>/dev/null || true
  [[ -n "$daemon_pid" ]] && kill -9 "$daemon_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo 'log_level: LOG_LEVEL_WARNING' >"$work/config.textproto"
: >"$work/daemon.out"
"$daemon" --config="$work/config.textproto" --listen=127.0.0.1:0 --http=127.0.0.1:0 \
  --in_memory >"$work/daemon.out" 2>"$work/daemon.err" &
daemon_pid=$!
address="" http=""
for ((i = 0; i < 300; i++)); do
  address="$(sed -n 's/^omnirouted listening on \(.*\)$/\1/p' "$work/daemon.out")"
  http="$(sed -n 's/^omnirouted http on \(.*\)$/\1/p' "$work/daemon.out")"
  [[ -n "$address" && -n "$http" ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.err" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$http" ]] || { echo "metrics_figures: omnirouted did not start" >&2; exit 1; }
echo "omnirouted on $address, metrics on http://$http/metrics; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME: one closed-loop bench run; prints and records routed sessions per second.
run() {
  local name="$1"
  "$bench" --target="$address" --warmup="$warmup" --duration="$duration" --json --quiet \
    "${bench_args[@]}" >"$work/$name.json" 2>"$work/$name.err" ||
    { cat "$work/$name.err" >&2; exit 1; }
  "$python" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["throughput"]["routed_per_s"]))' \
    "$work/$name.json" >"$work/$name.rate"
}

scrapes_total=0
for ((r = 1; r <= rounds; r++)); do
  run "plain-$r"
  : >"$work/scrapes-$r"
  (
    while true; do
      if curl -sf "http://$http/metrics" -o "$work/last.metrics"; then echo ok >>"$work/scrapes-$r"; fi
      sleep "$interval"
    done
  ) &
  scraper_pid=$!
  run "scraped-$r"
  kill "$scraper_pid" 2>/dev/null || true
  wait "$scraper_pid" 2>/dev/null || true
  scraper_pid=""
  scrapes=$(wc -l <"$work/scrapes-$r")
  scrapes_total=$((scrapes_total + scrapes))
  echo "round $r: without scraping $(cat "$work/plain-$r.rate") routed/s, with $(cat "$work/scraped-$r.rate") routed/s ($scrapes scrapes)"
done
"$python" - "$work" "$rounds" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
ratios = []
for r in range(1, rounds + 1):
    plain = int(open(f"{work}/plain-{r}.rate").read())
    scraped = int(open(f"{work}/scraped-{r}.rate").read())
    ratios.append(scraped / plain if plain else float("nan"))
print("with / without scraping, routed sessions per second: median %.1f %% (rounds %s)"
      % (100 * statistics.median(ratios), " / ".join("%.1f %%" % (100 * x) for x in ratios)))
PY
echo "exposition size: $(wc -c <"$work/last.metrics") bytes, $(grep -vc '^#' "$work/last.metrics") series; $scrapes_total scrapes; load average $(cut -d' ' -f1-3 /proc/loadavg)"
